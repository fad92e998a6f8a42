//! Questionnaires (调查问卷): the questionnaire, its questions, the responses and their answers.
//! What may be stored is decided by `roundtable_core::questionnaire` and the service.

use chrono::{DateTime, NaiveDate, Utc};
use roundtable_core::access::Scope;

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{Node, PageReq, Paged, PagedQuery, StoreError, args, fetch_page, push_scope_as};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Questionnaire {
    pub id: i64,
    /// The community it is published to.
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    /// The code of the public link `/q/{public_code}`.
    pub public_code: String,
    pub title: String,
    pub intro: Option<String>,
    /// R-TOP-2 category code given to topics made from its text answers.
    pub category: String,
    /// draft / published / closed
    pub status: String,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
    pub responses: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow for Questionnaire {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Questionnaire {
            id: r.get("id")?,
            org_id: r.get("org_id")?,
            org_name: r.get("org_name")?,
            org_path: r.get("org_path")?,
            public_code: r.get("public_code")?,
            title: r.get("title")?,
            intro: r.get("intro")?,
            category: r.get("category")?,
            status: r.get("status")?,
            opens_on: r.get("opens_on")?,
            closes_on: r.get("closes_on")?,
            responses: r.get("responses")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

/// The header as the service validated it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionnaireFields {
    pub org_id: i64,
    pub title: String,
    pub intro: Option<String>,
    pub category: String,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
}

const COLS: &str = "SELECT q.id, q.org_id, o.name AS org_name, o.path AS org_path, q.public_code, q.title, q.intro, q.category, q.status, q.opens_on, q.closes_on, (SELECT COUNT(*) FROM questionnaire_responses r WHERE r.questionnaire_id = q.id) AS responses, q.created_at, q.updated_at";
const FROM: &str = " FROM questionnaires q JOIN orgs o ON o.id = q.org_id";

pub async fn get(e: &mut impl Exec, id: i64) -> Result<Option<Questionnaire>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{COLS}{FROM} WHERE q.id = $1"),
        args![id],
    ))
    .await
}

pub async fn by_public_code(
    e: &mut impl Exec,
    code: &str,
) -> Result<Option<Questionnaire>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{COLS}{FROM} WHERE q.public_code = $1"),
        args![code],
    ))
    .await
}

pub async fn insert(
    e: &mut impl Exec,
    public_code: &str,
    f: &QuestionnaireFields,
    created_by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO questionnaires (org_id, public_code, title, intro, category, status, opens_on, closes_on, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $9) RETURNING id",
        args![
            f.org_id,
            public_code,
            &f.title,
            f.intro.clone(),
            &f.category,
            f.opens_on,
            f.closes_on,
            created_by,
            crate::now()
        ],
    ))
    .await
}

pub async fn update(e: &mut impl Exec, id: i64, f: &QuestionnaireFields) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE questionnaires SET org_id = $1, title = $2, intro = $3, category = $4, opens_on = $5, closes_on = $6, updated_at = $7 WHERE id = $8",
        args![
            f.org_id,
            &f.title,
            f.intro.clone(),
            &f.category,
            f.opens_on,
            f.closes_on,
            crate::now(),
            id
        ],
    ))
    .await?;
    Ok(())
}

pub async fn set_status(e: &mut impl Exec, id: i64, status: &str) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE questionnaires SET status = $1, updated_at = $2 WHERE id = $3",
        args![status, crate::now(), id],
    ))
    .await?;
    Ok(())
}

fn push_filter(sql: &mut Sql, scope: &Scope, status: Option<&str>) {
    sql.push(" WHERE ");
    push_scope_as(sql, scope, Node::Id("q.org_id"), None);
    if let Some(s) = status {
        sql.push(" AND q.status = ").arg(s);
    }
}

/// Newest first, in the actor's scope, optionally one status.
pub async fn list(
    e: &mut impl Exec,
    scope: &Scope,
    status: Option<&str>,
    page: PageReq,
) -> Result<Paged<Questionnaire>, StoreError> {
    let q = PagedQuery {
        select: COLS,
        from: FROM,
        base: " FROM questionnaires q",
        id: "q.id",
        order: "q.created_at DESC, q.id DESC",
        count: |sql: &mut Sql| {
            sql.push("SELECT 1 FROM questionnaires q");
            push_filter(sql, scope, status);
        },
        filter: |sql: &mut Sql| push_filter(sql, scope, status),
    };
    fetch_page(e, q, page).await
}

