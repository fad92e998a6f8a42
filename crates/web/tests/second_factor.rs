//! The second factor (issue 6 point 4, 等保 2.0): TOTP set up through the API and the pages,
//! asked at every login of the account, each code accepted once, wrong codes counted towards
//! the lockout; where the deployment requires it, administrators and district leaders are
//! held at the set-up until they have one and cannot switch it off; machine tokens and other
//! roles are not held.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{App, app, app_with, cookie_from, post_form};
use roundtable_core::second_factor::{code_at, secret_from_text};
use roundtable_web::WebConfig;
use serde_json::{Value, json};

fn now() -> i64 {
    roundtable_store::now().timestamp()
}

async fn login_with(app: &App, user: &str, code: Option<&str>) -> (StatusCode, Value, String) {
    let mut body = json!({"username": user, "password": app.password(user)});
    if let Some(c) = code {
        body["second_factor"] = json!(c);
    }
    let (s, v, h) = app
        .json("POST", "/api/v1/auth/login", None, Some(body))
        .await;
    let cookie = if s == StatusCode::OK {
        cookie_from(&h, "rt_session")
    } else {
        String::new()
    };
    (s, v, cookie)
}

/// Sets up the second factor of `user` through the API; returns the secret.
async fn enrol(app: &App, cookie: &str) -> Vec<u8> {
    let (s, e, _) = app
        .json("POST", "/api/v1/me/second-factor", Some(cookie), None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let uri = e["uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(e["secret"].as_str().unwrap()));
    let secret = secret_from_text(e["secret"].as_str().unwrap()).unwrap();
    // A wrong first code does not switch it on.
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/me/second-factor/confirm",
            Some(cookie),
            Some(json!({"code": "000000"})),
        )
        .await;
    if code_at(&secret, now()) != "000000" {
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["fields"]["code"].is_string(), "{v}");
    }
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/me/second-factor/confirm",
            Some(cookie),
            Some(json!({"code": code_at(&secret, now())})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["enabled"], true);
    secret
}

#[tokio::test]
async fn logins_ask_for_the_code_once_set_up_and_each_code_works_once() {
    let app = app().await;
    let cookie = app.login("street").await;
    let (_, st, _) = app
        .json("GET", "/api/v1/me/second-factor", Some(&cookie), None)
        .await;
    assert_eq!(st["enabled"], false);
    assert_eq!(st["required"], false);
    let secret = enrol(&app, &cookie).await;

    // The secret is sealed at rest like personal data.
    let stored: String = roundtable_store::Exec::fetch_one(
        &mut app.db.pool(),
        roundtable_store::Sql::new("SELECT totp_secret FROM users WHERE username = 'street'"),
    )
    .await
    .unwrap();
    assert!(stored.starts_with("sm4gcm:"), "{stored}");

    // Password alone: refused, asking for the code; nothing counted against the account.
    let (s, v, _) = login_with(&app, "street", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "second_factor_required");
    // The code of the set-up was used; the next one works, once.
    let next = code_at(&secret, now() + 30);
    let (s, v, _) = login_with(&app, "street", Some(&next)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v, _) = login_with(&app, "street", Some(&next)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"]["code"], "second_factor_invalid");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("已使用"),
        "{v}"
    );
    let (s, v, _) = login_with(&app, "street", Some("12ab56")).await;
    assert_eq!(v["error"]["code"], "second_factor_invalid", "{s} {v}");

    // Wrong codes lock the account like wrong passwords (5 failures in the window).
    for _ in 0..3 {
        let wrong = if code_at(&secret, now()) == "111111" {
            "222222"
        } else {
            "111111"
        };
        let _ = login_with(&app, "street", Some(wrong)).await;
    }
    let (s, v, _) = login_with(&app, "street", Some(&code_at(&secret, now()))).await;
    assert_eq!(s, StatusCode::LOCKED, "{v}");
}

