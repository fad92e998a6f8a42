//! The delivery benchmark (issue 7, "Performance"): run it with
//!
//!     cargo bench -p roundtable --bench exchange
//!
//! On the city-sized history of the other benchmarks (`roundtable demo --city 1500 --months
//! 60`, reused with `ROUNDTABLE_BENCH_DIR`, sized by `ROUNDTABLE_BENCH_COMMUNITIES` /
//! `ROUNDTABLE_BENCH_MONTHS`, on PostgreSQL with `ROUNDTABLE_BENCH_DATABASE_URL`) it
//! - serves the history with a new target of the configuration file taking every ledger item,
//!   and times the delivery of all of them to a local receiver that checks each signature
//!   (target ≥ 5,000 records/s);
//! - times what the queue adds to a transaction that writes a ledger item: the one statement
//!   `exchange::queue` runs inside it, on the same database (target < 1 ms).

#[path = "../tests/receiver/mod.rs"]
mod receiver;

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use roundtable_core::exchange::RecordKind;
use roundtable_store::{Exec, Sql};

const SECRET: &str = "benchmark-secret-of-the-platform";

#[tokio::main]
async fn main() {
    let city = city_history("exchange").await;
    let (dir, url, db) = (&city.dir, city.url.as_str(), &city.db);
    let ledger = count(db, "SELECT COUNT(*) FROM ledger_items").await;
    println!(
        "{} cases, {} ledger items, {} queued changes",
        count(db, "SELECT COUNT(*) FROM cases").await,
        ledger,
        count(db, "SELECT COUNT(*) FROM exchange_changes").await
    );
    // Targets of earlier runs point at receivers long gone.
    db.pool()
        .execute(Sql::new(
            "UPDATE exchange_targets SET enabled = FALSE WHERE name LIKE 'bench-%'",
        ))
        .await
        .expect("earlier targets off");

    let (receiver_addr, received) = receiver::start(SECRET, receiver::Mode::Accept).await;
    let name = format!("bench-{}", std::process::id());
    let config = dir.join("exchange-bench.toml");
    std::fs::write(
        &config,
        format!(
            "[[exchange_targets]]\nname = \"{name}\"\nendpoint = \"http://{receiver_addr}/in\"\nkinds = [\"ledger_item\"]\nsecret = \"{SECRET}\"\n"
        ),
    )
    .expect("config");
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let t0 = Instant::now();
    let server = command(dir, url)
        .env("ROUNDTABLE_CONFIG", &config)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("serve");
    wait_listening(addr).await;
    let started = t0.elapsed();
    let records = loop {
        let n = received.lock().unwrap().records.len() as i64;
        if n >= ledger {
            break n;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3600),
            "delivery stalled at {n} of {ledger}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let wall = t0.elapsed() - started;
    let batches = received.lock().unwrap().confirmed.len();
    let bad = received.lock().unwrap().bad_signatures;
    stop(server);
    println!(
        "delivery of every ledger item               {records} records in {batches} batches, {:.1} s: {:.0} records/s (target ≥ 5,000), bad signatures {bad}",
        wall.as_secs_f64(),
        records as f64 / wall.as_secs_f64()
    );

    // What the queue adds to the transaction of a 销号: its one statement, timed inside a
    // transaction that is then rolled back (the history stays as it is).
    let ids: Vec<i64> = db
        .pool()
        .fetch_all(Sql::new(
            "SELECT id FROM ledger_items ORDER BY id DESC LIMIT 2000",
        ))
        .await
        .expect("ledger ids");
    let mut lat = Vec::with_capacity(ids.len());
    for id in &ids {
        let mut tx = db.begin().await.expect("begin");
        let t = Instant::now();
        roundtable_store::exchange::queue(&mut tx, RecordKind::LedgerItem, *id)
            .await
            .expect("queue");
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        drop(tx); // rolled back: the history stays as it is
    }
    lat.sort_by(f64::total_cmp);
    println!(
        "outbox statement in a ledger transaction    n={} p50={:.3} ms  p99={:.3} ms  max={:.3} ms (target < 1 ms)",
        lat.len(),
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    db.pool()
        .execute(Sql::new(
            "UPDATE exchange_targets SET enabled = FALSE WHERE name LIKE 'bench-%'",
        ))
        .await
        .expect("target off");
    if !city.kept {
        let _ = std::fs::remove_dir_all(dir);
    }
}
