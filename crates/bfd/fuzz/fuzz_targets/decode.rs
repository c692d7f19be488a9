//! The Control packet decoder: arbitrary bytes through the checked view and `Repr::parse`;
//! whatever parses must re-encode to the same mandatory section and parse back equal.
#![no_main]
use bfd::wire::{HEADER_LEN, Packet, Repr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::new_checked(data) {
        // No accessor may panic once check_len passed.
        let _ = (p.version(), p.diag(), p.state(), p.poll(), p.final_(), p.demand());
        let _ = (p.control_plane_independent(), p.auth_present(), p.multipoint());
        let _ = (p.detect_mult(), p.length(), p.my_discriminator(), p.your_discriminator());
        let _ = (p.desired_min_tx(), p.required_min_rx(), p.required_min_echo_rx());
        let _ = p.auth_header();
    }
    if let Ok(r) = Repr::parse_bytes(data) {
        let bytes = r.to_bytes();
        let mut expected = [0u8; HEADER_LEN];
        expected.copy_from_slice(&data[..HEADER_LEN]);
        expected[3] = HEADER_LEN as u8;
        assert_eq!(bytes, expected, "re-encoding differs");
        assert_eq!(Repr::parse_bytes(&bytes), Ok(r));
    }
});
