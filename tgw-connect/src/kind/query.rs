//! What the `appliance` kind asks the `tgw` kind: the Connect peers that end on it.
//!
//! What it does not do: answer (the `[[tgw]]` node does, in `super::tgw`).

use std::net::Ipv4Addr;

use engine::kind::query::Query;
use ipnet::Ipv4Net;

/// "Which Connect peers end on appliance `appliance`?"
#[derive(Debug, Clone)]
pub struct ConnectPeersFor {
    /// The appliance node.
    pub appliance: String,
}

/// One Connect peer as its appliance sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerView {
    /// The TGW node.
    pub tgw: String,
    /// The Connect attachment.
    pub attachment: String,
    /// The peer's name.
    pub name: String,
    /// Inside /29.
    pub inside_cidr: Ipv4Net,
    /// Its optional IPv6 inside /125.
    pub inside_cidr_v6: Option<ipnet::Ipv6Net>,
    /// The appliance's GRE address.
    pub peer_address: Ipv4Addr,
    /// The TGW's GRE address.
    pub tgw_address: Ipv4Addr,
    /// The TGW's ASN.
    pub tgw_asn: u32,
    /// The appliance's ASN on this peer.
    pub peer_asn: u32,
}

impl Query for ConnectPeersFor {
    type Answer = Vec<PeerView>;
}

/// "Are you an appliance? Your daemon's file in `profile`, please."
#[derive(Debug, Clone, Copy)]
pub struct ApplianceConfigOf {
    /// The timing profile.
    pub profile: engine::model::timing::Profile,
}

impl Query for ApplianceConfigOf {
    type Answer = crate::config::ApplianceConfig;
}
