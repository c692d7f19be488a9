//! The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header sums (RFC 793 §3.1,
//! RFC 8200 §8.1): for segmenting and coalescing TCP here, and for the checksums a data plane
//! writes itself (the GRE checksum of RFC 2784 §2.5, an outer IPv4 header).
//!
//! What it does not do: know where checksums live in a header (the callers do).

/// Adds `data` to a running one's-complement sum (not folded, not inverted). Odd lengths are
/// padded with a zero octet, as RFC 1071 says; only the last chunk of a sum may be odd.
pub fn add(mut sum: u64, data: &[u8]) -> u64 {
    // Summing 32-bit big-endian words and folding later equals summing 16-bit words
    // (RFC 1071 §2(B), "byte order independence" and deferred carries).
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        sum += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    sum + u64::from(u32::from_be_bytes(tail))
}

/// Folds a running sum into 16 bits (not inverted).
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

/// The pseudo-header sum of an IP packet's transport segment: addresses, protocol and
/// transport length. `ip` is the IP header (v4 or v6, by its version nibble).
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
    finish(add(0, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(add(0, &data)), 0xddf2);
        assert_eq!(finish(add(0, &data)), !0xddf2);
    }

    #[test]
    fn ipv4_header_checksum_verifies_to_zero() {
        // A real IPv4 header (checksum b861).
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(finish(add(0, &hdr)), 0);
        let mut zeroed = hdr;
        zeroed[10] = 0;
        zeroed[11] = 0;
        assert_eq!(finish(add(0, &zeroed)), 0xb861);
        assert_eq!(checksum(&hdr), 0);
        assert_eq!(checksum(&zeroed), 0xb861);
    }

    #[test]
    fn an_odd_length_is_padded_with_a_zero_octet() {
        // The last octet is the high half of a word.
        assert_eq!(fold(add(0, &[0x12, 0x34, 0x56])), 0x6834);
    }

    proptest::proptest! {
        /// Splitting the data at any even point gives the same sum as summing it whole, and the
        /// 32-bit method agrees with a plain 16-bit one.
        #[test]
        fn chunked_sums_agree(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300), at in 0usize..150) {
            let at = (at * 2).min(data.len() & !1);
            let whole = fold(add(0, &data));
            let split = fold(add(add(0, &data[..at]), &data[at..]));
            let mut simple: u64 = 0;
            for pair in data.chunks(2) {
                simple += u64::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
            }
            proptest::prop_assert_eq!(whole, split);
            proptest::prop_assert_eq!(whole, fold(simple));
        }
    }
}
