//! The access sweep (issue 6 point 7): every operation of the API (read from its own OpenAPI
//! document) and every page route (read from the page modules' sources), tried as every demo
//! role and as an anonymous visitor, against records just outside the role's scope — a sibling
//! community, a community of another street, a community of another district. Each of those
//! records carries a marker («探针») that must never appear in an answer to someone outside;
//! reads of them must answer 403 or 404 (anonymous: 401 or the login page); and after the
//! whole sweep every table holds what it held before — no write got through.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Request, StatusCode, header};
use common::App;
use serde_json::{Value, json};

/// One probe community and the records made in it.
#[derive(Debug, Clone)]
struct Probe {
    marker: String,
    org: i64,
    path: String,
    ids: BTreeMap<&'static str, i64>,
}

async fn create(app: &App, admin: &str, uri: &str, body: Value) -> Value {
    let (s, v, _) = app.json("POST", uri, Some(admin), Some(body)).await;
    assert!(s.is_success(), "{uri}: {s} {v}");
    v
}

async fn id_of(app: &App, sql: &str) -> i64 {
    use roundtable_store::{Exec, Sql};
    app.db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

async fn text_of(app: &App, sql: &str) -> String {
    use roundtable_store::{Exec, Sql};
    app.db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

/// Records of every kind in `org`, named with `marker`, made by the system administrator.
async fn probe(app: &App, admin: &str, org: i64, marker: &str, n: usize) -> Probe {
    let mut ids = BTreeMap::new();
    let person = create(
        app,
        admin,
        "/api/v1/people",
        json!({"name": format!("{marker}居民"), "phone": format!("1390000{n:04}"), "org_id": org, "kinds": ["居民代表", "民情理事会成员"]}),
    )
    .await;
    ids.insert("people", person["id"].as_i64().unwrap());
    let unit = create(
        app,
        admin,
        "/api/v1/units",
        // Units of the district are offered to every community publishing a resource (R-ORG-4):
        // its name is not the probe's secret.
        json!({"name": format!("第{n}号物业公司"), "unit_type": "property_company", "org_id": org, "contact_phone": format!("1390001{n:04}")}),
    )
    .await;
    ids.insert("units", unit["id"].as_i64().unwrap());
    let link = create(
        app,
        admin,
        "/api/v1/links",
        json!({"kind": "council_member", "person_id": ids["people"], "org_id": org, "start_date": "2026-01-01"}),
    )
    .await;
    ids.insert("links", link["id"].as_i64().unwrap());
    let topic = create(
        app,
        admin,
        "/api/v1/topics",
        json!({"org_id": org, "title": format!("{marker}议题"), "description": format!("{marker}：小区北门路面坑洼积水"), "category": "safety", "channel": "hotline", "submitter_name": format!("{marker}提交人"), "submitter_phone": format!("1390002{n:04}")}),
    )
    .await;
    let topic_id = topic["id"].as_i64().unwrap();
    ids.insert("topics", topic_id);
    // A second matter, accepted and made a case.
    let accepted = create(
        app,
        admin,
        "/api/v1/topics",
        json!({"org_id": org, "title": format!("{marker}立项议题"), "description": format!("{marker}：楼道堆物堵塞消防通道"), "category": "safety", "channel": "hotline"}),
    )
    .await;
    let accepted_id = accepted["id"].as_i64().unwrap();
    create(
        app,
        admin,
        &format!("/api/v1/topics/{accepted_id}/decision"),
        json!({"action": "accept", "public_note": "已受理"}),
    )
    .await;
    let case = create(
        app,
        admin,
        "/api/v1/cases",
        json!({"topic_id": accepted_id}),
    )
    .await;
    ids.insert("cases", case["id"].as_i64().unwrap());
    let wish = create(
        app,
        admin,
        "/api/v1/wishes",
        json!({"org_id": org, "title": format!("{marker}心愿"), "household_name": format!("{marker}户"), "household_phone": format!("1390003{n:04}")}),
    )
    .await;
    ids.insert("wishes", wish["id"].as_i64().unwrap());
    let resource = create(
        app,
        admin,
        "/api/v1/resources",
        json!({"org_id": org, "unit_id": ids["units"], "kind": "venue", "title": format!("{marker}活动室"), "quantity": "1", "measure": "间", "categories": ["culture"]}),
    )
    .await;
    ids.insert("resources", resource["id"].as_i64().unwrap());
    let q = create(
        app,
        admin,
        "/api/v1/questionnaires",
        json!({"org_id": org, "title": format!("{marker}问卷"), "category": "environment"}),
    )
    .await;
    ids.insert("questionnaires", q["id"].as_i64().unwrap());
    let user = create(
        app,
        admin,
        "/api/v1/users",
        json!({"username": format!("probe{n}"), "display_name": format!("{marker}账号"), "role": "community_staff", "org_id": org}),
    )
    .await;
    ids.insert(
        "users",
        user["user"]["id"]
            .as_i64()
            .or(user["id"].as_i64())
            .expect("the new account's id"),
    );
    ids.insert("orgs", org);
    let path = text_of(app, &format!("SELECT path FROM orgs WHERE id = {org}")).await;
    Probe {
        marker: marker.to_string(),
        org,
        path,
        ids,
    }
}

/// A path template with its parameters filled from a probe's records: the first parameter is
/// the record of the collection it follows, the others (nested records) a number that no
/// probe owns, so only the outer check can answer.
fn fill(template: &str, p: &Probe) -> String {
    let mut out = String::new();
    let mut first = true;
    let segments: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        out.push('/');
        if seg.starts_with('{') {
            let collection = if i > 0 { segments[i - 1] } else { "" };
            let v = if first {
                first = false;
                p.ids
                    .get(collection)
                    .copied()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "999999".into())
            } else if matches!(*seg, "{kind}" | "{what}" | "{op}") {
                match collection {
                    "documents" => "minutes".into(),
                    "evidence" => "visit".into(),
                    "plan" => "tasks".into(),
                    _ => "sign-in".into(),
                }
            } else {
                "1".into()
            };
            out.push_str(&v);
        } else {
            out.push_str(seg);
        }
    }
    format!("{out}?org={0}&org_id={0}", p.org)
}

