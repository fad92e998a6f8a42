//! Accountability in the API (issue 5): obligations checked from the record for a subtree and
//! period, and the six ones of party members.

use axum::Json;
use axum::extract::{Path, Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiResult};
use crate::AppState;
use crate::auth::Session;
use crate::error::ErrorEnvelope;
use crate::services::dashboard::{self as dashboards, Dashboard, DashboardQuery};
use crate::services::feeds::{self, IssuedFeed};
use crate::services::notify::{self, Inbox, JobsView, PrefsInput};
use crate::services::obligations::{self, ObligationQuery, ObligationReport};
use crate::services::periodic::{self, BulletinQuery, BulletinView};
use crate::services::six_ones::{self, MemberSixOnes, SixOneInput};
use crate::services::warnings::{self as warning_list, WarningOut};
use roundtable_store::notify::Prefs;
use roundtable_store::obligations::SixOneEntry;
use roundtable_store::periodic_bulletins::PublishedBulletin;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(obligation_check))
        .routes(routes!(dashboard))
        .routes(routes!(warnings))
        .routes(routes!(calendar_feed))
        .routes(routes!(notifications, notification_prefs))
        .routes(routes!(notifications_read))
        .routes(routes!(jobs))
        .routes(routes!(bulletin_list, bulletin_publish))
        .routes(routes!(bulletin_preview))
        .routes(routes!(bulletin_get))
        .routes(routes!(bulletin_xlsx))
        .routes(routes!(member_six_ones, record_six_one))
}

/// R-PROC-0, R-LEAD-1, R-LEAD-2 and R-MEM-1 for the subtree of `org` over the months
/// `from`..=`to`: per community, leader or member, met / missed / not applicable with the facts
/// that decided it. A node outside the asker's scope is a 403 and nothing is counted.
#[utoipa::path(get, path = "/obligations", tag = "reports", params(ObligationQuery),
    responses((status = 200, body = ObligationReport), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn obligation_check(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ObligationQuery>,
) -> ApiResult<ObligationReport> {
    Ok(Json(
        obligations::check(
            &state.db,
            &state.calendar,
            state.config.holiday_saturday_rule,
            &session.actor,
            &q,
        )
        .await?,
    ))
}

/// The dashboard of `org` for a year (2026), a quarter (2026-Q3) or a month (2026-07): meetings,
/// cases by step and level, topics by category and channel, notices running, ledger items
/// overdue, obligations, six-ones completion and satisfaction, in total and per child node.
#[utoipa::path(get, path = "/dashboard", tag = "reports", params(DashboardQuery),
    responses((status = 200, body = Dashboard), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn dashboard(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<DashboardQuery>,
) -> ApiResult<Dashboard> {
    Ok(Json(
        dashboards::dashboard(
            &state.db,
            &state.calendar,
            state.config.holiday_saturday_rule,
            &session.actor,
            &q,
        )
        .await?,
    ))
}

/// What needs the asker's action now, the most urgent first: a community without a meeting
/// past the 20th (R-PROC-0), a first Saturday coming with nothing planned (R-LEAD-1), a notice
/// ending (R-PROC-5), ledger items due in three working days or overdue (R-PROC-6), objections
/// unanswered, minutes unconfirmed. Empty for a role without a part of the tree to answer for.
#[utoipa::path(get, path = "/warnings", tag = "reports",
    responses((status = 200, body = Vec<WarningOut>), (status = 401, body = ErrorEnvelope)))]
async fn warnings(State(state): State<AppState>, session: Session) -> ApiResult<Vec<WarningOut>> {
    Ok(Json(
        warning_list::for_actor(
            &state.db,
            &state.calendar,
            state.config.holiday_saturday_rule,
            &session.actor,
        )
        .await?,
    ))
}

/// A new private iCalendar address for the signed-in account: its meetings and, for a district
/// leader, each month's first Saturday in a linked street. Shown once; the old one stops working.
#[utoipa::path(post, path = "/me/calendar-feed", tag = "reports",
    responses((status = 200, body = IssuedFeed), (status = 401, body = ErrorEnvelope)))]
async fn calendar_feed(State(state): State<AppState>, session: Session) -> ApiResult<IssuedFeed> {
    Ok(Json(feeds::issue(&state.db, &session.actor).await?))
}

/// The signed-in user's notifications (the newest first) and channels.
#[utoipa::path(get, path = "/me/notifications", tag = "notifications",
    responses((status = 200, body = Inbox), (status = 401, body = ErrorEnvelope)))]
async fn notifications(State(state): State<AppState>, session: Session) -> ApiResult<Inbox> {
    Ok(Json(notify::inbox(&state, &session.actor).await?))
}

