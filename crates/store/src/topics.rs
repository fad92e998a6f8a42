//! Topics (议题, R-TOP-1…5): the record, its status history (`topic_events`) and the scoped,
//! filtered list of the screening desk. Rules (which status may follow which) live in
//! `roundtable_core::topics`; this module stores what the service decided.

use chrono::{DateTime, NaiveDate, Utc};
use roundtable_core::access::Scope;

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{PageReq, Paged, PagedQuery, StoreError, args, fetch_page, node_ids, push_in};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Topic {
    pub id: i64,
    pub tracking_code: String,
    /// The community (or village) the matter belongs to.
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub title: String,
    pub description: String,
    /// R-TOP-2 category code
    pub category: String,
    pub category_reason: Option<String>,
    /// R-TOP-1 channel code
    pub channel: String,
    /// top_down / bottom_up
    pub direction: String,
    pub collector_person_id: Option<i64>,
    pub collector_name: Option<String>,
    pub submitter_name: Option<String>,
    /// Personal data: masked by the service unless the reader may see it.
    pub submitter_phone: Option<String>,
    pub contact_consent: bool,
    /// The version of the consent notice agreed to (core::privacy::CONSENT_VERSION).
    pub consent_version: Option<String>,
    pub location: Option<String>,
    /// The day it was collected, when entered on a later day.
    pub collected_on: Option<NaiveDate>,
    /// R-TOP-4 level code
    pub level: String,
    #[serde(skip)]
    pub terms: String,
    pub status: String,
    pub merged_into: Option<i64>,
    pub reject_reason: Option<String>,
    pub referred_to: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow for Topic {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Topic {
            id: r.get("id")?,
            tracking_code: r.get("tracking_code")?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            title: r.get("title")?,
            description: r.get("description")?,
            category: r.get("category")?,
            category_reason: r.get("category_reason")?,
            channel: r.get("channel")?,
            direction: r.get("direction")?,
            collector_person_id: r.get("collector_person_id")?,
            collector_name: r.get("collector_name")?,
            submitter_name: r.get("submitter_name")?,
            submitter_phone: crate::pii::open("topics.submitter_phone", r.get("submitter_phone")?)?,
            contact_consent: r.get("contact_consent")?,
            consent_version: r.get("consent_version")?,
            location: crate::pii::open("topics.location", r.get("location")?)?,
            collected_on: r.get("collected_on")?,
            level: r.get("level")?,
            terms: r.get("terms")?,
            status: r.get("status")?,
            merged_into: r.get("merged_into")?,
            reject_reason: r.get("reject_reason")?,
            referred_to: r.get("referred_to")?,
            created_by: r.get("created_by")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

/// What intake records (the service has validated it).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicFields {
    pub org_id: i64,
    pub title: String,
    pub description: String,
    pub category: String,
    pub category_reason: Option<String>,
    pub channel: String,
    pub direction: String,
    pub collector_person_id: Option<i64>,
    pub submitter_name: Option<String>,
    pub submitter_phone: Option<String>,
    pub contact_consent: bool,
    pub location: Option<String>,
    /// The day it was collected, when entered on a later day.
    pub collected_on: Option<NaiveDate>,
    pub level: String,
    /// R-TOP-5 similarity terms, space-separated (`roundtable_core::similarity::terms`).
    pub terms: String,
}

const COLS: &str = "SELECT t.id, t.tracking_code, t.org_id, o.name AS org_name, o.path AS org_path, t.title, t.description, t.category, t.category_reason, t.channel, t.direction, t.collector_person_id, cp.name AS collector_name, t.submitter_name, t.submitter_phone, t.contact_consent, t.consent_version, t.location, t.collected_on, t.level, t.terms, t.status, t.merged_into, t.reject_reason, t.referred_to, t.created_by, t.created_at, t.updated_at";
const FROM: &str = " FROM topics t JOIN orgs o ON o.id = t.org_id LEFT JOIN people cp ON cp.id = t.collector_person_id";

fn get_sql(id: i64) -> Sql {
    Sql::with(&format!("{COLS}{FROM} WHERE t.id = $1"), args![id])
}

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<Topic>, StoreError> {
    e.fetch_optional(get_sql(id)).await
}

/// The topics of `ids` (in no particular order; missing ids are left out): one statement for a
/// handful of suggestions.
pub async fn get_many(e: &mut impl Exec, ids: &[i64]) -> Result<Vec<Topic>, StoreError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new(&format!("{COLS}{FROM} WHERE "));
    push_in(&mut sql, "t.id", ids);
    e.fetch_all(sql).await
}

pub async fn by_tracking_code(e: &mut impl Exec, code: &str) -> Result<Option<Topic>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{COLS}{FROM} WHERE t.tracking_code = $1"),
        args![code],
    ))
    .await
}

