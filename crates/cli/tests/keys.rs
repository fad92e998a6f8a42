//! Personal data sealed at rest (issue 6 point 3) through the real binary, on the backend named
//! by ROUNDTABLE_TEST_DB: a new demo's phone numbers and addresses are SM4-GCM values under the
//! data key it created, never the digits; rows written in the clear before sealing began are
//! sealed at the next start; a wrong or missing key stops the start with a message; `keys
//! rotate` re-encrypts everything under a new key, and lookups by phone work after it.

#[path = "../benches/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{command, connect, demo_password, free_port, login, send, wait_listening};
use hyper::StatusCode;
use roundtable_store::pii::{Keyring, SEALED};
use roundtable_store::{Db, Exec, Sql, testing};

const AUDIT_KEY: &str = "keys-test-audit-key-of-32-characters!";

fn run(dir: &Path, url: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut c: Command = command(dir, url);
    c.env("ROUNDTABLE_AUDIT_KEY", AUDIT_KEY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("the binary runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every non-empty value of every sealed column, as stored.
async fn stored_values(db: &Db) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in SEALED {
        let values: Vec<String> = db
            .pool()
            .fetch_all(Sql::new(&format!(
                "SELECT {col} FROM {table} WHERE {col} IS NOT NULL",
                col = c.column,
                table = c.table
            )))
            .await
            .unwrap();
        out.extend(values.into_iter().map(|v| (c.label(), v)));
    }
    out
}

async fn one(db: &Db, sql: &str) -> String {
    db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_at_rest_wrong_keys_stop_and_rotation_reencrypts() {
    let dir = std::env::temp_dir().join(format!("roundtable-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = testing::fresh_url().await.unwrap();
    let (ok, out) = run(&dir, &url, &["demo", "--no-serve", "--no-history"], &[]);
    assert!(ok, "the demo is written: {out}");
    let key_file = dir.join("data/keys/data.key");
    let keyring = Keyring::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_eq!(keyring.ids(), vec!["k1".to_string()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file is its owner's only");
    }

    let db = Db::connect(&url).await.unwrap();
    let values = stored_values(&db).await;
    assert!(
        values.iter().filter(|(c, _)| c == "people.phone").count() > 10,
        "the demo holds people with phone numbers"
    );
    for (column, v) in &values {
        assert!(v.starts_with("sm4gcm:k1:"), "{column} holds {v}");
        let plain = keyring.open(column, v).unwrap();
        assert!(!v.contains(&plain), "{column} holds its digits");
    }
    let missing_index = one(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) FROM people WHERE phone IS NOT NULL AND phone_idx IS NULL",
    )
    .await;
    assert_eq!(missing_index, "0");

    // A row written in the clear (before sealing began) is sealed and indexed at the next start.
    let person = one(
        &db,
        "SELECT CAST(MIN(id) AS TEXT) FROM people WHERE phone IS NOT NULL",
    )
    .await;
    db.pool()
        .execute(Sql::new(&format!(
            "UPDATE people SET phone = '13911112222', phone_idx = NULL WHERE id = {person}"
        )))
        .await
        .unwrap();
    let (ok, out) = run(&dir, &url, &["migrate"], &[]);
    assert!(ok, "{out}");
    let sealed = one(
        &db,
        &format!("SELECT phone FROM people WHERE id = {person}"),
    )
    .await;
    assert!(sealed.starts_with("sm4gcm:k1:"), "{sealed}");
    assert_eq!(
        keyring.open("people.phone", &sealed).unwrap(),
        "13911112222"
    );
    let index = one(
        &db,
        &format!("SELECT phone_idx FROM people WHERE id = {person}"),
    )
    .await;
    assert_eq!(index, keyring.index("13911112222"));

    // A wrong key and a missing key file each stop `serve` with a message, serving nothing.
    let wrong = format!("k1:{}", "0f".repeat(32));
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let (ok, out) = run(
        &dir,
        &url,
        &["serve", "--listen", &listen],
        &[("ROUNDTABLE_DATA_KEY", &wrong)],
    );
    assert!(!ok, "a wrong key must stop the start");
    assert!(out.contains("does not decrypt"), "{out}");
    let (ok, out) = run(
        &dir,
        &url,
        &["serve", "--listen", &listen],
        &[("ROUNDTABLE_DATA_KEY", "k1:not-hex")],
    );
    assert!(!ok);
    assert!(
        out.contains("ROUNDTABLE_DATA_KEY") && out.contains("hexadecimal"),
        "{out}"
    );
    let aside = dir.join("data.key.aside");
    std::fs::rename(&key_file, &aside).unwrap();
    let (ok, out) = run(&dir, &url, &["serve", "--listen", &listen], &[]);
    assert!(!ok, "a missing key file must stop the start");
    assert!(out.contains("is missing"), "{out}");
    assert!(!key_file.exists(), "no new key is made up for sealed data");
    std::fs::rename(&aside, &key_file).unwrap();

    // Rotation: a new current key, every value and index anew, the old key kept.
    let index_before = one(
        &db,
        &format!("SELECT phone_idx FROM people WHERE id = {person}"),
    )
    .await;
    let (ok, out) = run(&dir, &url, &["keys", "rotate"], &[]);
    assert!(ok, "{out}");
    assert!(out.contains("当前密钥 k2"), "{out}");
    let rotated = Keyring::parse(&std::fs::read_to_string(&key_file).unwrap()).unwrap();
    assert_eq!(rotated.ids(), vec!["k2".to_string(), "k1".to_string()]);
    let after = stored_values(&db).await;
    assert_eq!(after.len(), values.len());
    for (column, v) in &after {
        assert!(v.starts_with("sm4gcm:k2:"), "{column} still holds {v}");
        rotated.open(column, v).unwrap();
    }
    let index_after = one(
        &db,
        &format!("SELECT phone_idx FROM people WHERE id = {person}"),
    )
    .await;
    assert_ne!(index_before, index_after);
    assert_eq!(index_after, rotated.index("13911112222"));
    let rotations = one(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) FROM audit_log WHERE action = 'keys.rotate'",
    )
    .await;
    assert_eq!(rotations, "1", "the rotation is audited");
    // The old key alone no longer opens the data.
    let (ok, out) = run(
        &dir,
        &url,
        &["migrate"],
        &[(
            "ROUNDTABLE_DATA_KEY",
            std::fs::read_to_string(&key_file)
                .unwrap()
                .lines()
                .find(|l| l.starts_with("k1:"))
                .unwrap(),
        )],
    );
    assert!(!ok);
    assert!(out.contains("does not hold"), "{out}");

    // Served after the rotation: a person is found by the whole number, and shown masked.
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = command(&dir, &url)
        .env("ROUNDTABLE_AUDIT_KEY", AUDIT_KEY)
        .args(["serve", "--listen", &listen])
        .spawn()
        .unwrap();
    wait_listening(addr).await;
    let cookie = login(addr, "admin", &demo_password(&dir, "admin")).await;
    let mut sender = connect(addr).await.unwrap();
    let (status, _, body) = send(
        &mut sender,
        "GET",
        "/api/v1/people?q=13911112222",
        &cookie,
        None,
    )
    .await;
    let _ = server.kill();
    let _ = server.wait();
    let body = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["total"], 1, "{body}");
    assert_eq!(json["items"][0]["id"].to_string(), person, "{body}");
    let _ = std::fs::remove_dir_all(&dir);
}
