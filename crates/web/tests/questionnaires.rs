//! Questionnaires over HTTP (issue 3 item 8): built, published, answered without an account,
//! counted, exported and turned into topics — on the backend named by ROUNDTABLE_TEST_DB.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{App, app, app_with, cookie_from, post_form};
use roundtable_store::{Exec, Sql};
use roundtable_web::WebConfig;
use serde_json::{Value, json};

async fn count(app: &App, table: &str) -> i64 {
    // The demo's own questionnaire (and its answers) are not this test's.
    let filter = match table {
        "questionnaires" => " WHERE public_code <> 'd3e000000001'",
        "questionnaire_questions" | "questionnaire_responses" => {
            " WHERE questionnaire_id NOT IN (SELECT id FROM questionnaires WHERE public_code = 'd3e000000001')"
        }
        _ => "",
    };
    app.db
        .pool()
        .fetch_one(Sql::new(&format!("SELECT COUNT(*) FROM {table}{filter}")))
        .await
        .unwrap()
}

async fn community_of(app: &App, cookie: &str) -> i64 {
    let (_, me, _) = app.json("GET", "/api/v1/auth/me", Some(cookie), None).await;
    me["grants"][0]["org_id"].as_i64().unwrap()
}

fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn parking_survey(org_id: i64) -> Value {
    json!({
        "org_id": org_id,
        "title": "小区停车情况调查<script>alert(1)</script>",
        "intro": "为在圆桌会上商量停车位划线，请您花一分钟填写。",
        "category": "environment",
        "opens_on": today().to_string(),
        "closes_on": (today() + chrono::Duration::days(14)).to_string(),
        "questions": [
            {"kind": "single", "prompt": "您家有几辆车？", "required": true, "options": ["没有", "1辆", "2辆及以上"]},
            {"kind": "multiple", "prompt": "停车最难的时段？", "required": false, "options": ["早上", "白天", "晚上"]},
            {"kind": "text", "prompt": "您对停车有什么建议？", "required": false},
            {"kind": "rating", "prompt": "对现在的停车秩序打分", "required": true}
        ]
    })
}

/// A published questionnaire of the secretary's community: (id, public code).
async fn published(app: &App, secretary: &str) -> (i64, String) {
    let org = community_of(app, secretary).await;
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/questionnaires",
            Some(secretary),
            Some(parking_survey(org)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/questionnaires/{id}/publish"),
            Some(secretary),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    (id, v["public_code"].as_str().unwrap().to_string())
}

async fn answer(app: &App, code: &str, body: Value) -> (StatusCode, Value) {
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/public/questionnaires/{code}/responses"),
            None,
            Some(body),
        )
        .await;
    (s, v)
}

#[tokio::test]
async fn the_builder_refuses_bad_questionnaires_and_stores_nothing() {
    let app = app().await;
    let secretary = app.login("secretary").await;
    let org = community_of(&app, &secretary).await;
    let mut bad = parking_survey(org);
    bad["title"] = json!("");
    bad["category"] = json!("parking");
    bad["closes_on"] = json!("2020-13-01");
    bad["questions"][0]["options"] = json!(["只有一个"]);
    bad["questions"][1]["kind"] = json!("ranking");
    bad["questions"][2]["prompt"] = json!("x".repeat(10_000));
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/questionnaires",
            Some(&secretary),
            Some(bad),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields = &v["error"]["fields"];
    for f in [
        "title",
        "category",
        "closes_on",
        "questions[1].options",
        "questions[2].kind",
        "questions[3].prompt",
    ] {
        assert!(fields[f].is_string(), "{f} is named: {v}");
    }
    // A street node is not a community; another street's community is out of reach.
    let street = app.login("street").await;
    let street_org = community_of(&app, &street).await;
    let mut at_street = parking_survey(street_org);
    at_street["questions"] = json!([]);
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/questionnaires",
            Some(&secretary),
            Some(at_street),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["org_id"].is_string(), "{v}");
    assert_eq!(count(&app, "questionnaires").await, 0);
    assert_eq!(count(&app, "questionnaire_questions").await, 0);

    // Publishing needs questions; a published one cannot be changed.
    let mut empty = parking_survey(org);
    empty["questions"] = json!([]);
    let (_, v, _) = app
        .json(
            "POST",
            "/api/v1/questionnaires",
            Some(&secretary),
            Some(empty),
        )
        .await;
    let id = v["id"].as_i64().unwrap();
    let publish = format!("/api/v1/questionnaires/{id}/publish");
    let (s, v, _) = app.json("POST", &publish, Some(&secretary), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["questions"].is_string());
    let (s, _, _) = app
        .json(
            "PUT",
            &format!("/api/v1/questionnaires/{id}"),
            Some(&secretary),
            Some(parking_survey(org)),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = app.json("POST", &publish, Some(&secretary), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v, _) = app
        .json(
            "PUT",
            &format!("/api/v1/questionnaires/{id}"),
            Some(&secretary),
            Some(parking_survey(org)),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["status"].is_string());
    let (s, _, _) = app.json("POST", &publish, Some(&secretary), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "published twice");
    assert_eq!(count(&app, "questionnaire_questions").await, 4);
}

