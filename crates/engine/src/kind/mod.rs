//! Node kinds are plug-ins. The engine ships the generic `host` and `router`; every AWS kind
//! lives in its gateway package (`vpc` and `vgw` in `vgw/`, `cgw` in `cgw/`, later `dxgw/` and
//! `tgw-connect/`) and is registered by the `hybridlab` binary (`scenarios::registry`).
//!
//! A kind owns its TOML section (an array of tables named after it, `[[host]]`), validates its
//! nodes against the whole topology, declares what its namespace needs (forwarding, static
//! routes, bring-up dependencies), generates its config and the processes to spawn (daemons run
//! as `hybridlab daemon <kind> --config FILE` and serve a control socket), declares its timers
//! for the `aws`/`fast` profiles, and may add timeline actions and expectation checks that go
//! through its control socket. What one kind needs to know about another kind's node it asks
//! through a typed [`query`], never by naming or casting the other kind.
//!
//! ```text
//!  scenario.toml --parse--> [[host]] --HostKind::parse--> Vec<Box<dyn NodeSpec>>
//!                           [[vgw]]  --VgwKind::parse---> ...        |
//!                                                                    v
//!            validate(topology) -> setup() -> processes(env) -> engine bring-up
//! ```
//!
//! # How to add a kind (e.g. `dxgw`)
//!
//! 1. In the kind's package, a unit struct implementing [`NodeKind`] (`name() = "dxgw"`, its
//!    `[[dxgw]]` section) and a node struct implementing [`NodeSpec`], deserialized with
//!    `#[serde(deny_unknown_fields)]` through `cx.de(table, path)` so a typo is reported at
//!    its key. Store `path` in the node; build every error with `cx.error(&path.key(..), ..)`.
//! 2. One line in the binary's registry (`scenarios/src/lib.rs`): `.with(Box::new(DxgwKind))`.
//! 3. What the kind may declare, all optional:
//!    - [`NodeSpec::links`]: its own underlay, e.g. the outside interface on a link to an
//!      `internet` router (validated like a `[[link]]`; `cut link = ..` applies to it);
//!    - [`NodeSpec::setup`]: forwarding, static routes, `depends_on` (process start order);
//!    - [`NodeSpec::processes`]: its daemon, as `argv = [env.exe, "daemon", "vgw", "--config",
//!      "vgw.json"]` with `files = [("vgw.json", ..)]` (written into `env.node_dir`, the
//!      working directory) and `control_socket: true`: the engine waits until `env.socket`
//!      answers, then follows its events onto the timeline (and `on_event` triggers);
//!      `env.namespaces[other]` lets the daemon program another node (vgw -> vpc routes);
//!    - [`NodeSpec::answer`]: the [`query`] questions its nodes answer for other kinds;
//!    - [`NodeKind::run_daemon`]: the daemon's main (`hybridlab daemon vgw --config FILE`
//!      dispatches here); it serves `control::ServerBuilder` on the socket from its config;
//!    - [`NodeKind::timers`]: its `aws`/`fast` values (BGP hold, DPD, ...), read back from
//!      `env.timing` when generating the config; `[timing]` overrides them by name;
//!    - [`NodeKind::actions`] / [`NodeKind::parse_action`]: timeline actions sent to the daemon's
//!      control socket ([`KindRequest`], e.g. `withdraw`, `rekey`);
//!    - [`NodeKind::checks`] / [`NodeKind::parse_check`]: expectations the engine polls through
//!      `show` and judges with a [`Verdict`] ([`KindCheck`], e.g. `tunnel`, `vgw_route`).
//! 4. A tunnel's underlay is cut with the engine's own action, no kind code needed:
//!    `action = "cut"`, `node = "vgw1"`, `proto = "udp"`, `ports = [500, 4500]`,
//!    `peer = "<the CGW's outside address>"`.
//!
//! `tests/kind_plugin.rs` (top-level `tests/`) is a complete example kind exercising all of the
//! above on real namespaces, registered with [`Registry::with`] from outside the crate.
//!
//! What it does not do: create anything (the engine does, through `netns`).

pub mod common;
pub mod host;
pub mod query;
pub mod router;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use control::{ActionParams, ShowParams};
use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::model::timing::{TimerDef, Timing};
use crate::model::{Link, Topology};
use crate::parse::{Node, ParseCx};
use crate::source::FieldPath;

