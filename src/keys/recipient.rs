//! Sealing for a recipient: the AES key of an [`Envelope`] wrapped to a public key, so only
//! the holder of the private key can open it.
//!
//! RSA keys get RSA-OAEP with SHA-256 and MGF1-SHA-256 (aws-lc-rs); X25519 keys get HPKE
//! (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (the `hpke`
//! crate). [`Wrap`] documents the exact bytes of `wrapped_key`.
//!
//! ```
//! use gcm_oracle::{Algorithm, EncryptRequest, Keypair, open_for_recipient};
//!
//! let bob = Keypair::generate(Algorithm::X25519).unwrap();
//! // Alice seals for Bob's public key (what `"recipient"` does on the server)…
//! let envelope = EncryptRequest::text("for Bob").for_recipient(&bob.public_key_pem).seal().unwrap();
//! assert!(envelope.key.is_none());
//! // …and only Bob's private key opens it.
//! assert_eq!(open_for_recipient(&envelope, &bob.private_key_pem).unwrap(), b"for Bob");
//! ```

use core::fmt;

use aws_lc_rs::rsa::{
    OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use hpke::aead::AesGcm256;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use pkcs8::der::asn1::{Null, OctetStringRef};
use pkcs8::der::{Decode as _, Encode as _};
use pkcs8::{AlgorithmIdentifierRef, ObjectIdentifier, PrivateKeyInfo, SecretDocument};
use spki::SubjectPublicKeyInfoRef;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::crypto::{DecryptionFailed, Key};
use crate::wire::envelope::{self, Envelope, EnvelopeError, Field, Wrap};

/// `id-X25519` (RFC 8410).
pub(crate) const X25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
/// `rsaEncryption` (RFC 8017).
const RSA_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// `id-ecPublicKey` (RFC 5480).
const EC_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `id-Ed25519` (RFC 8410).
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// HPKE's `info` for a wrapped key: binds the wrap to this use.
pub const HPKE_INFO: &[u8] = b"gcm-oracle wrapped key";

/// The largest RSA recipient key, in bits. Larger keys cost a request thread far more for no
/// security a 4096-bit key lacks (an RSA-8192 batch of 1000 items held a worker for a second).
pub const MAX_RSA_BITS: usize = 4096;

/// What the recipient keys may be, for error messages.
const ACCEPTED: &str = "accepted are RSA (2048 to 4096 bits; wrapped with rsa-oaep-sha256) and \
                        X25519 (wrapped with hpke-x25519-sha256-aes256gcm)";

/// Why a key could not be wrapped for a recipient or unwrapped by one.
///
/// Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecipientError {
    /// `recipient` is not a public key in SubjectPublicKeyInfo PEM.
    #[error(
        "field `recipient` must be a public key in PEM, `-----BEGIN PUBLIC KEY-----` \
         (SubjectPublicKeyInfo); {ACCEPTED}"
    )]
    InvalidPublicKey,
    /// `recipient` is a public key of a kind that cannot be wrapped for.
    #[error("field `recipient` holds {found}; {ACCEPTED}")]
    UnsupportedPublicKey {
        /// What the key is, e.g. `an Ed25519 public key`.
        found: &'static str,
    },
    /// `recipient` is an X25519 or RSA public key of the right kind that cannot be used: a
    /// low-order X25519 point, or an RSA key aws-lc rejects (e.g. an even exponent).
    #[error("field `recipient` is not a usable public key: {0}")]
    UnusablePublicKey(&'static str),
    /// The private key is not an RSA or X25519 key in PKCS#8 (or PKCS#1 for RSA) PEM.
    #[error(
        "the private key must be PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`) holding an RSA or \
         X25519 key, or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`)"
    )]
    InvalidPrivateKey,
    /// The private key is of the other kind than the envelope's `wrap` needs.
    #[error("the envelope's key is wrapped with {wrap}, which needs {needs} private key")]
    WrongKeyType {
        /// The envelope's scheme.
        wrap: Wrap,
        /// `an RSA` or `an X25519`.
        needs: &'static str,
    },
    /// The envelope's key is not wrapped: it is in `key`.
    #[error(
        "the envelope carries its key in `key`, not wrapped for a recipient: open it without a private key"
    )]
    NotWrapped,
    /// An envelope field is malformed, or the message is not authentic.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

