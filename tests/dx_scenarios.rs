//! The Direct Connect scenarios on real namespaces (root): the `dxgw` and `dx-router` daemons
//! with real VLAN trunks, BGP with MD5 and BFD, beside a real VPN.
//!
//! - `dx-with-vpn-backup` in both profiles: the silent cut of the cross-connect is caught by
//!   BFD on both ends (a `dx.bfd` failure event from each), the VGW moves to the VPN and back,
//!   and the longest outage is BFD's detection time: under 1 s (100 ms x 3 in `fast`,
//!   300 ms x 3 in `aws`), so not a BGP hold time (3 s / 90 s); nothing is left behind;
//! - `dx-beats-vpn` (§7 item 4) in both profiles: DX wins an identical prefix against a shorter
//!   VPN AS_PATH, a more specific VPN prefix wins;
//! - `dx-vlan-mismatch`: a `dx.vlan_mismatch` event naming VLAN 101 seen and VLAN 100
//!   configured, and no BGP session ever Established;
//! - `dx-prefix-limit` (§7 item 3) in both profiles: 100 prefixes stay up, 101 get Cease 6/1
//!   and none reaches the VGW;
//! - `dx-communities` (§7 item 10) in both profiles: 7224:7300 beats 7224:7100 with a shorter
//!   AS_PATH; VIF B takes over within BFD's detection time when VIF A's peering goes silent;
//! - `dx-bgp-failover-test` in both profiles: StartBgpFailoverTest moves the VGW to the VPN for
//!   the test's duration, StopBgpFailoverTest ends a long one early;
//! - `dxgw-no-transit`: no VGW-to-VGW, no site-to-site; with SiteLink on, site-to-site works;
//! - without BFD the same cut costs the BGP hold time (3 s in `fast`);
//! - 20 silent cuts of the cross-connect (`fast`): the outage is under 1 s at p99 both ways;
//! - bad DX configuration is refused by `hybridlab validate`, naming the item, never the key.

mod common;

use std::sync::Mutex;

use common::{DownOnDrop, Workspace, describe, leftovers, longest_window, percentile};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs shipped scenario `name` in `profile` as lab `lab`; returns its JSON record.
fn run(name: &str, profile: &str, lab: &str) -> Value {
    run_in(&Workspace::new(), name, profile, lab)
}

/// Runs scenario `name` (shipped, or a file) in workspace `ws`.
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

