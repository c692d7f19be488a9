//! RIB tests: selection, ECMP, eBGP/iBGP export rules, UPDATE packing, max-prefix, RFC 7606
//! treat-as-withdraw, graceful-restart stale handling, the policy hook, and no leaked attributes.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::*;
use crate::wire::attrs::{DecodeContext, EncodeContext, encode_attrs};
use crate::wire::update::{pack_announce, pack_withdraw};
use crate::wire::{AsPath, HEADER_LEN, Message, frame};

const LOCAL_AS: u32 = 64512;

fn rib(max_paths: u8) -> Rib {
    Rib::new(
        RibConfig {
            local_as: LOCAL_AS,
            router_id: Ipv4Addr::new(10, 255, 0, 1),
            max_paths,
            fib: true,
        },
        Box::new(DefaultPolicy),
    )
}

fn session(families: &[Family], local: [u8; 4], id: u8) -> SessionInfo {
    SessionInfo {
        four_octet_as: true,
        families: families.to_vec(),
        local_v4: Some(Ipv4Addr::from(local)),
        local_v6: None,
        peer_id: Ipv4Addr::new(10, 0, 0, id),
    }
}

fn add(r: &mut Rib, n: u8, asn: u32, policy: PeerPolicy) -> PeerIdx {
    let idx = r.add_peer(
        format!("p{n}"),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
        asn,
        policy,
    );
    r.peer_up(idx, session(&[Family::Ipv4Unicast], [192, 0, 2, 100], n));
    idx
}

fn attrs(path: &[u32], nh: u8) -> PathAttrs {
    PathAttrs {
        as_path: AsPath::sequence(path.iter().copied()),
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, nh)),
        ..Default::default()
    }
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn announce_bytes(a: &PathAttrs, prefixes: &[Prefix]) -> Vec<u8> {
    let mut ab = Vec::new();
    encode_attrs(
        &mut ab,
        a,
        &EncodeContext {
            four_octet_as: true,
            ibgp: a.local_pref.is_some(),
        },
        true,
    );
    let mut out = Vec::new();
    assert_eq!(
        pack_announce(&mut out, Family::Ipv4Unicast, &ab, &a.next_hop, prefixes),
        prefixes.len()
    );
    out
}

fn apply(r: &mut Rib, idx: PeerIdx, bytes: &[u8]) -> Result<UpdateStats, MaxPrefixExceeded> {
    let ebgp = r.peer_info(idx).unwrap().ebgp;
    let ctx = DecodeContext {
        four_octet_as: true,
        ebgp,
        enforce_first_as: None,
    };
    let u = Update::decode(&bytes[HEADER_LEN..], &ctx).unwrap();
    r.apply_update(idx, &u)
}

fn withdraw_bytes(prefixes: &[Prefix]) -> Vec<u8> {
    let mut out = Vec::new();
    pack_withdraw(&mut out, Family::Ipv4Unicast, prefixes);
    out
}

/// Decodes what the RIB sent to a neighbor: (announced with attrs, withdrawn, EoR count).
fn decode_out(bytes: &[u8]) -> (Vec<(Prefix, PathAttrs)>, Vec<Prefix>, usize, usize) {
    let mut ann = Vec::new();
    let mut wd = Vec::new();
    let mut eor = 0;
    let mut messages = 0;
    let mut buf = bytes;
    while let Some(f) = frame(buf).unwrap() {
        let Ok(Message::Update(body)) = Message::decode(f, &buf[..f.len]) else {
            panic!()
        };
        let u = Update::decode(
            body,
            &DecodeContext {
                four_octet_as: true,
                ebgp: false,
                enforce_first_as: None,
            },
        )
        .unwrap();
        if u.end_of_rib().is_some() {
            eor += 1;
        }
        for x in u.announced_v4() {
            ann.push((x, u.attrs.clone().unwrap()));
        }
        wd.extend(u.withdrawn_v4());
        messages += 1;
        buf = &buf[f.len..];
    }
    (ann, wd, eor, messages)
}

