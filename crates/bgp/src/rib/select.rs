//! Per-prefix work: taking an UPDATE's prefixes into the table (filters, import hook, loop
//! check), withdrawing and sweeping paths, and re-selecting an entry's best and ECMP paths
//! (sorted with the policy's comparison) with change detection that queues export and FIB work.
//!
//! What it does not do: decide what neighbors are sent (see `export.rs`).

use super::*;

/// Converts prefixes to keys of a family table.
pub(super) trait FamilyKey: Key {
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
pub(super) struct Ctx<'a> {
    pub(super) attrs: &'a mut AttrStore,
    pub(super) peers: &'a [Option<PeerSlot>],
    pub(super) policy: &'a dyn Policy,
    pub(super) max_paths: usize,
    pub(super) fib: bool,
    /// Some neighbor (other than the source) may need an export.
    pub(super) export: bool,
}

/// The per-UPDATE announcement batch.
pub(super) struct Batch {
    pub(super) idx: PeerIdx,
    pub(super) attrs: AttrId,
    pub(super) looped: bool,
    pub(super) count: u32,
    pub(super) filtered: u32,
}

pub(super) fn announce<K: FamilyKey>(
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
pub(super) fn upsert<K: FamilyKey>(
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

/// How many prefixes of `nlri` have no path from peer `idx` yet (what announcing it would add
/// to the peer's received count; a prefix repeated inside `nlri` counts once per occurrence,
/// an over-estimate no real speaker triggers).
pub(super) fn new_prefixes<K: FamilyKey>(fr: &FamilyRib<K>, idx: PeerIdx, nlri: &[u8]) -> u32 {
    let mut new = 0;
    for prefix in NlriIter::new(nlri, K::FAMILY) {
        let known = K::from_prefix(prefix)
            .and_then(|key| fr.table.find(key))
            .is_some_and(|slot| fr.table.entry(slot).paths.find(idx).is_some());
        if !known {
            new += 1;
        }
    }
    new
}

pub(super) fn withdraw<K: FamilyKey>(
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

pub(super) fn sweep<K: FamilyKey>(
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
pub(super) enum Selection {
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
pub(super) fn reselect<K: FamilyKey>(
    fr: &mut FamilyRib<K>,
    ctx: &mut Ctx<'_>,
    slot: u32,
    before: Selection,
) {
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
