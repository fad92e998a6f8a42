//! One storage handle over two databases (ENGINEERING.md "Storage"). SQL is written once with
//! `$1…$N` placeholders; `Val` carries the few value types both backends share, `Row` reads a
//! column from either, and `Sql` assembles a statement with numbered arguments.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Postgres, Sqlite};
use std::str::FromStr;
use std::time::Duration;

use crate::StoreError;

#[derive(Clone, Debug)]
pub enum Db {
    /// The pool, and the lock this process's writers queue on (see `Db::begin`).
    Sqlite(sqlx::SqlitePool, WriteLock),
    Postgres(sqlx::PgPool),
}

/// SQLite lets one writer in at a time. Writers of this process wait for each other here, in
/// order and without polling; SQLite's own busy timeout would have them sleep in growing steps
/// (up to 100 ms) while the lock was free again after a millisecond. Other processes on the same
/// file still meet the busy timeout.
pub type WriteLock = std::sync::Arc<tokio::sync::Mutex<()>>;

pub enum Tx {
    /// The transaction and the writer's place in the queue (released when the transaction
    /// ends, committed or dropped).
    Sqlite(
        sqlx::Transaction<'static, Sqlite>,
        tokio::sync::OwnedMutexGuard<()>,
    ),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// A bound value. Row types use only these (ENGINEERING.md).
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    I64(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Date(Option<NaiveDate>),
    Time(Option<DateTime<Utc>>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::I64(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::I64(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_string()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(Some(v))
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::Text(v)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        Val::Text(v.map(str::to_string))
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::Bool(v)
    }
}
impl From<NaiveDate> for Val {
    fn from(v: NaiveDate) -> Self {
        Val::Date(Some(v))
    }
}
impl From<Option<NaiveDate>> for Val {
    fn from(v: Option<NaiveDate>) -> Self {
        Val::Date(v)
    }
}
impl From<DateTime<Utc>> for Val {
    fn from(v: DateTime<Utc>) -> Self {
        Val::Time(Some(v))
    }
}
impl From<Option<DateTime<Utc>>> for Val {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Val::Time(v)
    }
}

/// A statement being assembled: `arg` appends the next `$N` and remembers its value.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Val>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }
    /// A statement whose text already numbers its arguments `$1…$N`.
    pub fn with(text: &str, args: Vec<Val>) -> Self {
        Sql {
            text: text.to_string(),
            args,
        }
    }
    /// `prefix` (no arguments of its own) followed by `rest` with its arguments.
    pub fn prefixed(prefix: &str, rest: &Sql) -> Self {
        Sql {
            text: format!("{prefix}{}", rest.text),
            args: rest.args.clone(),
        }
    }
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    pub fn arg(&mut self, v: impl Into<Val>) -> &mut Self {
        self.args.push(v.into());
        let n = self.args.len();
        self.text.push_str(&format!("${n}"));
        self
    }
}

/// `args![a, b]` is `vec![Val::from(a), Val::from(b)]`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { vec![$($crate::Val::from($v)),*] };
}

/// A row of either backend.
pub enum Row<'r> {
    Sqlite(&'r SqliteRow),
    Postgres(&'r PgRow),
}

pub trait Column:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
{
}
impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
{
}

impl Row<'_> {
    pub fn get<T: Column>(&self, col: &str) -> Result<T, StoreError> {
        use sqlx::Row as _;
        Ok(match self {
            Row::Sqlite(r) => r.try_get(col)?,
            Row::Postgres(r) => r.try_get(col)?,
        })
    }
}

/// Reads a row type from either backend, by column name.
pub trait FromRow: Sized {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError>;
}

/// A row of a page together with the `total_rows` count of the whole filtered list.
pub struct Counted<T> {
    pub item: T,
    pub total: i64,
}

impl<T: FromRow> FromRow for Counted<T> {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Counted {
            item: T::from_row(r)?,
            total: r.get("total_rows")?,
        })
    }
}

impl FromRow for i64 {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        use sqlx::Row as _;
        Ok(match r {
            Row::Sqlite(r) => r.try_get(0)?,
            Row::Postgres(r) => r.try_get(0)?,
        })
    }
}

impl FromRow for String {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        use sqlx::Row as _;
        Ok(match r {
            Row::Sqlite(r) => r.try_get(0)?,
            Row::Postgres(r) => r.try_get(0)?,
        })
    }
}

