//! Kernel route installation: the RIB's [`FibChange`]s become routes with protocol `bgp` in a
//! routing table of the namespace the speaker runs in, ECMP as multipath routes, withdrawn
//! routes removed. Requests are pipelined (many in flight) through `netns::route_batch`.
//!
//! What it does not do: decide what to install (the RIB does), or read the kernel table back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tracing::warn;

use netns::route_batch::{PROTO_BGP, RouteBatcher, RouteSpec};

use super::events::SpeakerEvent;
use crate::rib::FibChange;

/// How many netlink requests are in flight at once.
const IN_FLIGHT: usize = 512;

/// Starts the installer task; returns where to send changes, and a counter of installed routes.
pub fn spawn(
    table: u32,
    events: impl Fn(SpeakerEvent) + Send + 'static,
) -> std::io::Result<(mpsc::Sender<Vec<FibChange>>, Arc<AtomicU64>)> {
    let batcher = RouteBatcher::new()?;
    // Two chunks: one being installed, one ready.
    let (tx, mut rx) = mpsc::channel::<Vec<FibChange>>(2);
    let installed = Arc::new(AtomicU64::new(0));
    let count = installed.clone();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let changes = first;
            let mut replace = Vec::new();
            let mut delete = Vec::new();
            let mut fresh = 0u64;
            for c in changes {
                match c {
                    FibChange::Replace {
                        prefix,
                        next_hops,
                        new,
                    } => {
                        fresh += u64::from(new);
                        replace.push(RouteSpec {
                            dst: prefix.addr(),
                            len: prefix.len(),
                            gateways: next_hops,
                            table,
                            protocol: PROTO_BGP,
                        })
                    }
                    FibChange::Delete { prefix } => delete.push(RouteSpec {
                        dst: prefix.addr(),
                        len: prefix.len(),
                        gateways: Vec::new(),
                        table,
                        protocol: PROTO_BGP,
                    }),
                }
            }
            let (n_rep, n_del) = (replace.len() as u32, delete.len() as u32);
            let mut failed = batcher.delete(delete, IN_FLIGHT).await;
            failed.extend(batcher.replace(replace, IN_FLIGHT).await);
            for e in failed.iter().take(5) {
                warn!(error = %e, "kernel refused a route");
            }
            let n_failed = failed.len() as u32;
            let ok_rep =
                n_rep.saturating_sub(failed.iter().filter(|e| e.op == "replace").count() as u32);
            let ok_del =
                n_del.saturating_sub(failed.iter().filter(|e| e.op == "delete").count() as u32);
            // Failures are rare and logged; the gauge counts what we asked for.
            let prev = count.load(Ordering::Relaxed);
            count.store(
                (prev + fresh).saturating_sub(u64::from(ok_del)),
                Ordering::Relaxed,
            );
            events(SpeakerEvent::Kernel {
                installed: ok_rep,
                removed: ok_del,
                failed: n_failed,
            });
        }
    });
    Ok((tx, installed))
}
