//! A lab owns everything it creates, records it in `<state>/<lab>/lab.json` *before* creating it,
//! and removes it three ways: [`Lab::teardown`], `Drop` (also on panic), and [`sweep`] at the next
//! start, for labs whose owner died (docs/design.md, "Labs, names and state").
//!
//! ```text
//!   <state>/<lab>/lab.json     { owner: {pid, start_time}, owner_pid_ns, mode, pin_dir,
//!                                namespaces: [{name, node, inode}], processes: [{node, program, id}] }
//!   <state>/<lab>/<node>/      configs, logs, control socket (created on demand)
//!
//!   teardown: SIGTERM all lab processes ─ grace ─ SIGKILL ─ kill anything else found in the
//!             lab's namespaces (/proc/*/ns/net) ─ unpin namespaces ─ remove <state>/<lab>
//! ```
//!
//! Links, TUN devices and routes all live inside lab namespaces, so they go with them.
//!
//! What it does not do: choose node kinds or topology (the scenario engine does), or touch a lab
//! whose owner is alive (except [`down`], which asks the owner to stop first).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tracing::{debug, info, info_span, warn};

use crate::container::{self, ContainerSpec};
use crate::error::{Error, Result};
use crate::names::{self, check_lab_name, check_node_name, ns_name};
use crate::namespace::{CreateOptions, Netns, NetnsDir};
use crate::process::{self, ProcessId, pids_in_netns};
use crate::rootless::{self, Mode};
use crate::spawn::{Process, SpawnOptions, spawn};

/// Where labs keep state and pin namespaces.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// State directory root (`<state>`); default from [`names::state_root`].
    pub state_root: PathBuf,
    /// Pin directory; `None`: `/run/netns` as root, `<state>/<lab>/netns` rootless.
    pub pin_dir: Option<PathBuf>,
    /// How long processes get between SIGTERM and SIGKILL at teardown.
    pub grace: Duration,
}

impl Default for LabConfig {
    fn default() -> Self {
        LabConfig {
            state_root: names::state_root(),
            pin_dir: None,
            grace: Duration::from_secs(3),
        }
    }
}

impl LabConfig {
    /// Default config with another state root (tests use a temporary directory).
    pub fn with_state_root(root: impl Into<PathBuf>) -> LabConfig {
        LabConfig {
            state_root: root.into(),
            ..LabConfig::default()
        }
    }

    /// The lab's state directory.
    pub fn lab_dir(&self, lab: &str) -> PathBuf {
        self.state_root.join(lab)
    }

    fn pins_for(&self, lab: &str) -> NetnsDir {
        match (&self.pin_dir, rootless::mode()) {
            (Some(p), _) => NetnsDir::new(p.clone()),
            (None, Mode::Root) => NetnsDir::system(),
            (None, Mode::Rootless) => NetnsDir::new(self.lab_dir(lab).join("netns")),
        }
    }
}

/// A namespace as recorded in lab.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NsRecord {
    /// Namespace name (`hl-<lab>-<node>`).
    pub name: String,
    /// Node name.
    pub node: String,
    /// Namespace inode once created (identifies processes inside it).
    pub inode: Option<u64>,
}

/// A process as recorded in lab.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcRecord {
    /// Node it runs in.
    pub node: String,
    /// Program.
    pub program: String,
    /// Pid and start time once spawned.
    pub id: Option<ProcessId>,
}

/// The contents of lab.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabRecord {
    /// Format version (1).
    pub version: u32,
    /// Lab name.
    pub lab: String,
    /// The owning process.
    pub owner: ProcessId,
    /// Inode of the owner's PID namespace: pids are only meaningful inside it.
    pub owner_pid_ns: u64,
    /// Root or rootless.
    pub mode: Mode,
    /// Where namespaces are pinned.
    pub pin_dir: PathBuf,
    /// Namespaces, recorded before creation.
    pub namespaces: Vec<NsRecord>,
    /// Processes, recorded before spawning.
    pub processes: Vec<ProcRecord>,
    /// Containers of the lab's nodes (`--runtime docker`), recorded before creation and
    /// removed (with everything running in them) at teardown and sweep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<String>,
    /// Nodes whose namespace is a container the user runs (`external = { container }`): its
    /// pin is removed at teardown, its processes and the container are never touched (the
    /// lab's links into it go when their other ends' namespaces go).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopted: Vec<String>,
}

