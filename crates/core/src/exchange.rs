//! The exchange with other systems (R-PROC-6, R-INT-1; issue 7): which records are exchanged,
//! which recorded change queues which record, the format's version, what a delivery target is,
//! how deliveries are retried, and what makes a signed request fresh. No I/O: the store keeps
//! the queue, the web crate sends and receives.

use chrono::{DateTime, Duration, Utc};

use crate::validate::FieldErrors;

/// The format's name, sent with every batch and file.
pub const FORMAT: &str = "roundtable-exchange";
/// The version a change that breaks the format bumps (docs/exchange-format.md).
pub const VERSION: u32 = 1;
/// The versions served: during a transition the previous one as well.
pub const SUPPORTED_VERSIONS: &[u32] = &[1];

crate::domain_enum! {
    /// A kind of exchanged record. Each is sent whole, as it stands when sent: a receiver keeps
    /// the latest by `id` (and drops a `change` it has seen).
    RecordKind {
        Case = ("case", "案例"),
        Meeting = ("meeting", "圆桌会议"),
        Notice = ("notice", "项目公示"),
        LedgerItem = ("ledger_item", "台帐事项"),
        Inspection = ("inspection", "监督检查"),
        Bulletin = ("bulletin", "项目通报"),
    }
}

crate::domain_enum! {
    /// A batch's life: pending (being sent or retried), sent (confirmed by the receiver), dead
    /// (given up on after the last attempt; an administrator may replay it).
    BatchStatus {
        Pending = ("pending", "发送中"),
        Sent = ("sent", "已送达"),
        Dead = ("dead", "未送达"),
    }
}

/// The record a recorded change touches, read off its audit entry (every decision-bearing
/// change is audited in its transaction, so the queue misses none). `None`: not exchanged.
pub fn kind_of_audit(object_type: &str) -> Option<RecordKind> {
    Some(match object_type {
        "case" => RecordKind::Case,
        "meeting" => RecordKind::Meeting,
        "notice" => RecordKind::Notice,
        "ledger_item" => RecordKind::LedgerItem,
        "inspection" => RecordKind::Inspection,
        "bulletin" => RecordKind::Bulletin,
        _ => return None,
    })
}

/// Attempts of one batch before it goes to the dead letters (about a day and a half of
/// retries with `backoff`).
pub const MAX_ATTEMPTS: u32 = 16;

/// The first wait after a failed attempt, by default.
pub const FIRST_RETRY_SECONDS: i64 = 30;

/// The wait after the `attempt`-th failed attempt (1-based): `first` seconds doubling each
/// time, at most 6 hours.
pub fn backoff(first: i64, attempt: u32) -> Duration {
    let doubled = first
        .max(1)
        .saturating_mul(1i64 << attempt.saturating_sub(1).min(20));
    Duration::seconds(doubled.min(6 * 3600))
}

/// How far a signed request's timestamp may be from the receiver's clock (replay window).
pub const FRESH_SECONDS: i64 = 300;

pub fn timestamp_is_fresh(timestamp: i64, now: DateTime<Utc>) -> bool {
    (now.timestamp() - timestamp).abs() <= FRESH_SECONDS
}

/// What the signature covers: the timestamp header and the body, so neither can be replayed
/// with the other.
pub fn signed_bytes(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut v = format!("{timestamp}.").into_bytes();
    v.extend_from_slice(body);
    v
}

/// The key a receiver drops a re-sent batch by: the same range of changes to the same target
/// always has the same key.
pub fn batch_key(target_id: i64, after_seq: i64, last_seq: i64) -> String {
    format!("rt-{target_id}-{after_seq}-{last_seq}")
}

/// A delivery target as an administrator typed it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TargetInput {
    pub name: String,
    pub endpoint: String,
    /// Codes of record kinds (form: several fields of one name; API: a list).
    #[serde(default)]
    pub kinds: Vec<String>,
    pub secret: Option<String>,
    #[serde(default)]
    pub enabled: Option<String>,
}

/// A checked target (the subtree is checked by the caller against the tree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub name: String,
    pub endpoint: String,
    pub kinds: Vec<RecordKind>,
    /// `None`: keep the stored secret (an edit that does not change it).
    pub secret: Option<String>,
    pub enabled: bool,
}

/// A signing secret is at least this long (it is typed into the receiving platform too).
pub const MIN_SECRET_CHARS: usize = 16;

/// Checks a target: a name, an `http://` or `https://` address with a host, at least one kind,
/// and a secret of `MIN_SECRET_CHARS` unless `secret_stored` (an edit may keep it).
pub fn check_target(input: &TargetInput, secret_stored: bool) -> Result<TargetSpec, FieldErrors> {
    let mut e = FieldErrors::new();
    let name = input.name.trim();
    if name.is_empty() {
        e.add("name", "请填写目标名称");
    } else if name.chars().count() > 60 {
        e.add("name", "目标名称不能超过 60 个字");
    }
    let endpoint = input.endpoint.trim();
    if let Err(why) = check_endpoint(endpoint) {
        e.add("endpoint", why);
    }
    let mut kinds = Vec::new();
    for k in &input.kinds {
        match RecordKind::parse(k) {
            Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
            Some(_) => {}
            None => e.add("kinds", format!("未知的记录类型“{}”", k.trim())),
        }
    }
    if input.kinds.is_empty() {
        e.add("kinds", "请至少选择一种记录类型");
    }
    kinds.sort();
    let secret = input
        .secret
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match secret {
        Some(s) if s.chars().count() < MIN_SECRET_CHARS => {
            e.add("secret", format!("签名密钥至少 {MIN_SECRET_CHARS} 个字符"))
        }
        None if !secret_stored => e.add("secret", "请填写签名密钥（接收方用它验证签名）"),
        _ => {}
    }
    e.into_result()?;
    Ok(TargetSpec {
        name: name.to_string(),
        endpoint: endpoint.to_string(),
        kinds,
        secret: secret.map(str::to_string),
        enabled: !matches!(input.enabled.as_deref().map(str::trim), Some("0" | "false")),
    })
}

