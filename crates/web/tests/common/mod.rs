//! What the HTTP test files share: the demo district behind the real router, on the backend
//! named by ROUNDTABLE_TEST_DB, and small helpers to call it.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use roundtable_store::testing;
use roundtable_web::{AppState, WebConfig, router};
use serde_json::{Value, json};
use tower::ServiceExt;

pub struct App {
    pub router: Router,
    pub db: roundtable_store::Db,
    pub logins: Vec<(String, String)>,
    /// Where this test's uploads are kept.
    pub data_dir: std::path::PathBuf,
}

pub async fn app() -> App {
    app_with(WebConfig::default()).await
}

pub async fn app_with(mut config: WebConfig) -> App {
    // Photos of each test land in a directory of their own.
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    config.data_dir = std::env::temp_dir().join(format!(
        "roundtable-test-data-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let db = testing::fresh_db().await.expect("test database");
    let logins = roundtable_web::demo::seed(&db).await.unwrap().unwrap();
    let data_dir = config.data_dir.clone();
    let state = AppState::new(db.clone(), config).unwrap();
    App {
        data_dir,
        router: router(state),
        db,
        logins: logins
            .into_iter()
            .map(|l| (l.username, l.password))
            .collect(),
    }
}

impl App {
    pub fn password(&self, user: &str) -> String {
        self.logins
            .iter()
            .find(|(u, _)| u == user)
            .unwrap()
            .1
            .clone()
    }

    pub async fn call(&self, req: Request<Body>) -> (StatusCode, Vec<(String, String)>, String) {
        let (status, headers, body) = self.call_raw(req).await;
        (status, headers, String::from_utf8(body).unwrap())
    }

    pub async fn call_raw(
        &self,
        req: Request<Body>,
    ) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, headers, body)
    }

    pub async fn json(
        &self,
        method: &str,
        uri: &str,
        cookie: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, Vec<(String, String)>) {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        let (s, h, text) = self
            .call(
                b.body(Body::from(body.map(|v| v.to_string()).unwrap_or_default()))
                    .unwrap(),
            )
            .await;
        (s, serde_json::from_str(&text).unwrap_or(Value::Null), h)
    }

    /// A CSRF pair for page forms, from the login page: the `rt_csrf=…` cookie and its token.
    pub async fn csrf(&self) -> (String, String) {
        let (_, h, _) = self
            .call(Request::get("/login").body(Body::empty()).unwrap())
            .await;
        let cookie = cookie_from(&h, "rt_csrf");
        let token = cookie.split_once('=').unwrap().1.to_string();
        (cookie, token)
    }

    /// Logs in through the API and returns the session cookie.
    pub async fn login(&self, user: &str) -> String {
        let (s, _, h) = self
            .json(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": user, "password": self.password(user)})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "login {user}");
        cookie_from(&h, "rt_session")
    }
}

pub fn cookie_from(headers: &[(String, String)], name: &str) -> String {
    let v = headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with(&format!("{name}=")))
        .map(|(_, v)| v.clone())
        .expect("cookie set");
    v.split(';').next().unwrap().to_string()
}

/// A form POST with the CSRF cookie and field.
pub async fn post_form(
    app: &App,
    uri: &str,
    cookies: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Vec<(String, String)>, String) {
    let mut body = format!("_csrf={token}");
    for (k, v) in fields {
        body.push_str(&format!("&{k}={}", urlencode(v)));
    }
    app.call(
        axum::http::Request::post(uri)
            .header(
                axum::http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(axum::http::header::COOKIE, cookies)
            .body(axum::body::Body::from(body))
            .unwrap(),
    )
    .await
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A small PNG, as a phone would send a photo.
pub fn png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([30, 120, 200]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A multipart form POST (a form with photos; the CSRF token goes in `uri`'s query) with the
/// CSRF cookie.
pub async fn post_multipart(
    app: &App,
    uri: &str,
    cookies: &str,
    fields: &[(&str, &str)],
    photos: &[Vec<u8>],
) -> (StatusCode, Vec<(String, String)>, String) {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (i, p) in photos.iter().enumerate() {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"p{i}.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(p);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    app.call(
        axum::http::Request::post(uri)
            .header(
                axum::http::header::CONTENT_TYPE,
                "multipart/form-data; boundary=XyZ",
            )
            .header(axum::http::header::COOKIE, cookies)
            .body(axum::body::Body::from(body))
            .unwrap(),
    )
    .await
}

/// Community staff of `community` (no account: the services' actor).
pub fn community_staff(community: i64) -> roundtable_core::access::Actor {
    use roundtable_core::access::{Actor, Grant, Role};
    Actor {
        user_id: 0,
        person_id: None,
        grants: vec![Grant {
            role: Role::CommunityStaff,
            org_id: Some(community),
        }],
        linked_streets: vec![],
    }
}
