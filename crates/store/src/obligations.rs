//! The recorded facts the obligation checks of `roundtable_core::obligations` read (DOMAIN.md
//! §5): for one subtree and period, in one round trip on SQLite. Nothing here decides a
//! verdict.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use roundtable_core::links::LinkKind;
use roundtable_core::obligations::{
    Attendance, CommunityOf, LeaderLink, MeetingHeld, SixOne, SixOneRecord,
};
use roundtable_core::org::OrgKind;

use crate::db::{Exec, FromRow, Reads, Row, Sql};
use crate::{StoreError, args};

/// A node of the checked subtree, for names and for walking down the tree.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Node {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub name: String,
}

impl FromRow for Node {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Node {
            id: r.get("id")?,
            parent_id: r.get("parent_id")?,
            kind: r.get("kind")?,
            name: r.get("name")?,
        })
    }
}

/// A person named in the results (a leader, a member) and the node they belong to.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NamedPerson {
    pub id: i64,
    pub name: String,
    pub org_id: i64,
}

impl FromRow for NamedPerson {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(NamedPerson {
            id: r.get("id")?,
            name: r.get("name")?,
            org_id: r.get("org_id")?,
        })
    }
}

/// A case that reached 办结, as stored (the moment; the check wants the day in China).
#[derive(Debug, Clone)]
pub struct FinishedRow {
    pub case_id: i64,
    pub org_id: i64,
    pub level: String,
    pub finished_at: DateTime<Utc>,
}

/// Everything the checks of one subtree and period need.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The subtree's nodes in tree order (the node asked for first).
    pub nodes: Vec<Node>,
    pub communities: Vec<CommunityOf>,
    pub held: Vec<MeetingHeld>,
    /// 挂点 links of district leaders to the subtree's streets, valid in some part of the period.
    pub leader_links: Vec<LeaderLink>,
    pub leaders: Vec<NamedPerson>,
    pub attendance: Vec<Attendance>,
    pub finished: Vec<FinishedRow>,
    /// In-service party members (在职党员) registered in the subtree.
    pub members: Vec<NamedPerson>,
    pub six_ones: Vec<SixOneRecord>,
}

struct HeldRow(MeetingHeld);
impl FromRow for HeldRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(HeldRow(MeetingHeld {
            meeting_id: r.get("id")?,
            org_id: r.get("org_id")?,
            held_on: r.get("held_on")?,
        }))
    }
}

struct LinkRow(LeaderLink);
impl FromRow for LinkRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(LinkRow(LeaderLink {
            leader_id: r.get("person_id")?,
            street_id: r.get("org_id")?,
            start: r.get("start_date")?,
            end: r.get("end_date")?,
        }))
    }
}

struct AttendanceRow(Attendance);
impl FromRow for AttendanceRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(AttendanceRow(Attendance {
            leader_id: r.get("person_id")?,
            meeting_id: r.get("meeting_id")?,
            street_id: r.get("street_id")?,
            held_on: r.get("held_on")?,
        }))
    }
}

impl FromRow for FinishedRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(FinishedRow {
            case_id: r.get("id")?,
            org_id: r.get("org_id")?,
            level: r.get("level")?,
            finished_at: r.get("finished_at")?,
        })
    }
}

struct SixOneRow(Option<SixOneRecord>);
impl FromRow for SixOneRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let item: String = r.get("item")?;
        let person_id = r.get("person_id")?;
        let done_on = r.get("done_on")?;
        // A code written by a newer version is skipped, not an error.
        Ok(SixOneRow(SixOne::parse(&item).map(|item| SixOneRecord {
            person_id,
            item,
            done_on,
        })))
    }
}

