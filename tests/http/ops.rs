//! Operations: health probes, metrics, request ids, and 405 on every route.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{spawn, spawn_with};

#[tokio::test]
async fn health_probes_answer_small_json() {
    let server = spawn().await;
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = server.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({ "status": status }));
    }
}

#[tokio::test]
async fn metrics_count_requests_bytes_latency_and_rejections() {
    let server = spawn().await;
    let envelope: Value = server
        .post_json("/oracleinvocation/", &json!({ "data": "12345" }))
        .await
        .json()
        .await
        .unwrap();
    server.post_json("/decrypt/", &envelope).await;
    let mut tampered = envelope.clone();
    tampered["mac"] = "AAAAAAAAAAAAAAAAAAAAAA==".into();
    server.post_json("/decrypt/", &tampered).await;
    server
        .post_json(
            "/oracleinvocation/batch",
            &json!({ "items": [{ "data": "abc" }, { "data": "de" }] }),
        )
        .await;
    server.get("/nowhere").await;

    let response = server.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    for line in [
        r#"gcm_oracle_http_requests_total{route="/oracleinvocation",status="200"} 1"#,
        r#"gcm_oracle_http_requests_total{route="/decrypt",status="200"} 1"#,
        r#"gcm_oracle_http_requests_total{route="/decrypt",status="400"} 1"#,
        r#"gcm_oracle_http_requests_total{route="/oracleinvocation/batch",status="200"} 1"#,
        r#"gcm_oracle_http_requests_total{route="(unmatched)",status="404"} 1"#,
        r#"gcm_oracle_http_request_duration_seconds_count{route="/decrypt"} 2"#,
        r#"gcm_oracle_rejected_requests_total{code="decryption_failed"} 1"#,
        r#"gcm_oracle_rejected_requests_total{code="not_found"} 1"#,
        // 5 + 3 + 2 bytes sealed; 5 opened (the tampered one opened nothing).
        "gcm_oracle_encrypted_bytes_total 10",
        "gcm_oracle_decrypted_bytes_total 5",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let server = spawn().await;
    let http = &server.client;
    let mut seen = Vec::new();
    for path in ["/", "/healthz", "/nowhere"] {
        let response = server.get(path).await;
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        seen.push(id);
    }
    let distinct: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 3, "ids repeat: {seen:?}");

    let response = http
        .get(server.url("/healthz"))
        .header("x-request-id", "trace-1234_abc.def")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-1234_abc.def");
    let response = http
        .get(server.url("/healthz"))
        .header("x-request-id", "not a token; <script>")
        .send()
        .await
        .unwrap();
    assert_ne!(response.headers()["x-request-id"], "not a token; <script>");
}

#[tokio::test]
async fn every_route_answers_a_wrong_method_with_405_and_allow() {
    let server = spawn().await;
    let http = &server.client;
    let post_only = [
        "/oracleinvocation/",
        "/oracleinvocation",
        "/decrypt/",
        "/decrypt",
        "/oracleinvocation/batch",
        "/decrypt/batch",
    ];
    let get_only = ["/", "/healthz", "/readyz", "/metrics"];
    for (paths, wrong, allow) in [
        (
            &post_only[..],
            [Method::GET, Method::PUT, Method::DELETE],
            "POST",
        ),
        (
            &get_only[..],
            [Method::POST, Method::PUT, Method::DELETE],
            "GET, HEAD",
        ),
    ] {
        for path in paths {
            for method in &wrong {
                let response = http
                    .request(method.clone(), server.url(path))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    response.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path}"
                );
                assert_eq!(response.headers()["allow"], allow, "{method} {path}");
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["code"], "method_not_allowed");
            }
        }
    }
}

#[tokio::test]
async fn redirect_http_answers_308_to_https_for_any_path_and_nothing_else() {
    let server = spawn_with(&["--redirect-http", "127.0.0.1:0"]).await;
    let redirect = server.redirect.unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (method, path) in [
        (Method::GET, "/"),
        (Method::POST, "/oracleinvocation/?x=1"),
        (Method::GET, "/metrics"),
        (Method::DELETE, "/anything/at/all"),
    ] {
        let response = http
            .request(method.clone(), format!("http://{redirect}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::PERMANENT_REDIRECT,
            "{method} {path}"
        );
        let location = response.headers()["location"].to_str().unwrap();
        assert_eq!(
            location,
            format!("https://127.0.0.1:{}{path}", server.addr.port())
        );
        assert!(
            response.bytes().await.unwrap().is_empty(),
            "a redirect serves nothing"
        );
    }
}

/// A CA and a client certificate it issued, as PEM.
fn client_pki() -> (String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["client.test".to_owned()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    (ca_pem, format!("{}{}", cert.pem(), key.serialize_pem()))
}

#[tokio::test]
async fn client_ca_lets_only_clients_with_its_certificates_through() {
    let (ca_pem, identity_pem) = client_pki();
    let (_, stranger_pem) = client_pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("client-ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let server = spawn_with(&["--client-ca", ca_file.to_str().unwrap()]).await;

    let with_identity = |pem: &str| {
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&server.ca_pem).unwrap()])
            .identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap())
            .build()
            .unwrap()
    };
    let accepted = with_identity(&identity_pem)
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);

    let strangers = with_identity(&stranger_pem)
        .get(server.url("/healthz"))
        .send()
        .await;
    assert!(
        strangers.is_err(),
        "a certificate from another CA got through"
    );
    let anonymous = server.client.get(server.url("/healthz")).send().await;
    assert!(
        anonymous.is_err(),
        "a client without a certificate got through"
    );
}

#[tokio::test]
async fn openapi_document_describes_every_endpoint() {
    let server = spawn().await;
    let response = server.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/oracleinvocation/",
        "/decrypt/",
        "/oracleinvocation/batch",
        "/decrypt/batch",
        "/keypair/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["KeySize"]["enum"], json!([128, 192, 256]));
    assert_eq!(schemas["Encoding"]["enum"], json!(["utf-8", "base64"]));
    assert_eq!(
        schemas["Envelope"]["required"],
        json!(["data", "mac", "nonce"])
    );
    for optional in ["key", "wrapped_key", "wrap"] {
        assert!(
            schemas["Envelope"]["properties"][optional].is_object(),
            "{optional}"
        );
    }
    assert_eq!(
        schemas["Wrap"]["enum"],
        json!(["rsa-oaep-sha256", "hpke-x25519-sha256-aes256gcm"])
    );
    assert_eq!(schemas["Algorithm"]["enum"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn docs_page_is_served_from_the_binary_without_any_cdn() {
    let server = spawn().await;
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&server.ca_pem).unwrap()])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http.get(server.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()["location"], "/docs/");

    let page = http.get(server.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every script and stylesheet the page loads comes from this server.
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        assert!(
            html.contains(&format!("./{asset}")),
            "{asset} not loaded locally:\n{html}"
        );
        let response = http
            .get(server.url(&format!("/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let text = response.text().await.unwrap();
        assert!(!text.is_empty(), "{asset} is empty");
    }
    assert!(
        !html.contains("//cdn") && !html.contains("unpkg.com"),
        "{html}"
    );
    let init = http
        .get(server.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert!(
        init.text()
            .await
            .unwrap()
            .contains("\"url\": \"/openapi.json\"")
    );
}
