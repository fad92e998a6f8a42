//! Obligations checked from what was recorded (DOMAIN.md §5, issue 5): each check is a pure
//! function of recorded facts for a period, answers met / missed / not applicable per community
//! or person and month, and keeps the facts that decided it. Nobody types a figure to prove
//! they worked (基层减负).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use crate::FieldErrors;
use crate::calendar::{Calendar, first_saturday};

crate::domain_enum! {
    /// What a check found.
    Verdict {
        Met = ("met", "已履行"),
        Missed = ("missed", "未履行"),
        /// Not owed in that month (no link valid then), or the month is not over yet and
        /// nothing is recorded so far.
        NotApplicable = ("not_applicable", "不适用"),
    }
}

crate::domain_enum! {
    /// R-CAL-2 / R-LEAD-1: what counts when the month's first Saturday is a make-up working day
    /// or lies in a holiday (a deployment setting).
    #[derive(Default)]
    HolidaySaturdayRule {
        /// Any Saturday of that month counts (the default).
        #[default]
        AnySaturday = ("any_saturday", "当月任一星期六"),
        /// Any day of that month counts.
        AnyDay = ("any_day", "当月任一天"),
        /// The first Saturday still counts alone.
        FirstSaturdayOnly = ("first_saturday_only", "仍为第一个星期六"),
    }
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct YearMonth {
    pub year: i32,
    pub month: u32,
}

impl YearMonth {
    pub fn of(d: NaiveDate) -> YearMonth {
        YearMonth {
            year: d.year(),
            month: d.month(),
        }
    }

    /// `YYYY-MM`.
    pub fn parse(s: &str) -> Option<YearMonth> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let ym = YearMonth {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
        };
        ym.first_day().map(|_| ym)
    }

    pub fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
    }

    pub fn last_day(self) -> Option<NaiveDate> {
        self.next().first_day()?.pred_opt()
    }

    pub fn next(self) -> YearMonth {
        if self.month == 12 {
            YearMonth {
                year: self.year + 1,
                month: 1,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> YearMonth {
        if self.month == 1 {
            YearMonth {
                year: self.year - 1,
                month: 12,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    fn index(self) -> i64 {
        self.year as i64 * 12 + self.month as i64 - 1
    }

    pub fn contains(self, d: NaiveDate) -> bool {
        YearMonth::of(d) == self
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The longest period one check covers (issue 5, "Bad input").
pub const MAX_PERIOD_MONTHS: i64 = 120;

/// The months `from`..=`to` (each `YYYY-MM`), checked: both valid, the end not before the
/// start, at most ten years.
pub fn period(from: &str, to: &str) -> Result<Vec<YearMonth>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let a = YearMonth::parse(from);
    let b = YearMonth::parse(to);
    if a.is_none() {
        errors.add("from", format!("起始月份「{}」应为 YYYY-MM", from.trim()));
    }
    if b.is_none() {
        errors.add("to", format!("结束月份「{}」应为 YYYY-MM", to.trim()));
    }
    let (Some(a), Some(b)) = (a, b) else {
        return Err(errors);
    };
    if b < a {
        errors.add("to", "结束月份不能早于起始月份");
    } else if b.index() - a.index() + 1 > MAX_PERIOD_MONTHS {
        errors.add("to", "统计期间不能超过10年");
    }
    errors.into_result()?;
    let mut out = vec![a];
    while let Some(&last) = out.last()
        && last < b
    {
        out.push(last.next());
    }
    Ok(out)
}

/// A period as people name it, checked: `2026` (the year), `2026-Q3` (a quarter) or `2026-07`
/// (a month); the months it covers. Errors are on the field `period`.
pub fn named_period(s: &str) -> Result<Vec<YearMonth>, FieldErrors> {
    let t = s.trim();
    let bad = || {
        let mut e = FieldErrors::new();
        e.add(
            "period",
            format!("统计期间「{t}」应为年份（2026）、季度（2026-Q3）或月份（2026-07）"),
        );
        e
    };
    let year = |y: &str| -> Option<i32> {
        (y.len() == 4)
            .then(|| y.parse::<i32>().ok())
            .flatten()
            .filter(|y| (2000..=2100).contains(y))
    };
    let (from, to) = if let Some(y) = year(t) {
        (format!("{y:04}-01"), format!("{y:04}-12"))
    } else if let Some((y, q)) = t
        .split_once(['-', ' '])
        .filter(|(_, q)| q.starts_with(['Q', 'q']))
    {
        let (Some(y), Ok(q)) = (year(y), q[1..].parse::<u32>()) else {
            return Err(bad());
        };
        if !(1..=4).contains(&q) {
            return Err(bad());
        }
        (
            format!("{y:04}-{:02}", q * 3 - 2),
            format!("{y:04}-{:02}", q * 3),
        )
    } else if YearMonth::parse(t).is_some_and(|m| (2000..=2100).contains(&m.year)) {
        (t.to_string(), t.to_string())
    } else {
        return Err(bad());
    };
    period(&from, &to).map_err(|_| bad())
}

/// Met, or missed once `deadline` has passed by `today`; until then nothing recorded is not a
/// miss (the obligation can still be met).
fn verdict(met: bool, deadline: NaiveDate, today: NaiveDate) -> Verdict {
    match (met, deadline < today) {
        (true, _) => Verdict::Met,
        (false, true) => Verdict::Missed,
        (false, false) => Verdict::NotApplicable,
    }
}

/// `verdict` with the month's last day as the deadline.
fn month_verdict(met: bool, month: YearMonth, today: NaiveDate) -> Verdict {
    match month.last_day() {
        Some(last) => verdict(met, last, today),
        None => Verdict::NotApplicable,
    }
}

/// A round-table meeting held (a meeting with its date, in a community).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingHeld {
    pub meeting_id: i64,
    pub org_id: i64,
    pub held_on: NaiveDate,
}

/// R-PROC-0 for one community and month: the meetings that decided it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommunityMonth {
    pub org_id: i64,
    pub month: YearMonth,
    pub verdict: Verdict,
    pub meetings: Vec<NaiveDate>,
}

/// R-PROC-0: every community holds at least one round-table meeting in each month.
pub fn monthly_meetings(
    communities: &[i64],
    held: &[MeetingHeld],
    months: &[YearMonth],
    today: NaiveDate,
) -> Vec<CommunityMonth> {
    // Grouped once: a city has thousands of communities and tens of thousands of meetings.
    let mut by_month: HashMap<(i64, YearMonth), Vec<NaiveDate>> = HashMap::new();
    for m in held {
        by_month
            .entry((m.org_id, YearMonth::of(m.held_on)))
            .or_default()
            .push(m.held_on);
    }
    let mut out = Vec::with_capacity(communities.len() * months.len());
    for &org_id in communities {
        for &month in months {
            let mut meetings = by_month.remove(&(org_id, month)).unwrap_or_default();
            meetings.sort();
            out.push(CommunityMonth {
                org_id,
                month,
                verdict: month_verdict(!meetings.is_empty(), month, today),
                meetings,
            });
        }
    }
    out
}

/// A district-level leader's link to a street/town (挂点), valid from `start` to `end`
/// (R-ORG-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderLink {
    pub leader_id: i64,
    pub street_id: i64,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

impl LeaderLink {
    fn valid_on(&self, d: NaiveDate) -> bool {
        self.start <= d && self.end.is_none_or(|e| d <= e)
    }

    /// Valid on some day of `first`..=`last`.
    fn overlaps(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.start <= last && self.end.is_none_or(|e| e >= first)
    }
}

/// The leaders of `links`, each once, in order.
fn leaders_of(links: &[LeaderLink]) -> Vec<i64> {
    let mut leaders: Vec<i64> = links.iter().map(|l| l.leader_id).collect();
    leaders.sort();
    leaders.dedup();
    leaders
}

/// A meeting a leader attended (signed in), with the street of its community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendance {
    pub leader_id: i64,
    pub meeting_id: i64,
    pub street_id: i64,
    pub held_on: NaiveDate,
}

/// R-LEAD-1 for one leader and month.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeaderMonth {
    pub leader_id: i64,
    pub month: YearMonth,
    pub first_saturday: Option<NaiveDate>,
    /// The first Saturday is a make-up working day or lies in a holiday (R-CAL-2): the
    /// deployment's rule decided which days counted.
    pub flagged: bool,
    /// Attended on the day the rule asks for.
    pub on_the_day: Verdict,
    /// Attended at least one meeting in the month.
    pub monthly: Verdict,
    /// The meetings in linked streets that month (date, meeting id).
    pub attended: Vec<(NaiveDate, i64)>,
}

/// R-LEAD-1 / R-CAL-2: which days of a month count as "the first Saturday" under the
/// deployment's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaturdayRule {
    pub first_saturday: Option<NaiveDate>,
    /// The first Saturday is a make-up working day or lies in a holiday.
    pub flagged: bool,
    rule: HolidaySaturdayRule,
    last: NaiveDate,
}

impl SaturdayRule {
    pub fn of(cal: &Calendar, rule: HolidaySaturdayRule, month: YearMonth) -> Option<Self> {
        let sat = first_saturday(cal, month.year, month.month);
        Some(SaturdayRule {
            first_saturday: sat.map(|(d, _)| d),
            flagged: sat.is_some_and(|(_, f)| f),
            rule,
            last: month.last_day()?,
        })
    }

    /// Whether a meeting on `d` (a day of the month) counts.
    pub fn counts(&self, d: NaiveDate) -> bool {
        match (self.flagged, self.rule) {
            (false, _) | (true, HolidaySaturdayRule::FirstSaturdayOnly) => {
                self.first_saturday == Some(d)
            }
            (true, HolidaySaturdayRule::AnySaturday) => d.weekday() == chrono::Weekday::Sat,
            (true, HolidaySaturdayRule::AnyDay) => true,
        }
    }

    /// The last day that can still count: until then nothing recorded is not a miss.
    pub fn deadline(&self) -> NaiveDate {
        match (self.flagged, self.rule) {
            (false, _) | (true, HolidaySaturdayRule::FirstSaturdayOnly) => {
                self.first_saturday.unwrap_or(self.last)
            }
            (true, _) => self.last,
        }
    }
}

/// R-LEAD-1: each district-level leader attends a meeting in a community of a street linked to
/// them on the month's first Saturday, and at least one that month. A meeting counts only in a
/// street linked to the leader on its day, so history stays right after a change of post.
pub fn leader_months(
    links: &[LeaderLink],
    attended: &[Attendance],
    months: &[YearMonth],
    cal: &Calendar,
    rule: HolidaySaturdayRule,
    today: NaiveDate,
) -> Vec<LeaderMonth> {
    let mut by_leader: HashMap<i64, Vec<&Attendance>> = HashMap::new();
    for a in attended {
        by_leader.entry(a.leader_id).or_default().push(a);
    }
    let mut out = Vec::new();
    for leader_id in leaders_of(links) {
        let own: Vec<&LeaderLink> = links.iter().filter(|l| l.leader_id == leader_id).collect();
        let went = by_leader.get(&leader_id).map_or(&[][..], Vec::as_slice);
        for &month in months {
            let (Some(first), Some(last)) = (month.first_day(), month.last_day()) else {
                continue;
            };
            let linked_in_month = own.iter().any(|l| l.overlaps(first, last));
            let Some(day_rule) = SaturdayRule::of(cal, rule, month) else {
                continue;
            };
            let (sat, flagged) = (day_rule.first_saturday, day_rule.flagged);
            let mut days: Vec<(NaiveDate, i64)> = went
                .iter()
                .filter(|a| {
                    month.contains(a.held_on)
                        && own
                            .iter()
                            .any(|l| l.street_id == a.street_id && l.valid_on(a.held_on))
                })
                .map(|a| (a.held_on, a.meeting_id))
                .collect();
            days.sort();
            if !linked_in_month {
                out.push(LeaderMonth {
                    leader_id,
                    month,
                    first_saturday: sat,
                    flagged,
                    on_the_day: Verdict::NotApplicable,
                    monthly: Verdict::NotApplicable,
                    attended: days,
                });
                continue;
            }
            let on_day = days.iter().any(|(d, _)| day_rule.counts(*d));
            let deadline = day_rule.deadline();
            out.push(LeaderMonth {
                leader_id,
                month,
                first_saturday: sat,
                flagged,
                on_the_day: verdict(on_day, deadline, today),
                monthly: month_verdict(!days.is_empty(), month, today),
                attended: days,
            });
        }
    }
    out
}

/// A community and the street/town it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommunityOf {
    pub org_id: i64,
    pub street_id: i64,
}

