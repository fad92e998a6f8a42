//! Accounts and sessions (等保 2.0): argon2id passwords, sessions stored in the database by the
//! hash of their cookie, 30-minute idle timeout, lockout after 5 failures in 15 minutes for 15
//! minutes (held in the database so it holds across instances), forced password change, and a
//! record of every login, logout, failure and lockout in `auth_events`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::{Duration, Utc};
use rand::RngCore;
use roundtable_core::access::{Actor, Grant, Role};
use roundtable_store::users::{self, User};
use roundtable_store::{Exec, links};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "rt_session";
pub const LOCKOUT_THRESHOLD: i64 = 5;
pub const LOCKOUT_WINDOW_MINUTES: i64 = 15;
pub const LOCKOUT_MINUTES: i64 = 15;

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Checks the password rule; the error names the field.
pub fn check_new_password(field: &str, password: &str, username: &str) -> Result<(), AppError> {
    match roundtable_core::password::check_strength(password, username) {
        Some(msg) => Err(AppError::field(field, msg)),
        None => Ok(()),
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: `cookie` (name, value and attributes) marked `Secure` when the
/// deployment is served over TLS.
pub fn set_cookie(state: &AppState, cookie: &str) -> String {
    if state.config.secure_cookies {
        format!("{cookie}; Secure")
    } else {
        cookie.to_string()
    }
}

pub fn session_cookie(state: &AppState, token: &str) -> String {
    set_cookie(
        state,
        &format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"),
    )
}

pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// A verified login: the account and the new session's cookie value.
pub struct LoggedIn {
    pub user: User,
    pub token: String,
}

/// Checks the credentials — the password, and the one-time code of an account with a second
/// factor — and opens a session. Every outcome is recorded; a wrong code counts towards the
/// lockout like a wrong password.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    second_factor: Option<&str>,
    ip: Option<&str>,
) -> Result<LoggedIn, AppError> {
    let mut db = state.db.pool();
    let username = username.trim();
    let now = roundtable_store::now();
    let Some(user) = users::by_username(&mut db, username).await? else {
        // Spend the same time as a real check so that timing does not reveal accounts.
        let _ = verify_password(&state.dummy_hash, password);
        users::auth_event(
            &mut db,
            "login_failed",
            username,
            None,
            ip,
            Some("unknown user"),
        )
        .await?;
        return Err(AppError::BadCredentials);
    };
    if user.disabled {
        users::auth_event(
            &mut db,
            "login_refused",
            username,
            Some(user.id),
            ip,
            Some("disabled"),
        )
        .await?;
        return Err(AppError::Locked("账户已停用，请联系管理员".into()));
    }
    if let Some(until) = user.locked_until
        && until > now
    {
        users::auth_event(
            &mut db,
            "login_refused",
            username,
            Some(user.id),
            ip,
            Some("locked"),
        )
        .await?;
        return Err(AppError::Locked(locked_message(until)));
    }
    if !verify_password(&user.password_hash, password) {
        return Err(failed(state, &user, ip, None, AppError::BadCredentials).await?);
    }
    // The second factor (issue 6): the step of the accepted code, kept so it works once.
    let mut accepted_step = None;
    if let Some(secret) = user.totp_secret.as_deref() {
        let Some(code) = second_factor.map(str::trim).filter(|c| !c.is_empty()) else {
            users::auth_event(
                &mut db,
                "login_refused",
                username,
                Some(user.id),
                ip,
                Some("second factor missing"),
            )
            .await?;
            return Err(AppError::SecondFactorRequired);
        };
        let secret = roundtable_core::second_factor::secret_from_text(secret)
            .ok_or_else(|| AppError::Internal("the stored TOTP secret is unreadable".into()))?;
        match roundtable_core::second_factor::check(
            &secret,
            code,
            now.timestamp(),
            user.totp_last_step,
        ) {
            Ok(step) => accepted_step = Some(step),
            Err(problem) => {
                let wrong = AppError::SecondFactorWrong(problem.message().into());
                return Err(failed(state, &user, ip, Some("second factor"), wrong).await?);
            }
        }
    }
    let token = random_token();
    let mut tx = state.db.begin().await?;
    if let Some(step) = accepted_step
        && !users::totp_use_step(&mut tx, user.id, step).await?
    {
        // Another login took this code first.
        drop(tx);
        let reused = roundtable_core::second_factor::CodeProblem::Reused;
        let wrong = AppError::SecondFactorWrong(reused.message().into());
        return Err(failed(state, &user, ip, Some("second factor"), wrong).await?);
    }
    users::set_last_login(&mut tx, user.id).await?;
    users::session_create(&mut tx, &hash_token(&token), user.id, &random_token()).await?;
    users::auth_event(&mut tx, "login_ok", username, Some(user.id), ip, None).await?;
    tx.commit().await?;
    Ok(LoggedIn { user, token })
}

/// Records a failed login of `user` and locks the account after too many; the error to answer
/// (`error`, or the lockout).
async fn failed(
    state: &AppState,
    user: &User,
    ip: Option<&str>,
    detail: Option<&str>,
    error: AppError,
) -> Result<AppError, AppError> {
    let now = roundtable_store::now();
    let username = user.username.as_str();
    let mut tx = state.db.begin().await?;
    users::auth_event(&mut tx, "login_failed", username, Some(user.id), ip, detail).await?;
    let window_start = now - Duration::minutes(LOCKOUT_WINDOW_MINUTES);
    let since = user
        .last_login_at
        .map_or(window_start, |l| l.max(window_start));
    let failures = users::failures_since(&mut tx, username, since).await?;
    if failures >= LOCKOUT_THRESHOLD {
        let until = now + Duration::minutes(LOCKOUT_MINUTES);
        users::set_locked_until(&mut tx, user.id, Some(until)).await?;
        users::auth_event(
            &mut tx,
            "locked",
            username,
            Some(user.id),
            ip,
            Some(&format!("{failures} failures")),
        )
        .await?;
        tx.commit().await?;
        return Ok(AppError::Locked(locked_message(until)));
    }
    tx.commit().await?;
    Ok(error)
}

fn locked_message(until: chrono::DateTime<Utc>) -> String {
    let local = until.with_timezone(&crate::render::china());
    format!(
        "登录失败次数过多，账户已锁定，请于 {} 后再试",
        local.format("%H:%M")
    )
}

pub async fn logout(state: &AppState, session: &Session) -> Result<(), AppError> {
    state.sessions.forget(&session.token_hash);
    let mut tx = state.db.begin().await?;
    users::session_delete(&mut tx, &session.token_hash).await?;
    users::auth_event(
        &mut tx,
        "logout",
        &session.user.username,
        Some(session.user.id),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Changes one's own password; ends the account's other sessions.
pub async fn change_password(
    state: &AppState,
    session: &Session,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<(), AppError> {
    if !verify_password(&session.user.password_hash, current) {
        return Err(AppError::field("current_password", "当前密码不正确"));
    }
    check_new_password("new_password", new, &session.user.username)?;
    if new != confirm {
        return Err(AppError::field(
            "confirm_password",
            "两次输入的新密码不一致",
        ));
    }
    if new == current {
        return Err(AppError::field("new_password", "新密码不能与当前密码相同"));
    }
    let hash = hash_password(new)?;
    let mut tx = state.db.begin().await?;
    users::set_password(&mut tx, session.user.id, &hash, false).await?;
    users::sessions_delete_for_user(&mut tx, session.user.id).await?;
    // Keep the current session: re-create it under the same token.
    users::session_create(
        &mut tx,
        &session.token_hash,
        session.user.id,
        &random_token(),
    )
    .await?;
    users::auth_event(
        &mut tx,
        "password_changed",
        &session.user.username,
        Some(session.user.id),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    state.sessions.forget(&session.token_hash);
    Ok(())
}

/// The signed-in account, its roles as an `Actor`, and the session it came with.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub actor: Actor,
    pub token_hash: String,
    /// The API token the request came with (`Authorization: Bearer …`), instead of a session.
    pub via_token: Option<i64>,
    /// The exchange record kinds such a token is limited to (empty: all).
    pub token_kinds: Vec<roundtable_core::exchange::RecordKind>,
}

impl Session {
    /// Whether the request may read exchange records of `kind` (a token may be limited).
    pub fn may_pull(&self, kind: roundtable_core::exchange::RecordKind) -> bool {
        self.token_kinds.is_empty() || self.token_kinds.contains(&kind)
    }
}

/// Whether the account must set a new password before anything else: it was reset (or is new),
/// or it is older than the deployment's `password_max_age_days`.
pub fn must_change_password(state: &AppState, user: &User) -> bool {
    user.must_change_password
        || roundtable_core::password::expired(
            user.password_changed_at,
            roundtable_store::now(),
            state.config.password_max_age_days,
        )
}

/// Whether the account must set up its second factor before anything else: the deployment
/// requires one for the account's roles and it has none yet.
pub fn must_set_up_second_factor(state: &AppState, session: &Session) -> bool {
    session.user.totp_enabled_at.is_none() && second_factor_required(state, session)
}

/// Whether the deployment requires a second factor of the session's account (its roles).
pub fn second_factor_required(state: &AppState, session: &Session) -> bool {
    let roles: Vec<&str> = session.actor.grants.iter().map(|g| g.role.code()).collect();
    roundtable_core::second_factor::required(state.config.second_factor_required, &roles)
}

/// Paths an account without its required second factor may still reach.
fn allowed_before_second_factor(path: &str) -> bool {
    allowed_before_password_change(path)
        || path.starts_with("/account/second-factor")
        || path.starts_with("/api/v1/me/second-factor")
}

/// Paths a user who must change the password may still reach.
fn allowed_before_password_change(path: &str) -> bool {
    matches!(
        path,
        "/account/password"
            | "/logout"
            | "/api/v1/auth/password"
            | "/api/v1/auth/logout"
            | "/api/v1/auth/me"
    )
}

/// Sessions read from the database in the last few seconds, by token hash. Every request needs
/// its account, roles and scope; reading them once per session every `ttl` instead of on each
/// request is what keeps the busiest lists fast. One's own logout and password change take
/// effect at once; an administrator's lock or role change reaches a live session within `ttl`.
pub struct SessionCache {
    ttl: std::time::Duration,
    entries: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Session)>>,
}

impl SessionCache {
    /// Entries kept at most; past it the cache starts over (it only saves reads).
    const CAPACITY: usize = 10_000;

    pub fn new(ttl: std::time::Duration) -> Self {
        SessionCache {
            ttl,
            entries: Default::default(),
        }
    }

    fn get(&self, token_hash: &str) -> Option<Session> {
        let entries = self.entries.lock().ok()?;
        let (at, s) = entries.get(token_hash)?;
        (at.elapsed() < self.ttl).then(|| s.clone())
    }

    fn put(&self, session: &Session) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::CAPACITY {
                entries.clear();
            }
            entries.insert(
                session.token_hash.clone(),
                (std::time::Instant::now(), session.clone()),
            );
        }
    }

    pub fn forget(&self, token_hash: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(token_hash);
        }
    }

    /// Forgets every cached session of an account (its sessions were ended or its factor reset).
    pub fn forget_user(&self, user_id: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, s)| s.user.id != user_id);
        }
    }
}

