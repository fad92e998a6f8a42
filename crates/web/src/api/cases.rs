//! Deliberation cases in the API (issue 4): the case, its moves through the seven steps and the
//! records of each step, and the working-day calendar (R-CAL-1). Errors that break a rule of
//! DOMAIN.md answer `rule_violated` with the rule id.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roundtable_core::cases::EvidenceOf;
use roundtable_store::Paged;
use roundtable_store::calendar::YearRow;
use roundtable_store::cases::{Case, CasePhoto, Document, Opinion, Visit};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::AppState;
use crate::auth::Session;
use crate::error::{ApiError, ErrorEnvelope};
use crate::services::calendar::{self, WorkingDays, WorkingDaysQuery, YearInput};
use crate::services::cases::{
    self as service, CaseInput, CaseQuery, CaseView, MoveInput, OpinionInput, VisitInput,
};
use crate::services::evidence::{self, Evidence};
use crate::services::meetings::{
    self, CommentInput, MeetingView, MinutesAction, OpenInput, ParticipantInput, PlanInput,
    ResolutionInput,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get))
        .routes(routes!(move_step))
        .routes(routes!(timeline))
        .routes(routes!(add_visit))
        .routes(routes!(add_evidence))
        .routes(routes!(evidence_photo))
        .routes(routes!(add_opinion))
        .routes(routes!(document_versions, save_document))
        .routes(routes!(meeting_get, meeting_plan))
        .routes(routes!(meeting_add_participant))
        .routes(routes!(meeting_remove_participant))
        .routes(routes!(meeting_open))
        .routes(routes!(meeting_sign_in))
        .routes(routes!(meeting_minutes))
        .routes(routes!(meeting_minutes_action))
        .routes(routes!(meeting_comment))
        .routes(routes!(meeting_resolution))
        .routes(routes!(meeting_file))
        .routes(routes!(working_days))
        .routes(routes!(calendar_years, calendar_store_year))
        .routes(routes!(calendar_import))
}

#[utoipa::path(get, path = "/cases", tag = "cases", params(CaseQuery),
    responses((status = 200, body = Paged<Case>), (status = 422, body = ErrorEnvelope)))]
async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<CaseQuery>,
) -> ApiResult<Paged<Case>> {
    Ok(Json(service::list(&state.db, &session.actor, &q).await?))
}

/// R-PROC-1: a case from one accepted topic; the topic becomes 已立项.
#[utoipa::path(post, path = "/cases", tag = "cases", request_body = CaseInput,
    responses((status = 201, body = Case), (status = 422, body = ErrorEnvelope)))]
async fn create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<CaseInput>,
) -> Result<Response, ApiError> {
    let c = service::create(&state.db, &session.actor, &b).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// The case with its steps, what the current step lacks, its history and records.
#[utoipa::path(get, path = "/cases/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = ErrorEnvelope)))]
async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<CaseView> {
    Ok(Json(service::view(&state.db, &session.actor, id).await?))
}

/// The case's whole journey in order: source topics, steps, records, meeting, notices,
/// objections, ledger, inspections, bulletins, acceptance — each with a link.
#[utoipa::path(get, path = "/cases/{id}/timeline", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<crate::services::timeline::Entry>), (status = 404, body = ErrorEnvelope)))]
async fn timeline(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<Vec<crate::services::timeline::Entry>> {
    Ok(Json(
        crate::services::timeline::timeline(&state.db, &session.actor, id).await?,
    ))
}

/// advance (close the step, enter the next), back (one step, with a reason) or stop (终止).
#[utoipa::path(post, path = "/cases/{id}/moves", tag = "cases", params(("id" = i64, Path)),
    request_body = MoveInput,
    responses((status = 200, body = Case), (status = 422, body = ErrorEnvelope)))]
async fn move_step(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MoveInput>,
) -> ApiResult<Case> {
    Ok(Json(
        service::move_step(&state.db, &session.actor, id, &b).await?,
    ))
}

/// R-PROC-2: a visit by a 民情理事会 member (while 征求意见 is in progress).
#[utoipa::path(post, path = "/cases/{id}/visits", tag = "cases", params(("id" = i64, Path)),
    request_body = VisitInput,
    responses((status = 201, body = Visit), (status = 422, body = ErrorEnvelope)))]
