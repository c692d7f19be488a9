//! Tests of the sans-IO session, fastest first: the §6.2/§6.8.6 (state x event) table, then
//! transmission rules (§6.8.7), the Poll Sequence (§6.5, §6.8.3), the detection time (§6.8.4)
//! with injected time, and two sessions talking over a simulated link.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use super::*;
use crate::wire::{Diag, Repr, State};

const OURS: u32 = 0x11;
const THEIRS: u32 = 0x22;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn timers(tx_ms: u32, rx_ms: u32, mult: u8) -> Timers {
    Timers::from_millis(tx_ms, rx_ms, mult).unwrap()
}

fn config(passive: bool) -> Config {
    Config {
        local_discriminator: NonZeroU32::new(OURS).unwrap(),
        timers: timers(300, 300, 3),
        passive,
        jitter_seed: 1,
    }
}

/// A packet from the peer (discriminator THEIRS) with 300 ms / 300 ms x 3.
fn peer(state: State) -> Repr {
    Repr {
        diag: Diag::NoDiagnostic,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: THEIRS,
        your_discriminator: if matches!(state, State::Down | State::AdminDown) {
            0
        } else {
            OURS
        },
        desired_min_tx: 300_000,
        required_min_rx: 300_000,
        required_min_echo_rx: 0,
    }
}

fn with(r: Repr, f: impl FnOnce(&mut Repr)) -> Repr {
    let mut r = r;
    f(&mut r);
    r
}

fn sends(out: &[Output]) -> Vec<Repr> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(r) => Some(*r),
            _ => None,
        })
        .collect()
}

fn transitions(out: &[Output]) -> Vec<Transition> {
    out.iter()
        .filter_map(|o| match o {
            Output::StateChanged(t) => Some(*t),
            _ => None,
        })
        .collect()
}

/// A session brought into `state` at `t` (the peer has been heard from at `t` unless the state
/// is Down without history).
fn in_state(state: State, t: Instant) -> Session {
    let mut s = Session::new(config(false), t);
    match state {
        State::Down => {}
        State::Init => {
            s.handle(t, Input::Packet(peer(State::Down)));
        }
        State::Up => {
            s.handle(t, Input::Packet(peer(State::Down)));
            s.handle(t, Input::Packet(peer(State::Init)));
        }
        State::AdminDown => {
            s.handle(t, Input::AdminDown);
        }
    }
    assert_eq!(s.state(), state);
    s
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Received(State),
    Expire,
    Disable,
    Enable,
}

