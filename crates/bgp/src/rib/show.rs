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
