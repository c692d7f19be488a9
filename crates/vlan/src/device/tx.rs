//! A tx thread, one per VLAN interface: TAP -> trunk.
//!
//! ```text
//!  poll(TAP, wake) ─► read the TAP into the next slot until empty or 64 frames are queued
//!        ▲             slot: [4 octets of room][untagged frame ......... up to MTU + 14]
//!        │             check_tx (untagged, within the MTU) else count; then the addresses
//!        │             move 4 octets into the room and TPID 0x8100 + TCI go behind them
//!        └──────────── flush: one sendmmsg for the batch; EAGAIN waits for room (100 ms at most)
//! ```
//!
//! What it does not do: pad frames to 64 octets (the veth and the peer's packet socket do not
//! need it), or share a batch across VLANs (each VLAN has its own thread, so a busy VLAN never
//! waits on another's TAP device).

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::Duration;

use netns::mmsg::{SendBatch, SendMeta};
use netns::packet::PacketSocket;
use netns::poll::{poll_readable, poll_writable};

use super::Shared;
use crate::classify::check_tx;
use crate::wire::ethernet;
use crate::wire::vlan::{TAG_LEN, Tci, insert_tag};

/// Frames per sendmmsg (and read slots).
const SLOTS: usize = 64;
/// Octets beyond MTU + 14 in each slot: a read that fills the slot was a frame larger than the
/// interface's MTU (or was cut short), and is dropped as oversize.
const SLACK: usize = 64;

pub(crate) struct TxWorker {
    shared: Arc<Shared>,
    vif: usize,
    tci: Tci,
    mtu: u32,
    tap: File,
    socket: PacketSocket,
    wake: UnixDatagram,
    slots: Vec<Vec<u8>>,
    /// (start, end) of each queued tagged frame, in slot order.
    queued: Vec<(usize, usize)>,
    batch: SendBatch,
}

impl TxWorker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        vif: usize,
        tci: Tci,
        tap: File,
        socket: PacketSocket,
        wake: UnixDatagram,
    ) -> TxWorker {
        let mtu = shared.config.vifs[vif].mtu;
        let slot = TAG_LEN + mtu as usize + ethernet::HEADER_LEN + SLACK;
        TxWorker {
            shared,
            vif,
            tci,
            mtu,
            tap,
            socket,
            wake,
            slots: (0..SLOTS).map(|_| vec![0u8; slot]).collect(),
            queued: Vec::with_capacity(SLOTS),
            batch: SendBatch::new(SLOTS),
        }
    }

    pub(crate) fn run(mut self) {
        let span = tracing::debug_span!("vlan_tx", trunk = %self.shared.config.interface,
            vlan = ?self.tci.vid);
        let _guard = span.enter();
        if let Err(e) = self.run_loop() {
            tracing::error!(error = %e, "VLAN tx thread stopped");
            self.shared
                .failed(format!("tx VLAN {:?}: {e}", self.tci.vid));
        }
    }

    fn run_loop(&mut self) -> io::Result<()> {
        loop {
            if self.shared.stopping() {
                return Ok(());
            }
            let ready = poll_readable(
                &[self.tap.as_fd(), self.wake.as_fd()],
                Some(Duration::from_secs(1)),
            )?;
            if ready & 1 != 0 {
                self.read_tap()?;
            }
        }
    }

    /// Reads the TAP device until it is empty, flushing whenever the batch fills.
    fn read_tap(&mut self) -> io::Result<()> {
        while !self.shared.stopping() {
            if self.queued.len() == SLOTS {
                self.flush()?;
            }
            let i = self.queued.len();
            let slot = &mut self.slots[i];
            let capacity = slot.len() - TAG_LEN;
            let n = match (&self.tap).read(&mut slot[TAG_LEN..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The interface went down with frames in flight: nothing to read.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => break,
                Err(e) => return Err(e),
            };
            let counters = &self.shared.counters;
            if n >= capacity {
                counters.tx_drop(self.vif, crate::classify::TxDrop::Oversize);
                continue;
            }
            let end = TAG_LEN + n;
            if let Err(d) = check_tx(&slot[TAG_LEN..end], self.mtu) {
                counters.tx_drop(self.vif, d);
                continue;
            }
            match insert_tag(&mut slot[..end], TAG_LEN, self.tci) {
                Ok(start) => self.queued.push((start, end)),
                // check_tx saw a whole Ethernet header, so this cannot happen.
                Err(_) => counters.tx_drop(self.vif, crate::classify::TxDrop::Malformed),
            }
        }
        self.flush()
    }

    /// Sends everything queued, then frees the slots.
    fn flush(&mut self) -> io::Result<()> {
        let c = self.shared.counters.vif(self.vif);
        let mut sent = 0;
        while sent < self.queued.len() {
            let pending = &self.queued[sent..];
            let mut metas = [SendMeta {
                buf: &[],
                addr: None,
                segment_size: None,
            }; SLOTS];
            for (m, (k, &(start, end))) in metas.iter_mut().zip(pending.iter().enumerate()) {
                m.buf = &self.slots[sent + k][start..end];
            }
            let n = pending.len();
            match self.batch.send(self.socket.as_fd(), &metas[..n]) {
                Ok(k) if k > 0 => {
                    // Octets before tagging: what the VLAN interface sent.
                    let bytes: usize = metas[..k].iter().map(|m| m.buf.len() - TAG_LEN).sum();
                    c.frames_out(k as u64);
                    c.bytes_out(bytes as u64);
                    sent += k;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // The socket buffer is full: wait for room rather than drop, never forever.
                    if !poll_writable(self.socket.as_fd(), Some(Duration::from_millis(100)))? {
                        c.send_errors((self.queued.len() - sent) as u64);
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Trunk down (ENETDOWN, ENXIO), a frame over the trunk's MTU (EMSGSIZE):
                    // count, drop this frame, go on.
                    tracing::debug!(error = %e, "send on the trunk failed");
                    c.send_errors(1);
                    sent += 1;
                }
            }
        }
        self.queued.clear();
        Ok(())
    }
}