impl From<DecryptionFailed> for RecipientError {
    fn from(err: DecryptionFailed) -> Self {
        Self::Envelope(err.into())
    }
}

/// A recipient's public key, ready to wrap AES keys for.
pub struct Recipient(PublicKey);

enum PublicKey {
    Rsa(OaepPublicEncryptingKey),
    X25519(<X25519HkdfSha256 as hpke::Kem>::PublicKey),
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Recipient").field(&self.wrap()).finish()
    }
}

impl Recipient {
    /// Reads a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`): RSA or X25519.
    ///
    /// # Errors
    ///
    /// [`RecipientError::InvalidPublicKey`] if it is not one,
    /// [`RecipientError::UnsupportedPublicKey`] for other key types and RSA sizes.
    pub fn from_pem(pem: &str) -> Result<Self, RecipientError> {
        let (label, document) =
            spki::Document::from_pem(pem.trim()).map_err(|_| RecipientError::InvalidPublicKey)?;
        if label != "PUBLIC KEY" {
            return Err(RecipientError::InvalidPublicKey);
        }
        Self::from_der(document.as_bytes())
    }

    /// Reads a DER SubjectPublicKeyInfo: RSA or X25519 (what [`Recipient::from_pem`] reads,
    /// without the PEM armour).
    ///
    /// # Errors
    ///
    /// As [`Recipient::from_pem`].
    pub fn from_der(der: &[u8]) -> Result<Self, RecipientError> {
        let info =
            SubjectPublicKeyInfoRef::from_der(der).map_err(|_| RecipientError::InvalidPublicKey)?;
        let unsupported = |found| RecipientError::UnsupportedPublicKey { found };
        let key = match info.algorithm.oid {
            RSA_OID => {
                let key = PublicEncryptingKey::from_der(der).map_err(|_| {
                    RecipientError::UnusablePublicKey(
                        "aws-lc rejects this RSA key (size outside 2048 to 8192 bits, or a bad exponent or encoding)",
                    )
                })?;
                if key.key_size_bits() > MAX_RSA_BITS {
                    return Err(unsupported("an RSA public key over 4096 bits"));
                }
                PublicKey::Rsa(OaepPublicEncryptingKey::new(key).map_err(|_| {
                    RecipientError::UnusablePublicKey("this RSA key cannot do OAEP")
                })?)
            }
            X25519_OID => {
                let bytes = info
                    .subject_public_key
                    .as_bytes()
                    .ok_or(RecipientError::InvalidPublicKey)?;
                PublicKey::X25519(
                    <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(bytes)
                        .map_err(|_| RecipientError::InvalidPublicKey)?,
                )
            }
            EC_OID => return Err(unsupported("an elliptic-curve (ECDSA) public key")),
            ED25519_OID => return Err(unsupported("an Ed25519 public key")),
            _ => return Err(unsupported("a public key of an unknown algorithm")),
        };
        Ok(Self(key))
    }

    /// The scheme this recipient's keys are wrapped with.
    #[must_use]
    pub fn wrap(&self) -> Wrap {
        match self.0 {
            PublicKey::Rsa(_) => Wrap::RsaOaepSha256,
            PublicKey::X25519(_) => Wrap::HpkeX25519Sha256Aes256Gcm,
        }
    }

