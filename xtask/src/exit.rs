//! Exit statuses: 0 success, 1 a run or test that failed, 2 bad input.

use std::fmt;
use std::process::ExitCode;

/// Bad input from the user (a flag, a file): exit status 2, nothing started.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Print an error as one line (its causes joined with `: `) and pick the exit status.
pub fn report(error: &anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    if error.downcast_ref::<Usage>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}