fn body_for(p: &Probe) -> Value {
    json!({
        "org": p.org.to_string(), "org_id": p.org, "topic_id": p.ids["topics"], "case_id": p.ids["cases"],
        "person_id": p.ids["people"], "unit_id": p.ids["units"], "parent_id": p.org,
        "title": "越权写入", "name": "越权写入", "description": "越权写入", "action": "accept",
        "kind": "council_member", "category": "safety", "channel": "hotline",
    })
}

/// The API's operations as (method, path template), from its OpenAPI document.
async fn operations(app: &App) -> Vec<(String, String)> {
    let (s, doc, _) = app.json("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.push((method.to_uppercase(), format!("/api/v1{path}")));
            }
        }
    }
    assert!(ops.len() > 100, "the OpenAPI document lists the API");
    ops
}

/// Page routes (method, path) read from the page modules: `.route("/…", get(…).post(…))`.
fn page_routes() -> Vec<(String, String)> {
    let sources = [
        include_str!("../src/pages/mod.rs"),
        include_str!("../src/pages/audit.rs"),
        include_str!("../src/pages/cases.rs"),
        include_str!("../src/pages/directory.rs"),
        include_str!("../src/pages/excel.rs"),
        include_str!("../src/pages/feeds.rs"),
        include_str!("../src/pages/notify.rs"),
        include_str!("../src/pages/questionnaires.rs"),
        include_str!("../src/pages/reports.rs"),
        include_str!("../src/pages/resources.rs"),
        include_str!("../src/pages/topics.rs"),
        include_str!("../src/pages/users.rs"),
        include_str!("../src/pages/wishes.rs"),
    ];
    let mut out = Vec::new();
    for src in sources {
        for piece in src.split(".route(").skip(1) {
            let Some(start) = piece.find('"') else {
                continue;
            };
            let rest = &piece[start + 1..];
            let Some(end) = rest.find('"') else { continue };
            let path = &rest[..end];
            // The method router: up to the end of this `.route(…)` call.
            let tail = &rest[end..];
            let stop = ["))", "),\n"]
                .iter()
                .filter_map(|t| tail.find(t))
                .min()
                .unwrap_or(tail.len());
            let handlers = &tail[..stop];
            for (needle, method) in [("get(", "GET"), ("post(", "POST")] {
                if handlers.contains(needle) {
                    out.push((method.to_string(), path.to_string()));
                }
            }
        }
    }
    assert!(out.len() > 100, "the page routes were read: {}", out.len());
    out
}

