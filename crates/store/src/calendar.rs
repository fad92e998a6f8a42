//! The State Council's holiday calendar (R-CAL-1) as shipped: a copy of the yearly notices
//! 2021–2026 (`data/cn-holidays.json`, facts, not code). It will seed a table that
//! administrators extend with each new notice; the rules that use it live in
//! `roundtable_core::calendar`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use roundtable_core::calendar::{Calendar, YearNotice};

/// The shipped copy of the notices.
pub const SHIPPED: &str = include_str!("../data/cn-holidays.json");

#[derive(serde::Deserialize)]
struct RawYear {
    holidays: Vec<NaiveDate>,
    workdays: Vec<NaiveDate>,
}

/// Reads notices in the shipped layout: `{"2025": {"holidays": [...], "workdays": [...]}}`
/// (keys that are not years, such as `_about`, are skipped). A date filed under another year
/// is an error.
pub fn parse(json: &str) -> Result<Calendar, String> {
    let raw: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| format!("not a holiday calendar: {e}"))?;
    let mut years = BTreeMap::new();
    for (key, value) in raw {
        let Ok(year) = key.parse::<i32>() else {
            continue;
        };
        let y: RawYear = serde_json::from_value(value).map_err(|e| format!("year {year}: {e}"))?;
        if let Some(d) = y
            .holidays
            .iter()
            .chain(&y.workdays)
            .find(|d| chrono::Datelike::year(*d) != year)
        {
            return Err(format!("year {year}: {d} belongs to another year"));
        }
        years.insert(
            year,
            YearNotice {
                holidays: y.holidays.into_iter().collect(),
                workdays: y.workdays.into_iter().collect(),
            },
        );
    }
    Ok(Calendar::new(years))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn r_cal_1_on_the_shipped_notices() {
        let c = parse(SHIPPED).unwrap();
        for y in 2021..=2026 {
            assert!(c.knows(y), "{y}");
        }
        assert!(!c.knows(2027));
        // The issue's example: published 2025-09-26, 9/28 a make-up day, 10/1–10/8 holidays.
        let p = c.notice_period(d("2025-09-26"), 5);
        assert_eq!((p.starts, p.ends), (d("2025-09-28"), d("2025-10-10")));
        assert!(!p.provisional);
        // 调休: Saturday 2026-02-14 works, Monday 2026-02-16 (Spring Festival) does not,
        // Saturday 2021-10-09 works.
        assert!(c.is_working_day(d("2026-02-14")));
        assert!(!c.is_working_day(d("2026-02-16")));
        assert!(c.is_working_day(d("2021-10-09")));
        // National Day 2026: published 9/30, then 10/8, 10/9, Saturday 10/10, 10/12, 10/13.
        let p = c.notice_period(d("2026-09-30"), 5);
        assert_eq!((p.starts, p.ends), (d("2026-10-08"), d("2026-10-13")));
        // Late December 2026 runs into 2027, whose notice is not out: provisional.
        assert!(c.notice_period(d("2026-12-28"), 5).provisional);
    }

    #[test]
    fn a_date_under_the_wrong_year_is_refused() {
        let e = parse(r#"{"2025": {"holidays": ["2024-10-01"], "workdays": []}}"#).unwrap_err();
        assert!(e.contains("another year"), "{e}");
        assert!(parse("[]").is_err());
    }
}
