//! Embedded migrations, applied in order inside one transaction each. The two folders hold the
//! same numbered files; `tests/schema.rs` checks the resulting schemas match.

use crate::StoreError;
use crate::db::{Db, Exec, Sql};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "topics",
        sqlite: include_str!("../migrations/sqlite/0002_topics.sql"),
        postgres: include_str!("../migrations/postgres/0002_topics.sql"),
    },
    Migration {
        version: 3,
        name: "questionnaires",
        sqlite: include_str!("../migrations/sqlite/0003_questionnaires.sql"),
        postgres: include_str!("../migrations/postgres/0003_questionnaires.sql"),
    },
    Migration {
        version: 4,
        name: "cases",
        sqlite: include_str!("../migrations/sqlite/0004_cases.sql"),
        postgres: include_str!("../migrations/postgres/0004_cases.sql"),
    },
    Migration {
        version: 5,
        name: "meetings",
        sqlite: include_str!("../migrations/sqlite/0005_meetings.sql"),
        postgres: include_str!("../migrations/postgres/0005_meetings.sql"),
    },
    Migration {
        version: 6,
        name: "projects",
        sqlite: include_str!("../migrations/sqlite/0006_projects.sql"),
        postgres: include_str!("../migrations/postgres/0006_projects.sql"),
    },
    Migration {
        version: 7,
        name: "topic_collected_on",
        sqlite: include_str!("../migrations/sqlite/0007_topic_collected_on.sql"),
        postgres: include_str!("../migrations/postgres/0007_topic_collected_on.sql"),
    },
    Migration {
        version: 8,
        name: "six_ones",
        sqlite: include_str!("../migrations/sqlite/0008_six_ones.sql"),
        postgres: include_str!("../migrations/postgres/0008_six_ones.sql"),
    },
    Migration {
        version: 9,
        name: "wishes",
        sqlite: include_str!("../migrations/sqlite/0009_wishes.sql"),
        postgres: include_str!("../migrations/postgres/0009_wishes.sql"),
    },
    Migration {
        version: 10,
        name: "calendar_feeds",
        sqlite: include_str!("../migrations/sqlite/0010_calendar_feeds.sql"),
        postgres: include_str!("../migrations/postgres/0010_calendar_feeds.sql"),
    },
    Migration {
        version: 11,
        name: "periodic_bulletins",
        sqlite: include_str!("../migrations/sqlite/0011_periodic_bulletins.sql"),
        postgres: include_str!("../migrations/postgres/0011_periodic_bulletins.sql"),
    },
    Migration {
        version: 12,
        name: "notifications",
        sqlite: include_str!("../migrations/sqlite/0012_notifications.sql"),
        postgres: include_str!("../migrations/postgres/0012_notifications.sql"),
    },
    Migration {
        version: 13,
        name: "resources",
        sqlite: include_str!("../migrations/sqlite/0013_resources.sql"),
        postgres: include_str!("../migrations/postgres/0013_resources.sql"),
    },
    Migration {
        version: 14,
        name: "audit_chain",
        sqlite: include_str!("../migrations/sqlite/0014_audit_chain.sql"),
        postgres: include_str!("../migrations/postgres/0014_audit_chain.sql"),
    },
    Migration {
        version: 15,
        name: "fingerprints",
        sqlite: include_str!("../migrations/sqlite/0015_fingerprints.sql"),
        postgres: include_str!("../migrations/postgres/0015_fingerprints.sql"),
    },
    Migration {
        version: 16,
        name: "api_tokens",
        sqlite: include_str!("../migrations/sqlite/0016_api_tokens.sql"),
        postgres: include_str!("../migrations/postgres/0016_api_tokens.sql"),
    },
    Migration {
        version: 17,
        name: "consent_version",
        sqlite: include_str!("../migrations/sqlite/0017_consent_version.sql"),
        postgres: include_str!("../migrations/postgres/0017_consent_version.sql"),
    },
    Migration {
        version: 18,
        name: "sealed_personal_data",
        sqlite: include_str!("../migrations/sqlite/0018_sealed_personal_data.sql"),
        postgres: include_str!("../migrations/postgres/0018_sealed_personal_data.sql"),
    },
    Migration {
        version: 19,
        name: "second_factor",
        sqlite: include_str!("../migrations/sqlite/0019_second_factor.sql"),
        postgres: include_str!("../migrations/postgres/0019_second_factor.sql"),
    },
    Migration {
        version: 20,
        name: "exchange",
        sqlite: include_str!("../migrations/sqlite/0020_exchange.sql"),
        postgres: include_str!("../migrations/postgres/0020_exchange.sql"),
    },
    Migration {
        version: 21,
        name: "partner_topics",
        sqlite: include_str!("../migrations/sqlite/0021_partner_topics.sql"),
        postgres: include_str!("../migrations/postgres/0021_partner_topics.sql"),
    },
    Migration {
        version: 22,
        name: "token_kinds",
        sqlite: include_str!("../migrations/sqlite/0022_token_kinds.sql"),
        postgres: include_str!("../migrations/postgres/0022_token_kinds.sql"),
    },
];