/// RFC 5880 §6.2 and §6.8.6, every (state x event): the resulting state and, when it changed,
/// the Diag.
#[test]
fn state_event_table() {
    use Diag::*;
    use Event::*;
    use State::*;
    #[rustfmt::skip]
    let table: &[(State, Event, State, Option<Diag>)] = &[
        // AdminDown ignores what it receives and the detection time (§6.8.6 "discard").
        (AdminDown, Received(AdminDown), AdminDown, None),
        (AdminDown, Received(Down),      AdminDown, None),
        (AdminDown, Received(Init),      AdminDown, None),
        (AdminDown, Received(Up),        AdminDown, None),
        (AdminDown, Expire,              AdminDown, None),
        (AdminDown, Disable,             AdminDown, None),
        (AdminDown, Enable,              Down,      Some(NoDiagnostic)),
        // Down.
        (Down,      Received(AdminDown), Down,      None),
        (Down,      Received(Down),      Init,      Some(NoDiagnostic)),
        (Down,      Received(Init),      Up,        Some(NoDiagnostic)),
        (Down,      Received(Up),        Down,      None),
        (Down,      Expire,              Down,      None),
        (Down,      Disable,             AdminDown, Some(AdministrativelyDown)),
        (Down,      Enable,              Down,      None),
        // Init.
        (Init,      Received(AdminDown), Down,      Some(NeighborSignaledSessionDown)),
        (Init,      Received(Down),      Init,      None),
        (Init,      Received(Init),      Up,        Some(NoDiagnostic)),
        (Init,      Received(Up),        Up,        Some(NoDiagnostic)),
        (Init,      Expire,              Down,      Some(ControlDetectionTimeExpired)),
        (Init,      Disable,             AdminDown, Some(AdministrativelyDown)),
        (Init,      Enable,              Init,      None),
        // Up.
        (Up,        Received(AdminDown), Down,      Some(NeighborSignaledSessionDown)),
        (Up,        Received(Down),      Down,      Some(NeighborSignaledSessionDown)),
        (Up,        Received(Init),      Up,        None),
        (Up,        Received(Up),        Up,        None),
        (Up,        Expire,              Down,      Some(ControlDetectionTimeExpired)),
        (Up,        Disable,             AdminDown, Some(AdministrativelyDown)),
        (Up,        Enable,              Up,        None),
    ];
    let t0 = Instant::now();
    for &(from, event, to, diag) in table {
        let mut s = in_state(from, t0);
        if matches!((from, event), (Down, Expire)) {
            // Arm the detection time in Down: a packet that keeps the session Down.
            s.handle(t0, Input::Packet(peer(AdminDown)));
        }
        if matches!((from, event), (AdminDown, Expire)) {
            let mut armed = in_state(Up, t0);
            armed.handle(t0, Input::AdminDown);
            s = armed;
        }
        let at = t0 + ms(1);
        let out = match event {
            Received(st) => s.handle(at, Input::Packet(peer(st))),
            Expire => s.handle(t0 + ms(900), Input::Timeout),
            Disable => s.handle(at, Input::AdminDown),
            Enable => s.handle(at, Input::AdminUp),
        };
        let label = format!("{from} x {event:?}");
        assert_eq!(s.state(), to, "{label}");
        let changes = transitions(&out);
        match diag {
            None => assert!(changes.is_empty(), "{label}: {changes:?}"),
            Some(d) => {
                assert_eq!(
                    changes,
                    vec![Transition {
                        from,
                        to,
                        diag: d,
                        remote_state: s.remote_state()
                    }],
                    "{label}"
                );
                assert_eq!(s.local_diag(), d, "{label}");
            }
        }
    }
}

#[test]
fn remote_admin_down_is_not_a_failure_but_detection_is() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    let t = transitions(&s.handle(t0, Input::Packet(peer(State::AdminDown))));
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].diag, Diag::NeighborSignaledSessionDown);
    assert_eq!(t[0].remote_state, State::AdminDown);
    assert!(!t[0].is_failure(), "RFC 5882 §3.2");

    let mut s = in_state(State::Up, t0);
    let t = transitions(&s.handle(t0, Input::Packet(peer(State::Down))));
    assert!(t[0].is_failure(), "the neighbor lost us: a failure");

    let mut s = in_state(State::Up, t0);
    let t = transitions(&s.handle(t0 + ms(900), Input::Timeout));
    assert!(t[0].is_failure());
    assert_eq!(t[0].diag, Diag::ControlDetectionTimeExpired);
}

#[test]
fn active_sends_at_once_passive_waits_for_the_peer() {
    let t0 = Instant::now();
    let mut active = Session::new(config(false), t0);
    assert_eq!(active.poll_timeout(), Some(t0));
    let out = sends(&active.handle(t0, Input::Timeout));
    assert_eq!(out.len(), 1);
    let p = out[0];
    assert_eq!(p.state, State::Down);
    assert_eq!(p.your_discriminator, 0);
    assert_eq!(p.my_discriminator, OURS);
    assert_eq!(
        p.desired_min_tx, 1_000_000,
        "§6.8.3: at least 1 s while not Up"
    );
    assert_eq!(p.required_min_rx, 300_000);
    assert_eq!(p.detect_mult, 3);
    assert!(!p.poll && !p.final_ && !p.demand && !p.control_plane_independent);
    assert_eq!(p.required_min_echo_rx, 0);
    assert_eq!(p.check(), Ok(()));

    let mut passive = Session::new(config(true), t0);
    assert_eq!(
        passive.poll_timeout(),
        None,
        "§6.8.7: silent without RemoteDiscr"
    );
    assert!(sends(&passive.handle(t0 + ms(5000), Input::Timeout)).is_empty());
    let t1 = t0 + ms(6000);
    passive.handle(t1, Input::Packet(peer(State::Down)));
    assert_eq!(passive.state(), State::Init);
    assert_eq!(
        passive.poll_timeout(),
        Some(t1),
        "first packet once the peer is known"
    );
    let out = sends(&passive.handle(t1, Input::Timeout));
    assert_eq!(out[0].state, State::Init);
    assert_eq!(out[0].your_discriminator, THEIRS);
}

