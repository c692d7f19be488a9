//! The VLAN trunk between two namespaces over one veth (the cross-connect): ping and TCP on
//! VLAN 100 and VLAN 200 separately (IPv4, and IPv6 on 200), a DF ping of 8500 octets across a
//! jumbo VLAN over a trunk of MTU 8500, a VLAN mismatch (100 against 101) that carries nothing
//! and counts unknown VIDs, hand-made frames (untagged, 802.1ad, 0x9100, VID 0, VID 4095,
//! unknown VID, oversize, stacked) each counted under its reason, tags reaching the trunk
//! socket in PACKET_AUXDATA with the veth's VLAN offloads on and off, tshark decoding a capture
//! of the trunk, and a clean shutdown. Needs root (namespaces, TAP, AF_PACKET) and tshark, as
//! CI has.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::Command;
use std::time::Duration;

use netns::ethtool::{VlanOffloads, set_vlan_offloads, vlan_offloads};
use netns::packet::{PacketOptions, PacketRecvBatch, open_packet_socket, pkttype};
use support::{End, TRUNK_A, TRUNK_B, VlanLab, addr, pattern, two_vlans, vif, wait_counters};
use testkit::wait_for;
use vlan::device::{CountersSnapshot, TrunkConfig, VlanTrunk};

/// Sends `len` pattern bytes over TCP from a to `to` (in b) and checks every byte.
fn tcp_transfer(t: &VlanLab, to: Ipv4Addr, len: u64) {
    let listener =
        t.b.ns
            .run(move || TcpListener::bind(SocketAddr::from((to, 5201))))
            .unwrap()
            .expect("listen in b");
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
    let mut s =
        t.a.ns
            .run(move || {
                TcpStream::connect_timeout(&SocketAddr::from((to, 5201)), Duration::from_secs(5))
            })
            .unwrap()
            .expect("TCP connect across the VLAN");
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

fn assert_clean(end: &End) {
    let c = end.trunk.counters();
    assert_eq!(c.drops(), 0, "{}: {c:#?}", end.node);
    assert!(
        end.trunk.is_running(),
        "{}: {:?}",
        end.node,
        end.trunk.failure()
    );
}

#[test]
fn ping_and_tcp_on_vlan_100_and_200_separately() {
    let (a, b) = two_vlans(1500, 1500);
    let t = VlanLab::new("vlan-dp-two", a, b);
    let v100 = addr(100, 2).to_string();
    let v200 = addr(200, 2).to_string();
    t.ping("a", &v100, 56, 3).expect("ping a -> b on VLAN 100");
    t.ping("b", &addr(100, 1).to_string(), 56, 3)
        .expect("ping b -> a on VLAN 100");
    t.ping("a", &v200, 56, 3).expect("ping a -> b on VLAN 200");
    t.ping("a", &v100, 1472, 2)
        .expect("full-size ping, VLAN 100");

    // TCP on each VLAN in turn: the bytes travel on that VLAN alone.
    let before = t.b.trunk.counters();
    tcp_transfer(&t, addr(100, 2), 8 << 20);
    let mid = t.b.trunk.counters();
    let grew = |from: &CountersSnapshot, to: &CountersSnapshot, vid: u16| {
        to.vifs[&vid].bytes_in - from.vifs[&vid].bytes_in
    };
    assert!(grew(&before, &mid, 100) > 8 << 20, "{mid:#?}");
    assert!(grew(&before, &mid, 200) < 64 << 10, "{mid:#?}");
    tcp_transfer(&t, addr(200, 2), 8 << 20);
    let after = t.b.trunk.counters();
    assert!(grew(&mid, &after, 200) > 8 << 20, "{after:#?}");
    assert!(grew(&mid, &after, 100) < 64 << 10, "{after:#?}");

    // IPv6 across VLAN 200 (a VIF carries one IPv4 and one IPv6 BGP session).
    t.ipv6_on("vif200", "fd00:200");
    t.lab
        .exec(
            "a",
            &[
                "ping",
                "-6",
                "-c",
                "2",
                "-i",
                "0.2",
                "-W",
                "2",
                "fd00:200::2",
            ],
        )
        .expect("IPv6 ping on VLAN 200");

    for end in [&t.a, &t.b] {
        assert_clean(end);
        let c = end.trunk.counters();
        for vid in [100, 200] {
            let v = c.vifs[&vid];
            assert!(v.frames_in > 0 && v.frames_out > 0, "{}: {c:#?}", end.node);
        }
        // Every tag came off in the kernel, reported beside the frame.
        assert_eq!(c.trunk.tags_inline, 0, "{c:#?}");
        assert_eq!(c.trunk.tags_in_auxdata, c.trunk.frames, "{c:#?}");
    }
}

#[test]
fn a_jumbo_vlan_carries_8500_octet_packets_with_df_over_a_trunk_of_mtu_8500() {
    let (a, b) = two_vlans(8500, 1500);
    let t = VlanLab::new("vlan-dp-jumbo", a, b);
    // The tag does not count against the trunk's MTU.
    assert_eq!(t.mtu("a", TRUNK_A), 8500);
    assert_eq!(t.mtu("b", TRUNK_B), 8500);
    assert_eq!(t.mtu("a", "vif100"), 8500);
    assert_eq!(t.mtu("a", "vif200"), 1500);
    let v100 = addr(100, 2).to_string();
    // 8472 octets of ICMP payload: an 8500-octet IPv4 packet, DF set, in a frame of 8518
    // octets on the trunk. One octet more does not leave a.
    t.ping("a", &v100, 8472, 3).expect("jumbo ping with DF");
    t.ping("b", &addr(100, 1).to_string(), 8472, 2)
        .expect("jumbo ping with DF, b -> a");
    assert!(
        t.ping("a", &v100, 8473, 1).is_err(),
        "one octet over the MTU"
    );
    // The 1500 VLAN on the same trunk keeps its own MTU.
    t.ping("a", &addr(200, 2).to_string(), 1472, 2)
        .expect("full-size ping on VLAN 200");
    assert!(t.ping("a", &addr(200, 2).to_string(), 1473, 1).is_err());
    tcp_transfer(&t, addr(100, 2), 16 << 20);
    let c = t.b.trunk.counters();
    let v = c.vifs[&100];
    // 16 MiB in segments of up to 8448 octets: far fewer frames than at MTU 1500.
    assert!(v.bytes_in > 16 << 20, "{c:#?}");
    assert!(
        v.frames_in < (16 << 20) / 1448,
        "jumbo frames carried: {c:#?}"
    );
    assert_clean(&t.a);
    assert_clean(&t.b);
}

#[test]
fn a_vlan_mismatch_carries_nothing_and_counts_unknown_vids() {
    // The same subnet on both ends, but VLAN 100 in a and 101 in b: as on a real DX, no
    // frame reaches the other router, so no ARP, no ping, no BGP.
    let a = TrunkConfig::new(TRUNK_A).with_vif(vif(100, 1500, 100, 1));
    let b = TrunkConfig::new(TRUNK_B).with_vif(vif(101, 1500, 100, 2));
    let t = VlanLab::new("vlan-dp-mismatch", a, b);
    assert!(
        t.ping("a", &addr(100, 2).to_string(), 56, 2).is_err(),
        "nothing crosses"
    );
    let c = wait_counters("unknown VIDs counted at b", &t.b, |c| {
        c.trunk.unknown_vid >= 2
    });
    assert_eq!(c.vifs[&101].frames_in, 0, "{c:#?}");
    assert!(t.a.trunk.counters().vifs[&100].frames_out >= 2);
    // And the other way.
    assert!(t.ping("b", &addr(100, 1).to_string(), 56, 1).is_err());
    let c = wait_counters("unknown VIDs counted at a", &t.a, |c| {
        c.trunk.unknown_vid >= 1
    });
    assert_eq!(c.vifs[&100].frames_in, 0, "{c:#?}");
}

/// An untagged IPv4 frame of `payload` octets from a made-up host to b.
fn frame(ethertype: u16, payload: usize) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.resize(14 + payload, 0x45);
    f
}

