//! Kernel route installation: the RIB's [`FibChange`]s become routes with protocol `bgp` in a
//! routing table of the namespace the speaker runs in, ECMP as multipath routes, withdrawn
//! routes removed. Requests go to the kernel many per system call through `netns::route_batch`.
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

/// Chunks of changes queued for the installer: one being installed, one ready. The RIB task
/// waits for room in this queue (see `Core::run`), so the installer never waits for an outside
/// event to get its next chunk.
pub(super) const QUEUE: usize = 2;

type Key = (IpAddr, u8);

/// Starts the installer task; returns where to send changes, and a counter of installed routes.
pub fn spawn(
    table: u32,
    events: impl Fn(SpeakerEvent) + Send + 'static,
) -> std::io::Result<(mpsc::Sender<Vec<FibChange>>, Arc<AtomicU64>)> {
    let batcher = RouteBatcher::new()?;
    let (tx, mut rx) = mpsc::channel::<Vec<FibChange>>(QUEUE);
    let installed = Arc::new(AtomicU64::new(0));
    let count = installed.clone();
    tokio::spawn(async move {
        // Prefixes whose kernel route this speaker installed, and those a foreign route holds
        // (with the next hops wanted for them).
        let mut owned: HashSet<Key> = HashSet::new();
        let mut held: HashMap<Key, Vec<IpAddr>> = HashMap::new();
        let spec = |(dst, len): Key, gateways: Vec<IpAddr>| RouteSpec {
            dst,
            len,
            gateways,
            table,
            protocol: PROTO_BGP,
        };
        while let Some(changes) = rx.recv().await {
            let mut claim = Vec::new();
            let mut replace = Vec::new();
            let mut delete = Vec::new();
            let mut fresh: HashSet<Key> = HashSet::new();
            for c in changes {
                match c {
                    FibChange::Replace {
                        prefix, next_hops, ..
                    } => {
                        let key = (prefix.addr(), prefix.len());
                        if owned.contains(&key) {
                            replace.push(spec(key, next_hops));
                        } else if held.insert(key, next_hops).is_none() {
                            fresh.insert(key);
                        }
                    }
                    FibChange::Delete { prefix } => {
                        let key = (prefix.addr(), prefix.len());
                        if owned.remove(&key) {
                            delete.push(spec(key, Vec::new()));
                        } else {
                            held.remove(&key);
                        }
                    }
                }
            }
            // Everything not ours yet is claimed now: new prefixes, and held ones once more.
            for (key, hops) in &held {
                claim.push(spec(*key, hops.clone()));
            }
            let (n_rep, n_del, n_claim) = (replace.len() as u32, delete.len() as u32, claim.len());
            let mut failed = batcher.delete(delete, PER_WRITE).await;
            failed.extend(batcher.replace(replace, PER_WRITE).await);
            let claimed: Vec<Key> = claim.iter().map(|s| (s.dst, s.len)).collect();
            let mut refused: HashSet<Key> = HashSet::new();
            let mut newly_held = Vec::new();
            for e in batcher.add(claim, PER_WRITE).await {
                refused.insert((e.dst, e.len));
                if !e.is_exists() {
                    failed.push(e);
                } else if fresh.contains(&(e.dst, e.len)) {
                    newly_held.push(e);
                }
            }
            // Claims refused for any reason stay held and are tried again with the next batch.
            let mut n_added = 0u32;
            for key in claimed.into_iter().filter(|k| !refused.contains(k)) {
                held.remove(&key);
                owned.insert(key);
                n_added += 1;
            }
            for e in failed.iter().take(5) {
                warn!(error = %e, "kernel refused a route");
            }
            for e in newly_held.iter().take(5) {
                warn!(
                    prefix = %format!("{}/{}", e.dst, e.len),
                    table,
                    "a route this speaker did not install holds the prefix: left alone"
                );
            }
            debug!(
                held = held.len(),
                claimed = n_claim,
                owned = owned.len(),
                "kernel routes"
            );
            let ok_rep =
                n_rep.saturating_sub(failed.iter().filter(|e| e.op == "replace").count() as u32);
            let ok_del =
                n_del.saturating_sub(failed.iter().filter(|e| e.op == "delete").count() as u32);
            count.store(owned.len() as u64, Ordering::Relaxed);
            events(SpeakerEvent::Kernel {
                installed: ok_rep + n_added,
                removed: ok_del,
                failed: failed.len() as u32,
                held: held.len() as u32,
            });
        }
    });
    Ok((tx, installed))
}
