//! Notifications and reminders (issue 5): scheduled jobs inside the binary — each run claimed
//! by inserting its (job, run key), so with several `serve` instances on one database each
//! runs once — a daily digest of each user's warnings (in the app, by e-mail through the SMTP
//! relay, and through the webhook an SMS gateway or WeChat service consumes), and the outbox
//! those wait in: sent by the scheduler with retries and backoff, never by a request.

use std::time::Duration as StdDuration;

use chrono::{Duration, Timelike, Utc};
use hmac::{Hmac, KeyInit, Mac};
use roundtable_core::FieldErrors;
use roundtable_core::access::{Actor, Role};
use roundtable_core::validate::optional_phone;
use roundtable_store::notify::{self as store, Delivery, JobRun, Notification, Prefs};
use roundtable_store::users;
use sha2::Sha256;

use super::{audit_event, json};
use crate::AppState;
use crate::error::AppError;

/// Where the webhook goes and the secret that signs it.
#[derive(Debug, Clone, Default)]
pub struct WebhookConfig {
    /// `http://host:port/path` (behind the district's network; TLS by a proxy in front of the
    /// gateway).
    pub url: String,
    pub secret: String,
}

/// The SMTP relay reminders are sent through (plain SMTP inside the district's network).
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender, e.g. `圆桌 <roundtable@xihu.gov.cn>`.
    pub from: String,
}

#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub smtp: Option<SmtpConfig>,
    pub webhook: Option<WebhookConfig>,
    /// The hour (China time) the daily digest goes out.
    pub digest_hour: u32,
    /// How long a webhook call may take.
    pub timeout: StdDuration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            smtp: None,
            webhook: None,
            digest_hour: 8,
            timeout: StdDuration::from_secs(5),
        }
    }
}

/// The jobs the scheduler runs once a day (the outbox is sent at every tick, every 30 s).
pub const JOBS: &[(&str, &str)] = &[("daily_digest", "每日待办提醒（每天一次）")];

/// How many times a call is tried, and the waits between tries.
pub const BACKOFF_MINUTES: &[i64] = &[1, 5, 30, 120, 720];

/// What one tick of the scheduler did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    /// The digest ran here (false: not due, or another instance ran it).
    pub digest_ran: bool,
    pub notified: usize,
    pub sent: usize,
    pub failed: usize,
}

/// Runs what is due now: the day's digest once its hour has come, then the outbox.
pub async fn tick(state: &AppState, instance: &str) -> Result<Tick, AppError> {
    let mut t = Tick::default();
    let now_china = roundtable_store::now().with_timezone(&crate::render::china());
    if now_china.hour() >= state.config.notify.digest_hour {
        let key = now_china.date_naive().to_string();
        if let Some(run) =
            store::claim_run(&mut state.db.pool(), "daily_digest", &key, instance).await?
        {
            t.digest_ran = true;
            let r = digest(state, &key).await;
            let (status, detail) = match &r {
                Ok(n) => ("ok", format!("{n} 人收到提醒")),
                Err(e) => ("error", e.to_string()),
            };
            store::finish_run(&mut state.db.pool(), run, status, &detail).await?;
            t.notified = r.unwrap_or(0);
        }
    }
    // PIPL retention, once a day on one instance.
    let day = now_china.date_naive().to_string();
    if let Some(run) =
        store::claim_run(&mut state.db.pool(), "contact_retention", &day, instance).await?
    {
        let r = super::privacy::retain(&state.db, state.config.contact_retention_days).await;
        let (status, detail) = match &r {
            Ok(n) => ("ok", format!("{} 条记录的联系方式已删除", n.total())),
            Err(e) => ("error", e.to_string()),
        };
        store::finish_run(&mut state.db.pool(), run, status, &detail).await?;
    }
    if let Some(cfg) = state.config.backup.clone() {
        // Apart from the tick: a large database takes minutes to copy.
        let (db, data_dir, instance) = (
            state.db.clone(),
            state.config.data_dir.clone(),
            instance.to_string(),
        );
        tokio::spawn(async move {
            if let Err(e) = super::backup::scheduled(&db, &data_dir, &cfg, &instance).await {
                tracing::warn!(error = %e, "scheduled backup");
            }
        });
    }
    let (sent, failed) = send_due(state).await?;
    t.sent = sent;
    t.failed = failed;
    Ok(t)
}

