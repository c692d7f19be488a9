//! Loads pre-encoded UPDATEs into a RIB and reports the time and the process's peak RSS.
//!
//! `cargo run -p bgp --release --no-default-features --example rib_load -- CASE`
//! with CASE one of `shared` (1M /24s, one path), `distinct` (1M /24s, 100k AS_PATHs),
//! `peers` (10 peers x 100k). The time covers decoding and RIB insertion from the first byte to
//! the last prefix in Loc-RIB (no TCP); the RSS figure is the whole process, input included.
#![allow(clippy::print_stdout)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use bgp::rib::{DefaultPolicy, PeerPolicy, Rib, RibConfig, SessionInfo};
use bgp::wire::attrs::{EncodeContext, encode_attrs};
use bgp::wire::update::pack_announce;
use bgp::wire::{
    AsPath, DecodeContext, Family, HEADER_LEN, NextHop, PathAttrs, Prefix, Update, frame,
};

fn prefixes(start: u32, n: u32) -> Vec<Prefix> {
    (start..start + n)
        .map(|i| {
            Prefix::new(
                Ipv4Addr::from((10u32 << 24).wrapping_add(i << 8)).into(),
                24,
            )
            .unwrap()
        })
        .collect()
}

fn encode(prefixes: &[Prefix], paths: u32, peer_as: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let per_path = (prefixes.len() as u32).div_ceil(paths) as usize;
    for (i, chunk) in prefixes.chunks(per_path).enumerate() {
        let a = PathAttrs {
            as_path: AsPath::sequence([peer_as, 100_000 + i as u32, 7]),
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
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

fn peak_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let case = std::env::args().nth(1).unwrap_or_else(|| "shared".into());
    let (peers, per_peer, paths) = match case.as_str() {
        "shared" => (1u32, 1_000_000u32, 1u32),
        "distinct" => (1, 1_000_000, 100_000),
        "peers" => (10, 100_000, 1),
        other => panic!("unknown case {other}"),
    };
    let inputs: Vec<Vec<u8>> = (0..peers)
        .map(|p| encode(&prefixes(p * per_peer, per_peer), paths, 65001 + p))
        .collect();
    let input_mib: f64 = inputs.iter().map(|i| i.len()).sum::<usize>() as f64 / 1048576.0;
    let mut rib = Rib::new(
        RibConfig {
            local_as: 64512,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            max_paths: 1,
            fib: false,
        },
        Box::new(DefaultPolicy),
    );
    let idx: Vec<_> = (0..peers)
        .map(|p| {
            let i = rib.add_peer(
                format!("p{p}"),
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1 + p as u8)),
                65001 + p,
                PeerPolicy::default(),
            );
            rib.peer_up(
                i,
                SessionInfo {
                    four_octet_as: true,
                    families: vec![Family::Ipv4Unicast],
                    local_v4: Some(Ipv4Addr::new(192, 0, 2, 100)),
                    local_v6: None,
                    peer_id: Ipv4Addr::new(10, 1, 0, 1 + p as u8),
                },
            );
            i
        })
        .collect();
    let ctx = DecodeContext {
        four_octet_as: true,
        ebgp: true,
        enforce_first_as: None,
    };
    // Forget the peak of building the input: reset VmHWM to the current RSS (Linux >= 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = peak_rss_kib();
    let t = Instant::now();
    for (p, input) in inputs.iter().enumerate() {
        let mut buf = &input[..];
        while let Ok(Some(f)) = frame(buf) {
            let u = Update::decode(&buf[HEADER_LEN..f.len], &ctx).unwrap();
            rib.apply_update(idx[p], &u).unwrap();
            buf = &buf[f.len..];
        }
    }
    let load = t.elapsed();
    let n = rib.loc_rib_len(Family::Ipv4Unicast);
    println!(
        "case={case} prefixes={n} attr_sets={} load={:.3}s input={input_mib:.1}MiB peak_rss={:.1}MiB (before load {:.1}MiB)",
        rib.attr_sets(),
        load.as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    // Export to every other peer (the 10-peer case sends each peer the other 900k).
    let t = Instant::now();
    let mut bytes = 0usize;
    for &i in &idx {
        loop {
            let out = rib.take_outgoing(i, 1 << 20);
            if out.is_empty() {
                break;
            }
            bytes += out.len();
        }
    }
    println!(
        "export: {:.1} MiB of UPDATEs in {:.3}s, peak_rss={:.1}MiB",
        bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0
    );
}
