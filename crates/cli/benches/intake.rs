//! The topic-intake benchmark (issue 3, "Performance"): run it with
//!
//!     cargo bench -p roundtable --bench intake
//!
//! It builds the demo district in a temporary directory with the real binary, adds 200,000
//! topics spread over its communities (statuses mixed as a year of use would leave them), serves
//! it with the portal's rate limit off, and measures:
//! - portal submissions (POST /api/v1/public/topics, segmentation included) at 32 concurrent
//!   clients: throughput (target ≥ 1,000/s sustained on SQLite);
//! - the screening list (GET /api/v1/topics, a community secretary's filters and the whole
//!   district's pending queue): p99 (target < 30 ms);
//! - similar-matter suggestions (GET /api/v1/topics/{id}/similar): per matter (target < 20 ms).
//!
//! `ROUNDTABLE_BENCH_TOPICS` changes the number of topics; `ROUNDTABLE_BENCH_DATABASE_URL=
//! postgres://…/an_empty_database` runs it on PostgreSQL; `ROUNDTABLE_BENCH_KEEP=1` keeps the
//! SQLite database for a closer look.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use common::*;
use hyper::StatusCode;
use roundtable_core::similarity;
use roundtable_core::topics::Channel;
use roundtable_store::topics::TopicFields;
use roundtable_store::{Db, Exec, Sql};

const MATTERS: &[(&str, &str, &str)] = &[
    (
        "safety",
        "楼道杂物堆放",
        "楼道里堆满纸箱和旧家具，堵塞消防通道",
    ),
    (
        "safety",
        "电动车飞线充电",
        "电动车在楼道里充电，希望安装集中充电桩",
    ),
    ("safety", "外墙瓷砖脱落", "外墙瓷砖松动脱落，楼下行人有危险"),
    (
        "environment",
        "垃圾清运不及时",
        "垃圾站臭味大，垃圾清运不及时",
    ),
    (
        "environment",
        "绿化带被毁种菜",
        "有住户毁绿种菜，公共绿地变成了菜地",
    ),
    (
        "environment",
        "雨天门口积水",
        "一下大雨小区门口就积水，排水管道堵了",
    ),
    (
        "environment",
        "路灯不亮",
        "北门路灯坏了一个多月，晚上回家不安全",
    ),
    (
        "culture",
        "健身器材损坏",
        "广场上的健身器材年久失修，孩子玩很危险",
    ),
    (
        "culture",
        "广场舞噪音",
        "晚上九点多还在跳广场舞，音响声音太大",
    ),
    (
        "living_care",
        "老旧小区加装电梯",
        "老楼没有电梯，六楼的老人下楼太难",
    ),
    (
        "living_care",
        "老年助餐",
        "独居老人做饭不方便，希望开设长者助餐点",
    ),
    ("public_benefit", "文明养犬", "遛狗不牵绳，狗粪到处都是"),
];

