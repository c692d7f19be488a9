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

pub mod attr_store;
pub mod decision;
pub mod peer;
pub mod policy;
pub mod table;

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

pub use attr_store::{AttrId, AttrStore};
pub use peer::{Counters, SessionInfo};
pub use policy::{
    Candidate, DefaultPolicy, FilterAction, MaxPrefix, PeerInfo, PeerPolicy, Policy, PrefixList,
    PrefixRule, Verdict,
};
pub use table::PeerIdx;

use peer::{PeerSlot, fi};
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

/// One path as shown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PathView {
    /// Neighbor name ("local" for originated routes).
    pub peer: String,
    /// Selected (in Loc-RIB).
    pub selected: bool,
    /// The best path.
    pub best: bool,
    /// Rejected by import policy.
    pub filtered: bool,
    /// Kept from a restarting neighbor.
    pub stale: bool,
    /// Next hop.
    pub next_hop: NextHop,
    /// AS_PATH as text.
    pub as_path: String,
    /// ORIGIN.
    pub origin: crate::wire::Origin,
    /// MED.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// Communities.
    pub communities: Vec<Community>,
}

/// One prefix as shown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RouteView {
    /// The prefix.
    pub prefix: Prefix,
    /// Its paths, best first.
    pub paths: Vec<PathView>,
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

/// Converts prefixes to keys of a family table.
trait FamilyKey: Key {
    const FAMILY: Family;
    fn from_prefix(p: Prefix) -> Option<Self>;
}

impl FamilyKey for V4Key {
    const FAMILY: Family = Family::Ipv4Unicast;
    #[inline]
    fn from_prefix(p: Prefix) -> Option<Self> {
        match p {
            Prefix::V4(p) => Some(V4Key(p.to_u64())),
            Prefix::V6(_) => None,
        }
    }
}

impl FamilyKey for V6Key {
    const FAMILY: Family = Family::Ipv6Unicast;
    #[inline]
    fn from_prefix(p: Prefix) -> Option<Self> {
        match p {
            Prefix::V6(p) => Some(V6Key(p)),
            Prefix::V4(_) => None,
        }
    }
}

