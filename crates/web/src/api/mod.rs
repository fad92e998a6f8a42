//! The JSON API under /api/v1: the same services as the pages, the error envelope of
//! `error::ApiError`, and an OpenAPI document generated from these handlers (utoipa).

mod cases;
mod exchange;
mod projects;
mod questionnaires;
mod reports;
mod resources;
mod security;
mod wishes;

use axum::Json;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roundtable_store::links::{Link, LinkFilter};
use roundtable_store::orgs::Org;
use roundtable_store::people::{Person, PersonFilter};
use roundtable_store::units::{Unit, UnitFilter};
use roundtable_store::users::User;
use roundtable_store::{PageReq, Paged};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{self, Session};
use crate::error::{ApiError, AppError, ErrorEnvelope};
use crate::limits::ClientAddr;
use crate::pages;
use crate::pages::excel::SheetQuery;
use crate::services::excel::{self, ImportReport};
use crate::services::links::LinkInput;
use crate::services::orgs::{OrgInput, OrgNode};
use crate::services::people::PersonInput;
use crate::services::topics::{
    DecisionInput, PublicCommunity, PublicTopic, Suggestion, TopicInput, TopicQuery,
};
use crate::services::units::UnitInput;
use crate::services::users::{CreatedUser, RoleInput, UserDetail, UserInput};
use crate::services::{self, links, orgs, people, topics, units, users};
use roundtable_store::topics::Topic;

#[derive(OpenApi)]
#[openapi(
    info(title = "Roundtable 圆桌 API", version = "1"),
    components(schemas(ErrorEnvelope))
)]
struct ApiDoc;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(token_list, token_issue))
        .routes(routes!(token_revoke))
        .routes(routes!(second_factor_status, second_factor_start))
        .routes(routes!(second_factor_confirm))
        .routes(routes!(second_factor_disable))
        .routes(routes!(privacy_subject))
        .routes(routes!(privacy_erase))
        .routes(routes!(org_tree, org_create))
        .routes(routes!(org_get, org_update))
        .routes(routes!(org_links))
        .routes(routes!(unit_list, unit_create))
        .routes(routes!(unit_get, unit_update))
        .routes(routes!(person_list, person_create))
        .routes(routes!(person_get, person_update))
        .routes(routes!(link_list, link_create))
        .routes(routes!(link_get, link_update))
        .routes(routes!(link_end))
        .routes(routes!(user_list, user_create))
        .routes(routes!(user_get))
        .routes(routes!(user_add_role))
        .routes(routes!(user_remove_role))
        .routes(routes!(user_lock))
        .routes(routes!(user_unlock))
        .routes(routes!(user_reset_password))
        .routes(routes!(excel_template))
        .routes(routes!(excel_export))
        .routes(routes!(excel_import))
        .routes(routes!(public_communities))
        .routes(routes!(public_topic_submit))
        .routes(routes!(public_topic_get))
        .routes(routes!(public_topic_photos))
        .routes(routes!(topic_list, topic_create))
        .routes(routes!(topic_get))
        .routes(routes!(topic_decide))
        .routes(routes!(topic_decide_many))
        .routes(routes!(topic_similar))
        .merge(questionnaires::router())
        .merge(cases::router())
        .merge(projects::router())
        .merge(reports::router())
        .merge(wishes::router())
        .merge(resources::router())
        .merge(exchange::router())
        .merge(security::router())
}

/// The OpenAPI document, served at /api/v1/openapi.json.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = router().split_for_parts();
    doc.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    doc
}

pub async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError(AppError::NotFound)
}

