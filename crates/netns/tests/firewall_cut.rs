//! A cut really drops the traffic it matches, spares the rest, and a restore brings it back:
//! UDP between two namespaces joined by a veth (needs root).

use std::net::UdpSocket;
use std::time::Duration;

use netns::firewall::{self, CutSpec};
use netns::{LinkId, Netlink, Netns, NetnsDir, VethEnd, VethOptions};

/// Unpins the test's namespaces however the test ends.
struct Cleanup(Vec<&'static str>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = NetnsDir::system().unpin(n);
        }
    }
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

/// Sends one datagram and says whether it arrived within the read timeout.
fn delivered(tx: &UdpSocket, rx: &UdpSocket, to: &str, tag: u8) -> bool {
    // A drop in the sender's own output hook fails the send itself with EPERM.
    if let Err(e) = tx.send_to(&[tag], to) {
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "send: {e}");
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
async fn cut_drops_matching_traffic_and_restore_brings_it_back() {
    let names = ["hl-fwcut-a", "hl-fwcut-b"];
    let _cleanup = Cleanup(names.to_vec());
    let dir = NetnsDir::system();
    let a = Netns::create(&dir, names[0]).expect("create a");
    let b = Netns::create(&dir, names[1]).expect("create b");
    let nla = Netlink::open(&a).expect("netlink a");
    nla.add_veth(
        VethEnd { ns: &a, name: "ab" },
        VethEnd { ns: &b, name: "ba" },
        // `up: true` at creation is refused with ENOTCONN by this kernel (the first end is
        // opened before its peer is attached): bring both ends up afterwards.
        VethOptions {
            mtu: None,
            up: false,
        },
    )
    .await
    .expect("veth");
    nla.set_link_up(LinkId::Name("ab"), true)
        .await
        .expect("ab up");
    nla.add_address(LinkId::Name("ab"), "10.77.0.1/30".parse().expect("net"))
        .await
        .expect("addr a");
    let nlb = Netlink::open(&b).expect("netlink b");
    nlb.set_link_up(LinkId::Name("ba"), true)
        .await
        .expect("ba up");
    nlb.add_address(LinkId::Name("ba"), "10.77.0.2/30".parse().expect("net"))
        .await
        .expect("addr b");

    let tx = udp_in(&a, "10.77.0.1:0");
    let rx4500 = udp_in(&b, "10.77.0.2:4500");
    let rx5000 = udp_in(&b, "10.77.0.2:5000");
    // IPv4 DAD is off, but the veth may need a moment to carry traffic: poll with a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !delivered(&tx, &rx4500, "10.77.0.2:4500", 1) {
        assert!(
            std::time::Instant::now() < deadline,
            "no traffic before any cut"
        );
    }

    // A port cut on the receiving side: 4500 dropped, 5000 still passes.
    let port_cut = firewall::cut(
        &b,
        &CutSpec {
            ifname: Some("ba".into()),
            proto: Some(17),
            ports: vec![4500],
            peer: None,
            loss_percent: None,
        },
    )
    .expect("port cut");
    assert!(
        !delivered(&tx, &rx4500, "10.77.0.2:4500", 2),
        "udp/4500 passed a udp/4500 cut"
    );
    assert!(
        delivered(&tx, &rx5000, "10.77.0.2:5000", 3),
        "udp/5000 dropped by a udp/4500 cut"
    );

    // A whole-namespace cut on the sending side stacks with it; removing it leaves the port cut.
    let all = firewall::cut(&a, &CutSpec::default()).expect("namespace cut");
    assert!(
        !delivered(&tx, &rx5000, "10.77.0.2:5000", 4),
        "namespace cut let traffic out"
    );
    firewall::restore(&a, all).expect("restore namespace cut");
    assert!(
        delivered(&tx, &rx5000, "10.77.0.2:5000", 5),
        "restore did not bring traffic back"
    );
    assert!(
        !delivered(&tx, &rx4500, "10.77.0.2:4500", 6),
        "restoring one cut removed another"
    );

    firewall::restore(&b, port_cut).expect("restore port cut");
    assert!(
        delivered(&tx, &rx4500, "10.77.0.2:4500", 7),
        "udp/4500 still dropped after restore"
    );

    // A peer cut (one tunnel's underlay: udp 500 and 4500 to or from one address) drops only
    // that peer's traffic on those ports.
    let peer_cut = |peer: &str| CutSpec {
        ifname: None,
        proto: Some(17),
        ports: vec![500, 4500],
        peer: Some(peer.parse().expect("address")),
        loss_percent: None,
    };
    let other = firewall::cut(&b, &peer_cut("10.77.0.9")).expect("other peer cut");
    assert!(
        delivered(&tx, &rx4500, "10.77.0.2:4500", 8),
        "a cut for another peer dropped this one"
    );
    let this = firewall::cut(&b, &peer_cut("10.77.0.1")).expect("peer cut");
    assert!(
        !delivered(&tx, &rx4500, "10.77.0.2:4500", 9),
        "udp/4500 from the cut peer passed"
    );
    assert!(
        delivered(&tx, &rx5000, "10.77.0.2:5000", 10),
        "a peer cut on 500/4500 dropped udp/5000"
    );
    firewall::restore(&b, this).expect("restore peer cut");
    firewall::restore(&b, other).expect("restore other peer cut");
    assert!(
        delivered(&tx, &rx4500, "10.77.0.2:4500", 11),
        "udp/4500 still dropped after the peer cut's restore"
    );

    // Random loss (`numgen random mod 100 < 50`): of 200 datagrams (fewer than a receive buffer holds) some arrive, some do not,
    // and the share that arrives is near one half (binomial, 200 draws: 100 +- 40 is more than
    // 5 standard deviations). Restored, all arrive again.
    let lossy = firewall::cut(
        &b,
        &CutSpec {
            proto: Some(17),
            ports: vec![5000],
            loss_percent: Some(50),
            ..CutSpec::default()
        },
    )
    .expect("loss rule");
    let arrived = |tag: u8| -> usize {
        for _ in 0..200 {
            tx.send_to(&[tag], "10.77.0.2:5000").expect("send");
        }
        let mut buf = [0u8; 16];
        let mut n = 0;
        while let Ok(len) = rx5000.recv(&mut buf) {
            if len == 1 && buf[0] == tag {
                n += 1;
            }
        }
        n
    };
    let got = arrived(20);
    assert!(
        (60..=140).contains(&got),
        "{got} of 200 arrived through 50% loss"
    );
    firewall::restore(&b, lossy).expect("restore loss rule");
    assert_eq!(arrived(21), 200, "loss continued after its restore");
}
