//! The streaming endpoints' contract outside the body: the `format` and `rs` query parameters
//! and the `Oracle-*` headers that carry the key, the associated data and the recipient.
//! Parsing here is strict: an unknown or repeated parameter, a value out of range or a header
//! that is not standard base64 is refused with a message that names our parameter or header
//! and never repeats what the client sent.

#[cfg(feature = "server")]
use base64::Engine as _;
#[cfg(feature = "server")]
use base64::engine::general_purpose::STANDARD;
#[cfg(feature = "server")]
use zeroize::Zeroizing;

use crate::crypto::stream::StreamFormat;
#[cfg(feature = "server")]
use crate::crypto::stream::{MAX_RECORD_SIZE, MIN_RECORD_SIZE, StreamOptions};
#[cfg(feature = "server")]
use crate::crypto::{Key, KeySize};

/// The stream key, standard base64 (request to `/decrypt/stream`, response of
/// `/oracleinvocation/stream`).
pub const ORACLE_KEY: &str = "Oracle-Key";
/// The associated data, standard base64 (Tink format only).
pub const ORACLE_AAD: &str = "Oracle-Aad";
/// The recipient's public key: standard base64 of a DER SubjectPublicKeyInfo.
pub const ORACLE_RECIPIENT: &str = "Oracle-Recipient";
/// The stream's format, in every streaming response.
pub const ORACLE_FORMAT: &str = "Oracle-Format";
/// The stream key wrapped for the recipient, standard base64.
pub const ORACLE_WRAPPED_KEY: &str = "Oracle-Wrapped-Key";
/// How the stream key was wrapped (`rsa-oaep-sha256`, `hpke-x25519-sha256-aes256gcm`).
pub const ORACLE_WRAP: &str = "Oracle-Wrap";

#[cfg(feature = "server")]
/// Which streaming endpoint a request is for: the query parameters each takes differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `POST /oracleinvocation/stream`: `format` and `rs`.
    Seal,
    /// `POST /decrypt/stream`: `format` only (the stream's header carries its record size).
    Open,
}

/// A streaming request's query or header that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamRequestError {
    /// A query parameter other than the endpoint's own.
    #[error("an unknown query parameter: this endpoint takes {accepted}")]
    UnknownParameter {
        /// What the endpoint takes.
        accepted: &'static str,
    },
    /// A query parameter given twice.
    #[error("query parameter `{0}` is given more than once")]
    RepeatedParameter(&'static str),
    /// `format` names no format.
    #[error("query parameter `format` must be `aes128gcm` or `aes256gcm-hkdf-1mb`")]
    InvalidFormat,
    /// `rs` is not a number from 18 to 16 MiB.
    #[error("query parameter `rs` must be a whole number from 18 to 16777216")]
    InvalidRecordSize,
    /// `rs` where it does not apply.
    #[error("query parameter `rs` {0}")]
    RecordSizeNotHere(&'static str),
    /// `Oracle-Aad` with `aes128gcm`.
    #[error(
        "header `Oracle-Aad` applies to format aes256gcm-hkdf-1mb only: aes128gcm has no associated data"
    )]
    AadNotSupported,
    /// A header that is not standard padded base64.
    #[error("header `{0}` must be standard padded base64")]
    InvalidBase64(&'static str),
    /// A header given twice.
    #[error("header `{0}` is given more than once")]
    RepeatedHeader(&'static str),
    /// `/decrypt/stream` without `Oracle-Key`.
    #[error("header `Oracle-Key` is required: the stream's key, standard base64")]
    MissingKey,
    /// A key of the wrong length for the format.
    #[error("header `Oracle-Key` must decode to {expected} for format {format}")]
    KeyLength {
        /// The lengths the format takes.
        expected: &'static str,
        /// The format.
        format: StreamFormat,
    },
}

impl StreamRequestError {
    /// The stable, machine-readable code sent as `"code"`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidBase64(_) => "invalid_base64",
            Self::KeyLength { .. } => "invalid_length",
            _ => "invalid_request",
        }
    }
}

#[cfg(feature = "server")]
/// Reads the query string of a streaming request into the options it asks for.
///
/// # Errors
///
/// An unknown, repeated or invalid parameter.
pub fn parse_query(query: &str, direction: Direction) -> Result<StreamOptions, StreamRequestError> {
    let accepted = match direction {
        Direction::Seal => "`format` and `rs`",
        Direction::Open => "`format`",
    };
    let (mut format, mut record_size) = (None, None);
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "format" => {
                if format.is_some() {
                    return Err(StreamRequestError::RepeatedParameter("format"));
                }
                format =
                    Some(StreamFormat::from_name(value).ok_or(StreamRequestError::InvalidFormat)?);
            }
            "rs" if direction == Direction::Seal => {
                if record_size.is_some() {
                    return Err(StreamRequestError::RepeatedParameter("rs"));
                }
                let size = value
                    .parse::<u32>()
                    .ok()
                    .filter(|size| (MIN_RECORD_SIZE..=MAX_RECORD_SIZE).contains(size))
                    .ok_or(StreamRequestError::InvalidRecordSize)?;
                record_size = Some(size);
            }
            "rs" => {
                return Err(StreamRequestError::RecordSizeNotHere(
                    "is not taken here: the stream's header carries its record size",
                ));
            }
            _ => return Err(StreamRequestError::UnknownParameter { accepted }),
        }
    }
    let format = format.unwrap_or_default();
    if record_size.is_some() && format != StreamFormat::Aes128Gcm {
        return Err(StreamRequestError::RecordSizeNotHere(
            "applies to format aes128gcm only: aes256gcm-hkdf-1mb segments are always 1 MiB",
        ));
    }
    let mut options = StreamOptions::new(format);
    options.record_size = record_size;
    Ok(options)
}

