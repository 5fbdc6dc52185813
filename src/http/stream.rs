//! The streaming endpoints, `POST /oracleinvocation/stream` and `POST /decrypt/stream`: the
//! request body is read piece by piece and each record leaves as soon as it is sealed (or has
//! authenticated), in constant memory. The formats are [`crate::crypto::stream`]'s, the query
//! and `Oracle-*` headers [`crate::wire::stream`]'s.
//!
//! A stream that cannot be finished cleanly (the upload breaks off, stalls, passes
//! `--max-stream`, or a record does not authenticate) ends the response with an error: actix
//! closes an HTTP/1.1 connection before the final chunk (or before the announced length) and
//! resets an HTTP/2 stream, so a client never sees a clean end of a stream that is not whole.

use core::future::{Future as _, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::Duration;

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::Stream;
use prometheus::IntCounter;

use crate::crypto::Key;
use crate::crypto::stream::{
    RecordLoop, StreamFormat, StreamOpener, StreamOptions, StreamSealer, step,
};
use crate::http::body::BodyLimits;
use crate::http::error::HttpError;
use crate::http::metrics::Metrics;
use crate::keys::recipient::Recipient;
use crate::oracle::error::Error;
use crate::wire::stream::{
    Direction, ORACLE_AAD, ORACLE_FORMAT, ORACLE_KEY, ORACLE_RECIPIENT, ORACLE_WRAP,
    ORACLE_WRAPPED_KEY, decode_header, parse_query, stream_key, with_aad,
};

/// The streaming routes, as logs and metrics name them.
pub const SEAL_ROUTE: &str = "/oracleinvocation/stream";
/// See [`SEAL_ROUTE`].
pub const OPEN_ROUTE: &str = "/decrypt/stream";

/// Which streaming endpoint `path` is, if it is one.
#[must_use]
pub fn direction_of(path: &str) -> Option<Direction> {
    match path.strip_suffix('/').unwrap_or(path) {
        SEAL_ROUTE => Some(Direction::Seal),
        OPEN_ROUTE => Some(Direction::Open),
        _ => None,
    }
}

/// Checks what the headers and query alone say about a streaming request, before a byte of
/// the body is read (also the `Expect: 100-continue` handler's check): an upgrade, a body that
/// is not raw bytes, an announced length over `--max-stream`, a bad query. Returns the
/// announced length.
///
/// # Errors
///
/// The refusal the request earns.
pub fn check_head(
    headers: &HeaderMap,
    query: &str,
    direction: Direction,
    max_stream: u64,
) -> Result<Option<u64>, HttpError> {
    if headers.contains_key(header::UPGRADE) {
        return Err(HttpError::Upgrade);
    }
    let identity = headers
        .get_all(header::CONTENT_ENCODING)
        .all(|value| value.as_bytes().eq_ignore_ascii_case(b"identity"));
    let mut types = headers.get_all(header::CONTENT_TYPE);
    let octets = match (types.next(), types.next()) {
        (None, _) => true,
        (Some(value), None) => value
            .to_str()
            .ok()
            .and_then(|value| value.parse::<mime::Mime>().ok())
            .is_some_and(|mime| mime.essence_str() == mime::APPLICATION_OCTET_STREAM.essence_str()),
        (Some(_), Some(_)) => false,
    };
    if !identity || !octets {
        return Err(HttpError::NotOctetStream);
    }
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > max_stream) {
        return Err(HttpError::StreamTooLarge { limit: max_stream });
    }
    parse_query(query, direction).map_err(Error::from)?;
    Ok(announced)
}

/// What a seal request asks for: its announced length, the options, and the recipient.
fn seal_request(
    req: &HttpRequest,
    limits: BodyLimits,
) -> Result<(Option<u64>, StreamOptions, Option<Recipient>), HttpError> {
    let announced = check_head(
        req.headers(),
        req.query_string(),
        Direction::Seal,
        limits.max_stream,
    )?;
    let options = options(req, Direction::Seal)?;
    let recipient = decode_header(
        ORACLE_RECIPIENT,
        header_values(req.headers(), ORACLE_RECIPIENT),
    )
    .map_err(Error::from)?
    .map(|der| Recipient::from_der(&der).map_err(Error::Recipient))
    .transpose()?;
    Ok((announced, options, recipient))
}

