//! What a run produced: the monotonic timeline of every action, daemon event, probe loss
//! window and expectation result, plus per-probe and per-expectation results. Every report
//! (summary table, JSON, JUnit, SVG) is rendered from a [`RunRecord`].
//!
//! Times are CLOCK_MONOTONIC nanoseconds; `t0_ns` is the start of the timeline (bring-up done),
//! so reports show `t = +1.000s` relative to it.
//!
//! What it does not do: render (see the sibling modules).

use serde::{Deserialize, Serialize};

use crate::loss::LossReport;

/// Where a timeline entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// The engine (bring-up phases, teardown).
    Engine,
    /// A timeline action.
    Action,
    /// A daemon's control-socket event.
    Daemon,
    /// A probe (loss window start/end).
    Probe,
    /// An expectation's verdict.
    Expectation,
}

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// When (CLOCK_MONOTONIC ns).
    pub t_ns: u64,
    /// Who.
    pub source: EventSource,
    /// The node, probe, action or expectation concerned.
    pub subject: String,
    /// What (`cut`, `restore`, `bgp.up`, `loss`, `passed`, ...).
    pub kind: String,
    /// A sentence for people.
    pub detail: String,
}

/// A probe's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// Name.
    pub name: String,
    /// `udp`, `tcp` or `icmp`.
    pub kind: String,
    /// `h1 -> 10.2.0.10:7000`.
    pub path: String,
    /// Per second.
    pub rate: u32,
    /// First send (ns).
    pub start_ns: u64,
    /// Last send (ns).
    pub stop_ns: u64,
    /// The loss analysis.
    pub loss: LossReport,
}

/// An expectation's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It held.
    Passed,
    /// It did not hold by its deadline.
    Failed,
    /// The run ended (error, interruption) before it was checked.
    NotRun,
}

/// One expectation's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectationRecord {
    /// Name.
    pub name: String,
    /// What was checked, in one line.
    pub check: String,
    /// Outcome.
    pub outcome: Outcome,
    /// When checking began (ns), if it did.
    pub started_ns: Option<u64>,
    /// When the verdict fell (ns), if it did.
    pub decided_ns: Option<u64>,
    /// What was observed (the value seen, or why it failed).
    pub detail: String,
}

impl ExpectationRecord {
    /// How long it took to hold, counted from when checking began.
    pub fn took_ns(&self) -> Option<u64> {
        Some(self.decided_ns?.saturating_sub(self.started_ns?))
    }
}

/// Everything about one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Scenario name.
    pub scenario: String,
    /// Scenario file.
    pub file: String,
    /// Lab name.
    pub lab: String,
    /// Bring-up began (ns).
    pub started_ns: u64,
    /// Timeline start (ns); report times are relative to it.
    pub t0_ns: u64,
    /// End of the run, teardown done (ns).
    pub ended_ns: u64,
    /// The timeline, in time order.
    pub events: Vec<TimelineEvent>,
    /// Probes.
    pub probes: Vec<ProbeRecord>,
    /// Expectations, in file order.
    pub expectations: Vec<ExpectationRecord>,
    /// Why the run stopped early, if it did.
    pub error: Option<String>,
    /// It stopped because it was asked to (Ctrl-C, SIGTERM), not because something failed.
    #[serde(default)]
    pub interrupted: bool,
}

impl RunRecord {
    /// Whether every expectation held and nothing went wrong.
    pub fn passed(&self) -> bool {
        self.error.is_none()
            && self
                .expectations
                .iter()
                .all(|e| e.outcome == Outcome::Passed)
    }

    /// `t` relative to the timeline start, in seconds (negative during bring-up).
    pub fn rel_s(&self, t_ns: u64) -> f64 {
        (t_ns as f64 - self.t0_ns as f64) / 1e9
    }
}

/// Formats a relative time like `+1.234s` / `-0.500s`.
pub fn fmt_rel(seconds: f64) -> String {
    format!(
        "{}{:.3}s",
        if seconds < 0.0 { "-" } else { "+" },
        seconds.abs()
    )
}

/// Formats a length in ns for people (`2.003s`, `850ms`, `0ms`).
pub fn fmt_len(ns: u64) -> String {
    crate::duration::human(std::time::Duration::from_nanos(ns))
}
