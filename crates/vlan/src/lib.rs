//! 802.1Q VLANs for hybridlab: Ethernet II and 802.1Q tag wire views, the trunk's per-frame
//! decisions, and a userspace VLAN trunk for Direct Connect virtual interfaces
//! (`../shared/docs/aws-behaviour.md` §4: one 802.1Q VLAN per VIF, MTU 1500 or 8500).
//!
//! ```text
//!   wire (no I/O)                   classify (no I/O)            device (feature "device", threads)
//!   ethernet::Frame / Repr          VlanTable: VID -> VIF        AF_PACKET on the cross-connect
//!   vlan::Packet / Repr / Tci       classify_rx: deliver or      ─► untag ─► TAP of VLAN n
//!   insert_tag / remove_tag         drop with a reason           TAP of VLAN n ─► tag ─► AF_PACKET
//!   EtherType (Unknown(u16))        check_tx                     Counters (serde), clean shutdown
//! ```
//!
//! The kernels we run on have no `8021q` module, so tagging is done here in userspace by
//! design; the frames on the trunk are plain IEEE 802.1Q, as a kernel VLAN sub-interface sends
//! and expects them.
//!
//! What it does not do: 802.1ad / QinQ (a service tag is recognised and dropped), a native
//! (untagged) VLAN, MAC learning or bridging between VLANs, priorities beyond writing a
//! configured PCP, or BGP (it runs over the VLAN interfaces like over any other). Without the
//! `device` feature the crate has no threads, sockets or `netns`:
//! `cargo build -p vlan --no-default-features`.

pub mod classify;
pub mod wire;

#[cfg(feature = "device")]
pub mod device;

pub use classify::{Verdict, VlanTable};
pub use wire::ethernet::EtherType;
pub use wire::vlan::{Pcp, Tci, VlanId};
pub use wire::{Error, Result};
