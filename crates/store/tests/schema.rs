//! The two migration folders must produce the same schema: tables, columns, nullability and
//! index names. Needs both backends, so it runs in the PostgreSQL stage of .ci/run
//! (ROUNDTABLE_TEST_DB=postgres); on SQLite alone there is nothing to compare with.

use std::collections::BTreeSet;

use roundtable_store::{Db, Exec, FromRow, Row, Sql, StoreError, migrate, testing};

struct Col(String, String, bool);
impl FromRow for Col {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Col(
            r.get("t")?,
            r.get("c")?,
            r.get::<i64>("nullable")? == 1,
        ))
    }
}

async fn columns(db: &Db) -> BTreeSet<(String, String, bool)> {
    let sql = match db {
        Db::Sqlite(..) => {
            "SELECT m.name AS t, p.name AS c, CASE WHEN p.\"notnull\" = 0 AND p.pk = 0 THEN 1 ELSE 0 END AS nullable FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
        Db::Postgres(_) => {
            "SELECT table_name::text AS t, column_name::text AS c, CASE WHEN is_nullable = 'YES' THEN 1::bigint ELSE 0::bigint END AS nullable FROM information_schema.columns WHERE table_schema = 'public'"
        }
    };
    let rows: Vec<Col> = db.pool().fetch_all(Sql::new(sql)).await.unwrap();
    rows.into_iter().map(|c| (c.0, c.1, c.2)).collect()
}

async fn indexes(db: &Db) -> BTreeSet<String> {
    let sql = match db {
        Db::Sqlite(..) => {
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'"
        }
        Db::Postgres(_) => {
            "SELECT indexname::text AS name FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'"
        }
    };
    db.pool()
        .fetch_all::<String>(Sql::new(sql))
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn migrations_in_lockstep_give_the_same_schema() {
    if testing::backend() != "postgres" {
        eprintln!("schema comparison runs in the PostgreSQL stage (ROUNDTABLE_TEST_DB=postgres)");
        return;
    }
    let sqlite = testing::fresh_sqlite().await.unwrap();
    let pg = testing::fresh_pg().await.unwrap();
    assert_eq!(
        migrate::run(&sqlite).await.unwrap(),
        migrate::run(&pg).await.unwrap()
    );
    // Running again applies nothing.
    assert_eq!(migrate::run(&sqlite).await.unwrap(), 0);
    let (a, b) = (columns(&sqlite).await, columns(&pg).await);
    let only_sqlite: Vec<_> = a.difference(&b).collect();
    let only_pg: Vec<_> = b.difference(&a).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "columns differ: sqlite only {only_sqlite:?}; postgres only {only_pg:?}"
    );
    assert!(a.len() > 50, "suspiciously few columns: {}", a.len());
    assert_eq!(indexes(&sqlite).await, indexes(&pg).await);
}
