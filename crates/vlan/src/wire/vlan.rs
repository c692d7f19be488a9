//! The IEEE 802.1Q tag (802.1Q-2018 §9.6, the C-tag) as a zero-copy view ([`Packet`]) and a
//! validated representation ([`Repr`]), its tag control information ([`Tci`]: priority, drop
//! eligibility, VLAN identifier), and moving a tag into or out of a frame in place
//! ([`insert_tag`], [`remove_tag`]).
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |     Destination address (6), source address (6) ...           |  ethernet::Frame
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |         TPID = 0x8100         | PCP |D|          VID          |  the 4-octet tag
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |  EtherType of the payload     |  payload ...                     vlan::Packet: TCI onwards
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  The TPID stands where an untagged frame has its EtherType, so a tagged frame is an Ethernet
//!  II frame of type 0x8100 whose payload is [`Packet`]: TCI, the real EtherType, the payload.
//!  PCP: priority code point (0-7). D: drop eligible indicator (DEI, once CFI).
//!  VID 0: the tag carries a priority only (a "priority-tagged" frame, no VLAN);
//!  VID 4095 (0xFFF): reserved, never sent in a tag (802.1Q Table 9-2); a receiver discards it.
//! ```
//!
//! What it does not do: the 802.1ad S-tag (0x88A8) or stacked tags (a [`Repr`] is one C-tag;
//! an S-tag is only recognised, by [`super::ethernet::EtherType::is_tag_protocol`]), or pad a
//! frame to 64 octets after tagging (packet sockets and veths do not need it; a NIC pads).

use core::fmt;

use super::ethernet::{self, EtherType};
use super::{Error, Result};

mod field {
    pub type Field = core::ops::Range<usize>;
    /// Tag control information: PCP, DEI, VID.
    pub const TCI: Field = 0..2;
    /// The EtherType of the payload.
    pub const ETHERTYPE: Field = 2..4;
    pub const PAYLOAD: usize = 4;
}

/// The 802.1Q tag protocol identifier.
pub const TPID: u16 = 0x8100;
/// Octets a tag adds to a frame (TPID and TCI).
pub const TAG_LEN: usize = 4;
/// Octets of [`Packet`]'s header: TCI and the payload's EtherType.
pub const HEADER_LEN: usize = field::PAYLOAD;
/// An Ethernet header with one tag: 18 octets.
pub const TAGGED_HEADER_LEN: usize = ethernet::HEADER_LEN + TAG_LEN;

const PCP_SHIFT: u16 = 13;
const DEI_BIT: u16 = 0x1000;
const VID_MASK: u16 = 0x0fff;

/// A VLAN identifier that can name a VLAN: 1 to 4094.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VlanId(u16);

impl VlanId {
    /// The lowest VLAN ID.
    pub const MIN: VlanId = VlanId(1);
    /// The highest VLAN ID (4095 is reserved).
    pub const MAX: VlanId = VlanId(4094);

    /// Checks the range 1-4094.
    pub const fn new(vid: u16) -> Result<VlanId> {
        if vid >= 1 && vid <= 4094 {
            Ok(VlanId(vid))
        } else {
            Err(Error::Vid(vid))
        }
    }

    /// The number.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl TryFrom<u16> for VlanId {
    type Error = Error;
    fn try_from(v: u16) -> Result<VlanId> {
        VlanId::new(v)
    }
}

impl From<VlanId> for u16 {
    fn from(v: VlanId) -> u16 {
        v.0
    }
}

/// A priority code point (IEEE 802.1Q §6.9.3): 0-7; 0 is best effort, 1 the lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pcp(u8);

impl Pcp {
    /// Best effort (0), the default.
    pub const BEST_EFFORT: Pcp = Pcp(0);

    /// Checks the range 0-7.
    pub const fn new(pcp: u8) -> Result<Pcp> {
        if pcp <= 7 {
            Ok(Pcp(pcp))
        } else {
            Err(Error::Pcp(pcp))
        }
    }

