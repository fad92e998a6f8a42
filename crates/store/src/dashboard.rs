//! The counts of a dashboard (issue 5): for one subtree and period, grouped in SQL by community
//! and by what is counted, read in one round trip on SQLite. The service adds them up by the
//! node's children; nothing here is a figure anyone typed.

use chrono::{DateTime, NaiveDate, Utc};

use crate::db::{Exec, FromRow, Reads, Row, Sql};
use crate::{StoreError, args};

/// A count for one community and one key (a step, a level, a category…; empty when the count
/// has no key).
#[derive(Debug, Clone)]
pub struct KeyCount {
    pub org_id: i64,
    pub key: String,
    pub key2: String,
    pub n: i64,
}

impl FromRow for KeyCount {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(KeyCount {
            org_id: r.get("org_id")?,
            key: r.get("k")?,
            key2: r.get("k2")?,
            n: r.get("n")?,
        })
    }
}

/// A case of the period, for a community's dashboard (drill-down to the case).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CaseLine {
    pub id: i64,
    pub org_id: i64,
    pub title: String,
    pub step: String,
    pub level: String,
    pub created_at: DateTime<Utc>,
}

impl FromRow for CaseLine {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(CaseLine {
            id: r.get("id")?,
            org_id: r.get("org_id")?,
            title: r.get("title")?,
            step: r.get("step")?,
            level: r.get("level")?,
            created_at: r.get("created_at")?,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Round-table meetings held, per community (key: empty).
    pub meetings: Vec<KeyCount>,
    /// Cases opened in the period, per community, by their step now (key) and level (key2).
    pub cases: Vec<KeyCount>,
    /// Cases that reached 办结 in the period, per community.
    pub finished: Vec<KeyCount>,
    /// Topics received in the period, per community, by category (key) and channel (key2).
    pub topics: Vec<KeyCount>,
    /// Cases whose public notice ran on the day counted (the period's last day, or today).
    pub notices_running: Vec<KeyCount>,
    /// Ledger items past their due day and not ticked off on the day counted.
    pub ledger_overdue: Vec<KeyCount>,
    /// Residents' satisfaction votes cast in the period, by choice (key).
    pub satisfaction: Vec<KeyCount>,
    /// The cases opened in the period, when asked for (a community's dashboard).
    pub case_lines: Vec<CaseLine>,
}

/// Counts of the subtree under `path` between the moments `from`..`to` (the period's days in
/// China), with notices and the ledger as they stood on `on` (`on_t`: the end of that day).
pub async fn counts(
    e: &mut impl Exec,
    path: &str,
    (first, last): (NaiveDate, NaiveDate),
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    (on, on_t): (NaiveDate, DateTime<Utc>),
    with_cases: bool,
) -> Result<Counts, StoreError> {
    let under = format!("{path}%");
    let subtree = "(SELECT id FROM orgs WHERE path LIKE $1)";
    let mut reads = Reads::new();
    let meetings = reads.add(Sql::with(
        &format!("SELECT m.org_id, '' AS k, '' AS k2, COUNT(*) AS n FROM meetings m WHERE m.org_id IN {subtree} AND m.status = 'held' AND m.held_on >= $2 AND m.held_on <= $3 GROUP BY m.org_id"),
        args![&under, first, last],
    ));
    let cases = reads.add(Sql::with(
        &format!("SELECT c.org_id, c.step AS k, c.level AS k2, COUNT(*) AS n FROM cases c WHERE c.org_id IN {subtree} AND c.created_at >= $2 AND c.created_at < $3 GROUP BY c.org_id, c.step, c.level"),
        args![&under, from, to],
    ));
    let finished = reads.add(Sql::with(
        &format!("SELECT c.org_id, '' AS k, '' AS k2, COUNT(*) AS n FROM cases c WHERE c.org_id IN {subtree} AND c.step = 'done' AND c.finished_at >= $2 AND c.finished_at < $3 GROUP BY c.org_id"),
        args![&under, from, to],
    ));
    let topics = reads.add(Sql::with(
        &format!("SELECT t.org_id, t.category AS k, t.channel AS k2, COUNT(*) AS n FROM topics t WHERE t.org_id IN {subtree} AND t.created_at >= $2 AND t.created_at < $3 GROUP BY t.org_id, t.category, t.channel"),
        args![&under, from, to],
    ));
    let notices = reads.add(Sql::with(
        &format!("SELECT c.org_id, '' AS k, '' AS k2, COUNT(DISTINCT n.case_id) AS n FROM notices n JOIN cases c ON c.id = n.case_id WHERE c.org_id IN {subtree} AND n.starts_on <= $2 AND n.ends_on >= $2 GROUP BY c.org_id"),
        args![&under, on],
    ));
    let overdue = reads.add(Sql::with(
        &format!("SELECT c.org_id, '' AS k, '' AS k2, COUNT(*) AS n FROM ledger_items l JOIN cases c ON c.id = l.case_id WHERE c.org_id IN {subtree} AND l.due_on < $2 AND l.created_at < $3 AND (l.closed_at IS NULL OR l.closed_at >= $3) GROUP BY c.org_id"),
        args![&under, on, on_t],
    ));
    let satisfaction = reads.add(Sql::with(
        &format!("SELECT c.org_id, v.choice AS k, '' AS k2, COUNT(*) AS n FROM satisfaction_votes v JOIN cases c ON c.id = v.case_id WHERE c.org_id IN {subtree} AND v.created_at >= $2 AND v.created_at < $3 GROUP BY c.org_id, v.choice"),
        args![&under, from, to],
    ));
    let lines = with_cases.then(|| {
        reads.add(Sql::with(
            &format!("SELECT c.id, c.org_id, c.title, c.step, c.level, c.created_at FROM cases c WHERE c.org_id IN {subtree} AND c.created_at >= $2 AND c.created_at < $3 ORDER BY c.created_at DESC, c.id DESC LIMIT 200"),
            args![&under, from, to],
        ))
    });
    let mut rows = e.fetch_reads(reads).await?;
    Ok(Counts {
        meetings: rows.all(meetings)?,
        cases: rows.all(cases)?,
        finished: rows.all(finished)?,
        topics: rows.all(topics)?,
        notices_running: rows.all(notices)?,
        ledger_overdue: rows.all(overdue)?,
        satisfaction: rows.all(satisfaction)?,
        case_lines: match lines {
            Some(i) => rows.all(i)?,
            None => Vec::new(),
        },
    })
}
