//! Binds the listener (port 0 works), builds the actix `App` and runs until stopped.

mod expect;
pub mod logwriter;
mod readahead;
pub(crate) mod redirect;
pub(crate) mod settings;
mod stall;
pub mod telemetry;
pub(crate) mod tls;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_http::{HttpService, Protocol};
use actix_service::{
    IntoServiceFactory as _, Service, ServiceFactoryExt as _, fn_service, map_config,
};
use actix_tls::accept::TlsError as AcceptError;
use actix_tls::accept::rustls_0_23::{Acceptor, TlsStream};
use actix_web::dev::AppConfig;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::rt::net::TcpStream;
use actix_web::{App, web};

use self::readahead::ReadAhead;
use self::settings::ServeArgs;
use self::stall::WriteStall;
use self::tls::{DevCertStatus, ReloadableCert, TlsError};
use crate::http::body::BodyLimits;
use crate::http::handlers::MaxBatchItems;
use crate::http::keygen::KeygenLimiter;
use crate::http::metrics::Metrics;
use crate::http::routes;

/// HSTS for two years, the value browsers' preload lists ask for: this service is HTTPS-only.
const HSTS: &str = "max-age=63072000";

/// The headers every answer carries, errors included (docs/WIRE.md): an answer can hold a key.
pub(crate) const SECURITY_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::STRICT_TRANSPORT_SECURITY, HSTS),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// HTTP/2 flow control, per stream: how much of a body a client may send before the server
/// reads it. actix-http's 1 MiB stalled every 1 MiB request on a window update for its last
/// few bytes (the JSON around the data); 2 MiB lets it flow.
const H2_STREAM_WINDOW: u32 = 2 * 1024 * 1024;

/// HTTP/2 flow control, per connection: four such streams at once, or one body of the default
/// `--max-body`. With actix-http's 2 MiB, concurrent uploads on one connection waited on each
/// other; 1 MiB requests ran ~15 % faster over HTTP/2 with these (docs/BENCHMARKS.md). A
/// connection can make the server buffer at most this much unread body.
const H2_CONNECTION_WINDOW: u32 = 8 * 1024 * 1024;

/// Why the server could not start. One line each, naming the file or address at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The certificate or key could not be loaded or created.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The address could not be bound (in use, not local, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// A server whose TLS configuration is loaded and whose socket is bound, ready to [`run`].
///
/// [`run`]: Server::run
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    tls: rustls::ServerConfig,
    cert: Arc<ReloadableCert>,
    redirect: Option<(TcpListener, SocketAddr)>,
    dev_ca: Option<PathBuf>,
    state: AppState,
    workers: Option<usize>,
    timeouts: Timeouts,
}

/// What every worker's [`App`] shares: limits, the key-generation pool and the metrics.
#[derive(Clone, Debug, Default)]
pub struct AppState {
    /// Body size limit and stall timeout.
    pub limits: BodyLimits,
    /// Most items in one batch.
    pub max_batch_items: MaxBatchItems,
    /// The bounded pool for RSA key generation.
    pub keygen: KeygenLimiter,
    /// The Prometheus registry.
    pub metrics: Metrics,
}

/// The application without the network: routes, middleware and shared state. The server runs
/// one per worker; tests and benchmarks drive it in process with `actix_web::test`.
pub fn app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state.limits)
        .app_data(web::Data::new(state.max_batch_items))
        .app_data(web::Data::new(state.keygen))
        .app_data(web::Data::new(state.metrics))
        .configure(routes::routes)
        .wrap(from_fn(routes::head_as_get))
        .wrap(from_fn(routes::empty_404_as_json))
        .wrap(
            SECURITY_HEADERS
                .into_iter()
                .fold(DefaultHeaders::new(), |headers, header| headers.add(header)),
        )
        // Outermost, so it times and counts everything, errors included.
        .wrap(from_fn(telemetry::access_log))
}

/// The TLS configuration with the protocols the server speaks, HTTP/2 first, offered by ALPN
/// (before any the configuration already lists), as actix-http sets them.
fn tls_with_alpn(tls: &rustls::ServerConfig) -> rustls::ServerConfig {
    let mut tls = tls.clone();
    let mut protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    protocols.append(&mut tls.alpn_protocols);
    tls.alpn_protocols = protocols;
    tls
}

/// Connection settings handed to actix-web.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    keep_alive: std::time::Duration,
    request: std::time::Duration,
    shutdown: std::time::Duration,
    max_connections: usize,
    /// How long a write may wait on a client that does not read: six body timeouts. Longer
    /// than the body timeout: a full socket reports room again only once a third of it has
    /// drained, so a slow reader can go that long between writes without having stopped.
    write_stall: std::time::Duration,
}

