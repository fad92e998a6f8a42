//! Server-rendered Chinese pages. Each handler calls a service and renders one template; a form
//! with errors is shown again with what the user typed and a message next to each field.

mod audit;
mod cases;
mod directory;
pub mod excel;
mod exchange;
mod feeds;
mod notify;
mod privacy;
mod questionnaires;
mod reports;
mod resources;
mod second_factor;
mod security;
mod tokens;
mod topics;
mod users;
mod wishes;

use axum::Router;
use axum::extract::{Multipart, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use roundtable_core::access::{Action, ResourceKind, permit_somewhere, scope};
use roundtable_store::{links, orgs, people, units, users as user_store};

use crate::auth::{self, Session};
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::{page, page_with_status, today};
use crate::{AppState, ErrorPage, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/account/password", get(password_form).post(password))
        .merge(directory::router())
        .merge(users::router())
        .merge(excel::router())
        .merge(topics::router())
        .merge(questionnaires::router())
        .merge(cases::router())
        .merge(reports::router())
        .merge(wishes::router())
        .merge(resources::router())
        .merge(audit::router())
        .merge(feeds::router())
        .merge(notify::router())
        .merge(tokens::router())
        .merge(second_factor::router())
        .merge(exchange::router())
        .merge(security::router())
        .merge(privacy::router())
}

/// The address residents open for `path` (from `public_url`, else the request's host) and its
/// QR code as inline SVG, for printed posters.
/// A long-lived random cookie that tells one phone from another on public pages (one
/// questionnaire answer, one satisfaction vote per device); only its SHA-256 is stored.
const DEVICE_COOKIE: &str = "rt_dev";

pub(crate) fn device_of(headers: &axum::http::HeaderMap) -> Option<String> {
    crate::auth::cookie(headers, DEVICE_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
}

/// Gives the browser its device cookie for the public pages under `path`.
pub(crate) fn set_device_cookie(state: &AppState, r: &mut Response, path: &str) {
    let value = crate::auth::set_cookie(
        state,
        &format!(
            "{DEVICE_COOKIE}={}; Path={path}; Max-Age=31536000; HttpOnly; SameSite=Lax",
            crate::auth::random_token()
        ),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
        r.headers_mut().append(axum::http::header::SET_COOKIE, v);
    }
}

pub(crate) fn public_link(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
) -> Result<(String, minijinja::Value), AppError> {
    let base = match &state.config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1:8080");
            let scheme = if state.config.secure_cookies {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        }
    };
    let url = format!("{base}{path}");
    let qr = qr_svg(&url)?;
    Ok((url, qr))
}

/// `text` as an SVG QR code, ready for a template.
pub(crate) fn qr_svg(text: &str) -> Result<minijinja::Value, AppError> {
    let qr = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(format!("qr: {e}")))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(280, 280)
        .build();
    Ok(minijinja::Value::from_safe_string(qr))
}

/// Form bodies: `serde_html_form` reads repeated keys (check boxes) into lists and empty
/// fields into `None`. A body it cannot read is a 400 with a Chinese message.
pub struct HtmlForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for HtmlForm<T> {
    type Rejection = PageError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::BadRequest("无法读取表单".into()))?;
        serde_html_form::from_bytes(&bytes)
            .map(HtmlForm)
            .map_err(|e| PageError(AppError::BadRequest(format!("表单内容有误：{e}"))))
    }
}

/// A form sent as multipart (for its photos or a file): its text fields as `T`, and the
/// non-empty files of its file inputs.
pub(super) async fn read_multipart<T: serde::de::DeserializeOwned>(
    mut form: Multipart,
) -> Result<(T, Vec<Vec<u8>>), AppError> {
    let mut fields = serde_json::Map::new();
    let mut files = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Err(AppError::TooLarge),
        };
        let name = field.name().unwrap_or("").to_string();
        // A file input (photos, a data file) sends a file name, even an empty one.
        if field.file_name().is_some() {
            let bytes = field.bytes().await.map_err(|_| AppError::TooLarge)?;
            if !bytes.is_empty() {
                files.push(bytes.to_vec());
            }
        } else if !name.is_empty() {
            let text = field
                .text()
                .await
                .map_err(|_| AppError::BadRequest("表单内容有误".into()))?;
            fields.insert(name, serde_json::Value::String(text));
        }
    }
    let form = serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| AppError::BadRequest(format!("表单内容有误：{e}")))?;
    Ok((form, files))
}

