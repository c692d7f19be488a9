//! The Ethernet II header (IEEE 802.3 §3.2 with a type field, RFC 894 for IPv4) as a zero-copy
//! view ([`Frame`]) and a representation ([`Repr`]), with the EtherTypes this crate names.
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                 Destination address (6 octets)                |
//!  +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                               |                                |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                                +
//!  |                   Source address (6 octets)                    |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |           EtherType           |  payload ...
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  No preamble and no frame check sequence: what TAP devices and packet sockets carry.
//!  With an 802.1Q tag the EtherType field holds the TPID 0x8100 (see `vlan`).
//! ```
//!
//! What it does not do: IEEE 802.3 length/LLC frames (a type value below 0x0600 is a length; it
//! reads as [`EtherType::Unknown`]), padding, or the frame check sequence.

use core::fmt;

use super::{Error, Result};

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// Octets of the Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD;

/// A 48-bit MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(pub [u8; 6]);

impl Address {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: Address = Address([0xff; 6]);

    /// The address from the first six octets of `bytes`.
    ///
    /// # Panics
    ///
    /// If `bytes` is shorter than six octets.
    pub fn from_bytes(bytes: &[u8]) -> Address {
        let mut a = [0u8; 6];
        a.copy_from_slice(&bytes[..6]);
        Address(a)
    }

    /// The six octets.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// All ones.
    pub fn is_broadcast(&self) -> bool {
        *self == Address::BROADCAST
    }

    /// The group bit (I/G) is set: multicast or broadcast.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Neither multicast nor broadcast.
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// The U/L bit is set: a locally administered address (as the kernel gives TAP devices).
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// An EtherType (IEEE 802 numbers): the protocol of the payload, or a tag protocol identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// IPv4, 0x0800.
    Ipv4,
    /// ARP, 0x0806.
    Arp,
    /// IEEE 802.1Q customer VLAN tag (C-tag) TPID, 0x8100.
    Vlan,
    /// IPv6, 0x86DD.
    Ipv6,
    /// IEEE 802.1ad service VLAN tag (S-tag, "QinQ") TPID, 0x88A8.
    ServiceVlan,
    /// Anything else, including the pre-standard QinQ TPIDs 0x9100 and 0x9200 (see
    /// [`EtherType::is_tag_protocol`]) and 802.3 length values below 0x0600.
    Unknown(u16),
}

impl EtherType {
    /// Pre-standard QinQ TPID used by some vendors for outer tags.
    pub const QINQ_9100: u16 = 0x9100;
    /// Another pre-standard QinQ TPID.
    pub const QINQ_9200: u16 = 0x9200;

    /// Whether the value announces a VLAN tag of some kind (802.1Q, 802.1ad, or the
    /// pre-standard 0x9100 / 0x9200): a frame that carries one is tagged, whether or not it is
    /// the tag a receiver expects.
    pub fn is_tag_protocol(self) -> bool {
        matches!(self, EtherType::Vlan | EtherType::ServiceVlan)
            || matches!(
                self,
                EtherType::Unknown(EtherType::QINQ_9100 | EtherType::QINQ_9200)
            )
    }
}

impl From<u16> for EtherType {
    fn from(v: u16) -> EtherType {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x8100 => EtherType::Vlan,
            0x86dd => EtherType::Ipv6,
            0x88a8 => EtherType::ServiceVlan,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(t: EtherType) -> u16 {
        match t {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Vlan => 0x8100,
            EtherType::Ipv6 => 0x86dd,
            EtherType::ServiceVlan => 0x88a8,
            EtherType::Unknown(v) => v,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => f.write_str("IPv4"),
            EtherType::Arp => f.write_str("ARP"),
            EtherType::Vlan => f.write_str("802.1Q"),
            EtherType::Ipv6 => f.write_str("IPv6"),
            EtherType::ServiceVlan => f.write_str("802.1ad"),
            EtherType::Unknown(v) => write!(f, "EtherType {v:#06x}"),
        }
    }
}

/// A zero-copy view of an Ethernet II frame. After [`Frame::check_len`] (or
/// [`Frame::new_checked`]) no accessor panics; the setters need a buffer of at least
/// [`HEADER_LEN`] octets, as smoltcp's do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer and checks that it holds the header.
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Frame::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds the 14-octet header. After this succeeds no accessor
    /// panics.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn address(&self, f: field::Field) -> Address {
        match self.buffer.as_ref().get(f) {
            Some(b) => Address::from_bytes(b),
            None => Address::default(),
        }
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Address {
        self.address(field::DESTINATION)
    }

    /// The source address.
    pub fn src_addr(&self) -> Address {
        self.address(field::SOURCE)
    }

