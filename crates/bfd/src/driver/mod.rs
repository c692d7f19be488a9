//! The tokio driver: UDP sockets (RFC 5881), one task per session, demultiplexing listeners,
//! and the API clients use.
//!
//! ```text
//!            UDP local:3784 (TTL 255 checked)                 UDP local:49152-65535 (TTL 255)
//!   peers ---> listener task (one per local address) ----+        ^
//!                parse, §6.8.6 checks, demux by          |        | Send
//!                Your Discriminator or source address    v        |
//!                                             Delivery (mpsc) -> session task (one per session)
//!   Bfd (API) --add_session--> sockets, registry, task             Session core + deadline
//!   SessionHandle --Command (mpsc)--------------------------------> |   |
//!        <-- watch<Status> -----------------------------------------+   |
//!        <-- broadcast<Event> (every state change, CLOCK_MONOTONIC) ----+
//! ```
//!
//! [`Bfd`] owns the tasks: dropping it (the last clone) aborts them. [`SessionHandle::remove`]
//! ends one session gracefully (AdminDown, one last packet), [`Bfd::shutdown`] all of them.
//! Sockets are opened in the network namespace of the calling thread: a daemon runs inside its
//! node's namespace; a test runs the runtime on a thread inside one.
//!
//! ## Hook for clients (RFC 5882)
//!
//! A client such as BGP subscribes with [`SessionHandle::events`] and, for every [`Event`] with
//! `failure == true` ([`crate::session::Transition::is_failure`]: Up -> Down, *not* caused by
//! the neighbor signaling AdminDown), tears its own session down (RFC 5882 §4.3 for BGP: a
//! Cease; graceful restart interplay per RFC 5882 §4.3.1 is the client's business). On a
//! remote AdminDown BFD goes Down with Diag 3 and `failure == false`: the client keeps its
//! session and relies on its own timers (RFC 5882 §3.2). The client should bring its session
//! up only once BFD is Up if it wants BFD's protection from the start.
//!
//! What it does not do: run inside a namespace of its own choosing, authentication, Echo,
//! multihop, IPv6 link-local peers, or talk to a client itself (no BGP code here).

mod listener;
pub mod show;
mod socket;
mod task;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tracing::{Instrument, info, info_span};

pub use show::{
    BfdShow, DropCounters, Event, ListenerCounters, ListenerShow, SessionCounters, SessionShow,
    Status,
};
pub use socket::{CONTROL_PORT, SOURCE_PORTS, TTL};

use self::listener::{Demux, Route};
use self::task::{Command, SessionTask};
use crate::session::{Config, Input, Session, Timers};

/// A session to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// Our address (the listener and the transmit socket bind to it).
    pub local: IpAddr,
    /// The peer's address (one hop away).
    pub peer: IpAddr,
    /// Interface to bind the transmit socket to (`SO_BINDTODEVICE`).
    #[serde(default)]
    pub ifname: Option<String>,
    /// Desired Min TX, Required Min RX, Detect Mult.
    pub timers: Timers,
    /// Passive role (§6.1): wait for the peer to speak first.
    #[serde(default)]
    pub passive: bool,
    /// Start administratively down.
    #[serde(default)]
    pub admin_down: bool,
}

impl SessionConfig {
    /// An active session between two addresses, not bound to an interface.
    pub fn new(local: IpAddr, peer: IpAddr, timers: Timers) -> SessionConfig {
        SessionConfig {
            local,
            peer,
            ifname: None,
            timers,
            passive: false,
            admin_down: false,
        }
    }
}

/// The driver's errors.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// Local and peer address are of different families.
    #[error("local address {local} and peer {peer} are not of the same family")]
    FamilyMismatch {
        /// Local.
        local: IpAddr,
        /// Peer.
        peer: IpAddr,
    },
    /// A session for this pair exists already.
    #[error("a session {local} -> {peer} exists already")]
    SessionExists {
        /// Local.
        local: IpAddr,
        /// Peer.
        peer: IpAddr,
    },
    /// A socket could not be set up.
    #[error("{what} on {local}: {source}")]
    Socket {
        /// Which socket.
        what: &'static str,
        /// Local address.
        local: IpAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The session (or the whole driver) has stopped.
    #[error("the session has stopped")]
    Stopped,
}

/// Aborts a task when dropped.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug)]
struct ListenerSlot {
    counters: Arc<Mutex<show::ListenerCounters>>,
    sessions: usize,
    _task: AbortOnDrop,
}

