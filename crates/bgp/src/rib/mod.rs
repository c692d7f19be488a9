//! Routing information bases: Adj-RIB-In, Loc-RIB and Adj-RIB-Out in one table per family
//! (RFC 4271 §3.2, §9), the decision process, the policy hook, ECMP and kernel (FIB) changes.
//!
//! ```text
//!   UPDATE --apply_update--> intern attrs once --> per prefix: filter, import hook,
//!        upsert the peer's path in the prefix's entry, re-select (sorted, paths[..ecmp])
//!                               |  selection changed
//!                               +--> export queue per established neighbor ----> take_outgoing()
//!                               |        (evaluated lazily: filters, NO_EXPORT, prepend, ...)   packed UPDATEs
//!                               +--> FIB queue -------------------------------> take_fib_changes()
//! ```
//!
//! Design for scale (1M prefixes): no heap allocation per prefix or per path, attributes
//! interned and shared, all peers' paths for a prefix in one entry, a whole UPDATE processed as
//! a batch, Adj-RIB-Out as bitmaps. See `table.rs` for the memory layout.
//!
//! eBGP and iBGP rules applied here whatever the policy says: routes whose AS_PATH holds our AS
//! are kept as filtered (RFC 4271 §9.1.2); NO_ADVERTISE goes nowhere, NO_EXPORT and
//! NO_EXPORT_SUBCONFED not to eBGP neighbors (RFC 1997); iBGP-learned routes are not sent to iBGP
//! neighbors (RFC 4271 §9.2.1); to eBGP we prepend our AS, set ourselves as next hop, drop
//! LOCAL_PREF and the received MED (RFC 4271 §5.1.4); a route is never sent back to the neighbor
//! it was selected from (inferred, as BIRD does).
//!
//! What it does not do: I/O or time reads (stale deadlines use the `now` passed in), sessions.

/// Runs `$body` with `$fr` bound to the family's table (`self.v4` or `self.v6`).
macro_rules! with_family {
    ($self:ident, $family:expr, |$fr:ident| $body:expr) => {
        match $family {
            Family::Ipv4Unicast => {
                let $fr = &mut $self.v4;
                $body
            }
            Family::Ipv6Unicast => {
                let $fr = &mut $self.v6;
                $body
            }
        }
    };
}

pub mod attr_store;
pub mod candidate;
pub mod decision;
mod export;
mod fib;
pub mod peer;
pub mod policy;
mod select;
mod show;
pub mod table;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

pub use attr_store::{AttrId, AttrStore};
pub use candidate::{Candidate, PeerInfo};
pub use peer::{Counters, SessionInfo};
pub use policy::{
    DefaultPolicy, FilterAction, MaxPrefix, PeerPolicy, Policy, PrefixList, PrefixRule, Verdict,
};
pub use show::{PathView, RouteView};
pub use table::PeerIdx;

use peer::{PeerSlot, fi};
use select::{Batch, Ctx, FamilyKey, announce, new_prefixes, sweep, upsert, withdraw};
use table::{
    ENTRY_EXPORT_DIRTY, ENTRY_FIB_DIRTY, ENTRY_FIB_INSTALLED, Entry, Key, PATH_FILTERED,
    PATH_STALE, Path, Table, V4Key, V6Key,
};

use crate::wire::attrs::{EncodeContext, encode_attrs};
use crate::wire::prefix::NlriIter;
use crate::wire::update::{pack_announce, pack_withdraw, write_end_of_rib};
use crate::wire::{Community, Family, NextHop, PathAttrs, Prefix, Update};

/// Most paths selected for one prefix (ECMP width).
pub const MAX_ECMP: usize = 16;

/// RIB-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibConfig {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// ECMP width: how many equal paths are selected and installed (1: no ECMP).
    pub max_paths: u8,
    /// Produce kernel route changes.
    pub fib: bool,
}

