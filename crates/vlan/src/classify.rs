//! The trunk's decisions, without I/O: which VLAN interface a frame from the trunk belongs to
//! (or why none), and whether a frame from a VLAN interface may go onto the trunk. The device's
//! threads call these per frame; the fuzzer calls them with any bytes.
//!
//! ```text
//!  frame from the trunk (tag taken off by the kernel: `stripped`; or still inline)
//!    │
//!    ├─ shorter than an Ethernet header (or an inline tag)      ─► Drop(Malformed)
//!    ├─ tag protocol not 0x8100 (802.1ad 0x88a8, 0x9100, 0x9200) ─► Drop(WrongTpid)
//!    ├─ no tag at all                                           ─► Drop(Untagged)
//!    ├─ VID 0 (priority tag only) or 4095 (reserved)            ─► Drop(ReservedVid)
//!    ├─ VID no interface has                                    ─► Drop(UnknownVid)
//!    ├─ untagged frame bigger than the interface's MTU + 14     ─► Drop(Oversize)
//!    ├─ a second tag inside                                     ─► Drop(Stacked)
//!    └─ Deliver { vif, untag_inline }
//! ```
//!
//! A trunk carries only tagged frames of the VLANs it was given: there is no native (untagged)
//! VLAN, as on a Direct Connect connection, where every virtual interface has its own VLAN and
//! a frame with another VLAN ID, or none, reaches no interface: a VLAN mismatch means no BGP.
//!
//! What it does not do: learn MAC addresses (each VLAN is a point-to-point link between two
//! routers, so every frame of a VLAN goes to its one interface), look at priorities, or count
//! (the device counts what these functions decide).

use crate::wire::ethernet::{self, EtherType, Frame};
use crate::wire::vlan::{self, TAG_LEN, VlanId};

/// What the receive path knows about a tag the kernel took off the frame (packet sockets report
/// it beside the frame, `PACKET_AUXDATA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrippedTag {
    /// The tag's TPID (0x8100 when the kernel does not say).
    pub tpid: u16,
    /// Tag control information.
    pub tci: u16,
}

/// Why a frame from the trunk reaches no VLAN interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// Shorter than an Ethernet header, or an inline tag cut short.
    Malformed,
    /// No tag.
    Untagged,
    /// A tag whose protocol is not 802.1Q's 0x8100 (the TPID).
    WrongTpid(u16),
    /// VID 0 (a priority-tagged frame: it belongs to the native VLAN, which a trunk here does
    /// not have) or 4095 (reserved).
    ReservedVid(u16),
    /// A VID that no interface of this trunk has.
    UnknownVid(u16),
    /// Bigger than interface `vif`'s MTU allows (a peer with a larger MTU; a port drops giants).
    Oversize {
        /// The interface the VID names.
        vif: usize,
    },
    /// A second tag inside the first (QinQ); a VLAN interface carries untagged frames.
    Stacked {
        /// The interface the outer VID names.
        vif: usize,
    },
}

/// What to do with a frame from the trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Hand the frame to interface `vif`: as it is when the kernel took the tag off already,
    /// after [`vlan::remove_tag`] when `untag_inline`.
    Deliver {
        /// Index of the interface in the [`VlanTable`].
        vif: usize,
        /// The tag is still in the frame.
        untag_inline: bool,
    },
    /// Count and drop.
    Drop(Drop),
}

/// Why a frame from a VLAN interface does not go onto the trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxDrop {
    /// Shorter than an Ethernet header.
    Malformed,
    /// Already tagged (the interface is an access port of its VLAN).
    Tagged,
    /// Payload larger than the interface's MTU.
    Oversize,
}

/// One VLAN interface of a trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Its VLAN.
    pub vid: VlanId,
    /// Its MTU: the largest payload of an untagged frame.
    pub mtu: u32,
}

/// A trunk's VLANs: VID to interface index in one array lookup.
#[derive(Clone, PartialEq, Eq)]
pub struct VlanTable {
    /// 0: no interface; n: `entries[n - 1]`.
    index: Box<[u16; 4096]>,
    entries: Vec<Entry>,
}

impl core::fmt::Debug for VlanTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VlanTable")
            .field("entries", &self.entries)
            .finish()
    }
}

impl Default for VlanTable {
    fn default() -> VlanTable {
        VlanTable::new()
    }
}

/// The VID is already in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("VLAN {0} is already on this trunk")]
pub struct DuplicateVid(pub VlanId);

impl VlanTable {
    /// No VLANs.
    pub fn new() -> VlanTable {
        VlanTable {
            index: Box::new([0; 4096]),
            entries: Vec::new(),
        }
    }

    /// Adds a VLAN interface; returns its index (interfaces are numbered in insertion order).
    pub fn insert(&mut self, vid: VlanId, mtu: u32) -> Result<usize, DuplicateVid> {
        let slot = &mut self.index[usize::from(vid.get())];
        if *slot != 0 {
            return Err(DuplicateVid(vid));
        }
        self.entries.push(Entry { vid, mtu });
        // At most 4094 entries: the count fits u16.
        *slot = self.entries.len() as u16;
        Ok(self.entries.len() - 1)
    }