/// Stores a new topic in `status` (待筛选 for intake) with its first history entry; a tracking
/// code already taken is an error (`is_unique_violation`).
pub async fn insert(
    e: &mut impl Exec,
    tracking_code: &str,
    f: &TopicFields,
    status: &str,
    created_by: Option<i64>,
) -> Result<i64, StoreError> {
    let sql = "INSERT INTO topics (tracking_code, org_id, title, description, category, category_reason, channel, direction, collector_person_id, submitter_name, submitter_phone, contact_consent, location, level, terms, status, created_by, created_at, updated_at, collected_on, consent_version, submitter_phone_idx) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20, $21) RETURNING id";
    insert_row(e, sql, tracking_code, f, status, created_by)
        .await?
        .ok_or_else(|| StoreError::Config("insert returned no row".into()))
}

/// Like `insert`, but a tracking code already taken stores nothing and answers `None` (one
/// statement instead of a look-up first; a failed statement would end a PostgreSQL
/// transaction).
pub async fn insert_if_code_free(
    e: &mut impl Exec,
    tracking_code: &str,
    f: &TopicFields,
    status: &str,
    created_by: Option<i64>,
) -> Result<Option<i64>, StoreError> {
    let sql = "INSERT INTO topics (tracking_code, org_id, title, description, category, category_reason, channel, direction, collector_person_id, submitter_name, submitter_phone, contact_consent, location, level, terms, status, created_by, created_at, updated_at, collected_on, consent_version, submitter_phone_idx) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19, $20, $21) ON CONFLICT (tracking_code) DO NOTHING RETURNING id";
    insert_row(e, sql, tracking_code, f, status, created_by).await
}

async fn insert_row(
    e: &mut impl Exec,
    sql: &str,
    tracking_code: &str,
    f: &TopicFields,
    status: &str,
    created_by: Option<i64>,
) -> Result<Option<i64>, StoreError> {
    let now = crate::now();
    let id: Option<i64> = e
        .fetch_optional(Sql::with(
            sql,
            args![
                tracking_code,
                f.org_id,
                &f.title,
                &f.description,
                &f.category,
                f.category_reason.clone(),
                &f.channel,
                &f.direction,
                f.collector_person_id,
                f.submitter_name.clone(),
                crate::pii::seal("topics.submitter_phone", f.submitter_phone.as_deref())?,
                f.contact_consent,
                crate::pii::seal("topics.location", f.location.as_deref())?,
                &f.level,
                &f.terms,
                status,
                created_by,
                now,
                f.collected_on,
                // The notice the submitter agreed to, when they did (PIPL).
                f.contact_consent
                    .then_some(roundtable_core::privacy::CONSENT_VERSION),
                crate::pii::index(f.submitter_phone.as_deref())?
            ],
        ))
        .await?;
    if let Some(id) = id {
        add_event(e, id, created_by, None, status, None, None).await?;
    }
    Ok(id)
}

