//! One DX location router with many VIFs (issue #11's benchmark): N private VIFs on one
//! dedicated connection (VLANs 101..), one DX gateway associated with one VGW, the customer
//! router announcing the same 100 prefixes on every VIF (N x 100 paths on the DX router), BFD on
//! every VIF (`fast`: 100 ms x 3). Reports, from the run's own JSON record:
//!
//! - lab bring-up until the timeline starts;
//! - from the DX daemon's start to its last VIF session Established (its `bgp.up` events), and
//!   to its last kernel route change (`bgp.kernel`) with the VGW holding the 100 prefixes;
//! - the DX daemon's memory (peak RSS, VmHWM) and its CPU time while it runs (utime + stime
//!   over the run's wall time: BFD and BGP keepalives at rest).
//!
//! ```text
//! cargo bench -p scenarios --bench dx_scale            # 10 and 30 VIFs
//! cargo bench -p scenarios --bench dx_scale -- 30      # only 30
//! ```
//!
//! Runs as root (namespaces). Not compared with FRR here (that comparison is not done yet).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

[[vgw]]
name = "vgw1"
vpc = "vpc1"
internet = {{ node = "inet", cidr = "203.0.113.0/24" }}

[[dxgw]]
name = "dx1"
seed = 7

[[dxgw.gateway]]
name = "dxgw1"
association = [{{ vgw = "vgw1" }}]

[[dxgw.connection]]
name = "dxcon1"
router = "dxr1"

[[dx-router]]
name = "dxr1"
asn = 65001
advertise_range = {{ first = "172.16.0.0/24", count = 100 }}
"#
    );
    for i in 1..=n {
        s.push_str(&format!(
            "\n[[dxgw.connection.vif]]\nname = \"vif{i}\"\nvlan = {}\ngateway = \"dxgw1\"\n",
            100 + i
        ));
    }
    // TOML: the VIF tables above follow [[dxgw.connection]]; the expectations come last.
    for i in 0..n {
        s.push_str(&format!(
            "\n[[expect]]\ncheck = \"state\"\nnode = \"dx1\"\nshow = \"vifs\"\npointer = \"/vifs/{i}/bgp/received\"\nequals = 100\n"
        ));
    }
    s.push_str(
        "\n[[expect]]\ncheck = \"vgw_route\"\nnode = \"vgw1\"\nprefix = \"172.16.99.0/24\"\nvia = \"dxgw1\"\n",
    );
    s
}

fn dx_pid(node_dir: &Path) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
        (cmd.contains("daemon\0dxgw") && cwd == node_dir).then_some(pid)
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

/// utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/PID/stat).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

struct Row {
    vifs: usize,
    bring_up_s: f64,
    established_s: f64,
    routes_s: f64,
    hwm_mib: f64,
    cpu_share: f64,
}

fn run(n: usize) -> Result<Row, String> {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_hybridlab"));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let lab = format!("bdx{n}");
    let file = dir.path().join("scale.toml");
    std::fs::write(&file, scenario(&lab, n)).map_err(|e| e.to_string())?;
    let json = dir.path().join("scale.json");
    let state = dir.path().join("state");
    let node_dir = state.join(&lab).join("dx1");

    let done = Arc::new(AtomicBool::new(false));
    let hwm = Arc::new(AtomicU64::new(0));
    let ticks = Arc::new(AtomicU64::new(0));
    let alive_ms = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, hwm, ticks, alive_ms, node_dir) = (
            done.clone(),
            hwm.clone(),
            ticks.clone(),
            alive_ms.clone(),
            node_dir.clone(),
        );
        std::thread::spawn(move || {
            let mut pid = None;
            let mut since = None;
            while !done.load(Ordering::Relaxed) {
                if pid.is_none() {
                    pid = dx_pid(&node_dir);
                    since = pid.map(|_| Instant::now());
                }
                if let Some(p) = pid {
                    if let Some(h) = status_kib(p, "VmHWM:") {
                        hwm.fetch_max(h, Ordering::Relaxed);
                    }
                    if let (Some(t), Some(s)) = (cpu_ticks(p), since) {
                        ticks.store(t, Ordering::Relaxed);
                        alive_ms.store(s.elapsed().as_millis() as u64, Ordering::Relaxed);
                    }
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
            "{n} VIFs: exit {:?}\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let record: Value = serde_json::from_slice(&std::fs::read(&json).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let events = record["events"].as_array().ok_or("no events")?;
    let t = |e: &Value| e["t_ns"].as_u64().unwrap_or(0);
    let dx_start = events
        .iter()
        .find(|e| e["kind"] == "spawn" && e["subject"] == "dx1")
        .map(t)
        .ok_or("no dx1 spawn event")?;
    let ups: Vec<u64> = events
        .iter()
        .filter(|e| {
            e["source"] == "daemon"
                && e["subject"] == "dx1"
                && e["kind"] == "bgp.up"
                && e["detail"].as_str().is_some_and(|d| d.contains("\"vif"))
        })
        .map(t)
        .collect();
    if ups.len() < n {
        return Err(format!("{} of {n} VIF sessions came up", ups.len()));
    }
    let last_kernel = events
        .iter()
        .filter(|e| e["source"] == "daemon" && e["subject"] == "dx1" && e["kind"] == "bgp.kernel")
        .map(t)
        .max()
        .unwrap_or(0);
    let secs = |ns: u64| ns.saturating_sub(dx_start) as f64 / 1e9;
    let started = record["started_ns"].as_u64().unwrap_or(0);
    let t0 = record["t0_ns"].as_u64().unwrap_or(0);
    let tick_hz = 100.0; // USER_HZ on Linux
    let alive = alive_ms.load(Ordering::Relaxed) as f64 / 1000.0;
    Ok(Row {
        vifs: n,
        bring_up_s: t0.saturating_sub(started) as f64 / 1e9,
        established_s: secs(*ups.iter().max().unwrap_or(&0)),
        routes_s: secs(last_kernel),
        hwm_mib: hwm.load(Ordering::Relaxed) as f64 / 1024.0,
        cpu_share: if alive > 0.0 {
            ticks.load(Ordering::Relaxed) as f64 / tick_hz / alive
        } else {
            f64::NAN
        },
    })
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10, 30]
    } else {
        sizes
    };
    println!(
        "| VIFs | paths | lab up | DX start -> all VIFs Established | DX start -> last kernel change | DX peak RSS | DX CPU share (whole run) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        match run(n) {
            Ok(r) => println!(
                "| {} | {} | {:.2} s | {:.2} s | {:.2} s | {:.1} MiB | {:.1} % |",
                r.vifs,
                r.vifs * 100,
                r.bring_up_s,
                r.established_s,
                r.routes_s,
                r.hwm_mib,
                r.cpu_share * 100.0,
            ),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
}
