//! UPDATE body decoding under every session context, and walking whatever it accepted.
#![no_main]
use bgp::wire::prefix::NlriIter;
use bgp::wire::{DecodeContext, Update};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let ctx = DecodeContext {
        four_octet_as: sel & 1 != 0,
        ebgp: sel & 2 != 0,
        enforce_first_as: (sel & 4 != 0).then_some(65001),
    };
    if let Ok(u) = Update::decode(body, &ctx) {
        let _ = u.withdrawn_v4().count() + u.announced_v4().count();
        if let Some(mp) = &u.mp_reach {
            let _ = NlriIter::new(mp.nlri, mp.family).count();
        }
        let _ = u.end_of_rib();
        let _ = u.prefix_count();
    }
});
