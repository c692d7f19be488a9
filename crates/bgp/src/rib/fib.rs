//! Kernel (FIB) changes: selections that changed become install/replace/delete requests, with
//! every selected next hop (ECMP), drained in bounded chunks.
//!
//! What it does not do: talk to the kernel (the driver's installer does).

use super::*;

impl Rib {
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
}
