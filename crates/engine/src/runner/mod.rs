//! The engine: brings a validated scenario up, plays its timeline, runs its probes, checks its
//! expectations, and always tears the lab down, producing a [`RunRecord`].
//!
//! ```text
//!  bring-up (plan waves) -> probes start -> converge (every probe delivers, or the
//!  `converge` timer passes) -> t0 -> timeline: every action and expectation waits for its
//!  trigger (at / after / on_event), all concurrently -> `End` expectations -> linger ->
//!  probes stop and drain -> teardown (always: also on error, Ctrl-C or panic via the
//!  backend's Drop) -> RunRecord
//! ```
//!
//! Node kinds plug in through `crate::kind`: nothing here names a kind.
//!
//! What it does not do: parse scenarios, render reports, or make system calls itself (the
//! [`backend::Backend`] does).

pub mod actions;
pub mod backend;
pub mod chaos;
pub mod checks;
pub mod container_runtime;
pub mod daemons;
pub mod live;
pub mod netns_backend;
pub mod plan;
pub mod recorder;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::{broadcast, watch};

use crate::kind::{NodeEnv, ProcessSpec};
use crate::model::{CutTarget, Scenario, When};
use crate::probe::{self, ProbeSpec, Running};
use crate::report::{EventSource, ExpectationRecord, Outcome, ProbeRecord, RunRecord};
use crate::runner::backend::{Backend, BackendError, CutId, ProcId};
use crate::runner::recorder::Recorder;

/// How long receivers keep listening after the senders stop, for packets still in flight.
const DRAIN: Duration = Duration::from_millis(150);

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Lab name.
    pub lab: String,
    /// `<state>/<lab>`: node directories, configs, control sockets.
    pub lab_dir: PathBuf,
    /// The `hybridlab` executable, for daemons.
    pub exe: PathBuf,
    /// The lab's secret ([`crate::lab_secret`]): draw it with `LabSecret::random()`.
    pub lab_secret: crate::lab_secret::LabSecret,
}

/// A cut in force.
#[derive(Debug, Clone)]
struct ActiveCut {
    action: String,
    target: CutTarget,
    ids: Vec<CutId>,
    since_ns: u64,
}

/// A process the lab runs.
#[derive(Debug, Clone)]
struct Proc {
    id: ProcId,
    spec: ProcessSpec,
}

