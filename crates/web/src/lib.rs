//! HTTP of Roundtable: Chinese pages (`pages/`) and the JSON API (`api/`) over the same services
//! (`services/`), one permission function (roundtable_core::access), one error type (`error`).

pub mod api;
pub mod auth;
pub mod charts;
pub mod csrf;
pub mod demo;
pub mod error;
pub mod history;
pub mod limits;
pub mod pages;
pub mod render;
pub mod services;
pub mod tls;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use roundtable_store::Db;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::{ApiError, AppError};

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (set when served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// A directory whose templates replace the embedded ones of the same name.
    pub template_dir: Option<PathBuf>,
    pub idle_timeout: chrono::Duration,
    /// Largest request body (uploads included).
    pub body_limit: usize,
    /// How long a session read from the database is reused (see `auth::SessionCache`).
    pub session_cache: std::time::Duration,
    /// Portal submissions allowed per client address per hour (0: unlimited).
    pub portal_per_hour: usize,
    /// Questionnaire answers allowed per client address per hour (0: unlimited).
    pub questionnaire_per_hour: usize,
    /// The address residents reach the server at (for QR posters), e.g. https://yz.xihu.gov.cn;
    /// taken from the request's Host when unset.
    pub public_url: Option<String>,
    /// Where uploaded files (photos) are kept.
    pub data_dir: PathBuf,
    /// R-CAL-1: working days a public notice runs (never fewer than five).
    pub notice_working_days: u32,
    /// R-LEAD-1 / R-CAL-2: what counts when a month's first Saturday is in a holiday.
    pub holiday_saturday_rule: roundtable_core::obligations::HolidaySaturdayRule,
    /// Reminders: the webhook, the digest's hour.
    pub notify: services::notify::NotifyConfig,
    /// Requests per client address per minute to the pages and endpoints open without an
    /// account (0: unlimited).
    pub public_per_minute: usize,
    /// Failed login attempts per client address per hour before it is turned away (0:
    /// unlimited), besides the lockout of an account after five failures.
    pub login_per_hour: usize,
    /// PIPL: days a submitter's contact data is kept after the matter is finished.
    pub contact_retention_days: u32,
    /// 等保 2.0: days a password is valid before it must be changed (0: no expiry).
    pub password_max_age_days: u32,
    /// 等保 2.0: administrators and district leaders must sign in with a second factor (TOTP);
    /// until they have one, they are sent to set it up.
    pub second_factor_required: bool,
    /// The daily backup (issue 6), when configured.
    pub backup: Option<services::backup::BackupConfig>,
    /// Delivery to other systems (issue 7): retries, batch size, the configured targets.
    pub exchange: services::exchange::ExchangeConfig,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            template_dir: None,
            idle_timeout: chrono::Duration::minutes(30),
            body_limit: 20 * 1024 * 1024,
            session_cache: std::time::Duration::from_secs(2),
            portal_per_hour: 30,
            questionnaire_per_hour: 120,
            public_url: None,
            data_dir: PathBuf::from("data"),
            notice_working_days: roundtable_core::calendar::MIN_NOTICE_WORKING_DAYS,
            holiday_saturday_rule: Default::default(),
            backup: None,
            password_max_age_days: 90,
            second_factor_required: false,
            contact_retention_days: 365,
            public_per_minute: 120,
            login_per_hour: 100,
            notify: Default::default(),
            exchange: Default::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<WebConfig>,
    pub templates: Arc<render::Templates>,
    /// A real argon2 hash of nothing, verified against when the username is unknown.
    pub dummy_hash: Arc<String>,
    pub sessions: Arc<auth::SessionCache>,
    pub portal_limit: Arc<limits::RateLimiter>,
    pub questionnaire_limit: Arc<limits::RateLimiter>,
    /// Requests to public pages and endpoints, and login attempts, per client address.
    pub public_limit: Arc<limits::RateLimiter>,
    pub login_limit: Arc<limits::RateLimiter>,
    /// The working-day calendar (R-CAL-1), read from the database at most once a minute.
    pub calendar: Arc<services::calendar::CalendarCache>,
    /// Public case pages' data, kept a few seconds (`services::projects::PublicCache`).
    pub public_cases: Arc<services::projects::PublicCache>,
}

