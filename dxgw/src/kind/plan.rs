//! AWS's choices for one `[[dxgw]]` node, made once and pure so every node agrees: the peer
//! addresses and MD5 key of each VIF where the scenario gives none (seeded,
//! [`crate::peering::choose`], [`crate::auth_key::AuthKey::generate`]), the backbone /30 of each
//! association, and from them the DX daemon's file ([`dx_config`]) and the customer's view of
//! its connections ([`customer_view`], AWS's "download router configuration").
//!
//! What it does not do: validate AWS's rules (the daemon file's `validate` does, and plan
//! errors carry its item back to the scenario's field), or the customer's own policy (the
//! `dx-router` kind adds it).

use std::net::Ipv4Addr;

use engine::model::Topology;
use engine::model::timing::Profile;
use engine::source::FieldPath;
use ipnet::Ipv4Net;
use rand::SeedableRng;
use vgw::kind::query::{PlanError, VgwFacts};

use super::node::DxLocation;
use super::query::DxCustomerOf;
use crate::auth_key::AuthKey;
use crate::config::{Association, AssociationKind, Connection, DxConfig, DxGateway, Vif};
use crate::customer::{CustomerConnection, CustomerVif};
use crate::peering;

/// The cross-connect's interface name on both ends (at most 15 octets).
pub fn xc_ifname(connection: &str) -> String {
    let base: String = connection.chars().take(13).collect();
    format!("xc{base}")
}

/// Host `n` of a /30.
fn host(net: Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + n)
}

/// Every association of the node: (DX gateway name, VGW or TGW node, backbone /30, allowed
/// prefixes as given), in declaration order.
pub fn backbone(node: &DxLocation) -> Vec<(String, String, Ipv4Net, Option<Vec<Ipv4Net>>)> {
    let mut out = Vec::new();
    for g in &node.gateways {
        for a in &g.associations {
            let n = out.len() as u8;
            let link = a
                .link
                .unwrap_or_else(|| Ipv4Net::new(Ipv4Addr::new(100, 65, n, 0), 30).expect("a /30"));
            out.push((
                g.name.clone(),
                a.target().to_string(),
                link,
                a.allowed_prefixes.clone(),
            ));
        }
    }
    out
}

/// Maps a daemon-file item (`connection[0].vif[1].vlan`) back to the scenario's field.
fn item_path(base: &FieldPath, item: &str) -> FieldPath {
    let mut p = base.clone();
    for part in item.split('.') {
        match part.split_once('[') {
            Some((key, rest)) => {
                p = p.key(key);
                if let Ok(i) = rest.trim_end_matches(']').parse::<usize>() {
                    p = p.index(i);
                }
            }
            None => p = p.key(part),
        }
    }
    p
}

