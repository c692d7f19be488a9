//! FSM tests: the RFC 4271 §8.2.2 state x event table, walked row by row, then the behaviours
//! that need more than one event (collisions, hold time negotiation, DelayOpen, restart backoff,
//! graceful restart helper).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use super::*;
use crate::wire::open::{Capability, GracefulRestart};
use crate::wire::{Family, Message, Notification, Open, WireError, frame};

const MAIN: ConnId = 1;
const SECOND: ConnId = 2;

fn cfg() -> SessionConfig {
    let mut c = SessionConfig::new(64512, 65001, Ipv4Addr::new(10, 0, 0, 1));
    c.hold_time = HoldTime::new(30).unwrap();
    c.keepalive = 10;
    c.connect_retry = Duration::from_secs(5);
    c
}

fn peer_open(id: [u8; 4], hold: u16, gr: bool) -> Open {
    let mut capabilities = vec![
        Capability::Multiprotocol { afi: 1, safi: 1 },
        Capability::RouteRefresh,
        Capability::FourOctetAs(65001),
    ];
    if gr {
        capabilities.push(Capability::GracefulRestart(GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: 90,
            families: vec![(1, 1, true)],
        }));
    }
    Open {
        my_as: 65001,
        hold_time: hold,
        bgp_id: Ipv4Addr::from(id),
        capabilities,
    }
}

fn msg(open: Open) -> Message<'static> {
    Message::Open(open)
}

/// Messages the FSM sent on a connection, decoded to (type code, NOTIFICATION if any).
fn sent(actions: &[Action], conn: ConnId) -> Vec<(u8, Option<Notification>)> {
    let mut out = Vec::new();
    for a in actions {
        if let Action::Send(c, bytes) = a
            && *c == conn
        {
            let mut buf = &bytes[..];
            while let Ok(Some(f)) = frame(buf) {
                let n = match Message::decode(f, &buf[..f.len]) {
                    Ok(Message::Notification(n)) => Some(n),
                    _ => None,
                };
                out.push((f.kind.code(), n));
                buf = &buf[f.len..];
            }
        }
    }
    out
}

fn notification(actions: &[Action], conn: ConnId) -> Option<(u8, u8)> {
    sent(actions, conn)
        .into_iter()
        .find_map(|(_, n)| n.map(|n| (n.code, n.subcode)))
}

struct Harness {
    s: Session,
    now: Instant,
}

impl Harness {
    fn new(c: SessionConfig) -> Self {
        Harness {
            s: Session::new(c),
            now: Instant::now(),
        }
    }
    fn ev(&mut self, e: Event<'_>) -> Vec<Action> {
        self.s.handle(self.now, e)
    }
    /// Fires a timer at its deadline; an unarmed timer's expiry is delivered "now" and must be
    /// ignored by the FSM.
    fn fire(&mut self, t: Timer) -> Vec<Action> {
        match self.s.deadline(t) {
            Some(d) => {
                self.now = d;
                self.s.handle(d, Event::TimerExpired(t))
            }
            None => self.s.handle(self.now, Event::TimerExpired(t)),
        }
    }
    fn state(&self) -> State {
        self.s.state()
    }
}

fn in_state(st: State, c: SessionConfig) -> Harness {
    let mut h = Harness::new(c);
    if st == State::Idle {
        return h;
    }
    if st == State::Active {
        h.ev(Event::ManualStartPassive);
        assert_eq!(h.state(), State::Active);
        return h;
    }
    h.ev(Event::ManualStart);
    if st == State::Connect {
        return h;
    }
    h.ev(Event::TcpConnectionAcked(MAIN));
    if st == State::OpenSent {
        return h;
    }
    h.ev(Event::Message(
        MAIN,
        Ok(msg(peer_open([10, 0, 0, 2], 90, false))),
    ));
    if st == State::OpenConfirm {
        return h;
    }
    h.ev(Event::Message(MAIN, Ok(Message::Keepalive)));
    assert_eq!(h.state(), State::Established);
    h
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    ManualStart,
    ManualStop,
    AutomaticStart,
    ManualStartPassive,
    AutomaticStop,
    ConnectRetryExpires,
    HoldExpires,
    KeepaliveExpires,
    TcpAcked,
    TcpConfirmed,
    TcpFails,
    OpenMsg,
    HeaderErr,
    OpenErr,
    NotifVersionErr,
    NotifMsg,
    KeepaliveMsg,
    UpdateMsg,
    UpdateErr,
}

