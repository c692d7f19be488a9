//! The DX location router's BGP policy, as a `bgp::rib::Policy` (pure, no I/O):
//!
//! - **Import from a VIF** \[D1\]: the local-preference communities 7224:7100 (low),
//!   7224:7200 (medium) and 7224:7300 (high) set LOCAL_PREF 100 / 200 / 300, which RFC 4271
//!   §9.1.1 compares before AS_PATH (§9.1.2.2 (a)); so after the longest prefix (the kernel's
//!   and the RIB's per-prefix tables) they decide, then AS_PATH. (AWS-silent: the value of an
//!   untagged route; here medium, 200, so a tag can both raise and lower a VIF.) When several
//!   are attached, the highest wins (AWS-silent).
//! - **Export to a VIF**: what the associated VGWs announce (the VPC CIDRs a VGW sends over
//!   the backbone), only if an allowed prefix of that association equals or covers it \[D7\];
//!   for a TGW association only its allowed prefixes as written (originated here), never the
//!   TGW's own routes \[D7\];
//!   another VIF's routes only with SiteLink on the VIF's gateway \[D12\] (no on-prem to on-prem
//!   otherwise).
//! - **Export to an association** (backbone iBGP): the routes of this gateway's VIFs only; never
//!   another association's (no VGW-to-VGW traffic \[D6\]).
//! - NO_EXPORT is the RIB's mandatory rule: a VIF's route tagged NO_EXPORT still reaches the
//!   VGW (iBGP, inside AWS) but no other eBGP peer (another VIF, the VGW's VPN customers).
//!
//! What it does not do: the prefix limit (the neighbor's `max_prefix`) or install routes.

use std::collections::HashMap;

use bgp::rib::{Candidate, PeerInfo, Policy, Verdict};
use bgp::wire::{Community, PathAttrs, Prefix};
use ipnet::Ipv4Net;

/// The AWS community ASN.
pub const AWS_COMMUNITY_ASN: u32 = 7224;
/// LOCAL_PREF of an untagged VIF route (AWS-silent, see the module docs).
pub const DEFAULT_LOCAL_PREF: u32 = 200;

/// LOCAL_PREF for a route's communities: 7224:7100/7200/7300 -> 100/200/300, the highest of
/// those attached; none: [`DEFAULT_LOCAL_PREF`].
pub fn local_pref(communities: &[Community]) -> u32 {
    communities
        .iter()
        .filter_map(|c| match (c.0 >> 16, c.0 & 0xffff) {
            (AWS_COMMUNITY_ASN, 7100) => Some(100),
            (AWS_COMMUNITY_ASN, 7200) => Some(200),
            (AWS_COMMUNITY_ASN, 7300) => Some(300),
            _ => None,
        })
        .max()
        .unwrap_or(DEFAULT_LOCAL_PREF)
}

/// What a BGP neighbor of the DX router is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A VIF attached to DX gateway `gateway`.
    Vif {
        /// The DX gateway's name.
        gateway: String,
    },
    /// An association of DX gateway `gateway` (the backbone session to a VGW/TGW).
    Association {
        /// The DX gateway's name.
        gateway: String,
        /// Allowed prefixes (empty: everything the associated gateway announces).
        allowed: Vec<Ipv4Net>,
        /// A TGW association: its learned routes stay inside AWS (the allowed prefixes are
        /// announced instead).
        transit: bool,
    },
}

/// The policy: each neighbor's role by its name, and which gateways have SiteLink on.
#[derive(Debug, Clone, Default)]
pub struct DxPolicy {
    roles: HashMap<String, Role>,
    sitelink: HashMap<String, bool>,
}

impl DxPolicy {
    /// An empty policy (every neighbor unknown: nothing exported).
    pub fn new() -> DxPolicy {
        DxPolicy::default()
    }

    /// Neighbor `name` has `role`.
    pub fn with_role(mut self, name: impl Into<String>, role: Role) -> DxPolicy {
        self.roles.insert(name.into(), role);
        self
    }

    /// Gateway `gateway` has SiteLink `on`.
    pub fn with_sitelink(mut self, gateway: impl Into<String>, on: bool) -> DxPolicy {
        self.sitelink.insert(gateway.into(), on);
        self
    }

    fn covered(allowed: &[Ipv4Net], prefix: Prefix) -> bool {
        let Some(p) = prefix.to_ipv4_net() else {
            return false;
        };
        allowed.is_empty() || allowed.iter().any(|a| a.contains(&p))
    }
}

impl Policy for DxPolicy {
    fn import(&self, peer: &PeerInfo, _prefix: Prefix, attrs: &PathAttrs) -> Verdict {
        match self.roles.get(&peer.name) {
            Some(Role::Vif { .. }) => {
                let mut a = attrs.clone();
                a.local_pref = Some(local_pref(&attrs.communities));
                Verdict::Modify(a)
            }
            Some(Role::Association { .. }) => Verdict::Accept,
            None => Verdict::Reject,
        }
    }