/// A multipart form (CSRF token in the query, see `csrf`): its fields as `T` and its photos.
pub struct MultipartForm<T>(pub T, pub Vec<Vec<u8>>);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S>
    for MultipartForm<T>
{
    type Rejection = PageError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let form = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|_| AppError::BadRequest("请通过页面上的表单提交".into()))?;
        let (f, files) = read_multipart(form).await?;
        Ok(MultipartForm(f, files))
    }
}

/// Renders the Chinese error page for responses that carry an `ErrorPage`.
pub async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let csrf = req.extensions().get::<CsrfToken>().cloned();
    let headers = req.headers().clone();
    let resp = next.run(req).await;
    // A body over the limit is refused by tower-http before any handler runs, as plain text.
    let too_large = resp.status() == StatusCode::PAYLOAD_TOO_LARGE
        && resp.extensions().get::<ErrorPage>().is_none();
    if api {
        return if too_large {
            crate::error::ApiError(AppError::TooLarge).into_response()
        } else {
            resp
        };
    }
    let err = match resp.extensions().get::<ErrorPage>().cloned() {
        Some(e) => e,
        None if too_large => ErrorPage {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: AppError::TooLarge.to_string(),
        },
        None => return resp,
    };
    let session = auth::load_session(&state, &headers).await.ok();
    let heading = match err.status {
        StatusCode::NOT_FOUND => "页面不存在",
        StatusCode::FORBIDDEN => "没有权限",
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "请求有误",
        StatusCode::PAYLOAD_TOO_LARGE => "内容过大",
        s if s.is_server_error() => "服务器出错",
        _ => "出错了",
    };
    let csrf = csrf
        .map(|c| c.0)
        .or_else(|| auth::cookie(&headers, crate::csrf::CSRF_COOKIE).map(str::to_string))
        .unwrap_or_default();
    page_with_status(
        &state,
        err.status,
        "error.html",
        session.as_ref(),
        &csrf,
        context! { status => err.status.as_u16(), heading, message => err.message },
    )
}

pub async fn not_found(uri: axum::http::Uri) -> Response {
    PageError(AppError::NotFound)
        .into_response()
        .tap_msg(format!("找不到页面 {}", uri.path()))
}

trait TapMsg {
    fn tap_msg(self, m: String) -> Self;
}
impl TapMsg for Response {
    fn tap_msg(mut self, m: String) -> Self {
        if let Some(e) = self.extensions_mut().get_mut::<ErrorPage>() {
            e.message = m;
        }
        self
    }
}

fn client_ip(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(',').next().unwrap_or("").trim().to_string())
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct LoginQuery {
    next: String,
}

/// Only local paths are followed after login (no open redirect).
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

async fn login_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    Query(q): Query<LoginQuery>,
) -> Response {
    page(
        &state,
        "login.html",
        None,
        &csrf,
        context! { next => q.next, username => "" },
    )
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    username: String,
    password: String,
    second_factor: String,
    next: String,
}