    /// The number.
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// Tag control information, validated: what a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tci {
    /// Priority code point.
    pub pcp: Pcp,
    /// Drop eligible indicator.
    pub dei: bool,
    /// The VLAN, or `None` for the null VID 0 (a priority-tagged frame).
    pub vid: Option<VlanId>,
}

impl Tci {
    /// A tag for `vid` with best-effort priority and DEI clear.
    pub const fn new(vid: VlanId) -> Tci {
        Tci {
            pcp: Pcp::BEST_EFFORT,
            dei: false,
            vid: Some(vid),
        }
    }

    /// Parses the 16 bits; VID 4095 is refused ([`Error::Vid`]).
    pub fn parse(tci: u16) -> Result<Tci> {
        let vid = tci & VID_MASK;
        Ok(Tci {
            pcp: Pcp((tci >> PCP_SHIFT) as u8),
            dei: tci & DEI_BIT != 0,
            vid: match vid {
                0 => None,
                v => Some(VlanId::new(v)?),
            },
        })
    }

    /// The 16 bits.
    pub fn to_u16(self) -> u16 {
        (u16::from(self.pcp.0) << PCP_SHIFT)
            | if self.dei { DEI_BIT } else { 0 }
            | self.vid.map_or(0, VlanId::get)
    }
}

/// A zero-copy view of what follows the TPID of a tagged frame (the payload of an Ethernet
/// frame of type 0x8100): TCI, the payload's EtherType, the payload. After
/// [`Packet::check_len`] no accessor panics; the setters need [`HEADER_LEN`] octets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks that it holds TCI and EtherType.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the 4 octets of TCI and EtherType. After this succeeds no
    /// accessor panics.
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

    fn u16_at(&self, f: field::Field) -> u16 {
        match self.buffer.as_ref().get(f) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]),
            None => 0,
        }
    }

    /// The 16 bits of tag control information.
    pub fn tci(&self) -> u16 {
        self.u16_at(field::TCI)
    }

    /// The priority code point (0-7).
    pub fn pcp(&self) -> u8 {
        (self.tci() >> PCP_SHIFT) as u8
    }

    /// The drop eligible indicator.
    pub fn dei(&self) -> bool {
        self.tci() & DEI_BIT != 0
    }

    /// The VLAN identifier as it stands, 0 to 4095.
    pub fn vid(&self) -> u16 {
        self.tci() & VID_MASK
    }

    /// The payload's EtherType.
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(self.u16_at(field::ETHERTYPE))
    }

    /// Everything after TCI and EtherType.
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes the tag control information.
    pub fn set_tci(&mut self, tci: u16) {
        self.buffer.as_mut()[field::TCI].copy_from_slice(&tci.to_be_bytes());
    }

    /// Writes the payload's EtherType.
    pub fn set_ethertype(&mut self, t: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(t).to_be_bytes());
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A validated 802.1Q tag with the EtherType it announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Priority, drop eligibility and VLAN.
    pub tci: Tci,
    /// The payload's EtherType.
    pub ethertype: EtherType,
}

impl Repr {
    /// Parses and validates: length, and a VID other than the reserved 4095. VID 0 is valid
    /// (priority-tagged, [`Tci::vid`] `None`); whether a VLAN is carried is the caller's choice.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.check_len()?;
        Ok(Repr {
            tci: Tci::parse(packet.tci())?,
            ethertype: packet.ethertype(),
        })
    }

    /// Octets this representation emits: 4.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes TCI and EtherType at the start of `packet`'s buffer.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`HEADER_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_tci(self.tci.to_u16());
        packet.set_ethertype(self.ethertype);
    }
}

/// Tags the untagged frame at `buf[at..]` in place: the two addresses move 4 octets to the
/// front, into room the caller left, and the TPID and `tci` go between them and the EtherType.
/// Returns where the tagged frame now starts (`at - 4`); it ends where the untagged one did.
///
/// Refuses a frame shorter than an Ethernet header ([`Error::Truncated`]).
///
/// # Panics
///
/// If `at` < [`TAG_LEN`] (no room in front: the caller's buffer layout is wrong).
pub fn insert_tag(buf: &mut [u8], at: usize, tci: Tci) -> Result<usize> {
    assert!(
        at >= TAG_LEN,
        "no room for an 802.1Q tag in front of the frame"
    );
    if buf.len() < at + ethernet::HEADER_LEN {
        return Err(Error::Truncated);
    }
    let start = at - TAG_LEN;
    buf.copy_within(at..at + 12, start);
    buf[start + 12..start + 14].copy_from_slice(&TPID.to_be_bytes());
    buf[start + 14..start + 16].copy_from_slice(&tci.to_u16().to_be_bytes());
    Ok(start)
}