/// What an open request asks for: the options and the key.
fn open_request(req: &HttpRequest, limits: BodyLimits) -> Result<(StreamOptions, Key), HttpError> {
    check_head(
        req.headers(),
        req.query_string(),
        Direction::Open,
        limits.max_stream,
    )?;
    let options = options(req, Direction::Open)?;
    let key = decode_header(ORACLE_KEY, header_values(req.headers(), ORACLE_KEY))
        .and_then(|decoded| stream_key(decoded, options.format))
        .map_err(Error::from)?;
    Ok((options, key))
}

/// A refusal before the stream: the body is read and thrown away first, up to twice
/// `--max-body` (as the JSON endpoints do), so that the answer reaches an HTTP/2 client as a
/// clean response (curl 7.88 reports a stream error instead of the status when the answer
/// comes before the body is consumed). A body announced as larger, or an upgrade, is not read.
async fn refuse(
    err: HttpError,
    req: &HttpRequest,
    payload: &mut web::Payload,
    limits: BodyLimits,
) -> HttpError {
    let budget = limits.max_body.saturating_mul(2) as u64;
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if !matches!(err, HttpError::Upgrade) && announced.is_none_or(|length| length <= budget) {
        discard(payload, limits, budget).await;
    }
    err
}

/// Reads and drops the body until its end, `budget` bytes, an error or a stall.
async fn discard(payload: &mut web::Payload, limits: BodyLimits, budget: u64) {
    let mut read = 0u64;
    while read <= budget {
        let next = poll_fn(|cx| Pin::new(&mut *payload).poll_next(cx));
        match tokio::time::timeout(limits.body_timeout, next).await {
            Ok(Some(Ok(chunk))) => read += chunk.len() as u64,
            _ => return,
        }
    }
}

/// The options a request asks for: the query, and `Oracle-Aad`.
fn options(req: &HttpRequest, direction: Direction) -> Result<StreamOptions, HttpError> {
    let options = parse_query(req.query_string(), direction).map_err(Error::from)?;
    let aad =
        decode_header(ORACLE_AAD, header_values(req.headers(), ORACLE_AAD)).map_err(Error::from)?;
    Ok(with_aad(options, aad).map_err(Error::from)?)
}

fn header_values<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a [u8]> {
    headers.get_all(name).map(HeaderValue::as_bytes)
}

/// A response header value of base64 that is ours (never fails: base64 is visible ASCII),
/// marked sensitive: HTTP/2 never indexes it for compression, and `Debug` hides it.
fn base64_value(bytes: &[u8]) -> HeaderValue {
    let mut value = HeaderValue::from_str(&STANDARD.encode(bytes))
        .unwrap_or_else(|_| unreachable!("base64 is a valid header value"));
    value.set_sensitive(true);
    value
}

#[utoipa::path(post, path = "/oracleinvocation/stream", tag = "oracle",
    params(
        ("format" = Option<String>, Query, description = "`aes128gcm` (RFC 8188, the default) or `aes256gcm-hkdf-1mb` (Tink's streaming AEAD, AES256_GCM_HKDF_1MB)"),
        ("rs" = Option<u32>, Query, description = "aes128gcm only: the record size, 18 to 16777216, default 65536"),
        ("Oracle-Aad" = Option<String>, Header, description = "aes256gcm-hkdf-1mb only: associated data, standard base64"),
        ("Oracle-Recipient" = Option<String>, Header, description = "Wrap the stream key for this public key: standard base64 of a DER SubjectPublicKeyInfo (RSA or X25519)"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "Clear text of any length, with Content-Length or chunked"),
    responses(
        (status = 200, description = "The stream, sealed under a fresh key, streamed as it is sealed. The key is in `Oracle-Key` (standard base64: 16 bytes for aes128gcm, 32 for aes256gcm-hkdf-1mb), or wrapped in `Oracle-Wrapped-Key` with `Oracle-Wrap` for a recipient; `Oracle-Format` names the format. With a Content-Length request the response announces its exact length. An upload that breaks off aborts the response (no clean end).",
            content_type = "application/octet-stream"),
        crate::http::handlers::BodyErrors))]