    /// Encrypts `key` to this recipient, laid out as [`Wrap`] describes.
    ///
    /// # Errors
    ///
    /// [`RecipientError::UnusablePublicKey`] for a low-order X25519 point, or if the crypto
    /// library fails.
    pub fn wrap_key(&self, key: &Key) -> Result<Vec<u8>, RecipientError> {
        match &self.0 {
            PublicKey::Rsa(public) => {
                let mut out = vec![0; public.ciphertext_size()];
                let len = public
                    .encrypt(&OAEP_SHA256_MGF1SHA256, key.as_bytes(), &mut out, None)
                    .map_err(|_| RecipientError::UnusablePublicKey("RSA-OAEP encryption failed"))?
                    .len();
                out.truncate(len);
                Ok(out)
            }
            PublicKey::X25519(public) => {
                let (enc, ciphertext) = hpke::single_shot_seal::<
                    AesGcm256,
                    HkdfSha256,
                    X25519HkdfSha256,
                >(
                    &OpModeS::Base, public, HPKE_INFO, key.as_bytes(), &[]
                )
                // The only way this fails: an all-zero shared secret, from a low-order point.
                .map_err(|_| RecipientError::UnusablePublicKey("a low-order X25519 point"))?;
                let mut out = enc.to_bytes().to_vec();
                out.extend_from_slice(&ciphertext);
                Ok(out)
            }
        }
    }
}

/// The last recipient key parsed, by its PEM: a batch sealing many items for one recipient
/// parses the key once.
#[derive(Debug, Default)]
pub struct RecipientCache {
    last: Option<(String, std::sync::Arc<Recipient>)>,
}

impl RecipientCache {
    /// The recipient `pem` holds, parsed now or reused from the previous call.
    ///
    /// # Errors
    ///
    /// As [`Recipient::from_pem`].
    pub fn get(&mut self, pem: &str) -> Result<std::sync::Arc<Recipient>, RecipientError> {
        if let Some((last_pem, recipient)) = &self.last
            && last_pem == pem
        {
            return Ok(recipient.clone());
        }
        let recipient = std::sync::Arc::new(Recipient::from_pem(pem)?);
        self.last = Some((pem.to_owned(), recipient.clone()));
        Ok(recipient)
    }
}

/// A recipient's private key, to unwrap AES keys with.
pub struct PrivateKey(SecretKey);

enum SecretKey {
    Rsa(OaepPrivateDecryptingKey),
    X25519(<X25519HkdfSha256 as hpke::Kem>::PrivateKey),
}

// Both kinds wipe themselves, inside their crates: aws-lc frees an RSA key's numbers with
// OPENSSL_free, which cleanses every allocation; hpke's X25519 key is x25519-dalek's
// StaticSecret, zeroized on drop (hpke turns on its `zeroize` feature).
impl ZeroizeOnDrop for PrivateKey {}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 {
            SecretKey::Rsa(_) => "RSA",
            SecretKey::X25519(_) => "X25519",
        };
        f.debug_tuple("PrivateKey").field(&kind).finish()
    }
}

impl PrivateKey {
    /// Reads a private key in PEM: PKCS#8 (`-----BEGIN PRIVATE KEY-----`) holding an RSA or
    /// X25519 key, as `POST /keypair/` and `gcm-oracle keypair` write it, or an RSA key in
    /// PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`).
    ///
    /// # Errors
    ///
    /// [`RecipientError::InvalidPrivateKey`] for anything else.
    pub fn from_pem(pem: &str) -> Result<Self, RecipientError> {
        let (label, document) =
            SecretDocument::from_pem(pem.trim()).map_err(invalid_private_key)?;
        let pkcs8 = match label {
            "PRIVATE KEY" => document,
            "RSA PRIVATE KEY" => rsa_pkcs1_to_pkcs8(document.as_bytes())?,
            _ => return Err(RecipientError::InvalidPrivateKey),
        };
        let info = PrivateKeyInfo::from_der(pkcs8.as_bytes()).map_err(invalid_private_key)?;
        let key = match info.algorithm.oid {
            RSA_OID => {
                let key = PrivateDecryptingKey::from_pkcs8(pkcs8.as_bytes())
                    .map_err(invalid_private_key)?;
                SecretKey::Rsa(OaepPrivateDecryptingKey::new(key).map_err(invalid_private_key)?)
            }
            X25519_OID => {
                let seed = x25519_seed(pkcs8.as_bytes())?;
                SecretKey::X25519(
                    <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(&seed[..])
                        .map_err(invalid_private_key)?,
                )
            }
            _ => return Err(RecipientError::InvalidPrivateKey),
        };
        Ok(Self(key))
    }

