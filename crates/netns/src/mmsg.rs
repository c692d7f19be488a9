//! Batched datagram I/O: `recvmmsg(2)` and `sendmmsg(2)` over a borrowed descriptor with
//! caller-owned packet buffers, plus the UDP GRO/GSO control messages. Built for the IPsec data
//! plane's hot path: the batch objects are allocated once and reused, no call allocates.
//!
//! ```text
//!   RecvBatch::new(64)                     once
//!   loop { let metas = batch.recv(fd, &mut bufs)?;   fills bufs[..n], metas[..n] }
//!   metas[i] = RecvMeta { len, addr, gro_segment_size, truncated }
//! ```
//!
//! What it does not do: own the socket, poll for readiness (callers use `AsyncFd` or similar;
//! a non-blocking socket returns `WouldBlock`), or support other control messages.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};

/// Control-message buffer per message, 8-byte aligned (room for UDP_GRO / UDP_SEGMENT and one
/// more small message).
type CmsgBuf = [u64; 8];

/// What one received datagram (or GRO train) was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecvMeta {
    /// Bytes written into the buffer.
    pub len: usize,
    /// Sender address.
    pub addr: Option<SocketAddr>,
    /// With GRO on: the size of each coalesced datagram (the last may be shorter); split with
    /// [`crate::sockopt::gro_segments`]. `None` for a single datagram.
    pub gro_segment_size: Option<u16>,
    /// The datagram did not fit the buffer (MSG_TRUNC).
    pub truncated: bool,
}

/// One datagram to send.
#[derive(Debug, Clone, Copy)]
pub struct SendMeta<'a> {
    /// Payload (with `segment_size`, several datagrams back to back).
    pub buf: &'a [u8],
    /// Destination (`None` on a connected socket).
    pub addr: Option<SocketAddr>,
    /// UDP GSO: split `buf` into datagrams of this size in the kernel.
    pub segment_size: Option<u16>,
}

/// The kernel-facing storage of one `recvmmsg` batch: a header, an iovec, a source address of
/// type `A` (`sockaddr_storage` for UDP, `sockaddr_ll` for packet sockets) and a control buffer
/// per slot. [`RecvBatch`] and `packet::PacketRecvBatch` are built on it, so the unsafe call and
/// its pointer set-up exist once.
#[derive(Debug)]
pub(crate) struct RecvSlots<A> {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
    addrs: Vec<A>,
    cmsgs: Vec<CmsgBuf>,
}

// SAFETY: the raw pointers inside `hdrs` and `iovs` are rewritten before every system call and
// only used during it, while the buffers they point to are borrowed; moving the slots to another
// thread between calls moves no live pointer.
unsafe impl<A: Send> Send for RecvSlots<A> {}

impl<A> RecvSlots<A> {
    /// Storage for up to `max` messages per call (at least one). `A` must be a plain C address
    /// struct, for which all-zero is a valid value.
    pub(crate) fn new(max: usize) -> RecvSlots<A> {
        let max = max.max(1);
        RecvSlots {
            hdrs: zeroed_vec(max),
            iovs: zeroed_vec(max),
            addrs: zeroed_vec(max),
            cmsgs: zeroed_vec(max),
        }
    }

    /// Slots per call.
    pub(crate) fn capacity(&self) -> usize {
        self.hdrs.len()
    }

    /// Receives up to `min(bufs.len(), capacity)` messages into `bufs` (one each) and returns
    /// how many arrived; [`RecvSlots::received`] then reads each one's header and address.
    /// Blocks unless the socket is non-blocking (`WouldBlock` when nothing is queued); returns
    /// as soon as at least one message arrived (MSG_WAITFORONE).
    pub(crate) fn recv<B: AsMut<[u8]>>(
        &mut self,
        fd: BorrowedFd<'_>,
        bufs: &mut [B],
    ) -> io::Result<usize> {
        let n = bufs.len().min(self.hdrs.len());
        if n == 0 {
            return Ok(0);
        }
        for (i, buf) in bufs.iter_mut().take(n).enumerate() {
            let buf = buf.as_mut();
            self.iovs[i] = libc::iovec {
                iov_base: buf.as_mut_ptr() as *mut libc::c_void,
                iov_len: buf.len(),
            };
            let hdr = &mut self.hdrs[i];
            hdr.msg_len = 0;
            hdr.msg_hdr.msg_name = &mut self.addrs[i] as *mut A as *mut libc::c_void;
            hdr.msg_hdr.msg_namelen = size_of::<A>() as libc::socklen_t;
            hdr.msg_hdr.msg_iov = &mut self.iovs[i];
            hdr.msg_hdr.msg_iovlen = 1;
            hdr.msg_hdr.msg_control = self.cmsgs[i].as_mut_ptr() as *mut libc::c_void;
            hdr.msg_hdr.msg_controllen = size_of::<CmsgBuf>();
            hdr.msg_hdr.msg_flags = 0;
        }
        // SAFETY: the first `n` headers point at `n` live, exclusively borrowed buffers, address
        // and control storage of the sizes given; the kernel writes within them.
        let got = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                self.hdrs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if got < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(got as usize)
    }

