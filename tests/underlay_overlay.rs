//! Underlay and overlay never mix (issue 10 §1): routes learned through the tunnels that cover
//! the gateways' own outside addresses take no tunnel down, traffic follows them, and their
//! withdrawal leaves every table as it was. Our `vgw` and `cgw` daemons in namespaces (root).
//!
//! - A customer gateway announces `0.0.0.0/0`: it becomes the VGW's and the VPC's default
//!   through the tunnel, while the VGW's IKE/ESP to the customer gateway (an address the
//!   default covers) keep resolving in the underlay table; withdrawn, no default is left
//!   anywhere (the VGW forwards only the prefixes it knows). A route the VGW did not install
//!   holds its prefix against BGP until it goes.
//! - A CloudHub spoke announces prefixes covering the VGW's outside addresses (`203.0.0.0/8`,
//!   re-advertised to the other customer gateway), the other customer gateway's outside address
//!   (`198.51.0.0/16`, installed by the VGW) and a default (kept out of the other customer
//!   gateway's table by its own default route): every tunnel stays up, traffic to addresses
//!   behind the spoke follows the learned routes, the withdrawal restores.
//!
//! ```text
//!  vpchost -- vpc -- vgw 203.0.113.1-4 -- inet -- 198.51.100.10 cgw1 -- hcgw1 192.168.1.10
//!                                             \-- 192.0.2.20    cgw2 -- hcgw2 192.168.2.10
//!                                                                         (lo 203.0.0.10, 198.51.7.10)
//! ```
//!
//! "Stays up" is watched, not assumed: over a window longer than BGP's hold time plus DPD's
//! detection (fast profile: 3 s and 3 s), every tunnel is polled and must stay UP with its
//! first BGP session.

mod vpn_support;
use vpn_support as support;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use netns::{Netlink, Netns, NetnsDir, Route};
use serde_json::{Value, json};
use support::{Site, VpnLab};
use testkit::wait_for;
use vgw::config::Routing;

/// Longer than the fast profile's BGP hold time (3 s) plus DPD's detection (3 x 1 s).
const STAYS_UP: Duration = Duration::from_secs(7);

fn site(node: &str, asn: u32, lan: &str, outside: &str) -> Site {
    Site {
        node: node.into(),
        asn,
        routing: Routing::Dynamic,
        prefix: lan.parse().unwrap(),
        outside: outside.parse().unwrap(),
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `ip route get DST [from SRC]` in `node`, through our own netlink code.
fn route_get(l: &VpnLab, node: &str, dst: &str, src: Option<&str>) -> Result<Route, String> {
    let ns = Netns::open(&NetnsDir::system(), &l.lab.ns(node)).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let nl = Netlink::open(&ns).map_err(|e| e.to_string())?;
        nl.route_get(ip(dst), src.map(ip))
            .await
            .map_err(|e| e.to_string())
    })
}

/// A control-socket action on a daemon.
fn action(l: &VpnLab, node: &str, kind: &str, args: Value) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = control::Client::connect(&l.socket(node)).await.unwrap();
        let Value::Object(args) = args else {
            panic!("action arguments are an object")
        };
        c.action(kind, args).await.unwrap()
    })
}

/// Shell-free enough for a test: `ip` in a node, failing loudly.
fn ip_cmd(l: &VpnLab, node: &str, args: &[&str]) {
    let mut full = vec!["ip"];
    full.extend_from_slice(args);
    l.lab.exec(node, &full).unwrap();
}

