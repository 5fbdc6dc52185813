//! The only paths below `gcm_oracle`'s root that the tests name. The crate is making its modules
//! private: when one of these moves, it changes here and nowhere else. Everything else the tests
//! use comes from the crate root.
//!
//! Both test binaries include this file (`tests/library/main.rs` by `#[path]`), so each line is
//! gated on the feature that brings its module. One more pair lives outside the tests:
//! `fuzz/src/lib.rs`, which the fuzz crate also compiles on its own, names
//! `gcm_oracle::body::parse_object` and `gcm_oracle::batch::parse_items` itself.

#![allow(
    unused_imports,
    reason = "both test binaries include this list, and each uses part of it"
)]

#[cfg(feature = "client")]
pub use gcm_oracle::client::ClientError;
#[cfg(feature = "server")]
pub use gcm_oracle::config::{Cli, Command};
#[cfg(feature = "recipient")]
pub use gcm_oracle::recipient::PrivateKey;
#[cfg(feature = "server")]
pub use gcm_oracle::server::Server;
