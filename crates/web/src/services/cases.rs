//! Deliberation cases (issue 4; DOMAIN.md section 3): created from one accepted topic, moved
//! through the seven steps by `roundtable_core::cases`, with the records of each step. Every
//! change writes its history entry and audit record in one transaction.

use std::collections::BTreeMap;

use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, scope};
use roundtable_core::cases::{
    CaseFacts, DocKind, Missing, Move, Step, check_document, check_move, check_target, missing,
};
use roundtable_core::links::LinkKind;
use roundtable_core::topics::{Level, Status, Transition};
use roundtable_core::validate::{optional_date, optional_text, required_text};
use roundtable_store::cases::{
    self as store, Case, CaseEvent, CaseFilter, Document, NewCase, Opinion, OpinionFields, Visit,
    VisitFields,
};
use roundtable_store::{Db, Exec, PageReq, Paged, Tx, links, people, topics};

use super::{actor_id, audit_change, require};
use crate::error::AppError;

pub(crate) fn step_of(c: &Case) -> Step {
    Step::parse(&c.step).unwrap_or(Step::Topic)
}

fn level_of(c: &Case) -> Option<Level> {
    Level::parse(&c.level)
}

/// A case read for an actor who may see it.
pub(crate) async fn visible(e: &mut impl Exec, actor: &Actor, id: i64) -> Result<Case, AppError> {
    let c = store::get(e, id).await?.ok_or(AppError::NotFound)?;
    require(actor, Action::View, ResourceKind::Case, &c.org_path, None)?;
    Ok(c)
}

/// A case read inside a transaction for an actor who may change `kind` on it.
pub(crate) async fn editable(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    kind: ResourceKind,
) -> Result<Case, AppError> {
    let c = store::get(tx, id).await?.ok_or(AppError::NotFound)?;
    require(actor, Action::Edit, kind, &c.org_path, None)?;
    Ok(c)
}

/// A case read inside a transaction for an actor who may change `kind` on it, at `step` (the
/// records of a step are written only while it runs).
pub(crate) async fn case_at(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    kind: ResourceKind,
    step: Step,
) -> Result<Case, AppError> {
    let c = editable(tx, actor, id, kind).await?;
    require_step(&c, step)?;
    Ok(c)
}