impl AppState {
    pub fn new(db: Db, config: WebConfig) -> Result<Self, AppError> {
        let templates = Arc::new(render::Templates::new(config.template_dir.clone()));
        let dummy_hash = Arc::new(auth::hash_password(&auth::random_token())?);
        let sessions = Arc::new(auth::SessionCache::new(config.session_cache));
        let portal_limit = Arc::new(limits::RateLimiter::new(
            config.portal_per_hour,
            std::time::Duration::from_secs(3600),
        ));
        let questionnaire_limit = Arc::new(limits::RateLimiter::new(
            config.questionnaire_per_hour,
            std::time::Duration::from_secs(3600),
        ));
        let public_limit = Arc::new(limits::RateLimiter::new(
            config.public_per_minute,
            std::time::Duration::from_secs(60),
        ));
        let login_limit = Arc::new(limits::RateLimiter::new(
            config.login_per_hour,
            std::time::Duration::from_secs(3600),
        ));
        Ok(AppState {
            public_limit,
            login_limit,
            calendar: Arc::default(),
            public_cases: Arc::default(),
            portal_limit,
            questionnaire_limit,
            sessions,
            db,
            config: Arc::new(config),
            templates,
            dummy_hash,
        })
    }
}

/// Why a request was turned away before its handler: JSON for the API, a redirect or a Chinese
/// page otherwise.
pub struct Rejection {
    pub api: bool,
    pub error: AppError,
    pub next: String,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        if self.api {
            return ApiError(self.error).into_response();
        }
        match self.error {
            AppError::Unauthenticated => {
                let next: String =
                    serde_html_form::to_string([("next", self.next.as_str())]).unwrap_or_default();
                Redirect::to(&format!("/login?{next}")).into_response()
            }
            AppError::PasswordChangeRequired => Redirect::to("/account/password").into_response(),
            AppError::SecondFactorEnrolmentRequired => {
                Redirect::to("/account/second-factor").into_response()
            }
            e => PageError(e).into_response(),
        }
    }
}

/// An error on a page: the response carries the error and `pages::render_errors` turns it into
/// the Chinese error page (a response alone cannot reach the templates).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub status: StatusCode,
    pub message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let mut r = status.into_response();
        r.extensions_mut().insert(ErrorPage {
            status,
            message: self.0.to_string(),
        });
        r
    }
}

/// The whole application: pages, API, static files, health, with the security headers.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    // Served over TLS (built in, or behind the district's proxy): browsers keep to HTTPS.
    let hsts = state.config.secure_cookies.then(|| {
        SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        )
    });
    let (api_router, _) = api::router().split_for_parts();
    Router::new()
        .merge(pages::router())
        .nest("/api/v1", api_router.route("/openapi.json", axum::routing::get(api::openapi_json)).fallback(api::not_found))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(readyz))
        .route("/static/app.css", axum::routing::get(static_css))
        .route("/static/app.js", axum::routing::get(static_js))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), csrf::layer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::public_layer))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        // Outside the body limit, so an oversized upload also gets a Chinese page or envelope.
        .layer(axum::middleware::from_fn_with_state(state.clone(), pages::render_errors))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"),
        ))
        .layer(tower::util::option_layer(hsts))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {e}"),
        )
            .into_response(),
    }
}

async fn static_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/app.css"),
    )
        .into_response()
}

async fn static_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/app.js"),
    )
        .into_response()
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// `serve` over built-in TLS. Every response carries HSTS (the state's `secure_cookies` is
/// set for a TLS server: its cookies are Secure too).
pub async fn serve_tls(state: AppState, listener: tls::TlsListener) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Small request/response exchanges: no Nagle delay (what axum does for plain TCP).
    let listener = listener.tap_io(|tls| {
        let _ = tls.get_ref().0.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