#[derive(Debug)]
struct SessionSlot {
    handle: SessionHandle,
    _task: AbortOnDrop,
}

#[derive(Debug, Default)]
struct Registry {
    sessions: HashMap<u32, SessionSlot>,
    listeners: HashMap<IpAddr, ListenerSlot>,
}

#[derive(Debug)]
struct Inner {
    registry: Mutex<Registry>,
    demux: Arc<Mutex<Demux>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// BFD for one process (one network namespace): its sessions and listeners. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Bfd {
    inner: Arc<Inner>,
}

impl Default for Bfd {
    fn default() -> Self {
        Bfd::new()
    }
}

impl Bfd {
    /// No sessions yet. Needs no runtime; [`Bfd::add_session`] does.
    pub fn new() -> Bfd {
        Bfd {
            inner: Arc::new(Inner {
                registry: Mutex::new(Registry::default()),
                demux: Arc::new(Mutex::new(Demux::default())),
            }),
        }
    }

    /// Creates a session: opens the listener for `local` if it is the first session there,
    /// a transmit socket, and the session's task. Must be called within a tokio runtime.
    pub fn add_session(&self, cfg: SessionConfig) -> Result<SessionHandle, DriverError> {
        let (local, peer) = (cfg.local, cfg.peer);
        if local.is_ipv4() != peer.is_ipv4() {
            return Err(DriverError::FamilyMismatch { local, peer });
        }
        let mut reg = lock(&self.inner.registry);
        if lock(&self.inner.demux)
            .by_address
            .contains_key(&(local, peer))
        {
            return Err(DriverError::SessionExists { local, peer });
        }
        let (tx_socket, source_port) =
            socket::transmitter(local, cfg.ifname.as_deref(), rand::random())
                .and_then(|(s, p)| Ok((tokio::net::UdpSocket::from_std(s)?, p)))
                .map_err(|source| DriverError::Socket {
                    what: "transmit socket",
                    local,
                    source,
                })?;
        if let Entry::Vacant(slot) = reg.listeners.entry(local) {
            let socket = socket::listener(local)
                .and_then(tokio::net::UdpSocket::from_std)
                .map_err(|source| DriverError::Socket {
                    what: "listener on UDP port 3784",
                    local,
                    source,
                })?;
            let counters = Arc::new(Mutex::new(show::ListenerCounters::default()));
            let task = tokio::spawn(
                listener::run(socket, local, self.inner.demux.clone(), counters.clone())
                    .instrument(info_span!("bfd_listener", %local)),
            );
            slot.insert(ListenerSlot {
                counters,
                sessions: 0,
                _task: AbortOnDrop(task),
            });
        }
        let discr = loop {
            let d: u32 = rand::random();
            if d != 0 && !reg.sessions.contains_key(&d) {
                break d;
            }
        };
        let now = tokio::time::Instant::now().into_std();
        let mut core = Session::new(
            Config {
                local_discriminator: NonZeroU32::new(discr).unwrap_or(NonZeroU32::MIN),
                timers: cfg.timers,
                passive: cfg.passive,
                jitter_seed: rand::random(),
            },
            now,
        );
        if cfg.admin_down {
            core.handle(now, Input::AdminDown);
        }
        let (packet_tx, packet_rx) = mpsc::channel(64);
        let (command_tx, command_rx) = mpsc::channel(16);
        let (status_tx, status_rx) = watch::channel(task::status_of(&core));
        let (events_tx, _) = broadcast::channel(64);
        let handle = SessionHandle {
            local,
            peer,
            local_discriminator: discr,
            commands: command_tx,
            status: status_rx,
            events: events_tx.clone(),
            bfd: Arc::downgrade(&self.inner),
        };
        let session_task = SessionTask {
            core,
            socket: tx_socket,
            source_port,
            local,
            peer,
            ifname: cfg.ifname.clone(),
            passive: cfg.passive,
            packets: packet_rx,
            commands: command_rx,
            status: status_tx,
            events: events_tx,
            counters: SessionCounters::default(),
        };
        let span = info_span!("bfd", %peer, %local, discriminator = discr);
        let join = tokio::spawn(session_task.run().instrument(span));
        {
            let mut demux = lock(&self.inner.demux);
            demux.by_discriminator.insert(
                discr,
                Route {
                    local,
                    peer,
                    tx: packet_tx,
                },
            );
            demux.by_address.insert((local, peer), discr);
        }
        if let Some(l) = reg.listeners.get_mut(&local) {
            l.sessions += 1;
        }
        reg.sessions.insert(
            discr,
            SessionSlot {
                handle: handle.clone(),
                _task: AbortOnDrop(join),
            },
        );
        info!(%local, %peer, discriminator = discr, source_port, "BFD session created");
        Ok(handle)
    }