impl LabRecord {
    /// Reads lab.json.
    pub fn load(path: &Path) -> Result<LabRecord> {
        let text = fs::read_to_string(path)
            .map_err(|e| Error::os(format!("reading {}", path.display()), e))?;
        serde_json::from_str(&text).map_err(|e| Error::State {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    /// Writes lab.json atomically (temporary file, then rename).
    pub fn store(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::State {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, text)
            .and_then(|()| fs::rename(&tmp, path))
            .map_err(|e| Error::os(format!("writing {}", path.display()), e))
    }
}

/// The inode of this process's PID namespace.
pub fn own_pid_ns() -> u64 {
    fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|l| process::parse_ns_link(&l.to_string_lossy()))
        .unwrap_or(0)
}

/// Whether the owner recorded in `rec` still runs. An owner in another PID namespace counts as
/// alive while any process of that namespace is alive (its pid means nothing to us). Zombies
/// do not count: a killed lab's init whose parent died too may stay a zombie for good where
/// nothing reaps orphans (a container whose pid 1 does not), and it would keep the lab from
/// ever being swept.
pub fn owner_alive(rec: &LabRecord) -> bool {
    if rec.owner_pid_ns == own_pid_ns() || rec.owner_pid_ns == 0 {
        return rec.owner.is_alive();
    }
    let Ok(dir) = fs::read_dir("/proc") else {
        return true;
    };
    dir.flatten().any(|e| {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            return false;
        };
        fs::read_link(e.path().join("ns/pid"))
            .ok()
            .and_then(|l| process::parse_ns_link(&l.to_string_lossy()))
            == Some(rec.owner_pid_ns)
            && !process::is_zombie(pid)
    })
}

/// A running lab.
#[derive(Debug)]
pub struct Lab {
    name: String,
    dir: PathBuf,
    json: PathBuf,
    pins: NetnsDir,
    grace: Duration,
    record: LabRecord,
    nodes: BTreeMap<String, Netns>,
    processes: Vec<(String, Process)>,
    active: bool,
}

impl Lab {
    /// Creates lab `name` with the default configuration.
    pub fn create(name: &str) -> Result<Lab> {
        Lab::create_with(name, &LabConfig::default())
    }

