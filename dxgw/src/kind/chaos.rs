//! The DX location router's answer to the chaos campaign's question
//! (`engine::chaos::targets::ChaosTargets`): every VIF that runs BFD, cut (UDP 3784 to and from
//! the AWS-side address only) in its customer router's namespace, so BGP stays untouched and
//! only BFD can notice.
//!
//! Bounds (`crate::timers`, fast / aws):
//! - detection = max(BFD TX, RX interval) x multiplier: 300 ms / 900 ms;
//! - recovery = BGP hold + ConnectRetry + the largest idle hold + BFD detection: 14.3 s /
//!   155.9 s (the far end's session timing out, the damped restart, BFD up again).
//!
//! A VIF counts as redundant when the lab has another VIF or a VPN connection (the VGW's
//! backup): AWS's own rule for DX with a VPN backup (`aws-behaviour.md` §4). (inferred) With
//! neither, a BFD cut leaves no path and gets no outage bound.
//!
//! Health (part of the campaign's baseline): the DX router's `show vifs` has the VIF's BGP
//! Established and its BFD session up.
//!
//! What it does not do: VIFs without BFD.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use control::ShowParams;
use engine::kind::KindCheck;
use serde_json::{Map, Value};

use engine::chaos::targets::{BfdTarget, Target};
use engine::model::Topology;
use engine::model::timing::Profile;
use vgw::kind::query::VpnConnectionList;

use super::node::DxLocation;
use super::plan::dx_config;

/// BFD detection and the VIF's recovery under `profile`.
pub fn bounds(profile: Profile) -> (Duration, Duration) {
    let t = crate::timers::of(profile);
    let (tx, rx, mult) = t.bfd_ms;
    let detection = Duration::from_millis(u64::from(tx.max(rx)) * u64::from(mult));
    let recovery = Duration::from_secs(u64::from(t.bgp.hold_time.secs()))
        + t.bgp.connect_retry
        + t.bgp.idle_hold_max
        + detection;
    (detection, recovery)
}

/// VIF `vif` of DX router `node` has BGP Established and BFD up.
fn vif_health(node: &str, vif: &str) -> KindCheck {
    let name = vif.to_string();
    KindCheck {
        kind: "dxgw",
        node: node.to_string(),
        show: ShowParams {
            what: "vifs".into(),
            args: Map::new(),
        },
        describe: format!("{node} VIF {vif}: BGP Established, BFD up"),
        verdict: Arc::new(move |v: &Value| {
            let vif = v["vifs"]
                .as_array()
                .and_then(|l| l.iter().find(|x| x["name"] == name.as_str()))
                .ok_or_else(|| format!("no VIF {name}"))?;
            let bgp = vif["bgp"]["state"].as_str().unwrap_or("none");
            let bfd = vif["bfd"].as_str().unwrap_or("none");
            if bgp == "Established" && bfd.eq_ignore_ascii_case("up") {
                Ok(format!("BGP {bgp}, BFD {bfd}"))
            } else {
                Err(format!("BGP {bgp}, BFD {bfd}"))
            }
        }),
    }
}

/// Every BFD-enabled VIF of `node` as a chaos target.
pub fn targets(node: &DxLocation, topo: &Topology, profile: Profile) -> Vec<Target> {
    let Ok(cfg) = dx_config(node, topo, profile) else {
        return Vec::new();
    };
    let (detection, recovery) = bounds(profile);
    let vifs: usize = cfg.connections.iter().map(|c| c.vifs.len()).sum();
    let vpn = topo
        .ask(&VpnConnectionList)
        .iter()
        .any(|(_, list)| !list.is_empty());
    let mut out = Vec::new();
    for (c, decl) in cfg.connections.iter().zip(&node.connections) {
        for v in c.vifs.iter().filter(|v| v.bfd) {
            out.push(Target::Bfd(BfdTarget {
                name: format!("{}/{}", node.name, v.name),
                cut_node: decl.router.clone(),
                peer: IpAddr::V4(v.amazon_address.addr()),
                detection,
                recovery,
                health: Some(vif_health(&node.name, &v.name)),
                redundant: vifs > 1 || vpn,
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_follow_the_dx_timer_table() {
        assert_eq!(
            bounds(Profile::Fast),
            (Duration::from_millis(300), Duration::from_millis(14_300))
        );
        assert_eq!(
            bounds(Profile::Aws),
            (Duration::from_millis(900), Duration::from_millis(155_900))
        );
    }
}