/// Everything the per-prefix work needs, borrowed apart from the family table.
struct Ctx<'a> {
    attrs: &'a mut AttrStore,
    peers: &'a [Option<PeerSlot>],
    policy: &'a dyn Policy,
    max_paths: usize,
    fib: bool,
    /// Some neighbor (other than the source) may need an export.
    export: bool,
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

    /// Drops log entries every neighbor has read.
    fn trim_logs(&mut self) {
        for family in Family::ALL {
            let min = self
                .peers
                .iter()
                .flatten()
                .filter(|p| {
                    p.session
                        .as_ref()
                        .is_some_and(|s| s.families.contains(&family))
                })
                .map(|p| p.out[fi(family)].cursor)
                .min();
            with_family!(self, family, |fr| {
                let upto = min.unwrap_or(fr.log_end());
                fr.trim(upto)
            });
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

        // Counters and max-prefix.
        let mut exceeded = None;
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
                    } else if exceeded.is_none() {
                        exceeded = Some(MaxPrefixExceeded {
                            family: if i == 0 {
                                Family::Ipv4Unicast
                            } else {
                                Family::Ipv6Unicast
                            },
                            limit: mp.limit,
                            count: c.received,
                            restart_after: mp.restart_after,
                        });
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

    /// Ends a batch: slots appended to the change logs may be appended again by the next one;
    /// logs nobody needs are dropped.
    fn flush_exports(&mut self) {
        fn clear<K: Key>(fr: &mut FamilyRib<K>) {
            for s in std::mem::take(&mut fr.fresh) {
                fr.table.entry_mut(s).flags &= !ENTRY_EXPORT_DIRTY;
                fr.table.release_if_unused(s);
            }
        }
        clear(&mut self.v4);
        clear(&mut self.v6);
        self.trim_logs();
    }

    /// True if the neighbor has exports (or an End-of-RIB) waiting.
    pub fn has_outgoing(&self, idx: PeerIdx) -> bool {
        let ends = [self.v4.log_end(), self.v6.log_end()];
        self.peer(idx).is_some_and(|p| {
            p.session.is_some()
                && p.out
                    .iter()
                    .enumerate()
                    .any(|(i, o)| o.cursor < ends[i] || o.dump.is_some() || o.eor_pending)
        })
    }

    /// Drains up to about `budget` octets of UPDATEs for neighbor `idx` (announcements packed
    /// per attribute set, withdrawals packed), then End-of-RIB once the initial dump is out.
    /// Returns an empty vector when nothing is queued.
    pub fn take_outgoing(&mut self, idx: PeerIdx, budget: usize) -> Vec<u8> {
        self.flush_exports();
        let mut out = Vec::new();
        for family in Family::ALL {
            if out.len() >= budget {
                break;
            }
            self.drain_family(idx, family, budget, &mut out);
        }
        out
    }

    fn drain_family(&mut self, idx: PeerIdx, family: Family, budget: usize, out: &mut Vec<u8>) {
        const CHUNK: usize = 8192;
        loop {
            let Some(p) = self.peer(idx) else { return };
            let Some(session) = p.session.clone() else {
                return;
            };
            if out.len() >= budget {
                return;
            }
            let a = &p.out[fi(family)];
            let (mut cursor, dump) = (a.cursor, a.dump);
            if dump == Some(0) && p.counters[fi(family)].advertised == 0 {
                // A full scan from nothing advertised covers every pending change: skip them.
                cursor = with_family!(self, family, |fr| fr.log_end());
                if let Some(p) = self.peer_mut(idx) {
                    p.out[fi(family)].cursor = cursor;
                }
            }
            // The change log first, then a full scan if one is in progress.
            let chunk: Vec<u32> = with_family!(self, family, |fr| {
                if cursor < fr.log_end() {
                    let from = (cursor - fr.log_base) as usize;
                    let n = (fr.log.len() - from).min(CHUNK);
                    let c: Vec<u32> = fr.log.range(from..from + n).copied().collect();
                    let p = self.peers[usize::from(idx)].as_mut().expect("peer exists");
                    p.out[fi(family)].cursor += n as u64;
                    c
                } else if let Some(start) = dump {
                    let bound = fr.table.slot_bound();
                    let end = (u64::from(start) + CHUNK as u64).min(u64::from(bound)) as u32;
                    let c: Vec<u32> = (start..end)
                        .filter(|&s| {
                            let e = fr.table.entry(s);
                            !e.paths.is_empty() || e.pending != 0
                        })
                        .collect();
                    let p = self.peers[usize::from(idx)].as_mut().expect("peer exists");
                    p.out[fi(family)].dump = (end < bound).then_some(end);
                    c
                } else {
                    let p = self.peers[usize::from(idx)].as_mut().expect("peer exists");
                    if p.out[fi(family)].eor_pending {
                        p.out[fi(family)].eor_pending = false;
                        write_end_of_rib(out, family);
                    }
                    return;
                }
            });
            let mut temps: Vec<AttrId> = Vec::new();
            let mut announce: Vec<(ExportKey, u32)> = Vec::with_capacity(chunk.len());
            let mut withdraw_slots: Vec<u32> = Vec::new();
            for &s in &chunk {
                let decision = with_family!(self, family, |fr| export_decision(
                    &fr.table,
                    s,
                    &self.peers,
                    self.policy.as_ref(),
                    &mut self.attrs,
                    &mut temps,
                    idx,
                ));
                let advertised = self
                    .peer(idx)
                    .is_some_and(|p| p.out[fi(family)].advertised.get(s));
                match decision {
                    Some(key) => announce.push((key, s)),
                    None if advertised => withdraw_slots.push(s),
                    None => {}
                }
            }
            announce.sort_by_key(|(k, s)| (*k, *s));
            // Encode.
            let mut i = 0;
            while i < announce.len() {
                let key = announce[i].0;
                let mut j = i;
                while j < announce.len() && announce[j].0 == key {
                    j += 1;
                }
                let bytes = match self.export_attrs(idx, family, &session, key) {
                    Some(b) => b,
                    None => {
                        i = j;
                        continue;
                    }
                };
                self.scratch_prefixes.clear();
                for &(_, s) in &announce[i..j] {
                    let p = with_family!(self, family, |fr| fr.table.entry(s).key.prefix());
                    self.scratch_prefixes.push(p);
                }
                let nh = bytes.1;
                let mut done = 0;
                while done < self.scratch_prefixes.len() {
                    let n =
                        pack_announce(out, family, &bytes.0, &nh, &self.scratch_prefixes[done..]);
                    if n == 0 {
                        tracing::warn!(peer = idx, "path attributes too large to advertise");
                        break;
                    }
                    done += n;
                }
                let p = self.peers[usize::from(idx)].as_mut().expect("peer exists");
                for &(_, s) in &announce[i..j] {
                    if !p.out[fi(family)].advertised.set(s, true) {
                        p.counters[fi(family)].advertised += 1;
                    }
                }
                i = j;
            }
            if !withdraw_slots.is_empty() {
                self.scratch_prefixes.clear();
                for &s in &withdraw_slots {
                    let p = with_family!(self, family, |fr| fr.table.entry(s).key.prefix());
                    self.scratch_prefixes.push(p);
                }
                let mut done = 0;
                while done < self.scratch_prefixes.len() {
                    done += pack_withdraw(out, family, &self.scratch_prefixes[done..]).max(1);
                }
                let p = self.peers[usize::from(idx)].as_mut().expect("peer exists");
                for &s in &withdraw_slots {
                    if p.out[fi(family)].advertised.set(s, false) {
                        p.counters[fi(family)].advertised -= 1;
                    }
                }
            }
            for id in temps {
                self.attrs.release(id);
            }
            self.trim_logs();
        }
    }

    /// Encodes the attributes of a route as sent to `idx`: the transformation of RFC 4271 §5.1
    /// for eBGP or iBGP plus the neighbor's options.
    fn export_attrs(
        &self,
        idx: PeerIdx,
        family: Family,
        session: &SessionInfo,
        key: ExportKey,
    ) -> Option<(Vec<u8>, NextHop)> {
        let to = self.peer(idx)?;
        let src = self.peer(key.peer)?;
        let mut a = self.attrs.get(key.attrs).clone();
        let self_nh = match family {
            Family::Ipv4Unicast => to.policy.next_hop_v4.or(session.local_v4).map(NextHop::V4),
            Family::Ipv6Unicast => {
                to.policy
                    .next_hop_v6
                    .or(session.local_v6)
                    .map(|g| NextHop::V6 {
                        global: g,
                        link_local: None,
                    })
            }
        };
        if to.info.ebgp {
            a.as_path.prepend(
                self.cfg.local_as,
                1 + usize::from(to.policy.as_path_prepend),
            );
            a.next_hop = self_nh?;
            a.local_pref = None;
            // RFC 4271 §5.1.4: a received MED is not passed to another AS; ours may be set.
            if !src.info.is_local() {
                a.med = None;
            }
        } else {
            a.local_pref = Some(a.local_pref.unwrap_or(decision::DEFAULT_LOCAL_PREF));
            if to.policy.next_hop_self || src.info.is_local() || a.next_hop == NextHop::None {
                a.next_hop = self_nh?;
            }
        }
        if let Some(m) = to.policy.med {
            a.med = Some(m);
        }
        for c in &to.policy.add_communities {
            if !a.communities.contains(c) {
                a.communities.push(*c);
            }
        }
        let nh = a.next_hop;
        let mut bytes = Vec::with_capacity(64);
        let ctx = EncodeContext {
            four_octet_as: session.four_octet_as,
            ibgp: !to.info.ebgp,
        };
        encode_attrs(&mut bytes, &a, &ctx, family == Family::Ipv4Unicast);
        Some((bytes, nh))
    }

    /// Drains up to `max` kernel route changes for selections that changed (only with `fib` on),
    /// oldest first.
    pub fn take_fib_changes(&mut self, max: usize) -> Vec<FibChange> {
        fn drain<K: Key>(
            fr: &mut FamilyRib<K>,
            attrs: &AttrStore,
            out: &mut Vec<FibChange>,
            max: usize,
        ) {
            // Oldest first; the rest stays queued for the next call.
            let n = fr.fib_dirty.len().min(max.saturating_sub(out.len()));
            let dirty: Vec<u32> = fr.fib_dirty.drain(..n).collect();
            for &s in &dirty {
                let e = fr.table.entry_mut(s);
                e.flags &= !ENTRY_FIB_DIRTY;
                let prefix = e.key.prefix();
                let mut next_hops: Vec<IpAddr> = Vec::new();
                for p in e.selected() {
                    if p.peer == 0 {
                        continue; // our own routes are not installed
                    }
                    let nh = match attrs.get(p.attrs).next_hop {
                        NextHop::V4(a) => IpAddr::V4(a),
                        NextHop::V6 { global, link_local } => {
                            if global.is_unspecified() {
                                match link_local {
                                    Some(ll) => IpAddr::V6(ll),
                                    None => continue,
                                }
                            } else {
                                IpAddr::V6(global)
                            }
                        }
                        NextHop::None => continue,
                    };
                    if !next_hops.contains(&nh) {
                        next_hops.push(nh);
                    }
                }
                if next_hops.is_empty() {
                    if e.flags & ENTRY_FIB_INSTALLED != 0 {
                        e.flags &= !ENTRY_FIB_INSTALLED;
                        out.push(FibChange::Delete { prefix });
                    }
                } else {
                    let new = e.flags & ENTRY_FIB_INSTALLED == 0;
                    e.flags |= ENTRY_FIB_INSTALLED;
                    out.push(FibChange::Replace {
                        prefix,
                        next_hops,
                        new,
                    });
                }
                fr.table.release_if_unused(s);
            }
        }
        let mut out = Vec::new();
        drain(&mut self.v4, &self.attrs, &mut out, max);
        drain(&mut self.v6, &self.attrs, &mut out, max);
        out
    }

    /// True if kernel route changes are waiting.
    pub fn has_fib_changes(&self) -> bool {
        !self.v4.fib_dirty.is_empty() || !self.v6.fib_dirty.is_empty()
    }

    /// Number of prefixes with a selected route.
    pub fn loc_rib_len(&self, family: Family) -> usize {
        match family {
            Family::Ipv4Unicast => count_selected(&self.v4.table),
            Family::Ipv6Unicast => count_selected(&self.v6.table),
        }
    }

    /// Number of prefixes present in the table (selected or not).
    pub fn table_len(&self, family: Family) -> usize {
        match family {
            Family::Ipv4Unicast => self.v4.table.len(),
            Family::Ipv6Unicast => self.v6.table.len(),
        }
    }

    /// Number of interned attribute sets.
    pub fn attr_sets(&self) -> usize {
        self.attrs.len()
    }

    /// The selected next hops for `prefix` (empty: no route).
    pub fn selected(&self, prefix: Prefix) -> Vec<(PeerIdx, PathAttrs)> {
        self.lookup(prefix, |e, attrs| {
            e.selected()
                .iter()
                .map(|p| (p.peer, attrs.get(p.attrs).clone()))
                .collect()
        })
        .unwrap_or_default()
    }

    fn lookup<T>(&self, prefix: Prefix, f: impl Fn(&dyn EntryView, &AttrStore) -> T) -> Option<T> {
        match prefix {
            Prefix::V4(_) => {
                let s = self.v4.table.find(V4Key::from_prefix(prefix)?)?;
                Some(f(self.v4.table.entry(s), &self.attrs))
            }
            Prefix::V6(_) => {
                let s = self.v6.table.find(V6Key::from_prefix(prefix)?)?;
                Some(f(self.v6.table.entry(s), &self.attrs))
            }
        }
    }

    /// One prefix as shown.
    pub fn route(&self, prefix: Prefix) -> Option<RouteView> {
        self.lookup(prefix, |e, attrs| self.view(prefix, e, attrs))
            .filter(|r| !r.paths.is_empty())
    }

    /// All prefixes of a family as shown, sorted, at most `limit` of them.
    pub fn routes(&self, family: Family, limit: usize) -> Vec<RouteView> {
        let mut v: Vec<RouteView> = match family {
            Family::Ipv4Unicast => self
                .v4
                .table
                .slots()
                .map(|s| {
                    let e = self.v4.table.entry(s);
                    self.view(e.key.prefix(), e, &self.attrs)
                })
                .collect(),
            Family::Ipv6Unicast => self
                .v6
                .table
                .slots()
                .map(|s| {
                    let e = self.v6.table.entry(s);
                    self.view(e.key.prefix(), e, &self.attrs)
                })
                .collect(),
        };
        v.retain(|r| !r.paths.is_empty());
        v.sort_by_key(|r| r.prefix);
        v.truncate(limit);
        v
    }

    fn view(&self, prefix: Prefix, e: &dyn EntryView, attrs: &AttrStore) -> RouteView {
        let sel = e.ecmp();
        let paths = e
            .paths()
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let a = attrs.get(p.attrs);
                PathView {
                    peer: self
                        .peer(p.peer)
                        .map_or_else(|| "?".into(), |x| x.info.name.clone()),
                    selected: i < sel,
                    best: i == 0 && sel > 0,
                    filtered: p.flags & PATH_FILTERED != 0,
                    stale: p.flags & PATH_STALE != 0,
                    next_hop: a.next_hop,
                    as_path: a.as_path.to_string(),
                    origin: a.origin,
                    med: a.med,
                    local_pref: a.local_pref,
                    communities: a.communities.clone(),
                }
            })
            .collect();
        RouteView { prefix, paths }
    }
}

