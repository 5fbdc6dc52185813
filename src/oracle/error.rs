//! The library's error: everything one request to the oracle can fail with, whatever carries
//! it. It wraps the errors of the layers below (JSON, envelopes, recipients) and gives each a
//! stable `code`. The HTTP layer wraps it in turn, adding the status and what only HTTP can
//! go wrong (`http::HttpError`).
//!
//! Messages say what to do and never contain clear text or key material.

use crate::crypto::stream::StreamError;
use crate::wire::batch::BatchItem;
use crate::wire::envelope::EnvelopeError;
use crate::wire::json::{ErrorBody, JsonError};

/// Everything one request to the oracle can fail with, without HTTP (see `http::HttpError`
/// for the status codes and the errors only HTTP has).
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
    Recipient(crate::keys::recipient::RecipientError),
    /// The crypto library failed to generate a key pair.
    #[cfg(feature = "recipient")]
    #[error(transparent)]
    KeygenFailed(#[from] crate::keys::keypair::KeygenFailed),
    /// The decrypted bytes are not UTF-8, so they cannot be returned as a JSON string.
    #[error(
        "the decrypted data is binary, not UTF-8 text: ask for it as base64 with \"encoding\": \"base64\""
    )]
    PlaintextNotUtf8,
    /// A streaming request's query parameter or `Oracle-*` header cannot be used.
    #[error(transparent)]
    StreamRequest(#[from] crate::wire::stream::StreamRequestError),
    /// A stream could not be sealed or opened.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// A batch holds more items than the configured limit.
    #[error("the batch holds more than the limit of {limit} items; split it")]
    TooManyItems {
        /// The limit.
        limit: usize,
    },
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
            #[cfg(feature = "recipient")]
            Self::KeygenFailed(_) => "keygen_failed",
            Self::PlaintextNotUtf8 => "plaintext_not_utf8",
            Self::TooManyItems { .. } => "too_many_items",
            Self::StreamRequest(err) => err.code(),
            Self::Stream(err) => stream_code(err),
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

    /// Classifies a `serde_json` error as [`JsonError::from_serde`] does.
    #[must_use]
    pub fn from_json(err: &serde_json::Error) -> Self {
        JsonError::from_serde(err).into()
    }

    /// As [`Error::from_json`], naming the field at `path` (`key_bits`, `items[2].data`) in
    /// schema errors. `path` is `.` for the top level.
    #[must_use]
    pub fn from_json_at(path: &str, err: &serde_json::Error) -> Self {
        JsonError::from_serde_at(path, err).into()
    }
}

impl From<JsonError> for Error {
    fn from(err: JsonError) -> Self {
        match err {
            JsonError::Malformed(message) => Self::MalformedJson(message),
            JsonError::Invalid(message) => Self::InvalidRequest(message),
            JsonError::TooManyItems { limit } => Self::TooManyItems { limit },
        }
    }
}

impl<T> From<Result<T, Error>> for BatchItem<T> {
    fn from(result: Result<T, Error>) -> Self {
        match result {
            Ok(value) => Self::Ok(value),
            Err(err) => Self::Err(err.body()),
        }
    }
}

fn stream_code(err: &StreamError) -> &'static str {
    match err {
        // Not authentic in full, whatever the way: one code, as for envelopes.
        StreamError::DecryptionFailed => "decryption_failed",
        StreamError::KeyLength { .. } => "invalid_length",
        StreamError::TooLong => "payload_too_large",
        StreamError::Io(_) => "invalid_body",
        _ => "invalid_request",
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
fn recipient_code(err: &crate::keys::recipient::RecipientError) -> &'static str {
    use crate::keys::recipient::RecipientError;
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
impl From<crate::keys::recipient::RecipientError> for Error {
    fn from(err: crate::keys::recipient::RecipientError) -> Self {
        match err {
            crate::keys::recipient::RecipientError::Envelope(err) => Self::Envelope(err),
            other => Self::Recipient(other),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::wire::envelope::Field;

    #[test]
    fn json_errors_keep_their_messages_and_codes() {
        let err = serde_json::from_str::<serde_json::Value>("{\"data\": ").unwrap_err();
        let (json, error) = (JsonError::from_serde(&err), Error::from_json(&err));
        assert_eq!(
            (error.code(), error.to_string()),
            (json.code(), json.to_string())
        );
        let err = Error::from(JsonError::TooManyItems { limit: 3 });
        assert_eq!(err.code(), "too_many_items");
    }

    #[test]
    fn envelope_errors_keep_their_own_codes() {
        let err = Error::from(EnvelopeError::InvalidBase64 { field: Field::Key });
        assert_eq!(err.code(), "invalid_base64");
        assert!(err.to_string().contains("`key`"));
    }

    #[test]
    fn body_is_error_and_code() {
        let body = serde_json::to_value(Error::PlaintextNotUtf8.body()).unwrap();
        assert_eq!(body["code"], "plaintext_not_utf8");
        assert_eq!(body.as_object().unwrap().len(), 2);
    }

    #[test]
    fn batch_items_carry_the_error_body() {
        let item: BatchItem<()> = Err(Error::PlaintextNotUtf8).into();
        assert_eq!(item.into_result().unwrap_err().code, "plaintext_not_utf8");
    }
}
