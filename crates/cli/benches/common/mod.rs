//! What the benchmarks share: the real binary in a temporary directory, a keep-alive HTTP/1
//! client on hyper, concurrent load and percentiles.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub const BIN: &str = env!("CARGO_BIN_EXE_roundtable");
pub const CLIENTS: usize = 32;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn command(dir: &Path, db: &str) -> Command {
    setup(Command::new(BIN), dir, db)
}

/// The binary kept on one core (util-linux's `taskset`, when there is one), for the long
/// single-writer runs that build a history: each SQL statement is a hand-over between the
/// async task and SQLite's worker thread, and on this 2-core VM a hand-over across cores
/// (waking an idle CPU) costs more than the statement — measured: 1,000 cases in 13 s on one
/// core, 22 s on two.
pub fn command_on_one_core(dir: &Path, db: &str) -> Command {
    let taskset = Path::new("/usr/bin/taskset");
    if !taskset.exists() {
        return command(dir, db);
    }
    let mut c = Command::new(taskset);
    c.args(["-c", "0", BIN]);
    setup(c, dir, db)
}

fn setup(mut c: Command, dir: &Path, db: &str) -> Command {
    c.current_dir(dir)
        .env("DATABASE_URL", db)
        .env("ROUNDTABLE_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        // A reused benchmark city may be older than the password expiry (90 days).
        .env("ROUNDTABLE_PASSWORD_MAX_AGE_DAYS", "0")
        // Load from one address: the per-address limits of public requests and logins off.
        .env("ROUNDTABLE_PUBLIC_PER_MINUTE", "0")
        .env("ROUNDTABLE_LOGIN_PER_HOUR", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

pub fn serve(dir: &Path, db: &str, port: u16) -> Child {
    command(dir, db)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("roundtable serve starts")
}

pub fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Resident memory of a process in MB (Linux).
pub fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub async fn connect(addr: SocketAddr) -> Option<Sender> {
    let stream = TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

pub async fn send(
    sender: &mut Sender,
    method: &str,
    uri: &str,
    cookie: &str,
    body: Option<String>,
) -> (StatusCode, Vec<(String, String)>, Bytes) {
    try_send(sender, method, uri, cookie, body)
        .await
        .expect("a response")
}

/// `send`, with `None` when the connection fails (the server gone, as in the crash test).
pub async fn try_send(
    sender: &mut Sender,
    method: &str,
    uri: &str,
    cookie: &str,
    body: Option<String>,
) -> Option<(StatusCode, Vec<(String, String)>, Bytes)> {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1")
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    sender.ready().await.ok()?;
    let resp = sender.send_request(req).await.ok()?;
    let status = resp.status();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp.into_body().collect().await.ok()?.to_bytes();
    Some((status, headers, body))
}

/// Milliseconds from spawning `serve` to the first 200 of /readyz.
pub async fn startup_ms(dir: &Path, db: &str) -> f64 {
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let t0 = Instant::now();
    let child = serve(dir, db, port);
    let ms = loop {
        if t0.elapsed() > Duration::from_secs(30) {
            panic!("server did not become ready in 30 s");
        }
        if let Some(mut s) = connect(addr).await
            && let Ok(r) = s
                .send_request(
                    Request::get("/readyz")
                        .header("host", "127.0.0.1")
                        .body(Full::new(Bytes::new()))
                        .expect("request"),
                )
                .await
            && r.status() == StatusCode::OK
        {
            break t0.elapsed().as_secs_f64() * 1000.0;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    stop(child);
    ms
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One request of a load: method, URI, JSON body.
pub type Make =
    std::sync::Arc<dyn Fn(usize, usize) -> (&'static str, String, Option<String>) + Send + Sync>;

/// `clients` clients, each on its own keep-alive connection, each sending `per_client`
/// requests made by `make(client, i)`; a request counts as failed unless it answers `expect`.
/// Returns sorted latencies in ms, the wall time and the failures.
pub async fn load_with(
    addr: SocketAddr,
    cookie: &str,
    clients: usize,
    per_client: usize,
    expect: StatusCode,
    make: Make,
) -> (Vec<f64>, f64, usize) {
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let cookie = cookie.to_string();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await.expect("connect");
            let mut lat = Vec::with_capacity(per_client);
            let mut failures = 0;
            for i in 0..per_client {
                let (method, uri, body) = make(c, i);
                let t = Instant::now();
                let (status, _, resp) = send(&mut sender, method, &uri, &cookie, body).await;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                if status != expect || resp.is_empty() {
                    failures += 1;
                }
            }
            (lat, failures)
        }));
    }
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (lat, f) = t.await.expect("client task");
        all.extend(lat);
        failures += f;
    }
    let wall = t0.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.total_cmp(b));
    (all, wall, failures)
}

/// 32 clients sending `per_client` GETs of `uri(client, i)` each.
pub async fn load(
    addr: SocketAddr,
    cookie: &str,
    per_client: usize,
    uri: fn(usize, usize) -> String,
) -> (Vec<f64>, f64, usize) {
    let make: Make = std::sync::Arc::new(move |c, i| ("GET", uri(c, i), None));
    load_with(addr, cookie, CLIENTS, per_client, StatusCode::OK, make).await
}

/// Logs in through the API; returns the session cookie.
pub async fn login(addr: SocketAddr, username: &str, password: &str) -> String {
    let mut sender = connect(addr).await.expect("connect");
    let (status, headers, _) = send(
        &mut sender,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(format!(
            r#"{{"username":"{username}","password":"{password}"}}"#
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{username} login");
    headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("rt_session="))
        .and_then(|(_, v)| v.split(';').next())
        .expect("session cookie")
        .to_string()
}

/// `role username password` lines of data/demo-logins.txt → the password of `username`.
pub fn demo_password(dir: &Path, username: &str) -> String {
    std::fs::read_to_string(dir.join("data/demo-logins.txt"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|p| p.len() >= 3 && p[p.len() - 2] == username)
        .map(|p| p[p.len() - 1].to_string())
        .expect(
            "the login in data/demo-logins.txt (a reused PostgreSQL demo needs its original file)",
        )
}

/// Waits until the server accepts connections.
pub async fn wait_listening(addr: SocketAddr) {
    for _ in 0..3000 {
        if connect(addr).await.is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("server not listening on {addr}");
}

pub fn report(name: &str, lat: &[f64], wall: f64, failures: usize) {
    println!(
        "{name:<42} n={:<6} p50={:>6.2} ms  p90={:>6.2} ms  p99={:>6.2} ms  max={:>7.2} ms  {:>6.0} req/s  failures={failures}",
        lat.len(),
        percentile(lat, 50.0),
        percentile(lat, 90.0),
        percentile(lat, 99.0),
        lat.last().copied().unwrap_or(f64::NAN),
        lat.len() as f64 / wall,
    );
}

pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The city-sized history of the benchmarks and where it lives.
pub struct City {
    pub dir: std::path::PathBuf,
    /// The URL the binary is given (relative to `dir` on SQLite).
    pub url: String,
    /// Kept after the run (`ROUNDTABLE_BENCH_DIR`).
    pub kept: bool,
    /// Opened directly, for picking what to measure.
    pub db: roundtable_store::Db,
}

/// Builds the city-sized history with the real binary — `roundtable demo --city 1500
/// --months 60`, sized by `ROUNDTABLE_BENCH_COMMUNITIES` and `ROUNDTABLE_BENCH_MONTHS` — or
/// reuses the one kept in `ROUNDTABLE_BENCH_DIR`; `ROUNDTABLE_BENCH_DATABASE_URL=postgres://…`
/// puts it on PostgreSQL.
pub async fn city_history(bench: &str) -> City {
    use roundtable_store::{Db, Exec, Sql};
    let communities = env_number("ROUNDTABLE_BENCH_COMMUNITIES", 1500);
    let months = env_number("ROUNDTABLE_BENCH_MONTHS", 60);
    let kept = std::env::var("ROUNDTABLE_BENCH_DIR")
        .ok()
        .map(std::path::PathBuf::from);
    let dir = kept.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("roundtable-bench-{bench}-{}", std::process::id()))
    });
    std::fs::create_dir_all(&dir).expect("bench dir");
    let bench_url = std::env::var("ROUNDTABLE_BENCH_DATABASE_URL").ok();
    let url = bench_url.as_deref().unwrap_or("sqlite://data/demo.db");
    println!(
        "roundtable {bench} benchmark — {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if bench_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let direct = match &bench_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}/data/demo.db", dir.display()),
    };
    let exists = bench_url.is_none() && dir.join("data/demo.db").exists();
    if exists {
        println!("reusing the history in {}", dir.display());
    } else {
        let t = Instant::now();
        let ok = command_on_one_core(&dir, url)
            .args([
                "demo",
                "--no-serve",
                "--city",
                &communities.to_string(),
                "--months",
                &months.to_string(),
            ])
            .status()
            .expect("roundtable demo runs")
            .success();
        assert!(ok, "roundtable demo --city failed");
        println!("history written in {:.0} s", t.elapsed().as_secs_f64());
    }
    let db = Db::connect(&direct).await.expect("database");
    if bench_url.is_some() {
        db.pool()
            .execute(Sql::new("VACUUM ANALYZE"))
            .await
            .expect("analyze");
    }
    City {
        dir,
        url: url.to_string(),
        kept: kept.is_some(),
        db,
    }
}

/// `SELECT COUNT(*) …` on the bench's database.
pub async fn count(db: &roundtable_store::Db, sql: &str) -> i64 {
    use roundtable_store::{Exec, Sql};
    db.pool()
        .fetch_one::<i64>(Sql::new(sql))
        .await
        .expect("count")
}