/// State shared by the engine's concurrent parts during one run.
pub(crate) struct Ctx<'s, B: Backend> {
    scenario: &'s Scenario,
    backend: Arc<B>,
    opts: RunOptions,
    rec: Recorder,
    t0_ns: u64,
    probes: BTreeMap<String, Running>,
    cuts: Mutex<Vec<ActiveCut>>,
    procs: Mutex<BTreeMap<(String, String), Proc>>,
    events: broadcast::Sender<control::Event>,
    results: Mutex<BTreeMap<String, ExpectationRecord>>,
    daemon_tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl<B: Backend> Ctx<'_, B> {
    fn node_dir(&self, node: &str) -> PathBuf {
        self.opts.lab_dir.join(node)
    }

    fn socket(&self, node: &str) -> PathBuf {
        control::socket_path(&self.opts.lab_dir, node)
    }

    fn timer(&self, name: &str) -> Duration {
        self.scenario.timing.get(name)
    }

    /// Sleeps until `t_ns` on the monotonic clock.
    async fn sleep_until(t_ns: u64) {
        let now = netns::clock::monotonic_ns();
        if t_ns > now {
            tokio::time::sleep(Duration::from_nanos(t_ns - now)).await;
        }
    }

    /// Waits for a trigger; `None` when it can never fire (what it waits for failed, or the
    /// event did not come within `event_wait`), with the reason.
    async fn wait_when(&self, when: &When, end: &[String]) -> Result<u64, String> {
        match when {
            When::At(d) => {
                let t = self.t0_ns + d.as_nanos() as u64;
                Self::sleep_until(t).await;
                Ok(t)
            }
            When::After { name, delay } => {
                let c = self.rec.completion(name).await;
                if !c.ok {
                    return Err(format!("{name:?} did not succeed"));
                }
                let t = c.t_ns + delay.as_nanos() as u64;
                Self::sleep_until(t).await;
                Ok(t)
            }
            When::OnEvent { event, delay } => {
                let mut rx = self.events.subscribe();
                let limit = self.timer("event_wait");
                let found = tokio::time::timeout(limit, async {
                    loop {
                        match rx.recv().await {
                            Ok(ev) if event.matches(&ev.node, &ev.kind) => return Some(ev.t_ns),
                            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    }
                })
                .await;
                match found {
                    Ok(Some(t)) => {
                        let t = t + delay.as_nanos() as u64;
                        Self::sleep_until(t).await;
                        Ok(t)
                    }
                    _ => Err(format!(
                        "no {} event from {} within {}",
                        event.kind,
                        event.node,
                        crate::duration::human(limit)
                    )),
                }
            }
            When::End => {
                self.rec.all_complete(end).await;
                Ok(netns::clock::monotonic_ns())
            }
        }
    }

    /// Starts `node`'s processes (files written first) and follows their control sockets.
    async fn start_processes(&self, node: &str) -> Result<(), BackendError> {
        let Some(spec) = self.scenario.topology.node(node) else {
            return Ok(());
        };
        let dir = self.node_dir(node);
        let env = NodeEnv {
            lab: &self.opts.lab,
            node_dir: dir.clone(),
            socket: self.socket(node),
            exe: self.opts.exe.clone(),
            timing: &self.scenario.timing,
            topology: &self.scenario.topology,
            namespaces: self
                .scenario
                .topology
                .nodes
                .iter()
                .filter_map(|n| Some((n.name().to_string(), self.backend.netns_path(n.name())?)))
                .collect(),
            lab_secret: &self.opts.lab_secret,
        };
        for p in spec.processes(&env) {
            self.start_process(node, p).await?;
        }
        Ok(())
    }

    async fn start_process(&self, node: &str, p: ProcessSpec) -> Result<(), BackendError> {
        let dir = self.node_dir(node);
        std::fs::create_dir_all(&dir)
            .map_err(|e| BackendError::ctx(format!("creating {}", dir.display()), e))?;
        for file in &p.files {
            // Owner-only: a gateway's configuration holds its pre-shared keys, and the daemons
            // run as the same user as the engine.
            let path = dir.join(&file.name);
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)
                .and_then(|mut f| {
                    std::io::Write::write_all(&mut f, file.contents.expose().as_bytes())
                })
                .map_err(|e| BackendError::ctx(format!("writing {}", path.display()), e))?;
        }
        let id = self.backend.spawn(node, &p, &dir)?;
        self.rec.record(
            EventSource::Engine,
            node,
            "spawn",
            format!("started {} ({})", p.name, p.argv.join(" ")),
        );
        if p.control_socket {
            let socket = self.socket(node);
            let wait = daemons::wait_for_socket(&socket, self.timer("converge"));
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    r = &mut wait => {
                        r.map_err(|e| BackendError(format!("{node}/{}: {e}", p.name)))?;
                        break;
                    }
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        // A daemon that exits (bad configuration, no /dev/net/tun) will never
                        // answer: say why now, from its log, instead of after `converge`.
                        if !self.backend.is_running(id) {
                            return Err(BackendError(format!(
                                "{node}/{}: exited before serving its control socket; the end of {}:\n{}",
                                p.name,
                                dir.join(format!("{}.log", p.name)).display(),
                                log_tail(&dir.join(format!("{}.log", p.name)), 5)
                            )));
                        }
                    }
                }
            }
            let task = daemons::follow(
                self.socket(node),
                node.to_string(),
                self.rec.clone(),
                self.events.clone(),
            );
            self.daemon_tasks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(task);
        }
        self.procs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((node.to_string(), p.name.clone()), Proc { id, spec: p });
        Ok(())
    }
}