/// The records of a step may be added only while the case is at that step: a closed step's
/// record is not rewritten afterwards (going back one step, with a reason, reopens it).
fn require_step(c: &Case, step: Step) -> Result<(), AppError> {
    let at = step_of(c);
    if at == step {
        return Ok(());
    }
    Err(AppError::broken(
        step.rule(),
        "step",
        format!(
            "「{}」的记录只能在该步骤进行中填写（案例当前为「{}」）",
            step.label(),
            at.label()
        ),
    ))
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CaseInput {
    /// The accepted topic the case is about (R-PROC-1).
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub topic_id: Option<i64>,
    /// Why the party organisation chose it (kept in the history).
    pub note: Option<String>,
}

/// R-PROC-1: the party organisation chooses an accepted topic; the topic becomes 已立项 in the
/// same transaction, and its submitter sees it.
pub async fn create(db: &Db, actor: &Actor, input: &CaseInput) -> Result<Case, AppError> {
    let topic_id = input
        .topic_id
        .ok_or_else(|| AppError::field("topic_id", "请选择议题"))?;
    let mut errors = FieldErrors::new();
    let note = optional_text(&mut errors, "note", "立项说明", input.note.as_deref(), 500);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let t = topics::get(&mut tx, topic_id)
        .await?
        .ok_or_else(|| AppError::field("topic_id", "议题不存在"))?;
    require(actor, Action::Edit, ResourceKind::Case, &t.org_path, None)?;
    if store::by_topic(&mut tx, topic_id).await?.is_some() {
        return Err(AppError::broken(
            "R-PROC-1",
            "topic_id",
            "该议题已有议事案例",
        ));
    }
    if Status::parse(&t.status) != Some(Status::Accepted) {
        return Err(AppError::broken(
            "R-TOP-3",
            "topic_id",
            format!(
                "只有已受理的公共事务议题才能立项（该议题为「{}」）",
                Status::parse(&t.status).map_or(t.status.clone(), |s| s.label().to_string())
            ),
        ));
    }
    let code = super::new_public_code();
    let id = store::insert(
        &mut tx,
        &NewCase {
            public_code: &code,
            topic_id,
            org_id: t.org_id,
            title: &t.title,
            category: &t.category,
            level: &t.level,
        },
        actor_id(actor),
        note.as_deref(),
    )
    .await?;
    super::topics::follow_case(
        &mut tx,
        actor,
        topic_id,
        Transition::Adopt,
        "已确定为议事议题，进入幸福圆桌会议事程序",
    )
    .await?;
    let c = store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit_change(&mut tx, actor, "case", id, None, &c).await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<Case, AppError> {
    visible(&mut db.pool(), actor, id).await
}

/// The case of a topic, when the actor may see it.
pub async fn of_topic(db: &Db, actor: &Actor, topic_id: i64) -> Result<Option<Case>, AppError> {
    let c = store::by_topic(&mut db.pool(), topic_id).await?;
    Ok(c.filter(|c| {
        roundtable_core::access::permit(actor, Action::View, ResourceKind::Case, &c.org_path, None)
    }))
}

/// Everything the case page shows.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub case: Case,
    /// Step code, label and state (done, current, todo) of the seven steps.
    pub steps: Vec<StepState>,
    /// What the current step still lacks before it may close, each with its rule.
    #[schema(value_type = Vec<Object>)]
    pub missing: Vec<Missing>,
    pub events: Vec<CaseEvent>,
    pub visits: Vec<Visit>,
    pub opinions: Vec<Opinion>,
    /// The latest version of each step document.
    pub documents: Vec<Document>,
    /// Evidence photos of the visits, ledger items and inspections (`record_kind`,
    /// `record_id`); the files at `/api/v1/cases/{id}/photos/{photo_id}`.
    pub photos: Vec<roundtable_store::cases::CasePhoto>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StepState {
    pub code: String,
    pub label: String,
    pub number: usize,
    pub rule: String,
    /// done, current, todo (every step of a stopped case that was not reached is todo)
    pub state: String,
}

fn step_states(at: Step, events: &[CaseEvent]) -> Vec<StepState> {
    // A stopped case shows the steps it had reached.
    let reached = if at == Step::Stopped {
        events
            .iter()
            .rev()
            .find(|e| e.to_step == Step::Stopped.code())
            .and_then(|e| e.from_step.as_deref())
            .and_then(Step::parse)
            .unwrap_or(Step::Topic)
    } else {
        at
    };
    let cur = reached.number().unwrap_or(8);
    Step::SEVEN
        .iter()
        .map(|s| {
            let n = s.number().unwrap_or(0);
            let state = if n < cur || at == Step::Done {
                "done"
            } else if n == cur && at != Step::Stopped {
                "current"
            } else if n == cur {
                "stopped"
            } else {
                "todo"
            };
            StepState {
                code: s.code().into(),
                label: s.label().into(),
                number: n,
                rule: s.rule().into(),
                state: state.into(),
            }
        })
        .collect()
}

/// What the step checks need to know about a case.
async fn facts(e: &mut impl Exec, c: &Case) -> Result<CaseFacts, AppError> {
    let n = store::counts(e, c.id).await?;
    let m = roundtable_store::meetings::facts(e, c.id).await?;
    let p = super::projects::facts(e, c.id).await?;
    Ok(facts_of(c, &n, &m, &p))
}

fn facts_of(
    c: &Case,
    n: &store::Counts,
    m: &roundtable_store::meetings::MeetingFacts,
    p: &roundtable_store::projects::ProjectFacts,
) -> CaseFacts {
    let today = crate::render::today();
    let has = |k: DocKind| n.document_kinds.split(',').any(|x| x == k.code());
    CaseFacts {
        level: level_of(c),
        visits: n.visits as usize,
        opinions: n.opinions as usize,
        preliminary_plan: has(DocKind::PreliminaryPlan),
        council_meeting: has(DocKind::CouncilMeeting),
        feasibility: has(DocKind::Feasibility),
        meeting_plan: has(DocKind::MeetingPlan),
        leader_consultation: has(DocKind::LeaderConsultation),
        meeting_signed_in: m.signed_in > 0,
        minutes_confirmed: m.minutes_confirmed > 0,
        resolution: m.resolution,
        filing_number: m.filed,
        plan_tasks: p.tasks as usize,
        agreements: p.agreements as usize,
        notice_published: p.notices > 0,
        notice_ended: p.notice_ends_on.is_some_and(|end| today > end),
        notice_outdated: p.notices > 0 && p.notice_revision != Some(p.plan_revision),
        objections_open: p.objections_open as usize,
        ledger_items: p.ledger_items as usize,
        ledger_confirmed: p.ledger_confirmed as usize,
        leader_remarks: p.remarks as usize,
        committee_members: p.committee as usize,
        inspections: p.inspections as usize,
        bulletins: p.bulletins as usize,
        accepted: p.accepted > 0,
    }
}

pub async fn view(db: &Db, actor: &Actor, id: i64) -> Result<CaseView, AppError> {
    view_in(&mut db.conn().await?, actor, id).await
}

/// The case view on the caller's connection (a page reads the case, its meeting and its
/// project on one): the case, then the rest in one round trip.
pub async fn view_in(e: &mut impl Exec, actor: &Actor, id: i64) -> Result<CaseView, AppError> {
    let case = visible(e, actor, id).await?;
    let at = step_of(&case);
    // A finished case lacks nothing: its facts are not read.
    let r = store::case_reads(e, id, !at.is_final()).await?;
    let f = match &r.facts {
        Some((n, m, p)) => facts_of(&case, n, m, p),
        None => CaseFacts::default(),
    };
    Ok(CaseView {
        steps: step_states(at, &r.events),
        missing: missing(at, &f),
        events: r.events,
        visits: r.visits,
        opinions: r.opinions,
        documents: r.documents,
        photos: r.photos,
        case,
    })
}

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct CaseQuery {
    /// Step code or label
    pub step: Option<String>,
    /// district, street, community
    pub level: Option<String>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub org_id: Option<i64>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub page: Option<i64>,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub per_page: Option<i64>,
}

pub async fn list(db: &Db, actor: &Actor, q: &CaseQuery) -> Result<Paged<Case>, AppError> {
    let mut errors = FieldErrors::new();
    let pick =
        |errors: &mut FieldErrors, field: &str, v: &Option<String>, ok: Option<&'static str>| {
            let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
            if ok.is_none() {
                errors.add(field, format!("无效的筛选条件「{v}」"));
            }
            ok.map(str::to_string)
        };
    let step = pick(
        &mut errors,
        "step",
        &q.step,
        q.step.as_deref().and_then(Step::parse).map(Step::code),
    );
    let level = pick(
        &mut errors,
        "level",
        &q.level,
        q.level.as_deref().and_then(Level::parse).map(Level::code),
    );
    errors.into_result().map_err(AppError::Validation)?;
    let s = scope(actor, Action::View, ResourceKind::Case);
    Ok(store::list(
        &mut db.pool(),
        &s,
        &CaseFilter {
            step,
            level,
            org_id: q.org_id,
        },
        PageReq::new(q.page, q.per_page),
    )
    .await?)
}

/// A change of step: `advance` (close the current step, enter the next), `back` (one step,
/// with a reason), `stop` (终止, with a reason). `step`, when given, names the step the caller
/// means to enter and must be the one the move leads to.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MoveInput {
    /// advance, back, stop
    pub action: String,
    pub reason: Option<String>,
    /// Optional: the step to enter (code or label)
    pub step: Option<String>,
}

