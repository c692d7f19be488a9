//! [`Files`]: where the checker reads source files from, the disk ([`Disk`]) or a map of paths to
//! texts ([`InMemory`], for tests).
//!
//! It only reads: no globbing (the module tree is found by following `mod` declarations).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// A read-only source of files.
pub trait Files {
    /// The text of `path`; an error of kind [`io::ErrorKind::NotFound`] when it does not exist.
    fn read(&self, path: &Path) -> io::Result<String>;
}

/// The real file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// Files held in memory, keyed by path: small crate trees for tests.
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    files: BTreeMap<PathBuf, String>,
}

impl InMemory {
    /// A tree of `(path, text)` pairs.
    pub fn new<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let files = files
            .into_iter()
            .map(|(path, text)| (PathBuf::from(path), text.to_owned()))
            .collect();
        Self { files }
    }
}

impl Files for InMemory {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file in memory"))
    }
}