/// The last `n` lines of a log file (empty when it cannot be read).
fn log_tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Resolves a probe's destination address: its `to_address`, or the `to` node's first
/// address (IPv4 preferred), and the node that receives.
fn probe_destination(s: &Scenario, p: &crate::model::Probe) -> Option<(String, IpAddr)> {
    let t = &s.topology;
    if let Some(addr) = p.to_address {
        let owner = t
            .nodes
            .iter()
            .find(|n| t.addresses(n.name()).iter().any(|a| a.addr.addr() == addr))?;
        return Some((owner.name().to_string(), addr));
    }
    let to = p.to.as_ref()?;
    let addrs = t.addresses(to);
    let pick = addrs
        .iter()
        .find(|a| a.addr.addr().is_ipv4())
        .or(addrs.first())?;
    Some((to.clone(), pick.addr.addr()))
}

/// A random-enough probe id: distinct per probe and per run.
fn probe_id(i: usize) -> u32 {
    let t = netns::clock::monotonic_ns();
    ((t ^ (t >> 29) ^ u64::from(std::process::id()) << 7) as u32)
        .wrapping_add((i as u32).wrapping_mul(0x9e37_79b9))
}

/// Runs `scenario` on `backend` until done or until `stop` turns true; always tears down.
pub async fn run<B: Backend>(
    scenario: &Scenario,
    backend: Arc<B>,
    opts: RunOptions,
    recorder: Recorder,
    stop: watch::Receiver<bool>,
) -> RunRecord {
    run_mode(scenario, backend, opts, recorder, stop, Mode::Timeline).await
}

/// Brings `scenario` up and holds it for people ([`live`]) instead of playing its timeline,
/// until `stop` turns true; always tears down.
pub async fn hold<B: Backend>(
    scenario: &Scenario,
    backend: Arc<B>,
    opts: RunOptions,
    recorder: Recorder,
    stop: watch::Receiver<bool>,
    hooks: live::Hooks,
) -> RunRecord {
    run_mode(scenario, backend, opts, recorder, stop, Mode::Live(hooks)).await
}

/// A chaos campaign on `scenario`'s topology (its timeline and expectations are not played):
/// see [`crate::chaos`]. Progress lines go to `say`; the report holds every fault, the
/// violations and (after teardown) anything the lab left behind.
pub async fn run_chaos<B: Backend>(
    scenario: &Scenario,
    backend: Arc<B>,
    opts: RunOptions,
    recorder: Recorder,
    stop: watch::Receiver<bool>,
    campaign: &crate::chaos::Campaign,
    say: &(dyn Fn(&str) + Send + Sync),
) -> (RunRecord, crate::chaos::CampaignReport) {
    let report = Mutex::new(crate::chaos::CampaignReport {
        scenario: scenario.meta.name.clone(),
        lab: opts.lab.clone(),
        seed: campaign.seed,
        profile: format!("{:?}", scenario.timing.profile).to_lowercase(),
        from_fault: campaign.from_fault,
        overlap: campaign.overlap.max(1),
        ..Default::default()
    });
    let record = run_mode(
        scenario,
        backend,
        opts,
        recorder,
        stop,
        Mode::Chaos((campaign, &report, say)),
    )
    .await;
    let mut report = report.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = &record.error {
        report.stopped.get_or_insert_with(|| e.clone());
    }
    (record, report)
}

/// A campaign to drive instead of the timeline: its options, its report, its progress lines.
type ChaosMode<'a> = (
    &'a crate::chaos::Campaign,
    &'a Mutex<crate::chaos::CampaignReport>,
    &'a (dyn Fn(&str) + Send + Sync),
);

/// What the main phase does once the lab is up.
enum Mode<'a> {
    /// Play the timeline and judge the expectations.
    Timeline,
    /// Hold the lab for people ([`live`]).
    Live(live::Hooks),
    /// Drive a chaos campaign instead of the timeline.
    Chaos(ChaosMode<'a>),
}

