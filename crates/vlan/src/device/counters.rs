//! Counters of one VLAN trunk: frames read from the trunk and why those that reached no VLAN
//! were dropped ([`TrunkSnapshot`]), and per VLAN interface the frames each way and that VLAN's
//! drops ([`VifSnapshot`]). The data-plane threads bump them; `show` reads a
//! [`CountersSnapshot`] (serde-serializable, VLANs keyed by VID).
//!
//! Fields are relaxed atomics: each is exact on its own, a snapshot is not a consistent cut
//! across fields. Octets count untagged frames (Ethernet header and payload, no tag, no FCS).
//!
//! What it does not do: decide anything, or read clocks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::classify::{Drop, TxDrop};
use crate::wire::vlan::VlanId;

macro_rules! counters {
    ($(#[$ldoc:meta])* $live:ident, $(#[$sdoc:meta])* $snap:ident,
     { $($(#[$doc:meta])* $field:ident,)* }) => {
        $(#[$ldoc])*
        #[derive(Debug, Default)]
        pub struct $live {
            $($field: AtomicU64,)*
        }

        $(#[$sdoc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $snap {
            $($(#[$doc])* pub $field: u64,)*
        }

        impl $live {
            /// Reads every counter.
            pub fn snapshot(&self) -> $snap {
                $snap { $($field: self.$field.load(Relaxed),)* }
            }

            $(
                #[doc = concat!("Adds `n` to `", stringify!($field), "`.")]
                #[inline]
                pub fn $field(&self, n: u64) {
                    self.$field.fetch_add(n, Relaxed);
                }
            )*
        }
    };
}

counters!(
    /// Live counters of the trunk side (see the module docs).
    TrunkCounters,
    /// A copy of [`TrunkCounters`] at one moment.
    TrunkSnapshot,
    {
        /// Frames read from the trunk, whatever became of them.
        frames,
        /// Frames whose tag the kernel had taken off and reported beside the frame
        /// (`PACKET_AUXDATA`): every tagged frame on the kernels we run on.
        tags_in_auxdata,
        /// Frames whose 802.1Q tag was still in the frame (untagged here in userspace).
        tags_inline,
        /// Frames without a tag. Dropped: a trunk has no native VLAN.
        untagged,
        /// Frames tagged with another protocol than 802.1Q's 0x8100 (802.1ad 0x88a8, 0x9100,
        /// 0x9200). Dropped.
        wrong_tpid,
        /// Frames with VID 0 (priority tag only) or 4095 (reserved). Dropped.
        reserved_vid,
        /// Frames with a VID no VLAN interface of this trunk has: the other side of a VLAN
        /// mismatch. Dropped.
        unknown_vid,
        /// Frames shorter than an Ethernet header or an inline tag. Dropped.
        malformed,
    }
);

counters!(
    /// Live counters of one VLAN interface (see the module docs).
    VifCounters,
    /// A copy of [`VifCounters`] at one moment.
    VifSnapshot,
    {
        /// Frames from the trunk written to the interface.
        frames_in,
        /// Octets of those frames (untagged).
        bytes_in,
        /// Frames from the interface tagged and handed to the trunk.
        frames_out,
        /// Octets of those frames (before tagging).
        bytes_out,
        /// Frames from the trunk bigger than this interface's MTU allows (a peer with a larger
        /// MTU). Dropped, as a port drops giants.
        oversize_in,
        /// Frames from the trunk with a second tag inside this VLAN's. Dropped.
        stacked_in,
        /// Frames the interface refused (down, or a frame the kernel rejects).
        tap_write_errors,
        /// Frames from the interface shorter than an Ethernet header. Dropped.
        tap_malformed,
        /// Frames from the interface that were already tagged. Dropped.
        tap_tagged,
        /// Frames from the interface larger than its configured MTU. Dropped.
        tap_oversize,
        /// Frames the kernel refused to send on the trunk (trunk down, buffer full for too
        /// long, larger than the trunk's MTU allows).
        send_errors,
    }
);

/// Every counter of a trunk.
#[derive(Debug)]
pub struct Counters {
    /// The trunk side.
    pub trunk: TrunkCounters,
    /// One per VLAN interface, in the trunk's interface order.
    pub vifs: Vec<(VlanId, VifCounters)>,
    /// The VID of the last frame counted as `unknown_vid` (0: none yet), so a VLAN mismatch
    /// can be reported with both VLANs.
    last_unknown_vid: AtomicU64,
}

/// A copy of a trunk's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountersSnapshot {
    /// The trunk side.
    pub trunk: TrunkSnapshot,
    /// Per VLAN interface, by VID.
    pub vifs: BTreeMap<u16, VifSnapshot>,
    /// The VID of the last frame dropped as `unknown_vid`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_unknown_vid: Option<u16>,
}

impl Counters {
    /// Counters for interfaces of these VLANs, in this order.
    pub fn new(vids: impl IntoIterator<Item = VlanId>) -> Counters {
        Counters {
            trunk: TrunkCounters::default(),
            vifs: vids
                .into_iter()
                .map(|v| (v, VifCounters::default()))
                .collect(),
            last_unknown_vid: AtomicU64::new(0),
        }
    }

    /// Interface `vif`'s counters.
    pub fn vif(&self, vif: usize) -> &VifCounters {
        &self.vifs[vif].1
    }

    /// Counts a frame from the trunk that [`crate::classify`] dropped.
    pub fn rx_drop(&self, d: Drop) {
        match d {
            Drop::Malformed => self.trunk.malformed(1),
            Drop::Untagged => self.trunk.untagged(1),
            Drop::WrongTpid(_) => self.trunk.wrong_tpid(1),
            Drop::ReservedVid(_) => self.trunk.reserved_vid(1),
            Drop::UnknownVid(vid) => {
                self.trunk.unknown_vid(1);
                self.last_unknown_vid.store(u64::from(vid), Relaxed);
            }
            Drop::Oversize { vif } => self.vif(vif).oversize_in(1),
            Drop::Stacked { vif } => self.vif(vif).stacked_in(1),
        }
    }

    /// Counts a frame from interface `vif` that [`crate::classify::check_tx`] refused.
    pub fn tx_drop(&self, vif: usize, d: TxDrop) {
        let c = self.vif(vif);
        match d {
            TxDrop::Malformed => c.tap_malformed(1),
            TxDrop::Tagged => c.tap_tagged(1),
            TxDrop::Oversize => c.tap_oversize(1),
        }
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            trunk: self.trunk.snapshot(),
            vifs: self
                .vifs
                .iter()
                .map(|(v, c)| (v.get(), c.snapshot()))
                .collect(),
            last_unknown_vid: match self.last_unknown_vid.load(Relaxed) {
                0 => None,
                v => u16::try_from(v).ok(),
            },
        }
    }
}

impl TrunkSnapshot {
    /// Frames from the trunk dropped before any VLAN interface.
    pub fn drops(&self) -> u64 {
        self.untagged + self.wrong_tpid + self.reserved_vid + self.unknown_vid + self.malformed
    }
}

impl VifSnapshot {
    /// Frames of this VLAN from the trunk that did not reach the interface.
    pub fn rx_drops(&self) -> u64 {
        self.oversize_in + self.stacked_in + self.tap_write_errors
    }

    /// Frames from the interface that did not reach the trunk.
    pub fn tx_drops(&self) -> u64 {
        self.tap_malformed + self.tap_tagged + self.tap_oversize + self.send_errors
    }
}

impl CountersSnapshot {
    /// Every frame dropped, on the trunk side and in every VLAN, both ways.
    pub fn drops(&self) -> u64 {
        self.trunk.drops()
            + self
                .vifs
                .values()
                .map(|v| v.rx_drops() + v.tx_drops())
                .sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_reason_and_serializes_by_vid() {
        let c = Counters::new([VlanId::new(100).unwrap(), VlanId::new(200).unwrap()]);
        c.trunk.frames(4);
        c.rx_drop(Drop::UnknownVid(101));
        c.rx_drop(Drop::Oversize { vif: 1 });
        c.tx_drop(0, TxDrop::Tagged);
        c.vif(0).frames_in(2);
        let s = c.snapshot();
        assert_eq!((s.trunk.frames, s.trunk.unknown_vid), (4, 1));
        assert_eq!(s.last_unknown_vid, Some(101));
        assert_eq!(s.vifs[&200].oversize_in, 1);
        assert_eq!(s.vifs[&100].tap_tagged, 1);
        assert_eq!(s.drops(), 3);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["trunk"]["unknown_vid"], 1);
        assert_eq!(json["vifs"]["100"]["frames_in"], 2);
        let back: CountersSnapshot = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }
}
