//! Obligations checked from the record (issue 5, DOMAIN.md §5): the facts of a subtree and
//! period read in one go, the rules of `roundtable_core::obligations` applied, and the answer
//! named — communities, leaders, members — for the page and the API. Outside the asker's
//! scope it is a 403 before anything is read, so no figure leaks.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use roundtable_core::access::{Action, Actor, ResourceKind};
use roundtable_core::obligations::{
    self as rules, FinishedCase, HolidaySaturdayRule, SixOne, Verdict, YearMonth,
};
use roundtable_core::org::OrgKind;
use roundtable_core::topics::Level;
use roundtable_store::obligations::{self as store, Facts, Members};
use roundtable_store::{Db, orgs};

use super::require;
use crate::error::AppError;
use crate::render::china;
use crate::services::calendar::CalendarCache;

/// `?org={id}&from=YYYY-MM&to=YYYY-MM`; without them: the asker's own part of the tree, this
/// year up to this month.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::IntoParams)]
#[serde(default)]
pub struct ObligationQuery {
    /// The node whose subtree is checked (district, street/town or community)
    pub org: Option<String>,
    /// First month, YYYY-MM
    pub from: Option<String>,
    /// Last month, YYYY-MM (at most ten years after `from`)
    pub to: Option<String>,
}

/// A verdict as code and Chinese label.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct VerdictOut {
    /// met / missed / not_applicable
    pub code: String,
    pub label: String,
}

