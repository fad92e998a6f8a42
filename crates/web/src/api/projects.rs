//! Steps 5–7 of a case in the API (R-PROC-5…7): plan, agreements, notice, objections, ledger,
//! leader supervision, committee, inspections, bulletins, acceptance; and the public case
//! (no sign-in) with its objection form and satisfaction vote.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roundtable_store::projects::{LedgerItem, Notice, PlanTable};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::AppState;
use crate::auth::Session;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::limits::ClientAddr;
use crate::services::evidence::Evidence;
use crate::services::projects::{
    self as service, AcceptanceInput, AgreementInput, AnswerInput, BudgetInput, InspectionInput,
    LedgerAction, MemberInput, ObjectionInput, PeriodInput, ProjectView, PublicCase,
    PublicOpinionInput, RemarkInput, TaskInput, VoteInput,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(project))
        .routes(routes!(add_task))
        .routes(routes!(remove_task))
        .routes(routes!(add_budget))
        .routes(routes!(remove_budget))
        .routes(routes!(add_agreement))
        .routes(routes!(publish_notice))
        .routes(routes!(add_objection))
        .routes(routes!(answer_objection))
        .routes(routes!(ledger_action))
        .routes(routes!(ledger_export))
        .routes(routes!(add_remark))
        .routes(routes!(add_member))
        .routes(routes!(add_inspection))
        .routes(routes!(publish_bulletin))
        .routes(routes!(bulletin_period))
        .routes(routes!(accept))
        .routes(routes!(public_case))
        .routes(routes!(public_verify))
        .routes(routes!(audit_search))
        .routes(routes!(audit_export))
        .routes(routes!(public_objection))
        .routes(routes!(public_opinion))
        .routes(routes!(public_vote))
}

async fn now(state: &AppState, session: &Session, id: i64) -> ApiResult<ProjectView> {
    Ok(Json(service::view(&state.db, &session.actor, id).await?))
}

/// Plan, notices, objections, ledger, supervision of a case.
#[utoipa::path(get, path = "/cases/{id}/project", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, body = ProjectView), (status = 404, body = ErrorEnvelope)))]
async fn project(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<ProjectView> {
    now(&state, &session, id).await
}

/// A task of the 攻坚任务计划书 (R-PROC-5): responsible person and unit, dates in order.
#[utoipa::path(post, path = "/cases/{id}/plan/tasks", tag = "projects", params(("id" = i64, Path)),
    request_body = TaskInput, responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn add_task(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<TaskInput>,
) -> ApiResult<ProjectView> {
    service::add_task(&state.db, &session.actor, id, &b).await?;
    now(&state, &session, id).await
}

#[utoipa::path(delete, path = "/cases/{id}/plan/tasks/{task_id}", tag = "projects",
    params(("id" = i64, Path), ("task_id" = i64, Path)),
    responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn remove_task(
    State(state): State<AppState>,
    session: Session,
    Path((id, tid)): Path<(i64, i64)>,
) -> ApiResult<ProjectView> {
    service::remove_plan_row(&state.db, &session.actor, id, PlanTable::Task, tid).await?;
    now(&state, &session, id).await
}

/// A budget line by funding source (R-SUP-1): the amount in yuan, whole fen, not negative.
#[utoipa::path(post, path = "/cases/{id}/plan/budget", tag = "projects", params(("id" = i64, Path)),
    request_body = BudgetInput, responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn add_budget(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<BudgetInput>,
) -> ApiResult<ProjectView> {
    service::add_budget(&state.db, &session.actor, id, &b).await?;
    now(&state, &session, id).await
}

#[utoipa::path(delete, path = "/cases/{id}/plan/budget/{line_id}", tag = "projects",
    params(("id" = i64, Path), ("line_id" = i64, Path)),
    responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn remove_budget(
    State(state): State<AppState>,
    session: Session,
    Path((id, lid)): Path<(i64, i64)>,
) -> ApiResult<ProjectView> {
    service::remove_plan_row(&state.db, &session.actor, id, PlanTable::Budget, lid).await?;
    now(&state, &session, id).await
}

/// Agreement in principle of a unit, department, leader or stakeholder.
#[utoipa::path(post, path = "/cases/{id}/plan/agreements", tag = "projects", params(("id" = i64, Path)),
    request_body = AgreementInput, responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn add_agreement(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<AgreementInput>,
) -> ApiResult<ProjectView> {
    service::add_agreement(&state.db, &session.actor, id, &b).await?;
    now(&state, &session, id).await
}

/// Publishes the public notice (a new version after a change of the plan); the period is
/// computed in working days (R-CAL-1).
#[utoipa::path(post, path = "/cases/{id}/notices", tag = "projects", params(("id" = i64, Path)),
    responses((status = 201, body = Notice), (status = 422, body = ErrorEnvelope)))]
