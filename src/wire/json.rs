//! JSON bodies: decoding a request body that must be one object, and the error messages for
//! JSON that cannot be read. What every endpoint does with a body once its size and content
//! type are checked, and what the fuzz targets and the library's `Answer::from_body` do too.
//!
//! Messages name the field at fault but never echo a value the client sent.

use serde::{Deserialize, Serialize};

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

/// A JSON body that cannot be read: the wire-level half of the library's `Error`, which wraps
/// it with the same messages and codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The body is not syntactically valid JSON (or not UTF-8).
    #[error("the body is not valid JSON: {0}")]
    Malformed(String),
    /// The body is JSON but not the shape asked for.
    #[error("the JSON body does not match this endpoint's schema: {0}")]
    Invalid(String),
    /// A batch holds more items than the limit.
    #[error("the batch holds more than the limit of {limit} items; split it")]
    TooManyItems {
        /// The limit.
        limit: usize,
    },
}

impl JsonError {
    /// The stable, machine-readable code sent as `"code"`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed_json",
            Self::Invalid(_) => "invalid_request",
            Self::TooManyItems { .. } => "too_many_items",
        }
    }

    /// Classifies a `serde_json` error: syntax problems are malformed JSON, the rest are schema
    /// mismatches. Nothing the client sent stays in the message (see `redact`): not a value,
    /// not an unknown field's name, not an unknown variant.
    #[must_use]
    pub fn from_serde(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match err.classify() {
            Category::Syntax | Category::Eof | Category::Io => Self::Malformed(err.to_string()),
            Category::Data => Self::Invalid(redact(&err.to_string())),
        }
    }

    /// As [`JsonError::from_serde`], naming the field at `path` (`key_bits`, `items[2].data`)
    /// in schema errors. `path` is `.` for the top level.
    #[must_use]
    pub fn from_serde_at(path: &str, err: &serde_json::Error) -> Self {
        match Self::from_serde(err) {
            // The path is made of the body's own keys: show it only if they are all ours.
            Self::Invalid(message) if is_our_path(path) => {
                Self::Invalid(format!("field `{path}`: {message}"))
            }
            other => other,
        }
    }
}

/// Decodes a request body that must be a JSON object into `T`: what the server does with every
/// JSON body it accepts, after the size and content-type checks. Public so the fuzz targets
/// and the corpus test (`fuzz/`, `tests/library/fuzz_corpus.rs`) decode exactly as the server does.
///
/// serde's derived structs would also accept an array of the field values in order, which no
/// caller means to send: anything but an object is refused. Trailing bytes after the object
/// are refused too.
///
/// ```
/// use gcm_oracle::EncryptRequest;
/// use gcm_oracle::internals::parse_object;
///
/// let request: EncryptRequest = parse_object(br#"{"data": "hi"}"#).unwrap();
/// assert_eq!(request.data.as_str(), "hi");
/// let err = parse_object::<EncryptRequest>(br#"["hi"]"#).unwrap_err();
/// assert_eq!(err.code(), "invalid_request");
/// ```
///
/// # Errors
///
/// [`JsonError::Malformed`] for bytes that are not JSON (or not UTF-8), and
/// [`JsonError::Invalid`] for JSON of another shape, naming the field at fault but never
/// echoing a value. Both are answered with 400.
#[cfg(feature = "server")]
pub fn parse_object<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, JsonError> {
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first.is_some_and(|&byte| byte != b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) if core::str::from_utf8(body).is_ok() => {
                    JsonError::Invalid("the body must be a JSON object".to_owned())
                }
                Ok(_) => JsonError::Malformed("the body is not UTF-8".to_owned()),
                Err(err) => JsonError::from_serde(&err),
            },
        );
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| JsonError::from_serde_at(&err.path().to_string(), err.inner()))?;
    // Trailing characters after the object are malformed JSON too.
    deserializer
        .end()
        .map_err(|err| JsonError::from_serde(&err))?;
    Ok(value)
}

/// Every field name of the wire contract: the only body keys an error message may name (in
/// a field path like `items[2].key_bits`). A test checks it against the OpenAPI schemas.
pub(crate) const FIELDS: &[&str] = &[
    "data",
    "aad",
    "encoding",
    "key_bits",
    "nonce_bits",
    "recipient",
    "key",
    "wrapped_key",
    "wrap",
    "mac",
    "nonce",
    "items",
    "algorithm",
];

