//! Pages of the organisation tree, units, people and links.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use roundtable_core::access::{Action, ResourceKind, permit, permit_somewhere};
use roundtable_core::links::{GroupRole, LinkKind};
use roundtable_core::org::{OrgKind, UnitType};
use roundtable_core::people::{DeputyType, PersonKind};
use roundtable_store::links::LinkFilter;
use roundtable_store::people::PersonFilter;
use roundtable_store::units::UnitFilter;
use roundtable_store::{PageReq, orgs as org_store};

use super::HtmlForm;
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::{id_options, options, page, today};
use crate::services::links::LinkInput;
use crate::services::orgs::OrgInput;
use crate::services::people::PersonInput;
use crate::services::units::UnitInput;
use crate::services::{self, links, orgs, people, units};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orgs", get(org_tree))
        .route("/orgs/new", get(org_new).post(org_create))
        .route("/orgs/{id}", get(org_show))
        .route("/orgs/{id}/edit", get(org_edit).post(org_update))
        .route("/units", get(unit_list))
        .route("/units/new", get(unit_new).post(unit_create))
        .route("/units/{id}", get(unit_show))
        .route("/units/{id}/edit", get(unit_edit).post(unit_update))
        .route("/people", get(person_list))
        .route("/people/new", get(person_new).post(person_create))
        .route("/people/{id}", get(person_show))
        .route("/people/{id}/edit", get(person_edit).post(person_update))
        .route("/links/new", get(link_new).post(link_create))
        .route("/links/{id}/edit", get(link_edit).post(link_update))
        .route("/links/{id}/end", post(link_end))
}

type PageResult = Result<Response, PageError>;

/// After a form's service call: a redirect to the saved record; validation errors are shown by
/// the caller (the form again, 422), anything else is the error page.
fn saved<T>(r: Result<T, AppError>, to: impl FnOnce(T) -> String) -> PageResult {
    match r {
        Ok(v) => Ok(Redirect::to(&to(v)).into_response()),
        Err(e) => Err(e.into()),
    }
}

/// Tree nodes as select options, in tree order and indented.
async fn org_options(
    state: &AppState,
    session: &Session,
    kind: ResourceKind,
    action: Action,
) -> Result<Vec<Value>, AppError> {
    Ok(id_options(
        orgs::outline(&state.db, &session.actor, action, kind).await?,
    ))
}

// ---- organisation

