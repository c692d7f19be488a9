//! Transit Gateway Connect benchmarks (issue #12), in one lab run, beside a bare veth:
//!
//! - TCP through one Connect peer: iperf3 (one flow, 5 s) from a VPC host through the VPC router,
//!   the TGW's route table, a Connect peer's GRE devices (ours, both ends) and the appliance to an
//!   on-premises host; beside it iperf3 over the VPC host's bare veth to the VPC router, same run.
//!   AWS's figure is 5 Gbit/s per Connect peer \[T3\].
//! - Flows over 4 peers: for 100 TCP flows (source ports 40000..40099) the kernel's choice in the
//!   TGW's route table (`ip route get ... sport P`, the same hash the forwarding path uses), and
//!   the share of each peer's GRE packets while iperf3 runs 100 parallel flows (5 s).
//! - Memory: the TGW daemon's peak RSS (VmHWM) at the end.
//!
//! ```text
//! cargo bench -p scenarios --bench tgw_connect
//! ```
//!
//! Runs as root (namespaces), needs iperf3. Fails loudly when it cannot run.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const LAB: &str = "tgwbench";

fn scenario() -> String {
    let text = include_str!("../tgw-connect.toml");
    let topology = &text[..text.find("[[probe]]").expect("probes")];
    let mut s = topology
        .replace("name = \"tgw-connect\"", &format!("name = \"{LAB}\""))
        .replace("peers = { p4 = { ebgp_multihop = 1 } }\n", "");
    s.push_str(
        r#"
[[expect]]
name = "four peers"
within = "60s"
check = "tgw_route"
node = "tgw1"
prefix = "10.1.0.0/16"
next_hops = 4

[[expect]]
name = "held for the benchmark"
after = "four peers"
delay = "300s"
check = "tgw_route"
node = "tgw1"
prefix = "10.1.0.0/16"
"#,
    );
    s
}

fn ns(node: &str) -> String {
    format!("hl-{LAB}-{node}")
}

