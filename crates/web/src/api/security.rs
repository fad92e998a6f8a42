//! Account security in the API (the security administrator only; 403 for everyone else):
//! accounts with their security state, the login record, and the three actions on another
//! account.

use axum::Json;
use axum::extract::{Path, Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiResult;
use crate::AppState;
use crate::auth::Session;
use crate::error::ErrorEnvelope;
use crate::services::security::{
    self as service, AccountAction, AccountPage, AccountQuery, AccountSecurity, EventPage,
    EventQuery,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts))
        .routes(routes!(events))
        .routes(routes!(reset_second_factor))
        .routes(routes!(lift_lockout))
        .routes(routes!(end_sessions))
}

/// Every account with its second factor, password age, lockout and open sessions, 50 a page.
#[utoipa::path(get, path = "/security/accounts", tag = "security", params(AccountQuery),
    responses((status = 200, body = AccountPage), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
async fn accounts(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<AccountQuery>,
) -> ApiResult<AccountPage> {
    Ok(Json(service::accounts(&state, &session.actor, &q).await?))
}

/// The login record (logins, failures, lockouts, resets…), newest first, 50 a page.
#[utoipa::path(get, path = "/security/events", tag = "security", params(EventQuery),
    responses((status = 200, body = EventPage), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
async fn events(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<EventQuery>,
) -> ApiResult<EventPage> {
    Ok(Json(service::events(&state.db, &session.actor, &q).await?))
}

async fn act(
    state: &AppState,
    session: &Session,
    id: i64,
    what: AccountAction,
) -> ApiResult<AccountSecurity> {
    service::act(state, &session.actor, id, what).await?;
    Ok(Json(service::account(state, &session.actor, id).await?))
}

/// Resets another account's second factor (a lost phone): it sets one up again at its next
/// login; its sessions end. Audited.
#[utoipa::path(post, path = "/security/accounts/{id}/second-factor/reset", tag = "security", params(("id" = i64, Path)),
    responses((status = 200, body = AccountSecurity), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn reset_second_factor(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<AccountSecurity> {
    act(&state, &session, id, AccountAction::ResetSecondFactor).await
}

/// Lifts a failed-login lockout now. Audited.
#[utoipa::path(post, path = "/security/accounts/{id}/lockout/lift", tag = "security", params(("id" = i64, Path)),
    responses((status = 200, body = AccountSecurity), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn lift_lockout(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<AccountSecurity> {
    act(&state, &session, id, AccountAction::LiftLockout).await
}

/// Ends every session of the account. Audited.
#[utoipa::path(post, path = "/security/accounts/{id}/sessions/end", tag = "security", params(("id" = i64, Path)),
    responses((status = 200, body = AccountSecurity), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
async fn end_sessions(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<AccountSecurity> {
    act(&state, &session, id, AccountAction::EndSessions).await
}
