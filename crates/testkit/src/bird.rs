//! Real BIRD 2 inside a lab namespace, with its own config and control socket, queried through
//! `birdc -s <socket>`.
//!
//! ```text
//!   <tmp>/bird.conf   written by the test (a `log` line sends BIRD's log to bird.log)
//!   <tmp>/bird.ctl    control socket (birdc -s)
//!   <tmp>/bird.log    BIRD's log;  <tmp>/bird.out  its stdout and stderr
//! ```
//!
//! BIRD runs in the foreground (`-f`) as root, dies with the test thread (PDEATHSIG) and is
//! killed on drop.
//!
//! What it does not do: parse birdc's output beyond a protocol's state.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use crate::lab::{Lab, LabError, kill};
use crate::poll::wait_for;

/// BIRD could not be started or queried.
#[derive(Debug, thiserror::Error)]
pub enum BirdError {
    /// Starting failed.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// A file operation failed.
    #[error("{0}")]
    Io(String),
    /// BIRD did not come up.
    #[error("BIRD did not start: {0}")]
    Start(String),
    /// birdc failed.
    #[error("birdc {command:?}: {message}")]
    Birdc {
        /// The command.
        command: String,
        /// Its error output.
        message: String,
    },
}

/// A running BIRD.
#[derive(Debug)]
pub struct Bird {
    dir: tempfile::TempDir,
    child: Child,
}

impl Bird {
    /// Starts BIRD in `node` with `conf` (a log line is added in front); up once its control
    /// socket answers.
    pub fn start(lab: &Lab, node: &str, conf: &str) -> Result<Bird, BirdError> {
        let dir = tempfile::Builder::new()
            .prefix("hl-bird-")
            .tempdir()
            .map_err(|e| BirdError::Io(e.to_string()))?;
        let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
        let text = format!("log \"{}\" all;\n{conf}", p("bird.log"));
        std::fs::write(dir.path().join("bird.conf"), text)
            .map_err(|e| BirdError::Io(format!("bird.conf: {e}")))?;
        let child = lab.spawn(
            node,
            "bird",
            &["-f", "-c", &p("bird.conf"), "-s", &p("bird.ctl")],
            &dir.path().join("bird.out"),
        )?;
        let mut bird = Bird { dir, child };
        if let Err(e) = wait_for(
            "BIRD's control socket",
            Duration::from_secs(20),
            Duration::from_millis(50),
            || bird.birdc(&["show", "status"]),
        ) {
            let out = std::fs::read_to_string(bird.dir.path().join("bird.out")).unwrap_or_default();
            kill(&mut bird.child);
            return Err(BirdError::Start(format!("{e}\n{out}")));
        }
        Ok(bird)
    }

    /// The instance's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// BIRD's log (and what it printed).
    pub fn log(&self) -> String {
        let read = |n: &str| std::fs::read_to_string(self.dir.path().join(n)).unwrap_or_default();
        format!("{}{}", read("bird.out"), read("bird.log"))
    }

    /// Runs one birdc command, returns stdout.
    pub fn birdc(&self, args: &[&str]) -> Result<String, BirdError> {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(self.dir.path().join("bird.ctl"))
            .args(args)
            .output()
            .map_err(|e| BirdError::Birdc {
                command: args.join(" "),
                message: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(BirdError::Birdc {
                command: args.join(" "),
                message: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Whether BGP protocol `name` is Established.
    pub fn established(&self, name: &str) -> bool {
        self.birdc(&["show", "protocols", name])
            .is_ok_and(|s| s.contains("Established"))
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}
