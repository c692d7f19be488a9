//! The rx thread: raw socket -> GRE checks -> TUN.
//!
//! ```text
//!  poll(socket, wake) ─► recvmmsg into 64 slots, each [outer IPv4 | GRE | inner packet]
//!        ▲               per packet, in this order (the first failing check counts and drops):
//!        │                 outer IPv4 well-formed, protocol 47             else malformed
//!        │                 (src, dst) == (remote, local)                   else not_ours
//!        │                 GRE parses (version, R, Reserved0, checksum)    else by reason
//!        │                 key as configured                               else key_mismatch
//!        │                 sequence number in order (if checked)           else out_of_order
//!        │                 IPv4/IPv6 inner packet that fits                else unsupported_payload
//!        │               TCP data -> coalescer (one super-segment per run) -> TUN
//!        └────────────── anything else -> TUN as it is (vnet header written in place over the
//!                        spent outer headers)
//! ```
//!
//! What it does not do: answer anything on the wire (no ICMP), or reorder.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use netns::mmsg::{RecvBatch, RecvMeta};
use netns::poll::poll_readable;
use socket2::Socket;
use tun_offload::coalesce::{Coalescer, Offer};
use tun_offload::vnet::{self, VnetHdr};

use super::Shared;
use crate::sequence::SequenceCheck;
use crate::wire::gre::{BASE_LEN, Packet, Protocol, Repr};
use crate::wire::ipv4::{self, PROTOCOL_GRE};

/// One receive slot: the largest IPv4 packet.
const SLOT: usize = 65536;
/// Slots per recvmmsg.
const SLOTS: usize = 64;

// The virtio-net header fits where the outer IPv4 header and the smallest GRE header were in front
// of a decapsulated packet (written in place).
const _: () = assert!(vnet::LEN <= ipv4::MIN_HEADER_LEN + BASE_LEN);

pub(crate) struct RxWorker {
    shared: Arc<Shared>,
    tun: File,
    socket: Socket,
    wake: UnixDatagram,
    vnet_hdr: bool,
    sequence: SequenceCheck,
    slots: Vec<Vec<u8>>,
    meta: Vec<RecvMeta>,
    batch: RecvBatch,
    coalescer: Coalescer,
}