/// A peer exceeded its prefix limit; the caller stops the session (Cease/1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{family:?}: {count} prefixes exceed the limit of {limit}")]
pub struct MaxPrefixExceeded {
    /// Family over the limit.
    pub family: Family,
    /// Configured limit.
    pub limit: u32,
    /// Prefixes received.
    pub count: u32,
    /// Restart delay from the configuration.
    pub restart_after: Option<Duration>,
}

/// What one UPDATE did, for events and counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpdateStats {
    /// Prefixes announced.
    pub announced: u32,
    /// Prefixes withdrawn (treat-as-withdraw included).
    pub withdrawn: u32,
    /// Announced prefixes rejected by filters, policy or loop detection.
    pub filtered: u32,
    /// End-of-RIB received for this family.
    pub end_of_rib: Option<Family>,
    /// Max-prefix warning (limit exceeded with `warning_only`).
    pub over_limit: bool,
}

/// A kernel route change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibChange {
    /// Install or replace the route with these next hops (more than one: multipath).
    Replace {
        /// Destination.
        prefix: Prefix,
        /// Next hops.
        next_hops: Vec<IpAddr>,
        /// True if no route was installed for the prefix before.
        new: bool,
    },
    /// Remove the route.
    Delete {
        /// Destination.
        prefix: Prefix,
    },
}

/// One family: its table, the change log every neighbor's export reads, and the FIB queue.
///
/// The log holds slots whose selection changed, once per change (deduplicated within one
/// UPDATE); each neighbor keeps a cursor into it, and entries before every cursor are dropped.
/// A slot in the log stays allocated (`Entry::pending`) so a withdrawn prefix can still be named.
#[derive(Debug)]
struct FamilyRib<K> {
    table: Table<K>,
    log: std::collections::VecDeque<u32>,
    log_base: u64,
    /// Slots appended since the last flush (their ENTRY_EXPORT_DIRTY flag is set).
    fresh: Vec<u32>,
    fib_dirty: Vec<u32>,
}

impl<K: Key> FamilyRib<K> {
    fn new(seed: u64) -> Self {
        FamilyRib {
            table: Table::new(seed),
            log: Default::default(),
            log_base: 0,
            fresh: Vec::new(),
            fib_dirty: Vec::new(),
        }
    }

    fn log_end(&self) -> u64 {
        self.log_base + self.log.len() as u64
    }

    /// Drops log entries before `upto`, releasing their slots.
    fn trim(&mut self, upto: u64) {
        while self.log_base < upto {
            let Some(s) = self.log.pop_front() else { break };
            self.log_base += 1;
            let e = self.table.entry_mut(s);
            e.pending -= 1;
            self.table.release_if_unused(s);
        }
    }
}

/// The RIB.
#[derive(Debug)]
pub struct Rib {
    cfg: RibConfig,
    policy: Box<dyn Policy>,
    attrs: AttrStore,
    v4: FamilyRib<V4Key>,
    v6: FamilyRib<V6Key>,
    peers: Vec<Option<PeerSlot>>,
    /// Attribute sets of locally originated routes.
    local_origin: Vec<(Prefix, AttrId)>,
    scratch_prefixes: Vec<Prefix>,
}

