//! The subcommands of `hybridlab` (binary-only code: this is where output goes to stdout).
//!
//! What it does not do: any engine work itself; it parses, calls the library, and reports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::model::Scenario;
use engine::model::timing::Profile;
use engine::parse::parse_scenario_with;
use engine::report::{self, RunRecord, live::Live};
use engine::runner::container_runtime::{DockerRuntime, Runtime};
use engine::runner::netns_backend::NetnsBackend;
use engine::runner::recorder::Recorder;
use engine::runner::{RunOptions, run as run_engine};
use engine::source::Source;
use scenarios::shipped;

use crate::lab_record;

/// Exit code: every expectation held.
pub const OK: u8 = 0;
/// Exit code: an expectation failed.
pub const FAILED: u8 = 1;
/// Exit code: bad input or environment.
pub const BAD: u8 = 2;

/// Logs go to stderr, filtered by `HYBRIDLAB_LOG` (default: warnings).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HYBRIDLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

pub(crate) fn err(text: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{text}");
}

/// Reads a scenario: a file path, or a shipped scenario's name.
pub(crate) fn load_source(arg: &str) -> Result<Source, String> {
    let path = Path::new(arg);
    // A directory is never a scenario: `hybridlab run tgw-connect` in the repository's root
    // names the shipped scenario, not the package directory of the same name.
    if path.exists() && !(path.is_dir() && shipped::find(arg).is_some()) {
        return std::fs::read_to_string(path)
            .map(|text| Source::new(arg, text))
            .map_err(|e| format!("cannot read {arg}: {e}"));
    }
    if let Some(s) = shipped::find(arg) {
        return Ok(s.source());
    }
    let names: Vec<&str> = shipped::SHIPPED.iter().map(|s| s.name).collect();
    Err(format!(
        "{arg}: no such file, and no shipped scenario of that name (shipped: {})",
        names.join(", ")
    ))
}

/// `--profile fast|aws`, when given.
pub(crate) fn parse_profile(arg: Option<&str>) -> Result<Option<Profile>, String> {
    match arg {
        None => Ok(None),
        Some("fast") => Ok(Some(Profile::Fast)),
        Some("aws") => Ok(Some(Profile::Aws)),
        Some(other) => Err(format!("--profile {other}: expected fast or aws")),
    }
}

fn load(arg: &str) -> Result<Scenario, String> {
    load_with(arg, None)
}

fn load_with(arg: &str, profile: Option<Profile>) -> Result<Scenario, String> {
    let source = load_source(arg)?;
    parse_scenario_with(&source, &scenarios::registry(), profile).map_err(|d| d.to_string())
}

/// `hybridlab validate FILE`.
pub fn validate(arg: &str) -> u8 {
    match load(arg) {
        Ok(s) => {
            out(&format!(
                "{}: valid ({} nodes, {} links, {} probes, {} actions, {} expectations)\n",
                s.file,
                s.topology.nodes.len(),
                s.topology.links.len(),
                s.probes.len(),
                s.timeline.len(),
                s.expectations.len()
            ));
            OK
        }
        Err(e) => {
            err(&e);
            BAD
        }
    }
}

/// `hybridlab list`.
pub fn list() -> u8 {
    let mut text = String::from("Shipped scenarios (hybridlab run NAME):\n");
    let width = shipped::SHIPPED
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    for s in shipped::SHIPPED {
        let default = if s.name == shipped::DEFAULT {
            " (default)"
        } else {
            ""
        };
        text += &format!("  {:width$}  {}{default}\n", s.name, s.description());
    }
    text += "\nNode kinds:\n";
    let reg = scenarios::registry();
    let kw = reg.all().map(|k| k.name().len()).max().unwrap_or(0);
    for k in reg.all() {
        text += &format!("  {:kw$}  {}\n", k.name(), k.summary());
    }
    out(&text);
    OK
}

/// Options of `hybridlab run`.
#[derive(Debug)]
pub struct RunArgs {
    /// File or shipped name.
    pub scenario: Option<String>,
    /// Lab name.
    pub lab: Option<String>,
    /// `fast` or `aws`, replacing the file's profile.
    pub profile: Option<String>,
    /// JSON report path.
    pub json: Option<PathBuf>,
    /// JUnit report path.
    pub junit: Option<PathBuf>,
    /// SVG path.
    pub svg: Option<PathBuf>,
    /// Capture every link and TUN device into this directory (pcapng).
    pub capture: Option<PathBuf>,
    /// Self-contained HTML page path.
    pub html: Option<PathBuf>,
    /// No progress.
    pub quiet: bool,
    /// `--runtime docker`: the nodes' image.
    pub docker_image: Option<String>,
    /// Serve the AWS-shaped API (`aws-api`) on this address while the lab runs.
    pub api: Option<std::net::SocketAddr>,
}

