//! Real FRR bfdd (with the zebra it needs) inside a lab namespace, configured through a
//! `bfdd.conf` with `bfd` / `peer` blocks and queried through `vtysh --vty_socket` with JSON.
//!
//! ```text
//!   <tmp>/zebra.conf  bfdd.conf          written by the test
//!   <tmp>/zebra.vty   bfdd.vty           vty sockets (vtysh --vty_socket <tmp>)
//!   <tmp>/zserv.api                      zebra <-> bfdd (bfdd learns interfaces from zebra:
//!                                        without it a `peer ... interface X` never starts)
//!   <tmp>/bfdd.sock                      bfdd's control socket (--bfdctl), kept per instance
//!   <tmp>/zebra.log   bfdd.log           daemon logs
//! ```
//!
//! Like [`crate::frr`]: the daemons drop to FRR's own user, die with the test thread
//! (PDEATHSIG) and are killed on drop. Errors are [`FrrError`]s.
//!
//! Start-up race (bfdd 8.4.4): bfdd reads its configuration before zebra has told it about the
//! interfaces, so interface-bound sessions start disabled and are enabled when the interface
//! shows up. A Control packet that arrives in between can leave the session in Init with no
//! socket, for good (seen as "packet-send: send failure: Bad file descriptor" and then every
//! packet dropped as "'remote discriminator' is zero, not overridden"). Wait for
//! [`Bfdd::wait_interface`] before letting a peer talk to it; the runner turns on
//! `debug bfd zebra` (and peer and network debugging) so that the log says when.
//!
//! What it does not do: watchfrr, bgpd (see [`crate::frr`]), or BFD profiles.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use crate::frr::FrrError;
use crate::lab::{Lab, kill};
use crate::poll::wait_for;

/// Where Debian's `frr` package puts the daemons.
pub const BFDD: &str = "/usr/lib/frr/bfdd";
const ZEBRA: &str = "/usr/lib/frr/zebra";

/// A running bfdd (and zebra).
#[derive(Debug)]
pub struct Bfdd {
    dir: tempfile::TempDir,
    zebra: Child,
    bfdd: Child,
}

fn tail(p: &PathBuf) -> String {
    let s = std::fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

impl Bfdd {
    /// Starts zebra and bfdd in `node` with `bfdd_conf` (the `bfd` section with its `peer`
    /// blocks).
    pub fn start(lab: &Lab, node: &str, bfdd_conf: &str) -> Result<Bfdd, FrrError> {
        let dir = tempfile::Builder::new()
            .prefix("hl-bfdd-")
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
            "bfdd.conf",
            &format!(
                "hostname bfdd\nlog timestamp precision 3\ndebug bfd zebra\ndebug bfd peer\n\
                 debug bfd network\n{bfdd_conf}\n"
            ),
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
        let wait_vty = |name: &str| {
            let vty = d.join(format!("{name}.vty"));
            wait_for(
                &format!("{name} vty socket"),
                Duration::from_secs(20),
                Duration::from_millis(50),
                || if vty.exists() { Ok(()) } else { Err("not yet") },
            )
        };
        let zargs = common("zebra");
        let zargs: Vec<&str> = zargs.iter().map(String::as_str).collect();
        let mut zebra = lab.spawn(node, ZEBRA, &zargs, &d.join("zebra.out"))?;
        if let Err(e) = wait_vty("zebra") {
            kill(&mut zebra);
            return Err(FrrError::Start(format!(
                "{e}; {}",
                tail(&d.join("zebra.out"))
            )));
        }
        let mut bargs = common("bfdd");
        bargs.extend(["--bfdctl".into(), p("bfdd.sock")]);
        let bargs: Vec<&str> = bargs.iter().map(String::as_str).collect();
        let mut bfdd = lab.spawn(node, BFDD, &bargs, &d.join("bfdd.out"))?;
        if let Err(e) = wait_vty("bfdd") {
            kill(&mut bfdd);
            kill(&mut zebra);
            return Err(FrrError::Start(format!(
                "{e}; {}",
                tail(&d.join("bfdd.out"))
            )));
        }
        Ok(Bfdd { dir, zebra, bfdd })
    }

    /// The instance's directory (configs, logs, sockets).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// bfdd's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("bfdd.log")).unwrap_or_default()
    }

    /// Waits until zebra has told bfdd about `ifname` (and so bfdd has enabled the sessions
    /// bound to it): see the module documentation.
    pub fn wait_interface(&self, ifname: &str, timeout: Duration) -> Result<(), FrrError> {
        let line = format!("zclient: add interface {ifname} ");
        wait_for(
            &format!("bfdd learning interface {ifname}"),
            timeout,
            Duration::from_millis(20),
            || {
                if self.log().contains(&line) {
                    Ok(())
                } else {
                    Err("not in bfdd.log yet")
                }
            },
        )
        .map(|_| ())
        .map_err(|e| FrrError::Start(e.to_string()))
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

    /// Runs commands inside `bfd` / `peer <peer> interface <ifname>`.
    pub fn configure_peer(&self, peer: &str, ifname: &str, lines: &[&str]) -> Result<(), FrrError> {
        let head = format!("peer {peer} interface {ifname}");
        let mut all = vec!["bfd", head.as_str()];
        all.extend_from_slice(lines);
        self.configure(&all)
    }

    /// The entry of `show bfd peers json` for `peer` (`Null` if absent).
    pub fn peer(&self, peer: &str) -> Result<serde_json::Value, FrrError> {
        find_peer(self.json("show bfd peers json")?, peer)
    }

    /// The entry of `show bfd peers counters json` for `peer` (`Null` if absent).
    pub fn peer_counters(&self, peer: &str) -> Result<serde_json::Value, FrrError> {
        find_peer(self.json("show bfd peers counters json")?, peer)
    }

    /// bfdd's process id.
    pub fn pid(&self) -> u32 {
        self.bfdd.id()
    }
}

fn find_peer(list: serde_json::Value, peer: &str) -> Result<serde_json::Value, FrrError> {
    Ok(list
        .as_array()
        .and_then(|l| l.iter().find(|p| p["peer"] == peer).cloned())
        .unwrap_or(serde_json::Value::Null))
}

impl Drop for Bfdd {
    fn drop(&mut self) {
        kill(&mut self.bfdd);
        kill(&mut self.zebra);
    }
}
