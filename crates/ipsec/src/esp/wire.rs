//! The ESP packet as a zero-copy view over a byte buffer (RFC 4303 §2). The drawing is the
//! combined-mode layout ([`Layout::AEAD`]); with AES-CBC + HMAC ([`Layout::for_cipher`]) the IV is
//! 16 random octets (RFC 3602 §3), the encrypted part a multiple of 16 octets and the ICV the
//! integrity transform's truncated HMAC (12-32 octets), which covers SPI, sequence number, IV and
//! ciphertext (RFC 4303 §3.3.4).
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
//! check a cipher's block alignment beyond 4 octets (the SA does, for CBC).

use std::ops::Range;

use crate::crypto::aead::{ICV_LEN, IV_LEN};
use crate::crypto::cipher::Cipher;

use super::EspError;
use super::trailer::{TRAILER_LEN, pad_len, pad_len_to};

/// Where the variable-length fields of an SA's ESP packets are: IV and ICV lengths and the block
/// the encrypted part is padded to (RFC 4303 §2.4: at least 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layout {
    /// Octets of IV after the sequence number.
    pub iv_len: usize,
    /// Octets of ICV at the end.
    pub icv_len: usize,
    /// The encrypted part is padded to a multiple of this (4 or the cipher block).
    pub block: usize,
}

impl Layout {
    /// AES-GCM-16 and ChaCha20-Poly1305: 8-octet IV, 16-octet ICV, 4-octet alignment.
    pub const AEAD: Layout = Layout {
        iv_len: IV_LEN,
        icv_len: ICV_LEN,
        block: 4,
    };

    /// The layout of packets protected by `cipher`.
    pub fn for_cipher(cipher: Cipher) -> Layout {
        Layout {
            iv_len: cipher.iv_len(),
            icv_len: cipher.icv_len(),
            block: cipher.block_len().max(4),
        }
    }

    /// Octets before the payload: header and IV.
    pub const fn payload_offset(&self) -> usize {
        HEADER_LEN + self.iv_len
    }

    /// Octets of padding after a payload of `len` octets.
    pub const fn pad_len(&self, len: usize) -> usize {
        pad_len_to(len, self.block)
    }

    /// Room a buffer needs after an inner packet of `len` octets: padding, trailer, ICV.
    pub const fn tail_room(&self, len: usize) -> usize {
        self.pad_len(len) + TRAILER_LEN + self.icv_len
    }

    /// Octets ESP adds around an inner packet of `len` octets.
    pub const fn overhead(&self, len: usize) -> usize {
        self.payload_offset() + self.tail_room(len)
    }

    /// The largest inner packet whose ESP packet fits in `room` octets (a path MTU minus the
    /// outer IP and UDP headers): the encrypted part is whole blocks and holds the 2-octet trailer.
    /// 0 if not even an empty payload fits.
    pub const fn max_payload(&self, room: usize) -> usize {
        let fixed = self.payload_offset() + self.icv_len;
        if room < fixed + self.block {
            return 0;
        }
        let encrypted = (room - fixed) / self.block * self.block;
        encrypted - TRAILER_LEN
    }

    /// Smallest packet: header, IV, one block holding at least the trailer, ICV.
    pub const fn min_len(&self) -> usize {
        self.payload_offset() + self.block + self.icv_len
    }

    /// The largest payload offset of any cipher we implement (AES-CBC's 16-octet IV).
    pub const MAX_PAYLOAD_OFFSET: usize = HEADER_LEN + crate::crypto::cbc::BLOCK_LEN;
    /// The largest tail room any cipher needs after a payload (15 octets of CBC padding, the
    /// trailer, HMAC-SHA2-512-256's 32-octet ICV).
    pub const MAX_TAIL_ROOM: usize = crate::crypto::cbc::BLOCK_LEN - 1 + TRAILER_LEN + 32;
}

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
    layout: Layout,
}

impl<T: AsRef<[u8]>> EspPacket<T> {
    /// Wraps a buffer without checking it. Accessors may panic on a short buffer; call
    /// [`EspPacket::check_len`] before trusting it, or use [`EspPacket::new_checked`].
    /// The view has the combined-mode [`Layout::AEAD`].
    pub const fn new_unchecked(buffer: T) -> EspPacket<T> {
        EspPacket {
            buffer,
            layout: Layout::AEAD,
        }
    }

    /// Wraps a buffer without checking it, with `layout`.
    pub const fn with_layout_unchecked(buffer: T, layout: Layout) -> EspPacket<T> {
        EspPacket { buffer, layout }
    }

    /// Wraps a buffer and checks it is long and aligned enough for every accessor
    /// ([`Layout::AEAD`]).
    pub fn new_checked(buffer: T) -> Result<EspPacket<T>, EspError> {
        EspPacket::with_layout(buffer, Layout::AEAD)
    }

