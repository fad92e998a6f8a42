//! Proof under faults (issue 6 point 7): the real binary serves a demo district with a short
//! history on the backend named by ROUNDTABLE_TEST_DB; residents submit matters and staff tick
//! off and send back ledger items, concurrently, until the server is killed with SIGKILL in
//! the middle of it. Restarted, it must hold every write it acknowledged, its audit chain must
//! verify, and the database must pass its integrity check.

#[path = "../benches/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{command, connect, demo_password, free_port, login, try_send, wait_listening};
use hyper::StatusCode;
use roundtable_store::{Db, Exec, Sql, testing};

const TOPIC_WRITERS: usize = 6;
const LEDGER_WRITERS: usize = 3;

#[derive(Default)]
struct Acked {
    /// Tracking codes of the matters the server answered 201 for.
    topics: BTreeSet<String>,
    /// The evidence text of each 销号 the server answered 200 for.
    closes: BTreeSet<String>,
    /// Requests that got no answer (the server was killed under them).
    lost_answers: usize,
}

fn topic_body(org: i64, w: usize, i: usize) -> String {
    format!(
        r#"{{"org_id":{org},"title":"楼道灯不亮（{w}号楼）","description":"晚上楼道太黑，第{i}次反映","category":"safety","contact_consent":"1"}}"#
    )
}

/// A resident's matters, one after the other, until the server stops answering.
async fn submit_topics(addr: SocketAddr, org: i64, w: usize, acked: Arc<Mutex<Acked>>) {
    let Some(mut sender) = connect(addr).await else {
        return;
    };
    for i in 0.. {
        match try_send(
            &mut sender,
            "POST",
            "/api/v1/public/topics",
            "",
            Some(topic_body(org, w, i)),
        )
        .await
        {
            Some((StatusCode::CREATED, _, body)) => {
                let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
                let code = v["tracking_code"].as_str().expect("a tracking code");
                acked.lock().unwrap().topics.insert(code.to_string());
            }
            Some((status, _, body)) => panic!(
                "a submission was refused: {status} {}",
                String::from_utf8_lossy(&body)
            ),
            None => {
                acked.lock().unwrap().lost_answers += 1;
                return;
            }
        }
    }
}

/// A ledger item ticked off (销号 with evidence) and sent back, over and over.
async fn work_ledger(
    addr: SocketAddr,
    cookie: String,
    case: i64,
    item: i64,
    acked: Arc<Mutex<Acked>>,
) {
    let Some(mut sender) = connect(addr).await else {
        return;
    };
    let uri = format!("/api/v1/cases/{case}/ledger/{item}/actions");
    for k in 0.. {
        let evidence = format!("已完成整改（崩溃测试 {item}-{k}）");
        for (action, text) in [
            ("close", evidence.clone()),
            ("reopen", format!("复核退回 {k}")),
        ] {
            let body = serde_json::json!({ "action": action, "evidence": text }).to_string();
            match try_send(&mut sender, "POST", &uri, &cookie, Some(body)).await {
                Some((StatusCode::OK, _, _)) => {
                    if action == "close" {
                        acked.lock().unwrap().closes.insert(evidence.clone());
                    }
                }
                Some((status, _, body)) => panic!(
                    "a ledger {action} was refused: {status} {}",
                    String::from_utf8_lossy(&body)
                ),
                None => {
                    acked.lock().unwrap().lost_answers += 1;
                    return;
                }
            }
        }
    }
}

fn serve(dir: &std::path::Path, url: &str, port: u16) -> std::process::Child {
    command(dir, url)
        .env("ROUNDTABLE_PORTAL_PER_HOUR", "0")
        .env("ROUNDTABLE_AUDIT_KEY", KEY)
        .env("ROUNDTABLE_TODAY", TODAY)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("serve starts")
}

const KEY: &str = "crash-test-audit-key-of-32-characters";
const TODAY: &str = "2026-11-27";