fn bfd_failures(record: &Value) -> Vec<String> {
    record["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "dx.bfd")
        .filter(|e| {
            serde_json::from_str::<Value>(e["detail"].as_str().unwrap_or("{}"))
                .is_ok_and(|d| d["failure"] == true)
        })
        .map(|e| e["subject"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn dx_with_vpn_backup(profile: &str, lab: &str) {
    let _s = serial();
    let record = run("dx-with-vpn-backup", profile, lab);
    let mut failed = bfd_failures(&record);
    failed.sort();
    assert_eq!(failed, ["dx1", "dxr1"], "BFD failures: {failed:?}");
    for p in record["probes"].as_array().unwrap() {
        let gap = longest_window(p) as f64 / 1e9;
        assert!(
            (0.05..1.0).contains(&gap),
            "{} ({profile}): longest gap {gap:.3} s is not a BFD detection (under 1 s)",
            p["name"]
        );
    }
}

#[test]
fn dx_with_vpn_backup_fails_over_on_bfd_in_the_fast_profile() {
    dx_with_vpn_backup("fast", "dxsfast");
}

#[test]
fn dx_with_vpn_backup_fails_over_on_bfd_in_the_aws_profile() {
    dx_with_vpn_backup("aws", "dxsaws");
}

/// Every expectation of a record passed (the run's exit code says so too; this names them).
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
fn dx_beats_vpn_in_both_profiles() {
    let _s = serial();
    for (profile, lab) in [("fast", "dxbfast"), ("aws", "dxbaws")] {
        let record = run("dx-beats-vpn", profile, lab);
        let names = passed(&record);
        for want in [
            "DX wins the identical prefix whatever the AS_PATH",
            "the more specific VPN prefix goes over the VPN",
            "the /16 stays on DX",
            "announced over DX too, the /17 goes over DX",
            "withdrawn from DX, the /17 returns to the VPN",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{profile}: {want} not in {names:?}"
            );
        }
    }
}

#[test]
fn dx_vlan_mismatch_reports_both_vlans_and_no_bgp() {
    let _s = serial();
    let record = run("dx-vlan-mismatch", "fast", "dxvlan");
    let events: Vec<Value> = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "dx.vlan_mismatch" && e["subject"] == "dx1")
        .map(|e| serde_json::from_str(e["detail"].as_str().unwrap()).unwrap())
        .collect();
    let e = events.first().expect("a dx.vlan_mismatch event from dx1");
    assert_eq!(e["seen_vlan"], 101, "{e}");
    assert_eq!(e["configured_vlans"], serde_json::json!([100]), "{e}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("VLAN 101") && msg.contains("VLAN 100"),
        "{msg}"
    );
    let established = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject"] == "dx1" || e["subject"] == "dxr1")
        .any(|e| {
            // The backbone session dx1-vgw1 comes up; the VIF's never does.
            let d = e["detail"].as_str().unwrap_or("");
            d.contains("\"neighbor\":\"vif1\"") && d.contains("\"to\":\"Established\"")
        });
    assert!(
        !established,
        "a BGP session came up across mismatched VLANs"
    );
}

#[test]
fn dx_prefix_limit_in_both_profiles() {
    let _s = serial();
    for (profile, lab) in [("fast", "dxpfast"), ("aws", "dxpaws")] {
        let record = run("dx-prefix-limit", profile, lab);
        let names = passed(&record);
        assert!(
            names
                .iter()
                .any(|n| n == "none of vif2's prefixes reaches the VGW")
                && names.iter().any(|n| n == "vif1 stays up"),
            "{profile}: {names:?}"
        );
    }
}

/// `hybridlab validate` on `dx-vlan-mismatch` with `from` replaced by `to`: exit 2, stderr.
fn refused(from: &str, to: &str) -> String {
    let ws = Workspace::new();
    let text = scenarios::shipped::find("dx-vlan-mismatch").unwrap().text;
    assert!(text.contains(from), "{from:?} not in the scenario");
    let file = ws.file("bad.toml", &text.replacen(from, to, 1));
    let out = ws.run(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_dx_configuration_is_refused_naming_the_item_never_the_key() {
    const VIF: &str = "vlan = 100\ngateway = \"dxgw1\"\n";
    // An MD5 key outside 6-80 characters: the line is quoted with the key masked.
    let e = refused(VIF, &format!("{VIF}auth_key = \"sh0rt\"\n"));
    assert!(
        e.contains("6 to 80 characters") && e.contains("vif[0].auth_key"),
        "{e}"
    );
    assert!(!e.contains("sh0rt"), "{e}");
    // A duplicate VLAN on one connection.
    let e = refused(
        VIF,
        &format!("{VIF}\n[[dxgw.connection.vif]]\nname = \"vif2\"\n{VIF}"),
    );
    assert!(
        e.contains("dxgw[0].connection[0].vif[1].vlan")
            && e.contains("VLAN 100 is already used by vif \"vif1\""),
        "{e}"
    );
    // Reserved and overlapping peer addresses.
    let e = refused(
        VIF,
        &format!(
            "{VIF}amazon_address = \"169.254.169.253/30\"\ncustomer_address = \"169.254.169.254/30\"\n"
        ),
    );
    assert!(
        e.contains("vif[0].amazon_address") && e.contains("reserved by AWS"),
        "{e}"
    );
    let pair = "amazon_address = \"169.254.50.1/30\"\ncustomer_address = \"169.254.50.2/30\"\n";
    let e = refused(
        VIF,
        &format!(
            "{VIF}{pair}\n[[dxgw.connection.vif]]\nname = \"vif2\"\nvlan = 200\ngateway = \"dxgw1\"\n{pair}"
        ),
    );
    assert!(
        e.contains("vif[1].amazon_address") && e.contains("overlaps"),
        "{e}"
    );
}

#[test]
fn dx_communities_in_both_profiles() {
    let _s = serial();
    for (profile, lab) in [("fast", "dxcfast"), ("aws", "dxcaws")] {
        let names = passed(&run("dx-communities", profile, lab));
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("AWS routes on-premises traffic over VIF A"))
                && names
                    .iter()
                    .any(|n| n.starts_with("without VIF A, AWS uses VIF B")),
            "{profile}: {names:?}"
        );
    }
}

#[test]
fn dxgw_no_transit_and_sitelink() {
    let _s = serial();
    let names = passed(&run("dxgw-no-transit", "fast", "dxnt"));
    assert!(
        names.iter().any(|n| n.starts_with("no VGW-to-VGW"))
            && names
                .iter()
                .any(|n| n.starts_with("no site-to-site without SiteLink")),
        "{names:?}"
    );
    // The same with SiteLink on: the sites learn each other through the gateway (and still
    // no VGW learns the other's VPC).
    let text = scenarios::shipped::find("dxgw-no-transit").unwrap().text;
    let last = text.rfind("[[expect]]").unwrap();
    let with_sitelink = format!(
        "{}[[expect]]\nname = \"with SiteLink, site 1 reaches site 2\"\n\
         after = \"no VGW-to-VGW: vgw1 has no route to vpc2\"\nwithin = \"10s\"\n\
         check = \"route\"\nnode = \"dxr1\"\nprefix = \"10.3.0.0/16\"\n",
        text[..last].replace("sitelink = false", "sitelink = true")
    );
    let ws = Workspace::new();
    let file = ws.file("sitelink.toml", &with_sitelink);
    let names = passed(&run_in(&ws, file.to_str().unwrap(), "fast", "dxsl"));
    assert!(
        names
            .iter()
            .any(|n| n == "with SiteLink, site 1 reaches site 2")
            && names.iter().any(|n| n.starts_with("no VGW-to-VGW")),
        "{names:?}"
    );
}

#[test]
fn dx_bgp_failover_test_in_both_profiles() {
    let _s = serial();
    for (profile, lab) in [("fast", "dxftfast"), ("aws", "dxftaws")] {
        let record = run("dx-bgp-failover-test", profile, lab);
        let names = passed(&record);
        assert!(
            names
                .iter()
                .any(|n| n == "during the test the VGW uses the VPN")
                && names
                    .iter()
                    .any(|n| n == "after the test the VGW is back on Direct Connect")
                && names
                    .iter()
                    .any(|n| n == "StopBgpFailoverTest brings Direct Connect back"),
            "{profile}: {names:?}"
        );
        let ends: Vec<String> = record["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "dx.failover_test")
            .map(|e| e["detail"].as_str().unwrap_or("").to_string())
            .filter(|d| d.contains("\"ended\""))
            .collect();
        assert!(
            ends.iter().any(|d| d.contains("expired"))
                && ends.iter().any(|d| d.contains("stopped")),
            "{profile}: {ends:?}"
        );
    }
}

/// dx-with-vpn-backup's topology and probes with `cycles` cut/failover/restore/return cycles of
/// the cross-connect, each cut only once BFD is Up again and the customer router routes the VPC
/// over the VIF again (so both directions ride DX when the cut comes).
fn repeated_dx_cuts(cycles: usize) -> String {
    let text = scenarios::shipped::find("dx-with-vpn-backup").unwrap().text;
    let topology = &text[..text.find("[[expect]]").expect("expectations")];
    let mut s = topology.replace("name = \"dx-with-vpn-backup\"", "name = \"dxcut20\"");
    s.push_str(
        r#"
[[expect]]
name = "bfd-0"
within = "20s"
check = "state"
node = "dx1"
show = "vifs"
pointer = "/vifs/0/bfd"
equals = "Up"

[[expect]]
name = "back-0"
after = "bfd-0"
within = "10s"
check = "route"
node = "dxr1"
prefix = "10.0.0.0/16"
dev = "vif1"
"#,
    );
    for k in 1..=cycles {
        s.push_str(&format!(
            r#"
[[timeline]]
name = "cut-{k}"
after = "back-{prev}"
delay = "300ms"
action = "link_down"
link = "dxcon1"

[[expect]]
name = "moved-{k}"
after = "cut-{k}"
within = "2s"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
via = "vpn1-*"

[[timeline]]
name = "restore-{k}"
after = "moved-{k}"
delay = "200ms"
action = "link_up"
link = "dxcon1"

[[expect]]
name = "dx-{k}"
after = "restore-{k}"
within = "15s"
check = "vgw_route"
node = "vgw1"
prefix = "10.1.0.0/16"
via = "dxgw1"

[[expect]]
name = "bfd-{k}"
after = "dx-{k}"
within = "10s"
check = "state"
node = "dx1"
show = "vifs"
pointer = "/vifs/0/bfd"
equals = "Up"

[[expect]]
name = "back-{k}"
after = "bfd-{k}"
within = "10s"
check = "route"
node = "dxr1"
prefix = "10.0.0.0/16"
dev = "vif1"
"#,
            prev = k - 1
        ));
    }
    s
}

/// The issue's measure: over 20 silent cuts of the cross-connect, BFD keeps the outage under
/// 1 s at p99 (nearest rank, so the worst of 20), both directions.
#[test]
#[allow(clippy::print_stderr)] // reports the percentiles
fn dx_failover_is_under_1_s_p99_over_20_cuts() {
    let _s = serial();
    const CUTS: usize = 20;
    let ws = Workspace::new();
    let _guard = DownOnDrop {
        ws: &ws,
        lab: "dxcut20".into(),
    };
    let file = ws.file("dxcut20.toml", &repeated_dx_cuts(CUTS));
    let json = ws.path().join("dxcut20.json");
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
        .filter(|e| e["kind"] == "link_down")
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
        // Each cut's outage: the window that starts within 100 ms of it (DX carries the traffic
        // both ways, so a cut always loses packets).
        let mut gaps: Vec<f64> = cuts
            .iter()
            .map(|&c| {
                let w = windows
                    .iter()
                    .find(|w| w["start_ns"].as_u64().unwrap().abs_diff(c) < 100_000_000)
                    .unwrap_or_else(|| panic!("{probe}: no loss window at a cut"));
                (w["end_ns"].as_u64().unwrap() - w["start_ns"].as_u64().unwrap()) as f64 / 1e9
            })
            .collect();
        gaps.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&gaps, 50.0), percentile(&gaps, 99.0));
        eprintln!(
            "{probe}: {CUTS} cuts, gap p50 {p50:.3} s, p99 {p99:.3} s, min {:.3} s",
            gaps[0]
        );
        assert!(p99 < 1.0, "{probe}: p99 {p99:.3} s ({gaps:?})");
        assert!(gaps[0] > 0.05, "{probe}: a cut without an outage? {gaps:?}");
    }
}

