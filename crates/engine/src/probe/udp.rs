//! The UDP stream probe: one datagram per interval, each carrying [`super::wire::Payload`];
//! the receiver in the destination namespace logs every sequence number that arrives.
//!
//! What it does not do: answer (the stream is one-way; the ICMP probe covers the way back).

use std::sync::Arc;

use tokio::net::UdpSocket;
use tracing::{Instrument, debug_span, trace};

use super::wire::{LEN, Payload};
use super::{NsRunner, ProbeError, ProbeLog, ProbeSpec, Running, any_addr, in_ns, lock, ticker};

fn bind_in(
    runner: &dyn NsRunner,
    node: &str,
    spec: &ProbeSpec,
    port: u16,
) -> Result<UdpSocket, ProbeError> {
    let err = |what, source| ProbeError::Socket {
        probe: spec.name.clone(),
        what,
        source,
    };
    let addr = any_addr(&spec.dst, port);
    let std_sock: std::net::UdpSocket = in_ns(runner, node, || {
        super::bind_socket(addr, socket2::Type::DGRAM)
    })?
    .map_err(|e| err("binding", e))?
    .into();
    std_sock
        .set_nonblocking(true)
        .map_err(|e| err("setting non-blocking", e))?;
    UdpSocket::from_std(std_sock).map_err(|e| err("registering", e))
}

/// Starts the receiver, then the sender.
pub async fn start(spec: ProbeSpec, runner: Arc<dyn NsRunner>) -> Result<Running, ProbeError> {
    let log = Arc::new(std::sync::Mutex::new(ProbeLog::default()));
    let rx = bind_in(&*runner, &spec.to_node, &spec, spec.dst.port())?;
    let tx = bind_in(&*runner, &spec.from, &spec, 0)?;
    let span = debug_span!("probe", name = %spec.name, kind = "udp");
    let receiver = {
        let (log, id) = (log.clone(), spec.probe_id);
        tokio::spawn(
            async move {
                let mut buf = [0u8; 2048];
                while let Ok(n) = rx.recv(&mut buf).await {
                    match Payload::decode(&buf[..n]) {
                        Ok(p) if p.probe_id == id => lock(&log).arrived(p.seq, p.sent_ns),
                        other => trace!(?other, "foreign datagram ignored"),
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
                let mut buf = [0u8; LEN];
                loop {
                    tick.tick().await;
                    let now = netns::clock::monotonic_ns();
                    let seq = lock(&log).sent(now);
                    Payload {
                        probe_id: spec.probe_id,
                        seq,
                        sent_ns: now,
                    }
                    .encode(&mut buf);
                    // A send error (no route during an outage) is a lost packet, nothing more.
                    if let Err(e) = tx.send_to(&buf, spec.dst).await {
                        trace!(error = %e, seq, "send failed");
                    }
                }
            }
            .instrument(span),
        )
    };
    Ok(Running::new(spec, log, sender, vec![receiver]))
}