    /// The interface of a VID (any 12-bit value; 0 and 4095 never have one).
    pub fn lookup(&self, vid: u16) -> Option<usize> {
        match self.index.get(usize::from(vid)) {
            Some(&n) if n > 0 => Some(usize::from(n) - 1),
            _ => None,
        }
    }

    /// The interfaces, by index.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Decides where a frame from the trunk goes. `frame` is what was read (possibly cut short
    /// by the receive buffer), `wire_len` its length on arrival, `stripped` the tag the kernel
    /// took off it, if it did.
    pub fn classify_rx(
        &self,
        frame: &[u8],
        wire_len: usize,
        stripped: Option<StrippedTag>,
    ) -> Verdict {
        let Ok(eth) = Frame::new_checked(frame) else {
            return Verdict::Drop(Drop::Malformed);
        };
        let (tci, inner, untagged_len, inline) = match stripped {
            Some(tag) => {
                if tag.tpid != vlan::TPID {
                    return Verdict::Drop(Drop::WrongTpid(tag.tpid));
                }
                (tag.tci, eth.ethertype(), wire_len, false)
            }
            None => match eth.ethertype() {
                EtherType::Vlan => {
                    let Ok(tag) = vlan::Packet::new_checked(eth.payload()) else {
                        return Verdict::Drop(Drop::Malformed);
                    };
                    (
                        tag.tci(),
                        tag.ethertype(),
                        wire_len.saturating_sub(TAG_LEN),
                        true,
                    )
                }
                t if t.is_tag_protocol() => return Verdict::Drop(Drop::WrongTpid(u16::from(t))),
                _ => return Verdict::Drop(Drop::Untagged),
            },
        };
        let vid = tci & 0x0fff;
        if vid == 0 || vid == 0x0fff {
            return Verdict::Drop(Drop::ReservedVid(vid));
        }
        let Some(vif) = self.lookup(vid) else {
            return Verdict::Drop(Drop::UnknownVid(vid));
        };
        let mtu = self.entries[vif].mtu as usize;
        if untagged_len > mtu + ethernet::HEADER_LEN {
            return Verdict::Drop(Drop::Oversize { vif });
        }
        if inner.is_tag_protocol() {
            return Verdict::Drop(Drop::Stacked { vif });
        }
        Verdict::Deliver {
            vif,
            untag_inline: inline,
        }
    }
}