async fn all(db: &Db, sql: &str) -> Vec<String> {
    db.pool().fetch_all(Sql::new(sql)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = std::env::temp_dir().join(format!("roundtable-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = testing::fresh_url().await.unwrap();
    // A day late in a month without holidays: that month's cases are all being implemented,
    // whatever day the test runs on (on a real 4 December they had mostly been ticked off).
    let demo = command(&dir, &url)
        .env("ROUNDTABLE_AUDIT_KEY", KEY)
        .env("ROUNDTABLE_TODAY", TODAY)
        .args(["demo", "--no-serve", "--months", "4", "--communities", "8"])
        .status()
        .expect("demo runs");
    assert!(demo.success(), "the demo database is written");

    let db = Db::connect(&url).await.unwrap();
    // Open items of cases being implemented, and the communities residents write to.
    let items: Vec<(i64, i64)> = all(
        &db,
        "SELECT CAST(l.case_id AS TEXT) || ' ' || CAST(l.id AS TEXT) FROM ledger_items l JOIN cases c ON c.id = l.case_id WHERE c.step = 'implementation' AND l.status = 'open' ORDER BY l.id",
    )
    .await
    .into_iter()
    .take(LEDGER_WRITERS)
    .map(|s| {
        let (a, b) = s.split_once(' ').unwrap();
        (a.parse().unwrap(), b.parse().unwrap())
    })
    .collect();
    assert!(
        !items.is_empty(),
        "the demo history leaves cases in 项目实施 with open ledger items"
    );
    let communities: Vec<i64> = all(
        &db,
        "SELECT CAST(id AS TEXT) FROM orgs WHERE kind = 'community' ORDER BY id LIMIT 8",
    )
    .await
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();

    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = serve(&dir, &url, port);
    wait_listening(addr).await;
    let zzb = login(addr, "zzb", &demo_password(&dir, "zzb")).await;

    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut writers = Vec::new();
    for w in 0..TOPIC_WRITERS {
        writers.push(tokio::spawn(submit_topics(
            addr,
            communities[w % communities.len()],
            w,
            acked.clone(),
        )));
    }
    for &(case, item) in &items {
        writers.push(tokio::spawn(work_ledger(
            addr,
            zzb.clone(),
            case,
            item,
            acked.clone(),
        )));
    }
    // Under load for a while, then killed without warning.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    for w in writers {
        tokio::time::timeout(Duration::from_secs(30), w)
            .await
            .expect("writers stop when the server is gone")
            .unwrap();
    }
    let acked = Arc::try_unwrap(acked).ok().unwrap().into_inner().unwrap();
    assert!(
        acked.topics.len() > 20,
        "the load ran: {}",
        acked.topics.len()
    );
    assert!(!acked.closes.is_empty(), "the ledger load ran");

    // Restarted on the same database.
    let mut server = serve(&dir, &url, port);
    wait_listening(addr).await;
    let stored: BTreeSet<String> = all(&db, "SELECT tracking_code FROM topics")
        .await
        .into_iter()
        .collect();
    let topics_found = acked.topics.intersection(&stored).count();
    let close_entries = all(
        &db,
        "SELECT COALESCE(after_json, '') FROM audit_log WHERE action = 'ledger.close'",
    )
    .await;
    let closes_found = acked
        .closes
        .iter()
        .filter(|e| close_entries.iter().any(|j| j.contains(e.as_str())))
        .count();
    println!(
        "crash test ({}): topics acknowledged {} found {}; 销号 acknowledged {} found {}; requests cut off by the kill {}",
        testing::backend(),
        acked.topics.len(),
        topics_found,
        acked.closes.len(),
        closes_found,
        acked.lost_answers
    );
    assert_eq!(
        topics_found,
        acked.topics.len(),
        "every acknowledged matter"
    );
    assert_eq!(closes_found, acked.closes.len(), "every acknowledged 销号");

    // The audit chain verifies (the command exits 0 only then).
    let verify = command(&dir, &url)
        .env("ROUNDTABLE_AUDIT_KEY", KEY)
        .args(["audit", "verify"])
        .status()
        .unwrap();
    assert!(verify.success(), "roundtable audit verify");

    // The database's own integrity check.
    if testing::backend() == "postgres" {
        db.pool()
            .execute(Sql::new("CREATE EXTENSION IF NOT EXISTS amcheck"))
            .await
            .unwrap();
        let checked: Vec<String> = all(
            &db,
            // amcheck: each index's structure, and every row of its table found in it.
            "SELECT CAST(c.relname AS TEXT) || CAST(bt_index_check(c.oid, true) AS TEXT) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND c.relnamespace = current_schema()::regnamespace",
        )
        .await;
        assert!(
            checked.len() > 50,
            "every B-tree index checked: {}",
            checked.len()
        );
    } else {
        assert_eq!(all(&db, "PRAGMA integrity_check").await, vec!["ok"]);
        let broken: Vec<String> = all(&db, "SELECT \"table\" FROM pragma_foreign_key_check").await;
        assert!(broken.is_empty(), "foreign keys: {broken:?}");
    }

    // And it serves on: a new matter is taken.
    let mut sender = connect(addr).await.unwrap();
    let (status, _, _) = try_send(
        &mut sender,
        "POST",
        "/api/v1/public/topics",
        "",
        Some(topic_body(communities[0], 99, 0)),
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::CREATED);
    server.kill().unwrap();
    server.wait().unwrap();
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
