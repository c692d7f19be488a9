//! Property tests for the wire codec: decode(encode(x)) == x, byte-exact agreement with bgp-rs
//! where we still use or mirror it, and "never panics" on arbitrary and mutated input.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::attrs::{Aggregator, EncodeContext, encode_attrs};
use bgp::wire::update::{pack_announce, pack_withdraw};
use bgp::wire::{
    AsPath, AsSegment, Capability, Community, DecodeContext, Family, HEADER_LEN, Message, NextHop,
    Open, Origin, PathAttrs, Prefix, SegmentKind, Update, frame,
};
use proptest::prelude::*;

fn origin() -> impl Strategy<Value = Origin> {
    prop_oneof![
        Just(Origin::Igp),
        Just(Origin::Egp),
        Just(Origin::Incomplete)
    ]
}

fn as_path(four: bool) -> impl Strategy<Value = AsPath> {
    let asn = if four {
        (1u32..=u32::MAX).boxed()
    } else {
        (1u32..=65535).boxed()
    };
    let seg = (
        prop_oneof![Just(SegmentKind::Sequence), Just(SegmentKind::Set)],
        prop::collection::vec(asn, 1..8),
    )
        .prop_map(|(kind, asns)| AsSegment { kind, asns });
    prop::collection::vec(seg, 0..4).prop_map(|segments| AsPath { segments })
}

fn attrs(four: bool, v6: bool) -> impl Strategy<Value = PathAttrs> {
    (
        origin(),
        as_path(four),
        any::<u32>(),
        prop::option::of(any::<u32>()),
        any::<bool>(),
        prop::option::of((any::<u32>(), any::<u32>())),
        prop::collection::vec(any::<u32>(), 0..6),
        any::<u128>(),
    )
        .prop_map(
            move |(origin, as_path, nh, med, atomic, agg, comms, nh6)| PathAttrs {
                origin,
                as_path,
                next_hop: if v6 {
                    NextHop::V6 {
                        global: Ipv6Addr::from(nh6 | 1 << 125),
                        link_local: None,
                    }
                } else {
                    NextHop::V4(Ipv4Addr::from((nh % 0xdfff_ffff).max(1)))
                },
                med,
                local_pref: None,
                atomic_aggregate: atomic,
                aggregator: agg.map(|(asn, addr)| Aggregator {
                    asn: if four { asn } else { asn & 0xffff },
                    addr: Ipv4Addr::from(addr),
                }),
                communities: comms.into_iter().map(Community).collect(),
                other: Vec::new(),
            },
        )
}

fn v4_prefix() -> impl Strategy<Value = Prefix> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Prefix::new(Ipv4Addr::from(a).into(), l).unwrap())
}

fn v6_prefix() -> impl Strategy<Value = Prefix> {
    (any::<u128>(), 0u8..=128).prop_map(|(a, l)| Prefix::new(Ipv6Addr::from(a).into(), l).unwrap())
}

