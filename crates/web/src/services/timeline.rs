//! A case's whole journey in order (issue 4 item 7): the source topics, every step, the
//! records of each step, the meeting, the notices and objections, the ledger, inspections,
//! bulletins and acceptance — each entry with its time, step and a link to where it lives.

use chrono::{DateTime, NaiveTime, Utc};
use roundtable_core::access::Actor;
use roundtable_core::cases::{DocKind, Step};
use roundtable_core::project::LedgerStatus;
use roundtable_store::Db;

use super::{cases, meetings, projects};
use crate::error::AppError;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// topic, step, visit, opinion, document, meeting, minutes, resolution, filing, notice,
    /// objection, answer, ledger, remark, committee, inspection, bulletin, acceptance
    pub kind: String,
    /// The step the entry belongs to (code).
    pub step: String,
    /// What happened, in Chinese.
    pub text: String,
    /// Where it is shown (a page path with its anchor).
    pub link: String,
}

/// When a record of civil date `d` took place: the time it was recorded when that was on the
/// day itself, else noon (China time) of the day.
fn on(d: chrono::NaiveDate, recorded: DateTime<Utc>) -> DateTime<Utc> {
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    if recorded.with_timezone(&china).date_naive() == d {
        return recorded;
    }
    (d.and_time(NaiveTime::from_hms_opt(4, 0, 0).unwrap_or_default())).and_utc()
}

pub async fn timeline(db: &Db, actor: &Actor, case_id: i64) -> Result<Vec<Entry>, AppError> {
    Ok(with_case(db, actor, case_id).await?.1)
}

