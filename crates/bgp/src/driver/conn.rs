//! TCP connections for sessions: socket options (TCP MD5, TTL, GTSM), outgoing connects, and the
//! reader and writer task of each connection.
//!
//! ```text
//!   TcpStream --split--> reader task: read, frame (check -> parse -> advance), send whole
//!                        messages to the session task as one chunk per read
//!                   \--> writer task: write FSM messages first (priority channel), then UPDATE
//!                        chunks from the RIB (bounded channel = backpressure); Close flushes
//! ```
//!
//! What it does not do: interpret messages (the session task runs the FSM on them).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use secret::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tracing::debug;

use crate::fsm::ConnId;
use crate::wire::{WireError, frame};

/// What a connection reports to its session task.
#[derive(Debug)]
pub enum ConnEvent {
    /// An outgoing connect completed.
    Connected(ConnId, TcpStream),
    /// An outgoing connect failed.
    ConnectFailed(ConnId, io::Error),
    /// One or more whole messages.
    Data(ConnId, Bytes),
    /// The byte stream broke the framing rules (the session answers with a NOTIFICATION).
    FramingError(ConnId, WireError),
    /// The connection closed or failed.
    Closed(ConnId),
}

/// What the writer task takes.
#[derive(Debug)]
pub enum WriterMsg {
    /// Bytes to write.
    Bytes(Vec<u8>),
    /// Flush and close.
    Close,
}

/// Socket options for one neighbor's connections.
#[derive(Debug, Clone)]
pub struct SocketOptions {
    /// TCP MD5 key.
    pub password: Option<Secret<String>>,
    /// IP TTL / hop limit of our packets.
    pub ttl: u8,
    /// Minimum TTL accepted (GTSM).
    pub min_ttl: Option<u8>,
    /// Source address.
    pub local_address: Option<IpAddr>,
    /// The interface to use (SO_BINDTODEVICE).
    pub device: Option<String>,
}

/// Applies TTL and GTSM to a connected or listening socket.
pub fn apply_ttl(stream: &impl AsFd, ipv6: bool, opts: &SocketOptions) -> io::Result<()> {
    let sock = socket2::SockRef::from(stream);
    if ipv6 {
        sock.set_unicast_hops_v6(u32::from(opts.ttl))?;
    } else {
        sock.set_ttl_v4(u32::from(opts.ttl))?;
    }
    if let Some(min) = opts.min_ttl {
        netns::tcp_sockopt::set_min_ttl(stream.as_fd(), ipv6, min)?;
    }
    Ok(())
}

/// Connects to `peer` with the options; the MD5 key is set before the SYN is sent.
pub async fn connect(
    peer: SocketAddr,
    opts: &SocketOptions,
    timeout: Duration,
) -> io::Result<TcpStream> {
    let sock = if peer.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    if let Some(pw) = &opts.password {
        netns::tcp_sockopt::set_tcp_md5sig(sock.as_fd(), peer.ip(), pw.expose().as_bytes())?;
    }
    apply_ttl(&sock, peer.is_ipv6(), opts)?;
    if let Some(dev) = &opts.device {
        netns::sockopt::bind_to_device(sock.as_fd(), Some(dev))?;
    }
    if let Some(local) = opts.local_address {
        sock.bind(SocketAddr::new(local, 0))?;
    }
    let stream = tokio::time::timeout(timeout, sock.connect(peer))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Handles of a running connection.
#[derive(Debug)]
pub struct ConnTasks {
    /// FSM messages (KEEPALIVE, OPEN, NOTIFICATION) and Close.
    pub prio: mpsc::UnboundedSender<WriterMsg>,
    /// UPDATE chunks from the RIB (bounded: backpressure).
    pub data: mpsc::Sender<Vec<u8>>,
    /// Our address on the connection.
    pub local: SocketAddr,
    reader: tokio::task::JoinHandle<()>,
}

impl ConnTasks {
    /// Stops reading; the writer closes after flushing what was queued before `Close`.
    pub fn close(&self) {
        let _ = self.prio.send(WriterMsg::Close);
        self.reader.abort();
    }
}

/// Starts the reader and writer tasks of a connected stream.
pub fn spawn(
    id: ConnId,
    stream: TcpStream,
    events: mpsc::Sender<ConnEvent>,
) -> io::Result<ConnTasks> {
    let local = stream.local_addr()?;
    let (mut rd, mut wr) = stream.into_split();
    let (prio_tx, mut prio_rx) = mpsc::unbounded_channel::<WriterMsg>();
    let (data_tx, mut data_rx) = mpsc::channel::<Vec<u8>>(8);
    let ev = events.clone();
    let reader = tokio::spawn(async move {
        let mut buf = BytesMut::with_capacity(64 * 1024);
        loop {
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(64 * 1024);
            }
            match rd.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            // Frame every whole message in the buffer.
            let mut end = 0;
            loop {
                match frame(&buf[end..]) {
                    Ok(Some(f)) => end += f.len,
                    Ok(None) => break,
                    Err(e) => {
                        if end > 0 {
                            let _ = ev
                                .send(ConnEvent::Data(id, buf.split_to(end).freeze()))
                                .await;
                        }
                        let _ = ev.send(ConnEvent::FramingError(id, e)).await;
                        return;
                    }
                }
            }
            if end > 0
                && ev
                    .send(ConnEvent::Data(id, buf.split_to(end).freeze()))
                    .await
                    .is_err()
            {
                return;
            }
        }
        let _ = ev.send(ConnEvent::Closed(id)).await;
    });
    tokio::spawn(async move {
        loop {
            let msg = tokio::select! {
                biased;
                m = prio_rx.recv() => m,
                d = data_rx.recv() => d.map(WriterMsg::Bytes),
            };
            match msg {
                Some(WriterMsg::Bytes(b)) => {
                    if wr.write_all(&b).await.is_err() {
                        let _ = events.send(ConnEvent::Closed(id)).await;
                        return;
                    }
                }
                Some(WriterMsg::Close) | None => {
                    let _ = wr.shutdown().await;
                    debug!(conn = id, "connection closed");
                    return;
                }
            }
        }
    });
    Ok(ConnTasks {
        prio: prio_tx,
        data: data_tx,
        local,
        reader,
    })
}
