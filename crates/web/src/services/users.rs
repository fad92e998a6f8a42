//! Accounts and their roles. Administrators create accounts with a one-time password that must
//! be changed at first login; there is no default password anywhere.

use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, Role, scope};
use roundtable_core::org::OrgKind;
use roundtable_core::validate::{optional_text, required_text};
use roundtable_store::users::{self, User, UserRole};
use roundtable_store::{Db, Exec, PageReq, Paged, audit, orgs, people};

use super::{actor_id, json, require};
use crate::auth;
use crate::error::AppError;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RoleInput {
    /// system_admin, audit_admin, security_admin, district_admin, district_leader, street_admin,
    /// community_secretary, community_staff, council_member, party_member
    pub role: String,
    /// The node the role is held for (none for the system, audit and security administrators).
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct UserInput {
    /// 3–32 letters, digits, `.`, `_` or `-`
    pub username: String,
    pub display_name: String,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub person_id: Option<i64>,
    /// Initial password; if empty one is generated and returned once.
    pub password: Option<String>,
    pub role: Option<String>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: User,
    pub roles: Vec<UserRole>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: UserDetail,
    /// The one-time password when it was generated; shown once, never stored in clear.
    pub initial_password: Option<String>,
}

/// A password that satisfies the rule, for accounts created without one.
/// A one-time password: 64 random bits in hex, with a fixed prefix and suffix that guarantee the
/// four character classes of the password rule whatever the random part holds.
pub fn generate_password() -> String {
    let t = auth::random_token();
    format!("Rt-{}-a9", &t[..16])
}

async fn role_path(
    e: &mut impl Exec,
    input: &RoleInput,
    errors: &mut FieldErrors,
) -> Result<Option<(Role, Option<i64>, String)>, AppError> {
    let Some(role) = Role::parse(&input.role) else {
        errors.add("role", "请选择角色");
        return Ok(None);
    };
    let Some(level) = role.scope_level() else {
        return Ok(Some((role, None, "/".into())));
    };
    let Some(org_id) = input.org_id else {
        errors.add("org_id", format!("请为「{}」选择所辖组织", role.label()));
        return Ok(None);
    };
    let Some(org) = orgs::get(e, org_id).await? else {
        errors.add("org_id", "组织不存在");
        return Ok(None);
    };
    if OrgKind::parse(&org.kind).map(|k| k.level() as u8) != Some(level) {
        let want = ["区", "街道或镇", "社区或村"][usize::from(level - 1)];
        errors.add("org_id", format!("「{}」应对应一个{want}", role.label()));
        return Ok(None);
    }
    Ok(Some((role, Some(org.id), org.path)))
}

pub async fn create(db: &Db, actor: &Actor, input: &UserInput) -> Result<CreatedUser, AppError> {
    let mut tx = db.begin().await?;
    let mut errors = FieldErrors::new();
    let username = required_text(&mut errors, "username", "用户名", &input.username, 32);
    if !username.is_empty()
        && (username.len() < 3
            || !username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        errors.add("username", "用户名为3–32位字母、数字或 . _ -");
    }
    let display_name = required_text(&mut errors, "display_name", "姓名", &input.display_name, 30);
    let password = optional_text(
        &mut errors,
        "password",
        "密码",
        input.password.as_deref(),
        128,
    );
    if let Some(p) = &password
        && let Some(msg) = roundtable_core::password::check_strength(p, &username)
    {
        errors.add("password", msg);
    }
    if let Some(pid) = input.person_id
        && people::get(&mut tx, pid).await?.is_none()
    {
        errors.add("person_id", "人员不存在");
    }
    if !username.is_empty() && users::by_username(&mut tx, &username).await?.is_some() {
        errors.add("username", "用户名已存在");
    }
    let role_input = RoleInput {
        role: input.role.clone().unwrap_or_default(),
        org_id: input.org_id,
    };
    let role = role_path(&mut tx, &role_input, &mut errors).await?;
    errors.into_result().map_err(AppError::Validation)?;
    let (role, org_id, path) = role.ok_or(AppError::BadRequest("角色不完整".into()))?;
    require(actor, Action::Edit, ResourceKind::User, &path, None)?;
    let generated = password.is_none().then(generate_password);
    let clear = password.or(generated.clone()).unwrap_or_default();
    let hash = auth::hash_password(&clear)?;
    let id = users::insert(
        &mut tx,
        &username,
        &hash,
        &display_name,
        input.person_id,
        true,
    )
    .await?;
    users::add_role(&mut tx, id, role.code(), org_id).await?;
    let detail = detail_in(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor_id(actor),
        "user.create",
        "user",
        Some(id),
        None,
        Some(&json(&detail)),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedUser {
        user: detail,
        initial_password: generated,
    })
}

async fn detail_in(e: &mut impl Exec, id: i64) -> Result<UserDetail, AppError> {
    let user = users::get(e, id).await?.ok_or(AppError::NotFound)?;
    let roles = users::roles(e, id).await?;
    Ok(UserDetail { user, roles })
}

/// May the actor manage this account: every role it holds lies in the actor's scope.
fn require_manage(actor: &Actor, d: &UserDetail) -> Result<(), AppError> {
    if d.roles.is_empty() {
        return require(actor, Action::Edit, ResourceKind::User, "/", None);
    }
    for r in &d.roles {
        require(
            actor,
            Action::Edit,
            ResourceKind::User,
            r.org_path.as_deref().unwrap_or("/"),
            None,
        )?;
    }
    Ok(())
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<UserDetail, AppError> {
    let d = detail_in(&mut db.pool(), id).await?;
    let visible = d.user.id == actor.user_id
        || d.roles.iter().any(|r| {
            roundtable_core::access::permit(
                actor,
                Action::View,
                ResourceKind::User,
                r.org_path.as_deref().unwrap_or("/"),
                None,
            )
        })
        || roundtable_core::access::permit(actor, Action::View, ResourceKind::User, "/", None);
    if !visible {
        return Err(AppError::Forbidden);
    }
    Ok(d)
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    q: Option<&str>,
    page: PageReq,
) -> Result<Paged<User>, AppError> {
    Ok(users::list(
        &mut db.pool(),
        &scope(actor, Action::View, ResourceKind::User),
        q,
        page,
    )
    .await?)
}

pub async fn add_role(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &RoleInput,
) -> Result<UserDetail, AppError> {
    let mut tx = db.begin().await?;
    let before = detail_in(&mut tx, id).await?;
    let mut errors = FieldErrors::new();
    let role = role_path(&mut tx, input, &mut errors).await?;
    errors.into_result().map_err(AppError::Validation)?;
    let (role, org_id, path) = role.ok_or(AppError::BadRequest("角色不完整".into()))?;
    require(actor, Action::Edit, ResourceKind::User, &path, None)?;
    if before
        .roles
        .iter()
        .any(|r| r.role == role.code() && r.org_id == org_id)
    {
        return Err(AppError::field("role", "该账号已有此角色"));
    }
    users::add_role(&mut tx, id, role.code(), org_id).await?;
    let after = detail_in(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor_id(actor),
        "user.role_add",
        "user",
        Some(id),
        Some(&json(&before.roles)),
        Some(&json(&after.roles)),
    )
    .await?;
    users::auth_event(
        &mut tx,
        "role_added",
        &after.user.username,
        Some(id),
        None,
        Some(&format!("{} by user {}", role.code(), actor.user_id)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn remove_role(
    db: &Db,
    actor: &Actor,
    id: i64,
    role_id: i64,
) -> Result<UserDetail, AppError> {
    let mut tx = db.begin().await?;
    let before = detail_in(&mut tx, id).await?;
    let role = users::get_role(&mut tx, role_id)
        .await?
        .filter(|r| r.user_id == id)
        .ok_or(AppError::NotFound)?;
    require(
        actor,
        Action::Edit,
        ResourceKind::User,
        role.org_path.as_deref().unwrap_or("/"),
        None,
    )?;
    users::remove_role(&mut tx, role_id).await?;
    let after = detail_in(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor_id(actor),
        "user.role_remove",
        "user",
        Some(id),
        Some(&json(&before.roles)),
        Some(&json(&after.roles)),
    )
    .await?;
    users::auth_event(
        &mut tx,
        "role_removed",
        &after.user.username,
        Some(id),
        None,
        Some(&role.role),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Locks (disables) or unlocks an account; unlocking also lifts a failed-login lockout.
pub async fn set_locked(
    db: &Db,
    actor: &Actor,
    id: i64,
    locked: bool,
) -> Result<UserDetail, AppError> {
    let mut tx = db.begin().await?;
    let before = detail_in(&mut tx, id).await?;
    require_manage(actor, &before)?;
    if id == actor.user_id && locked {
        return Err(AppError::BadRequest("不能锁定自己的账号".into()));
    }
    users::set_disabled(&mut tx, id, locked).await?;
    if locked {
        users::sessions_delete_for_user(&mut tx, id).await?;
    }
    let after = detail_in(&mut tx, id).await?;
    let event = if locked {
        "account_locked"
    } else {
        "account_unlocked"
    };
    audit::record(
        &mut tx,
        actor_id(actor),
        event,
        "user",
        Some(id),
        Some(&json(&before.user)),
        Some(&json(&after.user)),
    )
    .await?;
    users::auth_event(
        &mut tx,
        event,
        &after.user.username,
        Some(id),
        None,
        Some(&format!("by user {}", actor.user_id)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Sets a new one-time password (generated when none is given); the account must change it.
pub async fn reset_password(
    db: &Db,
    actor: &Actor,
    id: i64,
    password: Option<&str>,
) -> Result<String, AppError> {
    let mut tx = db.begin().await?;
    let d = detail_in(&mut tx, id).await?;
    require_manage(actor, &d)?;
    let clear = match password.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => {
            auth::check_new_password("password", p, &d.user.username)?;
            p.to_string()
        }
        None => generate_password(),
    };
    users::set_password(&mut tx, id, &auth::hash_password(&clear)?, true).await?;
    users::sessions_delete_for_user(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor_id(actor),
        "user.password_reset",
        "user",
        Some(id),
        None,
        None,
    )
    .await?;
    users::auth_event(
        &mut tx,
        "password_reset",
        &d.user.username,
        Some(id),
        None,
        Some(&format!("by user {}", actor.user_id)),
    )
    .await?;
    tx.commit().await?;
    Ok(clear)
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_passwords_pass_the_rule_and_differ() {
        let a = super::generate_password();
        let b = super::generate_password();
        assert_ne!(a, b);
        assert_eq!(roundtable_core::password::check_strength(&a, "admin"), None);
        assert!(a.len() >= 20, "{a}");
    }
}
