//! One BFD session in asynchronous mode (RFC 5880 §6.2, §6.8), sans-IO.
//!
//! ```text
//!                       received AdminDown or Down (Diag 3), detection time (Diag 1)
//!                    +--------------------------------------------------------------+
//!                    v                                                              |
//!  +-----------+  +------+   received Down    +------+   received Init or Up    +------+
//!  | AdminDown |->| Down |------------------->| Init |------------------------->|  Up  |
//!  +-----------+  +------+                    +------+                          +------+
//!    AdminUp       | ^  ^  received AdminDown,   |                                 ^
//!                  | |  |  detection time        |                                 |
//!                  | |  +------------------------+                                 |
//!                  | +-- (stays Down on a received AdminDown)                       |
//!                  +-------------------------- received Init ----------------------+
//!
//!   Input::AdminDown from any state -> AdminDown (Diag 7); AdminDown ignores received states.
//! ```
//!
//! [`Session::handle`] takes the current time and one [`Input`] and returns [`Output`]s:
//! packets to send now and state changes. **Timers are not outputs**: the caller asks
//! [`Session::poll_timeout`] for the next deadline (the earlier of the next periodic
//! transmission and the detection time) and feeds [`Input::Timeout`] when it has passed. The
//! core never reads a clock and never draws randomness of its own (the §6.8.7 jitter comes from
//! a generator seeded through [`Config::jitter_seed`]). Every state change goes through
//! `state_change()`, which logs it (tracing, `info`) and emits [`Output::StateChanged`].
//!
//! RFC 5880 rules implemented, by section:
//!
//! - §6.8.1 state variables (see the fields); bfd.DemandMode is always 0, bfd.AuthType 0.
//! - §6.8.2/§6.8.7 transmit interval: max(DesiredMinTx in use, RemoteMinRx), less 0-25 % jitter
//!   (10-25 % when bfd.DetectMult is 1). No periodic packets while Passive with RemoteDiscr 0,
//!   while RemoteMinRx is 0, or while the remote is in Demand mode (both Up) with no Poll
//!   outstanding. A received Poll is answered at once with a Final (P clear), outside the
//!   schedule and in any state but AdminDown (there the packet is discarded first, §6.8.6).
//!   When the interval shrinks the pending transmission is brought forward; when it grows the
//!   already scheduled packet still goes out and the larger interval applies after it, so a
//!   peer whose detection time still assumes the old rate hears from us in time.
//! - §6.8.3 timer manipulation: while not Up the advertised DesiredMinTx is at least 1 s. Any
//!   change of the advertised DesiredMinTx or RequiredMinRx starts a Poll Sequence (§6.5: the P
//!   bit rides on the periodic packets; no extra packets). While Up an *increased* DesiredMinTx
//!   is used for our transmissions, and a *decreased* RequiredMinRx for the detection time,
//!   only once the Final arrives; decreases of the former and increases of the latter apply at
//!   once. While Up, a change during an outstanding Poll Sequence waits until the Final and one
//!   further packet without F have been received (the third option of §6.8.3), so a Final is
//!   never mistaken for the answer to different values. While not Up nothing is deferred, and
//!   a change replaces the outstanding Poll Sequence.
//! - §6.8.4 detection time: the remote Detect Mult x max(RequiredMinRx in use, the remote's
//!   last Desired Min TX), counted from the last packet not discarded. Expiry in Init or Up:
//!   Down with Diag 1; in any state it clears bfd.RemoteDiscr (§6.8.1).
//! - §6.8.6 reception after the wire checks (see the state diagram); remote AdminDown takes the
//!   session Down with Diag 3 (clients must not count that as a failure: see
//!   [`Transition::is_failure`], RFC 5882 §3.2).
//! - §6.8.12 Detect Mult changes need no Poll Sequence. §6.8.16 administrative control:
//!   AdminDown with Diag 7; packets keep being sent (in AdminDown, at the not-Up rate)
//!   indefinitely, as §6.8.16 allows, so the peer learns why we went away.
//! - LocalDiag is reset to 0 on entering Up and on AdminUp (as FRR bfdd does; the RFC leaves the
//!   Diag of a session that came Up open).
//!
//! What it does not do: sockets, demultiplexing (the caller hands it only packets for this
//! session), authentication, Demand mode of its own, the Echo function (Required Min Echo RX
//! is sent as 0).

mod jitter;
mod types;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use tracing::{debug, info};

pub use types::{Config, Input, Output, Stats, Timers, TimersError, Transition};

use crate::wire::{Diag, Repr, State};
use jitter::Jitter;

/// §6.8.3: the least DesiredMinTx advertised while not Up, microseconds.
pub const SLOW_TX_US: u32 = 1_000_000;