/// Object-safe view of an entry of either family (for show and lookups).
trait EntryView {
    fn paths(&self) -> &[Path];
    fn ecmp(&self) -> usize;
    fn selected(&self) -> &[Path] {
        &self.paths()[..self.ecmp()]
    }
}

impl<K> EntryView for Entry<K> {
    fn paths(&self) -> &[Path] {
        self.paths.as_slice()
    }
    fn ecmp(&self) -> usize {
        usize::from(self.ecmp)
    }
}

fn count_selected<K: Key>(t: &Table<K>) -> usize {
    t.slots().filter(|&s| t.entry(s).ecmp > 0).count()
}

/// The route to advertise, identified by its source and attribute set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ExportKey {
    attrs: AttrId,
    peer: PeerIdx,
}

/// What to advertise to `to` for the entry in `slot`: `None` means nothing (withdraw if sent).
fn export_decision<K: Key>(
    table: &Table<K>,
    slot: u32,
    peers: &[Option<PeerSlot>],
    policy: &dyn Policy,
    attrs: &mut AttrStore,
    temps: &mut Vec<AttrId>,
    to: PeerIdx,
) -> Option<ExportKey> {
    let e = table.entry(slot);
    if e.ecmp == 0 {
        return None;
    }
    let best = e.paths.as_slice()[0];
    if best.peer == to {
        return None;
    }
    let src = peers.get(usize::from(best.peer))?.as_ref()?;
    let dst = peers.get(usize::from(to))?.as_ref()?;
    if !src.info.ebgp && !src.info.is_local() && !dst.info.ebgp {
        return None; // RFC 4271 §9.2.1: no iBGP-learned route to iBGP neighbors
    }
    let a = attrs.get(best.attrs);
    if a.has_community(Community::NO_ADVERTISE) {
        return None;
    }
    if dst.info.ebgp
        && (a.has_community(Community::NO_EXPORT)
            || a.has_community(Community::NO_EXPORT_SUBCONFED))
    {
        return None;
    }
    let prefix = e.key.prefix();
    if !dst.policy.export_filter.permits(prefix) {
        return None;
    }
    let cand = Candidate {
        peer: &src.info,
        attrs: a,
        stale: best.flags & PATH_STALE != 0,
    };
    match policy.export(&dst.info, prefix, &cand) {
        Verdict::Accept => Some(ExportKey {
            attrs: best.attrs,
            peer: best.peer,
        }),
        // A modified route gets its own interned set; the caller releases it after encoding.
        Verdict::Modify(m) => {
            let id = attrs.intern_owned(m);
            temps.push(id);
            Some(ExportKey {
                attrs: id,
                peer: best.peer,
            })
        }
        Verdict::Reject => None,
    }
}

