//! `[[tgw]]`: a transit gateway (see [`super`] for the TOML). It brings one /30 link per VPC
//! attachment (TGW `.1` on `tgwatt<n>`, VPC router `.2`, MTU 8500 \[T3\]), runs `hybridlab
//! daemon tgw`, and answers [`ConnectPeersFor`] for the appliances at the far end of its
//! Connect peers. Every AWS rule of [`crate::config`] is checked at `validate`, before anything
//! exists, with the item's path.
//!
//! What it does not do: decide routes (the daemon does).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use engine::diagnostic::Diagnostic;
use engine::kind::query::Question;
use engine::kind::{KindCheck, NodeEnv, NodeKind, NodeSetup, NodeSpec, ProcessSpec, StaticRoute};
use engine::model::timing::Profile;
use engine::model::{Endpoint, Link, Topology};
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use vgw::kind::query::{
    AllowedPrefixesOf, ConnectionRef, CustomerViewOf, DirectConnectPeersOf, VgwFact, VgwFacts,
    VpcOf, VpnConnectionList,
};

use super::query::{ConnectPeersFor, PeerView};
use crate::config::{TGW_MTU, TgwConfig, TgwDecl, VpcIpv6, VpcRuntime};

/// The `tgw` kind.
#[derive(Debug)]
pub struct TgwKind;

impl NodeKind for TgwKind {
    fn name(&self) -> &'static str {
        "tgw"
    }

    fn summary(&self) -> &'static str {
        "an AWS Transit Gateway: route tables, VPC attachments, Connect attachments (GRE + BGP Connect peers)"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut n: TgwDecl = cx.de(table, path)?;
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
    ) -> Result<engine::kind::KindRequest, Diagnostic> {
        super::actions::parse_action(action, rest, path, cx)
    }

    fn checks(&self) -> &'static [&'static str] {
        super::checks::CHECKS
    }

    fn parse_check(
        &self,
        check: &str,
        rest: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<KindCheck, Diagnostic> {
        super::checks::parse_check(check, rest, path, cx)
    }

    fn run_daemon(&self, config: &Path) -> Result<i32, String> {
        gateway::daemon::run_from_start_file::<crate::daemon::Tgw>(config)
    }
}

/// The TGW's interface on VPC attachment `i`.
pub fn attachment_ifname(i: usize) -> String {
    format!("tgwatt{i}")
}

fn host_v6(net: Ipv6Net, n: u128) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(net.network()) + n)
}

fn host(net: Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + n)
}

impl TgwDecl {
    /// The VPN attachments as the `vgw` package plans VPN connections: a virtual private
    /// gateway named after the TGW, with its ASN, outside interface and connections, so the
    /// VPN rules (inside /30s, keys, tunnel options, ASNs) and the customer gateways' view are
    /// the VGW's. `None` without VPN attachments. (Its VPC is the first VPC attachment's; the
    /// VGW's VPC link is not used.)
    pub fn vpn_gateway(&self) -> Option<Result<vgw::kind::node::Vgw, String>> {
        if self.vpn_attachments.is_empty() {
            return None;
        }
        let mut t = toml::map::Map::new();
        t.insert("name".into(), toml::Value::String(self.name.clone()));
        let vpc = self
            .vpc_attachments
            .first()
            .map(|a| a.vpc.clone())
            .unwrap_or_default();
        t.insert("vpc".into(), toml::Value::String(vpc));
        t.insert(
            "amazon_side_asn".into(),
            toml::Value::Integer(i64::from(self.asn)),
        );
        if let Some(i) = &self.internet {
            t.insert("internet".into(), i.clone());
        }
        t.insert(
            "connection".into(),
            toml::Value::Array(self.vpn_attachments.clone()),
        );
        Some(
            toml::Value::Table(t)
                .try_into::<vgw::kind::node::Vgw>()
                .map(|mut v| {
                    // Item 8: a duplicate inside /30 across VPN attachments is accepted (the
                    // daemon binds such tunnels' BGP sessions to their interfaces).
                    v.inside_cidrs_per_connection = true;
                    v
                })
                .map_err(|e| e.to_string()),
        )
    }

