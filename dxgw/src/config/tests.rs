//! Each refusal of [`super::DxConfig::validate`], one test per rule, on a good file changed in
//! one place.

use super::*;

const GOOD: &str = r#"
name = "dx1"
profile = "fast"

[[connection]]
name = "dxcon1"
interface = "xc0"

[[connection.vif]]
name = "vif-a"
vlan = 100
gateway = "dxgw1"
customer_asn = 65000
amazon_address = "169.254.100.1/30"
customer_address = "169.254.100.2/30"
auth_key = "s3cretMD5key"

[[connection.vif]]
name = "vif-b"
vlan = 200
mtu = 8500
gateway = "dxgw1"
customer_asn = 65000
amazon_address = "169.254.200.1/30"
customer_address = "169.254.200.2/30"
auth_key = "an0therKey"

[[gateway]]
name = "dxgw1"

[[gateway.association]]
name = "vgw1"
kind = "vgw"
asn = 64512
local_address = "169.254.250.1"
peer_address = "169.254.250.2"
allowed_prefixes = ["10.0.0.0/16"]
"#;

fn refused(text: &str) -> String {
    DxConfig::from_toml(text).expect_err("refused")
}

#[test]
fn the_good_file_passes() {
    let c = DxConfig::from_toml(GOOD).unwrap();
    assert_eq!(c.vifs().count(), 2);
    assert_eq!(c.amazon_side_asn, DEFAULT_AMAZON_ASN);
    assert!(c.vifs().all(|(_, _, _, v)| v.bfd));
}

#[test]
fn duplicate_vlan_on_a_connection() {
    let e = refused(&GOOD.replace("vlan = 200", "vlan = 100"));
    assert_eq!(
        e,
        "connection[0].vif[1].vlan: VLAN 100 is already used by vif \"vif-a\" on this connection"
    );
}

#[test]
fn vlan_out_of_range() {
    let e = refused(&GOOD.replace("vlan = 200", "vlan = 4095"));
    assert!(e.starts_with("connection[0].vif[1].vlan: VLAN 4095"), "{e}");
}

#[test]
fn md5_key_outside_6_to_80_characters_names_the_line_not_the_key() {
    let e = refused(&GOOD.replace("an0therKey", "short"));
    assert!(e.contains("6 to 80 characters"), "{e}");
    assert!(e.starts_with("line "), "{e}");
    assert!(!e.contains("short"), "{e}");
    let long = "k".repeat(81);
    let e = refused(&GOOD.replace("an0therKey", &long));
    assert!(e.contains("(it has 81)") && !e.contains(&long), "{e}");
}

#[test]
fn reserved_peer_addresses() {
    let e = refused(
        &GOOD
            .replace("169.254.200.1/30", "169.254.1.1/30")
            .replace("169.254.200.2/30", "169.254.1.2/30"),
    );
    assert!(
        e.starts_with("connection[0].vif[1].amazon_address: ") && e.contains("reserved by AWS"),
        "{e}"
    );
}

#[test]
fn peer_addresses_not_in_one_subnet() {
    let e = refused(&GOOD.replace("169.254.200.2/30", "169.254.201.2/30"));
    assert!(e.contains("not in one subnet"), "{e}");
}

#[test]
fn overlapping_peer_addresses() {
    let e = refused(
        &GOOD
            .replace("169.254.200.1/30", "169.254.100.1/31")
            .replace("169.254.200.2/30", "169.254.100.0/31"),
    );
    assert_eq!(
        e,
        "connection[0].vif[1].amazon_address: peer subnet 169.254.100.0/31 overlaps connection[0].vif[0]'s"
    );
}

#[test]
fn a_dx_gateway_with_both_a_vgw_and_a_tgw() {
    let text = format!(
        "{GOOD}\n[[gateway.association]]\nname = \"tgw1\"\nkind = \"tgw\"\nasn = 64513\n\
         local_address = \"169.254.251.1\"\npeer_address = \"169.254.251.2\"\n\
         allowed_prefixes = [\"10.9.0.0/16\"]\n"
    );
    let e = refused(&text);
    assert!(
        e.starts_with(
            "gateway[0].association: DX gateway \"dxgw1\" is associated with both a VGW and a TGW"
        ),
        "{e}"
    );
}

#[test]
fn mtu_is_1500_or_8500() {
    let e = refused(&GOOD.replace("mtu = 8500", "mtu = 9000"));
    assert_eq!(e, "connection[0].vif[1].mtu: MTU 9000 must be 1500 or 8500");
}

#[test]
fn timers_below_aws_minimum() {
    let e = refused(&GOOD.replace("vlan = 200", "vlan = 200\nhold_time = 2"));
    assert!(e.starts_with("connection[0].vif[1].hold_time: 2 s"), "{e}");
    let e = refused(&GOOD.replace("vlan = 200", "vlan = 200\nhold_time = 3\nkeepalive = 0"));
    assert!(e.starts_with("connection[0].vif[1].keepalive: 0 s"), "{e}");
    // 3 s / 1 s is AWS's minimum, accepted.
    DxConfig::from_toml(&GOOD.replace("vlan = 200", "vlan = 200\nhold_time = 3\nkeepalive = 1"))
        .unwrap();
}

#[test]
fn unknown_gateway_and_wrong_vif_type() {
    let e = refused(&GOOD.replace(
        "gateway = \"dxgw1\"\ncustomer_asn = 65000\namazon_address = \"169.254.200.1/30\"",
        "gateway = \"nope\"\ncustomer_asn = 65000\namazon_address = \"169.254.200.1/30\"",
    ));
    assert_eq!(
        e,
        "connection[0].vif[1].gateway: no gateway \"nope\" in this file"
    );
    let e = refused(&GOOD.replace("vlan = 200", "vlan = 200\ntype = \"transit\""));
    assert!(
        e.starts_with("connection[0].vif[1].type: a transit VIF"),
        "{e}"
    );
}

#[test]
fn customer_asn_equal_to_amazon_and_duplicate_names() {
    let e = refused(&GOOD.replace(
        "customer_asn = 65000\namazon_address = \"169.254.200.1/30\"",
        "customer_asn = 64512\namazon_address = \"169.254.200.1/30\"",
    ));
    assert!(e.starts_with("connection[0].vif[1].customer_asn:"), "{e}");
    let e = refused(&GOOD.replace("name = \"vif-b\"", "name = \"vif-a\""));
    assert!(e.starts_with("connection[0].vif[1].name:"), "{e}");
}

#[test]
fn unknown_fields_are_refused() {
    let e = refused(&GOOD.replace("vlan = 200", "vlan = 200\nvlna = 3"));
    assert!(e.contains("vlna"), "{e}");
}

#[test]
fn the_daemon_file_carries_the_keys_and_show_does_not() {
    let c = DxConfig::from_toml(GOOD).unwrap();
    let file = c.to_toml_with_keys();
    assert!(file.expose().contains("s3cretMD5key"));
    assert_eq!(DxConfig::from_toml(file.expose()).unwrap(), c);
    let json = serde_json::to_string(&c).unwrap();
    assert!(!json.contains("s3cretMD5key") && json.contains("\"auth_key\":\"***\""));
    assert!(!format!("{c:?}").contains("s3cretMD5key"));
}
