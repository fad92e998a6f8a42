//! The project of a case after its meeting (R-PROC-5…7): plan tasks, budget and agreements;
//! public notice versions and objections; the ledger; leader remarks; the supervision
//! committee, inspections, bulletins, acceptance and satisfaction votes. Rules live in
//! `roundtable_core::project` and `roundtable_core::cases`.

use chrono::{DateTime, NaiveDate, Utc};

use crate::db::{Exec, FromRow, Reads, Row, Sql};
use crate::{StoreError, args};

/// Reads a struct whose fields are all plain columns of the same name.
macro_rules! row_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),+ }
        impl FromRow for $name {
            fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
                Ok($name { $($field: r.get(stringify!($field))?),+ })
            }
        }
    };
}

row_struct! {
    /// A task of the plan (攻坚任务计划书): the timetable and roadmap.
    Task {
        id: i64,
        case_id: i64,
        title: String,
        owner_person_id: Option<i64>,
        /// 责任人
        owner_name: String,
        /// 责任单位
        unit_name: String,
        starts_on: NaiveDate,
        due_on: NaiveDate,
        /// A milestone of the roadmap.
        milestone: bool,
    }
}

row_struct! {
    /// R-SUP-1: a funding source and its amount.
    BudgetLine {
        id: i64,
        case_id: i64,
        /// fiscal, unit, residents, donation, other
        source: String,
        amount_fen: i64,
        note: Option<String>,
    }
}

row_struct! {
    /// Agreement in principle of a unit, department, leader or stakeholder (R-PROC-5).
    Agreement {
        id: i64,
        case_id: i64,
        party: String,
        /// unit, department, leader, stakeholder
        party_kind: String,
        agreed_on: NaiveDate,
        note: Option<String>,
        created_at: DateTime<Utc>,
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Objection {
    pub id: i64,
    pub case_id: i64,
    pub notice_id: i64,
    pub content: String,
    pub submitter_name: Option<String>,
    /// Personal data: sealed at rest (`pii`), masked by the service unless the reader may see it.
    pub submitter_phone: Option<String>,
    pub received_at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

impl FromRow for Objection {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Objection {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            notice_id: r.get("notice_id")?,
            content: r.get("content")?,
            submitter_name: r.get("submitter_name")?,
            submitter_phone: crate::pii::open(
                "objections.submitter_phone",
                r.get("submitter_phone")?,
            )?,
            received_at: r.get("received_at")?,
            answer: r.get("answer")?,
            answered_at: r.get("answered_at")?,
        })
    }
}

row_struct! {
    /// R-PROC-6: an item of the ledger (工作台帐).
    LedgerItem {
        id: i64,
        case_id: i64,
        task_id: Option<i64>,
        title: String,
        owner_person_id: Option<i64>,
        owner_name: String,
        unit_name: String,
        due_on: NaiveDate,
        /// open, closed (ticked off, waiting for confirmation), confirmed
        status: String,
        evidence: Option<String>,
        closed_by: Option<i64>,
        closed_at: Option<DateTime<Utc>>,
        confirmed_by: Option<i64>,
        confirmed_at: Option<DateTime<Utc>>,
    }
}

row_struct! {
    /// 挂帅督办: a linked leader's remark.
    Remark {
        id: i64,
        case_id: i64,
        author_name: String,
        remark: String,
        created_at: DateTime<Utc>,
    }
}

row_struct! {
    CommitteeMember {
        id: i64,
        case_id: i64,
        person_id: Option<i64>,
        name: String,
        /// party_organisation, stakeholder, executor
        side: String,
    }
}

row_struct! {
    Inspection {
        id: i64,
        case_id: i64,
        inspected_on: NaiveDate,
        inspectors: String,
        progress: String,
        quality: String,
        deadline: String,
        created_at: DateTime<Utc>,
    }
}

row_struct! {
    Acceptance {
        id: i64,
        case_id: i64,
        accepted_on: NaiveDate,
        members: String,
        conclusion: String,
        created_at: DateTime<Utc>,
    }
}

/// A published notice: a frozen snapshot of the plan and its period (R-CAL-1).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Notice {
    pub id: i64,
    pub case_id: i64,
    pub version: i64,
    pub published_on: NaiveDate,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub working_days: i64,
    /// Some day lies in a year whose holiday notice is not known yet.
    pub provisional: bool,
    pub plan_revision: i64,
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Notice {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let content: String = r.get("content")?;
        Ok(Notice {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            version: r.get("version")?,
            published_on: r.get("published_on")?,
            starts_on: r.get("starts_on")?,
            ends_on: r.get("ends_on")?,
            working_days: r.get("working_days")?,
            provisional: r.get("provisional")?,
            plan_revision: r.get("plan_revision")?,
            content: serde_json::from_str(&content).unwrap_or(serde_json::Value::Null),
            created_at: r.get("created_at")?,
        })
    }
}

