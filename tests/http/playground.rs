//! `GET /` for a browser: the playground page, its script and stylesheet, under a
//! Content-Security-Policy that allows this origin only; curl keeps the plain-text note.

use reqwest::StatusCode;

use crate::helpers::spawn;

const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

#[tokio::test]
async fn a_browser_gets_the_page_under_a_strict_csp_and_curl_the_note() {
    let server = spawn().await;
    let page = server
        .client
        .get(server.url("/"))
        .header("accept", BROWSER)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    assert!(
        csp.contains("script-src 'self';") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers["vary"], "Accept");
    for (name, value) in [
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        ("strict-transport-security", "max-age=63072000"),
    ] {
        assert_eq!(headers[name], value, "{name}");
    }
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script src="/playground.js" defer></script>"#));

    for (path, content_type) in [
        ("/playground.js", "text/javascript; charset=utf-8"),
        ("/playground.css", "text/css; charset=utf-8"),
    ] {
        let asset = server.get(path).await;
        assert_eq!(asset.status(), StatusCode::OK, "{path}");
        assert_eq!(asset.headers()["content-type"], content_type, "{path}");
        assert!(!asset.text().await.unwrap().is_empty());
    }

    // curl's */*, and no Accept at all: the note, as before.
    for accept in [Some("*/*"), None] {
        let mut request = server.client.get(server.url("/"));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let note = request.send().await.unwrap();
        assert_eq!(note.headers()["content-type"], "text/plain; charset=utf-8");
        assert!(note.headers().get("content-security-policy").is_none());
        assert!(
            note.text()
                .await
                .unwrap()
                .starts_with("gcm-oracle: a stateless")
        );
    }
}