/// The digest of `day`: each user's current warnings, once; a user with none gets nothing
/// (what is done is not reminded).
async fn digest(state: &AppState, day: &str) -> Result<usize, AppError> {
    let users = store::digest_users(&mut state.db.pool()).await?;
    let mut notified = 0;
    for (user_id, prefs) in users {
        let Some(user) = users::get(&mut state.db.pool(), user_id).await? else {
            continue;
        };
        let actor = crate::auth::actor_for(&mut state.db.pool(), &user).await?;
        let list = crate::services::warnings::for_actor(
            &state.db,
            &state.calendar,
            state.config.holiday_saturday_rule,
            &actor,
        )
        .await?;
        if list.is_empty() {
            continue;
        }
        let title = format!("待办提醒：{}项", list.len());
        let body: Vec<String> = list
            .iter()
            .take(10)
            .map(|w| {
                format!(
                    "{}：{} {}{}",
                    w.label,
                    w.org_name,
                    w.subject,
                    w.due.map(|d| format!("（期限 {d}）")).unwrap_or_default()
                )
            })
            .collect();
        let body = body.join("\n");
        let mut tx = state.db.begin().await?;
        let key = format!("digest:{day}");
        if let Some(id) =
            store::notify(&mut tx, user_id, &key, &title, &body, Some("/warnings")).await?
        {
            notified += 1;
            if prefs.by_email
                && state.config.notify.smtp.is_some()
                && let Some(to) = &prefs.email
            {
                let payload = serde_json::json!({"subject": title, "body": format!("{body}\n\n详见：/warnings")});
                store::enqueue(&mut tx, Some(id), "email", to, &payload.to_string()).await?;
            }
            if prefs.by_webhook && state.config.notify.webhook.is_some() {
                let payload = serde_json::json!({
                    "kind": "daily_digest",
                    "user_id": user_id,
                    "username": user.username,
                    "mobile": prefs.mobile,
                    "title": title,
                    "body": body,
                    "href": "/warnings",
                    "idempotency_key": format!("{user_id}:{key}"),
                });
                store::enqueue(
                    &mut tx,
                    Some(id),
                    "webhook",
                    "webhook",
                    &payload.to_string(),
                )
                .await?;
            }
        }
        tx.commit().await?;
    }
    Ok(notified)
}

/// Sends the deliveries whose time has come; a failure is tried again later (backoff), and
/// given up after the last wait.
async fn send_due(state: &AppState) -> Result<(usize, usize), AppError> {
    let (mut sent, mut failed) = (0, 0);
    for d in store::due(&mut state.db.pool(), 50).await? {
        // Leased past the timeout, so another instance leaves it alone meanwhile.
        let lease = roundtable_store::now() + Duration::minutes(1);
        if !store::take(&mut state.db.pool(), &d, lease).await? {
            continue;
        }
        let n = &state.config.notify;
        let r = match d.channel.as_str() {
            "webhook" => match &n.webhook {
                Some(w) => post_webhook(w, &d.payload, n.timeout).await,
                None => Err("未配置 webhook".to_string()),
            },
            "email" => match &n.smtp {
                Some(s) => send_mail(s, &d.target, &d.payload, n.timeout).await,
                None => Err("未配置 SMTP".to_string()),
            },
            other => Err(format!("未知的通道 {other}")),
        };
        match r {
            Ok(()) => {
                store::delivered(&mut state.db.pool(), d.id).await?;
                sent += 1;
            }
            Err(e) => {
                let attempt = d.attempts as usize; // attempts before this one
                let retry = BACKOFF_MINUTES
                    .get(attempt)
                    .map(|m| roundtable_store::now() + Duration::minutes(*m));
                store::failed(&mut state.db.pool(), d.id, &e, retry).await?;
                failed += 1;
            }
        }
    }
    Ok((sent, failed))
}

/// `X-Roundtable-Signature`: hex HMAC-SHA256 over `{timestamp}.{body}` with the shared secret.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// One signed POST of the JSON `body`; an error names what went wrong.
async fn post_webhook(w: &WebhookConfig, body: &str, timeout: StdDuration) -> Result<(), String> {
    let ts = Utc::now().timestamp();
    let answer = super::outbound::post(
        &w.url,
        &[
            ("content-type", "application/json".into()),
            ("x-roundtable-timestamp", ts.to_string()),
            ("x-roundtable-signature", signature(&w.secret, ts, body)),
        ],
        hyper::body::Bytes::from(body.to_string()),
        timeout,
    )
    .await?;
    if answer.status.is_success() {
        Ok(())
    } else {
        Err(format!("对方返回 {}", answer.status))
    }
}

/// One e-mail through the relay; an error names what went wrong.
async fn send_mail(
    smtp: &SmtpConfig,
    to: &str,
    payload: &str,
    timeout: StdDuration,
) -> Result<(), String> {
    use lettre::message::header::ContentType;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let v: serde_json::Value =
        serde_json::from_str(payload).map_err(|e| format!("邮件内容无效：{e}"))?;
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let message = Message::builder()
        .from(
            smtp.from
                .parse()
                .map_err(|e| format!("发件人地址无效：{e}"))?,
        )
        .to(to.parse().map_err(|e| format!("收件人地址无效：{e}"))?)
        .subject(text("subject"))
        .header(ContentType::TEXT_PLAIN)
        .body(text("body"))
        .map_err(|e| format!("邮件无法生成：{e}"))?;
    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .timeout(Some(timeout))
        .build();
    match tokio::time::timeout(timeout, mailer.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("SMTP：{e}")),
        Err(_) => Err(format!("超时（{} 秒）", timeout.as_secs())),
    }
}

