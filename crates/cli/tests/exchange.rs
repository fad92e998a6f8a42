//! Delivery to other systems (issue 7, R-PROC-6, R-INT-1) through the real binary, on the
//! backend named by ROUNDTABLE_TEST_DB: a target in the configuration file, the reference
//! receiver failing (500, then a garbage answer, then no answer) while a case's ledger is
//! ticked off (销号) and confirmed; the server killed with SIGKILL mid-attempt and restarted;
//! then every queued record arrives, each change applied once, the ledger as confirmed, no
//! bad signature, nothing in the dead letters.

#[path = "../benches/common/mod.rs"]
mod common;
mod receiver;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{command, demo_password, free_port, login, send, wait_listening};
use hyper::StatusCode;
use receiver::Mode;
use roundtable_store::{Db, Exec, Sql, testing};

const AUDIT_KEY: &str = "exchange-test-audit-key-of-32-chars!";
const SECRET: &str = "党建云平台-test-secret-0123";
const TODAY: &str = "2026-11-27";

fn serve(dir: &std::path::Path, url: &str, port: u16) -> std::process::Child {
    command(dir, url)
        .env("ROUNDTABLE_AUDIT_KEY", AUDIT_KEY)
        .env("ROUNDTABLE_TODAY", TODAY)
        .env("ROUNDTABLE_CONFIG", dir.join("roundtable.toml"))
        .env("ROUNDTABLE_EXCHANGE_FIRST_RETRY_SECONDS", "1")
        .env("ROUNDTABLE_EXCHANGE_TIMEOUT_SECONDS", "2")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("serve starts")
}

