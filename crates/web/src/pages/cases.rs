//! Case pages (issue 4): the list, the case page with its seven steps, what the current step
//! still lacks and the forms of its records, and the holiday calendar an administrator keeps.
//! All forms post without JavaScript; an error shows the page again with the message next to
//! the field and what was typed.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use roundtable_core::access::{Action, ResourceKind, permit, permit_somewhere};
use roundtable_core::calendar::first_saturday;
use roundtable_core::cases::{DocKind, FieldKind, Step};
use roundtable_core::meeting::{AGENDA, ParticipantKind};
use roundtable_core::topics::Level;

use super::HtmlForm;
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::{options, page_with_status};
use crate::services::calendar::{self, YearInput};
use crate::services::cases::{
    self as service, CaseInput, CaseQuery, MoveInput, OPINION_SOURCES, OpinionInput, VisitInput,
};
use crate::services::meetings::{
    self, CommentInput, MinutesAction, OpenInput, ParticipantInput, PlanInput, ResolutionInput,
};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cases", get(list).post(create))
        .route("/cases/{id}", get(show))
        .route("/cases/{id}/moves", post(move_step))
        .route("/cases/{id}/visits", post(add_visit))
        .route("/cases/{id}/opinions", post(add_opinion))
        .route("/cases/{id}/documents/{kind}", post(save_document))
        .route("/cases/{id}/meeting", post(meeting_plan))
        .route("/cases/{id}/meeting/participants", post(meeting_add))
        .route(
            "/cases/{id}/meeting/participants/{pid}/{op}",
            post(meeting_participant),
        )
        .route("/cases/{id}/meeting/open", post(meeting_open))
        .route("/cases/{id}/meeting/minutes", post(meeting_minutes))
        .route(
            "/cases/{id}/meeting/minutes/actions",
            post(meeting_minutes_action),
        )
        .route(
            "/cases/{id}/meeting/minutes/comments",
            post(meeting_comment),
        )
        .route("/cases/{id}/meeting/resolution", post(meeting_resolution))
        .route("/cases/{id}/meeting/filing", post(meeting_file))
        .route("/calendar", get(calendar_page).post(calendar_store))
}

type PageResult = Result<Response, PageError>;

async fn list(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<CaseQuery>,
) -> PageResult {
    let a = &session.actor;
    if !permit_somewhere(a, Action::View, ResourceKind::Case) {
        return Err(AppError::Forbidden.into());
    }
    let (list, errors) = match service::list(&state.db, a, &q).await {
        Ok(l) => (Some(l), context! {}),
        Err(AppError::Validation(e)) => (None, Value::from_serialize(&e)),
        Err(e) => return Err(e.into()),
    };
    let status = if list.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut steps = Step::SEVEN.to_vec();
    steps.extend([Step::Done, Step::Stopped]);
    Ok(page_with_status(
        &state,
        status,
        "cases.html",
        Some(&session),
        &csrf,
        context! {
            page => list,
            errors,
            base => format!(
                "/cases?step={}&level={}",
                q.step.clone().unwrap_or_default(),
                q.level.clone().unwrap_or_default()
            ),
            step => q.step,
            level => q.level,
            steps => options(&steps, Step::code, Step::label),
            levels => options(Level::ALL, Level::code, Level::label),
        },
    ))
}

