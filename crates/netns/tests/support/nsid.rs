//! Knowing when the kernel has destroyed network namespaces, for tests and benchmarks (needs
//! root). Shared by `tests/objects.rs` and `benches/lab_scale.rs`.
//!
//! Deleting a namespace (unpinning it, closing the last descriptor) only queues it: the kernel
//! destroys it later on its cleanup work queue (`cleanup_net`), together with every link, address
//! and route inside. To see that happen, each namespace gets a namespace id (nsid) in the
//! watcher's own namespace, and the kernel announces RTM_DELNSID to RTNLGRP_NSID listeners when
//! it takes the namespace off its lists, at the start of its cleanup batch.
//!
//! ```text
//!   assign(ns)        RTM_NEWNSID { NETNSA_FD: ns, NETNSA_NSID: id }   (in our namespace)
//!   wait_deleted(ids) every id announced by RTM_DELNSID: their cleanup batches started
//!   barrier(ids)      then a sentinel namespace is created and deleted; its RTM_DELNSID can
//!                     only come once the batches before it finished (the queue is ordered)
//! ```
//!
//! What it does not do: notice a namespace that never dies (that is a timeout, with the count).

use std::collections::HashSet;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use netns::sockbuf::set_socket_buffers;
use netns::{Netlink, Netns, NetnsDir};
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkBuffer, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::nsid::{NsidAttribute, NsidMessage};
use tokio::sync::mpsc;

/// RTNLGRP_NSID (include/uapi/linux/rtnetlink.h).
const RTNLGRP_NSID: u32 = 28;

/// Receives the RTM_DELNSID notifications of the calling thread's namespace.
#[derive(Debug)]
pub struct NsidWatch {
    deleted: tokio::sync::Mutex<mpsc::UnboundedReceiver<i32>>,
    assigner: Netlink,
    next: AtomicI32,
}

impl NsidWatch {
    /// Starts listening (within a tokio runtime).
    pub fn start() -> NsidWatch {
        let mut socket = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE)
            .expect("netlink socket");
        socket.bind_auto().expect("binding netlink socket");
        socket
            .add_membership(RTNLGRP_NSID)
            .expect("joining RTNLGRP_NSID");
        // Deleting 500 namespaces announces 500 deletions at once: never lose one.
        set_socket_buffers(socket.as_fd(), 16 << 20, 1 << 16).expect("socket buffer");
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            loop {
                let (buf, _) = match socket.recv_from_full() {
                    Ok(r) => r,
                    Err(e) => panic!("reading nsid notifications: {e} (events lost)"),
                };
                let mut at = 0;
                while at < buf.len() {
                    let Ok(nl) = NetlinkBuffer::new_checked(&buf[at..]) else {
                        break;
                    };
                    let len = nl.length() as usize;
                    if len < 16 || at + len > buf.len() {
                        break;
                    }
                    if let Ok(msg) =
                        NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[at..at + len])
                        && let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelNsId(m)) =
                            msg.payload
                    {
                        for a in m.attributes {
                            if let NsidAttribute::Id(id) = a
                                && tx.send(id).is_err()
                            {
                                return;
                            }
                        }
                    }
                    at += (len + 3) & !3;
                }
            }
        });
        NsidWatch {
            deleted: tokio::sync::Mutex::new(rx),
            assigner: Netlink::open_current().expect("netlink in our own namespace"),
            // Far above the ids the kernel hands out by itself (from 0 up), and apart from other
            // processes doing the same.
            next: AtomicI32::new((1 << 20) + (std::process::id() % 1024) as i32 * (1 << 16)),
        }
    }

    /// Gives `ns` an id in our namespace, so that its destruction is announced. Ids are
    /// shared by every process of our namespace: one taken by another test or benchmark is
    /// skipped.
    pub async fn assign(&self, ns: &Netns) -> i32 {
        for _ in 0..64 {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            let mut msg = NsidMessage::default();
            msg.attributes
                .push(NsidAttribute::Fd(ns.as_fd().as_raw_fd() as u32));
            msg.attributes.push(NsidAttribute::Id(id));
            let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewNsId(msg));
            req.header.flags = NLM_F_REQUEST | NLM_F_ACK;
            let mut replies = self
                .assigner
                .handle()
                .clone()
                .request(req)
                .expect("sending RTM_NEWNSID");
            let mut taken = false;
            while let Some(r) = replies.next().await {
                if let NetlinkPayload::Error(e) = r.payload {
                    match e.code.map(|c| -c.get()) {
                        Some(libc::EEXIST) => taken = true,
                        _ => panic!("assigning nsid {id} to {}: {e:?}", ns.name()),
                    }
                }
            }
            if !taken {
                return id;
            }
        }
        panic!("no free nsid for {} after 64 tries", ns.name());
    }

    /// [`NsidWatch::assign`] for many namespaces at once.
    pub async fn assign_all(&self, ns: &[&Netns]) -> HashSet<i32> {
        futures::stream::iter(ns.iter().map(|n| self.assign(n)))
            .buffer_unordered(64)
            .collect()
            .await
    }

    /// Waits until the kernel announced the deletion of every id in `ids`; panics with the
    /// number left after `timeout`.
    pub async fn wait_deleted(&self, mut ids: HashSet<i32>, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.deleted.lock().await;
        while !ids.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(id)) => {
                    ids.remove(&id);
                }
                Ok(None) => panic!("nsid watcher stopped"),
                Err(_) => panic!(
                    "{} namespaces not destroyed after {timeout:?} (something holds them)",
                    ids.len()
                ),
            }
        }
    }

    /// Waits until the namespaces `ids` were destroyed, through a sentinel namespace named
    /// `sentinel` (in /run/netns) as the module documentation says; returns when.
    pub async fn barrier(&self, ids: HashSet<i32>, sentinel: &str, timeout: Duration) -> Instant {
        self.wait_deleted(ids, timeout).await;
        let dir = NetnsDir::system();
        let ns = Netns::create(&dir, sentinel).expect("creating the sentinel namespace");
        let id = self.assign(&ns).await;
        ns.delete(&dir).expect("deleting the sentinel namespace");
        self.wait_deleted(HashSet::from([id]), timeout).await;
        Instant::now()
    }
}