async fn add_visit(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<VisitInput>,
) -> Result<Response, ApiError> {
    let v = service::add_visit(&state.db, &session.actor, id, &b, &Evidence::none()).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Photos as evidence of a record already made (multipart, field `photos`, JPEG/PNG/WebP, at
/// most 9 a record, 10 MB each): `kind` is visit (while 征求意见 runs), ledger_item (项目实施,
/// while the item is open; a photo is evidence enough for its 销号) or inspection (监督执行).
/// Answers the record's photos.
#[utoipa::path(post, path = "/cases/{id}/evidence/{kind}/{record_id}", tag = "cases",
    params(("id" = i64, Path), ("kind" = String, Path, description = "visit, ledger_item or inspection"), ("record_id" = i64, Path)),
    request_body(content = Vec<u8>, content_type = "multipart/form-data"),
    responses((status = 201, body = Vec<CasePhoto>), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn add_evidence(
    State(state): State<AppState>,
    session: Session,
    Path((id, kind, record_id)): Path<(i64, String, i64)>,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let of = EvidenceOf::parse(&kind).ok_or(crate::error::AppError::NotFound)?;
    let files = super::read_photos(form).await?;
    let photos = Evidence::check(&state.config.data_dir, files)?;
    let all = evidence::add(&state.db, &session.actor, id, of, record_id, &photos).await?;
    Ok((StatusCode::CREATED, Json(all)).into_response())
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
struct PhotoQuery {
    /// true (or 1): the 320-pixel JPEG thumbnail
    thumb: Option<String>,
}

/// An evidence photo of a case (its file, or the thumbnail).
#[utoipa::path(get, path = "/cases/{id}/photos/{photo_id}", tag = "cases",
    params(("id" = i64, Path), ("photo_id" = i64, Path), PhotoQuery),
    responses((status = 200, description = "照片", content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = ErrorEnvelope)))]
async fn evidence_photo(
    State(state): State<AppState>,
    session: Session,
    Path((id, photo_id)): Path<(i64, i64)>,
    Query(q): Query<PhotoQuery>,
) -> Result<Response, ApiError> {
    let (mime, bytes) = evidence::file(
        &state.db,
        &session.actor,
        &state.config.data_dir,
        id,
        photo_id,
        q.thumb.is_some_and(|t| t != "false" && t != "0"),
    )
    .await?;
    Ok(crate::services::photos::response((mime, bytes)))
}

/// R-PROC-2: an opinion gathered (while 征求意见 is in progress).
#[utoipa::path(post, path = "/cases/{id}/opinions", tag = "cases", params(("id" = i64, Path)),
    request_body = OpinionInput,
    responses((status = 201, body = Opinion), (status = 422, body = ErrorEnvelope)))]
async fn add_opinion(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<OpinionInput>,
) -> Result<Response, ApiError> {
    let o = service::add_opinion(&state.db, &session.actor, id, &b).await?;
    Ok((StatusCode::CREATED, Json(o)).into_response())
}

/// Every version of a step document, newest first. Kinds: preliminary_plan, council_meeting,
/// feasibility, meeting_plan, leader_consultation.
#[utoipa::path(get, path = "/cases/{id}/documents/{kind}", tag = "cases",
    params(("id" = i64, Path), ("kind" = String, Path)),
    responses((status = 200, body = Vec<Document>), (status = 404, body = ErrorEnvelope)))]
async fn document_versions(
    State(state): State<AppState>,
    session: Session,
    Path((id, kind)): Path<(i64, String)>,
) -> ApiResult<Vec<Document>> {
    Ok(Json(
        service::document_versions(&state.db, &session.actor, id, &kind).await?,
    ))
}

/// Saves a new version of a step document: an object of its fields (all strings).
#[utoipa::path(put, path = "/cases/{id}/documents/{kind}", tag = "cases",
    params(("id" = i64, Path), ("kind" = String, Path)),
    request_body = BTreeMap<String, String>,
    responses((status = 200, body = Document), (status = 422, body = ErrorEnvelope)))]
