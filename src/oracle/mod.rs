//! One request to one answer, without HTTP: sealing an [`EncryptRequest`] into an [`Answer`]
//! (and writing its JSON), opening a [`DecryptRequest`]. The wire types are read and written in
//! [`crate::wire::envelope`]; the cryptography is [`crate::crypto`]'s; this module joins them and is
//! where their errors become the library's [`Error`].

pub(crate) mod error;
pub(crate) mod stream;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use core::fmt;
use core::ops::Range;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::{self, Key, Nonce, SealOptions, Tag};
use crate::oracle::error::Error;
use crate::wire::envelope::{Envelope, EnvelopeError, Field, Wrap, decode_sealed};
use crate::wire::request::{
    ClearText, DecryptRequest, DecryptResponse, Encoding, EncryptFields, EncryptRequest,
};

/// Writes clear-text bytes in `encoding`: the `data` a decryption answers with.
fn encode_clear(encoding: Encoding, bytes: Vec<u8>) -> Result<Zeroizing<String>, Error> {
    match encoding {
        Encoding::Utf8 => String::from_utf8(bytes).map(Zeroizing::new).map_err(|err| {
            drop(Zeroizing::new(err.into_bytes()));
            Error::PlaintextNotUtf8
        }),
        Encoding::Base64 => {
            let bytes = Zeroizing::new(bytes);
            Ok(Zeroizing::new(STANDARD.encode(&*bytes)))
        }
    }
}

impl EncryptRequest {
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
        return self.into_answer_cached(&mut crate::keys::recipient::RecipientCache::default());
        #[cfg(not(feature = "recipient"))]
        self.into_answer_cached()
    }

    /// As [`EncryptRequest::into_answer`], reusing a recipient key parsed for an earlier item
    /// of the same batch.
    pub(crate) fn into_answer_cached(
        self,
        #[cfg(feature = "recipient")] recipients: &mut crate::keys::recipient::RecipientCache,
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
        #[cfg(feature = "recipient")] recipients: &mut crate::keys::recipient::RecipientCache,
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
    recipient: Option<std::sync::Arc<crate::keys::recipient::Recipient>>,
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
    /// As [`crate::wire::json::parse_object`] and [`EncryptRequest::seal`].
    #[cfg(feature = "server")]
    pub fn from_body(body: Vec<u8>) -> Result<Self, Error> {
        let mut body = Zeroizing::new(body);
        let fields: EncryptFields<'_> = crate::wire::json::parse_object(&body)?;
        let (clear, sealing) =
            fields.prepare(&mut crate::keys::recipient::RecipientCache::default())?;
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
    pub fn to_json(&self) -> EnvelopeJson {
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
        EnvelopeJson { bytes: out, key }
    }
}

/// The JSON of an [`Answer`], ready to send: what [`Answer::to_json`] writes.
///
/// Only the key is secret in it (the rest is ciphertext, tag, nonce, or a key wrapped for a
/// recipient), so only the key's bytes are wiped on drop: wiping a 1 MiB ciphertext byte by
/// byte cost about half as much as encrypting it (docs/BENCHMARKS.md). `Debug` shows only
/// the length.
pub struct EnvelopeJson {
    bytes: Vec<u8>,
    /// Where the base64 key sits in `bytes`; empty when the key is wrapped.
    key: Range<usize>,
}

impl AsRef<[u8]> for EnvelopeJson {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl core::ops::Deref for EnvelopeJson {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for EnvelopeJson {
    fn drop(&mut self) {
        if let Some(key) = self.bytes.get_mut(self.key.clone()) {
            key.zeroize();
        }
    }
}

impl ZeroizeOnDrop for EnvelopeJson {}

impl fmt::Debug for EnvelopeJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvelopeJson")
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

impl DecryptRequest {
    /// Opens the envelope and writes the clear text in the requested encoding.
    ///
    /// # Errors
    ///
    /// Invalid base64 or lengths naming the field, [`DecryptionFailed`](crate::DecryptionFailed) if anything is not
    /// authentic, or [`Error::PlaintextNotUtf8`] for binary clear text asked for as UTF-8.
    pub fn open(&self) -> Result<DecryptResponse, Error> {
        let aad = match &self.aad {
            Some(aad) => self.encoding.decode(aad, Field::Aad)?,
            None => Zeroizing::new(Vec::new()),
        };
        let sealed = decode_sealed(&self.data, &self.key, &self.mac, &self.nonce)?;
        let plaintext = crypto::open_with(&sealed, &aad).map_err(EnvelopeError::from)?;
        Ok(DecryptResponse {
            data: encode_clear(self.encoding, plaintext)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::{KeySize, NonceSize, seal};

    fn envelope_of(plaintext: &[u8]) -> Envelope {
        Envelope::from(&seal(plaintext))
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
        let bob = crate::keys::keypair::generate(crate::keys::keypair::Algorithm::X25519).unwrap();
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
                "an unknown field, expected one of `data`, `aad`, `key_bits`, `nonce_bits`, \
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
            let decoded = crate::wire::json::parse_object::<EncryptRequest>(body.as_bytes())
                .map_err(Error::from)
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