impl Server {
    /// Loads (or creates) the certificates, then binds the address. Nothing is served until
    /// [`Server::run`].
    ///
    /// # Errors
    ///
    /// If the certificates cannot be loaded or created, or the address cannot be bound.
    pub fn bind(args: &ServeArgs) -> Result<Self, StartError> {
        // The port first: a busy port fails before any certificate is touched.
        let listener = TcpListener::bind(args.bind).map_err(|source| StartError::Bind {
            addr: args.bind,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: args.bind,
            source,
        })?;
        let client_ca = args.client_ca.as_deref();
        let ((tls, cert), dev_ca) = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => (tls::reloadable_server_config(cert, key, client_ca)?, None),
            _ => {
                let dir = &args.dev_certs.cert_dir;
                let mut sans = args.dev_certs.sans.clone();
                // A specific bind address must be in the certificate, or the URL we log fails.
                if !addr.ip().is_unspecified() {
                    sans.push(addr.ip().to_string());
                }
                let (paths, status) = tls::ensure_dev_certs(dir, &sans)?;
                match status {
                    DevCertStatus::Created => {
                        tracing::info!(dir = %dir.display(), "created development certificates");
                    }
                    DevCertStatus::Reused => {
                        tracing::info!(dir = %dir.display(), "using existing development certificates");
                    }
                }
                // An absolute path, so the logged curl line works from any directory.
                let ca = std::fs::canonicalize(&paths.ca).unwrap_or(paths.ca);
                let config = tls::reloadable_server_config(&paths.cert, &paths.key, client_ca)?;
                (config, Some(ca))
            }
        };
        let redirect = match args.redirect_http {
            Some(redirect) => {
                let listener = TcpListener::bind(redirect).map_err(|source| StartError::Bind {
                    addr: redirect,
                    source,
                })?;
                let bound = listener.local_addr().map_err(|source| StartError::Bind {
                    addr: redirect,
                    source,
                })?;
                Some((listener, bound))
            }
            None => None,
        };
        Ok(Self {
            listener,
            addr,
            tls,
            cert,
            redirect,
            dev_ca,
            state: AppState {
                limits: BodyLimits {
                    max_body: args.max_body,
                    body_timeout: args.body_timeout,
                    max_stream: args.max_stream,
                },
                max_batch_items: MaxBatchItems(args.max_batch_items),
                keygen: KeygenLimiter::new(
                    args.max_keygen.unwrap_or_else(KeygenLimiter::default_slots),
                ),
                metrics: Metrics::new(),
            },
            workers: args.workers.map(usize::from),
            timeouts: Timeouts {
                keep_alive: args.keep_alive,
                request: args.request_timeout,
                shutdown: args.shutdown_timeout,
                max_connections: args.max_connections.get(),
                write_stall: args.body_timeout.saturating_mul(6),
            },
        })
    }

    /// The address actually bound: with port 0, the port the system picked.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients use, e.g. `https://127.0.0.1:8443`. An unspecified bind address
    /// (`0.0.0.0`, `::`) is shown as `localhost`, which the development certificate covers.
    #[must_use]
    pub fn url(&self) -> String {
        let port = self.addr.port();
        match self.addr {
            addr if addr.ip().is_unspecified() => format!("https://localhost:{port}"),
            SocketAddr::V4(v4) => format!("https://{}:{port}", v4.ip()),
            SocketAddr::V6(v6) => format!("https://[{}]:{port}", v6.ip()),
        }
    }

    /// The plain-HTTP redirect listener's address, with `--redirect-http`.
    #[must_use]
    pub fn redirect_addr(&self) -> Option<SocketAddr> {
        self.redirect.as_ref().map(|(_, addr)| *addr)
    }

    /// The server's metrics, as `GET /metrics` shows them.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// The development CA certificate clients should trust, when development certificates are
    /// in use.
    #[must_use]
    pub fn dev_ca(&self) -> Option<&Path> {
        self.dev_ca.as_deref()
    }

    /// Starts serving and logs where. The returned future runs until the server stops (on
    /// SIGINT or SIGTERM, or through its handle); spawn it or await it.
    ///
    /// # Errors
    ///
    /// If actix cannot take over the listener.
    pub fn run(self) -> std::io::Result<actix_web::dev::Server> {
        let url = self.url();
        // What actix-web's HttpServer builds, from its layers, so that the HTTP/1 service can
        // have our `Expect: 100-continue` handler (`expect.rs`); HttpServer cannot take one.
        let mut builder = actix_server::Server::build()
            .max_concurrent_connections(self.timeouts.max_connections)
            // Whole seconds for actix: round up, so a short timeout never becomes zero.
            .shutdown_timeout(self.timeouts.shutdown.as_secs_f64().ceil().max(1.0) as u64)
            // actix treats SIGINT as a forced stop; both signals drain requests here instead.
            .disable_signals();
        if let Some(workers) = self.workers {
            builder = builder.workers(workers);
        }
        let shutdown = builder.graceful_shutdown_signal();
        let (state, tls, timeouts) = (self.state.clone(), self.tls, self.timeouts);
        let builder = builder.listen("gcm-oracle", self.listener, move || {
            let shutdown = shutdown.clone();
            let (limits, metrics) = (state.limits, state.metrics.clone());
            let app = app(state.clone())
                .into_factory()
                .map_err(|err| err.error_response());
            let service = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .keep_alive(timeouts.keep_alive)
                .client_request_timeout(timeouts.request)
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .h1_allow_half_closed(true)
                .tcp_nodelay(true)
                .h2_initial_window_size(H2_STREAM_WINDOW)
                .h2_initial_connection_window_size(H2_CONNECTION_WINDOW)
                .expect(fn_service(move |req| {
                    expect::check(req, limits, metrics.clone())
                }))
                // The App's idea of its own host and scheme (`ConnectionInfo` without a Host
                // header, `url_for`) is used by nothing here, and AppConfig has no public
                // constructor but its default.
                .finish(map_config(app, |()| AppConfig::default()));
            // What actix-http's `rustls_0_23_with_config` does, with the socket read ahead
            // under TLS (`readahead.rs`) and the TLS stream wrapped in `WriteStall` before HTTP
            // runs on it.
            let mut acceptor = Acceptor::new(tls_with_alpn(&tls));
            acceptor.set_handshake_timeout(timeouts.request);
            let read_ahead = |io: TcpStream, tls: &_| Service::call(tls, ReadAhead::new(io));
            actix_service::apply_fn_factory::<_, _, _, _, _, ReadAhead, _, _>(acceptor, read_ahead)
                .map_init_err(|()| ())
                .map_err(AcceptError::into_service_error)
                .and_then(move |io: TlsStream<ReadAhead>| async move {
                    let h2 = io.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
                    let protocol = if h2 { Protocol::Http2 } else { Protocol::Http1 };
                    let tcp = io.get_ref().0.get_ref();
                    let _ = tcp.set_nodelay(true);
                    let peer = tcp.peer_addr().ok();
                    Ok((WriteStall::new(io, timeouts.write_stall), protocol, peer))
                })
                .and_then(service.map_err(AcceptError::Service))
        })?;
        let server = builder.run();
        stop_gracefully_on_signals(server.handle());
        reload_on_sighup(self.cert);
        if let Some((listener, addr)) = self.redirect {
            let redirect =
                redirect::server(listener, self.addr.port(), self.state.metrics.clone())?;
            tokio::spawn(redirect);
            tracing::info!("redirecting http://{addr} to https");
        }

        tracing::info!("gcm-oracle listening on {url}");
        match &self.dev_ca {
            Some(ca) => {
                let ca = ca.display();
                tracing::info!("development CA certificate: {ca}");
                let quoted = shell_quote(&ca.to_string());
                tracing::info!(
                    "try: curl --cacert {quoted} -H 'Content-Type: application/json' -d '{{\"data\":\"hi\"}}' {url}/oracleinvocation/"
                );
            }
            None => tracing::info!(
                "try: curl -H 'Content-Type: application/json' -d '{{\"data\":\"hi\"}}' {url}/oracleinvocation/"
            ),
        }
        Ok(server)
    }
}

