//! # gcm-oracle
//!
//! A stateless AES-256-GCM encryption oracle. Every call draws a fresh random key and nonce
//! from the operating system, encrypts, and hands back everything needed to decrypt; nothing
//! is kept.
//!
//! In process, the easy path is two verbs:
//!
//! ```
//! let sealed = gcm_oracle::seal(b"attack at dawn");
//! assert_eq!(sealed.ciphertext.len(), 14);
//! assert_eq!(gcm_oracle::open(&sealed).unwrap(), b"attack at dawn");
//! ```
//!
//! On the wire the same message is an [`Envelope`] of four standard base64 strings, which is
//! what the HTTPS service returns:
//!
//! ```
//! use gcm_oracle::{seal, Envelope};
//!
//! let envelope = Envelope::from(&seal(b"hi"));
//! let json = serde_json::to_string(&envelope).unwrap(); // {"data":…,"key":…,"mac":…,"nonce":…}
//! let received: Envelope = serde_json::from_str(&json).unwrap();
//! assert_eq!(received.open().unwrap(), b"hi");
//! ```
//!
//! Over HTTPS (feature `server`, on by default; `cargo run --release` serves on
//! `https://127.0.0.1:8443` with development certificates):
//!
//! ```text
//! curl --cacert certs/dev-ca.pem -H 'Content-Type: application/json' \
//!      -d '{"data":"hi"}' https://127.0.0.1:8443/oracleinvocation/
//! ```
//!
//! A crate that only needs [`seal`] and [`open`] depends on this one with
//! `default-features = false` and compiles neither actix-web nor rustls.
//!
//! Sealing for someone else (feature `recipient`, on with `server` and `client`): the AES
//! key is wrapped to a recipient's RSA or X25519 public key, and only their private key opens
//! the envelope — see [`Keypair`] and [`open_for_recipient`].
//!
//! Keys are zeroized when dropped, and no `Debug` output shows a key, nonce, tag or clear text.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// Marks a type [`zeroize::ZeroizeOnDrop`] because every field holding a secret wipes itself
/// on drop (a `Zeroizing` wrapper, or a type that is itself `ZeroizeOnDrop`), and checks
/// those fields at compile time. Non-secret fields (ciphertext, nonce, public keys) are left
/// alone: wiping a 1 MiB ciphertext on every request would buy nothing.
macro_rules! zeroize_on_drop_by_fields {
    ($type:ty { $($field:ident),+ $(,)? }) => {
        impl zeroize::ZeroizeOnDrop for $type {}
        const _: () = {
            const fn wipes_itself<T: zeroize::ZeroizeOnDrop + ?Sized>(_: &T) {}
            #[allow(dead_code, reason = "only type-checked: proves the fields wipe themselves")]
            fn secret_fields_wipe_themselves(value: &$type) {
                $( wipes_itself(&value.$field); )+
            }
        };
    };
}

// The layers, lowest first: each uses only those above it in this list (docs/ARCHITECTURE.md;
// tests/architecture.rs checks it). The modules are private; the public interface is the
// `pub use` block below.
#[cfg(feature = "server")]
mod cli;
#[cfg(feature = "client")]
mod client;
mod crypto;
#[cfg(feature = "server")]
mod http;
#[cfg(feature = "recipient")]
mod keys;
mod oracle;
#[cfg(feature = "server")]
mod server;
mod wire;

// The public interface.
pub use crypto::stream::{
    DEFAULT_RECORD_SIZE, MAX_RECORD_SIZE, MIN_RECORD_SIZE, StreamError, StreamFormat, StreamOpener,
    StreamOptions, StreamSealer,
};
pub use crypto::{
    DecryptionFailed, InvalidLength, Key, KeySize, Nonce, NonceSize, SealOptions, Sealed, TAG_LEN,
    Tag, open, open_with, seal, seal_in_place, seal_with,
};
pub use oracle::error::Error;
pub use oracle::stream::{OpenedStream, SealedStream, open_stream, seal_stream, seal_stream_under};
pub use oracle::{Answer, EnvelopeJson};
pub use wire::batch::{Batch, BatchItem};
pub use wire::envelope::{Envelope, EnvelopeError, Field, Wrap};
pub use wire::json::{ErrorBody, JsonError};
pub use wire::request::{DecryptRequest, DecryptResponse, Encoding, EncryptRequest};
pub use wire::stream::{
    ORACLE_AAD, ORACLE_FORMAT, ORACLE_KEY, ORACLE_RECIPIENT, ORACLE_WRAP, ORACLE_WRAPPED_KEY,
    StreamRequestError,
};

#[cfg(feature = "client")]
pub use client::{Client, ClientError, ItemResult, StreamResponse};
#[cfg(feature = "recipient")]
pub use keys::keypair::{Algorithm, KeygenFailed, Keypair, KeypairRequest};
#[cfg(feature = "recipient")]
pub use keys::recipient::{
    PrivateKey, Recipient, RecipientError, open_for_recipient, open_for_recipient_with,
};

/// Not part of the public API: what the binary, the fuzz targets, the benches and the tests
/// need from below the crate root. It may change in any release.
#[doc(hidden)]
pub mod internals {
    pub use crate::wire::batch::parse_items;

    #[cfg(feature = "server")]
    pub use crate::cli::offline::{self, OfflineError};
    #[cfg(feature = "server")]
    pub use crate::cli::probe::probe;
    #[cfg(feature = "server")]
    pub use crate::cli::stream;
    #[cfg(feature = "server")]
    pub use crate::cli::{Cli, Command, LogFormat, ProbeArgs};
    #[cfg(feature = "server")]
    pub use crate::http::error::HttpError;
    #[cfg(feature = "server")]
    pub use crate::server::tls::generate_dev_certs;
    #[cfg(feature = "server")]
    pub use crate::server::{AppState, Server, app, telemetry};
    #[cfg(feature = "server")]
    pub use crate::wire::json::parse_object;
}
