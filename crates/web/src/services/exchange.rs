//! Delivery to other systems (issue 7, R-PROC-6, R-INT-1): the exchange format's records
//! (docs/exchange-format.md), the targets an administrator sets up (on the page or in the
//! configuration file), the sender that runs inside `serve` — batches of queued changes,
//! signed with HMAC-SM3, retried with backoff, dead letters after the last attempt and their
//! replay — and each record's delivery state for the case page. No user's request waits on a
//! delivery: the queue is written in the change's transaction and read by the sender.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration as StdDuration;

use chrono::{DateTime, SecondsFormat, Utc};
use roundtable_core::access::{Action, Actor, ResourceKind};
use roundtable_core::exchange::{
    self as core, FORMAT, MAX_ATTEMPTS, RecordKind, TargetInput, VERSION,
};
use roundtable_store::exchange::{self as store, Batch, Change, Target, TargetFields};
use roundtable_store::{Db, Exec};
use serde_json::{Value, json};

use super::{audit_event, require_somewhere};
use crate::AppState;
use crate::error::AppError;

/// How the sender works (configuration: `exchange_*`).
#[derive(Debug, Clone)]
pub struct ExchangeConfig {
    /// The first wait after a failed attempt, doubling (`core::backoff`).
    pub first_retry_seconds: i64,
    /// Changes per batch.
    pub batch_size: i64,
    /// How long a receiver has to answer.
    pub timeout: StdDuration,
    /// Targets of the configuration file, written at start-up.
    pub targets: Vec<ConfigTarget>,
    /// Partner systems that may send matters (`services::inbound`).
    pub partners: Vec<super::inbound::ConfigPartner>,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        ExchangeConfig {
            first_retry_seconds: core::FIRST_RETRY_SECONDS,
            batch_size: 500,
            timeout: StdDuration::from_secs(10),
            targets: Vec::new(),
            partners: Vec::new(),
        }
    }
}

/// A `[[exchange_targets]]` table of the configuration file.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigTarget {
    pub name: String,
    pub endpoint: String,
    pub kinds: Vec<String>,
    /// The code of the subtree's root (none: everything).
    #[serde(default)]
    pub org_code: Option<String>,
    #[serde(skip_serializing)]
    pub secret: String,
    #[serde(default)]
    pub enabled: Option<bool>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn time_opt(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| Value::String(time(t)))
}

fn coded<T: Copy>(
    code: &str,
    parse: impl Fn(&str) -> Option<T>,
    label: impl Fn(T) -> &'static str,
) -> Value {
    json!({"code": code, "label": parse(code).map(label).unwrap_or(code)})
}