#[test]
fn best_path_is_shortest_as_path_and_fib_follows() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let b = add(&mut r, 2, 65002, PeerPolicy::default());
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001, 7, 8], 1), &[p("10.0.0.0/24")]),
    )
    .unwrap();
    assert_eq!(
        r.take_fib_changes(usize::MAX),
        vec![FibChange::Replace {
            prefix: p("10.0.0.0/24"),
            next_hops: vec!["192.0.2.1".parse().unwrap()],
            new: true,
        }]
    );
    apply(
        &mut r,
        b,
        &announce_bytes(&attrs(&[65002, 8], 2), &[p("10.0.0.0/24")]),
    )
    .unwrap();
    assert_eq!(r.selected(p("10.0.0.0/24"))[0].0, b);
    assert_eq!(
        r.take_fib_changes(usize::MAX),
        vec![FibChange::Replace {
            prefix: p("10.0.0.0/24"),
            next_hops: vec!["192.0.2.2".parse().unwrap()],
            new: false,
        }]
    );
    // Withdraw from b: back to a. Withdraw from a: gone.
    apply(&mut r, b, &withdraw_bytes(&[p("10.0.0.0/24")])).unwrap();
    assert_eq!(r.selected(p("10.0.0.0/24"))[0].0, a);
    r.take_fib_changes(usize::MAX);
    apply(&mut r, a, &withdraw_bytes(&[p("10.0.0.0/24")])).unwrap();
    assert_eq!(
        r.take_fib_changes(usize::MAX),
        vec![FibChange::Delete {
            prefix: p("10.0.0.0/24")
        }]
    );
    assert_eq!(r.loc_rib_len(Family::Ipv4Unicast), 0);
    assert_eq!(
        r.attr_sets(),
        0,
        "attribute sets are released with their last route"
    );
}

#[test]
fn ecmp_selects_equal_paths_with_the_same_as_path() {
    let mut r = rib(4);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let b = add(&mut r, 2, 65001, PeerPolicy::default());
    let c = add(&mut r, 3, 65003, PeerPolicy::default());
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001, 9], 1), &[p("10.9.0.0/16")]),
    )
    .unwrap();
    apply(
        &mut r,
        b,
        &announce_bytes(&attrs(&[65001, 9], 2), &[p("10.9.0.0/16")]),
    )
    .unwrap();
    apply(
        &mut r,
        c,
        &announce_bytes(&attrs(&[65003, 9], 3), &[p("10.9.0.0/16")]),
    )
    .unwrap();
    let changes = r.take_fib_changes(usize::MAX);
    let Some(FibChange::Replace { next_hops, .. }) = changes.last() else {
        panic!("{changes:?}")
    };
    let mut nh = next_hops.clone();
    nh.sort();
    assert_eq!(
        nh,
        vec![
            "192.0.2.1".parse::<IpAddr>().unwrap(),
            "192.0.2.2".parse().unwrap()
        ]
    );
    assert_eq!(r.selected(p("10.9.0.0/16")).len(), 2);
}

#[test]
fn own_as_in_path_is_filtered_not_selected() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let s = apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001, LOCAL_AS], 1), &[p("10.1.0.0/16")]),
    )
    .unwrap();
    assert_eq!(s.filtered, 1);
    assert_eq!(r.loc_rib_len(Family::Ipv4Unicast), 0);
    assert_eq!(
        r.counters(a, Family::Ipv4Unicast),
        Counters {
            received: 1,
            accepted: 0,
            advertised: 0
        }
    );
    let v = r.route(p("10.1.0.0/16")).unwrap();
    assert!(v.paths[0].filtered && !v.paths[0].selected);
}

#[test]
fn ebgp_export_prepends_sets_next_hop_and_packs() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let mut opts = PeerPolicy {
        as_path_prepend: 2,
        med: Some(50),
        ..Default::default()
    };
    opts.add_communities.push(Community::new(64512, 1));
    let b = add(&mut r, 2, 65002, opts);
    // Initial dump of an empty table is just End-of-RIB.
    let (ann, _, eor, _) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert!(ann.is_empty());
    assert_eq!(eor, 1);
    let prefixes: Vec<Prefix> = (0..3000u32)
        .map(|i| Prefix::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap())
        .collect();
    let mut src = attrs(&[65001], 1);
    src.med = Some(7);
    for chunk in prefixes.chunks(900) {
        apply(&mut r, a, &announce_bytes(&src, chunk)).unwrap();
    }
    let (ann, wd, _, messages) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert!(wd.is_empty());
    assert_eq!(ann.len(), 3000);
    assert!(messages <= 4, "packed {messages} messages for 3000 /24s");
    let sent = &ann[0].1;
    assert_eq!(
        sent.as_path,
        AsPath::sequence([LOCAL_AS, LOCAL_AS, LOCAL_AS, 65001])
    );
    assert_eq!(sent.next_hop, NextHop::V4(Ipv4Addr::new(192, 0, 2, 100)));
    assert_eq!(
        sent.med,
        Some(50),
        "configured MED replaces the received one"
    );
    assert_eq!(sent.communities, vec![Community::new(64512, 1)]);
    assert_eq!(r.counters(b, Family::Ipv4Unicast).advertised, 3000);
    // Not sent back to the neighbor it came from.
    let (ann, _, _, _) = decode_out(&r.take_outgoing(a, 1 << 20));
    assert!(ann.is_empty());
    // Withdrawals propagate.
    apply(&mut r, a, &withdraw_bytes(&prefixes[..10])).unwrap();
    let (ann, wd, _, _) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert!(ann.is_empty());
    assert_eq!(wd, prefixes[..10].to_vec());
    assert_eq!(r.counters(b, Family::Ipv4Unicast).advertised, 2990);
}

