//! A node kind defined outside the crate, registered with one line (`Registry::with`), runs on
//! the real engine without any engine change. It shows what the VPN kinds (vgw, cgw) need:
//!
//! - its own underlay link (`uplink`, to a router), validated like a `[[link]]` (an overlapping
//!   address is reported at the kind's field);
//! - a daemon spawned in its namespace that serves the control socket and programs *another*
//!   node's route table (through `NodeEnv::namespaces`), as a vgw programs its vpc;
//! - an expectation answered through the daemon's control socket (`edge_state`) and a timeline
//!   action sent to it (`withdraw`, which removes the route it programmed);
//! - a cut of one peer's underlay only (`proto = "udp"`, `ports`, `peer`), as a tunnel cut is.
//!
//! Runs as root (namespaces). This binary is also the test kind's daemon: started as
//! `kind_plugin daemon CONFIG` inside the node's namespace, it serves the control socket.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use control::{ErrorBody, ErrorCode, ServerBuilder, ShowParams};
use engine::diagnostic::Diagnostic;
use engine::kind::{
    KindCheck, KindRequest, NodeEnv, NodeFile, NodeKind, NodeSetup, NodeSpec, ProcessSpec,
    Registry, StaticRoute,
};
use engine::model::{Endpoint, Link, Topology};
use engine::parse::{Node, ParseCx, parse_scenario};
use engine::report::Outcome;
use engine::report::live::Live;
use engine::runner::netns_backend::NetnsBackend;
use engine::runner::recorder::Recorder;
use engine::runner::{RunOptions, run};
use engine::source::{FieldPath, Source};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The test kind: `[[edge]]`.
struct EdgeKind {
    /// This test binary, the kind's daemon.
    exe: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Uplink {
    node: String,
    address: IpNet,
    peer_address: IpNet,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Program {
    node: String,
    prefix: IpNet,
    via: IpAddr,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edge {
    name: String,
    uplink: Uplink,
    gateway: IpAddr,
    program: Program,
    #[serde(skip)]
    path: FieldPath,
    #[serde(skip)]
    exe: PathBuf,
}

/// What the daemon reads.
#[derive(Debug, Serialize, Deserialize)]
struct DaemonConfig {
    node: String,
    socket: PathBuf,
    target_ns: PathBuf,
    prefix: IpNet,
    via: IpAddr,
}

impl NodeKind for EdgeKind {
    fn name(&self) -> &'static str {
        "edge"
    }

    fn summary(&self) -> &'static str {
        "test kind: own uplink, a daemon that programs another node's routes"
    }

    fn parse(
        &self,
        table: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<Box<dyn NodeSpec>, Diagnostic> {
        let mut e: Edge = cx.de(table, path)?;
        e.path = path.clone();
        e.exe = self.exe.clone();
        Ok(Box::new(e))
    }

    fn actions(&self) -> &'static [&'static str] {
        &["withdraw"]
    }

    fn parse_action(
        &self,
        action: &str,
        rest: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<KindRequest, Diagnostic> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            node: String,
        }
        let r: Raw = cx.de(rest, path)?;
        Ok(KindRequest {
            kind: "edge",
            node: r.node,
            params: control::ActionParams {
                kind: action.to_string(),
                args: Default::default(),
            },
        })
    }

    fn checks(&self) -> &'static [&'static str] {
        &["edge_state"]
    }

    fn parse_check(
        &self,
        _check: &str,
        rest: &Node<'_>,
        path: &FieldPath,
        cx: &ParseCx<'_>,
    ) -> Result<KindCheck, Diagnostic> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            node: String,
            state: String,
        }
        let r: Raw = cx.de(rest, path)?;
        let want = r.state.clone();
        Ok(KindCheck {
            kind: "edge",
            node: r.node.clone(),
            show: ShowParams {
                what: "state".into(),
                args: Default::default(),
            },
            describe: format!("{} is {}", r.node, r.state),
            verdict: Arc::new(move |v: &Value| match v["state"].as_str() {
                Some(s) if s == want => Ok(format!("state {s}")),
                other => Err(format!("state is {other:?}, expected {want}")),
            }),
        })
    }
}

