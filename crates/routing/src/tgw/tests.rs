//! Table tests of every rule of `aws-behaviour.md` §6 and §7 items 6, 7, 9.

use super::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn vpc(prefix: &str, att: &str) -> Candidate {
    Candidate::propagated(net(prefix), TgwRouteKind::Vpc, att, att)
}

fn bgp(
    kind: TgwRouteKind,
    prefix: &str,
    att: &str,
    via: &str,
    path: &[u32],
    med: u32,
) -> Candidate {
    let asn = path.first().copied().unwrap_or(64512);
    Candidate::propagated(net(prefix), kind, att, via).bgp(path, asn, med, !path.is_empty())
}

fn vias(s: &Selection) -> Vec<&str> {
    let mut v: Vec<&str> = s.paths.iter().map(|c| c.via.as_str()).collect();
    v.sort();
    v
}

fn one(candidates: &[Candidate], options: Options) -> Selection {
    let s = select(candidates, options);
    assert_eq!(s.len(), 1, "one CIDR: {s:?}");
    s.into_iter().next().unwrap()
}

use TgwRouteKind::{Connect, DxGateway, Vpn, VpnOverDx};

/// One row per priority pair of rule 2: the first wins over the second for one CIDR.
#[test]
fn route_type_priority_table() {
    let p = "10.1.0.0/16";
    let stat = Candidate::static_route(net(p), "vpn-att");
    let cases: Vec<(&str, Candidate, Candidate)> = vec![
        ("static > VPC", stat.clone(), vpc(p, "vpc-att")),
        (
            "static > DX gateway (item 6)",
            stat.clone(),
            bgp(DxGateway, p, "dx-att", "dxgw", &[65001], 0),
        ),
        (
            "static > VPN",
            stat.clone(),
            bgp(Vpn, p, "vpn-att", "t1", &[65001], 0),
        ),
        (
            "VPC > DX gateway",
            vpc(p, "vpc-att"),
            bgp(DxGateway, p, "dx-att", "dxgw", &[65001], 0),
        ),
        (
            "DX gateway > Connect",
            bgp(DxGateway, p, "dx", "dxgw", &[65001, 65001, 65001], 0),
            bgp(Connect, p, "c1", "p1", &[65001], 0),
        ),
        (
            "Connect > VPN over DX",
            bgp(Connect, p, "c1", "p1", &[65001, 1, 2], 500),
            bgp(VpnOverDx, p, "v1", "t1", &[65001], 0),
        ),
        (
            "VPN over DX > VPN",
            bgp(VpnOverDx, p, "v1", "t1", &[65001, 1, 2], 0),
            bgp(Vpn, p, "v2", "t2", &[65001], 0),
        ),
        (
            "DX gateway > VPN whatever the AS_PATH (item 6)",
            bgp(DxGateway, p, "dx", "dxgw", &[65001, 65001, 65001, 65001], 0),
            bgp(Vpn, p, "v2", "t2", &[65001], 0),
        ),
        (
            "VPN > peering",
            bgp(Vpn, p, "v2", "t2", &[65001, 1, 1], 0),
            Candidate::propagated(net(p), TgwRouteKind::Peering, "peer", "peer"),
        ),
    ];
    for (rule, winner, loser) in cases {
        for order in [
            [winner.clone(), loser.clone()],
            [loser.clone(), winner.clone()],
        ] {
            let s = one(&order, Options::default());
            assert_eq!(s.paths, vec![winner.clone()], "{rule}");
            assert_eq!(s.hidden, vec![loser.clone()], "{rule}: the loser is hidden");
            assert_eq!(s.decided_by, Rule::RouteKind, "{rule}");
        }
    }
}

