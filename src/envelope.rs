//! The wire types: what the oracle receives and returns as JSON, with base64 byte fields, and
//! their conversion to and from the crypto types.
//!
//! base64 here is always the standard alphabet with `=` padding (RFC 4648 §4), decoded strictly:
//! what Python's `base64.b64decode`, coreutils' `base64 -d` and every other decoder reads.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use core::fmt;
use core::ops::Range;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::{
    self, DecryptionFailed, InvalidLength, Key, KeySize, Nonce, NonceSize, SealOptions, Sealed, Tag,
};
use crate::error::Error;

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
    fn decode(self, text: &str, field: Field) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        match self {
            Self::Utf8 => Ok(Zeroizing::new(text.as_bytes().to_vec())),
            Self::Base64 => decode(text, field),
        }
    }

    /// Writes clear-text bytes in this encoding.
    fn encode(self, bytes: Vec<u8>) -> Result<Zeroizing<String>, Error> {
        match self {
            Self::Utf8 => String::from_utf8(bytes).map(Zeroizing::new).map_err(|err| {
                drop(Zeroizing::new(err.into_bytes()));
                Error::PlaintextNotUtf8
            }),
            Self::Base64 => {
                let bytes = Zeroizing::new(bytes);
                Ok(Zeroizing::new(STANDARD.encode(&*bytes)))
            }
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
    data: ClearText<'a>,
    #[serde(default)]
    aad: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    key_bits: KeySize,
    #[serde(default, deserialize_with = "null_as_default")]
    nonce_bits: NonceSize,
    #[serde(default, deserialize_with = "null_as_default")]
    encoding: Encoding,
    #[serde(default, deserialize_with = "present_string")]
    recipient: Option<String>,
}

/// `data` as it was read: still in the request body when the JSON string has no escapes, else
/// unescaped into a buffer of its own. (serde_json unescapes through a scratch buffer of its
/// own first, which it frees without wiping; nothing outside serde_json can reach it.)
enum ClearText<'a> {
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
    fn into_bytes(self, encoding: Encoding) -> Result<Vec<u8>, EnvelopeError> {
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
        let aad = options.get_aad();
        Self {
            data: Zeroizing::new(STANDARD.encode(data)),
            aad: (!aad.is_empty()).then(|| STANDARD.encode(aad)),
            key_bits: options.get_key_size(),
            nonce_bits: options.get_nonce_size(),
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

    /// Seals the request's clear text under a fresh key and nonce, and wraps the key for the
    /// recipient if there is one.
    ///
    /// # Errors
    ///
    /// With base64 encoding, [`EnvelopeError::InvalidBase64`] naming `data` or `aad`; a
    /// `recipient` that is not an RSA or X25519 public key in PEM.
    pub fn seal(&self) -> Result<Envelope, Error> {
        Ok(self.clone().into_answer()?.to_envelope())
    }

    /// As [`EncryptRequest::seal`], consuming the request: the clear text is encrypted in
    /// place in the request's own buffer, and the answer can be written as JSON directly.
    ///
    /// # Errors
    ///
    /// As [`EncryptRequest::seal`].
    pub fn into_answer(self) -> Result<Answer, Error> {
        #[cfg(feature = "recipient")]
        return self.into_answer_with(&mut crate::recipient::RecipientCache::default());
        #[cfg(not(feature = "recipient"))]
        self.into_answer_with()
    }

    /// As [`EncryptRequest::into_answer`], reusing a recipient key parsed for an earlier item
    /// of the same batch.
    ///
    /// # Errors
    ///
    /// As [`EncryptRequest::seal`].
    pub fn into_answer_with(
        self,
        #[cfg(feature = "recipient")] recipients: &mut crate::recipient::RecipientCache,
    ) -> Result<Answer, Error> {
        let (clear, sealing) = EncryptFields::from(self).prepare(
            #[cfg(feature = "recipient")]
            recipients,
        )?;
        sealing.seal_apart(clear)
    }
}

impl<'a> EncryptFields<'a> {
    /// Checks everything but the clear text, the recipient's key first (a bad one costs no
    /// encryption), and sets the clear text apart.
    fn prepare(
        self,
        #[cfg(feature = "recipient")] recipients: &mut crate::recipient::RecipientCache,
    ) -> Result<(ClearText<'a>, Sealing), Error> {
        #[cfg(feature = "recipient")]
        let recipient = match self.recipient.as_deref() {
            Some(pem) => Some(recipients.get(pem)?),
            None => None,
        };
        #[cfg(not(feature = "recipient"))]
        if self.recipient.is_some() {
            return Err(Error::InvalidRequest(
                "this build of gcm-oracle has no `recipient` support (feature `recipient`)".into(),
            ));
        }
        let aad = match &self.aad {
            Some(aad) => self.encoding.decode(aad, Field::Aad)?,
            None => Zeroizing::new(Vec::new()),
        };
        let options = SealOptions::new()
            .key_size(self.key_bits)
            .nonce_size(self.nonce_bits)
            .aad(aad.to_vec());
        let sealing = Sealing {
            encoding: self.encoding,
            options,
            #[cfg(feature = "recipient")]
            recipient,
        };
        Ok((self.data, sealing))
    }
}

/// Everything about an encrypt request but its clear text, checked and ready.
struct Sealing {
    encoding: Encoding,
    options: SealOptions,
    #[cfg(feature = "recipient")]
    recipient: Option<std::sync::Arc<crate::recipient::Recipient>>,
}

impl Sealing {
    /// Seals `clear` in a buffer of its own: the request's own string for text, the decoded
    /// bytes for base64. Either way no copy of the clear text is left behind.
    fn seal_apart(self, clear: ClearText<'_>) -> Result<Answer, Error> {
        let buffer = clear.into_bytes(self.encoding)?;
        let whole = 0..buffer.len();
        self.seal(buffer, whole)
    }

    /// Encrypts `buffer[clear]` where it lies under a fresh key and nonce, and wraps the key
    /// for the recipient if there is one. The rest of `buffer` is wiped when the answer is.
    fn seal(self, mut buffer: Vec<u8>, clear: Range<usize>) -> Result<Answer, Error> {
        let Some(clear_text) = buffer.get_mut(clear.clone()) else {
            unreachable!("the clear text lies within its buffer")
        };
        let (key, nonce, tag) = crypto::seal_in_slice(clear_text, &self.options);
        // Built before the key is wrapped: if wrapping fails, dropping it wipes the buffer.
        #[cfg_attr(not(feature = "recipient"), allow(unused_mut, reason = "no wrapping"))]
        let mut answer = Answer {
            key,
            nonce,
            tag,
            buffer,
            ciphertext: clear,
            wrapped: None,
        };
        #[cfg(feature = "recipient")]
        if let Some(recipient) = self.recipient {
            answer.wrapped = Some((recipient.wrap(), recipient.wrap_key(&answer.key)?));
        }
        Ok(answer)
    }
}

/// A sealed request: what `POST /oracleinvocation/` answers, before it is written.
///
/// `Debug` shows only sizes; the key, and whatever else of a request body the ciphertext was
/// sealed in, are wiped when this is dropped.
pub struct Answer {
    key: Key,
    nonce: Nonce,
    tag: Tag,
    /// Holds the ciphertext: a buffer of its own, or the whole request body it was sealed in.
    buffer: Vec<u8>,
    /// Where the ciphertext lies in `buffer`.
    ciphertext: Range<usize>,
    /// The scheme and bytes of the key wrapped for a recipient, who then gets no `key`.
    wrapped: Option<(Wrap, Vec<u8>)>,
}

impl Drop for Answer {
    fn drop(&mut self) {
        // Around the ciphertext: the rest of the request body (`aad`, the options). The key
        // wipes itself.
        if let Some(before) = self.buffer.get_mut(..self.ciphertext.start) {
            before.zeroize();
        }
        if let Some(after) = self.buffer.get_mut(self.ciphertext.end..) {
            after.zeroize();
        }
    }
}

zeroize_on_drop_by_fields!(Answer { key });

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("key", &self.key)
            .field("nonce", &self.nonce)
            .field("ciphertext_len", &self.ciphertext.len())
            .field("tag", &self.tag)
            .field("wrap", &self.wrapped.as_ref().map(|(wrap, _)| wrap))
            .finish()
    }
}