/// The DX daemon's file for `node`.
pub fn dx_config(
    node: &DxLocation,
    topo: &Topology,
    profile: Profile,
) -> Result<DxConfig, PlanError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(node.seed);
    let mut taken: Vec<Ipv4Net> = node
        .connections
        .iter()
        .flat_map(|c| {
            c.vifs
                .iter()
                .filter_map(|v| v.amazon_address.map(|a| a.trunc()))
        })
        .collect();
    let mut taken_v6: Vec<ipnet::Ipv6Net> = node
        .connections
        .iter()
        .flat_map(|c| {
            c.vifs
                .iter()
                .filter_map(|v| v.amazon_address_v6.map(|a| a.trunc()))
        })
        .collect();
    let mut connections = Vec::new();
    for (ci, c) in node.connections.iter().enumerate() {
        let at = node.path.key("connection").index(ci);
        let customer_asn = topo.ask_node(&c.router, &DxCustomerOf).ok_or_else(|| {
            PlanError::new(
                at.key("router"),
                format!("{:?} is not a [[dx-router]] node", c.router),
            )
        })?;
        let mut vifs = Vec::new();
        for (vi, v) in c.vifs.iter().enumerate() {
            let vat = at.key("vif").index(vi);
            let (amazon_address, customer_address) = match (v.amazon_address, v.customer_address) {
                (Some(a), Some(c)) => (a, c),
                (None, None) => {
                    let pair = peering::choose(&mut rng, &taken);
                    taken.push(pair.0.trunc());
                    pair
                }
                _ => {
                    return Err(PlanError::new(
                        vat.key("amazon_address"),
                        "give both peer addresses or neither (AWS then picks both)",
                    ));
                }
            };
            let (amazon_address_v6, customer_address_v6) =
                match (v.amazon_address_v6, v.customer_address_v6) {
                    (Some(a), Some(c)) => (Some(a), Some(c)),
                    (None, None) if v.ipv6 => {
                        let (a, c) = peering::choose_v6(&mut rng, &taken_v6);
                        taken_v6.push(a.trunc());
                        (Some(a), Some(c))
                    }
                    (None, None) => (None, None),
                    _ => {
                        return Err(PlanError::new(
                            vat.key("amazon_address_v6"),
                            "give both IPv6 peer addresses or neither",
                        ));
                    }
                };
            let auth_key = match &v.auth_key {
                Some(k) => k.clone(),
                None => AuthKey::generate(&mut rng),
            };
            vifs.push(Vif {
                name: v.name.clone(),
                vif_type: v.vif_type,
                vlan: v.vlan,
                mtu: v.mtu,
                gateway: v.gateway.clone(),
                customer_asn,
                amazon_address,
                customer_address,
                amazon_address_v6,
                customer_address_v6,
                auth_key,
                hold_time: v.hold_time,
                keepalive: v.keepalive,
                bfd: v.bfd,
            });
        }
        connections.push(Connection {
            name: c.name.clone(),
            interface: xc_ifname(&c.name),
            vifs,
        });
    }
    let links = backbone(node);
    let mut gateways = Vec::new();
    for (gi, g) in node.gateways.iter().enumerate() {
        let mut associations = Vec::new();
        let declared = links.iter().filter(|l| l.0 == g.name).zip(&g.associations);
        for (ai, ((_, target, link, allowed), decl)) in declared.enumerate() {
            let at = node
                .path
                .key("gateway")
                .index(gi)
                .key("association")
                .index(ai);
            let (key, kind) = match (&decl.vgw, &decl.tgw) {
                (Some(_), None) => ("vgw", AssociationKind::Vgw),
                (None, Some(_)) => ("tgw", AssociationKind::Tgw),
                _ => {
                    return Err(PlanError::new(
                        at,
                        "give exactly one of vgw = \"NODE\" or tgw = \"NODE\"".to_string(),
                    ));
                }
            };
            let facts = topo.ask_node(target, &VgwFacts).ok_or_else(|| {
                PlanError::new(
                    at.key(key),
                    format!("{target:?} is not a [[{key}]] node (a TGW needs a [[tgw.dx_attachment]] naming this DX gateway)"),
                )
            })?;
            if facts.transit_gateway != (kind == AssociationKind::Tgw) {
                let (is, write) = if facts.transit_gateway {
                    ("a Transit Gateway", "tgw")
                } else {
                    ("a virtual private gateway", "vgw")
                };
                return Err(PlanError::new(
                    at.key(key),
                    format!("{target:?} is {is}: write {write} = {target:?}"),
                ));
            }
            associations.push(Association {
                name: target.clone(),
                kind,
                asn: facts.asn,
                local_address: host(*link, 1),
                peer_address: host(*link, 2),
                allowed_prefixes: allowed.clone().unwrap_or(facts.vpc_cidrs),
            });
        }
        gateways.push(DxGateway {
            name: g.name.clone(),
            sitelink: g.sitelink,
            associations,
        });
    }
    let config = DxConfig {
        name: node.name.clone(),
        amazon_side_asn: node.amazon_side_asn,
        profile,
        router_id: None,
        connections,
        gateways,
    };
    config
        .validate()
        .map_err(|e| PlanError::new(item_path(&node.path, &e.item), e.message))?;
    Ok(config)
}

/// The connections of `node` to customer router `router`, as the customer sees them (no
/// customer policy yet).
pub fn customer_view(
    node: &DxLocation,
    topo: &Topology,
    router: &str,
    profile: Profile,
) -> Result<Vec<CustomerConnection>, PlanError> {
    let config = dx_config(node, topo, profile)?;
    Ok(node
        .connections
        .iter()
        .zip(&config.connections)
        .filter(|(decl, _)| decl.router == router)
        .map(|(_, c)| CustomerConnection {
            name: c.name.clone(),
            interface: c.interface.clone(),
            vifs: c
                .vifs
                .iter()
                .map(|v| CustomerVif {
                    name: v.name.clone(),
                    vlan: v.vlan,
                    mtu: v.mtu,
                    local_address: v.customer_address,
                    peer_address: v.amazon_address.addr(),
                    local_address_v6: v.customer_address_v6,
                    peer_address_v6: v.amazon_address_v6.map(|a| a.addr()),
                    amazon_asn: config.amazon_side_asn,
                    auth_key: v.auth_key.clone(),
                    bfd: true,
                    communities: Vec::new(),
                    as_path_prepend: 0,
                    local_pref: None,
                })
                .collect(),
        })
        .collect())
}
