//! The GRE device between two namespaces over a veth underlay of MTU 8500: ping and TCP across
//! the inside addresses (with and without TUN offloads, with and without key, sequence numbers
//! and checksums), a key mismatch that carries nothing and is counted, and hand-made GRE from a
//! wrong source, with a bad version, routing, a bad checksum, a wrong key, out of order, or a
//! payload TUN cannot carry: each counted under its reason and dropped. Needs root (namespaces,
//! TUN, raw sockets), as CI has.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::time::Duration;

use gre::device::CountersSnapshot;
use gre::wire::gre::{Packet, Protocol, Repr};
use socket2::{Domain, Socket, Type};
use support::{GreLab, INSIDE_A, INSIDE_B, OUTSIDE_A, OUTSIDE_B, configs, pattern};
use testkit::wait_for;

fn ping(t: &GreLab, from: &str, to: Ipv4Addr, size: usize, count: u32) -> Result<(), String> {
    t.lab
        .exec(
            from,
            &[
                "ping",
                "-c",
                &count.to_string(),
                "-i",
                "0.2",
                "-W",
                "2",
                "-M",
                "do",
                "-s",
                &size.to_string(),
                &to.to_string(),
            ],
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Sends `len` pattern bytes over TCP from a to b through the tunnel and checks every byte.
fn tcp_transfer(t: &GreLab, len: u64) {
    let listener =
        t.b.ns
            .run(|| TcpListener::bind(SocketAddr::from((INSIDE_B, 5201))))
            .unwrap()
            .unwrap();
    let receiver = std::thread::spawn(move || -> Result<u64, String> {
        let (mut s, _) = listener.accept().map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut at = 0u64;
        loop {
            let n = s.read(&mut buf).map_err(|e| format!("read at {at}: {e}"))?;
            if n == 0 {
                return Ok(at);
            }
            for (k, &b) in buf[..n].iter().enumerate() {
                if b != pattern(at + k as u64) {
                    return Err(format!("byte {} differs", at + k as u64));
                }
            }
            at += n as u64;
        }
    });
    let mut s = t
        .a
        .ns
        .run(|| {
            TcpStream::connect_timeout(&SocketAddr::from((INSIDE_B, 5201)), Duration::from_secs(5))
        })
        .unwrap()
        .expect("TCP connect through the tunnel");
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut sent = 0u64;
    while sent < len {
        let n = (len - sent).min(1 << 20);
        let piece: Vec<u8> = (sent..sent + n).map(pattern).collect();
        s.write_all(&piece).expect("TCP write");
        sent += n;
    }
    drop(s);
    let got = receiver.join().unwrap().expect("receiver");
    assert_eq!(got, len, "all bytes arrived");
}

fn assert_clean(c: &CountersSnapshot, who: &str) {
    assert_eq!(c.rx_drops(), 0, "{who}: {c:?}");
    assert_eq!(c.tx_drops(), 0, "{who}: {c:?}");
    assert!(c.packets_in > 0 && c.packets_out > 0, "{who}: {c:?}");
}

fn ping_and_tcp(t: &GreLab) {
    ping(t, "a", INSIDE_B, 56, 3).expect("ping a -> b");
    ping(t, "b", INSIDE_A, 56, 3).expect("ping b -> a");
    // The largest unfragmented inside packet: MTU - 28 octets of ICMP payload (-M do: DF set,
    // so a packet the tunnel could not carry whole would fail rather than fragment).
    let mtu = t.a.device.config().mtu as usize;
    ping(t, "a", INSIDE_B, mtu - 28, 2).expect("full-size ping");
    assert!(
        ping(t, "a", INSIDE_B, mtu - 27, 1).is_err(),
        "one octet over the MTU"
    );
    tcp_transfer(t, 32 << 20);
    for (end, who) in [(&t.a, "a"), (&t.b, "b")] {
        assert_clean(&end.device.counters(), who);
        assert!(end.device.is_running(), "{who}: {:?}", end.device.failure());
    }
    // 32 MiB in segments of at most MTU - 52 octets: thousands of packets each way.
    let b = t.b.device.counters();
    assert!(b.packets_in > (32 << 20) / 8476, "{b:?}");
    assert!(b.bytes_in > 32 << 20, "{b:?}");
}

#[test]
fn ping_and_tcp_plain_gre_with_offloads() {
    let (a, b) = configs(|_| {});
    let t = GreLab::new("gre-dp-plain", a, b);
    ping_and_tcp(&t);
}

#[test]
fn ping_and_tcp_with_key_sequence_numbers_and_checksums_without_offloads() {
    let (a, b) = configs(|c| {
        c.key = Some(0x0102_0304);
        c.send_sequence = true;
        c.check_sequence = true;
        c.checksum = true;
        c.offloads = false;
        c.mtu = c.mtu_for_underlay(support::UNDERLAY_MTU);
    });
    assert_eq!(a.mtu, 8464);
    let t = GreLab::new("gre-dp-opts", a, b);
    ping_and_tcp(&t);
}

#[test]
fn a_key_mismatch_carries_no_traffic_and_is_counted() {
    let (mut a, b) = configs(|c| c.key = Some(1));
    a.key = Some(2);
    let t = GreLab::new("gre-dp-key", a, b);
    assert!(ping(&t, "a", INSIDE_B, 56, 2).is_err(), "no traffic across");
    let c = wait_for(
        "key mismatches counted at b",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || {
            let c = t.b.device.counters();
            if c.key_mismatch >= 2 {
                Ok(c)
            } else {
                Err(Box::new(c))
            }
        },
    )
    .unwrap();
    assert_eq!(c.packets_in, 0, "{c:?}");
    assert!(t.a.device.counters().packets_out >= 2);
}

/// An IPv4/UDP packet to b's inside address (what a GRE packet carries).
fn inner_packet() -> Vec<u8> {
    let mut p = vec![0u8; 28];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&28u16.to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&INSIDE_A.octets());
    p[16..20].copy_from_slice(&INSIDE_B.octets());
    let c = gre::wire::checksum::checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20..22].copy_from_slice(&9u16.to_be_bytes());
    p[22..24].copy_from_slice(&9u16.to_be_bytes());
    p[24..26].copy_from_slice(&8u16.to_be_bytes());
    p
}

