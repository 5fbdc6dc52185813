//! Streams through a server (feature `client`): upload a file or any byte stream to
//! `/oracleinvocation/stream` and read the sealed stream back as it is sealed, with the key
//! from the answer's headers; or the reverse through `/decrypt/stream`.
//!
//! ```no_run
//! # async fn example(client: gcm_oracle::Client) -> Result<(), gcm_oracle::ClientError> {
//! use gcm_oracle::{StreamFormat, StreamOptions};
//!
//! let file = tokio::fs::File::open("backup.tar").await.expect("file");
//! let mut sealed = client
//!     .encrypt_stream(file, &StreamOptions::new(StreamFormat::Aes128Gcm))
//!     .await?;
//! let key = sealed.key().expect("not wrapped").clone();
//! while let Some(chunk) = sealed.chunk().await? {
//!     // write `chunk` somewhere
//! #   drop(chunk);
//! }
//! # drop(key);
//! # Ok(())
//! # }
//! ```

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

use super::{Client, ClientError, parse_response};
use crate::crypto::Key;
use crate::crypto::stream::{StreamFormat, StreamOptions};
use crate::wire::envelope::Wrap;
use crate::wire::stream::{
    ORACLE_AAD, ORACLE_FORMAT, ORACLE_KEY, ORACLE_RECIPIENT, ORACLE_WRAP, ORACLE_WRAPPED_KEY,
};

/// How long a stream call may take in all: a day. Stalls are bounded by the client's read
/// timeout and the server's body timeout, not by this.
const STREAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// A stream coming back from the server: its format, the key (after a seal), and the body,
/// read chunk by chunk as the server sends it.
///
/// A chunk is released by the server only once it is sealed (or, decrypting, once its record
/// authenticated); an error before the end means the stream is not whole — after a
/// decryption, discard what came.
pub struct StreamResponse {
    response: reqwest::Response,
    format: StreamFormat,
    key: Option<Key>,
    wrapped: Option<(Wrap, Vec<u8>)>,
}

impl fmt::Debug for StreamResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamResponse")
            .field("format", &self.format)
            .field("wrap", &self.wrapped.as_ref().map(|(wrap, _)| wrap))
            .finish_non_exhaustive()
    }
}

impl StreamResponse {
    /// The stream's format.
    #[must_use]
    pub fn format(&self) -> StreamFormat {
        self.format
    }

    /// The fresh key the server sealed the stream under (`Oracle-Key`); `None` when it was
    /// wrapped for a recipient, or for a decryption.
    #[must_use]
    pub fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// The key wrapped for the recipient (`Oracle-Wrap`, `Oracle-Wrapped-Key`), opened with
    /// [`PrivateKey::unwrap_key`](crate::PrivateKey::unwrap_key).
    #[must_use]
    pub fn wrapped_key(&self) -> Option<(Wrap, &[u8])> {
        self.wrapped
            .as_ref()
            .map(|(wrap, bytes)| (*wrap, bytes.as_slice()))
    }

    /// The length the server announced, when the upload's length was known.
    #[must_use]
    pub fn content_length(&self) -> Option<u64> {
        self.response.content_length()
    }

    /// The next piece of the stream, `None` at its clean end.
    ///
    /// # Errors
    ///
    /// [`ClientError::Transport`] when the server aborted the stream (an upload that broke
    /// off, a record that did not authenticate) or the connection broke.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        Ok(self.response.chunk().await?)
    }
}

impl Client {
    /// Streams `body` (a `tokio::fs::File`, bytes, or `reqwest::Body::wrap_stream` of any
    /// async byte stream) to `/oracleinvocation/stream`, and returns the sealed stream as the
    /// server sends it, with the fresh key.
    ///
    /// # Errors
    ///
    /// [`ClientError::Server`] for a refusal before the stream started (a bad option, a body
    /// over the server's `--max-stream`), or a transport error.
    pub async fn encrypt_stream(
        &self,
        body: impl Into<reqwest::Body>,
        options: &StreamOptions,
    ) -> Result<StreamResponse, ClientError> {
        self.stream("/oracleinvocation/stream", body.into(), options, None, None)
            .await
    }

