//! Account security for the security administrator (安全管理员, issue 6 — 三员分立's third,
//! beside the system administrator who makes accounts and grants roles, and the audit
//! administrator who reads the record of both): every account's security state (second factor,
//! password age, lockout, sessions), the login record, and three actions on another account —
//! reset its second factor, lift a failed-login lockout, end its sessions. Each action is
//! audited and written to the login record in the same transaction.

use chrono::{DateTime, Utc};
use roundtable_core::access::{Action, Actor, ResourceKind, Role, Scope};
use roundtable_store::users::{self, AuthEvent, User};
use roundtable_store::{Db, Exec, PageReq, Tx};

use super::{audit_event, filled};
use crate::AppState;
use crate::error::AppError;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[serde(default)]
pub struct AccountQuery {
    /// Part of the account name or display name
    pub q: Option<String>,
    pub page: Option<i64>,
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[serde(default)]
pub struct EventQuery {
    /// The account name, exactly
    pub username: Option<String>,
    /// login_ok, login_failed, login_refused, locked, logout, password_changed, password_reset,
    /// account_created, role_added, role_removed, account_locked, account_unlocked,
    /// lockout_lifted, sessions_ended, second_factor_reset
    pub event: Option<String>,
    pub page: Option<i64>,
}

/// One account as the security administrator sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AccountSecurity {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// Role labels (Chinese)
    pub roles: Vec<String>,
    /// Locked by an administrator
    pub disabled: bool,
    /// Locked after failed logins until then (only while it lasts)
    pub locked_until: Option<DateTime<Utc>>,
    pub second_factor_enabled_at: Option<DateTime<Utc>>,
    /// The deployment requires a second factor of this account's roles
    pub second_factor_required: bool,
    pub password_changed_at: DateTime<Utc>,
    /// Older than the deployment's password age, or reset and not yet changed
    pub password_must_change: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Sessions open now
    pub sessions: i64,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AccountPage {
    pub rows: Vec<AccountSecurity>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub rows: Vec<AuthEvent>,
    pub page: i64,
    pub per_page: i64,
    /// Another page follows
    pub more: bool,
}

const PER_PAGE: i64 = 50;

fn allowed(actor: &Actor, action: Action) -> Result<(), AppError> {
    super::require_somewhere(actor, action, ResourceKind::Security)
}

fn page_number(p: Option<i64>) -> i64 {
    p.unwrap_or(1).clamp(1, 100_000)
}

pub async fn accounts(
    state: &AppState,
    actor: &Actor,
    q: &AccountQuery,
) -> Result<AccountPage, AppError> {
    allowed(actor, Action::View)?;
    let page = page_number(q.page);
    let everywhere = Scope {
        everywhere: true,
        ..Default::default()
    };
    let mut e = state.db.pool();
    let found = users::list(
        &mut e,
        &everywhere,
        filled(&q.q),
        PageReq {
            page,
            per_page: PER_PAGE,
        },
    )
    .await?;
    let rows = describe(state, &mut e, found.items).await?;
    Ok(AccountPage {
        rows,
        total: found.total,
        page,
        per_page: PER_PAGE,
    })
}

/// One account's security state (what an action answers with).
pub async fn account(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<AccountSecurity, AppError> {
    allowed(actor, Action::View)?;
    let mut e = state.db.pool();
    let user = users::get(&mut e, id).await?.ok_or(AppError::NotFound)?;
    let mut rows = describe(state, &mut e, vec![user]).await?;
    rows.pop().ok_or(AppError::NotFound)
}

async fn describe(
    state: &AppState,
    e: &mut impl Exec,
    accounts: Vec<User>,
) -> Result<Vec<AccountSecurity>, AppError> {
    let ids: Vec<i64> = accounts.iter().map(|u| u.id).collect();
    let roles = users::role_codes(e, &ids).await?;
    let sessions = users::session_counts(e, &ids).await?;
    let now = roundtable_store::now();
    Ok(accounts
        .into_iter()
        .map(|u| {
            let codes: Vec<&str> = roles
                .iter()
                .filter(|(id, _)| *id == u.id)
                .map(|(_, r)| r.as_str())
                .collect();
            AccountSecurity {
                id: u.id,
                roles: codes
                    .iter()
                    .map(|c| Role::parse(c).map_or(c.to_string(), |r| r.label().to_string()))
                    .collect(),
                second_factor_required: roundtable_core::second_factor::required(
                    state.config.second_factor_required,
                    &codes,
                ),
                password_must_change: crate::auth::must_change_password(state, &u),
                sessions: sessions
                    .iter()
                    .find(|(id, _)| *id == u.id)
                    .map_or(0, |(_, n)| *n),
                locked_until: u.locked_until.filter(|t| *t > now),
                username: u.username,
                display_name: u.display_name,
                disabled: u.disabled,
                second_factor_enabled_at: u.totp_enabled_at,
                password_changed_at: u.password_changed_at,
                last_login_at: u.last_login_at,
            }
        })
        .collect())
}

pub async fn events(db: &Db, actor: &Actor, q: &EventQuery) -> Result<EventPage, AppError> {
    allowed(actor, Action::View)?;
    let page = page_number(q.page);
    let mut rows = users::auth_events_page(
        &mut db.pool(),
        filled(&q.username),
        filled(&q.event),
        PER_PAGE + 1,
        (page - 1) * PER_PAGE,
    )
    .await?;
    let more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    Ok(EventPage {
        rows,
        page,
        per_page: PER_PAGE,
        more,
    })
}

/// What the security administrator does to another account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    /// The account sets up its second factor again at its next login (a lost phone).
    ResetSecondFactor,
    /// The failed-login lockout ends now, and the failures before it no longer count.
    LiftLockout,
    /// Every session of the account ends (a stolen laptop); it signs in again.
    EndSessions,
}

impl AccountAction {
    fn codes(self) -> (&'static str, &'static str) {
        match self {
            AccountAction::ResetSecondFactor => ("second_factor.reset", "second_factor_reset"),
            AccountAction::LiftLockout => ("user.lockout_lift", "lockout_lifted"),
            AccountAction::EndSessions => ("user.sessions_end", "sessions_ended"),
        }
    }

