//! The chaos campaign driver: builds the fault menu from the kinds' [`ChaosTargets`] answers,
//! records the lab's baseline, then injects, holds, repairs and measures one fault (or one
//! group of `overlap` faults) after another with the timeline's own actions (cut, restore,
//! link_down/up, kill/restart, kind actions), checking the invariants of [`crate::chaos`].
//!
//! ```text
//!  baseline: tunnels healthy + probes delivering, then two equal route snapshots 1 s apart
//!  fault i:  mark probes ─> inject ─> hold ─> repair ─> poll every 100 ms until
//!            (tunnels healthy, routes == baseline, probes delivering) or recovery bound
//!            ─> probes' longest loss window since the mark vs the outage bound
//!  always:   every daemon not being killed on purpose is running
//! ```
//!
//! What it does not do: tear the lab down or check what teardown leaves (the runner does, after).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::chaos::menu::{Break, Fault};
use crate::chaos::targets::{ChaosTargets, Target};
use crate::chaos::{Campaign, CampaignReport, FaultRecord, Menu, Violation};
use crate::model::expect::KindCheck;
use crate::model::timeline::{Action, RestoreWhich};
use crate::model::{CutTarget, TimelineEntry, When};
use crate::probe;
use crate::report::EventSource;
use crate::runner::backend::Backend;
use crate::runner::{Ctx, actions, daemons};

/// How often the lab is compared with its baseline while it recovers.
const POLL: Duration = Duration::from_millis(100);

/// Where each probe's log stood when a fault began.
struct Mark {
    sends: usize,
    arrivals: usize,
}

