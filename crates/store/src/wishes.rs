//! 微心愿 records (R-MEM-1). Every change of status is one conditional UPDATE on the status
//! read, so two members claiming at once cannot both win.

use chrono::{DateTime, Utc};
use roundtable_core::access::Scope;
use roundtable_core::wishes::{WishFields, WishStatus};

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args, push_scope};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Wish {
    pub id: i64,
    pub public_code: String,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub title: String,
    pub detail: Option<String>,
    /// Masked outside the service for whoever may not see it.
    pub household_name: String,
    pub household_phone: Option<String>,
    pub status: String,
    pub claimed_by: Option<i64>,
    pub claimed_by_name: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub fulfil_note: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirm_note: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Wish {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Wish {
            id: r.get("id")?,
            public_code: r.get("public_code")?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            title: r.get("title")?,
            detail: r.get("detail")?,
            household_name: r.get("household_name")?,
            household_phone: crate::pii::open("wishes.household_phone", r.get("household_phone")?)?,
            status: r.get("status")?,
            claimed_by: r.get("claimed_by")?,
            claimed_by_name: r.get("claimed_by_name")?,
            claimed_at: r.get("claimed_at")?,
            fulfilled_at: r.get("fulfilled_at")?,
            fulfil_note: r.get("fulfil_note")?,
            confirmed_at: r.get("confirmed_at")?,
            confirm_note: r.get("confirm_note")?,
            cancel_reason: r.get("cancel_reason")?,
            created_at: r.get("created_at")?,
        })
    }
}

const SELECT: &str = "SELECT w.id, w.public_code, w.org_id, o.name AS org_name, o.path AS org_path, w.title, w.detail, w.household_name, w.household_phone, w.status, w.claimed_by, p.name AS claimed_by_name, w.claimed_at, w.fulfilled_at, w.fulfil_note, w.confirmed_at, w.confirm_note, w.cancel_reason, w.created_at FROM wishes w JOIN orgs o ON o.id = w.org_id LEFT JOIN people p ON p.id = w.claimed_by";

pub async fn insert(
    e: &mut impl Exec,
    org_id: i64,
    code: &str,
    f: &WishFields,
    posted_by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO wishes (public_code, org_id, title, detail, household_name, household_phone, household_phone_idx, status, posted_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $9) RETURNING id",
        args![code, org_id, &f.title, f.detail.clone(), &f.household_name, crate::pii::seal("wishes.household_phone", f.household_phone.as_deref())?, crate::pii::index(f.household_phone.as_deref())?, posted_by, crate::now()],
    ))
    .await
}

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<Wish>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{SELECT} WHERE w.id = $1"), args![id]))
        .await
}

pub async fn by_code(e: &mut impl Exec, code: &str) -> Result<Option<Wish>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{SELECT} WHERE w.public_code = $1"),
        args![code],
    ))
    .await
}

#[derive(Debug, Clone, Default)]
pub struct WishFilter {
    pub org_id: Option<i64>,
    pub status: Option<String>,
    pub claimed_by: Option<i64>,
}

/// The wishes of the scope, the newest first (at most `limit`).
pub async fn list(
    e: &mut impl Exec,
    scope: &Scope,
    f: &WishFilter,
    limit: i64,
) -> Result<Vec<Wish>, StoreError> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE ");
    push_scope(&mut sql, scope, "o.path", None);
    if let Some(org) = f.org_id {
        sql.push(" AND o.path LIKE ").arg(format!("%/{org}/%"));
    }
    if let Some(s) = &f.status {
        sql.push(" AND w.status = ").arg(s);
    }
    if let Some(p) = f.claimed_by {
        sql.push(" AND w.claimed_by = ").arg(p);
    }
    sql.push(" ORDER BY w.created_at DESC, w.id DESC LIMIT ")
        .arg(limit);
    e.fetch_all(sql).await
}

/// Moves a wish from `from` to `to`, setting the columns of the move; false when its status
/// was no longer `from` (someone else was first).
pub async fn advance(
    e: &mut impl Exec,
    id: i64,
    from: WishStatus,
    to: WishStatus,
    person: Option<i64>,
    note: Option<&str>,
) -> Result<bool, StoreError> {
    let now = crate::now();
    let set = match to {
        WishStatus::Claimed => "claimed_by = $4, claimed_at = $3",
        WishStatus::Fulfilled => "fulfilled_at = $3, fulfil_note = $5",
        WishStatus::Confirmed => "confirmed_at = $3, confirm_note = $5",
        WishStatus::Cancelled => "cancel_reason = $5",
        WishStatus::Open => "claimed_by = NULL, claimed_at = NULL",
    };
    let n = e
        .execute(Sql::with(
            &format!(
                "UPDATE wishes SET status = $1, updated_at = $3, {set} WHERE id = $6 AND status = $2"
            ),
            args![to.code(), from.code(), now, person, note, id],
        ))
        .await?;
    Ok(n == 1)
}
