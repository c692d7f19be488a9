//! The rx thread: UDP -> ESP -> TUN, and IKE messages to the IKE side.
//!
//! ```text
//!  poll(socket, wake) ─► recvmmsg into slots (each a datagram or a GRO train of same-size ones)
//!        ▲               drain commands (new inbound SAs are live before any packet is opened)
//!        │               per datagram: marker 0000 → IKE channel │ 0xFF → keepalive │ ESP:
//!        │                  SA by SPI → open in place → inner packet (TFC padding trimmed)
//!        │                  TCP data → coalescer (one super-segment per flow run) → TUN
//!        └──────────────    anything else → TUN as it is (vnet header written in place)
//! ```
//!
//! What it does not do: act on IKE messages, or answer anything on the wire.

use std::fs::File;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use netns::mmsg::{RecvBatch, RecvMeta};
use netns::poll::poll_readable;
use tokio::sync::mpsc as tokio_mpsc;
use tun_offload::coalesce::{Coalescer, Offer};
use tun_offload::vnet::{self, VnetHdr};

use super::{DataplaneConfig, DataplaneEvent, Direction, IkeDatagram, RxCommand, Shared};
use crate::esp::udp_encap::{self, Datagram};
use crate::esp::wire::PAYLOAD_OFFSET;
use crate::esp::{EspError, InboundSa};

/// One receive slot: the largest UDP payload (a GRO train is at most one IP packet).
const SLOT: usize = 65536;
/// Slots per recvmmsg.
const SLOTS: usize = 8;

// The virtio-net header fits in the ESP header + IV in front of a decrypted packet (written in
// place).
const _: () = assert!(vnet::LEN <= PAYLOAD_OFFSET);

struct Inbound {
    sa: Box<InboundSa>,
    hard_reported: bool,
}

pub(crate) struct RxWorker {
    shared: Arc<Shared>,
    tun: File,
    socket: UdpSocket,
    commands: mpsc::Receiver<RxCommand>,
    wake: UnixDatagram,
    ike: tokio_mpsc::Sender<IkeDatagram>,
    vnet_hdr: bool,
    refused: Vec<IpAddr>,
    /// Where authenticated ESP last came from.
    esp_source: Option<SocketAddr>,
    sas: Vec<Inbound>,
    slots: Vec<Vec<u8>>,
    meta: [RecvMeta; SLOTS],
    batch: RecvBatch,
    coalescer: Coalescer,
}

