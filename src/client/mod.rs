//! A typed HTTPS client for a gcm-oracle server (feature `client`).
//!
//! Certificate verification is always on: the client trusts either the system's root
//! certificates ([`Client::new`]) or only the CA certificates you give it
//! ([`Client::with_ca_pem`], e.g. a development server's `certs/dev-ca.pem`).
//!
//! Clear text travels as base64 (`"encoding": "base64"`), so any bytes can be encrypted and
//! every decryption returns bytes.
//!
//! ```no_run
//! # async fn example() -> Result<(), gcm_oracle::ClientError> {
//! use gcm_oracle::Client;
//!
//! let ca = std::fs::read("certs/dev-ca.pem").expect("dev CA");
//! let client = Client::with_ca_pem("https://127.0.0.1:8443", &ca)?;
//! let envelope = client.encrypt(b"attack at dawn").await?;
//! assert_eq!(client.decrypt(&envelope).await?, b"attack at dawn");
//! # Ok(())
//! # }
//! ```

mod stream;

pub use stream::StreamResponse;

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::SealOptions;
use crate::keys::keypair::{Algorithm, Keypair, KeypairRequest};
use crate::wire::batch::{Batch, BatchItem};
use crate::wire::envelope::Envelope;
use crate::wire::json::ErrorBody;
use crate::wire::request::{DecryptRequest, DecryptResponse, Encoding, EncryptRequest};

/// Everything a client call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused the request: its HTTP status and its `{"error", "code"}` body.
    #[error("the server answered {status}: {} ({})", .body.error, .body.code)]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's error, with its stable `code` (e.g. `decryption_failed`).
        body: ErrorBody,
    },
    /// The server could not be reached, TLS failed (e.g. an untrusted certificate), or the
    /// connection broke.
    #[error("cannot reach the oracle: {0}")]
    Transport(#[from] reqwest::Error),
    /// The CA certificates given could not be read as PEM.
    #[error("cannot use the CA certificates: {0}")]
    InvalidCa(String),
    /// The base URL is not an absolute http(s) URL.
    #[error("not an https URL: {0}")]
    InvalidUrl(String),
    /// The envelope cannot be sent for decryption: its key is wrapped for a recipient (who
    /// opens it with [`open_for_recipient`](crate::open_for_recipient)), or it is not a
    /// plain envelope.
    #[error(transparent)]
    Envelope(#[from] crate::wire::envelope::EnvelopeError),
    /// The server's answer does not follow the wire contract.
    #[error("unexpected answer from the server (status {status}): {detail}")]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
}

impl ClientError {
    /// The server's error code, when the server refused the request.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Server { body, .. } => Some(&body.code),
            _ => None,
        }
    }
}

/// How long one call may take in all, unless a configured `reqwest::Client` says otherwise.
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The settings every client made here shares: HTTPS only, no redirects (a redirect would
/// re-send keys to another URL), a timeout so a stalled server cannot hang the caller.
fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DEFAULT_TIMEOUT)
        // Streams run longer than the timeout above (each call sets its own); a server that
        // stops sending mid-stream still fails the call.
        .read_timeout(DEFAULT_TIMEOUT)
}

/// One batch item's outcome: its result, or the server's error for that item alone.
pub type ItemResult<T> = Result<T, ErrorBody>;

