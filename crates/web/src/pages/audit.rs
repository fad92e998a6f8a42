//! The audit page (`/admin/audit`, issue 6 item 2) for the audit administrator: search by
//! actor, object, action and time; `/admin/audit/xlsx` exports the same search.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use minijinja::{Value, context};

use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::page_with_status;
use crate::services::audit::{self as service, AuditQuery};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(page))
        .route("/admin/audit/xlsx", get(xlsx))
}

type PageResult = Result<Response, PageError>;

async fn page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let (status, ctx) = match service::search(&state.db, &session.actor, &q).await {
        Ok(p) => (StatusCode::OK, context! { p, errors => context! {} }),
        Err(AppError::Validation(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { errors => Value::from_serialize(&e) },
        ),
        Err(e) => return Err(e.into()),
    };
    // The query again, for the form, the pager and the export link.
    let query = serde_html_form::to_string(AuditQuery {
        page: None,
        ..q.clone()
    })
    .unwrap_or_default();
    Ok(page_with_status(
        &state,
        status,
        "audit.html",
        Some(&session),
        &csrf,
        context! { q => Value::from_serialize(&q), query, ..ctx },
    ))
}

async fn xlsx(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let (name, bytes) = service::export(&state.db, &session.actor, &q).await?;
    Ok(super::excel::xlsx(bytes, &name))
}
