//! Dashboards (issue 5): for any node a user may see and any month, quarter or year — meetings
//! held, cases by step and level, topics by category and channel, notices running, ledger items
//! overdue, obligations met and missed, six-ones completion, satisfaction — each figure also
//! given per child node for drilling down (district → street → community → case). Everything
//! is counted from the record.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use roundtable_core::access::{Action, Actor, ResourceKind, permit};
use roundtable_core::cases::Step;
use roundtable_core::obligations::{self as rules, HolidaySaturdayRule, YearMonth};
use roundtable_core::org::OrgKind;
use roundtable_core::project::Satisfaction;
use roundtable_core::topics::{Category, Channel, Level};
use roundtable_store::dashboard::{self as store, CaseLine, KeyCount};
use roundtable_store::obligations::Members;
use roundtable_store::{Db, china_day_start};

use crate::error::AppError;
use crate::services::calendar::CalendarCache;
use crate::services::obligations::{
    self, Check, LeaderMonthOut, NodeRef, ObligationReport, RuleSummary, Tally,
};

/// `?org={id}&period=2026|2026-Q3|2026-07`; without them the asker's own node, this year.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[serde(default)]
pub struct DashboardQuery {
    pub org: Option<String>,
    /// A year (2026), a quarter (2026-Q3) or a month (2026-07)
    pub period: Option<String>,
}

/// One bar of a chart: a code, its Chinese label and the count.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Bar {
    pub code: String,
    pub label: String,
    pub n: i64,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Figures {
    pub communities: i64,
    pub meetings: i64,
    /// Community-months with no meeting (R-PROC-0 missed).
    pub months_without_meeting: i64,
    pub cases: i64,
    pub finished: i64,
    pub topics: i64,
    pub notices_running: i64,
    pub ledger_overdue: i64,
    pub members: i64,
    pub six_ones_met: i64,
}

/// A child node's figures, for drilling down.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ChildRow {
    pub org: NodeRef,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub org: NodeRef,
    pub parent_id: Option<i64>,
    /// As asked: 2026, 2026-Q3 or 2026-07.
    pub period: String,
    pub from: String,
    pub to: String,
    /// Notices and the ledger are counted as they stood at the end of this day (the period's
    /// last day, or today while it runs).
    pub counted_on: NaiveDate,
    pub totals: Figures,
    pub cases_by_step: Vec<Bar>,
    pub cases_by_level: Vec<Bar>,
    pub topics_by_category: Vec<Bar>,
    pub topics_by_channel: Vec<Bar>,
    pub satisfaction: Vec<Bar>,
    /// The share of satisfied and basically satisfied votes, in percent (none without votes).
    pub satisfied_percent: Option<f64>,
    pub obligations: Vec<RuleSummary>,
    pub six_ones: Tally,
    pub children: Vec<ChildRow>,
    /// A community's cases opened in the period (the last 200).
    pub cases: Vec<CaseLine>,
    /// The asker's own R-LEAD-1 months, when they are a linked leader here (a leader's page).
    pub my_leader_months: Vec<LeaderMonthOut>,
}

fn bars<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    counts: &HashMap<String, i64>,
) -> Vec<Bar> {
    all.iter()
        .map(|&v| Bar {
            code: code(v).to_string(),
            label: label(v).to_string(),
            n: counts.get(code(v)).copied().unwrap_or(0),
        })
        .collect()
}

fn sum_by(rows: &[KeyCount], key: fn(&KeyCount) -> &str) -> HashMap<String, i64> {
    let mut m = HashMap::new();
    for r in rows {
        *m.entry(key(r).to_string()).or_insert(0) += r.n;
    }
    m
}

pub async fn dashboard(
    db: &Db,
    calendar: &CalendarCache,
    rule: HolidaySaturdayRule,
    actor: &Actor,
    q: &DashboardQuery,
) -> Result<Dashboard, AppError> {
    let today = crate::render::today();
    let period = q
        .period
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| YearMonth::of(today).year.to_string());
    let months = rules::named_period(&period).map_err(AppError::Validation)?;
    let node = obligations::node_of(db, actor, q.org.as_deref()).await?;
    Ok(
        build(db, calendar, rule, actor, &node, &months, period.trim())
            .await?
            .0,
    )
}