/// A JSON body whose rejection (wrong type, missing field, not JSON) is the error envelope.
pub struct ApiJson<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(ApiError(AppError::BadRequest(format!(
                "请求体不是有效的JSON或字段类型不符：{}",
                e.body_text()
            )))),
        }
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct LoginBody {
    username: String,
    password: String,
    /// The 6-digit code of the authenticator app, for an account with a second factor
    /// (otherwise the answer is 401 `second_factor_required`).
    #[serde(default)]
    second_factor: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Me {
    user: User,
    /// Role codes with the node each is held for.
    grants: Vec<roundtable_store::users::UserRole>,
    /// A new password must be set (POST /auth/password) before anything else: the account's
    /// was reset, or it is older than the deployment allows (等保 2.0).
    password_change_required: bool,
    /// A second factor must be set up (`/me/second-factor`) before anything else: the
    /// deployment requires one for the account's roles (等保 2.0).
    second_factor_setup_required: bool,
}

/// Starts a session (cookie `rt_session`) for an API client.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = Me), (status = 401, body = ErrorEnvelope), (status = 423, body = ErrorEnvelope)))]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(b): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let ip = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let done = auth::login(
        &state,
        &b.username,
        &b.password,
        b.second_factor.as_deref(),
        ip.as_deref(),
    )
    .await?;
    let grants = roundtable_store::users::roles(&mut state.db.pool(), done.user.id).await?;
    let roles: Vec<&str> = grants.iter().map(|g| g.role.as_str()).collect();
    let second_factor_setup_required = done.user.totp_enabled_at.is_none()
        && roundtable_core::second_factor::required(state.config.second_factor_required, &roles);
    let mut r = Json(Me {
        second_factor_setup_required,
        password_change_required: auth::must_change_password(&state, &done.user),
        user: done.user,
        grants,
    })
    .into_response();
    if let Ok(v) = auth::session_cookie(&state, &done.token).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[utoipa::path(post, path = "/auth/logout", tag = "auth", responses((status = 204)))]
async fn logout(State(state): State<AppState>, session: Session) -> Result<StatusCode, ApiError> {
    auth::logout(&state, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/auth/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorEnvelope)))]
async fn me(State(state): State<AppState>, session: Session) -> ApiResult<Me> {
    let grants = roundtable_store::users::roles(&mut state.db.pool(), session.user.id).await?;
    Ok(Json(Me {
        second_factor_setup_required: auth::must_set_up_second_factor(&state, &session),
        password_change_required: auth::must_change_password(&state, &session.user),
        user: session.user,
        grants,
    }))
}

/// The account's second factor (issue 6): whether logins ask for a code, and whether the
/// deployment requires one for its roles.
#[utoipa::path(get, path = "/me/second-factor", tag = "auth",
    responses((status = 200, body = services::second_factor::Status), (status = 401, body = ErrorEnvelope)))]
