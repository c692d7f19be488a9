//! The `[[vgw]]` node as a scenario declares it: the VGW, its outside interface on the
//! internet router, its VPN connections and their tunnels, with AWS's defaults where a field is
//! omitted (see [`super::vgw`] for the TOML).
//!
//! What it does not do: validate against the topology or plan anything ([`super::plan`] and
//! [`super::vgw`] do).

use std::net::Ipv4Addr;

use engine::source::FieldPath;
use ipnet::Ipv4Net;
use serde::Deserialize;

use super::addressing::last_host;
use crate::config::Routing;
use crate::psk::Psk;
use crate::tunnel_options::TunnelOptions;

fn d_asn() -> u32 {
    crate::config::DEFAULT_AMAZON_ASN
}
fn d_vpc_link() -> Ipv4Net {
    "100.64.0.0/30".parse().expect("a prefix")
}
fn d_tunnels() -> Vec<TunnelSpec> {
    vec![TunnelSpec::default(), TunnelSpec::default()]
}

/// The outside interface on the internet router.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Internet {
    /// The internet router node.
    pub node: String,
    /// The outside subnet: tunnel addresses are its first hosts.
    pub cidr: Ipv4Net,
    /// The router's address on it (default: the last host).
    #[serde(default)]
    pub peer_address: Option<Ipv4Addr>,
}

impl Internet {
    /// The internet router's address on the link.
    pub fn peer(&self) -> Ipv4Addr {
        self.peer_address.unwrap_or_else(|| last_host(self.cidr))
    }
}

/// One tunnel of a connection: AWS chooses what is not given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelSpec {
    /// Inside /30 within 169.254.0.0/16 (default: AWS picks one).
    #[serde(default)]
    pub inside_cidr: Option<Ipv4Net>,
    /// Pre-shared key (default: random per lab, or derived from the VGW's `seed`; see
    /// [`super::plan`]).
    #[serde(default)]
    pub pre_shared_key: Option<Psk>,
    /// AWS tunnel options (default: AWS's).
    #[serde(default)]
    pub options: Option<TunnelOptions>,
}

/// One VPN connection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Name, unique on the VGW (`vpn1`); tunnels are `<name>-t1` and `<name>-t2`.
    pub name: String,
    /// The customer gateway node.
    pub cgw: String,
    /// `dynamic` (BGP, default) or `static`.
    #[serde(default)]
    pub routing: Routing,
    /// Static routing: the customer's prefixes (AWS's VPN connection routes).
    #[serde(default)]
    pub static_routes: Vec<Ipv4Net>,
    /// The two tunnels.
    #[serde(default = "d_tunnels", rename = "tunnel")]
    pub tunnels: Vec<TunnelSpec>,
}

/// One virtual private gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vgw {
    /// Name.
    pub name: String,
    /// Site (for reports).
    #[serde(default)]
    pub site: Option<String>,
    /// The `[[vpc]]` it is attached to.
    pub vpc: String,
    /// Amazon-side ASN.
    #[serde(default = "d_asn")]
    pub amazon_side_asn: u32,
    /// Seed of the choices AWS makes at random, for a scenario that replays them: inside /30s,
    /// the preferred tunnel, and the keys the scenario does not give. Without it, the inside
    /// /30s and the preference come from seed [`DEFAULT_ADDRESS_SEED`] and the keys are random
    /// per lab, as AWS's are (`super::plan`).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Outside interface.
    pub internet: Internet,
    /// The /30 between the VGW (first host) and the VPC router (second host).
    #[serde(default = "d_vpc_link")]
    pub vpc_link: Ipv4Net,
    /// VPN connections.
    #[serde(default, rename = "connection")]
    pub connections: Vec<Connection>,
    /// Set by a transit gateway for its VPN attachments: inside /30s need only be unique
    /// within one connection (`VgwConfig::inside_cidrs_per_connection`); never from a file.
    #[serde(skip)]
    pub inside_cidrs_per_connection: bool,
    #[serde(skip)]
    pub(crate) path: FieldPath,
}

/// The seed of inside /30s and the tunnel preference when a `[[vgw]]` sets none.
pub const DEFAULT_ADDRESS_SEED: u64 = 1;

impl Vgw {
    /// The seed of its inside /30s and tunnel preference.
    pub fn address_seed(&self) -> u64 {
        self.seed.unwrap_or(DEFAULT_ADDRESS_SEED)
    }

    /// Whether a tunnel key of `connection` is random per lab (no `seed`, and a tunnel
    /// without `pre_shared_key`): then only a running lab knows it.
    pub fn has_random_keys(&self, connection: &Connection) -> bool {
        self.seed.is_none()
            && connection
                .tunnels
                .iter()
                .any(|t| t.pre_shared_key.is_none())
    }

    /// Where it was declared.
    pub fn path(&self) -> &FieldPath {
        &self.path
    }

    /// Tunnel outside addresses, in order: the internet subnet's hosts, skipping the router's.
    pub fn outside_addresses(&self) -> Vec<Ipv4Addr> {
        let peer = self.internet.peer();
        self.internet
            .cidr
            .hosts()
            .filter(|a| *a != peer)
            .take(self.connections.len() * 2)
            .collect()
    }
}