#[cfg(feature = "server")]
/// Decodes an optional standard base64 header value; `values` are all the header's values.
///
/// # Errors
///
/// A repeated header, or one that is not standard padded base64.
pub fn decode_header<'a>(
    name: &'static str,
    mut values: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<Zeroizing<Vec<u8>>>, StreamRequestError> {
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(StreamRequestError::RepeatedHeader(name));
    }
    STANDARD
        .decode(value.trim_ascii())
        .map(|bytes| Some(Zeroizing::new(bytes)))
        .map_err(|_| StreamRequestError::InvalidBase64(name))
}

#[cfg(feature = "server")]
/// Adds `Oracle-Aad` to the options, if given.
///
/// # Errors
///
/// A malformed header, or associated data for `aes128gcm`.
pub fn with_aad(
    mut options: StreamOptions,
    aad: Option<Zeroizing<Vec<u8>>>,
) -> Result<StreamOptions, StreamRequestError> {
    if let Some(aad) = aad {
        if options.format == StreamFormat::Aes128Gcm {
            return Err(StreamRequestError::AadNotSupported);
        }
        options.aad = aad.to_vec();
    }
    Ok(options)
}

#[cfg(feature = "server")]
/// The stream key of an `Oracle-Key` header, checked against the format.
///
/// # Errors
///
/// A missing key, or one of the wrong length for the format.
pub fn stream_key(
    decoded: Option<Zeroizing<Vec<u8>>>,
    format: StreamFormat,
) -> Result<Key, StreamRequestError> {
    let decoded = decoded.ok_or(StreamRequestError::MissingKey)?;
    let key = Key::try_from(&decoded[..]).ok();
    match (format, key) {
        (StreamFormat::Aes256GcmHkdf1Mb, Some(key)) if key.size() == KeySize::Aes256 => Ok(key),
        (StreamFormat::Aes256GcmHkdf1Mb, _) => Err(StreamRequestError::KeyLength {
            expected: "32 bytes",
            format,
        }),
        (_, Some(key)) => Ok(key),
        (_, None) => Err(StreamRequestError::KeyLength {
            expected: "16 bytes (or 24 or 32)",
            format,
        }),
    }
}

#[cfg(all(test, feature = "server"))]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn the_query_picks_format_and_record_size() {
        let options = parse_query("", Direction::Seal).unwrap();
        assert_eq!(
            (options.format, options.record_size),
            (StreamFormat::Aes128Gcm, None)
        );
        let options = parse_query("format=aes128gcm&rs=18", Direction::Seal).unwrap();
        assert_eq!(
            (options.format, options.record_size),
            (StreamFormat::Aes128Gcm, Some(18))
        );
        let options = parse_query("format=aes256gcm-hkdf-1mb", Direction::Open).unwrap();
        assert_eq!(options.format, StreamFormat::Aes256GcmHkdf1Mb);
    }

    #[test]
    fn bad_queries_are_named_and_never_echoed() {
        let cases = [
            (
                "rs=17",
                Direction::Seal,
                StreamRequestError::InvalidRecordSize,
            ),
            (
                "rs=16777217",
                Direction::Seal,
                StreamRequestError::InvalidRecordSize,
            ),
            (
                "rs=abc",
                Direction::Seal,
                StreamRequestError::InvalidRecordSize,
            ),
            (
                "rs=100&rs=100",
                Direction::Seal,
                StreamRequestError::RepeatedParameter("rs"),
            ),
            (
                "format=secret-word",
                Direction::Seal,
                StreamRequestError::InvalidFormat,
            ),
            (
                "secret-word=1",
                Direction::Open,
                StreamRequestError::UnknownParameter {
                    accepted: "`format`",
                },
            ),
        ];
        for (query, direction, expected) in cases {
            let err = parse_query(query, direction).unwrap_err();
            assert_eq!(err, expected, "{query}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
        assert!(matches!(
            parse_query("rs=100", Direction::Open),
            Err(StreamRequestError::RecordSizeNotHere(_))
        ));
        assert!(matches!(
            parse_query("format=aes256gcm-hkdf-1mb&rs=100", Direction::Seal),
            Err(StreamRequestError::RecordSizeNotHere(_))
        ));
    }

    #[test]
    fn headers_are_strict_base64_and_fit_the_format() {
        assert_eq!(decode_header(ORACLE_AAD, std::iter::empty()).unwrap(), None);
        assert_eq!(
            decode_header(ORACLE_AAD, [&b"aGk="[..]].into_iter())
                .unwrap()
                .unwrap()
                .as_slice(),
            b"hi"
        );
        assert_eq!(
            decode_header(ORACLE_AAD, [&b"aGk"[..]].into_iter()).unwrap_err(),
            StreamRequestError::InvalidBase64(ORACLE_AAD)
        );
        assert_eq!(
            decode_header(ORACLE_KEY, [&b"aGk="[..], &b"aGk="[..]].into_iter()).unwrap_err(),
            StreamRequestError::RepeatedHeader(ORACLE_KEY)
        );
        let ece = StreamOptions::new(StreamFormat::Aes128Gcm);
        assert_eq!(
            with_aad(ece, Some(Zeroizing::new(b"x".to_vec()))).unwrap_err(),
            StreamRequestError::AadNotSupported
        );
        let key16 = Some(Zeroizing::new(vec![1u8; 16]));
        assert!(stream_key(key16.clone(), StreamFormat::Aes128Gcm).is_ok());
        assert_eq!(
            stream_key(key16, StreamFormat::Aes256GcmHkdf1Mb)
                .unwrap_err()
                .code(),
            "invalid_length"
        );
        assert_eq!(
            stream_key(None, StreamFormat::Aes128Gcm).unwrap_err(),
            StreamRequestError::MissingKey
        );
    }
}