/// `hybridlab run [FILE]`: everything is checked before anything is created; then the
/// process enters its user namespace (when not root) and runs the lab as pid 1 of a new PID
/// namespace, so that whatever happens to it, the kernel reaps every lab process.
pub fn run(args: RunArgs) -> u8 {
    let arg = args
        .scenario
        .clone()
        .unwrap_or_else(|| shipped::DEFAULT.to_string());
    let profile = match parse_profile(args.profile.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    let source = match load_source(&arg) {
        Ok(s) => s,
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    let scenario = match parse_scenario_with(&source, &scenarios::registry(), profile) {
        Ok(s) => s,
        Err(d) => {
            err(&d.to_string());
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
    for p in [&args.json, &args.junit, &args.svg, &args.html]
        .into_iter()
        .flatten()
    {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            err(&format!(
                "cannot write {}: {} is not a directory",
                p.display(),
                dir.display()
            ));
            return BAD;
        }
    }
    if let Some(image) = &args.docker_image
        && let Err(e) = check_docker(image)
    {
        err(&e);
        return BAD;
    }
    // Containers' pids (`--runtime docker`, `external = { container }`) are the host's: keep
    // a handle on its /proc before the lab's PID namespace mounts its own.
    if let Err(e) = netns::container::remember_host_proc() {
        err(&format!("cannot open /proc: {e}"));
        return BAD;
    }
    // The API's socket is bound here, in the caller's network namespace, before a rootless
    // run enters its own: it stays reachable on the caller's loopback.
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
    // Sweep before entering the lab's PID namespace: its private /proc shows only its own
    // processes, so from inside, every other running lab's owner would look dead (two labs
    // started together swept each other).
    match netns::lab::sweep(&netns::lab::LabConfig::default()) {
        Ok(swept) if !swept.is_empty() => err(&format!(
            "removed leftovers of dead labs: {}",
            swept.join(", ")
        )),
        Ok(_) => {}
        Err(e) => err(&format!("warning: sweeping dead labs: {e}")),
    }
    match netns::pid_namespace::run_in_pid_namespace(|| {
        i32::from(run_lab(&scenario, &source, &lab, &args, api_listener))
    }) {
        Ok(code) => match u8::try_from(code) {
            Ok(c @ (OK | FAILED | BAD)) => c,
            // A panic (101) or a signal (128 + n): the lab's processes died with the engine
            // (PID namespace) and the supervisor swept what it left.
            _ => {
                // Its owner is dead now, so a sweep removes whatever a panic left.
                let swept = netns::lab::sweep(&netns::lab::LabConfig::default());
                err(&format!(
                    "the lab engine ended abnormally (status {code}); sweep: {}",
                    match swept {
                        Ok(labs) if labs.is_empty() => "nothing left".to_string(),
                        Ok(labs) => format!("removed {}", labs.join(", ")),
                        Err(e) => format!("failed: {e} (run `hybridlab down`)"),
                    }
                ));
                BAD
            }
        },
        Err(e) => {
            err(&format!("cannot start the lab supervisor: {e}"));
            BAD
        }
    }
}

/// `--runtime docker`: as root, with a Docker daemon that has `image`.
fn check_docker(image: &str) -> Result<(), String> {
    if netns::rootless::mode() != netns::rootless::Mode::Root {
        return Err(
            "--runtime docker needs root (the engine moves links into the containers' namespaces)"
                .into(),
        );
    }
    netns::container::run_docker(
        &format!("looking for image {image}"),
        netns::container::docker().args(["image", "inspect", "-f", "{{.Id}}", image]),
    )
    .map_err(|e| format!("{e} (build it with scripts/image, or name another with --image)"))
    .map(drop)
}

/// The lab's life, as pid 1 of its PID namespace.
fn run_lab(
    scenario: &Scenario,
    source: &Source,
    lab: &str,
    args: &RunArgs,
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
    let record = rt.block_on(async {
        let config = netns::lab::LabConfig::default();
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hybridlab"));
        let runtime = match &args.docker_image {
            None => Runtime::Namespaces,
            Some(image) => Runtime::Docker(DockerRuntime {
                image: image.clone(),
                exe: exe.clone(),
            }),
        };
        let backend = match NetnsBackend::create_with_runtime(lab, &config, runtime) {
            Ok(b) => b,
            Err(e) => return Err(e.to_string()),
        };
        if let Some(c) = capture_config(scenario, lab, args) {
            backend.capture_to(c)?;
        }
        let lab_dir = backend.lab_dir().unwrap_or_else(|| config.lab_dir(lab));
        lab_record::save(&lab_dir, source, scenario.timing.profile)?;
        let _api = match api_listener {
            Some(l) => Some(crate::api::start_api(l, scenario, source, lab, &lab_dir)?),
            None => None,
        };
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
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
            let _ = stop_tx.send(true);
        });
        let backend = Arc::new(backend);
        let rec = Recorder::new(Live::new(args.quiet));
        let opts = RunOptions {
            lab: lab.to_string(),
            lab_dir,
            exe,
            lab_secret,
        };
        Ok(run_engine(scenario, backend, opts, rec, stop_rx).await)
    });
    let record = match record {
        Ok(r) => r,
        Err(e) => {
            err(&format!("cannot create lab {lab}: {e}"));
            return BAD;
        }
    };
    drop(rt);
    report_run(&record, args)
}

/// What `run` captures: everything with `--capture DIR`; else the links marked
/// `capture = true`, into `./capture-<lab>` (a choice: the scenario names no directory).
fn capture_config(
    scenario: &Scenario,
    lab: &str,
    args: &RunArgs,
) -> Option<engine::capture::CaptureConfig> {
    match &args.capture {
        Some(dir) => Some(engine::capture::CaptureConfig {
            dir: dir.clone(),
            every_link: true,
            tunnels: true,
        }),
        None if scenario.topology.links.iter().any(|l| l.capture) => {
            Some(engine::capture::CaptureConfig {
                dir: PathBuf::from(format!("capture-{lab}")),
                every_link: false,
                tunnels: false,
            })
        }
        None => None,
    }
}

fn report_run(record: &RunRecord, args: &RunArgs) -> u8 {
    out(&report::summary::render(record));
    // A run that could not be brought up (or torn down) is an environment problem, not a
    // failed expectation.
    let mut code = match (&record.error, record.interrupted, record.passed()) {
        (Some(_), false, _) => BAD,
        (_, _, true) => OK,
        _ => FAILED,
    };
    let writes = [
        (&args.json, report::json(record)),
        (&args.junit, report::junit::render(record)),
        (&args.svg, report::svg::render(record)),
        (&args.html, report::html::render(record, &[])),
    ];
    for (path, text) in writes {
        if let Some(p) = path
            && let Err(e) = std::fs::write(p, text)
        {
            err(&format!("cannot write {}: {e}", p.display()));
            code = BAD;
        }
    }
    code
}

/// `hybridlab show LAB NODE [WHAT]`.
pub fn show(lab: &str, node: &str, what: Option<&str>, args: &[String]) -> u8 {
    let mut map = serde_json::Map::new();
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            err(&format!("--arg {a:?}: expected KEY=VALUE"));
            return BAD;
        };
        let value =
            serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_string()));
        map.insert(k.to_string(), value);
    }
    let config = netns::lab::LabConfig::default();
    let socket = control::socket_path(&config.lab_dir(lab), node);
    if !socket.exists() {
        let lab_dir = config.lab_dir(lab);
        err(&if lab_dir.exists() {
            format!(
                "node {node} of lab {lab} has no control socket ({} does not exist): only daemon nodes serve one",
                socket.display()
            )
        } else {
            format!("no lab {lab} is running (nothing at {})", lab_dir.display())
        });
        return BAD;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            err(&format!("cannot start the runtime: {e}"));
            return BAD;
        }
    };
    let what = what.unwrap_or("help").to_string();
    let result = rt.block_on(async {
        let mut c = control::Client::connect(&socket).await?;
        c.show(&what, map).await
    });
    match result {
        Ok(v) => {
            out(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"));
            OK
        }
        Err(e) => {
            err(&format!("{lab}/{node}: {e}"));
            BAD
        }
    }
}

