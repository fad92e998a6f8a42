//! Notifications (issue 5): a user's inbox and channels (`/notifications`), and the scheduled
//! jobs with their last runs and the outbox for administrators (`/admin/jobs`).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};

use super::HtmlForm;
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::page_with_status;
use crate::services::notify::{self, PrefsInput};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(inbox).post(save_prefs))
        .route("/notifications/read", post(mark_read))
        .route("/admin/jobs", get(jobs))
}

type PageResult = Result<Response, PageError>;

async fn inbox_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    errors: Value,
    saved: bool,
) -> PageResult {
    let inbox = notify::inbox(state, &session.actor).await?;
    let status = crate::render::form_status(&errors);
    Ok(page_with_status(
        state,
        status,
        "notifications.html",
        Some(session),
        csrf,
        context! { inbox, errors, saved },
    ))
}

async fn inbox(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    inbox_with(&state, &session, &csrf, context! {}, false).await
}

async fn save_prefs(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<PrefsInput>,
) -> PageResult {
    match notify::save_prefs(&state, &session.actor, &f).await {
        Ok(_) => inbox_with(&state, &session, &csrf, context! {}, true).await,
        Err(AppError::Validation(e)) => {
            inbox_with(&state, &session, &csrf, Value::from_serialize(&e), false).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn mark_read(State(state): State<AppState>, session: Session) -> PageResult {
    notify::mark_read(&state, &session.actor).await?;
    Ok(Redirect::to("/notifications").into_response())
}

async fn jobs(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    let v = notify::jobs(&state, &session.actor).await?;
    Ok(page_with_status(
        &state,
        StatusCode::OK,
        "jobs.html",
        Some(&session),
        &csrf,
        context! { v },
    ))
}
