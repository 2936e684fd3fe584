//! Exit statuses: 0 success, 1 a run or test that failed, 2 bad input.
//!
//! Bad input is always said in one line per problem, naming the file and the
//! place (`lab/scenarios/x/app-v2.yaml:12:7: …`) or the flag (`error: --rate: …`).

use clap::error::{ContextKind, ContextValue, ErrorKind};
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

/// Bad input in files, one problem per line, each already naming its file and
/// place (`file:line:col: message`): printed as they are, exit status 2.
#[derive(Debug)]
pub struct Problems(pub Vec<String>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for Problems {}

/// An error of the lab's libraries for the command line: bad input (a flag, a
/// recorded lab that conflicts) is a [`Usage`] error, exit status 2.
pub fn from_session(error: lab_session::SessionError) -> anyhow::Error {
    if error.is_usage() {
        Usage(error.to_string()).into()
    } else {
        error.into()
    }
}

/// Print an error as one line (its causes joined with `: `) and pick the exit status.
pub fn report(error: &anyhow::Error) -> ExitCode {
    if let Some(problems) = error.downcast_ref::<Problems>() {
        for problem in &problems.0 {
            eprintln!("{problem}");
        }
        return ExitCode::from(2);
    }
    eprintln!("error: {error:#}");
    if error.downcast_ref::<Usage>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// Print a command-line error in one line naming the flag (`error: --rate: …`)
/// and exit 2; help and version requests print as clap renders them.
pub fn command_line(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(if error.use_stderr() { 2 } else { 0 })
        }
        _ => {
            eprintln!("error: {}", one_line(error));
            ExitCode::from(2)
        }
    }
}

fn text(value: &ContextValue) -> String {
    match value {
        ContextValue::String(text) => text.clone(),
        ContextValue::Strings(texts) => texts.join(", "),
        ContextValue::StyledStr(text) => text.to_string(),
        ContextValue::StyledStrs(texts) => texts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        ContextValue::Number(number) => number.to_string(),
        ContextValue::Bool(flag) => flag.to_string(),
        _ => String::new(),
    }
}

/// `--rate <REQUESTS_PER_SECOND>` → `--rate`; `<SCENARIO>` stays as it is.
fn flag_name(usage: &str) -> String {
    if usage.starts_with('-') {
        usage.split([' ', '=']).next().unwrap_or(usage).to_string()
    } else {
        usage.to_string()
    }
}

/// A clap error in one line, the flag or argument first.
pub fn one_line(error: &clap::Error) -> String {
    let context = |kind| error.get(kind).map(text);
    let arg = context(ContextKind::InvalidArg)
        .map(|usage| {
            usage
                .split(", ")
                .map(flag_name)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let value = context(ContextKind::InvalidValue).unwrap_or_default();
    match error.kind() {
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(error)
                .map(ToString::to_string)
                .unwrap_or_else(|| "invalid".to_string());
            if why.contains(&value) {
                format!("{arg}: {why}")
            } else {
                format!("{arg}: invalid value `{value}`: {why}")
            }
        }
        ErrorKind::InvalidValue if value.is_empty() => format!("{arg}: needs a value"),
        ErrorKind::InvalidValue => match context(ContextKind::ValidValue) {
            Some(valid) => format!("{arg}: invalid value `{value}`: expected one of {valid}"),
            None => format!("{arg}: invalid value `{value}`"),
        },
        ErrorKind::UnknownArgument => match context(ContextKind::SuggestedArg) {
            Some(suggested) => format!("{arg}: unexpected argument (did you mean {suggested}?)"),
            None => format!("{arg}: unexpected argument"),
        },
        ErrorKind::MissingRequiredArgument => format!("{arg}: required, not given"),
        ErrorKind::InvalidSubcommand => {
            let name = context(ContextKind::InvalidSubcommand).unwrap_or_default();
            match context(ContextKind::SuggestedSubcommand) {
                Some(suggested) => {
                    format!("{name}: unknown command (did you mean {suggested}?)")
                }
                None => format!("{name}: unknown command (see --help)"),
            }
        }
        ErrorKind::ArgumentConflict => {
            let prior = context(ContextKind::PriorArg).map_or_else(String::new, |p| flag_name(&p));
            format!("{arg}: cannot be used with {prior}")
        }
        _ => {
            // Anything else: clap's own first line, which states the problem.
            let rendered = error.to_string();
            let first = rendered.lines().next().unwrap_or_default();
            first.trim_start_matches("error: ").to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// A stand-in for the lab's command line with each kind of argument.
    #[derive(Parser, Debug)]
    #[command(name = "lab")]
    struct Cli {
        scenario: String,
        #[arg(long, value_parser = positive)]
        rate: Option<f64>,
        #[arg(long, value_enum)]
        platform: Option<Platform>,
        #[arg(long, conflicts_with = "platform")]
        context: Option<String>,
        #[arg(long)]
        observe: Option<String>,
    }

    #[derive(clap::ValueEnum, Clone, Debug)]
    enum Platform {
        Local,
        Kind,
    }

    fn positive(text: &str) -> Result<f64, String> {
        match text.parse::<f64>() {
            Ok(rate) if rate > 0.0 => Ok(rate),
            _ => Err(format!("`{text}` is not a positive number")),
        }
    }

    #[test]
    fn command_line_errors_are_one_line_naming_the_flag() {
        let check = |args: &[&str], expected: &str| {
            let error = Cli::try_parse_from(std::iter::once("lab").chain(args.iter().copied()))
                .unwrap_err();
            let line = one_line(&error);
            assert_eq!(line, expected, "{args:?}");
            assert!(!line.contains('\n'), "{line}");
        };
        check(&[], "<SCENARIO>: required, not given");
        check(
            &["x", "--rate", "abc"],
            "--rate: `abc` is not a positive number",
        );
        check(
            &["x", "--platform", "moon"],
            "--platform: invalid value `moon`: expected one of local, kind",
        );
        check(&["x", "--bogus"], "--bogus: unexpected argument");
        check(
            &["x", "--observ", "1s"],
            "--observ: unexpected argument (did you mean --observe?)",
        );
        check(&["x", "--rate"], "--rate: needs a value");
        check(
            &["x", "--platform", "kind", "--context", "c"],
            "--platform: cannot be used with --context",
        );
    }
}
