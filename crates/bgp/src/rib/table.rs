//! One routing table per family, BIRD-style: one entry per prefix holding every peer's path for
//! it, sorted best first.
//!
//! ```text
//!   index: hash table of (slot id, 32-bit hash) (keyed by the prefix, per-process seed)
//!   slots: segmented vector (64 Ki entries per segment, so growth never copies the table)
//!
//!   Entry (32 bytes for IPv4) = key | paths | ecmp | flags
//!     paths: none | one Path inline | Box<Vec<Path>>           Path = peer u16 | flags u8 | AttrId u32
//!     paths[..ecmp] are the selected (multipath-equal) paths; filtered paths sort last
//! ```
//!
//! A route is therefore 8 bytes of path plus its share of the entry, with no heap allocation
//! while a prefix has one path (the common case: 1M prefixes from one peer). Adj-RIB-In is the
//! set of paths (filtered ones included, flagged), Loc-RIB is `paths[..ecmp]`.
//!
//! What it does not do: compare paths (the caller sorts with the decision process) or know
//! about peers beyond their index.

use std::fmt::Debug;

use hashbrown::HashTable;

use super::attr_store::AttrId;
use crate::wire::{Ipv4Prefix, Ipv6Prefix, Prefix};

/// Index of a peer in the RIB; 0 is the local speaker (originated routes).
pub type PeerIdx = u16;

/// Path flag: rejected by import policy (kept as Adj-RIB-In, never selected).
pub const PATH_FILTERED: u8 = 1;
/// Path flag: kept from a restarting peer (RFC 4724 §4.2) until refreshed or timed out.
pub const PATH_STALE: u8 = 2;

/// One peer's path for a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    /// Where it came from.
    pub peer: PeerIdx,
    /// `PATH_*` flags.
    pub flags: u8,
    /// Its attributes.
    pub attrs: AttrId,
}

impl Path {
    /// True if the decision process may select it.
    pub fn eligible(&self) -> bool {
        self.flags & PATH_FILTERED == 0
    }
}

/// The paths of one prefix.
#[derive(Debug, Clone, Default)]
pub enum Paths {
    /// None (a free slot).
    #[default]
    Empty,
    /// Exactly one, inline.
    One(Path),
    /// Several, sorted best first.
    Many(Box<Vec<Path>>),
}

impl Paths {
    /// As a slice.
    pub fn as_slice(&self) -> &[Path] {
        match self {
            Paths::Empty => &[],
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v) => v,
        }
    }

    /// Position of `peer`'s path.
    pub fn find(&self, peer: PeerIdx) -> Option<usize> {
        self.as_slice().iter().position(|p| p.peer == peer)
    }

    /// Adds or replaces `peer`'s path; returns the path it replaced.
    pub fn upsert(&mut self, path: Path) -> Option<Path> {
        match self {
            Paths::Empty => {
                *self = Paths::One(path);
                None
            }
            Paths::One(p) if p.peer == path.peer => Some(std::mem::replace(p, path)),
            Paths::One(p) => {
                let v = vec![*p, path];
                *self = Paths::Many(Box::new(v));
                None
            }
            Paths::Many(v) => match v.iter_mut().find(|p| p.peer == path.peer) {
                Some(p) => Some(std::mem::replace(p, path)),
                None => {
                    v.push(path);
                    None
                }
            },
        }
    }

    /// Removes `peer`'s path.
    pub fn remove(&mut self, peer: PeerIdx) -> Option<Path> {
        match self {
            Paths::Empty => None,
            Paths::One(p) if p.peer == peer => {
                let old = *p;
                *self = Paths::Empty;
                Some(old)
            }
            Paths::One(_) => None,
            Paths::Many(v) => {
                let i = v.iter().position(|p| p.peer == peer)?;
                let old = v.remove(i);
                if v.len() == 1 {
                    *self = Paths::One(v[0]);
                }
                Some(old)
            }
        }
    }

    /// Mutable access for sorting.
    pub fn as_mut_slice(&mut self) -> &mut [Path] {
        match self {
            Paths::Empty => &mut [],
            Paths::One(p) => std::slice::from_mut(p),
            Paths::Many(v) => v,
        }
    }

    /// True if there is no path.
    pub fn is_empty(&self) -> bool {
        matches!(self, Paths::Empty)
    }
}

