//! R-ORG-4 in the API: the resource list (offers of units and party members) and a case's
//! needs, with the proposed offers and the matches accepted onto its plan.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::AppState;
use crate::auth::Session;
use crate::error::{ApiError, ErrorEnvelope};
use crate::services::resources::{
    self as service, AcceptInput, CaseNeeds, NeedInput, OfferDetail, OfferView, ResourceInput,
    ResourceQuery, WithdrawInput,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, publish))
        .routes(routes!(get))
        .routes(routes!(withdraw))
        .routes(routes!(needs, add_need))
        .routes(routes!(remove_need))
        .routes(routes!(accept))
        .routes(routes!(cancel_match))
}

/// The offers of the asker's part of the tree and those published above it (its street, the
/// district), the newest first.
#[utoipa::path(get, path = "/resources", tag = "resources", params(ResourceQuery),
    responses((status = 200, body = Vec<OfferView>), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ResourceQuery>,
) -> ApiResult<Vec<OfferView>> {
    Ok(Json(service::list(&state.db, &session.actor, &q).await?))
}

/// Publishes what a unit or an in-service party member offers, at the node it serves.
#[utoipa::path(post, path = "/resources", tag = "resources", request_body = ResourceInput,
    responses((status = 201, body = OfferView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn publish(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<ResourceInput>,
) -> Result<Response, ApiError> {
    let r = service::publish(&state.db, &session.actor, &b).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

#[utoipa::path(get, path = "/resources/{id}", tag = "resources", params(("id" = i64, Path)),
    responses((status = 200, body = OfferDetail), (status = 404, body = ErrorEnvelope)))]
async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<OfferDetail> {
    Ok(Json(service::view(&state.db, &session.actor, id).await?))
}

/// Withdraws an offer (with a reason); matches already accepted stay on their plans.
#[utoipa::path(post, path = "/resources/{id}/withdraw", tag = "resources", params(("id" = i64, Path)), request_body = WithdrawInput,
    responses((status = 200, body = OfferDetail), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn withdraw(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<WithdrawInput>,
) -> ApiResult<OfferDetail> {
    Ok(Json(
        service::withdraw(&state.db, &session.actor, id, &b).await?,
    ))
}

/// A case's needs, each with what is still lacking, the offers proposed for it (best first)
/// and the matches accepted.
#[utoipa::path(get, path = "/cases/{id}/needs", tag = "resources", params(("id" = i64, Path)),
    responses((status = 200, body = CaseNeeds), (status = 404, body = ErrorEnvelope)))]
async fn needs(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<CaseNeeds> {
    Ok(Json(
        service::case_needs(&state.db, &session.actor, id).await?,
    ))
}

/// States a need of the case (steps 1–5).
#[utoipa::path(post, path = "/cases/{id}/needs", tag = "resources", params(("id" = i64, Path)), request_body = NeedInput,
    responses((status = 201, body = CaseNeeds), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn add_need(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<NeedInput>,
) -> Result<Response, ApiError> {
    let v = service::add_need(&state.db, &session.actor, id, &b).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Removes a need nothing was matched to.
#[utoipa::path(delete, path = "/cases/{id}/needs/{need_id}", tag = "resources", params(("id" = i64, Path), ("need_id" = i64, Path)),
    responses((status = 200, body = CaseNeeds), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn remove_need(
    State(state): State<AppState>,
    session: Session,
    Path((id, need_id)): Path<(i64, i64)>,
) -> ApiResult<CaseNeeds> {
    Ok(Json(
        service::remove_need(&state.db, &session.actor, id, need_id).await?,
    ))
}

/// Accepts an offer for a need while the plan step runs: recorded on the plan (funds as a
/// budget line). More than the offer has left or the need lacks answers `rule_violated`
/// (R-ORG-4).
#[utoipa::path(post, path = "/cases/{id}/needs/{need_id}/matches", tag = "resources", params(("id" = i64, Path), ("need_id" = i64, Path)), request_body = AcceptInput,
    responses((status = 201, body = CaseNeeds), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn accept(
    State(state): State<AppState>,
    session: Session,
    Path((id, need_id)): Path<(i64, i64)>,
    ApiJson(b): ApiJson<AcceptInput>,
) -> Result<Response, ApiError> {
    let v = service::accept(&state.db, &session.actor, id, need_id, &b).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Cancels a match while the plan step runs; the offer gets its quantity back.
#[utoipa::path(delete, path = "/cases/{id}/matches/{match_id}", tag = "resources", params(("id" = i64, Path), ("match_id" = i64, Path)),
    responses((status = 200, body = CaseNeeds), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn cancel_match(
    State(state): State<AppState>,
    session: Session,
    Path((id, match_id)): Path<(i64, i64)>,
) -> ApiResult<CaseNeeds> {
    Ok(Json(
        service::cancel_match(&state.db, &session.actor, id, match_id).await?,
    ))
}