    /// The daemon's file: the declaration plus each VPC attachment's link and VPC.
    pub fn daemon_config(
        &self,
        topo: &Topology,
        profile: Profile,
        namespaces: &std::collections::BTreeMap<String, std::path::PathBuf>,
    ) -> TgwConfig {
        let vpcs = self
            .vpc_attachments
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let link = self.vpc_link(i);
                let cidrs = topo
                    .ask_node(&a.vpc, &VpcOf)
                    .map(|v| v.cidrs)
                    .unwrap_or_default();
                let mut vpc_routes = a.vpc_routes.clone();
                if self.connects.iter().any(|c| c.transport == a.name) {
                    vpc_routes.push(IpNet::V4(self.cidr_block));
                }
                let ipv6 = self.vpc_link_v6(i).map(|l| VpcIpv6 {
                    tgw_address: host_v6(l, 1),
                    vpc_address: host_v6(l, 2),
                    cidrs: topo
                        .ask_node(&a.vpc, &VpcOf)
                        .map(|v| v.ipv6_cidrs)
                        .unwrap_or_default(),
                });
                VpcRuntime {
                    attachment: a.name.clone(),
                    ifname: attachment_ifname(i),
                    tgw_address: host(link, 1),
                    vpc_address: host(link, 2),
                    cidrs,
                    ipv6,
                    netns: namespaces.get(&a.vpc).cloned(),
                    vpc_routes,
                }
            })
            .collect();
        TgwConfig {
            profile,
            tgw: self.clone(),
            vpcs,
            vpn: None,
            dx: self.dx_runtime(topo),
        }
    }

    /// The backbone sessions of the DX gateway attachments: the DX location routers whose DX
    /// gateways are associated with this TGW (they treat it as they treat a VGW association:
    /// iBGP in the TGW's ASN over a backbone /30, `dxgw::kind`).
    pub fn dx_runtime(&self, topo: &Topology) -> Vec<crate::config::DxRuntime> {
        let mut out = Vec::new();
        for (node, peers) in topo.ask(&DirectConnectPeersOf {
            vgw: self.name.clone(),
        }) {
            for p in peers {
                if self.dx_attachments.iter().any(|d| d.name == p.name) {
                    out.push(crate::config::DxRuntime {
                        attachment: p.name,
                        address: p.address,
                        local_address: p.local_address,
                        ifname: node.to_string(),
                    });
                }
            }
        }
        out
    }
}

