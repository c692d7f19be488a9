//! The session core's vocabulary: configuration ([`Config`], validated [`Timers`]), what goes in
//! ([`Input`]), what comes out ([`Output`], [`Transition`]) and the counters ([`Stats`]).
//!
//! What it does not do: any behaviour; see [`super::Session`].

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::wire::{Diag, Repr, State};

/// The timer parameters a session is configured with (RFC 5880 §6.8.1 bfd.DesiredMinTxInterval,
/// bfd.RequiredMinRxInterval, bfd.DetectMult), in the RFC's unit, microseconds.
///
/// Validated: both intervals are nonzero (a zero Desired Min TX is reserved, §4.1; a zero
/// Required Min RX would ask the peer to stop sending, which a session that wants to detect
/// failures never does) and Detect Mult is nonzero (§6.8.6 drops packets carrying 0).
/// Deserialization validates too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "TimersSpec")]
pub struct Timers {
    desired_min_tx_us: u32,
    required_min_rx_us: u32,
    detect_mult: u8,
}

/// The unvalidated form [`Timers`] deserializes from.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimersSpec {
    desired_min_tx_us: u32,
    required_min_rx_us: u32,
    detect_mult: u8,
}

impl TryFrom<TimersSpec> for Timers {
    type Error = TimersError;
    fn try_from(s: TimersSpec) -> Result<Timers, TimersError> {
        Timers::from_micros(s.desired_min_tx_us, s.required_min_rx_us, s.detect_mult)
    }
}

/// [`Timers`] rejected a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimersError {
    /// An interval is zero.
    #[error("{0} must be nonzero")]
    Zero(&'static str),
    /// An interval does not fit the 32-bit microsecond field.
    #[error("{0} must be at most {max} microseconds", max = u32::MAX)]
    TooLong(&'static str),
}

impl Timers {
    /// From microseconds (the wire unit).
    pub fn from_micros(
        desired_min_tx_us: u32,
        required_min_rx_us: u32,
        detect_mult: u8,
    ) -> Result<Timers, TimersError> {
        if desired_min_tx_us == 0 {
            return Err(TimersError::Zero("desired_min_tx"));
        }
        if required_min_rx_us == 0 {
            return Err(TimersError::Zero("required_min_rx"));
        }
        if detect_mult == 0 {
            return Err(TimersError::Zero("detect_mult"));
        }
        Ok(Timers {
            desired_min_tx_us,
            required_min_rx_us,
            detect_mult,
        })
    }

    /// From durations (microsecond resolution; sub-microsecond parts are dropped).
    pub fn new(
        desired_min_tx: Duration,
        required_min_rx: Duration,
        detect_mult: u8,
    ) -> Result<Timers, TimersError> {
        let us = |d: Duration, name| {
            u32::try_from(d.as_micros()).map_err(|_| TimersError::TooLong(name))
        };
        Timers::from_micros(
            us(desired_min_tx, "desired_min_tx")?,
            us(required_min_rx, "required_min_rx")?,
            detect_mult,
        )
    }

    /// From milliseconds, the unit operators use (`300, 300, 3` is AWS Direct Connect's).
    pub fn from_millis(
        desired_min_tx_ms: u32,
        required_min_rx_ms: u32,
        detect_mult: u8,
    ) -> Result<Timers, TimersError> {
        Timers::new(
            Duration::from_millis(desired_min_tx_ms.into()),
            Duration::from_millis(required_min_rx_ms.into()),
            detect_mult,
        )
    }

    /// bfd.DesiredMinTxInterval as configured (the session advertises at least 1 s while not
    /// Up, §6.8.3).
    pub fn desired_min_tx(&self) -> Duration {
        Duration::from_micros(self.desired_min_tx_us.into())
    }

    /// bfd.RequiredMinRxInterval.
    pub fn required_min_rx(&self) -> Duration {
        Duration::from_micros(self.required_min_rx_us.into())
    }

    /// Desired Min TX in microseconds.
    pub fn desired_min_tx_us(&self) -> u32 {
        self.desired_min_tx_us
    }

    /// Required Min RX in microseconds.
    pub fn required_min_rx_us(&self) -> u32 {
        self.required_min_rx_us
    }

    /// bfd.DetectMult.
    pub fn detect_mult(&self) -> u8 {
        self.detect_mult
    }
}

/// What a session is created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// bfd.LocalDiscr: unique among the system's sessions (the driver allocates it).
    pub local_discriminator: NonZeroU32,
    /// Timer parameters.
    pub timers: Timers,
    /// The Passive role (§6.1): send nothing until the peer's discriminator is known.
    pub passive: bool,
    /// Seed of the jitter generator (§6.8.7). The core never reads the clock or a system RNG:
    /// the driver passes a random seed, tests a fixed one.
    pub jitter_seed: u64,
}

