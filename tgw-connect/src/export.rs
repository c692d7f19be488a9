//! `hybridlab cgw-config --format frr SCENARIO|LAB CONNECT_ATTACHMENT`: the appliance side of a
//! Connect attachment's peers as FRR `bgpd` configuration, in the shape of AWS's sample
//! appliance configuration \[T5\]: per peer a GRE interface (`.1` of the inside /29, MTU 8476)
//! and two neighbours, `.2` and `.3`, in the TGW's ASN; `ebgp-multihop 2` when the session is
//! eBGP (the TGW requires it); the profile's keepalive/hold; the appliance's prefixes, and an
//! outbound prefix-list that lets only those out (an appliance that passed on what the TGW
//! sent it would return other sites' routes with the TGW's ASN in the path, and those count
//! towards the TGW's 1000 routes in); multipath across the peers.
//!
//! The GRE interfaces: on a kernel with `ip_gre` the header shows the `ip tunnel` commands; here
//! the appliance node with `external_bgp = true` runs our userspace GRE device, whose TUN
//! interface has the same name and address, so FRR needs no interface configuration.
//!
//! IPv6: a peer with an IPv6 inside /125 gets `::1/125` on its interface and its two
//! neighbours are activated in `address-family ipv6 unicast` (MP-BGP over the IPv4 sessions),
//! with the IPv6 next hop set to `::1` (a route-map per peer, so it never depends on which
//! global address FRR would pick) and an IPv6 outbound prefix-list.
//!
//! What it does not do: write files (the CLI prints).

use std::fmt::Write as _;

use engine::model::Scenario;

use crate::config::{ApplianceConfig, gre_ifname};
use crate::inside_cidr;
use crate::kind::query::ApplianceConfigOf;

/// The outbound prefix-lists: the appliance's own prefixes only.
const TO_TGW: &str = "TO-TGW";
const TO_TGW_V6: &str = "TO-TGW-V6";

/// An outbound prefix-list (`ip` or `ipv6`) permitting exactly `nets` (none: deny any).
fn prefix_list(s: &mut String, family: &str, name: &str, nets: &[&ipnet::IpNet]) {
    if nets.is_empty() {
        let _ = writeln!(s, "{family} prefix-list {name} seq 5 deny any");
    }
    for (i, n) in nets.iter().enumerate() {
        let _ = writeln!(
            s,
            "{family} prefix-list {name} seq {} permit {n}",
            (i + 1) * 5
        );
    }
}

/// The appliance whose peers belong to Connect attachment `attachment`, if any.
fn find(scenario: &Scenario, attachment: &str) -> Option<ApplianceConfig> {
    let q = ApplianceConfigOf {
        profile: scenario.timing.profile,
    };
    scenario
        .topology
        .ask(&q)
        .into_iter()
        .map(|(_, c)| c)
        .find(|c| c.peers.iter().any(|p| p.attachment == attachment))
}

/// Whether `name` is a Connect attachment ending on an appliance of the scenario.
pub fn is_connect(scenario: &Scenario, name: &str) -> bool {
    find(scenario, name).is_some()
}