async fn save_document(
    State(state): State<AppState>,
    session: Session,
    Path((id, kind)): Path<(i64, String)>,
    ApiJson(b): ApiJson<BTreeMap<String, String>>,
) -> ApiResult<Document> {
    Ok(Json(
        service::save_document(&state.db, &session.actor, id, &kind, &b).await?,
    ))
}

/// R-CAL-1: the `count` working days after `from` and the last of them (where a notice
/// published on `from` ends). No sign-in needed: these are the State Council's facts.
#[utoipa::path(get, path = "/calendar/working-days", tag = "calendar", params(WorkingDaysQuery),
    responses((status = 200, body = WorkingDays), (status = 422, body = ErrorEnvelope)))]
async fn working_days(
    State(state): State<AppState>,
    Query(q): Query<WorkingDaysQuery>,
) -> ApiResult<WorkingDays> {
    Ok(Json(
        calendar::working_days(&state.calendar, &state.db, &q).await?,
    ))
}

/// The years whose holiday notice is known.
#[utoipa::path(get, path = "/calendar/years", tag = "calendar",
    responses((status = 200, body = Vec<YearRow>)))]
async fn calendar_years(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Vec<YearRow>> {
    Ok(Json(calendar::years(&state.db, &session.actor).await?))
}

/// Adds (or replaces) one year's notice: holidays and make-up working days.
#[utoipa::path(post, path = "/calendar/years", tag = "calendar", request_body = YearInput,
    responses((status = 200, body = Vec<YearRow>), (status = 422, body = ErrorEnvelope)))]
async fn calendar_store_year(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<YearInput>,
) -> ApiResult<Vec<YearRow>> {
    calendar::store_year(&state.calendar, &state.db, &session.actor, &b).await?;
    Ok(Json(calendar::years(&state.db, &session.actor).await?))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
struct ImportQuery {
    /// The notice the file comes from, e.g. 国办发明电〔2026〕X号
    source: String,
}

/// Imports a holiday data file in the layout of the shipped one (`{"2027": {"holidays": […],
/// "workdays": […]}}`, one or more years) as the body: every year checked, all stored in one
/// transaction or none (problems on the `file` field, each with its year).
#[utoipa::path(post, path = "/calendar/import", tag = "calendar", params(ImportQuery),
    request_body(content = Object, description = "cn-holidays.json 格式"),
    responses((status = 200, body = Vec<YearRow>), (status = 422, body = ErrorEnvelope)))]
async fn calendar_import(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ImportQuery>,
    ApiJson(b): ApiJson<serde_json::Value>,
) -> ApiResult<Vec<YearRow>> {
    let text = b.to_string();
    calendar::import_file(&state.calendar, &state.db, &session.actor, &text, &q.source).await?;
    Ok(Json(calendar::years(&state.db, &session.actor).await?))
}

/// The meeting after a change, as `GET …/meeting` shows it.
async fn meeting_now(state: &AppState, session: &Session, id: i64) -> ApiResult<MeetingView> {
    meetings::view(&state.db, &session.actor, id)
        .await?
        .map(Json)
        .ok_or(ApiError(crate::error::AppError::NotFound))
}

/// The round-table meeting (R-MEET-1…4): plan, participants, warnings, minutes, comments.
#[utoipa::path(get, path = "/cases/{id}/meeting", tag = "meetings", params(("id" = i64, Path)),
    responses((status = 200, body = MeetingView), (status = 404, body = ErrorEnvelope)))]
async fn meeting_get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<MeetingView> {
    meeting_now(&state, &session, id).await
}

/// Plans the meeting (fixed members filled in from the links valid on the day); empty fields
/// come from the case's 议事方案. Allowed until the meeting is opened.
#[utoipa::path(put, path = "/cases/{id}/meeting", tag = "meetings", params(("id" = i64, Path)),
    request_body = PlanInput,
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_plan(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PlanInput>,
) -> ApiResult<MeetingView> {
    meetings::plan(&state.db, &session.actor, id, &b).await?;
    meeting_now(&state, &session, id).await
}