fn now_ns() -> u64 {
    netns::clock::monotonic_ns()
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// The lab's healthy state.
struct Baseline {
    routes: BTreeMap<String, BTreeSet<String>>,
    health: Vec<KindCheck>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs the campaign; progress goes into `out` as it happens (so an interrupted campaign still
/// reports what it did) and one line per fault to `say`.
pub(crate) async fn campaign<B: Backend>(
    ctx: &Ctx<'_, B>,
    c: &Campaign,
    out: &Mutex<CampaignReport>,
    say: &(dyn Fn(&str) + Send + Sync),
) -> Result<(), String> {
    let s = ctx.scenario;
    let profile = s.timing.profile;
    let targets: Vec<Target> = s
        .topology
        .ask(&ChaosTargets { profile })
        .into_iter()
        .flat_map(|(_, t)| t)
        .collect();
    let daemons: Vec<(String, String)> = lock(&ctx.procs)
        .iter()
        .filter(|(_, p)| p.spec.control_socket)
        .map(|((n, p), _)| (n.clone(), p.clone()))
        .collect();
    let menu = Menu::new(targets, daemons, &c.kinds, crate::chaos::margin(profile));
    lock(out).kinds = menu.kinds().to_vec();
    if menu.kinds().is_empty() {
        return Err("nothing to break: no fault kind has a target in this topology".into());
    }
    let started = now_ns();
    let mut health: Vec<KindCheck> = menu.tunnels().iter().map(|t| t.health.clone()).collect();
    health.extend(menu.bfd().iter().filter_map(|b| b.health.clone()));
    let base = baseline(ctx, health, menu.max_recovery() + ctx.timer("converge")).await?;
    lock(out).baseline = describe_baseline(&base);
    say(&format!(
        "baseline: {} tunnel checks, {} routes in {} namespaces; menu: {}",
        base.health.len(),
        base.routes.values().map(BTreeSet::len).sum::<usize>(),
        base.routes.len(),
        menu.kinds()
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let group = u64::from(c.overlap.max(1));
    let mut i = c.from_fault;
    loop {
        let elapsed = Duration::from_nanos(now_ns() - started);
        match c.duration {
            Some(d) if elapsed >= d => break,
            None if i >= c.faults => break,
            _ => {}
        }
        let faults: Vec<Fault> = (i..i + group)
            .filter(|j| c.duration.is_some() || *j < c.faults)
            .filter_map(|j| menu.draw(c.seed, j))
            .collect();
        i += group;
        if faults.is_empty() {
            break;
        }
        let went = one_group(ctx, c, &base, &faults, started).await;
        let mut stop = None;
        {
            let mut o = lock(out);
            for (r, _) in &went.records {
                say(&line(r));
            }
            for v in &went.violations {
                say(&format!(
                    "VIOLATION fault #{} seed {}: {}: {}\n  replay: {}",
                    v.fault.map_or("-".into(), |f| f.to_string()),
                    c.seed,
                    v.invariant,
                    v.detail,
                    v.replay
                ));
                if v.invariant != "blackhole" {
                    stop = Some(format!(
                        "the lab did not return to a healthy state after fault #{} ({})",
                        v.fault.unwrap_or(0),
                        v.invariant
                    ));
                }
            }
            o.faults.extend(went.records.into_iter().map(|(r, _)| r));
            o.violations.extend(went.violations);
            o.duration_s = secs(now_ns() - started);
            if let Some(e) = went.error {
                stop = Some(e);
            }
            if stop.is_some() {
                o.stopped = stop.clone();
            }
        }
        if stop.is_some() {
            break;
        }
    }
    lock(out).duration_s = secs(now_ns() - started);
    Ok(())
}

fn line(r: &FaultRecord) -> String {
    let outage: Vec<String> = r
        .outage_s
        .iter()
        .filter(|(_, v)| **v > 0.0)
        .map(|(p, v)| format!("{p} {v:.2}s"))
        .collect();
    format!(
        "{:>8.1}s  {}: {}{}",
        r.start_s,
        r.description,
        match r.recovery_s {
            Some(v) => format!("back in {v:.2}s"),
            None => format!("NOT back within {:.1}s", r.recovery_bound_s),
        },
        if outage.is_empty() {
            String::new()
        } else {
            format!(
                "; longest outage {}{}",
                outage.join(", "),
                r.outage_bound_s
                    .map_or(" (no path left)".to_string(), |b| format!(
                        " (bound {b:.1}s)"
                    ))
            )
        }
    )
}

/// What a group of faults did.
struct Went {
    records: Vec<(FaultRecord, ())>,
    violations: Vec<Violation>,
    error: Option<String>,
}

async fn one_group<B: Backend>(
    ctx: &Ctx<'_, B>,
    c: &Campaign,
    base: &Baseline,
    faults: &[Fault],
    started: u64,
) -> Went {
    let mut went = Went {
        records: Vec::new(),
        violations: Vec::new(),
        error: None,
    };
    let marks = mark_probes(ctx);
    let t_start = now_ns();
    let mut exempt: BTreeSet<(String, String)> = BTreeSet::new();
    for f in faults {
        if let Break::Kill { node, process } = &f.what {
            exempt.insert((node.clone(), process.clone()));
        }
    }
    // Inject every fault of the group, hold, repair (in reverse order).
    let hold = faults.iter().map(|f| f.hold).max().unwrap_or_default();
    for f in faults {
        ctx.rec.record(
            EventSource::Engine,
            &format!("fault #{}", f.index),
            "chaos.fault",
            f.describe(),
        );
        if let Err(e) = inject(ctx, f).await {
            went.error = Some(format!("fault #{}: injecting: {e}", f.index));
            // Repair what was injected before giving up.
        }
    }
    let hold_until = t_start + hold.as_nanos() as u64;
    let mut died = None;
    while now_ns() < hold_until && died.is_none() {
        died = dead_daemon(ctx, &exempt);
        tokio::time::sleep(POLL.min(Duration::from_nanos(hold_until.saturating_sub(now_ns()))))
            .await;
    }
    for f in faults.iter().rev() {
        if let Err(e) = repair(ctx, f).await {
            went.error
                .get_or_insert(format!("fault #{}: repairing: {e}", f.index));
        }
    }
    let t_repair = now_ns();
    for f in faults {
        ctx.rec.record(
            EventSource::Engine,
            &format!("fault #{}", f.index),
            "chaos.repaired",
            format!("fault #{} repaired", f.index),
        );
    }
    // Wait for the baseline.
    let bound = faults
        .iter()
        .map(|f| f.recovery_bound)
        .max()
        .unwrap_or_default();
    let deadline = t_repair + bound.as_nanos() as u64;
    let mut back = None;
    let mut last_diff = Vec::new();
    if went.error.is_none() {
        loop {
            if died.is_none() {
                died = dead_daemon(ctx, &BTreeSet::new());
            }
            if died.is_some() {
                break;
            }
            let diff = compare(ctx, base).await;
            let now = now_ns();
            if diff.is_empty() {
                back = Some(now);
                break;
            }
            last_diff = diff;
            if now >= deadline {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
    }
    // Packets in flight arrive, then the probes' outages since the mark.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let outages = outages(ctx, &marks);
    let single = faults.len() == 1;
    for f in faults {
        let replay = c.replay(faults[0].index);
        let outage_bound = if single { f.outage_bound } else { None };
        let rec = FaultRecord {
            index: f.index,
            kind: f.kind,
            target: f.target.clone(),
            description: f.describe(),
            start_s: secs(t_start - started),
            repaired_s: secs(t_repair - started),
            recovery_s: back.map(|b| secs(b - t_repair)),
            recovery_bound_s: bound.as_secs_f64(),
            outage_s: outages.clone(),
            outage_bound_s: outage_bound.map(|d| d.as_secs_f64()),
        };
        if let Some(b) = outage_bound {
            for (probe, o) in &outages {
                if *o > b.as_secs_f64() {
                    went.violations.push(Violation {
                        fault: Some(f.index),
                        invariant: "blackhole".into(),
                        detail: format!(
                            "probe {probe} lost traffic for {o:.3}s while a path existed (bound {:.3}s: detection + margin) during {}",
                            b.as_secs_f64(),
                            f.describe()
                        ),
                        replay: replay.clone(),
                    });
                }
            }
        }
        went.records.push((rec, ()));
    }
    let first = faults[0].index;
    if let Some((node, process)) = died {
        went.violations.push(Violation {
            fault: Some(first),
            invariant: "daemon_died".into(),
            detail: format!("{node}/{process} exited without being killed"),
            replay: c.replay(first),
        });
    } else if back.is_none() && went.error.is_none() {
        went.violations.push(Violation {
            fault: Some(first),
            invariant: "baseline".into(),
            detail: format!(
                "not back to the baseline {} after the repair: {}",
                crate::duration::human(bound),
                last_diff.join("; ")
            ),
            replay: c.replay(first),
        });
    }
    went
}

fn entry(name: String, action: Action) -> TimelineEntry {
    TimelineEntry {
        name,
        when: When::End,
        action,
        path: Default::default(),
    }
}

fn cut_name(f: &Fault) -> String {
    format!("fault #{} {}", f.index, f.kind.name())
}

async fn inject<B: Backend>(ctx: &Ctx<'_, B>, f: &Fault) -> Result<(), String> {
    match &f.what {
        Break::Cut { node, matching } => {
            actions::run(
                ctx,
                &entry(
                    cut_name(f),
                    Action::Cut {
                        target: CutTarget::Node(node.clone()),
                        matching: matching.clone(),
                        duration: None,
                    },
                ),
            )
            .await
        }
        Break::LinkDown { link } => {
            actions::run(
                ctx,
                &entry(
                    cut_name(f),
                    Action::LinkDown {
                        link: link.clone(),
                        node: None,
                    },
                ),
            )
            .await
        }
        Break::Kill { node, process } => {
            actions::run(
                ctx,
                &entry(
                    cut_name(f),
                    Action::Kill {
                        node: node.clone(),
                        process: Some(process.clone()),
                    },
                ),
            )
            .await
        }
        Break::Flap {
            node,
            matching,
            count,
            down,
            up,
        } => {
            for k in 1..=*count {
                let name = format!("{} {k}/{count}", cut_name(f));
                actions::run(
                    ctx,
                    &entry(
                        name.clone(),
                        Action::Cut {
                            target: CutTarget::Node(node.clone()),
                            matching: matching.clone(),
                            duration: None,
                        },
                    ),
                )
                .await?;
                tokio::time::sleep(*down).await;
                actions::run(
                    ctx,
                    &entry(
                        format!("{name} restore"),
                        Action::Restore {
                            which: RestoreWhich::Named(name),
                        },
                    ),
                )
                .await?;
                tokio::time::sleep(*up).await;
            }
            Ok(())
        }
        Break::Rekey {
            request,
            count,
            gap,
        } => {
            for k in 1..=*count {
                actions::run(
                    ctx,
                    &entry(
                        format!("{} {k}/{count}", cut_name(f)),
                        Action::Kind(request.clone()),
                    ),
                )
                .await?;
                tokio::time::sleep(*gap).await;
            }
            Ok(())
        }
        Break::Withdraw { withdraw, .. } => {
            actions::run(ctx, &entry(cut_name(f), Action::Kind(withdraw.clone()))).await
        }
    }
}

async fn repair<B: Backend>(ctx: &Ctx<'_, B>, f: &Fault) -> Result<(), String> {
    let name = format!("{} repair", cut_name(f));
    let action = match &f.what {
        Break::Cut { .. } => {
            let in_force = lock(&ctx.cuts).iter().any(|c| c.action == cut_name(f));
            if !in_force {
                return Ok(());
            }
            Action::Restore {
                which: RestoreWhich::Named(cut_name(f)),
            }
        }
        Break::LinkDown { link } => Action::LinkUp {
            link: link.clone(),
            node: None,
        },
        Break::Kill { node, process } => Action::Restart {
            node: node.clone(),
            process: Some(process.clone()),
        },
        Break::Flap { .. } | Break::Rekey { .. } => return Ok(()),
        Break::Withdraw { advertise, .. } => Action::Kind(advertise.clone()),
    };
    actions::run(ctx, &entry(name, action)).await
}

/// A daemon that is not running though nobody killed it on purpose.
fn dead_daemon<B: Backend>(
    ctx: &Ctx<'_, B>,
    exempt: &BTreeSet<(String, String)>,
) -> Option<(String, String)> {
    lock(&ctx.procs)
        .iter()
        .filter(|(key, p)| p.spec.control_socket && !exempt.contains(*key))
        .find(|(_, p)| !ctx.backend.is_running(p.id))
        .map(|(k, _)| k.clone())
}

fn mark_probes<B: Backend>(ctx: &Ctx<'_, B>) -> BTreeMap<String, Mark> {
    ctx.probes
        .iter()
        .map(|(n, p)| {
            let log = probe::lock(&p.log);
            (
                n.clone(),
                Mark {
                    sends: log.sends.len(),
                    arrivals: log.arrivals.len(),
                },
            )
        })
        .collect()
}

/// Each probe's longest loss window among the packets sent since its mark, in seconds.
fn outages<B: Backend>(ctx: &Ctx<'_, B>, marks: &BTreeMap<String, Mark>) -> BTreeMap<String, f64> {
    ctx.probes
        .iter()
        .filter_map(|(n, p)| {
            let m = marks.get(n)?;
            let log = probe::lock(&p.log);
            let a = m.sends;
            let b = log.sends.len();
            if b <= a {
                return Some((n.clone(), 0.0));
            }
            // Arrivals are mostly in order: packets sent before the mark but delivered after
            // it come first, and a few reordered ones may sit just before the mark.
            let from = m.arrivals.saturating_sub(10_000);
            let arrivals: Vec<u64> = log.arrivals[from..]
                .iter()
                .filter(|s| (a as u64..b as u64).contains(*s))
                .map(|s| s - a as u64)
                .collect();
            let r = crate::loss::analyse(
                &log.sends[a..b],
                &arrivals,
                p.spec.interval().as_nanos() as u64,
            );
            Some((n.clone(), secs(r.longest_ns())))
        })
        .collect()
}

async fn routes<B: Backend>(ctx: &Ctx<'_, B>) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for n in &ctx.scenario.topology.nodes {
        if let Ok(r) = ctx.backend.routes(n.name()).await {
            out.insert(
                n.name().to_string(),
                r.iter().map(ToString::to_string).collect(),
            );
        }
    }
    out
}

/// Every health check that does not hold, by what it says.
async fn unhealthy<B: Backend>(ctx: &Ctx<'_, B>, checks: &[KindCheck]) -> Vec<String> {
    let mut answers: BTreeMap<(String, String), Result<Value, String>> = BTreeMap::new();
    let mut bad = Vec::new();
    for k in checks {
        let key = (k.node.clone(), k.show.what.clone());
        if !answers.contains_key(&key) {
            let v = daemons::show(&ctx.socket(&k.node), &k.show)
                .await
                .map_err(|e| format!("{}: {e}", k.node));
            answers.insert(key.clone(), v);
        }
        match &answers[&key] {
            Ok(v) => {
                if let Err(why) = (k.verdict)(v) {
                    bad.push(format!("{}: {why}", k.describe));
                }
            }
            Err(e) => bad.push(format!("{}: {e}", k.describe)),
        }
    }
    bad
}

/// Probes that delivered nothing sent in the last few intervals.
fn silent_probes<B: Backend>(ctx: &Ctx<'_, B>) -> Vec<String> {
    ctx.probes
        .iter()
        .filter(|(_, p)| {
            let window = (p.spec.interval() * 5).max(Duration::from_millis(300));
            !p.delivered_since(now_ns().saturating_sub(window.as_nanos() as u64))
        })
        .map(|(n, _)| format!("probe {n} is not delivering"))
        .collect()
}

/// How the lab differs from `base` now (empty: it is at its baseline).
async fn compare<B: Backend>(ctx: &Ctx<'_, B>, base: &Baseline) -> Vec<String> {
    let mut diff = unhealthy(ctx, &base.health).await;
    diff.extend(silent_probes(ctx));
    if !diff.is_empty() {
        return diff;
    }
    let now = routes(ctx).await;
    for (node, want) in &base.routes {
        let have = now.get(node).cloned().unwrap_or_default();
        for r in want.difference(&have) {
            diff.push(format!("{node}: route {r} missing"));
        }
        for r in have.difference(want) {
            diff.push(format!("{node}: extra route {r}"));
        }
    }
    diff
}

/// Waits until every tunnel is healthy and probes deliver, then until two route snapshots a
/// second apart agree: that is the baseline.
async fn baseline<B: Backend>(
    ctx: &Ctx<'_, B>,
    health: Vec<KindCheck>,
    limit: Duration,
) -> Result<Baseline, String> {
    let deadline = now_ns() + limit.as_nanos() as u64;
    let mut last: Option<BTreeMap<String, BTreeSet<String>>> = None;
    loop {
        let mut bad = unhealthy(ctx, &health).await;
        bad.extend(silent_probes(ctx));
        if bad.is_empty() {
            let r = routes(ctx).await;
            if last.as_ref() == Some(&r) {
                return Ok(Baseline { routes: r, health });
            }
            last = Some(r);
        } else {
            last = None;
        }
        if now_ns() >= deadline {
            return Err(format!(
                "the lab never reached a steady baseline within {}: {}",
                crate::duration::human(limit),
                if bad.is_empty() {
                    "routes kept changing".to_string()
                } else {
                    bad.join("; ")
                }
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn describe_baseline(b: &Baseline) -> Vec<String> {
    let mut out: Vec<String> = b.health.iter().map(|k| k.describe.clone()).collect();
    for (node, routes) in &b.routes {
        for r in routes {
            out.push(format!("{node}: {r}"));
        }
    }
    out
}
