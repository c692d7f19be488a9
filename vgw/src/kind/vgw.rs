//! `[[vgw]]`: an emulated virtual private gateway attached to one `[[vpc]]`, with its VPN
//! connections (`[[vgw.connection]]`, AWS's CreateVpnConnection: a customer gateway, dynamic
//! or static routing, two tunnels). It brings two links of its own: one to its VPC router
//! (`vpc_link`, the VGW takes the first address) and its outside interface on the `internet`
//! router, with one address per tunnel. The internet router is the tunnels' underlay gateway
//! only: the VGW's forwarding table has no default route (it forwards what it knows).
//!
//! ```toml
//! [[vgw]]
//! name = "vgw1"
//! vpc = "vpc1"
//! amazon_side_asn = 64512                   # default
//! seed = 1            # optional: replayable keys; inside /30s and preferred tunnel (default 1)
//! internet = { node = "inet", cidr = "203.0.113.0/24" }   # inet takes .254 (or peer_address)
//! vpc_link = "100.64.0.0/30"                # default
//!
//! [[vgw.connection]]
//! name = "vpn1"
//! cgw = "cgw1"
//! routing = "static"
//! static_routes = ["10.1.0.0/16"]
//! tunnel = [{ inside_cidr = "169.254.10.0/30", pre_shared_key = "..." }, {}]
//! ```
//!
//! The daemon is `hybridlab daemon vgw --config daemon.json` ([`crate::daemon::Vgw`]); the
//! kind's checks and actions are in [`super::checks`]; it answers [`super::query`]'s
//! `AttachedVgw`, `CustomerViewOf` and `VpnConnectionList`.
//!
//! What it does not do: decide routes (the daemon does, `routing::vgw`), or hold keys in
//! anything that prints them (`Psk` prints `***`).

use std::path::{Path, PathBuf};

use ipnet::{IpNet, Ipv4Net};

use super::addressing::host;
use super::node::Vgw;
use super::plan;
use super::query::{
    AttachedVgw, ConnectionRef, CustomerViewOf, VgwFact, VgwFacts, VpnConnectionList,
};
use super::{checks, daemon_process};
use engine::diagnostic::Diagnostic;
use engine::kind::query::Question;
use engine::kind::{KindCheck, KindRequest, NodeEnv, NodeKind, NodeSetup, NodeSpec, ProcessSpec};
use engine::model::timing::Profile;
use engine::model::{Endpoint, Link, Topology};
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;

/// The `vgw` kind.
#[derive(Debug)]
pub struct VgwKind;

impl NodeKind for VgwKind {
    fn name(&self) -> &'static str {
        "vgw"
    }

    fn summary(&self) -> &'static str {
        "an AWS virtual private gateway: VPN connections of two IPsec tunnels with BGP, AWS route priority, VPC route table"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut v: Vgw = cx.de(table, path)?;
        v.path = path.clone();
        Ok(Box::new(v))
    }

    fn actions(&self) -> &'static [&'static str] {
        checks::VGW_ACTIONS
    }

    fn parse_action(
        &self,
        action: &str,
        rest: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<KindRequest, Diagnostic> {
        checks::parse_action("vgw", action, rest, path, cx)
    }

    fn checks(&self) -> &'static [&'static str] {
        checks::CHECKS
    }

    fn parse_check(
        &self,
        check: &str,
        rest: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<KindCheck, Diagnostic> {
        checks::parse_check(check, rest, path, cx)
    }

    fn run_daemon(&self, config: &Path) -> Result<i32, String> {
        gateway::daemon::run_from_start_file::<crate::daemon::Vgw>(config)
    }
}

fn endpoint(node: &str, addresses: Vec<IpNet>) -> Endpoint {
    Endpoint {
        node: node.to_string(),
        ifname: None,
        address: None,
        addresses,
    }
}

