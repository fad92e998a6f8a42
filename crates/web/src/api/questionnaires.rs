//! Questionnaires in the API (issue 3 item 8): the builder and results for staff, and the
//! public endpoints a resident's front end (a WeChat mini-program) answers through.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roundtable_store::Paged;
use roundtable_store::questionnaires::Questionnaire;
use roundtable_store::topics::Topic;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::AppState;
use crate::auth::Session;
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::limits::ClientAddr;
use crate::services::questionnaires::{
    self as service, PublicQuestionnaire, QuestionnaireInput, QuestionnaireQuery,
    QuestionnaireView, ResponseInput, Results,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update))
        .routes(routes!(publish))
        .routes(routes!(close))
        .routes(routes!(results))
        .routes(routes!(export))
        .routes(routes!(answer_to_topic))
        .routes(routes!(public_get))
        .routes(routes!(public_answer))
}

#[utoipa::path(get, path = "/questionnaires", tag = "questionnaires", params(QuestionnaireQuery),
    responses((status = 200, body = Paged<Questionnaire>)))]
async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<QuestionnaireQuery>,
) -> ApiResult<Paged<Questionnaire>> {
    Ok(Json(service::list(&state.db, &session.actor, &q).await?))
}

/// A new draft, with its questions.
#[utoipa::path(post, path = "/questionnaires", tag = "questionnaires", request_body = QuestionnaireInput,
    responses((status = 201, body = QuestionnaireView), (status = 422, body = ErrorEnvelope)))]
async fn create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<QuestionnaireInput>,
) -> Result<Response, ApiError> {
    let v = service::create(&state.db, &session.actor, &b).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

#[utoipa::path(get, path = "/questionnaires/{id}", tag = "questionnaires", params(("id" = i64, Path)),
    responses((status = 200, body = QuestionnaireView), (status = 404, body = ErrorEnvelope)))]
async fn get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<QuestionnaireView> {
    Ok(Json(service::get(&state.db, &session.actor, id).await?))
}

/// Changes a draft (the questions too, when `questions` is given); a published one is 422.
#[utoipa::path(put, path = "/questionnaires/{id}", tag = "questionnaires", params(("id" = i64, Path)),
    request_body = QuestionnaireInput,
    responses((status = 200, body = QuestionnaireView), (status = 422, body = ErrorEnvelope)))]
async fn update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<QuestionnaireInput>,
) -> ApiResult<QuestionnaireView> {
    Ok(Json(
        service::update(&state.db, &session.actor, id, &b).await?,
    ))
}

/// Opens a draft to residents for its period.
#[utoipa::path(post, path = "/questionnaires/{id}/publish", tag = "questionnaires", params(("id" = i64, Path)),
    responses((status = 200, body = QuestionnaireView), (status = 422, body = ErrorEnvelope)))]
async fn publish(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<QuestionnaireView> {
    Ok(Json(service::publish(&state.db, &session.actor, id).await?))
}

/// Ends a published questionnaire before its period ends.
#[utoipa::path(post, path = "/questionnaires/{id}/close", tag = "questionnaires", params(("id" = i64, Path)),
    responses((status = 200, body = QuestionnaireView), (status = 422, body = ErrorEnvelope)))]
async fn close(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<QuestionnaireView> {
    Ok(Json(service::close(&state.db, &session.actor, id).await?))
}

/// Counts per option and per star, mean ratings, and the text answers (phones masked).
#[utoipa::path(get, path = "/questionnaires/{id}/results", tag = "questionnaires", params(("id" = i64, Path)),
    responses((status = 200, body = Results), (status = 404, body = ErrorEnvelope)))]
async fn results(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<Results> {
    Ok(Json(service::results(&state.db, &session.actor, id).await?))
}

#[utoipa::path(get, path = "/questionnaires/{id}/export", tag = "questionnaires", params(("id" = i64, Path)),
    responses((status = 200, description = "答卷 and 统计 sheets",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 404, body = ErrorEnvelope)))]
async fn export(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (name, bytes) = service::export(&state.db, &session.actor, id).await?;
    Ok(crate::pages::excel::xlsx(bytes, &name))
}

/// Turns a text answer into a topic (channel 调查问卷, status 待筛选).
#[utoipa::path(post, path = "/questionnaires/{id}/answers/{answer_id}/topic", tag = "questionnaires",
    params(("id" = i64, Path), ("answer_id" = i64, Path)),
    responses((status = 201, body = Topic), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn answer_to_topic(
    State(state): State<AppState>,
    session: Session,
    Path((id, answer_id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    let t = service::answer_to_topic(&state.db, &session.actor, id, answer_id).await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

/// A published questionnaire by the code of its link (no account needed).
#[utoipa::path(get, path = "/public/questionnaires/{code}", tag = "public", params(("code" = String, Path)),
    responses((status = 200, body = PublicQuestionnaire), (status = 404, body = ErrorEnvelope)))]
async fn public_get(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> ApiResult<PublicQuestionnaire> {
    Ok(Json(service::get_public(&state.db, &code).await?))
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
struct AnswerBody {
    /// A stable id of the resident's device or account in the front end (e.g. a hashed
    /// openid): one response each.
    device_id: String,
    /// Optional mobile number: one response each.
    phone: Option<String>,
    /// By question number ("1", "2", …): an option number, a list of them, a rating 1–5, or
    /// the text.
    #[schema(value_type = Object)]
    answers: BTreeMap<String, serde_json::Value>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Answered {
    /// Always true
    ok: bool,
}

fn values(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Null => vec![],
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().flat_map(values).collect(),
        other => vec![other.to_string()],
    }
}

/// A resident's answers. 422 names each question (`q1`…) that is wrong; 429 when one address
/// sends too many.
#[utoipa::path(post, path = "/public/questionnaires/{code}/responses", tag = "public",
    params(("code" = String, Path)), request_body = AnswerBody,
    responses((status = 201, body = Answered), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
async fn public_answer(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
    ApiJson(b): ApiJson<AnswerBody>,
) -> Result<Response, ApiError> {
    let mut answers = BTreeMap::new();
    for (k, v) in &b.answers {
        let n: usize = k
            .trim()
            .parse()
            .map_err(|_| AppError::field(&format!("q{k}"), "题号应为数字"))?;
        answers.insert(n, values(v));
    }
    let input = ResponseInput {
        // Kept apart from the page's cookies; blank stays blank (a field error).
        device: match b.device_id.trim() {
            "" => String::new(),
            id => format!("api:{id}"),
        },
        phone: b.phone,
        answers,
    };
    service::answer_public(
        &state.db,
        &state.questionnaire_limit,
        &client,
        &code,
        &input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Answered { ok: true })).into_response())
}
