//! What one IKE session needs to know: identities, the pre-shared key, suites in preference
//! order, selectors, lifetimes, rekey margin and fuzz, DPD and retransmission timers.
//!
//! These are protocol-level settings with no product's policy in them: every value is chosen by
//! the caller (the gateway packages translate their tunnel options into this, e.g. the VGW's
//! `vgw::tunnel_options`). `crate::tunnel::TunnelConfig::validate` checks what the RFCs require.
//!
//! What it does not do: defaults or ranges of any product, key character rules, or reading files.

use std::net::SocketAddr;
use std::time::Duration;

use super::suite::{EspSuite, IkeSuite};
use super::wire::{Identity, TrafficSelector};
use secret::Secret;

/// What to do when the peer stops answering (RFC 7296 §2.4 liveness check failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DpdAction {
    /// Tear the tunnel down and wait for the peer to initiate again.
    Clear,
    /// Tear down and initiate a new IKE SA ourselves.
    Restart,
    /// Report it and keep the SAs.
    None,
}

impl DpdAction {
    /// The action's name (strongSwan's `dpd_action` values), for events and `show`.
    pub fn name(self) -> &'static str {
        match self {
            DpdAction::Clear => "clear",
            DpdAction::Restart => "restart",
            DpdAction::None => "none",
        }
    }
}

/// Dead peer detection timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DpdConfig {
    /// Send an empty INFORMATIONAL after this long without protected traffic from the peer;
    /// probes are repeated at this interval.
    pub interval: Duration,
    /// Declare the peer dead after this long without protected traffic while probing.
    pub timeout: Duration,
    /// What to do then.
    pub action: DpdAction,
}

/// Request retransmission (RFC 7296 §2.1): the wait doubles (times `factor`) after each try.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetransmitConfig {
    /// Wait before the first retransmission.
    pub initial: Duration,
    /// Multiplier per try (strongSwan uses 1.8).
    pub factor: f64,
    /// Upper bound of one wait.
    pub max_wait: Duration,
    /// Retransmissions before giving up.
    pub tries: u32,
}

impl RetransmitConfig {
    /// Wait after the `n`-th transmission (0 = the original).
    pub fn wait(&self, n: u32) -> Duration {
        let secs = self.initial.as_secs_f64() * self.factor.powi(n as i32);
        Duration::from_secs_f64(secs.min(self.max_wait.as_secs_f64()))
    }
}

/// Who starts the IKE SA (named after strongSwan's `auto=add|start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartupAction {
    /// Responder: wait for the peer to initiate.
    Add,
    /// Initiator: initiate, and initiate again after failures.
    Start,
}

/// Settings of one IKE session.
#[derive(Debug, Clone)]
pub struct IkeConfig {
    /// Our address and IKE port (500): NAT detection hashes are computed over it.
    pub local: SocketAddr,
    /// The peer's address and IKE port (500).
    pub remote: SocketAddr,
    /// Our identity (commonly our outside address).
    pub local_id: Identity,
    /// The identity the peer must present; `None` accepts any.
    pub remote_id: Option<Identity>,
    /// The pre-shared key.
    pub psk: Secret<Vec<u8>>,
    /// IKE suites, most preferred first.
    pub ike_suites: Vec<IkeSuite>,
    /// ESP suites, most preferred first.
    pub esp_suites: Vec<EspSuite>,
    /// Our side's selectors (route-based tunnels: 0.0.0.0/0).
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's side's selectors.
    pub remote_ts: Vec<TrafficSelector>,
    /// IKE SA (phase 1) lifetime.
    pub ike_lifetime: Duration,
    /// CHILD_SA (phase 2) lifetime.
    pub child_lifetime: Duration,
    /// Rekey this long before a lifetime ends...
    pub rekey_margin: Duration,
    /// ...minus a random part of up to this percentage of the margin.
    pub rekey_fuzz_percent: u8,
    /// Dead peer detection.
    pub dpd: DpdConfig,
    /// Request retransmission.
    pub retransmit: RetransmitConfig,
    /// Give up a half-open IKE SA (IKE_SA_INIT answered, no IKE_AUTH) after this long.
    pub half_open_timeout: Duration,
    /// Who initiates.
    pub startup: StartupAction,
    /// After a failed or closed IKE SA in `Start` mode, initiate again after this long.
    pub restart_delay: Duration,
}
