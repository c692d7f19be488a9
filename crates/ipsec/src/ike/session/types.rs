//! The inputs, outputs and events of the sans-IO IKE session.
//!
//! What it does not do: any I/O. The driver turns [`Action::Send`] into a UDP send (adding the
//! non-ESP marker on port 4500), CHILD_SA actions into data-plane calls, and events into the
//! control socket's event stream.

use std::net::SocketAddr;
use std::time::Instant;

use crate::crypto::cipher::Cipher;
use crate::ike::config::DpdAction;
use crate::ike::suite::{EspSuite, IkeSuite};
use crate::ike::wire::{Identity, NotifyType, TrafficSelector};
use secret::Secret;

/// Which of the two IKE ports a datagram uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP 500, plain IKE.
    Ike,
    /// UDP 4500 with the non-ESP marker (RFC 3948 §2.2), shared with ESP in UDP.
    NatT,
}

impl Transport {
    /// The UDP port.
    pub fn port(self) -> u16 {
        match self {
            Transport::Ike => 500,
            Transport::NatT => 4500,
        }
    }
}

/// Something that happened to the session, from the outside.
#[derive(Debug)]
pub enum Input<'a> {
    /// An IKE message (after the non-ESP marker, if any) from `from`, received on `transport`.
    Datagram {
        /// The IKE message.
        data: &'a [u8],
        /// Its source.
        from: SocketAddr,
        /// The port it arrived on.
        transport: Transport,
    },
    /// The time returned by `poll_timeout` has come.
    Timeout,
    /// Initiate an IKE SA now (startup action `start`, or an operator command).
    Initiate,
    /// Rekey the CHILD_SA now (operator command).
    RekeyChild,
    /// Rekey the IKE SA now (operator command).
    RekeyIke,
    /// The data plane reports that a CHILD_SA reached a soft limit (sequence numbers, bytes,
    /// packets): rekey it.
    ChildSoftLimit {
        /// Our inbound or outbound SPI of the SA.
        spi: u32,
    },
    /// The data plane received protected traffic at this time (DPD only probes when nothing
    /// protected arrived, RFC 7296 §2.4).
    EspInbound(Instant),
    /// Delete the IKE SA and its CHILD_SAs (INFORMATIONAL DELETE, RFC 7296 §1.4.1) and start
    /// over as a fresh session would: an initiator (startup `start`) initiates again after its
    /// restart delay, a responder waits for the peer. AWS's tunnel endpoint replacement.
    Reset,
    /// Delete everything and stop (tunnel shutdown).
    Close,
}

/// One direction of a CHILD_SA: SPI, cipher and keying material (AEAD: key || salt; CBC:
/// encryption key || integrity key).
#[derive(Debug, Clone)]
pub struct ChildSaDirection {
    /// The SPI (the receiving side chose it).
    pub spi: u32,
    /// The cipher.
    pub cipher: Cipher,
    /// Key material, zeroized on drop, never printed.
    pub keymat: Secret<Vec<u8>>,
}

/// A new CHILD_SA pair for the data plane.
#[derive(Debug, Clone)]
pub struct NewChildSa {
    /// What we receive with.
    pub inbound: ChildSaDirection,
    /// What we send with.
    pub outbound: ChildSaDirection,
    /// The suite.
    pub suite: EspSuite,
    /// Our selectors.
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's selectors.
    pub remote_ts: Vec<TrafficSelector>,
    /// Inbound SPI of the SA this one replaces (make-before-break), if a rekey.
    pub replaces: Option<u32>,
}

/// What the driver must do.
#[derive(Debug)]
pub enum Action {
    /// Send an IKE message (the driver adds the non-ESP marker for [`Transport::NatT`]).
    Send {
        /// The IKE message.
        datagram: Vec<u8>,
        /// Destination.
        to: SocketAddr,
        /// The port to send from (and so the socket).
        transport: Transport,
    },
    /// Install a CHILD_SA pair. The inbound SA is accepted at once; the outbound one carries
    /// traffic at once only when `activate_outbound` (otherwise after [`Action::SwitchOutbound`]).
    InstallChild {
        /// Keys and SPIs.
        sa: NewChildSa,
        /// Start sending with it now.
        activate_outbound: bool,
    },
    /// Send with this outbound SPI from now on.
    SwitchOutbound {
        /// Our inbound SPI of the pair (identifies it).
        inbound_spi: u32,
    },
    /// Remove a CHILD_SA pair.
    RemoveChild {
        /// Our inbound SPI of the pair.
        inbound_spi: u32,
        /// Its outbound SPI.
        outbound_spi: u32,
    },
    /// Report an event.
    Event(Event),
}

