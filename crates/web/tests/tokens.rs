//! API tokens (issue 6 point 4) on the backend named by ROUNDTABLE_TEST_DB: scoped to some of
//! the account's roles and a subtree, shown once and stored hashed, expiring, revocable,
//! audited; a token cannot issue another and does not open pages.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use roundtable_store::{Exec, Sql};
use serde_json::{Value, json};

async fn with_token(
    app: &common::App,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.map(|b| b.to_string()).unwrap_or_default()))
        .unwrap();
    let (s, _, text) = app.call(req).await;
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn one(app: &common::App, sql: &str) -> i64 {
    app.db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

#[tokio::test]
async fn a_token_carries_chosen_roles_in_one_subtree_until_revoked() {
    let app = common::app().await;
    let street_cookie = app.login("street").await;
    let street: i64 = one(
        &app,
        "SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'street'",
    )
    .await;
    let (community, other) = {
        let c: Vec<i64> = app
            .db
            .pool()
            .fetch_all(Sql::new(&format!(
                "SELECT id FROM orgs WHERE parent_id = {street} ORDER BY id LIMIT 2"
            )))
            .await
            .unwrap();
        (c[0], c[1])
    };

    // Bad input names the field and issues nothing.
    for (body, field) in [
        (
            json!({"name": "对接", "roles": ["district_admin"]}),
            "roles",
        ),
        (json!({"name": "对接", "roles": []}), "roles"),
        (json!({"name": "", "roles": ["street_admin"]}), "name"),
        (
            json!({"name": "对接", "roles": ["street_admin"], "days": 0}),
            "days",
        ),
        (
            json!({"name": "对接", "roles": ["street_admin"], "org_id": 1}),
            "org_id",
        ),
    ] {
        let (s, v, _) = app
            .json(
                "POST",
                "/api/v1/me/tokens",
                Some(&street_cookie),
                Some(body),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["fields"][field].is_string(), "{field}: {v}");
    }
    assert_eq!(one(&app, "SELECT COUNT(*) FROM api_tokens").await, 0);

    let (s, issued, _) = app
        .json(
            "POST",
            "/api/v1/me/tokens",
            Some(&street_cookie),
            Some(json!({"name": "网络党建云平台对接", "roles": ["street_admin"], "org_id": community, "days": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{issued}");
    let secret = issued["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("rt_") && secret.len() > 40);
    // Kept only as its hash: the secret is nowhere in the database, nor in any later answer.
    let stored: Vec<String> = app
        .db
        .pool()
        .fetch_all(Sql::new("SELECT token_sha256 FROM api_tokens"))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], secret);
    let leaked = one(
        &app,
        &format!("SELECT COUNT(*) FROM audit_log WHERE after_json LIKE '%{secret}%'"),
    )
    .await;
    assert_eq!(leaked, 0);
    let (_, listed, _) = app
        .json("GET", "/api/v1/me/tokens", Some(&street_cookie), None)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&secret));

    // The token reaches the community only; the session reaches the whole street.
    let (s, mine) = with_token(&app, "GET", "/api/v1/people?per_page=100", &secret, None).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    let (_, all, _) = app
        .json(
            "GET",
            "/api/v1/people?per_page=100",
            Some(&street_cookie),
            None,
        )
        .await;
    assert!(mine["total"].as_i64().unwrap() < all["total"].as_i64().unwrap());
    let outside = one(
        &app,
        &format!("SELECT MIN(id) FROM people WHERE org_id = {other}"),
    )
    .await;
    let (s, _) = with_token(
        &app,
        "GET",
        &format!("/api/v1/people/{outside}"),
        &secret,
        None,
    )
    .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    let (s, _, _) = app
        .json(
            "GET",
            &format!("/api/v1/people/{outside}"),
            Some(&street_cookie),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // A token issues no token, and opens no page.
    let (s, v) = with_token(
        &app,
        "POST",
        "/api/v1/me/tokens",
        &secret,
        Some(json!({"name": "再签", "roles": ["street_admin"]})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _, _) = app
        .call(
            Request::get("/people")
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(s.is_redirection(), "pages need a session: {s}");

    // Revoked: refused at once.
    let id = issued["token"]["id"].as_i64().unwrap();
    let (s, v, _) = app
        .json(
            "DELETE",
            &format!("/api/v1/me/tokens/{id}"),
            Some(&street_cookie),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["revoked_at"].is_string());
    let (s, _) = with_token(&app, "GET", "/api/v1/people", &secret, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Someone else's token is not theirs to revoke.
    let staff = app.login("staff").await;
    let (s, _, _) = app
        .json(
            "DELETE",
            &format!("/api/v1/me/tokens/{id}"),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Expired: refused.
    let (_, second, _) = app
        .json(
            "POST",
            "/api/v1/me/tokens",
            Some(&street_cookie),
            Some(json!({"name": "短期", "roles": ["street_admin"], "days": 1})),
        )
        .await;
    app.db
        .pool()
        .execute(Sql::with(
            "UPDATE api_tokens SET expires_at = $1 WHERE id = $2",
            roundtable_store::args![
                roundtable_store::now() - chrono::Duration::minutes(1),
                second["token"]["id"].as_i64().unwrap()
            ],
        ))
        .await
        .unwrap();
    let (s, _) = with_token(
        &app,
        "GET",
        "/api/v1/people",
        second["secret"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = with_token(&app, "GET", "/api/v1/people", "rt_not-a-token", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Issued and revoked are on the audit chain.
    assert_eq!(
        one(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'token.issue'"
        )
        .await,
        2
    );
    assert_eq!(
        one(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'token.revoke'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_token_page_shows_a_new_secret_once() {
    let app = common::app().await;
    let session = app.login("secretary").await;
    let (csrf, token) = app.csrf().await;
    let cookies = format!("{session}; {csrf}");
    let (s, _, html) = common::post_form(
        &app,
        "/account/tokens",
        &cookies,
        &token,
        &[("name", ""), ("days", "90")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("请填写用途") && html.contains("请至少选择一个角色"),
        "{html}"
    );
    let (s, _, html) = common::post_form(
        &app,
        "/account/tokens",
        &cookies,
        &token,
        &[
            ("name", "党群服务365"),
            ("roles", "community_secretary"),
            ("days", "90"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("只显示这一次"), "{html}");
    let secret = html
        .split("<code>")
        .nth(1)
        .and_then(|t| t.split("</code>").next())
        .unwrap()
        .to_string();
    assert!(secret.starts_with("rt_"));
    let (_, _, again) = app
        .call(
            Request::get("/account/tokens")
                .header(header::COOKIE, &cookies)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(again.contains("党群服务365") && again.contains("有效"));
    assert!(!again.contains(&secret), "the secret is shown once");
}