fn gre_packet(repr: Repr, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    buf.extend_from_slice(payload);
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
    buf
}

/// A raw GRE socket in node a, bound to `source`.
fn raw_sender(t: &GreLab, source: Ipv4Addr) -> Socket {
    t.a.ns
        .run(move || {
            let s = Socket::new(Domain::IPV4, Type::RAW, Some(socket2::Protocol::from(47)))?;
            s.bind(&SocketAddrV4::new(source, 0).into())?;
            Ok::<_, std::io::Error>(s)
        })
        .unwrap()
        .expect("raw GRE socket")
}

#[test]
fn foreign_and_malformed_gre_is_counted_and_dropped() {
    let (a, mut b) = configs(|_| {});
    b.check_sequence = true;
    let t = GreLab::new("gre-dp-junk", a, b);
    let other = Ipv4Addr::new(192, 0, 2, 3);
    t.lab
        .exec("a", &["ip", "addr", "add", "192.0.2.3/24", "dev", "to-b"])
        .expect("second underlay address");
    let to_b = SocketAddrV4::new(OUTSIDE_B, 0).into();
    let inner = inner_packet();
    let plain = Repr {
        protocol: Protocol::Ipv4,
        checksum: false,
        key: None,
        sequence_number: None,
    };
    // A well-formed GRE packet from the wrong source: not ours.
    let stranger = raw_sender(&t, other);
    stranger.send_to(&gre_packet(plain, &inner), &to_b).unwrap();

    let s = raw_sender(&t, OUTSIDE_A);
    let mut version1 = gre_packet(plain, &inner);
    version1[1] |= 1;
    let mut routing = gre_packet(plain, &inner);
    routing[0] |= 0x40;
    let mut bad_checksum = gre_packet(
        Repr {
            checksum: true,
            ..plain
        },
        &inner,
    );
    bad_checksum[20] ^= 0xff;
    let keyed = gre_packet(
        Repr {
            key: Some(7),
            ..plain
        },
        &inner,
    );
    let mpls = gre_packet(
        Repr {
            protocol: Protocol::Mpls,
            ..plain
        },
        &inner,
    );
    let seq = |n| {
        gre_packet(
            Repr {
                sequence_number: Some(n),
                ..plain
            },
            &inner,
        )
    };
    for p in [
        version1,
        routing,
        bad_checksum,
        keyed,
        mpls,
        vec![0x00, 0x00],
        seq(5),
        seq(3),
        seq(5),
        seq(6),
    ] {
        s.send_to(&p, &to_b).unwrap();
    }
    let c = wait_for(
        "every drop counted at b",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || {
            let c = t.b.device.counters();
            if c.packets_in >= 2 && c.rx_drops() >= 9 {
                Ok(c)
            } else {
                Err(Box::new(c))
            }
        },
    )
    .unwrap();
    let expect = CountersSnapshot {
        packets_in: 2,
        bytes_in: 2 * inner.len() as u64,
        not_ours: 1,
        malformed: 1,
        bad_version: 1,
        routing_present: 1,
        bad_checksum: 1,
        key_mismatch: 1,
        out_of_order: 2,
        unsupported_payload: 1,
        ..CountersSnapshot::default()
    };
    assert_eq!(
        CountersSnapshot {
            packets_out: 0,
            bytes_out: 0,
            ..c
        },
        expect
    );
    // Nothing of that disturbed the tunnel: real traffic still flows (a sends no sequence
    // numbers, so b's check lets it pass).
    ping(&t, "a", INSIDE_B, 56, 2).expect("ping after junk");
}

#[test]
fn shutdown_joins_the_threads_and_removes_the_tun_device() {
    let lab = support::underlay("gre-dp-stop");
    let ns = netns::Netns::open(&netns::NetnsDir::system(), &lab.ns("a")).unwrap();
    let device = gre::device::GreDevice::start(
        &ns,
        gre::device::GreConfig::new("gre9", OUTSIDE_A, OUTSIDE_B),
    )
    .expect("start");
    assert!(device.is_running());
    lab.exec("a", &["ip", "link", "show", "gre9"])
        .expect("TUN device exists");
    let last = device.shutdown();
    assert_eq!(last, CountersSnapshot::default());
    // Closing the last queue descriptor removes the device; the kernel may take a moment.
    wait_for(
        "gre9 gone",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || match lab.exec("a", &["ip", "link", "show", "gre9"]) {
            Ok(out) => Err(out),
            Err(_) => Ok(()),
        },
    )
    .unwrap();
    // The address is free again: a new device binds and starts.
    let again = gre::device::GreDevice::start(
        &ns,
        gre::device::GreConfig::new("gre9", OUTSIDE_A, OUTSIDE_B),
    )
    .expect("start again");
    assert!(again.is_running());
}
