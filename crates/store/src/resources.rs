//! R-ORG-4 records: offers (资源清单), the needs of a case (需求清单) and the matches accepted onto
//! its plan. What an offer has left and what a need still lacks move only by conditional
//! UPDATEs, so two cases taking the last of an offer at once cannot both win.

use chrono::{DateTime, NaiveDate, Utc};
use roundtable_core::access::Scope;
use roundtable_core::resources::{NeedFields, OfferFields, categories_text};

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args, push_scope};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Resource {
    pub id: i64,
    /// The node it is offered at (the community, street or district it serves)
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    pub person_id: Option<i64>,
    pub person_name: Option<String>,
    /// funds, venue, volunteers, skills, materials
    pub kind: String,
    pub title: String,
    pub detail: Option<String>,
    /// Fen for funds; a count of `measure` otherwise
    pub quantity: i64,
    pub remaining: i64,
    pub measure: String,
    /// Topic category codes it is meant for, comma-separated; empty: any
    pub categories: String,
    pub available_from: Option<NaiveDate>,
    pub available_to: Option<NaiveDate>,
    /// open, withdrawn
    pub status: String,
    pub withdraw_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Resource {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Resource {
            id: r.get("id")?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            unit_id: r.get("unit_id")?,
            unit_name: r.get("unit_name")?,
            person_id: r.get("person_id")?,
            person_name: r.get("person_name")?,
            kind: r.get("kind")?,
            title: r.get("title")?,
            detail: r.get("detail")?,
            quantity: r.get("quantity")?,
            remaining: r.get("remaining")?,
            measure: r.get("measure")?,
            categories: r.get("categories")?,
            available_from: r.get("available_from")?,
            available_to: r.get("available_to")?,
            status: r.get("status")?,
            withdraw_reason: r.get("withdraw_reason")?,
            created_at: r.get("created_at")?,
        })
    }
}

const SELECT: &str = "SELECT r.id, r.org_id, o.name AS org_name, o.path AS org_path, r.unit_id, u.name AS unit_name, r.person_id, p.name AS person_name, r.kind, r.title, r.detail, r.quantity, r.remaining, r.measure, r.categories, r.available_from, r.available_to, r.status, r.withdraw_reason, r.created_at FROM resources r JOIN orgs o ON o.id = r.org_id LEFT JOIN units u ON u.id = r.unit_id LEFT JOIN people p ON p.id = r.person_id";

/// Who offers: a unit or a person (exactly one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offerer {
    Unit(i64),
    Person(i64),
}

pub async fn insert(
    e: &mut impl Exec,
    org_id: i64,
    by: Offerer,
    f: &OfferFields,
    created_by: Option<i64>,
) -> Result<i64, StoreError> {
    let (unit, person) = match by {
        Offerer::Unit(u) => (Some(u), None),
        Offerer::Person(p) => (None, Some(p)),
    };
    e.fetch_one(Sql::with(
        "INSERT INTO resources (org_id, unit_id, person_id, kind, title, detail, quantity, remaining, measure, categories, available_from, available_to, status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, 'open', $12, $13, $13) RETURNING id",
        args![org_id, unit, person, f.kind.code(), &f.title, f.detail.clone(), f.quantity, &f.measure, categories_text(&f.categories), f.available_from, f.available_to, created_by, crate::now()],
    ))
    .await
}

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<Resource>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{SELECT} WHERE r.id = $1"), args![id]))
        .await
}

#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    pub kind: Option<String>,
    /// open (with something left), used_up, withdrawn
    pub status: Option<String>,
    pub person_id: Option<i64>,
    pub unit_id: Option<i64>,
}

/// The offers in `scope`, and those published at `upstream` nodes (the streets and the
/// district above the scope, whose offers serve it too); the newest first.
pub async fn list(
    e: &mut impl Exec,
    scope: &Scope,
    upstream: &[i64],
    f: &ResourceFilter,
    limit: i64,
) -> Result<Vec<Resource>, StoreError> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE (");
    push_scope(&mut sql, scope, "o.path", Some("r.person_id"));
    for id in upstream {
        sql.push(" OR r.org_id = ").arg(*id);
    }
    sql.push(")");
    if let Some(k) = &f.kind {
        sql.push(" AND r.kind = ").arg(k);
    }
    match f.status.as_deref() {
        Some("open") => {
            sql.push(" AND r.status = 'open' AND r.remaining > 0");
        }
        Some("used_up") => {
            sql.push(" AND r.status = 'open' AND r.remaining = 0");
        }
        Some("withdrawn") => {
            sql.push(" AND r.status = 'withdrawn'");
        }
        _ => {}
    }
    if let Some(p) = f.person_id {
        sql.push(" AND r.person_id = ").arg(p);
    }
    if let Some(u) = f.unit_id {
        sql.push(" AND r.unit_id = ").arg(u);
    }
    sql.push(" ORDER BY r.created_at DESC, r.id DESC LIMIT ")
        .arg(limit);
    e.fetch_all(sql).await
}

