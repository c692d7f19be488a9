//! The FSM's vocabulary: states, events, timers, actions and the reasons a session goes down.
//!
//! Event variants carry their RFC 4271 §8.1 event number in the doc comment; the ones we do not
//! implement (6, 7: peer oscillation damping; 14: TcpConnection_Valid, which our listener decides
//! before the FSM sees a connection; 15: Tcp_CR_Invalid, likewise) are listed here so the gap is
//! visible.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::wire::{Family, GracefulRestart, Message, Notification, WireError};

/// Identifies one TCP connection; the driver numbers them.
pub type ConnId = u64;

/// RFC 4271 §8.2.2 session states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum State {
    /// Refuses connections, waits for a start event.
    Idle,
    /// Waiting for an outgoing TCP connection to complete.
    Connect,
    /// Listening for an incoming connection.
    Active,
    /// OPEN sent, waiting for the peer's OPEN.
    OpenSent,
    /// OPENs exchanged, waiting for the first KEEPALIVE.
    OpenConfirm,
    /// Exchanging UPDATEs.
    Established,
}

impl State {
    /// Name as in the RFC.
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Timers the FSM runs (RFC 4271 §8 and §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Timer {
    /// ConnectRetryTimer.
    ConnectRetry,
    /// HoldTimer.
    Hold,
    /// KeepaliveTimer.
    Keepalive,
    /// DelayOpenTimer (optional attribute DelayOpen).
    DelayOpen,
    /// IdleHoldTimer: automatic restart from Idle, with backoff (our reconnect policy).
    IdleHold,
}

/// Why the FSM was asked to stop automatically (event 8).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AutoStopReason {
    /// The peer exceeded the configured maximum number of prefixes (RFC 4486 Cease/1).
    MaxPrefixes {
        /// Family over the limit.
        family: Family,
        /// The configured limit.
        limit: u32,
        /// How long to stay Idle before trying again; `None` stays down until restarted.
        restart_after: Option<Duration>,
    },
    /// An UPDATE error that RFC 7606 leaves as a session reset.
    UpdateError(#[serde(serialize_with = "display")] WireError),
    /// A configuration change that needs a new session (Cease/6).
    ConfigChange,
    /// The neighbor was removed (Cease/3).
    Deconfigured,
}

/// RFC 4271 §8.1 events, plus the ones we add (route refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// Event 1: ManualStart.
    ManualStart,
    /// Event 2: ManualStop, with an optional RFC 9003 shutdown communication.
    ManualStop {
        /// Shutdown communication sent with Cease/2.
        message: Option<String>,
    },
    /// Event 3: AutomaticStart (also what IdleHoldTimer expiry triggers).
    AutomaticStart,
    /// Event 4: ManualStart_with_PassiveTcpEstablishment.
    ManualStartPassive,
    /// Event 5: AutomaticStart_with_PassiveTcpEstablishment.
    AutomaticStartPassive,
    // Events 6 and 7 (damping of peer oscillations) are not implemented: IdleHoldTimer backoff
    // covers the same need.
    /// Event 8: AutomaticStop.
    AutomaticStop(AutoStopReason),
    /// Events 9-13: a timer expired (the driver delivers these from [`super::Session::poll_timeout`]).
    TimerExpired(Timer),
    // Events 14 and 15 (TcpConnection_Valid / Tcp_CR_Invalid): the listener accepts only
    // configured peers, so the FSM never sees an invalid connection.
    /// Event 16: Tcp_CR_Acked (our outgoing connection completed).
    TcpConnectionAcked(ConnId),
    /// Event 17: TcpConnectionConfirmed (an incoming connection was accepted).
    TcpConnectionConfirmed(ConnId),
    /// Event 18: TcpConnectionFails (closed, reset, or connect failed).
    TcpConnectionFails(ConnId),
    /// Events 19-28: a message (or a decoding error, events 21, 22, 28) on a connection.
    Message(ConnId, Result<Message<'a>, WireError>),
}

/// What the driver must do; the FSM never does I/O itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open an outgoing TCP connection to the peer.
    Connect,
    /// Write these bytes (one or more whole messages) on a connection.
    Send(ConnId, Vec<u8>),
    /// Close a connection (after flushing what was sent on it).
    Close(ConnId),
    /// A timer was (re)armed or stopped: for tracing and tests; [`super::Session::poll_timeout`]
    /// is the source of truth.
    Timer(Timer, Option<Instant>),
    /// The state changed.
    StateChange {
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why, on a change to Idle (the same reason `show` reports as the last down).
        reason: Option<DownReason>,
    },
    /// The session reached Established with these parameters; the RIB starts this peer.
    Established(Negotiated),
    /// The session left Established; the RIB removes the peer's routes, or (RFC 4724 helper)
    /// keeps those of some families as stale.
    Down {
        /// Why.
        reason: DownReason,
        /// Graceful restart helper: what to keep, and how long.
        retain_stale: Option<StaleRetention>,
    },
    /// Hand the UPDATE in the event just processed to the RIB.
    ProcessUpdate,
    /// The peer asked for our routes of a family again (RFC 2918).
    RouteRefreshRequested(Family),
}

/// RFC 4724 §4.2: routes of these families are kept, marked stale, for `time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleRetention {
    /// The peer's restart time.
    pub time: Duration,
    /// Families the peer listed in its graceful-restart capability (and that were negotiated).
    pub families: Vec<Family>,
}

