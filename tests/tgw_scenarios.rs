//! The Transit Gateway scenarios on real namespaces (root): the `tgw` and `appliance` daemons
//! with userspace GRE devices, two BGP sessions per Connect peer, kernel route tables chosen by
//! input interface.
//!
//! - `tgw-connect` (§7 item 9) in both profiles: `.1`/`.2`/`.3`, both sessions of p1-p3
//!   Established, eBGP with TTL 1 (p4) never Established, Connect ECMP over three peers, p1's
//!   GRE cut: the table moves to p2 and p3 and traffic keeps flowing, p1 back after restore;
//! - `tgw-segmentation` in both profiles: prod and dev isolated (a blackhole, a missing route;
//!   no probe packet ever crosses), both reach shared services;
//! - chaos: each of p1, p2, p3 has its GRE cut in turn, twice (six cuts): after every cut the
//!   TGW's ECMP set holds the other two peers, traffic is delivered both ways, and no gap
//!   exceeds the BGP hold time (3 s) plus a second: so the flow of whichever peer was lost
//!   moved to the others as soon as BGP declared the peer down;
//! - route tables changed at run time (`tgw_disable_propagation`, `tgw_enable_propagation`,
//!   `tgw_add_route` with `replace`, `tgw_delete_route`): routes leave and come back, prod
//!   and dev are opened to each other;
//! - two SD-WAN sites on two Connect attachments reach each other through the TGW, each
//!   appliance hearing the other's prefix and never its own back;
//! - VPN attachments may share inside /30s (item 8): four sessions, four next hops, traffic;
//! - VPN attachments hear their route table's routes: two VPN sites in one table learn each
//!   other through the TGW, in tables kept apart neither learns of the other;
//! - `tgw-connect-over-dx` in both profiles: a Connect attachment over a DX gateway attachment
//!   (the appliance on premises, its GRE over a transit VIF), three peers Established, Connect
//!   ECMP, traffic both ways, p1's GRE cut and restored; a DX transport whose association does
//!   not allow the TGW CIDR block is refused at `validate`;
//! - `tgw-connect-ipv6` in both profiles: MP-BGP IPv6 over the IPv4 Connect sessions (peers
//!   with an IPv6 /125), an IPv6 VPC over an attachment with `ipv6_support`: each family's
//!   ECMP set, IPv6 and IPv4 traffic both ways, p1's GRE cut and restored; bad IPv6
//!   configuration refused naming the item; its FRR export with `address-family ipv6`;
//! - `hybridlab show LAB tgw1 routes|attachments|connect` on a running lab;
//! - bad TGW configuration is refused by `hybridlab validate` naming the item; the appliance's
//!   FRR configuration from `hybridlab cgw-config`.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{DownOnDrop, Workspace, describe, leftovers};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs scenario `name` (shipped, or a file) in workspace `ws`; returns its JSON record.
fn run_in(ws: &Workspace, name: &str, profile: &str, lab: &str) -> Value {
    let _guard = DownOnDrop {
        ws,
        lab: lab.to_string(),
    };
    let json = ws.path().join(format!("{lab}.json"));
    let out = ws.run(&[
        "run",
        name,
        "--profile",
        profile,
        "--lab",
        lab,
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name} ({profile}): {}",
        describe(&out)
    );
    let left = leftovers(ws, lab, &[], &[], &[&format!("--lab {lab}")]);
    assert!(left.none(), "{lab}: {left:#?}");
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn passed(record: &Value) -> Vec<String> {
    record["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "passed")
        .map(|e| e["name"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[test]
fn tgw_connect_in_both_profiles() {
    let _s = serial();
    for (profile, lab) in [("fast", "tgwcfast"), ("aws", "tgwcaws")] {
        let record = run_in(&Workspace::new(), "tgw-connect", profile, lab);
        let names = passed(&record);
        for want in [
            "p1: both sessions (.2 and .3) Established",
            "10.1.0.0/16: Connect ECMP over p1, p2, p3 (two sessions each, combined)",
            "p4 (eBGP with TTL 1): no session",
            "p1 lost: 10.1.0.0/16 over p2 and p3",
            "traffic stays on the others",
            "p1 back in the ECMP set",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{profile}: {want} not in {names:?}"
            );
        }
    }
}

#[test]
fn tgw_segmentation_in_both_profiles() {
    let _s = serial();
    for (profile, lab) in [("fast", "tgwsfast"), ("aws", "tgwsaws")] {
        let record = run_in(&Workspace::new(), "tgw-segmentation", profile, lab);
        assert_eq!(passed(&record).len(), 10, "{profile}: {record:#}");
        for p in record["probes"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let received = p["loss"]["received"].as_u64().unwrap_or(0);
            if name == "prod-to-dev" || name == "dev-to-prod" {
                assert_eq!(
                    received, 0,
                    "{profile}: {name} crossed the segmentation: {p:#}"
                );
            } else {
                assert!(received > 1000, "{profile}: {name}: {p:#}");
            }
        }
    }
}

/// Two SD-WAN sites, each an appliance on its own Connect attachment: each hears the other's
/// prefix (and the VPC's) from the TGW route table, never its own, and traffic flows site to
/// site through the TGW (`tests/tgw_scenarios/two-sdwan-sites.toml`).
#[test]
fn two_sdwan_sites_reach_each_other_through_their_connect_attachments() {
    let _s = serial();
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/tgw_scenarios/two-sdwan-sites.toml"
    );
    let record = run_in(&Workspace::new(), file, "fast", "tgw2sites");
    let names = passed(&record);
    assert_eq!(names.len(), 7, "every expectation passed: {names:?}");
}

/// `tgw-vpn-ecmp`'s topology with two different sites: cgw1 (AS 65001) announces 10.1.0.0/16,
/// cgw2 (AS 65002) 10.2.0.0/16; `tables` is appended to the `[[tgw]]`.
fn two_vpn_sites(name: &str, tables: &str) -> String {
    let text = scenarios::shipped::find("tgw-vpn-ecmp").unwrap().text;
    let topology = &text[..text.find("[[expect]]").expect("expectations")];
    let mut s = topology
        .replace("name = \"tgw-vpn-ecmp\"", &format!("name = \"{name}\""))
        .replacen("vpn_ecmp = true", &format!("vpn_ecmp = true\n{tables}"), 1);
    let cgw2 = s.find("name = \"cgw2\"").expect("cgw2");
    let rest = s[cgw2..]
        .replacen("asn = 65001", "asn = 65002", 1)
        .replacen(
            "advertise = [\"10.1.0.0/16\"]",
            "advertise = [\"10.2.0.0/16\"]",
            1,
        )
        .replacen(
            "routes = [{ to = \"10.1.0.0/16\"",
            "routes = [{ to = \"10.2.0.0/16\"",
            1,
        );
    s.replace_range(cgw2.., &rest);
    s.push_str(
        r#"
[[expect]]
name = "cgw1 learns the VPC"
within = "20s"
check = "route"
node = "cgw1"
prefix = "10.0.0.0/16"

[[expect]]
name = "cgw2 learns the VPC"
within = "20s"
check = "route"
node = "cgw2"
prefix = "10.0.0.0/16"

[[expect]]
name = "the TGW has site 2"
within = "20s"
check = "tgw_route"
node = "tgw1"
route_table = "rt-vpc"
prefix = "10.2.0.0/16"
via = ["vpn2-t1", "vpn2-t2"]
"#,
    );
    s
}

/// VPN attachments hear their route table's routes: in one table two VPN sites learn each
/// other through the TGW (site to site over VPN, as on AWS); with a route table each that
/// propagates only the VPC, neither learns of the other (no plain BGP re-advertisement from
/// one VPN attachment to another past the route tables).
#[test]
fn vpn_attachments_hear_their_route_tables_only() {
    let _s = serial();
    let ws = Workspace::new();
    let one_table = two_vpn_sites(
        "tgwvpn1",
        "default_association = false\ndefault_propagation = false\n\
         route_table = [{ name = \"rt-vpc\", associations = [\"att-vpc1\", \"vpn1\", \"vpn2\"], propagations = [\"att-vpc1\", \"vpn1\", \"vpn2\"] }]",
    ) + r#"
[[expect]]
name = "in one table, site 1 learns site 2 through the TGW"
after = "the TGW has site 2"
within = "5s"
check = "route"
node = "cgw1"
prefix = "10.2.0.0/16"

[[expect]]
name = "and site 2 learns site 1"
after = "the TGW has site 2"
within = "5s"
check = "route"
node = "cgw2"
prefix = "10.1.0.0/16"
"#;
    let file = ws.file("tgwvpn1.toml", &one_table);
    let record = run_in(&ws, file.to_str().unwrap(), "fast", "tgwvpn1");
    assert_eq!(passed(&record).len(), 5, "{:?}", passed(&record));

    let apart = two_vpn_sites(
        "tgwvpn2",
        "default_association = false\ndefault_propagation = false\n\
         route_table = [\n\
           { name = \"rt-vpc\", associations = [\"att-vpc1\"], propagations = [\"vpn1\", \"vpn2\"] },\n\
           { name = \"rt-site1\", associations = [\"vpn1\"], propagations = [\"att-vpc1\"] },\n\
           { name = \"rt-site2\", associations = [\"vpn2\"], propagations = [\"att-vpc1\"] },\n\
         ]",
    ) + r#"
[[expect]]
name = "kept apart, site 1 never learns site 2"
after = "the TGW has site 2"
delay = "3s"
check = "route"
node = "cgw1"
prefix = "10.2.0.0/16"
present = false

[[expect]]
name = "nor site 2 site 1"
after = "the TGW has site 2"
delay = "3s"
check = "route"
node = "cgw2"
prefix = "10.1.0.0/16"
present = false
"#;
    let file = ws.file("tgwvpn2.toml", &apart);
    let record = run_in(&ws, file.to_str().unwrap(), "fast", "tgwvpn2");
    assert_eq!(passed(&record).len(), 5, "{:?}", passed(&record));
}

/// §7 item 8: AWS accepts the same inside /30 on two VPN attachments of one TGW (one VGW
/// refuses it). `tgw-vpn-ecmp` with both attachments on 169.254.10.0/30 and 169.254.11.0/30:
/// all four sessions come up (each bound to its own tunnel interface), the route table holds
/// the four next hops (two pairs of identical addresses on different tunnels) and traffic flows
/// both ways. The two tunnels of one attachment still need two /30s.
#[test]
fn vpn_attachments_may_share_inside_cidrs() {
    let _s = serial();
    let ws = Workspace::new();
    let tunnels =
        "tunnel = [{ inside_cidr = \"169.254.10.0/30\" }, { inside_cidr = \"169.254.11.0/30\" }]";
    let file = variant(
        &ws,
        "tgw-vpn-ecmp",
        &[
            ("cgw = \"cgw1\"\n", &format!("cgw = \"cgw1\"\n{tunnels}\n")),
            ("cgw = \"cgw2\"\n", &format!("cgw = \"cgw2\"\n{tunnels}\n")),
        ],
    );
    let record = run_in(&ws, file.to_str().unwrap(), "fast", "tgwdup30");
    let names = passed(&record);
    assert_eq!(names.len(), 7, "every expectation: {names:?}");
    assert!(
        names
            .iter()
            .any(|n| n == "10.1.0.0/16 over the four tunnels"),
        "{names:?}"
    );

    let one = variant(
        &ws,
        "tgw-vpn-ecmp",
        &[(
            "cgw = \"cgw1\"\n",
            "cgw = \"cgw1\"\ntunnel = [{ inside_cidr = \"169.254.10.0/30\" }, { inside_cidr = \"169.254.10.0/30\" }]\n",
        )],
    );
    let out = ws.run(&["validate", one.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("vpn_attachment[0].tunnel[1].inside_cidr")
            && e.contains("the other tunnel of this VPN connection")
            && e.contains("1 error in"),
        "{e}"
    );
}

/// `tgw-segmentation`'s topology with a timeline that changes its route tables at run time.
fn segmentation_changed_at_run_time() -> String {
    let text = scenarios::shipped::find("tgw-segmentation").unwrap().text;
    let topology = &text[..text.find("[[expect]]").expect("expectations")];
    let mut s = topology.replace("name = \"tgw-segmentation\"", "name = \"tgwrt\"");
    s.push_str(
        r#"
[[expect]]
name = "prod reaches shared"
within = "15s"
check = "delivers"
probe = "prod-to-shared"

[[timeline]]
name = "shared no longer propagates to rt-prod"
after = "prod reaches shared"
action = "tgw_disable_propagation"
node = "tgw1"
table = "rt-prod"
attachment = "att-shared"

[[expect]]
name = "rt-prod: no route to shared"
after = "shared no longer propagates to rt-prod"
within = "3s"
check = "tgw_route"
node = "tgw1"
route_table = "rt-prod"
prefix = "10.30.0.0/16"
present = false

[[timeline]]
name = "shared propagates to rt-prod again"
after = "rt-prod: no route to shared"
delay = "2s"
action = "tgw_enable_propagation"
node = "tgw1"
table = "rt-prod"
attachment = "att-shared"

[[expect]]
name = "rt-prod: shared is back"
after = "shared propagates to rt-prod again"
within = "3s"
check = "tgw_route"
node = "tgw1"
route_table = "rt-prod"
prefix = "10.30.0.0/16"
via = ["att-shared"]
route_kind = "vpc"

[[expect]]
name = "prod reaches shared again"
after = "rt-prod: shared is back"
within = "5s"
check = "delivers"
probe = "prod-to-shared"

[[timeline]]
name = "rt-prod: dev's blackhole replaced by a route to att-dev"
after = "prod reaches shared again"
action = "tgw_add_route"
node = "tgw1"
table = "rt-prod"
cidr = "10.20.0.0/16"
attachment = "att-dev"
replace = true

[[timeline]]
name = "prod propagates to rt-dev"
after = "rt-prod: dev's blackhole replaced by a route to att-dev"
action = "tgw_enable_propagation"
node = "tgw1"
table = "rt-dev"
attachment = "att-prod"

[[expect]]
name = "rt-prod: a static route to dev"
after = "prod propagates to rt-dev"
within = "3s"
check = "tgw_route"
node = "tgw1"
route_table = "rt-prod"
prefix = "10.20.0.0/16"
via = ["att-dev"]
route_kind = "static"

[[expect]]
name = "prod reaches dev"
after = "prod propagates to rt-dev"
within = "5s"
check = "delivers"
probe = "prod-to-dev"

[[expect]]
name = "dev reaches prod"
after = "prod propagates to rt-dev"
within = "5s"
check = "delivers"
probe = "dev-to-prod"

[[timeline]]
name = "the route to dev deleted"
after = "dev reaches prod"
action = "tgw_delete_route"
node = "tgw1"
table = "rt-prod"
cidr = "10.20.0.0/16"

[[expect]]
name = "rt-prod: no route to dev at all"
after = "the route to dev deleted"
within = "3s"
check = "tgw_route"
node = "tgw1"
route_table = "rt-prod"
prefix = "10.20.0.0/16"
present = false
"#,
    );
    s
}

#[test]
fn route_tables_change_at_run_time() {
    let _s = serial();
    let ws = Workspace::new();
    let file = ws.file("tgwrt.toml", &segmentation_changed_at_run_time());
    let record = run_in(&ws, file.to_str().unwrap(), "fast", "tgwrt");
    let names = passed(&record);
    assert_eq!(names.len(), 8, "every expectation passed: {names:?}");
    // prod reached dev only once the tables were opened: its first packets were dropped.
    let probe = |name: &str| {
        record["probes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap()
    };
    let to_dev = probe("prod-to-dev");
    let (sent, received) = (
        to_dev["loss"]["sent"].as_u64().unwrap(),
        to_dev["loss"]["received"].as_u64().unwrap(),
    );
    assert!(received > 0 && received < sent, "{to_dev:#}");
}

/// A Connect attachment over a Direct Connect gateway attachment (issue #12).
#[test]
fn tgw_connect_over_dx_in_both_profiles() {
    let _s = serial();
    for (profile, lab) in [("fast", "tgwcdxfast"), ("aws", "tgwcdxaws")] {
        let record = run_in(&Workspace::new(), "tgw-connect-over-dx", profile, lab);
        let names = passed(&record);
        assert_eq!(names.len(), 14, "{profile}: {names:?}");
        for want in [
            "the TGW's GRE to the appliance rides the DX-learned 172.16.0.0/24",
            "p1: both sessions (.2 and .3) Established",
            "10.1.0.0/16: Connect ECMP over p1, p2, p3",
            "traffic flows both ways",
            "and back",
            "p1 lost: 10.1.0.0/16 over p2 and p3",
            "traffic stays on the others",
            "p1 back in the ECMP set",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{profile}: {want} not in {names:?}"
            );
        }
    }
}

/// A Connect attachment over DX needs the TGW CIDR block among its DX gateway association's
/// allowed prefixes (or covered by one): refused at `validate`, naming the transport.
#[test]
fn a_connect_over_dx_needs_the_cidr_block_allowed() {
    let text = scenarios::shipped::find("tgw-connect-over-dx")
        .unwrap()
        .text;
    let allowed = "allowed_prefixes = [\"192.0.2.0/24\"]";
    assert!(text.contains(allowed));
    let ws = Workspace::new();
    for (i, (to, ok)) in [
        ("allowed_prefixes = [\"10.0.0.0/16\"]", false),
        ("allowed_prefixes = [\"192.0.2.0/25\"]", false),
        ("allowed_prefixes = [\"192.0.0.0/16\"]", true),
    ]
    .into_iter()
    .enumerate()
    {
        let file = ws.file(&format!("dx{i}.toml"), &text.replacen(allowed, to, 1));
        let out = ws.run(&["validate", file.to_str().unwrap()]);
        let e = String::from_utf8_lossy(&out.stderr);
        if ok {
            assert_eq!(out.status.code(), Some(0), "{to}: {}", describe(&out));
        } else {
            assert_eq!(out.status.code(), Some(2), "{to}: {}", describe(&out));
            assert!(
                e.contains("tgw[0].connect[0].transport")
                    && e.contains("TGW CIDR block 192.0.2.0/24"),
                "{to}: {e}"
            );
        }
    }
}

/// `tgw-connect`'s topology with a timeline cutting each of p1, p2, p3 in turn, `rounds` times.
fn repeated_peer_cuts(rounds: usize) -> String {
    let text = scenarios::shipped::find("tgw-connect").unwrap().text;
    let topology = &text[..text.find("[[expect]]").expect("expectations")];
    let mut s = topology.replace("name = \"tgw-connect\"", "name = \"tgwchaos\"");
    s.push_str(
        r#"
[[expect]]
name = "ecmp-0"
within = "20s"
check = "tgw_route"
node = "tgw1"
prefix = "10.1.0.0/16"
via = ["p1", "p2", "p3"]
"#,
    );
    let peers = [
        ("p1", "192.0.2.1"),
        ("p2", "192.0.2.2"),
        ("p3", "192.0.2.3"),
    ];
    let mut k = 0;
    for _ in 0..rounds {
        for (i, (peer, tgw_address)) in peers.iter().enumerate() {
            k += 1;
            let others: Vec<String> = peers
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (p, _))| format!("\"{p}\""))
                .collect();
            s.push_str(&format!(
                r#"
[[timeline]]
name = "cut-{k}"
after = "ecmp-{prev}"
delay = "500ms"
action = "cut"
node = "sdwan1"
proto = "gre"
peer = "{tgw_address}"

[[expect]]
name = "without-{peer}-{k}"
after = "cut-{k}"
within = "8s"
check = "tgw_route"
node = "tgw1"
prefix = "10.1.0.0/16"
via = [{others}]

[[expect]]
name = "flowing-{k}"
after = "without-{peer}-{k}"
check = "delivers"
probe = "to-onprem"

[[expect]]
name = "flowing-back-{k}"
after = "without-{peer}-{k}"
check = "delivers"
probe = "to-vpc"

[[timeline]]
name = "restore-{k}"
after = "flowing-back-{k}"
delay = "300ms"
action = "restore"
cut = "cut-{k}"

[[expect]]
name = "ecmp-{k}"
after = "restore-{k}"
within = "15s"
check = "tgw_route"
node = "tgw1"
prefix = "10.1.0.0/16"
via = ["p1", "p2", "p3"]
"#,
                prev = k - 1,
                others = others.join(", ")
            ));
        }
    }
    s
}

#[test]
#[allow(clippy::print_stderr)] // reports the gaps
fn connect_peers_cut_repeatedly_traffic_stays_on_the_others() {
    let _s = serial();
    let ws = Workspace::new();
    let file = ws.file("tgwchaos.toml", &repeated_peer_cuts(2));
    let record = run_in(&ws, file.to_str().unwrap(), "fast", "tgwchaos");
    assert_eq!(
        passed(&record).len(),
        1 + 6 * 4,
        "every cut: route moved, both probes flowing, ECMP back"
    );
    let t0 = record["t0_ns"].as_u64().unwrap();
    for p in record["probes"].as_array().unwrap() {
        // Windows of the timeline only (bring-up loss ends before it starts).
        let gap = p["loss"]["windows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["end_ns"].as_u64().unwrap() > t0)
            .map(|w| w["end_ns"].as_u64().unwrap() - w["start_ns"].as_u64().unwrap())
            .max()
            .unwrap_or(0) as f64
            / 1e9;
        eprintln!("{}: longest gap {gap:.3} s", p["name"]);
        assert!(
            gap < 4.0,
            "{}: a gap of {gap:.3} s is more than the hold time (3 s) and a second",
            p["name"]
        );
    }
}

#[test]
fn show_tgw_views_on_a_running_lab() {
    let _s = serial();
    let ws = Workspace::new();
    let lab = "tgwshow";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: lab.to_string(),
    };
    let mut child = ws
        .command(&["run", "tgw-connect", "--lab", lab, "-q"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start hybridlab run");
    let show = |what: &str| -> Result<Value, String> {
        let out = ws.run(&["show", lab, "tgw1", what]);
        if out.status.code() != Some(0) {
            return Err(describe(&out));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {}", describe(&out)))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let connect = loop {
        match show("connect") {
            Ok(v) if v["connect1"]["p3"]["established"] == 2 => break v,
            other => {
                assert!(Instant::now() < deadline, "no Connect peer up: {other:?}");
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    };
    let p1 = &connect["connect1"]["p1"];
    assert_eq!(p1["inside_cidr"], "169.254.6.0/29");
    assert_eq!(p1["sessions"][0]["tgw_address"], "169.254.6.2");
    assert_eq!(p1["sessions"][1]["tgw_address"], "169.254.6.3");
    assert_eq!(p1["sessions"][0]["appliance_address"], "169.254.6.1");
    assert_eq!(p1["tgw_gre_address"], "192.0.2.1");
    assert_eq!(p1["bgp"], "ebgp");
    assert!(
        p1["gre"]["rx_packets"].as_u64().unwrap_or(0) > 0 || p1["gre"].is_object(),
        "{p1:#}"
    );
    let attachments = show("attachments").unwrap();
    let list = attachments["attachments"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{attachments:#}");
    assert_eq!(list[1]["type"], "connect");
    assert_eq!(list[1]["transport"], "att-vpc1");
    assert_eq!(list[0]["association"], "default");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let routes = show("routes").unwrap();
        let r = routes["tables"]["default"]["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["prefix"] == "10.1.0.0/16")
            .cloned();
        if let Some(r) = r
            && r["next_hops"] == 3
        {
            assert_eq!(r["kind"], "connect");
            break;
        }
        assert!(Instant::now() < deadline, "no ECMP route: {routes:#}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// `tgw-connect` with `from` replaced by `to`, validated: the error text (exit 2 required).
fn refused(from: &str, to: &str) -> String {
    let ws = Workspace::new();
    let text = scenarios::shipped::find("tgw-connect").unwrap().text;
    assert!(text.contains(from), "{from:?} not in the scenario");
    let file = ws.file("bad.toml", &text.replacen(from, to, 1));
    let out = ws.run(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_tgw_configuration_is_refused_naming_the_item() {
    let p2 = "\"169.254.6.8/29\"";
    // A reserved /29.
    let e = refused(p2, "\"169.254.169.248/29\"");
    assert!(
        e.contains("tgw[0].connect[0].peer[1].inside_cidr") && e.contains("reserved by AWS"),
        "{e}"
    );
    assert!(e.contains("bad.toml:"), "names the file and line: {e}");
    // A duplicate /29 across the TGW.
    let e = refused(p2, "\"169.254.6.0/29\"");
    assert!(
        e.contains("tgw[0].connect[0].peer[1].inside_cidr") && e.contains("unique across a TGW"),
        "{e}"
    );
    // A fifth peer on one Connect attachment.
    let last = "  { name = \"p4\", inside_cidr = \"169.254.6.24/29\", peer_address = \"10.0.2.10\", peer_asn = 65010 },\n";
    let e = refused(
        last,
        &format!(
            "{last}  {{ name = \"p5\", inside_cidr = \"169.254.6.32/29\", peer_address = \"10.0.2.10\", peer_asn = 65010 }},\n"
        ),
    );
    assert!(
        e.contains("tgw[0].connect[0].peer[4]") && e.contains("up to 4"),
        "{e}"
    );
    // A static route to a Connect attachment.
    let tables = "\n[[tgw.route_table]]\nname = \"rt1\"\nroutes = [{ cidr = \"10.9.0.0/16\", attachment = \"connect1\" }]\n";
    let anchor = "[[appliance]]";
    let e = refused(anchor, &format!("{tables}\n{anchor}"));
    assert!(
        e.contains("tgw[0].route_table[0].routes[0]")
            && e.contains("static routes are not supported on Connect"),
        "{e}"
    );
    // An attachment associated with two route tables.
    let tables = "\n[[tgw.route_table]]\nname = \"rt1\"\nassociations = [\"att-vpc1\"]\n\n[[tgw.route_table]]\nname = \"rt2\"\nassociations = [\"att-vpc1\"]\n";
    let e = refused(anchor, &format!("{tables}\n{anchor}"));
    assert!(
        e.contains("tgw[0].route_table[1].associations[0]")
            && e.contains("associated with route tables rt1 and rt2"),
        "{e}"
    );
}

/// A DX gateway association says which kind of gateway it names (`vgw` or `tgw`), and a TGW
/// association takes transit VIFs only (aws-behaviour.md §4): each mistake is refused at
/// `validate`, naming the field.
#[test]
fn a_dx_gateway_association_with_a_tgw_is_checked() {
    let refused = |from: &str, to: &str| -> String {
        let ws = Workspace::new();
        let text = scenarios::shipped::find("tgw-dx-vs-vpn").unwrap().text;
        assert!(text.contains(from), "{from:?} not in the scenario");
        let file = ws.file("bad.toml", &text.replacen(from, to, 1));
        let out = ws.run(&["validate", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let assoc = "{ tgw = \"tgw1\", allowed_prefixes = [\"10.0.0.0/16\"] }";
    let e = refused(assoc, "{ vgw = \"tgw1\" }");
    assert!(
        e.contains("dxgw[0].gateway[0].association[0].vgw")
            && e.contains("is a Transit Gateway: write tgw = \"tgw1\""),
        "{e}"
    );
    let e = refused(assoc, "{ allowed_prefixes = [\"10.0.0.0/16\"] }");
    assert!(
        e.contains("dxgw[0].gateway[0].association[0]") && e.contains("exactly one of vgw"),
        "{e}"
    );
    let e = refused("type = \"transit\"\n", "");
    assert!(
        e.contains("dxgw[0].connection[0].vif[0].type") && e.contains("use a transit VIF"),
        "{e}"
    );
}

#[test]
fn cgw_config_gives_the_appliance_frr_configuration() {
    let ws = Workspace::new();
    let out = ws.run(&["cgw-config", "--format", "frr", "tgw-connect", "connect1"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "router bgp 65010",
        "neighbor 169.254.6.2 remote-as 64512",
        "neighbor 169.254.6.3 remote-as 64512",
        "neighbor 169.254.6.2 update-source 169.254.6.1",
        "neighbor 169.254.6.2 ebgp-multihop 2",
        "neighbor 169.254.6.2 timers 1 3",
        "network 10.1.0.0/16",
        // Only the site's own prefixes go out (nothing the TGW sent comes back to it).
        "ip prefix-list TO-TGW seq 5 permit 10.1.0.0/16",
        "neighbor 169.254.6.3 prefix-list TO-TGW out",
        "interface gre-p1 169.254.6.1/29, GRE local 10.0.2.10 remote 192.0.2.1, MTU 8476",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    // p4's appliance sends TTL 1 (the scenario's misconfiguration), and the export says so.
    assert!(
        text.contains("neighbor 169.254.6.26 ebgp-multihop 1"),
        "{text}"
    );
    let aws = ws.run(&[
        "cgw-config",
        "--format",
        "frr",
        "--profile",
        "aws",
        "tgw-connect",
        "connect1",
    ]);
    assert!(
        String::from_utf8_lossy(&aws.stdout).contains("timers 10 30"),
        "{}",
        describe(&aws)
    );
}

/// MP-BGP IPv6 over Connect: every expectation of `tgw-connect-ipv6`, in both profiles, and
/// both families delivered both ways (the IPv6 probes need the appliance to have learned the
/// VPC's IPv6 CIDR over MP-BGP: it has no other route to it).
#[test]
fn tgw_connect_ipv6_in_both_profiles() {
    let _s = serial();
    for (profile, lab) in [("fast", "tgw6fast"), ("aws", "tgw6aws")] {
        let record = run_in(&Workspace::new(), "tgw-connect-ipv6", profile, lab);
        let names = passed(&record);
        assert_eq!(names.len(), 12, "{profile}: every expectation: {names:?}");
        for p in record["probes"].as_array().unwrap() {
            let received = p["loss"]["received"].as_u64().unwrap_or(0);
            assert!(received > 1000, "{profile}: {}: {p:#}", p["name"]);
        }
    }
}

/// AWS's IPv6 rules for Connect and VPC attachments, each refused at `validate` naming the
/// item (`tgw-connect-ipv6` with one mistake each).
#[test]
fn bad_ipv6_configuration_is_refused_naming_the_item() {
    let refused6 = |from: &str, to: &str| -> String {
        let ws = Workspace::new();
        let file = variant(&ws, "tgw-connect-ipv6", &[(from, to)]);
        let out = ws.run(&["validate", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = refused6("\"fd00:6::/125\"", "\"fc00:6::/125\"");
    assert!(
        e.contains("tgw[0].connect[0].peer[0].inside_cidr_v6") && e.contains("fd00::/8"),
        "{e}"
    );
    let e = refused6("\"fd00:6::8/125\"", "\"fd00:6::/125\"");
    assert!(
        e.contains("tgw[0].connect[0].peer[1].inside_cidr_v6") && e.contains("unique across a TGW"),
        "{e}"
    );
    let e = refused6("\"fd00:6::/125\"", "\"fd00:6::/64\"");
    assert!(e.contains("must be a /125"), "{e}");
    let e = refused6("ipv6_support = true", "ipv6_support = false");
    assert!(
        e.contains("tgw[0].vpc_attachment[0].vpc_routes[1]") && e.contains("needs ipv6_support"),
        "{e}"
    );
    let e = refused6("ipv6_cidrs = [\"2001:db8:a::/56\"]\n", "");
    assert!(
        e.contains("tgw[0].vpc_attachment[0].ipv6_support") && e.contains("no IPv6 CIDR block"),
        "{e}"
    );
    let e = refused6(
        "ipv6_cidrs = [\"2001:db8:a::/56\"]",
        "ipv6_cidrs = [\"2001:db8:a::/64\"]",
    );
    assert!(
        e.contains("vpc[0].ipv6_cidrs[0]") && e.contains("/44 to /60"),
        "{e}"
    );
    // An IPv6 static route to an attachment that carries IPv4 only (a Connect attachment is
    // refused anyway; the VPN case is in the unit tests): a blackhole is fine.
    let ws = Workspace::new();
    let file = variant(
        &ws,
        "tgw-connect-ipv6",
        &[(
            "[[appliance]]",
            "[[tgw.route_table]]\nname = \"rt1\"\nroutes = [{ cidr = \"2001:db8:bad::/48\", blackhole = true }]\n\n[[appliance]]",
        )],
    );
    let out = ws.run(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn cgw_config_gives_the_ipv6_appliance_its_address_family() {
    let ws = Workspace::new();
    let out = ws.run(&[
        "cgw-config",
        "--format",
        "frr",
        "tgw-connect-ipv6",
        "connect1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "ip -6 addr add fd00:6::1/125 dev gre-p1",
        "ip prefix-list TO-TGW seq 5 permit 10.1.0.0/16",
        "ipv6 prefix-list TO-TGW-V6 seq 5 permit 2001:db8:b::/48",
        "route-map NH6-p2 permit 10\n set ipv6 next-hop global fd00:6::9",
        " address-family ipv6 unicast\n  network 2001:db8:b::/48",
        "  neighbor 169.254.6.2 activate",
        "  neighbor 169.254.6.11 route-map NH6-p2 out",
        "  neighbor 169.254.6.3 prefix-list TO-TGW-V6 out",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    // p3 has no IPv6 inside CIDR: its sessions stay IPv4 only; the IPv4 family has no IPv6.
    assert!(!text.contains("neighbor 169.254.6.18 activate"), "{text}");
    let v4_family = text
        .split(" address-family ipv4 unicast")
        .nth(1)
        .and_then(|t| t.split("exit-address-family").next())
        .unwrap();
    assert!(!v4_family.contains("2001:db8"), "{v4_family}");
}

/// Shipped scenario `name` with `from` replaced by `to` (each must occur), as a file in `ws`.
fn variant(ws: &Workspace, name: &str, edits: &[(&str, &str)]) -> std::path::PathBuf {
    let mut text = scenarios::shipped::find(name).unwrap().text.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in {name}");
        text = text.replacen(from, to, 1);
    }
    ws.file(&format!("{name}-variant.toml"), &text)
}

const FOUR_PATHS: &str = r#"via = ["vpn1-t1", "vpn1-t2", "vpn2-t1", "vpn2-t2"]
next_hops = 4"#;

/// §7 item 7: four next hops; prepend on one connection: only the other's tunnels; ECMP off:
/// one path.
#[test]
fn tgw_vpn_ecmp_in_both_profiles_with_prepend_and_ecmp_off() {
    let _s = serial();
    for (profile, lab) in [("fast", "tgwvfast"), ("aws", "tgwvaws")] {
        let record = run_in(&Workspace::new(), "tgw-vpn-ecmp", profile, lab);
        assert!(
            passed(&record)
                .iter()
                .any(|n| n == "10.1.0.0/16 over the four tunnels"),
            "{profile}"
        );
    }
    let ws = Workspace::new();
    let prepend = variant(
        &ws,
        "tgw-vpn-ecmp",
        &[
            (
                "routes = [{ to = \"10.1.0.0/16\", via = \"10.1.255.6\" }]",
                "routes = [{ to = \"10.1.0.0/16\", via = \"10.1.255.6\" }]\ntunnels = { \"vpn2-t1\" = { as_path_prepend = 2 }, \"vpn2-t2\" = { as_path_prepend = 2 } }",
            ),
            (
                FOUR_PATHS,
                "via = [\"vpn1-t1\", \"vpn1-t2\"]\nnext_hops = 2",
            ),
        ],
    );
    run_in(&ws, prepend.to_str().unwrap(), "fast", "tgwvprep");
    let ws = Workspace::new();
    let off = variant(
        &ws,
        "tgw-vpn-ecmp",
        &[
            ("vpn_ecmp = true", "vpn_ecmp = false"),
            (FOUR_PATHS, "next_hops = 1"),
        ],
    );
    run_in(&ws, off.to_str().unwrap(), "fast", "tgwvoff");
}

/// §7 item 6 in both profiles, and a static route to the VPN attachment beating DX.
#[test]
fn tgw_dx_vs_vpn_in_both_profiles_and_a_static_route_to_the_vpn() {
    let _s = serial();
    for (profile, lab) in [("fast", "tgwdfast"), ("aws", "tgwdaws")] {
        let record = run_in(&Workspace::new(), "tgw-dx-vs-vpn", profile, lab);
        let names = passed(&record);
        for want in [
            "only the DX gateway route shows",
            "DX withdrawn: the VPN route appears",
            "DX back: only the DX route again",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{profile}: {want} not in {names:?}"
            );
        }
    }
    let ws = Workspace::new();
    let text = scenarios::shipped::find("tgw-dx-vs-vpn").unwrap().text;
    let topology = &text[..text.find("[[probe]]").expect("probes")];
    let mut s = topology.replace(
        "[[tgw.dx_attachment]]",
        "[[tgw.route_table]]\nname = \"default\"\nroutes = [{ cidr = \"10.1.0.0/16\", attachment = \"vpn1\" }]\n\n[[tgw.dx_attachment]]",
    );
    s.push_str(
        r#"
[[expect]]
name = "DX is up"
within = "20s"
check = "state"
node = "dx1"
show = "vifs"
pointer = "/vifs/0/bgp/state"
equals = "Established"

[[expect]]
name = "the static route to the VPN attachment beats the DX route"
after = "DX is up"
within = "10s"
check = "tgw_route"
node = "tgw1"
prefix = "10.1.0.0/16"
route_kind = "static"
next_hops = 1
"#,
    );
    let file = ws.file("static-beats-dx.toml", &s);
    let record = run_in(&ws, file.to_str().unwrap(), "fast", "tgwdstat");
    assert_eq!(passed(&record).len(), 2);
}

/// tshark decodes the ESP of a running TGW VPN attachment (ESP in UDP 4500, RFC 3948) with
/// nothing malformed (`tgw_interop` does the same for GRE and BGP over GRE).
#[test]
fn tshark_decodes_the_esp_of_vpn_attachments() {
    let _s = serial();
    let ws = Workspace::new();
    let lab = "tgwesp";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: lab.to_string(),
    };
    // A live lab (`up`): it stays until the capture is done (a `run` ends with its
    // expectations, which took the interfaces away under a slow tshark).
    let out = ws.run(&["up", "tgw-vpn-ecmp", "--lab", lab]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = ws.run(&["show", lab, "tgw1", "routes"]);
        let routes: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        let up = routes["tables"]["default"]["routes"]
            .as_array()
            .is_some_and(|a| {
                a.iter()
                    .any(|r| r["prefix"] == "10.1.0.0/16" && r["next_hops"] == 4)
            });
        if up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no ECMP route: {}",
            describe(&out)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let pcap = ws.path().join("esp.pcapng");
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &format!("hl-{lab}-inet"),
            "tshark",
            "-n",
            "-i",
            "tgw1",
        ])
        // 150 packets, or 15 s at most: tshark's own start-up (a second or more on a loaded
        // machine) does not eat into a fixed capture window.
        .args(["-c", "150", "-a", "duration:15", "-w"])
        .arg(&pcap)
        .output()
        .expect("tshark");
    assert!(out.status.success(), "{}", describe(&out));
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&pcap)
        .args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-e",
            "esp.spi",
            "-e",
            "_ws.malformed",
            "-e",
            "frame.protocols",
        ])
        .output()
        .expect("tshark");
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut esp = 0;
    for line in text.lines() {
        let mut fields = line.split('|');
        let (spi, malformed) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
        assert!(malformed.is_empty(), "malformed: {line}");
        if !spi.is_empty() {
            esp += 1;
        }
    }
    assert!(
        esp > 100,
        "{esp} ESP packets decoded of 150 captured\n{text}"
    );
}
