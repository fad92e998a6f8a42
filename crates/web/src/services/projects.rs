//! Steps 5–7 of a case (issue 4 item 2; R-PROC-5…7, R-SUP-1, R-CAL-1): the project plan and
//! agreements, the public notice with its working-day period and objections (also from
//! residents on the public page), the ledger ticked off with evidence and confirmed by someone
//! else, leader supervision, the supervision committee, inspections, bulletins generated from
//! the ledger, acceptance and the residents' satisfaction vote.

use chrono::NaiveDate;
use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind};
use roundtable_core::cases::{EvidenceOf, Step};
use roundtable_core::org::path_ids;
use roundtable_core::project::{
    CommitteeSide, FundingSource, LedgerStatus, PartyKind, Satisfaction, check_close,
    check_confirm, check_task_dates, format_fen, parse_yuan,
};
use roundtable_core::validate::{optional_date, optional_phone, optional_text, required_text};
use roundtable_store::cases::{self as case_store, Case};
use roundtable_store::projects::{
    self as store, Acceptance, Agreement, BudgetLine, Bulletin, CommitteeMember, Inspection,
    LedgerItem, NewNotice, Notice, Objection, PlanTable, ProjectFacts, Remark, Task, VoteCount,
};
use roundtable_store::{Db, Exec, Tx, audit, people};

use super::{actor_id, require};
use crate::error::AppError;
use crate::services::calendar::CalendarCache;

fn required_date(errors: &mut FieldErrors, field: &str, label: &str, v: &str) -> Option<NaiveDate> {
    if v.trim().is_empty() {
        errors.add(field, format!("请填写{label}"));
        return None;
    }
    optional_date(errors, field, label, Some(v))
}

fn not_future(errors: &mut FieldErrors, field: &str, d: Option<NaiveDate>) {
    if d.is_some_and(|d| d > crate::render::today()) {
        errors.add(field, "日期不能晚于今天");
    }
}

/// A person of the same district as the case (R-MEET-2 and R-PROC-5: responsible people and
/// members come from the organisation).
async fn person_inside(
    e: &mut impl Exec,
    c: &Case,
    field: &'static str,
    person_id: i64,
) -> Result<people::Person, AppError> {
    let p = people::get(e, person_id)
        .await?
        .ok_or_else(|| AppError::field(field, "人员不存在"))?;
    if path_ids(&p.org_path).first() != path_ids(&c.org_path).first() {
        return Err(AppError::broken(
            "R-PROC-5",
            field,
            format!("{}不属于本区的组织", p.name),
        ));
    }
    Ok(p)
}

// ---- step 5: the plan

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TaskInput {
    pub title: String,
    /// 责任人: a person of the organisation (or `owner_name`).
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub owner_person_id: Option<i64>,
    pub owner_name: Option<String>,
    /// 责任单位
    pub unit_name: String,
    /// YYYY-MM-DD
    pub starts_on: String,
    /// YYYY-MM-DD, not before `starts_on`
    pub due_on: String,
    /// A milestone of the roadmap ("1", "on", "true")
    pub milestone: Option<String>,
}

/// A change of the plan: counted, so that a notice published before it is out of date.
async fn plan_changed(tx: &mut Tx, case_id: i64) -> Result<(), AppError> {
    store::bump_plan_revision(tx, case_id).await?;
    Ok(())
}

