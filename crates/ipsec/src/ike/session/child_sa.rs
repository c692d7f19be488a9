//! Bookkeeping for one CHILD_SA pair: SPIs, suite, selectors, timers, where it came from (for
//! rekey collisions, RFC 7296 §2.8.1) and whether it is being replaced.
//!
//! ```text
//!   Installed ──rekey started/answered──► Rekeyed (successor exists, waits for DELETE)
//!       │                                     │
//!       └──────── DELETE sent/received ───────┴──► removed
//! ```
//!
//! What it does not do: hold keys (they go to the data plane and are dropped here).

use std::time::Instant;

use crate::ike::suite::EspSuite;
use crate::ike::wire::TrafficSelector;

#[derive(Debug, Clone)]
pub(crate) struct ChildSa {
    pub(crate) inbound_spi: u32,
    pub(crate) outbound_spi: u32,
    pub(crate) suite: EspSuite,
    pub(crate) local_ts: Vec<TrafficSelector>,
    pub(crate) remote_ts: Vec<TrafficSelector>,
    pub(crate) established_at: Instant,
    pub(crate) rekey_at: Instant,
    pub(crate) expire_at: Instant,
    /// Inbound SPI of the SA this one replaced.
    pub(crate) rekey_of: Option<u32>,
    /// We initiated the exchange that created it.
    pub(crate) created_by_us: bool,
    /// The nonces of that exchange (collision resolution compares them).
    pub(crate) nonces: [Vec<u8>; 2],
    /// A successor exists; this one only waits for its DELETE.
    pub(crate) superseded: bool,
    /// Traffic is sent with this SA.
    pub(crate) outbound_active: bool,
    /// Our rekey of this SA is queued or in flight.
    pub(crate) rekeying: bool,
}

impl ChildSa {
    /// The lowest of this SA's creating nonces (RFC 7296 §2.8.1 compares the lowest of four).
    pub(crate) fn lowest_nonce(&self) -> &[u8] {
        if self.nonces[0] <= self.nonces[1] {
            &self.nonces[0]
        } else {
            &self.nonces[1]
        }
    }
}
