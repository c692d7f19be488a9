//! GRE for hybridlab: the wire format of RFC 2784 with the key and sequence number extensions of
//! RFC 2890, and a userspace GRE device (TUN inside, raw IPv4 protocol-47 socket outside) for
//! Transit Gateway Connect peers (`../shared/docs/aws-behaviour.md` §5).
//!
//! ```text
//!   wire (no I/O)               sequence (no I/O)          device (feature "device", threads)
//!   gre::Packet / gre::Repr     SequenceCheck (RFC 2890    TUN ─► encapsulate ─► raw socket
//!   ipv4::Header (outer, read)  §2.2 receive order)        raw socket ─► filter ─► decapsulate ─► TUN
//!   checksum (RFC 1071, from tun-offload)                  Counters (serde), clean shutdown
//! ```
//!
//! The kernel on our machines has no `ip_gre` module, so GRE is done here in userspace by design.
//!
//! What it does not do: GRE over IPv6 (the outer header is IPv4 only), RFC 1701 routing, the
//! buffering of out-of-order packets RFC 2890 §2.2 allows (we drop them), keepalives, or BGP
//! (Connect's BGP runs over the device like over any interface). Without the `device` feature the
//! crate has no threads, sockets or `netns`: `cargo build -p gre --no-default-features`.

pub mod sequence;
pub mod wire;

#[cfg(feature = "device")]
pub mod device;

pub use sequence::SequenceCheck;
pub use wire::gre::{Packet, Protocol, Repr};
pub use wire::{Error, Result};