impl Answer {
    /// Seals the JSON body of `POST /oracleinvocation/`. UTF-8 clear text (the default) that
    /// needs no unescaping is encrypted where it lies in `body`, so a 1 MiB message is never
    /// copied; base64 or escaped clear text is decoded into a buffer of its own first. Either
    /// way, whatever else `body` held is wiped.
    ///
    /// # Errors
    ///
    /// As [`crate::body::parse_object`] and [`EncryptRequest::seal`].
    #[cfg(feature = "server")]
    pub fn from_body(body: Vec<u8>) -> Result<Self, Error> {
        let mut body = Zeroizing::new(body);
        let fields: EncryptFields<'_> = crate::body::parse_object(&body)?;
        let (clear, sealing) = fields.prepare(&mut crate::recipient::RecipientCache::default())?;
        // serde_json hands out strings without escapes as slices of `body`; should one ever
        // come from elsewhere, it is copied like an escaped one instead.
        let in_body = match (&clear, sealing.encoding) {
            (ClearText::InBody(text), Encoding::Utf8) => text
                .as_ptr()
                .addr()
                .checked_sub(body.as_ptr().addr())
                .map(|start| start..start + text.len())
                // Within `body`, so it is that part of `body`: memory cannot overlap.
                .filter(|range| range.end <= body.len()),
            _ => None,
        };
        if let Some(range) = in_body {
            drop(clear);
            return sealing.seal(core::mem::take(&mut *body), range);
        }
        sealing.seal_apart(clear)
    }

