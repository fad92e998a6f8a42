//! API tokens for machine clients (issue 6 point 4): only the SHA-256 of a token is kept; each
//! names the roles of its account it carries and, optionally, the subtree it is narrowed to.

use chrono::{DateTime, Utc};

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// Role codes, comma-separated.
    pub roles: String,
    /// The subtree it is narrowed to (none: the account's whole scope).
    pub org_id: Option<i64>,
    /// Exchange record kinds it may pull, comma-separated (empty: all).
    pub kinds: String,
    pub org_name: Option<String>,
    pub org_path: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl FromRow for ApiToken {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(ApiToken {
            id: r.get("id")?,
            user_id: r.get("user_id")?,
            name: r.get("name")?,
            roles: r.get("roles")?,
            org_id: r.get("org_id")?,
            kinds: r.get("kinds")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            created_at: r.get("created_at")?,
            expires_at: r.get("expires_at")?,
            revoked_at: r.get("revoked_at")?,
            last_used_at: r.get("last_used_at")?,
        })
    }
}

const COLS: &str = "SELECT t.id, t.user_id, t.name, t.roles, t.org_id, t.kinds, o.name AS org_name, o.path AS org_path, t.created_at, t.expires_at, t.revoked_at, t.last_used_at FROM api_tokens t LEFT JOIN orgs o ON o.id = t.org_id";

pub struct NewToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub sha256: &'a str,
    pub roles: &'a str,
    pub org_id: Option<i64>,
    pub kinds: &'a str,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(e: &mut impl Exec, t: &NewToken<'_>) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO api_tokens (user_id, name, token_sha256, roles, org_id, kinds, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        args![t.user_id, t.name, t.sha256, t.roles, t.org_id, t.kinds, crate::now(), t.expires_at],
    ))
    .await
}

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<ApiToken>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{COLS} WHERE t.id = $1"), args![id]))
        .await
}

/// A token usable now, by the hash of what the client sent: not revoked, not expired.
pub async fn usable(e: &mut impl Exec, sha256: &str) -> Result<Option<ApiToken>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{COLS} WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND t.expires_at > $2"),
        args![sha256, crate::now()],
    ))
    .await
}

pub async fn of_user(e: &mut impl Exec, user_id: i64) -> Result<Vec<ApiToken>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{COLS} WHERE t.user_id = $1 ORDER BY t.id DESC"),
        args![user_id],
    ))
    .await
}

/// The hash of a token, for forgetting a cached session when it is revoked.
pub async fn hash_of(e: &mut impl Exec, id: i64) -> Result<Option<String>, StoreError> {
    e.fetch_optional(Sql::with(
        "SELECT token_sha256 FROM api_tokens WHERE id = $1",
        args![id],
    ))
    .await
}

/// Revokes once: false when it was revoked already.
pub async fn revoke(e: &mut impl Exec, id: i64) -> Result<bool, StoreError> {
    Ok(e.execute(Sql::with(
        "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        args![crate::now(), id],
    ))
    .await?
        == 1)
}

/// Notes a use, at most once a minute.
pub async fn touch(e: &mut impl Exec, id: i64) -> Result<(), StoreError> {
    let now = crate::now();
    e.execute(Sql::with(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        args![now, id, now - chrono::Duration::seconds(60)],
    ))
    .await?;
    Ok(())
}