fn exec(node: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns(node)])
        .args(args)
        .output()
        .map_err(|e| format!("{args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{args:?} in {}: {}",
            ns(node),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn show(exe: &Path, state: &Path, what: &str) -> Result<Value, String> {
    let out = Command::new(exe)
        .args(["show", LAB, "tgw1", what])
        .env("HYBRIDLAB_STATE_DIR", state)
        .output()
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn iperf_server(node: &str) -> Result<Child, String> {
    Command::new("ip")
        .args(["netns", "exec", &ns(node), "iperf3", "-s", "-1"])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("iperf3 (Debian package iperf3): {e}"))
}

/// iperf3 from `node` to `to`: bits per second received.
fn iperf(node: &str, to: &str, flows: u32) -> Result<f64, String> {
    let p = flows.to_string();
    let mut last = String::new();
    for _ in 0..20 {
        match exec(node, &["iperf3", "-c", to, "-t", "5", "-P", &p, "-J"]) {
            Ok(text) => {
                let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                return v["end"]["sum_received"]["bits_per_second"]
                    .as_f64()
                    .ok_or_else(|| format!("no result: {text}"));
            }
            Err(e) => {
                last = e;
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    Err(last)
}

fn peer_packets(exe: &Path, state: &Path) -> Result<Vec<(String, u64)>, String> {
    let c = show(exe, state, "connect")?;
    Ok(["p1", "p2", "p3", "p4"]
        .iter()
        .map(|p| {
            (
                p.to_string(),
                c["connect1"][p]["gre"]["packets_out"].as_u64().unwrap_or(0),
            )
        })
        .collect())
}

/// The TGW daemon's peak RSS: the process running `daemon tgw` in the node's directory.
fn daemon_hwm_kib(state: &Path) -> Option<u64> {
    let node_dir = state.join(LAB).join("tgw1");
    let pid = std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd);
        let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
        (cmd.contains("daemon\0tgw") && cwd == node_dir).then_some(pid)
    })?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn bench() -> Result<(), String> {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_hybridlab"));
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let state = dir.path().join("state");
    let file = dir.path().join("bench.toml");
    std::fs::write(&file, scenario()).map_err(|e| e.to_string())?;
    let mut run = Command::new(&exe)
        .args(["run", file.to_str().unwrap(), "--lab", LAB, "-q"])
        .env("HYBRIDLAB_STATE_DIR", &state)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let up = show(&exe, &state, "routes")
            .ok()
            .and_then(|r| {
                r["tables"]["default"]["routes"]
                    .as_array()?
                    .iter()
                    .find(|x| x["prefix"] == "10.1.0.0/16")
                    .map(|x| x["next_hops"] == 4)
            })
            .unwrap_or(false);
        if up {
            break;
        }
        if Instant::now() > deadline {
            let _ = run.kill();
            return Err("the lab did not bring up four Connect peers in 90 s".into());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let result = measure(&exe, &state);
    let hwm = daemon_hwm_kib(&state);
    if hwm.is_none() {
        eprintln!("(the TGW daemon's process was not found: no memory figure)");
    }
    let _ = Command::new(&exe)
        .args(["down", LAB])
        .env("HYBRIDLAB_STATE_DIR", &state)
        .status();
    let _ = run.wait();
    let (veth, connect, flows, shares) = result?;
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!(
        "tgw_connect benchmark, {date}, debug={}",
        cfg!(debug_assertions)
    );
    println!(
        "TCP, one flow: bare veth {:.2} Gbit/s, through one Connect peer {:.2} Gbit/s (ratio {:.2}; AWS: 5 Gbit/s per peer)",
        veth / 1e9,
        connect / 1e9,
        connect / veth
    );
    println!("100 flows by the kernel's ECMP hash: {flows:?}");
    println!("GRE packets per peer under iperf3 -P 100: {shares:?}");
    if let Some(h) = hwm {
        println!("tgw daemon peak RSS: {} MiB", h / 1024);
    }
    Ok(())
}

type Measured = (f64, f64, Vec<(String, usize)>, Vec<(String, f64)>);

fn measure(exe: &Path, state: &Path) -> Result<Measured, String> {
    // Bare veth: the VPC host to its router.
    let mut s = iperf_server("vpc1")?;
    let veth = iperf("vpchost", "10.0.1.1", 1)?;
    let _ = s.wait();
    // One flow through one Connect peer.
    let mut s = iperf_server("h1")?;
    let connect = iperf("vpchost", "10.1.0.10", 1)?;
    let _ = s.wait();
    // The kernel's choice for 100 flows.
    let mut flows: Vec<(String, usize)> = ["gre-p1", "gre-p2", "gre-p3", "gre-p4"]
        .iter()
        .map(|d| (d.to_string(), 0))
        .collect();
    for sport in 40000..40100 {
        let sp = sport.to_string();
        let out = exec(
            "tgw1",
            &[
                "ip",
                "route",
                "get",
                "10.1.0.10",
                "from",
                "10.0.1.10",
                "iif",
                "tgwatt0",
                "ipproto",
                "tcp",
                "sport",
                &sp,
                "dport",
                "5201",
            ],
        )?;
        for (dev, n) in &mut flows {
            if out.contains(&format!("dev {dev} ")) {
                *n += 1;
            }
        }
    }
    // Packets per peer under 100 parallel flows.
    let before = peer_packets(exe, state)?;
    let mut s = iperf_server("h1")?;
    iperf("vpchost", "10.1.0.10", 100)?;
    let _ = s.wait();
    let after = peer_packets(exe, state)?;
    let deltas: Vec<(String, u64)> = before
        .iter()
        .zip(&after)
        .map(|((p, b), (_, a))| (p.clone(), a.saturating_sub(*b)))
        .collect();
    let total: u64 = deltas.iter().map(|(_, d)| d).sum::<u64>().max(1);
    let shares = deltas
        .into_iter()
        .map(|(p, d)| (p, (d as f64 * 1000.0 / total as f64).round() / 10.0))
        .collect();
    Ok((veth, connect, flows, shares))
}

fn main() {
    if let Err(e) = bench() {
        eprintln!("tgw_connect benchmark failed: {e}");
        std::process::exit(1);
    }
}
