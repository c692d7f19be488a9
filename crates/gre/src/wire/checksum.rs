//! The Internet checksum (RFC 1071): the one's-complement sum of 16-bit words, used by the GRE
//! checksum (RFC 2784 §2.5), and by the device's TCP segmentation and coalescing (IPv4 header
//! checksum, TCP pseudo-header sums of RFC 793 §3.1 and RFC 8200 §8.1).
//!
//! The same functions as `crates/ipsec/src/dataplane/checksum.rs` (`add`, `fold`, `finish`,
//! `pseudo_header`), so the copied segmentation code runs on them unchanged.
//!
//! What it does not do: know where a checksum lives in a header (callers do).

/// Adds `data` to a running sum (not folded, not inverted). An odd length is padded with one
/// zero octet (RFC 1071 §4.1), so only the last piece of a sum may be odd.
pub fn add(mut sum: u64, data: &[u8]) -> u64 {
    // 32-bit big-endian words folded later equal 16-bit words (RFC 1071 §2(B), deferred carries).
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        sum += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    sum + u64::from(u32::from_be_bytes(tail))
}

/// Folds a running sum to 16 bits (not inverted).
pub fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The checksum to store: the inverted folded sum.
pub fn finish(sum: u64) -> u16 {
    !fold(sum)
}

/// The pseudo-header sum of an IP packet's transport segment: addresses, protocol and transport
/// length. `ip` is the IP header (v4 or v6, by its version nibble).
///
/// # Panics
///
/// If `ip` is shorter than the fixed header of its version (20 or 40 octets): callers have
/// checked the packet's shape first.
pub fn pseudo_header(ip: &[u8], protocol: u8, transport_len: usize) -> u64 {
    let sum = match ip[0] >> 4 {
        4 => add(0, &ip[12..20]),
        _ => add(0, &ip[8..40]),
    };
    sum + u64::from(protocol) + transport_len as u64
}

/// The checksum of `data`: the inverted folded sum. Over data that contains a correct checksum
/// field, this is 0.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(add(0, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_and_a_real_ipv4_header() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            fold(add(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])),
            0xddf2
        );
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&hdr), 0);
        // Odd length: the last octet is the high half of a word.
        assert_eq!(fold(add(0, &[0x12, 0x34, 0x56])), 0x6834);
    }
}
