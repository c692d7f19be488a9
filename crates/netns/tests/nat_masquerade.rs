//! A masquerade really translates: UDP from `a` through router `r` to `b` arrives from `r`'s
//! address and a port `r` chose, and after a conntrack flush the same flow arrives from a new
//! port (needs root).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use netns::route::Route;
use netns::{LinkId, Netlink, Netns, NetnsDir, VethEnd, VethOptions, nat};

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

/// Sends datagrams until one arrives (or the deadline passes); returns its source.
fn source_seen(tx: &UdpSocket, rx: &UdpSocket, to: &str) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = [0u8; 16];
    loop {
        tx.send_to(b"x", to).expect("send");
        if let Ok((_, from)) = rx.recv_from(&mut buf) {
            return from;
        }
        assert!(Instant::now() < deadline, "nothing arrived through the NAT");
    }
}

async fn veth(nl: &Netlink, a: (&Netns, &str, &str), b: (&Netns, &str, &str)) {
    nl.add_veth(
        VethEnd { ns: a.0, name: a.1 },
        VethEnd { ns: b.0, name: b.1 },
        VethOptions {
            mtu: None,
            up: false,
        },
    )
    .await
    .expect("veth");
    for (ns, name, addr) in [a, b] {
        let nl = Netlink::open(ns).expect("netlink");
        nl.set_link_up(LinkId::Name(name), true).await.expect("up");
        nl.add_address(LinkId::Name(name), addr.parse().expect("net"))
            .await
            .expect("addr");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masquerade_rewrites_the_source_and_a_flush_changes_the_port() {
    let names = ["hl-nat-a", "hl-nat-r", "hl-nat-b"];
    let _cleanup = Cleanup(names.to_vec());
    let dir = NetnsDir::system();
    let a = Netns::create(&dir, names[0]).expect("create a");
    let r = Netns::create(&dir, names[1]).expect("create r");
    let b = Netns::create(&dir, names[2]).expect("create b");
    let nlr = Netlink::open(&r).expect("netlink r");
    veth(&nlr, (&r, "ra", "10.78.0.2/30"), (&a, "ar", "10.78.0.1/30")).await;
    veth(&nlr, (&r, "rb", "10.78.1.1/30"), (&b, "br", "10.78.1.2/30")).await;
    r.set_forwarding(true).expect("forwarding");
    Netlink::open(&a)
        .expect("netlink a")
        .add_route(&Route::new("0.0.0.0/0".parse().unwrap()).via("10.78.0.2".parse().unwrap()))
        .await
        .expect("default route");
    let masq = nat::masquerade(&r, "rb").expect("masquerade");

    let tx = udp_in(&a, "10.78.0.1:4500");
    let rx = udp_in(&b, "10.78.1.2:4500");
    let first = source_seen(&tx, &rx, "10.78.1.2:4500");
    assert_eq!(first.ip().to_string(), "10.78.1.1", "the router's address");
    // The same flow keeps its mapping.
    assert_eq!(source_seen(&tx, &rx, "10.78.1.2:4500"), first);
    // A flush forgets it: a new random port (retried: random-fully may pick the same one).
    let mut moved = false;
    for _ in 0..3 {
        nat::flush_conntrack(&r).expect("flush");
        if source_seen(&tx, &rx, "10.78.1.2:4500").port() != first.port() {
            moved = true;
            break;
        }
    }
    assert!(moved, "the mapping survived three conntrack flushes");
    nat::remove(&r, masq).expect("remove");
    let untranslated = source_seen(&tx, &rx, "10.78.1.2:4500");
    // Without the masquerade the next new mapping is the sender's own (after a flush).
    nat::flush_conntrack(&r).expect("flush");
    let after = source_seen(&tx, &rx, "10.78.1.2:4500");
    assert_eq!(
        after.to_string(),
        "10.78.0.1:4500",
        "{untranslated} then {after}"
    );
}
