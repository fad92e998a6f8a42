//! 定期通报 (issue 5): the monthly or yearly bulletin of the district or a street, generated
//! from the record — a summary, the figures per street or community, what was missed (months
//! without a meeting, leaders' first Saturdays, six ones), the projects finished — printed on
//! A4 and exported to .xlsx. Publishing freezes it: the published content is what was shown.

use chrono::{DateTime, Utc};
use roundtable_core::access::{Action, Actor, ResourceKind, permit};
use roundtable_core::obligations::{self as rules, HolidaySaturdayRule};
use roundtable_store::periodic_bulletins::{self as store, FinishedProject, PublishedBulletin};
use roundtable_store::{Db, orgs};

use super::{actor_id, audit_event, json, require};
use crate::error::AppError;
use crate::services::calendar::CalendarCache;
use crate::services::dashboard::{self, ChildRow, Figures};
use crate::services::obligations::{self, Check, NodeRef, RuleSummary};

/// `?org={id}&period=2026-11|2026`
#[derive(
    Debug,
    Clone,
    Default,
    serde::Deserialize,
    serde::Serialize,
    utoipa::IntoParams,
    utoipa::ToSchema,
)]
#[serde(default)]
pub struct BulletinQuery {
    /// The district or a street/town
    pub org: Option<String>,
    /// A month (2026-11) or a year (2026)
    pub period: Option<String>,
}

/// Who or what missed an obligation, and in which months.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Missed {
    pub name: String,
    /// The street (for a community) or the leader's post.
    pub under: String,
    pub months: Vec<String>,
}

/// A bulletin's content: what is shown, printed, exported and, once published, frozen.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct BulletinContent {
    pub title: String,
    pub org: NodeRef,
    pub period: String,
    pub from: String,
    pub to: String,
    pub generated_at: DateTime<Utc>,
    /// The summary as sentences.
    pub summary: Vec<String>,
    pub totals: Figures,
    pub rows: Vec<ChildRow>,
    pub obligations: Vec<RuleSummary>,
    pub missed_meetings: Vec<Missed>,
    pub missed_first_saturdays: Vec<Missed>,
    pub finished: Vec<FinishedProject>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct BulletinView {
    #[serde(flatten)]
    pub content: BulletinContent,
    /// Set once published: the content above is then the frozen one.
    pub published_id: Option<i64>,
    pub published_at: Option<DateTime<Utc>>,
    pub may_publish: bool,
}

fn period_label(period: &str) -> String {
    match period.split_once('-') {
        Some((y, m)) => format!("{y}年{}月", m.trim_start_matches('0')),
        None => format!("{period}年"),
    }
}

/// A month (2026-11) or a year (2026), checked.
fn bulletin_period(q: &BulletinQuery) -> Result<(String, Vec<rules::YearMonth>), AppError> {
    let today = crate::render::today();
    let p = q
        .period
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| rules::YearMonth::of(today).to_string());
    if p.contains(['Q', 'q']) {
        return Err(AppError::field(
            "period",
            "通报按月（2026-11）或按年（2026）生成",
        ));
    }
    let months = rules::named_period(&p).map_err(AppError::Validation)?;
    Ok((p, months))
}

async fn node(db: &Db, actor: &Actor, org: Option<&str>) -> Result<orgs::Org, AppError> {
    let node = obligations::node_of(db, actor, org).await?;
    if !matches!(node.kind.as_str(), "district" | "street" | "town") {
        return Err(AppError::field("org", "定期通报按区或街道(镇)生成"));
    }
    Ok(node)
}

