//! Units (单位): district departments, assistance and co-building units, property companies,
//! resident bodies… each located in a node of the tree.

use chrono::{DateTime, Utc};
use roundtable_core::access::Scope;

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{PageReq, Paged, StoreError, args, push_scope};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: i64,
    pub name: String,
    pub unit_type: String,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow for Unit {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Unit {
            id: r.get("id")?,
            name: r.get("name")?,
            unit_type: r.get("unit_type")?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            contact_name: r.get("contact_name")?,
            contact_phone: crate::pii::open("units.contact_phone", r.get("contact_phone")?)?,
            note: r.get("note")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct UnitFields {
    pub name: String,
    pub unit_type: String,
    pub org_id: i64,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub note: Option<String>,
}

impl Unit {
    /// The stored fields, to tell whether an edit changes anything.
    pub fn fields(&self) -> UnitFields {
        UnitFields {
            name: self.name.clone(),
            unit_type: self.unit_type.clone(),
            org_id: self.org_id,
            contact_name: self.contact_name.clone(),
            contact_phone: self.contact_phone.clone(),
            note: self.note.clone(),
        }
    }
}

const SELECT: &str = "SELECT u.id, u.name, u.unit_type, u.org_id, o.name AS org_name, o.path AS org_path, u.contact_name, u.contact_phone, u.note, u.created_at, u.updated_at FROM units u JOIN orgs o ON o.id = u.org_id";

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<Unit>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{SELECT} WHERE u.id = $1"), args![id]))
        .await
}

pub async fn by_name(e: &mut impl Exec, name: &str) -> Result<Option<Unit>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{SELECT} WHERE u.name = $1"),
        args![name],
    ))
    .await
}

pub async fn insert(e: &mut impl Exec, f: &UnitFields) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO units (name, unit_type, org_id, contact_name, contact_phone, contact_phone_idx, note, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        args![&f.name, &f.unit_type, f.org_id, f.contact_name.clone(), crate::pii::seal("units.contact_phone", f.contact_phone.as_deref())?, crate::pii::index(f.contact_phone.as_deref())?, f.note.clone(), crate::now()],
    ))
    .await
}

pub async fn update(e: &mut impl Exec, id: i64, f: &UnitFields) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE units SET name = $1, unit_type = $2, org_id = $3, contact_name = $4, contact_phone = $5, contact_phone_idx = $6, note = $7, updated_at = $8 WHERE id = $9",
        args![&f.name, &f.unit_type, f.org_id, f.contact_name.clone(), crate::pii::seal("units.contact_phone", f.contact_phone.as_deref())?, crate::pii::index(f.contact_phone.as_deref())?, f.note.clone(), crate::now(), id],
    ))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    pub q: Option<String>,
    pub unit_type: Option<String>,
    pub org_id: Option<i64>,
}

pub async fn list(
    e: &mut impl Exec,
    scope: &Scope,
    f: &UnitFilter,
    page: PageReq,
) -> Result<Paged<Unit>, StoreError> {
    let mut filter = Sql::new(" WHERE ");
    push_scope(&mut filter, scope, "o.path", None);
    if let Some(q) = &f.q {
        filter.push(" AND u.name LIKE ").arg(format!("%{q}%"));
    }
    if let Some(t) = &f.unit_type {
        filter.push(" AND u.unit_type = ").arg(t);
    }
    if let Some(org) = f.org_id {
        filter.push(" AND o.path LIKE ").arg(format!("%/{org}/%"));
    }
    let total: i64 = e
        .fetch_one(Sql::prefixed(
            "SELECT COUNT(*) FROM units u JOIN orgs o ON o.id = u.org_id",
            &filter,
        ))
        .await?;
    let mut sql = Sql::prefixed(SELECT, &filter);
    sql.push(" ORDER BY o.path, u.name LIMIT ")
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

pub async fn all(e: &mut impl Exec) -> Result<Vec<Unit>, StoreError> {
    e.fetch_all(Sql::new(&format!("{SELECT} ORDER BY o.path, u.name")))
        .await
}
