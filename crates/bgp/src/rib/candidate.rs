//! What route selection and the policy hook are told about a route: who it came from or goes to
//! ([`PeerInfo`]) and the route with its attributes ([`Candidate`]).
//!
//! Both the decision process ([`super::decision`]) and the policy hook ([`super::policy`]) take
//! these, so they live below both: the decision process does not depend on policy, and the
//! policy's defaults call the decision process.
//!
//! What it does not do: rank or filter routes, or hold the neighbor's configuration
//! ([`super::policy::PeerPolicy`]).

use std::net::{IpAddr, Ipv4Addr};

use super::table::PeerIdx;
use crate::wire::PathAttrs;

/// Who a route came from or goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// RIB index (0: this speaker).
    pub idx: PeerIdx,
    /// Name for show output and policies (the neighbor's configured name or address).
    pub name: String,
    /// Neighbor address (unspecified for the local speaker).
    pub addr: IpAddr,
    /// Neighbor AS.
    pub remote_as: u32,
    /// Neighbor BGP identifier, once known.
    pub router_id: Ipv4Addr,
    /// External neighbor.
    pub ebgp: bool,
}

impl PeerInfo {
    /// True for the pseudo-peer that holds locally originated routes.
    pub fn is_local(&self) -> bool {
        self.idx == 0
    }
}

/// A route as the decision process sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Where it came from.
    pub peer: &'a PeerInfo,
    /// Its attributes.
    pub attrs: &'a PathAttrs,
    /// Kept from a restarting peer (RFC 4724).
    pub stale: bool,
}
