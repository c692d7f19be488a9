//! The live lab, the way containerlab users work: `hybridlab up` brings a scenario's topology
//! up and leaves it running under an owner process; `exec`, `act`, `capture`, `ps` and `down`
//! work on it from other processes.
//!
//! ```text
//!  hybridlab up S --lab L ── spawns ──> hybridlab hold S --lab L   (setsid, own session)
//!     reads its stdout until "READY"      rootless::enter, PID namespace, engine::runner::hold
//!     prints how to reach each node       serves <state>/L/owner.sock: action "act"
//!     returns                             stdout/stderr -> <state>/L/owner.log once ready
//!  hybridlab act L cut node=cgw1 ...  ─> owner.sock ─> parsed with the scenario parser
//!                                          (the lab's scenario.toml + the action), played
//!  hybridlab exec L NODE -- CMD       setns into the node's namespace (rootless: first the
//!                                     owner's user and mount namespaces), then exec CMD
//!  hybridlab capture L LINK           the same, then AF_PACKET -> pcapng on stdout
//!  hybridlab down L                   SIGTERM to the owner: it tears down and removes all
//! ```
//!
//! What it does not do: check expectations or play the scenario's timeline (`run` does), or
//! keep a lab across reboots.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use engine::model::Scenario;
use engine::model::timing::Profile;
use engine::parse::parse_scenario_with;
use engine::report::live::Live;
use engine::runner::RunOptions;
use engine::runner::live::{Hooks, Request};
use engine::runner::netns_backend::NetnsBackend;
use engine::runner::recorder::Recorder;
use engine::source::Source;
use netns::join::NsType;
use netns::lab::{LabConfig, LabRecord};
use serde_json::{Map, Value};

use crate::cli::{BAD, FAILED, OK, err, load_source, out, parse_profile};
use crate::lab_record;

/// The owner's control socket, in the lab directory.
const OWNER_SOCKET: &str = "owner.sock";
/// The owner's log once the lab is ready (its live timeline).
const OWNER_LOG: &str = "owner.log";
/// The line the owner prints when the lab is ready.
const READY: &str = "READY ";

fn config() -> LabConfig {
    LabConfig::default()
}

/// Options of `hybridlab up`.
#[derive(Debug)]
pub struct UpArgs {
    /// File or shipped name.
    pub scenario: String,
    /// Lab name.
    pub lab: Option<String>,
    /// `fast` or `aws`.
    pub profile: Option<String>,
    /// Capture every link and TUN device into this directory while the lab runs.
    pub capture: Option<PathBuf>,
    /// Serve the AWS-shaped API (`crate::api`) on this address while the lab runs.
    pub api: Option<std::net::SocketAddr>,
}

fn parse(arg: &str, profile: Option<&str>) -> Result<(Source, Scenario), String> {
    let profile = parse_profile(profile)?;
    let source = load_source(arg)?;
    let scenario =
        parse_scenario_with(&source, &scenarios::registry(), profile).map_err(|d| d.to_string())?;
    Ok((source, scenario))
}

/// `hybridlab up SCENARIO`: checks everything, starts the owner, waits until it says the lab
/// is ready, prints how to reach each node.
pub fn up(args: UpArgs) -> u8 {
    let (_, scenario) = match parse(&args.scenario, args.profile.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    let lab = args
        .lab
        .clone()
        .unwrap_or_else(|| scenario.meta.name.clone());
    if !engine::validate::valid_lab_name(&lab) {
        err(&format!(
            "lab name {lab:?} must match [a-z0-9][a-z0-9-]{{0,23}}"
        ));
        return BAD;
    }
    if let Ok(labs) = netns::lab::list(&config())
        && labs.iter().any(|l| l.name == lab && l.owner_alive)
    {
        err(&format!(
            "lab {lab} is already running (`hybridlab down {lab}` first)"
        ));
        return BAD;
    }
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hybridlab"));
    let mut cmd = Command::new(exe);
    cmd.args(["hold", &args.scenario, "--lab", &lab]);
    if let Some(p) = &args.profile {
        cmd.args(["--profile", p]);
    }
    if let Some(c) = &args.capture {
        let abs = std::path::absolute(c).unwrap_or_else(|_| c.clone());
        cmd.arg("--capture").arg(abs);
    }
    if let Some(a) = &args.api {
        cmd.arg("--api").arg(a.to_string());
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A session of its own: the terminal's Ctrl-C and hang-up no longer reach the owner.
    netns::join::detach(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            err(&format!("cannot start the lab owner: {e}"));
            return BAD;
        }
    };
    // Bring-up progress and errors: passed on while we wait.
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                err(&line);
            }
        });
    }
    let stdout = child.stdout.take().map(BufReader::new);
    let ready = stdout.and_then(|s| {
        s.lines()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix(READY).map(str::to_string))
    });
    let Some(ready) = ready else {
        let status = child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
        err(&format!(
            "lab {lab} did not come up (its owner ended with status {status})"
        ));
        return if status == i32::from(FAILED) || status < 0 {
            FAILED
        } else {
            BAD
        };
    };
    let waiting: Vec<String> = serde_json::from_str(&ready).unwrap_or_default();
    out(&describe(
        &lab,
        &scenario,
        child.id(),
        &waiting,
        args.capture.as_deref(),
    ));
    OK
}