/// A status change as the service decided it; the history entry is written with it.
#[derive(Debug, Clone, Default)]
pub struct StatusChange<'a> {
    pub to: &'a str,
    pub merged_into: Option<i64>,
    pub reject_reason: Option<&'a str>,
    pub referred_to: Option<&'a str>,
    /// Shown to the submitter with the status.
    pub public_note: Option<&'a str>,
    pub internal_note: Option<&'a str>,
}

pub async fn change_status(
    e: &mut impl Exec,
    id: i64,
    from: &str,
    actor_user_id: Option<i64>,
    c: &StatusChange<'_>,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE topics SET status = $1, merged_into = $2, reject_reason = $3, referred_to = $4, updated_at = $5 WHERE id = $6",
        args![
            c.to,
            c.merged_into,
            c.reject_reason.map(str::to_string),
            c.referred_to.map(str::to_string),
            crate::now(),
            id
        ],
    ))
    .await?;
    add_event(
        e,
        id,
        actor_user_id,
        Some(from),
        c.to,
        c.public_note,
        c.internal_note,
    )
    .await
}

async fn add_event(
    e: &mut impl Exec,
    topic_id: i64,
    actor_user_id: Option<i64>,
    from: Option<&str>,
    to: &str,
    public_note: Option<&str>,
    internal_note: Option<&str>,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "INSERT INTO topic_events (topic_id, at, actor_user_id, from_status, to_status, public_note, internal_note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            topic_id,
            crate::now(),
            actor_user_id,
            from.map(str::to_string),
            to,
            public_note.map(str::to_string),
            internal_note.map(str::to_string)
        ],
    ))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TopicEvent {
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_name: Option<String>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub public_note: Option<String>,
    pub internal_note: Option<String>,
}

impl FromRow for TopicEvent {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(TopicEvent {
            at: r.get("at")?,
            actor_user_id: r.get("actor_user_id")?,
            actor_name: r.get("actor_name")?,
            from_status: r.get("from_status")?,
            to_status: r.get("to_status")?,
            public_note: r.get("public_note")?,
            internal_note: r.get("internal_note")?,
        })
    }
}

/// The history of a topic, oldest first.
pub async fn events(e: &mut impl Exec, topic_id: i64) -> Result<Vec<TopicEvent>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT ev.at, ev.actor_user_id, u.display_name AS actor_name, ev.from_status, ev.to_status, ev.public_note, ev.internal_note FROM topic_events ev LEFT JOIN users u ON u.id = ev.actor_user_id WHERE ev.topic_id = $1 ORDER BY ev.id",
        args![topic_id],
    ))
    .await
}

/// A topic and the topics merged into it, in one round trip (`Reads`).
pub async fn with_sources(
    e: &mut impl Exec,
    id: i64,
) -> Result<(Option<Topic>, Vec<Topic>), StoreError> {
    let mut r = crate::Reads::new();
    let topic = r.add(get_sql(id));
    let sources = r.add(merged_sql(id));
    let mut rows = e.fetch_reads(r).await?;
    Ok((rows.optional(topic)?, rows.all(sources)?))
}

fn merged_sql(survivor: i64) -> Sql {
    Sql::with(
        &format!("{COLS}{FROM} WHERE t.merged_into = $1 ORDER BY t.id"),
        args![survivor],
    )
}

/// The topics merged into `survivor` (R-TOP-5: every source is kept).
pub async fn merged_sources(e: &mut impl Exec, survivor: i64) -> Result<Vec<Topic>, StoreError> {
    e.fetch_all(merged_sql(survivor)).await
}

/// Category and level as screening sets them (codes).
pub struct Classification<'a> {
    pub category: &'a str,
    pub category_reason: Option<&'a str>,
    pub level: &'a str,
}

