//! Transit Gateway route-table evaluation \[T1, T3, T6\] (`aws-behaviour.md` §6, §7 items 6, 7, 9).
//!
//! One route table holds static routes (to an attachment, or blackhole) and routes propagated by
//! the attachments that propagate to it. For each destination AWS uses:
//!
//! ```text
//!  1. longest prefix match                                  (lookup; the kernel does the same)
//!  2. same CIDR: static > prefix list > VPC-propagated > DX-gateway-propagated
//!     > Connect-propagated > VPN-over-private-DX > VPN-propagated > peering      [T1]
//!     (a static route hides every propagated route of its CIDR; a static blackhole too)
//!  3. within one attachment type: shorter AS_PATH                                [T1]
//!  4.                            lower MED                                       [T1]
//!  5.                            eBGP over iBGP                                  [T1]
//!  6. still tied: ECMP where the type allows it, else one path                   [T1, T6]
//!       VPN: only with the TGW's VPN ECMP option (default on) and only BGP routes;
//!            off: one path, AWS's "internal metric" (here the seeded tunnel rank)
//!       Connect: always       DX gateway: always (same prefix and AS_PATH)
//!       the others (static, VPC, peering): one path
//!     and only between routes with the identical AS_PATH from the same ASN: never across
//!     attachment types (rule 2 removed them) or ASNs (item 7)
//! ```
//!
//! The two BGP sessions of one Connect peer (TGW speakers `.2` and `.3`) carry routes that are
//! *combined*, never ECMP'd against each other \[T2\] (item 9): they share one [`Candidate::via`]
//! (the peer's GRE tunnel), so they collapse to one path here.
//!
//! Rule 4 (MED) is compared between all routes still tied after rule 3, as the TGW
//! documentation states it, not only between routes of one neighbour AS as RFC 4271 does
//! (inferred: AWS does not say which). A full tie beyond rule 6 "has no guaranteed order" in
//! AWS; we order by [`TunnelPreference`] so a run replays.
//!
//! Both families live in one table, as in AWS's (an IPv6 CIDR of a VPC, an IPv6 prefix an
//! appliance announces over Connect's MP-BGP): the rules are the same, and a CIDR only ever
//! competes with candidates of its own family.
//!
//! What it does not do: decide which candidates exist (the gateway passes only those of
//! attachments that propagate to the table and whose sessions are up), or program the kernel.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use crate::vgw::TunnelPreference;

/// Where a route came from; the order of the variants is AWS's priority for one CIDR \[T1\].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TgwRouteKind {
    /// A static route of the route table (to an attachment, or a blackhole).
    Static,
    /// A prefix-list reference.
    PrefixList,
    /// Propagated by a VPC attachment (its CIDR blocks).
    Vpc,
    /// Propagated by a Direct Connect gateway attachment (transit VIF).
    DxGateway,
    /// Propagated by a Connect attachment (BGP over GRE).
    Connect,
    /// Propagated by a VPN attachment that rides a private Direct Connect.
    VpnOverDx,
    /// Propagated by a VPN attachment.
    Vpn,
    /// A transit gateway peering attachment.
    Peering,
}

impl TgwRouteKind {
    /// Whether routes of this kind may form an ECMP set (`vpn_ecmp`: the TGW's option).
    pub fn allows_ecmp(self, vpn_ecmp: bool) -> bool {
        match self {
            TgwRouteKind::Connect | TgwRouteKind::DxGateway => true,
            TgwRouteKind::Vpn | TgwRouteKind::VpnOverDx => vpn_ecmp,
            TgwRouteKind::Static
            | TgwRouteKind::PrefixList
            | TgwRouteKind::Vpc
            | TgwRouteKind::Peering => false,
        }
    }
}

/// A route a route table could use for a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Candidate {
    /// Destination.
    pub prefix: IpNet,
    /// Route type.
    pub kind: TgwRouteKind,
    /// The attachment it points to (empty for a blackhole).
    pub attachment: String,
    /// The path inside the attachment: a VPN tunnel, a Connect peer, the VPC link. Two routes
    /// with the same `via` are one path (a Connect peer's two sessions).
    pub via: String,
    /// The next hop address on that path, if any.
    pub next_hop: Option<IpAddr>,
    /// The AS_PATH as received (empty for static and VPC routes).
    pub as_path: Vec<u32>,
    /// The neighbour's ASN (the BGP peer's), `None` for static and VPC routes.
    pub peer_asn: Option<u32>,
    /// MULTI_EXIT_DISC; 0 when absent (Connect routes get 100 before they come here \[T2\]).
    pub med: u32,
    /// Learned over eBGP (false: iBGP, static, VPC).
    pub ebgp: bool,
    /// A route learned by BGP (false: static VPN routes and everything else); ECMP needs it.
    pub dynamic: bool,
    /// A static blackhole route: traffic to the CIDR is dropped.
    pub blackhole: bool,
}

impl Candidate {
    /// A static route of the table to `attachment`.
    pub fn static_route(prefix: IpNet, attachment: &str) -> Candidate {
        Candidate {
            prefix,
            kind: TgwRouteKind::Static,
            attachment: attachment.into(),
            via: attachment.into(),
            next_hop: None,
            as_path: Vec::new(),
            peer_asn: None,
            med: 0,
            ebgp: false,
            dynamic: false,
            blackhole: false,
        }
    }

    /// A static blackhole route.
    pub fn blackhole(prefix: IpNet) -> Candidate {
        Candidate {
            blackhole: true,
            ..Candidate::static_route(prefix, "")
        }
    }

    /// A route propagated by `attachment` of `kind`, learned over `via`.
    pub fn propagated(prefix: IpNet, kind: TgwRouteKind, attachment: &str, via: &str) -> Candidate {
        Candidate {
            kind,
            via: via.into(),
            ..Candidate::static_route(prefix, attachment)
        }
    }