impl RxWorker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        tun: File,
        socket: UdpSocket,
        commands: mpsc::Receiver<RxCommand>,
        wake: UnixDatagram,
        ike: tokio_mpsc::Sender<IkeDatagram>,
        config: &DataplaneConfig,
    ) -> RxWorker {
        RxWorker {
            shared,
            tun,
            socket,
            commands,
            wake,
            ike,
            vnet_hdr: config.vnet_hdr,
            refused: config.refused_destinations.clone(),
            esp_source: None,
            sas: Vec::with_capacity(4),
            slots: (0..SLOTS).map(|_| vec![0u8; SLOT]).collect(),
            meta: [RecvMeta::default(); SLOTS],
            batch: RecvBatch::new(SLOTS),
            coalescer: Coalescer::new(),
        }
    }

    pub(crate) fn run(mut self) {
        let span = tracing::debug_span!("esp_rx", tunnel = %self.shared.name);
        let _guard = span.enter();
        if let Err(e) = self.run_loop() {
            tracing::error!(error = %e, "ESP rx thread stopped");
            self.shared.event(DataplaneEvent::Failed {
                reason: format!("rx: {e}"),
            });
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
            self.drain_commands();
            if ready & 1 != 0 {
                self.receive()?;
            }
        }
    }

    fn drain_commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                RxCommand::Install(sa) => self.sas.push(Inbound {
                    sa,
                    hard_reported: false,
                }),
                RxCommand::Remove { spi } => self.sas.retain(|i| i.sa.spi() != spi),
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
                Err(e) if is_icmp_report(&e) => {
                    // The socket is connected to the peer, so the kernel hands us the ICMP
                    // errors its earlier datagrams drew (port unreachable while the peer's
                    // daemon restarts). They report a lost send, not a broken socket: count
                    // and keep receiving, or the tunnel could never come back.
                    tracing::debug!(error = %e, "ICMP error for an earlier ESP datagram");
                    self.shared.counters.add_send_errors(1);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(());
            }
            // Commands queued before these datagrams arrived (a new inbound SA) apply to them.
            self.drain_commands();
            let now_ns = self.shared.now_ns();
            let mut slots = std::mem::take(&mut self.slots);
            for (i, slot) in slots.iter_mut().enumerate().take(n) {
                let meta = self.meta[i];
                let slot = &mut slot[..meta.len.min(SLOT)];
                if meta.truncated {
                    self.shared.counters.add_malformed(1);
                    continue;
                }
                let segment = meta.gro_segment_size.map_or(slot.len(), usize::from).max(1);
                for datagram in slot.chunks_mut(segment) {
                    self.datagram(datagram, meta, now_ns)?;
                }
            }
            self.slots = slots;
            self.flush_coalesced()?;
        }
    }

    fn datagram(&mut self, datagram: &mut [u8], meta: RecvMeta, now_ns: u64) -> io::Result<()> {
        match udp_encap::classify(datagram) {
            Datagram::Esp(_) => self.esp(datagram, meta.addr, now_ns),
            Datagram::Ike(message) => {
                if let Some(from) = meta.addr
                    && self
                        .ike
                        .try_send(IkeDatagram {
                            from,
                            message: message.to_vec(),
                        })
                        .is_err()
                {
                    tracing::debug!("IKE queue full or closed; message dropped");
                }
                Ok(())
            }
            Datagram::NatKeepalive => Ok(()),
            Datagram::Malformed => {
                self.shared.counters.add_malformed(1);
                Ok(())
            }
        }
    }

    fn esp(&mut self, packet: &mut [u8], from: Option<SocketAddr>, now_ns: u64) -> io::Result<()> {
        let spi = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]);
        let Some(inbound) = self.sas.iter_mut().find(|i| i.sa.spi() == spi) else {
            self.shared.counters.add_unknown_spi(1);
            return Ok(());
        };
        let opened = match inbound.sa.open(packet, now_ns) {
            Ok(opened) => opened,
            Err(e) => {
                e.count(&self.shared.counters);
                if matches!(e, EspError::HardLimit) && !inbound.hard_reported {
                    inbound.hard_reported = true;
                    self.shared.event(DataplaneEvent::HardLimit {
                        inbound_spi: spi,
                        direction: Direction::Inbound,
                    });
                }
                return Ok(());
            }
        };
        // Only an authenticated packet may say where the peer is now.
        if let Some(from) = from
            && self.esp_source != Some(from)
        {
            self.esp_source = Some(from);
            self.shared.event(DataplaneEvent::PeerMoved { to: from });
        }
        if opened.soft_limit {
            self.shared.event(DataplaneEvent::SoftLimit {
                inbound_spi: spi,
                direction: Direction::Inbound,
            });
        }
        let mut inner = opened.payload;
        // Trim TFC padding (RFC 4303 §2.7) by the inner header's own length.
        let ip = &packet[inner.clone()];
        let ip_len = match ip.first().map(|b| b >> 4) {
            // RFC 791 §3.1: the total length counts the header, so less than 20 is malformed
            // (and `inner_destination` reads the address at 16..20).
            Some(4) if ip.len() >= 20 => match usize::from(u16::from_be_bytes([ip[2], ip[3]])) {
                n if n < 20 => 0,
                n => n,
            },
            Some(6) if ip.len() >= 40 => usize::from(u16::from_be_bytes([ip[4], ip[5]])) + 40,
            _ => 0,
        };
        if ip_len == 0 || ip_len > inner.len() {
            self.shared.counters.add_malformed(1);
            return Ok(());
        }
        inner.end = inner.start + ip_len;
        if !self.refused.is_empty()
            && self
                .refused
                .contains(&inner_destination(&packet[inner.clone()]))
        {
            self.shared.counters.add_misaddressed(1);
            return Ok(());
        }
        self.shared.counters.add_in(1, ip_len as u64, now_ns);
        self.deliver(packet, inner.start, inner.end)
    }

    /// Hands one decrypted packet (`packet[start..end]`) to TUN, through the coalescer.
    fn deliver(&mut self, packet: &mut [u8], start: usize, end: usize) -> io::Result<()> {
        if !self.vnet_hdr {
            return self.write_tun(&packet[start..end]);
        }
        match self.coalescer.offer(&packet[start..end]) {
            Offer::Taken => return Ok(()),
            Offer::Refused => {}
            Offer::FlushFirst => {
                self.flush_coalesced()?;
                if self.coalescer.offer(&packet[start..end]) == Offer::Taken {
                    return Ok(());
                }
            }
        }
        self.flush_coalesced()?;
        // The ESP header and IV in front of the packet are spent: put the vnet header there.
        debug_assert!(start >= PAYLOAD_OFFSET);
        let hdr_at = start - vnet::LEN;
        VnetHdr::NONE.encode(&mut packet[hdr_at..start]);
        self.write_tun(&packet[hdr_at..end])
    }

    fn flush_coalesced(&mut self) -> io::Result<()> {
        let Some(frame) = self.coalescer.flush() else {
            return Ok(());
        };
        let result = write_frame(&mut self.tun, frame);
        self.count_tun_result(result);
        Ok(())
    }

    fn write_tun(&mut self, frame: &[u8]) -> io::Result<()> {
        let result = write_frame(&mut self.tun, frame);
        self.count_tun_result(result);
        Ok(())
    }

    fn count_tun_result(&self, result: io::Result<()>) {
        if let Err(e) = result {
            // EIO when the device is down, EINVAL on a packet the kernel refuses: count, go on.
            tracing::debug!(error = %e, "TUN write failed");
            self.shared.counters.add_send_errors(1);
        }
    }
}

/// The destination of an inner IP packet whose version and length were checked (IPv4 of at
/// least 20 octets, IPv6 of at least 40).
fn inner_destination(ip: &[u8]) -> IpAddr {
    if ip[0] >> 4 == 4 {
        IpAddr::from(<[u8; 4]>::try_from(&ip[16..20]).expect("checked length"))
    } else {
        IpAddr::from(<[u8; 16]>::try_from(&ip[24..40]).expect("checked length"))
    }
}

/// One TUN write carries exactly one packet (or super-segment); it is never partial.
fn write_frame(tun: &mut File, frame: &[u8]) -> io::Result<()> {
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

/// Whether `e` is an ICMP error queued on a connected UDP socket (RFC 1122 §4.1.3.3: UDP passes
/// ICMP errors to the application), rather than a failure of the socket itself.
pub(crate) fn is_icmp_report(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNREFUSED
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::EHOSTDOWN
                | libc::ENETDOWN
                | libc::EPROTO
        )
    )
}
