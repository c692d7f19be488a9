//! Micro-benchmarks: UPDATE decoding alone, and decoding plus RIB insertion, for 100k /24s with
//! one shared path and with 10k distinct AS_PATHs. `cargo bench -p bgp --bench rib`.
//! (The 1M-prefix figures with peak RSS come from `examples/rib_load.rs`, see the README.)

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use bgp::rib::{DefaultPolicy, PeerPolicy, Rib, RibConfig, SessionInfo};
use bgp::wire::attrs::{EncodeContext, encode_attrs};
use bgp::wire::update::pack_announce;
use bgp::wire::{
    AsPath, DecodeContext, Family, HEADER_LEN, NextHop, PathAttrs, Prefix, Update, frame,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const N: u32 = 100_000;

fn input(paths: u32) -> Vec<u8> {
    let prefixes: Vec<Prefix> = (0..N)
        .map(|i| Prefix::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap())
        .collect();
    let mut out = Vec::new();
    for (i, chunk) in prefixes.chunks((N / paths) as usize).enumerate() {
        let a = PathAttrs {
            as_path: AsPath::sequence([65001, 100_000 + i as u32]),
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

const CTX: DecodeContext = DecodeContext {
    four_octet_as: true,
    ebgp: true,
    enforce_first_as: None,
};

fn decode_only(buf: &[u8]) -> usize {
    let mut n = 0;
    let mut b = buf;
    while let Ok(Some(f)) = frame(b) {
        let u = Update::decode(&b[HEADER_LEN..f.len], &CTX).unwrap();
        n += u.announced_v4().count();
        b = &b[f.len..];
    }
    n
}

fn load(buf: &[u8]) -> usize {
    let mut rib = Rib::new(
        RibConfig {
            local_as: 64512,
            router_id: Ipv4Addr::new(10, 0, 0, 1),
            max_paths: 1,
            fib: false,
        },
        Box::new(DefaultPolicy),
    );
    let p = rib.add_peer(
        "t".into(),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        65001,
        PeerPolicy::default(),
    );
    rib.peer_up(
        p,
        SessionInfo {
            four_octet_as: true,
            families: vec![Family::Ipv4Unicast],
            local_v4: None,
            local_v6: None,
            peer_id: Ipv4Addr::new(1, 1, 1, 1),
        },
    );
    let mut b = buf;
    while let Ok(Some(f)) = frame(b) {
        let u = Update::decode(&b[HEADER_LEN..f.len], &CTX).unwrap();
        rib.apply_update(p, &u).unwrap();
        b = &b[f.len..];
    }
    rib.loc_rib_len(Family::Ipv4Unicast)
}

fn benches(c: &mut Criterion) {
    let shared = input(1);
    let distinct = input(10_000);
    let mut g = c.benchmark_group("100k_prefixes");
    g.throughput(Throughput::Elements(u64::from(N)));
    g.sample_size(20);
    g.bench_function("decode_shared_path", |b| {
        b.iter(|| decode_only(black_box(&shared)))
    });
    g.bench_function("rib_load_shared_path", |b| {
        b.iter(|| load(black_box(&shared)))
    });
    g.bench_function("rib_load_10k_as_paths", |b| {
        b.iter(|| load(black_box(&distinct)))
    });
    g.finish();
}

criterion_group!(rib, benches);
criterion_main!(rib);
