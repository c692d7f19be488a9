//! `[[dxgw]]`: a Direct Connect location router (the AWS side of dedicated connections) and
//! the DX gateways its VIFs attach to. It brings its links: one cross-connect per connection
//! to the customer's `[[dx-router]]` (a veth without addresses: the VIFs ride it as 802.1Q
//! VLANs), and one backbone /30 per VGW association.
//!
//! The daemon is `hybridlab daemon dxgw --config daemon.json` ([`crate::daemon::Dx`]); it
//! answers `vgw::kind::query::DirectConnectPeersOf` (the VGW's `direct_connect` sessions),
//! `vgw::kind::query::AllowedPrefixesOf` (an association's allowed prefixes, for the TGW's
//! Connect-over-DX check) and [`super::query::VifsFor`] (the customer's view).
//!
//! What it does not do: decide routes (the daemon does) or hold keys in anything that prints
//! them.

use std::path::Path;

use engine::diagnostic::Diagnostic;
use engine::kind::query::Question;
use engine::kind::{KindRequest, NodeEnv, NodeKind, NodeSetup, NodeSpec, ProcessSpec};
use engine::model::timing::Profile;
use engine::model::{Endpoint, Link, Topology};
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;
use ipnet::{IpNet, Ipv4Net};
use vgw::config::DxPeer;
use vgw::kind::query::{AllowedPrefixes, AllowedPrefixesOf, DirectConnectPeersOf, VgwFacts};

use super::node::DxLocation;
use super::plan::{self, backbone, xc_ifname};
use super::query::VifsFor;

/// The `dxgw` kind.
#[derive(Debug)]
pub struct DxgwKind;

impl NodeKind for DxgwKind {
    fn name(&self) -> &'static str {
        "dxgw"
    }

    fn summary(&self) -> &'static str {
        "an AWS Direct Connect location: dedicated connections, VIFs (802.1Q, BGP + MD5 + BFD), DX gateways associated with VGWs"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut n: DxLocation = cx.de(table, path)?;
        n.path = path.clone();
        Ok(Box::new(n))
    }

    fn actions(&self) -> &'static [&'static str] {
        super::actions::ACTIONS
    }

    fn parse_action(
        &self,
        action: &str,
        rest: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<KindRequest, Diagnostic> {
        super::actions::parse_action(action, rest, path, cx)
    }

    fn run_daemon(&self, config: &Path) -> Result<i32, String> {
        gateway::daemon::run_from_start_file::<crate::daemon::Dx>(config)
    }
}

fn end(node: &str, ifname: Option<String>, addresses: Vec<IpNet>) -> Endpoint {
    Endpoint {
        node: node.to_string(),
        ifname,
        address: None,
        addresses,
    }
}

fn host(net: Ipv4Net, n: u32) -> IpNet {
    let a = std::net::Ipv4Addr::from(u32::from(net.network()) + n);
    IpNet::V4(Ipv4Net::new(a, net.prefix_len()).expect("a prefix length"))
}

impl NodeSpec for DxLocation {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "dxgw"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        match plan::dx_config(self, topo, Profile::Fast) {
            Ok(_) => Vec::new(),
            Err(e) => vec![cx.error(&e.path, e.message)],
        }
    }

    fn setup(&self, _topo: &Topology) -> NodeSetup {
        NodeSetup {
            forwarding: true,
            routes: Vec::new(),
            depends_on: Vec::new(),
        }
    }

    fn links(&self) -> Vec<Link> {
        let mut out = Vec::new();
        for (i, c) in self.connections.iter().enumerate() {
            let ifname = xc_ifname(&c.name);
            out.push(Link {
                name: c.name.clone(),
                endpoints: [
                    end(&self.name, Some(ifname.clone()), Vec::new()),
                    end(&c.router, Some(ifname), Vec::new()),
                ],
                mtu: c.vifs.iter().map(|v| v.mtu).max(),
                capture: false,
                path: self.path.key("connection").index(i),
            });
        }
        for (gateway, vgw, link, _) in backbone(self) {
            let gi = self
                .gateways
                .iter()
                .position(|g| g.name == gateway)
                .unwrap_or(0);
            out.push(Link {
                name: String::new(),
                endpoints: [
                    end(&self.name, None, vec![host(link, 1)]),
                    end(&vgw, None, vec![host(link, 2)]),
                ],
                mtu: None,
                capture: false,
                path: self.path.key("gateway").index(gi).key("association"),
            });
        }
        out
    }

    fn answer(&self, topo: &Topology, question: &mut Question<'_>) {
        question.answer::<engine::chaos::targets::ChaosTargets>(|q| {
            Some(super::chaos::targets(self, topo, q.profile))
        });
        question.answer::<DirectConnectPeersOf>(|q| {
            let peers: Vec<DxPeer> = backbone(self)
                .into_iter()
                .filter(|(_, vgw, _, _)| *vgw == q.vgw)
                .map(|(gateway, _, link, _)| DxPeer {
                    name: gateway,
                    address: std::net::Ipv4Addr::from(u32::from(link.network()) + 1),
                    local_address: std::net::Ipv4Addr::from(u32::from(link.network()) + 2),
                })
                .collect();
            (!peers.is_empty()).then_some(peers)
        });
        question.answer::<AllowedPrefixesOf>(|q| {
            let out: Vec<AllowedPrefixes> = backbone(self)
                .into_iter()
                .filter(|(_, target, _, _)| *target == q.target)
                .map(|(gateway, target, _, allowed)| AllowedPrefixes {
                    gateway,
                    // Not given: the gateway's VPC CIDRs, as `plan::dx_config` defaults them.
                    prefixes: allowed.unwrap_or_else(|| {
                        topo.ask_node(&target, &VgwFacts)
                            .map(|f| f.vpc_cidrs)
                            .unwrap_or_default()
                    }),
                })
                .collect();
            (!out.is_empty()).then_some(out)
        });
        question.answer::<VifsFor>(|q| {
            if !self.connections.iter().any(|c| c.router == q.router) {
                return None;
            }
            Some(plan::customer_view(self, topo, &q.router, Profile::Fast))
        });
    }

    fn processes(&self, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        match plan::dx_config(self, env.topology, env.timing.profile) {
            Ok(c) => vgw::kind::daemon_process("dxgw", c.to_toml_with_keys().expose(), env),
            Err(e) => {
                tracing::error!(node = %self.name, "{}: {}", e.path, e.message);
                Vec::new()
            }
        }
    }
}
