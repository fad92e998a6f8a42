//! The working-day calendar (R-CAL-1): the State Council's notices held in the database, read
//! through a short-lived cache (a case page must not read 250 rows each time), the
//! working-days query of the API, and an administrator adding a new year's notice.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use roundtable_core::FieldErrors;
use roundtable_core::access::{Action, Actor, ResourceKind, permit_somewhere};
use roundtable_core::calendar::{Calendar, MIN_NOTICE_WORKING_DAYS, YearNotice};
use roundtable_core::validate::{optional_date, required_text};
use roundtable_store::Db;
use roundtable_store::calendar::{self as store, YearRow};

use super::actor_id;
use crate::error::AppError;

/// How long a loaded calendar is used before it is read again: another instance's import
/// reaches this one within the minute; this instance's own import at once.
const FRESH_FOR: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct CalendarCache {
    loaded: Mutex<Option<(Instant, Arc<Calendar>)>>,
}

impl CalendarCache {
    pub async fn get(&self, db: &Db) -> Result<Arc<Calendar>, AppError> {
        if let Some((at, c)) = self.loaded.lock().map_err(poisoned)?.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(c.clone());
        }
        let c = Arc::new(store::load(&mut db.pool()).await?);
        *self.loaded.lock().map_err(poisoned)? = Some((Instant::now(), c.clone()));
        Ok(c)
    }

    pub fn forget(&self) {
        if let Ok(mut l) = self.loaded.lock() {
            *l = None;
        }
    }
}

fn poisoned<T>(_: T) -> AppError {
    AppError::Internal("calendar cache poisoned".into())
}

/// `GET /api/v1/calendar/working-days?from=YYYY-MM-DD&count=N`
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct WorkingDaysQuery {
    /// YYYY-MM-DD; the days counted start after it
    pub from: Option<String>,
    /// How many working days (1–250; default 5, the notice period of R-CAL-1)
    pub count: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WorkingDays {
    pub from: NaiveDate,
    pub count: u32,
    pub working_days: Vec<NaiveDate>,
    /// The last of them: where a notice published on `from` ends.
    pub end: NaiveDate,
    /// Some day lies in a year whose holiday notice is not known yet.
    pub provisional: bool,
    /// The notice period as printed, e.g. 2025年9月28日至10月10日.
    pub label: String,
}

pub async fn working_days(
    cache: &CalendarCache,
    db: &Db,
    q: &WorkingDaysQuery,
) -> Result<WorkingDays, AppError> {
    let mut errors = FieldErrors::new();
    if q.from.as_deref().is_none_or(|f| f.trim().is_empty()) {
        errors.add("from", "请提供起算日期 from（年-月-日）");
    }
    let from = optional_date(&mut errors, "from", "起算日期", q.from.as_deref());
    let count = match q.count.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => MIN_NOTICE_WORKING_DAYS,
        Some(c) => match c.parse::<u32>() {
            Ok(n) if (1..=250).contains(&n) => n,
            _ => {
                errors.add("count", "工作日数 count 应为1到250之间的整数");
                0
            }
        },
    };
    errors.into_result().map_err(AppError::Validation)?;
    let Some(from) = from else {
        return Err(AppError::field("from", "请提供起算日期 from"));
    };
    let cal = cache.get(db).await?;
    let days = cal.working_days_after(from, count);
    let end = *days.last().unwrap_or(&from);
    let period = roundtable_core::calendar::NoticePeriod {
        starts: days[0],
        ends: end,
        provisional: (chrono::Datelike::year(&from)..=chrono::Datelike::year(&end))
            .any(|y| !cal.knows(y)),
    };
    Ok(WorkingDays {
        from,
        count,
        working_days: days,
        end,
        provisional: period.provisional,
        label: period.label(),
    })
}

pub fn may_edit(actor: &Actor) -> bool {
    permit_somewhere(actor, Action::Edit, ResourceKind::Calendar)
}

pub async fn years(db: &Db, actor: &Actor) -> Result<Vec<YearRow>, AppError> {
    if !permit_somewhere(actor, Action::View, ResourceKind::Calendar) {
        return Err(AppError::Forbidden);
    }
    Ok(store::years(&mut db.pool()).await?)
}

/// A new year's notice as an administrator enters it: the dates one per line (or separated
/// by commas or spaces).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct YearInput {
    pub year: String,
    /// The notice it comes from, e.g. 国办发明电〔2026〕X号
    pub source: String,
    /// Public holidays (with the weekend days inside each span)
    pub holidays: String,
    /// Weekend days declared working days (调休上班)
    pub workdays: String,
}