/// Changes category and level at screening; the history keeps the change (status unchanged).
pub async fn reclassify(
    e: &mut impl Exec,
    id: i64,
    status: &str,
    actor_user_id: Option<i64>,
    c: Classification<'_>,
    note: &str,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE topics SET category = $1, category_reason = $2, level = $3, updated_at = $4 WHERE id = $5",
        args![c.category, c.category_reason.map(str::to_string), c.level, crate::now(), id],
    ))
    .await?;
    add_event(e, id, actor_user_id, Some(status), status, None, Some(note)).await
}

/// Moves the topics merged into `from` along to `to`, so a chain of merges keeps one survivor.
pub async fn repoint_merged(e: &mut impl Exec, from: i64, to: i64) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE topics SET merged_into = $1 WHERE merged_into = $2",
        args![to, from],
    ))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct TopicFilter {
    pub status: Option<String>,
    pub category: Option<String>,
    pub channel: Option<String>,
    pub level: Option<String>,
    /// A node: its whole subtree.
    pub org_id: Option<i64>,
    /// Created on or after this day (UTC+8 days are converted by the service).
    pub from: Option<DateTime<Utc>>,
    /// Created before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Words that must all appear in the title or description.
    pub words: Vec<String>,
}

/// The list's conditions; `nodes` are the communities in scope and under the filter's node
/// (`None`: all).
fn push_filter(sql: &mut Sql, nodes: &Option<Vec<i64>>, f: &TopicFilter) {
    sql.push(" WHERE ");
    match nodes {
        Some(ids) => push_in(sql, "t.org_id", ids),
        None => {
            sql.push("1=1");
        }
    }
    for (col, v) in [
        ("t.status", &f.status),
        ("t.category", &f.category),
        ("t.channel", &f.channel),
        ("t.level", &f.level),
    ] {
        if let Some(v) = v {
            sql.push(" AND ").push(col).push(" = ").arg(v);
        }
    }
    if let Some(d) = f.from {
        sql.push(" AND t.created_at >= ").arg(d);
    }
    if let Some(d) = f.until {
        sql.push(" AND t.created_at < ").arg(d);
    }
    for w in &f.words {
        let pattern = format!("%{}%", w.replace(['%', '_'], ""));
        sql.push(" AND (t.title LIKE ")
            .arg(pattern.clone())
            .push(" OR t.description LIKE ")
            .arg(pattern)
            .push(")");
    }
}

/// Newest first, in one statement (see `fetch_page`).
pub async fn list(
    e: &mut impl Exec,
    scope: &Scope,
    f: &TopicFilter,
    page: PageReq,
) -> Result<Paged<Topic>, StoreError> {
    let nodes = node_ids(e, scope, f.org_id).await?;
    let q = PagedQuery {
        select: COLS,
        from: FROM,
        base: " FROM topics t",
        id: "t.id",
        order: "t.created_at DESC, t.id DESC",
        count: |sql: &mut Sql| {
            sql.push("SELECT 1 FROM topics t");
            push_filter(sql, &nodes, f);
        },
        filter: |sql: &mut Sql| push_filter(sql, &nodes, f),
    };
    fetch_page(e, q, page).await
}

struct Aggregated(Option<String>);
impl FromRow for Aggregated {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Aggregated(r.get("all_terms")?))
    }
}

/// Id and similarity terms of the open topics of the given nodes (R-TOP-5 candidates), newest
/// first, at most `limit`: only what the comparison needs.
pub async fn open_terms_in(
    e: &mut impl Exec,
    org_ids: &[i64],
    limit: i64,
) -> Result<Vec<(i64, String)>, StoreError> {
    if org_ids.is_empty() {
        return Ok(vec![]);
    }
    // The newest ids from the (org_id, status, created_at) index alone, then their terms in
    // one aggregated row: read row by row, 2,000 candidates cost more in handing rows from
    // SQLite's thread to ours than in comparing them (perf, intake benchmark). Terms hold no
    // whitespace, so a line break separates the rows and the id is before the first colon.
    let mut sql = Sql::new("SELECT string_agg(CAST(id AS TEXT) || ':' || terms, ");
    sql.arg("\n")
        .push(") AS all_terms FROM topics WHERE id IN (SELECT id FROM topics WHERE ");
    push_in(&mut sql, "org_id", org_ids);
    sql.push(" AND status IN ('pending', 'accepted', 'adopted') ORDER BY created_at DESC LIMIT ")
        .arg(limit)
        .push(")");
    let all: Aggregated = e.fetch_one(sql).await?;
    Ok(all
        .0
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (id, terms) = line.split_once(':')?;
            Some((id.parse().ok()?, terms.to_string()))
        })
        .collect())
}

