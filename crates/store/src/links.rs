//! Dated links (R-ORG-2): who was linked to what, from when to when.

use chrono::{DateTime, NaiveDate, Utc};
use roundtable_core::access::Scope;
use roundtable_core::links::{GroupRole, LinkKind, LinkSpan, Subject};

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args, push_scope};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Link {
    pub id: i64,
    pub kind: String,
    pub person_id: Option<i64>,
    pub person_name: Option<String>,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub group_role: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow for Link {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Link {
            id: r.get("id")?,
            kind: r.get("kind")?,
            person_id: r.get("person_id")?,
            person_name: r.get("person_name")?,
            unit_id: r.get("unit_id")?,
            unit_name: r.get("unit_name")?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            group_role: r.get("group_role")?,
            start_date: r.get("start_date")?,
            end_date: r.get("end_date")?,
            note: r.get("note")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

impl Link {
    /// The link as the rules of roundtable_core::links see it.
    pub fn span(&self) -> Option<LinkSpan> {
        let subject = match (self.person_id, self.unit_id) {
            (Some(p), _) => Subject::Person(p),
            (None, Some(u)) => Subject::Unit(u),
            _ => return None,
        };
        Some(LinkSpan {
            id: Some(self.id),
            kind: LinkKind::parse(&self.kind)?,
            subject,
            org_id: self.org_id,
            role: self.group_role.as_deref().and_then(GroupRole::parse),
            start: self.start_date,
            end: self.end_date,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinkFields {
    pub kind: String,
    pub person_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub org_id: i64,
    pub group_role: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub note: Option<String>,
}

impl Link {
    /// The stored fields, to tell whether an edit changes anything.
    pub fn fields(&self) -> LinkFields {
        LinkFields {
            kind: self.kind.clone(),
            person_id: self.person_id,
            unit_id: self.unit_id,
            org_id: self.org_id,
            group_role: self.group_role.clone(),
            start_date: self.start_date,
            end_date: self.end_date,
            note: self.note.clone(),
        }
    }
}

const SELECT: &str = "SELECT l.id, l.kind, l.person_id, p.name AS person_name, l.unit_id, u.name AS unit_name, l.org_id, o.name AS org_name, o.path AS org_path, l.group_role, l.start_date, l.end_date, l.note, l.created_at, l.updated_at FROM links l JOIN orgs o ON o.id = l.org_id LEFT JOIN people p ON p.id = l.person_id LEFT JOIN units u ON u.id = l.unit_id";

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<Link>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{SELECT} WHERE l.id = $1"), args![id]))
        .await
}

pub async fn insert(e: &mut impl Exec, f: &LinkFields) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO links (kind, person_id, unit_id, org_id, group_role, start_date, end_date, note, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        args![&f.kind, f.person_id, f.unit_id, f.org_id, f.group_role.clone(), f.start_date, f.end_date, f.note.clone(), crate::now()],
    ))
    .await
}

pub async fn update(e: &mut impl Exec, id: i64, f: &LinkFields) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE links SET kind = $1, person_id = $2, unit_id = $3, org_id = $4, group_role = $5, start_date = $6, end_date = $7, note = $8, updated_at = $9 WHERE id = $10",
        args![&f.kind, f.person_id, f.unit_id, f.org_id, f.group_role.clone(), f.start_date, f.end_date, f.note.clone(), crate::now(), id],
    ))
    .await?;
    Ok(())
}

/// The links that a new link of `kind` at `org_id` must not overlap with.
pub async fn spans_at(
    e: &mut impl Exec,
    kind: &str,
    org_id: i64,
) -> Result<Vec<LinkSpan>, StoreError> {
    let rows: Vec<Link> = e
        .fetch_all(Sql::with(
            &format!("{SELECT} WHERE l.kind = $1 AND l.org_id = $2"),
            args![kind, org_id],
        ))
        .await?;
    Ok(rows.iter().filter_map(Link::span).collect())
}

#[derive(Debug, Clone, Default)]
pub struct LinkFilter {
    /// Links pointing at this node (or, with `subtree`, anywhere below it).
    pub org_id: Option<i64>,
    pub subtree: bool,
    pub person_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub kind: Option<String>,
    /// Only links valid on this date (R-ORG-2).
    pub valid_on: Option<NaiveDate>,
}

pub async fn list(
    e: &mut impl Exec,
    scope: &Scope,
    f: &LinkFilter,
    limit: i64,
) -> Result<Vec<Link>, StoreError> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE ");
    push_scope(&mut sql, scope, "o.path", None);
    if let Some(org) = f.org_id {
        if f.subtree {
            sql.push(" AND o.path LIKE ").arg(format!("%/{org}/%"));
        } else {
            sql.push(" AND l.org_id = ").arg(org);
        }
    }
    if let Some(p) = f.person_id {
        sql.push(" AND l.person_id = ").arg(p);
    }
    if let Some(u) = f.unit_id {
        sql.push(" AND l.unit_id = ").arg(u);
    }
    if let Some(k) = &f.kind {
        sql.push(" AND l.kind = ").arg(k);
    }
    if let Some(d) = f.valid_on {
        sql.push(" AND l.start_date <= ")
            .arg(d)
            .push(" AND (l.end_date IS NULL OR l.end_date >= ")
            .arg(d)
            .push(")");
    }
    sql.push(" ORDER BY l.kind, l.start_date DESC, l.id LIMIT ")
        .arg(limit);
    e.fetch_all(sql).await
}

/// R-ORG-2: the streets/towns a district leader (person) is linked to on `date`.
pub async fn linked_streets(
    e: &mut impl Exec,
    person_id: i64,
    date: NaiveDate,
) -> Result<Vec<i64>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT org_id FROM links WHERE kind = $1 AND person_id = $2 AND start_date <= $3 AND (end_date IS NULL OR end_date >= $3) ORDER BY org_id",
        args![LinkKind::LeaderStreet.code(), person_id, date],
    ))
    .await
}

pub async fn all(e: &mut impl Exec) -> Result<Vec<Link>, StoreError> {
    e.fetch_all(Sql::new(&format!("{SELECT} ORDER BY l.id")))
        .await
}
