//! Installing and removing many routes fast: add/replace/delete requests written to the kernel
//! many at a time (one `sendmsg` carries up to [`MAX_PER_WRITE`] rtnetlink requests), with ECMP
//! as multipath routes. `add` is exclusive (it never takes over a route someone else installed:
//! `EEXIST` comes back in [`RouteError::errno`]); `replace` takes over whatever route has the
//! same destination, so callers use it on their own routes.
//!
//! ```text
//!   write:  [req seq n][req n+1] ... [req n+k, NLM_F_ACK]      one sendmsg; the kernel carries
//!                                                               them out in order, in the call
//!   read:   [error seq n+3] ... [ack or error seq n+k]         only refusals, then the last one's
//!                                                               answer (the end of the write)
//! ```
//!
//! Only the last request of a write asks for an acknowledgement, so a write of a few hundred
//! routes costs two system calls and no wake-ups in between, where one request at a time costs
//! a write and a read per route. rtnetlink handles requests in the writer's context, so when the
//! write returns every answer is queued; the receive buffer is sized so that a write whose every
//! request is refused still fits (error answers carry only the request's header,
//! `NETLINK_CAP_ACK`).
//!
//! The writes are blocking system calls in which the kernel does its FIB work. The `blocking_*`
//! methods make them on the calling thread (a thread of the caller's own, never an async
//! runtime worker); the async methods hand each batch to tokio's blocking pool.
//!
//! Added by the BGP work (issue #3) as a minimal, separate module while the rest of this crate is
//! being built; the owner of `netns` may fold it into its route API.
//!
//! The socket belongs to the network namespace of the thread that opens it ([`RouteBatcher::new`]).
//!
//! What it does not do: read routes back, or manage interfaces and addresses.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::Socket;
use netlink_sys::protocols::NETLINK_ROUTE;
use rtnetlink::RouteMessageBuilder;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteNextHop, RouteProtocol,
};

/// Kernel protocol number for routes a BGP daemon installs (RTPROT_BGP).
pub const PROTO_BGP: u8 = 186;

/// Most requests in one write (larger `per_write` arguments are cut to this). With every one
/// refused, their answers (about 1 KiB of receive buffer each) fit the buffer this module sets.
pub const MAX_PER_WRITE: usize = 256;

/// Receive buffer asked for (forced past `rmem_max` with CAP_NET_ADMIN, which installing routes
/// needs anyway; else the capped maximum, still room for [`MAX_PER_WRITE`] refusals).
const RECEIVE_BUFFER: usize = 4 << 20;

/// One route to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination network address.
    pub dst: IpAddr,
    /// Prefix length.
    pub len: u8,
    /// Gateways; more than one makes a multipath route.
    pub gateways: Vec<IpAddr>,
    /// Routing table.
    pub table: u32,
    /// Protocol number (`PROTO_BGP` for BGP routes).
    pub protocol: u8,
}

/// A route request the kernel refused.
#[derive(Debug, thiserror::Error)]
#[error("{op} {dst}/{len}: {message}")]
pub struct RouteError {
    /// "add", "replace" or "delete".
    pub op: &'static str,
    /// Destination.
    pub dst: IpAddr,
    /// Prefix length.
    pub len: u8,
    /// The kernel's answer.
    pub message: String,
    /// The positive errno of the answer, when it was one (`EEXIST` for an `add` whose
    /// destination, table and metric another route already holds).
    pub errno: Option<i32>,
}

impl RouteError {
    /// An `add` refused because a route with the same destination already exists.
    pub fn is_exists(&self) -> bool {
        self.errno == Some(libc::EEXIST)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Delete,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Replace => "replace",
            Op::Delete => "delete",
        }
    }

    /// Header flags, without `NLM_F_ACK` (only the last request of a write asks for one).
    fn flags(self) -> u16 {
        match self {
            Op::Add => NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL,
            Op::Replace => NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE,
            Op::Delete => NLM_F_REQUEST,
        }
    }
}

