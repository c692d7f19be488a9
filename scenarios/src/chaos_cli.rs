//! `hybridlab chaos SCENARIO`: a chaos campaign on a scenario's topology (binary-only glue:
//! flags and `[chaos]` merged, the lab created as `run` creates it, the report printed and
//! written). The campaign itself is the engine's (`engine::chaos`, `engine::runner::run_chaos`).
//!
//! What it does not do: play the scenario's timeline or check its expectations.

use std::path::PathBuf;
use std::sync::Arc;

use engine::chaos::{Campaign, CampaignReport, FaultKind};
use engine::parse::parse_scenario_with;
use engine::report::live::Live;
use engine::runner::netns_backend::NetnsBackend;
use engine::runner::recorder::Recorder;
use engine::runner::{RunOptions, run_chaos};

use crate::cli::{BAD, FAILED, OK, err, load_source, out, parse_profile};
use crate::lab_record;

/// Options of `hybridlab chaos`.
#[derive(Debug, Default)]
pub struct ChaosArgs {
    /// File or shipped name.
    pub scenario: String,
    /// Lab name (default `ch-<scenario>`, cut to 24 characters).
    pub lab: Option<String>,
    /// `fast` or `aws`.
    pub profile: Option<String>,
    /// Seed (default: `[chaos] seed`, else random).
    pub seed: Option<u64>,
    /// Fault count.
    pub faults: Option<u64>,
    /// Or campaign length.
    pub duration: Option<String>,
    /// First fault index.
    pub from_fault: u64,
    /// Kinds allowed, comma-separated.
    pub kinds: Option<String>,
    /// Faults at once.
    pub overlap: Option<u32>,
    /// JSON report.
    pub json: Option<PathBuf>,
    /// Histogram SVG.
    pub svg: Option<PathBuf>,
    /// HTML page.
    pub html: Option<PathBuf>,
    /// Every daemon event on stderr, not only one line per fault.
    pub verbose: bool,
    /// No progress.
    pub quiet: bool,
}

fn random_seed() -> u64 {
    let mut b = [0u8; 8];
    if getrandom_fill(&mut b).is_err() {
        return netns::clock::monotonic_ns();
    }
    u64::from_le_bytes(b) >> 16 // short enough to type
}

fn getrandom_fill(b: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(b)
}