async fn second_factor_status(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<services::second_factor::Status> {
    Ok(Json(services::second_factor::status(&state, &session)))
}

/// Begins setting up a second factor: a new secret (base32) and its `otpauth://` address for
/// the authenticator app; confirmed by `/me/second-factor/confirm` with the app's first code.
#[utoipa::path(post, path = "/me/second-factor", tag = "auth",
    responses((status = 201, body = services::second_factor::Enrolment), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn second_factor_start(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, ApiError> {
    let e = services::second_factor::start(&state, &session).await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

/// Switches the second factor on with the app's current code for the secret being set up.
#[utoipa::path(post, path = "/me/second-factor/confirm", tag = "auth", request_body = services::second_factor::CodeInput,
    responses((status = 200, body = services::second_factor::Status), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn second_factor_confirm(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<services::second_factor::CodeInput>,
) -> ApiResult<services::second_factor::Status> {
    Ok(Json(
        services::second_factor::confirm(&state, &session, &b).await?,
    ))
}

/// Switches it off with a current code; refused where the deployment requires it.
#[utoipa::path(post, path = "/me/second-factor/disable", tag = "auth", request_body = services::second_factor::CodeInput,
    responses((status = 200, body = services::second_factor::Status), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn second_factor_disable(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<services::second_factor::CodeInput>,
) -> ApiResult<services::second_factor::Status> {
    Ok(Json(
        services::second_factor::disable(&state, &session, &b).await?,
    ))
}

/// The signed-in account's API tokens (issue 6), the newest first; never their secrets.
#[utoipa::path(get, path = "/me/tokens", tag = "auth",
    responses((status = 200, body = Vec<roundtable_store::tokens::ApiToken>), (status = 401, body = ErrorEnvelope)))]
async fn token_list(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Vec<roundtable_store::tokens::ApiToken>> {
    Ok(Json(services::tokens::list(&state.db, &session).await?))
}

/// Issues an API token for a machine client: some of the account's roles, optionally one
/// subtree, 1–365 days. The secret is in this answer only; send it as
/// `Authorization: Bearer rt_…`. A request made with a token cannot issue one.
#[utoipa::path(post, path = "/me/tokens", tag = "auth", request_body = services::tokens::TokenInput,
    responses((status = 201, body = services::tokens::Issued), (status = 400, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn token_issue(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<services::tokens::TokenInput>,
) -> Result<Response, ApiError> {
    let issued = services::tokens::issue(&state.db, &session, &b).await?;
    Ok((StatusCode::CREATED, Json(issued)).into_response())
}

/// Revokes a token (one's own; an account administrator any): it stops working at once.
#[utoipa::path(delete, path = "/me/tokens/{id}", tag = "auth", params(("id" = i64, Path)),
    responses((status = 200, body = roundtable_store::tokens::ApiToken), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn token_revoke(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<roundtable_store::tokens::ApiToken> {
    Ok(Json(services::tokens::revoke(&state, &session, id).await?))
}

#[derive(serde::Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
struct PhoneBody {
    /// The person's mobile number (11 digits)
    phone: String,
}

/// PIPL: everything held under one phone number, for the person who asked (system or district
/// administrator; audited with the number masked).
#[utoipa::path(get, path = "/privacy/subject", tag = "privacy", params(PhoneBody),
    responses((status = 200, body = services::privacy::Subject), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn privacy_subject(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<PhoneBody>,
) -> ApiResult<services::privacy::Subject> {
    Ok(Json(
        services::privacy::subject(&state.db, &session.actor, &session.user.username, &q.phone)
            .await?,
    ))
}

/// PIPL: erases one phone number (and a resident's name with it) wherever it is held.
#[utoipa::path(post, path = "/privacy/erase", tag = "privacy", request_body = PhoneBody,
    responses((status = 200, body = roundtable_store::privacy::Erased), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn privacy_erase(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<PhoneBody>,
) -> ApiResult<roundtable_store::privacy::Erased> {
    Ok(Json(
        services::privacy::erase(&state.db, &session.actor, &b.phone).await?,
    ))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[utoipa::path(post, path = "/auth/password", tag = "auth", request_body = PasswordBody, responses((status = 204), (status = 422, body = ErrorEnvelope)))]
async fn change_password(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    auth::change_password(
        &state,
        &session,
        &b.current_password,
        &b.new_password,
        &b.new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- organisation

#[utoipa::path(get, path = "/orgs", tag = "organisation", responses((status = 200, body = Vec<OrgNode>)))]
async fn org_tree(State(state): State<AppState>, session: Session) -> ApiResult<Vec<OrgNode>> {
    Ok(Json(orgs::as_tree(
        orgs::visible(&state.db, &session.actor).await?,
    )))
}

#[utoipa::path(post, path = "/orgs", tag = "organisation", request_body = OrgInput, responses((status = 201, body = Org), (status = 422, body = ErrorEnvelope)))]
async fn org_create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<OrgInput>,
) -> Result<(StatusCode, Json<Org>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(orgs::create(&state.db, &session.actor, &b).await?),
    ))
}

#[utoipa::path(get, path = "/orgs/{id}", tag = "organisation", params(("id" = i64, Path)), responses((status = 200, body = Org), (status = 404, body = ErrorEnvelope)))]
async fn org_get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<Org> {
    Ok(Json(orgs::get(&state.db, &session.actor, id).await?))
}

#[utoipa::path(put, path = "/orgs/{id}", tag = "organisation", params(("id" = i64, Path)), request_body = OrgInput, responses((status = 200, body = Org), (status = 422, body = ErrorEnvelope)))]
async fn org_update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<OrgInput>,
) -> ApiResult<Org> {
    Ok(Json(orgs::update(&state.db, &session.actor, id, &b).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct DateParam {
    /// YYYY-MM-DD, default today
    date: Option<String>,
}

/// R-ORG-2: who was linked to the node on a date.
#[utoipa::path(get, path = "/orgs/{id}/links", tag = "organisation", params(("id" = i64, Path), DateParam), responses((status = 200, body = Vec<Link>)))]
async fn org_links(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(q): Query<DateParam>,
) -> ApiResult<Vec<Link>> {
    let mut errors = roundtable_core::FieldErrors::new();
    let date =
        roundtable_core::validate::optional_date(&mut errors, "date", "日期", q.date.as_deref())
            .unwrap_or_else(crate::render::today);
    errors.into_result().map_err(AppError::Validation)?;
    orgs::get(&state.db, &session.actor, id).await?;
    Ok(Json(
        links::linked_on(&state.db, &session.actor, id, date).await?,
    ))
}

// ---- lists

#[derive(serde::Deserialize, utoipa::IntoParams, Default)]
#[serde(default)]
struct ListParams {
    /// Name (or, for people, the start of the phone number)
    q: Option<String>,
    /// Person kind code (people) or unit type code (units)
    kind: Option<String>,
    /// Only this node and below
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    org_id: Option<i64>,
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    page: Option<i64>,
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    per_page: Option<i64>,
}

#[utoipa::path(get, path = "/units", tag = "units", params(ListParams), responses((status = 200, body = Paged<Unit>)))]
async fn unit_list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListParams>,
) -> ApiResult<Paged<Unit>> {
    let f = UnitFilter {
        q: q.q,
        unit_type: q.kind,
        org_id: q.org_id,
    };
    Ok(Json(
        units::list(
            &state.db,
            &session.actor,
            &f,
            PageReq::new(q.page, q.per_page),
        )
        .await?,
    ))
}

#[utoipa::path(post, path = "/units", tag = "units", request_body = UnitInput, responses((status = 201, body = Unit), (status = 422, body = ErrorEnvelope)))]
async fn unit_create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<UnitInput>,
) -> Result<(StatusCode, Json<Unit>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(units::create(&state.db, &session.actor, &b).await?),
    ))
}

#[utoipa::path(get, path = "/units/{id}", tag = "units", params(("id" = i64, Path)), responses((status = 200, body = Unit)))]
async fn unit_get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<Unit> {
    Ok(Json(units::get(&state.db, &session.actor, id).await?))
}

#[utoipa::path(put, path = "/units/{id}", tag = "units", params(("id" = i64, Path)), request_body = UnitInput, responses((status = 200, body = Unit)))]
async fn unit_update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<UnitInput>,
) -> ApiResult<Unit> {
    Ok(Json(
        units::update(&state.db, &session.actor, id, &b).await?,
    ))
}

#[utoipa::path(get, path = "/people", tag = "people", params(ListParams), responses((status = 200, body = Paged<Person>)))]
async fn person_list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListParams>,
) -> ApiResult<Paged<Person>> {
    let f = PersonFilter {
        q: q.q,
        kind: q.kind,
        org_id: q.org_id,
    };
    Ok(Json(
        people::list(
            &state.db,
            &session.actor,
            &f,
            PageReq::new(q.page, q.per_page),
        )
        .await?,
    ))
}

#[utoipa::path(post, path = "/people", tag = "people", request_body = PersonInput, responses((status = 201, body = Person), (status = 422, body = ErrorEnvelope)))]
async fn person_create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<PersonInput>,
) -> Result<(StatusCode, Json<Person>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(people::create(&state.db, &session.actor, &b).await?),
    ))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
struct RevealParam {
    /// `phone`: return the unmasked number (audited; only for roles allowed to)
    reveal: Option<String>,
}

#[utoipa::path(get, path = "/people/{id}", tag = "people", params(("id" = i64, Path), RevealParam), responses((status = 200, body = Person)))]
async fn person_get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    Query(q): Query<RevealParam>,
) -> ApiResult<Person> {
    Ok(Json(
        people::get(
            &state.db,
            &session.actor,
            id,
            q.reveal.as_deref() == Some("phone"),
        )
        .await?,
    ))
}

#[utoipa::path(put, path = "/people/{id}", tag = "people", params(("id" = i64, Path)), request_body = PersonInput, responses((status = 200, body = Person)))]
async fn person_update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PersonInput>,
) -> ApiResult<Person> {
    Ok(Json(
        people::update(&state.db, &session.actor, id, &b).await?,
    ))
}

// ---- links

#[derive(serde::Deserialize, utoipa::IntoParams, Default)]
#[serde(default)]
struct LinkParams {
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    org_id: Option<i64>,
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    person_id: Option<i64>,
    #[serde(deserialize_with = "services::opt_id::deserialize")]
    unit_id: Option<i64>,
    kind: Option<String>,
    /// YYYY-MM-DD: only links valid that day
    date: Option<String>,
}

#[utoipa::path(get, path = "/links", tag = "links", params(LinkParams), responses((status = 200, body = Vec<Link>)))]
async fn link_list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LinkParams>,
) -> ApiResult<Vec<Link>> {
    let mut errors = roundtable_core::FieldErrors::new();
    let valid_on =
        roundtable_core::validate::optional_date(&mut errors, "date", "日期", q.date.as_deref());
    errors.into_result().map_err(AppError::Validation)?;
    let f = LinkFilter {
        org_id: q.org_id,
        subtree: false,
        person_id: q.person_id,
        unit_id: q.unit_id,
        kind: q.kind,
        valid_on,
    };
    Ok(Json(links::list(&state.db, &session.actor, &f).await?))
}

#[utoipa::path(post, path = "/links", tag = "links", request_body = LinkInput, responses((status = 201, body = Link), (status = 422, body = ErrorEnvelope)))]
async fn link_create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<LinkInput>,
) -> Result<(StatusCode, Json<Link>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(links::create(&state.db, &session.actor, &b).await?),
    ))
}

