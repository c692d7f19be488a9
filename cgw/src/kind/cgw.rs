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
//! ```
//!
//! It answers `vgw::kind::query::CustomerGatewayOf` (its outside address and ASN) for the
//! VGWs that plan connections to it.
//!
//! What it does not do: decide what AWS decides (the connection's addresses and keys come from
//! the VGW's plan; [`super::plan`] only adds this gateway's own policy).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;

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
use serde::Deserialize;
use vgw::kind::checks::{self, PrefixRange};
use vgw::kind::daemon_process;
use vgw::kind::plan::last_host;
use vgw::kind::query::{CustomerGateway, CustomerGatewayOf};

use super::plan;
use crate::config::TunnelMode;

/// The `cgw` kind.
#[derive(Debug)]
pub struct CgwKind;

/// The outside interface on the internet router.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Internet {
    /// The internet router node.
    pub node: String,
    /// The customer gateway's outside address, with its prefix length.
    pub address: Ipv4Net,
    /// The router's address (default: the subnet's last host).
    #[serde(default)]
    pub peer_address: Option<Ipv4Addr>,
}

impl Internet {
    /// The internet router's address on the link.
    pub fn peer(&self) -> Ipv4Addr {
        self.peer_address
            .unwrap_or_else(|| last_host(self.address.trunc()))
    }
}

/// What this customer gateway does on one tunnel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelPolicy {
    /// AS_PATH prepends on what it announces over the tunnel.
    #[serde(default)]
    pub as_path_prepend: u8,
    /// MED on what it announces over the tunnel.
    #[serde(default)]
    pub med: Option<u32>,
}

/// One customer gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cgw {
    /// Name.
    pub name: String,
    /// Site.
    #[serde(default)]
    pub site: Option<String>,
    /// Its BGP ASN.
    pub asn: u32,
    /// Outside interface.
    pub internet: Internet,
    /// Prefixes announced to AWS.
    #[serde(default)]
    pub advertise: Vec<Ipv4Net>,
    /// More prefixes announced to AWS, as a range.
    #[serde(default)]
    pub advertise_range: Option<PrefixRange>,
    /// Active/active (ECMP) or active/standby.
    #[serde(default)]
    pub mode: TunnelMode,
    /// Per-tunnel policy, keyed by tunnel name (`vpn1-t2`).
    #[serde(default)]
    pub tunnels: BTreeMap<String, TunnelPolicy>,
    /// Static routes towards the customer's networks behind it (a LAN router's prefixes).
    #[serde(default)]
    pub routes: Vec<StaticRoute>,
    /// Bring your own customer gateway: the node (namespace, links, routes) exists but runs no
    /// daemon; start your own (strongSwan + FRR configured from `hybridlab cgw-config`) in its
    /// namespace, `hl-<lab>-<node>`, while the lab converges (raise `converge` in `[timing]`).
    #[serde(default)]
    pub external: bool,
    #[serde(skip)]
    path: FieldPath,
}

impl Cgw {
    /// Where it was declared.
    pub fn path(&self) -> &FieldPath {
        &self.path
    }

    /// Every prefix it announces.
    pub fn advertised(&self) -> Vec<Ipv4Net> {
        let mut out = self.advertise.clone();
        if let Some(r) = &self.advertise_range {
            out.extend(r.expand());
        }
        out
    }

    /// The nodes (VGWs) with a VPN connection to it, and its view of those connections.
    pub fn connections(&self, topo: &Topology) -> plan::Connections {
        plan::connections_of(self, topo, Profile::Fast)
    }
}

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
        let mut out = Vec::new();
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
        let names: Vec<String> = self
            .connections(topo)
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
        if let Err(e) = plan::cgw_config(self, topo, Profile::Fast) {
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
            depends_on: self.connections(topo).gateways,
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
            path: self.path.key("internet"),
        }]
    }

    fn answer(&self, topo: &Topology, question: &mut Question<'_>) {
        question.answer::<plan::CgwConfigOf>(|q| Some(plan::cgw_config(self, topo, q.profile)));
        question.answer::<CustomerGatewayOf>(|_| {
            Some(CustomerGateway {
                outside_ip: self.internet.address.addr(),
                asn: self.asn,
            })
        });
    }

    fn processes(&self, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        if self.external {
            return Vec::new();
        }
        match plan::cgw_config(self, env.topology, env.timing.profile) {
            Ok(c) => daemon_process("cgw", &c.to_toml_with_keys(), env),
            Err(e) => {
                tracing::error!(node = %self.name, "{}: {}", e.path, e.message);
                Vec::new()
            }
        }
    }
}
