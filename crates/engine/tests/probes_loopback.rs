//! The three probes over loopback in the test's own namespace (no privilege needed): traffic
//! is delivered, every send is logged, and the loss analysis of a clean run finds no window.
//! ICMP needs ping sockets, which the engine enables in the namespaces it creates; it is
//! exercised by the namespace tests, which also measure real outages.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use engine::model::ProbeKind;
use engine::probe::{HereRunner, ProbeSpec, lock, start};

fn spec(name: &str, port: u16, rate: u32) -> ProbeSpec {
    ProbeSpec {
        name: name.into(),
        from: "a".into(),
        to_node: "b".into(),
        dst: SocketAddr::from(([127, 0, 0, 1], port)),
        rate,
        probe_id: 0xC0FFEE,
    }
}

async fn delivers(kind: ProbeKind, spec: ProbeSpec) {
    let since = netns::clock::monotonic_ns();
    let running = start(kind, spec, Arc::new(HereRunner)).await.unwrap();
    testkit::wait_for_async(
        "20 deliveries",
        Duration::from_secs(10),
        Duration::from_millis(10),
        || {
            let n = lock(&running.log).arrivals.len();
            async move { if n >= 20 { Ok(n) } else { Err(n) } }
        },
    )
    .await
    .unwrap();
    assert!(running.delivered_since(since));
    running.stop_sending();
    let interval = running.spec.interval();
    // Packets still in flight when sending stopped arrive within a few ms on loopback.
    testkit::wait_for_async(
        "in-flight packets",
        Duration::from_secs(5),
        Duration::from_millis(5),
        || {
            let r = lock(&running.log).analyse(interval);
            async move { if r.lost == 0 { Ok(()) } else { Err(r) } }
        },
    )
    .await
    .unwrap();
    let r = lock(&running.log).analyse(interval);
    assert!(
        r.sent >= 20 && r.received == r.sent && r.windows.is_empty(),
        "{r:?}"
    );
    assert_eq!(r.duplicates, 0);
}

#[tokio::test]
async fn udp_stream_over_loopback() {
    delivers(ProbeKind::Udp, spec("udp", 47_311, 1000)).await;
}

#[tokio::test]
async fn tcp_connects_over_loopback() {
    delivers(ProbeKind::Tcp, spec("tcp", 47_312, 100)).await;
}