/// `http://host[:port]/path` or `https://…`: what the sender can reach.
fn check_endpoint(url: &str) -> Result<(), &'static str> {
    if url.is_empty() {
        return Err("请填写接收地址");
    }
    if url.len() > 500 {
        return Err("接收地址过长");
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("接收地址须以 http:// 或 https:// 开头")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || authority.starts_with('[') => {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err("接收地址的端口无效");
            }
            h
        }
        _ => authority,
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
    {
        return Err("接收地址缺少有效的主机名");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("接收地址不能含空白字符");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(endpoint: &str, kinds: &[&str], secret: Option<&str>) -> TargetInput {
        TargetInput {
            name: "网络党建云平台".into(),
            endpoint: endpoint.into(),
            kinds: kinds.iter().map(|s| s.to_string()).collect(),
            secret: secret.map(str::to_string),
            enabled: None,
        }
    }

    #[test]
    fn audited_objects_queue_their_records_r_proc_6() {
        assert_eq!(kind_of_audit("ledger_item"), Some(RecordKind::LedgerItem));
        assert_eq!(kind_of_audit("case"), Some(RecordKind::Case));
        assert_eq!(kind_of_audit("meeting"), Some(RecordKind::Meeting));
        assert_eq!(kind_of_audit("user"), None);
        assert_eq!(kind_of_audit("case_visit"), None);
        for k in RecordKind::ALL {
            assert_eq!(
                kind_of_audit(k.code()),
                Some(*k),
                "every kind is queued by its own object"
            );
        }
    }

    #[test]
    fn backoff_doubles_and_stops_at_six_hours() {
        let backoff = |a| backoff(FIRST_RETRY_SECONDS, a);
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(11), Duration::hours(6));
        assert_eq!(backoff(u32::MAX), Duration::hours(6));
        assert_eq!(
            super::backoff(0, 1),
            Duration::seconds(1),
            "never a busy loop"
        );
        let total: i64 = (1..MAX_ATTEMPTS).map(|a| backoff(a).num_seconds()).sum();
        assert!(total > 24 * 3600 && total < 48 * 3600, "{total}");
    }

    #[test]
    fn a_timestamp_is_fresh_for_five_minutes_either_way() {
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        assert!(timestamp_is_fresh(1_780_000_000 - 300, now));
        assert!(timestamp_is_fresh(1_780_000_000 + 300, now));
        assert!(!timestamp_is_fresh(1_780_000_000 - 301, now));
        assert!(!timestamp_is_fresh(0, now));
    }

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        assert_eq!(signed_bytes(17, b"{}"), b"17.{}".to_vec());
        assert_ne!(signed_bytes(17, b"1{}"), signed_bytes(171, b"{}"));
        assert_eq!(batch_key(3, 10, 25), "rt-3-10-25");
    }

    #[test]
    fn targets_are_checked_field_by_field() {
        let ok = check_target(
            &input(
                "https://djy.example.cn:8443/api/roundtable",
                &["ledger_item", "案例"],
                Some("0123456789abcdef"),
            ),
            false,
        )
        .unwrap();
        assert_eq!(ok.kinds, vec![RecordKind::Case, RecordKind::LedgerItem]);
        assert!(ok.enabled);
        assert!(check_target(&input("http://127.0.0.1:9000/in", &["case"], None), true).is_ok());

        let fields = |r: Result<TargetSpec, FieldErrors>| -> Vec<String> {
            r.unwrap_err().0.into_keys().collect()
        };
        assert_eq!(
            fields(check_target(
                &input("ftp://x/", &["case"], Some("0123456789abcdef")),
                false
            )),
            ["endpoint"]
        );
        for bad in [
            "http://",
            "https://:80/",
            "http://host:0/",
            "http://host:99999/",
            "http://ho st/",
            "djy.example.cn/in",
        ] {
            assert_eq!(
                fields(check_target(
                    &input(bad, &["case"], Some("0123456789abcdef")),
                    false
                )),
                ["endpoint"],
                "{bad}"
            );
        }
        assert_eq!(
            fields(check_target(
                &input("http://h/", &[], Some("0123456789abcdef")),
                false
            )),
            ["kinds"]
        );
        assert_eq!(
            fields(check_target(
                &input("http://h/", &["votes"], Some("0123456789abcdef")),
                false
            )),
            ["kinds"]
        );
        assert_eq!(
            fields(check_target(
                &input("http://h/", &["case"], Some("short")),
                true
            )),
            ["secret"]
        );
        assert_eq!(
            fields(check_target(&input("http://h/", &["case"], None), false)),
            ["secret"]
        );
    }
}
