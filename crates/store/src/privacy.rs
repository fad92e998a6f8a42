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
        Ok(Held {
            kind: r.get("kind")?,
            id: r.get("id")?,
            title: r.get("title")?,
            name: r.get("name")?,
            phone: r.get("phone")?,
            at: r.get("at")?,
        })
    }
}

/// Every record holding `phone`, the oldest first.
pub async fn held_by_phone(e: &mut impl Exec, phone: &str) -> Result<Vec<Held>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT 'topic' AS kind, id, title, submitter_name AS name, submitter_phone AS phone, created_at AS at FROM topics WHERE submitter_phone = $1 \
         UNION ALL SELECT 'objection', o.id, c.title, o.submitter_name, o.submitter_phone, o.received_at FROM objections o JOIN cases c ON c.id = o.case_id WHERE o.submitter_phone = $1 \
         UNION ALL SELECT 'wish', id, title, household_name, household_phone, created_at FROM wishes WHERE household_phone = $1 \
         UNION ALL SELECT 'questionnaire_response', r.id, q.title, NULL, r.phone, r.submitted_at FROM questionnaire_responses r JOIN questionnaires q ON q.id = r.questionnaire_id WHERE r.phone = $1 \
         UNION ALL SELECT 'person', id, name, name, phone, created_at FROM people WHERE phone = $1 \
         UNION ALL SELECT 'unit', id, name, contact_name, contact_phone, created_at FROM units WHERE contact_phone = $1 \
         ORDER BY 6, 1, 2",
        args![phone],
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

/// Erases `phone` and the name that goes with it wherever a resident left them; a person's and
/// a unit's record keeps its name (the organisation's own data) and loses the number.
pub async fn erase_phone(e: &mut impl Exec, phone: &str) -> Result<Erased, StoreError> {
    let topics = e
        .execute(Sql::with(
            "UPDATE topics SET submitter_name = NULL, submitter_phone = NULL, contact_consent = FALSE WHERE submitter_phone = $1",
            args![phone],
        ))
        .await?;
    let objections = e
        .execute(Sql::with(
            "UPDATE objections SET submitter_name = NULL, submitter_phone = NULL WHERE submitter_phone = $1",
            args![phone],
        ))
        .await?;
    let wishes = e
        .execute(Sql::with(
            "UPDATE wishes SET household_name = $2, household_phone = NULL WHERE household_phone = $1",
            args![phone, ERASED_NAME],
        ))
        .await?;
    let questionnaire_responses = e
        .execute(Sql::with(
            "UPDATE questionnaire_responses SET phone = NULL WHERE phone = $1",
            args![phone],
        ))
        .await?;
    let people = e
        .execute(Sql::with(
            "UPDATE people SET phone = NULL WHERE phone = $1",
            args![phone],
        ))
        .await?;
    let units = e
        .execute(Sql::with(
            "UPDATE units SET contact_phone = NULL WHERE contact_phone = $1",
            args![phone],
        ))
        .await?;
    Ok(Erased {
        topics,
        objections,
        wishes,
        questionnaire_responses,
        people,
        units,
    })
}

/// Erases the contact data of what was finished before `cutoff`: closed matters (done,
/// rejected, merged), objections to finished cases, confirmed or withdrawn wishes, answers to
/// questionnaires closed since.
pub async fn erase_expired(e: &mut impl Exec, cutoff: DateTime<Utc>) -> Result<Erased, StoreError> {
    let topics = e
        .execute(Sql::with(
            "UPDATE topics SET submitter_name = NULL, submitter_phone = NULL, contact_consent = FALSE WHERE status IN ('done', 'rejected', 'merged') AND updated_at < $1 AND (submitter_name IS NOT NULL OR submitter_phone IS NOT NULL)",
            args![cutoff],
        ))
        .await?;
    let objections = e
        .execute(Sql::with(
            "UPDATE objections SET submitter_name = NULL, submitter_phone = NULL WHERE (submitter_name IS NOT NULL OR submitter_phone IS NOT NULL) AND case_id IN (SELECT id FROM cases WHERE finished_at IS NOT NULL AND finished_at < $1)",
            args![cutoff],
        ))
        .await?;
    let wishes = e
        .execute(Sql::with(
            "UPDATE wishes SET household_name = $2, household_phone = NULL WHERE status IN ('confirmed', 'cancelled') AND updated_at < $1 AND (household_phone IS NOT NULL OR household_name <> $2)",
            args![cutoff, ERASED_NAME],
        ))
        .await?;
    let questionnaire_responses = e
        .execute(Sql::with(
            "UPDATE questionnaire_responses SET phone = NULL WHERE phone IS NOT NULL AND questionnaire_id IN (SELECT id FROM questionnaires WHERE status = 'closed' AND updated_at < $1)",
            args![cutoff],
        ))
        .await?;
    Ok(Erased {
        topics,
        objections,
        wishes,
        questionnaire_responses,
        people: 0,
        units: 0,
    })
}
