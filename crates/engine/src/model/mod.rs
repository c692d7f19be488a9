//! The scenario model: what a parsed, validated scenario file holds, including the nodes' side
//! of the kind plug-in interface ([`node`], [`query`]): a topology is made of nodes of any kind,
//! so what a node is belongs here, below `crate::kind` (see [`node`] for why).
//!
//! What it does not do: parse (see `crate::parse`) or run (see `crate::runner`).

pub mod chaos;
pub mod expect;
pub mod node;
pub mod probe;
pub mod query;
pub mod timeline;
pub mod timing;
pub mod topology;
pub mod when;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use expect::{Check, Expectation};
pub use probe::{Probe, ProbeKind};
pub use timeline::{Action, CutTarget, TimelineEntry, TrafficMatch};
pub use timing::{Profile, Timing};
pub use topology::{Endpoint, Link, Site};
pub use when::When;

use node::NodeSpec;
use query::{Query, Question};

/// `[scenario]`: name and description.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Name; the default lab name. `[a-z0-9][a-z0-9-]{0,23}`.
    pub name: String,
    /// One line for `hybridlab list`.
    #[serde(default)]
    pub description: String,
}

/// Sites, nodes and links.
#[derive(Debug, Default)]
pub struct Topology {
    /// `[[site]]`.
    pub sites: Vec<Site>,
    /// Every node of every kind, in declaration order per kind.
    pub nodes: Vec<Box<dyn NodeSpec>>,
    /// `[[link]]`.
    pub links: Vec<Link>,
}

/// An address of a node: on which interface of which link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress {
    /// Interface name in the node's namespace.
    pub ifname: String,
    /// The address with its prefix length.
    pub addr: IpNet,
    /// The link's name.
    pub link: String,
}

impl Topology {
    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&dyn NodeSpec> {
        self.nodes.iter().find(|n| n.name() == name).map(|n| &**n)
    }

    /// Node names, sorted, for "expected one of" messages.
    pub fn node_names(&self) -> String {
        let mut names: Vec<&str> = self.nodes.iter().map(|n| n.name()).collect();
        names.sort();
        names.join(", ")
    }

    /// The link named `name`.
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    /// Every address of `node`.
    pub fn addresses(&self, node: &str) -> Vec<NodeAddress> {
        let mut out = Vec::new();
        for l in &self.links {
            for (i, e) in l.endpoints.iter().enumerate() {
                if e.node == node {
                    for addr in e.all_addresses() {
                        out.push(NodeAddress {
                            ifname: l.ifname(i),
                            addr,
                            link: l.name.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Whether `ip` is on a subnet directly connected to `node` (and not its own address).
    pub fn is_on_link(&self, node: &str, ip: std::net::IpAddr) -> bool {
        self.addresses(node)
            .iter()
            .any(|a| a.addr.contains(&ip) && a.addr.addr() != ip)
    }

    /// Asks every node `query` ([`query`]), in declaration order; the nodes that answered, with
    /// their answers.
    pub fn ask<Q: Query>(&self, query: &Q) -> Vec<(&str, Q::Answer)> {
        self.nodes
            .iter()
            .filter_map(|n| ask_one(self, n.as_ref(), query).map(|a| (n.name(), a)))
            .collect()
    }

    /// Asks node `name` only; `None` when there is no such node or it does not answer.
    pub fn ask_node<Q: Query>(&self, name: &str, query: &Q) -> Option<Q::Answer> {
        self.node(name).and_then(|n| ask_one(self, n, query))
    }
}

fn ask_one<Q: Query>(topo: &Topology, node: &dyn NodeSpec, query: &Q) -> Option<Q::Answer> {
    let mut slot: Option<Q::Answer> = None;
    node.answer(topo, &mut Question::new(query, &mut slot));
    slot
}

/// A parsed and validated scenario.
#[derive(Debug)]
pub struct Scenario {
    /// `[scenario]`.
    pub meta: Meta,
    /// The file name it came from.
    pub file: String,
    /// Resolved timers.
    pub timing: Timing,
    /// Sites, nodes, links.
    pub topology: Topology,
    /// `[[probe]]`.
    pub probes: Vec<Probe>,
    /// `[[timeline]]`, in file order.
    pub timeline: Vec<TimelineEntry>,
    /// `[[expect]]`, in file order.
    pub expectations: Vec<Expectation>,
    /// `[chaos]`: a campaign `hybridlab chaos` runs (ignored by `run`).
    pub chaos: Option<chaos::ChaosSpec>,
}

impl Scenario {
    /// The probe named `name`.
    pub fn probe(&self, name: &str) -> Option<&Probe> {
        self.probes.iter().find(|p| p.name == name)
    }
}
