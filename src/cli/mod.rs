//! The command line (clap): the subcommands and their flags, each flag with a `GCM_ORACLE_*`
//! environment fallback. `serve`'s flags are the server's own (`server::settings`); the
//! subcommands that need no server are in `offline` and `probe`. `main.rs` dispatches.

pub mod offline;
pub(crate) mod probe;
pub mod stream;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::server::settings::parse_duration;
pub use crate::server::settings::{DevCertArgs, LogFormat, ServeArgs};

/// gcm-oracle: a stateless AES-256-GCM encryption oracle over HTTPS.
///
/// With no subcommand, `serve` runs with its defaults.
#[derive(Debug, Parser)]
#[command(
    name = "gcm-oracle",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings for `serve` when no subcommand is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The subcommand to run, `serve` when none was named.
    #[must_use]
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(
    clippy::large_enum_variant,
    reason = "parsed once at start-up: the size is irrelevant, and boxing complicates clap's derive"
)]
pub enum Command {
    /// Serve the oracle over HTTPS (the default).
    Serve(ServeArgs),
    /// Write development certificates (dev-ca.pem, dev-cert.pem, dev-key.pem) and exit.
    GenCert(DevCertArgs),
    /// Check a server: exit 0 if URL answers 200 over verified TLS, else one line on stderr
    /// and exit 1. For container health checks, where there is no curl.
    Probe(ProbeArgs),
    /// Write a fresh key pair, private_key.pem (PKCS#8, mode 0600) and public_key.pem
    /// (SubjectPublicKeyInfo), into a directory. No server involved.
    Keypair(KeypairArgs),
    /// Read an envelope sealed for you (a /oracleinvocation/ answer with "wrapped_key") on
    /// stdin, and print its clear text with your private key. No server involved.
    Open(OpenArgs),
    /// Open a stream file (aes128gcm or aes256gcm-hkdf-1mb) with its key, or with your
    /// private key when its key was wrapped for you. No server involved.
    StreamOpen(stream::StreamOpenArgs),
    /// Send a file through a server's /oracleinvocation/stream (or, with --decrypt,
    /// /decrypt/stream), with a progress bar on a terminal.
    StreamSend(stream::StreamSendArgs),
}

/// Settings of `gcm-oracle keypair`.
#[derive(Clone, Debug, Args)]
pub struct KeypairArgs {
    /// The kind of key pair. Recipients of sealed messages use rsa-* or x25519.
    #[arg(long, value_enum)]
    pub algorithm: crate::keys::keypair::Algorithm,

    /// Directory to write private_key.pem and public_key.pem into (created if missing);
    /// existing key files are never overwritten.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Settings of `gcm-oracle open`.
#[derive(Clone, Debug, Args)]
pub struct OpenArgs {
    /// Your private key: PKCS#8 PEM (RSA or X25519, as `keypair` writes it) or PKCS#1 RSA PEM.
    #[arg(long, value_name = "FILE")]
    pub private_key: PathBuf,

    /// The associated data the message was sealed with, as UTF-8 text.
    #[arg(long, value_name = "TEXT", conflicts_with = "aad_base64")]
    pub aad: Option<String>,

    /// The associated data the message was sealed with, as standard base64 (for binary aad,
    /// sealed with "encoding": "base64").
    #[arg(long, value_name = "BASE64")]
    pub aad_base64: Option<String>,
}

/// Settings of `gcm-oracle probe`.
#[derive(Clone, Debug, Args)]
pub struct ProbeArgs {
    /// The https:// URL to fetch.
    #[arg(
        env = "GCM_ORACLE_PROBE_URL",
        default_value = "https://localhost:8443/healthz"
    )]
    pub url: String,

    /// Verify the certificate for this name instead of the URL's host (e.g. connect to
    /// localhost, check the certificate of oracle.example.com).
    #[arg(long, env = "GCM_ORACLE_PROBE_SERVERNAME", value_name = "NAME")]
    pub servername: Option<String>,

    /// Verify the server against the CA certificates in this PEM file [default: the system's roots].
    #[arg(long, env = "GCM_ORACLE_PROBE_CACERT", value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Give up after this long.
    #[arg(long, env = "GCM_ORACLE_PROBE_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_means_serve_with_defaults() {
        let Command::Serve(args) = Cli::try_parse_from(["gcm-oracle"]).unwrap().into_command()
        else {
            panic!("not serve");
        };
        assert_eq!(args.bind, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(args.dev_certs.cert_dir, PathBuf::from("certs"));
        assert_eq!(args.max_body, 8 * 1024 * 1024);
        assert_eq!(args.body_timeout, Duration::from_secs(10));
        assert_eq!(args.keep_alive, Duration::from_secs(5));
        assert_eq!(args.request_timeout, Duration::from_secs(5));
        assert_eq!(args.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(args.max_connections.get(), 25_000);
        assert_eq!(args.log_format, LogFormat::Pretty);
        assert_eq!((args.redirect_http, args.client_ca), (None, None));
    }

    #[test]
    fn serve_flags_work_with_and_without_the_subcommand() {
        for argv in [
            &["gcm-oracle", "--bind", "[::1]:0", "--max-body", "1KiB"][..],
            &[
                "gcm-oracle",
                "serve",
                "--bind",
                "[::1]:0",
                "--max-body",
                "1KiB",
            ][..],
        ] {
            let Command::Serve(args) = Cli::try_parse_from(argv).unwrap().into_command() else {
                panic!("not serve");
            };
            assert_eq!(args.bind, "[::1]:0".parse().unwrap());
            assert_eq!(args.max_body, 1024);
        }
    }

    #[test]
    fn cert_without_key_is_refused() {
        assert!(Cli::try_parse_from(["gcm-oracle", "--cert", "c.pem"]).is_err());
    }

    #[test]
    fn gen_cert_takes_repeated_sans() {
        let cli = Cli::try_parse_from([
            "gcm-oracle",
            "gen-cert",
            "--san",
            "a.test",
            "--san",
            "10.0.0.1",
        ])
        .unwrap();
        let Command::GenCert(args) = cli.into_command() else {
            panic!("not gen-cert");
        };
        assert_eq!(args.sans, ["a.test", "10.0.0.1"]);
    }

    #[test]
    fn invalid_values_are_refused() {
        for argv in [
            &["gcm-oracle", "--bind", "localhost"][..],
            &["gcm-oracle", "--max-body", "lots"][..],
            &["gcm-oracle", "--max-body", "0"][..],
            &["gcm-oracle", "--max-body", "2GiB"][..],
            &["gcm-oracle", "--body-timeout", "0s"][..],
            &["gcm-oracle", "--workers", "0"][..],
            &["gcm-oracle", "--keep-alive", "soon"][..],
            &["gcm-oracle", "--max-connections", "0"][..],
            &["gcm-oracle", "--log-format", "xml"][..],
            &["gcm-oracle", "--redirect-http", "80"][..],
            &["gcm-oracle", "--san", "bad_name!"][..],
            &["gcm-oracle", "--san", ""][..],
            &["gcm-oracle", "gen-cert", "--san", "-dash.example"][..],
        ] {
            assert!(Cli::try_parse_from(argv).is_err(), "{argv:?} was accepted");
        }
    }
}
