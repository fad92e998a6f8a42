//! The round-table meeting of a case (R-MEET-1…4, R-PROC-4): the plan, participants and
//! sign-in, minutes with versions and comments, the resolution and the filing number. The
//! rules live in `roundtable_core::meeting`; this module stores what the service decided.

use chrono::{DateTime, NaiveDate, Utc};

use crate::db::{Exec, FromRow, Reads, Row, Sql};
use crate::{StoreError, args};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Meeting {
    pub id: i64,
    pub case_id: i64,
    pub org_id: i64,
    pub held_on: NaiveDate,
    /// HH:MM
    pub start_time: String,
    pub place: String,
    pub chair_person_id: Option<i64>,
    pub chair_name: String,
    /// Warnings accepted when the meeting was opened: `[{rule, message}]`.
    #[schema(value_type = Vec<Object>)]
    pub warnings: serde_json::Value,
    pub override_reason: Option<String>,
    /// planned (participants being chosen) or held (opened: sign-in, minutes, resolution)
    pub status: String,
    pub resolution: Option<String>,
    pub votes_for: Option<i64>,
    pub votes_against: Option<i64>,
    pub votes_abstain: Option<i64>,
    /// 备案登记号
    pub filing_number: Option<String>,
    pub filed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow for Meeting {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let warnings: String = r.get("warnings")?;
        Ok(Meeting {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            org_id: r.get("org_id")?,
            held_on: r.get("held_on")?,
            start_time: r.get("start_time")?,
            place: r.get("place")?,
            chair_person_id: r.get("chair_person_id")?,
            chair_name: r.get("chair_name")?,
            status: r.get("status")?,
            warnings: serde_json::from_str(&warnings).unwrap_or(serde_json::Value::Null),
            override_reason: r.get("override_reason")?,
            resolution: r.get("resolution")?,
            votes_for: r.get("votes_for")?,
            votes_against: r.get("votes_against")?,
            votes_abstain: r.get("votes_abstain")?,
            filing_number: r.get("filing_number")?,
            filed_at: r.get("filed_at")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
        })
    }
}

const COLS: &str = "SELECT id, case_id, org_id, held_on, start_time, place, chair_person_id, chair_name, warnings, override_reason, status, resolution, votes_for, votes_against, votes_abstain, filing_number, filed_at, created_at, updated_at FROM meetings";

/// The plan of a meeting (checked by the service).
#[derive(Debug, Clone)]
pub struct PlanFields {
    pub held_on: NaiveDate,
    pub start_time: String,
    pub place: String,
    pub chair_person_id: Option<i64>,
    pub chair_name: String,
}

/// A case's meeting with what its page shows, in one round trip (`Reads`).
pub struct MeetingReads {
    pub meeting: Option<Meeting>,
    pub participants: Vec<Participant>,
    pub minutes: Vec<Minutes>,
    pub comments: Vec<Comment>,
    /// The chair is a person of kind `secretary_kind` (R-MEET-4).
    pub chair_is_secretary: bool,
}

pub async fn meeting_reads(
    e: &mut impl Exec,
    case_id: i64,
    secretary_kind: &str,
) -> Result<MeetingReads, StoreError> {
    const OF_CASE: &str = "(SELECT id FROM meetings WHERE case_id = $1)";
    let mut r = Reads::new();
    let meeting = r.add(by_case_sql(case_id));
    let participants = r.add(Sql::with(
        &format!("{PARTICIPANTS} WHERE meeting_id = {OF_CASE} ORDER BY fixed DESC, id"),
        args![case_id],
    ));
    let minutes = r.add(Sql::with(
        &format!("{MINUTES_COLS} WHERE meeting_id = {OF_CASE} ORDER BY version DESC"),
        args![case_id],
    ));
    let comments = r.add(Sql::with(
        &format!("{COMMENTS} WHERE m.meeting_id = {OF_CASE} ORDER BY c.id"),
        args![case_id],
    ));
    let secretary = r.add(Sql::with(
        "SELECT COUNT(*) FROM meetings m JOIN person_kinds pk ON pk.person_id = m.chair_person_id WHERE m.case_id = $1 AND pk.kind = $2",
        args![case_id, secretary_kind],
    ));
    let mut rows = e.fetch_reads(r).await?;
    Ok(MeetingReads {
        meeting: rows.optional(meeting)?,
        participants: rows.all(participants)?,
        minutes: rows.all(minutes)?,
        comments: rows.all(comments)?,
        chair_is_secretary: rows.one::<i64>(secretary)? > 0,
    })
}