fn decode_all(
    mut buf: &[u8],
    ctx: &DecodeContext,
) -> Vec<(Option<PathAttrs>, Vec<Prefix>, Vec<Prefix>)> {
    let mut out = Vec::new();
    while let Some(f) = frame(buf).unwrap() {
        let u = Update::decode(&buf[HEADER_LEN..f.len], ctx).unwrap();
        assert!(u.treat_as_withdraw.is_none(), "{:?}", u.treat_as_withdraw);
        let mut ann: Vec<Prefix> = u.announced_v4().collect();
        let mut wd: Vec<Prefix> = u.withdrawn_v4().collect();
        let mut attrs = u.attrs.clone();
        if let Some(mp) = &u.mp_reach {
            ann.extend(bgp::wire::prefix::NlriIter::new(mp.nlri, mp.family));
            if let Some(a) = attrs.as_mut() {
                a.next_hop = mp.next_hop;
            }
        }
        if let Some((f, n)) = u.mp_unreach {
            wd.extend(bgp::wire::prefix::NlriIter::new(n, f));
        }
        out.push((attrs, ann, wd));
        buf = &buf[f.len..];
    }
    assert!(buf.is_empty());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn update_v4_round_trips(four in any::<bool>(), ibgp in any::<bool>(), a in any::<bool>().prop_flat_map(|f| attrs(f, false)),
                             prefixes in prop::collection::vec(v4_prefix(), 1..1500)) {
        // With `four` false, 4-octet ASNs travel as AS_TRANS plus AS4_PATH and must come back.
        let mut a = a;
        if ibgp { a.local_pref = Some(100); }
        let enc = EncodeContext { four_octet_as: four, ibgp };
        let dec = DecodeContext { four_octet_as: four, ebgp: !ibgp, enforce_first_as: None };
        let mut ab = Vec::new();
        encode_attrs(&mut ab, &a, &enc, true);
        let mut out = Vec::new();
        let mut done = 0;
        while done < prefixes.len() {
            let n = pack_announce(&mut out, Family::Ipv4Unicast, &ab, &a.next_hop, &prefixes[done..]);
            prop_assert!(n > 0);
            done += n;
        }
        let mut got = Vec::new();
        for (attrs, ann, _) in decode_all(&out, &dec) {
            let mut expect = a.clone();
            expect.as_path = normalise(&expect.as_path);
            let mut attrs = attrs.unwrap();
            attrs.as_path = normalise(&attrs.as_path);
            prop_assert_eq!(attrs, expect);
            got.extend(ann);
        }
        prop_assert_eq!(got, prefixes);
    }

    #[test]
    fn update_v6_round_trips(a in attrs(true, true), prefixes in prop::collection::vec(v6_prefix(), 1..500)) {
        let mut ab = Vec::new();
        encode_attrs(&mut ab, &a, &EncodeContext { four_octet_as: true, ibgp: false }, false);
        let mut out = Vec::new();
        let mut done = 0;
        while done < prefixes.len() {
            done += pack_announce(&mut out, Family::Ipv6Unicast, &ab, &a.next_hop, &prefixes[done..]);
        }
        let dec = DecodeContext { four_octet_as: true, ebgp: true, enforce_first_as: None };
        let mut got = Vec::new();
        for (attrs, ann, _) in decode_all(&out, &dec) {
            prop_assert_eq!(attrs.unwrap(), a.clone());
            got.extend(ann);
        }
        prop_assert_eq!(got, prefixes);
    }

    #[test]
    fn withdrawals_round_trip(v4 in prop::collection::vec(v4_prefix(), 1..1500), v6 in prop::collection::vec(v6_prefix(), 1..500)) {
        let dec = DecodeContext { four_octet_as: true, ebgp: true, enforce_first_as: None };
        for (family, ps) in [(Family::Ipv4Unicast, v4), (Family::Ipv6Unicast, v6)] {
            let mut out = Vec::new();
            let mut done = 0;
            while done < ps.len() {
                done += pack_withdraw(&mut out, family, &ps[done..]);
            }
            let got: Vec<Prefix> = decode_all(&out, &dec).into_iter().flat_map(|(_, _, w)| w).collect();
            prop_assert_eq!(got, ps);
        }
    }

    #[test]
    fn open_round_trips(my_as in any::<u16>(), hold in prop_oneof![Just(0u16), 3u16..], id in 1u32.., asn in any::<u32>(), rr in any::<bool>()) {
        let mut caps = vec![Capability::Multiprotocol { afi: 1, safi: 1 }, Capability::FourOctetAs(asn)];
        if rr { caps.push(Capability::RouteRefresh); }
        let open = Open { my_as, hold_time: hold, bgp_id: Ipv4Addr::from(id), capabilities: caps };
        let mut out = Vec::new();
        open.encode(&mut out);
        let f = frame(&out).unwrap().unwrap();
        prop_assert_eq!(Message::decode(f, &out).unwrap(), Message::Open(open));
    }

    /// Our UPDATE encoder and bgp-rs's agree byte for byte on what bgp-rs can encode
    /// (bgp-rs picks 2- or 4-octet AS_PATH from the ASN values, so the session width follows it).
    #[test]
    fn update_bytes_match_bgprs(big in any::<bool>(), seq in prop::collection::vec(1u32..65535, 1..10),
                                nh in 1u32..0xdfff_ffff, med in prop::option::of(any::<u32>()),
                                comms in prop::collection::vec(any::<u32>(), 0..5),
                                prefixes in prop::collection::vec(v4_prefix(), 1..200)) {
        let seq: Vec<u32> = if big { seq.iter().map(|a| a + 70_000).collect() } else { seq };
        let a = PathAttrs {
            origin: Origin::Igp,
            as_path: AsPath::sequence(seq.clone()),
            next_hop: NextHop::V4(Ipv4Addr::from(nh)),
            med,
            communities: comms.iter().copied().map(Community).collect(),
            ..Default::default()
        };
        let mut ab = Vec::new();
        encode_attrs(&mut ab, &a, &EncodeContext { four_octet_as: big, ibgp: false }, true);
        let mut ours = Vec::new();
        let n = pack_announce(&mut ours, Family::Ipv4Unicast, &ab, &a.next_hop, &prefixes);
        prop_assume!(n == prefixes.len());

        use bgp_rs::{ASPath, NLRIEncoding, PathAttribute as B, Segment};
        let mut battrs = vec![
            B::ORIGIN(bgp_rs::Origin::IGP),
            B::AS_PATH(ASPath { segments: vec![Segment::AS_SEQUENCE(seq)] }),
            B::NEXT_HOP(Ipv4Addr::from(nh).into()),
        ];
        if let Some(m) = med { battrs.push(B::MULTI_EXIT_DISC(m)); }
        if !comms.is_empty() { battrs.push(B::COMMUNITY(comms)); }
        let upd = bgp_rs::Update {
            withdrawn_routes: vec![],
            attributes: battrs,
            announced_routes: prefixes.iter().map(|p| NLRIEncoding::IP((p.addr(), p.len()).into())).collect(),
        };
        let mut theirs = Vec::new();
        bgp_rs::Message::Update(upd).encode(&mut theirs).unwrap();
        prop_assert_eq!(hex::encode(&ours), hex::encode(&theirs));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), four in any::<bool>()) {
        exercise(&bytes, four);
        let mut framed = vec![0xff; 16];
        framed.extend_from_slice(&((bytes.len() + 19).min(4096) as u16).to_be_bytes());
        framed.push(bytes.first().map_or(2, |b| b % 6));
        framed.extend_from_slice(&bytes);
        exercise(&framed, four);
    }

    #[test]
    fn mutated_updates_never_panic(a in attrs(false, false), prefixes in prop::collection::vec(v4_prefix(), 1..50),
                                   flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut ab = Vec::new();
        encode_attrs(&mut ab, &a, &EncodeContext { four_octet_as: false, ibgp: false }, true);
        let mut out = Vec::new();
        pack_announce(&mut out, Family::Ipv4Unicast, &ab, &a.next_hop, &prefixes);
        for (i, v) in flips {
            let i = i.index(out.len());
            out[i] = v;
        }
        exercise(&out, false);
        exercise(&out, true);
    }
}