    /// As [`Client::encrypt_stream`], with the stream key wrapped for the recipient whose
    /// public key is `recipient_der` (a DER SubjectPublicKeyInfo: RSA or X25519).
    ///
    /// # Errors
    ///
    /// As [`Client::encrypt_stream`], and `invalid_recipient` / `unsupported_recipient`.
    pub async fn encrypt_stream_for(
        &self,
        body: impl Into<reqwest::Body>,
        options: &StreamOptions,
        recipient_der: &[u8],
    ) -> Result<StreamResponse, ClientError> {
        self.stream(
            "/oracleinvocation/stream",
            body.into(),
            options,
            None,
            Some(recipient_der),
        )
        .await
    }

    /// Streams a sealed stream to `/decrypt/stream` under `key`, and returns the clear text
    /// as it authenticates. Only a clean end of the returned stream means it was whole.
    ///
    /// # Errors
    ///
    /// [`ClientError::Server`] with `decryption_failed` for a wrong key or a first record
    /// that does not authenticate; a transport error.
    pub async fn decrypt_stream(
        &self,
        body: impl Into<reqwest::Body>,
        key: &Key,
        options: &StreamOptions,
    ) -> Result<StreamResponse, ClientError> {
        self.stream("/decrypt/stream", body.into(), options, Some(key), None)
            .await
    }

    async fn stream(
        &self,
        path: &str,
        body: reqwest::Body,
        options: &StreamOptions,
        key: Option<&Key>,
        recipient_der: Option<&[u8]>,
    ) -> Result<StreamResponse, ClientError> {
        let mut url = format!("{}{path}?format={}", self.base, options.format.name());
        if let (Some(record_size), None) = (options.record_size, key) {
            url.push_str(&format!("&rs={record_size}"));
        }
        let mut request = self
            .http
            .post(url)
            .timeout(STREAM_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        if !options.aad.is_empty() {
            request = request.header(ORACLE_AAD, STANDARD.encode(&options.aad));
        }
        if let Some(key) = key {
            let mut value =
                reqwest::header::HeaderValue::from_str(&STANDARD.encode(key.as_bytes()))
                    .unwrap_or_else(|_| unreachable!("base64 is a valid header value"));
            // Never indexed by HTTP/2 header compression, and hidden from `Debug`.
            value.set_sensitive(true);
            request = request.header(ORACLE_KEY, value);
        }
        if let Some(der) = recipient_der {
            request = request.header(ORACLE_RECIPIENT, STANDARD.encode(der));
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        if status != 200 {
            let body = response.bytes().await?;
            return Err(parse_response::<serde_json::Value>(status, &body)
                .err()
                .unwrap_or_else(|| unexpected(status, "a 2xx answer that is not 200")));
        }
        let headers = response.headers();
        let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let format = text(ORACLE_FORMAT)
            .and_then(StreamFormat::from_name)
            .ok_or_else(|| unexpected(status, "no Oracle-Format header naming a format"))?;
        let decode = |name: &str| {
            text(name)
                .map(|value| STANDARD.decode(value))
                .transpose()
                .map_err(|_| unexpected(status, "an Oracle-* header that is not base64"))
        };
        let key = decode(ORACLE_KEY)?
            .map(zeroize::Zeroizing::new)
            .map(|bytes| Key::try_from(&bytes[..]))
            .transpose()
            .map_err(|_| unexpected(status, "an Oracle-Key of the wrong length"))?;
        let wrap = match text(ORACLE_WRAP) {
            None => None,
            Some("rsa-oaep-sha256") => Some(Wrap::RsaOaepSha256),
            Some("hpke-x25519-sha256-aes256gcm") => Some(Wrap::HpkeX25519Sha256Aes256Gcm),
            Some(_) => {
                return Err(unexpected(
                    status,
                    "an Oracle-Wrap this client does not know",
                ));
            }
        };
        let wrapped = match (wrap, decode(ORACLE_WRAPPED_KEY)?) {
            (Some(wrap), Some(bytes)) => Some((wrap, bytes)),
            (None, None) => None,
            _ => return Err(unexpected(status, "Oracle-Wrap without Oracle-Wrapped-Key")),
        };
        Ok(StreamResponse {
            response,
            format,
            key,
            wrapped,
        })
    }
}

fn unexpected(status: u16, detail: &str) -> ClientError {
    ClientError::UnexpectedResponse {
        status,
        detail: detail.to_owned(),
    }
}
