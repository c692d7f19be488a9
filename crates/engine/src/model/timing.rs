//! Timing profiles: `aws` (AWS's documented timers) or `fast` (short timers for CI), each a
//! table of named durations; the scenario may override any item.
//!
//! ```toml
//! [timing]
//! profile = "fast"        # or "aws"
//! expect_within = "20s"   # any other key overrides that item
//! ```
//!
//! The engine's own items are below; every node kind adds its own (BGP hold time, DPD, ...).
//! An override of an unknown item is an error that lists the known ones.
//!
//! What it does not do: apply the timers (each kind reads them when it generates its config).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

pub use crate::profile::Profile;

/// One timer a component declares.
#[derive(Debug, Clone, Copy)]
pub struct TimerDef {
    /// Item name, as written in `[timing]`.
    pub name: &'static str,
    /// Value under the `aws` profile.
    pub aws: Duration,
    /// Value under the `fast` profile.
    pub fast: Duration,
    /// One line saying what it is.
    pub doc: &'static str,
}

/// The engine's own timers.
pub const ENGINE_TIMERS: &[TimerDef] = &[
    TimerDef {
        name: "converge",
        aws: Duration::from_secs(180),
        fast: Duration::from_secs(20),
        doc: "how long bring-up may take until every probe delivers, before the timeline starts",
    },
    TimerDef {
        name: "expect_within",
        aws: Duration::from_secs(120),
        fast: Duration::from_secs(10),
        doc: "default deadline of an expectation that waits",
    },
    TimerDef {
        name: "expect_every",
        aws: Duration::from_millis(500),
        fast: Duration::from_millis(50),
        doc: "how often a waiting expectation re-checks",
    },
    TimerDef {
        name: "event_wait",
        aws: Duration::from_secs(600),
        fast: Duration::from_secs(60),
        doc: "how long an `on_event` trigger waits for its daemon event",
    },
    TimerDef {
        name: "linger",
        aws: Duration::from_secs(5),
        fast: Duration::from_secs(1),
        doc: "how long probes keep running after the last action and expectation",
    },
];

/// The resolved timers of a scenario.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timing {
    /// The chosen profile.
    pub profile: Profile,
    /// Every known item, resolved (override, else the profile's value).
    pub values: BTreeMap<String, Duration>,
}

impl Timing {
    /// Resolves `defs` under `profile` with `overrides` (already checked to be known items).
    pub fn resolve<'a>(
        profile: Profile,
        defs: impl IntoIterator<Item = &'a TimerDef>,
        overrides: &BTreeMap<String, Duration>,
    ) -> Timing {
        let values = defs
            .into_iter()
            .map(|d| {
                let v = overrides.get(d.name).copied().unwrap_or(match profile {
                    Profile::Aws => d.aws,
                    Profile::Fast => d.fast,
                });
                (d.name.to_string(), v)
            })
            .collect();
        Timing { profile, values }
    }

    /// The value of item `name`; items are checked at parse time, so an unknown name is a
    /// programming error in a kind and yields zero (and a debug assertion).
    pub fn get(&self, name: &str) -> Duration {
        let v = self.values.get(name).copied();
        debug_assert!(v.is_some(), "timer {name} was never declared");
        v.unwrap_or_default()
    }
}
