//! What one session needs to know about its neighbor, with RFC limits as validated newtypes.
//!
//! What it does not do: RIB policy (filters, prepend, max-prefix): see [`crate::rib::PeerPolicy`].

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::wire::Family;

/// A hold time in seconds: 0 (no keepalives) or at least 3 (RFC 4271 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct HoldTime(u16);

/// A hold time of 1 or 2 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("hold time {0} s is not allowed: use 0 or at least 3 (RFC 4271 §4.2)")]
pub struct HoldTimeError(pub u16);

impl HoldTime {
    /// RFC 4271 §10's suggested HoldTime (90 s).
    pub const DEFAULT: HoldTime = HoldTime(90);

    /// Validates `secs`.
    pub const fn new(secs: u16) -> Result<Self, HoldTimeError> {
        if secs == 1 || secs == 2 {
            Err(HoldTimeError(secs))
        } else {
            Ok(HoldTime(secs))
        }
    }
    /// Seconds.
    pub const fn secs(self) -> u16 {
        self.0
    }
}

/// RFC 4271 §10's suggested KeepaliveTime (a third of the hold time: 30 s).
pub const DEFAULT_KEEPALIVE: u16 = 30;
/// RFC 4271 §10's suggested ConnectRetryTime (120 s).
pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(120);
/// First wait in Idle before an automatic restart (RFC 4271 §8.1.1 leaves IdleHoldTime to the
/// implementation; doubled per consecutive failure).
pub const DEFAULT_IDLE_HOLD: Duration = Duration::from_secs(1);
/// Longest wait in Idle between automatic restarts.
pub const DEFAULT_IDLE_HOLD_MAX: Duration = Duration::from_secs(60);

impl<'de> serde::Deserialize<'de> for HoldTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        HoldTime::new(u16::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Session parameters for one neighbor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our AS.
    pub local_as: u32,
    /// The neighbor's AS (eBGP when different from ours).
    pub remote_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Hold time we propose.
    pub hold_time: HoldTime,
    /// Keepalive interval we use (capped at a third of the negotiated hold time).
    pub keepalive: u16,
    /// ConnectRetryTimer.
    pub connect_retry: Duration,
    /// Never initiate connections; wait for the peer (RFC 4271 §8.1.1 PassiveTcpEstablishment).
    pub passive: bool,
    /// DelayOpen: wait this long after TCP comes up before sending OPEN (RFC 4271 §8.1.1).
    pub delay_open: Option<Duration>,
    /// Families to announce.
    pub families: Vec<Family>,
    /// Announce the graceful-restart capability as a helper (RFC 4724 §3) with this restart time;
    /// `None` does not announce it (and then we do not act as helper either).
    pub graceful_restart: Option<u16>,
    /// First wait in Idle before an automatic restart; doubles per consecutive failure.
    pub idle_hold: Duration,
    /// Longest wait in Idle between automatic restarts.
    pub idle_hold_max: Duration,
    /// Hold timer while waiting for the peer's OPEN (RFC 4271 §8.2.2 suggests 4 minutes).
    pub open_hold: Duration,
}

impl SessionConfig {
    /// Defaults for a neighbor: RFC 4271 §10's timers (hold 90 s, keepalive 30 s, ConnectRetry
    /// 120 s), IPv4 and IPv6 unicast, graceful-restart helper with 120 s, idle hold 1 s doubling
    /// up to 60 s.
    pub fn new(local_as: u32, remote_as: u32, router_id: Ipv4Addr) -> Self {
        SessionConfig {
            local_as,
            remote_as,
            router_id,
            hold_time: HoldTime::DEFAULT,
            keepalive: DEFAULT_KEEPALIVE,
            connect_retry: DEFAULT_CONNECT_RETRY,
            passive: false,
            delay_open: None,
            families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
            graceful_restart: Some(120),
            idle_hold: DEFAULT_IDLE_HOLD,
            idle_hold_max: DEFAULT_IDLE_HOLD_MAX,
            open_hold: Duration::from_secs(240),
        }
    }

    /// True if the neighbor is external.
    pub fn ebgp(&self) -> bool {
        self.local_as != self.remote_as
    }
}