async fn org_tree(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    let tree = orgs::as_tree(orgs::visible(&state.db, &session.actor).await?);
    let can_edit = permit_somewhere(&session.actor, Action::Edit, ResourceKind::Org);
    Ok(page(
        &state,
        "orgs.html",
        Some(&session),
        &csrf,
        context! { tree, can_edit },
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct DateQuery {
    date: Option<String>,
}

async fn org_show(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    Query(q): Query<DateQuery>,
) -> PageResult {
    let org = orgs::get(&state.db, &session.actor, id).await?;
    let mut errs = roundtable_core::FieldErrors::new();
    let date =
        roundtable_core::validate::optional_date(&mut errs, "date", "查询日期", q.date.as_deref())
            .unwrap_or_else(today);
    let linked = links::linked_on(&state.db, &session.actor, id, date).await?;
    let history = links::list(
        &state.db,
        &session.actor,
        &LinkFilter {
            org_id: Some(id),
            ..Default::default()
        },
    )
    .await?;
    let mut pool = state.db.pool();
    let ancestors: Vec<_> = org_store::ancestors(&mut pool, &org.path)
        .await?
        .into_iter()
        .filter(|a| a.id != id)
        .collect();
    let children = org_store::children(&mut pool, id).await?;
    let a = &session.actor;
    let child_kind = OrgKind::parse(&org.kind)
        .is_some_and(|k| k.level() != roundtable_core::org::OrgLevel::Community);
    Ok(page(
        &state,
        "org.html",
        Some(&session),
        &csrf,
        context! {
            can_edit => permit(a, Action::Edit, ResourceKind::Org, &org.path, None),
            can_link => permit(a, Action::Edit, ResourceKind::Link, &org.path, None),
            org, ancestors, children, child_kind, links => linked, history, date => date.to_string(),
            date_error => errs.get("date"),
        },
    ))
}

/// A form for a new record only for those who may create one somewhere (the form itself is
/// no secret, but a form that can only fail is no use either).
pub(crate) fn may_create(session: &Session, kind: ResourceKind) -> Result<(), AppError> {
    if permit_somewhere(&session.actor, Action::Edit, kind) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn org_form_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: Option<i64>,
    form: &OrgInput,
    errors: Value,
) -> Result<Response, AppError> {
    if id.is_none() {
        may_create(session, ResourceKind::Org)?;
    }
    let parents: Vec<Value> = orgs::editable(&state.db, &session.actor, ResourceKind::Org)
        .await?
        .iter()
        .filter(|o| OrgKind::parse(&o.kind).is_some_and(|k| k.level() != roundtable_core::org::OrgLevel::Community))
        .map(|o| context! { code => o.id.to_string(), label => format!("{}（{}）", o.name, OrgKind::parse(&o.kind).map(|k| k.label()).unwrap_or("")) })
        .collect();
    let kinds = options(OrgKind::ALL, OrgKind::code, OrgKind::label);
    Ok(page(
        state,
        "org_form.html",
        Some(session),
        csrf,
        context! { id, form, errors, parents, kinds },
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ParentQuery {
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    parent_id: Option<i64>,
}

async fn org_new(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<ParentQuery>,
) -> PageResult {
    let mut form = OrgInput {
        parent_id: q.parent_id,
        ..Default::default()
    };
    if let Some(pid) = q.parent_id
        && let Some(p) = org_store::get(&mut state.db.pool(), pid).await?
    {
        form.kind = match OrgKind::parse(&p.kind).map(|k| k.level()) {
            Some(roundtable_core::org::OrgLevel::District) => "street".into(),
            _ => "community".into(),
        };
    }
    Ok(org_form_page(&state, &session, &csrf, None, &form, context! {}).await?)
}

async fn org_create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(form): HtmlForm<OrgInput>,
) -> PageResult {
    let r = orgs::create(&state.db, &session.actor, &form).await;
    match r {
        Err(AppError::Validation(e)) => {
            let resp = org_form_page(
                &state,
                &session,
                &csrf,
                None,
                &form,
                Value::from_serialize(&e),
            )
            .await?;
            with_422(resp)
        }
        r => saved(r, |o| format!("/orgs/{}", o.id)),
    }
}

async fn org_edit(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let o = orgs::get(&state.db, &session.actor, id).await?;
    let form = OrgInput {
        parent_id: o.parent_id,
        kind: o.kind,
        name: o.name,
        code: o.code,
        sort_order: Some(o.sort_order),
    };
    Ok(org_form_page(&state, &session, &csrf, Some(id), &form, context! {}).await?)
}

async fn org_update(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<OrgInput>,
) -> PageResult {
    match orgs::update(&state.db, &session.actor, id, &form).await {
        Err(AppError::Validation(e)) => {
            let resp = org_form_page(
                &state,
                &session,
                &csrf,
                Some(id),
                &form,
                Value::from_serialize(&e),
            )
            .await?;
            with_422(resp)
        }
        r => saved(r, |o| format!("/orgs/{}", o.id)),
    }
}

// ---- units

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    q: Option<String>,
    kind: Option<String>,
    unit_type: Option<String>,
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    org_id: Option<i64>,
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    page: Option<i64>,
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    person_id: Option<i64>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

async fn unit_list(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let filter = UnitFilter {
        q: nonempty(&q.q),
        unit_type: nonempty(&q.unit_type),
        org_id: q.org_id,
    };
    let list = units::list(
        &state.db,
        &session.actor,
        &filter,
        PageReq::new(q.page, Some(30)),
    )
    .await?;
    Ok(page(
        &state,
        "units.html",
        Some(&session),
        &csrf,
        context! {
            page => list, q => filter.q.unwrap_or_default(), unit_type => filter.unit_type.unwrap_or_default(),
            org_id => q.org_id.map(|i| i.to_string()).unwrap_or_default(),
            types => options(UnitType::ALL, UnitType::code, UnitType::label),
            can_edit => permit_somewhere(&session.actor, Action::Edit, ResourceKind::Unit),
        },
    ))
}

async fn unit_show(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let unit = units::get(&state.db, &session.actor, id).await?;
    let links = links::list(
        &state.db,
        &session.actor,
        &LinkFilter {
            unit_id: Some(id),
            ..Default::default()
        },
    )
    .await?;
    let can_edit = permit(
        &session.actor,
        Action::Edit,
        ResourceKind::Unit,
        &unit.org_path,
        None,
    );
    Ok(page(
        &state,
        "unit.html",
        Some(&session),
        &csrf,
        context! { unit, links, can_edit },
    ))
}

async fn unit_form_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: Option<i64>,
    form: &UnitInput,
    errors: Value,
) -> Result<Response, AppError> {
    if id.is_none() {
        may_create(session, ResourceKind::Unit)?;
    }
    let orgs = org_options(state, session, ResourceKind::Unit, Action::Edit).await?;
    let types = options(UnitType::ALL, UnitType::code, UnitType::label);
    Ok(page(
        state,
        "unit_form.html",
        Some(session),
        csrf,
        context! { id, form, errors, orgs, types },
    ))
}

async fn unit_new(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    Ok(unit_form_page(
        &state,
        &session,
        &csrf,
        None,
        &UnitInput::default(),
        context! {},
    )
    .await?)
}

async fn unit_create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(form): HtmlForm<UnitInput>,
) -> PageResult {
    match units::create(&state.db, &session.actor, &form).await {
        Err(AppError::Validation(e)) => with_422(
            unit_form_page(
                &state,
                &session,
                &csrf,
                None,
                &form,
                Value::from_serialize(&e),
            )
            .await?,
        ),
        r => saved(r, |u| format!("/units/{}", u.id)),
    }
}

async fn unit_edit(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let u = units::get(&state.db, &session.actor, id).await?;
    let form = UnitInput {
        name: u.name,
        unit_type: u.unit_type,
        org_id: Some(u.org_id),
        contact_name: u.contact_name,
        contact_phone: u.contact_phone,
        note: u.note,
    };
    Ok(unit_form_page(&state, &session, &csrf, Some(id), &form, context! {}).await?)
}

async fn unit_update(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<UnitInput>,
) -> PageResult {
    match units::update(&state.db, &session.actor, id, &form).await {
        Err(AppError::Validation(e)) => with_422(
            unit_form_page(
                &state,
                &session,
                &csrf,
                Some(id),
                &form,
                Value::from_serialize(&e),
            )
            .await?,
        ),
        r => saved(r, |u| format!("/units/{}", u.id)),
    }
}

fn with_422(mut r: Response) -> PageResult {
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}

// ---- people

async fn person_list(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let filter = PersonFilter {
        q: nonempty(&q.q),
        kind: nonempty(&q.kind),
        org_id: q.org_id,
    };
    let list = people::list(
        &state.db,
        &session.actor,
        &filter,
        PageReq::new(q.page, Some(30)),
    )
    .await?;
    let orgs = org_options(&state, &session, ResourceKind::Person, Action::View).await?;
    Ok(page(
        &state,
        "people.html",
        Some(&session),
        &csrf,
        context! {
            page => list, q => filter.q.unwrap_or_default(), kind => filter.kind.unwrap_or_default(),
            org_id => q.org_id.map(|i| i.to_string()).unwrap_or_default(), orgs,
            kinds => options(PersonKind::ALL, PersonKind::code, PersonKind::label),
            can_edit => permit_somewhere(&session.actor, Action::Edit, ResourceKind::Person),
        },
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct RevealQuery {
    reveal: Option<String>,
}

async fn person_show(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    Query(q): Query<RevealQuery>,
) -> PageResult {
    let reveal = q.reveal.is_some();
    let person = people::get(&state.db, &session.actor, id, reveal).await?;
    let links = links::list(
        &state.db,
        &session.actor,
        &LinkFilter {
            person_id: Some(id),
            ..Default::default()
        },
    )
    .await?;
    let a = &session.actor;
    let can_reveal = people::may_reveal(a, &person);
    let can_edit = permit(
        a,
        Action::Edit,
        ResourceKind::Person,
        &person.org_path,
        Some(id),
    );
    let can_link = permit_somewhere(a, Action::Edit, ResourceKind::Link);
    Ok(page(
        &state,
        "person.html",
        Some(&session),
        &csrf,
        context! { person, links, can_reveal, can_edit, can_link, revealed => reveal, today => today().to_string() },
    ))
}

async fn person_form_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: Option<i64>,
    form: &PersonInput,
    errors: Value,
) -> Result<Response, AppError> {
    if id.is_none() {
        may_create(session, ResourceKind::Person)?;
    }
    let orgs = org_options(state, session, ResourceKind::Person, Action::Edit).await?;
    let kinds = options(PersonKind::ALL, PersonKind::code, PersonKind::label);
    let deputy_types = options(DeputyType::ALL, DeputyType::code, DeputyType::label);
    Ok(page(
        state,
        "person_form.html",
        Some(session),
        csrf,
        context! { id, form, errors, orgs, kinds, deputy_types },
    ))
}

async fn person_new(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    Ok(person_form_page(
        &state,
        &session,
        &csrf,
        None,
        &PersonInput::default(),
        context! {},
    )
    .await?)
}

async fn person_create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(form): HtmlForm<PersonInput>,
) -> PageResult {
    match people::create(&state.db, &session.actor, &form).await {
        Err(AppError::Validation(e)) => with_422(
            person_form_page(
                &state,
                &session,
                &csrf,
                None,
                &form,
                Value::from_serialize(&e),
            )
            .await?,
        ),
        r => saved(r, |p| format!("/people/{}", p.id)),
    }
}

async fn person_edit(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let p = people::get(&state.db, &session.actor, id, false).await?;
    let form = PersonInput {
        name: p.name,
        phone: p.phone,
        org_id: Some(p.org_id),
        unit_id: p.unit_id,
        title: p.title,
        deputy_type: p.deputy_type,
        note: p.note,
        kinds: p.kinds,
    };
    Ok(person_form_page(&state, &session, &csrf, Some(id), &form, context! {}).await?)
}

async fn person_update(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<PersonInput>,
) -> PageResult {
    match people::update(&state.db, &session.actor, id, &form).await {
        Err(AppError::Validation(e)) => with_422(
            person_form_page(
                &state,
                &session,
                &csrf,
                Some(id),
                &form,
                Value::from_serialize(&e),
            )
            .await?,
        ),
        r => saved(r, |p| format!("/people/{}", p.id)),
    }
}

// ---- links

async fn link_form_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: Option<i64>,
    form: &LinkInput,
    errors: Value,
) -> Result<Response, AppError> {
    if id.is_none() {
        may_create(session, ResourceKind::Link)?;
    }
    let kind = LinkKind::parse(&form.kind).unwrap_or(LinkKind::LeaderStreet);
    let subjects: Vec<Value> = links::candidates(&state.db, &session.actor, kind)
        .await?
        .into_iter()
        .map(|(id, label)| context! { code => id.to_string(), label })
        .collect();
    let orgs: Vec<Value> = orgs::editable(&state.db, &session.actor, ResourceKind::Link)
        .await?
        .iter()
        .filter(|o| {
            OrgKind::parse(&o.kind).is_some_and(|k| kind.target_levels().contains(&k.level()))
        })
        .map(|o| context! { code => o.id.to_string(), label => o.name.clone() })
        .collect();
    let mut form = form.clone();
    form.kind = kind.code().into();
    Ok(page(
        state,
        "link_form.html",
        Some(session),
        csrf,
        context! {
            id, form, errors, subjects, orgs, subject_is_unit => kind.subject_is_unit(),
            kinds => options(LinkKind::ALL, LinkKind::code, LinkKind::label),
            roles => options(GroupRole::ALL, GroupRole::code, GroupRole::label),
        },
    ))
}

async fn link_new(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let form = LinkInput {
        kind: q.kind.unwrap_or_default(),
        org_id: q.org_id,
        person_id: q.person_id,
        start_date: today().to_string(),
        ..Default::default()
    };
    Ok(link_form_page(&state, &session, &csrf, None, &form, context! {}).await?)
}

fn link_target(l: &roundtable_store::links::Link) -> String {
    match l.person_id {
        Some(p) => format!("/people/{p}"),
        None => format!("/orgs/{}", l.org_id),
    }
}

async fn link_create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(form): HtmlForm<LinkInput>,
) -> PageResult {
    match links::create(&state.db, &session.actor, &form).await {
        Err(AppError::Validation(e)) => with_422(
            link_form_page(
                &state,
                &session,
                &csrf,
                None,
                &form,
                Value::from_serialize(&e),
            )
            .await?,
        ),
        r => saved(r, |l| link_target(&l)),
    }
}

async fn link_edit(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let l = links::get(&state.db, &session.actor, id).await?;
    let form = LinkInput {
        kind: l.kind,
        person_id: l.person_id,
        unit_id: l.unit_id,
        org_id: Some(l.org_id),
        group_role: l.group_role,
        start_date: l.start_date.to_string(),
        end_date: l.end_date.map(|d| d.to_string()),
        note: l.note,
    };
    Ok(link_form_page(&state, &session, &csrf, Some(id), &form, context! {}).await?)
}

async fn link_update(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<LinkInput>,
) -> PageResult {
    match links::update(&state.db, &session.actor, id, &form).await {
        Err(AppError::Validation(e)) => with_422(
            link_form_page(
                &state,
                &session,
                &csrf,
                Some(id),
                &form,
                Value::from_serialize(&e),
            )
            .await?,
        ),
        r => saved(r, |l| link_target(&l)),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct EndForm {
    end_date: Option<String>,
}

async fn link_end(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(form): HtmlForm<EndForm>,
) -> PageResult {
    let l = links::end(&state.db, &session.actor, id, form.end_date.as_deref()).await?;
    Ok(Redirect::to(&link_target(&l)).into_response())
}
