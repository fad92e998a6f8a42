//! Working days (R-CAL-1) and the month's first Saturday (R-CAL-2). The calendar is data — the
//! State Council's yearly holiday notice (public holidays and make-up working days, 调休上班) —
//! handed in by the caller; nothing here knows a year's holidays.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The notice never runs fewer working days than this (R-CAL-1).
pub const MIN_NOTICE_WORKING_DAYS: u32 = 5;

/// One year of the State Council's notice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearNotice {
    /// Public holidays, with the weekend days inside each holiday span.
    pub holidays: BTreeSet<NaiveDate>,
    /// Weekend days declared working days (调休上班).
    pub workdays: BTreeSet<NaiveDate>,
}

/// The holiday calendar of the years whose notice is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, YearNotice>,
}

impl Calendar {
    pub fn new(years: BTreeMap<i32, YearNotice>) -> Calendar {
        Calendar { years }
    }

    /// Whether the year's notice is known; days of other years follow the plain week and are
    /// provisional.
    pub fn knows(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// R-CAL-1: Monday to Friday unless a public holiday; a weekend day only when declared a
    /// make-up working day.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if let Some(y) = self.years.get(&d.year()) {
            if y.holidays.contains(&d) {
                return false;
            }
            if y.workdays.contains(&d) {
                return true;
            }
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The working days after `from` (not counting `from` itself), `count` of them, in order.
    pub fn working_days_after(&self, from: NaiveDate, count: u32) -> Vec<NaiveDate> {
        let mut out = Vec::with_capacity(count as usize);
        let mut d = from;
        while out.len() < count as usize {
            d += Duration::days(1);
            if self.is_working_day(d) {
                out.push(d);
            }
        }
        out
    }

    /// R-CAL-1: a notice published on `published` runs from the next working day to the end of
    /// the `working_days`-th (never fewer than five).
    pub fn notice_period(&self, published: NaiveDate, working_days: u32) -> NoticePeriod {
        let days = self.working_days_after(published, working_days.max(MIN_NOTICE_WORKING_DAYS));
        let (starts, ends) = (days[0], days[days.len() - 1]);
        NoticePeriod {
            starts,
            ends,
            provisional: (published.year()..=ends.year()).any(|y| !self.knows(y)),
        }
    }
}

/// When a public notice runs (both days inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct NoticePeriod {
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    /// Some day of it lies in a year whose holiday notice is not known yet.
    pub provisional: bool,
}

impl NoticePeriod {
    /// As printed: 公示期：2025年9月28日至10月10日.
    pub fn label(&self) -> String {
        let day = |d: NaiveDate| format!("{}月{}日", d.month(), d.day());
        if self.starts.year() == self.ends.year() {
            format!(
                "{}年{}至{}",
                self.starts.year(),
                day(self.starts),
                day(self.ends)
            )
        } else {
            format!(
                "{}年{}至{}年{}",
                self.starts.year(),
                day(self.starts),
                self.ends.year(),
                day(self.ends)
            )
        }
    }
}

/// R-CAL-2: the first Saturday that falls in the month, and whether it is a make-up working day
/// or lies in a holiday (the month is then flagged; what counts is a deployment setting).
pub fn first_saturday(cal: &Calendar, year: i32, month: u32) -> Option<(NaiveDate, bool)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let offset = (7 + Weekday::Sat.num_days_from_monday() as i64
        - first.weekday().num_days_from_monday() as i64)
        % 7;
    let sat = first + Duration::days(offset);
    let flagged = cal
        .years
        .get(&year)
        .is_some_and(|y| y.holidays.contains(&sat) || y.workdays.contains(&sat));
    Some((sat, flagged))
}

/// 2025's National Day and Mid-Autumn holidays as the State Council's notice gives them (the
/// tests' calendar).
#[cfg(test)]
pub(crate) fn national_day_2025() -> Calendar {
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let holidays = [
        "2025-10-01",
        "2025-10-02",
        "2025-10-03",
        "2025-10-04",
        "2025-10-05",
        "2025-10-06",
        "2025-10-07",
        "2025-10-08",
    ]
    .iter()
    .map(|s| d(s))
    .collect();
    let workdays = ["2025-09-28", "2025-10-11"].iter().map(|s| d(s)).collect();
    Calendar::new(BTreeMap::from([(2025, YearNotice { holidays, workdays })]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn cal_2025() -> Calendar {
        national_day_2025()
    }

    #[test]
    fn r_cal_1_make_up_days_work_and_holidays_do_not() {
        let c = cal_2025();
        assert!(c.is_working_day(d("2025-09-28")), "a make-up Sunday");
        assert!(!c.is_working_day(d("2025-10-01")));
        assert!(!c.is_working_day(d("2025-09-27")), "a plain Saturday");
        assert!(c.is_working_day(d("2025-09-29")));
    }

    #[test]
    fn r_cal_1_the_example_of_the_issue() {
        // Published Friday 2025-09-26: 9/28 (make-up), 9/29, 9/30, then 10/1–10/8 are holidays,
        // 10/9, 10/10 — the fifth working day.
        let p = cal_2025().notice_period(d("2025-09-26"), 5);
        assert_eq!((p.starts, p.ends), (d("2025-09-28"), d("2025-10-10")));
        assert!(!p.provisional);
        assert_eq!(p.label(), "2025年9月28日至10月10日");
    }

    #[test]
    fn r_cal_1_never_fewer_than_five_and_unknown_years_are_provisional() {
        let c = cal_2025();
        let p = c.notice_period(d("2025-11-03"), 3);
        assert_eq!(c.working_days_after(d("2025-11-03"), 5).len(), 5);
        assert_eq!(p.ends, d("2025-11-10"), "five working days, not three");
        let late = c.notice_period(d("2025-12-29"), 5);
        assert!(
            late.provisional,
            "runs into 2026, whose notice is not loaded"
        );
        assert_eq!(late.label(), "2025年12月30日至2026年1月5日");
    }

    #[test]
    fn r_cal_2_first_saturday_and_its_flag() {
        let c = cal_2025();
        assert_eq!(first_saturday(&c, 2025, 11), Some((d("2025-11-01"), false)));
        // 2025-10-04 is inside the National Day holiday: flagged.
        assert_eq!(first_saturday(&c, 2025, 10), Some((d("2025-10-04"), true)));
        assert_eq!(first_saturday(&c, 2025, 9), Some((d("2025-09-06"), false)));
    }
}