#[test]
fn an_advertising_limit_sends_at_most_that_many_and_keeps_updating_them() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let b = add(
        &mut r,
        2,
        65002,
        PeerPolicy {
            max_advertise: Some(1000),
            ..Default::default()
        },
    );
    let _ = r.take_outgoing(b, 1 << 20);
    let prefixes: Vec<Prefix> = (0..1200u32)
        .map(|i| Prefix::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap())
        .collect();
    for chunk in prefixes.chunks(600) {
        apply(&mut r, a, &announce_bytes(&attrs(&[65001], 1), chunk)).unwrap();
    }
    let (ann, _, _, _) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert_eq!(ann.len(), 1000, "AWS advertises up to 1000 prefixes");
    assert_eq!(r.counters(b, Family::Ipv4Unicast).advertised, 1000);
    // A change of an advertised prefix still goes out; a new one does not while full.
    let sent: Vec<Prefix> = ann.iter().map(|(p, _)| *p).collect();
    let held: Vec<Prefix> = prefixes
        .iter()
        .filter(|p| !sent.contains(p))
        .copied()
        .collect();
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001, 65001], 1), &[sent[0], held[0]]),
    )
    .unwrap();
    let (ann, _, _, _) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert_eq!(
        ann.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        vec![sent[0]]
    );
    // Room frees up: the next change of a held prefix goes out.
    apply(&mut r, a, &withdraw_bytes(&sent[1..2])).unwrap();
    let _ = r.take_outgoing(b, 1 << 20);
    apply(&mut r, a, &announce_bytes(&attrs(&[65001], 1), &held[..1])).unwrap();
    let (ann, _, _, _) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert_eq!(
        ann.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        vec![held[0]]
    );
    assert_eq!(r.counters(b, Family::Ipv4Unicast).advertised, 1000);
}

#[test]
fn export_local_only_sends_originated_routes_and_nothing_learned() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let b = add(
        &mut r,
        2,
        65002,
        PeerPolicy {
            export_local_only: true,
            ..Default::default()
        },
    );
    let _ = r.take_outgoing(b, 1 << 20);
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &[p("10.1.0.0/16")]),
    )
    .unwrap();
    r.originate(p("172.31.0.0/16"), PathAttrs::default());
    let (ann, ..) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert_eq!(
        ann.iter().map(|(x, _)| *x).collect::<Vec<_>>(),
        vec![p("172.31.0.0/16")],
        "only the originated route"
    );
}

#[test]
fn received_med_is_not_passed_to_another_as() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let b = add(&mut r, 2, 65002, PeerPolicy::default());
    r.take_outgoing(b, 1 << 20);
    let mut src = attrs(&[65001], 1);
    src.med = Some(7);
    apply(&mut r, a, &announce_bytes(&src, &[p("10.0.0.0/8")])).unwrap();
    let (ann, ..) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert_eq!(ann[0].1.med, None);
}

fn sent_prefixes(r: &mut Rib, i: PeerIdx) -> Vec<Prefix> {
    decode_out(&r.take_outgoing(i, 1 << 20))
        .0
        .into_iter()
        .map(|x| x.0)
        .collect()
}

