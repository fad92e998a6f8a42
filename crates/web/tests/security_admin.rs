//! The security administrator (安全管理员, issue 6 — 三员分立): sees every account's security
//! state and the login record, resets another account's second factor, lifts a failed-login
//! lockout and ends an account's sessions — each audited — and does nothing else; nobody else
//! (not the system administrator, not the audit administrator) does these from the pages or the
//! API.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{App, app, post_form};
use roundtable_core::second_factor::{code_at, secret_from_text};
use roundtable_store::{Exec, Sql};
use serde_json::{Value, json};

fn now() -> i64 {
    roundtable_store::now().timestamp()
}

async fn user_id(app: &App, name: &str) -> i64 {
    app.db
        .pool()
        .fetch_one(Sql::new(&format!(
            "SELECT id FROM users WHERE username = '{name}'"
        )))
        .await
        .unwrap()
}

async fn audited(app: &App, action: &str, id: i64) -> i64 {
    app.db
        .pool()
        .fetch_one(Sql::new(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND object_type = 'user' AND object_id = {id}"
        )))
        .await
        .unwrap()
}

fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// Sets up the second factor of the signed-in account; returns the secret.
async fn enrol(app: &App, cookie: &str) -> Vec<u8> {
    let (s, e, _) = app
        .json("POST", "/api/v1/me/second-factor", Some(cookie), None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let secret = secret_from_text(e["secret"].as_str().unwrap()).unwrap();
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/me/second-factor/confirm",
            Some(cookie),
            Some(json!({"code": code_at(&secret, now())})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    secret
}

async fn login_status(app: &App, user: &str, password: &str) -> (StatusCode, Value) {
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": user, "password": password})),
        )
        .await;
    (s, v)
}

#[tokio::test]
async fn the_security_administrator_resets_a_lost_second_factor_and_nobody_else_can() {
    let app = app().await;
    let street = app.login("street").await;
    enrol(&app, &street).await;
    let street_id = user_id(&app, "street").await;
    // With the factor on, the password alone no longer signs in.
    let (s, v) = login_status(&app, "street", &app.password("street")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");

    // Neither the system administrator nor the audit administrator may reset it.
    for who in ["admin", "auditor", "zzb"] {
        let c = app.login(who).await;
        let uri = format!("/api/v1/security/accounts/{street_id}/second-factor/reset");
        let (s, v, _) = app.json("POST", &uri, Some(&c), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
        let (s, _, _) = app
            .json("GET", "/api/v1/security/accounts", Some(&c), None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
        let (s, _, _) = app.call(get("/admin/security", &c)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
    }
    assert_eq!(audited(&app, "second_factor.reset", street_id).await, 0);

    let security = app.login("security").await;
    // The list shows the factor switched on and the session open.
    let (s, p, _) = app
        .json(
            "GET",
            "/api/v1/security/accounts?q=street",
            Some(&security),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let row = p["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["username"] == "street")
        .unwrap()
        .clone();
    assert!(row["second_factor_enabled_at"].is_string(), "{row}");
    assert!(row["sessions"].as_i64().unwrap() >= 1, "{row}");
    assert_eq!(row["roles"], json!(["街道(镇)管理员"]));

    let uri = format!("/api/v1/security/accounts/{street_id}/second-factor/reset");
    let (s, v, _) = app.json("POST", &uri, Some(&security), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["second_factor_enabled_at"].is_null(), "{v}");
    assert_eq!(v["sessions"], 0);
    assert_eq!(audited(&app, "second_factor.reset", street_id).await, 1);
    // The old session is gone; the password alone signs in again.
    let (s, _, _) = app
        .json("GET", "/api/v1/auth/me", Some(&street), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = login_status(&app, "street", &app.password("street")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Nothing to reset twice: a clear refusal that changes nothing.
    let (s, v, _) = app.json("POST", &uri, Some(&security), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("尚未启用"),
        "{v}"
    );
    assert_eq!(audited(&app, "second_factor.reset", street_id).await, 1);

    // Not one's own factor, and not an account that does not exist.
    enrol(&app, &security).await;
    let me = user_id(&app, "security").await;
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/security/accounts/{me}/second-factor/reset"),
            Some(&security),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _, _) = app
        .json(
            "POST",
            "/api/v1/security/accounts/999999/sessions/end",
            Some(&security),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The security administrator reads nothing of the district's records (lists answer
    // empty), nor the audit record.
    for uri in ["/api/v1/people", "/api/v1/topics", "/api/v1/users"] {
        let (s, v, _) = app.json("GET", uri, Some(&security), None).await;
        let empty = v["items"].as_array().is_some_and(|a| a.is_empty());
        assert!(
            s == StatusCode::FORBIDDEN || (s == StatusCode::OK && empty),
            "{uri}: {s} {v}"
        );
    }
    let (s, _, _) = app
        .json("GET", "/api/v1/audit", Some(&security), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_lockout_is_lifted_and_sessions_are_ended_from_the_page() {
    let app = app().await;
    let staff_id = user_id(&app, "staff").await;
    let staff = app.login("staff").await;
    for _ in 0..5 {
        let _ = login_status(&app, "staff", "wrong-password").await;
    }
    let (s, v) = login_status(&app, "staff", &app.password("staff")).await;
    assert_eq!(s, StatusCode::LOCKED, "{v}");

    let security = app.login("security").await;
    let (csrf, token) = app.csrf().await;
    let both = format!("{security}; {csrf}");
    let (s, _, page) = app.call(get("/admin/security?q=staff", &both)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("登录锁定至"), "{page}");
    assert!(page.contains(&format!("/admin/security/{staff_id}/lockout/lift")));

    let (s, _, page) = post_form(
        &app,
        &format!("/admin/security/{staff_id}/lockout/lift"),
        &both,
        &token,
        &[("q", "staff")],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("已解除「staff」的登录锁定"), "{page}");
    assert_eq!(audited(&app, "user.lockout_lift", staff_id).await, 1);
    // Signs in again; the failures before the lift do not count towards a new lockout.
    let (s, v) = login_status(&app, "staff", &app.password("staff")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = login_status(&app, "staff", "wrong-password").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = login_status(&app, "staff", &app.password("staff")).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Ending the sessions signs every device out.
    let (s, _, _) = app.json("GET", "/api/v1/auth/me", Some(&staff), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, page) = post_form(
        &app,
        &format!("/admin/security/{staff_id}/sessions/end"),
        &both,
        &token,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("已结束「staff」的全部会话"), "{page}");
    let (s, _, _) = app.json("GET", "/api/v1/auth/me", Some(&staff), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(audited(&app, "user.sessions_end", staff_id).await, 1);

    // A form without its CSRF token changes nothing.
    let (s, _, _) = post_form(
        &app,
        &format!("/admin/security/{staff_id}/sessions/end"),
        &security,
        "",
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(audited(&app, "user.sessions_end", staff_id).await, 1);

    // The login record shows it all, searchable by account and event.
    let (s, _, page) = app
        .call(get(
            "/admin/security/events?username=staff&event=lockout_lifted",
            &both,
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("解除登录锁定"), "{page}");
    let (s, p, _) = app
        .json(
            "GET",
            "/api/v1/security/events?username=staff&event=login_failed",
            Some(&security),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["rows"].as_array().unwrap().len(), 6, "{p}");
    // The menu shows the page to the security administrator only.
    assert!(page.contains("href=\"/admin/security\""));
    let admin = app.login("admin").await;
    let (_, _, home) = app.call(get("/", &admin)).await;
    assert!(!home.contains("href=\"/admin/security\""));
}
