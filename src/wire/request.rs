//! The request and response bodies of the encrypt and decrypt endpoints, and `Encoding`: how
//! their clear-text fields are written. Encrypt requests are read field by field without
//! copying (`EncryptFields`); the envelope they carry is `envelope`'s.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use core::fmt;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{KeySize, NonceSize, SealOptions};
use crate::wire::envelope::{Envelope, EnvelopeError, Field, decode, decoded_len};

/// How the clear-text side of a request or answer is written: `data` and `aad` of an encrypt
/// request, `aad` of a decrypt request, and the `data` a decryption returns.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Encoding {
    /// A UTF-8 JSON string, used as its UTF-8 bytes (the default).
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// Standard padded base64 of any bytes.
    #[serde(rename = "base64")]
    Base64,
}

impl Encoding {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The bytes a clear-text field holds.
    pub(crate) fn decode(
        self,
        text: &str,
        field: Field,
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        match self {
            Self::Utf8 => Ok(Zeroizing::new(text.as_bytes().to_vec())),
            Self::Base64 => decode(text, field),
        }
    }
}

/// Body of `POST /oracleinvocation/`: the clear text to encrypt, and how.
///
/// Only `data` is required; a request with only `data` is sealed with AES-256, a 96-bit nonce
/// and no associated data.
//
// It is read through `EncryptFields`, the one definition of how each field is read; the serde
// attributes here say what is written, and tell the OpenAPI schema which fields may be left
// out and that no others are allowed.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptRequest {
    /// Clear text, in `encoding` (may be empty). Zeroized when dropped.
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub data: Zeroizing<String>,
    /// Associated data, in `encoding`: authenticated, not encrypted, not returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
    /// Key size in bits: 128, 192 or 256 (default 256).
    #[serde(default, skip_serializing_if = "is_default")]
    pub key_bits: KeySize,
    /// Nonce size in bits: 96 or 128 (default 96).
    #[serde(default, skip_serializing_if = "is_default")]
    pub nonce_bits: NonceSize,
    /// How `data` and `aad` are written (default UTF-8 text).
    #[serde(default, skip_serializing_if = "Encoding::is_default")]
    pub encoding: Encoding,
    /// A public key in PEM (`-----BEGIN PUBLIC KEY-----`): RSA or X25519. The answer then
    /// carries the AES key wrapped for it (`wrapped_key`, `wrap`) instead of `key`.
    /// `null` is refused, not read as "no recipient": a sender whose template produced a null
    /// would otherwise get back a plain `key` while believing the message sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
}

zeroize_on_drop_by_fields!(EncryptRequest { data });

/// An encrypt request as it is read from JSON: [`EncryptRequest`]'s fields, with `data` left
/// where it lies in the body when it can be, so that the server encrypts it there instead of
/// in a copy. `EncryptRequest` deserializes through this, so both read exactly alike.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EncryptFields<'a> {
    #[serde(borrow)]
    pub(crate) data: ClearText<'a>,
    #[serde(default)]
    pub(crate) aad: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) key_bits: KeySize,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) nonce_bits: NonceSize,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(crate) encoding: Encoding,
    #[serde(default, deserialize_with = "present_string")]
    pub(crate) recipient: Option<String>,
}

/// `data` as it was read: still in the request body when the JSON string has no escapes, else
/// unescaped into a buffer of its own. (serde_json unescapes through a scratch buffer of its
/// own first, which it frees without wiping; nothing outside serde_json can reach it.)
pub(crate) enum ClearText<'a> {
    InBody(&'a str),
    Unescaped(Zeroizing<String>),
}

impl<'de: 'a, 'a> Deserialize<'de> for ClearText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ClearText<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(ClearText::InBody(text))
            }

            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(ClearText::Unescaped(Zeroizing::new(text.to_owned())))
            }

            fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
                Ok(ClearText::Unescaped(Zeroizing::new(text)))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl ClearText<'_> {
    fn as_str(&self) -> &str {
        match self {
            Self::InBody(text) => text,
            Self::Unescaped(text) => text,
        }
    }

    /// The bytes to encrypt, in a buffer of their own.
    pub(crate) fn into_bytes(self, encoding: Encoding) -> Result<Vec<u8>, EnvelopeError> {
        match (self, encoding) {
            (Self::Unescaped(mut text), Encoding::Utf8) => {
                Ok(core::mem::take(&mut *text).into_bytes())
            }
            // `Answer::from_body` seals these where they lie; a copy only if that cannot be.
            (Self::InBody(text), Encoding::Utf8) => Ok(text.as_bytes().to_vec()),
            (text, Encoding::Base64) => {
                Ok(core::mem::take(&mut *decode(text.as_str(), Field::Data)?))
            }
        }
    }
}

