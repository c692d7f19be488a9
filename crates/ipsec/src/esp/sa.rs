//! One direction of an ESP Security Association: seal outgoing inner packets, open incoming ESP
//! packets (RFC 4303 §3.3 outbound, §3.4 inbound processing), with a combined-mode cipher (drawn
//! below) or AES-CBC + HMAC.
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
//! With AES-CBC + HMAC (RFC 4303 §3.3.2 encrypt-then-MAC, §3.4.4 verify-then-decrypt) the
//! steps are the same with three differences: padding fills the 16-octet block (RFC 3602 §3),
//! the IV is 16 octets drawn per packet from a CSPRNG (RFC 3602 §2.4 requires it to be
//! unpredictable, so a counter will not do: each SA has its own ChaCha12 generator, `rand`'s
//! `StdRng`, seeded from the operating system), and the truncated HMAC over SPI, sequence number,
//! IV and ciphertext (§3.3.4) is checked before anything is decrypted. The AEAD path is one
//! match arm, unchanged.
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

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use ring::rand::SecureRandom;
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::CryptoError;
use crate::crypto::aead::{ICV_LEN, IV_LEN};
use crate::crypto::cbc::BLOCK_LEN;
use crate::crypto::cipher::{Cipher, CipherKey};

use super::EspError;
use super::counters::Counters;
use super::replay::{ReplayVerdict, ReplayWindow};
use super::trailer::{self, NextHeader, TRAILER_LEN};
use super::wire::{EspPacket, HEADER_LEN, Layout, PAYLOAD_OFFSET};

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

/// What one direction of an SA needs: SPI, cipher and its keying material (AEAD: key || salt;
/// CBC + HMAC: encryption key || integrity key, RFC 7296 §2.17).
pub struct SaKeys {
    /// The SPI (chosen by the receiving side, RFC 7296 §2.17 / RFC 4303 §2.1).
    pub spi: u32,
    /// The cipher.
    pub cipher: Cipher,
    /// `cipher.keymat_len()` octets from KEYMAT; wiped when dropped.
    pub keymat: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaKeys")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("cipher", &self.cipher)
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

/// A per-SA generator of CBC IVs: ChaCha12 seeded from the operating system's CSPRNG.
fn iv_generator(cipher: Cipher) -> Result<Option<Box<StdRng>>, EspError> {
    if matches!(cipher, Cipher::Aead(_)) {
        return Ok(None);
    }
    let mut seed = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut seed)
        .map_err(|_| CryptoError::Random)?;
    let rng = StdRng::from_seed(seed);
    seed.zeroize();
    Ok(Some(Box::new(rng)))
}

