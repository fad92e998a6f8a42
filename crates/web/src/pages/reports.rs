//! Accountability pages (issue 5): the obligations of a part of the tree for a period
//! (`/obligations`), drilled down from the district to a street to a community, and a party
//! member's six ones (`/people/{id}/six-ones`).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use minijinja::{Value, context};
use roundtable_core::access::{Action, ResourceKind, scope};
use roundtable_core::obligations::{SixOne, YearMonth};

use super::HtmlForm;
use crate::auth::Session;
use crate::csrf::CsrfToken;
use crate::error::AppError;
use crate::render::page_with_status;
use crate::services::dashboard::{self as dashboards, Bar, DashboardQuery};
use crate::services::obligations::{self, ObligationQuery, ObligationReport};
use crate::services::periodic::{self, BulletinQuery, BulletinView};
use crate::services::six_ones::{self, SixOneInput};
use crate::{AppState, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/obligations", get(obligations_page))
        .route("/dashboard", get(dashboard_page))
        .route("/warnings", get(warnings_page))
        .route("/bulletins", get(bulletin_page).post(bulletin_publish))
        .route("/bulletins/xlsx", get(bulletin_xlsx))
        .route("/bulletins/{id}", get(bulletin_published))
        .route(
            "/people/{id}/six-ones",
            get(six_ones_page).post(six_ones_record),
        )
}

type PageResult = Result<Response, PageError>;

/// Members listed by name on the page (the API lists every one).
const MEMBERS_SHOWN: usize = 200;

/// The nodes the asker may see reports of, in tree order, and the same as indented options of
/// the node select (without communities for a bulletin); a 403 when there are none.
async fn report_nodes(
    state: &AppState,
    a: &roundtable_core::access::Actor,
    with_communities: bool,
) -> Result<(Vec<roundtable_store::orgs::OrgBrief>, Vec<Value>), PageError> {
    let mut orgs = roundtable_store::orgs::briefs_in_scope(
        &mut state.db.pool(),
        &scope(a, Action::View, ResourceKind::Report),
    )
    .await?;
    if orgs.is_empty() {
        return Err(AppError::Forbidden.into());
    }
    orgs.sort_by(|x, y| x.path.cmp(&y.path));
    // A path `/district/street/` has three slashes; a community's four.
    let options = orgs
        .iter()
        .filter(|o| with_communities || o.path.matches('/').count() <= 3)
        .map(|o| {
            let depth = o.path.matches('/').count().saturating_sub(2);
            context! { code => o.id.to_string(), label => format!("{}{}", "　".repeat(depth), o.name) }
        })
        .collect();
    Ok((orgs, options))
}

/// The month columns and, per row, one cell per month: what the tables of the page show.
fn proc_rows(r: &ObligationReport, months: &[String]) -> Vec<Value> {
    let mut rows: Vec<Value> = Vec::new();
    for chunk in r.monthly_meetings.chunks(months.len().max(1)) {
        let Some(head) = chunk.first() else { continue };
        let met = chunk.iter().filter(|c| c.verdict.code == "met").count();
        let missed = chunk.iter().filter(|c| c.verdict.code == "missed").count();
        rows.push(context! {
            org_id => head.org_id, org_name => head.org_name, street_name => head.street_name,
            met, missed,
            cells => chunk.iter().map(|c| context! {
                code => c.verdict.code, label => c.verdict.label,
                days => c.meetings.iter().map(|d| d.format("%m-%d").to_string()).collect::<Vec<_>>().join("、"),
            }).collect::<Vec<_>>(),
        });
    }
    rows
}

fn leader_rows(r: &ObligationReport) -> Vec<Value> {
    let mut by_leader: BTreeMap<(String, i64), Vec<Value>> = BTreeMap::new();
    for m in &r.leader_months {
        by_leader
            .entry((m.leader_name.clone(), m.leader_id))
            .or_default()
            .push(context! {
                month => m.month, first_saturday => m.first_saturday.map(|d| d.format("%m-%d").to_string()),
                flagged => m.flagged, on_the_day => m.on_the_day.code, on_label => m.on_the_day.label,
                monthly => m.monthly.code, monthly_label => m.monthly.label,
                attended => m.attended.iter().map(|a| format!("{} {}", a.held_on.format("%m-%d"), a.community)).collect::<Vec<_>>().join("；"),
            });
    }
    by_leader
        .into_iter()
        .map(|((name, id), cells)| context! { leader_id => id, leader_name => name, cells })
        .collect()
}

/// R-MEM-1 per community: members, met, missed, still running.
fn member_rows(r: &ObligationReport) -> Vec<Value> {
    let mut by_org: BTreeMap<(String, i64), [usize; 4]> = BTreeMap::new();
    for m in &r.six_ones {
        let e = by_org.entry((m.org_name.clone(), m.org_id)).or_default();
        e[0] += 1;
        match m.verdict.code.as_str() {
            "met" => e[1] += 1,
            "missed" => e[2] += 1,
            _ => e[3] += 1,
        }
    }
    by_org
        .into_iter()
        .map(|((name, id), [total, met, missed, running])| {
            context! { org_id => id, org_name => name, total, met, missed, running }
        })
        .collect()
}

