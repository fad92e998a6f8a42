//! Audit records: who changed what, with the state before and after, written in the same
//! transaction as the change (ENGINEERING.md "Security"), each chained to the one before it
//! (issue 6): entry `n` carries `seq = n`, the hash of entry `n − 1` and its own hash, an
//! HMAC-SM3 under the deployment's audit key over every field. `audit_chain_head` holds the
//! last sequence number and hash; a writer locks it (an UPDATE that changes nothing, so it
//! works on both backends) for the rest of its transaction, so concurrent writers queue instead
//! of forking the chain. `verify` walks the chain and names the first entry altered, deleted
//! or inserted behind the application's back.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use hmac::{KeyInit, Mac};

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args};

/// HMAC-SM3, the keyed hash of the chain and of the personal-data index (`pii`).
pub(crate) type HmacSm3 = hmac::Hmac<sm3::Sm3>;

static KEY: RwLock<Option<Arc<Vec<u8>>>> = RwLock::new(None);

/// The key of the chain's HMAC, from the configuration (never stored in the database). Set
/// once at start-up; a test process sets the tests' key through `testing`.
pub fn set_key(key: &[u8]) {
    if let Ok(mut k) = KEY.write() {
        *k = Some(Arc::new(key.to_vec()));
    }
}

fn key() -> Result<Arc<Vec<u8>>, StoreError> {
    KEY.read()
        .ok()
        .and_then(|k| k.clone())
        .ok_or_else(|| StoreError::Config("the audit key is not set (audit_key)".into()))
}

/// HMAC-SM3 of `bytes` under the audit key, as lower-case hex (a backup's manifest).
pub fn sign(bytes: &[u8]) -> Result<String, StoreError> {
    let mut mac = HmacSm3::new_from_slice(&key()?).expect("HMAC takes a key of any length");
    mac.update(bytes);
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// Whether `signature` is `sign(bytes)`, compared in constant time.
pub fn verify_signature(bytes: &[u8], signature: &str) -> Result<bool, StoreError> {
    let Ok(expected) = hex::decode(signature.trim()) else {
        return Ok(false);
    };
    let mut mac = HmacSm3::new_from_slice(&key()?).expect("HMAC takes a key of any length");
    mac.update(bytes);
    Ok(mac.verify_slice(&expected).is_ok())
}

/// One entry as it is chained.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub id: i64,
    pub seq: Option<i64>,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<i64>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl FromRow for Entry {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Entry {
            id: r.get("id")?,
            seq: r.get("seq")?,
            at: r.get("at")?,
            actor_user_id: r.get("actor_user_id")?,
            action: r.get("action")?,
            object_type: r.get("object_type")?,
            object_id: r.get("object_id")?,
            before_json: r.get("before_json")?,
            after_json: r.get("after_json")?,
            prev_hash: r.get("prev_hash")?,
            hash: r.get("hash")?,
        })
    }
}

const ENTRY: &str = "SELECT id, seq, at, actor_user_id, action, object_type, object_id, before_json, after_json, prev_hash, hash FROM audit_log";

/// HMAC-SM3 over the entry's fields, each length-prefixed (absent fields marked as such), as
/// lower-case hex.
fn digest(key: &[u8], seq: i64, prev: &str, e: &Entry) -> String {
    let mut mac = HmacSm3::new_from_slice(key).expect("HMAC takes a key of any length");
    let mut put = |v: Option<&[u8]>| match v {
        None => mac.update(&[0]),
        Some(b) => {
            mac.update(&[1]);
            mac.update(&(b.len() as u64).to_be_bytes());
            mac.update(b);
        }
    };
    put(Some(b"roundtable-audit-v1"));
    put(Some(seq.to_string().as_bytes()));
    put(Some(prev.as_bytes()));
    put(Some(
        e.at.to_rfc3339_opts(SecondsFormat::Micros, true).as_bytes(),
    ));
    put(e
        .actor_user_id
        .map(|v| v.to_string())
        .as_deref()
        .map(str::as_bytes));
    put(Some(e.action.as_bytes()));
    put(Some(e.object_type.as_bytes()));
    put(e
        .object_id
        .map(|v| v.to_string())
        .as_deref()
        .map(str::as_bytes));
    put(e.before_json.as_deref().map(str::as_bytes));
    put(e.after_json.as_deref().map(str::as_bytes));
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone)]
struct Head {
    seq: i64,
    hash: String,
}

