//! Logging: the subscriber (pretty or JSON lines, filtered by `RUST_LOG`) and the one access
//! line per request, with a request id that is also returned as `X-Request-Id`.
//!
//! What is logged of a request: method, route pattern, status, duration, bytes in and out, the
//! request id, and the error code when it failed. Never a body, a query string, a header value
//! other than a well-formed request id, or an error message.

use std::io::IsTerminal as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, web};
use futures_util::Stream;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::http::error::HttpError;
use crate::http::metrics::{Metrics, count_stack_refusal};
use crate::server::logwriter::{self, LogGuard};
use crate::server::settings::LogFormat;

/// The header that carries the request id both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Starts logging to stderr. `RUST_LOG` filters (default `info`).
///
/// Lines are formatted on the thread that logs them and appended, in order, to a buffer that
/// one logging thread writes out every 10 ms (`logwriter.rs`): a request thread never waits on
/// stderr. Nothing is dropped (a full buffer slows the loggers down instead), and the returned
/// guard writes out what is left when it is dropped: keep it until the program ends.
///
/// Requests actix-http refuses before our code runs (a malformed header, a request head that
/// never finishes, a connection reset) are counted in `/metrics` by kind and logged at debug
/// (target `gcm_oracle::stack`) instead of at ERROR, where anyone could flood the log with them.
///
/// # Errors
///
/// If the logging thread cannot be started.
pub fn init(format: LogFormat) -> std::io::Result<LogGuard> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = logwriter::spawn(std::io::stderr())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // A closed or full stderr must not take the server down: tracing-subscriber would
        // report the failed write with eprint!, which panics when stderr itself fails.
        .log_internal_errors(false);
    let result = match format {
        // Colour codes only for a person at a terminal, never in files or container logs.
        LogFormat::Pretty => builder
            .with_ansi(std::io::stderr().is_terminal())
            .finish()
            .with(StackRefusals)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .finish()
            .with(StackRefusals)
            .try_init(),
    };
    // Already initialised (a test, or a program embedding the server): keep that subscriber.
    drop(result);
    Ok(guard)
}

/// A layer that takes actix-http's ERROR lines about requests it refused itself out of the
/// log: it counts each by kind and logs it again at debug. actix-http's other ERROR lines
/// (a failing service, a broken response body) stay: they would be our faults.
struct StackRefusals;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StackRefusals {
    fn event_enabled(
        &self,
        event: &tracing::Event<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        let meta = event.metadata();
        if *meta.level() != tracing::Level::ERROR || !meta.target().starts_with("actix_http::h") {
            return true;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        let Some(kind) = stack_refusal_kind(&message.0) else {
            return true;
        };
        count_stack_refusal(kind);
        tracing::debug!(target: "gcm_oracle::stack", kind, "the HTTP stack refused a request: {}", message.0);
        false
    }
}

/// The kind of a refusal actix-http logs (`stream error: request parse error: invalid Header
/// provided` is `header`), or `None` for a line that is not about a client's request.
fn stack_refusal_kind(line: &str) -> Option<&'static str> {
    if line.starts_with("MAX_BUFFER_SIZE") {
        return Some("too_large");
    }
    // A streamed answer we ended with an error (an upload that broke off, a record that did
    // not authenticate): the access line has its code; actix-http only says it closed.
    if line.starts_with("Response payload stream error") {
        return Some("stream_aborted");
    }
    let error = line.strip_prefix("stream error: ")?;
    let Some(parse) = error.strip_prefix("request parse error: ") else {
        return match error {
            _ if error.starts_with("I/O error") => Some("io"),
            _ if error.starts_with("request did not complete within") => Some("slow_request"),
            _ if error.starts_with("connection shutdown timeout") => Some("slow_close"),
            _ => None,
        };
    };
    const KINDS: [(&str, &str); 9] = [
        ("invalid method", "method"),
        ("URI error", "uri"),
        ("invalid HTTP version", "version"),
        ("invalid Header", "header"),
        ("message head is too large", "too_large"),
        ("message is incomplete", "incomplete"),
        ("timeout", "timeout"),
        ("I/O error", "io"),
        ("UTF-8 error", "utf8"),
    ];
    Some(
        KINDS
            .iter()
            .find(|(prefix, _)| parse.starts_with(prefix))
            .map_or("parse", |(_, kind)| kind),
    )
}

