//! Policy rules steer real lookups and real traffic: a source rule sends a bound socket's
//! datagrams through its own table past a main-table blackhole, a rule whose table has no
//! route falls through to main, and deleting the rule brings the blackhole back (needs root).
//!
//! ```text
//!   a: lo 192.0.2.1/32, 192.0.2.2/32     ab 10.83.0.1/30 ---- ba 10.83.0.2/30   b: lo 198.51.100.7/32
//!      main       blackhole 198.51.100.0/24
//!      table 200  198.51.100.0/24 via 10.83.0.2
//!      1000: from 192.0.2.1 lookup 200    1001: from 192.0.2.2 lookup 300 (empty)
//! ```

use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use netns::route::{Family, TABLE_LOCAL, TABLE_MAIN};
use netns::rule::Action;
use netns::{LinkId, Netlink, Netns, NetnsDir, Route, RouteKind, Rule, VethEnd, VethOptions};

/// Unpins the test's namespaces however the test ends.
struct Cleanup(Vec<&'static str>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = NetnsDir::system().unpin(n);
        }
    }
}

fn net(s: &str) -> IpNet {
    s.parse().expect("prefix")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn udp_in(ns: &Netns, addr: &str) -> UdpSocket {
    let addr = addr.to_string();
    let s = ns
        .run(move || UdpSocket::bind(addr))
        .expect("enter namespace")
        .expect("bind");
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    s
}

/// Sends one datagram; true if it arrived within the read timeout, false if it was refused by
/// the sender's route or did not arrive.
fn delivered(tx: &UdpSocket, rx: &UdpSocket, to: &str, tag: u8) -> bool {
    if tx.send_to(&[tag], to).is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    loop {
        match rx.recv(&mut buf) {
            Ok(1) if buf[0] == tag => return true,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_rules_steer_lookups_and_traffic_into_their_table() {
    let names = ["hl-rules-a", "hl-rules-b"];
    let _cleanup = Cleanup(names.to_vec());
    let dir = NetnsDir::system();
    let a = Netns::create(&dir, names[0]).expect("create a");
    let b = Netns::create(&dir, names[1]).expect("create b");
    let nla = Netlink::open(&a).expect("netlink a");
    let nlb = Netlink::open(&b).expect("netlink b");
    nla.add_veth(
        VethEnd { ns: &a, name: "ab" },
        VethEnd { ns: &b, name: "ba" },
        VethOptions {
            mtu: None,
            up: false,
        },
    )
    .await
    .expect("veth");
    for (nl, link, addrs) in [
        (&nla, "ab", &["10.83.0.1/30"][..]),
        (&nla, "lo", &["192.0.2.1/32", "192.0.2.2/32"][..]),
        (&nlb, "ba", &["10.83.0.2/30"][..]),
        (&nlb, "lo", &["198.51.100.7/32"][..]),
    ] {
        nl.set_link_up(LinkId::Name(link), true)
            .await
            .expect("link up");
        for a in addrs {
            nl.add_address(LinkId::Name(link), net(a))
                .await
                .expect("address");
        }
    }
    nla.add_route(&Route::new(net("198.51.100.0/24")).kind(RouteKind::Blackhole))
        .await
        .expect("main blackhole");
    nla.add_route(
        &Route::new(net("198.51.100.0/24"))
            .table(200)
            .via(ip("10.83.0.2")),
    )
    .await
    .expect("table 200 route");

    // Without a rule the source address changes nothing: main's blackhole answers.
    let refused = nla
        .route_get(ip("198.51.100.7"), Some(ip("192.0.2.1")))
        .await
        .expect_err("a blackhole is no route to send on");
    assert_eq!(refused.errno(), Some(libc::EINVAL), "{refused}");

    let rule = Rule::lookup(200).from(net("192.0.2.1/32")).priority(1000);
    nla.add_rule(&rule).await.expect("add rule");
    let again = nla.add_rule(&rule).await.expect_err("duplicate rule");
    assert!(again.is_exists(), "{again}");
    let empty = Rule::lookup(300).from(net("192.0.2.2/32")).priority(1001);
    nla.add_rule(&empty)
        .await
        .expect("add rule to an empty table");

    // Listed in the order the kernel walks them, between its own three.
    let rules = nla.rules(Some(Family::V4)).await.expect("rules");
    let walk: Vec<(Option<u32>, Action)> = rules.iter().map(|r| (r.priority, r.action)).collect();
    assert_eq!(
        walk,
        vec![
            (Some(0), Action::Lookup(TABLE_LOCAL)),
            (Some(1000), Action::Lookup(200)),
            (Some(1001), Action::Lookup(300)),
            (Some(32766), Action::Lookup(TABLE_MAIN)),
            (Some(32767), Action::Lookup(253)),
        ],
        "{rules:#?}"
    );
    assert_eq!(rules[1], rule);
    assert_eq!(
        rules[1].to_string(),
        "1000: from 192.0.2.1 lookup 200 proto static"
    );

    // The rule's table answers for its source only; a table without a route falls through.
    let hit = nla
        .route_get(ip("198.51.100.7"), Some(ip("192.0.2.1")))
        .await
        .expect("lookup from 192.0.2.1");
    assert_eq!(hit.table, 200, "{hit}");
    assert!(hit.has_next_hop(Some(ip("10.83.0.2")), Some("ab")), "{hit}");
    let through = nla
        .route_get(ip("10.83.0.2"), Some(ip("192.0.2.2")))
        .await
        .expect("lookup from 192.0.2.2");
    assert_eq!(through.table, TABLE_MAIN, "{through}");
    assert!(
        nla.route_get(ip("198.51.100.7"), None).await.is_err(),
        "an unbound sender still meets main's blackhole"
    );

    // Real traffic: the bound socket's datagrams take table 200.
    let tx = udp_in(&a, "192.0.2.1:0");
    let rx = udp_in(&b, "198.51.100.7:5000");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut tag = 0u8;
    loop {
        tag += 1;
        if delivered(&tx, &rx, "198.51.100.7:5000", tag) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nothing arrived through table 200"
        );
    }

    nla.del_rule(&rule).await.expect("delete rule");
    let gone = nla.del_rule(&rule).await.expect_err("deleted twice");
    assert!(gone.is_not_found(), "{gone}");
    assert!(
        !delivered(&tx, &rx, "198.51.100.7:5000", tag + 1),
        "traffic still took table 200 after the rule went"
    );
    assert!(
        nla.route_get(ip("198.51.100.7"), Some(ip("192.0.2.1")))
            .await
            .is_err(),
        "main's blackhole is back"
    );
    nla.del_rule(&empty).await.expect("delete the other rule");
    assert_eq!(nla.rules(Some(Family::V4)).await.expect("rules").len(), 3);
}
