//! Units (单位) and their place in the tree.

use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, scope};
use roundtable_core::org::UnitType;
use roundtable_core::validate::{optional_phone, optional_text, required_text};
use roundtable_store::units::{self, Unit, UnitFields, UnitFilter};
use roundtable_store::{Db, Exec, PageReq, Paged, Tx, orgs};

use super::{Change, audit_change, require};
use crate::error::AppError;

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct UnitInput {
    pub name: String,
    /// A code or Chinese name of the unit types (区直单位, 物业公司…)
    pub unit_type: String,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub note: Option<String>,
}

async fn validate(
    e: &mut impl Exec,
    input: &UnitInput,
    editing: Option<i64>,
) -> Result<(UnitFields, String), AppError> {
    let mut errors = FieldErrors::new();
    let name = required_text(&mut errors, "name", "单位名称", &input.name, 80);
    let unit_type = UnitType::parse(&input.unit_type);
    if unit_type.is_none() {
        errors.add("unit_type", "请选择单位类型");
    }
    let contact_name = optional_text(
        &mut errors,
        "contact_name",
        "联系人",
        input.contact_name.as_deref(),
        30,
    );
    let contact_phone =
        optional_phone(&mut errors, "contact_phone", input.contact_phone.as_deref());
    let note = optional_text(&mut errors, "note", "备注", input.note.as_deref(), 500);
    let org = match input.org_id {
        None => {
            errors.add("org_id", "请选择所在组织");
            None
        }
        Some(id) => {
            let o = orgs::get(e, id).await?;
            if o.is_none() {
                errors.add("org_id", "所在组织不存在");
            }
            o
        }
    };
    if !name.is_empty()
        && let Some(other) = units::by_name(e, &name).await?
        && Some(other.id) != editing
    {
        errors.add("name", "已有同名单位");
    }
    errors.into_result().map_err(AppError::Validation)?;
    let org = org.ok_or(AppError::NotFound)?;
    let fields = UnitFields {
        name,
        unit_type: unit_type.map(|t| t.code().to_string()).unwrap_or_default(),
        org_id: org.id,
        contact_name,
        contact_phone,
        note,
    };
    Ok((fields, org.path))
}

pub async fn create(db: &Db, actor: &Actor, input: &UnitInput) -> Result<Unit, AppError> {
    let mut tx = db.begin().await?;
    let unit = create_in(&mut tx, actor, input).await?;
    tx.commit().await?;
    Ok(unit)
}

pub(crate) async fn create_in(
    tx: &mut Tx,
    actor: &Actor,
    input: &UnitInput,
) -> Result<Unit, AppError> {
    let (fields, path) = validate(tx, input, None).await?;
    require(actor, Action::Edit, ResourceKind::Unit, &path, None)?;
    let id = units::insert(tx, &fields).await?;
    let unit = units::get(tx, id).await?.ok_or(AppError::NotFound)?;
    audit_change(tx, actor, "unit", id, None, &unit).await?;
    Ok(unit)
}

pub async fn update(db: &Db, actor: &Actor, id: i64, input: &UnitInput) -> Result<Unit, AppError> {
    let mut tx = db.begin().await?;
    let (unit, _) = update_in(&mut tx, actor, id, input).await?;
    tx.commit().await?;
    Ok(unit)
}

pub(crate) async fn update_in(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    input: &UnitInput,
) -> Result<(Unit, Change), AppError> {
    let before = units::get(tx, id).await?.ok_or(AppError::NotFound)?;
    require(
        actor,
        Action::Edit,
        ResourceKind::Unit,
        &before.org_path,
        None,
    )?;
    let (fields, path) = validate(tx, input, Some(id)).await?;
    require(actor, Action::Edit, ResourceKind::Unit, &path, None)?;
    if fields == before.fields() {
        return Ok((before, Change::Unchanged));
    }
    units::update(tx, id, &fields).await?;
    let after = units::get(tx, id).await?.ok_or(AppError::NotFound)?;
    audit_change(tx, actor, "unit", id, Some(&before), &after).await?;
    Ok((after, Change::Updated))
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<Unit, AppError> {
    let unit = units::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(
        actor,
        Action::View,
        ResourceKind::Unit,
        &unit.org_path,
        None,
    )?;
    Ok(unit)
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &UnitFilter,
    page: PageReq,
) -> Result<Paged<Unit>, AppError> {
    Ok(units::list(
        &mut db.pool(),
        &scope(actor, Action::View, ResourceKind::Unit),
        filter,
        page,
    )
    .await?)
}