#[test]
fn well_known_communities_and_ibgp_rules() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let ebgp = add(&mut r, 2, 65002, PeerPolicy::default());
    let ibgp = add(&mut r, 3, LOCAL_AS, PeerPolicy::default());
    let ibgp2 = add(&mut r, 4, LOCAL_AS, PeerPolicy::default());
    for i in [ebgp, ibgp, ibgp2] {
        r.take_outgoing(i, 1 << 20);
    }
    let mut no_export = attrs(&[65001], 1);
    no_export.communities = vec![Community::NO_EXPORT];
    let mut no_adv = attrs(&[65001], 1);
    no_adv.communities = vec![Community::NO_ADVERTISE];
    apply(&mut r, a, &announce_bytes(&no_export, &[p("10.1.0.0/16")])).unwrap();
    apply(&mut r, a, &announce_bytes(&no_adv, &[p("10.2.0.0/16")])).unwrap();
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &[p("10.3.0.0/16")]),
    )
    .unwrap();
    assert_eq!(sent_prefixes(&mut r, ebgp), vec![p("10.3.0.0/16")]);
    let to_ibgp = decode_out(&r.take_outgoing(ibgp, 1 << 20)).0;
    let mut got: Vec<Prefix> = to_ibgp.iter().map(|x| x.0).collect();
    got.sort();
    assert_eq!(got, vec![p("10.1.0.0/16"), p("10.3.0.0/16")]);
    assert_eq!(
        to_ibgp[0].1.local_pref,
        Some(100),
        "LOCAL_PREF sent to iBGP"
    );
    assert_eq!(
        to_ibgp[0].1.next_hop,
        NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        "next hop unchanged on iBGP"
    );
    // A route learned over iBGP is not sent to another iBGP neighbor, but is sent to eBGP.
    assert_eq!(
        sent_prefixes(&mut r, ibgp2).len(),
        2,
        "eBGP-learned routes go to iBGP"
    );
    let mut ib = attrs(&[65009], 3);
    ib.local_pref = Some(300);
    apply(&mut r, ibgp, &announce_bytes(&ib, &[p("10.4.0.0/16")])).unwrap();
    assert_eq!(sent_prefixes(&mut r, ibgp2), Vec::<Prefix>::new());
    assert_eq!(sent_prefixes(&mut r, ebgp), vec![p("10.4.0.0/16")]);
}

#[test]
fn max_prefix_counts_received_and_reports_the_limit() {
    let mut r = rib(1);
    let mp = MaxPrefix {
        limit: 100,
        restart_after: Some(Duration::from_secs(30)),
        warning_only: false,
    };
    let a = add(
        &mut r,
        1,
        65001,
        PeerPolicy {
            max_prefix: Some(mp),
            ..Default::default()
        },
    );
    let prefixes: Vec<Prefix> = (0..101u32)
        .map(|i| Prefix::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap())
        .collect();
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &prefixes[..100]),
    )
    .unwrap();
    let e = apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &prefixes[100..]),
    )
    .unwrap_err();
    assert_eq!(
        (e.limit, e.count, e.family),
        (100, 101, Family::Ipv4Unicast)
    );
    // Checked before install: the 101st never entered the Loc-RIB.
    assert_eq!(r.loc_rib_len(Family::Ipv4Unicast), 100);
    assert_eq!(r.counters(a, Family::Ipv4Unicast).received, 100);
    // At the limit, replacing known prefixes and withdraw-then-announce in one UPDATE are fine.
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001, 65001], 1), &prefixes[..100]),
    )
    .unwrap();
    // Over it in a batch that mixes known and new prefixes: nothing of the batch is applied.
    let mixed: Vec<Prefix> = prefixes[98..].to_vec();
    let e = apply(&mut r, a, &announce_bytes(&attrs(&[65001], 1), &mixed)).unwrap_err();
    assert_eq!(e.count, 101);
    assert_eq!(r.loc_rib_len(Family::Ipv4Unicast), 100);
    // The driver then stops the session and the RIB drops the routes.
    r.peer_down(a, None);
    assert_eq!(r.loc_rib_len(Family::Ipv4Unicast), 0);
    assert_eq!(r.counters(a, Family::Ipv4Unicast).received, 0);
    assert_eq!(r.attr_sets(), 0);
}

#[test]
fn treat_as_withdraw_removes_the_prefixes() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &[p("10.0.0.0/8")]),
    )
    .unwrap();
    // Same prefix again with an invalid ORIGIN (7): RFC 7606 treat-as-withdraw.
    let mut bytes = announce_bytes(&attrs(&[65001], 1), &[p("10.0.0.0/8")]);
    bytes[HEADER_LEN + 4 + 3] = 7;
    let s = apply(&mut r, a, &bytes).unwrap();
    assert_eq!(s.withdrawn, 1);
    assert_eq!(r.loc_rib_len(Family::Ipv4Unicast), 0);
}