pub async fn load_session(state: &AppState, headers: &HeaderMap) -> Result<Session, AppError> {
    let token = cookie(headers, SESSION_COOKIE)
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthenticated)?;
    let token_hash = hash_token(token);
    if let Some(s) = state.sessions.get(&token_hash) {
        return Ok(s);
    }
    let session = load_session_from_db(state, token_hash).await?;
    state.sessions.put(&session);
    Ok(session)
}

async fn load_session_from_db(state: &AppState, token_hash: String) -> Result<Session, AppError> {
    let mut db = state.db.pool();
    let row = users::session_get(&mut db, &token_hash)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let now = roundtable_store::now();
    if row.last_seen_at < now - state.config.idle_timeout {
        users::session_delete(&mut db, &token_hash).await?;
        return Err(AppError::Unauthenticated);
    }
    let user = users::get(&mut db, row.user_id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if user.disabled {
        return Err(AppError::Unauthenticated);
    }
    // Touch at most once a minute: idle timeout needs minute precision, not a write per request.
    if row.last_seen_at < now - Duration::seconds(60) {
        users::session_touch(&mut db, &token_hash).await?;
    }
    let actor = actor_for(&mut db, &user).await?;
    Ok(Session {
        user,
        actor,
        token_hash,
        via_token: None,
        token_kinds: Vec::new(),
    })
}

/// What a machine client sends instead of a session cookie.
pub const TOKEN_PREFIX: &str = "rt_";

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let t = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))?;
    Some(t.trim())
}

