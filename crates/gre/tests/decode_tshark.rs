//! Our encoder against an independent decoder: GRE packets built with [`Repr::emit`] are written
//! to a classic pcap file (LINKTYPE_RAW, each record an IPv4 packet of protocol 47) and decoded by
//! Wireshark's `tshark`; its fields `gre.flags.checksum`, `gre.key`, `gre.sequence_number`,
//! `gre.proto` and `gre.checksum.status` must match what we meant, with no malformed packet and
//! no expert warning or error. A corrupted checksum must look bad to both decoders.
//!
//! Needs `tshark` (Debian package `tshark`); without it the test fails and says so.

use std::process::Command;

use gre::wire::checksum;
use gre::wire::gre::{Packet, Protocol, Repr};

/// LINKTYPE_RAW: each record starts with an IPv4 or IPv6 header.
const LINKTYPE_RAW: u32 = 101;

fn ipv4(protocol: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 20];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    p[4..6].copy_from_slice(&1u16.to_be_bytes());
    p[6] = 0x40;
    p[8] = 64;
    p[9] = protocol;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let c = checksum::checksum(&p);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// An inside UDP packet (checksum 0: none, RFC 768).
fn inner_v4() -> Vec<u8> {
    let mut udp = vec![0, 9, 0, 9, 0, 12, 0, 0];
    udp.extend_from_slice(b"abcd");
    ipv4(17, [169, 254, 100, 1], [169, 254, 100, 2], &udp)
}

/// An inside IPv6 packet with no next header (59) and 4 octets of payload.
fn inner_v6() -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0, 0, 4, 59, 64];
    p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    p.extend_from_slice(b"wxyz");
    p
}

fn gre_in_ipv4(repr: &Repr, inner: &[u8]) -> Vec<u8> {
    let mut gre = vec![0u8; repr.buffer_len()];
    gre.extend_from_slice(inner);
    repr.emit(&mut Packet::new_unchecked(&mut gre[..]));
    ipv4(47, [192, 0, 2, 1], [192, 0, 2, 2], &gre)
}

fn pcap(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    f.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    f.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    f.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    for (i, p) in packets.iter().enumerate() {
        f.extend_from_slice(&(i as u32).to_le_bytes()); // seconds
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(p);
    }
    f
}

/// One tshark line per packet: the fields, in order.
fn tshark(packets: &[Vec<u8>]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gre.pcap");
    std::fs::write(&path, pcap(packets)).unwrap();
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
            "-e",
            "gre.flags.checksum",
            "-e",
            "gre.key",
            "-e",
            "gre.sequence_number",
            "-e",
            "gre.proto",
            "-e",
            "gre.checksum.status",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.severity",
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run tshark ({e}): install it (Debian package `tshark`), this test needs it"
            )
        });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

/// Expert severities are PI_COMMENT 0x00100000 .. PI_ERROR 0x00800000; warnings start at
/// 0x00600000. tshark prints them in decimal or hex depending on its version.
fn severity(s: &str) -> u32 {
    s.strip_prefix("0x").map_or_else(
        || s.parse().unwrap(),
        |h| u32::from_str_radix(h, 16).unwrap(),
    )
}

#[test]
fn tshark_decodes_our_packets_as_we_meant_them() {
    let repr = |protocol, checksum, key, sequence_number| Repr {
        protocol,
        checksum,
        key,
        sequence_number,
    };
    let cases = [
        (repr(Protocol::Ipv4, false, None, None), inner_v4()),
        (repr(Protocol::Ipv4, false, Some(7), None), inner_v4()),
        (repr(Protocol::Ipv4, false, None, Some(3)), inner_v4()),
        (repr(Protocol::Ipv4, true, None, None), inner_v4()),
        (
            repr(Protocol::Ipv4, true, Some(0xdead_beef), Some(u32::MAX)),
            inner_v4(),
        ),
        (repr(Protocol::Ipv6, true, Some(1), Some(0)), inner_v6()),
        (
            repr(Protocol::Ipv6, false, Some(0x0102_0304), None),
            inner_v6(),
        ),
    ];
    let packets: Vec<Vec<u8>> = cases.iter().map(|(r, i)| gre_in_ipv4(r, i)).collect();
    let lines = tshark(&packets);
    assert_eq!(lines.len(), cases.len(), "{lines:?}");
    for (i, ((repr, _), fields)) in cases.iter().zip(&lines).enumerate() {
        let [c, key, seq, proto, status, malformed, expert] = &fields[..] else {
            panic!("tshark fields: {fields:?}");
        };
        assert_eq!(c, if repr.checksum { "1" } else { "0" }, "{repr:?}");
        assert_eq!(
            *key,
            repr.key.map_or(String::new(), |k| format!("{k:#010x}")),
            "{repr:?}"
        );
        assert_eq!(
            *seq,
            repr.sequence_number
                .map_or(String::new(), |s| s.to_string()),
            "{repr:?}"
        );
        assert_eq!(
            *proto,
            format!("{:#06x}", u16::from(repr.protocol)),
            "{repr:?}"
        );
        // Wireshark's checksum status: 1 = good (verified), empty when no checksum.
        assert_eq!(status, if repr.checksum { "1" } else { "" }, "{repr:?}");
        assert!(malformed.is_empty(), "{repr:?}: malformed");
        for s in expert.split(',').filter(|s| !s.is_empty()) {
            assert!(severity(s) < 0x0060_0000, "{repr:?}: expert {s}");
        }
        // And our own decoder reads back what tshark read.
        let gre = Packet::new_checked(&packets[i][20..]).unwrap();
        assert_eq!(Repr::parse(&gre), Ok(*repr));
    }
}

#[test]
fn a_corrupted_checksum_is_bad_to_tshark_and_to_us() {
    let repr = Repr {
        protocol: Protocol::Ipv4,
        checksum: true,
        key: Some(5),
        sequence_number: None,
    };
    let mut packet = gre_in_ipv4(&repr, &inner_v4());
    let last = packet.len() - 1;
    packet[last] ^= 0x20;
    let lines = tshark(std::slice::from_ref(&packet));
    // Wireshark's checksum status 0 = bad.
    assert_eq!(lines[0][4], "0", "{lines:?}");
    // ... with an expert warning, which the test above would have caught.
    assert!(
        lines[0][6]
            .split(',')
            .any(|s| !s.is_empty() && severity(s) >= 0x0060_0000),
        "{lines:?}"
    );
    assert_eq!(
        Repr::parse(&Packet::new_unchecked(&packet[20..])),
        Err(gre::Error::Checksum)
    );
}
