//! TLS: a rustls `ServerConfig` from PEM files, and development certificates made with rcgen.
//!
//! Development certificates are a throwaway CA (`dev-ca.pem`) and a leaf it signs
//! (`dev-cert.pem`, `dev-key.pem`). The CA's private key is never written anywhere, so nothing
//! can sign further certificates with it: clients that trust `dev-ca.pem` trust only this leaf.

use std::fs;
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use time::{Duration, OffsetDateTime};

/// Names every development certificate covers, so `localhost`, IPv4 and IPv6 loopback all work.
pub const DEFAULT_SANS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// How long development certificates are valid: 90 days, like the certificates public CAs
/// issue, so an old copy cannot linger for years.
const VALIDITY: Duration = Duration::days(90);

/// Certificates that expire within this margin are replaced rather than reused, so a server
/// started today does not stop working tomorrow.
const RENEW_BEFORE: Duration = Duration::days(1);

/// Everything that can go wrong loading or creating certificates. Each message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate file could not be read or parsed.
    #[error("cannot read certificate file {path}: {reason}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A private key file could not be read or parsed.
    #[error(
        "cannot read private key file {path}: {reason} (expected a PEM key: PKCS#8, SEC1 or PKCS#1)"
    )]
    PrivateKey {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The certificate and key were read but rustls refused them together.
    #[error("certificate {cert} and private key {key} cannot be used together: {reason}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason, e.g. the key does not match the certificate.
        reason: String,
    },
    /// Generating development certificates failed.
    #[error("cannot generate development certificates: {0}")]
    Generate(#[from] rcgen::Error),
    /// Writing development certificates failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// The three development certificate files in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevCertPaths {
    /// The throwaway CA certificate clients trust: `DIR/dev-ca.pem`.
    pub ca: PathBuf,
    /// The server's leaf certificate: `DIR/dev-cert.pem`.
    pub cert: PathBuf,
    /// The leaf's private key, mode 0600: `DIR/dev-key.pem`.
    pub key: PathBuf,
}

impl DevCertPaths {
    /// The file names inside `dir`.
    #[must_use]
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ca: dir.join("dev-ca.pem"),
            cert: dir.join("dev-cert.pem"),
            key: dir.join("dev-key.pem"),
        }
    }
}

/// What [`ensure_dev_certs`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevCertStatus {
    /// Valid certificates covering every name were already there.
    Reused,
    /// New certificates were written.
    Created,
}

/// Uses the development certificates in `dir` if they are valid for at least another day and
/// cover `localhost`, `127.0.0.1`, `::1` and `extra_sans`; otherwise writes new ones.
///
/// # Errors
///
/// If new certificates cannot be generated or written.
pub fn ensure_dev_certs(
    dir: &Path,
    extra_sans: &[String],
) -> Result<(DevCertPaths, DevCertStatus), TlsError> {
    let _lock = lock_dir(dir)?;
    let paths = DevCertPaths::in_dir(dir);
    let sans = all_sans(extra_sans);
    if dev_certs_reusable(&paths, &sans) {
        return Ok((paths, DevCertStatus::Reused));
    }
    write_dev_certs(dir, extra_sans).map(|paths| (paths, DevCertStatus::Created))
}

/// Holds an exclusive lock on `DIR/.dev-certs.lock` until dropped, so two servers (or a server
/// and `gen-cert`) starting at once never mix one's key with the other's certificate.
fn lock_dir(dir: &Path) -> Result<fs::File, TlsError> {
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Write { path, source }
    };
    fs::create_dir_all(dir).map_err(write_error(dir))?;
    let path = dir.join(".dev-certs.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(write_error(&path))?;
    file.lock().map_err(write_error(&path))?;
    Ok(file)
}

/// Writes a new throwaway CA and a leaf it signs into `dir` (created if missing), replacing
/// whatever was there. The leaf covers `localhost`, `127.0.0.1`, `::1` and `extra_sans`.
///
/// # Errors
///
/// If a name is not a valid DNS name or IP address, or a file cannot be written.
pub fn generate_dev_certs(dir: &Path, extra_sans: &[String]) -> Result<DevCertPaths, TlsError> {
    let _lock = lock_dir(dir)?;
    write_dev_certs(dir, extra_sans)
}

