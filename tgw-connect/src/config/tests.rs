//! AWS's rules of [`super::TgwDecl::check`], one row per rule.

use super::*;

fn base() -> TgwDecl {
    toml::from_str(
        r#"
name = "tgw1"
cidr_block = "192.0.2.0/24"
[[vpc_attachment]]
name = "att-vpc1"
vpc = "vpc1"
[[vpc_attachment]]
name = "att-vpc2"
vpc = "vpc2"
[[connect]]
name = "connect1"
transport = "att-vpc1"
peer = [
  { name = "p1", inside_cidr = "169.254.6.0/29", peer_address = "10.0.2.10" },
  { name = "p2", inside_cidr = "169.254.6.8/29", peer_address = "10.0.2.10" },
]
[[route_table]]
name = "prod"
associations = ["att-vpc1"]
propagations = ["att-vpc2", "connect1"]
routes = [{ cidr = "10.9.0.0/16", blackhole = true }, { cidr = "10.8.0.0/16", attachment = "att-vpc2" }]
"#,
    )
    .unwrap()
}

fn problems(t: &TgwDecl) -> Vec<(String, String)> {
    t.check()
        .into_iter()
        .map(|p| (p.item_text(), p.message))
        .collect()
}

#[test]
fn a_good_gateway_passes_and_defaults_apply() {
    let t = base();
    assert_eq!(problems(&t), Vec::new());
    let tables = t.tables();
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["default", "prod"]);
    assert_eq!(tables[0].id, FIRST_TABLE_ID);
    // Default association: every attachment not associated elsewhere.
    assert_eq!(tables[0].associations, ["att-vpc2", "connect1"]);
    // Default propagation: every attachment.
    assert_eq!(tables[0].propagations, ["att-vpc1", "att-vpc2", "connect1"]);
    assert_eq!(t.association("att-vpc1").unwrap().name, "prod");
    assert_eq!(t.tgw_address(0, 0), Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(t.tgw_address(0, 1), Ipv4Addr::new(192, 0, 2, 2));
    assert_eq!(t.peer_asn(0, 0), DEFAULT_ASN, "iBGP by default");
}

#[test]
fn ipv6_reaches_attachments_that_carry_it() {
    let mut t = base();
    assert!(!t.carries_ipv6("att-vpc1") && !t.carries_ipv6("connect1"));
    assert_eq!(t.vpc_link_v6(0), None);
    t.vpc_attachments[1].ipv6_support = true;
    t.vpc_attachments[1].vpc_routes = vec!["2001:db8:b::/48".parse().unwrap()];
    t.connects[0].peers[1].inside_cidr_v6 = Some("fd00:6::8/125".parse().unwrap());
    t.route_tables[0].routes.push(StaticRouteDecl {
        cidr: "2001:db8:c::/48".parse().unwrap(),
        attachment: Some("att-vpc2".into()),
        blackhole: false,
    });
    assert_eq!(problems(&t), Vec::new());
    assert!(t.carries_ipv6("att-vpc2") && t.carries_ipv6("connect1"));
    assert_eq!(t.vpc_link_v6(1), Some("fd00:66:1::/64".parse().unwrap()));
}

#[test]
fn defaults_off_leave_no_default_table() {
    let mut t = base();
    t.default_association = false;
    t.default_propagation = false;
    assert!(t.tables().iter().all(|t| t.name != DEFAULT_TABLE));
}

