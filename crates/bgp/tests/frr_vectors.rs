//! Byte vectors from an independent implementation: messages FRR 8.4.4 sent, captured with tshark
//! (`tests/vectors/`). Every expected value below is what Wireshark's dissector shows for the
//! same bytes (`tests/vectors/frr-8.4.4.tshark.txt`), not what our decoder happens to produce.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use bgp::rib::{DefaultPolicy, PeerPolicy, Rib, RibConfig, SessionInfo};
use bgp::wire::attrs::Aggregator;
use bgp::wire::prefix::NlriIter;
use bgp::wire::{
    AsPath, Capability, Community, DecodeContext, Family, HEADER_LEN, Message, NextHop, Origin,
    Prefix, Update, frame,
};

fn vectors() -> HashMap<String, Vec<u8>> {
    include_str!("vectors/frr-8.4.4.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, hex) = l.split_once(' ').unwrap();
            (name.to_string(), hex::decode(hex).unwrap())
        })
        .collect()
}

fn body<'a>(v: &'a HashMap<String, Vec<u8>>, name: &str) -> &'a [u8] {
    let bytes = &v[name];
    let f = frame(bytes).unwrap().unwrap();
    assert_eq!(f.len, bytes.len(), "{name}: one whole message");
    &bytes[HEADER_LEN..]
}

const AS4: DecodeContext = DecodeContext {
    four_octet_as: true,
    ebgp: true,
    enforce_first_as: Some(4_200_000_001),
};
const AS2: DecodeContext = DecodeContext {
    four_octet_as: false,
    ebgp: true,
    enforce_first_as: Some(23456),
};

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

