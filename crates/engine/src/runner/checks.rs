//! Checking expectations: each waits for its trigger, then re-checks every `every` until it
//! holds or its `within` deadline passes (`max_gap` is a verdict on the past and is checked
//! once). The verdict, what was seen, and how long it took go into the run record.
//!
//! What it does not do: retry after a verdict.

use std::time::Duration;

use serde_json::Value;

use crate::duration::human;
use crate::model::{Check, Expectation};
use crate::probe;
use crate::report::{EventSource, Outcome};
use crate::runner::backend::Backend;
use crate::runner::{Ctx, daemons};

/// One line saying what `check` checks.
pub fn describe(check: &Check) -> String {
    match check {
        Check::Route {
            node,
            prefix,
            via,
            dev,
            present,
        } => {
            let mut s = format!("route {prefix} in {node}");
            if let Some(v) = via {
                s += &format!(" via {v}");
            }
            if let Some(d) = dev {
                s += &format!(" dev {d}");
            }
            if !present {
                s += " absent";
            }
            s
        }
        Check::Delivers { probe } => format!("probe {probe} delivers"),
        Check::MaxGap {
            probe,
            below,
            above: Some(a),
            ..
        } => format!(
            "longest gap of {probe} in [{}, {})",
            human(*a),
            human(*below)
        ),
        Check::MaxGap {
            probe,
            below,
            above: None,
            ..
        } => format!("longest gap of {probe} < {}", human(*below)),
        Check::State {
            node,
            show,
            pointer,
            equals,
            ..
        } => format!("{node} show {show} {pointer} == {equals}"),
        Check::Kind(k) => k.describe.clone(),
    }
}

/// Evaluates `check` once: `Ok(what was seen)` or `Err(why it does not hold)`.
async fn once<B: Backend>(
    ctx: &Ctx<'_, B>,
    check: &Check,
    since_ns: u64,
) -> Result<String, String> {
    match check {
        Check::Route {
            node,
            prefix,
            via,
            dev,
            present,
        } => {
            let routes = ctx.backend.routes(node).await.map_err(|e| e.to_string())?;
            let found = routes.iter().find(|r| r.dst == *prefix);
            match (found, present) {
                (None, false) => Ok(format!("no route to {prefix} in {node}")),
                (Some(r), false) => Err(format!("{node} has {r}")),
                (None, true) => Err(format!("{node} has no route to {prefix}")),
                (Some(r), true) => {
                    if via.is_some_and(|v| !r.gateways.contains(&v))
                        || dev.as_ref().is_some_and(|d| !r.devs.contains(d))
                    {
                        Err(format!("{node} has {r}"))
                    } else {
                        Ok(r.to_string())
                    }
                }
            }
        }
        Check::Delivers { probe: name } => {
            let p = ctx
                .probes
                .get(name)
                .ok_or_else(|| format!("probe {name} is not running"))?;
            let log = probe::lock(&p.log);
            if log.delivered_since(since_ns) {
                Ok(format!(
                    "delivering ({} of {} received so far)",
                    log.arrivals.len(),
                    log.sends.len()
                ))
            } else {
                Err(format!(
                    "nothing sent since the check began has arrived ({} of {} received so far)",
                    log.arrivals.len(),
                    log.sends.len()
                ))
            }
        }
        Check::MaxGap {
            probe: name,
            below,
            above,
            matches_event,
        } => {
            let p = ctx
                .probes
                .get(name)
                .ok_or_else(|| format!("probe {name} is not running"))?;
            let mut r = probe::lock(&p.log).analyse(p.spec.interval());
            // Loss that ended before the timeline started is bring-up (routes converging, a
            // spoke learning another through the hub), not an outage the scenario caused.
            r.windows.retain(|w| w.end_ns > ctx.t0_ns);
            let longest = Duration::from_nanos(r.longest_ns());
            let mut seen = match r.longest() {
                Some(w) => format!(
                    "longest gap {} ({} packets, at {:+.3}s){}",
                    human(longest),
                    w.lost,
                    (w.start_ns as f64 - ctx.t0_ns as f64) / 1e9,
                    if w.open { ", still open" } else { "" }
                ),
                None => "no loss".to_string(),
            };
            if let (Some((event, tolerance)), Some(w)) = (matches_event, r.longest()) {
                let detected = ctx
                    .rec
                    .events()
                    .into_iter()
                    .find(|e| {
                        e.source == EventSource::Daemon
                            && e.t_ns >= w.start_ns
                            && event.matches(&e.subject, &e.kind)
                    })
                    .map(|e| Duration::from_nanos(e.t_ns - w.start_ns));
                let Some(detected) = detected else {
                    return Err(format!(
                        "{seen}: no {} event from {} after the gap began",
                        event.kind, event.node
                    ));
                };
                let off = longest.abs_diff(detected);
                seen = format!(
                    "{seen}; {} {} {} after it began",
                    event.node,
                    event.kind,
                    human(detected)
                );
                if off > *tolerance {
                    return Err(format!(
                        "{seen}: {} apart, more than {}",
                        human(off),
                        human(*tolerance)
                    ));
                }
            }
            if longest >= *below {
                Err(format!("{seen}: not below {}", human(*below)))
            } else if above.is_some_and(|a| longest < a) {
                Err(format!(
                    "{seen}: expected at least {}",
                    human(above.unwrap_or_default())
                ))
            } else {
                Ok(seen)
            }
        }
        Check::State {
            node,
            show,
            args,
            pointer,
            equals,
        } => {
            let params = control::ShowParams {
                what: show.clone(),
                args: args.clone(),
            };
            let v = daemons::show(&ctx.socket(node), &params)
                .await
                .map_err(|e| format!("{node}: {e}"))?;
            match v.pointer(pointer) {
                Some(actual) if actual == equals => Ok(format!("{pointer} = {actual}")),
                Some(actual) => Err(format!("{pointer} is {actual}, expected {equals}")),
                None => Err(format!("{pointer} is missing from show {show}")),
            }
        }
        Check::Kind(k) => {
            let v: Value = daemons::show(&ctx.socket(&k.node), &k.show)
                .await
                .map_err(|e| format!("{}: {e}", k.node))?;
            (k.verdict)(&v)
        }
    }
}