fn deliver(h: &mut Harness, e: Ev) -> Vec<Action> {
    match e {
        Ev::ManualStart => h.ev(Event::ManualStart),
        Ev::ManualStop => h.ev(Event::ManualStop {
            message: Some("maintenance".into()),
        }),
        Ev::AutomaticStart => h.ev(Event::AutomaticStart),
        Ev::ManualStartPassive => h.ev(Event::ManualStartPassive),
        Ev::AutomaticStop => h.ev(Event::AutomaticStop(AutoStopReason::MaxPrefixes {
            family: Family::Ipv4Unicast,
            limit: 100,
            restart_after: Some(Duration::from_secs(30)),
        })),
        Ev::ConnectRetryExpires => h.fire(Timer::ConnectRetry),
        Ev::HoldExpires => h.fire(Timer::Hold),
        Ev::KeepaliveExpires => h.fire(Timer::Keepalive),
        Ev::TcpAcked => h.ev(Event::TcpConnectionAcked(MAIN)),
        Ev::TcpConfirmed => h.ev(Event::TcpConnectionConfirmed(SECOND)),
        Ev::TcpFails => h.ev(Event::TcpConnectionFails(MAIN)),
        Ev::OpenMsg => h.ev(Event::Message(
            MAIN,
            Ok(msg(peer_open([10, 0, 0, 2], 90, false))),
        )),
        Ev::HeaderErr => h.ev(Event::Message(
            MAIN,
            Err(WireError::ConnectionNotSynchronized),
        )),
        Ev::OpenErr => h.ev(Event::Message(
            MAIN,
            Err(WireError::UnacceptableHoldTime(2)),
        )),
        Ev::NotifVersionErr => h.ev(Event::Message(
            MAIN,
            Ok(Message::Notification(Notification::new(2, 1, vec![0, 4]))),
        )),
        Ev::NotifMsg => h.ev(Event::Message(
            MAIN,
            Ok(Message::Notification(Notification::new(6, 2, vec![]))),
        )),
        Ev::KeepaliveMsg => h.ev(Event::Message(MAIN, Ok(Message::Keepalive))),
        Ev::UpdateMsg => h.ev(Event::Message(MAIN, Ok(Message::Update(&[0, 0, 0, 0])))),
        Ev::UpdateErr => h.ev(Event::Message(
            MAIN,
            Err(WireError::MalformedAttributeList("test")),
        )),
    }
}

/// One row: from `state`, `event` leads to `next`, sending `notify` (code, subcode) on the main
/// connection (None: no NOTIFICATION), and `connect` says whether a TCP connection is initiated.
struct Row {
    state: State,
    event: Ev,
    next: State,
    notify: Option<(u8, u8)>,
    connect: bool,
}

const fn row(state: State, event: Ev, next: State, notify: Option<(u8, u8)>, connect: bool) -> Row {
    Row {
        state,
        event,
        next,
        notify,
        connect,
    }
}

use State::*;

