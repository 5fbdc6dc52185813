//! The settings the server is built from: the `serve` flags (clap `Args`, each with a
//! `GCM_ORACLE_*` environment fallback), which the command line in `cli` flattens into its
//! own. They live with the server so that it depends on nothing above it.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

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

    /// Drop a client that sends no body bytes for this long in the middle of a body, or (over
    /// HTTP/1.1) whose socket takes no bytes of an answer for six times this long (e.g. 10s, 500ms).
    #[arg(long, env = "GCM_ORACLE_BODY_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub body_timeout: Duration,

    /// Largest stream through /oracleinvocation/stream and /decrypt/stream, e.g. 64GiB or 1TiB:
    /// 413 when a Content-Length says more, and a chunked upload that passes it is aborted.
    #[arg(long, env = "GCM_ORACLE_MAX_STREAM", default_value = "64GiB", value_parser = parse_stream_size)]
    pub max_stream: u64,

    /// Most items in one batch request; more get 413.
    #[arg(long, env = "GCM_ORACLE_MAX_BATCH_ITEMS", default_value_t = crate::wire::batch::DEFAULT_MAX_ITEMS)]
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

fn parse_stream_size(text: &str) -> Result<u64, String> {
    let size: bytesize::ByteSize = text
        .parse()
        .map_err(|err| format!("not a size like 64GiB or 1048576: {err}"))?;
    match size.as_u64() {
        0 => Err("must be at least 1 byte".to_owned()),
        bytes => Ok(bytes),
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

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|err| format!("not a duration like 10s or 500ms: {err}"))?;
    if duration.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(duration)
}
