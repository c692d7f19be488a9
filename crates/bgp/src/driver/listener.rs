//! The BGP listener: accepts connections only from configured neighbors and hands each to its
//! session task. TCP MD5 keys of every neighbor with a password are set on the listening socket
//! before it accepts, so the kernel drops unsigned SYNs from them (RFC 2385 §2).
//!
//! What it does not do: TTL checks on the handshake (GTSM is set on the accepted socket).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::{Arc, RwLock};

use secret::Secret;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::session::ToSession;

/// Neighbor address -> its session task.
pub type Routes = Arc<RwLock<HashMap<IpAddr, mpsc::Sender<ToSession>>>>;

/// Maps IPv4-mapped IPv6 addresses back to IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Binds a listening socket (IPv6 sockets are IPv6-only) with the neighbors' MD5 keys, to
/// `device` if given (then only connections arriving on that interface are accepted).
pub fn bind(
    addr: SocketAddr,
    keys: &[(IpAddr, Secret<String>)],
    device: Option<&str>,
) -> io::Result<TcpListener> {
    let sock = if addr.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    sock.set_reuseaddr(true)?;
    if let Some(dev) = device {
        netns::sockopt::bind_to_device(sock.as_fd(), Some(dev))?;
    }
    if addr.is_ipv6() {
        socket2::SockRef::from(&sock).set_only_v6(true)?;
    }
    for (peer, key) in keys {
        if peer.is_ipv6() == addr.is_ipv6() {
            netns::tcp_sockopt::set_tcp_md5sig(sock.as_fd(), *peer, key.expose().as_bytes())?;
        }
    }
    sock.bind(addr)?;
    sock.listen(128)
}

/// Accepts forever, routing connections to session tasks.
pub async fn run(listener: TcpListener, routes: Routes) {
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let ip = canonical(from.ip());
        let target = routes.read().ok().and_then(|r| r.get(&ip).cloned());
        match target {
            Some(tx) => {
                if tx.send(ToSession::Incoming(stream)).await.is_err() {
                    info!(%ip, "neighbor removed while connecting");
                }
            }
            None => {
                info!(%ip, "refused connection from an address that is not a configured neighbor")
            }
        }
    }
}