/// The records of some changes in the exchange format, one per record (the latest change of
/// each), in the order of their changes. Read in one query per kind.
pub async fn records(e: &mut impl Exec, changes: &[Change]) -> Result<Vec<Value>, AppError> {
    use roundtable_core::{cases::Step, project::LedgerStatus, topics};
    let mut latest: BTreeMap<(RecordKind, i64), &Change> = BTreeMap::new();
    for c in changes {
        latest.insert((c.kind, c.record_id), c);
    }
    let ids = |kind: RecordKind| -> Vec<i64> {
        latest
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, id)| *id)
            .collect()
    };
    let mut data: HashMap<(RecordKind, i64), Value> = HashMap::new();
    let mut case_orgs: HashMap<i64, (i64, String)> = HashMap::new();

    let case_ids: Vec<i64> = {
        let mut v: Vec<i64> = latest.values().map(|c| c.case_id).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    for c in store::cases(e, &case_ids).await? {
        case_orgs.insert(c.id, (c.org_id, c.org_path.clone()));
        if latest.contains_key(&(RecordKind::Case, c.id)) {
            data.insert(
                (RecordKind::Case, c.id),
                json!({
                    "public_code": c.public_code,
                    "title": c.title,
                    "category": coded(&c.category, topics::Category::parse, topics::Category::label),
                    "level": coded(&c.level, topics::Level::parse, topics::Level::label),
                    "step": coded(&c.step, Step::parse, Step::label),
                    "stop_reason": c.stop_reason,
                    "created_at": time(c.created_at),
                    "updated_at": time(c.updated_at),
                    "finished_at": time_opt(c.finished_at),
                }),
            );
        }
    }
    for m in store::meetings(e, &ids(RecordKind::Meeting)).await? {
        data.insert(
            (RecordKind::Meeting, m.id),
            json!({
                "held_on": m.held_on, "start_time": m.start_time, "place": m.place,
                "chair_name": m.chair_name, "status": m.status, "resolution": m.resolution,
                "votes": {"for": m.votes_for, "against": m.votes_against, "abstain": m.votes_abstain},
                "filing_number": m.filing_number, "filed_at": time_opt(m.filed_at),
                "fingerprint": m.fingerprint, "updated_at": time(m.updated_at),
            }),
        );
    }
    for n in store::notices(e, &ids(RecordKind::Notice)).await? {
        let content: Value = serde_json::from_str(&n.content).unwrap_or(Value::String(n.content));
        data.insert(
            (RecordKind::Notice, n.id),
            json!({
                "version": n.version, "published_on": n.published_on, "starts_on": n.starts_on,
                "ends_on": n.ends_on, "working_days": n.working_days, "provisional": n.provisional,
                "content": content, "fingerprint": n.fingerprint, "published_at": time(n.created_at),
            }),
        );
    }
    let photos = |list: Vec<store::PhotoRef>| -> HashMap<i64, Vec<Value>> {
        let mut by: HashMap<i64, Vec<Value>> = HashMap::new();
        for p in list {
            by.entry(p.record_id)
                .or_default()
                .push(json!({"id": p.id, "sha256": p.sha256, "mime": p.mime}));
        }
        by
    };
    let ledger_ids = ids(RecordKind::LedgerItem);
    let mut ledger_photos = photos(store::photos(e, "ledger_item", &ledger_ids).await?);
    for l in store::ledger_items(e, &ledger_ids).await? {
        data.insert(
            (RecordKind::LedgerItem, l.id),
            json!({
                "title": l.title, "owner_name": l.owner_name, "unit_name": l.unit_name,
                "due_on": l.due_on,
                "status": coded(&l.status, LedgerStatus::parse, LedgerStatus::label),
                "ticked_off": l.status != "open",
                "evidence": l.evidence,
                "evidence_photos": ledger_photos.remove(&l.id).unwrap_or_default(),
                "closed_at": time_opt(l.closed_at), "confirmed_at": time_opt(l.confirmed_at),
                "created_at": time(l.created_at),
            }),
        );
    }
    let inspection_ids = ids(RecordKind::Inspection);
    let mut inspection_photos = photos(store::photos(e, "inspection", &inspection_ids).await?);
    for i in store::inspections(e, &inspection_ids).await? {
        data.insert(
            (RecordKind::Inspection, i.id),
            json!({
                "inspected_on": i.inspected_on, "inspectors": i.inspectors, "progress": i.progress,
                "quality": i.quality, "deadline": i.deadline,
                "evidence_photos": inspection_photos.remove(&i.id).unwrap_or_default(),
                "created_at": time(i.created_at),
            }),
        );
    }
    for b in store::bulletins(e, &ids(RecordKind::Bulletin)).await? {
        data.insert(
            (RecordKind::Bulletin, b.id),
            json!({"seq": b.seq, "published_on": b.published_on, "content": b.content, "published_at": time(b.created_at)}),
        );
    }

    // The organisation path of each case, named.
    let mut node_ids: Vec<i64> = case_orgs
        .values()
        .flat_map(|(_, path)| roundtable_core::org::path_ids(path))
        .collect();
    node_ids.sort_unstable();
    node_ids.dedup();
    let nodes: HashMap<i64, roundtable_store::orgs::Org> =
        roundtable_store::orgs::by_ids(e, &node_ids)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
    let org = |case_id: i64| -> Value {
        let Some((id, path)) = case_orgs.get(&case_id) else {
            return Value::Null;
        };
        let chain: Vec<Value> = roundtable_core::org::path_ids(path)
            .into_iter()
            .filter_map(|n| nodes.get(&n))
            .map(|o| json!({"id": o.id, "code": o.code, "name": o.name, "kind": o.kind}))
            .collect();
        json!({"id": id, "path": chain})
    };

    let mut ordered: Vec<&Change> = latest.values().copied().collect();
    ordered.sort_by_key(|c| c.seq);
    Ok(ordered
        .into_iter()
        // A record gone since (none is deleted today) is left out rather than sent empty.
        .filter_map(|c| {
            let d = data.remove(&(c.kind, c.record_id))?;
            Some(json!({
                "kind": c.kind.code(),
                "id": c.record_id,
                "change": c.seq,
                "changed_at": time(c.at),
                "case_id": c.case_id,
                "org": org(c.case_id),
                "data": d,
            }))
        })
        .collect())
}

/// What a receiver gets: one JSON document per batch.
pub fn batch_body(
    target: &Target,
    batch: &Batch,
    records: &[Value],
    now: DateTime<Utc>,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "format": FORMAT,
        "version": VERSION,
        "batch": batch.batch_key,
        "target": target.name,
        "sent_at": time(now),
        "records": records,
    }))
    .unwrap_or_default()
}

