//! What the RIB keeps per neighbor: identity, policy options, the negotiated session while it is
//! up, prefix counters, graceful-restart stale state, and the Adj-RIB-Out bookkeeping.
//!
//! Adj-RIB-Out is not a copy of routes: per family it is a bitmap of the table slots advertised
//! to the neighbor plus a cursor into the family's change log (shared by all neighbors). What to
//! send is computed from Loc-RIB when the neighbor drains (see [`super::Rib::take_outgoing`]),
//! so a neighbor costs one bit per prefix, not a route per prefix.
//!
//! What it does not do: sessions (see [`crate::fsm`]).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use super::candidate::PeerInfo;
use super::policy::PeerPolicy;
use crate::wire::Family;

/// The session parameters the RIB needs from an Established session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Both sides do 4-octet ASNs.
    pub four_octet_as: bool,
    /// Negotiated families.
    pub families: Vec<Family>,
    /// Our address on the session if IPv4 (next hop self for IPv4 routes).
    pub local_v4: Option<Ipv4Addr>,
    /// Our address on the session if IPv6 (next hop self for IPv6 routes).
    pub local_v6: Option<Ipv6Addr>,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
}

/// Per-family counters for show output and max-prefix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Prefixes currently received (Adj-RIB-In, filtered included).
    pub received: u32,
    /// Prefixes currently accepted by import policy.
    pub accepted: u32,
    /// Prefixes currently advertised to the neighbor.
    pub advertised: u32,
}

/// A growable bitmap indexed by table slot.
#[derive(Debug, Clone, Default)]
pub struct Bits(Vec<u64>);

impl Bits {
    /// Value of bit `i`.
    #[inline]
    pub fn get(&self, i: u32) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    /// Sets bit `i` to `v`; returns the old value.
    #[inline]
    pub fn set(&mut self, i: u32, v: bool) -> bool {
        let w = (i / 64) as usize;
        if w >= self.0.len() {
            if !v {
                return false;
            }
            self.0.resize(w + 1, 0);
        }
        let mask = 1u64 << (i % 64);
        let old = self.0[w] & mask != 0;
        if v {
            self.0[w] |= mask;
        } else {
            self.0[w] &= !mask;
        }
        old
    }
    /// Clears everything and frees the memory.
    pub fn clear(&mut self) {
        self.0 = Vec::new();
    }
}

/// Adj-RIB-Out of one family: what was advertised, and how far the neighbor has read the
/// family's change log and (during an initial dump or a route refresh) the table.
#[derive(Debug, Default)]
pub struct AdjOut {
    /// Slots currently advertised.
    pub advertised: Bits,
    /// Absolute position in the family's change log up to which this neighbor is done.
    pub cursor: u64,
    /// Next slot of a full-table scan in progress (initial dump, ROUTE-REFRESH).
    pub dump: Option<u32>,
    /// Send End-of-RIB once the initial dump has been sent.
    pub eor_pending: bool,
}

/// One neighbor in the RIB.
#[derive(Debug)]
pub struct PeerSlot {
    /// Identity.
    pub info: PeerInfo,
    /// Options.
    pub policy: PeerPolicy,
    /// Set while Established.
    pub session: Option<SessionInfo>,
    /// Counters per family (index: 0 IPv4, 1 IPv6).
    pub counters: [Counters; 2],
    /// Adj-RIB-Out per family.
    pub out: [AdjOut; 2],
    /// RFC 4724: the peer's stale routes go when this passes.
    pub stale_deadline: Option<Instant>,
}

/// Index of a family in per-family arrays.
pub fn fi(f: Family) -> usize {
    match f {
        Family::Ipv4Unicast => 0,
        Family::Ipv6Unicast => 1,
    }
}