fn body(c: usize, i: usize, communities: &[i64]) -> String {
    let (cat, title, desc) = MATTERS[(c * 7 + i) % MATTERS.len()];
    let org = communities[(c * 13 + i) % communities.len()];
    format!(
        r#"{{"org_id":{org},"title":"{title}（{}栋）","description":"{desc}，第{i}次反映","category":"{cat}","contact_consent":"1"}}"#,
        i % 30 + 1
    )
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("ROUNDTABLE_BENCH_TOPICS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let dir = std::env::temp_dir().join(format!("roundtable-bench-intake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bench_url = std::env::var("ROUNDTABLE_BENCH_DATABASE_URL").ok();
    let url = bench_url.as_deref().unwrap_or("sqlite://data/demo.db");
    println!(
        "roundtable intake benchmark — {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if bench_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let ok = command(&dir, url)
        .args(["demo", "--no-serve", "--no-history"])
        .status()
        .expect("roundtable demo runs")
        .success();
    assert!(ok, "roundtable demo failed");

    // 200,000 topics, written directly (terms segmented once per distinct text).
    let t = Instant::now();
    let direct = match &bench_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}/data/demo.db", dir.display()),
    };
    let db = Db::connect(&direct).await.expect("database");
    let communities: Vec<i64> = db
        .pool()
        .fetch_all(Sql::new(
            "SELECT id FROM orgs WHERE kind IN ('community', 'village') ORDER BY id",
        ))
        .await
        .expect("communities");
    let secretary_community: i64 = db
        .pool()
        .fetch_one(Sql::new(
            "SELECT org_id FROM user_roles WHERE role = 'community_secretary'",
        ))
        .await
        .expect("secretary");
    let terms: Vec<String> = MATTERS
        .iter()
        .map(|(_, t, d)| similarity::to_stored(&roundtable_web::services::similar::terms(t, d)))
        .collect();
    let statuses = [
        "pending", "pending", "accepted", "accepted", "rejected", "done", "merged", "adopted",
    ];
    let mut tx = db.begin().await.expect("tx");
    for i in 0..n {
        let m = i % MATTERS.len();
        let (cat, title, desc) = MATTERS[m];
        let channel = [Channel::Portal, Channel::Hotline, Channel::Wechat][i % 3];
        let f = TopicFields {
            org_id: communities[(i * 7919) % communities.len()],
            title: format!("{title}（{}栋）", i % 30 + 1),
            description: desc.into(),
            category: cat.into(),
            category_reason: None,
            channel: channel.code().into(),
            direction: channel.direction().code().into(),
            collector_person_id: None,
            submitter_name: None,
            submitter_phone: None,
            contact_consent: false,
            location: None,
            collected_on: None,
            level: "community".into(),
            terms: terms[m].clone(),
        };
        // Unique, and never mistaken for a resident's code (no check character).
        let code = format!("XB-{i:09}");
        roundtable_store::topics::insert(&mut tx, &code, &f, statuses[i % statuses.len()], None)
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");
    if bench_url.is_some() {
        // A year of use leaves PostgreSQL vacuumed and analysed (autovacuum); a bulk insert a moment
        // ago does not yet.
        db.pool()
            .execute(Sql::new("VACUUM ANALYZE"))
            .await
            .expect("analyze");
    }
    db.close().await;
    println!("{n} topics written in {:.1} s", t.elapsed().as_secs_f64());

    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = command(&dir, url)
        .env("ROUNDTABLE_PORTAL_PER_HOUR", "0")
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("serve");
    wait_listening(addr).await;
    let secretary = login(addr, "secretary", &demo_password(&dir, "secretary")).await;
    let admin = login(addr, "admin", &demo_password(&dir, "admin")).await;

    // Portal submissions.
    let comms = Arc::new(communities.clone());
    let make: Make = Arc::new(move |c, i| {
        (
            "POST",
            "/api/v1/public/topics".to_string(),
            Some(body(c, i, &comms)),
        )
    });
    let _ = load_with(addr, "", CLIENTS, 10, StatusCode::CREATED, make.clone()).await;
    let (lat, wall, f) = load_with(addr, "", CLIENTS, 200, StatusCode::CREATED, make).await;
    report("portal submissions (32 clients)  [≥ 1000/s]", &lat, wall, f);

    // The screening list.
    let secretary_make: Make = Arc::new(|c, i| {
        let uri = match (c + i) % 4 {
            0 => format!("/api/v1/topics?status=pending&page={}", i % 5 + 1),
            1 => "/api/v1/topics?status=accepted&category=safety".to_string(),
            2 => "/api/v1/topics?q=%E6%A5%BC%E9%81%93%20%E6%9D%82%E7%89%A9".to_string(),
            _ => "/api/v1/topics?channel=hotline&status=pending".to_string(),
        };
        ("GET", uri, None)
    });
    let district_make: Make = Arc::new(|_, i| {
        (
            "GET",
            format!("/api/v1/topics?status=pending&page={}", i % 5 + 1),
            None,
        )
    });
    // 32 clients saturate the 2 cores (the load generator runs on them too): the figure is
    // mostly queueing. 4 clients is a busy screening desk of a whole district.
    for clients in [CLIENTS, 4] {
        let requests = 3200 / clients;
        let (lat, wall, f) = load_with(
            addr,
            &secretary,
            clients,
            requests,
            StatusCode::OK,
            secretary_make.clone(),
        )
        .await;
        report(
            &format!("screening list, a community ({clients} clients)  [p99 < 30 ms]"),
            &lat,
            wall,
            f,
        );
        let (lat, wall, f) = load_with(
            addr,
            &admin,
            clients,
            requests / 2,
            StatusCode::OK,
            district_make.clone(),
        )
        .await;
        report(
            &format!("screening list, whole district ({clients} clients)  [p99 < 30 ms]"),
            &lat,
            wall,
            f,
        );
    }

    // Similar matters, one client at a time (the figure is per matter).
    let ids: Vec<i64> = {
        let db = Db::connect(&direct).await.expect("database");
        let ids = db
            .pool()
            .fetch_all(Sql::with(
                "SELECT id FROM topics WHERE org_id = $1 AND status = 'pending' ORDER BY id LIMIT 100",
                vec![secretary_community.into()],
            ))
            .await
            .expect("ids");
        db.close().await;
        ids
    };
    let ids = Arc::new(ids);
    let similar_make: Make = {
        let ids = ids.clone();
        Arc::new(move |_, i| {
            (
                "GET",
                format!("/api/v1/topics/{}/similar", ids[i % ids.len()]),
                None,
            )
        })
    };
    let (lat, wall, f) = load_with(addr, &secretary, 1, 200, StatusCode::OK, similar_make).await;
    report(
        "similar matters, per matter (1 client)  [< 20 ms]",
        &lat,
        wall,
        f,
    );

    stop(server);
    // ROUNDTABLE_BENCH_KEEP=1 keeps the database for a closer look (EXPLAIN, profiling).
    if std::env::var_os("ROUNDTABLE_BENCH_KEEP").is_some() {
        println!("database kept in {}", dir.join("data/demo.db").display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
