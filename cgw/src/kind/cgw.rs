//! `[[cgw]]`: an emulated customer gateway (AWS's CreateCustomerGateway: an ASN and an outside
//! address) running this package's `cgw` daemon with every VPN connection a VGW declares for
//! it (asked with `vgw::kind::query::CustomerViewOf`). It brings its outside link to the `internet` router; its LAN links are
//! ordinary `[[link]]`s to the hosts or routers behind it.
//!
//! ```toml
//! [[cgw]]
//! name = "cgw1"
//! site = "onprem"
//! asn = 65001
//! internet = { node = "inet", address = "198.51.100.1/24" }   # inet takes .254
//! advertise = ["10.1.0.0/16"]
//! advertise_range = { first = "172.16.0.0/24", count = 99 }  # 99 more /24s from there
//! mode = "active-standby"                                   # default active-active
//! tunnels = { "vpn1-t2" = { as_path_prepend = 2, med = 200 } }
//! routes = [{ to = "10.1.0.0/16", via = "10.1.255.2" }]   # towards its LAN router
//! external = false               # true: no daemon; run your own strongSwan + FRR in its namespace
//!                                # { container = "my-cgw" }: the node is that container's namespace
//! ```
//!
//! It answers `vgw::kind::query::CustomerGatewayOf` (its outside address and ASN) for the
//! VGWs that plan connections to it.
//!
//! What it does not do: decide what AWS decides (the connection's addresses and keys come from
//! the VGW's plan; [`super::plan`] only adds this gateway's own policy).

use std::path::Path;
use std::time::Duration;

use engine::diagnostic::Diagnostic;
use engine::kind::common::validate_routes;
use engine::kind::query::Question;
use engine::kind::{
    KindCheck, KindRequest, NodeEnv, NodeKind, NodeSetup, NodeSpec, ProcessSpec, StaticRoute,
};
use engine::model::timing::Profile;
use engine::model::{Endpoint, Link, Topology};
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;
use ipnet::{IpNet, Ipv4Net};
use vgw::kind::checks;
use vgw::kind::daemon_process;
use vgw::kind::plan::KeySource;
use vgw::kind::query::{CustomerGateway, CustomerGatewayOf};

use super::node::Cgw;
use super::plan;

/// The `cgw` kind.
#[derive(Debug)]
pub struct CgwKind;

impl NodeKind for CgwKind {
    fn name(&self) -> &'static str {
        "cgw"
    }

    fn summary(&self) -> &'static str {
        "a customer gateway: IKE initiator, BGP with its ASN, routes from AWS into its namespace"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut c: Cgw = cx.de(table, path)?;
        c.path = path.clone();
        Ok(Box::new(c))
    }

    fn actions(&self) -> &'static [&'static str] {
        checks::CGW_ACTIONS
    }

    fn parse_action(
        &self,
        action: &str,
        rest: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<KindRequest, Diagnostic> {
        checks::parse_action("cgw", action, rest, path, cx)
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
        gateway::daemon::run_from_start_file::<crate::daemon::Cgw>(config)
    }
}

/// The nodes (VGWs) with a VPN connection to `cgw`, and its view of those connections.
fn connections(cgw: &Cgw, topo: &Topology) -> plan::Connections {
    plan::connections_of(cgw, topo, Profile::Fast, &KeySource::NoLab)
}

