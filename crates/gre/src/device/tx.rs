//! The tx thread: TUN -> GRE -> raw socket.
//!
//! ```text
//!  poll(TUN, wake) ─► read TUN into the next slot until empty or the batch is full
//!        ▲             slot: [16 octets of room][vnet hdr?][packet .............]
//!        │             plain packet: complete a partial checksum, GRE header written into the
//!        │               room in front of it (in place, no copy)
//!        │             TSO super-segment: cut into MSS-sized packets in `out`, each behind
//!        │               its own GRE header
//!        └──────────── flush: one sendmmsg per 64 packets to (remote, 0); EAGAIN waits for room
//! ```
//!
//! What it does not do: fragment (the kernel does, if the underlay MTU is smaller than MTU +
//! overhead), or look at what the inner packets are beyond their IP version.

use std::fs::File;
use std::io::{self, Read};
use std::net::{SocketAddr, SocketAddrV4};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use netns::mmsg::{SendBatch, SendMeta};
use netns::poll::{poll_readable, poll_writable};
use socket2::Socket;
use tun_offload::segment::{self, Segmenter};
use tun_offload::vnet::{self, F_NEEDS_CSUM, GsoType, VnetHdr};

use super::Shared;
use crate::wire::gre::{MAX_HEADER_LEN, Packet, Protocol, Repr};

/// Largest inside packet (IPv4/IPv6 length fields).
const MAX_PACKET: usize = 65535;
/// Room in front of each packet for the longest GRE header.
const HEADROOM: usize = MAX_HEADER_LEN;
/// Read slots (each can take a 64 KiB super-segment).
const SLOTS: usize = 64;
/// Packets per sendmmsg, and queued before a flush.
const MAX_MESSAGES: usize = 64;
/// Octets for the segments of super-segments.
const OUT_CAPACITY: usize = 512 * 1024;

#[derive(Debug, Clone, Copy)]
enum Loc {
    /// In read slot `i`, encapsulated in place.
    Slot(usize),
    /// In `out` (a segment of a super-segment).
    Out,
}

/// One GRE packet ready to send: `buf[start..end]` of its location.
#[derive(Debug, Clone, Copy)]
struct Msg {
    loc: Loc,
    start: usize,
    end: usize,
}

pub(crate) struct TxWorker {
    shared: Arc<Shared>,
    tun: File,
    socket: Socket,
    wake: UnixDatagram,
    remote: SocketAddr,
    vnet_len: usize,
    /// The header every packet gets, but for the sequence number.
    template: Repr,
    next_sequence: u32,
    slots: Vec<Vec<u8>>,
    slots_used: usize,
    out: Vec<u8>,
    out_len: usize,
    msgs: Vec<Msg>,
    batch: SendBatch,
}

