//! Receive-side coalescing of inner TCP segments (decrypted from ESP, decapsulated from GRE) into
//! one super-segment written to TUN with a virtio-net header (what GRO does in the kernel, and
//! wireguard-go does for its TUN), so the inside TCP stack handles one 64 KiB packet instead of
//! forty-five small ones.
//!
//! ```text
//!  inner packets of one flow, in order            written to TUN once
//!  [IP|TCP|seg1] [IP|TCP|seg2] [IP|TCP|seg3<=]  -> [vnet: TCPv4, gso_size=|seg1|, NEEDS_CSUM]
//!                                                  [IP|TCP|seg1 seg2 seg3]
//! ```
//!
//! Packets merge only when Linux's own TCP GRO (net/ipv4/tcp_offload.c) would merge them: same
//! addresses, ports, TOS/TTL (traffic class, hop limit, flow label), ACK number, window and
//! identical options; flags ACK (PSH allowed on the last); contiguous sequence numbers; every
//! segment as long as the first except a shorter last one; at most 64 KiB; no IPv4 options or
//! fragments, no IPv6 extension headers. Each segment's checksum is verified before it merges,
//! because the super-segment goes up with a partial checksum the kernel does not check again.
//!
//! What it does not do: reorder, hold packets across batches (the caller flushes at the end of
//! each receive batch), or coalesce UDP.

use crate::checksum;
use crate::vnet::{self, F_NEEDS_CSUM, GsoType, VnetHdr};

const MAX_IP_LEN: usize = 65535;
const TCP_ACK: u8 = 0x10;
const TCP_PSH: u8 = 0x08;

/// What [`Coalescer::offer`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Taken: merged into the pending super-segment, or started a new one.
    Taken,
    /// Not for coalescing (not TCP data, flags, options...): flush, then write it as it is.
    Refused,
    /// A TCP data segment that does not continue the pending one: flush, then offer it again.
    FlushFirst,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    l4: usize,
    hdr_len: usize,
    gso_size: usize,
    next_seq: u32,
    segments: usize,
    closed: bool,
}

/// The pending super-segment and its buffer (allocated once).
#[derive(Debug)]
pub struct Coalescer {
    /// `vnet::LEN` octets of header room, then the packet.
    buf: Vec<u8>,
    len: usize,
    pending: Option<Pending>,
}

impl Default for Coalescer {
    fn default() -> Coalescer {
        Coalescer::new()
    }
}

/// The header layout of a candidate packet.
struct Shape {
    l4: usize,
    hdr_len: usize,
    seq: u32,
    flags: u8,
}

fn shape(p: &[u8]) -> Option<Shape> {
    let l4 = match p.first()? >> 4 {
        4 => {
            // No options (IHL 5), TCP, not a fragment (MF clear, offset 0), lengths agree.
            if p.len() < 40 || p[0] != 0x45 || p[9] != 6 || p[6] & 0x3f != 0 || p[7] != 0 {
                return None;
            }
            if usize::from(u16::from_be_bytes([p[2], p[3]])) != p.len() {
                return None;
            }
            20
        }
        6 => {
            if p.len() < 60 || p[6] != 6 {
                return None;
            }
            if usize::from(u16::from_be_bytes([p[4], p[5]])) + 40 != p.len() {
                return None;
            }
            40
        }
        _ => return None,
    };
    let tcp_hlen = usize::from(p[l4 + 12] >> 4) * 4;
    let hdr_len = l4 + tcp_hlen;
    let flags = p[l4 + 13];
    if tcp_hlen < 20 || hdr_len >= p.len() || (flags & !TCP_PSH) != TCP_ACK {
        return None;
    }
    let pseudo = checksum::pseudo_header(p, 6, p.len() - l4);
    if checksum::finish(checksum::add(pseudo, &p[l4..])) != 0 {
        return None;
    }
    Some(Shape {
        l4,
        hdr_len,
        seq: u32::from_be_bytes([p[l4 + 4], p[l4 + 5], p[l4 + 6], p[l4 + 7]]),
        flags,
    })
}

impl Coalescer {
    /// An empty coalescer with a 64 KiB buffer.
    pub fn new() -> Coalescer {
        Coalescer {
            buf: vec![0u8; vnet::LEN + MAX_IP_LEN],
            len: 0,
            pending: None,
        }
    }

