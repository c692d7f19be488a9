//! Every kind of object the crate creates, read back through netlink, and gone once the lab is
//! dropped: two namespaces, two veth pairs (one a bridge port), a bridge, a TUN device, IPv4 and
//! IPv6 addresses, routes (own table and metric, ECMP with weights, IPv6, device-only,
//! blackhole). Needs root.
//!
//! "Gone" is the kernel's word, not ours: each namespace gets a namespace id in the test's own
//! namespace, and the test waits (with a deadline) for the kernel to announce that it destroyed
//! them, with every link, address and route inside (see `support/nsid.rs`).

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use netns::lab::{Lab, LabConfig};
use netns::link::is_bridge;
use netns::route::{Family, TABLE_MAIN};
use netns::{
    Link, LinkId, Netlink, NetnsDir, NextHop, Route, RouteKind, Scope, TunOptions, VethEnd,
    VethOptions, create_tun,
};
use testkit::poll::wait_for_async;

#[allow(dead_code)]
#[path = "support/nsid.rs"]
mod nsid;

fn net(s: &str) -> IpNet {
    s.parse().expect("prefix")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

async fn link(nl: &Netlink, name: &str) -> Link {
    nl.link(LinkId::Name(name)).await.expect("reading link")
}

fn find<'a>(routes: &'a [Route], dst: &str) -> &'a Route {
    routes
        .iter()
        .find(|r| r.dst == net(dst))
        .unwrap_or_else(|| panic!("no route to {dst} in {routes:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_read_back_and_vanish_with_the_lab() {
    let state = tempfile::tempdir().expect("state directory");
    let config = LabConfig::with_state_root(state.path());
    let watch = nsid::NsidWatch::start();
    let mut lab = Lab::create_with("objtest", &config).expect("creating lab");
    let lab_dir = lab.dir().to_path_buf();
    lab.add_nodes(&["a", "b"]).expect("creating namespaces");
    let (a, b) = (lab.node("a").expect("a"), lab.node("b").expect("b"));
    assert_eq!(a.name(), "hl-objtest-a");
    let nla = Netlink::open(a).expect("netlink in a");
    let nlb = Netlink::open(b).expect("netlink in b");

    // Namespaces: pinned where `ip netns` looks, `lo` up (Lab::add_nodes does it).
    assert_eq!(
        NetnsDir::system()
            .list("hl-objtest-")
            .expect("listing pins"),
        ["hl-objtest-a", "hl-objtest-b"]
    );
    assert!(link(&nla, "lo").await.up && link(&nlb, "lo").await.up);

    // A veth pair with an MTU, both ends up from the one call (the kernel refuses `up` for the
    // peer in the creating request; the crate brings it up right after).
    let both_up = VethOptions {
        mtu: Some(1400),
        up: true,
    };
    nla.add_veth(
        VethEnd { ns: a, name: "ab" },
        VethEnd { ns: b, name: "ba" },
        both_up,
    )
    .await
    .expect("veth ab<->ba");
    // A bridge in a, with the a end of a second pair as its port.
    let br = nla.add_bridge("br0", true).await.expect("bridge");
    nla.add_veth(
        VethEnd { ns: a, name: "ab2" },
        VethEnd { ns: b, name: "ba2" },
        VethOptions {
            mtu: None,
            up: true,
        },
    )
    .await
    .expect("veth ab2<->ba2");
    nla.set_master(LinkId::Name("ab2"), Some(LinkId::Index(br)))
        .await
        .expect("bridge port");
    // A TUN device in b.
    let tun = create_tun(b, &TunOptions::new("tun0")).expect("TUN");
    nlb.set_link_up(LinkId::Index(tun.ifindex()), true)
        .await
        .expect("tun0 up");

    for (nl, dev, addr) in [
        (&nla, "ab", "10.90.0.1/24"),
        (&nla, "ab", "2001:db8:90::1/64"),
        (&nlb, "ba", "10.90.0.2/24"),
        (&nlb, "ba", "2001:db8:90::2/64"),
        (&nla, "br0", "10.92.0.1/24"),
        (&nlb, "ba2", "10.92.0.2/24"),
        (&nlb, "tun0", "10.93.0.1/24"),
        (&nlb, "tun0", "2001:db8:93::1/64"),
    ] {
        nl.add_address(LinkId::Name(dev), net(addr))
            .await
            .unwrap_or_else(|e| panic!("{addr} on {dev}: {e}"));
    }

    // Links read back. Carrier comes with both ends up; poll for it with a deadline.
    let (ab, ba) = wait_for_async(
        "ab and ba up with carrier",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || async {
            let (ab, ba) = (link(&nla, "ab").await, link(&nlb, "ba").await);
            if ab.up && ab.lower_up && ba.up && ba.lower_up {
                Ok((ab, ba))
            } else {
                Err((ab, ba))
            }
        },
    )
    .await
    .expect("veth carrier");
    assert_eq!(ab.kind.as_deref(), Some("veth"));
    assert_eq!((ab.mtu, ba.mtu), (1400, 1400));
    assert_eq!(ab.peer_index, Some(ba.index), "ab's peer is ba");
    assert_eq!(ba.peer_index, Some(ab.index), "ba's peer is ab");
    let br0 = link(&nla, "br0").await;
    assert!(is_bridge(&br0) && br0.up && br0.index == br, "{br0:?}");
    let ab2 = link(&nla, "ab2").await;
    assert_eq!(ab2.master, Some(br), "ab2 is a port of br0");
    assert!(link(&nlb, "ba2").await.up, "ba2 up");
    let tun0 = link(&nlb, "tun0").await;
    assert_eq!(tun0.kind.as_deref(), Some("tun"));
    assert_eq!(tun0.index, tun.ifindex());
    assert!(tun0.up);
    let names = |links: Vec<Link>| {
        let mut n: Vec<String> = links.into_iter().map(|l| l.name).collect();
        n.sort();
        n
    };
    assert_eq!(
        names(nla.links().await.expect("links of a")),
        ["ab", "ab2", "br0", "lo"]
    );
    assert_eq!(
        names(nlb.links().await.expect("links of b")),
        ["ba", "ba2", "lo", "tun0"]
    );

    // Addresses read back, IPv6 usable at once (no duplicate address detection).
    let on_ab = nla
        .addresses(Some(LinkId::Name("ab")))
        .await
        .expect("addresses of ab");
    for want in ["10.90.0.1/24", "2001:db8:90::1/64"] {
        let got = on_ab
            .iter()
            .find(|x| x.net == net(want))
            .unwrap_or_else(|| panic!("{want} not on ab: {on_ab:?}"));
        assert!(!got.tentative && got.index == ab.index, "{got:?}");
    }
    assert!(on_ab.iter().all(|x| x.index == ab.index));
    assert!(
        nlb.has_address(ip("10.93.0.1"))
            .await
            .expect("addresses of b")
    );
    assert!(
        !nla.has_address(ip("10.93.0.1"))
            .await
            .expect("addresses of a")
    );

    // Routes: own table and metric; ECMP with weights over two links; IPv6; blackhole; a
    // device-only route out of the TUN.
    for route in [
        Route::new(net("10.100.0.0/16"))
            .via(ip("10.90.0.2"))
            .table(100)
            .metric(50),
        Route::new(net("10.200.0.0/16"))
            .next_hop(NextHop::via_dev(ip("10.90.0.2"), "ab"))
            .next_hop(NextHop::via_dev(ip("10.92.0.2"), "br0").weight(3)),
        Route::new(net("2001:db8:200::/48")).via(ip("2001:db8:90::2")),
        Route::new(net("10.250.0.0/16")).kind(RouteKind::Blackhole),
    ] {
        nla.add_route(&route)
            .await
            .unwrap_or_else(|e| panic!("adding {route:?}: {e}"));
    }
    nlb.add_route(&Route::new(net("10.94.0.0/16")).dev("tun0"))
        .await
        .expect("route out of tun0");

    let t100 = nla
        .routes(Some(Family::V4), Some(100))
        .await
        .expect("table 100");
    let r = find(&t100, "10.100.0.0/16");
    assert_eq!((r.table, r.metric), (100, Some(50)));
    assert!(r.has_next_hop(Some(ip("10.90.0.2")), Some("ab")), "{r:?}");
    let main = nla
        .routes(None, Some(TABLE_MAIN))
        .await
        .expect("main table");
    assert!(
        !main.iter().any(|r| r.dst == net("10.100.0.0/16")),
        "the table-100 route leaked into main"
    );
    let ecmp = find(&main, "10.200.0.0/16");
    let mut hops: Vec<(Option<IpAddr>, Option<&str>, u16)> = ecmp
        .next_hops
        .iter()
        .map(|h| (h.gateway, h.ifname.as_deref(), h.weight))
        .collect();
    hops.sort();
    assert_eq!(
        hops,
        [
            (Some(ip("10.90.0.2")), Some("ab"), 1),
            (Some(ip("10.92.0.2")), Some("br0"), 3)
        ]
    );
    let v6 = find(&main, "2001:db8:200::/48");
    assert_eq!(v6.gateways(), [ip("2001:db8:90::2")]);
    let bh = find(&main, "10.250.0.0/16");
    assert_eq!(bh.kind, RouteKind::Blackhole);
    assert!(bh.next_hops.is_empty());
    let b_main = nlb
        .routes(Some(Family::V4), Some(TABLE_MAIN))
        .await
        .expect("main table of b");
    let dev = find(&b_main, "10.94.0.0/16");
    assert!(dev.has_next_hop(None, Some("tun0")), "{dev:?}");
    assert_eq!(dev.scope, Some(Scope::Link));

    // Gone: drop the lab (RAII teardown). The TUN descriptor and the netlink sockets hold their
    // namespaces too; they go first.
    let ids = watch.assign_all(&[a, b]).await;
    drop((tun, nla, nlb));
    drop(lab);
    assert!(
        NetnsDir::system()
            .list("hl-objtest-")
            .expect("listing pins")
            .is_empty(),
        "pins left behind"
    );
    assert!(!lab_dir.exists(), "lab state left in {}", lab_dir.display());
    watch.wait_deleted(ids, Duration::from_secs(30)).await;
}
