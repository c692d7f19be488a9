//! [`Profile`]: which table of timer defaults a scenario runs with, `aws` (AWS's documented
//! timers) or `fast` (short timers for CI).
//!
//! It sits at the bottom of the engine, beside [`crate::duration`], which reads per-profile
//! durations (`below = { fast = "3.5s", aws = "31s" }`) under it; the timer tables themselves are
//! the model's ([`crate::model::timing`], which re-exports this type).
//!
//! What it does not do: hold durations.

use serde::{Deserialize, Serialize};

/// Which table of defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// AWS's real timers, for fidelity checks.
    Aws,
    /// Short timers for CI and chaos runs.
    #[default]
    Fast,
}
