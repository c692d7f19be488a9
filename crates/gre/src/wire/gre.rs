//! The GRE header (RFC 2784 §2) with the key and sequence number fields of RFC 2890 §2, as a
//! zero-copy view ([`Packet`]) and a validated representation ([`Repr`]).
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |C|R|K|S|s|Recur|  Reserved0  | Ver |         Protocol Type         |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |      Checksum (optional)      |       Reserved1 (optional)    |  if C (RFC 2784 §2.5, §2.6)
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                         Key (optional)                        |  if K (RFC 2890 §2.1)
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                 Sequence Number (optional)                    |  if S (RFC 2890 §2.2)
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  R (routing), s (strict source route) and Recur are RFC 1701's; RFC 2784 folds them into
//!  Reserved0 (bits 1-12): a receiver discards bits 1-5 set (§2.3; bits 2-3 are K and S since
//!  RFC 2890), ignores bits 6-12, and discards a version other than 0 (§2.3.1).
//! ```
//!
//! The view's buffer is the whole GRE packet, header and payload (the checksum covers both).
//!
//! What it does not do: RFC 1701's routing field or offset (a packet with R set is refused, not
//! skipped), choose keys or sequence numbers, or judge the payload.

use super::checksum;
use super::{Error, Result};

mod field {
    pub type Field = core::ops::Range<usize>;
    /// Flags, reserved bits and version.
    pub const FLAGS: Field = 0..2;
    /// EtherType of the payload.
    pub const PROTOCOL: Field = 2..4;
    /// Where the optional fields start.
    pub const OPTIONS: usize = 4;
}

const F_CHECKSUM: u16 = 0x8000;
const F_ROUTING: u16 = 0x4000;
const F_KEY: u16 = 0x2000;
const F_SEQUENCE: u16 = 0x1000;
/// Reserved0 bits 4-5 (RFC 1701 strict source route, top bit of recursion control): discard.
const RESERVED0_DISCARD: u16 = 0x0c00;
/// Reserved0 bits 6-12: sent as zero, ignored on receipt (RFC 2784 §2.3).
const RESERVED0_IGNORED: u16 = 0x03f8;
const VERSION_MASK: u16 = 0x0007;

/// Octets of the fixed part of the header.
pub const BASE_LEN: usize = 4;
/// Octets of the longest header this crate reads or writes (checksum, key and sequence number).
pub const MAX_HEADER_LEN: usize = 16;

/// The payload's protocol: an EtherType (RFC 2784 §2.4, IEEE 802 numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// IPv4, 0x0800 (RFC 2784 §3).
    Ipv4,
    /// IPv6, 0x86DD.
    Ipv6,
    /// ARP, 0x0806.
    Arp,
    /// Transparent Ethernet Bridging (Ethernet frames, "gretap"), 0x6558.
    TransparentEthernetBridging,
    /// MPLS unicast, 0x8847 (RFC 4023).
    Mpls,
    /// ERSPAN type II, 0x88BE.
    Erspan,
    /// Any other EtherType.
    Unknown(u16),
}

impl From<u16> for Protocol {
    fn from(v: u16) -> Protocol {
        match v {
            0x0800 => Protocol::Ipv4,
            0x86dd => Protocol::Ipv6,
            0x0806 => Protocol::Arp,
            0x6558 => Protocol::TransparentEthernetBridging,
            0x8847 => Protocol::Mpls,
            0x88be => Protocol::Erspan,
            other => Protocol::Unknown(other),
        }
    }
}

impl From<Protocol> for u16 {
    fn from(p: Protocol) -> u16 {
        match p {
            Protocol::Ipv4 => 0x0800,
            Protocol::Ipv6 => 0x86dd,
            Protocol::Arp => 0x0806,
            Protocol::TransparentEthernetBridging => 0x6558,
            Protocol::Mpls => 0x8847,
            Protocol::Erspan => 0x88be,
            Protocol::Unknown(other) => other,
        }
    }
}

impl core::fmt::Display for Protocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Protocol::Unknown(v) => write!(f, "EtherType {v:#06x}"),
            known => write!(f, "{known:?}"),
        }
    }
}

/// Octets of a header with these optional fields.
pub const fn header_len(checksum: bool, key: bool, sequence: bool) -> usize {
    BASE_LEN + 4 * (checksum as usize + key as usize + sequence as usize)
}