/// Whether an answer confirms the batch: 2xx and `{"received": "<batch key>"}`.
fn confirmation(answer: &super::outbound::Answer, key: &str) -> Result<(), String> {
    if !answer.status.is_success() {
        let text = String::from_utf8_lossy(&answer.body);
        let text: String = text.chars().take(200).collect();
        return Err(format!("接收方返回 {}：{}", answer.status, text.trim()));
    }
    let v: Value = serde_json::from_slice(&answer.body)
        .map_err(|_| "接收方应答不是 JSON 确认（应为 {\"received\": \"批次号\"}）".to_string())?;
    match v.get("received").and_then(Value::as_str) {
        Some(k) if k == key => Ok(()),
        Some(other) => Err(format!("接收方确认的批次号“{other}”与所发“{key}”不符")),
        None => Err("接收方应答缺少 received 批次号".into()),
    }
}

/// One attempt for one target: the pending batch whose time has come, or a new one from the
/// queue after the cursor. Returns how many records were delivered (0: nothing to do, or the
/// attempt failed and was recorded).
pub async fn deliver_target(state: &AppState, target: &Target) -> Result<usize, AppError> {
    let cfg = &state.config.exchange;
    let filter = target.filter();
    let mut pool = state.db.pool();
    let now = roundtable_store::now();
    let batch = match store::pending_batch(&mut pool, target.id).await? {
        Some(b) if b.next_attempt_at > now => return Ok(0),
        Some(b) => b,
        None => {
            let changes =
                store::changes(&mut pool, &filter, target.cursor_seq, None, cfg.batch_size).await?;
            let Some(last) = changes.last() else {
                return Ok(0);
            };
            match store::open_batch(&mut pool, target, last.seq, changes.len() as i64).await? {
                Some(b) => b,
                None => return Ok(0),
            }
        }
    };
    // Leased for longer than an attempt can take: a second instance leaves it alone (after a
    // crash mid-attempt, the batch is tried again when the lease ends).
    let lease = now + chrono::Duration::seconds(cfg.timeout.as_secs() as i64 + 5);
    if !store::take_batch(&mut pool, &batch, lease).await? {
        return Ok(0);
    }
    let changes = store::changes(
        &mut pool,
        &filter,
        batch.after_seq,
        Some(batch.last_seq),
        i64::MAX / 2,
    )
    .await?;
    let records = records(&mut pool, &changes).await?;
    let secret = target.open_secret()?;
    // Transport time is the real clock (a demo's shifted day would look like a replay).
    let sent_at = Utc::now();
    let body = batch_body(target, &batch, &records, sent_at);
    let ts = sent_at.timestamp();
    let outcome = super::outbound::post(
        &target.endpoint,
        &[
            ("content-type", "application/json".into()),
            ("idempotency-key", batch.batch_key.clone()),
            ("x-roundtable-format", format!("{FORMAT}/{VERSION}")),
            ("x-roundtable-timestamp", ts.to_string()),
            (
                "x-roundtable-signature",
                format!("hmac-sm3={}", store::signature(&secret, ts, &body)),
            ),
        ],
        body.into(),
        cfg.timeout,
    )
    .await
    .and_then(|answer| confirmation(&answer, &batch.batch_key));
    match outcome {
        Ok(()) => {
            store::batch_sent(&mut pool, &batch).await?;
            Ok(records.len())
        }
        Err(reason) => {
            let attempts = batch.attempts as u32 + 1;
            let retry = (attempts < MAX_ATTEMPTS).then(|| {
                roundtable_store::now() + core::backoff(cfg.first_retry_seconds, attempts)
            });
            tracing::warn!(target = %target.name, batch = %batch.batch_key, attempts, %reason, "delivery failed");
            store::batch_failed(&mut pool, &batch, &reason, retry).await?;
            Ok(0)
        }
    }
}

/// One pass over every enabled target; the records delivered.
pub async fn deliver_due(state: &AppState) -> Result<usize, AppError> {
    let mut delivered = 0;
    for t in store::targets(&mut state.db.pool()).await? {
        if t.enabled {
            delivered += deliver_target(state, &t).await?;
        }
    }
    Ok(delivered)
}

/// The sender inside `serve`: a pass every second, at once again while there is work.
pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        loop {
            match deliver_due(&state).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "exchange deliveries"),
            }
            tokio::time::sleep(StdDuration::from_secs(1)).await;
        }
    });
}

// ---- targets, for administrators ----

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TargetView {
    #[serde(flatten)]
    pub target: Target,
    /// The subtree's name (none: everything).
    pub org_name: Option<String>,
    /// Changes queued for it and not yet delivered.
    pub waiting: i64,
    /// The batch being retried, if any: its last error.
    pub retrying: Option<Batch>,
    pub dead: i64,
    pub last_sent_at: Option<DateTime<Utc>>,
}

pub async fn targets(state: &AppState, actor: &Actor) -> Result<Vec<TargetView>, AppError> {
    require_somewhere(actor, Action::View, ResourceKind::Exchange)?;
    let mut pool = state.db.pool();
    let mut out = Vec::new();
    for t in store::targets(&mut pool).await? {
        out.push(view(&mut pool, t).await?);
    }
    Ok(out)
}

