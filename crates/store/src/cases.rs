//! Deliberation cases (R-PROC-1…7): the case, its history of steps (`case_events`) and the
//! records of the steps before the meeting (visits, opinions, versioned documents). Which move
//! is allowed and what a step lacks is decided in `roundtable_core::cases`; this module stores
//! what the service decided and gathers the facts the checks need.

use chrono::{DateTime, NaiveDate, Utc};
use roundtable_core::access::Scope;

use crate::db::{Exec, FromRow, Reads, Row, Sql};
use crate::{PageReq, Paged, PagedQuery, StoreError, args, fetch_page, node_ids, push_in};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Case {
    pub id: i64,
    /// The code of the public page (`/c/{code}`), not the id.
    pub public_code: String,
    /// The topic the case was created from (R-PROC-1).
    pub topic_id: i64,
    pub topic_tracking_code: String,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub title: String,
    /// R-TOP-2 category code
    pub category: String,
    /// R-TOP-4 level code
    pub level: String,
    /// Step code: topic, opinions, analysis, deliberation, notice, implementation,
    /// supervision, done, stopped
    pub step: String,
    pub stop_reason: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl FromRow for Case {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Case {
            id: r.get("id")?,
            public_code: r.get("public_code")?,
            topic_id: r.get("topic_id")?,
            topic_tracking_code: r.get("topic_tracking_code")?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            title: r.get("title")?,
            category: r.get("category")?,
            level: r.get("level")?,
            step: r.get("step")?,
            stop_reason: r.get("stop_reason")?,
            created_by: r.get("created_by")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            finished_at: r.get("finished_at")?,
        })
    }
}

const COLS: &str = "SELECT c.id, c.public_code, c.topic_id, t.tracking_code AS topic_tracking_code, c.org_id, o.name AS org_name, o.path AS org_path, c.title, c.category, c.level, c.step, c.stop_reason, c.created_by, c.created_at, c.updated_at, c.finished_at";
const FROM: &str =
    " FROM cases c JOIN orgs o ON o.id = c.org_id JOIN topics t ON t.id = c.topic_id";

/// What a new case carries over from its topic.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub public_code: &'a str,
    pub topic_id: i64,
    pub org_id: i64,
    pub title: &'a str,
    pub category: &'a str,
    pub level: &'a str,
}

/// Stores a case at 确定议题 with its first history entry. A topic that already has a case, or
/// a public code already taken, is a unique violation.
pub async fn insert(
    e: &mut impl Exec,
    c: &NewCase<'_>,
    by: Option<i64>,
    note: Option<&str>,
) -> Result<i64, StoreError> {
    let now = crate::now();
    let id: i64 = e
        .fetch_one(Sql::with(
            "INSERT INTO cases (public_code, topic_id, org_id, title, category, level, step, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'topic', $7, $8, $8) RETURNING id",
            args![c.public_code, c.topic_id, c.org_id, c.title, c.category, c.level, by, now],
        ))
        .await?;
    add_event(e, id, by, "create", None, "topic", note).await?;
    Ok(id)
}

async fn add_event(
    e: &mut impl Exec,
    case_id: i64,
    by: Option<i64>,
    kind: &str,
    from: Option<&str>,
    to: &str,
    note: Option<&str>,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "INSERT INTO case_events (case_id, at, actor_user_id, kind, from_step, to_step, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![case_id, crate::now(), by, kind, from, to, note],
    ))
    .await?;
    Ok(())
}

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<Case>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{COLS}{FROM} WHERE c.id = $1"),
        args![id],
    ))
    .await
}

pub async fn by_public_code(e: &mut impl Exec, code: &str) -> Result<Option<Case>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{COLS}{FROM} WHERE c.public_code = $1"),
        args![code],
    ))
    .await
}

pub async fn by_topic(e: &mut impl Exec, topic_id: i64) -> Result<Option<Case>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{COLS}{FROM} WHERE c.topic_id = $1"),
        args![topic_id],
    ))
    .await
}

