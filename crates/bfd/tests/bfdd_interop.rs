//! Interop with the real FRR bfdd in network namespaces.
//!
//! Topology of every test: two namespaces joined by a veth pair.
//!
//! ```text
//!   hl-<lab>-frr  10.0.0.1/24, 2001:db8::1/64  <== veth ==>  10.0.0.2/24, 2001:db8::2/64  hl-<lab>-hl
//!   FRR bfdd (+ zebra), "to-hl"                                our driver, "to-frr"
//! ```
//!
//! bfdd is configured through its bfdd.conf (`bfd` / `peer X interface to-hl` blocks, 300 ms x 3
//! like AWS Direct Connect) and queried with `vtysh --vty_socket DIR -c 'show bfd peers json'`.
//! Our driver runs on a tokio runtime in the test process; its sockets are opened inside the
//! `hl` namespace. Needs root and FRR; fails (never skips) without them. Each test uses its own
//! lab name, so they may run in parallel; namespaces and daemons go when a test ends, also on
//! failure. Waits poll with deadlines; nothing sleeps to synchronise.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bfd::driver::{Bfd, Event, SessionConfig, SessionHandle, SessionShow, Status};
use bfd::session::Timers;
use bfd::wire::{Diag, State};
use netns::{Netns, NetnsDir};
use serde_json::Value;
use testkit::bfdd::Bfdd;
use testkit::lab::Lab;
use tokio::runtime::Runtime;

const FRR4: &str = "10.0.0.1";
const HL4: &str = "10.0.0.2";
const FRR6: &str = "2001:db8::1";
const HL6: &str = "2001:db8::2";

fn require_root_and_bfdd() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(String::from))
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "the bfdd interop tests need root (they create network namespaces)"
    );
    assert!(
        std::path::Path::new(testkit::bfdd::BFDD).exists(),
        "FRR bfdd is not installed ({}): apt-get install frr (the interop tests run the real bfdd)",
        testkit::bfdd::BFDD
    );
}

struct Interop {
    // Field order is drop order: daemons, then our driver, then the namespaces.
    frr: Bfdd,
    bfd: Bfd,
    rt: Runtime,
    hl: Netns,
    _lab: Lab,
}

/// bfdd's view: both peers, 300 ms x 3; `frr_passive` puts bfdd's IPv4 peer in passive mode.
fn bfdd_conf(frr_passive_v4: bool) -> String {
    let peer = |addr: &str, passive: bool| {
        format!(
            " peer {addr} interface to-hl\n  receive-interval 300\n  transmit-interval 300\n  \
             detect-multiplier 3\n{} !\n",
            if passive { "  passive-mode\n" } else { "" }
        )
    };
    format!("bfd\n{}{}!\n", peer(HL4, frr_passive_v4), peer(HL6, false))
}

fn interop(name: &str, frr_passive_v4: bool) -> Interop {
    require_root_and_bfdd();
    let mut lab = Lab::new(name).unwrap();
    lab.node("frr").unwrap();
    lab.node("hl").unwrap();
    lab.link(
        "frr",
        &format!("{FRR4}/24,{FRR6}/64"),
        "hl",
        &format!("{HL4}/24,{HL6}/64"),
    )
    .unwrap();
    let frr = Bfdd::start(&lab, "frr", &bfdd_conf(frr_passive_v4)).unwrap();
    // Before any packet of ours reaches it (see testkit::bfdd on bfdd's start-up race).
    frr.wait_interface("to-hl", Duration::from_secs(20))
        .unwrap();
    let hl = Netns::open(&NetnsDir::system(), &lab.ns("hl")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    Interop {
        frr,
        bfd: Bfd::new(),
        rt,
        hl,
        _lab: lab,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn aws() -> Timers {
    Timers::from_millis(300, 300, 3).unwrap()
}

impl Interop {
    /// Our session to bfdd's `peer`, sockets inside the `hl` namespace.
    fn add(&self, local: &str, peer: &str, passive: bool) -> SessionHandle {
        let mut cfg = SessionConfig::new(ip(local), ip(peer), aws());
        cfg.ifname = Some("to-frr".into());
        cfg.passive = passive;
        let (handle, bfd) = (self.rt.handle().clone(), self.bfd.clone());
        self.hl
            .run(move || {
                let _guard = handle.enter();
                bfd.add_session(cfg)
            })
            .unwrap()
            .unwrap()
    }

    /// Polls bfdd's entry for `peer` (bfdd's name for us) until `ok` holds.
    fn wait_frr(
        &self,
        peer: &str,
        what: &str,
        within: Duration,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        testkit::wait_for(what, within, Duration::from_millis(50), || {
            let p = self.frr.peer(peer).map_err(|e| e.to_string())?;
            if ok(&p) { Ok(p) } else { Err(p.to_string()) }
        })
        .unwrap_or_else(|e| panic!("{e}\nbfdd log tail:\n{}", log_tail(&self.frr)))
    }

    fn show(&self, h: &SessionHandle) -> SessionShow {
        self.rt.block_on(h.show()).unwrap()
    }

    /// Polls our session's show until `ok` holds.
    fn wait_ours(
        &self,
        h: &SessionHandle,
        what: &str,
        within: Duration,
        ok: impl Fn(&SessionShow) -> bool,
    ) -> SessionShow {
        testkit::wait_for(what, within, Duration::from_millis(50), || {
            let s = self.show(h);
            if ok(&s) { Ok(s) } else { Err(Box::new(s)) }
        })
        .unwrap_or_else(|e| panic!("{e}\nbfdd log tail:\n{}", log_tail(&self.frr)))
    }

    fn wait_event(
        &self,
        rx: &mut tokio::sync::broadcast::Receiver<Event>,
        what: &str,
        within: Duration,
        ok: impl Fn(&Event) -> bool,
    ) -> Event {
        self.rt.block_on(async {
            let deadline = tokio::time::Instant::now() + within;
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Ok(e)) if ok(&e) => return e,
                    Ok(Ok(_)) => continue,
                    other => panic!(
                        "{what}: not within {within:?}: {other:?}\nbfdd log tail:\n{}",
                        log_tail(&self.frr)
                    ),
                }
            }
        })
    }

    /// Both sides of the session to `frr_peer` (bfdd's name for us) Up, Poll Sequences done.
    fn wait_up(&self, h: &SessionHandle, frr_peer: &str) {
        let within = Duration::from_secs(10);
        self.wait_ours(h, &format!("ours Up with {}", h.peer()), within, |s| {
            s.status.state == State::Up && !s.polling && s.tx_interval_us == 300_000
        });
        self.wait_frr(frr_peer, "bfdd up", within, |p| p["status"] == "up");
    }
}

