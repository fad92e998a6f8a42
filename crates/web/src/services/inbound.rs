//! Matters from partner systems (issue 7 point 5): the 12345 hotline, say, hands a street's
//! items over for consultation as a signed batch to `POST /api/v1/public/topics/batch`. The
//! partner is one of the configuration file's `[[exchange_partners]]`; its signature and
//! timestamp are checked as a receiver checks Roundtable's (docs/exchange-format.md); each item
//! becomes a topic of the partner's channel in its own transaction, keeping the partner's id
//! so that an item sent again is the topic it became; every batch, accepted or refused, is
//! recorded with the reason.

use roundtable_core::exchange::{MIN_SECRET_CHARS, timestamp_is_fresh};
use roundtable_core::topics::Channel;
use roundtable_store::exchange::{self as store, InboundRecord};
use serde_json::json;

use crate::AppState;
use crate::error::AppError;
use crate::services::topics::TopicInput;

/// Items per batch at most.
pub const MAX_ITEMS: usize = 500;

/// A `[[exchange_partners]]` table of the configuration file.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPartner {
    /// What the partner sends as `X-Roundtable-Partner`.
    pub name: String,
    #[serde(skip_serializing)]
    pub secret: String,
    /// The channel its matters arrive by (R-TOP-1; default hotline, 12345).
    #[serde(default)]
    pub channel: Option<String>,
}

impl ConfigPartner {
    /// A partner that cannot be used stops the start with this.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("exchange_partners: a partner needs a name".into());
        }
        if self.secret.chars().count() < MIN_SECRET_CHARS {
            return Err(format!(
                "exchange_partners “{}”: the secret must have at least {MIN_SECRET_CHARS} characters",
                self.name
            ));
        }
        if let Some(c) = &self.channel
            && Channel::parse(c).is_none()
        {
            return Err(format!(
                "exchange_partners “{}”: unknown channel {c}",
                self.name
            ));
        }
        Ok(())
    }
}

/// One item of a partner's batch.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PartnerItem {
    /// The partner's own id of the item (its work order number): sent again, it is the same.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The code of the community (or village) the matter belongs to.
    pub org_code: String,
    pub title: String,
    pub description: String,
    /// R-TOP-2 category code or name.
    pub category: String,
    pub category_reason: Option<String>,
    pub submitter_name: Option<String>,
    pub submitter_phone: Option<String>,
    /// The resident agreed to be contacted.
    pub contact_consent: Option<bool>,
    pub location: Option<String>,
    /// R-TOP-4: community (default), street or district.
    pub level: Option<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PartnerBatch {
    /// The partner's id of the batch (kept with the record of it).
    pub batch: Option<String>,
    pub items: Vec<PartnerItem>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ItemResult {
    #[serde(rename = "ref")]
    pub reference: String,
    /// created, duplicate (sent before: the topic it became) or refused
    pub outcome: &'static str,
    pub tracking_code: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    pub batch: Option<String>,
    pub created: i64,
    pub duplicates: i64,
    pub refused: i64,
    pub results: Vec<ItemResult>,
}

/// The headers of a partner's request.
pub struct Signed<'a> {
    pub partner: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

/// Checks the request, then stores each item; a refused request is recorded and answered 401.
pub async fn receive(
    state: &AppState,
    signed: &Signed<'_>,
    body: &[u8],
) -> Result<BatchResult, AppError> {
    let partner = signed.partner.trim();
    let refuse = |reason: String| async move {
        let mut pool = state.db.pool();
        let name = if partner.is_empty() {
            "（未署名）"
        } else {
            partner
        };
        store::record_inbound(
            &mut pool,
            &InboundRecord {
                partner: name,
                outcome: "refused",
                reason: Some(&reason),
                ..Default::default()
            },
        )
        .await?;
        Err::<BatchResult, AppError>(AppError::SignatureRefused(reason))
    };
    let Some(config) = state
        .config
        .exchange
        .partners
        .iter()
        .find(|p| p.name == partner)
    else {
        return refuse(format!("未登记的对接方“{partner}”（X-Roundtable-Partner）")).await;
    };
    let Ok(ts) = signed.timestamp.trim().parse::<i64>() else {
        return refuse("缺少或无效的 X-Roundtable-Timestamp（Unix 秒）".into()).await;
    };
    if !timestamp_is_fresh(ts, chrono::Utc::now()) {
        return refuse(format!(
            "时间戳 {ts} 与服务器时间相差超过 5 分钟（疑似重放）"
        ))
        .await;
    }
    let signature = signed.signature.trim();
    let hex = signature.strip_prefix("hmac-sm3=").unwrap_or(signature);
    if !store::signature_matches(&config.secret, ts, body, hex) {
        return refuse(
            "签名不符（X-Roundtable-Signature 应为 hmac-sm3= 加时间戳与正文的 HMAC-SM3）".into(),
        )
        .await;
    }
    let batch: PartnerBatch = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => {
            let reason = format!("正文不是有效的批次 JSON：{e}");
            record(state, partner, None, "refused", Some(&reason), &[]).await?;
            return Err(AppError::field("items", reason));
        }
    };
    if batch.items.is_empty() || batch.items.len() > MAX_ITEMS {
        let reason = format!(
            "每批应有 1 到 {MAX_ITEMS} 项，收到 {} 项",
            batch.items.len()
        );
        record(
            state,
            partner,
            batch.batch.as_deref(),
            "refused",
            Some(&reason),
            &[],
        )
        .await?;
        return Err(AppError::field("items", reason));
    }
    let channel = config
        .channel
        .clone()
        .unwrap_or_else(|| Channel::Hotline.code().into());
    let mut results = Vec::with_capacity(batch.items.len());
    for item in &batch.items {
        results.push(one(state, partner, &channel, item).await?);
    }
    record(
        state,
        partner,
        batch.batch.as_deref(),
        "accepted",
        None,
        &results,
    )
    .await?;
    let count = |o: &str| results.iter().filter(|r| r.outcome == o).count() as i64;
    Ok(BatchResult {
        batch: batch.batch,
        created: count("created"),
        duplicates: count("duplicate"),
        refused: count("refused"),
        results,
    })
}