#[test]
fn passive_goes_silent_again_when_the_peer_is_forgotten() {
    let t0 = Instant::now();
    let mut s = Session::new(config(true), t0);
    s.handle(t0, Input::Packet(peer(State::AdminDown)));
    assert_eq!(s.remote_discriminator(), THEIRS);
    assert!(s.poll_timeout().is_some());
    // A detection time (3 x max(300 ms, 300 ms)) of silence clears bfd.RemoteDiscr (§6.8.1),
    // and with it our permission to send.
    while let Some(at) = s.poll_timeout() {
        assert!(at < t0 + ms(2000), "still busy at {:?}", at - t0);
        s.handle(at, Input::Timeout);
    }
    assert_eq!(s.remote_discriminator(), 0);
    assert_eq!(s.poll_timeout(), None);
}

fn periodic_gaps(s: &mut Session, start: Instant, n: usize) -> Vec<Duration> {
    let mut now = start;
    let mut last = None;
    let mut gaps = Vec::new();
    while gaps.len() < n {
        now = s.poll_timeout().unwrap().max(now);
        if !sends(&s.handle(now, Input::Timeout)).is_empty() {
            if let Some(l) = last {
                gaps.push(now - l);
            }
            last = Some(now);
        }
    }
    gaps
}

#[test]
fn transmit_interval_is_the_larger_of_both_with_jitter() {
    let t0 = Instant::now();
    // Down: max(1 s floor, RemoteMinRx 1 us) = 1 s, jittered to 75-100 %.
    let mut s = Session::new(config(false), t0);
    for g in periodic_gaps(&mut s, t0, 200) {
        assert!(g >= ms(750) && g <= ms(1000), "{g:?}");
    }
    // The peer asks for 2 s: that wins.
    let mut s = Session::new(config(false), t0);
    s.handle(
        t0,
        Input::Packet(with(peer(State::AdminDown), |r| {
            r.required_min_rx = 2_000_000
        })),
    );
    assert_eq!(s.tx_interval(), ms(2000));
    let gaps = periodic_gaps(&mut s, t0, 100);
    for g in &gaps {
        assert!(*g >= ms(1500) && *g <= ms(2000), "{g:?}");
    }
    assert!(gaps.iter().min() != gaps.iter().max(), "jittered");
}

#[test]
fn detect_mult_one_jitters_to_75_to_90_percent() {
    let t0 = Instant::now();
    let mut cfg = config(false);
    cfg.timers = timers(300, 300, 1);
    let mut s = Session::new(cfg, t0);
    for g in periodic_gaps(&mut s, t0, 200) {
        assert!(g >= ms(750) && g <= ms(900), "{g:?}");
    }
}

