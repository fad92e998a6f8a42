//! The seven-steps benchmark (issue 4, "Performance"): run it with
//!
//!     cargo bench -p roundtable --bench cases
//!
//! It builds a city-sized history with the real binary — `roundtable demo --city 1500
//! --months 60`: 1,500 communities × 5 years ≈ 90,000 cases with their meetings, notices and
//! ledgers, written through the same services as the pages — serves it, and measures at 32
//! concurrent clients on SQLite:
//! - a case page (`GET /cases/{id}`, HTML) and its timeline (`GET /cases/{id}/timeline`), and
//!   the same as JSON: p99 (target < 30 ms);
//! - the public notice page (`GET /c/{code}`, no account): throughput (target ≥ 3,000/s).
//!
//! `ROUNDTABLE_BENCH_COMMUNITIES` and `ROUNDTABLE_BENCH_MONTHS` size the history (defaults
//! 1500 and 60); `ROUNDTABLE_BENCH_DIR=/some/dir` keeps the database there and reuses it on the
//! next run (building the city takes a while); `ROUNDTABLE_BENCH_DATABASE_URL=postgres://…`
//! runs it on PostgreSQL.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use common::*;
use hyper::StatusCode;
use roundtable_store::{Exec, Sql};

#[tokio::main]
async fn main() {
    let city = city_history("cases").await;
    let (dir, url, kept, db) = (&city.dir, city.url.as_str(), city.kept, &city.db);
    let count = |sql: &'static str| count(db, sql);
    println!(
        "{} communities, {} cases ({} 办结), {} meetings, {} notices, {} ledger items, {} topics",
        count("SELECT COUNT(*) FROM orgs WHERE kind IN ('community', 'village')").await,
        count("SELECT COUNT(*) FROM cases").await,
        count("SELECT COUNT(*) FROM cases WHERE step = 'done'").await,
        count("SELECT COUNT(*) FROM meetings").await,
        count("SELECT COUNT(*) FROM notices").await,
        count("SELECT COUNT(*) FROM ledger_items").await,
        count("SELECT COUNT(*) FROM topics").await,
    );
    // Cases spread over the whole history: every 50th finished case, and the running ones.
    let ids: Vec<i64> = db
        .pool()
        .fetch_all(Sql::new(
            "SELECT id FROM cases WHERE step = 'done' AND id % 50 = 0 UNION ALL SELECT id FROM cases WHERE step NOT IN ('done', 'stopped') ORDER BY 1 LIMIT 3000",
        ))
        .await
        .expect("ids");
    let codes: Vec<String> = db
        .pool()
        .fetch_all(Sql::new(
            "SELECT c.public_code FROM cases c WHERE EXISTS (SELECT 1 FROM notices n WHERE n.case_id = c.id) AND c.id % 20 = 0 ORDER BY c.id LIMIT 3000",
        ))
        .await
        .expect("codes");
    db.close().await;
    assert!(!ids.is_empty() && !codes.is_empty(), "no cases to measure");

    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = command(dir, url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("serve");
    wait_listening(addr).await;
    let admin = login(addr, "admin", &demo_password(dir, "admin")).await;

    let ids = Arc::new(ids);
    let page = |path: &'static str| -> Make {
        let ids = ids.clone();
        Arc::new(move |c, i| {
            let id = ids[(c * 97 + i * 31) % ids.len()];
            ("GET", path.replace("{id}", &id.to_string()), None)
        })
    };
    // Every case of the sample is visited once first: a serving process has the pages of
    // what it served mapped, and the first visit of a page after start-up is a page fault
    // (without this the first measured phase pays for all the rest: case page p99 57 ms cold
    // at 92,700 cases, the same pages read again by the timeline after it 25 ms).
    let warm: Make = {
        let ids = ids.clone();
        Arc::new(move |c, i| {
            let id = ids[(i * CLIENTS + c) % ids.len()];
            ("GET", format!("/api/v1/cases/{id}/timeline"), None)
        })
    };
    let _ = load_with(
        addr,
        &admin,
        CLIENTS,
        ids.len().div_ceil(CLIENTS),
        StatusCode::OK,
        warm,
    )
    .await;
    for (name, path) in [
        ("case page, HTML (32 clients)  [p99 < 30 ms]", "/cases/{id}"),
        (
            "case timeline, HTML (32 clients)  [p99 < 30 ms]",
            "/cases/{id}/timeline",
        ),
        (
            "case, JSON (32 clients)  [p99 < 30 ms]",
            "/api/v1/cases/{id}",
        ),
        (
            "case timeline, JSON (32 clients)  [p99 < 30 ms]",
            "/api/v1/cases/{id}/timeline",
        ),
    ] {
        let make = page(path);
        let _ = load_with(addr, &admin, CLIENTS, 5, StatusCode::OK, make.clone()).await;
        let (lat, wall, f) = load_with(addr, &admin, CLIENTS, 60, StatusCode::OK, make).await;
        report(name, &lat, wall, f);
    }
    let codes = Arc::new(codes);
    let public: Make = {
        let codes = codes.clone();
        Arc::new(move |c, i| {
            (
                "GET",
                format!("/c/{}", codes[(c * 89 + i * 17) % codes.len()]),
                None,
            )
        })
    };
    let _ = load_with(addr, "", CLIENTS, 10, StatusCode::OK, public.clone()).await;
    let (lat, wall, f) = load_with(addr, "", CLIENTS, 300, StatusCode::OK, public).await;
    report("public notice page (32 clients)  [≥ 3000/s]", &lat, wall, f);

    stop(server);
    if !kept {
        let _ = std::fs::remove_dir_all(dir);
    } else {
        println!("database kept in {}", dir.join("data/demo.db").display());
    }
}