impl RxWorker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        tun: File,
        socket: Socket,
        wake: UnixDatagram,
    ) -> RxWorker {
        RxWorker {
            vnet_hdr: shared.config.offloads,
            shared,
            tun,
            socket,
            wake,
            sequence: SequenceCheck::new(),
            slots: (0..SLOTS).map(|_| vec![0u8; SLOT]).collect(),
            meta: vec![RecvMeta::default(); SLOTS],
            batch: RecvBatch::new(SLOTS),
            coalescer: Coalescer::new(),
        }
    }

    pub(crate) fn run(mut self) {
        let span = tracing::debug_span!("gre_rx", device = %self.shared.config.name);
        let _guard = span.enter();
        if let Err(e) = self.run_loop() {
            tracing::error!(error = %e, "GRE rx thread stopped");
            self.shared.failed(format!("rx: {e}"));
        }
    }

    fn run_loop(&mut self) -> io::Result<()> {
        loop {
            if self.shared.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let ready = poll_readable(
                &[self.socket.as_fd(), self.wake.as_fd()],
                Some(Duration::from_secs(1)),
            )?;
            if ready & 2 != 0 {
                let mut b = [0u8; 16];
                while self.wake.recv(&mut b).is_ok() {}
            }
            if ready & 1 != 0 {
                self.receive()?;
            }
        }
    }

    /// Receives until the socket is empty.
    fn receive(&mut self) -> io::Result<()> {
        loop {
            let n = match self.batch.recv(self.socket.as_fd(), &mut self.slots) {
                Ok(metas) => {
                    self.meta[..metas.len()].copy_from_slice(metas);
                    metas.len()
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(());
            }
            let mut slots = std::mem::take(&mut self.slots);
            for (i, slot) in slots.iter_mut().enumerate().take(n) {
                let meta = self.meta[i];
                if meta.truncated {
                    self.shared.counters.malformed(1);
                    continue;
                }
                let len = meta.len.min(slot.len());
                self.packet(&mut slot[..len]);
            }
            self.slots = slots;
            self.flush_coalesced();
        }
    }

    /// Checks one received packet (outer IPv4 header first) and delivers its inner packet.
    fn packet(&mut self, p: &mut [u8]) {
        let config = &self.shared.config;
        let counters = &self.shared.counters;
        let outer = match ipv4::Header::parse(p) {
            Ok(h) if h.protocol == PROTOCOL_GRE => h,
            Ok(_) => {
                counters.malformed(1);
                return;
            }
            Err(e) => {
                counters.wire_error(e);
                return;
            }
        };
        if outer.src != config.remote || outer.dst != config.local {
            counters.not_ours(1);
            return;
        }
        let gre = outer.payload();
        let repr = match Repr::parse(&Packet::new_unchecked(&p[gre.clone()])) {
            Ok(repr) => repr,
            Err(e) => {
                counters.wire_error(e);
                return;
            }
        };
        if repr.key != config.key {
            counters.key_mismatch(1);
            return;
        }
        if config.check_sequence
            && let Some(s) = repr.sequence_number
            && !self.sequence.accept(s)
        {
            counters.out_of_order(1);
            return;
        }
        let start = gre.start + repr.buffer_len();
        let Some(len) = inner_len(repr.protocol, &p[start..gre.end]) else {
            counters.unsupported_payload(1);
            return;
        };
        counters.packets_in(1);
        counters.bytes_in(len as u64);
        self.deliver(p, start, start + len);
    }

    /// Hands one inner packet (`p[start..end]`) to TUN, through the coalescer.
    fn deliver(&mut self, p: &mut [u8], start: usize, end: usize) {
        if !self.vnet_hdr {
            let result = write_frame(&self.tun, &p[start..end]);
            self.count_tun_result(result);
            return;
        }
        match self.coalescer.offer(&p[start..end]) {
            Offer::Taken => return,
            Offer::Refused => {}
            Offer::FlushFirst => {
                self.flush_coalesced();
                if self.coalescer.offer(&p[start..end]) == Offer::Taken {
                    return;
                }
            }
        }
        self.flush_coalesced();
        // The outer IPv4 and GRE headers in front of the packet are spent (at least 24 octets):
        // the virtio-net header goes there.
        let at = start - vnet::LEN;
        VnetHdr::NONE.encode(&mut p[at..start]);
        let result = write_frame(&self.tun, &p[at..end]);
        self.count_tun_result(result);
    }

    fn flush_coalesced(&mut self) {
        if let Some(frame) = self.coalescer.flush() {
            let result = write_frame(&self.tun, frame);
            self.count_tun_result(result);
        }
    }

    fn count_tun_result(&self, result: io::Result<()>) {
        if let Err(e) = result {
            // EIO while the device is down, EINVAL for a packet the kernel refuses: count, go on.
            tracing::debug!(error = %e, "TUN write failed");
            self.shared.counters.tun_write_errors(1);
        }
    }
}

/// The length of the inner packet by its own header, if it is the IP version the protocol type
/// says and fits in `payload` (trailing octets beyond it are dropped).
fn inner_len(protocol: Protocol, payload: &[u8]) -> Option<usize> {
    let version = payload.first()? >> 4;
    let len = match (protocol, version) {
        (Protocol::Ipv4, 4) if payload.len() >= 20 => {
            usize::from(u16::from_be_bytes([payload[2], payload[3]]))
        }
        (Protocol::Ipv6, 6) if payload.len() >= 40 => {
            usize::from(u16::from_be_bytes([payload[4], payload[5]])) + 40
        }
        _ => return None,
    };
    let min = if version == 4 { 20 } else { 40 };
    (min..=payload.len()).contains(&len).then_some(len)
}

/// One TUN write carries exactly one packet (or super-segment); it is never partial.
fn write_frame(mut tun: &File, frame: &[u8]) -> io::Result<()> {
    let n = tun.write(frame)?;
    if n == frame.len() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("TUN took {n} of {} octets", frame.len()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_length_needs_the_matching_version_and_fits() {
        let mut v4 = vec![0x45, 0, 0, 20];
        v4.resize(24, 0);
        assert_eq!(inner_len(Protocol::Ipv4, &v4), Some(20));
        assert_eq!(inner_len(Protocol::Ipv6, &v4), None);
        v4[3] = 25;
        assert_eq!(
            inner_len(Protocol::Ipv4, &v4),
            None,
            "claims more than there is"
        );
        v4[3] = 19;
        assert_eq!(
            inner_len(Protocol::Ipv4, &v4),
            None,
            "shorter than a header"
        );
        let mut v6 = vec![0x60, 0, 0, 0, 0, 8];
        v6.resize(48, 0);
        assert_eq!(inner_len(Protocol::Ipv6, &v6), Some(48));
        assert_eq!(inner_len(Protocol::Mpls, &v6), None);
        assert_eq!(inner_len(Protocol::Ipv4, &[]), None);
    }
}