    /// The same route learned over BGP with this AS_PATH from `peer_asn`.
    pub fn bgp(mut self, as_path: &[u32], peer_asn: u32, med: u32, ebgp: bool) -> Candidate {
        self.as_path = as_path.to_vec();
        self.peer_asn = Some(peer_asn);
        self.med = med;
        self.ebgp = ebgp;
        self.dynamic = true;
        self
    }
}

/// Options of the transit gateway that change selection \[T6\].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// VpnEcmpSupport (default on).
    pub vpn_ecmp: bool,
    /// Orders full ties (AWS: no guaranteed order; here seeded so a run replays).
    pub preference: TunnelPreference,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            vpn_ecmp: true,
            preference: TunnelPreference::new(0),
        }
    }
}

/// The rule that decided a CIDR, for `show` and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Only one path was there.
    Only,
    /// Route type priority (rule 2).
    RouteKind,
    /// Shorter AS_PATH (rule 3).
    AsPathLength,
    /// Lower MED (rule 4).
    Med,
    /// eBGP over iBGP (rule 5).
    Ebgp,
    /// A full tie: ECMP or the seeded order (rule 6).
    Tie,
}

/// What a route table does with one CIDR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Destination.
    pub prefix: IpNet,
    /// The type of the routes in use.
    pub kind: TgwRouteKind,
    /// Dropped (a static blackhole route won).
    pub blackhole: bool,
    /// The paths in use: one, or an ECMP set (never empty unless `blackhole`).
    pub paths: Vec<Candidate>,
    /// The candidates not in use ("the route table shows only the winner", item 6).
    pub hidden: Vec<Candidate>,
    /// The rule that put the first hidden candidate below the winner.
    pub decided_by: Rule,
}

/// Selects every CIDR of one route table among `candidates` (rules 2-6).
pub fn select(candidates: &[Candidate], options: Options) -> Vec<Selection> {
    let mut by_prefix: BTreeMap<IpNet, Vec<Candidate>> = BTreeMap::new();
    for c in candidates {
        let mut c = c.clone();
        c.prefix = c.prefix.trunc();
        by_prefix.entry(c.prefix).or_default().push(c);
    }
    by_prefix
        .into_iter()
        .map(|(prefix, all)| select_one(prefix, all, options))
        .collect()
}

/// Rules 2-6 for one CIDR.
fn select_one(prefix: IpNet, mut all: Vec<Candidate>, options: Options) -> Selection {
    // The two sessions of one Connect peer: routes combined, one path per `via` (the better of
    // the two by rules 3-5).
    all.sort_by(|a, b| {
        (a.via.as_str(), a.kind, a.as_path.len(), a.med, !a.ebgp).cmp(&(
            b.via.as_str(),
            b.kind,
            b.as_path.len(),
            b.med,
            !b.ebgp,
        ))
    });
    let mut hidden = Vec::new();
    let mut unique: Vec<Candidate> = Vec::new();
    for c in all {
        if unique
            .last()
            .is_some_and(|u| u.via == c.via && u.kind == c.kind && u.attachment == c.attachment)
        {
            hidden.push(c);
        } else {
            unique.push(c);
        }
    }
    let mut decided_by = if hidden.is_empty() {
        Rule::Only
    } else {
        Rule::Tie
    };
    let mut alive = unique;
    // Each step keeps the best and records the first rule that removed anything.
    let mut step = |alive: &mut Vec<Candidate>, rule: Rule, key: &dyn Fn(&Candidate) -> u64| {
        let best = alive.iter().map(key).min().unwrap_or(0);
        let (keep, drop): (Vec<_>, Vec<_>) = alive.drain(..).partition(|c| key(c) == best);
        if !drop.is_empty() && matches!(decided_by, Rule::Only | Rule::Tie) {
            decided_by = rule;
        }
        hidden.extend(drop);
        *alive = keep;
    };
    step(&mut alive, Rule::RouteKind, &|c| c.kind as u64);
    step(&mut alive, Rule::AsPathLength, &|c| c.as_path.len() as u64);
    step(&mut alive, Rule::Med, &|c| u64::from(c.med));
    step(&mut alive, Rule::Ebgp, &|c| u64::from(!c.ebgp));
    alive.sort_by_key(|c| (options.preference.rank(&c.via), c.via.clone()));
    let best = alive
        .first()
        .cloned()
        .expect("a CIDR has at least one candidate");
    let ecmp = best.kind.allows_ecmp(options.vpn_ecmp) && best.dynamic;
    let (paths, rest): (Vec<_>, Vec<_>) = alive.into_iter().enumerate().partition(|(i, c)| {
        *i == 0 || (ecmp && c.dynamic && c.as_path == best.as_path && c.peer_asn == best.peer_asn)
    });
    if !rest.is_empty() && matches!(decided_by, Rule::Only) {
        decided_by = Rule::Tie;
    }
    hidden.extend(rest.into_iter().map(|(_, c)| c));
    let paths: Vec<Candidate> = paths.into_iter().map(|(_, c)| c).collect();
    let blackhole = best.blackhole;
    Selection {
        prefix,
        kind: best.kind,
        blackhole,
        paths: if blackhole { Vec::new() } else { paths },
        hidden,
        decided_by,
    }
}

/// Rule 1: the selection a packet to `destination` follows (longest prefix), if any.
pub fn lookup(selections: &[Selection], destination: IpAddr) -> Option<&Selection> {
    selections
        .iter()
        .filter(|s| s.prefix.contains(&destination))
        .max_by_key(|s| s.prefix.prefix_len())
}

#[cfg(test)]
mod tests;
