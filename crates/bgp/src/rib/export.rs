//! Adj-RIB-Out: what each neighbor is sent. Changes reach neighbors through one change log per
//! family (a cursor each) and full-table scans for initial dumps and ROUTE-REFRESH; the export
//! decision (RFC 4271 §9.1.3 plus RFC 1997 well-known communities, iBGP rules, policy) and the
//! attribute transformation (RFC 4271 §5.1) are computed when a neighbor drains, and
//! announcements are packed per attribute set.
//!
//! What it does not do: select routes (see `select.rs`) or write to sockets.

use super::*;

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
    if dst.policy.export_local_only && !src.info.is_local() {
        return None;
    }
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

impl Rib {
    /// Drops log entries every neighbor has read.
    pub(super) fn trim_logs(&mut self) {
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

    /// Ends a batch: slots appended to the change logs may be appended again by the next one;
    /// logs nobody needs are dropped.
    pub(super) fn flush_exports(&mut self) {
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
            p.session.as_ref().is_some_and(|s| {
                Family::ALL.iter().any(|&f| {
                    let o = &p.out[fi(f)];
                    s.families.contains(&f)
                        && (o.cursor < ends[fi(f)] || o.dump.is_some() || o.eor_pending)
                })
            })
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
            if !session.families.contains(&family) {
                // Never negotiated: nothing is sent, and the log is not held back for it.
                let end = with_family!(self, family, |fr| fr.log_end());
                if let Some(p) = self.peer_mut(idx) {
                    p.out[fi(family)].cursor = end;
                }
                return;
            }
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
            // An advertising limit: updates of what the neighbor has are always sent, new
            // prefixes only while there is room.
            if let Some(limit) = self.peer(idx).and_then(|p| p.policy.max_advertise) {
                let p = self.peer(idx).expect("peer exists");
                let mut room = limit.saturating_sub(p.counters[fi(family)].advertised);
                let before = announce.len();
                announce.retain(|(_, s)| {
                    if p.out[fi(family)].advertised.get(*s) {
                        true
                    } else if room > 0 {
                        room -= 1;
                        true
                    } else {
                        false
                    }
                });
                if announce.len() < before {
                    tracing::debug!(
                        peer = idx,
                        ?family,
                        held = before - announce.len(),
                        limit,
                        "advertising limit reached: prefixes not sent"
                    );
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
                        tracing::warn!(
                            peer = idx,
                            ?family,
                            routes = j - i,
                            "no next hop of this family for the neighbor (the session runs over \
                             the other family): set next_hop_v4/next_hop_v6; routes not sent"
                        );
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
}
