//! Issue 5, "Done when": a small scenario whose obligation results are known by hand, checked
//! rule by rule through the service (on the backend of ROUNDTABLE_TEST_DB) — a leader who
//! changes post in mid-year, first Saturdays in holidays (R-CAL-2), a case level that does not
//! count for full coverage, a member's six ones one short — and the API's answers to bad
//! periods and to a subtree outside the asker's scope, on the demo district.

mod common;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use roundtable_core::access::{Actor, Grant, Role};
use roundtable_core::obligations::HolidaySaturdayRule;
use roundtable_store::{Db, Exec, Sql, args, testing};
use roundtable_web::services::calendar::CalendarCache;
use roundtable_web::services::obligations::{self, ObligationQuery, ObligationReport};
use serde_json::json;

fn get(uri: &str, cookie: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::get(uri)
        .header("cookie", cookie)
        .body(axum::body::Body::empty())
        .unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(day: &str) -> DateTime<Utc> {
    // 10:00 in China.
    Utc.from_utc_datetime(&d(day).and_hms_opt(2, 0, 0).unwrap())
}

async fn one(db: &Db, sql: &str, a: Vec<roundtable_store::Val>) -> i64 {
    db.pool().fetch_one(Sql::with(sql, a)).await.unwrap()
}

async fn org(db: &Db, parent: Option<(i64, &str)>, kind: &str, name: &str) -> (i64, String) {
    let now = Utc::now();
    let id = one(
        db,
        "INSERT INTO orgs (parent_id, kind, name, code, path, sort_order, created_at, updated_at) VALUES ($1, $2, $3, $3, '', 0, $4, $4) RETURNING id",
        args![parent.map(|p| p.0), kind, name, now],
    )
    .await;
    let path = format!("{}{id}/", parent.map_or("/", |p| p.1));
    db.pool()
        .execute(Sql::with(
            "UPDATE orgs SET path = $1 WHERE id = $2",
            args![&path, id],
        ))
        .await
        .unwrap();
    (id, path)
}

async fn person(db: &Db, org_id: i64, name: &str, kind: &str) -> i64 {
    let now = Utc::now();
    let id = one(
        db,
        "INSERT INTO people (name, org_id, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        args![name, org_id, now],
    )
    .await;
    db.pool()
        .execute(Sql::with(
            "INSERT INTO person_kinds (person_id, kind) VALUES ($1, $2)",
            args![id, kind],
        ))
        .await
        .unwrap();
    id
}

async fn link(db: &Db, leader: i64, street: i64, start: &str, end: Option<&str>) {
    let now = Utc::now();
    db.pool()
        .execute(Sql::with(
            "INSERT INTO links (kind, person_id, org_id, start_date, end_date, created_at, updated_at) VALUES ('leader_street', $1, $2, $3, $4, $5, $5)",
            args![leader, street, d(start), end.map(d), now],
        ))
        .await
        .unwrap();
}

/// A case in `community` at `level`, opened on `opened`; finished on `finished` when given.
async fn case(
    db: &Db,
    community: i64,
    level: &str,
    opened: &str,
    finished: Option<&str>,
    n: i64,
) -> i64 {
    let now = at(opened);
    let topic = one(
        db,
        "INSERT INTO topics (tracking_code, org_id, title, description, category, channel, direction, contact_consent, level, terms, status, created_at, updated_at) VALUES ($1, $2, '议题', '说明', 'environment', 'home_visit', 'bottom_up', FALSE, $3, '', 'accepted', $4, $4) RETURNING id",
        args![format!("T{n}"), community, level, now],
    )
    .await;
    one(
        db,
        "INSERT INTO cases (public_code, topic_id, org_id, title, category, level, step, created_at, updated_at, finished_at) VALUES ($1, $2, $3, '案例', 'environment', $4, $5, $6, $6, $7) RETURNING id",
        args![
            format!("c{n:011}"),
            topic,
            community,
            level,
            if finished.is_some() { "done" } else { "deliberation" },
            now,
            finished.map(at)
        ],
    )
    .await
}

/// A round-table meeting held in `community` on `day`, the leader signed in when given.
async fn meeting(db: &Db, community: i64, day: &str, leader: Option<i64>, n: i64) -> i64 {
    let c = case(db, community, "community", day, None, n).await;
    let m = one(
        db,
        "INSERT INTO meetings (case_id, org_id, held_on, start_time, place, chair_name, warnings, status, created_at, updated_at) VALUES ($1, $2, $3, '09:30', '党群服务中心', '书记', '[]', 'held', $4, $4) RETURNING id",
        args![c, community, d(day), at(day)],
    )
    .await;
    if let Some(p) = leader {
        db.pool()
            .execute(Sql::with(
                "INSERT INTO meeting_participants (meeting_id, person_id, name, kind, fixed, signed_in_at, created_at) VALUES ($1, $2, '区级领导', 'district_leader', TRUE, $3, $3)",
                args![m, p, at(day)],
            ))
            .await
            .unwrap();
    }
    m
}

async fn six_one(db: &Db, person: i64, item: &str, day: &str) {
    db.pool()
        .execute(Sql::with(
            "INSERT INTO six_one_records (person_id, item, done_on, note, created_at) VALUES ($1, $2, $3, '已完成', $4)",
            args![person, item, d(day), Utc::now()],
        ))
        .await
        .unwrap();
}

struct World {
    db: Db,
    district: i64,
    s1: i64,
    s2: i64,
    c1: i64,
    c2: i64,
    c3: i64,
    leader: i64,
    m_short: i64,
    m_full: i64,
    case_c1: i64,
    case_c3: i64,
}

/// District D: street S1 (communities C1, C2), street S2 (C3). Leader L linked to S1 until
/// 2025-06-30, then to S2. Members M (C1, one of six short) and N (C3, all six).
async fn world() -> World {
    let db = testing::fresh_db().await.unwrap();
    let (district, dp) = org(&db, None, "district", "测试区").await;
    let (s1, s1p) = org(&db, Some((district, &dp)), "street", "一街道").await;
    let (s2, s2p) = org(&db, Some((district, &dp)), "street", "二街道").await;
    let (c1, _) = org(&db, Some((s1, &s1p)), "community", "甲社区").await;
    let (c2, _) = org(&db, Some((s1, &s1p)), "community", "乙社区").await;
    let (c3, _) = org(&db, Some((s2, &s2p)), "community", "丙社区").await;
    let leader = person(&db, district, "李领导", "district_leader").await;
    link(&db, leader, s1, "2025-01-01", Some("2025-06-30")).await;
    link(&db, leader, s2, "2025-07-01", None).await;

    // 3/1: the first Saturday, in S1. 5/17: a Saturday of May, whose first Saturday (5/3) lies
    // in the Labour Day holiday. 7/5: the first Saturday, but in S1, no longer linked.
    // 8/2: the first Saturday, in S2. 10/18: a Saturday of October, whose first Saturday
    // (10/4) lies in the National Day holiday. 9/9: a meeting without the leader.
    meeting(&db, c1, "2025-03-01", Some(leader), 1).await;
    meeting(&db, c2, "2025-05-17", Some(leader), 2).await;
    meeting(&db, c1, "2025-07-05", Some(leader), 3).await;
    meeting(&db, c3, "2025-08-02", Some(leader), 4).await;
    meeting(&db, c3, "2025-10-18", Some(leader), 5).await;
    meeting(&db, c2, "2025-09-09", None, 6).await;

    // Full coverage: C1 a street-level case finished, C2 only a community-level one, C3 a
    // district-level one; a street-level case of C2 finished in 2024 does not count for 2025.
    let case_c1 = case(&db, c1, "street", "2025-05-01", Some("2025-06-10"), 10).await;
    case(&db, c2, "community", "2025-03-01", Some("2025-04-01"), 11).await;
    case(&db, c2, "street", "2024-11-01", Some("2024-12-20"), 12).await;
    let case_c3 = case(&db, c3, "district", "2025-09-01", Some("2025-11-20"), 13).await;

    let m_short = person(&db, c1, "王党员", "party_member").await;
    let m_full = person(&db, c3, "赵党员", "party_member").await;
    for item in ["meeting", "talk", "survey", "wish", "volunteer"] {
        six_one(&db, m_short, item, "2025-04-01").await;
    }
    // Paired in 2024: not this year's.
    six_one(&db, m_short, "pairing", "2024-11-01").await;
    for item in ["meeting", "talk", "survey", "wish", "volunteer", "pairing"] {
        six_one(&db, m_full, item, "2025-09-01").await;
    }
    World {
        db,
        district,
        s1,
        s2,
        c1,
        c2,
        c3,
        leader,
        m_short,
        m_full,
        case_c1,
        case_c3,
    }
}

fn admin() -> Actor {
    Actor {
        // The command line's account: no user row in this database.
        user_id: 0,
        person_id: None,
        grants: vec![Grant {
            role: Role::SystemAdmin,
            org_id: None,
        }],
        linked_streets: vec![],
    }
}

async fn check(
    w: &World,
    actor: &Actor,
    org: i64,
    rule: HolidaySaturdayRule,
) -> Result<ObligationReport, roundtable_web::error::AppError> {
    let cache = CalendarCache::default();
    let q = ObligationQuery {
        org: Some(org.to_string()),
        from: Some("2025-01".into()),
        to: Some("2025-12".into()),
    };
    roundtable_store::clock::scoped(async {
        // Checked on 2026-01-10: every month, Saturday and the year of 2025 are over.
        roundtable_store::clock::set_now(at("2026-01-10"));
        obligations::check(&w.db, &cache, rule, actor, &q).await
    })
    .await
}

fn verdict(v: &obligations::VerdictOut) -> &str {
    v.code.as_str()
}

#[tokio::test]
async fn every_rule_on_a_scenario_known_by_hand() {
    let w = world().await;
    let r = check(&w, &admin(), w.district, HolidaySaturdayRule::AnySaturday)
        .await
        .unwrap();

    // R-PROC-0: C1 met in March and July, C2 in May and September, C3 in August and October;
    // every other month of 2025 missed.
    let met = |org: i64| -> Vec<String> {
        r.monthly_meetings
            .iter()
            .filter(|m| m.org_id == org && verdict(&m.verdict) == "met")
            .map(|m| m.month.clone())
            .collect()
    };
    assert_eq!(met(w.c1), ["2025-03", "2025-07"]);
    assert_eq!(met(w.c2), ["2025-05", "2025-09"]);
    assert_eq!(met(w.c3), ["2025-08", "2025-10"]);
    assert_eq!(r.monthly_meetings.len(), 36);
    let proc0 = &r.summary[0];
    assert_eq!(
        (proc0.rule.as_str(), proc0.tally.met, proc0.tally.missed),
        ("R-PROC-0", 6, 30)
    );

    // R-LEAD-1: linked every month (S1, then S2). On the day: March, May (flagged, any
    // Saturday), August, October (flagged); July's meeting was in S1, no longer linked.
    assert_eq!(r.leader_months.len(), 12);
    let months = |f: &dyn Fn(&obligations::LeaderMonthOut) -> bool| -> Vec<String> {
        r.leader_months
            .iter()
            .filter(|m| f(m))
            .map(|m| m.month.clone())
            .collect()
    };
    assert_eq!(
        months(&|m| m.flagged),
        ["2025-02", "2025-04", "2025-05", "2025-10"],
        "first Saturdays in the Spring Festival, Qingming, Labour Day and National Day holidays"
    );
    assert_eq!(
        months(&|m| verdict(&m.on_the_day) == "met"),
        ["2025-03", "2025-05", "2025-08", "2025-10"]
    );
    assert_eq!(
        months(&|m| verdict(&m.monthly) == "met"),
        ["2025-03", "2025-05", "2025-08", "2025-10"]
    );
    let july = r
        .leader_months
        .iter()
        .find(|m| m.month == "2025-07")
        .unwrap();
    assert!(july.attended.is_empty(), "S1 was no longer linked in July");
    assert_eq!(verdict(&july.on_the_day), "missed");
    let may = r
        .leader_months
        .iter()
        .find(|m| m.month == "2025-05")
        .unwrap();
    assert_eq!(may.first_saturday, Some(d("2025-05-03")));
    assert_eq!(may.attended[0].community, "乙社区");
    assert!(r.leader_months.iter().all(|m| m.leader_id == w.leader));

    // The deployment's rule: only the first Saturday itself counts.
    let strict = check(
        &w,
        &admin(),
        w.district,
        HolidaySaturdayRule::FirstSaturdayOnly,
    )
    .await
    .unwrap();
    let on_day: Vec<&str> = strict
        .leader_months
        .iter()
        .filter(|m| verdict(&m.on_the_day) == "met")
        .map(|m| m.month.as_str())
        .collect();
    assert_eq!(on_day, ["2025-03", "2025-08"]);

    // R-LEAD-2 for 2025: linked to S1 and S2 that year, so C1, C2, C3; C2's finished case was
    // the community's own, its street-level one finished in 2024.
    assert_eq!(r.coverage.len(), 1);
    let cov = &r.coverage[0];
    assert_eq!(cov.year, 2025);
    assert_eq!(
        cov.covered
            .iter()
            .map(|c| (c.org_id, c.case_id))
            .collect::<Vec<_>>(),
        [(w.c1, w.case_c1), (w.c3, w.case_c3)]
    );
    assert_eq!(
        cov.uncovered.iter().map(|c| c.id).collect::<Vec<_>>(),
        [w.c2]
    );
    assert_eq!(verdict(&cov.verdict), "missed");

    // R-MEM-1: M is one short (paired only in 2024), N did all six.
    let m = r
        .six_ones
        .iter()
        .find(|s| s.person_id == w.m_short)
        .unwrap();
    assert_eq!(verdict(&m.verdict), "missed");
    assert_eq!(
        m.missing
            .iter()
            .map(|i| i.item.as_str())
            .collect::<Vec<_>>(),
        ["pairing"]
    );
    let n = r.six_ones.iter().find(|s| s.person_id == w.m_full).unwrap();
    assert_eq!(verdict(&n.verdict), "met");
    assert_eq!(n.done.len(), 6);
    assert_eq!(r.six_ones.len(), 2);

    // Drill-down: the streets below the district.
    assert_eq!(
        r.children.iter().map(|c| c.id).collect::<Vec<_>>(),
        [w.s1, w.s2]
    );
}

#[tokio::test]
async fn a_street_sees_its_own_part_and_the_leader_only_while_linked_to_it() {
    let w = world().await;
    let street2 = Actor {
        user_id: 5,
        person_id: None,
        grants: vec![Grant {
            role: Role::StreetAdmin,
            org_id: Some(w.s2),
        }],
        linked_streets: vec![],
    };
    let r = check(&w, &street2, w.s2, HolidaySaturdayRule::AnySaturday)
        .await
        .unwrap();
    assert!(
        r.monthly_meetings.iter().all(|m| m.org_id == w.c3),
        "only S2's community"
    );
    let na: Vec<&str> = r
        .leader_months
        .iter()
        .filter(|m| verdict(&m.monthly) == "not_applicable")
        .map(|m| m.month.as_str())
        .collect();
    assert_eq!(
        na,
        [
            "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"
        ],
        "not linked to S2 before July"
    );
    // Full coverage of S2 alone: C3 covered.
    assert_eq!(verdict(&r.coverage[0].verdict), "met");
    assert_eq!(r.six_ones.len(), 1);

    // S1 and the district are outside this street's scope: refused before anything is read.
    for org in [w.s1, w.c1, w.district] {
        let e = check(&w, &street2, org, HolidaySaturdayRule::AnySaturday)
            .await
            .unwrap_err();
        assert!(
            matches!(e, roundtable_web::error::AppError::Forbidden),
            "{org}: {e:?}"
        );
    }

    // A community's answer leaves the leaders' rules to its street.
    let r = check(&w, &admin(), w.c2, HolidaySaturdayRule::AnySaturday)
        .await
        .unwrap();
    assert!(!r.leader_rules_checked);
    assert!(r.leader_months.is_empty() && r.coverage.is_empty());
    assert_eq!(r.monthly_meetings.len(), 12);
}

#[tokio::test]
async fn api_answers_bad_periods_and_foreign_subtrees_with_clear_errors() {
    let app = common::app().await;
    let admin = app.login("admin").await;
    let (s, body, _) = app
        .json(
            "GET",
            "/api/v1/obligations?from=2026-05&to=2026-01",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 422, "{body}");
    assert!(
        body["error"]["fields"]["to"]
            .as_str()
            .unwrap()
            .contains("早于")
    );
    let (s, body, _) = app
        .json(
            "GET",
            "/api/v1/obligations?from=2015-01&to=2025-01",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 422);
    assert!(
        body["error"]["fields"]["to"]
            .as_str()
            .unwrap()
            .contains("10年")
    );
    let (s, body, _) = app
        .json("GET", "/api/v1/obligations?from=2026-1", Some(&admin), None)
        .await;
    assert_eq!(s.as_u16(), 422);
    assert!(body["error"]["fields"]["from"].is_string(), "{body}");
    let (s, _, _) = app
        .json("GET", "/api/v1/obligations?org=x", Some(&admin), None)
        .await;
    assert_eq!(s.as_u16(), 422);

    // The district as the administrator sees it, then a secretary asking for it: 403 with
    // no figure in the answer.
    let (s, body, _) = app
        .json(
            "GET",
            "/api/v1/obligations?from=2026-01&to=2026-03",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{body}");
    let district = body["org"]["id"].as_i64().unwrap();
    assert!(!body["monthly_meetings"].as_array().unwrap().is_empty());
    let secretary = app.login("secretary").await;
    let (s, body, _) = app
        .json(
            "GET",
            &format!("/api/v1/obligations?org={district}&from=2026-01&to=2026-03"),
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 403);
    assert_eq!(
        body,
        json!({"error": {"code": "forbidden", "message": "没有权限执行此操作"}})
    );
    // Their own community, by default.
    let (s, body, _) = app
        .json("GET", "/api/v1/obligations", Some(&secretary), None)
        .await;
    assert_eq!(s.as_u16(), 200);
    assert_eq!(body["org"]["kind"], "community");
    assert_eq!(body["leader_rules_checked"], false);
    // A party member has no report to see.
    let member = app.login("member").await;
    let (s, _, _) = app
        .json("GET", "/api/v1/obligations", Some(&member), None)
        .await;
    assert_eq!(s.as_u16(), 403);

    // The dashboard: the district's figures with a chart beside each table; a secretary is
    // refused the district and sees their community with its cases.
    let (s, d, _) = app
        .json("GET", "/api/v1/dashboard?period=2026", Some(&admin), None)
        .await;
    assert_eq!(s.as_u16(), 200, "{d}");
    // The test district has matters but no history of meetings.
    assert!(d["totals"]["topics"].as_i64().unwrap() > 0, "{d}");
    assert_eq!(
        d["totals"]["months_without_meeting"],
        d["obligations"][0]["missed"]
    );
    assert!(!d["children"].as_array().unwrap().is_empty());
    let (s, _, html) = app.call(get("/dashboard?period=2026", &admin)).await;
    assert_eq!(s.as_u16(), 200);
    assert!(html.contains("<svg") && html.contains("下级情况"), "{html}");
    let (s, body, _) = app
        .json(
            "GET",
            &format!("/api/v1/dashboard?org={district}&period=2026"),
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 403);
    assert!(body.get("totals").is_none());
    let (s, d, _) = app
        .json(
            "GET",
            "/api/v1/dashboard?period=2026",
            Some(&secretary),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200);
    assert_eq!(d["org"]["kind"], "community", "{d}");
    assert!(d["children"].as_array().unwrap().is_empty());
    let (s, _, html) = app.call(get("/dashboard?period=2026-Q9", &admin)).await;
    assert_eq!(s.as_u16(), 422);
    assert!(html.contains("统计期间「2026-Q9」"));

    // Warnings: a list for everyone signed in (empty for a member), the page and the home page.
    let (s, w, _) = app
        .json("GET", "/api/v1/warnings", Some(&admin), None)
        .await;
    assert_eq!(s.as_u16(), 200);
    assert!(w.is_array(), "{w}");
    let (s, w, _) = app
        .json("GET", "/api/v1/warnings", Some(&member), None)
        .await;
    assert_eq!((s.as_u16(), w), (200, json!([])));
    let (s, _, html) = app.call(get("/warnings", &admin)).await;
    assert_eq!(s.as_u16(), 200);
    assert!(html.contains("待办提醒"));
    let (s, _, _) = app.call(get("/", &secretary)).await;
    assert_eq!(s.as_u16(), 200);

    // Calendar feeds: a private address issued once, served without sign-in; a community's.
    let (s, f, _) = app
        .json("POST", "/api/v1/me/calendar-feed", Some(&secretary), None)
        .await;
    assert_eq!(s.as_u16(), 200, "{f}");
    let path = f["path"].as_str().unwrap().to_string();
    let (s, h, body) = app
        .call(
            axum::http::Request::get(&path)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s.as_u16(), 200);
    assert!(
        h.iter()
            .any(|(k, v)| k == "content-type" && v.starts_with("text/calendar"))
    );
    assert!(body.starts_with("BEGIN:VCALENDAR"));
    let (s, _, _) = app
        .call(
            axum::http::Request::get(format!("/ical/u/{}.ics", "a".repeat(64)))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s.as_u16(), 404);
    let community = d["org"]["id"].as_i64().unwrap();
    let (s, _, body) = app
        .call(
            axum::http::Request::get(format!("/ical/c/{community}.ics"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s.as_u16(), 200);
    assert!(body.contains("BEGIN:VCALENDAR"));
    let (s, _, html) = app.call(get("/account/calendar", &secretary)).await;
    assert_eq!(s.as_u16(), 200);
    assert!(html.contains("日历订阅"));

    // Bulletins: previewed, printed, exported and published through the pages and the API.
    let (s, b, _) = app
        .json(
            "GET",
            "/api/v1/bulletins/current?period=2026-01",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{b}");
    assert!(b["title"].as_str().unwrap().contains("2026年1月"));
    // A community's secretary opening the page is told where bulletins are made, not refused.
    let (s, _, html) = app.call(get("/bulletins", &secretary)).await;
    assert_eq!(s.as_u16(), 200, "{html}");
    assert!(html.contains("定期通报按区或街道(镇)生成"), "{html}");
    let (s, _, html) = app.call(get("/bulletins?period=2026-01", &admin)).await;
    assert_eq!(s.as_u16(), 200);
    assert!(
        html.contains("工作通报") && html.contains("发布通报"),
        "{html}"
    );
    let (s, h, _) = app
        .call_raw(get("/bulletins/xlsx?period=2026-01", &admin))
        .await;
    assert_eq!(s.as_u16(), 200);
    assert!(
        h.iter()
            .any(|(k, v)| k == "content-type" && v.contains("spreadsheetml"))
    );
    let (s, p, _) = app
        .json(
            "POST",
            "/api/v1/bulletins",
            Some(&admin),
            Some(json!({"period": "2026-01"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{p}");
    let id = p["published_id"].as_i64().unwrap();
    let (s, e, _) = app
        .json(
            "POST",
            "/api/v1/bulletins",
            Some(&admin),
            Some(json!({"period": "2026-01"})),
        )
        .await;
    assert_eq!(s.as_u16(), 422);
    assert!(
        e["error"]["fields"]["period"]
            .as_str()
            .unwrap()
            .contains("已发布")
    );
    let (s, _, html) = app.call(get(&format!("/bulletins/{id}"), &admin)).await;
    assert_eq!(s.as_u16(), 200);
    assert!(html.contains("内容已冻结"));
    let (s, _, bytes) = app
        .call_raw(get(&format!("/api/v1/bulletins/{id}/xlsx"), &admin))
        .await;
    assert!(bytes.starts_with(b"PK"));
    assert_eq!(s.as_u16(), 200);
    let (s, _, _) = app
        .json(
            "GET",
            &format!("/api/v1/bulletins/{id}"),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 404);

    // The page: the same check, errors next to the field.
    let (s, _, html) = app
        .call(get("/obligations?from=2026-01&to=2026-03", &admin))
        .await;
    assert_eq!(s.as_u16(), 200);
    assert!(
        html.contains("R-PROC-0") && html.contains("履职情况"),
        "{html}"
    );
    let (s, _, html) = app
        .call(get("/obligations?from=2026-13&to=2026-03", &admin))
        .await;
    assert_eq!(s.as_u16(), 422);
    assert!(html.contains("起始月份「2026-13」应为 YYYY-MM"));
}

#[tokio::test]
async fn six_ones_are_recorded_by_the_member_or_the_community_and_checked() {
    let app = common::app().await;
    let member = app.login("member").await;
    let (s, me, _) = app
        .json("GET", "/api/v1/auth/me", Some(&member), None)
        .await;
    assert_eq!(s.as_u16(), 200);
    let person = me["user"]["person_id"]
        .as_i64()
        .expect("the member's person");
    let uri = format!("/api/v1/people/{person}/six-ones");
    let (s, view, _) = app.json("GET", &uri, Some(&member), None).await;
    assert_eq!(s.as_u16(), 200, "{view}");
    assert_eq!(view["may_record"], true);
    let before = view["records"].as_array().unwrap().len();

    // Bad input: each field named, nothing stored.
    let (s, body, _) = app
        .json(
            "POST",
            &uri,
            Some(&member),
            Some(json!({"item": "dance", "done_on": "2999-01-01", "note": ""})),
        )
        .await;
    assert_eq!(s.as_u16(), 422, "{body}");
    let f = &body["error"]["fields"];
    assert!(
        f["item"].is_string() && f["done_on"].is_string() && f["note"].is_string(),
        "{body}"
    );
    let today = roundtable_web::render::today().to_string();
    let (s, body, _) = app
        .json(
            "POST",
            &uri,
            Some(&member),
            Some(json!({"item": "volunteer", "done_on": today, "note": "社区清洁家园志愿服务"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{body}");
    assert_eq!(body["item"], "volunteer");
    let (_, view, _) = app.json("GET", &uri, Some(&member), None).await;
    assert_eq!(view["records"].as_array().unwrap().len(), before + 1);

    // The member's own secretary (the demo's accounts share one community) sees and records it.
    let secretary = app.login("secretary").await;
    let (s, _, _) = app.json("GET", &uri, Some(&secretary), None).await;
    assert_eq!(s.as_u16(), 200);
    let (s, _, _) = app
        .json(
            "POST",
            &uri,
            Some(&secretary),
            Some(json!({"item": "talk", "done_on": today, "note": "与社区书记谈心"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200);
    // Another community's secretary neither sees nor records it.
    let elsewhere: i64 = app
        .db
        .pool()
        .fetch_one(Sql::with(
            "SELECT id FROM orgs WHERE kind = 'community' AND id <> (SELECT org_id FROM people WHERE id = $1) ORDER BY id LIMIT 1",
            args![person],
        ))
        .await
        .unwrap();
    let other = Actor {
        user_id: 0,
        person_id: None,
        grants: vec![Grant {
            role: Role::CommunitySecretary,
            org_id: Some(elsewhere),
        }],
        linked_streets: vec![],
    };
    use roundtable_web::services::six_ones;
    assert!(matches!(
        six_ones::of_person(&app.db, &other, person)
            .await
            .unwrap_err(),
        roundtable_web::error::AppError::NotFound
    ));
    let talk = six_ones::SixOneInput {
        item: "talk".into(),
        done_on: today.clone(),
        note: "x".into(),
    };
    assert!(matches!(
        six_ones::record(&app.db, &other, person, &talk)
            .await
            .unwrap_err(),
        roundtable_web::error::AppError::NotFound
    ));
    // A council member has no reach over party members' records.
    let council = app.login("council").await;
    let (s, _, _) = app
        .json(
            "POST",
            &uri,
            Some(&council),
            Some(json!({"item": "talk", "done_on": today, "note": "x"})),
        )
        .await;
    assert!(matches!(s.as_u16(), 403 | 404), "{s}");

    // The check counts what was recorded: this year's volunteer day is done.
    let admin = app.login("admin").await;
    let year = &today[..4];
    let (s, r, _) = app
        .json(
            "GET",
            &format!("/api/v1/obligations?from={year}-01&to={year}-12"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200);
    let mine = r["six_ones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["person_id"] == person)
        .expect("the member is checked");
    assert!(
        mine["done"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["item"] == "volunteer"),
        "{mine}"
    );

    // The page form: a missing note is shown next to the field, 422.
    let page = format!("/people/{person}/six-ones");
    let (s, h, html) = app.call(get(&page, &member)).await;
    assert_eq!(s.as_u16(), 200);
    assert!(html.contains("记录一项"), "{html}");
    let csrf = common::cookie_from(&h, "rt_csrf");
    let token = csrf.trim_start_matches("rt_csrf=").to_string();
    let cookies = format!("{member}; {csrf}");
    let (s, _, html) = common::post_form(
        &app,
        &page,
        &cookies,
        &token,
        &[("item", "survey"), ("done_on", &today), ("note", "")],
    )
    .await;
    assert_eq!(s.as_u16(), 422);
    assert!(html.contains("请填写情况说明"), "{html}");
    let (s, _, _) = common::post_form(
        &app,
        &page,
        &cookies,
        &token,
        &[
            ("item", "survey"),
            ("done_on", &today),
            ("note", "小区停车问题调研"),
        ],
    )
    .await;
    assert_eq!(s.as_u16(), 303);
}

#[tokio::test]
async fn the_dashboard_counts_the_same_scenario_and_drills_down() {
    use roundtable_web::services::dashboard::{self, DashboardQuery};
    let w = world().await;
    let cache = CalendarCache::default();
    let run = |org: i64, period: &str| {
        let q = DashboardQuery {
            org: Some(org.to_string()),
            period: Some(period.into()),
        };
        let (db, cache) = (&w.db, &cache);
        roundtable_store::clock::scoped(async move {
            roundtable_store::clock::set_now(at("2026-01-10"));
            dashboard::dashboard(db, cache, HolidaySaturdayRule::AnySaturday, &admin(), &q).await
        })
    };
    let d = run(w.district, "2025").await.unwrap();
    let t = &d.totals;
    assert_eq!(
        (t.communities, t.meetings, t.months_without_meeting),
        (3, 6, 30)
    );
    // Nine cases opened in 2025 (six deliberated, three finished); the one of 2024 is not.
    assert_eq!((t.cases, t.finished, t.topics), (9, 3, 9));
    assert_eq!((t.members, t.six_ones_met), (2, 1));
    let n = |bars: &[dashboard::Bar], code: &str| bars.iter().find(|b| b.code == code).unwrap().n;
    assert_eq!(n(&d.cases_by_step, "deliberation"), 6);
    assert_eq!(n(&d.cases_by_step, "done"), 3);
    assert_eq!(n(&d.cases_by_level, "community"), 7);
    assert_eq!(n(&d.cases_by_level, "street"), 1);
    assert_eq!(n(&d.topics_by_channel, "home_visit"), 9);
    // The same verdicts as the check itself.
    let mem = d.obligations.iter().find(|s| s.rule == "R-MEM-1").unwrap();
    assert_eq!((mem.tally.met, mem.tally.missed), (1, 1));
    // Per street.
    let row = |id: i64| d.children.iter().find(|c| c.org.id == id).unwrap();
    assert_eq!(
        (
            row(w.s1).figures.meetings,
            row(w.s1).figures.months_without_meeting
        ),
        (4, 20)
    );
    assert_eq!(
        (row(w.s2).figures.meetings, row(w.s2).figures.six_ones_met),
        (2, 1)
    );
    // A quarter, and a community's page listing its cases.
    let q3 = run(w.district, "2025-Q3").await.unwrap();
    assert_eq!((q3.totals.meetings, q3.totals.cases), (3, 4));
    let c1 = run(w.c1, "2025").await.unwrap();
    assert_eq!(c1.cases.len(), 3);
    assert!(c1.children.is_empty());
    let e = run(w.district, "2025-Q5").await.unwrap_err();
    assert!(e.fields().unwrap().get("period").is_some());
}

#[tokio::test]
async fn warnings_list_what_needs_action_now_for_each_user() {
    use roundtable_web::services::warnings;
    let w = world().await;
    let exec = |sql: &'static str, a: Vec<roundtable_store::Val>| {
        let db = w.db.clone();
        async move { db.pool().execute(Sql::with(sql, a)).await.unwrap() }
    };
    // The ledger of C3's district-level case: overdue, due in three working days, later.
    for (title, due) in [
        ("清运", "2025-10-20"),
        ("施工", "2025-10-24"),
        ("验收", "2025-11-10"),
    ] {
        exec(
            "INSERT INTO ledger_items (case_id, title, owner_name, unit_name, due_on, status, created_at) VALUES ($1, $2, '张三', '社区', $3, 'open', $4)",
            args![w.case_c3, title, d(due), at("2025-09-20")],
        )
        .await;
    }
    // A case of C1 in its notice period, ending 10/23, with an objection not answered.
    let noticed = case(&w.db, w.c1, "community", "2025-10-01", None, 20).await;
    exec(
        "UPDATE cases SET step = 'notice' WHERE id = $1",
        args![noticed],
    )
    .await;
    let notice = one(
        &w.db,
        "INSERT INTO notices (case_id, version, published_on, starts_on, ends_on, working_days, provisional, plan_revision, content, created_at) VALUES ($1, 1, $2, $2, $3, 5, FALSE, 0, '{}', $4) RETURNING id",
        args![noticed, d("2025-10-16"), d("2025-10-23"), at("2025-10-16")],
    )
    .await;
    exec(
        "INSERT INTO objections (case_id, notice_id, content, received_at) VALUES ($1, $2, '施工时间太早', $3)",
        args![noticed, notice, at("2025-10-17")],
    )
    .await;

    let cache = CalendarCache::default();
    let list = |actor: Actor| {
        let (db, cache) = (w.db.clone(), &cache);
        roundtable_store::clock::scoped(async move {
            // Wednesday 2025-10-22: past the 20th, November's first Saturday 10 days ahead.
            roundtable_store::clock::set_now(at("2025-10-22"));
            warnings::for_actor(&db, cache, HolidaySaturdayRule::AnySaturday, &actor)
                .await
                .unwrap()
        })
    };
    let all = list(admin()).await;
    let kinds = |l: &[warnings::WarningOut]| -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = l.iter().map(|x| (x.kind.clone(), x.org_id)).collect();
        v.sort();
        v
    };
    let mut expected: Vec<(String, i64)> = vec![
        ("no_meeting_yet".into(), w.c1),
        ("no_meeting_yet".into(), w.c2),
        ("first_saturday".into(), w.s2),
        ("ledger_overdue".into(), w.c3),
        ("ledger_due".into(), w.c3),
        ("notice_ending".into(), w.c1),
        ("objection_unanswered".into(), w.c1),
    ];
    // The six meetings held without confirmed minutes.
    for c in [w.c1, w.c2, w.c1, w.c3, w.c3, w.c2] {
        expected.push(("minutes_unconfirmed".into(), c));
    }
    expected.sort();
    assert_eq!(kinds(&all), expected);
    let fs = all.iter().find(|x| x.kind == "first_saturday").unwrap();
    assert_eq!(
        (fs.person_id, fs.due, fs.person_name.as_deref()),
        (Some(w.leader), Some(d("2025-11-01")), Some("李领导"))
    );
    let overdue = all.iter().find(|x| x.kind == "ledger_overdue").unwrap();
    assert_eq!(overdue.href, format!("/cases/{}", w.case_c3));
    assert!(overdue.subject.contains("清运"));
    // The most urgent first.
    assert!(all.windows(2).all(|p| p[0].due <= p[1].due));

    // A street sees its own part, without the leader (linked to S2 since July).
    let street1 = Actor {
        user_id: 5,
        person_id: None,
        grants: vec![Grant {
            role: Role::StreetAdmin,
            org_id: Some(w.s1),
        }],
        linked_streets: vec![],
    };
    let mine = list(street1).await;
    assert!(
        mine.iter().all(|x| x.org_id == w.c1 || x.org_id == w.c2),
        "{mine:?}"
    );
    assert!(!mine.iter().any(|x| x.kind == "first_saturday"));
    // The leader: their own first Saturday and their street's items.
    let leader = Actor {
        user_id: 6,
        person_id: Some(w.leader),
        grants: vec![Grant {
            role: Role::DistrictLeader,
            org_id: Some(w.district),
        }],
        linked_streets: vec![w.s2],
    };
    let theirs = list(leader).await;
    assert!(theirs.iter().any(|x| x.kind == "first_saturday"));
    assert!(
        theirs.iter().all(|x| x.org_id == w.c3 || x.org_id == w.s2),
        "{theirs:?}"
    );
    // Recorded, it goes away: a meeting with the leader on 11/1, the overdue item ticked off.
    meeting(&w.db, w.c3, "2025-11-01", Some(w.leader), 30).await;
    exec(
        "UPDATE ledger_items SET status = 'closed' WHERE title = '清运'",
        vec![],
    )
    .await;
    let after = list(admin()).await;
    assert!(
        !after
            .iter()
            .any(|x| x.kind == "first_saturday" || x.kind == "ledger_overdue")
    );
}

#[tokio::test]
async fn calendar_feeds_list_a_leaders_meetings_and_first_saturdays() {
    use roundtable_web::services::feeds;
    let w = world().await;
    let user = one(
        &w.db,
        "INSERT INTO users (username, password_hash, display_name, person_id, must_change_password, disabled, password_changed_at, created_at) VALUES ('lead', 'x', '李领导', $1, FALSE, FALSE, $2, $2) RETURNING id",
        args![w.leader, Utc::now()],
    )
    .await;
    let actor = Actor {
        user_id: user,
        person_id: Some(w.leader),
        grants: vec![Grant {
            role: Role::DistrictLeader,
            org_id: Some(w.district),
        }],
        linked_streets: vec![w.s2],
    };
    let cache = CalendarCache::default();
    let issued = feeds::issue(&w.db, &actor).await.unwrap();
    let token = issued
        .path
        .trim_start_matches("/ical/u/")
        .trim_end_matches(".ics")
        .to_string();
    let feed = |token: String| {
        let (db, cache) = (w.db.clone(), &cache);
        roundtable_store::clock::scoped(async move {
            roundtable_store::clock::set_now(at("2025-10-22"));
            feeds::personal(&db, cache, HolidaySaturdayRule::AnySaturday, &token)
                .await
                .unwrap()
        })
    };
    let ics = feed(token.clone()).await.expect("the feed");
    assert!(ics.starts_with("BEGIN:VCALENDAR"), "{ics}");
    // From 2025-07-22 back to a year ahead: the meetings of 8/2 and 10/18 (7/5 is older).
    assert_eq!(ics.matches("UID:meeting-").count(), 2, "{ics}");
    // Every month's first Saturday from July 2025 to October 2026, in the linked street.
    assert_eq!(ics.matches("UID:first-saturday-").count(), 16, "{ics}");
    assert!(ics.contains("DTSTART;VALUE=DATE:20251004"), "{ics}");
    assert!(ics.contains("挂点二街道"));
    // 2025-08-02 09:30 in China is 01:30 UTC.
    assert!(ics.contains("DTSTART:20250802T013000Z"), "{ics}");
    // An unknown or replaced token: nothing.
    assert!(feed("0".repeat(64)).await.is_none());
    feeds::issue(&w.db, &actor).await.unwrap();
    assert!(
        feed(token).await.is_none(),
        "a new address replaces the old one"
    );

    let public = roundtable_store::clock::scoped(async {
        roundtable_store::clock::set_now(at("2025-10-22"));
        feeds::community(&w.db, w.c3).await.unwrap().unwrap()
    })
    .await;
    assert_eq!(public.matches("BEGIN:VEVENT").count(), 2);
    assert!(feeds::community(&w.db, w.s1).await.unwrap().is_none());
}

#[tokio::test]
async fn a_bulletin_is_generated_from_the_record_and_frozen_once_published() {
    use roundtable_web::services::periodic::{self, BulletinQuery};
    let w = world().await;
    let cache = CalendarCache::default();
    let q = |org: i64, period: &str| BulletinQuery {
        org: Some(org.to_string()),
        period: Some(period.into()),
    };
    let at_day = |day: &'static str| {
        move || {
            roundtable_store::clock::set_now(at(day));
        }
    };
    let on = at_day("2026-01-10");
    let (db, cache_ref) = (&w.db, &cache);
    let view = |actor: Actor, q: BulletinQuery| async move {
        roundtable_store::clock::scoped(async {
            on();
            periodic::view(db, cache_ref, HolidaySaturdayRule::AnySaturday, &actor, &q).await
        })
        .await
    };
    let b = view(admin(), q(w.district, "2025")).await.unwrap();
    let c = &b.content;
    assert_eq!(c.title, "测试区幸福圆桌会2025年工作通报");
    assert!(
        c.summary[0].contains("召开幸福圆桌会6次") && c.summary[0].contains("30个"),
        "{:?}",
        c.summary
    );
    assert!(
        c.summary[1].contains("圆桌会4人次，未参加8人次"),
        "{:?}",
        c.summary
    );
    let c1 = c
        .missed_meetings
        .iter()
        .find(|m| m.name == "甲社区")
        .unwrap();
    assert_eq!(c1.months.len(), 10, "all months but March and July");
    assert_eq!(c1.under, "一街道");
    assert_eq!(
        c.missed_first_saturdays[0].months,
        [
            "2025-01", "2025-02", "2025-04", "2025-06", "2025-07", "2025-09", "2025-11", "2025-12"
        ]
    );
    assert_eq!(c.finished.len(), 3);
    assert_eq!(c.rows.len(), 2);
    assert!(b.published_id.is_none() && b.may_publish);

    // Bad input: a community, a quarter.
    let e = view(admin(), q(w.c1, "2025")).await.unwrap_err();
    assert!(e.fields().unwrap().get("org").is_some());
    let e = view(admin(), q(w.district, "2025-Q3")).await.unwrap_err();
    assert!(e.fields().unwrap().get("period").is_some());

    // Published: frozen, once.
    let publish = |actor: Actor, q: BulletinQuery| async move {
        roundtable_store::clock::scoped(async {
            on();
            periodic::publish(db, cache_ref, HolidaySaturdayRule::AnySaturday, &actor, &q).await
        })
        .await
    };
    let street2 = Actor {
        user_id: 0,
        person_id: None,
        grants: vec![Grant {
            role: Role::StreetAdmin,
            org_id: Some(w.s2),
        }],
        linked_streets: vec![],
    };
    assert!(matches!(
        publish(street2.clone(), q(w.district, "2025"))
            .await
            .unwrap_err(),
        roundtable_web::error::AppError::Forbidden
    ));
    let p = publish(admin(), q(w.district, "2025")).await.unwrap();
    let id = p.published_id.unwrap();
    let e = publish(admin(), q(w.district, "2025")).await.unwrap_err();
    assert!(
        e.fields()
            .unwrap()
            .get("period")
            .unwrap()
            .contains("已发布")
    );
    // A meeting recorded later changes the dashboard, not the published bulletin.
    meeting(&w.db, w.c2, "2025-12-06", None, 40).await;
    let again = view(admin(), q(w.district, "2025")).await.unwrap();
    assert_eq!(again.published_id, Some(id));
    assert_eq!(again.content.totals.meetings, 6);
    let fresh = view(street2.clone(), q(w.s2, "2025")).await.unwrap();
    assert!(fresh.published_id.is_none());
    publish(street2, q(w.s2, "2025")).await.unwrap();

    // The workbook: four sheets with the numbers.
    let (name, bytes) = periodic::xlsx(&w.db, &admin(), &again).await.unwrap();
    assert!(name.ends_with("-2025.xlsx"));
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        book.sheet_names(),
        ["汇总", "分项统计", "未履行", "办结项目"]
    );
    let rows = book.worksheet_range("分项统计").unwrap();
    let total = rows
        .rows()
        .find(|r| matches!(&r[0], calamine::Data::String(s) if s == "合计"))
        .expect("a total row");
    assert_eq!(total[2].to_string(), "6");
}
