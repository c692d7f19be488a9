//! The engine's side of the daemons' control sockets: waiting for a socket to answer,
//! following a daemon's event stream onto the run's timeline (and to `on_event` triggers), and
//! one-shot `show` and `action` requests.
//!
//! What it does not do: restart a daemon whose stream ended (the timeline decides that).

use std::path::{Path, PathBuf};
use std::time::Duration;

use control::{ActionParams, Client, ControlError, ShowParams};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::report::EventSource;
use crate::runner::recorder::Recorder;

/// Waits until a server answers on `socket`.
pub async fn wait_for_socket(socket: &Path, limit: Duration) -> Result<(), String> {
    let start = std::time::Instant::now();
    loop {
        match Client::connect(socket).await {
            Ok(mut c) => {
                if c.show("help", Default::default()).await.is_ok() {
                    return Ok(());
                }
            }
            Err(e) if start.elapsed() >= limit => {
                return Err(format!(
                    "control socket {} did not answer within {}: {e}",
                    socket.display(),
                    crate::duration::human(limit)
                ));
            }
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Follows `node`'s events: each is recorded and broadcast for `on_event` triggers.
pub fn follow(
    socket: PathBuf,
    node: String,
    rec: Recorder,
    events: broadcast::Sender<control::Event>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let stream = match Client::connect(&socket).await {
            Ok(c) => c.subscribe().await,
            Err(e) => Err(e),
        };
        let mut stream = match stream {
            Ok(s) => s,
            Err(e) => {
                rec.record(
                    EventSource::Engine,
                    &node,
                    "events_lost",
                    format!("cannot follow events: {e}"),
                );
                return;
            }
        };
        while let Ok(Some(ev)) = stream.next().await {
            let detail = match &ev.data {
                Value::Null => String::new(),
                v => v.to_string(),
            };
            rec.record_at(ev.t_ns, EventSource::Daemon, &ev.node, &ev.kind, detail);
            let _ = events.send(ev);
        }
        rec.record(
            EventSource::Engine,
            &node,
            "events_end",
            "control socket closed",
        );
    })
}

/// One `show` request.
pub async fn show(socket: &Path, params: &ShowParams) -> Result<Value, ControlError> {
    Client::connect(socket)
        .await?
        .show(&params.what, params.args.clone())
        .await
}

/// One `action` request.
pub async fn action(socket: &Path, params: &ActionParams) -> Result<Value, ControlError> {
    Client::connect(socket)
        .await?
        .action(&params.kind, params.args.clone())
        .await
}