#[tokio::test]
async fn residents_answer_once_and_staff_see_counts_export_and_topics() {
    let app = app().await;
    let secretary = app.login("secretary").await;
    let (id, code) = published(&app, &secretary).await;

    // The public view: questions, no ids, title as text.
    let (s, q, _) = app
        .json(
            "GET",
            &format!("/api/v1/public/questionnaires/{code}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(q["questions"].as_array().unwrap().len(), 4);
    assert!(q["closed_reason"].is_null());
    let (s, _, _) = app
        .json(
            "GET",
            "/api/v1/public/questionnaires/000000000000",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a forged code");

    // Bad answers: each question named, nothing stored.
    let (s, v) = answer(
        &app,
        &code,
        json!({"device_id": "wx-1", "answers": {"1": [1, 2], "2": [7], "3": "x".repeat(1001), "9": 1}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    for f in ["q1", "q2", "q3", "q4", "q9"] {
        assert!(v["error"]["fields"][f].is_string(), "{f}: {v}");
    }
    let (s, v) = answer(&app, &code, json!({"answers": {"1": 1, "4": 5}})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["device_id"].is_string());
    assert_eq!(count(&app, "questionnaire_responses").await, 0);

    // Three residents.
    for (device, phone, body) in [
        (
            "wx-1",
            Some("13900000001"),
            json!({"1": 2, "2": [1, 3], "3": "晚上回来没有车位<b>急</b>", "4": 2}),
        ),
        ("wx-2", None, json!({"1": "3", "2": ["3"], "4": "4"})),
        ("wx-3", None, json!({"1": 1, "4": 5})),
    ] {
        let (s, v) = answer(
            &app,
            &code,
            json!({"device_id": device, "phone": phone, "answers": body}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // The same device, or the same phone from another device: refused.
    let (s, v) = answer(
        &app,
        &code,
        json!({"device_id": "wx-1", "answers": {"1": 1, "4": 1}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["error"]["fields"]["questionnaire"]
            .as_str()
            .unwrap()
            .contains("已经填写过")
    );
    let (s, _) = answer(
        &app,
        &code,
        json!({"device_id": "wx-9", "phone": "139-0000-0001", "answers": {"1": 1, "4": 1}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&app, "questionnaire_responses").await, 3);

    // Counts.
    let (s, r, _) = app
        .json(
            "GET",
            &format!("/api/v1/questionnaires/{id}/results"),
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["responses"], 3);
    let q1 = &r["questions"][0]["tally"];
    assert_eq!(q1["answered"], 3);
    assert_eq!(
        q1["counts"],
        json!([["没有", 1], ["1辆", 1], ["2辆及以上", 1]])
    );
    let q2 = &r["questions"][1]["tally"];
    assert_eq!(
        q2["answered"], 2,
        "a multiple choice counts once per response"
    );
    assert_eq!(q2["counts"], json!([["早上", 1], ["白天", 0], ["晚上", 2]]));
    assert_eq!(r["questions"][3]["tally"]["mean"], json!(3.67));
    let text = &r["questions"][2]["texts"][0];
    assert_eq!(text["phone"], "13900000001", "the secretary may see it");
    let answer_id = text["id"].as_i64().unwrap();
    // A council member reads the results masked, and may neither export nor make topics.
    let council = app.login("council").await;
    let (s, r2, _) = app
        .json(
            "GET",
            &format!("/api/v1/questionnaires/{id}/results"),
            Some(&council),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r2["questions"][2]["texts"][0]["phone"], "139****0001");
    for (method, url) in [
        ("GET", format!("/api/v1/questionnaires/{id}/export")),
        (
            "POST",
            format!("/api/v1/questionnaires/{id}/answers/{answer_id}/topic"),
        ),
    ] {
        let (s, _, _) = app.json(method, &url, Some(&council), None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {url}");
    }

    // The results page: a chart beside each table, the text shown as text.
    let (s, _, html) = app
        .call(
            Request::get(format!("/questionnaires/{id}/results"))
                .header(header::COOKIE, &secretary)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<svg") && html.contains("2辆及以上"));
    assert!(html.contains("&lt;b&gt;急") && !html.contains("<b>急"));
    assert!(!html.contains("<script>alert"));

    // The export: one row per response, counts per option, masked phones, a watermark.
    let (s, headers, bytes) = app
        .call_raw(
            Request::get(format!("/api/v1/questionnaires/{id}/export"))
                .header(header::COOKIE, &secretary)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "content-type" && v.contains("spreadsheetml"))
    );
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let answers = book.worksheet_range("答卷").unwrap();
    assert_eq!(answers.height(), 4, "header and three responses");
    let first: Vec<String> = answers
        .rows()
        .nth(1)
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(first[2], "13900000001");
    assert_eq!(first[3], "1辆");
    assert_eq!(first[4], "早上；晚上");
    let stats = book.worksheet_range("统计").unwrap();
    let flat: Vec<String> = stats.rows().flatten().map(|c| c.to_string()).collect();
    assert!(flat.iter().any(|c| c.starts_with("导出人：")));
    assert!(flat.iter().any(|c| c == "平均分"));

    // A text answer becomes a topic, once.
    let topics_before = count(&app, "topics").await;
    let url = format!("/api/v1/questionnaires/{id}/answers/{answer_id}/topic");
    let (s, t, _) = app.json("POST", &url, Some(&secretary), None).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["channel"], "questionnaire");
    assert_eq!(t["direction"], "bottom_up");
    assert_eq!(t["status"], "pending");
    assert_eq!(t["category"], "environment");
    assert!(
        t["description"]
            .as_str()
            .unwrap()
            .contains("晚上回来没有车位")
    );
    let (s, _, _) = app.json("POST", &url, Some(&secretary), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(&app, "topics").await, topics_before + 1);

    // Closed: no more answers.
    let (s, _, _) = app
        .json(
            "POST",
            &format!("/api/v1/questionnaires/{id}/close"),
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = answer(
        &app,
        &code,
        json!({"device_id": "wx-4", "answers": {"1": 1, "4": 1}}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["questionnaire"], "问卷已结束");
}

/// A GET of a page with the given cookies: status, headers, body.
async fn get_page(
    app: &App,
    uri: &str,
    cookies: &str,
) -> (StatusCode, Vec<(String, String)>, String) {
    app.call(
        Request::get(uri)
            .header(header::COOKIE, cookies)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn location(headers: &[(String, String)]) -> String {
    headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn built_on_pages_and_answered_on_a_phone_without_an_account() {
    let app = app_with(WebConfig {
        questionnaire_per_hour: 1,
        ..WebConfig::default()
    })
    .await;
    let session = app.login("staff").await;
    let (_, h, _) = get_page(&app, "/questionnaires/new", &session).await;
    let csrf = cookie_from(&h, "rt_csrf");
    let token = csrf.trim_start_matches("rt_csrf=").to_string();
    let cookies = format!("{session}; {csrf}");
    let org = community_of(&app, &session).await.to_string();
    let (opens, closes) = (
        today().to_string(),
        (today() + chrono::Duration::days(7)).to_string(),
    );

    // The header, with an error first.
    let header_fields = |title: &'static str| {
        vec![
            ("org_id", org.clone()),
            ("title", title.to_string()),
            ("category", "safety".to_string()),
            ("opens_on", opens.clone()),
            ("closes_on", closes.clone()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| -> Vec<(&'static str, String)> { v.clone() };
    let fields = as_refs(&header_fields(""));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, html) = post_form(&app, "/questionnaires", &cookies, &token, &pairs).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请填写问卷标题"));
    let fields = header_fields("电梯加装意愿调查");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, h, _) = post_form(&app, "/questionnaires", &cookies, &token, &pairs).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let page = location(&h);
    let id: i64 = page.rsplit('/').next().unwrap().parse().unwrap();

    // Questions one at a time: a choice question without options is refused, named.
    let add = format!("{page}/questions");
    let (s, _, html) = post_form(
        &app,
        &add,
        &cookies,
        &token,
        &[
            ("kind", "single"),
            ("prompt", "您住几楼？"),
            ("options", ""),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("至少要有2个选项"));
    for (kind, prompt, options) in [
        ("single", "您住几楼？", "1-3楼\n4-6楼\n7楼以上"),
        ("text", "您的顾虑", ""),
        ("rating", "加装电梯有多迫切", ""),
    ] {
        let (s, _, _) = post_form(
            &app,
            &add,
            &cookies,
            &token,
            &[
                ("kind", kind),
                ("prompt", prompt),
                ("options", options),
                ("required", "1"),
            ],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER);
    }
    // Move the rating up, delete the text question.
    for op in ["3/up", "3/delete"] {
        let (s, _, _) = post_form(
            &app,
            &format!("{page}/questions/{op}"),
            &cookies,
            &token,
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{op}");
    }
    let (_, v, _) = app
        .json(
            "GET",
            &format!("/api/v1/questionnaires/{id}"),
            Some(&session),
            None,
        )
        .await;
    let prompts: Vec<&str> = v["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(prompts, ["您住几楼？", "加装电梯有多迫切"]);

    let (s, _, _) = post_form(&app, &format!("{page}/publish"), &cookies, &token, &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, html) = get_page(&app, &page, &cookies).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<svg"), "the QR code of the link");
    let code = v["public_code"].as_str().unwrap().to_string();
    assert!(html.contains(&code), "the link is shown");

    // A resident's phone: the page sets a device cookie; the form posts without JavaScript.
    let (s, h, html) = get_page(&app, &format!("/q/{code}"), "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("电梯加装意愿调查") && !html.contains("<script"));
    let dev = cookie_from(&h, "rt_dev");
    let csrf = cookie_from(&h, "rt_csrf");
    let token = csrf.trim_start_matches("rt_csrf=").to_string();
    let phone = format!("{dev}; {csrf}");
    let url = format!("/q/{code}");
    let (s, _, html) = post_form(&app, &url, &phone, &token, &[("q1", "2")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("此题必答"));
    assert!(html.contains("value=\"2\" checked"), "the choice is kept");
    let (s, _, html) = post_form(&app, &url, &phone, &token, &[("q1", "2"), ("q2", "5")]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("提交成功"));
    let (s, _, html) = post_form(&app, &url, &phone, &token, &[("q1", "1"), ("q2", "1")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("已经填写过"));
    assert_eq!(count(&app, "questionnaire_responses").await, 1);

    // A bot filling the honeypot is thanked, nothing stored.
    let (s, h, _) = get_page(&app, &url, "").await;
    assert_eq!(s, StatusCode::OK);
    let other = format!(
        "{}; {}",
        cookie_from(&h, "rt_dev"),
        cookie_from(&h, "rt_csrf")
    );
    let other_token = cookie_from(&h, "rt_csrf")
        .trim_start_matches("rt_csrf=")
        .to_string();
    let (s, _, html) = post_form(
        &app,
        &url,
        &other,
        &other_token,
        &[("q1", "1"), ("q2", "1"), ("website", "x")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("提交成功"));
    assert_eq!(count(&app, "questionnaire_responses").await, 1);

    // One address: one complete answer an hour here, then 429.
    let (s, _, html) = post_form(
        &app,
        &url,
        &other,
        &other_token,
        &[("q1", "1"), ("q2", "1")],
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert_eq!(count(&app, "questionnaire_responses").await, 1);
}