    /// Decrypts a wrapped AES key.
    ///
    /// # Errors
    ///
    /// [`RecipientError::WrongKeyType`] if `wrap` needs the other kind of key; a
    /// [`DecryptionFailed`] (as [`RecipientError::Envelope`]) if the wrapped key was not made
    /// for this private key or was altered.
    pub fn unwrap_key(&self, wrap: Wrap, wrapped: &[u8]) -> Result<Key, RecipientError> {
        let raw = match (&self.0, wrap) {
            (SecretKey::Rsa(private), Wrap::RsaOaepSha256) => {
                let mut out = Zeroizing::new(vec![0; private.min_output_size()]);
                let len = private
                    .decrypt(&OAEP_SHA256_MGF1SHA256, wrapped, &mut out, None)
                    .map_err(|_| DecryptionFailed)?
                    .len();
                out.truncate(len);
                out
            }
            (SecretKey::X25519(private), Wrap::HpkeX25519Sha256Aes256Gcm) => {
                let enc_len = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::size();
                let (enc, ciphertext) =
                    wrapped.split_at_checked(enc_len).ok_or(DecryptionFailed)?;
                let enc = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(enc)
                    .map_err(|_| DecryptionFailed)?;
                Zeroizing::new(
                    hpke::single_shot_open::<AesGcm256, HkdfSha256, X25519HkdfSha256>(
                        &OpModeR::Base,
                        private,
                        &enc,
                        HPKE_INFO,
                        ciphertext,
                        &[],
                    )
                    .map_err(|_| DecryptionFailed)?,
                )
            }
            (SecretKey::Rsa(_), wrap) => {
                return Err(RecipientError::WrongKeyType {
                    wrap,
                    needs: "an X25519",
                });
            }
            (SecretKey::X25519(_), wrap) => {
                return Err(RecipientError::WrongKeyType {
                    wrap,
                    needs: "an RSA",
                });
            }
        };
        // Only this library's wraps are authentic, and they hold a whole AES key.
        Ok(Key::try_from(&raw[..]).map_err(|_| DecryptionFailed)?)
    }
}

/// Opens an envelope sealed for a recipient (no associated data) with the recipient's
/// private key in PEM (see [`PrivateKey::from_pem`]).
///
/// # Errors
///
/// [`RecipientError::NotWrapped`] for an envelope that carries its `key`; a malformed key or
/// field; [`RecipientError::WrongKeyType`]; and one opaque
/// [`DecryptionFailed`](EnvelopeError::DecryptionFailed) for a wrong private key or an altered
/// envelope, whatever the cause.
pub fn open_for_recipient(
    envelope: &Envelope,
    private_key_pem: &str,
) -> Result<Vec<u8>, RecipientError> {
    open_for_recipient_with(envelope, private_key_pem, &[])
}

