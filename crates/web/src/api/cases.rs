//! Deliberation cases in the API (issue 4): the case, its moves through the seven steps and the
//! records of each step, and the working-day calendar (R-CAL-1). Errors that break a rule of
//! DOMAIN.md answer `rule_violated` with the rule id.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roundtable_store::Paged;
use roundtable_store::calendar::YearRow;
use roundtable_store::cases::{Case, Document, Opinion, Visit};
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

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get))
        .routes(routes!(move_step))
        .routes(routes!(add_visit))
        .routes(routes!(add_opinion))
        .routes(routes!(document_versions, save_document))
        .routes(routes!(working_days))
        .routes(routes!(calendar_years, calendar_store_year))
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
    let v = service::add_visit(&state.db, &session.actor, id, &b).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
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
