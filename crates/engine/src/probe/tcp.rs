//! The TCP connect probe: one connection attempt per interval from the source namespace to a
//! listener in the destination namespace; an attempt counts as delivered when the three-way
//! handshake completes within [`timeout`], which is kept below the kernel's first SYN
//! retransmission (1 s) so that a retransmitted SYN after an outage is not mistaken for a
//! packet that got through during it.
//!
//! What it does not do: send data over the connections.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tracing::{Instrument, debug_span, trace};

use super::{NsRunner, ProbeError, ProbeLog, ProbeSpec, Running, any_addr, in_ns, lock, ticker};

/// How long an attempt may take: twice the interval, within [100 ms, 800 ms].
pub fn timeout(spec: &ProbeSpec) -> Duration {
    (spec.interval() * 2).clamp(Duration::from_millis(100), Duration::from_millis(800))
}

/// Starts the listener, then the connecting task.
pub async fn start(spec: ProbeSpec, runner: Arc<dyn NsRunner>) -> Result<Running, ProbeError> {
    let err = |what, source| ProbeError::Socket {
        probe: spec.name.clone(),
        what,
        source,
    };
    let log = Arc::new(std::sync::Mutex::new(ProbeLog::default()));
    let bind = any_addr(&spec.dst, spec.dst.port());
    let std_listener: std::net::TcpListener = in_ns(&*runner, &spec.to_node, || {
        super::bind_socket(bind, socket2::Type::STREAM)
    })?
    .map_err(|e| err("listening", e))?
    .into();
    std_listener
        .set_nonblocking(true)
        .map_err(|e| err("setting non-blocking", e))?;
    let listener = TcpListener::from_std(std_listener).map_err(|e| err("registering", e))?;
    let span = debug_span!("probe", name = %spec.name, kind = "tcp");
    let acceptor = tokio::spawn(
        async move {
            // Accept and close: the completed handshake is the measurement.
            while let Ok((conn, _)) = listener.accept().await {
                drop(conn);
            }
        }
        .instrument(span.clone()),
    );
    let sender = {
        let (log, spec) = (log.clone(), spec.clone());
        tokio::spawn(
            async move {
                let mut tick = ticker(spec.interval());
                let limit = timeout(&spec);
                loop {
                    tick.tick().await;
                    let dst = spec.dst;
                    let socket = in_ns(
                        &*runner,
                        &spec.from,
                        move || -> std::io::Result<std::net::TcpStream> {
                            let s = socket2::Socket::new(
                                socket2::Domain::for_address(dst),
                                socket2::Type::STREAM,
                                Some(socket2::Protocol::TCP),
                            )?;
                            s.set_nonblocking(true)?;
                            Ok(s.into())
                        },
                    );
                    let now = netns::clock::monotonic_ns();
                    let seq = lock(&log).sent(now);
                    let stream = match socket {
                        Ok(Ok(s)) => s,
                        other => {
                            trace!(?other, seq, "could not make a socket");
                            continue;
                        }
                    };
                    let log = log.clone();
                    tokio::spawn(async move {
                        let sock = TcpSocket::from_std_stream(stream);
                        if let Ok(Ok(conn)) = tokio::time::timeout(limit, sock.connect(dst)).await {
                            lock(&log).arrived(seq, now);
                            drop(conn);
                        }
                    });
                }
            }
            .instrument(span),
        )
    };
    Ok(Running::new(spec, log, sender, vec![acceptor]))
}
