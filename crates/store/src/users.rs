//! Accounts, their roles (each for a node of the tree), sessions and authentication events.

use chrono::{DateTime, Utc};
use roundtable_core::access::Scope;

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{PageReq, Paged, StoreError, args, push_scope};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    #[serde(skip)]
    pub password_hash: String,
    pub display_name: String,
    pub person_id: Option<i64>,
    pub must_change_password: bool,
    pub disabled: bool,
    pub locked_until: Option<DateTime<Utc>>,
    pub password_changed_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The second factor's secret (base32), opened from its sealed column.
    #[serde(skip)]
    pub totp_secret: Option<String>,
    #[serde(skip)]
    pub totp_last_step: Option<i64>,
    /// When the second factor was switched on (none: the account has none).
    pub totp_enabled_at: Option<DateTime<Utc>>,
}

impl FromRow for User {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(User {
            id: r.get("id")?,
            username: r.get("username")?,
            password_hash: r.get("password_hash")?,
            display_name: r.get("display_name")?,
            person_id: r.get("person_id")?,
            must_change_password: r.get("must_change_password")?,
            disabled: r.get("disabled")?,
            locked_until: r.get("locked_until")?,
            password_changed_at: r.get("password_changed_at")?,
            last_login_at: r.get("last_login_at")?,
            created_at: r.get("created_at")?,
            totp_secret: crate::pii::open("users.totp_secret", r.get("totp_secret")?)?,
            totp_last_step: r.get("totp_last_step")?,
            totp_enabled_at: r.get("totp_enabled_at")?,
        })
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UserRole {
    pub id: i64,
    pub user_id: i64,
    pub role: String,
    pub org_id: Option<i64>,
    pub org_name: Option<String>,
    #[serde(skip)]
    pub org_path: Option<String>,
}

impl FromRow for UserRole {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(UserRole {
            id: r.get("id")?,
            user_id: r.get("user_id")?,
            role: r.get("role")?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
        })
    }
}

const COLS: &str = "SELECT u.id, u.username, u.password_hash, u.display_name, u.person_id, u.must_change_password, u.disabled, u.locked_until, u.password_changed_at, u.last_login_at, u.created_at, u.totp_secret, u.totp_last_step, u.totp_enabled_at FROM users u";

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<User>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{COLS} WHERE u.id = $1"), args![id]))
        .await
}

pub async fn by_username(e: &mut impl Exec, username: &str) -> Result<Option<User>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{COLS} WHERE u.username = $1"),
        args![username],
    ))
    .await
}

pub async fn insert(
    e: &mut impl Exec,
    username: &str,
    password_hash: &str,
    display_name: &str,
    person_id: Option<i64>,
    must_change_password: bool,
) -> Result<i64, StoreError> {
    let now = crate::now();
    e.fetch_one(Sql::with(
        "INSERT INTO users (username, password_hash, display_name, person_id, must_change_password, disabled, password_changed_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        args![username, password_hash, display_name, person_id, must_change_password, false, now],
    ))
    .await
}

pub async fn set_password(
    e: &mut impl Exec,
    id: i64,
    password_hash: &str,
    must_change: bool,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3 WHERE id = $4",
        args![password_hash, must_change, crate::now(), id],
    ))
    .await?;
    Ok(())
}

pub async fn set_disabled(e: &mut impl Exec, id: i64, disabled: bool) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE users SET disabled = $1, locked_until = NULL WHERE id = $2",
        args![disabled, id],
    ))
    .await?;
    Ok(())
}

pub async fn set_locked_until(
    e: &mut impl Exec,
    id: i64,
    until: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE users SET locked_until = $1 WHERE id = $2",
        args![until, id],
    ))
    .await?;
    Ok(())
}

pub async fn set_last_login(e: &mut impl Exec, id: i64) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE users SET last_login_at = $1, locked_until = NULL WHERE id = $2",
        args![crate::now(), id],
    ))
    .await?;
    Ok(())
}

pub async fn update_profile(
    e: &mut impl Exec,
    id: i64,
    display_name: &str,
    person_id: Option<i64>,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE users SET display_name = $1, person_id = $2 WHERE id = $3",
        args![display_name, person_id, id],
    ))
    .await?;
    Ok(())
}

