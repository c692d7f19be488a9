//! The `[[cgw]]` node as a scenario declares it: AWS's customer gateway resource (ASN, outside
//! address), what it announces, its tunnel mode and per-tunnel policy, the routes towards its
//! LAN (see [`super::cgw`] for the TOML).
//!
//! What it does not do: validate against the topology or plan anything ([`super::plan`] and
//! [`super::cgw`] do).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use engine::kind::StaticRoute;
use engine::kind::external::External;
use engine::source::FieldPath;
use ipnet::Ipv4Net;
use serde::Deserialize;
use vgw::kind::addressing::last_host;
use vgw::kind::checks::PrefixRange;

use crate::config::TunnelMode;

/// The outside interface on the internet router.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Internet {
    /// The internet router node.
    pub node: String,
    /// The customer gateway's outside address, with its prefix length.
    pub address: Ipv4Net,
    /// The router's address (default: the subnet's last host).
    #[serde(default)]
    pub peer_address: Option<Ipv4Addr>,
}

impl Internet {
    /// The internet router's address on the link.
    pub fn peer(&self) -> Ipv4Addr {
        self.peer_address
            .unwrap_or_else(|| last_host(self.address.trunc()))
    }
}

/// What this customer gateway does on one tunnel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelPolicy {
    /// AS_PATH prepends on what it announces over the tunnel.
    #[serde(default)]
    pub as_path_prepend: u8,
    /// MED on what it announces over the tunnel.
    #[serde(default)]
    pub med: Option<u32>,
}

/// One customer gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cgw {
    /// Name.
    pub name: String,
    /// Site.
    #[serde(default)]
    pub site: Option<String>,
    /// Its BGP ASN.
    pub asn: u32,
    /// Outside interface (on the internet router, or on an edge router doing NAT).
    pub internet: Internet,
    /// Behind a NAT: the public address AWS knows it by (the customer gateway resource's IP,
    /// the NAT's outside address). Default: its own outside address.
    #[serde(default)]
    pub public_address: Option<Ipv4Addr>,
    /// Prefixes announced to AWS.
    #[serde(default)]
    pub advertise: Vec<Ipv4Net>,
    /// More prefixes announced to AWS, as a range.
    #[serde(default)]
    pub advertise_range: Option<PrefixRange>,
    /// Active/active (ECMP) or active/standby.
    #[serde(default)]
    pub mode: TunnelMode,
    /// Per-tunnel policy, keyed by tunnel name (`vpn1-t2`).
    #[serde(default)]
    pub tunnels: BTreeMap<String, TunnelPolicy>,
    /// Static routes towards the customer's networks behind it (a LAN router's prefixes).
    #[serde(default)]
    pub routes: Vec<StaticRoute>,
    /// Bring your own customer gateway: the node (namespace, links, routes) exists but runs no
    /// daemon; start your own (strongSwan + FRR configured from `hybridlab cgw-config`) in its
    /// namespace, `hl-<lab>-<node>`, while the lab converges (raise `converge` in `[timing]`).
    /// `{ container = "NAME" }`: the node is the network namespace of that running container.
    #[serde(default)]
    pub external: External,
    #[serde(skip)]
    pub(crate) path: FieldPath,
}

impl Cgw {
    /// Where it was declared.
    pub fn path(&self) -> &FieldPath {
        &self.path
    }

    /// The address AWS knows it by.
    pub fn aws_address(&self) -> Ipv4Addr {
        self.public_address
            .unwrap_or_else(|| self.internet.address.addr())
    }

    /// Every prefix it announces.
    pub fn advertised(&self) -> Vec<Ipv4Net> {
        let mut out = self.advertise.clone();
        if let Some(r) = &self.advertise_range {
            out.extend(r.expand());
        }
        out
    }
}