    /// Wraps a buffer with `layout` and checks it is long and aligned enough for every accessor.
    pub fn with_layout(buffer: T, layout: Layout) -> Result<EspPacket<T>, EspError> {
        let packet = EspPacket::with_layout_unchecked(buffer, layout);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the length: at least the layout's minimum, and the encrypted part (payload,
    /// padding and trailer) a multiple of the layout's block (RFC 4303 §2.4; RFC 3602 §3 for CBC).
    pub fn check_len(&self) -> Result<(), EspError> {
        let len = self.buffer.as_ref().len();
        let needed = self.layout.min_len();
        if len < needed {
            return Err(EspError::Truncated { len, needed });
        }
        let encrypted = len - self.layout.payload_offset() - self.layout.icv_len;
        // Blocks are powers of two (4, 16): a mask, not a division, on every packet.
        debug_assert!(self.layout.block.is_power_of_two());
        if encrypted & (self.layout.block - 1) != 0 {
            return Err(EspError::Misaligned { encrypted });
        }
        Ok(())
    }

    /// The layout this view reads with.
    pub fn layout(&self) -> Layout {
        self.layout
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

    /// The 8-octet IV of a combined-mode packet (the first 8 octets of a longer IV).
    pub fn iv(&self) -> [u8; IV_LEN] {
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&self.buffer.as_ref()[field::IV]);
        iv
    }

    /// The whole IV, as long as the layout says.
    pub fn iv_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.layout.payload_offset()]
    }

    /// The AAD for the combined-mode cipher: SPI || sequence number (RFC 4106 §5, 32-bit form).
    pub fn aad(&self) -> [u8; HEADER_LEN] {
        let mut aad = [0u8; HEADER_LEN];
        aad.copy_from_slice(&self.buffer.as_ref()[field::SPI.start..field::SEQ.end]);
        aad
    }

    /// Byte range of the encrypted part (payload, padding, pad length, next header).
    pub fn encrypted_range(&self) -> Range<usize> {
        self.layout.payload_offset()..self.buffer.as_ref().len() - self.layout.icv_len
    }

    /// The 16-octet ICV (the AEAD tag) at the end of a combined-mode packet.
    pub fn icv(&self) -> [u8; ICV_LEN] {
        let b = self.buffer.as_ref();
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(&b[b.len() - ICV_LEN..]);
        icv
    }

    /// The ICV, as long as the layout says.
    pub fn icv_bytes(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[b.len() - self.layout.icv_len..]
    }

    /// What the ICV of a non-AEAD packet covers: SPI, sequence number, IV and ciphertext
    /// (RFC 4303 §3.3.4).
    pub fn authenticated(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        &b[..b.len() - self.layout.icv_len]
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

    #[test]
    fn cbc_layouts_place_iv_and_icv_per_cipher() {
        use crate::crypto::cbc::CbcAlgorithm;
        use crate::crypto::integ::IntegAlgorithm;
        let l = Layout::for_cipher(Cipher::CbcHmac(
            CbcAlgorithm::Aes128,
            IntegAlgorithm::HmacSha1_96,
        ));
        assert_eq!((l.payload_offset(), l.icv_len, l.block), (24, 12, 16));
        assert_eq!(l.min_len(), 24 + 16 + 12);
        // 1422 + 2 = 1424 = 89 blocks: no padding; 8 + 16 + 2 + 12.
        assert_eq!(l.overhead(1422), 38);
        assert_eq!(l.overhead(1423), 38 + 15);
        assert!(Layout::MAX_TAIL_ROOM >= l.tail_room(1423));
        // 1500-octet path, IPv4 + UDP: 1472 octets for ESP.
        assert_eq!(l.max_payload(1472), 1422);
        assert!(1422 + l.overhead(1422) <= 1472);
        assert!(1423 + l.overhead(1423) > 1472);
        assert_eq!(Layout::AEAD.max_payload(1472), 1438);
        let sha512 = Layout::for_cipher(Cipher::CbcHmac(
            CbcAlgorithm::Aes256,
            IntegAlgorithm::HmacSha512_256,
        ));
        assert_eq!(sha512.max_payload(1472), 1406);
        assert!(1407 + sha512.overhead(1407) > 1472);
        assert_eq!(l.max_payload(10), 0);
        let mut buf = vec![0u8; l.min_len() + 16];
        let len = buf.len();
        buf[len - 12..].fill(0xaa);
        let p = EspPacket::with_layout(&buf[..], l).unwrap();
        assert_eq!(p.iv_bytes().len(), 16);
        assert_eq!(p.icv_bytes(), &[0xaa; 12]);
        assert_eq!(p.encrypted_range(), 24..len - 12);
        assert_eq!(p.authenticated().len(), len - 12);
        assert_eq!(
            EspPacket::with_layout(&buf[..len - 4], l),
            Err(EspError::Misaligned { encrypted: 28 })
        );
        assert_eq!(
            Layout::for_cipher(Cipher::Aead(
                crate::crypto::aead::AeadAlgorithm::AesGcm16Key128
            )),
            Layout::AEAD
        );
    }

    proptest::proptest! {
        /// With any cipher's layout, no accessor panics on a buffer `with_layout` accepts.
        #[test]
        fn accessors_never_panic_with_any_layout(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            icv in proptest::sample::select(vec![12usize, 16, 24, 32]),
        ) {
            let l = Layout { iv_len: 16, icv_len: icv, block: 16 };
            if let Ok(p) = EspPacket::with_layout(&bytes[..], l) {
                let _ = (p.spi(), p.sequence(), p.iv_bytes(), p.icv_bytes(), p.authenticated());
                let r = p.encrypted_range();
                proptest::prop_assert!(r.end <= bytes.len() && r.start <= r.end);
                proptest::prop_assert_eq!((r.end - r.start) % 16, 0);
            } else {
                proptest::prop_assert!(bytes.len() < l.min_len() || (bytes.len() - 24 - icv) % 16 != 0);
            }
        }

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
