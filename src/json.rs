//! Decoding a JSON request body that must be one object: what every endpoint does with a body
//! once its size and content type are checked, and what the fuzz targets and the library's
//! `Answer::from_body` do too. Below the sealing code, above the library error it returns.

use serde::Deserialize;

use crate::error::Error;

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
/// use gcm_oracle::body::parse_object;
///
/// let request: EncryptRequest = parse_object(br#"{"data": "hi"}"#).unwrap();
/// assert_eq!(request.data.as_str(), "hi");
/// let err = parse_object::<EncryptRequest>(br#"["hi"]"#).unwrap_err();
/// assert_eq!((err.status(), err.code()), (400, "invalid_request"));
/// ```
///
/// # Errors
///
/// [`Error::MalformedJson`] for bytes that are not JSON (or not UTF-8), and
/// [`Error::InvalidRequest`] for JSON of another shape, naming the field at fault but never
/// echoing a value. Both are answered with 400.
pub fn parse_object<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Error> {
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first.is_some_and(|&byte| byte != b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) if core::str::from_utf8(body).is_ok() => {
                    Error::InvalidRequest("the body must be a JSON object".to_owned())
                }
                Ok(_) => Error::MalformedJson("the body is not UTF-8".to_owned()),
                Err(err) => Error::from_json(&err),
            },
        );
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| Error::from_json_at(&err.path().to_string(), err.inner()))?;
    // Trailing characters after the object are malformed JSON too.
    deserializer.end().map_err(|err| Error::from_json(&err))?;
    Ok(value)
}