/// The per-UPDATE announcement batch.
struct Batch {
    idx: PeerIdx,
    attrs: AttrId,
    looped: bool,
    count: u32,
    filtered: u32,
}

fn announce<K: FamilyKey>(
    fr: &mut FamilyRib<K>,
    ctx: &mut Ctx<'_>,
    b: &mut Batch,
    nlri: &[u8],
    delta: &mut (i64, i64),
) {
    let peer = ctx.peers[usize::from(b.idx)].as_ref().expect("peer exists");
    let filter = &peer.policy.import_filter;
    let info = &peer.info;
    let policy = ctx.policy;
    for prefix in NlriIter::new(nlri, K::FAMILY) {
        b.count += 1;
        let mut flags = 0;
        let mut id = b.attrs;
        if b.looped || !filter.permits(prefix) {
            flags = PATH_FILTERED;
        } else {
            match policy.import(info, prefix, ctx.attrs.get(id)) {
                Verdict::Accept => {}
                Verdict::Reject => flags = PATH_FILTERED,
                Verdict::Modify(a) => id = ctx.attrs.intern_owned(a),
            }
        }
        if flags != 0 {
            b.filtered += 1;
        }
        if id == b.attrs {
            ctx.attrs.retain(id, 1); // the path's own reference (Modify's intern took one already)
        }
        upsert(
            fr,
            ctx,
            prefix,
            Path {
                peer: b.idx,
                flags,
                attrs: id,
            },
            delta,
        );
    }
}