/// FRR `bgpd` configuration of Connect attachment `attachment`'s appliance.
pub fn frr(scenario: &Scenario, attachment: &str) -> Result<String, String> {
    let c = find(scenario, attachment).ok_or_else(|| {
        format!(
            "{}: no appliance ends Connect attachment {attachment:?}",
            scenario.file
        )
    })?;
    let t = crate::timers::bgp(c.profile);
    let peers: Vec<_> = c
        .peers
        .iter()
        .filter(|p| p.attachment == attachment)
        .collect();
    let first = peers.first().ok_or("no peers")?;
    let (router_id, _) = inside_cidr::addresses(first.inside_cidr);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "! hybridlab: appliance {} of Connect attachment {attachment} (FRR bgpd), as AWS's sample appliance",
        c.name
    );
    for p in &peers {
        let (me, _) = inside_cidr::addresses(p.inside_cidr);
        let ifname = gre_ifname(&p.name);
        let _ = writeln!(
            s,
            "! Connect peer {}: interface {ifname} {me}/29, GRE local {} remote {}, MTU 8476\n\
             !   with ip_gre: ip tunnel add {ifname} mode gre local {} remote {} ttl 255\n\
             !                ip link set {ifname} mtu 8476 up; ip addr add {me}/29 dev {ifname}",
            p.name, p.local, p.remote, p.local, p.remote
        );
        if let Some(v6) = p.inside_cidr_v6 {
            let (me6, _) = inside_cidr::addresses_v6(v6);
            let _ = writeln!(s, "!                ip -6 addr add {me6}/125 dev {ifname}");
        }
        let _ = writeln!(
            s,
            "!   here: [[appliance]] external_bgp = true runs our GRE device as {ifname}"
        );
    }
    let (v4, v6): (Vec<&ipnet::IpNet>, Vec<&ipnet::IpNet>) =
        c.advertise.iter().partition(|n| n.addr().is_ipv4());
    let ipv6_peers: Vec<_> = peers
        .iter()
        .filter(|p| p.inside_cidr_v6.is_some())
        .collect();
    let _ = writeln!(s, "frr defaults traditional\n!");
    prefix_list(&mut s, "ip", TO_TGW, &v4);
    if !ipv6_peers.is_empty() {
        prefix_list(&mut s, "ipv6", TO_TGW_V6, &v6);
        for p in &ipv6_peers {
            let (me6, _) = inside_cidr::addresses_v6(p.inside_cidr_v6.expect("filtered"));
            let _ = writeln!(
                s,
                "route-map NH6-{} permit 10\n set ipv6 next-hop global {me6}",
                p.name
            );
        }
    }
    let _ = writeln!(s, "!");
    let _ = writeln!(s, "router bgp {}", first.asn);
    let _ = writeln!(s, " bgp router-id {router_id}");
    let _ = writeln!(s, " no bgp ebgp-requires-policy");
    let _ = writeln!(s, " no bgp network import-check");
    for p in &peers {
        let (me, tgw) = inside_cidr::addresses(p.inside_cidr);
        for a in tgw {
            let _ = writeln!(s, " neighbor {a} remote-as {}", p.tgw_asn);
            if p.asn != first.asn {
                let _ = writeln!(s, " neighbor {a} local-as {} no-prepend replace-as", p.asn);
            }
            let _ = writeln!(s, " neighbor {a} update-source {me}");
            if p.asn != p.tgw_asn {
                let _ = writeln!(s, " neighbor {a} ebgp-multihop {}", p.ebgp_multihop);
            }
            let _ = writeln!(
                s,
                " neighbor {a} timers {} {}",
                t.keepalive,
                t.hold_time.secs()
            );
        }
    }
    let _ = writeln!(s, " !\n address-family ipv4 unicast");
    for n in &v4 {
        let _ = writeln!(s, "  network {n}");
    }
    for p in &peers {
        let (_, tgw) = inside_cidr::addresses(p.inside_cidr);
        for a in tgw {
            let _ = writeln!(s, "  neighbor {a} prefix-list {TO_TGW} out");
        }
    }
    let _ = writeln!(s, "  maximum-paths 8\n  maximum-paths ibgp 8");
    let _ = writeln!(s, " exit-address-family");
    if !ipv6_peers.is_empty() {
        let _ = writeln!(s, " !\n address-family ipv6 unicast");
        for n in &v6 {
            let _ = writeln!(s, "  network {n}");
        }
        for p in &ipv6_peers {
            let (_, tgw) = inside_cidr::addresses(p.inside_cidr);
            for a in tgw {
                let _ = writeln!(s, "  neighbor {a} activate");
                let _ = writeln!(s, "  neighbor {a} prefix-list {TO_TGW_V6} out");
                let _ = writeln!(s, "  neighbor {a} route-map NH6-{} out", p.name);
            }
        }
        let _ = writeln!(s, "  maximum-paths 8\n  maximum-paths ibgp 8");
        let _ = writeln!(s, " exit-address-family");
    }
    let _ = writeln!(s, "!");
    Ok(s)
}
