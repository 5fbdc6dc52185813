//! `gcm-oracle probe URL`: a health check that needs nothing but this binary (container images
//! without curl use it for HEALTHCHECK). Exit 0 when the URL answers 200 over verified TLS;
//! otherwise one line on stderr and a non-zero exit.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::Uri;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The longest status line (plus headers) read before giving up on finding `HTTP/1.1 NNN`.
const MAX_HEAD: usize = 16 * 1024;

/// Fetches `url` (https only) with `GET` and succeeds on status 200. The server certificate is
/// verified against `cacert` if given, else against the system's root certificates.
///
/// # Errors
///
/// A one-line description of what failed: the URL, the connection, TLS, the timeout or the status.
pub async fn probe(
    url: &str,
    servername: Option<&str>,
    cacert: Option<&Path>,
    timeout: Duration,
) -> Result<(), String> {
    let uri: Uri = url
        .parse()
        .map_err(|err| format!("{url} is not a URL: {err}"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("{url}: only https:// URLs are probed"));
    }
    let host = uri.host().ok_or_else(|| format!("{url} has no host"))?;
    // An explicit but unusable port is an error, never a silent fall-back to 443.
    let port = match uri.port() {
        Some(port) => port
            .as_str()
            .parse::<u16>()
            .ok()
            .filter(|&port| port != 0)
            .ok_or_else(|| format!("{url}: invalid port {:?}", port.as_str()))?,
        None if uri.authority().is_some_and(|a| a.as_str().ends_with(':')) => {
            return Err(format!("{url}: empty port"));
        }
        None => 443,
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let config = client_config(cacert)?;
    let target = Target {
        host,
        port,
        servername: servername.unwrap_or(host),
        path,
    };
    tokio::time::timeout(timeout, get(config, target))
        .await
        .map_err(|_| format!("{url}: no answer within {} s", timeout.as_secs_f32()))?
        .map_err(|err| format!("{url}: {err}"))
}

fn client_config(cacert: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match cacert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|err| format!("cannot read {}: {err}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|err| format!("unusable CA in {}: {err}", path.display()))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // Skip the odd unparsable system certificate rather than fail the probe.
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err("no CA certificate to verify the server with (give --cacert)".to_owned());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| err.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Where to connect, which name to verify, what to fetch.
struct Target<'a> {
    host: &'a str,
    port: u16,
    servername: &'a str,
    path: &'a str,
}

async fn get(config: rustls::ClientConfig, target: Target<'_>) -> Result<(), String> {
    let Target {
        host,
        port,
        servername,
        path,
    } = target;
    let bare = |name: &str| {
        name.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned()
    };
    let name = ServerName::try_from(bare(servername))
        .map_err(|err| format!("invalid server name {servername:?}: {err}"))?;
    let tcp = TcpStream::connect((bare(host), port))
        .await
        .map_err(|err| format!("cannot connect: {err}"))?;
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|err| format!("TLS failed: {err}"))?;
    let authority = if port == 443 {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: gcm-oracle-probe\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|err| format!("cannot send the request: {err}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < MAX_HEAD {
        let n = tls
            .read(&mut buf)
            .await
            .map_err(|err| format!("cannot read the answer: {err}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let status_line = String::from_utf8_lossy(&head);
    let status_line = status_line.lines().next().unwrap_or_default();
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(()),
        Some(status) => Err(format!("answered {status}, not 200")),
        None => Err(format!("not an HTTP answer: {status_line:?}")),
    }
}
