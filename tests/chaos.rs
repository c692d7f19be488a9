//! Chaos campaigns (`hybridlab chaos`, root): a 50-fault campaign written into a scenario's
//! `[chaos]` table ends with no violation; a seed draws the same faults every time and
//! `--from-fault` jumps to one; a VGW built with the planted bug (`planted-bug-keep-routes`:
//! it keeps a lost session's routes) makes a campaign report a blackhole whose printed replay
//! command reproduces it, while the same seed on the real VGW passes; a malformed `[chaos]`
//! table is reported at its file, line and field; a campaign on a Transit Gateway cuts its
//! Connect peers' GRE and keeps every invariant. Lab names start with `ch-`; the tests are
//! serialised (each one's timing bounds assume the machine is not running another lab).
//!
//! The planted-bug binary: cargo features are per build, and the product's `hybridlab` must
//! never contain the bug, so the test builds a second `hybridlab` with the feature into a
//! target directory of its own (`<target>/planted-bug`) with the same cargo that runs the
//! tests. The first build compiles the workspace again (minutes); later ones are no-ops.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use common::{DownOnDrop, Workspace, describe};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn shipped(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("{name}.toml"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn report(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).expect("campaign JSON")
}

fn faults(r: &Value) -> Vec<(u64, String)> {
    r["campaign"]["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .map(|f| {
            (
                f["index"].as_u64().expect("index"),
                f["description"].as_str().expect("description").to_string(),
            )
        })
        .collect()
}

fn violations(r: &Value) -> &Vec<Value> {
    r["campaign"]["violations"].as_array().expect("violations")
}

