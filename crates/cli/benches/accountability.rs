//! The accountability benchmark (issue 5, "Performance"): run it with
//!
//!     cargo bench -p roundtable --bench accountability
//!
//! On the city-sized history of the seven-steps benchmark (built the same way, see
//! `common::city_history`; `ROUNDTABLE_BENCH_DIR` reuses a kept one), it serves the city and
//! measures the obligation check (`GET /api/v1/obligations`) for the last twelve months:
//! - one district (the demo district, with its 5,000 party members' six ones), one client,
//!   latency percentiles; and its dashboard for this year, as JSON and as the page (target
//!   < 100 ms);
//! - a district's monthly bulletin as generated (last month; target < 500 ms);
//! - the whole city: every district checked one after another, the total per round
//!   (target < 1 s).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, Months};
use common::*;
use hyper::StatusCode;
use roundtable_store::{Exec, Sql};

#[tokio::main]
async fn main() {
    let city = city_history("accountability").await;
    let db = &city.db;
    let count = |sql: &'static str| count(db, sql);
    println!(
        "{} districts, {} communities, {} meetings, {} cases finished, {} party members, {} six-ones records",
        count("SELECT COUNT(*) FROM orgs WHERE parent_id IS NULL").await,
        count("SELECT COUNT(*) FROM orgs WHERE kind IN ('community', 'village')").await,
        count("SELECT COUNT(*) FROM meetings").await,
        count("SELECT COUNT(*) FROM cases WHERE step = 'done'").await,
        count("SELECT COUNT(*) FROM person_kinds WHERE kind = 'party_member'").await,
        count("SELECT COUNT(*) FROM six_one_records").await,
    );
    let roots: Vec<i64> = db
        .pool()
        .fetch_all(Sql::new(
            "SELECT id FROM orgs WHERE parent_id IS NULL ORDER BY id",
        ))
        .await
        .expect("districts");
    db.close().await;
    let today = chrono::Utc::now().date_naive();
    let first = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(11)))
        .expect("a year back");
    let (from, to) = (first.format("%Y-%m"), today.format("%Y-%m"));
    println!("period {from} to {to}");

    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = serve(&city.dir, &city.url, port);
    wait_listening(addr).await;
    let admin = login(addr, "admin", &demo_password(&city.dir, "admin")).await;

    let district = roots[0];
    let one: Make = {
        let uri = format!("/api/v1/obligations?org={district}&from={from}&to={to}");
        Arc::new(move |_, _| ("GET", uri.clone(), None))
    };
    let _ = load_with(addr, &admin, 1, 3, StatusCode::OK, one.clone()).await;
    let (lat, wall, f) = load_with(addr, &admin, 1, 30, StatusCode::OK, one).await;
    report(
        "obligations, one district, a year (1 client)",
        &lat,
        wall,
        f,
    );

    let dash: Make = {
        let uri = format!("/api/v1/dashboard?org={district}&period={}", today.year());
        Arc::new(move |_, _| ("GET", uri.clone(), None))
    };
    let _ = load_with(addr, &admin, 1, 3, StatusCode::OK, dash.clone()).await;
    let (lat, wall, f) = load_with(addr, &admin, 1, 30, StatusCode::OK, dash).await;
    report(
        "dashboard, one district, this year (1 client)  [< 100 ms]",
        &lat,
        wall,
        f,
    );
    let page: Make = {
        let uri = format!("/dashboard?org={district}&period={}", today.year());
        Arc::new(move |_, _| ("GET", uri.clone(), None))
    };
    let (lat, wall, f) = load_with(addr, &admin, 1, 30, StatusCode::OK, page).await;
    report(
        "dashboard page, one district, this year (1 client)",
        &lat,
        wall,
        f,
    );

    let last_month = first
        .checked_add_months(Months::new(10))
        .expect("a month")
        .format("%Y-%m");
    let bulletin: Make = {
        let uri = format!("/api/v1/bulletins/current?org={district}&period={last_month}");
        Arc::new(move |_, _| ("GET", uri.clone(), None))
    };
    let _ = load_with(addr, &admin, 1, 3, StatusCode::OK, bulletin.clone()).await;
    let (lat, wall, f) = load_with(addr, &admin, 1, 30, StatusCode::OK, bulletin).await;
    report(
        &format!("monthly bulletin, one district ({last_month})  [< 500 ms]"),
        &lat,
        wall,
        f,
    );

    let mut rounds = Vec::new();
    let mut sender = connect(addr).await.expect("connect");
    for _ in 0..5 {
        let t = Instant::now();
        for &root in &roots {
            let uri = format!("/api/v1/obligations?org={root}&from={from}&to={to}");
            let (status, _, body) = send(&mut sender, "GET", &uri, &admin, None).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{uri}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        rounds.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    rounds.sort_by(|a, b| a.total_cmp(b));
    println!(
        "obligations, whole city ({} districts), a year  [< 1000 ms]: rounds {}",
        roots.len(),
        rounds
            .iter()
            .map(|r| format!("{r:.0} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    stop(server);
    if !city.kept {
        let _ = std::fs::remove_dir_all(&city.dir);
    } else {
        println!(
            "database kept in {}",
            city.dir.join("data/demo.db").display()
        );
    }
}