fn log_tail(frr: &Bfdd) -> String {
    let log = frr.log();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

fn up(s: &Status) -> bool {
    s.state == State::Up
}

#[test]
fn sessions_come_up_both_ways_with_either_side_passive() {
    // IPv4: bfdd passive, ours active. IPv6: ours passive, bfdd active.
    let t = interop("bfdi1", true);
    let v4 = t.add(HL4, FRR4, false);
    let v6 = t.add(HL6, FRR6, true);
    t.wait_up(&v4, HL4);
    t.wait_up(&v6, HL6);
    for (h, frr_peer) in [(&v4, HL4), (&v6, HL6)] {
        let p = t.frr.peer(frr_peer).unwrap();
        let ours = t.show(h);
        assert_eq!(
            p["remote-id"].as_u64(),
            Some(ours.status.local_discriminator.into())
        );
        assert_eq!(
            p["id"].as_u64(),
            Some(ours.status.remote_discriminator.into())
        );
        // What bfdd learned from our packets.
        assert_eq!(p["remote-receive-interval"], 300, "{p}");
        assert_eq!(p["remote-transmit-interval"], 300, "{p}");
        assert_eq!(p["remote-detect-multiplier"], 3, "{p}");
        assert_eq!(p["remote-echo-receive-interval"], 0, "we do no Echo: {p}");
        // What we learned from bfdd's.
        assert_eq!(ours.remote_desired_min_tx_us, 300_000);
        assert_eq!(ours.remote_min_rx_us, 300_000);
        assert_eq!(ours.remote_detect_mult, 3);
        assert_eq!(ours.detection_time_us, Some(900_000));
        assert_eq!(ours.counters.rx_bad_ttl, 0);
        assert_eq!(ours.counters.rx_malformed.total(), 0);
    }
    assert_eq!(t.frr.peer(HL4).unwrap()["passive-mode"], true);
    assert!(t.show(&v6).passive);
    // Steady: bfdd counts our packets, no flaps on either side.
    let c = t.frr.peer_counters(HL4).unwrap();
    assert_eq!(c["session-down"], 0, "{c}");
    assert!(c["control-packet-input"].as_u64().unwrap() > 0, "{c}");
}

#[test]
fn our_admin_down_is_administratively_down_at_bfdd() {
    let t = interop("bfdi2", false);
    let v4 = t.add(HL4, FRR4, false);
    t.wait_up(&v4, HL4);
    t.rt.block_on(v4.admin_down()).unwrap();
    let p = t.wait_frr(
        HL4,
        "bfdd sees our AdminDown",
        Duration::from_secs(3),
        |p| p["status"] == "down",
    );
    assert_eq!(p["remote-diagnostic"], "administratively down", "{p}");
    assert_eq!(p["diagnostic"], "neighbor signaled session down", "{p}");
    assert_eq!(t.show(&v4).status.local_diag, Diag::AdministrativelyDown);
    // And back.
    t.rt.block_on(v4.admin_up()).unwrap();
    t.wait_up(&v4, HL4);
    assert_eq!(t.frr.peer(HL4).unwrap()["remote-diagnostic"], "ok");
}

#[test]
fn bfdd_shutdown_is_a_remote_admin_down_for_us_not_a_failure() {
    let t = interop("bfdi3", false);
    let v4 = t.add(HL4, FRR4, false);
    t.wait_up(&v4, HL4);
    let mut events = v4.events();
    t.frr.configure_peer(HL4, "to-hl", &["shutdown"]).unwrap();
    let e = t.wait_event(&mut events, "ours Down", Duration::from_secs(3), |e| {
        e.transition.to == State::Down
    });
    assert_eq!(e.transition.from, State::Up);
    assert_eq!(e.transition.diag, Diag::NeighborSignaledSessionDown);
    assert_eq!(e.transition.remote_state, State::AdminDown);
    assert!(
        !e.failure,
        "RFC 5882 §3.2: a client must not tear down on this"
    );
    assert_eq!(t.show(&v4).status.remote_state, State::AdminDown);
    t.frr
        .configure_peer(HL4, "to-hl", &["no shutdown"])
        .unwrap();
    t.wait_up(&v4, HL4);
}

#[test]
fn timer_changes_poll_both_ways() {
    let t = interop("bfdi4", false);
    let v4 = t.add(HL4, FRR4, false);
    t.wait_up(&v4, HL4);
    let polls_before = t.show(&v4).counters.core.polls_completed;
    // Ours: 100 ms TX, 200 ms RX, x5, announced with a Poll Sequence bfdd must answer.
    t.rt.block_on(v4.set_timers(Timers::from_millis(100, 200, 5).unwrap()))
        .unwrap();
    let p = t.wait_frr(
        HL4,
        "bfdd sees our new timers",
        Duration::from_secs(5),
        |p| {
            p["remote-transmit-interval"] == 100
                && p["remote-receive-interval"] == 200
                && p["remote-detect-multiplier"] == 5
        },
    );
    assert_eq!(p["status"], "up");
    let ours = t.wait_ours(
        &v4,
        "our Poll Sequence answered",
        Duration::from_secs(5),
        |s| !s.polling && s.counters.core.polls_completed > polls_before,
    );
    // Negotiated: we send every max(100, bfdd's 300) ms; we declare bfdd dead after
    // 3 x max(our 200, bfdd's 300) ms.
    assert_eq!(ours.tx_interval_us, 300_000);
    assert_eq!(ours.detection_time_us, Some(900_000));
    // bfdd's side: it sends at max(its 300, our 200) = 300 ms and times us out after
    // 5 x max(its 300, our 100) = 1.5 s; its show has no negotiated fields, the remote ones
    // above are its inputs.
    // bfdd changes its timers: it polls, we answer with Final and follow.
    t.frr
        .configure_peer(
            HL4,
            "to-hl",
            &["transmit-interval 150", "receive-interval 120"],
        )
        .unwrap();
    let ours = t.wait_ours(
        &v4,
        "we follow bfdd's new timers",
        Duration::from_secs(5),
        |s| s.remote_desired_min_tx_us == 150_000 && s.remote_min_rx_us == 120_000,
    );
    assert_eq!(ours.tx_interval_us, 120_000, "max(our 100, bfdd's 120)");
    assert_eq!(
        ours.detection_time_us,
        Some(3 * 200_000),
        "3 x max(200, 150)"
    );
    assert!(ours.counters.core.tx_final > 0, "we answered bfdd's Poll");
    assert_eq!(t.frr.peer(HL4).unwrap()["status"], "up");
    let c = t.frr.peer_counters(HL4).unwrap();
    assert_eq!(c["session-down"], 0, "no flap through the changes: {c}");
}

#[test]
fn a_cut_is_detected_on_both_sides_within_the_detection_time() {
    let t = interop("bfdi5", false);
    let v4 = t.add(HL4, FRR4, false);
    let v6 = t.add(HL6, FRR6, false);
    t.wait_up(&v4, HL4);
    t.wait_up(&v6, HL6);
    let mut events = v4.events();
    let cut = netns::firewall::cut(
        &t.hl,
        &netns::firewall::CutSpec {
            ifname: Some("to-frr".into()),
            proto: Some(17),
            ports: vec![3784],
            peer: Some(ip(FRR4)),
            loss_percent: None,
        },
    )
    .unwrap();
    let cut_at = Instant::now();
    let cut_ns = netns::clock::monotonic_ns();
    // Detection time 3 x 300 ms on both sides; allow for the polling and a loaded machine.
    let limit = Duration::from_millis(900 + 400);
    let e = t.wait_event(&mut events, "ours Down", limit, |e| {
        e.transition.to == State::Down
    });
    assert!(e.failure);
    assert_eq!(e.transition.diag, Diag::ControlDetectionTimeExpired);
    let ours_ns = e.t_ns - cut_ns;
    assert!(ours_ns <= 1_100_000_000, "ours took {ours_ns} ns");
    let p = t.wait_frr(
        HL4,
        "bfdd detects the cut",
        limit.saturating_sub(cut_at.elapsed()),
        |p| p["status"] == "down",
    );
    let frr_took = cut_at.elapsed();
    assert_eq!(p["diagnostic"], "control detection time expired", "{p}");
    assert!(frr_took <= limit, "bfdd took {frr_took:?}");
    // Only IPv4 was cut.
    assert!(up(&v6.status().borrow()));
    assert_eq!(t.frr.peer(HL6).unwrap()["status"], "up");
    // Heal.
    netns::firewall::restore(&t.hl, cut).unwrap();
    t.wait_up(&v4, HL4);
}