impl<'de> Deserialize<'de> for EncryptRequest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = EncryptFields::deserialize(deserializer)?;
        Ok(Self {
            data: match fields.data {
                ClearText::InBody(text) => Zeroizing::new(text.to_owned()),
                ClearText::Unescaped(text) => text,
            },
            aad: fields.aad,
            key_bits: fields.key_bits,
            nonce_bits: fields.nonce_bits,
            encoding: fields.encoding,
            recipient: fields.recipient,
        })
    }
}

impl From<EncryptRequest> for EncryptFields<'_> {
    fn from(mut request: EncryptRequest) -> Self {
        Self {
            data: ClearText::Unescaped(core::mem::take(&mut request.data)),
            aad: request.aad.take(),
            key_bits: request.key_bits,
            nonce_bits: request.nonce_bits,
            encoding: request.encoding,
            recipient: request.recipient.take(),
        }
    }
}

/// A field that, when present, must be a string (`null` included is an error).
fn present_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Reads `null` as "not given": `{"encoding": null}` means the default, like leaving it out.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

impl EncryptRequest {
    /// A request for UTF-8 text with default options.
    #[must_use]
    pub fn text(data: &str) -> Self {
        Self {
            data: Zeroizing::new(data.to_owned()),
            ..Self::default()
        }
    }

    /// A request for any bytes, sent as base64, sealed as `options` say.
    #[must_use]
    pub fn bytes(data: &[u8], options: &SealOptions) -> Self {
        let aad = &options.aad;
        Self {
            data: Zeroizing::new(STANDARD.encode(data)),
            aad: (!aad.is_empty()).then(|| STANDARD.encode(aad)),
            key_bits: options.key_size,
            nonce_bits: options.nonce_size,
            encoding: Encoding::Base64,
            recipient: None,
        }
    }

    /// The same request, sealed for the holder of `public_key_pem`'s private key.
    #[must_use]
    pub fn for_recipient(self, public_key_pem: &str) -> Self {
        Self {
            recipient: Some(public_key_pem.to_owned()),
            ..self
        }
    }
}

impl fmt::Debug for EncryptRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptRequest")
            .field("data_len", &self.data.len())
            .field("aad_len", &self.aad.as_ref().map(String::len))
            .field("key_bits", &self.key_bits.bits())
            .field("nonce_bits", &self.nonce_bits.bits())
            .field("encoding", &self.encoding)
            .field("recipient", &self.recipient.is_some())
            .finish()
    }
}

/// Body of `POST /decrypt/`: an [`Envelope`] as the oracle returned it, with the associated
/// data it was sealed with and the encoding wanted for the answer.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptRequest {
    /// Ciphertext, base64.
    pub data: String,
    /// The key, base64: 16, 24 or 32 bytes.
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub key: Zeroizing<String>,
    /// The tag, base64: 16 bytes.
    pub mac: String,
    /// The nonce, base64: 12 or 16 bytes.
    pub nonce: String,
    /// Associated data, in `encoding`, exactly as given when sealing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
    /// How `aad` is written and how the answer's `data` should be (default UTF-8 text).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Encoding::is_default"
    )]
    pub encoding: Encoding,
}

zeroize_on_drop_by_fields!(DecryptRequest { key });

impl DecryptRequest {
    /// The ciphertext's length in bytes: the clear text's length once opened.
    #[must_use]
    pub fn ciphertext_len(&self) -> usize {
        decoded_len(&self.data)
    }

    /// A request to open `envelope` sealed with `aad` (empty for none), answering in `encoding`.
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::Wrapped`] for an envelope sealed for a recipient (the server cannot
    /// open it), [`EnvelopeError::Ambiguous`] or [`EnvelopeError::Missing`] for one that is
    /// not a plain envelope.
    pub fn new(envelope: &Envelope, aad: &[u8], encoding: Encoding) -> Result<Self, EnvelopeError> {
        let key = Zeroizing::new(envelope.plain_key()?.to_owned());
        let aad = match encoding {
            _ if aad.is_empty() => None,
            Encoding::Base64 => Some(STANDARD.encode(aad)),
            Encoding::Utf8 => Some(String::from_utf8_lossy(aad).into_owned()),
        };
        Ok(Self {
            data: envelope.data.clone(),
            key,
            mac: envelope.mac.clone(),
            nonce: envelope.nonce.clone(),
            aad,
            encoding,
        })
    }
}

impl fmt::Debug for DecryptRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptRequest")
            .field("data_len", &self.data.len())
            .field("aad_len", &self.aad.as_ref().map(String::len))
            .field("encoding", &self.encoding)
            .finish_non_exhaustive()
    }
}

/// Body of a `POST /decrypt/` answer: the recovered clear text, in the requested encoding.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptResponse {
    /// The clear text. Zeroized when dropped.
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub data: Zeroizing<String>,
}

zeroize_on_drop_by_fields!(DecryptResponse { data });

impl fmt::Debug for DecryptResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptResponse")
            .field("data_len", &self.data.len())
            .finish()
    }
}
