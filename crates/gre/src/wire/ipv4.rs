//! The fields of an outer IPv4 header (RFC 791 §3.1) that a GRE receiver needs: a raw socket
//! hands over each packet with its IP header, and the device checks protocol and addresses
//! before it looks at GRE.
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |Version|  IHL  |Type of Service|          Total Length         |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |         Identification        |Flags|      Fragment Offset    |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |  Time to Live |    Protocol   |         Header Checksum       |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                       Source Address                          |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                    Destination Address                        |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                    Options (IHL > 5)                          |
//! ```
//!
//! What it does not do: verify the header checksum (the kernel did before delivering to the raw
//! socket), reassemble fragments (the kernel did that too), or build headers (the kernel writes
//! the outer header of what the device sends).

use core::net::Ipv4Addr;

use super::{Error, Result};

/// IP protocol number of GRE (IANA).
pub const PROTOCOL_GRE: u8 = 47;
/// Octets of an IPv4 header without options.
pub const MIN_HEADER_LEN: usize = 20;

/// What the device reads from an outer IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Header octets (IHL x 4): where the payload starts.
    pub header_len: usize,
    /// Total length: header and payload.
    pub total_len: usize,
    /// The protocol of the payload (47 for GRE).
    pub protocol: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
}

impl Header {
    /// Reads the header at the start of `packet`: version 4, IHL at least 5, and a total length
    /// between the header length and the octets at hand.
    pub fn parse(packet: &[u8]) -> Result<Header> {
        let b: &[u8; MIN_HEADER_LEN] = packet
            .get(..MIN_HEADER_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::Truncated)?;
        if b[0] >> 4 != 4 {
            return Err(Error::Ipv4);
        }
        let header_len = usize::from(b[0] & 0x0f) * 4;
        let total_len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if header_len < MIN_HEADER_LEN || total_len < header_len {
            return Err(Error::Ipv4);
        }
        if total_len > packet.len() {
            return Err(Error::Truncated);
        }
        Ok(Header {
            header_len,
            total_len,
            protocol: b[9],
            src: Ipv4Addr::new(b[12], b[13], b[14], b[15]),
            dst: Ipv4Addr::new(b[16], b[17], b[18], b[19]),
        })
    }

    /// The payload range within the packet the header was parsed from.
    pub fn payload(&self) -> core::ops::Range<usize> {
        self.header_len..self.total_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_gre_header_and_refuses_garbage() {
        let mut p = vec![
            0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 47, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
        ];
        p.extend([0, 0, 0x08, 0x00, 0x45, 0, 0, 0]);
        let h = Header::parse(&p).unwrap();
        assert_eq!(h.protocol, PROTOCOL_GRE);
        assert_eq!(
            (h.src, h.dst),
            ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap())
        );
        assert_eq!(h.payload(), 20..28);
        assert_eq!(Header::parse(&p[..19]), Err(Error::Truncated));
        assert_eq!(Header::parse(&p[..27]), Err(Error::Truncated));
        let mut v6 = p.clone();
        v6[0] = 0x65;
        assert_eq!(Header::parse(&v6), Err(Error::Ipv4));
        let mut short_ihl = p.clone();
        short_ihl[0] = 0x44;
        assert_eq!(Header::parse(&short_ihl), Err(Error::Ipv4));
        let mut options = p.clone();
        options[0] = 0x46;
        assert_eq!(Header::parse(&options).unwrap().payload(), 24..28);
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_and_ranges_fit(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            if let Ok(h) = Header::parse(&bytes) {
                proptest::prop_assert!(h.payload().end <= bytes.len());
                proptest::prop_assert!(h.payload().start <= h.payload().end);
            }
        }
    }
}
