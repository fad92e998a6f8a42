//! The account's API tokens (issue 6 point 4): issue one for a machine client (the secret shown
//! once), see which exist and when they were last used, revoke.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use roundtable_core::access::Role;

use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::pages::HtmlForm;
use crate::render::page_with_status;
use crate::services::tokens::{self, Issued, TokenInput};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/tokens", get(list).post(issue))
        .route("/account/tokens/{id}/revoke", post(revoke))
}

type PageResult = Result<Response, PageError>;

async fn list_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    issued: Option<Issued>,
    form: &TokenInput,
    errors: Value,
) -> PageResult {
    let list = tokens::list(&state.db, session).await?;
    let held = roundtable_store::users::roles(&mut state.db.pool(), session.user.id).await?;
    let roles: Vec<Value> = held
        .iter()
        .filter_map(|h| {
            let r = Role::parse(&h.role)?;
            Some(context! {
                code => r.code(), label => r.label(), org => h.org_name.clone(),
                checked => form.roles.iter().any(|c| c == r.code()),
            })
        })
        .collect();
    let now = roundtable_store::now();
    let list: Vec<Value> = list
        .into_iter()
        .map(|t| {
            let state = if t.revoked_at.is_some() {
                "已吊销"
            } else if t.expires_at <= now {
                "已过期"
            } else {
                "有效"
            };
            context! { state, ..Value::from_serialize(&t) }
        })
        .collect();
    let status = crate::render::form_status(&errors);
    Ok(page_with_status(
        state,
        status,
        "account_tokens.html",
        Some(session),
        csrf,
        context! {
            tokens => list, issued, roles, errors,
            form => context! { name => form.name.clone(), org_id => form.org_id, days => form.days.unwrap_or(tokens::DEFAULT_DAYS), kinds => form.kinds.clone() },
            max_days => tokens::MAX_DAYS,
            kinds => crate::render::options(
                roundtable_core::exchange::RecordKind::ALL,
                roundtable_core::exchange::RecordKind::code,
                roundtable_core::exchange::RecordKind::label,
            ),
        },
    ))
}

async fn list(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    list_with(
        &state,
        &session,
        &csrf,
        None,
        &TokenInput::default(),
        context! {},
    )
    .await
}

async fn issue(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<TokenInput>,
) -> PageResult {
    match tokens::issue(&state.db, &session, &f).await {
        Ok(issued) => {
            list_with(
                &state,
                &session,
                &csrf,
                Some(issued),
                &TokenInput::default(),
                context! {},
            )
            .await
        }
        Err(AppError::Validation(e)) => {
            let errors = Value::from_serialize(&e);
            list_with(&state, &session, &csrf, None, &f, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke(
    State(state): State<AppState>,
    CsrfToken(_): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    tokens::revoke(&state, &session, id).await?;
    Ok(Redirect::to("/account/tokens").into_response())
}
