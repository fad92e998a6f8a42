//! People: their kinds, their node, their unit. Phone numbers leave this module masked unless
//! the caller asks to reveal one and may (that view is audited).

use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, permit, scope};
use roundtable_core::org::{OrgKind, OrgLevel};
use roundtable_core::people::{DeputyType, PersonKind};
use roundtable_core::privacy::mask_phone;
use roundtable_core::validate::{optional_phone, optional_text, required_text};
use roundtable_store::people::{self, Person, PersonFields, PersonFilter};
use roundtable_store::{Db, Exec, PageReq, Paged, Tx, audit, orgs, units};

use super::{Change, actor_id, audit_change, require};
use crate::error::AppError;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PersonInput {
    pub name: String,
    /// Mobile number, 11 digits; unique.
    pub phone: Option<String>,
    /// The node the person belongs to (for an in-service party member: the registered community).
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub unit_id: Option<i64>,
    /// 职务
    pub title: Option<String>,
    /// For 两代表一委员: peoples_congress / party_congress / cppcc
    pub deputy_type: Option<String>,
    pub note: Option<String>,
    /// Codes or Chinese names of the person kinds.
    pub kinds: Vec<String>,
}

pub(crate) async fn validate(
    e: &mut impl Exec,
    input: &PersonInput,
    editing: Option<i64>,
) -> Result<(PersonFields, String), AppError> {
    let mut errors = FieldErrors::new();
    let name = required_text(&mut errors, "name", "姓名", &input.name, 30);
    let phone = optional_phone(&mut errors, "phone", input.phone.as_deref());
    let title = optional_text(&mut errors, "title", "职务", input.title.as_deref(), 50);
    let note = optional_text(&mut errors, "note", "备注", input.note.as_deref(), 500);
    let mut kinds = Vec::new();
    for k in input.kinds.iter().filter(|k| !k.trim().is_empty()) {
        match PersonKind::parse(k) {
            Some(k) => kinds.push(k),
            None => errors.add("kinds", format!("未知的人员类别「{k}」")),
        }
    }
    kinds.sort();
    kinds.dedup();
    if kinds.is_empty() && !errors.0.contains_key("kinds") {
        errors.add("kinds", "请至少选择一个人员类别");
    }
    let deputy_type = match input
        .deputy_type
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(d) => match DeputyType::parse(d) {
            Some(d) => Some(d),
            None => {
                errors.add("deputy_type", "请选择人大代表、党代表或政协委员");
                None
            }
        },
        None => None,
    };
    if kinds.contains(&PersonKind::Deputy)
        && deputy_type.is_none()
        && !errors.0.contains_key("deputy_type")
    {
        errors.add(
            "deputy_type",
            "两代表一委员须注明是人大代表、党代表还是政协委员",
        );
    }
    let org = match input.org_id {
        None => {
            errors.add("org_id", "请选择所属组织");
            None
        }
        Some(id) => {
            let o = orgs::get(e, id).await?;
            if o.is_none() {
                errors.add("org_id", "所属组织不存在");
            }
            o
        }
    };
    if let Some(o) = &org
        && kinds.contains(&PersonKind::PartyMember)
        && OrgKind::parse(&o.kind).map(OrgKind::level) != Some(OrgLevel::Community)
    {
        errors.add("org_id", "在职党员须登记到社区或村");
    }
    if let Some(uid) = input.unit_id
        && units::get(e, uid).await?.is_none()
    {
        errors.add("unit_id", "所在单位不存在");
    }
    if let Some(p) = &phone
        && !errors.0.contains_key("phone")
        && let Some(other) = people::by_phone(e, p).await?
        && Some(other.id) != editing
    {
        errors.add("phone", "该手机号码已登记给其他人员");
    }
    errors.into_result().map_err(AppError::Validation)?;
    let org = org.ok_or(AppError::NotFound)?;
    let fields = PersonFields {
        name,
        phone,
        org_id: org.id,
        unit_id: input.unit_id,
        title,
        deputy_type: deputy_type
            .filter(|_| kinds.contains(&PersonKind::Deputy))
            .map(|d| d.code().to_string()),
        note,
        kinds: {
            // Sorted as stored, so an unchanged edit compares equal.
            let mut codes: Vec<String> = kinds.iter().map(|k| k.code().to_string()).collect();
            codes.sort();
            codes
        },
    };
    Ok((fields, org.path))
}

