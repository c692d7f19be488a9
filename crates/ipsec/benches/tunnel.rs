//! Throughput and packet rate through one tunnel between two namespaces, side by side in one
//! run: our ESP data plane (AES-256-GCM, ChaCha20-Poly1305 and AES-256-CBC + HMAC-SHA2-256,
//! with and without TUN offloads), strongSwan's charon with kernel-libipsec (ESP in userspace
//! over TUN, AES-256-GCM and AES-256-CBC + HMAC-SHA2-256), and the bare veth underlay as the
//! ceiling; each of our rows' "x swan" is against strongSwan with the same kind of cipher (our
//! CBC rows use the CBC inside MTU, 1422). iperf3 does the measuring; this prints a table with ratios.
//! Then the IKE tunnel set-up time, ours to ours against strongSwan to strongSwan (see
//! [`setup`]).
//!
//! ```text
//! sudo cargo bench -p ipsec --bench tunnel            # all rows, 5 s each, 20 set-ups each
//! HL_BENCH_SECONDS=10 HL_BENCH_ROWS=ours-aes,swan cargo bench -p ipsec --bench tunnel
//! HL_BENCH_ROWS=setup HL_BENCH_SETUPS=50 cargo bench -p ipsec --bench tunnel
//! ```
//!
//! Needs root, iperf3, ping and strongSwan (see crates/ipsec/README.md). Our throughput tunnels
//! are keyed statically (the data plane's `install` with fixed keys), strongSwan's with IKE; the
//! set-up rows run IKE on both sides.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark's job is to print its table

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "tunnel/setup.rs"]
mod setup;

use std::net::Ipv4Addr;
use std::time::Duration;

use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::cbc::CbcAlgorithm;
use ipsec::crypto::cipher::Cipher;
use ipsec::crypto::integ::IntegAlgorithm;
use support::{INSIDE_B, INSIDE_MTU, INSIDE_MTU_CBC, OUTSIDE_B, StaticTunnel};
use testkit::lab::Lab;
use testkit::strongswan::{CharonOptions, PskConnection, StrongSwan};

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

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("iperf3 JSON: {e}: {text}"))
}

/// iperf3 TCP from node a to `server` (an address in node b), one stream.
fn iperf_tcp(lab: &Lab, server: Ipv4Addr, secs: u32) -> f64 {
    let mut srv = lab
        .spawn(
            "b",
            "iperf3",
            &["-s", "-1", "-B", &server.to_string()],
            &log("iperf3-tcp"),
        )
        .expect("iperf3 server");
    let out = wait_client(
        lab,
        &["-c", &server.to_string(), "-t", &secs.to_string(), "-J"],
    );
    testkit::lab::kill(&mut srv);
    let v = json(&out);
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap_or_else(|| panic!("no bits_per_second in {out}"))
        / 1e9
}

/// iperf3 UDP with 64-octet payloads, unlimited rate: packets received per second.
fn iperf_pps(lab: &Lab, server: Ipv4Addr, secs: u32) -> f64 {
    let mut srv = lab
        .spawn(
            "b",
            "iperf3",
            &["-s", "-1", "-B", &server.to_string()],
            &log("iperf3-udp"),
        )
        .expect("iperf3 server");
    let out = wait_client(
        lab,
        &[
            "-c",
            &server.to_string(),
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
    let v = json(&out);
    let sum = &v["end"]["sum"];
    let packets = sum["packets"].as_f64().unwrap_or(0.0);
    let lost = sum["lost_packets"].as_f64().unwrap_or(0.0);
    let secs = sum["seconds"].as_f64().unwrap_or(1.0);
    (packets - lost) / secs
}

fn log(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("hl-bench-{name}.log"))
}

/// Runs the iperf3 client in node a, retrying while the server is not listening yet.
fn wait_client(lab: &Lab, args: &[&str]) -> String {
    let mut full = vec!["iperf3"];
    full.extend_from_slice(args);
    testkit::wait_for(
        "iperf3 client run",
        Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let out = lab.exec("a", &full).map_err(|e| e.to_string())?;
            // iperf3 -J reports "unable to connect" (server not up yet) in the JSON.
            match json(&out).get("error") {
                Some(e) => Err(e.to_string()),
                None => Ok(out),
            }
        },
    )
    .expect("iperf3 client")
}

fn measure(lab: &Lab, server: Ipv4Addr) -> Figures {
    let secs = seconds();
    Figures {
        tcp_gbps: iperf_tcp(lab, server, secs),
        pps_64: iperf_pps(lab, server, secs),
    }
}

fn ours(name: &str, algorithm: impl Into<Cipher>, offloads: bool) -> Figures {
    let algorithm = algorithm.into();
    let mtu = match algorithm {
        Cipher::Aead(_) => INSIDE_MTU,
        Cipher::CbcHmac(..) => INSIDE_MTU_CBC,
    };
    let t = StaticTunnel::new(name, algorithm, offloads, mtu);
    let f = measure(&t.lab, INSIDE_B);
    // A flood overruns b's UDP socket (the kernel drops what b cannot take, as with any
    // receiver); what did arrive must all have authenticated.
    let b = t.b.dataplane.counters();
    assert_eq!(b.drops(), 0, "{b:?}");
    f
}

