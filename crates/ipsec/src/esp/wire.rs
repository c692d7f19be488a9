//! The ESP packet as a zero-copy view over a byte buffer (RFC 4303 §2), for combined-mode ciphers.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
//! |               Security Parameters Index (SPI)                 | ^ AAD (RFC 4106 §5,
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |  RFC 7634 §2.1)
//! |                      Sequence Number                          | v
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
//! |                  IV (8 octets, RFC 4106 §3.1)                 |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ---- ^
//! |          Payload Data (the inner IP packet, tunnel mode)      |      |
//! ~                                                               ~      | encrypted
//! +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+      |
//! |               |     Padding (0-255 octets: 1, 2, 3, ...)      |      |
//! +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+      |
//! |                               |  Pad Length   | Next Header   |      v
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
//! |               ICV (16 octets: the AEAD tag)                   |
//! ~                                                               ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`EspPacket::new_checked`] verifies that the buffer can hold the fixed fields (header, IV, the
//! two trailer octets and the ICV) and that the encrypted part ends on a 4-octet boundary
//! (RFC 4303 §2.4); after that no accessor panics, whatever the bytes are.
//!
//! What it does not do: decrypt, check padding contents (they are encrypted: see
//! [`super::trailer`]), or know about SAs. It also does not handle ESN (we never negotiate it) or
//! ciphers with an IV other than 8 octets.

use std::ops::Range;

use crate::crypto::aead::{ICV_LEN, IV_LEN};

use super::EspError;
use super::trailer::{TRAILER_LEN, pad_len};

/// Octets of SPI and sequence number.
pub const HEADER_LEN: usize = 8;
/// Octets before the payload: header and IV. The data plane puts the inner packet at this offset.
pub const PAYLOAD_OFFSET: usize = HEADER_LEN + IV_LEN;
/// Smallest ESP packet: header, IV, the two trailer octets (with no payload and no padding: the
/// encrypted part would be 2 octets, not 4-aligned, so the real minimum is 4 encrypted octets) and ICV.
pub const MIN_LEN: usize = PAYLOAD_OFFSET + 4 + ICV_LEN;
/// Octets ESP adds around an inner packet of `len` octets, padding included
/// (header + IV + padding + trailer + ICV).
pub const fn overhead(len: usize) -> usize {
    PAYLOAD_OFFSET + pad_len(len) + TRAILER_LEN + ICV_LEN
}

mod field {
    use std::ops::Range;
    pub const SPI: Range<usize> = 0..4;
    pub const SEQ: Range<usize> = 4..8;
    pub const IV: Range<usize> = 8..16;
}