/// A progress bulletin (定期通报), frozen when published.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Bulletin {
    pub id: i64,
    pub case_id: i64,
    pub seq: i64,
    pub published_on: NaiveDate,
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl FromRow for Bulletin {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let content: String = r.get("content")?;
        Ok(Bulletin {
            id: r.get("id")?,
            case_id: r.get("case_id")?,
            seq: r.get("seq")?,
            published_on: r.get("published_on")?,
            content: serde_json::from_str(&content).unwrap_or(serde_json::Value::Null),
            created_at: r.get("created_at")?,
        })
    }
}

// The statements of the project's reads, shared by the single reads and `project`.
const TASKS: &str = "SELECT id, case_id, title, owner_person_id, owner_name, unit_name, starts_on, due_on, milestone FROM project_tasks WHERE case_id = $1 ORDER BY due_on, id";
const BUDGET: &str = "SELECT id, case_id, source, amount_fen, note FROM project_budget WHERE case_id = $1 ORDER BY id";
const AGREEMENTS: &str = "SELECT id, case_id, party, party_kind, agreed_on, note, created_at FROM project_agreements WHERE case_id = $1 ORDER BY id";
const NOTICES: &str = "SELECT id, case_id, version, published_on, starts_on, ends_on, working_days, provisional, plan_revision, content, created_at FROM notices WHERE case_id = $1 ORDER BY version DESC";
const OBJECTIONS: &str = "SELECT id, case_id, notice_id, content, submitter_name, submitter_phone, received_at, answer, answered_at FROM objections WHERE case_id = $1 ORDER BY id";
const REMARKS: &str = "SELECT id, case_id, author_name, remark, created_at FROM leader_remarks WHERE case_id = $1 ORDER BY id";
const MEMBERS: &str = "SELECT id, case_id, person_id, name, side FROM committee_members WHERE case_id = $1 ORDER BY id";
const INSPECTIONS: &str = "SELECT id, case_id, inspected_on, inspectors, progress, quality, deadline, created_at FROM inspections WHERE case_id = $1 ORDER BY inspected_on, id";
const BULLETINS: &str = "SELECT id, case_id, seq, published_on, content, created_at FROM bulletins WHERE case_id = $1 ORDER BY seq DESC";
const VOTES: &str = "SELECT choice, COUNT(*) AS votes FROM satisfaction_votes WHERE case_id = $1 GROUP BY choice ORDER BY choice";
const ACCEPTANCE: &str = "SELECT id, case_id, accepted_on, members, conclusion, created_at FROM acceptances WHERE case_id = $1";
pub(crate) const FACTS: &str = "SELECT c.plan_revision, c.bulletin_every_days, \
         (SELECT COUNT(*) FROM project_tasks WHERE case_id = c.id) AS tasks, \
         (SELECT COUNT(*) FROM project_agreements WHERE case_id = c.id) AS agreements, \
         (SELECT COUNT(*) FROM notices WHERE case_id = c.id) AS notices, \
         (SELECT n.ends_on FROM notices n WHERE n.case_id = c.id ORDER BY n.version DESC LIMIT 1) AS notice_ends_on, \
         (SELECT n.plan_revision FROM notices n WHERE n.case_id = c.id ORDER BY n.version DESC LIMIT 1) AS notice_revision, \
         (SELECT COUNT(*) FROM objections WHERE case_id = c.id AND answer IS NULL) AS objections_open, \
         (SELECT COUNT(*) FROM ledger_items WHERE case_id = c.id) AS ledger_items, \
         (SELECT COUNT(*) FROM ledger_items WHERE case_id = c.id AND status = 'confirmed') AS ledger_confirmed, \
         (SELECT COUNT(*) FROM leader_remarks WHERE case_id = c.id) AS remarks, \
         (SELECT COUNT(*) FROM committee_members WHERE case_id = c.id) AS committee, \
         (SELECT COUNT(*) FROM inspections WHERE case_id = c.id) AS inspections, \
         (SELECT COUNT(*) FROM bulletins WHERE case_id = c.id) AS bulletins, \
         (SELECT COUNT(*) FROM acceptances WHERE case_id = c.id) AS accepted, \
         (SELECT COUNT(*) FROM project_budget WHERE case_id = c.id) AS budget_lines, \
         (SELECT COUNT(*) FROM objections WHERE case_id = c.id) AS objections, \
         (SELECT COUNT(*) FROM satisfaction_votes WHERE case_id = c.id) AS votes \
         FROM cases c WHERE c.id = $1";