/// What the peer and we agreed on in the OPEN exchange.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Negotiated {
    /// The connection the session runs on.
    pub conn: ConnId,
    /// The peer's AS.
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// Negotiated hold time (0: no keepalives).
    pub hold_time: u16,
    /// Keepalive interval in seconds.
    pub keepalive: u16,
    /// Both sides support 4-octet ASNs.
    pub four_octet_as: bool,
    /// Families both sides announced.
    pub families: Vec<Family>,
    /// The peer supports route refresh.
    pub route_refresh: bool,
    /// The peer's graceful-restart capability (we act as helper when present).
    #[serde(skip)]
    pub peer_graceful_restart: Option<GracefulRestart>,
    /// Whether the peer is external.
    pub ebgp: bool,
}

/// Why a session is not (or no longer) up; shown in events and `show`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DownReason {
    /// Stopped by the operator.
    AdminStop {
        /// Shutdown communication, if any.
        message: Option<String>,
    },
    /// Our hold timer expired.
    HoldTimerExpired,
    /// We sent a NOTIFICATION.
    NotificationSent {
        /// Code and subcode as text.
        description: String,
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
    },
    /// The peer sent a NOTIFICATION.
    NotificationReceived {
        /// Code and subcode as text, with any shutdown communication.
        description: String,
        /// Error code.
        code: u8,
        /// Error subcode.
        subcode: u8,
    },
    /// The TCP connection failed or was closed.
    ConnectionFailed,
    /// A connection collision was resolved against this connection.
    Collision,
    /// The peer reconnected while Established (graceful restart).
    PeerRestarted,
}

impl DownReason {
    pub(crate) fn sent(n: &Notification) -> Self {
        DownReason::NotificationSent {
            description: n.describe(),
            code: n.code,
            subcode: n.subcode,
        }
    }
    pub(crate) fn received(n: &Notification) -> Self {
        DownReason::NotificationReceived {
            description: n.describe(),
            code: n.code,
            subcode: n.subcode,
        }
    }
}

impl std::fmt::Display for DownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DownReason::AdminStop { message: Some(m) } => {
                write!(f, "administratively stopped: {m}")
            }
            DownReason::AdminStop { message: None } => f.write_str("administratively stopped"),
            DownReason::HoldTimerExpired => f.write_str("hold timer expired"),
            DownReason::NotificationSent { description, .. } => {
                write!(f, "sent NOTIFICATION {description}")
            }
            DownReason::NotificationReceived { description, .. } => {
                write!(f, "received NOTIFICATION {description}")
            }
            DownReason::ConnectionFailed => f.write_str("TCP connection failed or closed"),
            DownReason::Collision => f.write_str("connection collision"),
            DownReason::PeerRestarted => f.write_str("peer restarted"),
        }
    }
}

fn display<S: serde::Serializer>(e: &WireError, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(e)
}
