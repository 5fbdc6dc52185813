//! Fresh asymmetric key pairs, handed out and forgotten: PKCS#8 private key and
//! SubjectPublicKeyInfo public key, both PEM.
//!
//! Generation is aws-lc-rs's; this module only picks the algorithm and writes the PEM.

use core::fmt;

use aws_lc_rs::encoding::{AsBigEndian as _, AsDer as _, Curve25519SeedBin};
use aws_lc_rs::signature::KeyPair as _;
use aws_lc_rs::{agreement, rsa, signature};
use pkcs8::der::Encode as _;
use pkcs8::der::asn1::OctetStringRef;
use pkcs8::der::pem::LineEnding;
use pkcs8::{AlgorithmIdentifierRef, PrivateKeyInfo, SecretDocument};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keys::recipient::X25519_OID;

/// A key-pair algorithm `POST /keypair/` and `gcm-oracle keypair` generate.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, clap::ValueEnum))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSA, 2048-bit modulus, public exponent 65537.
    #[serde(rename = "rsa-2048")]
    #[cfg_attr(feature = "server", value(name = "rsa-2048"))]
    Rsa2048,
    /// RSA, 3072-bit modulus.
    #[serde(rename = "rsa-3072")]
    #[cfg_attr(feature = "server", value(name = "rsa-3072"))]
    Rsa3072,
    /// RSA, 4096-bit modulus.
    #[serde(rename = "rsa-4096")]
    #[cfg_attr(feature = "server", value(name = "rsa-4096"))]
    Rsa4096,
    /// ECDSA on NIST P-256.
    #[serde(rename = "ecdsa-p256")]
    #[cfg_attr(feature = "server", value(name = "ecdsa-p256"))]
    EcdsaP256,
    /// ECDSA on NIST P-384.
    #[serde(rename = "ecdsa-p384")]
    #[cfg_attr(feature = "server", value(name = "ecdsa-p384"))]
    EcdsaP384,
    /// Ed25519 signatures (RFC 8032).
    #[serde(rename = "ed25519")]
    #[cfg_attr(feature = "server", value(name = "ed25519"))]
    Ed25519,
    /// X25519 key agreement (RFC 7748): the key type HPKE recipients use.
    #[serde(rename = "x25519")]
    #[cfg_attr(feature = "server", value(name = "x25519"))]
    X25519,
}

impl Algorithm {
    /// Every algorithm, in the order documentation lists them.
    pub const ALL: [Self; 7] = [
        Self::Rsa2048,
        Self::Rsa3072,
        Self::Rsa4096,
        Self::EcdsaP256,
        Self::EcdsaP384,
        Self::Ed25519,
        Self::X25519,
    ];