/// Public by design (residents without an account), the caller's own account, or the sweep's
/// own tools: not a question of scope.
fn own_or_public(path: &str) -> bool {
    let p = path.trim_start_matches("/api/v1");
    p.starts_with("/public")
        || p.starts_with("/auth")
        || p.starts_with("/me")
        || p == "/openapi.json"
        || [
            "/p",
            "/q",
            "/c",
            "/w",
            "/v",
            "/login",
            "/logout",
            "/account",
            "/static",
            "/feeds",
            "/ical",
            "/notifications",
            "/healthz",
            "/readyz",
            "/calendar",
        ]
        .iter()
        .any(|pre| {
            p == *pre || p.starts_with(&format!("{pre}/")) || p.starts_with(&format!("{pre}."))
        })
        || p == "/"
}

async fn call(
    app: &App,
    method: &str,
    uri: &str,
    cookies: &str,
    body: Option<(String, &str)>,
) -> (StatusCode, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if !cookies.is_empty() {
        req = req.header(header::COOKIE, cookies);
    }
    let req = match body {
        Some((b, ty)) => req
            .header(header::CONTENT_TYPE, ty)
            .body(axum::body::Body::from(b)),
        None => req.body(axum::body::Body::empty()),
    }
    .unwrap();
    let (s, _, bytes) = app.call_raw(req).await;
    (s, readable(&bytes))
}

/// The text of an answer; a workbook (.xlsx, a zip) is unpacked so its cells can be searched.
fn readable(bytes: &[u8]) -> String {
    use std::io::Read;
    if !bytes.starts_with(b"PK") {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::new();
    if let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        for i in 0..zip.len() {
            if let Ok(mut f) = zip.by_index(i) {
                let _ = f.read_to_string(&mut text);
            }
        }
    }
    text
}

/// Everything but what reading and logging in write (sessions, sign-in events, the audit of
/// exports, the scheduler's bookkeeping).
async fn business_tables(app: &App) -> BTreeMap<String, Vec<Vec<Value>>> {
    let mut all = roundtable_store::backup::contents(&app.db).await.unwrap();
    for t in [
        "sessions",
        "auth_events",
        "audit_log",
        "audit_chain_head",
        "job_runs",
        "users",
    ] {
        all.remove(t);
    }
    // Accounts without the time of the last login (each role logs in for the sweep).
    use roundtable_store::{Exec, Sql};
    let accounts: Vec<String> = app
        .db
        .pool()
        .fetch_all(Sql::new(
            "SELECT username || ' ' || password_hash || ' ' || CAST(disabled AS TEXT) || ' ' || CAST(must_change_password AS TEXT) || ' ' || COALESCE(display_name, '') FROM users ORDER BY id",
        ))
        .await
        .unwrap();
    all.insert(
        "users".into(),
        accounts
            .into_iter()
            .map(|a| vec![Value::String(a)])
            .collect(),
    );
    all
}