impl Rib {
    /// An empty RIB with the local pseudo-peer at index 0.
    pub fn new(cfg: RibConfig, policy: Box<dyn Policy>) -> Self {
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64);
        let local = PeerSlot {
            info: PeerInfo {
                idx: 0,
                name: "local".into(),
                addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                remote_as: cfg.local_as,
                router_id: cfg.router_id,
                ebgp: false,
            },
            policy: PeerPolicy::default(),
            session: None,
            counters: Default::default(),
            out: Default::default(),
            stale_deadline: None,
        };
        Rib {
            cfg,
            policy,
            attrs: AttrStore::default(),
            v4: FamilyRib::new(seed),
            v6: FamilyRib::new(seed.rotate_left(17)),
            peers: vec![Some(local)],
            local_origin: Vec::new(),
            scratch_prefixes: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RibConfig {
        &self.cfg
    }

    /// Adds a neighbor; returns its index.
    pub fn add_peer(
        &mut self,
        name: String,
        addr: IpAddr,
        remote_as: u32,
        policy: PeerPolicy,
    ) -> PeerIdx {
        let slot = PeerSlot {
            info: PeerInfo {
                idx: 0,
                name,
                addr,
                remote_as,
                router_id: Ipv4Addr::UNSPECIFIED,
                ebgp: remote_as != self.cfg.local_as,
            },
            policy,
            session: None,
            counters: Default::default(),
            out: Default::default(),
            stale_deadline: None,
        };
        let idx = match self.peers.iter().skip(1).position(|p| p.is_none()) {
            Some(i) => i + 1,
            None => {
                self.peers.push(None);
                self.peers.len() - 1
            }
        };
        let idx = PeerIdx::try_from(idx).expect("fewer than 65536 neighbors");
        let mut slot = slot;
        slot.info.idx = idx;
        self.peers[usize::from(idx)] = Some(slot);
        idx
    }

    /// Removes a neighbor and its routes.
    pub fn remove_peer(&mut self, idx: PeerIdx) {
        self.peer_down(idx, None);
        if idx != 0 {
            self.peers[usize::from(idx)] = None;
        }
    }

    /// Replaces a neighbor's policy; re-evaluates exports towards it. Import changes take effect
    /// for routes received from now on (ask the neighbor for a route refresh to re-apply).
    pub fn set_peer_policy(&mut self, idx: PeerIdx, policy: PeerPolicy) {
        if let Some(p) = self
            .peers
            .get_mut(usize::from(idx))
            .and_then(|p| p.as_mut())
        {
            p.policy = policy;
        }
        for f in Family::ALL {
            self.refresh_export(idx, f);
        }
    }

    /// Identity of a neighbor.
    pub fn peer_info(&self, idx: PeerIdx) -> Option<&PeerInfo> {
        self.peer(idx).map(|p| &p.info)
    }

    /// Counters of a neighbor for a family.
    pub fn counters(&self, idx: PeerIdx, family: Family) -> Counters {
        self.peer(idx)
            .map(|p| p.counters[fi(family)])
            .unwrap_or_default()
    }

    fn peer(&self, idx: PeerIdx) -> Option<&PeerSlot> {
        self.peers.get(usize::from(idx)).and_then(|p| p.as_ref())
    }

    fn peer_mut(&mut self, idx: PeerIdx) -> Option<&mut PeerSlot> {
        self.peers
            .get_mut(usize::from(idx))
            .and_then(|p| p.as_mut())
    }

    /// The neighbor's session reached Established: start exporting the table to it.
    pub fn peer_up(&mut self, idx: PeerIdx, session: SessionInfo) {
        let ends = [self.v4.log_end(), self.v6.log_end()];
        let Some(p) = self.peer_mut(idx) else { return };
        p.info.router_id = session.peer_id;
        for (i, a) in p.out.iter_mut().enumerate() {
            *a = peer::AdjOut {
                cursor: ends[i],
                ..Default::default()
            };
        }
        let families = session.families.clone();
        p.session = Some(session);
        for f in families {
            p.out[fi(f)].dump = Some(0);
            p.out[fi(f)].eor_pending = true;
        }
    }

    /// Re-sends every route of `family` to `idx` (ROUTE-REFRESH, policy change).
    pub fn refresh_export(&mut self, idx: PeerIdx, family: Family) {
        if let Some(p) = self.peer_mut(idx)
            && p.session.is_some()
        {
            p.out[fi(family)].dump = Some(0);
        }
    }

    /// The neighbor's session went down: remove its routes, or, for the families in `stale`,
    /// keep them marked stale until the deadline (graceful restart helper, RFC 4724 §4.2).
    pub fn peer_down(&mut self, idx: PeerIdx, stale: Option<(Instant, &[Family])>) {
        let Some(p) = self.peer_mut(idx) else { return };
        p.session = None;
        p.out = Default::default();
        for c in &mut p.counters {
            c.advertised = 0;
        }
        p.stale_deadline = stale.filter(|_| idx != 0).map(|(d, _)| d);
        let keep: &[Family] = match stale {
            Some((_, families)) if idx != 0 => families,
            _ => &[],
        };
        for f in Family::ALL {
            if keep.contains(&f) {
                self.mark_stale(idx, f);
            } else {
                self.sweep_peer(idx, f, false);
            }
        }
        self.trim_logs();
    }

    fn mark_stale(&mut self, idx: PeerIdx, family: Family) {
        fn mark<K: Key>(fr: &mut FamilyRib<K>, idx: PeerIdx) {
            let slots: Vec<u32> = fr.table.slots().collect();
            for s in slots {
                let e = fr.table.entry_mut(s);
                for p in e.paths.as_mut_slice() {
                    if p.peer == idx {
                        p.flags |= PATH_STALE;
                    }
                }
            }
        }
        match family {
            Family::Ipv4Unicast => mark(&mut self.v4, idx),
            Family::Ipv6Unicast => mark(&mut self.v6, idx),
        }
    }

    /// Removes the peer's paths of a family (all, or only stale ones).
    fn sweep_peer(&mut self, idx: PeerIdx, family: Family, only_stale: bool) {
        let export = self.any_export_target(idx);
        let mut ctx = Ctx {
            attrs: &mut self.attrs,
            peers: &self.peers,
            policy: self.policy.as_ref(),
            max_paths: usize::from(self.cfg.max_paths.max(1)),
            fib: self.cfg.fib,
            export,
        };
        let mut removed = (0u32, 0u32);
        match family {
            Family::Ipv4Unicast => sweep(&mut self.v4, &mut ctx, idx, only_stale, &mut removed),
            Family::Ipv6Unicast => sweep(&mut self.v6, &mut ctx, idx, only_stale, &mut removed),
        }
        if let Some(p) = self.peer_mut(idx) {
            let c = &mut p.counters[fi(family)];
            c.received = c.received.saturating_sub(removed.0);
            c.accepted = c.accepted.saturating_sub(removed.1);
        }
        self.flush_exports();
    }

    /// When a stale deadline is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers
            .iter()
            .flatten()
            .filter_map(|p| p.stale_deadline)
            .min()
    }

