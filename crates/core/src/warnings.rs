//! What needs action now (issue 5, "Warnings"): pure functions of recorded facts and today,
//! each naming the rule it protects. A warning disappears as soon as what it asks for is
//! recorded — nobody closes it by hand.

use chrono::{Datelike, Duration, NaiveDate};

use crate::calendar::Calendar;
use crate::obligations::{HolidaySaturdayRule, LeaderLink, SaturdayRule, YearMonth};

crate::domain_enum! {
    WarningKind {
        NoMeetingYet = ("no_meeting_yet", "本月尚未召开圆桌会"),
        FirstSaturday = ("first_saturday", "第一个星期六尚无安排"),
        NoticeEnding = ("notice_ending", "公示即将期满"),
        LedgerDue = ("ledger_due", "台账事项即将到期"),
        LedgerOverdue = ("ledger_overdue", "台账事项已逾期"),
        ObjectionUnanswered = ("objection_unanswered", "异议尚未答复"),
        MinutesUnconfirmed = ("minutes_unconfirmed", "会议记录尚未确认"),
    }
}

/// One thing to do, where, and by when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub rule: &'static str,
    /// The community (or, for a leader, the street) it concerns.
    pub org_id: i64,
    pub case_id: Option<i64>,
    pub person_id: Option<i64>,
    /// The day it is due (or was).
    pub due: Option<NaiveDate>,
    /// What it is about (a task's title, a case's title), shown after the kind's label.
    pub subject: String,
}

/// After this day of the month a community without a meeting is warned (issue 5).
pub const NO_MEETING_AFTER_DAY: u32 = 20;

/// R-PROC-0: past the 20th, each community that has not held (nor has planned) a meeting
/// this month. `with_meeting` are the communities that have one.
pub fn no_meeting_yet(
    communities: &[(i64, String)],
    with_meeting: &[i64],
    today: NaiveDate,
) -> Vec<Warning> {
    if today.day() <= NO_MEETING_AFTER_DAY {
        return Vec::new();
    }
    let last = YearMonth::of(today).last_day();
    communities
        .iter()
        .filter(|(id, _)| !with_meeting.contains(id))
        .map(|(id, name)| Warning {
            kind: WarningKind::NoMeetingYet,
            rule: "R-PROC-0",
            org_id: *id,
            case_id: None,
            person_id: None,
            due: last,
            subject: name.clone(),
        })
        .collect()
}

/// How far ahead a leader is reminded of a first Saturday.
pub const FIRST_SATURDAY_AHEAD_DAYS: i64 = 14;

/// R-LEAD-1: a leader's day to attend (this month's, or next month's when this month's has
/// passed) comes within two weeks and no meeting they take part in is planned on a day that
/// counts. `planned` are (leader, day) of the meetings of this month and the next weeks the
/// leader takes part in (held or planned).
pub fn first_saturday(
    links: &[LeaderLink],
    planned: &[(i64, NaiveDate)],
    cal: &Calendar,
    rule: HolidaySaturdayRule,
    today: NaiveDate,
) -> Vec<Warning> {
    let this = YearMonth::of(today);
    let mut out = Vec::new();
    for month in [this, this.next()] {
        let Some(r) = SaturdayRule::of(cal, rule, month) else {
            continue;
        };
        let deadline = r.deadline();
        if deadline < today || deadline > today + Duration::days(FIRST_SATURDAY_AHEAD_DAYS) {
            continue;
        }
        let mut leaders: Vec<(i64, i64)> = links
            .iter()
            .filter(|l| l.start <= deadline && l.end.is_none_or(|e| e >= deadline))
            .map(|l| (l.leader_id, l.street_id))
            .collect();
        leaders.sort();
        leaders.dedup_by_key(|l| l.0);
        for (leader, street) in leaders {
            // Attended earlier this month, or planned: either keeps the obligation.
            let has = planned
                .iter()
                .any(|&(p, d)| p == leader && month.contains(d) && r.counts(d));
            if !has {
                out.push(Warning {
                    kind: WarningKind::FirstSaturday,
                    rule: "R-LEAD-1",
                    org_id: street,
                    case_id: None,
                    person_id: Some(leader),
                    due: Some(deadline),
                    subject: match (r.first_saturday, r.flagged) {
                        (Some(d), true) => format!("{d}（节假日或调休，按本地规则计算）"),
                        (Some(d), false) => d.to_string(),
                        (None, _) => String::new(),
                    },
                });
            }
        }
    }
    out
}

/// A dated item of a case: a notice's last day, a ledger item's due day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItem {
    pub case_id: i64,
    pub org_id: i64,
    pub due: NaiveDate,
    pub subject: String,
}

/// The warning horizon: today and the next three working days (R-CAL-1).
pub fn horizon(cal: &Calendar, today: NaiveDate) -> NaiveDate {
    cal.working_days_after(today, 3)
        .last()
        .copied()
        .unwrap_or(today)
}

impl DueItem {
    fn warning(&self, kind: WarningKind, rule: &'static str) -> Warning {
        Warning {
            kind,
            rule,
            org_id: self.org_id,
            case_id: Some(self.case_id),
            person_id: None,
            due: Some(self.due),
            subject: self.subject.clone(),
        }
    }
}

