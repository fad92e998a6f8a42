//! The exchange queue (issue 7, R-PROC-6, R-INT-1): `exchange_changes` — one row per audited
//! change of an exchanged record, written by `audit::record` in the change's transaction, its
//! `seq` handed out in commit order — the delivery targets with their cursors, and the batches
//! sent to them (pending, sent, dead). The records are read here as they stand; the format
//! around them is the web crate's.

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{KeyInit, Mac};
use roundtable_core::exchange::{RecordKind, signed_bytes};

use crate::audit::HmacSm3;
use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args};

/// The table of each kind and the column naming its case.
fn source(kind: RecordKind) -> (&'static str, &'static str) {
    match kind {
        RecordKind::Case => ("cases", "id"),
        RecordKind::Meeting => ("meetings", "case_id"),
        RecordKind::Notice => ("notices", "case_id"),
        RecordKind::LedgerItem => ("ledger_items", "case_id"),
        RecordKind::Inspection => ("inspections", "case_id"),
        RecordKind::Bulletin => ("bulletins", "case_id"),
    }
}

/// Queues record `id` of `kind` as changed, in the caller's transaction, with its case and
/// the case's place in the tree. One statement: on PostgreSQL it takes the next number from
/// `exchange_head`, whose row then stays locked until the transaction ends (numbers in commit
/// order); on SQLite the one writer makes AUTOINCREMENT do the same.
pub async fn queue(e: &mut impl Exec, kind: RecordKind, id: i64) -> Result<(), StoreError> {
    let (table, cc) = source(kind);
    let from = format!(
        "{table} x JOIN cases c ON c.id = x.{cc} JOIN orgs o ON o.id = c.org_id WHERE x.id = $2"
    );
    let text = if e.is_postgres() {
        format!(
            "WITH h AS (UPDATE exchange_head SET seq = seq + 1 WHERE id = 1 RETURNING seq) INSERT INTO exchange_changes (seq, kind, record_id, case_id, org_path, at) SELECT h.seq, $1, $2, x.{cc}, o.path, $3 FROM h, {from}"
        )
    } else {
        format!(
            "INSERT INTO exchange_changes (kind, record_id, case_id, org_path, at) SELECT $1, $2, x.{cc}, o.path, $3 FROM {from}"
        )
    };
    e.execute(Sql::with(&text, args![kind.code(), id, crate::now()]))
        .await?;
    Ok(())
}

/// `queue`, and for a case also the ledger items not queued yet: they are generated together
/// when 项目实施 begins, under the case's audited move. Called after the audit entry, so
/// every transaction takes the audit chain's head before the exchange's (no deadlock).
pub async fn queue_audited(e: &mut impl Exec, kind: RecordKind, id: i64) -> Result<(), StoreError> {
    queue(e, kind, id).await?;
    if kind == RecordKind::Case {
        let new_items: Vec<i64> = e
            .fetch_all(Sql::with(
                "SELECT l.id FROM ledger_items l WHERE l.case_id = $1 AND NOT EXISTS (SELECT 1 FROM exchange_changes x WHERE x.kind = 'ledger_item' AND x.record_id = l.id) ORDER BY l.id",
                args![id],
            ))
            .await?;
        for item in new_items {
            queue(e, RecordKind::LedgerItem, item).await?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub kind: RecordKind,
    pub record_id: i64,
    pub case_id: i64,
    pub at: DateTime<Utc>,
}

impl FromRow for Change {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let kind: String = r.get("kind")?;
        Ok(Change {
            seq: r.get("seq")?,
            kind: RecordKind::parse(&kind)
                .ok_or_else(|| StoreError::Config(format!("unknown exchange kind {kind}")))?,
            record_id: r.get("record_id")?,
            case_id: r.get("case_id")?,
            at: r.get("at")?,
        })
    }
}

/// Which changes a reader receives: some kinds, within a subtree (a path prefix) and, for a
/// person or a token reading them, within an access scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kinds: Vec<RecordKind>,
    pub org_path: Option<String>,
    pub scope: Option<roundtable_core::access::Scope>,
}