fn by_case_sql(case_id: i64) -> Sql {
    Sql::with(&format!("{COLS} WHERE case_id = $1"), args![case_id])
}

pub async fn by_case(e: &mut impl Exec, case_id: i64) -> Result<Option<Meeting>, StoreError> {
    e.fetch_optional(by_case_sql(case_id)).await
}

/// A new meeting, planned.
pub async fn insert(
    e: &mut impl Exec,
    case_id: i64,
    org_id: i64,
    p: &PlanFields,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO meetings (case_id, org_id, held_on, start_time, place, chair_person_id, chair_name, warnings, status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, '[]', 'planned', $8, $9, $9) RETURNING id",
        args![case_id, org_id, p.held_on, p.start_time.as_str(), p.place.as_str(), p.chair_person_id, p.chair_name.as_str(), by, crate::now()],
    ))
    .await
}

pub async fn update_plan(e: &mut impl Exec, id: i64, p: &PlanFields) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE meetings SET held_on = $1, start_time = $2, place = $3, chair_person_id = $4, chair_name = $5, updated_at = $6 WHERE id = $7",
        args![p.held_on, p.start_time.as_str(), p.place.as_str(), p.chair_person_id, p.chair_name.as_str(), crate::now(), id],
    ))
    .await?;
    Ok(())
}

/// Opens the meeting with the warnings accepted (and the reason given for them).
pub async fn open(
    e: &mut impl Exec,
    id: i64,
    warnings: &serde_json::Value,
    override_reason: Option<&str>,
) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE meetings SET warnings = $1, override_reason = $2, status = 'held', updated_at = $3 WHERE id = $4 AND status = 'planned'",
            args![warnings.to_string(), override_reason, crate::now(), id],
        ))
        .await?;
    Ok(n == 1)
}

pub async fn set_resolution(
    e: &mut impl Exec,
    id: i64,
    text: &str,
    votes: Option<(i64, i64, i64)>,
) -> Result<(), StoreError> {
    let (f, a, ab) = match votes {
        Some((f, a, ab)) => (Some(f), Some(a), Some(ab)),
        None => (None, None, None),
    };
    e.execute(Sql::with(
        "UPDATE meetings SET resolution = $1, votes_for = $2, votes_against = $3, votes_abstain = $4, updated_at = $5 WHERE id = $6",
        args![text, f, a, ab, crate::now(), id],
    ))
    .await?;
    Ok(())
}

/// The next number of the community's year (the unique index keeps two from taking one).
pub async fn next_filing_seq(e: &mut impl Exec, org_id: i64, year: i64) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "SELECT COALESCE(MAX(filing_seq), 0) + 1 FROM meetings WHERE org_id = $1 AND filing_year = $2",
        args![org_id, year],
    ))
    .await
}

pub async fn file(
    e: &mut impl Exec,
    id: i64,
    year: i64,
    seq: i64,
    number: &str,
) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE meetings SET filing_year = $1, filing_seq = $2, filing_number = $3, filed_at = $4, updated_at = $4 WHERE id = $5 AND filing_number IS NULL",
            args![year, seq, number, crate::now(), id],
        ))
        .await?;
    Ok(n == 1)
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Participant {
    pub id: i64,
    pub meeting_id: i64,
    pub person_id: Option<i64>,
    pub name: String,
    /// R-MEET-2 kind: district_leader, street_leader, community_cadre, department, deputy,
    /// co_building_unit, local_unit, property, resident_representative, council_member, other
    pub kind: String,
    /// A fixed member (固定人员), filled in from the organisation links.
    pub fixed: bool,
    pub unit_name: Option<String>,
    pub signed_in_at: Option<DateTime<Utc>>,
}

