//! The command line of the examples: parse, run, and report failure in one
//! line with a non-zero exit code, never a panic.

use clap::error::ErrorKind;
use clap::Parser;
use std::process::ExitCode;

/// Parses the arguments and runs `run`: `--help` and `--version` print and
/// exit 0; a bad option prints clap's one-line message and exits 2; an
/// error from `run` prints `error: ...` and exits 1.
pub fn main<A: Parser>(run: impl FnOnce(A) -> Result<(), String>) -> ExitCode {
    let args = match A::try_parse() {
        Ok(a) => a,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            eprintln!("{}", text.lines().next().unwrap_or("error: bad arguments"));
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
