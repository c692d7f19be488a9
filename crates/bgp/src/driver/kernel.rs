//! Kernel route installation: the RIB's [`FibChange`]s become routes with protocol `bgp` in a
//! routing table of the namespace the speaker runs in, ECMP as multipath routes, withdrawn
//! routes removed. Requests go to the kernel many per system call through `netns::route_batch`.
//!
//! The installer is a thread of its own, not a tokio task: the kernel does its FIB work inside
//! the writes, which block, and between chunks the thread takes the next one from its queue
//! without a hand-off between threads (the RIB task keeps the queue filled, see `Core::run`).
//!
//! ```text
//!   Replace, prefix not ours  --add (exclusive)-->  ours: later Replace = replace, Delete = delete
//!                                 \ EEXIST: a route we did not install (connected, static,
//!                                   another daemon's) holds it: left alone, "held", tried
//!                                   again with every later batch; its Delete only forgets it
//! ```
//!
//! A route of the same destination and metric that this speaker did not install is never
//! replaced (a kernel replace would take it over, and the withdrawal would then delete it).
//!
//! What it does not do: decide what to install (the RIB does), read the kernel table back, or
//! sweep `bgp` routes a previous run left (a gateway's next hops are on its TUN devices, which
//! die with it, taking their routes along).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tracing::{debug, warn};

use netns::route_batch::{PROTO_BGP, RouteBatcher, RouteSpec};

use super::events::SpeakerEvent;
use crate::rib::FibChange;

/// Route requests per netlink write.
const PER_WRITE: usize = netns::route_batch::MAX_PER_WRITE;

/// Chunks of changes queued for the installer. The RIB task refills the queue as soon as the
/// installer takes a chunk (see `Core::run`); four chunks are tens of milliseconds of kernel
/// work, slack for the RIB task to be scheduled on a busy machine.
pub(super) const QUEUE: usize = 4;

type Key = (IpAddr, u8);

/// The prefixes whose kernel route this speaker installed: a million of them in 8 octets each
/// for IPv4 (address << 8 | length) instead of the 18 of a `Key`.
#[derive(Debug, Default)]
struct Owned {
    v4: HashSet<u64>,
    v6: HashSet<(u128, u8)>,
}

impl Owned {
    fn contains(&self, (addr, len): Key) -> bool {
        match addr {
            IpAddr::V4(a) => self
                .v4
                .contains(&(u64::from(u32::from(a)) << 8 | u64::from(len))),
            IpAddr::V6(a) => self.v6.contains(&(u128::from(a), len)),
        }
    }

    fn insert(&mut self, (addr, len): Key) {
        match addr {
            IpAddr::V4(a) => self
                .v4
                .insert(u64::from(u32::from(a)) << 8 | u64::from(len)),
            IpAddr::V6(a) => self.v6.insert((u128::from(a), len)),
        };
    }

    fn remove(&mut self, (addr, len): Key) -> bool {
        match addr {
            IpAddr::V4(a) => self
                .v4
                .remove(&(u64::from(u32::from(a)) << 8 | u64::from(len))),
            IpAddr::V6(a) => self.v6.remove(&(u128::from(a), len)),
        }
    }

    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

/// Starts the installer thread (it ends when the returned sender is dropped); returns where to
/// send changes, and a counter of installed routes. The netlink socket is opened here, in the
/// calling thread's network namespace.
pub fn spawn(
    table: u32,
    events: impl Fn(SpeakerEvent) + Send + 'static,
) -> std::io::Result<(mpsc::Sender<Vec<FibChange>>, Arc<AtomicU64>)> {
    let mut installer = Installer {
        batcher: RouteBatcher::new()?,
        table,
        owned: Owned::default(),
        held: HashMap::new(),
    };
    let (tx, mut rx) = mpsc::channel::<Vec<FibChange>>(QUEUE);
    let installed = Arc::new(AtomicU64::new(0));
    let count = installed.clone();
    let span = tracing::Span::current();
    std::thread::Builder::new()
        .name("bgp-kernel".into())
        .spawn(move || {
            let _span = span.entered();
            while let Some(changes) = rx.blocking_recv() {
                let ev = installer.apply(changes);
                count.store(installer.owned.len() as u64, Ordering::Relaxed);
                events(ev);
            }
        })?;
    Ok((tx, installed))
}

/// The installer thread's state.
struct Installer {
    batcher: RouteBatcher,
    table: u32,
    /// Prefixes whose kernel route this speaker installed.
    owned: Owned,
    /// Prefixes a route this speaker did not install holds, with the next hops wanted for them.
    held: HashMap<Key, Vec<IpAddr>>,
}

impl Installer {
    fn spec(&self, (dst, len): Key, gateways: Vec<IpAddr>) -> RouteSpec {
        RouteSpec {
            dst,
            len,
            gateways,
            table: self.table,
            protocol: PROTO_BGP,
        }
    }

