//! Real GoBGP (`gobgpd`) inside a lab namespace, with its own TOML config, driven and queried
//! with the `gobgp` CLI over its gRPC API on the namespace's loopback.
//!
//! ```text
//!   <tmp>/gobgpd.toml   written by the test
//!   <tmp>/gobgpd.log    gobgpd's output
//!   127.0.0.1:50051     its API, inside the node's namespace (one per namespace)
//! ```
//!
//! gobgpd dies with the test thread (PDEATHSIG) and is killed on drop.
//!
//! What it does not do: zebra integration (routes stay in GoBGP's RIB).

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use crate::lab::{Lab, LabError, kill};
use crate::poll::wait_for;

/// The API address inside the node.
const API: &str = "127.0.0.1:50051";

/// GoBGP could not be started or queried.
#[derive(Debug, thiserror::Error)]
pub enum GobgpError {
    /// Starting or a CLI call failed.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// A file operation failed.
    #[error("{0}")]
    Io(String),
    /// gobgpd did not come up.
    #[error("gobgpd did not start: {0}")]
    Start(String),
}

/// A running gobgpd.
#[derive(Debug)]
pub struct Gobgp {
    dir: tempfile::TempDir,
    child: Child,
    node: String,
}

impl Gobgp {
    /// Starts gobgpd in `node` with `conf`; up once its API answers.
    pub fn start(lab: &Lab, node: &str, conf: &str) -> Result<Gobgp, GobgpError> {
        let dir = tempfile::Builder::new()
            .prefix("hl-gobgp-")
            .tempdir()
            .map_err(|e| GobgpError::Io(e.to_string()))?;
        let path = dir.path().join("gobgpd.toml");
        std::fs::write(&path, conf).map_err(|e| GobgpError::Io(format!("gobgpd.toml: {e}")))?;
        let child = lab.spawn(
            node,
            "gobgpd",
            &[
                "-f",
                &path.to_string_lossy(),
                "-t",
                "toml",
                "--api-hosts",
                API,
                "--log-level",
                "debug",
            ],
            &dir.path().join("gobgpd.log"),
        )?;
        let mut g = Gobgp {
            dir,
            child,
            node: node.to_string(),
        };
        if let Err(e) = wait_for(
            "gobgpd's API",
            Duration::from_secs(20),
            Duration::from_millis(100),
            || g.cli(lab, &["neighbor"]),
        ) {
            let log = g.log();
            kill(&mut g.child);
            return Err(GobgpError::Start(format!("{e}\n{log}")));
        }
        Ok(g)
    }

    /// The instance's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// gobgpd's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gobgpd.log")).unwrap_or_default()
    }

    /// Runs `gobgp ARGS` against this instance, returns stdout.
    pub fn cli(&self, lab: &Lab, args: &[&str]) -> Result<String, LabError> {
        let (host, port) = API.split_once(':').expect("host:port");
        let mut all = vec!["gobgp", "-u", host, "-p", port];
        all.extend_from_slice(args);
        lab.exec(&self.node, &all)
    }
}

impl Drop for Gobgp {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}