/// R-PROC-5: a running notice whose period ends within the horizon.
pub fn notices_ending(notices: &[DueItem], today: NaiveDate, horizon: NaiveDate) -> Vec<Warning> {
    notices
        .iter()
        .filter(|n| today <= n.due && n.due <= horizon)
        .map(|n| n.warning(WarningKind::NoticeEnding, "R-PROC-5"))
        .collect()
}

/// R-PROC-6: an open ledger item due within three working days, or overdue.
pub fn ledger(items: &[DueItem], today: NaiveDate, horizon: NaiveDate) -> Vec<Warning> {
    items
        .iter()
        .filter(|i| i.due <= horizon)
        .map(|i| {
            let kind = if i.due < today {
                WarningKind::LedgerOverdue
            } else {
                WarningKind::LedgerDue
            };
            i.warning(kind, "R-PROC-6")
        })
        .collect()
}

/// R-PROC-5: an objection to a notice without an answer (due: the notice's last day).
pub fn objections_unanswered(items: &[DueItem]) -> Vec<Warning> {
    items
        .iter()
        .map(|i| i.warning(WarningKind::ObjectionUnanswered, "R-PROC-5"))
        .collect()
}

/// R-PROC-4: the minutes of a held meeting not yet confirmed (due: the meeting's day).
pub fn minutes_unconfirmed(items: &[DueItem]) -> Vec<Warning> {
    items
        .iter()
        .map(|i| i.warning(WarningKind::MinutesUnconfirmed, "R-PROC-4"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn cal() -> Calendar {
        crate::calendar::national_day_2025()
    }

    #[test]
    fn r_proc_0_no_meeting_is_warned_only_after_the_20th() {
        let cs = [(1, "甲".to_string()), (2, "乙".to_string())];
        assert!(no_meeting_yet(&cs, &[], d("2025-09-20")).is_empty());
        let w = no_meeting_yet(&cs, &[1], d("2025-09-21"));
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].org_id, w[0].due), (2, Some(d("2025-09-30"))));
        assert_eq!(w[0].rule, "R-PROC-0");
    }

    #[test]
    fn r_lead_1_a_first_saturday_coming_without_a_meeting() {
        let links = [LeaderLink {
            leader_id: 7,
            street_id: 100,
            start: d("2025-01-01"),
            end: None,
        }];
        let rule = HolidaySaturdayRule::AnySaturday;
        // 2025-09-06 is 4 days ahead and nothing is planned.
        let w = first_saturday(&links, &[], &cal(), rule, d("2025-09-02"));
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].person_id, w[0].due), (Some(7), Some(d("2025-09-06"))));
        // Planned on the day: nothing to warn.
        assert!(
            first_saturday(
                &links,
                &[(7, d("2025-09-06"))],
                &cal(),
                rule,
                d("2025-09-02")
            )
            .is_empty()
        );
        // Planned on another day does not count.
        assert_eq!(
            first_saturday(
                &links,
                &[(7, d("2025-09-13"))],
                &cal(),
                rule,
                d("2025-09-02")
            )
            .len(),
            1
        );
        // October's first Saturday (10/4) is in the holiday: any Saturday of October counts,
        // so the deadline is the month's last Saturday-or-day (10/31) and 10/18 is enough.
        let w = first_saturday(&links, &[], &cal(), rule, d("2025-10-20"));
        assert_eq!(w[0].due, Some(d("2025-10-31")));
        assert!(w[0].subject.contains("节假日"));
        // With 10/25 planned only November's first Saturday (11/1, 12 days ahead) is left.
        let w = first_saturday(
            &links,
            &[(7, d("2025-10-25"))],
            &cal(),
            rule,
            d("2025-10-20"),
        );
        assert_eq!(
            w.iter().map(|w| w.due).collect::<Vec<_>>(),
            [Some(d("2025-11-01"))]
        );
        // Already attended on a day that counts this month: no warning for October.
        let w = first_saturday(
            &links,
            &[(7, d("2025-10-18"))],
            &cal(),
            rule,
            d("2025-10-22"),
        );
        assert!(w.iter().all(|w| w.due == Some(d("2025-11-01"))), "{w:?}");
        // More than two weeks ahead: not yet.
        assert!(first_saturday(&links, &[], &cal(), rule, d("2025-08-10")).is_empty());
    }

    #[test]
    fn ledger_items_due_in_three_working_days_or_overdue() {
        let item = |due: &str| DueItem {
            case_id: 1,
            org_id: 2,
            due: d(due),
            subject: "施工".into(),
        };
        // From Tuesday 2025-09-30 the next three working days skip the National Day holiday:
        // 10/9, 10/10, 10/11 (a make-up Saturday).
        let today = d("2025-09-30");
        let h = horizon(&cal(), today);
        assert_eq!(h, d("2025-10-11"));
        let w = ledger(
            &[item("2025-09-29"), item("2025-10-10"), item("2025-10-13")],
            today,
            h,
        );
        assert_eq!(
            w.iter().map(|w| w.kind).collect::<Vec<_>>(),
            [WarningKind::LedgerOverdue, WarningKind::LedgerDue]
        );
        let n = notices_ending(&[item("2025-09-29"), item("2025-10-09")], today, h);
        assert_eq!(n.len(), 1, "an ended notice is not ending");
    }
}
