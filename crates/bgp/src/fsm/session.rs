//! One BGP session's finite state machine (RFC 4271 §8), sans-IO.
//!
//! ```text
//!                         ManualStart / AutomaticStart / IdleHold expiry
//!            +------+ --------------------------------------------+
//!   +------> | Idle | ----- ManualStartPassive ----+              v
//!   |        +------+                              |         +---------+  ConnectRetry
//!   |  any error  ^                                v         | Connect |<-----------+
//!   |  (NOTIFY,   |                           +--------+     +---------+            |
//!   |   close,    |    ConnectRetry expiry    | Active |---------+----|-------------+
//!   |   IdleHold  |   +-----------------------+--------+         |    | TCP up (no DelayOpen)
//!   |   armed)    |   |     TCP up (incoming) |                  |    v
//!   |             |   +-----------------------+----------> +----------+
//!   |             |                                        | OpenSent |  OPEN received
//!   |             |                                        +----------+------------+
//!   |             |                                                                v
//!   |      +-------------+        KEEPALIVE received                       +-------------+
//!   +------| Established |<------------------------------------------------| OpenConfirm |
//!          +-------------+                                                 +-------------+
//! ```
//!
//! [`Session::handle`] takes the time and one [`Event`] and returns [`Action`]s; timers are
//! deadlines the driver reads from [`Session::poll_timeout`] and feeds back as
//! [`Event::TimerExpired`]. I/O failures come back in as events; nothing else changes the state.
//!
//! Connection collisions (RFC 4271 §6.8, RFC 6286 §2.3): a second connection that appears in
//! OpenSent/OpenConfirm gets our OPEN; when its OPEN arrives the BGP identifiers decide which
//! connection survives, the other gets Cease/7. In Established a second connection is refused
//! (Cease/7), unless the peer announced graceful restart: then it is the restarted peer
//! (RFC 4724 §4.2), the old session goes down with its routes kept as stale, and the new
//! connection carries on.
//!
//! Restart policy: from Idle the session restarts itself after IdleHoldTimer (our reconnect
//! backoff, doubling per consecutive failure up to a cap) unless it was stopped manually or a
//! max-prefix stop said not to.
//!
//! What it does not do: sockets, the RIB, or UPDATE decoding (the driver passes UPDATE bodies to
//! the RIB when the FSM answers [`Action::ProcessUpdate`]).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use tracing::{debug, info};

use super::config::SessionConfig;
use super::types::{
    Action, AutoStopReason, ConnId, DownReason, Event, Negotiated, StaleRetention, State, Timer,
};
use crate::wire::open::{AS_TRANS, Capability, GracefulRestart};
use crate::wire::{CeaseSubcode, Family, Message, Notification, Open, WireError, write_keepalive};

const TIMERS: [Timer; 5] = [
    Timer::ConnectRetry,
    Timer::Hold,
    Timer::Keepalive,
    Timer::DelayOpen,
    Timer::IdleHold,
];

fn timer_index(t: Timer) -> usize {
    match t {
        Timer::ConnectRetry => 0,
        Timer::Hold => 1,
        Timer::Keepalive => 2,
        Timer::DelayOpen => 3,
        Timer::IdleHold => 4,
    }
}

/// A second connection during a collision window.
#[derive(Debug, Clone, Copy)]
struct OtherConn {
    id: ConnId,
    outgoing: bool,
}

/// The state machine of one session.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    conn: Option<ConnId>,
    conn_outgoing: bool,
    other: Option<OtherConn>,
    deadlines: [Option<Instant>; 5],
    connect_retry_counter: u32,
    auto_restart: bool,
    passive_start: bool,
    negotiated: Option<Negotiated>,
    peer_open: Option<Open>,
    last_down: Option<DownReason>,
    failures: u32,
    out: Vec<Action>,
}

