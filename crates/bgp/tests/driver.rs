//! The tokio driver end to end without namespaces: two speakers in one process on loopback
//! addresses (127.0.0.1 and 127.0.0.2, distinct ports), talking through the public API.

use std::net::IpAddr;
use std::time::Duration;

use bgp::driver::{NeighborConfig, Speaker, SpeakerConfig, SpeakerEvent, Timers};
use bgp::fsm::HoldTime;
use bgp::fsm::{DownReason, State};
use bgp::rib::DefaultPolicy;
use bgp::wire::{Community, Family, PathAttrs, Prefix};
use testkit::wait_for_async;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn speaker_cfg(
    asn: u32,
    id: &str,
    listen: &str,
    peer: &str,
    peer_as: u32,
    peer_port: u16,
) -> SpeakerConfig {
    let mut c = SpeakerConfig::new(asn, id.parse().unwrap());
    // Short timers: hold 3 s / keepalive 1 s, ConnectRetry 1 s, idle hold 500 ms up to 10 s.
    c.timers = Timers {
        hold_time: HoldTime::new(3).unwrap(),
        keepalive: 1,
        connect_retry: Duration::from_secs(1),
        idle_hold: Duration::from_millis(500),
        idle_hold_max: Duration::from_secs(10),
    };
    c.listen = vec![listen.parse().unwrap()];
    let mut n = NeighborConfig::new(ip(peer), peer_as);
    n.port = peer_port;
    n.connect_retry = Some(0.2);
    n.local_address = Some(ip(listen.split(':').next().unwrap()));
    c.neighbors.push(n);
    c
}

async fn wait_state(s: &Speaker, peer: &str, want: State) {
    wait_for_async(
        &format!("{peer} {want:?}"),
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            let n = s.neighbors().await.unwrap();
            let st = n.iter().find(|x| x.address == ip(peer)).map(|x| x.state);
            if st == Some(want) { Ok(()) } else { Err(st) }
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_speakers_exchange_routes_and_shut_down_with_a_message() {
    // Ports unique to this test so parallel test binaries do not collide.
    let a_cfg = speaker_cfg(
        64512,
        "10.0.0.1",
        "127.0.0.1:17901",
        "127.0.0.2",
        65001,
        17902,
    );
    let mut b_cfg = speaker_cfg(
        65001,
        "10.0.0.2",
        "127.0.0.2:17902",
        "127.0.0.1",
        64512,
        17901,
    );
    b_cfg.neighbors[0].passive = true;
    let a = Speaker::start(a_cfg, Box::new(DefaultPolicy))
        .await
        .unwrap();
    let b = Speaker::start(b_cfg, Box::new(DefaultPolicy))
        .await
        .unwrap();
    let mut b_events = b.subscribe();
    wait_state(&a, "127.0.0.2", State::Established).await;
    wait_state(&b, "127.0.0.1", State::Established).await;

    let p: Prefix = "203.0.113.0/24".parse().unwrap();
    let attrs = PathAttrs {
        med: Some(5),
        communities: vec![Community::new(64512, 9)],
        ..Default::default()
    };
    a.originate(p, attrs).await.unwrap();
    let r = wait_for_async(
        "route at b",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async { b.route(p).await.unwrap().ok_or("missing") },
    )
    .await
    .unwrap();
    assert_eq!(r.paths[0].as_path, "64512");
    assert_eq!(r.paths[0].med, Some(5));
    assert_eq!(r.paths[0].communities, vec![Community::new(64512, 9)]);
    assert_eq!(r.paths[0].next_hop.to_string(), "127.0.0.1");
    let counters = b.neighbors().await.unwrap()[0].ipv4;
    assert_eq!((counters.received, counters.accepted), (1, 1));

    a.withdraw(p).await.unwrap();
    wait_for_async(
        "withdrawn at b",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            if b.route(p).await.unwrap().is_none() {
                Ok(())
            } else {
                Err("still there")
            }
        },
    )
    .await
    .unwrap();

    // Administrative shutdown with an RFC 9003 message: b sees Cease/2 and the text.
    a.neighbor_stop(ip("127.0.0.2"), Some("planned maintenance".into()))
        .await
        .unwrap();
    let down = wait_for_async(
        "b sees the shutdown",
        Duration::from_secs(10),
        Duration::from_millis(10),
        || {
            let ev = b_events.try_recv();
            async move {
                match ev {
                    Ok(e) => match e.data {
                        SpeakerEvent::Down { reason, .. } => Ok(reason),
                        other => Err(format!("{other:?}")),
                    },
                    Err(e) => Err(format!("{e:?}")),
                }
            }
        },
    )
    .await
    .unwrap();
    match down {
        DownReason::NotificationReceived {
            code,
            subcode,
            description,
        } => {
            assert_eq!((code, subcode), (6, 2));
            assert!(description.contains("planned maintenance"), "{description}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // It stays down until started again: waiting proves an absence (no reconnect), it does not
    // synchronise anything.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_ne!(a.neighbors().await.unwrap()[0].state, State::Established);
    a.neighbor_start(ip("127.0.0.2")).await.unwrap();
    wait_state(&b, "127.0.0.1", State::Established).await;
    assert_eq!(b.neighbors().await.unwrap()[0].established_count, 2);

    // A policy change re-advertises under the new options while the session stays up.
    a.originate(p, PathAttrs::default()).await.unwrap();
    let policy = bgp::rib::PeerPolicy {
        med: Some(77),
        as_path_prepend: 2,
        ..Default::default()
    };
    a.set_neighbor_policy(ip("127.0.0.2"), policy)
        .await
        .unwrap();
    wait_for_async(
        "b sees the new MED and prepends",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            match b.route(p).await.unwrap() {
                Some(r)
                    if r.paths[0].med == Some(77) && r.paths[0].as_path == "64512 64512 64512" =>
                {
                    Ok(())
                }
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(
        b.neighbors().await.unwrap()[0].established_count,
        2,
        "no session reset"
    );

    // Unknown neighbors are an error, not a silent no-op.
    assert!(
        a.route_refresh(ip("127.0.0.9"), Family::Ipv4Unicast)
            .await
            .is_err()
    );
    a.shutdown().await;
    b.shutdown().await;
}