/// R-PROC-1: "立项" on a topic's page.
async fn create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<CaseInput>,
) -> PageResult {
    match service::create(&state.db, &session.actor, &f).await {
        Ok(c) => Ok(Redirect::to(&format!("/cases/{}", c.id)).into_response()),
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => {
            let Some(topic_id) = f.topic_id else {
                return Err(AppError::Validation(e).into());
            };
            let mut r = super::topics::detail_page(
                &state,
                &session,
                &csrf,
                topic_id,
                Value::from_serialize(&e),
            )
            .await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// What a form posted, kept for the page shown again with errors.
#[derive(Default, serde::Serialize)]
struct Posted {
    /// visit, opinion, move, or a document kind
    form: String,
    values: BTreeMap<String, String>,
}

/// One document form: its fields with the latest values (or what was just typed).
fn doc_form(
    kind: DocKind,
    latest: Option<&roundtable_store::cases::Document>,
    defaults: &BTreeMap<&str, String>,
    posted: &Posted,
) -> Value {
    let typed = (posted.form == kind.code()).then_some(&posted.values);
    let fields: Vec<Value> = kind
        .fields()
        .iter()
        .map(|f| {
            let stored = latest
                .and_then(|d| d.body.get(f.name))
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let value = typed
                .and_then(|t| t.get(f.name).cloned())
                .or(stored.clone())
                .or_else(|| defaults.get(f.name).cloned())
                .unwrap_or_default();
            let input = match f.kind {
                FieldKind::Line(_) => "text",
                FieldKind::Text(_) => "textarea",
                FieldKind::Date => "date",
                FieldKind::Time => "time",
            };
            context! { name => f.name, label => f.label, required => f.required, input, value, stored }
        })
        .collect();
    context! {
        kind => kind.code(),
        label => kind.label(),
        version => latest.map(|d| d.version),
        saved_at => latest.map(|d| d.created_at),
        fields,
    }
}

async fn case_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: i64,
    errors: Value,
    posted: Posted,
) -> PageResult {
    let a = &session.actor;
    let v = service::view(&state.db, a, id).await?;
    let c = &v.case;
    let at = Step::parse(&c.step).unwrap_or(Step::Topic);
    let can_edit = permit(a, Action::Edit, ResourceKind::Case, &c.org_path, None);
    let can_visit = permit(a, Action::Edit, ResourceKind::Visit, &c.org_path, None);
    let level = Level::parse(&c.level);
    // What the system knows already fills the forms (the worker corrects it).
    let leaders = service::linked_leaders(&state.db, c).await?;
    let leader_names = leaders
        .iter()
        .map(|(_, n)| n.as_str())
        .collect::<Vec<_>>()
        .join("、");
    let mut defaults: BTreeMap<&str, String> = BTreeMap::new();
    defaults.insert("place", format!("{}党群服务中心", c.org_name));
    defaults.insert("time", "09:00".into());
    defaults.insert("leader", leader_names.clone());
    // A district-level meeting falls on the month's first Saturday when a district leader
    // attends (R-LEAD-1, R-CAL-2): the next one is proposed.
    if level == Some(Level::District) {
        let cal = state.calendar.get(&state.db).await?;
        let today = crate::render::today();
        let mut month = (
            chrono::Datelike::year(&today),
            chrono::Datelike::month(&today),
        );
        for _ in 0..2 {
            if let Some((sat, _)) = first_saturday(&cal, month.0, month.1)
                && sat >= today
            {
                defaults.insert("date", sat.to_string());
                break;
            }
            month = if month.1 == 12 {
                (month.0 + 1, 1)
            } else {
                (month.0, month.1 + 1)
            };
        }
    }
    defaults.insert(
        "participants",
        format!(
            "固定人员：挂点区级领导（{}）、街道挂点领导、社区两委干部；机动人员：相关部门、两代表一委员、共建单位、物业、居民代表",
            if leader_names.is_empty() {
                "待定"
            } else {
                &leader_names
            }
        ),
    );
    defaults.insert(
        "agenda",
        "1. 主持人介绍议题来源、审核情况、议题内容和议程\n2. 议题提出人说明议题\n3. 参会人员自由发言\n4. 主持人总结并表明意见\n5. 现场形成协商决议"
            .into(),
    );
    let docs: Vec<Value> = DocKind::ALL
        .iter()
        .filter(|k| **k != DocKind::LeaderConsultation || level == Some(Level::District))
        .map(|k| {
            let latest = v.documents.iter().find(|d| d.kind == k.code());
            context! { step => k.step().code(), form => doc_form(*k, latest, &defaults, &posted) }
        })
        .collect();
    let council = if can_visit && at == Step::Opinions {
        service::council_members(&state.db, c).await?
    } else {
        vec![]
    };
    let meeting = meetings::view(&state.db, a, id).await?;
    let (people, units) = if can_edit && at == Step::Deliberation {
        meetings::candidates(&state.db, c).await?
    } else {
        (vec![], vec![])
    };
    let plan_doc = v
        .documents
        .iter()
        .find(|d| d.kind == DocKind::MeetingPlan.code())
        .map(|d| d.body.clone());
    let status = if errors.len().unwrap_or(0) > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let next = at.next();
    Ok(page_with_status(
        state,
        status,
        "case.html",
        Some(session),
        csrf,
        context! {
            v, errors, docs, can_edit, can_visit,
            at => at.code(),
            at_label => at.label(),
            at_rule => at.rule(),
            next_label => next.map(Step::label),
            previous_label => at.previous().map(Step::label),
            is_final => at.is_final(),
            council => crate::render::id_options(council),
            sources => OPINION_SOURCES.iter().map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
            posted => posted,
            today => crate::render::today().to_string(),
            meeting, plan_doc,
            people => crate::render::id_options(people),
            units => crate::render::id_options(units),
            participant_kinds => options(ParticipantKind::ALL, ParticipantKind::code, ParticipantKind::label),
            agenda => AGENDA.iter().map(|(k, l)| context! { key => k, label => l }).collect::<Vec<_>>(),
        },
    ))
}

async fn show(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    case_page(&state, &session, &csrf, id, context! {}, Posted::default()).await
}

/// After a form: back to the case; a refused change shows the page again with its message.
async fn after<T>(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: i64,
    r: Result<T, AppError>,
    posted: Posted,
) -> PageResult {
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => {
            case_page(state, session, csrf, id, Value::from_serialize(&e), posted).await
        }
        Err(e) => Err(e.into()),
    }
}

fn posted<T: serde::Serialize>(form: &str, v: &T) -> Posted {
    let values = serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Number(n) => Some((k, n.to_string())),
            _ => None,
        })
        .collect();
    Posted {
        form: form.into(),
        values,
    }
}

