//! CSRF protection for every state-changing form: a double-submit token. A random token lives in
//! an HttpOnly SameSite=Strict cookie; every form carries it in a hidden `_csrf` field (or, for
//! file uploads, in the query string), and a POST whose token does not match is refused before
//! any handler runs. The JSON API is exempt: it accepts only `application/json` bodies, which a
//! cross-site form cannot send, and its session cookie is SameSite.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{cookie, random_token, set_cookie};
use crate::error::AppError;
use crate::{AppState, PageError};

pub const CSRF_COOKIE: &str = "rt_csrf";

/// The token of this request, for the forms a page renders.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CsrfToken {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .unwrap_or_else(|| CsrfToken(String::new())))
    }
}

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| t.len() == 64)
        .map(str::to_string);
    let is_new = existing.is_none();
    let token = existing.unwrap_or_else(random_token);
    let req = if req.method() == Method::POST {
        match check(req, &token, is_new, state.config.body_limit).await {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        }
    } else {
        req
    };
    let mut req = req;
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut resp = next.run(req).await;
    if is_new
        && let Ok(v) = HeaderValue::from_str(&set_cookie(
            &state,
            &format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"),
        ))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn field(pairs: &[(String, String)]) -> Option<&str> {
    pairs
        .iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v.as_str())
}

async fn check(
    req: Request,
    token: &str,
    is_new: bool,
    limit: usize,
) -> Result<Request, PageError> {
    if is_new {
        return Err(PageError(AppError::Csrf));
    }
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .and_then(|q| serde_html_form::from_str(q).ok())
        .unwrap_or_default();
    if field(&query) == Some(token) {
        return Ok(req);
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(PageError(AppError::Csrf));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| PageError(AppError::BadRequest("请求内容过大".into())))?;
    let pairs: Vec<(String, String)> = serde_html_form::from_bytes(&bytes).unwrap_or_default();
    if field(&pairs) != Some(token) {
        return Err(PageError(AppError::Csrf));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
