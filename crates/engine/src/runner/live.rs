//! A lab held up for people (`hybridlab up`): after bring-up and convergence, instead of
//! playing the scenario's timeline, the engine waits until the lab is ready, says so, and then
//! runs the timeline actions it is sent (`hybridlab act`), one request at a time or
//! overlapping, with the same executor as the timeline ([`super::actions`]), until it is asked
//! to stop (SIGTERM from `hybridlab down`), when it tears down like a run.
//!
//! Ready means: every probe delivers (the run's convergence), every BGP session every daemon
//! shows (`show bgp`, any object with a BGP FSM `state`) is Established and every tunnel it
//! shows (`show tunnels`, any object with `status` UP/DOWN) is UP. A lab that is not ready
//! within the `converge` timer is held anyway, and what it waits for is reported (a scenario
//! may keep a session down on purpose, such as a VLAN mismatch).
//!
//! Behaviour chosen here: actions are named `<action>-<n>` unless the request names them, so
//! `restore cut=cut-1` restores the first cut; `at`, `after`, `on_event` and `delay` do not
//! apply (an action sent to a live lab runs now).
//!
//! What it does not do: parse actions (the caller parses them against the lab's scenario, with
//! the scenario parser), or check expectations.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::model::TimelineEntry;
use crate::report::EventSource;
use crate::runner::backend::Backend;
use crate::runner::{Ctx, actions, daemons};

/// BGP FSM states (RFC 4271 §8.2.2), as the daemons show them.
const BGP_STATES: &[&str] = &[
    "Idle",
    "Connect",
    "Active",
    "OpenSent",
    "OpenConfirm",
    "Established",
];

/// How the engine tells its holder the lab is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// Not up when the `converge` timer passed (empty: ready): `vgw1 BGP vpn1-t2 Active`.
    pub waiting: Vec<String>,
}

/// One action to run on the live lab.
#[derive(Debug)]
pub struct Request {
    /// The parsed action (its `when` is ignored).
    pub entry: TimelineEntry,
    /// What happened (the action's timeline lines), or why it failed.
    pub reply: oneshot::Sender<Result<Vec<String>, String>>,
}

/// The holder's ends.
#[derive(Debug)]
pub struct Hooks {
    /// Told once, when the lab is ready (or held not ready).
    pub ready: oneshot::Sender<Ready>,
    /// Actions to run; the lab is held until the run is stopped.
    pub requests: mpsc::Receiver<Request>,
}

/// What is not up in one daemon's `show` reply, walking every object in it.
/// An object without a name of its own (a tunnel's `bgp`) is labelled by its parent's.
fn not_up(node: &str, v: &Value, out: &mut Vec<String>) {
    walk(node, v, "?", out);
}

fn walk(node: &str, v: &Value, inherited: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let label = ["name", "neighbor", "vif", "tunnel"]
                .iter()
                .find_map(|k| m.get(*k).and_then(Value::as_str))
                .unwrap_or(inherited);
            if let Some(s) = m.get("state").and_then(Value::as_str)
                && BGP_STATES.contains(&s)
                && s != "Established"
            {
                out.push(format!("{node} BGP {label} {s}"));
            }
            if let Some(s) = m.get("status").and_then(Value::as_str)
                && s == "DOWN"
            {
                out.push(format!("{node} tunnel {label} DOWN"));
            }
            for v in m.values() {
                walk(node, v, label, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| walk(node, v, inherited, out)),
        _ => {}
    }
}