pub async fn move_step(db: &Db, actor: &Actor, id: i64, m: &MoveInput) -> Result<Case, AppError> {
    let mut errors = FieldErrors::new();
    let reason = optional_text(&mut errors, "reason", "理由", m.reason.as_deref(), 500);
    errors.into_result().map_err(AppError::Validation)?;
    let reason_text = reason.clone().unwrap_or_default();
    let mv = match m.action.trim() {
        "advance" => Move::Advance,
        "back" => Move::Back {
            reason: reason_text,
        },
        "stop" => Move::Stop {
            reason: reason_text,
        },
        _ => return Err(AppError::field("action", "操作应为 advance、back 或 stop")),
    };
    let mut tx = db.begin().await?;
    let before = editable(&mut tx, actor, id, ResourceKind::Case).await?;
    let from = step_of(&before);
    if let Some(target) = m.step.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let target = Step::parse(target)
            .ok_or_else(|| AppError::field("step", format!("未知的步骤「{target}」")))?;
        check_target(from, target).map_err(AppError::rule)?;
    }
    let f = facts(&mut tx, &before).await?;
    let to = check_move(from, &mv, &f).map_err(AppError::rule)?;
    if let Some(target) = m.step.as_deref().and_then(Step::parse)
        && target != to
    {
        return Err(AppError::broken(
            to.rule(),
            "step",
            format!("此操作进入「{}」，不是「{}」", to.label(), target.label()),
        ));
    }
    let moved = store::change_step(
        &mut tx,
        id,
        from.code(),
        to.code(),
        mv.code(),
        reason.as_deref(),
        actor_id(actor),
        to == Step::Done,
    )
    .await?;
    if !moved {
        return Err(AppError::BadRequest(
            "案例刚被他人更新，请刷新页面后重试".into(),
        ));
    }
    if to == Step::Implementation {
        super::projects::generate_ledger(&mut tx, id).await?;
    }
    // The source topic (and, through it, every matter merged into it) shows the outcome.
    match to {
        Step::Done => {
            super::topics::follow_case(
                &mut tx,
                actor,
                before.topic_id,
                Transition::Finish,
                "议事项目已办结",
            )
            .await?
        }
        Step::Stopped => {
            super::topics::follow_case(
                &mut tx,
                actor,
                before.topic_id,
                Transition::Release {
                    note: reason.clone().unwrap_or_default(),
                },
                &format!("议事案例终止：{}", reason.as_deref().unwrap_or("")),
            )
            .await?
        }
        _ => {}
    }
    let after = store::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit_change(&mut tx, actor, "case", id, Some(&before), &after).await?;
    tx.commit().await?;
    Ok(after)
}