impl NodeSpec for Cgw {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "cgw"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        let mut out = self.external.validate(&self.path.key("external"), cx);
        if self.internet.address.addr() == self.internet.address.network()
            || self.internet.address.addr() == self.internet.peer()
        {
            out.push(cx.error(
                &self.path.key("internet").key("address"),
                format!(
                    "{} is not a usable host address next to the router's {}",
                    self.internet.address,
                    self.internet.peer()
                ),
            ));
        }
        let names: Vec<String> = connections(self, topo)
            .views
            .iter()
            .flat_map(|c| (0..c.tunnels.len()).map(|t| vgw::daemon::tunnel_name(&c.name, t)))
            .collect();
        for key in self.tunnels.keys() {
            if !names.contains(key) {
                out.push(cx.error(
                    &self.path.key("tunnels").key(key),
                    format!(
                        "{} has no tunnel {key:?} (its tunnels: {})",
                        self.name,
                        names.join(", ")
                    ),
                ));
            }
        }
        out.extend(validate_routes(
            &self.name,
            &self.routes,
            &self.path.key("routes"),
            topo,
            cx,
        ));
        // A problem of the gateway's own plan (a VGW's, a TGW's VPN attachments) is reported
        // by that gateway's node, at its item; only ours are reported here (else each came
        // twice, a TGW's once at the top of the file).
        if let Err(e) = plan::cgw_config(self, topo, Profile::Fast, &KeySource::NoLab)
            && e.path.0.starts_with(&self.path.0)
        {
            out.push(cx.error(&e.path, e.message));
        }
        out
    }

    fn setup(&self, topo: &Topology) -> NodeSetup {
        NodeSetup {
            forwarding: true,
            routes: std::iter::once(StaticRoute {
                to: "0.0.0.0/0".parse().expect("a prefix"),
                via: Some(self.internet.peer().into()),
                dev: None,
                metric: None,
            })
            .chain(self.routes.iter().cloned())
            .collect(),
            // The VGW answers first (startup action `add`), so the customer gateway's first
            // IKE_SA_INIT is not lost to a responder that is not there yet.
            depends_on: connections(self, topo).gateways,
        }
    }

    fn links(&self) -> Vec<Link> {
        let len = self.internet.address.prefix_len();
        let peer = Ipv4Net::new(self.internet.peer(), len).expect("a prefix length");
        vec![Link {
            name: String::new(),
            endpoints: [
                Endpoint {
                    node: self.name.clone(),
                    ifname: None,
                    address: Some(IpNet::V4(self.internet.address)),
                    addresses: Vec::new(),
                },
                Endpoint {
                    node: self.internet.node.clone(),
                    ifname: None,
                    address: Some(IpNet::V4(peer)),
                    addresses: Vec::new(),
                },
            ],
            mtu: None,
            capture: false,
            path: self.path.key("internet"),
        }]
    }

    fn serves_action(&self, action: &str) -> bool {
        // The VPN kinds' `rekey` (parsed by the vgw kind) works on either end of a tunnel;
        // an external customer gateway runs no daemon to take it.
        action == "rekey" && !self.external.is_external()
    }

    fn external_container(&self) -> Option<&str> {
        self.external.container()
    }

    fn answer(&self, topo: &Topology, question: &mut Question<'_>) {
        // Chaos: every prefix this gateway announces can be withdrawn and announced again
        // (our own daemon only: an external customer gateway takes no actions).
        question.answer::<engine::chaos::targets::ChaosTargets>(|q| {
            (!self.external.is_external()).then(|| {
                let (_, recovery) = vgw::kind::chaos::bounds(q.profile, Duration::from_secs(40));
                let uplink = engine::chaos::targets::Target::Link(format!(
                    "{}-{}",
                    self.name, self.internet.node
                ));
                self.advertised()
                    .into_iter()
                    .map(|p| {
                        let request = |action: &str| {
                            let mut args = serde_json::Map::new();
                            args.insert("prefixes".into(), serde_json::json!([p.to_string()]));
                            engine::kind::KindRequest {
                                kind: "cgw",
                                node: self.name.clone(),
                                params: control::ActionParams {
                                    kind: action.to_string(),
                                    args,
                                },
                            }
                        };
                        engine::chaos::targets::Target::Prefix(
                            engine::chaos::targets::PrefixTarget {
                                name: format!("{} {p}", self.name),
                                withdraw: request("withdraw"),
                                advertise: request("advertise"),
                                recovery,
                            },
                        )
                    })
                    .chain(std::iter::once(uplink))
                    .collect()
            })
        });
        question.answer::<plan::CgwConfigOf>(|q| {
            Some(plan::cgw_config(self, topo, q.profile, &q.keys))
        });
        question.answer::<CustomerGatewayOf>(|_| {
            Some(CustomerGateway {
                outside_ip: self.aws_address(),
                asn: self.asn,
            })
        });
    }

    fn processes(&self, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        if self.external.is_external() {
            return Vec::new();
        }
        let keys = KeySource::Lab(env.lab_secret.clone());
        match plan::cgw_config(self, env.topology, env.timing.profile, &keys) {
            Ok(c) => daemon_process("cgw", &c.to_toml_with_keys(), env),
            Err(e) => {
                tracing::error!(node = %self.name, "{}: {}", e.path, e.message);
                Vec::new()
            }
        }
    }
}
