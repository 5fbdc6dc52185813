//! Hostile and malformed HTTP/1.1: errors that must not echo what a client sent, requests that
//! ask to upgrade or to continue, HEAD on every GET route, and the requests actix-http refuses
//! before our code runs (docs/WIRE.md lists them). The HTTP/2 ones are in
//! tests/hostile/h2_abuse.py, which needs a hand-written HTTP/2 client.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::AsyncReadExt as _;

use crate::helpers::process::start_logged;
use crate::helpers::{
    TestServer, connect, raw_tls, read_until_closed, send, spawn, spawn_with, tls_config,
};

/// What a client might send that must never come back: as a value, as a field name, as an
/// option, in a query string or a header.
const SECRET: &str = "Hunter2";

#[tokio::test]
async fn errors_never_echo_anything_the_client_sent() {
    let server = spawn().await;
    let bodies = [
        json!({"data": "x", "encoding": "Hunter2-Value-enc"}),
        json!({"attack-at-dawn-Hunter2": "data"}),
        json!({"data": "x", "key_bits": "Hunter2"}),
        json!({"data": ["Hunter2"]}),
        json!({"data": "x", "a`Hunter2`": 1}),
    ];
    for path in ["/oracleinvocation/", "/decrypt/", "/keypair/"] {
        for body in &bodies {
            let (status, answer) = server.post_json_answer(path, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
            assert_eq!(answer["code"], "invalid_request", "{path} {body}: {answer}");
            assert!(
                !answer.to_string().contains(SECRET),
                "{path} {body}: {answer}"
            );
        }
    }
    let batch = json!({"items": bodies});
    for path in ["/oracleinvocation/batch", "/decrypt/batch"] {
        let (status, answer) = server.post_json_answer(path, &batch).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        for item in answer["items"].as_array().unwrap() {
            assert_eq!(item["code"], "invalid_request", "{item}");
        }
        assert!(!answer.to_string().contains(SECRET), "{path}: {answer}");
    }
    let (status, answer) = server
        .post_json_answer("/oracleinvocation/batch", &json!({"Hunter2": []}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!answer.to_string().contains(SECRET), "{answer}");

    // A query string and a header value are not echoed either.
    let response = server
        .post_json("/oracleinvocation/?Hunter2=attack", &json!({"data": "x"}))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!response.text().await.unwrap().contains(SECRET));
    let response = server
        .post_raw("/oracleinvocation/", Some("text/Hunter2"), "{}")
        .await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(!response.text().await.unwrap().contains(SECRET));
}

/// Sends `request` on a fresh HTTP/1.1 connection and reads until the server closes it.
async fn exchange(server: &TestServer, request: &[u8], limit: Duration) -> (String, Duration) {
    let mut stream = raw_tls(server).await;
    let started = Instant::now();
    send(&mut stream, request).await;
    let answer = read_until_closed(&mut stream, limit)
        .await
        .unwrap_or_else(|err| panic!("{err} after {limit:?}"));
    (answer, started.elapsed())
}

#[tokio::test]
async fn a_request_that_asks_to_upgrade_is_refused_at_once() {
    let server = spawn().await;
    // actix-http reads such a body until the connection closes, whatever its Content-Length:
    // before, this waited for the 10 s body timeout.
    let (answer, took) = exchange(
        &server,
        b"POST /oracleinvocation/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
          Content-Length: 12\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n{\"data\":\"x\"}",
        Duration::from_secs(4),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("\"code\":\"invalid_request\""), "{answer}");
    assert!(answer.contains("upgrades nothing"), "{answer}");
    assert!(answer.contains("cache-control: no-store"), "{answer}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test]
async fn expect_100_continue_gets_the_refusal_before_the_body() {
    let server = spawn().await;
    for (headers, status, code) in [
        (
            "Content-Type: application/json\r\nContent-Length: 8388609",
            "413",
            "payload_too_large",
        ),
        (
            "Content-Type: text/plain\r\nContent-Length: 12",
            "415",
            "unsupported_media_type",
        ),
    ] {
        let request = format!(
            "POST /oracleinvocation/ HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n\
             Expect: 100-continue\r\n\r\n"
        );
        // No body is sent: the answer must come anyway, and no 100 Continue before it.
        let (answer, took) = exchange(&server, request.as_bytes(), Duration::from_secs(5)).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer}"
        );
        assert!(!answer.contains("100 Continue"), "{answer}");
        assert!(answer.contains(&format!("\"code\":\"{code}\"")), "{answer}");
        for header in [
            "cache-control: no-store",
            "strict-transport-security: max-age=63072000",
            "x-content-type-options: nosniff",
            "x-request-id: ",
            "connection: close",
        ] {
            assert!(answer.contains(header), "{header}: {answer}");
        }
        assert!(took < Duration::from_secs(3), "took {took:?}");
    }
}

#[tokio::test]
async fn expect_100_continue_for_an_acceptable_body_continues() {
    let server = spawn().await;
    let mut stream = raw_tls(&server).await;
    send(
        &mut stream,
        b"POST /oracleinvocation/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
          Content-Length: 12\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    )
    .await;
    let mut first = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut first))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
    send(&mut stream, b"{\"data\":\"x\"}").await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
}

