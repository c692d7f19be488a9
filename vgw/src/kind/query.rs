//! The typed questions of the Site-to-Site VPN kinds ([`engine::kind::query`]): what a VGW asks
//! of its customer gateways and its VPC, and what a customer gateway asks of the VGWs that
//! have connections to it. Whoever owns a fact answers it; no kind reads another's node.
//!
//! ```text
//!  vgw  --CustomerGatewayOf-->  cgw node     (AWS's CreateCustomerGateway: outside IP, ASN)
//!  vgw  --VpcOf-->              vpc node     (CIDR blocks, propagation, static routes)
//!  vpc  --AttachedVgw-->        vgw nodes    (AWS allows one VGW per VPC)
//!  cgw  --CustomerViewOf-->     vgw nodes    (each connection as "download configuration")
//!  CLI  --VpnConnectionList-->  vgw nodes    (connection names and their customer gateways)
//!  vgw  --DirectConnectPeersOf-> dxgw nodes  (backbone sessions of DX gateway associations)
//!  dxgw --VgwFacts-->           vgw node     (ASN, VPC CIDRs: the association's session and
//!                                             default allowed prefixes)
//!  tgw  --AllowedPrefixesOf->   dxgw nodes   (the allowed prefixes of each DX gateway
//!                                             association with it: a Connect over DX needs
//!                                             the TGW CIDR block among them)
//! ```
//!
//! What it does not do: plan anything itself ([`super::plan`] does, for the answers).

use std::net::Ipv4Addr;

use engine::kind::query::Query;
use engine::model::timing::Profile;
use ipnet::Ipv4Net;

use super::keys::KeySource;
use crate::config::{CgwConnection, DxPeer, VpcStaticRoute};
use engine::source::FieldPath;

/// "Are you a customer gateway, and what did the customer register?"
#[derive(Debug, Clone, Copy)]
pub struct CustomerGatewayOf;

/// AWS's customer gateway resource: what the VGW needs to plan a connection to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerGateway {
    /// Its outside (internet-routable) address.
    pub outside_ip: Ipv4Addr,
    /// Its BGP ASN.
    pub asn: u32,
}

impl Query for CustomerGatewayOf {
    type Answer = CustomerGateway;
}

/// "Are you a VPC, and what is in your route table?"
#[derive(Debug, Clone, Copy)]
pub struct VpcOf;

/// The VPC facts a VGW programs its route table from.
#[derive(Debug, Clone, PartialEq)]
pub struct Vpc {
    /// CIDR blocks.
    pub cidrs: Vec<Ipv4Net>,
    /// IPv6 CIDR blocks (a VGW ignores them; a TGW attachment with `ipv6_support` uses them).
    pub ipv6_cidrs: Vec<ipnet::Ipv6Net>,
    /// Route propagation from the VGW.
    pub propagation: bool,
    /// Static routes of the route table.
    pub static_routes: Vec<VpcStaticRoute>,
}

impl Query for VpcOf {
    type Answer = Vpc;
}

/// "Are you a VGW attached to VPC `vpc`?" (answered `()` by each one that is).
#[derive(Debug, Clone)]
pub struct AttachedVgw {
    /// The VPC node.
    pub vpc: String,
}

impl Query for AttachedVgw {
    type Answer = ();
}

/// "Which VPN connections to customer gateway `cgw` do you have, as the customer sees them?"
#[derive(Debug, Clone)]
pub struct CustomerViewOf {
    /// The customer gateway node.
    pub cgw: String,
    /// The timing profile the connections run with.
    pub profile: Profile,
    /// Where keys the scenario does not give come from.
    pub keys: KeySource,
}

impl Query for CustomerViewOf {
    /// The connections in declaration order (none: the question is not answered), or why the
    /// VGW could not be planned.
    type Answer = Result<Vec<CgwConnection>, PlanError>;
}

/// "Which VPN connections do you have?"
#[derive(Debug, Clone, Copy)]
pub struct VpnConnectionList;

/// One VPN connection, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRef {
    /// The connection's name on its VGW.
    pub name: String,
    /// Its customer gateway node.
    pub cgw: String,
    /// Whether a tunnel's key is random per lab: only a running lab knows it
    /// ([`super::node::Vgw::has_random_keys`]).
    pub random_keys: bool,
}

impl Query for VpnConnectionList {
    type Answer = Vec<ConnectionRef>;
}

/// "Which DX location routers reach VGW `vgw` over a backbone link?" (answered by each DX
/// node with an association to it; the VGW's `direct_connect` sessions).
#[derive(Debug, Clone)]
pub struct DirectConnectPeersOf {
    /// The VGW node.
    pub vgw: String,
}

impl Query for DirectConnectPeersOf {
    type Answer = Vec<DxPeer>;
}

/// "Which prefixes do your DX gateway associations with gateway `target` allow?" (answered by
/// each DX node with an association to it, defaults applied).
#[derive(Debug, Clone)]
pub struct AllowedPrefixesOf {
    /// The VGW or TGW node.
    pub target: String,
}

/// The allowed prefixes of one DX gateway association.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedPrefixes {
    /// The DX gateway's name (a TGW's `[[tgw.dx_attachment]]` name).
    pub gateway: String,
    /// The prefixes, as the association announces (TGW) or filters (VGW) with them.
    pub prefixes: Vec<Ipv4Net>,
}

impl Query for AllowedPrefixesOf {
    type Answer = Vec<AllowedPrefixes>;
}

/// "Are you a VGW, and what does a DX gateway association need to know of you?"
#[derive(Debug, Clone, Copy)]
pub struct VgwFacts;

/// What a DX gateway association needs of its VGW.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VgwFact {
    /// The VGW's Amazon-side ASN (the backbone session runs iBGP in it).
    pub asn: u32,
    /// Its VPC's CIDR blocks (the default allowed prefixes).
    pub vpc_cidrs: Vec<Ipv4Net>,
    /// A Transit Gateway answered (its DX gateway association needs a transit VIF and
    /// announces its allowed prefixes as written), not a VGW.
    pub transit_gateway: bool,
}

impl Query for VgwFacts {
    type Answer = VgwFact;
}

/// A planning error: where (a field of the scenario) and why. Never contains a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The field.
    pub path: FieldPath,
    /// What is wrong.
    pub message: String,
}

impl PlanError {
    /// A planning error at `path`.
    pub fn new(path: FieldPath, message: impl Into<String>) -> PlanError {
        PlanError {
            path,
            message: message.into(),
        }
    }
}
