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
//! the envelope — see [`recipient`] and [`keypair`].
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

pub mod batch;
mod bits;
pub mod crypto;
pub mod envelope;
pub mod error;
pub mod json;
pub mod oracle;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "recipient")]
pub mod keypair;
#[cfg(feature = "recipient")]
pub mod recipient;

#[cfg(feature = "server")]
pub mod api;
#[cfg(feature = "server")]
pub mod body;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod http_error;
#[cfg(feature = "server")]
pub mod keygen;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
pub mod offline;
#[cfg(feature = "server")]
pub mod openapi;
#[cfg(feature = "server")]
pub mod probe;
#[cfg(feature = "server")]
pub mod redirect;
#[cfg(feature = "server")]
pub mod routes;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod telemetry;
#[cfg(feature = "server")]
pub mod tls;

pub use batch::{Batch, BatchItem};
pub use crypto::{
    DecryptionFailed, InvalidLength, Key, KeySize, Nonce, NonceSize, SealOptions, Sealed, Tag,
    open, open_with, seal, seal_with,
};
pub use envelope::{
    DecryptRequest, DecryptResponse, Encoding, EncryptRequest, Envelope, EnvelopeError, Field, Wrap,
};
pub use error::Error;
pub use json::{ErrorBody, JsonError};
pub use oracle::{Answer, AnswerJson};

#[cfg(feature = "client")]
pub use client::Client;
#[cfg(feature = "recipient")]
pub use keypair::{Algorithm, Keypair};
#[cfg(feature = "recipient")]
pub use recipient::{RecipientError, open_for_recipient, open_for_recipient_with};

/// Not part of the public API: what the binary, the fuzz targets, the benches and the tests
/// need from below the crate root. It may change in any release.
#[doc(hidden)]
pub mod internals {
    pub use crate::batch::parse_items;
    #[cfg(feature = "server")]
    pub use crate::http_error::HttpError;
    #[cfg(feature = "server")]
    pub use crate::json::parse_object;
}
