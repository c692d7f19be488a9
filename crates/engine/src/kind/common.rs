//! Checks that several kinds share: static routes and dependencies.
//!
//! What it does not do: anything kind-specific.

use crate::diagnostic::Diagnostic;
use crate::kind::StaticRoute;
use crate::model::Topology;
use crate::parse_cx::ParseCx;
use crate::source::FieldPath;

/// Each route's next hop must be on a subnet the node is connected to, its device one of the
/// node's interfaces, and its family match the destination's.
pub fn validate_routes(
    node: &str,
    routes: &[StaticRoute],
    path: &FieldPath,
    topo: &Topology,
    cx: &ParseCx<'_>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let ifnames: Vec<String> = topo.addresses(node).into_iter().map(|a| a.ifname).collect();
    let mut all_ifnames: Vec<String> = Vec::new();
    for l in &topo.links {
        for i in 0..2 {
            if l.endpoints[i].node == node {
                all_ifnames.push(l.ifname(i));
            }
        }
    }
    let _ = ifnames;
    for (i, r) in routes.iter().enumerate() {
        let rp = path.index(i);
        if r.via.is_none() && r.dev.is_none() {
            out.push(cx.error(&rp, "a route needs `via` (next hop) or `dev` (device)"));
        }
        if let Some(via) = r.via {
            if via.is_ipv4() != r.to.addr().is_ipv4() {
                out.push(cx.error(
                    &rp.key("via"),
                    format!(
                        "next hop {via} is not of the same address family as {}",
                        r.to
                    ),
                ));
            } else if !topo.is_on_link(node, via) {
                out.push(cx.error(
                    &rp.key("via"),
                    format!(
                        "next hop {via} is not on a subnet connected to {node} (its addresses: {})",
                        addresses(topo, node)
                    ),
                ));
            }
        }
        if let Some(dev) = &r.dev
            && !all_ifnames.contains(dev)
        {
            out.push(cx.error(
                &rp.key("dev"),
                format!(
                    "{node} has no interface {dev:?} (it has: {})",
                    all_ifnames.join(", ")
                ),
            ));
        }
    }
    out
}

/// Every name in `depends_on` must be another node.
pub fn validate_depends(
    node: &str,
    depends: &[String],
    path: &FieldPath,
    topo: &Topology,
    cx: &ParseCx<'_>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, d) in depends.iter().enumerate() {
        if d == node {
            out.push(cx.error(&path.index(i), format!("{node} cannot depend on itself")));
        } else if topo.node(d).is_none() {
            out.push(cx.error(
                &path.index(i),
                format!("unknown node {d:?} (nodes: {})", topo.node_names()),
            ));
        }
    }
    out
}

fn addresses(topo: &Topology, node: &str) -> String {
    let a: Vec<String> = topo
        .addresses(node)
        .iter()
        .map(|a| a.addr.to_string())
        .collect();
    if a.is_empty() {
        "none".to_string()
    } else {
        a.join(", ")
    }
}