#[test]
fn no_periodic_packets_when_the_peer_asks_for_none_or_is_in_demand_mode() {
    let t0 = Instant::now();
    let mut s = Session::new(config(false), t0);
    s.handle(
        t0,
        Input::Packet(with(peer(State::Down), |r| r.required_min_rx = 0)),
    );
    assert_eq!(s.poll_timeout(), s.detection_deadline(), "no transmission");
    // A Poll is still answered (§6.8.6: regardless of transmission limits).
    let out = sends(&s.handle(
        t0 + ms(10),
        Input::Packet(with(peer(State::Down), |r| {
            r.required_min_rx = 0;
            r.poll = true;
        })),
    ));
    assert_eq!(out.len(), 1);
    assert!(out[0].final_ && !out[0].poll);

    // Remote Demand mode with both Up: silent unless polling.
    let mut s = in_state(State::Up, t0);
    // Let the Up Poll Sequence finish first.
    s.handle(
        t0,
        Input::Packet(with(peer(State::Up), |r| r.final_ = true)),
    );
    s.handle(t0, Input::Packet(peer(State::Up)));
    assert!(!s.polling());
    s.handle(
        t0,
        Input::Packet(with(peer(State::Up), |r| r.demand = true)),
    );
    assert_eq!(s.poll_timeout(), s.detection_deadline());
    // A timer change starts a Poll Sequence: its packets are sent.
    s.handle(t0 + ms(1), Input::SetTimers(timers(200, 300, 3)));
    assert!(s.polling());
    assert!(s.poll_timeout() < s.detection_deadline());
}

#[test]
fn wrong_your_discriminator_is_dropped_and_counted() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    let out = s.handle(
        t0,
        Input::Packet(with(peer(State::Down), |r| r.your_discriminator = 0x99)),
    );
    assert!(out.is_empty());
    assert_eq!(s.state(), State::Up);
    assert_eq!(s.stats().rx_wrong_discriminator, 1);
}

// ---- Poll Sequence (§6.5, §6.8.3) ----

/// Runs the session to its next periodic packet and returns it.
fn next_periodic(s: &mut Session, now: &mut Instant) -> Repr {
    loop {
        *now = s.poll_timeout().unwrap().max(*now);
        if let Some(p) = sends(&s.handle(*now, Input::Timeout)).pop() {
            return p;
        }
    }
}

#[test]
fn coming_up_polls_the_faster_rate_and_final_ends_it() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    assert!(s.polling());
    assert_eq!(s.advertised_intervals(), (300_000, 300_000));
    assert_eq!(
        s.tx_interval(),
        ms(300),
        "a decrease applies at once (only increases wait for the Final)"
    );
    let mut now = t0;
    let p = next_periodic(&mut s, &mut now);
    assert!(
        p.poll && !p.final_,
        "P on the periodic packet, never with F (§6.5)"
    );
    assert_eq!(p.desired_min_tx, 300_000);
    let p = next_periodic(&mut s, &mut now);
    assert!(p.poll, "P repeats until a Final arrives");
    s.handle(
        now,
        Input::Packet(with(peer(State::Up), |r| r.final_ = true)),
    );
    assert!(!s.polling());
    assert_eq!(s.stats().polls_completed, 1);
    assert!(!next_periodic(&mut s, &mut now).poll);
}

#[test]
fn a_received_poll_is_answered_at_once_with_final_only() {
    let t0 = Instant::now();
    let mut s = in_state(State::Up, t0);
    assert!(s.polling(), "our own Poll Sequence is outstanding");
    let out = sends(&s.handle(
        t0 + ms(1),
        Input::Packet(with(peer(State::Up), |r| r.poll = true)),
    ));
    assert_eq!(out.len(), 1, "immediate, outside the schedule");
    assert!(out[0].final_ && !out[0].poll, "never P and F together");
    assert_eq!(out[0].state, State::Up);
    assert!(s.polling(), "our Poll continues on the periodic packets");
    // In AdminDown the packet is discarded before the Poll is looked at (§6.8.6).
    s.handle(t0 + ms(2), Input::AdminDown);
    let out = s.handle(
        t0 + ms(3),
        Input::Packet(with(peer(State::Up), |r| r.poll = true)),
    );
    assert!(sends(&out).is_empty());
}

/// Brings an Up session past its coming-up Poll Sequence.
fn settled_up(t0: Instant) -> Session {
    let mut s = in_state(State::Up, t0);
    s.handle(
        t0,
        Input::Packet(with(peer(State::Up), |r| r.final_ = true)),
    );
    s.handle(t0, Input::Packet(peer(State::Up)));
    assert!(!s.polling());
    s
}

