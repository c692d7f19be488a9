//! TUN offloads for hybridlab's userspace data planes (`ipsec`'s ESP-in-UDP, `gre`'s device),
//! done on bytes: what a data plane does with packets between a TUN device opened with
//! IFF_VNET_HDR and its encapsulation.
//!
//! ```text
//!   TUN read:  [virtio-net hdr][TSO super-segment] ─ vnet::VnetHdr::decode ─► segment::Segmenter
//!              (or one packet with a partial checksum ─► segment::complete_checksum)
//!              ─► MSS-sized packets with full checksums, ready to encapsulate
//!   TUN write: received inner packets ─► coalesce::Coalescer::offer ... flush
//!              ─► [virtio-net hdr][one super-segment] (GRO), or each packet as it is
//!   checksum:  RFC 1071 sums and TCP/UDP pseudo-headers, used by the above and by wire code
//! ```
//!
//! Modules: [`vnet`] (the virtio-net header, `struct virtio_net_hdr_v1`), [`segment`] (TSO cut
//! and checksum completion), [`coalesce`] (receive-side TCP coalescing), [`checksum`] (RFC 1071).
//! Nothing allocates per packet: the segmenter writes into caller-owned slots, the coalescer owns
//! one 64 KiB buffer.
//!
//! What it is not: I/O (no TUN, sockets, threads, tokio or `netns`: the data planes open TUN with
//! `netns` and read and write it), an encapsulation (ESP and GRE live in their crates), or UDP
//! segmentation or coalescing (the data planes offer the kernel TCP offloads only, so USO
//! super-datagrams are refused as [`segment::SegmentError::Unsupported`]).

pub mod checksum;
pub mod coalesce;
pub mod segment;
pub mod vnet;
