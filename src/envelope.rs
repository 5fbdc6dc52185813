//! The wire types: what the oracle receives and returns as JSON, with base64 byte fields.
//!
//! base64 here is always the standard alphabet with `=` padding (RFC 4648 §4), decoded strictly:
//! what Python's `base64.b64decode`, coreutils' `base64 -d` and every other decoder reads.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use core::fmt;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, DecryptionFailed, KEY_LEN, Key, NONCE_LEN, Nonce, Sealed, TAG_LEN, Tag};

/// Body of `POST /oracleinvocation/`: the clear text to encrypt.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptRequest {
    /// Clear text, any UTF-8 string (may be empty). Zeroized when dropped.
    pub data: Zeroizing<String>,
}

impl fmt::Debug for EncryptRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptRequest")
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// Body of a `POST /decrypt/` answer: the recovered clear text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptResponse {
    /// The clear text. Zeroized when dropped.
    pub data: Zeroizing<String>,
}

impl fmt::Debug for DecryptResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptResponse")
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// A sealed message on the wire: the oracle's answer, and the body `POST /decrypt/` takes.
///
/// Field names and order are the wire contract: `{"data", "key", "mac", "nonce"}`, each standard
/// padded base64. Unknown fields are rejected when deserializing. The key string is zeroized
/// when dropped, and `Debug` shows none of the fields' contents.
///
/// ```
/// use gcm_oracle::{seal, Envelope};
///
/// let envelope = Envelope::from(&seal(b"hi"));
/// let json = serde_json::to_string(&envelope).unwrap();
/// let back: Envelope = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.open().unwrap(), b"hi");
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Ciphertext, exactly as long as the clear text.
    pub data: String,
    /// The 32-byte AES-256 key.
    pub key: Zeroizing<String>,
    /// The 16-byte GCM authentication tag.
    pub mac: String,
    /// The 12-byte nonce.
    pub nonce: String,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("data_len", &self.data.len())
            .finish_non_exhaustive()
    }
}

/// A field of an [`Envelope`], named as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// `data`: the ciphertext.
    Data,
    /// `key`: the AES key.
    Key,
    /// `mac`: the authentication tag.
    Mac,
    /// `nonce`: the nonce.
    Nonce,
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
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an [`Envelope`] could not be turned into a [`Sealed`] message or opened.
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
    /// A field decodes to the wrong number of bytes.
    #[error("field `{field}` must decode to {expected} bytes, but decodes to {actual}")]
    InvalidLength {
        /// The offending field.
        field: Field,
        /// How many bytes the field must hold.
        expected: usize,
        /// How many it held.
        actual: usize,
    },
    /// The message is well formed but not authentic (see [`DecryptionFailed`]).
    #[error(transparent)]
    DecryptionFailed(#[from] DecryptionFailed),
}

impl Envelope {
    /// Decodes and decrypts this envelope.
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::InvalidBase64`] or [`EnvelopeError::InvalidLength`] naming the field at
    /// fault, or [`EnvelopeError::DecryptionFailed`] if the message is not authentic.
    pub fn open(&self) -> Result<Vec<u8>, EnvelopeError> {
        let sealed = Sealed::try_from(self)?;
        Ok(crypto::open(&sealed)?)
    }
}

impl From<&Sealed> for Envelope {
    fn from(sealed: &Sealed) -> Self {
        Self {
            data: STANDARD.encode(&sealed.ciphertext),
            key: Zeroizing::new(STANDARD.encode(sealed.key.as_bytes())),
            mac: STANDARD.encode(sealed.tag.as_bytes()),
            nonce: STANDARD.encode(sealed.nonce.as_bytes()),
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
        let key = decode_exact::<KEY_LEN>(&envelope.key, Field::Key)?;
        let nonce = decode_exact::<NONCE_LEN>(&envelope.nonce, Field::Nonce)?;
        let tag = decode_exact::<TAG_LEN>(&envelope.mac, Field::Mac)?;
        let ciphertext = decode(&envelope.data, Field::Data)?;
        Ok(Self {
            key: Key::from(*key),
            nonce: Nonce::from(*nonce),
            ciphertext: ciphertext.to_vec(),
            tag: Tag::from(*tag),
        })
    }
}

impl TryFrom<Envelope> for Sealed {
    type Error = EnvelopeError;

    fn try_from(envelope: Envelope) -> Result<Self, EnvelopeError> {
        Self::try_from(&envelope)
    }
}

/// Decodes one field; the buffer is zeroized when dropped because it may hold the key.
fn decode(text: &str, field: Field) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    STANDARD
        .decode(text)
        .map(Zeroizing::new)
        .map_err(|_| EnvelopeError::InvalidBase64 { field })
}

fn decode_exact<const N: usize>(
    text: &str,
    field: Field,
) -> Result<Zeroizing<[u8; N]>, EnvelopeError> {
    let bytes = decode(text, field)?;
    let array: [u8; N] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| EnvelopeError::InvalidLength {
            field,
            expected: N,
            actual: bytes.len(),
        })?;
    Ok(Zeroizing::new(array))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::seal;

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
        assert_eq!(STANDARD.decode(&*envelope.key).unwrap().len(), 32);
        assert_eq!(STANDARD.decode(&envelope.nonce).unwrap().len(), 12);
        assert_eq!(STANDARD.decode(&envelope.mac).unwrap().len(), 16);
        assert_eq!(STANDARD.decode(&envelope.data).unwrap().len(), 5);
        // 32 bytes need one padding character, 16 bytes two: padding is kept.
        assert!(envelope.key.ends_with('='));
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
    fn rejects_a_short_key_naming_field_and_sizes() {
        let mut envelope = envelope_of(b"x");
        envelope.key = Zeroizing::new(STANDARD.encode([7u8; 16]));
        let err = envelope.open().unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::InvalidLength {
                field: Field::Key,
                expected: 32,
                actual: 16
            }
        );
        assert_eq!(
            err.to_string(),
            "field `key` must decode to 32 bytes, but decodes to 16"
        );
    }

    #[test]
    fn rejects_a_long_nonce() {
        let mut envelope = envelope_of(b"x");
        envelope.nonce = STANDARD.encode([1u8; 16]);
        assert!(matches!(
            envelope.open().unwrap_err(),
            EnvelopeError::InvalidLength {
                field: Field::Nonce,
                expected: 12,
                actual: 16
            }
        ));
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
    fn converts_back_to_the_same_sealed_message() {
        let sealed = seal(b"abc");
        let back = Sealed::try_from(Envelope::from(&sealed)).unwrap();
        assert_eq!(back, sealed);
    }

    #[test]
    fn debug_shows_no_field_contents() {
        let envelope = envelope_of(b"secret");
        let shown = format!("{envelope:?}");
        assert_eq!(shown, "Envelope { data_len: 8, .. }");
        let request = EncryptRequest {
            data: Zeroizing::new("secret".into()),
        };
        assert_eq!(format!("{request:?}"), "EncryptRequest { data_len: 6 }");
    }
}
