//! Storage of Roundtable: one `Db` over SQLite and PostgreSQL (sqlx, no compile-time macros),
//! one module per aggregate, migrations embedded from `migrations/{sqlite,postgres}`.

pub mod audit;
pub mod backup;
pub mod calendar;
pub mod cases;
pub mod dashboard;
pub mod db;
pub mod exchange;
pub mod feeds;
pub mod fingerprints;
pub mod links;
pub mod meetings;
pub mod migrate;
pub mod notify;
pub mod obligations;
pub mod orgs;
pub mod people;
pub mod periodic_bulletins;
pub mod pii;
pub mod privacy;
pub mod projects;
pub mod questionnaires;
pub mod resources;
pub mod testing;
pub mod tokens;
pub mod topics;
pub mod units;
pub mod users;
pub mod warnings;
pub mod wishes;

pub use db::{Conn, Db, Exec, FromRow, Pool, Reads, Row, Rows, Snapshot, Sql, Tx, Val};

use roundtable_core::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("not found")]
    NotFound,
    /// A unique key is already taken: field and Chinese message.
    #[error("{0:?}")]
    Invalid(FieldErrors),
    #[error("configuration: {0}")]
    Config(String),
    #[error("migration: {0}")]
    Migration(String),
    /// A backup that cannot be made or restored, with the reason.
    #[error("backup: {0}")]
    Backup(String),
}

impl StoreError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut e = FieldErrors::new();
        e.add(field, message);
        StoreError::Invalid(e)
    }
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// Lists count their rows up to this many; past it the total is "more than" (`total_exact`
/// false). Counting 57,000 pending matters on every page view cost more than the page itself
/// (intake benchmark); nobody pages through ten thousand rows, and dashboards count exactly.
pub const COUNT_CAP: i64 = 10_000;

/// A page of a list, 1-based, with the total count of matching rows.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Matching rows, at most `COUNT_CAP`.
    pub total: i64,
    /// False when there are more than `total` matching rows.
    pub total_exact: bool,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct PageReq {
    pub page: i64,
    pub per_page: i64,
}

impl PageReq {
    pub fn new(page: Option<i64>, per_page: Option<i64>) -> Self {
        PageReq {
            page: page.unwrap_or(1).max(1),
            per_page: per_page.unwrap_or(20).clamp(1, 200),
        }
    }
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

/// Appends the `WHERE` condition of an access scope (roundtable_core::access::Scope) for rows
/// whose organisation path is `path_col` and whose person id is `person_col`.
pub fn push_scope(
    sql: &mut Sql,
    scope: &roundtable_core::access::Scope,
    path_col: &str,
    person_col: Option<&str>,
) {
    push_scope_as(sql, scope, Node::Path(path_col), person_col);
}

/// How a scoped query names the node of its rows.
pub enum Node<'a> {
    /// The node's materialised path column (the query joins `orgs`).
    Path(&'a str),
    /// The node id column; the subtree becomes one `IN (SELECT id FROM orgs …)`, so a long list
    /// is not matched row by row against paths.
    Id(&'a str),
}

pub fn push_scope_as(
    sql: &mut Sql,
    scope: &roundtable_core::access::Scope,
    node: Node<'_>,
    person_col: Option<&str>,
) {
    if scope.everywhere {
        sql.push("1=1");
        return;
    }
    let mut parts = 0;
    sql.push("(");
    if !scope.org_ids.is_empty() {
        if let Node::Id(col) = node {
            sql.push(col).push(" IN (SELECT id FROM orgs WHERE ");
        }
        let path_col = match node {
            Node::Path(col) => col,
            Node::Id(_) => "path",
        };
        for id in &scope.org_ids {
            if parts > 0 {
                sql.push(" OR ");
            }
            sql.push(path_col).push(" LIKE ").arg(format!("%/{id}/%"));
            parts += 1;
        }
        if let Node::Id(_) = node {
            sql.push(")");
        }
    }
    if let Some(col) = person_col {
        for id in &scope.person_ids {
            if parts > 0 {
                sql.push(" OR ");
            }
            sql.push(col).push(" = ").arg(*id);
            parts += 1;
        }
    }
    if parts == 0 {
        sql.push("1=0");
    }
    sql.push(")");
}

/// The ids of the nodes in `scope` and, when given, under `under` (`None`: every node). A
/// list filtered by a short list of ids is planned well (SQLite walks one community's index in
/// date order); filtered by a subquery on paths it was not (it walked all 57,000 pending
/// matters of the district in date order to find one community's).
pub(crate) async fn node_ids(
    e: &mut impl Exec,
    scope: &roundtable_core::access::Scope,
    under: Option<i64>,
) -> Result<Option<Vec<i64>>, StoreError> {
    if scope.everywhere && under.is_none() {
        return Ok(None);
    }
    let mut sql = Sql::new("SELECT id FROM orgs WHERE ");
    push_scope_as(&mut sql, scope, Node::Path("path"), None);
    if let Some(id) = under {
        sql.push(" AND path LIKE ").arg(format!("%/{id}/%"));
    }
    sql.push(" ORDER BY id");
    Ok(Some(e.fetch_all(sql).await?))
}

/// `col IN (ids…)`, or a condition matching nothing for an empty list.
pub(crate) fn push_in(sql: &mut Sql, col: &str, ids: &[i64]) {
    if ids.is_empty() {
        sql.push("1=0");
        return;
    }
    sql.push(col).push(" IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(*id);
    }
    sql.push(")");
}

/// How a paged list is read: the columns with their joins, the base table whose ids are paged,
/// the order, and two writers of SQL: the `SELECT 1 FROM … WHERE …` of the rows to count and
/// the ` WHERE …` of the base table.
pub(crate) struct PagedQuery<'a, C: Fn(&mut Sql), W: Fn(&mut Sql)> {
    /// `SELECT` list, e.g. `SELECT t.id, t.title, o.name AS org_name`
    pub select: &'a str,
    /// The joins of the full rows, e.g. ` FROM topics t JOIN orgs o ON o.id = t.org_id`
    pub from: &'a str,
    /// The base table with its alias, e.g. ` FROM topics t`
    pub base: &'a str,
    /// The base table's id column, e.g. `t.id`
    pub id: &'a str,
    pub order: &'a str,
    pub count: C,
    pub filter: W,
}

/// A page in one statement: the page's ids are found on the base table alone (an index walk
/// that stops after the page), only those rows are read whole, and the total rides on each row
/// as an uncorrelated subquery (run once). A page past the end asks for the total separately.
pub(crate) async fn fetch_page<T: FromRow + Send, C: Fn(&mut Sql), W: Fn(&mut Sql)>(
    e: &mut impl Exec,
    q: PagedQuery<'_, C, W>,
    page: PageReq,
) -> Result<Paged<T>, StoreError> {
    let counted = |sql: &mut Sql| {
        sql.push("SELECT COUNT(*) FROM (");
        (q.count)(sql);
        sql.push(" LIMIT ").arg(COUNT_CAP + 1).push(") counted");
    };
    let mut sql = Sql::new(q.select);
    sql.push(", (");
    counted(&mut sql);
    sql.push(") AS total_rows")
        .push(q.from)
        .push(" JOIN (SELECT ")
        .push(q.id)
        .push(" AS page_id")
        .push(q.base);
    (q.filter)(&mut sql);
    sql.push(" ORDER BY ")
        .push(q.order)
        .push(" LIMIT ")
        .arg(page.per_page)
        .push(" OFFSET ")
        .arg(page.offset())
        .push(") page_ids ON page_ids.page_id = ")
        .push(q.id)
        .push(" ORDER BY ")
        .push(q.order);
    let rows: Vec<db::Counted<T>> = e.fetch_all(sql).await?;
    let total = match rows.first() {
        Some(r) => r.total,
        None => {
            let mut count = Sql::new("");
            counted(&mut count);
            e.fetch_one(count).await?
        }
    };
    Ok(Paged {
        items: rows.into_iter().map(|r| r.item).collect(),
        total: total.min(COUNT_CAP),
        total_exact: total <= COUNT_CAP,
        page: page.page,
        per_page: page.per_page,
    })
}

/// The time every record is stamped with. It follows the system clock, shifted by
/// `clock::set_now` (the history generator writes past years through the same services;
/// `ROUNDTABLE_TODAY` moves a demo or training server to another day).
/// The civil day boundaries of China for a date filter: [00:00, 24:00) at UTC+8 — the first
/// moment of `d` there, in UTC.
pub fn china_day_start(d: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(
        local - chrono::Duration::hours(8),
        chrono::Utc,
    )
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    clock::now()
}

pub mod clock {
    use std::cell::Cell;
    use std::future::Future;
    use std::sync::atomic::{AtomicI64, Ordering};

