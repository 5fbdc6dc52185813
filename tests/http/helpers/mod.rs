//! Helpers shared by the black-box tests: a server spawned on port 0 with a fresh development
//! CA, which owns a client that trusts only that CA (verification stays on), and raw TLS
//! connections for tests that must control every byte.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

mod crate_paths;
pub mod pki;
pub mod process;

pub use crate_paths::ClientError;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Parser as _;
use gcm_oracle::Client;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use crate_paths::{Cli, Command, Server};

/// A running server, and a client to reach it with.
pub struct TestServer {
    /// e.g. `https://127.0.0.1:41234`
    pub url: String,
    pub addr: SocketAddr,
    /// PEM of the CA that issued the server's certificate.
    pub ca_pem: Vec<u8>,
    /// The plain-HTTP redirect listener, with `--redirect-http`.
    pub redirect: Option<SocketAddr>,
    /// A client trusting only [`TestServer::ca_pem`]; ALPN picks HTTP/2. One per server, so
    /// its requests share a connection.
    pub client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// POSTs `body` as JSON to `path`.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs `body` as JSON to `path` and reads the JSON answer: its status and its body.
    pub async fn post_json_answer(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self.post_json(path, body).await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    /// POSTs `body` as it is to `path`, with `content_type` if one is given.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.unwrap()
    }

    /// A new client trusting only [`TestServer::ca_pem`], speaking HTTP/1.1 only.
    pub fn http1_client(&self) -> reqwest::Client {
        client_http1(&self.ca_pem)
    }

    /// The crate's typed client, trusting only [`TestServer::ca_pem`].
    pub fn typed_client(&self) -> Client {
        Client::with_ca_pem(&self.url, &self.ca_pem).unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Not awaited: the runtime is going away with the test; this stops the workers.
        drop(self.handle.stop(false));
    }
}

/// A server with default settings on a free loopback port, with a fresh development CA.
pub async fn spawn() -> TestServer {
    spawn_with(&[]).await
}

/// A server with extra `serve` flags, e.g. `&["--max-body", "1KiB"]`.
pub async fn spawn_with(flags: &[&str]) -> TestServer {
    spawn_inner(flags, None).await
}

/// A server given `--cert` and `--key` among `flags`, whose certificate the CA in `ca_path`
/// issued (e.g. a [`pki::Pki`]'s).
pub async fn spawn_trusting(ca_path: &Path, flags: &[&str]) -> TestServer {
    spawn_inner(flags, Some(ca_path)).await
}

async fn spawn_inner(flags: &[&str], ca_path: Option<&Path>) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let cert_dir = dir.path().to_str().unwrap().to_owned();
    let mut argv = vec![
        "gcm-oracle",
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--cert-dir",
        &cert_dir,
        "--workers",
        "1",
    ];
    argv.extend_from_slice(flags);
    let Command::Serve(args) = Cli::try_parse_from(argv).unwrap().into_command() else {
        unreachable!("serve was named");
    };
    let server = Server::bind(&args).unwrap();
    let addr = server.local_addr();
    let redirect = server.redirect_addr();
    let ca_path = match (server.dev_ca(), ca_path) {
        (Some(dev_ca), None) => dev_ca.to_owned(),
        (None, Some(ca)) => ca.to_owned(),
        _ => panic!("a server given --cert is spawned with spawn_trusting, and only such a one"),
    };
    let ca_pem = std::fs::read(&ca_path).unwrap();
    let running = server.run().unwrap();
    let handle = running.handle();
    tokio::spawn(running);
    TestServer {
        url: format!("https://{addr}"),
        addr,
        client: client(&ca_pem),
        ca_pem,
        redirect,
        handle,
        _dir: dir,
    }
}

/// A reqwest client trusting only `ca_pem` (for servers that are not a [`TestServer`]); ALPN
/// picks HTTP/2.
pub fn client(ca_pem: &[u8]) -> reqwest::Client {
    builder(ca_pem).build().unwrap()
}

/// A reqwest client trusting only `ca_pem`, speaking HTTP/1.1 only.
pub fn client_http1(ca_pem: &[u8]) -> reqwest::Client {
    builder(ca_pem).http1_only().build().unwrap()
}

fn builder(ca_pem: &[u8]) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(ca_pem).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(20))
}

/// A rustls client config trusting only `ca_pem`, with the given protocol versions and ALPN.
pub fn tls_config(
    ca_pem: &[u8],
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> rustls::ClientConfig {
    tls_config_with(
        rustls::crypto::aws_lc_rs::default_provider(),
        ca_pem,
        versions,
        alpn,
    )
}

/// [`tls_config`] with a given crypto provider, e.g. one offering only some cipher suites.
pub fn tls_config_with(
    provider: rustls::crypto::CryptoProvider,
    ca_pem: &[u8],
    versions: &[&'static rustls::SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// A verified TLS connection (TLS 1.3 or 1.2, HTTP/1.1) to the server, for hand-written requests.
pub async fn raw_tls(server: &TestServer) -> TlsStream<TcpStream> {
    let config = tls_config(
        &server.ca_pem,
        rustls::DEFAULT_VERSIONS,
        &[b"http/1.1".as_slice()],
    );
    connect(server.addr, config).await.unwrap()
}

pub async fn connect(
    addr: SocketAddr,
    config: rustls::ClientConfig,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// Reads until the server closes the connection (or `limit` passes), returning what arrived.
pub async fn read_until_closed(
    stream: &mut TlsStream<TcpStream>,
    limit: Duration,
) -> Result<String, &'static str> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    match read {
        Ok(()) => Ok(String::from_utf8_lossy(&received).into_owned()),
        Err(_) => Err("connection still open"),
    }
}

/// Writes all of `bytes` and flushes.
pub async fn send(stream: &mut TlsStream<TcpStream>, bytes: &[u8]) {
    stream.write_all(bytes).await.unwrap();
    stream.flush().await.unwrap();
}

/// The length of a base64 JSON string, decoded.
pub fn decoded_len(value: &Value) -> usize {
    STANDARD.decode(value.as_str().unwrap()).unwrap().len()
}
