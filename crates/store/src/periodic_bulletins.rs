//! 定期通报 (issue 5): published bulletins with their frozen content, and the finished cases a
//! bulletin lists.

use chrono::{DateTime, Utc};
use roundtable_core::access::Scope;

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args, push_scope};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublishedBulletin {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub period: String,
    pub title: String,
    /// The bulletin as it was published (JSON).
    #[serde(skip)]
    pub content: String,
    pub published_at: DateTime<Utc>,
}

impl FromRow for PublishedBulletin {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(PublishedBulletin {
            id: r.get("id")?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            period: r.get("period")?,
            title: r.get("title")?,
            content: r.get("content")?,
            published_at: r.get("published_at")?,
        })
    }
}

const SELECT: &str = "SELECT b.id, b.org_id, o.name AS org_name, o.path AS org_path, b.period, b.title, b.content, b.published_at FROM periodic_bulletins b JOIN orgs o ON o.id = b.org_id";

/// Publishes; `None` when the node's bulletin of that period was published already (the
/// unique index decides, so two publishers at once cannot both succeed). A `None` leaves a
/// PostgreSQL transaction aborted: the caller returns without another statement.
pub async fn insert(
    e: &mut impl Exec,
    org_id: i64,
    period: &str,
    title: &str,
    content: &str,
    by: Option<i64>,
) -> Result<Option<i64>, StoreError> {
    match e
        .fetch_one(Sql::with(
            "INSERT INTO periodic_bulletins (org_id, period, title, content, published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            args![org_id, period, title, content, by, crate::now()],
        ))
        .await
    {
        Ok(id) => Ok(Some(id)),
        // Published before, or by another publisher at the same moment.
        Err(e) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<PublishedBulletin>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{SELECT} WHERE b.id = $1"), args![id]))
        .await
}

pub async fn of_period(
    e: &mut impl Exec,
    org_id: i64,
    period: &str,
) -> Result<Option<PublishedBulletin>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{SELECT} WHERE b.org_id = $1 AND b.period = $2"),
        args![org_id, period],
    ))
    .await
}

/// The published bulletins of the scope, the newest first.
pub async fn list(e: &mut impl Exec, scope: &Scope) -> Result<Vec<PublishedBulletin>, StoreError> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE ");
    push_scope(&mut sql, scope, "o.path", None);
    sql.push(" ORDER BY b.published_at DESC, b.id DESC LIMIT 200");
    e.fetch_all(sql).await
}

/// A case that reached 办结 in the period, for the bulletin's list of finished projects.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FinishedProject {
    pub case_id: i64,
    pub title: String,
    pub org_id: i64,
    pub community: String,
    pub level: String,
    pub finished_at: DateTime<Utc>,
}

impl FromRow for FinishedProject {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(FinishedProject {
            case_id: r.get("id")?,
            title: r.get("title")?,
            org_id: r.get("org_id")?,
            community: r.get("community")?,
            level: r.get("level")?,
            finished_at: r.get("finished_at")?,
        })
    }
}

pub async fn finished_projects(
    e: &mut impl Exec,
    path: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<FinishedProject>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT c.id, c.title, c.org_id, o.name AS community, c.level, c.finished_at FROM cases c JOIN orgs o ON o.id = c.org_id WHERE o.path LIKE $1 AND c.step = 'done' AND c.finished_at >= $2 AND c.finished_at < $3 ORDER BY o.path, c.finished_at",
        args![format!("{path}%"), from, to],
    ))
    .await
}
