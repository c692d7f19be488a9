//! A snapshot of the session for `show` output: states, SPIs, suites, ages, rekey counts.
//! Never a key or a PSK.
//!
//! What it does not do: data-plane counters (the tunnel driver adds them from the data plane).

use std::time::Instant;

use super::IkeSession;

/// One IKE SA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSaShow {
    /// Initiator SPI (hex).
    pub spi_i: String,
    /// Responder SPI (hex).
    pub spi_r: String,
    /// Suite in strongSwan syntax.
    pub suite: String,
    /// We are the (original) initiator of this SA.
    pub initiator: bool,
    /// Seconds since established.
    pub established_secs: u64,
    /// Seconds until the scheduled rekey, if one is scheduled.
    pub rekey_in_secs: Option<u64>,
    /// The peer's identity.
    pub peer_id: Option<String>,
}

/// One CHILD_SA pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSaShow {
    /// Our inbound SPI.
    pub inbound_spi: u32,
    /// Our outbound SPI.
    pub outbound_spi: u32,
    /// Suite in strongSwan syntax.
    pub suite: String,
    /// Seconds since installed.
    pub established_secs: u64,
    /// Seconds until rekey (None once replaced).
    pub rekey_in_secs: Option<u64>,
    /// Outbound traffic uses this pair.
    pub active: bool,
    /// Local selectors.
    pub local_ts: Vec<String>,
    /// Remote selectors.
    pub remote_ts: Vec<String>,
}

/// The session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionShow {
    /// State name.
    pub state: &'static str,
    /// The current IKE SA.
    pub ike_sa: Option<IkeSaShow>,
    /// CHILD_SA pairs.
    pub child_sas: Vec<ChildSaShow>,
    /// IKE and ESP on UDP 4500.
    pub nat_t: bool,
    /// Peer address in use.
    pub remote: String,
    /// IKE SAs established (including re-establishments, excluding rekeys).
    pub established_count: u64,
    /// IKE SA rekeys.
    pub ike_rekeys: u64,
    /// CHILD_SA rekeys.
    pub child_rekeys: u64,
    /// The last failure, if any.
    pub last_failure: Option<String>,
}

fn secs_since(now: Instant, t: Instant) -> u64 {
    now.saturating_duration_since(t).as_secs()
}

impl IkeSession {
    /// What `show` prints.
    pub fn show(&self, now: Instant) -> SessionShow {
        SessionShow {
            state: self.state.name(),
            ike_sa: self.sa.as_ref().map(|sa| IkeSaShow {
                spi_i: format!("{:016x}", sa.spi_i),
                spi_r: format!("{:016x}", sa.spi_r),
                suite: sa.suite.name(),
                initiator: sa.original_initiator,
                established_secs: sa.established_at.map(|t| secs_since(now, t)).unwrap_or(0),
                rekey_in_secs: sa
                    .rekey_at
                    .map(|t| t.saturating_duration_since(now).as_secs()),
                peer_id: sa.peer_id.as_ref().map(|i| i.to_string()),
            }),
            child_sas: self
                .children
                .iter()
                .map(|c| ChildSaShow {
                    inbound_spi: c.inbound_spi,
                    outbound_spi: c.outbound_spi,
                    suite: c.suite.name(),
                    established_secs: secs_since(now, c.established_at),
                    rekey_in_secs: (!c.superseded)
                        .then(|| c.rekey_at.saturating_duration_since(now).as_secs()),
                    active: c.outbound_active,
                    local_ts: c.local_ts.iter().map(|t| t.to_string()).collect(),
                    remote_ts: c.remote_ts.iter().map(|t| t.to_string()).collect(),
                })
                .collect(),
            nat_t: self.nat_t,
            remote: self.remote.to_string(),
            established_count: self.stats.established,
            ike_rekeys: self.stats.ike_rekeys,
            child_rekeys: self.stats.child_rekeys,
            last_failure: self.last_failure.clone(),
        }
    }
}