/// `frame(ethertype, payload)` behind a tag `tpid`/`tci`.
fn tagged(tpid: u16, tci: u16, ethertype: u16, payload: usize) -> Vec<u8> {
    let mut f = frame(tpid, 0);
    f.extend_from_slice(&tci.to_be_bytes());
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.resize(18 + payload, 0x45);
    f
}

#[test]
fn foreign_frames_are_counted_under_their_reason_and_dropped() {
    // VLAN 100 at MTU 1500, VLAN 200 at 8500: the trunk's MTU is 8500, so a 2000-octet frame
    // on VLAN 100 crosses the veth and is b's to refuse.
    let (a, b) = two_vlans(1500, 8500);
    let t = VlanLab::new("vlan-dp-junk", a, b);
    let before = t.b.trunk.counters();
    let injector = open_packet_socket(&t.a.ns, TRUNK_A, &PacketOptions::port()).unwrap();
    for f in [
        frame(0x0800, 46),                  // untagged
        tagged(0x88a8, 100, 0x0800, 46),    // 802.1ad S-tag
        tagged(0x9100, 100, 0x0800, 46),    // pre-standard QinQ
        tagged(0x8100, 0xa000, 0x0800, 46), // VID 0: priority tag only
        tagged(0x8100, 0x0fff, 0x0800, 46), // VID 4095: reserved
        tagged(0x8100, 300, 0x0800, 46),    // VID no interface has
        tagged(0x8100, 100, 0x0800, 2000),  // over VLAN 100's MTU
        tagged(0x8100, 100, 0x8100, 46),    // a second tag inside
        tagged(0x8100, 200, 0x0800, 2000),  // fine on VLAN 200 (MTU 8500)
    ] {
        injector.send(&f).expect("inject");
    }
    let c = wait_counters("every injected frame counted at b", &t.b, |c| {
        c.trunk.frames - before.trunk.frames >= 9
    });
    let d = |f: fn(&CountersSnapshot) -> u64| f(&c) - f(&before);
    assert_eq!(d(|c| c.trunk.untagged), 1, "{c:#?}");
    assert_eq!(d(|c| c.trunk.wrong_tpid), 2, "{c:#?}");
    assert_eq!(d(|c| c.trunk.reserved_vid), 2, "{c:#?}");
    assert_eq!(d(|c| c.trunk.unknown_vid), 1, "{c:#?}");
    assert_eq!(d(|c| c.trunk.malformed), 0, "{c:#?}");
    assert_eq!(d(|c| c.vifs[&100].oversize_in), 1, "{c:#?}");
    assert_eq!(d(|c| c.vifs[&100].stacked_in), 1, "{c:#?}");
    assert_eq!(d(|c| c.vifs[&100].frames_in), 0, "{c:#?}");
    assert_eq!(d(|c| c.vifs[&200].frames_in), 1, "{c:#?}");
    assert_eq!(d(|c| c.vifs[&200].bytes_in), 2014, "{c:#?}");
    // The kernel took off every tag but the untagged frame's and 0x9100's, the 802.1ad tag
    // too (reported with its TPID).
    assert_eq!(d(|c| c.trunk.tags_in_auxdata), 7, "{c:#?}");
    // None of that disturbed the VLANs.
    t.ping("a", &addr(100, 2).to_string(), 56, 2)
        .expect("ping after junk");
}