#[tokio::test]
async fn head_is_answered_on_every_get_route() {
    let server = spawn().await;
    for path in [
        "/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs/",
        "/docs/index.html",
        "/docs",
    ] {
        let get = server.get(path).await;
        let head = server.client.head(server.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "HEAD {path}");
        assert!(head.status().is_success(), "HEAD {path}: {}", head.status());
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {path}"
        );
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has a body"
        );
    }
    // A POST endpoint still says what it takes.
    let head = server
        .client
        .head(server.url("/oracleinvocation/"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(head.headers()["allow"], "POST");
    let put = server
        .client
        .put(server.url("/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.headers()["allow"], "GET, HEAD");
}

/// What actix-http answers before our code runs: an empty 400, the connection closed. A future
/// actix upgrade that changes one of these fails here (docs/WIRE.md lists them).
#[tokio::test]
async fn the_stack_refuses_malformed_http1_requests_with_an_empty_400() {
    let server = spawn().await;
    let long = "a".repeat(64 * 1024);
    let requests: Vec<(&str, Vec<u8>)> = vec![
        ("no Host", b"GET /healthz HTTP/1.1\r\n\r\n".to_vec()),
        (
            "two Host",
            b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_vec(),
        ),
        (
            "HTTP/0.9",
            b"GET /healthz HTTP/0.9\r\nHost: a\r\n\r\n".to_vec(),
        ),
        (
            "HTTP/1.2",
            b"GET /healthz HTTP/1.2\r\nHost: a\r\n\r\n".to_vec(),
        ),
        (
            "HTTP/2.0 on an HTTP/1 line",
            b"GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n".to_vec(),
        ),
        (
            "the HTTP/2 preface",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        ),
        (
            "a folded header",
            b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n".to_vec(),
        ),
        (
            "a NUL in a header value",
            b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n".to_vec(),
        ),
        (
            "two spaces in the request line",
            b"GET  /healthz HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(),
        ),
        (
            "a space before a header colon",
            b"GET /healthz HTTP/1.1\r\nHost : a\r\n\r\n".to_vec(),
        ),
        (
            "a header line without a colon",
            b"GET /healthz HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n".to_vec(),
        ),
        (
            "a 64 KiB path",
            format!("GET /{long} HTTP/1.1\r\nHost: a\r\n\r\n").into_bytes(),
        ),
        (
            "a 64 KiB query",
            format!("GET /healthz?{long} HTTP/1.1\r\nHost: a\r\n\r\n").into_bytes(),
        ),
    ];
    for (name, request) in requests {
        let (answer, _) = exchange(&server, &request, Duration::from_secs(5)).await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{name}: {answer}"
        );
        assert!(answer.contains("content-length: 0\r\n"), "{name}: {answer}");
        assert!(answer.contains("connection: close\r\n"), "{name}: {answer}");
    }
}

#[tokio::test]
async fn a_request_head_that_never_finishes_gets_an_empty_408() {
    let server = spawn_with(&["--request-timeout", "1s"]).await;
    let (answer, took) = exchange(
        &server,
        b"GET /healthz HTTP/1.1\r\nHost: a\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("content-length: 0\r\n"), "{answer}");
    assert!(took >= Duration::from_millis(800), "took {took:?}");
}

#[tokio::test]
async fn stack_refusals_are_counted_not_logged_as_errors() {
    let server = start_logged(&[], &[]);
    let addr: SocketAddr = server.url.trim_start_matches("https://").parse().unwrap();
    let config = tls_config(
        &server.ca_pem,
        rustls::DEFAULT_VERSIONS,
        &[b"http/1.1".as_slice()],
    );
    for request in [
        &b"GET /healthz HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n"[..],
        b"GET /healthz HTTP/1.2\r\nHost: a\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
    ] {
        let mut stream = connect(addr, config.clone()).await.unwrap();
        send(&mut stream, request).await;
        let answer = read_until_closed(&mut stream, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    }
    let metrics = crate::helpers::client(&server.ca_pem)
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("gcm_oracle_stack_refusals_total{kind=\"header\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gcm_oracle_stack_refusals_total{kind=\"version\"} 1"),
        "{metrics}"
    );
    let log = server.log_text();
    assert!(!log.contains("ERROR"), "{log}");
    assert!(!log.contains("parse error"), "{log}");
}

#[tokio::test]
async fn the_same_request_without_upgrade_is_sealed() {
    // The upgrade refusal is only for requests that ask for one: the same request without
    // `Upgrade` is sealed.
    let server = spawn().await;
    let (answer, _) = exchange(
        &server,
        b"POST /oracleinvocation/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
          Content-Length: 12\r\nConnection: close\r\n\r\n{\"data\":\"x\"}",
        Duration::from_secs(5),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains("\"mac\":"), "{answer}");
}
