//! The envelope: a sealed message as JSON, with base64 byte fields, its errors, and its
//! conversion to and from the crypto types. The requests that carry it are in `request`.
//!
//! base64 here is always the standard alphabet with `=` padding (RFC 4648 §4), decoded strictly:
//! what Python's `base64.b64decode`, coreutils' `base64 -d` and every other decoder reads.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use core::fmt;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, DecryptionFailed, InvalidLength, Key, Nonce, Sealed, Tag};

/// A sealed message on the wire: the oracle's answer, and the core of what `POST /decrypt/`
/// takes.
///
/// Field names and order are the wire contract: `{"data", "key", "mac", "nonce"}`, each standard
/// padded base64. The key and nonce sizes are read from their lengths, so an envelope carries
/// everything needed to open it but the associated data. Unknown fields are rejected when
/// deserializing. The key string is zeroized when dropped, and `Debug` shows none of the
/// fields' contents.
///
/// ```
/// use gcm_oracle::{seal, Envelope};
///
/// let envelope = Envelope::from(&seal(b"hi"));
/// let json = serde_json::to_string(&envelope).unwrap();
/// let back: Envelope = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.open().unwrap(), b"hi");
/// ```
///
/// Sealed for a recipient (`"recipient"` in the request), the envelope carries
/// `{"data", "wrapped_key", "wrap", "mac", "nonce"}` instead: the AES key encrypted to the
/// recipient's public key, opened with [`open_for_recipient`](crate::open_for_recipient).
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Ciphertext, exactly as long as the clear text.
    pub data: String,
    /// The 16-, 24- or 32-byte AES key; absent when the key is wrapped for a recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "server", schema(value_type = Option<String>))]
    pub key: Option<Zeroizing<String>>,
    /// The AES key encrypted to the recipient's public key, laid out as [`Wrap`] describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapped_key: Option<String>,
    /// How `wrapped_key` was made; present exactly when `wrapped_key` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap: Option<Wrap>,
    /// The 16-byte GCM authentication tag.
    pub mac: String,
    /// The 12- or 16-byte nonce.
    pub nonce: String,
}

zeroize_on_drop_by_fields!(Envelope { key });

/// How a recipient's copy of the AES key is wrapped: the `wrap` field of an [`Envelope`].
///
/// Both schemes encrypt exactly the raw AES key (16, 24 or 32 bytes); `wrapped_key` is the
/// standard base64 of the bytes described on each variant.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Wrap {
    /// RSA-OAEP (RFC 8017) with SHA-256 and MGF1-SHA-256, empty label (JOSE's `RSA-OAEP-256`)
    /// for an RSA recipient key. `wrapped_key` is the OAEP ciphertext, exactly as long as the
    /// modulus (256 bytes for RSA-2048).
    #[serde(rename = "rsa-oaep-sha256")]
    RsaOaepSha256,
    /// HPKE (RFC 9180) base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM
    /// (suite ids 0x0020, 0x0001, 0x0002) for an X25519 recipient key, single-shot with
    /// `info` = the ASCII bytes `gcm-oracle wrapped key` and empty `aad`. `wrapped_key` is
    /// `enc` (the 32-byte ephemeral public key) followed by the HPKE ciphertext of the AES key
    /// with its 16-byte tag appended: 32 + key length + 16 bytes.
    #[serde(rename = "hpke-x25519-sha256-aes256gcm")]
    HpkeX25519Sha256Aes256Gcm,
}

impl Wrap {
    /// The name on the wire: `rsa-oaep-sha256` or `hpke-x25519-sha256-aes256gcm`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaOaepSha256 => "rsa-oaep-sha256",
            Self::HpkeX25519Sha256Aes256Gcm => "hpke-x25519-sha256-aes256gcm",
        }
    }
}

impl fmt::Display for Wrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("data_len", &self.data.len())
            .field("wrap", &self.wrap)
            .finish_non_exhaustive()
    }
}

/// A field of a request or [`Envelope`], named as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// `data`: the clear text or ciphertext.
    Data,
    /// `key`: the AES key.
    Key,
    /// `mac`: the authentication tag.
    Mac,
    /// `nonce`: the nonce.
    Nonce,
    /// `aad`: the associated data.
    Aad,
    /// `wrapped_key`: the AES key encrypted to a recipient's public key.
    WrappedKey,
    /// `wrap`: how `wrapped_key` was made.
    Wrap,
}