/// Where the Poll Sequence stands (§6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Poll {
    /// None outstanding.
    Idle,
    /// Our periodic packets carry P until a Final arrives.
    Polling,
    /// The Final arrived; the next packet without F lets a new Poll Sequence start (§6.8.3).
    AwaitNonFinal,
}

/// The state machine and timers of one BFD session.
#[derive(Debug)]
pub struct Session {
    timers: Timers,
    passive: bool,
    // RFC 5880 §6.8.1 state variables.
    /// bfd.SessionState.
    state: State,
    /// bfd.RemoteSessionState.
    remote_state: State,
    /// bfd.LocalDiscr.
    local_discr: u32,
    /// bfd.RemoteDiscr.
    remote_discr: u32,
    /// bfd.LocalDiag.
    local_diag: Diag,
    /// bfd.DesiredMinTxInterval, as advertised.
    desired_min_tx: u32,
    /// bfd.RequiredMinRxInterval, as advertised.
    required_min_rx: u32,
    /// bfd.RemoteMinRxInterval.
    remote_min_rx: u32,
    /// bfd.RemoteDemandMode.
    remote_demand: bool,
    /// bfd.DetectMult.
    detect_mult: u8,
    // What the peer last told us, for the detection time (§6.8.4) and show.
    remote_desired_min_tx: u32,
    remote_detect_mult: u8,
    remote_diag: Diag,
    // The intervals in use while §6.8.3 defers a change until the Final.
    tx_in_use: u32,
    rx_in_use: u32,
    poll: Poll,
    jitter: Jitter,
    last_tx: Option<Instant>,
    next_tx: Option<Instant>,
    /// Interval `next_tx` was computed with.
    scheduled_interval: u32,
    /// Last packet counted for the detection time; `None`: not armed.
    last_rx: Option<Instant>,
    stats: Stats,
    out: Vec<Output>,
}

impl Session {
    /// A session in Down. An Active one (the default role) transmits its first packet at `now`.
    pub fn new(cfg: Config, now: Instant) -> Session {
        let mut s = Session {
            timers: cfg.timers,
            passive: cfg.passive,
            state: State::Down,
            remote_state: State::Down,
            local_discr: cfg.local_discriminator.get(),
            remote_discr: 0,
            local_diag: Diag::NoDiagnostic,
            desired_min_tx: cfg.timers.desired_min_tx_us().max(SLOW_TX_US),
            required_min_rx: cfg.timers.required_min_rx_us(),
            // §6.8.1: "MUST be initialized to 1".
            remote_min_rx: 1,
            remote_demand: false,
            detect_mult: cfg.timers.detect_mult(),
            remote_desired_min_tx: 0,
            remote_detect_mult: 0,
            remote_diag: Diag::NoDiagnostic,
            tx_in_use: 0,
            rx_in_use: 0,
            poll: Poll::Idle,
            jitter: Jitter::new(cfg.jitter_seed),
            last_tx: None,
            next_tx: None,
            scheduled_interval: 0,
            last_rx: None,
            stats: Stats::default(),
            out: Vec::new(),
        };
        s.tx_in_use = s.desired_min_tx;
        s.rx_in_use = s.required_min_rx;
        s.update_tx_schedule(now);
        s
    }

    /// Feeds one input at time `now`; returns what to do.
    pub fn handle(&mut self, now: Instant, input: Input) -> Vec<Output> {
        match input {
            Input::Packet(repr) => self.receive(now, repr),
            Input::Timeout => self.timeout(now),
            Input::AdminDown => {
                if self.state != State::AdminDown {
                    self.local_diag = Diag::AdministrativelyDown;
                    self.state_change(State::AdminDown);
                }
            }
            Input::AdminUp => {
                if self.state == State::AdminDown {
                    self.local_diag = Diag::NoDiagnostic;
                    self.state_change(State::Down);
                }
            }
            Input::SetTimers(timers) => {
                self.timers = timers;
                self.update_timers();
            }
        }
        self.update_tx_schedule(now);
        std::mem::take(&mut self.out)
    }

    /// The next instant at which [`Input::Timeout`] must be fed: the next periodic
    /// transmission or the end of the detection time, whichever comes first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.next_tx, self.detection_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The packet the next periodic transmission would carry (P set during a Poll Sequence).
    /// The driver also sends it once when a session is removed, after [`Input::AdminDown`].
    pub fn control_packet(&self) -> Repr {
        self.packet(self.poll == Poll::Polling, false)
    }

