//! The library's own tests, in one binary: properties of seal and open, the secret hygiene of
//! the public types, and the committed fuzz corpus replayed on stable. They start no server.
//! A module that needs a feature is compiled only with it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

// The one list of non-root crate paths, shared with the black-box tests.
#[path = "../http/helpers/crate_paths.rs"]
mod crate_paths;

#[cfg(feature = "server")]
mod fuzz_corpus;
mod properties;
#[cfg(feature = "recipient")]
mod secrets;
mod stream;
