//! One task per neighbor: runs the sans-IO [`Session`] FSM against real connections.
//!
//! ```text
//!            commands (stop, start, refresh, incoming connection)
//!   core ----------------------------------------------------------+
//!    ^                                                             v
//!    |  FromSession (state, up, down, UPDATE batches)      +---------------+
//!    +-----------------------------------------------------| session task  |<-- ConnEvent (reader tasks,
//!                                                          | FSM + timers  |     connect attempts)
//!                                                          +---------------+
//! ```
//!
//! The task turns connection events and timer deadlines into FSM events and carries out the
//! actions: connect, send, close. UPDATE bodies the FSM accepts are forwarded to the core (the
//! RIB) as whole-message chunks, in order with every other message of the session.
//!
//! What it does not do: decode UPDATEs or touch the RIB.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{Instrument, info, info_span, warn};

use super::conn::{self, ConnEvent, ConnTasks, SocketOptions, WriterMsg};
use crate::fsm::{
    Action, AutoStopReason, ConnId, DownReason, Event, Negotiated, Session, SessionConfig,
    StaleRetention, State,
};
use crate::rib::PeerIdx;
use crate::wire::{Family, HEADER_LEN, Message, MessageType, RouteRefresh, frame};

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Commands for a session task.
#[derive(Debug)]
pub enum ToSession {
    /// ManualStart.
    Start,
    /// ManualStop with an RFC 9003 message.
    Stop(Option<String>),
    /// AutomaticStop (max prefix, UPDATE error).
    AutoStop(AutoStopReason),
    /// Send a ROUTE-REFRESH for a family.
    RequestRefresh(Family),
    /// An accepted incoming connection from this neighbor.
    Incoming(TcpStream),
    /// End the task (neighbor removed or speaker shutting down).
    Shutdown(Option<String>),
}

/// What a session task reports to the core.
#[derive(Debug)]
pub enum FromSession {
    /// The FSM changed state.
    State {
        /// Neighbor.
        peer: PeerIdx,
        /// Old.
        from: State,
        /// New.
        to: State,
        /// Why, on a change to Idle.
        reason: Option<DownReason>,
    },
    /// Established.
    Up {
        /// Neighbor.
        peer: PeerIdx,
        /// Negotiated parameters.
        negotiated: Negotiated,
        /// Our address on the session.
        local: SocketAddr,
        /// Where to write UPDATEs.
        data: mpsc::Sender<Vec<u8>>,
    },
    /// Left Established.
    Down {
        /// Neighbor.
        peer: PeerIdx,
        /// Why.
        reason: DownReason,
        /// Graceful restart helper: what to keep.
        retain_stale: Option<StaleRetention>,
    },
    /// Whole UPDATE messages from connection `conn`.
    Updates {
        /// Neighbor.
        peer: PeerIdx,
        /// Connection they came on.
        conn: ConnId,
        /// The messages, headers included.
        bytes: Bytes,
    },
    /// The neighbor asked for our routes again.
    RefreshRequested {
        /// Neighbor.
        peer: PeerIdx,
        /// Family.
        family: Family,
    },
    /// The neighbor sent a NOTIFICATION we want in the log/events (already in Down too).
    ConnectFailed {
        /// Neighbor.
        peer: PeerIdx,
        /// Why.
        error: String,
    },
}

/// Everything a session task needs.
#[derive(Debug)]
pub struct SessionParams {
    /// RIB index.
    pub peer: PeerIdx,
    /// Neighbor name for logs.
    pub name: String,
    /// Neighbor address and port.
    pub remote: SocketAddr,
    /// FSM configuration.
    pub fsm: SessionConfig,
    /// Socket options.
    pub sockets: SocketOptions,
    /// Start administratively down.
    pub start_down: bool,
}

/// Spawns the task.
pub fn spawn(
    p: SessionParams,
    to_core: mpsc::Sender<FromSession>,
    commands: mpsc::Receiver<ToSession>,
) -> tokio::task::JoinHandle<()> {
    let span = info_span!("neighbor", name = %p.name, addr = %p.remote.ip());
    tokio::spawn(run(p, to_core, commands).instrument(span))
}