#[test]
fn open_with_capabilities_decodes_and_reencodes_byte_for_byte_through_bgprs() {
    let v = vectors();
    let bytes = &v["as4_open"];
    let f = frame(bytes).unwrap().unwrap();
    let Message::Open(open) = Message::decode(f, bytes).unwrap() else {
        panic!("not an OPEN")
    };
    // tshark: My AS 23456, Hold Time 3, BGP Identifier 10.0.0.1, 4-octet AS 4200000001.
    assert_eq!(open.my_as, 23456);
    assert_eq!(open.hold_time, 3);
    assert_eq!(open.bgp_id, Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(open.asn(), 4_200_000_001);
    assert_eq!(
        open.families(),
        vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
    );
    assert!(open.route_refresh());
    assert!(
        open.graceful_restart().unwrap().restart_state,
        "tshark: Restart state: Yes"
    );
    // Capabilities we do not interpret are kept: Cisco route refresh (128), enhanced route
    // refresh (70), extended message (6), ADD-PATH (69), FQDN (73), LLGR (71).
    let unknown: Vec<u8> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Unknown { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(unknown, vec![128, 70, 6, 69, 73, 71]);
    let mut again = Vec::new();
    open.encode(&mut again);
    assert_eq!(
        hex::encode(&again),
        hex::encode(bytes),
        "bgp-rs re-encodes FRR's OPEN exactly"
    );

    let bytes = &v["as2_open_no_capabilities"];
    let f = frame(bytes).unwrap().unwrap();
    let Message::Open(open) = Message::decode(f, bytes).unwrap() else {
        panic!("not an OPEN")
    };
    assert_eq!(
        (open.my_as, open.asn(), open.capabilities.len()),
        (23456, 23456, 0)
    );
    assert_eq!(
        open.families(),
        vec![Family::Ipv4Unicast],
        "RFC 4760 §8: no MP capability is IPv4 only"
    );
    let mut again = Vec::new();
    open.encode(&mut again);
    assert_eq!(again, *bytes);
}

#[test]
fn update_with_communities_large_and_extended_communities() {
    let v = vectors();
    let u = Update::decode(body(&v, "as4_update_v4_communities"), &AS4).unwrap();
    assert!(
        u.treat_as_withdraw.is_none() && u.problems.is_empty(),
        "{:?}",
        u.problems
    );
    let a = u.attrs.clone().unwrap();
    assert_eq!(a.origin, Origin::Igp);
    assert_eq!(a.as_path, AsPath::sequence([4_200_000_001, 65001, 65002]));
    assert_eq!(a.next_hop, NextHop::V4(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(a.med, Some(42));
    assert_eq!(
        a.communities,
        vec![Community::new(65001, 100), Community::new(65001, 200)]
    );
    // EXTENDED_COMMUNITIES (16, RT 65001:7) and LARGE_COMMUNITY (32, 65001:1:2) pass through.
    let codes: Vec<u8> = a.other.iter().map(|r| r.code).collect();
    assert_eq!(codes, vec![16, 32]);
    assert_eq!(&*a.other[0].value, &[0x00, 0x02, 0xfd, 0xe9, 0, 0, 0, 7]);
    assert_eq!(
        &*a.other[1].value,
        &[0, 0, 0xfd, 0xe9, 0, 0, 0, 1, 0, 0, 0, 2]
    );
    assert!(
        a.other.iter().all(|r| r.flags & 0x20 != 0),
        "Partial set when passed on"
    );
    assert_eq!(
        u.announced_v4().collect::<Vec<_>>(),
        vec![p("192.0.2.0/24")]
    );
}

#[test]
fn mp_reach_ipv6_with_link_local_next_hop() {
    let v = vectors();
    let u = Update::decode(body(&v, "as4_update_v6_mp_reach"), &AS4).unwrap();
    let mp = u.mp_reach.clone().unwrap();
    assert_eq!(mp.family, Family::Ipv6Unicast);
    // tshark: Next hop: IPv6=2001:db8::1 Link-local=fe80::88c9:2bff:fe16:5e4
    assert_eq!(
        mp.next_hop,
        NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: Some("fe80::88c9:2bff:fe16:5e4".parse().unwrap())
        }
    );
    assert_eq!(
        NlriIter::new(mp.nlri, mp.family).collect::<Vec<_>>(),
        vec![p("2001:db8:100::/48")]
    );
    assert_eq!(u.attrs.unwrap().med, Some(42));
}

#[test]
fn plain_updates_aggregator_end_of_rib_and_withdrawals() {
    let v = vectors();
    let u = Update::decode(body(&v, "as4_update_v4_two_prefixes"), &AS4).unwrap();
    assert_eq!(
        u.announced_v4().collect::<Vec<_>>(),
        vec![p("198.18.0.0/15"), p("203.0.113.0/25")]
    );
    assert_eq!(u.attrs.unwrap().med, Some(0));

    let u = Update::decode(body(&v, "as4_update_aggregator"), &AS4).unwrap();
    let a = u.attrs.unwrap();
    assert_eq!(
        a.aggregator,
        Some(Aggregator {
            asn: 4_200_000_001,
            addr: Ipv4Addr::new(10, 0, 0, 1)
        })
    );
    assert_eq!(u.nlri, &[24, 203, 0, 113][..]);

    assert_eq!(
        Update::decode(body(&v, "as4_eor_v4"), &AS4)
            .unwrap()
            .end_of_rib(),
        Some(Family::Ipv4Unicast)
    );
    assert_eq!(
        Update::decode(body(&v, "as4_eor_v6"), &AS4)
            .unwrap()
            .end_of_rib(),
        Some(Family::Ipv6Unicast)
    );

    let u = Update::decode(body(&v, "as4_withdraw_v4"), &AS4).unwrap();
    assert_eq!(
        u.withdrawn_v4().collect::<Vec<_>>(),
        vec![p("198.18.0.0/15")]
    );
    assert_eq!(u.end_of_rib(), None);
    let u = Update::decode(body(&v, "as4_withdraw_v6"), &AS4).unwrap();
    let (f, n) = u.mp_unreach.unwrap();
    assert_eq!(
        NlriIter::new(n, f).collect::<Vec<_>>(),
        vec![p("2001:db8:100::/48")]
    );
}

#[test]
fn two_octet_session_as_trans_with_as4_path_and_as4_aggregator_rfc6793() {
    let v = vectors();
    // tshark: AS_PATH 23456 65001 65002 (2-octet), AS4_PATH 4200000001 65001 65002.
    let u = Update::decode(body(&v, "as2_update_as_trans_as4_path"), &AS2).unwrap();
    assert!(u.treat_as_withdraw.is_none(), "{:?}", u.treat_as_withdraw);
    let a = u.attrs.unwrap();
    assert_eq!(
        a.as_path,
        AsPath::sequence([4_200_000_001, 65001, 65002]),
        "AS4_PATH merged (§4.2.3)"
    );
    assert!(
        a.other.iter().all(|r| r.code != 17),
        "AS4_PATH is consumed, not passed on raw"
    );
    // tshark: AGGREGATOR AS 23456, AS4_AGGREGATOR 4200000001.
    let u = Update::decode(body(&v, "as2_update_as4_aggregator"), &AS2).unwrap();
    assert_eq!(
        u.attrs.unwrap().aggregator.map(|x| x.asn),
        Some(4_200_000_001)
    );
}

#[test]
fn rib_ignores_a_family_that_was_not_negotiated() {
    let v = vectors();
    let mut rib = Rib::new(
        RibConfig {
            local_as: 64512,
            router_id: Ipv4Addr::new(10, 0, 0, 2),
            max_paths: 1,
            fib: false,
        },
        Box::new(DefaultPolicy),
    );
    let idx = rib.add_peer(
        "frr".into(),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        23456,
        PeerPolicy::default(),
    );
    rib.peer_up(
        idx,
        SessionInfo {
            four_octet_as: false,
            families: vec![Family::Ipv4Unicast],
            local_v4: Some(Ipv4Addr::new(10, 0, 0, 2)),
            local_v6: None,
            peer_id: Ipv4Addr::new(10, 0, 0, 1),
        },
    );
    for name in [
        "as2_update_as_trans_as4_path",
        "as2_update_v6_not_negotiated",
        "as2_update_v4_two_prefixes",
    ] {
        let u = Update::decode(body(&v, name), &AS2).unwrap();
        rib.apply_update(idx, &u).unwrap();
    }
    assert_eq!(rib.loc_rib_len(Family::Ipv4Unicast), 3);
    assert_eq!(
        rib.loc_rib_len(Family::Ipv6Unicast),
        0,
        "FRR sent IPv6 without the capability"
    );
    let sel = rib.selected(p("192.0.2.0/24"));
    assert_eq!(
        sel[0].1.as_path,
        AsPath::sequence([4_200_000_001, 65001, 65002])
    );
}