/// Moves a case from `from` to `to` with its history entry. Answers false (and changes
/// nothing) when the case is no longer at `from`: somebody else moved it meanwhile.
#[allow(clippy::too_many_arguments)]
pub async fn change_step(
    e: &mut impl Exec,
    id: i64,
    from: &str,
    to: &str,
    kind: &str,
    note: Option<&str>,
    by: Option<i64>,
    finished: bool,
) -> Result<bool, StoreError> {
    let now = crate::now();
    let stop_reason = (to == "stopped").then_some(note).flatten();
    let finished_at = finished.then_some(now);
    let n = e
        .execute(Sql::with(
            "UPDATE cases SET step = $1, stop_reason = $2, finished_at = $3, updated_at = $4 WHERE id = $5 AND step = $6",
            args![to, stop_reason, finished_at, now, id, from],
        ))
        .await?;
    if n == 0 {
        return Ok(false);
    }
    add_event(e, id, by, kind, Some(from), to, note).await?;
    Ok(true)
}

/// The list's filters (already checked by the service).
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub step: Option<String>,
    pub level: Option<String>,
    pub org_id: Option<i64>,
}

/// The cases in `scope`, newest first.
pub async fn list(
    e: &mut impl Exec,
    scope: &Scope,
    f: &CaseFilter,
    page: PageReq,
) -> Result<Paged<Case>, StoreError> {
    let nodes = node_ids(e, scope, f.org_id).await?;
    let filter = |sql: &mut Sql| {
        sql.push(" WHERE 1=1");
        if let Some(ids) = &nodes {
            sql.push(" AND ");
            push_in(sql, "c.org_id", ids);
        }
        if let Some(s) = &f.step {
            sql.push(" AND c.step = ").arg(s.as_str());
        }
        if let Some(l) = &f.level {
            sql.push(" AND c.level = ").arg(l.as_str());
        }
    };
    fetch_page(
        e,
        PagedQuery {
            select: COLS,
            from: FROM,
            base: " FROM cases c",
            id: "c.id",
            order: "c.created_at DESC, c.id DESC",
            count: |sql: &mut Sql| {
                sql.push("SELECT 1 FROM cases c");
                filter(sql);
            },
            filter,
        },
        page,
    )
    .await
}

/// One entry of a case's history.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CaseEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub actor_name: Option<String>,
    /// create, advance, back, stop
    pub kind: String,
    pub from_step: Option<String>,
    pub to_step: String,
    pub note: Option<String>,
}

impl FromRow for CaseEvent {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(CaseEvent {
            id: r.get("id")?,
            at: r.get("at")?,
            actor_user_id: r.get("actor_user_id")?,
            actor_name: r.get("actor_name")?,
            kind: r.get("kind")?,
            from_step: r.get("from_step")?,
            to_step: r.get("to_step")?,
            note: r.get("note")?,
        })
    }
}

// The statements of a case's reads, shared by the single reads and `case_reads`.
const EVENTS: &str = "SELECT ev.id, ev.at, ev.actor_user_id, COALESCE(p.name, u.username) AS actor_name, ev.kind, ev.from_step, ev.to_step, ev.note FROM case_events ev LEFT JOIN users u ON u.id = ev.actor_user_id LEFT JOIN people p ON p.id = u.person_id WHERE ev.case_id = $1 ORDER BY ev.id";
const VISITS: &str = "SELECT id, case_id, visitor_person_id, visitor_name, place, visited_on, findings, created_at FROM case_visits WHERE case_id = $1 ORDER BY visited_on, id";
const OPINIONS: &str = "SELECT id, case_id, source, visit_id, questionnaire_id, author, content, created_at FROM case_opinions WHERE case_id = $1 ORDER BY id";
const DOCUMENTS: &str = "SELECT d.id, d.case_id, d.kind, d.version, d.body, d.created_by, d.created_at FROM case_documents d WHERE d.case_id = $1 AND d.version = (SELECT MAX(version) FROM case_documents x WHERE x.case_id = d.case_id AND x.kind = d.kind) ORDER BY d.kind";
const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM case_visits WHERE case_id = $1) AS visits, (SELECT COUNT(*) FROM case_opinions WHERE case_id = $1) AS opinions, (SELECT string_agg(kind, ',') FROM (SELECT DISTINCT kind FROM case_documents WHERE case_id = $1) k) AS document_kinds";

/// What a case page shows of steps 1–4 besides the case row, in one round trip (`Reads`):
/// with `facts`, also what the step checks count (the case's, its meeting's and its
/// project's).
pub struct CaseReads {
    pub facts: Option<(
        Counts,
        crate::meetings::MeetingFacts,
        crate::projects::ProjectFacts,
    )>,
    pub events: Vec<CaseEvent>,
    pub visits: Vec<Visit>,
    pub opinions: Vec<Opinion>,
    pub documents: Vec<Document>,
    pub photos: Vec<CasePhoto>,
}

