//! R-ORG-4 pages: the resource list with the publishing form (`/resources`), an offer with the
//! cases it went to (`/resources/{id}`), and a case's needs with the proposed offers and the
//! accepted matches (`/cases/{id}/resources`).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use roundtable_core::access::{Action, ResourceKind, permit_somewhere, scope};
use roundtable_core::org::path_ids;
use roundtable_core::people::PersonKind;
use roundtable_core::resources::ResourceType;
use roundtable_core::topics::Category;
use roundtable_store::PageReq;
use roundtable_store::people::PersonFilter;

use super::HtmlForm;
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::{id_options, options, page_with_status};
use crate::services::resources::{
    self as service, AcceptInput, NeedInput, ResourceInput, ResourceQuery, WithdrawInput,
};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/resources", get(list).post(publish))
        .route("/resources/{id}", get(detail))
        .route("/resources/{id}/withdraw", post(withdraw))
        .route("/cases/{id}/resources", get(needs).post(add_need))
        .route(
            "/cases/{id}/resources/needs/{need_id}/remove",
            post(remove_need),
        )
        .route("/cases/{id}/resources/needs/{need_id}/accept", post(accept))
        .route(
            "/cases/{id}/resources/matches/{match_id}/cancel",
            post(cancel),
        )
}

type PageResult = Result<Response, PageError>;

fn kinds() -> Vec<Value> {
    options(ResourceType::ALL, ResourceType::code, ResourceType::label)
}

/// The choices of the publishing form: the nodes the asker may publish at, the units of their
/// district and the party members of their scope (staff), or nothing (a member publishes their
/// own offer).
async fn choices(state: &AppState, session: &Session) -> Result<Value, AppError> {
    let a = &session.actor;
    let s = scope(a, Action::Edit, ResourceKind::Resource);
    if s.org_ids.is_empty() && !s.everywhere {
        return Ok(context! { staff => false });
    }
    let nodes =
        crate::services::orgs::outline(&state.db, a, Action::Edit, ResourceKind::Resource).await?;
    let mut pool = state.db.pool();
    let districts: Vec<i64> = roundtable_store::orgs::list_in_scope(&mut pool, &s)
        .await?
        .iter()
        .filter_map(|o| path_ids(&o.path).first().copied())
        .collect();
    let units: Vec<(i64, String)> = roundtable_store::units::all(&mut pool)
        .await?
        .into_iter()
        .filter(|u| s.everywhere || districts.contains(&path_ids(&u.org_path)[0]))
        .map(|u| (u.id, format!("{}（{}）", u.name, u.org_name)))
        .collect();
    let members: Vec<(i64, String)> = roundtable_store::people::list(
        &mut pool,
        &s,
        &PersonFilter {
            kind: Some(PersonKind::PartyMember.code().into()),
            ..Default::default()
        },
        PageReq::new(Some(1), Some(500)),
    )
    .await?
    .items
    .into_iter()
    .map(|p| (p.id, format!("{}（{}）", p.name, p.org_name)))
    .collect();
    Ok(context! {
        staff => true,
        nodes => id_options(nodes),
        units => id_options(units),
        members => id_options(members),
    })
}

async fn list_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    q: &ResourceQuery,
    errors: Value,
    form: ResourceInput,
) -> PageResult {
    let a = &session.actor;
    let offers = service::list(&state.db, a, q).await?;
    let may_publish = permit_somewhere(a, Action::Edit, ResourceKind::Resource);
    let choices = if may_publish {
        choices(state, session).await?
    } else {
        context! {}
    };
    let status = crate::render::form_status(&errors);
    Ok(page_with_status(
        state,
        status,
        "resources.html",
        Some(session),
        csrf,
        context! {
            offers, may_publish, choices, errors, form, q => Value::from_serialize(q),
            kinds => kinds(),
            categories => options(Category::ALL, Category::code, Category::label),
            is_member => a.person_id.is_some(),
        },
    ))
}

async fn list(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<ResourceQuery>,
) -> PageResult {
    let form = ResourceInput::default();
    list_with(&state, &session, &csrf, &q, context! {}, form).await
}

async fn publish(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<ResourceInput>,
) -> PageResult {
    match service::publish(&state.db, &session.actor, &f).await {
        Ok(r) => Ok(Redirect::to(&format!("/resources/{}", r.resource.id)).into_response()),
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => {
            let errors = Value::from_serialize(&e);
            let q = ResourceQuery::default();
            list_with(&state, &session, &csrf, &q, errors, f).await
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
        "resource.html",
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

async fn withdraw(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<WithdrawInput>,
) -> PageResult {
    match service::withdraw(&state.db, &session.actor, id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/resources/{id}")).into_response()),
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => {
            detail_with(&state, &session, &csrf, id, Value::from_serialize(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The needs page; `errors` belong to the form named `form` (a need's accept form is
/// `accept_{need}`), so each form shows its own.
async fn needs_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: i64,
    form: &str,
    errors: Value,
    typed: NeedInput,
) -> PageResult {
    let view = service::case_needs(&state.db, &session.actor, id).await?;
    let status = crate::render::form_status(&errors);
    Ok(page_with_status(
        state,
        status,
        "case_resources.html",
        Some(session),
        csrf,
        context! { view, errors, form, typed, kinds => kinds() },
    ))
}

async fn needs(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let typed = NeedInput::default();
    needs_with(&state, &session, &csrf, id, "", context! {}, typed).await
}

/// After a change: back to the page, or the page again with the form's errors.
async fn after(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: i64,
    form: &str,
    r: Result<service::CaseNeeds, AppError>,
    typed: NeedInput,
) -> PageResult {
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}/resources")).into_response()),
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => {
            let errors = Value::from_serialize(&e);
            needs_with(state, session, csrf, id, form, errors, typed).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn add_need(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<NeedInput>,
) -> PageResult {
    let r = service::add_need(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, id, "need", r, f).await
}

async fn remove_need(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, need_id)): Path<(i64, i64)>,
) -> PageResult {
    let r = service::remove_need(&state.db, &session.actor, id, need_id).await;
    let form = format!("need_{need_id}");
    after(&state, &session, &csrf, id, &form, r, NeedInput::default()).await
}

async fn accept(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, need_id)): Path<(i64, i64)>,
    HtmlForm(f): HtmlForm<AcceptInput>,
) -> PageResult {
    let r = service::accept(&state.db, &session.actor, id, need_id, &f).await;
    let form = format!("need_{need_id}");
    after(&state, &session, &csrf, id, &form, r, NeedInput::default()).await
}

async fn cancel(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, match_id)): Path<(i64, i64)>,
) -> PageResult {
    let r = service::cancel_match(&state.db, &session.actor, id, match_id).await;
    let form = format!("match_{match_id}");
    after(&state, &session, &csrf, id, &form, r, NeedInput::default()).await
}