/// The bulletin of a node and period as the record stands now.
async fn generate(
    db: &Db,
    calendar: &CalendarCache,
    rule: HolidaySaturdayRule,
    actor: &Actor,
    node: &orgs::Org,
    period: &str,
    months: &[rules::YearMonth],
) -> Result<BulletinContent, AppError> {
    let (d, report) = dashboard::build(db, calendar, rule, actor, node, months, period).await?;
    let (Some(first), Some(last)) = (
        months.first().and_then(|m| m.first_day()),
        months.last().and_then(|m| m.last_day()),
    ) else {
        return Err(AppError::field("period", "统计期间无效"));
    };
    let finished = store::finished_projects(
        &mut db.pool(),
        &node.path,
        roundtable_store::china_day_start(first),
        roundtable_store::china_day_start(last + chrono::Duration::days(1)),
    )
    .await?;
    let mut missed_meetings: Vec<Missed> = Vec::new();
    for m in report
        .monthly_meetings
        .iter()
        .filter(|m| m.verdict.code == "missed")
    {
        match missed_meetings.last_mut() {
            Some(last) if last.name == m.org_name && last.under == m.street_name => {
                last.months.push(m.month.clone())
            }
            _ => missed_meetings.push(Missed {
                name: m.org_name.clone(),
                under: m.street_name.clone(),
                months: vec![m.month.clone()],
            }),
        }
    }
    let mut missed_first_saturdays: Vec<Missed> = Vec::new();
    for m in report
        .leader_months
        .iter()
        .filter(|m| m.on_the_day.code == "missed")
    {
        match missed_first_saturdays.last_mut() {
            Some(last) if last.name == m.leader_name => last.months.push(m.month.clone()),
            _ => missed_first_saturdays.push(Missed {
                name: m.leader_name.clone(),
                under: "区级领导".into(),
                months: vec![m.month.clone()],
            }),
        }
    }
    let t = &d.totals;
    let label = period_label(period);
    let tally = |check: Check| {
        d.obligations
            .iter()
            .find(|s| s.check == check)
            .map(|s| (s.tally.met, s.tally.missed))
            .unwrap_or((0, 0))
    };
    let mut summary = vec![format!(
        "{label}，{}{}个社区(村)共召开幸福圆桌会{}次，{}个“社区·月”未召开；新立议事案例{}件，办结{}件，收集议题{}件。",
        node.name,
        t.communities,
        t.meetings,
        t.months_without_meeting,
        t.cases,
        t.finished,
        t.topics
    )];
    if report.leader_rules_checked {
        let (met, missed) = tally(Check::FirstSaturday);
        summary.push(format!(
            "区级领导每月第一个星期六到挂点街道(镇)参加圆桌会{met}人次，未参加{missed}人次。"
        ));
    }
    summary.push(format!(
        "公示期内项目{}个，台账逾期未销号{}项；在职党员完成“六个一”{}/{}人{}。",
        t.notices_running,
        t.ledger_overdue,
        t.six_ones_met,
        t.members,
        d.satisfied_percent
            .map(|p| format!("；群众满意率{p:.1}%"))
            .unwrap_or_default()
    ));
    Ok(BulletinContent {
        title: format!("{}幸福圆桌会{}工作通报", node.name, label),
        org: d.org.clone(),
        period: period.to_string(),
        from: d.from.clone(),
        to: d.to.clone(),
        generated_at: roundtable_store::now(),
        summary,
        totals: d.totals.clone(),
        rows: d.children.clone(),
        obligations: d.obligations.clone(),
        missed_meetings,
        missed_first_saturdays,
        finished,
    })
}

fn may_publish(actor: &Actor, node: &orgs::Org) -> bool {
    permit(actor, Action::Edit, ResourceKind::Report, &node.path, None)
}

/// The published bulletin of the node and period, or the one generated now.
pub async fn view(
    db: &Db,
    calendar: &CalendarCache,
    rule: HolidaySaturdayRule,
    actor: &Actor,
    q: &BulletinQuery,
) -> Result<BulletinView, AppError> {
    let (period, months) = bulletin_period(q)?;
    let node = node(db, actor, q.org.as_deref()).await?;
    if let Some(p) = store::of_period(&mut db.pool(), node.id, &period).await? {
        return frozen(p);
    }
    let content = generate(db, calendar, rule, actor, &node, &period, &months).await?;
    Ok(BulletinView {
        content,
        published_id: None,
        published_at: None,
        may_publish: may_publish(actor, &node),
    })
}