impl FromRow for Head {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Head {
            seq: r.get("seq")?,
            hash: r.get("hash")?,
        })
    }
}

/// The head, locked until the caller's transaction ends (PostgreSQL waits here for another
/// writer's commit; SQLite's writers are serialised already).
async fn lock_head(e: &mut impl Exec) -> Result<Head, StoreError> {
    e.fetch_one(Sql::new(
        "UPDATE audit_chain_head SET seq = seq WHERE id = 1 RETURNING seq, hash",
    ))
    .await
}

pub async fn record(
    e: &mut impl Exec,
    actor_user_id: Option<i64>,
    action: &str,
    object_type: &str,
    object_id: Option<i64>,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<(), StoreError> {
    let key = key()?;
    // Stored as read back: both backends keep microseconds.
    let mut entry = Entry {
        id: 0,
        seq: None,
        at: crate::now().trunc_subsecs(6),
        actor_user_id,
        action: action.to_string(),
        object_type: object_type.to_string(),
        object_id,
        before_json: before.map(|v| v.to_string()),
        after_json: after.map(|v| v.to_string()),
        prev_hash: None,
        hash: None,
    };
    // Outside a transaction the lock ends with its statement: the compare-and-set below then
    // keeps two writers from taking one number (the loser reads the head again).
    let (seq, prev, hash) = loop {
        let head = lock_head(e).await?;
        let seq = head.seq + 1;
        let hash = digest(&key, seq, &head.hash, &entry);
        let moved = e
            .execute(Sql::with(
                "UPDATE audit_chain_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3",
                args![seq, &hash, head.seq],
            ))
            .await?;
        if moved == 1 {
            break (seq, head.hash, hash);
        }
    };
    entry.seq = Some(seq);
    e.execute(Sql::with(
        "INSERT INTO audit_log (at, actor_user_id, action, object_type, object_id, before_json, after_json, seq, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            entry.at,
            entry.actor_user_id,
            &entry.action,
            &entry.object_type,
            entry.object_id,
            entry.before_json.clone(),
            entry.after_json.clone(),
            seq,
            prev,
            hash
        ],
    ))
    .await?;
    // The exchange follows the audit record (issue 7): every audited change of an exchanged
    // record is queued for other systems in the same transaction.
    if let (Some(kind), Some(id)) = (
        roundtable_core::exchange::kind_of_audit(object_type),
        object_id,
    ) {
        crate::exchange::queue_audited(e, kind, id).await?;
    }
    Ok(())
}

pub async fn count_for(
    e: &mut impl Exec,
    object_type: &str,
    object_id: i64,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "SELECT COUNT(*) FROM audit_log WHERE object_type = $1 AND object_id = $2",
        args![object_type, object_id],
    ))
    .await
}

/// What is wrong with the chain, at its first problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tampering {
    /// An entry's fields no longer match its hash.
    Altered,
    /// Entries are missing before this one (or after the last, against the head).
    Deleted,
    /// An entry that the chain never wrote (no place in it, or beyond its head).
    Inserted,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub kind: Tampering,
    /// The row (audit_log.id) where the problem shows.
    pub id: Option<i64>,
    pub seq: Option<i64>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    /// Entries checked.
    pub entries: i64,
    /// The head's last sequence number.
    pub head_seq: i64,
    pub first_problem: Option<Finding>,
}

fn missing(first: i64, last: i64) -> String {
    if first == last {
        format!("第 {first} 号审计记录缺失（被删除）")
    } else {
        format!("第 {first}–{last} 号审计记录缺失（被删除）")
    }
}

