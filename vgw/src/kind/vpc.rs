//! `[[vpc]]`: a VPC's router. Its CIDR blocks are the VPC's; its kernel table is the VPC route
//! table, programmed by the `vgw` attached to it (local routes are the router's own links;
//! propagated and static routes come from the VGW daemon, AWS's priority applied by
//! `routing::vpc`).
//!
//! ```toml
//! [[vpc]]
//! name = "vpc1"
//! cidrs = ["10.0.0.0/16"]
//! ipv6_cidrs = ["2600:1f18:1::/56"]                       # optional; a TGW attachment with
//!                                                         # ipv6_support propagates them
//! propagation = true                                      # route propagation from the VGW
//! static_routes = [{ destination = "172.31.0.0/24", target = "igw-1" }]
//! ```
//!
//! A static route's target is `vgw` (the attached gateway) or the id of another target
//! (`igw-...`, `nat-...`, `eni-...`); without `via` such a target exists only on paper and
//! the route is a blackhole in the lab.
//!
//! What it does not do: program anything itself (the VGW daemon does), or run a process.

use ipnet::{Ipv4Net, Ipv6Net};
use serde::Deserialize;

use engine::diagnostic::Diagnostic;
use engine::kind::query::Question;
use engine::kind::{NodeKind, NodeSetup, NodeSpec};
use engine::model::Topology;
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;

use super::query::{self, AttachedVgw, VpcOf};

/// The `vpc` kind.
#[derive(Debug)]
pub struct VpcKind;

fn d_true() -> bool {
    true
}

/// One VPC router.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    /// Name.
    pub name: String,
    /// Site (for reports).
    #[serde(default)]
    pub site: Option<String>,
    /// The VPC's CIDR blocks (the route table's local routes), advertised by its VGW.
    pub cidrs: Vec<Ipv4Net>,
    /// The VPC's IPv6 CIDR blocks (AWS: /44 to /60, Amazon's are /56). A VGW ignores them
    /// (AWS's VPN on a virtual private gateway is IPv4 only); a transit gateway attachment
    /// with `ipv6_support` propagates them.
    #[serde(default)]
    pub ipv6_cidrs: Vec<Ipv6Net>,
    /// Route propagation from the VGW (default on).
    #[serde(default = "d_true")]
    pub propagation: bool,
    /// Static routes of the route table.
    #[serde(default)]
    pub static_routes: Vec<crate::config::VpcStaticRoute>,
    #[serde(skip)]
    path: FieldPath,
}

impl NodeKind for VpcKind {
    fn name(&self) -> &'static str {
        "vpc"
    }

    fn summary(&self) -> &'static str {
        "a VPC router whose table is the VPC route table, programmed by its VGW"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut v: Vpc = cx.de(table, path)?;
        v.path = path.clone();
        Ok(Box::new(v))
    }
}

impl NodeSpec for Vpc {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "vpc"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if self.cidrs.is_empty() {
            out.push(cx.error(
                &self.path.key("cidrs"),
                "a VPC needs at least one CIDR block",
            ));
        }
        for (i, c) in self.cidrs.iter().enumerate() {
            if c.prefix_len() < 16 || c.prefix_len() > 28 {
                out.push(cx.error(
                    &self.path.key("cidrs").index(i),
                    format!("{c}: a VPC CIDR block is /16 to /28"),
                ));
            }
        }
        for (i, c) in self.ipv6_cidrs.iter().enumerate() {
            if c.prefix_len() < 44 || c.prefix_len() > 60 {
                out.push(cx.error(
                    &self.path.key("ipv6_cidrs").index(i),
                    format!("{c}: a VPC IPv6 CIDR block is /44 to /60 (Amazon's are /56)"),
                ));
            }
        }
        let attached = topo
            .ask(&AttachedVgw {
                vpc: self.name.clone(),
            })
            .len();
        if attached > 1 {
            out.push(cx.error(
                &self.path.key("name"),
                format!(
                    "{attached} VGWs are attached to VPC {}: AWS allows one",
                    self.name
                ),
            ));
        }
        out
    }

    fn answer(&self, _topo: &Topology, question: &mut Question<'_>) {
        question.answer::<VpcOf>(|_| {
            Some(query::Vpc {
                cidrs: self.cidrs.clone(),
                ipv6_cidrs: self.ipv6_cidrs.clone(),
                propagation: self.propagation,
                static_routes: self.static_routes.clone(),
            })
        });
    }

    fn setup(&self, _topo: &Topology) -> NodeSetup {
        NodeSetup {
            forwarding: true,
            ..NodeSetup::default()
        }
    }
}
