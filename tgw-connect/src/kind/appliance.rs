//! `[[appliance]]`: an SD-WAN appliance at the far end of a transit gateway's Connect peers
//! (see [`super`] for the TOML). It asks the `[[tgw]]` nodes for the peers that end on it
//! ([`ConnectPeersFor`]) and runs `hybridlab daemon appliance` ([`crate::appliance`]): a GRE
//! device and two BGP sessions per peer. With `external_bgp = true` the daemon runs the GRE
//! devices only (interfaces `gre-<peer>` with the `.1` address), for a BGP daemon of your own
//! (FRR configured from `hybridlab cgw-config --format frr LAB|SCENARIO <connect attachment>`).
//!
//! What it does not do: AWS's rules (the TGW node checks them).

use std::collections::BTreeMap;
use std::path::Path;

use engine::diagnostic::Diagnostic;
use engine::kind::common::validate_routes;
use engine::kind::{NodeEnv, NodeKind, NodeSetup, NodeSpec, ProcessSpec, StaticRoute};
use engine::model::Topology;
use engine::model::timing::Profile;
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;
use ipnet::IpNet;
use serde::Deserialize;

use engine::kind::query::Question;

use super::query::{ApplianceConfigOf, ConnectPeersFor};
use crate::config::{ApplianceConfig, AppliancePeer};

/// The `appliance` kind.
#[derive(Debug)]
pub struct ApplianceKind;

fn d_multihop() -> u8 {
    2
}

/// One appliance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplianceDecl {
    /// Node name.
    pub name: String,
    /// Site.
    #[serde(default)]
    pub site: Option<String>,
    /// Prefixes announced to the TGW (IPv6 ones on the peers with an IPv6 inside CIDR).
    #[serde(default)]
    pub advertise: Vec<IpNet>,
    /// Static routes (at least one towards the TGW CIDR block through the VPC router).
    #[serde(default)]
    pub routes: Vec<StaticRoute>,
    /// TTL of eBGP packets (AWS requires 2; 1 shows the session never comes up).
    #[serde(default = "d_multihop")]
    pub ebgp_multihop: u8,
    /// Per-peer settings, by Connect peer name.
    #[serde(default)]
    pub peers: BTreeMap<String, PeerPolicy>,
    /// Run only the GRE devices: BGP is yours (FRR).
    #[serde(default)]
    pub external_bgp: bool,
    #[serde(skip)]
    path: FieldPath,
}

/// What the appliance configures on one peer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerPolicy {
    /// TTL of eBGP packets on this peer.
    #[serde(default)]
    pub ebgp_multihop: Option<u8>,
}

impl NodeKind for ApplianceKind {
    fn name(&self) -> &'static str {
        "appliance"
    }

    fn summary(&self) -> &'static str {
        "an SD-WAN appliance terminating Transit Gateway Connect peers: GRE + two BGP sessions per peer"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut n: ApplianceDecl = cx.de(table, path)?;
        n.path = path.clone();
        Ok(Box::new(n))
    }

    fn run_daemon(&self, config: &Path) -> Result<i32, String> {
        gateway::daemon::run_from_start_file::<crate::appliance::Appliance>(config)
    }
}

impl ApplianceDecl {
    /// The TTL of this appliance's eBGP packets on Connect peer `peer`.
    pub fn ttl_of(&self, peer: &str) -> u8 {
        self.peers
            .get(peer)
            .and_then(|p| p.ebgp_multihop)
            .unwrap_or(self.ebgp_multihop)
    }

    /// The daemon's file.
    pub fn config(&self, topo: &Topology, profile: Profile) -> ApplianceConfig {
        let mut peers = Vec::new();
        for (_, views) in topo.ask(&ConnectPeersFor {
            appliance: self.name.clone(),
        }) {
            for v in views {
                let ttl = self.ttl_of(&v.name);
                peers.push(AppliancePeer {
                    attachment: v.attachment,
                    name: v.name,
                    local: v.peer_address,
                    remote: v.tgw_address,
                    inside_cidr: v.inside_cidr,
                    inside_cidr_v6: v.inside_cidr_v6,
                    tgw_asn: v.tgw_asn,
                    asn: v.peer_asn,
                    ebgp_multihop: ttl,
                });
            }
        }
        ApplianceConfig {
            name: self.name.clone(),
            profile,
            advertise: self.advertise.clone(),
            peers,
            bgp: !self.external_bgp,
        }
    }
}

impl NodeSpec for ApplianceDecl {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "appliance"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        let mut out = validate_routes(&self.name, &self.routes, &self.path.key("routes"), topo, cx);
        let c = self.config(topo, Profile::Fast);
        if c.peers.is_empty() {
            out.push(cx.error(
                &self.path.key("name"),
                format!(
                    "no [[tgw]] Connect attachment names appliance {:?}",
                    self.name
                ),
            ));
        }
        for name in self.peers.keys() {
            if !c.peers.iter().any(|p| &p.name == name) {
                out.push(cx.error(
                    &self.path.key("peers").key(name),
                    format!("no Connect peer {name:?} ends on {}", self.name),
                ));
            }
        }
        if !(1..=255).contains(&self.ebgp_multihop) {
            out.push(cx.error(&self.path.key("ebgp_multihop"), "a TTL is 1 to 255"));
        }
        out
    }

    fn setup(&self, _topo: &Topology) -> NodeSetup {
        NodeSetup {
            forwarding: true,
            routes: self.routes.clone(),
            depends_on: Vec::new(),
        }
    }

    /// `advertise` / `withdraw` (parsed by the `cgw` kind) originate or withdraw prefixes on
    /// every Connect session at run time; with `external_bgp` the BGP daemon is yours.
    fn serves_action(&self, action: &str) -> bool {
        matches!(action, "advertise" | "withdraw") && !self.external_bgp
    }

    fn answer(&self, topo: &Topology, question: &mut Question<'_>) {
        question.answer::<ApplianceConfigOf>(|q| Some(self.config(topo, q.profile)));
        question.answer::<engine::chaos::targets::ChaosTargets>(|q| {
            let parts = super::chaos::ApplianceParts {
                name: &self.name,
                advertise: &self.advertise,
                external_bgp: self.external_bgp,
                ttl_of: &|peer| self.ttl_of(peer),
            };
            Some(super::chaos::appliance_targets(&parts, topo, q.profile))
        });
    }

    fn processes(&self, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        let c = self.config(env.topology, env.timing.profile);
        vgw::kind::daemon_process("appliance", &c.to_toml(), env)
    }
}