async fn publish_notice(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let n = service::publish_notice(
        &state.calendar,
        state.config.notice_working_days,
        &state.db,
        &session.actor,
        id,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(n)).into_response())
}

/// An objection taken by staff (a phone call) during the notice.
#[utoipa::path(post, path = "/cases/{id}/objections", tag = "projects", params(("id" = i64, Path)),
    request_body = ObjectionInput, responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn add_objection(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ObjectionInput>,
) -> ApiResult<ProjectView> {
    service::add_objection(&state.db, &session.actor, id, &b).await?;
    now(&state, &session, id).await
}

#[utoipa::path(post, path = "/cases/{id}/objections/{objection_id}/answer", tag = "projects",
    params(("id" = i64, Path), ("objection_id" = i64, Path)), request_body = AnswerInput,
    responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn answer_objection(
    State(state): State<AppState>,
    session: Session,
    Path((id, oid)): Path<(i64, i64)>,
    ApiJson(b): ApiJson<AnswerInput>,
) -> ApiResult<ProjectView> {
    service::answer_objection(&state.db, &session.actor, id, oid, &b).await?;
    now(&state, &session, id).await
}

/// 销号 (close, with evidence), confirm (by someone else), reopen (sent back, with a reason).
#[utoipa::path(post, path = "/cases/{id}/ledger/{item_id}/actions", tag = "projects",
    params(("id" = i64, Path), ("item_id" = i64, Path)), request_body = LedgerAction,
    responses((status = 200, body = LedgerItem), (status = 422, body = ErrorEnvelope)))]
async fn ledger_action(
    State(state): State<AppState>,
    session: Session,
    Path((id, item)): Path<(i64, i64)>,
    ApiJson(b): ApiJson<LedgerAction>,
) -> ApiResult<LedgerItem> {
    Ok(Json(
        service::ledger_action(&state.db, &session.actor, id, item, &b, &Evidence::none()).await?,
    ))
}

/// The ledger as .xlsx (with the exporter's watermark line).
#[utoipa::path(get, path = "/cases/{id}/ledger/export", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, description = "工作台帐",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 404, body = ErrorEnvelope)))]
async fn ledger_export(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (name, bytes) = service::ledger_xlsx(&state.db, &session.actor, id).await?;
    Ok(crate::pages::excel::xlsx(bytes, &name))
}

/// 挂帅督办: a linked leader's remark.
#[utoipa::path(post, path = "/cases/{id}/remarks", tag = "projects", params(("id" = i64, Path)),
    request_body = RemarkInput, responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn add_remark(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RemarkInput>,
) -> ApiResult<ProjectView> {
    let name = session.user.display_name.clone();
    service::add_remark(&state.db, &session.actor, &name, id, &b).await?;
    now(&state, &session, id).await
}

/// A member of the supervision committee (R-PROC-7).
#[utoipa::path(post, path = "/cases/{id}/committee", tag = "projects", params(("id" = i64, Path)),
    request_body = MemberInput, responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn add_member(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MemberInput>,
) -> ApiResult<ProjectView> {
    service::add_member(&state.db, &session.actor, id, &b).await?;
    now(&state, &session, id).await
}

#[utoipa::path(post, path = "/cases/{id}/inspections", tag = "projects", params(("id" = i64, Path)),
    request_body = InspectionInput, responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn add_inspection(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<InspectionInput>,
) -> ApiResult<ProjectView> {
    service::add_inspection(&state.db, &session.actor, id, &b, &Evidence::none()).await?;
    now(&state, &session, id).await
}

/// 定期通报: generated from the ledger and inspections, then frozen.
#[utoipa::path(post, path = "/cases/{id}/bulletins", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn publish_bulletin(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<ProjectView> {
    service::publish_bulletin(&state.db, &session.actor, id).await?;
    now(&state, &session, id).await
}

#[utoipa::path(put, path = "/cases/{id}/bulletin-period", tag = "projects", params(("id" = i64, Path)),
    request_body = PeriodInput, responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn bulletin_period(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PeriodInput>,
) -> ApiResult<ProjectView> {
    service::set_bulletin_period(&state.db, &session.actor, id, &b).await?;
    now(&state, &session, id).await
}

/// 验收: once every ledger item is confirmed.
#[utoipa::path(post, path = "/cases/{id}/acceptance", tag = "projects", params(("id" = i64, Path)),
    request_body = AcceptanceInput, responses((status = 200, body = ProjectView), (status = 422, body = ErrorEnvelope)))]
async fn accept(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<AcceptanceInput>,
) -> ApiResult<ProjectView> {
    service::accept(&state.db, &session.actor, id, &b).await?;
    now(&state, &session, id).await
}