/// R-PROC-2: a visit by a 民情理事会 member.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct VisitInput {
    /// The council member who visited (a person of the community); default: the signed-in
    /// user's own person record.
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub visitor_person_id: Option<i64>,
    /// The household or site visited
    pub place: String,
    /// YYYY-MM-DD
    pub visited_on: String,
    /// What the visitor found
    pub findings: String,
    /// An opinion heard on the visit (recorded with the visit).
    pub opinion: Option<String>,
    /// Who gave that opinion
    pub opinion_author: Option<String>,
}

/// A visit of a 民情理事会 member (R-PROC-2), with the photos taken there.
pub async fn add_visit(
    db: &Db,
    actor: &Actor,
    id: i64,
    v: &VisitInput,
    photos: &super::evidence::Evidence,
) -> Result<Visit, AppError> {
    let mut errors = FieldErrors::new();
    let place = required_text(
        &mut errors,
        "place",
        "走访对象（住户或现场）",
        &v.place,
        100,
    );
    let visited_on = optional_date(&mut errors, "visited_on", "走访日期", Some(&v.visited_on));
    if v.visited_on.trim().is_empty() {
        errors.add("visited_on", "请填写走访日期");
    }
    if visited_on.is_some_and(|d| d > crate::render::today()) {
        errors.add("visited_on", "走访日期不能晚于今天");
    }
    let findings = required_text(&mut errors, "findings", "走访发现", &v.findings, 2000);
    let opinion = optional_text(
        &mut errors,
        "opinion",
        "听取的意见",
        v.opinion.as_deref(),
        1000,
    );
    let author = optional_text(
        &mut errors,
        "opinion_author",
        "意见人",
        v.opinion_author.as_deref(),
        30,
    );
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let c = editable(&mut tx, actor, id, ResourceKind::Visit).await?;
    require_step(&c, Step::Opinions)?;
    let visitor_id = v
        .visitor_person_id
        .or(actor.person_id)
        .ok_or_else(|| AppError::field("visitor_person_id", "请选择走访的民情理事会成员"))?;
    let person = people::get(&mut tx, visitor_id)
        .await?
        .ok_or_else(|| AppError::field("visitor_person_id", "走访人不存在"))?;
    let on = visited_on.unwrap_or_else(crate::render::today);
    // R-PROC-2: the visitor is a member of the community's 民情理事会 on the day (R-ORG-2).
    let council = linked_people(&mut tx, LinkKind::CouncilMember, c.org_id, on).await?;
    if !council.iter().any(|(pid, _)| *pid == person.id) {
        return Err(AppError::broken(
            "R-PROC-2",
            "visitor_person_id",
            format!("{}在{on}不是{}民情理事会成员", person.name, c.org_name),
        ));
    }
    let fields = VisitFields {
        visitor_person_id: Some(person.id),
        visitor_name: person.name.clone(),
        place,
        visited_on: on,
        findings,
    };
    let visit_id = store::insert_visit(&mut tx, id, &fields, actor_id(actor)).await?;
    photos
        .attach(
            &mut tx,
            id,
            roundtable_core::cases::EvidenceOf::Visit,
            visit_id,
        )
        .await?;
    if let Some(content) = opinion {
        store::insert_opinion(
            &mut tx,
            id,
            &OpinionFields {
                source: "visit".into(),
                visit_id: Some(visit_id),
                questionnaire_id: None,
                author,
                content,
            },
            actor_id(actor),
        )
        .await?;
    }
    let visit = store::visits(&mut tx, id)
        .await?
        .into_iter()
        .find(|x| x.id == visit_id)
        .ok_or(AppError::NotFound)?;
    audit_change(&mut tx, actor, "case_visit", visit_id, None, &visit).await?;
    tx.commit().await?;
    Ok(visit)
}

