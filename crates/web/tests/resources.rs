//! Resources and needs end to end (issue 5 item 3, R-ORG-4) on the demo district: offers
//! published by the district, a street, a community and a party member; a case's needs with
//! the offers proposed in the order core ranks them; matches accepted only in the plan step,
//! never more than an offer has left or a need lacks (two cases taking the last at once: one
//! wins), funds written as a budget line, cancelled giving everything back; the pages.

mod common;

use axum::http::StatusCode;
use common::App;
use roundtable_store::{Exec, Sql, args};
use serde_json::{Value, json};

fn get(uri: &str, cookie: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::get(uri)
        .header("cookie", cookie)
        .body(axum::body::Body::empty())
        .unwrap()
}

async fn grant_node(app: &App, cookie: &str) -> i64 {
    let (_, me, _) = app.json("GET", "/api/v1/auth/me", Some(cookie), None).await;
    me["grants"][0]["org_id"].as_i64().unwrap()
}

async fn one(app: &App, sql: &str, a: Vec<roundtable_store::Val>) -> i64 {
    app.db.pool().fetch_one(Sql::with(sql, a)).await.unwrap()
}

/// The demo's own offers taken away, so that what is proposed is what the test published.
async fn without_demo_offers() -> App {
    let app = common::app().await;
    let n = app
        .db
        .pool()
        .execute(Sql::new("DELETE FROM resources"))
        .await
        .unwrap();
    assert!(n > 0, "the demo publishes offers");
    app
}