/// Adds or replaces a path (taking over one reference on its attributes) and re-selects.
fn upsert<K: FamilyKey>(
    fr: &mut FamilyRib<K>,
    ctx: &mut Ctx<'_>,
    prefix: Prefix,
    path: Path,
    delta: &mut (i64, i64),
) {
    let Some(key) = K::from_prefix(prefix) else {
        ctx.attrs.release(path.attrs);
        return;
    };
    let slot = fr.table.find_or_insert(key);
    let e = fr.table.entry_mut(slot);
    let before = Selection::of(e);
    match e.paths.upsert(path) {
        Some(old) => {
            ctx.attrs.release(old.attrs);
            delta.1 += i64::from(path.eligible()) - i64::from(old.eligible());
        }
        None => {
            delta.0 += 1;
            delta.1 += i64::from(path.eligible());
        }
    }
    reselect(fr, ctx, slot, before);
}

fn withdraw<K: FamilyKey>(
    fr: &mut FamilyRib<K>,
    ctx: &mut Ctx<'_>,
    idx: PeerIdx,
    prefix: Prefix,
    delta: &mut (i64, i64),
) {
    let Some(key) = K::from_prefix(prefix) else {
        return;
    };
    let Some(slot) = fr.table.find(key) else {
        return;
    };
    let e = fr.table.entry_mut(slot);
    let before = Selection::of(e);
    if let Some(old) = e.paths.remove(idx) {
        ctx.attrs.release(old.attrs);
        delta.0 -= 1;
        delta.1 -= i64::from(old.eligible());
        reselect(fr, ctx, slot, before);
    }
    fr.table.release_if_unused(slot);
}

