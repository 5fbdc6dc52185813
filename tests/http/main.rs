//! The black-box tests, in one binary: each spawns a server (in process on port 0 with a fresh
//! development CA, or the `gcm-oracle` binary as a child process) and talks to it over verified
//! TLS. One module per area; what they share is in `helpers`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod helpers;

mod aead;
mod cli;
mod client;
mod hostile;
mod lifecycle;
mod ops;
mod oracle;
mod playground;
mod recipient;
mod stream;
mod tls;
