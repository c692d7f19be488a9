//! Keeps a kernel routing table equal to what a gateway decided: the gateway hands over the
//! complete wanted set after every change, this module changes what differs and deletes what
//! is gone, touching only routes it installed itself (it remembers them), so connected routes
//! and routes of others stay.
//!
//! ```text
//!   wanted prefix, not ours yet  --add (NLM_F_EXCL)-->  ours            (then: replace, delete)
//!                                      \ EEXIST: someone else's route holds the prefix:
//!                                        left alone, "held", tried again at every sync
//! ```
//!
//! A route of the same destination and metric that this instance did not install (a connected
//! route, the operator's static route, another daemon's) is never replaced: the kernel's
//! replace would take it over, and deleting ours later would leave nothing. A held prefix is
//! claimed once that route is gone. A route carrying this instance's own protocol number is
//! the one exception: an earlier run of the same daemon left it (killed before it could clean
//! up), and it is taken over, so callers give each daemon a protocol no one else uses
//! ([`PROTO_GATEWAY`]).
//!
//! Replacing one of our own routes is atomic in the kernel (RTM_NEWROUTE with NLM_F_REPLACE),
//! so a route that moves from tunnel 1 to tunnel 2 never disappears in between: failover costs
//! no extra loss.
//!
//! What it does not do: decide anything (the gateways do), or read the table back (it trusts
//! its own bookkeeping; a route removed behind its back comes back at the next change).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};
use netns::{Netlink, NextHop, Route, RouteKind};
use tracing::{debug, warn};

/// Kernel protocol number of the routes a gateway daemon installs through [`KernelRoutes`]:
/// unassigned in `rtnetlink.h` (and `/etc/iproute2/rt_protos`), so neither the operator's
/// static routes (4), the kernel's (2) nor a BGP daemon's (186) carry it, and a restarted
/// gateway recognises what its earlier run left. Shown as `proto 72` by iproute2.
pub const PROTO_GATEWAY: u8 = 72;

/// Where a destination goes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Target {
    /// Through these next hops (several: ECMP), each a gateway address (of the prefix's
    /// family) and optionally a device.
    Via(Vec<(IpAddr, Option<String>)>),
    /// Dropped (a target that exists only on paper).
    Blackhole,
}

/// The routes one gateway owns in one table of one namespace, keyed by `P`: [`Ipv4Net`] for
/// the IPv4-only gateways, [`IpNet`] for one that installs both families (the TGW).
#[derive(Debug)]
pub struct KernelRoutes<P = Ipv4Net> {
    netlink: Netlink,
    table: u32,
    protocol: u8,
    installed: BTreeMap<P, Target>,
    held: BTreeSet<P>,
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
    /// Wanted prefixes left to a route this instance did not install.
    pub held: usize,
}

impl<P: Copy + Ord + Display + Into<IpNet>> KernelRoutes<P> {
    /// Routes in `table` of the namespace `netlink` talks to, marked with `protocol`.
    pub fn new(netlink: Netlink, table: u32, protocol: u8) -> KernelRoutes<P> {
        KernelRoutes {
            netlink,
            table,
            protocol,
            installed: BTreeMap::new(),
            held: BTreeSet::new(),
        }
    }

    /// What is installed now.
    pub fn installed(&self) -> &BTreeMap<P, Target> {
        &self.installed
    }

    /// Wanted prefixes whose destination (with the same metric) is held by a route this
    /// instance did not install, so it was left alone.
    pub fn held(&self) -> &BTreeSet<P> {
        &self.held
    }

    fn route(&self, prefix: P, target: &Target) -> Route {
        let mut r = Route::new(prefix.into())
            .table(self.table)
            .protocol(self.protocol);
        match target {
            Target::Via(hops) => {
                for (gw, dev) in hops {
                    r = r.next_hop(match dev {
                        Some(d) => NextHop::via_dev(*gw, d),
                        None => NextHop::via(*gw),
                    });
                }
            }
            Target::Blackhole => r = r.kind(RouteKind::Blackhole),
        }
        r
    }

    /// Makes the table hold exactly `wanted` (among the routes this instance owns).
    pub async fn sync(&mut self, wanted: &BTreeMap<P, Target>) -> SyncStats {
        let mut stats = SyncStats::default();
        for (prefix, target) in wanted {
            if self.installed.get(prefix) == Some(target) {
                continue;
            }
            if matches!(target, Target::Via(h) if h.is_empty()) {
                continue;
            }
            let route = self.route(*prefix, target);
            if self.installed.contains_key(prefix) {
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
                continue;
            }
            match self.netlink.add_route(&route).await {
                Ok(()) => {
                    stats.replaced += 1;
                    self.installed.insert(*prefix, target.clone());
                    self.held.remove(prefix);
                }
                Err(e) if e.is_exists() => {
                    if !self.held.contains(prefix) && self.left_by_an_earlier_run(*prefix).await {
                        // Our protocol: this daemon's route from before a restart. Take it over.
                        match self.netlink.replace_route(&route).await {
                            Ok(()) => {
                                stats.replaced += 1;
                                self.installed.insert(*prefix, target.clone());
                                continue;
                            }
                            Err(e) => {
                                warn!(%prefix, error = %e, "could not take over our earlier route")
                            }
                        }
                    }
                    stats.held += 1;
                    if self.held.insert(*prefix) {
                        warn!(%prefix, table = self.table, "a route this gateway did not install holds the prefix: left alone");
                    } else {
                        debug!(%prefix, "prefix still held by another route");
                    }
                }
                Err(e) => {
                    stats.failed += 1;
                    warn!(%prefix, error = %e, "kernel refused a route");
                }
            }
        }
        self.held.retain(|p| wanted.contains_key(p));
        let gone: Vec<P> = self
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

    /// Whether the route holding `prefix` carries this instance's protocol (and no metric, as
    /// ours): an earlier run of the same daemon installed it.
    async fn left_by_an_earlier_run(&self, prefix: P) -> bool {
        match self
            .netlink
            .routes_to(prefix.into(), Some(self.table))
            .await
        {
            Ok(routes) => routes
                .iter()
                .any(|r| r.protocol == self.protocol && r.metric.unwrap_or(0) == 0),
            Err(e) => {
                debug!(%prefix, error = %e, "reading the route that holds a prefix");
                false
            }
        }
    }

    /// Forgets what it installed, so the next [`KernelRoutes::sync`] checks every wanted route
    /// with the kernel again: one still there carries our protocol and is taken over in place
    /// (as after a restart), one gone (a link set down flushes the routes through it) is added
    /// back. For a caller that knows its routes may have been removed behind its back.
    pub fn forget(&mut self) {
        self.installed.clear();
        self.held.clear();
    }

    /// Removes every route this instance installed.
    pub async fn clear(&mut self) -> SyncStats {
        self.sync(&BTreeMap::new()).await
    }
}
