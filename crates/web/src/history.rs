//! The history generator (issue 4 item 9): years of realistic deliberation in the demo — one
//! case a month per community (R-PROC-0), from topics of every channel through the seven
//! steps, most of them to 办结, some stopped, the recent ones still running — written through
//! the same service functions the pages use, with the clock moved to each day
//! (`roundtable_store::clock`). At city size (1,500 communities × 5 years ≈ 90,000 cases) it
//! feeds the benchmarks.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use roundtable_core::access::{Actor, Grant, Role};
use roundtable_store::{Db, Exec, Sql, args, clock};

use crate::error::AppError;
use crate::services::calendar::CalendarCache;
use crate::services::cases::{self, CaseInput, MoveInput, VisitInput};
use crate::services::evidence::Evidence;
use crate::services::meetings::{self, MinutesAction, OpenInput, PlanInput, ResolutionInput};
use crate::services::projects::{
    self, AcceptanceInput, AgreementInput, AnswerInput, BudgetInput, InspectionInput, LedgerAction,
    MemberInput, ObjectionInput, RemarkInput, TaskInput, VoteInput,
};
use crate::services::resources::{self, AcceptInput, NeedInput};
use crate::services::topics::{self, DecisionInput, TopicInput};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Months of history, ending with this month (its cases still running).
    pub months: u32,
    /// Only the first N communities (None: all).
    pub communities: Option<usize>,
    pub seed: u64,
    /// Communities written at once (1 to 16).
    pub parallel: usize,
}

/// What was generated.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Report {
    pub cases: u64,
    pub done: u64,
    pub stopped: u64,
    pub running: u64,
    pub topics: u64,
    /// Six-ones records of party members (R-MEM-1).
    pub six_ones: u64,
}

const TASKS: [&str; 3] = ["方案设计", "组织施工", "竣工清理"];
const UNITS: [&str; 3] = ["社区居委会", "物业公司", "施工单位"];

const MATTERS: &[(&str, &str, &str)] = &[
    (
        "safety",
        "北门路面坑洼积水",
        "北门外路面坑洼，雨天积水，老人出行不便。",
    ),
    (
        "environment",
        "小区绿化带改造",
        "绿化带杂草丛生，蚊虫多，居民希望改造成休闲步道。",
    ),
    (
        "culture",
        "老年活动室设施更新",
        "活动室桌椅老旧，希望添置乒乓球台和书架。",
    ),
    (
        "living_care",
        "老旧楼栋加装电梯",
        "多层住宅老人上下楼困难，希望加装电梯。",
    ),
    (
        "public_benefit",
        "便民服务点设置",
        "希望在小区设置便民理发、维修服务点。",
    ),
    (
        "safety",
        "电动车集中充电棚建设",
        "楼道充电存在火灾隐患，需要建设集中充电棚。",
    ),
    (
        "environment",
        "垃圾分类投放点改造",
        "投放点位置不合理，气味大，影响一楼住户。",
    ),
    (
        "safety",
        "背街小巷路灯维修",
        "巷子路灯坏了多盏，夜间出行不安全。",
    ),
    (
        "living_care",
        "小区停车位划线",
        "车辆乱停乱放，消防通道被占用。",
    ),
    ("culture", "社区健身器材更新", "健身器材老化，有安全隐患。"),
];

/// The system account of the generator, and a second one that confirms what the first ticked
/// off (R-PROC-6: confirmed by someone else).
fn actors() -> (Actor, Actor) {
    let admin = |user_id| Actor {
        user_id,
        person_id: None,
        grants: vec![Grant {
            role: Role::SystemAdmin,
            org_id: None,
        }],
        linked_streets: vec![],
    };
    (admin(0), admin(-1))
}

/// Moves the clock to 10:00 China time of `day` (+ `minutes`).
fn at(day: NaiveDate, minutes: i64) {
    let t = Utc.from_utc_datetime(&day.and_hms_opt(2, 0, 0).unwrap_or_default())
        + Duration::minutes(minutes);
    clock::set_now(t);
}