/// A client for one gcm-oracle server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server at `base_url` (e.g. `https://oracle.example.com`), trusting the
    /// system's root certificates.
    ///
    /// # Errors
    ///
    /// If `base_url` is not an http(s) URL or the TLS stack cannot start.
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        Self::from_reqwest(base_url, builder().build()?)
    }

    /// A client for the server at `base_url` trusting only the CA certificate(s) in `ca_pem`.
    ///
    /// ```no_run
    /// # fn example() -> Result<(), gcm_oracle::ClientError> {
    /// let ca = std::fs::read("certs/dev-ca.pem").expect("dev CA");
    /// let client = gcm_oracle::Client::with_ca_pem("https://localhost:8443", &ca)?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// If `ca_pem` holds no PEM certificate, or as [`Client::new`].
    pub fn with_ca_pem(base_url: &str, ca_pem: &[u8]) -> Result<Self, ClientError> {
        let certificates = reqwest::Certificate::from_pem_bundle(ca_pem)
            .map_err(|err| ClientError::InvalidCa(err.to_string()))?;
        if certificates.is_empty() {
            return Err(ClientError::InvalidCa(
                "no PEM certificate found".to_owned(),
            ));
        }
        let http = builder().tls_certs_only(certificates).build()?;
        Self::from_reqwest(base_url, http)
    }

    /// A client using a `reqwest::Client` you configured (timeouts, proxies, client
    /// certificates). Configure it as [`Client::new`] does: `https_only(true)` and no redirects,
    /// or a key could leave in clear text or be re-sent elsewhere.
    ///
    /// # Errors
    ///
    /// If `base_url` is not an https URL.
    pub fn from_reqwest(base_url: &str, http: reqwest::Client) -> Result<Self, ClientError> {
        let url = reqwest::Url::parse(base_url)
            .map_err(|err| ClientError::InvalidUrl(format!("{base_url}: {err}")))?;
        // Requests carry keys and clear text: never over plain HTTP.
        if url.scheme() != "https" {
            return Err(ClientError::InvalidUrl(base_url.to_owned()));
        }
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Encrypts `plaintext` with the defaults: AES-256, a 96-bit nonce, no associated data.
    ///
    /// ```no_run
    /// # async fn example(client: gcm_oracle::Client) -> Result<(), gcm_oracle::ClientError> {
    /// let envelope = client.encrypt("any bytes, or text").await?;
    /// println!("key {}", envelope.key.as_deref().map_or("", |key| key.as_str()));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Server`] with the server's code (e.g. `payload_too_large`), or a
    /// transport error.
    pub async fn encrypt(&self, plaintext: impl AsRef<[u8]>) -> Result<Envelope, ClientError> {
        self.encrypt_with(plaintext, &SealOptions::default()).await
    }

    /// Encrypts `plaintext` with the key size, nonce size and associated data in `options`.
    ///
    /// ```no_run
    /// # async fn example(client: gcm_oracle::Client) -> Result<(), gcm_oracle::ClientError> {
    /// use gcm_oracle::{KeySize, NonceSize, SealOptions};
    ///
    /// // The original Python service's format: AES-128 with a 128-bit nonce.
    /// let options = SealOptions::new().key_size(KeySize::Aes128).nonce_size(NonceSize::Bits128);
    /// let envelope = client.encrypt_with(b"legacy", &options).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::encrypt`].
    pub async fn encrypt_with(
        &self,
        plaintext: impl AsRef<[u8]>,
        options: &SealOptions,
    ) -> Result<Envelope, ClientError> {
        let request = EncryptRequest::bytes(plaintext.as_ref(), options);
        self.post("/oracleinvocation/", &request).await
    }

    /// Encrypts `plaintext` for the holder of the private key of `recipient_pem` (an RSA or
    /// X25519 public key in PEM): the envelope carries `wrapped_key` instead of `key`, and
    /// only [`open_for_recipient`](crate::open_for_recipient) with that private key opens it.
    ///
    /// ```no_run
    /// # async fn example(client: gcm_oracle::Client) -> Result<(), gcm_oracle::ClientError> {
    /// use gcm_oracle::{Algorithm, SealOptions, open_for_recipient};
    ///
    /// let bob = client.keypair(Algorithm::X25519).await?; // Bob keeps the private key
    /// let envelope = client.encrypt_for(b"for Bob", &bob.public_key_pem, &SealOptions::new()).await?;
    /// assert_eq!(open_for_recipient(&envelope, &bob.private_key_pem).unwrap(), b"for Bob");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::encrypt`]; a key the server cannot wrap for is `invalid_recipient` or
    /// `unsupported_recipient`.
    pub async fn encrypt_for(
        &self,
        plaintext: impl AsRef<[u8]>,
        recipient_pem: &str,
        options: &SealOptions,
    ) -> Result<Envelope, ClientError> {
        let request =
            EncryptRequest::bytes(plaintext.as_ref(), options).for_recipient(recipient_pem);
        self.post("/oracleinvocation/", &request).await
    }

    /// A fresh key pair from the server (`POST /keypair/`), which keeps nothing.
    ///
    /// # Errors
    ///
    /// [`ClientError::Server`] with code `keygen_busy` (503) when the server is generating
    /// too many RSA keys at once; retry. Or a transport error.
    pub async fn keypair(&self, algorithm: Algorithm) -> Result<Keypair, ClientError> {
        self.post("/keypair/", &KeypairRequest { algorithm }).await
    }

    /// Decrypts an envelope sealed without associated data.
    ///
    /// ```no_run
    /// # async fn example(client: gcm_oracle::Client, envelope: gcm_oracle::Envelope) -> Result<(), gcm_oracle::ClientError> {
    /// let plaintext: Vec<u8> = client.decrypt(&envelope).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Server`] with code `decryption_failed` if the envelope is not authentic,
    /// `invalid_base64` or `invalid_length` if it is malformed; or a transport error.
    pub async fn decrypt(&self, envelope: &Envelope) -> Result<Vec<u8>, ClientError> {
        self.decrypt_with(envelope, &[]).await
    }

    /// Decrypts an envelope sealed with associated data `aad`.
    ///
    /// ```no_run
    /// # async fn example(client: gcm_oracle::Client, envelope: gcm_oracle::Envelope) -> Result<(), gcm_oracle::ClientError> {
    /// let plaintext = client.decrypt_with(&envelope, b"order 7").await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::decrypt`]; a wrong `aad` is `decryption_failed`.
    pub async fn decrypt_with(
        &self,
        envelope: &Envelope,
        aad: &[u8],
    ) -> Result<Vec<u8>, ClientError> {
        let request = DecryptRequest::new(envelope, aad, Encoding::Base64)?;
        let response: DecryptResponse = self.post("/decrypt/", &request).await?;
        decode_plaintext(&response, 200)
    }

    /// Encrypts every item, each under its own fresh key and nonce, in one request. The
    /// answers come back in the same order; one bad item fails alone.
    ///
    /// ```no_run
    /// # async fn example(client: gcm_oracle::Client) -> Result<(), gcm_oracle::ClientError> {
    /// use gcm_oracle::SealOptions;
    ///
    /// let answers = client.encrypt_batch(&["a", "b", "c"], &SealOptions::new()).await?;
    /// for answer in answers {
    ///     let envelope = answer.expect("each item succeeds");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError::Server`] if the batch as a whole is refused (e.g. `too_many_items`).
    pub async fn encrypt_batch(
        &self,
        plaintexts: &[impl AsRef<[u8]>],
        options: &SealOptions,
    ) -> Result<Vec<ItemResult<Envelope>>, ClientError> {
        let items = plaintexts
            .iter()
            .map(|plaintext| EncryptRequest::bytes(plaintext.as_ref(), options))
            .collect();
        let batch: Batch<BatchItem<Envelope>> = self
            .post("/oracleinvocation/batch", &Batch { items })
            .await?;
        Ok(batch
            .items
            .into_iter()
            .map(BatchItem::into_result)
            .collect())
    }

    /// Decrypts every envelope, all sealed with the same associated data `aad` (empty for
    /// none), in one request. The answers come back in the same order.
    ///
    /// ```no_run
    /// # async fn example(client: gcm_oracle::Client, envelopes: Vec<gcm_oracle::Envelope>) -> Result<(), gcm_oracle::ClientError> {
    /// for answer in client.decrypt_batch(&envelopes, b"").await? {
    ///     match answer {
    ///         Ok(plaintext) => println!("{} bytes", plaintext.len()),
    ///         Err(error) => println!("refused: {}", error.code),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Client::encrypt_batch`].
    pub async fn decrypt_batch(
        &self,
        envelopes: &[Envelope],
        aad: &[u8],
    ) -> Result<Vec<ItemResult<Vec<u8>>>, ClientError> {
        let items = envelopes
            .iter()
            .map(|envelope| DecryptRequest::new(envelope, aad, Encoding::Base64))
            .collect::<Result<_, _>>()?;
        let batch: Batch<BatchItem<DecryptResponse>> =
            self.post("/decrypt/batch", &Batch { items }).await?;
        batch
            .items
            .into_iter()
            .map(|item| match item {
                BatchItem::Ok(response) => decode_plaintext(&response, 200).map(Ok),
                BatchItem::Err(body) => Ok(Err(body)),
            })
            .collect()
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        parse_response(status, &bytes)
    }
}