/// A netlink route socket for route batches. Clones share the socket; their batches take turns.
#[derive(Debug, Clone)]
pub struct RouteBatcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    socket: Mutex<Socket>,
    seq: AtomicU32,
}

fn message(spec: &RouteSpec) -> Result<RouteMessage, String> {
    let mut b = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(spec.dst, spec.len)
        .map_err(|e| e.to_string())?
        .table_id(spec.table)
        .protocol(RouteProtocol::from(spec.protocol));
    match spec.gateways.as_slice() {
        [] => {}
        [one] => b = b.gateway(*one).map_err(|e| e.to_string())?,
        many => {
            let hops = many
                .iter()
                .map(|g| {
                    let mut hop = RouteNextHop::default();
                    hop.attributes = vec![RouteAttribute::Gateway(RouteAddress::from(*g))];
                    hop
                })
                .collect();
            b = b.multipath(hops);
        }
    }
    Ok(b.build())
}

/// The request's route message (a delete names the destination only).
fn request(op: Op, spec: &RouteSpec) -> Result<RouteMessage, String> {
    if op == Op::Delete && !spec.gateways.is_empty() {
        let mut spec = spec.clone();
        spec.gateways.clear();
        return message(&spec);
    }
    message(spec)
}

/// Appends one request to `buf`.
fn encode(buf: &mut Vec<u8>, op: Op, msg: RouteMessage, seq: u32, ack: bool) {
    let mut nl = NetlinkMessage::from(match op {
        Op::Delete => RouteNetlinkMessage::DelRoute(msg),
        Op::Add | Op::Replace => RouteNetlinkMessage::NewRoute(msg),
    });
    nl.header.flags = op.flags() | if ack { NLM_F_ACK } else { 0 };
    nl.header.sequence_number = seq;
    nl.finalize();
    let at = buf.len();
    buf.resize(at + nl.buffer_len(), 0);
    nl.serialize(&mut buf[at..]);
}

const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;

/// The `(sequence number, errno)` of every error or acknowledgement in one datagram (`errno`
/// 0: acknowledged). Malformed input ends the walk; nothing here panics.
fn answers(mut buf: &[u8]) -> Vec<(u32, i32)> {
    let u32_at = |b: &[u8], at: usize| {
        b.get(at..at + 4)
            .map(|x| u32::from_ne_bytes([x[0], x[1], x[2], x[3]]))
    };
    let mut out = Vec::new();
    while let (Some(len), Some(kind), Some(seq)) = (
        u32_at(buf, 0),
        buf.get(4..6).map(|x| u16::from_ne_bytes([x[0], x[1]])),
        u32_at(buf, 8),
    ) {
        let len = len as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            break;
        }
        if kind == NLMSG_ERROR
            && let Some(code) = u32_at(buf, NLMSG_HDRLEN)
        {
            out.push((seq, (code as i32).wrapping_neg()));
        }
        buf = buf.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    out
}