    /// bfd.SessionState.
    pub fn state(&self) -> State {
        self.state
    }
    /// bfd.RemoteSessionState.
    pub fn remote_state(&self) -> State {
        self.remote_state
    }
    /// bfd.LocalDiag.
    pub fn local_diag(&self) -> Diag {
        self.local_diag
    }
    /// The Diag of the last packet received.
    pub fn remote_diag(&self) -> Diag {
        self.remote_diag
    }
    /// bfd.LocalDiscr.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }
    /// bfd.RemoteDiscr (0 until known, and again after a detection time of silence).
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }
    /// The configured timers.
    pub fn timers(&self) -> Timers {
        self.timers
    }
    /// bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval as advertised, microseconds.
    pub fn advertised_intervals(&self) -> (u32, u32) {
        (self.desired_min_tx, self.required_min_rx)
    }
    /// The remote's last Desired Min TX, Required Min RX (bfd.RemoteMinRxInterval) and
    /// Detect Mult.
    pub fn remote_parameters(&self) -> (u32, u32, u8) {
        (
            self.remote_desired_min_tx,
            self.remote_min_rx,
            self.remote_detect_mult,
        )
    }
    /// The negotiated transmit interval before jitter (§6.8.7).
    pub fn tx_interval(&self) -> Duration {
        Duration::from_micros(self.tx_interval_us().into())
    }
    /// The detection time (§6.8.4); `None` before the first packet from the peer.
    pub fn detection_time(&self) -> Option<Duration> {
        (self.remote_detect_mult != 0).then(|| {
            Duration::from_micros(
                u64::from(self.remote_detect_mult)
                    * u64::from(self.rx_in_use.max(self.remote_desired_min_tx)),
            )
        })
    }
    /// Whether a Poll Sequence is outstanding.
    pub fn polling(&self) -> bool {
        self.poll == Poll::Polling
    }
    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    fn tx_interval_us(&self) -> u32 {
        self.tx_in_use.max(self.remote_min_rx)
    }

    fn detection_deadline(&self) -> Option<Instant> {
        Some(self.last_rx? + self.detection_time()?)
    }

    fn packet(&self, poll: bool, final_: bool) -> Repr {
        Repr {
            diag: self.local_diag,
            state: self.state,
            poll,
            final_,
            control_plane_independent: false,
            // bfd.DemandMode is 0 (§6.8.7: D only with DemandMode, both Up).
            demand: false,
            detect_mult: self.detect_mult,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx: self.desired_min_tx,
            required_min_rx: self.required_min_rx,
            required_min_echo_rx: 0,
        }
    }

    /// §6.8.6 after the wire checks and the demultiplexing.
    fn receive(&mut self, now: Instant, r: Repr) {
        if r.your_discriminator != 0 && r.your_discriminator != self.local_discr {
            self.stats.rx_wrong_discriminator += 1;
            debug!(
                your = r.your_discriminator,
                ours = self.local_discr,
                "packet for another session dropped"
            );
            return;
        }
        self.stats.rx_packets += 1;
        self.remote_discr = r.my_discriminator;
        self.remote_state = r.state;
        self.remote_demand = r.demand;
        self.remote_min_rx = r.required_min_rx;
        self.remote_desired_min_tx = r.desired_min_tx;
        self.remote_detect_mult = r.detect_mult;
        self.remote_diag = r.diag;
        // Required Min Echo RX: we never send Echo packets, so nothing to stop.
        if r.final_ {
            if self.poll == Poll::Polling {
                self.poll = Poll::AwaitNonFinal;
                self.stats.polls_completed += 1;
                // §6.8.3: what was deferred until the Final applies now.
                self.tx_in_use = self.desired_min_tx;
                self.rx_in_use = self.required_min_rx;
                debug!(
                    desired_min_tx = self.desired_min_tx,
                    required_min_rx = self.required_min_rx,
                    "poll sequence terminated"
                );
            }
        } else if self.poll == Poll::AwaitNonFinal {
            self.poll = Poll::Idle;
            // A change that waited for the Poll Sequence to settle may start now.
            self.update_timers();
        }
        // (The transmit interval and detection time follow from the variables just set.)
        if self.state == State::AdminDown {
            self.stats.rx_in_admin_down += 1;
            return;
        }
        match (self.state, r.state) {
            (State::Down, State::AdminDown) => {}
            (_, State::AdminDown) => {
                self.local_diag = Diag::NeighborSignaledSessionDown;
                self.state_change(State::Down);
            }
            (State::Down, State::Down) => self.state_change(State::Init),
            (State::Down, State::Init) => self.state_change(State::Up),
            (State::Init, State::Init | State::Up) => self.state_change(State::Up),
            (State::Up, State::Down) => {
                self.local_diag = Diag::NeighborSignaledSessionDown;
                self.state_change(State::Down);
            }
            _ => {}
        }
        // Not discarded: it counts for the detection time (§6.8.4).
        self.last_rx = Some(now);
        if r.poll {
            self.stats.tx_final += 1;
            let answer = self.packet(false, true);
            self.out.push(Output::Send(answer));
        }
    }

    fn timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.detection_deadline()
            && now >= deadline
        {
            self.last_rx = None;
            self.remote_discr = 0;
            if matches!(self.state, State::Init | State::Up) {
                self.stats.detection_timeouts += 1;
                self.local_diag = Diag::ControlDetectionTimeExpired;
                self.state_change(State::Down);
            }
        }
        // The detection time may have silenced us (Passive, RemoteDiscr now 0).
        if !self.may_transmit() {
            self.next_tx = None;
        }
        if let Some(at) = self.next_tx
            && now >= at
        {
            self.stats.tx_periodic += 1;
            let packet = self.packet(self.poll == Poll::Polling, false);
            self.out.push(Output::Send(packet));
            let interval = self.tx_interval_us();
            self.last_tx = Some(now);
            self.next_tx = Some(now + self.jitter.apply(interval, self.detect_mult));
            self.scheduled_interval = interval;
        }
    }

    /// The one place bfd.SessionState changes.
    fn state_change(&mut self, to: State) {
        let from = self.state;
        if from == to {
            return;
        }
        if to == State::Up {
            self.local_diag = Diag::NoDiagnostic;
        }
        self.state = to;
        let t = Transition {
            from,
            to,
            diag: self.local_diag,
            remote_state: self.remote_state,
        };
        info!(
            %from,
            %to,
            diag = %t.diag,
            remote_state = %t.remote_state,
            local_discriminator = self.local_discr,
            "BFD session state changed"
        );
        self.stats.state_changes += 1;
        if to == State::Up {
            self.stats.ups += 1;
        }
        if from == State::Up {
            self.stats.downs += 1;
        }
        self.out.push(Output::StateChanged(t));
        // §6.8.3: the not-Up floor of DesiredMinTx comes or goes.
        self.update_timers();
    }

    /// §6.8.3: bring the advertised intervals to what the configuration and the state ask
    /// for, with a Poll Sequence, and decide which values are in use.
    fn update_timers(&mut self) {
        let up = self.state == State::Up;
        // §6.8.12: a new Detect Mult goes out with the next packet, no Poll Sequence.
        self.detect_mult = self.timers.detect_mult();
        let target_tx = if up {
            self.timers.desired_min_tx_us()
        } else {
            self.timers.desired_min_tx_us().max(SLOW_TX_US)
        };
        let target = (target_tx, self.timers.required_min_rx_us());
        if target != (self.desired_min_tx, self.required_min_rx) {
            // While Up, one Poll Sequence at a time; while not Up nothing is deferred, so the
            // outstanding one may be replaced.
            if self.poll == Poll::Idle || !up {
                debug!(
                    desired_min_tx = target.0,
                    required_min_rx = target.1,
                    "poll sequence started"
                );
                (self.desired_min_tx, self.required_min_rx) = target;
                self.poll = Poll::Polling;
                self.stats.polls_started += 1;
            }
        }
        if up {
            if self.desired_min_tx <= self.tx_in_use {
                self.tx_in_use = self.desired_min_tx;
            }
            if self.required_min_rx >= self.rx_in_use {
                self.rx_in_use = self.required_min_rx;
            }
        } else {
            self.tx_in_use = self.desired_min_tx;
            self.rx_in_use = self.required_min_rx;
        }
    }

    /// §6.8.7: whether periodic packets may be sent at all.
    fn may_transmit(&self) -> bool {
        if self.passive && self.remote_discr == 0 {
            return false;
        }
        if self.remote_min_rx == 0 {
            return false;
        }
        let remote_demand_active =
            self.remote_demand && self.state == State::Up && self.remote_state == State::Up;
        !(remote_demand_active && self.poll != Poll::Polling)
    }

    /// Keeps `next_tx` consistent with the rules after any input (see the module docs).
    fn update_tx_schedule(&mut self, now: Instant) {
        if !self.may_transmit() {
            self.next_tx = None;
            return;
        }
        let interval = self.tx_interval_us();
        match self.next_tx {
            None => {
                self.next_tx = Some(match self.last_tx {
                    None => now,
                    Some(last) => (last + self.jitter.apply(interval, self.detect_mult)).max(now),
                });
            }
            Some(at) if interval < self.scheduled_interval => {
                let last = self.last_tx.unwrap_or(now);
                let sooner = (last + self.jitter.apply(interval, self.detect_mult)).max(now);
                self.next_tx = Some(at.min(sooner));
            }
            Some(_) => {}
        }
        self.scheduled_interval = interval;
    }
}
