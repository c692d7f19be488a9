//! The fault menu: which kinds of fault a campaign may inject, and the drawing of one fault
//! (its kind, target, length and details) from the fault's own random stream.
//!
//! ```text
//!  kinds allowed ∩ kinds with a target ──rng(seed, index)──> kind ──> target ──> hold, details
//! ```
//!
//! Bounds (documented in the README's "Chaos campaigns"; `margin` is 1.5 s `fast`, 5 s `aws`):
//! - outage bound, for a fault that leaves a path (the broken tunnel has a twin, a BFD session
//!   has a backup): the broken target's detection time (the kind's slowest detector: BGP hold
//!   or DPD for a tunnel, interval x multiplier for BFD) + margin; a rekey storm must be
//!   hitless: margin alone. Faults that take every path away (a whole underlay link, a killed
//!   gateway, a withdrawn prefix) have no outage bound.
//! - recovery bound, from the repair to the lab back at its baseline: the target's recovery
//!   (the kind's formula, e.g. VPN: hold + DPD timeout + half-open IKE + restart delay +
//!   idle-hold maximum + ConnectRetry) + margin; faults that touch every tunnel of a node (link
//!   down, kill) use the largest recovery of any target.
//!
//! What it does not do: apply faults (the runner's `chaos` driver does, with the timeline's
//! own actions).

use std::time::Duration;

use serde::Serialize;

use crate::chaos::rng::Rng;
use crate::chaos::targets::{BfdTarget, Encapsulation, PrefixTarget, Target, TunnelTarget};
use crate::model::timeline::{KindRequest, TrafficMatch};

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A tunnel's whole underlay (IKE and ESP) silently dropped.
    TunnelCut,
    /// Only IKE (UDP 500).
    IkeCut,
    /// Only ESP-in-UDP (UDP 4500).
    EspCut,
    /// Only the BGP TCP session inside the tunnel.
    BgpCut,
    /// Only BFD (Direct Connect VIFs).
    BfdCut,
    /// Only GRE (IP protocol 47) of a Transit Gateway Connect peer.
    GreCut,
    /// A gateway's underlay link down, then up.
    LinkDown,
    /// Random loss of some percent on a tunnel's underlay.
    Loss,
    /// SIGKILL a daemon, then start it again.
    Kill,
    /// A tunnel's underlay cut and restored several times, fast.
    Flap,
    /// Several rekeys of a tunnel in quick succession.
    RekeyStorm,
    /// A prefix withdrawn, then announced again.
    Withdraw,
}

impl FaultKind {
    /// Every kind, in menu order.
    pub const ALL: [FaultKind; 12] = [
        FaultKind::TunnelCut,
        FaultKind::IkeCut,
        FaultKind::EspCut,
        FaultKind::BgpCut,
        FaultKind::BfdCut,
        FaultKind::GreCut,
        FaultKind::LinkDown,
        FaultKind::Loss,
        FaultKind::Kill,
        FaultKind::Flap,
        FaultKind::RekeyStorm,
        FaultKind::Withdraw,
    ];

