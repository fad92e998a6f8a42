//! 账号安全 (`/admin/security`) for the security administrator: every account's security
//! state with its three actions, and the login record (`/admin/security/events`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};

use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::HtmlForm;
use crate::render::page_with_status;
use crate::services::security::{self as service, AccountAction, AccountQuery, EventQuery};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/security", get(accounts))
        .route("/admin/security/events", get(events))
        .route(
            "/admin/security/{id}/second-factor/reset",
            post(reset_second_factor),
        )
        .route("/admin/security/{id}/lockout/lift", post(lift_lockout))
        .route("/admin/security/{id}/sessions/end", post(end_sessions))
}

type PageResult = Result<Response, PageError>;

/// The accounts page, with what an action just did (or why it was refused).
async fn render(
    state: &AppState,
    session: &Session,
    csrf: &str,
    q: &AccountQuery,
    status: StatusCode,
    notice: Option<String>,
    problem: Option<String>,
) -> PageResult {
    let p = service::accounts(state, &session.actor, q).await?;
    let query = serde_html_form::to_string(AccountQuery {
        page: None,
        ..q.clone()
    })
    .unwrap_or_default();
    Ok(page_with_status(
        state,
        status,
        "security.html",
        Some(session),
        csrf,
        context! { p, q => Value::from_serialize(q), query, notice, problem },
    ))
}

async fn accounts(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<AccountQuery>,
) -> PageResult {
    render(&state, &session, &csrf, &q, StatusCode::OK, None, None).await
}

async fn events(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<EventQuery>,
) -> PageResult {
    let p = service::events(&state.db, &session.actor, &q).await?;
    let query = serde_html_form::to_string(EventQuery {
        page: None,
        ..q.clone()
    })
    .unwrap_or_default();
    Ok(page_with_status(
        &state,
        StatusCode::OK,
        "security_events.html",
        Some(&session),
        &csrf,
        context! { p, q => Value::from_serialize(&q), query },
    ))
}

/// The form's only field besides the CSRF token: the search to return to.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct ReturnTo {
    q: Option<String>,
}

async fn act(
    state: AppState,
    csrf: String,
    session: Session,
    id: i64,
    back: ReturnTo,
    what: AccountAction,
) -> PageResult {
    let q = AccountQuery {
        q: back.q,
        page: None,
    };
    match service::act(&state, &session.actor, id, what).await {
        Ok(username) => {
            let notice = Some(what.done(&username));
            render(&state, &session, &csrf, &q, StatusCode::OK, notice, None).await
        }
        Err(AppError::BadRequest(why)) => {
            let status = StatusCode::BAD_REQUEST;
            render(&state, &session, &csrf, &q, status, None, Some(why)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn reset_second_factor(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<ReturnTo>,
) -> PageResult {
    act(
        state,
        csrf,
        session,
        id,
        f,
        AccountAction::ResetSecondFactor,
    )
    .await
}

async fn lift_lockout(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<ReturnTo>,
) -> PageResult {
    act(state, csrf, session, id, f, AccountAction::LiftLockout).await
}

async fn end_sessions(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<ReturnTo>,
) -> PageResult {
    act(state, csrf, session, id, f, AccountAction::EndSessions).await
}
