//! Waiting for descriptors with `poll(2)`, for data-plane threads that block on a TUN device or a
//! socket and must also wake up for commands and shutdown (a wake-up socket in the same set).
//!
//! Added by the ESP data-plane work (issue #4) as a minimal, separate module; the owner of
//! `netns` may fold it in elsewhere.
//!
//! What it does not do: async readiness (tokio's `AsyncFd` does that), or more than 8 descriptors.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

const MAX_FDS: usize = 8;

fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as libc::c_int)
}

fn poll(
    fds: &[BorrowedFd<'_>],
    events: libc::c_short,
    timeout: Option<Duration>,
) -> io::Result<u64> {
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "poll: at most 8 descriptors",
        ));
    }
    let mut pfds = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; MAX_FDS];
    for (p, fd) in pfds.iter_mut().zip(fds) {
        p.fd = fd.as_raw_fd();
        p.events = events;
    }
    // SAFETY: the first `fds.len()` entries of `pfds` are valid pollfd structs we own.
    let rc = unsafe {
        libc::poll(
            pfds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            timeout_ms(timeout),
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(e)
        };
    }
    Ok(pfds
        .iter()
        .take(fds.len())
        .enumerate()
        .filter(|(_, p)| p.revents != 0)
        .fold(0, |mask, (i, _)| mask | 1 << i))
}

/// Waits until one of `fds` (at most 8) is readable, or `timeout` passes (`None`: forever).
/// Returns a bitmask: bit `i` set when `fds[i]` is readable, or has an error or hang-up (so the
/// caller sees it on its next read). 0 on timeout or signal.
pub fn poll_readable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<u64> {
    poll(fds, libc::POLLIN, timeout)
}

/// Waits until `fd` is writable (or in error), or `timeout` passes; returns whether it is.
pub fn poll_writable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
    Ok(poll(&[fd], libc::POLLOUT, timeout)? != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn reports_which_descriptor_is_readable_and_times_out() {
        let (a, b) = UnixDatagram::pair().unwrap();
        let (c, _d) = UnixDatagram::pair().unwrap();
        let quick = Some(Duration::from_millis(10));
        assert_eq!(poll_readable(&[a.as_fd(), c.as_fd()], quick).unwrap(), 0);
        b.send(b"x").unwrap();
        assert_eq!(poll_readable(&[c.as_fd(), a.as_fd()], quick).unwrap(), 0b10);
        assert!(poll_writable(b.as_fd(), quick).unwrap());
        let nine: Vec<_> = (0..9).map(|_| a.as_fd()).collect();
        assert!(poll_readable(&nine, quick).is_err());
    }
}