/// Rewrites serde's message so it contains nothing the client sent: a body that puts clear
/// text or a key in the wrong place (`{"encoding": "Hunter2"}`, `{"my secret": "data"}`) must
/// not get it back in the error, nor into a log or a proxy that records errors.
///
/// serde's data errors have a few shapes, each `<what went wrong>, expected <what the type
/// accepts>`: the second half comes from our types (field and variant names, allowed sizes),
/// the first can hold the client's text. So an unknown field or variant is "an unknown field",
/// a value is only its kind ("invalid type: string"), and a field named as missing or
/// duplicated is shown only if it is one of ours. Any other message keeps only what precedes
/// its first quote.
fn redact(message: &str) -> String {
    // serde_json appends the position: numbers only, kept.
    let is_position = |text: &str| {
        let numbers = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        text.strip_prefix(" at line ")
            .and_then(|rest| rest.split_once(" column "))
            .is_some_and(|(line, column)| numbers(line) && numbers(column))
    };
    let (message, position) = match message.rfind(" at line ") {
        Some(at) if is_position(&message[at..]) => message.split_at(at),
        _ => (message, ""),
    };
    let redacted = if let Some(rest) = message.strip_prefix("unknown field ") {
        format!("an unknown field{}", tail(rest))
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        format!("an unknown variant{}", tail(rest))
    } else if let Some((problem, rest)) = ["invalid type: ", "invalid value: "]
        .iter()
        .find_map(|prefix| Some((*prefix, message.strip_prefix(prefix)?)))
    {
        format!("{problem}{}{}", value_kind(rest), tail(rest))
    } else if let Some((problem, name)) = ["missing field ", "duplicate field "]
        .iter()
        .find_map(|prefix| Some((*prefix, message.strip_prefix(prefix)?)))
    {
        let name = name.trim_matches('`');
        if FIELDS.contains(&name) {
            format!("{problem}`{name}`")
        } else {
            format!("{problem}(not shown)")
        }
    } else if message.starts_with("invalid length ") {
        // `invalid length 3, expected …`: a count, not the client's text.
        message.to_owned()
    } else {
        message
            .split(['`', '"'])
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_owned()
    };
    redacted + position
}

/// From the last `, expected …` or `, there are no …` of `text` to its end: what the type
/// accepts, in the type's own words.
fn tail(text: &str) -> &str {
    [", expected ", ", there are no "]
        .iter()
        .filter_map(|marker| text.rfind(marker))
        .max()
        .map_or("", |at| &text[at..])
}

/// The kind of value serde's `Unexpected` describes at the start of `text`, without the value.
fn value_kind(text: &str) -> &'static str {
    const KINDS: [&str; 17] = [
        "null",
        "boolean",
        "integer",
        "floating point",
        "character",
        "string",
        "byte array",
        "unit value",
        "Option value",
        "newtype struct",
        "sequence",
        "map",
        "enum",
        "unit variant",
        "newtype variant",
        "tuple variant",
        "struct variant",
    ];
    KINDS
        .iter()
        .filter(|kind| text.starts_with(*kind))
        .max_by_key(|kind| kind.len())
        .copied()
        .unwrap_or("a value")
}

