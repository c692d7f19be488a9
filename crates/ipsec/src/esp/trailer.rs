//! ESP padding, Pad Length and Next Header (RFC 4303 §2.4-§2.6).
//!
//! The combined-mode ciphers we use (AES-GCM, ChaCha20-Poly1305) are stream ciphers with a block
//! size of 1, so padding only has to make the encrypted part (payload + padding + the two trailer
//! octets) end on a 4-octet boundary (§2.4). Padding bytes carry the default content 1, 2, 3, ...
//! (§2.4: "the first padding byte appended to the plaintext is numbered 1"), and a receiver checks
//! them (§2.4: "the receiver SHOULD inspect the Padding field").
//!
//! ```text
//!   ... payload | 01 02 03 | pad len = 3 | next header |
//! ```
//!
//! What it does not do: add Traffic Flow Confidentiality padding (§2.7; we never send it; on
//! receive the data plane trims it using the inner IP header's length), encrypt, or know the
//! packet around the trailer ([`super::wire`] builds on this module, not the other way round).

use super::EspError;

/// Octets of Pad Length and Next Header.
pub const TRAILER_LEN: usize = 2;

/// The Next Header field: what the payload is (IANA protocol numbers, RFC 4303 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextHeader {
    /// 4: an IPv4 packet (IP-in-IP, tunnel mode).
    Ipv4,
    /// 41: an IPv6 packet (tunnel mode).
    Ipv6,
    /// 59: a dummy packet (traffic flow confidentiality); the receiver drops it silently (§2.6).
    NoNextHeader,
    /// Anything else; a tunnel-mode SA does not carry it.
    Unknown(u8),
}

impl From<u8> for NextHeader {
    fn from(value: u8) -> NextHeader {
        match value {
            4 => NextHeader::Ipv4,
            41 => NextHeader::Ipv6,
            59 => NextHeader::NoNextHeader,
            other => NextHeader::Unknown(other),
        }
    }
}

impl From<NextHeader> for u8 {
    fn from(value: NextHeader) -> u8 {
        match value {
            NextHeader::Ipv4 => 4,
            NextHeader::Ipv6 => 41,
            NextHeader::NoNextHeader => 59,
            NextHeader::Unknown(other) => other,
        }
    }
}

impl NextHeader {
    /// The Next Header for an inner IP packet, from its version nibble; `None` if the first
    /// octet is neither IPv4 nor IPv6 (or the packet is empty).
    pub fn for_ip_packet(packet: &[u8]) -> Option<NextHeader> {
        match packet.first().map(|b| b >> 4) {
            Some(4) => Some(NextHeader::Ipv4),
            Some(6) => Some(NextHeader::Ipv6),
            _ => None,
        }
    }
}

/// Octets of padding after a payload of `payload_len` octets so that payload + padding + trailer
/// is a multiple of 4 (0..=3).
pub const fn pad_len(payload_len: usize) -> usize {
    (4 - (payload_len + TRAILER_LEN) % 4) % 4
}

/// Octets of padding after a payload of `payload_len` octets so that payload + padding + trailer
/// is a multiple of `block` (a block cipher's size, RFC 4303 §2.4; at least 1).
pub const fn pad_len_to(payload_len: usize, block: usize) -> usize {
    (block - (payload_len + TRAILER_LEN) % block) % block
}

/// Writes padding and trailer after a payload of `payload_len` octets at the start of `buf` and
/// returns the length of the encrypted part (payload + padding + trailer). `buf` must have room
/// for [`pad_len`]` + 2` octets after the payload.
pub fn write(buf: &mut [u8], payload_len: usize, next_header: NextHeader) -> usize {
    write_to(buf, payload_len, next_header, 4)
}

/// [`write`], padding to a multiple of `block` (4 or the cipher's block size).
pub fn write_to(
    buf: &mut [u8],
    payload_len: usize,
    next_header: NextHeader,
    block: usize,
) -> usize {
    let pad = pad_len_to(payload_len, block);
    for i in 0..pad {
        buf[payload_len + i] = (i + 1) as u8;
    }
    buf[payload_len + pad] = pad as u8;
    buf[payload_len + pad + 1] = u8::from(next_header);
    payload_len + pad + TRAILER_LEN
}