impl RouteBatcher {
    /// Opens a netlink route socket in the current thread's network namespace.
    pub fn new() -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        // Error answers carry the request's header only, not the whole request.
        socket.set_cap_ack(true)?;
        crate::sockbuf::set_socket_buffers(
            std::os::fd::AsFd::as_fd(&socket),
            RECEIVE_BUFFER,
            64 << 10,
        )?;
        Ok(RouteBatcher {
            inner: Arc::new(Inner {
                socket: Mutex::new(socket),
                seq: AtomicU32::new(1),
            }),
        })
    }

    /// Installs or replaces routes, `per_write` requests per write (at most
    /// [`MAX_PER_WRITE`]); returns the failures. A replace takes over any route with the same
    /// destination, table and metric, whoever installed it.
    pub async fn replace(&self, routes: Vec<RouteSpec>, per_write: usize) -> Vec<RouteError> {
        self.run(Op::Replace, routes, per_write).await
    }

    /// Installs routes that must not exist yet, `per_write` requests per write; returns the
    /// failures (`EEXIST` when a route with the same destination, table and metric is there,
    /// whoever installed it: it is left as it is).
    pub async fn add(&self, routes: Vec<RouteSpec>, per_write: usize) -> Vec<RouteError> {
        self.run(Op::Add, routes, per_write).await
    }

    /// Deletes routes (gateways are ignored), `per_write` requests per write; a route that is
    /// already gone is not an error. Returns the failures.
    pub async fn delete(&self, routes: Vec<RouteSpec>, per_write: usize) -> Vec<RouteError> {
        self.run(Op::Delete, routes, per_write).await
    }

    /// [`add`](Self::add) on the calling thread, which it blocks while the kernel works.
    pub fn blocking_add(&self, routes: &[RouteSpec], per_write: usize) -> Vec<RouteError> {
        self.inner.run(op_routes(Op::Add, routes, per_write))
    }

    /// [`replace`](Self::replace) on the calling thread, which it blocks while the kernel works.
    pub fn blocking_replace(&self, routes: &[RouteSpec], per_write: usize) -> Vec<RouteError> {
        self.inner.run(op_routes(Op::Replace, routes, per_write))
    }

    /// [`delete`](Self::delete) on the calling thread, which it blocks while the kernel works.
    pub fn blocking_delete(&self, routes: &[RouteSpec], per_write: usize) -> Vec<RouteError> {
        self.inner.run(op_routes(Op::Delete, routes, per_write))
    }

    async fn run(&self, op: Op, routes: Vec<RouteSpec>, per_write: usize) -> Vec<RouteError> {
        if routes.is_empty() {
            return Vec::new();
        }
        let inner = Arc::clone(&self.inner);
        match tokio::task::spawn_blocking(move || inner.run(op_routes(op, &routes, per_write)))
            .await
        {
            Ok(errors) => errors,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => vec![RouteError {
                op: op.name(),
                dst: IpAddr::from([0, 0, 0, 0]),
                len: 0,
                message: format!("route batch cancelled: {e}"),
                errno: None,
            }],
        }
    }
}

/// One batch: the operation, its routes, requests per write (clamped to 1..=MAX_PER_WRITE).
fn op_routes(op: Op, routes: &[RouteSpec], per_write: usize) -> (Op, &[RouteSpec], usize) {
    (op, routes, per_write.clamp(1, MAX_PER_WRITE))
}