/// As [`open_for_recipient`], for an envelope sealed with associated data `aad`.
///
/// # Errors
///
/// As [`open_for_recipient`]; a wrong `aad` is a decryption failure.
pub fn open_for_recipient_with(
    envelope: &Envelope,
    private_key_pem: &str,
    aad: &[u8],
) -> Result<Vec<u8>, RecipientError> {
    let (wrapped, wrap) = match (&envelope.wrapped_key, envelope.wrap) {
        _ if envelope.key.is_some() && envelope.wrapped_key.is_some() => {
            Err(EnvelopeError::Ambiguous)?
        }
        (Some(wrapped), Some(wrap)) => (wrapped, wrap),
        (None, None) if envelope.key.is_some() => return Err(RecipientError::NotWrapped),
        (None, Some(_)) => Err(EnvelopeError::Ambiguous)?,
        (None, _) => Err(EnvelopeError::Missing {
            field: Field::WrappedKey,
        })?,
        (Some(_), None) => Err(EnvelopeError::Missing { field: Field::Wrap })?,
    };
    let private = PrivateKey::from_pem(private_key_pem)?;
    let key = private.unwrap_key(wrap, &envelope::decode(wrapped, Field::WrappedKey)?)?;
    Ok(envelope.open_with_key(key, aad)?)
}

/// The 32-byte X25519 private key inside an RFC 8410 PKCS#8 document.
pub(crate) fn x25519_seed(pkcs8: &[u8]) -> Result<Zeroizing<[u8; 32]>, RecipientError> {
    let info = PrivateKeyInfo::from_der(pkcs8).map_err(invalid_private_key)?;
    if info.algorithm.oid != X25519_OID {
        return Err(RecipientError::InvalidPrivateKey);
    }
    // CurvePrivateKey ::= OCTET STRING, itself inside PrivateKeyInfo's privateKey.
    let inner = OctetStringRef::from_der(info.private_key).map_err(invalid_private_key)?;
    let seed: [u8; 32] = inner.as_bytes().try_into().map_err(invalid_private_key)?;
    Ok(Zeroizing::new(seed))
}

fn invalid_private_key<E>(_: E) -> RecipientError {
    RecipientError::InvalidPrivateKey
}