/// `hybridlab chaos`.
pub fn chaos(args: ChaosArgs) -> u8 {
    let profile = match parse_profile(args.profile.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            err(&e);
            return BAD;
        }
    };
    let source = match load_source(&args.scenario) {
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
    let spec = scenario.chaos.clone().unwrap_or_default();
    let duration = match args.duration.as_deref() {
        Some(d) => match engine::duration::parse(d) {
            Ok(d) => Some(d),
            Err(e) => {
                err(&format!("--duration {d}: {e}"));
                return BAD;
            }
        },
        None if args.faults.is_some() => None,
        None => spec.duration.map(|d| d.0),
    };
    let kinds = match &args.kinds {
        Some(list) => {
            let mut out = Vec::new();
            for k in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                match FaultKind::parse(k) {
                    Some(k) => out.push(k),
                    None => {
                        err(&format!(
                            "--kinds: unknown fault kind {k:?}, expected one of: {}",
                            FaultKind::names()
                        ));
                        return BAD;
                    }
                }
            }
            out
        }
        None => spec
            .kinds
            .iter()
            .filter_map(|k| FaultKind::parse(k))
            .collect(),
    };
    let seed = args.seed.or(spec.seed).unwrap_or_else(random_seed);
    let faults = args.faults.or(spec.faults).unwrap_or(100);
    let overlap = args.overlap.or(spec.overlap).unwrap_or(1).max(1);
    let lab = args.lab.clone().unwrap_or_else(|| {
        let mut l = format!("ch-{}", scenario.meta.name);
        l.truncate(24);
        l.trim_end_matches('-').to_string()
    });
    if !engine::validate::valid_lab_name(&lab) {
        err(&format!(
            "lab name {lab:?} must match [a-z0-9][a-z0-9-]{{0,23}}"
        ));
        return BAD;
    }
    for p in [&args.json, &args.svg, &args.html].into_iter().flatten() {
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
    let profile_name = format!("{:?}", scenario.timing.profile).to_lowercase();
    let campaign = Campaign {
        seed,
        faults,
        duration,
        from_fault: args.from_fault,
        kinds,
        overlap,
        replay_base: format!(
            "hybridlab chaos {} --profile {profile_name}{}",
            args.scenario,
            args.kinds
                .as_ref()
                .map(|k| format!(" --kinds {k}"))
                .unwrap_or_default()
        ),
    };
    if !args.quiet {
        err(&format!(
            "chaos campaign on {}: seed {seed}, {}, profile {profile_name}, lab {lab} (replay: {} --seed {seed})",
            scenario.meta.name,
            match duration {
                Some(d) => format!("for {}", engine::duration::human(d)),
                None => format!("faults {}..{}", args.from_fault, faults),
            },
            campaign.replay_base
        ));
    }
    if let Err(e) = netns::rootless::enter() {
        err(&format!("cannot create namespaces: {e}"));
        return BAD;
    }
    if let Ok(swept) = netns::lab::sweep(&netns::lab::LabConfig::default())
        && !swept.is_empty()
    {
        err(&format!(
            "removed leftovers of dead labs: {}",
            swept.join(", ")
        ));
    }
    match netns::pid_namespace::run_in_pid_namespace(|| {
        i32::from(campaign_lab(&scenario, &source, &lab, &campaign, &args))
    }) {
        Ok(code) => match u8::try_from(code) {
            Ok(c @ (OK | FAILED | BAD)) => c,
            _ => {
                let _ = netns::lab::sweep(&netns::lab::LabConfig::default());
                err(&format!(
                    "the chaos engine ended abnormally (status {code})"
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

fn campaign_lab(
    scenario: &engine::model::Scenario,
    source: &engine::source::Source,
    lab: &str,
    campaign: &Campaign,
    args: &ChaosArgs,
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
    let quiet = args.quiet;
    let result = rt.block_on(async {
        let config = netns::lab::LabConfig::default();
        let backend = match NetnsBackend::create(lab, &config) {
            Ok(b) => Arc::new(b),
            Err(e) => return Err(e.to_string()),
        };
        let lab_dir = backend.lab_dir().unwrap_or_else(|| config.lab_dir(lab));
        lab_record::save(&lab_dir, source, scenario.timing.profile)?;
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hybridlab"));
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
        let rec = Recorder::new(Live::new(quiet || !args.verbose));
        let opts = RunOptions {
            lab: lab.to_string(),
            lab_dir,
            exe,
            lab_secret,
        };
        let say = move |line: &str| {
            if !quiet {
                err(line);
            }
        };
        Ok(run_chaos(scenario, backend, opts, rec, stop_rx, campaign, &say).await)
    });
    drop(rt);
    let (record, report) = match result {
        Ok(r) => r,
        Err(e) => {
            err(&format!("cannot create lab {lab}: {e}"));
            return BAD;
        }
    };
    finish(&record, &report, args)
}

fn finish(record: &engine::report::RunRecord, report: &CampaignReport, args: &ChaosArgs) -> u8 {
    out(&report.table());
    let mut code = if !report.violations.is_empty() {
        FAILED
    } else if report.faults.is_empty() || (report.stopped.is_some() && !record.interrupted) {
        BAD
    } else if record.interrupted {
        FAILED
    } else {
        OK
    };
    if let Some(p) = &args.json {
        let v = serde_json::json!({ "campaign": report, "stats": report.stats() });
        if let Err(e) = std::fs::write(p, serde_json::to_string_pretty(&v).unwrap_or_default()) {
            err(&format!("cannot write {}: {e}", p.display()));
            code = BAD;
        }
    }
    if let Some(p) = &args.svg
        && let Err(e) = std::fs::write(p, report.histogram_svg())
    {
        err(&format!("cannot write {}: {e}", p.display()));
        code = BAD;
    }
    if let Some(p) = &args.html {
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let sections = [
            engine::report::html::Section {
                title: "Chaos campaign".into(),
                html: format!("<pre>{}</pre>", esc(&report.table())),
            },
            engine::report::html::Section {
                title: "Recovery time per fault kind".into(),
                html: report.histogram_svg(),
            },
        ];
        // The scenario's expectations were not played: leave them off the page.
        let mut shown = record.clone();
        shown.expectations.clear();
        if let Err(e) = std::fs::write(p, engine::report::html::render(&shown, &sections)) {
            err(&format!("cannot write {}: {e}", p.display()));
            code = BAD;
        }
    }
    code
}
