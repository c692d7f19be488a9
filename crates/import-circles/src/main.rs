//! `import-circles [--workspace ROOT]`: checks every package of the Cargo workspace at ROOT
//! (default: the current directory) for import circles between sibling modules, and prints one
//! line per package, `ok` or its circles.
//!
//! Exit status: 0 when no crate has a circle, 1 when one has, 2 when a crate could not be checked
//! (an unreadable or unparsable file, `cargo metadata` failing); the error goes to stderr.
//! Everything else is in the library ([`import_circles`]).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use import_circles::report::{CrateResult, package_lines};
use import_circles::{Disk, check_crate, workspace};

const USAGE: &str = "usage: import-circles [--workspace ROOT]";

fn main() -> ExitCode {
    let root = match parse_args(std::env::args().skip(1)) {
        Ok(Some(root)) => root,
        Ok(None) => {
            let _ = writeln!(std::io::stdout(), "{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => return fail(&message),
    };
    let packages = match workspace::packages(&root) {
        Ok(packages) => packages,
        Err(e) => return fail(&e.to_string()),
    };
    let mut stdout = std::io::stdout().lock();
    let (mut circles, mut errors) = (false, false);
    for package in &packages {
        let mut results = Vec::new();
        let mut checked = true;
        for root in &package.crates {
            match check_crate(&Disk, &root.root_file) {
                Ok(found) => results.push(CrateResult {
                    label: root.label.clone(),
                    circles: found,
                }),
                Err(e) => {
                    checked = false;
                    let _ = writeln!(std::io::stderr(), "import-circles: {}: {e}", root.label);
                }
            }
        }
        errors |= !checked;
        circles |= results.iter().any(|r| !r.circles.is_empty());
        let mut lines = package_lines(&package.name, &results);
        if !checked && results.iter().all(|r| r.circles.is_empty()) {
            lines = vec![format!("{}: not checked (error above)", package.name)];
        }
        for line in lines {
            let _ = writeln!(stdout, "{line}");
        }
    }
    if errors {
        ExitCode::from(2)
    } else if circles {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The workspace root from the command line; `None` when help was asked for.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<PathBuf>, String> {
    let mut root = PathBuf::from(".");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workspace" => {
                root = args
                    .next()
                    .map(PathBuf::from)
                    .ok_or("--workspace needs a directory")?;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(Some(root))
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "import-circles: {message}");
    ExitCode::from(2)
}
