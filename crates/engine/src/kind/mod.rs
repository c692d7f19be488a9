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
//! # Where the pieces live
//!
//! A kind package imports everything from here, but only the kind's entry point is defined here:
//! [`NodeKind`] (parse a section into nodes, timers, actions, checks, the daemon), the
//! [`Registry`], the generic kinds and their shared checks ([`common`]). What a parsed *node* is
//! and answers ([`NodeSpec`], [`NodeSetup`], [`StaticRoute`], [`NodeEnv`], [`ProcessSpec`], the
//! [`query`] questions) is part of the scenario model (`crate::model::node` and `::query`),
//! because a [`Topology`](crate::model::Topology) is made of nodes and a node is validated against
//! the topology: the two refer to each other, so they must live together, below this module. So
//! do the kind-made payloads the model stores ([`KindRequest`] in a timeline entry, [`KindCheck`]
//! in an expectation). [`ParseCx`] sits lower still (`crate::parse_cx`): kinds, validation and
//! the parser all take it, and the parser calls the other two. The re-exports keep one import
//! path (`engine::kind::...`) for kind authors; the layers, each using only those before it, are
//! `source, diagnostic, duration, profile, parse_cx` < `model` < `kind` < `validate` < `parse`.
//!
//! What it does not do: create anything (the engine does, through `netns`).

pub mod common;
pub mod external;
pub mod host;
pub mod router;

use std::path::Path;

pub use crate::model::expect::{KindCheck, Verdict};
pub use crate::model::node::{NodeEnv, NodeFile, NodeSetup, NodeSpec, ProcessSpec, StaticRoute};
pub use crate::model::query;
pub use crate::model::timeline::KindRequest;

use crate::diagnostic::Diagnostic;
use crate::model::timing::TimerDef;
use crate::parse_cx::{Node, ParseCx};
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
