//! Notifications and scheduled jobs (issue 5): in-app notifications (one per user and key),
//! each user's channels, the outbox of e-mails and webhook calls, and the runs of scheduled
//! jobs — a run is claimed by inserting its (job, run key): of several instances exactly one
//! succeeds.

use chrono::{DateTime, Utc};

use crate::db::{Exec, FromRow, Row, Sql};
use crate::{StoreError, args};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub href: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl FromRow for Notification {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Notification {
            id: r.get("id")?,
            title: r.get("title")?,
            body: r.get("body")?,
            href: r.get("href")?,
            created_at: r.get("created_at")?,
            read_at: r.get("read_at")?,
        })
    }
}

/// Adds a notification unless the user already has one with this key; its id when added.
pub async fn notify(
    e: &mut impl Exec,
    user_id: i64,
    key: &str,
    title: &str,
    body: &str,
    href: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    let exists: Option<i64> = e
        .fetch_optional(Sql::with(
            "SELECT id FROM notifications WHERE user_id = $1 AND dedup_key = $2",
            args![user_id, key],
        ))
        .await?;
    if exists.is_some() {
        return Ok(None);
    }
    e.fetch_one(Sql::with(
        "INSERT INTO notifications (user_id, dedup_key, title, body, href, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        args![user_id, key, title, body, href, crate::now()],
    ))
    .await
    .map(Some)
}

pub async fn list(e: &mut impl Exec, user_id: i64) -> Result<Vec<Notification>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT id, title, body, href, created_at, read_at FROM notifications WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100",
        args![user_id],
    ))
    .await
}

pub async fn unread(e: &mut impl Exec, user_id: i64) -> Result<i64, StoreError> {
    e.fetch_one(Sql::with(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        args![user_id],
    ))
    .await
}

pub async fn mark_read(e: &mut impl Exec, user_id: i64) -> Result<u64, StoreError> {
    e.execute(Sql::with(
        "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL",
        args![crate::now(), user_id],
    ))
    .await
}

/// A user's channels.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Prefs {
    pub email: Option<String>,
    pub by_email: bool,
    pub by_webhook: bool,
    /// The number the SMS gateway behind the webhook sends to.
    pub mobile: Option<String>,
    pub daily_digest: bool,
}

impl FromRow for Prefs {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Prefs {
            email: r.get("email")?,
            by_email: r.get("by_email")?,
            by_webhook: r.get("by_webhook")?,
            mobile: crate::pii::open("notification_prefs.mobile", r.get("mobile")?)?,
            daily_digest: r.get("daily_digest")?,
        })
    }
}

impl Prefs {
    /// Without a choice of one's own: in the app, a daily digest.
    pub fn default_for_new() -> Prefs {
        Prefs {
            daily_digest: true,
            ..Default::default()
        }
    }
}

pub async fn prefs(e: &mut impl Exec, user_id: i64) -> Result<Prefs, StoreError> {
    Ok(e.fetch_optional(Sql::with(
        "SELECT email, by_email, by_webhook, mobile, daily_digest FROM notification_prefs WHERE user_id = $1",
        args![user_id],
    ))
    .await?
    .unwrap_or_else(Prefs::default_for_new))
}

pub async fn set_prefs(e: &mut impl Exec, user_id: i64, p: &Prefs) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "DELETE FROM notification_prefs WHERE user_id = $1",
        args![user_id],
    ))
    .await?;
    e.execute(Sql::with(
        "INSERT INTO notification_prefs (user_id, email, by_email, by_webhook, mobile, daily_digest, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![user_id, p.email.clone(), p.by_email, p.by_webhook, crate::pii::seal("notification_prefs.mobile", p.mobile.as_deref())?, p.daily_digest, crate::now()],
    ))
    .await?;
    Ok(())
}

/// The users a digest goes to: enabled accounts with their channels (the default for those
/// who chose none).
pub async fn digest_users(e: &mut impl Exec) -> Result<Vec<(i64, Prefs)>, StoreError> {
    struct U(i64, Option<Prefs>);
    impl FromRow for U {
        fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
            let has: Option<bool> = r.get("daily_digest")?;
            Ok(U(
                r.get("id")?,
                match has {
                    Some(_) => Some(Prefs::from_row(r)?),
                    None => None,
                },
            ))
        }
    }
    let rows: Vec<U> = e
        .fetch_all(Sql::new(
            "SELECT u.id, p.email, p.by_email, p.by_webhook, p.mobile, p.daily_digest FROM users u LEFT JOIN notification_prefs p ON p.user_id = u.id WHERE u.disabled = FALSE ORDER BY u.id",
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|u| (u.0, u.1.unwrap_or_else(Prefs::default_for_new)))
        .filter(|(_, p)| p.daily_digest)
        .collect())
}

