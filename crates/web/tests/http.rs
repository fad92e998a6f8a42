//! In-process HTTP tests over the real router, on the backend named by ROUNDTABLE_TEST_DB.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{app, cookie_from};
use roundtable_store::{Exec, Sql};
use serde_json::{Value, json};

#[tokio::test]
async fn api_login_and_bad_credentials() {
    let app = app().await;
    let (s, body, _) = app
        .json(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "admin", "password": "wrong"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "bad_credentials");
    let (s, body, _) = app
        .json(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": 5})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request");
    let c = app.login("admin").await;
    let (s, me, _) = app.json("GET", "/api/v1/auth/me", Some(&c), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["user"]["username"], "admin");
    let (s, _, _) = app.json("GET", "/api/v1/auth/me", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let events: i64 = app.db.pool().fetch_one(Sql::new("SELECT COUNT(*) FROM auth_events WHERE username = 'admin' AND event IN ('login_ok', 'login_failed')")).await.unwrap();
    assert_eq!(events, 2);
}

/// 等保 2.0 (issue 6 point 4): a password older than `password_max_age_days` is changed before
/// anything else; 0 turns expiry off.
#[tokio::test]
async fn an_expired_password_is_changed_before_anything_else() {
    let app = app().await;
    let old = roundtable_store::now() - chrono::Duration::days(91);
    app.db
        .pool()
        .execute(Sql::with(
            "UPDATE users SET password_changed_at = $1 WHERE username = 'staff'",
            roundtable_store::args![old],
        ))
        .await
        .unwrap();
    let c = app.login("staff").await;
    let (s, me, _) = app.json("GET", "/api/v1/auth/me", Some(&c), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["password_change_required"], true);
    let (s, body, _) = app.json("GET", "/api/v1/people", Some(&c), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "password_change_required");
    let (s, h, _) = app
        .call(
            Request::get("/people")
                .header(header::COOKIE, &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(s.is_redirection());
    assert!(
        h.iter()
            .any(|(k, v)| k == "location" && v == "/account/password")
    );
    let (_, _, page) = app
        .call(
            Request::get("/account/password")
                .header(header::COOKIE, &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(page.contains("密码已使用 90 天以上"), "{page}");
    let (s, _, _) = app
        .json(
            "POST",
            "/api/v1/auth/password",
            Some(&c),
            Some(json!({"current_password": app.password("staff"), "new_password": "Xihu-2026-round"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, me, _) = app.json("GET", "/api/v1/auth/me", Some(&c), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["password_change_required"], false);
    let (s, _, _) = app.json("GET", "/api/v1/people", Some(&c), None).await;
    assert_eq!(s, StatusCode::OK);

    // Expiry off: the same age is accepted.
    let off = common::app_with(roundtable_web::WebConfig {
        password_max_age_days: 0,
        ..Default::default()
    })
    .await;
    off.db
        .pool()
        .execute(Sql::with(
            "UPDATE users SET password_changed_at = $1 WHERE username = 'staff'",
            roundtable_store::args![old],
        ))
        .await
        .unwrap();
    let c = off.login("staff").await;
    let (s, _, _) = off.json("GET", "/api/v1/people", Some(&c), None).await;
    assert_eq!(s, StatusCode::OK);
}

/// Issue 6 point 5: public pages and endpoints, and login attempts, are limited per client
/// address: 429 with Retry-After, in Chinese on a page and as `rate_limited` in the API.
#[tokio::test]
async fn public_requests_and_logins_are_rate_limited_per_address() {
    let app = common::app_with(roundtable_web::WebConfig {
        public_per_minute: 3,
        login_per_hour: 2,
        ..Default::default()
    })
    .await;
    for _ in 0..3 {
        let (s, _, _) = app
            .json("GET", "/api/v1/public/communities", None, None)
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, body, h) = app
        .json("GET", "/api/v1/public/verify/0123456789abcdef", None, None)
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(h.iter().any(|(k, v)| k == "retry-after" && v == "60"));
    let (s, _, page) = app
        .call(Request::get("/v").body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("<html") && page.contains("频繁"), "{page}");
    // Pages behind a login are not counted.
    let c = app.login("admin").await;
    let (s, _, _) = app.json("GET", "/api/v1/people", Some(&c), None).await;
    assert_eq!(s, StatusCode::OK);
    // Two failed logins from the address and it is turned away for the hour, right password
    // or not; the successful login above was not counted.
    for _ in 0..2 {
        let (s, _, _) = app
            .json(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "staff", "password": "wrong"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, body, _) = app
        .json(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "staff", "password": app.password("staff")})),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test]
async fn lockout_after_five_failures_holds_even_with_the_right_password() {
    let app = app().await;
    for _ in 0..4 {
        let (s, _, _) = app
            .json(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "staff", "password": "Wrong-pass1"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, body, _) = app
        .json(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "staff", "password": "Wrong-pass1"})),
        )
        .await;
    assert_eq!(s, StatusCode::LOCKED);
    assert_eq!(body["error"]["code"], "account_locked");
    let (s, _, _) = app
        .json(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "staff", "password": app.password("staff")})),
        )
        .await;
    assert_eq!(s, StatusCode::LOCKED);
    // An administrator unlocks; the right password works again.
    let admin = app.login("admin").await;
    let (_, users, _) = app
        .json("GET", "/api/v1/users?q=staff", Some(&admin), None)
        .await;
    let id = users["items"][0]["id"].as_i64().unwrap();
    let (s, _, _) = app
        .json(
            "POST",
            &format!("/api/v1/users/{id}/unlock"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.login("staff").await;
}

#[tokio::test]
async fn people_list_is_scoped_by_role_in_sql() {
    let app = app().await;
    let admin = app.login("admin").await;
    let (_, all, _) = app
        .json(
            "GET",
            "/api/v1/people?kind=party_member&per_page=1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(all["total"], 5000);
    let staff = app.login("staff").await;
    let (_, mine, _) = app
        .json(
            "GET",
            "/api/v1/people?kind=party_member&per_page=200",
            Some(&staff),
            None,
        )
        .await;
    let n = mine["total"].as_i64().unwrap();
    assert!(
        n > 0 && n < 5000,
        "community staff sees only their community: {n}"
    );
    let org = mine["items"][0]["org_id"].clone();
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["org_id"] == org)
    );
    assert!(mine["items"][0]["phone"].as_str().unwrap().contains("****"));
    let member = app.login("member").await;
    let (_, own, _) = app.json("GET", "/api/v1/people", Some(&member), None).await;
    assert_eq!(own["total"], 1);
    // Out of scope: a person of another community is forbidden to staff.
    let (_, page, _) = app
        .json(
            "GET",
            "/api/v1/people?kind=party_member&per_page=200",
            Some(&admin),
            None,
        )
        .await;
    let far = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["org_id"] != org)
        .expect("a member elsewhere")["id"]
        .as_i64()
        .unwrap();
    let (s, _, _) = app
        .json("GET", &format!("/api/v1/people/{far}"), Some(&staff), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn creating_a_person_validates_fields_and_changes_nothing_on_error() {
    let app = app().await;
    let staff = app.login("staff").await;
    let before: i64 = app
        .db
        .pool()
        .fetch_one(Sql::new("SELECT COUNT(*) FROM people"))
        .await
        .unwrap();
    let (s, body, _) = app
        .json(
            "POST",
            "/api/v1/people",
            Some(&staff),
            Some(json!({"name": "", "phone": "123", "kinds": ["火星人"]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "validation_failed");
    for f in ["name", "phone", "kinds", "org_id"] {
        assert!(
            body["error"]["fields"][f].is_string(),
            "field {f} named: {body}"
        );
    }
    let after: i64 = app
        .db
        .pool()
        .fetch_one(Sql::new("SELECT COUNT(*) FROM people"))
        .await
        .unwrap();
    assert_eq!(before, after);
    let (_, me, _) = app.json("GET", "/api/v1/auth/me", Some(&staff), None).await;
    let org_id = me["grants"][0]["org_id"].as_i64().unwrap();
    let (s, p, _) = app.json("POST", "/api/v1/people", Some(&staff), Some(json!({"name": "新居民", "phone": "13600000001", "org_id": org_id, "kinds": ["居民代表"]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["phone"], "136****0001");
    let (s, body, _) = app.json("POST", "/api/v1/people", Some(&staff), Some(json!({"name": "重复", "phone": "13600000001", "org_id": org_id, "kinds": ["居民代表"]}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["fields"]["phone"]
            .as_str()
            .unwrap()
            .contains("已登记")
    );
}

#[tokio::test]
async fn r_org_2_overlapping_one_at_a_time_link_is_refused() {
    let app = app().await;
    let admin = app.login("admin").await;
    let (_, links, _) = app
        .json(
            "GET",
            "/api/v1/links?kind=street_leader_community",
            Some(&admin),
            None,
        )
        .await;
    let l = &links[0];
    let (_, leaders, _) = app
        .json(
            "GET",
            "/api/v1/people?kind=street_leader&per_page=50",
            Some(&admin),
            None,
        )
        .await;
    let other = leaders["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] != l["person_id"])
        .unwrap()["id"]
        .clone();
    let body = json!({"kind": "street_leader_community", "person_id": other, "org_id": l["org_id"], "start_date": "2024-01-01"});
    let (s, e, _) = app
        .json("POST", "/api/v1/links", Some(&admin), Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // End the current link, then the successor may start the next day.
    let (s, _, _) = app
        .json(
            "POST",
            &format!("/api/v1/links/{}/end", l["id"]),
            Some(&admin),
            Some(json!({"end_date": "2024-12-31"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut next = body;
    next["start_date"] = json!("2025-01-01");
    let (s, _, _) = app
        .json("POST", "/api/v1/links", Some(&admin), Some(next))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, on, _) = app
        .json(
            "GET",
            &format!("/api/v1/orgs/{}/links?date=2024-06-01", l["org_id"]),
            Some(&admin),
            None,
        )
        .await;
    assert!(
        on.as_array()
            .unwrap()
            .iter()
            .any(|x| x["person_id"] == l["person_id"])
    );
    assert!(
        !on.as_array()
            .unwrap()
            .iter()
            .any(|x| x["person_id"] == other)
    );
}

#[tokio::test]
async fn pages_need_login_csrf_and_speak_chinese() {
    let app = app().await;
    let (s, h, _) = app
        .call(Request::get("/people").body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        h.iter()
            .any(|(k, v)| k == "location" && v.starts_with("/login"))
    );
    let (s, h, html) = app
        .call(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("登录"));
    let csrf = cookie_from(&h, "rt_csrf");
    let token = csrf.split_once('=').unwrap().1.to_string();
    let form = |t: &str| {
        format!(
            "_csrf={t}&username=admin&password={}&next=%2Fpeople",
            app.password("admin")
        )
    };
    let post = |body: String| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, csrf.clone())
            .body(Body::from(body))
            .unwrap()
    };
    let (s, _, html) = app.call(post(form("forged"))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(html.contains("表单已过期"));
    let (s, h, _) = app.call(post(form(&token))).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let session = cookie_from(&h, "rt_session");
    assert!(
        h.iter()
            .any(|(k, v)| k == "set-cookie" && v.contains("HttpOnly") && v.contains("SameSite"))
    );
    let cookies = format!("{session}; {csrf}");
    let (s, _, html) = app
        .call(
            Request::get("/people?kind=party_member")
                .header(header::COOKIE, &cookies)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("5000 条"), "people page lists the members");
    let (s, _, html) = app
        .call(
            Request::get("/no/such/page")
                .header(header::COOKIE, &cookies)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(html.contains("页面不存在"));
    let (s, body, _) = app.json("GET", "/api/v1/nothing", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    // A form with errors keeps what was typed and names the field.
    let bad = format!("_csrf={token}&name=%E5%BC%A0%E4%B8%89&phone=12345");
    let (s, _, html) = app
        .call(
            Request::post("/people/new")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, &cookies)
                .body(Body::from(bad))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("手机号码应为以1开头的11位数字") && html.contains("张三"));
}

#[tokio::test]
async fn openapi_lists_every_api_route() {
    let doc = roundtable_web::api::openapi();
    let json = serde_json::to_value(&doc).unwrap();
    let paths = json["paths"].as_object().unwrap();
    for p in [
        "/auth/login",
        "/auth/me",
        "/orgs",
        "/orgs/{id}",
        "/orgs/{id}/links",
        "/units",
        "/people",
        "/people/{id}",
        "/links",
        "/links/{id}/end",
        "/users",
        "/users/{id}/roles",
        "/excel/template",
        "/excel/export",
        "/excel/import",
        "/public/communities",
        "/public/topics",
        "/public/topics/{tracking_code}",
        "/public/topics/{tracking_code}/photos",
        "/topics",
        "/topics/{id}",
        "/topics/{id}/decision",
        "/topics/{id}/similar",
        "/topics/decisions",
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    let app = app().await;
    let (s, served, _) = app.json("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(served["paths"].as_object().unwrap().len(), paths.len());
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// A workbook whose 人员 sheet has one bad phone number in B2.
fn workbook_with_a_bad_phone() -> Vec<u8> {
    let mut b = rust_xlsxwriter::Workbook::new();
    let ws = b.add_worksheet();
    ws.set_name("人员").unwrap();
    for (j, h) in ["姓名", "手机号码", "所属组织编码", "人员类别"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, j as u16, *h).unwrap();
    }
    for (j, v) in ["周某", "123", "360103", "居民代表"].iter().enumerate() {
        ws.write_string(1, j as u16, *v).unwrap();
    }
    b.save_to_buffer().unwrap()
}

fn multipart(boundary: &str, file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn excel_over_the_api_and_the_upload_page() {
    let app = app().await;
    let admin = app.login("admin").await;
    let get = |uri: &str, cookie: &str| {
        Request::get(uri)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap()
    };
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    let (s, h, bytes) = app
        .call_raw(get("/api/v1/excel/template?sheet=people", &admin))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(header(&h, "content-type"), xlsx);
    use calamine::Reader;
    let wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), vec!["人员", "说明"]);
    let (s, body, _) = app
        .json(
            "GET",
            "/api/v1/excel/template?sheet=foo",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["sheet"].is_string());

    // The whole demo district exported and checked back: nothing would change.
    let (s, _, export) = app.call_raw(get("/api/v1/excel/export", &admin)).await;
    assert_eq!(s, StatusCode::OK);
    let post = |uri: &str, cookie: &str, body: Vec<u8>| {
        Request::post(uri)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, xlsx)
            .body(Body::from(body))
            .unwrap()
    };
    let (s, _, text) = app
        .call(post("/api/v1/excel/import?dry_run=true", &admin, export))
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["dry_run"], true);
    let people = report["counts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["sheet"] == "人员")
        .unwrap();
    assert_eq!(people["created"], 0);
    assert_eq!(people["updated"], 0);
    assert!(people["unchanged"].as_u64().unwrap() > 5000);

    let (s, _, text) = app
        .call(post("/api/v1/excel/import", &admin, b"hello".to_vec()))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], "validation_failed");
    assert!(
        v["error"]["fields"]["file"]
            .as_str()
            .unwrap()
            .contains("Excel")
    );

    let (s, _, text) = app
        .call(post(
            "/api/v1/excel/import",
            &admin,
            workbook_with_a_bad_phone(),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], "import_rejected");
    assert_eq!(v["error"]["report"]["errors"][0]["cell"], "B2");
    assert_eq!(v["error"]["report"]["errors"][0]["column"], "手机号码");

    // A body over the 20 MB limit: the envelope, not a bare 413, and no 500.
    let (s, _, text) = app
        .call(post(
            "/api/v1/excel/import",
            &admin,
            vec![b'x'; 21 * 1024 * 1024],
        ))
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"]["code"], "payload_too_large");

    // The upload page: CSRF in the query, the bad cell listed, nothing imported.
    let (_, h, _) = app.call(get("/login", "")).await;
    let csrf = cookie_from(&h, "rt_csrf");
    let token = csrf.split_once('=').unwrap().1.to_string();
    let cookies = format!("{admin}; {csrf}");
    // Declared up front (as browsers do): refused before any handler, still in Chinese.
    let big = 21 * 1024 * 1024;
    let (s, _, html) = app
        .call(
            Request::post(format!("/excel?_csrf={token}"))
                .header(header::COOKIE, &cookies)
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
                .header(header::CONTENT_LENGTH, big)
                .body(Body::from(vec![b'x'; big]))
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(html.contains("上传内容过大"), "{html}");
    let (s, _, html) = app.call(get("/excel", &cookies)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Excel 导入导出") && html.contains("enctype=\"multipart/form-data\""));
    let upload = |token: &str, body: Vec<u8>| {
        Request::post(format!("/excel?_csrf={token}"))
            .header(header::COOKIE, &cookies)
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XyZ")
            .body(Body::from(body))
            .unwrap()
    };
    let before = app
        .json("GET", "/api/v1/people?q=周某", Some(&admin), None)
        .await
        .1["total"]
        .clone();
    let (s, _, html) = app
        .call(upload(
            &token,
            multipart("XyZ", &workbook_with_a_bad_phone()),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("没有导入任何数据") && html.contains("B2"),
        "{html}"
    );
    let (s, _, _) = app
        .call(upload(
            "forged",
            multipart("XyZ", &workbook_with_a_bad_phone()),
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, html) = app
        .call(upload(&token, multipart("XyZ", b"not a workbook")))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("不是有效的 Excel"));
    let (s, _, html) = app
        .call(upload(
            &token,
            multipart("XyZ", &vec![b'x'; 21 * 1024 * 1024]),
        ))
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{html}");
    assert!(html.contains("上传内容过大"));
    let after = app
        .json("GET", "/api/v1/people?q=周某", Some(&admin), None)
        .await
        .1["total"]
        .clone();
    assert_eq!(before, after);

    // A community secretary may export their community; of an import, only 议题 rows.
    let secretary = app.login("secretary").await;
    let (s, _, _) = app.call_raw(get("/api/v1/excel/export", &secretary)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, body) = app
        .call(post(
            "/api/v1/excel/import",
            &secretary,
            workbook_with_a_bad_phone(),
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("无权导入到该组织"), "{body}");
    // A council member may not import at all.
    let council = app.login("council").await;
    let (s, _, _) = app
        .call(post(
            "/api/v1/excel/import",
            &council,
            workbook_with_a_bad_phone(),
        ))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn health_and_readiness_answer_on_this_backend() {
    let app = app().await;
    for uri in ["/healthz", "/readyz"] {
        let (s, _, body) = app
            .call(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        assert_eq!(s, StatusCode::OK, "{uri}: {body}");
    }
}

/// Issue 6 item 5: every answer carries the security headers (no inline script or style
/// allowed, never framed, no sniffing, no referrer leaving the site); HSTS only when served
/// over TLS.
#[tokio::test]
async fn security_headers_on_pages_api_and_errors_hsts_over_tls() {
    let header_of = |h: &[(String, String)], name: &str| {
        h.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    };
    let app = app().await;
    for uri in ["/login", "/api/v1/openapi.json", "/no-such-page", "/p"] {
        let (_, h, _) = app
            .call(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        let csp = header_of(&h, "content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{uri}: {csp}"
        );
        assert_eq!(
            header_of(&h, "x-content-type-options").as_deref(),
            Some("nosniff"),
            "{uri}"
        );
        assert_eq!(
            header_of(&h, "x-frame-options").as_deref(),
            Some("DENY"),
            "{uri}"
        );
        assert_eq!(
            header_of(&h, "referrer-policy").as_deref(),
            Some("same-origin"),
            "{uri}"
        );
        assert_eq!(
            header_of(&h, "strict-transport-security"),
            None,
            "{uri}: plain HTTP"
        );
    }
    let tls = common::app_with(roundtable_web::WebConfig {
        secure_cookies: true,
        ..Default::default()
    })
    .await;
    let (_, h, _) = tls
        .call(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        header_of(&h, "strict-transport-security").as_deref(),
        Some("max-age=31536000")
    );
}