impl Session {
    /// A session in Idle that waits for a start event.
    pub fn new(cfg: SessionConfig) -> Self {
        Session {
            cfg,
            state: State::Idle,
            conn: None,
            conn_outgoing: false,
            other: None,
            deadlines: [None; 5],
            connect_retry_counter: 0,
            auto_restart: false,
            passive_start: false,
            negotiated: None,
            peer_open: None,
            last_down: None,
            failures: 0,
            out: Vec::new(),
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }
    /// Negotiated parameters while OpenConfirm or Established.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }
    /// Why the session last went down.
    pub fn last_down(&self) -> Option<&DownReason> {
        self.last_down.as_ref()
    }
    /// ConnectRetryCounter (RFC 4271 §8).
    pub fn connect_retry_counter(&self) -> u32 {
        self.connect_retry_counter
    }
    /// The connection the session runs on, if any.
    pub fn connection(&self) -> Option<ConnId> {
        self.conn
    }
    /// The peer's OPEN, once received.
    pub fn peer_open(&self) -> Option<&Open> {
        self.peer_open.as_ref()
    }
    /// When a timer is due.
    pub fn deadline(&self, t: Timer) -> Option<Instant> {
        self.deadlines[timer_index(t)]
    }

    /// The earliest armed timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Fires every timer due at `now`, in a fixed order.
    pub fn handle_timeouts(&mut self, now: Instant) -> Vec<Action> {
        let mut all = Vec::new();
        for t in TIMERS {
            if self.deadlines[timer_index(t)].is_some_and(|d| d <= now) {
                all.extend(self.handle(now, Event::TimerExpired(t)));
            }
        }
        all
    }

    /// Processes one event.
    pub fn handle(&mut self, now: Instant, event: Event<'_>) -> Vec<Action> {
        debug_assert!(self.out.is_empty());
        match event {
            Event::TimerExpired(t) => {
                // A stale expiry (timer already stopped or re-armed later) is ignored.
                match self.deadlines[timer_index(t)] {
                    Some(d) if d <= now => self.deadlines[timer_index(t)] = None,
                    _ => return Vec::new(),
                }
                self.on_timer(now, t);
            }
            Event::ManualStart => self.on_start(now, false, true),
            Event::AutomaticStart => self.on_start(now, false, false),
            Event::ManualStartPassive => self.on_start(now, true, true),
            Event::AutomaticStartPassive => self.on_start(now, true, false),
            Event::ManualStop { message } => self.on_manual_stop(now, message),
            Event::AutomaticStop(reason) => self.on_automatic_stop(now, reason),
            Event::TcpConnectionAcked(id) => self.on_tcp_up(now, id, true),
            Event::TcpConnectionConfirmed(id) => self.on_tcp_up(now, id, false),
            Event::TcpConnectionFails(id) => self.on_tcp_fails(now, id),
            Event::Message(id, msg) => self.on_message(now, id, msg),
        }
        std::mem::take(&mut self.out)
    }

    // ---- helpers -------------------------------------------------------------------------

    fn set_timer(&mut self, t: Timer, deadline: Option<Instant>) {
        self.deadlines[timer_index(t)] = deadline;
        self.out.push(Action::Timer(t, deadline));
    }

    fn start_timer(&mut self, now: Instant, t: Timer, d: Duration) {
        self.set_timer(t, Some(now + d));
    }

    fn stop_timer(&mut self, t: Timer) {
        if self.deadlines[timer_index(t)].is_some() {
            self.set_timer(t, None);
        }
    }

    fn timer_running(&self, t: Timer) -> bool {
        self.deadlines[timer_index(t)].is_some()
    }

    fn goto(&mut self, to: State) {
        if self.state != to {
            info!(from = %self.state, to = %to, "state change");
            self.out.push(Action::StateChange {
                from: self.state,
                to,
                reason: (to == State::Idle)
                    .then(|| self.last_down.clone())
                    .flatten(),
            });
            self.state = to;
        }
    }

    fn send(&mut self, conn: ConnId, bytes: Vec<u8>) {
        self.out.push(Action::Send(conn, bytes));
    }

    fn send_notification(&mut self, conn: Option<ConnId>, n: &Notification) {
        if let Some(c) = conn {
            let mut b = Vec::new();
            n.encode(&mut b);
            self.send(c, b);
        }
    }

    fn our_open(&self) -> Vec<u8> {
        let mut caps: Vec<Capability> = self
            .cfg
            .families
            .iter()
            .map(|f| Capability::Multiprotocol {
                afi: f.afi(),
                safi: f.safi(),
            })
            .collect();
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::FourOctetAs(self.cfg.local_as));
        if let Some(t) = self.cfg.graceful_restart {
            // Helper only: no families with preserved forwarding state (RFC 4724 §3).
            caps.push(Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: t.min(4095),
                families: Vec::new(),
            }));
        }
        let my_as = u16::try_from(self.cfg.local_as).unwrap_or(AS_TRANS);
        let open = Open {
            my_as,
            hold_time: self.cfg.hold_time.secs(),
            bgp_id: self.cfg.router_id,
            capabilities: caps,
        };
        let mut b = Vec::new();
        open.encode(&mut b);
        b
    }

    fn send_open(&mut self, now: Instant, conn: ConnId) {
        let open = self.our_open();
        self.send(conn, open);
        // RFC 4271 §8.2.2: a large hold timer while waiting for the peer's OPEN.
        self.start_timer(now, Timer::Hold, self.cfg.open_hold);
    }

    fn close_all(&mut self) {
        if let Some(c) = self.conn.take() {
            self.out.push(Action::Close(c));
        }
        if let Some(o) = self.other.take() {
            self.out.push(Action::Close(o.id));
        }
    }

    fn idle_hold_delay(&self) -> Duration {
        let factor = 1u32 << self.failures.min(10);
        (self.cfg.idle_hold * factor).min(self.cfg.idle_hold_max)
    }

    /// Releases everything and goes to Idle ("release all BGP resources, drop the TCP
    /// connection"). `counted` increments ConnectRetryCounter; `restart` overrides the automatic
    /// restart delay (Some(None) disables it).
    fn go_idle(
        &mut self,
        now: Instant,
        reason: DownReason,
        counted: bool,
        restart: Option<Option<Duration>>,
    ) {
        let was_established = self.state == State::Established;
        self.close_all();
        for t in [
            Timer::ConnectRetry,
            Timer::Hold,
            Timer::Keepalive,
            Timer::DelayOpen,
        ] {
            self.stop_timer(t);
        }
        if counted {
            self.connect_retry_counter += 1;
        }
        if was_established {
            let retain_stale = self.gr_retain(&reason);
            self.out.push(Action::Down {
                reason: reason.clone(),
                retain_stale,
            });
        }
        info!(%reason, "session down");
        self.last_down = Some(reason);
        self.negotiated = None;
        self.peer_open = None;
        self.goto(State::Idle);
        match restart {
            Some(None) => self.auto_restart = false,
            Some(Some(d)) => self.start_timer(now, Timer::IdleHold, d),
            None if self.auto_restart => {
                let d = self.idle_hold_delay();
                self.failures = self.failures.saturating_add(1);
                self.start_timer(now, Timer::IdleHold, d)
            }
            None => {}
        }
    }

    /// RFC 4724 §4.2: the helper keeps routes when the session drops without a NOTIFICATION
    /// (TCP failure, or the peer reconnecting), for the families the peer listed in its
    /// graceful-restart capability. A capability with no family (helper-only peers, FRR's
    /// default) keeps nothing.
    fn gr_retain(&self, reason: &DownReason) -> Option<StaleRetention> {
        self.cfg.graceful_restart?;
        let neg = self.negotiated.as_ref()?;
        let gr = neg.peer_graceful_restart.as_ref()?;
        if !matches!(
            reason,
            DownReason::ConnectionFailed | DownReason::PeerRestarted
        ) {
            return None;
        }
        let families: Vec<Family> = gr
            .families
            .iter()
            .filter_map(|&(afi, safi, _)| Family::from_afi_safi(afi, safi))
            .filter(|f| neg.families.contains(f))
            .collect();
        if families.is_empty() {
            return None;
        }
        Some(StaleRetention {
            time: Duration::from_secs(u64::from(gr.restart_time)),
            families,
        })
    }

    fn notify_and_idle(
        &mut self,
        now: Instant,
        n: Notification,
        counted: bool,
        restart: Option<Option<Duration>>,
    ) {
        self.send_notification(self.conn, &n);
        self.go_idle(now, DownReason::sent(&n), counted, restart);
    }

    // ---- events --------------------------------------------------------------------------

    fn on_start(&mut self, now: Instant, passive: bool, manual: bool) {
        if self.state != State::Idle {
            return; // ignored in every other state (RFC 4271 §8.2.2)
        }
        self.auto_restart = true;
        if manual {
            self.failures = 0;
        }
        self.passive_start = passive || self.cfg.passive;
        self.stop_timer(Timer::IdleHold);
        self.connect_retry_counter = if manual {
            0
        } else {
            self.connect_retry_counter
        };
        self.start_timer(now, Timer::ConnectRetry, self.cfg.connect_retry);
        if self.passive_start {
            self.goto(State::Active);
        } else {
            self.out.push(Action::Connect);
            self.goto(State::Connect);
        }
    }

    fn on_manual_stop(&mut self, now: Instant, message: Option<String>) {
        self.auto_restart = false;
        self.stop_timer(Timer::IdleHold);
        match self.state {
            State::Idle => {}
            State::Connect | State::Active => {
                self.connect_retry_counter = 0;
                self.go_idle(now, DownReason::AdminStop { message }, false, Some(None));
            }
            State::OpenSent | State::OpenConfirm | State::Established => {
                // RFC 4486 §4 / RFC 9003: Cease/2 with the shutdown communication.
                let n = match &message {
                    Some(m) => Notification::admin(CeaseSubcode::AdminShutdown, m),
                    None => Notification::cease(CeaseSubcode::AdminShutdown),
                };
                self.send_notification(self.conn, &n);
                self.connect_retry_counter = 0;
                self.go_idle(now, DownReason::AdminStop { message }, false, Some(None));
            }
        }
    }

    fn on_automatic_stop(&mut self, now: Instant, reason: AutoStopReason) {
        if self.state == State::Idle {
            return;
        }
        let (n, restart) = match reason {
            AutoStopReason::MaxPrefixes {
                family,
                limit,
                restart_after,
            } => (
                Notification::max_prefixes(family.afi(), family.safi(), limit),
                Some(restart_after),
            ),
            AutoStopReason::UpdateError(e) => (e.notification(), None),
            AutoStopReason::ConfigChange => {
                (Notification::cease(CeaseSubcode::OtherConfigChange), None)
            }
            AutoStopReason::Deconfigured => (
                Notification::cease(CeaseSubcode::PeerDeconfigured),
                Some(None),
            ),
        };
        match self.state {
            State::Connect | State::Active => {
                self.go_idle(now, DownReason::sent(&n), true, restart)
            }
            _ => self.notify_and_idle(now, n, true, restart),
        }
    }

    fn on_timer(&mut self, now: Instant, t: Timer) {
        match (self.state, t) {
            (State::Idle, Timer::IdleHold) => {
                let passive = self.passive_start || self.cfg.passive;
                self.on_start(now, passive, false);
            }
            (State::Connect, Timer::ConnectRetry) => {
                // Drop the attempt, restart the timer, try again (stay in Connect).
                if let Some(c) = self.conn.take() {
                    self.out.push(Action::Close(c));
                }
                self.stop_timer(Timer::DelayOpen);
                self.start_timer(now, Timer::ConnectRetry, self.cfg.connect_retry);
                self.out.push(Action::Connect);
            }
            (State::Active, Timer::ConnectRetry) => {
                self.start_timer(now, Timer::ConnectRetry, self.cfg.connect_retry);
                if self.cfg.passive {
                    // Passive neighbors never initiate; keep listening.
                    return;
                }
                self.out.push(Action::Connect);
                self.goto(State::Connect);
            }
            (State::Connect | State::Active, Timer::DelayOpen) => {
                if let Some(c) = self.conn {
                    self.stop_timer(Timer::ConnectRetry);
                    self.send_open(now, c);
                    self.goto(State::OpenSent);
                }
            }
            (State::OpenSent | State::OpenConfirm | State::Established, Timer::Hold) => {
                self.notify_and_idle_hold_expired(now);
            }
            (State::OpenConfirm | State::Established, Timer::Keepalive) => {
                if let Some(c) = self.conn {
                    let mut b = Vec::new();
                    write_keepalive(&mut b);
                    self.send(c, b);
                }
                if let Some(k) = self.negotiated.as_ref().map(|n| n.keepalive)
                    && k > 0
                {
                    self.start_timer(now, Timer::Keepalive, Duration::from_secs(u64::from(k)));
                }
            }
            (State::Connect | State::Active, Timer::Hold | Timer::Keepalive) => {
                self.go_idle(now, DownReason::ConnectionFailed, true, None);
            }
            (State::OpenSent, _) => self.fsm_error(now, 1),
            (State::OpenConfirm, _) => self.fsm_error(now, 2),
            (State::Established, _) => self.fsm_error(now, 3),
            _ => {}
        }
    }

    fn notify_and_idle_hold_expired(&mut self, now: Instant) {
        let n = Notification::hold_timer_expired();
        self.send_notification(self.conn, &n);
        self.go_idle(now, DownReason::HoldTimerExpired, true, None);
    }

    /// RFC 6608: Finite State Machine Error with the state as subcode.
    fn fsm_error(&mut self, now: Instant, subcode: u8) {
        let n = Notification::new(crate::wire::notification::codes::FSM, subcode, Vec::new());
        self.notify_and_idle(now, n, true, None);
    }

    fn on_tcp_up(&mut self, now: Instant, id: ConnId, outgoing: bool) {
        match self.state {
            State::Idle => self.out.push(Action::Close(id)),
            State::Connect | State::Active => {
                if let Some(old) = self.conn.replace(id)
                    && old != id
                {
                    self.out.push(Action::Close(old));
                }
                self.conn_outgoing = outgoing;
                if let Some(d) = self.cfg.delay_open {
                    self.stop_timer(Timer::ConnectRetry);
                    self.start_timer(now, Timer::DelayOpen, d);
                } else {
                    self.stop_timer(Timer::ConnectRetry);
                    self.send_open(now, id);
                    self.goto(State::OpenSent);
                }
            }
            State::OpenSent | State::OpenConfirm | State::Established => {
                let gr_peer = self
                    .negotiated
                    .as_ref()
                    .is_some_and(|n| n.peer_graceful_restart.is_some())
                    && self.cfg.graceful_restart.is_some();
                if self.other.is_some() || (self.state == State::Established && !gr_peer) {
                    // RFC 4271 §6.8: a new connection while Established is closed (collision
                    // detection in Established is off); so is a third connection.
                    let n = Notification::cease(CeaseSubcode::CollisionResolution);
                    self.send_notification(Some(id), &n);
                    self.out.push(Action::Close(id));
                    return;
                }
                debug!(conn = id, "second connection: collision window");
                self.other = Some(OtherConn { id, outgoing });
                let open = self.our_open();
                self.send(id, open);
            }
        }
    }

    fn on_tcp_fails(&mut self, now: Instant, id: ConnId) {
        if let Some(o) = self.other
            && o.id == id
        {
            self.other = None;
            return;
        }
        let ours = self.conn == Some(id) || (self.state == State::Connect && self.conn.is_none());
        if !ours {
            return; // a connection we already dropped
        }
        // The driver releases the failed socket when it sees Close.
        match self.state {
            State::Idle => {}
            State::Connect if self.timer_running(Timer::DelayOpen) => {
                if let Some(c) = self.conn.take() {
                    self.out.push(Action::Close(c));
                }
                self.stop_timer(Timer::DelayOpen);
                self.start_timer(now, Timer::ConnectRetry, self.cfg.connect_retry);
                self.goto(State::Active);
            }
            State::Connect => self.go_idle(now, DownReason::ConnectionFailed, false, None),
            State::OpenSent => {
                if let Some(c) = self.conn.take() {
                    self.out.push(Action::Close(c));
                }
                if let Some(o) = self.other.take() {
                    // The other connection already got our OPEN: carry on with it.
                    self.conn = Some(o.id);
                    self.conn_outgoing = o.outgoing;
                    return;
                }
                // RFC 4271 §8.2.2: close, restart ConnectRetry, go to Active.
                self.stop_timer(Timer::Hold);
                self.start_timer(now, Timer::ConnectRetry, self.cfg.connect_retry);
                self.goto(State::Active);
            }
            State::Active | State::OpenConfirm | State::Established => {
                self.go_idle(now, DownReason::ConnectionFailed, true, None)
            }
        }
    }

    fn on_message(&mut self, now: Instant, id: ConnId, msg: Result<Message<'_>, WireError>) {
        if let Some(o) = self.other
            && o.id == id
        {
            self.on_other_message(now, o, msg);
            return;
        }
        if self.conn != Some(id) {
            return; // a connection we already dropped
        }
        let msg = match msg {
            Ok(m) => m,
            Err(e) => return self.on_decode_error(now, e),
        };
        match (self.state, msg) {
            (_, Message::Notification(n)) if n.code == 6 && n.subcode == 7 => {
                // Cease 6/7: the peer resolved a connection collision against this connection
                // (RFC 4271 §6.8, RFC 4486 §4). Not a failure: a collision partner that got
                // our OPEN carries on; without one, restart after the base idle hold, not a
                // doubled one (two speakers reconnecting at once would otherwise back each
                // other off for a minute).
                info!(notification = %n, "received NOTIFICATION");
                if matches!(self.state, State::OpenSent | State::OpenConfirm)
                    && let Some(o) = self.other.take()
                {
                    if let Some(c) = self.conn.take() {
                        self.out.push(Action::Close(c));
                    }
                    self.conn = Some(o.id);
                    self.conn_outgoing = o.outgoing;
                    self.peer_open = None;
                    self.negotiated = None;
                    self.stop_timer(Timer::Keepalive);
                    self.start_timer(now, Timer::Hold, self.cfg.open_hold);
                    self.goto(State::OpenSent);
                    return;
                }
                let restart = self.auto_restart.then_some(Some(self.cfg.idle_hold));
                self.go_idle(now, DownReason::received(&n), false, restart);
            }
            (_, Message::Notification(n)) => {
                // Events 24/25: no reply, release, Idle.
                let counted = !(n.code == 2 && n.subcode == 1);
                info!(notification = %n, "received NOTIFICATION");
                self.go_idle(now, DownReason::received(&n), counted, None);
            }
            (State::Connect | State::Active, Message::Open(open))
                if self.timer_running(Timer::DelayOpen) =>
            {
                // Event 20: OPEN while DelayOpen runs.
                self.stop_timer(Timer::ConnectRetry);
                self.stop_timer(Timer::DelayOpen);
                let open_bytes = self.our_open();
                self.send(id, open_bytes);
                self.accept_open(now, id, open);
            }
            (State::Connect | State::Active, _) => {
                self.go_idle(now, DownReason::ConnectionFailed, true, None);
            }
            (State::OpenSent, Message::Open(open)) => {
                self.stop_timer(Timer::DelayOpen);
                self.stop_timer(Timer::ConnectRetry);
                self.accept_open(now, id, open);
            }
            (State::OpenSent, _) => self.fsm_error(now, 1),
            (State::OpenConfirm, Message::Keepalive) => {
                self.restart_hold(now);
                self.failures = 0;
                let neg = self.negotiated.clone();
                self.goto(State::Established);
                if let Some(n) = neg {
                    self.out.push(Action::Established(n));
                }
            }
            (State::OpenConfirm, _) => self.fsm_error(now, 2),
            (State::Established, Message::Keepalive) => self.restart_hold(now),
            (State::Established, Message::Update(_)) => {
                self.restart_hold(now);
                self.out.push(Action::ProcessUpdate);
            }
            (State::Established, Message::RouteRefresh(rr)) => {
                // Inferred (FRR does the same): any valid message proves the peer alive.
                self.restart_hold(now);
                match rr {
                    crate::wire::RouteRefresh::Family(f)
                        if self
                            .negotiated
                            .as_ref()
                            .is_some_and(|n| n.families.contains(&f)) =>
                    {
                        self.out.push(Action::RouteRefreshRequested(f))
                    }
                    // RFC 2918 §4: ignore requests for families not negotiated.
                    other => debug!(?other, "ignoring ROUTE-REFRESH for a family not negotiated"),
                }
            }
            (State::Established, Message::Open(_)) => self.fsm_error(now, 3),
            (State::Idle, _) => {}
        }
    }

    fn on_decode_error(&mut self, now: Instant, e: WireError) {
        info!(error = %e, "malformed message");
        match self.state {
            // SendNOTIFICATIONwithoutOPEN is off (RFC 4271 §8.1.1 default): no NOTIFICATION
            // before our OPEN went out.
            State::Connect | State::Active => {
                self.go_idle(now, DownReason::ConnectionFailed, true, None)
            }
            State::Idle => {}
            _ => self.notify_and_idle(now, e.notification(), true, None),
        }
    }

    fn restart_hold(&mut self, now: Instant) {
        if let Some(h) = self.negotiated.as_ref().map(|n| n.hold_time)
            && h > 0
        {
            self.deadlines[timer_index(Timer::Hold)] =
                Some(now + Duration::from_secs(u64::from(h)));
        }
    }

    /// Checks the peer's OPEN against our configuration; `Err` is the NOTIFICATION to send.
    fn check_open(&self, open: &Open) -> Result<Negotiated, WireError> {
        let peer_as = open.asn();
        if peer_as != self.cfg.remote_as {
            return Err(WireError::BadPeerAs {
                received: peer_as,
                expected: self.cfg.remote_as,
            });
        }
        if !self.cfg.ebgp() && open.bgp_id == self.cfg.router_id {
            return Err(WireError::BadBgpIdentifier(open.bgp_id));
        }
        let hold_time = open.hold_time.min(self.cfg.hold_time.secs());
        let keepalive = if hold_time == 0 {
            0
        } else {
            self.cfg.keepalive.min(hold_time / 3).max(1)
        };
        let peer_families = open.families();
        let families = self
            .cfg
            .families
            .iter()
            .copied()
            .filter(|f| peer_families.contains(f))
            .collect();
        Ok(Negotiated {
            conn: 0,
            peer_as,
            peer_id: open.bgp_id,
            hold_time,
            keepalive,
            four_octet_as: open.four_octet_as(),
            families,
            route_refresh: open.route_refresh(),
            peer_graceful_restart: open.graceful_restart().cloned(),
            ebgp: self.cfg.ebgp(),
        })
    }

    /// OPEN accepted on the main connection: KEEPALIVE, timers, OpenConfirm.
    fn accept_open(&mut self, now: Instant, id: ConnId, open: Open) {
        let mut neg = match self.check_open(&open) {
            Ok(n) => n,
            Err(e) => {
                let n = e.notification();
                self.notify_and_idle(now, n, true, None);
                return;
            }
        };
        neg.conn = id;
        // A collision partner waiting for this peer's OPEN can be resolved now.
        if let Some(o) = self.other {
            if self.keep_incoming(open.bgp_id) == self.conn_outgoing {
                // The main connection loses: adopt the other (which got our OPEN already).
                let n = Notification::cease(CeaseSubcode::CollisionResolution);
                self.send_notification(Some(id), &n);
                self.out.push(Action::Close(id));
                self.conn = Some(o.id);
                self.conn_outgoing = o.outgoing;
                self.other = None;
                return;
            }
            let n = Notification::cease(CeaseSubcode::CollisionResolution);
            self.send_notification(Some(o.id), &n);
            self.out.push(Action::Close(o.id));
            self.other = None;
        }
        let mut b = Vec::new();
        write_keepalive(&mut b);
        self.send(id, b);
        if neg.hold_time > 0 {
            self.start_timer(
                now,
                Timer::Keepalive,
                Duration::from_secs(u64::from(neg.keepalive)),
            );
            self.start_timer(
                now,
                Timer::Hold,
                Duration::from_secs(u64::from(neg.hold_time)),
            );
        } else {
            self.stop_timer(Timer::Hold);
            self.stop_timer(Timer::Keepalive);
        }
        debug!(peer_id = %neg.peer_id, hold = neg.hold_time, "OPEN accepted");
        self.negotiated = Some(neg);
        self.peer_open = Some(open);
        self.goto(State::OpenConfirm);
    }

    /// RFC 4271 §6.8 / RFC 6286 §2.3: true if the connection the peer initiated survives.
    fn keep_incoming(&self, remote_id: Ipv4Addr) -> bool {
        let (l, r) = (u32::from(self.cfg.router_id), u32::from(remote_id));
        if l != r {
            l < r
        } else {
            self.cfg.local_as < self.cfg.remote_as
        }
    }

    fn on_other_message(
        &mut self,
        now: Instant,
        o: OtherConn,
        msg: Result<Message<'_>, WireError>,
    ) {
        let open = match msg {
            Ok(Message::Open(open)) => open,
            Ok(Message::Notification(_)) | Err(_) | Ok(_) => {
                // Anything but an OPEN first ends the second connection only.
                if let Err(e) = msg {
                    self.send_notification(Some(o.id), &e.notification());
                }
                self.out.push(Action::Close(o.id));
                self.other = None;
                return;
            }
        };
        let main_survives = self.keep_incoming(open.bgp_id) != self.conn_outgoing;
        let established = self.state == State::Established;
        if main_survives && !established {
            let n = Notification::cease(CeaseSubcode::CollisionResolution);
            self.send_notification(Some(o.id), &n);
            self.out.push(Action::Close(o.id));
            self.other = None;
            return;
        }
        // The other connection survives (or, in Established with graceful restart, the peer
        // restarted): drop the main one and continue from OpenSent on the other.
        if established {
            let retain = self.gr_retain(&DownReason::PeerRestarted);
            self.out.push(Action::Down {
                reason: DownReason::PeerRestarted,
                retain_stale: retain,
            });
            self.last_down = Some(DownReason::PeerRestarted);
        } else {
            let n = Notification::cease(CeaseSubcode::CollisionResolution);
            self.send_notification(self.conn, &n);
        }
        if let Some(c) = self.conn.take() {
            self.out.push(Action::Close(c));
        }
        self.conn = Some(o.id);
        self.conn_outgoing = o.outgoing;
        self.other = None;
        self.negotiated = None;
        self.stop_timer(Timer::Keepalive);
        self.goto(State::OpenSent);
        self.accept_open(now, o.id, open);
    }
}
