//! The speaker's control socket: JSON lines over a Unix socket, the protocol of docs/design.md.
//!
//! ```text
//! -> {"id":1,"method":"show","params":{"what":"neighbors"}}        summary | neighbors | routes | route
//! <- {"id":1,"result":[...]}
//! -> {"id":2,"method":"events"}                                    then one event per line
//! <- {"event":{"t_ns":123,"node":"vgw1","kind":"bgp.state","data":{...}}}
//! -> {"id":3,"method":"action","params":{"kind":"withdraw","prefixes":["10.1.0.0/16"]}}
//!                            kinds: advertise, withdraw, neighbor_stop, neighbor_start, route_refresh
//! <- {"id":3,"error":{"code":"bad_request","message":"..."}}
//! ```
//!
//! This is a small server of our own until `crates/control` lands; it speaks the same protocol
//! so that `hybridlab show` and the scenario engine can talk to `hl-bgpd` either way.
//!
//! What it does not do: authentication (the socket's file permissions are the access control).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tracing::{debug, warn};

use super::Speaker;
use crate::wire::{Community, Family, PathAttrs, Prefix};

/// Serves `speaker` on `path` (replacing a stale socket file) until the task is dropped.
pub async fn serve(path: &Path, node: String, speaker: Arc<Speaker>) -> std::io::Result<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    let node = Arc::new(node);
    loop {
        let (stream, _) = listener.accept().await?;
        let (speaker, node) = (speaker.clone(), node.clone());
        tokio::spawn(async move {
            if let Err(e) = client(stream, &node, &speaker).await {
                debug!(error = %e, "control client gone");
            }
        });
    }
}

fn error(id: &Value, code: &str, message: impl ToString) -> Value {
    json!({"id": id, "error": {"code": code, "message": message.to_string()}})
}

async fn client(stream: UnixStream, node: &str, speaker: &Speaker) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    while let Some(line) = lines.next_line().await? {
        let req: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let r = error(&Value::Null, "bad_request", format!("not JSON: {e}"));
                wr.write_all(format!("{r}\n").as_bytes()).await?;
                continue;
            }
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let params = req.get("params").cloned().unwrap_or(Value::Null);
        let reply = match req.get("method").and_then(Value::as_str) {
            Some("show") => show(&id, &params, speaker).await,
            Some("action") => action(&id, &params, speaker).await,
            Some("events") => {
                let mut rx = speaker.subscribe();
                wr.write_all(format!("{}\n", json!({"id": id, "result": "subscribed"})).as_bytes())
                    .await?;
                loop {
                    match rx.recv().await {
                        Ok(ev) => {
                            let line = json!({"event": {"t_ns": ev.t_ns, "node": node, "kind": ev.kind, "data": ev.data}});
                            wr.write_all(format!("{line}\n").as_bytes()).await?;
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            warn!(missed = n, "event subscriber too slow");
                            let line = json!({"event": {"t_ns": netns::clock::monotonic_ns(), "node": node, "kind": "events.lost", "data": {"missed": n}}});
                            wr.write_all(format!("{line}\n").as_bytes()).await?;
                        }
                        Err(_) => return Ok(()),
                    }
                }
            }
            other => error(&id, "unknown_method", format!("unknown method {other:?}")),
        };
        wr.write_all(format!("{reply}\n").as_bytes()).await?;
    }
    Ok(())
}

fn family(params: &Value) -> Result<Family, String> {
    match params
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("ipv4-unicast")
    {
        "ipv4" | "ipv4-unicast" => Ok(Family::Ipv4Unicast),
        "ipv6" | "ipv6-unicast" => Ok(Family::Ipv6Unicast),
        f => Err(format!("unknown family {f:?}")),
    }
}

