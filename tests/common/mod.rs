//! Helpers of the namespace tests: run the built `hybridlab` binary, and list everything a lab
//! may leave behind (namespace pins, mounts, processes, interfaces in the caller's namespace,
//! the state directory), so tests assert that nothing is left.
//!
//! What it does not do: create anything itself; the binary under test does.

#![allow(dead_code)] // each test binary uses a different part

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The `hybridlab` binary cargo built for these tests.
pub fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hybridlab"))
}

/// A private state root for one test (world-writable so a rootless run may use it) and a place
/// for scenario files and reports. Removed on drop.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A new workspace, readable by every user (the rootless test runs as uid 65534).
    pub fn new() -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("hl-scen-test-")
            .tempdir()
            .expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod temp dir");
        let state = dir.path().join("state");
        std::fs::create_dir(&state).expect("state dir");
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777))
            .expect("chmod state dir");
        Workspace { dir }
    }

    /// The workspace directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The state root the binary is pointed at (`HYBRIDLAB_STATE_DIR`).
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Writes `text` to `name` in the workspace (world-readable) and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write file");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod file");
        p
    }

    /// `hybridlab ARGS` with this workspace's state root.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(exe());
        c.args(args)
            .env("HYBRIDLAB_STATE_DIR", self.state())
            .env_remove("HYBRIDLAB_LOG")
            .current_dir(self.path());
        c
    }

    /// Runs `hybridlab ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("start hybridlab")
    }
}

/// Text of an output, for assertion messages.
pub fn describe(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Tears a lab down when a test ends, also when it fails half-way.
pub struct DownOnDrop<'a> {
    /// The workspace.
    pub ws: &'a Workspace,
    /// The lab.
    pub lab: String,
}

impl Drop for DownOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.ws.run(&["down", &self.lab]);
        let _ = self.ws.run(&["down"]);
    }
}

/// Everything of lab `lab` (whose nodes are `nodes`) that still exists.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Pins `/run/netns/hl-<lab>-*`.
    pub pins: Vec<String>,
    /// Mounts whose path mentions `hl-<lab>-` (a pin held elsewhere keeps a namespace alive).
    pub mounts: Vec<String>,
    /// Processes inside one of `ns_inodes` or whose command line contains a marker.
    pub processes: Vec<String>,
    /// Interfaces of the caller's namespace named like one of the lab's interfaces.
    pub interfaces: Vec<String>,
    /// The lab's state directory, if it exists.
    pub state_dir: Option<PathBuf>,
}

impl Leftovers {
    /// Nothing left.
    pub fn none(&self) -> bool {
        *self == Leftovers::default()
    }
}

/// The inode of every pinned namespace of `lab`.
pub fn pinned_inodes(lab: &str) -> Vec<u64> {
    use std::os::unix::fs::MetadataExt;
    list_pins(lab)
        .iter()
        .filter_map(|n| std::fs::metadata(Path::new("/run/netns").join(n)).ok())
        .map(|m| m.ino())
        .collect()
}

fn list_pins(lab: &str) -> Vec<String> {
    let prefix = format!("hl-{lab}-");
    let mut v: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Lists what remains of `lab`: see [`Leftovers`]. `ns_inodes` are the lab's namespaces as
/// seen while it ran; `ifnames` its interface names; `markers` strings only its processes have
/// in their command lines.
pub fn leftovers(
    ws: &Workspace,
    lab: &str,
    ns_inodes: &[u64],
    ifnames: &[&str],
    markers: &[&str],
) -> Leftovers {
    let prefix = format!("hl-{lab}-");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&prefix))
        .map(str::to_string)
        .collect();
    let processes = processes(ns_inodes, markers);
    let interfaces = ifnames
        .iter()
        .filter(|n| Path::new("/sys/class/net").join(n).exists())
        .map(|n| n.to_string())
        .collect();
    let dir = ws.state().join(lab);
    Leftovers {
        pins: list_pins(lab),
        mounts,
        processes,
        interfaces,
        state_dir: dir.exists().then_some(dir),
    }
}

/// Processes inside one of the namespaces `ns_inodes`, or whose command line contains one of
/// `markers`, as `pid: command line`.
pub fn processes(ns_inodes: &[u64], markers: &[&str]) -> Vec<String> {
    let mut processes = Vec::new();
    for e in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(e.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let in_lab_ns = std::fs::read_link(e.path().join("ns/net"))
            .ok()
            .and_then(|l| {
                let s = l.to_string_lossy().to_string();
                s.strip_prefix("net:[")?
                    .strip_suffix(']')?
                    .parse::<u64>()
                    .ok()
            })
            .is_some_and(|ino| ns_inodes.contains(&ino));
        if in_lab_ns || markers.iter().any(|m| cmdline.contains(m)) {
            processes.push(format!("{pid}: {cmdline}"));
        }
    }
    processes
}

/// Polls `f` until it returns true or `timeout` passes.
pub fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    testkit::wait_for(what, timeout, Duration::from_millis(20), || {
        if f() { Ok(()) } else { Err(()) }
    })
    .unwrap_or_else(|t| panic!("{t:?}"));
}

/// The longest loss window of a probe in a run record's JSON, in nanoseconds (0: none).
pub fn longest_window(probe: &serde_json::Value) -> u64 {
    probe["loss"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["end_ns"].as_u64().unwrap() - w["start_ns"].as_u64().unwrap())
        .max()
        .unwrap_or(0)
}

/// The `p`-th percentile of sorted `v`, nearest rank (p99 of 20 values is the worst).
pub fn percentile(v: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}