/// A stored question (options one per line in the table).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StoredQuestion {
    pub id: i64,
    /// 1, 2, … as shown
    pub position: i64,
    /// single / multiple / text / rating
    pub kind: String,
    pub prompt: String,
    pub required: bool,
    pub options: Vec<String>,
}

impl FromRow for StoredQuestion {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let options: String = r.get("options")?;
        Ok(StoredQuestion {
            id: r.get("id")?,
            position: r.get("position")?,
            kind: r.get("kind")?,
            prompt: r.get("prompt")?,
            required: r.get("required")?,
            options: options
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

pub async fn questions(
    e: &mut impl Exec,
    questionnaire_id: i64,
) -> Result<Vec<StoredQuestion>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT id, position, kind, prompt, required, options FROM questionnaire_questions WHERE questionnaire_id = $1 ORDER BY position",
        args![questionnaire_id],
    ))
    .await
}

/// A question to store: kind code, prompt, required, options.
pub struct NewQuestion<'a> {
    pub kind: &'a str,
    pub prompt: &'a str,
    pub required: bool,
    pub options: &'a [String],
}

/// Replaces every question of a draft (nobody has answered a draft).
pub async fn replace_questions(
    e: &mut impl Exec,
    questionnaire_id: i64,
    qs: &[NewQuestion<'_>],
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "DELETE FROM questionnaire_questions WHERE questionnaire_id = $1",
        args![questionnaire_id],
    ))
    .await?;
    for (i, q) in qs.iter().enumerate() {
        e.execute(Sql::with(
            "INSERT INTO questionnaire_questions (questionnaire_id, position, kind, prompt, required, options) VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                questionnaire_id,
                i as i64 + 1,
                q.kind,
                q.prompt,
                q.required,
                q.options.join("\n")
            ],
        ))
        .await?;
    }
    Ok(())
}

/// Whether this device or phone already answered.
pub async fn already_answered(
    e: &mut impl Exec,
    questionnaire_id: i64,
    device_key: &str,
    phone: Option<&str>,
) -> Result<bool, StoreError> {
    let n: i64 = e
        .fetch_one(Sql::with(
            "SELECT COUNT(*) FROM questionnaire_responses WHERE questionnaire_id = $1 AND (device_key = $2 OR phone_idx = $3)",
            args![questionnaire_id, device_key, crate::pii::index(phone)?],
        ))
        .await?;
    Ok(n > 0)
}

pub async fn insert_response(
    e: &mut impl Exec,
    questionnaire_id: i64,
    device_key: &str,
    phone: Option<&str>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO questionnaire_responses (questionnaire_id, device_key, phone, phone_idx, submitted_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        args![questionnaire_id, device_key, crate::pii::seal("questionnaire_responses.phone", phone)?, crate::pii::index(phone)?, crate::now()],
    ))
    .await
}

/// One answer row: an option number, a rating or a text.
#[derive(Debug, Clone, Default)]
pub struct NewAnswer {
    pub question_id: i64,
    pub choice: Option<i64>,
    pub rating: Option<i64>,
    pub text: Option<String>,
}

pub async fn insert_answer(
    e: &mut impl Exec,
    response_id: i64,
    a: &NewAnswer,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "INSERT INTO questionnaire_answers (response_id, question_id, choice, rating, text) VALUES ($1, $2, $3, $4, $5)",
        args![response_id, a.question_id, a.choice, a.rating, a.text.clone()],
    ))
    .await?;
    Ok(())
}

/// Per question: (question id, option number or rating, how many answer rows).
pub struct ValueCount(pub i64, pub i64, pub i64);
impl FromRow for ValueCount {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(ValueCount(r.get("question_id")?, r.get("v")?, r.get("n")?))
    }
}

