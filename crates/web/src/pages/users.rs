//! Account administration pages.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use roundtable_core::access::{Action, ResourceKind, Role, permit_somewhere};
use roundtable_store::PageReq;

use super::HtmlForm;
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::{options, page};
use crate::services::users::{self, RoleInput, UserInput};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list))
        .route("/users/new", get(new).post(create))
        .route("/users/{id}", get(show))
        .route("/users/{id}/roles", post(add_role))
        .route("/users/{id}/roles/{role_id}/delete", post(remove_role))
        .route("/users/{id}/lock", post(lock))
        .route("/users/{id}/unlock", post(unlock))
        .route("/users/{id}/reset-password", post(reset_password))
}

type PageResult = Result<Response, PageError>;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    q: Option<String>,
    #[serde(deserialize_with = "crate::services::opt_id::deserialize")]
    page: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let query = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let page_data = users::list(
        &state.db,
        &session.actor,
        query,
        PageReq::new(q.page, Some(30)),
    )
    .await?;
    let can_edit = permit_somewhere(&session.actor, Action::Edit, ResourceKind::User);
    Ok(page(
        &state,
        "users.html",
        Some(&session),
        &csrf,
        context! { page => page_data, q => query.unwrap_or(""), can_edit },
    ))
}

async fn org_options(state: &AppState, session: &Session) -> Result<Vec<Value>, AppError> {
    Ok(crate::render::id_options(
        crate::services::orgs::outline(&state.db, &session.actor, Action::Edit, ResourceKind::User)
            .await?,
    ))
}

async fn form_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    form: &UserInput,
    errors: Value,
) -> Result<Response, AppError> {
    super::directory::may_create(session, ResourceKind::User)?;
    let orgs = org_options(state, session).await?;
    let role_options = options(Role::ALL, Role::code, Role::label);
    Ok(page(
        state,
        "user_form.html",
        Some(session),
        csrf,
        context! { form, errors, orgs, role_options },
    ))
}

async fn new(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    Ok(form_page(&state, &session, &csrf, &UserInput::default(), context! {}).await?)
}

async fn create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(form): HtmlForm<UserInput>,
) -> PageResult {
    match users::create(&state.db, &session.actor, &form).await {
        Ok(created) => {
            let password = created
                .initial_password
                .or(form.password.clone())
                .unwrap_or_default();
            Ok(show_page(
                &state,
                &csrf,
                &session,
                created.user.user.id,
                Some(password),
                context! {},
                &RoleInput::default(),
            )
            .await?)
        }
        Err(AppError::Validation(e)) => {
            let mut r = form_page(
                &state,
                &session,
                &csrf,
                &UserInput {
                    password: None,
                    ..form
                },
                Value::from_serialize(&e),
            )
            .await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

async fn show_page(
    state: &AppState,
    csrf: &str,
    session: &Session,
    id: i64,
    new_password: Option<String>,
    errors: Value,
    form: &RoleInput,
) -> Result<Response, AppError> {
    let d = users::get(&state.db, &session.actor, id).await?;
    let can_edit = permit_somewhere(&session.actor, Action::Edit, ResourceKind::User);
    let events = if can_edit {
        roundtable_store::users::auth_events_for(&mut state.db.pool(), &d.user.username, 20).await?
    } else {
        vec![]
    };
    let orgs = if can_edit {
        org_options(state, session).await?
    } else {
        vec![]
    };
    Ok(page(
        state,
        "user.html",
        Some(session),
        csrf,
        context! { u => d.user, roles => d.roles, can_edit, events, orgs, new_password, errors, form, role_options => options(Role::ALL, Role::code, Role::label) },
    ))
}

async fn show(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    Ok(show_page(
        &state,
        &csrf,
        &session,
        id,
        None,
        context! {},
        &RoleInput::default(),
    )
    .await?)
}

async fn add_role(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<RoleInput>,
) -> PageResult {
    match users::add_role(&state.db, &session.actor, id, &form).await {
        Ok(_) => Ok(Redirect::to(&format!("/users/{id}")).into_response()),
        Err(AppError::Validation(e)) => {
            let mut r = show_page(
                &state,
                &csrf,
                &session,
                id,
                None,
                Value::from_serialize(&e),
                &form,
            )
            .await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

async fn remove_role(
    State(state): State<AppState>,
    session: Session,
    Path((id, role_id)): Path<(i64, i64)>,
) -> PageResult {
    users::remove_role(&state.db, &session.actor, id, role_id).await?;
    Ok(Redirect::to(&format!("/users/{id}")).into_response())
}

async fn lock(State(state): State<AppState>, session: Session, Path(id): Path<i64>) -> PageResult {
    users::set_locked(&state.db, &session.actor, id, true).await?;
    Ok(Redirect::to(&format!("/users/{id}")).into_response())
}

async fn unlock(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    users::set_locked(&state.db, &session.actor, id, false).await?;
    Ok(Redirect::to(&format!("/users/{id}")).into_response())
}

async fn reset_password(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let password = users::reset_password(&state.db, &session.actor, id, None).await?;
    Ok(show_page(
        &state,
        &csrf,
        &session,
        id,
        Some(password),
        context! {},
        &RoleInput::default(),
    )
    .await?)
}
