//! Routing policy: the per-neighbor options every speaker has (prefix filters, AS-path prepend,
//! MED, communities, next-hop-self, maximum prefixes) and the [`Policy`] hook through which a
//! gateway ranks and filters routes by its own rules.
//!
//! The hook's methods have defaults that give plain RFC 4271 behaviour, so a gateway overrides
//! only what it changes, e.g. a VGW's "Direct Connect beats VPN" is a [`Policy::preference`] by
//! peer, and DX's 7224:7xxx communities are a [`Policy::import`] that sets LOCAL_PREF.
//!
//! What it does not do: the mandatory BGP rules (own-AS loop detection, NO_EXPORT/NO_ADVERTISE,
//! no iBGP-to-iBGP re-advertisement, eBGP AS prepend and next hop): the RIB applies those before
//! and after the hook, whatever the hook says.

use std::cmp::Ordering;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use super::candidate::{Candidate, PeerInfo};
use super::decision;
use crate::wire::{Community, PathAttrs, Prefix};

/// What a policy decides about one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Take it as it is.
    Accept,
    /// Drop it (import: keep it as filtered in Adj-RIB-In; export: do not advertise).
    Reject,
    /// Take it with these attributes instead.
    Modify(PathAttrs),
}

/// The gateway's hook into route selection. Every method has an RFC 4271 default.
pub trait Policy: Send + std::fmt::Debug {
    /// Import policy, called for each received prefix after the neighbor's prefix filter.
    fn import(&self, _peer: &PeerInfo, _prefix: Prefix, _attrs: &PathAttrs) -> Verdict {
        Verdict::Accept
    }

    /// A preference compared before every RFC 4271 step (higher wins), e.g. by kind of peer.
    fn preference(&self, _peer: &PeerInfo, _attrs: &PathAttrs) -> u32 {
        0
    }

    /// Orders two candidates for the same prefix (`Less`: `a` is better). The default is
    /// [`decision::compare`]: preference, then RFC 4271 §9.1.
    fn compare(&self, a: &Candidate<'_>, b: &Candidate<'_>) -> Ordering {
        decision::compare(
            a,
            b,
            self.preference(a.peer, a.attrs),
            self.preference(b.peer, b.attrs),
        )
    }

    /// Whether `b` may share forwarding with the best route `a` (ECMP). The default requires
    /// equal preference, RFC steps through eBGP/iBGP, and an identical AS_PATH (AWS's rule for
    /// ECMP on transit gateways: "same AS_PATH and ASN").
    fn multipath(&self, a: &Candidate<'_>, b: &Candidate<'_>) -> bool {
        self.preference(a.peer, a.attrs) == self.preference(b.peer, b.attrs)
            && decision::multipath_equal(a, b)
    }

    /// Export policy, called for each route about to be advertised to `to`, after the
    /// neighbor's export filter and the mandatory rules.
    fn export(&self, _to: &PeerInfo, _prefix: Prefix, _route: &Candidate<'_>) -> Verdict {
        Verdict::Accept
    }
}

/// RFC 4271 behaviour with no local policy.
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultPolicy;

impl Policy for DefaultPolicy {}

/// Permit or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterAction {
    /// Matching prefixes pass.
    Permit,
    /// Matching prefixes are dropped.
    Deny,
}

/// One prefix-list rule: `prefix`, optionally with `ge`/`le` length bounds (as in FRR).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixRule {
    /// Covering prefix.
    pub prefix: Prefix,
    /// Minimum length of a matching prefix (default: the rule's length).
    #[serde(default)]
    pub ge: Option<u8>,
    /// Maximum length of a matching prefix (default: `ge` if set, else the rule's length).
    #[serde(default)]
    pub le: Option<u8>,
    /// What a match does.
    pub action: FilterAction,
}

impl PrefixRule {
    /// True if `p` matches.
    pub fn matches(&self, p: Prefix) -> bool {
        if !self.prefix.contains(p) {
            return false;
        }
        let len = p.len();
        let (lo, hi) = match (self.ge, self.le) {
            (None, None) => (self.prefix.len(), self.prefix.len()),
            (Some(ge), None) => (ge, p.family().max_len()),
            (None, Some(le)) => (self.prefix.len(), le),
            (Some(ge), Some(le)) => (ge, le),
        };
        (lo..=hi).contains(&len)
    }
}