/// A case that reached 办结, with its level (R-TOP-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedCase {
    pub case_id: i64,
    pub org_id: i64,
    pub level: crate::topics::Level,
    pub finished_on: NaiveDate,
}

/// R-LEAD-2 for one leader and year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    pub leader_id: i64,
    pub year: i32,
    pub verdict: Verdict,
    /// Communities with a finished case that needed coordination above them: (community,
    /// the first such case).
    pub covered: Vec<(i64, i64)>,
    /// Communities of the linked streets still without one.
    pub uncovered: Vec<i64>,
}

/// R-LEAD-2 (全覆盖): each year, for every community of a street linked to the leader in that
/// year, one public matter the community could not solve alone (a street- or district-level
/// case) reaches 办结. A year still running with communities left is not yet a miss.
pub fn coverage(
    links: &[LeaderLink],
    communities: &[CommunityOf],
    finished: &[FinishedCase],
    years: &[i32],
    today: NaiveDate,
) -> Vec<Coverage> {
    // The first case of each community and year that needed coordination above it.
    let mut first_case: HashMap<(i64, i32), (NaiveDate, i64)> = HashMap::new();
    for f in finished
        .iter()
        .filter(|f| f.level != crate::topics::Level::Community)
    {
        let key = (f.org_id, f.finished_on.year());
        let v = (f.finished_on, f.case_id);
        first_case
            .entry(key)
            .and_modify(|e| *e = (*e).min(v))
            .or_insert(v);
    }
    let mut out = Vec::new();
    for leader_id in leaders_of(links) {
        for &year in years {
            let (Some(first), Some(last)) = (
                NaiveDate::from_ymd_opt(year, 1, 1),
                NaiveDate::from_ymd_opt(year, 12, 31),
            ) else {
                continue;
            };
            let streets: Vec<i64> = links
                .iter()
                .filter(|l| l.leader_id == leader_id && l.overlaps(first, last))
                .map(|l| l.street_id)
                .collect();
            let mut covered = Vec::new();
            let mut uncovered = Vec::new();
            for c in communities
                .iter()
                .filter(|c| streets.contains(&c.street_id))
            {
                match first_case.get(&(c.org_id, year)) {
                    Some(&(_, case_id)) => covered.push((c.org_id, case_id)),
                    None => uncovered.push(c.org_id),
                }
            }
            out.push(Coverage {
                leader_id,
                year,
                verdict: if streets.is_empty() {
                    Verdict::NotApplicable
                } else {
                    verdict(uncovered.is_empty(), last, today)
                },
                covered,
                uncovered,
            });
        }
    }
    out
}

