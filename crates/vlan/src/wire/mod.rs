//! Wire formats as zero-copy views (smoltcp style): the Ethernet II header ([`ethernet`]) and
//! the IEEE 802.1Q tag ([`vlan`]), with in-place tag insertion and removal.
//!
//! Every view has `new_unchecked`, `new_checked` and `check_len`; after `check_len` succeeds no
//! accessor panics, whatever the bytes. `Repr::parse` then validates what IEEE 802.1Q says a
//! receiver must check (VID 4095 is reserved); `Repr::emit` writes a header that `parse` accepts.
//!
//! Frames are what a TAP device or an AF_PACKET socket carries: destination address first, no
//! preamble, no frame check sequence, no padding to the 60-octet minimum.
//!
//! What it does not do: I/O, allocation, or policy (which VLANs a trunk carries is
//! [`crate::classify`]'s business).

pub mod ethernet;
pub mod vlan;

/// Why bytes (or a value for a field) were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Shorter than the header it must hold.
    #[error("truncated: shorter than its header")]
    Truncated,
    /// A VLAN identifier outside 1-4094 where one is required: 0 is the null VID (the tag
    /// carries a priority only), 4095 is reserved and never sent in a tag (IEEE 802.1Q-2018
    /// Table 9-2), above 4095 it does not fit 12 bits.
    #[error("VLAN ID {0} is not 1-4094 (IEEE 802.1Q Table 9-2: 0 is the null VID, 4095 reserved)")]
    Vid(u16),
    /// A priority code point above 7 (3 bits).
    #[error("priority code point {0} is not 0-7")]
    Pcp(u8),
    /// Not an 802.1Q tag where one was expected: the EtherType in the tag's place.
    #[error("TPID {0:#06x} is not 802.1Q's 0x8100")]
    Tpid(u16),
}

/// Result of wire operations.
pub type Result<T> = core::result::Result<T, Error>;
