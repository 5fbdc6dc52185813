//! `--redirect-http`: a plain-HTTP listener that answers every request with a 308 to the same
//! path on the HTTPS port, and serves nothing else.

use std::net::TcpListener;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

use crate::http::metrics::Metrics;
use crate::server::telemetry;

/// Builds the redirect server on `listener`; run it by awaiting or spawning the result.
///
/// # Errors
///
/// If actix cannot take over the listener.
pub fn server(
    listener: TcpListener,
    https_port: u16,
    metrics: Metrics,
) -> std::io::Result<actix_web::dev::Server> {
    let metrics = web::Data::new(metrics);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .default_service(web::to(move |req: HttpRequest| async move {
                redirect(&req, https_port)
            }))
            // Logged and counted like every other request (route "(unmatched)").
            .wrap(from_fn(telemetry::access_log))
    })
    // One worker is plenty for answering redirects; the HTTPS server handles the signals.
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}

/// 308 keeps the method and body, so a POST sent to http:// is repeated as a POST to https://.
fn redirect(req: &HttpRequest, https_port: u16) -> HttpResponse {
    // The Host header (or the request target's authority) only: X-Forwarded-Host and
    // Forwarded come from whoever sent the request and would redirect to any host they name.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| req.uri().authority().map(|authority| authority.as_str()))
        .unwrap_or("localhost");
    let host = host_without_port(host);
    // Only an origin-form target (`/path?query`) is kept; `*` and the like become `/`.
    let path = req
        .uri()
        .path_and_query()
        .map(|path_and_query| path_and_query.as_str())
        .filter(|path| path.starts_with('/'))
        .unwrap_or("/");
    let location = if https_port == 443 {
        format!("https://{host}{path}")
    } else {
        format!("https://{host}:{https_port}{path}")
    };
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `example.com:80` → `example.com`, `[::1]:80` → `[::1]`; anything odd → `localhost`.
fn host_without_port(host: &str) -> &str {
    let name = if host.starts_with('[') {
        // An IPv6 literal: up to the closing bracket, then at most `:port`.
        match host.find(']') {
            Some(end) if host[end + 1..].is_empty() || host[end + 1..].starts_with(':') => {
                &host[..=end]
            }
            _ => "",
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => "",
            None => host,
        }
    };
    let plausible = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    if plausible { name } else { "localhost" }
}

#[cfg(test)]
mod tests {
    use super::host_without_port;

    #[test]
    fn the_port_is_dropped_from_the_host() {
        assert_eq!(host_without_port("example.com:80"), "example.com");
        assert_eq!(host_without_port("example.com"), "example.com");
        assert_eq!(host_without_port("[::1]:8080"), "[::1]");
        assert_eq!(host_without_port("[::1]"), "[::1]");
        assert_eq!(host_without_port("evil.com/path?"), "localhost");
        assert_eq!(host_without_port("a:b:c"), "localhost");
        assert_eq!(host_without_port("[::1]x"), "localhost");
    }
}
