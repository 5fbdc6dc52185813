//! The HTTP error: what a request can fail with once it is HTTP — the library's [`Error`], and
//! what only HTTP has (no such route, a body too large, too slow or of the wrong type, a busy
//! key-pair pool) — and the one place that maps each to a status and a
//! `{"error": "...", "code": "..."}` JSON body.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};

use crate::oracle::error::Error;
use crate::wire::envelope::EnvelopeError;
use crate::wire::json::{ErrorBody, JsonError};

/// Everything an HTTP request to the service can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// What the oracle itself refused.
    #[error(transparent)]
    Oracle(#[from] Error),
    /// Too many key pairs are being generated at once; retry shortly.
    #[error("too many key pairs are being generated right now; retry in a moment")]
    KeygenBusy,
    /// The request's `Content-Type` is not `application/json`.
    #[error("send the body as uncompressed JSON with one header `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// A streaming request's body is not raw bytes.
    #[error(
        "send the stream as uncompressed bytes, with no `Content-Type` or `Content-Type: application/octet-stream`"
    )]
    NotOctetStream,
    /// A stream is larger than the configured `--max-stream`.
    #[error("the stream is larger than the limit of {limit} bytes")]
    StreamTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The body is larger than the configured limit.
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The client stopped sending the body before it was complete.
    #[error("no body bytes arrived for {} ms; send the whole body without stalling", .after.as_millis())]
    BodyTimeout {
        /// The configured body timeout.
        after: core::time::Duration,
    },
    /// The body could not be read (broken chunked encoding, truncated upload).
    #[error("the request body could not be read: {0}")]
    BodyRead(String),
    /// The request asks to upgrade the connection (`Upgrade`), which the service never does.
    #[error(
        "this service upgrades nothing (no WebSocket, no h2c): send the request without an `Upgrade` header"
    )]
    Upgrade,
    /// No such path.
    #[error("no such endpoint; see GET / for the list")]
    NotFound,
    /// The path exists but not for this method.
    #[error("this endpoint only accepts {allow}")]
    MethodNotAllowed {
        /// The methods the endpoint accepts, for the `Allow` header.
        allow: &'static str,
    },
}

impl HttpError {
    /// The stable, machine-readable code sent as `"code"`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Oracle(err) => err.code(),
            Self::KeygenBusy => "keygen_busy",
            Self::UnsupportedMediaType | Self::NotOctetStream => "unsupported_media_type",
            Self::StreamTooLarge { .. } => "payload_too_large",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BodyTimeout { .. } => "body_timeout",
            Self::BodyRead(_) => "invalid_body",
            Self::Upgrade => "invalid_request",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }

    /// The HTTP status code this error is answered with.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::Oracle(err) => Self::status_of(err),
            Self::BodyRead(_) | Self::Upgrade => 400,
            Self::NotFound => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::BodyTimeout { .. } => 408,
            Self::PayloadTooLarge { .. } | Self::StreamTooLarge { .. } => 413,
            Self::UnsupportedMediaType | Self::NotOctetStream => 415,
            Self::KeygenBusy => 503,
        }
    }

    /// The JSON body for this error.
    #[must_use]
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.to_string(),
            code: self.code().to_owned(),
        }
    }
}

impl HttpError {
    /// The status the library's error is answered with.
    #[must_use]
    pub fn status_of(err: &Error) -> u16 {
        match err {
            Error::TooManyItems { .. } => 413,
            Error::Stream(crate::crypto::stream::StreamError::TooLong) => 413,
            Error::PlaintextNotUtf8 => 422,
            Error::KeygenFailed(_) => 500,
            // Everything else is a request the client can fix: bad JSON, base64, lengths, a
            // recipient that cannot be used, a message that does not authenticate.
            _ => 400,
        }
    }
}

impl From<JsonError> for HttpError {
    fn from(err: JsonError) -> Self {
        Self::Oracle(err.into())
    }
}

#[cfg(feature = "recipient")]
impl From<crate::keys::keypair::KeygenFailed> for HttpError {
    fn from(err: crate::keys::keypair::KeygenFailed) -> Self {
        Self::Oracle(err.into())
    }
}

impl From<EnvelopeError> for HttpError {
    fn from(err: EnvelopeError) -> Self {
        Self::Oracle(err.into())
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(ContentType::json());
        match self {
            Self::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, *allow));
            }
            Self::KeygenBusy => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            // The rest of the body is still on the wire (or never coming): close the
            // connection rather than try to read past it.
            Self::PayloadTooLarge { .. }
            | Self::BodyTimeout { .. }
            | Self::BodyRead(_)
            | Self::Upgrade => {
                response.force_close();
            }
            _ => {}
        }
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        response.body(body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::wire::envelope::Field;

    #[test]
    fn each_error_has_its_status_and_code() {
        let cases = [
            (
                HttpError::from(JsonError::Malformed("x".into())),
                400,
                "malformed_json",
            ),
            (
                JsonError::Invalid("x".into()).into(),
                400,
                "invalid_request",
            ),
            (
                JsonError::TooManyItems { limit: 1 }.into(),
                413,
                "too_many_items",
            ),
            (
                EnvelopeError::InvalidBase64 { field: Field::Key }.into(),
                400,
                "invalid_base64",
            ),
            (Error::PlaintextNotUtf8.into(), 422, "plaintext_not_utf8"),
            (
                HttpError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (
                HttpError::PayloadTooLarge { limit: 1 },
                413,
                "payload_too_large",
            ),
            (HttpError::NotFound, 404, "not_found"),
            (
                HttpError::MethodNotAllowed { allow: "POST" },
                405,
                "method_not_allowed",
            ),
            (HttpError::KeygenBusy, 503, "keygen_busy"),
            (HttpError::Upgrade, 400, "invalid_request"),
            (HttpError::NotOctetStream, 415, "unsupported_media_type"),
            (
                HttpError::StreamTooLarge { limit: 1 },
                413,
                "payload_too_large",
            ),
            (
                Error::Stream(crate::crypto::stream::StreamError::DecryptionFailed).into(),
                400,
                "decryption_failed",
            ),
            (
                Error::StreamRequest(crate::wire::stream::StreamRequestError::MissingKey).into(),
                400,
                "invalid_request",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!((err.status(), err.code()), (status, code), "{err}");
            assert_eq!(err.status_code().as_u16(), status);
        }
    }

    #[test]
    fn body_is_error_and_code() {
        let body = serde_json::to_value(HttpError::NotFound.body()).unwrap();
        assert_eq!(body["code"], "not_found");
        assert_eq!(body.as_object().unwrap().len(), 2);
    }
}
