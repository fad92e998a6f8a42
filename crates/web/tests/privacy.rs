//! Personal data (issue 6 point 3, PIPL) on the backend named by ROUNDTABLE_TEST_DB: what is held
//! under one phone number is found across records, exported and erased on request by an
//! administrator only; the retention run erases contact data of what was finished long enough
//! ago and leaves the rest; each is audited with the number masked.

mod common;

use axum::http::StatusCode;
use roundtable_store::{Exec, Sql, args};
use serde_json::json;

async fn n(app: &common::App, sql: &str) -> i64 {
    app.db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

#[tokio::test]
async fn a_persons_data_is_exported_and_erased_on_request_and_by_retention() {
    let app = common::app().await;
    let community = n(&app, "SELECT MIN(id) FROM orgs WHERE kind = 'community'").await;
    let phone = "13912340001";
    for title in ["楼道灯坏了", "垃圾清运不及时"] {
        let (s, v, _) = app
            .json(
                "POST",
                "/api/v1/public/topics",
                None,
                Some(json!({"org_id": community, "title": title, "description": format!("{title}，请尽快处理"), "category": "environment", "submitter_name": "王阿姨", "submitter_phone": phone, "contact_consent": "1"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // Consent is recorded with the version of the notice the resident saw.
    assert_eq!(
        n(&app, &format!("SELECT COUNT(*) FROM topics WHERE submitter_phone_idx = '{}' AND consent_version = '{}'", phone_index(phone), roundtable_core::privacy::CONSENT_VERSION)).await,
        2
    );
    let admin = app.login("admin").await;
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/wishes",
            Some(&admin),
            Some(json!({"org_id": community, "title": "更换灯泡", "household_name": "王阿姨", "household_phone": phone})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Only administrators answer such requests.
    let staff = app.login("staff").await;
    let (s, _, _) = app
        .json(
            "GET",
            &format!("/api/v1/privacy/subject?phone={phone}"),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v, _) = app
        .json(
            "GET",
            "/api/v1/privacy/subject?phone=123",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["phone"].is_string(), "{v}");

    let (s, subject, _) = app
        .json(
            "GET",
            &format!("/api/v1/privacy/subject?phone={phone}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{subject}");
    let kinds: Vec<&str> = subject["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "topic").count(), 2);
    assert!(kinds.contains(&"wish"));
    assert_eq!(subject["exported_by"], "admin");

    // Retention: only what was finished long enough ago loses its contact data.
    let old = roundtable_store::now() - chrono::Duration::days(400);
    app.db
        .pool()
        .execute(Sql::with(
            "UPDATE topics SET status = 'rejected', updated_at = $1 WHERE title = '楼道灯坏了'",
            args![old],
        ))
        .await
        .unwrap();
    let erased = roundtable_web::services::privacy::retain(&app.db, 365)
        .await
        .unwrap();
    assert_eq!(erased.topics, 1);
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT COUNT(*) FROM topics WHERE submitter_phone_idx = '{}'",
                phone_index(phone)
            )
        )
        .await,
        1,
        "the open matter keeps its contact"
    );
    let again = roundtable_web::services::privacy::retain(&app.db, 365)
        .await
        .unwrap();
    assert_eq!(again.total(), 0, "a second run has nothing left to do");

    // The page: the records listed, an erasure without its confirmation refused.
    let (csrf, token) = app.csrf().await;
    let cookies = format!("{admin}; {csrf}");
    let (s, _, html) = app
        .call(
            axum::http::Request::get(format!("/admin/privacy?phone={phone}"))
                .header("cookie", &cookies)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("垃圾清运不及时") && html.contains("导出给本人"),
        "{html}"
    );
    let (s, _, html) = common::post_form(
        &app,
        "/admin/privacy/erase",
        &cookies,
        &token,
        &[("phone", phone)],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请勾选确认"), "{html}");
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT COUNT(*) FROM topics WHERE submitter_phone_idx = '{}'",
                phone_index(phone)
            )
        )
        .await,
        1,
        "nothing erased without the confirmation"
    );

    // Erased on request: nothing left under the number.
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/privacy/erase",
            Some(&admin),
            Some(json!({"phone": phone})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["topics"], 1);
    assert_eq!(v["wishes"], 1);
    let (_, after, _) = app
        .json(
            "GET",
            &format!("/api/v1/privacy/subject?phone={phone}"),
            Some(&admin),
            None,
        )
        .await;
    assert!(after["records"].as_array().unwrap().is_empty(), "{after}");
    assert_eq!(
        n(
            &app,
            "SELECT COUNT(*) FROM wishes WHERE household_name = '（已删除）'"
        )
        .await,
        1
    );

    // Audited, the number masked.
    for action in ["privacy.export", "privacy.erase", "privacy.retention"] {
        let c = n(
            &app,
            &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"),
        )
        .await;
        assert!(c >= 1, "{action}");
    }
    assert_eq!(
        n(
            &app,
            &format!("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'privacy.%' AND after_json LIKE '%{phone}%'"),
        )
        .await,
        0,
        "the audit keeps the number masked"
    );
}

/// Numbers are sealed at rest: a test finds one by its keyed index (`pii`).
fn phone_index(phone: &str) -> String {
    roundtable_store::pii::index(Some(phone)).unwrap().unwrap()
}