fn dates(errors: &mut FieldErrors, field: &str, year: i32, text: &str) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    for part in text
        .split(|c: char| c == ',' || c == '，' || c == '、' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        match optional_date(errors, field, "日期", Some(part)) {
            Some(d) if chrono::Datelike::year(&d) == year => out.push(d),
            Some(d) => errors.add(field, format!("{d} 不在{year}年")),
            None => {}
        }
    }
    out
}

/// One year's notice checked as the form enters it: the year, its days and its source.
fn check_year(input: &YearInput) -> Result<(i32, YearNotice, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    let year = match input.year.trim().parse::<i32>() {
        Ok(y) if (2000..=2100).contains(&y) => y,
        _ => {
            errors.add("year", "年份应为四位数字，例如 2027");
            0
        }
    };
    let source = required_text(&mut errors, "source", "通知文号或名称", &input.source, 100);
    let holidays = dates(&mut errors, "holidays", year, &input.holidays);
    let workdays = dates(&mut errors, "workdays", year, &input.workdays);
    if errors.is_empty() && holidays.is_empty() {
        errors.add("holidays", "请填写该年的法定节假日");
    }
    if let Some(d) = holidays.iter().find(|d| workdays.contains(d)) {
        errors.add("workdays", format!("{d} 不能既是节假日又是调休上班日"));
    }
    errors.into_result()?;
    let notice = YearNotice {
        holidays: holidays.into_iter().collect(),
        workdays: workdays.into_iter().collect(),
    };
    Ok((year, notice, source))
}

/// Stores one checked year with its audit record, inside the caller's transaction.
async fn write_year(
    tx: &mut roundtable_store::Tx,
    actor: &Actor,
    year: i32,
    notice: &YearNotice,
    source: &str,
) -> Result<(), AppError> {
    store::store_year(tx, year, notice, source, actor_id(actor)).await?;
    roundtable_store::audit::record(
        tx,
        actor_id(actor),
        "calendar.year",
        "calendar",
        Some(year as i64),
        None,
        Some(&serde_json::json!({
            "year": year,
            "source": source,
            "holidays": notice.holidays,
            "workdays": notice.workdays,
        })),
    )
    .await?;
    Ok(())
}

/// Records (or replaces) one year's notice; answers the year.
pub async fn store_year(
    cache: &CalendarCache,
    db: &Db,
    actor: &Actor,
    input: &YearInput,
) -> Result<i32, AppError> {
    if !may_edit(actor) {
        return Err(AppError::Forbidden);
    }
    let (year, notice, source) = check_year(input).map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    write_year(&mut tx, actor, year, &notice, &source).await?;
    tx.commit().await?;
    cache.forget();
    Ok(year)
}

/// Imports a holiday file in the layout of the one shipped with the software
/// (`{"2027": {"holidays": ["2027-01-01", …], "workdays": [...]}}`, one or more years): every
/// year is checked as the form checks it, and all are stored in one transaction, or none.
/// Problems are reported on the `file` field, each with its year. Answers the years stored.
pub async fn import_file(
    cache: &CalendarCache,
    db: &Db,
    actor: &Actor,
    json: &str,
    source: &str,
) -> Result<Vec<i32>, AppError> {
    if !may_edit(actor) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let source = required_text(&mut errors, "source", "通知文号或名称", source, 100);
    let years = match store::parse_years(json) {
        Ok(y) if y.is_empty() => {
            errors.add("file", "文件中没有任何年份的节假日安排");
            Default::default()
        }
        Ok(y) => y,
        Err(m) => {
            errors.add("file", m);
            Default::default()
        }
    };
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    for (year, notice) in &years {
        let join = |days: &std::collections::BTreeSet<NaiveDate>| {
            days.iter()
                .map(NaiveDate::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let input = YearInput {
            year: year.to_string(),
            source: source.clone(),
            holidays: join(&notice.holidays),
            workdays: join(&notice.workdays),
        };
        match check_year(&input) {
            Ok(c) => checked.push(c),
            Err(e) => problems.extend(
                e.0.iter()
                    .filter(|(field, _)| field.as_str() != "source")
                    .map(|(_, m)| format!("{year}年：{m}")),
            ),
        }
    }
    if !problems.is_empty() {
        errors.add("file", problems.join("；"));
    }
    errors.into_result().map_err(AppError::Validation)?;
    let mut tx = db.begin().await?;
    for (year, notice, source) in &checked {
        write_year(&mut tx, actor, *year, notice, source).await?;
    }
    tx.commit().await?;
    cache.forget();
    Ok(checked.into_iter().map(|(y, _, _)| y).collect())
}