#[test]
fn tags_reach_the_trunk_socket_in_auxdata_with_veth_vlan_offloads_on_and_off() {
    let (a, b) = two_vlans(1500, 1500);
    let t = VlanLab::new("vlan-dp-offload", a, b);
    let on = VlanOffloads { rx: true, tx: true };
    let off = VlanOffloads {
        rx: false,
        tx: false,
    };
    assert_eq!(vlan_offloads(&t.a.ns, TRUNK_A).unwrap(), on, "veth default");
    for offloads in [on, off] {
        assert_eq!(
            set_vlan_offloads(&t.a.ns, TRUNK_A, offloads).unwrap(),
            offloads
        );
        assert_eq!(
            set_vlan_offloads(&t.b.ns, TRUNK_B, offloads).unwrap(),
            offloads
        );
        let before = t.b.trunk.counters();
        t.ping("a", &addr(100, 2).to_string(), 56, 2)
            .unwrap_or_else(|e| panic!("ping with offloads {offloads:?}: {e}"));
        let c = t.b.trunk.counters();
        assert!(
            c.trunk.tags_in_auxdata - before.trunk.tags_in_auxdata >= 2,
            "{offloads:?}: {c:#?}"
        );
        assert_eq!(c.trunk.tags_inline, 0, "{offloads:?}: {c:#?}");
    }
    assert_clean(&t.a);
    assert_clean(&t.b);
}

