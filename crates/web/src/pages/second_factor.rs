//! 双因素认证 (issue 6 point 4): the account's second factor — its state, the set-up with a QR
//! code and the first code, switching it off.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::{Value, context};

use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::{HtmlForm, qr_svg};
use crate::render::page_with_status;
use crate::services::second_factor::{self, CodeInput, Enrolment};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/second-factor", get(show))
        .route("/account/second-factor/start", post(start))
        .route("/account/second-factor/confirm", post(confirm))
        .route("/account/second-factor/disable", post(disable))
}

type PageResult = Result<Response, PageError>;

/// The page; `session` may be older than a change just made, so `enabled` is passed.
async fn render(
    state: &AppState,
    session: &Session,
    csrf: &str,
    enrolment: Option<Enrolment>,
    errors: Value,
    notice: Option<&str>,
) -> PageResult {
    let status = second_factor::status(state, session);
    let enrolment = match enrolment {
        Some(e) => Some(e),
        None if !status.enabled => second_factor::pending(state, session).await?,
        None => None,
    };
    let qr = match &enrolment {
        Some(e) => Some(qr_svg(&e.uri)?),
        None => None,
    };
    Ok(page_with_status(
        state,
        crate::render::form_status(&errors),
        "account_second_factor.html",
        Some(session),
        csrf,
        context! {
            status, enrolment, qr, errors, notice,
            setup_required => crate::auth::must_set_up_second_factor(state, session),
        },
    ))
}

async fn show(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    render(&state, &session, &csrf, None, context! {}, None).await
}

async fn start(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    match second_factor::start(&state, &session).await {
        Ok(e) => render(&state, &session, &csrf, Some(e), context! {}, None).await,
        Err(AppError::Validation(e)) => {
            render(
                &state,
                &session,
                &csrf,
                None,
                Value::from_serialize(&e),
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The session read again after a change (the extractor's copy predates it).
async fn reloaded(state: &AppState, session: &Session) -> Result<Session, AppError> {
    let user = roundtable_store::users::get(&mut state.db.pool(), session.user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Session {
        user,
        ..session.clone()
    })
}

/// The page after switching on or off: the change's notice, or the field's error.
async fn after(
    state: &AppState,
    session: &Session,
    csrf: &str,
    result: Result<second_factor::Status, AppError>,
    notice: &str,
) -> PageResult {
    match result {
        Ok(_) => {
            let session = reloaded(state, session).await?;
            render(state, &session, csrf, None, context! {}, Some(notice)).await
        }
        Err(AppError::Validation(e)) => {
            render(state, session, csrf, None, Value::from_serialize(&e), None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn confirm(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<CodeInput>,
) -> PageResult {
    let result = second_factor::confirm(&state, &session, &f).await;
    let notice = "双因素认证已启用：以后登录时需同时输入验证器中的动态验证码。";
    after(&state, &session, &csrf, result, notice).await
}

async fn disable(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<CodeInput>,
) -> PageResult {
    let result = second_factor::disable(&state, &session, &f).await;
    after(&state, &session, &csrf, result, "双因素认证已停用。").await
}