/// [`generate_dev_certs`] for a caller that holds the directory's lock.
fn write_dev_certs(dir: &Path, extra_sans: &[String]) -> Result<DevCertPaths, TlsError> {
    let paths = DevCertPaths::in_dir(dir);

    // An hour of slack before "now" absorbs clock skew between this host and its clients.
    let not_before = OffsetDateTime::now_utc() - Duration::hours(1);
    let not_after = not_before + VALIDITY;

    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name = name("gcm-oracle development CA");
    // pathlen 0: the CA can sign leaves only, never another CA.
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut leaf = CertificateParams::new(all_sans(extra_sans))?;
    leaf.distinguished_name = name("gcm-oracle development server");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;

    // CA, then leaf, then key: a crash in between leaves a set the reuse check refuses.
    write_file(&paths.ca, ca_cert.pem().as_bytes(), 0o644)?;
    write_file(&paths.cert, leaf_cert.pem().as_bytes(), 0o644)?;
    write_file(&paths.key, leaf_key.serialize_pem().as_bytes(), 0o600)?;
    Ok(paths)
}

/// Builds the server's TLS configuration from a PEM certificate chain (leaf first) and a PEM
/// private key (RSA or ECDSA; PKCS#8, SEC1 or PKCS#1). TLS 1.3 and 1.2 only, AEAD cipher suites
/// only (rustls offers nothing weaker), the server's cipher order preferred. actix-web adds the
/// ALPN protocols `h2` and `http/1.1`.
///
/// # Errors
///
/// If a file cannot be read or parsed, or the key does not belong to the certificate.
pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<ServerConfig, TlsError> {
    reloadable_server_config(cert_path, key_path, None).map(|(config, _)| config)
}

/// As [`server_config`], also requiring client certificates issued by a CA in `client_ca`
/// (mutual TLS) when given. Returns the certificate source too, to [`ReloadableCert::reload`]
/// it later.
///
/// # Errors
///
/// As [`server_config`], or if `client_ca` holds no usable CA certificate.
pub fn reloadable_server_config(
    cert_path: &Path,
    key_path: &Path,
    client_ca: Option<&Path>,
) -> Result<(ServerConfig, Arc<ReloadableCert>), TlsError> {
    let provider = Arc::new(crypto_provider());
    let cert = Arc::new(ReloadableCert {
        current: RwLock::new(Arc::new(load_certified_key(
            cert_path, key_path, &provider,
        )?)),
        cert_path: cert_path.to_owned(),
        key_path: key_path.to_owned(),
        provider: Arc::clone(&provider),
    });
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|err| TlsError::Mismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
            reason: err.to_string(),
        })?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => builder.with_client_cert_verifier(client_verifier(path, provider)?),
    };
    let mut config = builder.with_cert_resolver(Arc::clone(&cert) as Arc<dyn ResolvesServerCert>);
    config.ignore_client_order = true;
    Ok((config, cert))
}

/// The server's TLS cryptography: aws-lc-rs's defaults (key exchange with the post-quantum
/// hybrid X25519MLKEM768, which *ring* lacks, certificate keys, signatures, cipher suites and
/// their order), with *ring*'s implementation of those same suites' record encryption on CPUs
/// where it is the faster one.
///
/// aws-lc's AES-GCM has a VAES path only with AVX-512; on CPUs with VAES and VPCLMULQDQ but no
/// AVX-512 (AMD Zen 3, Intel Alder Lake) it falls back to 128-bit AES-NI, where *ring*'s AVX2
/// VAES code was about twice as fast (1 MiB requests over HTTP/1.1 about 10 % faster). With
/// AVX-512 it is the other way round: aws-lc 22 GB/s against *ring*'s 11 (docs/BENCHMARKS.md).
#[must_use]
pub fn crypto_provider() -> CryptoProvider {
    let aws_lc = rustls::crypto::aws_lc_rs::default_provider();
    if aws_lc_aes_gcm_is_wide() {
        return aws_lc;
    }
    CryptoProvider {
        cipher_suites: rustls::crypto::ring::DEFAULT_CIPHER_SUITES.to_vec(),
        ..aws_lc
    }
}