/// `node`'s main-table route to exactly `prefix` satisfies `ok`, within `timeout`.
fn wait_route(l: &VpnLab, what: &str, node: &str, prefix: &str, ok: impl Fn(&str) -> bool) {
    wait_for(
        what,
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            let r = l.route(node, prefix);
            if ok(&r) { Ok(r) } else { Err(r) }
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n--- vgw log ---\n{}", l.log("vgw")));
}

/// Every tunnel of every node in `nodes` stays UP with its first BGP session for `window`.
fn assert_tunnels_stay_up(l: &VpnLab, nodes: &[(&str, usize)], window: Duration) {
    let end = Instant::now() + window;
    while Instant::now() < end {
        for (node, n) in nodes {
            let tunnels = l.show(node, "tunnels").unwrap();
            let tunnels = tunnels.as_array().unwrap();
            assert_eq!(tunnels.len(), *n, "{node}: {tunnels:#?}");
            for t in tunnels {
                let ok = t["status"] == "UP"
                    && t["bgp"]["state"] == "Established"
                    && t["bgp"]["established_count"] == 1;
                assert!(
                    ok,
                    "{node} {}: status {}, BGP {} (established {} times), last down {}\n\
                     --- vgw log ---\n{}\n--- {node} log ---\n{}",
                    t["name"],
                    t["status"],
                    t["bgp"]["state"],
                    t["bgp"]["established_count"],
                    t["bgp"]["last_down"],
                    l.log("vgw"),
                    l.log(node)
                );
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The tunnels' own traffic resolves in the underlay table (200) via the internet router.
fn assert_underlay(l: &VpnLab, node: &str, peer: &str, local: &str, router: &str) {
    let r = route_get(l, node, peer, Some(local)).unwrap();
    assert_eq!(r.table, gateway::underlay::UNDERLAY_TABLE, "{node}: {r}");
    assert!(r.has_next_hop(Some(ip(router)), None), "{node}: {r}");
}

#[test]
fn a_customer_default_route_is_the_vpcs_way_out_and_takes_no_tunnel_down() {
    let mut l = VpnLab::new(
        "ulay-dflt",
        &[site("cgw1", 65001, "192.168.1.0/24", "198.51.100.10")],
    );
    l.cgws[0].advertise = vec![
        "192.168.1.0/24".parse().unwrap(),
        "192.168.99.0/24".parse().unwrap(),
        "0.0.0.0/0".parse().unwrap(),
    ];
    // A host behind the site by an address outside its LAN, reachable from AWS only by the
    // default route.
    ip_cmd(&l, "hcgw1", &["addr", "add", "172.20.0.10/32", "dev", "lo"]);
    ip_cmd(
        &l,
        "cgw1",
        &["route", "add", "172.20.0.10/32", "via", "192.168.1.10"],
    );
    // An operator's route in the VGW for a prefix the customer gateway will announce too.
    ip_cmd(
        &l,
        "vgw",
        &["route", "add", "192.168.99.0/24", "via", "10.255.0.2"],
    );
    l.start();
    l.wait_tunnels_up("vgw", 2, Duration::from_secs(20));
    l.wait_tunnels_up("cgw1", 2, Duration::from_secs(10));

    // The learned default is the VGW's and the VPC's way out, through a tunnel...
    wait_route(
        &l,
        "the VGW's default into a tunnel",
        "vgw",
        "0.0.0.0/0",
        |r| r.contains("dev vpn1t"),
    );
    wait_route(
        &l,
        "the VPC's default to the VGW",
        "vpc",
        "0.0.0.0/0",
        |r| r.contains("via 10.255.0.1"),
    );
    // ... while the VGW's own packets to the customer gateway, which it covers, do not take it.
    assert_underlay(&l, "vgw", "198.51.100.10", "203.0.113.1", "203.0.113.254");
    assert_underlay(&l, "vgw", "198.51.100.10", "203.0.113.2", "203.0.113.254");
    let main = route_get(&l, "vgw", "198.51.100.10", None).unwrap();
    assert!(
        main.has_next_hop(None, Some("vpn1t1")) || main.has_next_hop(None, Some("vpn1t2")),
        "without the rule the tunnel's own packets would go into a tunnel: {main}"
    );
    assert_tunnels_stay_up(&l, &[("vgw", 2), ("cgw1", 2)], STAYS_UP);
    let bps = l.tcp_works("hcgw1", "172.20.0.10", "vpchost").unwrap();
    assert!(bps > 0.0);

    // The operator's route held its prefix against BGP; once it goes, the VGW takes over.
    let routes = l.show("vgw", "routes").unwrap();
    assert_eq!(
        routes["held_by_others"],
        json!(["192.168.99.0/24"]),
        "{routes:#}"
    );
    assert!(
        l.route("vgw", "192.168.99.0/24").contains("via 10.255.0.2"),
        "{}",
        l.route("vgw", "192.168.99.0/24")
    );
    ip_cmd(&l, "vgw", &["route", "del", "192.168.99.0/24"]);
    wait_route(
        &l,
        "the VGW claims 192.168.99.0/24 once the operator's route is gone",
        "vgw",
        "192.168.99.0/24",
        |r| r.contains("dev vpn1t"),
    );

    // Withdrawn: no default anywhere, the tunnels as they were, the LAN still reachable, the
    // address beyond it no longer (the VGW forwards only the prefixes it knows).
    let out = action(&l, "cgw1", "withdraw", json!({"prefixes": ["0.0.0.0/0"]}));
    assert_eq!(out["withdrawn"], 1, "{out}");
    wait_route(
        &l,
        "no default in the VGW",
        "vgw",
        "0.0.0.0/0",
        str::is_empty,
    );
    wait_route(
        &l,
        "no default in the VPC",
        "vpc",
        "0.0.0.0/0",
        str::is_empty,
    );
    assert!(
        route_get(&l, "vgw", "172.20.0.10", None).is_err(),
        "the VGW still has a way to 172.20.0.10"
    );
    assert_underlay(&l, "vgw", "198.51.100.10", "203.0.113.1", "203.0.113.254");
    assert_tunnels_stay_up(&l, &[("vgw", 2), ("cgw1", 2)], Duration::from_secs(1));
    assert!(l.tcp_works("hcgw1", "192.168.1.10", "vpchost").unwrap() > 0.0);
}

#[test]
fn covering_prefixes_from_a_cloudhub_spoke_capture_neither_gateways_tunnels() {
    let mut l = VpnLab::new(
        "ulay-cover",
        &[
            site("cgw1", 65001, "192.168.1.0/24", "198.51.100.10"),
            site("cgw2", 65002, "192.168.2.0/24", "192.0.2.20"),
        ],
    );
    // The spoke announces its LAN, a prefix covering the VGW's outside addresses (203.0.113.1-4),
    // one covering cgw1's outside address, and a default.
    let covering = ["203.0.0.0/8", "198.51.0.0/16", "0.0.0.0/0"];
    l.cgws[1].advertise = std::iter::once("192.168.2.0/24")
        .chain(covering)
        .map(|p| p.parse().unwrap())
        .collect();
    // Hosts behind the spoke at addresses inside the two covering prefixes.
    for a in ["203.0.0.10/32", "198.51.7.10/32"] {
        ip_cmd(&l, "hcgw2", &["addr", "add", a, "dev", "lo"]);
        ip_cmd(&l, "cgw2", &["route", "add", a, "via", "192.168.2.10"]);
    }
    l.start();
    l.wait_tunnels_up("vgw", 4, Duration::from_secs(20));
    l.wait_tunnels_up("cgw1", 2, Duration::from_secs(10));
    l.wait_tunnels_up("cgw2", 2, Duration::from_secs(10));

    // The VGW routes cgw1's outside address into cgw2's tunnels; cgw1 routes the VGW's outside
    // addresses into its own tunnels; cgw1 keeps its own default route to the internet.
    wait_route(
        &l,
        "the VGW's 198.51.0.0/16 via the spoke",
        "vgw",
        "198.51.0.0/16",
        |r| r.contains("dev vpn2t"),
    );
    wait_route(
        &l,
        "cgw1's 203.0.0.0/8 from AWS",
        "cgw1",
        "203.0.0.0/8",
        |r| r.contains("vpn1t") && r.contains("proto bgp"),
    );
    let dflt = l.route("cgw1", "0.0.0.0/0");
    assert!(
        dflt.contains("via 198.51.100.254") && !dflt.contains("vpn1t"),
        "cgw1's own default route was replaced: {dflt}"
    );
    let main = route_get(&l, "vgw", "198.51.100.10", None).unwrap();
    assert!(
        main.has_next_hop(None, Some("vpn2t1")) || main.has_next_hop(None, Some("vpn2t2")),
        "{main}"
    );
    let main = route_get(&l, "cgw1", "203.0.113.1", None).unwrap();
    assert!(
        main.has_next_hop(None, Some("vpn1t1")) || main.has_next_hop(None, Some("vpn1t2")),
        "{main}"
    );
    // Their IKE/ESP do not follow those routes.
    for local in ["203.0.113.1", "203.0.113.2"] {
        assert_underlay(&l, "vgw", "198.51.100.10", local, "203.0.113.254");
    }
    for peer in ["203.0.113.1", "203.0.113.2"] {
        assert_underlay(&l, "cgw1", peer, "198.51.100.10", "198.51.100.254");
    }
    assert_tunnels_stay_up(&l, &[("vgw", 4), ("cgw1", 2), ("cgw2", 2)], STAYS_UP);

    // Traffic follows the learned routes: from cgw1's site through the hub to an address in
    // 203.0.0.0/8 behind the spoke, and from the VPC to one in 198.51.0.0/16.
    assert!(l.tcp_works("hcgw2", "203.0.0.10", "hcgw1").unwrap() > 0.0);
    assert!(l.tcp_works("hcgw2", "198.51.7.10", "vpchost").unwrap() > 0.0);

    // Withdrawn: the routes go, cgw1's default is still its own, every tunnel still up.
    let out = action(&l, "cgw2", "withdraw", json!({ "prefixes": covering }));
    assert_eq!(out["withdrawn"], 3, "{out}");
    wait_route(
        &l,
        "198.51.0.0/16 gone from the VGW",
        "vgw",
        "198.51.0.0/16",
        str::is_empty,
    );
    wait_route(
        &l,
        "203.0.0.0/8 gone from cgw1",
        "cgw1",
        "203.0.0.0/8",
        str::is_empty,
    );
    wait_route(
        &l,
        "no default in the VPC",
        "vpc",
        "0.0.0.0/0",
        str::is_empty,
    );
    let dflt = l.route("cgw1", "0.0.0.0/0");
    assert!(
        dflt.contains("via 198.51.100.254"),
        "cgw1 lost its default: {dflt}"
    );
    assert_tunnels_stay_up(
        &l,
        &[("vgw", 4), ("cgw1", 2), ("cgw2", 2)],
        Duration::from_secs(1),
    );
    assert!(l.tcp_works("hcgw2", "192.168.2.10", "hcgw1").unwrap() > 0.0);
}
