//! Throughput and packet rate through one GRE device pair between two namespaces, beside the
//! bare veth underlay in the same run: iperf3 TCP (one stream) and iperf3 UDP with 64-octet
//! payloads, printed as a table with the ratio to veth and AWS's per-Connect-peer figures
//! (5 Gbit/s and 300k pps, `../shared/docs/aws-behaviour.md` §5).
//!
//! ```text
//! sudo cargo bench -p gre --bench gre                           # all rows, 5 s per figure
//! HL_BENCH_SECONDS=10 HL_BENCH_ROWS=veth,gre cargo bench -p gre --bench gre
//! ```
//!
//! Rows: `veth` (the underlay alone, MTU 8500 both ends: the ceiling), `gre` (our device with TUN
//! offloads, inside MTU 8476, no GRE options: AWS's sample set-up), `gre-plain` (no offloads),
//! `gre-opts` (offloads, key + sequence numbers + checksums, inside MTU 8464). What differs from
//! veth: the tunnel's TCP runs at MSS 8424 instead of 8448, and each packet crosses TUN and a
//! userspace thread twice.
//!
//! Needs root (namespaces, TUN, raw sockets) and iperf3; without either it fails, it never skips.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark's job is to print its table

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use gre::device::GreConfig;
use support::{GreLab, INSIDE_B, OUTSIDE_B, UNDERLAY_MTU, configs, underlay};
use testkit::lab::Lab;

/// AWS's bandwidth per Connect peer.
const AWS_PEER_GBPS: f64 = 5.0;
/// AWS's packet rate per Connect peer.
const AWS_PEER_PPS: f64 = 300_000.0;

#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    tcp_gbps: f64,
    pps_64: f64,
}

fn seconds() -> u32 {
    std::env::var("HL_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

fn wanted(row: &str) -> bool {
    match std::env::var("HL_BENCH_ROWS") {
        Ok(list) => list.split(',').any(|r| r.trim() == row),
        Err(_) => true,
    }
}

/// Fails loudly unless the benchmark can run: root, and iperf3 on the PATH.
fn preflight() {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("Uid line");
    assert_eq!(
        euid, "0",
        "the GRE benchmark needs root (namespaces, TUN, raw sockets): run it with sudo"
    );
    let iperf3 = Command::new("iperf3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        iperf3,
        "the GRE benchmark needs iperf3 (Debian package iperf3)"
    );
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("iperf3 JSON: {e}: {text}"))
}

fn log(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("hl-gre-bench-{name}.log"))
}

/// Runs the iperf3 client in node a, retrying while the server is not listening yet.
fn client(lab: &Lab, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["iperf3"];
    full.extend_from_slice(args);
    testkit::wait_for(
        "iperf3 client run",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let out = lab.exec("a", &full).map_err(|e| e.to_string())?;
            // iperf3 -J reports "unable to connect" (server not up yet) in the JSON.
            let v = json(&out);
            match v.get("error") {
                Some(e) => Err(e.to_string()),
                None => Ok(v),
            }
        },
    )
    .expect("iperf3 client")
}

fn server(lab: &Lab, server: Ipv4Addr, what: &str) -> std::process::Child {
    lab.spawn(
        "b",
        "iperf3",
        &["-s", "-1", "-B", &server.to_string()],
        &log(what),
    )
    .expect("iperf3 server")
}

/// iperf3 TCP from node a to `server` (an address in node b), one stream.
fn tcp(lab: &Lab, to: Ipv4Addr, secs: u32) -> f64 {
    let mut srv = server(lab, to, "tcp");
    let v = client(lab, &["-c", &to.to_string(), "-t", &secs.to_string(), "-J"]);
    testkit::lab::kill(&mut srv);
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or_else(|| panic!("no bits_per_second in {v}"))
        / 1e9
}

