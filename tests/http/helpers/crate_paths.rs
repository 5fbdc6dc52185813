//! The only paths outside `gcm_oracle`'s public root that the tests name: its modules are
//! private, and what the tests need from below the root is in the hidden `internals` module.
//! When one of these moves, it changes here and nowhere else.
//!
//! Both test binaries include this file (`tests/library/main.rs` by `#[path]`), so each line is
//! gated on the feature that brings its module. One more pair lives outside the tests:
//! `fuzz/src/lib.rs`, which the fuzz crate also compiles on its own, names
//! `gcm_oracle::internals::{HttpError, parse_items, parse_object}` itself.

#![allow(
    unused_imports,
    reason = "both test binaries include this list, and each uses part of it"
)]

#[cfg(feature = "client")]
pub use gcm_oracle::ClientError;
#[cfg(feature = "recipient")]
pub use gcm_oracle::PrivateKey;
#[cfg(feature = "server")]
pub use gcm_oracle::internals::{Cli, Command, Server};
