//! Calendar feeds (issue 5): the private and the community `.ics` files (no sign-in: the
//! address is the key, or the feed is public), and the account page that issues the private
//! address.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use minijinja::context;

use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::page_with_status;
use crate::services::feeds;
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ical/u/{file}", get(personal))
        .route("/ical/c/{file}", get(community))
        .route("/account/calendar", get(account).post(issue))
}

type PageResult = Result<Response, PageError>;

fn ics(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response()
}

async fn personal(State(state): State<AppState>, Path(file): Path<String>) -> PageResult {
    match feeds::personal(
        &state.db,
        &state.calendar,
        state.config.holiday_saturday_rule,
        &file,
    )
    .await?
    {
        Some(body) => Ok(ics(body)),
        None => Err(AppError::NotFound.into()),
    }
}

async fn community(State(state): State<AppState>, Path(file): Path<String>) -> PageResult {
    let id: i64 = file
        .trim_end_matches(".ics")
        .parse()
        .map_err(|_| AppError::NotFound)?;
    match feeds::community(&state.db, id).await? {
        Some(body) => Ok(ics(body)),
        None => Err(AppError::NotFound.into()),
    }
}

async fn account_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    issued: Option<String>,
) -> PageResult {
    let since = feeds::issued_at(&state.db, &session.actor).await?;
    Ok(page_with_status(
        state,
        StatusCode::OK,
        "account_calendar.html",
        Some(session),
        csrf,
        context! { since, issued },
    ))
}

async fn account(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    account_with(&state, &session, &csrf, None).await
}

async fn issue(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    let f = feeds::issue(&state.db, &session.actor).await?;
    account_with(&state, &session, &csrf, Some(f.path)).await
}