/// A prefix list: the first matching rule decides; with rules and no match the prefix is denied
/// (FRR's implicit deny); an empty list permits everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PrefixList(pub Vec<PrefixRule>);

impl PrefixList {
    /// True if `p` passes.
    pub fn permits(&self, p: Prefix) -> bool {
        if self.0.is_empty() {
            return true;
        }
        self.0
            .iter()
            .find(|r| r.matches(p))
            .is_some_and(|r| r.action == FilterAction::Permit)
    }
}

/// Maximum-prefix limit (RFC 4271 §8.1.2 AutomaticStop, RFC 4486 Cease/1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPrefix {
    /// Most prefixes per family the neighbor may announce (AWS VPN: 100).
    pub limit: u32,
    /// Stay Idle this long, then reconnect; `None`: stay down until restarted by hand.
    #[serde(default, with = "opt_secs")]
    pub restart_after: Option<Duration>,
    /// Only report, never tear down.
    #[serde(default)]
    pub warning_only: bool,
}

mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let v = Option::<f64>::deserialize(d)?;
        match v {
            Some(x) if !(0.0..=86400.0).contains(&x) => Err(serde::de::Error::custom(
                "restart_after must be between 0 and 86400 seconds",
            )),
            Some(x) => Ok(Some(Duration::from_secs_f64(x))),
            None => Ok(None),
        }
    }
}

/// Per-neighbor policy options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerPolicy {
    /// Prefixes accepted from the neighbor.
    pub import_filter: PrefixList,
    /// Prefixes advertised to the neighbor.
    pub export_filter: PrefixList,
    /// Advertise only routes this speaker originates (configured networks and what is
    /// originated at run time), never what it learned: a customer router's "only my own
    /// prefixes" outbound policy that follows runtime announcements.
    pub export_local_only: bool,
    /// Extra copies of our AS prepended on export (eBGP), AWS-style path steering.
    pub as_path_prepend: u8,
    /// MED set on routes advertised to the neighbor.
    pub med: Option<u32>,
    /// Communities added to routes advertised to the neighbor.
    pub add_communities: Vec<Community>,
    /// Set ourselves as next hop towards an iBGP neighbor (always done for eBGP).
    pub next_hop_self: bool,
    /// Maximum number of prefixes per family.
    pub max_prefix: Option<MaxPrefix>,
    /// At most this many prefixes per family are advertised to the neighbor (AWS's VGW
    /// advertises up to 1000 to a customer gateway); a prefix over the limit is not sent (it
    /// goes out when it changes again while there is room).
    pub max_advertise: Option<u32>,
    /// LOCAL_PREF given to routes learned from this neighbor (RFC 4271 §9.1.1).
    pub local_pref: Option<u32>,
    /// IPv4 next hop to advertise when the session runs over IPv6 (and vice versa below).
    pub next_hop_v4: Option<Ipv4Addr>,
    /// IPv6 next hop to advertise when the session runs over IPv4.
    pub next_hop_v6: Option<Ipv6Addr>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: &str, ge: Option<u8>, le: Option<u8>, action: FilterAction) -> PrefixRule {
        PrefixRule {
            prefix: p.parse().unwrap(),
            ge,
            le,
            action,
        }
    }

    #[test]
    fn prefix_list_first_match_and_implicit_deny() {
        let pl = PrefixList(vec![
            rule("10.0.0.0/8", Some(24), Some(24), FilterAction::Deny),
            rule("10.0.0.0/8", None, Some(32), FilterAction::Permit),
        ]);
        assert!(!pl.permits("10.1.2.0/24".parse().unwrap()));
        assert!(pl.permits("10.1.0.0/16".parse().unwrap()));
        assert!(pl.permits("10.0.0.0/8".parse().unwrap()));
        assert!(
            !pl.permits("192.168.0.0/16".parse().unwrap()),
            "implicit deny"
        );
        assert!(PrefixList::default().permits("192.168.0.0/16".parse().unwrap()));
        let exact = rule("10.0.0.0/8", None, None, FilterAction::Permit);
        assert!(exact.matches("10.0.0.0/8".parse().unwrap()));
        assert!(!exact.matches("10.0.0.0/9".parse().unwrap()));
    }
}