/// Whether a field path (`items[2].key_bits`) is made only of our field names and array
/// indices, and so may be shown.
fn is_our_path(path: &str) -> bool {
    path.split('.').all(|part| {
        let name = part.split('[').next().unwrap_or(part);
        let indices = &part[name.len()..];
        FIELDS.contains(&name)
            && indices.split_terminator(']').all(|index| {
                index.strip_prefix('[').is_some_and(|digits| {
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
                })
            })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_are_malformed_json() {
        let err = serde_json::from_str::<serde_json::Value>("{\"data\": ").unwrap_err();
        assert_eq!(JsonError::from_serde(&err).code(), "malformed_json");
    }

    #[test]
    fn schema_errors_are_invalid_request() {
        let err = serde_json::from_str::<crate::EncryptRequest>(r#"{"data": 5}"#).unwrap_err();
        assert_eq!(JsonError::from_serde(&err).code(), "invalid_request");
    }

    /// Bodies that put a secret (`Hunter2`) wherever a client might: as a value of every
    /// type, as a field name, as an enum variant, inside quotes and backticks.
    const HOSTILE: &[&str] = &[
        r#"{"data": "x", "encoding": "Hunter2-Value-enc"}"#,
        r#"{"attack-at-dawn-Hunter2": "data"}"#,
        r#"{"data": "x", "Hunter2": 1}"#,
        r#"{"data": "x", "a`b Hunter2 c`": 1}"#,
        r#"{"data": "x", "a\"Hunter2\"": 1}"#,
        r#"{"data": "x", "x, expected Hunter2": 1}"#,
        r#"{"data": "x", "Hunter2 at line 1 column 2": 1}"#,
        r#"{"data": "x", "key_bits": "Hunter2"}"#,
        r#"{"data": "x", "key_bits": 987654321}"#,
        r#"{"data": "x", "key_bits": -987654321}"#,
        r#"{"data": "x", "key_bits": 98765.4321}"#,
        r#"{"data": "x", "nonce_bits": true}"#,
        r#"{"data": ["Hunter2"]}"#,
        r#"{"data": {"Hunter2": 1}}"#,
        r#"{"data": 987654321}"#,
        r#"{"data": "x", "aad": 987654321}"#,
        r#"{"data": "x", "recipient": ["Hunter2"]}"#,
        r#"{"data": "x", "encoding": "utf-8 Hunter2"}"#,
        r#"{"data": "x", "encoding": "a`Hunter2`b"}"#,
        r#"{"data": "x", "data": "Hunter2"}"#,
        r#""Hunter2""#,
    ];

    #[test]
    fn schema_errors_never_echo_anything_the_client_sent() {
        for body in HOSTILE {
            for message in [
                parse_object::<crate::EncryptRequest>(body.as_bytes())
                    .map(|_| ())
                    .unwrap_err()
                    .to_string(),
                parse_object::<crate::DecryptRequest>(body.as_bytes())
                    .map(|_| ())
                    .unwrap_err()
                    .to_string(),
            ] {
                for secret in ["Hunter2", "hunter2", "98765", "attack", "a`b", "utf-8 H"] {
                    assert!(!message.contains(secret), "{body}: {message}");
                }
                assert!(!message.is_empty(), "{body}");
            }
        }
    }

    #[test]
    fn unknown_fields_and_variants_list_what_is_accepted() {
        let message = parse_object::<crate::EncryptRequest>(
            br#"{"data": "x", "encoding": "Hunter2-Value-enc"}"#,
        )
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(
            message.contains("an unknown variant, expected `utf-8` or `base64`"),
            "{message}"
        );
        assert!(message.contains("field `encoding`"), "{message}");
        let message =
            parse_object::<crate::EncryptRequest>(br#"{"attack-at-dawn-Hunter2": "data"}"#)
                .map(|_| ())
                .unwrap_err()
                .to_string();
        assert!(
            message.contains("an unknown field, expected one of `data`"),
            "{message}"
        );
        let message = parse_object::<crate::EncryptRequest>(br#"{"data": "x", "key_bits": 100}"#)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("field `key_bits`: invalid value: integer, expected 128, 192 or 256"),
            "{message}"
        );
        let message = parse_object::<crate::EncryptRequest>(br#"{"aad": "x"}"#)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(message.contains("missing field `data`"), "{message}");
    }

    #[test]
    fn a_field_path_is_shown_only_when_it_is_made_of_our_fields() {
        assert!(is_our_path("items[2].key_bits"));
        assert!(is_our_path("data"));
        for path in [
            "Hunter2",
            "items[x].data",
            "items[2].Hunter2",
            "data.",
            "",
            ".",
        ] {
            assert!(!is_our_path(path), "{path}");
        }
    }

    #[test]
    fn schema_errors_never_echo_a_string_value() {
        let err = serde_json::from_str::<crate::EncryptRequest>(r#""my secret""#).unwrap_err();
        let message = JsonError::from_serde(&err).to_string();
        assert!(!message.contains("my secret"), "{message}");
        assert!(
            message.contains("invalid type: string, expected"),
            "{message}"
        );
    }
}
