//! Reports of a run, all rendered from one [`RunRecord`]: the live progress on stderr
//! ([`live`]), the summary table ([`summary`]), JSON, JUnit XML ([`junit`]) and the SVG
//! timeline picture ([`svg`]).
//!
//! What it does not do: measure anything (the engine fills the record).

pub mod junit;
pub mod live;
pub mod record;
pub mod summary;
pub mod svg;
pub mod words;

pub use record::{EventSource, ExpectationRecord, Outcome, ProbeRecord, RunRecord, TimelineEvent};

/// The JSON report: the record itself, pretty-printed.
pub fn json(r: &RunRecord) -> String {
    // A record holds only strings, numbers and lists: serialising it cannot fail.
    serde_json::to_string_pretty(r).unwrap_or_default() + "\n"
}