    /// Whether a super-segment (of one or more packets) is waiting to be flushed.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Offers the next received inner packet (an IP packet).
    pub fn offer(&mut self, p: &[u8]) -> Offer {
        let Some(s) = shape(p) else {
            return if self.pending.is_some() {
                Offer::FlushFirst
            } else {
                Offer::Refused
            };
        };
        let payload = p.len() - s.hdr_len;
        let Some(mut pend) = self.pending else {
            if s.flags & TCP_PSH != 0 {
                // Nothing could follow it: no gain in copying.
                return Offer::Refused;
            }
            self.buf[vnet::LEN..vnet::LEN + p.len()].copy_from_slice(p);
            self.len = p.len();
            self.pending = Some(Pending {
                l4: s.l4,
                hdr_len: s.hdr_len,
                gso_size: payload,
                next_seq: s.seq.wrapping_add(payload as u32),
                segments: 1,
                closed: false,
            });
            return Offer::Taken;
        };
        let head = &self.buf[vnet::LEN..vnet::LEN + pend.hdr_len];
        let same_headers = s.l4 == pend.l4 && s.hdr_len == pend.hdr_len && {
            let h = &p[..s.hdr_len];
            let l4 = s.l4;
            let same_ip = if l4 == 20 {
                // TOS, DF, TTL, protocol, addresses.
                h[1] == head[1] && h[6] == head[6] && h[8] == head[8] && h[12..20] == head[12..20]
            } else {
                // Version, traffic class, flow label; hop limit; addresses.
                h[..4] == head[..4] && h[7..40] == head[7..40]
            };
            // Ports, ACK number, window, urgent pointer and options (not sequence number,
            // offset/flags or checksum).
            same_ip
                && h[l4..l4 + 4] == head[l4..l4 + 4]
                && h[l4 + 8..l4 + 12] == head[l4 + 8..l4 + 12]
                && h[l4 + 14..l4 + 16] == head[l4 + 14..l4 + 16]
                && h[l4 + 18..] == head[l4 + 18..]
        };
        if !same_headers
            || pend.closed
            || s.seq != pend.next_seq
            || payload > pend.gso_size
            || self.len + payload > MAX_IP_LEN
        {
            return Offer::FlushFirst;
        }
        let at = vnet::LEN + self.len;
        self.buf[at..at + payload].copy_from_slice(&p[s.hdr_len..]);
        self.len += payload;
        pend.segments += 1;
        pend.next_seq = pend.next_seq.wrapping_add(payload as u32);
        if s.flags & TCP_PSH != 0 {
            self.buf[vnet::LEN + pend.l4 + 13] |= TCP_PSH;
            pend.closed = true;
        }
        if payload < pend.gso_size {
            pend.closed = true;
        }
        self.pending = Some(pend);
        Offer::Taken
    }

