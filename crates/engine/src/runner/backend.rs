//! What the engine needs from the system, as one trait: namespaces, links, routes, cuts,
//! processes, teardown. The real implementation ([`super::netns_backend`]) goes through the
//! `netns` crate; tests inject a recording fake, so the engine's ordering, timeline and
//! expectation logic are tested without privileges.
//!
//! What it does not do: decide order or timing (the engine does).

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use crate::kind::{ProcessSpec, StaticRoute};
use crate::model::TrafficMatch;
use crate::probe::NsRunner;
use crate::runner::plan::LinkPlan;

/// A route as read back from a namespace's main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    /// Destination.
    pub dst: IpNet,
    /// Next hops' gateways (empty for a connected route).
    pub gateways: Vec<IpAddr>,
    /// Next hops' devices.
    pub devs: Vec<String>,
}

impl std::fmt::Display for RouteView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.dst)?;
        for g in &self.gateways {
            write!(f, " via {g}")?;
        }
        for d in &self.devs {
            write!(f, " dev {d}")?;
        }
        Ok(())
    }
}

/// Identifies an installed cut, to restore exactly that one.
pub type CutId = u64;

/// Identifies a spawned process.
pub type ProcId = u64;

/// A system failure, with the object and operation named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

impl BackendError {
    /// Wraps any error with what was being done.
    pub fn ctx(what: impl std::fmt::Display, e: impl std::fmt::Display) -> BackendError {
        BackendError(format!("{what}: {e}"))
    }
}

/// See the module documentation. Methods take `&self` and may be called concurrently.
pub trait Backend: NsRunner + Send + Sync + 'static {
    /// Creates the nodes' namespaces (loopback up, ping sockets allowed), all at once.
    fn create_nodes(
        &self,
        nodes: &[String],
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Makes the network namespace of container `container`, which the user runs, node `node`'s
    /// (the container must be running); teardown releases it and never touches the container.
    fn adopt_container(
        &self,
        node: &str,
        container: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send {
        let what = format!("adopting container {container} as {node}");
        async move { Err(BackendError::ctx(what, "this backend has no containers")) }
    }

    /// Creates a link: the veth pair directly in both namespaces, MTU, addresses, up.
    fn create_link(&self, link: &LinkPlan)
    -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Turns IPv4/IPv6 forwarding on in `node`.
    fn set_forwarding(&self, node: &str) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Adds (or replaces) a static route in `node`'s main table.
    fn add_route(
        &self,
        node: &str,
        route: &StaticRoute,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Reads `node`'s main routing table.
    fn routes(
        &self,
        node: &str,
    ) -> impl Future<Output = Result<Vec<RouteView>, BackendError>> + Send;

    /// Sets an interface of `node` up or down.
    fn set_link_up(
        &self,
        node: &str,
        ifname: &str,
        up: bool,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Drops matching traffic in `node`, on `ifname` only or on all its interfaces but `lo`.
    fn cut(
        &self,
        node: &str,
        ifname: Option<&str>,
        matching: &TrafficMatch,
    ) -> impl Future<Output = Result<CutId, BackendError>> + Send;

    /// Removes one cut.
    fn restore(&self, cut: CutId) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Source-NATs IPv4 leaving `node` through `ifname` (masquerade, random ports).
    fn masquerade(
        &self,
        node: &str,
        ifname: &str,
    ) -> impl Future<Output = Result<(), BackendError>> + Send {
        let what = format!("masquerading {node}'s {ifname}");
        async move { Err(BackendError::ctx(what, "this backend has no NAT")) }
    }

    /// Makes `node`'s NAT forget every mapping (a conntrack flush: an edge router restarting
    /// its NAT), so each flow's next packet gets a new source port.
    fn reset_nat(&self, node: &str) -> impl Future<Output = Result<(), BackendError>> + Send {
        let what = format!("resetting {node}'s NAT");
        async move { Err(BackendError::ctx(what, "this backend has no NAT")) }
    }

    /// Spawns a process in `node` with its working directory `dir` (files already written).
    fn spawn(&self, node: &str, spec: &ProcessSpec, dir: &Path) -> Result<ProcId, BackendError>;

    /// Whether a spawned process still runs.
    fn is_running(&self, proc: ProcId) -> bool;

    /// The OS process id of a spawned process (for leftover checks after teardown); `None` when
    /// the backend has no such thing (fakes).
    fn pid(&self, proc: ProcId) -> Option<u32> {
        let _ = proc;
        None
    }

    /// SIGKILLs a process and reaps it.
    fn kill(&self, proc: ProcId) -> Result<(), BackendError>;

    /// The path of `node`'s namespace that another process may open to enter it (its pin);
    /// `None` when there is no such file (fake backends).
    fn netns_path(&self, node: &str) -> Option<std::path::PathBuf> {
        let _ = node;
        None
    }

    /// Removes everything of the lab: processes, namespaces (and with them links, routes,
    /// cuts), state. Idempotent; also runs on drop of the real backend.
    fn teardown(&self) -> impl Future<Output = Result<(), BackendError>> + Send;
}
