//! From a scenario's `[[vgw]]`, `[[vpc]]` and `[[cgw]]` nodes to the configuration files the
//! `vgw` and `cgw` daemons read, as AWS would fill them in: tunnel outside addresses in order
//! from the VGW's internet CIDR, inside /30s AWS-chosen (seeded by the VGW's `seed`) unless
//! given, pre-shared keys derived from the seed unless given (so `hybridlab cgw-config` prints
//! the keys a run of the same scenario uses; a lab choice, AWS draws random keys), and the
//! customer gateway's view of each connection (`vpn::plan::customer_view`).
//!
//! Every function is pure: the same topology gives the same files, so each node's process and
//! every `validate` agree without sharing state.
//!
//! What it does not do: write files or start anything.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use vpn::config::{CgwConfig, Profile, VgwConfig, VgwConnection, VgwTunnel, VpcConfig};
use vpn::plan::{InsideCidrAllocator, customer_view, derive_psk};

use super::cgw::Cgw;
use super::vgw::Vgw;
use super::vpc::Vpc;
use crate::model::Topology;
use crate::source::FieldPath;

/// A planning error: where (a field of the scenario) and why. Never contains a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The field.
    pub path: FieldPath,
    /// What is wrong.
    pub message: String,
}

impl PlanError {
    fn new(path: FieldPath, message: impl Into<String>) -> PlanError {
        PlanError {
            path,
            message: message.into(),
        }
    }
}

/// Node `name` of kind `T`, if the topology has one.
pub fn node_as<'t, T: 'static>(topo: &'t Topology, name: &str) -> Option<&'t T> {
    topo.node(name)
        .and_then(|n| (n as &dyn std::any::Any).downcast_ref::<T>())
}

/// Every node of kind `T`, in declaration order.
pub fn nodes_of<T: 'static>(topo: &Topology) -> impl Iterator<Item = &T> {
    topo.nodes
        .iter()
        .filter_map(|n| (n.as_ref() as &dyn std::any::Any).downcast_ref::<T>())
}

/// The last usable host address of `net`: the internet router's default address on a
/// gateway's outside link.
pub fn last_host(net: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.broadcast()).saturating_sub(1))
}

/// `n`-th host of `net` (1-based).
pub fn host(net: Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + n)
}

/// The VGW's configuration. `vpc_netns` is the VPC router's namespace path (a placeholder
/// while validating: nothing opens it then).
pub fn vgw_config(
    vgw: &Vgw,
    topo: &Topology,
    profile: Profile,
    vpc_netns: PathBuf,
) -> Result<VgwConfig, PlanError> {
    let vpc: &Vpc = node_as(topo, &vgw.vpc).ok_or_else(|| {
        PlanError::new(
            vgw.path().key("vpc"),
            format!("{:?} is not a [[vpc]] node", vgw.vpc),
        )
    })?;
    let outside = vgw.outside_addresses();
    if outside.len() < vgw.connections.len() * 2 {
        return Err(PlanError::new(
            vgw.path().key("internet").key("cidr"),
            format!(
                "{} has room for {} tunnel outside addresses; {} connections need {}",
                vgw.internet.cidr,
                outside.len(),
                vgw.connections.len(),
                vgw.connections.len() * 2
            ),
        ));
    }
    let given = vgw
        .connections
        .iter()
        .flat_map(|c| c.tunnels.iter().filter_map(|t| t.inside_cidr));
    let mut allocator = InsideCidrAllocator::new(vgw.seed, given);
    let mut connections = Vec::new();
    for (ci, c) in vgw.connections.iter().enumerate() {
        let at = vgw.path().key("connection").index(ci);
        let cgw: &Cgw = node_as(topo, &c.cgw).ok_or_else(|| {
            PlanError::new(at.key("cgw"), format!("{:?} is not a [[cgw]] node", c.cgw))
        })?;
        if c.tunnels.len() != 2 {
            return Err(PlanError::new(
                at.key("tunnel"),
                format!(
                    "a VPN connection has exactly two tunnels, not {}",
                    c.tunnels.len()
                ),
            ));
        }
        let mut tunnels = Vec::new();
        for (ti, t) in c.tunnels.iter().enumerate() {
            let inside_cidr = t.inside_cidr.unwrap_or_else(|| allocator.allocate());
            let pre_shared_key = t.pre_shared_key.clone().unwrap_or_else(|| {
                derive_psk(vgw.seed, &format!("{}/{}/t{}", vgw.name, c.name, ti + 1))
            });
            tunnels.push(VgwTunnel {
                outside_ip: outside[ci * 2 + ti],
                customer_ip: cgw.internet.address.addr(),
                inside_cidr,
                pre_shared_key,
                options: t.options.clone().unwrap_or_default(),
            });
        }
        connections.push(VgwConnection {
            name: c.name.clone(),
            routing: c.routing,
            customer_asn: Some(cgw.asn),
            static_routes: c.static_routes.clone(),
            tunnels,
        });
    }
    let config = VgwConfig {
        name: vgw.name.clone(),
        amazon_side_asn: vgw.amazon_side_asn,
        profile,
        seed: vgw.seed,
        router_id: None,
        vpc_cidrs: vpc.cidrs.clone(),
        vpc: Some(VpcConfig {
            netns: vpc_netns,
            vgw_address: host(vgw.vpc_link, 1),
            router_address: host(vgw.vpc_link, 2),
            propagation: vpc.propagation,
            table: 254,
            static_routes: vpc.static_routes.clone(),
        }),
        connections,
    };
    config
        .validate()
        .map_err(|e| PlanError::new(item_path(vgw.path(), &e.item), e.message))?;
    Ok(config)
}

