//! Backups (issue 6 point 6) on the backend named by ROUNDTABLE_TEST_DB: a demo database with
//! a history and an uploaded photo round-trips through a backup into a new database, every
//! table compared; a backup made while writers run restores to one consistent moment (its
//! audit chain verifies); a changed file, a changed manifest, a damaged file and a restore
//! into a database that is not empty are refused and change nothing. On PostgreSQL the same
//! file also restores into SQLite, identical.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use roundtable_store::backup;
use roundtable_store::{Db, Exec, Sql, testing};
use roundtable_web::services::backup as service;
use roundtable_web::services::wishes::{self, WishInput};
use serde_json::Value;

type Contents = BTreeMap<String, Vec<Vec<Value>>>;

fn temp(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "roundtable-backup-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ))
}

async fn new_target() -> Db {
    Db::connect(&testing::fresh_url().await.unwrap())
        .await
        .unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

/// Every table equal, except what the restore itself adds: the audit chain of the copy is the
/// first `entries` rows of the restored one (which then records the restore), and its head.
fn assert_same(source: &Contents, restored: &Contents, entries: usize) {
    assert_eq!(
        source.keys().collect::<Vec<_>>(),
        restored.keys().collect::<Vec<_>>()
    );
    for (table, rows) in source {
        let got = &restored[table];
        match table.as_str() {
            "audit_log" => {
                assert_eq!(&got[..entries], &rows[..entries], "audit_log");
                assert_eq!(got.len(), entries + 1, "the restore is recorded");
            }
            "audit_chain_head" => {}
            // Sorted: a text key sorts by collation on PostgreSQL, by bytes on SQLite.
            _ => assert_eq!(sorted(got), sorted(rows), "table {table}"),
        }
    }
}

fn sorted(rows: &[Vec<Value>]) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    out.sort();
    out
}

/// The demo with six cases of history and one photo under the data directory.
async fn demo_with_history() -> common::App {
    let app = common::app().await;
    let calendar = roundtable_web::services::calendar::CalendarCache::default();
    roundtable_web::history::generate(
        &app.db,
        &calendar,
        &roundtable_web::history::Options {
            months: 2,
            communities: Some(3),
            seed: 11,
            parallel: 2,
        },
        &|_, _| {},
    )
    .await
    .unwrap();
    let photo = roundtable_web::services::photos::check(1, common::png()).unwrap();
    roundtable_web::services::photos::save(&app.data_dir, &photo).unwrap();
    app
}

