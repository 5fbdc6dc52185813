//! Reading a JSON request body with a size limit and a stall timeout.
//!
//! actix-web's own `Json` extractor answers a chunked body over the limit with 400 and has no
//! timeout between body chunks, so a client could hold a connection open forever by sending
//! half a body. This extractor gives 413 for any oversized body, however it is framed, and 408
//! when no body bytes arrive for the configured time.

use core::future::Future;
use core::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;
use zeroize::Zeroize as _;

use crate::http::error::HttpError as Error;

/// The most buffer reserved before any body bytes arrive.
const INITIAL_BUFFER: usize = 64 * 1024;

/// Limits on request bodies, shared with the handlers through app data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest accepted body, in bytes.
    pub max_body: usize,
    /// Longest wait for the next piece of a body that has started.
    pub body_timeout: Duration,
    /// Largest stream accepted by the streaming endpoints, in bytes.
    pub max_stream: u64,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            // 8 MiB: room for multi-megabyte documents while bounding per-request memory.
            max_body: 8 * 1024 * 1024,
            // 10 s: far longer than any healthy client pauses mid-body, short enough that
            // stalled connections cannot pile up.
            body_timeout: Duration::from_secs(10),
            // 64 GiB: what GCM itself allows in one message, as a sane bound on one stream.
            max_stream: 64 << 30,
        }
    }
}

/// A request body that was `application/json`, within the limits, and deserialized into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = JsonBytes::from_request(req, payload);
        Box::pin(async move {
            let JsonBytes(mut body) = body.await?;
            let parsed = parse_object(&body).map(JsonBody).map_err(Error::from);
            // The body holds clear text or a key: wipe our copy before it is freed.
            body.zeroize();
            parsed
        })
    }
}

/// The raw bytes of an `application/json` body within the limits, not yet parsed; for
/// handlers that parse in their own way (batches, sealing in the body). The caller wipes them
/// after use. `Debug` shows only the length.
pub struct JsonBytes(pub Vec<u8>);

impl core::fmt::Debug for JsonBytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JsonBytes")
            .field("len", &self.0.len())
            .finish()
    }
}

impl FromRequest for JsonBytes {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limits = req.app_data::<BodyLimits>().copied().unwrap_or_default();
        let checked = check_headers(req, limits.max_body);
        let mut payload = payload.take();
        Box::pin(async move {
            let announced = match checked {
                Headers::Accept { announced } => announced,
                Headers::Refuse(err) => {
                    discard(&mut payload, limits).await?;
                    return Err(err);
                }
                // Not worth reading: refused unread, and the connection closed with the answer.
                Headers::RefuseUnread(err) => return Err(err),
            };
            // A Content-Length is a claim, not a reason to reserve memory: the buffer starts
            // small, and grows to the announced size only once bytes arrive past it.
            let mut body = Vec::with_capacity(announced.unwrap_or(0).min(INITIAL_BUFFER));
            while let Some(chunk) = next_chunk(&mut payload, limits).await? {
                if body.len() + chunk.len() > limits.max_body {
                    let read = body.len() + chunk.len();
                    body.zeroize();
                    drop(body);
                    discard_after(&mut payload, limits, read).await?;
                    return Err(Error::PayloadTooLarge {
                        limit: limits.max_body,
                    });
                }
                reserve_zeroizing(&mut body, chunk.len(), announced);
                body.extend_from_slice(&chunk);
            }
            Ok(JsonBytes(body))
        })
    }
}

/// Makes room for `more` bytes. A growing buffer would leave copies of the clear text behind in
/// the memory it frees, and double past what is needed: it moves instead to a buffer of the
/// announced size (or twice the old one), and wipes the old one.
fn reserve_zeroizing(body: &mut Vec<u8>, more: usize, announced: Option<usize>) {
    let needed = body.len() + more;
    if needed <= body.capacity() {
        return;
    }
    let capacity = match announced {
        Some(announced) if announced >= needed => announced,
        _ => needed.max(body.capacity() * 2),
    };
    let mut bigger = Vec::with_capacity(capacity);
    bigger.extend_from_slice(body);
    body.zeroize();
    *body = bigger;
}

use crate::wire::json::parse_object;

/// The next piece of the body, `None` at its end, or an error if the client stalls for
/// longer than the body timeout or the framing is broken. Empty pieces (HTTP/2 DATA frames
/// with no bytes) are skipped and do not restart the clock: one a second would otherwise keep
/// a stalled body open for ever.
async fn next_chunk(payload: &mut Payload, limits: BodyLimits) -> Result<Option<Bytes>, Error> {
    let deadline = tokio::time::Instant::now() + limits.body_timeout;
    loop {
        match tokio::time::timeout_at(deadline, payload.next()).await {
            Err(_elapsed) => {
                return Err(Error::BodyTimeout {
                    after: limits.body_timeout,
                });
            }
            Ok(None) => return Ok(None),
            Ok(Some(Err(err))) => return Err(Error::BodyRead(err.to_string())),
            Ok(Some(Ok(chunk))) if chunk.is_empty() => {}
            Ok(Some(Ok(chunk))) => return Ok(Some(chunk)),
        }
    }
}