/// The `message` field of an event, as text.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn core::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// A request id: the caller's `X-Request-Id` when it is a plain token of at most 64
/// characters, else 128 random bits in hex.
pub(crate) fn request_id(headers: &actix_web::http::header::HeaderMap) -> String {
    let given = headers
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    match given {
        Some(id) => id.to_owned(),
        None => fresh_request_id(),
    }
}

/// A new request id: 64 random bits drawn once per process, then a per-process counter, as 32
/// hex digits. An id only needs to be unique, not secret or unpredictable: a counter costs an
/// atomic add where drawing 128 random bits per request cost a system call.
fn fresh_request_id() -> String {
    static PREFIX: std::sync::LazyLock<u64> = std::sync::LazyLock::new(|| {
        let mut bytes = [0u8; 8];
        // Unique, not secret: fall back to the clock if the RNG fails.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            bytes = (nanos as u64).to_le_bytes();
        }
        u64::from_le_bytes(bytes)
    });
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:016x}{:016x}",
        *PREFIX,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Middleware: counts the body bytes read, times the request, and writes the access line and
/// the request metrics once the response is ready.
///
/// # Errors
///
/// Only what the inner service returns.
pub async fn access_log(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(req.headers());
    let method = req.method().clone();
    // Both spellings of an endpoint (`/decrypt`, `/decrypt/`) are one route in logs and metrics.
    let route = match req.match_pattern() {
        Some(pattern) => route_name(&pattern).to_owned(),
        None => "(unmatched)".to_owned(),
    };
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();

    let bytes_in = Arc::new(AtomicU64::new(0));
    let payload = req.take_payload();
    req.set_payload(Payload::Stream {
        payload: Box::pin(Counted {
            inner: payload,
            count: Arc::clone(&bytes_in),
        }),
    });

    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let status = res.status().as_u16();
    let code = res
        .response()
        .error()
        .and_then(|err| err.as_error::<HttpError>())
        .map(HttpError::code);
    let size = res.response().body().size();
    let streamed = matches!(size, BodySize::Stream)
        || (status == 200 && crate::http::stream::direction_of(&route).is_some());
    let bytes_out = match size {
        BodySize::Sized(n) if !streamed => n,
        BodySize::None => 0,
        // A streamed answer (chunked, or of a length announced ahead) is logged when it
        // ends, with what it sent and how it ended.
        _ => {
            let pending = Pending {
                id,
                method,
                route,
                status,
                started,
                bytes_in,
                bytes_out: 0,
                metrics,
                done: false,
            };
            return Ok(res.map_body(|_, body| {
                EitherBody::right(Logged {
                    body: Box::pin(body),
                    pending,
                })
            }));
        }
    };
    record(
        &Access {
            id: &id,
            method: &method,
            route: &route,
            status,
            elapsed: started.elapsed(),
            bytes_in: bytes_in.load(Ordering::Relaxed),
            bytes_out,
            code,
        },
        metrics.as_ref().map(|metrics| metrics.get_ref()),
    );
    Ok(res.map_into_left_body())
}

/// The access line of a streamed answer, written when the stream ends.
struct Pending {
    id: String,
    method: actix_web::http::Method,
    route: String,
    status: u16,
    started: Instant,
    bytes_in: Arc<AtomicU64>,
    bytes_out: u64,
    metrics: Option<web::Data<Metrics>>,
    done: bool,
}

impl Pending {
    fn record(&mut self, code: Option<&str>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        record(
            &Access {
                id: &self.id,
                method: &self.method,
                route: &self.route,
                status: self.status,
                elapsed: self.started.elapsed(),
                bytes_in: self.bytes_in.load(Ordering::Relaxed),
                bytes_out: self.bytes_out,
                code,
            },
            self.metrics.as_ref().map(|metrics| metrics.get_ref()),
        );
    }
}