    /// Its name in reports, `--kinds` and `[chaos] kinds`.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::TunnelCut => "tunnel_cut",
            FaultKind::IkeCut => "ike_cut",
            FaultKind::EspCut => "esp_cut",
            FaultKind::BgpCut => "bgp_cut",
            FaultKind::BfdCut => "bfd_cut",
            FaultKind::GreCut => "gre_cut",
            FaultKind::LinkDown => "link_down",
            FaultKind::Loss => "loss",
            FaultKind::Kill => "kill",
            FaultKind::Flap => "flap",
            FaultKind::RekeyStorm => "rekey_storm",
            FaultKind::Withdraw => "withdraw",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Every name, for error messages.
    pub fn names() -> String {
        FaultKind::ALL
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How a fault breaks the lab; its repair is the inverse.
#[derive(Debug, Clone)]
pub enum Break {
    /// A cut (or random loss) in `node`; repaired by its restore.
    Cut {
        /// The namespace.
        node: String,
        /// What is dropped.
        matching: TrafficMatch,
    },
    /// Both ends of `link` down; repaired by link up.
    LinkDown {
        /// The link.
        link: String,
    },
    /// SIGKILL; repaired by a restart.
    Kill {
        /// The node.
        node: String,
        /// Its process.
        process: String,
    },
    /// `count` cycles of cut `down` / restored `up`; over by itself.
    Flap {
        /// The namespace.
        node: String,
        /// What is dropped.
        matching: TrafficMatch,
        /// Cycles.
        count: u32,
        /// Cut time per cycle.
        down: Duration,
        /// Restored time between cycles.
        up: Duration,
    },
    /// `count` rekeys `gap` apart; over by itself.
    Rekey {
        /// The request.
        request: KindRequest,
        /// How many.
        count: u32,
        /// Between two.
        gap: Duration,
    },
    /// Withdraw; repaired by advertise.
    Withdraw {
        /// Withdraws.
        withdraw: KindRequest,
        /// Announces again.
        advertise: KindRequest,
    },
}

/// One drawn fault.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Its index in the campaign (the replay handle).
    pub index: u64,
    /// Its kind.
    pub kind: FaultKind,
    /// What it hits (`vgw1/vpn1-t1`, `link cgw1-inet`, `cgw1/cgw`).
    pub target: String,
    /// What it does.
    pub what: Break,
    /// How long it stays before its repair.
    pub hold: Duration,
    /// The longest probe outage allowed while it lasts (`None`: it leaves no path).
    pub outage_bound: Option<Duration>,
    /// The longest the lab may take to return to its baseline after the repair.
    pub recovery_bound: Duration,
}

impl Fault {
    /// One line: `#12 tunnel_cut vgw1/vpn1-t1 (udp ports 500,4500 to/from 203.0.113.1) for 4.200s`.
    pub fn describe(&self) -> String {
        let what = match &self.what {
            Break::Cut { node, matching } => format!("cut in {node}: {}", matching.describe()),
            Break::LinkDown { link } => format!("link {link} down"),
            Break::Kill { node, process } => format!("SIGKILL {node}/{process}, restart"),
            Break::Flap {
                node,
                matching,
                count,
                down,
                up,
            } => format!(
                "{count} x (cut {} in {node}: {}, {} restored)",
                crate::duration::human(*down),
                matching.describe(),
                crate::duration::human(*up)
            ),
            Break::Rekey { count, gap, .. } => {
                format!("{count} rekeys {} apart", crate::duration::human(*gap))
            }
            Break::Withdraw { .. } => "withdraw, then advertise".to_string(),
        };
        format!(
            "#{} {} {} ({what}) for {}",
            self.index,
            self.kind.name(),
            self.target,
            crate::duration::human(self.hold)
        )
    }
}

/// What a campaign can draw from.
#[derive(Debug, Clone)]
pub struct Menu {
    tunnels: Vec<TunnelTarget>,
    prefixes: Vec<PrefixTarget>,
    bfd: Vec<BfdTarget>,
    links: Vec<String>,
    daemons: Vec<(String, String)>,
    kinds: Vec<FaultKind>,
    margin: Duration,
    detection: Duration,
    recovery: Duration,
}

impl Menu {
    /// A menu over `targets` (the kinds' answers: tunnels, prefixes, BFD sessions, underlay
    /// links), the `daemons` (node, process) the lab runs, restricted to `allowed` kinds
    /// (empty: all).
    pub fn new(
        targets: Vec<Target>,
        daemons: Vec<(String, String)>,
        allowed: &[FaultKind],
        margin: Duration,
    ) -> Menu {
        let mut m = Menu {
            tunnels: Vec::new(),
            prefixes: Vec::new(),
            bfd: Vec::new(),
            links: Vec::new(),
            daemons,
            kinds: Vec::new(),
            margin,
            detection: Duration::ZERO,
            recovery: Duration::ZERO,
        };
        for t in targets {
            match t {
                Target::Tunnel(t) => m.tunnels.push(t),
                Target::Prefix(p) => m.prefixes.push(p),
                Target::Bfd(b) => m.bfd.push(b),
                Target::Link(l) => m.links.push(l),
            }
        }
        m.detection = m
            .tunnels
            .iter()
            .map(|t| t.detection)
            .chain(m.bfd.iter().map(|b| b.detection))
            .max()
            .unwrap_or(Duration::from_secs(3));
        m.recovery = m
            .tunnels
            .iter()
            .map(|t| t.recovery)
            .chain(m.bfd.iter().map(|b| b.recovery))
            .chain(m.prefixes.iter().map(|p| p.recovery))
            .max()
            .unwrap_or(Duration::from_secs(20));
        let carried = |e: Encapsulation| m.tunnels.iter().any(|t| t.encapsulation == e);
        let has = |k: FaultKind| match k {
            FaultKind::TunnelCut | FaultKind::IkeCut | FaultKind::EspCut => {
                carried(Encapsulation::IpsecUdp)
            }
            FaultKind::GreCut => carried(Encapsulation::Gre),
            FaultKind::Loss | FaultKind::Flap => !m.tunnels.is_empty(),
            FaultKind::BgpCut => m.tunnels.iter().any(|t| t.inside_peer.is_some()),
            FaultKind::RekeyStorm => m.tunnels.iter().any(|t| t.rekey.is_some()),
            FaultKind::BfdCut => !m.bfd.is_empty(),
            FaultKind::LinkDown => !m.links.is_empty(),
            FaultKind::Kill => !m.daemons.is_empty(),
            FaultKind::Withdraw => !m.prefixes.is_empty(),
        };
        m.kinds = FaultKind::ALL
            .into_iter()
            .filter(|k| allowed.is_empty() || allowed.contains(k))
            .filter(|k| has(*k))
            .collect();
        m
    }