    /// What the page says once it is done.
    pub fn done(self, username: &str) -> String {
        match self {
            AccountAction::ResetSecondFactor => {
                format!("已重置「{username}」的双因素认证并结束其会话；该账户下次登录时重新设置。")
            }
            AccountAction::LiftLockout => format!("已解除「{username}」的登录锁定。"),
            AccountAction::EndSessions => format!("已结束「{username}」的全部会话。"),
        }
    }
}

/// Does `what` to account `id`; the account's state afterwards is read by the caller.
pub async fn act(
    state: &AppState,
    actor: &Actor,
    id: i64,
    what: AccountAction,
) -> Result<String, AppError> {
    allowed(actor, Action::Edit)?;
    let mut tx: Tx = state.db.begin().await?;
    let user = users::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if what == AccountAction::ResetSecondFactor {
        if id == actor.user_id {
            // One person must not both lose and replace their own factor unseen.
            return Err(AppError::BadRequest(
                "不能重置自己的双因素认证：请另一位安全管理员操作，或在本账户的「双因素认证」页停用".into(),
            ));
        }
        if user.totp_enabled_at.is_none() {
            return Err(AppError::BadRequest(format!(
                "「{}」尚未启用双因素认证，无需重置",
                user.username
            )));
        }
        users::reset_second_factor(&mut tx, id).await?;
    }
    if what == AccountAction::LiftLockout {
        users::set_locked_until(&mut tx, id, None).await?;
    }
    if what == AccountAction::EndSessions {
        users::sessions_delete_for_user(&mut tx, id).await?;
    }
    let (audit_action, event) = what.codes();
    audit_event(
        &mut tx,
        actor,
        audit_action,
        "user",
        id,
        serde_json::json!({"username": user.username}),
    )
    .await?;
    users::auth_event(
        &mut tx,
        event,
        &user.username,
        Some(id),
        None,
        Some(&format!("by user {}", actor.user_id)),
    )
    .await?;
    tx.commit().await?;
    state.sessions.forget_user(id);
    Ok(user.username)
}
