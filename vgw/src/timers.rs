//! The VPN's timers, one table per timing profile (`docs/design.md`, timing profiles): `aws`
//! holds AWS's documented values (`aws-behaviour.md` §1) and, where AWS documents none, the
//! values its sample customer gateway configurations or strongSwan use; `fast` holds short ones
//! for CI and chaos runs. Both ends of a VPN connection (the vgw and the cgw) read the same
//! table, so they agree.
//!
//! ```text
//!                      aws                              fast
//!  DPD interval        10 s (inferred, AWS samples)     1 s
//!  DPD timeout         tunnel option (default 40 s)     3 s
//!  IKE retransmission  4 s x1.8, max 60 s, 5 tries      500 ms x1.5, max 2 s, 5 tries
//!                      (inferred, strongSwan's)
//!  half-open IKE SA    30 s                             5 s
//!  restart delay       5 s                              1 s
//! ```
//!
//! What it does not do: tunnel options (lifetimes, rekey margin and fuzz, DPD timeout and
//! action are AWS options, [`crate::tunnel_options`]), or apply anything (the daemons pass these
//! values to the protocol crates).

use std::time::Duration;

use ipsec::ike::config::RetransmitConfig;

use crate::config::Profile;

/// The IPsec timers of a tunnel that are not AWS tunnel options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IpsecTimers {
    /// Liveness check interval.
    pub dpd_interval: Duration,
    /// Dead after this long without an answer; `None`: the tunnel's `dpd_timeout_seconds`.
    pub dpd_timeout: Option<Duration>,
    /// IKE request retransmission.
    pub retransmit: RetransmitConfig,
    /// Give up a half-open IKE SA after this long.
    pub half_open: Duration,
    /// Wait before initiating again after a failure (startup `start` / DPD `restart`).
    pub restart_delay: Duration,
}

/// Every VPN timer of one profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpnTimers {
    /// IPsec.
    pub ipsec: IpsecTimers,
}

/// AWS's timers.
pub const AWS: VpnTimers = VpnTimers {
    // (inferred) AWS documents only the DPD timeout; the 10 s interval is what AWS's sample
    // customer-gateway configurations use, the retransmission schedule is strongSwan's default
    // (4 s, x1.8, 5 tries).
    ipsec: IpsecTimers {
        dpd_interval: Duration::from_secs(10),
        dpd_timeout: None,
        retransmit: RetransmitConfig {
            initial: Duration::from_secs(4),
            factor: 1.8,
            max_wait: Duration::from_secs(60),
            tries: 5,
        },
        half_open: Duration::from_secs(30),
        restart_delay: Duration::from_secs(5),
    },
};

/// Short timers for CI and chaos runs (DPD 1 s x 3).
pub const FAST: VpnTimers = VpnTimers {
    ipsec: IpsecTimers {
        dpd_interval: Duration::from_secs(1),
        dpd_timeout: Some(Duration::from_secs(3)),
        retransmit: RetransmitConfig {
            initial: Duration::from_millis(500),
            factor: 1.5,
            max_wait: Duration::from_secs(2),
            tries: 5,
        },
        half_open: Duration::from_secs(5),
        restart_delay: Duration::from_secs(1),
    },
};

/// The table of `profile`.
pub fn of(profile: Profile) -> &'static VpnTimers {
    match profile {
        Profile::Aws => &AWS,
        Profile::Fast => &FAST,
    }
}
