//! The real [`Backend`]: a `netns::lab::Lab` (state file written before each object is
//! created, RAII teardown, sweep of dead labs) plus one netlink handle per node.
//!
//! Every object lives inside a lab namespace, so deleting the namespaces at teardown removes
//! every link, address, route and nftables rule with them.
//!
//! What it does not do: decide order (the engine does), or anything outside the lab's
//! namespaces.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use netns::lab::{Lab, LabConfig};
use netns::link::{LinkId, VethEnd, VethOptions};
use netns::{Netlink, Netns, Route};

use crate::capture::tap::Medium;
use crate::capture::{CaptureConfig, CaptureSet};
use crate::kind::{ProcessSpec, StaticRoute};
use crate::model::TrafficMatch;
use crate::model::timeline::PROTOCOLS;
use crate::probe::NsRunner;
use crate::runner::backend::{Backend, BackendError, CutId, ProcId, RouteView};
use crate::runner::container_runtime::{self, Runtime};
use crate::runner::plan::LinkPlan;

/// The main routing table (RT_TABLE_MAIN).
const MAIN_TABLE: u32 = 254;

/// See the module documentation.
#[derive(Debug)]
pub struct NetnsBackend {
    lab: Mutex<Option<Lab>>,
    ns: Mutex<BTreeMap<String, Arc<Netns>>>,
    nl: Mutex<BTreeMap<String, Arc<Netlink>>>,
    cuts: Mutex<BTreeMap<CutId, (String, netns::firewall::Cut)>>,
    procs: Mutex<BTreeMap<ProcId, (String, u32)>>,
    /// Process name and node directory of each process, for a container's `kill`.
    proc_names: Mutex<BTreeMap<ProcId, (String, std::path::PathBuf)>>,
    next_id: AtomicU64,
    runtime: Runtime,
    capture: Mutex<Option<Arc<CaptureSet>>>,
    tun_watch: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How often the TUN devices of the nodes are looked for while capturing them (a daemon
/// creates its devices after it starts, and again after a restart).
const TUN_SCAN: std::time::Duration = std::time::Duration::from_millis(100);

fn err(what: impl std::fmt::Display) -> impl FnOnce(netns::Error) -> BackendError {
    move |e| BackendError::ctx(what, e)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl NetnsBackend {
    /// Creates lab `name` (its state directory and lab.json); a dead lab of the same name is
    /// swept first, a live one refused.
    pub fn create(name: &str, config: &LabConfig) -> Result<NetnsBackend, BackendError> {
        NetnsBackend::create_with_runtime(name, config, Runtime::Namespaces)
    }

    /// [`NetnsBackend::create`] with nodes run by `runtime` (containers: only as root).
    pub fn create_with_runtime(
        name: &str,
        config: &LabConfig,
        runtime: Runtime,
    ) -> Result<NetnsBackend, BackendError> {
        if matches!(runtime, Runtime::Docker(_))
            && netns::rootless::mode() != netns::rootless::Mode::Root
        {
            return Err(BackendError(
                "--runtime docker needs root (the engine moves links into containers' namespaces and talks to the Docker daemon)".into(),
            ));
        }
        let lab = Lab::create_with(name, config).map_err(err(format!("creating lab {name}")))?;
        Ok(NetnsBackend {
            lab: Mutex::new(Some(lab)),
            ns: Mutex::new(BTreeMap::new()),
            nl: Mutex::new(BTreeMap::new()),
            cuts: Mutex::new(BTreeMap::new()),
            procs: Mutex::new(BTreeMap::new()),
            proc_names: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            runtime,
            capture: Mutex::new(None),
            tun_watch: Mutex::new(None),
        })
    }

    /// Captures packets ([`crate::capture`]) from now on: links as they are created (every
    /// link, or those marked `capture = true`), and TUN devices as they appear when
    /// `config.tunnels`. Call before the lab's nodes are created.
    pub fn capture_to(&self, config: CaptureConfig) -> Result<(), String> {
        *lock(&self.capture) = Some(Arc::new(CaptureSet::new(config)?));
        Ok(())
    }

    /// Starts following the nodes' TUN devices (called once the namespaces exist).
    fn watch_tuns(&self, set: Arc<CaptureSet>) {
        let names: Vec<String> = lock(&self.ns).keys().cloned().collect();
        let nodes: Vec<(String, Arc<Netns>, Arc<Netlink>)> = names
            .into_iter()
            .filter_map(|n| Some((n.clone(), self.netns(&n).ok()?, self.netlink(&n).ok()?)))
            .collect();
        let task = tokio::spawn(async move {
            let mut failed = std::collections::BTreeSet::new();
            loop {
                for (node, ns, nl) in &nodes {
                    let Ok(links) = nl.links().await else {
                        continue;
                    };
                    for l in links.iter().filter(|l| l.kind.as_deref() == Some("tun")) {
                        // A TAP has a MAC address and carries Ethernet; a TUN, bare IP.
                        let medium = if l.mac.as_ref().is_some_and(|m| !m.is_empty()) {
                            Medium::Ethernet
                        } else {
                            Medium::Ip
                        };
                        if let Err(e) = set.tun(node, ns, &l.name, l.index, medium)
                            && failed.insert((node.clone(), l.name.clone()))
                        {
                            tracing::warn!("{e}");
                        }
                    }
                }
                tokio::time::sleep(TUN_SCAN).await;
            }
        });
        *lock(&self.tun_watch) = Some(task);
    }

    /// Stops the captures and closes their files: one line per file (frames, or the error).
    pub fn stop_captures(&self) -> Vec<String> {
        if let Some(t) = lock(&self.tun_watch).take() {
            t.abort();
        }
        let Some(set) = lock(&self.capture).take() else {
            return Vec::new();
        };
        set.stop_all()
            .into_iter()
            .map(|(stem, r)| match r {
                Ok(n) => format!("{stem}: {n} packets"),
                Err(e) => format!("{stem}: {e}"),
            })
            .collect()
    }

    /// The lab's state directory.
    pub fn lab_dir(&self) -> Option<std::path::PathBuf> {
        lock(&self.lab).as_ref().map(|l| l.dir().to_path_buf())
    }

    fn netns(&self, node: &str) -> Result<Arc<Netns>, BackendError> {
        lock(&self.ns)
            .get(node)
            .cloned()
            .ok_or_else(|| BackendError(format!("no node {node} in this lab")))
    }

    fn netlink(&self, node: &str) -> Result<Arc<Netlink>, BackendError> {
        if let Some(nl) = lock(&self.nl).get(node) {
            return Ok(nl.clone());
        }
        let ns = self.netns(node)?;
        let nl = Arc::new(Netlink::open(&ns).map_err(err(format!("opening netlink in {node}")))?);
        lock(&self.nl).insert(node.to_string(), nl.clone());
        Ok(nl)
    }

    /// SIGKILLs process `name` of container node `node` by the pid it wrote in `dir`.
    fn kill_in_container(&self, node: &str, name: &str, dir: &Path) -> Result<(), BackendError> {
        let lab = lock(&self.lab)
            .as_ref()
            .map(|l| l.name().to_string())
            .unwrap_or_default();
        let file = container_runtime::pid_file(dir, name);
        let pid = std::fs::read_to_string(&file)
            .map_err(|e| BackendError::ctx(format!("reading {}", file.display()), e))?;
        let pid = pid.trim();
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BackendError(format!(
                "{}: not a pid: {pid:?}",
                file.display()
            )));
        }
        let container = container_runtime::container_name(&lab, node);
        netns::container::run_docker(
            &format!("killing {name} in container {container}"),
            netns::container::docker().args(["exec", &container, "kill", "-KILL", pid]),
        )
        .map(drop)
        .map_err(err(format!("killing {name} in {node}")))
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

impl NsRunner for NetnsBackend {
    fn run_in(&self, node: &str, f: Box<dyn FnOnce() + Send + '_>) -> Result<(), String> {
        let ns = self.netns(node).map_err(|e| e.0)?;
        ns.run(f).map_err(|e| e.to_string())
    }
}

impl Backend for NetnsBackend {
    async fn create_nodes(&self, nodes: &[String]) -> Result<(), BackendError> {
        let refs: Vec<&str> = nodes.iter().map(String::as_str).collect();
        let mut guard = lock(&self.lab);
        let lab = guard
            .as_mut()
            .ok_or_else(|| BackendError("lab already torn down".into()))?;
        match &self.runtime {
            Runtime::Namespaces => lab.add_nodes(&refs).map_err(err("creating namespaces"))?,
            Runtime::Docker(d) => {
                let pin_dir = lab.pins().path().to_path_buf();
                // The pin directory must exist (and be shared) before a container mounts it.
                lab.pins()
                    .ensure()
                    .map_err(err("preparing the pin directory"))?;
                let specs: Vec<(String, netns::container::ContainerSpec)> = nodes
                    .iter()
                    .map(|n| (n.clone(), d.spec(lab.name(), n, lab.dir(), &pin_dir)))
                    .collect();
                lab.add_container_nodes(&specs)
                    .map_err(err("creating the nodes' containers"))?;
            }
        }
        let mut ns = lock(&self.ns);
        for n in nodes {
            let netns = lab
                .node(n)
                .and_then(Netns::try_clone)
                .map_err(err(format!("opening namespace of {n}")))?;
            // In-process ICMP probes use ping sockets: allow every group (namespaced sysctl).
            // Rootless, only gid 0 (ourselves) is mapped in our user namespace, and the kernel
            // refuses a range with unmapped groups.
            let groups = match netns::rootless::mode() {
                netns::rootless::Mode::Root => "0 2147483647",
                netns::rootless::Mode::Rootless => "0 0",
            };
            netns
                .set_sysctl("net.ipv4.ping_group_range", groups)
                .map_err(err(format!("allowing ping sockets in {n}")))?;
            ns.insert(n.clone(), Arc::new(netns));
        }
        drop(ns);
        drop(guard);
        let set = lock(&self.capture).clone();
        if let Some(set) = set.filter(|s| s.config().tunnels) {
            self.watch_tuns(set);
        }
        Ok(())
    }

    async fn adopt_container(&self, node: &str, container: &str) -> Result<(), BackendError> {
        if netns::rootless::mode() != netns::rootless::Mode::Root {
            return Err(BackendError(format!(
                "node {node}: external = {{ container = {container:?} }} needs root (the lab moves links into the container's namespace)"
            )));
        }
        let mut guard = lock(&self.lab);
        let lab = guard
            .as_mut()
            .ok_or_else(|| BackendError("lab already torn down".into()))?;
        lab.adopt_container_node(node, container)
            .map_err(err(format!(
                "plugging node {node} into container {container}"
            )))?;
        let netns = lab
            .node(node)
            .and_then(Netns::try_clone)
            .map_err(err(format!("opening namespace of {node}")))?;
        lock(&self.ns).insert(node.to_string(), Arc::new(netns));
        Ok(())
    }

    async fn create_link(&self, link: &LinkPlan) -> Result<(), BackendError> {
        let [a, b] = &link.ends;
        let (na, nb) = (self.netns(&a.node)?, self.netns(&b.node)?);
        let nl = self.netlink(&a.node)?;
        nl.add_veth(
            VethEnd {
                ns: &na,
                name: &a.ifname,
            },
            VethEnd {
                ns: &nb,
                name: &b.ifname,
            },
            // Up after creation, per end: a veth cannot be opened before its peer is attached
            // (veth_open answers ENOTCONN), which `up` in the creation request would need.
            VethOptions {
                mtu: link.mtu,
                up: false,
            },
        )
        .await
        .map_err(err(format!(
            "creating link {} ({}:{} <-> {}:{})",
            link.name, a.node, a.ifname, b.node, b.ifname
        )))?;
        for end in [a, b] {
            let nl = self.netlink(&end.node)?;
            for addr in &end.addresses {
                nl.add_address(LinkId::Name(&end.ifname), *addr)
                    .await
                    .map_err(err(format!("adding {addr} to {}:{}", end.node, end.ifname)))?;
            }
            nl.set_link_up(LinkId::Name(&end.ifname), true)
                .await
                .map_err(err(format!("setting {}:{} up", end.node, end.ifname)))?;
        }
        let set = lock(&self.capture).clone();
        if let Some(set) = set.filter(|s| s.wants_link(link.capture)) {
            set.link(&link.name, &na, &a.ifname).map_err(BackendError)?;
        }
        Ok(())
    }

    async fn masquerade(&self, node: &str, ifname: &str) -> Result<(), BackendError> {
        let ns = self.netns(node)?;
        // The table goes with the namespace at teardown: nothing to remember.
        netns::nat::masquerade(&ns, ifname)
            .map(drop)
            .map_err(err(format!("masquerading {node}'s {ifname}")))
    }

    async fn reset_nat(&self, node: &str) -> Result<(), BackendError> {
        let ns = self.netns(node)?;
        netns::nat::flush_conntrack(&ns).map_err(err(format!("resetting {node}'s NAT")))
    }

    async fn set_forwarding(&self, node: &str) -> Result<(), BackendError> {
        let ns = self.netns(node)?;
        ns.set_forwarding(true)
            .map_err(err(format!("turning forwarding on in {node}")))?;
        // A router does not send into a link that is down: with two routes to one prefix
        // (a primary and a backup metric) the backup takes over when the primary's link goes
        // down, as a routing daemon's next-hop tracking would do.
        for scope in ["all", "default"] {
            ns.set_sysctl(
                &format!("net.ipv4.conf.{scope}.ignore_routes_with_linkdown"),
                "1",
            )
            .map_err(err(format!("ignoring link-down routes in {node}")))?;
        }
        // ECMP by flow (addresses, protocol and ports) and no reverse-path filter (asymmetric
        // paths over tunnels): what the TGW and appliance daemons want, set here too because a
        // node in a container cannot write its own /proc/sys (the daemons then only check).
        ns.set_sysctl("net.ipv4.fib_multipath_hash_policy", "1")
            .map_err(err(format!("hashing multipath routes by flow in {node}")))?;
        // IPv6 likewise (Connect's MP-BGP IPv6 routes); a kernel without IPv6 has no such key.
        if let Err(e) = ns.set_sysctl("net.ipv6.fib_multipath_hash_policy", "1") {
            tracing::debug!(%node, error = %e, "IPv6 multipath hashing not set");
        }
        ns.set_rp_filter(0)
            .map_err(err(format!("turning reverse-path filtering off in {node}")))?;
        Ok(())
    }

    async fn add_route(&self, node: &str, route: &StaticRoute) -> Result<(), BackendError> {
        let mut r = Route::new(route.to);
        if let Some(via) = route.via {
            r = r.via(via);
        }
        if let Some(dev) = &route.dev {
            r = r.dev(dev);
        }
        if let Some(metric) = route.metric {
            r = r.metric(metric);
        }
        self.netlink(node)?
            .replace_route(&r)
            .await
            .map_err(err(format!("adding route {} in {node}", route.to)))
    }

    async fn routes(&self, node: &str) -> Result<Vec<RouteView>, BackendError> {
        let routes = self
            .netlink(node)?
            .routes(None, Some(MAIN_TABLE))
            .await
            .map_err(err(format!("reading routes of {node}")))?;
        Ok(routes
            .into_iter()
            .map(|r| RouteView {
                dst: r.dst,
                gateways: r.next_hops.iter().filter_map(|h| h.gateway).collect(),
                devs: r
                    .next_hops
                    .iter()
                    .filter_map(|h| h.ifname.clone())
                    .collect(),
            })
            .collect())
    }

    async fn set_link_up(&self, node: &str, ifname: &str, up: bool) -> Result<(), BackendError> {
        self.netlink(node)?
            .set_link_up(LinkId::Name(ifname), up)
            .await
            .map_err(err(format!(
                "setting {node}:{ifname} {}",
                if up { "up" } else { "down" }
            )))
    }

    async fn cut(
        &self,
        node: &str,
        ifname: Option<&str>,
        matching: &TrafficMatch,
    ) -> Result<CutId, BackendError> {
        let ns = self.netns(node)?;
        let proto = matching
            .proto
            .as_ref()
            .map(|p| {
                PROTOCOLS
                    .iter()
                    .find(|(n, _)| n == p)
                    .map(|(_, num)| *num)
                    .ok_or_else(|| BackendError(format!("unknown protocol {p}")))
            })
            .transpose()?;
        let spec = netns::firewall::CutSpec {
            ifname: ifname.map(str::to_string),
            proto,
            ports: matching.ports.clone(),
            peer: matching.peer,
            loss_percent: matching.loss_percent,
        };
        let cut = netns::firewall::cut(&ns, &spec)
            .map_err(err(format!("cutting {} in {node}", matching.describe())))?;
        let id = self.id();
        lock(&self.cuts).insert(id, (node.to_string(), cut));
        Ok(id)
    }

    async fn restore(&self, cut: CutId) -> Result<(), BackendError> {
        let (node, c) = lock(&self.cuts)
            .remove(&cut)
            .ok_or_else(|| BackendError(format!("no cut {cut}")))?;
        let ns = self.netns(&node)?;
        netns::firewall::restore(&ns, c).map_err(err(format!("restoring a cut in {node}")))
    }

    fn spawn(&self, node: &str, spec: &ProcessSpec, dir: &Path) -> Result<ProcId, BackendError> {
        let (program, args) = spec
            .argv
            .split_first()
            .ok_or_else(|| BackendError(format!("{node}/{}: empty command", spec.name)))?;
        let log_path = dir.join(format!("{}.log", spec.name));
        let log = std::fs::File::create(&log_path)
            .map_err(|e| BackendError::ctx(format!("creating {}", log_path.display()), e))?;
        let log2 = log
            .try_clone()
            .map_err(|e| BackendError::ctx("duplicating the log descriptor", e))?;
        let mut cmd = match &self.runtime {
            Runtime::Namespaces => {
                let mut c = Command::new(program);
                c.args(args).envs(spec.env.iter().map(|(k, v)| (k, v)));
                c
            }
            Runtime::Docker(d) => {
                let lab = lock(&self.lab)
                    .as_ref()
                    .map(|l| l.name().to_string())
                    .unwrap_or_default();
                // A pid file of an earlier run of this process would be signalled by `kill`.
                let _ = std::fs::remove_file(container_runtime::pid_file(dir, &spec.name));
                d.exec(&lab, node, spec, dir)
            }
        };
        cmd.current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let mut guard = lock(&self.lab);
        let lab = guard
            .as_mut()
            .ok_or_else(|| BackendError("lab already torn down".into()))?;
        let pid = lab
            .spawn(node, cmd, &netns::SpawnOptions::default())
            .map_err(err(format!("starting {} in {node}", spec.name)))?
            .pid;
        let id = self.id();
        lock(&self.procs).insert(id, (node.to_string(), pid));
        lock(&self.proc_names).insert(id, (spec.name.clone(), dir.to_path_buf()));
        Ok(id)
    }

    fn pid(&self, proc: ProcId) -> Option<u32> {
        lock(&self.procs).get(&proc).map(|(_, pid)| *pid)
    }

    fn is_running(&self, proc: ProcId) -> bool {
        let Some((_, pid)) = lock(&self.procs).get(&proc).cloned() else {
            return false;
        };
        lock(&self.lab)
            .as_mut()
            .and_then(|l| l.process_mut(pid))
            .is_some_and(|p| p.is_running())
    }

    fn kill(&self, proc: ProcId) -> Result<(), BackendError> {
        let (node, pid) = lock(&self.procs)
            .remove(&proc)
            .ok_or_else(|| BackendError(format!("no process {proc}")))?;
        let names = lock(&self.proc_names).remove(&proc);
        let mut grace = std::time::Duration::ZERO;
        if let (Runtime::Docker(_), Some((name, dir))) = (&self.runtime, names) {
            // Our child is the `docker exec` client; the process itself runs in the container's
            // PID namespace: SIGKILL it there, then let the client see it end.
            self.kill_in_container(node.as_str(), &name, &dir)?;
            grace = std::time::Duration::from_secs(2);
        }
        let mut guard = lock(&self.lab);
        let lab = guard
            .as_mut()
            .ok_or_else(|| BackendError("lab already torn down".into()))?;
        // A zero grace period: SIGKILL at once, like a crash.
        lab.stop_process(pid, grace)
            .map_err(err(format!("killing {pid} in {node}")))?;
        Ok(())
    }

    fn netns_path(&self, node: &str) -> Option<std::path::PathBuf> {
        self.netns(node).ok().map(|ns| ns.path().to_path_buf())
    }

    async fn teardown(&self) -> Result<(), BackendError> {
        for line in self.stop_captures() {
            tracing::debug!("capture {line}");
        }
        lock(&self.cuts).clear();
        lock(&self.nl).clear();
        lock(&self.ns).clear();
        let lab = lock(&self.lab).take();
        match lab {
            Some(lab) => lab
                .teardown_async()
                .await
                .map_err(err("tearing the lab down")),
            None => Ok(()),
        }
    }
}
