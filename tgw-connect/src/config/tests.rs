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
            "unknown transport",
            |t| t.connects[0].transport = "nope".into(),
            "connect[0].transport",
            "no VPC attachment",
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