    /// Creates lab `name`. A leftover lab of the same name whose owner died is cleaned up
    /// first; one whose owner lives is refused with [`Error::LabInUse`].
    pub fn create_with(name: &str, config: &LabConfig) -> Result<Lab> {
        check_lab_name(name)?;
        let dir = config.lab_dir(name);
        let json = dir.join("lab.json");
        if json.exists() {
            match LabRecord::load(&json) {
                Ok(old) if owner_alive(&old) => {
                    return Err(Error::LabInUse {
                        lab: name.into(),
                        pid: old.owner.pid,
                    });
                }
                Ok(old) => clean(&dir, &old, config.grace)?,
                Err(e) => return Err(e),
            }
        }
        fs::create_dir_all(&config.state_root).map_err(|e| {
            Error::os(
                format!("creating state directory {}", config.state_root.display()),
                e,
            )
        })?;
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::os(
                    format!("creating lab directory {}", dir.display()),
                    e,
                ));
            }
        }
        // Generated configs hold secrets (PSKs, MD5 keys): the lab directory is private.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::os(format!("restricting {}", dir.display()), e))?;
        let pins = config.pins_for(name);
        let record = LabRecord {
            version: 1,
            lab: name.to_string(),
            owner: ProcessId::current()?,
            owner_pid_ns: own_pid_ns(),
            mode: rootless::mode(),
            pin_dir: pins.path().to_path_buf(),
            namespaces: Vec::new(),
            processes: Vec::new(),
            containers: Vec::new(),
            adopted: Vec::new(),
        };
        record.store(&json)?;
        info!(lab = name, dir = %dir.display(), "lab created");
        Ok(Lab {
            name: name.to_string(),
            dir,
            json,
            pins,
            grace: config.grace,
            record,
            nodes: BTreeMap::new(),
            processes: Vec::new(),
            active: true,
        })
    }

    /// Lab name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lab's state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pin directory of its namespaces.
    pub fn pins(&self) -> &NetnsDir {
        &self.pins
    }

    /// The record as written to lab.json.
    pub fn record(&self) -> &LabRecord {
        &self.record
    }

    /// `<state>/<lab>/<node>/`, created if needed (private to the owner).
    pub fn node_dir(&self, node: &str) -> Result<PathBuf> {
        check_node_name(node)?;
        let d = self.dir.join(node);
        fs::create_dir_all(&d).map_err(|e| Error::os(format!("creating {}", d.display()), e))?;
        Ok(d)
    }

    /// Adds a node: namespace `hl-<lab>-<node>` with `lo` up.
    pub fn add_node(&mut self, node: &str) -> Result<&Netns> {
        self.add_nodes(&[node])?;
        self.node(node)
    }

    /// Adds several nodes at once: one helper thread creates the namespaces and brings `lo` up
    /// in each while inside it; two state-file writes in all.
    pub fn add_nodes(&mut self, nodes: &[&str]) -> Result<()> {
        let mut names = Vec::with_capacity(nodes.len());
        for node in nodes {
            let ns = ns_name(&self.name, node)?;
            if self.nodes.contains_key(*node) || names.iter().any(|(n, _)| n == node) {
                return Err(Error::invalid("node name", *node, "already in this lab"));
            }
            names.push((node.to_string(), ns));
        }
        for (node, ns) in &names {
            self.record.namespaces.push(NsRecord {
                name: ns.clone(),
                node: node.clone(),
                inode: None,
            });
        }
        self.record.store(&self.json)?;
        let ns_names: Vec<&str> = names.iter().map(|(_, n)| n.as_str()).collect();
        let opts = CreateOptions {
            loopback_up: true,
            threads: 1,
        };
        let created = Netns::create_many_with(&self.pins, &ns_names, &opts)?;
        let mut first_err = None;
        for ((node, _), result) in names.into_iter().zip(created) {
            match result {
                Ok(ns) => {
                    let inode = ns.inode().ok();
                    if let Some(r) = self.record.namespaces.iter_mut().find(|r| r.node == node) {
                        r.inode = inode;
                    }
                    self.nodes.insert(node, ns);
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        self.record.store(&self.json)?;
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Adds nodes as containers, one per spec (`crate::container`): each container's name is
    /// recorded before it is created, its network namespace is pinned as `hl-<lab>-<node>` and
    /// recorded like a namespace of [`Lab::add_nodes`]. On an error, what was created stays
    /// recorded, for teardown.
    pub fn add_container_nodes(&mut self, specs: &[(String, ContainerSpec)]) -> Result<()> {
        let mut names = Vec::with_capacity(specs.len());
        for (node, spec) in specs {
            let ns = ns_name(&self.name, node)?;
            if self.nodes.contains_key(node.as_str()) {
                return Err(Error::invalid("node name", node, "already in this lab"));
            }
            names.push(ns);
            self.record.containers.push(spec.name.clone());
        }
        self.record.store(&self.json)?;
        for (_, spec) in specs {
            if container::exists(&spec.name) {
                return Err(Error::invalid(
                    "container",
                    &spec.name,
                    "exists already (not this lab's: remove it, or choose another lab name)",
                ));
            }
        }
        // All at once: the Docker daemon creates containers side by side, and one `docker run`
        // costs a few hundred milliseconds.
        let started: Vec<Result<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = specs
                .iter()
                .map(|(_, spec)| s.spawn(move || container::start(spec)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Unavailable {
                            what: "starting containers".into(),
                            detail: "helper thread panicked".into(),
                        })
                    })
                })
                .collect()
        });
        for (((node, _), ns), pid) in specs.iter().zip(names).zip(started) {
            let pid = pid?;
            self.record.namespaces.push(NsRecord {
                name: ns.clone(),
                node: node.clone(),
                inode: None,
            });
            self.record.store(&self.json)?;
            let netns = Netns::adopt(&self.pins, &ns, &container::host_proc(pid, "ns/net"))?;
            netns.set_loopback_up()?;
            let inode = netns.inode().ok();
            if let Some(r) = self.record.namespaces.iter_mut().find(|r| r.node == *node) {
                r.inode = inode;
            }
            self.record.store(&self.json)?;
            self.nodes.insert(node.clone(), netns);
        }
        Ok(())
    }

    /// Adds node `node` whose namespace is that of the running container `container`, which
    /// the user owns: pinned as `hl-<lab>-<node>` (recorded first), never entered by teardown's
    /// process sweep, the container never removed.
    pub fn adopt_container_node(&mut self, node: &str, container: &str) -> Result<()> {
        let ns = ns_name(&self.name, node)?;
        if self.nodes.contains_key(node) {
            return Err(Error::invalid("node name", node, "already in this lab"));
        }
        let pid = container::pid(container)?;
        self.record.adopted.push(node.to_string());
        self.record.namespaces.push(NsRecord {
            name: ns.clone(),
            node: node.to_string(),
            inode: None,
        });
        self.record.store(&self.json)?;
        let netns = Netns::adopt(&self.pins, &ns, &container::host_proc(pid, "ns/net"))?;
        let inode = netns.inode().ok();
        if let Some(r) = self.record.namespaces.iter_mut().find(|r| r.node == node) {
            r.inode = inode;
        }
        self.record.store(&self.json)?;
        self.nodes.insert(node.to_string(), netns);
        Ok(())
    }

    /// The namespace of `node`.
    pub fn node(&self, node: &str) -> Result<&Netns> {
        self.nodes.get(node).ok_or_else(|| Error::NotFound {
            what: format!("node {node} in lab {}", self.name),
        })
    }

    /// All nodes and their namespaces, by name.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, &Netns)> {
        self.nodes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Spawns `cmd` in `node`; the lab owns the process and stops it at teardown.
    pub fn spawn(&mut self, node: &str, cmd: Command, opts: &SpawnOptions) -> Result<ProcessId> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let ns = self.nodes.get(node).ok_or_else(|| Error::NotFound {
            what: format!("node {node} in lab {}", self.name),
        })?;
        self.record.processes.push(ProcRecord {
            node: node.to_string(),
            program,
            id: None,
        });
        let slot = self.record.processes.len() - 1;
        self.record.store(&self.json)?;
        let spawned = spawn(ns, cmd, opts);
        match spawned {
            Ok(p) => {
                let id = p.id();
                self.record.processes[slot].id = Some(id);
                self.processes.push((node.to_string(), p));
                self.record.store(&self.json)?;
                Ok(id)
            }
            Err(e) => {
                self.record.processes.remove(slot);
                self.record.store(&self.json)?;
                Err(e)
            }
        }
    }

    /// The lab's process with this pid.
    pub fn process_mut(&mut self, pid: u32) -> Option<&mut Process> {
        self.processes
            .iter_mut()
            .find(|(_, p)| p.pid() == pid)
            .map(|(_, p)| p)
    }

    /// Stops one process (SIGTERM, SIGKILL after `grace`) and forgets it: a chaos "kill" or the
    /// first half of a restart.
    pub fn stop_process(&mut self, pid: u32, grace: Duration) -> Result<std::process::ExitStatus> {
        let at = self
            .processes
            .iter()
            .position(|(_, p)| p.pid() == pid)
            .ok_or_else(|| Error::NotFound {
                what: format!("process {pid} in lab {}", self.name),
            })?;
        let (_, mut p) = self.processes.remove(at);
        let status = p.terminate(grace)?;
        self.record
            .processes
            .retain(|r| r.id.map(|i| i.pid) != Some(pid));
        self.record.store(&self.json)?;
        Ok(status)
    }

    /// Removes everything the lab created. Errors are collected: teardown goes on after one.
    pub fn teardown(mut self) -> Result<()> {
        self.teardown_inner()
    }

    /// [`Lab::teardown`] on a blocking thread, for async callers.
    pub async fn teardown_async(self) -> Result<()> {
        tokio::task::spawn_blocking(move || self.teardown())
            .await
            .map_err(|e| Error::Unavailable {
                what: "tearing down lab".into(),
                detail: e.to_string(),
            })?
    }

    fn teardown_inner(&mut self) -> Result<()> {
        if !self.active {
            return Ok(());
        }
        self.active = false;
        let span = info_span!("lab_teardown", lab = %self.name);
        let _g = span.enter();
        let started = Instant::now();
        // Containers first: removing one kills everything in it, so the `docker exec` clients
        // among our children end at once instead of waiting for the grace period.
        if let Err(e) = container::remove(&self.record.containers) {
            warn!(error = %e, "removing the lab's containers");
        }
        // Our own children: SIGTERM all, one shared grace period, SIGKILL the rest, reap.
        for (_, p) in self.processes.iter_mut() {
            let _ = p.signal(libc::SIGTERM);
        }
        let deadline = Instant::now() + self.grace;
        let mut pause = Duration::from_millis(1);
        while Instant::now() < deadline && self.processes.iter_mut().any(|(_, p)| p.is_running()) {
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        for (node, mut p) in self.processes.drain(..) {
            if p.is_running() {
                warn!(
                    node,
                    label = p.label(),
                    "still running after grace period, killing"
                );
            }
            drop(p); // SIGKILL + reap if still running
        }
        let nodes = std::mem::take(&mut self.nodes);
        let result = clean(&self.dir, &self.record, self.grace);
        drop(nodes);
        info!(elapsed = ?started.elapsed(), "lab torn down");
        result
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = self.teardown_inner() {
            warn!(lab = %self.name, error = %e, "lab teardown incomplete; `sweep` will retry");
        }
    }
}

