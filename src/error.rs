//! The service's one error enum, and the single place that maps an error to a status and a
//! `{"error": "...", "code": "..."}` JSON body.
//!
//! Messages say what to do and never contain clear text or key material.

use serde::{Deserialize, Serialize};

use crate::envelope::EnvelopeError;

/// Everything a request to the oracle can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is not syntactically valid JSON (or not UTF-8).
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The body is JSON but not the shape this endpoint takes: a missing, unknown, duplicate or
    /// wrongly-typed field.
    #[error("the JSON body does not match this endpoint's schema: {0}")]
    InvalidRequest(String),
    /// A field is not standard padded base64, or has the wrong decoded length.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// A `recipient` public key that cannot be wrapped for.
    #[cfg(feature = "recipient")]
    #[error(transparent)]
    Recipient(crate::recipient::RecipientError),
    /// The crypto library failed to generate a key pair.
    #[cfg(feature = "recipient")]
    #[error(transparent)]
    KeygenFailed(#[from] crate::keypair::KeygenFailed),
    /// Too many key pairs are being generated at once; retry shortly.
    #[error("too many key pairs are being generated right now; retry in a moment")]
    KeygenBusy,
    /// The decrypted bytes are not UTF-8, so they cannot be returned as a JSON string.
    #[error(
        "the decrypted data is binary, not UTF-8 text: ask for it as base64 with \"encoding\": \"base64\""
    )]
    PlaintextNotUtf8,
    /// The request's `Content-Type` is not `application/json`.
    #[error("send the body as uncompressed JSON with one header `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// The body is larger than the configured limit.
    #[error("the body is larger than the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A batch holds more items than the configured limit.
    #[error("the batch holds more than the limit of {limit} items; split it")]
    TooManyItems {
        /// The limit.
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

/// The JSON body of every error response.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// One sentence a person can act on.
    pub error: String,
    /// A stable `snake_case` identifier, for programs.
    pub code: String,
}

impl Error {
    /// The stable, machine-readable code sent as `"code"`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "malformed_json",
            Self::InvalidRequest(_) => "invalid_request",
            Self::Envelope(err) => envelope_code(err),
            #[cfg(feature = "recipient")]
            Self::Recipient(err) => recipient_code(err),
            Self::KeygenBusy => "keygen_busy",
            #[cfg(feature = "recipient")]
            Self::KeygenFailed(_) => "keygen_failed",
            Self::PlaintextNotUtf8 => "plaintext_not_utf8",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::TooManyItems { .. } => "too_many_items",
            Self::BodyTimeout { .. } => "body_timeout",
            Self::BodyRead(_) => "invalid_body",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }

    /// The HTTP status code this error is answered with.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::MalformedJson(_)
            | Self::InvalidRequest(_)
            | Self::Envelope(_)
            | Self::BodyRead(_) => 400,
            #[cfg(feature = "recipient")]
            Self::Recipient(_) => 400,
            Self::NotFound => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::BodyTimeout { .. } => 408,
            Self::PayloadTooLarge { .. } | Self::TooManyItems { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::PlaintextNotUtf8 => 422,
            Self::KeygenBusy => 503,
            #[cfg(feature = "recipient")]
            Self::KeygenFailed(_) => 500,
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

    /// Classifies a `serde_json` error: syntax problems are malformed JSON, the rest are schema
    /// mismatches. String values that serde quotes in its message are cut out, since a body
    /// like `"my secret"` would otherwise be echoed back.
    #[must_use]
    pub fn from_json(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match err.classify() {
            Category::Syntax | Category::Eof | Category::Io => Self::MalformedJson(err.to_string()),
            Category::Data => Self::InvalidRequest(redact_values(&err.to_string())),
        }
    }
}

fn envelope_code(err: &EnvelopeError) -> &'static str {
    match err {
        EnvelopeError::InvalidBase64 { .. } => "invalid_base64",
        EnvelopeError::InvalidLength { .. } => "invalid_length",
        EnvelopeError::Missing { .. } | EnvelopeError::Ambiguous => "invalid_request",
        EnvelopeError::Wrapped => "key_wrapped",
        EnvelopeError::DecryptionFailed(_) => "decryption_failed",
    }
}

#[cfg(feature = "recipient")]
fn recipient_code(err: &crate::recipient::RecipientError) -> &'static str {
    use crate::recipient::RecipientError;
    match err {
        RecipientError::InvalidPublicKey => "invalid_recipient",
        RecipientError::UnsupportedPublicKey { .. } => "unsupported_recipient",
        RecipientError::UnusablePublicKey(_) => "invalid_recipient",
        RecipientError::InvalidPrivateKey => "invalid_private_key",
        RecipientError::WrongKeyType { .. } => "wrong_key_type",
        RecipientError::NotWrapped => "not_wrapped",
        RecipientError::Envelope(err) => envelope_code(err),
    }
}

#[cfg(feature = "recipient")]
impl From<crate::recipient::RecipientError> for Error {
    fn from(err: crate::recipient::RecipientError) -> Self {
        match err {
            crate::recipient::RecipientError::Envelope(err) => Self::Envelope(err),
            other => Self::Recipient(other),
        }
    }
}

