//! The `gcm-oracle` binary: parse settings, start logging, run.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use gcm_oracle::config::{Cli, Command};
use gcm_oracle::server::Server;
use gcm_oracle::tls;

fn main() -> ExitCode {
    let command = Cli::parse().into_command();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in files or container logs.
        .with_ansi(std::io::stderr().is_terminal())
        // A closed or full stderr must not take the server down: tracing-subscriber would
        // report the failed write with eprint!, which panics when stderr itself fails.
        .log_internal_errors(false)
        .init();
    let result: Result<(), Box<dyn std::error::Error>> = match command {
        Command::Serve(args) => actix_web::rt::System::new().block_on(async move {
            let server = Server::bind(&args)?;
            server.run()?.await?;
            Ok(())
        }),
        Command::GenCert(args) => tls::generate_dev_certs(&args.cert_dir, &args.sans)
            .map(|paths| {
                tracing::info!(
                    "wrote {}, {} and {}",
                    paths.ca.display(),
                    paths.cert.display(),
                    paths.key.display()
                );
            })
            .map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}