struct Community {
    id: i64,
    council: i64,
    person: i64,
}

async fn communities(db: &Db, limit: Option<usize>) -> Result<Vec<Community>, AppError> {
    #[derive(Debug)]
    struct Row(i64, Option<i64>, Option<i64>);
    impl roundtable_store::FromRow for Row {
        fn from_row(r: &roundtable_store::Row<'_>) -> Result<Self, roundtable_store::StoreError> {
            Ok(Row(r.get("id")?, r.get("council")?, r.get("person")?))
        }
    }
    let rows: Vec<Row> = db
        .pool()
        .fetch_all(Sql::with(
            "SELECT o.id, (SELECT MIN(person_id) FROM links l WHERE l.org_id = o.id AND l.kind = 'council_member') AS council, (SELECT MIN(id) FROM people p WHERE p.org_id = o.id) AS person FROM orgs o WHERE o.kind IN ('community', 'village') ORDER BY o.id LIMIT $1",
            args![limit.map_or(i64::MAX, |n| n as i64)],
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Community {
                id: r.0,
                council: r.1?,
                person: r.2?,
            })
        })
        .collect())
}

fn first_of_month(today: NaiveDate, back: u32) -> NaiveDate {
    let mut y = today.year();
    let mut m = today.month() as i32 - back as i32;
    while m <= 0 {
        m += 12;
        y -= 1;
    }
    NaiveDate::from_ymd_opt(y, m as u32, 1).unwrap_or(today)
}

/// Generates the history; `progress(done, total)` is called after each case.
///
/// The communities are written `opts.parallel` groups at a time, each group under a clock of
/// its own (`clock::scoped`): on PostgreSQL one group's statements run while another waits
/// (1,000 cases: 36 s one at a time, 32 s four at a time); on SQLite, whose writers queue for
/// one lock, it gains nothing and costs nothing.
pub async fn generate(
    db: &Db,
    calendar: &CalendarCache,
    opts: &Options,
    progress: &dyn Fn(u64, u64),
) -> Result<Report, AppError> {
    let real_today = crate::render::today();
    let list = communities(db, opts.communities).await?;
    let total = list.len() as u64 * opts.months as u64;
    let done = std::cell::Cell::new(0u64);
    let groups = opts.parallel.clamp(1, 16);
    let shard = |k: usize| {
        let list = &list;
        let done = &done;
        clock::scoped(async move {
            // Each group draws from its own seed: the same options give the same history.
            let mut rng = StdRng::seed_from_u64(opts.seed.wrapping_add(k as u64));
            let mut report = Report::default();
            for back in (0..opts.months).rev() {
                let month = first_of_month(real_today, back);
                for c in list.iter().skip(k).step_by(groups) {
                    let outcome = one_case(db, calendar, &mut rng, c, month, real_today).await?;
                    report.cases += 1;
                    report.topics += 2;
                    match outcome {
                        Outcome::Done => report.done += 1,
                        Outcome::Stopped => report.stopped += 1,
                        Outcome::Running => report.running += 1,
                    }
                    done.set(done.get() + 1);
                    progress(done.get(), total);
                }
            }
            Ok::<Report, AppError>(report)
        })
    };
    let reports = futures_util::future::try_join_all((0..groups).map(shard)).await?;
    let mut rng = StdRng::seed_from_u64(opts.seed.wrapping_add(1_000));
    let six_ones = six_ones(db, &mut rng, &list, opts.months, real_today).await?;
    Ok(reports.into_iter().fold(
        Report {
            six_ones,
            ..Report::default()
        },
        |a, r| Report {
            cases: a.cases + r.cases,
            done: a.done + r.done,
            stopped: a.stopped + r.stopped,
            running: a.running + r.running,
            topics: a.topics + r.topics,
            six_ones: a.six_ones,
        },
    ))
}