/// Rules 3-5 within one type.
#[test]
fn within_one_type_table() {
    let p = "10.2.0.0/16";
    struct Case {
        rule: &'static str,
        candidates: Vec<Candidate>,
        winner: &'static str,
        decided_by: Rule,
    }
    let ibgp = |via: &str, med| {
        Candidate::propagated(net(p), Connect, "c1", via).bgp(&[65010], 65010, med, false)
    };
    let cases = vec![
        Case {
            rule: "shorter AS_PATH beats a lower MED",
            candidates: vec![
                bgp(Vpn, p, "v1", "t1", &[65001, 65001], 0),
                bgp(Vpn, p, "v2", "t3", &[65001], 900),
            ],
            winner: "t3",
            decided_by: Rule::AsPathLength,
        },
        Case {
            rule: "lower MED with equal AS_PATH length",
            candidates: vec![
                bgp(Connect, p, "c1", "p1", &[65010], 200),
                bgp(Connect, p, "c1", "p2", &[65010], 100),
            ],
            winner: "p2",
            decided_by: Rule::Med,
        },
        Case {
            rule: "MED is compared across neighbour ASes too (TGW's wording)",
            candidates: vec![
                bgp(DxGateway, p, "dx", "a", &[65001], 50),
                bgp(DxGateway, p, "dx", "b", &[65002], 10),
            ],
            winner: "b",
            decided_by: Rule::Med,
        },
        Case {
            rule: "eBGP over iBGP",
            candidates: vec![ibgp("p1", 100), bgp(Connect, p, "c1", "p2", &[65010], 100)],
            winner: "p2",
            decided_by: Rule::Ebgp,
        },
    ];
    for case in cases {
        let s = one(&case.candidates, Options::default());
        assert_eq!(vias(&s), [case.winner], "{}", case.rule);
        assert_eq!(s.decided_by, case.decided_by, "{}", case.rule);
        assert_eq!(
            s.paths.len() + s.hidden.len(),
            case.candidates.len(),
            "{}",
            case.rule
        );
    }
}

#[test]
fn longest_prefix_first() {
    let sel = select(
        &[
            bgp(DxGateway, "10.1.0.0/16", "dx", "dxgw", &[65001], 0),
            bgp(Vpn, "10.1.0.0/17", "v1", "t1", &[65001], 0),
            Candidate::blackhole(net("10.1.0.0/24")),
        ],
        Options::default(),
    );
    assert_eq!(
        sel.len(),
        3,
        "one selection per CIDR: no type hides a longer prefix"
    );
    let to = |a: &str| lookup(&sel, a.parse().unwrap()).map(|s| s.prefix.to_string());
    assert_eq!(to("10.1.200.1").as_deref(), Some("10.1.0.0/16"));
    assert_eq!(to("10.1.1.1").as_deref(), Some("10.1.0.0/17"));
    assert_eq!(to("10.1.0.9").as_deref(), Some("10.1.0.0/24"));
    assert_eq!(to("10.9.0.1"), None, "no route: dropped");
    assert!(lookup(&sel, "10.1.0.9".parse().unwrap()).unwrap().blackhole);
}

#[test]
fn a_static_blackhole_hides_propagated_routes() {
    let s = one(
        &[
            vpc("10.3.0.0/16", "vpc-att"),
            Candidate::blackhole(net("10.3.0.0/16")),
            bgp(Connect, "10.3.0.0/16", "c1", "p1", &[65010], 100),
        ],
        Options::default(),
    );
    assert!(s.blackhole);
    assert!(s.paths.is_empty(), "a blackhole has no path");
    assert_eq!(s.hidden.len(), 2);
    assert_eq!(s.kind, TgwRouteKind::Static);
}

/// Item 6: DX and VPN carry the same CIDR; only DX shows; withdraw it: VPN; a static to the VPN beats DX.
#[test]
fn item_6_dx_vs_vpn() {
    let p = "10.1.0.0/16";
    let dx = bgp(DxGateway, p, "dx", "dxgw1", &[65001], 0);
    let vpn = bgp(Vpn, p, "vpn1", "vpn1-t1", &[65001], 100);
    let s = one(&[dx.clone(), vpn.clone()], Options::default());
    assert_eq!(vias(&s), ["dxgw1"]);
    let s = one(std::slice::from_ref(&vpn), Options::default());
    assert_eq!(vias(&s), ["vpn1-t1"]);
    let s = one(
        &[dx, vpn, Candidate::static_route(net(p), "vpn1")],
        Options::default(),
    );
    assert_eq!(s.kind, TgwRouteKind::Static);
    assert_eq!(s.paths[0].attachment, "vpn1");
}

