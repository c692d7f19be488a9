//! Probes: real traffic between two nodes, sent and received in-process by sockets created
//! inside the nodes' namespaces and driven by the engine's tokio runtime (no extra processes).
//!
//! ```text
//!  src namespace                                   dst namespace
//!  sender task --UDP payload(seq, sent_ns)------->  receiver task --seq--> ProbeLog
//!  (records every send in ProbeLog)                 (UDP socket / TCP listener)
//!
//!  udp:  a stream at `rate` pps (default 1000: 1 ms resolution)
//!  tcp:  a connect attempt per interval; "delivered" = handshake done within the timeout
//!  icmp: an echo request per interval; "delivered" = its reply came back
//! ```
//!
//! All three fill the same [`ProbeLog`] (send times by sequence number, arrivals in order), which
//! [`crate::loss::analyse`] turns into loss windows.
//!
//! What it does not do: create namespaces, or judge results (expectations do).

pub mod icmp;
pub mod tcp;
pub mod udp;
pub mod wire;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::loss::{LossReport, analyse};

/// Runs closures inside a node's network namespace (sockets keep the namespace they were
/// created in). The engine implements it with `netns`; tests may run in the current one.
pub trait NsRunner: Send + Sync {
    /// Runs `f` inside `node`'s namespace.
    fn run_in(&self, node: &str, f: Box<dyn FnOnce() + Send + '_>) -> Result<(), String>;
}

/// Runs `f` in `node`'s namespace and returns its result.
pub fn in_ns<R: Send>(
    runner: &dyn NsRunner,
    node: &str,
    f: impl FnOnce() -> R + Send,
) -> Result<R, ProbeError> {
    let mut slot = None;
    runner
        .run_in(node, Box::new(|| slot = Some(f())))
        .map_err(|e| ProbeError::Namespace(node.to_string(), e))?;
    slot.ok_or_else(|| ProbeError::Namespace(node.to_string(), "closure did not run".into()))
}

/// The current namespace for every node: for tests over loopback.
#[derive(Debug, Clone, Copy)]
pub struct HereRunner;

impl NsRunner for HereRunner {
    fn run_in(&self, _node: &str, f: Box<dyn FnOnce() + Send + '_>) -> Result<(), String> {
        f();
        Ok(())
    }
}

/// Errors of the probe layer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Entering a namespace failed.
    #[error("entering the namespace of {0}: {1}")]
    Namespace(String, String),
    /// A socket operation failed.
    #[error("probe {probe}: {what}: {source}")]
    Socket {
        /// The probe.
        probe: String,
        /// The step.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// What a probe needs to know to run.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    /// Name (for errors and logs).
    pub name: String,
    /// Sending node.
    pub from: String,
    /// Receiving node (where the UDP receiver / TCP listener lives; ICMP needs none).
    pub to_node: String,
    /// Destination.
    pub dst: SocketAddr,
    /// Per second.
    pub rate: u32,
    /// Random per run, so stray packets of another run are not counted.
    pub probe_id: u32,
}

impl ProbeSpec {
    /// Time between sends.
    pub fn interval(&self) -> Duration {
        Duration::from_nanos(1_000_000_000 / u64::from(self.rate.max(1)))
    }
}

/// Everything a probe recorded so far.
#[derive(Debug, Default)]
pub struct ProbeLog {
    /// Send time of each sequence number (index = seq).
    pub sends: Vec<u64>,
    /// Arrived sequence numbers, in arrival order.
    pub arrivals: Vec<u64>,
    /// The latest send time among arrived packets (0: none yet).
    pub newest_delivered_send_ns: u64,
}

/// A probe log shared between its tasks and the engine.
pub type SharedLog = Arc<Mutex<ProbeLog>>;

impl ProbeLog {
    /// Records a send; returns its sequence number.
    pub fn sent(&mut self, t_ns: u64) -> u64 {
        self.sends.push(t_ns);
        (self.sends.len() - 1) as u64
    }