/// An offer as the matching reads it, with whether its unit is linked (挂点帮扶, 共建) on `on`
/// to the community or the community's street.
#[derive(Debug, Clone)]
pub struct CandidateRow {
    pub resource: Resource,
    pub linked: bool,
}

impl FromRow for CandidateRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(CandidateRow {
            resource: Resource::from_row(r)?,
            linked: r.get::<i64>("linked")? > 0,
        })
    }
}

/// The open offers of `kind` published at the community or one of its ancestors (`path_ids`,
/// the community's path), with something left.
pub async fn candidates(
    e: &mut impl Exec,
    path_ids: &[i64],
    kind: &str,
    on: NaiveDate,
) -> Result<Vec<CandidateRow>, StoreError> {
    let Some((&community, _)) = path_ids.split_last() else {
        return Ok(Vec::new());
    };
    let street = path_ids
        .len()
        .checked_sub(2)
        .map_or(community, |i| path_ids[i]);
    let mut sql = Sql::with(
        &SELECT.replace(
            " FROM resources r",
            ", (SELECT COUNT(*) FROM links l WHERE l.unit_id = r.unit_id AND l.kind IN ('unit_assist', 'unit_co_build') AND l.org_id IN ($1, $2) AND l.start_date <= $3 AND (l.end_date IS NULL OR l.end_date >= $3)) AS linked FROM resources r",
        ),
        args![community, street, on],
    );
    sql.push(" WHERE r.status = 'open' AND r.remaining > 0 AND r.kind = ")
        .arg(kind);
    sql.push(" AND r.org_id IN (");
    for (i, id) in path_ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.arg(*id);
    }
    sql.push(") ORDER BY r.id");
    e.fetch_all(sql).await
}

/// Withdraws an open offer; false when it was already withdrawn.
pub async fn withdraw(e: &mut impl Exec, id: i64, reason: &str) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE resources SET status = 'withdrawn', withdraw_reason = $1, updated_at = $2 WHERE id = $3 AND status = 'open'",
            args![reason, crate::now(), id],
        ))
        .await?;
    Ok(n == 1)
}

/// Takes `quantity` from an open offer; false when it no longer has that much.
pub async fn take(e: &mut impl Exec, id: i64, quantity: i64) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE resources SET remaining = remaining - $1, updated_at = $2 WHERE id = $3 AND status = 'open' AND remaining >= $1",
            args![quantity, crate::now(), id],
        ))
        .await?;
    Ok(n == 1)
}

/// Gives back what a cancelled match took.
pub async fn give_back(e: &mut impl Exec, id: i64, quantity: i64) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE resources SET remaining = remaining + $1, updated_at = $2 WHERE id = $3",
        args![quantity, crate::now(), id],
    ))
    .await?;
    Ok(())
}

// ---- needs

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Need {
    pub id: i64,
    pub case_id: i64,
    pub kind: String,
    pub description: String,
    pub quantity: i64,
    /// What accepted matches cover
    pub matched: i64,
    pub measure: String,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Need {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Need {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            kind: r.get("kind")?,
            description: r.get("description")?,
            quantity: r.get("quantity")?,
            matched: r.get("matched")?,
            measure: r.get("measure")?,
            created_at: r.get("created_at")?,
        })
    }
}

const NEEDS: &str =
    "SELECT id, case_id, kind, description, quantity, matched, measure, created_at FROM case_needs";

pub async fn insert_need(
    e: &mut impl Exec,
    case_id: i64,
    f: &NeedFields,
    created_by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO case_needs (case_id, kind, description, quantity, matched, measure, created_by, created_at) VALUES ($1, $2, $3, $4, 0, $5, $6, $7) RETURNING id",
        args![case_id, f.kind.code(), &f.description, f.quantity, &f.measure, created_by, crate::now()],
    ))
    .await
}

pub async fn needs_of(e: &mut impl Exec, case_id: i64) -> Result<Vec<Need>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{NEEDS} WHERE case_id = $1 ORDER BY id"),
        args![case_id],
    ))
    .await
}

pub async fn need(e: &mut impl Exec, case_id: i64, id: i64) -> Result<Option<Need>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{NEEDS} WHERE case_id = $1 AND id = $2"),
        args![case_id, id],
    ))
    .await
}

/// Removes a need nothing was matched to yet; false otherwise.
pub async fn delete_need(e: &mut impl Exec, case_id: i64, id: i64) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "DELETE FROM case_needs WHERE case_id = $1 AND id = $2 AND matched = 0 AND NOT EXISTS (SELECT 1 FROM resource_matches m WHERE m.need_id = $2)",
            args![case_id, id],
        ))
        .await?;
    Ok(n == 1)
}

