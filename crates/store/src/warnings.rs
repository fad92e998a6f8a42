//! The facts the warnings of `roundtable_core::warnings` read for one subtree and day, in one
//! round trip on SQLite.

use chrono::{Duration, NaiveDate};
use roundtable_core::links::LinkKind;
use roundtable_core::obligations::LeaderLink;
use roundtable_core::warnings::DueItem;

use crate::db::{Exec, FromRow, Reads, Row, Sql};
use crate::obligations::{LINKS_SELECT, leader_links_where, split_links};
use crate::{StoreError, args};

#[derive(Debug, Clone, Default)]
pub struct WarningFacts {
    /// Communities of the subtree with their names.
    pub communities: Vec<(i64, String)>,
    /// Communities with a meeting (held or planned) this month.
    pub with_meeting: Vec<i64>,
    pub leader_links: Vec<LeaderLink>,
    /// (leader, day) of this month's and the next weeks' meetings the leader takes part in.
    pub planned: Vec<(i64, NaiveDate)>,
    pub notices: Vec<DueItem>,
    pub ledger: Vec<DueItem>,
    pub objections: Vec<DueItem>,
    pub minutes: Vec<DueItem>,
    /// Names of the subtree's nodes.
    pub org_names: Vec<(i64, String)>,
    /// Names of the leaders of `leader_links`.
    pub leader_names: Vec<(i64, String)>,
}

struct NodeRow {
    id: i64,
    name: String,
    community: bool,
}
impl FromRow for NodeRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let kind: String = r.get("kind")?;
        Ok(NodeRow {
            id: r.get("id")?,
            name: r.get("name")?,
            community: matches!(kind.as_str(), "community" | "village"),
        })
    }
}

struct Planned(i64, NaiveDate);
impl FromRow for Planned {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Planned(r.get("person_id")?, r.get("held_on")?))
    }
}

struct Due(DueItem);
impl FromRow for Due {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Due(DueItem {
            case_id: r.get("case_id")?,
            org_id: r.get("org_id")?,
            due: r.get("due")?,
            subject: r.get("subject")?,
        }))
    }
}

/// The facts of the subtree under `path` on `today`: this month's meetings, leaders' links
/// and meetings of the next weeks, running notices, open ledger items due by `horizon`,
/// unanswered objections, held meetings whose minutes are not confirmed.
pub async fn facts(
    e: &mut impl Exec,
    path: &str,
    today: NaiveDate,
    month: (NaiveDate, NaiveDate),
    horizon: NaiveDate,
) -> Result<WarningFacts, StoreError> {
    let under = format!("{path}%");
    let subtree = "(SELECT id FROM orgs WHERE path LIKE $1)";
    let ahead = today + Duration::days(45);
    let leader = LinkKind::LeaderStreet.code();
    let mut reads = Reads::new();
    let nodes = reads.add(Sql::with(
        "SELECT id, name, kind FROM orgs WHERE path LIKE $1 ORDER BY path",
        args![&under],
    ));
    let with_meeting = reads.add(Sql::with(
        &format!("SELECT DISTINCT m.org_id FROM meetings m WHERE m.org_id IN {subtree} AND m.held_on >= $2 AND m.held_on <= $3"),
        args![&under, month.0, month.1],
    ));
    let links_where = leader_links_where(subtree);
    let links = reads.add(Sql::with(
        &format!("{LINKS_SELECT} WHERE {links_where} ORDER BY l.person_id, l.start_date"),
        args![&under, leader, today, ahead],
    ));
    let planned = reads.add(Sql::with(
        &format!("SELECT mp.person_id, m.held_on FROM meeting_participants mp JOIN meetings m ON m.id = mp.meeting_id WHERE mp.person_id IN (SELECT l.person_id FROM links l WHERE {links_where}) AND m.held_on >= $5 AND m.held_on <= $4"),
        args![&under, leader, today, ahead, month.0],
    ));
    let notices = reads.add(Sql::with(
        &format!("SELECT c.id AS case_id, c.org_id, n.ends_on AS due, c.title AS subject FROM notices n JOIN cases c ON c.id = n.case_id WHERE c.org_id IN {subtree} AND c.step = 'notice' AND n.ends_on >= $2 AND n.version = (SELECT MAX(n2.version) FROM notices n2 WHERE n2.case_id = n.case_id)"),
        args![&under, today],
    ));
    let ledger = reads.add(Sql::with(
        &format!("SELECT c.id AS case_id, c.org_id, l.due_on AS due, c.title || '：' || l.title AS subject FROM ledger_items l JOIN cases c ON c.id = l.case_id WHERE c.org_id IN {subtree} AND l.status = 'open' AND l.due_on <= $2 ORDER BY l.due_on"),
        args![&under, horizon],
    ));
    let objections = reads.add(Sql::with(
        &format!("SELECT c.id AS case_id, c.org_id, n.ends_on AS due, c.title AS subject FROM objections o JOIN cases c ON c.id = o.case_id JOIN notices n ON n.id = o.notice_id WHERE c.org_id IN {subtree} AND o.answer IS NULL"),
        args![&under],
    ));
    let minutes = reads.add(Sql::with(
        &format!("SELECT c.id AS case_id, c.org_id, m.held_on AS due, c.title AS subject FROM meetings m JOIN cases c ON c.id = m.case_id WHERE m.org_id IN {subtree} AND m.status = 'held' AND c.step = 'deliberation' AND m.held_on < $2 AND NOT EXISTS (SELECT 1 FROM meeting_minutes mm WHERE mm.meeting_id = m.id AND mm.status = 'confirmed')"),
        args![&under, today],
    ));
    let mut rows = e.fetch_reads(reads).await?;
    let due = |v: Vec<Due>| v.into_iter().map(|d| d.0).collect::<Vec<_>>();
    let nodes: Vec<NodeRow> = rows.all(nodes)?;
    let communities = nodes
        .iter()
        .filter(|n| n.community)
        .map(|n| (n.id, n.name.clone()))
        .collect();
    let with_meeting: Vec<i64> = rows.all(with_meeting)?;
    let (leader_links, leader_names) = split_links(rows.all(links)?);
    let planned = rows
        .all::<Planned>(planned)?
        .into_iter()
        .map(|p| (p.0, p.1))
        .collect();
    Ok(WarningFacts {
        communities,
        with_meeting,
        leader_links,
        planned,
        notices: due(rows.all(notices)?),
        ledger: due(rows.all(ledger)?),
        objections: due(rows.all(objections)?),
        minutes: due(rows.all(minutes)?),
        org_names: nodes.into_iter().map(|n| (n.id, n.name)).collect(),
        leader_names,
    })
}