/// The audit record, newest first, 50 a page (the audit administrator only; 403 otherwise).
#[utoipa::path(get, path = "/audit", tag = "audit", params(crate::services::audit::AuditQuery),
    responses((status = 200, body = crate::services::audit::AuditPage), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn audit_search(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<crate::services::audit::AuditQuery>,
) -> ApiResult<crate::services::audit::AuditPage> {
    Ok(Json(
        crate::services::audit::search(&state.db, &session.actor, &q).await?,
    ))
}

/// The same search as .xlsx with the watermark line; the export is audited.
#[utoipa::path(get, path = "/audit/export", tag = "audit", params(crate::services::audit::AuditQuery),
    responses((status = 200, description = "审计记录",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn audit_export(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<crate::services::audit::AuditQuery>,
) -> Result<Response, ApiError> {
    let (name, bytes) = crate::services::audit::export(&state.db, &session.actor, &q).await?;
    Ok(crate::pages::excel::xlsx(bytes, &name))
}

/// What a fingerprint printed on a notice or a resolution stands for: the text published
/// under it and when (issue 6). 404 for a fingerprint never issued; 422 for one that cannot be.
#[utoipa::path(get, path = "/public/verify/{fingerprint}", tag = "public", params(("fingerprint" = String, Path, description = "16 hex digits, dashes optional")),
    responses((status = 200, body = crate::services::verify::Verified), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn public_verify(
    State(state): State<AppState>,
    Path(fingerprint): Path<String>,
) -> ApiResult<crate::services::verify::Verified> {
    Ok(Json(
        crate::services::verify::verify(&state.db, &fingerprint).await?,
    ))
}

/// The public case: topic, resolution, notice with its dates, objections and answers (no
/// names), ledger progress, bulletins, satisfaction. No personal data.
#[utoipa::path(get, path = "/public/cases/{code}", tag = "public", params(("code" = String, Path)),
    responses((status = 200, body = PublicCase), (status = 404, body = ErrorEnvelope)))]
async fn public_case(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<PublicCase> {
    Ok(Json(
        state
            .public_cases
            .get(&state.db, &code)
            .await?
            .as_ref()
            .clone(),
    ))
}

/// A resident's objection or comment while the notice runs (rate limited per address).
#[utoipa::path(post, path = "/public/cases/{code}/objections", tag = "public", params(("code" = String, Path)),
    request_body = ObjectionInput,
    responses((status = 201, body = PublicCase), (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
async fn public_objection(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<ObjectionInput>,
) -> Result<Response, ApiError> {
    let write = service::add_public_objection(&state.db, &code, &b);
    public_write(&state, &client, &code, write).await
}

/// A resident's opinion while the case seeks opinions (征求意见, R-PROC-2), kept with the
/// case's opinions as 网上征求 (rate limited per address).
#[utoipa::path(post, path = "/public/cases/{code}/opinions", tag = "public", params(("code" = String, Path)),
    request_body = PublicOpinionInput,
    responses((status = 201, body = PublicCase), (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
async fn public_opinion(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<PublicOpinionInput>,
) -> Result<Response, ApiError> {
    let write = service::add_public_opinion(&state.db, &code, &b);
    public_write(&state, &client, &code, write).await
}

/// A resident's write on a public case (rate limited per address): 201 with the public case.
async fn public_write(
    state: &AppState,
    client: &str,
    code: &str,
    write: impl Future<Output = Result<(), AppError>>,
) -> Result<Response, ApiError> {
    if !state.portal_limit.allow(client) {
        return Err(AppError::TooMany.into());
    }
    let r = write.await;
    state.public_cases.forget(code);
    r?;
    Ok((
        StatusCode::CREATED,
        Json(service::public_view(&state.db, code).await?),
    )
        .into_response())
}

/// The satisfaction vote after acceptance, once per device (`device_id`).
#[utoipa::path(post, path = "/public/cases/{code}/votes", tag = "public", params(("code" = String, Path)),
    request_body = VoteInput,
    responses((status = 201, body = PublicCase), (status = 422, body = ErrorEnvelope)))]
async fn public_vote(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<VoteInput>,
) -> Result<Response, ApiError> {
    if !state.questionnaire_limit.allow(&client) {
        return Err(AppError::TooMany.into());
    }
    let device = format!("api:{}", b.device_id.clone().unwrap_or_default().trim());
    let r = service::vote(&state.db, &code, &device, &b).await;
    state.public_cases.forget(&code);
    if !r? {
        return Err(AppError::field("choice", "本设备已评价过").into());
    }
    Ok((
        StatusCode::CREATED,
        Json(service::public_view(&state.db, &code).await?),
    )
        .into_response())
}