#[utoipa::path(get, path = "/links/{id}", tag = "links", params(("id" = i64, Path)), responses((status = 200, body = Link)))]
async fn link_get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<Link> {
    Ok(Json(links::get(&state.db, &session.actor, id).await?))
}

#[utoipa::path(put, path = "/links/{id}", tag = "links", params(("id" = i64, Path)), request_body = LinkInput, responses((status = 200, body = Link)))]
async fn link_update(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<LinkInput>,
) -> ApiResult<Link> {
    Ok(Json(
        links::update(&state.db, &session.actor, id, &b).await?,
    ))
}

#[derive(serde::Deserialize, utoipa::ToSchema, Default)]
#[serde(default)]
struct EndBody {
    /// YYYY-MM-DD, default today
    end_date: Option<String>,
}

#[utoipa::path(post, path = "/links/{id}/end", tag = "links", params(("id" = i64, Path)), request_body = EndBody, responses((status = 200, body = Link)))]
async fn link_end(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<EndBody>,
) -> ApiResult<Link> {
    Ok(Json(
        links::end(&state.db, &session.actor, id, b.end_date.as_deref()).await?,
    ))
}

// ---- accounts

#[utoipa::path(get, path = "/users", tag = "accounts", params(ListParams), responses((status = 200, body = Paged<User>)))]
async fn user_list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListParams>,
) -> ApiResult<Paged<User>> {
    Ok(Json(
        users::list(
            &state.db,
            &session.actor,
            q.q.as_deref(),
            PageReq::new(q.page, q.per_page),
        )
        .await?,
    ))
}

