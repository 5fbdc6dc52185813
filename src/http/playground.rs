//! The playground: `GET /` answers a browser (an `Accept` that ranks `text/html` first) with a
//! page that teaches AES-GCM with the live oracle; everyone else keeps the plain-text note. The
//! page, its script and its stylesheet are compiled into the binary (`assets/playground/`):
//! same origin, nothing fetched from elsewhere, no build step.

use actix_web::http::header::{self, Accept, Header as _};
use actix_web::{HttpRequest, HttpResponse};

/// The page.
const PAGE: &str = include_str!("../../assets/playground/index.html");
/// Its script.
const SCRIPT: &str = include_str!("../../assets/playground/playground.js");
/// Its stylesheet.
const STYLE: &str = include_str!("../../assets/playground/playground.css");

/// The page's Content-Security-Policy: everything from this origin only, no inline script or
/// style, no plugins, no framing; `data:` images only for the empty favicon.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Whether the request's `Accept` ranks `text/html` (or XHTML) first, as browsers do; `*/*`
/// (curl), `text/plain`, a missing or a malformed header do not.
#[must_use]
pub fn wants_html(req: &HttpRequest) -> bool {
    let Ok(accept) = Accept::parse(req) else {
        return false;
    };
    accept.ranked().first().is_some_and(|mime| {
        mime.type_() == mime::TEXT && mime.subtype() == mime::HTML
            || mime.essence_str() == "application/xhtml+xml"
    })
}

/// The page, with its CSP.
#[must_use]
pub fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(mime::TEXT_HTML_UTF_8)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::VARY, "Accept"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(PAGE)
}

/// `GET /playground.js`.
pub(crate) async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .body(SCRIPT)
}

/// `GET /playground.css`.
pub(crate) async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .body(STYLE)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn browsers_get_the_page_and_everyone_else_the_note() {
        let wants = |accept: Option<&str>| {
            let mut request = TestRequest::get().uri("/");
            if let Some(accept) = accept {
                request = request.insert_header((header::ACCEPT, accept));
            }
            wants_html(&request.to_http_request())
        };
        // Chromium's and Firefox's navigation Accept headers.
        assert!(wants(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
        )));
        assert!(wants(Some("text/html")));
        assert!(wants(Some("application/xhtml+xml, text/plain;q=0.5")));
        for other in [
            None,
            Some("*/*"),
            Some("text/plain"),
            Some("application/json"),
            Some("text/plain, text/html;q=0.5"),
            Some("not a media type"),
        ] {
            assert!(!wants(other), "{other:?}");
        }
    }

    #[test]
    fn the_page_loads_only_what_the_csp_allows() {
        assert!(PAGE.contains(r#"<script src="/playground.js" defer></script>"#));
        assert!(PAGE.contains(r#"<link rel="stylesheet" href="/playground.css">"#));
        // No inline script or style, and no other origin.
        assert_eq!(PAGE.matches("<script").count(), 1);
        assert!(!PAGE.contains("style=") && !PAGE.contains("<style"));
        assert!(!PAGE.contains("onclick") && !PAGE.contains("javascript:"));
        for text in [PAGE, SCRIPT, STYLE] {
            assert!(!text.contains("http://") && !text.contains("https://"));
        }
    }

    #[test]
    fn the_contract_ids_are_on_the_page() {
        for id in [
            "plaintext",
            "aad",
            "key-bits",
            "nonce-bits",
            "encrypt",
            "out-ciphertext",
            "out-key",
            "out-nonce",
            "out-tag",
            "verify-status",
            "flip-ciphertext",
            "flip-tag",
            "decrypt",
            "decrypt-status",
        ] {
            assert_eq!(PAGE.matches(&format!(r#"id="{id}""#)).count(), 1, "#{id}");
        }
        for id in ["out-ciphertext", "out-key", "out-nonce", "out-tag"] {
            assert!(
                PAGE.contains(&format!(r#"id="{id}" class="bytes "#)),
                "#{id} is an output"
            );
        }
    }
}
