//! A whole session: arbitrary bytes from the network go through framing, the FSM (which is
//! already Established) and, for UPDATEs, decoding and the RIB, with exports drained to another
//! neighbor. Nothing may panic and the RIB must stay consistent (attribute sets released).
#![no_main]
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp::fsm::{Action, Event, Session, SessionConfig};
use bgp::rib::{DefaultPolicy, MaxPrefix, PeerPolicy, Rib, RibConfig, SessionInfo};
use bgp::wire::open::{Capability, Open};
use bgp::wire::{DecodeContext, Family, HEADER_LEN, Message, Update, frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut s = Session::new(SessionConfig::new(64512, 65001, Ipv4Addr::new(10, 0, 0, 1)));
    s.handle(now, Event::ManualStart);
    s.handle(now, Event::TcpConnectionAcked(1));
    let open = Open {
        my_as: 65001,
        hold_time: 9,
        bgp_id: Ipv4Addr::new(10, 0, 0, 2),
        capabilities: vec![
            Capability::Multiprotocol { afi: 1, safi: 1 },
            Capability::Multiprotocol { afi: 2, safi: 1 },
            Capability::FourOctetAs(65001),
        ],
    };
    s.handle(now, Event::Message(1, Ok(Message::Open(open))));
    s.handle(now, Event::Message(1, Ok(Message::Keepalive)));
    let mut rib = Rib::new(
        RibConfig { local_as: 64512, router_id: Ipv4Addr::new(10, 0, 0, 1), max_paths: 4, fib: true },
        Box::new(DefaultPolicy),
    );
    let mp = MaxPrefix { limit: 1000, restart_after: Some(Duration::from_secs(1)), warning_only: false };
    let a = rib.add_peer("a".into(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 65001, PeerPolicy { max_prefix: Some(mp), ..Default::default() });
    let b = rib.add_peer("b".into(), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3)), 65002, PeerPolicy::default());
    for idx in [a, b] {
        rib.peer_up(idx, SessionInfo {
            four_octet_as: true,
            families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
            local_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            local_v6: Some("2001:db8::1".parse().unwrap()),
            peer_id: Ipv4Addr::new(10, 0, 0, 9),
        });
    }
    let ctx = DecodeContext { four_octet_as: true, ebgp: true, enforce_first_as: None };
    let mut buf = data;
    loop {
        match frame(buf) {
            Ok(Some(f)) => {
                let msg = Message::decode(f, &buf[..f.len]);
                let actions = s.handle(now, Event::Message(1, msg));
                if actions.contains(&Action::ProcessUpdate) {
                    if let Ok(u) = Update::decode(&buf[HEADER_LEN..f.len], &ctx) {
                        let _ = rib.apply_update(a, &u);
                    }
                }
                buf = &buf[f.len..];
            }
            Ok(None) => break,
            Err(e) => {
                s.handle(now, Event::Message(1, Err(e)));
                break;
            }
        }
    }
    while !rib.take_outgoing(b, 1 << 16).is_empty() {}
    let _ = rib.take_fib_changes(usize::MAX);
    rib.peer_down(a, None);
    rib.peer_down(b, None);
    assert_eq!(rib.attr_sets(), 0, "attribute sets leaked");
});