/// Reads the trailer of a decrypted encrypted part and returns the payload length and Next
/// Header. Fails if Pad Length points before the start, or a padding byte is not the default
/// 1, 2, 3, ... sequence.
pub fn read(decrypted: &[u8]) -> Result<(usize, NextHeader), EspError> {
    let len = decrypted.len();
    if len < TRAILER_LEN {
        return Err(EspError::Truncated {
            len,
            needed: TRAILER_LEN,
        });
    }
    let pad = usize::from(decrypted[len - 2]);
    let next_header = NextHeader::from(decrypted[len - 1]);
    let Some(payload_len) = (len - TRAILER_LEN).checked_sub(pad) else {
        return Err(EspError::BadPadding);
    };
    let padding = &decrypted[payload_len..payload_len + pad];
    if padding
        .iter()
        .enumerate()
        .any(|(i, &b)| usize::from(b) != i + 1)
    {
        return Err(EspError::BadPadding);
    }
    Ok((payload_len, next_header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_aligns_to_four_octets_with_default_contents() {
        let mut buf = [0xeeu8; 32];
        assert_eq!(write(&mut buf, 5, NextHeader::Ipv4), 8);
        assert_eq!(&buf[5..8], &[1, 1, 4]);
        assert_eq!(read(&buf[..8]), Ok((5, NextHeader::Ipv4)));

        let mut buf = [0xeeu8; 32];
        assert_eq!(write(&mut buf, 3, NextHeader::Ipv6), 8);
        assert_eq!(&buf[3..8], &[1, 2, 3, 3, 41]);
        assert_eq!(read(&buf[..8]), Ok((3, NextHeader::Ipv6)));

        let mut buf = [0xeeu8; 32];
        assert_eq!(write(&mut buf, 2, NextHeader::NoNextHeader), 4);
        assert_eq!(&buf[2..4], &[0, 59]);
    }

    #[test]
    fn cbc_padding_fills_the_block() {
        for len in 0..64 {
            let pad = pad_len_to(len, 16);
            assert!(pad <= 15);
            assert_eq!((len + pad + 2) % 16, 0);
            let mut buf = vec![0xee; len + 18];
            let n = write_to(&mut buf, len, NextHeader::Ipv4, 16);
            assert_eq!(n % 16, 0);
            assert_eq!(read(&buf[..n]), Ok((len, NextHeader::Ipv4)));
        }
        assert_eq!(pad_len_to(14, 16), 0);
        assert_eq!(pad_len_to(13, 4), pad_len(13));
    }

    #[test]
    fn pad_len_is_zero_to_three() {
        for len in 0..64 {
            let pad = pad_len(len);
            assert!(pad <= 3);
            assert_eq!((len + pad + 2) % 4, 0);
        }
    }

    #[test]
    fn wrong_padding_contents_or_length_are_refused() {
        // Pad length 3 but contents 1, 2, 4.
        assert_eq!(read(&[9, 9, 1, 2, 4, 3, 4]), Err(EspError::BadPadding));
        // Pad length larger than what precedes it.
        assert_eq!(read(&[1, 2, 5, 4]), Err(EspError::BadPadding));
        assert_eq!(read(&[4]), Err(EspError::Truncated { len: 1, needed: 2 }));
        // Large but well-formed padding (255 octets) is accepted.
        let mut buf: Vec<u8> = (1..=255).collect();
        buf.extend([255, 4]);
        assert_eq!(read(&buf), Ok((0, NextHeader::Ipv4)));
    }

    #[test]
    fn next_header_numbers_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(u8::from(NextHeader::from(n)), n);
        }
        assert_eq!(NextHeader::from(59), NextHeader::NoNextHeader);
        assert_eq!(NextHeader::for_ip_packet(&[0x45]), Some(NextHeader::Ipv4));
        assert_eq!(NextHeader::for_ip_packet(&[0x60]), Some(NextHeader::Ipv6));
        assert_eq!(NextHeader::for_ip_packet(&[0x00]), None);
        assert_eq!(NextHeader::for_ip_packet(&[]), None);
    }

    proptest::proptest! {
        /// write then read gives back the payload length and next header; read never panics.
        #[test]
        fn write_read_round_trip(payload_len in 0usize..100, nh in proptest::num::u8::ANY,
                                 junk in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let mut buf = vec![0u8; payload_len + 5];
            let n = write(&mut buf, payload_len, NextHeader::from(nh));
            proptest::prop_assert_eq!(n % 4, 0);
            proptest::prop_assert_eq!(read(&buf[..n]), Ok((payload_len, NextHeader::from(nh))));
            let _ = read(&junk);
        }
    }
}