/// Starts the scheduler: a tick every 30 seconds for as long as the server runs.
pub fn spawn(state: AppState) {
    let instance = format!(
        "{}-{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "roundtable".into()),
        std::process::id()
    );
    tokio::spawn(async move {
        let mut every = tokio::time::interval(StdDuration::from_secs(30));
        loop {
            every.tick().await;
            if let Err(e) = tick(&state, &instance).await {
                tracing::warn!(error = %e, "scheduled jobs");
            }
        }
    });
}

/// A user's notifications and channels.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Inbox {
    pub unread: i64,
    pub notifications: Vec<Notification>,
    pub prefs: Prefs,
    /// Whether the deployment has a webhook (SMS / WeChat) to send through.
    pub webhook_available: bool,
    /// Whether it has an SMTP relay.
    pub email_available: bool,
}

pub async fn inbox(state: &AppState, actor: &Actor) -> Result<Inbox, AppError> {
    let mut pool = state.db.pool();
    Ok(Inbox {
        unread: store::unread(&mut pool, actor.user_id).await?,
        notifications: store::list(&mut pool, actor.user_id).await?,
        prefs: store::prefs(&mut pool, actor.user_id).await?,
        webhook_available: state.config.notify.webhook.is_some(),
        email_available: state.config.notify.smtp.is_some(),
    })
}

pub async fn mark_read(state: &AppState, actor: &Actor) -> Result<u64, AppError> {
    Ok(store::mark_read(&mut state.db.pool(), actor.user_id).await?)
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PrefsInput {
    /// Send the reminders by e-mail too
    pub by_email: Option<String>,
    pub email: Option<String>,
    /// Send the reminders through the webhook (SMS / WeChat) too
    pub by_webhook: Option<String>,
    /// The mobile number the gateway sends to
    pub mobile: Option<String>,
    /// A daily digest (the default); off: no reminders at all
    pub daily_digest: Option<String>,
}

fn on(v: &Option<String>) -> bool {
    matches!(
        v.as_deref().map(str::trim),
        Some("true" | "on" | "1" | "yes")
    )
}

pub async fn save_prefs(
    state: &AppState,
    actor: &Actor,
    input: &PrefsInput,
) -> Result<Prefs, AppError> {
    if actor.user_id <= 0 {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let mobile = optional_phone(&mut errors, "mobile", input.mobile.as_deref());
    let by_webhook = on(&input.by_webhook);
    if by_webhook && mobile.is_none() {
        errors.add("mobile", "通过短信或微信接收提醒，请填写手机号码");
    }
    let email = input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    if let Some(e) = &email
        && (e.chars().count() > 100 || e.parse::<lettre::Address>().is_err())
    {
        errors.add("email", "电子邮箱格式不正确，例如 zhang@xihu.gov.cn");
    }
    let by_email = on(&input.by_email);
    if by_email && email.is_none() {
        errors.add("email", "通过电子邮件接收提醒，请填写电子邮箱");
    }
    errors.into_result().map_err(AppError::Validation)?;
    let p = Prefs {
        email,
        by_email,
        by_webhook,
        mobile,
        daily_digest: on(&input.daily_digest),
    };
    let mut tx = state.db.begin().await?;
    store::set_prefs(&mut tx, actor.user_id, &p).await?;
    audit_event(
        &mut tx,
        actor,
        "notification_prefs.update",
        "user",
        actor.user_id,
        json(&p),
    )
    .await?;
    tx.commit().await?;
    Ok(p)
}

/// For administrators: each job with its last runs, and the latest deliveries.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobsView {
    pub jobs: Vec<JobView>,
    pub deliveries: Vec<Delivery>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub name: String,
    pub label: String,
    pub runs: Vec<JobRun>,
}

pub async fn jobs(state: &AppState, actor: &Actor) -> Result<JobsView, AppError> {
    if !(actor.has_role(Role::SystemAdmin) || actor.has_role(Role::DistrictAdmin)) {
        return Err(AppError::Forbidden);
    }
    let mut pool = state.db.pool();
    let mut jobs = Vec::new();
    for (name, label) in JOBS {
        jobs.push(JobView {
            name: name.to_string(),
            label: label.to_string(),
            runs: store::runs(&mut pool, name).await?,
        });
    }
    Ok(JobsView {
        jobs,
        deliveries: store::recent_deliveries(&mut pool).await?,
    })
}
