//! A throwaway PKI made at test time, so that no private key is ever committed: a CA, and leaf
//! certificates it issues for `localhost`, `127.0.0.1` and `::1`, each with a fresh key written
//! in one of the PEM formats the server must read.

use std::path::{Path, PathBuf};

use pkcs1::LineEnding;
use pkcs1::der::EncodePem as _;
use pkcs8::PrivateKeyInfo;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RsaKeySize,
};
use sec1::{EcParameters, EcPrivateKey};
use tokio_rustls::rustls::pki_types::PrivateKeyDer;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;

/// How a leaf's private key is written to its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFormat {
    /// RSA 2048 in PKCS#1: `BEGIN RSA PRIVATE KEY`.
    RsaPkcs1,
    /// RSA 2048 in PKCS#8: `BEGIN PRIVATE KEY`.
    RsaPkcs8,
    /// ECDSA P-256 in SEC1, naming its curve as OpenSSL writes it: `BEGIN EC PRIVATE KEY`.
    EcSec1,
}

impl KeyFormat {
    pub const ALL: [Self; 3] = [Self::RsaPkcs1, Self::RsaPkcs8, Self::EcSec1];

    /// The stem of the leaf's file names, e.g. `rsa-pkcs1`.
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaPkcs1 => "rsa-pkcs1",
            Self::RsaPkcs8 => "rsa-pkcs8",
            Self::EcSec1 => "ec-sec1",
        }
    }
}

/// A leaf certificate and its private key, as PEM files.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A CA whose certificate, and every leaf it issues, is written into its own temporary
/// directory, removed with it.
pub struct Pki {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
    ca_path: PathBuf,
    dir: tempfile::TempDir,
}

impl Pki {
    /// A new CA with an ECDSA P-256 key that may issue leaves only (path length 0).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "gcm-oracle tests");
        params
            .distinguished_name
            .push(DnType::CommonName, "gcm-oracle test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_pem = params.self_signed(&key).unwrap().pem();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, &ca_pem).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            ca_pem,
            ca_path,
            dir,
        }
    }

    /// The CA certificate, as PEM: what a client must trust.
    pub fn ca_pem(&self) -> &[u8] {
        self.ca_pem.as_bytes()
    }

    /// The file holding [`Pki::ca_pem`].
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// Issues a server certificate for `localhost`, `127.0.0.1` and `::1` to a fresh key, and
    /// writes `NAME-cert.pem` and `NAME-key.pem` (NAME is [`KeyFormat::name`]; a second leaf of
    /// the same format replaces the first). An RSA key takes a moment to generate.
    pub fn leaf(&self, format: KeyFormat) -> Leaf {
        let key = match format {
            KeyFormat::RsaPkcs1 | KeyFormat::RsaPkcs8 => {
                KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap()
            }
            KeyFormat::EcSec1 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap(),
        };
        let mut params =
            CertificateParams::new(["localhost", "127.0.0.1", "::1"].map(String::from)).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();

        let leaf = Leaf {
            cert: self.dir.path().join(format!("{}-cert.pem", format.name())),
            key: self.dir.path().join(format!("{}-key.pem", format.name())),
        };
        std::fs::write(&leaf.cert, cert.pem()).unwrap();
        std::fs::write(&leaf.key, key_pem(&key, format)).unwrap();
        leaf
    }
}

/// `key` in `format`. rcgen writes PKCS#8 only; the other two are the key inside its PKCS#8
/// wrapper, re-labelled.
fn key_pem(key: &KeyPair, format: KeyFormat) -> String {
    let pkcs8 = PrivateKeyInfo::try_from(key.serialized_der()).unwrap();
    let pem = match format {
        KeyFormat::RsaPkcs8 => key.serialize_pem(),
        KeyFormat::RsaPkcs1 => pkcs1::RsaPrivateKey::try_from(pkcs8.private_key)
            .unwrap()
            .to_pem(LineEnding::LF)
            .unwrap(),
        KeyFormat::EcSec1 => {
            // PKCS#8 names the curve in its algorithm identifier and leaves it out of the
            // ECPrivateKey inside; a stand-alone SEC1 key must carry it itself.
            let curve = pkcs8.algorithm.parameters_oid().unwrap();
            let mut sec1 = EcPrivateKey::try_from(pkcs8.private_key).unwrap();
            sec1.parameters = Some(EcParameters::NamedCurve(curve));
            sec1.to_pem(LineEnding::LF).unwrap()
        }
    };
    // The server picks its key parser by the PEM label: a leaf in the wrong one would quietly
    // test a different format.
    let parsed = PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    let matches = match format {
        KeyFormat::RsaPkcs1 => matches!(parsed, PrivateKeyDer::Pkcs1(_)),
        KeyFormat::RsaPkcs8 => matches!(parsed, PrivateKeyDer::Pkcs8(_)),
        KeyFormat::EcSec1 => matches!(parsed, PrivateKeyDer::Sec1(_)),
    };
    assert!(
        matches,
        "{} key written with the wrong label",
        format.name()
    );
    pem
}
