//! One direction of an ESP Security Association: seal outgoing inner packets, open incoming ESP
//! packets (RFC 4303 §3.3 outbound, §3.4 inbound processing), with combined-mode ciphers.
//!
//! ```text
//!  outbound (seal)                                  inbound (open)
//!  caller's buffer:                                 caller's buffer: the ESP packet
//!  [ 16 free | inner packet | room for 3+2+16 ]     1. view + length checks        -> malformed
//!  1. next sequence number (never past 2^32-1)      2. replay check (§3.4.3)      -> replay drop
//!  2. padding 1,2,3.. + pad len + next header       3. AEAD open, AAD = SPI||seq  -> integrity
//!  3. SPI, seq, IV = 64-bit counter (RFC 4106 §3.1) 4. replay window update (only now)
//!  4. AEAD seal in place, AAD = SPI||seq (§5)       5. padding check (§2.4)       -> padding
//!  5. ICV appended                                  6. next header 59: drop silently (§2.6)
//! ```
//!
//! Volume lifetimes (RFC 4301 §4.4.2.1 "lifetime ... expressed in bytes or packets"): crossing a
//! soft limit is reported once so the IKE side rekeys; at a hard limit the SA refuses to work.
//! Sequence number exhaustion is such a limit whatever the configuration: without ESN the counter
//! must not cycle (RFC 4303 §3.3.3), so the soft limit is reached [`SEQ_SOFT_LIMIT`] packets in
//! and nothing is ever sent with a number above 2^32 - 1.
//!
//! What it does not do: I/O, clock reads (the caller passes timestamps), SA lookup by SPI, or
//! time lifetimes (the IKE side owns those timers).

use std::ops::Range;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::crypto::aead::{AeadAlgorithm, AeadKey, ICV_LEN, IV_LEN};

use super::EspError;
use super::counters::Counters;
use super::replay::{ReplayVerdict, ReplayWindow};
use super::trailer::{self, NextHeader, TRAILER_LEN};
use super::wire::{EspPacket, PAYLOAD_OFFSET};

/// The outbound sequence number at which a rekey is asked for, whatever the configured limits.
/// An implementation choice (RFC 4303 fixes only the hard stop): 2^32 - 2^28 leaves 268 million
/// packets (over four minutes at a million packets per second) for the rekey to finish before
/// the hard stop at 2^32 - 1.
pub const SEQ_SOFT_LIMIT: u64 = (1 << 32) - (1 << 28);
/// The last sequence number that may be sent (RFC 4303 §3.3.3, no ESN).
pub const SEQ_HARD_LIMIT: u64 = u32::MAX as u64;

/// Volume lifetimes of one SA direction. `None` = no limit of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SaLimits {
    /// Ask for a rekey after this many packets.
    pub soft_packets: Option<u64>,
    /// Stop after this many packets.
    pub hard_packets: Option<u64>,
    /// Ask for a rekey after this many inner octets.
    pub soft_bytes: Option<u64>,
    /// Stop after this many inner octets.
    pub hard_bytes: Option<u64>,
}

/// What one direction of an SA needs: SPI, cipher and its keying material (key || salt).
pub struct SaKeys {
    /// The SPI (chosen by the receiving side, RFC 7296 §2.17 / RFC 4303 §2.1).
    pub spi: u32,
    /// The AEAD cipher.
    pub algorithm: AeadAlgorithm,
    /// `algorithm.keymat_len()` octets from KEYMAT; wiped when dropped.
    pub keymat: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaKeys")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("algorithm", &self.algorithm)
            .field("keymat", &"***")
            .finish()
    }
}

/// Volume accounting shared by both directions.
#[derive(Debug)]
struct Volume {
    limits: SaLimits,
    packets: u64,
    bytes: u64,
    soft_reported: bool,
}

impl Volume {
    fn new(limits: SaLimits) -> Volume {
        Volume {
            limits,
            packets: 0,
            bytes: 0,
            soft_reported: false,
        }
    }

    fn hard_reached(&self, next_bytes: u64) -> bool {
        self.limits.hard_packets.is_some_and(|h| self.packets >= h)
            || self
                .limits
                .hard_bytes
                .is_some_and(|h| self.bytes.saturating_add(next_bytes) > h)
    }

    /// Records one packet; true exactly once, on the packet that crosses a soft limit.
    fn record(&mut self, bytes: u64, seq_soft: bool) -> bool {
        self.packets += 1;
        self.bytes += bytes;
        if self.soft_reported {
            return false;
        }
        let crossed = seq_soft
            || self.limits.soft_packets.is_some_and(|s| self.packets >= s)
            || self.limits.soft_bytes.is_some_and(|s| self.bytes >= s);
        self.soft_reported = crossed;
        crossed
    }
}

