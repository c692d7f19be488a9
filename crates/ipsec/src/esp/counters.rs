//! Counters of one SA or one tunnel, shared between the data-plane thread that bumps them and the
//! control plane that reads them for `show`, DPD and rekey decisions.
//!
//! All fields are relaxed atomics: each is exact on its own, a [`CountersSnapshot`] is not a
//! consistent cut across fields (good enough for operators and for "did anything arrive since").
//! Bytes count the inner IP packets (what the user sent), not ESP overhead, like the kernel's
//! XFRM lifetime counters.
//!
//! What it does not do: read clocks (`last_inbound` is a timestamp the caller passes in, in
//! nanoseconds of whatever monotonic clock it uses, 0 = never), or decide anything.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters (see the module docs).
#[derive(Debug, Default)]
pub struct Counters {
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
    replay_drops: AtomicU64,
    integrity_failures: AtomicU64,
    malformed: AtomicU64,
    padding_errors: AtomicU64,
    dummy_packets: AtomicU64,
    unknown_spi: AtomicU64,
    no_outbound_sa: AtomicU64,
    send_errors: AtomicU64,
    misaddressed: AtomicU64,
    last_inbound_ns: AtomicU64,
}

/// A copy of [`Counters`] at one moment, for `show`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Packets decrypted and delivered (or to be delivered) to the inside.
    pub packets_in: u64,
    /// Inner octets of those packets.
    pub bytes_in: u64,
    /// Packets encrypted and sent.
    pub packets_out: u64,
    /// Inner octets of those packets.
    pub bytes_out: u64,
    /// Packets dropped by the anti-replay window (duplicates, too old, sequence number 0).
    pub replay_drops: u64,
    /// Packets whose ICV did not verify (tampered, corrupted, or sealed with another key).
    pub integrity_failures: u64,
    /// Packets too short, misaligned, or with a Next Header a tunnel does not carry, or inner
    /// packets that are not IP.
    pub malformed: u64,
    /// Packets that authenticated but whose padding was not 1, 2, 3, ... (RFC 4303 §2.4).
    pub padding_errors: u64,
    /// Dummy packets (Next Header 59), dropped silently (RFC 4303 §2.6).
    pub dummy_packets: u64,
    /// ESP packets for an SPI with no SA (tunnel counters only).
    pub unknown_spi: u64,
    /// Inside packets dropped because no outbound SA was active (tunnel counters only).
    pub no_outbound_sa: u64,
    /// Datagrams or TUN writes the kernel refused.
    pub send_errors: u64,
    /// Decrypted packets addressed to another tunnel endpoint of the same gateway, dropped
    /// (tunnel counters only; [`crate::dataplane::DataplaneConfig::refused_destinations`]).
    pub misaddressed: u64,
    /// When the last packet authenticated (caller's monotonic nanoseconds; 0 = never).
    pub last_inbound_ns: u64,
}

macro_rules! bump {
    ($($(#[$doc:meta])* $name:ident => $field:ident;)*) => {
        $(
            $(#[$doc])*
            #[inline]
            pub fn $name(&self, n: u64) {
                self.$field.fetch_add(n, Relaxed);
            }
        )*
    };
}

impl Counters {
    bump! {
        /// Adds `n` to `replay_drops`.
        add_replay_drops => replay_drops;
        /// Adds `n` to `integrity_failures`.
        add_integrity_failures => integrity_failures;
        /// Adds `n` to `malformed`.
        add_malformed => malformed;
        /// Adds `n` to `padding_errors`.
        add_padding_errors => padding_errors;
        /// Adds `n` to `dummy_packets`.
        add_dummy_packets => dummy_packets;
        /// Adds `n` to `unknown_spi`.
        add_unknown_spi => unknown_spi;
        /// Adds `n` to `no_outbound_sa`.
        add_no_outbound_sa => no_outbound_sa;
        /// Adds `n` to `send_errors`.
        add_send_errors => send_errors;
        /// Adds `n` to `misaddressed`.
        add_misaddressed => misaddressed;
    }

    /// Counts packets received and authenticated, and records when.
    #[inline]
    pub fn add_in(&self, packets: u64, bytes: u64, now_ns: u64) {
        self.packets_in.fetch_add(packets, Relaxed);
        self.bytes_in.fetch_add(bytes, Relaxed);
        self.last_inbound_ns.fetch_max(now_ns, Relaxed);
    }

    /// Counts packets sent.
    #[inline]
    pub fn add_out(&self, packets: u64, bytes: u64) {
        self.packets_out.fetch_add(packets, Relaxed);
        self.bytes_out.fetch_add(bytes, Relaxed);
    }

    /// When a packet last authenticated (0 = never).
    pub fn last_inbound_ns(&self) -> u64 {
        self.last_inbound_ns.load(Relaxed)
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> CountersSnapshot {
        CountersSnapshot {
            packets_in: self.packets_in.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            packets_out: self.packets_out.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            replay_drops: self.replay_drops.load(Relaxed),
            integrity_failures: self.integrity_failures.load(Relaxed),
            malformed: self.malformed.load(Relaxed),
            padding_errors: self.padding_errors.load(Relaxed),
            dummy_packets: self.dummy_packets.load(Relaxed),
            unknown_spi: self.unknown_spi.load(Relaxed),
            no_outbound_sa: self.no_outbound_sa.load(Relaxed),
            send_errors: self.send_errors.load(Relaxed),
            misaddressed: self.misaddressed.load(Relaxed),
            last_inbound_ns: self.last_inbound_ns.load(Relaxed),
        }
    }
}

impl CountersSnapshot {
    /// Every drop, whatever the reason (replay, integrity, malformed, padding, dummy, unknown
    /// SPI, misaddressed).
    pub fn drops(&self) -> u64 {
        self.replay_drops
            + self.integrity_failures
            + self.malformed
            + self.padding_errors
            + self.dummy_packets
            + self.unknown_spi
            + self.misaddressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reads_what_was_added() {
        let c = Counters::default();
        c.add_in(2, 200, 50);
        c.add_in(1, 100, 40);
        c.add_out(3, 300);
        c.add_replay_drops(1);
        c.add_integrity_failures(2);
        c.add_unknown_spi(4);
        let s = c.snapshot();
        assert_eq!((s.packets_in, s.bytes_in, s.last_inbound_ns), (3, 300, 50));
        assert_eq!((s.packets_out, s.bytes_out), (3, 300));
        assert_eq!(s.drops(), 7);
        assert_eq!(c.last_inbound_ns(), 50);
    }
}