impl NodeSpec for Vgw {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "vgw"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if self.vpc_link.prefix_len() != 30 {
            out.push(cx.error(&self.path.key("vpc_link"), "vpc_link is a /30"));
        }
        let mut names = std::collections::HashSet::new();
        for (i, c) in self.connections.iter().enumerate() {
            if !names.insert(c.name.as_str()) {
                out.push(cx.error(
                    &self.path.key("connection").index(i).key("name"),
                    format!("connection {:?} is declared twice on {}", c.name, self.name),
                ));
            }
        }
        if let Err(e) = plan::vgw_config(
            self,
            topo,
            Profile::Fast,
            PathBuf::from("/run/netns/check"),
            &plan::KeySource::NoLab,
        ) {
            out.push(cx.error(&e.path, e.message));
        }
        out
    }

    fn setup(&self, _topo: &Topology) -> NodeSetup {
        // No route to the internet in the forwarding table: the VGW forwards only the prefixes
        // it knows [V8]. Its tunnels reach the internet router through the underlay table the
        // daemon installs (`underlay_gateway`, `gateway::underlay`).
        NodeSetup {
            forwarding: true,
            routes: Vec::new(),
            depends_on: Vec::new(),
        }
    }

    fn links(&self) -> Vec<Link> {
        let len = self.internet.cidr.prefix_len();
        let outside = self
            .outside_addresses()
            .into_iter()
            .map(|a| IpNet::V4(Ipv4Net::new(a, len).expect("a prefix length of the cidr")))
            .collect();
        let peer = Ipv4Net::new(self.internet.peer(), len).expect("a prefix length");
        let vpc_end = |n: u32| IpNet::V4(Ipv4Net::new(host(self.vpc_link, n), 30).expect("a /30"));
        vec![
            Link {
                name: String::new(),
                endpoints: [
                    endpoint(&self.name, vec![vpc_end(1)]),
                    endpoint(&self.vpc, vec![vpc_end(2)]),
                ],
                mtu: None,
                capture: false,
                path: self.path.key("vpc"),
            },
            Link {
                name: String::new(),
                endpoints: [
                    endpoint(&self.name, outside),
                    endpoint(&self.internet.node, vec![IpNet::V4(peer)]),
                ],
                mtu: None,
                capture: false,
                path: self.path.key("internet"),
            },
        ]
    }

    fn answer(&self, topo: &Topology, question: &mut Question<'_>) {
        question.answer::<AttachedVgw>(|q| (q.vpc == self.vpc).then_some(()));
        question.answer::<engine::chaos::targets::ChaosTargets>(|q| {
            let mut t = super::chaos::targets(self, topo, q.profile);
            t.push(engine::chaos::targets::Target::Link(format!(
                "{}-{}",
                self.name, self.internet.node
            )));
            Some(t)
        });
        question.answer::<CustomerViewOf>(|q| {
            match plan::customer_views(self, topo, &q.cgw, q.profile, &q.keys) {
                Ok(views) if views.is_empty() => None,
                other => Some(other),
            }
        });
        question.answer::<VgwFacts>(|_| {
            Some(VgwFact {
                asn: self.amazon_side_asn,
                vpc_cidrs: topo
                    .ask_node(&self.vpc, &super::query::VpcOf)
                    .map(|v| v.cidrs)
                    .unwrap_or_default(),
                transit_gateway: false,
            })
        });
        question.answer::<VpnConnectionList>(|_| {
            Some(
                self.connections
                    .iter()
                    .map(|c| ConnectionRef {
                        name: c.name.clone(),
                        cgw: c.cgw.clone(),
                        random_keys: self.has_random_keys(c),
                    })
                    .collect(),
            )
        });
    }

    fn processes(&self, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        let netns = env
            .namespaces
            .get(&self.vpc)
            .cloned()
            .unwrap_or_else(|| PathBuf::from("/run/netns/none"));
        let keys = plan::KeySource::Lab(env.lab_secret.clone());
        let config = match plan::vgw_config(self, env.topology, env.timing.profile, netns, &keys) {
            Ok(c) => c,
            Err(e) => {
                // Validation ran the same plan before anything was created.
                tracing::error!(node = %self.name, "{}: {}", e.path, e.message);
                return Vec::new();
            }
        };
        daemon_process("vgw", &config.to_toml_with_keys(), env)
    }
}