#[test]
fn graceful_restart_keeps_stale_routes_until_end_of_rib_or_deadline() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &[p("10.1.0.0/16"), p("10.2.0.0/16")]),
    )
    .unwrap();
    let t0 = Instant::now();
    r.peer_down(
        a,
        Some((t0 + Duration::from_secs(120), &[Family::Ipv4Unicast])),
    );
    assert_eq!(
        r.loc_rib_len(Family::Ipv4Unicast),
        2,
        "stale routes still forward"
    );
    assert!(r.route(p("10.1.0.0/16")).unwrap().paths[0].stale);
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(120)));
    // The peer comes back and re-announces only one prefix, then End-of-RIB.
    r.peer_up(a, session(&[Family::Ipv4Unicast], [192, 0, 2, 100], 1));
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &[p("10.1.0.0/16")]),
    )
    .unwrap();
    assert!(!r.route(p("10.1.0.0/16")).unwrap().paths[0].stale);
    let mut eor = Vec::new();
    crate::wire::update::write_end_of_rib(&mut eor, Family::Ipv4Unicast);
    let s = apply(&mut r, a, &eor).unwrap();
    assert_eq!(s.end_of_rib, Some(Family::Ipv4Unicast));
    assert!(
        r.route(p("10.2.0.0/16")).is_none(),
        "stale route swept at End-of-RIB"
    );
    assert!(r.route(p("10.1.0.0/16")).is_some());

    // Without End-of-RIB the deadline sweeps.
    r.peer_down(
        a,
        Some((t0 + Duration::from_secs(5), &[Family::Ipv4Unicast])),
    );
    r.handle_timeouts(t0 + Duration::from_secs(4));
    assert!(r.route(p("10.1.0.0/16")).is_some());
    r.handle_timeouts(t0 + Duration::from_secs(5));
    assert!(r.route(p("10.1.0.0/16")).is_none());
    assert_eq!(r.poll_timeout(), None);
}

#[derive(Debug)]
struct PreferPeer2AndTagLocalPref;

impl Policy for PreferPeer2AndTagLocalPref {
    fn preference(&self, peer: &PeerInfo, _attrs: &PathAttrs) -> u32 {
        if peer.name == "p2" { 10 } else { 0 }
    }
    fn import(&self, _peer: &PeerInfo, prefix: Prefix, attrs: &PathAttrs) -> Verdict {
        if prefix == p("192.168.0.0/16") {
            return Verdict::Reject;
        }
        if attrs.has_community(Community::new(7224, 7300)) {
            let mut a = attrs.clone();
            a.local_pref = Some(300);
            return Verdict::Modify(a);
        }
        Verdict::Accept
    }
}

#[test]
fn policy_hook_ranks_filters_and_modifies() {
    let mut r = Rib::new(
        RibConfig {
            local_as: LOCAL_AS,
            router_id: Ipv4Addr::new(10, 255, 0, 1),
            max_paths: 1,
            fib: false,
        },
        Box::new(PreferPeer2AndTagLocalPref),
    );
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let b = add(&mut r, 2, 65002, PeerPolicy::default());
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &[p("10.0.0.0/8")]),
    )
    .unwrap();
    apply(
        &mut r,
        b,
        &announce_bytes(&attrs(&[65002, 1, 2, 3], 2), &[p("10.0.0.0/8")]),
    )
    .unwrap();
    assert_eq!(
        r.selected(p("10.0.0.0/8"))[0].0,
        b,
        "preference beats AS_PATH length"
    );
    let s = apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &[p("192.168.0.0/16")]),
    )
    .unwrap();
    assert_eq!(s.filtered, 1);
    let mut tagged = attrs(&[65001], 1);
    tagged.communities = vec![Community::new(7224, 7300)];
    apply(&mut r, a, &announce_bytes(&tagged, &[p("172.16.0.0/12")])).unwrap();
    assert_eq!(r.selected(p("172.16.0.0/12"))[0].1.local_pref, Some(300));
    r.peer_down(a, None);
    r.peer_down(b, None);
    assert_eq!(r.attr_sets(), 0, "modified sets are released too");
}

#[test]
fn import_prefix_filter_keeps_route_as_filtered() {
    let mut r = rib(1);
    let filter = PrefixList(vec![PrefixRule {
        prefix: p("10.0.0.0/8"),
        ge: None,
        le: Some(24),
        action: FilterAction::Permit,
    }]);
    let a = add(
        &mut r,
        1,
        65001,
        PeerPolicy {
            import_filter: filter,
            ..Default::default()
        },
    );
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &[p("10.1.0.0/16"), p("11.0.0.0/8")]),
    )
    .unwrap();
    assert_eq!(
        r.counters(a, Family::Ipv4Unicast),
        Counters {
            received: 2,
            accepted: 1,
            advertised: 0
        }
    );
    assert_eq!(r.loc_rib_len(Family::Ipv4Unicast), 1);
}

