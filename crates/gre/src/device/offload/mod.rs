//! TUN offload helpers: the virtio-net header ([`vnet`]), cutting TSO super-segments
//! ([`segment`]) and coalescing received TCP ([`coalesce`]).
//!
//! These are copies of `crates/ipsec/src/dataplane/{vnet,segment,coalesce}.rs` (c44ab82), with
//! checksums from [`crate::wire::checksum`]: `gre` must not depend on `ipsec`. They should move to
//! one shared crate that both data planes use; until then change both copies together.
//!
//! What it does not do: I/O (the tx and rx threads read and write TUN).

pub mod coalesce;
pub mod segment;
pub mod vnet;
