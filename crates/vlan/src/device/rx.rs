//! The rx thread: trunk -> VLAN interfaces.
//!
//! ```text
//!  poll(packet socket, wake) ─► recvmmsg into 64 slots, each one frame (largest MTU + 18 + slack)
//!        ▲                      per frame: the kernel's stripped tag (PACKET_AUXDATA) or an
//!        │                      inline one ─► classify_rx ─► drop with its counter, or:
//!        │                      inline tag: addresses moved 4 octets over it, in place
//!        └───────────────────── write the untagged frame to the VLAN's TAP device
//! ```
//!
//! What it does not do: answer anything on the wire, buffer for a TAP device that is down (its
//! write fails and is counted), or reorder.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::time::Duration;

use netns::packet::{PacketRecvBatch, PacketSocket, RecvMeta, pkttype};
use netns::poll::poll_readable;

use super::Shared;
use crate::classify::{StrippedTag, Verdict};
use crate::wire::vlan::{self, TAGGED_HEADER_LEN};

/// Frames per recvmmsg.
const SLOTS: usize = 64;
/// Octets beyond the largest tagged frame in each slot, so that a frame too big for every VLAN
/// still arrives whole enough to be classified (its length comes from the kernel anyway).
const SLACK: usize = 64;

pub(crate) struct RxWorker {
    shared: Arc<Shared>,
    socket: PacketSocket,
    taps: Vec<File>,
    wake: UnixDatagram,
    slots: Vec<Vec<u8>>,
    meta: Vec<RecvMeta>,
    batch: PacketRecvBatch,
}

impl RxWorker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        socket: PacketSocket,
        taps: Vec<File>,
        wake: UnixDatagram,
    ) -> RxWorker {
        let slot = shared.config.trunk_mtu() as usize + TAGGED_HEADER_LEN + SLACK;
        RxWorker {
            shared,
            socket,
            taps,
            wake,
            slots: (0..SLOTS).map(|_| vec![0u8; slot]).collect(),
            meta: vec![RecvMeta::default(); SLOTS],
            batch: PacketRecvBatch::new(SLOTS),
        }
    }

    pub(crate) fn run(mut self) {
        let span = tracing::debug_span!("vlan_rx", trunk = %self.shared.config.interface);
        let _guard = span.enter();
        if let Err(e) = self.run_loop() {
            tracing::error!(error = %e, "VLAN rx thread stopped");
            self.shared.failed(format!("rx: {e}"));
        }
    }

    fn run_loop(&mut self) -> io::Result<()> {
        loop {
            if self.shared.stopping() {
                return Ok(());
            }
            let ready = poll_readable(
                &[self.socket.as_fd(), self.wake.as_fd()],
                Some(Duration::from_secs(1)),
            )?;
            if ready & 1 != 0 {
                self.receive()?;
            }
        }
    }

    /// Receives until the socket is empty (or the trunk is stopping).
    fn receive(&mut self) -> io::Result<()> {
        while !self.shared.stopping() {
            let n = match self.batch.recv(self.socket.as_fd(), &mut self.slots) {
                Ok(metas) => {
                    self.meta[..metas.len()].copy_from_slice(metas);
                    metas.len()
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The trunk went down or away under us: the socket reports it once; go on.
                Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => return Ok(()),
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(());
            }
            let mut slots = std::mem::take(&mut self.slots);
            for (i, slot) in slots.iter_mut().enumerate().take(n) {
                let meta = self.meta[i];
                let len = meta.len.min(slot.len());
                self.frame(&mut slot[..len], &meta);
            }
            self.slots = slots;
        }
        Ok(())
    }

    /// Classifies one frame from the trunk and delivers it, or counts why not.
    fn frame(&mut self, frame: &mut [u8], meta: &RecvMeta) {
        if meta.pkttype == pkttype::OUTGOING {
            // PACKET_IGNORE_OUTGOING keeps our own sends away; nothing else sends on the trunk.
            return;
        }
        let counters = &self.shared.counters;
        counters.trunk.frames(1);
        let stripped = meta.vlan.map(|v| StrippedTag {
            tpid: v.tpid.unwrap_or(vlan::TPID),
            tci: v.tci,
        });
        let verdict =
            self.shared
                .table
                .classify_rx(frame, meta.wire_len.max(frame.len()), stripped);
        if stripped.is_some() {
            counters.trunk.tags_in_auxdata(1);
        } else if frame.get(12..14) == Some(&vlan::TPID.to_be_bytes()[..]) {
            counters.trunk.tags_inline(1);
        }
        let (vif, untag_inline) = match verdict {
            Verdict::Deliver { vif, untag_inline } => (vif, untag_inline),
            Verdict::Drop(d) => {
                counters.rx_drop(d);
                return;
            }
        };
        if meta.truncated {
            // Cannot happen: a frame longer than the buffer is larger than any VLAN's MTU, and
            // classify_rx judged it by its length on arrival. Never deliver part of a frame.
            counters.trunk.malformed(1);
            return;
        }
        let start = if untag_inline {
            match vlan::remove_tag(frame) {
                Ok((_, start)) => start,
                Err(_) => {
                    counters.trunk.malformed(1);
                    return;
                }
            }
        } else {
            0
        };
        let out = &frame[start..];
        let c = counters.vif(vif);
        match write_frame(&self.taps[vif], out) {
            Ok(()) => {
                c.frames_in(1);
                c.bytes_in(out.len() as u64);
            }
            Err(e) => {
                // EIO while the interface is down, EINVAL for a frame the kernel refuses.
                tracing::debug!(error = %e, vlan = %self.shared.table.entries()[vif].vid,
                    "TAP write failed");
                c.tap_write_errors(1);
            }
        }
    }
}

/// One TAP write carries exactly one frame; it is never partial.
fn write_frame(mut tap: &File, frame: &[u8]) -> io::Result<()> {
    let n = tap.write(frame)?;
    if n == frame.len() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("TAP took {n} of {} octets", frame.len()),
        ))
    }
}