async fn record(
    state: &AppState,
    partner: &str,
    batch: Option<&str>,
    outcome: &str,
    reason: Option<&str>,
    results: &[ItemResult],
) -> Result<(), AppError> {
    let refused: Vec<serde_json::Value> = results
        .iter()
        .filter(|r| r.outcome == "refused")
        .map(|r| json!({"ref": r.reference, "reason": r.reason}))
        .collect();
    let count = |o: &str| results.iter().filter(|r| r.outcome == o).count() as i64;
    store::record_inbound(
        &mut state.db.pool(),
        &InboundRecord {
            partner,
            batch,
            outcome,
            reason,
            created: count("created"),
            duplicates: count("duplicate"),
            refused: count("refused"),
            detail: (!refused.is_empty()).then(|| serde_json::Value::from(refused).to_string()),
        },
    )
    .await?;
    Ok(())
}

/// One item in its own transaction: a bad one is refused with its reason, the others stay.
async fn one(
    state: &AppState,
    partner: &str,
    channel: &str,
    item: &PartnerItem,
) -> Result<ItemResult, AppError> {
    let reference = item.reference.trim().to_string();
    let refused = |reason: String| ItemResult {
        reference: reference.clone(),
        outcome: "refused",
        tracking_code: None,
        reason: Some(reason),
    };
    if reference.is_empty() || reference.chars().count() > 64 {
        return Ok(refused(
            "ref：请给出对接方自己的事项编号（1–64 个字符）".into(),
        ));
    }
    let mut tx = state.db.begin().await?;
    if let Some(code) = store::partner_topic(&mut tx, partner, &reference).await? {
        return Ok(ItemResult {
            reference,
            outcome: "duplicate",
            tracking_code: Some(code),
            reason: None,
        });
    }
    let org = roundtable_store::orgs::by_code(&mut tx, item.org_code.trim()).await?;
    let Some(org) = org.filter(|o| matches!(o.kind.as_str(), "community" | "village")) else {
        return Ok(refused(format!(
            "org_code：没有代码为“{}”的社区（村）",
            item.org_code.trim()
        )));
    };
    let input = TopicInput {
        org_id: Some(org.id),
        title: item.title.clone(),
        description: item.description.clone(),
        category: item.category.clone(),
        category_reason: item.category_reason.clone(),
        channel: channel.to_string(),
        collector_person_id: None,
        submitter_name: item.submitter_name.clone(),
        submitter_phone: item.submitter_phone.clone(),
        contact_consent: item
            .contact_consent
            .map(|c| if c { "1" } else { "0" }.to_string()),
        location: item.location.clone(),
        level: item.level.clone(),
        collected_on: None,
    };
    let (id, code) = match super::topics::create_from_partner(&mut tx, partner, &input).await {
        Ok(created) => created,
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => {
            return Ok(refused(e.summary()));
        }
        Err(e) => return Err(e),
    };
    if !store::remember_partner_topic(&mut tx, partner, &reference, id).await? {
        // The same item in a request running beside this one: that one stored it.
        drop(tx);
        let code = store::partner_topic(&mut state.db.pool(), partner, &reference).await?;
        return Ok(ItemResult {
            reference,
            outcome: "duplicate",
            tracking_code: code,
            reason: None,
        });
    }
    tx.commit().await?;
    Ok(ItemResult {
        reference,
        outcome: "created",
        tracking_code: Some(code),
        reason: None,
    })
}