#[test]
fn a_fifty_fault_campaign_from_the_scenarios_chaos_table_keeps_every_invariant() {
    let _s = serial();
    let ws = Workspace::new();
    let lab = "ch-fifty";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let text = format!(
        "{}\n[chaos]\nseed = 50\nfaults = 50\n",
        shipped("dual-tunnel-failover")
    );
    let file = ws.file("fifty.toml", &text);
    let json = ws.path().join("fifty.json");
    let svg = ws.path().join("fifty.svg");
    let out = ws.run(&[
        "chaos",
        file.to_str().unwrap(),
        "--lab",
        lab,
        "--json",
        json.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = report(&json);
    assert_eq!(r["campaign"]["seed"], 50, "the [chaos] seed was used");
    let f = faults(&r);
    assert_eq!(f.len(), 50, "[chaos] faults = 50");
    assert!(violations(&r).is_empty(), "{:#?}", violations(&r));
    for fault in r["campaign"]["faults"].as_array().unwrap() {
        let rec = fault["recovery_s"].as_f64();
        let bound = fault["recovery_bound_s"].as_f64().unwrap();
        assert!(
            rec.is_some_and(|v| v <= bound),
            "every fault recovered within its bound: {fault}"
        );
    }
    // Several kinds were drawn, and the table and the histogram name them.
    let kinds: std::collections::BTreeSet<&str> = r["campaign"]["faults"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert!(kinds.len() >= 5, "{kinds:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let svg = std::fs::read_to_string(&svg).expect("histogram");
    for k in &kinds {
        assert!(stdout.contains(k), "table names {k}:\n{stdout}");
        assert!(svg.contains(k), "histogram names {k}");
    }
    assert!(stdout.contains("no violation"), "{stdout}");
    assert!(common::pinned_inodes(lab).is_empty(), "namespaces left");
}

#[test]
fn a_seed_draws_the_same_faults_and_from_fault_jumps_to_one() {
    let _s = serial();
    let ws = Workspace::new();
    let file = ws.file("dtf.toml", &shipped("dual-tunnel-failover"));
    let run = |lab: &str, extra: &[&str]| -> Value {
        let _down = DownOnDrop {
            ws: &ws,
            lab: lab.into(),
        };
        let json = ws.path().join(format!("{lab}.json"));
        let mut args = vec![
            "chaos",
            file.to_str().unwrap(),
            "--lab",
            lab,
            "--seed",
            "4242",
            "-q",
            "--json",
            json.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = ws.run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        report(&json)
    };
    let a = run("ch-seed-a", &["--faults", "3"]);
    let b = run("ch-seed-b", &["--faults", "3"]);
    assert_eq!(faults(&a), faults(&b), "same seed, same faults");
    let c = run("ch-seed-c", &["--from-fault", "2", "--faults", "3"]);
    assert_eq!(faults(&c), vec![faults(&a)[2].clone()], "--from-fault 2");
}

#[test]
fn a_transit_gateway_campaign_cuts_connect_peers_gre_and_keeps_every_invariant() {
    let _s = serial();
    let ws = Workspace::new();
    let lab = "ch-tgwc";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let file = ws.file("tgwc.toml", &shipped("tgw-connect"));
    let json = ws.path().join("tgwc.json");
    let out = ws.run(&[
        "chaos",
        file.to_str().unwrap(),
        "--lab",
        lab,
        "--seed",
        "12",
        "--faults",
        "16",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let r = report(&json);
    assert!(violations(&r).is_empty(), "{:#?}", violations(&r));
    let drawn = faults(&r);
    assert_eq!(drawn.len(), 16);
    // GRE cuts hit Connect peers and drop GRE (protocol 47) to the peer's TGW address; p4
    // (eBGP with TTL 1, never up) is no target; no IKE or ESP cut exists without a VPN.
    let gre: Vec<&String> = drawn
        .iter()
        .map(|(_, d)| d)
        .filter(|d| d.contains(" gre_cut "))
        .collect();
    assert!(!gre.is_empty(), "seed 12 draws GRE cuts: {drawn:#?}");
    for d in &gre {
        assert!(
            d.contains("tgw1/connect1/p") && d.contains("gre to/from 192.0.2."),
            "{d}"
        );
    }
    for (_, d) in &drawn {
        assert!(!d.contains("connect1/p4"), "{d}");
        assert!(!d.contains("ike_cut") && !d.contains("esp_cut"), "{d}");
    }
    assert!(common::pinned_inodes(lab).is_empty(), "namespaces left");
}

/// `hybridlab` with the planted VGW bug, built once into `<target>/planted-bug`.
fn planted_binary() -> PathBuf {
    let exe = common::exe();
    // <target>/<profile>/hybridlab
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory")
        .to_path_buf();
    let dir = target.join("planted-bug");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let status = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "build",
            "-p",
            "scenarios",
            "--bin",
            "hybridlab",
            "--features",
            "planted-bug-keep-routes",
            "--target-dir",
        ])
        .arg(&dir)
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .expect("start cargo");
    assert!(
        status.success(),
        "building the planted-bug hybridlab failed"
    );
    let bin = dir.join("debug").join("hybridlab");
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}

fn run_with(ws: &Workspace, bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env("HYBRIDLAB_STATE_DIR", ws.state())
        .env_remove("HYBRIDLAB_LOG")
        .current_dir(ws.path())
        .output()
        .expect("start hybridlab")
}

#[test]
fn the_planted_vgw_bug_is_caught_and_its_printed_seed_replays_it() {
    let bin = planted_binary();
    let _s = serial();
    let ws = Workspace::new();
    let file = ws.file("dtf.toml", &shipped("dual-tunnel-failover"));
    let file = file.to_str().unwrap();
    let lab = "ch-planted";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    // Whole-underlay cuts only: every cut of tunnel 1 that outlasts BGP's detection time
    // blackholes the VPC's traffic into it while the VGW keeps the lost session's route.
    let json = ws.path().join("planted.json");
    let out = run_with(
        &ws,
        &bin,
        &[
            "chaos",
            file,
            "--lab",
            lab,
            "--seed",
            "13",
            "--faults",
            "12",
            "--kinds",
            "tunnel_cut",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let r = report(&json);
    let v = violations(&r);
    let first = v
        .iter()
        .find(|v| v["invariant"] == "blackhole")
        .unwrap_or_else(|| panic!("no blackhole violation: {v:#?}"));
    let index = first["fault"].as_u64().expect("fault index");
    let replay = first["replay"].as_str().expect("replay");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains(replay) && stderr.contains(replay),
        "the replay command is printed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("seed 13"), "{stdout}");
    assert!(
        replay.contains("--seed 13") && replay.contains(&format!("--from-fault {index}")),
        "{replay}"
    );
    // The printed command, run as printed (plus a lab name and a report), reproduces it.
    let words: Vec<&str> = replay.split_whitespace().collect();
    assert_eq!(words[0], "hybridlab");
    let json2 = ws.path().join("replay.json");
    let mut args: Vec<&str> = words[1..].to_vec();
    args.extend(["--lab", lab, "--json", json2.to_str().unwrap()]);
    let again = run_with(&ws, &bin, &args);
    assert_eq!(again.status.code(), Some(1), "{}", describe(&again));
    let r2 = report(&json2);
    assert_eq!(
        faults(&r2),
        vec![(index, faults(&r)[index as usize].1.clone())]
    );
    assert!(
        violations(&r2)
            .iter()
            .any(|v| v["invariant"] == "blackhole" && v["fault"] == index),
        "the replay reproduces the violation: {:#?}",
        violations(&r2)
    );
    // The same fault on the real VGW keeps every invariant: the violation is the bug's.
    let json3 = ws.path().join("real.json");
    let mut args: Vec<&str> = words[1..].to_vec();
    args.extend(["--lab", lab, "--json", json3.to_str().unwrap()]);
    let real = ws.run(&args);
    assert_eq!(real.status.code(), Some(0), "{}", describe(&real));
    assert!(violations(&report(&json3)).is_empty());
}

#[test]
fn a_bad_chaos_table_is_reported_at_its_file_line_and_field() {
    let ws = Workspace::new();
    let base = shipped("dual-tunnel-failover");
    let lines = base.lines().count();
    for (table, field) in [
        (
            "[chaos]\nseed = 1\nkinds = [\"tunnel_cut\", \"tunel_cut\"]\n",
            "chaos.kinds[1]",
        ),
        ("[chaos]\nfaults = 5\nduration = \"1m\"\n", "chaos.duration"),
        ("[chaos]\noverlap = 0\n", "chaos.overlap"),
        ("[chaos]\nfualts = 5\n", "fualts"),
    ] {
        let file = ws.file("bad.toml", &format!("{base}\n{table}"));
        let out = ws.run(&["chaos", file.to_str().unwrap(), "--lab", "ch-bad"]);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("bad.toml:"), "names the file: {stderr}");
        assert!(stderr.contains(field), "names {field}: {stderr}");
        // The line is inside the [chaos] table the test appended.
        let line: usize = stderr
            .split("bad.toml:")
            .nth(1)
            .and_then(|s| s.split(':').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no line number: {stderr}"));
        assert!(
            line > lines,
            "line {line} is in the appended table: {stderr}"
        );
        assert!(!ws.state().join("ch-bad").exists(), "nothing created");
    }
}

/// A strict little XML well-formedness check (tags nest and close, attributes quoted, no
/// stray `<` or `&`): the page is written to be XHTML-clean. Returns the start tags with
/// their attributes.
fn parse_xml(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let body = text
        .strip_prefix("<!DOCTYPE html>")
        .expect("starts with <!DOCTYPE html>");
    let mut stack: Vec<String> = Vec::new();
    let mut tags = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(['<', '&']) {
        let (before, at) = rest.split_at(i);
        assert!(!before.contains('>'), "stray > before {at:.40}");
        if at.starts_with('&') {
            let end = at.find(';').expect("entity ends with ;");
            let name = &at[1..end];
            assert!(
                ["amp", "lt", "gt", "quot"].contains(&name),
                "unknown entity &{name};"
            );
            rest = &at[end + 1..];
            continue;
        }
        let end = at.find('>').expect("tag closes");
        let tag = &at[1..end];
        rest = &at[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name.trim(), "</{name}> closes <{open}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, mut attrs_text) = tag.split_once(' ').unwrap_or((tag, ""));
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "tag name {name:?}"
        );
        let mut attrs = Vec::new();
        loop {
            attrs_text = attrs_text.trim_start();
            if attrs_text.is_empty() {
                break;
            }
            let (key, after) = attrs_text
                .split_once("=\"")
                .expect("attribute key=\"value\"");
            let close = after.find('"').expect("attribute value closes");
            assert!(!after[..close].contains('<'), "< in an attribute");
            attrs.push((key.trim().to_string(), after[..close].to_string()));
            attrs_text = &after[close + 1..];
        }
        tags.push((name.to_string(), attrs));
        if !self_closing {
            stack.push(name.to_string());
        }
    }
    assert!(rest.trim().is_empty() || !rest.contains('<'));
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    tags
}

#[test]
fn the_html_page_is_self_contained_with_a_timeline_row_per_session_and_probe() {
    let _s = serial();
    let ws = Workspace::new();
    let lab = "ch-html";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let html = ws.path().join("run.html");
    let json = ws.path().join("run.json");
    let out = ws.run(&[
        "run",
        "dual-tunnel-failover",
        "--lab",
        lab,
        "-q",
        "--html",
        html.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = std::fs::read_to_string(&html).expect("page");
    let tags = parse_xml(&text);
    // Nothing loaded from elsewhere: no script, link, img or iframe, no src/href.
    for (name, attrs) in &tags {
        assert!(
            !["script", "link", "img", "iframe", "object"].contains(&name.as_str()),
            "<{name}> in a self-contained page"
        );
        assert!(
            attrs.iter().all(|(k, _)| k != "src" && k != "href"),
            "<{name}> loads {attrs:?}"
        );
    }
    let rows = |kind: &str| -> Vec<String> {
        tags.iter()
            .filter(|(_, a)| a.iter().any(|(k, v)| k == "data-row" && v == kind))
            .filter_map(|(_, a)| {
                a.iter()
                    .find(|(k, _)| k == "data-name")
                    .map(|(_, v)| v.clone())
            })
            .collect()
    };
    let record = report(&json);
    let mut sessions: Vec<String> = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "daemon" && e["kind"].as_str().unwrap().starts_with("bgp."))
        .filter_map(|e| {
            let d: Value = serde_json::from_str(e["detail"].as_str()?).ok()?;
            Some(format!(
                "BGP {} {}",
                e["subject"].as_str()?,
                d["neighbor"].as_str()?
            ))
        })
        .collect();
    sessions.sort();
    sessions.dedup();
    assert_eq!(sessions.len(), 4, "two tunnels, both ends: {sessions:?}");
    assert_eq!(rows("session"), sessions, "one row per BGP session");
    let probes: Vec<String> = record["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("probe {}", p["name"].as_str().unwrap()))
        .collect();
    assert_eq!(rows("probe"), probes, "one row per probe");
    // The result table and the cut (the fault) are on the page.
    assert!(text.contains("the VGW moves to tunnel 2"), "result table");
    assert!(text.contains("cut-tunnel1 cut"), "the cut is marked");
}
