//! The HTTP contract of the oracle's endpoints (`/oracleinvocation/`, `/decrypt/`): fields and
//! sizes, errors and their codes, content types, methods, body limits and timeouts.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gcm_oracle::{Envelope, seal};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestServer, decoded_len, raw_tls, read_until_closed, send, spawn, spawn_with,
};

const TEXT: &str = "He said \"héllo\" \\ 👋 — ünïcødé";

async fn encrypt(server: &TestServer, text: &str) -> Value {
    let response = server
        .post_json("/oracleinvocation/", &json!({ "data": text }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Asserts a JSON error response with exactly `error` and `code`, and returns the code.
async fn assert_error(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");
    let body: Value = response.json().await.unwrap();
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 2, "{body}");
    assert!(!object["error"].as_str().unwrap().is_empty());
    object["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn encrypt_returns_exactly_the_four_fields_with_contract_sizes() {
    let server = spawn().await;
    let response = server
        .post_json("/oracleinvocation/", &json!({ "data": TEXT }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["data", "key", "mac", "nonce"]);
    assert_eq!(decoded_len(&body["key"]), 32);
    assert_eq!(decoded_len(&body["nonce"]), 12);
    assert_eq!(decoded_len(&body["mac"]), 16);
    assert_eq!(decoded_len(&body["data"]), TEXT.len());
}

#[tokio::test]
async fn encrypt_response_opens_with_the_library() {
    let server = spawn().await;
    let body = encrypt(&server, TEXT).await;
    let envelope: Envelope = serde_json::from_value(body).unwrap();
    assert_eq!(envelope.open().unwrap(), TEXT.as_bytes());
}

#[tokio::test]
async fn empty_clear_text_is_encrypted_to_empty_ciphertext() {
    let server = spawn().await;
    let body = encrypt(&server, "").await;
    assert_eq!(body["data"], "");
    assert_eq!(decoded_len(&body["mac"]), 16);
}

#[tokio::test]
async fn both_path_spellings_are_the_same_endpoint() {
    let server = spawn().await;
    for path in ["/oracleinvocation/", "/oracleinvocation"] {
        let response = server.post_json(path, &json!({ "data": "x" })).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let body = encrypt(&server, "x").await;
    for path in ["/decrypt/", "/decrypt"] {
        let response = server.post_json(path, &body).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn every_call_gets_a_fresh_key_and_nonce() {
    let server = spawn().await;
    let a = encrypt(&server, "same").await;
    let b = encrypt(&server, "same").await;
    assert_ne!(a["key"], b["key"]);
    assert_ne!(a["nonce"], b["nonce"]);
}

#[tokio::test]
async fn decrypt_returns_the_clear_text() {
    let server = spawn().await;
    for text in [TEXT, "", "a"] {
        let body = encrypt(&server, text).await;
        let response = server.post_json("/decrypt/", &body).await;
        assert_eq!(response.status(), StatusCode::OK);
        let opened: Value = response.json().await.unwrap();
        assert_eq!(opened, json!({ "data": text }));
    }
}

#[tokio::test]
async fn decrypt_rejects_any_tampered_field_with_one_opaque_error() {
    let server = spawn().await;
    let original = encrypt(&server, "attack at dawn").await;
    let mut bodies = Vec::new();
    for field in ["data", "key", "mac", "nonce"] {
        let mut bytes = STANDARD.decode(original[field].as_str().unwrap()).unwrap();
        bytes[0] ^= 0x01;
        let mut tampered = original.clone();
        tampered[field] = STANDARD.encode(bytes).into();
        let response = server.post_json("/decrypt/", &tampered).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{field}");
        bodies.push(response.text().await.unwrap());
    }
    let first: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(first["code"], "decryption_failed");
    assert!(bodies.iter().all(|body| *body == bodies[0]), "{bodies:?}");
}

#[tokio::test]
async fn decrypt_names_the_field_with_bad_base64() {
    let server = spawn().await;
    let mut body = encrypt(&server, "x").await;
    body["nonce"] = "not base64!".into();
    let response = server.post_json("/decrypt/", &body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "invalid_base64");
    assert!(
        error["error"].as_str().unwrap().contains("`nonce`"),
        "{error}"
    );
}

#[tokio::test]
async fn decrypt_names_the_field_with_the_wrong_length() {
    let server = spawn().await;
    let mut body = encrypt(&server, "x").await;
    body["key"] = STANDARD.encode([0u8; 20]).into();
    let response = server.post_json("/decrypt/", &body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "invalid_length");
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("`key`") && message.contains("16, 24 or 32"),
        "{message}"
    );
}

#[tokio::test]
async fn decrypting_binary_clear_text_is_422() {
    let server = spawn().await;
    let envelope = Envelope::from(seal(&[0xff, 0xfe, 0x00]));
    let response = server
        .post_json("/decrypt/", &serde_json::to_value(&envelope).unwrap())
        .await;
    assert_eq!(
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY).await,
        "plaintext_not_utf8"
    );
}

#[tokio::test]
async fn malformed_json_is_400() {
    let server = spawn().await;
    for body in [
        &b"{\"data\": "[..],
        b"",
        b"data=hi",
        b"{\"data\": \"hi\"} trailing",
        // Invalid UTF-8 inside a string.
        b"{\"data\": \"\xff\xfe\"}",
        // A lone surrogate cannot be UTF-8.
        b"{\"data\": \"\\ud800\"}",
    ] {
        let response = server
            .post_raw(
                "/oracleinvocation/",
                Some("application/json"),
                body.to_vec(),
            )
            .await;
        let code = assert_error(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(code, "malformed_json", "{}", String::from_utf8_lossy(body));
    }
}

#[tokio::test]
async fn wrong_shapes_unknown_and_duplicate_fields_are_400() {
    let server = spawn().await;
    for body in [
        r#"{"data": 5}"#,
        r#"{"data": null}"#,
        r#"{"data": ["hi"]}"#,
        r#"{}"#,
        // A misspelt `aad` silently dropped would authenticate nothing.
        r#"{"data": "hi", "add": "x"}"#,
        r#"{"data": "hi", "data": "again"}"#,
        r#"["hi"]"#,
        r#""hi""#,
    ] {
        let response = server
            .post_raw("/oracleinvocation/", Some("application/json"), body)
            .await;
        let code = assert_error(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(code, "invalid_request", "{body}");
    }
    let mut envelope = encrypt(&server, "x").await;
    envelope["extra"] = "y".into();
    let response = server.post_json("/decrypt/", &envelope).await;
    assert_eq!(
        assert_error(response, StatusCode::BAD_REQUEST).await,
        "invalid_request"
    );
}

#[tokio::test]
async fn errors_never_echo_the_clear_text() {
    let server = spawn().await;
    for body in [
        r#""my secret text""#,
        r#"{"data": 987654321}"#,
        r#"{"data": ["my secret text"]}"#,
        r#"{"data": "x", "my secret text": 1}"#,
        r#"{"my secret text": {"data": 1}}"#,
    ] {
        let response = server
            .post_raw("/oracleinvocation/", Some("application/json"), body)
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("my secret") && !text.contains("98765"),
            "{body}: {text}"
        );
    }
}

#[tokio::test]
async fn query_strings_are_refused_not_ignored() {
    let server = spawn().await;
    for path in ["/oracleinvocation/?key_bits=128", "/decrypt/?key=c2VjcmV0"] {
        let response = server
            .post_raw(path, Some("application/json"), r#"{"data":"x"}"#)
            .await;
        assert_eq!(
            assert_error(response, StatusCode::BAD_REQUEST).await,
            "invalid_request",
            "{path}"
        );
    }
}

#[tokio::test]
async fn compressed_or_ambiguously_typed_bodies_are_415() {
    let server = spawn().await;
    let http = server.http1_client();
    let encoded = http
        .post(server.url("/oracleinvocation/"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(r#"{"data":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error(encoded, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "unsupported_media_type"
    );
    let mut headers = reqwest::header::HeaderMap::new();
    headers.append("content-type", "application/json".parse().unwrap());
    headers.append("content-type", "text/plain".parse().unwrap());
    let two_types = http
        .post(server.url("/oracleinvocation/"))
        .headers(headers)
        .body(r#"{"data":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error(two_types, StatusCode::UNSUPPORTED_MEDIA_TYPE).await,
        "unsupported_media_type"
    );
}

#[tokio::test]
async fn deeply_nested_json_is_400_not_a_crash() {
    let server = spawn().await;
    let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let response = server
        .post_raw("/oracleinvocation/", Some("application/json"), body)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Still serving.
    encrypt(&server, "still here").await;
}

#[tokio::test]
async fn non_json_content_types_are_415() {
    let server = spawn().await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
        Some("not a mime type"),
        None,
    ] {
        let response = server
            .post_raw("/oracleinvocation/", content_type, r#"{"data":"x"}"#)
            .await;
        let code = assert_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        assert_eq!(code, "unsupported_media_type", "{content_type:?}");
    }
    let response = server
        .post_raw(
            "/oracleinvocation/",
            Some("Application/JSON; charset=UTF-8"),
            r#"{"data":"x"}"#,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_are_a_json_404() {
    let server = spawn().await;
    for path in [
        "/nope",
        "/oracleinvocation/extra",
        "/decrypt//",
        "/index.html",
    ] {
        let response = server.get(path).await;
        assert_eq!(
            assert_error(response, StatusCode::NOT_FOUND).await,
            "not_found",
            "{path}"
        );
    }
}

#[tokio::test]
async fn wrong_methods_are_a_json_405_with_allow() {
    let server = spawn().await;
    let http = &server.client;
    for (method, path, allow) in [
        (reqwest::Method::GET, "/oracleinvocation/", "POST"),
        (reqwest::Method::GET, "/oracleinvocation", "POST"),
        (reqwest::Method::PUT, "/decrypt/", "POST"),
        (reqwest::Method::DELETE, "/decrypt", "POST"),
        (reqwest::Method::POST, "/", "GET, HEAD"),
    ] {
        let response = http
            .request(method.clone(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let code = assert_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
        assert_eq!(code, "method_not_allowed");
    }
}

#[tokio::test]
async fn root_is_a_plain_text_note_that_points_to_the_docs() {
    let server = spawn().await;
    let response = server.get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains("GET /docs/") && text.contains("GET /openapi.json"),
        "{text}"
    );
    // A pointer, not a third copy of the contract (docs/WIRE.md and OpenAPI hold it).
    assert!(
        !text.contains("nonce_bits") && !text.contains("POST /decrypt/"),
        "{text}"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let server = spawn_with(&["--max-body", "1KiB"]).await;
    let http = &server.client;
    let responses = [
        http.get(server.url("/")).send().await.unwrap(),
        http.post(server.url("/oracleinvocation/"))
            .json(&json!({"data": "x"}))
            .send()
            .await
            .unwrap(),
        http.post(server.url("/decrypt/"))
            .json(&json!({"data": "x"}))
            .send()
            .await
            .unwrap(),
        http.get(server.url("/nope")).send().await.unwrap(),
        http.get(server.url("/decrypt/")).send().await.unwrap(),
        http.post(server.url("/decrypt/"))
            .body("x")
            .send()
            .await
            .unwrap(),
        http.post(server.url("/decrypt/"))
            .header("content-type", "application/json")
            .body(vec![b' '; 1500])
            .send()
            .await
            .unwrap(),
        http.get(server.url("/healthz")).send().await.unwrap(),
        http.get(server.url("/readyz")).send().await.unwrap(),
        http.get(server.url("/metrics")).send().await.unwrap(),
        http.get(server.url("/openapi.json")).send().await.unwrap(),
        http.get(server.url("/docs/")).send().await.unwrap(),
        http.post(server.url("/keypair/"))
            .json(&json!({"algorithm": "x25519"}))
            .send()
            .await
            .unwrap(),
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses,
        [
            200, 200, 400, 404, 405, 415, 413, 200, 200, 200, 200, 200, 200
        ]
    );
    for response in &responses {
        let headers = response.headers();
        assert_eq!(
            headers["cache-control"],
            "no-store",
            "{}",
            response.status()
        );
        assert_eq!(headers["strict-transport-security"], "max-age=63072000");
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
}

#[tokio::test]
async fn serves_http2_and_http1_1() {
    let server = spawn().await;
    for (http, version) in [
        (server.client.clone(), reqwest::Version::HTTP_2),
        (server.http1_client(), reqwest::Version::HTTP_11),
    ] {
        let response = http
            .post(server.url("/oracleinvocation/"))
            .json(&json!({ "data": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), version);
        assert_eq!(response.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn body_over_the_limit_is_413_when_announced() {
    let server = spawn_with(&["--max-body", "1KiB"]).await;
    for http in [server.client.clone(), server.http1_client()] {
        let body = json!({ "data": "a".repeat(1100) }).to_string();
        let response = http
            .post(server.url("/oracleinvocation/"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            assert_error(response, StatusCode::PAYLOAD_TOO_LARGE).await,
            "payload_too_large"
        );
    }
}

#[tokio::test]
async fn body_at_the_limit_is_accepted() {
    let server = spawn_with(&["--max-body", "1KiB"]).await;
    let overhead = r#"{"data":""}"#.len();
    let body = json!({ "data": "a".repeat(1024 - overhead) }).to_string();
    assert_eq!(body.len(), 1024);
    let response = server
        .post_raw("/oracleinvocation/", Some("application/json"), body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let server = spawn_with(&["--max-body", "1KiB"]).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(vec![b' '; 200])).collect();
    // A streamed body has no Content-Length: it is sent chunked over HTTP/1.1.
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = server
        .http1_client()
        .post(server.url("/oracleinvocation/"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_error(response, StatusCode::PAYLOAD_TOO_LARGE).await,
        "payload_too_large"
    );
}

#[tokio::test]
async fn a_body_announced_far_over_the_limit_is_refused_unread() {
    let server = spawn_with(&["--max-body", "1KiB"]).await;
    let mut stream = raw_tls(&server).await;
    // Announces 1 GiB and sends nothing more: the answer must not wait for the body.
    send(
        &mut stream,
        b"POST /oracleinvocation/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n",
    )
    .await;
    let received = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(received.starts_with("HTTP/1.1 413"), "{received}");
    assert!(
        received.contains("\"code\":\"payload_too_large\""),
        "{received}"
    );
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_413_over_http2_too() {
    let server = spawn_with(&["--max-body", "1KiB"]).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(vec![b' '; 200])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = server
        .post_raw("/oracleinvocation/", Some("application/json"), body)
        .await;
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(
        assert_error(response, StatusCode::PAYLOAD_TOO_LARGE).await,
        "payload_too_large"
    );
}

#[tokio::test]
async fn a_client_stalling_mid_body_is_dropped_after_the_body_timeout() {
    let server = spawn_with(&["--body-timeout", "1500ms"]).await;
    let mut stream = raw_tls(&server).await;
    let started = Instant::now();
    send(
        &mut stream,
        b"POST /oracleinvocation/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"data\": \"",
    )
    .await;
    let received = read_until_closed(&mut stream, Duration::from_secs(8))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(received.contains("\"code\":\"body_timeout\""), "{received}");
    assert!(
        elapsed >= Duration::from_millis(900),
        "closed after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_slow_but_steady_upload_is_not_dropped() {
    let server = spawn_with(&["--body-timeout", "1s"]).await;
    let mut stream = raw_tls(&server).await;
    let body = br#"{"data": "slow and steady"}"#;
    let head = format!(
        "POST /oracleinvocation/ HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    send(&mut stream, head.as_bytes()).await;
    // Six pieces 400 ms apart: 2.4 s in all, more than twice the body timeout, but never a
    // gap as long as it.
    for piece in body.chunks(body.len().div_ceil(6)) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        send(&mut stream, piece).await;
    }
    let received = read_until_closed(&mut stream, Duration::from_secs(8))
        .await
        .unwrap();
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
}

#[tokio::test]
async fn hostile_inputs_never_get_a_5xx() {
    let server = spawn().await;
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("/oracleinvocation/", b"\x00\x01\x02".to_vec()),
        ("/oracleinvocation/", b"{\"data\": \"\\u0000\"}".to_vec()),
        ("/oracleinvocation/", b"{\"data\": 1e999999}".to_vec()),
        ("/oracleinvocation/", b"{\"data\": \"x\", ".to_vec()),
        (
            "/decrypt/",
            b"{\"data\": \"\", \"key\": \"\", \"mac\": \"\", \"nonce\": \"\"}".to_vec(),
        ),
        (
            "/decrypt/",
            b"{\"data\": \"====\", \"key\": \"=\", \"mac\": \"A\", \"nonce\": \"AA\"}".to_vec(),
        ),
        ("/decrypt/", b"{\"key\": 1}".to_vec()),
        ("/decrypt/", b"null".to_vec()),
        ("/decrypt/", vec![b'{'; 10_000]),
    ];
    for (path, body) in bodies {
        let response = server
            .post_raw(path, Some("application/json"), body.clone())
            .await;
        let status = response.status();
        assert!(
            status.is_client_error() || status.is_success(),
            "{path} {} -> {status}",
            String::from_utf8_lossy(&body)
        );
        if status.is_client_error() {
            let error: Value = response.json().await.unwrap();
            assert!(error["code"].is_string());
        }
    }
}
