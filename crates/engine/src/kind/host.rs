//! `[[host]]`: an endpoint. It sends and receives probes, routes through a gateway, and may
//! run the user's own commands (an iperf3 server, their own bird) that `kill`/`restart` act on.
//!
//! ```toml
//! [[host]]
//! name = "h1"
//! site = "onprem"
//! gateway = "10.1.0.1"                      # default route
//! routes = [{ to = "192.0.2.0/24", via = "10.1.0.2" }]
//! commands = [{ name = "iperf", run = ["iperf3", "-s"] }]
//! depends_on = ["r1"]
//! ```
//!
//! What it does not do: forward packets (that is a `router`).

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::kind::common::{validate_depends, validate_routes};
use crate::kind::external::External;
use crate::kind::{NodeEnv, NodeKind, NodeSetup, NodeSpec, ProcessSpec, StaticRoute};
use crate::model::Topology;
use crate::parse_cx::{Node, ParseCx};
use crate::source::FieldPath;

/// The `host` kind.
#[derive(Debug)]
pub struct HostKind;

/// A command a host runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// Name (for kill/restart), unique within the host.
    pub name: String,
    /// Program and arguments.
    pub run: Vec<String>,
}

/// One host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Name.
    pub name: String,
    /// Site.
    #[serde(default)]
    pub site: Option<String>,
    /// Default gateway.
    #[serde(default)]
    pub gateway: Option<IpAddr>,
    /// Other static routes.
    #[serde(default)]
    pub routes: Vec<StaticRoute>,
    /// Commands to run.
    #[serde(default)]
    pub commands: Vec<Command>,
    /// Nodes to start first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// `{ container = "NAME" }`: the host is the network namespace of that running container
    /// (its `commands` are then refused: the container runs what it runs).
    #[serde(default)]
    pub external: External,
    #[serde(skip)]
    path: FieldPath,
}

impl NodeKind for HostKind {
    fn name(&self) -> &'static str {
        "host"
    }

    fn summary(&self) -> &'static str {
        "an endpoint: sends and receives probes, may run your own commands"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut h: Host = cx.de(table, path)?;
        h.path = path.clone();
        Ok(Box::new(h))
    }
}

impl Host {
    fn all_routes(&self) -> Vec<StaticRoute> {
        let mut routes = Vec::new();
        if let Some(gw) = self.gateway {
            let default: IpNet = if gw.is_ipv4() {
                "0.0.0.0/0".parse().unwrap_or_default()
            } else {
                "::/0".parse().unwrap_or_default()
            };
            routes.push(StaticRoute {
                to: default,
                via: Some(gw),
                dev: None,
                metric: None,
            });
        }
        routes.extend(self.routes.iter().cloned());
        routes
    }
}

impl NodeSpec for Host {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "host"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if let Some(gw) = self.gateway
            && !topo.is_on_link(&self.name, gw)
        {
            out.push(cx.error(
                &self.path.key("gateway"),
                format!("gateway {gw} is not on a subnet connected to {}", self.name),
            ));
        }
        out.extend(validate_routes(
            &self.name,
            &self.routes,
            &self.path.key("routes"),
            topo,
            cx,
        ));
        out.extend(validate_depends(
            &self.name,
            &self.depends_on,
            &self.path.key("depends_on"),
            topo,
            cx,
        ));
        out.extend(self.external.validate(&self.path.key("external"), cx));
        if self.external.container().is_some() && !self.commands.is_empty() {
            out.push(cx.error(
                &self.path.key("commands"),
                "a host in a container of yours runs no commands of the lab's",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.commands.iter().enumerate() {
            let p = self.path.key("commands").index(i);
            if c.run.is_empty() {
                out.push(cx.error(&p.key("run"), "`run` needs at least the program"));
            }
            if !seen.insert(c.name.as_str()) {
                out.push(cx.error(
                    &p.key("name"),
                    format!("duplicate command name {:?} on {}", c.name, self.name),
                ));
            }
        }
        out
    }

    fn setup(&self, _topo: &Topology) -> NodeSetup {
        NodeSetup {
            forwarding: false,
            routes: self.all_routes(),
            depends_on: self.depends_on.clone(),
        }
    }

    fn external_container(&self) -> Option<&str> {
        self.external.container()
    }

    fn processes(&self, _env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        self.commands
            .iter()
            .map(|c| ProcessSpec {
                name: c.name.clone(),
                argv: c.run.clone(),
                files: Vec::new(),
                env: Vec::new(),
                control_socket: false,
            })
            .collect()
    }
}
