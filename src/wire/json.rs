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
    /// mismatches. String values that serde quotes in its message are cut out, since a body
    /// like `"my secret"` would otherwise be echoed back.
    #[must_use]
    pub fn from_serde(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        match err.classify() {
            Category::Syntax | Category::Eof | Category::Io => Self::Malformed(err.to_string()),
            Category::Data => Self::Invalid(redact_values(&err.to_string())),
        }
    }

    /// As [`JsonError::from_serde`], naming the field at `path` (`key_bits`, `items[2].data`)
    /// in schema errors. `path` is `.` for the top level.
    #[must_use]
    pub fn from_serde_at(path: &str, err: &serde_json::Error) -> Self {
        match Self::from_serde(err) {
            Self::Invalid(message) if path != "." && !path.is_empty() => {
                // The path is made of the body's own keys: show it only if it is made of names
                // (and `[n]` array indices).
                let shown = strip_indices(path)
                    .split('.')
                    .all(|part| part.is_empty() || is_identifier(part));
                if shown {
                    Self::Invalid(format!("field `{path}`: {message}"))
                } else {
                    Self::Invalid(message)
                }
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

    #[test]
    fn schema_errors_never_echo_values_or_odd_field_names() {
        for body in [
            r#"{"data": 987654321}"#,
            r#"{"data": 98765.4321}"#,
            r#"{"data": "x", "my secret key": 1}"#,
            r#"{"data": "x", "987654321": 1}"#,
        ] {
            let err = serde_json::from_str::<crate::EncryptRequest>(body).unwrap_err();
            let message = JsonError::from_serde_at("data", &err).to_string();
            for secret in ["98765", "my secret"] {
                assert!(!message.contains(secret), "{body}: {message}");
            }
        }
        let err = serde_json::from_str::<crate::EncryptRequest>(r#"{"data": "x", "add": 1}"#)
            .unwrap_err();
        let message = JsonError::from_serde(&err).to_string();
        assert!(message.contains("unknown field `add`"), "{message}");
        assert!(message.contains("`aad`"), "{message}");
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
