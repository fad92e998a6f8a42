//! Topic intake and screening over HTTP (issue 3), on the backend named by ROUNDTABLE_TEST_DB.

mod common;

use axum::http::StatusCode;
use common::{App, app, app_with, png, post_form, post_multipart};
use roundtable_store::{Exec, Sql};
use roundtable_web::WebConfig;
use serde_json::{Value, json};

async fn topic_count(app: &App) -> i64 {
    app.db
        .pool()
        .fetch_one(Sql::new("SELECT COUNT(*) FROM topics"))
        .await
        .unwrap()
}

/// The community of the demo's community secretary.
async fn secretary_community(app: &App, cookie: &str) -> i64 {
    let (s, me, _) = app.json("GET", "/api/v1/auth/me", Some(cookie), None).await;
    assert_eq!(s, StatusCode::OK);
    me["grants"][0]["org_id"].as_i64().unwrap()
}

fn matter(org_id: i64, title: &str, description: &str) -> Value {
    json!({
        "org_id": org_id, "title": title, "description": description,
        "category": "environment", "submitter_phone": "13912345678", "contact_consent": "1"
    })
}

#[tokio::test]
async fn a_resident_submits_and_follows_the_matter_with_the_tracking_code() {
    let app = app().await;
    let (s, list, _) = app
        .json("GET", "/api/v1/public/communities", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let community = list[0]["id"].as_i64().unwrap();
    assert!(list[0]["street"].as_str().is_some_and(|s| !s.is_empty()));

    let (s, body, _) = app
        .json(
            "POST",
            "/api/v1/public/topics",
            None,
            Some(matter(
                community,
                "楼道堆物<script>alert(1)</script>",
                "3栋楼道堆满纸箱，消防隐患",
            )),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let code = body["tracking_code"].as_str().unwrap().to_string();
    assert!(code.starts_with("XH-"));

    let url = format!("/api/v1/public/topics/{code}");
    let (s, body, _) = app.json("GET", &url, None, None).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a phone was given: its last 4 digits are asked"
    );
    assert!(body["error"]["fields"]["phone_last4"].is_string());
    let (s, body, _) = app
        .json("GET", &format!("{url}?phone_last4=0000"), None, None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, body, _) = app
        .json(
            "GET",
            &format!(
                "{}?phone_last4=5678",
                url.to_lowercase()
                    .replace("/api/v1/public/topics/xh", "/api/v1/public/topics/XH")
            ),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["status_label"], "待筛选");
    assert_eq!(
        body["title"], "楼道堆物<script>alert(1)</script>",
        "stored as text"
    );
    assert_eq!(body["history"].as_array().unwrap().len(), 1);
    assert!(
        !body.to_string().contains("13912345678"),
        "no personal data in public"
    );

    for forged in ["XH-AAAA-AAAA-AA", "%3Cscript%3E", "XH-4K7M-9QRT-WC"] {
        let (s, body, _) = app
            .json(
                "GET",
                &format!("/api/v1/public/topics/{forged}"),
                None,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{forged}");
        assert_eq!(body["error"]["code"], "not_found");
    }

    // Bad input: named fields, nothing stored.
    let before = topic_count(&app).await;
    let long = "很".repeat(10_000);
    for (body, field) in [
        (
            json!({"org_id": community, "title": "", "description": "x", "category": "environment"}),
            "title",
        ),
        (
            json!({"org_id": community, "title": "t", "description": long, "category": "environment"}),
            "description",
        ),
        (
            json!({"org_id": community, "title": "t", "description": "d", "category": "天气类"}),
            "category",
        ),
        (
            json!({"org_id": community, "title": "t", "description": "d", "category": "other"}),
            "category_reason",
        ),
        (
            json!({"org_id": 999999, "title": "t", "description": "d", "category": "safety"}),
            "org_id",
        ),
        (
            json!({"org_id": 1, "title": "t", "description": "d", "category": "safety"}),
            "org_id",
        ),
        (
            json!({"org_id": community, "title": "t", "description": "d", "category": "safety", "submitter_phone": "12345"}),
            "submitter_phone",
        ),
    ] {
        let (s, r, _) = app
            .json("POST", "/api/v1/public/topics", None, Some(body))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {r}");
        assert!(r["error"]["fields"][field].is_string(), "{field}: {r}");
    }
    let (s, _, _) = app
        .json(
            "POST",
            "/api/v1/public/topics",
            None,
            Some(json!({"org_id": "abc"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A bot filling the hidden field gets an answer and stores nothing.
    let mut bot = matter(community, "广告", "点击链接");
    bot["website"] = json!("http://spam.example");
    let (s, _, _) = app
        .json("POST", "/api/v1/public/topics", None, Some(bot))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(topic_count(&app).await, before);
}

#[tokio::test]
async fn a_flood_from_one_address_gets_429() {
    let app = app_with(WebConfig {
        portal_per_hour: 3,
        ..WebConfig::default()
    })
    .await;
    let (_, list, _) = app
        .json("GET", "/api/v1/public/communities", None, None)
        .await;
    let community = list[0]["id"].as_i64().unwrap();
    let before = topic_count(&app).await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let mut m = matter(community, &format!("路灯不亮{i}"), "晚上出行不便");
        m["submitter_phone"] = Value::Null;
        let (s, body, _) = app
            .json("POST", "/api/v1/public/topics", None, Some(m))
            .await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["error"]["code"], "rate_limited");
        }
        statuses.push(s.as_u16());
    }
    assert_eq!(statuses, vec![201, 201, 201, 429, 429]);
    assert_eq!(topic_count(&app).await, before + 3);
}

#[tokio::test]
async fn staff_screen_merge_and_reject_with_reasons_r_top_3_r_top_5() {
    let app = app().await;
    let secretary = app.login("secretary").await;
    let community = secretary_community(&app, &secretary).await;

    // Staff intake: a top-down channel needs its collector.
    let (s, body, _) = app
        .json(
            "POST",
            "/api/v1/topics",
            Some(&secretary),
            Some(json!({"org_id": community, "title": "加装电梯", "description": "老楼没有电梯，六楼老人下楼难", "category": "living_care", "channel": "home_visit"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["collector_person_id"].is_string());
    // A visit written up later keeps the day it was collected; never a day to come.
    let tomorrow = (roundtable_web::render::today() + chrono::Duration::days(1)).to_string();
    for (bad, message) in [("2026-13-01", "日期"), (tomorrow.as_str(), "不能晚于今天")] {
        let (s, body, _) = app
            .json(
                "POST",
                "/api/v1/topics",
                Some(&secretary),
                Some(json!({"org_id": community, "title": "路灯不亮", "description": "北门路灯坏了", "category": "safety", "channel": "hotline", "collected_on": bad})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let field = body["error"]["fields"]["collected_on"]
            .as_str()
            .unwrap_or_default();
        assert!(field.contains(message), "{body}");
    }
    let (s, late, _) = app
        .json(
            "POST",
            "/api/v1/topics",
            Some(&secretary),
            Some(json!({"org_id": community, "title": "路灯不亮", "description": "北门路灯坏了", "category": "safety", "channel": "hotline", "collected_on": "2026-11-20"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{late}");
    assert_eq!(late["collected_on"], "2026-11-20");
    let (s, staff_topic, _) = app
        .json(
            "POST",
            "/api/v1/topics",
            Some(&secretary),
            Some(json!({"org_id": community, "title": "楼道杂物堆放", "description": "楼道杂物堆放严重，堵塞消防通道", "category": "safety", "channel": "hotline", "submitter_phone": "13800002222"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{staff_topic}");
    assert_eq!(staff_topic["direction"], "bottom_up");
    assert_eq!(
        staff_topic["submitter_phone"], "13800002222",
        "the secretary may see it"
    );
    let a = staff_topic["id"].as_i64().unwrap();

    let submit = |m: Value| {
        let app = &app;
        async move {
            let (s, body, _) = app
                .json("POST", "/api/v1/public/topics", None, Some(m))
                .await;
            assert_eq!(s, StatusCode::CREATED);
            body["tracking_code"].as_str().unwrap().to_string()
        }
    };
    let code_b = submit(matter(
        community,
        "楼道里堆满杂物",
        "3栋楼道里堆满了纸箱和旧家具，着火了跑不出去",
    ))
    .await;
    let code_c = submit(matter(community, "邻居占用车位", "我家车位被邻居占了")).await;
    let id_of = |code: String| {
        let app = &app;
        async move {
            app.db
                .pool()
                .fetch_one::<i64>(Sql::with(
                    "SELECT id FROM topics WHERE tracking_code = $1",
                    vec![code.into()],
                ))
                .await
                .unwrap()
        }
    };
    let b = id_of(code_b.clone()).await;
    let c = id_of(code_c.clone()).await;

    // R-TOP-5: the matter about the same stairs is suggested, the parking one is not.
    let (s, sims, _) = app
        .json(
            "GET",
            &format!("/api/v1/topics/{b}/similar"),
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<i64> = sims
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["topic"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.first(), Some(&a), "{sims}");
    assert!(!ids.contains(&c));

    let decide = |id: i64, body: Value| {
        let app = &app;
        let secretary = secretary.clone();
        async move {
            app.json(
                "POST",
                &format!("/api/v1/topics/{id}/decision"),
                Some(&secretary),
                Some(body),
            )
            .await
        }
    };
    let (s, _, _) = decide(
        a,
        json!({"action": "accept", "public_note": "已受理，将提交本月圆桌会"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body, _) = decide(a, json!({"action": "accept"})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "accepted twice: {body}"
    );
    let (s, body, _) = decide(b, json!({"action": "merge", "into": b})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["into"].is_string());
    let (s, merged, _) = decide(b, json!({"action": "merge", "into": a})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(merged["status"], "merged");
    // The resident of b sees the surviving matter's status.
    let (s, public_b, _) = app
        .json(
            "GET",
            &format!("/api/v1/public/topics/{code_b}?phone_last4=5678"),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(public_b["status"], "accepted", "{public_b}");
    let (_, detail, _) = app
        .json(
            "GET",
            &format!("/api/v1/topics/{a}"),
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(detail["sources"][0]["id"], b);

    // R-TOP-3: a personal appeal is screened out and referred.
    let (s, body, _) = decide(c, json!({"action": "reject", "reason": "personal"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["referred_to"].is_string());
    let (s, _, _) = decide(
        c,
        json!({"action": "reject", "reason": "personal", "referred_to": "物业公司", "public_note": "属于个人诉求，已转物业公司处理"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, public_c, _) = app
        .json(
            "GET",
            &format!("/api/v1/public/topics/{code_c}?phone_last4=5678"),
            None,
            None,
        )
        .await;
    assert_eq!(public_c["status_label"], "不予受理");
    assert_eq!(
        public_c["history"][1]["note"],
        "属于个人诉求，已转物业公司处理"
    );

    // The screening list: words (segmented) and status, in the secretary's scope.
    let (s, found, _) = app
        .json(
            "GET",
            "/api/v1/topics?q=%E6%A5%BC%E9%81%93%E6%9D%82%E7%89%A9&status=accepted",
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{found}");
    let items = found["items"].as_array().unwrap();
    assert!(items.iter().any(|t| t["id"] == a), "{found}");
    assert!(items.iter().all(|t| t["status"] == "accepted"
        && t["org_id"] == community
        && (t["title"].as_str().unwrap().contains("楼道")
            || t["description"].as_str().unwrap().contains("楼道"))));
    let (s, body, _) = app
        .json(
            "GET",
            "/api/v1/topics?status=flying",
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["status"].is_string());

    // Another community's secretary scope: a topic elsewhere is not theirs to decide.
    let (_, list, _) = app
        .json("GET", "/api/v1/public/communities", None, None)
        .await;
    let other = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .find(|id| *id != community)
        .unwrap();
    let code_d = submit(matter(other, "路灯不亮", "北门路灯不亮")).await;
    let d = id_of(code_d).await;
    let (s, _, _) = decide(d, json!({"action": "accept"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = app
        .json(
            "GET",
            &format!("/api/v1/topics/{d}"),
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn get_page(
    app: &App,
    uri: &str,
    cookies: &str,
) -> (StatusCode, Vec<(String, String)>, String) {
    app.call(
        axum::http::Request::get(uri)
            .header(axum::http::header::COOKIE, cookies)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn the_portal_and_the_screening_desk_pages() {
    let app = app().await;
    let (s, h, html) = get_page(&app, "/p", "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("所在社区") && html.contains("<optgroup"),
        "{html}"
    );
    assert!(!html.contains("<script"), "the portal needs no JavaScript");
    let csrf = common::cookie_from(&h, "rt_csrf");
    let token = csrf.split_once('=').unwrap().1.to_string();
    let (_, list, _) = app
        .json("GET", "/api/v1/public/communities", None, None)
        .await;
    let community = list[0]["id"].as_i64().unwrap().to_string();

    // Errors keep what was typed and name the field.
    let portal = format!("/p?_csrf={token}");
    let (s, _, html) = post_multipart(
        &app,
        &portal,
        &csrf,
        &[
            ("org_id", &community),
            ("title", "路灯不亮"),
            ("description", ""),
            ("category", "safety"),
        ],
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请填写内容") && html.contains("路灯不亮"));
    let fields = [
        ("org_id", community.as_str()),
        ("title", "路灯不亮"),
        ("description", "北门路灯坏了一个月"),
        ("category", "safety"),
        ("submitter_phone", "13911112222"),
        ("contact_consent", "1"),
        ("website", ""),
    ];
    // Photos are checked by content and counted.
    let (s, _, html) = post_multipart(
        &app,
        &portal,
        &csrf,
        &fields,
        &[b"<script>x</script>".to_vec()],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("第1张不是照片") && html.contains("北门路灯坏了一个月"));
    let six = vec![png(); 6];
    let (s, _, html) = post_multipart(&app, &portal, &csrf, &fields, &six).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("最多上传5张照片"));
    let (s, _, html) = post_multipart(&app, &portal, &csrf, &fields, &[png()]).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let code = html
        .split("id=\"tracking-code\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_string();
    let (s, _, html) = get_page(&app, &format!("/p/track?code={code}&phone_last4=2222"), "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("待筛选") && html.contains("路灯不亮"));
    let (s, _, html) = get_page(&app, "/p/track?code=XH-AAAA-AAAA-AA", "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(html.contains("没有找到这个查询码"));

    // The screening desk of the community's secretary.
    let secretary = app.login("secretary").await;
    let cookies = format!("{secretary}; {csrf}");
    let portal_topic: i64 = app
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT id FROM topics WHERE tracking_code = $1",
            vec![code.clone().into()],
        ))
        .await
        .unwrap();
    let (_, detail, _) = app
        .json(
            "GET",
            &format!("/api/v1/topics/{portal_topic}"),
            Some(&secretary),
            None,
        )
        .await;
    // The portal lists the demo secretary's community first.
    assert_eq!(
        detail["topic"]["org_id"].as_i64(),
        Some(secretary_community(&app, &secretary).await)
    );
    let (_, _, html) = get_page(&app, &format!("/topics/{portal_topic}"), &cookies).await;
    let src = html
        .split("<img src=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the photo's thumbnail is shown")
        .to_string();
    let (s, h, _) = app
        .call_raw(
            axum::http::Request::get(&src)
                .header(axum::http::header::COOKIE, &cookies)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h.iter()
            .any(|(k, v)| k == "content-type" && v == "image/jpeg")
    );
    let (s, _, _) = app
        .call_raw(
            axum::http::Request::get(&src)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "photos need a login");

    let own = secretary_community(&app, &secretary).await.to_string();
    let (s, _, html) = get_page(&app, "/topics", &cookies).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("议题筛选"));
    let (s, _, html) = get_page(&app, "/topics/new", &cookies).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("保存并录入下一条"));
    // Staff intake is multipart too: a photo taken on the visit comes along.
    let intake = format!("/topics/new?_csrf={token}");
    let (s, _, html) = post_multipart(
        &app,
        &intake,
        &cookies,
        &[("org_id", &own), ("channel", "hotline"), ("title", "")],
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请填写标题"));
    let (s, h, _) = post_multipart(
        &app,
        &intake,
        &cookies,
        &[
            ("org_id", &own),
            ("channel", "hotline"),
            ("title", "小区垃圾清运不及时"),
            ("description", "垃圾桶满了也没人收"),
            ("category", "environment"),
            ("next", "1"),
        ],
        &[png()],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let location = h.iter().find(|(k, _)| k == "location").unwrap().1.clone();
    assert!(location.starts_with("/topics/new?saved=XH-"), "{location}");
    let (_, _, html) = get_page(&app, &location, &cookies).await;
    assert!(html.contains("已保存，查询码"));
    let (_, found, _) = app
        .json(
            "GET",
            "/api/v1/topics?status=pending",
            Some(&secretary),
            None,
        )
        .await;
    let id = found["items"][0]["id"].as_i64().unwrap();
    let (s, _, html) = get_page(&app, &format!("/topics/{id}"), &cookies).await;
    assert!(
        html.contains(&format!("/topics/{id}/photos/")),
        "the photo is shown"
    );
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("不予受理") && html.contains("办理记录"));
    let (s, _, html) = post_form(
        &app,
        &format!("/topics/{id}/decision"),
        &cookies,
        &token,
        &[("action", "reject"), ("reason", "personal")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("个人诉求须注明转交"));
    let (s, _, _) = post_form(
        &app,
        &format!("/topics/{id}/decision"),
        &cookies,
        &token,
        &[("action", "accept"), ("public_note", "已受理")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = get_page(&app, &format!("/topics/{id}"), &cookies).await;
    assert!(html.contains("已受理"));
    // The community's printable QR poster points at the portal with the community preset.
    let (s, _, html) = get_page(&app, &format!("/topics/poster/{own}"), &cookies).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<svg") && html.contains(&format!("/p?c={own}")),
        "{html}"
    );
    let (_, _, html) = get_page(&app, &format!("/p?c={own}"), "").await;
    assert!(html.contains(&format!("value=\"{own}\" selected")));
    let (s, _, _) = post_form(
        &app,
        &format!("/topics/{id}/decision"),
        &cookies,
        "forged",
        &[("action", "finish")],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn concurrent_submissions_all_land() {
    // SQLite write transactions take the lock at BEGIN: none fails with "database is locked".
    let app = app_with(WebConfig {
        portal_per_hour: 0,
        ..WebConfig::default()
    })
    .await;
    let (_, list, _) = app
        .json("GET", "/api/v1/public/communities", None, None)
        .await;
    let community = list[0]["id"].as_i64().unwrap();
    let before = topic_count(&app).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut m = matter(community, &format!("楼道杂物{i}"), "楼道里堆满纸箱");
            m["submitter_phone"] = Value::Null;
            app.json("POST", "/api/v1/public/topics", None, Some(m))
                .await
                .0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    assert_eq!(topic_count(&app).await, before + 24);
}

#[tokio::test]
async fn r_top_4_reclassify_and_take_over_by_level() {
    let app = app().await;
    let secretary = app.login("secretary").await;
    let street = app.login("street").await;
    let community = secretary_community(&app, &secretary).await;
    let create = |title: &str| {
        let app = &app;
        let secretary = secretary.clone();
        let body = json!({"org_id": community, "title": title, "description": "老楼没有电梯，六楼老人下楼难", "category": "living_care", "channel": "hotline"});
        async move {
            let (s, t, _) = app
                .json("POST", "/api/v1/topics", Some(&secretary), Some(body))
                .await;
            assert_eq!(s, StatusCode::CREATED);
            t["id"].as_i64().unwrap()
        }
    };
    let a = create("加装电梯").await;
    let b = create("楼道照明").await;
    let decide = |cookie: &str, id: i64, body: Value| {
        let app = &app;
        let cookie = cookie.to_string();
        async move {
            app.json(
                "POST",
                &format!("/api/v1/topics/{id}/decision"),
                Some(&cookie),
                Some(body),
            )
            .await
        }
    };
    // The street administrator sees the community's matters but does not screen them…
    let (s, _, _) = decide(&street, a, json!({"action": "accept"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // …until the community hands one up to the street level.
    let (s, body, _) = decide(
        &secretary,
        a,
        json!({"action": "classify", "category": "other", "level": "street"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["category_reason"].is_string());
    let (s, t, _) = decide(&secretary, a, json!({"action": "classify", "category": "living_care", "level": "street", "internal_note": "需街道协调资金"})).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["level"], "street");
    let (s, _, _) = decide(
        &street,
        a,
        json!({"action": "accept", "public_note": "街道已接手"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, detail, _) = app
        .json("GET", &format!("/api/v1/topics/{a}"), Some(&street), None)
        .await;
    let notes: Vec<String> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["internal_note"].as_str().map(str::to_string))
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("层级：社区/村级 → 街道/镇级") && n.contains("需街道协调资金")),
        "{notes:?}"
    );
    let (s, _, _) = decide(
        &street,
        b,
        json!({"action": "classify", "category": "safety", "level": "street"}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a community-level matter stays with the community"
    );
    let (s, body, _) = decide(
        &secretary,
        b,
        json!({"action": "classify", "category": "safety", "level": "city"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["level"].is_string());
}

#[tokio::test]
async fn bulk_decisions_are_all_or_nothing() {
    let app = app().await;
    let secretary = app.login("secretary").await;
    let community = secretary_community(&app, &secretary).await;
    let mut ids = Vec::new();
    for title in ["垃圾清运不及时", "健身器材损坏", "邻居占用车位"] {
        let (s, t, _) = app
            .json(
                "POST",
                "/api/v1/topics",
                Some(&secretary),
                Some(json!({"org_id": community, "title": title, "description": title, "category": "environment", "channel": "hotline"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        ids.push(t["id"].as_i64().unwrap());
    }
    let status = |id: i64| {
        let app = &app;
        let secretary = secretary.clone();
        async move {
            app.json(
                "GET",
                &format!("/api/v1/topics/{id}"),
                Some(&secretary),
                None,
            )
            .await
            .1["topic"]["status"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (s, r, _) = app
        .json(
            "POST",
            "/api/v1/topics/decisions",
            Some(&secretary),
            Some(json!({"ids": [ids[0], ids[1]], "action": "accept"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["updated"], 2);
    // The second of these is already accepted: nothing of the batch is applied.
    let (s, r, _) = app
        .json(
            "POST",
            "/api/v1/topics/decisions",
            Some(&secretary),
            Some(json!({"ids": [ids[2], ids[0]], "action": "accept"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r["error"]["fields"]["ids"]
            .as_str()
            .unwrap()
            .contains(&format!("议题 {}", ids[0])),
        "{r}"
    );
    assert_eq!(status(ids[2]).await, "pending");
    let (s, _, _) = app
        .json(
            "POST",
            "/api/v1/topics/decisions",
            Some(&secretary),
            Some(json!({"ids": [], "action": "accept"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The same from the desk's form.
    let (_, h, _) = get_page(&app, "/login", "").await;
    let csrf = common::cookie_from(&h, "rt_csrf");
    let token = csrf.split_once('=').unwrap().1.to_string();
    let cookies = format!("{secretary}; {csrf}");
    let id = ids[2].to_string();
    let (s, _, html) = post_form(
        &app,
        "/topics/decisions",
        &cookies,
        &token,
        &[("ids", &id), ("action", "reject"), ("reason", "personal")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains(&format!("议题 {id}")) && html.contains("均未处理"),
        "{html}"
    );
    let (s, h, _) = post_form(
        &app,
        "/topics/decisions",
        &cookies,
        &token,
        &[
            ("ids", &id),
            ("action", "reject"),
            ("reason", "personal"),
            ("referred_to", "物业公司"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let location = h.iter().find(|(k, _)| k == "location").unwrap().1.clone();
    assert_eq!(location, "/topics?done=1");
    let (_, _, html) = get_page(&app, &location, &cookies).await;
    assert!(html.contains("已处理 1 个议题"));
    assert_eq!(status(ids[2]).await, "rejected");
}

#[tokio::test]
async fn photos_follow_a_submission_through_the_api() {
    let app = app().await;
    let (_, list, _) = app
        .json("GET", "/api/v1/public/communities", None, None)
        .await;
    let community = list[0]["id"].as_i64().unwrap();
    let mut m = matter(community, "外墙瓷砖脱落", "6栋外墙瓷砖脱落");
    m["submitter_phone"] = Value::Null;
    let (_, body, _) = app
        .json("POST", "/api/v1/public/topics", None, Some(m))
        .await;
    let code = body["tracking_code"].as_str().unwrap().to_string();
    let upload = |code: String, photos: Vec<Vec<u8>>| {
        let app = &app;
        async move {
            let mut body = Vec::new();
            for p in &photos {
                body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n");
                body.extend_from_slice(p);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"--XyZ--\r\n");
            let (s, _, text) = app
                .call(
                    axum::http::Request::post(format!("/api/v1/public/topics/{code}/photos"))
                        .header(
                            axum::http::header::CONTENT_TYPE,
                            "multipart/form-data; boundary=XyZ",
                        )
                        .body(axum::body::Body::from(body))
                        .unwrap(),
                )
                .await;
            (
                s,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let (s, r) = upload(code.clone(), vec![png(), png()]).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["photos"], 2);
    let (s, r) = upload(code.clone(), vec![b"GIF89a not allowed".to_vec()]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r["error"]["fields"]["photos"]
            .as_str()
            .unwrap()
            .contains("不是照片")
    );
    let (s, r) = upload(code.clone(), vec![png(); 4]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "2 + 4 > 5: {r}");
    let (s, _) = upload("XH-AAAA-AAAA-AA".into(), vec![png()]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let photos: i64 = app
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT COUNT(*) FROM topic_photos p JOIN topics t ON t.id = p.topic_id WHERE t.tracking_code = $1",
            vec![code.into()],
        ))
        .await
        .unwrap();
    assert_eq!(photos, 2, "rejected uploads store nothing");
}