struct Task {
    p: SessionParams,
    fsm: Session,
    to_core: mpsc::Sender<FromSession>,
    conns: HashMap<ConnId, ConnTasks>,
    events_tx: mpsc::Sender<ConnEvent>,
    updates: BytesMut,
    updates_conn: ConnId,
}

async fn run(
    p: SessionParams,
    to_core: mpsc::Sender<FromSession>,
    mut commands: mpsc::Receiver<ToSession>,
) {
    let (events_tx, mut events_rx) = mpsc::channel::<ConnEvent>(8);
    let fsm = Session::new(p.fsm.clone());
    let start_down = p.start_down;
    let mut t = Task {
        p,
        fsm,
        to_core,
        conns: HashMap::new(),
        events_tx,
        updates: BytesMut::new(),
        updates_conn: 0,
    };
    if !start_down {
        t.event(Event::ManualStart).await;
    }
    loop {
        let deadline = t.fsm.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            cmd = commands.recv() => match cmd {
                Some(ToSession::Shutdown(msg)) => {
                    t.event(Event::ManualStop { message: msg }).await;
                    for c in t.conns.values() { c.close(); }
                    return;
                }
                None => {
                    t.event(Event::ManualStop { message: None }).await;
                    // Give the writer tasks a moment to flush the NOTIFICATION.
                    for c in t.conns.values() { c.close(); }
                    return;
                }
                Some(ToSession::Start) => t.event(Event::ManualStart).await,
                Some(ToSession::Stop(m)) => t.event(Event::ManualStop { message: m }).await,
                Some(ToSession::AutoStop(r)) => t.event(Event::AutomaticStop(r)).await,
                Some(ToSession::RequestRefresh(f)) => t.send_refresh(f),
                Some(ToSession::Incoming(stream)) => t.incoming(stream).await,
            },
            Some(ev) = events_rx.recv() => t.conn_event(ev).await,
            _ = sleep => {
                let actions = t.fsm.handle_timeouts(Instant::now());
                t.apply(actions, None).await;
            }
        }
    }
}

impl Task {
    async fn event(&mut self, e: Event<'_>) {
        let actions = self.fsm.handle(Instant::now(), e);
        self.apply(actions, None).await;
    }

    fn send_refresh(&mut self, family: Family) {
        let Some(n) = self.fsm.negotiated() else {
            return;
        };
        if !n.route_refresh || !n.families.contains(&family) {
            warn!(
                ?family,
                "neighbor did not negotiate route refresh for this family"
            );
            return;
        }
        if let Some(c) = self.conns.get(&n.conn) {
            let mut b = Vec::new();
            RouteRefresh::encode(family, &mut b);
            let _ = c.prio.send(WriterMsg::Bytes(b));
        }
    }

    async fn incoming(&mut self, stream: TcpStream) {
        let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
        let ipv6 = self.p.remote.is_ipv6();
        if let Err(e) = conn::apply_ttl(&stream, ipv6, &self.p.sockets) {
            warn!(error = %e, "cannot set TTL on incoming connection");
        }
        let _ = stream.set_nodelay(true);
        match conn::spawn(id, stream, self.events_tx.clone()) {
            Ok(c) => {
                self.conns.insert(id, c);
                self.event(Event::TcpConnectionConfirmed(id)).await;
            }
            Err(e) => warn!(error = %e, "incoming connection unusable"),
        }
    }