/// Every session and tunnel not up now, over every daemon with a control socket.
async fn waiting<B: Backend>(ctx: &Ctx<'_, B>) -> Vec<String> {
    let nodes: Vec<String> = {
        let procs = ctx.procs.lock().unwrap_or_else(|p| p.into_inner());
        let mut n: Vec<String> = procs
            .iter()
            .filter(|(_, p)| p.spec.control_socket)
            .map(|((node, _), _)| node.clone())
            .collect();
        n.dedup();
        n
    };
    let mut out = Vec::new();
    for node in nodes {
        let socket = ctx.socket(&node);
        for view in ["bgp", "tunnels"] {
            let params = control::ShowParams {
                what: view.to_string(),
                args: Default::default(),
            };
            match tokio::time::timeout(Duration::from_secs(2), daemons::show(&socket, &params))
                .await
            {
                Ok(Ok(v)) => not_up(&node, &v, &mut out),
                // A kind without that view: nothing to wait for.
                Ok(Err(control::ControlError::Remote(_))) => {}
                Ok(Err(e)) => out.push(format!("{node} does not answer: {e}")),
                Err(_) => out.push(format!("{node} does not answer")),
            }
        }
    }
    out
}

/// Waits for readiness, tells the holder, then runs requests until cancelled.
pub(crate) async fn serve<B: Backend>(ctx: &Ctx<'_, B>, hooks: Hooks) -> Result<(), String> {
    let Hooks {
        ready,
        mut requests,
    } = hooks;
    let deadline = tokio::time::Instant::now() + ctx.timer("converge");
    let left = loop {
        let left = waiting(ctx).await;
        if left.is_empty() || tokio::time::Instant::now() >= deadline {
            break left;
        }
        ctx.rec.status(&format!("waiting for: {}", left.join(", ")));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    ctx.rec.record(
        EventSource::Engine,
        "lab",
        "ready",
        if left.is_empty() {
            "every session Established, every tunnel UP".to_string()
        } else {
            format!("held, not ready: {}", left.join(", "))
        },
    );
    let _ = ready.send(Ready { waiting: left });
    let mut in_flight = FuturesUnordered::new();
    loop {
        tokio::select! {
            r = requests.recv() => match r {
                Some(req) => in_flight.push(run_one(ctx, req)),
                // The holder is gone: keep the lab until stopped.
                None => std::future::pending::<()>().await,
            },
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
        }
    }
}

/// Runs one action and answers with its timeline lines once it completed (a cut with a
/// `duration` answers when the cut is in force, and restores later on its own).
async fn run_one<B: Backend>(ctx: &Ctx<'_, B>, req: Request) {
    let Request { entry, reply } = req;
    let name = entry.name.clone();
    let play = actions::play(ctx, &entry, &[]);
    let answer = async {
        let done = ctx.rec.completion(&name).await;
        let prefix = format!("{name} ");
        let lines: Vec<String> = ctx
            .rec
            .events()
            .into_iter()
            .filter(|e| {
                e.source == EventSource::Action
                    && (e.subject == name || e.subject.starts_with(&prefix))
            })
            .map(|e| format!("{}: {}", e.subject, e.detail))
            .collect();
        let _ = reply.send(if done.ok {
            Ok(lines)
        } else {
            Err(lines.join("; "))
        });
    };
    futures::join!(play, answer);
}

#[cfg(test)]
mod tests {
    use super::not_up;
    use serde_json::json;

    #[test]
    fn finds_sessions_and_tunnels_not_up() {
        let bgp = json!({"neighbors": [
            {"name": "vpn1-t1", "state": "Established"},
            {"name": "vpn1-t2", "state": "Active"}]});
        let tunnels = json!([{"name": "vpn1-t1", "status": "UP", "bgp": {"state": "Established"}},
            {"name": "vpn1-t2", "status": "DOWN", "bgp": {"state": "Idle"}}]);
        let mut out = Vec::new();
        not_up("vgw1", &bgp, &mut out);
        not_up("vgw1", &tunnels, &mut out);
        assert_eq!(
            out,
            vec![
                "vgw1 BGP vpn1-t2 Active",
                "vgw1 tunnel vpn1-t2 DOWN",
                "vgw1 BGP vpn1-t2 Idle"
            ]
        );
        let mut none = Vec::new();
        not_up("x", &json!({"state": "running", "status": "ok"}), &mut none);
        assert!(none.is_empty());
    }
}