/// Walks the whole chain in order (pages of 5,000 rows) and reports the first entry altered,
/// deleted or inserted.
pub async fn verify(e: &mut impl Exec) -> Result<Verification, StoreError> {
    let key = key()?;
    let head: Head = e
        .fetch_one(Sql::new(
            "SELECT seq, hash FROM audit_chain_head WHERE id = 1",
        ))
        .await?;
    let outside: Option<Entry> = e
        .fetch_optional(Sql::new(&format!(
            "{ENTRY} WHERE seq IS NULL ORDER BY id LIMIT 1"
        )))
        .await?;
    let found = |kind, en: &Entry, message: String| Finding {
        kind,
        id: Some(en.id),
        seq: en.seq,
        message,
    };
    let mut report = Verification {
        entries: 0,
        head_seq: head.seq,
        first_problem: None,
    };
    if let Some(en) = outside {
        report.first_problem = Some(found(
            Tampering::Inserted,
            &en,
            format!("第 {} 行审计记录不在审计链上（绕过系统直接写入）", en.id),
        ));
        return Ok(report);
    }
    let (mut expected, mut prev) = (1i64, String::new());
    loop {
        let page: Vec<Entry> = e
            .fetch_all(Sql::with(
                &format!("{ENTRY} WHERE seq >= $1 ORDER BY seq LIMIT 5000"),
                args![expected],
            ))
            .await?;
        if page.is_empty() {
            break;
        }
        for en in &page {
            let seq = en.seq.unwrap_or_default();
            let problem = if seq > head.seq {
                Some((
                    Tampering::Inserted,
                    format!("第 {seq} 号审计记录在审计链的末端（{}）之后", head.seq),
                ))
            } else if seq != expected {
                Some((Tampering::Deleted, missing(expected, seq - 1)))
            } else if en.prev_hash.as_deref() != Some(prev.as_str()) {
                Some((
                    Tampering::Inserted,
                    format!("第 {seq} 号审计记录与前一条记录衔接不上"),
                ))
            } else if en.hash.as_deref() != Some(digest(&key, seq, &prev, en).as_str()) {
                Some((
                    Tampering::Altered,
                    format!("第 {seq} 号审计记录的内容与其校验值不符（被篡改）"),
                ))
            } else {
                None
            };
            if let Some((kind, message)) = problem {
                report.first_problem = Some(found(kind, en, message));
                return Ok(report);
            }
            report.entries += 1;
            prev = en.hash.clone().unwrap_or_default();
            expected = seq + 1;
        }
        if page.len() < 5000 {
            break;
        }
    }
    if expected - 1 < head.seq {
        report.first_problem = Some(Finding {
            kind: Tampering::Deleted,
            id: None,
            seq: Some(expected),
            message: missing(expected, head.seq),
        });
    } else if head.seq > 0 && prev != head.hash {
        report.first_problem = Some(Finding {
            kind: Tampering::Altered,
            id: None,
            seq: Some(head.seq),
            message: "审计链末端的校验值与最后一条记录不符".into(),
        });
    }
    Ok(report)
}

/// Whether the configured key is the one the chain was written with: the last entry's hash
/// recomputed (start-up refuses a wrong key rather than fork the chain).
pub async fn key_matches(e: &mut impl Exec) -> Result<bool, StoreError> {
    let key = key()?;
    let last: Option<Entry> = e
        .fetch_optional(Sql::new(&format!(
            "{ENTRY} WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
        )))
        .await?;
    Ok(match last {
        None => true,
        Some(en) => {
            let seq = en.seq.unwrap_or_default();
            en.hash.as_deref()
                == Some(digest(&key, seq, en.prev_hash.as_deref().unwrap_or(""), &en).as_str())
        }
    })
}

