//! `[[dx-router]]`: the customer's router at the far end of dedicated connections. It asks the
//! `[[dxgw]]` nodes for its VIFs as AWS hands them out ([`super::query::VifsFor`]), adds its own
//! per-VIF policy (a different VLAN to misconfigure on purpose, communities, prepends,
//! LOCAL_PREF, BFD), and runs `hybridlab daemon dx-router` ([`crate::customer::DxRouter`]).
//!
//! ```toml
//! [[dx-router]]
//! name = "dxr1"
//! asn = 65001
//! advertise = ["10.1.0.0/16"]
//! routes = [{ to = "10.0.0.0/16", via = "10.1.255.2", metric = 100 }]   # a VPN backup
//! vifs = { vif1 = { local_pref = 200, communities = ["7224:7300"] } }
//! ```
//!
//! What it does not do: AWS's rules (the `dxgw` node's plan applies them).

use std::path::Path;

use engine::diagnostic::Diagnostic;
use engine::kind::common::validate_routes;
use engine::kind::query::Question;
use engine::kind::{NodeEnv, NodeKind, NodeSetup, NodeSpec, ProcessSpec};
use engine::model::Topology;
use engine::model::timing::Profile;
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;
use vgw::kind::query::PlanError;

use super::node::DxRouter;
use super::query::{DxCustomerOf, DxRouterConfigOf, VifsFor};
use crate::customer::{CustomerConfig, CustomerConnection};

/// The `dx-router` kind.
#[derive(Debug)]
pub struct DxRouterKind;

impl NodeKind for DxRouterKind {
    fn name(&self) -> &'static str {
        "dx-router"
    }

    fn summary(&self) -> &'static str {
        "a customer router terminating Direct Connect VIFs: BGP with MD5 and BFD over 802.1Q VLANs"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut n: DxRouter = cx.de(table, path)?;
        n.path = path.clone();
        Ok(Box::new(n))
    }

    fn run_daemon(&self, config: &Path) -> Result<i32, String> {
        gateway::daemon::run_from_start_file::<crate::customer::DxRouter>(config)
    }
}

impl DxRouter {
    /// The customer daemon's file: the VIFs every `[[dxgw]]` hands out, with this router's
    /// policy applied.
    pub fn config(&self, topo: &Topology, profile: Profile) -> Result<CustomerConfig, PlanError> {
        let mut connections: Vec<CustomerConnection> = Vec::new();
        for (_, answer) in topo.ask(&VifsFor {
            router: self.name.clone(),
        }) {
            connections.extend(answer?);
        }
        for c in &mut connections {
            for v in &mut c.vifs {
                if let Some(p) = self.vifs.get(&v.name) {
                    if let Some(vlan) = p.vlan {
                        v.vlan = vlan;
                    }
                    v.communities = p.communities.clone();
                    v.as_path_prepend = p.as_path_prepend;
                    v.local_pref = p.local_pref;
                    v.bfd = p.bfd.unwrap_or(true);
                }
            }
        }
        Ok(CustomerConfig {
            name: self.name.clone(),
            asn: self.asn,
            profile,
            router_id: None,
            advertise: self.advertised(),
            advertise_v6: self.advertised_v6(),
            connections,
        })
    }
}

impl NodeSpec for DxRouter {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "dx-router"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    /// The customer gateway's `advertise` / `withdraw` (parsed by the `cgw` kind) work on a
    /// customer DX router too: it originates or withdraws prefixes on every VIF at run time.
    fn serves_action(&self, action: &str) -> bool {
        matches!(action, "advertise" | "withdraw")
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        let mut out = validate_routes(&self.name, &self.routes, &self.path.key("routes"), topo, cx);
        match self.config(topo, Profile::Fast) {
            Ok(c) => {
                for name in self.vifs.keys() {
                    if !c
                        .connections
                        .iter()
                        .any(|x| x.vifs.iter().any(|v| &v.name == name))
                    {
                        out.push(cx.error(
                            &self.path.key("vifs").key(name),
                            format!("no VIF {name:?} reaches {} from a [[dxgw]] node", self.name),
                        ));
                    }
                }
                if let Err(e) = c.validate() {
                    out.push(cx.error(&self.path.key("vifs"), e.to_string()));
                }
            }
            Err(e) => out.push(cx.error(&e.path, e.message)),
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

    fn answer(&self, topo: &Topology, question: &mut Question<'_>) {
        question.answer::<DxCustomerOf>(|_| Some(self.asn));
        question.answer::<DxRouterConfigOf>(|q| Some(self.config(topo, q.profile)));
    }

    fn processes(&self, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        if self.external {
            return Vec::new();
        }
        match self.config(env.topology, env.timing.profile) {
            Ok(c) => vgw::kind::daemon_process("dx-router", c.to_toml_with_keys().expose(), env),
            Err(e) => {
                tracing::error!(node = %self.name, "{}: {}", e.path, e.message);
                Vec::new()
            }
        }
    }
}