impl NodeSpec for Edge {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "edge"
    }

    fn path(&self) -> &FieldPath {
        &self.path
    }

    fn validate(&self, topo: &Topology, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        match topo.node(&self.program.node) {
            Some(_) => Vec::new(),
            None => vec![cx.error(
                &self.path.key("program").key("node"),
                format!("unknown node {:?}", self.program.node),
            )],
        }
    }

    fn setup(&self, _topo: &Topology) -> NodeSetup {
        NodeSetup {
            routes: vec![StaticRoute {
                to: "0.0.0.0/0".parse().expect("prefix"),
                via: Some(self.gateway),
                dev: None,
                metric: None,
            }],
            ..NodeSetup::default()
        }
    }

    fn links(&self) -> Vec<Link> {
        let end = |node: &str, address: IpNet| Endpoint {
            node: node.to_string(),
            ifname: None,
            address: Some(address),
            addresses: Vec::new(),
        };
        vec![Link {
            name: format!("{}-uplink", self.name),
            endpoints: [
                end(&self.name, self.uplink.address),
                end(&self.uplink.node, self.uplink.peer_address),
            ],
            mtu: None,
            capture: false,
            path: self.path.key("uplink"),
        }]
    }

    fn processes(&self, env: &NodeEnv<'_>) -> Vec<ProcessSpec> {
        let config = DaemonConfig {
            node: self.name.clone(),
            socket: env.socket.clone(),
            target_ns: env
                .namespaces
                .get(&self.program.node)
                .cloned()
                .unwrap_or_default(),
            prefix: self.program.prefix,
            via: self.program.via,
        };
        vec![ProcessSpec {
            name: "edged".into(),
            argv: vec![
                self.exe.display().to_string(),
                "daemon".into(),
                "edge.json".into(),
            ],
            files: vec![NodeFile::new(
                "edge.json",
                serde_json::to_string(&config).expect("config"),
            )],
            env: vec![("EDGE_TEST_DAEMON".into(), "1".into())],
            control_socket: true,
        }]
    }
}

/// The daemon: programs the route in the target namespace, serves `show state` and the
/// `withdraw` action, until killed.
fn daemon(config: &Path) -> i32 {
    assert_eq!(std::env::var("EDGE_TEST_DAEMON").as_deref(), Ok("1"));
    let c: DaemonConfig =
        serde_json::from_slice(&std::fs::read(config).expect("read config")).expect("config");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let ns = netns::Netns::open_path(&c.target_ns).expect("open the target namespace");
        let nl = Arc::new(netns::Netlink::open(&ns).expect("netlink in the target"));
        let route = netns::Route::new(c.prefix).via(c.via);
        nl.replace_route(&route).await.expect("program the route");
        let programmed = Arc::new(Mutex::new(true));
        let builder = ServerBuilder::new(&c.node);
        let events = builder.publisher();
        let p = programmed.clone();
        let builder = builder
            .show("state", move |_| {
                let on = *p.lock().expect("lock");
                async move { Ok(json!({"state": "up", "programmed": on})) }
            })
            .action("withdraw", move |_| {
                let (nl, route, p, events) = (
                    nl.clone(),
                    route.clone(),
                    programmed.clone(),
                    events.clone(),
                );
                async move {
                    nl.del_route(&route).await.map_err(|e| {
                        ErrorBody::new(ErrorCode::Internal, format!("withdraw: {e}"))
                    })?;
                    *p.lock().expect("lock") = false;
                    events.publish("route.withdrawn", json!({}));
                    Ok(json!("withdrawn"))
                }
            });
        let _server = builder.bind(&c.socket).await.expect("bind control socket");
        std::future::pending::<()>().await;
    });
    0
}

fn scenario_text(uplink_address: &str) -> String {
    format!(
        r#"[scenario]
name = "sctkind"

[[router]]
name = "kr"

[[host]]
name = "kh"
gateway = "10.81.0.1"

[[link]]
endpoints = [{{ node = "kh", address = "10.81.0.10/24" }}, {{ node = "kr", address = "10.81.0.1/24" }}]

[[edge]]
name = "ke"
uplink = {{ node = "kr", address = "{uplink_address}", peer_address = "10.80.0.1/24" }}
gateway = "10.80.0.1"
program = {{ node = "kh", prefix = "10.99.0.0/24", via = "10.81.0.1" }}

[[probe]]
name = "udp"
from = "kh"
to = "ke"
rate = 1000

[[timeline]]
name = "cut-peer"
at = "1s"
action = "cut"
node = "kr"
proto = "udp"
ports = [7000]
peer = "10.80.0.2"
duration = "500ms"

[[timeline]]
name = "withdraw"
at = "2s"
action = "withdraw"
node = "ke"

[[expect]]
name = "the daemon programmed kh's route"
check = "route"
node = "kh"
prefix = "10.99.0.0/24"
via = "10.81.0.1"

[[expect]]
name = "the daemon says it is up"
check = "edge_state"
node = "ke"
state = "up"

[[expect]]
name = "the probe crosses the kind's own link"
check = "delivers"
probe = "udp"

[[expect]]
name = "the peer cut costs about 500 ms"
check = "max_gap"
probe = "udp"
above = "450ms"
below = "600ms"

[[expect]]
name = "withdraw removed the route"
after = "withdraw"
within = "2s"
check = "route"
node = "kh"
prefix = "10.99.0.0/24"
present = false
"#
    )
}