    /// The ciphertext.
    fn ciphertext(&self) -> &[u8] {
        self.buffer.get(self.ciphertext.clone()).unwrap_or_default()
    }

    /// The clear text's length in bytes.
    #[must_use]
    pub fn ciphertext_len(&self) -> usize {
        self.ciphertext.len()
    }

    /// The answer as an [`Envelope`] of base64 strings.
    #[must_use]
    pub fn to_envelope(&self) -> Envelope {
        let mut envelope = Envelope::of(self.ciphertext(), &self.key, &self.tag, &self.nonce);
        if let Some((wrap, wrapped)) = &self.wrapped {
            envelope.key = None;
            envelope.wrapped_key = Some(STANDARD.encode(wrapped));
            envelope.wrap = Some(*wrap);
        }
        envelope
    }

    /// The answer's JSON, exactly as `serde_json` writes [`Answer::to_envelope`], but with each
    /// field base64-encoded straight into one buffer of the right size: no intermediate
    /// strings, no escaping pass. The key's bytes in it are wiped when it is dropped.
    #[must_use]
    pub fn to_json(&self) -> AnswerJson {
        let ciphertext = self.ciphertext();
        let wrapped_len = self.wrapped.as_ref().map_or(0, |(_, bytes)| bytes.len());
        let mut out =
            Vec::with_capacity(96 + base64_len(ciphertext.len()) + base64_len(wrapped_len.max(32)));
        out.extend_from_slice(b"{\"data\":\"");
        encode_into(&mut out, ciphertext);
        let mut key = 0..0;
        match &self.wrapped {
            None => {
                out.extend_from_slice(b"\",\"key\":\"");
                key.start = out.len();
                encode_into(&mut out, self.key.as_bytes());
                key.end = out.len();
            }
            Some((wrap, wrapped)) => {
                out.extend_from_slice(b"\",\"wrapped_key\":\"");
                encode_into(&mut out, wrapped);
                out.extend_from_slice(b"\",\"wrap\":\"");
                out.extend_from_slice(wrap.name().as_bytes());
            }
        }
        out.extend_from_slice(b"\",\"mac\":\"");
        encode_into(&mut out, self.tag.as_bytes());
        out.extend_from_slice(b"\",\"nonce\":\"");
        encode_into(&mut out, self.nonce.as_bytes());
        out.extend_from_slice(b"\"}");
        AnswerJson { bytes: out, key }
    }
}

/// The JSON of an [`Answer`], ready to send: what [`Answer::to_json`] writes.
///
/// Only the key is secret in it (the rest is ciphertext, tag, nonce, or a key wrapped for a
/// recipient), so only the key's bytes are wiped on drop: wiping a 1 MiB ciphertext byte by
/// byte cost about half as much as encrypting it (docs/BENCHMARKS.md). `Debug` shows only
/// the length.
pub struct AnswerJson {
    bytes: Vec<u8>,
    /// Where the base64 key sits in `bytes`; empty when the key is wrapped.
    key: Range<usize>,
}

