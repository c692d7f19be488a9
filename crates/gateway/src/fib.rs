//! Keeps a kernel routing table equal to what a gateway decided: the gateway hands over the
//! complete wanted set after every change, this module replaces what differs and deletes what
//! is gone, touching only routes it installed itself (it remembers them), so connected routes
//! and routes of other daemons stay.
//!
//! Replacing a route is atomic in the kernel (RTM_NEWROUTE with NLM_F_REPLACE), so a route that
//! moves from tunnel 1 to tunnel 2 never disappears in between: failover costs no extra loss.
//!
//! What it does not do: decide anything (the gateways do), or read the table back (it trusts
//! its own bookkeeping; a route removed behind its back comes back at the next change).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use netns::{Netlink, NextHop, Route, RouteKind};
use tracing::warn;

/// Where a destination goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Target {
    /// Through these next hops (several: ECMP), each a gateway address and optionally a device.
    Via(Vec<(Ipv4Addr, Option<String>)>),
    /// Dropped (a target that exists only on paper).
    Blackhole,
}

/// The routes one gateway owns in one table of one namespace.
#[derive(Debug)]
pub struct KernelRoutes {
    netlink: Netlink,
    table: u32,
    protocol: u8,
    installed: BTreeMap<Ipv4Net, Target>,
}

/// What one [`KernelRoutes::sync`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SyncStats {
    /// Routes added or changed.
    pub replaced: usize,
    /// Routes removed.
    pub removed: usize,
    /// Requests the kernel refused (logged).
    pub failed: usize,
}

impl KernelRoutes {
    /// Routes in `table` of the namespace `netlink` talks to, marked with `protocol`.
    pub fn new(netlink: Netlink, table: u32, protocol: u8) -> KernelRoutes {
        KernelRoutes {
            netlink,
            table,
            protocol,
            installed: BTreeMap::new(),
        }
    }

    /// What is installed now.
    pub fn installed(&self) -> &BTreeMap<Ipv4Net, Target> {
        &self.installed
    }

    fn route(&self, prefix: Ipv4Net, target: &Target) -> Route {
        let mut r = Route::new(IpNet::V4(prefix))
            .table(self.table)
            .protocol(self.protocol);
        match target {
            Target::Via(hops) => {
                for (gw, dev) in hops {
                    r = r.next_hop(match dev {
                        Some(d) => NextHop::via_dev(IpAddr::V4(*gw), d),
                        None => NextHop::via(IpAddr::V4(*gw)),
                    });
                }
            }
            Target::Blackhole => r = r.kind(RouteKind::Blackhole),
        }
        r
    }

    /// Makes the table hold exactly `wanted` (among the routes this instance owns).
    pub async fn sync(&mut self, wanted: &BTreeMap<Ipv4Net, Target>) -> SyncStats {
        let mut stats = SyncStats::default();
        for (prefix, target) in wanted {
            if self.installed.get(prefix) == Some(target) {
                continue;
            }
            if matches!(target, Target::Via(h) if h.is_empty()) {
                continue;
            }
            let route = self.route(*prefix, target);
            match self.netlink.replace_route(&route).await {
                Ok(()) => {
                    stats.replaced += 1;
                    self.installed.insert(*prefix, target.clone());
                }
                Err(e) => {
                    stats.failed += 1;
                    warn!(%prefix, error = %e, "kernel refused a route");
                }
            }
        }
        let gone: Vec<Ipv4Net> = self
            .installed
            .keys()
            .filter(|p| !wanted.contains_key(p))
            .copied()
            .collect();
        for prefix in gone {
            let target = self.installed.remove(&prefix).expect("listed above");
            match self.netlink.del_route(&self.route(prefix, &target)).await {
                Ok(()) => stats.removed += 1,
                Err(e) => {
                    stats.failed += 1;
                    warn!(%prefix, error = %e, "could not remove a route");
                }
            }
        }
        stats
    }

    /// Removes every route this instance installed.
    pub async fn clear(&mut self) -> SyncStats {
        self.sync(&BTreeMap::new()).await
    }
}