/// The people linked to `org_id` by `kind` on `date` (R-ORG-2), as (person id, name).
async fn linked_people(
    e: &mut impl Exec,
    kind: LinkKind,
    org_id: i64,
    date: chrono::NaiveDate,
) -> Result<Vec<(i64, String)>, AppError> {
    let list = links::list(
        e,
        &super::everywhere(),
        &links::LinkFilter {
            org_id: Some(org_id),
            kind: Some(kind.code().into()),
            valid_on: Some(date),
            ..Default::default()
        },
        200,
    )
    .await?;
    Ok(list
        .into_iter()
        .filter_map(|l| Some((l.person_id?, l.person_name?)))
        .collect())
}

/// The 民情理事会 members of a case's community today, for the visit form.
pub async fn council_members(db: &Db, c: &Case) -> Result<Vec<(i64, String)>, AppError> {
    linked_people(
        &mut db.pool(),
        LinkKind::CouncilMember,
        c.org_id,
        crate::render::today(),
    )
    .await
}

/// The district leaders linked to the case's street today (R-ORG-2), for the prior
/// consultation of a district-level case (R-PROC-3) and the meeting.
pub async fn linked_leaders(db: &Db, c: &Case) -> Result<Vec<(i64, String)>, AppError> {
    let ids = roundtable_core::org::path_ids(&c.org_path);
    let Some(street) = ids.len().checked_sub(2).map(|i| ids[i]) else {
        return Ok(vec![]);
    };
    linked_people(
        &mut db.pool(),
        LinkKind::LeaderStreet,
        street,
        crate::render::today(),
    )
    .await
}

/// R-PROC-2: an opinion gathered by staff (from a phone call, a questionnaire, a meeting of
/// residents…).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OpinionInput {
    /// visit, online, questionnaire, other
    pub source: String,
    pub author: Option<String>,
    pub content: String,
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub questionnaire_id: Option<i64>,
}

