//! `[[router]]`: a forwarding node with static routes, the simplest transit between sites.
//!
//! ```toml
//! [[router]]
//! name = "r1"
//! site = "onprem"
//! routes = [{ to = "10.2.0.0/24", via = "10.255.0.2" }]
//! masquerade = ["inet"]     # optional: source-NAT what leaves by these interfaces
//! ```
//!
//! `masquerade` makes it an edge router doing NAT: IPv4 leaving by a listed interface takes
//! that interface's address and a random source port (nftables `masquerade random-fully`),
//! as a customer gateway behind a NAT sees it; the timeline action `reset_nat` makes it forget
//! its mappings mid-run.
//!
//! What it does not do: run a routing protocol (the gateway kinds do), or destination NAT.

use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::kind::common::{validate_depends, validate_routes};
use crate::kind::{NodeKind, NodeSetup, NodeSpec, StaticRoute};
use crate::model::Topology;
use crate::parse_cx::{Node, ParseCx};
use crate::source::FieldPath;

/// The `router` kind.
#[derive(Debug)]
pub struct RouterKind;

/// One router.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Router {
    /// Name.
    pub name: String,
    /// Site.
    #[serde(default)]
    pub site: Option<String>,
    /// Static routes.
    #[serde(default)]
    pub routes: Vec<StaticRoute>,
    /// Nodes to start first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Interfaces whose outgoing IPv4 is source-NATed.
    #[serde(default)]
    pub masquerade: Vec<String>,
    #[serde(skip)]
    path: FieldPath,
}

impl NodeKind for RouterKind {
    fn name(&self) -> &'static str {
        "router"
    }

    fn summary(&self) -> &'static str {
        "forwards packets between its links using static routes"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut r: Router = cx.de(table, path)?;
        r.path = path.clone();
        Ok(Box::new(r))
    }
}

impl NodeSpec for Router {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "router"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        let mut out = validate_routes(&self.name, &self.routes, &self.path.key("routes"), topo, cx);
        out.extend(validate_depends(
            &self.name,
            &self.depends_on,
            &self.path.key("depends_on"),
            topo,
            cx,
        ));
        let interfaces: Vec<String> = topo
            .links
            .iter()
            .flat_map(|l| {
                l.endpoints
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.node == self.name)
                    .map(|(i, _)| l.ifname(i))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (i, ifname) in self.masquerade.iter().enumerate() {
            if !interfaces.contains(ifname) {
                out.push(cx.error(
                    &self.path.key("masquerade").index(i),
                    format!(
                        "{} has no interface {ifname:?} (its interfaces: {})",
                        self.name,
                        interfaces.join(", ")
                    ),
                ));
            }
        }
        out
    }

    fn masquerade(&self) -> Vec<String> {
        self.masquerade.clone()
    }

    fn setup(&self, _topo: &Topology) -> NodeSetup {
        NodeSetup {
            forwarding: true,
            routes: self.routes.clone(),
            depends_on: self.depends_on.clone(),
        }
    }
}