async fn run_mode<B: Backend>(
    scenario: &Scenario,
    backend: Arc<B>,
    opts: RunOptions,
    recorder: Recorder,
    mut stop: watch::Receiver<bool>,
    mode: Mode<'_>,
) -> RunRecord {
    let started_ns = netns::clock::monotonic_ns();
    let mut ctx = Ctx {
        scenario,
        backend: backend.clone(),
        opts: opts.clone(),
        rec: recorder.clone(),
        t0_ns: started_ns,
        probes: BTreeMap::new(),
        cuts: Mutex::new(Vec::new()),
        procs: Mutex::new(BTreeMap::new()),
        events: broadcast::channel(4096).0,
        results: Mutex::new(BTreeMap::new()),
        daemon_tasks: Mutex::new(Vec::new()),
    };
    for e in &scenario.expectations {
        ctx.results
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                e.name.clone(),
                ExpectationRecord {
                    name: e.name.clone(),
                    check: checks::describe(&e.check),
                    outcome: Outcome::NotRun,
                    started_ns: None,
                    decided_ns: None,
                    detail: String::new(),
                },
            );
    }
    let chaos = match &mode {
        Mode::Chaos(c) => Some(*c),
        _ => None,
    };
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let mut interrupted = false;
    let error = tokio::select! {
        r = main_phase(&mut ctx, mode) => r.err(),
        _ = stopped => {
            interrupted = true;
            Some("interrupted: tearing down".to_string())
        }
    };
    if let Some(e) = &error {
        recorder.record(EventSource::Engine, "lab", "error", e.clone());
    }
    // Probes: stop sending (if the run ended early), let packets in flight arrive, analyse.
    if ctx.probes.values().any(|p| p.is_sending()) {
        for p in ctx.probes.values() {
            p.stop_sending();
        }
        tokio::time::sleep(DRAIN).await;
    }
    let probes: Vec<ProbeRecord> = scenario
        .probes
        .iter()
        .filter_map(|p| {
            let running = ctx.probes.get(&p.name)?;
            let log = probe::lock(&running.log);
            Some(ProbeRecord {
                name: p.name.clone(),
                kind: format!("{:?}", p.kind).to_lowercase(),
                path: match p.kind {
                    crate::model::ProbeKind::Icmp => {
                        format!("{} -> {}", p.from, running.spec.dst.ip())
                    }
                    _ => format!("{} -> {}", p.from, running.spec.dst),
                },
                rate: p.rate(),
                start_ns: log.sends.first().copied().unwrap_or(started_ns),
                stop_ns: log.sends.last().copied().unwrap_or(started_ns),
                loss: log.analyse(running.spec.interval()),
            })
        })
        .collect();
    for p in &probes {
        for w in &p.loss.windows {
            recorder.record_at(
                w.start_ns,
                EventSource::Probe,
                &p.name,
                "loss",
                format!(
                    "lost {} packets for {}{}",
                    w.lost,
                    crate::report::record::fmt_len(w.duration_ns()),
                    if w.open { " (until the end)" } else { "" }
                ),
            );
        }
    }
    drop(std::mem::take(&mut ctx.probes));
    for t in ctx
        .daemon_tasks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
    {
        t.abort();
    }
    let before = chaos.is_some().then(|| what_to_check(&ctx));
    let teardown = backend.teardown().await;
    if let (Some((campaign, report, _)), Some(before)) = (chaos, before) {
        let left = leftovers(&before);
        let mut r = report.lock().unwrap_or_else(|p| p.into_inner());
        for l in left {
            r.violations.push(crate::chaos::Violation {
                fault: None,
                invariant: "leftover".into(),
                detail: l,
                replay: campaign.replay(campaign.from_fault),
            });
        }
    }
    let error = match (error, teardown) {
        (e, Ok(())) => e,
        (None, Err(t)) => Some(format!("teardown: {t}")),
        (Some(e), Err(t)) => Some(format!("{e}; teardown: {t}")),
    };
    recorder.record(EventSource::Engine, "lab", "teardown", "lab removed");
    recorder.finish();
    let results = ctx.results.into_inner().unwrap_or_else(|p| p.into_inner());
    RunRecord {
        scenario: scenario.meta.name.clone(),
        file: scenario.file.clone(),
        lab: opts.lab.clone(),
        started_ns,
        t0_ns: ctx.t0_ns,
        ended_ns: netns::clock::monotonic_ns(),
        events: recorder.events(),
        probes,
        expectations: scenario
            .expectations
            .iter()
            .filter_map(|e| results.get(&e.name).cloned())
            .collect(),
        error,
        interrupted,
    }
}

