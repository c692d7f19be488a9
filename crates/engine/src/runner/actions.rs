//! Playing timeline actions: cut/restore (nftables drop rules in the node namespaces), link
//! down/up, kill/restart of a node's process, flaps, and the actions node kinds add (sent
//! through the node's control socket).
//!
//! Behaviour chosen where AWS says nothing (this is a lab, not AWS):
//! - a link cut installs drop rules at the link's first end only, which sees every packet that
//!   crosses the link in both directions (so the outage starts and ends with one atomic change);
//!   a node cut drops on every interface of the node but `lo`; the links stay up (a silent cut);
//! - `link_up` re-applies the static routes through that link of the nodes on it, as a
//!   router's static configuration would (the kernel drops routes through a device that goes
//!   down);
//! - `restart` of a running process kills it first.
//!
//! What it does not do: wait for its trigger's cause (the caller resolves `When`).

use std::time::Duration;

use serde_json::Value;

use crate::model::timeline::{Action, FlapHow, RestoreWhich};
use crate::model::{CutTarget, TimelineEntry, TrafficMatch};
use crate::report::EventSource;
use crate::runner::backend::Backend;
use crate::runner::{ActiveCut, Ctx, daemons};

/// Waits for `e`'s trigger, runs it, records it and publishes its completion.
pub(crate) async fn play<B: Backend>(ctx: &Ctx<'_, B>, e: &TimelineEntry, end: &[String]) {
    if let Err(why) = ctx.wait_when(&e.when, end).await {
        ctx.rec.record(
            EventSource::Action,
            &e.name,
            "skipped",
            format!("not run: {why}"),
        );
        ctx.rec.complete(&e.name, false);
        return;
    }
    match run(ctx, e).await {
        Ok(()) => {}
        Err(err) => {
            ctx.rec.record(EventSource::Action, &e.name, "failed", err);
            ctx.rec.complete(&e.name, false);
        }
    }
}

fn ends_of(ctx: &Ctx<'_, impl Backend>, target: &CutTarget) -> Vec<(String, Option<String>)> {
    match target {
        CutTarget::Node(n) => vec![(n.clone(), None)],
        CutTarget::Link(l) => ctx
            .scenario
            .topology
            .link(l)
            .map(|l| vec![(l.endpoints[0].node.clone(), Some(l.ifname(0)))])
            .unwrap_or_default(),
    }
}

/// The middle of the interval from `before` to now.
fn midpoint(before: u64) -> u64 {
    let after = netns::clock::monotonic_ns();
    before + after.saturating_sub(before) / 2
}

fn target_name(t: &CutTarget) -> String {
    match t {
        CutTarget::Link(l) => format!("link {l}"),
        CutTarget::Node(n) => format!("node {n}"),
    }
}

async fn cut<B: Backend>(
    ctx: &Ctx<'_, B>,
    name: &str,
    target: &CutTarget,
    matching: &TrafficMatch,
) -> Result<(), String> {
    let mut ids = Vec::new();
    let before = netns::clock::monotonic_ns();
    for (node, ifname) in ends_of(ctx, target) {
        match ctx.backend.cut(&node, ifname.as_deref(), matching).await {
            Ok(id) => ids.push(id),
            Err(e) => {
                // Leave nothing half-cut.
                for id in ids {
                    let _ = ctx.backend.restore(id).await;
                }
                return Err(e.to_string());
            }
        }
    }
    // The rules took effect during the calls: stamp the event at their middle.
    let since_ns = midpoint(before);
    ctx.rec.record_at(
        since_ns,
        EventSource::Action,
        name,
        "cut",
        format!("cut {} ({})", target_name(target), matching.describe()),
    );
    ctx.cuts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(ActiveCut {
            action: name.to_string(),
            target: target.clone(),
            ids,
            since_ns,
        });
    Ok(())
}

