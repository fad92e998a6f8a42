//! People and their kinds. Phone numbers are stored as entered (normalised); masking happens
//! where they are shown (roundtable_core::privacy).

use chrono::{DateTime, Utc};
use roundtable_core::access::Scope;

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{Node, PageReq, Paged, PagedQuery, StoreError, args, fetch_page, push_scope_as};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Person {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    pub title: Option<String>,
    pub deputy_type: Option<String>,
    pub note: Option<String>,
    /// Codes of roundtable_core::people::PersonKind.
    pub kinds: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow for Person {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Person {
            id: r.get("id")?,
            name: r.get("name")?,
            phone: crate::pii::open("people.phone", r.get("phone")?)?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            unit_id: r.get("unit_id")?,
            unit_name: r.get("unit_name")?,
            title: r.get("title")?,
            deputy_type: r.get("deputy_type")?,
            note: r.get("note")?,
            kinds: {
                let csv: Option<String> = r.get("kinds")?;
                let mut kinds: Vec<String> = csv
                    .unwrap_or_default()
                    .split(',')
                    .filter(|k| !k.is_empty())
                    .map(str::to_string)
                    .collect();
                kinds.sort_by_key(|k| roundtable_core::people::PersonKind::parse(k));
                kinds
            },
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersonFields {
    pub name: String,
    pub phone: Option<String>,
    pub org_id: i64,
    pub unit_id: Option<i64>,
    pub title: Option<String>,
    pub deputy_type: Option<String>,
    pub note: Option<String>,
    pub kinds: Vec<String>,
}

impl Person {
    pub fn has_kind(&self, kind: roundtable_core::people::PersonKind) -> bool {
        self.kinds.iter().any(|k| k == kind.code())
    }

    /// The stored fields, to tell whether an edit changes anything (kinds sorted).
    pub fn fields(&self) -> PersonFields {
        let mut kinds = self.kinds.clone();
        kinds.sort();
        PersonFields {
            name: self.name.clone(),
            phone: self.phone.clone(),
            org_id: self.org_id,
            unit_id: self.unit_id,
            title: self.title.clone(),
            deputy_type: self.deputy_type.clone(),
            note: self.note.clone(),
            kinds,
        }
    }
}

const FROM: &str =
    " FROM people p JOIN orgs o ON o.id = p.org_id LEFT JOIN units un ON un.id = p.unit_id";
/// The kinds come in the same row (`string_agg` exists in PostgreSQL and SQLite ≥ 3.44), so a
/// page of people is one query.
const COLS: &str = "SELECT p.id, p.name, p.phone, p.org_id, o.name AS org_name, o.path AS org_path, p.unit_id, un.name AS unit_name, p.title, p.deputy_type, p.note, p.created_at, p.updated_at, (SELECT string_agg(pk.kind, ',') FROM person_kinds pk WHERE pk.person_id = p.id) AS kinds";

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<Person>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{COLS}{FROM} WHERE p.id = $1"),
        args![id],
    ))
    .await
}

pub async fn by_phone(e: &mut impl Exec, phone: &str) -> Result<Option<Person>, StoreError> {
    let id: Option<i64> = e
        .fetch_optional(Sql::with(
            "SELECT id FROM people WHERE phone_idx = $1",
            args![crate::pii::index(Some(phone))?],
        ))
        .await?;
    match id {
        Some(id) => get(e, id).await,
        None => Ok(None),
    }
}

/// People of one node with one name (for imports of people without a phone).
pub async fn by_name_in_org(
    e: &mut impl Exec,
    name: &str,
    org_id: i64,
) -> Result<Vec<i64>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT id FROM people WHERE name = $1 AND org_id = $2",
        args![name, org_id],
    ))
    .await
}

async fn replace_kinds(e: &mut impl Exec, id: i64, kinds: &[String]) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "DELETE FROM person_kinds WHERE person_id = $1",
        args![id],
    ))
    .await?;
    for k in kinds {
        e.execute(Sql::with(
            "INSERT INTO person_kinds (person_id, kind) VALUES ($1, $2)",
            args![id, k],
        ))
        .await?;
    }
    Ok(())
}

pub async fn insert(e: &mut impl Exec, f: &PersonFields) -> Result<i64, StoreError> {
    let id: i64 = e
        .fetch_one(Sql::with(
            "INSERT INTO people (name, phone, phone_idx, org_id, unit_id, title, deputy_type, note, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            args![&f.name, crate::pii::seal("people.phone", f.phone.as_deref())?, crate::pii::index(f.phone.as_deref())?, f.org_id, f.unit_id, f.title.clone(), f.deputy_type.clone(), f.note.clone(), crate::now()],
        ))
        .await?;
    replace_kinds(e, id, &f.kinds).await?;
    Ok(id)
}

