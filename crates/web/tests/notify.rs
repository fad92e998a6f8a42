//! Reminders (issue 5): two server instances on one database run each day's digest once (the
//! run is claimed by a unique key), a user is notified once a day and only about what is still
//! to do, and the webhook call waits in the outbox — signed, retried with backoff after a 500
//! and a timeout, never in a request.

mod common;

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use chrono::{TimeZone, Utc};
use roundtable_store::{Db, Exec, Sql, args, testing};
use roundtable_web::services::notify::{self, NotifyConfig, WebhookConfig};
use roundtable_web::{AppState, WebConfig};

/// A receiver that records what it got and answers 500 to the first call.
async fn receiver() -> (u16, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    let got: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut v = seen.lock().unwrap();
                v.push((headers, body));
                if v.len() == 1 {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(l, app).await });
    (port, got)
}

fn config(port: u16) -> WebConfig {
    WebConfig {
        notify: NotifyConfig {
            webhook: Some(WebhookConfig {
                url: format!("http://127.0.0.1:{port}/hook"),
                secret: "a-secret-of-the-district".into(),
            }),
            timeout: std::time::Duration::from_millis(500),
            ..Default::default()
        },
        ..WebConfig::default()
    }
}

async fn count(db: &Db, sql: &str) -> i64 {
    db.pool().fetch_one(Sql::new(sql)).await.unwrap()
}

#[tokio::test]
async fn two_instances_run_the_digest_once_and_the_webhook_is_retried() {
    let url = testing::fresh_url().await.unwrap();
    let db1 = Db::connect(&url).await.unwrap();
    roundtable_store::migrate::run(&db1).await.unwrap();
    roundtable_web::demo::seed(&db1).await.unwrap().unwrap();
    let db2 = Db::connect(&url).await.unwrap();
    let (port, got) = receiver().await;
    let one = AppState::new(db1.clone(), config(port)).unwrap();
    let two = AppState::new(db2.clone(), config(port)).unwrap();
    // The district administrator receives reminders by SMS too.
    let zzb: i64 = db1
        .pool()
        .fetch_one(Sql::new("SELECT id FROM users WHERE username = 'zzb'"))
        .await
        .unwrap();
    db1.pool()
        .execute(Sql::with(
            "INSERT INTO notification_prefs (user_id, by_email, by_webhook, mobile, daily_digest, updated_at) VALUES ($1, FALSE, TRUE, '13900001111', TRUE, $2)",
            args![zzb, Utc::now()],
        ))
        .await
        .unwrap();

    // 2026-12-01 09:00 in China: the digest's hour has come, a first Saturday (12/5) is near and
    // no district leader has a meeting planned for it.
    let nine = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
    roundtable_store::clock::scoped(async {
        roundtable_store::clock::set_now(nine);
        let (a, b) = tokio::join!(notify::tick(&one, "one"), notify::tick(&two, "two"));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.digest_ran ^ b.digest_ran, "exactly one instance ran it: {a:?} {b:?}");
        assert_eq!(
            count(&db1, "SELECT COUNT(*) FROM job_runs WHERE job = 'daily_digest'").await,
            1
        );
        let notified = count(&db1, "SELECT COUNT(*) FROM notifications").await;
        assert!(notified > 0 && notified as usize == a.notified + b.notified);
        // Later ticks of the same day on both: nothing again.
        let (a, b) = tokio::join!(notify::tick(&one, "one"), notify::tick(&two, "two"));
        assert!(!a.unwrap().digest_ran && !b.unwrap().digest_ran);
        assert_eq!(count(&db1, "SELECT COUNT(*) FROM notifications").await, notified);
        assert_eq!(
            count(
                &db1,
                "SELECT COUNT(*) FROM (SELECT user_id FROM notifications GROUP BY user_id HAVING COUNT(*) > 1) x"
            )
            .await,
            0,
            "one digest per user and day"
        );
        // A member, with nothing to answer for, got none.
        assert_eq!(
            count(&db1, "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.username = 'member'").await,
            0
        );

        // The webhook: the first call got a 500 and waits for its retry a minute later.
        assert_eq!(got.lock().unwrap().len(), 1);
        let pending = count(&db1, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND attempts = 1 AND last_error IS NOT NULL").await;
        assert_eq!(pending, 1);
        roundtable_store::clock::set_now(nine + chrono::Duration::minutes(2));
        let (a, b) = tokio::join!(notify::tick(&one, "one"), notify::tick(&two, "two"));
        assert_eq!(a.unwrap().sent + b.unwrap().sent, 1, "sent once, by one instance");
        assert_eq!(count(&db1, "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'").await, 1);
    })
    .await;

    let calls = got.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    let (h, body) = &calls[1];
    let ts: i64 = h["x-roundtable-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        h["x-roundtable-signature"].to_str().unwrap(),
        notify::signature("a-secret-of-the-district", ts, body),
        "signed over the timestamp and the body"
    );
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["mobile"], "13900001111");
    assert_eq!(
        v["idempotency_key"],
        calls[0].1.parse::<serde_json::Value>().unwrap()["idempotency_key"]
    );
    assert!(v["title"].as_str().unwrap().starts_with("待办提醒"));
}

