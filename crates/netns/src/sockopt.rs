//! Socket options other crates need that std and socket2 do not cover (or not in one place):
//! TTL / hop limit, minimum TTL (GTSM, RFC 5082), SO_BINDTODEVICE, UDP GSO (`UDP_SEGMENT`) and
//! GRO (`UDP_GRO`) with the control-message helpers to go with them. TCP MD5 signatures live in
//! [`crate::tcp_sockopt`] and are re-exported here.
//!
//! What it does not do: own sockets. Every function takes a borrowed descriptor.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

pub use crate::tcp_sockopt::{TCP_MD5_MAX_KEY_LEN, set_min_ttl, set_tcp_md5sig};

fn set_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    opt: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
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

fn get_int(fd: BorrowedFd<'_>, level: libc::c_int, opt: libc::c_int) -> io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            &mut v as *mut libc::c_int as *mut libc::c_void,
            &mut len,
        )
    };
    if rc == 0 {
        Ok(v)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the TTL (IPv4) or unicast hop limit (IPv6) of outgoing packets (eBGP sends TTL 1,
/// multihop more; GTSM sends 255).
pub fn set_ttl(fd: BorrowedFd<'_>, ipv6: bool, ttl: u8) -> io::Result<()> {
    if ipv6 {
        set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, ttl.into())
    } else {
        set_int(fd, libc::IPPROTO_IP, libc::IP_TTL, ttl.into())
    }
}

/// Reads the outgoing TTL / hop limit.
pub fn ttl(fd: BorrowedFd<'_>, ipv6: bool) -> io::Result<u8> {
    let v = if ipv6 {
        get_int(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS)?
    } else {
        get_int(fd, libc::IPPROTO_IP, libc::IP_TTL)?
    };
    Ok(v.clamp(0, 255) as u8)
}

/// Reads the minimum accepted TTL / hop count (GTSM).
pub fn min_ttl(fd: BorrowedFd<'_>, ipv6: bool) -> io::Result<u8> {
    let v = if ipv6 {
        get_int(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)?
    } else {
        get_int(fd, libc::IPPROTO_IP, libc::IP_MINTTL)?
    };
    Ok(v.clamp(0, 255) as u8)
}

/// Binds the socket to an interface (SO_BINDTODEVICE); `None` unbinds.
pub fn bind_to_device(fd: BorrowedFd<'_>, ifname: Option<&str>) -> io::Result<()> {
    let name = ifname.unwrap_or("");
    if name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long or with NUL",
        ));
    }
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            name.as_ptr() as *const libc::c_void,
            name.len() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets a default UDP GSO segment size for every send on the socket (`UDP_SEGMENT`); 0 turns it
/// off. A per-send size goes in a control message instead ([`crate::mmsg::SendMeta`]).
pub fn set_udp_segment(fd: BorrowedFd<'_>, segment_size: u16) -> io::Result<()> {
    set_int(fd, libc::SOL_UDP, libc::UDP_SEGMENT, segment_size.into())
}

/// Turns UDP GRO on or off: the kernel may then deliver several same-sized datagrams of one flow
/// as one buffer, with the segment size in a `UDP_GRO` control message
/// ([`crate::mmsg::RecvMeta::gro_segment_size`]).
pub fn set_udp_gro(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_int(fd, libc::SOL_UDP, libc::UDP_GRO, on.into())
}

/// Whether UDP GSO and GRO are available on this kernel for this socket.
pub fn udp_offload_supported(fd: BorrowedFd<'_>) -> bool {
    get_int(fd, libc::SOL_UDP, libc::UDP_SEGMENT).is_ok()
        && get_int(fd, libc::SOL_UDP, libc::UDP_GRO).is_ok()
}

/// Space for one `UDP_GRO` or `UDP_SEGMENT` control message (CMSG_SPACE of an int / u16).
pub const UDP_CMSG_SPACE: usize = cmsg_space(size_of::<libc::c_int>());

/// CMSG_SPACE(len) as a const fn.
pub const fn cmsg_space(len: usize) -> usize {
    let align = size_of::<usize>();
    let hdr = (size_of::<libc::cmsghdr>() + align - 1) & !(align - 1);
    hdr + ((len + align - 1) & !(align - 1))
}

/// Splits a GRO-coalesced buffer of `len` bytes into its datagrams: with segment size `seg`, every
/// datagram has `seg` bytes except perhaps the last.
pub fn gro_segments(len: usize, seg: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let seg = seg.max(1);
    (0..len)
        .step_by(seg)
        .map(move |start| start..(start + seg).min(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsFd;

    #[test]
    fn options_are_accepted_and_read_back() {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        set_ttl(s.as_fd(), false, 1).unwrap();
        assert_eq!(ttl(s.as_fd(), false).unwrap(), 1);
        set_min_ttl(s.as_fd(), false, 254).unwrap();
        assert_eq!(min_ttl(s.as_fd(), false).unwrap(), 254);
        assert!(udp_offload_supported(s.as_fd()));
        set_udp_segment(s.as_fd(), 1400).unwrap();
        set_udp_gro(s.as_fd(), true).unwrap();
        bind_to_device(s.as_fd(), Some("lo")).unwrap();
        assert_eq!(
            bind_to_device(s.as_fd(), Some("no-such-dev"))
                .unwrap_err()
                .raw_os_error(),
            Some(libc::ENODEV)
        );
        bind_to_device(s.as_fd(), None).unwrap();
        let s6 = UdpSocket::bind("[::1]:0").unwrap();
        set_ttl(s6.as_fd(), true, 64).unwrap();
        assert_eq!(ttl(s6.as_fd(), true).unwrap(), 64);
    }

    #[test]
    fn gro_buffers_split_into_segments() {
        let v: Vec<_> = gro_segments(3500, 1400).collect();
        assert_eq!(v, vec![0..1400, 1400..2800, 2800..3500]);
        assert_eq!(gro_segments(0, 1400).count(), 0);
        assert_eq!(UDP_CMSG_SPACE, 24);
    }
}
