//! The Transit Gateway kinds' answers to the chaos campaign's question
//! (`engine::chaos::targets::ChaosTargets`):
//! - an appliance offers each Connect peer that can come up as a GRE tunnel (cut in the
//!   appliance's namespace, where the TGW's GRE address tells the peers apart), healthy when
//!   both of its BGP sessions (`.2` and `.3`) are Established on the TGW; the prefixes it
//!   announces (withdrawn and announced again through its daemon); and its uplink, the link
//!   that carries its GRE;
//! - a TGW with VPN attachments offers their tunnels exactly as a VGW does (the VPN is the
//!   `vgw` package's, timers included) and its internet link.
//!
//! A peer that cannot come up is left out, so the baseline does not wait for it: an eBGP peer
//! whose appliance sends TTL 1 (AWS requires multihop TTL 2, aws-behaviour.md §5).
//!
//! Bounds (`crate::timers`, fast / aws), for a Connect peer (no BFD on Connect, so BGP's hold
//! timer is what detects a lost peer):
//! - detection = BGP hold: 3 s / 30 s;
//! - recovery = hold (the TGW's stale session timing out) + the largest idle hold (damping
//!   after repeated flaps) + ConnectRetry: 14 s / 95 s.
//!
//! What it does not do: break anything (the engine does).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use control::ShowParams;
use engine::chaos::targets::{Encapsulation, PrefixTarget, Target, TunnelTarget};
use engine::kind::{KindCheck, KindRequest};
use engine::model::Topology;
use engine::model::timing::Profile;
use serde_json::{Map, Value, json};

use super::query::{ConnectPeersFor, PeerView};
use crate::inside_cidr;

/// A Connect peer's detection and recovery bounds under `profile`.
pub fn bounds(profile: Profile) -> (Duration, Duration) {
    let t = crate::timers::bgp(profile);
    let hold = Duration::from_secs(u64::from(t.hold_time.secs()));
    (hold, hold + t.idle_hold_max + t.connect_retry)
}

/// Whether the peer's sessions can come up: iBGP, or eBGP with a TTL that reaches the TGW's
/// speakers (they are two hops away, behind the GRE device).
fn can_establish(view: &PeerView, ttl: u8) -> bool {
    view.peer_asn == view.tgw_asn || ttl >= 2
}

/// The health of one Connect peer: both sessions Established on the TGW.
fn peer_health(view: &PeerView) -> KindCheck {
    let (attachment, peer) = (view.attachment.clone(), view.name.clone());
    KindCheck {
        kind: "tgw",
        node: view.tgw.clone(),
        show: ShowParams {
            what: "connect".into(),
            args: Map::new(),
        },
        describe: format!(
            "{} Connect peer {}/{}: both sessions Established",
            view.tgw, view.attachment, view.name
        ),
        verdict: Arc::new(move |v: &Value| {
            let n = v[&attachment][&peer]["established"].as_u64();
            match n {
                Some(2) => Ok(format!("{attachment}/{peer}: 2 sessions Established")),
                Some(n) => Err(format!(
                    "{attachment}/{peer}: {n} of 2 sessions Established"
                )),
                None => Err(format!(
                    "{attachment}/{peer}: not in the TGW's Connect view"
                )),
            }
        }),
    }
}

/// What the targets of one appliance are made of (the `[[appliance]]` node's declaration).
pub struct ApplianceParts<'a> {
    /// The node.
    pub name: &'a str,
    /// The prefixes it announces.
    pub advertise: &'a [ipnet::IpNet],
    /// Its BGP is someone else's (no `advertise` / `withdraw` actions then).
    pub external_bgp: bool,
    /// The TTL of its eBGP packets on a peer.
    pub ttl_of: &'a dyn Fn(&str) -> u8,
}

impl std::fmt::Debug for ApplianceParts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplianceParts")
            .field("name", &self.name)
            .field("advertise", &self.advertise)
            .field("external_bgp", &self.external_bgp)
            .finish_non_exhaustive()
    }
}

