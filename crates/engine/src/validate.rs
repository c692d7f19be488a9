//! Semantic checks of a parsed scenario, run before anything is created: names are valid and
//! unique, every reference (node, link, probe, site, action) exists, addresses do not overlap,
//! timeline dependencies have no cycle, and each node kind checks its own nodes.
//!
//! What it does not do: syntax and field types (the parser did those).

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use crate::diagnostic::Diagnostic;
use crate::kind::NodeEnv;
use crate::model::expect::Check;
use crate::model::timeline::{Action, CutTarget, RestoreWhich};
use crate::model::when::When;
use crate::model::{Scenario, Topology};
use crate::parse_cx::ParseCx;
use crate::source::FieldPath;

/// Lab names: `[a-z0-9][a-z0-9-]{0,23}` (docs/design.md).
pub fn valid_lab_name(s: &str) -> bool {
    valid_name(s, 24)
}

/// Node names: `[a-z0-9][a-z0-9-]{0,14}`, so they double as interface names.
pub fn valid_node_name(s: &str) -> bool {
    valid_name(s, 15)
}

fn valid_name(s: &str, max: usize) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Interface names: 1-15 bytes, no `/`, whitespace or `:` (IFNAMSIZ, dev_valid_name()).
pub fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s != "."
        && s != ".."
        && !s
            .bytes()
            .any(|c| c == b'/' || c == b':' || c.is_ascii_whitespace())
}

/// Runs every check; an empty result means the scenario may be brought up.
pub fn validate(s: &Scenario, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if !valid_lab_name(&s.meta.name) {
        out.push(cx.error(
            &FieldPath::parse("scenario.name"),
            format!("scenario name {:?} must match [a-z0-9][a-z0-9-]{{0,23}} (it names the lab and its namespaces)", s.meta.name),
        ));
    }
    topology(&s.topology, cx, &mut out);
    probes(s, cx, &mut out);
    timeline(s, cx, &mut out);
    out
}