async fn view(e: &mut impl Exec, t: Target) -> Result<TargetView, AppError> {
    let waiting = store::count_after(e, &t.filter(), t.cursor_seq).await?;
    let pending = store::pending_batch(e, t.id).await?;
    let dead = store::batches(e, Some(t.id), Some("dead"), 1000)
        .await?
        .len() as i64;
    let last_sent_at = store::batches(e, Some(t.id), Some("sent"), 1)
        .await?
        .first()
        .and_then(|b| b.sent_at);
    let org_name = match t.org_id {
        Some(id) => roundtable_store::orgs::get(e, id).await?.map(|o| o.name),
        None => None,
    };
    Ok(TargetView {
        retrying: pending.filter(|b| b.last_error.is_some()),
        target: t,
        org_name,
        waiting,
        dead,
        last_sent_at,
    })
}

pub async fn target(state: &AppState, actor: &Actor, id: i64) -> Result<TargetView, AppError> {
    require_somewhere(actor, Action::View, ResourceKind::Exchange)?;
    let mut pool = state.db.pool();
    let t = store::target(&mut pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    view(&mut pool, t).await
}

/// The subtree field: an org id, or empty for everything.
fn subtree(v: Option<&str>) -> Result<Option<i64>, AppError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::field("org_id", "请选择有效的组织（或留空表示全部）")),
    }
}

async fn checked_org(e: &mut impl Exec, org_id: Option<i64>) -> Result<Option<i64>, AppError> {
    if let Some(id) = org_id
        && roundtable_store::orgs::get(e, id).await?.is_none()
    {
        return Err(AppError::field("org_id", "所选组织不存在"));
    }
    Ok(org_id)
}

