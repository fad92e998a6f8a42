//! API tokens (issue 6 point 4): an account issues tokens for its machine clients — each
//! carries some of the account's roles, optionally narrowed to a subtree, expires after at
//! most a year, is shown once and kept only as its SHA-256, and can be revoked; issuing and
//! revoking are audited. A request made with a token cannot issue another.

use chrono::Duration;
use roundtable_core::access::{Action, Actor, Grant, ResourceKind, Role, narrow_grants, permit};
use roundtable_core::exchange::RecordKind;
use roundtable_core::validate::{FieldErrors, required_text};
use roundtable_store::tokens::{self as store, ApiToken, NewToken};
use roundtable_store::{Db, orgs, users};

use super::{audit_event, json};
use crate::auth::{Session, TOKEN_PREFIX, hash_token, random_token};
use crate::error::AppError;

/// Days a token lives unless asked otherwise, and at most.
pub const DEFAULT_DAYS: i64 = 90;
pub const MAX_DAYS: i64 = 365;

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TokenInput {
    /// What the token is for (e.g. 网络党建云平台对接)
    pub name: String,
    /// Role codes of the account the token carries (at least one)
    pub roles: Vec<String>,
    /// Narrow the token to this node's subtree (empty: the roles' whole scope)
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
    /// Days until it expires: 1–365, default 90
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub days: Option<i64>,
    /// Exchange record kinds it may pull (`GET /api/v1/exchange/…`); empty: all
    pub kinds: Vec<String>,
}

/// A token just issued: `secret` is shown this once.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Issued {
    pub token: ApiToken,
    /// Send as `Authorization: Bearer <secret>`; it cannot be shown again.
    pub secret: String,
}

pub async fn list(db: &Db, session: &Session) -> Result<Vec<ApiToken>, AppError> {
    Ok(store::of_user(&mut db.pool(), session.user.id).await?)
}

pub async fn issue(db: &Db, session: &Session, input: &TokenInput) -> Result<Issued, AppError> {
    if session.via_token.is_some() {
        return Err(AppError::BadRequest(
            "令牌不能再签发令牌：请登录后在“API 令牌”页面签发".into(),
        ));
    }
    let mut errors = FieldErrors::new();
    let name = required_text(&mut errors, "name", "用途", &input.name, 50);
    let held = users::roles(&mut db.pool(), session.user.id).await?;
    let mut roles: Vec<Role> = Vec::new();
    for code in input
        .roles
        .iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
    {
        match Role::parse(code) {
            Some(r) if held.iter().any(|h| h.role == r.code()) => {
                if !roles.contains(&r) {
                    roles.push(r)
                }
            }
            _ => errors.add("roles", format!("本账号没有角色 {code}")),
        }
    }
    if roles.is_empty() && errors.get("roles").is_none() {
        errors.add("roles", "请至少选择一个角色");
    }
    let mut kinds: Vec<RecordKind> = Vec::new();
    for code in input
        .kinds
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
    {
        match RecordKind::parse(code) {
            Some(k) if !kinds.contains(&k) => kinds.push(k),
            Some(_) => {}
            None => errors.add("kinds", format!("未知的记录类型 {code}")),
        }
    }
    let days = input.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        errors.add("days", format!("有效期应为 1 至 {MAX_DAYS} 天"));
    }
    let root = match input.org_id {
        None => None,
        Some(id) => match orgs::get(&mut db.pool(), id).await? {
            Some(o) => Some((id, o.path)),
            None => {
                errors.add("org_id", "没有这个组织");
                None
            }
        },
    };
    if errors.is_empty() {
        let grants: Vec<(Grant, Option<String>)> = held
            .iter()
            .filter_map(|h| {
                Some((
                    Grant {
                        role: Role::parse(&h.role)?,
                        org_id: h.org_id,
                    },
                    h.org_path.clone(),
                ))
            })
            .collect();
        // The subtree must lie inside what a chosen role reaches: a token narrows, never names
        // a node above its account's.
        let inside = match &root {
            None => true,
            Some((_, path)) => grants.iter().any(|(g, _)| {
                roles.contains(&g.role)
                    && g.org_id.is_some_and(|o| path.contains(&format!("/{o}/")))
            }),
        };
        let reach = narrow_grants(
            &grants,
            &roles,
            root.as_ref().map(|(id, p)| (*id, p.as_str())),
        );
        if !inside || reach.is_empty() {
            errors.add("org_id", "所选组织不在所选角色的范围内");
        }
    }
    errors.into_result().map_err(AppError::Validation)?;
    let secret = format!("{TOKEN_PREFIX}{}", random_token());
    let codes = roles.iter().map(|r| r.code()).collect::<Vec<_>>().join(",");
    let mut tx = db.begin().await?;
    let id = store::insert(
        &mut tx,
        &NewToken {
            user_id: session.user.id,
            name: &name,
            sha256: &hash_token(&secret),
            roles: &codes,
            org_id: input.org_id,
            kinds: &kinds.iter().map(|k| k.code()).collect::<Vec<_>>().join(","),
            expires_at: roundtable_store::now() + Duration::days(days),
        },
    )
    .await?;
    let token = store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit_event(
        &mut tx,
        &session.actor,
        "token.issue",
        "api_token",
        id,
        json(&token),
    )
    .await?;
    tx.commit().await?;
    Ok(Issued { token, secret })
}

/// Revokes a token of one's own, or any account's as its administrator.
pub async fn revoke(
    state: &crate::AppState,
    session: &Session,
    id: i64,
) -> Result<ApiToken, AppError> {
    let db = &state.db;
    let token = store::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if token.user_id != session.user.id && !admin_of_accounts(&session.actor) {
        return Err(AppError::NotFound);
    }
    let mut tx = db.begin().await?;
    if !store::revoke(&mut tx, id).await? {
        return Err(AppError::field("token", "该令牌已被吊销"));
    }
    let after = store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit_event(
        &mut tx,
        &session.actor,
        "token.revoke",
        "api_token",
        id,
        json(&after),
    )
    .await?;
    tx.commit().await?;
    if let Some(hash) = store::hash_of(&mut db.pool(), id).await? {
        state.sessions.forget(&hash);
    }
    Ok(after)
}

/// Who may revoke any account's tokens: those who manage accounts everywhere.
fn admin_of_accounts(actor: &Actor) -> bool {
    permit(actor, Action::Edit, ResourceKind::User, "/", None)
}