/// Several reads sent together. Every statement is a round trip to SQLite's connection
/// thread (sqlx runs each connection on a thread of its own), and on a page of twenty small
/// reads those hand-overs, not the queries, were the time (cases benchmark). On SQLite the
/// reads go as one multi-statement text in one round trip; PostgreSQL runs them one by one.
#[derive(Debug, Default)]
pub struct Reads {
    sql: Vec<Sql>,
}

impl Reads {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a read (one SELECT); its rows come back under the number returned.
    pub fn add(&mut self, sql: Sql) -> usize {
        self.sql.push(sql);
        self.sql.len() - 1
    }

    /// One text with every statement's `$N` moved past the arguments of those before it.
    fn joined(&self) -> Sql {
        let mut out = Sql::default();
        for s in &self.sql {
            let offset = out.args.len();
            out.text.push_str(&renumber(&s.text, offset));
            out.text.push_str(";\n");
            out.args.extend(s.args.iter().cloned());
        }
        out
    }
}

/// `$N` → `$(N + offset)` outside string literals.
fn renumber(text: &str, offset: usize) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\'' {
            quoted = !quoted;
        } else if c == '$' && !quoted {
            let mut n = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                n.push(d);
                chars.next();
            }
            match n.parse::<usize>() {
                Ok(k) => out.push_str(&(k + offset).to_string()),
                Err(_) => out.push_str(&n),
            }
        }
    }
    out
}

enum OwnedRow {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

/// The rows of `Reads`, taken out by the number `Reads::add` gave.
pub struct Rows {
    groups: Vec<Option<Vec<OwnedRow>>>,
}

impl Rows {
    fn take(&mut self, i: usize) -> Result<Vec<OwnedRow>, StoreError> {
        self.groups
            .get_mut(i)
            .and_then(Option::take)
            .ok_or_else(|| StoreError::Config(format!("read {i} was not asked for or was taken")))
    }

    pub fn all<T: FromRow>(&mut self, i: usize) -> Result<Vec<T>, StoreError> {
        self.take(i)?
            .iter()
            .map(|r| match r {
                OwnedRow::Sqlite(r) => T::from_row(&Row::Sqlite(r)),
                OwnedRow::Postgres(r) => T::from_row(&Row::Postgres(r)),
            })
            .collect()
    }

    pub fn optional<T: FromRow>(&mut self, i: usize) -> Result<Option<T>, StoreError> {
        Ok(self.all(i)?.into_iter().next())
    }

    pub fn one<T: FromRow>(&mut self, i: usize) -> Result<T, StoreError> {
        self.optional(i)?.ok_or(StoreError::NotFound)
    }
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Val::I64(v) => q.bind(v),
                Val::Text(v) => q.bind(v),
                Val::Bool(v) => q.bind(v),
                Val::Date(v) => q.bind(v),
                Val::Time(v) => q.bind(v),
            };
        }
        q
    }};
}

/// A bound query of one backend and the executor to run it on.
macro_rules! ops {
    ($exec:expr, $db:ty, $sql:expr) => {{
        let Sql { text, args } = $sql;
        (
            bind_all!(sqlx::query::<$db>(AssertSqlSafe(text)), args),
            $exec,
        )
    }};
}