async fn number(db: &Db, sql: &str) -> i64 {
    db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

async fn wait_for(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    let t0 = Instant::now();
    while !done().await {
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "waited {secs} s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledgers_reach_the_platform_exactly_once_across_failures_and_a_restart() {
    let dir = std::env::temp_dir().join(format!("roundtable-exchange-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = testing::fresh_url().await.unwrap();
    let (receiver_addr, received) = receiver::start(SECRET, Mode::Fail).await;
    std::fs::write(
        dir.join("roundtable.toml"),
        format!(
            "[[exchange_targets]]\nname = \"网络党建云平台\"\nendpoint = \"http://{receiver_addr}/in\"\nkinds = [\"case\", \"ledger_item\"]\nsecret = \"{SECRET}\"\n"
        ),
    )
    .unwrap();
    let demo = command(&dir, &url)
        .env("ROUNDTABLE_AUDIT_KEY", AUDIT_KEY)
        .env("ROUNDTABLE_TODAY", TODAY)
        .args(["demo", "--no-serve", "--months", "2", "--communities", "3"])
        .status()
        .unwrap();
    assert!(demo.success());
    let db = Db::connect(&url).await.unwrap();
    let case: i64 = number(
        &db,
        "SELECT MIN(c.id) FROM cases c WHERE c.step = 'implementation' AND EXISTS (SELECT 1 FROM ledger_items l WHERE l.case_id = c.id AND l.status = 'open')",
    )
    .await;
    let items: Vec<i64> = db
        .pool()
        .fetch_all(Sql::with(
            "SELECT id FROM ledger_items WHERE case_id = $1 ORDER BY id",
            roundtable_store::args![case],
        ))
        .await
        .unwrap();
    assert!(!items.is_empty());

    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = serve(&dir, &url, port);
    wait_listening(addr).await;
    // The target of the configuration file is there, and the receiver is being tried.
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM exchange_targets WHERE from_config = TRUE"
        )
        .await,
        1
    );
    wait_for("a failed attempt", 30, async || {
        !received.lock().unwrap().requests.is_empty()
    })
    .await;

    // 销号 and confirmation while the platform is down: no request waits on it.
    let zzb = login(addr, "zzb", &demo_password(&dir, "zzb")).await;
    let street = login(addr, "street", &demo_password(&dir, "street")).await;
    let mut sender = common::connect(addr).await.unwrap();
    for (who, action) in [(&zzb, "close"), (&street, "confirm")] {
        for item in &items {
            let t0 = Instant::now();
            let (status, _, body) = send(
                &mut sender,
                "POST",
                &format!("/api/v1/cases/{case}/ledger/{item}/actions"),
                who,
                Some(
                    serde_json::json!({"action": action, "evidence": "已完成，现场照片存档"})
                        .to_string(),
                ),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::OK,
                "{action}: {}",
                String::from_utf8_lossy(&body)
            );
            assert!(
                t0.elapsed() < Duration::from_secs(2),
                "the 销号 did not wait on the delivery"
            );
        }
    }
    // The case page says what has not gone yet, and why.
    let (status, _, body) = send(
        &mut sender,
        "GET",
        &format!("/api/v1/cases/{case}/deliveries"),
        &zzb,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let states: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ledger_states: Vec<&serde_json::Value> = states
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "ledger_item")
        .collect();
    assert_eq!(ledger_states.len(), items.len());
    assert!(
        ledger_states
            .iter()
            .all(|r| r["targets"][0]["state"] != "delivered"),
        "{states}"
    );

    // A garbage answer is no confirmation; then the platform hangs and the server dies
    // mid-attempt.
    receiver::set_mode(&received, Mode::Garbage);
    let seen = received.lock().unwrap().requests.len();
    wait_for("an attempt answered with garbage", 30, async || {
        received.lock().unwrap().requests.len() > seen
    })
    .await;
    let error: String = db
        .pool()
        .fetch_one(Sql::new(
            "SELECT COALESCE(MAX(last_error), '') FROM exchange_batches WHERE status = 'pending'",
        ))
        .await
        .unwrap();
    assert!(
        error.contains("不是 JSON 确认"),
        "the reason is recorded: {error}"
    );
    receiver::set_mode(&received, Mode::Hang);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill().expect("SIGKILL");
    server.wait().unwrap();
    assert!(
        received.lock().unwrap().confirmed.is_empty(),
        "nothing confirmed yet"
    );

    // Back up, with the platform answering.
    receiver::set_mode(&received, Mode::Accept);
    let server = serve(&dir, &url, port);
    wait_listening(addr).await;
    let expected = number(
        &db,
        "SELECT COUNT(*) FROM (SELECT DISTINCT kind, record_id FROM exchange_changes WHERE kind IN ('case', 'ledger_item')) x",
    )
    .await;
    wait_for("every record delivered", 90, async || {
        received.lock().unwrap().records.len() as i64 >= expected
            && number(
                &db,
                "SELECT COUNT(*) FROM exchange_batches WHERE status = 'pending'",
            )
            .await
                == 0
    })
    .await;

    {
        let r = received.lock().unwrap();
        assert_eq!(r.bad_signatures, 0);
        assert_eq!(r.stale_timestamps, 0);
        assert_eq!(
            r.records.len() as i64,
            expected,
            "every record, and only the target's kinds"
        );
        let mut effects = r.effects.clone();
        effects.sort();
        effects.dedup();
        assert_eq!(effects.len(), r.effects.len(), "no change applied twice");
        for item in &items {
            let (_, rec) = &r.records[&("ledger_item".to_string(), *item)];
            assert_eq!(rec["data"]["status"]["code"], "confirmed", "{rec}");
            assert_eq!(rec["case_id"], case);
            assert!(
                rec["org"]["path"].as_array().is_some_and(|p| p.len() >= 2),
                "{rec}"
            );
        }
    }
    assert_eq!(
        number(
            &db,
            "SELECT COUNT(*) FROM exchange_batches WHERE status = 'dead'"
        )
        .await,
        0
    );

    // The case page now says 已上传 for each item.
    let zzb = login(addr, "zzb", &demo_password(&dir, "zzb")).await;
    let mut sender = common::connect(addr).await.unwrap();
    let (_, _, body) = send(
        &mut sender,
        "GET",
        &format!("/api/v1/cases/{case}/deliveries"),
        &zzb,
        None,
    )
    .await;
    let states: serde_json::Value = serde_json::from_slice(&body).unwrap();
    for r in states.as_array().unwrap() {
        if r["kind"] == "case" || r["kind"] == "ledger_item" {
            assert_eq!(r["targets"][0]["label"], "已上传", "{r}");
            assert!(r["targets"][0]["at"].is_string(), "with the time: {r}");
        } else {
            assert_eq!(
                r["targets"],
                serde_json::json!([]),
                "a kind the target does not take: {r}"
            );
        }
    }
    common::stop(server);

    // The same records as a file, for a platform that takes uploads by hand.
    let out = command(&dir, &url)
        .env("ROUNDTABLE_AUDIT_KEY", AUDIT_KEY)
        .args([
            "export",
            "--format",
            "exchange",
            "--since",
            "2026-01-01",
            "exchange.zip",
        ])
        .status()
        .unwrap();
    assert!(out.success(), "roundtable export --format exchange");
    let zip = std::fs::read(dir.join("exchange.zip")).unwrap();
    assert!(zip.starts_with(b"PK"), "a zip file");
    let (failed, _) = {
        let o = command(&dir, &url)
            .env("ROUNDTABLE_AUDIT_KEY", AUDIT_KEY)
            .args([
                "export",
                "--format",
                "exchange",
                "--since",
                "yesterday",
                "x.zip",
            ])
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        (
            !o.status.success(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    assert!(failed, "a bad --since is refused");
    let _ = std::fs::remove_dir_all(&dir);
}
