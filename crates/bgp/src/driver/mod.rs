//! The tokio driver: sockets, one task per session, the listener, the RIB task, kernel install,
//! events and show data.
//!
//! ```text
//!                 accept (configured neighbors only)
//!   listener ------------------------------------+
//!                                                v
//!   connect/reader/writer tasks <--> session task (FSM, timers)   x one per neighbor
//!                                     |  ^
//!                  FromSession        v  |  ToSession (stop, start, max-prefix stop, refresh)
//!                                 core task: Rib, decode UPDATEs, exports (backpressure per
//!   Speaker (API) ---- ApiCmd ---->  neighbor), events (broadcast), show
//!                                     |
//!                                     v  FibChange batches
//!                                 kernel thread (netlink, many routes per write)
//! ```
//!
//! The core task is the only owner of the RIB, so the RIB needs no locks; UPDATE bytes reach it
//! in batches of whole messages and are decoded there, once, without per-prefix allocation.
//! Session tasks never block on the RIB: they hand bytes over a channel and keep their timers.
//!
//! What it does not do: policy (a [`crate::rib::Policy`] is passed in) or the control socket
//! transport (see [`control`]).

pub mod config;
pub mod conn;
pub mod control;
pub mod events;
pub mod kernel;
pub mod listener;
mod rib_task;
pub mod session;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, info, warn};

pub use config::{KernelConfig, NeighborConfig, NetworkConfig, SpeakerConfig, Timers};
pub use events::{EventRecord, NeighborStatus, SpeakerEvent, Summary};

use self::conn::SocketOptions;
use self::rib_task::Core;
use self::session::{FromSession, SessionParams, ToSession};
use crate::fsm::{AutoStopReason, ConnId, DownReason, Negotiated, State};
use crate::rib::{
    FibChange, PeerIdx, PeerPolicy, Policy, Rib, RibConfig, RouteView, SessionInfo, UpdateStats,
};
use crate::wire::{DecodeContext, Family, HEADER_LEN, Origin, PathAttrs, Prefix, Update, frame};

/// The driver's errors.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] config::ConfigError),
    /// A listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Kernel route installation could not start.
    #[error("cannot open netlink for kernel routes: {0}")]
    Kernel(std::io::Error),
    /// A neighbor with this address exists already.
    #[error("neighbor {0} is already configured")]
    NeighborExists(IpAddr),
    /// No neighbor with this address.
    #[error("no neighbor {0}")]
    UnknownNeighbor(IpAddr),
    /// The speaker has stopped.
    #[error("the speaker has stopped")]
    Stopped,
}

pub(super) enum ApiCmd {
    Summary(oneshot::Sender<Summary>),
    Neighbors(oneshot::Sender<Vec<NeighborStatus>>),
    Routes(Family, usize, oneshot::Sender<Vec<RouteView>>),
    Route(Prefix, oneshot::Sender<Option<RouteView>>),
    Originate(Prefix, PathAttrs),
    Withdraw(Prefix),
    NeighborCmd(IpAddr, ToSession, oneshot::Sender<Result<(), DriverError>>),
    AddNeighbor(
        Box<NeighborConfig>,
        oneshot::Sender<Result<(), DriverError>>,
    ),
    RemoveNeighbor(IpAddr, oneshot::Sender<Result<(), DriverError>>),
    SetPolicy(
        IpAddr,
        Box<PeerPolicy>,
        oneshot::Sender<Result<(), DriverError>>,
    ),
    Shutdown(oneshot::Sender<()>),
}

/// A running speaker. Dropping it stops everything (sessions send Cease).
#[derive(Debug)]
pub struct Speaker {
    api: mpsc::Sender<ApiCmd>,
    events: broadcast::Sender<EventRecord>,
    local_addrs: Vec<SocketAddr>,
}

impl std::fmt::Debug for ApiCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiCmd")
    }
}

