//! The ICMP echo probe: echo requests over an unprivileged ICMP datagram socket ("ping
//! socket", allowed by the namespace's `net.ipv4.ping_group_range`, which the engine opens);
//! the payload is [`super::wire::Payload`], so a reply says which request it answers and when
//! it was sent.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Type (8/128) |     Code 0    |   Checksum (kernel fills it)  |   RFC 792 / RFC 4443 4.1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Identifier (kernel: port)   |        Sequence Number        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 probe payload (24 bytes, see wire)            |
//! ```
//!
//! A round trip is "delivered": an outage in either direction shows as loss.
//!
//! What it does not do: raw sockets (no privilege needed), or measure one-way delay.

use std::sync::Arc;

use tokio::net::UdpSocket;
use tracing::{Instrument, debug_span, trace};

use super::wire::{LEN, Payload};
use super::{NsRunner, ProbeError, ProbeLog, ProbeSpec, Running, in_ns, lock, ticker};

const HEADER: usize = 8;

/// Builds an echo request for `payload` (`v6`: ICMPv6 type 128, else ICMP type 8).
pub fn echo_request(v6: bool, seq: u16, payload: &Payload) -> [u8; HEADER + LEN] {
    let mut b = [0u8; HEADER + LEN];
    b[0] = if v6 { 128 } else { 8 };
    b[6..8].copy_from_slice(&seq.to_be_bytes());
    let mut p = [0u8; LEN];
    payload.encode(&mut p);
    b[HEADER..].copy_from_slice(&p);
    b
}

/// Reads an echo reply (`v6`: type 129, else type 0); `None` for anything else.
pub fn parse_reply(v6: bool, b: &[u8]) -> Option<Payload> {
    let want = if v6 { 129 } else { 0 };
    if *b.first()? != want || *b.get(1)? != 0 {
        return None;
    }
    Payload::decode(b.get(HEADER..)?).ok()
}

/// Starts the echo sender and the reply reader on one socket.
pub async fn start(spec: ProbeSpec, runner: Arc<dyn NsRunner>) -> Result<Running, ProbeError> {
    let err = |what, source| ProbeError::Socket {
        probe: spec.name.clone(),
        what,
        source,
    };
    let dst = spec.dst;
    let v6 = dst.is_ipv6();
    let std_sock = in_ns(
        &*runner,
        &spec.from,
        move || -> std::io::Result<std::net::UdpSocket> {
            let (domain, proto) = if v6 {
                (socket2::Domain::IPV6, socket2::Protocol::ICMPV6)
            } else {
                (socket2::Domain::IPV4, socket2::Protocol::ICMPV4)
            };
            let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(proto))?;
            s.set_nonblocking(true)?;
            s.connect(&std::net::SocketAddr::new(dst.ip(), 0).into())?;
            Ok(s.into())
        },
    )?
    .map_err(|e| {
        err(
            "opening an ICMP socket (is net.ipv4.ping_group_range open?)",
            e,
        )
    })?;
    let sock = Arc::new(UdpSocket::from_std(std_sock).map_err(|e| err("registering", e))?);
    let log = Arc::new(std::sync::Mutex::new(ProbeLog::default()));
    let span = debug_span!("probe", name = %spec.name, kind = "icmp");
    let reader = {
        let (log, sock, id) = (log.clone(), sock.clone(), spec.probe_id);
        tokio::spawn(
            async move {
                let mut buf = [0u8; 2048];
                while let Ok(n) = sock.recv(&mut buf).await {
                    match parse_reply(v6, &buf[..n]) {
                        Some(p) if p.probe_id == id => lock(&log).arrived(p.seq, p.sent_ns),
                        other => trace!(?other, "foreign ICMP ignored"),
                    }
                }
            }
            .instrument(span.clone()),
        )
    };
    let sender = {
        let (log, spec) = (log.clone(), spec.clone());
        tokio::spawn(
            async move {
                let mut tick = ticker(spec.interval());
                loop {
                    tick.tick().await;
                    let now = netns::clock::monotonic_ns();
                    let seq = lock(&log).sent(now);
                    let pkt = echo_request(
                        v6,
                        seq as u16,
                        &Payload {
                            probe_id: spec.probe_id,
                            seq,
                            sent_ns: now,
                        },
                    );
                    if let Err(e) = sock.send(&pkt).await {
                        trace!(error = %e, seq, "send failed");
                    }
                }
            }
            .instrument(span),
        )
    };
    Ok(Running::new(spec, log, sender, vec![reader]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_and_reply_shapes() {
        let p = Payload {
            probe_id: 7,
            seq: 300,
            sent_ns: 42,
        };
        let mut r = echo_request(false, 300, &p);
        assert_eq!((r[0], r[1], &r[6..8]), (8, 0, &[1u8, 44][..]));
        assert_eq!(parse_reply(false, &r), None, "a request is not a reply");
        r[0] = 0;
        assert_eq!(parse_reply(false, &r), Some(p));
        assert_eq!(parse_reply(true, &r), None);
    }

    proptest! {
        #[test]
        fn parse_reply_never_panics(v6: bool, bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_reply(v6, &bytes);
        }
    }
}
