//! The receive side: one task per local address reads UDP port 3784, drops packets that did
//! not arrive with TTL / hop limit 255 (RFC 5881 §5), validates the rest ([`Repr::parse`]) and
//! hands each to its session (RFC 5880 §6.8.6 step 7).
//!
//! Demultiplexing: a nonzero Your Discriminator selects the session; a zero one (the peer does
//! not know us yet) selects it by (local address, source address), as RFC 5881 §3 allows for
//! single hop. Either way the source must be the session's peer. A malformed packet, or one with
//! the wrong TTL, from a session's peer is counted by that session; anything else that matches
//! no session is counted by the listener.
//!
//! What it does not do: run the state machine (the session task does), or block on a session:
//! a full session queue drops the packet (counted), as a lost datagram would.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use std::os::fd::AsFd;

use netns::udp_ttl::RecvTtl;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::debug;

use super::show::ListenerCounters;
use crate::wire::{Repr, WireError};

/// What the listener hands a session.
#[derive(Debug)]
pub(super) enum Delivery {
    /// A valid packet.
    Packet(Repr),
    /// A malformed packet from the session's peer.
    Malformed(WireError),
    /// A packet from the session's peer with a TTL / hop limit other than 255 (`None`: the
    /// kernel did not say).
    BadTtl(Option<u8>),
}

/// Where a session's packets go.
#[derive(Debug)]
pub(super) struct Route {
    pub local: IpAddr,
    pub peer: IpAddr,
    pub tx: mpsc::Sender<Delivery>,
}

/// The routing tables the listeners share.
#[derive(Debug, Default)]
pub(super) struct Demux {
    pub by_discriminator: HashMap<u32, Route>,
    pub by_address: HashMap<(IpAddr, IpAddr), u32>,
}

impl Demux {
    fn route(&self, local: IpAddr, from: IpAddr, your_discriminator: u32) -> Option<&Route> {
        let discr = if your_discriminator != 0 {
            your_discriminator
        } else {
            *self.by_address.get(&(local, from))?
        };
        self.by_discriminator
            .get(&discr)
            .filter(|r| r.local == local && r.peer == from)
    }
}

/// Receives on `socket` (bound to `local`:3784) until aborted.
pub(super) async fn run(
    socket: UdpSocket,
    local: IpAddr,
    demux: Arc<Mutex<Demux>>,
    counters: Arc<Mutex<ListenerCounters>>,
) {
    // A BFD packet is at most 255 octets (Length is one octet); read a little more so a longer
    // datagram still shows as such.
    let mut buf = [0u8; 512];
    loop {
        let got = socket
            .async_io(Interest::READABLE, || {
                netns::udp_ttl::recv_from_with_ttl(socket.as_fd(), &mut buf)
            })
            .await;
        match got {
            Ok(RecvTtl {
                len,
                from: Some(from),
                ttl,
                ..
            }) => deliver(&buf[..len], local, from, ttl, &demux, &counters),
            Ok(_) => lock(&counters).recv_errors += 1,
            Err(e) => {
                debug!(%local, error = %e, "receive error");
                lock(&counters).recv_errors += 1;
                // Not a hot loop if the error persists.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn deliver(
    bytes: &[u8],
    local: IpAddr,
    from: SocketAddr,
    ttl: Option<u8>,
    demux: &Mutex<Demux>,
    counters: &Mutex<ListenerCounters>,
) {
    let from = from.ip();
    let demux = lock(demux);
    let mut c = lock(counters);
    c.rx_packets += 1;
    if ttl != Some(super::socket::TTL) {
        match demux.route(local, from, 0) {
            Some(route) => {
                if route.tx.try_send(Delivery::BadTtl(ttl)).is_err() {
                    c.queue_full += 1;
                }
            }
            None => {
                debug!(%local, %from, ?ttl, "packet with TTL other than 255 dropped");
                c.bad_ttl += 1;
            }
        }
        return;
    }
    let (route, delivery) = match Repr::parse_bytes(bytes) {
        Ok(r) => match demux.route(local, from, r.your_discriminator) {
            Some(route) => (route, Delivery::Packet(r)),
            None => {
                debug!(%local, %from, your = r.your_discriminator, "no session for packet");
                c.no_session += 1;
                return;
            }
        },
        Err(e) => match demux.route(local, from, 0) {
            Some(route) => (route, Delivery::Malformed(e)),
            None => {
                debug!(%local, %from, error = %e, "malformed packet dropped");
                c.malformed.count(&e);
                return;
            }
        },
    };
    match route.tx.try_send(delivery) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => c.queue_full += 1,
        // The session is being removed.
        Err(mpsc::error::TrySendError::Closed(_)) => c.no_session += 1,
    }
}