fn frozen(p: PublishedBulletin) -> Result<BulletinView, AppError> {
    let content: BulletinContent = serde_json::from_str(&p.content)
        .map_err(|e| AppError::Internal(format!("published bulletin {}: {e}", p.id)))?;
    Ok(BulletinView {
        content,
        published_id: Some(p.id),
        published_at: Some(p.published_at),
        may_publish: false,
    })
}

/// Publishes the bulletin as generated now; its content is frozen from then on. A second
/// publication of the same node and period is refused.
pub async fn publish(
    db: &Db,
    calendar: &CalendarCache,
    rule: HolidaySaturdayRule,
    actor: &Actor,
    q: &BulletinQuery,
) -> Result<BulletinView, AppError> {
    let (period, months) = bulletin_period(q)?;
    let node = node(db, actor, q.org.as_deref()).await?;
    require(actor, Action::Edit, ResourceKind::Report, &node.path, None)?;
    let content = generate(db, calendar, rule, actor, &node, &period, &months).await?;
    let text = serde_json::to_string(&content)
        .map_err(|e| AppError::Internal(format!("bulletin: {e}")))?;
    let mut tx = db.begin().await?;
    let Some(id) = store::insert(
        &mut tx,
        node.id,
        &period,
        &content.title,
        &text,
        actor_id(actor),
    )
    .await?
    else {
        return Err(AppError::field(
            "period",
            format!("{}的通报已发布，发布后内容不再改变", period_label(&period)),
        ));
    };
    audit_event(
        &mut tx,
        actor,
        "periodic_bulletin.publish",
        "periodic_bulletin",
        id,
        json(&serde_json::json!({"org_id": node.id, "period": period})),
    )
    .await?;
    tx.commit().await?;
    get(db, actor, id).await
}

pub async fn get(db: &Db, actor: &Actor, id: i64) -> Result<BulletinView, AppError> {
    let p = store::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !permit(actor, Action::View, ResourceKind::Report, &p.org_path, None) {
        return Err(AppError::NotFound);
    }
    frozen(p)
}

pub async fn published(db: &Db, actor: &Actor) -> Result<Vec<PublishedBulletin>, AppError> {
    let s = roundtable_core::access::scope(actor, Action::View, ResourceKind::Report);
    if s.is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(store::list(&mut db.pool(), &s).await?)
}