/// `hybridlab show LAB`: the lab's AWS resource ids (stable per lab name and scenario), the
/// ones `run --api` answers with.
pub fn show_ids(lab: &str) -> u8 {
    let lab_dir = netns::lab::LabConfig::default().lab_dir(lab);
    let (source, profile) = match lab_record::load(&lab_dir) {
        Ok(Some(r)) => r,
        Ok(None) => {
            err(&format!(
                "no lab {lab} is running (nothing at {})",
                lab_dir.display()
            ));
            return BAD;
        }
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    let scenario = match parse_scenario_with(&source, &scenarios::registry(), Some(profile)) {
        Ok(s) => s,
        Err(d) => {
            err(&d.to_string());
            return BAD;
        }
    };
    let inventory = crate::api::inventory(&scenario, lab);
    let mut ids = inventory.ids();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            err(&format!("cannot start the runtime: {e}"));
            return BAD;
        }
    };
    let lab_api = aws_api::lab::Lab::new(lab_dir);
    match rt.block_on(aws_api::directconnect::resource_ids(&inventory, &lab_api)) {
        Ok(dx) => ids.extend(dx),
        Err(e) => err(&format!("Direct Connect ids: {}", e.message)),
    }
    match rt.block_on(aws_api::transitgateway::resource_ids(&inventory, &lab_api)) {
        Ok(t) => ids.extend(t),
        Err(e) => err(&format!("Transit Gateway ids: {}", e.message)),
    }
    let width = ids.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let name_width = ids.iter().map(|(_, n, _)| n.len()).max().unwrap_or(0);
    let mut text = format!("lab {lab} ({})\n", source.name);
    for (kind, name, id) in ids {
        text.push_str(&format!("  {kind:<width$}  {name:<name_width$}  {id}\n"));
    }
    out(&text);
    OK
}

