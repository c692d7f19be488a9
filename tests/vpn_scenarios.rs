//! The Site-to-Site VPN scenarios on real namespaces (root): the emulated VGW and customer
//! gateways as real daemons, real IPsec tunnels and BGP sessions.
//!
//! - every VPN scenario passes with AWS's own timers (`--profile aws`), the six run together
//!   (their timers, not the CPU, set the pace); the `fast` profile is covered by
//!   `lab_timing::every_shipped_scenario_passes`;
//! - `fast` failover: 20 silent cuts of tunnel 1, traffic back within 3.5 s, p99 (nearest rank);
//! - `hybridlab show LAB vgw1 routes|tunnels|bgp` on a running lab: what an operator needs, and
//!   never the pre-shared keys;
//! - bad VPN configuration is refused before anything is created, naming the item, never
//!   echoing a key;
//! - `hybridlab cgw-config` prints the addresses and keys the lab uses.

#![allow(clippy::print_stderr)] // the failover test reports its percentiles

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{DownOnDrop, Workspace, describe, leftovers, longest_window, percentile, wait_until};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

const VPN_SCENARIOS: &[&str] = &[
    "dual-tunnel-failover",
    "static-over-dynamic",
    "cloudhub",
    "vpn-route-limit",
    "redundant-cgw",
    "onprem-default-route",
    "cgw-behind-nat",
    "endpoint-replacement",
];

fn shipped_text(name: &str) -> &'static str {
    scenarios::shipped::find(name).expect("shipped").text
}