impl Field {
    /// The field's name in JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::Key => "key",
            Self::Mac => "mac",
            Self::Nonce => "nonce",
            Self::Aad => "aad",
            Self::WrappedKey => "wrapped_key",
            Self::Wrap => "wrap",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an [`Envelope`] or request could not be decoded or opened.
///
/// Messages name the field and never contain its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// A field is not standard padded base64.
    #[error(
        "field `{field}` is not valid base64: use the standard alphabet with `=` padding (RFC 4648 section 4)"
    )]
    InvalidBase64 {
        /// The offending field.
        field: Field,
    },
    /// A field decodes to a length this crate does not support.
    #[error(
        "field `{field}` must decode to {} bytes, but decodes to {actual}",
        one_of(.expected)
    )]
    InvalidLength {
        /// The offending field.
        field: Field,
        /// The lengths allowed, in bytes.
        expected: &'static [usize],
        /// The length given.
        actual: usize,
    },
    /// A field the envelope needs is absent.
    #[error("the envelope has no `{field}` field")]
    Missing {
        /// The absent field.
        field: Field,
    },
    /// The envelope carries both `key` and `wrapped_key` (or `wrap` without `wrapped_key`):
    /// which one opens it is ambiguous, so neither is trusted.
    #[error("the envelope must carry either `key`, or `wrapped_key` with `wrap`, not both")]
    Ambiguous,
    /// The key is wrapped for a recipient: only the recipient's private key can open it.
    #[error(
        "the envelope's key is wrapped for a recipient (`wrapped_key`, `wrap`): open it with the recipient's private key"
    )]
    Wrapped,
    /// The message is well formed but not authentic (see [`DecryptionFailed`]).
    #[error(transparent)]
    DecryptionFailed(#[from] DecryptionFailed),
}

/// `16`, `12 or 16`, `16, 24 or 32`.
fn one_of(lengths: &[usize]) -> String {
    match lengths {
        [] => String::new(),
        [only] => only.to_string(),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(ToString::to_string).collect();
            format!("{} or {last}", rest.join(", "))
        }
    }
}