crate::domain_enum! {
    /// R-MEM-1: the "six ones" (六个一) of an in-service party member.
    SixOne {
        Meeting = ("meeting", "参加一次社区党组织活动"),
        Talk = ("talk", "与社区干部谈一次心"),
        Survey = ("survey", "开展一次社区调研"),
        Wish = ("wish", "认领一个微心愿"),
        Volunteer = ("volunteer", "参加一天志愿服务"),
        Pairing = ("pairing", "结对一户困难家庭"),
    }
}

/// One of the six, recorded by the member or the community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SixOneRecord {
    pub person_id: i64,
    pub item: SixOne,
    pub done_on: NaiveDate,
}

/// R-MEM-1 for one member and period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SixOnes {
    pub person_id: i64,
    pub verdict: Verdict,
    /// Each of the six with the first day it was done in the period.
    pub done: Vec<(SixOne, NaiveDate)>,
    pub missing: Vec<SixOne>,
}

/// R-MEM-1: each in-service member does all six within the period (`from`..=`to`, a year by
/// default; the deployment may set another). A period still running is not yet a miss.
pub fn six_ones(
    members: &[i64],
    records: &[SixOneRecord],
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Vec<SixOnes> {
    let mut first: HashMap<(i64, SixOne), NaiveDate> = HashMap::new();
    for r in records
        .iter()
        .filter(|r| from <= r.done_on && r.done_on <= to)
    {
        first
            .entry((r.person_id, r.item))
            .and_modify(|d| *d = (*d).min(r.done_on))
            .or_insert(r.done_on);
    }
    members
        .iter()
        .map(|&person_id| {
            let mut done = Vec::new();
            let mut missing = Vec::new();
            for &item in SixOne::ALL {
                match first.get(&(person_id, item)).copied() {
                    Some(d) => done.push((item, d)),
                    None => missing.push(item),
                }
            }
            SixOnes {
                person_id,
                verdict: verdict(missing.is_empty(), to, today),
                done,
                missing,
            }
        })
        .collect()
}

/// R-MEM-1 counted without naming anyone (a dashboard): of `members`, `complete` did all six
/// in the period ending `to`; the others are missed once it is over, not yet before. The
/// verdict per member is the same as `six_ones` gives.
pub fn six_ones_counted(
    members: usize,
    complete: usize,
    to: NaiveDate,
    today: NaiveDate,
) -> [(Verdict, usize); 2] {
    let complete = complete.min(members);
    [
        (Verdict::Met, complete),
        (verdict(false, to, today), members - complete),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ym(s: &str) -> YearMonth {
        YearMonth::parse(s).unwrap()
    }

    fn cal() -> Calendar {
        // October 2025's first Saturday (10/4) lies in the National Day holiday.
        crate::calendar::national_day_2025()
    }

    #[test]
    fn period_is_checked_and_listed() {
        let months = period("2025-11", "2026-02").unwrap();
        assert_eq!(
            months.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
            ["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        let e = period("2026-03", "2026-01").unwrap_err();
        assert!(e.get("to").unwrap().contains("早于"), "{e:?}");
        let e = period("2015-01", "2025-01").unwrap_err();
        assert!(e.get("to").unwrap().contains("10年"), "{e:?}");
        assert_eq!(period("2016-01", "2025-12").unwrap().len(), 120);
        assert_eq!(ym("2026-01").prev(), ym("2025-12"));
        assert_eq!(ym("2026-03").prev().next(), ym("2026-03"));
        let e = period("2025-13", "25-01").unwrap_err();
        assert!(e.get("from").is_some() && e.get("to").is_some(), "{e:?}");
    }

    #[test]
    fn named_periods_are_a_year_a_quarter_or_a_month() {
        let m = |s| {
            named_period(s)
                .unwrap()
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(m("2026").len(), 12);
        assert_eq!(m("2026-Q3"), ["2026-07", "2026-08", "2026-09"]);
        assert_eq!(m("2026-q1"), ["2026-01", "2026-02", "2026-03"]);
        assert_eq!(m(" 2026-07 "), ["2026-07"]);
        for bad in [
            "",
            "26",
            "2026-Q5",
            "2026-Q",
            "2026-13",
            "1999",
            "2026-07-01",
            "今年",
        ] {
            let e = named_period(bad).unwrap_err();
            assert!(e.get("period").is_some(), "{bad}: {e:?}");
        }
    }

    #[test]
    fn r_proc_0_one_meeting_a_month_in_every_community() {
        let held = [
            MeetingHeld {
                meeting_id: 1,
                org_id: 10,
                held_on: d("2025-09-06"),
            },
            MeetingHeld {
                meeting_id: 2,
                org_id: 10,
                held_on: d("2025-10-18"),
            },
            MeetingHeld {
                meeting_id: 3,
                org_id: 11,
                held_on: d("2025-10-04"),
            },
        ];
        let months = period("2025-09", "2025-11").unwrap();
        let r = monthly_meetings(&[10, 11], &held, &months, d("2025-11-10"));
        let v = |org: i64, m: &str| {
            r.iter()
                .find(|x| x.org_id == org && x.month == ym(m))
                .unwrap()
                .clone()
        };
        assert_eq!(v(10, "2025-09").verdict, Verdict::Met);
        assert_eq!(v(10, "2025-09").meetings, [d("2025-09-06")]);
        assert_eq!(v(11, "2025-09").verdict, Verdict::Missed);
        assert_eq!(v(11, "2025-10").verdict, Verdict::Met);
        // November is not over: nothing yet is not a miss.
        assert_eq!(v(10, "2025-11").verdict, Verdict::NotApplicable);
        assert_eq!(r.len(), 6);
    }

    fn link(street: i64, start: &str, end: Option<&str>) -> LeaderLink {
        LeaderLink {
            leader_id: 7,
            street_id: street,
            start: d(start),
            end: end.map(d),
        }
    }

    fn went(street: i64, day: &str, meeting_id: i64) -> Attendance {
        Attendance {
            leader_id: 7,
            meeting_id,
            street_id: street,
            held_on: d(day),
        }
    }

    #[test]
    fn r_lead_1_first_saturday_in_a_linked_street_and_monthly() {
        let links = [link(100, "2025-01-01", None)];
        // September 2025: first Saturday 9/6.
        let months = [ym("2025-09")];
        let check = |att: &[Attendance]| {
            leader_months(
                &links,
                att,
                &months,
                &cal(),
                HolidaySaturdayRule::AnySaturday,
                d("2025-12-01"),
            )[0]
            .clone()
        };
        let r = check(&[went(100, "2025-09-06", 1)]);
        assert_eq!(
            (r.first_saturday, r.flagged),
            (Some(d("2025-09-06")), false)
        );
        assert_eq!((r.on_the_day, r.monthly), (Verdict::Met, Verdict::Met));
        // Another Saturday: monthly met, the first Saturday missed.
        let r = check(&[went(100, "2025-09-13", 2)]);
        assert_eq!((r.on_the_day, r.monthly), (Verdict::Missed, Verdict::Met));
        // A street not linked to the leader does not count.
        let r = check(&[went(200, "2025-09-06", 3)]);
        assert_eq!(
            (r.on_the_day, r.monthly),
            (Verdict::Missed, Verdict::Missed)
        );
        assert!(r.attended.is_empty());
    }

    #[test]
    fn r_lead_1_links_valid_on_the_day_keep_history_after_a_change_of_post() {
        // Linked to street 100 until 9/10, then to 200.
        let links = [
            link(100, "2025-01-01", Some("2025-09-10")),
            link(200, "2025-09-11", None),
        ];
        let months = [ym("2025-09"), ym("2025-08")];
        let r = leader_months(
            &links,
            &[went(100, "2025-09-06", 1), went(100, "2025-09-20", 2)],
            &months,
            &cal(),
            HolidaySaturdayRule::AnySaturday,
            d("2025-12-01"),
        );
        let sep = r.iter().find(|x| x.month == ym("2025-09")).unwrap();
        // 9/6 was in a linked street then; 9/20 (after the change) was not.
        assert_eq!(sep.attended, [(d("2025-09-06"), 1)]);
        assert_eq!(sep.on_the_day, Verdict::Met);
        // Not linked at all in a month: not applicable.
        let r = leader_months(
            &[link(100, "2025-10-01", None)],
            &[],
            &[ym("2025-09")],
            &cal(),
            HolidaySaturdayRule::AnySaturday,
            d("2025-12-01"),
        );
        assert_eq!(
            (r[0].on_the_day, r[0].monthly),
            (Verdict::NotApplicable, Verdict::NotApplicable)
        );
    }

    #[test]
    fn r_cal_2_a_first_saturday_in_a_holiday_is_flagged_and_the_rule_decides() {
        let links = [link(100, "2025-01-01", None)];
        let months = [ym("2025-10")];
        let run = |rule, day: &str| {
            leader_months(
                &links,
                &[went(100, day, 1)],
                &months,
                &cal(),
                rule,
                d("2025-12-01"),
            )[0]
            .clone()
        };
        // 10/4 lies in the National Day holiday.
        let r = run(HolidaySaturdayRule::AnySaturday, "2025-10-11");
        assert_eq!((r.first_saturday, r.flagged), (Some(d("2025-10-04")), true));
        assert_eq!(r.on_the_day, Verdict::Met, "any Saturday of October counts");
        let r = run(HolidaySaturdayRule::AnySaturday, "2025-10-15");
        assert_eq!((r.on_the_day, r.monthly), (Verdict::Missed, Verdict::Met));
        let r = run(HolidaySaturdayRule::AnyDay, "2025-10-15");
        assert_eq!(r.on_the_day, Verdict::Met);
        let r = run(HolidaySaturdayRule::FirstSaturdayOnly, "2025-10-11");
        assert_eq!(r.on_the_day, Verdict::Missed);
    }

    #[test]
    fn r_lead_1_a_day_still_to_come_is_not_a_miss() {
        let links = [link(100, "2025-01-01", None)];
        let r = leader_months(
            &links,
            &[],
            &[ym("2025-09")],
            &cal(),
            HolidaySaturdayRule::AnySaturday,
            d("2025-09-03"),
        );
        assert_eq!(
            (r[0].on_the_day, r[0].monthly),
            (Verdict::NotApplicable, Verdict::NotApplicable)
        );
        let r = leader_months(
            &links,
            &[],
            &[ym("2025-09")],
            &cal(),
            HolidaySaturdayRule::AnySaturday,
            d("2025-09-08"),
        );
        assert_eq!(
            (r[0].on_the_day, r[0].monthly),
            (Verdict::Missed, Verdict::NotApplicable)
        );
    }

    #[test]
    fn r_lead_2_full_coverage_of_the_linked_streets_communities() {
        use crate::topics::Level;
        let links = [link(100, "2024-06-01", None)];
        let communities = [
            CommunityOf {
                org_id: 1,
                street_id: 100,
            },
            CommunityOf {
                org_id: 2,
                street_id: 100,
            },
            CommunityOf {
                org_id: 3,
                street_id: 200,
            },
        ];
        let fin = |case_id, org_id, level, day: &str| FinishedCase {
            case_id,
            org_id,
            level,
            finished_on: d(day),
        };
        let finished = [
            fin(11, 1, Level::Street, "2025-05-01"),
            fin(12, 1, Level::District, "2025-03-01"),
            // Settled by the community alone: not a matter it could not solve.
            fin(13, 2, Level::Community, "2025-04-01"),
            fin(14, 3, Level::District, "2025-04-01"),
        ];
        let r = coverage(
            &links,
            &communities,
            &finished,
            &[2025, 2023],
            d("2026-01-05"),
        );
        let y2025 = r.iter().find(|c| c.year == 2025).unwrap();
        assert_eq!(
            y2025.covered,
            [(1, 12)],
            "the first finished case of the year"
        );
        assert_eq!(
            y2025.uncovered,
            [2],
            "community 3 is in a street not linked"
        );
        assert_eq!(y2025.verdict, Verdict::Missed);
        let y2023 = r.iter().find(|c| c.year == 2023).unwrap();
        assert_eq!(y2023.verdict, Verdict::NotApplicable, "not linked in 2023");
        // The year still running: not yet a miss.
        let r = coverage(&links, &communities, &finished, &[2025], d("2025-06-01"));
        assert_eq!(r[0].verdict, Verdict::NotApplicable);
    }

    #[test]
    fn r_mem_1_six_ones_within_the_period() {
        let rec = |item, day: &str| SixOneRecord {
            person_id: 5,
            item,
            done_on: d(day),
        };
        let mut records: Vec<SixOneRecord> =
            SixOne::ALL.iter().map(|&i| rec(i, "2025-03-01")).collect();
        let (from, to) = (d("2025-01-01"), d("2025-12-31"));
        let r = six_ones(&[5, 6], &records, from, to, d("2026-01-02"));
        assert_eq!(r[0].verdict, Verdict::Met);
        assert_eq!(r[0].done.len(), 6);
        assert_eq!(r[1].verdict, Verdict::Missed);
        assert_eq!(r[1].missing.len(), 6);
        // Done in another year does not count for this one.
        records.retain(|r| r.item != SixOne::Wish);
        records.push(rec(SixOne::Wish, "2024-12-31"));
        let r = six_ones(&[5], &records, from, to, d("2025-07-01"));
        assert_eq!(r[0].missing, [SixOne::Wish]);
        assert_eq!(
            r[0].verdict,
            Verdict::NotApplicable,
            "the year is still running"
        );
        // Counted without names: the same verdicts.
        assert_eq!(
            six_ones_counted(5, 2, to, d("2026-01-02")),
            [(Verdict::Met, 2), (Verdict::Missed, 3)]
        );
        assert_eq!(
            six_ones_counted(5, 2, to, d("2025-07-01")),
            [(Verdict::Met, 2), (Verdict::NotApplicable, 3)]
        );
    }
}