async fn restore<B: Backend>(
    ctx: &Ctx<'_, B>,
    name: &str,
    which: &RestoreWhich,
) -> Result<(), String> {
    let taken: Vec<ActiveCut> = {
        let mut cuts = ctx.cuts.lock().unwrap_or_else(|p| p.into_inner());
        let (take, keep) = cuts.drain(..).partition(|c| match which {
            RestoreWhich::Named(n) => &c.action == n,
            RestoreWhich::Target(t) => &c.target == t,
        });
        *cuts = keep;
        take
    };
    if taken.is_empty() {
        return Err("nothing to restore: no such cut is in force".to_string());
    }
    let before = netns::clock::monotonic_ns();
    for c in &taken {
        for id in &c.ids {
            ctx.backend.restore(*id).await.map_err(|e| e.to_string())?;
        }
    }
    let now = midpoint(before);
    let detail: Vec<String> = taken
        .iter()
        .map(|c| {
            format!(
                "restored {} after {}",
                c.action,
                crate::report::record::fmt_len(now - c.since_ns)
            )
        })
        .collect();
    ctx.rec
        .record_at(now, EventSource::Action, name, "restore", detail.join(", "));
    Ok(())
}

async fn link_updown<B: Backend>(
    ctx: &Ctx<'_, B>,
    link: &str,
    only: Option<&str>,
    up: bool,
) -> Result<Vec<String>, String> {
    let l = ctx
        .scenario
        .topology
        .link(link)
        .ok_or_else(|| format!("no link {link}"))?;
    let mut nodes = Vec::new();
    for i in 0..2 {
        let node = &l.endpoints[i].node;
        if only.is_some_and(|o| o != node) {
            continue;
        }
        ctx.backend
            .set_link_up(node, &l.ifname(i), up)
            .await
            .map_err(|e| e.to_string())?;
        nodes.push(node.clone());
    }
    if up {
        // The kernel removed routes through the device while it was down; put ours back (only
        // those through this link: a route through another link that is still down would be
        // refused, and the ones through links that stayed up were never removed).
        for i in 0..2 {
            let node = &l.endpoints[i].node;
            let ifname = l.ifname(i);
            let subnets: Vec<ipnet::IpNet> = l.endpoints[i]
                .all_addresses()
                .iter()
                .map(|a| a.trunc())
                .collect();
            let through_this_link = |r: &crate::kind::StaticRoute| {
                r.dev.as_deref() == Some(ifname.as_str())
                    || r.via
                        .is_some_and(|v| subnets.iter().any(|s| s.contains(&v)))
            };
            if let Some(n) = ctx.scenario.topology.node(node) {
                for r in n
                    .setup(&ctx.scenario.topology)
                    .routes
                    .into_iter()
                    .filter(through_this_link)
                {
                    ctx.backend
                        .add_route(node, &r)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
        }
    }
    Ok(nodes)
}

fn pick_process<B: Backend>(
    ctx: &Ctx<'_, B>,
    node: &str,
    process: Option<&str>,
) -> Result<(String, crate::runner::Proc), String> {
    let procs = ctx.procs.lock().unwrap_or_else(|p| p.into_inner());
    let mine: Vec<(&(String, String), &crate::runner::Proc)> =
        procs.iter().filter(|((n, _), _)| n == node).collect();
    let found = match process {
        Some(p) => mine.into_iter().find(|((_, name), _)| name == p),
        None if mine.len() == 1 => mine.into_iter().next(),
        None => None,
    };
    found
        .map(|((_, name), p)| (name.clone(), p.clone()))
        .ok_or_else(|| format!("{node} runs no such process"))
}

pub(crate) async fn run<B: Backend>(ctx: &Ctx<'_, B>, e: &TimelineEntry) -> Result<(), String> {
    match &e.action {
        Action::Cut {
            target,
            matching,
            duration,
        } => {
            cut(ctx, &e.name, target, matching).await?;
            ctx.rec.complete(&e.name, true);
            if let Some(d) = duration {
                tokio::time::sleep(*d).await;
                restore(
                    ctx,
                    &format!("{} (end)", e.name),
                    &RestoreWhich::Named(e.name.clone()),
                )
                .await?;
            }
        }
        Action::Restore { which } => {
            restore(ctx, &e.name, which).await?;
            ctx.rec.complete(&e.name, true);
        }
        Action::LinkDown { link, node } | Action::LinkUp { link, node } => {
            let up = matches!(e.action, Action::LinkUp { .. });
            let nodes = link_updown(ctx, link, node.as_deref(), up).await?;
            ctx.rec.record(
                EventSource::Action,
                &e.name,
                if up { "link_up" } else { "link_down" },
                format!(
                    "link {link} {} on {}",
                    if up { "up" } else { "down" },
                    nodes.join(", ")
                ),
            );
            ctx.rec.complete(&e.name, true);
        }
        Action::Kill { node, process } => {
            let (name, p) = pick_process(ctx, node, process.as_deref())?;
            ctx.backend.kill(p.id).map_err(|e| e.to_string())?;
            ctx.rec.record(
                EventSource::Action,
                &e.name,
                "kill",
                format!("SIGKILL {node}/{name}"),
            );
            ctx.rec.complete(&e.name, true);
        }
        Action::ResetNat { node } => {
            ctx.backend
                .reset_nat(node)
                .await
                .map_err(|e| e.to_string())?;
            ctx.rec.record(
                EventSource::Action,
                &e.name,
                "reset_nat",
                format!("{node} forgot its NAT mappings"),
            );
            ctx.rec.complete(&e.name, true);
        }
        Action::Restart { node, process } => {
            let (name, p) = pick_process(ctx, node, process.as_deref())?;
            if ctx.backend.is_running(p.id) {
                ctx.backend.kill(p.id).map_err(|e| e.to_string())?;
            }
            ctx.start_process(node, p.spec.clone())
                .await
                .map_err(|e| e.to_string())?;
            ctx.rec.record(
                EventSource::Action,
                &e.name,
                "restart",
                format!("restarted {node}/{name}"),
            );
            ctx.rec.complete(&e.name, true);
        }
        Action::Flap {
            link,
            count,
            period,
            down,
            how,
        } => {
            let target = CutTarget::Link(link.clone());
            for i in 1..=*count {
                let cycle_start = netns::clock::monotonic_ns();
                let label = format!("{} #{i}", e.name);
                match how {
                    FlapHow::Down => {
                        link_updown(ctx, link, None, false).await?;
                        ctx.rec.record(
                            EventSource::Action,
                            &label,
                            "link_down",
                            format!("link {link} down ({i}/{count})"),
                        );
                        tokio::time::sleep(*down).await;
                        link_updown(ctx, link, None, true).await?;
                        ctx.rec.record(
                            EventSource::Action,
                            &format!("{label} up"),
                            "link_up",
                            format!("link {link} up ({i}/{count})"),
                        );
                    }
                    FlapHow::Cut => {
                        cut(ctx, &label, &target, &TrafficMatch::default()).await?;
                        tokio::time::sleep(*down).await;
                        restore(
                            ctx,
                            &format!("{label} up"),
                            &RestoreWhich::Named(label.clone()),
                        )
                        .await?;
                    }
                }
                if i < *count {
                    let next = cycle_start + period.as_nanos() as u64;
                    Ctx::<B>::sleep_until(next).await;
                }
            }
            ctx.rec.complete(&e.name, true);
        }
        Action::Kind(k) => {
            let socket = ctx.socket(&k.node);
            let reply =
                tokio::time::timeout(Duration::from_secs(10), daemons::action(&socket, &k.params))
                    .await
                    .map_err(|_| format!("{} did not answer within 10s", k.node))?
                    .map_err(|e| format!("{}: {e}", k.node))?;
            let shown = match reply {
                Value::Null => String::new(),
                Value::String(s) => format!(": {s}"),
                v => format!(": {v}"),
            };
            ctx.rec.record(
                EventSource::Action,
                &e.name,
                &k.params.kind,
                format!("{} on {}{shown}", k.params.kind, k.node),
            );
            ctx.rec.complete(&e.name, true);
        }
    }
    Ok(())
}