fn bare_veth() -> Figures {
    let mut lab = Lab::new("esp-bench-veth").expect("lab");
    lab.node("a").unwrap();
    lab.node("b").unwrap();
    lab.link("a", "192.0.2.1/24", "b", "192.0.2.2/24").unwrap();
    measure(&lab, OUTSIDE_B)
}

/// strongSwan to strongSwan, AES-256-GCM ESP (`esp = None`) or the given ESP proposal.
fn strongswan(lab_name: &str, esp: Option<&str>) -> Figures {
    let mut lab = Lab::new(lab_name).expect("lab");
    lab.node("a").unwrap();
    lab.node("b").unwrap();
    lab.link("a", "192.0.2.1/24", "b", "192.0.2.2/24").unwrap();
    let sa = StrongSwan::start(&lab, "a", &CharonOptions::default()).expect("charon a");
    let sb = StrongSwan::start(&lab, "b", &CharonOptions::default()).expect("charon b");
    let psk = "Bench.psk.0123456789";
    let mut ca = PskConnection::new(
        "aws",
        "192.0.2.1".parse().unwrap(),
        "192.0.2.2".parse().unwrap(),
        psk,
    );
    let mut cb = PskConnection::new(
        "aws",
        "192.0.2.2".parse().unwrap(),
        "192.0.2.1".parse().unwrap(),
        psk,
    );
    if let Some(esp) = esp {
        ca.esp_proposals = esp.to_string();
        cb.esp_proposals = esp.to_string();
    }
    sa.load_connection(&ca).unwrap();
    sb.load_connection(&cb).unwrap();
    sa.initiate(&ca.child_name(), Duration::from_secs(20))
        .expect("strongSwan initiate");
    sa.wait_up("aws", Duration::from_secs(10)).expect("up a");
    sb.wait_up("aws", Duration::from_secs(10)).expect("up b");
    sa.add_tunnel_address(&lab, "169.254.10.1/30").unwrap();
    sb.add_tunnel_address(&lab, "169.254.10.2/30").unwrap();
    measure(&lab, INSIDE_B)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would run us as a test: do nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs = seconds();
    let mut rows: Vec<(&str, Figures)> = Vec::new();
    if wanted("veth") {
        rows.push(("bare veth (ceiling)", bare_veth()));
    }
    if wanted("ours-aes") {
        rows.push((
            "ours AES-256-GCM, TUN offloads",
            ours("esp-bench-aes", AeadAlgorithm::AesGcm16Key256, true),
        ));
    }
    if wanted("ours-chacha") {
        rows.push((
            "ours ChaCha20-Poly1305, TUN offloads",
            ours("esp-bench-chacha", AeadAlgorithm::ChaCha20Poly1305, true),
        ));
    }
    if wanted("ours-cbc") {
        rows.push((
            "ours AES-256-CBC + HMAC-SHA2-256, TUN offloads",
            ours(
                "esp-bench-cbc",
                Cipher::CbcHmac(CbcAlgorithm::Aes256, IntegAlgorithm::HmacSha256_128),
                true,
            ),
        ));
    }
    if wanted("ours-plain") {
        rows.push((
            "ours AES-256-GCM, no offloads",
            ours("esp-bench-plain", AeadAlgorithm::AesGcm16Key256, false),
        ));
    }
    if wanted("swan") {
        rows.push((
            "strongSwan kernel-libipsec AES-256-GCM",
            strongswan("esp-bench-swan", None),
        ));
    }
    if wanted("swan-cbc") {
        rows.push((
            "strongSwan kernel-libipsec AES-256-CBC + HMAC-SHA2-256",
            strongswan("esp-bench-swcbc", Some("aes256-sha256")),
        ));
    }
    if !rows.is_empty() {
        print_throughput(secs, &rows);
    }
    if wanted("setup") {
        setup::run();
    }
}

fn print_throughput(secs: u32, rows: &[(&str, Figures)]) {
    // Each row is compared with strongSwan running the same kind of cipher: CBC rows with
    // strongSwan's CBC row, the others with its AES-GCM row.
    let swan_for = |name: &str| {
        let cbc = name.contains("CBC");
        rows.iter()
            .find(|(n, _)| n.starts_with("strongSwan") && n.contains("CBC") == cbc)
            .map(|(_, f)| *f)
    };
    let veth = rows
        .iter()
        .find(|(n, _)| n.starts_with("bare"))
        .map(|(_, f)| *f);
    println!();
    println!(
        "one tunnel, two namespaces, iperf3 {secs} s per figure, inside MTU {INSIDE_MTU}, CBC rows {INSIDE_MTU_CBC} (strongSwan: its default 1400)"
    );
    println!(
        "{:<56} {:>10} {:>9} {:>9} {:>12} {:>9}",
        "path", "TCP Gb/s", "x swan", "/ veth", "64 B pps", "x swan"
    );
    for (name, f) in rows {
        let swan = swan_for(name);
        let ratio = |a: f64, b: Option<f64>| b.map_or("-".to_string(), |b| format!("{:.2}", a / b));
        println!(
            "{:<56} {:>10.2} {:>9} {:>9} {:>12.0} {:>9}",
            name,
            f.tcp_gbps,
            ratio(f.tcp_gbps, swan.map(|s| s.tcp_gbps)),
            ratio(f.tcp_gbps, veth.map(|v| v.tcp_gbps)),
            f.pps_64,
            ratio(f.pps_64, swan.map(|s| s.pps_64)),
        );
    }
}