impl Speaker {
    /// Starts the speaker: listeners, kernel installer, one session per neighbor, originated
    /// networks. Must run inside a tokio runtime in the namespace the speaker serves.
    pub async fn start(
        cfg: SpeakerConfig,
        policy: Box<dyn Policy>,
    ) -> Result<Speaker, DriverError> {
        cfg.validate()?;
        let (events, _) = broadcast::channel(8192);
        let mut rib = Rib::new(
            RibConfig {
                local_as: cfg.asn,
                router_id: cfg.router_id,
                max_paths: cfg.max_paths,
                fib: cfg.kernel.is_some(),
            },
            policy,
        );
        for n in &cfg.networks {
            rib.originate(n.prefix, network_attrs(n));
        }
        let routes: listener::Routes = Default::default();
        let keys: Vec<(IpAddr, secret::Secret<String>)> = cfg
            .neighbors
            .iter()
            .filter_map(|n| n.password.clone().map(|p| (n.address, p)))
            .collect();
        let mut local_addrs = Vec::new();
        let mut listeners = Vec::new();
        for addr in &cfg.listen {
            // The interface of the neighbor whose local address this is, if it is bound to one.
            let device = cfg
                .neighbors
                .iter()
                .find(|n| n.local_address == Some(addr.ip()) && n.bind_device.is_some())
                .and_then(|n| n.bind_device.as_deref());
            match listener::bind(*addr, &keys, device) {
                Ok(l) => {
                    local_addrs.push(l.local_addr().unwrap_or(*addr));
                    listeners.push(l);
                }
                // A host without IPv6 keeps the IPv4 listener (inferred: the default listens on both).
                Err(e)
                    if addr.is_ipv6()
                        && cfg.listen.len() > 1
                        && e.kind() == std::io::ErrorKind::AddrNotAvailable =>
                {
                    warn!(%addr, error = %e, "IPv6 listener unavailable")
                }
                Err(source) => {
                    return Err(DriverError::Listen {
                        addr: *addr,
                        source,
                    });
                }
            }
        }
        let listeners: Vec<_> = listeners
            .into_iter()
            .map(|l| tokio::spawn(listener::run(l, routes.clone())))
            .collect();
        let ev = events.clone();
        let kernel = match cfg.kernel {
            Some(k) => Some(
                kernel::spawn(k.table, move |e| emit(&ev, "bgp.kernel", e))
                    .map_err(DriverError::Kernel)?,
            ),
            None => None,
        };
        let (api, api_rx) = mpsc::channel(256);
        // Small on purpose: when the RIB is busy, TCP backpressure (not memory) absorbs the burst.
        let (from_sessions_tx, from_sessions) = mpsc::channel(32);
        let mut core = Core {
            cfg: cfg.clone(),
            rib,
            neighbors: HashMap::new(),
            by_addr: HashMap::new(),
            routes,
            events: events.clone(),
            from_sessions_tx,
            kernel,
            listeners,
        };
        for n in cfg.neighbors.clone() {
            core.add_neighbor(n)?;
        }
        tokio::spawn(core.run(api_rx, from_sessions));
        Ok(Speaker {
            api,
            events,
            local_addrs,
        })
    }

    /// Addresses the listeners are bound to.
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Subscribes to events.
    pub fn subscribe(&self) -> broadcast::Receiver<EventRecord> {
        self.events.subscribe()
    }

    async fn ask<T>(&self, f: impl FnOnce(oneshot::Sender<T>) -> ApiCmd) -> Result<T, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.api
            .send(f(tx))
            .await
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// Speaker-wide summary with every neighbor.
    pub async fn summary(&self) -> Result<Summary, DriverError> {
        self.ask(ApiCmd::Summary).await
    }

    /// Every neighbor's status.
    pub async fn neighbors(&self) -> Result<Vec<NeighborStatus>, DriverError> {
        self.ask(ApiCmd::Neighbors).await
    }