/// The result of sealing one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sealed {
    /// Length of the ESP packet at the start of the buffer.
    pub len: usize,
    /// This packet crossed a soft limit (sequence numbers or volume): rekey now. Reported once.
    pub soft_limit: bool,
}

/// The outbound half of an SA.
pub struct OutboundSa {
    spi: u32,
    key: AeadKey,
    /// The last sequence number used (0 = none yet).
    seq: u64,
    volume: Volume,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for OutboundSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("algorithm", &self.key.algorithm())
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

/// Room a buffer needs after an inner packet of `len` octets for padding, trailer and ICV.
pub const fn tail_room(len: usize) -> usize {
    trailer::pad_len(len) + TRAILER_LEN + ICV_LEN
}

impl OutboundSa {
    /// Keys an outbound SA.
    pub fn new(keys: &SaKeys, limits: SaLimits) -> Result<OutboundSa, EspError> {
        Ok(OutboundSa {
            spi: keys.spi,
            key: AeadKey::new(keys.algorithm, &keys.keymat)?,
            seq: 0,
            volume: Volume::new(limits),
            counters: Arc::new(Counters::default()),
        })
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// The cipher.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.key.algorithm()
    }

    /// The last sequence number sent (0 before the first packet).
    pub fn sequence(&self) -> u32 {
        self.seq as u32
    }

    /// This SA's counters (shared, for `show`).
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Seals the inner packet at `buf[PAYLOAD_OFFSET..PAYLOAD_OFFSET + payload_len]` into an ESP
    /// packet starting at `buf[0]`. `buf` must extend [`tail_room`] octets past the payload.
    pub fn seal(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        next_header: NextHeader,
    ) -> Result<Sealed, EspError> {
        let needed = PAYLOAD_OFFSET + payload_len + tail_room(payload_len);
        if buf.len() < needed {
            return Err(EspError::BufferTooSmall {
                needed,
                got: buf.len(),
            });
        }
        let bytes = payload_len as u64;
        if self.seq >= SEQ_HARD_LIMIT {
            return Err(EspError::SequenceExhausted);
        }
        if self.volume.hard_reached(bytes) {
            return Err(EspError::HardLimit);
        }
        self.seq += 1;
        let seq = self.seq as u32;
        let encrypted_len = trailer::write(&mut buf[PAYLOAD_OFFSET..], payload_len, next_header);
        let len = PAYLOAD_OFFSET + encrypted_len + ICV_LEN;
        let mut packet = EspPacket::new_unchecked(&mut buf[..len]);
        packet.set_spi(self.spi);
        packet.set_sequence(seq);
        // RFC 4106 §3.1 / RFC 7634 §2: the IV must be unique per key; the 64-bit counter of
        // packets sent under this key is (and is what strongSwan and Linux use too).
        let iv: [u8; IV_LEN] = self.seq.to_be_bytes();
        packet.set_iv(&iv);
        let aad = packet.aad();
        let icv = self.key.seal_in_place(
            &iv,
            &aad,
            &mut buf[PAYLOAD_OFFSET..PAYLOAD_OFFSET + encrypted_len],
        );
        buf[len - ICV_LEN..len].copy_from_slice(&icv);
        self.counters.add_out(1, bytes);
        let soft_limit = self.volume.record(bytes, self.seq >= SEQ_SOFT_LIMIT);
        Ok(Sealed { len, soft_limit })
    }
}

/// The result of opening one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// Where the inner packet is in the buffer (padding and trailer excluded).
    pub payload: Range<usize>,
    /// What the inner packet is ([`NextHeader::Ipv4`] or [`NextHeader::Ipv6`]).
    pub next_header: NextHeader,
    /// This packet crossed a soft volume limit: rekey now. Reported once.
    pub soft_limit: bool,
}

/// The inbound half of an SA.
pub struct InboundSa {
    spi: u32,
    key: AeadKey,
    replay: ReplayWindow,
    volume: Volume,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for InboundSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("algorithm", &self.key.algorithm())
            .field("replay_window", &self.replay.size())
            .field("top", &self.replay.top())
            .finish_non_exhaustive()
    }
}