/// Merge adjacent AS_SEQUENCE segments (the AS4 merge joins them; the meaning is the same).
fn normalise(p: &AsPath) -> AsPath {
    let mut out: Vec<AsSegment> = Vec::new();
    for s in &p.segments {
        match out.last_mut() {
            Some(l)
                if l.kind == SegmentKind::Sequence
                    && s.kind == SegmentKind::Sequence
                    && l.asns.len() + s.asns.len() <= 255 =>
            {
                l.asns.extend(&s.asns)
            }
            _ => out.push(s.clone()),
        }
    }
    AsPath { segments: out }
}

fn exercise(bytes: &[u8], four: bool) {
    if let Ok(Some(f)) = frame(bytes)
        && let Ok(Message::Update(body)) = Message::decode(f, bytes)
    {
        let ctx = DecodeContext {
            four_octet_as: four,
            ebgp: true,
            enforce_first_as: Some(65001),
        };
        if let Ok(u) = Update::decode(body, &ctx) {
            let _ = u.prefix_count();
            let _ = u.end_of_rib();
        }
    }
    let ctx = DecodeContext {
        four_octet_as: four,
        ebgp: false,
        enforce_first_as: None,
    };
    if let Ok(u) = Update::decode(bytes, &ctx) {
        let _ = u.prefix_count();
    }
    let _ = Open::decode(bytes);
    let _ = bgp::wire::Notification::decode(bytes);
    let _ = bgp::wire::RouteRefresh::decode(bytes);
}