#[tokio::test]
async fn a_demo_database_round_trips_through_a_backup() {
    let app = demo_with_history().await;
    assert!(count(&app.db, "SELECT COUNT(*) FROM cases").await >= 6);
    let file = temp("demo.backup.zip");
    let made = service::make_at(&app.db, &app.data_dir, &file)
        .await
        .unwrap();
    // The copy as of the backup: the backup's own audit entry came after it.
    let mut source = backup::contents(&app.db).await.unwrap();
    let entries = made.manifest.audit_entries as usize;
    source.get_mut("audit_log").unwrap().truncate(entries);
    assert_eq!(made.manifest.files.len(), 2, "the photo and its thumbnail");
    assert!(made.manifest.rows() > 1000);

    let target = new_target().await;
    let dir = temp("restored-data");
    let report = service::restore(&target, &file, &dir).await.unwrap();
    assert_eq!(report.restored.rows, made.manifest.rows());
    assert_eq!(report.chain.entries, entries as i64);
    let restored = backup::contents(&target).await.unwrap();
    assert_same(&source, &restored, entries);
    for f in &made.manifest.files {
        assert_eq!(
            std::fs::read(app.data_dir.join(&f.path)).unwrap(),
            std::fs::read(dir.join(&f.path)).unwrap(),
            "{}",
            f.path
        );
    }
    // New rows continue after the restored ones (PostgreSQL's identities were moved on).
    let wishes_before = count(&target, "SELECT COUNT(*) FROM wishes").await;
    post_wishes(&target, 1).await;
    assert_eq!(
        count(&target, "SELECT COUNT(*) FROM wishes").await,
        wishes_before + 1
    );

    // A database that is not empty is refused and keeps what it holds.
    let orgs = count(&app.db, "SELECT COUNT(*) FROM orgs").await;
    let e = service::restore(&app.db, &file, &temp("x"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    assert_eq!(count(&app.db, "SELECT COUNT(*) FROM orgs").await, orgs);

    // On PostgreSQL: the same file restores into SQLite, every table the same.
    if testing::backend() == "postgres" {
        let sqlite = testing::fresh_sqlite().await.unwrap();
        service::restore(&sqlite, &file, &temp("sqlite-data"))
            .await
            .unwrap();
        assert_same(&source, &backup::contents(&sqlite).await.unwrap(), entries);
    }
}

/// Copies the zip at `from` to a new file, changing what `change` changes.
fn rewrite(from: &Path, change: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> PathBuf {
    let to = temp("changed.backup.zip");
    let mut src = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(&to).unwrap());
    for i in 0..src.len() {
        let mut entry = src.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&change(&name, bytes)).unwrap();
    }
    out.finish().unwrap();
    to
}

#[tokio::test]
async fn a_changed_or_damaged_backup_is_refused_and_changes_nothing() {
    let app = common::app().await;
    let file = temp("demo.backup.zip");
    service::make_at(&app.db, &app.data_dir, &file)
        .await
        .unwrap();

    // A person's name changed inside the copy: the entry no longer matches its hash.
    let renamed = rewrite(&file, |name, bytes| {
        if name == "tables/people.jsonl" {
            String::from_utf8(bytes)
                .unwrap()
                .replacen("\"", "\"改", 2)
                .into_bytes()
        } else {
            bytes
        }
    });
    let target = new_target().await;
    let e = service::restore(&target, &renamed, &temp("d"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("people"), "{e}");
    assert_eq!(count(&target, "SELECT COUNT(*) FROM orgs").await, 0);
    assert_eq!(count(&target, "SELECT COUNT(*) FROM people").await, 0);
    // The same target then takes the good file: the failed attempt left it empty.
    service::restore(&target, &file, &temp("d2")).await.unwrap();

    // The manifest changed (one row fewer claimed): the signature no longer matches.
    let manifest_changed = rewrite(&file, |name, bytes| {
        if name == "manifest.json" {
            let mut m: backup::Manifest = serde_json::from_slice(&bytes).unwrap();
            let orgs = m.tables.iter_mut().find(|t| t.name == "orgs").unwrap();
            orgs.rows -= 1;
            serde_json::to_vec_pretty(&m).unwrap()
        } else {
            bytes
        }
    });
    let e = service::restore(&new_target().await, &manifest_changed, &temp("d"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("signature"), "{e}");

    // Cut short.
    let bytes = std::fs::read(&file).unwrap();
    let cut = temp("cut.backup.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = service::restore(&new_target().await, &cut, &temp("d"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("zip"), "{e}");

    // The good file checks whole (`roundtable restore --check`).
    let mut archive = backup::open(&file).unwrap();
    archive.check().unwrap();
}

async fn post_wishes(db: &Db, n: usize) {
    let community: i64 = db
        .pool()
        .fetch_one(Sql::new(
            "SELECT id FROM orgs WHERE kind = 'community' ORDER BY id LIMIT 1",
        ))
        .await
        .unwrap();
    let staff = common::community_staff(community);
    for i in 0..n {
        wishes::post(
            db,
            &staff,
            &WishInput {
                org_id: Some(community),
                title: format!("为第{i}户更换楼道灯"),
                detail: None,
                household_name: "李阿姨".into(),
                household_phone: None,
            },
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_backup_made_while_writers_run_is_one_consistent_moment() {
    let app = common::app().await;
    let file = temp("busy.backup.zip");
    let before = count(&app.db, "SELECT COUNT(*) FROM wishes").await;
    let writers = {
        let db = app.db.clone();
        tokio::spawn(async move { post_wishes(&db, 60).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let made = service::make_at(&app.db, &app.data_dir, &file)
        .await
        .unwrap();
    writers.await.unwrap();
    let after = count(&app.db, "SELECT COUNT(*) FROM wishes").await;
    assert_eq!(after, before + 60);

    let target = new_target().await;
    // The restore verifies the copied chain: a copy torn between two moments would not.
    let report = service::restore(&target, &file, &temp("d")).await.unwrap();
    assert_eq!(report.chain.entries, made.manifest.audit_entries);
    let copied = count(&target, "SELECT COUNT(*) FROM wishes").await;
    assert!(
        (before..=after).contains(&copied),
        "{before} ≤ {copied} ≤ {after}"
    );
    // Each wish copied is the one the source holds, and each has its audit entry.
    let source = backup::contents(&app.db).await.unwrap();
    let restored = backup::contents(&target).await.unwrap();
    assert_eq!(
        &source["wishes"][..copied as usize],
        &restored["wishes"][..],
        "the copy is a prefix of what was written"
    );
    let posted: i64 = count(
        &target,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'wish.post'",
    )
    .await;
    assert_eq!(posted, copied - before);
}