impl Inner {
    fn run(&self, (op, routes, per_write): (Op, &[RouteSpec], usize)) -> Vec<RouteError> {
        if routes.is_empty() {
            return Vec::new();
        }
        let socket = self.socket.lock().unwrap_or_else(PoisonError::into_inner);
        let fail = |spec: &RouteSpec, message: String, errno: Option<i32>| RouteError {
            op: op.name(),
            dst: spec.dst,
            len: spec.len,
            message,
            errno,
        };
        let mut errors = Vec::new();
        let mut buf = Vec::with_capacity(per_write * 128);
        let mut rx: Vec<u8> = Vec::with_capacity(64 << 10);
        for chunk in routes.chunks(per_write) {
            let base = self.seq.fetch_add(chunk.len() as u32, Ordering::Relaxed);
            // The requests of this write, by offset from `base` (sequence numbers); the last
            // one asks for an acknowledgement, which marks the end of the write's answers.
            let mut written = vec![false; chunk.len()];
            let mut msgs = Vec::with_capacity(chunk.len());
            for (i, spec) in chunk.iter().enumerate() {
                match request(op, spec) {
                    Ok(m) => {
                        written[i] = true;
                        msgs.push((i, m));
                    }
                    Err(m) => errors.push(fail(spec, m, None)),
                }
            }
            let Some(&(last, _)) = msgs.last() else {
                continue;
            };
            buf.clear();
            for (i, m) in msgs {
                encode(&mut buf, op, m, base.wrapping_add(i as u32), i == last);
            }
            if let Err(e) = socket.send(&buf, 0) {
                for (spec, _) in chunk.iter().zip(&written).filter(|(_, w)| **w) {
                    errors.push(fail(spec, format!("netlink write: {e}"), e.raw_os_error()));
                }
                continue;
            }
            // Every request has been carried out when the write returns; read the answers
            // queued for it, without waiting, up to the last request's.
            let mut answered = vec![false; chunk.len()];
            let mut lost = None;
            loop {
                rx.clear();
                match socket.recv(&mut rx, libc::MSG_DONTWAIT) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    // ENOBUFS (answers dropped) or worse: what is unanswered is unknown.
                    Err(e) => {
                        lost = Some(e);
                        continue;
                    }
                }
                let mut end = false;
                for (seq, errno) in answers(&rx) {
                    let i = seq.wrapping_sub(base) as usize;
                    let Some(spec) = chunk.get(i) else { continue }; // an earlier write's
                    answered[i] = true;
                    end |= i == last;
                    let gone = op == Op::Delete && errno == libc::ESRCH;
                    if errno != 0 && !gone {
                        let text = io::Error::from_raw_os_error(errno).to_string();
                        errors.push(fail(spec, text, Some(errno)));
                    }
                }
                if end {
                    break;
                }
            }
            if !answered[last] {
                // Never expected (the answers of one write fit the buffer): report every
                // request of the write that has no answer, as its outcome is unknown.
                let why = lost.map_or_else(
                    || "no answer from the kernel".to_string(),
                    |e| format!("answers lost: {e}"),
                );
                for i in (0..chunk.len()).filter(|&i| written[i] && !answered[i]) {
                    errors.push(fail(&chunk[i], why.clone(), Some(libc::ENOBUFS)));
                }
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, kind: u16, seq: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&len.to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b
    }

    #[test]
    fn answers_reads_errors_and_acks_and_survives_garbage() {
        let mut b = header(36, NLMSG_ERROR, 7);
        b.extend_from_slice(&(-libc::EEXIST).to_ne_bytes());
        b.extend_from_slice(&header(16, 24, 7)); // the request's header (NETLINK_CAP_ACK)
        let mut ack = header(36, NLMSG_ERROR, 8);
        ack.extend_from_slice(&0i32.to_ne_bytes());
        ack.extend_from_slice(&header(16, 24, 8));
        b.extend_from_slice(&ack);
        assert_eq!(answers(&b), vec![(7, libc::EEXIST), (8, 0)]);
        // Truncated, zero-length, over-long: no panic, nothing read past the damage.
        for cut in 0..b.len() {
            let _ = answers(&b[..cut]);
        }
        assert!(answers(&header(0, NLMSG_ERROR, 1)).is_empty());
        assert!(answers(&header(4096, NLMSG_ERROR, 1)).is_empty());
    }

    #[test]
    fn requests_carry_flags_sequence_and_ack_on_the_last_only() {
        let spec = RouteSpec {
            dst: "10.1.2.0".parse().unwrap(),
            len: 24,
            gateways: vec!["192.0.2.1".parse().unwrap()],
            table: 254,
            protocol: PROTO_BGP,
        };
        let mut buf = Vec::new();
        encode(
            &mut buf,
            Op::Add,
            request(Op::Add, &spec).unwrap(),
            41,
            false,
        );
        let first = buf.len();
        encode(
            &mut buf,
            Op::Add,
            request(Op::Add, &spec).unwrap(),
            42,
            true,
        );
        let flags = |at: usize| u16::from_ne_bytes([buf[at + 6], buf[at + 7]]);
        let seq = |at: usize| u32::from_ne_bytes(buf[at + 8..at + 12].try_into().unwrap());
        assert_eq!(flags(0), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
        assert_eq!(flags(first), flags(0) | NLM_F_ACK);
        assert_eq!((seq(0), seq(first)), (41, 42));
        assert_eq!(first % 4, 0);
    }
}
