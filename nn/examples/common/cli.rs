//! The command line of the examples: parse, run, and report failure in one
//! line with a non-zero exit code, never a panic.

use clap::error::ErrorKind;
use clap::{ArgMatches, Parser};
use std::fs::OpenOptions;
use std::io::ErrorKind as IoKind;
use std::path::Path;
use std::process::ExitCode;

/// Checks, before any work, that `path` (given to `option`) can be
/// written: not a directory, in a directory that exists and in which a
/// file can be created (tried with a probe file next to `path`, created
/// anew and removed again: an existing file is never touched), and, if
/// `path` exists, that it can be opened for writing (without truncating
/// it).
pub fn check_writable(option: &str, path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("{option} {shown}: is a directory"));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !parent.is_dir() {
        // The nearest ancestor that exists says why: a missing directory or
        // a file where a directory should be.
        let mut at = parent;
        loop {
            if at.is_dir() {
                break;
            }
            if at.exists() {
                return Err(format!(
                    "{option} {shown}: {} is not a directory",
                    at.display()
                ));
            }
            match at.parent() {
                Some(p) if !p.as_os_str().is_empty() => at = p,
                _ => break,
            }
        }
        return Err(format!(
            "{option} {shown}: the directory {} does not exist",
            parent.display()
        ));
    }
    let name = path
        .file_name()
        .ok_or_else(|| format!("{option} {shown}: names no file"))?
        .to_string_lossy();
    // A probe file that does not exist yet (create_new never opens an
    // existing file), removed at once.
    let mut created = None;
    for k in 0..100 {
        let probe = parent.join(format!(".{name}.probe-{}-{k}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&probe) {
            Ok(_) => {
                created = Some(probe);
                break;
            }
            Err(e) if e.kind() == IoKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "{option} {shown}: cannot create a file in {}: {e}",
                    parent.display()
                ))
            }
        }
    }
    let probe = created.ok_or_else(|| {
        format!(
            "{option} {shown}: cannot create a probe file in {}",
            parent.display()
        )
    })?;
    std::fs::remove_file(&probe).map_err(|e| {
        format!(
            "{option} {shown}: cannot remove the probe file {}: {e}",
            probe.display()
        )
    })?;
    if path.exists() {
        OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| format!("{option} {shown}: cannot be written: {e}"))?;
    }
    Ok(())
}

/// Parses the arguments and runs `run` with them and clap's matches (which
/// tell an option given on the command line from its default,
/// `ArgMatches::value_source`): `--help` and `--version` print and exit 0; a bad option prints clap's one-line message and exits 2; an
/// error from `run` prints `error: ...` (one such line per line of the
/// error: several errors) and exits 1.
pub fn main<A: Parser>(run: impl FnOnce(A, &ArgMatches) -> Result<(), String>) -> ExitCode {
    // Rust ignores SIGPIPE, so writing to a closed pipe (`digits | head`)
    // makes println! panic; a command-line tool should end quietly, as C
    // tools do.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default, before any
    // other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let mut command = A::command();
    let parsed = command
        .try_get_matches_from_mut(std::env::args_os())
        .and_then(|m| {
            A::from_arg_matches(&m)
                .map(|a| (a, m))
                .map_err(|e| e.format(&mut command))
        });
    let (args, matches) = match parsed {
        Ok(p) => p,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // One line: clap's message is its first paragraph, whose
            // later lines name what it is about (the missing `--load` of a
            // flag requiring it); its usage and tips follow a blank line.
            let text = e.to_string();
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            match first.is_empty() {
                true => eprintln!("error: bad arguments"),
                false => eprintln!("{}", first.join(" ")),
            }
            return ExitCode::from(2);
        }
    };
    match run(args, &matches) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            for line in e.lines() {
                eprintln!("error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fresh, empty directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "chainrule-cli-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_writable_path_passes_and_leaves_nothing_behind() {
        let dir = scratch("ok");
        check_writable("--save", &dir.join("m.st")).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_existing_file_is_checked_but_never_changed() {
        let dir = scratch("existing");
        let file = dir.join("m.st");
        std::fs::write(&file, b"keep me").unwrap();
        check_writable("--save", &file).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_in_place_of_the_directory_is_named_as_such() {
        let dir = scratch("notdir");
        let file = dir.join("afile");
        std::fs::write(&file, b"").unwrap();
        for target in [file.join("m.st"), file.join("sub").join("m.st")] {
            let e = check_writable("--save", &target).unwrap_err();
            assert!(
                e.ends_with(&format!("{} is not a directory", file.display())),
                "{e}"
            );
        }
        let e = check_writable("--save", &dir.join("none").join("m.st")).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        let e = check_writable("--plot", &dir).unwrap_err();
        assert!(e.ends_with("is a directory"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_directory_that_takes_no_new_file_is_refused_up_front() {
        // /proc exists and is a directory, but no file can be created in it.
        let e = check_writable("--save", Path::new("/proc/m.st")).unwrap_err();
        assert!(
            e.starts_with("--save /proc/m.st: cannot create a file in /proc"),
            "{e}"
        );
    }
}