async fn obligations_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<ObligationQuery>,
) -> PageResult {
    let a = &session.actor;
    let (orgs, org_options) = report_nodes(&state, a, true).await?;
    let today = crate::render::today();
    let (dfrom, dto) = obligations::default_period(today);
    let result = obligations::check(
        &state.db,
        &state.calendar,
        state.config.holiday_saturday_rule,
        a,
        &q,
    )
    .await;
    let form = context! {
        org => q.org.clone().unwrap_or_default(),
        from => q.from.clone().filter(|s| !s.trim().is_empty()).unwrap_or(dfrom),
        to => q.to.clone().filter(|s| !s.trim().is_empty()).unwrap_or(dto),
    };
    let (status, ctx) = match result {
        Ok(r) => {
            let months = r.months.clone();
            let parent_visible = r.parent_id.filter(|p| orgs.iter().any(|o| o.id == *p));
            let incomplete: Vec<_> = r
                .six_ones
                .iter()
                .filter(|m| m.verdict.code != "met")
                .take(MEMBERS_SHOWN)
                .collect();
            let incomplete_total = r
                .six_ones
                .iter()
                .filter(|m| m.verdict.code != "met")
                .count();
            (
                StatusCode::OK,
                context! {
                    proc_rows => proc_rows(&r, &months), months,
                    leader_rows => leader_rows(&r),
                    member_rows => member_rows(&r),
                    incomplete, incomplete_total, members_shown => MEMBERS_SHOWN,
                    parent_visible,
                    report => Value::from_serialize(&r),
                    errors => context! {},
                },
            )
        }
        Err(AppError::Validation(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { errors => Value::from_serialize(&e) },
        ),
        Err(e) => return Err(e.into()),
    };
    Ok(page_with_status(
        &state,
        status,
        "obligations.html",
        Some(&session),
        &csrf,
        context! { form, org_options, ..ctx },
    ))
}

/// A chart of bars (drawn on the server) with the table of its numbers.
fn chart(title: &str, bars: &[Bar]) -> Value {
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    let counts: Vec<i64> = bars.iter().map(|b| b.n).collect();
    let svg = if counts.iter().any(|&n| n > 0) {
        crate::charts::bars(&labels, &counts).map(Value::from_safe_string)
    } else {
        None
    };
    context! { title, svg, bars => Value::from_serialize(bars), total => counts.iter().sum::<i64>() }
}

async fn dashboard_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<DashboardQuery>,
) -> PageResult {
    let a = &session.actor;
    let (orgs, org_options) = report_nodes(&state, a, true).await?;
    let result = dashboards::dashboard(
        &state.db,
        &state.calendar,
        state.config.holiday_saturday_rule,
        a,
        &q,
    )
    .await;
    let year = YearMonth::of(crate::render::today()).year;
    let form = context! {
        org => q.org.clone().unwrap_or_default(),
        period => q.period.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| year.to_string()),
    };
    let (status, ctx) = match result {
        Ok(d) => {
            let parent_visible = d.parent_id.filter(|p| orgs.iter().any(|o| o.id == *p));
            let children_chart: Vec<Bar> = d
                .children
                .iter()
                .map(|c| Bar {
                    code: c.org.id.to_string(),
                    label: c.org.name.clone(),
                    n: c.figures.meetings,
                })
                .collect();
            let charts = vec![
                chart("议事案例（按当前步骤）", &d.cases_by_step),
                chart("议事案例（按层级）", &d.cases_by_level),
                chart("议题（按类别）", &d.topics_by_category),
                chart("议题（按来源渠道）", &d.topics_by_channel),
                chart("群众满意度评价", &d.satisfaction),
                chart("圆桌会召开次数（按下级）", &children_chart),
            ];
            (
                StatusCode::OK,
                context! {
                    d => Value::from_serialize(&d), charts, parent_visible,
                    errors => context! {},
                },
            )
        }
        Err(AppError::Validation(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { errors => Value::from_serialize(&e) },
        ),
        Err(e) => return Err(e.into()),
    };
    // Quick choices: this year, its quarters, the last months.
    let today = crate::render::today();
    let mut periods = vec![year.to_string(), (year - 1).to_string()];
    for q in 1..=4 {
        periods.push(format!("{year}-Q{q}"));
    }
    let mut m = YearMonth::of(today);
    for _ in 0..3 {
        periods.push(m.to_string());
        m = m.prev();
    }
    Ok(page_with_status(
        &state,
        status,
        "dashboard.html",
        Some(&session),
        &csrf,
        context! { form, org_options, periods, ..ctx },
    ))
}

async fn warnings_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
) -> PageResult {
    let list = crate::services::warnings::for_actor(
        &state.db,
        &state.calendar,
        state.config.holiday_saturday_rule,
        &session.actor,
    )
    .await?;
    let today = crate::render::today();
    let rows: Vec<Value> = list
        .iter()
        .map(|w| {
            let left = w.due.map(|d| (d - today).num_days());
            context! { w => Value::from_serialize(w), left }
        })
        .collect();
    Ok(page_with_status(
        &state,
        StatusCode::OK,
        "warnings.html",
        Some(&session),
        &csrf,
        context! { rows, total => list.len(), max => crate::services::warnings::MAX_WARNINGS },
    ))
}