impl Error {
    /// As [`Error::from_json`], naming the field at `path` (`key_bits`, `items[2].data`) in
    /// schema errors. `path` is `.` for the top level.
    #[must_use]
    pub fn from_json_at(path: &str, err: &serde_json::Error) -> Self {
        match Self::from_json(err) {
            Self::InvalidRequest(message) if path != "." && !path.is_empty() => {
                // The path is made of the body's own keys: show it only if it is made of names
                // (and `[n]` array indices).
                let shown = strip_indices(path)
                    .split('.')
                    .all(|part| part.is_empty() || is_identifier(part));
                if shown {
                    Self::InvalidRequest(format!("field `{path}`: {message}"))
                } else {
                    Self::InvalidRequest(message)
                }
            }
            other => other,
        }
    }
}

/// Removes the values serde quotes in its messages, so a body like `{"data": 987654321}` or
/// `"my secret"` is never echoed back or logged. Backticked names that look like identifiers
/// (`data`, `key_bits`, `utf-8`) are kept: they are what the reader needs to fix the request.
fn redact_values(message: &str) -> String {
    const VALUE_KINDS: [&str; 5] = ["string", "integer", "floating point", "char", "bytes"];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(['`', '"']) {
        let quote = rest[start..].chars().next().unwrap_or('`');
        let Some(len) = rest[start + 1..].find(quote) else {
            break;
        };
        let (before, quoted) = (&rest[..start], &rest[start + 1..start + 1 + len]);
        let is_value = VALUE_KINDS
            .iter()
            .any(|kind| before.ends_with(&format!("{kind} ")));
        if is_value {
            out.push_str(before.trim_end());
        } else if is_identifier(quoted) {
            out.push_str(&rest[..start + len + 2]);
        } else {
            out.push_str(before);
            out.push_str("`(not shown)`");
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

/// `items[2].data` → `items.data`: array indices are not part of the body's text.
fn strip_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' if in_index => {
                in_index = false;
                out.push('.');
            }
            c if in_index && c.is_ascii_digit() => {}
            // Anything else inside brackets is not an index: keep it, so the check refuses it.
            c => {
                if in_index {
                    out.push('[');
                    in_index = false;
                }
                out.push(c);
            }
        }
    }
    out
}

/// A short name made of letters, digits, `_` and `-`, not all digits: a field or option name.
fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-'))
        && !text.bytes().all(|byte| byte.is_ascii_digit())
}

#[cfg(feature = "server")]
mod response {
    use actix_web::http::StatusCode;
    use actix_web::http::header::{self, ContentType};
    use actix_web::{HttpResponse, ResponseError};

    use super::Error;

    impl ResponseError for Error {
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
                Self::PayloadTooLarge { .. } | Self::BodyTimeout { .. } | Self::BodyRead(_) => {
                    response.force_close();
                }
                _ => {}
            }
            let body = serde_json::to_vec(&self.body()).unwrap_or_default();
            response.body(body)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::envelope::{EnvelopeError, Field};

    #[test]
    fn syntax_errors_are_malformed_json() {
        let err = serde_json::from_str::<serde_json::Value>("{\"data\": ").unwrap_err();
        let err = Error::from_json(&err);
        assert_eq!((err.status(), err.code()), (400, "malformed_json"));
    }

    #[test]
    fn schema_errors_are_invalid_request() {
        let err = serde_json::from_str::<crate::EncryptRequest>(r#"{"data": 5}"#).unwrap_err();
        let err = Error::from_json(&err);
        assert_eq!((err.status(), err.code()), (400, "invalid_request"));
    }

    #[test]
    fn schema_errors_never_echo_values_or_odd_field_names() {
        for body in [
            r#"{"data": 987654321}"#,
            r#"{"data": 98765.4321}"#,
            r#"{"data": "x", "my secret key": 1}"#,
            r#"{"data": "x", "987654321": 1}"#,
        ] {
            let err = serde_json::from_str::<crate::EncryptRequest>(body).unwrap_err();
            let message = Error::from_json_at("data", &err).to_string();
            for secret in ["98765", "my secret"] {
                assert!(!message.contains(secret), "{body}: {message}");
            }
        }
        let err = serde_json::from_str::<crate::EncryptRequest>(r#"{"data": "x", "add": 1}"#)
            .unwrap_err();
        let message = Error::from_json(&err).to_string();
        assert!(message.contains("unknown field `add`"), "{message}");
        assert!(message.contains("`aad`"), "{message}");
    }

    #[test]
    fn schema_errors_never_echo_a_string_value() {
        let err = serde_json::from_str::<crate::EncryptRequest>(r#""my secret""#).unwrap_err();
        let message = Error::from_json(&err).to_string();
        assert!(!message.contains("my secret"), "{message}");
        assert!(
            message.contains("invalid type: string, expected"),
            "{message}"
        );
    }

    #[test]
    fn envelope_errors_keep_their_own_codes() {
        let err = Error::from(EnvelopeError::InvalidBase64 { field: Field::Key });
        assert_eq!(err.code(), "invalid_base64");
        assert!(err.to_string().contains("`key`"));
    }

    #[test]
    fn body_is_error_and_code() {
        let body = serde_json::to_value(Error::NotFound.body()).unwrap();
        assert_eq!(body["code"], "not_found");
        assert_eq!(body.as_object().unwrap().len(), 2);
    }
}