/// A kind of node; one value per kind lives in the [`Registry`].
pub trait NodeKind: Send + Sync + 'static {
    /// The kind's name and TOML section, e.g. `host` for `[[host]]`.
    fn name(&self) -> &'static str;

    /// One line for `hybridlab list` and errors.
    fn summary(&self) -> &'static str;

    /// Parses one table of the section (found at `path`, e.g. `host[2]`).
    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic>;

    /// The timers this kind reads, with their `aws` and `fast` values.
    fn timers(&self) -> &'static [TimerDef] {
        &[]
    }

    /// Timeline action names this kind adds (e.g. `withdraw`, `rekey`).
    fn actions(&self) -> &'static [&'static str] {
        &[]
    }

    /// Parses one of [`NodeKind::actions`]; `rest` holds the entry's action-specific keys.
    fn parse_action(
        &self,
        action: &str,
        rest: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<KindRequest, Diagnostic> {
        let _ = (rest, action);
        Err(cx.error(path, format!("kind {} has no actions", self.name())))
    }

    /// Expectation check names this kind adds.
    fn checks(&self) -> &'static [&'static str] {
        &[]
    }

    /// Parses one of [`NodeKind::checks`].
    fn parse_check(
        &self,
        check: &str,
        rest: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<KindCheck, Diagnostic> {
        let _ = (rest, check);
        Err(cx.error(path, format!("kind {} has no checks", self.name())))
    }

    /// Runs this kind's daemon (`hybridlab daemon <kind> --config FILE`); returns the exit code.
    fn run_daemon(&self, config: &Path) -> Result<i32, String> {
        let _ = config;
        Err(format!("kind {} has no daemon", self.name()))
    }
}

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
}

/// A process to spawn in a node's namespace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessSpec {
    /// Name, unique within the node (kill/restart refer to it).
    pub name: String,
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Files to write into the node directory first: (file name, contents).
    pub files: Vec<(String, String)>,
    /// Extra environment variables (the engine's environment is inherited).
    pub env: Vec<(String, String)>,
    /// Whether it serves the node's control socket (the engine waits for it and reads events).
    pub control_socket: bool,
}

/// A kind action, executed by sending `params` to `node`'s control socket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindRequest {
    /// The kind that owns it.
    pub kind: &'static str,
    /// The target node.
    pub node: String,
    /// The request.
    pub params: ActionParams,
}

/// How a kind judges a `show` result: `Ok(what was seen)` or `Err(why not)`.
pub type Verdict = Arc<dyn Fn(&Value) -> Result<String, String> + Send + Sync>;

/// A kind check: the engine polls `show` on `node` and applies `verdict`.
#[derive(Clone, Serialize)]
pub struct KindCheck {
    /// The kind that owns it.
    pub kind: &'static str,
    /// The node asked.
    pub node: String,
    /// The request.
    pub show: ShowParams,
    /// One line for reports.
    pub describe: String,
    /// The judgement.
    #[serde(skip)]
    pub verdict: Verdict,
}

impl std::fmt::Debug for KindCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindCheck")
            .field("kind", &self.kind)
            .field("node", &self.node)
            .field("show", &self.show)
            .field("describe", &self.describe)
            .finish_non_exhaustive()
    }
}

/// The registered kinds.
pub struct Registry {
    kinds: Vec<Box<dyn NodeKind>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.kinds.iter().map(|k| k.name()))
            .finish()
    }
}

impl Registry {
    /// The generic kinds every lab may use: `host` and `router`. The gateway packages add
    /// theirs with [`Registry::with`]; the `hybridlab` binary's registry holds every one.
    pub fn generic() -> Registry {
        Registry {
            kinds: vec![Box::new(host::HostKind), Box::new(router::RouterKind)],
        }
    }

    /// This registry plus `kind` (tests, and builds with kinds of their own). A kind whose
    /// name is already registered replaces it.
    pub fn with(mut self, kind: Box<dyn NodeKind>) -> Registry {
        self.kinds.retain(|k| k.name() != kind.name());
        self.kinds.push(kind);
        self
    }

    /// The kind named `name`.
    pub fn get(&self, name: &str) -> Option<&dyn NodeKind> {
        self.kinds.iter().find(|k| k.name() == name).map(|k| &**k)
    }

    /// Every kind.
    pub fn all(&self) -> impl Iterator<Item = &dyn NodeKind> {
        self.kinds.iter().map(|k| &**k)
    }

    /// The kind that adds timeline action `action`; when several do, the one registered last
    /// (a kind added with [`Registry::with`] takes the name over from the built-in ones).
    pub fn action_owner(&self, action: &str) -> Option<&dyn NodeKind> {
        self.kinds
            .iter()
            .rev()
            .map(|k| &**k)
            .find(|k| k.actions().contains(&action))
    }

    /// The kind that adds check `check`; when several do, the one registered last.
    pub fn check_owner(&self, check: &str) -> Option<&dyn NodeKind> {
        self.kinds
            .iter()
            .rev()
            .map(|k| &**k)
            .find(|k| k.checks().contains(&check))
    }
}
