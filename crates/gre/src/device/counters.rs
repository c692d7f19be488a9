//! Counters of one GRE device: packets and octets each way, and drops by reason. The data-plane
//! threads bump them, `show` reads a [`CountersSnapshot`] (serde-serializable).
//!
//! Fields are relaxed atomics: each is exact on its own, a snapshot is not a consistent cut
//! across fields. Octets count inner packets (what the user sent), not GRE or IP overhead.
//!
//! What it does not do: decide anything, or read clocks.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::wire::Error as WireError;

macro_rules! counters {
    ($($(#[$doc:meta])* $field:ident,)*) => {
        /// Live counters (see the module docs).
        #[derive(Debug, Default)]
        pub struct Counters {
            $($field: AtomicU64,)*
        }

        /// A copy of [`Counters`] at one moment.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct CountersSnapshot {
            $($(#[$doc])* pub $field: u64,)*
        }

        impl Counters {
            /// Reads every counter.
            pub fn snapshot(&self) -> CountersSnapshot {
                CountersSnapshot { $($field: self.$field.load(Relaxed),)* }
            }
        }

        /// One `add` per counter: `Counters::add(&self.$field, n)`.
        impl Counters {
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

counters! {
    /// Packets decapsulated and written to TUN (after coalescing, still counted one by one).
    packets_in,
    /// Inner octets of those packets.
    bytes_in,
    /// Packets encapsulated and handed to the kernel (a TSO super-segment counts per segment).
    packets_out,
    /// Inner octets of those packets.
    bytes_out,
    /// GRE whose outer source or destination is not this tunnel's (remote, local) pair: not ours
    /// (AWS treats such GRE as transport traffic). Dropped.
    not_ours,
    /// Outer IPv4 or GRE header cut short or malformed. Dropped.
    malformed,
    /// GRE version not 0 (RFC 2784 §2.3.1). Dropped.
    bad_version,
    /// GRE with the R bit (RFC 1701 routing; RFC 2784 §2.3). Dropped.
    routing_present,
    /// GRE with Reserved0 bits 4-5 set (RFC 2784 §2.3). Dropped.
    reserved0,
    /// GRE whose checksum does not verify (RFC 2784 §2.5). Dropped.
    bad_checksum,
    /// GRE whose key is missing, unexpected or different from the configured one (RFC 2890 §2.1).
    key_mismatch,
    /// GRE whose sequence number is not after the last one delivered (RFC 2890 §2.2), with the
    /// check enabled. Dropped.
    out_of_order,
    /// GRE carrying something other than IPv4 or IPv6, or an inner packet whose version does not
    /// match the protocol type or whose length does not fit. Dropped (TUN carries IP only).
    unsupported_payload,
    /// Packets from TUN that could not be encapsulated (bad virtio-net header, not IP, a
    /// super-segment that could not be cut).
    tun_malformed,
    /// Packets the kernel refused to send (no route, buffer full for too long).
    send_errors,
    /// Packets TUN refused (device down, or a packet the kernel rejects).
    tun_write_errors,
}

impl Counters {
    /// Counts a packet [`crate::wire`] refused.
    pub fn wire_error(&self, e: WireError) {
        match e {
            WireError::Truncated | WireError::Ipv4 => self.malformed(1),
            WireError::Version(_) => self.bad_version(1),
            WireError::Routing => self.routing_present(1),
            WireError::Reserved0(_) => self.reserved0(1),
            WireError::Checksum => self.bad_checksum(1),
        }
    }
}

impl CountersSnapshot {
    /// Every packet dropped on receipt, whatever the reason.
    pub fn rx_drops(&self) -> u64 {
        self.not_ours
            + self.malformed
            + self.bad_version
            + self.routing_present
            + self.reserved0
            + self.bad_checksum
            + self.key_mismatch
            + self.out_of_order
            + self.unsupported_payload
            + self.tun_write_errors
    }

    /// Every packet from TUN that did not leave.
    pub fn tx_drops(&self) -> u64 {
        self.tun_malformed + self.send_errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_serializes() {
        let c = Counters::default();
        c.packets_in(2);
        c.wire_error(WireError::Checksum);
        c.wire_error(WireError::Truncated);
        c.not_ours(1);
        let s = c.snapshot();
        assert_eq!((s.packets_in, s.bad_checksum, s.malformed), (2, 1, 1));
        assert_eq!(s.rx_drops(), 3);
        let json = serde_json::to_value(s).unwrap();
        assert_eq!(json["not_ours"], 1);
        let back: CountersSnapshot = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }
}
