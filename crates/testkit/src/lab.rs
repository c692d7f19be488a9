//! Throw-away network labs for tests: namespaces `hl-<lab>-<node>` joined by veth pairs, and
//! processes started inside them that die with the test.
//!
//! Until `crates/netns` offers namespaces and links, this test-only module drives `ip(8)` (product
//! code never does). Everything a lab creates lives inside its namespaces, so dropping the [`Lab`]
//! (also when a test panics) deletes them and with them every link and route. Creating a lab first
//! removes leftovers of an earlier run with the same name.
//!
//! What it does not do: rootless operation (tests that use it need root, as CI has).

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A lab failed to come up.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct LabError {
    /// The step.
    pub what: String,
    /// The tool's message.
    pub detail: String,
}

fn ip(args: &[&str]) -> Result<(), LabError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| LabError {
            what: format!("ip {}", args.join(" ")),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(LabError {
            what: format!("ip {}", args.join(" ")),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// A set of namespaces that is removed on drop.
#[derive(Debug)]
pub struct Lab {
    name: String,
    nodes: Vec<String>,
}

impl Lab {
    /// A new lab; namespaces left over from an earlier run of the same lab are deleted first.
    pub fn new(name: &str) -> Result<Lab, LabError> {
        let prefix = format!("hl-{name}-");
        if let Ok(out) = Command::new("ip").args(["netns", "list"]).output() {
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some(ns) = line.split_whitespace().next()
                    && ns.starts_with(&prefix)
                {
                    let _ = ip(&["netns", "del", ns]);
                }
            }
        }
        Ok(Lab {
            name: name.to_string(),
            nodes: Vec::new(),
        })
    }

    /// The namespace name of `node`.
    pub fn ns(&self, node: &str) -> String {
        format!("hl-{}-{node}", self.name)
    }

    /// Adds a node (a namespace with `lo` up).
    pub fn node(&mut self, node: &str) -> Result<String, LabError> {
        let ns = self.ns(node);
        ip(&["netns", "add", &ns])?;
        self.nodes.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Joins two nodes with a veth pair named after the peer node, and gives each end an address
    /// (`10.0.0.1/24` or `2001:db8::1/64` style; several comma-separated).
    pub fn link(&self, a: &str, a_addrs: &str, b: &str, b_addrs: &str) -> Result<(), LabError> {
        let (na, nb) = (self.ns(a), self.ns(b));
        let (ia, ib) = (format!("to-{b}"), format!("to-{a}"));
        ip(&[
            "link", "add", &ia, "netns", &na, "type", "veth", "peer", "name", &ib, "netns", &nb,
        ])?;
        for (ns, ifname, addrs) in [(&na, &ia, a_addrs), (&nb, &ib, b_addrs)] {
            for addr in addrs.split(',').filter(|s| !s.is_empty()) {
                let mut args = vec![
                    "-n",
                    ns.as_str(),
                    "addr",
                    "add",
                    addr,
                    "dev",
                    ifname.as_str(),
                ];
                if addr.contains(':') {
                    args.push("nodad");
                }
                ip(&args)?;
            }
            ip(&["-n", ns, "link", "set", ifname, "up"])?;
        }
        Ok(())
    }

    /// Runs `program args` inside `node`'s namespace; the process gets SIGKILL if the test thread
    /// that started it ends (PR_SET_PDEATHSIG through `setpriv`). Output goes to `log`.
    pub fn spawn(
        &self,
        node: &str,
        program: &str,
        args: &[&str],
        log: &Path,
    ) -> Result<Child, LabError> {
        let ns = self.ns(node);
        let file = std::fs::File::create(log).map_err(|e| LabError {
            what: format!("create {}", log.display()),
            detail: e.to_string(),
        })?;
        let err = file.try_clone().map_err(|e| LabError {
            what: "log".into(),
            detail: e.to_string(),
        })?;
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "setpriv",
                "--pdeathsig",
                "KILL",
                "--",
                program,
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| LabError {
                what: format!("spawn {program} in {ns}"),
                detail: e.to_string(),
            })
    }

    /// Runs a command in `node` and returns its stdout (for checks like `ip route show`).
    pub fn exec(&self, node: &str, args: &[&str]) -> Result<String, LabError> {
        let ns = self.ns(node);
        let out = Command::new("ip")
            .args(["netns", "exec", &ns])
            .args(args)
            .output()
            .map_err(|e| LabError {
                what: args.join(" "),
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(LabError {
                what: format!("{} in {ns}", args.join(" ")),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.nodes.drain(..).rev() {
            // Processes still inside keep the namespace alive only until they die; kill them.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", &ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = ip(&["netns", "del", &ns]);
        }
    }
}

/// Kills a child and reaps it.
pub fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