/// Entry flag: a kernel route is installed for it.
pub const ENTRY_FIB_INSTALLED: u8 = 1;
/// Entry flag: queued for the kernel.
pub const ENTRY_FIB_DIRTY: u8 = 2;
/// Entry flag: queued for export.
pub const ENTRY_EXPORT_DIRTY: u8 = 4;

/// One prefix and its paths.
#[derive(Debug, Clone)]
pub struct Entry<K> {
    /// The prefix.
    pub key: K,
    /// Paths, selected ones first.
    pub paths: Paths,
    /// Number of selected paths at the front (0: no route).
    pub ecmp: u8,
    /// `ENTRY_*` flags.
    pub flags: u8,
    /// Number of neighbor export queues holding this slot (it stays allocated until 0).
    pub pending: u16,
}

impl<K> Entry<K> {
    /// The selected paths (Loc-RIB).
    pub fn selected(&self) -> &[Path] {
        &self.paths.as_slice()[..usize::from(self.ecmp)]
    }
}

/// A compact prefix key.
pub trait Key: Copy + Eq + Debug {
    /// Hash with a seed.
    fn hash(self, seed: u64) -> u64;
    /// Back to a prefix.
    fn prefix(self) -> Prefix;
}

#[inline]
fn mix(x: u64) -> u64 {
    // Folded 64x64->128 multiply (as in wyhash / foldhash): fast and well distributed.
    let m = u128::from(x) * 0x9E37_79B9_7F4A_7C15u128;
    (m as u64) ^ ((m >> 64) as u64)
}

/// IPv4 key: address << 8 | length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct V4Key(pub u64);

impl Key for V4Key {
    #[inline]
    fn hash(self, seed: u64) -> u64 {
        mix(self.0 ^ seed)
    }
    fn prefix(self) -> Prefix {
        Prefix::V4(Ipv4Prefix::from_u64(self.0))
    }
}

/// IPv6 key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct V6Key(pub Ipv6Prefix);

impl Key for V6Key {
    #[inline]
    fn hash(self, seed: u64) -> u64 {
        let a = u128::from(self.0.addr());
        mix(mix((a >> 64) as u64 ^ seed) ^ (a as u64) ^ u64::from(self.0.len()))
    }
    fn prefix(self) -> Prefix {
        Prefix::V6(self.0)
    }
}

/// The table's 64-bit hash is derived from 32 bits so that the index can store them (8 bytes
/// per bucket with the slot) and rehash without reading entries. hashbrown takes the bucket from
/// the low bits and its tag from the top 7: both come from different bits of the 32.
#[inline]
fn expand(h32: u32) -> u64 {
    u64::from(h32) | (u64::from(h32) << 32)
}

#[inline]
fn full_hash<K: Key>(key: K, seed: u64) -> (u64, u32) {
    let h32 = (key.hash(seed) >> 32) as u32;
    (expand(h32), h32)
}

const SEG_BITS: u32 = 16;
const SEG_LEN: usize = 1 << SEG_BITS;

/// A table of entries keyed by `K`.
#[derive(Debug)]
pub struct Table<K> {
    segments: Vec<Vec<Entry<K>>>,
    len_slots: u32,
    free: Vec<u32>,
    index: HashTable<(u32, u32)>,
    seed: u64,
    live: usize,
}

impl<K: Key> Table<K> {
    /// An empty table hashing with `seed`.
    pub fn new(seed: u64) -> Self {
        Table {
            segments: Vec::new(),
            len_slots: 0,
            free: Vec::new(),
            index: HashTable::new(),
            seed,
            live: 0,
        }
    }

    #[inline]
    fn at(&self, slot: u32) -> &Entry<K> {
        &self.segments[(slot >> SEG_BITS) as usize][slot as usize & (SEG_LEN - 1)]
    }

    #[inline]
    fn at_mut(&mut self, slot: u32) -> &mut Entry<K> {
        &mut self.segments[(slot >> SEG_BITS) as usize][slot as usize & (SEG_LEN - 1)]
    }

    /// The slot of `key`, if present.
    #[inline]
    pub fn find(&self, key: K) -> Option<u32> {
        let (h, h32) = full_hash(key, self.seed);
        self.index
            .find(h, |&(s, t)| t == h32 && self.at(s).key == key)
            .map(|&(s, _)| s)
    }