/// Accounts whose roles or person lie in the scope.
pub async fn list(
    e: &mut impl Exec,
    scope: &Scope,
    q: Option<&str>,
    page: PageReq,
) -> Result<Paged<User>, StoreError> {
    let mut filter = Sql::new(" WHERE (");
    if scope.everywhere {
        filter.push("1=1");
    } else {
        filter.push("EXISTS (SELECT 1 FROM user_roles r JOIN orgs o ON o.id = r.org_id WHERE r.user_id = u.id AND ");
        push_scope(&mut filter, scope, "o.path", None);
        filter.push(") OR EXISTS (SELECT 1 FROM people p JOIN orgs o ON o.id = p.org_id WHERE p.id = u.person_id AND ");
        push_scope(&mut filter, scope, "o.path", None);
        filter.push(")");
    }
    filter.push(")");
    if let Some(q) = q {
        filter
            .push(" AND (u.username LIKE ")
            .arg(format!("%{q}%"))
            .push(" OR u.display_name LIKE ")
            .arg(format!("%{q}%"))
            .push(")");
    }
    let total: i64 = e
        .fetch_one(Sql::prefixed("SELECT COUNT(*) FROM users u", &filter))
        .await?;
    let mut sql = Sql::prefixed(COLS, &filter);
    sql.push(" ORDER BY u.username LIMIT ")
        .arg(page.per_page)
        .push(" OFFSET ")
        .arg(page.offset());
    let items = e.fetch_all(sql).await?;
    // Small tables: counted exactly.
    Ok(Paged {
        items,
        total,
        total_exact: true,
        page: page.page,
        per_page: page.per_page,
    })
}

pub async fn count(e: &mut impl Exec) -> Result<i64, StoreError> {
    e.fetch_one(Sql::new("SELECT COUNT(*) FROM users")).await
}

// ---- roles

pub async fn roles(e: &mut impl Exec, user_id: i64) -> Result<Vec<UserRole>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT r.id, r.user_id, r.role, r.org_id, o.name AS org_name, o.path AS org_path FROM user_roles r LEFT JOIN orgs o ON o.id = r.org_id WHERE r.user_id = $1 ORDER BY r.id",
        args![user_id],
    ))
    .await
}

pub async fn add_role(
    e: &mut impl Exec,
    user_id: i64,
    role: &str,
    org_id: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO user_roles (user_id, role, org_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        args![user_id, role, org_id, crate::now()],
    ))
    .await
}

pub async fn get_role(e: &mut impl Exec, role_id: i64) -> Result<Option<UserRole>, StoreError> {
    e.fetch_optional(Sql::with(
        "SELECT r.id, r.user_id, r.role, r.org_id, o.name AS org_name, o.path AS org_path FROM user_roles r LEFT JOIN orgs o ON o.id = r.org_id WHERE r.id = $1",
        args![role_id],
    ))
    .await
}

pub async fn remove_role(e: &mut impl Exec, role_id: i64) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "DELETE FROM user_roles WHERE id = $1",
        args![role_id],
    ))
    .await?;
    Ok(())
}

// ---- sessions (stored by the SHA-256 of the cookie value, never the value itself)

pub struct SessionRow {
    pub user_id: i64,
    pub csrf_token: String,
    pub last_seen_at: DateTime<Utc>,
}

impl FromRow for SessionRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(SessionRow {
            user_id: r.get("user_id")?,
            csrf_token: r.get("csrf_token")?,
            last_seen_at: r.get("last_seen_at")?,
        })
    }
}

pub async fn session_create(
    e: &mut impl Exec,
    token_hash: &str,
    user_id: i64,
    csrf: &str,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)",
        args![token_hash, user_id, csrf, crate::now()],
    ))
    .await?;
    Ok(())
}

pub async fn session_get(
    e: &mut impl Exec,
    token_hash: &str,
) -> Result<Option<SessionRow>, StoreError> {
    e.fetch_optional(Sql::with(
        "SELECT user_id, csrf_token, last_seen_at FROM sessions WHERE token_hash = $1",
        args![token_hash],
    ))
    .await
}

pub async fn session_touch(e: &mut impl Exec, token_hash: &str) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
        args![crate::now(), token_hash],
    ))
    .await?;
    Ok(())
}

pub async fn session_delete(e: &mut impl Exec, token_hash: &str) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "DELETE FROM sessions WHERE token_hash = $1",
        args![token_hash],
    ))
    .await?;
    Ok(())
}

/// Ends every session of an account (password change, lock, disable).
pub async fn sessions_delete_for_user(e: &mut impl Exec, user_id: i64) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "DELETE FROM sessions WHERE user_id = $1",
        args![user_id],
    ))
    .await?;
    Ok(())
}

pub async fn sessions_delete_idle(
    e: &mut impl Exec,
    before: DateTime<Utc>,
) -> Result<u64, StoreError> {
    e.execute(Sql::with(
        "DELETE FROM sessions WHERE last_seen_at < $1",
        args![before],
    ))
    .await
}

// ---- authentication events (login, logout, failures, lockouts)

pub async fn auth_event(
    e: &mut impl Exec,
    event: &str,
    username: &str,
    user_id: Option<i64>,
    ip: Option<&str>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "INSERT INTO auth_events (at, event, username, user_id, ip, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        args![crate::now(), event, username, user_id, ip, detail],
    ))
    .await?;
    Ok(())
}

pub async fn failures_since(
    e: &mut impl Exec,
    username: &str,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    // Failures before the security administrator lifted a lockout (or the account was
    // unlocked) no longer count towards the next one.
    e.fetch_one(Sql::with(
        "SELECT COUNT(*) FROM auth_events WHERE username = $1 AND event = 'login_failed' AND at >= $2 \
         AND id > COALESCE((SELECT MAX(id) FROM auth_events WHERE username = $1 AND event IN ('account_unlocked', 'lockout_lifted')), 0)",
        args![username, since],
    ))
    .await
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AuthEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub event: String,
    pub username: String,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

impl FromRow for AuthEvent {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(AuthEvent {
            id: r.get("id")?,
            at: r.get("at")?,
            event: r.get("event")?,
            username: r.get("username")?,
            ip: r.get("ip")?,
            detail: r.get("detail")?,
        })
    }
}