fn topology(t: &Topology, cx: &ParseCx<'_>, out: &mut Vec<Diagnostic>) {
    // Nodes: valid, unique names.
    let mut seen: BTreeMap<&str, &FieldPath> = BTreeMap::new();
    for n in &t.nodes {
        let p = n.path().key("name");
        if !valid_node_name(n.name()) {
            out.push(cx.error(&p, format!("node name {:?} must match [a-z0-9][a-z0-9-]{{0,14}} (it doubles as an interface name)", n.name())));
        }
        if let Some(first) = seen.insert(n.name(), n.path()) {
            out.push(cx.error(
                &p,
                format!(
                    "duplicate node name {:?} (first declared at {first})",
                    n.name()
                ),
            ));
        }
        if let Some(site) = n.site()
            && !t.sites.iter().any(|s| s.name == site)
        {
            let names: Vec<&str> = t.sites.iter().map(|s| s.name.as_str()).collect();
            out.push(cx.error(
                &n.path().key("site"),
                format!(
                    "unknown site {site:?} (sites: {})",
                    if names.is_empty() {
                        "none declared".into()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
    }
    // Sites: unique names, no overlapping address plans.
    let mut site_names = BTreeSet::new();
    let mut plans: Vec<(IpNet, FieldPath, &str)> = Vec::new();
    for s in &t.sites {
        if !site_names.insert(s.name.as_str()) {
            out.push(cx.error(
                &s.path.key("name"),
                format!("duplicate site name {:?}", s.name),
            ));
        }
        for (i, c) in s.cidrs.iter().enumerate() {
            let p = s.path.key("cidrs").index(i);
            if let Some((_, _, other)) = plans.iter().find(|(o, _, _)| overlaps(o, c)) {
                out.push(cx.error(
                    &p,
                    format!("{c} overlaps the address plan of site {other:?}"),
                ));
            }
            plans.push((*c, p, &s.name));
        }
    }
    // Links.
    let mut link_names = BTreeSet::new();
    let mut ifnames: BTreeMap<(String, String), FieldPath> = BTreeMap::new();
    let mut subnets: Vec<(IpNet, String)> = Vec::new();
    let mut addrs: BTreeMap<std::net::IpAddr, FieldPath> = BTreeMap::new();
    for l in &t.links {
        if !link_names.insert(l.name.as_str()) {
            out.push(cx.error(
                &l.path.key("name"),
                format!("duplicate link name {:?}", l.name),
            ));
        }
        if let Some(mtu) = l.mtu
            && !(68..=65535).contains(&mtu)
        {
            out.push(cx.error(
                &l.path.key("mtu"),
                format!("mtu {mtu} is outside 68..65535"),
            ));
        }
        if l.endpoints[0].node == l.endpoints[1].node {
            out.push(cx.error(
                &l.path.key("endpoints"),
                format!(
                    "both ends of link {:?} are on {}",
                    l.name, l.endpoints[0].node
                ),
            ));
        }
        let mut link_nets: Vec<IpNet> = Vec::new();
        for (i, e) in l.endpoints.iter().enumerate() {
            let ep = l.path.key("endpoints").index(i);
            if t.node(&e.node).is_none() {
                out.push(cx.error(
                    &ep.key("node"),
                    format!("unknown node {:?} (nodes: {})", e.node, t.node_names()),
                ));
            }
            let ifname = l.ifname(i);
            if !valid_ifname(&ifname) {
                out.push(cx.error(&ep.key("ifname"), format!("interface name {ifname:?} is not valid (1-15 characters, no '/', ':' or spaces)")));
            } else if ifname == "lo" {
                out.push(cx.error(
                    &ep.key("ifname"),
                    "`lo` is the loopback interface; choose another name",
                ));
            }
            if let Some(first) = ifnames.insert((e.node.clone(), ifname.clone()), ep.clone()) {
                out.push(cx.error(
                    &ep,
                    format!("{} already has an interface {ifname:?} (from {first}); set `ifname` on one of them", e.node),
                ));
            }
            if e.address.is_some() && !e.addresses.is_empty() {
                out.push(cx.error(
                    &ep.key("addresses"),
                    "give `address` or `addresses`, not both",
                ));
            }
            let list: Vec<(FieldPath, IpNet)> = match e.address {
                Some(a) => vec![(ep.key("address"), a)],
                None => e
                    .addresses
                    .iter()
                    .enumerate()
                    .map(|(j, a)| (ep.key("addresses").index(j), *a))
                    .collect(),
            };
            for (ap, a) in list {
                if a.addr() == a.network() && a.prefix_len() < a.max_prefix_len().saturating_sub(1)
                {
                    out.push(cx.error(&ap, format!("{a} is a network address; give a host address with its prefix length, e.g. {}", example_host(&a))));
                }
                if let Some(first) = addrs.insert(a.addr(), ap.clone()) {
                    out.push(cx.error(
                        &ap,
                        format!("address {} is also assigned at {first}", a.addr()),
                    ));
                }
                // Subnets of other links must not overlap this one.
                let net = a.trunc();
                if let Some((_, other)) = subnets
                    .iter()
                    .find(|(n, other)| other != &l.name && overlaps(n, &net))
                {
                    out.push(cx.error(
                        &ap,
                        format!("subnet {net} overlaps a subnet of link {other:?}"),
                    ));
                }
                // The address plan covers links inside a site; transit links between sites
                // (and links of nodes without a site) are outside every plan. (Our choice.)
                let site_of = |node: &str| t.node(node).and_then(|n| n.site());
                if let Some(site) = site_of(&e.node)
                    && site_of(&l.endpoints[1 - i].node) == Some(site)
                    && let Some(s) = t.sites.iter().find(|s| s.name == site)
                    && !s.cidrs.is_empty()
                    && !s.cidrs.iter().any(|c| c.contains(&a.addr()))
                {
                    out.push(cx.error(
                        &ap,
                        format!(
                            "{} is outside the address plan of site {site:?} ({})",
                            a.addr(),
                            join(&s.cidrs)
                        ),
                    ));
                }
                link_nets.push(net);
                subnets.push((net, l.name.clone()));
            }
        }
        // Both ends of a link share their subnets (per family).
        let (a_nets, b_nets): (Vec<IpNet>, Vec<IpNet>) = (
            l.endpoints[0]
                .all_addresses()
                .iter()
                .map(|a| a.trunc())
                .collect(),
            l.endpoints[1]
                .all_addresses()
                .iter()
                .map(|a| a.trunc())
                .collect(),
        );
        for (j, n) in b_nets.iter().enumerate() {
            let same_family: Vec<&IpNet> = a_nets
                .iter()
                .filter(|a| a.addr().is_ipv4() == n.addr().is_ipv4())
                .collect();
            if !same_family.is_empty() && !same_family.contains(&n) {
                let ep = l.path.key("endpoints").index(1);
                let p = if l.endpoints[1].address.is_some() {
                    ep.key("address")
                } else {
                    ep.key("addresses").index(j)
                };
                out.push(cx.error(&p, format!("{n} is not the subnet of the other end ({}): both ends of a link share a subnet", join(&a_nets))));
            }
        }
    }
    for n in &t.nodes {
        out.extend(n.validate(t, cx));
    }
}

fn example_host(a: &IpNet) -> String {
    a.hosts()
        .next()
        .map(|h| format!("{h}/{}", a.prefix_len()))
        .unwrap_or_else(|| a.to_string())
}

fn join(nets: &[IpNet]) -> String {
    nets.iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn probes(s: &Scenario, cx: &ParseCx<'_>, out: &mut Vec<Diagnostic>) {
    let t = &s.topology;
    let mut names = BTreeSet::new();
    for p in &s.probes {
        if !names.insert(p.name.as_str()) {
            out.push(cx.error(
                &p.path.key("name"),
                format!("duplicate probe name {:?}", p.name),
            ));
        }
        if t.node(&p.from).is_none() {
            out.push(cx.error(
                &p.path.key("from"),
                format!("unknown node {:?} (nodes: {})", p.from, t.node_names()),
            ));
        } else if t.addresses(&p.from).is_empty() {
            out.push(cx.error(
                &p.path.key("from"),
                format!("node {} has no address to send from", p.from),
            ));
        }
        match (&p.to, p.to_address) {
            (Some(to), None) => {
                if t.node(to).is_none() {
                    out.push(cx.error(
                        &p.path.key("to"),
                        format!("unknown node {to:?} (nodes: {})", t.node_names()),
                    ));
                } else if t.addresses(to).is_empty() {
                    out.push(cx.error(
                        &p.path.key("to"),
                        format!("node {to} has no address to receive on"),
                    ));
                } else if to == &p.from {
                    out.push(cx.error(
                        &p.path.key("to"),
                        "a probe from a node to itself measures nothing",
                    ));
                }
            }
            (None, Some(addr)) => {
                let owner = t
                    .nodes
                    .iter()
                    .find(|n| t.addresses(n.name()).iter().any(|a| a.addr.addr() == addr));
                if owner.is_none() {
                    out.push(cx.error(
                        &p.path.key("to_address"),
                        format!(
                            "{addr} is not an address of any node (the receiver must be in the lab)"
                        ),
                    ));
                }
            }
            (Some(_), Some(_)) => out.push(cx.error(
                &p.path.key("to_address"),
                "give `to` or `to_address`, not both",
            )),
            (None, None) => out.push(cx.error(
                &p.path,
                "a probe needs `to = \"NODE\"` or `to_address = \"ADDRESS\"`",
            )),
        }
        if let Some(r) = p.rate
            && !(1..=100_000).contains(&r)
        {
            out.push(cx.error(
                &p.path.key("rate"),
                format!("rate {r} is outside 1..100000 per second"),
            ));
        }
        if p.port == Some(0) {
            out.push(cx.error(&p.path.key("port"), "port 0 is not a destination"));
        }
    }
}

fn timeline(s: &Scenario, cx: &ParseCx<'_>, out: &mut Vec<Diagnostic>) {
    let t = &s.topology;
    // Names of actions and expectations share one namespace (`after` refers to both).
    let mut names: BTreeMap<&str, &FieldPath> = BTreeMap::new();
    for (name, path) in s
        .timeline
        .iter()
        .map(|e| (&e.name, &e.path))
        .chain(s.expectations.iter().map(|e| (&e.name, &e.path)))
    {
        if let Some(first) = names.insert(name, path) {
            out.push(cx.error(
                &path.key("name"),
                format!(
                    "duplicate name {name:?} (also at {first}); `after` needs names to be unique"
                ),
            ));
        }
    }
    let dummy_timing = s.timing.clone();
    let placeholder_secret = crate::lab_secret::LabSecret::from_bytes(&[0; 32]);
    let env = |node: &str| NodeEnv {
        lab: &s.meta.name,
        node_dir: std::path::PathBuf::from("/nonexistent").join(node),
        socket: std::path::PathBuf::from("/nonexistent")
            .join(node)
            .join(format!("{node}.sock")),
        exe: std::path::PathBuf::from("hybridlab"),
        timing: &dummy_timing,
        topology: t,
        namespaces: Default::default(),
        lab_secret: &placeholder_secret,
    };
    let node_ok = |node: &str, p: &FieldPath, out: &mut Vec<Diagnostic>| {
        if t.node(node).is_none() {
            out.push(cx.error(
                p,
                format!("unknown node {node:?} (nodes: {})", t.node_names()),
            ));
            false
        } else {
            true
        }
    };
    let link_ok = |link: &str, p: &FieldPath, out: &mut Vec<Diagnostic>| {
        if t.link(link).is_none() {
            let l: Vec<&str> = t.links.iter().map(|l| l.name.as_str()).collect();
            out.push(cx.error(
                p,
                format!("unknown link {link:?} (links: {})", l.join(", ")),
            ));
            false
        } else {
            true
        }
    };
    let target_ok = |target: &CutTarget, p: &FieldPath, out: &mut Vec<Diagnostic>| match target {
        CutTarget::Link(l) => {
            link_ok(l, &p.key("link"), out);
        }
        CutTarget::Node(n) => {
            node_ok(n, &p.key("node"), out);
        }
    };
    let when_ok = |w: &When, p: &FieldPath, out: &mut Vec<Diagnostic>| match w {
        When::After { name, .. } if !names.contains_key(name.as_str()) => {
            let all: Vec<&str> = names.keys().copied().collect();
            out.push(cx.error(
                &p.key("after"),
                format!("nothing is named {name:?} (names: {})", all.join(", ")),
            ));
        }
        When::OnEvent { event, .. } => {
            node_ok(&event.node, &p.key("on_event").key("node"), out);
        }
        _ => {}
    };
    for e in &s.timeline {
        when_ok(&e.when, &e.path, out);
        let p = &e.path;
        match &e.action {
            Action::Cut { target, .. } => target_ok(target, p, out),
            Action::Restore {
                which: RestoreWhich::Target(target),
            } => target_ok(target, p, out),
            Action::Restore {
                which: RestoreWhich::Named(n),
            } => {
                if !s
                    .timeline
                    .iter()
                    .any(|x| &x.name == n && matches!(x.action, Action::Cut { .. }))
                {
                    out.push(cx.error(&p.key("cut"), format!("no cut action is named {n:?}")));
                }
            }
            Action::LinkDown { link, node } | Action::LinkUp { link, node } => {
                if link_ok(link, &p.key("link"), out)
                    && let Some(n) = node
                    && t.link(link).and_then(|l| l.end_on(n)).is_none()
                {
                    out.push(cx.error(&p.key("node"), format!("link {link} has no end on {n}")));
                }
            }
            Action::ResetNat { node } => {
                if node_ok(node, &p.key("node"), out)
                    && t.node(node).is_some_and(|n| n.masquerade().is_empty())
                {
                    out.push(cx.error(
                        &p.key("node"),
                        format!("{node} does no NAT (a [[router]] with `masquerade` does)"),
                    ));
                }
            }
            Action::Kill { node, process } | Action::Restart { node, process } => {
                if node_ok(node, &p.key("node"), out) {
                    let procs: Vec<String> = t
                        .node(node)
                        .map(|n| {
                            n.processes(&env(node))
                                .into_iter()
                                .map(|p| p.name)
                                .collect()
                        })
                        .unwrap_or_default();
                    match process {
                        None if procs.len() != 1 => out.push(cx.error(
                            &p.key("node"),
                            if procs.is_empty() {
                                format!(
                                    "{node} runs no process to {}",
                                    if matches!(e.action, Action::Kill { .. }) {
                                        "kill"
                                    } else {
                                        "restart"
                                    }
                                )
                            } else {
                                format!(
                                    "{node} runs several processes; say which with `process` ({})",
                                    procs.join(", ")
                                )
                            },
                        )),
                        Some(pn) if !procs.contains(pn) => out.push(cx.error(
                            &p.key("process"),
                            format!(
                                "{node} runs no process {pn:?} (it runs: {})",
                                if procs.is_empty() {
                                    "none".into()
                                } else {
                                    procs.join(", ")
                                }
                            ),
                        )),
                        _ => {}
                    }
                }
            }
            Action::Flap { link, .. } => {
                link_ok(link, &p.key("link"), out);
            }
            Action::Kind(k) => {
                if node_ok(&k.node, &p.key("node"), out)
                    && t.node(&k.node)
                        .is_some_and(|n| n.kind() != k.kind && !n.serves_action(&k.params.kind))
                {
                    out.push(cx.error(
                        &p.key("node"),
                        format!(
                            "action {} needs a {} node; {} is not one",
                            k.params.kind, k.kind, k.node
                        ),
                    ));
                }
            }
        }
    }
    for e in &s.expectations {
        when_ok(&e.when, &e.path, out);
        let p = &e.path;
        match &e.check {
            Check::Route { node, .. } | Check::State { node, .. } => {
                node_ok(node, &p.key("node"), out);
            }
            Check::Delivers { probe } | Check::MaxGap { probe, .. } => {
                if s.probe(probe).is_none() {
                    let l: Vec<&str> = s.probes.iter().map(|p| p.name.as_str()).collect();
                    out.push(cx.error(
                        &p.key("probe"),
                        format!(
                            "unknown probe {probe:?} (probes: {})",
                            if l.is_empty() {
                                "none declared".into()
                            } else {
                                l.join(", ")
                            }
                        ),
                    ));
                }
            }
            Check::Kind(k) => {
                node_ok(&k.node, &p.key("node"), out);
            }
        }
    }
    // `after` chains must not loop.
    let deps: BTreeMap<&str, (&str, &FieldPath)> = s
        .timeline
        .iter()
        .map(|e| (e.name.as_str(), &e.when, &e.path))
        .chain(
            s.expectations
                .iter()
                .map(|e| (e.name.as_str(), &e.when, &e.path)),
        )
        .filter_map(|(n, w, p)| w.depends_on().map(|d| (n, (d, p))))
        .collect();
    for (start, (_, path)) in &deps {
        let mut cur = *start;
        let mut steps = 0;
        while let Some((next, _)) = deps.get(cur) {
            steps += 1;
            if *next == *start {
                out.push(cx.error(
                    &path.key("after"),
                    format!("{start:?} waits for itself through a loop of `after`"),
                ));
                break;
            }
            if steps > deps.len() {
                break;
            }
            cur = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_node_name("r1") && valid_node_name("a-very-long-nam"));
        assert!(
            !valid_node_name("a-very-long-name")
                && !valid_node_name("R1")
                && !valid_node_name("-x")
                && !valid_node_name("")
        );
        assert!(valid_lab_name("two-sites") && !valid_lab_name("two_sites"));
        assert!(valid_ifname("eth0") && !valid_ifname("a/b") && !valid_ifname("sixteen-chars-xx"));
    }
}
