//! The round-table meeting of a case (issue 4 item 3; R-MEET-1…4, R-PROC-4): planned from the
//! meeting plan with the fixed members filled in from the links valid on the day, mobile
//! members picked from the organisation's people and units, opened with its warnings accepted
//! for a recorded reason, sign-in, minutes per agenda item (draft → review → confirmed, then
//! frozen; a correction is a new version), the resolution with an optional vote, and the
//! filing number. Every change is audited in its transaction.

use std::collections::BTreeMap;

use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind};
use roundtable_core::cases::{DocKind, Step};
use roundtable_core::links::LinkKind;
use roundtable_core::meeting::{
    AGENDA, MinutesStatus, ParticipantKind, PlanFacts, Tally, Warning, chair_kind, chair_label,
    check_minutes_edit, check_minutes_move, check_override, check_tally, filing_number, warnings,
};
use roundtable_core::org::path_ids;
use roundtable_core::people::PersonKind;
use roundtable_core::topics::Level;
use roundtable_core::validate::{optional_date, optional_text, required_text};
use roundtable_store::cases::{self as case_store, Case};
use roundtable_store::meetings::{
    self as store, Comment, Meeting, Minutes, Participant, ParticipantFields, PlanFields,
};
use roundtable_store::{Db, Exec, PageReq, Tx, links, orgs, people, units};

use super::{actor_id, require};
use crate::error::AppError;

/// The case, for an actor who may edit it, at 协商议事 (the meeting is its record).
async fn case_at_meeting(tx: &mut Tx, actor: &Actor, case_id: i64) -> Result<Case, AppError> {
    super::cases::case_at(tx, actor, case_id, ResourceKind::Case, Step::Deliberation).await
}

async fn meeting_of(tx: &mut Tx, case_id: i64) -> Result<Meeting, AppError> {
    store::by_case(tx, case_id)
        .await?
        .ok_or_else(|| AppError::broken("R-PROC-4", "meeting", "请先安排圆桌会"))
}

fn require_held(m: &Meeting) -> Result<(), AppError> {
    if m.status == "held" {
        return Ok(());
    }
    Err(AppError::broken(
        "R-MEET-3",
        "meeting",
        "会议尚未开始：请先确认参会人员并开始会议",
    ))
}

fn require_not_filed(m: &Meeting) -> Result<(), AppError> {
    if m.filing_number.is_none() {
        return Ok(());
    }
    Err(AppError::broken(
        "R-PROC-4",
        "meeting",
        "会议已备案登记，记录不能再修改",
    ))
}

async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    meeting_id: i64,
    after: serde_json::Value,
) -> Result<(), AppError> {
    super::audit_event(tx, actor, action, "meeting", meeting_id, after).await
}

/// The plan of the meeting; empty fields are taken from the case's 议事方案 (R-PROC-3), so
/// what was planned is not typed twice.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PlanInput {
    /// YYYY-MM-DD
    pub held_on: Option<String>,
    /// HH:MM
    pub start_time: Option<String>,
    pub place: Option<String>,
    /// The chair (default: the one R-MEET-4 names for the case's level).
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub chair_person_id: Option<i64>,
}

/// The fixed members (R-MEET-2) from the links valid on the day (R-ORG-2): the district
/// leaders linked to the street, the street leaders linked to the community, and the
/// community's 两委 (cadres and the party secretary).
async fn fixed_members(
    e: &mut impl Exec,
    c: &Case,
    on: chrono::NaiveDate,
) -> Result<Vec<ParticipantFields>, AppError> {
    let ids = path_ids(&c.org_path);
    let street = ids.len().checked_sub(2).map(|i| ids[i]);
    let mut out = Vec::new();
    let linked = |kind: LinkKind, org: i64| {
        (
            kind,
            links::LinkFilter {
                org_id: Some(org),
                kind: Some(kind.code().into()),
                valid_on: Some(on),
                ..Default::default()
            },
        )
    };
    let mut queries = vec![linked(LinkKind::StreetLeaderCommunity, c.org_id)];
    if let Some(s) = street {
        queries.insert(0, linked(LinkKind::LeaderStreet, s));
    }
    for (kind, filter) in queries {
        let pk = if kind == LinkKind::LeaderStreet {
            ParticipantKind::DistrictLeader
        } else {
            ParticipantKind::StreetLeader
        };
        for l in links::list(e, &super::everywhere(), &filter, 50).await? {
            if let (Some(person_id), Some(name)) = (l.person_id, l.person_name) {
                out.push(ParticipantFields {
                    person_id: Some(person_id),
                    name,
                    kind: pk.code().into(),
                    fixed: true,
                    unit_name: None,
                });
            }
        }
    }
    for kind in [PersonKind::PartySecretary, PersonKind::CommunityCadre] {
        let page = people::list(
            e,
            &super::everywhere(),
            &people::PersonFilter {
                kind: Some(kind.code().into()),
                org_id: Some(c.org_id),
                q: None,
            },
            PageReq::new(Some(1), Some(50)),
        )
        .await?;
        for p in page.items {
            if !out.iter().any(|f| f.person_id == Some(p.id)) {
                out.push(ParticipantFields {
                    person_id: Some(p.id),
                    name: p.name,
                    kind: ParticipantKind::CommunityCadre.code().into(),
                    fixed: true,
                    unit_name: None,
                });
            }
        }
    }
    Ok(out)
}