/// The outbound half of an SA.
pub struct OutboundSa {
    spi: u32,
    key: CipherKey,
    layout: Layout,
    /// CBC IVs (None for an AEAD, whose IV is the sequence number).
    ivs: Option<Box<StdRng>>,
    /// The last sequence number used (0 = none yet).
    seq: u64,
    volume: Volume,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for OutboundSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("cipher", &self.key.cipher())
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

/// Room a buffer needs after an inner packet of `len` octets for padding, trailer and ICV, with
/// a combined-mode cipher ([`OutboundSa::tail_room`] for any).
pub const fn tail_room(len: usize) -> usize {
    trailer::pad_len(len) + TRAILER_LEN + ICV_LEN
}

impl OutboundSa {
    /// Keys an outbound SA.
    pub fn new(keys: &SaKeys, limits: SaLimits) -> Result<OutboundSa, EspError> {
        Ok(OutboundSa {
            spi: keys.spi,
            key: CipherKey::from_keymat(keys.cipher, &keys.keymat)?,
            layout: Layout::for_cipher(keys.cipher),
            ivs: iv_generator(keys.cipher)?,
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
    pub fn cipher(&self) -> Cipher {
        self.key.cipher()
    }

    /// Where this SA's packets keep IV and ICV; the inner packet goes at
    /// `layout().payload_offset()`.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Room a buffer needs after an inner packet of `len` octets.
    pub fn tail_room(&self, len: usize) -> usize {
        self.layout.tail_room(len)
    }

    /// The last sequence number sent (0 before the first packet).
    pub fn sequence(&self) -> u32 {
        self.seq as u32
    }

    /// This SA's counters (shared, for `show`).
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Seals the inner packet at `buf[off..off + payload_len]`, `off` being
    /// `layout().payload_offset()` ([`PAYLOAD_OFFSET`] for an AEAD), into an ESP packet starting at
    /// `buf[0]`. `buf` must extend [`OutboundSa::tail_room`] octets past the payload.
    pub fn seal(
        &mut self,
        buf: &mut [u8],
        payload_len: usize,
        next_header: NextHeader,
    ) -> Result<Sealed, EspError> {
        let needed =
            self.layout.payload_offset() + payload_len + self.layout.tail_room(payload_len);
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
        let key = match &self.key {
            CipherKey::Aead(key) => key,
            CipherKey::CbcHmac { cbc, integ } => {
                let len = seal_cbc(
                    cbc,
                    integ,
                    self.ivs.as_deref_mut(),
                    self.layout,
                    (self.spi, seq),
                    buf,
                    payload_len,
                    next_header,
                )?;
                self.counters.add_out(1, bytes);
                let soft_limit = self.volume.record(bytes, self.seq >= SEQ_SOFT_LIMIT);
                return Ok(Sealed { len, soft_limit });
            }
        };
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
        let icv = key.seal_in_place(
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

/// Encrypt-then-MAC of one CBC packet (RFC 4303 §3.3.2, §3.3.4); returns the packet's length.
#[allow(clippy::too_many_arguments)]
fn seal_cbc(
    cbc: &crate::crypto::cbc::CbcKey,
    integ: &crate::crypto::integ::IntegKey,
    ivs: Option<&mut StdRng>,
    layout: Layout,
    (spi, seq): (u32, u32),
    buf: &mut [u8],
    payload_len: usize,
    next_header: NextHeader,
) -> Result<usize, EspError> {
    let off = layout.payload_offset();
    let encrypted_len = trailer::write_to(&mut buf[off..], payload_len, next_header, layout.block);
    let len = off + encrypted_len + layout.icv_len;
    buf[..4].copy_from_slice(&spi.to_be_bytes());
    buf[4..8].copy_from_slice(&seq.to_be_bytes());
    let mut iv = [0u8; BLOCK_LEN];
    ivs.ok_or(CryptoError::Random)?.fill_bytes(&mut iv);
    buf[HEADER_LEN..off].copy_from_slice(&iv);
    cbc.encrypt_in_place(&iv, &mut buf[off..off + encrypted_len])?;
    let (authenticated, icv) = buf[..len].split_at_mut(len - layout.icv_len);
    integ.sign(&[authenticated], icv)?;
    Ok(len)
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
    key: CipherKey,
    layout: Layout,
    replay: ReplayWindow,
    volume: Volume,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for InboundSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("cipher", &self.key.cipher())
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
            key: CipherKey::from_keymat(keys.cipher, &keys.keymat)?,
            layout: Layout::for_cipher(keys.cipher),
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
    pub fn cipher(&self) -> Cipher {
        self.key.cipher()
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
        let mut view = EspPacket::with_layout(&mut packet[..], self.layout)?;
        if view.spi() != self.spi {
            return Err(EspError::UnknownSpi { spi: view.spi() });
        }
        let seq = view.sequence();
        self.replay
            .check(seq)
            .map_err(|verdict| EspError::Replay { seq, verdict })?;
        match &self.key {
            CipherKey::Aead(key) => {
                let (iv, aad, icv) = (view.iv(), view.aad(), view.icv());
                key.open_in_place(&iv, &aad, view.encrypted_mut(), &icv)
                    .map_err(|_| EspError::Integrity)?;
            }
            CipherKey::CbcHmac { cbc, integ } => {
                // Verify before decrypting (RFC 4303 §3.4.4.1): nothing unauthenticated reaches
                // the cipher or the padding check.
                integ
                    .verify(&[view.authenticated()], view.icv_bytes())
                    .map_err(|_| EspError::Integrity)?;
                let mut iv = [0u8; BLOCK_LEN];
                iv.copy_from_slice(view.iv_bytes());
                cbc.decrypt_in_place(&iv, view.encrypted_mut())?;
            }
        }
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
        let off = self.layout.payload_offset();
        Ok(Opened {
            payload: off..off + payload_len,
            next_header,
            soft_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::aead::AeadAlgorithm;
    use crate::crypto::cbc::CbcAlgorithm;
    use crate::crypto::integ::IntegAlgorithm;
    use crate::esp::replay::ReplayVerdict;
    use proptest::strategy::Strategy;

    fn keys(algorithm: impl Into<Cipher>, spi: u32) -> SaKeys {
        let cipher = algorithm.into();
        SaKeys {
            spi,
            cipher,
            keymat: Zeroizing::new((0..cipher.keymat_len() as u8).collect()),
        }
    }

    /// Every cipher: the AEADs and each AES-CBC key size with each HMAC.
    fn all_ciphers() -> Vec<Cipher> {
        let mut all: Vec<Cipher> = AeadAlgorithm::ALL.into_iter().map(Cipher::Aead).collect();
        for c in CbcAlgorithm::ALL {
            for i in IntegAlgorithm::ALL {
                all.push(Cipher::CbcHmac(c, i));
            }
        }
        all
    }

    const CBC_SHA256: Cipher =
        Cipher::CbcHmac(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha256_128);

    fn pair(algorithm: impl Into<Cipher> + Copy) -> (OutboundSa, InboundSa) {
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
        let off = out.layout().payload_offset();
        let mut buf = vec![0u8; off + inner.len() + out.tail_room(inner.len())];
        buf[off..off + inner.len()].copy_from_slice(inner);
        let sealed = out.seal(&mut buf, inner.len(), NextHeader::Ipv4).unwrap();
        buf.truncate(sealed.len);
        buf
    }

    #[test]
    fn seal_then_open_gives_back_the_inner_packet_for_every_cipher() {
        for alg in all_ciphers() {
            let (mut out, mut inb) = pair(alg);
            for len in [20, 21, 22, 23, 1438] {
                let inner = ipv4_packet(len);
                let mut esp = seal(&mut out, &inner);
                assert_eq!(esp.len(), len + Layout::for_cipher(alg).overhead(len));
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

    /// RFC 4303 §2 with RFC 3602 §3: SPI, sequence, a 16-octet IV that differs per packet,
    /// ciphertext in whole blocks, the truncated HMAC over everything before it.
    #[test]
    fn the_cbc_wire_format_has_a_random_block_iv_and_a_truncated_hmac() {
        for integ in IntegAlgorithm::ALL {
            let alg = Cipher::CbcHmac(CbcAlgorithm::Aes256, integ);
            let (mut out, _) = pair(alg);
            let esp1 = seal(&mut out, &ipv4_packet(20));
            let esp2 = seal(&mut out, &ipv4_packet(20));
            assert_eq!(&esp1[..8], &[0, 0, 0x10, 0x01, 0, 0, 0, 1]);
            assert_eq!(&esp2[4..8], &[0, 0, 0, 2]);
            assert_ne!(&esp1[8..24], &esp2[8..24], "IVs repeat");
            // 20 + 2 -> 32: 10 octets of padding.
            assert_eq!(esp1.len(), 8 + 16 + 32 + integ.icv_len());
            // Independent check of the ICV and the decryption with the primitives.
            let k = keys(alg, 0x1001);
            let (ek, ik) = k.keymat.split_at(32);
            let ik = crate::crypto::integ::IntegKey::new(integ, ik).unwrap();
            let icv_at = esp1.len() - integ.icv_len();
            ik.verify(&[&esp1[..icv_at]], &esp1[icv_at..]).unwrap();
            let ck = crate::crypto::cbc::CbcKey::new(CbcAlgorithm::Aes256, ek).unwrap();
            let mut body = esp1[24..icv_at].to_vec();
            ck.decrypt_in_place(esp1[8..24].try_into().unwrap(), &mut body)
                .unwrap();
            assert_eq!(&body[..20], &ipv4_packet(20)[..]);
            assert_eq!(&body[20..], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 4]);
        }
    }

    #[test]
    fn cbc_packets_with_a_misaligned_body_or_a_short_icv_are_malformed() {
        let (mut out, mut inb) = pair(CBC_SHA256);
        let esp = seal(&mut out, &ipv4_packet(40));
        assert!(matches!(
            inb.open(&mut esp[..esp.len() - 4].to_vec(), 1),
            Err(EspError::Misaligned { .. })
        ));
        assert!(matches!(
            inb.open(&mut esp[..30].to_vec(), 1),
            Err(EspError::Truncated { needed: 56, .. })
        ));
        assert_eq!(inb.counters().snapshot().malformed, 2);
        inb.open(&mut esp.clone(), 1).unwrap();
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
        for alg in [Cipher::Aead(AeadAlgorithm::AesGcm16Key128), CBC_SHA256] {
            tampered_packets_are_rejected(alg);
        }
    }

    fn tampered_packets_are_rejected(alg: Cipher) {
        let (mut out, mut inb) = pair(alg);
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
        let CipherKey::Aead(key) = &out.key else {
            panic!("an AEAD key")
        };
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
            let (_, mut inb) = pair(Cipher::CbcHmac(CbcAlgorithm::Aes256, IntegAlgorithm::HmacSha1_96));
            let mut b = bytes.clone();
            proptest::prop_assert!(inb.open(&mut b, 0).is_err());
        }

        /// A CBC packet with its SPI kept and anything else changed never opens.
        #[test]
        fn cbc_open_refuses_any_change(len in 0usize..100, at in 4usize..200, bit in 0u8..8) {
            let (mut out, mut inb) = pair(CBC_SHA256);
            let esp = seal(&mut out, &ipv4_packet(20 + len));
            let mut bad = esp.clone();
            let at = at % bad.len();
            proptest::prop_assume!(at >= 4);
            bad[at] ^= 1 << bit;
            proptest::prop_assert!(inb.open(&mut bad, 0).is_err());
            proptest::prop_assert!(inb.open(&mut esp.clone(), 0).is_ok());
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