    /// Records an arrival of `seq` sent at `sent_ns`.
    pub fn arrived(&mut self, seq: u64, sent_ns: u64) {
        self.arrivals.push(seq);
        self.newest_delivered_send_ns = self.newest_delivered_send_ns.max(sent_ns);
    }

    /// Whether something sent at or after `since_ns` has arrived.
    pub fn delivered_since(&self, since_ns: u64) -> bool {
        self.newest_delivered_send_ns >= since_ns && self.newest_delivered_send_ns > 0
    }

    /// The loss analysis so far.
    pub fn analyse(&self, interval: Duration) -> LossReport {
        analyse(&self.sends, &self.arrivals, interval.as_nanos() as u64)
    }
}

/// Locks a log; a poisoned lock (a panicked probe task) still holds valid data.
pub fn lock(log: &SharedLog) -> std::sync::MutexGuard<'_, ProbeLog> {
    log.lock().unwrap_or_else(|p| p.into_inner())
}

/// The unspecified address of `dst`'s family, to bind senders and receivers to.
pub fn any_addr(dst: &SocketAddr, port: u16) -> SocketAddr {
    match dst.ip() {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), port),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), port),
    }
}

/// A socket bound to `addr`; an IPv6 one is IPv6-only, so an IPv4 and an IPv6 probe can
/// share a destination port on one node (a dual-stack socket on `[::]` would take the IPv4
/// port too).
pub fn bind_socket(addr: SocketAddr, ty: socket2::Type) -> std::io::Result<socket2::Socket> {
    let domain = socket2::Domain::for_address(addr);
    let sock = socket2::Socket::new(domain, ty, None)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    if ty == socket2::Type::STREAM {
        sock.set_reuse_address(true)?;
    }
    sock.bind(&addr.into())?;
    if ty == socket2::Type::STREAM {
        sock.listen(1024)?;
    }
    Ok(sock)
}

/// A running probe: its log and its tasks (aborted on drop).
#[derive(Debug)]
pub struct Running {
    /// The spec.
    pub spec: ProbeSpec,
    /// Its log.
    pub log: SharedLog,
    /// Receiver tasks.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
    sender: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Running {
    pub(crate) fn new(
        spec: ProbeSpec,
        log: SharedLog,
        sender: tokio::task::JoinHandle<()>,
        others: Vec<tokio::task::JoinHandle<()>>,
    ) -> Running {
        Running {
            spec,
            log,
            tasks: others,
            sender: std::sync::Mutex::new(Some(sender)),
        }
    }

    /// Stops sending; receivers keep listening for packets still in flight.
    pub fn stop_sending(&self) {
        if let Some(s) = self.sender.lock().unwrap_or_else(|p| p.into_inner()).take() {
            s.abort();
        }
    }

    /// Whether the sender still runs.
    pub fn is_sending(&self) -> bool {
        self.sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Whether something sent at or after `since_ns` has arrived.
    pub fn delivered_since(&self, since_ns: u64) -> bool {
        lock(&self.log).delivered_since(since_ns)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_sending();
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts a probe of `kind`.
pub async fn start(
    kind: crate::model::ProbeKind,
    spec: ProbeSpec,
    runner: Arc<dyn NsRunner>,
) -> Result<Running, ProbeError> {
    match kind {
        crate::model::ProbeKind::Udp => udp::start(spec, runner).await,
        crate::model::ProbeKind::Tcp => tcp::start(spec, runner).await,
        crate::model::ProbeKind::Icmp => icmp::start(spec, runner).await,
    }
}

/// A ticker at `interval`. Ticks missed while the runtime was busy fire at once (`Burst`), so
/// the probe keeps its average rate; every send time is recorded as it really was, so a burst
/// does not distort loss windows.
pub(crate) fn ticker(interval: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(interval);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    t
}
