//! TCP/IP socket options a BGP speaker needs that have no safe wrapper: TCP_MD5SIG (RFC 2385
//! signatures, per peer address) and IP_MINTTL / IPV6_MINHOPCOUNT (GTSM, RFC 5082).
//!
//! Added by the BGP work (issue #3) as a minimal, separate module while the rest of this crate is
//! being built; the owner of `netns` may fold it into its socket API.
//!
//! What it does not do: keep keys. The caller's key buffer is only read; the copy handed to the
//! kernel lives on this function's stack and is zeroed before returning.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Longest key the kernel accepts (TCP_MD5SIG_MAXKEYLEN).
pub const TCP_MD5_MAX_KEY_LEN: usize = 80;

#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; TCP_MD5_MAX_KEY_LEN],
}

/// Sets (or, with an empty `key`, removes) the TCP MD5 key for connections with `peer` on a
/// listening or connecting socket.
pub fn set_tcp_md5sig(fd: BorrowedFd<'_>, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > TCP_MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP MD5 key longer than {TCP_MD5_MAX_KEY_LEN} octets"),
        ));
    }
    // SAFETY: all-zero bytes are a valid value for this plain C struct.
    let mut sig: TcpMd5Sig = unsafe { zeroed() };
    match peer {
        IpAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe { &mut *(&mut sig.addr as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from(a).to_be();
        }
        IpAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut sig.addr as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = a.octets();
        }
    }
    sig.keylen = key.len() as u16;
    sig.key[..key.len()].copy_from_slice(key);
    // SAFETY: `sig` is a valid tcp_md5sig for the duration of the call; the size matches.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            &sig as *const TcpMd5Sig as *const libc::c_void,
            size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    // Zero our copy of the key whatever happened.
    for b in sig.key.iter_mut() {
        // SAFETY: `b` is a valid, aligned reference into `sig.key`.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the minimum TTL (IPv4) or hop limit (IPv6) accepted on the socket (GTSM, RFC 5082).
pub fn set_min_ttl(fd: BorrowedFd<'_>, ipv6: bool, ttl: u8) -> io::Result<()> {
    let v: libc::c_int = libc::c_int::from(ttl);
    let (level, opt) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)
    } else {
        (libc::IPPROTO_IP, libc::IP_MINTTL)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::fd::AsFd;

    #[test]
    fn md5_and_minttl_are_accepted_by_the_kernel() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        set_tcp_md5sig(l.as_fd(), "127.0.0.2".parse().unwrap(), b"secret").unwrap();
        set_tcp_md5sig(l.as_fd(), "127.0.0.2".parse().unwrap(), b"").unwrap();
        assert!(set_tcp_md5sig(l.as_fd(), "127.0.0.2".parse().unwrap(), &[0; 81]).is_err());
        set_min_ttl(l.as_fd(), false, 254).unwrap();
    }
}