async fn login(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    headers: HeaderMap,
    HtmlForm(f): HtmlForm<LoginForm>,
) -> Response {
    match auth::login(
        &state,
        &f.username,
        &f.password,
        Some(f.second_factor.as_str()),
        client_ip(&headers).as_deref(),
    )
    .await
    {
        Ok(done) => {
            let to = if auth::must_change_password(&state, &done.user) {
                "/account/password"
            } else {
                safe_next(&f.next)
            };
            let mut r = Redirect::to(to).into_response();
            if let Ok(v) = auth::session_cookie(&state, &done.token).parse() {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            let status = e.status();
            page_with_status(
                &state,
                status,
                "login.html",
                None,
                &csrf,
                context! { error => e.to_string(), next => f.next, username => f.username },
            )
        }
    }
}

async fn logout(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    auth::logout(&state, &session).await?;
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = auth::clear_session_cookie().parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

async fn password_form(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> Response {
    page(
        &state,
        "password.html",
        Some(&session),
        &csrf,
        context! {
            must_change => session.user.must_change_password,
            expired => auth::must_change_password(&state, &session.user) && !session.user.must_change_password,
            max_age => state.config.password_max_age_days,
        },
    )
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

async fn password(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(f): HtmlForm<PasswordForm>,
) -> Result<Response, PageError> {
    match auth::change_password(
        &state,
        &session,
        &f.current_password,
        &f.new_password,
        &f.confirm_password,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(AppError::Validation(errors)) => Ok(page_with_status(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "password.html",
            Some(&session),
            &csrf,
            context! {
                errors => errors,
                must_change => session.user.must_change_password,
                expired => auth::must_change_password(&state, &session.user) && !session.user.must_change_password,
                max_age => state.config.password_max_age_days,
            },
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Serialize)]
struct Stat {
    label: &'static str,
    value: i64,
    /// False when the list counted only up to `roundtable_store::COUNT_CAP` ("10000+").
    exact: bool,
    href: String,
}

/// The home page of each role: counts of what the account can see and its own links.
async fn home(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> Result<Response, PageError> {
    let a = &session.actor;
    let mut db = state.db.pool();
    let one = roundtable_store::PageReq::new(Some(1), Some(1));
    let mut stats = Vec::new();
    if permit_somewhere(a, Action::View, ResourceKind::Org) {
        let orgs = orgs::list_in_scope(&mut db, &scope(a, Action::View, ResourceKind::Org)).await?;
        let count = |lvl: &[&str]| {
            orgs.iter()
                .filter(|o| lvl.contains(&o.kind.as_str()))
                .count() as i64
        };
        // A community's own staff have no street in view; a zero there would only confuse.
        let streets = count(&["street", "town"]);
        if streets > 0 {
            stats.push(Stat {
                label: "街道/镇",
                value: streets,
                exact: true,
                href: "/orgs".into(),
            });
        }
        stats.push(Stat {
            label: "社区/村",
            value: count(&["community", "village"]),
            exact: true,
            href: "/orgs".into(),
        });
    }
    if permit_somewhere(a, Action::View, ResourceKind::Person) {
        let s = scope(a, Action::View, ResourceKind::Person);
        let all = people::list(&mut db, &s, &Default::default(), one).await?;
        let pm = people::PersonFilter {
            kind: Some("party_member".into()),
            ..Default::default()
        };
        let members = people::list(&mut db, &s, &pm, one).await?;
        stats.push(Stat {
            label: "人员",
            value: all.total,
            exact: all.total_exact,
            href: "/people".into(),
        });
        stats.push(Stat {
            label: "在职党员",
            value: members.total,
            exact: members.total_exact,
            href: "/people?kind=party_member".into(),
        });
    }
    if permit_somewhere(a, Action::View, ResourceKind::Unit) {
        let total = units::list(
            &mut db,
            &scope(a, Action::View, ResourceKind::Unit),
            &Default::default(),
            one,
        )
        .await?
        .total;
        stats.push(Stat {
            label: "单位",
            value: total,
            exact: true,
            href: "/units".into(),
        });
    }
    if permit_somewhere(a, Action::View, ResourceKind::User) {
        let total = user_store::list(
            &mut db,
            &scope(a, Action::View, ResourceKind::User),
            None,
            one,
        )
        .await?
        .total;
        stats.push(Stat {
            label: "账号",
            value: total,
            exact: true,
            href: "/users".into(),
        });
    }
    let mut scopes = Vec::new();
    for g in &a.grants {
        if let Some(id) = g.org_id.or(None)
            && let Some(o) = orgs::get(&mut db, id).await?
        {
            scopes.push(o);
        }
    }
    for id in &a.linked_streets {
        if let Some(o) = orgs::get(&mut db, *id).await? {
            scopes.push(o);
        }
    }
    scopes.dedup_by_key(|o| o.id);
    let my_links = match session.user.person_id {
        Some(p) => {
            links::list(
                &mut db,
                &roundtable_core::access::Scope {
                    everywhere: true,
                    ..Default::default()
                },
                &links::LinkFilter {
                    person_id: Some(p),
                    valid_on: Some(today()),
                    ..Default::default()
                },
                50,
            )
            .await?
        }
        None => vec![],
    };
    // What needs action now, the most urgent first (the whole list at /warnings).
    let warnings = crate::services::warnings::for_actor(
        &state.db,
        &state.calendar,
        state.config.holiday_saturday_rule,
        a,
    )
    .await?;
    let warnings_total = warnings.len();
    let warnings: Vec<_> = warnings.into_iter().take(5).collect();
    // A party member's own six ones are one click away.
    let six_ones = session.user.person_id.filter(|&p| {
        roundtable_core::access::permit(a, Action::Edit, ResourceKind::SixOnes, "", Some(p))
    });
    Ok(page(
        &state,
        "home.html",
        Some(&session),
        &csrf,
        context! { stats, scopes, links => my_links, warnings, warnings_total, six_ones },
    ))
}