impl TxWorker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        tun: File,
        socket: Socket,
        wake: UnixDatagram,
    ) -> TxWorker {
        let config = &shared.config;
        let template = Repr {
            protocol: Protocol::Ipv4,
            checksum: config.checksum,
            key: config.key,
            sequence_number: config.send_sequence.then_some(0),
        };
        TxWorker {
            remote: SocketAddr::V4(SocketAddrV4::new(config.remote, 0)),
            vnet_len: if config.offloads { vnet::LEN } else { 0 },
            template,
            next_sequence: 0,
            shared,
            tun,
            socket,
            wake,
            slots: (0..SLOTS)
                .map(|_| vec![0u8; HEADROOM + MAX_PACKET])
                .collect(),
            slots_used: 0,
            out: vec![0u8; OUT_CAPACITY],
            out_len: 0,
            msgs: Vec::with_capacity(MAX_MESSAGES),
            batch: SendBatch::new(MAX_MESSAGES),
        }
    }

    pub(crate) fn run(mut self) {
        let span = tracing::debug_span!("gre_tx", device = %self.shared.config.name);
        let _guard = span.enter();
        if let Err(e) = self.run_loop() {
            tracing::error!(error = %e, "GRE tx thread stopped");
            self.shared.failed(format!("tx: {e}"));
        }
    }

    fn run_loop(&mut self) -> io::Result<()> {
        loop {
            if self.shared.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let ready = poll_readable(
                &[self.tun.as_fd(), self.wake.as_fd()],
                Some(Duration::from_secs(1)),
            )?;
            if ready & 2 != 0 {
                let mut b = [0u8; 16];
                while self.wake.recv(&mut b).is_ok() {}
            }
            if ready & 1 != 0 {
                self.read_tun()?;
            }
        }
    }

    /// Reads TUN until it is empty, flushing whenever the batch fills.
    fn read_tun(&mut self) -> io::Result<()> {
        loop {
            if self.slots_used == SLOTS
                || self.msgs.len() >= MAX_MESSAGES
                || self.out_len + 2 * (HEADROOM + MAX_PACKET) > self.out.len()
            {
                self.flush()?;
            }
            let i = self.slots_used;
            let read_at = HEADROOM - self.vnet_len;
            let n = match (&self.tun).read(&mut self.slots[i][read_at..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.slots_used += 1;
            self.handle_read(i, read_at + n)?;
        }
        self.flush()
    }

    /// Encapsulates what was read into slot `i` (the packet ends at `end`).
    fn handle_read(&mut self, i: usize, end: usize) -> io::Result<()> {
        let counters = &self.shared.counters;
        let hdr = if self.vnet_len > 0 {
            match VnetHdr::decode(&self.slots[i][HEADROOM - vnet::LEN..end]) {
                Some(h) => h,
                None => {
                    counters.tun_malformed(1);
                    return Ok(());
                }
            }
        } else {
            VnetHdr::NONE
        };
        if end <= HEADROOM {
            counters.tun_malformed(1);
            return Ok(());
        }
        match hdr.gso_type {
            GsoType::None => {
                let packet = &mut self.slots[i][HEADROOM..end];
                if hdr.flags & F_NEEDS_CSUM != 0
                    && segment::complete_checksum(
                        packet,
                        usize::from(hdr.csum_start),
                        usize::from(hdr.csum_offset),
                    )
                    .is_err()
                {
                    counters.tun_malformed(1);
                    return Ok(());
                }
                let Some(protocol) = ip_protocol(packet) else {
                    counters.tun_malformed(1);
                    return Ok(());
                };
                let repr = self.next_repr(protocol);
                let start = encapsulate(&mut self.slots[i], HEADROOM, end, &repr);
                self.msgs.push(Msg {
                    loc: Loc::Slot(i),
                    start,
                    end,
                });
                Ok(())
            }
            _ => self.cut(i, end, &hdr),
        }
    }

    /// Cuts the super-segment in slot `i` into `out`, one GRE packet per segment.
    fn cut(&mut self, i: usize, end: usize, hdr: &VnetHdr) -> io::Result<()> {
        // Out of `slots` while it is read, so that a flush can borrow `self`; no message points
        // into this slot (a super-segment is never sent as it is).
        let source = std::mem::take(&mut self.slots[i]);
        let result = self.cut_from(&source[HEADROOM..end], hdr);
        self.slots[i] = source;
        result
    }

    fn cut_from(&mut self, packet: &[u8], hdr: &VnetHdr) -> io::Result<()> {
        let mut seg = match Segmenter::new(packet, hdr) {
            Ok(seg) => seg,
            Err(e) => {
                tracing::debug!(error = %e, "dropping packet from TUN");
                self.shared.counters.tun_malformed(1);
                return Ok(());
            }
        };
        let protocol = if hdr.gso_type == GsoType::TcpV4 {
            Protocol::Ipv4
        } else {
            Protocol::Ipv6
        };
        while let Some(len) = seg.next_len() {
            if self.msgs.len() >= MAX_MESSAGES || self.out_len + HEADROOM + len > self.out.len() {
                self.flush()?;
            }
            let at = self.out_len + HEADROOM;
            if seg.next_into(&mut self.out[at..]).is_none() {
                self.shared.counters.tun_malformed(1);
                return Ok(());
            }
            let repr = self.next_repr(protocol);
            let start = encapsulate(&mut self.out, at, at + len, &repr);
            self.msgs.push(Msg {
                loc: Loc::Out,
                start,
                end: at + len,
            });
            // Keep each packet 8-aligned in `out`.
            self.out_len = (at + len + 7) & !7;
        }
        Ok(())
    }

    /// The header of the next packet: the template with the next sequence number.
    fn next_repr(&mut self, protocol: Protocol) -> Repr {
        let mut repr = self.template;
        repr.protocol = protocol;
        if repr.sequence_number.is_some() {
            repr.sequence_number = Some(self.next_sequence);
            self.next_sequence = self.next_sequence.wrapping_add(1);
        }
        repr
    }

    /// Sends everything queued, then frees the slots and `out`.
    fn flush(&mut self) -> io::Result<()> {
        let overhead = self.template.buffer_len();
        let counters = &self.shared.counters;
        let mut sent = 0;
        while sent < self.msgs.len() {
            let pending = &self.msgs[sent..];
            let n = pending.len().min(MAX_MESSAGES);
            let mut metas = [SendMeta {
                buf: &[],
                addr: None,
                segment_size: None,
            }; MAX_MESSAGES];
            for (m, msg) in metas.iter_mut().zip(&pending[..n]) {
                let buf = match msg.loc {
                    Loc::Slot(i) => &self.slots[i][msg.start..msg.end],
                    Loc::Out => &self.out[msg.start..msg.end],
                };
                *m = SendMeta {
                    buf,
                    addr: Some(self.remote),
                    segment_size: None,
                };
            }
            match self.batch.send(self.socket.as_fd(), &metas[..n]) {
                Ok(k) if k > 0 => {
                    let bytes: usize = metas[..k].iter().map(|m| m.buf.len() - overhead).sum();
                    counters.packets_out(k as u64);
                    counters.bytes_out(bytes as u64);
                    sent += k;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The socket buffer is full: wait for room rather than drop (TCP inside
                    // would see loss), but never forever.
                    if !poll_writable(self.socket.as_fd(), Some(Duration::from_millis(100)))? {
                        counters.send_errors((self.msgs.len() - sent) as u64);
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // No route to the peer and the like: count, drop this packet, go on.
                    tracing::debug!(error = %e, remote = %self.remote, "GRE send failed");
                    counters.send_errors(1);
                    sent += 1;
                }
            }
        }
        self.msgs.clear();
        self.out_len = 0;
        self.slots_used = 0;
        Ok(())
    }
}

/// The GRE protocol type for an IP packet, by its version nibble.
fn ip_protocol(packet: &[u8]) -> Option<Protocol> {
    match packet.first()? >> 4 {
        4 => Some(Protocol::Ipv4),
        6 => Some(Protocol::Ipv6),
        _ => None,
    }
}

/// Writes `repr`'s header in front of the packet at `buf[at..end]`; returns where it starts.
fn encapsulate(buf: &mut [u8], at: usize, end: usize, repr: &Repr) -> usize {
    let start = at - repr.buffer_len();
    repr.emit(&mut Packet::new_unchecked(&mut buf[start..end]));
    start
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encapsulation_writes_the_header_in_the_room_in_front() {
        let mut buf = vec![0u8; HEADROOM + 4];
        buf[HEADROOM..].copy_from_slice(&[0x45, 1, 2, 3]);
        let repr = Repr {
            protocol: Protocol::Ipv4,
            checksum: true,
            key: Some(9),
            sequence_number: Some(1),
        };
        let start = encapsulate(&mut buf, HEADROOM, HEADROOM + 4, &repr);
        assert_eq!(start, 0);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&p), Ok(repr));
        assert_eq!(p.payload(), &[0x45, 1, 2, 3]);
        assert_eq!(ip_protocol(&[0x60]), Some(Protocol::Ipv6));
        assert_eq!(ip_protocol(&[0x10]), None);
    }
}