/// A mobile member: a person or a unit of the organisation.
#[utoipa::path(post, path = "/cases/{id}/meeting/participants", tag = "meetings",
    params(("id" = i64, Path)), request_body = ParticipantInput,
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_add_participant(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ParticipantInput>,
) -> ApiResult<MeetingView> {
    meetings::add_participant(&state.db, &session.actor, id, &b).await?;
    meeting_now(&state, &session, id).await
}

#[utoipa::path(delete, path = "/cases/{id}/meeting/participants/{participant_id}", tag = "meetings",
    params(("id" = i64, Path), ("participant_id" = i64, Path)),
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_remove_participant(
    State(state): State<AppState>,
    session: Session,
    Path((id, pid)): Path<(i64, i64)>,
) -> ApiResult<MeetingView> {
    meetings::remove_participant(&state.db, &session.actor, id, pid).await?;
    meeting_now(&state, &session, id).await
}

/// Opens the meeting; its warnings need `override_reason`.
#[utoipa::path(post, path = "/cases/{id}/meeting/open", tag = "meetings",
    params(("id" = i64, Path)), request_body = OpenInput,
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_open(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<OpenInput>,
) -> ApiResult<MeetingView> {
    meetings::open(&state.db, &session.actor, id, &b).await?;
    meeting_now(&state, &session, id).await
}

/// 签到 of one participant.
#[utoipa::path(post, path = "/cases/{id}/meeting/participants/{participant_id}/sign-in",
    tag = "meetings", params(("id" = i64, Path), ("participant_id" = i64, Path)),
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_sign_in(
    State(state): State<AppState>,
    session: Session,
    Path((id, pid)): Path<(i64, i64)>,
) -> ApiResult<MeetingView> {
    meetings::sign_in(&state.db, &session.actor, id, pid).await?;
    meeting_now(&state, &session, id).await
}

/// The draft minutes, per agenda item of R-MEET-3: introduction, proposal, discussion,
/// summary, resolution.
#[utoipa::path(put, path = "/cases/{id}/meeting/minutes", tag = "meetings",
    params(("id" = i64, Path)), request_body = BTreeMap<String, String>,
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_minutes(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<BTreeMap<String, String>>,
) -> ApiResult<MeetingView> {
    meetings::save_minutes(&state.db, &session.actor, id, &b).await?;
    meeting_now(&state, &session, id).await
}

/// review, draft, confirm, or correct (a new version of confirmed minutes, with a reason).
#[utoipa::path(post, path = "/cases/{id}/meeting/minutes/actions", tag = "meetings",
    params(("id" = i64, Path)), request_body = MinutesAction,
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_minutes_action(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MinutesAction>,
) -> ApiResult<MeetingView> {
    meetings::minutes_action(&state.db, &session.actor, id, &b).await?;
    meeting_now(&state, &session, id).await
}

/// An attendee's comment on minutes under review.
#[utoipa::path(post, path = "/cases/{id}/meeting/minutes/comments", tag = "meetings",
    params(("id" = i64, Path)), request_body = CommentInput,
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_comment(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CommentInput>,
) -> ApiResult<MeetingView> {
    let name = session.user.display_name.clone();
    meetings::comment(&state.db, &session.actor, &name, id, &b).await?;
    meeting_now(&state, &session, id).await
}

/// The resolution (协商决议) with an optional vote (for / against / abstain).
#[utoipa::path(put, path = "/cases/{id}/meeting/resolution", tag = "meetings",
    params(("id" = i64, Path)), request_body = ResolutionInput,
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_resolution(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ResolutionInput>,
) -> ApiResult<MeetingView> {
    meetings::resolve(&state.db, &session.actor, id, &b).await?;
    meeting_now(&state, &session, id).await
}

/// 备案登记: assigns the next filing number of the community's year.
#[utoipa::path(post, path = "/cases/{id}/meeting/filing", tag = "meetings",
    params(("id" = i64, Path)),
    responses((status = 200, body = MeetingView), (status = 422, body = ErrorEnvelope)))]
async fn meeting_file(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<MeetingView> {
    meetings::file(&state.db, &session.actor, id).await?;
    meeting_now(&state, &session, id).await
}
