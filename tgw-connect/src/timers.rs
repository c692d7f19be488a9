//! BGP timers of the TGW's Connect sessions and of the appliance, one table per timing profile.
//!
//! ```text
//!                          aws                                   fast
//!  keepalive / hold        10 s / 30 s (inferred: AWS does not   1 s / 3 s
//!                          document the TGW's; its sample
//!                          appliance uses 5/30 or 10/30) [T5]
//!  ConnectRetry            5 s (inferred)                        1 s
//!  idle hold               1 s doubling up to 60 s               500 ms doubling up to 10 s
//!  after the route limit   30 s Idle (inferred)                  5 s
//! ```
//!
//! What it does not do: apply them (the daemons pass them to `bgp`).

use std::time::Duration;

use bgp::driver::Timers;
use bgp::fsm::HoldTime;
use engine::model::timing::Profile;

const fn hold(secs: u16) -> HoldTime {
    match HoldTime::new(secs) {
        Ok(h) => h,
        Err(_) => panic!("an invalid hold time in a timer table"),
    }
}

/// AWS's profile.
pub const AWS: Timers = Timers {
    hold_time: hold(30),
    keepalive: 10,
    connect_retry: Duration::from_secs(5),
    idle_hold: Duration::from_secs(1),
    idle_hold_max: Duration::from_secs(60),
};

/// The CI profile.
pub const FAST: Timers = Timers {
    hold_time: hold(3),
    keepalive: 1,
    connect_retry: Duration::from_secs(1),
    idle_hold: Duration::from_millis(500),
    idle_hold_max: Duration::from_secs(10),
};

/// The BGP timers of `profile`.
pub fn bgp(profile: Profile) -> Timers {
    match profile {
        Profile::Aws => AWS,
        Profile::Fast => FAST,
    }
}

/// How long a session stays Idle after the route limit ended it.
pub fn route_limit_restart(profile: Profile) -> Duration {
    match profile {
        Profile::Aws => Duration::from_secs(30),
        Profile::Fast => Duration::from_secs(5),
    }
}
