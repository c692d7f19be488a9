//! The two kinds of UDP socket RFC 5881 asks for.
//!
//! - A **listener** per local address: bound to `(local, 3784)` (§4), with `IP_RECVTTL` /
//!   `IPV6_RECVHOPLIMIT` on so that the listener sees each packet's TTL / hop limit and drops
//!   (and counts) anything but 255 (§5). `IP_MINTTL` would not do: Linux enforces it for TCP
//!   only and silently ignores it on UDP sockets (the driver tests send TTL 64 to prove ours).
//! - A **transmit socket** per session: bound to `(local, p)` with `p` in 49152-65535, the same
//!   port for the whole session (§4), TTL / hop limit 255 (§5), optionally bound to the
//!   session's interface (`SO_BINDTODEVICE`).
//!
//! What it does not do: IPv6 link-local addresses (they need a scope id; sessions use global
//! addresses), learn the receiving interface of a packet (no `IP_PKTINFO`: the address binding
//! does that job), DSCP marking.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// The BFD Control port for single hop (RFC 5881 §4).
pub const CONTROL_PORT: u16 = 3784;
/// The source port range (RFC 5881 §4).
pub const SOURCE_PORTS: std::ops::RangeInclusive<u16> = 49152..=65535;
/// TTL / hop limit sent and required (RFC 5881 §5).
pub const TTL: u8 = 255;

fn udp(addr: IpAddr) -> io::Result<Socket> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// A listener on `(local, 3784)` that reports each packet's TTL / hop limit
/// ([`netns::udp_ttl::recv_from_with_ttl`]).
pub fn listener(local: IpAddr) -> io::Result<std::net::UdpSocket> {
    let s = udp(local)?;
    netns::udp_ttl::set_recv_ttl(s.as_fd(), local.is_ipv6(), true)?;
    s.bind(&SockAddr::from(SocketAddr::new(local, CONTROL_PORT)))?;
    Ok(s.into())
}

/// A transmit socket on `(local, p)`, `p` the first free port of 49152-65535 from `start`
/// (wrapping), sending with TTL 255, bound to `ifname` if given.
pub fn transmitter(
    local: IpAddr,
    ifname: Option<&str>,
    start: u16,
) -> io::Result<(std::net::UdpSocket, u16)> {
    let s = udp(local)?;
    netns::sockopt::set_ttl(s.as_fd(), local.is_ipv6(), TTL)?;
    if let Some(name) = ifname {
        netns::sockopt::bind_to_device(s.as_fd(), Some(name))?;
    }
    let (lo, hi) = (*SOURCE_PORTS.start(), *SOURCE_PORTS.end());
    let span = u32::from(hi - lo) + 1;
    let first = u32::from(start.clamp(lo, hi) - lo);
    for i in 0..span {
        let port = lo + ((first + i) % span) as u16;
        match s.bind(&SockAddr::from(SocketAddr::new(local, port))) {
            Ok(()) => return Ok((s.into(), port)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "no free UDP source port in 49152-65535",
    ))
}
