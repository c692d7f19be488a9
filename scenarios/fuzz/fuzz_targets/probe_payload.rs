//! Whatever arrives on a probe's socket: the payload and ICMP reply decoders return, never
//! panic, and a decoded payload re-encodes to the same 24 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use engine::probe::icmp::parse_reply;
use engine::probe::wire::{LEN, Payload};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Payload::decode(data) {
        let mut b = [0u8; LEN];
        p.encode(&mut b);
        assert_eq!(&b[..], &data[..LEN]);
    }
    let _ = parse_reply(false, data);
    let _ = parse_reply(true, data);
});