/// Whether aws-lc runs its AVX-512 AES-GCM here: the test it makes itself
/// (`crypto_gcm_avx512_enabled`), VAES and VPCLMULQDQ with AVX-512 F, DQ, BW and VL, on x86-64
/// outside Windows (where aws-lc leaves that code out).
fn aws_lc_aes_gcm_is_wide() -> bool {
    #[cfg(all(target_arch = "x86_64", not(windows)))]
    {
        std::arch::is_x86_feature_detected!("vaes")
            && std::arch::is_x86_feature_detected!("vpclmulqdq")
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
    }
    // Elsewhere *ring*, as measured before: nothing here has shown aws-lc faster there.
    #[cfg(not(all(target_arch = "x86_64", not(windows))))]
    false
}

/// Verifies client certificates against the CA certificates in `path`.
fn client_verifier(
    path: &Path,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let error = |reason: String| TlsError::Certificate {
        path: path.to_owned(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|err| error(err.to_string()))? {
        roots
            .add(cert.map_err(|err| error(err.to_string()))?)
            .map_err(|err| error(err.to_string()))?;
    }
    if roots.is_empty() {
        return Err(error(
            "no PEM CERTIFICATE block in the client CA file".to_owned(),
        ));
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|err| error(err.to_string()))
}

/// Reads a certificate chain and its key, and checks that they belong together.
fn load_certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let certificate_error = |reason: String| TlsError::Certificate {
        path: cert_path.to_owned(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert_path)
        .map_err(|err| certificate_error(err.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| certificate_error(err.to_string()))?;
    if chain.is_empty() {
        return Err(certificate_error(
            "no PEM CERTIFICATE block in the file".to_owned(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|err| TlsError::PrivateKey {
        path: key_path.to_owned(),
        reason: err.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|err| TlsError::Mismatch {
        cert: cert_path.to_owned(),
        key: key_path.to_owned(),
        reason: match err {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                "the private key does not belong to the certificate".to_owned()
            }
            other => other.to_string(),
        },
    })
}

/// The server's certificate, replaceable while serving: new handshakes get the current one,
/// connections already open keep theirs.
#[derive(Debug)]
pub struct ReloadableCert {
    current: RwLock<Arc<CertifiedKey>>,
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
}

impl ReloadableCert {
    /// Re-reads the certificate and key files. On any error the current certificate stays.
    ///
    /// # Errors
    ///
    /// As [`server_config`]: unreadable files, or a key that does not match.
    pub fn reload(&self) -> Result<(), TlsError> {
        let fresh = load_certified_key(&self.cert_path, &self.key_path, &self.provider)?;
        // A poisoned lock only means a reader panicked; the Arc inside is still whole.
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        *current = Arc::new(fresh);
        Ok(())
    }

    /// The certificate file this reloads from.
    #[must_use]
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Some(Arc::clone(&current))
    }
}

fn all_sans(extra: &[String]) -> Vec<String> {
    let mut sans: Vec<String> = DEFAULT_SANS.iter().map(|&s| s.to_owned()).collect();
    for san in extra {
        if !sans.contains(san) {
            sans.push(san.clone());
        }
    }
    sans
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "gcm-oracle");
    dn.push(DnType::CommonName, common_name);
    dn
}

/// Writes through a temporary file and a rename, so a reader never sees half a key and the
/// key file never exists with looser permissions than `mode`.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), TlsError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let write = || -> io::Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    };
    #[cfg(not(unix))]
    let _ = mode;
    write().map_err(|source| TlsError::Write {
        path: path.to_owned(),
        source,
    })
}

/// True when all three files exist, parse, are valid for at least [`RENEW_BEFORE`], the leaf
/// was issued by this CA, covers every name in `sans`, and matches the key.
fn dev_certs_reusable(paths: &DevCertPaths, sans: &[String]) -> bool {
    let (Ok(ca_pem), Ok(leaf_pem)) = (fs::read(&paths.ca), fs::read(&paths.cert)) else {
        return false;
    };
    let (Ok((_, ca_pem)), Ok((_, leaf_pem))) = (
        x509_parser::pem::parse_x509_pem(&ca_pem),
        x509_parser::pem::parse_x509_pem(&leaf_pem),
    ) else {
        return false;
    };
    let (Ok(ca), Ok(leaf)) = (ca_pem.parse_x509(), leaf_pem.parse_x509()) else {
        return false;
    };
    let deadline = (OffsetDateTime::now_utc() + RENEW_BEFORE).unix_timestamp();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let fresh = |cert: &x509_parser::certificate::X509Certificate<'_>| {
        cert.validity().not_before.timestamp() <= now
            && cert.validity().not_after.timestamp() > deadline
    };
    let covered = match leaf.subject_alternative_name() {
        Ok(Some(extension)) => sans.iter().all(|san| {
            extension.value.general_names.iter().any(|name| match name {
                x509_parser::extensions::GeneralName::DNSName(dns) => dns == san,
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    san.parse::<IpAddr>().is_ok_and(|ip| match ip {
                        IpAddr::V4(v4) => *bytes == v4.octets(),
                        IpAddr::V6(v6) => *bytes == v6.octets(),
                    })
                }
                _ => false,
            })
        }),
        _ => false,
    };
    // Every dev CA has the same name: the key identifiers tell whether this CA issued this leaf.
    let issued_by_ca = match (authority_key_id(&leaf), subject_key_id(&ca)) {
        (Some(authority), Some(subject)) => authority == subject,
        _ => false,
    };
    fresh(&ca)
        && fresh(&leaf)
        && covered
        && leaf.issuer() == ca.subject()
        && issued_by_ca
        && server_config(&paths.cert, &paths.key).is_ok()
}