impl AsRef<[u8]> for AnswerJson {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl core::ops::Deref for AnswerJson {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for AnswerJson {
    fn drop(&mut self) {
        if let Some(key) = self.bytes.get_mut(self.key.clone()) {
            key.zeroize();
        }
    }
}

impl ZeroizeOnDrop for AnswerJson {}

impl fmt::Debug for AnswerJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnswerJson")
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// The length of the padded base64 of `len` bytes.
fn base64_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

/// Appends the standard padded base64 of `bytes` to `out`, encoding in place with SIMD
/// (AVX2/SSSE3/NEON picked at run time): about 4x the `base64` crate's speed on a 1 MiB
/// ciphertext. Decoding stays with the `base64` crate's strict decoder.
fn encode_into(out: &mut Vec<u8>, bytes: &[u8]) {
    // Into the spare capacity: no zero-filling first.
    base64_simd::STANDARD.encode_append(bytes, out);
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

    /// Opens the envelope and writes the clear text in the requested encoding.
    ///
    /// # Errors
    ///
    /// Invalid base64 or lengths naming the field, [`DecryptionFailed`] if anything is not
    /// authentic, or [`Error::PlaintextNotUtf8`] for binary clear text asked for as UTF-8.
    pub fn open(&self) -> Result<DecryptResponse, Error> {
        let aad = match &self.aad {
            Some(aad) => self.encoding.decode(aad, Field::Aad)?,
            None => Zeroizing::new(Vec::new()),
        };
        let sealed = decode_sealed(&self.data, &self.key, &self.mac, &self.nonce)?;
        let plaintext = crypto::open_with(&sealed, &aad).map_err(EnvelopeError::from)?;
        Ok(DecryptResponse {
            data: self.encoding.encode(plaintext)?,
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
fn decoded_len(text: &str) -> usize {
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
    fn plain_key(&self) -> Result<&str, EnvelopeError> {
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
    fn of(ciphertext: &[u8], key: &Key, tag: &Tag, nonce: &Nonce) -> Self {
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
fn decode_sealed(data: &str, key: &str, mac: &str, nonce: &str) -> Result<Sealed, EnvelopeError> {
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
    use crate::{KeySize, NonceSize};

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

    #[test]
    fn the_direct_json_writer_matches_serde_byte_for_byte() {
        for len in (0..70).chain([1000, 65_537]) {
            for key_size in KeySize::ALL {
                for nonce_size in NonceSize::ALL {
                    let options = SealOptions::new().key_size(key_size).nonce_size(nonce_size);
                    let answer = EncryptRequest::bytes(&vec![0xa5; len], &options)
                        .into_answer()
                        .unwrap();
                    let written = answer.to_json();
                    let envelope = answer.to_envelope();
                    assert_eq!(*written, serde_json::to_vec(&envelope).unwrap(), "{len}");
                    assert_eq!(envelope.open().unwrap(), vec![0xa5; len]);
                    assert_eq!(answer.ciphertext_len(), len);
                }
            }
        }
    }

    #[test]
    fn the_answer_json_wipes_exactly_the_key() {
        let answer = EncryptRequest::text("secret").into_answer().unwrap();
        let json = answer.to_json();
        let envelope = answer.to_envelope();
        let key = envelope.key.as_deref().unwrap();
        assert_eq!(&json[json.key.clone()], key.as_bytes());
    }

    #[cfg(feature = "recipient")]
    #[test]
    fn the_direct_json_writer_matches_serde_for_a_recipient_too() {
        let bob = crate::keypair::generate(crate::keypair::Algorithm::X25519).unwrap();
        let answer = EncryptRequest::text("for Bob")
            .for_recipient(&bob.public_key_pem)
            .into_answer()
            .unwrap();
        let envelope = answer.to_envelope();
        assert_eq!(*answer.to_json(), serde_json::to_vec(&envelope).unwrap());
        assert!(envelope.key.is_none());
        let opened = crate::open_for_recipient(&envelope, &bob.private_key_pem).unwrap();
        assert_eq!(opened, b"for Bob");
    }

    #[test]
    fn debug_shows_no_field_contents() {
        let envelope = envelope_of(b"secret");
        let shown = format!("{envelope:?}");
        assert_eq!(shown, "Envelope { data_len: 8, wrap: None, .. }");
        let mut request = EncryptRequest::text("secret");
        request.aad = Some("more secret".into());
        let shown = format!("{request:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    fn decrypt(request: &DecryptRequest) -> Result<String, Error> {
        request.open().map(|response| response.data.to_string())
    }

    #[test]
    fn a_request_with_only_data_uses_the_defaults() {
        let request: EncryptRequest = serde_json::from_str(r#"{"data": "hi"}"#).unwrap();
        assert_eq!(request, EncryptRequest::text("hi"));
        let envelope = request.seal().unwrap();
        assert_eq!(
            STANDARD
                .decode(envelope.key.as_deref().unwrap().as_str())
                .unwrap()
                .len(),
            32
        );
        assert_eq!(STANDARD.decode(&envelope.nonce).unwrap().len(), 12);
    }

    #[test]
    fn options_are_read_from_json() {
        let request: EncryptRequest = serde_json::from_str(
            r#"{"data": "aGk=", "aad": "eA==", "key_bits": 128, "nonce_bits": 128, "encoding": "base64"}"#,
        )
        .unwrap();
        assert_eq!(request.key_bits, KeySize::Aes128);
        assert_eq!(request.nonce_bits, NonceSize::Bits128);
        assert_eq!(request.encoding, Encoding::Base64);
        let envelope = request.seal().unwrap();
        assert_eq!(envelope.open_with(b"x").unwrap(), b"hi");
        assert!(envelope.open().is_err());
    }

    #[test]
    fn null_options_mean_the_defaults() {
        let request: EncryptRequest = serde_json::from_str(
            r#"{"data": "x", "aad": null, "key_bits": null, "nonce_bits": null, "encoding": null}"#,
        )
        .unwrap();
        assert_eq!(request, EncryptRequest::text("x"));
    }

    #[test]
    fn invalid_options_are_refused_naming_the_allowed_values() {
        for (body, needle) in [
            (
                r#"{"data": "", "key_bits": 512}"#,
                "expected 128, 192 or 256",
            ),
            (r#"{"data": "", "nonce_bits": 64}"#, "expected 96 or 128"),
            (
                r#"{"data": "", "encoding": "hex"}"#,
                "expected `utf-8` or `base64`",
            ),
        ] {
            let err = serde_json::from_str::<EncryptRequest>(body).unwrap_err();
            assert!(err.to_string().contains(needle), "{err}");
        }
    }

    #[test]
    fn base64_encoding_encrypts_any_bytes_and_returns_them() {
        let options = SealOptions::new().aad([0xffu8, 0x00]);
        let envelope = EncryptRequest::bytes(&[0xc3, 0x28, 0x00], &options)
            .seal()
            .unwrap();
        let request = DecryptRequest::new(&envelope, &[0xff, 0x00], Encoding::Base64).unwrap();
        assert_eq!(
            decrypt(&request).unwrap(),
            STANDARD.encode([0xc3, 0x28, 0x00])
        );
    }

    #[test]
    fn binary_clear_text_asked_for_as_text_says_to_use_base64() {
        let envelope = EncryptRequest::bytes(&[0xff], &SealOptions::new())
            .seal()
            .unwrap();
        let err =
            decrypt(&DecryptRequest::new(&envelope, b"", Encoding::Utf8).unwrap()).unwrap_err();
        assert_eq!(err.code(), "plaintext_not_utf8");
        assert!(err.to_string().contains(r#""encoding": "base64""#), "{err}");
    }

    #[test]
    fn a_wrong_or_missing_aad_is_an_opaque_failure() {
        let mut request = EncryptRequest::text("hello");
        request.aad = Some("v1".into());
        let envelope = request.seal().unwrap();
        assert_eq!(
            decrypt(&DecryptRequest::new(&envelope, b"v1", Encoding::Utf8).unwrap()).unwrap(),
            "hello"
        );
        for aad in [&b""[..], b"v2"] {
            let err =
                decrypt(&DecryptRequest::new(&envelope, aad, Encoding::Utf8).unwrap()).unwrap_err();
            assert_eq!(err.code(), "decryption_failed");
        }
    }

    #[test]
    fn bad_base64_in_clear_text_fields_names_the_field() {
        let mut request = EncryptRequest::bytes(b"x", &SealOptions::new());
        request.aad = Some("%%%".into());
        let err = request.seal().unwrap_err();
        assert_eq!(err.code(), "invalid_base64");
        assert!(err.to_string().contains("`aad`"), "{err}");
    }

    /// Seals `body` as the server does and opens the answer with `aad`.
    #[cfg(feature = "server")]
    fn seal_body_and_open(body: &str, aad: &[u8]) -> Vec<u8> {
        let envelope = Answer::from_body(body.as_bytes().to_vec())
            .unwrap()
            .to_envelope();
        envelope.open_with(aad).unwrap()
    }

    #[cfg(feature = "server")]
    #[test]
    fn plain_text_is_encrypted_where_it_lies_in_the_body() {
        let body = br#"{"aad": "v1", "data": "hello, world", "key_bits": 128}"#.to_vec();
        let start = body.windows(5).position(|bytes| bytes == b"hello").unwrap();
        let address = body.as_ptr().addr();
        let answer = Answer::from_body(body).unwrap();
        assert_eq!(answer.buffer.as_ptr().addr(), address, "the body itself");
        assert_eq!(answer.ciphertext, start..start + "hello, world".len());
        let envelope = answer.to_envelope();
        assert_eq!(envelope.open_with(b"v1").unwrap(), b"hello, world");
        assert_eq!(*answer.to_json(), serde_json::to_vec(&envelope).unwrap());
        assert_eq!(
            STANDARD
                .decode(envelope.key.as_deref().unwrap().as_str())
                .unwrap()
                .len(),
            16
        );
    }

    #[cfg(feature = "server")]
    #[test]
    fn escaped_and_base64_clear_text_is_sealed_from_its_own_buffer() {
        let escaped = r#"{"data": "tab\there \"quoted\" \u00e9 \ud83d\ude00"}"#;
        assert_eq!(
            seal_body_and_open(escaped, b""),
            "tab\there \"quoted\" é 😀".as_bytes()
        );
        let base64 = r#"{"data": "wyg=", "aad": "/wA=", "encoding": "base64"}"#;
        assert_eq!(seal_body_and_open(base64, &[0xff, 0x00]), [0xc3, 0x28]);
        assert_eq!(seal_body_and_open(r#"{"data": ""}"#, b""), b"");
    }

    #[cfg(feature = "server")]
    #[test]
    fn a_body_is_refused_exactly_as_its_decoded_request_would_be() {
        // The codes and messages the derived `EncryptRequest` gave before bodies were sealed
        // in place: both paths now read through `EncryptFields`, so they are pinned here.
        for (body, code, message) in [
            (
                r#"{"data": 5}"#,
                "invalid_request",
                "field `data`: invalid type: integer, expected a string at line 1 column 10",
            ),
            (
                r#"{"data": "x", "add": 1}"#,
                "invalid_request",
                "unknown field `add`, expected one of `data`, `aad`, `key_bits`, `nonce_bits`, \
                 `encoding`, `recipient`",
            ),
            (
                r#"{"data": "x", "data": "y"}"#,
                "invalid_request",
                "duplicate field `data`",
            ),
            (
                r#"{"data": "x", "key_bits": 512}"#,
                "invalid_request",
                "field `key_bits`: invalid value: integer, expected 128, 192 or 256",
            ),
            (
                r#"{"data": "%%%", "encoding": "base64"}"#,
                "invalid_base64",
                "field `data` is not valid base64",
            ),
            (
                r#"{"data": "x", "aad": "%%%", "encoding": "base64"}"#,
                "invalid_base64",
                "field `aad` is not valid base64",
            ),
            (
                r#"{"data": "x", "recipient": null}"#,
                "invalid_request",
                "field `recipient`: invalid type: null, expected a string",
            ),
            (
                r#"{"data": "x", "recipient": "not a key"}"#,
                "invalid_recipient",
                "field `recipient` must be a public key in PEM",
            ),
            (
                r#"{"data": "x"} trailing"#,
                "malformed_json",
                "trailing characters at line 1 column 15",
            ),
            (
                r#"["x"]"#,
                "invalid_request",
                "the body must be a JSON object",
            ),
            (r#"{"aad": "x"}"#, "invalid_request", "missing field `data`"),
        ] {
            let in_body = Answer::from_body(body.as_bytes().to_vec()).unwrap_err();
            assert_eq!(in_body.code(), code, "{body}");
            assert!(in_body.to_string().contains(message), "{body}: {in_body}");
            let decoded = crate::body::parse_object::<EncryptRequest>(body.as_bytes())
                .and_then(EncryptRequest::into_answer)
                .unwrap_err();
            assert_eq!(
                (in_body.code(), in_body.to_string()),
                (decoded.code(), decoded.to_string()),
                "{body}"
            );
        }
    }
}
