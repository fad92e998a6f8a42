//! The one outbound HTTP client: a POST of a JSON body with headers, over plain TCP or TLS
//! (rustls, trusting the system's certificate store, where an administrator adds a district
//! CA), bounded by a timeout. Used by the reminders' webhook and the exchange deliveries;
//! every failure is a Chinese sentence saying what went wrong, for the delivery lists.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// A receiver's answer is read up to this size (an acknowledgement, not a document).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub struct Answer {
    pub status: hyper::StatusCode,
    pub body: Bytes,
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "system certificate store");
            }
            let (added, _) = roots.add_parsable_certificates(found.certs);
            tracing::debug!(added, "system certificates for outbound TLS");
            Arc::new(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .expect("ring supports the default versions")
                .with_root_certificates(roots)
                .with_no_client_auth(),
            )
        })
        .clone()
}

/// POSTs `body` to `url` (http:// or https://) with `headers`; the answer of any status, or
/// why there was none.
pub async fn post(
    url: &str,
    headers: &[(&str, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<Answer, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("接收地址无效：{e}"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err("接收地址须以 http:// 或 https:// 开头".into()),
    };
    let host = uri.host().ok_or("接收地址缺少主机名")?.to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let mut req = hyper::Request::post(path).header(
        "host",
        match uri.port_u16() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        },
    );
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
    let call = async {
        let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
            .await
            .map_err(|e| format!("无法连接 {host}:{port}：{e}"))?;
        let _ = tcp.set_nodelay(true);
        if tls {
            let name =
                rustls::pki_types::ServerName::try_from(host.trim_matches(['[', ']']).to_string())
                    .map_err(|e| format!("主机名无效：{e}"))?;
            let stream = tokio_rustls::TlsConnector::from(tls_config())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS 握手失败：{e}"))?;
            exchange(TokioIo::new(stream), req).await
        } else {
            exchange(TokioIo::new(tcp), req).await
        }
    };
    match tokio::time::timeout(timeout, call).await {
        Ok(r) => r,
        Err(_) => Err(format!("超时（{} 秒内无应答）", timeout.as_secs())),
    }
}

async fn exchange<T>(io: T, req: hyper::Request<Full<Bytes>>) -> Result<Answer, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP 握手失败：{e}"))?;
    tokio::spawn(conn);
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("请求失败：{e}"))?;
    let status = resp.status();
    let body = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| format!("读取应答失败：{e}"))?
        .to_bytes();
    Ok(Answer { status, body })
}