/// Encrypt a stream of any size under a fresh key, in RFC 8188 `aes128gcm` or Tink's
/// streaming AEAD format.
pub(crate) async fn seal(
    req: HttpRequest,
    mut payload: web::Payload,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, HttpError> {
    let limits = req.app_data::<BodyLimits>().copied().unwrap_or_default();
    let (announced, options, recipient) = match seal_request(&req, limits) {
        Ok(request) => request,
        Err(err) => return Err(refuse(err, &req, &mut payload, limits).await),
    };
    let key = Key::generate(options.format.key_size());
    let sealer = StreamSealer::new(&key, &options).map_err(Error::from)?;

    let mut response = HttpResponse::Ok();
    response
        .content_type(mime::APPLICATION_OCTET_STREAM)
        .insert_header((ORACLE_FORMAT, options.format.name()));
    match recipient {
        Some(recipient) => {
            let wrapped = match recipient.wrap_key(&key) {
                Ok(wrapped) => wrapped,
                Err(err) => {
                    return Err(
                        refuse(Error::Recipient(err).into(), &req, &mut payload, limits).await,
                    );
                }
            };
            response
                .insert_header((ORACLE_WRAPPED_KEY, base64_value(&wrapped)))
                .insert_header((ORACLE_WRAP, recipient.wrap().name()));
        }
        None => {
            response.insert_header((ORACLE_KEY, base64_value(key.as_bytes())));
        }
    }
    drop(key);
    if let Some(length) = announced.and_then(|length| options.sealed_len(length)) {
        response.no_chunking(length);
    }
    let counters = metrics.stream_counters(SEAL_ROUTE, options.format.name());
    let body = Records {
        upload: Upload::new(payload, limits, counters.0),
        work: Some(sealer),
        first: None,
        bytes_out: counters.1,
        ended: Ended::new(metrics, SEAL_ROUTE, options.format),
    };
    Ok(response.streaming(body))
}

#[utoipa::path(post, path = "/decrypt/stream", tag = "oracle",
    params(
        ("format" = Option<String>, Query, description = "`aes128gcm` (the default) or `aes256gcm-hkdf-1mb`"),
        ("Oracle-Key" = String, Header, description = "The stream key, standard base64"),
        ("Oracle-Aad" = Option<String>, Header, description = "aes256gcm-hkdf-1mb only: the associated data, standard base64"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "A stream in the format named"),
    responses(
        (status = 200, description = "The clear text, streamed record by record as each authenticates. Released records are authentic, but the whole is known to be complete only at a clean end of the response: a later record that does not authenticate, a truncated stream or data after the last record abort it.",
            content_type = "application/octet-stream"),
        crate::http::handlers::BodyErrors))]
/// Decrypt a stream: a bad header, a wrong key or a first record that does not authenticate
/// is a JSON error (`decryption_failed`) before any clear text.
pub(crate) async fn open(
    req: HttpRequest,
    mut payload: web::Payload,
    metrics: web::Data<Metrics>,
) -> Result<HttpResponse, HttpError> {
    let limits = req.app_data::<BodyLimits>().copied().unwrap_or_default();
    let (options, key) = match open_request(&req, limits) {
        Ok(request) => request,
        Err(err) => return Err(refuse(err, &req, &mut payload, limits).await),
    };
    let opener = StreamOpener::new(&key, &options).map_err(Error::from)?;
    drop(key);

    let counters = metrics.stream_counters(OPEN_ROUTE, options.format.name());
    let mut body = Records {
        upload: Upload::new(payload, limits, counters.0),
        work: Some(opener),
        first: None,
        bytes_out: counters.1,
        ended: Ended::new(metrics, OPEN_ROUTE, options.format),
    };
    // The first record is opened before the answer: until it authenticates, any failure is
    // a JSON error rather than an aborted stream.
    match poll_fn(|cx| body.poll_first_record(cx)).await {
        Ok(first) => body.first = Some(first),
        Err(err) => {
            body.ended.outcome = Some("refused");
            return Err(refuse(err, &req, &mut body.upload.payload, limits).await);
        }
    }
    Ok(HttpResponse::Ok()
        .content_type(mime::APPLICATION_OCTET_STREAM)
        .insert_header((ORACLE_FORMAT, options.format.name()))
        .streaming(body))
}

/// The request body, read with the stall timeout and `--max-stream`.
struct Upload {
    payload: web::Payload,
    timeout: Duration,
    stall: Pin<Box<tokio::time::Sleep>>,
    read: u64,
    max: u64,
    bytes_in: IntCounter,
}

impl Upload {
    fn new(payload: web::Payload, limits: BodyLimits, bytes_in: IntCounter) -> Self {
        Self {
            payload,
            timeout: limits.body_timeout,
            stall: Box::pin(tokio::time::sleep(limits.body_timeout)),
            read: 0,
            max: limits.max_stream,
            bytes_in,
        }
    }

