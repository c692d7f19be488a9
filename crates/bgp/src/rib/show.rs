//! Read-only views of the RIB for `show` output and for callers that inspect selections.
//!
//! What it does not do: change anything.

use super::*;

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
    /// AS_PATH length as the decision process counts it (RFC 4271 §9.1.2.2 (a)).
    pub as_path_len: u32,
    /// The neighbouring AS: the first AS of a leading AS_SEQUENCE (RFC 4271 §9.1.2.2 (c)).
    pub first_as: Option<u32>,
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

impl Rib {
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
        // Keep only the `limit` smallest prefixes while scanning (a bounded max-heap), so that
        // showing the first routes of a million-route table costs memory for `limit` views only.
        fn smallest<K: Key>(t: &Table<K>, limit: usize) -> Vec<(Prefix, u32)> {
            let mut heap: std::collections::BinaryHeap<(Prefix, u32)> = Default::default();
            for s in t.slots() {
                let e = t.entry(s);
                if e.paths.is_empty() {
                    continue;
                }
                let p = e.key.prefix();
                if heap.len() < limit {
                    heap.push((p, s));
                } else if heap.peek().is_some_and(|top| p < top.0) {
                    heap.pop();
                    heap.push((p, s));
                }
            }
            heap.into_sorted_vec()
        }
        match family {
            Family::Ipv4Unicast => smallest(&self.v4.table, limit)
                .into_iter()
                .map(|(p, s)| self.view(p, self.v4.table.entry(s), &self.attrs))
                .collect(),
            Family::Ipv6Unicast => smallest(&self.v6.table, limit)
                .into_iter()
                .map(|(p, s)| self.view(p, self.v6.table.entry(s), &self.attrs))
                .collect(),
        }
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
                    as_path_len: a.as_path.path_len(),
                    first_as: a.as_path.first_as(),
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
