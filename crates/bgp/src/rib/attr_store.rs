//! Interned path-attribute sets: each distinct [`PathAttrs`] is stored once, reference counted,
//! and named by a 4-byte [`AttrId`].
//!
//! A million routes that share one path cost one attribute set plus a u32 per route; 100,000
//! distinct AS_PATHs cost 100,000 sets. Lookup hashes the set once per UPDATE (not per prefix).
//!
//! ```text
//!   index (hash table of u32) --> slots[id] = { attrs: Box<PathAttrs>, refs, hash }
//!                                 free list of released ids
//! ```
//!
//! What it does not do: decide equality beyond `PathAttrs: Eq` (two sets that differ only in the
//! order of their communities are distinct, as on the wire).

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::wire::PathAttrs;

/// Names an interned attribute set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrId(pub(crate) u32);

#[derive(Debug)]
struct Slot {
    attrs: Option<Box<PathAttrs>>,
    refs: u32,
    hash: u64,
}

/// The interning store.
#[derive(Debug)]
pub struct AttrStore {
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashTable<u32>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for AttrStore {
    fn default() -> Self {
        AttrStore {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashTable::new(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }
}

impl AttrStore {
    fn hash_of(&self, attrs: &PathAttrs) -> u64 {
        self.hasher.hash_one(attrs)
    }

    /// Returns the id of `attrs`, adding it if new, and takes one reference.
    pub fn intern(&mut self, attrs: &PathAttrs) -> AttrId {
        let hash = self.hash_of(attrs);
        let slots = &self.slots;
        if let Some(&id) = self.index.find(hash, |&i| {
            slots[i as usize]
                .attrs
                .as_deref()
                .is_some_and(|a| a == attrs)
        }) {
            self.slots[id as usize].refs += 1;
            return AttrId(id);
        }
        self.insert_new(attrs.clone(), hash)
    }

    /// Like [`intern`](Self::intern) but takes ownership (no clone when new).
    pub fn intern_owned(&mut self, attrs: PathAttrs) -> AttrId {
        let hash = self.hash_of(&attrs);
        let slots = &self.slots;
        if let Some(&id) = self.index.find(hash, |&i| {
            slots[i as usize]
                .attrs
                .as_deref()
                .is_some_and(|a| *a == attrs)
        }) {
            self.slots[id as usize].refs += 1;
            return AttrId(id);
        }
        self.insert_new(attrs, hash)
    }

    fn insert_new(&mut self, attrs: PathAttrs, hash: u64) -> AttrId {
        let slot = Slot {
            attrs: Some(Box::new(attrs)),
            refs: 1,
            hash,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.index
            .insert_unique(hash, id, |&i| slots[i as usize].hash);
        AttrId(id)
    }

    /// Takes `n` more references on `id`.
    pub fn retain(&mut self, id: AttrId, n: u32) {
        self.slots[id.0 as usize].refs += n;
    }

    /// Drops one reference; frees the set when none is left.
    pub fn release(&mut self, id: AttrId) {
        self.release_n(id, 1)
    }

    /// Drops `n` references.
    pub fn release_n(&mut self, id: AttrId, n: u32) {
        let slot = &mut self.slots[id.0 as usize];
        debug_assert!(slot.refs >= n, "attribute refcount underflow");
        slot.refs = slot.refs.saturating_sub(n);
        if slot.refs == 0 {
            let hash = slot.hash;
            slot.attrs = None;
            if let Ok(e) = self.index.find_entry(hash, |&i| i == id.0) {
                e.remove();
            }
            self.free.push(id.0);
        }
    }

    /// The attributes behind `id`.
    pub fn get(&self, id: AttrId) -> &PathAttrs {
        self.slots[id.0 as usize]
            .attrs
            .as_deref()
            .expect("live AttrId")
    }

    /// Number of live sets.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True if no set is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reference count (tests and show).
    pub fn refs(&self, id: AttrId) -> u32 {
        self.slots[id.0 as usize].refs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::AsPath;

    #[test]
    fn interning_shares_and_frees() {
        let mut s = AttrStore::default();
        let a = PathAttrs {
            as_path: AsPath::sequence([1, 2]),
            ..Default::default()
        };
        let b = PathAttrs {
            as_path: AsPath::sequence([1, 3]),
            ..Default::default()
        };
        let ia = s.intern(&a);
        let ia2 = s.intern(&a);
        let ib = s.intern_owned(b.clone());
        assert_eq!(ia, ia2);
        assert_ne!(ia, ib);
        assert_eq!(s.len(), 2);
        assert_eq!(s.refs(ia), 2);
        s.release(ia);
        s.release(ia);
        assert_eq!(s.len(), 1);
        // The freed id is reused, and the old value is no longer found.
        let ic = s.intern(&b);
        assert_eq!(ic, ib);
        let ia3 = s.intern(&a);
        assert_eq!(ia3, ia, "free slot reused");
        assert_eq!(s.get(ia3), &a);
    }
}
