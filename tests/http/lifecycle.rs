//! The binary in production: what it logs (and never logs), and graceful shutdown.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use nix::sys::signal::Signal;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_rustls::rustls;

use crate::helpers::pki::{KeyFormat, Pki};
use crate::helpers::process::start_logged;
use crate::helpers::{client, connect, read_until_closed, send, tls_config};

#[tokio::test]
async fn logs_never_contain_secrets_even_at_trace_level() {
    let mut server = start_logged(&["--log-format", "json"], &[("RUST_LOG", "trace")]);
    let http = client(&server.ca_pem);
    let url = |path: &str| format!("{}{path}", server.url);
    let clear = "CLEAR-TEXT-7f3a9c";
    let aad = "AAD-CONTEXT-51e2d0";
    let binary = [0xde, 0xad, 0xbe, 0xef, 0x42];

    let mut secrets: Vec<String> = vec![clear.into(), aad.into(), STANDARD.encode(binary)];
    let mut request_ids = Vec::new();
    let mut envelopes = Vec::new();
    for body in [
        json!({ "data": clear, "aad": aad }),
        json!({ "data": STANDARD.encode(binary), "encoding": "base64", "key_bits": 128 }),
    ] {
        let response = http
            .post(url("/oracleinvocation/"))
            .json(&body)
            .send()
            .await
            .unwrap();
        request_ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        let envelope: Value = response.json().await.unwrap();
        for field in ["key", "nonce", "mac", "data"] {
            secrets.push(envelope[field].as_str().unwrap().to_owned());
        }
        envelopes.push(envelope);
    }
    let response = http
        .post(url("/oracleinvocation/batch"))
        .json(&json!({ "items": [{ "data": clear }, { "data": clear, "aad": aad }] }))
        .send()
        .await
        .unwrap();
    let batch: Value = response.json().await.unwrap();
    for item in batch["items"].as_array().unwrap() {
        for field in ["key", "nonce", "mac"] {
            secrets.push(item[field].as_str().unwrap().to_owned());
        }
    }
    let mut opened = envelopes[0].clone();
    opened["aad"] = aad.into();
    let response = http
        .post(url("/decrypt/"))
        .json(&opened)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = http
        .post(url("/decrypt/batch"))
        .json(&json!({ "items": [opened, envelopes[1]] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Failures too: an unauthentic envelope, a key of the wrong size, a wrongly typed field.
    let mut tampered = envelopes[0].clone();
    tampered["aad"] = "wrong".into();
    http.post(url("/decrypt/"))
        .json(&tampered)
        .send()
        .await
        .unwrap();
    let mut short = envelopes[0].clone();
    short["key"] = STANDARD.encode(&clear.as_bytes()[..10]).into();
    http.post(url("/decrypt/"))
        .json(&short)
        .send()
        .await
        .unwrap();
    http.post(url("/oracleinvocation/"))
        .json(&json!({ "data": 987_654_321 }))
        .send()
        .await
        .unwrap();
    secrets.push("987654321".into());
    // Streams: the key and the associated data travel in headers, which are never logged.
    let response = http
        .post(url("/oracleinvocation/stream?format=aes256gcm-hkdf-1mb"))
        .header("oracle-aad", STANDARD.encode(aad))
        .body(clear.as_bytes().to_vec())
        .send()
        .await
        .unwrap();
    let stream_key = response.headers()["oracle-key"]
        .to_str()
        .unwrap()
        .to_owned();
    let sealed = response.bytes().await.unwrap();
    let response = http
        .post(url("/decrypt/stream?format=aes256gcm-hkdf-1mb"))
        .header("oracle-key", &stream_key)
        .header("oracle-aad", STANDARD.encode(aad))
        .body(sealed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap(), clear.as_bytes());
    secrets.push(stream_key);
    secrets.push(STANDARD.encode(aad));

    server.signal(Signal::SIGTERM);
    assert_eq!(server.wait_exit(Duration::from_secs(30)), Some(0));
    let log = server.log_text();
    assert!(log.lines().count() > 50, "trace logging is not on:\n{log}");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret} is in the log");
        // Nor a recognisable piece of it.
        if secret.len() >= 16 {
            assert!(
                !log.contains(&secret[..16]),
                "part of {secret} is in the log"
            );
        }
    }

    // One access line per request, with the agreed fields, in JSON.
    let access: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "gcm_oracle::access")
        .collect();
    assert_eq!(access.len(), 10, "{access:#?}");
    for line in &access {
        for field in [
            "request_id",
            "method",
            "route",
            "status",
            "duration_ms",
            "bytes_in",
            "bytes_out",
        ] {
            assert!(!line[field].is_null(), "{field} missing from {line}");
        }
    }
    assert_eq!(access[0]["request_id"], request_ids[0].as_str());
    assert_eq!(access[0]["route"], "/oracleinvocation");
    assert_eq!(access[0]["status"], 200);
    assert!(access[0]["bytes_in"].as_u64().unwrap() > 0);
    assert_eq!(access[5]["code"], "decryption_failed");
    // A stream's line is written at its end, with what it sent.
    assert_eq!(access[8]["route"], "/oracleinvocation/stream");
    assert_eq!(access[9]["route"], "/decrypt/stream");
    assert_eq!(access[9]["bytes_out"].as_u64(), Some(clear.len() as u64));
}