pub async fn auth_events_for(
    e: &mut impl Exec,
    username: &str,
    limit: i64,
) -> Result<Vec<AuthEvent>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT id, at, event, username, ip, detail FROM auth_events WHERE username = $1 ORDER BY id DESC LIMIT $2",
        args![username, limit],
    ))
    .await
}

/// The login record of every account, newest first (the security administrator's page):
/// optionally of one account and of one kind of event; one row more than `limit` says another
/// page follows.
pub async fn auth_events_page(
    e: &mut impl Exec,
    username: Option<&str>,
    event: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuthEvent>, StoreError> {
    let mut sql = Sql::new("SELECT id, at, event, username, ip, detail FROM auth_events WHERE 1=1");
    if let Some(u) = username {
        sql.push(" AND username = ").arg(u.to_string());
    }
    if let Some(ev) = event {
        sql.push(" AND event = ").arg(ev.to_string());
    }
    sql.push(" ORDER BY id DESC LIMIT ")
        .arg(limit)
        .push(" OFFSET ")
        .arg(offset);
    e.fetch_all(sql).await
}

fn push_ids(sql: &mut Sql, ids: &[i64]) {
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(*id);
    }
}

/// How many sessions each of `user_ids` holds now.
pub async fn session_counts(
    e: &mut impl Exec,
    user_ids: &[i64],
) -> Result<Vec<(i64, i64)>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT user_id, COUNT(*) AS n FROM sessions WHERE user_id IN (");
    push_ids(&mut sql, user_ids);
    sql.push(") GROUP BY user_id");
    let rows: Vec<SessionCount> = e.fetch_all(sql).await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.n)).collect())
}

struct SessionCount {
    user_id: i64,
    n: i64,
}

impl FromRow for SessionCount {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(SessionCount {
            user_id: r.get("user_id")?,
            n: r.get("n")?,
        })
    }
}

/// The roles of each of `user_ids` (codes), in one statement.
pub async fn role_codes(
    e: &mut impl Exec,
    user_ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT DISTINCT user_id, role FROM user_roles WHERE user_id IN (");
    push_ids(&mut sql, user_ids);
    sql.push(") ORDER BY user_id, role");
    let rows: Vec<RoleCode> = e.fetch_all(sql).await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.role)).collect())
}

struct RoleCode {
    user_id: i64,
    role: String,
}

impl FromRow for RoleCode {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(RoleCode {
            user_id: r.get("user_id")?,
            role: r.get("role")?,
        })
    }
}

/// The secret being enrolled (base32), shown until a first code confirms it; `None` drops it.
pub async fn totp_set_pending(
    e: &mut impl Exec,
    id: i64,
    secret: Option<&str>,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE users SET totp_pending = $1 WHERE id = $2",
        args![crate::pii::seal("users.totp_pending", secret)?, id],
    ))
    .await?;
    Ok(())
}

pub async fn totp_pending(e: &mut impl Exec, id: i64) -> Result<Option<String>, StoreError> {
    let stored: Option<String> = e
        .fetch_optional(Sql::with(
            "SELECT totp_pending FROM users WHERE id = $1 AND totp_pending IS NOT NULL",
            args![id],
        ))
        .await?;
    crate::pii::open("users.totp_pending", stored)
}

/// Switches the second factor on with the enrolled secret and the step its first code matched.
pub async fn totp_enable(
    e: &mut impl Exec,
    id: i64,
    secret: &str,
    step: i64,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE users SET totp_secret = $1, totp_pending = NULL, totp_last_step = $2, totp_enabled_at = $3 WHERE id = $4",
        args![crate::pii::seal("users.totp_secret", Some(secret))?, step, crate::now(), id],
    ))
    .await?;
    Ok(())
}

/// Records the step of an accepted code; `false` when that step (or a later one) was already
/// used — two logins racing with one code: only one wins.
pub async fn totp_use_step(e: &mut impl Exec, id: i64, step: i64) -> Result<bool, StoreError> {
    Ok(e
        .execute(Sql::with(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
            args![step, id],
        ))
        .await?
        == 1)
}

pub async fn totp_disable(e: &mut impl Exec, id: i64) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, totp_enabled_at = NULL WHERE id = $1",
        args![id],
    ))
    .await?;
    Ok(())
}

/// Another's reset of an account's second factor (the security administrator, or the command
/// line for a locked-out administrator): the factor goes and so do the sessions it opened.
pub async fn reset_second_factor(e: &mut impl Exec, id: i64) -> Result<(), StoreError> {
    totp_disable(e, id).await?;
    sessions_delete_for_user(e, id).await
}