    /// The slot of `key`, creating an empty entry if needed.
    #[inline]
    pub fn find_or_insert(&mut self, key: K) -> u32 {
        let (h, h32) = full_hash(key, self.seed);
        if let Some(&(s, _)) = self
            .index
            .find(h, |&(s, t)| t == h32 && self.at(s).key == key)
        {
            return s;
        }
        let entry = Entry {
            key,
            paths: Paths::Empty,
            ecmp: 0,
            flags: 0,
            pending: 0,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                *self.at_mut(s) = entry;
                s
            }
            None => {
                let s = self.len_slots;
                if (s as usize) >> SEG_BITS == self.segments.len() {
                    self.segments.push(Vec::with_capacity(SEG_LEN));
                }
                self.segments[(s >> SEG_BITS) as usize].push(entry);
                self.len_slots += 1;
                s
            }
        };
        // Rehashing uses the stored 32-bit hash: growth never touches the entries.
        self.index
            .insert_unique(h, (slot, h32), |&(_, t)| expand(t));
        self.live += 1;
        slot
    }

    /// The entry in `slot`.
    #[inline]
    pub fn entry(&self, slot: u32) -> &Entry<K> {
        self.at(slot)
    }

    /// The entry in `slot`, mutable.
    #[inline]
    pub fn entry_mut(&mut self, slot: u32) -> &mut Entry<K> {
        self.at_mut(slot)
    }

    /// Frees `slot` if it has no path and no pending kernel work.
    pub fn release_if_unused(&mut self, slot: u32) {
        let e = self.at(slot);
        if !e.paths.is_empty()
            || e.pending != 0
            || e.flags & (ENTRY_FIB_INSTALLED | ENTRY_FIB_DIRTY | ENTRY_EXPORT_DIRTY) != 0
        {
            return;
        }
        let (h, _) = full_hash(e.key, self.seed);
        if let Ok(found) = self.index.find_entry(h, |&(s, _)| s == slot) {
            found.remove();
        }
        self.free.push(slot);
        self.live -= 1;
    }

    /// Number of prefixes present (with or without a selected path).
    pub fn len(&self) -> usize {
        self.live
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Upper bound of slot ids (for per-slot bitmaps).
    pub fn slot_bound(&self) -> u32 {
        self.len_slots
    }

    /// Live slots in slot order.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len_slots).filter(move |&s| {
            let e = self.at(s);
            !e.paths.is_empty() || e.flags != 0 || e.pending != 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(peer: PeerIdx) -> Path {
        Path {
            peer,
            flags: 0,
            attrs: AttrId(0),
        }
    }

    #[test]
    fn entry_is_compact() {
        assert_eq!(std::mem::size_of::<Path>(), 8);
        assert!(
            std::mem::size_of::<Entry<V4Key>>() <= 32,
            "{}",
            std::mem::size_of::<Entry<V4Key>>()
        );
    }

    #[test]
    fn paths_upsert_remove() {
        let mut ps = Paths::Empty;
        assert_eq!(ps.upsert(p(1)), None);
        assert!(matches!(ps, Paths::One(_)));
        assert_eq!(ps.upsert(p(2)), None);
        assert_eq!(ps.as_slice().len(), 2);
        assert!(ps.upsert(p(1)).is_some());
        assert_eq!(ps.remove(1).map(|x| x.peer), Some(1));
        assert!(matches!(ps, Paths::One(Path { peer: 2, .. })));
        assert_eq!(ps.remove(3), None);
        assert!(ps.remove(2).is_some());
        assert!(ps.is_empty());
    }

    #[test]
    fn table_insert_find_release_reuse() {
        let mut t: Table<V4Key> = Table::new(42);
        let a = t.find_or_insert(V4Key(10));
        let b = t.find_or_insert(V4Key(20));
        assert_ne!(a, b);
        assert_eq!(t.find(V4Key(10)), Some(a));
        assert_eq!(t.len(), 2);
        t.release_if_unused(a);
        assert_eq!(t.find(V4Key(10)), None);
        assert_eq!(t.len(), 1);
        let c = t.find_or_insert(V4Key(30));
        assert_eq!(c, a, "freed slot reused");
        assert_eq!(t.slots().count(), 0, "no entry has paths");
    }
}
