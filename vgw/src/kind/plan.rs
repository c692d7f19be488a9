//! From a scenario's `[[vgw]]` node to the configuration file the `vgw` daemon reads, as AWS
//! would fill it in: tunnel outside addresses in order from the VGW's internet CIDR, inside
//! /30s AWS-chosen (seeded by the VGW's `seed`, default 1) unless given, pre-shared keys
//! random per lab unless given ([`KeySource`]), and each customer gateway's view of its
//! connections (`crate::plan::customer_view`). The VPC and the customer gateways are asked
//! through [`super::query`].
//!
//! Keys: AWS draws a random key for each tunnel the customer gives none for. A lab does the
//! same from its per-run secret (`engine::lab_secret`, drawn from the OS CSPRNG): the key of
//! tunnel 1 of `vgw1/vpn1` is HMAC-SHA256(lab secret, `vgw1/vpn1/t1`) in AWS's alphabet, so
//! the VGW's and the customer gateway's plans agree without sharing anything but the secret.
//! A `[[vgw]]` with `seed = N` derives them from the seed instead, so a scenario replays with
//! the same keys and `hybridlab cgw-config SCENARIO` can print them before any lab runs.
//!
//! Every function is pure: the same topology and key source give the same files, so each
//! node's process and every `validate` agree without sharing state.
//!
//! What it does not do: write files or start anything.

use std::path::PathBuf;

use engine::model::Topology;
use engine::model::timing::Profile;
use engine::source::FieldPath;

use super::addressing::host;
pub use super::keys::KeySource;
use super::node::Vgw;
use super::query::{CustomerGatewayOf, DirectConnectPeersOf, PlanError, VpcOf};
use crate::config::{CgwConnection, VgwConfig, VgwConnection, VgwTunnel, VpcConfig};
use crate::plan::{InsideCidrAllocator, customer_view, derive_psk, derive_psk_from};
use crate::psk::Psk;

/// The key of a tunnel the scenario gives none for; `label` is `vgw/connection/tN`.
fn default_key(vgw: &Vgw, keys: &KeySource, label: &str) -> Psk {
    match (vgw.seed, keys) {
        (Some(seed), _) => derive_psk(seed, label),
        (None, KeySource::Lab(secret)) => derive_psk_from(secret.expose(), label),
        (None, KeySource::NoLab) => derive_psk_from(b"placeholder: no lab, no key", label),
    }
}

/// The VGW's configuration. `vpc_netns` is the VPC router's namespace path (a placeholder
/// while validating: nothing opens it then).
pub fn vgw_config(
    vgw: &Vgw,
    topo: &Topology,
    profile: Profile,
    vpc_netns: PathBuf,
    keys: &KeySource,
) -> Result<VgwConfig, PlanError> {
    let vpc = topo.ask_node(&vgw.vpc, &VpcOf).ok_or_else(|| {
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
    let mut allocator = InsideCidrAllocator::new(vgw.address_seed(), given);
    let mut connections = Vec::new();
    for (ci, c) in vgw.connections.iter().enumerate() {
        let at = vgw.path().key("connection").index(ci);
        let cgw = topo.ask_node(&c.cgw, &CustomerGatewayOf).ok_or_else(|| {
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
                default_key(vgw, keys, &format!("{}/{}/t{}", vgw.name, c.name, ti + 1))
            });
            tunnels.push(VgwTunnel {
                outside_ip: outside[ci * 2 + ti],
                customer_ip: cgw.outside_ip,
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
        seed: vgw.address_seed(),
        router_id: None,
        underlay_gateway: Some(vgw.internet.peer()),
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
        direct_connect: topo
            .ask(&DirectConnectPeersOf {
                vgw: vgw.name.clone(),
            })
            .into_iter()
            .flat_map(|(_, peers)| peers)
            .collect(),
        inside_cidrs_per_connection: vgw.inside_cidrs_per_connection,
    };
    config
        .validate()
        .map_err(|e| PlanError::new(item_path(vgw.path(), &e.item), e.message))?;
    Ok(config)
}

/// Customer gateway `cgw`'s view of its connections on `vgw`, in declaration order (empty
/// when it has none there), as AWS's "download configuration" describes them.
pub fn customer_views(
    vgw: &Vgw,
    topo: &Topology,
    cgw: &str,
    profile: Profile,
    keys: &KeySource,
) -> Result<Vec<CgwConnection>, PlanError> {
    if !vgw.connections.iter().any(|c| c.cgw == cgw) {
        return Ok(Vec::new());
    }
    let vc = vgw_config(vgw, topo, profile, PathBuf::new(), keys)?;
    Ok(vc
        .connections
        .iter()
        .zip(&vgw.connections)
        .filter(|(_, spec)| spec.cgw == cgw)
        .map(|(c, _)| {
            let mut view = customer_view(&vc, c);
            view.amazon_side_asn = vgw.amazon_side_asn;
            view
        })
        .collect())
}

/// `path`'s item `item` (`connection[0].tunnel[1].inside_cidr`), for a configuration error.
pub fn config_error_path(base: &FieldPath, item: &str) -> FieldPath {
    item_path(base, item)
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
}