/// Waits for `e`'s trigger, checks it until it holds or its deadline passes, records the verdict.
pub(crate) async fn expect<B: Backend>(ctx: &Ctx<'_, B>, e: &Expectation, end: &[String]) {
    let set = |outcome: Outcome, started: Option<u64>, decided: Option<u64>, detail: String| {
        let mut results = ctx.results.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = results.get_mut(&e.name) {
            r.outcome = outcome;
            r.started_ns = started;
            r.decided_ns = decided;
            r.detail = detail;
        }
    };
    let since = match ctx.wait_when(&e.when, end).await {
        Ok(t) => t,
        Err(why) => {
            set(Outcome::NotRun, None, None, format!("not checked: {why}"));
            ctx.rec
                .record(EventSource::Expectation, &e.name, "not_run", why);
            ctx.rec.complete(&e.name, false);
            return;
        }
    };
    let deadline = since + e.within.as_nanos() as u64;
    let mut last;
    loop {
        last = once(ctx, &e.check, since).await;
        let now = netns::clock::monotonic_ns();
        match &last {
            Ok(seen) => {
                set(Outcome::Passed, Some(since), Some(now), seen.clone());
                ctx.rec
                    .record(EventSource::Expectation, &e.name, "passed", seen.clone());
                ctx.rec.complete(&e.name, true);
                return;
            }
            Err(_) if !e.check.waits() || now >= deadline => break,
            Err(_) => tokio::time::sleep(e.every).await,
        }
    }
    let why = last.err().unwrap_or_default();
    let detail = if e.check.waits() {
        format!("{why} (waited {})", human(e.within))
    } else {
        why
    };
    set(
        Outcome::Failed,
        Some(since),
        Some(netns::clock::monotonic_ns()),
        detail.clone(),
    );
    ctx.rec
        .record(EventSource::Expectation, &e.name, "failed", detail);
    ctx.rec.complete(&e.name, false);
}
