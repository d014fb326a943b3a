//! One `GET` over HTTP/1.1, with TLS for https (rustls with the Mozilla
//! roots, as lettre uses for SMTP), reading only the status line: enough for
//! `doctor` to see that the base URL leads to the service.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The status of `GET url` (`200 OK`).
///
/// # Errors
/// No connection, no TLS, or no HTTP answer; the text says which.
pub async fn status(url: &url::Url) -> Result<String, String> {
    let host = url.host_str().ok_or("the URL has no host")?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let authority = url.port().map_or_else(|| host.to_owned(), |p| format!("{host}:{p}"));
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: dialogforum-doctor\r\nConnection: close\r\n\r\n",
        url.path()
    );
    let tcp = TcpStream::connect((bare, port)).await.map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    if url.scheme() != "https" {
        return exchange(tcp, &request).await;
    }
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS cannot be set up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(bare.to_owned())
        .map_err(|_| format!("{bare} is not a name a certificate can be for"))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("the TLS handshake with {authority} failed: {e}"))?;
    exchange(tls, &request).await
}

/// Sends `request` and reads the answer's status line.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: &str) -> Result<String, String> {
    stream.write_all(request.as_bytes()).await.map_err(|e| format!("the request could not be sent: {e}"))?;
    let mut head = Vec::new();
    let mut chunk = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        let n = stream.read(&mut chunk).await.map_err(|e| format!("the answer could not be read: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or_default();
    match line.split_once(' ') {
        Some((version, status)) if version.starts_with("HTTP/") => Ok(status.trim().to_owned()),
        _ => Err("the answer is not HTTP".to_owned()),
    }
}