#[tokio::test]
async fn every_route_as_every_role_outside_its_scope() {
    let app = common::app().await;
    let admin = app.login("admin").await;

    // Three probe communities: a sibling of the community roles' own, one in another street,
    // and one in a district of its own.
    let own_community = id_of(
        &app,
        "SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'staff'",
    )
    .await;
    let own_street = id_of(
        &app,
        "SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = 'street'",
    )
    .await;
    let sibling = id_of(
        &app,
        &format!(
            "SELECT MIN(o.id) FROM orgs o WHERE o.parent_id = (SELECT parent_id FROM orgs WHERE id = {own_community}) AND o.id <> {own_community}"
        ),
    )
    .await;
    let other_street_community = id_of(
        &app,
        &format!(
            "SELECT MIN(o.id) FROM orgs o JOIN orgs s ON s.id = o.parent_id WHERE s.kind IN ('street', 'town') AND s.id <> {own_street} AND s.id <> (SELECT parent_id FROM orgs WHERE id = {own_community})"
        ),
    )
    .await;
    let district = create(
        &app,
        &admin,
        "/api/v1/orgs",
        json!({"kind": "district", "name": "第二区", "code": "369900"}),
    )
    .await;
    let street = create(&app, &admin, "/api/v1/orgs", json!({"parent_id": district["id"], "kind": "street", "name": "第二街道", "code": "369900001"})).await;
    let far = create(&app, &admin, "/api/v1/orgs", json!({"parent_id": street["id"], "kind": "community", "name": "第二社区", "code": "369900001001"})).await;
    let probes = [
        probe(&app, &admin, sibling, "探针甲", 1).await,
        probe(&app, &admin, other_street_community, "探针乙", 2).await,
        probe(&app, &admin, far["id"].as_i64().unwrap(), "探针丙", 3).await,
    ];

    let ops = operations(&app).await;
    let pages = page_routes();
    let before = business_tables(&app).await;

    // Each role's login and the root of its scope (None: the system administrator's
    // deployment-wide, the audit administrator's nothing but the record).
    let roles = [
        "auditor",
        "security",
        "zzb",
        "leader",
        "street",
        "secretary",
        "staff",
        "council",
        "member",
    ];
    let mut tried = 0usize;
    let mut refusals: BTreeMap<u16, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for who in std::iter::once("").chain(roles) {
        let (session, scope_root) = if who.is_empty() {
            (String::new(), None)
        } else {
            let cookie = app.login(who).await;
            let root: Option<i64> = {
                use roundtable_store::{Exec, Sql};
                app.db
                    .pool()
                    .fetch_optional(Sql::new(&format!(
                        "SELECT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id WHERE u.username = '{who}' AND r.org_id IS NOT NULL"
                    )))
                    .await
                    .unwrap()
            };
            (cookie, root)
        };
        // A page form needs the CSRF pair: taken from the login page.
        let (csrf, token) = app.csrf().await;
        let cookies = if session.is_empty() {
            csrf.clone()
        } else {
            format!("{session}; {csrf}")
        };
        let outside: Vec<&Probe> = probes
            .iter()
            .filter(|p| match scope_root {
                Some(root) => !p.path.contains(&format!("/{root}/")),
                None => true,
            })
            .collect();
        assert!(!outside.is_empty());
        for p in &outside {
            let routes = ops
                .iter()
                .map(|(m, t)| (m, t, true))
                .chain(pages.iter().map(|(m, t)| (m, t, false)));
            for (method, template, api) in routes {
                if own_or_public(template) {
                    continue;
                }
                let uri = fill(template, p);
                let body = match (method.as_str(), api) {
                    ("GET", _) => None,
                    (_, true) => Some((body_for(p).to_string(), "application/json")),
                    (_, false) => Some((
                        format!(
                            "_csrf={token}&org={0}&org_id={0}&title=x&name=x&topic_id={1}&case_id={2}",
                            p.org, p.ids["topics"], p.ids["cases"]
                        ),
                        "application/x-www-form-urlencoded",
                    )),
                };
                let (status, text) = call(&app, method, &uri, &cookies, body).await;
                tried += 1;
                *refusals.entry(status.as_u16()).or_default() += 1;
                let with_id = template.contains('{');
                // The audit record holds every change, outside scopes too: its administrator
                // reads all of it (三员分立), and nothing else.
                let audit_route = template.contains("/audit");
                // Likewise every account's security state, for the security administrator.
                let security_route = template.contains("/security");
                let bad = if status.is_server_error() {
                    Some("a server error")
                } else if text.contains(&p.marker)
                    && !(who == "auditor" && audit_route)
                    && !(who == "security" && security_route)
                {
                    Some("the marker of a record outside the scope")
                } else if who.is_empty() {
                    // Anonymous: 401 from the API, the login page (a redirect) for pages.
                    (!(status == StatusCode::UNAUTHORIZED
                        || status == StatusCode::FORBIDDEN
                        || status == StatusCode::NOT_FOUND
                        || status.is_redirection()))
                    .then_some("an anonymous visitor was not refused")
                } else if with_id && method == "GET" {
                    (!(status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND))
                        .then_some("a read of a record outside the scope was not refused")
                } else {
                    None
                };
                if let Some(why) = bad {
                    problems.push(format!(
                        "{} {method} {uri}: {status} — {why}: {}",
                        if who.is_empty() { "anonymous" } else { who },
                        text.chars().take(160).collect::<String>()
                    ));
                }
            }
        }
    }
    println!("access sweep: {tried} requests, answers by status {refusals:?}");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // Nothing written by anyone outside.
    let after = business_tables(&app).await;
    let changed: BTreeSet<&String> = before
        .iter()
        .filter(|(t, rows)| after.get(*t) != Some(rows))
        .map(|(t, _)| t)
        .collect();
    assert!(
        changed.is_empty(),
        "tables changed by the sweep: {changed:?}"
    );
}