/// Every chaos target of appliance `app` under `profile`.
pub fn appliance_targets(
    app: &ApplianceParts<'_>,
    topo: &Topology,
    profile: Profile,
) -> Vec<Target> {
    let (detection, recovery) = bounds(profile);
    let views: Vec<PeerView> = topo
        .ask(&ConnectPeersFor {
            appliance: app.name.to_string(),
        })
        .into_iter()
        .flat_map(|(_, v)| v)
        .filter(|v| can_establish(v, (app.ttl_of)(&v.name)))
        .collect();
    let mut out: Vec<Target> = views
        .iter()
        .map(|v| {
            let (_, tgw_speakers) = inside_cidr::addresses(v.inside_cidr);
            Target::Tunnel(TunnelTarget {
                name: format!("{}/{}/{}", v.tgw, v.attachment, v.name),
                cut_node: app.name.to_string(),
                outside_peer: IpAddr::V4(v.tgw_address),
                encapsulation: Encapsulation::Gre,
                // A BGP cut takes the `.2` session: the `.3` one keeps the peer's routes
                // (two sessions, routes combined: §7 item 9).
                inside_peer: Some(IpAddr::V4(tgw_speakers[0])),
                health: peer_health(v),
                rekey: None,
                detection,
                recovery,
                redundant: views.len() > 1,
            })
        })
        .collect();
    if !app.external_bgp {
        out.extend(app.advertise.iter().map(|p| {
            let request = |action: &str| {
                let mut args = Map::new();
                args.insert("prefixes".into(), json!([p.to_string()]));
                KindRequest {
                    kind: "appliance",
                    node: app.name.to_string(),
                    params: control::ActionParams {
                        kind: action.to_string(),
                        args,
                    },
                }
            };
            Target::Prefix(PrefixTarget {
                name: format!("{} {p}", app.name),
                withdraw: request("withdraw"),
                advertise: request("advertise"),
                recovery,
            })
        }));
    }
    // The uplink: the link whose address on the appliance's side holds a GRE source address.
    for l in &topo.links {
        let carries_gre = l.endpoints.iter().any(|e| {
            e.node == app.name
                && e.all_addresses().iter().any(|a| {
                    views
                        .iter()
                        .any(|v| a.contains(&IpAddr::V4(v.peer_address)))
                })
        });
        if carries_gre {
            out.push(Target::Link(l.name.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(peer_asn: u32) -> PeerView {
        PeerView {
            tgw: "tgw1".into(),
            attachment: "connect1".into(),
            name: "p1".into(),
            inside_cidr: "169.254.6.0/29".parse().unwrap(),
            inside_cidr_v6: None,
            peer_address: "10.0.2.10".parse().unwrap(),
            tgw_address: "192.0.2.1".parse().unwrap(),
            tgw_asn: 64512,
            peer_asn,
        }
    }

    #[test]
    fn ebgp_with_ttl_1_is_no_target_and_ibgp_always_is() {
        assert!(!can_establish(&view(65010), 1));
        assert!(can_establish(&view(65010), 2));
        assert!(can_establish(&view(64512), 1));
    }

    #[test]
    fn bounds_follow_the_connect_timer_table() {
        assert_eq!(
            bounds(Profile::Fast),
            (Duration::from_secs(3), Duration::from_secs(14))
        );
        assert_eq!(
            bounds(Profile::Aws),
            (Duration::from_secs(30), Duration::from_secs(95))
        );
    }

    #[test]
    fn a_peer_is_healthy_with_both_sessions_only() {
        let h = peer_health(&view(65010));
        let v = |n: u64| json!({ "connect1": { "p1": { "established": n } } });
        assert!((h.verdict)(&v(2)).is_ok());
        assert!((h.verdict)(&v(1)).unwrap_err().contains("1 of 2"));
        assert!((h.verdict)(&json!({})).is_err());
    }
}
