//! [`Error`]: why a crate could not be checked (a file that cannot be read or parsed, a `mod`
//! declaration without a file, `cargo metadata` failing).
//!
//! Circles are not errors: they are the checker's findings ([`crate::circles::Circle`]).

use std::path::PathBuf;

/// Why a crate or a workspace could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse {}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{}: `mod {name};` has no file: neither {} nor {} exists",
        declared_in.display(),
        candidates[0].display(),
        candidates[1].display()
    )]
    ModuleFileMissing {
        declared_in: PathBuf,
        name: String,
        candidates: [PathBuf; 2],
    },
    #[error(
        "{}: `mod {name};` is ambiguous: both {} and {} exist",
        declared_in.display(),
        candidates[0].display(),
        candidates[1].display()
    )]
    ModuleFileAmbiguous {
        declared_in: PathBuf,
        name: String,
        candidates: [PathBuf; 2],
    },
    #[error("cargo metadata: {0}")]
    Metadata(String),
}
