//! In-process HTTP tests over the real router, on the backend named by ROUNDTABLE_TEST_DB.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use roundtable_store::{Exec, Sql, testing};
use roundtable_web::{AppState, WebConfig, router};
use serde_json::{Value, json};
use tower::ServiceExt;

struct App {
    router: Router,
    db: roundtable_store::Db,
    logins: Vec<(String, String)>,
}

async fn app() -> App {
    let db = testing::fresh_db().await.expect("test database");
    let logins = roundtable_web::demo::seed(&db).await.unwrap().unwrap();
    let state = AppState::new(db.clone(), WebConfig::default()).unwrap();
    App {
        router: router(state),
        db,
        logins: logins
            .into_iter()
            .map(|l| (l.username, l.password))
            .collect(),
    }
}

impl App {
    fn password(&self, user: &str) -> String {
        self.logins
            .iter()
            .find(|(u, _)| u == user)
            .unwrap()
            .1
            .clone()
    }

    async fn call(&self, req: Request<Body>) -> (StatusCode, Vec<(String, String)>, String) {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let body = String::from_utf8(
            resp.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        (status, headers, body)
    }

    async fn json(
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

    /// Logs in through the API and returns the session cookie.
    async fn login(&self, user: &str) -> String {
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

fn cookie_from(headers: &[(String, String)], name: &str) -> String {
    let v = headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with(&format!("{name}=")))
        .map(|(_, v)| v.clone())
        .expect("cookie set");
    v.split(';').next().unwrap().to_string()
}

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
    ] {
        assert!(paths.contains_key(p), "{p} missing from OpenAPI");
    }
    let app = app().await;
    let (s, served, _) = app.json("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(served["paths"].as_object().unwrap().len(), paths.len());
}