async fn publish(app: &App, who: &str, body: Value) -> i64 {
    let (s, v, _) = app
        .json("POST", "/api/v1/resources", Some(who), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_i64().unwrap()
}

/// An accepted topic of 环境整治类 and its case, in the secretary's community.
async fn new_case(app: &App, sec: &str, community: i64, title: &str) -> i64 {
    let (s, t, _) = app
        .json(
            "POST",
            "/api/v1/topics",
            Some(sec),
            Some(json!({
                "org_id": community, "title": title, "level": "community",
                "description": "小区垃圾分类点位少、桶不够，居民希望增设并安排志愿者值守。",
                "category": "environment", "channel": "hotline",
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let topic = t["id"].as_i64().unwrap();
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/topics/{topic}/decision"),
            Some(sec),
            Some(json!({"action": "accept", "public_note": "已受理"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, c, _) = app
        .json(
            "POST",
            "/api/v1/cases",
            Some(sec),
            Some(json!({"topic_id": topic})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["id"].as_i64().unwrap()
}

/// The plan step, reached directly: the steps before it are the cases tests' to walk.
async fn at_plan_step(app: &App, case: i64) {
    app.db
        .pool()
        .execute(Sql::with(
            "UPDATE cases SET step = 'notice' WHERE id = $1",
            args![case],
        ))
        .await
        .unwrap();
}

async fn needs(app: &App, who: &str, case: i64) -> Value {
    let (s, v, _) = app
        .json(
            "GET",
            &format!("/api/v1/cases/{case}/needs"),
            Some(who),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn remaining(app: &App, id: i64) -> i64 {
    one(
        app,
        "SELECT remaining FROM resources WHERE id = $1",
        args![id],
    )
    .await
}

fn assert_r_org_4(s: StatusCode, v: &Value, field: &str, words: &str) {
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["rule"], "R-ORG-4", "{v}");
    let m = v["error"]["fields"][field].as_str().unwrap_or_default();
    assert!(m.contains(words), "{field}: {v}");
}

#[tokio::test]
async fn r_org_4_offers_needs_proposals_and_matches_on_the_plan() {
    let app = without_demo_offers().await;
    let zzb = app.login("zzb").await;
    let street_admin = app.login("street").await;
    let sec = app.login("secretary").await;
    let member = app.login("member").await;
    let district = grant_node(&app, &zzb).await;
    let street = grant_node(&app, &street_admin).await;
    let community = grant_node(&app, &sec).await;
    let linked_unit = one(
        &app,
        "SELECT unit_id FROM links WHERE kind = 'unit_assist' AND org_id = $1 ORDER BY id LIMIT 1",
        args![community],
    )
    .await;
    let other_unit = one(
        &app,
        "SELECT id FROM units WHERE id NOT IN (SELECT unit_id FROM links WHERE unit_id IS NOT NULL AND org_id IN ($1, $2)) ORDER BY id LIMIT 1",
        args![community, street],
    )
    .await;
    let elsewhere = one(
        &app,
        "SELECT id FROM orgs WHERE kind = 'community' AND path NOT LIKE $1 ORDER BY id LIMIT 1",
        args![format!("%/{street}/%")],
    )
    .await;

    // Bad input: every field named, nothing stored.
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/resources",
            Some(&sec),
            Some(json!({"org_id": community, "unit_id": other_unit, "kind": "land", "title": "", "quantity": "abc", "categories": ["food"], "available_from": "2026-06-10", "available_to": "2026-06-01"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    for f in ["kind", "title", "categories", "available_to"] {
        assert!(v["error"]["fields"][f].is_string(), "{f}: {v}");
    }
    let volunteers = |title: &str, n: i64| json!({"kind": "volunteers", "title": title, "quantity": n, "measure": "人次"});
    let mut body = volunteers("无提供方", 3);
    body["org_id"] = json!(community);
    let (s, v, _) = app
        .json("POST", "/api/v1/resources", Some(&sec), Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["unit_id"].is_string(), "{v}");
    // A community's secretary cannot publish for the whole district.
    body["org_id"] = json!(district);
    body["unit_id"] = json!(other_unit);
    let (s, _, _) = app
        .json("POST", "/api/v1/resources", Some(&sec), Some(body))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(one(&app, "SELECT COUNT(*) FROM resources", vec![]).await, 0);

    // The offers. Funds for 环境整治类 across the district; a linked unit's volunteers for the
    // street; a unit's and a member's own volunteers for the community; volunteers elsewhere,
    // for another category, and withdrawn — never proposed.
    let funds = publish(&app, &zzb, json!({"org_id": district, "unit_id": other_unit, "kind": "funds", "title": "社区微更新专项资金", "quantity": "5,000", "categories": ["environment"]})).await;
    let mut b = volunteers("挂点单位志愿服务队", 20);
    b["org_id"] = json!(street);
    b["unit_id"] = json!(linked_unit);
    let linked = publish(&app, &street_admin, b).await;
    let mut b = volunteers("驻地单位志愿者", 6);
    b["org_id"] = json!(community);
    b["unit_id"] = json!(other_unit);
    let unit_volunteers = publish(&app, &sec, b).await;
    // The member publishes their own: their community by default.
    let own = publish(&app, &member, volunteers("党员个人志愿服务", 4)).await;
    let (_, o, _) = app
        .json(
            "GET",
            &format!("/api/v1/resources/{own}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(o["offer"]["org_id"], community, "{o}");
    assert!(o["offer"]["person_name"].is_string(), "{o}");
    // Not for a unit, and not for another street.
    let mut b = volunteers("替单位发布", 2);
    b["org_id"] = json!(community);
    b["unit_id"] = json!(other_unit);
    let (s, _, _) = app
        .json("POST", "/api/v1/resources", Some(&member), Some(b))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut b = volunteers("别的街道", 2);
    b["org_id"] = json!(elsewhere);
    let (s, v, _) = app
        .json("POST", "/api/v1/resources", Some(&member), Some(b))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["org_id"].is_string(), "{v}");
    let mut b = volunteers("别处的志愿者", 50);
    b["org_id"] = json!(elsewhere);
    b["unit_id"] = json!(other_unit);
    let far = publish(&app, &zzb, b).await;
    let mut b = volunteers("文体志愿者", 50);
    b["org_id"] = json!(district);
    b["unit_id"] = json!(other_unit);
    b["categories"] = json!(["culture"]);
    let culture = publish(&app, &zzb, b).await;
    let mut b = volunteers("已撤回的志愿者", 50);
    b["org_id"] = json!(community);
    b["unit_id"] = json!(other_unit);
    let gone = publish(&app, &sec, b).await;
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/resources/{gone}/withdraw"),
            Some(&sec),
            Some(json!({"reason": " "})),
        )
        .await;
    assert_r_org_4(s, &v, "reason", "撤回原因");
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/resources/{gone}/withdraw"),
            Some(&sec),
            Some(json!({"reason": "单位人员调整"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["offer"]["state_label"], "已撤回");
    // The district's offers are listed for the community, the other street's are not.
    let (_, list, _) = app
        .json("GET", "/api/v1/resources?status=open", Some(&sec), None)
        .await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    for id in [funds, linked, unit_volunteers, own, culture] {
        assert!(ids.contains(&id), "{id} listed: {ids:?}");
    }
    assert!(!ids.contains(&far) && !ids.contains(&gone), "{ids:?}");
    let (s, _, _) = app
        .json("GET", &format!("/api/v1/resources/{far}"), Some(&sec), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v, _) = app
        .json("GET", "/api/v1/resources?kind=land", Some(&sec), None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // The case states its needs.
    let case = new_case(&app, &sec, community, "增设垃圾分类点位").await;
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{case}/needs"),
            Some(&sec),
            Some(json!({"kind": "", "description": "", "quantity": "0"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    for f in ["kind", "description", "quantity"] {
        assert!(v["error"]["fields"][f].is_string(), "{f}: {v}");
    }
    let (s, _, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{case}/needs"),
            Some(&sec),
            Some(json!({"kind": "volunteers", "description": "垃圾分类值守志愿者", "quantity": 8, "measure": "人次"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{case}/needs"),
            Some(&sec),
            Some(json!({"kind": "funds", "description": "购置分类垃圾桶", "quantity": "3000"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let n = &v["needs"];
    let (people_need, money_need) = (n[0]["id"].as_i64().unwrap(), n[1]["id"].as_i64().unwrap());
    // Proposed as core ranks them: the linked unit's street volunteers (20 + 15 + 5), then the
    // community's (30, part of the need), larger first; never elsewhere, culture, withdrawn.
    let proposed: Vec<i64> = n[0]["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["resource_id"].as_i64().unwrap())
        .collect();
    assert_eq!(proposed, vec![linked, unit_volunteers, own], "{n}");
    assert_eq!(n[0]["proposals"][0]["score"], 40);
    assert_eq!(n[1]["proposals"][0]["resource_id"], funds);
    assert_eq!(
        n[1]["proposals"][0]["quantity"], 300_000,
        "3,000 yuan in fen"
    );
    assert_eq!(n[1]["outstanding_text"], "3,000.00 元");
    // A party member does not see cases, nor their needs.
    let (s, _, _) = app
        .json(
            "GET",
            &format!("/api/v1/cases/{case}/needs"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "as the case itself");

    // Accepted only in the plan step; nothing taken before.
    let accept = |need: i64, resource: i64, q: Value| {
        let app = &app;
        let sec = &sec;
        async move {
            let (s, v, _) = app
                .json(
                    "POST",
                    &format!("/api/v1/cases/{case}/needs/{need}/matches"),
                    Some(sec),
                    Some(json!({"resource_id": resource, "quantity": q})),
                )
                .await;
            (s, v)
        }
    };
    let (s, v) = accept(people_need, unit_volunteers, json!(6)).await;
    assert_r_org_4(s, &v, "step", "项目公示");
    assert_eq!(remaining(&app, unit_volunteers).await, 6);
    at_plan_step(&app, case).await;
    let (s, v) = accept(people_need, unit_volunteers, json!(7)).await;
    assert_r_org_4(s, &v, "quantity", "剩余 6");
    let (s, v) = accept(people_need, far, json!(1)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["resource_id"].is_string(), "{v}");
    let (s, v) = accept(people_need, unit_volunteers, json!(6)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(remaining(&app, unit_volunteers).await, 0);
    let (s, v) = accept(people_need, linked, json!(3)).await;
    assert_r_org_4(s, &v, "quantity", "尚缺 2");
    let (s, v) = accept(people_need, linked, json!("")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(remaining(&app, linked).await, 18, "the outstanding 2 taken");
    let v = needs(&app, &sec, case).await;
    assert_eq!(v["needs"][0]["outstanding"], 0);
    assert!(v["needs"][0]["proposals"].as_array().unwrap().is_empty());
    assert_eq!(v["needs"][0]["matches"].as_array().unwrap().len(), 2);

    // Funds: a budget line of the plan, from the unit (R-SUP-1); the plan changed.
    let revision = one(
        &app,
        "SELECT plan_revision FROM cases WHERE id = $1",
        args![case],
    )
    .await;
    let (s, v) = accept(money_need, funds, json!("")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let line = one(
        &app,
        "SELECT id FROM project_budget WHERE case_id = $1 AND source = 'unit' AND amount_fen = 300000 AND note LIKE '资源对接%'",
        args![case],
    )
    .await;
    assert_eq!(remaining(&app, funds).await, 200_000);
    assert!(
        one(
            &app,
            "SELECT plan_revision FROM cases WHERE id = $1",
            args![case]
        )
        .await
            > revision
    );
    // The line goes with its match, not on its own.
    let (s, v, _) = app
        .json(
            "DELETE",
            &format!("/api/v1/cases/{case}/plan/budget/{line}"),
            Some(&sec),
            None,
        )
        .await;
    assert_r_org_4(s, &v, "id", "资源对接");
    // A need with matches is not removed.
    let (s, v, _) = app
        .json(
            "DELETE",
            &format!("/api/v1/cases/{case}/needs/{money_need}"),
            Some(&sec),
            None,
        )
        .await;
    assert_r_org_4(s, &v, "need_id", "取消对接");
    let v = needs(&app, &sec, case).await;
    let m = v["needs"][1]["matches"][0]["id"].as_i64().unwrap();
    let (s, v, _) = app
        .json(
            "DELETE",
            &format!("/api/v1/cases/{case}/matches/{m}"),
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(remaining(&app, funds).await, 500_000, "given back");
    assert_eq!(v["needs"][1]["matched"], 0);
    assert_eq!(
        one(
            &app,
            "SELECT COUNT(*) FROM project_budget WHERE id = $1",
            args![line]
        )
        .await,
        0
    );
    let (s, v, _) = app
        .json(
            "DELETE",
            &format!("/api/v1/cases/{case}/needs/{money_need}"),
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["needs"].as_array().unwrap().len(), 1);

    // The offer shows where it went; its owner withdraws it, the secretary not the district's.
    let (_, o, _) = app
        .json(
            "GET",
            &format!("/api/v1/resources/{unit_volunteers}"),
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(o["matches"][0]["case_id"], case, "{o}");
    assert_eq!(o["offer"]["state_label"], "已对接完");
    let (s, _, _) = app
        .json(
            "POST",
            &format!("/api/v1/resources/{funds}/withdraw"),
            Some(&sec),
            Some(json!({"reason": "不要了"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/resources/{own}/withdraw"),
            Some(&member),
            Some(json!({"reason": "本月外出"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        one(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('resource.publish', 'plan.resource_match', 'plan.resource_unmatch', 'resource.withdraw', 'case.need_add', 'case.need_remove')",
            vec![]
        )
        .await
            >= 16
    );
}

#[tokio::test]
async fn two_cases_taking_the_last_of_an_offer_at_once_one_wins() {
    let app = without_demo_offers().await;
    let sec = app.login("secretary").await;
    let community = grant_node(&app, &sec).await;
    let unit = one(&app, "SELECT id FROM units ORDER BY id LIMIT 1", vec![]).await;
    let offer = publish(&app, &sec, json!({"org_id": community, "unit_id": unit, "kind": "materials", "title": "分类垃圾桶", "quantity": 5, "measure": "个"})).await;
    let mut targets = Vec::new();
    for title in ["一号楼垃圾分类", "二号楼垃圾分类"] {
        let case = new_case(&app, &sec, community, title).await;
        let (_, v, _) = app
            .json(
                "POST",
                &format!("/api/v1/cases/{case}/needs"),
                Some(&sec),
                Some(json!({"kind": "materials", "description": "分类垃圾桶", "quantity": 5, "measure": "个"})),
            )
            .await;
        at_plan_step(&app, case).await;
        targets.push((case, v["needs"][0]["id"].as_i64().unwrap()));
    }
    let take = |(case, need): (i64, i64)| {
        let app = &app;
        let sec = &sec;
        async move {
            app.json(
                "POST",
                &format!("/api/v1/cases/{case}/needs/{need}/matches"),
                Some(sec),
                Some(json!({"resource_id": offer, "quantity": 5})),
            )
            .await
            .0
        }
    };
    let (a, b) = tokio::join!(take(targets[0]), take(targets[1]));
    let won = [a, b].iter().filter(|s| **s == StatusCode::CREATED).count();
    assert_eq!(won, 1, "{a} {b}");
    assert!(
        [a, b].contains(&StatusCode::UNPROCESSABLE_ENTITY),
        "{a} {b}"
    );
    assert_eq!(remaining(&app, offer).await, 0);
    assert_eq!(
        one(
            &app,
            "SELECT CAST(SUM(matched) AS BIGINT) FROM case_needs",
            vec![]
        )
        .await,
        5
    );
    assert_eq!(
        one(&app, "SELECT COUNT(*) FROM resource_matches", vec![]).await,
        1
    );
}

#[tokio::test]
async fn resource_pages_publish_propose_and_accept() {
    let app = without_demo_offers().await;
    let sec = app.login("secretary").await;
    let community = grant_node(&app, &sec).await;
    let unit = one(
        &app,
        "SELECT unit_id FROM links WHERE kind = 'unit_assist' AND org_id = $1 ORDER BY id LIMIT 1",
        args![community],
    )
    .await;
    let (s, h, html) = app.call(get("/resources", &sec)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("发布资源") && html.contains("提供单位"),
        "{html}"
    );
    let csrf = common::cookie_from(&h, "rt_csrf");
    let token = csrf.trim_start_matches("rt_csrf=").to_string();
    let cookies = format!("{sec}; {csrf}");
    // Errors next to their fields, 422, nothing stored.
    let (s, _, html) = common::post_form(
        &app,
        "/resources",
        &cookies,
        &token,
        &[
            ("org_id", &community.to_string()),
            ("unit_id", &unit.to_string()),
            ("kind", "venue"),
            ("title", "党群服务中心活动室"),
            ("quantity", "两场"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("应为整数"), "{html}");
    assert!(html.contains("党群服务中心活动室"), "typed values kept");
    let (s, h, _) = common::post_form(
        &app,
        "/resources",
        &cookies,
        &token,
        &[
            ("org_id", &community.to_string()),
            ("unit_id", &unit.to_string()),
            ("kind", "venue"),
            ("title", "党群服务中心活动室"),
            ("quantity", "2"),
            ("categories", "environment"),
            ("categories", "culture"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let to = h.iter().find(|(k, _)| k == "location").unwrap().1.clone();
    let (s, _, html) = app.call(get(&to, &sec)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("2 场次") && html.contains("环境整治类、文化体育娱乐类"),
        "{html}"
    );

    let case = new_case(&app, &sec, community, "垃圾分类宣传活动").await;
    let page = format!("/cases/{case}/resources");
    let (s, _, html) = common::post_form(
        &app,
        &page,
        &cookies,
        &token,
        &[("kind", "venue"), ("description", ""), ("quantity", "1")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请填写需求说明"), "{html}");
    let (s, _, _) = common::post_form(
        &app,
        &page,
        &cookies,
        &token,
        &[
            ("kind", "venue"),
            ("description", "宣传活动场地"),
            ("quantity", "1"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, html) = app.call(get(&page, &sec)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("推荐资源") && html.contains("党群服务中心活动室"),
        "{html}"
    );
    assert!(html.contains("在“项目公示”步骤确认"), "not yet: {html}");
    at_plan_step(&app, case).await;
    let need = one(
        &app,
        "SELECT id FROM case_needs WHERE case_id = $1",
        args![case],
    )
    .await;
    let offer = one(&app, "SELECT id FROM resources", vec![]).await;
    let (s, _, html) = common::post_form(
        &app,
        &format!("{page}/needs/{need}/accept"),
        &cookies,
        &token,
        &[("resource_id", &offer.to_string()), ("quantity", "3")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("超过该资源的剩余数量"), "{html}");
    let (s, _, _) = common::post_form(
        &app,
        &format!("{page}/needs/{need}/accept"),
        &cookies,
        &token,
        &[("resource_id", &offer.to_string()), ("quantity", "1")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = app.call(get(&page, &sec)).await;
    assert!(
        html.contains("已全部落实") && html.contains("取消对接"),
        "{html}"
    );
    // The printed plan lists the venue among its resources (it has a task to print).
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{case}/plan/tasks"),
            Some(&sec),
            Some(json!({"title": "布置活动场地", "owner_name": "张三", "unit_name": "社区居委会", "starts_on": "2026-12-10", "due_on": "2026-12-12"})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (s, _, html) = app
        .call(get(&format!("/cases/{case}/documents/plan"), &sec))
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("资源对接") && html.contains("党群服务中心活动室") && html.contains("1 场次"),
        "{html}"
    );
}
