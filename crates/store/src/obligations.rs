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
    /// Each leader of those links once, with their name.
    pub leaders: Vec<(i64, String)>,
    pub attendance: Vec<Attendance>,
    pub finished: Vec<FinishedRow>,
    /// In-service party members (在职党员) registered in the subtree.
    pub members: Vec<NamedPerson>,
    /// The first day of each of their six ones in the period.
    pub six_ones: Vec<SixOneRecord>,
    /// With `Members::Counted`, instead of the two above.
    pub member_counts: Vec<MemberCount>,
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

/// A 挂点 link of a district leader as the rules read it, with the leader's name.
pub(crate) struct LinkRow(pub(crate) LeaderLink, pub(crate) String);
impl FromRow for LinkRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(LinkRow(
            LeaderLink {
                leader_id: r.get("person_id")?,
                street_id: r.get("org_id")?,
                start: r.get("start_date")?,
                end: r.get("end_date")?,
            },
            r.get("person_name")?,
        ))
    }
}

/// The leaders' links of `LINKS_SELECT … WHERE leader_links_where(…)`, and each leader once
/// with their name.
pub(crate) fn split_links(rows: Vec<LinkRow>) -> (Vec<LeaderLink>, Vec<(i64, String)>) {
    let mut names: Vec<(i64, String)> = Vec::new();
    let links = rows
        .into_iter()
        .map(|LinkRow(l, name)| {
            if names.last().is_none_or(|(id, _)| *id != l.leader_id) {
                names.push((l.leader_id, name));
            }
            l
        })
        .collect();
    (links, names)
}

/// Leaders' links with their names, ordered by leader (for `split_links`).
pub(crate) const LINKS_SELECT: &str = "SELECT l.person_id, p.name AS person_name, l.org_id, l.start_date, l.end_date FROM links l JOIN people p ON p.id = l.person_id";

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

/// A member with the first day of each of the six ones in the period: one row per member
/// (rows, not records, are what a read costs on SQLite: each is a hand-over between threads).
struct MemberRow(NamedPerson, Vec<SixOneRecord>);
impl FromRow for MemberRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let p = NamedPerson::from_row(r)?;
        let mut done = Vec::new();
        for &item in SixOne::ALL {
            let d: Option<NaiveDate> = r.get(&format!("d_{}", item.code()))?;
            if let Some(done_on) = d {
                done.push(SixOneRecord {
                    person_id: p.id,
                    item,
                    done_on,
                });
            }
        }
        Ok(MemberRow(p, done))
    }
}

/// R-MEM-1 of one community counted in SQL: its members and how many did all six.
#[derive(Debug, Clone)]
pub struct MemberCount {
    pub org_id: i64,
    pub members: i64,
    pub complete: i64,
}

impl FromRow for MemberCount {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(MemberCount {
            org_id: r.get("org_id")?,
            members: r.get("members")?,
            complete: r.get("complete")?,
        })
    }
}

/// What to read about members: each by name with their six ones (the check itself), or
/// only counted per community (a dashboard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    Named,
    Counted,
}

/// Leaders' 挂点 links to streets of the subtree `$1`, of kind `$2`, valid on some day of
/// `$3`..=`$4`.
pub(crate) fn leader_links_where(subtree: &str) -> String {
    format!(
        "l.kind = $2 AND l.person_id IS NOT NULL AND l.start_date <= $4 AND (l.end_date IS NULL OR l.end_date >= $3) AND l.org_id IN {subtree}"
    )
}

/// The facts of the subtree under the node at `path` (`/1/5/`) for `first`..=`last`.
pub async fn facts(
    e: &mut impl Exec,
    path: &str,
    first: NaiveDate,
    last: NaiveDate,
    members: Members,
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
    let links_where = leader_links_where(subtree);
    let links = reads.add(Sql::with(
        &format!("{LINKS_SELECT} WHERE {links_where} ORDER BY l.person_id, l.start_date"),
        args![&under, leader, first, last],
    ));
    let attendance = reads.add(Sql::with(
        &format!(
            "SELECT mp.person_id, m.id AS meeting_id, o.parent_id AS street_id, m.held_on FROM meeting_participants mp JOIN meetings m ON m.id = mp.meeting_id JOIN orgs o ON o.id = m.org_id WHERE mp.person_id IN (SELECT l.person_id FROM links l WHERE {links_where}) AND mp.signed_in_at IS NOT NULL AND m.status = 'held' AND m.held_on >= $3 AND m.held_on <= $4"
        ),
        args![&under, leader, first, last],
    ));
    // The period's days in China.
    let from_t = crate::china_day_start(first);
    let to_t = crate::china_day_start(last + Duration::days(1));
    let finished = reads.add(Sql::with(
        &format!(
            "SELECT c.id, c.org_id, c.level, c.finished_at FROM cases c WHERE c.org_id IN {subtree} AND c.step = 'done' AND c.finished_at >= $2 AND c.finished_at < $3"
        ),
        args![&under, from_t, to_t],
    ));
    let member_of = format!(
        "p.org_id IN {subtree} AND p.id IN (SELECT person_id FROM person_kinds WHERE kind = $4)"
    );
    let party = roundtable_core::people::PersonKind::PartyMember.code();
    let members_read = match members {
        Members::Named => {
            let firsts: Vec<String> = SixOne::ALL
                .iter()
                .map(|i| {
                    format!(
                        "MIN(CASE WHEN r.item = '{0}' THEN r.done_on END) AS d_{0}",
                        i.code()
                    )
                })
                .collect();
            reads.add(Sql::with(
                &format!(
                    "SELECT p.id, p.name, p.org_id, {} FROM people p LEFT JOIN six_one_records r ON r.person_id = p.id AND r.done_on >= $2 AND r.done_on <= $3 WHERE {member_of} GROUP BY p.id, p.name, p.org_id ORDER BY p.org_id, p.name, p.id",
                    firsts.join(", ")
                ),
                args![&under, first, last, party],
            ))
        }
        Members::Counted => {
            let codes: Vec<String> = SixOne::ALL
                .iter()
                .map(|i| format!("'{}'", i.code()))
                .collect();
            reads.add(Sql::with(
                &format!(
                    "SELECT p.org_id, COUNT(*) AS members, SUM(CASE WHEN (SELECT COUNT(DISTINCT r.item) FROM six_one_records r WHERE r.person_id = p.id AND r.done_on >= $2 AND r.done_on <= $3 AND r.item IN ({})) = {} THEN 1 ELSE 0 END) AS complete FROM people p WHERE {member_of} GROUP BY p.org_id",
                    codes.join(", "),
                    SixOne::ALL.len()
                ),
                args![&under, first, last, party],
            ))
        }
    };
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
    let held = rows
        .all::<HeldRow>(held)?
        .into_iter()
        .map(|r| r.0)
        .collect();
    let (leader_links, leaders) = split_links(rows.all(links)?);
    let mut facts = Facts {
        communities,
        nodes,
        held,
        leader_links,
        leaders,
        attendance: rows
            .all::<AttendanceRow>(attendance)?
            .into_iter()
            .map(|r| r.0)
            .collect(),
        finished: rows.all(finished)?,
        ..Facts::default()
    };
    match members {
        Members::Named => {
            for MemberRow(p, done) in rows.all::<MemberRow>(members_read)? {
                facts.six_ones.extend(done);
                facts.members.push(p);
            }
        }
        Members::Counted => facts.member_counts = rows.all(members_read)?,
    }
    Ok(facts)
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
