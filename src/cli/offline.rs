//! The receiving side's subcommands, which need no server: `gcm-oracle keypair` writes a fresh
//! key pair, `gcm-oracle open` opens an envelope sealed for it.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::cli::{KeypairArgs, OpenArgs};
use crate::keys::keypair::{self, KeygenFailed};
use crate::keys::recipient::{self, RecipientError};
use crate::wire::envelope::Envelope;

/// The private key's file name in `--out`.
pub const PRIVATE_KEY_FILE: &str = "private_key.pem";
/// The public key's file name in `--out`.
pub const PUBLIC_KEY_FILE: &str = "public_key.pem";

/// What the offline subcommands fail with; one line each, with no key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineError {
    /// Key generation failed.
    #[error(transparent)]
    Keygen(#[from] KeygenFailed),
    /// A file or directory could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// `--out` can be written by other users, who could swap the public key before it is
    /// published.
    #[error("{} is writable by other users: use a directory only you can write (chmod go-w)", .0.display())]
    UnsafeDirectory(PathBuf),
    /// `--aad-base64` is not standard padded base64.
    #[error("--aad-base64 is not standard padded base64")]
    InvalidAad,
    /// A key file exists already; keys are never overwritten.
    #[error("{} exists already: keys are never overwritten; remove it or choose another --out", .0.display())]
    Exists(PathBuf),
    /// Standard input is not one envelope.
    #[error("standard input is not one envelope as /oracleinvocation/ returns it: {0}")]
    NotAnEnvelope(String),
    /// The envelope could not be opened.
    #[error(transparent)]
    Open(#[from] RecipientError),
}

/// `gcm-oracle keypair`: writes `private_key.pem` (mode 0600) and `public_key.pem` into
/// `--out`, creating the directory (mode 0700) if needed. Returns the two paths.
///
/// # Errors
///
/// [`OfflineError::Exists`] if either file exists; I/O errors naming the path.
pub fn keypair(args: &KeypairArgs) -> Result<(PathBuf, PathBuf), OfflineError> {
    let private = args.out.join(PRIVATE_KEY_FILE);
    let public = args.out.join(PUBLIC_KEY_FILE);
    for path in [&private, &public] {
        if path.exists() {
            return Err(OfflineError::Exists(path.clone()));
        }
    }
    let mut dir = fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dir, 0o700);
    dir.create(&args.out).map_err(io_error(&args.out))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&args.out)
            .map_err(io_error(&args.out))?
            .permissions()
            .mode();
        if mode & 0o022 != 0 {
            return Err(OfflineError::UnsafeDirectory(args.out.clone()));
        }
    }
    let pair = keypair::generate(args.algorithm)?;
    create_new(&private, pair.private_key_pem.as_bytes(), 0o600)?;
    if let Err(err) = create_new(&public, pair.public_key_pem.as_bytes(), 0o644) {
        // A private key without its public half would only block the next attempt.
        let _ = fs::remove_file(&private);
        return Err(err);
    }
    Ok((private, public))
}

/// Names `path` in an I/O error.
fn io_error(path: &Path) -> impl FnOnce(io::Error) -> OfflineError {
    let path = path.to_owned();
    move |source| OfflineError::Io { path, source }
}

/// Writes a file that must not exist yet, with `mode` from the start (never briefly readable
/// by others).
fn create_new(path: &Path, contents: &[u8], mode: u32) -> Result<(), OfflineError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let written = options.open(path).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    written.map_err(|source| match source.kind() {
        io::ErrorKind::AlreadyExists => OfflineError::Exists(path.to_owned()),
        _ => io_error(path)(source),
    })
}

/// `gcm-oracle open`: reads one envelope (JSON) from `input`, opens it with the private key
/// file, and writes the clear text's bytes, exactly, to `output`.
///
/// # Errors
///
/// [`OfflineError::NotAnEnvelope`] for input that is not one envelope; the private key file
/// unreadable; every [`RecipientError`], wrong keys being one opaque decryption failure.
pub fn open(
    args: &OpenArgs,
    input: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), OfflineError> {
    let aad = match (&args.aad, &args.aad_base64) {
        (_, Some(encoded)) => Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| OfflineError::InvalidAad)?,
        ),
        (Some(text), None) => Zeroizing::new(text.as_bytes().to_vec()),
        (None, None) => Zeroizing::new(Vec::new()),
    };
    let private_key = fs::read_to_string(&args.private_key)
        .map(Zeroizing::new)
        .map_err(io_error(&args.private_key))?;
    let mut json = Zeroizing::new(Vec::new());
    input
        .read_to_end(&mut json)
        .map_err(io_error(Path::new("<stdin>")))?;
    let envelope: Envelope = serde_json::from_slice(&json).map_err(|err| {
        let batch = serde_json::from_slice::<serde_json::Value>(&json)
            .is_ok_and(|value| value.get("items").is_some());
        OfflineError::NotAnEnvelope(if batch {
            "this is a batch answer: pass one item, e.g. `jq '.items[0]'`".to_owned()
        } else {
            // The same redacted message the server gives: fields named, values never shown.
            match crate::oracle::error::Error::from_json(&err) {
                crate::oracle::error::Error::InvalidRequest(message)
                | crate::oracle::error::Error::MalformedJson(message) => message,
                other => other.to_string(),
            }
        })
    })?;
    let plaintext = Zeroizing::new(recipient::open_for_recipient_with(
        &envelope,
        &private_key,
        &aad,
    )?);
    output
        .write_all(&plaintext)
        .and_then(|()| output.flush())
        .map_err(io_error(Path::new("<stdout>")))
}