/// A read/write view of a GRE packet (header and payload) in a buffer.
///
/// Build it with [`Packet::new_checked`] (or [`Packet::new_unchecked`] then
/// [`Packet::check_len`]): once `check_len` has succeeded, no accessor panics, whatever the
/// bytes say. Setters may panic on a buffer too short for the field they write, as smoltcp's do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks that it holds the whole header its flags announce.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed header and every optional field the C, K and S
    /// bits announce. After this succeeds no accessor panics.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < BASE_LEN || len < self.header_len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn flags(&self) -> u16 {
        let b = self.buffer.as_ref();
        match b.get(field::FLAGS) {
            Some(f) => u16::from_be_bytes([f[0], f[1]]),
            None => 0,
        }
    }

    fn u16_at(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    fn u32_at(&self, at: usize) -> u32 {
        let b = self.buffer.as_ref();
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// The C bit: checksum and Reserved1 present.
    pub fn checksum_present(&self) -> bool {
        self.flags() & F_CHECKSUM != 0
    }

    /// The R bit (RFC 1701 routing present).
    pub fn routing_present(&self) -> bool {
        self.flags() & F_ROUTING != 0
    }

    /// The K bit: key present.
    pub fn key_present(&self) -> bool {
        self.flags() & F_KEY != 0
    }

    /// The S bit: sequence number present.
    pub fn sequence_present(&self) -> bool {
        self.flags() & F_SEQUENCE != 0
    }

    /// Reserved0 bits 4-12 as they stand in the first word (mask 0x0ff8); bits 1-3 are R, K, S.
    pub fn reserved0(&self) -> u16 {
        self.flags() & (RESERVED0_DISCARD | RESERVED0_IGNORED)
    }

    /// The version field (bits 13-15).
    pub fn version(&self) -> u8 {
        (self.flags() & VERSION_MASK) as u8
    }

    /// The payload's protocol type.
    pub fn protocol(&self) -> Protocol {
        let b = self.buffer.as_ref();
        match b.get(field::PROTOCOL) {
            Some(p) => Protocol::from(u16::from_be_bytes([p[0], p[1]])),
            None => Protocol::Unknown(0),
        }
    }

    /// Octets of the header: 4, plus 4 for each of checksum, key and sequence number present.
    pub fn header_len(&self) -> usize {
        header_len(
            self.checksum_present(),
            self.key_present(),
            self.sequence_present(),
        )
    }

    fn key_at(&self) -> usize {
        field::OPTIONS + 4 * usize::from(self.checksum_present())
    }

    fn sequence_at(&self) -> usize {
        self.key_at() + 4 * usize::from(self.key_present())
    }

    /// The checksum field, if present.
    pub fn checksum(&self) -> Option<u16> {
        self.checksum_present().then(|| self.u16_at(field::OPTIONS))
    }

    /// The Reserved1 field, if present (sent as zero, RFC 2784 §2.6; not checked on receipt).
    pub fn reserved1(&self) -> Option<u16> {
        self.checksum_present()
            .then(|| self.u16_at(field::OPTIONS + 2))
    }

    /// The key, if present.
    pub fn key(&self) -> Option<u32> {
        self.key_present().then(|| self.u32_at(self.key_at()))
    }

    /// The sequence number, if present.
    pub fn sequence_number(&self) -> Option<u32> {
        self.sequence_present()
            .then(|| self.u32_at(self.sequence_at()))
    }

    /// Whether the checksum verifies over header and payload (true when none is present).
    pub fn verify_checksum(&self) -> bool {
        !self.checksum_present() || checksum::checksum(self.buffer.as_ref()) == 0
    }

    /// The payload: everything after the header.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(self.header_len()..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_u16_at(&mut self, at: usize, v: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    fn set_u32_at(&mut self, at: usize, v: u32) {
        self.buffer.as_mut()[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    /// Writes the first word: C, K and S as given, R, Reserved0 and version 0. Set these before
    /// the optional fields, whose positions they decide.
    pub fn set_flags(&mut self, checksum: bool, key: bool, sequence: bool) {
        let mut flags = 0u16;
        if checksum {
            flags |= F_CHECKSUM;
        }
        if key {
            flags |= F_KEY;
        }
        if sequence {
            flags |= F_SEQUENCE;
        }
        self.set_u16_at(field::FLAGS.start, flags);
    }

    /// Writes the protocol type.
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.set_u16_at(field::PROTOCOL.start, protocol.into());
    }

    /// Writes the key (the K bit must be set).
    pub fn set_key(&mut self, key: u32) {
        let at = self.key_at();
        self.set_u32_at(at, key);
    }

    /// Writes the sequence number (the S bit must be set).
    pub fn set_sequence_number(&mut self, sequence: u32) {
        let at = self.sequence_at();
        self.set_u32_at(at, sequence);
    }

    /// Zeroes Reserved1 and computes the checksum over header and payload (the C bit must be
    /// set and the payload in place).
    pub fn fill_checksum(&mut self) {
        self.set_u32_at(field::OPTIONS, 0);
        let c = checksum::checksum(self.buffer.as_ref());
        self.set_u16_at(field::OPTIONS, c);
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = self.header_len();
        &mut self.buffer.as_mut()[at..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A validated GRE header: what a receiver accepted, or what a sender writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The payload's protocol type.
    pub protocol: Protocol,
    /// Checksum present: computed over header and payload on emit, verified on parse.
    pub checksum: bool,
    /// The key (RFC 2890 §2.1), if present.
    pub key: Option<u32>,
    /// The sequence number (RFC 2890 §2.2), if present.
    pub sequence_number: Option<u32>,
}

impl Repr {
    /// Parses and validates a GRE packet: length ([`Packet::check_len`]), version 0, no R bit,
    /// Reserved0 bits 4-5 clear, and a checksum that verifies if present. Reserved0 bits 6-12
    /// and Reserved1 are ignored (RFC 2784 §2.3, §2.6). An unknown protocol type is returned as
    /// [`Protocol::Unknown`]: whether to carry it is the caller's choice (RFC 2784 §2.4 says
    /// SHOULD discard).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.version() != 0 {
            return Err(Error::Version(packet.version()));
        }
        if packet.routing_present() {
            return Err(Error::Routing);
        }
        let discard = packet.flags() & RESERVED0_DISCARD;
        if discard != 0 {
            return Err(Error::Reserved0(discard));
        }
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            protocol: packet.protocol(),
            checksum: packet.checksum_present(),
            key: packet.key(),
            sequence_number: packet.sequence_number(),
        })
    }

    /// Octets of the header this representation emits (4, 8, 12 or 16).
    pub const fn buffer_len(&self) -> usize {
        header_len(
            self.checksum,
            self.key.is_some(),
            self.sequence_number.is_some(),
        )
    }

    /// Writes the header at the start of `packet`'s buffer, which is the whole GRE packet with
    /// the payload already in place after [`Repr::buffer_len`] octets; with `checksum` set, the
    /// checksum is computed over all of it.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_flags(
            self.checksum,
            self.key.is_some(),
            self.sequence_number.is_some(),
        );
        packet.set_protocol(self.protocol);
        if let Some(key) = self.key {
            packet.set_key(key);
        }
        if let Some(sequence) = self.sequence_number {
            packet.set_sequence_number(sequence);
        }
        if self.checksum {
            packet.fill_checksum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GRE with checksum, key and sequence number around a 4-octet payload, checksum by hand:
    /// words b000 0800 0000(csum) 0000 0001 0002 0000 0003 dead beef.
    const FULL: [u8; 20] = [
        0xb0, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x03, 0xde, 0xad, 0xbe, 0xef,
    ];

    fn full_with_checksum() -> [u8; 20] {
        // Sum of words: b000+0800+0001+0002+0003+dead+beef = 0x2_55a2 -> 55a4; !55a4 = aa5b.
        let mut b = FULL;
        b[4] = 0xaa;
        b[5] = 0x5b;
        b
    }

    #[test]
    fn minimal_header_decodes() {
        let bytes = [0x00, 0x00, 0x86, 0xdd, 0x60, 0, 0, 0];
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.header_len(), 4);
        assert_eq!(p.protocol(), Protocol::Ipv6);
        assert_eq!(
            (p.checksum(), p.key(), p.sequence_number()),
            (None, None, None)
        );
        assert_eq!(p.payload(), &[0x60, 0, 0, 0]);
        assert_eq!(
            Repr::parse(&p).unwrap(),
            Repr {
                protocol: Protocol::Ipv6,
                checksum: false,
                key: None,
                sequence_number: None
            }
        );
    }

    #[test]
    fn full_header_decodes_and_the_hand_checksum_verifies() {
        let bytes = full_with_checksum();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.header_len(), 16);
        assert_eq!(p.checksum(), Some(0xaa5b));
        assert_eq!(p.reserved1(), Some(0));
        assert_eq!(p.key(), Some(0x0001_0002));
        assert_eq!(p.sequence_number(), Some(3));
        assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert!(p.verify_checksum());
        let repr = Repr::parse(&p).unwrap();
        assert_eq!(repr.buffer_len(), 16);
        // Emitting the same representation over the same payload gives the same bytes.
        let mut out = FULL;
        out[4..8].fill(0x55);
        repr.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes);
    }

    #[test]
    fn key_without_checksum_sits_right_after_the_base_header() {
        let bytes = [0x20, 0x00, 0x08, 0x00, 0x12, 0x34, 0x56, 0x78, 0x45];
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.key(), Some(0x1234_5678));
        assert_eq!(p.sequence_number(), None);
        assert_eq!(p.payload(), &[0x45]);
        let bytes = [0x10, 0x00, 0x08, 0x00, 0, 0, 0, 9];
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!((p.key(), p.sequence_number()), (None, Some(9)));
    }

    #[test]
    fn refusals_follow_rfc_2784() {
        let parse = |b: &[u8]| Repr::parse(&Packet::new_unchecked(b));
        assert_eq!(parse(&[0x00, 0x00, 0x08]), Err(Error::Truncated));
        // Flags announce a key and a sequence number that are not there.
        assert_eq!(
            parse(&[0x30, 0x00, 0x08, 0x00, 0, 0, 0, 1]),
            Err(Error::Truncated)
        );
        assert_eq!(parse(&[0x00, 0x01, 0x88, 0x0b]), Err(Error::Version(1)));
        assert_eq!(parse(&[0x00, 0x07, 0x08, 0x00]), Err(Error::Version(7)));
        assert_eq!(parse(&[0x40, 0x00, 0x08, 0x00]), Err(Error::Routing));
        assert_eq!(
            parse(&[0x08, 0x00, 0x08, 0x00]),
            Err(Error::Reserved0(0x0800))
        );
        assert_eq!(
            parse(&[0x04, 0x00, 0x08, 0x00]),
            Err(Error::Reserved0(0x0400))
        );
        // Bits 6-12 are ignored on receipt.
        let ok = parse(&[0x03, 0xf8, 0x08, 0x00]).unwrap();
        assert_eq!(ok.protocol, Protocol::Ipv4);
        // A flipped payload bit breaks the checksum.
        let mut bad = full_with_checksum();
        bad[19] ^= 1;
        assert_eq!(parse(&bad), Err(Error::Checksum));
        // Unknown protocol types parse; the caller decides.
        assert_eq!(
            parse(&[0x00, 0x00, 0x12, 0x34]).unwrap().protocol,
            Protocol::Unknown(0x1234)
        );
    }

    #[test]
    fn protocol_numbers_round_trip() {
        for v in [0x0800u16, 0x86dd, 0x0806, 0x6558, 0x8847, 0x88be, 0x1234] {
            assert_eq!(u16::from(Protocol::from(v)), v);
        }
        assert_eq!(Protocol::Unknown(0x1234).to_string(), "EtherType 0x1234");
    }

    proptest::proptest! {
        /// Whatever the bytes: no accessor panics after check_len, and parse never panics.
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let p = Packet::new_unchecked(&bytes[..]);
            let _ = Repr::parse(&p);
            if p.check_len().is_ok() {
                let _ = (p.checksum(), p.reserved1(), p.key(), p.sequence_number());
                let _ = (p.version(), p.reserved0(), p.protocol(), p.verify_checksum());
                proptest::prop_assert_eq!(p.payload().len(), bytes.len() - p.header_len());
            }
        }

        /// parse(emit(repr)) == repr, for every combination of optional fields and any payload.
        #[test]
        fn emit_then_parse_is_identity(
            protocol in proptest::num::u16::ANY,
            checksum in proptest::bool::ANY,
            key in proptest::option::of(proptest::num::u32::ANY),
            sequence_number in proptest::option::of(proptest::num::u32::ANY),
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..80),
        ) {
            let repr = Repr { protocol: Protocol::from(protocol), checksum, key, sequence_number };
            let mut buf = vec![0xa5u8; repr.buffer_len()];
            buf.extend_from_slice(&payload);
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            let p = Packet::new_checked(&buf[..]).unwrap();
            proptest::prop_assert_eq!(Repr::parse(&p), Ok(repr));
            proptest::prop_assert_eq!(p.payload(), &payload[..]);
        }
    }
}