#[test]
fn slower_tx_waits_for_the_final_faster_tx_does_not() {
    let t0 = Instant::now();
    let mut s = settled_up(t0);
    s.handle(t0, Input::SetTimers(timers(1000, 300, 3)));
    assert!(s.polling());
    assert_eq!(s.advertised_intervals().0, 1_000_000, "advertised at once");
    assert_eq!(s.tx_interval(), ms(300), "used only after the Final");
    let mut now = t0;
    let p = next_periodic(&mut s, &mut now);
    assert!(p.poll);
    assert_eq!(p.desired_min_tx, 1_000_000);
    s.handle(
        now,
        Input::Packet(with(peer(State::Up), |r| r.final_ = true)),
    );
    assert_eq!(s.tx_interval(), ms(1000));

    // Back to faster: applies before the Final.
    s.handle(now, Input::Packet(peer(State::Up)));
    s.handle(now, Input::SetTimers(timers(100, 300, 3)));
    assert!(s.polling());
    assert_eq!(s.tx_interval(), ms(300), "max(100 ms, the peer's 300 ms)");
    assert_eq!(s.advertised_intervals().0, 100_000);
}

#[test]
fn smaller_rx_keeps_the_old_detection_time_until_the_final() {
    let t0 = Instant::now();
    let mut s = settled_up(t0);
    // The peer sends every 100 ms: our RequiredMinRx decides the detection time.
    s.handle(
        t0,
        Input::Packet(with(peer(State::Up), |r| r.desired_min_tx = 100_000)),
    );
    assert_eq!(s.detection_time(), Some(ms(900)));
    s.handle(t0, Input::SetTimers(timers(300, 100, 3)));
    assert_eq!(s.advertised_intervals().1, 100_000);
    assert_eq!(
        s.detection_time(),
        Some(ms(900)),
        "old value until the Final"
    );
    s.handle(
        t0 + ms(1),
        Input::Packet(with(peer(State::Up), |r| {
            r.desired_min_tx = 100_000;
            r.final_ = true;
        })),
    );
    assert_eq!(s.detection_time(), Some(ms(300)));
    // Larger RequiredMinRx: at once.
    s.handle(
        t0 + ms(2),
        Input::Packet(with(peer(State::Up), |r| r.desired_min_tx = 100_000)),
    );
    s.handle(t0 + ms(2), Input::SetTimers(timers(300, 500, 3)));
    assert_eq!(s.detection_time(), Some(ms(1500)));
}

#[test]
fn a_second_change_waits_for_the_final_and_one_more_packet() {
    let t0 = Instant::now();
    let mut s = settled_up(t0);
    s.handle(t0, Input::SetTimers(timers(200, 300, 3)));
    s.handle(t0, Input::SetTimers(timers(250, 300, 3)));
    assert_eq!(
        s.advertised_intervals().0,
        200_000,
        "the outstanding Poll keeps its values"
    );
    assert_eq!(s.stats().polls_started, 2, "Up entry + the first change");
    s.handle(
        t0 + ms(1),
        Input::Packet(with(peer(State::Up), |r| r.final_ = true)),
    );
    assert!(!s.polling());
    assert_eq!(s.advertised_intervals().0, 200_000, "not yet: §6.8.3");
    s.handle(t0 + ms(2), Input::Packet(peer(State::Up)));
    assert!(
        s.polling(),
        "a packet without F: the next Poll Sequence starts"
    );
    assert_eq!(s.advertised_intervals().0, 250_000);
    assert_eq!(s.stats().polls_started, 3);
}

#[test]
fn detect_mult_changes_without_a_poll() {
    let t0 = Instant::now();
    let mut s = settled_up(t0);
    s.handle(t0, Input::SetTimers(timers(300, 300, 5)));
    assert!(!s.polling(), "§6.8.12");
    let mut now = t0;
    assert_eq!(next_periodic(&mut s, &mut now).detect_mult, 5);
}