    /// Carries out one chunk of changes: deletes and replaces of our own routes, then exclusive
    /// adds of everything not ours yet (new prefixes, and held ones once more).
    fn apply(&mut self, changes: Vec<FibChange>) -> SpeakerEvent {
        let mut claim = Vec::new();
        // Per claim: a prefix not held before this chunk (a refusal makes it newly held).
        let mut fresh = Vec::new();
        let mut replace = Vec::new();
        let mut delete = Vec::new();
        for c in changes {
            match c {
                FibChange::Replace {
                    prefix, next_hops, ..
                } => {
                    let key = (prefix.addr(), prefix.len());
                    if self.owned.contains(key) {
                        replace.push(self.spec(key, next_hops));
                    } else {
                        let was_held = !self.held.is_empty() && self.held.remove(&key).is_some();
                        claim.push(self.spec(key, next_hops));
                        fresh.push(!was_held);
                    }
                }
                FibChange::Delete { prefix } => {
                    let key = (prefix.addr(), prefix.len());
                    if self.owned.remove(key) {
                        delete.push(self.spec(key, Vec::new()));
                    } else if !self.held.is_empty() {
                        self.held.remove(&key);
                    }
                }
            }
        }
        for (key, hops) in std::mem::take(&mut self.held) {
            claim.push(self.spec(key, hops));
            fresh.push(false);
        }
        let (n_rep, n_del, n_claim) = (replace.len() as u32, delete.len() as u32, claim.len());
        let mut failed = self.batcher.blocking_delete(&delete, PER_WRITE);
        failed.extend(self.batcher.blocking_replace(&replace, PER_WRITE));
        let refusals = self.batcher.blocking_add(&claim, PER_WRITE);
        // Claims refused for any reason stay held and are tried again with the next chunk.
        let refused: HashSet<Key> = refusals.iter().map(|e| (e.dst, e.len)).collect();
        let mut newly_held = Vec::new();
        let mut n_added = 0u32;
        for (s, fresh) in claim.into_iter().zip(fresh) {
            let key = (s.dst, s.len);
            if !refused.is_empty() && refused.contains(&key) {
                if fresh {
                    newly_held.push(key);
                }
                self.held.insert(key, s.gateways);
            } else {
                self.owned.insert(key);
                n_added += 1;
            }
        }
        for (dst, len) in newly_held.iter().take(5) {
            warn!(
                prefix = %format!("{dst}/{len}"),
                table = self.table,
                "a route this speaker did not install holds the prefix: left alone"
            );
        }
        failed.extend(refusals.into_iter().filter(|e| !e.is_exists()));
        for e in failed.iter().take(5) {
            warn!(error = %e, "kernel refused a route");
        }
        debug!(
            held = self.held.len(),
            claimed = n_claim,
            owned = self.owned.len(),
            "kernel routes"
        );
        let ok_rep =
            n_rep.saturating_sub(failed.iter().filter(|e| e.op == "replace").count() as u32);
        let ok_del =
            n_del.saturating_sub(failed.iter().filter(|e| e.op == "delete").count() as u32);
        SpeakerEvent::Kernel {
            installed: ok_rep + n_added,
            removed: ok_del,
            failed: failed.len() as u32,
            held: self.held.len() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_keeps_prefixes_apart_by_length_and_family() {
        let mut o = Owned::default();
        let k = |s: &str, len| (s.parse::<IpAddr>().expect("address"), len);
        o.insert(k("10.0.0.0", 8));
        o.insert(k("::a00:0", 8));
        assert!(o.contains(k("10.0.0.0", 8)));
        assert!(!o.contains(k("10.0.0.0", 16)));
        assert!(!o.contains(k("11.0.0.0", 8)));
        assert!(o.contains(k("::a00:0", 8)));
        assert_eq!(o.len(), 2);
        assert!(o.remove(k("10.0.0.0", 8)));
        assert!(!o.remove(k("10.0.0.0", 8)));
        assert!(o.contains(k("::a00:0", 8)));
        assert_eq!(o.len(), 1);
    }
}