/// dx-with-vpn-backup with BFD off on both ends, the outage expectations replaced: each
/// probe's longest gap ends at the hold-timer expiry (the `bgp.down` event) of the router that
/// steers it, within 1 s, and is no longer than the profile's hold time (+1 s).
fn without_bfd(profile: &str, lab: &str) -> Value {
    let text = scenarios::shipped::find("dx-with-vpn-backup").unwrap().text;
    let cut = text
        .find("[[expect]]\nname = \"BFD detects")
        .expect("the max_gap expectations");
    let no_bfd = text[..cut]
        .replace(
            "name = \"dx-with-vpn-backup\"",
            &format!("name = \"{lab}\""),
        )
        .replace(
            "vlan = 100\ngateway = \"dxgw1\"",
            "vlan = 100\ngateway = \"dxgw1\"\nbfd = false",
        )
        .replace(
            "advertise = [\"10.1.0.0/16\"]\n# The VPN backup",
            "advertise = [\"10.1.0.0/16\"]\nvifs = { vif1 = { bfd = false } }\n# The VPN backup",
        )
        // The hold timer, not BFD, moves the VGW: up to AWS's 90 s.
        .replace(
            "name = \"the VGW moves to the VPN\"\nafter = \"cut-cross-connect\"\nwithin = { fast = \"5s\", aws = \"5s\" }",
            "name = \"the VGW moves to the VPN\"\nafter = \"cut-cross-connect\"\nwithin = { fast = \"5s\", aws = \"95s\" }",
        );
    assert!(no_bfd.contains("aws = \"95s\""));
    // No BFD session: drop the expectation that BFD is up.
    let start = no_bfd
        .find("[[expect]]\nname = \"BFD is up on the VIF\"")
        .unwrap();
    let end = start + no_bfd[start..].find("\n\n").unwrap();
    let mut no_bfd = format!("{}{}", &no_bfd[..start], &no_bfd[end..]);
    assert!(no_bfd.contains("bfd = false\n") && no_bfd.contains("{ bfd = false }"));
    // The VGW leaves DX when the DX router's hold timer ends the VIF's session; the customer
    // router leaves it (for its static route via the VPN) when its own does.
    for (probe, node) in [("to-onprem", "dx1"), ("to-vpc", "dxr1")] {
        no_bfd.push_str(&format!(
            "\n[[expect]]\nname = \"{probe}: the outage ends at {node}'s hold timer\"\n\
             check = \"max_gap\"\nprobe = \"{probe}\"\nabove = \"1s\"\n\
             below = {{ fast = \"4s\", aws = \"91s\" }}\n\
             matches_event = {{ node = \"{node}\", kind = \"bgp.down\" }}\ntolerance = \"1s\"\n"
        ));
    }
    let ws = Workspace::new();
    let file = ws.file("nobfd.toml", &no_bfd);
    let record = run_in(&ws, file.to_str().unwrap(), profile, lab);
    assert!(bfd_failures(&record).is_empty(), "BFD ran");
    record
}