/// Turns a status and body into the expected answer or a typed error.
pub(crate) fn parse_response<T: DeserializeOwned>(
    status: u16,
    body: &[u8],
) -> Result<T, ClientError> {
    if (200..300).contains(&status) {
        return serde_json::from_slice(body).map_err(|err| ClientError::UnexpectedResponse {
            status,
            detail: format!("not the expected JSON: {err}"),
        });
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(body) => Err(ClientError::Server { status, body }),
        Err(_) => Err(ClientError::UnexpectedResponse {
            status,
            detail: "the error body is not gcm-oracle's {\"error\", \"code\"} JSON".to_owned(),
        }),
    }
}

fn decode_plaintext(response: &DecryptResponse, status: u16) -> Result<Vec<u8>, ClientError> {
    STANDARD
        .decode(response.data.as_bytes())
        .map_err(|_| ClientError::UnexpectedResponse {
            status,
            detail: "`data` is not the base64 that was asked for".to_owned(),
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    #[cfg(feature = "server")]
    use crate::oracle::error::Error;
    #[cfg(feature = "server")]
    use crate::wire::envelope::{EnvelopeError, Field};

    /// Every error the server can send keeps its status and code through the client.
    #[cfg(feature = "server")]
    #[test]
    fn every_server_error_keeps_its_status_and_code() {
        use crate::http::error::HttpError;
        let errors: [HttpError; 13] = [
            Error::MalformedJson("x".into()).into(),
            Error::InvalidRequest("x".into()).into(),
            EnvelopeError::InvalidBase64 { field: Field::Key }.into(),
            EnvelopeError::InvalidLength {
                field: Field::Nonce,
                expected: &[12, 16],
                actual: 3,
            }
            .into(),
            EnvelopeError::DecryptionFailed(crate::DecryptionFailed).into(),
            Error::PlaintextNotUtf8.into(),
            HttpError::UnsupportedMediaType,
            HttpError::PayloadTooLarge { limit: 1 },
            Error::TooManyItems { limit: 1 }.into(),
            HttpError::BodyTimeout {
                after: std::time::Duration::from_secs(1),
            },
            HttpError::BodyRead("x".into()),
            HttpError::NotFound,
            HttpError::MethodNotAllowed { allow: "POST" },
        ];
        for error in errors {
            let body = serde_json::to_vec(&error.body()).unwrap();
            let client_error = parse_response::<Envelope>(error.status(), &body).unwrap_err();
            let ClientError::Server { status, body } = &client_error else {
                panic!("{client_error:?}");
            };
            assert_eq!(
                (*status, body.code.as_str()),
                (error.status(), error.code())
            );
            assert_eq!(client_error.code(), Some(error.code()));
        }
    }

    #[test]
    fn a_non_json_error_is_an_unexpected_response() {
        let err = parse_response::<Envelope>(502, b"<html>Bad Gateway</html>").unwrap_err();
        assert!(
            matches!(err, ClientError::UnexpectedResponse { status: 502, .. }),
            "{err}"
        );
        assert_eq!(err.code(), None);
    }

    #[test]
    fn a_success_that_is_not_an_envelope_is_an_unexpected_response() {
        let err = parse_response::<Envelope>(200, br#"{"data": "x"}"#).unwrap_err();
        assert!(
            matches!(err, ClientError::UnexpectedResponse { status: 200, .. }),
            "{err}"
        );
    }

    #[test]
    fn only_https_urls_are_accepted() {
        let http = reqwest::Client::new();
        assert!(Client::from_reqwest("ftp://host", http.clone()).is_err());
        assert!(Client::from_reqwest("http://host:8443", http.clone()).is_err());
        assert!(Client::new("http://localhost:8443").is_err());
        assert!(Client::from_reqwest("not a url", http.clone()).is_err());
        let client = Client::from_reqwest("https://host:8443/", http).unwrap();
        assert_eq!(client.base, "https://host:8443");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let err = Client::with_ca_pem("https://localhost", b"not pem").unwrap_err();
        assert!(matches!(err, ClientError::InvalidCa(_)), "{err}");
    }
}
