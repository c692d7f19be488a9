//! UDP encapsulation of ESP and IKE on one port (RFC 3948): telling the three kinds of datagram
//! on port 4500 apart.
//!
//! ```text
//!  ESP in UDP (RFC 3948 §2.1)         IKE on port 4500 (§2.2)          NAT keepalive (§2.3)
//! +------------------+               +------------------+             +------+
//! | SPI (non-zero)   |               | 0x00000000       | non-ESP     | 0xFF |  one octet
//! +------------------+               +------------------+ marker      +------+
//! | sequence, ...    |               | IKE header ...   |
//! ```
//!
//! What it does not do: parse IKE (the IKE side does, after the marker), or build UDP headers (the
//! kernel's UDP socket does).

/// The non-ESP marker in front of IKE messages on port 4500 (RFC 3948 §2.2).
pub const NON_ESP_MARKER: [u8; 4] = [0, 0, 0, 0];

/// The UDP port for IKE and ESP once NAT traversal is in use (RFC 3948 §2.1, RFC 7296 §2.23).
pub const NAT_T_PORT: u16 = 4500;

/// What a datagram received on port 4500 is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datagram<'a> {
    /// An ESP packet (SPI first, non-zero).
    Esp(&'a [u8]),
    /// An IKE message: the bytes after the non-ESP marker.
    Ike(&'a [u8]),
    /// A NAT keepalive (a single 0xFF octet): drop it (§2.3).
    NatKeepalive,
    /// Too short to be any of these.
    Malformed,
}

/// Classifies a datagram received on the NAT-T port.
pub fn classify(datagram: &[u8]) -> Datagram<'_> {
    match datagram {
        [0xff] => Datagram::NatKeepalive,
        [0, 0, 0, 0, ike @ ..] => Datagram::Ike(ike),
        // RFC 4303 §2.1: SPI values 1..=255 are reserved and never used for an SA; we still hand
        // them to the SA table, which counts them as unknown SPIs.
        [_, _, _, _, ..] => Datagram::Esp(datagram),
        _ => Datagram::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esp_ike_keepalive_and_runts_are_told_apart() {
        assert_eq!(classify(&[0xff]), Datagram::NatKeepalive);
        assert_eq!(classify(&[0, 0, 0, 0, 1, 2, 3]), Datagram::Ike(&[1, 2, 3]));
        assert_eq!(classify(&[0, 0, 0, 1, 9]), Datagram::Esp(&[0, 0, 0, 1, 9]));
        assert_eq!(classify(&[0, 0, 0]), Datagram::Malformed);
        assert_eq!(classify(&[]), Datagram::Malformed);
        assert_eq!(classify(&[0xfe]), Datagram::Malformed);
    }
}