    /// Finishes the pending super-segment and returns it with its virtio-net header in front,
    /// ready for one TUN write; `None` if nothing is pending.
    pub fn flush(&mut self) -> Option<&[u8]> {
        let pend = self.pending.take()?;
        let len = self.len;
        let l4 = pend.l4;
        let total = &mut self.buf[vnet::LEN..vnet::LEN + len];
        let hdr = if pend.segments == 1 {
            // One packet: its checksum is intact and verified.
            VnetHdr::NONE
        } else {
            if l4 == 20 {
                total[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                total[10..12].copy_from_slice(&[0, 0]);
                let c = checksum::finish(checksum::add(0, &total[..20]));
                total[10..12].copy_from_slice(&c.to_be_bytes());
            } else {
                total[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
            }
            // NEEDS_CSUM: the field holds the pseudo-header sum (virtio 1.x §5.1.6.2).
            let pseudo = checksum::fold(checksum::pseudo_header(total, 6, len - l4));
            total[l4 + 16..l4 + 18].copy_from_slice(&pseudo.to_be_bytes());
            VnetHdr {
                flags: F_NEEDS_CSUM,
                gso_type: if l4 == 20 {
                    GsoType::TcpV4
                } else {
                    GsoType::TcpV6
                },
                hdr_len: pend.hdr_len as u16,
                gso_size: pend.gso_size as u16,
                csum_start: l4 as u16,
                csum_offset: 16,
            }
        };
        hdr.encode(&mut self.buf[..vnet::LEN]);
        Some(&self.buf[..vnet::LEN + len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::tests::{tcp_checksum_ok, tcp4};
    use crate::segment::{Segmenter, complete_checksum};

    fn data(n: usize, salt: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31) ^ salt).collect()
    }

    #[test]
    fn consecutive_segments_merge_and_resegment_to_the_originals() {
        let segs = [
            tcp4(100, 0x10, &data(1000, 1), false),
            tcp4(1100, 0x10, &data(1000, 2), false),
            tcp4(2100, 0x18, &data(300, 3), false),
        ];
        let mut c = Coalescer::new();
        for s in &segs {
            assert_eq!(c.offer(s), Offer::Taken);
        }
        let out = c.flush().unwrap().to_vec();
        assert!(!c.is_pending());
        let hdr = VnetHdr::decode(&out).unwrap();
        assert_eq!(hdr.gso_type, GsoType::TcpV4);
        assert_eq!((hdr.gso_size, hdr.hdr_len, hdr.csum_start), (1000, 52, 20));
        let sup = &out[vnet::LEN..];
        assert_eq!(sup.len(), 52 + 2300);
        // What the kernel would do with it: cut it again, as our own segmenter does.
        let mut back = Segmenter::new(sup, &hdr).unwrap();
        let mut dst = vec![0u8; 2000];
        for (i, orig) in segs.iter().enumerate() {
            let len = back.next_into(&mut dst).unwrap();
            assert!(tcp_checksum_ok(&dst[..len]));
            assert_eq!(&dst[52..len], &orig[52..], "payload {i}");
            assert_eq!(&dst[20..32], &orig[20..32], "ports, seq, ack {i}");
        }
        // PSH came through on the super-segment.
        assert_ne!(sup[33] & TCP_PSH, 0);
    }

    #[test]
    fn a_single_segment_goes_out_unchanged() {
        let s = tcp4(1, 0x10, &data(500, 9), false);
        let mut c = Coalescer::new();
        assert_eq!(c.offer(&s), Offer::Taken);
        let out = c.flush().unwrap();
        assert_eq!(VnetHdr::decode(out), Some(VnetHdr::NONE));
        assert_eq!(&out[vnet::LEN..], &s[..]);
        assert!(c.flush().is_none());
    }

    #[test]
    fn gaps_flags_sizes_and_bad_checksums_stop_merging() {
        let mut c = Coalescer::new();
        // Pure ACKs, SYNs and bad checksums are never taken.
        assert_eq!(c.offer(&tcp4(1, 0x10, &[], false)), Offer::Refused);
        assert_eq!(c.offer(&tcp4(1, 0x12, &data(10, 0), false)), Offer::Refused);
        let mut bad = tcp4(1, 0x10, &data(10, 0), false);
        bad[60] ^= 1;
        assert_eq!(c.offer(&bad), Offer::Refused);
        // A partial checksum (as a kernel leaves it) is not "valid" either until completed.
        let mut partial = tcp4(1, 0x10, &data(10, 0), true);
        assert_eq!(c.offer(&partial), Offer::Refused);
        complete_checksum(&mut partial, 20, 16).unwrap();
        assert_eq!(c.offer(&partial), Offer::Taken);
        // A gap in sequence numbers.
        assert_eq!(
            c.offer(&tcp4(100, 0x10, &data(10, 0), false)),
            Offer::FlushFirst
        );
        // A longer segment than the first.
        assert_eq!(
            c.offer(&tcp4(11, 0x10, &data(11, 0), false)),
            Offer::FlushFirst
        );
        // A shorter one closes the run.
        assert_eq!(c.offer(&tcp4(11, 0x10, &data(5, 0), false)), Offer::Taken);
        assert_eq!(
            c.offer(&tcp4(16, 0x10, &data(5, 0), false)),
            Offer::FlushFirst
        );
        // A non-TCP packet while pending must flush first.
        assert_eq!(c.offer(&[0x45; 20]), Offer::FlushFirst);
        c.flush().unwrap();
        assert_eq!(c.offer(&[0x45; 20]), Offer::Refused);
    }

    #[test]
    fn never_grows_past_64_kib() {
        let mut c = Coalescer::new();
        let mut seq = 1u32;
        let mut taken = 0;
        loop {
            let s = tcp4(seq, 0x10, &data(1400, 0), false);
            match c.offer(&s) {
                Offer::Taken => {
                    taken += 1;
                    seq += 1400;
                }
                Offer::FlushFirst => break,
                Offer::Refused => panic!("refused"),
            }
        }
        assert_eq!(taken, (65535 - 52) / 1400);
        assert!(c.flush().unwrap().len() <= vnet::LEN + 65535);
    }

    proptest::proptest! {
        /// Garbage never panics the coalescer, and whatever it flushes is no longer than 64 KiB.
        #[test]
        fn garbage_never_panics(packets in proptest::collection::vec(
            proptest::collection::vec(proptest::num::u8::ANY, 0..120), 0..20)) {
            let mut c = Coalescer::new();
            for p in &packets {
                if c.offer(p) == Offer::FlushFirst {
                    let out = c.flush().unwrap();
                    proptest::prop_assert!(out.len() <= vnet::LEN + MAX_IP_LEN);
                    let _ = c.offer(p);
                }
            }
            let _ = c.flush();
        }
    }
}