/// Runs `(index, scenario)` pairs at once in the AWS profile, as labs `sctaws<index>`.
fn run_wave(ws: &Workspace, wave: &[(usize, &str)]) -> Vec<(String, std::process::Output)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = wave
            .iter()
            .map(|&(i, name)| {
                s.spawn(move || {
                    let lab = format!("sctaws{i}");
                    let json = ws.path().join(format!("{lab}.json"));
                    let out = ws.run(&[
                        "run",
                        name,
                        "--profile",
                        "aws",
                        "--lab",
                        &lab,
                        "-q",
                        "--json",
                        json.to_str().unwrap(),
                    ]);
                    (name.to_string(), out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn every_vpn_scenario_passes_in_the_aws_profile() {
    let _s = serial();
    let ws = Workspace::new();
    let _guards: Vec<DownOnDrop> = VPN_SCENARIOS
        .iter()
        .enumerate()
        .map(|(i, _)| DownOnDrop {
            ws: &ws,
            lab: format!("sctaws{i}"),
        })
        .collect();
    // At most four labs at once: each runs a minute or more of AWS timers, and eight at once
    // starved the debug-build data planes of a 2-core machine (gaps of a few hundred ms).
    let indexed: Vec<(usize, &str)> = VPN_SCENARIOS.iter().copied().enumerate().collect();
    let runs: Vec<(String, std::process::Output)> = indexed
        .chunks(4)
        .flat_map(|wave| run_wave(&ws, wave))
        .collect();
    for (name, out) in &runs {
        assert_eq!(out.status.code(), Some(0), "{name}: {}", describe(out));
    }
    // The failover gap of dual-tunnel-failover is AWS's detection time: the hold timer (30 s
    // after the last keepalive, so 20-30 s after a cut) and not a second more.
    let record: Value =
        serde_json::from_slice(&std::fs::read(ws.path().join("sctaws0.json")).unwrap()).unwrap();
    for p in record["probes"].as_array().unwrap() {
        if p["kind"] != "udp" {
            continue;
        }
        let w = longest_window(p);
        let secs = w as f64 / 1e9;
        assert!(
            (19.5..31.0).contains(&secs),
            "{}: longest gap {secs:.3} s is not a 30 s hold-time detection",
            p["name"]
        );
    }
    for i in 0..VPN_SCENARIOS.len() {
        let lab = format!("sctaws{i}");
        let left = leftovers(&ws, &lab, &[], &[], &[&format!("--lab {lab}")]);
        assert!(left.none(), "{lab}: {left:#?}");
    }
}

/// dual-tunnel-failover's topology and probes with `cycles` cut/failover/restore/return
/// cycles of tunnel 1.
fn repeated_failover(cycles: usize) -> String {
    let text = shipped_text("dual-tunnel-failover");
    let topology = &text[..text.find("[[expect]]").expect("expectations")];
    let mut s = topology.replace("name = \"dual-tunnel-failover\"", "name = \"sctfail20\"");
    for k in 1..=cycles {
        let when = if k == 1 {
            "at = \"1s\"".to_string()
        } else {
            format!("after = \"back-{}\"\ndelay = \"1s\"", k - 1)
        };
        s.push_str(&format!(
            r#"
[[timeline]]
name = "cut-{k}"
{when}
action = "cut"
node = "cgw1"
proto = "udp"
ports = [500, 4500]
peer = "203.0.113.1"

[[expect]]
name = "moved-{k}"
after = "cut-{k}"
within = "10s"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
via = "vpn1-t2"

[[timeline]]
name = "restore-{k}"
after = "moved-{k}"
delay = "500ms"
action = "restore"
cut = "cut-{k}"

[[expect]]
name = "back-{k}"
after = "restore-{k}"
within = "30s"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
via = "vpn1-t1"
"#
        ));
    }
    s
}

#[test]
fn fast_failover_is_back_within_3_5_s_p99_over_20_cuts() {
    let _s = serial();
    const CUTS: usize = 20;
    let ws = Workspace::new();
    let _guard = DownOnDrop {
        ws: &ws,
        lab: "sctfail20".into(),
    };
    let file = ws.file("failover20.toml", &repeated_failover(CUTS));
    let json = ws.path().join("failover20.json");
    let out = ws.run(&[
        "run",
        file.to_str().unwrap(),
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let cuts: Vec<u64> = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "cut")
        .map(|e| e["t_ns"].as_u64().unwrap())
        .collect();
    assert_eq!(cuts.len(), CUTS);
    for probe in ["to-vpc", "to-onprem"] {
        let p = record["probes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == probe)
            .unwrap();
        let windows = p["loss"]["windows"].as_array().unwrap();
        // Each cut's outage: the window that starts within 50 ms of it (tunnel 1 carries the
        // traffic, so a cut always loses packets).
        let mut gaps: Vec<f64> = cuts
            .iter()
            .map(|&c| {
                let w = windows
                    .iter()
                    .find(|w| w["start_ns"].as_u64().unwrap().abs_diff(c) < 50_000_000)
                    .unwrap_or_else(|| panic!("{probe}: no loss window at a cut"));
                (w["end_ns"].as_u64().unwrap() - w["start_ns"].as_u64().unwrap()) as f64 / 1e9
            })
            .collect();
        gaps.sort_by(f64::total_cmp);
        let (p50, p90, p99) = (
            percentile(&gaps, 50.0),
            percentile(&gaps, 90.0),
            percentile(&gaps, 99.0),
        );
        eprintln!(
            "{probe}: {CUTS} cuts, gap p50 {p50:.3} s, p90 {p90:.3} s, p99 {p99:.3} s, min {:.3} s",
            gaps[0]
        );
        assert!(p99 < 3.5, "{probe}: p99 {p99:.3} s ({gaps:?})");
        assert!(gaps[0] > 1.0, "{probe}: a cut without an outage? {gaps:?}");
    }
}

#[test]
fn show_gives_operators_routes_tunnels_and_bgp_but_never_keys() {
    let _s = serial();
    let ws = Workspace::new();
    let lab = "sctshow";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    // dual-tunnel-failover, with the restore pushed back so the lab stays up while we look.
    let text = shipped_text("dual-tunnel-failover").replace(
        "after = \"the VGW moves to tunnel 2\"\ndelay = \"2s\"",
        "after = \"the VGW moves to tunnel 2\"\ndelay = \"8s\"",
    );
    let file = ws.file("show.toml", &text);
    let mut child = ws
        .command(&["run", file.to_str().unwrap(), "--lab", lab, "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let show = |what: &str| -> Option<Value> {
        let out = ws.run(&["show", lab, "vgw1", what]);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    };
    let mut tunnels = Value::Null;
    wait_until(
        "both tunnels up with BGP",
        Duration::from_secs(30),
        || match show("tunnels") {
            Some(v) => {
                let up = v.as_array().is_some_and(|a| {
                    a.len() == 2
                        && a.iter()
                            .all(|t| t["status"] == "UP" && t["bgp"]["state"] == "Established")
                });
                tunnels = v;
                up
            }
            None => false,
        },
    );
    let routes = show("routes").expect("show routes");
    let bgp = show("bgp").expect("show bgp");
    let t1 = &tunnels[0];
    assert_eq!(t1["name"], "vpn1-t1");
    assert!(t1["bgp"]["established_for_s"].is_number(), "{t1}");
    assert_eq!(t1["bgp"]["prefixes_accepted"], 1, "{t1}");
    assert!(t1["outside"]["local"] == "203.0.113.1", "{t1}");
    assert!(t1["ipsec"].is_object(), "{t1}");
    assert_eq!(routes["seed"], 1, "{routes}");
    assert!(routes["preferred_tunnels"].is_array(), "{routes}");
    assert_eq!(routes["selected"][0]["prefix"], "10.1.0.0/16", "{routes}");
    assert!(bgp.to_string().contains("vpn1-t1"), "{bgp}");
    // The lab's keys: random per lab (the VGW sets no seed), read from the running lab as
    // AWS's "download configuration" hands them out, and shown in no view.
    let download = ws.run(&["cgw-config", "--format", "strongswan", lab, "vpn1"]);
    assert!(download.status.success(), "{}", describe(&download));
    let download = String::from_utf8(download.stdout).unwrap();
    let keys = swanctl_secrets(&download);
    assert_eq!(keys.len(), 2, "{download}");
    assert_ne!(keys[0], keys[1], "each tunnel has its own key");
    let all = format!("{tunnels}{routes}{bgp}");
    for (t, key) in keys.iter().enumerate() {
        assert_eq!(key.len(), vgw::plan::GENERATED_PSK_LEN);
        let seeded = vgw::plan::derive_psk(1, &format!("vgw1/vpn1/t{}", t + 1));
        assert_ne!(
            key,
            seeded.secret().expose(),
            "keys of an unseeded VGW are random"
        );
        assert!(!all.contains(key.as_str()), "a pre-shared key is shown");
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_cgw_behind_a_nat_is_reached_where_the_nat_put_it_and_followed_when_it_moves() {
    let _s = serial();
    let ws = Workspace::new();
    let lab = "sctnat";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    // cgw-behind-nat with the NAT restart pushed back, so the test sees both mappings.
    let text = shipped_text("cgw-behind-nat").replace("at = \"3s\"", "at = \"8s\"");
    let file = ws.file("nat.toml", &text);
    let mut child = ws
        .command(&["run", file.to_str().unwrap(), "--lab", lab, "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let tunnel = |node: &str| -> Option<Value> {
        let out = ws.run(&["show", lab, node, "tunnels"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?
            .iter()
            .find(|t| t["name"] == "vpn1-t1")
            .map(|t| t["ipsec"].clone())
    };
    // The VGW sends ESP to the edge's public address at a port the NAT chose (random-fully:
    // neither 500 nor 4500), and the CGW knows itself to be behind a NAT.
    let mut first = String::new();
    wait_until(
        "the VGW's ESP peer is the NAT's mapping",
        Duration::from_secs(30),
        || {
            let Some(ipsec) = tunnel("vgw1") else {
                return false;
            };
            first = ipsec["esp_peer"].as_str().unwrap_or("").to_string();
            first.starts_with("198.51.100.1:") && ipsec["nat_t"] == true
        },
    );
    let port: u16 = first.rsplit(':').next().unwrap().parse().unwrap();
    assert!(![500, 4500].contains(&port), "not translated: {first}");
    let cgw = tunnel("cgw1").expect("cgw1 tunnels");
    assert_eq!(cgw["behind_nat"], true, "{cgw}");
    assert_eq!(tunnel("vgw1").unwrap()["behind_nat"], false);
    // At 8 s the edge forgets its mappings: the VGW follows the new port.
    wait_until(
        "the VGW follows the NAT's new mapping",
        Duration::from_secs(30),
        || {
            tunnel("vgw1").is_some_and(|ipsec| {
                let now = ipsec["esp_peer"].as_str().unwrap_or("");
                now.starts_with("198.51.100.1:") && now != first
            })
        },
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the scenario's expectations hold");
}

#[test]
fn modify_tunnel_options_restarts_the_tunnel_with_the_new_options() {
    let _s = serial();
    let ws = Workspace::new();
    let lab = "sctmod";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    // dual-tunnel-failover without its cut; tunnel 2 gets a 900 s CHILD_SA lifetime at 2 s.
    let base = shipped_text("dual-tunnel-failover");
    let topology = &base[..base.find("[[expect]]").unwrap()];
    let text = format!(
        "{topology}
[[timeline]]
name = \"modify\"
at = \"2s\"
action = \"modify_tunnel_options\"
node = \"vgw1\"
tunnel = \"vpn1-t2\"
options = {{ phase2_lifetime_seconds = 900, rekey_margin_time_seconds = 60 }}

[[expect]]
name = \"tunnel 2 is back with BGP under the new options\"
after = \"modify\"
delay = \"1s\"
within = \"20s\"
check = \"tunnel\"
node = \"vgw1\"
tunnel = \"vpn1-t2\"
status = \"UP\"
bgp = \"Established\"

[[expect]]
name = \"hold the lab for the test\"
at = \"12s\"
check = \"tunnel\"
node = \"vgw1\"
tunnel = \"vpn1-t1\"
status = \"UP\"
"
    );
    let file = ws.file("modify.toml", &text);
    let mut child = ws
        .command(&["run", file.to_str().unwrap(), "--lab", lab, "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ipsec = |name: &str| -> Option<Value> {
        let out = ws.run(&["show", lab, "vgw1", "tunnels"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        v.as_array()?
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["ipsec"].clone())
    };
    // Restarted: a second IKE SA, and a CHILD_SA that rekeys within the new 900 s lifetime
    // (AWS's default is 3600 s), while tunnel 1 keeps its first IKE SA.
    wait_until(
        "tunnel 2 restarted with the new lifetime",
        Duration::from_secs(30),
        || {
            ipsec("vpn1-t2").is_some_and(|t| {
                t["established_count"].as_u64() == Some(2)
                    && t["child_sas"][0]["rekey_in_secs"]
                        .as_u64()
                        .is_some_and(|s| s <= 900)
            })
        },
    );
    let t1 = ipsec("vpn1-t1").unwrap();
    assert_eq!(t1["established_count"], 1, "{t1}");
    assert!(
        t1["child_sas"][0]["rekey_in_secs"].as_u64().unwrap() > 900,
        "{t1}"
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    // An option AWS refuses is refused before anything starts, naming the field.
    let bad = ws.file(
        "bad-modify.toml",
        &text.replace(
            "phase2_lifetime_seconds = 900",
            "phase2_lifetime_seconds = 10",
        ),
    );
    let out = ws.run(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let why = describe(&out);
    assert!(
        why.contains("timeline[0].options") && why.contains("phase2_lifetime_seconds"),
        "{why}"
    );
}

#[test]
fn bad_vpn_configuration_is_refused_before_anything_is_created() {
    let _s = serial();
    let base = shipped_text("dual-tunnel-failover");
    let secret = "s3cretKeyNeverShown";
    // (what, replace this, with this, the error must name)
    let cases: &[(&str, &str, String, &str)] = &[
        (
            "reserved inside CIDR",
            "routing = \"dynamic\"",
            "routing = \"dynamic\"\ntunnel = [{ inside_cidr = \"169.254.169.252/30\" }, {}]".into(),
            "vgw[0].connection[0].tunnel[0].inside_cidr",
        ),
        (
            "duplicate inside CIDR",
            "routing = \"dynamic\"",
            "routing = \"dynamic\"\ntunnel = [{ inside_cidr = \"169.254.10.0/30\" }, { inside_cidr = \"169.254.10.0/30\" }]".into(),
            "inside_cidr",
        ),
        (
            "inside CIDR not a /30",
            "routing = \"dynamic\"",
            "routing = \"dynamic\"\ntunnel = [{ inside_cidr = \"169.254.10.0/29\" }, {}]".into(),
            "inside_cidr",
        ),
        (
            "bad PSK",
            "routing = \"dynamic\"",
            format!("routing = \"dynamic\"\ntunnel = [{{ pre_shared_key = \"0{secret}\" }}, {{}}]"),
            "pre_shared_key",
        ),
        (
            "Amazon-side ASN out of range",
            "vpc = \"vpc1\"",
            "vpc = \"vpc1\"\namazon_side_asn = 100".into(),
            "amazon_side_asn",
        ),
        (
            "customer ASN 23456",
            "asn = 65001",
            "asn = 23456".into(),
            "customer_asn",
        ),
        (
            "static routes on a BGP VPN",
            "routing = \"dynamic\"",
            "routing = \"dynamic\"\nstatic_routes = [\"10.1.0.0/16\"]".into(),
            "static_routes",
        ),
        (
            "three tunnels",
            "routing = \"dynamic\"",
            "routing = \"dynamic\"\ntunnel = [{}, {}, {}]".into(),
            "tunnel",
        ),
    ];
    for (what, from, to, item) in cases {
        let ws = Workspace::new();
        assert!(base.contains(from), "{what}: base text changed");
        let text = base.replacen(from, to, 1);
        let file = ws.file("bad.toml", &text);
        for cmd in ["validate", "run"] {
            let out = ws.run(
                &[cmd, file.to_str().unwrap(), "--lab", "sctbad"]
                    [..if cmd == "run" { 4 } else { 2 }],
            );
            let text = describe(&out);
            assert_eq!(out.status.code(), Some(2), "{what} ({cmd}): {text}");
            assert!(
                text.contains("bad.toml:"),
                "{what} ({cmd}): no file:line: {text}"
            );
            assert!(
                text.contains(item),
                "{what} ({cmd}): does not name {item}: {text}"
            );
            assert!(
                !text.contains(secret),
                "{what} ({cmd}): echoes the key: {text}"
            );
        }
        let left = leftovers(&ws, "sctbad", &[], &[], &["--lab sctbad"]);
        assert!(left.none(), "{what}: {left:#?}");
    }
}

/// The `secret = "..."` values of a swanctl.conf, in order.
fn swanctl_secrets(swanctl: &str) -> Vec<String> {
    swanctl
        .lines()
        .filter_map(|l| l.trim().strip_prefix("secret = \""))
        .map(|rest| rest.trim_end_matches('"').to_string())
        .collect()
}

#[test]
fn cgw_config_prints_what_the_lab_uses() {
    let ws = Workspace::new();
    // A VGW with a seed: keys derived from it, printable before any lab runs.
    let swan = ws.run(&[
        "cgw-config",
        "--format",
        "strongswan",
        "redundant-cgw",
        "vpn1",
    ]);
    assert!(swan.status.success(), "{}", describe(&swan));
    let swan = String::from_utf8(swan.stdout).unwrap();
    assert!(swan.contains("remote_addrs = 203.0.113.1"), "{swan}");
    assert!(swan.contains("remote_addrs = 203.0.113.2"), "{swan}");
    let keys = swanctl_secrets(&swan);
    for t in 1..=2 {
        let key = vgw::plan::derive_psk(2, &format!("vgw1/vpn1/t{t}"));
        assert_eq!(
            &keys[t - 1],
            key.secret().expose(),
            "tunnel {t}'s key is the seed's"
        );
    }
    // Without a seed, the keys are random per lab: the scenario alone cannot print them, and
    // the error says how to get them (the formats without keys still work).
    let refused = ws.run(&[
        "cgw-config",
        "--format",
        "strongswan",
        "dual-tunnel-failover",
        "vpn1",
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    let why = describe(&refused);
    assert!(why.contains("random per lab"), "{why}");
    assert!(why.contains("hybridlab cgw-config LAB vpn1"), "{why}");
    let fragment = ws.run(&[
        "cgw-config",
        "--format",
        "strongswan-conf",
        "dual-tunnel-failover",
        "vpn1",
    ]);
    assert!(fragment.status.success(), "{}", describe(&fragment));
    let frr = ws.run(&[
        "cgw-config",
        "--format",
        "frr",
        "dual-tunnel-failover",
        "vpn1",
    ]);
    assert!(frr.status.success(), "{}", describe(&frr));
    let frr = String::from_utf8(frr.stdout).unwrap();
    assert!(frr.contains("router bgp 65001"), "{frr}");
    assert!(frr.contains("remote-as 64512"), "{frr}");
    assert!(frr.contains("10.1.0.0/16"), "{frr}");
    let bad = ws.run(&[
        "cgw-config",
        "--format",
        "frr",
        "dual-tunnel-failover",
        "nope",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(describe(&bad).contains("vgw1/vpn1"), "{}", describe(&bad));
}