async fn show(id: &Value, params: &Value, speaker: &Speaker) -> Value {
    let what = params
        .get("what")
        .and_then(Value::as_str)
        .unwrap_or("summary");
    let result = match what {
        "summary" => speaker.summary().await.map(|s| json!(s)),
        "neighbors" => speaker.neighbors().await.map(|s| json!(s)),
        "routes" => {
            let f = match family(params) {
                Ok(f) => f,
                Err(e) => return error(id, "bad_request", e),
            };
            let limit = params
                .get("limit")
                .and_then(Value::as_u64)
                .unwrap_or(10_000) as usize;
            speaker.routes(f, limit).await.map(|s| json!(s))
        }
        "route" => {
            let Some(p) = params
                .get("prefix")
                .and_then(Value::as_str)
                .and_then(|p| p.parse::<Prefix>().ok())
            else {
                return error(
                    id,
                    "bad_request",
                    "route needs \"prefix\": \"ADDRESS/LENGTH\"",
                );
            };
            speaker.route(p).await.map(|s| json!(s))
        }
        other => {
            return error(
                id,
                "bad_request",
                format!("cannot show {other:?}: summary, neighbors, routes, route"),
            );
        }
    };
    match result {
        Ok(v) => json!({"id": id, "result": v}),
        Err(e) => error(id, "unavailable", e),
    }
}

fn prefixes(params: &Value) -> Result<Vec<Prefix>, String> {
    let list = params
        .get("prefixes")
        .and_then(Value::as_array)
        .ok_or("\"prefixes\" must be a list")?;
    list.iter()
        .map(|p| {
            p.as_str()
                .ok_or_else(|| "prefixes are strings".to_string())
                .and_then(|s| s.parse::<Prefix>().map_err(|e| e.to_string()))
        })
        .collect()
}

async fn action(id: &Value, params: &Value, speaker: &Speaker) -> Value {
    let kind = params.get("kind").and_then(Value::as_str).unwrap_or("");
    let neighbor = || -> Result<IpAddr, String> {
        params
            .get("neighbor")
            .and_then(Value::as_str)
            .ok_or("\"neighbor\" (an address) is required")?
            .parse()
            .map_err(|e| format!("bad neighbor address: {e}"))
    };
    let r: Result<(), String> = match kind {
        "advertise" => match prefixes(params) {
            Ok(ps) => {
                let communities: Vec<Community> = params
                    .get("communities")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|c| c.as_str()?.parse().ok()).collect())
                    .unwrap_or_default();
                let med = params.get("med").and_then(Value::as_u64).map(|m| m as u32);
                let mut r = Ok(());
                for p in ps {
                    let attrs = PathAttrs {
                        med,
                        communities: communities.clone(),
                        ..Default::default()
                    };
                    if let Err(e) = speaker.originate(p, attrs).await {
                        r = Err(e.to_string());
                    }
                }
                r
            }
            Err(e) => Err(e),
        },
        "withdraw" => match prefixes(params) {
            Ok(ps) => {
                let mut r = Ok(());
                for p in ps {
                    if let Err(e) = speaker.withdraw(p).await {
                        r = Err(e.to_string());
                    }
                }
                r
            }
            Err(e) => Err(e),
        },
        "neighbor_stop" => match neighbor() {
            Ok(a) => {
                let msg = params
                    .get("message")
                    .and_then(Value::as_str)
                    .map(String::from);
                speaker
                    .neighbor_stop(a, msg)
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e),
        },
        "neighbor_start" => match neighbor() {
            Ok(a) => speaker.neighbor_start(a).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        },
        "route_refresh" => match (neighbor(), family(params)) {
            (Ok(a), Ok(f)) => speaker.route_refresh(a, f).await.map_err(|e| e.to_string()),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        other => Err(format!(
            "unknown action {other:?}: advertise, withdraw, neighbor_stop, neighbor_start, route_refresh"
        )),
    };
    match r {
        Ok(()) => json!({"id": id, "result": "ok"}),
        Err(e) => error(id, "bad_request", e),
    }
}
