//! Load tester: starts `hl-bgpd`, connects N tester peers over loopback, sends pre-encoded
//! UPDATEs as fast as TCP allows, and reports the time from Established to all prefixes in
//! Loc-RIB (from hl-bgpd's own `bgp.prefixes` events), hl-bgpd's peak RSS, and optionally the
//! time until every route is in the kernel table.
//!
//! ```text
//! blast --hl-bgpd PATH --case shared|distinct|peers [--kernel] [--gateway 192.0.2.2]
//! ```
//! `shared`: 1,000,000 IPv4 /24s with one path; `distinct`: 1,000,000 /24s with 100,000
//! AS_PATHs; `peers`: 10 peers x 100,000 /24s. Run it inside a scratch namespace (see
//! `crates/bgp/README.md`, "Benchmark"): it binds 127.0.0.1:179 and, with `--kernel`, installs
//! routes via the gateway into the main table of that namespace.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bgp::wire::attrs::{EncodeContext, encode_attrs};
use bgp::wire::open::{Capability, Open};
use bgp::wire::update::pack_announce;
use bgp::wire::{AsPath, Family, NextHop, PathAttrs, Prefix, frame, write_keepalive};

struct Args {
    hl_bgpd: String,
    case: String,
    kernel: bool,
    gateway: Ipv4Addr,
}

fn args() -> Args {
    let mut a = Args {
        hl_bgpd: String::new(),
        case: "shared".into(),
        kernel: false,
        gateway: Ipv4Addr::new(127, 0, 0, 2),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--hl-bgpd" => a.hl_bgpd = it.next().expect("path"),
            "--case" => a.case = it.next().expect("case"),
            "--kernel" => a.kernel = true,
            "--gateway" => a.gateway = it.next().expect("address").parse().expect("IPv4 address"),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.hl_bgpd.is_empty(), "--hl-bgpd PATH is required");
    a
}

fn encode(start: u32, n: u32, paths: u32, peer_as: u32, nh: Ipv4Addr) -> Vec<u8> {
    let prefixes: Vec<Prefix> = (start..start + n)
        .map(|i| {
            Prefix::new(
                Ipv4Addr::from((10u32 << 24).wrapping_add(i << 8)).into(),
                24,
            )
            .unwrap()
        })
        .collect();
    let mut out = Vec::new();
    let per = (n.div_ceil(paths)) as usize;
    for (i, chunk) in prefixes.chunks(per).enumerate() {
        let a = PathAttrs {
            as_path: AsPath::sequence([peer_as, 100_000 + i as u32, 7]),
            next_hop: NextHop::V4(nh),
            ..Default::default()
        };
        let mut ab = Vec::new();
        encode_attrs(
            &mut ab,
            &a,
            &EncodeContext {
                four_octet_as: true,
                ibgp: false,
            },
            true,
        );
        let mut done = 0;
        while done < chunk.len() {
            done += pack_announce(
                &mut out,
                Family::Ipv4Unicast,
                &ab,
                &a.next_hop,
                &chunk[done..],
            );
        }
    }
    out
}

fn read_message(s: &mut TcpStream, buf: &mut Vec<u8>) -> Vec<u8> {
    loop {
        if let Ok(Some(f)) = frame(buf) {
            let m = buf[..f.len].to_vec();
            buf.drain(..f.len);
            return m;
        }
        let mut tmp = [0u8; 4096];
        let n = s.read(&mut tmp).expect("read from hl-bgpd");
        assert!(n > 0, "hl-bgpd closed the connection");
        buf.extend_from_slice(&tmp[..n]);
    }
}