/// A new target (page or API); it starts at the beginning of the queue.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: &TargetInput,
    org_id: Option<&str>,
) -> Result<i64, AppError> {
    require_somewhere(actor, Action::Edit, ResourceKind::Exchange)?;
    let spec = core::check_target(input, false).map_err(AppError::Validation)?;
    let org_id = subtree(org_id)?;
    let mut tx = state.db.begin().await?;
    let org_id = checked_org(&mut tx, org_id).await?;
    if store::target_by_name(&mut tx, &spec.name).await?.is_some() {
        return Err(AppError::field("name", "已有同名的对接目标"));
    }
    let id = store::insert_target(
        &mut tx,
        &TargetFields {
            name: &spec.name,
            endpoint: &spec.endpoint,
            kinds: &spec.kinds,
            org_id,
            secret: spec.secret.as_deref(),
            enabled: spec.enabled,
        },
        false,
    )
    .await?;
    audit_event(
        &mut tx,
        actor,
        "exchange.target_create",
        "exchange_target",
        id,
        json!({"name": spec.name, "endpoint": spec.endpoint, "kinds": spec.kinds.iter().map(|k| k.code()).collect::<Vec<_>>(), "org_id": org_id, "enabled": spec.enabled}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// An edit; an empty secret keeps the stored one. Targets of the configuration file are
/// edited there.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: i64,
    input: &TargetInput,
    org_id: Option<&str>,
) -> Result<(), AppError> {
    require_somewhere(actor, Action::Edit, ResourceKind::Exchange)?;
    let spec = core::check_target(input, true).map_err(AppError::Validation)?;
    let org_id = subtree(org_id)?;
    let mut tx = state.db.begin().await?;
    let before = store::target(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if before.from_config {
        return Err(AppError::BadRequest(
            "该目标来自配置文件，请在配置文件中修改后重启".into(),
        ));
    }
    let org_id = checked_org(&mut tx, org_id).await?;
    if let Some(other) = store::target_by_name(&mut tx, &spec.name).await?
        && other.id != id
    {
        return Err(AppError::field("name", "已有同名的对接目标"));
    }
    store::update_target(
        &mut tx,
        id,
        &TargetFields {
            name: &spec.name,
            endpoint: &spec.endpoint,
            kinds: &spec.kinds,
            org_id,
            secret: spec.secret.as_deref(),
            enabled: spec.enabled,
        },
    )
    .await?;
    audit_event(
        &mut tx,
        actor,
        "exchange.target_update",
        "exchange_target",
        id,
        json!({"name": spec.name, "endpoint": spec.endpoint, "kinds": spec.kinds.iter().map(|k| k.code()).collect::<Vec<_>>(), "org_id": org_id, "enabled": spec.enabled, "secret_changed": spec.secret.is_some()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes the configuration file's targets at start-up: new ones added, changed ones updated
/// (by name); a bad one stops the start with its name and problem.
pub async fn sync_config_targets(db: &Db, list: &[ConfigTarget]) -> Result<(), String> {
    for c in list {
        let input = TargetInput {
            name: c.name.clone(),
            endpoint: c.endpoint.clone(),
            kinds: c.kinds.clone(),
            secret: Some(c.secret.clone()),
            enabled: Some(if c.enabled.unwrap_or(true) { "1" } else { "0" }.into()),
        };
        let spec = core::check_target(&input, false)
            .map_err(|e| format!("exchange_targets “{}”: {}", c.name, e.summary()))?;
        let mut tx = db.begin().await.map_err(|e| e.to_string())?;
        let org_id = match c
            .org_code
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(code) => Some(
                roundtable_store::orgs::by_code(&mut tx, code)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| {
                        format!("exchange_targets “{}”: 没有代码为 {code} 的组织", c.name)
                    })?
                    .id,
            ),
        };
        let fields = TargetFields {
            name: &spec.name,
            endpoint: &spec.endpoint,
            kinds: &spec.kinds,
            org_id,
            secret: spec.secret.as_deref(),
            enabled: spec.enabled,
        };
        let existing = store::target_by_name(&mut tx, &spec.name)
            .await
            .map_err(|e| e.to_string())?;
        let (id, action) = match existing {
            Some(t) => {
                store::update_target(&mut tx, t.id, &fields)
                    .await
                    .map_err(|e| e.to_string())?;
                (t.id, "exchange.target_config_update")
            }
            None => (
                store::insert_target(&mut tx, &fields, true)
                    .await
                    .map_err(|e| e.to_string())?,
                "exchange.target_config_create",
            ),
        };
        roundtable_store::audit::record(
            &mut tx,
            None,
            action,
            "exchange_target",
            Some(id),
            None,
            Some(&json!({"name": spec.name, "endpoint": spec.endpoint, "via": "config"})),
        )
        .await
        .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct BatchQuery {
    pub target_id: Option<i64>,
    /// pending, sent, dead
    pub status: Option<String>,
}

pub async fn batches(
    state: &AppState,
    actor: &Actor,
    q: &BatchQuery,
) -> Result<Vec<Batch>, AppError> {
    require_somewhere(actor, Action::View, ResourceKind::Exchange)?;
    let status = match super::filled(&q.status) {
        None => None,
        Some(s @ ("pending" | "sent" | "dead")) => Some(s),
        Some(_) => return Err(AppError::field("status", "状态应为 pending、sent 或 dead")),
    };
    Ok(store::batches(&mut state.db.pool(), q.target_id, status, 200).await?)
}

/// A dead letter sent again, before anything new for its target.
pub async fn replay(state: &AppState, actor: &Actor, batch_id: i64) -> Result<Batch, AppError> {
    require_somewhere(actor, Action::Edit, ResourceKind::Exchange)?;
    let mut tx = state.db.begin().await?;
    let b = store::batch(&mut tx, batch_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !store::replay(&mut tx, batch_id).await? {
        return Err(AppError::BadRequest(format!(
            "批次 {} 不在失败列表中，无需重发",
            b.batch_key
        )));
    }
    audit_event(
        &mut tx,
        actor,
        "exchange.replay",
        "exchange_batch",
        batch_id,
        json!({"batch": b.batch_key, "target_id": b.target_id, "last_error": b.last_error}),
    )
    .await?;
    tx.commit().await?;
    store::batch(&mut state.db.pool(), batch_id)
        .await?
        .ok_or(AppError::NotFound)
}

// ---- delivery state of a case's records ----

/// 待上传 / 已上传 / 失败 of one record at one target.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeliveryState {
    pub target: String,
    /// waiting, delivered, failed (retrying: waiting with an error)
    pub state: String,
    pub label: String,
    pub at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RecordDeliveries {
    pub kind: String,
    pub kind_label: String,
    pub record_id: i64,
    pub change: i64,
    pub targets: Vec<DeliveryState>,
}

/// The delivery state of a case's records, for whoever may see the case.
pub async fn of_case(
    db: &Db,
    actor: &Actor,
    case_id: i64,
) -> Result<Vec<RecordDeliveries>, AppError> {
    let mut e = db.conn().await?;
    let c = roundtable_store::cases::get(&mut e, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    super::require(actor, Action::View, ResourceKind::Case, &c.org_path, None)?;
    case_deliveries(&mut e, case_id, &c.org_path).await
}

/// Each exchanged record of a case with its state at every target that receives it (the
/// caller has checked the case may be seen); the targets' settings are not shown.
pub async fn case_deliveries(
    e: &mut impl Exec,
    case_id: i64,
    case_path: &str,
) -> Result<Vec<RecordDeliveries>, AppError> {
    let latest = store::latest_of_case(e, case_id).await?;
    if latest.is_empty() {
        return Ok(Vec::new());
    }
    let targets: Vec<Target> = store::targets(e)
        .await?
        .into_iter()
        .filter(|t| {
            t.org_path
                .as_deref()
                .is_none_or(|p| case_path.starts_with(p))
        })
        .collect();
    let seqs: Vec<i64> = latest.iter().map(|c| c.seq).collect();
    let mut holding: HashMap<i64, Vec<Batch>> = HashMap::new();
    for t in &targets {
        holding.insert(t.id, store::batches_holding(e, t.id, &seqs).await?);
    }
    Ok(latest
        .iter()
        .map(|c| RecordDeliveries {
            kind: c.kind.code().into(),
            kind_label: c.kind.label().into(),
            record_id: c.record_id,
            change: c.seq,
            targets: targets
                .iter()
                .filter(|t| t.kinds.iter().any(|k| k == c.kind.code()))
                .map(|t| state_at(t, c, holding.get(&t.id).map_or(&[][..], Vec::as_slice)))
                .collect(),
        })
        .collect())
}

/// The state of change `c` at `t`, from the batches whose ranges hold it.
fn state_at(t: &Target, c: &Change, batches: &[Batch]) -> DeliveryState {
    let holds = |b: &&Batch| b.after_seq < c.seq && c.seq <= b.last_seq;
    let sent = batches.iter().filter(holds).rfind(|b| b.status == "sent");
    let dead = batches.iter().filter(holds).rfind(|b| b.status == "dead");
    let pending = batches.iter().filter(holds).find(|b| b.status == "pending");
    let (state, label, at, error) = if let Some(b) = sent {
        ("delivered", "已上传", b.sent_at, None)
    } else if let Some(b) = pending.filter(|b| b.last_error.is_some()) {
        (
            "failed",
            "失败（重试中）",
            Some(b.next_attempt_at),
            b.last_error.clone(),
        )
    } else if let Some(b) = dead.filter(|_| pending.is_none()) {
        (
            "failed",
            "失败",
            Some(b.next_attempt_at),
            b.last_error.clone(),
        )
    } else {
        ("waiting", "待上传", None, None)
    };
    DeliveryState {
        target: t.name.clone(),
        state: state.into(),
        label: label.into(),
        at,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(after: i64, last: i64, status: &str, error: Option<&str>) -> Batch {
        let t = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        Batch {
            id: after,
            target_id: 1,
            after_seq: after,
            last_seq: last,
            batch_key: core::batch_key(1, after, last),
            records: 1,
            status: status.into(),
            attempts: 1,
            next_attempt_at: t,
            last_error: error.map(str::to_string),
            created_at: t,
            sent_at: (status == "sent").then_some(t),
        }
    }

    #[test]
    fn a_record_is_waiting_delivered_or_failed_by_the_batches_that_hold_it() {
        let t = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let target = Target {
            id: 1,
            name: "党群服务365".into(),
            endpoint: "http://h/".into(),
            kinds: vec!["ledger_item".into()],
            org_id: None,
            org_path: None,
            secret: String::new(),
            enabled: true,
            from_config: false,
            cursor_seq: 0,
            created_at: t,
            updated_at: t,
        };
        let change = Change {
            seq: 7,
            kind: RecordKind::LedgerItem,
            record_id: 3,
            case_id: 1,
            at: t,
        };
        let state = |b: &[Batch]| state_at(&target, &change, b).label;
        assert_eq!(state(&[]), "待上传");
        assert_eq!(
            state(&[batch(0, 6, "sent", None)]),
            "待上传",
            "an earlier range"
        );
        assert_eq!(state(&[batch(6, 9, "pending", None)]), "待上传");
        assert_eq!(
            state(&[batch(6, 9, "pending", Some("超时"))]),
            "失败（重试中）"
        );
        assert_eq!(state(&[batch(6, 9, "dead", Some("超时"))]), "失败");
        assert_eq!(
            state(&[batch(6, 9, "dead", Some("超时")), batch(6, 9, "sent", None)]),
            "已上传",
            "a replayed dead letter"
        );
    }
}

// ---- pull and file export ----

/// `GET /api/v1/exchange/{kind}`: a page of records of one kind as they stand, after a cursor.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct PullQuery {
    /// The `next` of the previous page (a change number); none or 0 from the beginning.
    pub since: Option<String>,
    /// Records per page, 1–1000 (default 500).
    pub limit: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PullPage {
    pub format: &'static str,
    pub version: u32,
    pub kind: String,
    /// Records in the exchange format (docs/exchange-format.md).
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Value>,
    /// The cursor of the next page: pass it as `since`. Never skips or repeats a change; a
    /// record changed again comes again, at its new change.
    pub next: i64,
    /// Whether more records were waiting when this page was read.
    pub more: bool,
}

fn number(
    field: &str,
    v: Option<&str>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    message: &str,
) -> Result<i64, AppError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| AppError::field(field, message)),
    }
}

/// What `actor` may pull: the cases it may see, in the subtree its token carries.
fn readable(actor: &Actor, kinds: Vec<RecordKind>) -> Result<store::Filter, AppError> {
    let scope = roundtable_core::access::scope(actor, Action::View, ResourceKind::Case);
    if scope.is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(store::Filter {
        kinds,
        org_path: None,
        scope: Some(scope),
    })
}

/// `allowed`: the kinds an API token is limited to (empty: all).
pub async fn pull(
    state: &AppState,
    actor: &Actor,
    allowed: &[RecordKind],
    kind: &str,
    q: &PullQuery,
) -> Result<PullPage, AppError> {
    // Who may read comes first; an unknown kind is no collection (404).
    let mut filter = readable(actor, Vec::new())?;
    let kind = RecordKind::parse(kind).ok_or(AppError::NotFound)?;
    if !allowed.is_empty() && !allowed.contains(&kind) {
        return Err(AppError::Forbidden);
    }
    filter.kinds = vec![kind];
    let since = number(
        "since",
        q.since.as_deref(),
        0,
        0..=i64::MAX / 2,
        "since 应为上一页返回的 next（非负整数）",
    )?;
    let limit = number(
        "limit",
        q.limit.as_deref(),
        500,
        1..=1000,
        "limit 应为 1 到 1000 的整数",
    )?;
    let mut e = state.db.conn().await?;
    let mut changes = store::latest_changes(&mut e, &filter, since, None, limit + 1).await?;
    let more = changes.len() as i64 > limit;
    changes.truncate(limit as usize);
    let next = changes.last().map_or(since, |c| c.seq);
    let records = records(&mut e, &changes).await?;
    Ok(PullPage {
        format: FORMAT,
        version: VERSION,
        kind: kind.code().into(),
        records,
        next,
        more,
    })
}

/// Chinese column headers of each kind's sheet: (header, path in the record).
fn columns(kind: RecordKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        RecordKind::Case => &[
            ("案例名称", "data.title"),
            ("议题类别", "data.category.label"),
            ("层级", "data.level.label"),
            ("所处步骤", "data.step.label"),
            ("终止原因", "data.stop_reason"),
            ("公开查询码", "data.public_code"),
            ("创建时间", "data.created_at"),
            ("办结时间", "data.finished_at"),
        ],
        RecordKind::Meeting => &[
            ("会议日期", "data.held_on"),
            ("时间", "data.start_time"),
            ("地点", "data.place"),
            ("主持人", "data.chair_name"),
            ("协商决议", "data.resolution"),
            ("赞成", "data.votes.for"),
            ("反对", "data.votes.against"),
            ("弃权", "data.votes.abstain"),
            ("备案登记号", "data.filing_number"),
            ("决议指纹", "data.fingerprint"),
        ],
        RecordKind::Notice => &[
            ("版本", "data.version"),
            ("发布日期", "data.published_on"),
            ("公示开始", "data.starts_on"),
            ("公示结束", "data.ends_on"),
            ("工作日", "data.working_days"),
            ("公示指纹", "data.fingerprint"),
        ],
        RecordKind::LedgerItem => &[
            ("事项", "data.title"),
            ("责任人", "data.owner_name"),
            ("责任单位", "data.unit_name"),
            ("完成时限", "data.due_on"),
            ("销号状态", "data.status.label"),
            ("完成情况（佐证）", "data.evidence"),
            ("佐证照片数", "data.evidence_photos.#"),
            ("销号时间", "data.closed_at"),
            ("确认时间", "data.confirmed_at"),
        ],
        RecordKind::Inspection => &[
            ("检查日期", "data.inspected_on"),
            ("检查人", "data.inspectors"),
            ("进度", "data.progress"),
            ("质量", "data.quality"),
            ("时限", "data.deadline"),
            ("照片数", "data.evidence_photos.#"),
        ],
        RecordKind::Bulletin => &[
            ("通报序号", "data.seq"),
            ("通报日期", "data.published_on"),
            ("通报内容", "data.content"),
        ],
    }
}

fn at_path(v: &Value, path: &str) -> Value {
    let mut cur = v;
    for part in path.split('.') {
        if part == "#" {
            return Value::from(cur.as_array().map_or(0, Vec::len));
        }
        cur = match cur.get(part) {
            Some(x) => x,
            None => return Value::Null,
        };
    }
    cur.clone()
}

/// `roundtable export --format exchange` and the page's download: a .zip of one JSON Lines
/// file per kind (records as they stand, changed on or after `since`), the same as one .xlsx
/// with a sheet per kind under Chinese headers (the layout community workers send by hand),
/// and a manifest; both carry who exported and when.
pub async fn export(
    state: &AppState,
    actor: &Actor,
    allowed: &[RecordKind],
    username: &str,
    since: Option<chrono::NaiveDate>,
) -> Result<Vec<u8>, AppError> {
    use std::io::Write;
    let kinds: Vec<RecordKind> = RecordKind::ALL
        .iter()
        .copied()
        .filter(|k| allowed.is_empty() || allowed.contains(k))
        .collect();
    let filter = readable(actor, kinds)?;
    let since_t = since.map(roundtable_store::china_day_start);
    let mut e = state.db.conn().await?;
    let mut by_kind: BTreeMap<RecordKind, Vec<Value>> = BTreeMap::new();
    let mut cursor = 0;
    loop {
        let changes = store::latest_changes(&mut e, &filter, cursor, since_t, 2000).await?;
        let Some(last) = changes.last() else { break };
        cursor = last.seq;
        for r in records(&mut e, &changes).await? {
            if let Some(k) = r["kind"].as_str().and_then(RecordKind::parse) {
                by_kind.entry(k).or_default().push(r);
            }
        }
    }
    let exported_at = crate::render::china_time(Utc::now());
    let watermark = format!("导出人：{username}；导出时间：{exported_at}；仅供工作使用");

    let mut book = rust_xlsxwriter::Workbook::new();
    for kind in RecordKind::ALL {
        let sheet = book.add_worksheet();
        let xl = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
        sheet.set_name(kind.label()).map_err(xl)?;
        sheet.write_string(0, 0, &watermark).map_err(xl)?;
        let mut headers: Vec<(&str, &str)> = vec![
            ("编号", "id"),
            ("案例编号", "case_id"),
            ("社区（村）", "org.path"),
            ("变更序号", "change"),
            ("变更时间", "changed_at"),
        ];
        headers.extend_from_slice(columns(*kind));
        for (c, (h, _)) in headers.iter().enumerate() {
            sheet.write_string(1, c as u16, *h).map_err(xl)?;
        }
        for (r, rec) in by_kind
            .get(kind)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
        {
            for (c, (_, path)) in headers.iter().enumerate() {
                let v = if *path == "org.path" {
                    Value::String(
                        rec["org"]["path"]
                            .as_array()
                            .map(|p| {
                                p.iter()
                                    .filter_map(|n| n["name"].as_str())
                                    .collect::<Vec<_>>()
                                    .join("/")
                            })
                            .unwrap_or_default(),
                    )
                } else {
                    at_path(rec, path)
                };
                let (row, col) = (r as u32 + 2, c as u16);
                match v {
                    Value::Null => {}
                    Value::Number(n) => {
                        sheet
                            .write_number(row, col, n.as_f64().unwrap_or_default())
                            .map_err(xl)?;
                    }
                    Value::String(s) => {
                        sheet.write_string(row, col, &s).map_err(xl)?;
                    }
                    other => {
                        sheet
                            .write_string(row, col, other.to_string())
                            .map_err(xl)?;
                    }
                }
            }
        }
    }
    let workbook = book
        .save_to_buffer()
        .map_err(|e| AppError::Internal(e.to_string()))?;

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let io = |e: std::io::Error| AppError::Internal(e.to_string());
    let zerr = |e: zip::result::ZipError| AppError::Internal(e.to_string());
    let mut counts = serde_json::Map::new();
    for kind in RecordKind::ALL {
        let list = by_kind.get(kind).map_or(&[][..], Vec::as_slice);
        counts.insert(kind.code().into(), Value::from(list.len()));
        zip.start_file(format!("{}.jsonl", kind.code()), options)
            .map_err(zerr)?;
        for r in list {
            zip.write_all(r.to_string().as_bytes()).map_err(io)?;
            zip.write_all(b"\n").map_err(io)?;
        }
    }
    zip.start_file("台帐.xlsx", options).map_err(zerr)?;
    zip.write_all(&workbook).map_err(io)?;
    zip.start_file("manifest.json", options).map_err(zerr)?;
    let manifest = json!({
        "format": FORMAT, "version": VERSION, "exported_by": username, "exported_at": time(Utc::now()),
        "since": since.map(|d| d.to_string()), "records": counts, "watermark": watermark,
    });
    zip.write_all(manifest.to_string().as_bytes()).map_err(io)?;
    let cursor = zip.finish().map_err(zerr)?;
    Ok(cursor.into_inner())
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// Only records changed on or after this day (YYYY-MM-DD); none for all.
    pub since: Option<String>,
}

impl ExportQuery {
    pub fn since(&self) -> Result<Option<chrono::NaiveDate>, AppError> {
        match super::filled(&self.since) {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|_| AppError::field("since", "起始日期应为 YYYY-MM-DD")),
        }
    }
}

/// The export as a download (page and API).
pub fn zip_download(bytes: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let name = format!("exchange-{}.zip", crate::render::today());
    (
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}
