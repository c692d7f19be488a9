//! Cutting a TCP super-segment from TUN (TSO, handed over with a virtio-net header) into
//! MSS-sized TCP/IP packets, and completing partial checksums, before a data plane encapsulates
//! each one (ESP, GRE).
//!
//! ```text
//!  super-segment from TUN (gso_size = MSS)        segments written into the caller's slots
//! +----+-----+-------------------------------+     +----+-----+-----+  +----+-----+-----+
//! | IP | TCP | payload (n x MSS + rest)      | --> | IP'| TCP'| MSS |  | IP'| TCP'| rest|
//! +----+-----+-------------------------------+     +----+-----+-----+  +----+-----+-----+
//!   IP': total length, ID + i (IPv4, RFC 6864), header checksum     (IPv6: payload length)
//!   TCP': sequence + i x MSS; FIN/PSH only on the last, CWR only on the first (RFC 3168 §6.1.2
//!         as Linux's tcp_gso_segment applies it); full checksum with the pseudo-header
//! ```
//!
//! What it does not do: UDP segmentation (we do not offer USO to the kernel), IPv4 options or
//! IPv6 extension headers other than passing them through unchanged.

use crate::checksum;
use crate::vnet::{F_NEEDS_CSUM, GsoType, VnetHdr};

/// Why a packet from TUN could not be segmented or checksummed (it is dropped and counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// Not an IPv4 or IPv6 packet, or headers cut short.
    #[error("packet from TUN is not a well-formed IP packet")]
    Malformed,
    /// A super-packet kind we did not offer to the kernel.
    #[error("unsupported GSO type {0:?}")]
    Unsupported(GsoType),
}

/// Completes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field at
/// `csum_start + csum_offset` holds the pseudo-header sum; the checksum covers `csum_start..`.
pub fn complete_checksum(
    packet: &mut [u8],
    csum_start: usize,
    csum_offset: usize,
) -> Result<(), SegmentError> {
    let field = csum_start + csum_offset;
    if field + 2 > packet.len() {
        return Err(SegmentError::Malformed);
    }
    let sum = checksum::add(0, &packet[csum_start..]);
    let mut c = checksum::finish(sum);
    // A UDP checksum of 0 means "none" (RFC 768); send 0xffff instead. TCP never cares.
    if c == 0 {
        c = 0xffff;
    }
    packet[field..field + 2].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

/// The segments of one TCP super-segment, produced one at a time into caller-owned slots.
#[derive(Debug)]
pub struct Segmenter<'a> {
    packet: &'a [u8],
    v4: bool,
    l4: usize,
    hdr_len: usize,
    gso_size: usize,
    seq: u32,
    ip_id: u16,
    count: usize,
    next: usize,
}

const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;