pub async fn add_task(db: &Db, actor: &Actor, case_id: i64, t: &TaskInput) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let title = required_text(&mut errors, "title", "任务", &t.title, 200);
    let unit_name = required_text(&mut errors, "unit_name", "责任单位", &t.unit_name, 100);
    let owner_name = optional_text(
        &mut errors,
        "owner_name",
        "责任人",
        t.owner_name.as_deref(),
        30,
    );
    let starts = required_date(&mut errors, "starts_on", "开始日期", &t.starts_on);
    let due = required_date(&mut errors, "due_on", "完成时限", &t.due_on);
    if t.owner_person_id.is_none() && owner_name.is_none() {
        errors.add("owner_person_id", "请选择或填写责任人");
    }
    errors.into_result().map_err(AppError::Validation)?;
    let (Some(starts), Some(due)) = (starts, due) else {
        return Err(AppError::field("due_on", "请填写日期"));
    };
    check_task_dates(starts, due).map_err(AppError::rule)?;
    let mut tx = db.begin().await?;
    let c =
        super::cases::case_at(&mut tx, actor, case_id, ResourceKind::Case, Step::Notice).await?;
    let owner = match t.owner_person_id {
        Some(pid) => Some(person_inside(&mut tx, &c, "owner_person_id", pid).await?),
        None => None,
    };
    let task = Task {
        id: 0,
        case_id,
        title,
        owner_person_id: owner.as_ref().map(|p| p.id),
        owner_name: owner.map(|p| p.name).or(owner_name).unwrap_or_default(),
        unit_name,
        starts_on: starts,
        due_on: due,
        milestone: matches!(
            t.milestone.as_deref().map(str::trim),
            Some("1" | "on" | "true")
        ),
    };
    let id = store::insert_task(&mut tx, case_id, &task).await?;
    plan_changed(&mut tx, case_id).await?;
    super::audit_event(
        &mut tx,
        actor,
        "plan.task_add",
        "case",
        case_id,
        serde_json::json!({"task_id": id, "task": task}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct BudgetInput {
    /// R-SUP-1: fiscal, unit, residents, donation, other (or 财政资金…)
    pub source: String,
    /// Yuan, e.g. "12000" or "3500.50" (whole fen; never negative)
    pub amount: String,
    pub note: Option<String>,
}

pub async fn add_budget(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    b: &BudgetInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let source = FundingSource::parse(&b.source);
    if source.is_none() {
        errors.add("source", "请选择资金来源");
    }
    let note = optional_text(&mut errors, "note", "说明", b.note.as_deref(), 200);
    errors.into_result().map_err(AppError::Validation)?;
    let fen = parse_yuan(&b.amount).map_err(AppError::rule)?;
    let mut tx = db.begin().await?;
    super::cases::case_at(&mut tx, actor, case_id, ResourceKind::Case, Step::Notice).await?;
    let source = source.unwrap_or(FundingSource::Other);
    let id = store::insert_budget(&mut tx, case_id, source.code(), fen, note.as_deref()).await?;
    plan_changed(&mut tx, case_id).await?;
    super::audit_event(
        &mut tx,
        actor,
        "plan.budget_add",
        "case",
        case_id,
        serde_json::json!({"budget_id": id, "source": source.code(), "amount_fen": fen}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a task or a budget line while the notice step runs.
pub async fn remove_plan_row(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    table: PlanTable,
    id: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    super::cases::case_at(&mut tx, actor, case_id, ResourceKind::Case, Step::Notice).await?;
    if table == PlanTable::Budget && super::resources::budget_from_match(&mut tx, id).await? {
        return Err(AppError::broken(
            "R-ORG-4",
            "id",
            "该笔资金来自资源对接，请在“资源对接”中取消该对接",
        ));
    }
    if !store::delete_plan_row(&mut tx, table, case_id, id).await? {
        return Err(AppError::NotFound);
    }
    plan_changed(&mut tx, case_id).await?;
    super::audit_event(
        &mut tx,
        actor,
        "plan.remove",
        "case",
        case_id,
        serde_json::json!({"table": format!("{table:?}"), "id": id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AgreementInput {
    /// Who agreed: a unit, department, leader or stakeholder
    pub party: String,
    /// unit, department, leader, stakeholder
    pub party_kind: String,
    /// YYYY-MM-DD, not in the future
    pub agreed_on: String,
    pub note: Option<String>,
}

pub async fn add_agreement(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    a: &AgreementInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let party = required_text(&mut errors, "party", "同意方", &a.party, 100);
    let kind = PartyKind::parse(&a.party_kind);
    if kind.is_none() {
        errors.add("party_kind", "请选择同意方类别");
    }
    let on = required_date(&mut errors, "agreed_on", "同意日期", &a.agreed_on);
    not_future(&mut errors, "agreed_on", on);
    let note = optional_text(&mut errors, "note", "意见", a.note.as_deref(), 500);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    super::cases::case_at(&mut tx, actor, case_id, ResourceKind::Case, Step::Notice).await?;
    let kind = kind.unwrap_or(PartyKind::Stakeholder);
    let id = store::insert_agreement(
        &mut tx,
        case_id,
        &party,
        kind.code(),
        on.unwrap_or_else(crate::render::today),
        note.as_deref(),
        actor_id(actor),
    )
    .await?;
    super::audit_event(
        &mut tx,
        actor,
        "plan.agreement_add",
        "case",
        case_id,
        serde_json::json!({"agreement_id": id, "party": party, "kind": kind.code()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What the notice shows: a snapshot of the plan when it was published.
async fn notice_content(e: &mut impl Exec, c: &Case) -> Result<serde_json::Value, AppError> {
    let meeting = roundtable_store::meetings::by_case(e, c.id).await?;
    let tasks = store::tasks(e, c.id).await?;
    let budget = store::budget(e, c.id).await?;
    let total: i64 = budget.iter().map(|b| b.amount_fen).sum();
    let agreements = store::agreements(e, c.id).await?;
    let tasks: Vec<serde_json::Value> = tasks
        .iter()
        .map(|t| {
            serde_json::json!({
                "title": t.title, "owner": t.owner_name, "unit": t.unit_name,
                "starts_on": t.starts_on, "due_on": t.due_on, "milestone": t.milestone,
            })
        })
        .collect();
    let budget: Vec<serde_json::Value> = budget
        .iter()
        .map(|b| {
            let label =
                FundingSource::parse(&b.source).map_or(b.source.clone(), |f| f.label().to_string());
            serde_json::json!({
                "source": b.source, "source_label": label,
                "amount_fen": b.amount_fen, "amount": format_fen(b.amount_fen), "note": b.note,
            })
        })
        .collect();
    let agreements: Vec<serde_json::Value> = agreements
        .iter()
        .map(|a| serde_json::json!({"party": a.party, "kind": a.party_kind, "agreed_on": a.agreed_on}))
        .collect();
    Ok(serde_json::json!({
        "title": c.title,
        "community": c.org_name,
        "level": c.level,
        "resolution": meeting.as_ref().and_then(|m| m.resolution.clone()),
        "filing_number": meeting.as_ref().and_then(|m| m.filing_number.clone()),
        "meeting_on": meeting.as_ref().map(|m| m.held_on),
        "tasks": tasks,
        "budget": budget,
        "budget_total": format_fen(total),
        "agreements": agreements,
    }))
}

/// R-PROC-5, R-CAL-1: publishes the plan (a new version when the plan changed since the last
/// one); the period runs from the next working day to the end of the N-th.
pub async fn publish_notice(
    cache: &CalendarCache,
    working_days: u32,
    db: &Db,
    actor: &Actor,
    case_id: i64,
) -> Result<Notice, AppError> {
    let cal = cache.get(db).await?;
    let mut tx = db.begin().await?;
    let c =
        super::cases::case_at(&mut tx, actor, case_id, ResourceKind::Case, Step::Notice).await?;
    let f = store::facts(&mut tx, case_id).await?;
    if f.tasks == 0 || f.agreements == 0 {
        return Err(AppError::broken(
            "R-PROC-5",
            "notice",
            "公示前须有攻坚任务计划书的任务和相关方的原则同意",
        ));
    }
    if f.notice_revision == Some(f.plan_revision) {
        return Err(AppError::broken(
            "R-PROC-5",
            "notice",
            "公示已发布且计划书未修改；已发布的公示不能原样修改，计划书有实质修改后才能发布新版本",
        ));
    }
    let today = crate::render::today();
    let period = cal.notice_period(today, working_days);
    let content = notice_content(&mut tx, &c).await?;
    let id = store::insert_notice(
        &mut tx,
        case_id,
        &NewNotice {
            published_on: today,
            starts_on: period.starts,
            ends_on: period.ends,
            working_days: working_days.max(roundtable_core::calendar::MIN_NOTICE_WORKING_DAYS)
                as i64,
            provisional: period.provisional,
            content: &content,
        },
        actor_id(actor),
    )
    .await?;
    let notice = store::notices(&mut tx, case_id)
        .await?
        .into_iter()
        .find(|n| n.id == id)
        .ok_or(AppError::NotFound)?;
    // What was published, fingerprinted: the public page and the printed copy show it.
    let text = serde_json::json!({
        "kind": "notice", "case": c.public_code, "title": c.title, "community": c.org_name,
        "version": notice.version, "published_on": notice.published_on,
        "starts_on": notice.starts_on, "ends_on": notice.ends_on, "content": notice.content,
    })
    .to_string();
    let fp = roundtable_store::fingerprints::insert(&mut tx, "notice", case_id, id, &text).await?;
    super::audit_event(
        &mut tx,
        actor,
        "notice.publish",
        "notice",
        id,
        serde_json::json!({"notice": notice, "fingerprint": fp.digest}),
    )
    .await?;
    tx.commit().await?;
    Ok(notice)
}

/// An objection or comment on a running notice: from a resident on the public page, or taken
/// by staff (a phone call).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ObjectionInput {
    pub content: String,
    pub name: Option<String>,
    /// Optional mobile number, for the answer; personal data, shown masked.
    pub phone: Option<String>,
    /// Left empty by people (a field bots fill in).
    pub website: Option<String>,
}

/// The latest notice, when it is running on `today` (objections are received only then).
fn running(notices: &[Notice], today: NaiveDate) -> Option<&Notice> {
    notices
        .first()
        .filter(|n| n.published_on <= today && today <= n.ends_on)
}

async fn add_objection_in(tx: &mut Tx, c: &Case, o: &ObjectionInput) -> Result<i64, AppError> {
    let mut errors = FieldErrors::new();
    let content = required_text(&mut errors, "content", "意见内容", &o.content, 1000);
    let name = optional_text(&mut errors, "name", "称呼", o.name.as_deref(), 30);
    let phone = optional_phone(&mut errors, "phone", o.phone.as_deref());
    errors.into_result().map_err(AppError::Validation)?;
    let notices = store::notices(tx, c.id).await?;
    let Some(n) = running(&notices, crate::render::today()) else {
        return Err(AppError::broken(
            "R-PROC-5",
            "content",
            "该项目当前不在公示期内，不能提出异议",
        ));
    };
    Ok(
        store::insert_objection(tx, c.id, n.id, &content, name.as_deref(), phone.as_deref())
            .await?,
    )
}

pub async fn add_objection(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    o: &ObjectionInput,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let c =
        super::cases::case_at(&mut tx, actor, case_id, ResourceKind::Case, Step::Notice).await?;
    let id = add_objection_in(&mut tx, &c, o).await?;
    super::audit_event(
        &mut tx,
        actor,
        "objection.create",
        "objection",
        id,
        serde_json::json!({"case_id": case_id, "content": o.content}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The honeypot of the public forms was filled in: a bot, answered as if accepted while nothing
/// is stored.
fn is_bot(website: &Option<String>) -> bool {
    website.as_deref().is_some_and(|w| !w.trim().is_empty())
}

/// A resident's objection on the public page (no account; the caller rate-limits).
pub async fn add_public_objection(db: &Db, code: &str, o: &ObjectionInput) -> Result<(), AppError> {
    if is_bot(&o.website) {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let c = public_case(&mut tx, code).await?;
    let id = add_objection_in(&mut tx, &c, o).await?;
    audit::record(
        &mut tx,
        None,
        "objection.create",
        "objection",
        Some(id),
        None,
        Some(&serde_json::json!({"case_id": c.id, "public": true})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a resident says on the case's public page while opinions are sought (R-PROC-2).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PublicOpinionInput {
    pub content: String,
    /// How the resident signs (optional; shown to staff only).
    pub name: Option<String>,
    /// Left empty by people (a field bots fill in).
    pub website: Option<String>,
}

/// R-PROC-2 "collect opinions widely": a resident's opinion from the public page while the case
/// is at 征求意见, kept with the case's opinions as 网上征求 (no account; the caller
/// rate-limits).
pub async fn add_public_opinion(
    db: &Db,
    code: &str,
    o: &PublicOpinionInput,
) -> Result<(), AppError> {
    if is_bot(&o.website) {
        return Ok(());
    }
    let mut errors = FieldErrors::new();
    let content = required_text(&mut errors, "content", "意见内容", &o.content, 1000);
    let name = optional_text(&mut errors, "name", "称呼", o.name.as_deref(), 30);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let c = public_case(&mut tx, code).await?;
    if Step::parse(&c.step) != Some(Step::Opinions) {
        return Err(AppError::broken(
            "R-PROC-2",
            "content",
            "该议题当前不在征求意见阶段",
        ));
    }
    let fields = case_store::OpinionFields {
        source: "online".into(),
        visit_id: None,
        questionnaire_id: None,
        author: name,
        content,
    };
    let id = case_store::insert_opinion(&mut tx, c.id, &fields, None).await?;
    audit::record(
        &mut tx,
        None,
        "opinion.create",
        "case_opinion",
        Some(id),
        None,
        Some(&serde_json::json!({"case_id": c.id, "public": true})),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AnswerInput {
    pub answer: String,
}

/// Every objection gets an answer before implementation starts (R-PROC-5); an answer is final.
pub async fn answer_objection(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    objection_id: i64,
    a: &AnswerInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let answer = required_text(&mut errors, "answer", "答复", &a.answer, 1000);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    super::cases::case_at(&mut tx, actor, case_id, ResourceKind::Case, Step::Notice).await?;
    if !store::answer_objection(&mut tx, case_id, objection_id, &answer, actor_id(actor)).await? {
        return Err(AppError::broken(
            "R-PROC-5",
            "answer",
            "该异议已答复或不存在",
        ));
    }
    super::audit_event(
        &mut tx,
        actor,
        "objection.answer",
        "objection",
        objection_id,
        serde_json::json!({"answer": answer}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- step 6: the ledger

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct LedgerAction {
    /// close (销号, with evidence), confirm (by someone else), reopen (sent back, with a reason)
    pub action: String,
    /// What was done: the evidence of a close, the reason of a reopen
    pub evidence: Option<String>,
}

pub async fn ledger_action(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    item_id: i64,
    a: &LedgerAction,
    photos: &super::evidence::Evidence,
) -> Result<LedgerItem, AppError> {
    let mut errors = FieldErrors::new();
    let evidence = optional_text(
        &mut errors,
        "evidence",
        "完成情况",
        a.evidence.as_deref(),
        2000,
    );
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let c = case_store::get(&mut tx, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let item = store::ledger_item(&mut tx, case_id, item_id)
        .await?
        .ok_or(AppError::NotFound)?;
    // The responsible person ticks off their own item; staff may record it for them.
    let owner = item.owner_person_id.is_some() && item.owner_person_id == actor.person_id;
    if !(owner && a.action.trim() == "close") {
        require(actor, Action::Edit, ResourceKind::Case, &c.org_path, None)?;
    } else {
        require(actor, Action::View, ResourceKind::Case, &c.org_path, None)?;
    }
    if Step::parse(&c.step) != Some(Step::Implementation) {
        return Err(AppError::broken(
            "R-PROC-6",
            "step",
            "工作台帐只能在「项目实施」步骤销号和确认",
        ));
    }
    let status = LedgerStatus::parse(&item.status).unwrap_or(LedgerStatus::Open);
    let ok = match a.action.trim() {
        "close" => {
            // Photos added to the item before, and those sent with the 销号, are evidence too.
            let had =
                case_store::photo_count(&mut tx, case_id, EvidenceOf::LedgerItem.code(), item_id)
                    .await? as usize;
            if !photos.is_empty() {
                EvidenceOf::LedgerItem
                    .check_add(Step::Implementation, true, had, photos.len())
                    .map_err(AppError::rule)?;
            }
            check_close(
                status,
                evidence.as_deref().unwrap_or(""),
                had + photos.len(),
            )
            .map_err(AppError::rule)?;
            photos
                .attach(&mut tx, case_id, EvidenceOf::LedgerItem, item_id)
                .await?;
            store::close_item(&mut tx, item_id, evidence.as_deref(), actor_id(actor)).await?
        }
        "confirm" => {
            check_confirm(status, item.closed_by, actor.user_id).map_err(AppError::rule)?;
            store::confirm_item(&mut tx, item_id, actor_id(actor)).await?
        }
        "reopen" => {
            if evidence.is_none() {
                return Err(AppError::field("evidence", "请写明退回的理由"));
            }
            if status != LedgerStatus::Closed {
                return Err(AppError::broken(
                    "R-PROC-6",
                    "status",
                    "只有待确认的事项才能退回",
                ));
            }
            store::reopen_item(&mut tx, item_id).await?
        }
        _ => {
            return Err(AppError::field(
                "action",
                "操作应为 close、confirm 或 reopen",
            ));
        }
    };
    if !ok {
        return Err(AppError::broken(
            "R-PROC-6",
            "status",
            "该事项刚被他人更新，请刷新后重试",
        ));
    }
    let after = store::ledger_item(&mut tx, case_id, item_id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        actor_id(actor),
        &format!("ledger.{}", a.action.trim()),
        "ledger_item",
        Some(item_id),
        Some(&super::json(&item)),
        Some(&super::json(&after)),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RemarkInput {
    pub remark: String,
}

/// 挂帅督办 (R-PROC-6): the linked leader's remark on a district- or street-level project.
pub async fn add_remark(
    db: &Db,
    actor: &Actor,
    author: &str,
    case_id: i64,
    r: &RemarkInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let remark = required_text(&mut errors, "remark", "督办意见", &r.remark, 1000);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let c = case_store::get(&mut tx, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(
        actor,
        Action::Edit,
        ResourceKind::Supervision,
        &c.org_path,
        None,
    )?;
    if !matches!(
        Step::parse(&c.step),
        Some(Step::Implementation | Step::Supervision)
    ) {
        return Err(AppError::broken(
            "R-PROC-6",
            "step",
            "挂帅督办在项目实施和监督执行期间记录",
        ));
    }
    let id = store::insert_remark(&mut tx, case_id, actor_id(actor), author, &remark).await?;
    super::audit_event(
        &mut tx,
        actor,
        "ledger.remark",
        "case",
        case_id,
        serde_json::json!({"remark_id": id, "remark": remark}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- step 7: supervision

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MemberInput {
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub person_id: Option<i64>,
    /// party_organisation, stakeholder, executor
    pub side: String,
}

pub async fn add_member(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    m: &MemberInput,
) -> Result<(), AppError> {
    let side = CommitteeSide::parse(&m.side)
        .ok_or_else(|| AppError::field("side", "请选择成员来自哪一方"))?;
    let pid = m
        .person_id
        .ok_or_else(|| AppError::field("person_id", "请选择监督委员会成员"))?;
    let mut tx = db.begin().await?;
    let c = super::cases::case_at(
        &mut tx,
        actor,
        case_id,
        ResourceKind::Case,
        Step::Supervision,
    )
    .await?;
    let p = person_inside(&mut tx, &c, "person_id", pid).await?;
    if store::members(&mut tx, case_id)
        .await?
        .iter()
        .any(|x| x.person_id == Some(p.id))
    {
        return Err(AppError::field(
            "person_id",
            format!("{}已是监督委员会成员", p.name),
        ));
    }
    let id = store::insert_member(&mut tx, case_id, Some(p.id), &p.name, side.code()).await?;
    super::audit_event(
        &mut tx,
        actor,
        "supervision.member_add",
        "case",
        case_id,
        serde_json::json!({"member_id": id, "name": p.name, "side": side.code()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct InspectionInput {
    /// YYYY-MM-DD, not in the future
    pub inspected_on: String,
    pub inspectors: String,
    pub progress: String,
    pub quality: String,
    /// Findings on the deadlines
    pub deadline: String,
}

pub async fn add_inspection(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    i: &InspectionInput,
    photos: &super::evidence::Evidence,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let on = required_date(&mut errors, "inspected_on", "检查日期", &i.inspected_on);
    not_future(&mut errors, "inspected_on", on);
    let inspectors = required_text(&mut errors, "inspectors", "检查人", &i.inspectors, 200);
    let progress = required_text(&mut errors, "progress", "进度", &i.progress, 1000);
    let quality = required_text(&mut errors, "quality", "质量", &i.quality, 1000);
    let deadline = required_text(&mut errors, "deadline", "时限", &i.deadline, 1000);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    super::cases::case_at(
        &mut tx,
        actor,
        case_id,
        ResourceKind::Case,
        Step::Supervision,
    )
    .await?;
    let rec = Inspection {
        id: 0,
        case_id,
        inspected_on: on.unwrap_or_else(crate::render::today),
        inspectors,
        progress,
        quality,
        deadline,
        created_at: roundtable_store::now(),
    };
    let id = store::insert_inspection(&mut tx, case_id, &rec, actor_id(actor)).await?;
    photos
        .attach(&mut tx, case_id, EvidenceOf::Inspection, id)
        .await?;
    super::audit_event(
        &mut tx,
        actor,
        "supervision.inspection",
        "inspection",
        id,
        super::json(&rec),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A bulletin's content, generated from the ledger and the inspections (never typed).
async fn bulletin_content(
    e: &mut impl Exec,
    c: &Case,
    today: NaiveDate,
) -> Result<serde_json::Value, AppError> {
    let items = store::ledger(e, c.id).await?;
    let count = |s: LedgerStatus| items.iter().filter(|i| i.status == s.code()).count();
    let overdue: Vec<_> = items
        .iter()
        .filter(|i| i.status != LedgerStatus::Confirmed.code() && i.due_on < today)
        .map(|i| serde_json::json!({"title": i.title, "owner": i.owner_name, "due_on": i.due_on}))
        .collect();
    let inspections = store::inspections(e, c.id).await?;
    Ok(serde_json::json!({
        "title": c.title,
        "community": c.org_name,
        "as_of": today,
        "items": items.len(),
        "confirmed": count(LedgerStatus::Confirmed),
        "closed": count(LedgerStatus::Closed),
        "open": count(LedgerStatus::Open),
        "overdue": overdue,
        "latest_inspection": inspections.last().map(|i| serde_json::json!({
            "inspected_on": i.inspected_on, "progress": i.progress, "quality": i.quality, "deadline": i.deadline,
        })),
        "ledger": items.iter().map(|i| serde_json::json!({
            "title": i.title, "owner": i.owner_name, "unit": i.unit_name, "due_on": i.due_on,
            "status": i.status,
            "status_label": LedgerStatus::parse(&i.status).map_or("", LedgerStatus::label),
        })).collect::<Vec<_>>(),
    }))
}

/// 定期通报 (R-PROC-7): generated from the ledger and inspections and published (frozen).
pub async fn publish_bulletin(db: &Db, actor: &Actor, case_id: i64) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let c = case_store::get(&mut tx, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(actor, Action::Edit, ResourceKind::Case, &c.org_path, None)?;
    if !matches!(
        Step::parse(&c.step),
        Some(Step::Implementation | Step::Supervision)
    ) {
        return Err(AppError::broken(
            "R-PROC-7",
            "step",
            "进度通报在项目实施和监督执行期间发布",
        ));
    }
    let today = crate::render::today();
    let content = bulletin_content(&mut tx, &c, today).await?;
    let id = store::insert_bulletin(&mut tx, case_id, today, &content, actor_id(actor)).await?;
    super::audit_event(&mut tx, actor, "bulletin.publish", "bulletin", id, content).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PeriodInput {
    /// Days between bulletins (7–90)
    pub days: String,
}

pub async fn set_bulletin_period(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    p: &PeriodInput,
) -> Result<(), AppError> {
    let days = match p.days.trim().parse::<i64>() {
        Ok(d) if (7..=90).contains(&d) => d,
        _ => return Err(AppError::field("days", "通报周期应为7到90天")),
    };
    let mut tx = db.begin().await?;
    let c = case_store::get(&mut tx, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(actor, Action::Edit, ResourceKind::Case, &c.org_path, None)?;
    store::set_bulletin_period(&mut tx, case_id, days).await?;
    super::audit_event(
        &mut tx,
        actor,
        "bulletin.period",
        "case",
        case_id,
        serde_json::json!({"days": days}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AcceptanceInput {
    /// YYYY-MM-DD, not in the future
    pub accepted_on: String,
    /// Who took part in the acceptance
    pub members: String,
    pub conclusion: String,
}

/// 验收 (R-PROC-7): once every ledger item is confirmed; opens the satisfaction vote.
pub async fn accept(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    a: &AcceptanceInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let on = required_date(&mut errors, "accepted_on", "验收日期", &a.accepted_on);
    not_future(&mut errors, "accepted_on", on);
    let members = required_text(&mut errors, "members", "验收人员", &a.members, 500);
    let conclusion = required_text(&mut errors, "conclusion", "验收结论", &a.conclusion, 2000);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    super::cases::case_at(
        &mut tx,
        actor,
        case_id,
        ResourceKind::Case,
        Step::Supervision,
    )
    .await?;
    let f = store::facts(&mut tx, case_id).await?;
    if f.ledger_items == 0 || f.ledger_confirmed < f.ledger_items {
        return Err(AppError::broken(
            "R-PROC-7",
            "accepted_on",
            "台帐事项全部确认完成后才能验收",
        ));
    }
    if f.accepted > 0 {
        return Err(AppError::broken("R-PROC-7", "accepted_on", "项目已验收"));
    }
    let id = store::insert_acceptance(
        &mut tx,
        case_id,
        on.unwrap_or_else(crate::render::today),
        &members,
        &conclusion,
        actor_id(actor),
    )
    .await?;
    super::audit_event(
        &mut tx,
        actor,
        "supervision.accept",
        "case",
        case_id,
        serde_json::json!({"acceptance_id": id, "conclusion": conclusion}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---- the public page

/// The case of a public link; a malformed code is "not found" before any query.
async fn public_case(e: &mut impl Exec, code: &str) -> Result<Case, AppError> {
    let code = code.trim().to_ascii_lowercase();
    if !super::is_public_code(&code) {
        return Err(AppError::NotFound);
    }
    case_store::by_public_code(e, &code)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct VoteInput {
    /// satisfied, basic, dissatisfied (or 满意…)
    pub choice: String,
    /// The API client's device id (the page uses its cookie).
    pub device_id: Option<String>,
}

/// The residents' satisfaction vote, once per device, after acceptance.
pub async fn vote(db: &Db, code: &str, device: &str, v: &VoteInput) -> Result<bool, AppError> {
    let choice = Satisfaction::parse(&v.choice)
        .ok_or_else(|| AppError::field("choice", "请选择满意、基本满意或不满意"))?;
    if device.trim().len() < 8 {
        return Err(AppError::field("device_id", "缺少设备标识"));
    }
    let mut tx = db.begin().await?;
    let c = public_case(&mut tx, code).await?;
    if store::acceptance(&mut tx, c.id).await?.is_none() {
        return Err(AppError::broken("R-PROC-7", "choice", "项目验收后才能评价"));
    }
    use sha2::Digest;
    let key = hex::encode(sha2::Sha256::digest(format!("case-vote:{device}")));
    let stored = store::vote(&mut tx, c.id, &key, choice.code())
        .await?
        .is_some();
    tx.commit().await?;
    Ok(stored)
}

/// Everything of steps 5–7 for the case page and the API.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    pub tasks: Vec<Task>,
    pub budget: Vec<BudgetLine>,
    /// The budget's total, e.g. "12,345.67" (yuan)
    pub budget_total: String,
    pub agreements: Vec<Agreement>,
    /// Every version, newest first.
    pub notices: Vec<Notice>,
    /// The period of the latest notice as printed: 2025年9月28日至10月10日
    pub notice_label: Option<String>,
    /// running, ended, outdated (the plan changed since), or none
    pub notice_state: String,
    pub objections: Vec<Objection>,
    pub ledger: Vec<LedgerItem>,
    pub remarks: Vec<Remark>,
    pub committee: Vec<CommitteeMember>,
    pub inspections: Vec<Inspection>,
    /// Newest first.
    pub bulletins: Vec<Bulletin>,
    pub bulletin_every_days: i64,
    pub acceptance: Option<Acceptance>,
    pub votes: Vec<VoteCount>,
}

fn notice_state(f: &ProjectFacts, latest: Option<&Notice>, today: NaiveDate) -> &'static str {
    match latest {
        None => "none",
        Some(_) if f.notice_revision != Some(f.plan_revision) => "outdated",
        Some(n) if today <= n.ends_on => "running",
        Some(_) => "ended",
    }
}

/// Steps 5–7 of a case, in one round trip (`store::project`). Objectors' phones leave
/// masked (ARCHITECTURE: personal data is masked unless revealed).
pub(crate) async fn view_in(e: &mut impl Exec, case_id: i64) -> Result<ProjectView, AppError> {
    let store::Project {
        facts: f,
        tasks,
        budget,
        agreements,
        notices,
        mut objections,
        ledger,
        remarks,
        committee,
        inspections,
        bulletins,
        acceptance,
        votes,
    } = store::project(e, case_id).await?;
    let today = crate::render::today();
    for o in &mut objections {
        o.submitter_phone = o
            .submitter_phone
            .as_deref()
            .map(roundtable_core::privacy::mask_phone);
    }
    Ok(ProjectView {
        tasks,
        budget_total: format_fen(budget.iter().map(|b| b.amount_fen).sum()),
        budget,
        agreements,
        notice_label: notices.first().map(|n| {
            roundtable_core::calendar::NoticePeriod {
                starts: n.starts_on,
                ends: n.ends_on,
                provisional: n.provisional,
            }
            .label()
        }),
        notice_state: notice_state(&f, notices.first(), today).into(),
        notices,
        objections,
        ledger,
        remarks,
        committee,
        inspections,
        bulletins,
        bulletin_every_days: f.bulletin_every_days,
        acceptance,
        votes,
    })
}

pub async fn view(db: &Db, actor: &Actor, case_id: i64) -> Result<ProjectView, AppError> {
    let mut e = db.conn().await?;
    let c = case_store::get(&mut e, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(actor, Action::View, ResourceKind::Case, &c.org_path, None)?;
    view_in(&mut e, case_id).await
}

/// The facts of steps 5–7 for the case's step checks.
pub(crate) async fn facts(e: &mut impl Exec, case_id: i64) -> Result<ProjectFacts, AppError> {
    Ok(store::facts(e, case_id).await?)
}

/// Entering 项目实施 generates the ledger from the plan's tasks (R-PROC-6).
pub(crate) async fn generate_ledger(tx: &mut Tx, case_id: i64) -> Result<(), AppError> {
    // Queued for other systems with the case's audited move (exchange::queue).
    store::generate_ledger(tx, case_id).await?;
    Ok(())
}

/// What the public page shows: no personal data (names of responsible people are official
/// roles, residents' names and phones are never shown).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublicCase {
    pub code: String,
    pub title: String,
    pub community: String,
    /// R-TOP-4 level label
    pub level: String,
    /// Step label
    pub step: String,
    pub step_code: String,
    pub topic_description: String,
    pub resolution: Option<String>,
    pub filing_number: Option<String>,
    /// The latest notice's snapshot of the plan.
    #[schema(value_type = Object)]
    pub notice: Option<serde_json::Value>,
    pub notice_label: Option<String>,
    pub notice_version: Option<i64>,
    /// Objections may be sent now.
    pub notice_running: bool,
    /// Objections with their answers (no names).
    #[schema(value_type = Vec<Object>)]
    pub objections: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub ledger: Vec<serde_json::Value>,
    pub bulletins: Vec<Bulletin>,
    pub accepted: bool,
    pub votes: Vec<VoteCount>,
    /// The fingerprint of the notice version shown, and of the filed resolution (issue 6).
    pub notice_fingerprint: Option<String>,
    pub resolution_fingerprint: Option<String>,
}

/// How long a public page's data is served from memory: the notice page is what a whole
/// community opens from a poster at once; an objection or vote sent to this instance shows at
/// once, a change made elsewhere within this time.
const PUBLIC_FRESH: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Default)]
pub struct PublicCache {
    entries: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, std::sync::Arc<PublicCase>)>,
    >,
}

impl PublicCache {
    pub async fn get(&self, db: &Db, code: &str) -> Result<std::sync::Arc<PublicCase>, AppError> {
        let key = code.trim().to_ascii_lowercase();
        if let Ok(map) = self.entries.lock()
            && let Some((at, c)) = map.get(&key)
            && at.elapsed() < PUBLIC_FRESH
        {
            return Ok(c.clone());
        }
        let c = std::sync::Arc::new(public_view(db, &key).await?);
        if let Ok(mut map) = self.entries.lock() {
            // Bounded: a flood of different codes cannot grow it without end.
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(key, (std::time::Instant::now(), c.clone()));
        }
        Ok(c)
    }

    pub fn forget(&self, code: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(&code.trim().to_ascii_lowercase());
        }
    }
}

pub async fn public_view(db: &Db, code: &str) -> Result<PublicCase, AppError> {
    let mut e = db.conn().await?;
    let c = public_case(&mut e, code).await?;
    let topic = roundtable_store::topics::get(&mut e, c.topic_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let meeting = roundtable_store::meetings::by_case(&mut e, c.id).await?;
    let p = view_in(&mut e, c.id).await?;
    let today = crate::render::today();
    let latest = p.notices.first();
    let prints = roundtable_store::fingerprints::of_case(&mut e, c.id).await?;
    let print_of = |kind: &str, id: Option<i64>| {
        prints
            .iter()
            .find(|f| f.kind == kind && Some(f.record_id) == id)
            .map(|f| f.code.clone())
    };
    let notice_fingerprint = print_of("notice", latest.map(|n| n.id));
    let resolution_fingerprint = print_of("resolution", meeting.as_ref().map(|m| m.id));
    Ok(PublicCase {
        notice_fingerprint,
        resolution_fingerprint,
        code: c.public_code.clone(),
        title: c.title.clone(),
        community: c.org_name.clone(),
        level: roundtable_core::topics::Level::parse(&c.level).map_or(c.level.clone(), |l| l.label().into()),
        step: Step::parse(&c.step).map_or("", Step::label).into(),
        step_code: c.step.clone(),
        topic_description: topic.description,
        resolution: meeting.as_ref().filter(|m| m.filing_number.is_some()).and_then(|m| m.resolution.clone()),
        filing_number: meeting.and_then(|m| m.filing_number),
        notice: latest.map(|n| n.content.clone()),
        notice_label: p.notice_label.clone(),
        notice_version: latest.map(|n| n.version),
        notice_running: running(&p.notices, today).is_some() && c.step == Step::Notice.code(),
        objections: p
            .objections
            .iter()
            .map(|o| serde_json::json!({"content": o.content, "received_at": o.received_at, "answer": o.answer, "answered_at": o.answered_at}))
            .collect(),
        ledger: p
            .ledger
            .iter()
            .map(|i| serde_json::json!({"title": i.title, "unit": i.unit_name, "due_on": i.due_on, "status": i.status,
                "status_label": LedgerStatus::parse(&i.status).map_or("", LedgerStatus::label)}))
            .collect(),
        bulletins: p.bulletins,
        accepted: p.acceptance.is_some(),
        votes: p.votes,
    })
}

/// The ledger as .xlsx (R-PROC-6: for the platforms that take uploads by hand), with the
/// watermark line; needs the Export permission on the case's node.
pub async fn ledger_xlsx(
    db: &Db,
    actor: &Actor,
    case_id: i64,
) -> Result<(String, Vec<u8>), AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut e = db.pool();
    let c = case_store::get(&mut e, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(actor, Action::Export, ResourceKind::Case, &c.org_path, None)?;
    let items = store::ledger(&mut e, case_id).await?;
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name("工作台帐").map_err(x)?;
    ws.write_string_with_format(
        0,
        0,
        format!("{} · {} 工作台帐", c.org_name, c.title),
        &bold,
    )
    .map_err(x)?;
    let head = [
        "序号",
        "事项",
        "责任人",
        "责任单位",
        "完成时限",
        "状态",
        "完成情况（佐证）",
        "销号时间",
        "确认时间",
    ];
    for (j, h) in head.iter().enumerate() {
        ws.write_string_with_format(2, j as u16, *h, &bold)
            .map_err(x)?;
    }
    let t = |v: Option<chrono::DateTime<chrono::Utc>>| {
        v.map(crate::render::china_time).unwrap_or_default()
    };
    for (n, i) in items.iter().enumerate() {
        let r = 3 + n as u32;
        ws.write_number(r, 0, (n + 1) as f64).map_err(x)?;
        ws.write_string(r, 1, &i.title).map_err(x)?;
        ws.write_string(r, 2, &i.owner_name).map_err(x)?;
        ws.write_string(r, 3, &i.unit_name).map_err(x)?;
        ws.write_string(r, 4, i.due_on.to_string()).map_err(x)?;
        ws.write_string(
            r,
            5,
            LedgerStatus::parse(&i.status).map_or("", LedgerStatus::label),
        )
        .map_err(x)?;
        ws.write_string(r, 6, i.evidence.as_deref().unwrap_or(""))
            .map_err(x)?;
        ws.write_string(r, 7, t(i.closed_at)).map_err(x)?;
        ws.write_string(r, 8, t(i.confirmed_at)).map_err(x)?;
    }
    ws.set_column_width(1, 30).map_err(x)?;
    ws.set_column_width(6, 40).map_err(x)?;
    let last = 4 + items.len() as u32;
    ws.write_string(last, 0, super::excel::watermark(&mut e, actor).await?)
        .map_err(x)?;
    audit::record(
        &mut e,
        actor_id(actor),
        "export",
        "ledger",
        Some(case_id),
        None,
        Some(&serde_json::json!({"items": items.len()})),
    )
    .await?;
    let bytes = book.save_to_buffer().map_err(x)?;
    Ok((format!("roundtable-ledger-case-{case_id}.xlsx"), bytes))
}