/// What a pool and a transaction can both do; repository functions take `&mut impl Exec` so the
/// same function runs alone or inside a caller's transaction.
pub trait Exec: Send {
    fn execute(&mut self, sql: Sql) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn fetch_all<T: FromRow + Send>(
        &mut self,
        sql: Sql,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send;
    fn fetch_optional<T: FromRow + Send>(
        &mut self,
        sql: Sql,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send;
    fn fetch_one<T: FromRow + Send>(
        &mut self,
        sql: Sql,
    ) -> impl Future<Output = Result<T, StoreError>> + Send {
        async move { self.fetch_optional(sql).await?.ok_or(StoreError::NotFound) }
    }
    /// Runs `reads` (see `Reads`).
    fn fetch_reads(
        &mut self,
        reads: Reads,
    ) -> impl Future<Output = Result<Rows, StoreError>> + Send;
    fn is_postgres(&self) -> bool;
}

/// PostgreSQL has no multi-statement batch with parameters: reads on a pool go side by side,
/// each on a connection of its own (a dashboard's dozen reads then cost about the longest
/// one); on one connection or in a transaction, one by one.
macro_rules! pg_reads {
    (side_by_side, $pe:expr, $reads:expr, $groups:expr) => {{
        let pool = $pe;
        let all = futures_util::future::try_join_all($reads.sql.into_iter().map(|sql| {
            let (q, e) = ops!(pool, Postgres, sql);
            q.fetch_all(e)
        }))
        .await?;
        for rows in all {
            $groups.push(Some(rows.into_iter().map(OwnedRow::Postgres).collect()));
        }
    }};
    (one_by_one, $pe:expr, $reads:expr, $groups:expr) => {{
        for sql in $reads.sql {
            let (q, e) = ops!($pe, Postgres, sql);
            let rows = q.fetch_all(e).await?;
            $groups.push(Some(rows.into_iter().map(OwnedRow::Postgres).collect()));
        }
    }};
}

macro_rules! impl_ops {
    ($ty:ty, $sqlite:pat => $se:expr, $pg:pat => $pe:expr, $pg_reads:ident) => {
        impl Exec for $ty {
            fn is_postgres(&self) -> bool {
                #[allow(unused_variables)]
                match self {
                    $sqlite => false,
                    $pg => true,
                }
            }

            async fn execute(&mut self, sql: Sql) -> Result<u64, StoreError> {
                Ok(match self {
                    $sqlite => {
                        let (q, e) = ops!($se, Sqlite, sql);
                        q.execute(e).await?.rows_affected()
                    }
                    $pg => {
                        let (q, e) = ops!($pe, Postgres, sql);
                        q.execute(e).await?.rows_affected()
                    }
                })
            }

            async fn fetch_all<T: FromRow + Send>(
                &mut self,
                sql: Sql,
            ) -> Result<Vec<T>, StoreError> {
                match self {
                    $sqlite => {
                        let (q, e) = ops!($se, Sqlite, sql);
                        q.fetch_all(e)
                            .await?
                            .iter()
                            .map(|r| T::from_row(&Row::Sqlite(r)))
                            .collect()
                    }
                    $pg => {
                        let (q, e) = ops!($pe, Postgres, sql);
                        q.fetch_all(e)
                            .await?
                            .iter()
                            .map(|r| T::from_row(&Row::Postgres(r)))
                            .collect()
                    }
                }
            }

            async fn fetch_reads(&mut self, reads: Reads) -> Result<Rows, StoreError> {
                use futures_util::TryStreamExt;
                let wanted = reads.sql.len();
                let mut groups = Vec::with_capacity(wanted);
                if wanted == 0 {
                    return Ok(Rows { groups });
                }
                match self {
                    $sqlite => {
                        let (q, e) = ops!($se, Sqlite, reads.joined());
                        // Rows of each statement, then its result: one group per statement.
                        let mut stream = sqlx::Executor::fetch_many(e, q);
                        let mut rows = Vec::new();
                        while let Some(item) = stream.try_next().await? {
                            match item {
                                sqlx::Either::Right(r) => rows.push(OwnedRow::Sqlite(r)),
                                sqlx::Either::Left(_) => {
                                    groups.push(Some(std::mem::take(&mut rows)))
                                }
                            }
                        }
                    }
                    $pg => pg_reads!($pg_reads, $pe, reads, groups),
                }
                if groups.len() != wanted {
                    return Err(StoreError::Config(format!(
                        "{wanted} reads sent, {} answered",
                        groups.len()
                    )));
                }
                Ok(Rows { groups })
            }

            async fn fetch_optional<T: FromRow + Send>(
                &mut self,
                sql: Sql,
            ) -> Result<Option<T>, StoreError> {
                match self {
                    $sqlite => {
                        let (q, e) = ops!($se, Sqlite, sql);
                        q.fetch_optional(e)
                            .await?
                            .as_ref()
                            .map(|r| T::from_row(&Row::Sqlite(r)))
                            .transpose()
                    }
                    $pg => {
                        let (q, e) = ops!($pe, Postgres, sql);
                        q.fetch_optional(e)
                            .await?
                            .as_ref()
                            .map(|r| T::from_row(&Row::Postgres(r)))
                            .transpose()
                    }
                }
            }
        }
    };
}

/// Pool handle; `Clone` is cheap. Operations take `&mut self` only to share the macro with `Tx`.
#[derive(Clone, Debug)]
pub struct Pool(pub Db);

impl_ops!(Pool, Pool(Db::Sqlite(p, _)) => &*p, Pool(Db::Postgres(p)) => &*p, side_by_side);
impl_ops!(Conn, Conn::Sqlite(c) => &mut **c, Conn::Postgres(c) => &mut **c, one_by_one);

/// One connection held for a page's many reads: each statement on a `Pool` acquires a
/// connection of its own, which costs more than a small query.
pub enum Conn {
    Sqlite(sqlx::pool::PoolConnection<Sqlite>),
    Postgres(sqlx::pool::PoolConnection<Postgres>),
}
impl_ops!(Tx, Tx::Sqlite(t, _) => &mut **t, Tx::Postgres(t) => &mut **t, one_by_one);

/// A read-only transaction that sees the database as of its first statement, whatever is
/// written meanwhile (a backup's copy): SQLite's WAL snapshot of a deferred transaction,
/// PostgreSQL's REPEATABLE READ.
pub enum Snapshot {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}
impl_ops!(Snapshot, Snapshot::Sqlite(t) => &mut **t, Snapshot::Postgres(t) => &mut **t, one_by_one);

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t, _queued) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

impl Db {
    /// Opens `sqlite://path` (created with its folder if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        Self::connect_with(url, true).await
    }

