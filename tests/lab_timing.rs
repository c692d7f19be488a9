//! Timing-sensitive namespace tests (root), alone in this binary and serialised by a lock so
//! no parallel test disturbs them:
//! - a link cut for a known duration: the UDP probe's reported gap matches it within 50 ms;
//! - `hybridlab run` (no file: the default scenario) exits 0 as root;
//! - the same default scenario passes rootless, run as uid 65534 through `setpriv`. The default
//!   scenario (dual-tunnel-failover) opens TUN devices as that user: /dev/net/tun must be 0666
//!   as stock distributions ship it (`scripts/test` makes it so on images that do not).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::Mutex;

use common::{DownOnDrop, Workspace, describe, leftovers};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The cut's scheduled length.
const CUT_MS: u64 = 1500;

/// h1 -- r -- h2; the link r-h2 is cut at 1 s and restored CUT_MS later.
fn gap_scenario() -> String {
    format!(
        r#"[scenario]
name = "sctgap"

[[host]]
name = "g1"
gateway = "10.76.0.1"

[[router]]
name = "gr"

[[host]]
name = "g2"
gateway = "10.77.0.1"

[[link]]
name = "left"
endpoints = [{{ node = "g1", address = "10.76.0.10/24" }}, {{ node = "gr", address = "10.76.0.1/24" }}]

[[link]]
name = "right"
endpoints = [{{ node = "gr", address = "10.77.0.1/24" }}, {{ node = "g2", address = "10.77.0.10/24" }}]

[[probe]]
name = "udp"
kind = "udp"
from = "g1"
to = "g2"
rate = 1000

[[timeline]]
name = "cut"
at = "1s"
action = "cut"
link = "right"

[[timeline]]
name = "restore"
after = "cut"
delay = "{CUT_MS}ms"
action = "restore"
cut = "cut"

[[expect]]
name = "flows after the restore"
after = "restore"
within = "2s"
check = "delivers"
probe = "udp"
"#
    )
}

fn event_ns(record: &Value, subject: &str, kind: &str) -> u64 {
    record["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["subject"] == subject && e["kind"] == kind)
        .and_then(|e| e["t_ns"].as_u64())
        .unwrap_or_else(|| panic!("no {kind} event of {subject}"))
}

#[test]
fn link_cut_gap_matches_its_duration_within_50ms() {
    let _s = serial();
    let ws = Workspace::new();
    let _guard = DownOnDrop {
        ws: &ws,
        lab: "sctgap".into(),
    };
    let file = ws.file("gap.toml", &gap_scenario());
    let json = ws.path().join("gap.json");
    let out = ws.run(&[
        "run",
        file.to_str().unwrap(),
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let probe = &record["probes"][0];
    let windows = probe["loss"]["windows"].as_array().expect("windows");
    assert_eq!(windows.len(), 1, "one cut, one loss window: {windows:#?}");
    let w = &windows[0];
    let gap_ns = w["end_ns"].as_u64().unwrap() - w["start_ns"].as_u64().unwrap();
    let diff_ms = |a: u64, b: u64| (a as f64 - b as f64).abs() / 1e6;
    // Against the scheduled duration...
    assert!(
        diff_ms(gap_ns, CUT_MS * 1_000_000) <= 50.0,
        "gap {:.1} ms, cut {CUT_MS} ms",
        gap_ns as f64 / 1e6
    );
    // ...and against the cut as it happened (the rule changes' own timestamps).
    let cut_ns = event_ns(&record, "cut", "cut");
    let restore_ns = event_ns(&record, "restore", "restore");
    assert!(
        diff_ms(gap_ns, restore_ns - cut_ns) <= 50.0,
        "gap {:.1} ms, cut in force {:.1} ms",
        gap_ns as f64 / 1e6,
        (restore_ns - cut_ns) as f64 / 1e6
    );
    assert!(
        diff_ms(w["start_ns"].as_u64().unwrap(), cut_ns) <= 50.0,
        "the window starts at the cut"
    );
    assert!(!w["open"].as_bool().unwrap(), "the window closed: {w}");
}

#[test]
fn default_scenario_passes_as_root_with_no_arguments() {
    let _s = serial();
    let ws = Workspace::new();
    let _guard = DownOnDrop {
        ws: &ws,
        lab: "dual-tunnel-failover".into(),
    };
    let out = ws.run(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("dual-tunnel-failover: PASSED"),
        "{}",
        describe(&out)
    );
    let left = leftovers(
        &ws,
        "dual-tunnel-failover",
        &[],
        &[],
        &["--lab dual-tunnel-failover"],
    );
    assert!(left.none(), "{left:#?}");
}

#[test]
fn default_scenario_passes_rootless() {
    let _s = serial();
    let ws = Workspace::new();
    // uid 65534 must be able to read and run the binary: copy it into the 0755 workspace.
    let exe = ws.path().join("hybridlab");
    std::fs::copy(common::exe(), &exe).expect("copy hybridlab");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let json = ws.path().join("reports");
    std::fs::create_dir(&json).unwrap();
    std::fs::set_permissions(&json, std::fs::Permissions::from_mode(0o777)).unwrap();
    let json = json.join("rootless.json");
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(&exe)
        .args(["run", "--lab", "sctrl", "-q", "--json"])
        .arg(&json)
        .env("HYBRIDLAB_STATE_DIR", ws.state())
        .env_remove("HYBRIDLAB_LOG")
        .current_dir(ws.path())
        .output()
        .expect("run setpriv (util-linux)");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let exps = record["expectations"].as_array().unwrap();
    assert!(!exps.is_empty());
    assert!(
        exps.iter().all(|e| e["outcome"] == "passed"),
        "{}",
        serde_json::to_string_pretty(exps).unwrap()
    );
    // Rootless pins live in the lab's state directory, never in /run/netns.
    let left = leftovers(&ws, "sctrl", &[], &[], &["--lab sctrl"]);
    assert!(left.none(), "{left:#?}");
    let owner = std::fs::metadata(&json).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&owner),
        65534,
        "the report was written by the unprivileged user"
    );
}

/// Every shipped scenario (`hybridlab list`) passes as root: cuts of a node's UDP only, link
/// flaps (down/up with routes re-applied), and the default.
#[test]
fn every_shipped_scenario_passes() {
    let _s = serial();
    for (i, s) in scenarios::shipped::SHIPPED.iter().enumerate() {
        let ws = Workspace::new();
        let lab = format!("sctship{i}");
        let _guard = DownOnDrop {
            ws: &ws,
            lab: lab.clone(),
        };
        let out = ws.run(&["run", s.name, "--lab", &lab, "-q"]);
        assert_eq!(out.status.code(), Some(0), "{}: {}", s.name, describe(&out));
        let left = leftovers(&ws, &lab, &[], &[], &[&format!("--lab {lab}")]);
        assert!(left.none(), "{}: {left:#?}", s.name);
    }
}
