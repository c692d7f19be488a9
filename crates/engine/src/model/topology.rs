//! The engine-owned parts of a topology: sites (address plans) and links (veth pairs with
//! their addresses). Nodes themselves belong to their kinds (see `crate::kind`).
//!
//! ```toml
//! [[site]]
//! name = "onprem"
//! cidrs = ["10.1.0.0/16"]
//!
//! [[link]]
//! name = "wan"                                   # default "<a>-<b>"
//! endpoints = [
//!   { node = "r1", address = "10.255.0.1/30" },  # interface named after the peer: "r2"
//!   { node = "r2", addresses = ["10.255.0.2/30", "fd00:ff::2/64"], ifname = "wan0" },
//! ]
//! mtu = 1500
//! ```
//!
//! What it does not do: check references between parts (see `crate::validate`).

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::source::FieldPath;

/// `[[site]]`: a named address plan that nodes may belong to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Name, unique.
    pub name: String,
    /// What it stands for (shown in reports).
    #[serde(default)]
    pub description: String,
    /// The prefixes the site's addresses come from.
    #[serde(default)]
    pub cidrs: Vec<IpNet>,
    /// Where it was declared.
    #[serde(skip)]
    pub path: FieldPath,
}

/// One end of a link.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// The node.
    pub node: String,
    /// The interface name in the node's namespace; default: the peer node's name.
    #[serde(default)]
    pub ifname: Option<String>,
    /// One address with its prefix length.
    #[serde(default)]
    pub address: Option<IpNet>,
    /// Several addresses.
    #[serde(default)]
    pub addresses: Vec<IpNet>,
}

impl Endpoint {
    /// Every address of this end.
    pub fn all_addresses(&self) -> Vec<IpNet> {
        self.address
            .iter()
            .copied()
            .chain(self.addresses.iter().copied())
            .collect()
    }
}

/// `[[link]]`: a point-to-point link (a veth pair) between two nodes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Name, unique; default `<a>-<b>`.
    #[serde(default)]
    pub name: String,
    /// The two ends.
    pub endpoints: [Endpoint; 2],
    /// MTU of both ends; default the kernel's (1500).
    #[serde(default)]
    pub mtu: Option<u32>,
    /// Write a pcapng of this link during a run (`crate::capture`); `--capture DIR` captures
    /// every link whatever this says.
    #[serde(default)]
    pub capture: bool,
    /// Where it was declared.
    #[serde(skip)]
    pub path: FieldPath,
}

impl Link {
    /// The interface name of end `i` (0 or 1).
    pub fn ifname(&self, i: usize) -> String {
        self.endpoints[i]
            .ifname
            .clone()
            .unwrap_or_else(|| self.endpoints[1 - i].node.clone())
    }

    /// The end that sits on `node`, if any (the first when both do).
    pub fn end_on(&self, node: &str) -> Option<usize> {
        self.endpoints.iter().position(|e| e.node == node)
    }
}
