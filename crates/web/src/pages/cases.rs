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
use roundtable_core::cases::{DocKind, EvidenceOf, FieldKind, Step};
use roundtable_core::meeting::{AGENDA, ParticipantKind};
use roundtable_core::project::{CommitteeSide, FundingSource, PartyKind, Satisfaction};
use roundtable_core::topics::Level;

use super::{HtmlForm, MultipartForm};
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::{options, page_with_status};
use crate::services::calendar::{self, YearInput};
use crate::services::cases::{
    self as service, CaseInput, CaseQuery, MoveInput, OPINION_SOURCES, OpinionInput, VisitInput,
};
use crate::services::evidence::{self, Evidence};
use crate::services::meetings::{
    self, CommentInput, MinutesAction, OpenInput, ParticipantInput, PlanInput, ResolutionInput,
};
use crate::services::projects::{
    self, AcceptanceInput, AgreementInput, AnswerInput, BudgetInput, InspectionInput, LedgerAction,
    MemberInput, ObjectionInput, PeriodInput, PublicOpinionInput, RemarkInput, TaskInput,
    VoteInput,
};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cases", get(list).post(create))
        .route("/cases/{id}", get(show))
        .route("/cases/{id}/moves", post(move_step))
        .route("/cases/{id}/visits", post(add_visit))
        .route("/cases/{id}/opinions", post(add_opinion))
        .route("/cases/{id}/step-documents/{kind}", post(save_document))
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
        .route("/cases/{id}/plan/{what}", post(plan_add))
        .route("/cases/{id}/plan/{what}/{row}/delete", post(plan_remove))
        .route("/cases/{id}/notices", post(notice_publish))
        .route("/cases/{id}/objections", post(objection_add))
        .route(
            "/cases/{id}/objections/{oid}/answer",
            post(objection_answer),
        )
        .route("/cases/{id}/ledger/{item}/actions", post(ledger_action))
        .route("/cases/{id}/supervision/inspections", post(add_inspection))
        .route("/cases/{id}/supervision/{what}", post(supervision_add))
        .route("/cases/{id}/evidence/{kind}/{record}", post(add_evidence))
        .route("/cases/{id}/photos/{photo_id}", get(evidence_photo))
        .route("/cases/{id}/poster", get(poster))
        .route("/cases/{id}/timeline", get(timeline))
        .route("/cases/{id}/documents/{kind}", get(document))
        .route("/cases/{id}/ledger.xlsx", get(ledger_xlsx))
        .route("/c/{code}", get(public_page))
        .route("/v", get(verify_form))
        .route("/v/{fingerprint}", get(verify_page))
        .route("/c/{code}/objections", post(public_objection))
        .route("/c/{code}/opinions", post(public_opinion))
        .route("/c/{code}/votes", post(public_vote))
        .route("/calendar", get(calendar_page).post(calendar_store))
        .route("/calendar/import", post(calendar_import))
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
    // One connection for the page's reads.
    let mut e = state.db.conn().await?;
    let v = service::view_in(&mut e, a, id).await?;
    let meeting = meetings::view_of(&mut e, &v.case).await?;
    let project = projects::view_in(&mut e, id).await?;
    // R-INT-1: what each record's delivery to the platforms is (only targets that take it).
    let deliveries: Vec<_> =
        crate::services::exchange::case_deliveries(&mut e, id, &v.case.org_path)
            .await?
            .into_iter()
            .filter(|r| !r.targets.is_empty())
            .collect();
    drop(e);
    let delivery_of: BTreeMap<String, Vec<crate::services::exchange::DeliveryState>> = deliveries
        .iter()
        .map(|r| (format!("{}:{}", r.kind, r.record_id), r.targets.clone()))
        .collect();
    let c = &v.case;
    let at = Step::parse(&c.step).unwrap_or(Step::Topic);
    let can_edit = permit(a, Action::Edit, ResourceKind::Case, &c.org_path, None);
    let can_visit = permit(a, Action::Edit, ResourceKind::Visit, &c.org_path, None);
    let level = Level::parse(&c.level);
    // What the system knows already fills the forms (the worker corrects it); only the forms
    // of 分析研判 need it.
    let filling = can_edit && at == Step::Analysis;
    let leaders = if filling {
        service::linked_leaders(&state.db, c).await?
    } else {
        vec![]
    };
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
    if filling && level == Some(Level::District) {
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
    // The pick lists only where a form shows them: mobile members while the meeting is being
    // planned, task owners at 项目公示, committee members at 监督执行.
    let picking = match at {
        Step::Deliberation => meeting
            .as_ref()
            .is_some_and(|m| m.meeting.status == "planned"),
        Step::Notice | Step::Supervision => true,
        _ => false,
    };
    let (people, units) = if can_edit && picking {
        meetings::candidates(&state.db, c).await?
    } else {
        (vec![], vec![])
    };
    let can_supervise = permit(
        a,
        Action::Edit,
        ResourceKind::Supervision,
        &c.org_path,
        None,
    );
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
            meeting, plan_doc, project, can_supervise, deliveries, delivery_of,
            me_person => a.person_id,
            funding_sources => options(FundingSource::ALL, FundingSource::code, FundingSource::label),
            party_kinds => options(PartyKind::ALL, PartyKind::code, PartyKind::label),
            committee_sides => options(CommitteeSide::ALL, CommitteeSide::code, CommitteeSide::label),
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

/// A visit with the photos taken there (multipart).
async fn add_visit(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    MultipartForm(f, files): MultipartForm<VisitInput>,
) -> PageResult {
    let r = match Evidence::check(&state.config.data_dir, files) {
        Ok(photos) => service::add_visit(&state.db, &session.actor, id, &f, &photos).await,
        Err(e) => Err(e),
    };
    after(&state, &session, &csrf, id, r, posted("visit", &f)).await
}

/// Photos added to a visit, a ledger item or an inspection already recorded (multipart).
async fn add_evidence(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, kind, record)): Path<(i64, String, i64)>,
    MultipartForm(f, files): MultipartForm<BTreeMap<String, String>>,
) -> PageResult {
    let of = EvidenceOf::parse(&kind).ok_or(AppError::NotFound)?;
    let r = match Evidence::check(&state.config.data_dir, files) {
        Ok(photos) => evidence::add(&state.db, &session.actor, id, of, record, &photos).await,
        Err(e) => Err(e),
    };
    let p = Posted {
        form: format!("evidence_{}_{record}", of.code()),
        values: f,
    };
    after(&state, &session, &csrf, id, r, p).await
}