#[test]
fn leaving_up_raises_the_advertised_tx_at_once() {
    let t0 = Instant::now();
    let mut s = settled_up(t0);
    s.handle(t0, Input::Packet(peer(State::Down)));
    assert_eq!(s.state(), State::Down);
    assert_eq!(
        s.advertised_intervals().0,
        1_000_000,
        "§6.8.3 floor while not Up"
    );
    assert_eq!(s.tx_interval(), ms(1000), "not Up: nothing is deferred");
    assert!(s.polling(), "the change is announced with a Poll Sequence");
    let mut now = t0;
    let p = next_periodic(&mut s, &mut now);
    assert_eq!(
        (p.state, p.diag, p.poll),
        (State::Down, Diag::NeighborSignaledSessionDown, true)
    );
}

#[test]
fn interval_changes_reschedule_the_next_packet() {
    let t0 = Instant::now();
    let mut s = settled_up(t0);
    let mut now = t0;
    next_periodic(&mut s, &mut now);
    let sent = now;
    let planned = s.next_tx.unwrap();
    assert!(planned - sent >= ms(225) && planned - sent <= ms(300));
    // The peer now accepts 50 ms and we want 50 ms: the pending packet comes sooner.
    s.handle(
        sent + ms(1),
        Input::Packet(with(peer(State::Up), |r| r.required_min_rx = 50_000)),
    );
    s.handle(sent + ms(1), Input::SetTimers(timers(50, 300, 3)));
    let sooner = s.next_tx.unwrap();
    assert!(sooner < planned, "{sooner:?} vs {planned:?}");
    assert!(sooner - sent >= Duration::from_micros(37_500) && sooner - sent <= ms(50));
    // The peer slows us down: the packet already planned still goes out when planned.
    let mut s = settled_up(t0);
    let mut now = t0;
    next_periodic(&mut s, &mut now);
    let planned = s.next_tx.unwrap();
    s.handle(
        now + ms(1),
        Input::Packet(with(peer(State::Up), |r| r.required_min_rx = 2_000_000)),
    );
    assert_eq!(s.next_tx, Some(planned));
    let before = now;
    next_periodic(&mut s, &mut now);
    assert_eq!(now, planned);
    assert!(
        s.next_tx.unwrap() - now >= ms(1500),
        "then the new interval"
    );
    assert!(now > before);
}

// ---- Detection time (§6.8.4) ----

#[test]
fn detection_time_is_remote_mult_times_the_slower_of_both() {
    let t0 = Instant::now();
    let mut s = settled_up(t0);
    assert_eq!(s.detection_time(), Some(ms(900)), "3 x max(300, 300)");
    s.handle(
        t0,
        Input::Packet(with(peer(State::Up), |r| {
            r.detect_mult = 5;
            r.desired_min_tx = 400_000;
        })),
    );
    assert_eq!(s.detection_time(), Some(ms(2000)), "5 x max(300, 400)");
    // Expires exactly a detection time after the last packet, not before.
    let out = s.handle(t0 + ms(1999), Input::Timeout);
    assert!(transitions(&out).is_empty());
    assert_eq!(s.state(), State::Up);
    let out = s.handle(t0 + ms(2000), Input::Timeout);
    assert_eq!(transitions(&out)[0].to, State::Down);
    assert_eq!(s.local_diag(), Diag::ControlDetectionTimeExpired);
    assert_eq!(s.remote_discriminator(), 0, "§6.8.1");
    assert_eq!(s.stats().detection_timeouts, 1);
    // Our next packets say so, with Your Discriminator 0.
    let mut now = t0 + ms(2000);
    let p = next_periodic(&mut s, &mut now);
    assert_eq!(
        (p.state, p.diag, p.your_discriminator),
        (State::Down, Diag::ControlDetectionTimeExpired, 0)
    );
}