impl InboundSa {
    /// Keys an inbound SA with an anti-replay window of `replay_window` packets
    /// (`replay::MIN_WINDOW..=MAX_WINDOW`).
    pub fn new(keys: &SaKeys, replay_window: u32, limits: SaLimits) -> Result<InboundSa, EspError> {
        Ok(InboundSa {
            spi: keys.spi,
            key: AeadKey::new(keys.algorithm, &keys.keymat)?,
            replay: ReplayWindow::new(replay_window)?,
            volume: Volume::new(limits),
            counters: Arc::new(Counters::default()),
        })
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// The cipher.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.key.algorithm()
    }

    /// This SA's counters (shared, for `show` and DPD's "did anything arrive").
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Authenticates and decrypts the ESP packet in `packet` in place. Every failure is counted
    /// in this SA's counters (see [`EspError::count`]) and leaves the replay window untouched.
    /// `now_ns` is recorded as the last inbound time on success.
    pub fn open(&mut self, packet: &mut [u8], now_ns: u64) -> Result<Opened, EspError> {
        let result = self.open_uncounted(packet, now_ns);
        if let Err(e) = &result {
            e.count(&self.counters);
        }
        result
    }

    fn open_uncounted(&mut self, packet: &mut [u8], now_ns: u64) -> Result<Opened, EspError> {
        let mut view = EspPacket::new_checked(&mut packet[..])?;
        if view.spi() != self.spi {
            return Err(EspError::UnknownSpi { spi: view.spi() });
        }
        let seq = view.sequence();
        self.replay
            .check(seq)
            .map_err(|verdict| EspError::Replay { seq, verdict })?;
        let (iv, aad, icv) = (view.iv(), view.aad(), view.icv());
        self.key
            .open_in_place(&iv, &aad, view.encrypted_mut(), &icv)
            .map_err(|_| EspError::Integrity)?;
        // Authentic: only now may the window move (RFC 4303 §3.4.3).
        self.replay
            .accept(seq)
            .map_err(|verdict: ReplayVerdict| EspError::Replay { seq, verdict })?;
        let range = view.encrypted_range();
        let (payload_len, next_header) = trailer::read(&packet[range])?;
        match next_header {
            NextHeader::Ipv4 | NextHeader::Ipv6 => {}
            NextHeader::NoNextHeader => return Err(EspError::Dummy),
            NextHeader::Unknown(n) => {
                return Err(EspError::UnsupportedNextHeader { next_header: n });
            }
        }
        let bytes = payload_len as u64;
        if self.volume.hard_reached(bytes) {
            return Err(EspError::HardLimit);
        }
        let soft_limit = self.volume.record(bytes, false);
        self.counters.add_in(1, bytes, now_ns);
        Ok(Opened {
            payload: PAYLOAD_OFFSET..PAYLOAD_OFFSET + payload_len,
            next_header,
            soft_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esp::replay::ReplayVerdict;
    use proptest::strategy::Strategy;

    fn keys(algorithm: AeadAlgorithm, spi: u32) -> SaKeys {
        SaKeys {
            spi,
            algorithm,
            keymat: Zeroizing::new((0..algorithm.keymat_len() as u8).collect()),
        }
    }

    fn pair(algorithm: AeadAlgorithm) -> (OutboundSa, InboundSa) {
        (
            OutboundSa::new(&keys(algorithm, 0x1001), SaLimits::default()).unwrap(),
            InboundSa::new(&keys(algorithm, 0x1001), 64, SaLimits::default()).unwrap(),
        )
    }

    fn ipv4_packet(len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 0x45;
        for (i, b) in p.iter_mut().enumerate().skip(1) {
            *b = i as u8;
        }
        p
    }

    fn seal(out: &mut OutboundSa, inner: &[u8]) -> Vec<u8> {
        let mut buf = vec![0u8; PAYLOAD_OFFSET + inner.len() + tail_room(inner.len())];
        buf[PAYLOAD_OFFSET..PAYLOAD_OFFSET + inner.len()].copy_from_slice(inner);
        let sealed = out.seal(&mut buf, inner.len(), NextHeader::Ipv4).unwrap();
        buf.truncate(sealed.len);
        buf
    }

    #[test]
    fn seal_then_open_gives_back_the_inner_packet_for_every_cipher() {
        for alg in AeadAlgorithm::ALL {
            let (mut out, mut inb) = pair(alg);
            for len in [20, 21, 22, 23, 1438] {
                let inner = ipv4_packet(len);
                let mut esp = seal(&mut out, &inner);
                assert_eq!(esp.len(), len + super::super::wire::overhead(len));
                let opened = inb.open(&mut esp, 7).unwrap();
                assert_eq!(&esp[opened.payload.clone()], &inner[..], "{alg:?} {len}");
                assert_eq!(opened.next_header, NextHeader::Ipv4);
            }
            assert_eq!(out.counters().snapshot().packets_out, 5);
            let s = inb.counters().snapshot();
            assert_eq!((s.packets_in, s.last_inbound_ns), (5, 7));
        }
    }

    #[test]
    fn the_wire_format_is_spi_seq_counter_iv_and_plain_padding() {
        let (mut out, _) = pair(AeadAlgorithm::AesGcm16Key256);
        let esp1 = seal(&mut out, &ipv4_packet(20));
        let esp2 = seal(&mut out, &ipv4_packet(20));
        assert_eq!(
            &esp1[..16],
            &[0, 0, 0x10, 0x01, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(&esp2[4..16], &[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2]);
        // 20 + 2 = 22 -> 2 octets padding: total 8 + 8 + 24 + 16.
        assert_eq!(esp1.len(), 56);
    }

    #[test]
    fn replays_are_dropped_and_counted_and_do_not_decrypt_twice() {
        let (mut out, mut inb) = pair(AeadAlgorithm::ChaCha20Poly1305);
        let esp = seal(&mut out, &ipv4_packet(40));
        inb.open(&mut esp.clone(), 1).unwrap();
        assert_eq!(
            inb.open(&mut esp.clone(), 2),
            Err(EspError::Replay {
                seq: 1,
                verdict: ReplayVerdict::Duplicate
            })
        );
        assert_eq!(inb.counters().snapshot().replay_drops, 1);
        assert_eq!(inb.counters().snapshot().last_inbound_ns, 1);
    }

    #[test]
    fn tampered_packets_are_rejected_counted_and_do_not_move_the_window() {
        let (mut out, mut inb) = pair(AeadAlgorithm::AesGcm16Key128);
        let esp = seal(&mut out, &ipv4_packet(100));
        for at in 0..esp.len() {
            if at < 4 {
                continue; // the SPI: a different SA, tested below
            }
            let mut bad = esp.clone();
            bad[at] ^= 0x20;
            assert!(inb.open(&mut bad, 1).is_err(), "flip at {at} accepted");
        }
        let s = inb.counters().snapshot();
        assert_eq!(s.integrity_failures, (esp.len() - 4) as u64);
        assert_eq!(s.packets_in, 0);
        // The genuine packet still opens: no forged packet moved the window.
        inb.open(&mut esp.clone(), 1).unwrap();
        let mut other_spi = esp.clone();
        other_spi[3] ^= 1;
        assert_eq!(
            inb.open(&mut other_spi, 1),
            Err(EspError::UnknownSpi { spi: 0x1000 })
        );
    }

    #[test]
    fn dummy_packets_and_foreign_next_headers_are_dropped() {
        let (mut out, mut inb) = pair(AeadAlgorithm::AesGcm16Key256);
        for (nh, expected) in [
            (NextHeader::NoNextHeader, EspError::Dummy),
            (
                NextHeader::Unknown(6),
                EspError::UnsupportedNextHeader { next_header: 6 },
            ),
        ] {
            let mut buf = vec![0u8; 64];
            let sealed = out.seal(&mut buf, 10, nh).unwrap();
            assert_eq!(inb.open(&mut buf[..sealed.len], 1), Err(expected));
        }
        let s = inb.counters().snapshot();
        assert_eq!((s.dummy_packets, s.malformed, s.packets_in), (1, 1, 0));
    }

    #[test]
    fn bad_padding_that_authenticates_is_refused() {
        // Build a packet with padding 1, 2, 9 by sealing with a hand-written trailer.
        let (out, mut inb) = pair(AeadAlgorithm::AesGcm16Key256);
        let key = &out.key;
        let mut buf = vec![0u8; PAYLOAD_OFFSET + 8 + ICV_LEN];
        buf[PAYLOAD_OFFSET..PAYLOAD_OFFSET + 8].copy_from_slice(&[0x45, 0, 0, 1, 2, 9, 3, 4]);
        let mut p = EspPacket::new_unchecked(&mut buf[..]);
        p.set_spi(0x1001);
        p.set_sequence(1);
        p.set_iv(&[0, 0, 0, 0, 0, 0, 0, 1]);
        let aad = p.aad();
        let icv = key.seal_in_place(&[0, 0, 0, 0, 0, 0, 0, 1], &aad, p.encrypted_mut());
        p.set_icv(&icv);
        assert_eq!(inb.open(&mut buf, 1), Err(EspError::BadPadding));
        assert_eq!(inb.counters().snapshot().padding_errors, 1);
    }

    #[test]
    fn sequence_numbers_stop_at_two_to_the_32_minus_one() {
        let (mut out, _) = pair(AeadAlgorithm::AesGcm16Key128);
        out.seq = SEQ_SOFT_LIMIT - 2;
        let mut buf = vec![0u8; 128];
        assert!(!out.seal(&mut buf, 20, NextHeader::Ipv4).unwrap().soft_limit);
        assert!(out.seal(&mut buf, 20, NextHeader::Ipv4).unwrap().soft_limit);
        assert!(
            !out.seal(&mut buf, 20, NextHeader::Ipv4).unwrap().soft_limit,
            "reported once"
        );
        out.seq = SEQ_HARD_LIMIT - 1;
        out.seal(&mut buf, 20, NextHeader::Ipv4).unwrap();
        assert_eq!(out.sequence(), u32::MAX);
        assert_eq!(
            out.seal(&mut buf, 20, NextHeader::Ipv4),
            Err(EspError::SequenceExhausted)
        );
        assert_eq!(out.sequence(), u32::MAX, "never wraps");
    }

    #[test]
    fn volume_limits_soft_once_then_hard() {
        let limits = SaLimits {
            soft_packets: Some(2),
            hard_packets: Some(3),
            ..SaLimits::default()
        };
        let mut out = OutboundSa::new(&keys(AeadAlgorithm::AesGcm16Key128, 1), limits).unwrap();
        let mut buf = vec![0u8; 128];
        let soft: Vec<bool> = (0..3)
            .map(|_| out.seal(&mut buf, 20, NextHeader::Ipv4).unwrap().soft_limit)
            .collect();
        assert_eq!(soft, [false, true, false]);
        assert_eq!(
            out.seal(&mut buf, 20, NextHeader::Ipv4),
            Err(EspError::HardLimit)
        );

        let limits = SaLimits {
            soft_bytes: Some(30),
            hard_bytes: Some(50),
            ..SaLimits::default()
        };
        let mut out = OutboundSa::new(&keys(AeadAlgorithm::AesGcm16Key128, 1), limits).unwrap();
        assert!(!out.seal(&mut buf, 20, NextHeader::Ipv4).unwrap().soft_limit);
        assert!(out.seal(&mut buf, 20, NextHeader::Ipv4).unwrap().soft_limit);
        assert_eq!(
            out.seal(&mut buf, 20, NextHeader::Ipv4),
            Err(EspError::HardLimit)
        );
    }

    #[test]
    fn short_buffers_and_bad_keys_are_clear_errors() {
        let (mut out, _) = pair(AeadAlgorithm::AesGcm16Key128);
        let mut buf = vec![0u8; 40];
        assert_eq!(
            out.seal(&mut buf, 20, NextHeader::Ipv4),
            Err(EspError::BufferTooSmall {
                needed: 56,
                got: 40
            })
        );
        let mut k = keys(AeadAlgorithm::AesGcm16Key256, 1);
        k.keymat.truncate(10);
        assert!(matches!(
            OutboundSa::new(&k, SaLimits::default()),
            Err(EspError::Crypto(_))
        ));
        assert!(!format!("{k:?}").contains("01, 02"), "{k:?}");
    }

    proptest::proptest! {
        /// Whatever arrives, open never panics and never delivers anything that was not sealed.
        #[test]
        fn open_never_panics_on_garbage(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let (_, mut inb) = pair(AeadAlgorithm::ChaCha20Poly1305);
            let mut b = bytes.clone();
            proptest::prop_assert!(inb.open(&mut b, 0).is_err());
        }

        /// Packets reordered within the window all open exactly once.
        #[test]
        fn reordering_within_the_window_delivers_each_packet_once(
            order in proptest::sample::subsequence((0usize..40).collect::<Vec<_>>(), 40).prop_shuffle(),
        ) {
            let (mut out, mut inb) = pair(AeadAlgorithm::AesGcm16Key256);
            let packets: Vec<Vec<u8>> = (0..40).map(|i| seal(&mut out, &ipv4_packet(20 + i))).collect();
            for &i in &order {
                let mut p = packets[i].clone();
                let opened = inb.open(&mut p, 1).unwrap();
                proptest::prop_assert_eq!(opened.payload.len(), 20 + i);
                proptest::prop_assert!(inb.open(&mut packets[i].clone(), 1).is_err());
            }
            proptest::prop_assert_eq!(inb.counters().snapshot().packets_in, 40);
        }
    }
}