pub async fn case_reads(
    e: &mut impl Exec,
    case_id: i64,
    facts: bool,
) -> Result<CaseReads, StoreError> {
    let mut r = Reads::new();
    let mut add = |sql: &str| r.add(Sql::with(sql, args![case_id]));
    let counted = facts.then(|| {
        (
            add(COUNTS),
            add(crate::meetings::FACTS),
            add(crate::projects::FACTS),
        )
    });
    let (events, visits, opinions, documents, photos) = (
        add(EVENTS),
        add(VISITS),
        add(OPINIONS),
        add(DOCUMENTS),
        add(&photos_sql()),
    );
    let mut rows = e.fetch_reads(r).await?;
    Ok(CaseReads {
        facts: match counted {
            Some((c, m, p)) => Some((
                rows.one(c)?,
                rows.optional(m)?.unwrap_or_default(),
                rows.one(p)?,
            )),
            None => None,
        },
        events: rows.all(events)?,
        visits: rows.all(visits)?,
        opinions: rows.all(opinions)?,
        documents: rows.all(documents)?,
        photos: rows.all(photos)?,
    })
}

/// R-PROC-2: a visit to a household or the site.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Visit {
    pub id: i64,
    pub case_id: i64,
    pub visitor_person_id: Option<i64>,
    pub visitor_name: String,
    /// The household or site visited.
    pub place: String,
    pub visited_on: NaiveDate,
    pub findings: String,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Visit {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Visit {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            visitor_person_id: r.get("visitor_person_id")?,
            visitor_name: r.get("visitor_name")?,
            place: r.get("place")?,
            visited_on: r.get("visited_on")?,
            findings: r.get("findings")?,
            created_at: r.get("created_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct VisitFields {
    pub visitor_person_id: Option<i64>,
    pub visitor_name: String,
    pub place: String,
    pub visited_on: NaiveDate,
    pub findings: String,
}

pub async fn insert_visit(
    e: &mut impl Exec,
    case_id: i64,
    v: &VisitFields,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO case_visits (case_id, visitor_person_id, visitor_name, place, visited_on, findings, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        args![case_id, v.visitor_person_id, v.visitor_name.as_str(), v.place.as_str(), v.visited_on, v.findings.as_str(), by, crate::now()],
    ))
    .await
}

pub async fn visits(e: &mut impl Exec, case_id: i64) -> Result<Vec<Visit>, StoreError> {
    e.fetch_all(Sql::with(VISITS, args![case_id])).await
}

/// R-PROC-2: an opinion gathered on the matter.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Opinion {
    pub id: i64,
    pub case_id: i64,
    /// visit, online, questionnaire, other
    pub source: String,
    pub visit_id: Option<i64>,
    pub questionnaire_id: Option<i64>,
    /// Who gave it, as recorded (a resident's name is shown masked on public pages).
    pub author: Option<String>,
    pub content: String,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Opinion {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Opinion {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            source: r.get("source")?,
            visit_id: r.get("visit_id")?,
            questionnaire_id: r.get("questionnaire_id")?,
            author: r.get("author")?,
            content: r.get("content")?,
            created_at: r.get("created_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct OpinionFields {
    pub source: String,
    pub visit_id: Option<i64>,
    pub questionnaire_id: Option<i64>,
    pub author: Option<String>,
    pub content: String,
}

pub async fn insert_opinion(
    e: &mut impl Exec,
    case_id: i64,
    o: &OpinionFields,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO case_opinions (case_id, source, visit_id, questionnaire_id, author, content, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        args![case_id, o.source.as_str(), o.visit_id, o.questionnaire_id, o.author.as_deref(), o.content.as_str(), by, crate::now()],
    ))
    .await
}

pub async fn opinions(e: &mut impl Exec, case_id: i64) -> Result<Vec<Opinion>, StoreError> {
    e.fetch_all(Sql::with(OPINIONS, args![case_id])).await
}

/// One version of a step document; `body` is the JSON object of its fields.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Document {
    pub id: i64,
    pub case_id: i64,
    /// preliminary_plan, council_meeting, feasibility, meeting_plan, leader_consultation
    pub kind: String,
    pub version: i64,
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Document {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let body: String = r.get("body")?;
        Ok(Document {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            kind: r.get("kind")?,
            version: r.get("version")?,
            body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
            created_by: r.get("created_by")?,
            created_at: r.get("created_at")?,
        })
    }
}

/// Saves a new version of a document; answers its version number.
pub async fn save_document(
    e: &mut impl Exec,
    case_id: i64,
    kind: &str,
    body: &serde_json::Value,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO case_documents (case_id, kind, version, body, created_by, created_at) VALUES ($1, $2, (SELECT COALESCE(MAX(version), 0) + 1 FROM case_documents WHERE case_id = $1 AND kind = $2), $3, $4, $5) RETURNING version",
        args![case_id, kind, body.to_string(), by, crate::now()],
    ))
    .await
}