/// The length of what a standard padded base64 string decodes to (0 for an empty string).
pub(crate) fn decoded_len(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|&b| b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

impl Envelope {
    /// The ciphertext's length in bytes, which is the clear text's length too.
    #[must_use]
    pub fn ciphertext_len(&self) -> usize {
        decoded_len(&self.data)
    }

    /// Decodes and decrypts an envelope sealed without associated data.
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::InvalidBase64`] or [`EnvelopeError::InvalidLength`] naming the field at
    /// fault, or [`EnvelopeError::DecryptionFailed`] if the message is not authentic.
    pub fn open(&self) -> Result<Vec<u8>, EnvelopeError> {
        self.open_with(&[])
    }

    /// Decodes and decrypts an envelope sealed with associated data `aad`.
    ///
    /// # Errors
    ///
    /// As [`Envelope::open`]; a wrong `aad` is a [`EnvelopeError::DecryptionFailed`].
    pub fn open_with(&self, aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        let sealed = Sealed::try_from(self)?;
        Ok(crypto::open_with(&sealed, aad)?)
    }

    /// Decodes the envelope's other fields and decrypts with `key`, recovered elsewhere (from
    /// `wrapped_key`).
    #[cfg(feature = "recipient")]
    pub(crate) fn open_with_key(&self, key: Key, aad: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        let sealed = decode_sealed_parts(key, &self.data, &self.mac, &self.nonce)?;
        Ok(crypto::open_with(&sealed, aad)?)
    }

    /// The key that opens this envelope, from `key`.
    pub(crate) fn plain_key(&self) -> Result<&str, EnvelopeError> {
        match (&self.key, &self.wrapped_key, self.wrap) {
            (Some(key), None, None) => Ok(key),
            (Some(_), _, _) => Err(EnvelopeError::Ambiguous),
            (None, Some(_), _) => Err(EnvelopeError::Wrapped),
            (None, None, _) => Err(EnvelopeError::Missing { field: Field::Key }),
        }
    }
}

impl From<&Sealed> for Envelope {
    fn from(sealed: &Sealed) -> Self {
        Self::of(&sealed.ciphertext, &sealed.key, &sealed.tag, &sealed.nonce)
    }
}

impl Envelope {
    /// A sealed message's parts in base64, with the key in the clear.
    pub(crate) fn of(ciphertext: &[u8], key: &Key, tag: &Tag, nonce: &Nonce) -> Self {
        Self {
            data: STANDARD.encode(ciphertext),
            key: Some(Zeroizing::new(STANDARD.encode(key.as_bytes()))),
            wrapped_key: None,
            wrap: None,
            mac: STANDARD.encode(tag.as_bytes()),
            nonce: STANDARD.encode(nonce.as_bytes()),
        }
    }
}

impl From<Sealed> for Envelope {
    fn from(sealed: Sealed) -> Self {
        Self::from(&sealed)
    }
}

impl TryFrom<&Envelope> for Sealed {
    type Error = EnvelopeError;

    fn try_from(envelope: &Envelope) -> Result<Self, EnvelopeError> {
        decode_sealed(
            &envelope.data,
            envelope.plain_key()?,
            &envelope.mac,
            &envelope.nonce,
        )
    }
}

impl TryFrom<Envelope> for Sealed {
    type Error = EnvelopeError;

    fn try_from(envelope: Envelope) -> Result<Self, EnvelopeError> {
        Self::try_from(&envelope)
    }
}

/// Decodes the four base64 fields of a sealed message, naming the first one at fault.
pub(crate) fn decode_sealed(
    data: &str,
    key: &str,
    mac: &str,
    nonce: &str,
) -> Result<Sealed, EnvelopeError> {
    let key = Key::try_from(&decode(key, Field::Key)?[..]).map_err(sized(Field::Key))?;
    decode_sealed_parts(key, data, mac, nonce)
}

/// Decodes the ciphertext, tag and nonce of a sealed message whose key is already known.
fn decode_sealed_parts(
    key: Key,
    data: &str,
    mac: &str,
    nonce: &str,
) -> Result<Sealed, EnvelopeError> {
    let nonce = Nonce::try_from(&decode(nonce, Field::Nonce)?[..]).map_err(sized(Field::Nonce))?;
    let tag = Tag::try_from(&decode(mac, Field::Mac)?[..]).map_err(sized(Field::Mac))?;
    let ciphertext = STANDARD
        .decode(data)
        .map_err(|_| EnvelopeError::InvalidBase64 { field: Field::Data })?;
    Ok(Sealed {
        key,
        nonce,
        ciphertext,
        tag,
    })
}

/// Names `field` in a length error.
pub(crate) fn sized(field: Field) -> impl Fn(InvalidLength) -> EnvelopeError {
    move |err: InvalidLength| EnvelopeError::InvalidLength {
        field,
        expected: err.expected,
        actual: err.actual,
    }
}

/// Decodes one field; the buffer is zeroized when dropped because it may hold the key.
pub(crate) fn decode(text: &str, field: Field) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    STANDARD
        .decode(text)
        .map(Zeroizing::new)
        .map_err(|_| EnvelopeError::InvalidBase64 { field })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::seal;
    use crate::{KeySize, NonceSize, SealOptions};

    fn envelope_of(plaintext: &[u8]) -> Envelope {
        Envelope::from(seal(plaintext))
    }

    #[test]
    fn serializes_the_four_fields_in_contract_order() {
        let json = serde_json::to_string(&envelope_of(b"hi")).unwrap();
        let order: Vec<usize> = ["\"data\"", "\"key\"", "\"mac\"", "\"nonce\""]
            .iter()
            .map(|name| json.find(name).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{json}");
    }

    #[test]
    fn fields_are_standard_padded_base64_of_the_contract_sizes() {
        let envelope = envelope_of(b"hello");
        assert_eq!(
            STANDARD
                .decode(envelope.key.as_deref().unwrap().as_str())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(STANDARD.decode(&envelope.nonce).unwrap().len(), 12);
        assert_eq!(STANDARD.decode(&envelope.mac).unwrap().len(), 16);
        assert_eq!(STANDARD.decode(&envelope.data).unwrap().len(), 5);
        // 32 bytes need one padding character, 16 bytes two: padding is kept.
        assert!(envelope.key.as_deref().unwrap().ends_with('='));
        assert!(envelope.mac.ends_with("=="));
    }

    #[test]
    fn round_trips_through_json() {
        let json = serde_json::to_vec(&envelope_of("héllo ✓".as_bytes())).unwrap();
        let back: Envelope = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.open().unwrap(), "héllo ✓".as_bytes());
    }

    #[test]
    fn rejects_unknown_fields() {
        let mut value = serde_json::to_value(envelope_of(b"x")).unwrap();
        value["aad"] = "eA==".into();
        let err = serde_json::from_value::<Envelope>(value).unwrap_err();
        assert!(err.to_string().contains("unknown field `aad`"), "{err}");
    }

    #[test]
    fn rejects_unpadded_base64_naming_the_field() {
        let mut envelope = envelope_of(b"x");
        envelope.mac = envelope.mac.trim_end_matches('=').to_owned();
        let err = envelope.open().unwrap_err();
        assert_eq!(err, EnvelopeError::InvalidBase64 { field: Field::Mac });
        assert!(err.to_string().contains("`mac`"));
    }

    #[test]
    fn rejects_url_safe_alphabet() {
        let mut envelope = envelope_of(b"x");
        envelope.data = "-_8=".to_owned();
        assert_eq!(
            envelope.open().unwrap_err(),
            EnvelopeError::InvalidBase64 { field: Field::Data }
        );
    }

    #[test]
    fn rejects_a_key_of_an_unsupported_size_naming_field_and_sizes() {
        let mut envelope = envelope_of(b"x");
        envelope.key = Some(Zeroizing::new(STANDARD.encode([7u8; 20])));
        let err = envelope.open().unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::InvalidLength {
                field: Field::Key,
                expected: &[16, 24, 32],
                actual: 20
            }
        );
        assert_eq!(
            err.to_string(),
            "field `key` must decode to 16, 24 or 32 bytes, but decodes to 20"
        );
    }

    #[test]
    fn rejects_a_nonce_of_an_unsupported_size() {
        let mut envelope = envelope_of(b"x");
        envelope.nonce = STANDARD.encode([1u8; 8]);
        let err = envelope.open().unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `nonce` must decode to 12 or 16 bytes, but decodes to 8"
        );
    }

    #[test]
    fn rejects_a_short_tag() {
        let mut envelope = envelope_of(b"x");
        envelope.mac = STANDARD.encode([1u8; 12]);
        assert_eq!(
            envelope.open().unwrap_err().to_string(),
            "field `mac` must decode to 16 bytes, but decodes to 12"
        );
    }

    #[test]
    fn key_and_nonce_sizes_are_read_from_their_lengths() {
        for key_size in KeySize::ALL {
            for nonce_size in NonceSize::ALL {
                let options = SealOptions::new().key_size(key_size).nonce_size(nonce_size);
                let envelope = Envelope::from(crypto::seal_with(b"sized", &options));
                assert_eq!(envelope.open().unwrap(), b"sized");
            }
        }
    }

    #[test]
    fn tampered_envelope_is_an_opaque_decryption_failure() {
        let mut envelope = envelope_of(b"hello");
        let mut tag = STANDARD.decode(&envelope.mac).unwrap();
        tag[0] ^= 1;
        envelope.mac = STANDARD.encode(tag);
        assert_eq!(
            envelope.open().unwrap_err(),
            EnvelopeError::DecryptionFailed(DecryptionFailed)
        );
    }

    #[test]
    fn ciphertext_len_matches_the_clear_text() {
        for len in 0..40 {
            assert_eq!(envelope_of(&vec![7u8; len]).ciphertext_len(), len);
        }
    }

    #[test]
    fn converts_back_to_the_same_sealed_message() {
        let sealed = seal(b"abc");
        let back = Sealed::try_from(Envelope::from(&sealed)).unwrap();
        assert_eq!(back, sealed);
    }
}