    /// Removes stale routes whose restart time has passed.
    pub fn handle_timeouts(&mut self, now: Instant) {
        let due: Vec<PeerIdx> = self
            .peers
            .iter()
            .flatten()
            .filter(|p| p.stale_deadline.is_some_and(|d| d <= now))
            .map(|p| p.info.idx)
            .collect();
        for idx in due {
            if let Some(p) = self.peer_mut(idx) {
                p.stale_deadline = None;
            }
            for f in Family::ALL {
                self.sweep_peer(idx, f, true);
            }
        }
    }

    fn any_export_target(&self, source: PeerIdx) -> bool {
        self.peers
            .iter()
            .flatten()
            .any(|p| p.session.is_some() && p.info.idx != source)
    }

    /// Applies a decoded UPDATE from an Established neighbor.
    pub fn apply_update(
        &mut self,
        idx: PeerIdx,
        update: &Update<'_>,
    ) -> Result<UpdateStats, MaxPrefixExceeded> {
        let mut stats = UpdateStats::default();
        let Some(peer) = self.peer(idx) else {
            return Ok(stats);
        };
        let Some(session) = &peer.session else {
            return Ok(stats);
        };
        let negotiated = [
            session.families.contains(&Family::Ipv4Unicast),
            session.families.contains(&Family::Ipv6Unicast),
        ];
        let has = |f: Family| negotiated[fi(f)];
        let export = self.any_export_target(idx);
        let local_pref = peer.policy.local_pref;
        let max_prefix = peer.policy.max_prefix;
        let received_before = [peer.counters[0].received, peer.counters[1].received];

        let mut ctx = Ctx {
            attrs: &mut self.attrs,
            peers: &self.peers,
            policy: self.policy.as_ref(),
            max_paths: usize::from(self.cfg.max_paths.max(1)),
            fib: self.cfg.fib,
            export,
        };
        let mut delta = [(0i64, 0i64); 2];

        // Withdrawals.
        if has(Family::Ipv4Unicast) {
            for p in update.withdrawn_v4() {
                stats.withdrawn += 1;
                withdraw(&mut self.v4, &mut ctx, idx, p, &mut delta[0]);
            }
        }
        if let Some((f, nlri)) = update.mp_unreach
            && has(f)
        {
            for p in NlriIter::new(nlri, f) {
                stats.withdrawn += 1;
                match f {
                    Family::Ipv4Unicast => withdraw(&mut self.v4, &mut ctx, idx, p, &mut delta[0]),
                    Family::Ipv6Unicast => withdraw(&mut self.v6, &mut ctx, idx, p, &mut delta[1]),
                }
            }
        }

        // Announcements.
        let mut exceeded = None;
        if let Some(attrs) = &update.attrs {
            let v4 = (has(Family::Ipv4Unicast) && !update.nlri.is_empty()).then_some((
                Family::Ipv4Unicast,
                attrs.next_hop,
                update.nlri,
            ));
            let mp = update
                .mp_reach
                .as_ref()
                .filter(|m| has(m.family) && !m.nlri.is_empty())
                .map(|m| (m.family, m.next_hop, m.nlri));
            for (family, next_hop, nlri) in [v4, mp].into_iter().flatten() {
                if update.treat_as_withdraw.is_some() {
                    // RFC 7606 §2: treat-as-withdraw.
                    for p in NlriIter::new(nlri, family) {
                        stats.withdrawn += 1;
                        match family {
                            Family::Ipv4Unicast => {
                                withdraw(&mut self.v4, &mut ctx, idx, p, &mut delta[0])
                            }
                            Family::Ipv6Unicast => {
                                withdraw(&mut self.v6, &mut ctx, idx, p, &mut delta[1])
                            }
                        }
                    }
                    continue;
                }
                // Max-prefix before install: an UPDATE that would take the peer over its limit
                // is not applied at all, so the 101st prefix never reaches the Loc-RIB, the
                // kernel or another peer; the caller stops the session (RFC 4486 Cease/1).
                // The cheap bound (received + NLRI count) skips the lookups below the limit.
                if let Some(mp) = max_prefix
                    && !mp.warning_only
                {
                    // What the peer has now: before this UPDATE, less what it withdrew.
                    let received = (i64::from(received_before[fi(family)]) + delta[fi(family)].0)
                        .max(0) as u32;
                    let nlri_len = NlriIter::new(nlri, family).count() as u32;
                    if received.saturating_add(nlri_len) > mp.limit {
                        let new = match family {
                            Family::Ipv4Unicast => new_prefixes(&self.v4, idx, nlri),
                            Family::Ipv6Unicast => new_prefixes(&self.v6, idx, nlri),
                        };
                        if received.saturating_add(new) > mp.limit {
                            exceeded.get_or_insert(MaxPrefixExceeded {
                                family,
                                limit: mp.limit,
                                count: received.saturating_add(new),
                                restart_after: mp.restart_after,
                            });
                            continue;
                        }
                    }
                }
                let mut a = attrs.clone();
                a.next_hop = next_hop;
                if local_pref.is_some() {
                    a.local_pref = local_pref;
                }
                // RFC 4271 §9.1.2: a route whose AS_PATH holds our AS is not selected.
                let looped = a.as_path.contains(self.cfg.local_as);
                let id = ctx.attrs.intern_owned(a);
                let mut batch = Batch {
                    idx,
                    attrs: id,
                    looped,
                    count: 0,
                    filtered: 0,
                };
                match family {
                    Family::Ipv4Unicast => {
                        announce(&mut self.v4, &mut ctx, &mut batch, nlri, &mut delta[0])
                    }
                    Family::Ipv6Unicast => {
                        announce(&mut self.v6, &mut ctx, &mut batch, nlri, &mut delta[1])
                    }
                }
                // `announce` took one reference per stored path; drop the lookup's own.
                ctx.attrs.release(id);
                stats.announced += batch.count;
                stats.filtered += batch.filtered;
            }
        }

        if let Some(f) = update.end_of_rib() {
            stats.end_of_rib = Some(f);
        }

        // Counters, and the warning-only max-prefix (the hard limit was checked before
        // install, above).
        if let Some(p) = self.peer_mut(idx) {
            for (i, (dr, da)) in delta.iter().enumerate() {
                let c = &mut p.counters[i];
                c.received = (i64::from(c.received) + dr).max(0) as u32;
                c.accepted = (i64::from(c.accepted) + da).max(0) as u32;
                if let Some(mp) = p.policy.max_prefix
                    && c.received > mp.limit
                {
                    // (inferred) AWS counts what the customer advertises, filtered or not.
                    if mp.warning_only {
                        stats.over_limit = true;
                    }
                }
            }
        }
        if let Some(f) = stats.end_of_rib
            && self.peer(idx).is_some_and(|p| p.stale_deadline.is_some())
        {
            // RFC 4724 §4.2: End-of-RIB ends the stale period for the family.
            self.sweep_peer(idx, f, true);
        }
        // No flush here: a batch of UPDATEs shares one (take_outgoing flushes first).
        match exceeded {
            Some(e) => Err(e),
            None => Ok(stats),
        }
    }