#[tokio::test]
async fn sigterm_finishes_a_request_in_flight_and_refuses_new_connections() {
    drains_then_exits(Signal::SIGTERM).await;
}

#[tokio::test]
async fn sigint_finishes_a_request_in_flight_and_refuses_new_connections() {
    drains_then_exits(Signal::SIGINT).await;
}

/// A slow upload is in flight when `signal` arrives: new connections are refused, the upload
/// still gets its 200, and the server exits 0.
async fn drains_then_exits(signal: Signal) {
    let mut server = start_logged(&["--shutdown-timeout", "20s"], &[]);
    let addr: std::net::SocketAddr = server.url.trim_start_matches("https://").parse().unwrap();
    let config = tls_config(
        &server.ca_pem,
        rustls::DEFAULT_VERSIONS,
        &[b"http/1.1".as_slice()],
    );
    let mut stream = connect(addr, config).await.unwrap();
    let body = br#"{"data": "in flight during shutdown"}"#;
    let head = format!(
        "POST /oracleinvocation/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    send(&mut stream, head.as_bytes()).await;
    send(&mut stream, &body[..10]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.signal(signal);
    // New connections are refused once the signal is handled.
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting connections 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The upload in flight completes and gets its answer.
    send(&mut stream, &body[10..]).await;
    let received = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(received.contains("\"nonce\""), "{received}");
    assert_eq!(server.wait_exit(Duration::from_secs(25)), Some(0));
}

/// The DER of the certificate a new TLS connection is served.
async fn served_certificate(addr: std::net::SocketAddr, ca_pem: &[u8]) -> Vec<u8> {
    let config = tls_config(ca_pem, rustls::DEFAULT_VERSIONS, &[b"http/1.1".as_slice()]);
    let stream = connect(addr, config).await.unwrap();
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn der_of(pem_file: &std::path::Path) -> Vec<u8> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    CertificateDer::from_pem_file(pem_file).unwrap().to_vec()
}

async fn request_on(stream: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> String {
    use tokio::io::AsyncReadExt as _;
    send(stream, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn sighup_reloads_the_certificate_and_keeps_it_when_the_new_files_are_bad() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let pki = Pki::new();
    let (rsa, ec) = (pki.leaf(KeyFormat::RsaPkcs1), pki.leaf(KeyFormat::EcSec1));
    std::fs::copy(&rsa.cert, &cert).unwrap();
    std::fs::copy(&rsa.key, &key).unwrap();
    let server = start_logged(
        &[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let ca = pki.ca_pem();
    let addr: std::net::SocketAddr = server.url.trim_start_matches("https://").parse().unwrap();
    assert_eq!(served_certificate(addr, ca).await, der_of(&rsa.cert));

    // A connection opened before the reload.
    let config = tls_config(ca, rustls::DEFAULT_VERSIONS, &[b"http/1.1".as_slice()]);
    let mut open = connect(addr, config).await.unwrap();
    assert!(request_on(&mut open).await.starts_with("HTTP/1.1 200"));

    std::fs::copy(&ec.cert, &cert).unwrap();
    std::fs::copy(&ec.key, &key).unwrap();
    server.signal(Signal::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_text().contains("reloaded the certificate") {
        assert!(
            Instant::now() < deadline,
            "no reload logged:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(served_certificate(addr, ca).await, der_of(&ec.cert));
    assert!(
        request_on(&mut open).await.starts_with("HTTP/1.1 200"),
        "the open connection broke"
    );

    // A mismatched pair, then a broken file: each logs one error and changes nothing.
    std::fs::copy(&rsa.cert, &cert).unwrap();
    for (round, broken_key) in [(1, None), (2, Some("not a key"))] {
        if let Some(contents) = broken_key {
            std::fs::write(&key, contents).unwrap();
        }
        server.signal(Signal::SIGHUP);
        let deadline = Instant::now() + Duration::from_secs(10);
        while server
            .log_text()
            .matches("certificate reload failed")
            .count()
            < round
        {
            assert!(
                Instant::now() < deadline,
                "no error logged:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(served_certificate(addr, ca).await, der_of(&ec.cert));
    }
    let log = server.log_text();
    let errors: Vec<&str> = log.lines().filter(|line| line.contains("ERROR")).collect();
    assert_eq!(errors.len(), 2, "{log}");
    assert!(
        errors[0].contains("does not belong to the certificate"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("cannot read private key file"),
        "{}",
        errors[1]
    );
}
