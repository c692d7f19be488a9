//! The probe payload: what every UDP datagram and ICMP echo of a probe carries.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     magic "HLPR" (0x484c5052)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 probe id (random per probe and run)           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    sequence number (64 bits)                  |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |            send time, CLOCK_MONOTONIC ns (64 bits)            |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! All fields are big-endian. Extra bytes after the 24 are ignored (padding to a chosen size).
//! The send time uses the machine-wide monotonic clock, so the receiver in another namespace
//! reads it on the same axis as the engine's actions and the daemons' events.
//!
//! What it does not do: the ICMP header of echo probes (see `icmp`), or any I/O.

/// "HLPR".
pub const MAGIC: u32 = 0x484c_5052;

/// Bytes of a payload.
pub const LEN: usize = 24;

/// A decoded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload {
    /// Which probe (and run) sent it.
    pub probe_id: u32,
    /// Sequence number, from 0.
    pub seq: u64,
    /// Send time (CLOCK_MONOTONIC ns).
    pub sent_ns: u64,
}

/// Why bytes are not a payload of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than [`LEN`] bytes.
    #[error("probe payload too short: {0} bytes, need 24")]
    Short(usize),
    /// Not our magic: somebody else's packet.
    #[error("not a probe payload (magic {0:#010x})")]
    Magic(u32),
}

impl Payload {
    /// Writes the payload into the first [`LEN`] bytes of `buf` (which must hold them).
    pub fn encode(&self, buf: &mut [u8; LEN]) {
        buf[0..4].copy_from_slice(&MAGIC.to_be_bytes());
        buf[4..8].copy_from_slice(&self.probe_id.to_be_bytes());
        buf[8..16].copy_from_slice(&self.seq.to_be_bytes());
        buf[16..24].copy_from_slice(&self.sent_ns.to_be_bytes());
    }

    /// Reads a payload; never panics, whatever `buf` holds.
    pub fn decode(buf: &[u8]) -> Result<Payload, WireError> {
        let b: &[u8; LEN] = buf
            .get(..LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(WireError::Short(buf.len()))?;
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u64_at = |i: usize| (u64::from(u32_at(i)) << 32) | u64::from(u32_at(i + 4));
        let magic = u32_at(0);
        if magic != MAGIC {
            return Err(WireError::Magic(magic));
        }
        Ok(Payload {
            probe_id: u32_at(4),
            seq: u64_at(8),
            sent_ns: u64_at(16),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        let p = Payload {
            probe_id: 0x0102_0304,
            seq: 5,
            sent_ns: 0x1122_3344_5566_7788,
        };
        let mut b = [0u8; LEN];
        p.encode(&mut b);
        assert_eq!(&b[..8], b"HLPR\x01\x02\x03\x04");
        assert_eq!(&b[8..16], &[0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(&b[16..], &[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
        assert_eq!(Payload::decode(&b), Ok(p));
        assert_eq!(Payload::decode(&b[..23]), Err(WireError::Short(23)));
        assert_eq!(Payload::decode(&[0u8; 30]), Err(WireError::Magic(0)));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Payload::decode(&bytes);
        }

        #[test]
        fn round_trips(probe_id: u32, seq: u64, sent_ns: u64, pad in proptest::collection::vec(any::<u8>(), 0..16)) {
            let p = Payload { probe_id, seq, sent_ns };
            let mut b = [0u8; LEN];
            p.encode(&mut b);
            let mut long = b.to_vec();
            long.extend(pad);
            prop_assert_eq!(Payload::decode(&long), Ok(p));
        }
    }
}
