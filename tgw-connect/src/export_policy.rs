//! Which routes each BGP attachment (Connect, VPN) hears: the routes of the route table it is
//! associated with, less those that came from the attachment itself.
//!
//! ```text
//!  recompute: per attachment X, share(X) = table(X)'s selections not via X
//!  the speaker(s) originate    ∪ share(X)        (one origination per prefix)
//!  export to a peer of X:      prefix ∈ share(X)  (this policy, on every export)
//! ```
//!
//! AWS advertises a route table's routes to the BGP peers of the attachments associated with
//! it (aws-behaviour.md §6), so two SD-WAN sites on two Connect attachments, or two VPN sites,
//! reach each other through the TGW, and sites in route tables kept apart do not even learn of
//! each other. Not sending an attachment its own routes back is inferred (AWS does not say; a
//! site would prefer its own route anyway, and eBGP loop detection drops it).
//!
//! One speaker carries the peers of several attachments (the Connect speakers `.2` and `.3`
//! every Connect peer, the VPN speaker every tunnel), so what one attachment hears cannot be
//! told apart by origination alone: the speakers originate the union of the shares, and
//! [`SharePolicy`] (their export policy) passes a prefix to a peer only when it is in the share
//! of that peer's attachment. When a prefix enters or leaves a share while its origination
//! stays the same, the daemon asks the speaker to re-advertise to that attachment's peers
//! ([`SharePolicy::update`] says which, [`SharePolicy::peers_of`] who).
//!
//! What it does not do: decide routes (`routing::tgw`) or talk to the speakers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use bgp::rib::{Candidate, PeerInfo, PeerPolicy, Policy, Verdict};
use bgp::wire::Prefix;

/// Each attachment's share, and which attachment each peer address is on (with the peer's
/// neighbor policy, to re-advertise under).
#[derive(Debug, Default)]
struct Shares {
    members: BTreeMap<IpAddr, (String, PeerPolicy)>,
    share: BTreeMap<String, BTreeSet<Prefix>>,
}

/// A speaker's export policy (cheap to clone: the shares are shared).
#[derive(Debug, Clone, Default)]
pub struct SharePolicy(Arc<RwLock<Shares>>);

impl SharePolicy {
    /// A policy for the peers in `members` (peer address -> its attachment and its neighbor
    /// policy); every share starts empty.
    pub fn new(members: BTreeMap<IpAddr, (String, PeerPolicy)>) -> SharePolicy {
        SharePolicy(Arc::new(RwLock::new(Shares {
            members,
            share: BTreeMap::new(),
        })))
    }

    /// Sets the peers (known once their neighbors are configured, after the speaker that
    /// holds this policy was made).
    pub fn set_members(&self, members: BTreeMap<IpAddr, (String, PeerPolicy)>) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).members = members;
    }

    /// The peers of `attachment`, with their neighbor policies.
    pub fn peers_of(&self, attachment: &str) -> Vec<(IpAddr, PeerPolicy)> {
        let s = self.0.read().unwrap_or_else(|p| p.into_inner());
        s.members
            .iter()
            .filter(|(_, (a, _))| a == attachment)
            .map(|(addr, (_, policy))| (*addr, policy.clone()))
            .collect()
    }

    /// Replaces every share; returns, per attachment, the prefixes that entered or left its
    /// share.
    pub fn update(
        &self,
        shares: BTreeMap<String, BTreeSet<Prefix>>,
    ) -> BTreeMap<String, BTreeSet<Prefix>> {
        let mut s = self.0.write().unwrap_or_else(|p| p.into_inner());
        let empty = BTreeSet::new();
        let names: BTreeSet<String> = s.share.keys().chain(shares.keys()).cloned().collect();
        let mut changed = BTreeMap::new();
        for name in names {
            let old = s.share.get(&name).unwrap_or(&empty);
            let new = shares.get(&name).unwrap_or(&empty);
            let diff: BTreeSet<Prefix> = old.symmetric_difference(new).copied().collect();
            if !diff.is_empty() {
                changed.insert(name, diff);
            }
        }
        s.share = shares;
        changed
    }

    /// Whether `prefix` may go to the appliance at `to`.
    pub fn permits(&self, to: IpAddr, prefix: Prefix) -> bool {
        let s = self.0.read().unwrap_or_else(|p| p.into_inner());
        match s.members.get(&to) {
            Some((a, _)) => s.share.get(a).is_some_and(|p| p.contains(&prefix)),
            // Not a peer of an attachment: not ours to restrict.
            None => true,
        }
    }
}

impl Policy for SharePolicy {
    fn export(&self, to: &PeerInfo, prefix: Prefix, _route: &Candidate<'_>) -> Verdict {
        if self.permits(to.addr, prefix) {
            Verdict::Accept
        } else {
            Verdict::Reject
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn set(v: &[&str]) -> BTreeSet<Prefix> {
        v.iter().map(|s| p(s)).collect()
    }

    #[test]
    fn a_peer_hears_its_attachments_share_only() {
        let a: IpAddr = "169.254.6.1".parse().unwrap();
        let b: IpAddr = "169.254.7.1".parse().unwrap();
        let policy = SharePolicy::new(BTreeMap::from([
            (a, ("connect1".to_string(), PeerPolicy::default())),
            (b, ("connect2".to_string(), PeerPolicy::default())),
        ]));
        assert_eq!(policy.peers_of("connect2").len(), 1);
        assert_eq!(policy.peers_of("connect2")[0].0, b);
        // Site 1 (10.1/16 on connect1) and site 2 (10.2/16 on connect2) in one table.
        policy.update(BTreeMap::from([
            ("connect1".to_string(), set(&["10.0.0.0/16", "10.2.0.0/16"])),
            ("connect2".to_string(), set(&["10.0.0.0/16", "10.1.0.0/16"])),
        ]));
        assert!(policy.permits(a, p("10.2.0.0/16")));
        assert!(!policy.permits(a, p("10.1.0.0/16")), "not its own back");
        assert!(policy.permits(b, p("10.1.0.0/16")));
        assert!(!policy.permits(b, p("10.2.0.0/16")));
        // Anyone else (not an appliance of ours) is not restricted.
        assert!(policy.permits("192.0.2.9".parse().unwrap(), p("10.1.0.0/16")));
    }

    #[test]
    fn update_reports_what_entered_or_left_each_share() {
        let policy = SharePolicy::default();
        let first = policy.update(BTreeMap::from([(
            "connect1".to_string(),
            set(&["10.0.0.0/16", "10.2.0.0/16"]),
        )]));
        assert_eq!(first["connect1"], set(&["10.0.0.0/16", "10.2.0.0/16"]));
        let second = policy.update(BTreeMap::from([
            ("connect1".to_string(), set(&["10.0.0.0/16", "10.3.0.0/16"])),
            ("connect2".to_string(), set(&["10.0.0.0/16"])),
        ]));
        assert_eq!(second["connect1"], set(&["10.2.0.0/16", "10.3.0.0/16"]));
        assert_eq!(second["connect2"], set(&["10.0.0.0/16"]));
        let same = policy.update(BTreeMap::from([
            ("connect1".to_string(), set(&["10.0.0.0/16", "10.3.0.0/16"])),
            ("connect2".to_string(), set(&["10.0.0.0/16"])),
        ]));
        assert!(same.is_empty());
    }
}