/// The bulletin as .xlsx: one sheet each for the summary, the figures per child, what was
/// missed and the projects finished, with the watermark line (who exported it, when).
pub async fn xlsx(db: &Db, actor: &Actor, b: &BulletinView) -> Result<(String, Vec<u8>), AppError> {
    use rust_xlsxwriter::{Format, Workbook};
    let c = &b.content;
    let x = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let bold = Format::new().set_bold();
    let mut book = Workbook::new();
    let mark = super::excel::watermark(&mut db.pool(), actor).await?;

    let ws = book.add_worksheet();
    ws.set_name("汇总").map_err(x)?;
    ws.write_string_with_format(0, 0, &c.title, &bold)
        .map_err(x)?;
    let state = match b.published_at {
        Some(t) => format!("已发布（{}），内容已冻结", crate::render::china_time(t)),
        None => format!(
            "未发布，生成于{}",
            crate::render::china_time(c.generated_at)
        ),
    };
    ws.write_string(1, 0, state).map_err(x)?;
    for (i, line) in c.summary.iter().enumerate() {
        ws.write_string(3 + i as u32, 0, line).map_err(x)?;
    }
    let mut r = 4 + c.summary.len() as u32;
    for (j, h) in ["规则", "要求", "已履行", "未履行", "不适用"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(r, j as u16, *h, &bold)
            .map_err(x)?;
    }
    for s in &c.obligations {
        r += 1;
        ws.write_string(r, 0, &s.rule).map_err(x)?;
        ws.write_string(r, 1, &s.title).map_err(x)?;
        ws.write_number(r, 2, s.tally.met as f64).map_err(x)?;
        ws.write_number(r, 3, s.tally.missed as f64).map_err(x)?;
        ws.write_number(r, 4, s.tally.not_applicable as f64)
            .map_err(x)?;
    }
    ws.write_string(r + 2, 0, &mark).map_err(x)?;
    ws.set_column_width(0, 14).map_err(x)?;
    ws.set_column_width(1, 60).map_err(x)?;

    let ws = book.add_worksheet();
    ws.set_name("分项统计").map_err(x)?;
    let head = [
        "单位",
        "社区(村)数",
        "圆桌会",
        "未开会(社区·月)",
        "新立案例",
        "办结",
        "议题",
        "公示中",
        "台账逾期",
        "在职党员",
        "完成六个一",
    ];
    for (j, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, j as u16, *h, &bold)
            .map_err(x)?;
    }
    let figures = |f: &Figures| {
        [
            f.communities,
            f.meetings,
            f.months_without_meeting,
            f.cases,
            f.finished,
            f.topics,
            f.notices_running,
            f.ledger_overdue,
            f.members,
            f.six_ones_met,
        ]
    };
    let rows = c
        .rows
        .iter()
        .map(|row| (row.org.name.as_str(), &row.figures))
        .chain(std::iter::once(("合计", &c.totals)));
    for (i, (name, f)) in rows.enumerate() {
        let r = 1 + i as u32;
        ws.write_string(r, 0, name).map_err(x)?;
        for (j, v) in figures(f).iter().enumerate() {
            ws.write_number(r, 1 + j as u16, *v as f64).map_err(x)?;
        }
    }
    ws.set_column_width(0, 18).map_err(x)?;

    let ws = book.add_worksheet();
    ws.set_name("未履行").map_err(x)?;
    for (j, h) in ["事项", "名称", "所属", "月份"].iter().enumerate() {
        ws.write_string_with_format(0, j as u16, *h, &bold)
            .map_err(x)?;
    }
    let missed = c
        .missed_meetings
        .iter()
        .map(|m| ("未召开圆桌会（R-PROC-0）", m))
        .chain(
            c.missed_first_saturdays
                .iter()
                .map(|m| ("第一个星期六未参加（R-LEAD-1）", m)),
        );
    for (i, (what, m)) in missed.enumerate() {
        let r = 1 + i as u32;
        ws.write_string(r, 0, what).map_err(x)?;
        ws.write_string(r, 1, &m.name).map_err(x)?;
        ws.write_string(r, 2, &m.under).map_err(x)?;
        ws.write_string(r, 3, m.months.join("、")).map_err(x)?;
    }
    ws.set_column_width(0, 30).map_err(x)?;

    let ws = book.add_worksheet();
    ws.set_name("办结项目").map_err(x)?;
    for (j, h) in ["案例编号", "项目", "社区(村)", "层级", "办结时间"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(0, j as u16, *h, &bold)
            .map_err(x)?;
    }
    for (i, f) in c.finished.iter().enumerate() {
        let r = 1 + i as u32;
        ws.write_number(r, 0, f.case_id as f64).map_err(x)?;
        ws.write_string(r, 1, &f.title).map_err(x)?;
        ws.write_string(r, 2, &f.community).map_err(x)?;
        ws.write_string(
            r,
            3,
            roundtable_core::topics::Level::parse(&f.level).map_or("", |l| l.label()),
        )
        .map_err(x)?;
        ws.write_string(r, 4, crate::render::china_time(f.finished_at))
            .map_err(x)?;
    }
    ws.set_column_width(1, 36).map_err(x)?;
    let bytes = book.save_to_buffer().map_err(x)?;
    Ok((
        format!("roundtable-bulletin-{}-{}.xlsx", c.org.id, c.period),
        bytes,
    ))
}