fn vm(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    let a = args();
    let (peers, per_peer, paths) = match a.case.as_str() {
        "shared" => (1u32, 1_000_000u32, 1u32),
        "distinct" => (1, 1_000_000, 100_000),
        "peers" => (10, 100_000, 1),
        other => panic!("unknown case {other}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = format!(
        "asn = 64512\nrouter_id = \"10.255.0.1\"\nlisten = [\"127.0.0.1:179\"]\n{}\n",
        if a.kernel {
            "kernel = { table = 254 }"
        } else {
            ""
        }
    );
    for i in 0..peers {
        cfg.push_str(&format!(
            "[[neighbor]]\naddress = \"127.0.0.{}\"\nremote_as = {}\npassive = true\nhold_time = 90\nkeepalive = 30\n",
            2 + i,
            65001 + i
        ));
    }
    std::fs::write(dir.path().join("bgpd.toml"), cfg).unwrap();
    let sock = dir.path().join("ctl.sock");
    let mut child = Command::new(&a.hl_bgpd)
        .args([
            "--config",
            dir.path().join("bgpd.toml").to_str().unwrap(),
            "--control",
            sock.to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start hl-bgpd");
    let pid = child.id();
    let t = Instant::now();
    while !sock.exists() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "hl-bgpd did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let base_rss = vm(pid, "VmRSS:");
    // Events first, so none is missed.
    let mut ev = UnixStream::connect(&sock).unwrap();
    ev.write_all(b"{\"id\":1,\"method\":\"events\"}\n").unwrap();
    let mut ev = BufReader::new(ev);
    let mut line = String::new();
    ev.read_line(&mut line).unwrap();

    let inputs: Vec<Vec<u8>> = (0..peers)
        .map(|i| encode(i * per_peer, per_peer, paths, 65001 + i, a.gateway))
        .collect();
    let total = u64::from(peers) * u64::from(per_peer);
    let mut established_at = None;
    let mut writers = Vec::new();
    for (i, input) in inputs.into_iter().enumerate() {
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.bind(&SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2 + i as u8), 0)).into())
            .unwrap();
        sock.connect(&SocketAddr::from((Ipv4Addr::LOCALHOST, 179)).into())
            .unwrap();
        let mut s: TcpStream = sock.into();
        let open = Open {
            my_as: (65001 + i) as u16,
            hold_time: 90,
            bgp_id: Ipv4Addr::new(10, 1, 0, 1 + i as u8),
            capabilities: vec![
                Capability::Multiprotocol { afi: 1, safi: 1 },
                Capability::FourOctetAs(65001 + i as u32),
            ],
        };
        let mut b = Vec::new();
        open.encode(&mut b);
        write_keepalive(&mut b);
        s.write_all(&b).unwrap();
        let mut buf = Vec::new();
        let _their_open = read_message(&mut s, &mut buf);
        let _their_keepalive = read_message(&mut s, &mut buf);
        established_at.get_or_insert_with(Instant::now);
        let mut rd = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut sink = [0u8; 65536];
            while matches!(rd.read(&mut sink), Ok(n) if n > 0) {}
        });
        writers.push(std::thread::spawn(move || {
            s.write_all(&input).unwrap();
            s
        }));
    }
    let t0 = established_at.unwrap();
    let mut accepted = std::collections::HashMap::new();
    let rib_done;
    loop {
        line.clear();
        if ev.read_line(&mut line).unwrap() == 0 {
            panic!("event stream closed");
        }
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["event"]["kind"] == "bgp.prefixes" {
            let n = v["event"]["data"]["neighbor"]
                .as_str()
                .unwrap_or("")
                .to_string();
            accepted.insert(
                n,
                v["event"]["data"]["ipv4"]["accepted"].as_u64().unwrap_or(0),
            );
            if accepted.values().sum::<u64>() == total {
                rib_done = t0.elapsed();
                break;
            }
        }
    }
    let rss_rib = vm(pid, "VmHWM:");
    let mut kernel_done = None;
    if a.kernel {
        let mut c = BufReader::new(UnixStream::connect(&sock).unwrap());
        loop {
            c.get_mut()
                .write_all(b"{\"id\":2,\"method\":\"show\",\"params\":{\"what\":\"summary\"}}\n")
                .unwrap();
            let mut l = String::new();
            c.read_line(&mut l).unwrap();
            let v: serde_json::Value = serde_json::from_str(&l).unwrap();
            if v["result"]["kernel_routes"].as_u64() == Some(total) {
                kernel_done = Some(t0.elapsed());
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(600),
                "kernel install did not finish: {l}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    println!(
        "case={} prefixes={} established->loc_rib={:.3}s peak_rss={:.1}MiB (idle {:.1}MiB){}",
        a.case,
        total,
        rib_done.as_secs_f64(),
        rss_rib,
        base_rss,
        kernel_done
            .map(|d| format!(
                " established->kernel={:.3}s peak_rss_with_kernel={:.1}MiB",
                d.as_secs_f64(),
                vm(pid, "VmHWM:")
            ))
            .unwrap_or_default()
    );
    for w in writers {
        drop(w.join());
    }
    let _ = child.kill();
    let _ = child.wait();
}