/// Wraps a PKCS#1 `RSAPrivateKey` in a PKCS#8 `PrivateKeyInfo`, which aws-lc-rs reads.
fn rsa_pkcs1_to_pkcs8(pkcs1: &[u8]) -> Result<SecretDocument, RecipientError> {
    let null = Null.to_der().map_err(invalid_private_key)?;
    let parameters = pkcs8::der::AnyRef::from_der(&null).map_err(invalid_private_key)?;
    let info = PrivateKeyInfo::new(
        AlgorithmIdentifierRef {
            oid: RSA_OID,
            parameters: Some(parameters),
        },
        pkcs1,
    );
    SecretDocument::encode_msg(&info).map_err(invalid_private_key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::keys::keypair::{Algorithm, generate};
    use crate::{EncryptRequest, KeySize, NonceSize, SealOptions};

    fn sealed_for(pem: &str, data: &str) -> Envelope {
        EncryptRequest::text(data)
            .for_recipient(pem)
            .seal()
            .unwrap()
    }

    #[test]
    fn rsa_and_x25519_recipients_open_with_their_private_keys() {
        for algorithm in [Algorithm::Rsa2048, Algorithm::X25519] {
            let bob = generate(algorithm).unwrap();
            let envelope = sealed_for(&bob.public_key_pem, "for Bob");
            assert!(envelope.key.is_none());
            let expected = if algorithm == Algorithm::X25519 {
                Wrap::HpkeX25519Sha256Aes256Gcm
            } else {
                Wrap::RsaOaepSha256
            };
            assert_eq!(envelope.wrap, Some(expected));
            let plaintext = open_for_recipient(&envelope, &bob.private_key_pem).unwrap();
            assert_eq!(plaintext, b"for Bob");
        }
    }

    #[test]
    fn wrapped_key_layout_is_as_documented() {
        let rsa = generate(Algorithm::Rsa2048).unwrap();
        let wrapped = sealed_for(&rsa.public_key_pem, "x").wrapped_key.unwrap();
        assert_eq!(STANDARD.decode(wrapped).unwrap().len(), 256);

        let x25519 = generate(Algorithm::X25519).unwrap();
        for key_size in KeySize::ALL {
            let options = SealOptions::new()
                .key_size(key_size)
                .nonce_size(NonceSize::Bits128);
            let envelope = EncryptRequest::bytes(b"x", &options)
                .for_recipient(&x25519.public_key_pem)
                .seal()
                .unwrap();
            let wrapped = STANDARD
                .decode(envelope.wrapped_key.as_ref().unwrap())
                .unwrap();
            assert_eq!(wrapped.len(), 32 + key_size.byte_len() + 16);
            assert_eq!(
                open_for_recipient(&envelope, &x25519.private_key_pem).unwrap(),
                b"x"
            );
        }
    }

    #[test]
    fn a_wrong_private_key_of_the_right_type_is_one_opaque_failure() {
        for algorithm in [Algorithm::Rsa2048, Algorithm::X25519] {
            let (bob, eve) = (generate(algorithm).unwrap(), generate(algorithm).unwrap());
            let envelope = sealed_for(&bob.public_key_pem, "secret");
            let err = open_for_recipient(&envelope, &eve.private_key_pem).unwrap_err();
            assert_eq!(
                err,
                RecipientError::Envelope(EnvelopeError::DecryptionFailed(DecryptionFailed))
            );
        }
    }

    #[test]
    fn a_private_key_of_the_other_type_says_which_is_needed() {
        let (rsa, x25519) = (
            generate(Algorithm::Rsa2048).unwrap(),
            generate(Algorithm::X25519).unwrap(),
        );
        let envelope = sealed_for(&rsa.public_key_pem, "secret");
        let err = open_for_recipient(&envelope, &x25519.private_key_pem).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the envelope's key is wrapped with rsa-oaep-sha256, which needs an RSA private key"
        );
    }

    #[test]
    fn an_altered_wrapped_key_or_ciphertext_fails() {
        let bob = generate(Algorithm::X25519).unwrap();
        let envelope = sealed_for(&bob.public_key_pem, "secret");
        let mut wrapped = STANDARD
            .decode(envelope.wrapped_key.as_ref().unwrap())
            .unwrap();
        wrapped[40] ^= 1;
        let altered = Envelope {
            wrapped_key: Some(STANDARD.encode(&wrapped)),
            ..envelope.clone()
        };
        assert!(matches!(
            open_for_recipient(&altered, &bob.private_key_pem),
            Err(RecipientError::Envelope(EnvelopeError::DecryptionFailed(_)))
        ));
        let short = Envelope {
            wrapped_key: Some(STANDARD.encode(&wrapped[..20])),
            ..envelope.clone()
        };
        assert!(matches!(
            open_for_recipient(&short, &bob.private_key_pem),
            Err(RecipientError::Envelope(EnvelopeError::DecryptionFailed(_)))
        ));
        let mut data = STANDARD.decode(&envelope.data).unwrap();
        data[0] ^= 1;
        let altered = Envelope {
            data: STANDARD.encode(&data),
            ..envelope
        };
        assert!(matches!(
            open_for_recipient(&altered, &bob.private_key_pem),
            Err(RecipientError::Envelope(EnvelopeError::DecryptionFailed(_)))
        ));
    }

    #[test]
    fn other_public_keys_are_refused_listing_what_is_accepted() {
        for algorithm in [
            Algorithm::EcdsaP256,
            Algorithm::EcdsaP384,
            Algorithm::Ed25519,
        ] {
            let pair = generate(algorithm).unwrap();
            let err = Recipient::from_pem(&pair.public_key_pem).unwrap_err();
            assert!(
                matches!(err, RecipientError::UnsupportedPublicKey { .. }),
                "{algorithm}: {err}"
            );
            let message = err.to_string();
            assert!(
                message.contains("RSA") && message.contains("X25519"),
                "{message}"
            );
        }
        for not_a_key in [
            "",
            "hello",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        ] {
            assert_eq!(
                Recipient::from_pem(not_a_key).unwrap_err(),
                RecipientError::InvalidPublicKey
            );
        }
        // A private key where the public one belongs is refused, and not echoed.
        let pair = generate(Algorithm::X25519).unwrap();
        let err = Recipient::from_pem(&pair.private_key_pem).unwrap_err();
        assert_eq!(err, RecipientError::InvalidPublicKey);
    }

    #[test]
    fn rsa_keys_over_4096_bits_and_low_order_x25519_points_are_refused() {
        let rsa = PrivateDecryptingKey::generate(aws_lc_rs::rsa::KeySize::Rsa8192).unwrap();
        let der = aws_lc_rs::encoding::AsDer::as_der(&rsa.public_key()).unwrap();
        let pem = spki::Document::try_from(der.as_ref())
            .unwrap()
            .to_pem("PUBLIC KEY", pkcs8::LineEnding::LF)
            .unwrap();
        let err = Recipient::from_pem(&pem).unwrap_err();
        assert!(err.to_string().contains("over 4096 bits"), "{err}");

        // SPKI { id-X25519, BIT STRING of 32 zero bytes }: the all-zero, low-order point.
        let mut zero = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
        ];
        zero.extend([0; 32]);
        let pem = spki::Document::try_from(&zero[..])
            .unwrap()
            .to_pem("PUBLIC KEY", pkcs8::LineEnding::LF)
            .unwrap();
        let recipient = Recipient::from_pem(&pem).unwrap();
        let err = recipient
            .wrap_key(&Key::generate(KeySize::Aes256))
            .unwrap_err();
        assert_eq!(
            err,
            RecipientError::UnusablePublicKey("a low-order X25519 point")
        );
    }

    #[test]
    fn an_envelope_with_both_a_key_and_a_wrapped_key_is_refused() {
        let bob = generate(Algorithm::X25519).unwrap();
        let wrapped = sealed_for(&bob.public_key_pem, "x");
        let both = Envelope {
            key: Envelope::from(crate::seal(b"y")).key,
            ..wrapped
        };
        assert_eq!(
            open_for_recipient(&both, &bob.private_key_pem).unwrap_err(),
            RecipientError::Envelope(EnvelopeError::Ambiguous)
        );
        assert_eq!(both.open().unwrap_err(), EnvelopeError::Ambiguous);
    }

    #[test]
    fn a_batch_cache_parses_a_repeated_recipient_once() {
        let bob = generate(Algorithm::X25519).unwrap();
        let mut cache = RecipientCache::default();
        let first = cache.get(&bob.public_key_pem).unwrap();
        let second = cache.get(&bob.public_key_pem).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, &second));
        let other = generate(Algorithm::X25519).unwrap();
        let third = cache.get(&other.public_key_pem).unwrap();
        assert!(!std::sync::Arc::ptr_eq(&first, &third));
    }

    #[test]
    fn plain_envelopes_are_not_opened_with_a_private_key() {
        let bob = generate(Algorithm::X25519).unwrap();
        let envelope = Envelope::from(crate::seal(b"x"));
        assert_eq!(
            open_for_recipient(&envelope, &bob.private_key_pem).unwrap_err(),
            RecipientError::NotWrapped
        );
        let wrapped = sealed_for(&bob.public_key_pem, "x");
        assert_eq!(wrapped.open().unwrap_err(), EnvelopeError::Wrapped);
    }

    #[test]
    fn rsa_private_keys_are_read_in_pkcs1_form_too() {
        let bob = generate(Algorithm::Rsa2048).unwrap();
        let (_, pkcs8) = SecretDocument::from_pem(&bob.private_key_pem).unwrap();
        let info = PrivateKeyInfo::from_der(pkcs8.as_bytes()).unwrap();
        let pkcs1 = SecretDocument::try_from(info.private_key)
            .unwrap()
            .to_pem("RSA PRIVATE KEY", pkcs8::LineEnding::LF)
            .unwrap();
        let envelope = sealed_for(&bob.public_key_pem, "pkcs1");
        assert_eq!(open_for_recipient(&envelope, &pkcs1).unwrap(), b"pkcs1");
    }
}