/// An evidence photo (or its thumbnail), for whoever may see the case.
async fn evidence_photo(
    State(state): State<AppState>,
    session: Session,
    Path((id, photo_id)): Path<(i64, i64)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> PageResult {
    let file = evidence::file(
        &state.db,
        &session.actor,
        &state.config.data_dir,
        id,
        photo_id,
        q.contains_key("thumb"),
    )
    .await?;
    Ok(crate::services::photos::response(file))
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

/// One of several forms posted to one route, read as its input type.
fn parsed<T: serde::de::DeserializeOwned>(f: &BTreeMap<String, String>) -> Result<T, AppError> {
    serde_json::to_value(f)
        .and_then(serde_json::from_value)
        .map_err(|e| AppError::BadRequest(e.to_string()))
}

/// Tasks, budget lines and agreements of the plan (R-PROC-5).
async fn plan_add(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, what)): Path<(i64, String)>,
    HtmlForm(f): HtmlForm<BTreeMap<String, String>>,
) -> PageResult {
    let a = &session.actor;
    let r = match what.as_str() {
        "tasks" => match parsed::<TaskInput>(&f) {
            Ok(t) => projects::add_task(&state.db, a, id, &t).await,
            Err(e) => Err(e),
        },
        "budget" => match parsed::<BudgetInput>(&f) {
            Ok(b) => projects::add_budget(&state.db, a, id, &b).await,
            Err(e) => Err(e),
        },
        "agreements" => match parsed::<AgreementInput>(&f) {
            Ok(g) => projects::add_agreement(&state.db, a, id, &g).await,
            Err(e) => Err(e),
        },
        _ => return Err(AppError::NotFound.into()),
    };
    let p = Posted {
        form: format!("plan_{what}"),
        values: f,
    };
    after(&state, &session, &csrf, id, r, p).await
}