pub(crate) fn masked(mut p: Person) -> Person {
    p.phone = p.phone.as_deref().map(mask_phone);
    p
}

pub async fn create(db: &Db, actor: &Actor, input: &PersonInput) -> Result<Person, AppError> {
    let mut tx = db.begin().await?;
    let p = create_in(&mut tx, actor, input).await?;
    tx.commit().await?;
    Ok(p)
}

pub(crate) async fn create_in(
    tx: &mut Tx,
    actor: &Actor,
    input: &PersonInput,
) -> Result<Person, AppError> {
    let (fields, path) = validate(tx, input, None).await?;
    require(actor, Action::Edit, ResourceKind::Person, &path, None)?;
    let id = people::insert(tx, &fields).await?;
    let p = masked(people::get(tx, id).await?.ok_or(AppError::NotFound)?);
    audit_change(tx, actor, "person", id, None, &p).await?;
    Ok(p)
}

pub async fn update(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: &PersonInput,
) -> Result<Person, AppError> {
    let mut tx = db.begin().await?;
    let (p, _) = update_in(&mut tx, actor, id, input).await?;
    tx.commit().await?;
    Ok(p)
}

pub(crate) async fn update_in(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    input: &PersonInput,
) -> Result<(Person, Change), AppError> {
    let before = people::get(tx, id).await?.ok_or(AppError::NotFound)?;
    require(
        actor,
        Action::Edit,
        ResourceKind::Person,
        &before.org_path,
        Some(id),
    )?;
    let mut input = input.clone();
    // A masked number sent back unchanged (from a form or an export) means "keep the stored one".
    if input.phone.as_deref().is_some_and(|p| p.contains('*')) {
        input.phone = before.phone.clone();
    }
    let (fields, path) = validate(tx, &input, Some(id)).await?;
    require(actor, Action::Edit, ResourceKind::Person, &path, Some(id))?;
    if fields == before.fields() {
        return Ok((masked(before), Change::Unchanged));
    }
    people::update(tx, id, &fields).await?;
    let after = masked(people::get(tx, id).await?.ok_or(AppError::NotFound)?);
    audit_change(tx, actor, "person", id, Some(&masked(before)), &after).await?;
    Ok((after, Change::Updated))
}

/// One person. With `reveal`, the unmasked phone number for roles that may see it; each such
/// view is written to the audit log.
pub async fn get(db: &Db, actor: &Actor, id: i64, reveal: bool) -> Result<Person, AppError> {
    let mut pool = db.pool();
    let p = people::get(&mut pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(
        actor,
        Action::View,
        ResourceKind::Person,
        &p.org_path,
        Some(id),
    )?;
    if !reveal {
        return Ok(masked(p));
    }
    require(
        actor,
        Action::ViewPersonal,
        ResourceKind::Person,
        &p.org_path,
        Some(id),
    )?;
    audit::record(
        &mut pool,
        actor_id(actor),
        "person.view_personal",
        "person",
        Some(id),
        None,
        None,
    )
    .await?;
    Ok(p)
}

pub fn may_reveal(actor: &Actor, p: &Person) -> bool {
    permit(
        actor,
        Action::ViewPersonal,
        ResourceKind::Person,
        &p.org_path,
        Some(p.id),
    )
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &PersonFilter,
    page: PageReq,
) -> Result<Paged<Person>, AppError> {
    let mut r = people::list(
        &mut db.pool(),
        &scope(actor, Action::View, ResourceKind::Person),
        filter,
        page,
    )
    .await?;
    r.items = r.items.into_iter().map(masked).collect();
    Ok(r)
}
