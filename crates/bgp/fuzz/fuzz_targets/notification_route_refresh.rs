//! NOTIFICATION (decoded through bgp-rs behind our length check) and ROUTE-REFRESH bodies.
#![no_main]
use bgp::wire::{Notification, RouteRefresh};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(n) = Notification::decode(data) {
        let _ = n.describe();
        let _ = n.shutdown_message();
    }
    let _ = RouteRefresh::decode(data);
});