/// Item 7: two dynamic VPNs (4 tunnels), same AS_PATH: 4 next hops; prepend on one: the
/// other's 2; ECMP off: one.
#[test]
fn item_7_vpn_ecmp() {
    let p = "10.1.0.0/16";
    let tunnels = |prepend: usize| {
        let mut v = Vec::new();
        for (att, t) in [
            ("vpn1", "vpn1-t1"),
            ("vpn1", "vpn1-t2"),
            ("vpn2", "vpn2-t1"),
            ("vpn2", "vpn2-t2"),
        ] {
            let n = if att == "vpn2" { 1 + prepend } else { 1 };
            v.push(bgp(Vpn, p, att, t, &vec![65001; n], 0));
        }
        v
    };
    let s = one(&tunnels(0), Options::default());
    assert_eq!(vias(&s), ["vpn1-t1", "vpn1-t2", "vpn2-t1", "vpn2-t2"]);
    assert_eq!(s.decided_by, Rule::Only);
    let s = one(&tunnels(2), Options::default());
    assert_eq!(vias(&s), ["vpn1-t1", "vpn1-t2"]);
    assert_eq!(s.decided_by, Rule::AsPathLength);
    let off = Options {
        vpn_ecmp: false,
        ..Options::default()
    };
    for seed in 0..16 {
        let o = Options {
            preference: TunnelPreference::new(seed),
            ..off
        };
        let s = one(&tunnels(0), o);
        assert_eq!(s.paths.len(), 1, "ECMP off: one path");
        assert_eq!(s.hidden.len(), 3);
        assert_eq!(s.decided_by, Rule::Tie);
        assert_eq!(
            one(&tunnels(0), o),
            s,
            "the same seed picks the same tunnel"
        );
    }
}

#[test]
fn static_vpn_routes_never_ecmp() {
    let p = net("10.4.0.0/16");
    let s = one(
        &[
            Candidate::propagated(p, Vpn, "vpn1", "vpn1-t1"),
            Candidate::propagated(p, Vpn, "vpn1", "vpn1-t2"),
        ],
        Options::default(),
    );
    assert_eq!(s.paths.len(), 1);
}

#[test]
fn ecmp_never_across_asns_or_as_paths() {
    let p = "10.5.0.0/16";
    // Same length, different ASN: one path.
    let s = one(
        &[
            bgp(Connect, p, "c1", "p1", &[65010], 100),
            bgp(Connect, p, "c2", "p5", &[65020], 100),
        ],
        Options::default(),
    );
    assert_eq!(s.paths.len(), 1, "{s:?}");
    // Same ASN, same length, different AS_PATH: one path.
    let s = one(
        &[
            bgp(DxGateway, p, "dx", "a", &[65001, 1], 0),
            bgp(DxGateway, p, "dx", "b", &[65001, 2], 0),
        ],
        Options::default(),
    );
    assert_eq!(s.paths.len(), 1);
    // DX gateway with identical AS_PATH: ECMP.
    let s = one(
        &[
            bgp(DxGateway, p, "dx", "a", &[65001, 1], 0),
            bgp(DxGateway, p, "dx", "b", &[65001, 1], 0),
        ],
        Options::default(),
    );
    assert_eq!(vias(&s), ["a", "b"]);
    // Never across types even when everything else is equal: rule 2 decides.
    let s = one(
        &[
            bgp(Vpn, p, "v", "t1", &[65001], 0),
            bgp(VpnOverDx, p, "w", "t2", &[65001], 0),
        ],
        Options::default(),
    );
    assert_eq!(vias(&s), ["t2"]);
}

/// Item 9 and §5: Connect ECMP across peers (always on, even with the VPN option off), and the
/// two sessions of one peer combined into one path.
#[test]
fn item_9_connect_peers_and_sessions() {
    let p = "10.1.0.0/16";
    let off = Options {
        vpn_ecmp: false,
        ..Options::default()
    };
    let mut c = Vec::new();
    for peer in ["p1", "p2", "p3", "p4"] {
        // Both sessions (.2 and .3) of each peer carry the route.
        c.push(bgp(Connect, p, "connect1", peer, &[65010], 100));
        c.push(bgp(Connect, p, "connect1", peer, &[65010], 100));
    }
    let s = one(&c, off);
    assert_eq!(
        vias(&s),
        ["p1", "p2", "p3", "p4"],
        "one path per peer, four peers"
    );
    assert_eq!(
        s.hidden.len(),
        4,
        "the second session of each peer is combined into the first"
    );
    // Combined, not ECMP: a route only one session of a peer carries is the peer's route.
    let s = one(
        &[bgp(Connect, "10.9.0.0/16", "connect1", "p1", &[65010], 100)],
        off,
    );
    assert_eq!(vias(&s), ["p1"]);
    // One peer's sessions disagree: the peer's better route counts, once.
    let s = one(
        &[
            bgp(Connect, p, "connect1", "p1", &[65010, 65010], 100),
            bgp(Connect, p, "connect1", "p1", &[65010], 100),
            bgp(Connect, p, "connect1", "p2", &[65010], 100),
        ],
        off,
    );
    assert_eq!(vias(&s), ["p1", "p2"]);
}