/// Reads and throws away the rest of a body that will be refused, so the refusal reaches
/// the client as a clean response (HTTP/2 clients report a stream error instead of the status
/// when the server answers before the body is consumed). Gives up after twice `max_body`.
async fn discard(payload: &mut Payload, limits: BodyLimits) -> Result<(), Error> {
    discard_after(payload, limits, 0).await
}

async fn discard_after(
    payload: &mut Payload,
    limits: BodyLimits,
    mut read: usize,
) -> Result<(), Error> {
    let budget = drain_budget(limits.max_body);
    while read <= budget {
        match next_chunk(payload, limits).await? {
            Some(chunk) => read += chunk.len(),
            None => return Ok(()),
        }
    }
    Ok(())
}

/// How many bytes of a refused body are read and discarded: twice the limit, so a body
/// somewhat over the limit still gets a clean 413, and a huge one costs bounded bandwidth.
fn drain_budget(max_body: usize) -> usize {
    max_body.saturating_mul(2)
}

/// What the headers alone say about a request.
pub(crate) enum Headers {
    /// Read the body; `announced` is its Content-Length, if given, to size the buffer.
    Accept { announced: Option<usize> },
    /// Refuse, after reading and discarding the body.
    Refuse(Error),
    /// Refuse without reading the body.
    RefuseUnread(Error),
}

fn check_headers(req: &HttpRequest, max_body: usize) -> Headers {
    check_head(req.headers(), req.query_string(), max_body)
}

/// Checks the content type, any announced length, a query string and an upgrade before
/// reading a byte of the body: what the JSON extractors do, and what the server's
/// `Expect: 100-continue` handler does before it lets a client send the body.
pub(crate) fn check_head(headers: &HeaderMap, query: &str, max_body: usize) -> Headers {
    let identity = headers
        .get_all(header::CONTENT_ENCODING)
        .all(|value| value.as_bytes().eq_ignore_ascii_case(b"identity"));
    let one_type = headers.get_all(header::CONTENT_TYPE).count() == 1;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok());
    let is_json = identity
        && one_type
        && mime.is_some_and(|mime| {
            mime.essence_str() == mime::APPLICATION_JSON.essence_str()
                && mime
                    .get_param(mime::CHARSET)
                    .is_none_or(|charset| charset == mime::UTF_8)
        });
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let too_large = Error::PayloadTooLarge { limit: max_body };
    match announced {
        // actix-http reads the body of a request that asks to upgrade until the connection
        // closes, whatever its Content-Length: answer at once, unread, and close.
        _ if headers.contains_key(header::UPGRADE) => Headers::RefuseUnread(Error::Upgrade),
        Some(length) if length > drain_budget(max_body) as u64 => Headers::RefuseUnread(too_large),
        Some(length) if length > max_body as u64 => Headers::Refuse(too_large),
        _ if !is_json => Headers::Refuse(Error::UnsupportedMediaType),
        // Everything goes in the JSON body; a query string would be silently ignored (and it
        // ends up in proxies' logs).
        _ if !query.is_empty() => {
            Headers::Refuse(Error::Oracle(crate::oracle::error::Error::InvalidRequest(
                "query parameters are not accepted: put every field in the JSON body".to_owned(),
            )))
        }
        // At most max_body here, so it fits in usize.
        announced => Headers::Accept {
            announced: announced.and_then(|length| usize::try_from(length).ok()),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::EncryptRequest;

    fn code_of(body: &str) -> &'static str {
        parse_object::<EncryptRequest>(body.as_bytes())
            .unwrap_err()
            .code()
    }

    #[test]
    fn arrays_and_scalars_are_not_requests() {
        assert_eq!(code_of(r#"["hi"]"#), "invalid_request");
        assert_eq!(code_of(r#" "hi""#), "invalid_request");
        assert_eq!(code_of("5"), "invalid_request");
    }

    #[test]
    fn broken_json_is_malformed_whatever_it_starts_with() {
        assert_eq!(code_of(r#"["hi""#), "malformed_json");
        assert_eq!(code_of("data=hi"), "malformed_json");
        assert_eq!(code_of(""), "malformed_json");
        assert_eq!(code_of("   "), "malformed_json");
    }

    #[test]
    fn errors_name_fields_but_never_echo_values_or_odd_keys() {
        for body in [
            r#"{"data": 987654321}"#,
            r#"{"data": "x", "my secret key": "y"}"#,
            r#"{"data": "x", "987654321": "y"}"#,
            r#"{"my secret key": {"data": 1}}"#,
        ] {
            let message = parse_object::<EncryptRequest>(body.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                !message.contains("98765") && !message.contains("my secret"),
                "{body}: {message}"
            );
        }
        let message = parse_object::<EncryptRequest>(br#"{"data": 5}"#)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("field `data`: invalid type: integer, expected a string"),
            "{message}"
        );
    }

    #[test]
    fn an_object_is_parsed() {
        let request: EncryptRequest = parse_object(br#" {"data": "hi"}"#).unwrap();
        assert_eq!(request.data.as_str(), "hi");
    }

    #[test]
    fn debug_shows_a_body_s_length_not_its_bytes() {
        let shown = format!("{:?}", JsonBytes(br#"{"data": "my secret"}"#.to_vec()));
        assert_eq!(shown, "JsonBytes { len: 21 }");
    }
}