    /// Originates `prefix` from this speaker with `attrs` (next hop is set per neighbor on
    /// export). Replaces an earlier origination of the same prefix.
    pub fn originate(&mut self, prefix: Prefix, attrs: PathAttrs) {
        let id = self.attrs.intern_owned(attrs);
        let export = self.any_export_target(0);
        let mut ctx = Ctx {
            attrs: &mut self.attrs,
            peers: &self.peers,
            policy: self.policy.as_ref(),
            max_paths: usize::from(self.cfg.max_paths.max(1)),
            fib: self.cfg.fib,
            export,
        };
        let path = Path {
            peer: 0,
            flags: 0,
            attrs: id,
        };
        let mut d = (0, 0);
        match prefix {
            Prefix::V4(_) => upsert(&mut self.v4, &mut ctx, prefix, path, &mut d),
            Prefix::V6(_) => upsert(&mut self.v6, &mut ctx, prefix, path, &mut d),
        }
        self.local_origin.retain(|(p, _)| *p != prefix);
        self.local_origin.push((prefix, id));
        self.flush_exports();
    }

    /// Stops originating `prefix`.
    pub fn withdraw_local(&mut self, prefix: Prefix) {
        let export = self.any_export_target(0);
        let mut ctx = Ctx {
            attrs: &mut self.attrs,
            peers: &self.peers,
            policy: self.policy.as_ref(),
            max_paths: usize::from(self.cfg.max_paths.max(1)),
            fib: self.cfg.fib,
            export,
        };
        let mut d = (0, 0);
        match prefix {
            Prefix::V4(_) => withdraw(&mut self.v4, &mut ctx, 0, prefix, &mut d),
            Prefix::V6(_) => withdraw(&mut self.v6, &mut ctx, 0, prefix, &mut d),
        }
        self.local_origin.retain(|(p, _)| *p != prefix);
        self.flush_exports();
    }

    /// Prefixes this speaker originates.
    pub fn originated(&self) -> Vec<Prefix> {
        self.local_origin.iter().map(|(p, _)| *p).collect()
    }
}