#[test]
fn each_packet_restarts_the_detection_time() {
    let t0 = Instant::now();
    let mut s = settled_up(t0);
    for i in 1..=10 {
        let t = t0 + ms(800 * i);
        s.handle(t, Input::Timeout);
        assert_eq!(s.state(), State::Up);
        s.handle(t, Input::Packet(peer(State::Up)));
    }
}

#[test]
fn admin_down_sends_diag_7_and_admin_up_starts_over() {
    let t0 = Instant::now();
    let mut s = settled_up(t0);
    let t = transitions(&s.handle(t0, Input::AdminDown));
    assert_eq!(t[0].to, State::AdminDown);
    assert!(!t[0].is_failure());
    let mut now = t0;
    let p = next_periodic(&mut s, &mut now);
    assert_eq!(
        (p.state, p.diag),
        (State::AdminDown, Diag::AdministrativelyDown)
    );
    assert_eq!(p.desired_min_tx, 1_000_000);
    // Still sending a minute later (§6.8.16 allows indefinitely).
    now += Duration::from_secs(60);
    assert_eq!(next_periodic(&mut s, &mut now).state, State::AdminDown);
    s.handle(now, Input::AdminUp);
    assert_eq!(
        (s.state(), s.local_diag()),
        (State::Down, Diag::NoDiagnostic)
    );
}

// ---- Two sessions over a simulated link ----

struct Link {
    a: Session,
    b: Session,
    now: Instant,
    up: bool,
    a_log: Vec<Transition>,
    b_log: Vec<Transition>,
}

impl Link {
    fn new(t0: Instant, a_timers: Timers, b_timers: Timers, b_passive: bool) -> Link {
        let cfg = |discr, timers, passive, seed| Config {
            local_discriminator: NonZeroU32::new(discr).unwrap(),
            timers,
            passive,
            jitter_seed: seed,
        };
        Link {
            a: Session::new(cfg(1, a_timers, false, 10), t0),
            b: Session::new(cfg(2, b_timers, b_passive, 20), t0),
            now: t0,
            up: true,
            a_log: Vec::new(),
            b_log: Vec::new(),
        }
    }

    /// Delivers outputs of one side to the other (zero delay) until quiet.
    fn deliver(&mut self, mut from_a: Vec<Output>, mut from_b: Vec<Output>) {
        while !from_a.is_empty() || !from_b.is_empty() {
            let (mut next_a, mut next_b) = (Vec::new(), Vec::new());
            for o in from_a.drain(..) {
                match o {
                    Output::Send(r) if self.up => {
                        next_b.extend(self.b.handle(self.now, Input::Packet(r)))
                    }
                    Output::Send(_) => {}
                    Output::StateChanged(t) => self.a_log.push(t),
                }
            }
            for o in from_b.drain(..) {
                match o {
                    Output::Send(r) if self.up => {
                        next_a.extend(self.a.handle(self.now, Input::Packet(r)))
                    }
                    Output::Send(_) => {}
                    Output::StateChanged(t) => self.b_log.push(t),
                }
            }
            (from_a, from_b) = (next_a, next_b);
        }
    }

    fn step(&mut self) {
        let next = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .expect("someone has a deadline");
        self.now = next.max(self.now);
        let oa = self.a.handle(self.now, Input::Timeout);
        let ob = self.b.handle(self.now, Input::Timeout);
        self.deliver(oa, ob);
    }

    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Link) -> bool) -> Duration {
        let start = self.now;
        while !done(self) {
            assert!(
                self.now - start < limit,
                "not done after {limit:?}: a {} b {}",
                self.a.state(),
                self.b.state()
            );
            self.step();
        }
        self.now - start
    }
}

