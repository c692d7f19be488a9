//! The virtio-net header that TUN puts in front of each packet when opened with IFF_VNET_HDR
//! (`struct virtio_net_hdr_v1`, virtio 1.x §5.1.6; 12 octets, the size `netns` sets with
//! TUNSETVNETHDRSZ; native byte order, as TUN uses unless TUNSETVNETLE/BE says otherwise).
//!
//! ```text
//!  0        1        2            4            6            8            10           12
//! +--------+--------+------------+------------+------------+------------+------------+
//! | flags  |gso_type|  hdr_len   |  gso_size  | csum_start | csum_offset| num_buffers|
//! +--------+--------+------------+------------+------------+------------+------------+
//!   flags: 1 = NEEDS_CSUM (checksum from csum_start, stored at csum_start + csum_offset)
//!   gso_type: 0 none, 1 TCPv4, 4 TCPv6, 5 UDP (L4), | 0x80 ECN
//! ```
//!
//! What it does not do: segment or coalesce (see [`crate::segment`] and [`crate::coalesce`]),
//! or open TUN (`netns` does; each data plane asserts at compile time that `netns`'s
//! `VNET_HDR_LEN` is [`LEN`] and that [`LEN`] fits in the room it writes the header into).

/// Octets of the header: the ten of `struct virtio_net_hdr` and `num_buffers` (what `netns`
/// configures with TUNSETVNETHDRSZ).
pub const LEN: usize = 12;

/// flags: the checksum is partial and must be completed from `csum_start`.
pub const F_NEEDS_CSUM: u8 = 1;
/// flags: the checksum was verified.
pub const F_DATA_VALID: u8 = 2;

/// What kind of super-packet this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GsoType {
    /// One ordinary packet.
    None,
    /// An IPv4 TCP super-segment.
    TcpV4,
    /// An IPv6 TCP super-segment.
    TcpV6,
    /// A UDP super-datagram (USO).
    Udp,
    /// Anything else.
    Unknown(u8),
}

const ECN: u8 = 0x80;

impl GsoType {
    fn from_raw(raw: u8) -> GsoType {
        match raw & !ECN {
            0 => GsoType::None,
            1 => GsoType::TcpV4,
            4 => GsoType::TcpV6,
            5 => GsoType::Udp,
            other => GsoType::Unknown(other),
        }
    }

    fn to_raw(self) -> u8 {
        match self {
            GsoType::None => 0,
            GsoType::TcpV4 => 1,
            GsoType::TcpV6 => 4,
            GsoType::Udp => 5,
            GsoType::Unknown(other) => other,
        }
    }
}

/// A decoded virtio-net header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VnetHdr {
    /// `F_NEEDS_CSUM` / `F_DATA_VALID`.
    pub flags: u8,
    /// Super-packet kind.
    pub gso_type: GsoType,
    /// Octets of headers (IP + transport) in a super-packet (a hint; may be 0 or wrong).
    pub hdr_len: u16,
    /// Payload octets per segment.
    pub gso_size: u16,
    /// Where checksumming starts (the transport header).
    pub csum_start: u16,
    /// Where, from `csum_start`, the checksum field is.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// A header for a plain packet that needs nothing done.
    pub const NONE: VnetHdr = VnetHdr {
        flags: 0,
        gso_type: GsoType::None,
        hdr_len: 0,
        gso_size: 0,
        csum_start: 0,
        csum_offset: 0,
    };

    /// Decodes the first [`LEN`] octets; `None` if `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<VnetHdr> {
        let b: &[u8; LEN] = b.get(..LEN)?.try_into().ok()?;
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: GsoType::from_raw(b[1]),
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        })
    }

    /// Encodes into the first [`LEN`] octets of `b` (which must be that long).
    pub fn encode(&self, b: &mut [u8]) {
        b[0] = self.flags;
        b[1] = self.gso_type.to_raw();
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b[10..LEN].fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_and_ecn_is_ignored() {
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GsoType::TcpV4,
            hdr_len: 52,
            gso_size: 1386,
            csum_start: 20,
            csum_offset: 16,
        };
        let mut b = [0u8; LEN];
        h.encode(&mut b);
        assert_eq!(VnetHdr::decode(&b), Some(h));
        b[1] |= 0x80;
        assert_eq!(VnetHdr::decode(&b).unwrap().gso_type, GsoType::TcpV4);
        assert_eq!(VnetHdr::decode(&b[..LEN - 1]), None);
    }
}
