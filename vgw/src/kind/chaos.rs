//! The VGW's answer to the chaos campaign's question (`engine::chaos::targets::ChaosTargets`):
//! every tunnel of every VPN connection, cut from its customer gateway's namespace (where the
//! VGW's outside address of that tunnel tells it apart from its twin), with its health check
//! (`UP`, BGP `Established` when dynamic), a rekey action, and the bounds from the VPN timers.
//!
//! Bounds (`crate::timers`, fast / aws):
//! - detection = max(BGP hold, DPD interval + DPD timeout): 4 s / 50 s (AWS's default DPD
//!   timeout 40 s, `dpd_timeout_seconds` when a tunnel sets it);
//! - recovery = BGP hold + DPD timeout + half-open IKE SA + IKE restart delay + the largest
//!   BGP idle hold (damping after repeated flaps) + ConnectRetry: 23 s / 170 s. Each term is a
//!   wait the slowest path back may contain once: the far end's stale session timing out, its
//!   SA declared dead, a half-open exchange abandoned, the restart, the damped BGP start.
//!
//! What it does not do: break anything (the engine does).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use control::ShowParams;
use engine::chaos::targets::{Encapsulation, Target, TunnelTarget};
use engine::kind::{KindCheck, KindRequest};
use engine::model::Topology;
use engine::model::timing::Profile;
use serde_json::{Map, Value, json};

use super::addressing::host;
use super::keys::KeySource;
use super::node::Vgw;
use super::plan::vgw_config;
use crate::config::Routing;

/// The VPN's detection and recovery bounds under `profile` for a tunnel whose DPD timeout
/// option is `dpd_option`.
pub fn bounds(profile: Profile, dpd_option: Duration) -> (Duration, Duration) {
    let t = crate::timers::of(profile);
    let hold = Duration::from_secs(u64::from(t.bgp.hold_time.secs()));
    let dpd = t.ipsec.dpd_timeout.unwrap_or(dpd_option);
    let detection = hold.max(t.ipsec.dpd_interval + dpd);
    let recovery = hold
        + dpd
        + t.ipsec.half_open
        + t.ipsec.restart_delay
        + t.bgp.idle_hold_max
        + t.bgp.connect_retry;
    (detection, recovery)
}

/// Every tunnel of `vgw` as a chaos target.
pub fn targets(vgw: &Vgw, topo: &Topology, profile: Profile) -> Vec<Target> {
    let Ok(cfg) = vgw_config(vgw, topo, profile, PathBuf::new(), &KeySource::NoLab) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (c, spec) in cfg.connections.iter().zip(&vgw.connections) {
        for (i, t) in c.tunnels.iter().enumerate() {
            let tunnel = format!("{}-t{}", c.name, i + 1);
            let dynamic = c.routing == Routing::Dynamic;
            let (detection, recovery) = bounds(
                profile,
                Duration::from_secs(u64::from(t.options.dpd_timeout_seconds)),
            );
            let name = tunnel.clone();
            let health = KindCheck {
                kind: "vgw",
                node: vgw.name.clone(),
                show: ShowParams {
                    what: "tunnels".into(),
                    args: Map::new(),
                },
                describe: format!(
                    "{} tunnel {tunnel}: UP{}",
                    vgw.name,
                    if dynamic { ", BGP Established" } else { "" }
                ),
                verdict: Arc::new(move |v: &Value| {
                    super::checks::judge_tunnel(
                        v,
                        &name,
                        Some("UP"),
                        dynamic.then_some("Established"),
                        None,
                    )
                }),
            };
            let mut args = Map::new();
            args.insert("tunnel".into(), json!(tunnel));
            out.push(Target::Tunnel(TunnelTarget {
                name: format!("{}/{tunnel}", vgw.name),
                cut_node: spec.cgw.clone(),
                outside_peer: IpAddr::V4(t.outside_ip),
                encapsulation: Encapsulation::IpsecUdp,
                inside_peer: dynamic.then(|| IpAddr::V4(host(t.inside_cidr, 1))),
                health,
                rekey: Some(KindRequest {
                    kind: "vgw",
                    node: vgw.name.clone(),
                    params: control::ActionParams {
                        kind: "rekey".into(),
                        args,
                    },
                }),
                detection,
                recovery,
                redundant: c.tunnels.len() > 1,
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_and_aws_bounds_follow_the_timer_tables() {
        assert_eq!(
            bounds(Profile::Fast, Duration::from_secs(40)),
            (Duration::from_secs(4), Duration::from_secs(23))
        );
        assert_eq!(
            bounds(Profile::Aws, Duration::from_secs(40)),
            (Duration::from_secs(50), Duration::from_secs(170))
        );
    }
}