/// Which side raised an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// We refused the peer.
    Local,
    /// The peer refused us.
    Peer,
}

/// Why something failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The PSK (or the identity it is bound to) did not match.
    AuthenticationFailed(Side),
    /// No common proposal (for the IKE SA or a CHILD_SA).
    NoProposalChosen(Side),
    /// The traffic selectors were not acceptable.
    TsUnacceptable(Side),
    /// The peer presented an identity other than the configured one.
    IdentityMismatch {
        /// What it presented.
        presented: String,
    },
    /// A request went unanswered through all retransmissions.
    Timeout,
    /// The peer answered with an error notify we did not expect.
    PeerError(NotifyType),
    /// A message could not be understood or was missing a required payload.
    Malformed(String),
    /// Local crypto failure (random generator).
    Crypto(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = |s: &Side| match s {
            Side::Local => "by us",
            Side::Peer => "by the peer",
        };
        match self {
            Failure::AuthenticationFailed(s) => write!(f, "AUTHENTICATION_FAILED ({})", side(s)),
            Failure::NoProposalChosen(s) => write!(f, "NO_PROPOSAL_CHOSEN ({})", side(s)),
            Failure::TsUnacceptable(s) => write!(f, "TS_UNACCEPTABLE ({})", side(s)),
            Failure::IdentityMismatch { presented } => {
                write!(f, "peer identity {presented} is not the configured one")
            }
            Failure::Timeout => write!(f, "no answer after all retransmissions"),
            Failure::PeerError(n) => write!(f, "peer answered {n}"),
            Failure::Malformed(m) => write!(f, "malformed message: {m}"),
            Failure::Crypto(m) => write!(f, "crypto failure: {m}"),
        }
    }
}

/// What happened, for the control socket's event stream and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The session state changed.
    StateChanged {
        /// Before.
        from: super::State,
        /// After.
        to: super::State,
    },
    /// An IKE SA is authenticated and usable.
    IkeSaEstablished {
        /// Initiator SPI.
        spi_i: u64,
        /// Responder SPI.
        spi_r: u64,
        /// Its suite.
        suite: IkeSuite,
        /// We initiated it.
        initiator: bool,
        /// The peer's identity.
        peer_id: Identity,
        /// A NAT (or forced encapsulation) was detected: IKE and ESP use port 4500.
        nat_t: bool,
    },
    /// The IKE SA was replaced by a rekeyed one.
    IkeSaRekeyed {
        /// Old SPIs.
        old: (u64, u64),
        /// New SPIs.
        new: (u64, u64),
    },
    /// A CHILD_SA pair was installed.
    ChildSaInstalled {
        /// Our inbound SPI.
        inbound_spi: u32,
        /// Our outbound SPI.
        outbound_spi: u32,
        /// Its suite.
        suite: EspSuite,
        /// The inbound SPI of the SA it rekeys.
        rekey_of: Option<u32>,
    },
    /// A CHILD_SA pair was removed.
    ChildSaDeleted {
        /// Our inbound SPI.
        inbound_spi: u32,
        /// Our outbound SPI.
        outbound_spi: u32,
        /// Why.
        reason: String,
    },
    /// An exchange failed.
    Failed {
        /// Which exchange ("IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA", ...).
        exchange: &'static str,
        /// Why.
        failure: Failure,
    },
    /// The liveness check failed (RFC 7296 §2.4).
    PeerDead {
        /// What we do about it.
        action: DpdAction,
    },
    /// The IKE SA was deleted.
    IkeSaDeleted {
        /// Initiator SPI.
        spi_i: u64,
        /// Responder SPI.
        spi_r: u64,
        /// Why.
        reason: String,
    },
}
