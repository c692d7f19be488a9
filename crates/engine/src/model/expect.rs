//! `[[expect]]`: what must hold, checked while the scenario runs.
//!
//! ```toml
//! [[expect]]
//! name = "r1 has the route back"
//! after = "restore-wan"       # when (at / after / on_event / delay); default below
//! within = "5s"               # keep re-checking until this deadline (default: timing.expect_within)
//! check = "route"
//! node = "r1"
//! prefix = "10.2.0.0/24"
//! via = "10.255.0.2"          # optional next hop
//! dev = "r2"                  # optional device
//! present = true              # false: the route must be absent
//!
//! # check = "delivers" { probe }                    the probe gets traffic through
//! # check = "max_gap"  { probe, below, above? }     longest loss window so far (default: at the end)
//! # check = "state"    { node, show, args?, pointer, equals }   a daemon's state via its control socket
//! # plus the checks node kinds add
//! ```
//!
//! Default moment: `max_gap` at the end of the run, every other check when the timeline starts.
//!
//! What it does not do: evaluate (see `crate::runner::expectations`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use control::ShowParams;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::when::When;
use crate::source::FieldPath;

/// One check.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "check")]
pub enum Check {
    /// A route is in (or absent from) a node's kernel table.
    Route {
        /// The node.
        node: String,
        /// The destination prefix (exact match).
        prefix: IpNet,
        /// A next hop it must have (any of a multipath set).
        via: Option<IpAddr>,
        /// A device it must use.
        dev: Option<String>,
        /// Present (true) or absent (false).
        present: bool,
    },
    /// A probe delivers packets (its receiver saw traffic sent after the check began).
    Delivers {
        /// The probe.
        probe: String,
    },
    /// The longest loss window of a probe so far is below a bound (and above one, if given).
    /// Windows that closed before the timeline started (bring-up) do not count.
    MaxGap {
        /// The probe.
        probe: String,
        /// Upper bound (exclusive).
        below: Duration,
        /// Lower bound (inclusive): to assert that an outage was really seen.
        above: Option<Duration>,
        /// The longest gap must last as long as it took until this daemon event (the first
        /// after the gap began: the detection of a failure, e.g. a VGW's `bgp.down`), within
        /// the tolerance: "the outage is the detection time".
        matches_event: Option<(crate::model::when::EventMatch, Duration)>,
    },
    /// A value in a daemon's `show` output equals an expected value.
    State {
        /// The node.
        node: String,
        /// The view.
        show: String,
        /// View arguments.
        args: serde_json::Map<String, serde_json::Value>,
        /// JSON pointer (RFC 6901) into the view.
        pointer: String,
        /// Expected value.
        equals: serde_json::Value,
    },
    /// A check a node kind owns.
    Kind(KindCheck),
}

impl Check {
    /// The default moment when none is given.
    pub fn default_when(&self) -> When {
        match self {
            Check::MaxGap { .. } => When::End,
            _ => When::At(Duration::ZERO),
        }
    }

    /// Whether the check is re-tried until its deadline (max_gap is a verdict on the past).
    pub fn waits(&self) -> bool {
        !matches!(self, Check::MaxGap { .. })
    }
}

/// One expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Expectation {
    /// Name (given, or generated from the check).
    pub name: String,
    /// When it is checked.
    pub when: When,
    /// Deadline for waiting checks, counted from `when`.
    pub within: Duration,
    /// Re-check interval.
    pub every: Duration,
    /// What is checked.
    pub check: Check,
    /// Where it was declared.
    #[serde(skip)]
    pub path: FieldPath,
}

/// Raw keys every expectation may have.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectCommon {
    pub name: Option<String>,
    pub at: Option<crate::duration::Dur>,
    pub after: Option<String>,
    pub on_event: Option<crate::model::when::EventMatch>,
    pub delay: Option<crate::duration::Dur>,
    pub within: Option<crate::duration::Dur>,
    pub every: Option<crate::duration::Dur>,
    pub check: String,
}

/// Keys of `route`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteRaw {
    pub node: String,
    pub prefix: IpNet,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    #[serde(default = "yes")]
    pub present: bool,
}

fn yes() -> bool {
    true
}

/// Keys of `delivers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliversRaw {
    pub probe: String,
}

/// Keys of `max_gap`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MaxGapRaw {
    pub probe: String,
    pub below: crate::duration::Dur,
    pub above: Option<crate::duration::Dur>,
    #[serde(default)]
    pub matches_event: Option<crate::model::when::EventMatch>,
    #[serde(default)]
    pub tolerance: Option<crate::duration::Dur>,
}

/// Keys of `state`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateRaw {
    pub node: String,
    pub show: String,
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
    pub pointer: String,
    pub equals: serde_json::Value,
}

/// How a kind judges a `show` result: `Ok(what was seen)` or `Err(why not)`.
pub type Verdict = Arc<dyn Fn(&Value) -> Result<String, String> + Send + Sync>;

/// A kind check: the engine polls `show` on `node` and applies `verdict`.
#[derive(Clone, Serialize)]
pub struct KindCheck {
    /// The kind that owns it.
    pub kind: &'static str,
    /// The node asked.
    pub node: String,
    /// The request.
    pub show: ShowParams,
    /// One line for reports.
    pub describe: String,
    /// The judgement.
    #[serde(skip)]
    pub verdict: Verdict,
}

impl std::fmt::Debug for KindCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindCheck")
            .field("kind", &self.kind)
            .field("node", &self.node)
            .field("show", &self.show)
            .field("describe", &self.describe)
            .finish_non_exhaustive()
    }
}