/// The facts of the subtree under the node at `path` (`/1/5/`) for `first`..=`last`.
pub async fn facts(
    e: &mut impl Exec,
    path: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Facts, StoreError> {
    let under = format!("{path}%");
    let subtree = "(SELECT id FROM orgs WHERE path LIKE $1)";
    let leader = LinkKind::LeaderStreet.code();
    let communities = [OrgKind::Community.code(), OrgKind::Village.code()];
    let mut reads = Reads::new();
    let nodes = reads.add(Sql::with(
        "SELECT id, parent_id, kind, name FROM orgs WHERE path LIKE $1 ORDER BY length(path), sort_order, id",
        args![&under],
    ));
    let held = reads.add(Sql::with(
        &format!(
            "SELECT m.id, m.org_id, m.held_on FROM meetings m WHERE m.org_id IN {subtree} AND m.status = 'held' AND m.held_on >= $2 AND m.held_on <= $3"
        ),
        args![&under, first, last],
    ));
    let links_where = format!(
        "l.kind = $2 AND l.person_id IS NOT NULL AND l.start_date <= $4 AND (l.end_date IS NULL OR l.end_date >= $3) AND l.org_id IN {subtree}"
    );
    let links = reads.add(Sql::with(
        &format!(
            "SELECT l.person_id, l.org_id, l.start_date, l.end_date FROM links l WHERE {links_where} ORDER BY l.person_id, l.start_date"
        ),
        args![&under, leader, first, last],
    ));
    let leaders = reads.add(Sql::with(
        &format!(
            "SELECT p.id, p.name, p.org_id FROM people p WHERE p.id IN (SELECT l.person_id FROM links l WHERE {links_where}) ORDER BY p.id"
        ),
        args![&under, leader, first, last],
    ));
    let attendance = reads.add(Sql::with(
        &format!(
            "SELECT mp.person_id, m.id AS meeting_id, o.parent_id AS street_id, m.held_on FROM meeting_participants mp JOIN meetings m ON m.id = mp.meeting_id JOIN orgs o ON o.id = m.org_id WHERE mp.person_id IN (SELECT l.person_id FROM links l WHERE {links_where}) AND mp.signed_in_at IS NOT NULL AND m.status = 'held' AND m.held_on >= $3 AND m.held_on <= $4"
        ),
        args![&under, leader, first, last],
    ));
    // The moments of the period's days in China (UTC+8), a day wider each side.
    let from_t = first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::days(1);
    let to_t = last.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() + Duration::days(2);
    let finished = reads.add(Sql::with(
        &format!(
            "SELECT c.id, c.org_id, c.level, c.finished_at FROM cases c WHERE c.org_id IN {subtree} AND c.step = 'done' AND c.finished_at >= $2 AND c.finished_at < $3"
        ),
        args![&under, from_t, to_t],
    ));
    let members = reads.add(Sql::with(
        &format!(
            "SELECT p.id, p.name, p.org_id FROM people p WHERE p.org_id IN {subtree} AND p.id IN (SELECT person_id FROM person_kinds WHERE kind = $2) ORDER BY p.org_id, p.name, p.id"
        ),
        args![&under, roundtable_core::people::PersonKind::PartyMember.code()],
    ));
    let six = reads.add(Sql::with(
        &format!(
            "SELECT r.person_id, r.item, r.done_on FROM six_one_records r JOIN people p ON p.id = r.person_id WHERE p.org_id IN {subtree} AND r.done_on >= $2 AND r.done_on <= $3"
        ),
        args![&under, first, last],
    ));
    let mut rows = e.fetch_reads(reads).await?;
    let nodes: Vec<Node> = rows.all(nodes)?;
    let communities = nodes
        .iter()
        .filter(|n| communities.contains(&n.kind.as_str()))
        .map(|n| CommunityOf {
            org_id: n.id,
            street_id: n.parent_id.unwrap_or_default(),
        })
        .collect();
    Ok(Facts {
        communities,
        nodes,
        held: rows
            .all::<HeldRow>(held)?
            .into_iter()
            .map(|r| r.0)
            .collect(),
        leader_links: rows
            .all::<LinkRow>(links)?
            .into_iter()
            .map(|r| r.0)
            .collect(),
        leaders: rows.all(leaders)?,
        attendance: rows
            .all::<AttendanceRow>(attendance)?
            .into_iter()
            .map(|r| r.0)
            .collect(),
        finished: rows.all(finished)?,
        members: rows.all(members)?,
        six_ones: rows
            .all::<SixOneRow>(six)?
            .into_iter()
            .filter_map(|r| r.0)
            .collect(),
    })
}

/// One of the six ones as recorded.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SixOneEntry {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub item: String,
    pub done_on: NaiveDate,
    pub note: String,
    pub recorded_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl FromRow for SixOneEntry {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(SixOneEntry {
            id: r.get("id")?,
            person_id: r.get("person_id")?,
            person_name: r.get("person_name")?,
            item: r.get("item")?,
            done_on: r.get("done_on")?,
            note: r.get("note")?,
            recorded_by_name: r.get("recorded_by_name")?,
            created_at: r.get("created_at")?,
        })
    }
}

pub async fn insert_six_one(
    e: &mut impl Exec,
    person_id: i64,
    item: SixOne,
    done_on: NaiveDate,
    note: &str,
    recorded_by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO six_one_records (person_id, item, done_on, note, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        args![person_id, item.code(), done_on, note, recorded_by, crate::now()],
    ))
    .await
}

/// A member's records, the latest first.
pub async fn six_ones_of(
    e: &mut impl Exec,
    person_id: i64,
) -> Result<Vec<SixOneEntry>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT r.id, r.person_id, p.name AS person_name, r.item, r.done_on, r.note, u.display_name AS recorded_by_name, r.created_at FROM six_one_records r JOIN people p ON p.id = r.person_id LEFT JOIN users u ON u.id = r.recorded_by WHERE r.person_id = $1 ORDER BY r.done_on DESC, r.id DESC",
        args![person_id],
    ))
    .await
}
