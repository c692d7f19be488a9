//! One route table's candidates and its kernel routes: static and blackhole routes of the
//! table, the CIDR blocks of VPC attachments that propagate to it, and the BGP paths learned
//! from Connect peers of Connect attachments that propagate to it, evaluated by
//! [`routing::tgw::select`] (`aws-behaviour.md` §6), and the selections turned into the
//! kernel routes of the table (an ECMP set becomes one multipath route).
//!
//! Routes received over Connect without a MED get 100 \[T2\]; both sessions of a peer give
//! candidates with the peer as `via`, which `routing::tgw` combines (item 9).
//!
//! IPv6 CIDRs (a VPC's with `ipv6_support`, an appliance's over MP-BGP) are candidates of the
//! same table, with IPv6 next hops: the VPC router's on the attachment link, the appliance's
//! `::1` of the peer's /125.
//!
//! What it does not do: talk BGP or netlink (the daemon does), or decide (routing::tgw does).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use gateway::fib::Target;
use ipnet::IpNet;
use routing::tgw::{Candidate, Selection, TgwRouteKind};
use serde::Serialize;

use crate::config::{
    AttachmentKind, CONNECT_DEFAULT_MED, ResolvedTable, TgwDecl, VpcRuntime, gre_ifname,
};

/// A path a Connect peer's session announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectPath {
    /// The Connect attachment.
    pub attachment: String,
    /// The peer.
    pub peer: String,
    /// The TGW speaker that learned it (`.2` or `.3`).
    pub speaker: Ipv4Addr,
    /// Destination, either family.
    pub prefix: IpNet,
    /// AS_PATH.
    pub as_path: Vec<u32>,
    /// MED as received.
    pub med: Option<u32>,
    /// The appliance's ASN.
    pub peer_asn: u32,
    /// The appliance's inside address of the prefix's family (`.1`, `::1`): the next hop.
    pub next_hop: IpAddr,
}

/// A route a VPN attachment's tunnel offers (learned over its BGP session, or a static VPN
/// route while the tunnel is up), or a Direct Connect gateway attachment's backbone session
/// (`tunnel` is then the attachment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VpnPath {
    /// The VPN attachment.
    pub attachment: String,
    /// The tunnel (`vpn1-t1`).
    pub tunnel: String,
    /// Destination (IPv4: VPN and DX attachments carry IPv4 only here).
    pub prefix: IpNet,
    /// AS_PATH (empty for a static route).
    pub as_path: Vec<u32>,
    /// MED as received.
    pub med: Option<u32>,
    /// The customer gateway's ASN (`None`: static).
    pub peer_asn: Option<u32>,
    /// The customer gateway's inside address.
    pub next_hop: IpAddr,
}

