//! The audit chain (issue 6 item 1) on the backend named by ROUNDTABLE_TEST_DB: concurrent
//! writers do not fork it; an entry altered, deleted (in the middle or at the end) or inserted
//! directly in the database is found by `verify`, at the right place.

mod common;

use roundtable_store::audit::{self, Tampering};
use roundtable_store::{Exec, Sql, args};
use roundtable_web::services::wishes::{self, WishInput};

async fn n(app: &common::App, sql: &str) -> i64 {
    app.db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

/// The demo, and twenty audited changes written at once (wishes posted by community staff).
async fn chained_app() -> common::App {
    let app = common::app().await;
    let community = n(
        &app,
        "SELECT p.org_id FROM people p JOIN person_kinds k ON k.person_id = p.id AND k.kind = 'party_member' ORDER BY p.id LIMIT 1",
    )
    .await;
    let staff = common::community_staff(community);
    let before = n(&app, "SELECT COUNT(*) FROM audit_log").await;
    let posts = (0..20).map(|i| {
        let (db, staff) = (&app.db, &staff);
        async move {
            wishes::post(
                db,
                staff,
                &WishInput {
                    org_id: Some(community),
                    title: format!("为第{i}户困难家庭更换灯泡"),
                    detail: None,
                    household_name: "王大爷".into(),
                    household_phone: None,
                },
            )
            .await
        }
    });
    for r in futures_util::future::join_all(posts).await {
        r.unwrap();
    }
    assert_eq!(n(&app, "SELECT COUNT(*) FROM audit_log").await, before + 20);
    app
}

async fn verify(app: &common::App) -> audit::Verification {
    audit::verify(&mut app.db.pool()).await.unwrap()
}

#[tokio::test]
async fn concurrent_writers_keep_one_chain_and_verify_finds_an_altered_entry() {
    let app = chained_app().await;
    let v = verify(&app).await;
    assert_eq!(v.first_problem, None, "{v:?}");
    let total = n(&app, "SELECT COUNT(*) FROM audit_log").await;
    assert!(total >= 20);
    assert_eq!(v.entries, total, "every entry on the chain");
    assert_eq!(v.head_seq, total);
    // One place each, 1…N without a gap: nobody forked it.
    assert_eq!(
        n(&app, "SELECT COUNT(DISTINCT seq) FROM audit_log").await,
        total
    );
    assert_eq!(n(&app, "SELECT MAX(seq) FROM audit_log").await, total);

    // Altered behind the application's back: found at its place; put back, the chain holds.
    let seq = total - 5;
    let original: String = app
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT COALESCE(after_json, '') FROM audit_log WHERE seq = $1",
            args![seq],
        ))
        .await
        .unwrap();
    assert!(!original.is_empty(), "a wish posted: its fields after");
    let tamper = |v: Option<String>| {
        Sql::with(
            "UPDATE audit_log SET after_json = $1 WHERE seq = $2",
            args![v, seq],
        )
    };
    app.db
        .pool()
        .execute(tamper(Some("{\"title\":\"改过的\"}".into())))
        .await
        .unwrap();
    let v = verify(&app).await;
    let p = v.first_problem.expect("the change is found");
    assert_eq!((p.kind, p.seq), (Tampering::Altered, Some(seq)), "{p:?}");
    assert_eq!(v.entries, seq - 1, "all before it verified");
    app.db.pool().execute(tamper(Some(original))).await.unwrap();
    assert_eq!(verify(&app).await.first_problem, None);
    // Its author changed: altered too.
    app.db
        .pool()
        .execute(Sql::with(
            "UPDATE audit_log SET actor_user_id = 999 WHERE seq = 3",
            vec![],
        ))
        .await
        .unwrap();
    let p = verify(&app).await.first_problem.unwrap();
    assert_eq!((p.kind, p.seq), (Tampering::Altered, Some(3)));
}

#[tokio::test]
async fn a_deleted_entry_is_found_in_the_middle_and_at_the_end() {
    let app = chained_app().await;
    let total = n(&app, "SELECT COUNT(*) FROM audit_log").await;
    app.db
        .pool()
        .execute(Sql::with(
            "DELETE FROM audit_log WHERE seq = $1",
            args![total - 1],
        ))
        .await
        .unwrap();
    let p = verify(&app).await.first_problem.unwrap();
    assert_eq!(p.kind, Tampering::Deleted, "{p:?}");
    assert_eq!(p.seq, Some(total), "shows at the entry after the gap");
    assert!(p.message.contains(&(total - 1).to_string()), "{p:?}");

    let app = chained_app().await;
    let total = n(&app, "SELECT COUNT(*) FROM audit_log").await;
    app.db
        .pool()
        .execute(Sql::with(
            "DELETE FROM audit_log WHERE seq >= $1",
            args![total - 2],
        ))
        .await
        .unwrap();
    let v = verify(&app).await;
    let p = v.first_problem.unwrap();
    assert_eq!(
        (p.kind, p.seq),
        (Tampering::Deleted, Some(total - 2)),
        "the head knows the chain was longer"
    );
    assert_eq!(v.entries, total - 3);
}

