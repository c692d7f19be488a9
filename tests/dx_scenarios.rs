//! The Direct Connect scenarios on real namespaces (root): the `dxgw` and `dx-router` daemons
//! with real VLAN trunks, BGP with MD5 and BFD, beside a real VPN.
//!
//! - `dx-with-vpn-backup` in both profiles: the silent cut of the cross-connect is caught by
//!   BFD on both ends (a `dx.bfd` failure event from each), the VGW moves to the VPN and back,
//!   and the longest outage is BFD's detection time: under 1 s (100 ms x 3 in `fast`,
//!   300 ms x 3 in `aws`), so not a BGP hold time (3 s / 90 s); nothing is left behind.

mod common;

use std::sync::Mutex;

use common::{DownOnDrop, Workspace, describe, leftovers};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn longest_window_s(probe: &Value) -> f64 {
    probe["loss"]["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["end_ns"].as_u64().unwrap() - w["start_ns"].as_u64().unwrap())
        .max()
        .unwrap_or(0) as f64
        / 1e9
}

/// Runs shipped scenario `name` in `profile` as lab `lab`; returns its JSON record.
fn run(name: &str, profile: &str, lab: &str) -> Value {
    let ws = Workspace::new();
    let _guard = DownOnDrop {
        ws: &ws,
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
    let left = leftovers(&ws, lab, &[], &[], &[&format!("--lab {lab}")]);
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
        let gap = longest_window_s(p);
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
