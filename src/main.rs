//! The `gcm-oracle` binary: parse settings, start logging, run.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use gcm_oracle::internals::{
    Cli, Command, LogFormat, OfflineError, ProbeArgs, Server, generate_dev_certs, offline, stream,
    telemetry,
};

// mimalloc keeps freed memory for reuse instead of returning large buffers to the kernel
// after every request: measured 2x faster on 1 MiB requests (docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match Cli::parse().into_command() {
        Command::Serve(args) => {
            let Ok(_log) = telemetry::init(args.log_format) else {
                return one_line(Err("cannot start the logging thread".into()));
            };
            logged(actix_web::rt::System::new().block_on(async move {
                let server = Server::bind(&args)?;
                server.run()?.await?;
                Ok(())
            }))
        }
        Command::GenCert(args) => {
            let Ok(_log) = telemetry::init(LogFormat::Pretty) else {
                return one_line(Err("cannot start the logging thread".into()));
            };
            logged(
                generate_dev_certs(&args.cert_dir, &args.sans)
                    .map(|paths| {
                        tracing::info!(
                            "wrote {}, {} and {}",
                            paths.ca.display(),
                            paths.cert.display(),
                            paths.key.display()
                        );
                    })
                    .map_err(Into::into),
            )
        }
        // The probe's only output is its one line on failure.
        Command::Probe(args) => probe(&args),
        Command::Keypair(args) => offline(offline::keypair(&args).map(|(private, public)| {
            let _ = writeln!(
                std::io::stderr(),
                "wrote {} and {}",
                private.display(),
                public.display()
            );
        })),
        // stdout carries the clear text and nothing else.
        Command::Open(args) => offline(offline::open(
            &args,
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
        )),
        Command::StreamOpen(args) => one_line(stream::open(&args)),
        Command::StreamSend(args) => one_line(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| format!("cannot start: {err}"))
                .and_then(|runtime| runtime.block_on(stream::send(&args))),
        ),
    }
}

/// One line on stderr for a failed command, with exit code 1.
fn one_line(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "gcm-oracle: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Logs a failure of `serve` or `gen-cert` and picks the exit code.
fn logged(result: Result<(), Box<dyn std::error::Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

fn probe(args: &ProbeArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(gcm_oracle::internals::probe(
            &args.url,
            args.servername.as_deref(),
            args.cacert.as_deref(),
            args.timeout,
        )),
        Err(err) => Err(format!("cannot start: {err}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Even a closed stderr must not turn a failed probe into a panic.
            let _ = writeln!(std::io::stderr(), "probe failed: {err}");
            ExitCode::FAILURE
        }
    }
}

/// One line on stderr for a failed offline command, with exit code 1.
fn offline(result: Result<(), OfflineError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "gcm-oracle: {err}");
            ExitCode::FAILURE
        }
    }
}