impl FromRow for Participant {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Participant {
            id: r.get("id")?,
            meeting_id: r.get("meeting_id")?,
            person_id: r.get("person_id")?,
            name: r.get("name")?,
            kind: r.get("kind")?,
            fixed: r.get("fixed")?,
            unit_name: r.get("unit_name")?,
            signed_in_at: r.get("signed_in_at")?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct ParticipantFields {
    pub person_id: Option<i64>,
    pub name: String,
    pub kind: String,
    pub fixed: bool,
    pub unit_name: Option<String>,
}

/// Adds a participant; a person already at the table is not added twice (answers `None`).
pub async fn add_participant(
    e: &mut impl Exec,
    meeting_id: i64,
    p: &ParticipantFields,
) -> Result<Option<i64>, StoreError> {
    e.fetch_optional(Sql::with(
        "INSERT INTO meeting_participants (meeting_id, person_id, name, kind, fixed, unit_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (meeting_id, person_id) DO NOTHING RETURNING id",
        args![meeting_id, p.person_id, p.name.as_str(), p.kind.as_str(), p.fixed, p.unit_name.as_deref(), crate::now()],
    ))
    .await
}

pub async fn remove_participant(
    e: &mut impl Exec,
    meeting_id: i64,
    id: i64,
) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "DELETE FROM meeting_participants WHERE meeting_id = $1 AND id = $2 AND signed_in_at IS NULL",
            args![meeting_id, id],
        ))
        .await?;
    Ok(n == 1)
}

const PARTICIPANTS: &str = "SELECT id, meeting_id, person_id, name, kind, fixed, unit_name, signed_in_at FROM meeting_participants";

pub async fn participants(
    e: &mut impl Exec,
    meeting_id: i64,
) -> Result<Vec<Participant>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{PARTICIPANTS} WHERE meeting_id = $1 ORDER BY fixed DESC, id"),
        args![meeting_id],
    ))
    .await
}

/// 签到: once per participant.
pub async fn sign_in(e: &mut impl Exec, meeting_id: i64, id: i64) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE meeting_participants SET signed_in_at = $1 WHERE meeting_id = $2 AND id = $3 AND signed_in_at IS NULL",
            args![crate::now(), meeting_id, id],
        ))
        .await?;
    Ok(n == 1)
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Minutes {
    pub id: i64,
    pub meeting_id: i64,
    pub version: i64,
    /// draft, review, confirmed, superseded
    pub status: String,
    /// The text per agenda item (R-MEET-3): `{"introduction": "…", …}`.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    pub supersedes_id: Option<i64>,
    pub correction_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl FromRow for Minutes {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let body: String = r.get("body")?;
        Ok(Minutes {
            id: r.get("id")?,
            meeting_id: r.get("meeting_id")?,
            version: r.get("version")?,
            status: r.get("status")?,
            body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
            supersedes_id: r.get("supersedes_id")?,
            correction_reason: r.get("correction_reason")?,
            created_at: r.get("created_at")?,
            updated_at: r.get("updated_at")?,
            confirmed_at: r.get("confirmed_at")?,
        })
    }
}

const MINUTES_COLS: &str = "SELECT id, meeting_id, version, status, body, supersedes_id, correction_reason, created_at, updated_at, confirmed_at FROM meeting_minutes";

/// Every version, newest first.
pub async fn minutes(e: &mut impl Exec, meeting_id: i64) -> Result<Vec<Minutes>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{MINUTES_COLS} WHERE meeting_id = $1 ORDER BY version DESC"),
        args![meeting_id],
    ))
    .await
}