async fn plan_remove(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, what, row)): Path<(i64, String, i64)>,
) -> PageResult {
    let table = match what.as_str() {
        "tasks" => roundtable_store::projects::PlanTable::Task,
        "budget" => roundtable_store::projects::PlanTable::Budget,
        _ => return Err(AppError::NotFound.into()),
    };
    let r = projects::remove_plan_row(&state.db, &session.actor, id, table, row).await;
    after(&state, &session, &csrf, id, r, Posted::default()).await
}

async fn notice_publish(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let r = projects::publish_notice(
        &state.calendar,
        state.config.notice_working_days,
        &state.db,
        &session.actor,
        id,
    )
    .await;
    after(&state, &session, &csrf, id, r, posted("notice", &())).await
}

async fn objection_add(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<ObjectionInput>,
) -> PageResult {
    let r = projects::add_objection(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, id, r, posted("objection", &f)).await
}

async fn objection_answer(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, oid)): Path<(i64, i64)>,
    HtmlForm(f): HtmlForm<AnswerInput>,
) -> PageResult {
    let r = projects::answer_objection(&state.db, &session.actor, id, oid, &f).await;
    after(
        &state,
        &session,
        &csrf,
        id,
        r,
        posted(&format!("answer_{oid}"), &f),
    )
    .await
}

async fn ledger_action(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, item)): Path<(i64, i64)>,
    MultipartForm(f, files): MultipartForm<LedgerAction>,
) -> PageResult {
    let r = match Evidence::check(&state.config.data_dir, files) {
        Ok(photos) => {
            projects::ledger_action(&state.db, &session.actor, id, item, &f, &photos).await
        }
        Err(e) => Err(e),
    };
    after(
        &state,
        &session,
        &csrf,
        id,
        r,
        posted(&format!("ledger_{item}"), &f),
    )
    .await
}

/// An inspection with its photos (multipart).
async fn add_inspection(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    MultipartForm(f, files): MultipartForm<InspectionInput>,
) -> PageResult {
    let r = match Evidence::check(&state.config.data_dir, files) {
        Ok(photos) => projects::add_inspection(&state.db, &session.actor, id, &f, &photos).await,
        Err(e) => Err(e),
    };
    after(&state, &session, &csrf, id, r, posted("inspections", &f)).await
}

/// Leader remarks, committee members, bulletins, their period and acceptance.
async fn supervision_add(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, what)): Path<(i64, String)>,
    HtmlForm(f): HtmlForm<BTreeMap<String, String>>,
) -> PageResult {
    let a = &session.actor;
    let json = &f;
    let r = match what.as_str() {
        "remarks" => match parsed::<RemarkInput>(json) {
            Ok(x) => {
                let name = session.user.display_name.clone();
                projects::add_remark(&state.db, a, &name, id, &x).await
            }
            Err(e) => Err(e),
        },
        "committee" => match parsed::<MemberInput>(json) {
            Ok(x) => projects::add_member(&state.db, a, id, &x).await,
            Err(e) => Err(e),
        },
        "bulletins" => projects::publish_bulletin(&state.db, a, id).await,
        "period" => match parsed::<PeriodInput>(json) {
            Ok(x) => projects::set_bulletin_period(&state.db, a, id, &x).await,
            Err(e) => Err(e),
        },
        "acceptance" => match parsed::<AcceptanceInput>(json) {
            Ok(x) => projects::accept(&state.db, a, id, &x).await,
            Err(e) => Err(e),
        },
        _ => return Err(AppError::NotFound.into()),
    };
    let p = Posted {
        form: what,
        values: f,
    };
    after(&state, &session, &csrf, id, r, p).await
}