#[tokio::test]
async fn a_webhook_that_never_answers_times_out_and_is_retried_later() {
    // Accepts connections and never answers.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let db = testing::fresh_db().await.unwrap();
    roundtable_web::demo::seed(&db).await.unwrap().unwrap();
    let state = AppState::new(db.clone(), config(port)).unwrap();
    db.pool()
        .execute(Sql::with(
            "INSERT INTO deliveries (channel, target, payload, status, attempts, next_attempt_at, created_at) VALUES ('webhook', 'webhook', '{}', 'pending', 0, $1, $1)",
            args![Utc::now() - chrono::Duration::seconds(1)],
        ))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let t = notify::tick(&state, "solo").await.unwrap();
    assert_eq!((t.sent, t.failed), (0, 1));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "bounded by the timeout"
    );
    let (status, error): (String, String) = {
        struct R(String, String);
        impl roundtable_store::FromRow for R {
            fn from_row(
                r: &roundtable_store::Row<'_>,
            ) -> Result<Self, roundtable_store::StoreError> {
                Ok(R(r.get("status")?, r.get("last_error")?))
            }
        }
        let r: R = db
            .pool()
            .fetch_one(Sql::new("SELECT status, last_error FROM deliveries"))
            .await
            .unwrap();
        (r.0, r.1)
    };
    assert_eq!(status, "pending", "tried again later");
    assert!(error.contains("超时"), "{error}");

    // The jobs page and the inbox answer through HTTP.
    let app = common::app().await;
    let admin = app.login("admin").await;
    let (s, v, _) = app
        .json("GET", "/api/v1/admin/jobs", Some(&admin), None)
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let member = app.login("member").await;
    let (s, _, _) = app
        .json("GET", "/api/v1/admin/jobs", Some(&member), None)
        .await;
    assert_eq!(s.as_u16(), 403);
    let (s, v, _) = app
        .json("GET", "/api/v1/me/notifications", Some(&member), None)
        .await;
    assert_eq!(s.as_u16(), 200);
    assert_eq!(
        v["prefs"]["daily_digest"], true,
        "a daily digest by default"
    );
    let (s, e, _) = app
        .json(
            "PUT",
            "/api/v1/me/notifications",
            Some(&member),
            Some(serde_json::json!({"by_webhook": "on", "daily_digest": "on"})),
        )
        .await;
    assert_eq!(s.as_u16(), 422);
    assert!(e["error"]["fields"]["mobile"].is_string());
}

/// A capturing SMTP listener: answers just enough of RFC 5321 and keeps each message's DATA.
async fn smtp_listener() -> (u16, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"220 capture ESMTP\r\n").await.unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        break;
                    }
                    let cmd = line.to_ascii_uppercase();
                    if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        w.write_all(b"250-capture\r\n250 8BITMIME\r\n")
                            .await
                            .unwrap();
                    } else if cmd.starts_with("DATA") {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            let mut l = String::new();
                            r.read_line(&mut l).await.unwrap();
                            if l == ".\r\n" {
                                break;
                            }
                            data.push_str(&l);
                        }
                        keep.lock().unwrap().push(data);
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else if cmd.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        w.write_all(b"250 ok\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (port, got)
}

#[tokio::test]
async fn the_digest_goes_by_email_through_the_configured_relay() {
    let (port, got) = smtp_listener().await;
    let db = testing::fresh_db().await.unwrap();
    roundtable_web::demo::seed(&db).await.unwrap().unwrap();
    let config = WebConfig {
        notify: NotifyConfig {
            smtp: Some(notify::SmtpConfig {
                host: "127.0.0.1".into(),
                port,
                from: "圆桌 <roundtable@xihu.example>".into(),
            }),
            ..Default::default()
        },
        ..WebConfig::default()
    };
    let state = AppState::new(db.clone(), config).unwrap();
    let zzb: i64 = db
        .pool()
        .fetch_one(Sql::new("SELECT id FROM users WHERE username = 'zzb'"))
        .await
        .unwrap();
    // Bad input first: the address is checked, nothing saved.
    let user = roundtable_store::users::get(&mut db.pool(), zzb)
        .await
        .unwrap()
        .unwrap();
    let actor = roundtable_web::auth::actor_for(&mut db.pool(), &user)
        .await
        .unwrap();
    let bad = notify::PrefsInput {
        by_email: Some("on".into()),
        email: Some("not an address".into()),
        daily_digest: Some("on".into()),
        ..Default::default()
    };
    let e = notify::save_prefs(&state, &actor, &bad).await.unwrap_err();
    assert!(e.fields().unwrap().get("email").is_some());
    let good = notify::PrefsInput {
        email: Some("zzb@xihu.example".into()),
        ..bad
    };
    notify::save_prefs(&state, &actor, &good).await.unwrap();
    let nine = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
    roundtable_store::clock::scoped(async {
        roundtable_store::clock::set_now(nine);
        let t = notify::tick(&state, "solo").await.unwrap();
        assert!(t.digest_ran && t.sent >= 1, "{t:?}");
    })
    .await;
    let mails = got.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("zzb@xihu.example"), "{}", mails[0]);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM deliveries WHERE channel = 'email' AND status = 'sent'"
        )
        .await,
        1
    );
}
