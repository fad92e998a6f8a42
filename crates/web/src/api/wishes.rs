//! 微心愿 in the API (R-MEM-1): posted by the community, claimed once and fulfilled once by a
//! party member, confirmed by the household (publicly, with its phone's last four digits) or by
//! staff; and the public wish wall of a community.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roundtable_store::wishes::Wish;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::AppState;
use crate::auth::Session;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::limits::ClientAddr;
use crate::services::wishes::{
    self as service, PublicConfirm, PublicWish, WishInput, WishNote, WishQuery, WishView, WishWall,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, post))
        .routes(routes!(get))
        .routes(routes!(claim))
        .routes(routes!(fulfil))
        .routes(routes!(confirm))
        .routes(routes!(cancel))
        .routes(routes!(wall))
        .routes(routes!(public_get))
        .routes(routes!(public_confirm))
}

#[utoipa::path(get, path = "/wishes", tag = "wishes", params(WishQuery),
    responses((status = 200, body = Vec<Wish>), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<WishQuery>,
) -> ApiResult<Vec<Wish>> {
    Ok(Json(service::list(&state.db, &session.actor, &q).await?))
}

/// A household's small, concrete need, posted by its community.
#[utoipa::path(post, path = "/wishes", tag = "wishes", request_body = WishInput,
    responses((status = 201, body = Wish), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn post(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<WishInput>,
) -> Result<Response, ApiError> {
    let w = service::post(&state.db, &session.actor, &b).await?;
    Ok((StatusCode::CREATED, Json(w)).into_response())
}

#[utoipa::path(get, path = "/wishes/{id}", tag = "wishes", params(("id" = i64, Path)),
    responses((status = 200, body = WishView), (status = 404, body = ErrorEnvelope)))]
async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<WishView> {
    Ok(Json(service::view(&state.db, &session.actor, id).await?))
}

/// Claimed once, by an in-service party member (recorded as their six-ones wish); a wish
/// already claimed answers `rule_violated` (R-MEM-1).
#[utoipa::path(post, path = "/wishes/{id}/claim", tag = "wishes", params(("id" = i64, Path)),
    responses((status = 200, body = WishView), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn claim(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<WishView> {
    Ok(Json(service::claim(&state.db, &session.actor, id).await?))
}

/// Fulfilled once, by the member who claimed it (or the community), with what was done.
#[utoipa::path(post, path = "/wishes/{id}/fulfil", tag = "wishes", params(("id" = i64, Path)),
    request_body = WishNote,
    responses((status = 200, body = WishView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn fulfil(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<WishNote>,
) -> ApiResult<WishView> {
    Ok(Json(
        service::fulfil(&state.db, &session.actor, id, &b).await?,
    ))
}

/// Confirmed for the household by staff who called it.
#[utoipa::path(post, path = "/wishes/{id}/confirm", tag = "wishes", params(("id" = i64, Path)),
    request_body = WishNote,
    responses((status = 200, body = WishView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn confirm(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<WishNote>,
) -> ApiResult<WishView> {
    Ok(Json(
        service::confirm(&state.db, &session.actor, id, &b).await?,
    ))
}

/// Withdrawn by the community before it was fulfilled, with a reason.
#[utoipa::path(post, path = "/wishes/{id}/cancel", tag = "wishes", params(("id" = i64, Path)),
    request_body = WishNote,
    responses((status = 200, body = WishView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn cancel(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<WishNote>,
) -> ApiResult<WishView> {
    Ok(Json(
        service::cancel(&state.db, &session.actor, id, &b).await?,
    ))
}

/// A community's wish wall (no sign-in, no personal data).
#[utoipa::path(get, path = "/public/communities/{id}/wishes", tag = "public", params(("id" = i64, Path)),
    responses((status = 200, body = WishWall), (status = 404, body = ErrorEnvelope)))]
async fn wall(State(state): State<AppState>, Path(id): Path<i64>) -> ApiResult<WishWall> {
    Ok(Json(service::wall(&state.db, id).await?))
}

#[utoipa::path(get, path = "/public/wishes/{code}", tag = "public", params(("code" = String, Path)),
    responses((status = 200, body = PublicWish), (status = 404, body = ErrorEnvelope)))]
async fn public_get(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<PublicWish> {
    Ok(Json(service::public_wish(&state.db, &code).await?))
}

/// The household confirms the wish was fulfilled, with the last four digits of its phone
/// (rate limited per address).
#[utoipa::path(post, path = "/public/wishes/{code}/confirm", tag = "public", params(("code" = String, Path)),
    request_body = PublicConfirm,
    responses((status = 200, body = PublicWish), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
async fn public_confirm(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<PublicConfirm>,
) -> ApiResult<PublicWish> {
    if !state.portal_limit.allow(&client) {
        return Err(AppError::TooMany.into());
    }
    Ok(Json(service::public_confirm(&state.db, &code, &b).await?))
}