/// Counts of choices and ratings, grouped in the database.
pub async fn value_counts(
    e: &mut impl Exec,
    questionnaire_id: i64,
) -> Result<Vec<ValueCount>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT a.question_id, COALESCE(a.choice, a.rating) AS v, COUNT(*) AS n FROM questionnaire_answers a JOIN questionnaire_questions qq ON qq.id = a.question_id WHERE qq.questionnaire_id = $1 AND a.text IS NULL GROUP BY a.question_id, COALESCE(a.choice, a.rating)",
        args![questionnaire_id],
    ))
    .await
}

/// Per question: how many responses answered it.
pub async fn answered_counts(
    e: &mut impl Exec,
    questionnaire_id: i64,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let rows: Vec<ValueCount> = e
        .fetch_all(Sql::with(
            "SELECT a.question_id, CAST(0 AS BIGINT) AS v, COUNT(DISTINCT a.response_id) AS n FROM questionnaire_answers a JOIN questionnaire_questions qq ON qq.id = a.question_id WHERE qq.questionnaire_id = $1 GROUP BY a.question_id",
            args![questionnaire_id],
        ))
        .await?;
    Ok(rows.into_iter().map(|r| (r.0, r.2)).collect())
}

/// A text answer, with the response it belongs to and the topic made from it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct TextAnswer {
    pub id: i64,
    pub question_id: i64,
    pub response_id: i64,
    pub text: String,
    pub topic_id: Option<i64>,
    /// Personal data: masked by the service unless the reader may see it.
    pub phone: Option<String>,
    pub submitted_at: DateTime<Utc>,
}

impl FromRow for TextAnswer {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(TextAnswer {
            id: r.get("id")?,
            question_id: r.get("question_id")?,
            response_id: r.get("response_id")?,
            text: r.get("text")?,
            topic_id: r.get("topic_id")?,
            phone: crate::pii::open("questionnaire_responses.phone", r.get("phone")?)?,
            submitted_at: r.get("submitted_at")?,
        })
    }
}

const TEXT_COLS: &str = "SELECT a.id, a.question_id, a.response_id, a.text, a.topic_id, r.phone, r.submitted_at FROM questionnaire_answers a JOIN questionnaire_responses r ON r.id = a.response_id";

/// The text answers of a questionnaire, newest first, at most `limit` per call.
pub async fn text_answers(
    e: &mut impl Exec,
    questionnaire_id: i64,
    limit: i64,
) -> Result<Vec<TextAnswer>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{TEXT_COLS} WHERE r.questionnaire_id = $1 AND a.text IS NOT NULL ORDER BY a.id DESC LIMIT $2"),
        args![questionnaire_id, limit],
    ))
    .await
}

pub async fn text_answer(e: &mut impl Exec, id: i64) -> Result<Option<TextAnswer>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{TEXT_COLS} WHERE a.id = $1 AND a.text IS NOT NULL"),
        args![id],
    ))
    .await
}

pub async fn set_answer_topic(
    e: &mut impl Exec,
    answer_id: i64,
    topic_id: i64,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE questionnaire_answers SET topic_id = $1 WHERE id = $2",
        args![topic_id, answer_id],
    ))
    .await?;
    Ok(())
}

/// Every answer row of a questionnaire in response order, for the export.
pub struct AnswerRow {
    pub response_id: i64,
    pub phone: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub question_id: i64,
    pub choice: Option<i64>,
    pub rating: Option<i64>,
    pub text: Option<String>,
}

impl FromRow for AnswerRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(AnswerRow {
            response_id: r.get("response_id")?,
            phone: crate::pii::open("questionnaire_responses.phone", r.get("phone")?)?,
            submitted_at: r.get("submitted_at")?,
            question_id: r.get("question_id")?,
            choice: r.get("choice")?,
            rating: r.get("rating")?,
            text: r.get("text")?,
        })
    }
}

pub async fn all_answers(
    e: &mut impl Exec,
    questionnaire_id: i64,
) -> Result<Vec<AnswerRow>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT r.id AS response_id, r.phone, r.submitted_at, a.question_id, a.choice, a.rating, a.text FROM questionnaire_responses r JOIN questionnaire_answers a ON a.response_id = r.id WHERE r.questionnaire_id = $1 ORDER BY r.id, a.id",
        args![questionnaire_id],
    ))
    .await
}