#[tokio::test]
async fn an_inserted_entry_is_found_off_the_chain_beyond_its_head_or_between_two() {
    let app = chained_app().await;
    let total = n(&app, "SELECT COUNT(*) FROM audit_log").await;
    let insert = |seq: Option<i64>, prev: &str| {
        Sql::with(
            "INSERT INTO audit_log (at, actor_user_id, action, object_type, object_id, before_json, after_json, seq, prev_hash, hash) VALUES ($1, NULL, 'notice.publish', 'case', 1, NULL, '{}', $2, $3, 'ffff')",
            args![chrono::Utc::now(), seq, prev.to_string()],
        )
    };
    // Without a place.
    app.db.pool().execute(insert(None, "")).await.unwrap();
    let p = verify(&app).await.first_problem.unwrap();
    assert_eq!((p.kind, p.seq), (Tampering::Inserted, None), "{p:?}");
    app.db
        .pool()
        .execute(Sql::new("DELETE FROM audit_log WHERE seq IS NULL"))
        .await
        .unwrap();
    assert_eq!(verify(&app).await.first_problem, None);
    // After the last entry, with the last entry's hash as its predecessor.
    let last_hash: String = app
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT hash FROM audit_log WHERE seq = $1",
            args![total],
        ))
        .await
        .unwrap();
    app.db
        .pool()
        .execute(insert(Some(total + 1), &last_hash))
        .await
        .unwrap();
    let p = verify(&app).await.first_problem.unwrap();
    assert_eq!((p.kind, p.seq), (Tampering::Inserted, Some(total + 1)));
    // Between two: the later entries moved up one place to make room.
    app.db
        .pool()
        .execute(Sql::with(
            "DELETE FROM audit_log WHERE seq = $1",
            args![total + 1],
        ))
        .await
        .unwrap();
    let app2 = chained_app().await;
    let total = n(&app2, "SELECT COUNT(*) FROM audit_log").await;
    let at = total - 3;
    // Two steps, so that the unique index on seq holds in between.
    app2.db
        .pool()
        .execute(Sql::with(
            "UPDATE audit_log SET seq = seq + 1000000 WHERE seq > $1",
            args![at],
        ))
        .await
        .unwrap();
    app2.db
        .pool()
        .execute(Sql::with(
            "UPDATE audit_log SET seq = seq - 1000000 + 1 WHERE seq > 1000000",
            vec![],
        ))
        .await
        .unwrap();
    let prev: String = app2
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT hash FROM audit_log WHERE seq = $1",
            args![at],
        ))
        .await
        .unwrap();
    app2.db
        .pool()
        .execute(insert(Some(at + 1), &prev))
        .await
        .unwrap();
    let p = verify(&app2).await.first_problem.unwrap();
    assert_eq!(p.seq, Some(at + 1), "{p:?}");
    assert!(
        matches!(p.kind, Tampering::Altered | Tampering::Inserted),
        "{p:?}"
    );
}

#[tokio::test]
async fn the_audit_administrator_searches_and_exports_the_record_nobody_else_reads_it() {
    let app = chained_app().await;
    let auditor = app.login("auditor").await;
    let admin = app.login("admin").await;
    let (s, v, _) = app
        .json(
            "GET",
            "/api/v1/audit?action=wish.&object_type=wish",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 20, "{v}");
    assert!(
        rows.iter()
            .all(|r| r["action"] == "wish.post" && r["hash"].is_string())
    );
    assert_eq!(v["more"], false);
    // 三员分立: the system administrator does not read the record.
    let (s, _, _) = app.json("GET", "/api/v1/audit", Some(&admin), None).await;
    assert_eq!(s.as_u16(), 403);
    let get = |uri: &str, who: &str| {
        axum::http::Request::get(uri)
            .header("cookie", who)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let (s, _, _) = app.call(get("/admin/audit", &admin)).await;
    assert_eq!(s.as_u16(), 403);
    // Bad input named, on the page and in the API.
    let (s, v, _) = app
        .json(
            "GET",
            "/api/v1/audit?from=2026-12-31&to=2026-01-01&actor=nobody",
            Some(&auditor),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 422);
    assert!(
        v["error"]["fields"]["to"].is_string() && v["error"]["fields"]["actor"].is_string(),
        "{v}"
    );
    let (s, _, html) = app.call(get("/admin/audit?object_id=x", &auditor)).await;
    assert_eq!(s.as_u16(), 422);
    assert!(html.contains("应为数字"), "{html}");
    let (s, _, html) = app.call(get("/admin/audit?action=wish.", &auditor)).await;
    assert_eq!(s.as_u16(), 200, "{html}");
    assert!(
        html.contains("wish.post") && html.contains("导出 Excel"),
        "{html}"
    );
    // The export: a workbook, and itself on the chain.
    let (s, h, body) = app
        .call_raw(get("/api/v1/audit/export?action=wish.", &auditor))
        .await;
    assert_eq!(s.as_u16(), 200);
    assert!(
        h.iter()
            .any(|(k, v)| k == "content-type" && v.contains("spreadsheetml")),
        "{h:?}"
    );
    assert_eq!(&body[..2], b"PK", "an .xlsx is a zip");
    assert_eq!(
        n(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'audit.export'"
        )
        .await,
        1
    );
    assert_eq!(verify(&app).await.first_problem, None);
}