/// A streamed answer's body: counts what it sends, and writes the access line at its end,
/// with the error code that aborted it (or `aborted` when the client went away first).
struct Logged<B> {
    body: Pin<Box<B>>,
    pending: Pending,
}

impl<B: MessageBody> MessageBody for Logged<B> {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<web::Bytes, Self::Error>>> {
        let this = &mut *self;
        match this.body.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                this.pending.bytes_out += bytes.len() as u64;
                Poll::Ready(Some(Ok(bytes)))
            }
            Poll::Ready(Some(Err(err))) => {
                let err: Self::Error = err.into();
                let code = err
                    .downcast_ref::<HttpError>()
                    .map_or("aborted", HttpError::code);
                if let Some(metrics) = &this.pending.metrics {
                    metrics.observe_rejection(code);
                }
                this.pending.record(Some(code));
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                this.pending.record(None);
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<B> Drop for Logged<B> {
    fn drop(&mut self) {
        self.pending.record(Some("aborted"));
    }
}

/// One answered request, as the access line and the metrics see it.
struct Access<'a> {
    id: &'a str,
    method: &'a actix_web::http::Method,
    route: &'a str,
    status: u16,
    elapsed: std::time::Duration,
    bytes_in: u64,
    bytes_out: u64,
    code: Option<&'a str>,
}

/// Writes the access line and counts the request: the one place both are done.
fn record(access: &Access<'_>, metrics: Option<&Metrics>) {
    if let Some(metrics) = metrics {
        metrics.observe_request(access.route, access.status, access.elapsed);
        if let Some(code) = access.code {
            metrics.observe_rejection(code);
        }
    }
    tracing::info!(
        target: "gcm_oracle::access",
        request_id = %access.id,
        method = %access.method,
        route = %access.route,
        status = access.status,
        duration_ms = access.elapsed.as_secs_f64() * 1000.0,
        bytes_in = access.bytes_in,
        bytes_out = access.bytes_out,
        code = access.code.unwrap_or("-"),
        "request"
    );
}

/// A route pattern as logs and metrics name it: both spellings of an endpoint (`/decrypt`,
/// `/decrypt/`) are one route.
fn route_name(pattern: &str) -> &str {
    if pattern.len() > 1 {
        pattern.trim_end_matches('/')
    } else {
        pattern
    }
}

/// The access line and the metrics of a request answered before the application saw it (an
/// `Expect: 100-continue` refused on its headers): the same line `access_log` writes.
pub(crate) fn log_answered_early(
    id: &str,
    method: &actix_web::http::Method,
    path: &str,
    status: u16,
    code: &str,
    metrics: &Metrics,
) {
    record(
        &Access {
            id,
            method,
            route: route_name(path),
            status,
            elapsed: std::time::Duration::ZERO,
            bytes_in: 0,
            bytes_out: 0,
            code: Some(code),
        },
        Some(metrics),
    );
}

/// A request body stream that counts the bytes passing through it.
struct Counted {
    inner: Payload,
    count: Arc<AtomicU64>,
}

impl Stream for Counted {
    type Item = Result<web::Bytes, actix_web::error::PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            self.count.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        polled
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn stack_refusals_are_told_from_our_own_faults() {
        for (line, kind) in [
            (
                "stream error: request parse error: invalid Header provided",
                Some("header"),
            ),
            (
                "stream error: request parse error: invalid HTTP version specified",
                Some("version"),
            ),
            (
                "stream error: request parse error: URI error: invalid uri character",
                Some("uri"),
            ),
            (
                "stream error: request parse error: something new",
                Some("parse"),
            ),
            (
                "stream error: I/O error: connection reset by peer",
                Some("io"),
            ),
            (
                "stream error: request did not complete within the specified timeout",
                Some("slow_request"),
            ),
            (
                "MAX_BUFFER_SIZE unprocessed data reached, closing",
                Some("too_large"),
            ),
            ("stream error: service error", None),
            ("stream error: body error: broken", None),
            ("Response payload stream error: x", Some("stream_aborted")),
        ] {
            assert_eq!(stack_refusal_kind(line), kind, "{line}");
        }
    }
}