    /// The EtherType field (a TPID when the frame is tagged).
    pub fn ethertype(&self) -> EtherType {
        match self.buffer.as_ref().get(field::ETHERTYPE) {
            Some(t) => EtherType::from(u16::from_be_bytes([t[0], t[1]])),
            None => EtherType::Unknown(0),
        }
    }

    /// Everything after the header.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Writes the destination address.
    pub fn set_dst_addr(&mut self, a: Address) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&a.0);
    }

    /// Writes the source address.
    pub fn set_src_addr(&mut self, a: Address) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&a.0);
    }

    /// Writes the EtherType.
    pub fn set_ethertype(&mut self, t: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(t).to_be_bytes());
    }

    /// Everything after the header, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// An Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Address,
    /// Destination address.
    pub dst_addr: Address,
    /// EtherType (the TPID for a tagged frame).
    pub ethertype: EtherType,
}

impl Repr {
    /// Parses the header. Ethernet II has nothing else to validate: any addresses, any type.
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        frame.check_len()?;
        Ok(Repr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Octets of the header: 14.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header at the start of `frame`'s buffer.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`HEADER_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ARP request as a Linux host sends it (broadcast, EtherType 0x0806), cut after the
    /// first four octets of the ARP payload.
    const ARP: [u8; 18] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00,
    ];

    #[test]
    fn a_header_decodes_and_emits_back_to_the_same_bytes() {
        let f = Frame::new_checked(&ARP[..]).unwrap();
        assert_eq!(f.dst_addr(), Address::BROADCAST);
        assert!(f.dst_addr().is_broadcast() && f.dst_addr().is_multicast());
        assert_eq!(f.src_addr().to_string(), "02:42:ac:11:00:02");
        assert!(f.src_addr().is_unicast() && f.src_addr().is_local());
        assert_eq!(f.ethertype(), EtherType::Arp);
        assert_eq!(f.payload(), &[0x00, 0x01, 0x08, 0x00]);
        let repr = Repr::parse(&f).unwrap();
        assert_eq!(repr.buffer_len(), 14);
        let mut out = [0u8; 18];
        out[14..].copy_from_slice(f.payload());
        repr.emit(&mut Frame::new_unchecked(&mut out[..]));
        assert_eq!(out, ARP);
    }

    #[test]
    fn short_buffers_are_refused_and_never_panic() {
        for n in 0..HEADER_LEN {
            let f = Frame::new_unchecked(&ARP[..n]);
            assert_eq!(f.check_len(), Err(Error::Truncated));
            assert_eq!(Repr::parse(&f), Err(Error::Truncated));
            let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.payload());
        }
        assert!(Frame::new_checked(&ARP[..14]).unwrap().payload().is_empty());
    }

    #[test]
    fn ethertypes_round_trip_and_tag_protocols_are_known() {
        for v in [
            0x0800u16, 0x0806, 0x8100, 0x86dd, 0x88a8, 0x9100, 0x9200, 0x05dc,
        ] {
            assert_eq!(u16::from(EtherType::from(v)), v);
        }
        let tags: Vec<u16> = [0x0800u16, 0x8100, 0x88a8, 0x9100, 0x9200, 0x86dd]
            .into_iter()
            .filter(|&v| EtherType::from(v).is_tag_protocol())
            .collect();
        assert_eq!(tags, [0x8100, 0x88a8, 0x9100, 0x9200]);
        assert_eq!(EtherType::Unknown(0x1234).to_string(), "EtherType 0x1234");
        assert_eq!(EtherType::Vlan.to_string(), "802.1Q");
    }

    proptest::proptest! {
        /// Whatever the bytes: no accessor panics, parse never panics.
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..32)) {
            let f = Frame::new_unchecked(&bytes[..]);
            let _ = Repr::parse(&f);
            let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.payload());
            if f.check_len().is_ok() {
                proptest::prop_assert_eq!(f.payload().len(), bytes.len() - HEADER_LEN);
            }
        }

        /// parse(emit(repr)) == repr.
        #[test]
        fn emit_then_parse_is_identity(
            src in proptest::array::uniform6(proptest::num::u8::ANY),
            dst in proptest::array::uniform6(proptest::num::u8::ANY),
            ethertype in proptest::num::u16::ANY,
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            let repr = Repr {
                src_addr: Address(src),
                dst_addr: Address(dst),
                ethertype: EtherType::from(ethertype),
            };
            let mut buf = vec![0u8; repr.buffer_len()];
            buf.extend_from_slice(&payload);
            repr.emit(&mut Frame::new_unchecked(&mut buf[..]));
            let f = Frame::new_checked(&buf[..]).unwrap();
            proptest::prop_assert_eq!(Repr::parse(&f), Ok(repr));
            proptest::prop_assert_eq!(f.payload(), &payload[..]);
        }
    }
}
