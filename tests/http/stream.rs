//! The streaming endpoints over the network: both formats over HTTP/1.1 and HTTP/2, with a
//! Content-Length and chunked; what is refused before a byte is streamed; and the aborts that
//! keep a client from ever seeing a clean end of a stream that is not whole.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gcm_oracle::{
    Algorithm, Key, Keypair, PrivateKey, StreamFormat, StreamOptions, Wrap, open_stream,
    seal_stream,
};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::helpers::{TestServer, raw_tls, read_until_closed, send, spawn, spawn_with};

const SEAL: &str = "/oracleinvocation/stream";
const OPEN: &str = "/decrypt/stream";
const TINK: &str = "format=aes256gcm-hkdf-1mb";

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn key_of(headers: &HeaderMap) -> Key {
    Key::try_from(&STANDARD.decode(header(headers, "oracle-key")).unwrap()[..]).unwrap()
}

fn options(format: StreamFormat, aad: &[u8]) -> StreamOptions {
    StreamOptions::new(format).aad(aad.to_vec())
}

/// A request body sent chunked: a stream of pieces of `piece` bytes.
fn chunked(bytes: Vec<u8>, piece: usize) -> reqwest::Body {
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> = bytes
        .chunks(piece)
        .map(|chunk| Ok(chunk.to_vec()))
        .collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
}