    async fn conn_event(&mut self, ev: ConnEvent) {
        match ev {
            ConnEvent::Connected(id, stream) => {
                match conn::spawn(id, stream, self.events_tx.clone()) {
                    Ok(c) => {
                        self.conns.insert(id, c);
                        self.event(Event::TcpConnectionAcked(id)).await;
                    }
                    Err(_) => self.event(Event::TcpConnectionFails(id)).await,
                }
            }
            ConnEvent::ConnectFailed(id, e) => {
                if self.p.sockets.password.is_some() {
                    info!(
                        error = %e,
                        "connect failed (TCP MD5 is configured for this neighbor: a key mismatch \
                         makes the peer's kernel drop the handshake silently, so check both keys)"
                    );
                } else {
                    info!(error = %e, "connect failed");
                }
                let _ = self
                    .to_core
                    .send(FromSession::ConnectFailed {
                        peer: self.p.peer,
                        error: e.to_string(),
                    })
                    .await;
                self.event(Event::TcpConnectionFails(id)).await
            }
            ConnEvent::Closed(id) => {
                self.flush_updates().await;
                if let Some(c) = self.conns.remove(&id) {
                    c.close();
                }
                self.event(Event::TcpConnectionFails(id)).await
            }
            ConnEvent::FramingError(id, e) => {
                self.flush_updates().await;
                let actions = self.fsm.handle(Instant::now(), Event::Message(id, Err(e)));
                self.apply(actions, None).await;
            }
            ConnEvent::Data(id, bytes) => {
                let mut buf = &bytes[..];
                let mut offset = 0;
                while let Ok(Some(f)) = frame(buf) {
                    let msg_bytes = bytes.slice(offset..offset + f.len);
                    let decoded = Message::decode(f, &buf[..f.len]);
                    if f.kind != MessageType::Update {
                        // Anything else may change state: UPDATEs before it go first.
                        self.flush_updates().await;
                    }
                    let actions = self.fsm.handle(Instant::now(), Event::Message(id, decoded));
                    self.apply(actions, Some((id, msg_bytes))).await;
                    offset += f.len;
                    buf = &buf[f.len..];
                }
                self.flush_updates().await;
            }
        }
    }

    async fn flush_updates(&mut self) {
        if self.updates.is_empty() {
            return;
        }
        let bytes = self.updates.split().freeze();
        let _ = self
            .to_core
            .send(FromSession::Updates {
                peer: self.p.peer,
                conn: self.updates_conn,
                bytes,
            })
            .await;
    }

    async fn apply(&mut self, actions: Vec<Action>, current: Option<(ConnId, Bytes)>) {
        for a in actions {
            match a {
                Action::Connect => {
                    let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
                    let remote = self.p.remote;
                    let opts = self.p.sockets.clone();
                    let timeout = self.p.fsm.connect_retry.max(Duration::from_secs(1));
                    let tx = self.events_tx.clone();
                    tokio::spawn(async move {
                        let ev = match conn::connect(remote, &opts, timeout).await {
                            Ok(s) => ConnEvent::Connected(id, s),
                            Err(e) => ConnEvent::ConnectFailed(id, e),
                        };
                        let _ = tx.send(ev).await;
                    });
                }
                Action::Send(id, bytes) => {
                    if let Some(c) = self.conns.get(&id) {
                        let _ = c.prio.send(WriterMsg::Bytes(bytes));
                    }
                }
                Action::Close(id) => {
                    if let Some(c) = self.conns.remove(&id) {
                        c.close();
                    }
                }
                Action::Timer(..) => {}
                Action::StateChange { from, to, reason } => {
                    self.flush_updates().await;
                    let _ = self
                        .to_core
                        .send(FromSession::State {
                            peer: self.p.peer,
                            from,
                            to,
                            reason,
                        })
                        .await;
                }
                Action::Established(n) => {
                    let Some(c) = self.conns.get(&n.conn) else {
                        continue;
                    };
                    info!(hold = n.hold_time, families = ?n.families, "session established");
                    let up = FromSession::Up {
                        peer: self.p.peer,
                        local: c.local,
                        data: c.data.clone(),
                        negotiated: n,
                    };
                    let _ = self.to_core.send(up).await;
                }
                Action::Down {
                    reason,
                    retain_stale,
                } => {
                    self.flush_updates().await;
                    info!(%reason, "session down");
                    let _ = self
                        .to_core
                        .send(FromSession::Down {
                            peer: self.p.peer,
                            reason,
                            retain_stale,
                        })
                        .await;
                }
                Action::ProcessUpdate => {
                    if let Some((id, bytes)) = &current {
                        if self.updates_conn != *id && !self.updates.is_empty() {
                            self.flush_updates().await;
                        }
                        self.updates_conn = *id;
                        debug_assert!(bytes.len() >= HEADER_LEN);
                        self.updates.extend_from_slice(bytes);
                    }
                }
                Action::RouteRefreshRequested(family) => {
                    self.flush_updates().await;
                    let _ = self
                        .to_core
                        .send(FromSession::RefreshRequested {
                            peer: self.p.peer,
                            family,
                        })
                        .await;
                }
            }
        }
    }
}