/// What the caller feeds into [`super::Session::handle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A received Control packet that passed [`Repr::parse`] (§6.8.6 steps 1-6, 8, 9) and was
    /// demultiplexed to this session (step 7).
    Packet(Repr),
    /// The instant returned by [`super::Session::poll_timeout`] has passed: transmit and/or
    /// expire the detection time, whichever is due.
    Timeout,
    /// §6.8.16: administratively disable the session (AdminDown, Diag 7).
    AdminDown,
    /// §6.8.16: administratively enable the session again (Down).
    AdminUp,
    /// Change the timer parameters at run time (§6.8.3: a Poll Sequence for the intervals,
    /// §6.8.12: none for Detect Mult).
    SetTimers(Timers),
}

/// What [`super::Session::handle`] asks the caller to do or tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Transmit this Control packet to the peer now (emit with [`Repr::emit`]).
    Send(Repr),
    /// bfd.SessionState changed.
    StateChanged(Transition),
}

/// One change of bfd.SessionState, with what a client needs to judge it (RFC 5882).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Transition {
    /// Old state.
    pub from: State,
    /// New state.
    pub to: State,
    /// bfd.LocalDiag after the change: why.
    pub diag: Diag,
    /// bfd.RemoteSessionState when it happened.
    pub remote_state: State,
}

impl Transition {
    /// Whether a client should treat this as a path failure (RFC 5882 §3.2, §4.3 for BGP): the
    /// session went from Up to Down, *not* because the neighbor signaled AdminDown (then the
    /// peer is only being taken out of service and the client must not tear down on that
    /// account). A local AdminDown is not a failure either (the state is AdminDown, not Down).
    pub fn is_failure(&self) -> bool {
        self.from == State::Up
            && self.to == State::Down
            && !(self.diag == Diag::NeighborSignaledSessionDown
                && self.remote_state == State::AdminDown)
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} ({}; remote {})",
            self.from, self.to, self.diag, self.remote_state
        )
    }
}

/// Counters kept by the core (the driver adds socket-level ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Packets accepted by the session (after the wire checks and demultiplexing).
    pub rx_packets: u64,
    /// Packets dropped because Your Discriminator named another session.
    pub rx_wrong_discriminator: u64,
    /// Packets received while AdminDown (their variables are recorded, the state machine
    /// ignores them, §6.8.6).
    pub rx_in_admin_down: u64,
    /// Periodic packets asked for.
    pub tx_periodic: u64,
    /// Packets with the Final bit sent in answer to a Poll.
    pub tx_final: u64,
    /// Changes of bfd.SessionState.
    pub state_changes: u64,
    /// Transitions into Up.
    pub ups: u64,
    /// Transitions from Up to anything else.
    pub downs: u64,
    /// Detection time expiries that took the session down (from Init or Up).
    pub detection_timeouts: u64,
    /// Poll Sequences started.
    pub polls_started: u64,
    /// Poll Sequences terminated by a Final.
    pub polls_completed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_validate() {
        assert!(Timers::from_millis(300, 300, 3).is_ok());
        assert_eq!(
            Timers::from_micros(0, 1, 1),
            Err(TimersError::Zero("desired_min_tx"))
        );
        assert_eq!(
            Timers::from_micros(1, 0, 1),
            Err(TimersError::Zero("required_min_rx"))
        );
        assert_eq!(
            Timers::from_micros(1, 1, 0),
            Err(TimersError::Zero("detect_mult"))
        );
        assert_eq!(
            Timers::new(Duration::from_secs(5000), Duration::from_secs(1), 3),
            Err(TimersError::TooLong("desired_min_tx"))
        );
        let t = Timers::from_millis(300, 200, 3).unwrap();
        assert_eq!(t.desired_min_tx(), Duration::from_millis(300));
        assert_eq!(t.required_min_rx_us(), 200_000);
    }

    #[test]
    fn transitions_that_are_failures() {
        let t = |from, to, diag, remote_state| Transition {
            from,
            to,
            diag,
            remote_state,
        };
        use Diag::*;
        use State::*;
        assert!(t(Up, Down, ControlDetectionTimeExpired, Up).is_failure());
        assert!(t(Up, Down, NeighborSignaledSessionDown, Down).is_failure());
        assert!(!t(Up, Down, NeighborSignaledSessionDown, AdminDown).is_failure());
        assert!(!t(Up, AdminDown, AdministrativelyDown, Up).is_failure());
        assert!(!t(Init, Down, ControlDetectionTimeExpired, Init).is_failure());
        assert!(!t(Init, Up, NoDiagnostic, Up).is_failure());
    }
}