/// Without BFD the same silent cut is found by the BGP hold timer: in `fast` the outage is
/// the 3 s hold time (2-4 s: the last keepalive came up to 1 s before the cut), so BFD is what
/// makes it sub-second.
#[test]
fn without_bfd_the_outage_is_the_hold_time() {
    let _s = serial();
    let record = without_bfd("fast", "dxnobfd");
    for p in record["probes"].as_array().unwrap() {
        let gap = longest_window(p) as f64 / 1e9;
        assert!(
            (2.0..4.0).contains(&gap),
            "{}: longest gap {gap:.3} s is not the 3 s hold time",
            p["name"]
        );
    }
}

/// The same in the `aws` profile: AWS's 90 s hold time. The outage ends at the hold timer's
/// expiry (within 1 s, checked against the `bgp.down` events by the scenario's expectations)
/// and lasts the hold time less the time since the last keepalive (sent every 30 s), so
/// between 60 and 91 s. Serialised like the rest: run beside the 20-cut test, its lab's
/// probes made one of those 20 outages 1.08 s on this 2-core machine (CI, 2026-12-04).
#[test]
fn without_bfd_the_outage_is_the_hold_time_in_the_aws_profile() {
    let _s = serial();
    let record = without_bfd("aws", "dxawsnobfd");
    for p in record["probes"].as_array().unwrap() {
        let gap = longest_window(p) as f64 / 1e9;
        assert!(
            (59.0..91.0).contains(&gap),
            "{}: longest gap {gap:.3} s is not a 90 s hold-timer expiry",
            p["name"]
        );
    }
}
