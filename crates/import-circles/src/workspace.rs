//! [`packages`]: the workspace's packages and the crate roots to check in each, read from
//! `cargo metadata --format-version 1 --no-deps`.
//!
//! A package's library and binaries are checked; its tests, benches, examples and build script
//! are not, nor is anything under a `fuzz` directory.
//!
//! It does not check anything itself, and it reads no dependency outside the workspace.

use std::path::{Component, Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::error::Error;

/// One workspace package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub crates: Vec<CrateRoot>,
}

/// One crate of a package: its library or a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateRoot {
    /// `bgp` for the library, `bgp (bin hl-bgpd)` for a binary.
    pub label: String,
    /// `src/lib.rs`, `src/main.rs`, `src/bin/x.rs`, ...
    pub root_file: PathBuf,
}

/// Target kinds that are crates this checker looks at.
const CHECKED_KINDS: &[&str] = &[
    "lib",
    "rlib",
    "dylib",
    "cdylib",
    "staticlib",
    "proc-macro",
    "bin",
];

/// Directories whose files are never checked.
const SKIPPED_DIRS: &[&str] = &["tests", "benches", "examples", "fuzz"];

/// The packages of the workspace at `root`, sorted by name, by running `cargo metadata`.
pub fn packages(root: &Path) -> Result<Vec<Package>, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .output()
        .map_err(|e| Error::Metadata(format!("cannot run {}: {e}", cargo.to_string_lossy())))?;
    if !output.status.success() {
        return Err(Error::Metadata(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    let json = String::from_utf8(output.stdout)
        .map_err(|_| Error::Metadata("output is not UTF-8".to_owned()))?;
    parse_metadata(&json)
}

/// The packages described by `cargo metadata` output.
pub fn parse_metadata(json: &str) -> Result<Vec<Package>, Error> {
    let metadata: Value =
        serde_json::from_str(json).map_err(|e| Error::Metadata(format!("bad JSON: {e}")))?;
    let workspace_root = PathBuf::from(string(&metadata, "workspace_root")?);
    let mut packages = Vec::new();
    for package in array(&metadata, "packages")? {
        let name = string(package, "name")?.to_owned();
        let manifest = PathBuf::from(string(package, "manifest_path")?);
        let package_dir = manifest.parent().unwrap_or(Path::new("")).to_path_buf();
        if has_skipped_dir(
            package_dir
                .strip_prefix(&workspace_root)
                .unwrap_or(&package_dir),
        ) {
            continue;
        }
        let mut crates = Vec::new();
        for target in array(package, "targets")? {
            let kinds = array(target, "kind")?;
            let is_checked = kinds
                .iter()
                .any(|k| k.as_str().is_some_and(|k| CHECKED_KINDS.contains(&k)));
            let root_file = PathBuf::from(string(target, "src_path")?);
            let within = root_file.strip_prefix(&package_dir).unwrap_or(&root_file);
            if !is_checked || has_skipped_dir(within) {
                continue;
            }
            let is_bin = kinds.iter().any(|k| k.as_str() == Some("bin"));
            let label = if is_bin {
                format!("{name} (bin {})", string(target, "name")?)
            } else {
                name.clone()
            };
            crates.push(CrateRoot { label, root_file });
        }
        packages.push(Package { name, crates });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

fn has_skipped_dir(path: &Path) -> bool {
    path.components().any(|c| match c {
        Component::Normal(name) => SKIPPED_DIRS.iter().any(|d| name == *d),
        _ => false,
    })
}

fn string<'v>(value: &'v Value, field: &str) -> Result<&'v str, Error> {
    value[field]
        .as_str()
        .ok_or_else(|| Error::Metadata(format!("no string field `{field}`")))
}

fn array<'v>(value: &'v Value, field: &str) -> Result<&'v [Value], Error> {
    value[field]
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| Error::Metadata(format!("no array field `{field}`")))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::{CrateRoot, Package, parse_metadata};

    #[test]
    fn libraries_and_binaries_are_checked_tests_benches_and_fuzz_are_not() {
        let json = r#"{
          "workspace_root": "/w",
          "packages": [
            {"name": "bgp", "manifest_path": "/w/crates/bgp/Cargo.toml", "targets": [
              {"kind": ["lib"], "name": "bgp", "src_path": "/w/crates/bgp/src/lib.rs"},
              {"kind": ["bin"], "name": "hl-bgpd", "src_path": "/w/crates/bgp/src/bin/hl-bgpd.rs"},
              {"kind": ["test"], "name": "fsm", "src_path": "/w/crates/bgp/tests/fsm.rs"},
              {"kind": ["bench"], "name": "b", "src_path": "/w/crates/bgp/benches/b.rs"},
              {"kind": ["custom-build"], "name": "build-script-build", "src_path": "/w/crates/bgp/build.rs"}
            ]},
            {"name": "bgp-fuzz", "manifest_path": "/w/crates/bgp/fuzz/Cargo.toml", "targets": [
              {"kind": ["bin"], "name": "decode", "src_path": "/w/crates/bgp/fuzz/fuzz_targets/decode.rs"}
            ]}
          ]
        }"#;
        let packages = parse_metadata(json).unwrap();
        assert_eq!(
            packages,
            [Package {
                name: "bgp".into(),
                crates: vec![
                    CrateRoot {
                        label: "bgp".into(),
                        root_file: PathBuf::from("/w/crates/bgp/src/lib.rs"),
                    },
                    CrateRoot {
                        label: "bgp (bin hl-bgpd)".into(),
                        root_file: PathBuf::from("/w/crates/bgp/src/bin/hl-bgpd.rs"),
                    },
                ],
            }]
        );
    }
}