/// Everything steps 5–7 show of a case, read in one round trip (`Reads`).
pub struct Project {
    pub facts: ProjectFacts,
    pub tasks: Vec<Task>,
    pub budget: Vec<BudgetLine>,
    pub agreements: Vec<Agreement>,
    pub notices: Vec<Notice>,
    pub objections: Vec<Objection>,
    pub ledger: Vec<LedgerItem>,
    pub remarks: Vec<Remark>,
    pub committee: Vec<CommitteeMember>,
    pub inspections: Vec<Inspection>,
    pub bulletins: Vec<Bulletin>,
    pub acceptance: Option<Acceptance>,
    pub votes: Vec<VoteCount>,
}

pub async fn project(e: &mut impl Exec, case_id: i64) -> Result<Project, StoreError> {
    let mut r = Reads::new();
    let mut add = |sql: &str| r.add(Sql::with(sql, args![case_id]));
    let (facts, tasks, budget, agreements, notices, objections) = (
        add(FACTS),
        add(TASKS),
        add(BUDGET),
        add(AGREEMENTS),
        add(NOTICES),
        add(OBJECTIONS),
    );
    let (ledger, remarks, committee, inspections, bulletins, acceptance, votes) = (
        add(&ledger_sql()),
        add(REMARKS),
        add(MEMBERS),
        add(INSPECTIONS),
        add(BULLETINS),
        add(ACCEPTANCE),
        add(VOTES),
    );
    let mut rows = e.fetch_reads(r).await?;
    Ok(Project {
        facts: rows.one(facts)?,
        tasks: rows.all(tasks)?,
        budget: rows.all(budget)?,
        agreements: rows.all(agreements)?,
        notices: rows.all(notices)?,
        objections: rows.all(objections)?,
        ledger: rows.all(ledger)?,
        remarks: rows.all(remarks)?,
        committee: rows.all(committee)?,
        inspections: rows.all(inspections)?,
        bulletins: rows.all(bulletins)?,
        acceptance: rows.optional(acceptance)?,
        votes: rows.all(votes)?,
    })
}

async fn list<T: FromRow + Send>(
    e: &mut impl Exec,
    sql: &str,
    case_id: i64,
) -> Result<Vec<T>, StoreError> {
    e.fetch_all(Sql::with(sql, args![case_id])).await
}

