//! Real FRR (zebra + bgpd) inside a lab namespace, with its own config, pid and vty directory,
//! queried through `vtysh --vty_socket` with JSON output.
//!
//! ```text
//!   <tmp>/zebra.conf  bgpd.conf          written by the test
//!   <tmp>/zebra.vty   bgpd.vty           vty sockets (vtysh --vty_socket <tmp>)
//!   <tmp>/zserv.api                      zebra <-> bgpd
//!   <tmp>/zebra.log   bgpd.log           daemon logs (read by tests for "clear log" checks)
//! ```
//!
//! The daemons run as FRR's own user (the distribution's `frr`, vty group `frrvty`), so the
//! directory is made writable for them, die with the test thread (PDEATHSIG), and are killed on drop.
//!
//! What it does not do: watchfrr, or any daemon but zebra and bgpd.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::lab::{Lab, LabError, kill};
use crate::poll::wait_for;

/// FRR could not be started or queried.
#[derive(Debug, thiserror::Error)]
pub enum FrrError {
    /// Starting failed.
    #[error(transparent)]
    Lab(#[from] LabError),
    /// A file operation failed.
    #[error("{0}")]
    Io(String),
    /// The daemons did not come up.
    #[error("FRR did not start: {0}")]
    Start(String),
    /// vtysh failed.
    #[error("vtysh {command:?}: {message}")]
    Vtysh {
        /// The command.
        command: String,
        /// Its error output.
        message: String,
    },
}

/// A running FRR instance.
#[derive(Debug)]
pub struct Frr {
    dir: tempfile::TempDir,
    zebra: Child,
    bgpd: Child,
}

const FRR: &str = "/usr/lib/frr";

impl Frr {
    /// Starts zebra and bgpd in `node` with `bgpd_conf` (the `router bgp` section and friends).
    pub fn start(lab: &Lab, node: &str, bgpd_conf: &str) -> Result<Frr, FrrError> {
        let dir = tempfile::Builder::new()
            .prefix("hl-frr-")
            .tempdir()
            .map_err(|e| FrrError::Io(e.to_string()))?;
        let d = dir.path();
        // The daemons drop to the `frr` user and create their pid, log and socket files here.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .map_err(|e| FrrError::Io(e.to_string()))?;
        let write = |name: &str, text: &str| {
            std::fs::write(d.join(name), text).map_err(|e| FrrError::Io(format!("{name}: {e}")))
        };
        write("zebra.conf", "hostname zebra\nlog timestamp precision 3\n")?;
        write(
            "bgpd.conf",
            &format!("hostname bgpd\nlog timestamp precision 3\n{bgpd_conf}\n"),
        )?;
        let p = |n: &str| d.join(n).to_string_lossy().into_owned();
        let common = |name: &str| -> Vec<String> {
            vec![
                "-f".into(),
                p(&format!("{name}.conf")),
                "-i".into(),
                p(&format!("{name}.pid")),
                "-z".into(),
                p("zserv.api"),
                "--vty_socket".into(),
                p(""),
                "--log".into(),
                format!("file:{}", p(&format!("{name}.log"))),
                "--log-level".into(),
                "debug".into(),
            ]
        };
        let zargs = common("zebra");
        let zargs: Vec<&str> = zargs.iter().map(String::as_str).collect();
        let mut zebra = lab.spawn(node, &format!("{FRR}/zebra"), &zargs, &d.join("zebra.out"))?;
        if let Err(e) = wait_for(
            "zebra vty socket",
            Duration::from_secs(20),
            Duration::from_millis(50),
            || {
                if d.join("zebra.vty").exists() {
                    Ok(())
                } else {
                    Err("no zebra.vty yet")
                }
            },
        ) {
            kill(&mut zebra);
            return Err(FrrError::Start(format!(
                "{e}; {}",
                tail(&d.join("zebra.out"))
            )));
        }
        let bargs = common("bgpd");
        let bargs: Vec<&str> = bargs.iter().map(String::as_str).collect();
        let mut bgpd = lab.spawn(node, &format!("{FRR}/bgpd"), &bargs, &d.join("bgpd.out"))?;
        if let Err(e) = wait_for(
            "bgpd vty socket",
            Duration::from_secs(20),
            Duration::from_millis(50),
            || {
                if d.join("bgpd.vty").exists() {
                    Ok(())
                } else {
                    Err("no bgpd.vty yet")
                }
            },
        ) {
            kill(&mut bgpd);
            kill(&mut zebra);
            return Err(FrrError::Start(format!(
                "{e}; {}",
                tail(&d.join("bgpd.out"))
            )));
        }
        Ok(Frr { dir, zebra, bgpd })
    }

    /// The instance's directory (configs, logs, sockets).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// bgpd's log.
    pub fn bgpd_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bgpd.log")).unwrap_or_default()
    }

    /// Runs vtysh commands (each `-c`), returns stdout.
    pub fn vtysh(&self, commands: &[&str]) -> Result<String, FrrError> {
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket").arg(self.dir.path());
        for c in commands {
            cmd.arg("-c").arg(c);
        }
        let out = cmd.output().map_err(|e| FrrError::Vtysh {
            command: commands.join("; "),
            message: e.to_string(),
        })?;
        if !out.status.success() {
            return Err(FrrError::Vtysh {
                command: commands.join("; "),
                message: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a `show ... json` command and parses it.
    pub fn json(&self, command: &str) -> Result<serde_json::Value, FrrError> {
        let text = self.vtysh(&[command])?;
        serde_json::from_str(&text).map_err(|e| FrrError::Vtysh {
            command: command.into(),
            message: format!("{e}: {text}"),
        })
    }

    /// Runs configuration commands (`configure terminal` is added).
    pub fn configure(&self, lines: &[&str]) -> Result<(), FrrError> {
        let mut all = vec!["configure terminal"];
        all.extend_from_slice(lines);
        self.vtysh(&all).map(|_| ())
    }

    /// Process id of bgpd (to freeze it with SIGSTOP).
    pub fn bgpd_pid(&self) -> u32 {
        self.bgpd.id()
    }

    /// The neighbor's entry of `show bgp neighbors <addr> json`.
    pub fn neighbor(&self, addr: &str) -> Result<serde_json::Value, FrrError> {
        let v = self.json(&format!("show bgp neighbors {addr} json"))?;
        Ok(v.get(addr).cloned().unwrap_or(serde_json::Value::Null))
    }

    /// The neighbor's BGP state ("Established", "Active", ...).
    pub fn neighbor_state(&self, addr: &str) -> String {
        self.neighbor(addr)
            .ok()
            .and_then(|n| n.get("bgpState").and_then(|s| s.as_str()).map(String::from))
            .unwrap_or_default()
    }
}

fn tail(p: &PathBuf) -> String {
    let s = std::fs::read_to_string(p).unwrap_or_default();
    s.lines()
        .rev()
        .take(10)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n")
}

impl Drop for Frr {
    fn drop(&mut self) {
        // SIGCONT first in case a test froze bgpd.
        let _ = Command::new("kill")
            .args(["-CONT", &self.bgpd.id().to_string()])
            .status();
        kill(&mut self.bgpd);
        kill(&mut self.zebra);
    }
}
