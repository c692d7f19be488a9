//! Reading one interface of a node's namespace into pcapng: an AF_PACKET socket bound to it
//! (`netns::packet`, both directions, promiscuous), frames written as they arrive, with the
//! 802.1Q/802.1ad tag the kernel took off a received frame put back in place (as libpcap does),
//! so VLANs read in Wireshark as they were on the wire.
//!
//! Timestamps are the time the frame was read (CLOCK_REALTIME, ns), not the kernel's receive
//! time: frames are read one per call so that each gets its own, but a frame that waited in
//! the socket's queue is stamped late by that wait.
//!
//! What it does not do: filter (BPF), or choose the interfaces (see [`super::CaptureSet`]).

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use netns::Netns;
use netns::packet::{PacketOptions, PacketRecvBatch, PacketSocket, RecvMeta, open_packet_socket};

use crate::capture::pcapng::{LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapngWriter};

/// The largest frame kept whole (a GSO super-packet of a veth can reach 64 KiB).
pub const SNAPLEN: usize = 65_535 + 4;

/// What the interface carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// Ethernet frames (a veth).
    Ethernet,
    /// Bare IP packets (a TUN device).
    Ip,
}

impl Medium {
    fn linktype(self) -> u16 {
        match self {
            Medium::Ethernet => LINKTYPE_ETHERNET,
            Medium::Ip => LINKTYPE_RAW,
        }
    }
}

/// Opens a capture socket on `ifname` in `ns` (needs CAP_NET_RAW there).
pub fn open(ns: &Netns, ifname: &str) -> Result<PacketSocket, String> {
    let opts = PacketOptions {
        nonblocking: true,
        ..PacketOptions::capture()
    };
    open_packet_socket(ns, ifname, &opts).map_err(|e| e.to_string())
}

/// The frame as it was on the wire: a tag the kernel moved to metadata goes back after the
/// MAC addresses (IEEE 802.1Q §9.3).
fn on_the_wire<'a>(
    medium: Medium,
    meta: &RecvMeta,
    data: &'a [u8],
    scratch: &'a mut Vec<u8>,
) -> &'a [u8] {
    match (medium, meta.vlan) {
        (Medium::Ethernet, Some(v)) if data.len() >= 12 => {
            scratch.clear();
            scratch.extend_from_slice(&data[..12]);
            scratch.extend_from_slice(&v.tpid.unwrap_or(0x8100).to_be_bytes());
            scratch.extend_from_slice(&v.tci.to_be_bytes());
            scratch.extend_from_slice(&data[12..]);
            scratch
        }
        _ => data,
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Copies frames from `sock` to a pcapng stream on `out` until `stop` turns true. A device
/// that goes down and up again is followed; one deleted and created again under the same name
/// is another device (a new socket: see [`super::CaptureSet`]). Flushes after
/// every batch when `flush` (a live pipe), otherwise when it ends; stops after `limit` frames
/// when given. Returns the frame count; a write error (the reader went away) ends it with that
/// error.
pub fn stream<W: Write>(
    sock: &PacketSocket,
    ifname: &str,
    medium: Medium,
    out: W,
    stop: &AtomicBool,
    flush: bool,
    limit: Option<u64>,
) -> io::Result<u64> {
    let mut w = PcapngWriter::new(out)?;
    let id = w.add_interface(ifname, medium.linktype(), SNAPLEN as u32)?;
    if flush {
        w.flush()?;
    }
    // One frame per call, stamped as it is read: frames read in a batch would share a time.
    let mut batch = PacketRecvBatch::new(1);
    let mut bufs = vec![vec![0u8; SNAPLEN]; 1];
    let mut scratch = Vec::with_capacity(SNAPLEN + 4);
    let mut count = 0u64;
    while !stop.load(Ordering::Relaxed) && limit.is_none_or(|l| count < l) {
        let ready = netns::poll::poll_readable(&[sock.as_fd()], Some(Duration::from_millis(100)))?;
        if ready == 0 {
            continue;
        }
        let metas = match batch.recv(sock.as_fd(), &mut bufs) {
            Ok(m) => m.to_vec(),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The device went down (a link cut by `link_down`, a daemon restarting): the
            // kernel reports it once (sk_err) and the socket goes on when it comes back up.
            Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => continue,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => break,
            Err(e) => return Err(e),
        };
        let ts = now_ns();
        let room = limit.map_or(usize::MAX, |l| (l - count) as usize);
        for (i, m) in metas.iter().enumerate().take(room) {
            let data = &bufs[i][..m.len.min(SNAPLEN)];
            let frame = on_the_wire(medium, m, data, &mut scratch);
            let extra = frame.len() - data.len();
            w.packet(id, ts, frame, m.wire_len.max(m.len) + extra)?;
            count += 1;
        }
        if flush {
            w.flush()?;
        }
    }
    w.flush()?;
    Ok(count)
}

/// A capture running on its own thread into a file.
#[derive(Debug)]
pub struct Tap {
    ifindex: u32,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<io::Result<u64>>>,
}

impl Tap {
    /// Starts capturing `ifname` of `ns` into `path` (created, or truncated).
    pub fn to_file(
        ns: &Netns,
        ifname: &str,
        medium: Medium,
        path: &std::path::Path,
    ) -> Result<Tap, String> {
        let sock = open(ns, ifname)?;
        let ifindex = sock.ifindex();
        let file =
            std::fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (s, name) = (stop.clone(), ifname.to_string());
        let thread = std::thread::Builder::new()
            .name(format!("capture {ifname}"))
            .spawn(move || {
                stream(
                    &sock,
                    &name,
                    medium,
                    io::BufWriter::new(file),
                    &s,
                    false,
                    None,
                )
            })
            .map_err(|e| format!("starting a capture thread: {e}"))?;
        Ok(Tap {
            ifindex,
            stop,
            thread: Some(thread),
        })
    }

    /// The index of the interface it reads.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Whether it still captures.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops, flushes the file, and returns the frame count.
    pub fn stop(mut self) -> io::Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("the capture thread panicked")),
            None => Ok(0),
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_goes_back_after_the_addresses() {
        let data: Vec<u8> = (0u8..20).collect();
        let meta = RecvMeta {
            len: 20,
            wire_len: 20,
            vlan: Some(netns::packet::VlanAux {
                tci: 0x0064,
                tpid: None,
            }),
            ..RecvMeta::default()
        };
        let mut scratch = Vec::new();
        let f = on_the_wire(Medium::Ethernet, &meta, &data, &mut scratch).to_vec();
        assert_eq!(f.len(), 24);
        assert_eq!(&f[..12], &data[..12]);
        assert_eq!(&f[12..16], &[0x81, 0x00, 0x00, 0x64]);
        assert_eq!(&f[16..], &data[12..]);
        let mut scratch = Vec::new();
        assert_eq!(
            on_the_wire(Medium::Ip, &meta, &data, &mut scratch),
            &data[..]
        );
    }
}