pub async fn update(e: &mut impl Exec, id: i64, f: &PersonFields) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE people SET name = $1, phone = $2, phone_idx = $3, org_id = $4, unit_id = $5, title = $6, deputy_type = $7, note = $8, updated_at = $9 WHERE id = $10",
        args![&f.name, crate::pii::seal("people.phone", f.phone.as_deref())?, crate::pii::index(f.phone.as_deref())?, f.org_id, f.unit_id, f.title.clone(), f.deputy_type.clone(), f.note.clone(), crate::now(), id],
    ))
    .await?;
    replace_kinds(e, id, &f.kinds).await
}

#[derive(Debug, Clone, Default)]
pub struct PersonFilter {
    /// Part of the name, or a whole phone number (numbers are sealed at rest and found by
    /// their keyed index only).
    pub q: Option<String>,
    pub kind: Option<String>,
    /// A node: its whole subtree.
    pub org_id: Option<i64>,
}

/// The `WHERE` of a people list. `kinds_as_set` writes the kind filter as `IN (…)`, fastest to
/// count over the whole district; `EXISTS` suits a walk of the `(org_id, name)` index (a
/// subtree, or the ordered page scan that stops after the page).
fn push_person_filter(filter: &mut Sql, scope: &Scope, f: &PersonFilter, kinds_as_set: bool) {
    filter.push(" WHERE ");
    push_scope_as(filter, scope, Node::Id("p.org_id"), Some("p.id"));
    if let Some(q) = &f.q {
        if q.chars().all(|c| c.is_ascii_digit()) {
            // Without a keyring nothing matches (the empty index).
            let index = crate::pii::keyring()
                .map(|k| k.index(q))
                .unwrap_or_default();
            filter.push(" AND p.phone_idx = ").arg(index);
        } else {
            filter.push(" AND p.name LIKE ").arg(format!("%{q}%"));
        }
    }
    if let Some(k) = &f.kind {
        if kinds_as_set {
            filter
                .push(" AND p.id IN (SELECT person_id FROM person_kinds WHERE kind = ")
                .arg(k)
                .push(")");
        } else {
            filter
                .push(" AND EXISTS (SELECT 1 FROM person_kinds pk WHERE pk.person_id = p.id AND pk.kind = ")
                .arg(k)
                .push(")");
        }
    }
    if let Some(org) = f.org_id {
        filter
            .push(" AND p.org_id IN (SELECT id FROM orgs WHERE path LIKE ")
            .arg(format!("%/{org}/%"))
            .push(")");
    }
}

/// A page of people in the scope, ordered by node and name. The page's ids are found first
/// (walking the `(org_id, name)` index, touching only what the filter needs), then only those
/// rows are read whole: a deep page costs an index walk, not 5,000 full rows.
pub async fn list(
    e: &mut impl Exec,
    scope: &Scope,
    f: &PersonFilter,
    page: PageReq,
) -> Result<Paged<Person>, StoreError> {
    let q = PagedQuery {
        select: COLS,
        from: FROM,
        base: " FROM people p",
        id: "p.id",
        order: "p.org_id, p.name, p.id",
        count: |sql: &mut Sql| push_count(sql, scope, f),
        filter: |sql: &mut Sql| push_person_filter(sql, scope, f, false),
    };
    fetch_page(e, q, page).await
}

/// `SELECT COUNT(*)` of a people list, the cheapest way for its filter.
fn push_count(sql: &mut Sql, scope: &Scope, f: &PersonFilter) {
    let whole_district = scope.everywhere && f.org_id.is_none() && f.q.is_none();
    match &f.kind {
        // Every kind row belongs to a person (foreign key, cascade): count the kind's index.
        Some(k) if whole_district => {
            sql.push("SELECT 1 FROM person_kinds WHERE kind = ").arg(k);
        }
        _ => {
            sql.push("SELECT 1 FROM people p");
            // Without a subtree to walk, the kind's index drives the count.
            push_person_filter(sql, scope, f, scope.everywhere && f.org_id.is_none());
        }
    }
}

/// Every person, in pages of `per_page`, for export (streams page by page).
pub async fn all_page(
    e: &mut impl Exec,
    after_id: i64,
    per_page: i64,
) -> Result<Vec<Person>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{COLS}{FROM} WHERE p.id > $1 ORDER BY p.id LIMIT $2"),
        args![after_id, per_page],
    ))
    .await
}

pub async fn count(e: &mut impl Exec) -> Result<i64, StoreError> {
    e.fetch_one(Sql::new("SELECT COUNT(*) FROM people")).await
}