/// The customer gateway's configuration: every connection of every VGW that names it, in
/// declaration order, as AWS's "download configuration" describes it, plus its own policy
/// (advertised prefixes, prepends, MEDs, tunnel mode).
pub fn cgw_config(cgw: &Cgw, topo: &Topology, profile: Profile) -> Result<CgwConfig, PlanError> {
    let mut connections = Vec::new();
    for vgw in nodes_of::<Vgw>(topo) {
        if !vgw.connections.iter().any(|c| c.cgw == cgw.name) {
            continue;
        }
        let vc = vgw_config(vgw, topo, profile, PathBuf::new())?;
        for (c, spec) in vc.connections.iter().zip(&vgw.connections) {
            if spec.cgw != cgw.name {
                continue;
            }
            let mut view = customer_view(&vc, c);
            view.amazon_side_asn = vgw.amazon_side_asn;
            for (ti, t) in view.tunnels.iter_mut().enumerate() {
                let name = vpn::vgw::tunnel_name(&c.name, ti);
                if let Some(policy) = cgw.tunnels.get(&name) {
                    t.as_path_prepend = policy.as_path_prepend;
                    t.med = policy.med;
                }
            }
            connections.push(view);
        }
    }
    if connections.is_empty() {
        return Err(PlanError::new(
            cgw.path().key("name"),
            format!(
                "no VPN connection uses customer gateway {} (add a [[vgw.connection]] with cgw = {:?})",
                cgw.name, cgw.name
            ),
        ));
    }
    let config = CgwConfig {
        name: cgw.name.clone(),
        asn: cgw.asn,
        profile,
        router_id: None,
        advertise: cgw.advertised(),
        mode: cgw.mode,
        connections,
    };
    config
        .validate()
        .map_err(|e| PlanError::new(item_path(cgw.path(), &e.item), e.message))?;
    Ok(config)
}

/// `connection[0].tunnel[1].inside_cidr` under `base`.
fn item_path(base: &FieldPath, item: &str) -> FieldPath {
    let mut p = base.clone();
    for part in item.split('.') {
        match part.split_once('[') {
            Some((key, rest)) => {
                p = p.key(key);
                for idx in rest.split('[') {
                    if let Ok(i) = idx.trim_end_matches(']').parse::<usize>() {
                        p = p.index(i);
                    }
                }
            }
            None if part.starts_with("line ") || part == "file" => {}
            None => p = p.key(part),
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_paths_follow_the_config_items() {
        let base = FieldPath::default().key("vgw").index(0);
        assert_eq!(
            item_path(&base, "connection[1].tunnel[0].inside_cidr").to_string(),
            "vgw[0].connection[1].tunnel[0].inside_cidr"
        );
        assert_eq!(
            item_path(&base, "amazon_side_asn").to_string(),
            "vgw[0].amazon_side_asn"
        );
    }

    #[test]
    fn last_host_of_a_24_is_254() {
        assert_eq!(
            last_host("203.0.113.0/24".parse().unwrap()),
            Ipv4Addr::new(203, 0, 113, 254)
        );
        assert_eq!(
            host("203.0.113.0/24".parse().unwrap(), 3),
            Ipv4Addr::new(203, 0, 113, 3)
        );
    }
}
