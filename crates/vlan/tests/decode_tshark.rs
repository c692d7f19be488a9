//! Our encoder against an independent decoder: frames tagged with [`insert_tag`] (every
//! priority, DEI both ways, VIDs 1, 100, 4094 and the null VID 0, IPv4, IPv6 and ARP inside)
//! are written to a classic pcap file (LINKTYPE_ETHERNET) and decoded by Wireshark's `tshark`;
//! `eth.type`, `vlan.id`, `vlan.priority`, `vlan.dei` and `vlan.etype` must be what we meant,
//! with no malformed frame and no expert warning or error. Our decoder then reads back what
//! tshark read.
//!
//! Needs `tshark` (Debian package `tshark`); without it the test fails and says so. No root.

use std::process::Command;

use vlan::wire::ethernet::{Address, EtherType, Frame, Repr as EthRepr};
use vlan::wire::vlan::{Packet, Pcp, Repr, TAG_LEN, Tci, VlanId, insert_tag, remove_tag};

/// An untagged frame (a → b) of type `ethertype` around a small payload of that protocol,
/// tagged in place with `tci`.
fn tagged(tci: Tci, ethertype: EtherType) -> Vec<u8> {
    let payload: Vec<u8> = match ethertype {
        // IPv4 header, protocol 59 (none), checksum by hand below.
        EtherType::Ipv4 => {
            let mut p = vec![
                0x45, 0, 0, 20, 0, 1, 0x40, 0, 64, 59, 0, 0, 169, 254, 100, 1, 169, 254, 100, 2,
            ];
            let sum: u32 = p
                .chunks(2)
                .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                .sum();
            let c = !((sum & 0xffff) + (sum >> 16)) as u16;
            p[10..12].copy_from_slice(&c.to_be_bytes());
            p
        }
        // IPv6 header, no next header (59), no payload.
        EtherType::Ipv6 => {
            let mut p = vec![0x60, 0, 0, 0, 0, 0, 59, 64];
            p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
            p
        }
        // ARP request for 169.254.100.2 from 169.254.100.1.
        EtherType::Arp => {
            let mut p = vec![
                0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 0xaa, 169, 254, 100, 1,
            ];
            p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 169, 254, 100, 2]);
            p
        }
        other => panic!("no payload for {other}"),
    };
    let eth = EthRepr {
        src_addr: Address([2, 0, 0, 0, 0, 0xaa]),
        dst_addr: if ethertype == EtherType::Arp {
            Address::BROADCAST
        } else {
            Address([2, 0, 0, 0, 0, 0xbb])
        },
        ethertype,
    };
    let mut buf = vec![0u8; TAG_LEN + eth.buffer_len()];
    eth.emit(&mut Frame::new_unchecked(&mut buf[TAG_LEN..]));
    buf.extend_from_slice(&payload);
    let start = insert_tag(&mut buf, TAG_LEN, tci).unwrap();
    assert_eq!(start, 0);
    buf
}

fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    f.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    f.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    f.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, p) in frames.iter().enumerate() {
        f.extend_from_slice(&(i as u32).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(p);
    }
    f
}

/// One tshark line per frame: the fields, in order.
fn tshark(frames: &[Vec<u8>]) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vlan.pcap");
    std::fs::write(&path, pcap(frames)).unwrap();
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(&path).args([
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in [
        "eth.type",
        "vlan.id",
        "vlan.priority",
        "vlan.dei",
        "vlan.etype",
        "_ws.malformed",
        "_ws.expert.severity",
    ] {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run tshark ({e}): install it (Debian package `tshark`), this test needs it")
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

/// Expert severities: warnings start at 0x00600000 (printed in decimal or hex).
fn severity(s: &str) -> u32 {
    s.strip_prefix("0x").map_or_else(
        || s.parse().unwrap(),
        |h| u32::from_str_radix(h, 16).unwrap(),
    )
}

#[test]
fn tshark_decodes_our_tags_as_we_meant_them() {
    let vid = |v| Some(VlanId::new(v).unwrap());
    let mut cases = Vec::new();
    for (i, (v, ethertype)) in [
        (vid(1), EtherType::Ipv4),
        (vid(100), EtherType::Ipv4),
        (vid(200), EtherType::Ipv6),
        (vid(4094), EtherType::Arp),
        (None, EtherType::Ipv4),
    ]
    .into_iter()
    .enumerate()
    {
        for pcp in [0u8, 5, 7] {
            let tci = Tci {
                pcp: Pcp::new(pcp).unwrap(),
                dei: i % 2 == 1,
                vid: v,
            };
            cases.push((tci, ethertype));
        }
    }
    let frames: Vec<Vec<u8>> = cases.iter().map(|&(t, e)| tagged(t, e)).collect();
    let lines = tshark(&frames);
    assert_eq!(lines.len(), cases.len(), "{lines:?}");
    for ((&(tci, ethertype), fields), frame) in cases.iter().zip(&lines).zip(&frames) {
        let [eth_type, id, priority, dei, etype, malformed, expert] = &fields[..] else {
            panic!("tshark fields: {fields:?}");
        };
        assert_eq!(eth_type, "0x8100", "{tci:?}");
        assert_eq!(*id, tci.vid.map_or(0, VlanId::get).to_string(), "{tci:?}");
        assert_eq!(*priority, tci.pcp.get().to_string(), "{tci:?}");
        // Booleans print as 1/0 or True/False depending on the version.
        assert!(
            matches!(
                (tci.dei, dei.as_str()),
                (true, "1" | "True") | (false, "0" | "False")
            ),
            "{tci:?}: dei {dei}"
        );
        assert_eq!(*etype, format!("{:#06x}", u16::from(ethertype)), "{tci:?}");
        assert!(malformed.is_empty(), "{tci:?}: malformed");
        for s in expert.split(',').filter(|s| !s.is_empty()) {
            assert!(severity(s) < 0x0060_0000, "{tci:?}: expert {s}");
        }
        // And our decoder reads back what tshark read.
        let eth = Frame::new_checked(&frame[..]).unwrap();
        assert_eq!(eth.ethertype(), EtherType::Vlan);
        let repr = Repr::parse(&Packet::new_checked(eth.payload()).unwrap()).unwrap();
        assert_eq!((repr.tci, repr.ethertype), (tci, ethertype));
        let (untagged, at) = remove_tag(&mut frame.clone()).unwrap();
        assert_eq!(untagged, repr);
        assert_eq!(at, TAG_LEN);
    }
}

#[test]
fn vid_4095_is_a_number_to_tshark_and_refused_by_us() {
    let mut frame = tagged(Tci::new(VlanId::MAX), EtherType::Ipv4);
    frame[14..16].copy_from_slice(&0x0fffu16.to_be_bytes());
    let lines = tshark(std::slice::from_ref(&frame));
    assert_eq!(lines[0][1], "4095", "{lines:?}");
    assert_eq!(
        remove_tag(&mut frame),
        Err(vlan::Error::Vid(4095)),
        "IEEE 802.1Q Table 9-2: never in a tag"
    );
}
