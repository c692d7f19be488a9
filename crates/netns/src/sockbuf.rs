//! Socket buffer sizes beyond `net.core.rmem_max`/`wmem_max` (SO_RCVBUFFORCE/SO_SNDBUFFORCE,
//! which need CAP_NET_ADMIN), falling back to the capped SO_RCVBUF/SO_SNDBUF. A data plane that
//! receives bursts of 64 KiB GRO trains needs more than the 208 KiB default.
//!
//! Added by the ESP data-plane work (issue #4) as a minimal, separate module; the owner of
//! `netns` may fold it into `sockopt`.
//!
//! What it does not do: change the system-wide limits.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd};

fn set(fd: BorrowedFd<'_>, opt: libc::c_int, value: usize) -> io::Result<()> {
    let v = value.min(i32::MAX as usize) as libc::c_int;
    // SAFETY: `v` is a valid c_int for the duration of the call; the size matches.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
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

/// Sets the receive and send buffer sizes: forced past the system limits when privileged,
/// else as large as the limits allow.
pub fn set_socket_buffers(fd: BorrowedFd<'_>, receive: usize, send: usize) -> io::Result<()> {
    set(fd, libc::SO_RCVBUFFORCE, receive).or_else(|_| set(fd, libc::SO_RCVBUF, receive))?;
    set(fd, libc::SO_SNDBUFFORCE, send).or_else(|_| set(fd, libc::SO_SNDBUF, send))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn buffers_are_set() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        set_socket_buffers(s.as_fd(), 1 << 20, 1 << 20).unwrap();
    }
}
