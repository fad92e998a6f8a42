//! An account's second factor (issue 6 point 4): set up by scanning a QR code (or typing the
//! secret) into an authenticator app and confirming with its first code; from then on every
//! login asks for a code. Where the deployment requires it (`second_factor_required`) the
//! administrators and district leaders cannot work until it is set up, nor switch it off.
//! Switching on and off is audited; the secret is sealed under the data key (`store::pii`).

use rand::RngCore;
use roundtable_core::second_factor::{self as rule, CodeProblem, SECRET_BYTES};
use roundtable_store::users;

use super::audit_event;
use crate::AppState;
use crate::auth::Session;
use crate::error::AppError;

/// What the account page and `GET /me/second-factor` show.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Status {
    /// Whether logins of this account ask for a code.
    pub enabled: bool,
    pub enabled_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the deployment requires one for this account's roles (it cannot be switched off).
    pub required: bool,
}

/// A set-up begun: the secret to put into the app, shown until the first code confirms it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The secret in base32, for typing into the app.
    pub secret: String,
    /// The `otpauth://` address the QR code holds.
    pub uri: String,
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CodeInput {
    /// The 6-digit code the authenticator app shows now.
    pub code: String,
}

pub fn status(state: &AppState, session: &Session) -> Status {
    status_of(state, session, session.user.totp_enabled_at)
}

fn status_of(
    state: &AppState,
    session: &Session,
    enabled_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Status {
    Status {
        enabled: enabled_at.is_some(),
        enabled_at,
        required: crate::auth::second_factor_required(state, session),
    }
}

/// A new secret for the account, kept as pending until `confirm`.
pub async fn start(state: &AppState, session: &Session) -> Result<Enrolment, AppError> {
    only_with_password(session)?;
    if session.user.totp_enabled_at.is_some() {
        return Err(AppError::field(
            "code",
            "双因素认证已启用；如需更换验证器，请先停用再重新设置",
        ));
    }
    let mut secret = [0u8; SECRET_BYTES];
    rand::thread_rng().fill_bytes(&mut secret);
    let text = rule::secret_text(&secret);
    let mut tx = state.db.begin().await?;
    users::totp_set_pending(&mut tx, session.user.id, Some(&text)).await?;
    tx.commit().await?;
    Ok(enrolment(&secret, &session.user.username))
}

/// The set-up still waiting for its first code, if any.
pub async fn pending(state: &AppState, session: &Session) -> Result<Option<Enrolment>, AppError> {
    let Some(text) = users::totp_pending(&mut state.db.pool(), session.user.id).await? else {
        return Ok(None);
    };
    Ok(rule::secret_from_text(&text).map(|s| enrolment(&s, &session.user.username)))
}

fn enrolment(secret: &[u8], username: &str) -> Enrolment {
    Enrolment {
        secret: rule::secret_text(secret),
        uri: rule::enrolment_uri(secret, "圆桌", username),
    }
}

fn code_error(problem: &CodeProblem) -> AppError {
    AppError::field("code", problem.message())
}

/// Switches the second factor on when `code` is the app's current code for the pending secret.
pub async fn confirm(
    state: &AppState,
    session: &Session,
    input: &CodeInput,
) -> Result<Status, AppError> {
    only_with_password(session)?;
    let Some(text) = users::totp_pending(&mut state.db.pool(), session.user.id).await? else {
        return Err(AppError::field("code", "请先开始设置双因素认证"));
    };
    let step = current_step(&text, &input.code)?;
    let mut tx = state.db.begin().await?;
    users::totp_enable(&mut tx, session.user.id, &text, step).await?;
    let enabled_at = Some(roundtable_store::now());
    changed(state, session, tx, "second_factor.enable", enabled_at).await
}

/// Switches it off, with a current code as proof the app is at hand; refused where the
/// deployment requires it for the account's roles.
pub async fn disable(
    state: &AppState,
    session: &Session,
    input: &CodeInput,
) -> Result<Status, AppError> {
    only_with_password(session)?;
    if crate::auth::second_factor_required(state, session) {
        return Err(AppError::field(
            "code",
            "本系统要求管理员和区级领导使用双因素认证，不能停用；更换验证器请联系系统管理员重置",
        ));
    }
    let Some(text) = session.user.totp_secret.as_deref() else {
        return Err(AppError::field("code", "本账户没有启用双因素认证"));
    };
    current_step(text, &input.code)?;
    let mut tx = state.db.begin().await?;
    users::totp_disable(&mut tx, session.user.id).await?;
    changed(state, session, tx, "second_factor.disable", None).await
}

/// The step `code` matches now for the secret `text`. No replay check: inside a signed-in
/// session the code the login just used is as good a proof the app is at hand (replays
/// matter at the login).
fn current_step(text: &str, code: &str) -> Result<i64, AppError> {
    let secret = rule::secret_from_text(text)
        .ok_or_else(|| AppError::Internal("the stored TOTP secret is unreadable".into()))?;
    rule::check(&secret, code, roundtable_store::now().timestamp(), None)
        .map_err(|p| code_error(&p))
}

/// Audits the change made in `tx`, commits it and forgets the cached session (it holds the
/// account as it was).
async fn changed(
    state: &AppState,
    session: &Session,
    mut tx: roundtable_store::Tx,
    action: &str,
    enabled_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Status, AppError> {
    audit_event(
        &mut tx,
        &session.actor,
        action,
        "user",
        session.user.id,
        serde_json::json!({"username": session.user.username}),
    )
    .await?;
    tx.commit().await?;
    state.sessions.forget(&session.token_hash);
    Ok(status_of(state, session, enabled_at))
}

/// A machine client's API token does not manage the account's credentials.
fn only_with_password(session: &Session) -> Result<(), AppError> {
    if session.via_token.is_some() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}