/// On SIGTERM or SIGINT: stop accepting at once, let requests already accepted finish within
/// the shutdown timeout, then let `run`'s future complete (and the process exit 0).
fn stop_gracefully_on_signals(handle: actix_web::dev::ServerHandle) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut terms), Ok(mut ints)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for SIGTERM/SIGINT: stop the server through its handle");
            return;
        };
        tokio::spawn(async move {
            let name = tokio::select! {
                _ = terms.recv() => "SIGTERM",
                _ = ints.recv() => "SIGINT",
            };
            tracing::info!("{name} received: no new connections; finishing requests in flight");
            handle.stop(true).await;
        });
    }
    #[cfg(not(unix))]
    drop(handle);
}

/// On SIGHUP, re-reads the certificate and key: new handshakes use the new certificate, open
/// connections keep theirs, and a broken or mismatched file leaves the old one in place.
fn reload_on_sighup(cert: Arc<ReloadableCert>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(err) => {
                tracing::warn!("cannot listen for SIGHUP, certificate reload is off: {err}");
                return;
            }
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match cert.reload() {
                    Ok(()) => tracing::info!(
                        "SIGHUP: reloaded the certificate from {}",
                        cert.cert_path().display()
                    ),
                    Err(err) => tracing::error!(
                        "SIGHUP: certificate reload failed, still serving the previous certificate: {err}"
                    ),
                }
            }
        });
    }
    #[cfg(not(unix))]
    drop(cert);
}

/// Quotes `text` for a POSIX shell when it holds anything but safe characters.
fn shell_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+:@,=%".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn paths_are_quoted_only_when_needed() {
        assert_eq!(
            shell_quote("/tmp/certs/dev-ca.pem"),
            "/tmp/certs/dev-ca.pem"
        );
        assert_eq!(
            shell_quote("/tmp/with space/ca.pem"),
            "'/tmp/with space/ca.pem'"
        );
        assert_eq!(shell_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }
}