fn authority_key_id<'a>(
    cert: &'a x509_parser::certificate::X509Certificate<'_>,
) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|id| id.0)
            }
            _ => None,
        })
}

fn subject_key_id<'a>(cert: &'a x509_parser::certificate::X509Certificate<'_>) -> Option<&'a [u8]> {
    cert.extensions()
        .iter()
        .find_map(|ext| match ext.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0),
            _ => None,
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use core::ptr;

    use rustls::SupportedCipherSuite;

    use super::*;

    #[test]
    fn the_provider_keeps_aws_lc_defaults_but_for_the_record_cipher() {
        let ours = crypto_provider();
        let aws_lc = rustls::crypto::aws_lc_rs::default_provider();
        let suites = |provider: &CryptoProvider| {
            (provider.cipher_suites.iter())
                .map(|suite| suite.suite())
                .collect::<Vec<_>>()
        };
        assert_eq!(suites(&ours), suites(&aws_lc));
        // The implementation is aws-lc's where it has its AVX-512 AES-GCM, *ring*'s elsewhere.
        let ring = rustls::crypto::ring::DEFAULT_CIPHER_SUITES;
        let expected = if aws_lc_aes_gcm_is_wide() {
            &aws_lc.cipher_suites[..]
        } else {
            ring
        };
        for (suite, expected) in ours.cipher_suites.iter().zip(expected) {
            let same = match (suite, expected) {
                (SupportedCipherSuite::Tls13(a), SupportedCipherSuite::Tls13(b)) => ptr::eq(*a, *b),
                (SupportedCipherSuite::Tls12(a), SupportedCipherSuite::Tls12(b)) => ptr::eq(*a, *b),
                _ => false,
            };
            assert!(same, "{:?}", suite.suite());
        }
        let groups = |provider: &CryptoProvider| {
            (provider.kx_groups.iter())
                .map(|group| group.name())
                .collect::<Vec<_>>()
        };
        assert_eq!(groups(&ours), groups(&aws_lc));
        assert!(groups(&ours).contains(&rustls::NamedGroup::X25519MLKEM768));
    }

    #[test]
    fn generated_dev_certs_load_and_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let paths = generate_dev_certs(dir.path(), &[]).unwrap();
        server_config(&paths.cert, &paths.key).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&paths.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn valid_dev_certs_are_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (paths, first) = ensure_dev_certs(dir.path(), &[]).unwrap();
        let before = fs::read(&paths.cert).unwrap();
        let (_, second) = ensure_dev_certs(dir.path(), &[]).unwrap();
        assert_eq!(
            (first, second),
            (DevCertStatus::Created, DevCertStatus::Reused)
        );
        assert_eq!(fs::read(&paths.cert).unwrap(), before);
    }

    #[test]
    fn a_new_san_replaces_the_dev_certs() {
        let dir = tempfile::tempdir().unwrap();
        ensure_dev_certs(dir.path(), &[]).unwrap();
        let (_, status) = ensure_dev_certs(dir.path(), &["oracle.test".to_owned()]).unwrap();
        assert_eq!(status, DevCertStatus::Created);
        let (_, again) = ensure_dev_certs(dir.path(), &["oracle.test".to_owned()]).unwrap();
        assert_eq!(again, DevCertStatus::Reused);
    }

    #[test]
    fn a_ca_from_another_set_is_not_reused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (a_paths, _) = ensure_dev_certs(a.path(), &[]).unwrap();
        let (b_paths, _) = ensure_dev_certs(b.path(), &[]).unwrap();
        fs::copy(&b_paths.ca, &a_paths.ca).unwrap();
        let (_, status) = ensure_dev_certs(a.path(), &[]).unwrap();
        assert_eq!(status, DevCertStatus::Created);
    }

    #[test]
    fn concurrent_generation_never_mixes_sets() {
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..3 {
                        generate_dev_certs(dir.path(), &[]).unwrap();
                    }
                });
            }
        });
        let paths = DevCertPaths::in_dir(dir.path());
        assert!(dev_certs_reusable(&paths, &all_sans(&[])));
    }

    #[test]
    fn a_corrupt_dev_cert_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (paths, _) = ensure_dev_certs(dir.path(), &[]).unwrap();
        fs::write(&paths.cert, "not a certificate").unwrap();
        let (_, status) = ensure_dev_certs(dir.path(), &[]).unwrap();
        assert_eq!(status, DevCertStatus::Created);
        server_config(&paths.cert, &paths.key).unwrap();
    }

    #[test]
    fn leaf_is_valid_90_days_with_authority_key_id_and_sans() {
        let dir = tempfile::tempdir().unwrap();
        let paths = generate_dev_certs(dir.path(), &["oracle.test".to_owned()]).unwrap();
        let pem = fs::read(&paths.cert).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
        let leaf = pem.parse_x509().unwrap();
        let validity = leaf.validity();
        let days = (validity.not_after.timestamp() - validity.not_before.timestamp()) / 86_400;
        assert_eq!(days, 90);
        let has_aki = leaf.extensions().iter().any(|ext| {
            matches!(
                ext.parsed_extension(),
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(_)
            )
        });
        assert!(has_aki, "leaf lacks an Authority Key Identifier");
        let sans = leaf.subject_alternative_name().unwrap().unwrap();
        assert_eq!(sans.value.general_names.len(), 4);
    }

    #[test]
    fn mismatched_certificate_and_key_are_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let a = generate_dev_certs(a.path(), &[]).unwrap();
        let b = generate_dev_certs(b.path(), &[]).unwrap();
        let err = server_config(&a.cert, &b.key).unwrap_err();
        assert!(matches!(err, TlsError::Mismatch { .. }), "{err}");
    }

    #[test]
    fn missing_files_are_named_in_the_error() {
        let err = server_config(Path::new("/nonexistent/c.pem"), Path::new("/x")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/c.pem"), "{err}");
    }
}
