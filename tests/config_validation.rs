//! Bad VPN configurations are refused before anything starts, with an error naming the item,
//! as AWS refuses them (`aws-behaviour.md` §1, §7 item 8); keys never appear in errors.

use cgw::config::CgwConfig;
use vgw::config::VgwConfig;

const BASE: &str = r#"
name = "vgw1"
amazon_side_asn = 64512
vpc_cidrs = ["10.0.0.0/16"]

[[connection]]
name = "vpn1"
customer_asn = 65000
ROUTING

[[connection.tunnel]]
outside_ip = "203.0.113.1"
customer_ip = "198.51.100.10"
inside_cidr = "INSIDE1"
pre_shared_key = "PSK1"

[[connection.tunnel]]
outside_ip = "203.0.113.2"
customer_ip = "198.51.100.10"
inside_cidr = "169.254.20.4/30"
pre_shared_key = "good.key_2345"
"#;

fn vgw(edits: &[(&str, &str)]) -> Result<VgwConfig, String> {
    let mut text = BASE
        .replace("ROUTING", "")
        .replace("INSIDE1", "169.254.20.0/30")
        .replace("PSK1", "good.key_1234");
    for (from, to) in edits {
        assert!(text.contains(from), "{from} not in the base text");
        text = text.replace(from, to);
    }
    VgwConfig::from_toml(&text).map_err(|e| e.to_string())
}

#[test]
fn the_base_configuration_is_valid() {
    let c = vgw(&[]).unwrap();
    assert_eq!(c.connections[0].tunnels.len(), 2);
    assert_eq!(
        format!("{:?}", c.connections[0].tunnels[0].pre_shared_key),
        "***"
    );
}

/// Text edits of the base file, the item the error must name, and a phrase of its reason.
type Refusal = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

#[test]
fn each_refusal_names_its_item() {
    let cases: &[Refusal] = &[
        (
            &[("169.254.20.0/30", "169.254.169.252/30")],
            "connection[0].tunnel[0].inside_cidr",
            "reserved",
        ),
        (
            &[("169.254.20.0/30", "169.254.3.0/30")],
            "connection[0].tunnel[0].inside_cidr",
            "reserved",
        ),
        (
            &[("169.254.20.0/30", "169.254.30.0/29")],
            "connection[0].tunnel[0].inside_cidr",
            "/30",
        ),
        (
            &[("169.254.20.0/30", "10.0.0.0/30")],
            "connection[0].tunnel[0].inside_cidr",
            "169.254",
        ),
        (
            &[("169.254.20.0/30", "169.254.20.4/30")],
            "connection[0].tunnel[1].inside_cidr",
            "unique per VGW",
        ),
        (
            &[("amazon_side_asn = 64512", "amazon_side_asn = 65535")],
            "amazon_side_asn",
            "64512-65534",
        ),
        (
            &[("amazon_side_asn = 64512", "amazon_side_asn = 100")],
            "amazon_side_asn",
            "64512-65534",
        ),
        (
            &[("customer_asn = 65000", "customer_asn = 0")],
            "connection[0].customer_asn",
            "not a valid customer ASN",
        ),
        (
            &[("customer_asn = 65000", "customer_asn = 23456")],
            "connection[0].customer_asn",
            "AS_TRANS",
        ),
        (
            &[("customer_asn = 65000", "")],
            "connection[0].customer_asn",
            "needs the customer gateway's ASN",
        ),
        (
            &[(
                "customer_asn = 65000",
                "customer_asn = 65000\nstatic_routes = [\"192.168.0.0/16\"]",
            )],
            "connection[0].static_routes",
            "takes no static routes",
        ),
        (
            &[(
                "outside_ip = \"203.0.113.2\"",
                "outside_ip = \"203.0.113.1\"",
            )],
            "connection[0].tunnel[1].outside_ip",
            "already used",
        ),
    ];
    for (edits, item, reason) in cases {
        let e = vgw(edits).expect_err(&format!("{edits:?} was accepted"));
        assert!(e.starts_with(&format!("{item}:")), "{edits:?}: {e}");
        assert!(e.contains(reason), "{edits:?}: {e}");
    }
}

#[test]
fn a_static_vpn_takes_static_routes() {
    let c = vgw(&[(
        "customer_asn = 65000",
        "routing = \"static\"\nstatic_routes = [\"192.168.0.0/16\"]",
    )])
    .unwrap();
    assert_eq!(c.connections[0].static_routes.len(), 1);
}

#[test]
fn bad_keys_are_refused_without_echo() {
    for (key, reason) in [
        ("0starts.with_zero", "must not start with '0'"),
        ("short", "8 to 64 characters"),
        ("has-a-dash-in-it", "only letters"),
    ] {
        let e = vgw(&[("good.key_1234", key)]).unwrap_err();
        assert!(e.contains(reason), "{key}: {e}");
        assert!(!e.contains(key), "the key leaked into the error: {e}");
    }
}

#[test]
fn a_connection_has_two_tunnels() {
    let text = BASE
        .replace("ROUTING", "")
        .replace("INSIDE1", "169.254.20.0/30")
        .replace("PSK1", "good.key_1234")
        + r#"
[[connection.tunnel]]
outside_ip = "203.0.113.3"
customer_ip = "198.51.100.10"
inside_cidr = "169.254.20.8/30"
pre_shared_key = "good.key_3456"
"#;
    let e = VgwConfig::from_toml(&text).unwrap_err().to_string();
    assert!(e.starts_with("connection[0].tunnel:"), "{e}");
    assert!(e.contains("exactly 2 tunnels"), "{e}");
}

#[test]
fn tunnel_options_out_of_aws_ranges_are_refused() {
    let e = vgw(&[(
        "pre_shared_key = \"good.key_1234\"",
        "pre_shared_key = \"good.key_1234\"\noptions = { dpd_timeout_seconds = 10 }",
    )])
    .unwrap_err();
    assert!(e.starts_with("connection[0].tunnel[0].options:"), "{e}");
}

#[test]
fn written_configurations_round_trip_with_their_keys() {
    let c = vgw(&[]).unwrap();
    let text = c.to_toml_with_keys();
    assert!(text.contains("good.key_1234"));
    assert_eq!(VgwConfig::from_toml(&text).unwrap(), c);
    let customer = CgwConfig {
        name: "cgw1".into(),
        asn: 65000,
        profile: vgw::config::daemon_profile(),
        router_id: None,
        underlay_gateway: Some("198.51.100.254".parse().unwrap()),
        bind_address: None,
        advertise: vec!["192.168.0.0/16".parse().unwrap()],
        mode: Default::default(),
        connections: vec![vgw::plan::customer_view(&c, &c.connections[0])],
    };
    let text = customer.to_toml_with_keys();
    let back = CgwConfig::from_toml(&text).unwrap();
    assert_eq!(back, customer);
    assert_eq!(
        back.connections[0].tunnels[0].aws_ip.to_string(),
        "203.0.113.1"
    );
}

#[test]
fn syntax_errors_give_a_line_and_never_the_source_text() {
    let text = BASE
        .replace("ROUTING", "")
        .replace("INSIDE1", "169.254.20.0/30")
        .replace("\"PSK1\"", "\"good.key_1234\"\nbogus_field = 1");
    let e = VgwConfig::from_toml(&text).unwrap_err().to_string();
    assert!(e.starts_with("line "), "{e}");
    assert!(e.contains("bogus_field"), "{e}");
    assert!(!e.contains("good.key_1234"), "{e}");
}
