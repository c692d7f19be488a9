//! Receiving a UDP datagram together with the TTL (IPv4) or hop limit (IPv6) it arrived with:
//! `IP_RECVTTL` / `IPV6_RECVHOPLIMIT` and `recvmsg(2)` with the `IP_TTL` / `IPV6_HOPLIMIT`
//! control message.
//!
//! Added by the BFD work (RFC 5881 §5: single-hop BFD packets must arrive with TTL 255). Linux
//! enforces `IP_MINTTL` / `IPV6_MINHOPCOUNT` for TCP only; it accepts them on a UDP socket and
//! then ignores them, so a UDP protocol has to read the TTL and check it itself.
//!
//! What it does not do: own the socket, poll for readiness (a non-blocking socket returns
//! `WouldBlock`; tokio callers wrap the call in `UdpSocket::async_io`), or other control
//! messages.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};

/// One received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvTtl {
    /// Bytes written into the buffer.
    pub len: usize,
    /// Sender address.
    pub from: Option<SocketAddr>,
    /// TTL / hop limit of the packet; `None` if the kernel attached none (the option is off).
    pub ttl: Option<u8>,
    /// The datagram did not fit the buffer (MSG_TRUNC).
    pub truncated: bool,
}

/// Asks the kernel to attach the TTL (IPv4, `IP_RECVTTL`) or hop limit (IPv6,
/// `IPV6_RECVHOPLIMIT`) to every datagram received on the socket.
pub fn set_recv_ttl(fd: BorrowedFd<'_>, ipv6: bool, on: bool) -> io::Result<()> {
    let v: libc::c_int = on.into();
    let (level, opt) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT)
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVTTL)
    };
    // SAFETY: `v` is a valid c_int for the duration of the call; the size matches.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            &v as *const libc::c_int as *const libc::c_void,
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Receives one datagram into `buf` with its sender and TTL / hop limit. Blocks unless the
/// socket is non-blocking.
pub fn recv_from_with_ttl(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<RecvTtl> {
    // Room for one int-sized control message, 8-byte aligned.
    let mut control = [0u64; 8];
    // SAFETY: all-zero is a valid sockaddr_storage and msghdr.
    let mut addr: libc::sockaddr_storage = unsafe { zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: as above.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = &mut addr as *mut _ as *mut libc::c_void;
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = size_of::<[u64; 8]>();
    // SAFETY: `msg` points at live, exclusively borrowed buffer, address and control storage of
    // the sizes given; the kernel writes within them.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(RecvTtl {
        len: n as usize,
        from: read_sockaddr(&addr, msg.msg_namelen),
        ttl: find_ttl(&msg),
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
    })
}

fn find_ttl(msg: &libc::msghdr) -> Option<u8> {
    // SAFETY: `msg` was filled by recvmsg; CMSG_FIRSTHDR/NXTHDR stay within msg_controllen and
    // return NULL at the end; the data of IP_TTL and IPV6_HOPLIMIT is one int.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let h = &*c;
            let ours = (h.cmsg_level == libc::IPPROTO_IP && h.cmsg_type == libc::IP_TTL)
                || (h.cmsg_level == libc::IPPROTO_IPV6 && h.cmsg_type == libc::IPV6_HOPLIMIT);
            if ours {
                let v = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::c_int);
                return u8::try_from(v).ok();
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsFd;

    /// Runs `f` in a throw-away namespace (pinned under a temporary directory) with `lo` up, so
    /// the test's datagrams stay out of the caller's namespace. Needs root.
    fn in_scratch_namespace(f: impl FnOnce() + Send) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = crate::NetnsDir::new(tmp.path());
        let ns = crate::Netns::create(&dir, "hl-udp-ttl").expect("creating a namespace (root?)");
        ns.set_loopback_up().unwrap();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ns.run(f)));
        drop(ns);
        let _ = dir.unpin("hl-udp-ttl");
        match result {
            Ok(r) => r.unwrap(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    #[test]
    fn ttl_and_hop_limit_come_with_the_datagram() {
        in_scratch_namespace(|| {
            for (any, ipv6) in [("127.0.0.1:0", false), ("[::1]:0", true)] {
                let rx = UdpSocket::bind(any).unwrap();
                set_recv_ttl(rx.as_fd(), ipv6, true).unwrap();
                let tx = UdpSocket::bind(any).unwrap();
                for ttl in [255u8, 64, 1] {
                    crate::sockopt::set_ttl(tx.as_fd(), ipv6, ttl).unwrap();
                    tx.send_to(b"hello", rx.local_addr().unwrap()).unwrap();
                    let mut buf = [0u8; 16];
                    let got = recv_from_with_ttl(rx.as_fd(), &mut buf).unwrap();
                    assert_eq!(&buf[..got.len], b"hello");
                    assert_eq!(got.ttl, Some(ttl), "ipv6 {ipv6}");
                    assert_eq!(got.from, Some(tx.local_addr().unwrap()));
                    assert!(!got.truncated);
                }
                // Without the option: no TTL.
                set_recv_ttl(rx.as_fd(), ipv6, false).unwrap();
                tx.send_to(b"x", rx.local_addr().unwrap()).unwrap();
                let mut buf = [0u8; 16];
                assert_eq!(recv_from_with_ttl(rx.as_fd(), &mut buf).unwrap().ttl, None);
                // A short buffer is flagged.
                set_recv_ttl(rx.as_fd(), ipv6, true).unwrap();
                tx.send_to(b"longer than four", rx.local_addr().unwrap())
                    .unwrap();
                let mut small = [0u8; 4];
                let got = recv_from_with_ttl(rx.as_fd(), &mut small).unwrap();
                assert!(got.truncated && got.len == 4);
            }
        });
    }
}
