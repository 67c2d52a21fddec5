//! The command line of the examples: parse, run, and report failure in one
//! line with a non-zero exit code, never a panic.

use clap::error::ErrorKind;
use clap::Parser;
use std::process::ExitCode;

/// Checks, before any work, that `path` (given to `option`) can be
/// written: not a directory, in a directory that exists.
pub fn check_writable(option: &str, path: &std::path::Path) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!("{option} {}: is a directory", path.display()));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() {
        return Err(format!(
            "{option} {}: the directory {} does not exist",
            path.display(),
            parent.display()
        ));
    }
    Ok(())
}

/// Parses the arguments and runs `run`: `--help` and `--version` print and
/// exit 0; a bad option prints clap's one-line message and exits 2; an
/// error from `run` prints `error: ...` and exits 1.
pub fn main<A: Parser>(run: impl FnOnce(A) -> Result<(), String>) -> ExitCode {
    // Rust ignores SIGPIPE, so writing to a closed pipe (`digits | head`)
    // makes println! panic; a command-line tool should end quietly, as C
    // tools do.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default, before any
    // other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