/// Applies the migrations not yet applied; returns how many were. Safe with several instances
/// starting together: PostgreSQL takes an advisory lock, SQLite an immediate write lock.
pub async fn run(db: &Db) -> Result<usize, StoreError> {
    run_to(db, latest()).await
}

/// The newest migration this program holds.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The newest migration applied to `db` (0 for a new database).
pub async fn current(db: &Db) -> Result<i64, StoreError> {
    let mut pool = db.pool();
    let exists: Option<i64> = pool
        .fetch_optional(Sql::new(if pool.is_postgres() {
            "SELECT CAST(1 AS BIGINT) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        } else {
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        }))
        .await?;
    if exists.is_none() {
        return Ok(0);
    }
    pool.fetch_one(Sql::new(
        "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM schema_migrations",
    ))
    .await
}

/// Applies the migrations up to `version` (a restore loads an older backup into its own
/// schema, then migrates on).
pub async fn run_to(db: &Db, version: i64) -> Result<usize, StoreError> {
    let mut pool = db.pool();
    let create = match db {
        Db::Sqlite(..) => {
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        }
        Db::Postgres(_) => {
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        }
    };
    pool.execute(Sql::new(create)).await?;
    let mut applied = 0;
    for m in MIGRATIONS.iter().filter(|m| m.version <= version) {
        let mut tx = db.begin().await?;
        if tx.is_postgres() {
            tx.execute(Sql::new("SELECT pg_advisory_xact_lock(7242001)"))
                .await?;
        }
        let done: Option<i64> = tx
            .fetch_optional(Sql::with(
                "SELECT version FROM schema_migrations WHERE version = $1",
                crate::args![m.version],
            ))
            .await?;
        if done.is_some() {
            continue;
        }
        let script = if tx.is_postgres() {
            m.postgres
        } else {
            m.sqlite
        };
        for stmt in split_statements(script) {
            tx.execute(Sql::new(&stmt))
                .await
                .map_err(|e| StoreError::Migration(format!("{:04}_{}: {e}", m.version, m.name)))?;
        }
        tx.execute(Sql::with(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            crate::args![m.version, m.name, crate::now()],
        ))
        .await?;
        tx.commit().await?;
        applied += 1;
        tracing::info!(version = m.version, name = m.name, "migration applied");
    }
    // R-CAL-1: the shipped holiday notices of the years the database does not hold yet.
    let mut tx = db.begin().await?;
    if tx.is_postgres() {
        tx.execute(Sql::new("SELECT pg_advisory_xact_lock(7242001)"))
            .await?;
    }
    let years = crate::calendar::seed_shipped(&mut tx).await?;
    tx.commit().await?;
    if years > 0 {
        tracing::info!(years, "holiday calendar seeded");
    }
    Ok(applied)
}

/// Splits a script on `;` at line ends, dropping comment lines (our scripts hold no procedures).
fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in script.lines() {
        let t = line.trim();
        if t.starts_with("--") || t.is_empty() {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if t.ends_with(';') {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}