/// The account of an API token, narrowed to the token's roles and subtree
/// (`core::access::narrow_grants`); an unknown, expired or revoked token, or a disabled
/// account, is not signed in.
async fn load_token_session(state: &AppState, token: &str) -> Result<Session, AppError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Err(AppError::Unauthenticated);
    }
    let token_hash = hash_token(token);
    if let Some(s) = state.sessions.get(&token_hash) {
        return Ok(s);
    }
    let mut db = state.db.pool();
    let t = roundtable_store::tokens::usable(&mut db, &token_hash)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let user = users::get(&mut db, t.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::Unauthenticated)?;
    let full = actor_for(&mut db, &user).await?;
    let held: Vec<(Grant, Option<String>)> = users::roles(&mut db, user.id)
        .await?
        .into_iter()
        .filter_map(|r| {
            Some((
                Grant {
                    role: Role::parse(&r.role)?,
                    org_id: r.org_id,
                },
                r.org_path,
            ))
        })
        .collect();
    let roles: Vec<Role> = t.roles.split(',').filter_map(Role::parse).collect();
    let root = t.org_id.zip(t.org_path.as_deref());
    let grants = roundtable_core::access::narrow_grants(&held, &roles, root);
    // A leader's linked streets, narrowed the same way.
    let mut linked_streets = Vec::new();
    if grants.iter().any(|g| g.role == Role::DistrictLeader) {
        for street in full.linked_streets {
            let Some(org) = roundtable_store::orgs::get(&mut db, street).await? else {
                continue;
            };
            match root {
                None => linked_streets.push(street),
                Some((id, path)) if path.contains(&format!("/{street}/")) => {
                    linked_streets.push(id)
                }
                Some((id, _)) if org.path.contains(&format!("/{id}/")) => {
                    linked_streets.push(street)
                }
                _ => {}
            }
        }
    }
    roundtable_store::tokens::touch(&mut db, t.id).await?;
    let session = Session {
        actor: Actor {
            user_id: user.id,
            person_id: user.person_id,
            grants,
            linked_streets,
        },
        user,
        token_hash,
        via_token: Some(t.id),
        token_kinds: t
            .kinds
            .split(',')
            .filter_map(roundtable_core::exchange::RecordKind::parse)
            .collect(),
    };
    state.sessions.put(&session);
    Ok(session)
}