/// Adds `delta` (negative to give back) to what a need has matched, within its quantity;
/// false when that would pass it (another match was accepted meanwhile).
pub async fn add_matched(e: &mut impl Exec, id: i64, delta: i64) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE case_needs SET matched = matched + $1 WHERE id = $2 AND matched + $1 <= quantity AND matched + $1 >= 0",
            args![delta, id],
        ))
        .await?;
    Ok(n == 1)
}

// ---- matches

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Match {
    pub id: i64,
    pub case_id: i64,
    pub need_id: i64,
    pub resource_id: i64,
    pub resource_title: String,
    pub resource_kind: String,
    pub measure: String,
    /// The unit or member who offers it
    pub offered_by: String,
    pub quantity: i64,
    /// The plan's budget line written for funds
    pub budget_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Match {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Match {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            need_id: r.get("need_id")?,
            resource_id: r.get("resource_id")?,
            resource_title: r.get("resource_title")?,
            resource_kind: r.get("resource_kind")?,
            measure: r.get("measure")?,
            offered_by: r
                .get::<Option<String>>("unit_name")?
                .or(r.get::<Option<String>>("person_name")?)
                .unwrap_or_default(),
            quantity: r.get("quantity")?,
            budget_id: r.get("budget_id")?,
            created_at: r.get("created_at")?,
        })
    }
}

const MATCHES: &str = "SELECT m.id, m.case_id, m.need_id, m.resource_id, r.title AS resource_title, r.kind AS resource_kind, r.measure, u.name AS unit_name, p.name AS person_name, m.quantity, m.budget_id, m.created_at FROM resource_matches m JOIN resources r ON r.id = m.resource_id LEFT JOIN units u ON u.id = r.unit_id LEFT JOIN people p ON p.id = r.person_id";

pub struct NewMatch {
    pub case_id: i64,
    pub need_id: i64,
    pub resource_id: i64,
    pub quantity: i64,
    pub budget_id: Option<i64>,
    pub accepted_by: Option<i64>,
}

pub async fn insert_match(e: &mut impl Exec, m: &NewMatch) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO resource_matches (case_id, need_id, resource_id, quantity, budget_id, accepted_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        args![m.case_id, m.need_id, m.resource_id, m.quantity, m.budget_id, m.accepted_by, crate::now()],
    ))
    .await
}

/// The matches of a case (`case_id`) or of an offer (`resource_id`).
pub async fn matches_of_case(e: &mut impl Exec, case_id: i64) -> Result<Vec<Match>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{MATCHES} WHERE m.case_id = $1 ORDER BY m.id"),
        args![case_id],
    ))
    .await
}

/// An offer's matches with the case each went to (its title and community).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MatchOfResource {
    pub id: i64,
    pub case_id: i64,
    pub case_title: String,
    pub community: String,
    #[serde(skip)]
    pub case_path: String,
    pub quantity: i64,
    pub created_at: DateTime<Utc>,
}

impl FromRow for MatchOfResource {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(MatchOfResource {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            case_title: r.get("case_title")?,
            community: r.get("community")?,
            case_path: r.get("case_path")?,
            quantity: r.get("quantity")?,
            created_at: r.get("created_at")?,
        })
    }
}

pub async fn matches_of_resource(
    e: &mut impl Exec,
    resource_id: i64,
) -> Result<Vec<MatchOfResource>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT m.id, m.case_id, c.title AS case_title, o.name AS community, o.path AS case_path, m.quantity, m.created_at FROM resource_matches m JOIN cases c ON c.id = m.case_id JOIN orgs o ON o.id = c.org_id WHERE m.resource_id = $1 ORDER BY m.id",
        args![resource_id],
    ))
    .await
}

pub async fn get_match(
    e: &mut impl Exec,
    case_id: i64,
    id: i64,
) -> Result<Option<Match>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{MATCHES} WHERE m.case_id = $1 AND m.id = $2"),
        args![case_id, id],
    ))
    .await
}

/// Deletes a match; false when it was already gone.
pub async fn delete_match(e: &mut impl Exec, id: i64) -> Result<bool, StoreError> {
    Ok(e.execute(Sql::with(
        "DELETE FROM resource_matches WHERE id = $1",
        args![id],
    ))
    .await?
        == 1)
}

/// The match that wrote a budget line, if one did.
pub async fn match_of_budget(e: &mut impl Exec, budget_id: i64) -> Result<Option<i64>, StoreError> {
    e.fetch_optional(Sql::with(
        "SELECT id FROM resource_matches WHERE budget_id = $1",
        args![budget_id],
    ))
    .await
}
