//! Events the speaker publishes and the data its `show` answers with (both serde, for the
//! control socket). No secret is part of either: passwords are not copied here at all.
//!
//! What it does not do: transport (see [`super::control`]).

use std::net::IpAddr;

use serde::Serialize;

use crate::fsm::{DownReason, State};
use crate::rib::Counters;
use crate::wire::Family;

/// One event, stamped with CLOCK_MONOTONIC nanoseconds (docs/design.md).
#[derive(Debug, Clone, Serialize)]
pub struct EventRecord {
    /// CLOCK_MONOTONIC in nanoseconds.
    pub t_ns: u64,
    /// `bgp.state`, `bgp.up`, `bgp.down`, `bgp.prefixes`, `bgp.max_prefix`, `bgp.kernel`, ...
    pub kind: &'static str,
    /// The event's data.
    pub data: SpeakerEvent,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SpeakerEvent {
    /// A session changed state.
    State {
        /// Neighbor name.
        neighbor: String,
        /// Old state.
        from: State,
        /// New state.
        to: State,
        /// Why, when leaving a state towards Idle.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A session reached Established.
    Up {
        /// Neighbor name.
        neighbor: String,
        /// Negotiated hold time.
        hold_time: u16,
        /// Negotiated families.
        families: Vec<Family>,
    },
    /// A session left Established.
    Down {
        /// Neighbor name.
        neighbor: String,
        /// Why.
        reason: DownReason,
        /// Routes kept as stale (graceful restart).
        stale: bool,
    },
    /// Prefixes received from a neighbor in one batch of UPDATEs.
    Prefixes {
        /// Neighbor name.
        neighbor: String,
        /// Announced in the batch.
        announced: u32,
        /// Withdrawn in the batch.
        withdrawn: u32,
        /// Rejected by filters in the batch.
        filtered: u32,
        /// Totals after the batch, IPv4.
        ipv4: Counters,
        /// Totals after the batch, IPv6.
        ipv6: Counters,
    },
    /// A neighbor exceeded its prefix limit.
    MaxPrefix {
        /// Neighbor name.
        neighbor: String,
        /// Family.
        family: Family,
        /// Limit.
        limit: u32,
        /// Prefixes received.
        count: u32,
        /// Only a warning (session kept).
        warning_only: bool,
    },
    /// Kernel routes were changed.
    Kernel {
        /// Routes installed or replaced.
        installed: u32,
        /// Routes removed.
        removed: u32,
        /// Requests the kernel refused.
        failed: u32,
        /// Prefixes not installed because a route this speaker did not install holds them.
        held: u32,
    },
}

/// A neighbor as `show neighbors` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct NeighborStatus {
    /// Name.
    pub name: String,
    /// Address.
    pub address: IpAddr,
    /// Neighbor AS.
    pub remote_as: u32,
    /// FSM state.
    pub state: State,
    /// Seconds since Established (when it is).
    pub established_for_s: Option<f64>,
    /// Seconds since it last left Established (when it ever did).
    pub down_for_s: Option<f64>,
    /// Negotiated hold time.
    pub hold_time: Option<u16>,
    /// Negotiated keepalive interval.
    pub keepalive: Option<u16>,
    /// Negotiated families.
    pub families: Vec<Family>,
    /// The peer's BGP identifier.
    pub peer_id: Option<std::net::Ipv4Addr>,
    /// Why it last went down.
    pub last_down: Option<DownReason>,
    /// Last connect error.
    pub last_connect_error: Option<String>,
    /// Times it reached Established.
    pub established_count: u32,
    /// IPv4 prefix counters.
    pub ipv4: Counters,
    /// IPv6 prefix counters.
    pub ipv6: Counters,
}

/// `show summary`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Our AS.
    pub asn: u32,
    /// Our identifier.
    pub router_id: std::net::Ipv4Addr,
    /// Prefixes with a selected route, IPv4.
    pub ipv4_routes: usize,
    /// Prefixes with a selected route, IPv6.
    pub ipv6_routes: usize,
    /// Interned attribute sets.
    pub attribute_sets: usize,
    /// Kernel routes installed.
    pub kernel_routes: u64,
    /// Neighbors.
    pub neighbors: Vec<NeighborStatus>,
}
