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

/// Three months of cases of some communities, written through the services (and queued).
async fn history(app: &common::App, communities: usize, seed: u64) {
    let calendar = roundtable_web::services::calendar::CalendarCache::default();
    let opts = roundtable_web::history::Options {
        months: 3,
        communities: Some(communities),
        seed,
        parallel: 1,
    };
    roundtable_web::history::generate(&app.db, &calendar, &opts, &|_, _| {})
        .await
        .unwrap();
}

async fn count(app: &common::App, sql: &str) -> i64 {
    app.db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

#[tokio::test]
async fn administrators_set_up_targets_and_workers_see_what_failed() {
    let app = app().await;
    history(&app, 2, 5).await;
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

/// The schemas of docs/exchange/v1, by kind, compiled once.
fn schemas() -> (
    boon::Schemas,
    std::collections::HashMap<String, boon::SchemaIndex>,
) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/exchange/v1");
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let id = schema["$id"].as_str().unwrap().to_string();
        let name = path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches(".schema.json")
            .to_string();
        compiler.add_resource(&id, schema).unwrap();
        ids.push((name, id));
    }
    let mut schemas = boon::Schemas::new();
    let mut by = std::collections::HashMap::new();
    for (name, id) in ids {
        by.insert(name, compiler.compile(&id, &mut schemas).unwrap());
    }
    (schemas, by)
}

