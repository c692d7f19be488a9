//! The data plane's handling of inner packets: the receive-side TCP coalescer over a run of
//! arbitrary (decrypted) packets, and the TSO segmenter and checksum completion over arbitrary
//! packets with arbitrary virtio-net headers. Nothing may panic; a flushed super-segment never
//! exceeds 64 KiB and always carries its virtio-net header.
#![no_main]

use ipsec::dataplane::coalesce::{Coalescer, Offer};
use ipsec::dataplane::segment::{Segmenter, complete_checksum};
use ipsec::dataplane::vnet::{self, VnetHdr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Packets separated by their own 2-octet length prefix.
    let mut coalescer = Coalescer::new();
    let mut rest = data;
    while let [hi, lo, tail @ ..] = rest {
        let len = (usize::from(*hi) << 8 | usize::from(*lo)).min(tail.len());
        let (packet, next) = tail.split_at(len);
        rest = next;
        if coalescer.offer(packet) == Offer::FlushFirst {
            let out = coalescer.flush().expect("FlushFirst means something is pending");
            assert!(out.len() >= vnet::LEN && out.len() <= vnet::LEN + 65535);
            let _ = coalescer.offer(packet);
        }
        if let Some(hdr) = VnetHdr::decode(packet) {
            let body = &packet[vnet::LEN..];
            if let Ok(mut seg) = Segmenter::new(body, &hdr) {
                let mut slot = vec![0u8; 2048];
                let mut n = 0;
                while seg.next_into(&mut slot).is_some() {
                    n += 1;
                    assert!(n <= 65536);
                }
            }
            let mut copy = body.to_vec();
            let _ = complete_checksum(
                &mut copy,
                usize::from(hdr.csum_start),
                usize::from(hdr.csum_offset),
            );
        }
    }
    if let Some(out) = coalescer.flush() {
        assert!(out.len() <= vnet::LEN + 65535);
    }
});