/// The roles of an account as the permission function sees them; a district leader's reach is
/// the streets linked to them today (R-ORG-2).
pub async fn actor_for(db: &mut impl Exec, user: &User) -> Result<Actor, AppError> {
    let roles = users::roles(db, user.id).await?;
    let grants: Vec<Grant> = roles
        .iter()
        .filter_map(|r| {
            Some(Grant {
                role: Role::parse(&r.role)?,
                org_id: r.org_id,
            })
        })
        .collect();
    let linked_streets = match user.person_id {
        Some(p) if grants.iter().any(|g| g.role == Role::DistrictLeader) => {
            links::linked_streets(db, p, crate::render::today()).await?
        }
        _ => vec![],
    };
    Ok(Actor {
        user_id: user.id,
        person_id: user.person_id,
        grants,
        linked_streets,
    })
}

impl FromRequestParts<AppState> for Session {
    type Rejection = crate::Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Inside the nested API router `uri` lacks the /api/v1 prefix; the original has it.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| parts.uri.clone());
        let api = uri.path().starts_with("/api/");
        let reject = |e: AppError| crate::Rejection {
            api,
            error: e,
            next: uri.to_string(),
        };
        // Machine clients of the API: a token instead of a session (no password involved).
        if api && let Some(token) = bearer(&parts.headers) {
            return load_token_session(state, token).await.map_err(reject);
        }
        let session = load_session(state, &parts.headers).await.map_err(reject)?;
        if must_change_password(state, &session.user) && !allowed_before_password_change(uri.path())
        {
            return Err(reject(AppError::PasswordChangeRequired));
        }
        if must_set_up_second_factor(state, &session) && !allowed_before_second_factor(uri.path()) {
            return Err(reject(AppError::SecondFactorEnrolmentRequired));
        }
        Ok(session)
    }
}