/// The dashboard of `node` (already authorised) over `months`, with the obligation check it
/// was counted from (a bulletin lists what was missed).
pub(crate) async fn build(
    db: &Db,
    calendar: &CalendarCache,
    rule: HolidaySaturdayRule,
    actor: &Actor,
    node: &roundtable_store::orgs::Org,
    months: &[YearMonth],
    period: &str,
) -> Result<(Dashboard, ObligationReport), AppError> {
    let today = crate::render::today();
    let (Some(first), Some(last)) = (
        months.first().and_then(|m| m.first_day()),
        months.last().and_then(|m| m.last_day()),
    ) else {
        return Err(AppError::field("period", "统计期间无效"));
    };
    let counted_on = last.min(today);
    // A community's page lists its cases; R-LEAD-1/2 belong to streets and the district.
    let is_community = matches!(
        OrgKind::parse(&node.kind),
        Some(OrgKind::Community | OrgKind::Village)
    );
    // The check and the counts are independent reads: on PostgreSQL they run side by side.
    let (checked, counts) = tokio::join!(
        obligations::evaluate(db, calendar, rule, node, months, today, Members::Counted),
        async {
            store::counts(
                &mut db.pool(),
                &node.path,
                (first, last),
                (
                    china_day_start(first),
                    china_day_start(last + Duration::days(1)),
                ),
                (counted_on, china_day_start(counted_on + Duration::days(1))),
                is_community,
            )
            .await
        }
    );
    let (facts, report) = checked?;
    let counts = counts?;

    // Each community → the child of the node it lies under (itself for a community's page).
    let parent: HashMap<i64, Option<i64>> =
        facts.nodes.iter().map(|n| (n.id, n.parent_id)).collect();
    let child_of = |mut id: i64| -> Option<i64> {
        for _ in 0..8 {
            let p = parent.get(&id).copied().flatten()?;
            if p == node.id {
                return Some(id);
            }
            id = p;
        }
        None
    };
    let mut per_child: BTreeMap<i64, Figures> = report
        .children
        .iter()
        .map(|c| (c.id, Figures::default()))
        .collect();
    let mut totals = Figures::default();
    let mut add = |org_id: i64, f: &dyn Fn(&mut Figures)| {
        f(&mut totals);
        if let Some(c) = child_of(org_id)
            && let Some(row) = per_child.get_mut(&c)
        {
            f(row);
        }
    };
    for c in &facts.communities {
        add(c.org_id, &|f| f.communities += 1);
    }
    for m in &report.monthly_meetings {
        if m.verdict.code == "missed" {
            add(m.org_id, &|f| f.months_without_meeting += 1);
        }
    }
    type Field = fn(&mut Figures) -> &mut i64;
    let fields: [(&[KeyCount], Field); 6] = [
        (&counts.meetings, |f| &mut f.meetings),
        (&counts.cases, |f| &mut f.cases),
        (&counts.finished, |f| &mut f.finished),
        (&counts.topics, |f| &mut f.topics),
        (&counts.notices_running, |f| &mut f.notices_running),
        (&counts.ledger_overdue, |f| &mut f.ledger_overdue),
    ];
    for (rows, field) in fields {
        for r in rows {
            add(r.org_id, &|f| *field(f) += r.n);
        }
    }
    for c in &facts.member_counts {
        let (members, complete) = (c.members, c.complete);
        add(c.org_id, &move |f| {
            f.members += members;
            f.six_ones_met += complete;
        });
    }

    let by_step = sum_by(&counts.cases, |r| &r.key);
    let by_level = sum_by(&counts.cases, |r| &r.key2);
    let by_category = sum_by(&counts.topics, |r| &r.key);
    let by_channel = sum_by(&counts.topics, |r| &r.key2);
    let by_choice = sum_by(&counts.satisfaction, |r| &r.key);
    let votes: i64 = by_choice.values().sum();
    let satisfied = by_choice.get(Satisfaction::Satisfied.code()).unwrap_or(&0)
        + by_choice.get(Satisfaction::Basic.code()).unwrap_or(&0);
    let six_ones = report
        .summary
        .iter()
        .find(|s| s.check == Check::SixOnes)
        .map(|s| s.tally.clone())
        .unwrap_or_default();
    let my_leader_months = actor
        .person_id
        .map(|p| {
            report
                .leader_months
                .iter()
                .filter(|m| m.leader_id == p)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    // A case line is shown only where the case itself may be opened.
    let cases = if permit(actor, Action::View, ResourceKind::Case, &node.path, None) {
        counts.case_lines
    } else {
        Vec::new()
    };
    let d = Dashboard {
        children: report
            .children
            .iter()
            .map(|c| ChildRow {
                org: c.clone(),
                figures: per_child.get(&c.id).cloned().unwrap_or_default(),
            })
            .collect(),
        org: report.org.clone(),
        parent_id: report.parent_id,
        period: period.to_string(),
        from: report.from.clone(),
        to: report.to.clone(),
        counted_on,
        totals,
        cases_by_step: bars(Step::ALL, Step::code, Step::label, &by_step),
        cases_by_level: bars(Level::ALL, Level::code, Level::label, &by_level),
        topics_by_category: bars(Category::ALL, Category::code, Category::label, &by_category),
        topics_by_channel: bars(Channel::ALL, Channel::code, Channel::label, &by_channel),
        satisfaction: bars(
            Satisfaction::ALL,
            Satisfaction::code,
            Satisfaction::label,
            &by_choice,
        ),
        satisfied_percent: (votes > 0).then(|| (satisfied as f64) * 100.0 / votes as f64),
        obligations: report.summary.clone(),
        six_ones,
        cases,
        my_leader_months,
    };
    Ok((d, report))
}
