//! Driver unit tests that need the RIB task's insides. The kernel installer is the channel the
//! RIB task hands it chunks on, read here by the test: no netlink, no root, no sockets (the one
//! neighbor is passive and never connects).
//!
//! What they do not cover: netlink itself, or keepalives during a real install (see
//! `tests/kernel_install.rs`).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use super::*;
use crate::rib::DefaultPolicy;
use crate::wire::attrs::{EncodeContext, encode_attrs};
use crate::wire::update::pack_announce;
use crate::wire::{AsPath, NextHop};
use rib_task::FIB_CHUNK;

const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const PEER_AS: u32 = 65001;

/// A RIB task whose kernel installer is `fib`, with one neighbor (`peer`) marked Established.
struct Harness {
    api: mpsc::Sender<ApiCmd>,
    to_core: mpsc::Sender<FromSession>,
    fib: mpsc::Receiver<Vec<FibChange>>,
    peer: PeerIdx,
    // Kept open: the core writes End-of-RIB and exports here.
    _data: mpsc::Receiver<Vec<u8>>,
}

async fn start_core() -> Harness {
    let mut cfg = SpeakerConfig::new(64512, Ipv4Addr::new(192, 0, 2, 2));
    cfg.listen = Vec::new();
    cfg.kernel = Some(KernelConfig { table: 254 });
    let rib = Rib::new(
        RibConfig {
            local_as: cfg.asn,
            router_id: cfg.router_id,
            max_paths: 1,
            fib: true,
        },
        Box::new(DefaultPolicy),
    );
    let (fib_tx, fib) = mpsc::channel(kernel::QUEUE);
    let (from_sessions_tx, from_sessions) = mpsc::channel(32);
    let (api, api_rx) = mpsc::channel(16);
    let mut core = Core {
        cfg,
        rib,
        neighbors: HashMap::new(),
        by_addr: HashMap::new(),
        routes: Default::default(),
        events: broadcast::channel(16).0,
        from_sessions_tx: from_sessions_tx.clone(),
        kernel: Some((fib_tx, Arc::new(AtomicU64::new(0)))),
        listeners: Vec::new(),
    };
    let mut n = NeighborConfig::new(PEER.into(), PEER_AS);
    n.passive = true;
    core.add_neighbor(n).expect("neighbor");
    let peer = core.by_addr[&IpAddr::from(PEER)];
    tokio::spawn(core.run(api_rx, from_sessions));

    let (data, data_rx) = mpsc::channel(64);
    let negotiated = Negotiated {
        conn: 1,
        peer_as: PEER_AS,
        peer_id: PEER,
        hold_time: 90,
        keepalive: 30,
        four_octet_as: true,
        families: vec![Family::Ipv4Unicast],
        route_refresh: true,
        peer_graceful_restart: None,
        ebgp: true,
    };
    from_sessions_tx
        .send(FromSession::Up {
            peer,
            negotiated,
            local: SocketAddr::from((Ipv4Addr::new(192, 0, 2, 2), 179)),
            data,
        })
        .await
        .expect("core running");
    Harness {
        api,
        to_core: from_sessions_tx,
        fib,
        peer,
        _data: data_rx,
    }
}

/// UPDATE messages announcing `n` /24s from 10.0.0.0 with one path via `PEER`.
fn updates(n: u32) -> Vec<u8> {
    let prefixes: Vec<Prefix> = (0..n)
        .map(|i| Prefix::new(Ipv4Addr::from((10u32 << 24) + (i << 8)).into(), 24).expect("/24"))
        .collect();
    let attrs = PathAttrs {
        as_path: AsPath::sequence([PEER_AS]),
        next_hop: NextHop::V4(PEER),
        ..Default::default()
    };
    let mut ab = Vec::new();
    let ctx = EncodeContext {
        four_octet_as: true,
        ibgp: false,
    };
    encode_attrs(&mut ab, &attrs, &ctx, true);
    let mut out = Vec::new();
    let mut done = 0;
    while done < prefixes.len() {
        done += pack_announce(
            &mut out,
            Family::Ipv4Unicast,
            &ab,
            &attrs.next_hop,
            &prefixes[done..],
        );
    }
    out
}

/// Once the last UPDATE is in, nothing else happens: no poll, no session message, no timer.
/// Every route must still reach the installer, chunk after chunk, as fast as it takes them.
/// Before the fix the RIB task filled the installer's queue (then two chunks) and then waited
/// for an outside event that never came.
#[tokio::test]
async fn kernel_install_drains_with_no_outside_event() {
    let mut h = start_core().await;
    let n: u32 = 200_000;
    let chunks = (n as usize).div_ceil(FIB_CHUNK) as u32;
    assert!(
        chunks > 10 * kernel::QUEUE as u32,
        "enough chunks to tell a stall"
    );
    // One message, so the RIB task runs once for all of it: after this, silence.
    h.to_core
        .send(FromSession::Updates {
            peer: h.peer,
            conn: 1,
            bytes: updates(n).into(),
        })
        .await
        .expect("core running");

    // This installer takes a chunk the moment it has finished the previous one. A chunk costs
    // the RIB task well under a millisecond; 50 ms each plus 2 s is room for a loaded machine.
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(2) + Duration::from_millis(50) * chunks;
    let mut seen = HashSet::new();
    let mut got_chunks = 0u32;
    while seen.len() < n as usize {
        match tokio::time::timeout_at(deadline, h.fib.recv()).await {
            Ok(Some(c)) => {
                got_chunks += 1;
                assert!(c.len() <= FIB_CHUNK, "chunk of {}", c.len());
                for ch in c {
                    let FibChange::Replace { prefix, .. } = ch else {
                        panic!("unexpected {ch:?}");
                    };
                    assert!(seen.insert(prefix), "{prefix} handed over twice");
                }
            }
            Ok(None) => panic!("the RIB task dropped the installer's queue"),
            Err(_) => panic!(
                "{} of {n} routes ({got_chunks} of {chunks} chunks) reached the installer \
                 within {:?} of the last UPDATE",
                seen.len(),
                Duration::from_secs(2) + Duration::from_millis(50) * chunks
            ),
        }
    }
    assert_eq!(got_chunks, chunks);
}

/// An installer that has gone away does not keep the RIB task busy or stuck: it still answers.
#[tokio::test]
async fn stopped_installer_leaves_the_rib_task_answering() {
    let mut h = start_core().await;
    h.to_core
        .send(FromSession::Updates {
            peer: h.peer,
            conn: 1,
            bytes: updates(50_000).into(),
        })
        .await
        .expect("core running");
    let first = h.fib.recv().await.expect("a first chunk");
    assert!(!first.is_empty());
    drop(h.fib);
    let (tx, rx) = oneshot::channel();
    h.api.send(ApiCmd::Summary(tx)).await.expect("core running");
    let s = tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .expect("summary within 5 s")
        .expect("answered");
    assert_eq!(s.ipv4_routes, 50_000);
}
