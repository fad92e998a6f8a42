//! Calendar feeds (issue 5): each account's private iCalendar address — the meetings its person
//! takes part in and, for a district leader, the month's first Saturday in a linked street
//! (R-LEAD-1, with the deployment's rule for holidays) — and each community's public feed of
//! its meetings. The token is shown once and only its hash is kept.

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use icalendar::{Calendar, Component, Event, EventLike};
use roundtable_core::access::Actor;
use roundtable_core::links::LinkKind;
use roundtable_core::obligations::{HolidaySaturdayRule, SaturdayRule, YearMonth};
use roundtable_store::feeds::{self as store, FeedMeeting};
use roundtable_store::{Db, links, orgs};

use super::{audit_event, json};
use crate::auth::{hash_token, random_token};
use crate::error::AppError;
use crate::services::calendar::CalendarCache;

/// A feed covers three months back and a year ahead.
const BACK_DAYS: i64 = 92;
const AHEAD_DAYS: i64 = 366;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct IssuedFeed {
    /// The private address (path); shown once — a new one replaces it.
    pub path: String,
}

/// A new private address for the asker's account (the old one stops working).
pub async fn issue(db: &Db, actor: &Actor) -> Result<IssuedFeed, AppError> {
    if actor.user_id <= 0 {
        return Err(AppError::Forbidden);
    }
    let token = random_token();
    let mut tx = db.begin().await?;
    store::set_token(&mut tx, actor.user_id, &hash_token(&token)).await?;
    audit_event(
        &mut tx,
        actor,
        "calendar_feed.issue",
        "user",
        actor.user_id,
        json(&()),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedFeed {
        path: format!("/ical/u/{token}.ics"),
    })
}

pub async fn issued_at(db: &Db, actor: &Actor) -> Result<Option<chrono::DateTime<Utc>>, AppError> {
    Ok(store::issued_at(&mut db.pool(), actor.user_id).await?)
}

fn china(day: NaiveDate, time: &str) -> chrono::DateTime<Utc> {
    let t = NaiveTime::parse_from_str(time.trim(), "%H:%M")
        .unwrap_or_else(|_| NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default());
    Utc.from_utc_datetime(&day.and_time(t)) - Duration::hours(8)
}

fn meeting_event(m: &FeedMeeting) -> Event {
    let start = china(m.held_on, &m.start_time);
    let status = if m.status == "held" {
        ""
    } else {
        "（计划）"
    };
    Event::new()
        .uid(&format!("meeting-{}@roundtable", m.id))
        .summary(&format!("幸福圆桌会{status}：{}", m.title))
        .description(&format!("{} · 议事案例编号 {}", m.community, m.case_id))
        .location(&format!("{} {}", m.community, m.place))
        .starts(start)
        .ends(start + Duration::hours(2))
        .done()
}

fn window(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    (
        today - Duration::days(BACK_DAYS),
        today + Duration::days(AHEAD_DAYS),
    )
}

/// The private feed of the account whose token this is; `None` for an unknown token.
pub async fn personal(
    db: &Db,
    calendar: &CalendarCache,
    rule: HolidaySaturdayRule,
    token: &str,
) -> Result<Option<String>, AppError> {
    let token = token.trim_end_matches(".ics");
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut pool = db.pool();
    let Some((_, person)) = store::owner(&mut pool, &hash_token(token)).await? else {
        return Ok(None);
    };
    let today = crate::render::today();
    let (from, to) = window(today);
    let mut cal = Calendar::new();
    cal.name("幸福圆桌会 · 我的日程");
    if let Some(person) = person {
        for m in store::person_meetings(&mut pool, person, from, to).await? {
            cal.push(meeting_event(&m));
        }
        // R-LEAD-1: the day to attend in a linked street, each month of the window.
        let leader_links = links::list(
            &mut pool,
            &super::everywhere(),
            &links::LinkFilter {
                person_id: Some(person),
                kind: Some(LinkKind::LeaderStreet.code().into()),
                ..Default::default()
            },
            200,
        )
        .await?;
        if !leader_links.is_empty() {
            let holidays = calendar.get(db).await?;
            let mut month = YearMonth::of(from);
            while month.first_day().is_some_and(|d| d <= to) {
                if let Some(r) = SaturdayRule::of(&holidays, rule, month)
                    && let Some(day) = r.first_saturday
                    && let Some(link) = leader_links
                        .iter()
                        .find(|l| l.start_date <= day && l.end_date.is_none_or(|e| e >= day))
                {
                    let note = if r.flagged {
                        "（第一个星期六为节假日或调休日，按本地规则：当月其他星期六亦可）"
                    } else {
                        ""
                    };
                    cal.push(
                        Event::new()
                            .uid(&format!("first-saturday-{person}-{month}@roundtable"))
                            .summary(&format!("挂点{}：参加幸福圆桌会{note}", link.org_name))
                            .all_day(day)
                            .done(),
                    );
                }
                month = month.next();
            }
        }
    }
    Ok(Some(cal.done().to_string()))
}

/// A community's public feed of its meetings; `None` when it is not a community.
pub async fn community(db: &Db, org_id: i64) -> Result<Option<String>, AppError> {
    let mut pool = db.pool();
    let Some(org) = orgs::get(&mut pool, org_id)
        .await?
        .filter(|o| matches!(o.kind.as_str(), "community" | "village"))
    else {
        return Ok(None);
    };
    let (from, to) = window(crate::render::today());
    let mut cal = Calendar::new();
    cal.name(&format!("{} · 幸福圆桌会", org.name));
    for m in store::community_meetings(&mut pool, org.id, from, to).await? {
        let mut e = meeting_event(&m);
        // The public feed names no internal record.
        e.description(&m.community);
        cal.push(e);
    }
    Ok(Some(cal.done().to_string()))
}
