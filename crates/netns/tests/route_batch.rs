//! `route_batch` against the real kernel, in a scratch namespace (needs root): many requests per
//! write, and every refusal still lands on the route it belongs to.
//!
//! ```text
//!   hl-routebatch:  rb0 198.18.0.1/24 (veth, peer rb1 in the same namespace)
//!                   table 254: 10.x.y.0/24 via 198.18.0.2 (protocol bgp), written in batches
//! ```

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use netns::route::{Family, TABLE_MAIN};
use netns::route_batch::{MAX_PER_WRITE, PROTO_BGP, RouteBatcher, RouteSpec};
use netns::{LinkId, Netlink, Netns, NetnsDir, VethEnd, VethOptions};

const NS: &str = "hl-routebatch";

/// Unpins the namespace however the test ends.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = NetnsDir::system().unpin(NS);
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn spec(i: u32, gateways: &[&str]) -> RouteSpec {
    RouteSpec {
        dst: IpAddr::from(((10u32 << 24) + (i << 8)).to_be_bytes()),
        len: 24,
        gateways: gateways.iter().map(|g| ip(g)).collect(),
        table: TABLE_MAIN,
        protocol: PROTO_BGP,
    }
}

async fn ours(nl: &Netlink) -> BTreeSet<IpNet> {
    nl.routes(Some(Family::V4), Some(TABLE_MAIN))
        .await
        .expect("list routes")
        .into_iter()
        .filter(|r| r.protocol == PROTO_BGP)
        .map(|r| r.dst)
        .collect()
}

fn nets(specs: &[RouteSpec]) -> BTreeSet<IpNet> {
    specs
        .iter()
        .map(|s| IpNet::new(s.dst, s.len).expect("prefix"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_install_replace_delete_and_place_each_refusal() {
    let _cleanup = Cleanup;
    let _ = NetnsDir::system().unpin(NS);
    let ns = Netns::create(&NetnsDir::system(), NS).expect("create namespace");
    let nl = Netlink::open(&ns).expect("netlink");
    nl.add_veth(
        VethEnd {
            ns: &ns,
            name: "rb0",
        },
        VethEnd {
            ns: &ns,
            name: "rb1",
        },
        VethOptions {
            mtu: None,
            up: false,
        },
    )
    .await
    .expect("veth");
    for link in ["rb0", "rb1"] {
        nl.set_link_up(LinkId::Name(link), true)
            .await
            .expect("link up");
    }
    nl.add_address(LinkId::Name("rb0"), "198.18.0.1/24".parse().expect("net"))
        .await
        .expect("address");
    let batcher = ns
        .run(RouteBatcher::new)
        .expect("enter namespace")
        .expect("route socket");

    // 1,000 routes, 4 writes (the last one short).
    let n = 1000;
    let routes: Vec<RouteSpec> = (0..n).map(|i| spec(i, &["198.18.0.2"])).collect();
    let failed = batcher.add(routes.clone(), 256).await;
    assert!(failed.is_empty(), "{:?}", &failed[..failed.len().min(3)]);
    assert_eq!(ours(&nl).await, nets(&routes));

    // Adding them again: every request refused with EEXIST, each refusal on its own route.
    let failed = batcher.add(routes.clone(), 10_000).await;
    assert_eq!(failed.len(), n as usize);
    assert!(failed.iter().all(|e| e.is_exists() && e.op == "add"));
    let refused: BTreeSet<IpNet> = failed
        .iter()
        .map(|e| IpNet::new(e.dst, e.len).expect("prefix"))
        .collect();
    assert_eq!(refused, nets(&routes));

    // Refusals in the middle of a write: every seventh route has an off-link gateway.
    let mixed: Vec<RouteSpec> = (n..n + 3 * MAX_PER_WRITE as u32)
        .map(|i| {
            spec(
                i,
                &[if i % 7 == 0 {
                    "203.0.113.1"
                } else {
                    "198.18.0.2"
                }],
            )
        })
        .collect();
    let failed = batcher.add(mixed.clone(), MAX_PER_WRITE).await;
    let bad: Vec<RouteSpec> = mixed
        .iter()
        .filter(|s| s.gateways == [ip("203.0.113.1")])
        .cloned()
        .collect();
    let refused: BTreeSet<IpNet> = failed
        .iter()
        .map(|e| IpNet::new(e.dst, e.len).expect("prefix"))
        .collect();
    assert_eq!(refused, nets(&bad), "{:?}", &failed[..failed.len().min(3)]);
    assert!(
        failed.iter().all(|e| e.errno == Some(libc::ENETUNREACH)),
        "{:?}",
        failed[0]
    );
    let good: Vec<RouteSpec> = mixed.iter().filter(|s| !bad.contains(s)).cloned().collect();
    let mut all = routes.clone();
    all.extend(good.iter().cloned());
    assert_eq!(ours(&nl).await, nets(&all));

    // Replace takes our routes to two next hops (multipath).
    let both: Vec<RouteSpec> = routes
        .iter()
        .map(|s| RouteSpec {
            gateways: vec![ip("198.18.0.2"), ip("198.18.0.3")],
            ..s.clone()
        })
        .collect();
    let failed = batcher.replace(both, 128).await;
    assert!(failed.is_empty(), "{:?}", &failed[..failed.len().min(3)]);
    let multipath = nl
        .routes(Some(Family::V4), Some(TABLE_MAIN))
        .await
        .expect("list routes")
        .into_iter()
        .filter(|r| r.protocol == PROTO_BGP && r.gateways().len() == 2)
        .count();
    assert_eq!(multipath, n as usize);

    // Delete everything; deleting again is not an error (already gone).
    let failed = batcher.delete(all.clone(), 256).await;
    assert!(failed.is_empty(), "{:?}", &failed[..failed.len().min(3)]);
    assert!(ours(&nl).await.is_empty());
    let failed = batcher.delete(all, 256).await;
    assert!(failed.is_empty(), "{:?}", &failed[..failed.len().min(3)]);
}