// ---- the plan

pub async fn insert_task(e: &mut impl Exec, case_id: i64, t: &Task) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO project_tasks (case_id, title, owner_person_id, owner_name, unit_name, starts_on, due_on, milestone, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        args![case_id, t.title.as_str(), t.owner_person_id, t.owner_name.as_str(), t.unit_name.as_str(), t.starts_on, t.due_on, t.milestone, crate::now()],
    ))
    .await
}

pub async fn tasks(e: &mut impl Exec, case_id: i64) -> Result<Vec<Task>, StoreError> {
    list(e, TASKS, case_id).await
}

pub async fn insert_budget(
    e: &mut impl Exec,
    case_id: i64,
    source: &str,
    amount_fen: i64,
    note: Option<&str>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO project_budget (case_id, source, amount_fen, note, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        args![case_id, source, amount_fen, note, crate::now()],
    ))
    .await
}

pub async fn budget(e: &mut impl Exec, case_id: i64) -> Result<Vec<BudgetLine>, StoreError> {
    list(e, BUDGET, case_id).await
}

/// Removes a task or a budget line of the plan (`table` is one of the two).
pub async fn delete_plan_row(
    e: &mut impl Exec,
    table: PlanTable,
    case_id: i64,
    id: i64,
) -> Result<bool, StoreError> {
    let sql = match table {
        PlanTable::Task => "DELETE FROM project_tasks WHERE case_id = $1 AND id = $2",
        PlanTable::Budget => "DELETE FROM project_budget WHERE case_id = $1 AND id = $2",
    };
    Ok(e.execute(Sql::with(sql, args![case_id, id])).await? == 1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanTable {
    Task,
    Budget,
}

/// Every change of the plan counts (R-PROC-5: a change after publication restarts the notice).
pub async fn bump_plan_revision(e: &mut impl Exec, case_id: i64) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE cases SET plan_revision = plan_revision + 1, updated_at = $1 WHERE id = $2",
        args![crate::now(), case_id],
    ))
    .await?;
    Ok(())
}

pub async fn insert_agreement(
    e: &mut impl Exec,
    case_id: i64,
    party: &str,
    party_kind: &str,
    agreed_on: NaiveDate,
    note: Option<&str>,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO project_agreements (case_id, party, party_kind, agreed_on, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        args![case_id, party, party_kind, agreed_on, note, by, crate::now()],
    ))
    .await
}

pub async fn agreements(e: &mut impl Exec, case_id: i64) -> Result<Vec<Agreement>, StoreError> {
    list(e, AGREEMENTS, case_id).await
}

// ---- the notice

/// What a new notice version records.
pub struct NewNotice<'a> {
    pub published_on: NaiveDate,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub working_days: i64,
    pub provisional: bool,
    pub content: &'a serde_json::Value,
}

/// Publishes the next version, recording the plan revision it shows.
pub async fn insert_notice(
    e: &mut impl Exec,
    case_id: i64,
    n: &NewNotice<'_>,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO notices (case_id, version, published_on, starts_on, ends_on, working_days, provisional, plan_revision, content, published_by, created_at) VALUES ($1, (SELECT COALESCE(MAX(version), 0) + 1 FROM notices WHERE case_id = $1), $2, $3, $4, $5, $6, (SELECT plan_revision FROM cases WHERE id = $1), $7, $8, $9) RETURNING id",
        args![case_id, n.published_on, n.starts_on, n.ends_on, n.working_days, n.provisional, n.content.to_string(), by, crate::now()],
    ))
    .await
}

/// Every version, newest first.
pub async fn notices(e: &mut impl Exec, case_id: i64) -> Result<Vec<Notice>, StoreError> {
    list(e, NOTICES, case_id).await
}