/// `hybridlab down [LAB]`.
pub fn down(lab: Option<&str>) -> u8 {
    // A live owner is asked to stop before this process enters a user namespace of its own:
    // from there, a rootless owner's /proc/PID/ns links could not be read to find it.
    let stopped = lab.map(|l| crate::lab_owner::stop(l, &netns::lab::LabConfig::default()));
    if let Err(e) = netns::rootless::enter() {
        err(&format!("cannot enter the namespaces: {e}"));
        return BAD;
    }
    let config = netns::lab::LabConfig::default();
    match lab {
        Some(lab) => match stopped
            .unwrap_or(Ok(false))
            .map_err(|e| e.to_string())
            .and_then(|stopped| {
                if stopped {
                    Ok(())
                } else {
                    netns::lab::down(lab, &config).map_err(|e| e.to_string())
                }
            }) {
            Ok(()) => {
                out(&format!("lab {lab} is down\n"));
                OK
            }
            Err(e) => {
                err(&format!("down {lab}: {e}"));
                BAD
            }
        },
        None => match netns::lab::sweep(&config) {
            Ok(removed) => {
                let live: Vec<String> = netns::lab::list(&config)
                    .map(|l| {
                        l.into_iter()
                            .filter(|s| s.owner_alive)
                            .map(|s| s.name)
                            .collect()
                    })
                    .unwrap_or_default();
                let mut text = if removed.is_empty() {
                    "no dead labs to remove\n".to_string()
                } else {
                    format!("removed dead labs: {}\n", removed.join(", "))
                };
                if !live.is_empty() {
                    text += &format!("running (use `hybridlab down NAME`): {}\n", live.join(", "));
                }
                out(&text);
                OK
            }
            Err(e) => {
                err(&format!("sweeping labs: {e}"));
                BAD
            }
        },
    }
}