async fn timeline(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let a = &session.actor;
    let (case, entries) = crate::services::timeline::with_case(&state.db, a, id).await?;
    let v = context! { case };
    Ok(page_with_status(
        &state,
        StatusCode::OK,
        "case_timeline.html",
        Some(&session),
        &csrf,
        context! { v, entries },
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct DocQuery {
    /// Which bulletin (default: the latest).
    seq: Option<i64>,
}

/// The A4 documents, generated from what was recorded (issue 4 item 6): meeting_notice,
/// sign_in, minutes, notice, plan, bulletin, completion. Their templates can be replaced per
/// deployment (`template_dir`).
async fn document(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    headers: axum::http::HeaderMap,
    Path((id, kind)): Path<(i64, String)>,
    Query(q): Query<DocQuery>,
) -> PageResult {
    let a = &session.actor;
    let mut e = state.db.conn().await?;
    let v = service::view_in(&mut e, a, id).await?;
    let meeting = meetings::view_of(&mut e, &v.case).await?;
    let project = projects::view_in(&mut e, id).await?;
    drop(e);
    let not_yet = |what: &str| AppError::BadRequest(format!("尚无{what}，暂不能生成该文书"));
    let need_meeting = || meeting.clone().ok_or_else(|| not_yet("圆桌会安排"));
    let today = crate::render::today().to_string();
    let agenda: Vec<Value> = AGENDA
        .iter()
        .map(|(k, l)| context! { key => k, label => l })
        .collect();
    let (template, extra) = match kind.as_str() {
        "meeting_notice" => (
            "doc_meeting_notice.html",
            context! { meeting => need_meeting()? },
        ),
        "sign_in" => ("doc_sign_in.html", context! { meeting => need_meeting()? }),
        "minutes" => {
            let m = need_meeting()?;
            // The confirmed text counts; a draft is printed as such for review.
            let minutes = m
                .minutes
                .iter()
                .find(|x| x.status == "confirmed")
                .or(m.minutes.first())
                .cloned();
            let signed = m
                .participants
                .iter()
                .filter(|p| p.signed_in_at.is_some())
                .count();
            let fingerprint = roundtable_store::fingerprints::code_of(
                &mut state.db.pool(),
                "resolution",
                m.meeting.id,
            )
            .await?;
            (
                "doc_minutes.html",
                context! { meeting => m, minutes, signed, fingerprint },
            )
        }
        "notice" => {
            let n = project
                .notices
                .first()
                .cloned()
                .ok_or_else(|| not_yet("已发布的公示"))?;
            let (url, _) =
                super::public_link(&state, &headers, &format!("/c/{}", v.case.public_code))?;
            let fingerprint =
                roundtable_store::fingerprints::code_of(&mut state.db.pool(), "notice", n.id)
                    .await?;
            let verify_url = match &fingerprint {
                Some(code) => Some(super::public_link(&state, &headers, &format!("/v/{code}"))?.0),
                None => None,
            };
            (
                "doc_notice.html",
                context! { notice => n, label => project.notice_label.clone(), url, fingerprint, verify_url },
            )
        }
        "plan" => {
            if project.tasks.is_empty() {
                return Err(not_yet("计划书任务").into());
            }
            let resources =
                crate::services::resources::plan_sources(&mut state.db.pool(), id).await?;
            ("doc_plan.html", context! { resources })
        }
        "bulletin" => {
            let b = project
                .bulletins
                .iter()
                .find(|b| q.seq.is_none_or(|s| b.seq == s))
                .cloned()
                .ok_or_else(|| not_yet("进度通报"))?;
            ("doc_bulletin.html", context! { bulletin => b })
        }
        "completion" => ("doc_completion.html", context! {}),
        _ => return Err(AppError::NotFound.into()),
    };
    Ok(page_with_status(
        &state,
        StatusCode::OK,
        template,
        Some(&session),
        &csrf,
        context! { ..extra, ..context! { v, meeting, project, agenda, today } },
    ))
}

async fn ledger_xlsx(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let (name, bytes) = projects::ledger_xlsx(&state.db, &session.actor, id).await?;
    Ok(super::excel::xlsx(bytes, &name))
}

/// The case's public page as a printable QR poster (for the notice board).
async fn poster(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    headers: axum::http::HeaderMap,
    Path(id): Path<i64>,
) -> PageResult {
    let c = service::get(&state.db, &session.actor, id).await?;
    let (url, qr) = super::public_link(&state, &headers, &format!("/c/{}", c.public_code))?;
    Ok(page_with_status(
        &state,
        StatusCode::OK,
        "case_poster.html",
        Some(&session),
        &csrf,
        context! { c, url, qr },
    ))
}

#[derive(serde::Deserialize)]
struct VerifyForm {
    f: Option<String>,
}

/// The look-up form: to the fingerprint's own address (only its digits and dashes kept).
async fn verify_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<VerifyForm>,
) -> PageResult {
    let typed: String =
        q.f.unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect();
    if typed.is_empty() {
        let ctx = context! { fingerprint => "" };
        return Ok(page_with_status(
            &state,
            StatusCode::OK,
            "verify.html",
            None,
            &csrf,
            ctx,
        ));
    }
    Ok(Redirect::to(&format!("/v/{typed}")).into_response())
}

/// What a printed fingerprint stands for, for anyone (issue 6).
async fn verify_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Path(fingerprint): Path<String>,
) -> PageResult {
    let (status, ctx) = match crate::services::verify::verify(&state.db, &fingerprint).await {
        Ok(v) => (StatusCode::OK, context! { v, fingerprint }),
        Err(AppError::Validation(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { errors => Value::from_serialize(&e), fingerprint },
        ),
        Err(AppError::NotFound) => (
            StatusCode::NOT_FOUND,
            context! { unknown => true, fingerprint },
        ),
        Err(e) => return Err(e.into()),
    };
    Ok(page_with_status(
        &state,
        status,
        "verify.html",
        None,
        &csrf,
        ctx,
    ))
}

async fn public_page_with(
    state: &AppState,
    csrf: &str,
    code: &str,
    status: StatusCode,
    errors: Value,
    typed: Option<Value>,
    done: Option<&str>,
) -> PageResult {
    let c = state.public_cases.get(&state.db, code).await?;
    Ok(page_with_status(
        state,
        status,
        "public_case.html",
        None,
        csrf,
        context! {
            c, errors, typed, done,
            choices => options(Satisfaction::ALL, Satisfaction::code, Satisfaction::label),
        },
    ))
}

async fn public_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    headers: axum::http::HeaderMap,
    Path(code): Path<String>,
) -> PageResult {
    let mut r = public_page_with(
        &state,
        &csrf,
        &code,
        StatusCode::OK,
        context! {},
        None,
        None,
    )
    .await?;
    if super::device_of(&headers).is_none() {
        super::set_device_cookie(&state, &mut r, "/c");
    }
    Ok(r)
}

/// A resident's objection from the public page while the notice runs (rate limited, honeypot).
async fn public_objection(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    crate::limits::ClientAddr(client): crate::limits::ClientAddr,
    Path(code): Path<String>,
    HtmlForm(f): HtmlForm<ObjectionInput>,
) -> PageResult {
    let r = if state.portal_limit.allow(&client) {
        projects::add_public_objection(&state.db, &code, &f).await
    } else {
        Err(AppError::TooMany)
    };
    let done = "您的意见已收到，社区将在公示期内答复。";
    public_answer(&state, &csrf, &code, r, Value::from_serialize(&f), done).await
}

/// A resident's opinion from the public page while opinions are sought (R-PROC-2; rate
/// limited, honeypot).
async fn public_opinion(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    crate::limits::ClientAddr(client): crate::limits::ClientAddr,
    Path(code): Path<String>,
    HtmlForm(f): HtmlForm<PublicOpinionInput>,
) -> PageResult {
    let r = if state.portal_limit.allow(&client) {
        projects::add_public_opinion(&state.db, &code, &f).await
    } else {
        Err(AppError::TooMany)
    };
    let done = "感谢您的意见！民情理事会将汇总后提交圆桌会协商。";
    public_answer(&state, &csrf, &code, r, Value::from_serialize(&f), done).await
}

/// The public page after a resident's form: thanked, or the form again with what was typed
/// and the message next to the field.
async fn public_answer(
    state: &AppState,
    csrf: &str,
    code: &str,
    r: Result<(), AppError>,
    typed: Value,
    done: &str,
) -> PageResult {
    state.public_cases.forget(code);
    let (status, errors, typed, done) = match r {
        Ok(()) => (StatusCode::OK, context! {}, None, Some(done)),
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Value::from_serialize(&e),
            Some(typed),
            None,
        ),
        Err(e @ AppError::TooMany) => (
            StatusCode::TOO_MANY_REQUESTS,
            context! { content => e.to_string() },
            Some(typed),
            None,
        ),
        Err(e) => return Err(e.into()),
    };
    public_page_with(state, csrf, code, status, errors, typed, done).await
}