/// The timeline with the case it belongs to (the page shows both).
pub async fn with_case(
    db: &Db,
    actor: &Actor,
    case_id: i64,
) -> Result<(roundtable_store::cases::Case, Vec<Entry>), AppError> {
    let mut e = db.conn().await?;
    let v = cases::view_in(&mut e, actor, case_id).await?;
    let p = projects::view_in(&mut e, case_id).await?;
    let m = meetings::view_of(&mut e, &v.case).await?;
    // Only titles and channels of the topics are shown: no personal data to mask.
    let (topic, sources) = roundtable_store::topics::with_sources(&mut e, v.case.topic_id).await?;
    drop(e);
    let page = format!("/cases/{case_id}");
    let mut out = Vec::new();
    let mut add = |at: DateTime<Utc>, kind: &str, step: Step, text: String, anchor: &str| {
        out.push(Entry {
            at,
            kind: kind.into(),
            step: step.code().into(),
            text,
            link: if anchor.starts_with('/') {
                anchor.to_string()
            } else {
                format!("{page}#{anchor}")
            },
        });
    };
    if let Some(t) = &topic {
        add(
            t.created_at,
            "topic",
            Step::Topic,
            format!(
                "收集议题「{}」（{}）",
                t.title,
                roundtable_core::topics::Channel::parse(&t.channel).map_or("", |c| c.label())
            ),
            &format!("/topics/{}", t.id),
        );
    }
    for s in &sources {
        add(
            s.created_at,
            "topic",
            Step::Topic,
            format!("合并来源「{}」", s.title),
            &format!("/topics/{}", s.id),
        );
    }
    for e in &v.events {
        let to = Step::parse(&e.to_step).unwrap_or(Step::Topic);
        let text = match e.kind.as_str() {
            "create" => "立项，进入「确定议题」".to_string(),
            "advance" => format!("进入「{}」", to.label()),
            "back" => format!("退回「{}」", to.label()),
            "stop" => "案例终止".to_string(),
            k => k.to_string(),
        };
        let who = e
            .actor_name
            .as_deref()
            .map(|n| format!("（{n}）"))
            .unwrap_or_default();
        let why = e
            .note
            .as_deref()
            .map(|n| format!("：{n}"))
            .unwrap_or_default();
        add(e.at, "step", to, format!("{text}{who}{why}"), "current");
    }
    for x in &v.visits {
        add(
            on(x.visited_on, x.created_at),
            "visit",
            Step::Opinions,
            format!("{}走访{}", x.visitor_name, x.place),
            "opinions",
        );
    }
    for o in &v.opinions {
        add(
            o.created_at,
            "opinion",
            Step::Opinions,
            format!("收集意见：{}", o.content),
            "opinions",
        );
    }
    for d in &v.documents {
        let kind = DocKind::parse(&d.kind);
        let step = kind.map_or(Step::Analysis, DocKind::step);
        add(
            d.created_at,
            "document",
            step,
            format!("{}（第{}版）", kind.map_or("", DocKind::label), d.version),
            &format!("doc-{}", d.kind),
        );
    }
    if let Some(m) = &m {
        let mt = &m.meeting;
        add(
            mt.created_at,
            "meeting",
            Step::Deliberation,
            format!("安排圆桌会：{} {} {}", mt.held_on, mt.start_time, mt.place),
            "meeting",
        );
        let signed = m
            .participants
            .iter()
            .filter(|p| p.signed_in_at.is_some())
            .count();
        if let Some(first) = m.participants.iter().filter_map(|p| p.signed_in_at).min() {
            add(
                first,
                "meeting",
                Step::Deliberation,
                format!("圆桌会召开，签到{signed}人"),
                "meeting",
            );
        }
        for x in &m.minutes {
            if let Some(at) = x.confirmed_at {
                add(
                    at,
                    "minutes",
                    Step::Deliberation,
                    format!("会议记录第{}版确认", x.version),
                    "minutes",
                );
            }
        }
        if let (Some(at), Some(n)) = (mt.filed_at, &mt.filing_number) {
            add(
                at,
                "filing",
                Step::Deliberation,
                format!("协商决议备案登记，登记号 {n}"),
                "resolution",
            );
        }
    }
    for n in &p.notices {
        add(
            n.created_at,
            "notice",
            Step::Notice,
            format!(
                "发布公示第{}版，公示期 {} 至 {}",
                n.version, n.starts_on, n.ends_on
            ),
            "public-notice",
        );
    }
    for o in &p.objections {
        add(
            o.received_at,
            "objection",
            Step::Notice,
            format!("收到异议：{}", o.content),
            "public-notice",
        );
        if let Some(at) = o.answered_at {
            add(
                at,
                "answer",
                Step::Notice,
                format!("答复异议：{}", o.answer.as_deref().unwrap_or("")),
                "public-notice",
            );
        }
    }
    for i in &p.ledger {
        if let Some(at) = i.closed_at {
            add(
                at,
                "ledger",
                Step::Implementation,
                format!("台帐销号：{}（{}）", i.title, i.owner_name),
                "implementation",
            );
        }
        if let (Some(at), Some(LedgerStatus::Confirmed)) =
            (i.confirmed_at, LedgerStatus::parse(&i.status))
        {
            add(
                at,
                "ledger",
                Step::Implementation,
                format!("台帐确认完成：{}", i.title),
                "implementation",
            );
        }
    }
    for r in &p.remarks {
        add(
            r.created_at,
            "remark",
            Step::Implementation,
            format!("{}督办：{}", r.author_name, r.remark),
            "implementation",
        );
    }
    for i in &p.inspections {
        add(
            on(i.inspected_on, i.created_at),
            "inspection",
            Step::Supervision,
            format!("监督检查（{}）：{}", i.inspectors, i.progress),
            "supervision",
        );
    }
    for b in &p.bulletins {
        add(
            b.created_at,
            "bulletin",
            Step::Supervision,
            format!("发布第{}期进度通报", b.seq),
            &format!("/cases/{case_id}/documents/bulletin?seq={}", b.seq),
        );
    }
    if let Some(a) = &p.acceptance {
        add(
            on(a.accepted_on, a.created_at),
            "acceptance",
            Step::Supervision,
            format!("项目验收：{}", a.conclusion),
            "supervision",
        );
    }
    out.sort_by_key(|e| e.at);
    Ok((v.case, out))
}
