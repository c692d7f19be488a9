//! Installing and removing many routes fast: add/replace/delete requests pipelined over one
//! rtnetlink connection, with ECMP as multipath routes. `add` is exclusive (it never takes over
//! a route someone else installed: `EEXIST` comes back in [`RouteError::errno`]); `replace`
//! takes over whatever route has the same destination, so callers use it on their own routes.
//!
//! Added by the BGP work (issue #3) as a minimal, separate module while the rest of this crate is
//! being built; the owner of `netns` may fold it into its route API.
//!
//! The connection belongs to the network namespace of the thread that opens it: open it from a
//! runtime running inside the target namespace.
//!
//! What it does not do: read routes back, or manage interfaces and addresses.

use std::io;
use std::net::IpAddr;

use futures::stream::{self, StreamExt};
use rtnetlink::RouteMessageBuilder;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteNextHop, RouteProtocol,
};

/// Kernel protocol number for routes a BGP daemon installs (RTPROT_BGP).
pub const PROTO_BGP: u8 = 186;

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

fn errno_of(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| -c.get()),
        _ => None,
    }
}

/// An rtnetlink connection for route batches.
#[derive(Debug, Clone)]
pub struct RouteBatcher {
    handle: rtnetlink::Handle,
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

impl RouteBatcher {
    /// Opens a connection in the current thread's network namespace (inside a tokio runtime).
    pub fn new() -> io::Result<Self> {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(RouteBatcher { handle })
    }

    /// Installs or replaces routes, up to `in_flight` requests at a time; returns the failures.
    /// A replace takes over any route with the same destination, table and metric, whoever
    /// installed it.
    pub async fn replace(&self, routes: Vec<RouteSpec>, in_flight: usize) -> Vec<RouteError> {
        self.install(routes, in_flight, true).await
    }

    /// Installs routes that must not exist yet, up to `in_flight` requests at a time; returns
    /// the failures (`EEXIST` when a route with the same destination, table and metric is
    /// there, whoever installed it: it is left as it is).
    pub async fn add(&self, routes: Vec<RouteSpec>, in_flight: usize) -> Vec<RouteError> {
        self.install(routes, in_flight, false).await
    }

    async fn install(
        &self,
        routes: Vec<RouteSpec>,
        in_flight: usize,
        replace: bool,
    ) -> Vec<RouteError> {
        let results = stream::iter(routes)
            .map(|spec| {
                let handle = self.handle.clone();
                async move {
                    let msg = match message(&spec) {
                        Ok(m) => m,
                        Err(e) => return Err((spec, e, None)),
                    };
                    let req = handle.route().add(msg);
                    let req = if replace { req.replace() } else { req };
                    match req.execute().await {
                        Ok(()) => Ok(()),
                        Err(e) => Err((spec, e.to_string(), errno_of(&e))),
                    }
                }
            })
            .buffer_unordered(in_flight.max(1))
            .collect::<Vec<_>>()
            .await;
        results
            .into_iter()
            .filter_map(|r| r.err())
            .map(|(s, message, errno)| RouteError {
                op: if replace { "replace" } else { "add" },
                dst: s.dst,
                len: s.len,
                message,
                errno,
            })
            .collect()
    }

    /// Deletes routes (gateways are ignored), up to `in_flight` at a time; a route that is
    /// already gone is not an error. Returns the failures.
    pub async fn delete(&self, routes: Vec<RouteSpec>, in_flight: usize) -> Vec<RouteError> {
        let results = stream::iter(routes)
            .map(|mut spec| {
                let handle = self.handle.clone();
                spec.gateways.clear();
                async move {
                    let msg = match message(&spec) {
                        Ok(m) => m,
                        Err(e) => return Err((spec, e, None)),
                    };
                    match handle.route().del(msg).execute().await {
                        Ok(()) => Ok(()),
                        Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -libc::ESRCH => {
                            Ok(())
                        }
                        Err(e) => Err((spec, e.to_string(), errno_of(&e))),
                    }
                }
            })
            .buffer_unordered(in_flight.max(1))
            .collect::<Vec<_>>()
            .await;
        results
            .into_iter()
            .filter_map(|r| r.err())
            .map(|(s, message, errno)| RouteError {
                op: "delete",
                dst: s.dst,
                len: s.len,
                message,
                errno,
            })
            .collect()
    }
}