pub const OPINION_SOURCES: &[(&str, &str)] = &[
    ("visit", "入户走访"),
    ("online", "网上征求"),
    ("questionnaire", "调查问卷"),
    ("other", "其他"),
];

pub fn opinion_source_label(code: &str) -> &str {
    OPINION_SOURCES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, l)| l)
}

pub async fn add_opinion(
    db: &Db,
    actor: &Actor,
    id: i64,
    o: &OpinionInput,
) -> Result<Opinion, AppError> {
    let mut errors = FieldErrors::new();
    let source = o.source.trim();
    let source = OPINION_SOURCES
        .iter()
        .find(|(c, l)| *c == source || *l == source)
        .map(|(c, _)| c.to_string());
    if source.is_none() {
        errors.add("source", "请选择意见来源");
    }
    let content = required_text(&mut errors, "content", "意见内容", &o.content, 1000);
    let author = optional_text(&mut errors, "author", "意见人", o.author.as_deref(), 30);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let c = editable(&mut tx, actor, id, ResourceKind::Visit).await?;
    require_step(&c, Step::Opinions)?;
    if let Some(qid) = o.questionnaire_id {
        let q = roundtable_store::questionnaires::get(&mut tx, qid)
            .await?
            .ok_or_else(|| AppError::field("questionnaire_id", "问卷不存在"))?;
        if q.org_id != c.org_id {
            return Err(AppError::field(
                "questionnaire_id",
                "只能引用本社区的调查问卷",
            ));
        }
    }
    let fields = OpinionFields {
        source: source.unwrap_or_default(),
        visit_id: None,
        questionnaire_id: o.questionnaire_id,
        author,
        content,
    };
    let oid = store::insert_opinion(&mut tx, id, &fields, actor_id(actor)).await?;
    let opinion = store::opinions(&mut tx, id)
        .await?
        .into_iter()
        .find(|x| x.id == oid)
        .ok_or(AppError::NotFound)?;
    audit_change(&mut tx, actor, "case_opinion", oid, None, &opinion).await?;
    tx.commit().await?;
    Ok(opinion)
}

/// Saves a new version of a step document (初步协商方案, 可行性研判, 议事方案…) while its step
/// is in progress.
pub async fn save_document(
    db: &Db,
    actor: &Actor,
    id: i64,
    kind: &str,
    values: &BTreeMap<String, String>,
) -> Result<Document, AppError> {
    let kind = DocKind::parse(kind).ok_or(AppError::NotFound)?;
    let mut tx = db.begin().await?;
    let c = editable(&mut tx, actor, id, ResourceKind::Case).await?;
    // The rule a request breaks comes before the fields it left empty.
    require_step(&c, kind.step())?;
    if kind == DocKind::LeaderConsultation && level_of(&c) != Some(Level::District) {
        return Err(AppError::broken(
            "R-PROC-3",
            "kind",
            "只有区级议题需要记录与挂点区级领导的事先沟通",
        ));
    }
    let kept = check_document(kind, values).map_err(AppError::Validation)?;
    for field in ["held_on", "consulted_on"] {
        if kept
            .get(field)
            .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
            .is_some_and(|d| d > crate::render::today())
        {
            return Err(AppError::field(field, "日期不能晚于今天"));
        }
    }
    let body = serde_json::to_value(&kept).unwrap_or_default();
    store::save_document(&mut tx, id, kind.code(), &body, actor_id(actor)).await?;
    let doc = store::documents(&mut tx, id)
        .await?
        .into_iter()
        .find(|d| d.kind == kind.code())
        .ok_or(AppError::NotFound)?;
    audit_change(&mut tx, actor, "case_document", doc.id, None, &doc).await?;
    tx.commit().await?;
    Ok(doc)
}

pub async fn document_versions(
    db: &Db,
    actor: &Actor,
    id: i64,
    kind: &str,
) -> Result<Vec<Document>, AppError> {
    let kind = DocKind::parse(kind).ok_or(AppError::NotFound)?;
    let mut e = db.pool();
    visible(&mut e, actor, id).await?;
    Ok(store::document_versions(&mut e, id, kind.code()).await?)
}