/// R-MEET-4: the chair the level names, among the participants (a community-level meeting:
/// the party secretary).
async fn proposed_chair(
    e: &mut impl Exec,
    level: Level,
    ps: &[Participant],
) -> Result<Option<(i64, String)>, AppError> {
    let wanted = chair_kind(level).code();
    for p in ps.iter().filter(|p| p.kind == wanted) {
        let Some(pid) = p.person_id else { continue };
        if level != Level::Community || is_secretary(e, pid).await? {
            return Ok(Some((pid, p.name.clone())));
        }
    }
    Ok(None)
}

async fn is_secretary(e: &mut impl Exec, person_id: i64) -> Result<bool, AppError> {
    Ok(people::get(e, person_id).await?.is_some_and(|p| {
        p.kinds
            .iter()
            .any(|k| k == PersonKind::PartySecretary.code())
    }))
}

fn plan_value(doc: Option<&serde_json::Value>, key: &str) -> Option<String> {
    doc.and_then(|d| d.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Plans the meeting (or changes its plan while it has not started).
pub async fn plan(db: &Db, actor: &Actor, case_id: i64, input: &PlanInput) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let c = case_at_meeting(&mut tx, actor, case_id).await?;
    let docs = case_store::documents(&mut tx, case_id).await?;
    let plan_doc = docs
        .iter()
        .find(|d| d.kind == DocKind::MeetingPlan.code())
        .map(|d| &d.body);
    let pick = |v: &Option<String>, key: &str| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .or_else(|| plan_value(plan_doc, key))
    };
    let mut errors = FieldErrors::new();
    let held_on_text = pick(&input.held_on, "date");
    let held_on = optional_date(&mut errors, "held_on", "会议日期", held_on_text.as_deref());
    if held_on_text.is_none() {
        errors.add("held_on", "请填写会议日期");
    }
    let start_time = pick(&input.start_time, "time").unwrap_or_default();
    let start_time = match chrono::NaiveTime::parse_from_str(start_time.trim(), "%H:%M") {
        Ok(t) => t.format("%H:%M").to_string(),
        Err(_) => {
            errors.add("start_time", "开始时间格式应为 时:分，例如 09:30");
            String::new()
        }
    };
    let place = required_text(
        &mut errors,
        "place",
        "会议地点",
        &pick(&input.place, "place").unwrap_or_default(),
        100,
    );
    errors.into_result().map_err(AppError::Validation)?;
    let held_on = held_on.unwrap_or_else(crate::render::today);
    let existing = store::by_case(&mut tx, case_id).await?;
    let meeting_id = match &existing {
        Some(m) if m.status != "planned" => {
            return Err(AppError::broken(
                "R-MEET-3",
                "meeting",
                "会议已开始，不能再修改安排",
            ));
        }
        Some(m) => m.id,
        None => {
            let id = store::insert(
                &mut tx,
                case_id,
                c.org_id,
                &PlanFields {
                    held_on,
                    start_time: start_time.clone(),
                    place: place.clone(),
                    chair_person_id: None,
                    chair_name: String::new(),
                },
                actor_id(actor),
            )
            .await?;
            for f in fixed_members(&mut tx, &c, held_on).await? {
                store::add_participant(&mut tx, id, &f).await?;
            }
            id
        }
    };
    let ps = store::participants(&mut tx, meeting_id).await?;
    let level = Level::parse(&c.level).unwrap_or(Level::Community);
    let chair = match input.chair_person_id {
        Some(pid) => {
            let p = ps
                .iter()
                .find(|p| p.person_id == Some(pid))
                .ok_or_else(|| AppError::field("chair_person_id", "主持人须是参会人员"))?;
            Some((pid, p.name.clone()))
        }
        None => match existing.as_ref().and_then(|m| m.chair_person_id) {
            Some(pid) if ps.iter().any(|p| p.person_id == Some(pid)) => {
                existing.as_ref().map(|m| (pid, m.chair_name.clone()))
            }
            _ => proposed_chair(&mut tx, level, &ps).await?,
        },
    };
    store::update_plan(
        &mut tx,
        meeting_id,
        &PlanFields {
            held_on,
            start_time,
            place,
            chair_person_id: chair.as_ref().map(|c| c.0),
            chair_name: chair.map(|c| c.1).unwrap_or_default(),
        },
    )
    .await?;
    let after = store::by_case(&mut tx, case_id).await?;
    record(
        &mut tx,
        actor,
        if existing.is_some() {
            "meeting.update"
        } else {
            "meeting.create"
        },
        meeting_id,
        super::json(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A mobile member (机动人员, R-MEET-2): a person or a unit of the organisation, never a name
/// typed from nowhere.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ParticipantInput {
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub person_id: Option<i64>,
    /// A unit (department, co-building unit, property company…) and who represents it.
    #[serde(deserialize_with = "super::opt_id::deserialize")]
    pub unit_id: Option<i64>,
    /// The unit's representative (with `unit_id`).
    pub name: Option<String>,
    /// R-MEET-2 kind (code or label); default from the person or unit.
    pub kind: Option<String>,
}

pub async fn add_participant(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    input: &ParticipantInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let kind = match input
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(k) => match ParticipantKind::parse(k) {
            Some(k) => Some(k),
            None => {
                errors.add("kind", "请选择参会人员类别");
                None
            }
        },
    };
    let name = optional_text(&mut errors, "name", "代表姓名", input.name.as_deref(), 30);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let c = case_at_meeting(&mut tx, actor, case_id).await?;
    let m = meeting_of(&mut tx, case_id).await?;
    if m.status != "planned" {
        return Err(AppError::broken(
            "R-MEET-3",
            "meeting",
            "会议已开始，不能再增减参会人员",
        ));
    }
    let district = path_ids(&c.org_path).first().copied();
    let inside = |path: &str| path_ids(path).first().copied() == district;
    let fields = match (input.person_id, input.unit_id) {
        (Some(pid), _) => {
            let p = people::get(&mut tx, pid)
                .await?
                .ok_or_else(|| AppError::field("person_id", "人员不存在"))?;
            if !inside(&p.org_path) {
                return Err(AppError::broken(
                    "R-MEET-2",
                    "person_id",
                    format!("{}不属于本区的组织，不能作为参会人员", p.name),
                ));
            }
            let default_kind = if p.kinds.iter().any(|k| k == "deputy") {
                ParticipantKind::Deputy
            } else if p.kinds.iter().any(|k| k == "council_member") {
                ParticipantKind::CouncilMember
            } else {
                ParticipantKind::ResidentRepresentative
            };
            let kind = kind.unwrap_or(default_kind);
            ParticipantFields {
                person_id: Some(p.id),
                name: p.name,
                kind: kind.code().into(),
                fixed: kind.is_fixed(),
                unit_name: p.unit_name,
            }
        }
        (None, Some(uid)) => {
            let u = units::get(&mut tx, uid)
                .await?
                .ok_or_else(|| AppError::field("unit_id", "单位不存在"))?;
            if !inside(&u.org_path) {
                return Err(AppError::broken(
                    "R-MEET-2",
                    "unit_id",
                    format!("{}不属于本区的组织，不能参会", u.name),
                ));
            }
            use roundtable_core::org::UnitType;
            let kind = kind.unwrap_or(match UnitType::parse(&u.unit_type) {
                Some(UnitType::DistrictDepartment) => ParticipantKind::Department,
                Some(UnitType::PropertyCompany) => ParticipantKind::Property,
                Some(UnitType::CoBuildingUnit | UnitType::AssistanceUnit) => {
                    ParticipantKind::CoBuildingUnit
                }
                Some(
                    UnitType::OwnersCommittee
                    | UnitType::ResidentsCouncil
                    | UnitType::BuildingCommittee
                    | UnitType::SelfGovernanceCommittee,
                ) => ParticipantKind::ResidentRepresentative,
                _ => ParticipantKind::LocalUnit,
            });
            ParticipantFields {
                person_id: None,
                name: name
                    .or(u.contact_name.clone())
                    .unwrap_or_else(|| format!("{}代表", u.name)),
                kind: kind.code().into(),
                fixed: false,
                unit_name: Some(u.name),
            }
        }
        (None, None) => {
            return Err(AppError::broken(
                "R-MEET-2",
                "person_id",
                "请从人员或单位中选择参会人员",
            ));
        }
    };
    if store::add_participant(&mut tx, m.id, &fields)
        .await?
        .is_none()
    {
        return Err(AppError::field(
            "person_id",
            format!("{}已在参会名单中", fields.name),
        ));
    }
    record(
        &mut tx,
        actor,
        "meeting.participant_add",
        m.id,
        serde_json::json!({"name": fields.name, "kind": fields.kind, "unit": fields.unit_name}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_participant(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    participant_id: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    case_at_meeting(&mut tx, actor, case_id).await?;
    let m = meeting_of(&mut tx, case_id).await?;
    if m.status != "planned" {
        return Err(AppError::broken(
            "R-MEET-3",
            "meeting",
            "会议已开始，不能再增减参会人员",
        ));
    }
    if !store::remove_participant(&mut tx, m.id, participant_id).await? {
        return Err(AppError::NotFound);
    }
    record(
        &mut tx,
        actor,
        "meeting.participant_remove",
        m.id,
        serde_json::json!({"participant_id": participant_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn plan_facts(
    e: &mut impl Exec,
    c: &Case,
    m: &Meeting,
    ps: &[Participant],
) -> Result<PlanFacts, AppError> {
    let chair_is_secretary = match m.chair_person_id {
        Some(pid) => is_secretary(e, pid).await?,
        None => false,
    };
    Ok(plan_facts_of(c, m, ps, chair_is_secretary))
}

fn plan_facts_of(c: &Case, m: &Meeting, ps: &[Participant], chair_is_secretary: bool) -> PlanFacts {
    let chair = m
        .chair_person_id
        .and_then(|pid| ps.iter().find(|p| p.person_id == Some(pid)));
    PlanFacts {
        level: Level::parse(&c.level),
        participants: ps
            .iter()
            .map(|p| ParticipantKind::parse(&p.kind).unwrap_or(ParticipantKind::Other))
            .collect(),
        chair: chair.and_then(|p| ParticipantKind::parse(&p.kind)),
        chair_is_secretary,
    }
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct OpenInput {
    /// Why the meeting goes ahead despite its warnings (R-MEET-1/2/4; "原则上").
    pub override_reason: Option<String>,
}

/// Opens the meeting: sign-in, minutes and the resolution may start. The plan's warnings are
/// accepted only with a reason, which is kept.
pub async fn open(db: &Db, actor: &Actor, case_id: i64, input: &OpenInput) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let reason = optional_text(
        &mut errors,
        "override_reason",
        "理由",
        input.override_reason.as_deref(),
        500,
    );
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let c = case_at_meeting(&mut tx, actor, case_id).await?;
    let m = meeting_of(&mut tx, case_id).await?;
    let ps = store::participants(&mut tx, m.id).await?;
    let ws = warnings(&plan_facts(&mut tx, &c, &m, &ps).await?);
    check_override(&ws, reason.as_deref().unwrap_or("")).map_err(AppError::rule)?;
    let reason = if ws.is_empty() { None } else { reason };
    if !store::open(&mut tx, m.id, &super::json(&ws), reason.as_deref()).await? {
        return Err(AppError::broken("R-MEET-3", "meeting", "会议已经开始"));
    }
    record(
        &mut tx,
        actor,
        "meeting.open",
        m.id,
        serde_json::json!({"warnings": ws, "override_reason": reason}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// 签到 (R-MEET-3) of one participant, on the screen at the meeting.
pub async fn sign_in(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    participant_id: i64,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    case_at_meeting(&mut tx, actor, case_id).await?;
    let m = meeting_of(&mut tx, case_id).await?;
    require_held(&m)?;
    if !store::sign_in(&mut tx, m.id, participant_id).await? {
        return Err(AppError::field(
            "participant_id",
            "该参会人员已签到或不在名单中",
        ));
    }
    record(
        &mut tx,
        actor,
        "meeting.sign_in",
        m.id,
        serde_json::json!({"participant_id": participant_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The minutes' text per agenda item (R-MEET-3), keyed by the items of `AGENDA`.
fn check_items(items: &BTreeMap<String, String>) -> Result<serde_json::Value, AppError> {
    let mut errors = FieldErrors::new();
    let mut body = serde_json::Map::new();
    for (key, label) in AGENDA {
        if let Some(t) = optional_text(
            &mut errors,
            key,
            label,
            items.get(key).map(String::as_str),
            5000,
        ) {
            body.insert(key.into(), t.into());
        }
    }
    if errors.is_empty() && body.is_empty() {
        errors.add(AGENDA[0].0, "请至少记录一项议程的内容");
    }
    errors.into_result().map_err(AppError::Validation)?;
    Ok(serde_json::Value::Object(body))
}

/// Writes the draft minutes (the first version, or the current draft).
pub async fn save_minutes(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    items: &BTreeMap<String, String>,
) -> Result<(), AppError> {
    let body = check_items(items)?;
    let mut tx = db.begin().await?;
    case_at_meeting(&mut tx, actor, case_id).await?;
    let m = meeting_of(&mut tx, case_id).await?;
    require_held(&m)?;
    let current = store::minutes(&mut tx, m.id).await?.into_iter().next();
    let id = match current {
        None => store::insert_minutes(&mut tx, m.id, &body, None, actor_id(actor)).await?,
        Some(cur) => {
            let status = MinutesStatus::parse(&cur.status).unwrap_or(MinutesStatus::Confirmed);
            check_minutes_edit(status).map_err(AppError::rule)?;
            if !store::update_minutes(&mut tx, cur.id, &body).await? {
                return Err(AppError::broken(
                    "R-MEET-3",
                    "minutes",
                    "会议记录刚被他人更新，请刷新后重试",
                ));
            }
            cur.id
        }
    };
    record(
        &mut tx,
        actor,
        "meeting.minutes_save",
        m.id,
        serde_json::json!({"minutes_id": id, "body": body}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MinutesAction {
    /// review (send to the attendees), draft (back for changes), confirm, correct (a new
    /// version of confirmed minutes)
    pub action: String,
    /// Why a correction is needed (with `correct`).
    pub reason: Option<String>,
}

pub async fn minutes_action(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    a: &MinutesAction,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let reason = optional_text(&mut errors, "reason", "更正理由", a.reason.as_deref(), 500);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    case_at_meeting(&mut tx, actor, case_id).await?;
    let m = meeting_of(&mut tx, case_id).await?;
    require_held(&m)?;
    let all = store::minutes(&mut tx, m.id).await?;
    let cur = all
        .first()
        .ok_or_else(|| AppError::broken("R-MEET-3", "minutes", "还没有会议记录"))?;
    let from = MinutesStatus::parse(&cur.status).unwrap_or(MinutesStatus::Confirmed);
    if a.action.trim() == "correct" {
        require_not_filed(&m)?;
        if from != MinutesStatus::Confirmed {
            return Err(AppError::broken(
                "R-MEET-3",
                "minutes",
                "只有已确认的会议记录才需要更正",
            ));
        }
        let reason = reason.ok_or_else(|| AppError::field("reason", "请写明更正理由"))?;
        let id = store::insert_minutes(
            &mut tx,
            m.id,
            &cur.body,
            Some((cur.id, &reason)),
            actor_id(actor),
        )
        .await?;
        record(
            &mut tx,
            actor,
            "meeting.minutes_correct",
            m.id,
            serde_json::json!({"minutes_id": id, "supersedes": cur.id, "reason": reason}),
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    let to = match a.action.trim() {
        "review" => MinutesStatus::Review,
        "draft" => MinutesStatus::Draft,
        "confirm" => MinutesStatus::Confirmed,
        _ => {
            return Err(AppError::field(
                "action",
                "操作应为 review、draft、confirm 或 correct",
            ));
        }
    };
    check_minutes_move(from, to).map_err(AppError::rule)?;
    if !store::set_minutes_status(&mut tx, cur.id, from.code(), to.code(), actor_id(actor)).await? {
        return Err(AppError::broken(
            "R-MEET-3",
            "minutes",
            "会议记录刚被他人更新，请刷新后重试",
        ));
    }
    // A confirmed correction replaces the version it corrects (which stays readable).
    if to == MinutesStatus::Confirmed
        && let Some(old) = cur.supersedes_id
    {
        store::set_minutes_status(&mut tx, old, "confirmed", "superseded", None).await?;
    }
    record(
        &mut tx,
        actor,
        &format!("meeting.minutes_{}", to.code()),
        m.id,
        serde_json::json!({"minutes_id": cur.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CommentInput {
    pub body: String,
}

/// An attendee's comment on minutes under review (anyone who may see the case).
pub async fn comment(
    db: &Db,
    actor: &Actor,
    author_name: &str,
    case_id: i64,
    input: &CommentInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let body = required_text(&mut errors, "body", "意见", &input.body, 1000);
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    let c = case_store::get(&mut tx, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(actor, Action::View, ResourceKind::Case, &c.org_path, None)?;
    let m = meeting_of(&mut tx, case_id).await?;
    let cur = store::minutes(&mut tx, m.id)
        .await?
        .into_iter()
        .next()
        .filter(|x| x.status == MinutesStatus::Review.code())
        .ok_or_else(|| AppError::broken("R-MEET-3", "body", "会议记录不在审阅中，不能提意见"))?;
    store::add_comment(&mut tx, cur.id, actor_id(actor), author_name, &body).await?;
    record(
        &mut tx,
        actor,
        "meeting.minutes_comment",
        m.id,
        serde_json::json!({"minutes_id": cur.id, "body": body}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The resolution (协商决议) with an optional vote (all three counts, or none).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ResolutionInput {
    pub text: String,
    pub votes_for: Option<String>,
    pub votes_against: Option<String>,
    pub votes_abstain: Option<String>,
}

pub async fn resolve(
    db: &Db,
    actor: &Actor,
    case_id: i64,
    input: &ResolutionInput,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    let text = required_text(&mut errors, "text", "协商决议", &input.text, 3000);
    let mut count = |field: &str, v: &Option<String>| -> Option<i64> {
        let v = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add(field, "票数应为整数");
                None
            }
        }
    };
    let votes = [
        count("votes_for", &input.votes_for),
        count("votes_against", &input.votes_against),
        count("votes_abstain", &input.votes_abstain),
    ];
    let given = votes.iter().filter(|v| v.is_some()).count();
    if given != 0 && given != 3 {
        errors.add(
            "votes",
            "表决时请填写赞成、反对、弃权三项票数（不表决则都不填）",
        );
    }
    errors.into_result().map_err(AppError::Validation)?;
    let tally = (given == 3).then(|| Tally {
        for_: votes[0].unwrap_or(0),
        against: votes[1].unwrap_or(0),
        abstain: votes[2].unwrap_or(0),
    });
    let mut tx = db.begin().await?;
    case_at_meeting(&mut tx, actor, case_id).await?;
    let m = meeting_of(&mut tx, case_id).await?;
    require_held(&m)?;
    require_not_filed(&m)?;
    if let Some(t) = &tally {
        let present = store::participants(&mut tx, m.id)
            .await?
            .iter()
            .filter(|p| p.signed_in_at.is_some())
            .count();
        check_tally(t, present).map_err(AppError::rule)?;
    }
    store::set_resolution(
        &mut tx,
        m.id,
        &text,
        tally.map(|t| (t.for_, t.against, t.abstain)),
    )
    .await?;
    record(
        &mut tx,
        actor,
        "meeting.resolution",
        m.id,
        serde_json::json!({"text": text, "tally": tally}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// 备案登记 (R-PROC-4): the next number of the community's year, once the minutes are
/// confirmed and the resolution recorded.
pub async fn file(db: &Db, actor: &Actor, case_id: i64) -> Result<String, AppError> {
    let mut tx = db.begin().await?;
    let c = case_at_meeting(&mut tx, actor, case_id).await?;
    let m = meeting_of(&mut tx, case_id).await?;
    require_held(&m)?;
    require_not_filed(&m)?;
    let f = store::facts(&mut tx, case_id).await?;
    if f.minutes_confirmed == 0 || !f.resolution {
        return Err(AppError::broken(
            "R-PROC-4",
            "meeting",
            "备案登记前须有已确认的会议记录和协商决议",
        ));
    }
    let org = orgs::get(&mut tx, c.org_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let year = chrono::Datelike::year(&m.held_on);
    let seq = store::next_filing_seq(&mut tx, c.org_id, year as i64).await?;
    let number = filing_number(&org.code, year, seq);
    if !store::file(&mut tx, m.id, year as i64, seq, &number).await? {
        return Err(AppError::broken("R-PROC-4", "meeting", "会议已备案登记"));
    }
    // The resolution as filed, fingerprinted (it changes no more).
    let text = serde_json::json!({
        "kind": "resolution", "case": c.public_code, "title": c.title, "community": org.name,
        "filing_number": number, "held_on": m.held_on, "resolution": m.resolution,
        "votes": {"for": m.votes_for, "against": m.votes_against, "abstain": m.votes_abstain},
    })
    .to_string();
    let fp =
        roundtable_store::fingerprints::insert(&mut tx, "resolution", case_id, m.id, &text).await?;
    record(
        &mut tx,
        actor,
        "meeting.file",
        m.id,
        serde_json::json!({"filing_number": number, "fingerprint": fp.digest}),
    )
    .await?;
    tx.commit().await?;
    Ok(number)
}

/// The meeting as the case page and the API show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MeetingView {
    pub meeting: Meeting,
    pub participants: Vec<Participant>,
    /// What is unusual about the plan now (R-MEET-1/2/4): accepted with a reason when opened.
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<Warning>,
    /// Who R-MEET-4 says chairs, e.g. 挂点区级领导.
    pub chair_rule: String,
    /// Every version, newest first.
    pub minutes: Vec<Minutes>,
    pub comments: Vec<Comment>,
}

pub async fn view(db: &Db, actor: &Actor, case_id: i64) -> Result<Option<MeetingView>, AppError> {
    let mut e = db.conn().await?;
    let c = case_store::get(&mut e, case_id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(actor, Action::View, ResourceKind::Case, &c.org_path, None)?;
    view_of(&mut e, &c).await
}

/// The meeting of a case the caller has already shown the actor may see, in one round trip
/// (`store::meeting_reads`).
pub async fn view_of(e: &mut impl Exec, c: &Case) -> Result<Option<MeetingView>, AppError> {
    let r = store::meeting_reads(e, c.id, PersonKind::PartySecretary.code()).await?;
    let Some(m) = r.meeting else {
        return Ok(None);
    };
    let ws = warnings(&plan_facts_of(c, &m, &r.participants, r.chair_is_secretary));
    Ok(Some(MeetingView {
        chair_rule: chair_label(Level::parse(&c.level).unwrap_or(Level::Community)).into(),
        minutes: r.minutes,
        comments: r.comments,
        warnings: ws,
        participants: r.participants,
        meeting: m,
    }))
}

/// Whom the page offers as mobile members: people of the case's street (its communities
/// included) and units of the district, as (id, label).
pub async fn candidates(
    db: &Db,
    case: &Case,
) -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), AppError> {
    let ids = path_ids(&case.org_path);
    let mut e = db.pool();
    let street = ids.len().checked_sub(2).map(|i| ids[i]);
    let ppl = people::list(
        &mut e,
        &super::everywhere(),
        &people::PersonFilter {
            org_id: street.or(Some(case.org_id)),
            ..Default::default()
        },
        PageReq::new(Some(1), Some(200)),
    )
    .await?;
    let us = units::list(
        &mut e,
        &super::everywhere(),
        &units::UnitFilter {
            org_id: ids.first().copied(),
            ..Default::default()
        },
        PageReq::new(Some(1), Some(200)),
    )
    .await?;
    Ok((
        ppl.items
            .into_iter()
            .map(|p| (p.id, format!("{}（{}）", p.name, p.org_name)))
            .collect(),
        us.items
            .into_iter()
            .map(|u| (u.id, format!("{}（{}）", u.name, u.org_name)))
            .collect(),
    ))
}
