//! 数据对接 (issue 7, R-INT-1) in the pages and the API: an administrator sets up a delivery
//! target — bad input is refused field by field in Chinese (page) or with a code (API) and
//! stores nothing —, only the administrators reach it, a failed delivery shows its reason on
//! the case page next to each ledger item, and only a dead letter can be replayed.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{app, post_form};
use roundtable_store::{Exec, Sql};
use serde_json::json;

fn get(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

async fn count(app: &common::App, sql: &str) -> i64 {
    app.db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

#[tokio::test]
async fn administrators_set_up_targets_and_workers_see_what_failed() {
    let app = app().await;
    let calendar = roundtable_web::services::calendar::CalendarCache::default();
    roundtable_web::history::generate(
        &app.db,
        &calendar,
        &roundtable_web::history::Options {
            months: 3,
            communities: Some(2),
            seed: 5,
            parallel: 1,
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    let queued = count(&app, "SELECT COUNT(*) FROM exchange_changes").await;
    assert!(
        queued > 0,
        "the history's records are queued as they are written"
    );

    let (csrf_cookie, token) = app.csrf().await;
    let admin = app.login("zzb").await;
    let cookies = format!("{admin}; {csrf_cookie}");

    // Bad input: each field named, nothing stored.
    let (status, _, body) = post_form(
        &app,
        "/admin/exchange/targets",
        &cookies,
        &token,
        &[("name", ""), ("endpoint", "ftp://djy"), ("secret", "short")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for message in [
        "请填写目标名称",
        "接收地址须以",
        "请至少选择一种记录类型",
        "签名密钥至少 16 个字符",
    ] {
        assert!(body.contains(message), "{message}");
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM exchange_targets").await,
        0
    );
    let (status, e, _) = app
        .json(
            "POST",
            "/api/v1/exchange/targets",
            Some(&admin),
            Some(json!({"name": "党群服务365", "endpoint": "http://h/in", "kinds": ["votes"], "secret": "0123456789abcdef"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["code"], "validation_failed", "{e}");
    assert!(e.to_string().contains("未知的记录类型"), "{e}");

    // A target nobody listens at (port 9 refuses): created on the page.
    let (status, headers, _) = post_form(
        &app,
        "/admin/exchange/targets",
        &cookies,
        &token,
        &[
            ("name", "网络党建云平台"),
            ("endpoint", "http://127.0.0.1:9/in"),
            ("kinds", "case"),
            ("kinds", "ledger_item"),
            ("secret", "0123456789abcdef-secret"),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
    let stored: String = app
        .db
        .pool()
        .fetch_one(Sql::new("SELECT secret FROM exchange_targets"))
        .await
        .unwrap();
    assert!(
        !stored.contains("0123456789abcdef"),
        "the secret is sealed at rest"
    );
    let (status, same, _) = app
        .json(
            "POST",
            "/api/v1/exchange/targets",
            Some(&admin),
            Some(json!({"name": "网络党建云平台", "endpoint": "http://h/in", "kinds": ["case"], "secret": "0123456789abcdef"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{same}");
    assert!(same.to_string().contains("已有同名的对接目标"));

    // Only the administrators reach it.
    let secretary = app.login("secretary").await;
    for uri in [
        "/admin/exchange",
        "/api/v1/exchange/targets",
        "/api/v1/exchange/batches",
    ] {
        let (status, _, _) = app.call(get(uri, &secretary)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
    }

    // One attempt: refused by the network, recorded with its reason, retried later.
    let state = roundtable_web::AppState::new(app.db.clone(), roundtable_web::WebConfig::default())
        .unwrap();
    let delivered = roundtable_web::services::exchange::deliver_due(&state)
        .await
        .unwrap();
    assert_eq!(delivered, 0);
    let (status, targets, _) = app
        .json("GET", "/api/v1/exchange/targets", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let t = &targets[0];
    assert!(t["waiting"].as_i64().unwrap() > 0, "{t}");
    assert!(
        t["retrying"]["last_error"]
            .as_str()
            .unwrap()
            .contains("无法连接"),
        "{t}"
    );
    let (_, _, page) = app.call(get("/admin/exchange", &admin)).await;
    assert!(
        page.contains("网络党建云平台") && page.contains("重试中"),
        "the targets page: {page}"
    );

    // The case page shows each ledger item's state, with the reason.
    let case: i64 = count(&app, "SELECT MIN(case_id) FROM ledger_items").await;
    let (status, _, page) = app.call(get(&format!("/cases/{case}"), &admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("上传平台"),
        "a column for the ledger's delivery"
    );
    assert!(
        page.contains("网络党建云平台：失败（重试中）"),
        "the state per target"
    );
    assert!(page.contains("无法连接"), "and why");

    // Only a dead letter is replayed.
    let batch: i64 = count(&app, "SELECT MIN(id) FROM exchange_batches").await;
    let (status, e, _) = app
        .json(
            "POST",
            &format!("/api/v1/exchange/batches/{batch}/replay"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    app.db
        .pool()
        .execute(Sql::new("UPDATE exchange_batches SET status = 'dead'"))
        .await
        .unwrap();
    let (status, _, page) = post_form(
        &app,
        &format!("/admin/exchange/batches/{batch}/replay"),
        &cookies,
        &token,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("已重新排队"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM exchange_batches WHERE status = 'pending' AND attempts = 0"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'exchange.replay'"
        )
        .await,
        1
    );
}
