//! The foundation benchmark (issue 2, "Performance"): run it with
//!
//!     cargo bench -p roundtable --bench foundation
//!
//! It builds the demo district in a temporary directory with the real binary, then measures:
//! - start-up: `roundtable serve` on the existing database until /readyz answers (target < 1 s);
//! - the people list (5,000 members, filtered, paginated) at 32 concurrent keep-alive clients,
//!   as JSON (/api/v1/people) and as the page (/people): p50/p90/p99/max (target p99 < 20 ms);
//! - resident memory of the server process, idle after start-up and idle after the load
//!   (target < 50 MB).
//!
//! `ROUNDTABLE_BENCH_DATABASE_URL=postgres://…` runs it on PostgreSQL instead of SQLite;
//! `ROUNDTABLE_BENCH_REQUESTS` sets the requests per client (default 300).
//! Figures are printed, not asserted: targets are checked by reading them.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_roundtable");
const CLIENTS: usize = 32;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn command(dir: &Path, db: &str) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env("DATABASE_URL", db)
        .env("ROUNDTABLE_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn serve(dir: &Path, db: &str, port: u16) -> Child {
    command(dir, db)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("roundtable serve starts")
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Resident memory of a process in MB (Linux).
fn rss_mb(pid: u32) -> f64 {
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

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Option<Sender> {
    let stream = TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

async fn send(
    sender: &mut Sender,
    method: &str,
    uri: &str,
    cookie: &str,
    body: Option<String>,
) -> (StatusCode, Vec<(String, String)>, Bytes) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1")
        .header("cookie", cookie)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    sender.ready().await.expect("connection ready");
    let resp = sender.send_request(req).await.expect("response");
    let status = resp.status();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, headers, body)
}

/// Milliseconds from spawning `serve` to the first 200 of /readyz.
async fn startup_ms(dir: &Path, db: &str) -> f64 {
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// 32 clients, each on its own keep-alive connection, each sending `per_client` requests made
/// by `uri(client, i)`. Returns sorted latencies in ms and the wall time.
async fn load(
    addr: SocketAddr,
    cookie: &str,
    per_client: usize,
    uri: fn(usize, usize) -> String,
) -> (Vec<f64>, f64, usize) {
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let cookie = cookie.to_string();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await.expect("connect");
            let mut lat = Vec::with_capacity(per_client);
            let mut failures = 0;
            for i in 0..per_client {
                let u = uri(c, i);
                let t = Instant::now();
                let (status, _, body) = send(&mut sender, "GET", &u, &cookie, None).await;
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                if status != StatusCode::OK || body.is_empty() {
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

fn report(name: &str, lat: &[f64], wall: f64, failures: usize) {
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

/// How the list is used: a community's people, a name search, the first pages of a kind, a
/// kind within a community.
fn browse_uri(c: usize, i: usize) -> String {
    match (c + i) % 4 {
        0 => format!(
            "/api/v1/people?kind=party_member&page={}&per_page=20",
            (c + i) % 5 + 1
        ),
        1 => format!("/api/v1/people?org_id={}&per_page=20", 2 + (c + i) % 113),
        2 => format!("/api/v1/people?q=%E7%8E%8B&page={}&per_page=20", i % 3 + 1),
        _ => format!(
            "/api/v1/people?kind=party_member&org_id={}&per_page=20",
            2 + (c * 3 + i) % 113
        ),
    }
}

/// The worst case: any of the 250 pages of all members.
fn deep_uri(c: usize, i: usize) -> String {
    format!(
        "/api/v1/people?kind=party_member&page={}&per_page=20",
        (c * 7 + i) % 250 + 1
    )
}

/// The same uses through the HTML page (30 a page).
fn page_uri(c: usize, i: usize) -> String {
    browse_uri(c, i)
        .replace("/api/v1/people", "/people")
        .replace("&per_page=20", "")
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; this harness takes no other arguments.
    let per_client: usize = std::env::var("ROUNDTABLE_BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let dir = std::env::temp_dir().join(format!("roundtable-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = std::env::var("ROUNDTABLE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://data/demo.db".into());
    println!(
        "roundtable foundation benchmark — {} cores, database {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        db.split('@').next_back().unwrap_or("")
    );

    let t = Instant::now();
    let ok = command(&dir, &db)
        .args(["demo", "--no-serve"])
        .status()
        .expect("roundtable demo runs")
        .success();
    assert!(ok, "roundtable demo failed");
    println!(
        "demo district ready in {:.1} s (created or reused)",
        t.elapsed().as_secs_f64()
    );
    let logins = std::fs::read_to_string(dir.join("data/demo-logins.txt")).unwrap_or_default();
    let admin_password = logins
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|p| p.len() >= 3 && p[p.len() - 2] == "admin")
        .map(|p| p[p.len() - 1].to_string())
        .expect("admin login in data/demo-logins.txt (a reused PostgreSQL demo needs its original file)");

    let mut starts = Vec::new();
    for _ in 0..5 {
        starts.push(startup_ms(&dir, &db).await);
    }
    starts.sort_by(|a, b| a.total_cmp(b));
    println!(
        "serve ready on an existing database (5 starts): min {:.0} ms, median {:.0} ms, max {:.0} ms  [target < 1000 ms]",
        starts[0], starts[2], starts[4]
    );

    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server = serve(&dir, &db, port);
    let pid = server.id();
    let mut sender = loop {
        if let Some(s) = connect(addr).await {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_start = rss_mb(pid);
    let (status, headers, _) = send(
        &mut sender,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(format!(
            r#"{{"username":"admin","password":"{admin_password}"}}"#
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "admin login");
    let cookie = headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with("rt_session="))
        .and_then(|(_, v)| v.split(';').next())
        .expect("session cookie")
        .to_string();
    let (_, _, body) = send(
        &mut sender,
        "GET",
        "/api/v1/people?kind=party_member&per_page=1",
        &cookie,
        None,
    )
    .await;
    let total = String::from_utf8_lossy(&body)
        .split("\"total\":")
        .nth(1)
        .and_then(|s| s.split([',', '}']).next())
        .unwrap_or("?")
        .to_string();
    println!(
        "people list over {total} in-service party members, {CLIENTS} concurrent clients, {per_client} requests each:"
    );

    // Warm-up (connections, caches), then the measured runs.
    let _ = load(addr, &cookie, 20, browse_uri).await;
    let (lat, wall, f) = load(addr, &cookie, per_client, browse_uri).await;
    report("JSON, browsing (filters, first pages)", &lat, wall, f);
    let (lat, wall, f) = load(addr, &cookie, per_client, page_uri).await;
    report("HTML page, browsing", &lat, wall, f);
    let (lat, wall, f) = load(addr, &cookie, per_client, deep_uri).await;
    report("JSON, any of all 250 pages (worst case)", &lat, wall, f);
    println!("  [target: p99 < 20 ms]");
    let rss_loaded = rss_mb(pid);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_idle = rss_mb(pid);
    println!(
        "server RSS: idle after start {rss_start:.1} MB, right after load {rss_loaded:.1} MB, idle after load {rss_idle:.1} MB  [target idle < 50 MB]"
    );
    drop(sender);
    stop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
