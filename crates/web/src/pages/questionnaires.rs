//! Questionnaire pages (issue 3 item 8): the staff builder (`/questionnaires`, one question
//! added at a time, no JavaScript), results with charts, and the resident's answer page
//! (`/q/{code}`, no account, works in WeChat's browser).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use roundtable_core::access::{Action, ResourceKind, permit, permit_somewhere};
use roundtable_core::questionnaire::{QuestionKind, QuestionnaireStatus, options_from_lines};
use roundtable_core::topics::Category;

use super::HtmlForm;
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::limits::ClientAddr;
use crate::render::{id_options, options, page_with_status};
use crate::services::orgs;
use crate::services::questionnaires::{
    self as service, Edit, QuestionInput, QuestionnaireInput, QuestionnaireQuery, ResponseInput,
};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/questionnaires", get(list).post(create))
        .route("/questionnaires/new", get(new))
        .route("/questionnaires/{id}", get(show).post(update))
        .route("/questionnaires/{id}/questions", post(add_question))
        .route(
            "/questionnaires/{id}/questions/{n}/{op}",
            post(change_question),
        )
        // publish, close
        .route("/questionnaires/{id}/{op}", post(lifecycle))
        .route("/questionnaires/{id}/results", get(results))
        .route("/questionnaires/{id}/export.xlsx", get(export))
        .route(
            "/questionnaires/{id}/answers/{answer_id}/topic",
            post(answer_to_topic),
        )
        .route("/q/{code}", get(answer_form).post(answer_submit))
}

type PageResult = Result<Response, PageError>;

/// A page shown with field errors answers 422.
fn status_for(errors: &Value) -> StatusCode {
    if errors.len().unwrap_or(0) > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

fn kinds() -> Vec<Value> {
    options(QuestionKind::ALL, QuestionKind::code, QuestionKind::label)
}

fn categories() -> Vec<Value> {
    // 其他类 needs a reason per topic; a questionnaire is about a known area.
    let five: Vec<Category> = Category::ALL
        .iter()
        .copied()
        .filter(|c| !c.needs_reason())
        .collect();
    options(&five, Category::code, Category::label)
}

async fn list(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<QuestionnaireQuery>,
) -> PageResult {
    let a = &session.actor;
    if !permit_somewhere(a, Action::View, ResourceKind::Topic) {
        return Err(AppError::Forbidden.into());
    }
    let list = service::list(&state.db, a, &q).await?;
    Ok(page_with_status(
        &state,
        StatusCode::OK,
        "questionnaires.html",
        Some(&session),
        &csrf,
        context! {
            page => list,
            base => format!("/questionnaires?status={}", q.status.clone().unwrap_or_default()),
            status => q.status,
            statuses => options(QuestionnaireStatus::ALL, QuestionnaireStatus::code, QuestionnaireStatus::label),
            can_edit => permit_somewhere(a, Action::Edit, ResourceKind::Topic),
        },
    ))
}

async fn form_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    form: &QuestionnaireInput,
    errors: Value,
    status: StatusCode,
) -> PageResult {
    let communities = id_options(
        orgs::outline(&state.db, &session.actor, Action::Edit, ResourceKind::Topic).await?,
    );
    Ok(page_with_status(
        state,
        status,
        "questionnaire_form.html",
        Some(session),
        csrf,
        context! { form, errors, communities, categories => categories() },
    ))
}

async fn new(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    if !permit_somewhere(&session.actor, Action::Edit, ResourceKind::Topic) {
        return Err(AppError::Forbidden.into());
    }
    // A fortnight from today: a usual consultation period.
    let today = crate::render::today();
    let form = QuestionnaireInput {
        opens_on: Some(today.to_string()),
        closes_on: Some((today + chrono::Duration::days(14)).to_string()),
        ..Default::default()
    };
    form_page(&state, &session, &csrf, &form, context! {}, StatusCode::OK).await
}

