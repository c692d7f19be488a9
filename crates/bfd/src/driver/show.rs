//! What the driver reports: the current status of a session (published on a `watch`), state
//! change events (on a `broadcast`), and the counters and parameters `show` answers with. All
//! serde-serializable for the control socket.
//!
//! What it does not do: transport, or anything a client should decide (see
//! [`crate::session::Transition::is_failure`]).

use std::net::IpAddr;

use serde::Serialize;

use crate::session::{Stats, Timers, Transition};
use crate::wire::{Diag, State, WireError};

/// A session's state as clients watch it ([`super::SessionHandle::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Status {
    /// bfd.SessionState.
    pub state: State,
    /// bfd.RemoteSessionState.
    pub remote_state: State,
    /// bfd.LocalDiag.
    pub local_diag: Diag,
    /// Diag of the last packet received.
    pub remote_diag: Diag,
    /// bfd.LocalDiscr.
    pub local_discriminator: u32,
    /// bfd.RemoteDiscr.
    pub remote_discriminator: u32,
}

/// One state change of one session, as broadcast to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Event {
    /// CLOCK_MONOTONIC nanoseconds (docs/design.md: the one time axis of every process).
    pub t_ns: u64,
    /// Our address.
    pub local: IpAddr,
    /// The peer's address.
    pub peer: IpAddr,
    /// bfd.LocalDiscr.
    pub local_discriminator: u32,
    /// What changed.
    pub transition: Transition,
    /// [`Transition::is_failure`]: whether a client (BGP) should tear down (RFC 5882).
    pub failure: bool,
}

/// Received packets dropped as malformed, by [`WireError::reason`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DropCounters {
    /// Shorter than the fixed header.
    pub truncated: u64,
    /// Version not 1.
    pub bad_version: u64,
    /// Length below 24 (26 with A).
    pub bad_length: u64,
    /// Length beyond the UDP payload.
    pub length_exceeds_payload: u64,
    /// Detect Mult 0.
    pub zero_detect_mult: u64,
    /// Multipoint bit set.
    pub multipoint: u64,
    /// My Discriminator 0.
    pub zero_my_discriminator: u64,
    /// Your Discriminator 0 in Init or Up.
    pub zero_your_discriminator: u64,
    /// Authentication section of the wrong length.
    pub bad_auth_length: u64,
    /// A bit set: we do not authenticate.
    pub auth_not_configured: u64,
}

impl DropCounters {
    /// Counts one drop.
    pub fn count(&mut self, e: &WireError) {
        let c = match e {
            WireError::Truncated { .. } => &mut self.truncated,
            WireError::BadVersion(_) => &mut self.bad_version,
            WireError::BadLength { .. } => &mut self.bad_length,
            WireError::LengthExceedsPayload { .. } => &mut self.length_exceeds_payload,
            WireError::ZeroDetectMult => &mut self.zero_detect_mult,
            WireError::Multipoint => &mut self.multipoint,
            WireError::ZeroMyDiscriminator => &mut self.zero_my_discriminator,
            WireError::ZeroYourDiscriminator(_) => &mut self.zero_your_discriminator,
            WireError::BadAuthLength { .. } => &mut self.bad_auth_length,
            WireError::AuthNotConfigured(_) => &mut self.auth_not_configured,
        };
        *c += 1;
    }

    /// All drops.
    pub fn total(&self) -> u64 {
        self.truncated
            + self.bad_version
            + self.bad_length
            + self.length_exceeds_payload
            + self.zero_detect_mult
            + self.multipoint
            + self.zero_my_discriminator
            + self.zero_your_discriminator
            + self.bad_auth_length
            + self.auth_not_configured
    }
}

/// Counters of one session: the core's and the socket's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SessionCounters {
    /// Packets sent.
    pub tx_packets: u64,
    /// Sends that failed (no route, link down, ...).
    pub tx_errors: u64,
    /// Malformed packets from this session's peer, dropped, by reason.
    pub rx_malformed: DropCounters,
    /// Packets from this session's peer with a TTL / hop limit other than 255 (RFC 5881 §5),
    /// dropped.
    pub rx_bad_ttl: u64,
    /// The core's counters (accepted packets, state changes, Poll Sequences, ...).
    #[serde(flatten)]
    pub core: Stats,
}

/// Everything `show` says about one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionShow {
    /// Our address.
    pub local: IpAddr,
    /// The peer's address.
    pub peer: IpAddr,
    /// Interface the session is bound to.
    pub ifname: Option<String>,
    /// Our UDP source port (49152-65535, RFC 5881 §4).
    pub source_port: u16,
    /// Passive role.
    pub passive: bool,
    /// Current status.
    #[serde(flatten)]
    pub status: Status,
    /// Timers as configured.
    pub timers: Timers,
    /// bfd.DesiredMinTxInterval as advertised now (at least 1 s while not Up), microseconds.
    pub desired_min_tx_us: u32,
    /// bfd.RequiredMinRxInterval as advertised now, microseconds.
    pub required_min_rx_us: u32,
    /// The peer's Desired Min TX, microseconds.
    pub remote_desired_min_tx_us: u32,
    /// bfd.RemoteMinRxInterval, microseconds.
    pub remote_min_rx_us: u32,
    /// The peer's Detect Mult.
    pub remote_detect_mult: u8,
    /// Negotiated transmit interval before jitter, microseconds.
    pub tx_interval_us: u64,
    /// Detection time, microseconds (absent before the first packet).
    pub detection_time_us: Option<u64>,
    /// A Poll Sequence is outstanding.
    pub polling: bool,
    /// Counters.
    pub counters: SessionCounters,
}

/// Counters of one UDP port 3784 listener (packets that reached no session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ListenerCounters {
    /// Datagrams received.
    pub rx_packets: u64,
    /// Malformed packets from addresses that are not a session's peer, by reason.
    pub malformed: DropCounters,
    /// Valid packets that matched no session (§6.8.6: discarded).
    pub no_session: u64,
    /// Packets from addresses that are not a session's peer with a TTL / hop limit other than
    /// 255, dropped.
    pub bad_ttl: u64,
    /// Packets dropped because a session's queue was full.
    pub queue_full: u64,
    /// Receive errors.
    pub recv_errors: u64,
}

/// One listener in `show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ListenerShow {
    /// The address it is bound to (port 3784).
    pub local: IpAddr,
    /// Its counters.
    pub counters: ListenerCounters,
}

/// `show` of a whole [`super::Bfd`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BfdShow {
    /// Sessions, by local then peer address.
    pub sessions: Vec<SessionShow>,
    /// Listeners.
    pub listeners: Vec<ListenerShow>,
}
