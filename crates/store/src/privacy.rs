//! Personal data by person (issue 6 point 3, PIPL): what the database holds under one phone
//! number — matters submitted, objections, wishes, questionnaire answers, people and units —
//! for an export or an erasure on request, and the retention that erases a submitter's contact
//! data a while after the matter was finished.

use chrono::{DateTime, Utc};
use roundtable_core::privacy::ERASED_NAME;

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args};

/// One record holding the phone number.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Held {
    /// topic, objection, wish, questionnaire_response, person, unit
    pub kind: String,
    pub id: i64,
    /// What the record is (a matter's title, a unit's name …).
    pub title: String,
    pub name: Option<String>,
    pub phone: String,
    pub at: DateTime<Utc>,
}

impl FromRow for Held {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let kind: String = r.get("kind")?;
        // The column each kind's number is sealed for (`pii::SEALED`).
        let column = match kind.as_str() {
            "topic" => "topics.submitter_phone",
            "objection" => "objections.submitter_phone",
            "wish" => "wishes.household_phone",
            "questionnaire_response" => "questionnaire_responses.phone",
            "person" => "people.phone",
            _ => "units.contact_phone",
        };
        Ok(Held {
            phone: crate::pii::open(column, r.get("phone")?)?.unwrap_or_default(),
            kind,
            id: r.get("id")?,
            title: r.get("title")?,
            name: r.get("name")?,
            at: r.get("at")?,
        })
    }
}

/// Every record holding `phone`, the oldest first.
pub async fn held_by_phone(e: &mut impl Exec, phone: &str) -> Result<Vec<Held>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT 'topic' AS kind, id, title, submitter_name AS name, submitter_phone AS phone, created_at AS at FROM topics WHERE submitter_phone_idx = $1 \
         UNION ALL SELECT 'objection', o.id, c.title, o.submitter_name, o.submitter_phone, o.received_at FROM objections o JOIN cases c ON c.id = o.case_id WHERE o.submitter_phone_idx = $1 \
         UNION ALL SELECT 'wish', id, title, household_name, household_phone, created_at FROM wishes WHERE household_phone_idx = $1 \
         UNION ALL SELECT 'questionnaire_response', r.id, q.title, NULL, r.phone, r.submitted_at FROM questionnaire_responses r JOIN questionnaires q ON q.id = r.questionnaire_id WHERE r.phone_idx = $1 \
         UNION ALL SELECT 'person', id, name, name, phone, created_at FROM people WHERE phone_idx = $1 \
         UNION ALL SELECT 'unit', id, name, contact_name, contact_phone, created_at FROM units WHERE contact_phone_idx = $1 \
         ORDER BY 6, 1, 2",
        args![crate::pii::index(Some(phone))?],
    ))
    .await
}

/// What an erasure or a retention run changed, per kind of record.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Erased {
    pub topics: u64,
    pub objections: u64,
    pub wishes: u64,
    pub questionnaire_responses: u64,
    pub people: u64,
    pub units: u64,
}

impl Erased {
    pub fn total(&self) -> u64 {
        self.topics
            + self.objections
            + self.wishes
            + self.questionnaire_responses
            + self.people
            + self.units
    }
}

/// What erasing a resident's contact data sets, per table (`$2` is `ERASED_NAME`, for a name the
/// record cannot do without), in the order of `Erased`'s fields.
const ERASURES: [(&str, &str); 6] = [
    (
        "topics",
        "submitter_name = NULL, submitter_phone = NULL, submitter_phone_idx = NULL, contact_consent = FALSE, consent_version = NULL",
    ),
    (
        "objections",
        "submitter_name = NULL, submitter_phone = NULL, submitter_phone_idx = NULL",
    ),
    (
        "wishes",
        "household_name = $2, household_phone = NULL, household_phone_idx = NULL",
    ),
    ("questionnaire_responses", "phone = NULL, phone_idx = NULL"),
    ("people", "phone = NULL, phone_idx = NULL"),
    ("units", "contact_phone = NULL, contact_phone_idx = NULL"),
];

/// Runs the erasure of each table with its condition (`$1` the phone or the cutoff; `None`:
/// that table is left alone). Each statement gets both arguments and names `$2` (`$2 = $2`
/// where it needs no name): PostgreSQL refuses an argument a statement does not use.
async fn erase_where(
    e: &mut impl Exec,
    first: crate::Val,
    conditions: [Option<&str>; 6],
) -> Result<Erased, StoreError> {
    let mut counts = [0u64; 6];
    for (i, ((table, set), condition)) in ERASURES.iter().zip(conditions).enumerate() {
        let Some(condition) = condition else { continue };
        counts[i] = e
            .execute(Sql::with(
                &format!("UPDATE {table} SET {set} WHERE {condition}"),
                vec![first.clone(), crate::Val::from(ERASED_NAME)],
            ))
            .await?;
    }
    let [
        topics,
        objections,
        wishes,
        questionnaire_responses,
        people,
        units,
    ] = counts;
    Ok(Erased {
        topics,
        objections,
        wishes,
        questionnaire_responses,
        people,
        units,
    })
}

/// Erases `phone` and the name that goes with it wherever a resident left them; a person's and
/// a unit's record keeps its name (the organisation's own data) and loses the number.
pub async fn erase_phone(e: &mut impl Exec, phone: &str) -> Result<Erased, StoreError> {
    erase_where(
        e,
        crate::Val::from(crate::pii::index(Some(phone))?),
        [
            Some("submitter_phone_idx = $1 AND $2 = $2"),
            Some("submitter_phone_idx = $1 AND $2 = $2"),
            Some("household_phone_idx = $1"),
            Some("phone_idx = $1 AND $2 = $2"),
            Some("phone_idx = $1 AND $2 = $2"),
            Some("contact_phone_idx = $1 AND $2 = $2"),
        ],
    )
    .await
}

/// Erases the contact data of what was finished before `cutoff`: closed matters (done,
/// rejected, merged), objections to finished cases, confirmed or withdrawn wishes, answers to
/// questionnaires closed since. People and units are the organisation's records: kept.
pub async fn erase_expired(e: &mut impl Exec, cutoff: DateTime<Utc>) -> Result<Erased, StoreError> {
    erase_where(
        e,
        crate::Val::from(cutoff),
        [
            Some(
                "status IN ('done', 'rejected', 'merged') AND updated_at < $1 AND (submitter_name IS NOT NULL OR submitter_phone IS NOT NULL) AND $2 = $2",
            ),
            Some(
                "(submitter_name IS NOT NULL OR submitter_phone IS NOT NULL) AND case_id IN (SELECT id FROM cases WHERE finished_at IS NOT NULL AND finished_at < $1) AND $2 = $2",
            ),
            Some(
                "status IN ('confirmed', 'cancelled') AND updated_at < $1 AND (household_phone IS NOT NULL OR household_name <> $2)",
            ),
            Some(
                "phone IS NOT NULL AND questionnaire_id IN (SELECT id FROM questionnaires WHERE status = 'closed' AND updated_at < $1) AND $2 = $2",
            ),
            None,
            None,
        ],
    )
    .await
}
