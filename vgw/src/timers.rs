//! The VPN's timers, one table per timing profile (the scenario engine's
//! `engine::model::timing::Profile`; `docs/design.md`, timing profiles): `aws` holds AWS's
//! documented values (`aws-behaviour.md` §1) and, where AWS documents none, the values its
//! sample customer gateway configurations or strongSwan use; `fast` holds short ones for CI and
//! chaos runs. Both ends of a VPN connection (the vgw and the cgw daemons) read the same table,
//! so they agree. The protocol crates take these as concrete values and know no profile.
//!
//! ```text
//!                            aws                               fast
//!  BGP hold / keepalive      30 s / 10 s [V18]                 3 s / 1 s
//!  BGP ConnectRetry          5 s (inferred: labs restart       1 s
//!                            peers often)
//!  BGP idle hold             1 s doubling up to 60 s           500 ms doubling up to 10 s
//!  restart after Cease 6/1   30 s (inferred, max-prefix)       5 s
//!  DPD interval              10 s (inferred, AWS samples)      1 s
//!  DPD timeout               tunnel option (default 40 s)      3 s
//!  IKE retransmission        4 s x1.8, max 60 s, 5 tries       500 ms x1.5, max 2 s, 5 tries
//!                            (inferred, strongSwan's)
//!  half-open IKE SA          30 s                              5 s
//!  IKE restart delay         5 s                               1 s
//! ```
//!
//! What it does not do: tunnel options (lifetimes, rekey margin and fuzz, DPD timeout and
//! action are AWS options, [`crate::tunnel_options`]), the engine's own timers, or apply
//! anything (the daemons pass these values to the protocol crates).

use std::time::Duration;

use bgp::driver::Timers as BgpTimers;
use bgp::fsm::HoldTime;
use engine::model::timing::Profile;
use ipsec::ike::config::RetransmitConfig;

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
    /// The BGP sessions over the tunnels.
    pub bgp: BgpTimers,
    /// How long the VGW keeps a session Idle after ending it with Cease / Maximum Number of
    /// Prefixes Reached (6/1) \[V7\]. (inferred) AWS accepts the session again after a while.
    pub max_prefix_restart: Duration,
    /// IPsec.
    pub ipsec: IpsecTimers,
}

const fn hold(secs: u16) -> HoldTime {
    match HoldTime::new(secs) {
        Ok(h) => h,
        Err(_) => panic!("an invalid hold time in a timer table"),
    }
}

/// AWS's timers.
pub const AWS: VpnTimers = VpnTimers {
    bgp: BgpTimers {
        hold_time: hold(30),
        keepalive: 10,
        connect_retry: Duration::from_secs(5),
        idle_hold: Duration::from_secs(1),
        idle_hold_max: Duration::from_secs(60),
    },
    max_prefix_restart: Duration::from_secs(30),
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

/// Short timers for CI and chaos runs (BGP 1 s / 3 s, DPD 1 s x 3).
pub const FAST: VpnTimers = VpnTimers {
    bgp: BgpTimers {
        hold_time: hold(3),
        keepalive: 1,
        connect_retry: Duration::from_secs(1),
        idle_hold: Duration::from_millis(500),
        idle_hold_max: Duration::from_secs(10),
    },
    max_prefix_restart: Duration::from_secs(5),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_and_fast_bgp_timers() {
        let (a, f) = (of(Profile::Aws), of(Profile::Fast));
        assert_eq!((a.bgp.hold_time.secs(), a.bgp.keepalive), (30, 10));
        assert_eq!((f.bgp.hold_time.secs(), f.bgp.keepalive), (3, 1));
        assert_eq!(
            (a.max_prefix_restart, f.max_prefix_restart),
            (Duration::from_secs(30), Duration::from_secs(5))
        );
        assert_eq!(
            (f.ipsec.dpd_interval, f.ipsec.dpd_timeout),
            (Duration::from_secs(1), Some(Duration::from_secs(3)))
        );
    }
}
