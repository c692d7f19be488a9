//! Stream framing plus message decoding: any byte stream, split into messages as the driver does.
#![no_main]
use bgp::wire::{Message, frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buf = data;
    while let Ok(Some(f)) = frame(buf) {
        let _ = Message::decode(f, &buf[..f.len]);
        buf = &buf[f.len..];
    }
});
