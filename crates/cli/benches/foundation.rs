//! The foundation benchmark (issue 2, "Performance"): run it with
//!
//!     cargo bench -p roundtable --bench foundation
//!
//! It builds the demo district in a temporary directory with the real binary, then measures:
//! - start-up: `roundtable serve` on the existing database until /readyz answers (target < 1 s);
//! - the people list (5,000 members, filtered, paginated) at 32 concurrent keep-alive clients,
//!   as JSON (/api/v1/people) and as the page (/people): p50/p90/p99/max (target p99 < 20 ms);
//! - resident memory of the server process, idle after start-up and idle after the load
//!   (target < 50 MB).
//!
//! `ROUNDTABLE_BENCH_DATABASE_URL=postgres://…` runs it on PostgreSQL instead of SQLite;
//! `ROUNDTABLE_BENCH_REQUESTS` sets the requests per client (default 300).
//! Figures are printed, not asserted: targets are checked by reading them.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;

/// How the list is used: a community's people, a name search, the first pages of a kind, a
/// kind within a community.
fn browse_uri(c: usize, i: usize) -> String {
    match (c + i) % 4 {
        0 => format!(
            "/api/v1/people?kind=party_member&page={}&per_page=20",
            (c + i) % 5 + 1
        ),
        1 => format!("/api/v1/people?org_id={}&per_page=20", 2 + (c + i) % 113),
        2 => format!("/api/v1/people?q=%E7%8E%8B&page={}&per_page=20", i % 3 + 1),
        _ => format!(
            "/api/v1/people?kind=party_member&org_id={}&per_page=20",
            2 + (c * 3 + i) % 113
        ),
    }
}

/// The worst case: any of the 250 pages of all members.
fn deep_uri(c: usize, i: usize) -> String {
    format!(
        "/api/v1/people?kind=party_member&page={}&per_page=20",
        (c * 7 + i) % 250 + 1
    )
}

/// The same uses through the HTML page (30 a page).
fn page_uri(c: usize, i: usize) -> String {
    browse_uri(c, i)
        .replace("/api/v1/people", "/people")
        .replace("&per_page=20", "")
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; this harness takes no other arguments.
    let per_client: usize = std::env::var("ROUNDTABLE_BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let dir = std::env::temp_dir().join(format!("roundtable-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = std::env::var("ROUNDTABLE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/demo.db".into());
    println!(
        "roundtable foundation benchmark — {} cores, database {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        db.split('@').next_back().unwrap_or("")
    );

    let t = Instant::now();
    let ok = command(&dir, &db)
        .args(["demo", "--no-serve", "--no-history"])
        .status()
        .expect("roundtable demo runs")
        .success();
    assert!(ok, "roundtable demo failed");
    println!(
        "demo district ready in {:.1} s (created or reused)",
        t.elapsed().as_secs_f64()
    );
    let admin_password = demo_password(&dir, "admin");

    let mut starts = Vec::new();
    for _ in 0..5 {
        starts.push(startup_ms(&dir, &db).await);
    }
    starts.sort_by(|a, b| a.total_cmp(b));
    println!(
        "serve ready on an existing database (5 starts): min {:.0} ms, median {:.0} ms, max {:.0} ms  [target < 1000 ms]",
        starts[0], starts[2], starts[4]
    );

    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = serve(&dir, &db, port);
    let pid = server.id();
    wait_listening(addr).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_start = rss_mb(pid);
    let cookie = login(addr, "admin", &admin_password).await;
    let mut sender = connect(addr).await.expect("connect");
    let (_, _, body) = send(
        &mut sender,
        "GET",
        "/api/v1/people?kind=party_member&per_page=1",
        &cookie,
        None,
    )
    .await;
    let total = String::from_utf8_lossy(&body)
        .split("\"total\":")
        .nth(1)
        .and_then(|s| s.split([',', '}']).next())
        .unwrap_or("?")
        .to_string();
    println!(
        "people list over {total} in-service party members, {CLIENTS} concurrent clients, {per_client} requests each:"
    );

    // Warm-up (connections, caches), then the measured runs.
    let _ = load(addr, &cookie, 20, browse_uri).await;
    let (lat, wall, f) = load(addr, &cookie, per_client, browse_uri).await;
    report("JSON, browsing (filters, first pages)", &lat, wall, f);
    let (lat, wall, f) = load(addr, &cookie, per_client, page_uri).await;
    report("HTML page, browsing", &lat, wall, f);
    let (lat, wall, f) = load(addr, &cookie, per_client, deep_uri).await;
    report("JSON, any of all 250 pages (worst case)", &lat, wall, f);
    println!("  [target: p99 < 20 ms]");
    let rss_loaded = rss_mb(pid);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_idle = rss_mb(pid);
    println!(
        "server RSS: idle after start {rss_start:.1} MB, right after load {rss_loaded:.1} MB, idle after load {rss_idle:.1} MB  [target idle < 50 MB]"
    );
    drop(sender);
    stop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
