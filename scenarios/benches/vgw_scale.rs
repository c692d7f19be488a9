//! One VGW with many VPN connections (issue #5's benchmark): N customer gateways, one dynamic
//! VPN connection each (2N IPsec tunnels, 2N BGP sessions on the VGW), brought up by the real
//! engine on real namespaces. Reports, from the run's own JSON record:
//!
//! - lab bring-up until the timeline starts (namespaces, links, 2 + N daemons, every probe);
//! - from the VGW daemon's start to its last session reaching Established (its `bgp.up`
//!   events), and to its last tunnel's CHILD_SA;
//! - the VGW's memory: peak RSS (VmHWM) and RSS per tunnel, read from /proc while it runs.
//!
//! ```text
//! cargo bench -p scenarios --bench vgw_scale            # 10 and 50 connections
//! cargo bench -p scenarios --bench vgw_scale -- 50      # only 50
//! ```
//!
//! Runs as root (namespaces). Goal: 50 connections Established in under 5 s, under 2 MiB per
//! tunnel.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

fn scenario(lab: &str, n: usize) -> String {
    let mut s = format!(
        r#"[scenario]
name = "{lab}"

[timing]
profile = "fast"
converge = "120s"
expect_within = "120s"

[[router]]
name = "inet"

[[vpc]]
name = "vpc1"
cidrs = ["10.0.0.0/16"]

[[host]]
name = "vpchost"
gateway = "10.0.1.1"

[[link]]
endpoints = [{{ node = "vpchost", address = "10.0.1.10/24" }}, {{ node = "vpc1", address = "10.0.1.1/24" }}]

[[vgw]]
name = "vgw1"
vpc = "vpc1"
internet = {{ node = "inet", cidr = "203.0.112.0/23" }}
"#
    );
    for i in 1..=n {
        s.push_str(&format!(
            "\n[[vgw.connection]]\nname = \"vpn{i}\"\ncgw = \"cgw{i}\"\n"
        ));
    }
    for i in 1..=n {
        s.push_str(&format!(
            r#"
[[cgw]]
name = "cgw{i}"
asn = {asn}
internet = {{ node = "inet", address = "100.{a}.{b}.1/24" }}
advertise = ["10.{p}.{q}.0/24"]
"#,
            asn = 65000 + i,
            a = 65 + i / 256,
            b = i % 256,
            p = 100 + i / 256,
            q = i % 256,
        ));
    }
    // The last customer's host: one probe proves traffic flows once everything is up.
    s.push_str(&format!(
        r#"
[[host]]
name = "h{n}"
gateway = "10.{p}.{q}.1"

[[link]]
endpoints = [{{ node = "h{n}", address = "10.{p}.{q}.10/24" }}, {{ node = "cgw{n}", address = "10.{p}.{q}.1/24" }}]

[[probe]]
name = "probe"
from = "vpchost"
to = "h{n}"
rate = 100
"#,
        p = 100 + n / 256,
        q = n % 256,
    ));
    for i in 1..=n {
        for t in 1..=2 {
            s.push_str(&format!(
                "\n[[expect]]\ncheck = \"tunnel\"\nnode = \"vgw1\"\ntunnel = \"vpn{i}-t{t}\"\nstatus = \"UP\"\nbgp = \"Established\"\n"
            ));
        }
    }
    s
}

/// The VGW daemon of `lab`: the `daemon vgw` process whose working directory is its node's.
fn vgw_pid(node_dir: &Path) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
        (cmd.contains("daemon\0vgw") && cwd == node_dir).then_some(pid)
    })
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

struct Row {
    connections: usize,
    bring_up_s: f64,
    established_s: f64,
    child_sa_s: f64,
    hwm_mib: f64,
}

fn run(n: usize) -> Result<Row, String> {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_hybridlab"));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let lab = format!("bvgw{n}");
    let file = dir.path().join("scale.toml");
    std::fs::write(&file, scenario(&lab, n)).map_err(|e| e.to_string())?;
    let json = dir.path().join("scale.json");
    let state = dir.path().join("state");
    let node_dir = state.join(&lab).join("vgw1");

    let done = Arc::new(AtomicBool::new(false));
    let hwm = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, hwm, node_dir) = (done.clone(), hwm.clone(), node_dir.clone());
        std::thread::spawn(move || {
            let mut pid = None;
            while !done.load(Ordering::Relaxed) {
                if pid.is_none() {
                    pid = vgw_pid(&node_dir);
                }
                if let Some(p) = pid
                    && let Some(h) = status_kib(p, "VmHWM:")
                {
                    hwm.fetch_max(h, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let out = Command::new(&exe)
        .args([
            "run",
            file.to_str().unwrap(),
            "-q",
            "--json",
            json.to_str().unwrap(),
        ])
        .env("HYBRIDLAB_STATE_DIR", &state)
        .output()
        .map_err(|e| format!("running hybridlab: {e}"))?;
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    if !out.status.success() {
        return Err(format!(
            "{n} connections: exit {:?}\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let record: Value = serde_json::from_slice(&std::fs::read(&json).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let events = record["events"].as_array().ok_or("no events")?;
    let t = |e: &Value| e["t_ns"].as_u64().unwrap_or(0);
    let vgw_start = events
        .iter()
        .find(|e| e["kind"] == "spawn" && e["subject"] == "vgw1")
        .map(t)
        .ok_or("no vgw spawn event")?;
    let ups: Vec<u64> = events
        .iter()
        .filter(|e| e["source"] == "daemon" && e["subject"] == "vgw1" && e["kind"] == "bgp.up")
        .map(t)
        .collect();
    let children: Vec<u64> = events
        .iter()
        .filter(|e| {
            e["source"] == "daemon"
                && e["subject"] == "vgw1"
                && e["kind"].as_str().is_some_and(|k| k == "ipsec.child_up")
        })
        .map(t)
        .collect();
    if ups.len() < 2 * n {
        return Err(format!("{} of {} sessions came up", ups.len(), 2 * n));
    }
    let secs = |ns: u64| ns.saturating_sub(vgw_start) as f64 / 1e9;
    let started = record["started_ns"].as_u64().unwrap_or(0);
    let t0 = record["t0_ns"].as_u64().unwrap_or(0);
    Ok(Row {
        connections: n,
        bring_up_s: t0.saturating_sub(started) as f64 / 1e9,
        established_s: secs(*ups.iter().max().unwrap_or(&0)),
        child_sa_s: children.iter().max().map_or(f64::NAN, |m| secs(*m)),
        hwm_mib: hwm.load(Ordering::Relaxed) as f64 / 1024.0,
    })
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10, 50]
    } else {
        sizes
    };
    println!(
        "| connections | tunnels | lab up, traffic flowing | VGW start -> last CHILD_SA | VGW start -> all Established | goal | VGW peak RSS | per tunnel | goal |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        match run(n) {
            Ok(r) => println!(
                "| {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2}x of 5 s | {:.1} MiB | {:.2} MiB | {:.2}x of 2 MiB |",
                r.connections,
                2 * r.connections,
                r.bring_up_s,
                r.child_sa_s,
                r.established_s,
                r.established_s / 5.0,
                r.hwm_mib,
                r.hwm_mib / (2 * r.connections) as f64,
                r.hwm_mib / (2 * r.connections) as f64 / 2.0,
            ),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
}
