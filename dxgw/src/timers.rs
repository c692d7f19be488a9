//! Direct Connect's timers, one table per timing profile (`docs/design.md`, timing profiles):
//! `aws` holds AWS's documented values (`aws-behaviour.md` §4 \[D2, D9\]), `fast` short ones for
//! CI. The customer side (`dx-router` kind) reads the same table, so both ends agree.
//!
//! ```text
//!                            aws                               fast
//!  BGP hold / keepalive      90 s / 30 s [D2]                  3 s / 1 s (AWS's minimum)
//!  BGP ConnectRetry          5 s (inferred)                    1 s
//!  BGP idle hold             1 s doubling up to 60 s           500 ms doubling up to 10 s
//!  restart after the prefix  30 s (AWS-silent: "the session    5 s
//!  limit (Idle)              goes idle"; no retry is given)
//!  BFD tx / rx x multiplier  300 ms / 300 ms x 3 [D9]          100 ms / 100 ms x 3
//! ```
//!
//! What it does not do: apply anything (the daemon passes these to `bgp` and `bfd`).

use std::time::Duration;

use bfd::session::Timers as BfdTimers;
use bgp::driver::Timers as BgpTimers;
use bgp::fsm::HoldTime;
use engine::model::timing::Profile;

/// Every DX timer of one profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DxTimers {
    /// The VIF's BGP session.
    pub bgp: BgpTimers,
    /// Idle time after the prefix limit ended the session.
    pub max_prefix_restart: Duration,
    /// BFD: desired min TX and required min RX in milliseconds, detect multiplier.
    pub bfd_ms: (u32, u32, u8),
}

const fn hold(secs: u16) -> HoldTime {
    match HoldTime::new(secs) {
        Ok(h) => h,
        Err(_) => panic!("an invalid hold time in a timer table"),
    }
}

/// AWS's timers.
pub const AWS: DxTimers = DxTimers {
    bgp: BgpTimers {
        hold_time: hold(90),
        keepalive: 30,
        connect_retry: Duration::from_secs(5),
        idle_hold: Duration::from_secs(1),
        idle_hold_max: Duration::from_secs(60),
    },
    max_prefix_restart: Duration::from_secs(30),
    bfd_ms: (300, 300, 3),
};

/// Short timers for CI.
pub const FAST: DxTimers = DxTimers {
    bgp: BgpTimers {
        hold_time: hold(3),
        keepalive: 1,
        connect_retry: Duration::from_secs(1),
        idle_hold: Duration::from_millis(500),
        idle_hold_max: Duration::from_secs(10),
    },
    max_prefix_restart: Duration::from_secs(5),
    bfd_ms: (100, 100, 3),
};

/// The table of `profile`.
pub fn of(profile: Profile) -> &'static DxTimers {
    match profile {
        Profile::Aws => &AWS,
        Profile::Fast => &FAST,
    }
}

impl DxTimers {
    /// BFD's validated timers.
    pub fn bfd(&self) -> BfdTimers {
        let (tx, rx, mult) = self.bfd_ms;
        BfdTimers::from_millis(tx, rx, mult).expect("the tables hold valid BFD timers")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_and_fast() {
        let (a, f) = (of(Profile::Aws), of(Profile::Fast));
        assert_eq!((a.bgp.hold_time.secs(), a.bgp.keepalive), (90, 30));
        assert_eq!((f.bgp.hold_time.secs(), f.bgp.keepalive), (3, 1));
        assert_eq!(a.bfd_ms, (300, 300, 3));
        let _ = (a.bfd(), f.bfd());
    }
}