/// What `up` prints: the lab, and how to reach each node.
fn describe(
    lab: &str,
    s: &Scenario,
    pid: u32,
    waiting: &[String],
    capture: Option<&Path>,
) -> String {
    let lab_dir = config().lab_dir(lab);
    let record = LabRecord::load(&lab_dir.join("lab.json")).ok();
    let mut text = if waiting.is_empty() {
        format!(
            "lab {lab} is up: {} ({} nodes, {} links); every session Established, every tunnel UP\n",
            s.meta.name,
            s.topology.nodes.len(),
            s.topology.links.len()
        )
    } else {
        format!(
            "lab {lab} is up but NOT READY after the `converge` timer: {}\n",
            waiting.join(", ")
        )
    };
    text += &format!(
        "owner pid {pid}, log {}\n\n",
        lab_dir.join(OWNER_LOG).display()
    );
    let w = s
        .topology
        .nodes
        .iter()
        .map(|n| n.name().len())
        .max()
        .unwrap_or(4)
        .max(4);
    let addresses = |node: &str| -> String {
        s.topology
            .addresses(node)
            .iter()
            .map(|a| format!("{}:{}", a.ifname, a.addr))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let aw = s
        .topology
        .nodes
        .iter()
        .map(|n| addresses(n.name()).len())
        .max()
        .unwrap_or(9)
        .max(9);
    text += &format!(
        "  {:w$}  {:10} {:aw$}  reach it with\n",
        "NODE", "KIND", "ADDRESSES"
    );
    for n in &s.topology.nodes {
        let mut how = format!("hybridlab exec {lab} {} -- sh", n.name());
        if control::socket_path(&lab_dir, n.name()).exists() {
            how += &format!(" | hybridlab show {lab} {}", n.name());
        }
        if let Some(r) = &record
            && r.mode == netns::rootless::Mode::Root
            && let Some(ns) = r.namespaces.iter().find(|ns| ns.node == n.name())
        {
            how += &format!(" | ip netns exec {} ...", ns.name);
        }
        text += &format!(
            "  {:w$}  {:10} {:aw$}  {how}\n",
            n.name(),
            n.kind(),
            addresses(n.name())
        );
    }
    text += "\nlinks (hybridlab capture LAB LINK | wireshark -k -i -):\n";
    let lw = s
        .topology
        .links
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(4);
    for l in &s.topology.links {
        text += &format!(
            "  {:lw$}  {}:{} <-> {}:{}\n",
            l.name,
            l.endpoints[0].node,
            l.ifname(0),
            l.endpoints[1].node,
            l.ifname(1)
        );
    }
    if let Some(c) = capture {
        text += &format!(
            "\ncapturing every link and TUN device into {}\n",
            c.display()
        );
    }
    text += &format!(
        "\nhybridlab act {lab} ACTION [KEY=VALUE...]   (cut, restore, link_down, kill, restart, ...)\nhybridlab down {lab}\n"
    );
    text
}

/// `hybridlab hold SCENARIO --lab L`: the owner `up` starts (hidden).
pub fn hold(args: UpArgs) -> u8 {
    let (source, scenario) = match parse(&args.scenario, args.profile.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    let Some(lab) = args.lab.clone() else {
        err("hold needs --lab");
        return BAD;
    };
    // The API's socket is bound in the caller's network namespace, before a rootless owner
    // enters its own, so it is reachable where `up` was run.
    let api_listener = match crate::api::listen(args.api) {
        Ok(l) => l,
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    if let Err(e) = netns::rootless::enter() {
        err(&format!("cannot create namespaces: {e}"));
        return BAD;
    }
    let _ = netns::lab::sweep(&config());
    match netns::pid_namespace::run_in_pid_namespace(|| {
        i32::from(hold_lab(
            &scenario,
            &source,
            &lab,
            args.capture.as_deref(),
            api_listener,
        ))
    }) {
        Ok(code) => u8::try_from(code).unwrap_or(BAD),
        Err(e) => {
            err(&format!("cannot start the lab supervisor: {e}"));
            BAD
        }
    }
}

/// Makes stdout and stderr the owner's log (the `up` that waited has gone).
fn redirect_output(lab_dir: &Path) {
    if let Ok(f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(lab_dir.join(OWNER_LOG))
    {
        let _ = netns::join::redirect_stdio(&f);
    }
}

fn hold_lab(
    scenario: &Scenario,
    source: &Source,
    lab: &str,
    capture: Option<&Path>,
    api_listener: Option<std::net::TcpListener>,
) -> u8 {
    let lab_secret = match engine::lab_secret::LabSecret::random() {
        Ok(s) => s,
        Err(e) => {
            err(&e.to_string());
            return BAD;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            err(&format!("cannot start the runtime: {e}"));
            return BAD;
        }
    };
    let profile = scenario.timing.profile;
    let result: Result<engine::report::RunRecord, String> = rt.block_on(async {
        let config = config();
        let backend = NetnsBackend::create(lab, &config).map_err(|e| e.to_string())?;
        if let Some(dir) = capture {
            backend.capture_to(engine::capture::CaptureConfig {
                dir: dir.to_path_buf(),
                every_link: true,
                tunnels: true,
            })?;
        }
        let backend = Arc::new(backend);
        let lab_dir = backend.lab_dir().unwrap_or_else(|| config.lab_dir(lab));
        lab_record::save(&lab_dir, source, profile)?;
        let _api = match api_listener {
            Some(l) => Some(crate::api::start_api(l, scenario, source, lab, &lab_dir)?),
            None => None,
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let stop_on_signal = stop_tx.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            let term = async move {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term => {}
            }
            let _ = stop_on_signal.send(true);
        });
        let (req_tx, req_rx) = tokio::sync::mpsc::channel(16);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let server = serve_owner_socket(&lab_dir, lab, source, profile, req_tx).await?;
        let opts = RunOptions {
            lab: lab.to_string(),
            lab_dir: lab_dir.clone(),
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hybridlab")),
            lab_secret,
        };
        let hooks = Hooks {
            ready: ready_tx,
            requests: req_rx,
        };
        let rec = Recorder::new(Live::new(false));
        let engine = engine::runner::hold(scenario, backend, opts, rec, stop_rx, hooks);
        tokio::pin!(engine);
        // Once ready: tell `up`, then write to the log. When `up` is gone already (Ctrl-C
        // during the bring-up), nobody will ever learn of this lab: tear it down.
        let announce = async {
            if let Ok(r) = ready_rx.await {
                let line = format!(
                    "{READY}{}\n",
                    serde_json::to_string(&r.waiting).unwrap_or_default()
                );
                let mut o = std::io::stdout().lock();
                if o.write_all(line.as_bytes())
                    .and_then(|()| o.flush())
                    .is_err()
                {
                    let _ = stop_tx.send(true);
                }
                drop(o);
                redirect_output(&lab_dir);
            }
        };
        let record = tokio::select! {
            r = &mut engine => r,
            () = announce => (&mut engine).await,
        };
        drop(server);
        Ok(record)
    });
    drop(rt);
    match result {
        Ok(r) if r.error.is_none() || r.interrupted => OK,
        Ok(r) => {
            err(&format!("lab {lab}: {}", r.error.unwrap_or_default()));
            BAD
        }
        Err(e) => {
            err(&format!("cannot create lab {lab}: {e}"));
            BAD
        }
    }
}

/// TOML for one `key = value`: the value as written when it is TOML (`[500, 4500]`, `3`,
/// `true`, `"x"`), else as a string.
fn toml_value(v: &str) -> String {
    if toml::from_str::<toml::Table>(&format!("x = {v}")).is_ok_and(|t| t.len() == 1) {
        v.to_string()
    } else {
        toml::Value::String(v.to_string()).to_string()
    }
}

/// The `[[timeline]]` entry for `act`'s arguments.
fn timeline_entry(name: &str, action: &str, params: &Map<String, Value>) -> Result<String, String> {
    let mut text = format!(
        "\n[[timeline]]\nname = {}\nat = \"0s\"\naction = {}\n",
        toml::Value::String(name.to_string()),
        toml::Value::String(action.to_string())
    );
    for (k, v) in params {
        if ["name", "at", "after", "on_event", "delay", "action"].contains(&k.as_str()) {
            return Err(format!(
                "{k}: an action sent to a live lab runs now, under the name it is given (name=...) or {action}-N"
            ));
        }
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!("{k:?}: not a key"));
        }
        let v = v.as_str().map(toml_value).unwrap_or_else(|| v.to_string());
        text += &format!("{k} = {v}\n");
    }
    Ok(text)
}

/// The owner's control socket: action `act` {action, name?, params} parses the action against
/// the lab's scenario (and the actions run before it, so `restore cut=cut-1` knows `cut-1`)
/// and hands it to the engine.
async fn serve_owner_socket(
    lab_dir: &Path,
    lab: &str,
    source: &Source,
    profile: Profile,
    requests: tokio::sync::mpsc::Sender<Request>,
) -> Result<control::Server, String> {
    let history = Arc::new(Mutex::new(String::new()));
    let counter = Arc::new(AtomicU32::new(0));
    let (lab, text) = (lab.to_string(), source.text.clone());
    let builder = control::ServerBuilder::new("owner").action("act", move |p| {
        let (history, counter, requests) = (history.clone(), counter.clone(), requests.clone());
        let (lab, text) = (lab.clone(), text.clone());
        async move {
            let bad = |m: String| control::ErrorBody::new(control::ErrorCode::BadRequest, m);
            let action = p
                .args
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let params = p
                .args
                .get("params")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
            let name = p
                .args
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{action}-{n}"), str::to_string);
            let entry = timeline_entry(&name, &action, &params).map_err(bad)?;
            let before = history.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let full = Source::new(
                format!("{lab}/scenario.toml + act"),
                format!("{text}\n{before}{entry}"),
            );
            let scenario = parse_scenario_with(&full, &scenarios::registry(), Some(profile))
                .map_err(|d| bad(d.to_string()))?;
            let entry_parsed = scenario
                .timeline
                .into_iter()
                .find(|e| e.name == name)
                .ok_or_else(|| bad(format!("{name}: not parsed")))?;
            let (tx, rx) = tokio::sync::oneshot::channel();
            requests
                .send(Request {
                    entry: entry_parsed,
                    reply: tx,
                })
                .await
                .map_err(|_| bad("the lab is stopping".into()))?;
            let lines = rx
                .await
                .map_err(|_| bad("the lab stopped".into()))?
                .map_err(|e| control::ErrorBody::new(control::ErrorCode::Unavailable, e))?;
            history
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_str(&entry);
            Ok(serde_json::json!({ "name": name, "lines": lines }))
        }
    });
    builder
        .bind(&lab_dir.join(OWNER_SOCKET))
        .await
        .map_err(|e| e.to_string())
}

fn lab_dir_of(lab: &str) -> Result<PathBuf, String> {
    let dir = config().lab_dir(lab);
    if !engine::validate::valid_lab_name(lab) || !dir.join("lab.json").exists() {
        return Err(format!(
            "no lab {lab} is running (nothing at {})",
            dir.display()
        ));
    }
    Ok(dir)
}

/// `hybridlab act LAB ACTION [KEY=VALUE...]`.
pub fn act(lab: &str, action: &str, args: &[String]) -> u8 {
    let run = || -> Result<Value, String> {
        let dir = lab_dir_of(lab)?;
        let socket = dir.join(OWNER_SOCKET);
        if !socket.exists() {
            return Err(format!(
                "lab {lab} was not started by `hybridlab up` (no {}): act works on live labs",
                socket.display()
            ));
        }
        let mut params = Map::new();
        let mut name = None;
        for a in args {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| format!("{a:?}: expected KEY=VALUE"))?;
            if k == "name" {
                name = Some(v.to_string());
            } else {
                params.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
        let mut call = Map::new();
        call.insert("action".into(), action.into());
        call.insert("params".into(), Value::Object(params));
        if let Some(n) = name {
            call.insert("name".into(), n.into());
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            let mut c = control::Client::connect(&socket).await?;
            c.action("act", call).await
        })
        .map_err(|e| match e {
            control::ControlError::Remote(b) => b.message,
            e => e.to_string(),
        })
    };
    match run() {
        Ok(v) => {
            let mut text = String::new();
            for l in v["lines"].as_array().into_iter().flatten() {
                text += &format!("{}\n", l.as_str().unwrap_or_default());
            }
            out(&text);
            OK
        }
        Err(e) => {
            err(&format!("act {lab} {action}: {e}"));
            BAD
        }
    }
}

/// Moves this (single-threaded) process into `node`'s network namespace of running lab
/// `lab`. Rootless, the pin lives in the owner's mount namespace: it is opened through
/// `/proc/OWNER/root`, then the owner's user namespace is joined (which the network namespace
/// belongs to); this process keeps its own mount namespace and /proc. Returns the path the
/// namespace was opened by.
fn enter_node(lab: &str, node: &str) -> Result<PathBuf, String> {
    let dir = lab_dir_of(lab)?;
    let record = LabRecord::load(&dir.join("lab.json")).map_err(|e| e.to_string())?;
    let ns = record
        .namespaces
        .iter()
        .find(|n| n.node == node)
        .ok_or_else(|| {
            let nodes: Vec<&str> = record.namespaces.iter().map(|n| n.node.as_str()).collect();
            format!("lab {lab} has no node {node} (nodes: {})", nodes.join(", "))
        })?;
    let pin = record.pin_dir.join(&ns.name);
    let (pin, user_ns) = if record.mode == netns::rootless::Mode::Rootless {
        let labs = netns::lab::list(&config()).map_err(|e| e.to_string())?;
        let status = labs
            .iter()
            .find(|l| l.name == lab)
            .ok_or_else(|| format!("no lab {lab}"))?;
        let pid = crate::lab_owner::foreign_owner(status)
            .ok_or_else(|| format!("the owner of lab {lab} is not running"))?;
        let inside = pin.strip_prefix("/").unwrap_or(&pin);
        (
            PathBuf::from(format!("/proc/{pid}/root")).join(inside),
            Some(PathBuf::from(format!("/proc/{pid}/ns/user"))),
        )
    } else {
        (pin, None)
    };
    let f = std::fs::File::open(&pin).map_err(|e| format!("opening {}: {e}", pin.display()))?;
    if let Some(u) = user_ns {
        netns::join::join(&u, NsType::User).map_err(|e| e.to_string())?;
    }
    netns::join::join_file(&f, NsType::Net, &format!("the namespace of {node}"))
        .map_err(|e| e.to_string())?;
    Ok(pin)
}

/// `hybridlab exec LAB NODE -- CMD...`: the command replaces this process, inside the node.
pub fn exec(lab: &str, node: &str, cmd: &[String]) -> u8 {
    let Some((program, args)) = cmd.split_first() else {
        err("exec: give a command after --");
        return BAD;
    };
    if let Err(e) = enter_node(lab, node) {
        err(&format!("exec {lab} {node}: {e}"));
        return BAD;
    }
    let e = Command::new(program).args(args).exec();
    err(&format!("exec {lab} {node}: {program}: {e}"));
    127
}

/// `hybridlab capture LAB LINK|NODE:IFNAME [--count N]`: pcapng on stdout.
pub fn capture(lab: &str, what: &str, count: Option<u64>) -> u8 {
    use engine::capture::tap::{self, Medium};
    let resolve = || -> Result<(String, String, Medium), String> {
        let dir = lab_dir_of(lab)?;
        let (source, profile) =
            lab_record::load(&dir)?.ok_or_else(|| format!("lab {lab} has no scenario record"))?;
        let s = parse_scenario_with(&source, &scenarios::registry(), Some(profile))
            .map_err(|d| d.to_string())?;
        if let Some((node, ifname)) = what.split_once(':') {
            // Ethernet or bare IP: decided once inside the namespace.
            return Ok((node.to_string(), ifname.to_string(), Medium::Ip));
        }
        let l = s.topology.link(what).ok_or_else(|| {
            let names: Vec<&str> = s.topology.links.iter().map(|l| l.name.as_str()).collect();
            format!(
                "lab {lab} has no link {what} (links: {}; or NODE:IFNAME for any interface)",
                names.join(", ")
            )
        })?;
        Ok((l.endpoints[0].node.clone(), l.ifname(0), Medium::Ethernet))
    };
    let (node, ifname, mut medium) = match resolve() {
        Ok(r) => r,
        Err(e) => {
            err(&format!("capture {lab} {what}: {e}"));
            return BAD;
        }
    };
    let pin = match enter_node(lab, &node) {
        Ok(p) => p,
        Err(e) => {
            err(&format!("capture {lab} {what}: {e}"));
            return BAD;
        }
    };
    if medium == Medium::Ip {
        // A device with a MAC address (a veth, a TAP) carries Ethernet frames.
        let mac = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()
            .and_then(|rt| {
                rt.block_on(async {
                    let nl = netns::Netlink::open_current().ok()?;
                    nl.link(netns::LinkId::Name(&ifname)).await.ok()?.mac
                })
            });
        if mac.is_some_and(|m| !m.is_empty()) {
            medium = Medium::Ethernet;
        }
    }
    let sock = match netns::Netns::open_path(&pin)
        .map_err(|e| e.to_string())
        .and_then(|ns| tap::open(&ns, &ifname))
    {
        Ok(s) => s,
        Err(e) => {
            err(&format!("capture {lab} {what}: {e}"));
            return BAD;
        }
    };
    err(&format!("capturing {node}:{ifname} (pcapng on stdout)"));
    let stop = AtomicBool::new(false);
    let stdout = std::io::stdout().lock();
    match tap::stream(&sock, &ifname, medium, stdout, &stop, true, count) {
        Ok(_) => OK,
        // The reader went away (wireshark closed): a normal end.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => OK,
        Err(e) => {
            err(&format!("capture {lab} {what}: {e}"));
            BAD
        }
    }
}

fn age(path: &Path) -> String {
    let secs = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .map_or(0, |d| d.as_secs());
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

/// `hybridlab ps`: the labs of this user, running or left by a dead owner.
pub fn ps() -> u8 {
    let labs = match netns::lab::list(&config()) {
        Ok(l) => l,
        Err(e) => {
            err(&format!("listing labs: {e}"));
            return BAD;
        }
    };
    if labs.is_empty() {
        out("no labs\n");
        return OK;
    }
    let mut rows = vec![[
        "LAB".to_string(),
        "SCENARIO".into(),
        "MODE".into(),
        "AGE".into(),
        "NODES".into(),
        "OWNER".into(),
    ]];
    for l in &labs {
        let dir = config().lab_dir(&l.name);
        let scenario = lab_record::load(&dir)
            .ok()
            .flatten()
            .map(|(s, _)| {
                parse_scenario_with(&s, &scenarios::registry(), None)
                    .map(|sc| sc.meta.name)
                    .unwrap_or(s.name)
            })
            .unwrap_or_else(|| "?".into());
        let pid = crate::lab_owner::foreign_owner(l).unwrap_or(l.record.owner.pid);
        rows.push([
            l.name.clone(),
            scenario,
            if dir.join(OWNER_SOCKET).exists() {
                "live"
            } else {
                "run"
            }
            .into(),
            age(&dir.join("lab.json")),
            l.record.namespaces.len().to_string(),
            if l.owner_alive {
                format!("{pid} alive")
            } else {
                "dead (hybridlab down)".into()
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        text += cells.join("  ").trim_end();
        text += "\n";
    }
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn act_arguments_become_a_timeline_entry() {
        let mut p = Map::new();
        p.insert("node".into(), "cgw1".into());
        p.insert("ports".into(), "[500, 4500]".into());
        p.insert("proto".into(), "udp".into());
        let t = timeline_entry("cut-1", "cut", &p).unwrap();
        assert!(
            t.contains("name = \"cut-1\"\nat = \"0s\"\naction = \"cut\"\n"),
            "{t}"
        );
        assert!(t.contains("node = \"cgw1\"\n"));
        assert!(t.contains("ports = [500, 4500]\n"));
        assert!(t.contains("proto = \"udp\"\n"));
        let mut at = Map::new();
        at.insert("at".into(), "3s".into());
        assert!(timeline_entry("x", "cut", &at).is_err());
        let mut inj = Map::new();
        inj.insert("node = 1\nx".into(), "y".into());
        assert!(timeline_entry("x", "cut", &inj).is_err());
    }
}
