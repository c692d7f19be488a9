//! The engine against a recording fake backend (no privileges): bring-up order, timeline
//! triggers (`at`, `after`, auto-restore), expectation verdicts, `after` a failure, and a
//! teardown that always happens. Probes run over loopback, so they really deliver.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::kind::{ProcessSpec, StaticRoute};
use engine::model::TrafficMatch;
use engine::parse::parse_scenario;
use engine::probe::NsRunner;
use engine::report::live::Live;
use engine::report::{EventSource, Outcome};
use engine::runner::backend::{Backend, BackendError, CutId, ProcId, RouteView};
use engine::runner::plan::LinkPlan;
use engine::runner::recorder::Recorder;
use engine::runner::{RunOptions, run};
use engine::source::Source;

#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<String>>,
    routes: Mutex<BTreeMap<String, Vec<RouteView>>>,
    fail_link: Option<String>,
}

impl Fake {
    fn log(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl NsRunner for Fake {
    fn run_in(&self, _node: &str, f: Box<dyn FnOnce() + Send + '_>) -> Result<(), String> {
        f();
        Ok(())
    }
}

impl Backend for Fake {
    async fn create_nodes(&self, nodes: &[String]) -> Result<(), BackendError> {
        self.log(format!("nodes {}", nodes.join(",")));
        Ok(())
    }
    async fn create_link(&self, link: &LinkPlan) -> Result<(), BackendError> {
        if self.fail_link.as_deref() == Some(link.name.as_str()) {
            return Err(BackendError(format!(
                "creating link {}: File exists",
                link.name
            )));
        }
        self.log(format!("link {}", link.name));
        Ok(())
    }
    async fn set_forwarding(&self, node: &str) -> Result<(), BackendError> {
        self.log(format!("forwarding {node}"));
        Ok(())
    }
    async fn add_route(&self, node: &str, route: &StaticRoute) -> Result<(), BackendError> {
        self.log(format!("route {node} {}", route.to));
        self.routes
            .lock()
            .unwrap()
            .entry(node.into())
            .or_default()
            .push(RouteView {
                dst: route.to,
                gateways: route.via.into_iter().collect(),
                devs: vec!["h2".into()],
            });
        Ok(())
    }
    async fn routes(&self, node: &str) -> Result<Vec<RouteView>, BackendError> {
        Ok(self
            .routes
            .lock()
            .unwrap()
            .get(node)
            .cloned()
            .unwrap_or_default())
    }
    async fn set_link_up(&self, node: &str, ifname: &str, up: bool) -> Result<(), BackendError> {
        self.log(format!("set {node}:{ifname} {up}"));
        Ok(())
    }
    async fn cut(
        &self,
        node: &str,
        ifname: Option<&str>,
        m: &TrafficMatch,
    ) -> Result<CutId, BackendError> {
        self.log(format!(
            "cut {node}:{} {}",
            ifname.unwrap_or("*"),
            m.describe()
        ));
        Ok(self.calls.lock().unwrap().len() as u64)
    }
    async fn restore(&self, cut: CutId) -> Result<(), BackendError> {
        self.log(format!("restore {cut}"));
        Ok(())
    }
    fn spawn(&self, node: &str, spec: &ProcessSpec, _dir: &Path) -> Result<ProcId, BackendError> {
        self.log(format!("spawn {node}/{}", spec.name));
        Ok(1)
    }
    fn is_running(&self, _proc: ProcId) -> bool {
        true
    }
    fn kill(&self, proc: ProcId) -> Result<(), BackendError> {
        self.log(format!("kill {proc}"));
        Ok(())
    }
    async fn teardown(&self) -> Result<(), BackendError> {
        self.log("teardown".into());
        Ok(())
    }
}

const SCENARIO: &str = r#"
[scenario]
name = "fake"

[timing]
converge = "5s"
linger = "50ms"

[[host]]
name = "h1"
routes = [{ to = "192.0.2.0/24", via = "127.0.0.11" }]

[[host]]
name = "h2"
commands = [{ name = "sleeper", run = ["sleep", "60"] }]

[[link]]
name = "l"
endpoints = [{ node = "h1", address = "127.0.0.10/8" }, { node = "h2", address = "127.0.0.11/8" }]

[[probe]]
name = "u"
from = "h1"
to = "h2"
port = 47_411

[[timeline]]
name = "c"
at = "200ms"
action = "cut"
link = "l"
proto = "udp"
port = 4500
duration = "300ms"

[[timeline]]
name = "k"
after = "c"
delay = "100ms"
action = "kill"
node = "h2"

[[expect]]
name = "route"
check = "route"
node = "h1"
prefix = "192.0.2.0/24"
via = "127.0.0.11"

[[expect]]
name = "wrong hop"
within = "200ms"
check = "route"
node = "h1"
prefix = "192.0.2.0/24"
via = "127.0.0.99"

[[expect]]
name = "after wrong hop"
after = "wrong hop"
check = "delivers"
probe = "u"

[[expect]]
name = "delivers after the kill"
after = "k"
check = "delivers"
probe = "u"

[[expect]]
name = "no gap"
check = "max_gap"
probe = "u"
below = "1s"
"#;

async fn run_fake(fake: Arc<Fake>, port: u16) -> engine::report::RunRecord {
    let text = SCENARIO.replace("47_411", &port.to_string());
    let s = parse_scenario(&Source::new("fake.toml", text), &scenarios::registry()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        lab: "fake".into(),
        lab_dir: dir.path().to_path_buf(),
        exe: "hybridlab".into(),
        lab_secret: engine::lab_secret::LabSecret::random().unwrap(),
    };
    let (_tx, rx) = tokio::sync::watch::channel(false);
    run(&s, fake, opts, Recorder::new(Live::new(true)), rx).await
}

#[tokio::test]
async fn bring_up_timeline_expectations_and_teardown() {
    let fake = Arc::new(Fake::default());
    let r = run_fake(fake.clone(), 47_411).await;
    let calls = fake.calls();
    let pos = |prefix: &str| {
        calls
            .iter()
            .position(|c| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {calls:?}"))
    };
    assert!(pos("nodes h1,h2") < pos("link l"));
    assert!(pos("link l") < pos("route h1 192.0.2.0/24"));
    assert!(pos("route h1") < pos("spawn h2/sleeper"));
    // A link cut sits at the link's first end (it sees both directions); its auto-restore
    // removes exactly that cut.
    let cut_at = pos("cut h1:h2 udp port 4500");
    assert!(!calls.iter().any(|c| c.starts_with("cut h2:")));
    assert!(cut_at < pos("restore"));
    assert_eq!(calls.iter().filter(|c| c.starts_with("restore")).count(), 1);
    // The kill waits for `c` + 100 ms, the auto-restore for `c` + 300 ms.
    assert!(pos("kill 1") < pos("restore"));
    assert_eq!(calls.last().map(String::as_str), Some("teardown"));
    assert_eq!(calls.iter().filter(|c| *c == "teardown").count(), 1);

    let outcome = |n: &str| r.expectations.iter().find(|e| e.name == n).unwrap().outcome;
    assert_eq!(outcome("route"), Outcome::Passed);
    assert_eq!(outcome("wrong hop"), Outcome::Failed);
    assert_eq!(outcome("after wrong hop"), Outcome::NotRun);
    assert_eq!(outcome("delivers after the kill"), Outcome::Passed);
    assert_eq!(outcome("no gap"), Outcome::Passed);
    assert!(!r.passed());
    let wrong = r
        .expectations
        .iter()
        .find(|e| e.name == "wrong hop")
        .unwrap();
    assert!(
        wrong.detail.contains("192.0.2.0/24 via 127.0.0.11"),
        "{}",
        wrong.detail
    );
    // Actions are on the timeline at or after their trigger time.
    let cut = r
        .events
        .iter()
        .find(|e| e.source == EventSource::Action && e.kind == "cut")
        .unwrap();
    assert!(cut.t_ns >= r.t0_ns + 200_000_000);
    let kill = r
        .events
        .iter()
        .find(|e| e.source == EventSource::Action && e.kind == "kill")
        .unwrap();
    assert!(kill.t_ns >= cut.t_ns + 100_000_000);
    assert_eq!(r.probes[0].loss.lost, 0, "{:?}", r.probes[0].loss);
    assert!(r.probes[0].loss.sent > 100);
}

#[tokio::test]
async fn a_failed_bring_up_still_tears_down() {
    let fake = Arc::new(Fake {
        fail_link: Some("l".into()),
        ..Fake::default()
    });
    let r = run_fake(fake.clone(), 47_412).await;
    assert!(
        r.error
            .as_deref()
            .unwrap_or("")
            .contains("creating link l: File exists"),
        "{:?}",
        r.error
    );
    assert!(r.expectations.iter().all(|e| e.outcome == Outcome::NotRun));
    assert_eq!(fake.calls().last().map(String::as_str), Some("teardown"));
    assert!(!r.passed());
}

#[tokio::test]
async fn stop_interrupts_and_tears_down() {
    let fake = Arc::new(Fake::default());
    let s = parse_scenario(
        &Source::new(
            "fake.toml",
            SCENARIO
                .replace("at = \"200ms\"", "at = \"60s\"")
                .replace("47_411", "47413"),
        ),
        &scenarios::registry(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        lab: "fake".into(),
        lab_dir: dir.path().to_path_buf(),
        exe: "hybridlab".into(),
        lab_secret: engine::lab_secret::LabSecret::random().unwrap(),
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    let f2 = fake.clone();
    let stopper = tokio::spawn(async move {
        testkit::wait_for_async(
            "timeline started",
            Duration::from_secs(10),
            Duration::from_millis(10),
            || {
                let started = f2.calls().iter().any(|c| c.starts_with("spawn"));
                async move { if started { Ok(()) } else { Err(()) } }
            },
        )
        .await
        .unwrap();
        tx.send(true).unwrap();
    });
    let r = run(&s, fake.clone(), opts, Recorder::new(Live::new(true)), rx).await;
    stopper.await.unwrap();
    assert!(
        r.error.as_deref().unwrap_or("").contains("interrupted"),
        "{:?}",
        r.error
    );
    assert!(!fake.calls().iter().any(|c| c.starts_with("cut")));
    assert_eq!(fake.calls().last().map(String::as_str), Some("teardown"));
}