impl<'a> Segmenter<'a> {
    /// Prepares to cut `packet` (the bytes after the virtio-net header) as `hdr` describes.
    pub fn new(packet: &'a [u8], hdr: &VnetHdr) -> Result<Segmenter<'a>, SegmentError> {
        let v4 = match hdr.gso_type {
            GsoType::TcpV4 => true,
            GsoType::TcpV6 => false,
            other => return Err(SegmentError::Unsupported(other)),
        };
        let first = *packet.first().ok_or(SegmentError::Malformed)?;
        let l4 = if hdr.flags & F_NEEDS_CSUM != 0 {
            usize::from(hdr.csum_start)
        } else if v4 {
            usize::from(first & 0x0f) * 4
        } else {
            40
        };
        let min_l3 = if v4 {
            usize::from(first & 0x0f).max(5) * 4
        } else {
            40
        };
        if (first >> 4) != if v4 { 4 } else { 6 } || l4 < min_l3 || l4 + 20 > packet.len() {
            return Err(SegmentError::Malformed);
        }
        let tcp_hlen = usize::from(packet[l4 + 12] >> 4) * 4;
        let hdr_len = l4 + tcp_hlen;
        let gso_size = usize::from(hdr.gso_size);
        if tcp_hlen < 20 || hdr_len > packet.len() || gso_size == 0 {
            return Err(SegmentError::Malformed);
        }
        let payload = packet.len() - hdr_len;
        Ok(Segmenter {
            packet,
            v4,
            l4,
            hdr_len,
            gso_size,
            seq: u32::from_be_bytes([
                packet[l4 + 4],
                packet[l4 + 5],
                packet[l4 + 6],
                packet[l4 + 7],
            ]),
            ip_id: u16::from_be_bytes([packet[4], packet[5]]),
            count: payload.div_ceil(gso_size).max(1),
            next: 0,
        })
    }

    /// How many segments there are in all.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The length of the next segment, or `None` when all are out.
    pub fn next_len(&self) -> Option<usize> {
        if self.next >= self.count {
            return None;
        }
        let start = self.hdr_len + self.next * self.gso_size;
        let end = (start + self.gso_size).min(self.packet.len());
        Some(self.hdr_len + (end - start))
    }

    /// Writes the next segment at the start of `dst` and returns its length; `None` when all
    /// are out or `dst` is shorter than [`Segmenter::next_len`].
    pub fn next_into(&mut self, dst: &mut [u8]) -> Option<usize> {
        let len = self.next_len()?;
        if dst.len() < len {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let start = self.hdr_len + i * self.gso_size;
        let dst = &mut dst[..len];
        dst[..self.hdr_len].copy_from_slice(&self.packet[..self.hdr_len]);
        dst[self.hdr_len..].copy_from_slice(&self.packet[start..start + len - self.hdr_len]);
        let l4 = self.l4;
        if self.v4 {
            dst[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            dst[4..6].copy_from_slice(&self.ip_id.wrapping_add(i as u16).to_be_bytes());
            dst[10..12].copy_from_slice(&[0, 0]);
            let ihl = usize::from(dst[0] & 0x0f) * 4;
            let c = checksum::finish(checksum::add(0, &dst[..ihl]));
            dst[10..12].copy_from_slice(&c.to_be_bytes());
        } else {
            dst[4..6].copy_from_slice(&((len - 40) as u16).to_be_bytes());
        }
        let seq = self.seq.wrapping_add((i * self.gso_size) as u32);
        dst[l4 + 4..l4 + 8].copy_from_slice(&seq.to_be_bytes());
        if i + 1 != self.count {
            dst[l4 + 13] &= !(TCP_FIN | TCP_PSH);
        }
        if i != 0 {
            dst[l4 + 13] &= !TCP_CWR;
        }
        dst[l4 + 16..l4 + 18].copy_from_slice(&[0, 0]);
        let sum = checksum::pseudo_header(dst, 6, len - l4);
        let c = checksum::finish(checksum::add(sum, &dst[l4..]));
        dst[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
        Some(len)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a TCP/IPv4 packet with a valid checksum (or, with `partial`, the pseudo-header sum
    /// a kernel leaves for NEEDS_CSUM).
    pub(crate) fn tcp4(seq: u32, flags: u8, payload: &[u8], partial: bool) -> Vec<u8> {
        let len = 20 + 32 + payload.len();
        let mut p = vec![0u8; len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        p[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[169, 254, 10, 1]);
        p[16..20].copy_from_slice(&[169, 254, 10, 2]);
        let c = checksum::finish(checksum::add(0, &p[..20]));
        p[10..12].copy_from_slice(&c.to_be_bytes());
        let t = &mut p[20..];
        t[0..2].copy_from_slice(&5201u16.to_be_bytes());
        t[2..4].copy_from_slice(&40000u16.to_be_bytes());
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[8..12].copy_from_slice(&77u32.to_be_bytes());
        t[12] = 8 << 4;
        t[13] = flags;
        t[14..16].copy_from_slice(&502u16.to_be_bytes());
        // Options: NOP NOP timestamp.
        t[20..32].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8]);
        t[32..].copy_from_slice(payload);
        let pseudo = checksum::pseudo_header(&p, 6, len - 20);
        let c = if partial {
            checksum::fold(pseudo)
        } else {
            checksum::finish(checksum::add(pseudo, &p[20..]))
        };
        p[36..38].copy_from_slice(&c.to_be_bytes());
        p
    }

    pub(crate) fn tcp_checksum_ok(p: &[u8]) -> bool {
        let l4 = if p[0] >> 4 == 4 {
            usize::from(p[0] & 0xf) * 4
        } else {
            40
        };
        let pseudo = checksum::pseudo_header(p, 6, p.len() - l4);
        checksum::finish(checksum::add(pseudo, &p[l4..])) == 0
    }

    fn tso_hdr(gso_size: u16) -> VnetHdr {
        VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GsoType::TcpV4,
            hdr_len: 52,
            gso_size,
            csum_start: 20,
            csum_offset: 16,
        }
    }

    #[test]
    fn a_super_segment_becomes_mss_sized_packets_with_valid_checksums() {
        let payload: Vec<u8> = (0..3500u32).map(|i| (i * 7) as u8).collect();
        let sup = tcp4(1000, 0x18 | TCP_FIN | TCP_CWR, &payload, true);
        let mut seg = Segmenter::new(&sup, &tso_hdr(1400)).unwrap();
        assert_eq!(seg.count(), 3);
        let mut out = Vec::new();
        let mut dst = vec![0u8; 2000];
        while let Some(len) = seg.next_into(&mut dst) {
            out.push(dst[..len].to_vec());
        }
        assert_eq!(out.len(), 3);
        let mut joined = Vec::new();
        for (i, p) in out.iter().enumerate() {
            assert_eq!(
                checksum::finish(checksum::add(0, &p[..20])),
                0,
                "IP checksum {i}"
            );
            assert!(tcp_checksum_ok(p), "TCP checksum {i}");
            assert_eq!(u16::from_be_bytes([p[2], p[3]]) as usize, p.len());
            assert_eq!(u16::from_be_bytes([p[4], p[5]]), 0x1234 + i as u16);
            let seq = u32::from_be_bytes([p[24], p[25], p[26], p[27]]);
            assert_eq!(seq, 1000 + 1400 * i as u32);
            let flags = p[33];
            assert_eq!(flags & TCP_FIN != 0, i == 2, "FIN only last");
            assert_eq!(flags & TCP_PSH != 0, i == 2, "PSH only last");
            assert_eq!(flags & TCP_CWR != 0, i == 0, "CWR only first");
            joined.extend_from_slice(&p[52..]);
        }
        assert_eq!(joined, payload);
        assert_eq!(out[2].len(), 52 + 700);
    }

    #[test]
    fn partial_checksums_are_completed() {
        let mut p = tcp4(5, 0x10, b"hello, tunnel", true);
        assert!(!tcp_checksum_ok(&p));
        complete_checksum(&mut p, 20, 16).unwrap();
        assert!(tcp_checksum_ok(&p));
        assert_eq!(
            complete_checksum(&mut p[..30], 20, 16),
            Err(SegmentError::Malformed)
        );
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        let hdr = tso_hdr(1400);
        assert!(Segmenter::new(&[], &hdr).is_err());
        assert!(Segmenter::new(&[0x45; 30], &hdr).is_err());
        let udp = VnetHdr {
            gso_type: GsoType::Udp,
            ..hdr
        };
        assert_eq!(
            Segmenter::new(&tcp4(1, 0x10, b"x", true), &udp).unwrap_err(),
            SegmentError::Unsupported(GsoType::Udp)
        );
        let zero = VnetHdr { gso_size: 0, ..hdr };
        assert!(Segmenter::new(&tcp4(1, 0x10, b"x", true), &zero).is_err());
    }

    proptest::proptest! {
        /// Whatever the header and bytes, segmenting never panics and never writes past a slot.
        #[test]
        fn segmenting_garbage_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            gso in 0u16..300, start in 0u16..80, v6 in proptest::bool::ANY,
        ) {
            let hdr = VnetHdr {
                flags: F_NEEDS_CSUM,
                gso_type: if v6 { GsoType::TcpV6 } else { GsoType::TcpV4 },
                hdr_len: 0,
                gso_size: gso,
                csum_start: start,
                csum_offset: 16,
            };
            if let Ok(mut s) = Segmenter::new(&bytes, &hdr) {
                let mut dst = vec![0u8; 512];
                let mut n = 0;
                while s.next_into(&mut dst).is_some() {
                    n += 1;
                    proptest::prop_assert!(n <= 400);
                }
            }
            let mut b = bytes.clone();
            let _ = complete_checksum(&mut b, usize::from(start), 16);
        }
    }
}
