//! Delivery to other systems in the API (issue 7): the targets (administrators), their
//! batches and dead letters with replay, and the delivery state of a case's records.

use axum::Json;
use axum::extract::{Path, Query, State};
use roundtable_core::exchange::TargetInput;
use roundtable_store::exchange::Batch;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::AppState;
use crate::auth::Session;
use crate::error::ErrorEnvelope;
use crate::services::exchange::{
    self as service, BatchQuery, ExportQuery, PullPage, PullQuery, RecordDeliveries, TargetView,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(targets, create_target))
        .routes(routes!(target, update_target))
        .routes(routes!(batches))
        .routes(routes!(replay))
        .routes(routes!(case_deliveries))
        .routes(routes!(export))
        .routes(routes!(pull))
        .routes(routes!(partner_batch))
}

/// A target as sent in the API: the fields of the page's form, kinds as a list, the subtree
/// as an org id (none: everything), the secret only when it is set or changed.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct TargetBody {
    pub name: String,
    pub endpoint: String,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub org_id: Option<i64>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl TargetBody {
    fn input(&self) -> (TargetInput, Option<String>) {
        (
            TargetInput {
                name: self.name.clone(),
                endpoint: self.endpoint.clone(),
                kinds: self.kinds.clone(),
                secret: self.secret.clone(),
                enabled: Some(
                    if self.enabled.unwrap_or(true) {
                        "1"
                    } else {
                        "0"
                    }
                    .into(),
                ),
            },
            self.org_id.map(|id| id.to_string()),
        )
    }
}

/// The delivery targets with their backlog, retrying batch and dead letters.
#[utoipa::path(get, path = "/exchange/targets", tag = "exchange",
    responses((status = 200, body = [TargetView]), (status = 403, body = ErrorEnvelope)))]
async fn targets(State(state): State<AppState>, session: Session) -> ApiResult<Vec<TargetView>> {
    Ok(Json(service::targets(&state, &session.actor).await?))
}

/// A new target; it receives everything queued in its kinds and subtree, history included.
#[utoipa::path(post, path = "/exchange/targets", tag = "exchange", request_body = TargetBody,
    responses((status = 200, body = TargetView), (status = 422, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
async fn create_target(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<TargetBody>,
) -> ApiResult<TargetView> {
    let (input, org) = b.input();
    let id = service::create(&state, &session.actor, &input, org.as_deref()).await?;
    Ok(Json(service::target(&state, &session.actor, id).await?))
}

#[utoipa::path(get, path = "/exchange/targets/{id}", tag = "exchange", params(("id" = i64, Path)),
    responses((status = 200, body = TargetView), (status = 404, body = ErrorEnvelope)))]
async fn target(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<TargetView> {
    Ok(Json(service::target(&state, &session.actor, id).await?))
}

/// An edit; leave `secret` out to keep it. Targets of the configuration file are refused.
#[utoipa::path(put, path = "/exchange/targets/{id}", tag = "exchange", params(("id" = i64, Path)),
    request_body = TargetBody,
    responses((status = 200, body = TargetView), (status = 400, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn update_target(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TargetBody>,
) -> ApiResult<TargetView> {
    let (input, org) = b.input();
    service::update(&state, &session.actor, id, &input, org.as_deref()).await?;
    Ok(Json(service::target(&state, &session.actor, id).await?))
}

/// Batches, newest first; `status=dead` is the dead-letter list.
#[utoipa::path(get, path = "/exchange/batches", tag = "exchange", params(BatchQuery),
    responses((status = 200, body = [Batch]), (status = 422, body = ErrorEnvelope)))]
async fn batches(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<BatchQuery>,
) -> ApiResult<Vec<Batch>> {
    Ok(Json(service::batches(&state, &session.actor, &q).await?))
}

/// A dead letter sent again (the same range and key, so the receiver can drop what it has).
#[utoipa::path(post, path = "/exchange/batches/{id}/replay", tag = "exchange", params(("id" = i64, Path)),
    responses((status = 200, body = Batch), (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn replay(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<Batch> {
    Ok(Json(service::replay(&state, &session.actor, id).await?))
}

/// Each exchanged record of a case and its state at each target: 待上传, 已上传 with the
/// time, 失败 with the error.
#[utoipa::path(get, path = "/cases/{id}/deliveries", tag = "exchange", params(("id" = i64, Path)),
    responses((status = 200, body = [RecordDeliveries]), (status = 404, body = ErrorEnvelope)))]
async fn case_deliveries(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<Vec<RecordDeliveries>> {
    Ok(Json(service::of_case(&state.db, &session.actor, id).await?))
}

/// The records of one kind as they stand, a page after the cursor `since` (the previous
/// page's `next`), within what the caller may see (an API token's subtree). A record changed
/// again comes again at its new change; none is skipped or repeated.
#[utoipa::path(get, path = "/exchange/{kind}", tag = "exchange",
    params(("kind" = String, Path, description = "case, meeting, notice, ledger_item, inspection, bulletin"), PullQuery),
    responses((status = 200, body = PullPage), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
async fn pull(
    State(state): State<AppState>,
    session: Session,
    Path(kind): Path<String>,
    Query(q): Query<PullQuery>,
) -> ApiResult<PullPage> {
    Ok(Json(
        service::pull(&state, &session.actor, &session.token_kinds, &kind, &q).await?,
    ))
}

/// The file export: a .zip of JSON Lines per kind, the same as an .xlsx, and a manifest.
#[utoipa::path(get, path = "/exchange/export", tag = "exchange", params(ExportQuery),
    responses((status = 200, description = "JSON Lines and Excel", content_type = "application/zip", body = Vec<u8>),
        (status = 422, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
async fn export(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ExportQuery>,
) -> Result<axum::response::Response, crate::error::ApiError> {
    let since = q.since()?;
    let bytes = service::export(
        &state,
        &session.actor,
        &session.token_kinds,
        &session.user.username,
        since,
    )
    .await?;
    Ok(service::zip_download(bytes))
}

/// Matters handed over by a partner system (the 12345 hotline's items for a street to consult
/// on): a batch signed like Roundtable's own deliveries (`X-Roundtable-Partner`,
/// `X-Roundtable-Timestamp`, `X-Roundtable-Signature: hmac-sm3=…` over `{timestamp}.{body}`).
/// Each item becomes a topic, or is the topic it became when sent before (by `ref`), or is
/// refused with its reason; a bad signature, an unknown partner or a stale timestamp refuses
/// the batch (401). Every batch is recorded on 数据对接.
#[utoipa::path(post, path = "/public/topics/batch", tag = "public",
    request_body = crate::services::inbound::PartnerBatch,
    params(
        ("X-Roundtable-Partner" = String, Header, description = "the partner's name as configured"),
        ("X-Roundtable-Timestamp" = String, Header, description = "Unix seconds"),
        ("X-Roundtable-Signature" = String, Header, description = "hmac-sm3=<hex>"),
    ),
    responses((status = 200, body = crate::services::inbound::BatchResult), (status = 401, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
async fn partner_batch(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<crate::services::inbound::BatchResult> {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let signed = crate::services::inbound::Signed {
        partner: h("x-roundtable-partner"),
        timestamp: h("x-roundtable-timestamp"),
        signature: h("x-roundtable-signature"),
    };
    Ok(Json(
        crate::services::inbound::receive(&state, &signed, &body).await?,
    ))
}