/// Classic pcap, LINKTYPE_ETHERNET.
fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut f = Vec::new();
    for v in [0xa1b2_c3d4u32.to_le_bytes().to_vec(), vec![2, 0, 4, 0]] {
        f.extend_from_slice(&v);
    }
    f.extend_from_slice(&0i32.to_le_bytes());
    f.extend_from_slice(&0u32.to_le_bytes());
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&1u32.to_le_bytes());
    for (i, p) in frames.iter().enumerate() {
        f.extend_from_slice(&(i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(p);
    }
    f
}

/// Expert severities: warnings start at 0x00600000 (printed in decimal or hex).
fn severity(s: &str) -> u32 {
    s.strip_prefix("0x").map_or_else(
        || s.parse().unwrap(),
        |h| u32::from_str_radix(h, 16).unwrap(),
    )
}

#[test]
fn tshark_decodes_a_capture_of_the_trunk_with_the_right_vlan_ids() {
    let (mut a, mut b) = two_vlans(1500, 1500);
    a.vifs[1].pcp = 5;
    b.vifs[1].pcp = 5;
    let t = VlanLab::new("vlan-dp-pcap", a, b);
    // One capture socket per trunk end, keeping what each end sent: the exact bytes our
    // trunks put on the wire, tags inline.
    let captures: Vec<_> = [(&t.a.ns, TRUNK_A), (&t.b.ns, TRUNK_B)]
        .into_iter()
        .map(|(ns, ifname)| {
            let mut o = PacketOptions::capture();
            o.nonblocking = true;
            open_packet_socket(ns, ifname, &o).expect("capture socket")
        })
        .collect();
    t.ping("a", &addr(100, 2).to_string(), 56, 2)
        .expect("ping VLAN 100");
    t.ping("a", &addr(200, 2).to_string(), 56, 2)
        .expect("ping VLAN 200");
    // Copies reach a capture socket when a frame is sent, before the peer sees it: once the
    // pings are answered, every frame is queued.
    let mut frames = Vec::new();
    let mut batch = PacketRecvBatch::new(16);
    let mut bufs = vec![vec![0u8; 2048]; 16];
    for s in &captures {
        loop {
            match batch.recv(s.as_fd(), &mut bufs) {
                Ok(metas) => {
                    for (i, m) in metas.iter().enumerate() {
                        if m.pkttype == pkttype::OUTGOING {
                            assert_eq!(m.vlan, None, "outgoing copies keep their tag inline");
                            frames.push(bufs[i][..m.len].to_vec());
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("capture: {e}"),
            }
        }
    }
    assert!(
        frames.len() >= 8,
        "4 echoes, 4 replies, ARP: {}",
        frames.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trunk.pcap");
    std::fs::write(&path, pcap(&frames)).unwrap();
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args([
            "-T",
            "fields",
            "-E",
            "separator=|",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
        ])
        .args([
            "-e",
            "eth.type",
            "-e",
            "vlan.id",
            "-e",
            "vlan.priority",
            "-e",
            "vlan.etype",
        ])
        .args([
            "-e",
            "frame.protocols",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.severity",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run tshark ({e}): install it (Debian package `tshark`)")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(lines.len(), frames.len(), "{text}");
    let mut icmp = [0usize; 2];
    for (fields, bytes) in lines.iter().zip(&frames) {
        let [ethertype, id, priority, etype, protocols, malformed, expert] = fields[..] else {
            panic!("{fields:?}");
        };
        assert_eq!(ethertype, "0x8100", "{fields:?}");
        // What tshark read is what the frame says.
        let vid = u16::from_be_bytes([bytes[14], bytes[15]]) & 0x0fff;
        assert_eq!(id, vid.to_string(), "{fields:?}");
        let expect_pcp = if vid == 200 { "5" } else { "0" };
        assert!(vid == 100 || vid == 200, "{fields:?}");
        assert_eq!(priority, expect_pcp, "{fields:?}");
        assert!(etype == "0x0800" || etype == "0x0806", "{fields:?}");
        assert!(malformed.is_empty(), "malformed: {fields:?}");
        for s in expert.split(',').filter(|s| !s.is_empty()) {
            assert!(severity(s) < 0x0060_0000, "expert {s}: {fields:?}");
        }
        if protocols.contains("icmp") {
            icmp[usize::from(vid == 200)] += 1;
        }
    }
    assert_eq!(
        icmp,
        [4, 4],
        "echo requests and replies on each VLAN: {text}"
    );
}

#[test]
fn shutdown_joins_the_threads_removes_the_taps_and_ends_promiscuity() {
    let lab = support::cross_connect("vlan-dp-stop");
    let ns = netns::Netns::open(&netns::NetnsDir::system(), &lab.ns("a")).unwrap();
    let config = TrunkConfig::new(TRUNK_A)
        .with_vif(vif(100, 1500, 100, 1))
        .with_vif(vif(200, 1500, 200, 1));
    let promiscuity = || {
        let out = lab
            .exec("a", &["ip", "-d", "link", "show", TRUNK_A])
            .unwrap();
        out.split_whitespace()
            .skip_while(|w| *w != "promiscuity")
            .nth(1)
            .map(str::to_string)
    };
    assert_eq!(promiscuity().as_deref(), Some("0"));
    let trunk = VlanTrunk::start(&ns, config.clone()).expect("start");
    assert!(trunk.is_running());
    assert_eq!(trunk.vifs().len(), 2);
    for v in ["vif100", "vif200"] {
        lab.exec("a", &["ip", "link", "show", v])
            .expect("TAP exists");
    }
    assert_eq!(promiscuity().as_deref(), Some("1"));
    assert_eq!(
        ns.sysctl(&format!("net.ipv6.conf.{TRUNK_A}.disable_ipv6"))
            .unwrap(),
        "1",
        "the trunk is a layer-2 port"
    );
    let last = trunk.shutdown();
    assert_eq!(last.drops(), 0);
    wait_for(
        "TAP devices gone, promiscuity back to 0",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || {
            let left: Vec<_> = ["vif100", "vif200"]
                .into_iter()
                .filter(|v| lab.exec("a", &["ip", "link", "show", v]).is_ok())
                .collect();
            let p = promiscuity();
            if left.is_empty() && p.as_deref() == Some("0") {
                Ok(())
            } else {
                Err((left, p))
            }
        },
    )
    .unwrap();
    // The names are free again: a new trunk starts on the same interface.
    let again = VlanTrunk::start(&ns, config).expect("start again");
    assert!(again.is_running());
    // A trunk on an interface that does not exist fails and says which.
    let err = VlanTrunk::start(&ns, TrunkConfig::new("nope")).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}