    /// The kinds this menu can draw.
    pub fn kinds(&self) -> &[FaultKind] {
        &self.kinds
    }

    /// Every tunnel target (their health checks make the baseline).
    pub fn tunnels(&self) -> &[TunnelTarget] {
        &self.tunnels
    }

    /// Every BFD target.
    pub fn bfd(&self) -> &[BfdTarget] {
        &self.bfd
    }

    /// The largest recovery bound of any fault (the wait for the first baseline uses it too).
    pub fn max_recovery(&self) -> Duration {
        self.recovery + self.margin
    }

    /// Fault `index` of the campaign of `seed`; `None` when the menu is empty.
    pub fn draw(&self, seed: u64, index: u64) -> Option<Fault> {
        let mut rng = Rng::for_fault(seed, index);
        let kind = *rng.pick(&self.kinds)?;
        let margin = self.margin;
        let fault = |target: String, what: Break, hold, outage_bound, recovery_bound| Fault {
            index,
            kind,
            target,
            what,
            hold,
            outage_bound,
            recovery_bound,
        };
        // A tunnel's underlay packets: IKE and ESP-in-UDP on `ports`, or all of its GRE.
        let tunnel_match = |t: &TunnelTarget, ports: Vec<u16>| match t.encapsulation {
            Encapsulation::IpsecUdp => TrafficMatch {
                proto: Some("udp".into()),
                ports,
                peer: Some(t.outside_peer),
                loss_percent: None,
            },
            Encapsulation::Gre => TrafficMatch {
                proto: Some("gre".into()),
                ports: Vec::new(),
                peer: Some(t.outside_peer),
                loss_percent: None,
            },
        };
        let carried_by = |e: Encapsulation| -> Vec<&TunnelTarget> {
            self.tunnels
                .iter()
                .filter(|t| t.encapsulation == e)
                .collect()
        };
        let path_bound =
            |redundant: bool, detection: Duration| redundant.then_some(detection + margin);
        Some(match kind {
            FaultKind::TunnelCut | FaultKind::IkeCut | FaultKind::EspCut | FaultKind::GreCut => {
                let encapsulation = if kind == FaultKind::GreCut {
                    Encapsulation::Gre
                } else {
                    Encapsulation::IpsecUdp
                };
                let t = *rng.pick(&carried_by(encapsulation))?;
                let ports = match kind {
                    FaultKind::IkeCut => vec![500],
                    FaultKind::EspCut => vec![4500],
                    _ => vec![500, 4500],
                };
                // From half the detection time (often undetected) to twice it plus a second.
                let hold = rng.duration(t.detection / 2, t.detection * 2 + Duration::from_secs(1));
                fault(
                    t.name.clone(),
                    Break::Cut {
                        node: t.cut_node.clone(),
                        matching: tunnel_match(t, ports),
                    },
                    hold,
                    path_bound(t.redundant, t.detection),
                    t.recovery + margin,
                )
            }
            FaultKind::BgpCut => {
                let with_bgp: Vec<&TunnelTarget> = self
                    .tunnels
                    .iter()
                    .filter(|t| t.inside_peer.is_some())
                    .collect();
                let t = *rng.pick(&with_bgp)?;
                let hold = rng.duration(t.detection / 2, t.detection * 2 + Duration::from_secs(1));
                fault(
                    t.name.clone(),
                    Break::Cut {
                        node: t.cut_node.clone(),
                        matching: TrafficMatch {
                            proto: Some("tcp".into()),
                            ports: vec![179],
                            peer: t.inside_peer,
                            loss_percent: None,
                        },
                    },
                    hold,
                    path_bound(t.redundant, t.detection),
                    t.recovery + margin,
                )
            }
            FaultKind::BfdCut => {
                let b = rng.pick(&self.bfd)?;
                let hold = rng.duration(b.detection, b.detection * 4 + Duration::from_secs(1));
                fault(
                    b.name.clone(),
                    Break::Cut {
                        node: b.cut_node.clone(),
                        matching: TrafficMatch {
                            proto: Some("udp".into()),
                            ports: vec![3784],
                            peer: Some(b.peer),
                            loss_percent: None,
                        },
                    },
                    hold,
                    path_bound(b.redundant, b.detection),
                    b.recovery + margin,
                )
            }
            FaultKind::Loss => {
                let t = rng.pick(&self.tunnels)?;
                let percent = *rng.pick(&[5u8, 10, 20, 30, 50])?;
                let hold = rng.duration(t.detection, t.detection * 3);
                let mut matching = tunnel_match(t, vec![500, 4500]);
                matching.loss_percent = Some(percent);
                fault(
                    t.name.clone(),
                    Break::Cut {
                        node: t.cut_node.clone(),
                        matching,
                    },
                    hold,
                    path_bound(t.redundant, t.detection),
                    t.recovery + margin,
                )
            }
            FaultKind::Flap => {
                let t = rng.pick(&self.tunnels)?;
                let count = rng.between(2, 5) as u32;
                let down = rng.duration(Duration::from_millis(100), t.detection / 2);
                let up = rng.duration(Duration::from_millis(100), t.detection / 2);
                fault(
                    t.name.clone(),
                    Break::Flap {
                        node: t.cut_node.clone(),
                        matching: tunnel_match(t, vec![500, 4500]),
                        count,
                        down,
                        up,
                    },
                    (down + up) * count,
                    path_bound(t.redundant, t.detection),
                    t.recovery + margin,
                )
            }
            FaultKind::RekeyStorm => {
                let with: Vec<&TunnelTarget> =
                    self.tunnels.iter().filter(|t| t.rekey.is_some()).collect();
                let t = *rng.pick(&with)?;
                let count = rng.between(3, 6) as u32;
                let gap = rng.duration(Duration::from_millis(100), Duration::from_millis(500));
                fault(
                    t.name.clone(),
                    Break::Rekey {
                        request: t.rekey.clone()?,
                        count,
                        gap,
                    },
                    gap * count,
                    Some(margin),
                    t.recovery + margin,
                )
            }
            FaultKind::LinkDown => {
                let link = rng.pick(&self.links)?;
                let hold = rng.duration(Duration::from_millis(500), self.detection * 2);
                fault(
                    format!("link {link}"),
                    Break::LinkDown { link: link.clone() },
                    hold,
                    None,
                    self.recovery + margin,
                )
            }
            FaultKind::Kill => {
                let (node, process) = rng.pick(&self.daemons)?;
                let hold = rng.duration(Duration::from_millis(100), self.detection);
                fault(
                    format!("{node}/{process}"),
                    Break::Kill {
                        node: node.clone(),
                        process: process.clone(),
                    },
                    hold,
                    None,
                    self.recovery + margin,
                )
            }
            FaultKind::Withdraw => {
                let p = rng.pick(&self.prefixes)?;
                let hold = rng.duration(Duration::from_millis(500), self.detection * 2);
                fault(
                    p.name.clone(),
                    Break::Withdraw {
                        withdraw: p.withdraw.clone(),
                        advertise: p.advertise.clone(),
                    },
                    hold,
                    None,
                    p.recovery + margin,
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::expect::KindCheck;
    use std::sync::Arc;

    fn tunnel(name: &str) -> Target {
        carried(name, Encapsulation::IpsecUdp)
    }

    fn carried(name: &str, encapsulation: Encapsulation) -> Target {
        Target::Tunnel(TunnelTarget {
            name: name.into(),
            cut_node: "cgw1".into(),
            outside_peer: "203.0.113.1".parse().unwrap(),
            encapsulation,
            inside_peer: Some("169.254.10.1".parse().unwrap()),
            health: KindCheck {
                kind: "test",
                node: "vgw1".into(),
                show: control::ShowParams {
                    what: "tunnels".into(),
                    args: Default::default(),
                },
                describe: "up".into(),
                verdict: Arc::new(|_| Ok(String::new())),
            },
            rekey: None,
            detection: Duration::from_secs(3),
            recovery: Duration::from_secs(20),
            redundant: true,
        })
    }

    fn menu(allowed: &[FaultKind]) -> Menu {
        Menu::new(
            vec![
                tunnel("vgw1/vpn1-t1"),
                tunnel("vgw1/vpn1-t2"),
                Target::Link("cgw1-inet".into()),
            ],
            vec![("cgw1".into(), "cgw".into())],
            allowed,
            Duration::from_millis(1500),
        )
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let m = menu(&[]);
        let a: Vec<String> = (0..50).map(|i| m.draw(9, i).unwrap().describe()).collect();
        let b: Vec<String> = (0..50).map(|i| m.draw(9, i).unwrap().describe()).collect();
        assert_eq!(a, b);
        let c: Vec<String> = (0..50).map(|i| m.draw(10, i).unwrap().describe()).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn only_kinds_with_targets_and_allowed_are_drawn() {
        let m = menu(&[]);
        // No prefixes, no BFD, no rekey request: those kinds are off the menu.
        assert!(!m.kinds().contains(&FaultKind::Withdraw));
        assert!(!m.kinds().contains(&FaultKind::BfdCut));
        assert!(!m.kinds().contains(&FaultKind::RekeyStorm));
        assert!(m.kinds().contains(&FaultKind::BgpCut));
        let only = menu(&[FaultKind::IkeCut, FaultKind::Kill]);
        for i in 0..100 {
            let f = only.draw(1, i).unwrap();
            assert!(
                matches!(f.kind, FaultKind::IkeCut | FaultKind::Kill),
                "{f:?}"
            );
        }
        assert!(menu(&[FaultKind::Withdraw]).draw(1, 0).is_none());
    }

    #[test]
    fn bounds_follow_the_targets_timers() {
        let m = menu(&[FaultKind::TunnelCut]);
        let f = m.draw(3, 0).unwrap();
        assert_eq!(f.outage_bound, Some(Duration::from_millis(4500)));
        assert_eq!(f.recovery_bound, Duration::from_millis(21_500));
        assert!(f.hold >= Duration::from_millis(1500) && f.hold <= Duration::from_secs(7));
        let k = menu(&[FaultKind::Kill]).draw(3, 0).unwrap();
        assert_eq!(k.outage_bound, None);
    }

    #[test]
    fn gre_tunnels_get_gre_cuts_and_never_ike_or_esp_ones() {
        let m = Menu::new(
            vec![
                tunnel("vgw1/vpn1-t1"),
                carried("tgw1/connect1/p1", Encapsulation::Gre),
                carried("tgw1/connect1/p2", Encapsulation::Gre),
            ],
            Vec::new(),
            &[],
            Duration::from_millis(1500),
        );
        assert!(m.kinds().contains(&FaultKind::GreCut));
        let mut gre_cuts = 0;
        for i in 0..300 {
            let f = m.draw(5, i).unwrap();
            let on_gre = f.target.starts_with("tgw1/");
            match (&f.kind, &f.what) {
                (FaultKind::GreCut, Break::Cut { matching, .. }) => {
                    gre_cuts += 1;
                    assert!(on_gre, "{}", f.describe());
                    assert_eq!(matching.proto.as_deref(), Some("gre"));
                    assert!(matching.ports.is_empty());
                }
                (FaultKind::TunnelCut | FaultKind::IkeCut | FaultKind::EspCut, _) => {
                    assert!(!on_gre, "{}", f.describe());
                }
                (FaultKind::Loss, Break::Cut { matching, .. })
                | (FaultKind::Flap, Break::Flap { matching, .. }) => {
                    let want = if on_gre { "gre" } else { "udp" };
                    assert_eq!(matching.proto.as_deref(), Some(want), "{}", f.describe());
                }
                _ => {}
            }
        }
        assert!(gre_cuts > 0);
        // A VPN-only lab has no GRE cut on its menu (its seeds draw what they drew before).
        assert!(!menu(&[]).kinds().contains(&FaultKind::GreCut));
    }

    #[test]
    fn every_kind_name_parses_back() {
        for k in FaultKind::ALL {
            assert_eq!(FaultKind::parse(k.name()), Some(k));
        }
        assert_eq!(FaultKind::parse("nope"), None);
    }
}