/// `hybridlab export compose|containerlab SCENARIO`.
pub fn export(
    format: &str,
    arg: &str,
    out_dir: Option<PathBuf>,
    lab: Option<String>,
    image: &str,
) -> u8 {
    use crate::export::{Format, write};
    let format = match format {
        "compose" => Format::Compose,
        "containerlab" => Format::Containerlab,
        other => {
            err(&format!("export {other}: expected compose or containerlab"));
            return BAD;
        }
    };
    let (source, scenario) = match load_source(arg).and_then(|s| {
        parse_scenario_with(&s, &scenarios::registry(), None)
            .map(|sc| (s, sc))
            .map_err(|d| d.to_string())
    }) {
        Ok(x) => x,
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    let lab = lab.unwrap_or_else(|| scenario.meta.name.clone());
    if !engine::validate::valid_lab_name(&lab) {
        err(&format!(
            "lab name {lab:?} must match [a-z0-9][a-z0-9-]{{0,23}}"
        ));
        return BAD;
    }
    let dir = out_dir.unwrap_or_else(|| {
        PathBuf::from(match format {
            Format::Compose => format!("{lab}-compose"),
            Format::Containerlab => format!("{lab}-clab"),
        })
    });
    match write(format, &scenario, &source, &lab, image, &dir) {
        Ok(file) => {
            out(&format!(
                "wrote {}
",
                file.display()
            ));
            OK
        }
        Err(e) => {
            err(&e);
            BAD
        }
    }
}

/// `hybridlab daemon KIND --config FILE`.
pub fn daemon(kind: &str, config: &Path) -> u8 {
    let reg = scenarios::registry();
    let Some(k) = reg.get(kind) else {
        err(&format!("unknown node kind {kind:?}"));
        return BAD;
    };
    match k.run_daemon(config) {
        Ok(code) => u8::try_from(code).unwrap_or(FAILED),
        Err(e) => {
            err(&format!("{kind} daemon: {e}"));
            BAD
        }
    }
}

/// `hybridlab cgw-config --format frr|bird|strongswan|strongswan-conf SCENARIO|LAB CONNECTION`,
/// or `--format frr|frr-bfdd|bird SCENARIO VIF` for a Direct Connect VIF (`dxgw::kind::download`),
/// or `--format frr SCENARIO CONNECT_ATTACHMENT` for a Transit Gateway Connect attachment's
/// appliance (`tgw_connect::export`).
///
/// When `arg` names a running lab (its state directory holds the lab's record), the
/// configuration is that lab's: planned from the scenario it was started from, in its profile,
/// with the tunnel keys read from its VGW's daemon over the control socket (keys a scenario
/// does not give are random per lab). Otherwise `arg` is a scenario file or a shipped name.
pub fn cgw_config(format: &str, profile: Option<&str>, arg: &str, connection: &str) -> u8 {
    use cgw::kind::download::{Format, customer_config, find_connection};
    if let Ok(p) = parse_profile(profile)
        && let Ok(scenario) = load_with(arg, p)
        && tgw_connect::export::is_connect(&scenario, connection)
    {
        if format != "frr" {
            err(&format!(
                "format {format:?} has no Connect attachment form: expected frr"
            ));
            return BAD;
        }
        return match tgw_connect::export::frr(&scenario, connection) {
            Ok(text) => {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(text.as_bytes());
                let _ = o.flush();
                0
            }
            Err(e) => {
                err(&e);
                BAD
            }
        };
    }
    if let Ok(p) = parse_profile(profile)
        && let Ok(scenario) = load_with(arg, p)
        && dxgw::kind::download::is_vif(&scenario, connection)
    {
        let result = format
            .parse()
            .and_then(|f| dxgw::kind::download::vif_config(&scenario, connection, f));
        return match result {
            Ok(text) => {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(text.expose().as_bytes());
                let _ = o.flush();
                0
            }
            Err(e) => {
                err(&e);
                BAD
            }
        };
    }
    let format: Format = match format.parse() {
        Ok(f) => f,
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    let profile = match parse_profile(profile) {
        Ok(p) => p,
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    let lab_dir = netns::lab::LabConfig::default().lab_dir(arg);
    let running = if engine::validate::valid_lab_name(arg)
        && (!Path::new(arg).exists() || Path::new(arg).is_dir())
    {
        match lab_record::load(&lab_dir) {
            Ok(r) => r,
            Err(e) => {
                err(&e);
                return BAD;
            }
        }
    } else {
        None
    };
    let result = match running {
        None => load_with(arg, profile)
            .and_then(|scenario| customer_config(&scenario, connection, format, None)),
        Some((source, lab_profile)) => {
            if profile.is_some_and(|p| p != lab_profile) {
                err(&format!(
                    "lab {arg} runs with the {} profile: --profile does not apply to a running lab",
                    profile_name(lab_profile)
                ));
                return BAD;
            }
            parse_scenario_with(&source, &scenarios::registry(), Some(lab_profile))
                .map_err(|d| d.to_string())
                .and_then(|scenario| {
                    let found = find_connection(&scenario, connection)?;
                    let keys = if format.carries_keys() {
                        Some(crate::lab_keys::lab_tunnel_keys(
                            arg,
                            &lab_dir,
                            &found.vgw,
                            &found.name,
                        )?)
                    } else {
                        None
                    };
                    customer_config(&scenario, connection, format, keys.as_deref())
                })
        }
    };
    match result {
        Ok(text) => {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
            0
        }
        Err(e) => {
            err(&e);
            BAD
        }
    }
}

fn profile_name(p: Profile) -> &'static str {
    match p {
        Profile::Aws => "aws",
        Profile::Fast => "fast",
    }
}