/// A read (and, for `AsMut`, write) view of an ESP packet as it travels inside UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EspPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EspPacket<T> {
    /// Wraps a buffer without checking it. Accessors may panic on a short buffer; call
    /// [`EspPacket::check_len`] before trusting it, or use [`EspPacket::new_checked`].
    pub const fn new_unchecked(buffer: T) -> EspPacket<T> {
        EspPacket { buffer }
    }

    /// Wraps a buffer and checks it is long and aligned enough for every accessor.
    pub fn new_checked(buffer: T) -> Result<EspPacket<T>, EspError> {
        let packet = EspPacket::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the length: at least [`MIN_LEN`], and the encrypted part (payload, padding and
    /// trailer) a multiple of 4 octets (RFC 4303 §2.4).
    pub fn check_len(&self) -> Result<(), EspError> {
        let len = self.buffer.as_ref().len();
        if len < MIN_LEN {
            return Err(EspError::Truncated {
                len,
                needed: MIN_LEN,
            });
        }
        let encrypted = len - PAYLOAD_OFFSET - ICV_LEN;
        if !encrypted.is_multiple_of(4) {
            return Err(EspError::Misaligned { encrypted });
        }
        Ok(())
    }

    /// The Security Parameters Index.
    pub fn spi(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The (low 32 bits of the) sequence number.
    pub fn sequence(&self) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[4], b[5], b[6], b[7]])
    }

    /// The 8-octet IV.
    pub fn iv(&self) -> [u8; IV_LEN] {
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&self.buffer.as_ref()[field::IV]);
        iv
    }

    /// The AAD for the combined-mode cipher: SPI || sequence number (RFC 4106 §5, 32-bit form).
    pub fn aad(&self) -> [u8; HEADER_LEN] {
        let mut aad = [0u8; HEADER_LEN];
        aad.copy_from_slice(&self.buffer.as_ref()[field::SPI.start..field::SEQ.end]);
        aad
    }

    /// Byte range of the encrypted part (payload, padding, pad length, next header).
    pub fn encrypted_range(&self) -> Range<usize> {
        PAYLOAD_OFFSET..self.buffer.as_ref().len() - ICV_LEN
    }

    /// The ICV (the AEAD tag) at the end of the packet.
    pub fn icv(&self) -> [u8; ICV_LEN] {
        let b = self.buffer.as_ref();
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(&b[b.len() - ICV_LEN..]);
        icv
    }

    /// The whole buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EspPacket<T> {
    /// Sets the SPI.
    pub fn set_spi(&mut self, spi: u32) {
        self.buffer.as_mut()[field::SPI].copy_from_slice(&spi.to_be_bytes());
    }

    /// Sets the sequence number.
    pub fn set_sequence(&mut self, seq: u32) {
        self.buffer.as_mut()[field::SEQ].copy_from_slice(&seq.to_be_bytes());
    }

    /// Sets the IV.
    pub fn set_iv(&mut self, iv: &[u8; IV_LEN]) {
        self.buffer.as_mut()[field::IV].copy_from_slice(iv);
    }

    /// The encrypted part, mutable (for decrypting in place).
    pub fn encrypted_mut(&mut self) -> &mut [u8] {
        let range = self.encrypted_range();
        &mut self.buffer.as_mut()[range]
    }

    /// Sets the ICV.
    pub fn set_icv(&mut self, icv: &[u8; ICV_LEN]) {
        let b = self.buffer.as_mut();
        let len = b.len();
        b[len - ICV_LEN..].copy_from_slice(icv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_back_what_was_written() {
        let mut buf = [0u8; MIN_LEN + 8];
        let mut p = EspPacket::new_checked(&mut buf[..]).unwrap();
        p.set_spi(0xc0ffee01);
        p.set_sequence(7);
        p.set_iv(&[1, 2, 3, 4, 5, 6, 7, 8]);
        p.set_icv(&[0xaa; ICV_LEN]);
        assert_eq!(p.spi(), 0xc0ffee01);
        assert_eq!(p.sequence(), 7);
        assert_eq!(p.iv(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(p.aad(), [0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 7]);
        assert_eq!(p.icv(), [0xaa; ICV_LEN]);
        assert_eq!(p.encrypted_range(), 16..MIN_LEN + 8 - ICV_LEN);
        assert_eq!(
            &buf[..8],
            &[0xc0, 0xff, 0xee, 0x01, 0, 0, 0, 7],
            "network byte order"
        );
    }

    #[test]
    fn short_and_misaligned_packets_are_refused() {
        assert_eq!(
            EspPacket::new_checked(&[0u8; MIN_LEN - 1][..]),
            Err(EspError::Truncated {
                len: MIN_LEN - 1,
                needed: MIN_LEN
            })
        );
        assert_eq!(
            EspPacket::new_checked(&[0u8; MIN_LEN + 1][..]),
            Err(EspError::Misaligned { encrypted: 5 })
        );
        assert!(EspPacket::new_checked(&[0u8; MIN_LEN][..]).is_ok());
    }

    #[test]
    fn overhead_counts_header_iv_padding_trailer_and_icv() {
        // 1438 + 2 is a multiple of 4: no padding; 8 + 8 + 2 + 16 = 34.
        assert_eq!(overhead(1438), 34);
        assert_eq!(overhead(1437), 35);
        assert_eq!(overhead(0), 36);
    }

    proptest::proptest! {
        /// No accessor panics on any buffer `new_checked` accepts, and every buffer it accepts is
        /// at least MIN_LEN long and 4-aligned in its encrypted part.
        #[test]
        fn accessors_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(p) = EspPacket::new_checked(&bytes[..]) {
                let _ = (p.spi(), p.sequence(), p.iv(), p.aad(), p.icv());
                let r = p.encrypted_range();
                proptest::prop_assert!(r.end <= bytes.len() && r.start <= r.end);
                proptest::prop_assert_eq!((r.end - r.start) % 4, 0);
            } else {
                proptest::prop_assert!(bytes.len() < MIN_LEN || !(bytes.len() - PAYLOAD_OFFSET - ICV_LEN).is_multiple_of(4));
            }
        }
    }
}