async fn seal_through(
    client: &reqwest::Client,
    server: &TestServer,
    query: &str,
    body: reqwest::Body,
    aad: Option<&[u8]>,
) -> (HeaderMap, Vec<u8>) {
    let mut request = client
        .post(server.url(&format!("{SEAL}?{query}")))
        .body(body);
    if let Some(aad) = aad {
        request = request.header("oracle-aad", STANDARD.encode(aad));
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    (headers, response.bytes().await.unwrap().to_vec())
}

async fn open_through(
    client: &reqwest::Client,
    server: &TestServer,
    query: &str,
    key: &Key,
    aad: Option<&[u8]>,
    body: reqwest::Body,
) -> reqwest::Response {
    let mut request = client
        .post(server.url(&format!("{OPEN}?{query}")))
        .header("oracle-key", STANDARD.encode(key.as_bytes()))
        .header("content-type", "application/octet-stream")
        .body(body);
    if let Some(aad) = aad {
        request = request.header("oracle-aad", STANDARD.encode(aad));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn both_formats_round_trip_over_http1_and_http2_sized_and_chunked() {
    let server = spawn().await;
    let clear = data(300_000);
    let cases = [
        (StreamFormat::Aes128Gcm, "rs=4096", None, 16),
        (StreamFormat::Aes128Gcm, "", None, 16),
        (StreamFormat::Aes256GcmHkdf1Mb, TINK, None, 32),
        (
            StreamFormat::Aes256GcmHkdf1Mb,
            TINK,
            Some(&b"order 7"[..]),
            32,
        ),
    ];
    for client in [server.client.clone(), server.http1_client()] {
        for (format, query, aad, key_len) in cases {
            for sized in [true, false] {
                let body = if sized {
                    reqwest::Body::from(clear.clone())
                } else {
                    chunked(clear.clone(), 10_000)
                };
                let (headers, sealed) = seal_through(&client, &server, query, body, aad).await;
                let what = format!("{format} {query} sized={sized}");
                assert_eq!(header(&headers, "oracle-format"), format.name(), "{what}");
                assert_eq!(header(&headers, "content-type"), "application/octet-stream");
                assert_eq!(header(&headers, "cache-control"), "no-store");
                let key = key_of(&headers);
                assert_eq!(key.as_bytes().len(), key_len, "{what}");
                let mut stream_options = options(format, aad.unwrap_or_default());
                if let Some(rs) = query.strip_prefix("rs=") {
                    stream_options = stream_options.record_size(rs.parse().unwrap());
                }
                if sized {
                    let length: u64 = header(&headers, "content-length").parse().unwrap();
                    assert_eq!(length, sealed.len() as u64, "{what}");
                    assert_eq!(
                        Some(length),
                        stream_options.sealed_len(clear.len() as u64),
                        "{what}"
                    );
                }
                // The library opens what the server sealed...
                let mut opened = Vec::new();
                let reader_options = options(format, aad.unwrap_or_default());
                open_stream(&sealed[..], &mut opened, &key, &reader_options).unwrap();
                assert_eq!(opened, clear, "{what}");
                // ...and so does the server.
                let response = open_through(
                    &client,
                    &server,
                    if format == StreamFormat::Aes128Gcm {
                        ""
                    } else {
                        TINK
                    },
                    &key,
                    aad,
                    chunked(sealed, 7_000),
                )
                .await;
                assert_eq!(response.status(), StatusCode::OK, "{what}");
                assert_eq!(header(response.headers(), "oracle-format"), format.name());
                assert_eq!(response.bytes().await.unwrap(), clear, "{what}");
            }
        }
    }
}

#[tokio::test]
async fn the_empty_stream_round_trips() {
    let server = spawn().await;
    for (query, format) in [
        ("", StreamFormat::Aes128Gcm),
        (TINK, StreamFormat::Aes256GcmHkdf1Mb),
    ] {
        let (headers, sealed) =
            seal_through(&server.client, &server, query, Vec::new().into(), None).await;
        assert_eq!(
            Some(sealed.len() as u64),
            StreamOptions::new(format).sealed_len(0)
        );
        let response = open_through(
            &server.client,
            &server,
            query,
            &key_of(&headers),
            None,
            sealed.into(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn requests_are_refused_before_a_byte_is_streamed() {
    let server = spawn().await;
    let post = |path: &str, content_type: Option<&str>| {
        let mut request = server
            .client
            .post(server.url(path))
            .body("Hunter2 clear text");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request
    };
    let cases = [
        (
            post(SEAL, Some("text/plain")),
            415,
            "unsupported_media_type",
            "Content-Type",
        ),
        (
            post(SEAL, Some("application/json")),
            415,
            "unsupported_media_type",
            "Content-Type",
        ),
        (
            post(&format!("{SEAL}?rs=17"), None),
            400,
            "invalid_request",
            "`rs`",
        ),
        (
            post(&format!("{SEAL}?rs=Hunter2"), None),
            400,
            "invalid_request",
            "`rs`",
        ),
        (
            post(&format!("{SEAL}?format=Hunter2"), None),
            400,
            "invalid_request",
            "`format`",
        ),
        (
            post(&format!("{SEAL}?Hunter2=1"), None),
            400,
            "invalid_request",
            "unknown query parameter",
        ),
        (
            post(&format!("{SEAL}?{TINK}&rs=100"), None),
            400,
            "invalid_request",
            "`rs`",
        ),
        (
            post(SEAL, None).header("oracle-aad", "aGk="),
            400,
            "invalid_request",
            "`Oracle-Aad`",
        ),
        (
            post(&format!("{SEAL}?{TINK}"), None).header("oracle-aad", "Hunter2"),
            400,
            "invalid_base64",
            "`Oracle-Aad`",
        ),
        (
            post(SEAL, None).header("oracle-recipient", "SHVudGVyMg=="),
            400,
            "invalid_recipient",
            "public key",
        ),
        (post(OPEN, None), 400, "invalid_request", "`Oracle-Key`"),
        (
            post(OPEN, None).header("oracle-key", "Hunter2"),
            400,
            "invalid_base64",
            "`Oracle-Key`",
        ),
        (
            post(OPEN, None).header("oracle-key", STANDARD.encode([1u8; 5])),
            400,
            "invalid_length",
            "`Oracle-Key`",
        ),
        (
            post(&format!("{OPEN}?{TINK}"), None).header("oracle-key", STANDARD.encode([1u8; 16])),
            400,
            "invalid_length",
            "32 bytes",
        ),
        (
            post(&format!("{OPEN}?rs=100"), None).header("oracle-key", STANDARD.encode([1u8; 16])),
            400,
            "invalid_request",
            "`rs`",
        ),
    ];
    for (request, status, code, names) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{code} {names}");
        assert!(response.headers().get("oracle-key").is_none());
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], code, "{body}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(names), "{message}");
        assert!(!message.contains("Hunter2"), "{message}");
    }
}

#[tokio::test]
async fn a_wrong_key_or_a_tampered_first_record_is_a_json_error_before_any_clear_text() {
    let server = spawn().await;
    let clear = data(100_000);
    let (headers, sealed) =
        seal_through(&server.client, &server, "rs=1000", clear.into(), None).await;
    let key = key_of(&headers);
    let wrong = Key::try_from(&[9u8; 16][..]).unwrap();
    let mut tampered = sealed.clone();
    tampered[21 + 10] ^= 1;
    let mut bad_header = sealed.clone();
    bad_header[3] ^= 1;
    for (what, key, body) in [
        ("wrong key", &wrong, sealed.clone()),
        ("tampered first record", &key, tampered),
        ("altered salt", &key, bad_header),
        ("cut inside the first record", &key, sealed[..500].to_vec()),
        ("header only", &key, sealed[..21].to_vec()),
        ("less than a header", &key, sealed[..7].to_vec()),
    ] {
        let response = open_through(&server.client, &server, "", key, None, body.into()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "decryption_failed", "{what}: {body}");
    }
}

#[tokio::test]
async fn a_later_bad_record_or_truncation_aborts_the_answer_over_both_protocols() {
    let server = spawn().await;
    let clear = data(50_000);
    let (headers, sealed) =
        seal_through(&server.client, &server, "rs=1000", clear.into(), None).await;
    let key = key_of(&headers);
    let mut tampered = sealed.clone();
    tampered[21 + 1000 * 20 + 5] ^= 1;
    let mut trailing = sealed.clone();
    trailing.extend_from_slice(b"more");
    let records = [
        ("a tampered middle record", tampered),
        (
            "cut at a record boundary",
            sealed[..21 + 1000 * 30].to_vec(),
        ),
        (
            "cut inside a record",
            sealed[..21 + 1000 * 30 + 400].to_vec(),
        ),
        ("data after the last record", trailing),
    ];
    for client in [server.client.clone(), server.http1_client()] {
        for (what, body) in &records {
            // The server may abort while the client is still sending (HTTP/1.1 clients
            // then fail the request itself), or after: either way, never a clean end.
            let request = client
                .post(server.url(OPEN))
                .header("oracle-key", STANDARD.encode(key.as_bytes()))
                .body(chunked(body.clone(), 4096));
            if let Ok(response) = request.send().await {
                assert_eq!(response.status(), StatusCode::OK, "{what}");
                assert!(
                    response.bytes().await.is_err(),
                    "{what}: the answer ended cleanly"
                );
            }
        }
    }
}

/// Sends a request head and `body`, then closes the sending side, and returns everything the
/// server sent until it closed the connection.
async fn upload_that_breaks_off(server: &TestServer, head: &str, body: &[u8]) -> Vec<u8> {
    let mut stream = raw_tls(server).await;
    send(&mut stream, head.as_bytes()).await;
    send(&mut stream, body).await;
    tokio::io::AsyncWriteExt::shutdown(&mut stream).await.ok();
    read_raw_until_closed(&mut stream).await
}

/// Every byte the server sends until it closes the connection (at most 10 s).
async fn read_raw_until_closed(
    stream: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
) -> Vec<u8> {
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 16384];
        loop {
            match tokio::io::AsyncReadExt::read(stream, &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection");
    received
}

fn split_response(raw: &[u8]) -> (String, &[u8]) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    (
        String::from_utf8_lossy(&raw[..end]).into_owned(),
        &raw[end..],
    )
}

#[tokio::test]
async fn an_upload_that_breaks_off_never_ends_the_answer_cleanly() {
    let server = spawn().await;
    let host = server.addr;
    // Announced 200,000 bytes, sent 150,000: the answer announced its full length and stops
    // short of it.
    let head =
        format!("POST {SEAL}?rs=1000 HTTP/1.1\r\nHost: {host}\r\nContent-Length: 200000\r\n\r\n");
    let raw = upload_that_breaks_off(&server, &head, &data(150_000)).await;
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let announced = StreamOptions::new(StreamFormat::Aes128Gcm)
        .record_size(1000)
        .sealed_len(200_000)
        .unwrap();
    assert!(
        head.contains(&format!("content-length: {announced}")),
        "{head}"
    );
    assert!(
        (body.len() as u64) < announced,
        "{} bytes of {announced}",
        body.len()
    );

    // Chunked: the answer is chunked too, and never gets its last, empty chunk.
    let head = format!(
        "POST {SEAL}?rs=1000 HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let mut chunks = Vec::new();
    for piece in data(150_000).chunks(10_000) {
        chunks.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunks.extend_from_slice(piece);
        chunks.extend_from_slice(b"\r\n");
    }
    let raw = upload_that_breaks_off(&server, &head, &chunks).await;
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(
        body.len() > 100_000,
        "records left while the upload went on"
    );
    assert!(!body.ends_with(b"0\r\n\r\n"), "the answer ended cleanly");
}

#[tokio::test]
async fn a_stalled_upload_is_aborted_after_the_body_timeout() {
    let server = spawn_with(&["--body-timeout", "300ms"]).await;
    let mut stream = raw_tls(&server).await;
    let head = format!(
        "POST {SEAL} HTTP/1.1\r\nHost: {}\r\nContent-Length: 100000\r\n\r\n",
        server.addr
    );
    send(&mut stream, head.as_bytes()).await;
    send(&mut stream, &data(1000)).await;
    let started = std::time::Instant::now();
    let raw = read_raw_until_closed(&mut stream).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let (head, body) = split_response(&raw);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.len() < 100_000);
}

#[tokio::test]
async fn max_stream_is_a_413_when_announced_and_an_abort_when_passed() {
    let server = spawn_with(&["--max-stream", "10KiB"]).await;
    let response = server.post_raw(SEAL, None, data(10_241)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");
    let ok = server.post_raw(SEAL, None, data(10_240)).await;
    assert_eq!(ok.status(), StatusCode::OK);
    ok.bytes().await.unwrap();
    let response = server
        .client
        .post(server.url(SEAL))
        .body(chunked(data(20_000), 1000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.bytes().await.is_err(),
        "passing --max-stream aborts"
    );
}

#[tokio::test]
async fn expect_100_continue_over_max_stream_is_refused_without_continue() {
    let server = spawn_with(&["--max-stream", "1KiB"]).await;
    let mut stream = raw_tls(&server).await;
    let head = format!(
        "POST {SEAL} HTTP/1.1\r\nHost: {}\r\nContent-Length: 1025\r\nExpect: 100-continue\r\n\r\n",
        server.addr
    );
    send(&mut stream, head.as_bytes()).await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
}

#[tokio::test]
async fn a_stream_key_is_wrapped_for_a_recipient() {
    let server = spawn().await;
    for algorithm in [Algorithm::X25519, Algorithm::Rsa2048] {
        let pair = Keypair::generate(algorithm).unwrap();
        let der: String = pair
            .public_key_pem
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .collect();
        let clear = data(70_000);
        let response = server
            .client
            .post(server.url(&format!("{SEAL}?{TINK}")))
            .header("oracle-recipient", der)
            .body(clear.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert!(headers.get("oracle-key").is_none());
        let wrap = match header(&headers, "oracle-wrap") {
            "rsa-oaep-sha256" => Wrap::RsaOaepSha256,
            "hpke-x25519-sha256-aes256gcm" => Wrap::HpkeX25519Sha256Aes256Gcm,
            other => panic!("{other}"),
        };
        let wrapped = STANDARD
            .decode(header(&headers, "oracle-wrapped-key"))
            .unwrap();
        let key = PrivateKey::from_pem(&pair.private_key_pem)
            .unwrap()
            .unwrap_key(wrap, &wrapped)
            .unwrap();
        let sealed = response.bytes().await.unwrap();
        let mut opened = Vec::new();
        open_stream(
            &sealed[..],
            &mut opened,
            &key,
            &StreamOptions::new(StreamFormat::Aes256GcmHkdf1Mb),
        )
        .unwrap();
        assert_eq!(opened, clear, "{algorithm:?}");
    }
}

#[tokio::test]
async fn library_streams_open_through_the_server() {
    let server = spawn().await;
    let clear = data(2_500_000);
    for format in StreamFormat::ALL {
        let options = StreamOptions::new(format);
        let mut sealed = Vec::new();
        let key = seal_stream(&clear[..], &mut sealed, &options).unwrap();
        let query = if format == StreamFormat::Aes128Gcm {
            ""
        } else {
            TINK
        };
        let response =
            open_through(&server.client, &server, query, &key, None, sealed.into()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.bytes().await.unwrap(), clear, "{format}");
    }
}

#[tokio::test]
async fn streams_are_counted_and_logged_at_their_end() {
    let server = spawn().await;
    let (headers, sealed) =
        seal_through(&server.client, &server, "", data(5000).into(), None).await;
    let response = open_through(
        &server.client,
        &server,
        "",
        &key_of(&headers),
        None,
        sealed.into(),
    )
    .await;
    response.bytes().await.unwrap();
    let metrics = server.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"gcm_oracle_stream_bytes_total{direction="in",format="aes128gcm",route="/oracleinvocation/stream"} 5000"#,
        r#"gcm_oracle_stream_bytes_total{direction="out",format="aes128gcm",route="/decrypt/stream"} 5000"#,
        r#"gcm_oracle_streams_total{format="aes128gcm",outcome="complete",route="/oracleinvocation/stream"} 1"#,
        r#"gcm_oracle_streams_total{format="aes128gcm",outcome="complete",route="/decrypt/stream"} 1"#,
    ] {
        assert!(metrics.contains(line), "no {line} in\n{metrics}");
    }
}

#[tokio::test]
async fn the_cli_sends_a_file_through_the_server_and_opens_streams_offline() {
    use crate::helpers::process::run_to_end;

    let server = spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let clear = data(200_000);
    std::fs::write(path("clear"), &clear).unwrap();
    std::fs::write(path("ca.pem"), &server.ca_pem).unwrap();
    let url = server.url.clone();
    let (ca, input, sealed, key_json) = (
        path("ca.pem"),
        path("clear"),
        path("sealed"),
        path("key.json"),
    );
    let sent = tokio::task::spawn_blocking(move || {
        run_to_end(&[
            "stream-send",
            "--url",
            &url,
            "--cacert",
            &ca,
            "--in",
            &input,
            "--out",
            &sealed,
            "--key-out",
            &key_json,
            "--rs",
            "1000",
        ])
    })
    .await
    .unwrap();
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    assert!(
        sent.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );
    let line: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path("key.json")).unwrap()).unwrap();
    assert_eq!(line["format"], "aes128gcm");
    std::fs::write(path("key"), line["key"].as_str().unwrap()).unwrap();

    // Offline, with the key.
    let opened = run_to_end(&[
        "stream-open",
        "--key-file",
        &path("key"),
        "--in",
        &path("sealed"),
        "--out",
        &path("opened"),
    ]);
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    assert_eq!(std::fs::read(path("opened")).unwrap(), clear);

    // A cut stream leaves no output file behind, and says why.
    let sealed_bytes = std::fs::read(path("sealed")).unwrap();
    std::fs::write(path("cut"), &sealed_bytes[..sealed_bytes.len() - 500]).unwrap();
    let cut = run_to_end(&[
        "stream-open",
        "--key-file",
        &path("key"),
        "--in",
        &path("cut"),
        "--out",
        &path("cut-opened"),
    ]);
    assert!(!cut.status.success());
    assert!(
        String::from_utf8_lossy(&cut.stderr).contains("not authentic"),
        "{}",
        String::from_utf8_lossy(&cut.stderr)
    );
    assert!(!dir.path().join("cut-opened").exists());
    assert!(!dir.path().join("cut-opened.partial").exists());

    // Back through the server.
    let url = server.url.clone();
    let (ca, key, sealed, back) = (path("ca.pem"), path("key"), path("sealed"), path("back"));
    let back_out = tokio::task::spawn_blocking(move || {
        run_to_end(&[
            "stream-send",
            "--url",
            &url,
            "--cacert",
            &ca,
            "--decrypt",
            "--key-file",
            &key,
            "--in",
            &sealed,
            "--out",
            &back,
        ])
    })
    .await
    .unwrap();
    assert!(
        back_out.status.success(),
        "{}",
        String::from_utf8_lossy(&back_out.stderr)
    );
    assert_eq!(std::fs::read(path("back")).unwrap(), clear);

    // A cut stream sent back leaves no clear-text file behind, not even a partial one.
    let url = server.url.clone();
    let (ca, key, cut, out) = (path("ca.pem"), path("key"), path("cut"), path("cut-back"));
    let failed = tokio::task::spawn_blocking(move || {
        run_to_end(&[
            "stream-send",
            "--url",
            &url,
            "--cacert",
            &ca,
            "--decrypt",
            "--key-file",
            &key,
            "--in",
            &cut,
            "--out",
            &out,
        ])
    })
    .await
    .unwrap();
    assert!(!failed.status.success());
    assert!(!dir.path().join("cut-back").exists());
    assert!(!dir.path().join("cut-back.partial").exists());

    // An existing --key-out is refused before anything is sent.
    let url = server.url.clone();
    let (ca, input, out, key_json) = (
        path("ca.pem"),
        path("clear"),
        path("again"),
        path("key.json"),
    );
    let refused = tokio::task::spawn_blocking(move || {
        run_to_end(&[
            "stream-send",
            "--url",
            &url,
            "--cacert",
            &ca,
            "--in",
            &input,
            "--out",
            &out,
            "--key-out",
            &key_json,
        ])
    })
    .await
    .unwrap();
    assert!(!refused.status.success());
    assert!(!dir.path().join("again").exists() && !dir.path().join("again.partial").exists());
}

#[tokio::test]
async fn the_typed_client_streams_both_ways() {
    let server = spawn().await;
    let client = server.typed_client();
    let clear = data(1_200_000);
    let options = StreamOptions::new(StreamFormat::Aes256GcmHkdf1Mb).aad(b"ctx".to_vec());
    let mut sealed = client
        .encrypt_stream(clear.clone(), &options)
        .await
        .unwrap();
    assert_eq!(sealed.format(), StreamFormat::Aes256GcmHkdf1Mb);
    assert_eq!(
        sealed.content_length(),
        options.sealed_len(clear.len() as u64)
    );
    let key = sealed.key().unwrap().clone();
    let mut bytes = Vec::new();
    while let Some(chunk) = sealed.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    let mut opened = client
        .decrypt_stream(bytes.clone(), &key, &options)
        .await
        .unwrap();
    let mut back = Vec::new();
    while let Some(chunk) = opened.chunk().await.unwrap() {
        back.extend_from_slice(&chunk);
    }
    assert_eq!(back, clear);
    let wrong = Key::generate(gcm_oracle::KeySize::Aes256);
    let err = client
        .decrypt_stream(bytes, &wrong, &options)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("decryption_failed"));
}

#[tokio::test]
async fn a_client_that_sends_without_reading_is_dropped_after_six_body_timeouts() {
    use tokio::io::AsyncWriteExt as _;

    let server = spawn_with(&["--body-timeout", "500ms"]).await;
    let mut stream = raw_tls(&server).await;
    let total: usize = 256 << 20;
    let head = format!(
        "POST {SEAL} HTTP/1.1\r\nHost: {}\r\nContent-Length: {total}\r\n\r\n",
        server.addr
    );
    send(&mut stream, head.as_bytes()).await;
    // Upload without ever reading: once the socket buffers are full both ways, the server
    // can neither write its answer nor (backpressure) take more of the upload.
    let piece = vec![7u8; 64 * 1024];
    let mut sent = 0usize;
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        while sent < total {
            stream.write_all(&piece).await?;
            sent += piece.len();
        }
        stream.flush().await
    })
    .await;
    match outcome {
        Ok(Err(_)) => {}
        Ok(Ok(())) => panic!("the whole upload went through without the answer being read"),
        Err(_) => panic!("still connected after 30 s with {sent} bytes sent"),
    }
    assert!(sent < total, "{sent}");
}