    /// Message `i` of the last [`RecvSlots::recv`]: its header (length, flags, control
    /// messages) and source address.
    pub(crate) fn received(&self, i: usize) -> (&libc::mmsghdr, &A) {
        (&self.hdrs[i], &self.addrs[i])
    }
}

/// Reusable state for `recvmmsg`.
#[derive(Debug)]
pub struct RecvBatch {
    slots: RecvSlots<libc::sockaddr_storage>,
    metas: Vec<RecvMeta>,
}

/// Reusable state for `sendmmsg`.
#[derive(Debug)]
pub struct SendBatch {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
    addrs: Vec<libc::sockaddr_storage>,
    cmsgs: Vec<CmsgBuf>,
}

// SAFETY: as for `RecvBatch`.
unsafe impl Send for SendBatch {}

pub(crate) fn zeroed_vec<T>(n: usize) -> Vec<T> {
    // SAFETY: used only for plain C structs and integer arrays, for which all-zero is valid.
    (0..n).map(|_| unsafe { zeroed() }).collect()
}

/// Writes `addr` into `storage`; returns the length to pass to the kernel.
fn write_sockaddr(addr: SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe { &mut *(storage as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 = unsafe { &mut *(storage as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_scope_id = a.scope_id();
            size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

fn read_sockaddr(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    match storage.ss_family as libc::c_int {
        libc::AF_INET if len as usize >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let sin = unsafe { &*(storage as *const _ as *const libc::sockaddr_in) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 if len as usize >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let sin6 = unsafe { &*(storage as *const _ as *const libc::sockaddr_in6) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

impl RecvBatch {
    /// State for up to `max` datagrams per call.
    pub fn new(max: usize) -> RecvBatch {
        let slots = RecvSlots::new(max);
        let metas = vec![RecvMeta::default(); slots.capacity()];
        RecvBatch { slots, metas }
    }

    /// Receives up to `min(bufs.len(), max)` datagrams into `bufs` (one each); returns their
    /// metadata. Blocks unless the socket is non-blocking (`WouldBlock` when nothing is queued).
    /// With several messages queued it returns as soon as at least one arrived (MSG_WAITFORONE).
    pub fn recv<B: AsMut<[u8]>>(
        &mut self,
        fd: BorrowedFd<'_>,
        bufs: &mut [B],
    ) -> io::Result<&[RecvMeta]> {
        let got = self.slots.recv(fd, bufs)?;
        for i in 0..got {
            let (hdr, addr) = self.slots.received(i);
            self.metas[i] = RecvMeta {
                len: hdr.msg_len as usize,
                addr: read_sockaddr(addr, hdr.msg_hdr.msg_namelen),
                gro_segment_size: gro_size(&hdr.msg_hdr),
                truncated: hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            };
        }
        Ok(&self.metas[..got])
    }
}

/// Finds a `UDP_GRO` control message in a received header.
fn gro_size(msg: &libc::msghdr) -> Option<u16> {
    // SAFETY: `msg` was filled by recvmmsg; CMSG_FIRSTHDR/NXTHDR stay within msg_controllen and
    // return NULL at the end.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let h = &*c;
            if h.cmsg_level == libc::SOL_UDP && h.cmsg_type == libc::UDP_GRO {
                let data = libc::CMSG_DATA(c) as *const libc::c_int;
                let v = std::ptr::read_unaligned(data);
                return u16::try_from(v).ok();
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
}

impl SendBatch {
    /// State for up to `max` datagrams per call.
    pub fn new(max: usize) -> SendBatch {
        let max = max.max(1);
        SendBatch {
            hdrs: zeroed_vec(max),
            iovs: zeroed_vec(max),
            addrs: zeroed_vec(max),
            cmsgs: zeroed_vec(max),
        }
    }

    /// Sends up to `min(msgs.len(), max)` datagrams; returns how many the kernel took (the rest
    /// must be sent again).
    pub fn send(&mut self, fd: BorrowedFd<'_>, msgs: &[SendMeta<'_>]) -> io::Result<usize> {
        let n = msgs.len().min(self.hdrs.len());
        if n == 0 {
            return Ok(0);
        }
        for (i, m) in msgs.iter().take(n).enumerate() {
            self.iovs[i] = libc::iovec {
                iov_base: m.buf.as_ptr() as *mut libc::c_void,
                iov_len: m.buf.len(),
            };
            let namelen = match m.addr {
                Some(a) => write_sockaddr(a, &mut self.addrs[i]),
                None => 0,
            };
            let hdr = &mut self.hdrs[i];
            hdr.msg_len = 0;
            hdr.msg_hdr.msg_name = if namelen > 0 {
                &mut self.addrs[i] as *mut _ as *mut libc::c_void
            } else {
                std::ptr::null_mut()
            };
            hdr.msg_hdr.msg_namelen = namelen;
            hdr.msg_hdr.msg_iov = &mut self.iovs[i];
            hdr.msg_hdr.msg_iovlen = 1;
            hdr.msg_hdr.msg_flags = 0;
            match m.segment_size {
                Some(seg) => {
                    let buf = &mut self.cmsgs[i];
                    *buf = [0; 8];
                    hdr.msg_hdr.msg_control = buf.as_mut_ptr() as *mut libc::c_void;
                    // SAFETY: CMSG_SPACE/CMSG_LEN are pure size computations.
                    hdr.msg_hdr.msg_controllen =
                        unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as usize;
                    // SAFETY: the control buffer is 64 bytes, aligned, and msg_controllen covers
                    // one cmsghdr plus a u16, so CMSG_FIRSTHDR is non-null and in bounds.
                    unsafe {
                        let c = libc::CMSG_FIRSTHDR(&hdr.msg_hdr);
                        (*c).cmsg_level = libc::SOL_UDP;
                        (*c).cmsg_type = libc::UDP_SEGMENT;
                        (*c).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as usize;
                        std::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut u16, seg);
                    }
                }
                None => {
                    hdr.msg_hdr.msg_control = std::ptr::null_mut();
                    hdr.msg_hdr.msg_controllen = 0;
                }
            }
        }
        // SAFETY: the first `n` headers point at live buffers, addresses and control data
        // borrowed for the duration of the call; the kernel only reads them (and writes msg_len).
        let sent =
            unsafe { libc::sendmmsg(fd.as_raw_fd(), self.hdrs.as_mut_ptr(), n as libc::c_uint, 0) };
        if sent < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(sent as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sockopt;
    use std::net::UdpSocket;
    use std::os::fd::AsFd;

    #[test]
    fn batches_round_trip_over_loopback_with_gso_and_gro() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        // A lost datagram must fail the test, not hang it.
        rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let dst = rx.local_addr().unwrap();
        let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 100 + i as usize]).collect();
        let msgs: Vec<SendMeta<'_>> = payloads
            .iter()
            .map(|p| SendMeta {
                buf: p,
                addr: Some(dst),
                segment_size: None,
            })
            .collect();
        let mut sb = SendBatch::new(8);
        assert_eq!(sb.send(tx.as_fd(), &msgs).unwrap(), 5);
        // GRO may hand over all three segments as one 3000-byte read: buffers hold a full
        // 64 KiB coalesced read, as the data plane's do.
        let mut bufs = vec![vec![0u8; 65536]; 8];
        let mut rb = RecvBatch::new(8);
        let mut got = Vec::new();
        while got.len() < 5 {
            let metas = rb.recv(rx.as_fd(), &mut bufs).unwrap().to_vec();
            for (i, m) in metas.iter().enumerate() {
                assert_eq!(m.addr, Some(tx.local_addr().unwrap()));
                got.push(bufs[i][..m.len].to_vec());
            }
        }
        assert_eq!(got, payloads);

        // GSO: one 3000-byte send becomes three datagrams of 1000 on the wire; with GRO on the
        // receiver may see them coalesced again, with the segment size reported.
        sockopt::set_udp_gro(rx.as_fd(), true).unwrap();
        let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let gso = [SendMeta {
            buf: &big,
            addr: Some(dst),
            segment_size: Some(1000),
        }];
        assert_eq!(sb.send(tx.as_fd(), &gso).unwrap(), 1);
        let mut datagrams: Vec<Vec<u8>> = Vec::new();
        while datagrams.iter().map(Vec::len).sum::<usize>() < 3000 {
            let metas = rb.recv(rx.as_fd(), &mut bufs).unwrap().to_vec();
            for (i, m) in metas.iter().enumerate() {
                let seg = m.gro_segment_size.map_or(m.len, usize::from);
                for r in sockopt::gro_segments(m.len, seg) {
                    datagrams.push(bufs[i][r].to_vec());
                }
            }
        }
        assert_eq!(datagrams.len(), 3);
        assert!(datagrams.iter().all(|d| d.len() == 1000));
        assert_eq!(datagrams.concat(), big);
    }
}
