//! Our encoder checked by an independent decoder: messages we build are wrapped into a pcap with
//! `text2pcap` and dissected by Wireshark's BGP dissector (`tshark -V`); the test asserts on
//! what Wireshark reads. Needs tshark (wireshark-common for text2pcap); fails without it.

use std::net::Ipv4Addr;
use std::process::Command;

use bgp::wire::attrs::{Aggregator, EncodeContext, encode_attrs};
use bgp::wire::open::{Capability, GracefulRestart, Open};
use bgp::wire::update::{pack_announce, pack_withdraw, write_end_of_rib};
use bgp::wire::{
    AsPath, CeaseSubcode, Community, Family, NextHop, Notification, PathAttrs, Prefix, RouteRefresh,
};

fn dissect(messages: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let hex_path = dir.path().join("msgs.txt");
    let pcap = dir.path().join("msgs.pcap");
    // text2pcap's hex dump format: offset then bytes, 16 per line.
    let mut dump = String::new();
    for (i, chunk) in messages.chunks(16).enumerate() {
        dump.push_str(&format!("{:06x} ", i * 16));
        for b in chunk {
            dump.push_str(&format!("{b:02x} "));
        }
        dump.push('\n');
    }
    std::fs::write(&hex_path, dump).unwrap();
    let st = Command::new("text2pcap")
        .args(["-q", "-4", "10.0.0.2,10.0.0.1", "-T", "40000,179"])
        .arg(&hex_path)
        .arg(&pcap)
        .status()
        .expect("text2pcap is needed (apt-get install tshark)");
    assert!(st.success());
    let out = Command::new("tshark")
        .args([
            "-o",
            "tcp.analyze_sequence_numbers:FALSE",
            "-d",
            "tcp.port==179,bgp",
            "-V",
            "-O",
            "bgp",
            "-r",
        ])
        .arg(&pcap)
        .output()
        .expect("tshark is needed (apt-get install tshark)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn expect(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "Wireshark did not show {n:?} in:\n{text}");
    }
    assert!(
        !text.contains("Malformed"),
        "Wireshark calls something malformed:\n{text}"
    );
}

#[test]
fn wireshark_reads_our_open_update_notification_and_route_refresh() {
    let mut bytes = Vec::new();
    Open {
        my_as: 23456,
        hold_time: 30,
        bgp_id: Ipv4Addr::new(10, 0, 0, 2),
        capabilities: vec![
            Capability::Multiprotocol { afi: 1, safi: 1 },
            Capability::Multiprotocol { afi: 2, safi: 1 },
            Capability::RouteRefresh,
            Capability::FourOctetAs(4_200_000_002),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 120,
                families: vec![],
            }),
        ],
    }
    .encode(&mut bytes);

    let a = PathAttrs {
        as_path: AsPath::sequence([4_200_000_002, 65001]),
        next_hop: NextHop::V4(Ipv4Addr::new(10, 0, 0, 2)),
        med: Some(42),
        atomic_aggregate: true,
        aggregator: Some(Aggregator {
            asn: 4_200_000_002,
            addr: Ipv4Addr::new(10, 0, 0, 2),
        }),
        communities: vec![Community::new(65001, 100), Community::NO_EXPORT],
        ..Default::default()
    };
    let mut ab = Vec::new();
    encode_attrs(
        &mut ab,
        &a,
        &EncodeContext {
            four_octet_as: true,
            ibgp: false,
        },
        true,
    );
    let v4: Vec<Prefix> = vec![
        "192.0.2.0/24".parse().unwrap(),
        "198.18.0.0/15".parse().unwrap(),
    ];
    pack_announce(&mut bytes, Family::Ipv4Unicast, &ab, &a.next_hop, &v4);

    let mut a6 = a.clone();
    a6.next_hop = NextHop::V6 {
        global: "2001:db8::2".parse().unwrap(),
        link_local: None,
    };
    let mut ab6 = Vec::new();
    encode_attrs(
        &mut ab6,
        &a6,
        &EncodeContext {
            four_octet_as: true,
            ibgp: false,
        },
        false,
    );
    let v6: Vec<Prefix> = vec!["2001:db8:100::/48".parse().unwrap()];
    pack_announce(&mut bytes, Family::Ipv6Unicast, &ab6, &a6.next_hop, &v6);
    pack_withdraw(&mut bytes, Family::Ipv4Unicast, &v4[1..]);
    pack_withdraw(&mut bytes, Family::Ipv6Unicast, &v6);
    write_end_of_rib(&mut bytes, Family::Ipv6Unicast);
    RouteRefresh::encode(Family::Ipv4Unicast, &mut bytes);
    Notification::admin(CeaseSubcode::AdminShutdown, "planned maintenance").encode(&mut bytes);

    let text = dissect(&bytes);
    expect(
        &text,
        &[
            "Type: OPEN Message (1)",
            "My AS: 23456",
            "AS Number: 4200000002",
            "Type: Graceful Restart capability (64)",
            "Type: UPDATE Message (2)",
            "AS4: 4200000002",
            "Next hop: 10.0.0.2",
            "Multiple exit discriminator: 42",
            "Community: 65001:100",
            "NO_EXPORT",
            "Aggregator AS: 4200000002",
            "192.0.2.0/24",
            "198.18.0.0/15",
            "MP_REACH_NLRI",
            "2001:db8::2",
            "2001:db8:100::/48",
            "MP_UNREACH_NLRI",
            "Withdrawn Routes Length: 3",
            "ROUTE-REFRESH Message (5)",
            "NOTIFICATION Message (3)",
            "Cease (6)",
            "planned maintenance",
        ],
    );
}
