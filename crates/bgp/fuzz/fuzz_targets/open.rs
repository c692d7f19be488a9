//! OPEN body decoding, and re-encoding (through bgp-rs) whatever decoded.
#![no_main]
use bgp::wire::Open;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(open) = Open::decode(data) {
        let _ = open.families();
        let _ = open.asn();
        // Unknown capabilities longer than 255 octets cannot be re-encoded; skip those.
        let encodable = open.capabilities.iter().all(|c| match c {
            bgp::wire::Capability::Unknown { value, .. } => value.len() < 200,
            bgp::wire::Capability::GracefulRestart(g) => g.families.len() < 50,
            _ => true,
        }) && open.capabilities.len() < 40;
        if encodable {
            let mut out = Vec::new();
            open.encode(&mut out);
        }
    }
});
