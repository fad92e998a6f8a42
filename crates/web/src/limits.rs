//! Per-key sliding-window rate limits kept in memory (per process): the resident portal's
//! submissions per client address, and (`public_layer`) every request to a page or endpoint
//! open without an account and every login attempt, per client address. A limit of 0 means
//! unlimited.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    max: usize,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// Keys remembered at most; past it the oldest state is dropped wholesale (a limiter only
    /// has to slow a flood, not to be exact).
    const CAPACITY: usize = 100_000;

    pub fn new(max: usize, window: Duration) -> Self {
        RateLimiter {
            max,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Records a hit for `key`; false when the key is over its limit (the hit is not counted).
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> bool {
        if self.over_at(key, now) {
            return false;
        }
        self.hit_at(key, now);
        true
    }

    /// Whether `key` has used up its limit (nothing recorded).
    pub fn over(&self, key: &str) -> bool {
        self.over_at(key, Instant::now())
    }

    /// Records one hit for `key`.
    pub fn hit(&self, key: &str) {
        self.hit_at(key, Instant::now())
    }

    fn over_at(&self, key: &str, now: Instant) -> bool {
        if self.max == 0 {
            return false;
        }
        let Ok(mut hits) = self.hits.lock() else {
            return false;
        };
        let Some(q) = hits.get_mut(key) else {
            return false;
        };
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        q.len() >= self.max
    }

    fn hit_at(&self, key: &str, now: Instant) {
        if self.max == 0 {
            return;
        }
        let Ok(mut hits) = self.hits.lock() else {
            return;
        };
        if hits.len() >= Self::CAPACITY && !hits.contains_key(key) {
            hits.clear();
        }
        hits.entry(key.to_string()).or_default().push_back(now);
    }
}

/// Paths open to anyone without an account: residents' portal, questionnaires, public case and
/// wish pages, fingerprint checks, the public API, calendar feeds.
fn is_public(path: &str) -> bool {
    const PREFIXES: &[&str] = &["/p", "/q/", "/c/", "/w", "/v", "/api/v1/public/", "/ical/"];
    PREFIXES.iter().any(|p| {
        path == p.trim_end_matches('/')
            || path.starts_with(p) && (p.ends_with('/') || path[p.len()..].starts_with('/'))
    })
}

fn is_login(path: &str, method: &axum::http::Method) -> bool {
    method == axum::http::Method::POST && matches!(path, "/login" | "/api/v1/auth/login")
}

/// Turns away, per client address, public requests over `public_per_minute` and logins once
/// `login_per_hour` attempts have failed (on top of the lockout of an account after five
/// failures; successful logins are not counted, so an office behind one address is not shut
/// out) with 429: a Chinese page, or the API envelope (`rate_limited`), and a Retry-After.
pub async fn public_layer(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    ClientAddr(client): ClientAddr,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = req.uri().path();
    let login = is_login(path, req.method());
    let (limiter, retry) = if login {
        (&state.login_limit, "600")
    } else if is_public(path) {
        (&state.public_limit, "60")
    } else {
        return next.run(req).await;
    };
    if login && !limiter.over(&client) {
        let r = next.run(req).await;
        if !(r.status().is_success() || r.status().is_redirection()) {
            limiter.hit(&client);
        }
        return r;
    }
    if !login && limiter.allow(&client) {
        return next.run(req).await;
    }
    let mut r = if path.starts_with("/api/") {
        crate::error::ApiError(crate::error::AppError::TooMany).into_response()
    } else {
        crate::PageError(crate::error::AppError::TooMany).into_response()
    };
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static(retry),
    );
    r
}

/// The client's address as the socket saw it ("unknown" in-process, as in tests). Behind a
/// reverse proxy every client has the proxy's address: set the limit accordingly.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_are_those_open_without_an_account() {
        for p in [
            "/p",
            "/p/track",
            "/q/ABC",
            "/c/XYZ",
            "/w",
            "/w/abc",
            "/v",
            "/v/1234",
            "/api/v1/public/communities",
            "/ical/u/x.ics",
        ] {
            assert!(is_public(p), "{p}");
        }
        for p in [
            "/people",
            "/cases/1",
            "/questionnaires",
            "/wishes",
            "/api/v1/people",
            "/",
            "/login",
            "/verify",
        ] {
            assert!(!is_public(p), "{p}");
        }
    }

    #[test]
    fn a_key_over_its_limit_waits_for_the_window() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(l.allow_at("a", t0));
        assert!(l.allow_at("a", t0));
        assert!(!l.allow_at("a", t0 + Duration::from_secs(1)));
        assert!(l.allow_at("b", t0), "another address has its own budget");
        assert!(l.allow_at("a", t0 + Duration::from_secs(61)));
        assert!(RateLimiter::new(0, Duration::from_secs(1)).allow("x"));
    }
}