/// The ASNs of an AS_PATH as `bgp` prints it (`65001 65002 {65003,65004}`), in order.
pub fn parse_as_path(text: &str) -> Vec<u32> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Every candidate of `table`.
pub fn candidates(
    tgw: &TgwDecl,
    vpcs: &[VpcRuntime],
    table: &ResolvedTable,
    learned: &[ConnectPath],
    vpn: &[VpnPath],
    up_tunnels: &[(String, String, Ipv4Addr)],
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for r in &table.routes {
        match (&r.attachment, r.blackhole) {
            (_, true) => out.push(Candidate::blackhole(r.cidr)),
            (Some(a), false) if tgw.attachment_kind(a) == Some(AttachmentKind::Vpn) => {
                // A static route to a VPN attachment uses one of its tunnels that is up.
                for (_, tunnel, next_hop) in up_tunnels.iter().filter(|(att, _, _)| att == a) {
                    let mut c = Candidate::static_route(r.cidr, a);
                    c.via = tunnel.clone();
                    c.next_hop = Some(IpAddr::V4(*next_hop));
                    out.push(c);
                }
            }
            (Some(a), false) => {
                let mut c = Candidate::static_route(r.cidr, a);
                if let Some(v) = vpcs.iter().find(|v| &v.attachment == a) {
                    c.next_hop = v.next_hop(r.cidr.addr().is_ipv6());
                }
                out.push(c);
            }
            (None, false) => {}
        }
    }
    for a in &table.propagations {
        match tgw.attachment_kind(a) {
            Some(AttachmentKind::Vpc) => {
                if let Some(v) = vpcs.iter().find(|v| &v.attachment == a) {
                    for cidr in &v.cidrs {
                        let mut c = Candidate::propagated((*cidr).into(), TgwRouteKind::Vpc, a, a);
                        c.next_hop = Some(IpAddr::V4(v.vpc_address));
                        out.push(c);
                    }
                    for (cidr, ipv6) in v
                        .ipv6
                        .iter()
                        .flat_map(|x| x.cidrs.iter().map(move |c| (c, x)))
                    {
                        let mut c = Candidate::propagated((*cidr).into(), TgwRouteKind::Vpc, a, a);
                        c.next_hop = Some(IpAddr::V6(ipv6.vpc_address));
                        out.push(c);
                    }
                }
            }
            Some(AttachmentKind::Connect) => {
                for p in learned.iter().filter(|p| &p.attachment == a) {
                    let mut c = Candidate::propagated(p.prefix, TgwRouteKind::Connect, a, &p.peer)
                        .bgp(
                            &p.as_path,
                            p.peer_asn,
                            p.med.unwrap_or(CONNECT_DEFAULT_MED),
                            p.peer_asn != tgw.asn,
                        );
                    c.next_hop = Some(p.next_hop);
                    out.push(c);
                }
            }
            Some(k @ (AttachmentKind::Vpn | AttachmentKind::DxGateway)) => {
                let kind = if k == AttachmentKind::Vpn {
                    TgwRouteKind::Vpn
                } else {
                    TgwRouteKind::DxGateway
                };
                for p in vpn.iter().filter(|p| &p.attachment == a) {
                    let mut c = Candidate::propagated(p.prefix, kind, a, &p.tunnel);
                    if let Some(asn) = p.peer_asn {
                        c = c.bgp(&p.as_path, asn, p.med.unwrap_or(0), asn != tgw.asn);
                    }
                    c.next_hop = Some(p.next_hop);
                    out.push(c);
                }
            }
            None => {}
        }
    }
    out
}

/// The interface a selected path leaves by; `tunnels` maps VPN tunnel names to interfaces.
pub fn ifname_of(
    vpcs: &[VpcRuntime],
    tunnels: &BTreeMap<String, String>,
    c: &Candidate,
) -> Option<String> {
    match c.kind {
        TgwRouteKind::Connect => Some(gre_ifname(&c.via)),
        TgwRouteKind::Vpn | TgwRouteKind::VpnOverDx | TgwRouteKind::DxGateway => {
            tunnels.get(&c.via).cloned()
        }
        TgwRouteKind::Static if tunnels.contains_key(&c.via) => tunnels.get(&c.via).cloned(),
        _ => vpcs
            .iter()
            .find(|v| v.attachment == c.attachment)
            .map(|v| v.ifname.clone()),
    }
}

/// The kernel routes of a table's selections: blackholes, and one (multipath) route per CIDR.
pub fn kernel_routes(
    vpcs: &[VpcRuntime],
    tunnels: &BTreeMap<String, String>,
    selections: &[Selection],
) -> BTreeMap<IpNet, Target> {
    let mut out = BTreeMap::new();
    for s in selections {
        if s.blackhole {
            out.insert(s.prefix, Target::Blackhole);
            continue;
        }
        let hops: Vec<(IpAddr, Option<String>)> = s
            .paths
            .iter()
            .filter_map(|c| Some((c.next_hop?, ifname_of(vpcs, tunnels, c))))
            .collect();
        if !hops.is_empty() {
            out.insert(s.prefix, Target::Via(hops));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_path_text() {
        assert_eq!(parse_as_path(""), Vec::<u32>::new());
        assert_eq!(parse_as_path("65010 65010 {1,2}"), vec![65010, 65010, 1, 2]);
    }
}