    fn export(&self, to: &PeerInfo, prefix: Prefix, route: &Candidate<'_>) -> Verdict {
        let from = if route.peer.is_local() {
            None
        } else {
            match self.roles.get(&route.peer.name) {
                Some(r) => Some(r),
                None => return Verdict::Reject,
            }
        };
        let ok = match (self.roles.get(&to.name), from) {
            // Originated here (a TGW association's allowed prefixes): to the VIFs.
            (Some(Role::Vif { .. }), None) => true,
            (
                Some(Role::Vif { gateway }),
                Some(Role::Association {
                    gateway: g,
                    allowed,
                    transit,
                }),
            ) => gateway == g && !transit && Self::covered(allowed, prefix),
            (Some(Role::Vif { gateway }), Some(Role::Vif { gateway: g })) => {
                gateway == g && self.sitelink.get(gateway).copied().unwrap_or(false)
            }
            (Some(Role::Association { gateway, .. }), Some(Role::Vif { gateway: g })) => {
                gateway == g
            }
            _ => false,
        };
        if ok { Verdict::Accept } else { Verdict::Reject }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn peer(idx: u16, name: &str) -> PeerInfo {
        PeerInfo {
            idx,
            name: name.into(),
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, idx as u8)),
            remote_as: 65000,
            router_id: Ipv4Addr::new(10, 0, 0, idx as u8),
            ebgp: true,
        }
    }

    fn c(v: u32) -> Community {
        Community((7224 << 16) | v)
    }

    #[test]
    fn local_preference_communities() {
        assert_eq!(local_pref(&[]), 200);
        assert_eq!(local_pref(&[c(7100)]), 100);
        assert_eq!(local_pref(&[c(7300)]), 300);
        assert_eq!(local_pref(&[c(7100), c(7300)]), 300);
        assert_eq!(local_pref(&[Community((65000 << 16) | 7300)]), 200);
    }

    fn policy(sitelink: bool) -> DxPolicy {
        let vif = |g: &str| Role::Vif { gateway: g.into() };
        DxPolicy::new()
            .with_role("vif-a", vif("dxgw1"))
            .with_role("vif-b", vif("dxgw1"))
            .with_role(
                "vgw1",
                Role::Association {
                    gateway: "dxgw1".into(),
                    allowed: vec!["10.0.0.0/8".parse().unwrap()],
                    transit: false,
                },
            )
            .with_role(
                "vgw2",
                Role::Association {
                    gateway: "dxgw1".into(),
                    allowed: vec![],
                    transit: false,
                },
            )
            .with_role(
                "tgw1",
                Role::Association {
                    gateway: "dxgw1".into(),
                    allowed: vec!["10.0.0.0/8".parse().unwrap()],
                    transit: true,
                },
            )
            .with_sitelink("dxgw1", sitelink)
    }

    fn exported(p: &DxPolicy, from: &str, to: &str, prefix: &str) -> bool {
        let (f, t) = (peer(1, from), peer(2, to));
        let attrs = PathAttrs::default();
        let cand = Candidate {
            peer: &f,
            attrs: &attrs,
            stale: false,
        };
        p.export(&t, prefix.parse().unwrap(), &cand) == Verdict::Accept
    }

    #[test]
    fn import_sets_local_pref_from_vifs_only() {
        let p = policy(false);
        let attrs = PathAttrs {
            communities: vec![c(7300)],
            ..Default::default()
        };
        let pfx: Prefix = "192.168.0.0/16".parse().unwrap();
        match p.import(&peer(1, "vif-a"), pfx, &attrs) {
            Verdict::Modify(a) => assert_eq!(a.local_pref, Some(300)),
            v => panic!("{v:?}"),
        }
        assert_eq!(p.import(&peer(1, "vgw1"), pfx, &attrs), Verdict::Accept);
        assert_eq!(p.import(&peer(1, "stranger"), pfx, &attrs), Verdict::Reject);
    }

    #[test]
    fn exports_follow_allowed_prefixes_and_no_transit() {
        let p = policy(false);
        // The VPC CIDR reaches the VIFs only when an allowed prefix covers it.
        assert!(exported(&p, "vgw1", "vif-a", "10.1.0.0/16"));
        assert!(!exported(&p, "vgw1", "vif-a", "172.16.0.0/16"));
        assert!(exported(&p, "vgw2", "vif-a", "172.16.0.0/16"));
        // On-prem routes reach the VGWs, never another VIF without SiteLink.
        assert!(exported(&p, "vif-a", "vgw1", "192.168.0.0/16"));
        assert!(!exported(&p, "vif-a", "vif-b", "192.168.0.0/16"));
        assert!(exported(&policy(true), "vif-a", "vif-b", "192.168.0.0/16"));
        // No VGW-to-VGW.
        assert!(!exported(&p, "vgw1", "vgw2", "10.1.0.0/16"));
        // A TGW's own routes stay inside AWS even when an allowed prefix covers them; the
        // on-prem routes reach it.
        assert!(!exported(&p, "tgw1", "vif-a", "10.1.0.0/16"));
        assert!(exported(&p, "vif-a", "tgw1", "192.168.0.0/16"));
    }
}
