//! Built-in TLS (issue 6 point 5) through the real binary, on the backend named by
//! ROUNDTABLE_TEST_DB: with a certificate and key from files the server speaks HTTPS only,
//! sends HSTS and Secure cookies; a missing half, an unreadable key or a key that is not the
//! certificate's stops the start with a message naming the file.

#[path = "../benches/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::{Sender, command, connect, free_port, send, stop};
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use roundtable_store::testing;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

const AUDIT_KEY: &str = "tls-test-audit-key-of-32-characters!!";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A client that trusts only the test CA.
async fn connect_tls(addr: SocketAddr) -> Option<Sender> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(fixture("ca.crt")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.ok()?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .ok()?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Starts `serve` with these TLS settings and returns whether it failed, with its output.
fn start_fails(dir: &Path, url: &str, env: &[(&str, PathBuf)]) -> (bool, String) {
    let mut c = command(dir, url);
    c.env("ROUNDTABLE_AUDIT_KEY", AUDIT_KEY)
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    // A start that fails does so before it listens; a server that starts is stopped.
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (
                !out.status.success(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(child);
    (false, "the server started".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_speaks_https_from_certificate_files() {
    let dir = std::env::temp_dir().join(format!("roundtable-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = testing::fresh_url().await.unwrap();

    // Bad settings first: each stops the start and says which file is wrong.
    let (failed, out) = start_fails(
        &dir,
        &url,
        &[("ROUNDTABLE_TLS_CERT_FILE", fixture("server.crt"))],
    );
    assert!(failed, "a certificate without its key: {out}");
    assert!(
        out.contains("tls_cert_file and tls_key_file go together"),
        "{out}"
    );

    let missing = dir.join("no-such.key");
    let (failed, out) = start_fails(
        &dir,
        &url,
        &[
            ("ROUNDTABLE_TLS_CERT_FILE", fixture("server.crt")),
            ("ROUNDTABLE_TLS_KEY_FILE", missing.clone()),
        ],
    );
    assert!(failed, "a missing key file: {out}");
    assert!(out.contains("cannot read the TLS key file"), "{out}");
    assert!(out.contains(&missing.display().to_string()), "{out}");

    let not_pem = dir.join("not-a-cert.pem");
    std::fs::write(&not_pem, "这不是证书\n").unwrap();
    let (failed, out) = start_fails(
        &dir,
        &url,
        &[
            ("ROUNDTABLE_TLS_CERT_FILE", not_pem.clone()),
            ("ROUNDTABLE_TLS_KEY_FILE", fixture("server.key")),
        ],
    );
    assert!(failed, "a file without a certificate: {out}");
    assert!(out.contains("holds no certificate"), "{out}");

    // The CA's certificate is not the one server.key belongs to.
    let (failed, out) = start_fails(
        &dir,
        &url,
        &[
            ("ROUNDTABLE_TLS_CERT_FILE", fixture("ca.crt")),
            ("ROUNDTABLE_TLS_KEY_FILE", fixture("server.key")),
        ],
    );
    assert!(failed, "a key that is not the certificate's: {out}");
    assert!(out.contains("do not go together"), "{out}");

    // The real thing.
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let child = command(&dir, &url)
        .env("ROUNDTABLE_AUDIT_KEY", AUDIT_KEY)
        .env("ROUNDTABLE_TLS_CERT_FILE", fixture("server.crt"))
        .env("ROUNDTABLE_TLS_KEY_FILE", fixture("server.key"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap();
    let mut sender = None;
    for _ in 0..600 {
        if let Some(s) = connect_tls(addr).await {
            sender = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut sender = sender.expect("the server answers over TLS");
    let (status, headers, body) = send(&mut sender, "GET", "/healthz", "", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"ok");
    assert_eq!(
        header(&headers, "strict-transport-security"),
        ["max-age=31536000"],
        "HSTS over TLS"
    );
    let (status, headers, _) = send(&mut sender, "GET", "/login", "", None).await;
    assert_eq!(status, StatusCode::OK);
    let cookies = header(&headers, "set-cookie");
    assert!(!cookies.is_empty(), "the login page sets its CSRF cookie");
    assert!(
        cookies.iter().all(|c| c.contains("Secure")),
        "cookies over TLS are Secure: {cookies:?}"
    );

    // Plain HTTP on the TLS port gets no page, and a silent client does not stop the others.
    let silent = TcpStream::connect(addr).await.unwrap();
    if let Some(mut plain) = connect(addr).await {
        assert!(
            common::try_send(&mut plain, "GET", "/healthz", "", None)
                .await
                .is_none(),
            "no HTTP answer without TLS"
        );
    }
    let mut again = connect_tls(addr).await.expect("a second TLS client");
    let (status, _, _) = send(&mut again, "GET", "/readyz", "", None).await;
    assert_eq!(status, StatusCode::OK);
    drop(silent);

    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
