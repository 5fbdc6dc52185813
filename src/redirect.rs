//! `--redirect-http`: a plain-HTTP listener that answers every request with a 308 to the same
//! path on the HTTPS port, and serves nothing else.

use std::net::TcpListener;

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// Builds the redirect server on `listener`; run it by awaiting or spawning the result.
///
/// # Errors
///
/// If actix cannot take over the listener.
pub fn server(listener: TcpListener, https_port: u16) -> std::io::Result<actix_web::dev::Server> {
    Ok(HttpServer::new(move || {
        App::new().default_service(web::to(move |req: HttpRequest| async move {
            redirect(&req, https_port)
        }))
    })
    // One worker is plenty for answering redirects; the HTTPS server handles the signals.
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}

/// 308 keeps the method and body, so a POST sent to http:// is repeated as a POST to https://.
fn redirect(req: &HttpRequest, https_port: u16) -> HttpResponse {
    let info = req.connection_info();
    let host = host_without_port(info.host());
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str());
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
    let host = match host.rfind(':') {
        Some(colon) if !host.ends_with(']') => &host[..colon],
        _ => host,
    };
    let plausible = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    if plausible { host } else { "localhost" }
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
    }
}
