//! demo-app: the tutorial's demo image in Rust; `demo-app --help` lists the flags.

use std::process::ExitCode;

use demo_app::{Config, Error};
use tokio::signal::unix::{SignalKind, signal};

/// Exit status when a crash knob fires (1 is a startup failure, 2 bad input).
const CRASH_EXIT_STATUS: i32 = 3;

fn main() -> ExitCode {
    let config = match Config::parse_from(std::env::args_os()) {
        Ok(config) => config,
        Err(error) if error.exit_code() == 0 => {
            print!("{error}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(error.exit_code());
        }
    };
    // One thread serves a small response faster than two that share counters, and the
    // load generator needs the other core.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        // Installed before the servers start, so an early SIGTERM drains instead of killing.
        let (mut terminate, mut interrupt) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(terminate), Ok(interrupt)) => (terminate, interrupt),
            (Err(error), _) | (_, Err(error)) => {
                eprintln!("error: cannot handle SIGTERM and SIGINT: {error}");
                return Err(ExitCode::FAILURE);
            }
        };
        let shutdown = async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        };
        Ok(demo_app::run(config, shutdown).await)
    });
    match outcome {
        Err(code) => code,
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(crash @ Error::Crashed(_))) => {
            eprintln!("demo-app: {crash}");
            // Exit at once: connections still open are cut off, as in a real crash.
            std::process::exit(CRASH_EXIT_STATUS);
        }
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