/// The six ones (R-MEM-1) of the communities' in-service party members over the history's
/// months: each item done once a year by most members, on a day of that year up to today, as
/// the community would have recorded it. Written straight to the store in large transactions
/// (tens of thousands of rows; one service call each would take the demo longer than its
/// cases), with no audit rows: it is generated data, not anyone's act.
async fn six_ones(
    db: &Db,
    rng: &mut StdRng,
    list: &[Community],
    months: u32,
    today: NaiveDate,
) -> Result<u64, AppError> {
    use roundtable_core::obligations::SixOne;
    let start = first_of_month(today, months.saturating_sub(1));
    let mut written = 0u64;
    for chunk in list.chunks(20) {
        let ids: Vec<String> = chunk.iter().map(|c| c.id.to_string()).collect();
        let members: Vec<i64> = db
            .pool()
            .fetch_all(Sql::with(
                &format!(
                    "SELECT p.id FROM people p JOIN person_kinds k ON k.person_id = p.id AND k.kind = $1 WHERE p.org_id IN ({}) ORDER BY p.id",
                    ids.join(", ")
                ),
                args![roundtable_core::people::PersonKind::PartyMember.code()],
            ))
            .await?;
        let mut tx = db.begin().await?;
        for person in members {
            // A member who keeps up, one who lags, one who has not started.
            let diligence = rng.gen_range(0..100);
            for year in start.year()..=today.year() {
                let (Some(first), Some(last)) = (
                    NaiveDate::from_ymd_opt(year, 1, 1).map(|d| d.max(start)),
                    NaiveDate::from_ymd_opt(year, 12, 31).map(|d| d.min(today)),
                ) else {
                    continue;
                };
                let span = (last - first).num_days().max(0);
                for &item in SixOne::ALL {
                    if rng.gen_range(0..100) >= diligence {
                        continue;
                    }
                    let day = first + Duration::days(rng.gen_range(0..=span));
                    roundtable_store::obligations::insert_six_one(
                        &mut tx,
                        person,
                        item,
                        day,
                        item.label(),
                        None,
                    )
                    .await?;
                    written += 1;
                }
            }
        }
        tx.commit().await?;
    }
    Ok(written)
}

enum Outcome {
    Done,
    Stopped,
    Running,
}

fn input<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("generator input matches its type")
}

