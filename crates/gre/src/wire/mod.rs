//! Wire formats as zero-copy views (smoltcp style): the GRE header ([`gre`]) and the few fields
//! of an outer IPv4 header a raw socket hands over ([`ipv4`]). The Internet checksum (RFC 1071)
//! the GRE checksum uses is `tun-offload`'s, re-exported as [`checksum`].
//!
//! Every view has `new_unchecked`, `new_checked` and `check_len`; after `check_len` succeeds no
//! accessor panics, whatever the bytes. `Repr::parse` then validates what the RFCs say a
//! receiver must check; `Repr::emit` writes a header that `parse` accepts.
//!
//! What it does not do: I/O, allocation, or policy (which key or addresses a tunnel expects is
//! the device's business).

pub mod gre;
pub mod ipv4;

pub use tun_offload::checksum;

/// Why bytes were refused. Each variant is one drop reason the device counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Shorter than the header its own flags (or length fields) announce.
    #[error("truncated: shorter than its header says")]
    Truncated,
    /// GRE version not 0 (RFC 2784 §2.3.1; version 1 is PPTP's enhanced GRE, RFC 2637).
    #[error("GRE version {0} (only 0 is GRE, RFC 2784 §2.3.1)")]
    Version(u8),
    /// The R bit (RFC 1701 routing present): RFC 2784 §2.3 says a receiver that does not
    /// implement RFC 1701 MUST discard it.
    #[error("GRE routing present (RFC 1701 R bit; discarded per RFC 2784 §2.3)")]
    Routing,
    /// One of Reserved0 bits 4-5 set (RFC 1701 strict source route, top bit of recursion
    /// control): RFC 2784 §2.3 says discard (bits 1-5; RFC 2890 gives bits 2 and 3 to K and S).
    #[error("GRE Reserved0 bits {0:#06x} set (RFC 2784 §2.3)")]
    Reserved0(u16),
    /// The checksum present (C bit) does not verify (RFC 2784 §2.5).
    #[error("GRE checksum does not verify (RFC 2784 §2.5)")]
    Checksum,
    /// Not an IPv4 header where one was expected (version, IHL, or total length).
    #[error("not a well-formed IPv4 header")]
    Ipv4,
}

/// Result of wire operations.
pub type Result<T> = core::result::Result<T, Error>;