async fn bulletin_page_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    q: &BulletinQuery,
    result: Result<BulletinView, AppError>,
) -> PageResult {
    let a = &session.actor;
    let (_, org_options) = report_nodes(state, a, false).await?;
    let form = context! {
        org => q.org.clone().unwrap_or_default(),
        period => q.period.clone().filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| YearMonth::of(crate::render::today()).to_string()),
    };
    let published = periodic::published(&state.db, a).await?;
    let (status, ctx) = match result {
        Ok(v) => (
            StatusCode::OK,
            context! { b => Value::from_serialize(&v.content), view => Value::from_serialize(&v), errors => context! {} },
        ),
        // A community's account opening the page: nothing is asked yet, so no error — what
        // it can read are the published bulletins listed.
        Err(AppError::Validation(e))
            if e.get("org").is_some() && q.org.as_deref().is_none_or(|o| o.trim().is_empty()) =>
        {
            let note = e.get("org").map(str::to_string);
            (StatusCode::OK, context! { errors => context! {}, note })
        }
        Err(AppError::Validation(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            context! { errors => Value::from_serialize(&e) },
        ),
        Err(e) => return Err(e.into()),
    };
    Ok(page_with_status(
        state,
        status,
        "periodic_bulletin.html",
        Some(session),
        csrf,
        context! { form, org_options, published, ..ctx },
    ))
}

async fn bulletin_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Query(q): Query<BulletinQuery>,
) -> PageResult {
    let r = periodic::view(
        &state.db,
        &state.calendar,
        state.config.holiday_saturday_rule,
        &session.actor,
        &q,
    )
    .await;
    bulletin_page_with(&state, &session, &csrf, &q, r).await
}

async fn bulletin_publish(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    HtmlForm(q): HtmlForm<BulletinQuery>,
) -> PageResult {
    match periodic::publish(
        &state.db,
        &state.calendar,
        state.config.holiday_saturday_rule,
        &session.actor,
        &q,
    )
    .await
    {
        Ok(v) => Ok(Redirect::to(&format!(
            "/bulletins/{}",
            v.published_id.unwrap_or_default()
        ))
        .into_response()),
        Err(e @ AppError::Validation(_)) => {
            bulletin_page_with(&state, &session, &csrf, &q, Err(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn bulletin_published(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let v = periodic::get(&state.db, &session.actor, id).await;
    let q = BulletinQuery::default();
    bulletin_page_with(&state, &session, &csrf, &q, v).await
}

async fn bulletin_xlsx(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<BulletinQuery>,
) -> PageResult {
    let v = periodic::view(
        &state.db,
        &state.calendar,
        state.config.holiday_saturday_rule,
        &session.actor,
        &q,
    )
    .await?;
    let (name, bytes) = periodic::xlsx(&state.db, &session.actor, &v).await?;
    Ok(crate::pages::excel::xlsx(bytes, &name))
}

fn item_options() -> Vec<Value> {
    SixOne::ALL
        .iter()
        .map(|i| context! { code => i.code(), label => i.label() })
        .collect()
}

async fn six_ones_page_with(
    state: &AppState,
    session: &Session,
    csrf: &str,
    id: i64,
    errors: Value,
    form: SixOneInput,
) -> PageResult {
    let view = six_ones::of_person(&state.db, &session.actor, id).await?;
    let status = crate::render::form_status(&errors);
    // This year's items, for the six boxes at the top of the page.
    let year = YearMonth::of(crate::render::today()).year;
    let this_year: Vec<Value> = SixOne::ALL
        .iter()
        .map(|&i| {
            let first = view
                .records
                .iter()
                .filter(|r| r.item == i.code() && chrono::Datelike::year(&r.done_on) == year)
                .map(|r| r.done_on)
                .min();
            context! { label => i.label(), done_on => first }
        })
        .collect();
    Ok(page_with_status(
        state,
        status,
        "six_ones.html",
        Some(session),
        csrf,
        context! { view, errors, form, items => item_options(), this_year, year },
    ))
}

async fn six_ones_page(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
) -> PageResult {
    let form = SixOneInput {
        done_on: crate::render::today().to_string(),
        ..Default::default()
    };
    six_ones_page_with(&state, &session, &csrf, id, context! {}, form).await
}

async fn six_ones_record(
    State(state): State<AppState>,
    CsrfToken(csrf): CsrfToken,
    session: Session,
    Path(id): Path<i64>,
    HtmlForm(f): HtmlForm<SixOneInput>,
) -> PageResult {
    match six_ones::record(&state.db, &session.actor, id, &f).await {
        Ok(_) => Ok(Redirect::to(&format!("/people/{id}/six-ones")).into_response()),
        Err(AppError::Validation(e)) => {
            let errors = Value::from_serialize(&e);
            six_ones_page_with(&state, &session, &csrf, id, errors, f).await
        }
        Err(e) => Err(e.into()),
    }
}