fn sweep<K: FamilyKey>(
    fr: &mut FamilyRib<K>,
    ctx: &mut Ctx<'_>,
    idx: PeerIdx,
    only_stale: bool,
    removed: &mut (u32, u32),
) {
    let slots: Vec<u32> = fr.table.slots().collect();
    for s in slots {
        let e = fr.table.entry_mut(s);
        let Some(i) = e.paths.find(idx) else { continue };
        let p = e.paths.as_slice()[i];
        if only_stale && p.flags & PATH_STALE == 0 {
            continue;
        }
        let before = Selection::of(e);
        e.paths.remove(idx);
        ctx.attrs.release(p.attrs);
        removed.0 += 1;
        removed.1 += u32::from(p.eligible());
        reselect(fr, ctx, s, before);
        fr.table.release_if_unused(s);
    }
}

/// The selected paths of an entry, to detect changes (cheap for the common single path).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Selection {
    None,
    One(Path),
    Many(u8, [(PeerIdx, u32, u8); MAX_ECMP]),
}

impl Selection {
    #[inline]
    fn of<K>(e: &Entry<K>) -> Self {
        match e.selected() {
            [] => Selection::None,
            [p] => Selection::One(*p),
            many => {
                let mut a = [(0, 0, 0); MAX_ECMP];
                for (i, p) in many.iter().take(MAX_ECMP).enumerate() {
                    a[i] = (p.peer, p.attrs.0, p.flags);
                }
                Selection::Many(many.len() as u8, a)
            }
        }
    }
}

