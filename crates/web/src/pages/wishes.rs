//! 微心愿 pages (R-MEM-1): the list and the posting form (`/wishes`), a wish with what the
//! asker may do (`/wishes/{id}`), and the public pages without sign-in: a community's wish
//! wall (`/w/wall/{community}`) and a wish the household confirms (`/w/{code}`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use roundtable_core::access::{Action, ResourceKind, permit_somewhere, scope};
use roundtable_core::wishes::WishStatus;

use super::HtmlForm;
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::{options, page_with_status};
use crate::services::wishes::{self as service, PublicConfirm, WishInput, WishNote, WishQuery};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/wishes", get(list).post(create))
        .route("/wishes/{id}", get(detail))
        .route("/wishes/{id}/{action}", post(act))
        .route("/w/wall/{community}", get(wall))
        .route("/w/{code}", get(public_page).post(public_confirm))
}

type PageResult = Result<Response, PageError>;

async fn list_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    q: &WishQuery,
    errors: Value,
    form: WishInput,
) -> PageResult {
    let a = &session.actor;
    let wishes = service::list(&state.db, a, q).await?;
    let may_post = permit_somewhere(a, Action::Edit, ResourceKind::Wish);
    let communities: Vec<Value> = if may_post {
        roundtable_store::orgs::list_in_scope(
            &mut state.db.pool(),
            &scope(a, Action::Edit, ResourceKind::Wish),
        )
        .await?
        .into_iter()
        .filter(|o| matches!(o.kind.as_str(), "community" | "village"))
        .map(|o| context! { code => o.id.to_string(), label => o.name })
        .collect()
    } else {
        Vec::new()
    };
    let status = crate::render::form_status(&errors);
    Ok(page_with_status(
        state,
        status,
        "wishes.html",
        Some(session),
        csrf,
        context! {
            wishes, may_post, communities, errors, form, q => Value::from_serialize(q),
            statuses => options(WishStatus::ALL, WishStatus::code, WishStatus::label),
            is_member => a.person_id.is_some(),
        },
    ))
}

async fn list(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<WishQuery>,
) -> PageResult {
    list_with(
        &state,
        &session,
        &csrf,
        &q,
        context! {},
        WishInput::default(),
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<WishInput>,
) -> PageResult {
    match service::post(&state.db, &session.actor, &f).await {
        Ok(w) => Ok(Redirect::to(&format!("/wishes/{}", w.id)).into_response()),
        Err(AppError::Validation(e)) => {
            let errors = Value::from_serialize(&e);
            list_with(&state, &session, &csrf, &WishQuery::default(), errors, f).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn detail_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: i64,
    errors: Value,
) -> PageResult {
    let view = service::view(&state.db, &session.actor, id).await?;
    let status = crate::render::form_status(&errors);
    Ok(page_with_status(
        state,
        status,
        "wish.html",
        Some(session),
        csrf,
        context! { view, errors },
    ))
}

async fn detail(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    detail_with(&state, &session, &csrf, id, context! {}).await
}

async fn act(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, action)): Path<(i64, String)>,
    HtmlForm(n): HtmlForm<WishNote>,
) -> PageResult {
    let (db, a) = (&state.db, &session.actor);
    let r = match action.as_str() {
        "claim" => service::claim(db, a, id).await,
        "fulfil" => service::fulfil(db, a, id, &n).await,
        "confirm" => service::confirm(db, a, id, &n).await,
        "cancel" => service::cancel(db, a, id, &n).await,
        _ => Err(AppError::NotFound),
    };
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/wishes/{id}")).into_response()),
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => {
            detail_with(&state, &session, &csrf, id, Value::from_serialize(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn wall(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(community): Path<i64>,
) -> PageResult {
    let wall = service::wall(&state.db, community).await?;
    Ok(page_with_status(
        &state,
        StatusCode::OK,
        "wish_wall.html",
        None,
        &csrf,
        context! { wall },
    ))
}

async fn public_with(
    state: &AppState,
    csrf: &str,
    code: &str,
    status: StatusCode,
    errors: Value,
    done: bool,
) -> PageResult {
    let wish = service::public_wish(&state.db, code).await?;
    Ok(page_with_status(
        state,
        status,
        "wish_public.html",
        None,
        csrf,
        context! { wish, errors, done },
    ))
}

async fn public_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(code): Path<String>,
) -> PageResult {
    public_with(&state, &csrf, &code, StatusCode::OK, context! {}, false).await
}

async fn public_confirm(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    crate::limits::ClientAddr(client): crate::limits::ClientAddr,
    Path(code): Path<String>,
    HtmlForm(f): HtmlForm<PublicConfirm>,
) -> PageResult {
    let r = if state.portal_limit.allow(&client) {
        service::public_confirm(&state.db, &code, &f).await
    } else {
        Err(AppError::TooMany)
    };
    match r {
        Ok(_) => public_with(&state, &csrf, &code, StatusCode::OK, context! {}, true).await,
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => {
            let errors = Value::from_serialize(&e);
            public_with(
                &state,
                &csrf,
                &code,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                false,
            )
            .await
        }
        Err(e @ AppError::TooMany) => {
            let errors = context! { phone_last4 => e.to_string() };
            public_with(
                &state,
                &csrf,
                &code,
                StatusCode::TOO_MANY_REQUESTS,
                errors,
                false,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