impl Filter {
    fn push(&self, sql: &mut Sql) {
        sql.push(" AND kind IN (");
        for (i, k) in self.kinds.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.arg(k.code());
        }
        if self.kinds.is_empty() {
            sql.push("NULL");
        }
        sql.push(")");
        if let Some(p) = &self.org_path {
            sql.push(" AND org_path LIKE ");
            sql.arg(format!("{p}%"));
        }
        if let Some(scope) = &self.scope {
            sql.push(" AND ");
            crate::push_scope(sql, scope, "org_path", None);
        }
    }
}

/// The changes after `after_seq` up to `up_to` (inclusive) that `filter` lets through, the
/// oldest first, at most `limit`.
pub async fn changes(
    e: &mut impl Exec,
    filter: &Filter,
    after_seq: i64,
    up_to: Option<i64>,
    limit: i64,
) -> Result<Vec<Change>, StoreError> {
    let mut sql =
        Sql::new("SELECT seq, kind, record_id, case_id, at FROM exchange_changes WHERE seq > ");
    sql.arg(after_seq);
    if let Some(last) = up_to {
        sql.push(" AND seq <= ").arg(last);
    }
    filter.push(&mut sql);
    sql.push(" ORDER BY seq LIMIT ").arg(limit);
    e.fetch_all(sql).await
}

/// The changes after `after_seq` that are each record's latest (a record changed again is
/// read once, at its last change), recorded on or after `since`, the oldest first: what a
/// reader that wants records as they stand pages through.
pub async fn latest_changes(
    e: &mut impl Exec,
    filter: &Filter,
    after_seq: i64,
    since: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<Change>, StoreError> {
    let mut sql =
        Sql::new("SELECT seq, kind, record_id, case_id, at FROM exchange_changes x WHERE seq > ");
    sql.arg(after_seq);
    if let Some(t) = since {
        sql.push(" AND at >= ").arg(t);
    }
    filter.push(&mut sql);
    sql.push(" AND NOT EXISTS (SELECT 1 FROM exchange_changes y WHERE y.kind = x.kind AND y.record_id = x.record_id AND y.seq > x.seq) ORDER BY seq LIMIT ")
        .arg(limit);
    e.fetch_all(sql).await
}

/// How many changes `filter` lets through after `after_seq` (a target's backlog).
pub async fn count_after(
    e: &mut impl Exec,
    filter: &Filter,
    after_seq: i64,
) -> Result<i64, StoreError> {
    let mut sql = Sql::new("SELECT CAST(COUNT(*) AS BIGINT) FROM exchange_changes WHERE seq > ");
    sql.arg(after_seq);
    filter.push(&mut sql);
    e.fetch_one(sql).await
}

/// The latest change of each record of a case, for its delivery state.
pub async fn latest_of_case(e: &mut impl Exec, case_id: i64) -> Result<Vec<Change>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT seq, kind, record_id, case_id, at FROM exchange_changes x WHERE case_id = $1 AND seq = (SELECT MAX(y.seq) FROM exchange_changes y WHERE y.kind = x.kind AND y.record_id = x.record_id) ORDER BY kind, record_id",
        args![case_id],
    ))
    .await
}