/// RFC 4271 §8.2.2, state by state. Comments cite the RFC's wording where we choose among options.
const TABLE: &[Row] = &[
    // Idle: starts move on, everything else is ignored.
    row(Idle, Ev::ManualStart, Connect, None, true),
    row(Idle, Ev::AutomaticStart, Connect, None, true),
    row(Idle, Ev::ManualStartPassive, Active, None, false),
    row(Idle, Ev::ManualStop, Idle, None, false),
    row(Idle, Ev::AutomaticStop, Idle, None, false),
    row(Idle, Ev::TcpConfirmed, Idle, None, false),
    row(Idle, Ev::OpenMsg, Idle, None, false),
    row(Idle, Ev::KeepaliveMsg, Idle, None, false),
    row(Idle, Ev::HoldExpires, Idle, None, false),
    // Connect
    row(Connect, Ev::ManualStart, Connect, None, false),
    row(Connect, Ev::ManualStop, Idle, None, false),
    row(Connect, Ev::ConnectRetryExpires, Connect, None, true),
    row(Connect, Ev::TcpAcked, OpenSent, None, false),
    // "If the DelayOpenTimer is not running: ... changes its state to Idle."
    row(Connect, Ev::TcpFails, Idle, None, false),
    row(Connect, Ev::AutomaticStop, Idle, None, false),
    row(Connect, Ev::HoldExpires, Connect, None, false), // not armed in Connect: stale, ignored
    // Active
    row(Active, Ev::ManualStart, Active, None, false),
    row(Active, Ev::ManualStop, Idle, None, false),
    row(Active, Ev::ConnectRetryExpires, Connect, None, true),
    row(Active, Ev::TcpConfirmed, OpenSent, None, false),
    row(Active, Ev::AutomaticStop, Idle, None, false),
    // OpenSent
    row(OpenSent, Ev::ManualStart, OpenSent, None, false),
    row(OpenSent, Ev::ManualStop, Idle, Some((6, 2)), false),
    row(OpenSent, Ev::AutomaticStop, Idle, Some((6, 1)), false),
    row(OpenSent, Ev::HoldExpires, Idle, Some((4, 0)), false),
    row(OpenSent, Ev::TcpFails, Active, None, false),
    row(OpenSent, Ev::OpenMsg, OpenConfirm, None, false),
    row(OpenSent, Ev::HeaderErr, Idle, Some((1, 1)), false),
    row(OpenSent, Ev::OpenErr, Idle, Some((2, 6)), false),
    row(OpenSent, Ev::NotifVersionErr, Idle, None, false),
    row(OpenSent, Ev::NotifMsg, Idle, None, false),
    // "other events": FSM error, RFC 6608 subcode 1.
    row(OpenSent, Ev::KeepaliveMsg, Idle, Some((5, 1)), false),
    row(OpenSent, Ev::UpdateMsg, Idle, Some((5, 1)), false),
    row(OpenSent, Ev::UpdateErr, Idle, Some((3, 1)), false),
    // OpenConfirm
    row(OpenConfirm, Ev::ManualStart, OpenConfirm, None, false),
    row(OpenConfirm, Ev::ManualStop, Idle, Some((6, 2)), false),
    row(OpenConfirm, Ev::AutomaticStop, Idle, Some((6, 1)), false),
    row(OpenConfirm, Ev::HoldExpires, Idle, Some((4, 0)), false),
    row(OpenConfirm, Ev::KeepaliveExpires, OpenConfirm, None, false),
    row(OpenConfirm, Ev::TcpFails, Idle, None, false),
    row(OpenConfirm, Ev::NotifVersionErr, Idle, None, false),
    row(OpenConfirm, Ev::NotifMsg, Idle, None, false),
    row(OpenConfirm, Ev::HeaderErr, Idle, Some((1, 1)), false),
    row(OpenConfirm, Ev::OpenErr, Idle, Some((2, 6)), false),
    row(OpenConfirm, Ev::KeepaliveMsg, Established, None, false),
    row(OpenConfirm, Ev::OpenMsg, Idle, Some((5, 2)), false),
    row(OpenConfirm, Ev::UpdateMsg, Idle, Some((5, 2)), false),
    // Established
    row(Established, Ev::ManualStart, Established, None, false),
    row(Established, Ev::ManualStop, Idle, Some((6, 2)), false),
    row(Established, Ev::AutomaticStop, Idle, Some((6, 1)), false),
    row(Established, Ev::HoldExpires, Idle, Some((4, 0)), false),
    row(Established, Ev::KeepaliveExpires, Established, None, false),
    row(Established, Ev::TcpFails, Idle, None, false),
    row(Established, Ev::NotifVersionErr, Idle, None, false),
    row(Established, Ev::NotifMsg, Idle, None, false),
    row(Established, Ev::KeepaliveMsg, Established, None, false),
    row(Established, Ev::UpdateMsg, Established, None, false),
    row(Established, Ev::UpdateErr, Idle, Some((3, 1)), false),
    row(Established, Ev::HeaderErr, Idle, Some((1, 1)), false),
    row(Established, Ev::OpenMsg, Idle, Some((5, 3)), false),
    // A second connection while Established without graceful restart is refused; state stays.
    row(Established, Ev::TcpConfirmed, Established, None, false),
];

