//! What a parsed node of any kind is: the [`NodeSpec`] trait every kind's nodes implement (their
//! name, checks against the topology, namespace needs, links, processes, and the [`query`]
//! questions they answer), and what it produces ([`NodeSetup`], [`StaticRoute`], [`ProcessSpec`])
//! or is given ([`NodeEnv`]).
//!
//! It is part of the model, not of `crate::kind`, because the [`Topology`] holds its nodes as
//! `Box<dyn NodeSpec>` and a node is validated, set up and asked questions against that same
//! topology: the two refer to each other and so live in one layer. `crate::kind` re-exports all of
//! it, so kind packages import it as `engine::kind::NodeSpec`.
//!
//! What it does not do: parse a node (a kind's [`NodeKind::parse`](crate::kind::NodeKind::parse)
//! does), or create anything (the engine does, through `netns`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use secret::Secret;
use serde::Serialize;

use super::Topology;
use super::query;
use super::timing::Timing;
use super::topology::Link;
use crate::diagnostic::Diagnostic;
use crate::parse_cx::ParseCx;
use crate::source::FieldPath;

/// One node of some kind, as parsed.
pub trait NodeSpec: std::fmt::Debug + Send + Sync {
    /// The node's name.
    fn name(&self) -> &str;

    /// Its kind's name.
    fn kind(&self) -> &'static str;

    /// Where it was declared (`host[0]`).
    fn path(&self) -> &FieldPath;

    /// The site it belongs to.
    fn site(&self) -> Option<&str> {
        None
    }

    /// Checks against the whole topology (references, addresses); runs before anything exists.
    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic>;

    /// What its namespace needs besides its links.
    fn setup(&self, topo: &Topology) -> NodeSetup;

    /// Links this node brings itself, e.g. a gateway's outside interface on a link to an
    /// `internet` router, declared in the kind's own section instead of a `[[link]]`. They join
    /// the topology's links before validation, so addresses, overlaps and node references are
    /// checked like any link's, `cut link = "NAME"` and `link_down` apply to them, and errors
    /// point at [`Link::path`] (set it to the field that declared the link, e.g.
    /// `vgw[0].outside`). An empty name gets the default `<a>-<b>`.
    fn links(&self) -> Vec<Link> {
        Vec::new()
    }

    /// Whether this node also serves timeline action `action` that another kind parses (the
    /// `rekey` of the VPN kinds goes to a VGW or a customer gateway alike). A node always
    /// serves its own kind's actions; the default serves no other.
    fn serves_action(&self, action: &str) -> bool {
        let _ = action;
        false
    }

    /// Interfaces through which its outgoing IPv4 is source-NATed (masquerade with random
    /// ports, as an on-prem edge router does); set up with its routes. The default: none.
    fn masquerade(&self) -> Vec<String> {
        Vec::new()
    }

    /// A container the user already runs (`external = { container = "NAME" }`) whose network
    /// namespace is this node's: the lab adds the node's links, addresses and routes to it and
    /// never creates, enters with processes, or removes the container. The default: none.
    fn external_container(&self) -> Option<&str> {
        None
    }

    /// The processes to start in its namespace once its links, addresses and routes exist.
    fn processes(&self, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        let _ = env;
        Vec::new()
    }

    /// Answers the typed questions other kinds ask about this node ([`query`]): call
    /// `question.answer::<Q>(..)` for every question type this node knows. The default
    /// answers nothing.
    fn answer(&self, topo: &Topology, question: &mut query::Question<'_>) {
        let _ = (topo, question);
    }
}

/// What a node's namespace needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeSetup {
    /// IPv4/IPv6 forwarding on.
    pub forwarding: bool,
    /// Static routes, added after the links' addresses.
    pub routes: Vec<StaticRoute>,
    /// Nodes whose processes must be running before this node's start.
    pub depends_on: Vec<String>,
}

/// A static route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRoute {
    /// Destination.
    pub to: IpNet,
    /// Next hop.
    #[serde(default)]
    pub via: Option<IpAddr>,
    /// Device (when there is no next hop, or to pin it).
    #[serde(default)]
    pub dev: Option<String>,
    /// Metric (priority; lower wins). Two routes to one prefix with different metrics make a
    /// primary and a backup: a router skips a next hop whose link is down (the engine turns
    /// `ignore_routes_with_linkdown` on with forwarding), so the backup takes over.
    #[serde(default)]
    pub metric: Option<u32>,
}

/// What a kind may use when it generates configs and commands.
#[derive(Debug)]
pub struct NodeEnv<'a> {
    /// The lab's name.
    pub lab: &'a str,
    /// `<state>/<lab>/<node>/`: configs, logs and the control socket live here.
    pub node_dir: PathBuf,
    /// The control socket path the node's daemon must serve.
    pub socket: PathBuf,
    /// The `hybridlab` executable (daemons are `hybridlab daemon <kind>`).
    pub exe: PathBuf,
    /// Resolved timers.
    pub timing: &'a Timing,
    /// The whole topology.
    pub topology: &'a Topology,
    /// Every node's namespace as a path a process can open (`setns`), so a daemon may program
    /// another node (a vgw installing propagated routes in its vpc's table with
    /// `netns::Netns::open_path` and `netns::Netlink::open`). Empty when the backend has no
    /// real namespaces (tests with a fake backend).
    pub namespaces: BTreeMap<String, PathBuf>,
    /// The lab's secret, drawn once per run: keys a scenario does not give derive from it
    /// (a fixed placeholder while validating, where no key is used).
    pub lab_secret: &'a crate::lab_secret::LabSecret,
}

/// A file a node's process reads, written into its node directory before it starts. A
/// gateway's configuration holds pre-shared keys, so the contents are a [`Secret`]: `{:?}` and
/// JSON (the run record, `ProcessSpec` in reports) print `***`; only the engine's file write
/// exposes them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeFile {
    /// File name, relative to the node directory.
    pub name: String,
    /// Its contents.
    pub contents: Secret<String>,
}

impl NodeFile {
    /// File `name` with `contents`.
    pub fn new(name: impl Into<String>, contents: impl Into<String>) -> NodeFile {
        NodeFile {
            name: name.into(),
            contents: Secret::new(contents.into()),
        }
    }
}

/// A process to spawn in a node's namespace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessSpec {
    /// Name, unique within the node (kill/restart refer to it).
    pub name: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Files to write into the node directory first (owner-only: they may hold keys).
    pub files: Vec<NodeFile>,
    /// Extra environment variables (the engine's environment is inherited).
    pub env: Vec<(String, String)>,
    /// Whether it serves the node's control socket (the engine waits for it and reads events).
    pub control_socket: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_spec_never_prints_its_files() {
        let p = ProcessSpec {
            name: "vgw".into(),
            argv: vec!["hybridlab".into()],
            files: vec![NodeFile::new(
                "vgw.toml",
                "pre_shared_key = \"hunter2.hunter2\"\n",
            )],
            env: Vec::new(),
            control_socket: true,
        };
        let debug = format!("{p:?}");
        let json = serde_json::to_string(&p).unwrap();
        for text in [&debug, &json] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains("vgw.toml"), "{text}");
        }
        assert_eq!(
            p.files[0].contents.expose(),
            "pre_shared_key = \"hunter2.hunter2\"\n"
        );
    }
}