/// The latest version of each document of a case.
pub async fn documents(e: &mut impl Exec, case_id: i64) -> Result<Vec<Document>, StoreError> {
    e.fetch_all(Sql::with(DOCUMENTS, args![case_id])).await
}

/// Every version of one document, newest first.
pub async fn document_versions(
    e: &mut impl Exec,
    case_id: i64,
    kind: &str,
) -> Result<Vec<Document>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT id, case_id, kind, version, body, created_by, created_at FROM case_documents WHERE case_id = $1 AND kind = $2 ORDER BY version DESC",
        args![case_id, kind],
    ))
    .await
}

/// The counts the step checks need, in one statement.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub visits: i64,
    pub opinions: i64,
    /// Kinds of the documents that exist, comma-separated.
    pub document_kinds: String,
}

impl FromRow for Counts {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Counts {
            visits: r.get("visits")?,
            opinions: r.get("opinions")?,
            document_kinds: r
                .get::<Option<String>>("document_kinds")?
                .unwrap_or_default(),
        })
    }
}

pub async fn counts(e: &mut impl Exec, case_id: i64) -> Result<Counts, StoreError> {
    e.fetch_one(Sql::with(COUNTS, args![case_id])).await
}

/// A photo kept as evidence of one record of a case (`record_kind`: visit, ledger_item,
/// inspection); the file lives under the data directory, named by `sha256`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CasePhoto {
    pub id: i64,
    pub case_id: i64,
    pub record_kind: String,
    pub record_id: i64,
    pub sha256: String,
    pub mime: String,
    pub size_bytes: i64,
    pub width: i64,
    pub height: i64,
    pub created_at: DateTime<Utc>,
}

impl FromRow for CasePhoto {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(CasePhoto {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            record_kind: r.get("record_kind")?,
            record_id: r.get("record_id")?,
            sha256: r.get("sha256")?,
            mime: r.get("mime")?,
            size_bytes: r.get("size_bytes")?,
            width: r.get("width")?,
            height: r.get("height")?,
            created_at: r.get("created_at")?,
        })
    }
}

const CASE_PHOTO_COLS: &str = "SELECT id, case_id, record_kind, record_id, sha256, mime, size_bytes, width, height, created_at FROM case_photos";

#[allow(clippy::too_many_arguments)]
pub async fn add_photo(
    e: &mut impl Exec,
    case_id: i64,
    record_kind: &str,
    record_id: i64,
    sha256: &str,
    mime: &str,
    size_bytes: i64,
    width: i64,
    height: i64,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "INSERT INTO case_photos (case_id, record_kind, record_id, sha256, mime, size_bytes, width, height, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![case_id, record_kind, record_id, sha256, mime, size_bytes, width, height, crate::now()],
    ))
    .await?;
    Ok(())
}

fn photos_sql() -> String {
    format!("{CASE_PHOTO_COLS} WHERE case_id = $1 ORDER BY id")
}

/// Every evidence photo of a case, in the order they were added (the page groups them by
/// record).
pub async fn photos(e: &mut impl Exec, case_id: i64) -> Result<Vec<CasePhoto>, StoreError> {
    e.fetch_all(Sql::with(&photos_sql(), args![case_id])).await
}

pub async fn photo(
    e: &mut impl Exec,
    case_id: i64,
    id: i64,
) -> Result<Option<CasePhoto>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{CASE_PHOTO_COLS} WHERE id = $1 AND case_id = $2"),
        args![id, case_id],
    ))
    .await
}

/// Photos one record has (the per-record limit, and 销号 with a photo as its evidence).
pub async fn photo_count(
    e: &mut impl Exec,
    case_id: i64,
    record_kind: &str,
    record_id: i64,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "SELECT COUNT(*) FROM case_photos WHERE case_id = $1 AND record_kind = $2 AND record_id = $3",
        args![case_id, record_kind, record_id],
    ))
    .await
}