    /// For a long series of writes that grows the file by gigabytes (the city-sized history),
    /// on SQLite: no memory map — each time the file grows, every connection's map is torn
    /// down and its pages faulted in again (a third of the generator's time past 1 GB) — and
    /// one connection with a large page cache: a write on one connection empties the caches of
    /// the others, so with several each statement read its B-tree pages from the file again
    /// (the generator slowed from 50 to 11 cases/s past 2 GB, most of it in `pread`).
    pub async fn connect_for_bulk_writes(url: &str) -> Result<Db, StoreError> {
        Self::connect_with(url, false).await
    }

    async fn connect_with(url: &str, memory_map: bool) -> Result<Db, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(opts)
                .await?;
            Ok(Db::Postgres(pool))
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.trim_start_matches("//");
            if path != ":memory:"
                && let Some(dir) = std::path::Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                // Writers queue for the write lock (BEGIN IMMEDIATE); a long Excel import holds it
                // for seconds, and waiting is better than failing.
                .busy_timeout(Duration::from_secs(30))
                // Read pages through a memory map rather than copying them into each
                // connection's small page cache: with 200,000 topics the lists otherwise spend
                // most of their time re-reading pages (measured with the intake benchmark). A
                // city's five years of cases make a file of several GB: the map covers SQLite's
                // largest (2 GB), and what lies beyond it is kept in a page cache of up to
                // 256 MB per connection, filled only by what is read there (cases benchmark at
                // 92,700 cases: timeline JSON 1,730 → 2,160 requests/s against 32 MB).
                .pragma("mmap_size", if memory_map { "2147418112" } else { "0" })
                .pragma("cache_size", if memory_map { "-262144" } else { "-524288" });
            let pool = SqlitePoolOptions::new()
                .max_connections(if memory_map { 4 } else { 1 })
                .connect_with(opts)
                .await?;
            Ok(Db::Sqlite(pool, WriteLock::default()))
        } else {
            Err(StoreError::Config(format!(
                "DATABASE_URL must start with sqlite:// or postgres://, got `{url}`"
            )))
        }
    }

    pub fn pool(&self) -> Pool {
        Pool(self.clone())
    }

    /// A connection for a series of reads (no transaction: readers never wait for writers).
    pub async fn conn(&self) -> Result<Conn, StoreError> {
        Ok(match self {
            Db::Sqlite(p, _) => Conn::Sqlite(p.acquire().await?),
            Db::Postgres(p) => Conn::Postgres(p.acquire().await?),
        })
    }

    /// A write transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
    /// deferred transaction that reads first and writes later cannot wait for a concurrent
    /// writer and fails with "database is locked" instead.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(p, lock) => {
                let queued = lock.clone().lock_owned().await;
                Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?, queued)
            }
            Db::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A snapshot for reading (see `Snapshot`); it never queues behind writers.
    pub async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        Ok(match self {
            Db::Sqlite(p, _) => Snapshot::Sqlite(p.begin_with("BEGIN DEFERRED").await?),
            Db::Postgres(p) => Snapshot::Postgres(
                p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?,
            ),
        })
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// /readyz: the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.pool()
            .fetch_one::<i64>(Sql::new("SELECT CAST(1 AS BIGINT)"))
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p, _) => p.close().await,
            Db::Postgres(p) => p.close().await,
        }
    }
}
