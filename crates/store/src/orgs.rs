//! The organisation tree (R-ORG-1). Each node stores its materialised path (`/1/5/23/`) so that
//! scope filters and subtree queries are one `LIKE`.

use chrono::{DateTime, Utc};
use roundtable_core::access::Scope;

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args, push_scope};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Org {
    pub id: i64,
    pub parent_id: Option<i64>,
    /// district / street / town / community / village
    pub kind: String,
    pub name: String,
    pub code: String,
    pub path: String,
    pub sort_order: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow for Org {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Org {
            id: r.get("id")?,
            parent_id: r.get("parent_id")?,
            kind: r.get("kind")?,
            name: r.get("name")?,
            code: r.get("code")?,
            path: r.get("path")?,
            sort_order: r.get("sort_order")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

/// Validated fields of a node (validation lives in the service layer).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgFields {
    pub parent_id: Option<i64>,
    pub kind: String,
    pub name: String,
    pub code: String,
    pub sort_order: i64,
}

impl Org {
    /// The stored fields, to tell whether an edit changes anything.
    pub fn fields(&self) -> OrgFields {
        OrgFields {
            parent_id: self.parent_id,
            kind: self.kind.clone(),
            name: self.name.clone(),
            code: self.code.clone(),
            sort_order: self.sort_order,
        }
    }
}

const COLS: &str = "id, parent_id, kind, name, code, path, sort_order, created_at, updated_at";

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<Org>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("SELECT {COLS} FROM orgs WHERE id = $1"),
        args![id],
    ))
    .await
}

pub async fn by_code(e: &mut impl Exec, code: &str) -> Result<Option<Org>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("SELECT {COLS} FROM orgs WHERE code = $1"),
        args![code],
    ))
    .await
}

/// Inserts a node under `parent_path` (the parent's path, `None` for a root).
pub async fn insert(
    e: &mut impl Exec,
    f: &OrgFields,
    parent_path: Option<&str>,
) -> Result<i64, StoreError> {
    let now = crate::now();
    let id: i64 = e
        .fetch_one(Sql::with(
            "INSERT INTO orgs (parent_id, kind, name, code, path, sort_order, created_at, updated_at) VALUES ($1, $2, $3, $4, '', $5, $6, $6) RETURNING id",
            args![f.parent_id, &f.kind, &f.name, &f.code, f.sort_order, now],
        ))
        .await?;
    let path = roundtable_core::org::child_path(parent_path, id);
    e.execute(Sql::with(
        "UPDATE orgs SET path = $1 WHERE id = $2",
        args![path, id],
    ))
    .await?;
    Ok(id)
}

/// Updates name, code, kind and order; the parent (and so the path) never changes here.
pub async fn update(e: &mut impl Exec, id: i64, f: &OrgFields) -> Result<(), StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE orgs SET kind = $1, name = $2, code = $3, sort_order = $4, updated_at = $5 WHERE id = $6",
            args![&f.kind, &f.name, &f.code, f.sort_order, crate::now(), id],
        ))
        .await?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Every node the scope reaches, parents before children, siblings by order then name.
/// What a select box needs of a node, without the timestamps of a full row.
#[derive(Debug, Clone)]
pub struct OrgBrief {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub sort_order: i64,
}

impl FromRow for OrgBrief {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(OrgBrief {
            id: r.get("id")?,
            name: r.get("name")?,
            path: r.get("path")?,
            sort_order: r.get("sort_order")?,
        })
    }
}

pub async fn briefs_in_scope(
    e: &mut impl Exec,
    scope: &Scope,
) -> Result<Vec<OrgBrief>, StoreError> {
    let mut sql = Sql::new("SELECT id, name, path, sort_order FROM orgs o WHERE ");
    push_scope(&mut sql, scope, "o.path", None);
    e.fetch_all(sql).await
}

pub async fn list_in_scope(e: &mut impl Exec, scope: &Scope) -> Result<Vec<Org>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLS} FROM orgs o WHERE "));
    push_scope(&mut sql, scope, "o.path", None);
    sql.push(" ORDER BY length(o.path) - length(replace(o.path, '/', '')), o.sort_order, o.name");
    e.fetch_all(sql).await
}

pub async fn children(e: &mut impl Exec, parent_id: i64) -> Result<Vec<Org>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("SELECT {COLS} FROM orgs WHERE parent_id = $1 ORDER BY sort_order, name"),
        args![parent_id],
    ))
    .await
}

/// The nodes named by the ids on a path, root first (for breadcrumbs).
pub async fn ancestors(e: &mut impl Exec, path: &str) -> Result<Vec<Org>, StoreError> {
    by_ids(e, &roundtable_core::org::path_ids(path)).await
}

/// The nodes of `ids`, the highest first.
pub async fn by_ids(e: &mut impl Exec, ids: &[i64]) -> Result<Vec<Org>, StoreError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new(&format!("SELECT {COLS} FROM orgs WHERE "));
    crate::push_in(&mut sql, "id", ids);
    sql.push(" ORDER BY length(path), id");
    e.fetch_all(sql).await
}

pub async fn count(e: &mut impl Exec) -> Result<i64, StoreError> {
    e.fetch_one(Sql::new("SELECT COUNT(*) FROM orgs")).await
}

/// Every node, for export and for resolving names in imports.
pub async fn all(e: &mut impl Exec) -> Result<Vec<Org>, StoreError> {
    e.fetch_all(Sql::new(&format!("SELECT {COLS} FROM orgs ORDER BY path")))
        .await
}