/// One community's case of one month: as far as the days up to `today` allow.
#[allow(clippy::too_many_arguments)]
async fn one_case(
    db: &Db,
    calendar: &CalendarCache,
    rng: &mut StdRng,
    c: &Community,
    month: NaiveDate,
    today: NaiveDate,
) -> Result<Outcome, AppError> {
    let (actor, confirmer) = actors();
    let (category, title, description) = MATTERS[rng.gen_range(0..MATTERS.len())];
    let level = match rng.gen_range(0..10) {
        0 => "district",
        1 | 2 => "street",
        _ => "community",
    };
    let mut day = month + Duration::days(rng.gen_range(0..4));
    let step = |d: &mut NaiveDate, days: i64| {
        *d += Duration::days(days);
        *d <= today
    };
    at(day, 0);
    // Topics from several channels: the chosen one, and a personal appeal screened out.
    let channel = ["hotline", "portal", "wechat", "questionnaire", "qq"][rng.gen_range(0..5)];
    let t = topics::create(
        db,
        &actor,
        &input::<TopicInput>(serde_json::json!({
            "org_id": c.id, "title": format!("{title}（{}月）", month.month()), "description": description,
            "category": category, "channel": channel, "level": level,
            "submitter_name": "居民", "contact_consent": "1",
        })),
    )
    .await?;
    let personal = topics::create(
        db,
        &actor,
        &input::<TopicInput>(serde_json::json!({
            "org_id": c.id, "title": "家中水管漏水请求维修", "description": "自家卫生间水管漏水，请社区帮忙找人维修。",
            "category": "living_care", "channel": "hotline",
        })),
    )
    .await?;
    topics::decide(db, &actor, personal.id, &input::<DecisionInput>(serde_json::json!({
        "action": "reject", "reason": "personal", "referred_to": "物业服务中心", "public_note": "属个人诉求，已转物业处理",
    })))
    .await?;
    topics::decide(
        db,
        &actor,
        t.id,
        &input::<DecisionInput>(serde_json::json!({"action": "accept", "public_note": "已受理"})),
    )
    .await?;
    let case = cases::create(
        db,
        &actor,
        &CaseInput {
            topic_id: Some(t.id),
            note: Some("本月圆桌会议题".into()),
        },
    )
    .await?;
    let id = case.id;
    let advance = |reason: Option<&str>| MoveInput {
        action: if reason.is_some() {
            "stop".into()
        } else {
            "advance".into()
        },
        reason: reason.map(str::to_string),
        step: None,
    };
    cases::move_step(db, &actor, id, &advance(None)).await?;
    let stop_at = if rng.gen_range(0..100) < 5 {
        rng.gen_range(2..6)
    } else {
        99
    };
    let stop = |k: u32| k == stop_at;

    // 2 征求意见
    if !step(&mut day, 2) {
        return Ok(Outcome::Running);
    }
    at(day, 0);
    cases::add_visit(
        db,
        &actor,
        id,
        &VisitInput {
            visitor_person_id: Some(c.council),
            place: format!("{}栋{}单元", rng.gen_range(1..20), rng.gen_range(1..4)),
            visited_on: day.to_string(),
            findings: "情况属实，涉及住户较多".into(),
            opinion: Some("希望尽快解决".into()),
            opinion_author: Some("楼栋长".into()),
        },
        &Evidence::none(),
    )
    .await?;
    let doc = |v: serde_json::Value| -> BTreeMap<String, String> { input(v) };
    cases::save_document(db, &actor, id, "preliminary_plan", &doc(serde_json::json!({"content": format!("{title}初步方案：社区牵头，相关方配合，资金多方筹措。")}))).await?;
    cases::move_step(db, &actor, id, &advance(None)).await?;
    if stop(2) {
        cases::move_step(db, &actor, id, &advance(Some("居民意见分歧较大，暂缓议事"))).await?;
        return Ok(Outcome::Stopped);
    }

    // 3 分析研判
    if !step(&mut day, 3) {
        return Ok(Outcome::Running);
    }
    at(day, 0);
    let meeting_day = day + Duration::days(4);
    cases::save_document(db, &actor, id, "council_meeting", &doc(serde_json::json!({"held_on": day.to_string(), "attendees": "民情理事会成员5人", "conclusions": "属公共事务，建议提交圆桌会"}))).await?;
    cases::save_document(db, &actor, id, "feasibility", &doc(serde_json::json!({"nature": "公共事务", "content": title, "impact": "全小区", "scope": "小区范围", "conclusion": "可行"}))).await?;
    cases::save_document(db, &actor, id, "meeting_plan", &doc(serde_json::json!({"date": meeting_day.to_string(), "time": "09:30", "place": "社区党群服务中心", "participants": "固定人员及相关方", "agenda": "按议程"}))).await?;
    if level == "district" {
        cases::save_document(db, &actor, id, "leader_consultation", &doc(serde_json::json!({"leader": "挂点区级领导", "consulted_on": day.to_string(), "notes": "原则同意"}))).await?;
    }
    cases::move_step(db, &actor, id, &advance(None)).await?;
    if stop(3) {
        cases::move_step(
            db,
            &actor,
            id,
            &advance(Some("经研判不属于本社区可协商事项")),
        )
        .await?;
        return Ok(Outcome::Stopped);
    }

    // 4 协商议事
    if !step(&mut day, 4) {
        return Ok(Outcome::Running);
    }
    at(day, -60);
    meetings::plan(db, &actor, id, &PlanInput::default()).await?;
    for _ in 0..3 {
        let _ = meetings::add_participant(
            db,
            &actor,
            id,
            &input(serde_json::json!({"person_id": c.person + rng.gen_range(0..6)})),
        )
        .await;
    }
    meetings::open(
        db,
        &actor,
        id,
        &OpenInput {
            override_reason: Some("本月参会人员按实际安排".into()),
        },
    )
    .await?;
    at(day, 0);
    let view = meetings::view(db, &actor, id)
        .await?
        .ok_or(AppError::NotFound)?;
    for p in &view.participants {
        meetings::sign_in(db, &actor, id, p.id).await?;
    }
    let present = view.participants.len() as i64;
    at(day, 120);
    meetings::save_minutes(db, &actor, id, &doc(serde_json::json!({
        "introduction": format!("主持人介绍议题“{title}”的来源和审核情况"),
        "proposal": "议题提出人说明情况", "discussion": "参会人员充分发言", "summary": "主持人总结", "resolution": "现场形成决议",
    })))
    .await?;
    for a in ["review", "confirm"] {
        meetings::minutes_action(
            db,
            &actor,
            id,
            &MinutesAction {
                action: a.into(),
                reason: None,
            },
        )
        .await?;
    }
    let against = if present > 1 { rng.gen_range(0..2) } else { 0 };
    meetings::resolve(
        db,
        &actor,
        id,
        &ResolutionInput {
            text: format!("同意实施“{title}”项目，由社区牵头组织实施。"),
            votes_for: Some((present - against).to_string()),
            votes_against: Some(against.to_string()),
            votes_abstain: Some("0".into()),
        },
    )
    .await?;
    meetings::file(db, &actor, id).await?;
    cases::move_step(db, &actor, id, &advance(None)).await?;
    if stop(4) {
        cases::move_step(db, &actor, id, &advance(Some("资金未能落实，项目终止"))).await?;
        return Ok(Outcome::Stopped);
    }

    // 5 项目公示
    if !step(&mut day, 2) {
        return Ok(Outcome::Running);
    }
    at(day, 0);
    let tasks = rng.gen_range(2..4);
    for k in 0..tasks {
        projects::add_task(db, &actor, id, &input::<TaskInput>(serde_json::json!({
            "title": TASKS[k], "owner_name": "项目负责人", "unit_name": UNITS[k],
            "starts_on": (day + Duration::days(10)).to_string(), "due_on": (day + Duration::days(20 + 5 * k as i64)).to_string(),
            "milestone": if k == tasks - 1 { "1" } else { "" },
        })))
        .await?;
    }
    projects::add_budget(
        db,
        &actor,
        id,
        &BudgetInput {
            source: "fiscal".into(),
            amount: format!("{}", rng.gen_range(5..50) * 1000),
            note: None,
        },
    )
    .await?;
    projects::add_budget(
        db,
        &actor,
        id,
        &BudgetInput {
            source: "residents".into(),
            amount: format!("{}.50", rng.gen_range(1..20) * 100),
            note: Some("居民自筹".into()),
        },
    )
    .await?;
    // R-ORG-4: some plans take volunteers from the resource list, when one serves them.
    if rng.gen_range(0..10) < 4 {
        let needs = resources::add_need(
            db,
            &actor,
            id,
            &NeedInput {
                kind: "volunteers".into(),
                description: "施工期间秩序维护和宣传志愿者".into(),
                quantity: rng.gen_range(2..7).to_string(),
                measure: Some("人次".into()),
            },
        )
        .await?;
        if let Some(need) = needs.needs.last()
            && let Some(best) = need.proposals.first()
        {
            resources::accept(
                db,
                &actor,
                id,
                need.need.id,
                &AcceptInput {
                    resource_id: Some(best.proposal.resource_id),
                    quantity: String::new(),
                },
            )
            .await?;
        }
    }
    projects::add_agreement(
        db,
        &actor,
        id,
        &AgreementInput {
            party: "物业公司".into(),
            party_kind: "stakeholder".into(),
            agreed_on: day.to_string(),
            note: None,
        },
    )
    .await?;
    let notice = projects::publish_notice(calendar, 5, db, &actor, id).await?;
    if rng.gen_range(0..10) < 3 && notice.starts_on <= today {
        at(notice.starts_on, 0);
        projects::add_public_objection(
            db,
            &case.public_code,
            &ObjectionInput {
                content: "施工时间请避开早晚高峰".into(),
                ..Default::default()
            },
        )
        .await?;
        at(notice.starts_on, 240);
        let p = projects::view(db, &actor, id).await?;
        for o in p.objections.iter().filter(|o| o.answer.is_none()) {
            projects::answer_objection(
                db,
                &actor,
                id,
                o.id,
                &AnswerInput {
                    answer: "已调整为白天施工".into(),
                },
            )
            .await?;
        }
    }
    day = notice.ends_on + Duration::days(1);
    if day > today {
        return Ok(Outcome::Running);
    }
    at(day, 0);
    if stop(5) {
        cases::move_step(
            db,
            &actor,
            id,
            &advance(Some("公示期间居民反对意见较多，项目终止")),
        )
        .await?;
        return Ok(Outcome::Stopped);
    }
    cases::move_step(db, &actor, id, &advance(None)).await?;

    // 6 项目实施
    if !step(&mut day, 14) {
        return Ok(Outcome::Running);
    }
    at(day, 0);
    let p = projects::view(db, &actor, id).await?;
    for item in &p.ledger {
        projects::ledger_action(
            db,
            &actor,
            id,
            item.id,
            &LedgerAction {
                action: "close".into(),
                evidence: Some("已完成，现场照片存档".into()),
            },
            &Evidence::none(),
        )
        .await?;
        projects::ledger_action(
            db,
            &confirmer,
            id,
            item.id,
            &LedgerAction {
                action: "confirm".into(),
                evidence: None,
            },
            &Evidence::none(),
        )
        .await?;
    }
    if level != "community" {
        projects::add_remark(
            db,
            &actor,
            "挂点领导",
            id,
            &RemarkInput {
                remark: "按期推进，协调解决资金".into(),
            },
        )
        .await?;
    }
    projects::publish_bulletin(db, &actor, id).await?;
    cases::move_step(db, &actor, id, &advance(None)).await?;

    // 7 监督执行 → 办结
    if !step(&mut day, 7) {
        return Ok(Outcome::Running);
    }
    at(day, 0);
    projects::add_member(
        db,
        &actor,
        id,
        &MemberInput {
            person_id: Some(c.council),
            side: "party_organisation".into(),
        },
    )
    .await?;
    projects::add_inspection(db, &actor, id, &input::<InspectionInput>(serde_json::json!({
        "inspected_on": day.to_string(), "inspectors": "监督委员会", "progress": "全部完成", "quality": "合格", "deadline": "按期",
    })), &Evidence::none())
    .await?;
    projects::accept(db, &actor, id, &input::<AcceptanceInput>(serde_json::json!({
        "accepted_on": day.to_string(), "members": "社区、物业、居民代表", "conclusion": "验收合格",
    })))
    .await?;
    for v in 0..rng.gen_range(0..5) {
        let choice = ["satisfied", "satisfied", "basic", "dissatisfied"][rng.gen_range(0..4)];
        projects::vote(
            db,
            &case.public_code,
            &format!("history:{}:{month}:{v}", c.id),
            &VoteInput {
                choice: choice.into(),
                device_id: None,
            },
        )
        .await?;
    }
    cases::move_step(db, &actor, id, &advance(None)).await?;
    Ok(Outcome::Done)
}