fn registry() -> Registry {
    let exe = std::env::current_exe().expect("own path");
    scenarios::registry().with(Box::new(EdgeKind { exe }))
}

/// The kind's link is validated like a `[[link]]`: an address overlapping another link's is
/// reported at the kind's `uplink` field.
fn kind_links_are_validated() {
    let text = scenario_text("10.81.0.2/24");
    let errs = parse_scenario(&Source::new("kind.toml", text.clone()), &registry())
        .expect_err("overlap must be refused")
        .0;
    let line = 1 + text.lines().position(|l| l.starts_with("uplink")).unwrap();
    assert!(
        errs.iter()
            .any(|d| d.position.line == line && d.path.to_string().starts_with("edge[0].uplink")),
        "{errs:#?}"
    );
}

fn kind_runs_on_the_real_engine() {
    let state = tempfile::tempdir().expect("temp dir");
    let s = parse_scenario(
        &Source::new("kind.toml", scenario_text("10.80.0.2/24")),
        &registry(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let record = rt.block_on(async {
        let config = netns::LabConfig::with_state_root(state.path());
        let backend = Arc::new(NetnsBackend::create("sctkind", &config).expect("lab"));
        let opts = RunOptions {
            lab: "sctkind".into(),
            lab_dir: backend.lab_dir().expect("lab dir"),
            exe: PathBuf::from(env!("CARGO_BIN_EXE_hybridlab")),
            lab_secret: engine::lab_secret::LabSecret::random().unwrap(),
        };
        let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        // Meanwhile, a user asks the daemon through `hybridlab show`.
        let root = state.path().to_path_buf();
        let show = async move {
            let socket = control::socket_path(&root.join("sctkind"), "ke");
            testkit::wait_for_async(
                "the edge daemon's control socket",
                std::time::Duration::from_secs(20),
                std::time::Duration::from_millis(20),
                || {
                    let socket = socket.clone();
                    async move { if socket.exists() { Ok(()) } else { Err(()) } }
                },
            )
            .await
            .expect("socket");
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_hybridlab"))
                    .args(["show", "sctkind", "ke", "state"])
                    .env("HYBRIDLAB_STATE_DIR", &root)
                    .output()
                    .expect("run hybridlab show")
            })
            .await
            .expect("join")
        };
        let recorder = Recorder::new(Live::new(true));
        tokio::join!(run(&s, backend, opts, recorder, stop_rx), show)
    });
    let (record, shown) = record;
    let shown_text = String::from_utf8_lossy(&shown.stdout);
    assert_eq!(shown.status.code(), Some(0), "{shown:?}");
    let view: Value = serde_json::from_str(&shown_text).expect("show prints JSON");
    assert_eq!(view["state"], "up", "{shown_text}");
    let summary = engine::report::summary::render(&record);
    assert!(record.error.is_none(), "{summary}");
    for e in &record.expectations {
        assert_eq!(
            e.outcome,
            Outcome::Passed,
            "{}: {}\n{summary}",
            e.name,
            e.detail
        );
    }
    // The daemon's own event reached the run's timeline through the control socket.
    assert!(
        record
            .events
            .iter()
            .any(|e| e.subject == "ke" && e.kind == "route.withdrawn"),
        "{summary}"
    );
    assert!(
        !Path::new("/run/netns/hl-sctkind-ke").exists(),
        "the lab is torn down"
    );
    assert!(!state.path().join("sctkind").exists(), "state removed");
}

/// A minimal libtest-compatible harness: `--list`, name filters (substrings, as libtest's),
/// other flags accepted and ignored; the tests run one after another.
#[allow(clippy::print_stdout)] // the harness's report is its output
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("daemon") {
        std::process::exit(daemon(Path::new(&args[2])));
    }
    let tests: [(&str, fn()); 2] = [
        ("kind_links_are_validated", kind_links_are_validated),
        ("kind_runs_on_the_real_engine", kind_runs_on_the_real_engine),
    ];
    let filters: Vec<&str> = args[1..]
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let chosen = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f)));
    if args.iter().any(|a| a == "--list") {
        for (name, _) in chosen {
            println!("{name}: test");
        }
        return;
    }
    let mut ran = 0;
    for (name, f) in chosen {
        f();
        println!("test {name} ... ok");
        ran += 1;
    }
    println!("\ntest result: ok. {ran} passed; 0 failed");
}