#[test]
fn bad_configurations_table() {
    type Edit = fn(&mut TgwDecl);
    let cases: Vec<(&str, Edit, &str, &str)> = vec![
        (
            "reserved /29",
            |t| t.connects[0].peers[1].inside_cidr = "169.254.169.248/29".parse().unwrap(),
            "connect[0].peer[1].inside_cidr",
            "reserved",
        ),
        (
            "reserved 169.254.3.0/29",
            |t| t.connects[0].peers[0].inside_cidr = "169.254.3.0/29".parse().unwrap(),
            "connect[0].peer[0].inside_cidr",
            "reserved",
        ),
        (
            "duplicate /29",
            |t| t.connects[0].peers[1].inside_cidr = "169.254.6.0/29".parse().unwrap(),
            "connect[0].peer[1].inside_cidr",
            "unique across a TGW",
        ),
        (
            "a /30",
            |t| t.connects[0].peers[1].inside_cidr = "169.254.7.0/30".parse().unwrap(),
            "connect[0].peer[1].inside_cidr",
            "/29",
        ),
        (
            "a fifth peer",
            |t| {
                for i in 2..5 {
                    let mut p = t.connects[0].peers[0].clone();
                    p.name = format!("p{}", i + 1);
                    p.inside_cidr = format!("169.254.6.{}/29", i * 8).parse().unwrap();
                    t.connects[0].peers.push(p);
                }
            },
            "connect[0].peer[4]",
            "up to 4",
        ),
        (
            "an IPv6 inside CIDR outside fd00::/8",
            |t| t.connects[0].peers[0].inside_cidr_v6 = Some("2001:db8::/125".parse().unwrap()),
            "connect[0].peer[0].inside_cidr_v6",
            "fd00::/8",
        ),
        (
            "a duplicate IPv6 inside CIDR",
            |t| {
                t.connects[0].peers[0].inside_cidr_v6 = Some("fd00:6::/125".parse().unwrap());
                t.connects[0].peers[1].inside_cidr_v6 = Some("fd00:6::/125".parse().unwrap());
            },
            "connect[0].peer[1].inside_cidr_v6",
            "unique across a TGW",
        ),
        (
            "an IPv6 VPC route without ipv6_support",
            |t| t.vpc_attachments[1].vpc_routes = vec!["2001:db8:b::/48".parse().unwrap()],
            "vpc_attachment[1].vpc_routes[0]",
            "needs ipv6_support",
        ),
        (
            "an IPv6 static route to an IPv4-only VPC attachment",
            |t| {
                t.route_tables[0].routes.push(StaticRouteDecl {
                    cidr: "2001:db8:b::/48".parse().unwrap(),
                    attachment: Some("att-vpc2".into()),
                    blackhole: false,
                })
            },
            "route_table[0].routes[2]",
            "carries IPv4 only",
        ),
        (
            "a static route on Connect",
            |t| {
                t.route_tables[0].routes.push(StaticRouteDecl {
                    cidr: "10.7.0.0/16".parse().unwrap(),
                    attachment: Some("connect1".into()),
                    blackhole: false,
                })
            },
            "route_table[0].routes[2]",
            "not supported on Connect",
        ),
        (
            "associated with two route tables",
            |t| {
                t.route_tables.push(RouteTableDecl {
                    name: "dev".into(),
                    associations: vec!["att-vpc1".into()],
                    propagations: vec![],
                    routes: vec![],
                })
            },
            "route_table[1].associations[0]",
            "exactly one route table",
        ),
        (
            "transport is not a VPC attachment",
            |t| t.connects[0].transport = "connect1".into(),
            "connect[0].transport",
            "Connect attachment",
        ),
        (
            "transport is a VPN attachment",
            |t| {
                t.vpn_attachments
                    .push(toml::from_str("name = \"vpn1\"\ncgw = \"cgw1\"").unwrap());
                t.connects[0].transport = "vpn1".into();
            },
            "connect[0].transport",
            "is a VPN attachment",
        ),
        (
            "unknown transport",
            |t| t.connects[0].transport = "nope".into(),
            "connect[0].transport",
            "no VPC or Direct Connect gateway attachment",
        ),
        (
            "TGW address outside the CIDR block",
            |t| t.connects[0].peers[0].tgw_address = Some(Ipv4Addr::new(198, 51, 100, 1)),
            "connect[0].peer[0].tgw_address",
            "CIDR block",
        ),
        (
            "duplicate GRE pair",
            |t| t.connects[0].peers[1].tgw_address = Some(Ipv4Addr::new(192, 0, 2, 1)),
            "connect[0].peer[1].peer_address",
            "must be unique",
        ),
        (
            "Amazon ASN out of range",
            |t| t.asn = 65535,
            "asn",
            "64512-65534",
        ),
        (
            "unknown attachment in propagations",
            |t| t.route_tables[0].propagations.push("ghost".into()),
            "route_table[0].propagations[2]",
            "no attachment",
        ),
        (
            "blackhole and attachment",
            |t| t.route_tables[0].routes[0].attachment = Some("att-vpc2".into()),
            "route_table[0].routes[0]",
            "not both",
        ),
        (
            "duplicate peer name",
            |t| t.connects[0].peers[1].name = "p1".into(),
            "connect[0].peer[1].name",
            "used twice",
        ),
    ];
    for (what, edit, item, words) in cases {
        let mut t = base();
        edit(&mut t);
        let p = problems(&t);
        assert!(
            p.iter().any(|(i, m)| i == item && m.contains(words)),
            "{what}: want {item} ~ {words:?}, got {p:?}"
        );
    }
}