pub async fn insert_objection(
    e: &mut impl Exec,
    case_id: i64,
    notice_id: i64,
    content: &str,
    name: Option<&str>,
    phone: Option<&str>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO objections (case_id, notice_id, content, submitter_name, submitter_phone, submitter_phone_idx, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        args![case_id, notice_id, content, name, crate::pii::seal("objections.submitter_phone", phone)?, crate::pii::index(phone)?, crate::now()],
    ))
    .await
}

/// Answers an objection once (an answer is not rewritten).
pub async fn answer_objection(
    e: &mut impl Exec,
    case_id: i64,
    id: i64,
    answer: &str,
    by: Option<i64>,
) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE objections SET answer = $1, answered_by = $2, answered_at = $3 WHERE case_id = $4 AND id = $5 AND answer IS NULL",
            args![answer, by, crate::now(), case_id, id],
        ))
        .await?;
    Ok(n == 1)
}

// ---- the ledger

/// R-PROC-6: the ledger generated from the plan's tasks (once; answers the items made).
pub async fn generate_ledger(e: &mut impl Exec, case_id: i64) -> Result<u64, StoreError> {
    e.execute(Sql::with(
        "INSERT INTO ledger_items (case_id, task_id, title, owner_person_id, owner_name, unit_name, due_on, status, created_at) SELECT t.case_id, t.id, t.title, t.owner_person_id, t.owner_name, t.unit_name, t.due_on, 'open', $2 FROM project_tasks t WHERE t.case_id = $1 AND NOT EXISTS (SELECT 1 FROM ledger_items l WHERE l.case_id = t.case_id AND l.task_id = t.id) ORDER BY t.due_on, t.id",
        args![case_id, crate::now()],
    ))
    .await
}

pub async fn ledger(e: &mut impl Exec, case_id: i64) -> Result<Vec<LedgerItem>, StoreError> {
    list(e, &ledger_sql(), case_id).await
}

fn ledger_sql() -> String {
    format!("{LEDGER_COLS} WHERE case_id = $1 ORDER BY due_on, id")
}

const LEDGER_COLS: &str = "SELECT id, case_id, task_id, title, owner_person_id, owner_name, unit_name, due_on, status, evidence, closed_by, closed_at, confirmed_by, confirmed_at FROM ledger_items";

pub async fn ledger_item(
    e: &mut impl Exec,
    case_id: i64,
    id: i64,
) -> Result<Option<LedgerItem>, StoreError> {
    e.fetch_optional(Sql::with(
        &format!("{LEDGER_COLS} WHERE case_id = $1 AND id = $2"),
        args![case_id, id],
    ))
    .await
}

pub async fn close_item(
    e: &mut impl Exec,
    id: i64,
    evidence: Option<&str>,
    by: Option<i64>,
) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE ledger_items SET status = 'closed', evidence = $1, closed_by = $2, closed_at = $3 WHERE id = $4 AND status = 'open'",
            args![evidence, by, crate::now(), id],
        ))
        .await?;
    Ok(n == 1)
}

pub async fn confirm_item(e: &mut impl Exec, id: i64, by: Option<i64>) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE ledger_items SET status = 'confirmed', confirmed_by = $1, confirmed_at = $2 WHERE id = $3 AND status = 'closed'",
            args![by, crate::now(), id],
        ))
        .await?;
    Ok(n == 1)
}

/// A closed item sent back (the confirmer found it not done): open again, evidence kept in
/// the audit log.
pub async fn reopen_item(e: &mut impl Exec, id: i64) -> Result<bool, StoreError> {
    let n = e
        .execute(Sql::with(
            "UPDATE ledger_items SET status = 'open', closed_by = NULL, closed_at = NULL WHERE id = $1 AND status = 'closed'",
            args![id],
        ))
        .await?;
    Ok(n == 1)
}

