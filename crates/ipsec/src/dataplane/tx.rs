//! The tx thread: TUN -> ESP -> UDP.
//!
//! ```text
//!  poll(TUN, wake) ─► drain commands ─► read TUN until empty or the batch is full
//!        ▲               for each read: [vnet hdr] packet | TSO super-segment
//!        │                  cut / complete checksum ─► seal into `out` (one slot per packet)
//!        │                  same-size consecutive packets form one GSO train
//!        └──────────── flush: one sendmmsg (retry on EAGAIN; no GSO if the kernel refuses it)
//! ```
//!
//! What it does not do: decide anything about SAs beyond using the active one; limits reached
//! are reported as events for the IKE side.

use std::fs::File;
use std::io::{self, Read};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use netns::mmsg::{SendBatch, SendMeta};
use netns::poll::{poll_readable, poll_writable};
use tun_offload::segment::{self, Segmenter};
use tun_offload::vnet::{self, F_NEEDS_CSUM, GsoType, VnetHdr};

use super::{DataplaneConfig, DataplaneEvent, Direction, Shared, TxCommand};
use crate::esp::wire::Layout;
use crate::esp::{EspError, NextHeader, OutboundSa};

/// Largest inside packet (IPv4/IPv6 length fields).
const MAX_PACKET: usize = 65535;
/// Room one ESP packet of an inside packet of MAX_PACKET may need in `out`... and a TSO
/// super-segment cut into many ESP packets (each adds at most 36 octets with an AEAD, 73 with
/// AES-CBC + HMAC-SHA2-512).
const OUT_CAPACITY: usize = 4 * (MAX_PACKET + 64 * 64);
/// Messages per sendmmsg.
const MAX_MESSAGES: usize = 64;
/// Segments per GSO train (the kernel's UDP_MAX_SEGMENTS is 128 on recent kernels, 64 on older).
const MAX_TRAIN_SEGMENTS: usize = 64;
/// Octets per GSO train (one IP packet: 65535 minus IP and UDP headers, with margin for IPv6).
const MAX_TRAIN_BYTES: usize = 65535 - 48 - 8;

struct Outbound {
    inbound_spi: u32,
    sa: Box<OutboundSa>,
    hard_reported: bool,
}

/// A run of ESP packets back to back in `out`, sent as one message (a GSO train if count > 1).
#[derive(Debug, Clone, Copy)]
struct Train {
    start: usize,
    end: usize,
    segment: usize,
    count: usize,
    closed: bool,
}

pub(crate) struct TxWorker {
    shared: Arc<Shared>,
    tun: File,
    socket: UdpSocket,
    commands: mpsc::Receiver<TxCommand>,
    wake: UnixDatagram,
    vnet_hdr: bool,
    gso: bool,
    peer: SocketAddr,
    sas: Vec<Outbound>,
    active: Option<usize>,
    tun_buf: Vec<u8>,
    out: Vec<u8>,
    out_len: usize,
    trains: Vec<Train>,
    batch: SendBatch,
}

