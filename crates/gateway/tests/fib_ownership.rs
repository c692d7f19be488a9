//! `fib::KernelRoutes` never replaces a route it did not install: a foreign route holds its
//! prefix (and survives the gateway's withdrawal) until it goes, then the gateway claims it; a
//! route carrying the gateway's own protocol is an earlier run's and is taken over; after
//! `forget`, a sync puts back what was removed behind its back. In namespaces of their own
//! (needs root).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use gateway::fib::{KernelRoutes, PROTO_GATEWAY, Target};
use ipnet::{IpNet, Ipv4Net};
use netns::route::TABLE_MAIN;
use netns::{LinkId, Netlink, Netns, NetnsDir, Route, VethEnd, VethOptions};

/// Unpins the test's namespaces however the test ends.
struct Cleanup(Vec<&'static str>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = NetnsDir::system().unpin(n);
        }
    }
}

fn p(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn via(gw: &str) -> Target {
    Target::Via(vec![(gw.parse().unwrap(), None)])
}

fn gw(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 84, 0, last))
}

async fn main_routes(nl: &Netlink, prefix: &str) -> Vec<Route> {
    nl.routes_to(IpNet::V4(p(prefix)), Some(TABLE_MAIN))
        .await
        .unwrap()
}

/// The one route to `prefix` in main, which goes via `gateway`.
async fn assert_only_via(nl: &Netlink, prefix: &str, gateway: IpAddr) -> Route {
    let routes = main_routes(nl, prefix).await;
    assert!(
        routes.len() == 1 && routes[0].has_next_hop(Some(gateway), None),
        "{prefix}: {routes:#?}"
    );
    routes.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_routes_hold_their_prefix_and_an_earlier_runs_are_taken_over() {
    let names = ["hl-fibown-a", "hl-fibown-b"];
    let _cleanup = Cleanup(names.to_vec());
    let dir = NetnsDir::system();
    let a = Netns::create(&dir, names[0]).unwrap();
    let b = Netns::create(&dir, names[1]).unwrap();
    let nl = Netlink::open(&a).unwrap();
    nl.add_veth(
        VethEnd { ns: &a, name: "ab" },
        VethEnd { ns: &b, name: "ba" },
        VethOptions {
            mtu: None,
            up: false,
        },
    )
    .await
    .unwrap();
    nl.set_link_up(LinkId::Name("ab"), true).await.unwrap();
    nl.add_address(LinkId::Name("ab"), "10.84.0.1/24".parse().unwrap())
        .await
        .unwrap();
    // The operator's default route, and a route an earlier run of the gateway left.
    let operators = Route::new("0.0.0.0/0".parse().unwrap()).via(gw(254));
    nl.add_route(&operators).await.unwrap();
    nl.add_route(
        &Route::new("10.9.0.0/16".parse().unwrap())
            .via(gw(9))
            .protocol(PROTO_GATEWAY),
    )
    .await
    .unwrap();

    let mut fib = KernelRoutes::new(nl.clone(), TABLE_MAIN, PROTO_GATEWAY);
    let wanted: BTreeMap<Ipv4Net, Target> = [
        (p("0.0.0.0/0"), via("10.84.0.2")),
        (p("10.9.0.0/16"), via("10.84.0.3")),
        (p("10.1.0.0/16"), via("10.84.0.2")),
    ]
    .into();
    let stats = fib.sync(&wanted).await;
    assert_eq!(
        (stats.replaced, stats.held, stats.failed),
        (2, 1, 0),
        "{stats:?}"
    );
    assert_eq!(
        fib.held().iter().copied().collect::<Vec<_>>(),
        [p("0.0.0.0/0")]
    );
    assert_only_via(&nl, "0.0.0.0/0", gw(254)).await;
    assert_only_via(&nl, "10.9.0.0/16", gw(3)).await;
    assert_only_via(&nl, "10.1.0.0/16", gw(2)).await;

    // Held prefixes are tried again at every sync, and stay held while the route is there.
    let stats = fib.sync(&wanted).await;
    assert_eq!((stats.replaced, stats.held), (0, 1), "{stats:?}");

    // Withdrawn: ours go, the operator's default stays.
    let stats = fib.clear().await;
    assert_eq!(stats.removed, 2, "{stats:?}");
    assert!(fib.held().is_empty());
    assert!(main_routes(&nl, "10.1.0.0/16").await.is_empty());
    assert!(main_routes(&nl, "10.9.0.0/16").await.is_empty());
    assert_only_via(&nl, "0.0.0.0/0", gw(254)).await;

    // Once the operator's route is gone, the prefix is the gateway's.
    fib.sync(&wanted).await;
    assert_eq!(fib.held().len(), 1);
    nl.del_route(&operators).await.unwrap();
    let stats = fib.sync(&wanted).await;
    assert_eq!((stats.replaced, stats.held), (1, 0), "{stats:?}");
    let dflt = assert_only_via(&nl, "0.0.0.0/0", gw(2)).await;
    assert_eq!(dflt.protocol, PROTO_GATEWAY);
}

/// After `forget`, a sync puts back what was removed behind the instance's back (a link set
/// down flushes the routes through it) and takes over in place what is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_then_sync_puts_back_what_went_behind_our_back() {
    let names = ["hl-hxfibfgt-a", "hl-hxfibfgt-b"];
    let _cleanup = Cleanup(names.to_vec());
    let dir = NetnsDir::system();
    let a = Netns::create(&dir, names[0]).unwrap();
    let b = Netns::create(&dir, names[1]).unwrap();
    let nl = Netlink::open(&a).unwrap();
    nl.add_veth(
        VethEnd { ns: &a, name: "ab" },
        VethEnd { ns: &b, name: "ba" },
        VethOptions {
            mtu: None,
            up: false,
        },
    )
    .await
    .unwrap();
    nl.set_link_up(LinkId::Name("ab"), true).await.unwrap();
    nl.add_address(LinkId::Name("ab"), "10.84.0.1/24".parse().unwrap())
        .await
        .unwrap();
    let mut fib = KernelRoutes::new(nl.clone(), TABLE_MAIN, PROTO_GATEWAY);
    let wanted: BTreeMap<Ipv4Net, Target> = [
        (p("10.1.0.0/16"), via("10.84.0.2")),
        (p("10.2.0.0/16"), via("10.84.0.3")),
    ]
    .into();
    assert_eq!(fib.sync(&wanted).await.replaced, 2);
    // One goes behind its back: a plain sync trusts its bookkeeping and does nothing.
    nl.del_route(
        &Route::new("10.1.0.0/16".parse().unwrap())
            .via(gw(2))
            .protocol(PROTO_GATEWAY),
    )
    .await
    .unwrap();
    assert_eq!(fib.sync(&wanted).await.replaced, 0);
    assert!(main_routes(&nl, "10.1.0.0/16").await.is_empty());
    // After forget: the missing one is added, the present one taken over, nothing held.
    fib.forget();
    let stats = fib.sync(&wanted).await;
    assert_eq!(
        (stats.replaced, stats.held, stats.failed),
        (2, 0, 0),
        "{stats:?}"
    );
    assert_only_via(&nl, "10.1.0.0/16", gw(2)).await;
    assert_only_via(&nl, "10.2.0.0/16", gw(3)).await;
    assert_eq!(fib.clear().await.removed, 2);
}
