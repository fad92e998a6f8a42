//! What needs action now, per user (issue 5, "Warnings"): the rules of
//! `roundtable_core::warnings` applied to the facts of the asker's part of the tree — their
//! community, their street, the district; for a district leader their linked streets and
//! their own first Saturdays. A warning goes away when what it asks for is recorded.

use std::collections::HashMap;

use chrono::NaiveDate;
use roundtable_core::access::{Action, Actor, ResourceKind, Role, scope};
use roundtable_core::obligations::{HolidaySaturdayRule, YearMonth};
use roundtable_core::warnings::{self as rules, Warning, WarningKind};
use roundtable_store::warnings as store;
use roundtable_store::{Db, orgs};

use crate::error::AppError;
use crate::services::calendar::CalendarCache;

/// One warning as the page and the API show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WarningOut {
    /// no_meeting_yet, first_saturday, notice_ending, ledger_due, ledger_overdue,
    /// objection_unanswered, minutes_unconfirmed
    pub kind: String,
    pub label: String,
    pub rule: String,
    pub org_id: i64,
    pub org_name: String,
    pub case_id: Option<i64>,
    pub person_id: Option<i64>,
    pub person_name: Option<String>,
    pub due: Option<NaiveDate>,
    pub subject: String,
    /// Where to act on it.
    pub href: String,
}

/// At most this many warnings are listed (the most urgent first).
pub const MAX_WARNINGS: usize = 500;

pub async fn for_actor(
    db: &Db,
    calendar: &CalendarCache,
    rule: HolidaySaturdayRule,
    actor: &Actor,
) -> Result<Vec<WarningOut>, AppError> {
    let today = crate::render::today();
    let s = scope(actor, Action::View, ResourceKind::Report);
    if s.is_empty() {
        return Ok(Vec::new());
    }
    // The subtrees to look at: the root for the whole tree, else each node of the scope that
    // is not under another one.
    let mut paths: Vec<String> = if s.everywhere {
        vec!["/".to_string()]
    } else {
        let mut pool = db.pool();
        let mut v = Vec::new();
        for id in &s.org_ids {
            if let Some(o) = orgs::get(&mut pool, *id).await? {
                v.push(o.path);
            }
        }
        v
    };
    paths.sort();
    paths.dedup_by(|b, a| b.starts_with(a.as_str()));
    let cal = calendar.get(db).await?;
    let horizon = rules::horizon(&cal, today);
    let month = YearMonth::of(today);
    let (Some(first), Some(last)) = (month.first_day(), month.last_day()) else {
        return Ok(Vec::new());
    };
    let only_own_leader = actor.has_role(Role::DistrictLeader)
        && !actor.grants.iter().any(|g| {
            matches!(
                g.role,
                Role::SystemAdmin | Role::DistrictAdmin | Role::StreetAdmin
            )
        });
    let mut all: Vec<Warning> = Vec::new();
    let mut org_names: HashMap<i64, String> = HashMap::new();
    let mut leader_names: HashMap<i64, String> = HashMap::new();
    for path in &paths {
        let f = store::facts(&mut db.pool(), path, today, (first, last), horizon).await?;
        all.extend(rules::no_meeting_yet(
            &f.communities,
            &f.with_meeting,
            today,
        ));
        let links: Vec<_> = f
            .leader_links
            .iter()
            .filter(|l| !only_own_leader || Some(l.leader_id) == actor.person_id)
            .cloned()
            .collect();
        all.extend(rules::first_saturday(&links, &f.planned, &cal, rule, today));
        all.extend(rules::notices_ending(&f.notices, today, horizon));
        all.extend(rules::ledger(&f.ledger, today, horizon));
        all.extend(rules::objections_unanswered(&f.objections));
        all.extend(rules::minutes_unconfirmed(&f.minutes));
        org_names.extend(f.org_names);
        leader_names.extend(f.leader_names);
    }
    all.sort_by_key(|w| (w.due.unwrap_or(today), w.kind, w.org_id, w.case_id));
    all.dedup();
    all.truncate(MAX_WARNINGS);
    Ok(all
        .into_iter()
        .map(|w| {
            let href = match (w.kind, w.case_id) {
                (_, Some(c)) => format!("/cases/{c}"),
                (WarningKind::NoMeetingYet, None) => format!("/cases?org_id={}", w.org_id),
                _ => format!(
                    "/obligations?org={}&from={}&to={}",
                    w.org_id,
                    YearMonth::of(w.due.unwrap_or(today)),
                    YearMonth::of(w.due.unwrap_or(today))
                ),
            };
            WarningOut {
                kind: w.kind.code().into(),
                label: w.kind.label().into(),
                rule: w.rule.into(),
                org_name: org_names.get(&w.org_id).cloned().unwrap_or_default(),
                org_id: w.org_id,
                case_id: w.case_id,
                person_name: w.person_id.and_then(|p| leader_names.get(&p).cloned()),
                person_id: w.person_id,
                due: w.due,
                subject: w.subject,
                href,
            }
        })
        .collect())
}
