//! `[chaos]`: a chaos campaign written into a scenario, so a test suite runs it with
//! `hybridlab chaos FILE` and no flags.
//!
//! ```toml
//! [chaos]
//! seed = 7                       # default: random (printed, so the run replays)
//! faults = 50                    # or duration = "10m"
//! kinds = ["tunnel_cut", "kill"] # default: every kind the topology has targets for
//! overlap = 1                    # faults in force at once (default 1)
//! ```
//!
//! Command-line flags override each key. Kind names are checked by the parser against the
//! engine's fault menu (`crate::chaos::menu::FaultKind`).
//!
//! What it does not do: run the campaign.

use serde::{Deserialize, Serialize};

use crate::source::FieldPath;

/// The `[chaos]` table.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosSpec {
    /// The seed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// How many faults.
    #[serde(default)]
    pub faults: Option<u64>,
    /// Or for how long.
    #[serde(default)]
    pub duration: Option<crate::duration::Dur>,
    /// Fault kinds allowed (empty: all).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Faults at once.
    #[serde(default)]
    pub overlap: Option<u32>,
    /// Where it was declared.
    #[serde(skip)]
    pub path: FieldPath,
}