    use chrono::{DateTime, Duration, Utc};

    static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

    tokio::task_local! {
        /// The shift of one future run under `scoped`: the history generator writes several
        /// communities at once, each on its own day.
        static TASK_OFFSET_MS: Cell<i64>;
    }

    fn offset_ms() -> i64 {
        TASK_OFFSET_MS
            .try_with(Cell::get)
            .unwrap_or_else(|_| OFFSET_MS.load(Ordering::Relaxed))
    }

    pub fn now() -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(offset_ms())
    }

    /// From now on `now()` reads `at` (and runs on from there): inside `scoped`, for that
    /// future only; elsewhere for the whole process.
    pub fn set_now(at: DateTime<Utc>) {
        let ms = (at - Utc::now()).num_milliseconds();
        if TASK_OFFSET_MS.try_with(|c| c.set(ms)).is_err() {
            OFFSET_MS.store(ms, Ordering::Relaxed);
        }
    }

    /// Runs `f` with a clock of its own, starting where the process clock is.
    pub async fn scoped<F: Future>(f: F) -> F::Output {
        TASK_OFFSET_MS.scope(Cell::new(offset_ms()), f).await
    }

    /// Whether the clock is shifted (start-up logs it: records get the shifted time).
    pub fn shifted() -> bool {
        offset_ms() != 0
    }
}

#[cfg(test)]
mod clock_tests {
    use chrono::{TimeZone, Utc};

    use super::clock;

    // Two futures run at once under `scoped` each keep their own day, and the process clock
    // is left alone (the history generator's communities written side by side).
    #[tokio::test]
    async fn scoped_clocks_are_independent() {
        let day = |d| Utc.with_ymd_and_hms(2024, 3, d, 2, 0, 0).unwrap();
        let run = |d: u32| {
            clock::scoped(async move {
                clock::set_now(day(d));
                tokio::task::yield_now().await;
                clock::now()
            })
        };
        let (a, b) = tokio::join!(run(4), run(20));
        assert_eq!(a.date_naive(), day(4).date_naive());
        assert_eq!(b.date_naive(), day(20).date_naive());
        assert!((clock::now() - Utc::now()).num_seconds().abs() < 5);
    }
}