async fn move_step(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<MoveInput>,
) -> PageResult {
    let r = service::move_step(&state.db, &session.actor, id, &f).await;
    let p = posted(&format!("move_{}", f.action.trim()), &f);
    after(&state, &session, &csrf, id, r, p).await
}

async fn add_visit(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<VisitInput>,
) -> PageResult {
    let r = service::add_visit(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, id, r, posted("visit", &f)).await
}

async fn add_opinion(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<OpinionInput>,
) -> PageResult {
    let r = service::add_opinion(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, id, r, posted("opinion", &f)).await
}

async fn save_document(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, kind)): Path<(i64, String)>,
    HtmlForm(mut f): HtmlForm<BTreeMap<String, String>>,
) -> PageResult {
    f.remove("_csrf");
    let r = service::save_document(&state.db, &session.actor, id, &kind, &f).await;
    let p = Posted {
        form: kind,
        values: f,
    };
    after(&state, &session, &csrf, id, r, p).await
}

async fn meeting_plan(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<PlanInput>,
) -> PageResult {
    let r = meetings::plan(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, id, r, posted("meeting_plan", &f)).await
}

async fn meeting_add(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<ParticipantInput>,
) -> PageResult {
    let r = meetings::add_participant(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, id, r, posted("participant", &f)).await
}

/// `delete` (before the meeting opens) or `sign-in` (once it has).
async fn meeting_participant(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, pid, op)): Path<(i64, i64, String)>,
) -> PageResult {
    let r = match op.as_str() {
        "delete" => meetings::remove_participant(&state.db, &session.actor, id, pid).await,
        "sign-in" => meetings::sign_in(&state.db, &session.actor, id, pid).await,
        _ => return Err(AppError::NotFound.into()),
    };
    after(&state, &session, &csrf, id, r, Posted::default()).await
}

async fn meeting_open(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<OpenInput>,
) -> PageResult {
    let r = meetings::open(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, id, r, posted("meeting_open", &f)).await
}

async fn meeting_minutes(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(mut f): HtmlForm<BTreeMap<String, String>>,
) -> PageResult {
    f.remove("_csrf");
    let r = meetings::save_minutes(&state.db, &session.actor, id, &f).await;
    let p = Posted {
        form: "minutes".into(),
        values: f,
    };
    after(&state, &session, &csrf, id, r, p).await
}

async fn meeting_minutes_action(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<MinutesAction>,
) -> PageResult {
    let r = meetings::minutes_action(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, id, r, posted("minutes_action", &f)).await
}

async fn meeting_comment(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<CommentInput>,
) -> PageResult {
    let name = session.user.display_name.clone();
    let r = meetings::comment(&state.db, &session.actor, &name, id, &f).await;
    after(&state, &session, &csrf, id, r, posted("comment", &f)).await
}

async fn meeting_resolution(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<ResolutionInput>,
) -> PageResult {
    let r = meetings::resolve(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, id, r, posted("resolution", &f)).await
}

async fn meeting_file(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let r = meetings::file(&state.db, &session.actor, id).await;
    after(&state, &session, &csrf, id, r, Posted::default()).await
}

async fn calendar_page_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    errors: Value,
    form: YearInput,
) -> PageResult {
    let a = &session.actor;
    let years = calendar::years(&state.db, a).await?;
    let status = if errors.len().unwrap_or(0) > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(page_with_status(
        state,
        status,
        "calendar.html",
        Some(session),
        csrf,
        context! { years, errors, form, can_edit => calendar::may_edit(a) },
    ))
}

async fn calendar_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    calendar_page_with(&state, &session, &csrf, context! {}, YearInput::default()).await
}

async fn calendar_store(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<YearInput>,
) -> PageResult {
    match calendar::store_year(&state.calendar, &state.db, &session.actor, &f).await {
        Ok(_) => Ok(Redirect::to("/calendar").into_response()),
        Err(AppError::Validation(e)) => {
            calendar_page_with(&state, &session, &csrf, Value::from_serialize(&e), f).await
        }
        Err(e) => Err(e.into()),
    }
}
