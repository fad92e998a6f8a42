//! Fresh databases for tests. The backend is chosen by `ROUNDTABLE_TEST_DB` (`sqlite`, the
//! default, or `postgres`); PostgreSQL tests each get a database of their own, created through
//! `ROUNDTABLE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`), so they run in
//! parallel. A test never falls back to another backend: an unreachable server fails loudly.

use crate::StoreError;
use crate::db::{Db, Exec, Sql};

pub fn backend() -> String {
    std::env::var("ROUNDTABLE_TEST_DB").unwrap_or_else(|_| "sqlite".into())
}

pub fn pg_admin_url() -> String {
    std::env::var("ROUNDTABLE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "rt_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The audit key of every test process (a deployment's comes from its configuration).
pub const AUDIT_KEY: &[u8] = b"roundtable-tests-audit-key-32-bytes!";

/// The data key of every test process (`pii`).
pub const DATA_KEY: &str = "k1:7465737473206f6620726f756e647461626c653a2064617461206b6579203332";

fn test_key() {
    crate::audit::set_key(AUDIT_KEY);
    if let Ok(k) = crate::pii::Keyring::parse(DATA_KEY) {
        crate::pii::set_keyring(k);
    }
}

/// An empty, migrated database of the configured backend.
pub async fn fresh_db() -> Result<Db, StoreError> {
    test_key();
    let db = match backend().as_str() {
        "postgres" => fresh_pg().await?,
        "sqlite" => fresh_sqlite().await?,
        other => {
            return Err(StoreError::Config(format!(
                "ROUNDTABLE_TEST_DB must be sqlite or postgres, got {other}"
            )));
        }
    };
    crate::migrate::run(&db).await?;
    Ok(db)
}

/// An empty, migrated database opened as the history generator opens it
/// (`Db::connect_for_bulk_writes`: on SQLite one connection, no memory map).
pub async fn fresh_db_for_bulk_writes() -> Result<Db, StoreError> {
    test_key();
    let db = match backend().as_str() {
        "sqlite" => Db::connect_for_bulk_writes(&sqlite_url()).await?,
        _ => return fresh_db().await,
    };
    crate::migrate::run(&db).await?;
    Ok(db)
}

fn sqlite_url() -> String {
    let dir = std::env::temp_dir().join("roundtable-tests");
    format!(
        "sqlite://{}",
        dir.join(format!("{}.db", unique_name())).display()
    )
}

pub async fn fresh_sqlite() -> Result<Db, StoreError> {
    Db::connect(&sqlite_url()).await
}

/// The address of a new, empty database of the configured backend (nothing migrated), for a
/// test that opens it more than once — two server instances on one database.
pub async fn fresh_url() -> Result<String, StoreError> {
    test_key();
    match backend().as_str() {
        "postgres" => fresh_pg_url().await,
        _ => Ok(sqlite_url()),
    }
}

pub async fn fresh_pg() -> Result<Db, StoreError> {
    Db::connect(&fresh_pg_url().await?).await
}

async fn fresh_pg_url() -> Result<String, StoreError> {
    let admin_url = pg_admin_url();
    let admin = Db::connect(&admin_url).await.map_err(|e| {
        StoreError::Config(format!("PostgreSQL at {admin_url} is not reachable: {e}"))
    })?;
    let name = unique_name();
    admin
        .pool()
        .execute(Sql::new(&format!("CREATE DATABASE {name}")))
        .await?;
    admin.close().await;
    match admin_url.rsplit_once('/') {
        Some((base, _)) => Ok(format!("{base}/{name}")),
        None => Err(StoreError::Config(format!(
            "bad ROUNDTABLE_TEST_PG_URL {admin_url}"
        ))),
    }
}