pub async fn insert_remark(
    e: &mut impl Exec,
    case_id: i64,
    by: Option<i64>,
    author: &str,
    remark: &str,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO leader_remarks (case_id, author_user_id, author_name, remark, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        args![case_id, by, author, remark, crate::now()],
    ))
    .await
}

// ---- supervision

pub async fn insert_member(
    e: &mut impl Exec,
    case_id: i64,
    person_id: Option<i64>,
    name: &str,
    side: &str,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO committee_members (case_id, person_id, name, side, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        args![case_id, person_id, name, side, crate::now()],
    ))
    .await
}

pub async fn members(e: &mut impl Exec, case_id: i64) -> Result<Vec<CommitteeMember>, StoreError> {
    list(e, MEMBERS, case_id).await
}

pub async fn insert_inspection(
    e: &mut impl Exec,
    case_id: i64,
    i: &Inspection,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO inspections (case_id, inspected_on, inspectors, progress, quality, deadline, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        args![case_id, i.inspected_on, i.inspectors.as_str(), i.progress.as_str(), i.quality.as_str(), i.deadline.as_str(), by, crate::now()],
    ))
    .await
}

pub async fn inspections(e: &mut impl Exec, case_id: i64) -> Result<Vec<Inspection>, StoreError> {
    list(e, INSPECTIONS, case_id).await
}

pub async fn insert_bulletin(
    e: &mut impl Exec,
    case_id: i64,
    published_on: NaiveDate,
    content: &serde_json::Value,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO bulletins (case_id, seq, published_on, content, created_by, created_at) VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM bulletins WHERE case_id = $1), $2, $3, $4, $5) RETURNING id",
        args![case_id, published_on, content.to_string(), by, crate::now()],
    ))
    .await
}

pub async fn set_bulletin_period(
    e: &mut impl Exec,
    case_id: i64,
    days: i64,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE cases SET bulletin_every_days = $1 WHERE id = $2",
        args![days, case_id],
    ))
    .await?;
    Ok(())
}

pub async fn insert_acceptance(
    e: &mut impl Exec,
    case_id: i64,
    accepted_on: NaiveDate,
    members: &str,
    conclusion: &str,
    by: Option<i64>,
) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "INSERT INTO acceptances (case_id, accepted_on, members, conclusion, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        args![case_id, accepted_on, members, conclusion, by, crate::now()],
    ))
    .await
}

pub async fn acceptance(e: &mut impl Exec, case_id: i64) -> Result<Option<Acceptance>, StoreError> {
    e.fetch_optional(Sql::with(ACCEPTANCE, args![case_id]))
        .await
}

/// One vote per device (SHA-256 of a long-lived cookie); a second answers `None`.
pub async fn vote(
    e: &mut impl Exec,
    case_id: i64,
    device_key: &str,
    choice: &str,
) -> Result<Option<i64>, StoreError> {
    e.fetch_optional(Sql::with(
        "INSERT INTO satisfaction_votes (case_id, device_key, choice, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (case_id, device_key) DO NOTHING RETURNING id",
        args![case_id, device_key, choice, crate::now()],
    ))
    .await
}

row_struct! {
    VoteCount {
        choice: String,
        votes: i64,
    }
}

row_struct! {
    /// What the checks of steps 5–7 need, in one statement.
    ProjectFacts {
        plan_revision: i64,
        bulletin_every_days: i64,
        tasks: i64,
        agreements: i64,
        notices: i64,
        notice_ends_on: Option<NaiveDate>,
        notice_revision: Option<i64>,
        objections_open: i64,
        ledger_items: i64,
        ledger_confirmed: i64,
        remarks: i64,
        committee: i64,
        inspections: i64,
        bulletins: i64,
        accepted: i64,
        budget_lines: i64,
        objections: i64,
        votes: i64,
    }
}

pub async fn facts(e: &mut impl Exec, case_id: i64) -> Result<ProjectFacts, StoreError> {
    e.fetch_one(Sql::with(FACTS, args![case_id])).await
}
