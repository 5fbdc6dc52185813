//! The `gcm-oracle` binary: parse settings, start logging, run.

use std::process::ExitCode;

use clap::Parser as _;
use gcm_oracle::config::{Cli, Command, LogFormat};
use gcm_oracle::server::Server;
use gcm_oracle::{telemetry, tls};

fn main() -> ExitCode {
    let command = Cli::parse().into_command();
    let format = match &command {
        Command::Serve(args) => args.log_format,
        Command::GenCert(_) => LogFormat::Pretty,
    };
    telemetry::init(format);
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