#[utoipa::path(post, path = "/users", tag = "accounts", request_body = UserInput, responses((status = 201, body = CreatedUser), (status = 422, body = ErrorEnvelope)))]
async fn user_create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<UserInput>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(users::create(&state.db, &session.actor, &b).await?),
    ))
}

#[utoipa::path(get, path = "/users/{id}", tag = "accounts", params(("id" = i64, Path)), responses((status = 200, body = UserDetail)))]
async fn user_get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<UserDetail> {
    Ok(Json(users::get(&state.db, &session.actor, id).await?))
}

#[utoipa::path(post, path = "/users/{id}/roles", tag = "accounts", params(("id" = i64, Path)), request_body = RoleInput, responses((status = 200, body = UserDetail)))]
async fn user_add_role(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RoleInput>,
) -> ApiResult<UserDetail> {
    Ok(Json(
        users::add_role(&state.db, &session.actor, id, &b).await?,
    ))
}

#[utoipa::path(delete, path = "/users/{id}/roles/{role_id}", tag = "accounts", params(("id" = i64, Path), ("role_id" = i64, Path)), responses((status = 200, body = UserDetail)))]
async fn user_remove_role(
    State(state): State<AppState>,
    session: Session,
    Path((id, role_id)): Path<(i64, i64)>,
) -> ApiResult<UserDetail> {
    Ok(Json(
        users::remove_role(&state.db, &session.actor, id, role_id).await?,
    ))
}