    /// Routes of a family (at most `limit`, sorted by prefix).
    pub async fn routes(
        &self,
        family: Family,
        limit: usize,
    ) -> Result<Vec<RouteView>, DriverError> {
        self.ask(|tx| ApiCmd::Routes(family, limit, tx)).await
    }

    /// One prefix.
    pub async fn route(&self, prefix: Prefix) -> Result<Option<RouteView>, DriverError> {
        self.ask(|tx| ApiCmd::Route(prefix, tx)).await
    }

    /// Originates a prefix (replacing an earlier origination of it).
    pub async fn originate(&self, prefix: Prefix, attrs: PathAttrs) -> Result<(), DriverError> {
        self.api
            .send(ApiCmd::Originate(prefix, attrs))
            .await
            .map_err(|_| DriverError::Stopped)
    }

    /// Stops originating a prefix.
    pub async fn withdraw(&self, prefix: Prefix) -> Result<(), DriverError> {
        self.api
            .send(ApiCmd::Withdraw(prefix))
            .await
            .map_err(|_| DriverError::Stopped)
    }

    async fn neighbor_cmd(&self, addr: IpAddr, cmd: ToSession) -> Result<(), DriverError> {
        self.ask(|tx| ApiCmd::NeighborCmd(addr, cmd, tx)).await?
    }

    /// Administrative shutdown of a session (Cease/2 with `message`, RFC 9003); it stays down.
    pub async fn neighbor_stop(
        &self,
        addr: IpAddr,
        message: Option<String>,
    ) -> Result<(), DriverError> {
        self.neighbor_cmd(addr, ToSession::Stop(message)).await
    }

    /// Starts a stopped session.
    pub async fn neighbor_start(&self, addr: IpAddr) -> Result<(), DriverError> {
        self.neighbor_cmd(addr, ToSession::Start).await
    }

    /// Asks the neighbor to send its routes again (RFC 2918 ROUTE-REFRESH).
    pub async fn route_refresh(&self, addr: IpAddr, family: Family) -> Result<(), DriverError> {
        self.neighbor_cmd(addr, ToSession::RequestRefresh(family))
            .await
    }

    /// Adds a neighbor at run time (its MD5 key needs a listener restart to apply to incoming
    /// connections; outgoing ones use it at once).
    pub async fn add_neighbor(&self, n: NeighborConfig) -> Result<(), DriverError> {
        self.ask(|tx| ApiCmd::AddNeighbor(Box::new(n), tx)).await?
    }

    /// Replaces a neighbor's policy options (export filter, prepend, MED, communities, ...) while
    /// the session stays up; everything is re-advertised under the new options (e.g. AWS lowering
    /// the MED on one tunnel during an endpoint update). Import changes apply to routes received
    /// from then on; ask for a [`route_refresh`](Self::route_refresh) to re-apply them.
    pub async fn set_neighbor_policy(
        &self,
        addr: IpAddr,
        policy: PeerPolicy,
    ) -> Result<(), DriverError> {
        self.ask(|tx| ApiCmd::SetPolicy(addr, Box::new(policy), tx))
            .await?
    }

    /// Removes a neighbor (Cease/3) and its routes.
    pub async fn remove_neighbor(&self, addr: IpAddr) -> Result<(), DriverError> {
        self.ask(|tx| ApiCmd::RemoveNeighbor(addr, tx)).await?
    }

    /// Stops every session (Cease/2 "speaker shutting down") and the speaker.
    pub async fn shutdown(&self) {
        let _ = self.ask(ApiCmd::Shutdown).await;
    }
}

pub(super) fn network_attrs(n: &NetworkConfig) -> PathAttrs {
    PathAttrs {
        origin: Origin::Igp,
        med: n.med,
        communities: n.communities.clone(),
        ..Default::default()
    }
}

pub(super) fn emit(
    events: &broadcast::Sender<EventRecord>,
    kind: &'static str,
    data: SpeakerEvent,
) {
    let _ = events.send(EventRecord {
        t_ns: netns::clock::monotonic_ns(),
        kind,
        data,
    });
}
