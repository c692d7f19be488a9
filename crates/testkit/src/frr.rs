//! Real FRR (zebra plus the daemons a test asks for: bgpd, bfdd, or both) inside a lab
//! namespace, with its own config, pid and vty directory, queried through
//! `vtysh --vty_socket` with JSON output.
//!
//! ```text
//!   <tmp>/zebra.conf  <daemon>.conf      written by the test
//!   <tmp>/zebra.vty   <daemon>.vty       vty sockets (vtysh --vty_socket <tmp>)
//!   <tmp>/zserv.api                      zebra <-> the daemons
//!   <tmp>/zebra.log   <daemon>.log       daemon logs (read by tests for "clear log" checks)
//! ```
//!
//! The daemons run as FRR's own user (the distribution's `frr`, vty group `frrvty`), so the
//! directory is made writable for them, die with the test thread (PDEATHSIG), and are killed on drop.
//!
//! [`Frr::start`] is zebra + bgpd; [`Frr::start_daemons`] any set of FRR daemons; the bfdd
//! runner ([`crate::bfdd`]) builds on it.
//!
//! What it does not do: watchfrr.

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

/// A running FRR instance: zebra and the daemons it was started with.
#[derive(Debug)]
pub struct Frr {
    dir: tempfile::TempDir,
    zebra: Child,
    daemons: Vec<(String, Child)>,
}

const FRR: &str = "/usr/lib/frr";

/// One FRR daemon to start beside zebra.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// Its name, as in `/usr/lib/frr/<name>` (`bgpd`, `bfdd`).
    pub name: String,
    /// Its configuration, written to `<name>.conf` after a `hostname` and log-precision line.
    pub conf: String,
    /// Extra arguments; `{dir}` in one stands for the instance's directory.
    pub args: Vec<String>,
}

impl Daemon {
    /// `name` with configuration `conf` and no extra arguments.
    pub fn new(name: &str, conf: &str) -> Daemon {
        Daemon {
            name: name.into(),
            conf: conf.into(),
            args: Vec::new(),
        }
    }
}

impl Frr {
    /// Starts zebra and bgpd in `node` with `bgpd_conf` (the `router bgp` section and friends).
    pub fn start(lab: &Lab, node: &str, bgpd_conf: &str) -> Result<Frr, FrrError> {
        Frr::start_daemons(lab, node, &[Daemon::new("bgpd", bgpd_conf)])
    }

    /// Starts zebra, then each of `daemons` in order, in `node`; each is up once its vty socket
    /// exists.
    pub fn start_daemons(lab: &Lab, node: &str, daemons: &[Daemon]) -> Result<Frr, FrrError> {
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
        for daemon in daemons {
            write(
                &format!("{}.conf", daemon.name),
                &format!(
                    "hostname {}\nlog timestamp precision 3\n{}\n",
                    daemon.name, daemon.conf
                ),
            )?;
        }
        let zebra = spawn_daemon(lab, node, d, "zebra", &[])?;
        let mut frr = Frr {
            dir,
            zebra,
            daemons: Vec::new(),
        };
        for daemon in daemons {
            let child = spawn_daemon(lab, node, frr.dir.path(), &daemon.name, &daemon.args)?;
            frr.daemons.push((daemon.name.clone(), child));
        }
        Ok(frr)
    }

    /// The instance's directory (configs, logs, sockets).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Daemon `name`'s log.
    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// bgpd's log.
    pub fn bgpd_log(&self) -> String {
        self.log("bgpd")
    }

    /// Process id of daemon `name` (to freeze it with SIGSTOP), if it was started.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.daemons
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.id())
    }

    /// Process id of bgpd.
    pub fn bgpd_pid(&self) -> u32 {
        self.pid("bgpd").expect("bgpd was started")
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

/// Starts `/usr/lib/frr/<name>` in `node` with the instance's files in `d` and waits for its
/// vty socket; on failure the process is killed and the end of its output returned.
fn spawn_daemon(
    lab: &Lab,
    node: &str,
    d: &Path,
    name: &str,
    extra: &[String],
) -> Result<Child, FrrError> {
    let p = |n: &str| d.join(n).to_string_lossy().into_owned();
    let mut args: Vec<String> = vec![
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
    ];
    args.extend(extra.iter().map(|a| a.replace("{dir}", &p(""))));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = d.join(format!("{name}.out"));
    let mut child = lab.spawn(node, &format!("{FRR}/{name}"), &args, &out)?;
    let vty = d.join(format!("{name}.vty"));
    if let Err(e) = wait_for(
        &format!("{name} vty socket"),
        Duration::from_secs(20),
        Duration::from_millis(50),
        || if vty.exists() { Ok(()) } else { Err("not yet") },
    ) {
        kill(&mut child);
        return Err(FrrError::Start(format!("{e}; {}", tail(&out))));
    }
    Ok(child)
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
        for (_, child) in self.daemons.iter_mut().rev() {
            // SIGCONT first in case a test froze the daemon.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            kill(child);
        }
        kill(&mut self.zebra);
    }
}
