//! Audit records: who changed what, with the state before and after, written in the same
//! transaction as the change (ENGINEERING.md "Security"). The hash chain comes with the trust work.

use crate::db::{Exec, Sql};
use crate::{StoreError, args};

pub async fn record(
    e: &mut impl Exec,
    actor_user_id: Option<i64>,
    action: &str,
    object_type: &str,
    object_id: Option<i64>,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "INSERT INTO audit_log (at, actor_user_id, action, object_type, object_id, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            crate::now(),
            actor_user_id,
            action,
            object_type,
            object_id,
            before.map(|v| v.to_string()),
            after.map(|v| v.to_string())
        ],
    ))
    .await?;
    Ok(())
}

pub async fn count_for(
    e: &mut impl Exec,
    object_type: &str,
    object_id: i64,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "SELECT COUNT(*) FROM audit_log WHERE object_type = $1 AND object_id = $2",
        args![object_type, object_id],
    ))
    .await
}