/// Stops every process in the lab's namespaces, unpins them and removes the state directory.
fn clean(dir: &Path, rec: &LabRecord, grace: Duration) -> Result<()> {
    let pins = NetnsDir::new(rec.pin_dir.clone());
    let me = std::process::id();
    // 0. Containers (`--runtime docker`), with everything running in them.
    let mut first_err = container::remove(&rec.containers).err();
    // 1. Recorded processes, if their pids mean something here.
    let mut victims: Vec<ProcessId> = Vec::new();
    if rec.owner_pid_ns == own_pid_ns() {
        victims.extend(
            rec.processes
                .iter()
                .filter_map(|p| p.id)
                .filter(|id| id.is_alive()),
        );
    }
    // 2. Anything else inside the lab's namespaces (daemons' children, processes whose record
    //    was not written because we crashed between fork and store).
    // Not in the user's own containers (adopted nodes): their processes are theirs.
    let own = |n: &&NsRecord| !rec.adopted.contains(&n.node);
    let mut inodes: Vec<u64> = rec
        .namespaces
        .iter()
        .filter(own)
        .filter_map(|n| n.inode)
        .collect();
    for n in rec.namespaces.iter().filter(own) {
        if let Ok(ns) = Netns::open(&pins, &n.name)
            && let Ok(ino) = ns.inode()
            && !inodes.contains(&ino)
        {
            inodes.push(ino);
        }
    }
    for pid in pids_in_netns(&inodes) {
        if pid != me
            && let Ok(id) = ProcessId::of(pid)
            && !victims.contains(&id)
        {
            victims.push(id);
        }
    }
    terminate_all(&victims, grace);
    // 3. Namespaces.
    for n in &rec.namespaces {
        if let Err(e) = pins.unpin(&n.name) {
            first_err.get_or_insert(e);
        }
    }
    // 4. State. A pin directory inside the state directory (rootless) is a bind mount of
    //    itself (see `NetnsDir::ensure`): detach it first, or removing it fails with EBUSY.
    if pins.path().starts_with(dir)
        && let Err(e) = crate::sys::umount2(pins.path(), libc::MNT_DETACH)
        && !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT))
    {
        first_err.get_or_insert(Error::os(
            format!("unmounting {}", pins.path().display()),
            e,
        ));
    }
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            first_err.get_or_insert(Error::os(format!("removing {}", dir.display()), e));
        }
    }
    debug!(lab = %rec.lab, killed = victims.len(), "lab cleaned");
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// SIGTERM to all, one grace period, SIGKILL to the survivors.
fn terminate_all(victims: &[ProcessId], grace: Duration) {
    for v in victims {
        let _ = v.signal(libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    let mut pause = Duration::from_millis(1);
    while Instant::now() < deadline && victims.iter().any(|v| v.is_alive()) {
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    for v in victims {
        if v.is_alive() {
            let _ = v.signal(libc::SIGKILL);
        }
    }
    for v in victims {
        process::wait_gone(v, Duration::from_secs(1));
    }
}

/// A lab found in the state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabStatus {
    /// Lab name.
    pub name: String,
    /// Its record.
    pub record: LabRecord,
    /// Whether its owner runs.
    pub owner_alive: bool,
}

/// Every lab with a readable lab.json under the state root.
pub fn list(config: &LabConfig) -> Result<Vec<LabStatus>> {
    let entries = match fs::read_dir(&config.state_root) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::os(
                format!("listing {}", config.state_root.display()),
                e,
            ));
        }
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let json = entry.path().join("lab.json");
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if check_lab_name(&name).is_err() || !json.exists() {
            continue;
        }
        match LabRecord::load(&json) {
            Ok(record) => out.push(LabStatus {
                name,
                owner_alive: owner_alive(&record),
                record,
            }),
            Err(e) => warn!(lab = name, error = %e, "unreadable lab state, left alone"),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Removes every lab whose owner is dead: kills its processes (by record and by scanning
/// `/proc/*/ns/net`), unpins its namespaces, deletes its state directory. Labs whose owner is
/// alive are never touched. Returns the names of the labs removed.
pub fn sweep(config: &LabConfig) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let mut first_err = None;
    for lab in list(config)? {
        if lab.owner_alive {
            continue;
        }
        info!(lab = %lab.name, owner = lab.record.owner.pid, "sweeping lab of a dead owner");
        match clean(&config.lab_dir(&lab.name), &lab.record, config.grace) {
            Ok(()) => removed.push(lab.name),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}

/// Brings lab `name` down. A live owner is asked to stop (SIGTERM: it tears down itself) and
/// given `config.grace` plus the time to clean; if it does not, it is killed and the lab cleaned
/// here. A lab with a dead owner is swept.
pub fn down(name: &str, config: &LabConfig) -> Result<()> {
    check_lab_name(name)?;
    let dir = config.lab_dir(name);
    let json = dir.join("lab.json");
    if !json.exists() {
        return Err(Error::NotFound {
            what: format!("lab {name} in {}", config.state_root.display()),
        });
    }
    let rec = LabRecord::load(&json)?;
    if owner_alive(&rec) && rec.owner_pid_ns == own_pid_ns() {
        if rec.owner.pid == std::process::id() {
            return Err(Error::LabInUse {
                lab: name.into(),
                pid: rec.owner.pid,
            });
        }
        rec.owner.signal(libc::SIGTERM)?;
        let deadline = Instant::now() + config.grace * 2 + Duration::from_secs(2);
        while Instant::now() < deadline && json.exists() {
            std::thread::sleep(Duration::from_millis(20));
        }
        if !json.exists() {
            return Ok(());
        }
        warn!(
            lab = name,
            owner = rec.owner.pid,
            "owner did not tear the lab down, killing it"
        );
        rec.owner.signal(libc::SIGKILL)?;
        process::wait_gone(&rec.owner, Duration::from_secs(2));
    }
    clean(&dir, &rec, config.grace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_rejects_unknown_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.json");
        let rec = LabRecord {
            version: 1,
            lab: "t".into(),
            owner: ProcessId {
                pid: 42,
                start_time: 7,
            },
            owner_pid_ns: 4026531836,
            mode: Mode::Root,
            pin_dir: "/run/netns".into(),
            namespaces: vec![NsRecord {
                name: "hl-t-a".into(),
                node: "a".into(),
                inode: Some(5),
            }],
            processes: vec![ProcRecord {
                node: "a".into(),
                program: "sleep".into(),
                id: None,
            }],
            containers: vec!["hl-t-a".into()],
            adopted: vec![],
        };
        rec.store(&path).unwrap();
        assert_eq!(LabRecord::load(&path).unwrap(), rec);
        let text = fs::read_to_string(&path).unwrap().replacen(
            "\"version\"",
            "\"extra\": 1, \"version\"",
            1,
        );
        fs::write(&path, text).unwrap();
        let e = LabRecord::load(&path).unwrap_err().to_string();
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn a_dead_owner_is_detected_and_a_live_one_is_not() {
        let me = ProcessId::current().unwrap();
        let mut rec = LabRecord {
            version: 1,
            lab: "t".into(),
            owner: me,
            owner_pid_ns: own_pid_ns(),
            mode: Mode::Root,
            pin_dir: "/nonexistent".into(),
            namespaces: vec![],
            processes: vec![],
            containers: vec![],
            adopted: vec![],
        };
        assert!(owner_alive(&rec));
        rec.owner.start_time += 1;
        assert!(!owner_alive(&rec));
        // Another PID namespace that no process is in: dead.
        rec.owner_pid_ns = 1;
        assert!(!owner_alive(&rec));
    }
}
