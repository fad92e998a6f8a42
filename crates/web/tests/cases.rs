//! Deliberation cases over HTTP (issue 4): created from an accepted topic, moved through the
//! steps in order, with the records of 征求意见 and 分析研判; every refused change names its rule
//! and changes nothing — on the backend named by ROUNDTABLE_TEST_DB.

mod common;

use axum::http::StatusCode;
use common::{App, app, cookie_from, png, post_form, post_multipart};
use roundtable_store::{Exec, Sql};
use serde_json::{Value, json};

async fn community_of(app: &App, cookie: &str) -> i64 {
    let (_, me, _) = app.json("GET", "/api/v1/auth/me", Some(cookie), None).await;
    me["grants"][0]["org_id"].as_i64().unwrap()
}

fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

async fn count(app: &App, sql: &str) -> i64 {
    app.db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

/// An accepted topic of the secretary's community, at `level`: its id.
async fn accepted_topic(app: &App, cookie: &str, title: &str, level: &str) -> i64 {
    let org = community_of(app, cookie).await;
    let (s, t, _) = app
        .json(
            "POST",
            "/api/v1/topics",
            Some(cookie),
            Some(json!({
                "org_id": org, "title": title, "level": level,
                "description": "小区北门外的路面坑洼积水，老人出行不便，居民多次反映。",
                "category": "safety", "channel": "hotline",
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let id = t["id"].as_i64().unwrap();
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/topics/{id}/decision"),
            Some(cookie),
            Some(json!({"action": "accept", "public_note": "已受理"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

async fn step(app: &App, cookie: &str, case: i64) -> Value {
    let (s, v, _) = app
        .json("GET", &format!("/api/v1/cases/{case}"), Some(cookie), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn mv(app: &App, cookie: &str, case: i64, body: Value) -> (StatusCode, Value) {
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{case}/moves"),
            Some(cookie),
            Some(body),
        )
        .await;
    (s, v)
}

fn assert_rule(s: StatusCode, v: &Value, rule: &str) {
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "rule_violated", "{v}");
    assert_eq!(v["error"]["rule"], rule, "{v}");
}

async fn council_person(app: &App, org: i64) -> i64 {
    app.db
        .pool()
        .fetch_one(Sql::with(
            "SELECT person_id FROM links WHERE kind = 'council_member' AND org_id = $1 ORDER BY id LIMIT 1",
            roundtable_store::args![org],
        ))
        .await
        .unwrap()
}

async fn put_doc(
    app: &App,
    cookie: &str,
    case: i64,
    kind: &str,
    body: Value,
) -> (StatusCode, Value) {
    let (s, v, _) = app
        .json(
            "PUT",
            &format!("/api/v1/cases/{case}/documents/{kind}"),
            Some(cookie),
            Some(body),
        )
        .await;
    (s, v)
}

#[tokio::test]
async fn r_proc_1_to_3_a_case_runs_in_order_and_refuses_what_breaks_a_rule() {
    let app = app().await;
    let sec = app.login("secretary").await;
    let org = community_of(&app, &sec).await;
    let topic = accepted_topic(&app, &sec, "北门路面坑洼积水", "community").await;

    // R-PROC-1: a case from the accepted topic; the topic is 已立项; only one case per topic.
    let (s, c, _) = app
        .json(
            "POST",
            "/api/v1/cases",
            Some(&sec),
            Some(json!({"topic_id": topic, "note": "本月议题"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["step"], "topic");
    assert_eq!(c["level"], "community");
    let (_, t, _) = app
        .json("GET", &format!("/api/v1/topics/{topic}"), Some(&sec), None)
        .await;
    assert_eq!(t["topic"]["status"], "adopted");
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/cases",
            Some(&sec),
            Some(json!({"topic_id": topic})),
        )
        .await;
    assert_rule(s, &v, "R-PROC-1");
    // A pending topic is not a case (R-TOP-3: only accepted public matters).
    let (_, pending, _) = app
        .json(
            "POST",
            "/api/v1/topics",
            Some(&sec),
            Some(json!({"org_id": org, "title": "待筛选的事", "description": "还没筛选", "category": "safety", "channel": "hotline"})),
        )
        .await;
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/cases",
            Some(&sec),
            Some(json!({"topic_id": pending["id"]})),
        )
        .await;
    assert_rule(s, &v, "R-TOP-3");

    // Only the next step may be entered.
    let (s, v) = mv(
        &app,
        &sec,
        id,
        json!({"action": "advance", "step": "notice"}),
    )
    .await;
    assert_rule(s, &v, "R-PROC-5");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("须依次进行"),
        "{v}"
    );
    let (s, v) = mv(
        &app,
        &sec,
        id,
        json!({"action": "advance", "step": "opinions"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "opinions");

    // R-PROC-2: 征求意见 closes only with visits, opinions and the preliminary plan.
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_rule(s, &v, "R-PROC-2");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("初步协商方案"),
        "{v}"
    );
    let view = step(&app, &sec, id).await;
    assert_eq!(
        view["case"]["step"], "opinions",
        "a refused move changes nothing"
    );
    assert_eq!(view["missing"].as_array().unwrap().len(), 3);
    // A document of a later step is refused while this step runs.
    let (s, v) = put_doc(
        &app,
        &sec,
        id,
        "meeting_plan",
        json!({"date": "2026-12-05"}),
    )
    .await;
    assert_rule(s, &v, "R-PROC-3");

    // A visitor who is not on the community's council is refused; a council member is not.
    let (_, outsider, _) = app
        .json(
            "GET",
            "/api/v1/people?per_page=1&kind=district_leader",
            Some(&sec),
            None,
        )
        .await;
    let outsider = outsider["items"][0]["id"].as_i64().unwrap_or(1);
    let visit = |who: i64, on: String| {
        json!({"visitor_person_id": who, "place": "3栋2单元502室", "visited_on": on,
               "findings": "积水约10厘米，雨天无法通行", "opinion": "希望尽快修补并加装排水沟", "opinion_author": "王阿姨"})
    };
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/visits"),
            Some(&sec),
            Some(visit(outsider, today().to_string())),
        )
        .await;
    assert_rule(s, &v, "R-PROC-2");
    let member = council_person(&app, org).await;
    let tomorrow = (today() + chrono::Duration::days(1)).to_string();
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/visits"),
            Some(&sec),
            Some(visit(member, tomorrow)),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["visited_on"].is_string(), "{v}");
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/visits"),
            Some(&sec),
            Some(visit(member, today().to_string())),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The council member logs a visit as themself (no visitor given).
    let council = app.login("council").await;
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/visits"),
            Some(&council),
            Some(json!({"place": "北门现场", "visited_on": today().to_string(), "findings": "井盖松动"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // …but cannot move the case.
    let (s, _) = mv(&app, &council, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/opinions"),
            Some(&sec),
            Some(json!({"source": "online", "author": "李先生", "content": "建议同时修整人行道"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Residents give their opinion on the case's public page themselves (no account).
    let (_, case_json, _) = app
        .json("GET", &format!("/api/v1/cases/{id}"), Some(&sec), None)
        .await;
    let code = case_json["case"]["public_code"]
        .as_str()
        .unwrap()
        .to_string();
    let public_opinions = format!("/api/v1/public/cases/{code}/opinions");
    let (s, v, _) = app
        .json(
            "POST",
            &public_opinions,
            None,
            Some(json!({"content": "  "})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["content"].is_string(), "{v}");
    let (s, v, _) = app
        .json(
            "POST",
            &public_opinions,
            None,
            Some(json!({"content": "排水沟盖板要能承重，电动车常从这里过", "name": "<b>赵</b>"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["step_code"], "opinions");
    let (s, _, _) = app
        .json(
            "POST",
            &public_opinions,
            None,
            Some(json!({"content": "广告", "website": "http://spam"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "a bot is answered as if accepted");
    let (_, v, _) = app
        .json("GET", &format!("/api/v1/cases/{id}"), Some(&sec), None)
        .await;
    let online: Vec<&Value> = v["opinions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["source"] == "online")
        .collect();
    assert_eq!(
        online.len(),
        2,
        "staff's and the resident's, not the bot's: {v}"
    );
    assert!(online.iter().any(|o| o["author"] == "<b>赵</b>"));
    let (s, v) = put_doc(&app, &sec, id, "preliminary_plan", json!({"content": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["fields"]["content"], "请填写方案内容");
    let (s, v) = put_doc(
        &app,
        &sec,
        id,
        "preliminary_plan",
        json!({"content": "修补路面并加装排水沟，费用由物业维修资金和社区共建资金分担"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], 1);
    let (s, v) = put_doc(
        &app,
        &sec,
        id,
        "preliminary_plan",
        json!({"content": "修补路面、加装排水沟、修整人行道"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], 2, "a new version, the first kept");
    let (_, versions, _) = app
        .json(
            "GET",
            &format!("/api/v1/cases/{id}/documents/preliminary_plan"),
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "analysis");

    // A closed step's records are not added to afterwards.
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{id}/opinions"),
            Some(&sec),
            Some(json!({"source": "online", "content": "晚到的意见"})),
        )
        .await;
    assert_rule(s, &v, "R-PROC-2");
    let (s, v, _) = app
        .json(
            "POST",
            &public_opinions,
            None,
            Some(json!({"content": "晚到的意见"})),
        )
        .await;
    assert_rule(s, &v, "R-PROC-2");
    // Going back needs a reason, kept in the history.
    let (s, v) = mv(&app, &sec, id, json!({"action": "back", "reason": " "})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["reason"].is_string(), "{v}");
    let (s, v) = mv(
        &app,
        &sec,
        id,
        json!({"action": "back", "reason": "需补充走访沿街商户"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "opinions");
    let (s, _) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK);

    // R-PROC-3: the council meeting (not in the future), feasibility, the meeting plan.
    let (s, v) = put_doc(
        &app,
        &sec,
        id,
        "council_meeting",
        json!({"held_on": tomorrow_str(), "attendees": "理事会成员5人", "conclusions": "可行"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["held_on"].is_string(), "{v}");
    let (s, v) = put_doc(&app, &sec, id, "council_meeting", json!({"held_on": today().to_string(), "attendees": "理事会成员5人", "conclusions": "属公共事务，建议提交圆桌会"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = put_doc(&app, &sec, id, "feasibility", json!({"nature": "公共事务", "content": "修补路面", "impact": "全小区", "scope": "北门一带", "conclusion": "可行"})).await;
    assert_eq!(s, StatusCode::OK);
    // A community-level case needs no consultation with a district leader.
    let (s, v) = put_doc(
        &app,
        &sec,
        id,
        "leader_consultation",
        json!({"leader": "张三", "consulted_on": today().to_string(), "notes": "同意"}),
    )
    .await;
    assert_rule(s, &v, "R-PROC-3");
    let (s, v) = put_doc(&app, &sec, id, "meeting_plan", json!({"date": "2026-12-05", "time": "9:30", "place": "社区党群服务中心", "participants": "两委、理事会、物业、居民代表", "agenda": "按 R-MEET-3 顺序"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["body"]["time"], "09:30");
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "deliberation");

    // The history keeps every move with its reason; each change is audited.
    let view = step(&app, &sec, id).await;
    let kinds: Vec<&str> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["create", "advance", "advance", "back", "advance", "advance"]
    );
    assert_eq!(view["events"][3]["note"], "需补充走访沿街商户");
    assert_eq!(view["visits"].as_array().unwrap().len(), 2);
    assert_eq!(
        view["opinions"].as_array().unwrap().len(),
        3,
        "one from the visit, two online (staff, a resident)"
    );
    assert!(count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE object_type LIKE 'case%' AND (object_id = {id} OR action <> 'case.update')")).await >= 10);

    // 终止 needs a reason; the topic is an accepted matter again and its submitter is told.
    let (s, v) = mv(&app, &sec, id, json!({"action": "stop"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = mv(
        &app,
        &sec,
        id,
        json!({"action": "stop", "reason": "物业已自行修复"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "stopped");
    assert_eq!(v["stop_reason"], "物业已自行修复");
    let (_, t, _) = app
        .json("GET", &format!("/api/v1/topics/{topic}"), Some(&sec), None)
        .await;
    assert_eq!(t["topic"]["status"], "accepted");
    let history = t["history"].as_array().unwrap();
    assert!(
        history.last().unwrap()["public_note"]
            .as_str()
            .unwrap()
            .contains("物业已自行修复")
    );
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_rule(s, &v, "R-PROC-1");
    let view = step(&app, &sec, id).await;
    let states: Vec<&str> = view["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["done", "done", "done", "stopped", "todo", "todo", "todo"]
    );
}

fn tomorrow_str() -> String {
    (today() + chrono::Duration::days(1)).to_string()
}

#[tokio::test]
async fn r_proc_3_a_district_level_case_records_the_prior_consultation() {
    let app = app().await;
    let sec = app.login("secretary").await;
    let org = community_of(&app, &sec).await;
    let topic = accepted_topic(&app, &sec, "老旧小区加装电梯", "district").await;
    let (_, c, _) = app
        .json(
            "POST",
            "/api/v1/cases",
            Some(&sec),
            Some(json!({"topic_id": topic})),
        )
        .await;
    let id = c["id"].as_i64().unwrap();
    assert_eq!(c["level"], "district");
    mv(&app, &sec, id, json!({"action": "advance"})).await;
    let member = council_person(&app, org).await;
    app.json(
        "POST",
        &format!("/api/v1/cases/{id}/visits"),
        Some(&sec),
        Some(json!({"visitor_person_id": member, "place": "5栋", "visited_on": today().to_string(), "findings": "高层住户多为老人", "opinion": "赞成加装"})),
    )
    .await;
    put_doc(
        &app,
        &sec,
        id,
        "preliminary_plan",
        json!({"content": "申请加装电梯补贴"}),
    )
    .await;
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for (kind, body) in [
        (
            "council_meeting",
            json!({"held_on": today().to_string(), "attendees": "理事会", "conclusions": "可行"}),
        ),
        (
            "feasibility",
            json!({"nature": "公共事务", "content": "加装电梯", "impact": "5栋", "scope": "5栋", "conclusion": "可行"}),
        ),
        (
            "meeting_plan",
            json!({"date": "2026-12-05", "time": "09:00", "place": "党群服务中心", "participants": "区级领导等", "agenda": "议程"}),
        ),
    ] {
        let (s, v) = put_doc(&app, &sec, id, kind, body).await;
        assert_eq!(s, StatusCode::OK, "{kind} {v}");
    }
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_rule(s, &v, "R-PROC-3");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("事先沟通"),
        "{v}"
    );
    let (s, _) = put_doc(&app, &sec, id, "leader_consultation", json!({"leader": "区级领导", "consulted_on": today().to_string(), "notes": "原则同意，协调区住建局"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // Scope: the party member sees no case; the list of the street administrator has it.
    let member = app.login("member").await;
    let (s, _, _) = app
        .json("GET", &format!("/api/v1/cases/{id}"), Some(&member), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let street = app.login("street").await;
    let (_, list, _) = app
        .json("GET", "/api/v1/cases?level=district", Some(&street), None)
        .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id),
        "{list}"
    );
    let (s, v, _) = app
        .json("GET", "/api/v1/cases?step=nonsense", Some(&street), None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn case_pages_show_the_steps_what_is_missing_and_refusals_next_to_the_field() {
    let app = app().await;
    let sec = app.login("secretary").await;
    let topic = accepted_topic(&app, &sec, "楼道灯不亮", "community").await;
    // The topic page offers 立项; the form creates the case.
    let (s, h, html) = app
        .call(
            axum::http::Request::get(format!("/topics/{topic}"))
                .header("cookie", &sec)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("立项"), "{html}");
    let csrf = cookie_from(&h, "rt_csrf");
    let token = csrf.split('=').nth(1).unwrap().to_string();
    let cookies = format!("{sec}; {csrf}");
    let (s, h, _) = post_form(
        &app,
        "/cases",
        &cookies,
        &token,
        &[("topic_id", &topic.to_string())],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let loc = h.iter().find(|(k, _)| k == "location").unwrap().1.clone();
    let id: i64 = loc.trim_start_matches("/cases/").parse().unwrap();
    // The same again: the topic page with the rule's message, 422.
    let (s, _, html) = post_form(
        &app,
        "/cases",
        &cookies,
        &token,
        &[("topic_id", &topic.to_string())],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("该议题已有议事案例"), "{html}");

    let get = |uri: String| {
        let app = &app;
        let cookies = cookies.clone();
        async move {
            app.call(
                axum::http::Request::get(uri)
                    .header("cookie", cookies)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    let (s, _, html) = get(format!("/cases/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("当前步骤：确定议题") && html.contains("step-current"),
        "{html}"
    );
    let (s, _, _) = post_form(
        &app,
        &format!("/cases/{id}/moves"),
        &cookies,
        &token,
        &[("action", "advance")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = get(format!("/cases/{id}")).await;
    assert!(
        html.contains("初步协商方案") && html.contains("R-PROC-2"),
        "{html}"
    );
    // Advancing with records missing: the page again, 422, saying what is missing.
    let (s, _, html) = post_form(
        &app,
        &format!("/cases/{id}/moves"),
        &cookies,
        &token,
        &[("action", "advance")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("尚不能结束"), "{html}");
    // A visit without its findings: the message next to the field, what was typed kept. The
    // visit form is multipart (its photos), its CSRF token in the query.
    let visits = format!("/cases/{id}/visits?_csrf={token}");
    let (s, _, html) = post_multipart(
        &app,
        &visits,
        &cookies,
        &[
            ("place", "7栋楼道"),
            ("visited_on", &today().to_string()),
            ("findings", ""),
        ],
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("请填写走访发现") && html.contains("value=\"7栋楼道\""),
        "{html}"
    );
    // R-PROC-2 photos taken on the visit: a file that is not a photo refuses the whole form.
    let (_, case_json, _) = app
        .json("GET", &format!("/api/v1/cases/{id}"), Some(&sec), None)
        .await;
    let member = council_person(&app, case_json["case"]["org_id"].as_i64().unwrap())
        .await
        .to_string();
    let visit = [
        ("visitor_person_id", member.as_str()),
        ("place", "7栋楼道"),
        ("visited_on", &today().to_string()),
        ("findings", "声控灯损坏3处"),
    ];
    let (s, _, html) = post_multipart(
        &app,
        &visits,
        &cookies,
        &visit,
        &[b"<script>alert(1)</script>".to_vec()],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("第1张不是照片"), "{html}");
    let (_, v, _) = app
        .json("GET", &format!("/api/v1/cases/{id}"), Some(&sec), None)
        .await;
    assert_eq!(v["visits"].as_array().unwrap().len(), 0, "nothing stored");
    let (s, _, html) = post_multipart(&app, &visits, &cookies, &visit, &[png()]).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{html}");
    let (_, v, _) = app
        .json("GET", &format!("/api/v1/cases/{id}"), Some(&sec), None)
        .await;
    let visit_id = v["visits"][0]["id"].as_i64().unwrap();
    let photo = &v["photos"][0];
    assert_eq!(
        (photo["record_kind"].as_str(), photo["record_id"].as_i64()),
        (Some("visit"), Some(visit_id)),
        "{v}"
    );
    let photo_url = format!("/cases/{id}/photos/{}", photo["id"]);
    let (_, _, html) = get(format!("/cases/{id}")).await;
    assert!(html.contains(&format!("{photo_url}?thumb=1")), "{html}");
    let raw = |uri: String| {
        app.call_raw(
            axum::http::Request::get(uri)
                .header("cookie", &cookies)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
    };
    let (s, h, bytes) = raw(photo_url.clone()).await;
    assert_eq!(s, StatusCode::OK);
    // Encoded anew (issue 6: no metadata kept), the same picture.
    assert_eq!(
        image::load_from_memory(&bytes).unwrap().to_rgb8(),
        image::load_from_memory(&png()).unwrap().to_rgb8()
    );
    let has = |k: &str, v: &str| h.iter().any(|(hk, hv)| hk == k && hv == v);
    assert!(has("content-type", "image/png"));
    assert!(has("x-content-type-options", "nosniff"));
    assert!(has(
        "content-security-policy",
        "default-src 'none'; sandbox"
    ));
    assert!(has("content-disposition", "inline; filename=\"photo.png\""));
    let (s, h, bytes) = raw(format!("{photo_url}?thumb=1")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG thumbnail");
    assert!(
        h.iter()
            .any(|(k, v)| k == "content-type" && v == "image/jpeg")
    );
    // More photos for the visit afterwards, up to 9 a record.
    let more = format!("/cases/{id}/evidence/visit/{visit_id}?_csrf={token}");
    let (s, _, _) = post_multipart(&app, &more, &cookies, &[], &[png(), png()]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _, html) = post_multipart(&app, &more, &cookies, &[], &vec![png(); 7]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("最多9张照片，已有3张"), "{html}");
    let (s, _, _) = post_multipart(
        &app,
        &format!("/cases/{id}/evidence/visit/999999?_csrf={token}"),
        &cookies,
        &[],
        &[png()],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a visit of no case of ours");
    let (s, _, _) = get(format!("/cases/{id}/photos/999999")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A party member may not see cases, nor their photos.
    let member_login = app.login("member").await;
    let (s, _, _) = app
        .call_raw(
            axum::http::Request::get(&photo_url)
                .header("cookie", &member_login)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A document with a bad time: kept and explained.
    let (s, _, html) = post_form(
        &app,
        &format!("/cases/{id}/step-documents/preliminary_plan"),
        &cookies,
        &token,
        &[("content", "更换楼道声控灯")],
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{html}");
    let (_, _, html) = get(format!("/cases/{id}")).await;
    assert!(
        html.contains("第1版") && html.contains("更换楼道声控灯"),
        "{html}"
    );
    let (s, _, html) = get("/cases?step=opinions".into()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("楼道灯不亮"), "{html}");
    // A resident opens the public page from the poster and gives an opinion (no account).
    let code = case_json["case"]["public_code"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, h, html) = app
        .call(
            axum::http::Request::get(format!("/c/{code}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("action=\"/c/{code}/opinions\"")),
        "{html}"
    );
    let resident_csrf = cookie_from(&h, "rt_csrf");
    let resident_token = resident_csrf.split('=').nth(1).unwrap().to_string();
    let opinions = format!("/c/{code}/opinions");
    let (s, _, html) = post_form(
        &app,
        &opinions,
        &resident_csrf,
        &resident_token,
        &[("content", ""), ("name", "钱阿姨")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("请填写意见内容") && html.contains("钱阿姨"),
        "{html}"
    );
    let (s, _, html) = post_form(
        &app,
        &opinions,
        &resident_csrf,
        &resident_token,
        &[("content", "<script>x</script>声控灯换成感应灯")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("感谢您的意见"), "{html}");
    let (_, _, html) = get(format!("/cases/{id}")).await;
    assert!(
        html.contains("网上征求")
            && html.contains("&lt;script&gt;x&lt;&#x2f;script&gt;声控灯换成感应灯"),
        "{html}"
    );
}

#[tokio::test]
async fn r_cal_1_working_days_api_and_the_calendar_page() {
    let app = app().await;
    // The issue's example, no sign-in needed.
    let (s, v, _) = app
        .json(
            "GET",
            "/api/v1/calendar/working-days?from=2025-09-26&count=5",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["end"], "2025-10-10");
    assert_eq!(
        v["working_days"][0], "2025-09-28",
        "a make-up working Sunday"
    );
    assert_eq!(v["label"], "2025年9月28日至10月10日");
    assert_eq!(v["provisional"], false);
    let (_, v, _) = app
        .json(
            "GET",
            "/api/v1/calendar/working-days?from=2026-12-28",
            None,
            None,
        )
        .await;
    assert_eq!(v["provisional"], true, "2027's notice is not known: {v}");
    for bad in [
        "from=2025-13-01",
        "from=",
        "from=2025-09-26&count=0",
        "from=2025-09-26&count=x",
        "from=2025-09-26&count=9999",
    ] {
        let (s, v, _) = app
            .json(
                "GET",
                &format!("/api/v1/calendar/working-days?{bad}"),
                None,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert!(v["error"]["fields"].is_object(), "{v}");
    }
    // The district administrator adds 2027; the secretary may read but not change it.
    let sec = app.login("secretary").await;
    let (s, _, _) = app
        .json(
            "POST",
            "/api/v1/calendar/years",
            Some(&sec),
            Some(json!({"year": "2027", "source": "x", "holidays": "2027-01-01"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let zzb = app.login("zzb").await;
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/calendar/years",
            Some(&zzb),
            Some(json!({"year": "2027", "source": "国务院办公厅关于2027年部分节假日安排的通知", "holidays": "2027-01-01\n2026-02-06", "workdays": ""})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["fields"]["holidays"]
            .as_str()
            .unwrap()
            .contains("不在2027年"),
        "{v}"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM calendar_years").await,
        6,
        "nothing stored"
    );
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/calendar/years",
            Some(&zzb),
            Some(json!({"year": "2027", "source": "国务院办公厅关于2027年部分节假日安排的通知", "holidays": "2027-01-01, 2027-01-04", "workdays": "2027-01-09"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 7);
    let (_, v, _) = app
        .json(
            "GET",
            "/api/v1/calendar/working-days?from=2026-12-31&count=3",
            None,
            None,
        )
        .await;
    assert_eq!(
        v["working_days"],
        json!(["2027-01-05", "2027-01-06", "2027-01-07"]),
        "{v}"
    );
    assert_eq!(v["provisional"], false);
    let (s, _, html) = app
        .call(
            axum::http::Request::get("/calendar")
                .header("cookie", &zzb)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("2027") && html.contains("录入"), "{html}");

    // A data file in the shipped layout (test dates, not a real notice): every year or none.
    let source = common::urlencode("国办发明电〔2027〕1号（测试）");
    let import = format!("/api/v1/calendar/import?source={source}");
    let (s, _, _) = app
        .json(
            "POST",
            &import,
            Some(&sec),
            Some(json!({"2028": {"holidays": ["2028-01-01"], "workdays": []}})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v, _) = app
        .json(
            "POST",
            &import,
            Some(&zzb),
            Some(json!({
                "2028": {"holidays": ["2028-01-01", "2028-01-02", "2028-01-03"], "workdays": []},
                "2029": {"holidays": ["2029-01-01", "2030-01-02"], "workdays": []},
                "2030": {"holidays": ["2030-01-01"], "workdays": ["2030-01-01"]},
            })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let problem = v["error"]["fields"]["file"].as_str().unwrap_or_default();
    assert!(problem.contains("2029年"), "the year is named: {v}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM calendar_years").await,
        7,
        "a bad year stores none of the file"
    );
    let (s, v, _) = app
        .json(
            "POST",
            &import,
            Some(&zzb),
            Some(json!({"2030": {"holidays": ["2030-01-01"], "workdays": ["2030-01-01"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["fields"]["file"]
            .as_str()
            .unwrap()
            .contains("2030年：2030-01-01 不能既是节假日又是调休上班日"),
        "{v}"
    );
    let (s, v, _) = app
        .json(
            "POST",
            "/api/v1/calendar/import",
            Some(&zzb),
            Some(json!({"2028": {"holidays": ["2028-01-03"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"]["fields"]["source"].is_string(), "{v}");
    let (s, v, _) = app
        .json(
            "POST",
            &import,
            Some(&zzb),
            Some(json!({"_about": "测试", "2028": {"holidays": ["2028-01-01", "2028-01-03"], "workdays": ["2028-01-08"]}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v.as_array().unwrap().len(), 8);
    let (_, v, _) = app
        .json(
            "GET",
            "/api/v1/calendar/working-days?from=2028-01-02&count=2",
            None,
            None,
        )
        .await;
    assert_eq!(
        v["working_days"],
        json!(["2028-01-04", "2028-01-05"]),
        "{v}"
    );
    // The same through the page, as a file upload.
    let (_, h, _) = app
        .call(
            axum::http::Request::get("/calendar")
                .header("cookie", &zzb)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let csrf = cookie_from(&h, "rt_csrf");
    let token = csrf.split('=').nth(1).unwrap().to_string();
    let cookies = format!("{zzb}; {csrf}");
    let upload = format!("/calendar/import?_csrf={token}");
    let (s, _, html) = post_multipart(
        &app,
        &upload,
        &cookies,
        &[("source", "测试通知")],
        &[b"{not json".to_vec()],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("不是节假日数据文件") && html.contains("测试通知"),
        "{html}"
    );
    let file = br#"{"2029": {"holidays": ["2029-01-01"], "workdays": []}}"#.to_vec();
    let (s, _, _) =
        post_multipart(&app, &upload, &cookies, &[("source", "测试通知")], &[file]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM calendar_years").await, 9);
}

/// A case of the secretary's community run through steps 1–3 by the API: its id.
async fn case_at_deliberation(app: &App, sec: &str, title: &str, level: &str) -> i64 {
    let org = community_of(app, sec).await;
    let topic = accepted_topic(app, sec, title, level).await;
    let (_, c, _) = app
        .json(
            "POST",
            "/api/v1/cases",
            Some(sec),
            Some(json!({"topic_id": topic})),
        )
        .await;
    let id = c["id"].as_i64().unwrap();
    mv(app, sec, id, json!({"action": "advance"})).await;
    let member = council_person(app, org).await;
    app.json(
        "POST",
        &format!("/api/v1/cases/{id}/visits"),
        Some(sec),
        Some(json!({"visitor_person_id": member, "place": "现场", "visited_on": today().to_string(), "findings": "属实", "opinion": "同意"})),
    )
    .await;
    let today = today().to_string();
    let mut docs = vec![
        ("preliminary_plan", json!({"content": "初步方案"})),
        (
            "council_meeting",
            json!({"held_on": today, "attendees": "理事会", "conclusions": "可行"}),
        ),
        (
            "feasibility",
            json!({"nature": "公共事务", "content": "内容", "impact": "影响", "scope": "范围", "conclusion": "可行"}),
        ),
        (
            "meeting_plan",
            json!({"date": "2026-12-05", "time": "09:30", "place": "社区党群服务中心二楼", "participants": "固定人员及相关方", "agenda": "按R-MEET-3"}),
        ),
    ];
    if level == "district" {
        docs.push((
            "leader_consultation",
            json!({"leader": "区级领导", "consulted_on": today, "notes": "同意"}),
        ));
    }
    for (i, (kind, body)) in docs.into_iter().enumerate() {
        let (s, v) = put_doc(app, sec, id, kind, body).await;
        assert_eq!(s, StatusCode::OK, "{kind} {v}");
        if i == 0 {
            let (s, v) = mv(app, sec, id, json!({"action": "advance"})).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    }
    let (s, v) = mv(app, sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "deliberation");
    id
}

async fn meeting(
    app: &App,
    sec: &str,
    method: &str,
    id: i64,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (s, v, _) = app
        .json(
            method,
            &format!("/api/v1/cases/{id}/meeting{path}"),
            Some(sec),
            body,
        )
        .await;
    (s, v)
}

#[tokio::test]
async fn r_meet_1_to_4_the_meeting_from_plan_to_filing() {
    let app = app().await;
    let sec = app.login("secretary").await;
    let id = case_at_deliberation(&app, &sec, "小区加装电梯", "district").await;

    // Planned from the 议事方案: nothing typed again; fixed members from the links.
    let (s, v) = meeting(&app, &sec, "PUT", id, "", Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["meeting"]["held_on"], "2026-12-05");
    assert_eq!(v["meeting"]["start_time"], "09:30");
    assert_eq!(v["meeting"]["place"], "社区党群服务中心二楼");
    let ps = v["participants"].as_array().unwrap().clone();
    assert!(
        ps.iter()
            .any(|p| p["kind"] == "district_leader" && p["fixed"] == true),
        "{v}"
    );
    assert!(ps.iter().any(|p| p["kind"] == "community_cadre"), "{v}");
    // R-MEET-4: a district-level meeting is chaired by the linked district leader.
    let leader = ps.iter().find(|p| p["kind"] == "district_leader").unwrap();
    assert_eq!(v["meeting"]["chair_name"], leader["name"]);
    assert_eq!(v["chair_rule"], "挂点区级领导");
    // R-MEET-1: too few people is a warning; opening without a reason is refused.
    let n = ps.len();
    assert!(n < 15, "{n}");
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["rule"] == "R-MEET-1"),
        "{v}"
    );
    let (s, v) = meeting(&app, &sec, "POST", id, "/open", Some(json!({}))).await;
    assert_rule(s, &v, "R-MEET-1");
    // Sign-in before the meeting opens is refused.
    let pid = ps[0]["id"].as_i64().unwrap();
    let (s, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        &format!("/participants/{pid}/sign-in"),
        None,
    )
    .await;
    assert_rule(s, &v, "R-MEET-3");

    // Mobile members: a person or a unit of the organisation; nothing typed from nowhere.
    let (s, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/participants",
        Some(json!({"kind": "other"})),
    )
    .await;
    assert_rule(s, &v, "R-MEET-2");
    let (s, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/participants",
        Some(json!({"person_id": 999999})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, people, _) = app
        .json(
            "GET",
            &format!(
                "/api/v1/people?per_page=40&org_id={}",
                community_of(&app, &sec).await
            ),
            Some(&sec),
            None,
        )
        .await;
    let mut added = 0;
    for p in people["items"].as_array().unwrap() {
        let (s, _) = meeting(
            &app,
            &sec,
            "POST",
            id,
            "/participants",
            Some(json!({"person_id": p["id"]})),
        )
        .await;
        if s == StatusCode::OK {
            added += 1;
        }
        if n + added >= 16 {
            break;
        }
    }
    let (_, units, _) = app
        .json("GET", "/api/v1/units?per_page=1", Some(&sec), None)
        .await;
    let (s, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/participants",
        Some(json!({"unit_id": units["items"][0]["id"], "name": "刘经理"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let size = v["participants"].as_array().unwrap().len();
    assert!((15..=25).contains(&size), "{size}");
    assert!(
        !v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["rule"] == "R-MEET-1"),
        "{v}"
    );
    // A person already at the table is not added twice.
    let again = v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["fixed"] == false && p["person_id"].is_i64())
        .unwrap()["person_id"]
        .clone();
    let (s, _) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/participants",
        Some(json!({"person_id": again})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = meeting(&app, &sec, "POST", id, "/open", Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["meeting"]["status"], "held");
    // The plan is frozen once the meeting has started.
    let (s, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/participants",
        Some(json!({"person_id": again})),
    )
    .await;
    assert_rule(s, &v, "R-MEET-3");

    // Sign-in (once each).
    let (_, v) = meeting(&app, &sec, "GET", id, "", None).await;
    let ps = v["participants"].as_array().unwrap().clone();
    for p in ps.iter().take(15) {
        let (s, v) = meeting(
            &app,
            &sec,
            "POST",
            id,
            &format!("/participants/{}/sign-in", p["id"]),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, _) = meeting(
        &app,
        &sec,
        "POST",
        id,
        &format!("/participants/{}/sign-in", ps[0]["id"]),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Minutes: draft → review (comments) → confirmed, then frozen; a correction is a new version.
    let (s, v) = meeting(
        &app,
        &sec,
        "PUT",
        id,
        "/minutes",
        Some(json!({"introduction": "", "proposal": ""})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = meeting(
        &app,
        &sec,
        "PUT",
        id,
        "/minutes",
        Some(json!({"introduction": "介绍议题来源", "discussion": "居民代表赞成加装"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/minutes/actions",
        Some(json!({"action": "confirm"})),
    )
    .await;
    assert_rule(s, &v, "R-MEET-3");
    meeting(
        &app,
        &sec,
        "POST",
        id,
        "/minutes/actions",
        Some(json!({"action": "review"})),
    )
    .await;
    let (s, v) = meeting(
        &app,
        &sec,
        "PUT",
        id,
        "/minutes",
        Some(json!({"introduction": "改"})),
    )
    .await;
    assert_rule(s, &v, "R-MEET-3");
    let leader_login = app.login("leader").await;
    let (s, v) = meeting(
        &app,
        &leader_login,
        "POST",
        id,
        "/minutes/comments",
        Some(json!({"body": "请补充资金来源的讨论"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["comments"].as_array().unwrap().len(), 1);
    let (s, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/minutes/actions",
        Some(json!({"action": "confirm"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["minutes"][0]["status"], "confirmed");
    let (s, v) = meeting(
        &app,
        &sec,
        "PUT",
        id,
        "/minutes",
        Some(json!({"introduction": "偷偷改"})),
    )
    .await;
    assert_rule(s, &v, "R-MEET-3");
    let (s, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/minutes/actions",
        Some(json!({"action": "correct"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/minutes/actions",
        Some(json!({"action": "correct", "reason": "补记资金来源讨论"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["minutes"][0]["version"], 2);
    assert_eq!(v["minutes"][0]["status"], "draft");
    assert_eq!(
        v["minutes"][1]["status"], "confirmed",
        "the confirmed version stays until the correction is confirmed"
    );
    meeting(&app, &sec, "PUT", id, "/minutes", Some(json!({"introduction": "介绍议题来源", "discussion": "居民代表赞成加装；资金由财政补贴和居民自筹"}))).await;
    meeting(
        &app,
        &sec,
        "POST",
        id,
        "/minutes/actions",
        Some(json!({"action": "review"})),
    )
    .await;
    let (_, v) = meeting(
        &app,
        &sec,
        "POST",
        id,
        "/minutes/actions",
        Some(json!({"action": "confirm"})),
    )
    .await;
    assert_eq!(v["minutes"][0]["status"], "confirmed");
    assert_eq!(v["minutes"][1]["status"], "superseded");

    // The step cannot close before the resolution and the filing number.
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_rule(s, &v, "R-PROC-4");
    let (s, v) = meeting(&app, &sec, "POST", id, "/filing", None).await;
    assert_rule(s, &v, "R-PROC-4");
    // Votes: all three or none; never more than those present; never negative.
    let (s, v) = meeting(
        &app,
        &sec,
        "PUT",
        id,
        "/resolution",
        Some(json!({"text": "同意加装", "votes_for": "10"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = meeting(&app, &sec, "PUT", id, "/resolution", Some(json!({"text": "同意加装", "votes_for": "14", "votes_against": "1", "votes_abstain": "1"}))).await;
    assert_rule(s, &v, "R-PROC-4");
    let (s, v) = meeting(&app, &sec, "PUT", id, "/resolution", Some(json!({"text": "同意加装", "votes_for": "-1", "votes_against": "0", "votes_abstain": "0"}))).await;
    assert_rule(s, &v, "R-PROC-4");
    let (s, v) = meeting(&app, &sec, "PUT", id, "/resolution", Some(json!({"text": "同意加装电梯，资金按比例分担", "votes_for": "13", "votes_against": "1", "votes_abstain": "1"}))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = meeting(&app, &sec, "POST", id, "/filing", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let number = v["meeting"]["filing_number"].as_str().unwrap().to_string();
    assert!(number.ends_with("-2026-001"), "{number}");
    let (s, v) = meeting(
        &app,
        &sec,
        "PUT",
        id,
        "/resolution",
        Some(json!({"text": "改决议"})),
    )
    .await;
    assert_rule(s, &v, "R-PROC-4");
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "notice");

    // The next case of the community in the same year gets the next number.
    let id2 = case_at_deliberation(&app, &sec, "楼道照明", "community").await;
    let (_, v) = meeting(&app, &sec, "PUT", id2, "", Some(json!({}))).await;
    // R-MEET-4: a community-level meeting is chaired by the party secretary (when recorded).
    assert_eq!(v["chair_rule"], "社区党组织书记");
    let (_, v) = meeting(
        &app,
        &sec,
        "POST",
        id2,
        "/open",
        Some(json!({"override_reason": "楼道小事，人数从简"})),
    )
    .await;
    assert_eq!(v["meeting"]["override_reason"], "楼道小事，人数从简");
    let p = v["participants"][0]["id"].clone();
    meeting(
        &app,
        &sec,
        "POST",
        id2,
        &format!("/participants/{p}/sign-in"),
        None,
    )
    .await;
    meeting(
        &app,
        &sec,
        "PUT",
        id2,
        "/minutes",
        Some(json!({"summary": "同意更换"})),
    )
    .await;
    meeting(
        &app,
        &sec,
        "POST",
        id2,
        "/minutes/actions",
        Some(json!({"action": "review"})),
    )
    .await;
    meeting(
        &app,
        &sec,
        "POST",
        id2,
        "/minutes/actions",
        Some(json!({"action": "confirm"})),
    )
    .await;
    meeting(
        &app,
        &sec,
        "PUT",
        id2,
        "/resolution",
        Some(json!({"text": "更换声控灯"})),
    )
    .await;
    let (s, v) = meeting(&app, &sec, "POST", id2, "/filing", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["meeting"]["filing_number"].as_str().unwrap(),
        number.replace("-001", "-002")
    );
    assert!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'meeting.%'"
        )
        .await
            > 30
    );
}

/// The case's meeting held, minuted, resolved and filed; the case moved to 项目公示.
async fn case_at_notice(app: &App, sec: &str, title: &str, level: &str) -> i64 {
    let id = case_at_deliberation(app, sec, title, level).await;
    meeting(app, sec, "PUT", id, "", Some(json!({}))).await;
    let (_, v) = meeting(
        app,
        sec,
        "POST",
        id,
        "/open",
        Some(json!({"override_reason": "测试从简"})),
    )
    .await;
    let p = v["participants"][0]["id"].clone();
    meeting(
        app,
        sec,
        "POST",
        id,
        &format!("/participants/{p}/sign-in"),
        None,
    )
    .await;
    meeting(
        app,
        sec,
        "PUT",
        id,
        "/minutes",
        Some(json!({"resolution": "同意实施"})),
    )
    .await;
    meeting(
        app,
        sec,
        "POST",
        id,
        "/minutes/actions",
        Some(json!({"action": "review"})),
    )
    .await;
    meeting(
        app,
        sec,
        "POST",
        id,
        "/minutes/actions",
        Some(json!({"action": "confirm"})),
    )
    .await;
    meeting(
        app,
        sec,
        "PUT",
        id,
        "/resolution",
        Some(json!({"text": "同意实施"})),
    )
    .await;
    let (s, v) = meeting(app, sec, "POST", id, "/filing", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = mv(app, sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

async fn post(app: &App, who: &str, id: i64, path: &str, body: Value) -> (StatusCode, Value) {
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/cases/{id}{path}"),
            Some(who),
            Some(body),
        )
        .await;
    (s, v)
}

/// What a week later looks like: the notice's period moved into the past (the clock is not
/// the test's to move).
async fn notice_period_passes(app: &App, id: i64) {
    let d = |days: i64| (today() - chrono::Duration::days(days)).to_string();
    app.db
        .pool()
        .execute(Sql::with(
            "UPDATE notices SET published_on = $1, starts_on = $2, ends_on = $3 WHERE case_id = $4",
            roundtable_store::args![
                d(12).parse::<chrono::NaiveDate>().unwrap(),
                d(11).parse::<chrono::NaiveDate>().unwrap(),
                d(1).parse::<chrono::NaiveDate>().unwrap(),
                id
            ],
        ))
        .await
        .unwrap();
}

/// Issue 6: the public page shows the fingerprints of the notice version and of the filed
/// resolution; anyone can ask what each stands for; the printed copies carry them; the audit
/// chain recorded each digest; a kept text changed afterwards no longer matches.
async fn fingerprints_confirm_what_was_published(app: &App, sec: &str, id: i64, public: &Value) {
    let notice_fp = public["notice_fingerprint"]
        .as_str()
        .expect("notice fingerprint");
    let resolution_fp = public["resolution_fingerprint"]
        .as_str()
        .expect("resolution fingerprint");
    assert_ne!(notice_fp, resolution_fp);
    let (s, v, _) = app
        .json(
            "GET",
            &format!(
                "/api/v1/public/verify/{}",
                notice_fp.to_lowercase().replace('-', "")
            ),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["kind"].as_str(), v["intact"].as_bool()),
        (Some("notice"), Some(true)),
        "{v}"
    );
    assert_eq!(v["code"], notice_fp);
    assert_eq!(
        v["content"]["version"], public["notice_version"],
        "the version shown: {v}"
    );
    assert!(v["content"]["content"]["tasks"].is_array(), "{v}");
    let (s, v, _) = app
        .json(
            "GET",
            &format!("/api/v1/public/verify/{resolution_fp}"),
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["content"]["resolution"], "同意实施");
    assert!(v["content"]["filing_number"].is_string(), "{v}");
    // Malformed, or never issued.
    let (s, v, _) = app
        .json("GET", "/api/v1/public/verify/not-a-print", None, None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["error"]["fields"]["fingerprint"].is_string(), "{v}");
    let (s, _, _) = app
        .json(
            "GET",
            "/api/v1/public/verify/0000-0000-0000-0000",
            None,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The resident's page, the printed notice and minutes.
    let page = |uri: String| {
        axum::http::Request::get(uri)
            .header("cookie", sec)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let (s, _, html) = app.call(page(format!("/v/{notice_fp}"))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("核验一致") && html.contains(notice_fp),
        "{html}"
    );
    let (s, _, html) = app.call(page("/v/zzzz".into())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let (s, _, html) = app
        .call(page(format!("/cases/{id}/documents/notice")))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("公示指纹（SM3）：<strong>{notice_fp}")),
        "{html}"
    );
    let (_, _, html) = app
        .call(page(format!("/cases/{id}/documents/minutes")))
        .await;
    assert!(html.contains(resolution_fp), "{html}");
    let digest: String = app
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT digest FROM fingerprints WHERE code = $1",
            roundtable_store::args![notice_fp],
        ))
        .await
        .unwrap();
    assert_eq!(
        count(app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'notice.publish' AND after_json LIKE '%{digest}%'")).await,
        1,
        "the chain holds the digest"
    );
    // Changed behind the application's back: the page says so.
    app.db
        .pool()
        .execute(Sql::with(
            "UPDATE fingerprints SET content = REPLACE(content, '同意实施', '同意暂缓') WHERE code = $1",
            roundtable_store::args![resolution_fp],
        ))
        .await
        .unwrap();
    let (_, v, _) = app
        .json(
            "GET",
            &format!("/api/v1/public/verify/{resolution_fp}"),
            None,
            None,
        )
        .await;
    assert_eq!(v["intact"], false, "{v}");
}

#[tokio::test]
async fn r_proc_5_to_7_notice_ledger_supervision_to_done() {
    let app = app().await;
    let sec = app.login("secretary").await;
    let id = case_at_notice(&app, &sec, "北门路面修补", "street").await;
    let (_, people, _) = app
        .json("GET", "/api/v1/people?per_page=5", Some(&sec), None)
        .await;
    let owner = people["items"][0]["id"].as_i64().unwrap();

    // R-PROC-5: the plan. Dates in order, amounts in whole fen, never negative.
    let (s, v) = post(&app, &sec, id, "/plan/tasks", json!({"title": "路面修补", "owner_person_id": owner, "unit_name": "社区居委会", "starts_on": "2026-12-10", "due_on": "2026-12-01"})).await;
    assert_rule(s, &v, "R-PROC-5");
    assert!(v["error"]["fields"]["due_on"].is_string(), "{v}");
    let (s, v) = post(&app, &sec, id, "/plan/tasks", json!({"title": "路面修补", "owner_person_id": owner, "unit_name": "社区居委会", "starts_on": "2026-12-01", "due_on": "2026-12-20", "milestone": "1"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = post(&app, &sec, id, "/plan/tasks", json!({"title": "加装排水沟", "owner_name": "王工", "unit_name": "物业公司", "starts_on": "2026-12-05", "due_on": "2026-12-25"})).await;
    assert_eq!(s, StatusCode::OK);
    for bad in ["-100", "12.345", "十元"] {
        let (s, v) = post(
            &app,
            &sec,
            id,
            "/plan/budget",
            json!({"source": "fiscal", "amount": bad}),
        )
        .await;
        assert_rule(s, &v, "R-SUP-1");
    }
    let (s, v) = post(
        &app,
        &sec,
        id,
        "/plan/budget",
        json!({"source": "财政资金", "amount": "12,000.50"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    post(
        &app,
        &sec,
        id,
        "/plan/budget",
        json!({"source": "residents", "amount": "3000"}),
    )
    .await;
    let (_, v) = post(
        &app,
        &sec,
        id,
        "/plan/budget",
        json!({"source": "unit", "amount": "0.05"}),
    )
    .await;
    assert_eq!(v["budget_total"], "15,000.55");
    assert_eq!(v["budget"][0]["amount_fen"], 1_200_050);
    // Publishing needs the agreements first.
    let (s, v) = post(&app, &sec, id, "/notices", json!({})).await;
    assert_rule(s, &v, "R-PROC-5");
    let tomorrow = (today() + chrono::Duration::days(1)).to_string();
    let (s, v) = post(
        &app,
        &sec,
        id,
        "/plan/agreements",
        json!({"party": "区住建局", "party_kind": "department", "agreed_on": tomorrow}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = post(&app, &sec, id, "/plan/agreements", json!({"party": "区住建局", "party_kind": "department", "agreed_on": today().to_string(), "note": "原则同意"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, n) = post(&app, &sec, id, "/notices", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    assert_eq!(n["version"], 1);
    // R-CAL-1: the period is the next five working days, computed from the holiday data.
    let (_, wd, _) = app
        .json(
            "GET",
            &format!("/api/v1/calendar/working-days?from={}&count=5", today()),
            None,
            None,
        )
        .await;
    assert_eq!(n["starts_on"], wd["working_days"][0]);
    assert_eq!(n["ends_on"], wd["end"]);
    assert_eq!(n["content"]["budget_total"], "15,000.55");
    // A published notice is not edited in place; publishing again without a change is refused.
    let (s, v) = post(&app, &sec, id, "/notices", json!({})).await;
    assert_rule(s, &v, "R-PROC-5");

    // Implementation cannot start during the notice.
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_rule(s, &v, "R-CAL-1");

    // A resident objects on the public page; no personal data comes back.
    let code = step(&app, &sec, id).await["case"]["public_code"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, v, _) = app
        .json("POST", &format!("/api/v1/public/cases/{code}/objections"), None, Some(json!({"content": "排水沟位置会影响1楼住户", "name": "张先生", "phone": "13800001111"})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(
        !v.to_string().contains("13800001111") && !v.to_string().contains("张先生"),
        "{v}"
    );
    assert_eq!(v["notice_running"], true);
    fingerprints_confirm_what_was_published(&app, &sec, id, &v).await;
    // A bot filling the honeypot is answered but nothing is stored.
    app.json(
        "POST",
        &format!("/api/v1/public/cases/{code}/objections"),
        None,
        Some(json!({"content": "spam", "website": "x"})),
    )
    .await;
    let (_, p, _) = app
        .json(
            "GET",
            &format!("/api/v1/cases/{id}/project"),
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(p["objections"].as_array().unwrap().len(), 1);
    assert_eq!(p["notice_state"], "running");
    assert!(p["notice_label"].as_str().unwrap().contains("至"), "{p}");
    let (s, v, _) = app
        .json("GET", "/api/v1/public/cases/0000zzzz0000", None, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    // A material change of the plan after publication: the notice is out of date.
    post(&app, &sec, id, "/plan/tasks", json!({"title": "排水沟改线", "owner_name": "王工", "unit_name": "物业公司", "starts_on": "2026-12-05", "due_on": "2026-12-26"})).await;
    notice_period_passes(&app, id).await;
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_rule(s, &v, "R-PROC-5");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("重新发布"),
        "{v}"
    );
    let (s, n) = post(&app, &sec, id, "/notices", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    assert_eq!(n["version"], 2);
    notice_period_passes(&app, id).await;
    // The objection is still open.
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_rule(s, &v, "R-PROC-5");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("异议"),
        "{v}"
    );
    let oid = p["objections"][0]["id"].as_i64().unwrap();
    let (s, _) = post(
        &app,
        &sec,
        id,
        &format!("/objections/{oid}/answer"),
        json!({"answer": " "}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = post(
        &app,
        &sec,
        id,
        &format!("/objections/{oid}/answer"),
        json!({"answer": "排水沟已改线，避开1楼住户窗前"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = post(
        &app,
        &sec,
        id,
        &format!("/objections/{oid}/answer"),
        json!({"answer": "再答一次"}),
    )
    .await;
    assert_rule(s, &v, "R-PROC-5");
    // After the notice, objections are no longer received.
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/public/cases/{code}/objections"),
            None,
            Some(json!({"content": "晚了"})),
        )
        .await;
    assert_rule(s, &v, "R-PROC-5");
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "implementation");

    // R-PROC-6: the ledger comes from the plan; 销号 needs evidence; someone else confirms.
    let (_, p, _) = app
        .json(
            "GET",
            &format!("/api/v1/cases/{id}/project"),
            Some(&sec),
            None,
        )
        .await;
    let items: Vec<i64> = p["ledger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(items.len(), 3);
    let (s, v) = post(
        &app,
        &sec,
        id,
        &format!("/ledger/{}/actions", items[0]),
        json!({"action": "close"}),
    )
    .await;
    assert_rule(s, &v, "R-PROC-6");
    let (s, v) = post(
        &app,
        &sec,
        id,
        &format!("/ledger/{}/actions", items[0]),
        json!({"action": "close", "evidence": "已修补120平方米"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "closed");
    let (s, v) = post(
        &app,
        &sec,
        id,
        &format!("/ledger/{}/actions", items[0]),
        json!({"action": "confirm"}),
    )
    .await;
    assert_rule(s, &v, "R-PROC-6");
    assert!(v["error"]["fields"]["confirmed_by"].is_string(), "{v}");
    let staff = app.login("staff").await;
    // A photo is evidence enough for a 销号 (R-PROC-6): sent to the item through the API first.
    let evidence_uri = format!("/api/v1/cases/{id}/evidence/ledger_item/{}", items[2]);
    let (s, _, body) = post_multipart(&app, &evidence_uri, &staff, &[], &[png()]).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let photos: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(photos.as_array().unwrap().len(), 1, "{photos}");
    let (s, _, body) =
        post_multipart(&app, &evidence_uri, &staff, &[], &[b"GIF89a".to_vec()]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("validation_failed") && body.contains("photos"),
        "{body}"
    );
    for item in &items {
        if *item != items[0] {
            let close = if *item == items[2] {
                json!({"action": "close"})
            } else {
                json!({"action": "close", "evidence": "完成"})
            };
            let (s, v) = post(&app, &staff, id, &format!("/ledger/{item}/actions"), close).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    }
    // Ticked off, the item's evidence is what its confirmer sees: no more photos.
    let (s, _, body) = post_multipart(&app, &evidence_uri, &staff, &[], &[png()]).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_rule(s, &v, "R-PROC-6");
    let photo_id = photos[0]["id"].as_i64().unwrap();
    let (s, _, _) = app
        .call_raw(
            axum::http::Request::get(format!("/api/v1/cases/{id}/photos/{photo_id}?thumb=true"))
                .header("cookie", &staff)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = post(
        &app,
        &staff,
        id,
        &format!("/ledger/{}/actions", items[0]),
        json!({"action": "confirm"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "confirmed");
    // Sent back with a reason, then closed and confirmed again.
    let (s, _) = post(
        &app,
        &sec,
        id,
        &format!("/ledger/{}/actions", items[1]),
        json!({"action": "reopen", "evidence": "照片不清楚"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    post(
        &app,
        &staff,
        id,
        &format!("/ledger/{}/actions", items[1]),
        json!({"action": "close", "evidence": "补拍照片"}),
    )
    .await;
    for item in &items[1..] {
        let (s, v) = post(
            &app,
            &sec,
            id,
            &format!("/ledger/{item}/actions"),
            json!({"action": "confirm"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    // A street-level project needs the leader's supervision (挂帅督办) before it closes.
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_rule(s, &v, "R-PROC-6");
    let (s, _) = post(
        &app,
        &sec,
        id,
        "/remarks",
        json!({"remark": "书记不能代替领导督办"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let street = app.login("street").await;
    let (s, v) = post(
        &app,
        &street,
        id,
        "/remarks",
        json!({"remark": "请物业在月底前完成排水沟并报街道"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = post(&app, &sec, id, "/bulletins", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "supervision");

    // R-PROC-7: committee, inspection, bulletin, acceptance; then 办结.
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_rule(s, &v, "R-PROC-7");
    let (s, v) = post(
        &app,
        &sec,
        id,
        "/committee",
        json!({"person_id": owner, "side": "nobody"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = post(
        &app,
        &sec,
        id,
        "/committee",
        json!({"person_id": owner, "side": "party_organisation"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post(
        &app,
        &sec,
        id,
        "/committee",
        json!({"person_id": owner, "side": "executor"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a member once");
    let (s, v) = post(&app, &sec, id, "/inspections", json!({"inspected_on": tomorrow, "inspectors": "监督委员会", "progress": "完成", "quality": "合格", "deadline": "按期"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = post(&app, &sec, id, "/inspections", json!({"inspected_on": today().to_string(), "inspectors": "监督委员会3人", "progress": "全部完成", "quality": "路面平整，排水通畅", "deadline": "按期完成"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = post(&app, &sec, id, "/bulletins", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["bulletins"][0]["seq"], 2);
    assert_eq!(v["bulletins"][0]["content"]["confirmed"], 3);
    let (s, _, _) = app
        .json(
            "PUT",
            &format!("/api/v1/cases/{id}/bulletin-period"),
            Some(&sec),
            Some(json!({"days": "3"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Satisfaction opens at acceptance.
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/public/cases/{code}/votes"),
            None,
            Some(json!({"choice": "satisfied", "device_id": "phone-0001"})),
        )
        .await;
    assert_rule(s, &v, "R-PROC-7");
    let (s, _) = post(&app, &sec, id, "/acceptance", json!({"accepted_on": today().to_string(), "members": "社区、街道、监督委员会、居民代表", "conclusion": "验收合格"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post(
        &app,
        &sec,
        id,
        "/acceptance",
        json!({"accepted_on": today().to_string(), "members": "x", "conclusion": "x"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "accepted once");
    let (s, v, _) = app
        .json(
            "POST",
            &format!("/api/v1/public/cases/{code}/votes"),
            None,
            Some(json!({"choice": "满意", "device_id": "phone-0001"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _, _) = app
        .json(
            "POST",
            &format!("/api/v1/public/cases/{code}/votes"),
            None,
            Some(json!({"choice": "dissatisfied", "device_id": "phone-0001"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "once per device");
    let (s, v) = mv(&app, &sec, id, json!({"action": "advance"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["step"], "done");
    assert!(v["finished_at"].is_string());
    // The source topic and its submitter see the outcome.
    let topic = v["topic_id"].as_i64().unwrap();
    let (_, t, _) = app
        .json("GET", &format!("/api/v1/topics/{topic}"), Some(&sec), None)
        .await;
    assert_eq!(t["topic"]["status"], "done");
    let (_, pc, _) = app
        .json("GET", &format!("/api/v1/public/cases/{code}"), None, None)
        .await;
    assert_eq!(pc["step"], "办结");
    assert_eq!(pc["votes"][0]["votes"], 1);
    assert_eq!(pc["ledger"].as_array().unwrap().len(), 3);
    let view = step(&app, &sec, id).await;
    assert!(
        view["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "done"),
        "{view}"
    );

    // The whole journey in order, as JSON and as a page; every document prints.
    let (s, tl, _) = app
        .json(
            "GET",
            &format!("/api/v1/cases/{id}/timeline"),
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{tl}");
    let entries = tl.as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "topic",
        "step",
        "visit",
        "document",
        "meeting",
        "filing",
        "notice",
        "objection",
        "answer",
        "ledger",
        "remark",
        "inspection",
        "bulletin",
        "acceptance",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(
        kinds[0] == "topic"
            && entries
                .iter()
                .all(|e| e["link"].as_str().unwrap().starts_with('/'))
    );
    let parsed: Vec<chrono::DateTime<chrono::Utc>> =
        times.iter().map(|t| t.parse().unwrap()).collect();
    assert!(
        parsed.windows(2).all(|w| w[0] <= w[1]),
        "ordered: {times:?}"
    );
    let get = |uri: String| {
        let app = &app;
        let sec = sec.clone();
        async move {
            app.call(
                axum::http::Request::get(uri)
                    .header("cookie", sec)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    let (s, _, html) = get(format!("/cases/{id}/timeline")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("全过程记录") && html.contains("发布公示第2版"),
        "{html}"
    );
    for (kind, text) in [
        ("meeting_notice", "会议通知"),
        ("sign_in", "签到表"),
        ("minutes", "备案登记号"),
        ("notice", "公示期："),
        ("plan", "攻坚任务计划书"),
        ("bulletin", "第2期"),
        ("completion", "验收合格"),
    ] {
        let (s, _, html) = get(format!("/cases/{id}/documents/{kind}")).await;
        assert_eq!(s, StatusCode::OK, "{kind}");
        assert!(
            html.contains(text) && html.contains("class=\"doc\""),
            "{kind}: {html}"
        );
    }
    let (s, _, _) = get(format!("/cases/{id}/documents/bulletin?seq=1")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = get(format!("/cases/{id}/documents/nonsense")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn project_pages_public_page_and_ledger_export() {
    let app = app().await;
    let sec = app.login("secretary").await;
    let id = case_at_notice(&app, &sec, "小区健身器材更新", "community").await;
    let (_, h, _) = app
        .call(
            axum::http::Request::get(format!("/cases/{id}"))
                .header("cookie", &sec)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    let csrf = cookie_from(&h, "rt_csrf");
    let token = csrf.split('=').nth(1).unwrap().to_string();
    let cookies = format!("{sec}; {csrf}");
    let page = |uri: String, cookies: String| {
        let app = &app;
        async move {
            app.call(
                axum::http::Request::get(uri)
                    .header("cookie", cookies)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    // A task with its dates the wrong way round: the page again, the message by the field.
    let (s, _, html) = post_form(
        &app,
        &format!("/cases/{id}/plan/tasks"),
        &cookies,
        &token,
        &[
            ("title", "更换器材"),
            ("owner_name", "李工"),
            ("unit_name", "社区居委会"),
            ("starts_on", "2026-12-20"),
            ("due_on", "2026-12-01"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("不能早于开始日期") && html.contains("value=\"更换器材\""),
        "{html}"
    );
    for (path, fields) in [
        (
            "plan/tasks",
            vec![
                ("title", "更换器材"),
                ("owner_name", "李工"),
                ("unit_name", "社区居委会"),
                ("starts_on", "2026-12-01"),
                ("due_on", "2026-12-20"),
            ],
        ),
        (
            "plan/budget",
            vec![("source", "fiscal"), ("amount", "8000")],
        ),
        (
            "plan/agreements",
            vec![
                ("party", "物业公司"),
                ("party_kind", "stakeholder"),
                (
                    "agreed_on",
                    &*Box::leak(today().to_string().into_boxed_str()),
                ),
            ],
        ),
    ] {
        let (s, _, html) = post_form(
            &app,
            &format!("/cases/{id}/{path}"),
            &cookies,
            &token,
            &fields,
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{path}: {html}");
    }
    let (s, _, html) = post_form(
        &app,
        &format!("/cases/{id}/plan/budget"),
        &cookies,
        &token,
        &[("source", "fiscal"), ("amount", "-5")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("金额不能为负数"), "{html}");
    let (s, _, _) = post_form(&app, &format!("/cases/{id}/notices"), &cookies, &token, &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = page(format!("/cases/{id}"), cookies.clone()).await;
    assert!(
        html.contains("公示期：") && html.contains("公示中"),
        "{html}"
    );
    let code = step(&app, &sec, id).await["case"]["public_code"]
        .as_str()
        .unwrap()
        .to_string();
    // The public page: no sign-in, the notice's dates, an objection form; no personal data.
    let (s, h, html) = page(format!("/c/{code}"), String::new()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("公示期：") && html.contains("更换器材") && html.contains("8,000.00"),
        "{html}"
    );
    let pub_csrf = cookie_from(&h, "rt_csrf");
    let pub_token = pub_csrf.split('=').nth(1).unwrap().to_string();
    let (s, _, html) = post_form(
        &app,
        &format!("/c/{code}/objections"),
        &pub_csrf,
        &pub_token,
        &[("content", ""), ("phone", "123")],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("请填写意见内容") && html.contains("手机号码应为"),
        "{html}"
    );
    let (s, _, html) = post_form(
        &app,
        &format!("/c/{code}/objections"),
        &pub_csrf,
        &pub_token,
        &[
            ("content", "器材请选防滑款"),
            ("name", "赵女士"),
            ("phone", "13912340000"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("意见已收到") && !html.contains("13912340000") && !html.contains("赵女士"),
        "{html}"
    );
    // The objection reaches the case page, the phone masked.
    let (_, _, html) = page(format!("/cases/{id}"), cookies.clone()).await;
    assert!(
        html.contains("器材请选防滑款") && html.contains("139****0000"),
        "{html}"
    );
    assert!(!html.contains("13912340000"), "{html}");
    let (s, _, html) = page(format!("/cases/{id}/poster"), cookies.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<svg") && html.contains(&code), "{html}");
    // The ledger export (empty until implementation, still a workbook with the watermark).
    let (s, h, body) = app
        .call_raw(
            axum::http::Request::get(format!("/cases/{id}/ledger.xlsx"))
                .header("cookie", &sec)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.starts_with(b"PK"), "an xlsx is a zip");
    assert!(
        h.iter()
            .any(|(k, v)| k == "content-type" && v.contains("spreadsheetml"))
    );
    let staff = app.login("staff").await;
    let (s, _, _) = app
        .call_raw(
            axum::http::Request::get(format!("/api/v1/cases/{id}/ledger/export"))
                .header("cookie", &staff)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "community staff do not export");
}