#[test]
fn two_sessions_come_up_settle_and_detect_a_cut() {
    let t0 = Instant::now();
    let mut l = Link::new(t0, timers(300, 300, 3), timers(300, 300, 3), false);
    let took = l.run_until(Duration::from_secs(3), |l| {
        l.a.state() == State::Up && l.b.state() == State::Up
    });
    assert!(
        took <= Duration::from_secs(2),
        "three-way handshake: {took:?}"
    );
    l.run_until(Duration::from_secs(2), |l| !l.a.polling() && !l.b.polling());
    assert_eq!(l.a.tx_interval(), ms(300));
    assert_eq!(l.b.detection_time(), Some(ms(900)));
    // Steady for a while: no flaps.
    let start = l.now;
    l.run_until(Duration::from_secs(11), |l| {
        l.now - start >= Duration::from_secs(10)
    });
    assert_eq!(l.a_log.iter().filter(|t| t.to == State::Down).count(), 0);
    // Cut: both detect within Detect Mult x interval (plus one transmit interval of phase).
    l.up = false;
    let cut = l.now;
    let took = l.run_until(Duration::from_secs(2), |l| {
        l.a.state() == State::Down && l.b.state() == State::Down
    });
    assert!(took <= ms(900), "{took:?}");
    let last = l.a_log.last().unwrap();
    assert!(last.is_failure() && last.diag == Diag::ControlDetectionTimeExpired);
    // Heal: back Up.
    l.up = true;
    l.run_until(Duration::from_secs(5), |l| {
        l.a.state() == State::Up && l.b.state() == State::Up
    });
    assert!(l.now > cut);
}

#[test]
fn passive_peer_and_admin_down_over_the_link() {
    let t0 = Instant::now();
    let mut l = Link::new(t0, timers(300, 300, 3), timers(100, 100, 3), true);
    l.run_until(Duration::from_secs(3), |l| {
        l.a.state() == State::Up && l.b.state() == State::Up
    });
    l.run_until(Duration::from_secs(2), |l| !l.a.polling() && !l.b.polling());
    assert_eq!(l.a.tx_interval(), ms(300));
    assert_eq!(
        l.b.tx_interval(),
        ms(300),
        "a asks for no more than every 300 ms"
    );
    assert_eq!(l.b.detection_time(), Some(ms(900)));
    assert_eq!(
        l.a.detection_time(),
        Some(ms(900)),
        "b sends every 300 ms, not 100"
    );
    // a goes AdminDown: b sees Down, Diag 3, not a failure, before its detection time.
    let out = l.a.handle(l.now, Input::AdminDown);
    l.deliver(out, Vec::new());
    l.run_until(ms(400), |l| l.b.state() == State::Down);
    let t = l.b_log.last().unwrap();
    assert_eq!(t.diag, Diag::NeighborSignaledSessionDown);
    assert_eq!(t.remote_state, State::AdminDown);
    assert!(!t.is_failure());
    // a comes back.
    let out = l.a.handle(l.now, Input::AdminUp);
    l.deliver(out, Vec::new());
    l.run_until(Duration::from_secs(4), |l| {
        l.a.state() == State::Up && l.b.state() == State::Up
    });
}

#[test]
fn timer_change_while_up_never_flaps_the_peer() {
    // The §6.8.3 rule under test: 300 ms -> 1 s while Up must not let the peer's 900 ms
    // detection time expire.
    let t0 = Instant::now();
    let mut l = Link::new(t0, timers(300, 300, 3), timers(300, 300, 3), false);
    l.run_until(Duration::from_secs(3), |l| {
        l.a.state() == State::Up && l.b.state() == State::Up
    });
    l.run_until(Duration::from_secs(2), |l| !l.a.polling() && !l.b.polling());
    for tx in [1000, 100, 2000, 300] {
        l.a.handle(l.now, Input::SetTimers(timers(tx, 300, 3)));
        l.run_until(Duration::from_secs(3), |l| !l.a.polling());
        let start = l.now;
        l.run_until(Duration::from_secs(7), |l| {
            l.now - start >= Duration::from_secs(6)
        });
        assert_eq!(
            l.a.tx_interval(),
            ms(u64::from(tx).max(300)),
            "after the change to {tx} ms"
        );
    }
    assert!(
        l.a_log.iter().chain(&l.b_log).all(|t| t.to != State::Down),
        "{:?} {:?}",
        l.a_log,
        l.b_log
    );
}