#[utoipa::path(post, path = "/users/{id}/lock", tag = "accounts", params(("id" = i64, Path)), responses((status = 200, body = UserDetail)))]
async fn user_lock(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<UserDetail> {
    Ok(Json(
        users::set_locked(&state.db, &session.actor, id, true).await?,
    ))
}

#[utoipa::path(post, path = "/users/{id}/unlock", tag = "accounts", params(("id" = i64, Path)), responses((status = 200, body = UserDetail)))]
async fn user_unlock(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<UserDetail> {
    Ok(Json(
        users::set_locked(&state.db, &session.actor, id, false).await?,
    ))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct NewPassword {
    /// Shown once; the account must change it at next login.
    password: String,
}

#[utoipa::path(post, path = "/users/{id}/reset-password", tag = "accounts", params(("id" = i64, Path)), responses((status = 200, body = NewPassword)))]
async fn user_reset_password(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<NewPassword> {
    Ok(Json(NewPassword {
        password: users::reset_password(&state.db, &session.actor, id, None).await?,
    }))
}

// ---- Excel

#[utoipa::path(get, path = "/excel/template", tag = "excel", params(SheetQuery),
    responses((status = 200, description = "An empty workbook with the chosen sheets and the 说明 sheet",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 422, body = ErrorEnvelope)))]
async fn excel_template(
    _session: Session,
    Query(q): Query<SheetQuery>,
) -> Result<Response, ApiError> {
    let sheets = q.sheets()?;
    Ok(pages::excel::xlsx(
        excel::template(&sheets)?,
        &pages::excel::file_name("template", &sheets),
    ))
}

#[utoipa::path(get, path = "/excel/export", tag = "excel", params(SheetQuery),
    responses((status = 200, description = "The records the caller may export, in the import layout",
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = ErrorEnvelope)))]
async fn excel_export(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<SheetQuery>,
) -> Result<Response, ApiError> {
    let sheets = q.sheets()?;
    let bytes = excel::export(&state.db, &session.actor, &sheets).await?;
    Ok(pages::excel::xlsx(
        bytes,
        &pages::excel::file_name("export", &sheets),
    ))
}

#[derive(serde::Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
struct ImportParams {
    /// Only check the file; write nothing.
    dry_run: bool,
}

/// A refused import: bad cells (`import_rejected`, with the report) or a request that is no
/// workbook at all (`validation_failed`, with the field).
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ImportRejectedBody {
    /// import_rejected or validation_failed
    code: String,
    message: String,
    /// import_rejected: every bad cell by sheet, row and column; nothing was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<ImportReport>,
    /// validation_failed: the field and what is wrong with it.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<roundtable_core::validate::FieldErrors>,
}