/// Chains the entries written before the chain existed (an upgraded deployment), once: only
/// while the chain is empty. Later rows without a place are what `verify` reports.
pub async fn seal_unchained(e: &mut impl Exec) -> Result<i64, StoreError> {
    let key = key()?;
    let head = lock_head(e).await?;
    if head.seq > 0 {
        return Ok(0);
    }
    let rows: Vec<Entry> = e
        .fetch_all(Sql::new(&format!("{ENTRY} WHERE seq IS NULL ORDER BY id")))
        .await?;
    let (mut seq, mut prev) = (0i64, String::new());
    for mut en in rows {
        seq += 1;
        // The hash covers what is stored: the time as the database gives it back.
        en.at = en.at.trunc_subsecs(6);
        let hash = digest(&key, seq, &prev, &en);
        e.execute(Sql::with(
            "UPDATE audit_log SET seq = $1, prev_hash = $2, hash = $3, at = $4 WHERE id = $5",
            args![seq, &prev, &hash, en.at, en.id],
        ))
        .await?;
        prev = hash;
    }
    e.execute(Sql::with(
        "UPDATE audit_chain_head SET seq = $1, hash = $2 WHERE id = 1",
        args![seq, &prev],
    ))
    .await?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            id: 1,
            seq: Some(1),
            at: "2026-12-02T08:00:00.123456Z".parse().unwrap(),
            actor_user_id: Some(3),
            action: "notice.publish".into(),
            object_type: "case".into(),
            object_id: Some(7),
            before_json: None,
            after_json: Some("{\"v\":1}".into()),
            prev_hash: Some(String::new()),
            hash: None,
        }
    }

    #[test]
    fn the_hash_covers_every_field_and_the_key() {
        let base = digest(b"k", 1, "", &entry());
        assert_eq!(base.len(), 64, "SM3: 256 bits");
        assert_eq!(base, digest(b"k", 1, "", &entry()));
        assert_ne!(base, digest(b"other", 1, "", &entry()));
        assert_ne!(base, digest(b"k", 2, "", &entry()));
        assert_ne!(base, digest(b"k", 1, "ab", &entry()));
        let mut e = entry();
        e.after_json = Some("{\"v\":2}".into());
        assert_ne!(base, digest(b"k", 1, "", &e));
        // An absent field differs from an empty one.
        let mut e = entry();
        e.before_json = Some(String::new());
        assert_ne!(base, digest(b"k", 1, "", &e));
        let mut e = entry();
        e.actor_user_id = None;
        assert_ne!(base, digest(b"k", 1, "", &e));
    }
}

/// What the audit administrator searches by (issue 6 item 2).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor_user_id: Option<i64>,
    /// The start of the action (`notice.` for every notice action).
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// An entry with its author's account name, for the audit page.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub seq: Option<i64>,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<i64>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub hash: Option<String>,
}

impl FromRow for AuditRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(AuditRow {
            seq: r.get("seq")?,
            at: r.get("at")?,
            actor_user_id: r.get("actor_user_id")?,
            actor: r.get("actor")?,
            action: r.get("action")?,
            object_type: r.get("object_type")?,
            object_id: r.get("object_id")?,
            before_json: r.get("before_json")?,
            after_json: r.get("after_json")?,
            hash: r.get("hash")?,
        })
    }
}

/// The newest entries matching `f` first; `limit` rows after skipping `offset`.
pub async fn search(
    e: &mut impl Exec,
    f: &AuditFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut sql = Sql::new(
        "SELECT a.seq, a.at, a.actor_user_id, u.username AS actor, a.action, a.object_type, a.object_id, a.before_json, a.after_json, a.hash FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id WHERE 1=1",
    );
    if let Some(u) = f.actor_user_id {
        sql.push(" AND a.actor_user_id = ").arg(u);
    }
    if let Some(a) = &f.action {
        sql.push(" AND a.action LIKE ").arg(format!("{a}%"));
    }
    if let Some(t) = &f.object_type {
        sql.push(" AND a.object_type = ").arg(t);
    }
    if let Some(id) = f.object_id {
        sql.push(" AND a.object_id = ").arg(id);
    }
    if let Some(t) = f.from {
        sql.push(" AND a.at >= ").arg(t);
    }
    if let Some(t) = f.to {
        sql.push(" AND a.at < ").arg(t);
    }
    sql.push(" ORDER BY a.at DESC, a.id DESC LIMIT ")
        .arg(limit)
        .push(" OFFSET ")
        .arg(offset);
    e.fetch_all(sql).await
}