/// Whether a frame read from a VLAN interface of MTU `mtu` may be tagged onto the trunk.
pub fn check_tx(frame: &[u8], mtu: u32) -> Result<(), TxDrop> {
    let Ok(eth) = Frame::new_checked(frame) else {
        return Err(TxDrop::Malformed);
    };
    if eth.ethertype().is_tag_protocol() {
        return Err(TxDrop::Tagged);
    }
    if eth.payload().len() > mtu as usize {
        return Err(TxDrop::Oversize);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> VlanTable {
        let mut t = VlanTable::new();
        assert_eq!(t.insert(VlanId::new(100).unwrap(), 1500), Ok(0));
        assert_eq!(t.insert(VlanId::new(200).unwrap(), 8500), Ok(1));
        t
    }

    /// An untagged frame of `payload` octets and EtherType `ethertype`.
    fn untagged(ethertype: u16, payload: usize) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.resize(14 + payload, 0);
        f
    }

    fn tagged(tpid: u16, tci: u16, ethertype: u16, payload: usize) -> Vec<u8> {
        let mut f = untagged(tpid, 0);
        f.extend_from_slice(&tci.to_be_bytes());
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.resize(18 + payload, 0);
        f
    }

    fn stripped(tci: u16) -> Option<StrippedTag> {
        Some(StrippedTag { tpid: 0x8100, tci })
    }

    #[test]
    fn the_table_maps_vids_and_refuses_duplicates() {
        let mut t = table();
        assert_eq!(t.lookup(100), Some(0));
        assert_eq!(t.lookup(200), Some(1));
        assert_eq!(
            (t.lookup(0), t.lookup(101), t.lookup(4095)),
            (None, None, None)
        );
        assert_eq!(t.lookup(9999), None);
        let v = VlanId::new(200).unwrap();
        assert_eq!(t.insert(v, 1500), Err(DuplicateVid(v)));
        assert_eq!(t.entries().len(), 2);
    }

    #[test]
    fn frames_with_a_stripped_tag_go_to_their_vlan() {
        let t = table();
        let f = untagged(0x0800, 100);
        // PCP and DEI do not matter.
        for tci in [100, 0xb064] {
            assert_eq!(
                t.classify_rx(&f, f.len(), stripped(tci)),
                Verdict::Deliver {
                    vif: 0,
                    untag_inline: false
                }
            );
        }
        assert_eq!(
            t.classify_rx(&f, f.len(), stripped(200)),
            Verdict::Deliver {
                vif: 1,
                untag_inline: false
            }
        );
    }

    #[test]
    fn frames_with_an_inline_tag_go_to_their_vlan_too() {
        let t = table();
        let f = tagged(0x8100, 200, 0x86dd, 100);
        assert_eq!(
            t.classify_rx(&f, f.len(), None),
            Verdict::Deliver {
                vif: 1,
                untag_inline: true
            }
        );
    }

    #[test]
    fn every_drop_has_its_reason() {
        let t = table();
        let plain = untagged(0x0800, 46);
        let drop = |f: &[u8], s| match t.classify_rx(f, f.len(), s) {
            Verdict::Drop(d) => d,
            v => panic!("{v:?}"),
        };
        assert_eq!(drop(&plain[..13], None), Drop::Malformed);
        assert_eq!(drop(&plain[..13], stripped(100)), Drop::Malformed);
        assert_eq!(
            drop(&tagged(0x8100, 100, 0x0800, 0)[..17], None),
            Drop::Malformed
        );
        assert_eq!(drop(&plain, None), Drop::Untagged);
        assert_eq!(drop(&untagged(0x0806, 28), None), Drop::Untagged);
        assert_eq!(
            drop(
                &plain,
                Some(StrippedTag {
                    tpid: 0x88a8,
                    tci: 100
                })
            ),
            Drop::WrongTpid(0x88a8)
        );
        assert_eq!(
            drop(&tagged(0x9100, 100, 0x0800, 46), None),
            Drop::WrongTpid(0x9100)
        );
        assert_eq!(
            drop(&tagged(0x88a8, 100, 0x0800, 46), None),
            Drop::WrongTpid(0x88a8)
        );
        assert_eq!(drop(&plain, stripped(0xe000)), Drop::ReservedVid(0));
        assert_eq!(drop(&plain, stripped(0x0fff)), Drop::ReservedVid(4095));
        assert_eq!(drop(&plain, stripped(101)), Drop::UnknownVid(101));
        assert_eq!(
            drop(&tagged(0x8100, 300, 0x0800, 46), None),
            Drop::UnknownVid(300)
        );
        assert_eq!(
            drop(&untagged(0x8100, 46), stripped(100)),
            Drop::Stacked { vif: 0 }
        );
        assert_eq!(
            drop(&tagged(0x8100, 200, 0x88a8, 46), None),
            Drop::Stacked { vif: 1 }
        );
    }

    #[test]
    fn the_mtu_bounds_the_untagged_payload() {
        let t = table();
        let full = untagged(0x0800, 1500);
        let over = untagged(0x0800, 1501);
        assert!(matches!(
            t.classify_rx(&full, full.len(), stripped(100)),
            Verdict::Deliver { vif: 0, .. }
        ));
        assert_eq!(
            t.classify_rx(&over, over.len(), stripped(100)),
            Verdict::Drop(Drop::Oversize { vif: 0 })
        );
        // Inline: the tag's 4 octets do not count against the MTU.
        let tagged_full = tagged(0x8100, 100, 0x0800, 1500);
        assert!(matches!(
            t.classify_rx(&tagged_full, tagged_full.len(), None),
            Verdict::Deliver { vif: 0, .. }
        ));
        // Read cut short by the buffer: the length on arrival decides.
        assert_eq!(
            t.classify_rx(&full[..64], 9000, stripped(100)),
            Verdict::Drop(Drop::Oversize { vif: 0 })
        );
        let jumbo = untagged(0x0800, 8500);
        assert!(matches!(
            t.classify_rx(&jumbo, jumbo.len(), stripped(200)),
            Verdict::Deliver { vif: 1, .. }
        ));
    }

    #[test]
    fn tx_takes_untagged_frames_within_the_mtu() {
        assert_eq!(check_tx(&untagged(0x0800, 1500), 1500), Ok(()));
        assert_eq!(check_tx(&untagged(0x0806, 28), 1500), Ok(()));
        assert_eq!(
            check_tx(&untagged(0x0800, 1501), 1500),
            Err(TxDrop::Oversize)
        );
        assert_eq!(
            check_tx(&untagged(0x0800, 0)[..13], 1500),
            Err(TxDrop::Malformed)
        );
        for tpid in [0x8100, 0x88a8, 0x9100] {
            assert_eq!(check_tx(&untagged(tpid, 46), 1500), Err(TxDrop::Tagged));
        }
    }

    proptest::proptest! {
        /// Any bytes, any claimed length, any stripped tag: classification never panics, and
        /// what it delivers is a frame of a VLAN in the table that fits its MTU.
        #[test]
        fn classification_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            extra in 0usize..20000,
            tag in proptest::option::of((proptest::num::u16::ANY, proptest::num::u16::ANY)),
        ) {
            let t = table();
            let stripped = tag.map(|(tpid, tci)| StrippedTag { tpid, tci });
            if let Verdict::Deliver { vif, untag_inline } =
                t.classify_rx(&bytes, bytes.len() + extra, stripped)
            {
                proptest::prop_assert!(vif < 2);
                if untag_inline {
                    proptest::prop_assert!(vlan::remove_tag(&mut bytes.clone()).is_ok());
                }
            }
            let _ = check_tx(&bytes, 1500);
        }
    }
}