/// The error envelope of a refused import.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ImportRejected {
    error: ImportRejectedBody,
}

/// Imports a workbook sent as the request body: every row or none (422 lists each bad cell).
#[utoipa::path(post, path = "/excel/import", tag = "excel", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = ImportReport), (status = 422, body = ImportRejected),
        (status = 403, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope)))]
async fn excel_import(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ImportParams>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::field("file", "请求体读取失败")
        }
    })?;
    if body.is_empty() {
        return Err(AppError::field("file", "请求体为空：请以 .xlsx 文件内容作为请求体").into());
    }
    let report = excel::import(&state.db, &session.actor, &body, q.dry_run, &|_, _| {}).await?;
    if report.error_total == 0 {
        return Ok(Json(report).into_response());
    }
    let message = format!("文件中有 {} 处错误，没有导入任何数据", report.error_total);
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(ImportRejected {
            error: ImportRejectedBody {
                code: "import_rejected".into(),
                message,
                report: Some(report),
                fields: None,
            },
        }),
    )
        .into_response())
}

// ---- Topics (issue 3)

/// Communities a resident may address a matter to (no account needed).
#[utoipa::path(get, path = "/public/communities", tag = "public",
    responses((status = 200, body = Vec<PublicCommunity>)))]
async fn public_communities(State(state): State<AppState>) -> ApiResult<Vec<PublicCommunity>> {
    Ok(Json(topics::public_communities(&state.db).await?))
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
struct PublicTopicBody {
    #[serde(flatten)]
    topic: TopicInput,
    /// Leave empty: a field only bots fill in.
    website: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Submitted {
    /// Keep it to follow the matter: GET /public/topics/{tracking_code}
    tracking_code: String,
}

/// A resident's matter (channel 网上平台). Rate limited per client address and per phone (429).
#[utoipa::path(post, path = "/public/topics", tag = "public", request_body = PublicTopicBody,
    responses((status = 201, body = Submitted), (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
async fn public_topic_submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(b): ApiJson<PublicTopicBody>,
) -> Result<Response, ApiError> {
    let code = if b.website.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        // A bot: answered like anyone, nothing stored.
        roundtable_core::topics::tracking_code([0; 9])
    } else {
        topics::submit_public(
            &state.db,
            &state.portal_limit,
            &client,
            &b.topic,
            topics::Uploads {
                data_dir: &state.config.data_dir,
                files: vec![],
            },
        )
        .await?
    };
    Ok((
        StatusCode::CREATED,
        Json(Submitted {
            tracking_code: code,
        }),
    )
        .into_response())
}

#[derive(serde::Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
struct TrackParams {
    /// The last 4 digits of the phone number given with the matter (when one was given).
    phone_last4: Option<String>,
}

/// The public status and history of a matter; never personal data.
#[utoipa::path(get, path = "/public/topics/{tracking_code}", tag = "public", params(("tracking_code" = String, Path), TrackParams),
    responses((status = 200, body = PublicTopic), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn public_topic_get(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<TrackParams>,
) -> ApiResult<PublicTopic> {
    Ok(Json(
        topics::get_public(&state.db, &code, q.phone_last4.as_deref()).await?,
    ))
}

#[utoipa::path(get, path = "/topics", tag = "topics", params(TopicQuery), responses((status = 200, body = Paged<Topic>)))]
async fn topic_list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<TopicQuery>,
) -> ApiResult<Paged<Topic>> {
    Ok(Json(topics::list(&state.db, &session.actor, &q).await?))
}

/// Staff intake (hotline, home visits…).
#[utoipa::path(post, path = "/topics", tag = "topics", request_body = TopicInput,
    responses((status = 201, body = Topic), (status = 422, body = ErrorEnvelope)))]