#[tokio::test]
async fn the_export_and_the_pull_api_produce_what_the_schemas_describe() {
    let app = app().await;
    history(&app, 3, 9).await;
    let (schemas, by_kind) = schemas();
    assert_eq!(by_kind.len(), 7, "six kinds and the batch");
    let admin = app.login("zzb").await;

    // The file export: every record valid, one per record, counts in the manifest.
    let (status, headers, bytes) = app.call_raw(get("/api/v1/exchange/export", &admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/zip")
    );
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut read = |name: &str| -> Vec<u8> {
        use std::io::Read;
        let mut f = zip.by_name(name).unwrap();
        let mut v = Vec::new();
        f.read_to_end(&mut v).unwrap();
        v
    };
    let manifest: serde_json::Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    assert_eq!(manifest["exported_by"], "zzb");
    let mut total = 0;
    for kind in [
        "case",
        "meeting",
        "notice",
        "ledger_item",
        "inspection",
        "bulletin",
    ] {
        let text = String::from_utf8(read(&format!("{kind}.jsonl"))).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for line in text.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Err(e) = schemas.validate(&record, by_kind[kind]) {
                panic!("{kind} record does not match its schema: {e:#}\n{record}");
            }
            assert!(
                seen.insert(record["id"].as_i64().unwrap()),
                "one line per record"
            );
            // The schemas do check: a record without its change number, or with a field of
            // another type, is refused.
            let mut broken = record.clone();
            broken.as_object_mut().unwrap().remove("change");
            assert!(schemas.validate(&broken, by_kind[kind]).is_err());
            let mut broken = record.clone();
            broken["changed_at"] = json!("2026-13-45");
            assert!(schemas.validate(&broken, by_kind[kind]).is_err());
        }
        assert_eq!(manifest["records"][kind], seen.len() as i64, "{kind}");
        let stored = count(
            &app,
            &format!(
                "SELECT COUNT(DISTINCT record_id) FROM exchange_changes WHERE kind = '{kind}'"
            ),
        )
        .await;
        assert_eq!(seen.len() as i64, stored, "every {kind} of the district");
        total += seen.len();
    }
    assert!(total > 20, "{total}");
    // The same as one workbook, a sheet per kind under Chinese headers, with the watermark.
    let book = read("台帐.xlsx");
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(book)).unwrap();
    use calamine::Reader;
    assert_eq!(
        wb.sheet_names(),
        [
            "案例",
            "圆桌会议",
            "项目公示",
            "台帐事项",
            "监督检查",
            "项目通报"
        ]
    );
    let ledger = wb.worksheet_range("台帐事项").unwrap();
    assert!(
        ledger
            .get((0, 0))
            .unwrap()
            .to_string()
            .contains("导出人：zzb")
    );
    assert_eq!(ledger.get((1, 5)).unwrap().to_string(), "事项");
    assert_eq!(
        ledger.height() - 2,
        manifest["records"]["ledger_item"].as_u64().unwrap() as usize
    );

    // The pull API: pages that never skip or repeat, every record valid.
    let mut since = 0;
    let mut got = Vec::new();
    loop {
        let (status, page, _) = app
            .json(
                "GET",
                &format!("/api/v1/exchange/ledger_item?since={since}&limit=7"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for r in page["records"].as_array().unwrap() {
            schemas.validate(r, by_kind["ledger_item"]).unwrap();
            assert!(r["change"].as_i64().unwrap() > since);
            got.push((r["id"].as_i64().unwrap(), r["change"].as_i64().unwrap()));
        }
        since = page["next"].as_i64().unwrap();
        if !page["more"].as_bool().unwrap() {
            break;
        }
    }
    // A pushed batch of them matches the batch schema too.
    let (_, page, _) = app
        .json(
            "GET",
            "/api/v1/exchange/ledger_item?limit=20",
            Some(&admin),
            None,
        )
        .await;
    let now = chrono::Utc::now();
    let target = roundtable_store::exchange::Target {
        id: 1,
        name: "党群服务365".into(),
        endpoint: "http://h/".into(),
        kinds: vec![],
        org_id: None,
        org_path: None,
        secret: String::new(),
        enabled: true,
        from_config: false,
        cursor_seq: 0,
        created_at: now,
        updated_at: now,
    };
    let batch = roundtable_store::exchange::Batch {
        id: 1,
        target_id: 1,
        after_seq: 0,
        last_seq: 20,
        batch_key: "rt-1-0-20".into(),
        records: 20,
        status: "pending".into(),
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        created_at: now,
        sent_at: None,
    };
    let body = roundtable_web::services::exchange::batch_body(
        &target,
        &batch,
        page["records"].as_array().unwrap(),
        now,
    );
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    if let Err(e) = schemas.validate(&body, by_kind["batch"]) {
        panic!("the batch does not match its schema: {e:#}");
    }

    let ids: std::collections::BTreeSet<i64> = got.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), got.len(), "no record twice");
    assert_eq!(
        ids.len() as u64,
        manifest["records"]["ledger_item"].as_u64().unwrap()
    );
    let (_, page, _) = app
        .json(
            "GET",
            &format!("/api/v1/exchange/ledger_item?since={since}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(page["records"], json!([]), "nothing after the last page");

    // A community's secretary pulls only the community's records.
    let secretary = app.login("secretary").await;
    let (status, page, _) = app
        .json(
            "GET",
            "/api/v1/exchange/case?limit=1000",
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let theirs = page["records"].as_array().unwrap();
    let all = manifest["records"]["case"].as_u64().unwrap() as usize;
    assert!(theirs.len() < all, "{} of {all}", theirs.len());
    let community = theirs.first().map(|r| r["org"]["id"].clone());
    assert!(
        theirs
            .iter()
            .all(|r| Some(r["org"]["id"].clone()) == community)
    );

    // An API token limited to ledger items pulls those and nothing else.
    let (status, issued, _) = app
        .json(
            "POST",
            "/api/v1/me/tokens",
            Some(&admin),
            Some(json!({"name": "党群服务365 拉取", "roles": ["district_admin"], "kinds": ["ledger_item"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let bearer = issued["secret"].as_str().unwrap().to_string();
    let pull = |uri: &str| {
        Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, _, _) = app.call(pull("/api/v1/exchange/ledger_item?limit=3")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = app.call(pull("/api/v1/exchange/case")).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a kind the token does not carry"
    );
    let (status, _, bytes) = app.call_raw(pull("/api/v1/exchange/export")).await;
    assert_eq!(status, StatusCode::OK);
    let mut limited = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let manifest: serde_json::Value = {
        use std::io::Read;
        let mut text = String::new();
        limited
            .by_name("manifest.json")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    assert_eq!(manifest["records"]["case"], 0, "{manifest}");
    assert!(manifest["records"]["ledger_item"].as_i64().unwrap() > 0);
    let (status, e, _) = app
        .json(
            "POST",
            "/api/v1/me/tokens",
            Some(&admin),
            Some(json!({"name": "x", "roles": ["district_admin"], "kinds": ["votes"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"]["fields"]["kinds"].is_string(), "{e}");

    // Bad input names the field; nobody signed out gets anything.
    for (uri, field) in [
        ("/api/v1/exchange/case?since=abc", "since"),
        ("/api/v1/exchange/case?limit=5000", "limit"),
        ("/api/v1/exchange/export?since=2026-13-01", "since"),
    ] {
        let (status, e, _) = app.json("GET", uri, Some(&admin), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {e}");
        assert!(e["error"]["fields"][field].is_string(), "{uri}: {e}");
    }
    let (status, _, _) = app
        .json("GET", "/api/v1/exchange/votes", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an unknown kind");
    let (status, _, _) = app.json("GET", "/api/v1/exchange/case", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A partner's signed request.
fn partner_request(partner: &str, secret: &str, ts: i64, body: &str) -> Request<Body> {
    Request::post("/api/v1/public/topics/batch")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-roundtable-partner", partner)
        .header("x-roundtable-timestamp", ts.to_string())
        .header(
            "x-roundtable-signature",
            format!(
                "hmac-sm3={}",
                roundtable_store::exchange::signature(secret, ts, body.as_bytes())
            ),
        )
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn a_partner_hands_matters_over_once_each_and_bad_batches_are_refused_with_a_reason() {
    let secret = "12345-hotline-secret-of-the-district";
    let mut config = roundtable_web::WebConfig::default();
    config.exchange.partners = vec![roundtable_web::services::inbound::ConfigPartner {
        name: "12345".into(),
        secret: secret.into(),
        channel: None,
    }];
    let app = common::app_with(config).await;
    let community: String = app
        .db
        .pool()
        .fetch_one(Sql::new(
            "SELECT code FROM orgs WHERE kind = 'community' ORDER BY id LIMIT 1",
        ))
        .await
        .unwrap();
    let body = json!({"batch": "12345-20261204-01", "items": [
        {"ref": "GD-0001", "org_code": community, "title": "小区路灯损坏", "description": "3 栋旁路灯连续一周不亮", "category": "safety", "submitter_phone": "13800001234", "contact_consent": true},
        {"ref": "GD-0002", "org_code": "no-such-community", "title": "噪音扰民", "description": "夜间施工", "category": "environment"},
        {"ref": "GD-0003", "org_code": community, "title": "", "description": "内容", "category": "天气"},
    ]})
    .to_string();
    let now = chrono::Utc::now().timestamp();
    let topics_before = count(&app, "SELECT COUNT(*) FROM topics").await;

    // Refused whole: a wrong signature, an unknown partner, a replayed timestamp.
    for (req, why) in [
        (
            partner_request("12345", "another-secret-of-16-chars", now, &body),
            "签名不符",
        ),
        (partner_request("110", secret, now, &body), "未登记的对接方"),
        (
            partner_request("12345", secret, now - 3600, &body),
            "疑似重放",
        ),
    ] {
        let (status, _, text) = app.call(req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
        assert!(
            text.contains("signature_refused") && text.contains(why),
            "{text}"
        );
    }
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM topics").await,
        topics_before,
        "nothing stored"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM exchange_inbound WHERE outcome = 'refused'"
        )
        .await,
        3,
        "each recorded"
    );

    // Accepted: the good item is a topic of the hotline channel, the bad ones say why.
    let (status, _, text) = app.call(partner_request("12345", secret, now, &body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (r["created"].as_i64(), r["refused"].as_i64()),
        (Some(1), Some(2)),
        "{r}"
    );
    assert_eq!(r["results"][0]["outcome"], "created");
    let code = r["results"][0]["tracking_code"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        r["results"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("no-such-community"),
        "{r}"
    );
    assert!(
        r["results"][2]["reason"]
            .as_str()
            .unwrap()
            .contains("title"),
        "{r}"
    );
    let channel: String = app
        .db
        .pool()
        .fetch_one(Sql::new(&format!(
            "SELECT channel FROM topics WHERE tracking_code = '{code}'"
        )))
        .await
        .unwrap();
    assert_eq!(channel, "hotline");

    // Sent again (the partner never saw the answer): the same topic, nothing new.
    let (status, _, text) = app
        .call(partner_request("12345", secret, now + 1, &body))
        .await;
    assert_eq!(status, StatusCode::OK);
    let again: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(again["results"][0]["outcome"], "duplicate");
    assert_eq!(again["results"][0]["tracking_code"], code.as_str());
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM topics").await,
        topics_before + 1
    );

    // An administrator reads what came and what was refused.
    let admin = app.login("zzb").await;
    let (_, _, page) = app.call(get("/admin/exchange", &admin)).await;
    assert!(
        page.contains("整批拒收")
            && page.contains("疑似重放")
            && page.contains("12345-20261204-01")
    );
}
