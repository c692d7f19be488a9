//! An rtnetlink handle whose socket lives in a given namespace.
//!
//! A netlink socket belongs to the namespace of the thread that created it, for its whole life.
//! [`Netlink::open`] creates the socket on a thread inside the namespace, then wraps it in an
//! `rtnetlink` connection driven by a task on the caller's tokio runtime. The handle is `Clone +
//! Send + Sync` and usable from any thread of any runtime while that runtime lives.
//!
//! ```text
//!   thread in ns --socket(AF_NETLINK)--> fd --> TokioSocket --> Connection (task on caller's runtime)
//!                                                                  ^
//!   Netlink { rtnetlink::Handle } ---- requests over a channel ----+
//! ```
//!
//! Link, address and route operations are methods of [`Netlink`] in [`crate::link`],
//! [`crate::address`] and [`crate::route`].
//!
//! What it does not do: nf_tables (see [`crate::firewall`]), or work without a tokio runtime.

use std::os::fd::{AsFd, FromRawFd, IntoRawFd};

use netlink_sys::TokioSocket;
use netlink_sys::protocols::NETLINK_ROUTE;

use crate::error::{Error, Result};
use crate::namespace::Netns;
use crate::sys;

/// An rtnetlink connection into one namespace.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: rtnetlink::Handle,
    ns: String,
}

impl Netlink {
    /// Opens a connection into `ns`. Must be called within a tokio runtime (the connection task
    /// is spawned on it).
    pub fn open(ns: &Netns) -> Result<Netlink> {
        let what = || format!("opening netlink socket in {}", ns.name());
        let socket = ns
            .run(|| netlink_sys::Socket::new(NETLINK_ROUTE))?
            .map_err(|e| Error::os(what(), e))?;
        Netlink::from_socket(socket, ns.name())
    }

    /// Opens one connection into each namespace, in order (within a tokio runtime). The sockets
    /// are created by one helper thread that enters each namespace in turn, instead of one
    /// thread per namespace as [`Netlink::open`] does.
    pub fn open_many(namespaces: &[&Netns]) -> Result<Vec<Netlink>> {
        let sockets = std::thread::scope(|s| {
            s.spawn(|| {
                namespaces
                    .iter()
                    .map(|ns| {
                        let what = || format!("opening netlink socket in {}", ns.name());
                        sys::setns(ns.as_fd(), libc::CLONE_NEWNET).map_err(|e| {
                            Error::os(format!("entering namespace {}", ns.name()), e)
                        })?;
                        netlink_sys::Socket::new(NETLINK_ROUTE).map_err(|e| Error::os(what(), e))
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .join()
        })
        .map_err(|_| Error::Unavailable {
            what: "opening netlink sockets".into(),
            detail: "helper thread panicked".into(),
        })??;
        sockets
            .into_iter()
            .zip(namespaces)
            .map(|(socket, ns)| Netlink::from_socket(socket, ns.name()))
            .collect()
    }

    /// Opens a connection into the calling thread's namespace (within a tokio runtime).
    pub fn open_current() -> Result<Netlink> {
        let socket = netlink_sys::Socket::new(NETLINK_ROUTE)
            .map_err(|e| Error::os("opening netlink socket", e))?;
        Netlink::from_socket(socket, "(current)")
    }

    fn from_socket(socket: netlink_sys::Socket, ns: &str) -> Result<Netlink> {
        let what = || format!("opening netlink socket in {ns}");
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Unavailable {
                what: what(),
                detail: "no tokio runtime on this thread (call from within a runtime)".into(),
            });
        }
        // Strict checking makes the kernel refuse attributes it does not understand and honour
        // dump filters (table, family), as iproute2 does.
        socket
            .set_netlink_get_strict_chk(true)
            .map_err(|e| Error::os(what(), e))?;
        socket.set_ext_ack(true).map_err(|e| Error::os(what(), e))?;
        let fd = socket.into_raw_fd();
        // SAFETY: `fd` is a netlink socket we own (just released by `into_raw_fd`); we are inside
        // a tokio runtime, which `TokioSocket::from_raw_fd` requires to register it.
        let socket = unsafe { TokioSocket::from_raw_fd(fd) };
        let (conn, handle, _) = rtnetlink::from_socket(socket);
        tokio::spawn(conn);
        Ok(Netlink {
            handle,
            ns: ns.to_string(),
        })
    }

    /// The underlying rtnetlink handle, for requests this crate does not wrap.
    pub fn handle(&self) -> &rtnetlink::Handle {
        &self.handle
    }

    /// Name of the namespace the socket lives in (for messages).
    pub fn namespace(&self) -> &str {
        &self.ns
    }
}