/// iperf3 UDP with 64-octet payloads at unlimited rate: packets received per second.
fn pps(lab: &Lab, to: Ipv4Addr, secs: u32) -> f64 {
    let mut srv = server(lab, to, "udp");
    let v = client(
        lab,
        &[
            "-c",
            &to.to_string(),
            "-u",
            "-b",
            "0",
            "-l",
            "64",
            "-t",
            &secs.to_string(),
            "-J",
        ],
    );
    testkit::lab::kill(&mut srv);
    let sum = &v["end"]["sum"];
    let packets = sum["packets"].as_f64().unwrap_or(0.0);
    let lost = sum["lost_packets"].as_f64().unwrap_or(0.0);
    let secs = sum["seconds"].as_f64().unwrap_or(1.0);
    (packets - lost) / secs
}

fn measure(lab: &Lab, to: Ipv4Addr) -> Figures {
    let secs = seconds();
    Figures {
        tcp_gbps: tcp(lab, to, secs),
        pps_64: pps(lab, to, secs),
    }
}

fn bare_veth() -> Figures {
    let lab = underlay("gre-bench-veth");
    measure(&lab, OUTSIDE_B)
}

fn ours(name: &str, tweak: impl Fn(&mut GreConfig)) -> Figures {
    let (a, b) = configs(tweak);
    let t = GreLab::new(name, a, b);
    let f = measure(&t.lab, INSIDE_B);
    // The UDP flood overruns b's sockets (the kernel drops what b cannot take, as with any
    // receiver); nothing may be dropped for a GRE reason, and the threads must still run.
    for end in [&t.a, &t.b] {
        let c = end.device.counters();
        assert_eq!(c.rx_drops() - c.tun_write_errors, 0, "{}: {c:?}", end.node);
        assert!(
            end.device.is_running(),
            "{}: {:?}",
            end.node,
            end.device.failure()
        );
        eprintln!(
            "{name} {}: {}",
            end.node,
            serde_json::to_string(&c).unwrap()
        );
    }
    f
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs us as a test: nothing to do then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    preflight();
    let secs = seconds();
    let mut rows: Vec<(&str, Figures)> = Vec::new();
    if wanted("veth") {
        rows.push(("bare veth, MTU 8500 (ceiling)", bare_veth()));
    }
    if wanted("gre") {
        rows.push(("GRE, TUN offloads, MTU 8476", ours("gre-bench-gre", |_| {})));
    }
    if wanted("gre-plain") {
        rows.push((
            "GRE, no offloads, MTU 8476",
            ours("gre-bench-plain", |c| c.offloads = false),
        ));
    }
    if wanted("gre-opts") {
        rows.push((
            "GRE + key/seq/csum, offloads, MTU 8464",
            ours("gre-bench-opts", |c| {
                c.key = Some(0x0102_0304);
                c.send_sequence = true;
                c.check_sequence = true;
                c.checksum = true;
                c.mtu = c.mtu_for_underlay(UNDERLAY_MTU);
            }),
        ));
    }
    assert!(
        !rows.is_empty(),
        "HL_BENCH_ROWS selected no row (veth, gre, gre-plain, gre-opts)"
    );
    let veth = rows
        .iter()
        .find(|(n, _)| n.starts_with("bare"))
        .map(|(_, f)| *f);
    println!();
    println!(
        "one GRE device pair, two namespaces, veth underlay MTU {UNDERLAY_MTU}, iperf3 {secs} s per figure"
    );
    println!(
        "{:<42} {:>9} {:>7} {:>7} {:>11} {:>7} {:>7}",
        "path", "TCP Gb/s", "/ veth", ">= 5?", "64 B pps", "/ veth", ">=300k?"
    );
    for (name, f) in &rows {
        let ratio = |a: f64, b: Option<f64>| b.map_or("-".to_string(), |b| format!("{:.2}", a / b));
        let goal = |met: bool| if met { "yes" } else { "NO" };
        println!(
            "{:<42} {:>9.2} {:>7} {:>7} {:>11.0} {:>7} {:>7}",
            name,
            f.tcp_gbps,
            ratio(f.tcp_gbps, veth.map(|v| v.tcp_gbps)),
            goal(f.tcp_gbps >= AWS_PEER_GBPS),
            f.pps_64,
            ratio(f.pps_64, veth.map(|v| v.pps_64)),
            goal(f.pps_64 >= AWS_PEER_PPS),
        );
    }
}