pub async fn insert_minutes(
    e: &mut impl Exec,
    meeting_id: i64,
    body: &serde_json::Value,
    supersedes: Option<(i64, &str)>,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    let now = crate::now();
    e.fetch_one(Sql::with(
        "INSERT INTO meeting_minutes (meeting_id, version, status, body, supersedes_id, correction_reason, created_by, created_at, updated_at) VALUES ($1, (SELECT COALESCE(MAX(version), 0) + 1 FROM meeting_minutes WHERE meeting_id = $1), 'draft', $2, $3, $4, $5, $6, $6) RETURNING id",
        args![meeting_id, body.to_string(), supersedes.map(|s| s.0), supersedes.map(|s| s.1), by, now],
    ))
    .await
}

/// Rewrites a draft (only a draft: the condition is in the statement).
pub async fn update_minutes(
    e: &mut impl Exec,
    id: i64,
    body: &serde_json::Value,
) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE meeting_minutes SET body = $1, updated_at = $2 WHERE id = $3 AND status = 'draft'",
            args![body.to_string(), crate::now(), id],
        ))
        .await?;
    Ok(n == 1)
}

pub async fn set_minutes_status(
    e: &mut impl Exec,
    id: i64,
    from: &str,
    to: &str,
    by: Option<i64>,
) -> Result<bool, StoreError> {
    let now = crate::now();
    let confirmed = (to == "confirmed").then_some(now);
    let n = e
        .execute(Sql::with(
            "UPDATE meeting_minutes SET status = $1, updated_at = $2, confirmed_at = COALESCE($3, confirmed_at), confirmed_by = COALESCE($4, confirmed_by) WHERE id = $5 AND status = $6",
            args![to, now, confirmed, confirmed.and(by), id, from],
        ))
        .await?;
    Ok(n == 1)
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Comment {
    pub id: i64,
    pub minutes_id: i64,
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Comment {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Comment {
            id: r.get("id")?,
            minutes_id: r.get("minutes_id")?,
            author_name: r.get("author_name")?,
            body: r.get("body")?,
            created_at: r.get("created_at")?,
        })
    }
}

pub async fn add_comment(
    e: &mut impl Exec,
    minutes_id: i64,
    by: Option<i64>,
    author_name: &str,
    body: &str,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO minutes_comments (minutes_id, author_user_id, author_name, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        args![minutes_id, by, author_name, body, crate::now()],
    ))
    .await
}

/// The comments on every version of a meeting's minutes (`meeting_reads`).
const COMMENTS: &str = "SELECT c.id, c.minutes_id, c.author_name, c.body, c.created_at FROM minutes_comments c JOIN meeting_minutes m ON m.id = c.minutes_id";

/// What the step check of 协商议事 needs (R-MEET-3, R-PROC-4), in one statement.
#[derive(Debug, Clone, Default)]
pub struct MeetingFacts {
    pub signed_in: i64,
    pub minutes_confirmed: i64,
    pub resolution: bool,
    pub filed: bool,
}

impl FromRow for MeetingFacts {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(MeetingFacts {
            signed_in: r.get("signed_in")?,
            minutes_confirmed: r.get("minutes_confirmed")?,
            resolution: r.get::<i64>("resolution")? > 0,
            filed: r.get::<i64>("filed")? > 0,
        })
    }
}

pub(crate) const FACTS: &str = "SELECT (SELECT COUNT(*) FROM meeting_participants p WHERE p.meeting_id = m.id AND p.signed_in_at IS NOT NULL) AS signed_in, (SELECT COUNT(*) FROM meeting_minutes x WHERE x.meeting_id = m.id AND x.status = 'confirmed') AS minutes_confirmed, CAST(CASE WHEN m.resolution IS NULL THEN 0 ELSE 1 END AS BIGINT) AS resolution, CAST(CASE WHEN m.filing_number IS NULL THEN 0 ELSE 1 END AS BIGINT) AS filed FROM meetings m WHERE m.case_id = $1";

pub async fn facts(e: &mut impl Exec, case_id: i64) -> Result<MeetingFacts, StoreError> {
    Ok(e.fetch_optional(Sql::with(FACTS, args![case_id]))
        .await?
        .unwrap_or_default())
}
