//! Command-line settings (clap), each flag with a `GCM_ORACLE_*` environment fallback.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

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
}

/// Settings of `gcm-oracle keypair`.
#[derive(Clone, Debug, Args)]
pub struct KeypairArgs {
    /// The kind of key pair. Recipients of sealed messages use rsa-* or x25519.
    #[arg(long, value_enum)]
    pub algorithm: crate::keypair::Algorithm,

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

/// Settings of `gcm-oracle serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on; port 0 picks a free port (the log shows which).
    #[arg(long, env = "GCM_ORACLE_BIND", default_value = "127.0.0.1:8443")]
    pub bind: SocketAddr,

    /// Where development certificates live, for when no --cert/--key is given.
    #[command(flatten)]
    pub dev_certs: DevCertArgs,

    /// PEM certificate chain (leaf first) for real certificates; needs --key.
    #[arg(long, env = "GCM_ORACLE_CERT", requires = "key")]
    pub cert: Option<PathBuf>,

    /// PEM private key for --cert: RSA or ECDSA, in PKCS#8, SEC1 or PKCS#1 form.
    #[arg(long, env = "GCM_ORACLE_KEY", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Largest accepted request body, e.g. 8MiB, 512KiB or 1048576 (bytes); larger bodies get 413.
    #[arg(long, env = "GCM_ORACLE_MAX_BODY", default_value = "8MiB", value_parser = parse_size)]
    pub max_body: usize,

    /// Drop a client that sends no body bytes for this long in the middle of a body (e.g. 10s, 500ms).
    #[arg(long, env = "GCM_ORACLE_BODY_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Most items in one batch request; more get 413.
    #[arg(long, env = "GCM_ORACLE_MAX_BATCH_ITEMS", default_value_t = crate::batch::DEFAULT_MAX_ITEMS)]
    pub max_batch_items: usize,

    /// Most RSA key pairs generated at once for POST /keypair/, off the request threads
    /// [default: half the CPU cores, at least 1]; four times as many more may wait, the rest
    /// get 503.
    #[arg(long, env = "GCM_ORACLE_MAX_KEYGEN")]
    pub max_keygen: Option<NonZeroUsize>,

    /// Worker threads [default: one per CPU core].
    #[arg(long, env = "GCM_ORACLE_WORKERS")]
    pub workers: Option<NonZeroUsize>,

    /// How long an idle keep-alive connection stays open.
    #[arg(long, env = "GCM_ORACLE_KEEP_ALIVE", default_value = "5s", value_parser = parse_duration)]
    pub keep_alive: Duration,

    /// How long a client may take to send a request's headers (and the TLS handshake).
    #[arg(long, env = "GCM_ORACLE_REQUEST_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Most concurrent connections per worker; more wait in the listen backlog.
    #[arg(long, env = "GCM_ORACLE_MAX_CONNECTIONS", default_value_t = NonZeroUsize::new(25_000).unwrap_or(NonZeroUsize::MIN))]
    pub max_connections: NonZeroUsize,

    /// On SIGTERM or SIGINT: stop accepting, then wait this long for requests in flight.
    #[arg(long, env = "GCM_ORACLE_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// Log format: one human-readable line per event, or one JSON object per line.
    #[arg(long, env = "GCM_ORACLE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Also listen for plain HTTP on this address, answering every request with a 308 redirect
    /// to the HTTPS URL (and nothing else).
    #[arg(long, env = "GCM_ORACLE_REDIRECT_HTTP", value_name = "ADDR:PORT")]
    pub redirect_http: Option<SocketAddr>,

    /// Require clients to present a certificate issued by a CA in this PEM file (mutual TLS).
    #[arg(long, env = "GCM_ORACLE_CLIENT_CA", value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
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

/// The development certificates: `gcm-oracle gen-cert` writes them, `serve` uses them (and
/// creates or renews them) when no --cert/--key is given.
#[derive(Clone, Debug, Args)]
pub struct DevCertArgs {
    /// Directory of the development certificates dev-ca.pem, dev-cert.pem and dev-key.pem.
    #[arg(long, env = "GCM_ORACLE_CERT_DIR", default_value = "certs")]
    pub cert_dir: PathBuf,

    /// Extra DNS name or IP address for the development certificate (repeatable; the
    /// variable takes a comma-separated list). localhost, 127.0.0.1 and ::1 are always included.
    #[arg(
        long = "san",
        value_name = "NAME",
        env = "GCM_ORACLE_SAN",
        value_delimiter = ',',
        value_parser = parse_san
    )]
    pub sans: Vec<String>,
}

/// A subject alternative name: an IP address, or a DNS name (letters, digits and hyphens in
/// labels of at most 63 characters, optionally a leading `*.` wildcard).
fn parse_san(text: &str) -> Result<String, String> {
    if text.parse::<std::net::IpAddr>().is_ok() {
        return Ok(text.to_owned());
    }
    let name = text.strip_prefix("*.").unwrap_or(text);
    let valid = !name.is_empty()
        && text.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(text.to_owned())
    } else {
        Err("not an IP address or a DNS name like oracle.example.com".to_owned())
    }
}

fn parse_size(text: &str) -> Result<usize, String> {
    let size: bytesize::ByteSize = text
        .parse()
        .map_err(|err| format!("not a size like 8MiB or 1048576: {err}"))?;
    // 1 GiB: a body is held in memory whole, and GCM itself caps a message near 64 GiB.
    const MAX: u64 = 1 << 30;
    match size.as_u64() {
        0 => Err("must be at least 1 byte".to_owned()),
        bytes if bytes > MAX => Err("must be at most 1GiB".to_owned()),
        bytes => usize::try_from(bytes).map_err(|_| "too large for this platform".to_owned()),
    }
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|err| format!("not a duration like 10s or 500ms: {err}"))?;
    if duration.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(duration)
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