/// Untags the 802.1Q-tagged frame that fills `buf` in place: the two addresses move 4 octets
/// back over the tag. Returns the tag and where the untagged frame now starts (4).
///
/// Refuses a frame shorter than a tagged header ([`Error::Truncated`]), one whose type field is
/// not 0x8100 ([`Error::Tpid`]), and VID 4095 ([`Error::Vid`]); `buf` is unchanged then.
pub fn remove_tag(buf: &mut [u8]) -> Result<(Repr, usize)> {
    let frame = ethernet::Frame::new_checked(&buf[..])?;
    let tpid = u16::from(frame.ethertype());
    if tpid != TPID {
        return Err(Error::Tpid(tpid));
    }
    let repr = Repr::parse(&Packet::new_unchecked(frame.payload()))?;
    buf.copy_within(0..12, TAG_LEN);
    Ok((repr, TAG_LEN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ethernet::{Address, Frame};

    /// A tagged ICMP echo request's first 22 octets as captured on an 802.1Q trunk
    /// (VLAN 100, PCP 5, DEI 0): TCI 0xa064, inner type IPv4, start of the IPv4 header.
    const TAGGED: [u8; 22] = [
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x81, 0x00, 0xa0, 0x64, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x54,
    ];

    #[test]
    fn a_tagged_frame_decodes_as_ethernet_then_802_1q() {
        let eth = Frame::new_checked(&TAGGED[..]).unwrap();
        assert_eq!(eth.ethertype(), EtherType::Vlan);
        let tag = Packet::new_checked(eth.payload()).unwrap();
        assert_eq!((tag.pcp(), tag.dei(), tag.vid()), (5, false, 100));
        assert_eq!(tag.ethertype(), EtherType::Ipv4);
        assert_eq!(tag.payload(), &[0x45, 0x00, 0x00, 0x54]);
        let repr = Repr::parse(&tag).unwrap();
        assert_eq!(
            repr,
            Repr {
                tci: Tci {
                    pcp: Pcp::new(5).unwrap(),
                    dei: false,
                    vid: Some(VlanId::new(100).unwrap()),
                },
                ethertype: EtherType::Ipv4,
            }
        );
        let mut out = [0u8; 4];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, TAGGED[14..18]);
    }

    #[test]
    fn vid_0_is_a_priority_tag_and_4095_is_refused() {
        let t = Tci::parse(0xe000).unwrap();
        assert_eq!((t.pcp.get(), t.dei, t.vid), (7, false, None));
        assert_eq!(Tci::parse(0x1fff), Err(Error::Vid(4095)));
        assert_eq!(Tci::parse(0x1001).unwrap().vid.unwrap().get(), 1);
        assert!(Tci::parse(0x1001).unwrap().dei);
        assert_eq!(VlanId::new(0), Err(Error::Vid(0)));
        assert_eq!(VlanId::new(4095), Err(Error::Vid(4095)));
        assert_eq!(VlanId::new(4096), Err(Error::Vid(4096)));
        assert_eq!(VlanId::new(4094), Ok(VlanId::MAX));
        assert_eq!(Pcp::new(8), Err(Error::Pcp(8)));
        let p = Packet::new_unchecked(&[0x0f, 0xff, 0x08, 0x00][..]);
        assert_eq!(Repr::parse(&p), Err(Error::Vid(4095)));
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&[0x00, 0x64, 0x08][..])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn insert_then_remove_gives_the_frame_back() {
        // The untagged frame, with 4 octets of room in front.
        let mut untagged = vec![0xeeu8; TAG_LEN];
        untagged.extend_from_slice(&TAGGED[..12]);
        untagged.extend_from_slice(&TAGGED[16..]);
        let original = untagged[TAG_LEN..].to_vec();
        let tci = Tci {
            pcp: Pcp::new(5).unwrap(),
            dei: false,
            vid: Some(VlanId::new(100).unwrap()),
        };
        let start = insert_tag(&mut untagged, TAG_LEN, tci).unwrap();
        assert_eq!(start, 0);
        assert_eq!(untagged, TAGGED, "the tag went between addresses and type");
        let (repr, at) = remove_tag(&mut untagged).unwrap();
        assert_eq!((repr.tci, repr.ethertype), (tci, EtherType::Ipv4));
        assert_eq!(&untagged[at..], &original[..]);
        let f = Frame::new_checked(&untagged[at..]).unwrap();
        assert_eq!(f.src_addr(), Address([0x02, 0, 0, 0, 0, 0x01]));
    }

    #[test]
    fn tag_moves_refuse_what_is_not_there() {
        let mut short = [0u8; TAG_LEN + 13];
        assert_eq!(
            insert_tag(&mut short, TAG_LEN, Tci::new(VlanId::MIN)),
            Err(Error::Truncated)
        );
        let mut untagged = TAGGED;
        untagged[12..14].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(remove_tag(&mut untagged), Err(Error::Tpid(0x0800)));
        let mut qinq = TAGGED;
        qinq[12..14].copy_from_slice(&[0x88, 0xa8]);
        assert_eq!(remove_tag(&mut qinq), Err(Error::Tpid(0x88a8)));
        assert_eq!(
            remove_tag(&mut TAGGED[..17].to_vec()),
            Err(Error::Truncated)
        );
        let mut reserved = TAGGED;
        reserved[14..16].copy_from_slice(&[0x0f, 0xff]);
        assert_eq!(remove_tag(&mut reserved), Err(Error::Vid(4095)));
        assert_eq!(reserved, {
            let mut r = TAGGED;
            r[14..16].copy_from_slice(&[0x0f, 0xff]);
            r
        });
    }

    fn tci_strategy() -> impl proptest::strategy::Strategy<Value = Tci> {
        use proptest::strategy::Strategy;
        (0u8..8, proptest::bool::ANY, 0u16..4095).prop_map(|(pcp, dei, vid)| Tci {
            pcp: Pcp::new(pcp).unwrap(),
            dei,
            vid: VlanId::new(vid).ok(),
        })
    }

    proptest::proptest! {
        /// Whatever the bytes: no accessor panics, parse and remove_tag never panic.
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40)) {
            let p = Packet::new_unchecked(&bytes[..]);
            let _ = Repr::parse(&p);
            let _ = (p.tci(), p.pcp(), p.dei(), p.vid(), p.ethertype(), p.payload());
            proptest::prop_assert!(p.pcp() <= 7 && p.vid() <= 4095);
            let _ = remove_tag(&mut bytes.clone());
        }

        /// parse(emit(repr)) == repr, and insert then remove is the identity on any frame.
        #[test]
        fn emit_then_parse_is_identity(
            tci in tci_strategy(),
            ethertype in proptest::num::u16::ANY,
            frame in proptest::collection::vec(proptest::num::u8::ANY, 14..80),
        ) {
            let repr = Repr { tci, ethertype: EtherType::from(ethertype) };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            proptest::prop_assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()), Ok(repr));
            proptest::prop_assert_eq!(Tci::parse(tci.to_u16()), Ok(tci));

            let mut room = vec![0u8; TAG_LEN];
            room.extend_from_slice(&frame);
            let start = insert_tag(&mut room, TAG_LEN, tci).unwrap();
            let (got, at) = remove_tag(&mut room[start..]).unwrap();
            proptest::prop_assert_eq!(got.tci, tci);
            proptest::prop_assert_eq!(u16::from(got.ethertype), u16::from_be_bytes([frame[12], frame[13]]));
            proptest::prop_assert_eq!(&room[start + at..], &frame[..]);
        }
    }
}
