//! Pages of topic intake (issue 3): the resident portal (`/p`, no account, no JavaScript), the
//! tracking page, and the staff screening desk (`/topics`).

use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use roundtable_core::access::{Action, ResourceKind, permit, permit_somewhere};
use roundtable_core::topics::{Category, Channel, Level, RejectReason, Status};

use super::{HtmlForm, read_multipart};
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::limits::ClientAddr;
use crate::render::{id_options, options, page, page_with_status};
use crate::services::topics::{self, DecisionInput, TopicInput, TopicQuery};
use crate::services::{self, orgs};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/p", get(portal_form).post(portal_submit))
        .route("/p/track", get(track))
        .route("/topics", get(topic_list))
        .route("/topics/new", get(topic_new).post(topic_create))
        .route("/topics/{id}", get(topic_show))
        .route("/topics/{id}/decision", post(topic_decide))
        .route("/topics/decisions", post(topic_decide_many))
        .route("/topics/poster/{org_id}", get(poster))
        .route("/topics/{id}/photos/{photo_id}", get(photo))
}

type PageResult = Result<Response, PageError>;

/// A form shown without errors (templates look fields up in it).
fn no_errors() -> Value {
    context! {}
}

fn categories() -> Vec<Value> {
    options(Category::ALL, Category::code, Category::label)
}

