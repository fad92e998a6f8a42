//! Per-key sliding-window rate limits kept in memory (per process): the resident portal's
//! submissions per client address. A limit of 0 means unlimited.

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
        if self.max == 0 {
            return true;
        }
        let Ok(mut hits) = self.hits.lock() else {
            return true;
        };
        if hits.len() >= Self::CAPACITY && !hits.contains_key(key) {
            hits.clear();
        }
        let q = hits.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if q.len() >= self.max {
            return false;
        }
        q.push_back(now);
        true
    }
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