/// What a lab holds that teardown must remove: its namespaces' pins and its processes' ids.
struct Held {
    pins: Vec<(String, PathBuf)>,
    pids: Vec<(String, u32)>,
}

fn what_to_check<B: Backend>(ctx: &Ctx<'_, B>) -> Held {
    Held {
        pins: ctx
            .scenario
            .topology
            .nodes
            .iter()
            .filter_map(|n| Some((n.name().to_string(), ctx.backend.netns_path(n.name())?)))
            .collect(),
        pids: ctx
            .procs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|((node, name), p)| {
                Some((format!("{node}/{name}"), ctx.backend.pid(p.id)?))
            })
            .collect(),
    }
}

/// What teardown left of `held`: a namespace pin still there (TUN devices and nftables tables
/// live in the namespaces, so they go with them), a process still alive (not a zombie).
fn leftovers(held: &Held) -> Vec<String> {
    let mut out = Vec::new();
    for (node, p) in &held.pins {
        if p.exists() {
            out.push(format!("namespace of {node} left at {}", p.display()));
        }
    }
    for (name, pid) in &held.pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Field 3, after the parenthesised command: the state; Z is a zombie, dead already.
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next());
        if matches!(state, Some(s) if s != "Z" && s != "X") {
            out.push(format!("process {name} (pid {pid}) still runs"));
        }
    }
    out
}

