//! How the TGW's own GRE reaches appliances on premises: a Connect attachment whose transport is
//! a Direct Connect gateway attachment \[T2\].
//!
//! ```text
//!  appliance (on premises)      customer DX router     DX location router        TGW
//!  GRE src 172.16.0.10  ──────> 192.0.2.0/24 learned ─> allowed prefix 192.0.2.0/24 ─> 192.0.2.1
//!                               over the transit VIF    routed into the TGW            (on lo)
//!                                                       (dxgw daemon)
//!  GRE dst 172.16.0.10  <────── 172.16.0.0/24 <──────── VIF route, iBGP to the TGW <── main table:
//!                                                                                     172.16.0.0/24
//!                                                                                     via backbone
//! ```
//!
//! Towards the TGW, the DX gateway association announces its allowed prefixes to on premises
//! \[D7\] and routes traffic to them into the TGW \[D8\]; the TGW CIDR block must be among them
//! (`TgwDecl::check_dx_transports`). Back towards the appliance, the TGW's GRE packets are
//! its own, so they look up the namespace's main table (the policy rules by input interface
//! only catch forwarded packets, `crate::daemon`). For a VPC transport the kind puts the
//! VPC's CIDRs there once (`kind::tgw` `setup`). For a DX transport the routes come from what
//! the TGW learns over that DX gateway attachment's backbone session (the on-premises prefixes
//! the customer announces over its transit VIFs), so [`main_routes`] picks, for each Connect
//! peer over DX, the longest prefix learned over its transport attachment that covers the
//! peer's address, towards that attachment's DX router; the daemon keeps the main table equal
//! to it at every recompute, so the route follows the DX session (a withdrawn prefix takes the
//! peer's GRE, and then its BGP sessions, down at the hold time, as on AWS where GRE has no
//! keepalive of its own: inferred).
//!
//! Only the covering prefixes go in, not the whole DX RIB: the main table stays what the TGW
//! itself sends (forwarded traffic uses the route tables).
//!
//! What it does not do: decide the route tables (the DX routes reach them as DX gateway
//! routes through `crate::tables`), or talk netlink (the daemon does).

use std::collections::BTreeMap;

use gateway::fib::Target;
use ipnet::Ipv4Net;

use crate::config::{AttachmentKind, DxRuntime, TgwDecl};
use crate::tables::VpnPath;

/// The main-table routes that carry the TGW's GRE to every Connect peer over a Direct Connect
/// transport: for each such peer, the longest prefix learned over its transport attachment
/// that covers the peer's address, via that attachment's DX router (peers sharing a prefix
/// share the route; a peer with no covering route gets none, and its GRE has nowhere to go).
/// `learned` holds every path of the DX backbone sessions (`VpnPath` with the attachment as
/// `attachment`).
pub fn main_routes(
    tgw: &TgwDecl,
    dx: &[DxRuntime],
    learned: &[VpnPath],
) -> BTreeMap<Ipv4Net, Target> {
    let mut out: BTreeMap<Ipv4Net, Target> = BTreeMap::new();
    for c in &tgw.connects {
        if tgw.attachment_kind(&c.transport) != Some(AttachmentKind::DxGateway) {
            continue;
        }
        let Some(d) = dx.iter().find(|d| d.attachment == c.transport) else {
            continue;
        };
        for p in &c.peers {
            let best = learned
                .iter()
                .filter(|l| l.attachment == c.transport)
                .filter_map(|l| match l.prefix {
                    ipnet::IpNet::V4(n) if n.contains(&p.peer_address) => Some(n.trunc()),
                    _ => None,
                })
                .max_by_key(|n| n.prefix_len());
            let Some(prefix) = best else { continue };
            let hop = (d.address.into(), Some(d.ifname.clone()));
            match out.entry(prefix).or_insert_with(|| Target::Via(Vec::new())) {
                Target::Via(hops) if !hops.contains(&hop) => hops.push(hop),
                _ => {}
            }
        }
    }
    out
}

/// The prefix of `routes` that carries GRE to `address` (the kernel's longest match).
pub fn route_to(
    routes: &BTreeMap<Ipv4Net, Target>,
    address: std::net::Ipv4Addr,
) -> Option<Ipv4Net> {
    routes
        .keys()
        .filter(|n| n.contains(&address))
        .max_by_key(|n| n.prefix_len())
        .copied()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn tgw() -> TgwDecl {
        toml::from_str(
            r#"
name = "tgw1"
cidr_block = "192.0.2.0/24"
[[vpc_attachment]]
name = "att-vpc1"
vpc = "vpc1"
[[dx_attachment]]
name = "dxgw1"
[[connect]]
name = "over-dx"
transport = "dxgw1"
peer = [
  { name = "p1", inside_cidr = "169.254.6.0/29", peer_address = "172.16.0.10" },
  { name = "p2", inside_cidr = "169.254.6.8/29", peer_address = "172.16.0.10" },
  { name = "p3", inside_cidr = "169.254.6.16/29", peer_address = "172.16.9.10" },
]
[[connect]]
name = "over-vpc"
transport = "att-vpc1"
peer = [{ name = "p4", inside_cidr = "169.254.6.24/29", peer_address = "172.16.0.20" }]
"#,
        )
        .unwrap()
    }

    fn dx() -> Vec<DxRuntime> {
        vec![DxRuntime {
            attachment: "dxgw1".into(),
            address: Ipv4Addr::new(100, 65, 0, 1),
            local_address: Ipv4Addr::new(100, 65, 0, 2),
            ifname: "dx1".into(),
        }]
    }

    fn path(attachment: &str, prefix: &str) -> VpnPath {
        VpnPath {
            attachment: attachment.into(),
            tunnel: attachment.into(),
            prefix: prefix.parse().unwrap(),
            as_path: vec![65001],
            med: None,
            peer_asn: Some(65001),
            next_hop: Ipv4Addr::new(100, 65, 0, 1).into(),
        }
    }

    fn via() -> Target {
        Target::Via(vec![(
            Ipv4Addr::new(100, 65, 0, 1).into(),
            Some("dx1".into()),
        )])
    }

    #[test]
    fn the_longest_covering_dx_route_per_peer_and_nothing_else() {
        let learned = [
            path("dxgw1", "172.16.0.0/16"),
            path("dxgw1", "172.16.0.0/24"),
            path("dxgw1", "10.9.0.0/16"),
            // Another attachment's route never carries a DX peer's GRE.
            path("vpn1", "172.16.9.0/24"),
        ];
        let r = main_routes(&tgw(), &dx(), &learned);
        let want: BTreeMap<Ipv4Net, Target> = [
            ("172.16.0.0/24".parse().unwrap(), via()),
            ("172.16.0.0/16".parse().unwrap(), via()),
        ]
        .into_iter()
        .collect();
        // p1 and p2 share the /24; p3 (172.16.9.10) only has the /16; p4 is over a VPC.
        assert_eq!(r, want);
        assert_eq!(
            route_to(&r, Ipv4Addr::new(172, 16, 0, 10)),
            Some("172.16.0.0/24".parse().unwrap())
        );
    }

    #[test]
    fn no_covering_route_no_main_route() {
        assert!(main_routes(&tgw(), &dx(), &[path("dxgw1", "10.9.0.0/16")]).is_empty());
        assert!(main_routes(&tgw(), &[], &[path("dxgw1", "172.16.0.0/24")]).is_empty());
    }
}
