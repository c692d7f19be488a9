//! The bring-up plan: what to create, in which order, derived from the validated topology.
//! Pure, so the order is tested without a system.
//!
//! ```text
//!  wave 1   all namespaces (one batch)
//!  wave 2   all links, in parallel (each: veth in both namespaces, MTU, addresses, up)
//!  wave 3   per node, in parallel: forwarding, then its static routes
//!  wave 4+  processes, one wave per dependency level (`depends_on`), parallel within a wave
//! ```
//!
//! What it does not do: execute (see `super::run`).

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use serde::Serialize;

use crate::kind::NodeSetup;
use crate::model::Topology;

/// One end of a link to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndPlan {
    /// Node.
    pub node: String,
    /// Interface name in its namespace.
    pub ifname: String,
    /// Addresses.
    pub addresses: Vec<IpNet>,
}

/// A link to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkPlan {
    /// Name.
    pub name: String,
    /// The two ends.
    pub ends: [EndPlan; 2],
    /// MTU.
    pub mtu: Option<u32>,
    /// The scenario asks for a capture of it (`capture = true`).
    pub capture: bool,
}

/// A node to set up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodePlan {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Forwarding, routes, dependencies.
    pub setup: NodeSetup,
    /// Interfaces whose outgoing IPv4 is masqueraded.
    pub masquerade: Vec<String>,
    /// The user's container that is this node (its namespace is adopted, not created).
    pub container: Option<String>,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Nodes (namespaces), in declaration order.
    pub nodes: Vec<NodePlan>,
    /// Links.
    pub links: Vec<LinkPlan>,
    /// Node names grouped by dependency level: a node's processes start after those of
    /// every node it depends on.
    pub process_waves: Vec<Vec<String>>,
}

/// Dependencies form a loop (validation reports it with a position first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("depends_on forms a loop through: {0}")]
pub struct DependencyLoop(pub String);

/// Builds the plan.
pub fn plan(t: &Topology) -> Result<Plan, DependencyLoop> {
    let nodes: Vec<NodePlan> = t
        .nodes
        .iter()
        .map(|n| NodePlan {
            name: n.name().to_string(),
            kind: n.kind().to_string(),
            setup: n.setup(t),
            masquerade: n.masquerade(),
            container: n.external_container().map(str::to_string),
        })
        .collect();
    let links = t
        .links
        .iter()
        .map(|l| LinkPlan {
            name: l.name.clone(),
            ends: [0, 1].map(|i| EndPlan {
                node: l.endpoints[i].node.clone(),
                ifname: l.ifname(i),
                addresses: l.endpoints[i].all_addresses(),
            }),
            mtu: l.mtu,
            capture: l.capture,
        })
        .collect();
    let deps: BTreeMap<&str, BTreeSet<&str>> = nodes
        .iter()
        .map(|n| {
            (
                n.name.as_str(),
                n.setup.depends_on.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    // Kahn's algorithm by levels: a wave is every remaining node whose dependencies are placed.
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut remaining: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    let mut process_waves = Vec::new();
    while !remaining.is_empty() {
        let (wave, rest): (Vec<&str>, Vec<&str>) = remaining.iter().partition(|n| {
            deps[*n]
                .iter()
                .all(|d| placed.contains(d) || !deps.contains_key(d))
        });
        if wave.is_empty() {
            return Err(DependencyLoop(rest.join(", ")));
        }
        placed.extend(wave.iter().copied());
        process_waves.push(wave.iter().map(|n| n.to_string()).collect());
        remaining = rest;
    }
    Ok(Plan {
        nodes,
        links,
        process_waves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::Registry;
    use crate::parse::parse_scenario;
    use crate::source::Source;

    fn topo(extra: &str) -> crate::model::Scenario {
        let text = format!(
            "[scenario]\nname = \"p\"\n[[host]]\nname = \"a\"\n{extra}\n[[host]]\nname = \"b\"\n[[router]]\nname = \"r\"\ndepends_on = [\"b\"]\n[[link]]\nendpoints = [{{ node = \"a\", address = \"10.0.0.1/24\" }}, {{ node = \"r\", address = \"10.0.0.2/24\" }}]\nmtu = 1400\n"
        );
        parse_scenario(&Source::new("p.toml", text), &Registry::generic()).unwrap()
    }

    #[test]
    fn waves_follow_dependencies() {
        let s = topo("depends_on = [\"r\"]");
        let p = plan(&s.topology).unwrap();
        assert_eq!(
            p.process_waves,
            vec![
                vec!["b".to_string()],
                vec!["r".to_string()],
                vec!["a".to_string()]
            ]
        );
        assert_eq!(p.links[0].ends[0].ifname, "r");
        assert_eq!(p.links[0].ends[1].ifname, "a");
        assert_eq!(p.links[0].mtu, Some(1400));
        let r = p.nodes.iter().find(|n| n.name == "r").unwrap();
        assert!(r.setup.forwarding);
    }

    #[test]
    fn independent_nodes_share_a_wave() {
        let s = topo("");
        let p = plan(&s.topology).unwrap();
        assert_eq!(
            p.process_waves,
            vec![
                vec!["a".to_string(), "b".to_string()],
                vec!["r".to_string()]
            ]
        );
    }
}
