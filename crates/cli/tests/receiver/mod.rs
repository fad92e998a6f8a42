//! The reference receiver (issue 7 point 6), for tests only: an HTTP listener that checks
//! each batch's signature and timestamp as a platform's adapter would, fails on demand
//! (an error status, a garbage answer, no answer), and records what it received. It applies
//! a record only when its `change` is newer than what it holds, so a batch sent twice has no
//! second effect; `effects` lists what it applied, to prove exactly-once in effect.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// 500 with a message.
    Fail,
    /// 200 with a body that is no confirmation.
    Garbage,
    /// No answer for longer than the sender waits.
    Hang,
}

#[derive(Debug)]
pub struct Received {
    pub mode: Mode,
    pub secret: String,
    /// Every request, with the answer it got: (batch key, status).
    pub requests: Vec<(String, u16)>,
    pub bad_signatures: usize,
    pub stale_timestamps: usize,
    /// Batch keys confirmed.
    pub confirmed: BTreeSet<String>,
    /// The latest of each record: (kind, id) → (change, record).
    pub records: BTreeMap<(String, i64), (i64, Value)>,
    /// Each (kind, id, change) applied, in order.
    pub effects: Vec<(String, i64, i64)>,
    /// Records that came again and were dropped.
    pub duplicates: usize,
}

pub type Shared = Arc<Mutex<Received>>;

pub async fn start(secret: &str, mode: Mode) -> (SocketAddr, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Received {
        mode,
        secret: secret.to_string(),
        requests: Vec::new(),
        bad_signatures: 0,
        stale_timestamps: 0,
        confirmed: BTreeSet::new(),
        records: BTreeMap::new(),
        effects: Vec::new(),
        duplicates: 0,
    }));
    let app = axum::Router::new()
        .route("/in", axum::routing::post(receive))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (addr, shared)
}

pub fn set_mode(shared: &Shared, mode: Mode) {
    shared.lock().unwrap().mode = mode;
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let key = header(&headers, "idempotency-key").to_string();
    let mode = shared.lock().unwrap().mode;
    let answer = |status: StatusCode, text: String| {
        shared
            .lock()
            .unwrap()
            .requests
            .push((key.clone(), status.as_u16()));
        (status, text).into_response()
    };
    let ts: i64 = header(&headers, "x-roundtable-timestamp")
        .parse()
        .unwrap_or(0);
    if !roundtable_core::exchange::timestamp_is_fresh(ts, chrono::Utc::now()) {
        shared.lock().unwrap().stale_timestamps += 1;
        return answer(StatusCode::UNAUTHORIZED, "stale timestamp".into());
    }
    let signature = header(&headers, "x-roundtable-signature");
    let secret = shared.lock().unwrap().secret.clone();
    let ok = signature
        .strip_prefix("hmac-sm3=")
        .is_some_and(|s| roundtable_store::exchange::signature_matches(&secret, ts, &body, s));
    if !ok {
        shared.lock().unwrap().bad_signatures += 1;
        return answer(StatusCode::UNAUTHORIZED, "bad signature".into());
    }
    match mode {
        Mode::Fail => return answer(StatusCode::INTERNAL_SERVER_ERROR, "平台维护中".into()),
        Mode::Garbage => return answer(StatusCode::OK, "<html>ok</html>".into()),
        Mode::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return answer(StatusCode::OK, String::new());
        }
        Mode::Accept => {}
    }
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        return answer(StatusCode::BAD_REQUEST, "not JSON".into());
    };
    assert_eq!(doc["format"], "roundtable-exchange");
    assert_eq!(
        doc["batch"].as_str(),
        Some(key.as_str()),
        "the key is the batch's"
    );
    {
        let mut r = shared.lock().unwrap();
        for rec in doc["records"].as_array().cloned().unwrap_or_default() {
            let kind = rec["kind"].as_str().unwrap_or_default().to_string();
            let id = rec["id"].as_i64().unwrap_or_default();
            let change = rec["change"].as_i64().unwrap_or_default();
            match r.records.get(&(kind.clone(), id)) {
                Some((seen, _)) if *seen >= change => r.duplicates += 1,
                _ => {
                    r.effects.push((kind.clone(), id, change));
                    r.records.insert((kind, id), (change, rec));
                }
            }
        }
        r.confirmed.insert(key.clone());
    }
    answer(
        StatusCode::OK,
        serde_json::json!({ "received": key }).to_string(),
    )
}