    /// The name on the wire and on the command line: `rsa-2048`, `x25519`, …
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa2048 => "rsa-2048",
            Self::Rsa3072 => "rsa-3072",
            Self::Rsa4096 => "rsa-4096",
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
            Self::Ed25519 => "ed25519",
            Self::X25519 => "x25519",
        }
    }

    /// RSA generation searches for primes: tens of milliseconds to seconds of CPU, where the
    /// others take microseconds. The server runs slow ones off its request threads.
    #[must_use]
    pub fn is_slow(self) -> bool {
        matches!(self, Self::Rsa2048 | Self::Rsa3072 | Self::Rsa4096)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Body of `POST /keypair/`.
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeypairRequest {
    /// Which kind of key pair to generate.
    pub algorithm: Algorithm,
}

/// A fresh key pair: the answer of `POST /keypair/`. Nothing of it is kept by the server.
///
/// The private key string is zeroized when dropped, and `Debug` shows only the algorithm.
// No `PartialEq`: comparing private keys should not be one `==` away (nor variable-time).
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keypair {
    /// The algorithm, as requested.
    pub algorithm: Algorithm,
    /// The private key: PKCS#8 (RFC 5208) PEM, `-----BEGIN PRIVATE KEY-----`.
    #[cfg_attr(feature = "server", schema(value_type = String))]
    pub private_key_pem: Zeroizing<String>,
    /// The public key: SubjectPublicKeyInfo (RFC 5280) PEM, `-----BEGIN PUBLIC KEY-----`.
    pub public_key_pem: String,
}

zeroize_on_drop_by_fields!(Keypair { private_key_pem });

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Key generation failed inside the crypto library (it does not for valid algorithms; the
/// error keeps the path total).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {0} key pair could not be generated")]
pub struct KeygenFailed(pub Algorithm);

/// Generates a fresh key pair from the operating system's CSPRNG: what
/// [`Keypair::generate`] does.
///
/// ```
/// use gcm_oracle::{Algorithm, Keypair};
///
/// let pair = Keypair::generate(Algorithm::X25519).unwrap();
/// assert!(pair.private_key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
/// assert!(pair.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
/// ```
///
/// # Errors
///
/// [`KeygenFailed`] if the crypto library fails.
impl Keypair {
    /// Generates a fresh key pair from the operating system's CSPRNG.
    ///
    /// # Errors
    ///
    /// [`KeygenFailed`] if the crypto library fails.
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeygenFailed> {
        generate(algorithm)
    }
}

pub(crate) fn generate(algorithm: Algorithm) -> Result<Keypair, KeygenFailed> {
    pem_pair(algorithm).map_err(|Failed| KeygenFailed(algorithm))
}

fn pem_pair(algorithm: Algorithm) -> Result<Keypair, Failed> {
    let (private_der, public_der) = match algorithm {
        Algorithm::Rsa2048 => rsa_pair(rsa::KeySize::Rsa2048),
        Algorithm::Rsa3072 => rsa_pair(rsa::KeySize::Rsa3072),
        Algorithm::Rsa4096 => rsa_pair(rsa::KeySize::Rsa4096),
        Algorithm::EcdsaP256 => ecdsa_pair(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
        Algorithm::EcdsaP384 => ecdsa_pair(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        Algorithm::Ed25519 => ed25519_pair(),
        Algorithm::X25519 => x25519_pair(),
    }?;
    Ok(Keypair {
        algorithm,
        private_key_pem: SecretDocument::try_from(&private_der[..])?
            .to_pem("PRIVATE KEY", LineEnding::LF)?,
        public_key_pem: spki::Document::try_from(&public_der[..])?
            .to_pem("PUBLIC KEY", LineEnding::LF)?,
    })
}

/// The DER of a PKCS#8 private key (zeroized when dropped) and of its public key's SPKI.
type DerPair = (Zeroizing<Vec<u8>>, Vec<u8>);

/// Any failure inside generation or encoding; the caller names the algorithm.
#[derive(Debug)]
struct Failed;

impl From<aws_lc_rs::error::Unspecified> for Failed {
    fn from(_: aws_lc_rs::error::Unspecified) -> Self {
        Self
    }
}

impl From<aws_lc_rs::error::KeyRejected> for Failed {
    fn from(_: aws_lc_rs::error::KeyRejected) -> Self {
        Self
    }
}

impl From<pkcs8::der::Error> for Failed {
    fn from(_: pkcs8::der::Error) -> Self {
        Self
    }
}

fn rsa_pair(size: rsa::KeySize) -> Result<DerPair, Failed> {
    let key = rsa::PrivateDecryptingKey::generate(size)?;
    let private = Zeroizing::new(key.as_der()?.as_ref().to_vec());
    let public = key.public_key().as_der()?.as_ref().to_vec();
    Ok((private, public))
}

fn ecdsa_pair(alg: &'static signature::EcdsaSigningAlgorithm) -> Result<DerPair, Failed> {
    let key = signature::EcdsaKeyPair::generate(alg)?;
    let private = Zeroizing::new(key.to_pkcs8v1()?.as_ref().to_vec());
    let public = key.public_key().as_der()?.as_ref().to_vec();
    Ok((private, public))
}

fn ed25519_pair() -> Result<DerPair, Failed> {
    let key = signature::Ed25519KeyPair::generate()?;
    let private = Zeroizing::new(key.to_pkcs8v1()?.as_ref().to_vec());
    let public = key.public_key().as_der()?.as_ref().to_vec();
    Ok((private, public))
}

/// aws-lc-rs does not write X25519 keys as PKCS#8, so the RFC 8410 structure is built here
/// with the `pkcs8` crate: `PrivateKeyInfo { id-X25519, OCTET STRING { OCTET STRING seed } }`.
fn x25519_pair() -> Result<DerPair, Failed> {
    let key = agreement::PrivateKey::generate(&agreement::X25519)?;
    let seed: Curve25519SeedBin<'_> = key.as_be_bytes()?;
    let inner = Zeroizing::new(OctetStringRef::new(seed.as_ref())?.to_der()?);
    let info = PrivateKeyInfo::new(
        AlgorithmIdentifierRef {
            oid: X25519_OID,
            parameters: None,
        },
        &inner,
    );
    let private = SecretDocument::encode_msg(&info)?.to_bytes();
    let public = key.compute_public_key()?.as_der()?.as_ref().to_vec();
    Ok((private, public))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
pub(crate) mod tests {
    use super::*;

    /// Parses both PEMs back with aws-lc-rs and checks the private key's public half is the
    /// public key handed out.
    /// The private key and the public key are one pair of the algorithm named.
    pub(crate) fn assert_pair_matches(pair: &Keypair) {
        let (label, private) = SecretDocument::from_pem(&pair.private_key_pem).unwrap();
        assert_eq!(label, "PRIVATE KEY");
        let (label, public) = spki::Document::from_pem(&pair.public_key_pem).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        let (private, public) = (private.as_bytes(), public.as_bytes());
        let derived: Vec<u8> = match pair.algorithm {
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 => {
                let key = rsa::PrivateDecryptingKey::from_pkcs8(private).unwrap();
                let bits = match pair.algorithm {
                    Algorithm::Rsa2048 => 2048,
                    Algorithm::Rsa3072 => 3072,
                    _ => 4096,
                };
                assert_eq!(key.key_size_bits(), bits);
                key.public_key().as_der().unwrap().as_ref().to_vec()
            }
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                let alg = if pair.algorithm == Algorithm::EcdsaP256 {
                    &signature::ECDSA_P256_SHA256_ASN1_SIGNING
                } else {
                    &signature::ECDSA_P384_SHA384_ASN1_SIGNING
                };
                let key = signature::EcdsaKeyPair::from_pkcs8(alg, private).unwrap();
                key.public_key().as_der().unwrap().as_ref().to_vec()
            }
            Algorithm::Ed25519 => {
                let key = signature::Ed25519KeyPair::from_pkcs8(private).unwrap();
                key.public_key().as_der().unwrap().as_ref().to_vec()
            }
            Algorithm::X25519 => {
                let seed = crate::keys::recipient::x25519_seed(private).unwrap();
                let key =
                    agreement::PrivateKey::from_private_key(&agreement::X25519, &seed[..]).unwrap();
                key.compute_public_key()
                    .unwrap()
                    .as_der()
                    .unwrap()
                    .as_ref()
                    .to_vec()
            }
        };
        assert_eq!(derived, public, "{}", pair.algorithm);
    }

    #[test]
    fn every_algorithm_gives_a_matching_pkcs8_and_spki_pair() {
        for algorithm in Algorithm::ALL {
            let pair = generate(algorithm).unwrap();
            assert_eq!(pair.algorithm, algorithm);
            assert_pair_matches(&pair);
        }
    }

    #[test]
    fn every_pair_is_fresh() {
        for algorithm in [Algorithm::EcdsaP256, Algorithm::Ed25519, Algorithm::X25519] {
            let (a, b) = (generate(algorithm).unwrap(), generate(algorithm).unwrap());
            assert_ne!(a.private_key_pem, b.private_key_pem);
            assert_ne!(a.public_key_pem, b.public_key_pem);
        }
    }

    #[test]
    fn names_round_trip_through_json() {
        for algorithm in Algorithm::ALL {
            let json = serde_json::to_string(&algorithm).unwrap();
            assert_eq!(json, format!("\"{}\"", algorithm.name()));
            assert_eq!(serde_json::from_str::<Algorithm>(&json).unwrap(), algorithm);
        }
    }

    #[test]
    fn debug_shows_no_key() {
        let pair = generate(Algorithm::Ed25519).unwrap();
        let shown = format!("{pair:?}");
        assert!(!shown.contains("PRIVATE"), "{shown}");
        assert!(shown.contains("Ed25519"), "{shown}");
    }
}