impl TxWorker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        tun: File,
        socket: UdpSocket,
        commands: mpsc::Receiver<TxCommand>,
        wake: UnixDatagram,
        config: &DataplaneConfig,
    ) -> TxWorker {
        TxWorker {
            shared,
            tun,
            socket,
            commands,
            wake,
            vnet_hdr: config.vnet_hdr,
            gso: config.udp_gso,
            peer: config.peer,
            sas: Vec::with_capacity(4),
            active: None,
            tun_buf: vec![0u8; vnet::LEN + MAX_PACKET],
            out: vec![0u8; OUT_CAPACITY],
            out_len: 0,
            trains: Vec::with_capacity(MAX_MESSAGES),
            batch: SendBatch::new(MAX_MESSAGES),
        }
    }

    pub(crate) fn run(mut self) {
        let span = tracing::debug_span!("esp_tx", tunnel = %self.shared.name);
        let _guard = span.enter();
        if let Err(e) = self.run_loop() {
            tracing::error!(error = %e, "ESP tx thread stopped");
            self.shared.event(DataplaneEvent::Failed {
                reason: format!("tx: {e}"),
            });
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
            self.drain_commands();
            if ready & 1 != 0 {
                self.read_tun()?;
            }
        }
    }

    fn drain_commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                TxCommand::Install {
                    inbound_spi,
                    sa,
                    activate,
                } => {
                    self.sas.push(Outbound {
                        inbound_spi,
                        sa,
                        hard_reported: false,
                    });
                    if activate {
                        self.active = Some(self.sas.len() - 1);
                    }
                }
                TxCommand::Activate { inbound_spi } => {
                    self.active = self.sas.iter().position(|o| o.inbound_spi == inbound_spi);
                }
                TxCommand::Remove { inbound_spi } => {
                    let active_spi = self.active.map(|i| self.sas[i].inbound_spi);
                    self.sas.retain(|o| o.inbound_spi != inbound_spi);
                    self.active = active_spi
                        .and_then(|spi| self.sas.iter().position(|o| o.inbound_spi == spi));
                }
                TxCommand::SetPeer(peer) => self.peer = peer,
            }
        }
    }

    /// Reads TUN until it is empty, flushing whenever the batch fills.
    fn read_tun(&mut self) -> io::Result<()> {
        loop {
            let n = match self.tun.read(&mut self.tun_buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.handle_read(n);
            if self.out_len + MAX_PACKET + 64 * 64 > self.out.len()
                || self.trains.len() >= MAX_MESSAGES
            {
                self.flush()?;
            }
        }
        self.flush()
    }

    fn handle_read(&mut self, n: usize) {
        let counters = &self.shared.counters;
        let (hdr, start) = if self.vnet_hdr {
            match VnetHdr::decode(&self.tun_buf[..n]) {
                Some(h) => (h, vnet::LEN),
                None => {
                    counters.add_malformed(1);
                    return;
                }
            }
        } else {
            (VnetHdr::NONE, 0)
        };
        if self.active.is_none() {
            counters.add_no_outbound_sa(1);
            return;
        }
        // Take the buffer out so the packet can be borrowed while `self` is mutated.
        let mut buf = std::mem::take(&mut self.tun_buf);
        let packet = &mut buf[start..n];
        match hdr.gso_type {
            GsoType::None => {
                if hdr.flags & F_NEEDS_CSUM != 0
                    && segment::complete_checksum(
                        packet,
                        usize::from(hdr.csum_start),
                        usize::from(hdr.csum_offset),
                    )
                    .is_err()
                {
                    self.shared.counters.add_malformed(1);
                } else {
                    self.seal_one(|dst| {
                        let len = packet.len();
                        dst.get_mut(..len)?.copy_from_slice(packet);
                        Some(len)
                    });
                }
            }
            _ => match Segmenter::new(packet, &hdr) {
                Ok(mut seg) => {
                    while seg.next_len().is_some() {
                        if !self.seal_one(|dst| seg.next_into(dst)) {
                            break;
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "dropping packet from TUN");
                    self.shared.counters.add_malformed(1);
                }
            },
        }
        self.tun_buf = buf;
    }

    /// Writes one inside packet into the next slot of `out` (through `fill`, which returns its
    /// length), seals it and adds it to the current train. False if the batch is full or the
    /// SA refused, so the caller stops feeding this read.
    fn seal_one(&mut self, fill: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        let Some(active) = self.active else {
            self.shared.counters.add_no_outbound_sa(1);
            return false;
        };
        let pos = self.out_len;
        if pos + Layout::MAX_PAYLOAD_OFFSET + MAX_PACKET + Layout::MAX_TAIL_ROOM > self.out.len()
            && self.flush_for_room().is_err()
        {
            return false;
        }
        let pos = self.out_len;
        // The inner packet goes where the active SA's cipher wants it (after an 8- or 16-octet IV).
        let at = pos + self.sas[active].sa.layout().payload_offset();
        let Some(len) = fill(&mut self.out[at..]) else {
            self.shared.counters.add_malformed(1);
            return false;
        };
        let Some(next_header) = NextHeader::for_ip_packet(&self.out[at..]) else {
            self.shared.counters.add_malformed(1);
            return true;
        };
        let out = &mut self.sas[active];
        match out.sa.seal(&mut self.out[pos..], len, next_header) {
            Ok(sealed) => {
                if sealed.soft_limit {
                    tracing::info!(
                        spi = format_args!("{:#010x}", out.sa.spi()),
                        "outbound SA crossed a soft limit; asking for a rekey"
                    );
                    self.shared.event(DataplaneEvent::SoftLimit {
                        inbound_spi: out.inbound_spi,
                        direction: Direction::Outbound,
                    });
                }
                self.shared.counters.add_out(1, len as u64);
                self.out_len += sealed.len;
                self.add_to_train(pos, sealed.len);
                true
            }
            Err(EspError::SequenceExhausted | EspError::HardLimit) => {
                self.shared.counters.add_no_outbound_sa(1);
                if !out.hard_reported {
                    out.hard_reported = true;
                    tracing::warn!(
                        spi = format_args!("{:#010x}", out.sa.spi()),
                        "outbound SA reached a hard limit; it no longer sends"
                    );
                    self.shared.event(DataplaneEvent::HardLimit {
                        inbound_spi: out.inbound_spi,
                        direction: Direction::Outbound,
                    });
                }
                false
            }
            Err(e) => {
                tracing::debug!(error = %e, "seal failed");
                self.shared.counters.add_malformed(1);
                false
            }
        }
    }

    fn flush_for_room(&mut self) -> io::Result<()> {
        self.flush()
    }

    fn add_to_train(&mut self, start: usize, len: usize) {
        if self.gso
            && let Some(t) = self.trains.last_mut()
            && !t.closed
            && t.end == start
            && len <= t.segment
            && t.count < MAX_TRAIN_SEGMENTS
            && t.end - t.start + len <= MAX_TRAIN_BYTES
        {
            t.end += len;
            t.count += 1;
            // A shorter datagram can only be the last of a GSO train.
            t.closed = len < t.segment;
            return;
        }
        self.trains.push(Train {
            start,
            end: start + len,
            segment: len,
            count: 1,
            closed: false,
        });
    }

    /// Sends everything sealed so far.
    fn flush(&mut self) -> io::Result<()> {
        let mut sent = 0;
        while sent < self.trains.len() {
            let pending = &self.trains[sent..];
            let n = pending.len().min(MAX_MESSAGES);
            let mut msgs = [SendMeta {
                buf: &[],
                addr: None,
                segment_size: None,
            }; MAX_MESSAGES];
            for (m, t) in msgs.iter_mut().zip(&pending[..n]) {
                *m = SendMeta {
                    buf: &self.out[t.start..t.end],
                    addr: Some(self.peer),
                    segment_size: (t.count > 1).then_some(t.segment as u16),
                };
            }
            match self.batch.send(self.socket.as_fd(), &msgs[..n]) {
                Ok(k) => sent += k.max(1),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The socket buffer is full: wait for room rather than drop (TCP inside
                    // would see loss), but never forever.
                    if !poll_writable(self.socket.as_fd(), Some(Duration::from_millis(100)))? {
                        self.count_unsent(sent);
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if self.gso
                        && pending[0].count > 1
                        && matches!(e.raw_os_error(), Some(libc::EIO | libc::EINVAL)) =>
                {
                    tracing::warn!(error = %e, "the kernel refused UDP GSO; sending datagrams one by one");
                    self.gso = false;
                    self.split_trains(sent);
                }
                Err(e) => {
                    // Unreachable peer and the like: count, drop the message, keep going.
                    tracing::debug!(error = %e, peer = %self.peer, "ESP send failed");
                    self.shared
                        .counters
                        .add_send_errors(pending[0].count as u64);
                    sent += 1;
                }
            }
        }
        self.trains.clear();
        self.out_len = 0;
        Ok(())
    }

    fn count_unsent(&self, from: usize) {
        let unsent: usize = self.trains[from..].iter().map(|t| t.count).sum();
        self.shared.counters.add_send_errors(unsent as u64);
    }

    /// Replaces the trains from `from` on by single datagrams (after the kernel refused GSO).
    fn split_trains(&mut self, from: usize) {
        let rest: Vec<Train> = self.trains.drain(from..).collect();
        for t in rest {
            let mut at = t.start;
            while at < t.end {
                let end = (at + t.segment).min(t.end);
                self.trains.push(Train {
                    start: at,
                    end,
                    segment: end - at,
                    count: 1,
                    closed: true,
                });
                at = end;
            }
        }
    }
}