/// Sorts an entry's paths best first, sets `ecmp`, and queues export/FIB work if the selection
/// changed.
fn reselect<K: FamilyKey>(fr: &mut FamilyRib<K>, ctx: &mut Ctx<'_>, slot: u32, before: Selection) {
    let e = fr.table.entry_mut(slot);
    let ps = e.paths.as_mut_slice();
    e.ecmp = match ps.len() {
        0 => 0,
        1 => u8::from(ps[0].eligible()),
        _ => {
            let peers = ctx.peers;
            let attrs = &*ctx.attrs;
            let policy = ctx.policy;
            let cand = |p: &Path| -> Option<Candidate<'_>> {
                let peer = peers.get(usize::from(p.peer))?.as_ref()?;
                Some(Candidate {
                    peer: &peer.info,
                    attrs: attrs.get(p.attrs),
                    stale: p.flags & PATH_STALE != 0,
                })
            };
            // Insertion sort: few paths per prefix, usually nearly sorted.
            for i in 1..ps.len() {
                let mut j = i;
                while j > 0 {
                    let better = match (ps[j].eligible(), ps[j - 1].eligible()) {
                        (true, false) => true,
                        (false, _) => false,
                        (true, true) => match (cand(&ps[j]), cand(&ps[j - 1])) {
                            (Some(a), Some(b)) => policy.compare(&a, &b) == Ordering::Less,
                            _ => false,
                        },
                    };
                    if !better {
                        break;
                    }
                    ps.swap(j, j - 1);
                    j -= 1;
                }
            }
            if !ps[0].eligible() {
                0
            } else {
                let best = cand(&ps[0]);
                let mut n = 1;
                while n < ps.len() && n < ctx.max_paths.min(MAX_ECMP) && ps[n].eligible() {
                    let eq = match (&best, cand(&ps[n])) {
                        (Some(a), Some(b)) => policy.multipath(a, &b),
                        _ => false,
                    };
                    if !eq {
                        break;
                    }
                    n += 1;
                }
                n as u8
            }
        }
    };
    let e = fr.table.entry_mut(slot);
    if Selection::of(e) == before {
        return;
    }
    if ctx.export && e.flags & ENTRY_EXPORT_DIRTY == 0 {
        e.flags |= ENTRY_EXPORT_DIRTY;
        e.pending += 1;
        fr.log.push_back(slot);
        fr.fresh.push(slot);
    }
    if ctx.fib && e.flags & ENTRY_FIB_DIRTY == 0 {
        e.flags |= ENTRY_FIB_DIRTY;
        fr.fib_dirty.push(slot);
    }
}
