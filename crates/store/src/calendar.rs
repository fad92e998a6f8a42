//! The State Council's holiday calendar (R-CAL-1): a copy of the yearly notices 2021–2026 is
//! shipped (`data/cn-holidays.json`, facts, not code) and seeds the `calendar_years` /
//! `calendar_days` tables at migration; administrators add each new year's notice there. The
//! rules that use it live in `roundtable_core::calendar`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use roundtable_core::calendar::{Calendar, YearNotice};

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args};

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
    Ok(Calendar::new(parse_years(json)?))
}

/// The notices of a file in the shipped layout, by year.
pub fn parse_years(json: &str) -> Result<BTreeMap<i32, YearNotice>, String> {
    let raw: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(json).map_err(|e| format!("不是节假日数据文件（{e}）"))?;
    let mut years = BTreeMap::new();
    for (key, value) in raw {
        let Ok(year) = key.parse::<i32>() else {
            continue;
        };
        let y: RawYear =
            serde_json::from_value(value).map_err(|e| format!("{year}年：格式有误（{e}）"))?;
        if let Some(d) = y
            .holidays
            .iter()
            .chain(&y.workdays)
            .find(|d| chrono::Datelike::year(*d) != year)
        {
            return Err(format!("{year}年：{d} 不在该年"));
        }
        years.insert(
            year,
            YearNotice {
                holidays: y.holidays.into_iter().collect(),
                workdays: y.workdays.into_iter().collect(),
            },
        );
    }
    Ok(years)
}

/// Where the shipped notices came from, as recorded in `calendar_years.source`.
pub const SHIPPED_SOURCE: &str = "国务院办公厅节假日安排通知（随软件提供）";

/// Stores the shipped notices of the years the database does not know yet (run after the
/// migrations; a year an administrator imported is never overwritten).
pub async fn seed_shipped(e: &mut impl Exec) -> Result<usize, StoreError> {
    let years = parse_years(SHIPPED).map_err(StoreError::Config)?;
    let known: Vec<i64> = e
        .fetch_all(Sql::new("SELECT year FROM calendar_years"))
        .await?;
    let mut added = 0;
    for (year, notice) in years {
        if known.contains(&(year as i64)) {
            continue;
        }
        store_year(e, year, &notice, SHIPPED_SOURCE, None).await?;
        added += 1;
    }
    Ok(added)
}

/// Records (or replaces) one year's notice: its holidays and make-up working days.
pub async fn store_year(
    e: &mut impl Exec,
    year: i32,
    notice: &YearNotice,
    source: &str,
    by: Option<i64>,
) -> Result<(), StoreError> {
    let y = year as i64;
    e.execute(Sql::with(
        "DELETE FROM calendar_days WHERE year = $1",
        args![y],
    ))
    .await?;
    e.execute(Sql::with(
        "INSERT INTO calendar_years (year, source, imported_by, imported_at) VALUES ($1, $2, $3, $4) ON CONFLICT (year) DO UPDATE SET source = excluded.source, imported_by = excluded.imported_by, imported_at = excluded.imported_at",
        args![y, source, by, crate::now()],
    ))
    .await?;
    let days: Vec<(NaiveDate, &str)> = notice
        .holidays
        .iter()
        .map(|d| (*d, "holiday"))
        .chain(notice.workdays.iter().map(|d| (*d, "workday")))
        .collect();
    // One statement per year (a notice has about 40 days).
    if !days.is_empty() {
        let mut sql = Sql::new("INSERT INTO calendar_days (day, year, kind) VALUES ");
        for (i, (day, kind)) in days.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .arg(*day)
                .push(", ")
                .arg(y)
                .push(", ")
                .arg(*kind)
                .push(")");
        }
        e.execute(sql).await?;
    }
    Ok(())
}

/// A known year as the calendar page lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct YearRow {
    pub year: i64,
    pub source: String,
    pub imported_at: chrono::DateTime<chrono::Utc>,
    pub holidays: i64,
    pub workdays: i64,
}

impl FromRow for YearRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(YearRow {
            year: r.get("year")?,
            source: r.get("source")?,
            imported_at: r.get("imported_at")?,
            holidays: r.get("holidays")?,
            workdays: r.get("workdays")?,
        })
    }
}

pub async fn years(e: &mut impl Exec) -> Result<Vec<YearRow>, StoreError> {
    e.fetch_all(Sql::new(
        "SELECT y.year, y.source, y.imported_at, (SELECT COUNT(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'holiday') AS holidays, (SELECT COUNT(*) FROM calendar_days d WHERE d.year = y.year AND d.kind = 'workday') AS workdays FROM calendar_years y ORDER BY y.year",
    ))
    .await
}

struct DayRow {
    day: NaiveDate,
    year: i64,
    kind: String,
}

impl FromRow for DayRow {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(DayRow {
            day: r.get("day")?,
            year: r.get("year")?,
            kind: r.get("kind")?,
        })
    }
}

/// The calendar as the database holds it (every known year, even one without 调休 days).
pub async fn load(e: &mut impl Exec) -> Result<Calendar, StoreError> {
    let known: Vec<i64> = e
        .fetch_all(Sql::new("SELECT year FROM calendar_years"))
        .await?;
    let mut years: BTreeMap<i32, YearNotice> = known
        .into_iter()
        .map(|y| (y as i32, YearNotice::default()))
        .collect();
    let days: Vec<DayRow> = e
        .fetch_all(Sql::new("SELECT day, year, kind FROM calendar_days"))
        .await?;
    for d in days {
        let notice = years.entry(d.year as i32).or_default();
        if d.kind == "workday" {
            notice.workdays.insert(d.day);
        } else {
            notice.holidays.insert(d.day);
        }
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
        assert!(e.contains("2024-10-01 不在该年"), "{e}");
        assert!(parse("[]").is_err());
    }
}
