//! 个人信息 (issue 6 point 3, PIPL): an administrator looks up what is held under a phone number,
//! downloads it for the person (JSON, with who and when), or erases it.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};

use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::HtmlForm;
use crate::render::page_with_status;
use crate::services::privacy;
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/privacy", get(lookup))
        .route("/admin/privacy/export", get(export))
        .route("/admin/privacy/erase", post(erase))
}

type PageResult = Result<Response, PageError>;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PhoneQuery {
    phone: String,
    /// The erasure must be confirmed (a checkbox).
    confirm: Option<String>,
}

fn show(
    state: &AppState,
    session: &Session,
    csrf: &str,
    phone: &str,
    found: Value,
    erased: Value,
    errors: Value,
) -> Response {
    let status = crate::render::form_status(&errors);
    page_with_status(
        state,
        status,
        "privacy.html",
        Some(session),
        csrf,
        context! { phone, found, erased, errors },
    )
}

async fn lookup(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<PhoneQuery>,
) -> PageResult {
    if q.phone.trim().is_empty() {
        // The form only; still for those who may answer requests.
        if !(session
            .actor
            .has_role(roundtable_core::access::Role::SystemAdmin)
            || session
                .actor
                .has_role(roundtable_core::access::Role::DistrictAdmin))
        {
            return Err(AppError::Forbidden.into());
        }
        return Ok(show(
            &state,
            &session,
            &csrf,
            "",
            Value::UNDEFINED,
            Value::UNDEFINED,
            context! {},
        ));
    }
    match privacy::subject(&state.db, &session.actor, &session.user.username, &q.phone).await {
        Ok(s) => Ok(show(
            &state,
            &session,
            &csrf,
            &q.phone,
            Value::from_serialize(&s),
            Value::UNDEFINED,
            context! {},
        )),
        Err(AppError::Validation(e)) => Ok(show(
            &state,
            &session,
            &csrf,
            &q.phone,
            Value::UNDEFINED,
            Value::UNDEFINED,
            Value::from_serialize(&e),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<PhoneQuery>,
) -> PageResult {
    let s = privacy::subject(&state.db, &session.actor, &session.user.username, &q.phone).await?;
    let body =
        serde_json::to_string_pretty(&s).map_err(|e| AppError::Internal(format!("export: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"personal-data.json\"".to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

async fn erase(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<PhoneQuery>,
) -> PageResult {
    if f.confirm.as_deref().is_none_or(|c| c.trim().is_empty()) {
        let errors = Value::from_serialize(context! { confirm => "请勾选确认：删除后无法恢复" });
        return Ok(show(
            &state,
            &session,
            &csrf,
            &f.phone,
            Value::UNDEFINED,
            Value::UNDEFINED,
            errors,
        ));
    }
    match privacy::erase(&state.db, &session.actor, &f.phone).await {
        Ok(n) => Ok(show(
            &state,
            &session,
            &csrf,
            &f.phone,
            Value::UNDEFINED,
            Value::from_serialize(context! { total => n.total(), ..Value::from_serialize(&n) }),
            context! {},
        )),
        Err(AppError::Validation(e)) => Ok(show(
            &state,
            &session,
            &csrf,
            &f.phone,
            Value::UNDEFINED,
            Value::UNDEFINED,
            Value::from_serialize(&e),
        )),
        Err(e) => Err(e.into()),
    }
}