impl NodeSpec for TgwDecl {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "tgw"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = self
            .check()
            .into_iter()
            .map(|p| cx.error(&p.path(&self.path), p.message))
            .collect();
        for (i, a) in self.vpc_attachments.iter().enumerate() {
            match topo.ask_node(&a.vpc, &VpcOf) {
                None => out.push(cx.error(
                    &self.path.key("vpc_attachment").index(i).key("vpc"),
                    format!("no [[vpc]] node {:?}", a.vpc),
                )),
                // AWS refuses Ipv6Support on a VPC without an IPv6 CIDR block (inferred from
                // its console, which greys the option out).
                Some(v) if a.ipv6_support && v.ipv6_cidrs.is_empty() => out.push(cx.error(
                    &self.path.key("vpc_attachment").index(i).key("ipv6_support"),
                    format!(
                        "VPC {} has no IPv6 CIDR block (ipv6_cidrs): ipv6_support needs one",
                        a.vpc
                    ),
                )),
                Some(_) => {}
            }
        }
        match self.vpn_gateway() {
            Some(Err(e)) => out.push(cx.error(&self.path.key("vpn_attachment"), e)),
            Some(Ok(v)) => {
                if let Err(e) = vgw::kind::plan::vgw_config(
                    &v,
                    topo,
                    Profile::Fast,
                    std::path::PathBuf::new(),
                    &vgw::kind::keys::KeySource::NoLab,
                ) {
                    let at = e
                        .path
                        .to_string()
                        .replacen("connection", "vpn_attachment", 1);
                    out.push(cx.error(
                        &self.path.key("vpn_attachment"),
                        format!("{at}: {}", e.message),
                    ));
                }
            }
            None => {}
        }
        let dx = self.dx_runtime(topo);
        for (i, d) in self.dx_attachments.iter().enumerate() {
            if !dx.iter().any(|r| r.attachment == d.name) {
                out.push(cx.error(
                    &self.path.key("dx_attachment").index(i).key("name"),
                    format!(
                        "no [[dxgw.gateway]] {:?} is associated with {} (association = [{{ tgw = {:?} }}])",
                        d.name, self.name, self.name
                    ),
                ));
            }
        }
        // A Connect over Direct Connect: the association must announce the TGW CIDR block.
        let allowed: Vec<(String, Vec<Ipv4Net>)> = topo
            .ask(&AllowedPrefixesOf {
                target: self.name.clone(),
            })
            .into_iter()
            .flat_map(|(_, list)| list)
            .map(|a| (a.gateway, a.prefixes))
            .collect();
        out.extend(
            self.check_dx_transports(&allowed)
                .into_iter()
                .map(|p| cx.error(&p.path(&self.path), p.message)),
        );
        for (i, c) in self.connects.iter().enumerate() {
            if let Some(app) = &c.appliance
                && topo.nodes.iter().all(|n| n.name() != app)
            {
                out.push(cx.error(
                    &self.path.key("connect").index(i).key("appliance"),
                    format!("no node {app:?}"),
                ));
            }
        }
        out
    }

    fn setup(&self, topo: &Topology) -> NodeSetup {
        // The main table serves only what the TGW itself sends (GRE to appliances, BGP):
        // forwarded packets look up their attachment's route table and never fall through
        // (crate::daemon). A transport VPC's CIDRs are reached over its attachment; a
        // Direct Connect transport's routes come and go with its BGP session, so the daemon
        // keeps them (crate::transport).
        let mut routes = Vec::new();
        for (i, a) in self.vpc_attachments.iter().enumerate() {
            if !self.connects.iter().any(|c| c.transport == a.name) {
                continue;
            }
            let cidrs = topo
                .ask_node(&a.vpc, &VpcOf)
                .map(|v| v.cidrs)
                .unwrap_or_default();
            for c in cidrs {
                routes.push(StaticRoute {
                    to: IpNet::V4(c),
                    via: Some(IpAddr::V4(host(self.vpc_link(i), 2))),
                    // Not `dev` too: the engine makes that a second, device-only next hop.
                    dev: None,
                    metric: None,
                });
            }
        }
        NodeSetup {
            forwarding: true,
            routes,
            depends_on: Vec::new(),
        }
    }

    fn links(&self) -> Vec<Link> {
        let mut out: Vec<Link> = Vec::new();
        if let Some(Ok(v)) = self.vpn_gateway() {
            let len = v.internet.cidr.prefix_len();
            let outside = v
                .outside_addresses()
                .into_iter()
                .map(|a| IpNet::V4(Ipv4Net::new(a, len).expect("a prefix length")))
                .collect();
            let peer = IpNet::V4(Ipv4Net::new(v.internet.peer(), len).expect("a prefix length"));
            out.push(Link {
                name: String::new(),
                endpoints: [
                    Endpoint {
                        node: self.name.clone(),
                        ifname: None,
                        address: None,
                        addresses: outside,
                    },
                    Endpoint {
                        node: v.internet.node.clone(),
                        ifname: None,
                        address: None,
                        addresses: vec![peer],
                    },
                ],
                mtu: None,
                capture: false,
                path: self.path.key("internet"),
            });
        }
        out.extend(self.vpc_attachments.iter().enumerate().map(|(i, a)| {
            let link = self.vpc_link(i);
            let link_v6 = self.vpc_link_v6(i);
            let addr = |n: u32| {
                let mut v = vec![IpNet::V4(Ipv4Net::new(host(link, n), 30).expect("a /30"))];
                v.extend(link_v6.map(|l| {
                    IpNet::V6(Ipv6Net::new(host_v6(l, u128::from(n)), 64).expect("a /64"))
                }));
                v
            };
            Link {
                name: a.name.clone(),
                endpoints: [
                    Endpoint {
                        node: self.name.clone(),
                        ifname: Some(attachment_ifname(i)),
                        address: None,
                        addresses: addr(1),
                    },
                    Endpoint {
                        node: a.vpc.clone(),
                        ifname: None,
                        address: None,
                        addresses: addr(2),
                    },
                ],
                mtu: Some(TGW_MTU),
                capture: false,
                path: self.path.key("vpc_attachment").index(i),
            }
        }));
        out
    }

    fn answer(&self, topo: &Topology, question: &mut Question<'_>) {
        if !self.dx_attachments.is_empty() {
            // What a DX gateway association needs: the ASN of the backbone iBGP session and
            // the prefixes it allows by default (every VPC attached).
            question.answer::<VgwFacts>(|_| {
                Some(VgwFact {
                    asn: self.asn,
                    vpc_cidrs: self
                        .vpc_attachments
                        .iter()
                        .filter_map(|a| topo.ask_node(&a.vpc, &VpcOf))
                        .flat_map(|v| v.cidrs)
                        .collect(),
                    transit_gateway: true,
                })
            });
        }
        if let Some(Ok(v)) = self.vpn_gateway() {
            // Chaos: the VPN attachments' tunnels as a VGW offers them (same package, same
            // timers), and the internet link they ride on.
            question.answer::<engine::chaos::targets::ChaosTargets>(|q| {
                let mut t = vgw::kind::chaos::targets(&v, topo, q.profile);
                t.push(engine::chaos::targets::Target::Link(format!(
                    "{}-{}",
                    v.name, v.internet.node
                )));
                Some(t)
            });
            question.answer::<CustomerViewOf>(|q| {
                match vgw::kind::plan::customer_views(&v, topo, &q.cgw, q.profile, &q.keys) {
                    Ok(views) if views.is_empty() => None,
                    other => Some(other),
                }
            });
            question.answer::<VpnConnectionList>(|_| {
                Some(
                    v.connections
                        .iter()
                        .map(|c| ConnectionRef {
                            name: c.name.clone(),
                            cgw: c.cgw.clone(),
                            random_keys: v.has_random_keys(c),
                        })
                        .collect(),
                )
            });
        }
        question.answer::<ConnectPeersFor>(|q| {
            let mut out = Vec::new();
            for (ci, c) in self.connects.iter().enumerate() {
                if c.appliance.as_deref() != Some(q.appliance.as_str()) {
                    continue;
                }
                for (pi, p) in c.peers.iter().enumerate() {
                    out.push(PeerView {
                        tgw: self.name.clone(),
                        attachment: c.name.clone(),
                        name: p.name.clone(),
                        inside_cidr: p.inside_cidr,
                        inside_cidr_v6: p.inside_cidr_v6,
                        peer_address: p.peer_address,
                        tgw_address: self.tgw_address(ci, pi),
                        tgw_asn: self.asn,
                        peer_asn: self.peer_asn(ci, pi),
                    });
                }
            }
            (!out.is_empty()).then_some(out)
        });
    }

    fn processes(&self, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        let mut c = self.daemon_config(env.topology, env.timing.profile, &env.namespaces);
        if let Some(Ok(v)) = self.vpn_gateway() {
            let keys = vgw::kind::keys::KeySource::Lab(env.lab_secret.clone());
            match vgw::kind::plan::vgw_config(
                &v,
                env.topology,
                env.timing.profile,
                std::path::PathBuf::new(),
                &keys,
            ) {
                Ok(vc) => c.vpn = Some(vc.to_toml_with_keys().to_string()),
                Err(e) => tracing::error!(node = %self.name, "{}: {}", e.path, e.message),
            }
        }
        vgw::kind::daemon_process("tgw", &c.to_toml(), env)
    }
}