    /// Handles of all sessions.
    pub fn sessions(&self) -> Vec<SessionHandle> {
        let mut v: Vec<SessionHandle> = lock(&self.inner.registry)
            .sessions
            .values()
            .map(|s| s.handle.clone())
            .collect();
        v.sort_by_key(|h| (h.local, h.peer));
        v
    }

    /// The session between `local` and `peer`, if any.
    pub fn session(&self, local: IpAddr, peer: IpAddr) -> Option<SessionHandle> {
        let discr = *lock(&self.inner.demux).by_address.get(&(local, peer))?;
        lock(&self.inner.registry)
            .sessions
            .get(&discr)
            .map(|s| s.handle.clone())
    }

    /// Everything: sessions (with their counters) and listeners.
    pub async fn show(&self) -> BfdShow {
        let mut sessions = Vec::new();
        for h in self.sessions() {
            if let Ok(s) = h.show().await {
                sessions.push(s);
            }
        }
        let mut listeners: Vec<ListenerShow> = lock(&self.inner.registry)
            .listeners
            .iter()
            .map(|(local, l)| ListenerShow {
                local: *local,
                counters: *lock(&l.counters),
            })
            .collect();
        listeners.sort_by_key(|l| l.local);
        BfdShow {
            sessions,
            listeners,
        }
    }

    /// Removes every session gracefully (each tells its peer AdminDown once more).
    pub async fn shutdown(&self) {
        for h in self.sessions() {
            let _ = h.remove().await;
        }
    }

    fn unregister(&self, discr: u32) {
        let slot = {
            let mut reg = lock(&self.inner.registry);
            let Some(slot) = reg.sessions.remove(&discr) else {
                return;
            };
            let local = slot.handle.local;
            {
                let mut demux = lock(&self.inner.demux);
                demux.by_discriminator.remove(&discr);
                demux.by_address.remove(&(local, slot.handle.peer));
            }
            if let Some(l) = reg.listeners.get_mut(&local) {
                l.sessions -= 1;
                if l.sessions == 0 {
                    reg.listeners.remove(&local);
                }
            }
            slot
        };
        drop(slot);
    }
}

/// A client's handle on one session. Cheap to clone; the session lives until
/// [`SessionHandle::remove`] or until its [`Bfd`] is dropped, whatever happens to handles.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    local: IpAddr,
    peer: IpAddr,
    local_discriminator: u32,
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<Status>,
    events: broadcast::Sender<Event>,
    bfd: Weak<Inner>,
}

impl SessionHandle {
    /// Our address.
    pub fn local(&self) -> IpAddr {
        self.local
    }

    /// The peer's address.
    pub fn peer(&self) -> IpAddr {
        self.peer
    }

    /// bfd.LocalDiscr.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discriminator
    }

    /// The current status, updated on every change (`changed()` / `wait_for()` on it).
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }

    /// Every state change from now on, in order (a `watch` may skip a short-lived state; this
    /// does not, unless the receiver lags 64 events behind).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// New timers at run time: a Poll Sequence (RFC 5880 §6.8.3) announces them.
    pub async fn set_timers(&self, timers: Timers) -> Result<(), DriverError> {
        self.call(|tx| Command::SetTimers(timers, tx)).await
    }

    /// Administratively disable (AdminDown, Diag 7, RFC 5880 §6.8.16).
    pub async fn admin_down(&self) -> Result<(), DriverError> {
        self.call(Command::AdminDown).await
    }

    /// Administratively enable again (Down, then the usual handshake).
    pub async fn admin_up(&self) -> Result<(), DriverError> {
        self.call(Command::AdminUp).await
    }

    /// Parameters and counters.
    pub async fn show(&self) -> Result<SessionShow, DriverError> {
        self.call(Command::Show).await
    }

    /// Ends the session: AdminDown, one last packet to the peer, then its sockets and task go
    /// (and the listener, if it was the last session on its address).
    pub async fn remove(&self) -> Result<(), DriverError> {
        let r = self.call(Command::Remove).await;
        if let Some(inner) = self.bfd.upgrade() {
            Bfd { inner }.unregister(self.local_discriminator);
        }
        r
    }
}
