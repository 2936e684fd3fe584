//! `loadgen`: send HTTP requests and tally the answers by version.

fn main() -> std::process::ExitCode {
    loadgen::cli::main(std::env::args_os())
}