/// HMAC-SM3 of a request under a target's secret, hex: what `X-Roundtable-Signature`
/// carries and what a receiver recomputes.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        HmacSm3::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(&signed_bytes(timestamp, body));
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature_hex` is that of the request (compared in constant time).
pub fn signature_matches(secret: &str, timestamp: i64, body: &[u8], signature_hex: &str) -> bool {
    let Ok(given) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut mac =
        HmacSm3::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(&signed_bytes(timestamp, body));
    mac.verify_slice(&given).is_ok()
}

// ---- targets ----

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Target {
    pub id: i64,
    pub name: String,
    pub endpoint: String,
    /// Record kind codes.
    pub kinds: Vec<String>,
    /// The subtree's root (none: everything).
    pub org_id: Option<i64>,
    pub org_path: Option<String>,
    /// As stored (sealed under the data key): `open_secret` when signing.
    #[serde(skip)]
    pub secret: String,
    pub enabled: bool,
    /// Written from the configuration file at start-up (edited there, not on the page).
    pub from_config: bool,
    /// The last change delivered or given up on.
    pub cursor_seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Target {
    /// The signing secret in the clear (only the sender needs it: lists and the case page do
    /// not decrypt it).
    pub fn open_secret(&self) -> Result<String, StoreError> {
        Ok(
            crate::pii::open("exchange_targets.secret", Some(self.secret.clone()))?
                .unwrap_or_default(),
        )
    }

    pub fn filter(&self) -> Filter {
        Filter {
            kinds: self
                .kinds
                .iter()
                .filter_map(|k| RecordKind::parse(k))
                .collect(),
            org_path: self.org_path.clone(),
            scope: None,
        }
    }
}

impl FromRow for Target {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let kinds: String = r.get("kinds")?;
        Ok(Target {
            id: r.get("id")?,
            name: r.get("name")?,
            endpoint: r.get("endpoint")?,
            kinds: kinds
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            org_id: r.get("org_id")?,
            org_path: r.get("org_path")?,
            secret: r.get("secret")?,
            enabled: r.get("enabled")?,
            from_config: r.get("from_config")?,
            cursor_seq: r.get("cursor_seq")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

const TARGET: &str = "SELECT t.id, t.name, t.endpoint, t.kinds, t.org_id, o.path AS org_path, t.secret, t.enabled, t.from_config, t.cursor_seq, t.created_at, t.updated_at FROM exchange_targets t LEFT JOIN orgs o ON o.id = t.org_id";

pub async fn targets(e: &mut impl Exec) -> Result<Vec<Target>, StoreError> {
    e.fetch_all(Sql::new(&format!("{TARGET} ORDER BY t.name, t.id")))
        .await
}

pub async fn target(e: &mut impl Exec, id: i64) -> Result<Option<Target>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{TARGET} WHERE t.id = $1"), args![id]))
        .await
}

pub async fn target_by_name(e: &mut impl Exec, name: &str) -> Result<Option<Target>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{TARGET} WHERE t.name = $1"),
        args![name],
    ))
    .await
}

/// What a target is given: the checked fields, and the secret when it changes.
#[derive(Debug, Clone)]
pub struct TargetFields<'a> {
    pub name: &'a str,
    pub endpoint: &'a str,
    pub kinds: &'a [RecordKind],
    pub org_id: Option<i64>,
    pub secret: Option<&'a str>,
    pub enabled: bool,
}

fn kind_codes(kinds: &[RecordKind]) -> String {
    kinds.iter().map(|k| k.code()).collect::<Vec<_>>().join(",")
}

/// A new target starts at the beginning of the queue: it receives everything in its subtree
/// and kinds, history included.
pub async fn insert_target(
    e: &mut impl Exec,
    t: &TargetFields<'_>,
    from_config: bool,
) -> Result<i64, StoreError> {
    let now = crate::now();
    let secret = crate::pii::seal("exchange_targets.secret", t.secret)?.unwrap_or_default();
    e.fetch_one(Sql::with(
        "INSERT INTO exchange_targets (name, endpoint, kinds, org_id, secret, enabled, from_config, cursor_seq, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8) RETURNING id",
        args![t.name, t.endpoint, kind_codes(t.kinds), t.org_id, secret, t.enabled, from_config, now],
    ))
    .await
}

pub async fn update_target(
    e: &mut impl Exec,
    id: i64,
    t: &TargetFields<'_>,
) -> Result<(), StoreError> {
    let now = crate::now();
    let mut sql = Sql::new("UPDATE exchange_targets SET name = ");
    sql.arg(t.name)
        .push(", endpoint = ")
        .arg(t.endpoint)
        .push(", kinds = ")
        .arg(kind_codes(t.kinds))
        .push(", org_id = ")
        .arg(t.org_id)
        .push(", enabled = ")
        .arg(t.enabled)
        .push(", updated_at = ")
        .arg(now);
    if let Some(s) = t.secret {
        sql.push(", secret = ")
            .arg(crate::pii::seal("exchange_targets.secret", Some(s))?);
    }
    sql.push(" WHERE id = ").arg(id);
    e.execute(sql).await?;
    Ok(())
}

// ---- batches ----

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Batch {
    pub id: i64,
    pub target_id: i64,
    /// The range of changes (after_seq, last_seq].
    pub after_seq: i64,
    pub last_seq: i64,
    pub batch_key: String,
    pub records: i64,
    /// pending, sent, dead
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl FromRow for Batch {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Batch {
            id: r.get("id")?,
            target_id: r.get("target_id")?,
            after_seq: r.get("after_seq")?,
            last_seq: r.get("last_seq")?,
            batch_key: r.get("batch_key")?,
            records: r.get("records")?,
            status: r.get("status")?,
            attempts: r.get("attempts")?,
            next_attempt_at: r.get("next_attempt_at")?,
            last_error: r.get("last_error")?,
            created_at: r.get("created_at")?,
            sent_at: r.get("sent_at")?,
        })
    }
}

const BATCH: &str = "SELECT id, target_id, after_seq, last_seq, batch_key, records, status, attempts, next_attempt_at, last_error, created_at, sent_at FROM exchange_batches";

/// The target's oldest pending batch (a replayed dead one comes before new ones).
pub async fn pending_batch(e: &mut impl Exec, target_id: i64) -> Result<Option<Batch>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!(
            "{BATCH} WHERE target_id = $1 AND status = 'pending' ORDER BY after_seq, id LIMIT 1"
        ),
        args![target_id],
    ))
    .await
}

/// A new batch for the range after the target's cursor; `None` when someone else opened one.
pub async fn open_batch(
    e: &mut impl Exec,
    target: &Target,
    last_seq: i64,
    records: i64,
) -> Result<Option<Batch>, StoreError> {
    let now = crate::now();
    let key = roundtable_core::exchange::batch_key(target.id, target.cursor_seq, last_seq);
    // Only while nothing is pending (two instances must not open overlapping ranges).
    let id: Option<i64> = e
        .fetch_optional(Sql::with(
            "INSERT INTO exchange_batches (target_id, after_seq, last_seq, batch_key, records, status, attempts, next_attempt_at, created_at) SELECT $1, $2, $3, $4, $5, 'pending', 0, $6, $6 WHERE NOT EXISTS (SELECT 1 FROM exchange_batches WHERE target_id = $1 AND status = 'pending' AND after_seq >= $2) RETURNING id",
            args![target.id, target.cursor_seq, last_seq, key, records, now],
        ))
        .await?;
    match id {
        Some(id) => batch(e, id).await,
        None => Ok(None),
    }
}

pub async fn batch(e: &mut impl Exec, id: i64) -> Result<Option<Batch>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{BATCH} WHERE id = $1"), args![id]))
        .await
}

/// Takes a batch for an attempt until `lease_until` (another instance leaves it alone);
/// false when someone else took it first.
pub async fn take_batch(
    e: &mut impl Exec,
    b: &Batch,
    lease_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(e
        .execute(Sql::with(
            "UPDATE exchange_batches SET next_attempt_at = $1, attempts = attempts + 1 WHERE id = $2 AND status = 'pending' AND attempts = $3 AND next_attempt_at <= $4",
            args![lease_until, b.id, b.attempts, crate::now()],
        ))
        .await?
        == 1)
}

/// The receiver confirmed the batch: its range is delivered; the cursor moves past it.
pub async fn batch_sent(e: &mut impl Exec, b: &Batch) -> Result<(), StoreError> {
    let now = crate::now();
    e.execute(Sql::with(
        "UPDATE exchange_batches SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2",
        args![now, b.id],
    ))
    .await?;
    advance_cursor(e, b).await
}

async fn advance_cursor(e: &mut impl Exec, b: &Batch) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE exchange_targets SET cursor_seq = $1 WHERE id = $2 AND cursor_seq < $1",
        args![b.last_seq, b.target_id],
    ))
    .await?;
    Ok(())
}

/// A failed attempt: tried again at `retry_at`, or (`None`) given up on — a dead letter,
/// and the cursor moves on so that later changes are not held up behind it.
pub async fn batch_failed(
    e: &mut impl Exec,
    b: &Batch,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let (status, at) = match retry_at {
        Some(t) => ("pending", t),
        None => ("dead", crate::now()),
    };
    e.execute(Sql::with(
        "UPDATE exchange_batches SET status = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
        args![status, at, error, b.id],
    ))
    .await?;
    if retry_at.is_none() {
        advance_cursor(e, b).await?;
    }
    Ok(())
}

/// A dead batch sent again (the same range and key), before anything new; false when it is
/// not dead.
pub async fn replay(e: &mut impl Exec, id: i64) -> Result<bool, StoreError> {
    Ok(e
        .execute(Sql::with(
            "UPDATE exchange_batches SET status = 'pending', attempts = 0, next_attempt_at = $1 WHERE id = $2 AND status = 'dead'",
            args![crate::now(), id],
        ))
        .await?
        == 1)
}

/// Batches of a target, newest first (`status` one of pending, sent, dead, or any).
pub async fn batches(
    e: &mut impl Exec,
    target_id: Option<i64>,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<Batch>, StoreError> {
    let mut sql = Sql::new(&format!("{BATCH} WHERE 1 = 1"));
    if let Some(t) = target_id {
        sql.push(" AND target_id = ").arg(t);
    }
    if let Some(s) = status {
        sql.push(" AND status = ").arg(s);
    }
    sql.push(" ORDER BY id DESC LIMIT ").arg(limit);
    e.fetch_all(sql).await
}

/// How many batches of a target are in `status`.
pub async fn count_batches(
    e: &mut impl Exec,
    target_id: i64,
    status: &str,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM exchange_batches WHERE target_id = $1 AND status = $2",
        args![target_id, status],
    ))
    .await
}

/// The batch of a target whose range holds `seq` and that settled it (sent or dead; the
/// latest such), and the pending one that holds it, if any.
pub async fn batches_holding(
    e: &mut impl Exec,
    target_id: i64,
    seqs: &[i64],
) -> Result<Vec<Batch>, StoreError> {
    let (Some(lo), Some(hi)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(Vec::new());
    };
    e.fetch_all(Sql::with(
        &format!("{BATCH} WHERE target_id = $1 AND last_seq >= $2 AND after_seq < $3 ORDER BY id"),
        args![target_id, *lo, *hi],
    ))
    .await
}

// ---- the records as they stand ----

macro_rules! record {
    ($(#[$m:meta])* $name:ident { $($field:ident : $ty:ty),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, serde::Serialize)]
        pub struct $name { $(pub $field: $ty),+ }
        impl FromRow for $name {
            fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
                Ok($name { $($field: r.get(stringify!($field))?),+ })
            }
        }
    };
}

record! {
    CaseRow {
        id: i64, public_code: String, title: String, category: String, level: String,
        step: String, stop_reason: Option<String>, org_id: i64, org_path: String,
        created_at: DateTime<Utc>, updated_at: DateTime<Utc>, finished_at: Option<DateTime<Utc>>,
    }
}

record! {
    MeetingRow {
        id: i64, case_id: i64, held_on: NaiveDate, start_time: String, place: String,
        chair_name: String, status: String, resolution: Option<String>,
        votes_for: Option<i64>, votes_against: Option<i64>, votes_abstain: Option<i64>,
        filing_number: Option<String>, filed_at: Option<DateTime<Utc>>,
        updated_at: DateTime<Utc>, fingerprint: Option<String>,
    }
}

record! {
    NoticeRow {
        id: i64, case_id: i64, version: i64, published_on: NaiveDate, starts_on: NaiveDate,
        ends_on: NaiveDate, working_days: i64, provisional: bool, content: String,
        created_at: DateTime<Utc>, fingerprint: Option<String>,
    }
}

record! {
    LedgerRow {
        id: i64, case_id: i64, title: String, owner_name: String, unit_name: String,
        due_on: NaiveDate, status: String, evidence: Option<String>,
        closed_at: Option<DateTime<Utc>>, confirmed_at: Option<DateTime<Utc>>,
        created_at: DateTime<Utc>,
    }
}

record! {
    InspectionRow {
        id: i64, case_id: i64, inspected_on: NaiveDate, inspectors: String, progress: String,
        quality: String, deadline: String, created_at: DateTime<Utc>,
    }
}

record! {
    BulletinRow {
        id: i64, case_id: i64, seq: i64, published_on: NaiveDate, content: String,
        created_at: DateTime<Utc>,
    }
}

record! {
    /// An evidence photo's reference (its bytes are fetched from the application).
    PhotoRef { id: i64, record_kind: String, record_id: i64, sha256: String, mime: String }
}

/// `select` (ending in `WHERE `) for the rows whose `col` is one of `ids`.
async fn rows<T: FromRow + Send>(
    e: &mut impl Exec,
    select: &str,
    col: &str,
    ids: &[i64],
) -> Result<Vec<T>, StoreError> {
    let mut sql = Sql::new(select);
    crate::push_in(&mut sql, col, ids);
    e.fetch_all(sql).await
}

pub async fn cases(e: &mut impl Exec, ids: &[i64]) -> Result<Vec<CaseRow>, StoreError> {
    rows(e, "SELECT c.id, c.public_code, c.title, c.category, c.level, c.step, c.stop_reason, c.org_id, o.path AS org_path, c.created_at, c.updated_at, c.finished_at FROM cases c JOIN orgs o ON o.id = c.org_id WHERE ", "c.id", ids).await
}

pub async fn meetings(e: &mut impl Exec, ids: &[i64]) -> Result<Vec<MeetingRow>, StoreError> {
    rows(e, "SELECT m.id, m.case_id, m.held_on, m.start_time, m.place, m.chair_name, m.status, m.resolution, m.votes_for, m.votes_against, m.votes_abstain, m.filing_number, m.filed_at, m.updated_at, (SELECT f.code FROM fingerprints f WHERE f.kind = 'resolution' AND f.record_id = m.id) AS fingerprint FROM meetings m WHERE ", "m.id", ids).await
}

pub async fn notices(e: &mut impl Exec, ids: &[i64]) -> Result<Vec<NoticeRow>, StoreError> {
    rows(e, "SELECT n.id, n.case_id, n.version, n.published_on, n.starts_on, n.ends_on, n.working_days, n.provisional, n.content, n.created_at, (SELECT f.code FROM fingerprints f WHERE f.kind = 'notice' AND f.record_id = n.id) AS fingerprint FROM notices n WHERE ", "n.id", ids).await
}

pub async fn ledger_items(e: &mut impl Exec, ids: &[i64]) -> Result<Vec<LedgerRow>, StoreError> {
    rows(e, "SELECT id, case_id, title, owner_name, unit_name, due_on, status, evidence, closed_at, confirmed_at, created_at FROM ledger_items WHERE ", "id", ids).await
}

pub async fn inspections(e: &mut impl Exec, ids: &[i64]) -> Result<Vec<InspectionRow>, StoreError> {
    rows(e, "SELECT id, case_id, inspected_on, inspectors, progress, quality, deadline, created_at FROM inspections WHERE ", "id", ids).await
}

pub async fn bulletins(e: &mut impl Exec, ids: &[i64]) -> Result<Vec<BulletinRow>, StoreError> {
    rows(
        e,
        "SELECT id, case_id, seq, published_on, content, created_at FROM bulletins WHERE ",
        "id",
        ids,
    )
    .await
}

/// The evidence photos of some ledger items or inspections.
pub async fn photos(
    e: &mut impl Exec,
    record_kind: &str,
    ids: &[i64],
) -> Result<Vec<PhotoRef>, StoreError> {
    let mut sql = Sql::new(
        "SELECT id, record_kind, record_id, sha256, mime FROM case_photos WHERE record_kind = ",
    );
    sql.arg(record_kind).push(" AND ");
    crate::push_in(&mut sql, "record_id", ids);
    sql.push(" ORDER BY id");
    e.fetch_all(sql).await
}

// ---- inbound: matters from partner systems ----

/// The topic a partner's item became, with its tracking code, if it came before.
pub async fn partner_topic(
    e: &mut impl Exec,
    partner: &str,
    partner_ref: &str,
) -> Result<Option<String>, StoreError> {
    e.fetch_optional(Sql::with(
        "SELECT t.tracking_code FROM partner_topics p JOIN topics t ON t.id = p.topic_id WHERE p.partner = $1 AND p.partner_ref = $2",
        args![partner, partner_ref],
    ))
    .await
}

/// Remembers which topic a partner's item became; false when another request stored the same
/// item first (nothing written then).
pub async fn remember_partner_topic(
    e: &mut impl Exec,
    partner: &str,
    partner_ref: &str,
    topic_id: i64,
) -> Result<bool, StoreError> {
    let stored: Option<String> = e
        .fetch_optional(Sql::with(
            "INSERT INTO partner_topics (partner, partner_ref, topic_id, received_at) VALUES ($1, $2, $3, $4) ON CONFLICT (partner, partner_ref) DO NOTHING RETURNING partner",
            args![partner, partner_ref, topic_id, crate::now()],
        ))
        .await?;
    Ok(stored.is_some())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Inbound {
    pub id: i64,
    pub partner: String,
    pub at: DateTime<Utc>,
    pub batch: Option<String>,
    /// accepted or refused
    pub outcome: String,
    pub reason: Option<String>,
    pub created: i64,
    pub duplicates: i64,
    pub refused: i64,
    /// The refused items: JSON list of {ref, reason}.
    pub detail: Option<String>,
}

impl FromRow for Inbound {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Inbound {
            id: r.get("id")?,
            partner: r.get("partner")?,
            at: r.get("at")?,
            batch: r.get("batch")?,
            outcome: r.get("outcome")?,
            reason: r.get("reason")?,
            created: r.get("created")?,
            duplicates: r.get("duplicates")?,
            refused: r.get("refused")?,
            detail: r.get("detail")?,
        })
    }
}

/// What became of one request from a partner.
#[derive(Debug, Clone, Default)]
pub struct InboundRecord<'a> {
    pub partner: &'a str,
    pub batch: Option<&'a str>,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub created: i64,
    pub duplicates: i64,
    pub refused: i64,
    pub detail: Option<String>,
}

pub async fn record_inbound(e: &mut impl Exec, r: &InboundRecord<'_>) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "INSERT INTO exchange_inbound (partner, at, batch, outcome, reason, created, duplicates, refused, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![r.partner, crate::now(), r.batch, r.outcome, r.reason, r.created, r.duplicates, r.refused, r.detail.clone()],
    ))
    .await?;
    Ok(())
}

pub async fn recent_inbound(e: &mut impl Exec, limit: i64) -> Result<Vec<Inbound>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT id, partner, at, batch, outcome, reason, created, duplicates, refused, detail FROM exchange_inbound ORDER BY id DESC LIMIT $1",
        args![limit],
    ))
    .await
}