#[tokio::test]
async fn the_login_page_takes_the_code_and_the_account_page_switches_it_off() {
    let app = app().await;
    let cookie = app.login("street").await;
    let secret = enrol(&app, &cookie).await;
    let (csrf_cookie, token) = app.csrf().await;
    let password = app.password("street");
    let form = |code: String| {
        vec![
            ("username", "street".to_string()),
            ("password", password.clone()),
            ("second_factor", code),
            ("next", "/".to_string()),
        ]
    };
    let login_page = |fields: Vec<(&'static str, String)>| {
        let (app, csrf_cookie, token) = (&app, &csrf_cookie, &token);
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form(app, "/login", csrf_cookie, token, &f).await
        }
    };
    let (s, _, body) = login_page(form(String::new())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("动态验证码"), "{body}");
    let (s, h, _) = login_page(form(code_at(&secret, now() + 30))).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let session = cookie_from(&h, "rt_session");
    let both = format!("{session}; {csrf_cookie}");

    let (s, _, page) = app
        .call(
            Request::get("/account/second-factor")
                .header(header::COOKIE, &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("已启用") && page.contains("停用双因素认证"),
        "{page}"
    );
    // Switching off needs a current code; a wrong one names the field.
    let wrong = if code_at(&secret, now()) == "111111" {
        "222222"
    } else {
        "111111"
    };
    let (s, _, page) = post_form(
        &app,
        "/account/second-factor/disable",
        &both,
        &token,
        &[("code", wrong)],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("动态验证码不正确"), "{page}");
    let (s, _, page) = post_form(
        &app,
        "/account/second-factor/disable",
        &both,
        &token,
        &[("code", &code_at(&secret, now()))],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("双因素认证已停用"), "{page}");
    let (s, v, _) = login_with(&app, "street", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Audited both ways.
    let audited: i64 = roundtable_store::Exec::fetch_one(
        &mut app.db.pool(),
        roundtable_store::Sql::new(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('second_factor.enable', 'second_factor.disable')",
        ),
    )
    .await
    .unwrap();
    assert_eq!(audited, 2);

    // The set-up through the pages: a QR code and the secret, then the first code.
    let (s, _, page) = post_form(&app, "/account/second-factor/start", &both, &token, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("<svg") && page.contains("确认启用"), "{page}");
    let secret_text = page
        .split("<p class=\"secret\"><code>")
        .nth(1)
        .and_then(|r| r.split("</code>").next())
        .unwrap()
        .to_string();
    let secret = secret_from_text(&secret_text).unwrap();
    let (s, _, page) = post_form(
        &app,
        "/account/second-factor/confirm",
        &both,
        &token,
        &[("code", "12")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("6 位数字"), "{page}");
    let (s, _, page) = post_form(
        &app,
        "/account/second-factor/confirm",
        &both,
        &token,
        &[("code", &code_at(&secret, now()))],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("双因素认证已启用"), "{page}");
}

#[tokio::test]
async fn where_required_administrators_and_leaders_set_it_up_first() {
    let app = app_with(WebConfig {
        second_factor_required: true,
        ..Default::default()
    })
    .await;
    let cookie = app.login("leader").await;
    let (_, me, _) = app
        .json("GET", "/api/v1/auth/me", Some(&cookie), None)
        .await;
    assert_eq!(me["second_factor_setup_required"], true);
    let (s, v, _) = app.json("GET", "/api/v1/people", Some(&cookie), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["error"]["code"], "second_factor_enrolment_required");
    let (s, h, _) = app
        .call(
            Request::get("/cases")
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        h.iter()
            .any(|(k, v)| k == "location" && v == "/account/second-factor")
    );
    // Roles outside the requirement are not held.
    let staff = app.login("street").await;
    let (s, _, _) = app.json("GET", "/api/v1/people", Some(&staff), None).await;
    assert_eq!(s, StatusCode::OK);

    let secret = enrol(&app, &cookie).await;
    let (s, _, _) = app.json("GET", "/api/v1/people", Some(&cookie), None).await;
    assert_eq!(s, StatusCode::OK, "set up, the account works");
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/me/second-factor/disable",
            Some(&cookie),
            Some(json!({"code": code_at(&secret, now())})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["fields"]["code"]
            .as_str()
            .unwrap()
            .contains("不能停用"),
        "{v}"
    );
    let (_, st, _) = app
        .json("GET", "/api/v1/me/second-factor", Some(&cookie), None)
        .await;
    assert_eq!(st["enabled"], true);
    assert_eq!(st["required"], true);
}