async fn public_vote(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    headers: axum::http::HeaderMap,
    Path(code): Path<String>,
    HtmlForm(f): HtmlForm<VoteInput>,
) -> PageResult {
    // Without the device cookie (refused by the browser) the form's own token stands in.
    let device = super::device_of(&headers).unwrap_or_else(|| format!("csrf:{csrf}"));
    let r = projects::vote(&state.db, &code, &device, &f).await;
    state.public_cases.forget(&code);
    match r {
        Ok(true) => {
            public_page_with(
                &state,
                &csrf,
                &code,
                StatusCode::OK,
                context! {},
                None,
                Some("感谢您的评价！"),
            )
            .await
        }
        Ok(false) => {
            public_page_with(
                &state,
                &csrf,
                &code,
                StatusCode::OK,
                context! { choice => "本设备已评价过，感谢参与" },
                None,
                None,
            )
            .await
        }
        Err(AppError::Validation(e) | AppError::Rule { fields: e, .. }) => {
            public_page_with(
                &state,
                &csrf,
                &code,
                StatusCode::UNPROCESSABLE_ENTITY,
                Value::from_serialize(&e),
                None,
                None,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn calendar_page_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    errors: Value,
    form: YearInput,
    import: Option<(Value, String)>,
) -> PageResult {
    let a = &session.actor;
    let years = calendar::years(&state.db, a).await?;
    let (import_errors, import_source) = import.unwrap_or((context! {}, String::new()));
    let status = if errors.len().unwrap_or(0) > 0 || import_errors.len().unwrap_or(0) > 0 {
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
        context! {
            years, errors, form, import_errors, import_source,
            can_edit => calendar::may_edit(a),
        },
    ))
}

async fn calendar_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    calendar_page_with(
        &state,
        &session,
        &csrf,
        context! {},
        YearInput::default(),
        None,
    )
    .await
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
            let errors = Value::from_serialize(&e);
            calendar_page_with(&state, &session, &csrf, errors, f, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct CalendarImportForm {
    source: String,
}

/// A holiday data file (the shipped layout), all its years or none.
async fn calendar_import(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    MultipartForm(f, files): MultipartForm<CalendarImportForm>,
) -> PageResult {
    let text = match files.first().map(|b| String::from_utf8(b.clone())) {
        Some(Ok(t)) => Ok(t),
        Some(Err(_)) => Err(AppError::field("file", "文件应为 UTF-8 编码的 JSON 文本")),
        None => Err(AppError::field("file", "请选择节假日数据文件")),
    };
    let r = match text {
        Ok(t) => {
            calendar::import_file(&state.calendar, &state.db, &session.actor, &t, &f.source).await
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => Ok(Redirect::to("/calendar").into_response()),
        Err(AppError::Validation(e)) => {
            let import = Some((Value::from_serialize(&e), f.source));
            let form = YearInput::default();
            calendar_page_with(&state, &session, &csrf, context! {}, form, import).await
        }
        Err(e) => Err(e.into()),
    }
}