    /// The next piece of the body, `None` at its end. Empty pieces (HTTP/2 DATA frames with
    /// no bytes) do not restart the stall clock.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, HttpError>> {
        loop {
            match Pin::new(&mut self.payload).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) if chunk.is_empty() => {}
                Poll::Ready(Some(Ok(chunk))) => {
                    self.read += chunk.len() as u64;
                    if self.read > self.max {
                        return Poll::Ready(Err(HttpError::StreamTooLarge { limit: self.max }));
                    }
                    self.bytes_in.inc_by(chunk.len() as u64);
                    let deadline = tokio::time::Instant::now() + self.timeout;
                    self.stall.as_mut().reset(deadline);
                    return Poll::Ready(Ok(Some(chunk)));
                }
                Poll::Ready(Some(Err(err))) => {
                    return Poll::Ready(Err(HttpError::BodyRead(err.to_string())));
                }
                Poll::Ready(None) => return Poll::Ready(Ok(None)),
                Poll::Pending => {
                    if self.stall.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(HttpError::BodyTimeout {
                            after: self.timeout,
                        }));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// The response body: records (or clear text) as the upload yields them, through a
/// [`StreamSealer`] or a [`StreamOpener`], which is `None` once it has finished or failed.
struct Records<L> {
    upload: Upload,
    work: Option<L>,
    /// The clear text of the first record, opened before the answer.
    first: Option<Vec<u8>>,
    bytes_out: IntCounter,
    ended: Ended,
}

impl<L: RecordLoop> Records<L> {
    /// Takes the next piece of the upload (`None` at its end) through the loop.
    fn step(&mut self, chunk: Option<&[u8]>) -> Result<Vec<u8>, HttpError> {
        let mut out = Vec::new();
        step(&mut self.work, chunk, &mut out).map_err(Error::from)?;
        Ok(out)
    }
}

impl Records<StreamOpener> {
    /// Reads until the first record has authenticated (or the stream has ended) and returns
    /// its clear text.
    fn poll_first_record(&mut self, cx: &mut Context<'_>) -> Poll<Result<Vec<u8>, HttpError>> {
        let mut opened = Vec::new();
        loop {
            let chunk = match self.upload.poll_chunk(cx) {
                Poll::Pending if opened.is_empty() => return Poll::Pending,
                // Clear text already taken out of the opener must not be lost.
                Poll::Pending => return Poll::Ready(Ok(opened)),
                Poll::Ready(chunk) => chunk?,
            };
            let out = self.step(chunk.as_deref())?;
            if opened.is_empty() {
                opened = out;
            } else {
                opened.extend_from_slice(&out);
            }
            let first_opened = self
                .work
                .as_ref()
                .is_none_or(|opener| opener.records_opened() > 0);
            if first_opened {
                return Poll::Ready(Ok(opened));
            }
        }
    }
}

impl<L: RecordLoop + Unpin> Stream for Records<L> {
    type Item = Result<Bytes, HttpError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(first) = this.first.take().filter(|first| !first.is_empty()) {
            this.bytes_out.inc_by(first.len() as u64);
            return Poll::Ready(Some(Ok(Bytes::from(first))));
        }
        while this.work.is_some() {
            let stepped = match this.upload.poll_chunk(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(chunk)) => this.step(chunk.as_deref()),
                Poll::Ready(Err(err)) => {
                    this.work = None;
                    Err(err)
                }
            };
            match stepped {
                Ok(out) if out.is_empty() => {}
                Ok(out) => {
                    this.bytes_out.inc_by(out.len() as u64);
                    return Poll::Ready(Some(Ok(Bytes::from(out))));
                }
                Err(err) => {
                    this.ended.outcome = Some("aborted");
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
        this.ended.outcome.get_or_insert("complete");
        Poll::Ready(None)
    }
}

/// Counts the stream's end in the metrics when the body is dropped, however it ended; a body
/// dropped before its end (the client went away) is `aborted`.
struct Ended {
    metrics: web::Data<Metrics>,
    route: &'static str,
    format: StreamFormat,
    outcome: Option<&'static str>,
}

impl Ended {
    fn new(metrics: web::Data<Metrics>, route: &'static str, format: StreamFormat) -> Self {
        Self {
            metrics,
            route,
            format,
            outcome: None,
        }
    }
}

impl Drop for Ended {
    fn drop(&mut self) {
        let outcome = self.outcome.unwrap_or("aborted");
        if outcome != "refused" {
            self.metrics
                .observe_stream(self.route, self.format.name(), outcome);
        }
    }
}