async fn create(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<QuestionnaireInput>,
) -> PageResult {
    let mut f = f;
    f.questions = None;
    match service::create(&state.db, &session.actor, &f).await {
        Ok(v) => {
            Ok(Redirect::to(&format!("/questionnaires/{}", v.questionnaire.id)).into_response())
        }
        Err(AppError::Validation(e)) => {
            form_page(
                &state,
                &session,
                &csrf,
                &f,
                Value::from_serialize(&e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The builder: header, questions, publishing, the link and its QR code.
async fn detail_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    headers: &HeaderMap,
    id: i64,
    errors: Value,
    new_question: Option<&QuestionInput>,
) -> PageResult {
    let a = &session.actor;
    let v = service::get(&state.db, a, id).await?;
    let q = &v.questionnaire;
    let can_edit = permit(a, Action::Edit, ResourceKind::Topic, &q.org_path, None);
    let can_export = permit(a, Action::Export, ResourceKind::Topic, &q.org_path, None);
    let (url, qr) = super::public_link(state, headers, &format!("/q/{}", q.public_code))?;
    let header_form = QuestionnaireInput {
        org_id: Some(q.org_id),
        title: q.title.clone(),
        intro: q.intro.clone(),
        category: q.category.clone(),
        opens_on: q.opens_on.map(|d| d.to_string()),
        closes_on: q.closes_on.map(|d| d.to_string()),
        questions: None,
    };
    let communities = if can_edit {
        id_options(orgs::outline(&state.db, a, Action::Edit, ResourceKind::Topic).await?)
    } else {
        vec![]
    };
    let status = status_for(&errors);
    Ok(page_with_status(
        state,
        status,
        "questionnaire.html",
        Some(session),
        csrf,
        context! {
            v, url, qr, errors, can_edit, can_export, communities,
            form => header_form,
            draft => q.status == QuestionnaireStatus::Draft.code(),
            published => q.status == QuestionnaireStatus::Published.code(),
            new_question => new_question.cloned().unwrap_or(QuestionInput { kind: QuestionKind::Single.code().into(), required: true, ..Default::default() }),
            new_options => new_question.map(|n| n.options.join("\n")).unwrap_or_default(),
            kinds => kinds(),
            categories => categories(),
        },
    ))
}

async fn show(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> PageResult {
    detail_page(&state, &session, &csrf, &headers, id, context! {}, None).await
}

/// After a builder action: back to the page, or the page again with the errors.
async fn after<T>(
    state: &AppState,
    session: &Session,
    csrf: &str,
    headers: &HeaderMap,
    id: i64,
    r: Result<T, AppError>,
    new_question: Option<&QuestionInput>,
) -> PageResult {
    match r {
        Ok(_) => Ok(Redirect::to(&format!("/questionnaires/{id}")).into_response()),
        Err(AppError::Validation(e)) => {
            detail_page(
                state,
                session,
                csrf,
                headers,
                id,
                Value::from_serialize(&e),
                new_question,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn update(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<QuestionnaireInput>,
) -> PageResult {
    let mut f = f;
    f.questions = None;
    let r = service::update(&state.db, &session.actor, id, &f).await;
    after(&state, &session, &csrf, &headers, id, r, None).await
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct QuestionForm {
    kind: String,
    prompt: String,
    required: Option<String>,
    /// One option per line.
    options: String,
}

async fn add_question(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    headers: HeaderMap,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<QuestionForm>,
) -> PageResult {
    let q = QuestionInput {
        kind: f.kind,
        prompt: f.prompt,
        required: f.required.is_some(),
        options: options_from_lines(&f.options),
    };
    let r = service::edit_questions(&state.db, &session.actor, id, Edit::Add(q.clone())).await;
    after(&state, &session, &csrf, &headers, id, r, Some(&q)).await
}

async fn change_question(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    headers: HeaderMap,
    Path((id, n, op)): Path<(i64, usize, String)>,
) -> PageResult {
    let edit = match op.as_str() {
        "up" => Edit::Move(n, true),
        "down" => Edit::Move(n, false),
        "delete" => Edit::Delete(n),
        _ => return Err(AppError::NotFound.into()),
    };
    let r = service::edit_questions(&state.db, &session.actor, id, edit).await;
    after(&state, &session, &csrf, &headers, id, r, None).await
}

/// Publishing and closing: the same form, the same way back.
async fn lifecycle(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    headers: HeaderMap,
    Path((id, op)): Path<(i64, String)>,
) -> PageResult {
    let r = match op.as_str() {
        "publish" => service::publish(&state.db, &session.actor, id).await,
        "close" => service::close(&state.db, &session.actor, id).await,
        _ => return Err(AppError::NotFound.into()),
    };
    after(&state, &session, &csrf, &headers, id, r, None).await
}

async fn results_page(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: i64,
    errors: Value,
) -> PageResult {
    let a = &session.actor;
    let r = service::results(&state.db, a, id).await?;
    let can_edit = permit(
        a,
        Action::Edit,
        ResourceKind::Topic,
        &r.questionnaire.org_path,
        None,
    );
    let can_export = permit(
        a,
        Action::Export,
        ResourceKind::Topic,
        &r.questionnaire.org_path,
        None,
    );
    let charts: Vec<Option<Value>> = r
        .questions
        .iter()
        .map(|q| {
            let (labels, counts): (Vec<String>, Vec<i64>) = q.tally.counts.iter().cloned().unzip();
            crate::charts::bars(&labels, &counts).map(Value::from_safe_string)
        })
        .collect();
    let status = status_for(&errors);
    Ok(page_with_status(
        state,
        status,
        "questionnaire_results.html",
        Some(session),
        csrf,
        context! { r, charts, can_edit, can_export, errors },
    ))
}

async fn results(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    results_page(&state, &session, &csrf, id, context! {}).await
}

async fn export(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let (name, bytes) = service::export(&state.db, &session.actor, id).await?;
    Ok(super::excel::xlsx(bytes, &name))
}

async fn answer_to_topic(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path((id, answer_id)): Path<(i64, i64)>,
) -> PageResult {
    match service::answer_to_topic(&state.db, &session.actor, id, answer_id).await {
        Ok(t) => Ok(Redirect::to(&format!("/topics/{}", t.id)).into_response()),
        Err(AppError::Validation(e)) => {
            results_page(&state, &session, &csrf, id, Value::from_serialize(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- answering (residents, no account)

/// A long-lived random id of the browser: one response per device.
async fn answer_page(
    state: &AppState,
    csrf: &str,
    code: &str,
    status: StatusCode,
    typed: Option<&ResponseInput>,
    errors: Value,
    done: bool,
) -> PageResult {
    let q = service::get_public(&state.db, code).await?;
    // What the resident chose, shown again with the errors (keys "1", "2", …).
    let answers: BTreeMap<String, Vec<String>> = typed
        .map(|t| {
            t.answers
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let phone = typed.and_then(|t| t.phone.clone());
    Ok(page_with_status(
        state,
        status,
        "answer.html",
        None,
        csrf,
        context! { q, answers, phone, errors, done },
    ))
}

async fn answer_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> PageResult {
    let device = super::device_of(&headers);
    let answered = match &device {
        Some(d) => service::device_answered(&state.db, &code, d).await?,
        None => false,
    };
    let errors = match answered {
        true => Value::from_serialize(service::already().fields()),
        false => context! {},
    };
    let mut r = answer_page(&state, &csrf, &code, StatusCode::OK, None, errors, false).await?;
    if device.is_none() {
        super::set_device_cookie(&state, &mut r, "/q");
    }
    Ok(r)
}

async fn answer_submit(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Path(code): Path<String>,
    HtmlForm(pairs): HtmlForm<Vec<(String, String)>>,
) -> PageResult {
    let mut answers: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut phone = None;
    for (k, v) in pairs {
        match k.as_str() {
            // The honeypot: a bot is thanked and nothing is stored.
            "website" if !v.trim().is_empty() => {
                return answer_page(
                    &state,
                    &csrf,
                    &code,
                    StatusCode::OK,
                    None,
                    context! {},
                    true,
                )
                .await;
            }
            "phone" => phone = Some(v),
            _ => {
                if let Some(n) = k.strip_prefix('q').and_then(|n| n.parse().ok()) {
                    answers.entry(n).or_default().push(v);
                }
            }
        }
    }
    // Without the device cookie (refused by the browser) the form's own token stands in.
    let device = super::device_of(&headers).unwrap_or_else(|| format!("csrf:{csrf}"));
    let input = ResponseInput {
        device,
        phone,
        answers,
    };
    let r = service::answer_public(
        &state.db,
        &state.questionnaire_limit,
        &client,
        &code,
        &input,
    )
    .await;
    let (status, errors, done) = match r {
        Ok(()) => (StatusCode::OK, context! {}, true),
        Err(AppError::Validation(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Value::from_serialize(&e),
            false,
        ),
        Err(e @ AppError::TooMany) => (
            StatusCode::TOO_MANY_REQUESTS,
            context! { questionnaire => e.to_string() },
            false,
        ),
        Err(e) => return Err(e.into()),
    };
    answer_page(&state, &csrf, &code, status, Some(&input), errors, done).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_five_categories_are_offered() {
        assert_eq!(super::categories().len(), 5);
    }
}