/// `base()` plus a Connect attachment over Direct Connect gateway attachment `dxgw1`.
fn over_dx() -> TgwDecl {
    let mut t = base();
    t.dx_attachments.push(DxAttachmentDecl {
        name: "dxgw1".into(),
    });
    t.connects.push(ConnectDecl {
        name: "connect-dx".into(),
        transport: "dxgw1".into(),
        appliance: None,
        peers: vec![PeerDecl {
            name: "d1".into(),
            inside_cidr: "169.254.7.0/29".parse().unwrap(),
            inside_cidr_v6: None,
            peer_address: Ipv4Addr::new(172, 16, 0, 10),
            tgw_address: None,
            peer_asn: Some(65010),
        }],
    });
    t
}

#[test]
fn a_direct_connect_gateway_attachment_is_a_transport() {
    let t = over_dx();
    assert_eq!(problems(&t), Vec::new());
    assert_eq!(t.connects_over("dxgw1").count(), 1);
    assert_eq!(t.connects_over("att-vpc1").count(), 0, "a VPC attachment");
    // The association announces the CIDR block itself, or a prefix covering it.
    for allowed in [&["10.0.0.0/16", "192.0.2.0/24"][..], &["192.0.0.0/16"]] {
        let allowed = vec![(
            "dxgw1".to_string(),
            allowed.iter().map(|p| p.parse().unwrap()).collect(),
        )];
        assert_eq!(t.check_dx_transports(&allowed), Vec::new(), "{allowed:?}");
    }
}

#[test]
fn a_direct_connect_transport_needs_the_cidr_block_allowed() {
    let t = over_dx();
    // Only the VPC CIDR, or only a part of the block: on premises learns no route to it.
    for allowed in [&["10.0.0.0/16"][..], &["192.0.2.0/25"], &[]] {
        let allowed = vec![(
            "dxgw1".to_string(),
            allowed.iter().map(|p| p.parse().unwrap()).collect(),
        )];
        let p: Vec<(String, String)> = t
            .check_dx_transports(&allowed)
            .into_iter()
            .map(|p| (p.item_text(), p.message))
            .collect();
        assert_eq!(p.len(), 1, "{allowed:?}: {p:?}");
        assert_eq!(p[0].0, "connect[1].transport");
        assert!(
            p[0].1.contains("connect-dx") && p[0].1.contains("192.0.2.0/24"),
            "{p:?}"
        );
    }
    // The VPC transport of connect[0] is never concerned, nor another DX gateway's list.
    let other = vec![("dxgw9".to_string(), Vec::new())];
    assert_eq!(t.check_dx_transports(&other), Vec::new());
}

#[test]
fn four_peers_are_fine() {
    let mut t = base();
    for i in 2..4 {
        let mut p = t.connects[0].peers[0].clone();
        p.name = format!("p{}", i + 1);
        p.inside_cidr = format!("169.254.6.{}/29", i * 8).parse().unwrap();
        t.connects[0].peers.push(p);
    }
    assert_eq!(problems(&t), Vec::new());
}

#[test]
fn debug_never_prints_the_vpn_keys() {
    let c = TgwConfig {
        profile: Profile::Fast,
        tgw: base(),
        vpcs: Vec::new(),
        vpn: Some("pre_shared_key = \"hunter2.hunter2\"".into()),
        dx: Vec::new(),
    };
    let text = format!("{c:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("***"));
}