/// Chooses the channels: a daily digest (the default), and the webhook (SMS / WeChat) with a
/// mobile number.
#[utoipa::path(put, path = "/me/notifications", tag = "notifications", request_body = PrefsInput,
    responses((status = 200, body = Prefs), (status = 422, body = ErrorEnvelope)))]
async fn notification_prefs(
    State(state): State<AppState>,
    session: Session,
    ApiJson(b): ApiJson<PrefsInput>,
) -> ApiResult<Prefs> {
    Ok(Json(notify::save_prefs(&state, &session.actor, &b).await?))
}

/// Marks every notification read; answers how many were unread.
#[utoipa::path(post, path = "/me/notifications/read", tag = "notifications",
    responses((status = 200, body = u64), (status = 401, body = ErrorEnvelope)))]
async fn notifications_read(State(state): State<AppState>, session: Session) -> ApiResult<u64> {
    Ok(Json(notify::mark_read(&state, &session.actor).await?))
}

/// For administrators: the scheduled jobs with their last runs (which instance, when, with
/// what result) and the latest deliveries of the outbox.
#[utoipa::path(get, path = "/admin/jobs", tag = "notifications",
    responses((status = 200, body = JobsView), (status = 403, body = ErrorEnvelope)))]
async fn jobs(State(state): State<AppState>, session: Session) -> ApiResult<JobsView> {
    Ok(Json(notify::jobs(&state, &session.actor).await?))
}

/// The published bulletins (定期通报) the asker may see, the newest first.
#[utoipa::path(get, path = "/bulletins", tag = "reports",
    responses((status = 200, body = Vec<PublishedBulletin>), (status = 403, body = ErrorEnvelope)))]
async fn bulletin_list(
    State(state): State<AppState>,
    session: Session,
) -> ApiResult<Vec<PublishedBulletin>> {
    Ok(Json(periodic::published(&state.db, &session.actor).await?))
}

/// The bulletin of the district or a street for a month (2026-11) or a year (2026): the
/// published one when there is one (frozen), else generated from the record now.
#[utoipa::path(get, path = "/bulletins/current", tag = "reports", params(BulletinQuery),
    responses((status = 200, body = BulletinView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn bulletin_preview(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<BulletinQuery>,
) -> ApiResult<BulletinView> {
    Ok(Json(
        periodic::view(
            &state.db,
            &state.calendar,
            state.config.holiday_saturday_rule,
            &session.actor,
            &q,
        )
        .await?,
    ))
}

/// Publishes the bulletin as generated now; from then on its content is frozen. A node's
/// bulletin of a period is published once.
#[utoipa::path(post, path = "/bulletins", tag = "reports", request_body = BulletinQuery,
    responses((status = 200, body = BulletinView), (status = 403, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn bulletin_publish(
    State(state): State<AppState>,
    session: Session,
    ApiJson(q): ApiJson<BulletinQuery>,
) -> ApiResult<BulletinView> {
    Ok(Json(
        periodic::publish(
            &state.db,
            &state.calendar,
            state.config.holiday_saturday_rule,
            &session.actor,
            &q,
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/bulletins/{id}", tag = "reports", params(("id" = i64, Path)),
    responses((status = 200, body = BulletinView), (status = 404, body = ErrorEnvelope)))]
async fn bulletin_get(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<BulletinView> {
    Ok(Json(periodic::get(&state.db, &session.actor, id).await?))
}

/// A published bulletin as .xlsx (summary, figures, what was missed, finished projects).
#[utoipa::path(get, path = "/bulletins/{id}/xlsx", tag = "reports", params(("id" = i64, Path)),
    responses((status = 200, description = "the workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 404, body = ErrorEnvelope)))]
async fn bulletin_xlsx(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, crate::error::ApiError> {
    let v = periodic::get(&state.db, &session.actor, id).await?;
    let (name, bytes) = periodic::xlsx(&state.db, &session.actor, &v).await?;
    Ok(crate::pages::excel::xlsx(bytes, &name))
}

/// A party member's six ones (R-MEM-1), the latest first.
#[utoipa::path(get, path = "/people/{id}/six-ones", tag = "reports", params(("id" = i64, Path)),
    responses((status = 200, body = MemberSixOnes), (status = 404, body = ErrorEnvelope)))]
async fn member_six_ones(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> ApiResult<MemberSixOnes> {
    Ok(Json(
        six_ones::of_person(&state.db, &session.actor, id).await?,
    ))
}

/// Records one of the six ones, by the member or their community.
#[utoipa::path(post, path = "/people/{id}/six-ones", tag = "reports", params(("id" = i64, Path)),
    request_body = SixOneInput,
    responses((status = 200, body = SixOneEntry), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn record_six_one(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<SixOneInput>,
) -> ApiResult<SixOneEntry> {
    Ok(Json(
        six_ones::record(&state.db, &session.actor, id, &b).await?,
    ))
}
