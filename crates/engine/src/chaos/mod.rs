//! Chaos campaigns: random faults, drawn from a seed, thrown at a running lab one after
//! another (or `overlap` at once), each followed by its repair and a wait for the lab to return
//! to the baseline it had before the first fault; invariants are checked all along.
//!
//! ```text
//!  bring-up ─> baseline (every tunnel healthy, every node's kernel routes, probes delivering)
//!     │
//!     └─> for fault i in from..N:  draw(seed, i) ─> inject ─> hold ─> repair
//!                                   ─> poll until baseline again (bound: recovery)
//!                                   ─> probes' longest outage during it (bound: outage)
//!          violation? print seed, index, replay command
//!  teardown ─> nothing left (namespaces, processes; TUNs and nftables rules live in them)
//! ```
//!
//! Invariants (each violation names the fault and the replay command):
//! - blackhole: while a fault leaves a path, no probe loses traffic longer than the detection
//!   time of the mechanism that should catch it plus a margin ([`menu`] documents the bounds);
//! - baseline: after every repair the lab returns to its baseline within the recovery bound
//!   (no stuck or missing route, no session left down, no SA left half-up, probes delivering);
//! - daemon_died: no daemon exits unless the campaign killed it;
//! - leftover: after teardown no namespace of the lab is left (their TUNs and nftables tables
//!   go with them) and no process runs.
//!
//! This module holds the data (menu, targets, report, RNG); the driver that applies faults is
//! the runner's (`crate::runner::chaos`), with the timeline's own actions.
//!
//! What it does not do: know any kind (kinds answer [`targets::ChaosTargets`]).

pub mod menu;
pub mod report;
pub mod rng;
pub mod targets;

use std::time::Duration;

use crate::model::timing::Profile;

pub use menu::{Fault, FaultKind, Menu};
pub use report::{CampaignReport, FaultRecord, Violation};

/// How to run a campaign.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// The seed.
    pub seed: u64,
    /// Stop after fault index `faults - 1` (when `duration` is `None`).
    pub faults: u64,
    /// Or stop drawing faults after this long.
    pub duration: Option<Duration>,
    /// The first fault's index (`--from-fault`).
    pub from_fault: u64,
    /// Kinds allowed (empty: every kind with a target).
    pub kinds: Vec<FaultKind>,
    /// Faults in force at once.
    pub overlap: u32,
    /// The command line that replays this campaign without its seed and fault range
    /// (`hybridlab chaos dual-tunnel-failover --profile fast`).
    pub replay_base: String,
}

impl Campaign {
    /// The command that replays fault `index` alone (with `overlap`, its group).
    pub fn replay(&self, index: u64) -> String {
        format!(
            "{} --seed {} --from-fault {index} --faults {}{}",
            self.replay_base,
            self.seed,
            index + u64::from(self.overlap.max(1)),
            if self.overlap > 1 {
                format!(" --overlap {}", self.overlap)
            } else {
                String::new()
            }
        )
    }
}

/// The slack every bound gets on top of the timers: route installation, BGP UPDATE
/// propagation through the hub, a probe interval or two, and a loaded CI machine.
pub fn margin(profile: Profile) -> Duration {
    match profile {
        Profile::Fast => Duration::from_millis(1500),
        Profile::Aws => Duration::from_secs(5),
    }
}