/// Communities grouped by street, for the portal's select box.
async fn community_groups(state: &AppState) -> Result<Vec<Value>, AppError> {
    let list = topics::public_communities(&state.db).await?;
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for c in list {
        let item = context! { code => c.id.to_string(), label => c.name };
        match groups.iter_mut().find(|(s, _)| *s == c.street) {
            Some((_, items)) => items.push(item),
            None => groups.push((c.street, vec![item])),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(street, items)| context! { street, items })
        .collect())
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PortalQuery {
    /// The community, preset by the QR poster's link.
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    c: Option<i64>,
}

async fn portal_page(
    state: &AppState,
    csrf: &str,
    status: StatusCode,
    form: &TopicInput,
    errors: Value,
    message: Option<String>,
) -> Result<Response, AppError> {
    Ok(page_with_status(
        state,
        status,
        "portal.html",
        None,
        csrf,
        context! {
            communities => community_groups(state).await?,
            categories => categories(),
            form, errors, message,
        },
    ))
}

async fn portal_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<PortalQuery>,
) -> PageResult {
    let form = TopicInput {
        org_id: q.c,
        ..Default::default()
    };
    Ok(portal_page(&state, &csrf, StatusCode::OK, &form, no_errors(), None).await?)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PortalForm {
    #[serde(flatten)]
    topic: TopicInput,
    /// The honeypot: hidden from people, filled in by bots.
    website: Option<String>,
}

async fn portal_submit(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    ClientAddr(client): ClientAddr,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let form = form.map_err(|_| AppError::BadRequest("请通过页面上的表单提交".into()))?;
    let (f, files): (PortalForm, _) = read_multipart(form).await?;
    if f.website.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        return Ok(Redirect::to("/p").into_response());
    }
    let uploads = topics::Uploads {
        data_dir: &state.config.data_dir,
        files,
    };
    match topics::submit_public(&state.db, &state.portal_limit, &client, &f.topic, uploads).await {
        Ok(code) => Ok(page(
            &state,
            "portal_done.html",
            None,
            &csrf,
            context! { code },
        )),
        Err(AppError::Validation(e)) => Ok(portal_page(
            &state,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            &f.topic,
            Value::from_serialize(&e),
            None,
        )
        .await?),
        Err(e @ AppError::TooMany) => Ok(portal_page(
            &state,
            &csrf,
            StatusCode::TOO_MANY_REQUESTS,
            &f.topic,
            no_errors(),
            Some(e.to_string()),
        )
        .await?),
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct TrackQuery {
    code: Option<String>,
    phone_last4: Option<String>,
}

async fn track(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<TrackQuery>,
) -> PageResult {
    let code = q.code.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let (status, found, errors) = match code {
        None => (StatusCode::OK, None, no_errors()),
        Some(code) => match topics::get_public(&state.db, code, q.phone_last4.as_deref()).await {
            Ok(t) => (StatusCode::OK, Some(t), no_errors()),
            Err(AppError::NotFound) => (
                StatusCode::NOT_FOUND,
                None,
                context! { code => "没有找到这个查询码，请核对后重试" },
            ),
            Err(AppError::Validation(e)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Value::from_serialize(&e),
            ),
            Err(e) => return Err(e.into()),
        },
    };
    Ok(page_with_status(
        &state,
        status,
        "track.html",
        None,
        &csrf,
        context! { found, errors, code => q.code, phone_last4 => q.phone_last4 },
    ))
}

// ---- screening desk

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ListExtra {
    /// How many matters the last bulk action decided.
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    done: Option<i64>,
}

async fn topic_list(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<TopicQuery>,
    Query(extra): Query<ListExtra>,
) -> PageResult {
    Ok(list_page_with(&state, &csrf, &session, &q, None, extra.done).await?)
}

async fn list_page(
    state: &AppState,
    csrf: &str,
    session: &Session,
    q: &TopicQuery,
    bulk_errors: Option<roundtable_core::FieldErrors>,
) -> Result<Response, AppError> {
    list_page_with(state, csrf, session, q, bulk_errors, None).await
}

async fn list_page_with(
    state: &AppState,
    csrf: &str,
    session: &Session,
    q: &TopicQuery,
    bulk_errors: Option<roundtable_core::FieldErrors>,
    done: Option<i64>,
) -> Result<Response, AppError> {
    let a = &session.actor;
    if !permit_somewhere(a, Action::View, ResourceKind::Topic) {
        return Err(AppError::Forbidden);
    }
    let (list, errors, mut status) = match topics::list(&state.db, a, q).await {
        Ok(l) => (Some(l), no_errors(), StatusCode::OK),
        Err(AppError::Validation(e)) => (
            None,
            Value::from_serialize(&e),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return Err(e),
    };
    if bulk_errors.is_some() {
        status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    let base = format!(
        "/topics?status={}&category={}&channel={}&q={}&from={}&to={}",
        q.status.clone().unwrap_or_default(),
        q.category.clone().unwrap_or_default(),
        q.channel.clone().unwrap_or_default(),
        urlencode(q.q.as_deref().unwrap_or("")),
        q.from.clone().unwrap_or_default(),
        q.to.clone().unwrap_or_default(),
    );
    Ok(page_with_status(
        state,
        status,
        "topics.html",
        Some(session),
        csrf,
        context! {
            page => list, errors, base, bulk_errors, done,
            reasons => options(RejectReason::ALL, RejectReason::code, RejectReason::label),
            f => context! { status => q.status, category => q.category, channel => q.channel, q => q.q, from => q.from, to => q.to },
            statuses => options(Status::ALL, Status::code, Status::label),
            categories => categories(),
            channels => options(Channel::ALL, Channel::code, Channel::label),
            can_edit => permit_somewhere(a, Action::Edit, ResourceKind::Topic),
        },
    ))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct NewQuery {
    /// The tracking code of the matter just saved ("save and enter next").
    saved: Option<String>,
    channel: Option<String>,
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    org_id: Option<i64>,
    /// Kept for the next sheet of the same pile.
    collected_on: Option<String>,
}

async fn intake_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    form: &TopicInput,
    errors: Value,
    saved: Option<String>,
) -> Result<Response, AppError> {
    let a = &session.actor;
    let communities: Vec<Value> =
        id_options(orgs::outline(&state.db, a, Action::Edit, ResourceKind::Topic).await?);
    let collectors = topics::collectors(&state.db, a).await?;
    Ok(page(
        state,
        "topic_form.html",
        Some(session),
        csrf,
        context! {
            form, errors, saved, communities,
            collectors => collectors.into_iter().map(|(id, label)| context! { code => id.to_string(), label }).collect::<Vec<_>>(),
            categories => categories(),
            channels => options(Channel::ALL, Channel::code, Channel::label),
            levels => options(Level::ALL, Level::code, Level::label),
        },
    ))
}

async fn topic_new(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<NewQuery>,
) -> PageResult {
    if !permit_somewhere(&session.actor, Action::Edit, ResourceKind::Topic) {
        return Err(AppError::Forbidden.into());
    }
    // Hotline calls are the most common staff entry.
    let form = TopicInput {
        channel: q.channel.unwrap_or_else(|| Channel::Hotline.code().into()),
        org_id: q.org_id,
        collected_on: q.collected_on,
        ..Default::default()
    };
    Ok(intake_page(&state, &session, &csrf, &form, no_errors(), q.saved).await?)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct IntakeForm {
    #[serde(flatten)]
    topic: TopicInput,
    /// Set by the "save and enter next" button.
    next: Option<String>,
}

async fn topic_create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    let form = form.map_err(|_| AppError::BadRequest("请通过页面上的表单提交".into()))?;
    let (f, files): (IntakeForm, _) = read_multipart(form).await?;
    let uploads = topics::Uploads {
        data_dir: &state.config.data_dir,
        files,
    };
    match topics::create_with_photos(&state.db, &session.actor, &f.topic, uploads).await {
        Ok(t) if f.next.is_some() => Ok(Redirect::to(&format!(
            "/topics/new?saved={}&channel={}&org_id={}&collected_on={}",
            t.tracking_code,
            t.channel,
            t.org_id,
            t.collected_on.map(|d| d.to_string()).unwrap_or_default()
        ))
        .into_response()),
        Ok(t) => Ok(Redirect::to(&format!("/topics/{}", t.id)).into_response()),
        Err(AppError::Validation(e)) => {
            let mut r = intake_page(
                &state,
                &session,
                &csrf,
                &f.topic,
                Value::from_serialize(&e),
                None,
            )
            .await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn detail_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: i64,
    errors: Value,
) -> Result<Response, AppError> {
    let a = &session.actor;
    let topic = topics::get(&state.db, a, id).await?;
    let can_decide = permit(a, Action::Edit, ResourceKind::Topic, &topic.org_path, None);
    Ok(page(
        state,
        "topic.html",
        Some(session),
        csrf,
        context! {
            history => topics::history(&state.db, a, id).await?,
            photos => topics::photos(&state.db, a, id).await?,
            sources => topics::sources(&state.db, a, id).await?,
            similar => if roundtable_core::topics::is_open(Status::parse(&topic.status).unwrap_or(Status::Done)) {
                topics::similar(&state.db, a, id).await?
            } else {
                vec![]
            },
            reasons => options(RejectReason::ALL, RejectReason::code, RejectReason::label),
            categories => categories(),
            levels => options(Level::ALL, Level::code, Level::label),
            can_decide => can_decide && roundtable_core::topics::may_decide(
                a,
                &topic.org_path,
                Level::parse(&topic.level).unwrap_or(Level::Community),
            ),
            case => crate::services::cases::of_topic(&state.db, a, id).await?,
            can_adopt => topic.status == Status::Accepted.code()
                && permit(a, Action::Edit, ResourceKind::Case, &topic.org_path, None),
            topic, errors,
        },
    ))
}

async fn topic_show(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    Ok(detail_page(&state, &session, &csrf, id, no_errors()).await?)
}

async fn topic_decide(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(d): HtmlForm<DecisionInput>,
) -> PageResult {
    match topics::decide(&state.db, &session.actor, id, &d).await {
        Ok(_) => Ok(Redirect::to(&format!("/topics/{id}")).into_response()),
        Err(AppError::Validation(e)) => {
            let mut r = detail_page(&state, &session, &csrf, id, Value::from_serialize(&e)).await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// The printable poster of a community: its name and a QR code of the portal with the
/// community preset, so residents scan and write without choosing.
async fn poster(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    headers: axum::http::HeaderMap,
    Path(org_id): Path<i64>,
) -> PageResult {
    let org = services::orgs::get(&state.db, &session.actor, org_id).await?;
    if roundtable_core::org::OrgKind::parse(&org.kind).map(roundtable_core::org::OrgKind::level)
        != Some(roundtable_core::org::OrgLevel::Community)
    {
        return Err(AppError::NotFound.into());
    }
    let (url, qr) = super::public_link(&state, &headers, &format!("/p?c={}", org.id))?;
    Ok(page(
        &state,
        "poster.html",
        Some(&session),
        &csrf,
        context! { org, url, qr },
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct BulkForm {
    ids: Vec<String>,
    #[serde(flatten)]
    decision: DecisionInput,
}

/// The desk's bulk action on the ticked matters: all or none.
async fn topic_decide_many(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<BulkForm>,
) -> PageResult {
    let ids: Vec<i64> = f.ids.iter().filter_map(|s| s.trim().parse().ok()).collect();
    match topics::decide_many(&state.db, &session.actor, &ids, &f.decision).await {
        Ok(done) => Ok(Redirect::to(&format!("/topics?done={}", done.len())).into_response()),
        Err(AppError::Validation(e)) => Ok(list_page(
            &state,
            &csrf,
            &session,
            &TopicQuery {
                status: Some("pending".into()),
                ..Default::default()
            },
            Some(e),
        )
        .await?),
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PhotoQuery {
    thumb: Option<String>,
}

/// A photo of a matter (or its thumbnail), for whoever may see the matter.
async fn photo(
    State(state): State<AppState>,
    session: Session,
    Path((id, photo_id)): Path<(i64, i64)>,
    Query(q): Query<PhotoQuery>,
) -> PageResult {
    let file = topics::photo_file(
        &state.db,
        &session.actor,
        &state.config.data_dir,
        id,
        photo_id,
        q.thumb.is_some(),
    )
    .await?;
    Ok(crate::services::photos::response(file))
}