async fn topic_create(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<TopicInput>,
) -> Result<Response, ApiError> {
    let t = topics::create(&state.db, &session.actor, &b).await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct TopicDetail {
    topic: Topic,
    history: Vec<roundtable_store::topics::TopicEvent>,
    /// The topics merged into this one (R-TOP-5).
    sources: Vec<Topic>,
}

#[utoipa::path(get, path = "/topics/{id}", tag = "topics", params(("id" = i64, Path)),
    responses((status = 200, body = TopicDetail), (status = 404, body = ErrorEnvelope)))]
async fn topic_get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<TopicDetail> {
    let a = &session.actor;
    Ok(Json(TopicDetail {
        topic: topics::get(&state.db, a, id).await?,
        history: topics::history(&state.db, a, id).await?,
        sources: topics::sources(&state.db, a, id).await?,
    }))
}

/// Screening: accept, reject (with reason), merge, adopt, finish, reopen.
#[utoipa::path(post, path = "/topics/{id}/decision", tag = "topics", params(("id" = i64, Path)), request_body = DecisionInput,
    responses((status = 200, body = Topic), (status = 422, body = ErrorEnvelope)))]
async fn topic_decide(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<DecisionInput>,
) -> ApiResult<Topic> {
    Ok(Json(
        topics::decide(&state.db, &session.actor, id, &b).await?,
    ))
}

/// R-TOP-5: open matters like this one in its community and street.
#[utoipa::path(get, path = "/topics/{id}/similar", tag = "topics", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Suggestion>)))]
async fn topic_similar(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<Vec<Suggestion>> {
    Ok(Json(topics::similar(&state.db, &session.actor, id).await?))
}

#[derive(serde::Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
struct BulkDecision {
    /// The topics (at most 200); all are decided or none.
    ids: Vec<i64>,
    #[serde(flatten)]
    decision: DecisionInput,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Decided {
    updated: usize,
    topics: Vec<Topic>,
}

/// The same screening decision on several topics: all or none (422 names the topic).
#[utoipa::path(post, path = "/topics/decisions", tag = "topics", request_body = BulkDecision,
    responses((status = 200, body = Decided), (status = 422, body = ErrorEnvelope)))]
async fn topic_decide_many(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<BulkDecision>,
) -> ApiResult<Decided> {
    let topics = topics::decide_many(&state.db, &session.actor, &b.ids, &b.decision).await?;
    Ok(Json(Decided {
        updated: topics.len(),
        topics,
    }))
}

/// The non-empty files of the `photos` field of a multipart body.
pub(crate) async fn read_photos(
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Vec<Vec<u8>>, AppError> {
    let mut form =
        form.map_err(|_| AppError::field("photos", "请以 multipart/form-data 上传照片"))?;
    let mut files = Vec::new();
    loop {
        match form.next_field().await {
            Ok(Some(f)) if f.name() == Some("photos") => {
                let bytes = f.bytes().await.map_err(|_| AppError::TooLarge)?;
                if !bytes.is_empty() {
                    files.push(bytes.to_vec());
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return Err(AppError::TooLarge),
        }
    }
    Ok(files)
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct PhotoCount {
    /// Photos the matter now has.
    photos: usize,
}

/// Photos of a matter just submitted (multipart, field `photos`, JPEG/PNG/WebP, at most 5 of
/// 10 MB), within an hour of submitting.
#[utoipa::path(post, path = "/public/topics/{tracking_code}/photos", tag = "public", params(("tracking_code" = String, Path)),
    request_body(content = Vec<u8>, content_type = "multipart/form-data"),
    responses((status = 201, body = PhotoCount), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
async fn public_topic_photos(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    if !state.portal_limit.allow(&client) {
        return Err(AppError::TooMany.into());
    }
    let files = read_photos(form).await?;
    let n = topics::add_public_photos(
        &state.db,
        &code,
        topics::Uploads {
            data_dir: &state.config.data_dir,
            files,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(PhotoCount { photos: n })).into_response())
}