impl From<Verdict> for VerdictOut {
    fn from(v: Verdict) -> Self {
        VerdictOut {
            code: v.code().to_string(),
            label: v.label().to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Tally {
    pub met: usize,
    pub missed: usize,
    pub not_applicable: usize,
}

impl Tally {
    fn add(&mut self, v: Verdict) {
        self.add_n(v, 1);
    }

    fn add_n(&mut self, v: Verdict, n: usize) {
        match v {
            Verdict::Met => self.met += n,
            Verdict::Missed => self.missed += n,
            Verdict::NotApplicable => self.not_applicable += n,
        }
    }
}

/// Which check a summary counts (R-LEAD-1 has two: the first Saturday and the month).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    MonthlyMeeting,
    FirstSaturday,
    MonthlyAttendance,
    Coverage,
    SixOnes,
}

/// One rule's counts over the whole answer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RuleSummary {
    pub check: Check,
    /// R-PROC-0, R-LEAD-1 (first Saturday), R-LEAD-1 (monthly), R-LEAD-2, R-MEM-1
    pub rule: String,
    pub title: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NodeRef {
    pub id: i64,
    pub name: String,
    pub kind: String,
}

/// R-PROC-0 for one community and month: the days of the meetings that decided it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CommunityMonthOut {
    pub rule: &'static str,
    pub org_id: i64,
    pub org_name: String,
    pub street_name: String,
    /// YYYY-MM
    pub month: String,
    pub verdict: VerdictOut,
    pub meetings: Vec<NaiveDate>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AttendedOut {
    pub held_on: NaiveDate,
    pub meeting_id: i64,
    pub community: String,
}

/// R-LEAD-1 for one leader and month.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LeaderMonthOut {
    pub rule: &'static str,
    pub leader_id: i64,
    pub leader_name: String,
    pub month: String,
    pub first_saturday: Option<NaiveDate>,
    /// The first Saturday is a make-up working day or in a holiday (R-CAL-2): the deployment's
    /// rule decided which days counted.
    pub flagged: bool,
    pub on_the_day: VerdictOut,
    pub monthly: VerdictOut,
    pub attended: Vec<AttendedOut>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CoveredOut {
    pub org_id: i64,
    pub org_name: String,
    /// The first case of the year that needed coordination above the community.
    pub case_id: i64,
}

/// R-LEAD-2 for one leader and year.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct CoverageOut {
    pub rule: &'static str,
    pub leader_id: i64,
    pub leader_name: String,
    pub year: i32,
    pub verdict: VerdictOut,
    pub covered: Vec<CoveredOut>,
    pub uncovered: Vec<NodeRef>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SixOneDone {
    pub item: String,
    pub label: String,
    pub done_on: NaiveDate,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SixOneMissing {
    pub item: String,
    pub label: String,
}

/// R-MEM-1 for one in-service party member over the period.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SixOnesOut {
    pub rule: &'static str,
    pub person_id: i64,
    pub person_name: String,
    pub org_id: i64,
    pub org_name: String,
    pub verdict: VerdictOut,
    pub done: Vec<SixOneDone>,
    pub missing: Vec<SixOneMissing>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ObligationReport {
    pub org: NodeRef,
    /// The node above, for walking back up (the page links it when the asker may see it).
    pub parent_id: Option<i64>,
    /// The nodes right below, for drilling down.
    pub children: Vec<NodeRef>,
    pub from: String,
    pub to: String,
    /// Every month of the period, YYYY-MM.
    pub months: Vec<String>,
    /// The day the check was made: a month, Saturday or year not over yet is not a miss.
    pub today: NaiveDate,
    /// What counts when a first Saturday is in a holiday (R-CAL-2): any_saturday / any_day /
    /// first_saturday_only.
    pub holiday_saturday_rule: String,
    pub summary: Vec<RuleSummary>,
    pub monthly_meetings: Vec<CommunityMonthOut>,
    /// Whether R-LEAD-1/2 were checked: they belong to streets/towns and the district; a
    /// community's answer leaves them out.
    pub leader_rules_checked: bool,
    pub leader_months: Vec<LeaderMonthOut>,
    pub coverage: Vec<CoverageOut>,
    pub six_ones: Vec<SixOnesOut>,
}

/// The node asked for, or the asker's own: the highest node of their grants that the report
/// permission reaches (the system administrator: the root).
pub(crate) async fn node_of(
    db: &Db,
    actor: &Actor,
    org: Option<&str>,
) -> Result<orgs::Org, AppError> {
    let id = match org.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| AppError::field("org", format!("组织编号「{s}」应为数字")))?,
        None => {
            let scope = roundtable_core::access::scope(actor, Action::View, ResourceKind::Report);
            if scope.is_empty() {
                return Err(AppError::Forbidden);
            }
            let mut pool = db.pool();
            let visible = orgs::list_in_scope(&mut pool, &scope).await?;
            return visible
                .into_iter()
                .min_by_key(|o| (o.path.len(), o.sort_order, o.id))
                .ok_or(AppError::NotFound);
        }
    };
    let o = orgs::get(&mut db.pool(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    require(actor, Action::View, ResourceKind::Report, &o.path, None)?;
    Ok(o)
}

/// The default period: January of this year to this month.
pub fn default_period(today: NaiveDate) -> (String, String) {
    (
        format!("{:04}-01", today.year()),
        YearMonth::of(today).to_string(),
    )
}

pub async fn check(
    db: &Db,
    calendar: &CalendarCache,
    rule: HolidaySaturdayRule,
    actor: &Actor,
    q: &ObligationQuery,
) -> Result<ObligationReport, AppError> {
    let today = crate::render::today();
    let (dfrom, dto) = default_period(today);
    let from = q
        .from
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(dfrom);
    let to = q.to.clone().filter(|s| !s.trim().is_empty()).unwrap_or(dto);
    let months = rules::period(&from, &to).map_err(AppError::Validation)?;
    let node = node_of(db, actor, q.org.as_deref()).await?;
    Ok(
        evaluate(db, calendar, rule, &node, &months, today, Members::Named)
            .await?
            .1,
    )
}

/// The check of `node` (already authorised) over `months`, with the facts it read.
pub(crate) async fn evaluate(
    db: &Db,
    calendar: &CalendarCache,
    rule: HolidaySaturdayRule,
    node: &orgs::Org,
    months: &[YearMonth],
    today: NaiveDate,
    members: Members,
) -> Result<(Facts, ObligationReport), AppError> {
    let (Some(first), Some(last)) = (
        months.first().and_then(|m| m.first_day()),
        months.last().and_then(|m| m.last_day()),
    ) else {
        return Err(AppError::field("from", "统计期间无效"));
    };
    let cal = calendar.get(db).await?;
    let facts = store::facts(&mut db.pool(), &node.path, first, last, members).await?;
    let r = Period {
        months,
        first,
        last,
        today,
    }
    .report(node, &facts, &cal, rule);
    Ok((facts, r))
}

/// The months checked, their first and last day, and the day of the check.
struct Period<'a> {
    months: &'a [YearMonth],
    first: NaiveDate,
    last: NaiveDate,
    today: NaiveDate,
}

impl Period<'_> {
    fn report(
        &self,
        node: &orgs::Org,
        facts: &Facts,
        cal: &roundtable_core::calendar::Calendar,
        rule: HolidaySaturdayRule,
    ) -> ObligationReport {
        let Period {
            months,
            first,
            last,
            today,
        } = *self;
        let nodes: HashMap<i64, &store::Node> = facts.nodes.iter().map(|n| (n.id, n)).collect();
        let name = |id: i64| nodes.get(&id).map(|n| n.name.clone()).unwrap_or_default();
        let node_ref = |id: i64| NodeRef {
            id,
            name: name(id),
            kind: nodes.get(&id).map(|n| n.kind.clone()).unwrap_or_default(),
        };
        let meeting_org: HashMap<i64, i64> = facts
            .held
            .iter()
            .map(|h| (h.meeting_id, h.org_id))
            .collect();
        let mut summary = Vec::new();

        // R-PROC-0
        let community_ids: Vec<i64> = facts.communities.iter().map(|c| c.org_id).collect();
        let mut tally = Tally::default();
        let monthly_meetings: Vec<CommunityMonthOut> =
            rules::monthly_meetings(&community_ids, &facts.held, months, today)
                .into_iter()
                .map(|m| {
                    tally.add(m.verdict);
                    CommunityMonthOut {
                        rule: "R-PROC-0",
                        org_name: name(m.org_id),
                        street_name: nodes
                            .get(&m.org_id)
                            .and_then(|n| n.parent_id)
                            .map(name)
                            .unwrap_or_default(),
                        org_id: m.org_id,
                        month: m.month.to_string(),
                        verdict: m.verdict.into(),
                        meetings: m.meetings,
                    }
                })
                .collect();
        summary.push(RuleSummary {
            check: Check::MonthlyMeeting,
            rule: "R-PROC-0".into(),
            title: "每个社区每月至少召开一次圆桌会".into(),
            tally,
        });

        // R-LEAD-1 and R-LEAD-2 belong to streets/towns and the district.
        let kind = OrgKind::parse(&node.kind);
        let leader_rules_checked = !matches!(kind, Some(OrgKind::Community | OrgKind::Village));
        let leader_name: HashMap<i64, &str> = facts
            .leaders
            .iter()
            .map(|(id, name)| (*id, name.as_str()))
            .collect();
        let leader = |id: i64| leader_name.get(&id).copied().unwrap_or("").to_string();
        let mut leader_months = Vec::new();
        let mut coverage = Vec::new();
        if leader_rules_checked {
            let (mut on_day, mut monthly) = (Tally::default(), Tally::default());
            for m in rules::leader_months(
                &facts.leader_links,
                &facts.attendance,
                months,
                cal,
                rule,
                today,
            ) {
                on_day.add(m.on_the_day);
                monthly.add(m.monthly);
                leader_months.push(LeaderMonthOut {
                    rule: "R-LEAD-1",
                    leader_name: leader(m.leader_id),
                    leader_id: m.leader_id,
                    month: m.month.to_string(),
                    first_saturday: m.first_saturday,
                    flagged: m.flagged,
                    on_the_day: m.on_the_day.into(),
                    monthly: m.monthly.into(),
                    attended: m
                        .attended
                        .iter()
                        .map(|&(held_on, meeting_id)| AttendedOut {
                            held_on,
                            meeting_id,
                            community: meeting_org
                                .get(&meeting_id)
                                .map(|&o| name(o))
                                .unwrap_or_default(),
                        })
                        .collect(),
                });
            }
            summary.push(RuleSummary {
                check: Check::FirstSaturday,
                rule: "R-LEAD-1".into(),
                title: "区级领导每月第一个星期六到挂点街道(镇)的社区参加圆桌会".into(),
                tally: on_day,
            });
            summary.push(RuleSummary {
                check: Check::MonthlyAttendance,
                rule: "R-LEAD-1".into(),
                title: "区级领导每月至少参加一次挂点街道(镇)的圆桌会".into(),
                tally: monthly,
            });

            let finished: Vec<FinishedCase> = facts
                .finished
                .iter()
                .filter_map(|f| {
                    Some(FinishedCase {
                        case_id: f.case_id,
                        org_id: f.org_id,
                        level: Level::parse(&f.level)?,
                        finished_on: f.finished_at.with_timezone(&china()).date_naive(),
                    })
                })
                .collect();
            let mut years: Vec<i32> = months.iter().map(|m| m.year).collect();
            years.dedup();
            let mut tally = Tally::default();
            for c in rules::coverage(
                &facts.leader_links,
                &facts.communities,
                &finished,
                &years,
                today,
            ) {
                tally.add(c.verdict);
                coverage.push(CoverageOut {
                    rule: "R-LEAD-2",
                    leader_name: leader(c.leader_id),
                    leader_id: c.leader_id,
                    year: c.year,
                    verdict: c.verdict.into(),
                    covered: c
                        .covered
                        .iter()
                        .map(|&(org_id, case_id)| CoveredOut {
                            org_id,
                            org_name: name(org_id),
                            case_id,
                        })
                        .collect(),
                    uncovered: c.uncovered.iter().map(|&id| node_ref(id)).collect(),
                });
            }
            summary.push(RuleSummary {
                check: Check::Coverage,
                rule: "R-LEAD-2".into(),
                title: "区级领导每年为挂点街道(镇)每个社区解决一件社区难以解决的公共事项（全覆盖）"
                    .into(),
                tally,
            });
        }

        // R-MEM-1 over the whole period.
        let member_ids: Vec<i64> = facts.members.iter().map(|p| p.id).collect();
        let mut tally = Tally::default();
        let six_ones = rules::six_ones(&member_ids, &facts.six_ones, first, last, today)
            .into_iter()
            .zip(&facts.members)
            .map(|(s, p)| {
                tally.add(s.verdict);
                SixOnesOut {
                    rule: "R-MEM-1",
                    person_id: s.person_id,
                    person_name: p.name.clone(),
                    org_id: p.org_id,
                    org_name: name(p.org_id),
                    verdict: s.verdict.into(),
                    done: s
                        .done
                        .iter()
                        .map(|&(i, d)| SixOneDone {
                            item: i.code().into(),
                            label: i.label().into(),
                            done_on: d,
                        })
                        .collect(),
                    missing: s.missing.iter().map(|&i| missing_item(i)).collect(),
                }
            })
            .collect();
        for c in &facts.member_counts {
            for (v, n) in
                rules::six_ones_counted(c.members as usize, c.complete as usize, last, today)
            {
                tally.add_n(v, n);
            }
        }
        summary.push(RuleSummary {
            check: Check::SixOnes,
            rule: "R-MEM-1".into(),
            title: "在职党员在统计期间内完成“六个一”".into(),
            tally,
        });

        ObligationReport {
            org: NodeRef {
                id: node.id,
                name: node.name.clone(),
                kind: node.kind.clone(),
            },
            parent_id: node.parent_id,
            children: facts
                .nodes
                .iter()
                .filter(|n| n.parent_id == Some(node.id))
                .map(|n| node_ref(n.id))
                .collect(),
            from: months[0].to_string(),
            to: months[months.len() - 1].to_string(),
            months: months.iter().map(|m| m.to_string()).collect(),
            today,
            holiday_saturday_rule: rule.code().into(),
            summary,
            monthly_meetings,
            leader_rules_checked,
            leader_months,
            coverage,
            six_ones,
        }
    }
}

fn missing_item(i: SixOne) -> SixOneMissing {
    SixOneMissing {
        item: i.code().into(),
        label: i.label().into(),
    }
}