#[test]
fn rfc4271_state_event_table() {
    let mut failures = Vec::new();
    for r in TABLE {
        let mut h = in_state(r.state, cfg());
        let actions = deliver(&mut h, r.event);
        let got_notify = notification(&actions, MAIN);
        let got_connect = actions.iter().any(|a| matches!(a, Action::Connect));
        if h.state() != r.next || got_notify != r.notify || got_connect != r.connect {
            failures.push(format!(
                "{:?} + {:?}: expected {:?} notify {:?} connect {}, got {:?} notify {:?} connect {}",
                r.state, r.event, r.next, r.notify, r.connect, h.state(), got_notify, got_connect
            ));
        }
        // Leaving a state with a connection always closes it.
        if r.next == Idle
            && r.state != Idle
            && matches!(r.state, OpenSent | OpenConfirm | Established)
        {
            assert!(
                actions.contains(&Action::Close(MAIN)),
                "{:?} + {:?} must close",
                r.state,
                r.event
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn established_reports_negotiated_parameters_and_down_withdraws() {
    let mut h = in_state(OpenConfirm, cfg());
    let a = deliver(&mut h, Ev::KeepaliveMsg);
    let neg = a.iter().find_map(|a| match a {
        Action::Established(n) => Some(n.clone()),
        _ => None,
    });
    let neg = neg.expect("Established action");
    assert_eq!(neg.hold_time, 30, "min(ours 30, theirs 90)");
    assert_eq!(neg.keepalive, 10);
    assert_eq!(neg.families, vec![Family::Ipv4Unicast]);
    assert!(neg.four_octet_as && neg.ebgp && neg.route_refresh);
    let a = deliver(&mut h, Ev::HoldExpires);
    assert!(a.iter().any(|a| matches!(
        a,
        Action::Down {
            reason: DownReason::HoldTimerExpired,
            retain_stale: None
        }
    )));
}

#[test]
fn a_change_to_idle_carries_the_reason_of_that_change() {
    // Established, then down by the hold timer: the change to Idle says so.
    let mut h = in_state(OpenConfirm, cfg());
    deliver(&mut h, Ev::KeepaliveMsg);
    let a = deliver(&mut h, Ev::HoldExpires);
    let idle_reason = |a: &[Action]| {
        a.iter().find_map(|a| match a {
            Action::StateChange {
                to: Idle, reason, ..
            } => Some(reason.clone()),
            _ => None,
        })
    };
    assert_eq!(idle_reason(&a), Some(Some(DownReason::HoldTimerExpired)));
    // A later failed connect is the reason of its own change to Idle, not the old hold
    // timer (the event and `show` both report this one).
    let mut h = in_state(Connect, cfg());
    let a = deliver(&mut h, Ev::TcpFails);
    assert_eq!(idle_reason(&a), Some(Some(DownReason::ConnectionFailed)));
    // Other changes carry none.
    let a = deliver(&mut h, Ev::ManualStart);
    assert!(a.iter().all(|a| !matches!(
        a,
        Action::StateChange {
            reason: Some(_),
            ..
        }
    )));
}

#[test]
fn hold_time_zero_means_no_keepalives() {
    let mut h = in_state(OpenSent, cfg());
    h.ev(Event::Message(
        MAIN,
        Ok(msg(peer_open([10, 0, 0, 2], 0, false))),
    ));
    assert_eq!(h.s.negotiated().unwrap().hold_time, 0);
    assert_eq!(h.s.deadline(Timer::Hold), None);
    assert_eq!(h.s.deadline(Timer::Keepalive), None);
}

#[test]
fn hold_timer_is_restarted_by_keepalives_and_expiry_is_detected() {
    let mut h = in_state(Established, cfg());
    let first = h.s.deadline(Timer::Hold).unwrap();
    h.now += Duration::from_secs(20);
    deliver(&mut h, Ev::KeepaliveMsg);
    assert_eq!(
        h.s.deadline(Timer::Hold),
        Some(h.now + Duration::from_secs(30))
    );
    assert!(h.s.deadline(Timer::Hold).unwrap() > first);
    // Nothing due before the deadline.
    let a = h.s.handle_timeouts(h.now + Duration::from_secs(29));
    assert_eq!(notification(&a, MAIN), None);
    assert_eq!(
        sent(&a, MAIN).iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![4],
        "a KEEPALIVE"
    );
    assert_eq!(h.state(), Established);
    let a = h.s.handle_timeouts(h.now + Duration::from_secs(30));
    assert_eq!(notification(&a, MAIN), Some((4, 0)));
    assert_eq!(h.state(), Idle);
}

#[test]
fn wrong_peer_as_is_bad_peer_as() {
    let mut h = in_state(OpenSent, cfg());
    let mut open = peer_open([10, 0, 0, 2], 90, false);
    open.capabilities[2] = Capability::FourOctetAs(65099);
    let a = h.ev(Event::Message(MAIN, Ok(msg(open))));
    assert_eq!(notification(&a, MAIN), Some((2, 2)));
    assert_eq!(h.state(), Idle);
}

#[test]
fn ibgp_with_our_own_identifier_is_bad_bgp_identifier() {
    let mut c = cfg();
    c.remote_as = 64512;
    let mut h = in_state(OpenSent, c);
    let mut open = peer_open([10, 0, 0, 1], 90, false);
    open.capabilities[2] = Capability::FourOctetAs(64512);
    let a = h.ev(Event::Message(MAIN, Ok(msg(open))));
    assert_eq!(notification(&a, MAIN), Some((2, 3)));
}

#[test]
fn delay_open_waits_then_sends_open_or_answers_an_early_open() {
    let mut c = cfg();
    c.delay_open = Some(Duration::from_secs(5));
    let mut h = in_state(Connect, c.clone());
    let a = h.ev(Event::TcpConnectionAcked(MAIN));
    assert!(sent(&a, MAIN).is_empty(), "no OPEN while DelayOpen runs");
    assert_eq!(h.state(), Connect);
    let a = h.fire(Timer::DelayOpen);
    assert_eq!(sent(&a, MAIN).first().map(|m| m.0), Some(1));
    assert_eq!(h.state(), OpenSent);

    // The peer's OPEN arrives while DelayOpen runs: OPEN + KEEPALIVE, OpenConfirm (event 20).
    let mut h = in_state(Connect, c);
    h.ev(Event::TcpConnectionAcked(MAIN));
    let a = deliver(&mut h, Ev::OpenMsg);
    let kinds: Vec<u8> = sent(&a, MAIN).iter().map(|m| m.0).collect();
    assert_eq!(kinds, vec![1, 4]);
    assert_eq!(h.state(), OpenConfirm);
}

#[test]
fn collision_keeps_the_connection_of_the_higher_identifier() {
    // Our id 10.0.0.1 < peer's 10.0.0.2: keep the connection the peer initiated.
    let mut h = in_state(OpenSent, cfg()); // MAIN is ours (outgoing)
    let a = h.ev(Event::TcpConnectionConfirmed(SECOND));
    assert_eq!(
        sent(&a, SECOND).first().map(|m| m.0),
        Some(1),
        "OPEN on the second connection"
    );
    let a = h.ev(Event::Message(
        SECOND,
        Ok(msg(peer_open([10, 0, 0, 2], 90, false))),
    ));
    assert_eq!(notification(&a, MAIN), Some((6, 7)));
    assert!(a.contains(&Action::Close(MAIN)));
    assert_eq!(h.s.connection(), Some(SECOND));
    assert_eq!(h.state(), OpenConfirm);

    // Peer's id lower than ours: our outgoing connection survives, the incoming one is dumped.
    let mut h = in_state(OpenSent, cfg());
    h.ev(Event::TcpConnectionConfirmed(SECOND));
    let a = h.ev(Event::Message(
        SECOND,
        Ok(msg(peer_open([10, 0, 0, 0], 90, false))),
    ));
    assert_eq!(notification(&a, SECOND), Some((6, 7)));
    assert_eq!(h.s.connection(), Some(MAIN));
    assert_eq!(h.state(), OpenSent);
}

#[test]
fn graceful_restart_helper_keeps_routes_when_the_peer_reconnects() {
    let mut h = in_state(OpenSent, cfg());
    h.ev(Event::Message(
        MAIN,
        Ok(msg(peer_open([10, 0, 0, 2], 90, true))),
    ));
    h.ev(Event::Message(MAIN, Ok(Message::Keepalive)));
    assert_eq!(h.state(), Established);
    // The peer restarts: a new connection, then its OPEN.
    let a = h.ev(Event::TcpConnectionConfirmed(SECOND));
    assert!(!a.contains(&Action::Close(SECOND)));
    let a = h.ev(Event::Message(
        SECOND,
        Ok(msg(peer_open([10, 0, 0, 2], 90, true))),
    ));
    assert!(a.contains(&Action::Down {
        reason: DownReason::PeerRestarted,
        retain_stale: Some(StaleRetention {
            time: Duration::from_secs(90),
            families: vec![Family::Ipv4Unicast]
        })
    }));
    assert_eq!(h.state(), OpenConfirm);
    assert_eq!(h.s.connection(), Some(SECOND));
    // TCP failure with GR: routes retained too.
    h.ev(Event::Message(SECOND, Ok(Message::Keepalive)));
    let a = h.ev(Event::TcpConnectionFails(SECOND));
    assert!(a.iter().any(|a| matches!(
        a,
        Action::Down {
            retain_stale: Some(_),
            ..
        }
    )));
}

#[test]
fn a_graceful_restart_capability_without_families_keeps_nothing() {
    let mut h = in_state(OpenSent, cfg());
    let mut open = peer_open([10, 0, 0, 2], 90, true);
    if let Some(Capability::GracefulRestart(gr)) = open.capabilities.last_mut() {
        gr.families.clear(); // FRR's default: helper only
    }
    h.ev(Event::Message(MAIN, Ok(msg(open))));
    h.ev(Event::Message(MAIN, Ok(Message::Keepalive)));
    let a = h.ev(Event::TcpConnectionFails(MAIN));
    assert!(a.contains(&Action::Down {
        reason: DownReason::ConnectionFailed,
        retain_stale: None
    }));
}

#[test]
fn max_prefix_stop_sends_cease_1_and_restarts_after_the_configured_time() {
    let mut h = in_state(Established, cfg());
    let a = deliver(&mut h, Ev::AutomaticStop);
    let n = sent(&a, MAIN).into_iter().find_map(|m| m.1).unwrap();
    assert_eq!(n.data, vec![0, 1, 1, 0, 0, 0, 100]);
    assert_eq!(h.state(), Idle);
    assert_eq!(
        h.s.deadline(Timer::IdleHold),
        Some(h.now + Duration::from_secs(30))
    );
    let a = h.fire(Timer::IdleHold);
    assert!(a.contains(&Action::Connect));
    assert_eq!(h.state(), Connect);
}

#[test]
fn idle_hold_backs_off_and_manual_stop_stays_down() {
    let mut h = in_state(Connect, cfg());
    let mut delays = Vec::new();
    for _ in 0..4 {
        h.ev(Event::TcpConnectionFails(MAIN));
        assert_eq!(h.state(), Idle);
        delays.push(h.s.deadline(Timer::IdleHold).unwrap() - h.now);
        h.fire(Timer::IdleHold);
        assert_eq!(h.state(), Connect);
    }
    assert_eq!(delays, [1, 2, 4, 8].map(Duration::from_secs).to_vec());
    let a = deliver(&mut h, Ev::ManualStop);
    assert_eq!(h.state(), Idle);
    assert!(
        a.iter()
            .all(|a| !matches!(a, Action::Timer(Timer::IdleHold, Some(_))))
    );
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn a_collision_cease_is_not_a_failure() {
    // Backed off after failures, then the peer resolves a collision against our connection:
    // Cease 6/7 restarts after the base idle hold, and the backoff does not grow.
    let mut h = in_state(Connect, cfg());
    for _ in 0..3 {
        h.ev(Event::TcpConnectionFails(MAIN));
        h.fire(Timer::IdleHold);
    }
    h.ev(Event::TcpConnectionConfirmed(MAIN));
    assert_eq!(h.state(), OpenSent);
    h.ev(Event::Message(
        MAIN,
        Ok(Message::Notification(Notification::new(6, 7, vec![]))),
    ));
    assert_eq!(h.state(), Idle);
    assert_eq!(
        h.s.deadline(Timer::IdleHold),
        Some(h.now + Duration::from_secs(1)),
        "the base idle hold, not 8 s"
    );

    // With a collision partner that got our OPEN, the session carries on over it.
    let mut h = in_state(OpenSent, cfg());
    h.ev(Event::TcpConnectionConfirmed(SECOND));
    let a = h.ev(Event::Message(
        MAIN,
        Ok(Message::Notification(Notification::new(6, 7, vec![]))),
    ));
    assert!(a.contains(&Action::Close(MAIN)));
    assert_eq!(h.s.connection(), Some(SECOND));
    assert_eq!(h.state(), OpenSent);
    h.ev(Event::Message(
        SECOND,
        Ok(msg(peer_open([10, 0, 0, 2], 90, false))),
    ));
    assert_eq!(h.state(), OpenConfirm);
}

#[test]
fn passive_never_connects() {
    let mut c = cfg();
    c.passive = true;
    let mut h = Harness::new(c);
    let a = h.ev(Event::ManualStart);
    assert!(!a.contains(&Action::Connect));
    assert_eq!(h.state(), Active);
    let a = h.fire(Timer::ConnectRetry);
    assert!(!a.contains(&Action::Connect));
    assert_eq!(h.state(), Active);
}

#[test]
fn route_refresh_is_reported_only_for_negotiated_families() {
    let mut h = in_state(Established, cfg());
    let a = h.ev(Event::Message(
        MAIN,
        Ok(Message::RouteRefresh(crate::wire::RouteRefresh::Family(
            Family::Ipv4Unicast,
        ))),
    ));
    assert_eq!(a, vec![Action::RouteRefreshRequested(Family::Ipv4Unicast)]);
    let a = h.ev(Event::Message(
        MAIN,
        Ok(Message::RouteRefresh(crate::wire::RouteRefresh::Family(
            Family::Ipv6Unicast,
        ))),
    ));
    assert!(a.is_empty());
}

#[test]
fn our_open_announces_capabilities() {
    let mut h = in_state(Connect, cfg());
    let a = h.ev(Event::TcpConnectionAcked(MAIN));
    let bytes = a.iter().find_map(|a| match a {
        Action::Send(_, b) => Some(b.clone()),
        _ => None,
    });
    let bytes = bytes.unwrap();
    let f = frame(&bytes).unwrap().unwrap();
    let Ok(Message::Open(open)) = Message::decode(f, &bytes) else {
        panic!("not an OPEN")
    };
    assert_eq!(open.asn(), 64512);
    assert_eq!(open.hold_time, 30);
    assert!(open.route_refresh());
    assert_eq!(
        open.families(),
        vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
    );
    assert_eq!(open.graceful_restart().unwrap().restart_time, 120);
}