#[test]
fn originated_routes_are_exported_with_next_hop_self_and_not_installed() {
    let mut r = rib(1);
    let b = add(&mut r, 2, 65002, PeerPolicy::default());
    r.take_outgoing(b, 1 << 20);
    r.originate(p("172.31.0.0/16"), PathAttrs::default());
    assert!(
        r.take_fib_changes(usize::MAX).is_empty(),
        "own routes are not installed"
    );
    let (ann, ..) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert_eq!(ann.len(), 1);
    assert_eq!(ann[0].1.as_path, AsPath::sequence([LOCAL_AS]));
    assert_eq!(
        ann[0].1.next_hop,
        NextHop::V4(Ipv4Addr::new(192, 0, 2, 100))
    );
    r.withdraw_local(p("172.31.0.0/16"));
    let (_, wd, ..) = decode_out(&r.take_outgoing(b, 1 << 20));
    assert_eq!(wd, vec![p("172.31.0.0/16")]);
}

#[test]
fn route_refresh_resends_everything() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let b = add(&mut r, 2, 65002, PeerPolicy::default());
    apply(
        &mut r,
        a,
        &announce_bytes(&attrs(&[65001], 1), &[p("10.1.0.0/16"), p("10.2.0.0/16")]),
    )
    .unwrap();
    assert_eq!(decode_out(&r.take_outgoing(b, 1 << 20)).0.len(), 2);
    assert!(!r.has_outgoing(b));
    r.refresh_export(b, Family::Ipv4Unicast);
    assert_eq!(decode_out(&r.take_outgoing(b, 1 << 20)).0.len(), 2);
}

#[test]
fn nothing_is_sent_in_a_family_the_neighbor_did_not_negotiate() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default()); // IPv4 only (see `add`)
    let b = r.add_peer(
        "v6".into(),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)),
        65009,
        PeerPolicy::default(),
    );
    r.peer_up(
        b,
        SessionInfo {
            families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
            local_v6: Some("2001:db8::100".parse().unwrap()),
            ..session(&[], [192, 0, 2, 100], 9)
        },
    );
    r.take_outgoing(a, 1 << 20);
    r.originate(p("2001:db8:1::/48"), PathAttrs::default());
    r.originate(p("10.7.0.0/16"), PathAttrs::default());
    let bytes = r.take_outgoing(a, 1 << 20);
    let (ann, ..) = decode_out(&bytes);
    assert_eq!(
        ann.iter().map(|x| x.0).collect::<Vec<_>>(),
        vec![p("10.7.0.0/16")]
    );
    let mut buf = &bytes[..];
    while let Some(f) = frame(buf).unwrap() {
        let u = Update::decode(
            &buf[HEADER_LEN..f.len],
            &DecodeContext {
                four_octet_as: true,
                ebgp: true,
                enforce_first_as: None,
            },
        )
        .unwrap();
        assert!(u.mp_reach.is_none(), "IPv6 sent to an IPv4-only neighbor");
        buf = &buf[f.len..];
    }
    assert!(!r.has_outgoing(a));
    assert!(
        r.has_outgoing(b),
        "the dual-stack neighbor still has its IPv6 route queued"
    );
}

#[test]
fn routes_shows_the_smallest_prefixes_sorted_up_to_the_limit() {
    let mut r = rib(1);
    let a = add(&mut r, 1, 65001, PeerPolicy::default());
    let prefixes: Vec<Prefix> = (0..50u32)
        .rev()
        .map(|i| Prefix::new(Ipv4Addr::from((10 << 24) | (i << 8)).into(), 24).unwrap())
        .collect();
    apply(&mut r, a, &announce_bytes(&attrs(&[65001], 1), &prefixes)).unwrap();
    let shown: Vec<Prefix> = r
        .routes(Family::Ipv4Unicast, 3)
        .into_iter()
        .map(|v| v.prefix)
        .collect();
    assert_eq!(
        shown,
        vec![p("10.0.0.0/24"), p("10.0.1.0/24"), p("10.0.2.0/24")]
    );
    assert_eq!(r.routes(Family::Ipv4Unicast, 1000).len(), 50);
}