async fn main_phase<B: Backend>(ctx: &mut Ctx<'_, B>, mode: Mode<'_>) -> Result<(), String> {
    let s = ctx.scenario;
    let plan = plan::plan(&s.topology).map_err(|e| e.to_string())?;
    let rec = ctx.rec.clone();
    let b = ctx.backend.clone();
    // Wave 1: namespaces.
    let names: Vec<String> = plan.nodes.iter().map(|n| n.name.clone()).collect();
    rec.say(&format!(
        "bringing up lab {} ({} nodes, {} links)",
        ctx.opts.lab,
        names.len(),
        plan.links.len()
    ));
    let own: Vec<String> = plan
        .nodes
        .iter()
        .filter(|n| n.container.is_none())
        .map(|n| n.name.clone())
        .collect();
    b.create_nodes(&own).await.map_err(|e| e.to_string())?;
    for n in &plan.nodes {
        if let Some(c) = &n.container {
            b.adopt_container(&n.name, c)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    // Wave 2: links.
    for r in join_all(plan.links.iter().map(|l| b.create_link(l))).await {
        r.map_err(|e| e.to_string())?;
    }
    // Wave 3: forwarding and routes, per node in parallel.
    let per_node = plan.nodes.iter().map(|n| {
        let b = b.clone();
        async move {
            if n.setup.forwarding {
                b.set_forwarding(&n.name).await?;
            }
            for r in &n.setup.routes {
                b.add_route(&n.name, r).await?;
            }
            for ifname in &n.masquerade {
                b.masquerade(&n.name, ifname).await?;
            }
            Ok::<(), BackendError>(())
        }
    });
    for r in join_all(per_node).await {
        r.map_err(|e| e.to_string())?;
    }
    // Waves 4+: processes by dependency level.
    for wave in &plan.process_waves {
        for r in join_all(wave.iter().map(|n| ctx.start_processes(n))).await {
            r.map_err(|e| e.to_string())?;
        }
    }
    rec.record(
        EventSource::Engine,
        "lab",
        "up",
        format!("{} namespaces, {} links", names.len(), plan.links.len()),
    );
    // Probes.
    let runner: Arc<dyn probe::NsRunner> = b.clone();
    for (i, p) in s.probes.iter().enumerate() {
        let (to_node, ip) = probe_destination(s, p)
            .ok_or_else(|| format!("probe {}: no destination address", p.name))?;
        let spec = ProbeSpec {
            name: p.name.clone(),
            from: p.from.clone(),
            to_node,
            dst: SocketAddr::new(ip, p.port()),
            rate: p.rate(),
            probe_id: probe_id(i),
        };
        let running = probe::start(p.kind, spec, runner.clone())
            .await
            .map_err(|e| e.to_string())?;
        ctx.probes.insert(p.name.clone(), running);
    }
    // Converge: every probe delivers, or the `converge` timer passes.
    let since = netns::clock::monotonic_ns();
    let deadline = since + ctx.timer("converge").as_nanos() as u64;
    loop {
        let waiting: Vec<&str> = ctx
            .probes
            .iter()
            .filter(|(_, p)| !p.delivered_since(since))
            .map(|(n, _)| n.as_str())
            .collect();
        if waiting.is_empty() {
            break;
        }
        if netns::clock::monotonic_ns() >= deadline {
            rec.record(
                EventSource::Engine,
                "lab",
                "not_converged",
                format!(
                    "after {}, not delivering: {}",
                    crate::duration::human(ctx.timer("converge")),
                    waiting.join(", ")
                ),
            );
            break;
        }
        rec.status(&format!("converging: waiting for {}", waiting.join(", ")));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ctx.t0_ns = netns::clock::monotonic_ns();
    rec.set_t0(ctx.t0_ns);
    rec.record(
        EventSource::Engine,
        "timeline",
        "start",
        format!(
            "converged in {}",
            crate::report::record::fmt_len(ctx.t0_ns - since)
        ),
    );
    let ctx: &Ctx<'_, B> = ctx;
    match mode {
        Mode::Live(hooks) => return live::serve(ctx, hooks).await,
        Mode::Chaos((campaign, report, say)) => {
            let r = chaos::campaign(ctx, campaign, report, say).await;
            for p in ctx.probes.values() {
                p.stop_sending();
            }
            return r;
        }
        Mode::Timeline => {}
    }
    // Everything that is not an `End` expectation must finish before `End` ones fire.
    let not_end: Vec<String> = s
        .timeline
        .iter()
        .map(|e| e.name.clone())
        .chain(
            s.expectations
                .iter()
                .filter(|e| e.when != When::End)
                .map(|e| e.name.clone()),
        )
        .collect();
    let status = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            ctx.rec.status(&status_line(ctx));
        }
    };
    let work = async {
        let acts = s.timeline.iter().map(|e| actions::play(ctx, e, &not_end));
        let exps = s
            .expectations
            .iter()
            .filter(|e| e.when != When::End)
            .map(|e| checks::expect(ctx, e, &not_end));
        futures::join!(join_all(acts), join_all(exps));
        // The end: probes run a little longer, stop, drain; then `End` expectations judge the
        // whole run.
        tokio::time::sleep(ctx.timer("linger")).await;
        for p in ctx.probes.values() {
            p.stop_sending();
        }
        tokio::time::sleep(DRAIN).await;
        let ends = s
            .expectations
            .iter()
            .filter(|e| e.when == When::End)
            .map(|e| checks::expect(ctx, e, &not_end));
        join_all(ends).await;
    };
    tokio::select! {
        _ = work => {}
        _ = status => {}
    }
    Ok(())
}

fn status_line<B: Backend>(ctx: &Ctx<'_, B>) -> String {
    let t = (netns::clock::monotonic_ns() as f64 - ctx.t0_ns as f64) / 1e9;
    let now = netns::clock::monotonic_ns().saturating_sub(300_000_000);
    let probes: Vec<String> = ctx
        .probes
        .iter()
        .map(|(n, p)| format!("{n} {}", if p.delivered_since(now) { "ok" } else { "LOSS" }))
        .collect();
    let results = ctx.results.lock().unwrap_or_else(|e| e.into_inner());
    let pass = results
        .values()
        .filter(|r| r.outcome == Outcome::Passed)
        .count();
    let fail = results
        .values()
        .filter(|r| r.outcome == Outcome::Failed)
        .count();
    format!(
        "t={t:+.1}s  {}  expectations: {pass} passed, {fail} failed, {} pending",
        probes.join("  "),
        results.len() - pass - fail
    )
}