#[test]
fn vpc_routes_are_one_path() {
    let s = one(
        &[vpc("10.0.0.0/16", "a"), vpc("10.0.0.0/16", "b")],
        Options::default(),
    );
    assert_eq!(s.paths.len(), 1);
}

proptest::proptest! {
    /// No hidden candidate beats a used one on rules 2-5, and every ECMP path shares the
    /// winner's type, AS_PATH and ASN.
    #[test]
    fn used_paths_are_never_worse(
        raw in proptest::collection::vec((0u8..4, 0usize..3, 0u32..3, proptest::bool::ANY, 0u8..5, 0u32..2), 1..10),
        seed in 0u64..100,
    ) {
        let kinds = [TgwRouteKind::Vpc, DxGateway, Connect, Vpn];
        let c: Vec<Candidate> = raw.iter().map(|&(k, len, med, ebgp, via, asn)| {
            let kind = kinds[k as usize];
            let cand = Candidate::propagated(net("10.0.0.0/8"), kind, "att", &format!("v{via}"));
            if kind == TgwRouteKind::Vpc { cand } else { cand.bgp(&vec![65000 + asn; len], 65000 + asn, med, ebgp) }
        }).collect();
        let o = Options { vpn_ecmp: seed % 2 == 0, preference: TunnelPreference::new(seed) };
        let s = &select(&c, o)[0];
        proptest::prop_assert!(!s.paths.is_empty());
        let w = &s.paths[0];
        for p in &s.paths {
            proptest::prop_assert_eq!(p.kind, w.kind);
            proptest::prop_assert_eq!(&p.as_path, &w.as_path);
            proptest::prop_assert_eq!(p.peer_asn, w.peer_asn);
        }
        for h in &s.hidden {
            proptest::prop_assert!(h.kind >= w.kind);
            if h.kind == w.kind {
                proptest::prop_assert!(h.as_path.len() >= w.as_path.len());
                if h.as_path.len() == w.as_path.len() && h.via != w.via {
                    proptest::prop_assert!(h.med >= w.med);
                }
            }
        }
        let mut v: Vec<&str> = s.paths.iter().map(|p| p.via.as_str()).collect();
        v.dedup();
        proptest::prop_assert_eq!(v.len(), s.paths.len(), "a path appears once");
    }
}

/// IPv6 (a VPC's IPv6 CIDR, Connect's MP-BGP routes) shares the table: the same rules, and a
/// CIDR never competes with the other family's.
#[test]
fn ipv6_cidrs_follow_the_same_rules_in_the_same_table() {
    let sel = select(
        &[
            vpc("2600:1f18:1::/56", "vpc-att"),
            bgp(Connect, "2001:db8:10::/48", "c1", "p1", &[65010], 100),
            bgp(Connect, "2001:db8:10::/48", "c1", "p2", &[65010], 100),
            bgp(
                Connect,
                "2001:db8:10::/48",
                "c1",
                "p3",
                &[65010, 65010],
                100,
            ),
            bgp(Vpn, "2001:db8:10::/48", "v1", "t1", &[65010], 0),
            bgp(Connect, "10.1.0.0/16", "c1", "p1", &[65010], 100),
            Candidate::blackhole(net("2001:db8:10:bad::/64")),
        ],
        Options::default(),
    );
    assert_eq!(sel.len(), 4, "{sel:?}");
    let site = sel
        .iter()
        .find(|s| s.prefix == net("2001:db8:10::/48"))
        .unwrap();
    assert_eq!(site.kind, Connect, "Connect beats VPN (rule 2)");
    assert_eq!(
        vias(site),
        ["p1", "p2"],
        "ECMP over Connect, prepended p3 out"
    );
    assert_eq!(site.decided_by, Rule::RouteKind);
    let to = |a: &str| lookup(&sel, a.parse().unwrap()).map(|s| s.prefix.to_string());
    assert_eq!(to("2001:db8:10::1").as_deref(), Some("2001:db8:10::/48"));
    assert_eq!(
        to("2001:db8:10:bad::1").as_deref(),
        Some("2001:db8:10:bad::/64"),
        "longest prefix, IPv6 too"
    );
    assert_eq!(to("2600:1f18:1:2::5").as_deref(), Some("2600:1f18:1::/56"));
    assert_eq!(to("10.1.2.3").as_deref(), Some("10.1.0.0/16"));
    assert_eq!(to("2001:db9::1"), None);
    assert_eq!(
        to("::ffff:10.1.2.3"),
        None,
        "an IPv4-mapped address is IPv6: no IPv4 route matches it"
    );
}