/// Submissions from one phone number since `since` (the portal's per-phone rate limit).
pub async fn count_by_phone_since(
    e: &mut impl Exec,
    phone: &str,
    since: DateTime<Utc>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "SELECT COUNT(*) FROM topics WHERE submitter_phone_idx = $1 AND created_at >= $2",
        args![crate::pii::index(Some(phone))?, since],
    ))
    .await
}

/// A photo of a topic; the file lives under the data directory, named by `sha256`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TopicPhoto {
    pub id: i64,
    pub topic_id: i64,
    pub sha256: String,
    pub mime: String,
    pub size_bytes: i64,
    pub width: i64,
    pub height: i64,
}

impl FromRow for TopicPhoto {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(TopicPhoto {
            id: r.get("id")?,
            topic_id: r.get("topic_id")?,
            sha256: r.get("sha256")?,
            mime: r.get("mime")?,
            size_bytes: r.get("size_bytes")?,
            width: r.get("width")?,
            height: r.get("height")?,
        })
    }
}

const PHOTO_COLS: &str =
    "SELECT id, topic_id, sha256, mime, size_bytes, width, height FROM topic_photos";

pub async fn add_photo(
    e: &mut impl Exec,
    topic_id: i64,
    sha256: &str,
    mime: &str,
    size_bytes: i64,
    width: i64,
    height: i64,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "INSERT INTO topic_photos (topic_id, sha256, mime, size_bytes, width, height, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![topic_id, sha256, mime, size_bytes, width, height, crate::now()],
    ))
    .await?;
    Ok(())
}

pub async fn photos(e: &mut impl Exec, topic_id: i64) -> Result<Vec<TopicPhoto>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{PHOTO_COLS} WHERE topic_id = $1 ORDER BY id"),
        args![topic_id],
    ))
    .await
}

pub async fn photo(e: &mut impl Exec, id: i64) -> Result<Option<TopicPhoto>, StoreError> {
    e.fetch_optional(Sql::with(&format!("{PHOTO_COLS} WHERE id = $1"), args![id]))
        .await
}

/// The topics in `scope` by id after `after`, at most `limit` (an export reads them page by
/// page; the scope is applied here, not by reading the whole district).
pub async fn all_page(
    e: &mut impl Exec,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<Topic>, StoreError> {
    let nodes = node_ids(e, scope, None).await?;
    let mut sql = Sql::new(&format!("{COLS}{FROM} WHERE t.id > "));
    sql.arg(after).push(" AND ");
    match &nodes {
        Some(ids) => push_in(&mut sql, "t.org_id", ids),
        None => {
            sql.push("1=1");
        }
    }
    sql.push(" ORDER BY t.id LIMIT ").arg(limit);
    e.fetch_all(sql).await
}

/// A topic of the community with exactly this title and description (an imported sheet read
/// twice creates nothing the second time).
pub async fn find_same(
    e: &mut impl Exec,
    org_id: i64,
    title: &str,
    description: &str,
) -> Result<Option<i64>, StoreError> {
    e.fetch_optional(Sql::with(
        "SELECT id FROM topics WHERE org_id = $1 AND title = $2 AND description = $3 ORDER BY id LIMIT 1",
        args![org_id, title, description],
    ))
    .await
}
