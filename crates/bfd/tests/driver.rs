//! The tokio driver against itself, in two network namespaces joined by a veth:
//!
//! ```text
//!   hl-<lab>-a  10.0.0.1/24 (+ 10.0.0.3), 2001:db8::1/64  <== veth ==>  10.0.0.2/24, 2001:db8::2/64  hl-<lab>-b
//!   Bfd instance A                                                         Bfd instance B
//! ```
//!
//! One tokio runtime runs both instances; each session's sockets are opened on a thread inside
//! its namespace ([`netns::Netns::run`]), so its traffic stays there. Needs root (fails, never
//! skips, without it). Waits are on the sessions' own `watch`/`broadcast` channels with
//! deadlines, never sleeps.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::Duration;

use bfd::driver::{Bfd, Event, SessionConfig, SessionHandle, Status};
use bfd::session::Timers;
use bfd::wire::{Diag, Repr, State};
use netns::{Netns, NetnsDir};
use testkit::lab::Lab;
use tokio::runtime::Runtime;

fn require_root() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(String::from))
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "the driver tests need root (they create network namespaces)"
    );
}

struct Setup {
    _lab: Lab,
    a: Netns,
    b: Netns,
    rt: Runtime,
}

fn setup(name: &str) -> Setup {
    require_root();
    let mut lab = Lab::new(name).unwrap();
    lab.node("a").unwrap();
    lab.node("b").unwrap();
    lab.link(
        "a",
        "10.0.0.1/24,10.0.0.3/24,2001:db8::1/64",
        "b",
        "10.0.0.2/24,2001:db8::2/64",
    )
    .unwrap();
    let a = Netns::open(&NetnsDir::system(), &lab.ns("a")).unwrap();
    let b = Netns::open(&NetnsDir::system(), &lab.ns("b")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    Setup {
        _lab: lab,
        a,
        b,
        rt,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Creates the session with sockets inside `ns`.
fn add(rt: &Runtime, ns: &Netns, bfd: &Bfd, cfg: SessionConfig) -> SessionHandle {
    let handle = rt.handle().clone();
    ns.run(move || {
        let _guard = handle.enter();
        bfd.add_session(cfg)
    })
    .unwrap()
    .unwrap()
}

async fn wait_status(
    h: &SessionHandle,
    what: &str,
    within: Duration,
    f: impl Fn(&Status) -> bool,
) -> Status {
    let mut rx = h.status();
    let got = match tokio::time::timeout(within, rx.wait_for(|s| f(s))).await {
        Ok(Ok(s)) => Some(*s),
        _ => None,
    };
    match got {
        Some(s) => s,
        None => panic!(
            "{what}: not within {within:?}; now {:?}; show: {:?}",
            *rx.borrow(),
            h.show().await
        ),
    }
}

async fn wait_event(
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    what: &str,
    within: Duration,
    f: impl Fn(&Event) -> bool,
) -> Event {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if f(&e) => return e,
            Ok(Ok(_)) => continue,
            other => panic!("{what}: not within {within:?}: {other:?}"),
        }
    }
}

fn fast() -> Timers {
    Timers::from_millis(100, 100, 3).unwrap()
}

fn up(s: &Status) -> bool {
    s.state == State::Up
}

#[test]
fn two_drivers_come_up_change_timers_go_admin_down_and_detect_a_cut() {
    let s = setup("bfddrv1");
    let (bfd_a, bfd_b) = (Bfd::new(), Bfd::new());
    let mut cfg = SessionConfig::new(ip("10.0.0.1"), ip("10.0.0.2"), fast());
    cfg.ifname = Some("to-b".into());
    let a4 = add(&s.rt, &s.a, &bfd_a, cfg);
    let mut cfg = SessionConfig::new(ip("10.0.0.2"), ip("10.0.0.1"), fast());
    cfg.passive = true;
    let b4 = add(&s.rt, &s.b, &bfd_b, cfg);
    let a6 = add(
        &s.rt,
        &s.a,
        &bfd_a,
        SessionConfig::new(ip("2001:db8::1"), ip("2001:db8::2"), fast()),
    );
    let b6 = add(
        &s.rt,
        &s.b,
        &bfd_b,
        SessionConfig::new(ip("2001:db8::2"), ip("2001:db8::1"), fast()),
    );
    s.rt.block_on(async {
        let t = Duration::from_secs(5);
        for h in [&a4, &b4, &a6, &b6] {
            wait_status(h, "Up", t, up).await;
        }
        assert_eq!(
            a4.status().borrow().remote_discriminator,
            b4.local_discriminator()
        );
        // The coming-up Poll Sequence settles at 100 ms both ways.
        let show = wait_show(&a4, "100 ms negotiated", |s| {
            !s.polling && s.tx_interval_us == 100_000
        })
        .await;
        assert_eq!(show.detection_time_us, Some(300_000));
        assert!(
            SOCKET_PORTS.contains(&show.source_port),
            "{}",
            show.source_port
        );
        assert_eq!(show.ifname.as_deref(), Some("to-b"));
        assert_eq!(bfd::driver::CONTROL_PORT, 3784);

        // Timer change on A (a Poll Sequence): B's view follows.
        a4.set_timers(Timers::from_millis(200, 250, 5).unwrap())
            .await
            .unwrap();
        let show_b = wait_show(&b4, "B sees A's new timers", |s| {
            s.remote_desired_min_tx_us == 200_000
                && s.remote_min_rx_us == 250_000
                && s.remote_detect_mult == 5
                && !s.polling
        })
        .await;
        assert_eq!(show_b.tx_interval_us, 250_000, "max(100 ms, A's 250 ms)");
        assert_eq!(show_b.detection_time_us, Some(5 * 200_000));
        let show_a = wait_show(&a4, "A's Poll Sequence done", |s| !s.polling).await;
        assert!(show_a.counters.core.polls_completed >= 2);
        assert_eq!(show_a.tx_interval_us, 200_000);

        // A goes AdminDown: B goes Down (Diag 3), not a failure.
        let mut ev_b = b4.events();
        a4.admin_down().await.unwrap();
        let e = wait_event(&mut ev_b, "B Down", Duration::from_secs(2), |e| {
            e.transition.to == State::Down
        })
        .await;
        assert_eq!(e.transition.diag, Diag::NeighborSignaledSessionDown);
        assert_eq!(e.transition.remote_state, State::AdminDown);
        assert!(!e.failure);
        assert_eq!(a4.status().borrow().local_diag, Diag::AdministrativelyDown);
        a4.admin_up().await.unwrap();
        wait_status(&a4, "A Up again", Duration::from_secs(5), up).await;
        wait_status(&b4, "B Up again", Duration::from_secs(5), up).await;
        // Right after coming Up a detection time still follows the peer's last not-Up packets
        // (1 s x Detect Mult): wait until both Poll Sequences have settled the fast rates.
        wait_show(&a4, "A settled", |s| {
            !s.polling && s.detection_time_us == Some(750_000)
        })
        .await;
        wait_show(&b4, "B settled", |s| {
            !s.polling && s.detection_time_us == Some(1_000_000)
        })
        .await;

        // Cut BFD on B's side: both detect, as failures, within the detection time (plus
        // scheduling slack).
        let mut ev_a = a4.events();
        let mut ev_b = b4.events();
        let ns_b = s.b.try_clone().unwrap();
        let cut = netns::firewall::cut(
            &ns_b,
            &netns::firewall::CutSpec {
                ifname: Some("to-a".into()),
                proto: Some(17),
                ports: vec![3784],
                peer: Some(ip("10.0.0.1")),
                loss_percent: None,
            },
        )
        .unwrap();
        let cut_ns = netns::clock::monotonic_ns();
        let ea = wait_event(&mut ev_a, "A Down", Duration::from_secs(3), |e| {
            e.transition.to == State::Down
        })
        .await;
        let eb = wait_event(&mut ev_b, "B Down", Duration::from_secs(3), |e| {
            e.transition.to == State::Down
        })
        .await;
        assert!(ea.failure && eb.failure);
        assert_eq!(ea.transition.diag, Diag::ControlDetectionTimeExpired);
        assert_eq!(eb.transition.diag, Diag::ControlDetectionTimeExpired);
        // Within the detection time (A: 3 x max(250, 100) = 750 ms; B: 5 x max(100, 200) =
        // 1 s) after the cut, plus 250 ms of slack for a loaded machine.
        let (ta, tb) = (ea.t_ns - cut_ns, eb.t_ns - cut_ns);
        assert!(
            ta <= 1_000_000_000 && tb <= 1_250_000_000,
            "A {ta} ns, B {tb} ns"
        );
        // The IPv6 sessions were not cut.
        assert!(up(&a6.status().borrow()) && up(&b6.status().borrow()));
        netns::firewall::restore(&ns_b, cut).unwrap();
        wait_status(&a4, "A Up after the cut", Duration::from_secs(5), up).await;
        wait_status(&b4, "B Up after the cut", Duration::from_secs(5), up).await;

        // Remove: the peer hears AdminDown, not a failure; the show lists what is left.
        let mut ev_b6 = b6.events();
        a6.remove().await.unwrap();
        let e = wait_event(&mut ev_b6, "B6 Down", Duration::from_secs(2), |e| {
            e.transition.to == State::Down
        })
        .await;
        assert!(!e.failure);
        let all = bfd_a.show().await;
        assert_eq!(all.sessions.len(), 1);
        assert_eq!(
            all.listeners.len(),
            1,
            "the IPv6 listener went with its session"
        );
        let json = serde_json::to_value(&all).unwrap();
        assert_eq!(json["sessions"][0]["state"], "Up");
        assert!(
            json["sessions"][0]["counters"]["tx_packets"]
                .as_u64()
                .unwrap()
                > 10
        );
        bfd_a.shutdown().await;
        bfd_b.shutdown().await;
    });
}

const SOCKET_PORTS: std::ops::RangeInclusive<u16> = bfd::driver::SOURCE_PORTS;

async fn wait_show(
    h: &SessionHandle,
    what: &str,
    f: impl Fn(&bfd::driver::SessionShow) -> bool,
) -> bfd::driver::SessionShow {
    testkit::wait_for_async(
        what,
        Duration::from_secs(5),
        Duration::from_millis(20),
        || async {
            let s = h.show().await.unwrap();
            if f(&s) { Ok(s) } else { Err(s) }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Sends raw datagrams from `from` in namespace `ns` to `to`:3784 with the given TTL.
fn send_raw(ns: &Netns, from: &str, to: &str, ttl: u8, packets: Vec<Vec<u8>>) {
    let (from, to) = (ip(from), ip(to));
    ns.run(move || {
        let s = UdpSocket::bind(SocketAddr::new(from, 0)).unwrap();
        netns::sockopt::set_ttl(s.as_fd(), from.is_ipv6(), ttl).unwrap();
        for p in packets {
            s.send_to(&p, SocketAddr::new(to, 3784)).unwrap();
        }
    })
    .unwrap();
}

fn down_from(discr: u32) -> Repr {
    Repr {
        diag: Diag::NoDiagnostic,
        state: State::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: discr,
        your_discriminator: 0,
        desired_min_tx: 1_000_000,
        required_min_rx: 1_000_000,
        required_min_echo_rx: 0,
    }
}

#[test]
fn malformed_and_far_packets_are_dropped_and_counted() {
    let s = setup("bfddrv2");
    let bfd_b = Bfd::new();
    // A passive session: it only speaks once it heard a valid packet from 10.0.0.1.
    let mut cfg = SessionConfig::new(ip("10.0.0.2"), ip("10.0.0.1"), fast());
    cfg.passive = true;
    let b = add(&s.rt, &s.b, &bfd_b, cfg);
    let good = down_from(0x1234).to_bytes().to_vec();
    let mut bad_version = good.clone();
    bad_version[0] = 0x40;
    let mut auth = good.clone();
    auth[1] |= 0x04;
    auth[3] = 24 + 24;
    auth.extend_from_slice(&[2, 24]);
    auth.resize(24 + 24, 0);
    let mut up_no_your = good.clone();
    up_no_your[1] = 0xc0;
    let short = good[..10].to_vec();

    // A valid packet with TTL 64 (RFC 5881 §5: dropped; the kernel's IP_MINTTL would let it
    // through on UDP), then a malformed one with TTL 255: once the latter is counted, the
    // former has been dealt with.
    send_raw(&s.a, "10.0.0.1", "10.0.0.2", 64, vec![good.clone()]);
    send_raw(&s.a, "10.0.0.1", "10.0.0.2", 255, vec![bad_version]);
    s.rt.block_on(async {
        let show = wait_show(&b, "bad version counted", |s| {
            s.counters.rx_malformed.bad_version == 1
        })
        .await;
        assert_eq!(show.counters.rx_bad_ttl, 1);
        assert_eq!(show.counters.core.rx_packets, 0, "TTL 64 must not count");
        assert_eq!(show.status.remote_discriminator, 0);
        assert_eq!(show.status.state, State::Down);
    });
    send_raw(
        &s.a,
        "10.0.0.1",
        "10.0.0.2",
        255,
        vec![auth, up_no_your, short.clone()],
    );
    // From an address that is no session's peer: the listener counts it.
    send_raw(&s.a, "10.0.0.3", "10.0.0.2", 255, vec![short, good.clone()]);
    send_raw(&s.a, "10.0.0.3", "10.0.0.2", 1, vec![good.clone()]);
    s.rt.block_on(async {
        let show = wait_show(&b, "all malformed counted", |s| {
            s.counters.rx_malformed.total() == 4
        })
        .await;
        let m = show.counters.rx_malformed;
        assert_eq!(
            (
                m.bad_version,
                m.auth_not_configured,
                m.zero_your_discriminator,
                m.truncated
            ),
            (1, 1, 1, 1)
        );
        testkit::wait_for_async(
            "listener counters",
            Duration::from_secs(5),
            Duration::from_millis(20),
            || async {
                let l = bfd_b.show().await.listeners[0].counters;
                if l.malformed.truncated == 1 && l.no_session == 1 && l.bad_ttl == 1 {
                    Ok(l)
                } else {
                    Err(l)
                }
            },
        )
        .await
        .unwrap();
        // And a good packet with TTL 255 from the peer: the passive session answers (Init).
        send_raw(&s.a, "10.0.0.1", "10.0.0.2", 255, vec![good]);
        let st = wait_status(&b, "Init", Duration::from_secs(2), |s| {
            s.state == State::Init
        })
        .await;
        assert_eq!(st.remote_discriminator, 0x1234);
    });
}

#[test]
fn configuration_errors() {
    let s = setup("bfddrv3");
    let bfd = Bfd::new();
    let handle = s.rt.handle().clone();
    let ns = s.b.try_clone().unwrap();
    let b2 = bfd.clone();
    let errs = ns
        .run(move || {
            let _g = handle.enter();
            let mixed = b2
                .add_session(SessionConfig::new(
                    ip("10.0.0.2"),
                    ip("2001:db8::1"),
                    fast(),
                ))
                .unwrap_err()
                .to_string();
            b2.add_session(SessionConfig::new(ip("10.0.0.2"), ip("10.0.0.1"), fast()))
                .unwrap();
            let dup = b2
                .add_session(SessionConfig::new(ip("10.0.0.2"), ip("10.0.0.1"), fast()))
                .unwrap_err()
                .to_string();
            let mut cfg = SessionConfig::new(ip("10.0.0.2"), ip("10.0.0.5"), fast());
            cfg.ifname = Some("no-such-if".into());
            let noif = b2.add_session(cfg).unwrap_err().to_string();
            let foreign = b2
                .add_session(SessionConfig::new(ip("192.0.2.1"), ip("192.0.2.2"), fast()))
                .unwrap_err()
                .to_string();
            (mixed, dup, noif, foreign)
        })
        .unwrap();
    assert!(errs.0.contains("same family"), "{}", errs.0);
    assert!(errs.1.contains("exists already"), "{}", errs.1);
    assert!(errs.2.contains("transmit socket"), "{}", errs.2);
    assert!(errs.3.contains("192.0.2.1"), "{}", errs.3);
    let json: SessionConfig = serde_json::from_str(
        r#"{"local":"10.0.0.2","peer":"10.0.0.1","timers":{"desired_min_tx_us":300000,"required_min_rx_us":300000,"detect_mult":3}}"#,
    )
    .unwrap();
    assert_eq!(json.timers, Timers::from_millis(300, 300, 3).unwrap());
    assert!(
        serde_json::from_str::<SessionConfig>(
            r#"{"local":"10.0.0.2","peer":"10.0.0.1","timers":{"desired_min_tx_us":0,"required_min_rx_us":1,"detect_mult":3}}"#
        )
        .is_err()
    );
    assert!(
        serde_json::from_str::<SessionConfig>(
            r#"{"local":"10.0.0.2","peer":"10.0.0.1","bogus":1,"timers":{"desired_min_tx_us":1,"required_min_rx_us":1,"detect_mult":3}}"#
        )
        .is_err()
    );
    assert_eq!(bfd.sessions().len(), 1);
}