/// Queues an e-mail or a webhook call.
pub async fn enqueue(
    e: &mut impl Exec,
    notification_id: Option<i64>,
    channel: &str,
    target: &str,
    payload: &str,
) -> Result<i64, StoreError> {
    let now = crate::now();
    e.fetch_one(Sql::with(
        "INSERT INTO deliveries (notification_id, channel, target, payload, status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) RETURNING id",
        args![notification_id, channel, target, payload, now],
    ))
    .await
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub channel: String,
    pub target: String,
    #[serde(skip)]
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl FromRow for Delivery {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(Delivery {
            id: r.get("id")?,
            channel: r.get("channel")?,
            target: r.get("target")?,
            payload: r.get("payload")?,
            status: r.get("status")?,
            attempts: r.get("attempts")?,
            next_attempt_at: r.get("next_attempt_at")?,
            last_error: r.get("last_error")?,
            created_at: r.get("created_at")?,
            sent_at: r.get("sent_at")?,
        })
    }
}

const DELIVERY: &str = "SELECT id, channel, target, payload, status, attempts, next_attempt_at, last_error, created_at, sent_at FROM deliveries";

/// Pending deliveries whose time has come, the oldest first.
pub async fn due(e: &mut impl Exec, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    e.fetch_all(Sql::with(
        &format!("{DELIVERY} WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"),
        args![crate::now(), limit],
    ))
    .await
}

/// Takes a delivery for sending: moves its next attempt on, so another instance does not take
/// it at the same time; false when someone else took it first.
pub async fn take(
    e: &mut impl Exec,
    d: &Delivery,
    lease_until: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(e
        .execute(Sql::with(
            "UPDATE deliveries SET next_attempt_at = $1, attempts = attempts + 1 WHERE id = $2 AND status = 'pending' AND attempts = $3",
            args![lease_until, d.id, d.attempts],
        ))
        .await?
        == 1)
}

pub async fn delivered(e: &mut impl Exec, id: i64) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE deliveries SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2",
        args![crate::now(), id],
    ))
    .await?;
    Ok(())
}

/// A failed attempt: tried again at `retry_at`, or given up (`None`).
pub async fn failed(
    e: &mut impl Exec,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let (status, at) = match retry_at {
        Some(t) => ("pending", t),
        None => ("failed", crate::now()),
    };
    e.execute(Sql::with(
        "UPDATE deliveries SET status = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4",
        args![status, at, error, id],
    ))
    .await?;
    Ok(())
}

pub async fn recent_deliveries(e: &mut impl Exec) -> Result<Vec<Delivery>, StoreError> {
    e.fetch_all(Sql::new(&format!(
        "{DELIVERY} ORDER BY created_at DESC, id DESC LIMIT 100"
    )))
    .await
}

/// Claims the run of `job` for `run_key`; false when another instance (or an earlier tick)
/// has it.
pub async fn claim_run(
    e: &mut impl Exec,
    job: &str,
    run_key: &str,
    instance: &str,
) -> Result<Option<i64>, StoreError> {
    match e
        .fetch_one(Sql::with(
            "INSERT INTO job_runs (job, run_key, instance, started_at, status) VALUES ($1, $2, $3, $4, 'running') RETURNING id",
            args![job, run_key, instance, crate::now()],
        ))
        .await
    {
        Ok(id) => Ok(Some(id)),
        Err(e) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn finish_run(
    e: &mut impl Exec,
    id: i64,
    status: &str,
    detail: &str,
) -> Result<(), StoreError> {
    e.execute(Sql::with(
        "UPDATE job_runs SET finished_at = $1, status = $2, detail = $3 WHERE id = $4",
        args![crate::now(), status, detail, id],
    ))
    .await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobRun {
    pub job: String,
    pub run_key: String,
    pub instance: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: String,
    pub detail: Option<String>,
}

impl FromRow for JobRun {
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(JobRun {
            job: r.get("job")?,
            run_key: r.get("run_key")?,
            instance: r.get("instance")?,
            started_at: r.get("started_at")?,
            finished_at: r.get("finished_at")?,
            status: r.get("status")?,
            detail: r.get("detail")?,
        })
    }
}

pub async fn runs(e: &mut impl Exec, job: &str) -> Result<Vec<JobRun>, StoreError> {
    e.fetch_all(Sql::with(
        "SELECT job, run_key, instance, started_at, finished_at, status, detail FROM job_runs WHERE job = $1 ORDER BY started_at DESC, id DESC LIMIT 20",
        args![job],
    ))
    .await
}
