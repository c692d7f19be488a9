//! The daemon side: a tokio server on a Unix socket that answers `show`, runs `action`s and
//! streams events.
//!
//! ```text
//!   ServerBuilder::new("vgw1")          Server (owns the socket file)
//!     .show("routes", f)      bind()      accept loop task
//!     .action("rekey", g)   ---------->     +-- one task per connection:
//!     .publisher() --+                      |     read line -> Request::decode -> handler -> reply
//!                    |                      |     "events" -> subscribe to the broadcast, stream
//!   daemon code: publisher.publish("bgp.up", data)  --broadcast-->  every subscribed connection
//! ```
//!
//! A daemon registers one handler per view and per action kind; the built-in view `help` (also
//! an empty `what`) lists them. A slow event subscriber that falls behind gets an `events.lost`
//! event saying how many it missed instead of blocking the daemon. Events published before
//! anyone subscribed (a daemon's BGP can reach Established before the engine's subscription
//! lands) are kept, up to [`EARLY_EVENTS`], and streamed first to the first subscriber, so a
//! run's record starts at the daemon's start; later subscribers see only what follows.
//!
//! What it does not do: authentication (the socket file's permissions are the access control),
//! or knowing anything about BGP or IPsec.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast;
use tracing::{Instrument, debug, debug_span, warn};

use crate::ControlError;
use crate::protocol::{
    ActionParams, Call, ErrorBody, ErrorCode, Event, Reply, Request, ServerLine, ShowParams,
};

/// What a handler returns: the `result` value or an error reply.
pub type HandlerResult = Result<Value, ErrorBody>;

type BoxFuture = Pin<Box<dyn Future<Output = HandlerResult> + Send>>;
type ShowFn = Arc<dyn Fn(ShowParams) -> BoxFuture + Send + Sync>;
type ActionFn = Arc<dyn Fn(ActionParams) -> BoxFuture + Send + Sync>;

/// The longest request line accepted; longer lines close the connection.
pub const MAX_LINE: usize = 1 << 20;

/// Events buffered per subscriber before it is told it lost some.
const EVENT_BUFFER: usize = 4096;

struct Handlers {
    shows: BTreeMap<String, ShowFn>,
    actions: BTreeMap<String, ActionFn>,
}

/// Events kept for the first subscriber; beyond this the oldest are dropped and the
/// subscriber is told how many with an `events.lost` event.
pub const EARLY_EVENTS: usize = 4096;

/// Publishes timestamped events to every subscribed connection. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventPublisher {
    node: Arc<str>,
    tx: broadcast::Sender<Event>,
    /// Until the first subscription: what was published (and how many were dropped). Taken,
    /// with the subscription made, under this lock, so no event is lost or seen twice.
    early: Arc<std::sync::Mutex<Option<EarlyEvents>>>,
}

#[derive(Debug, Default)]
struct EarlyEvents {
    kept: std::collections::VecDeque<Event>,
    dropped: u64,
}

impl EventPublisher {
    /// Publishes `kind` with `data`, stamped with CLOCK_MONOTONIC now; returns the event.
    pub fn publish(&self, kind: &str, data: impl Serialize) -> Event {
        self.publish_at(netns::clock::monotonic_ns(), kind, data)
    }

    /// Publishes with a timestamp taken earlier (e.g. when the state change happened).
    pub fn publish_at(&self, t_ns: u64, kind: &str, data: impl Serialize) -> Event {
        let event = Event {
            t_ns,
            node: self.node.to_string(),
            kind: kind.to_string(),
            data: serde_json::to_value(data).unwrap_or(Value::Null),
        };
        let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(early) = early.as_mut() {
            if early.kept.len() == EARLY_EVENTS {
                early.kept.pop_front();
                early.dropped += 1;
            }
            early.kept.push_back(event.clone());
        }
        // No subscriber is not an error: nobody is watching.
        let _ = self.tx.send(event.clone());
        event
    }

    /// A subscription, and for the first one ever, the events published before it.
    fn subscribe(&self) -> (broadcast::Receiver<Event>, Option<EarlyEvents>) {
        let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
        (self.tx.subscribe(), early.take())
    }

    /// The `events.lost` event telling a subscriber it missed `missed` events.
    fn lost_event(&self, missed: u64) -> Event {
        Event {
            t_ns: netns::clock::monotonic_ns(),
            node: self.node.to_string(),
            kind: "events.lost".to_string(),
            data: json!({ "missed": missed }),
        }
    }

    /// How many connections currently stream events.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// Collects handlers, then binds the socket.
pub struct ServerBuilder {
    node: String,
    handlers: Handlers,
    publisher: EventPublisher,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("node", &self.node)
            .field("shows", &self.handlers.shows.keys().collect::<Vec<_>>())
            .field("actions", &self.handlers.actions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ServerBuilder {
    /// A server for the node named `node` (the name stamped on its events).
    pub fn new(node: &str) -> ServerBuilder {
        let (tx, _) = broadcast::channel(EVENT_BUFFER);
        ServerBuilder {
            node: node.to_string(),
            handlers: Handlers {
                shows: BTreeMap::new(),
                actions: BTreeMap::new(),
            },
            publisher: EventPublisher {
                node: node.into(),
                tx,
                early: Arc::new(std::sync::Mutex::new(Some(EarlyEvents::default()))),
            },
        }
    }

    /// Registers the view `what`.
    pub fn show<F, Fut>(mut self, what: &str, f: F) -> ServerBuilder
    where
        F: Fn(ShowParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let f: ShowFn = Arc::new(move |p| Box::pin(f(p)));
        self.handlers.shows.insert(what.to_string(), f);
        self
    }

    /// Registers the action `kind`.
    pub fn action<F, Fut>(mut self, kind: &str, f: F) -> ServerBuilder
    where
        F: Fn(ActionParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let f: ActionFn = Arc::new(move |p| Box::pin(f(p)));
        self.handlers.actions.insert(kind.to_string(), f);
        self
    }

    /// The publisher for this server's events (usable before and after binding).
    pub fn publisher(&self) -> EventPublisher {
        self.publisher.clone()
    }

    /// Binds `path` and starts serving on the current tokio runtime.
    ///
    /// A socket file left by a dead daemon is replaced; one that a live server answers on is
    /// an error ([`ControlError::AlreadyServed`]).
    pub async fn bind(self, path: &Path) -> Result<Server, ControlError> {
        if path.exists() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(ControlError::AlreadyServed(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(|e| ControlError::io("removing stale", path, e))?;
        }
        let listener =
            UnixListener::bind(path).map_err(|e| ControlError::io("binding", path, e))?;
        let handlers = Arc::new(self.handlers);
        let publisher = self.publisher.clone();
        let span = debug_span!("control", node = %self.node);
        let task = tokio::spawn(
            async move {
                // Connection tasks live in this set, so stopping the server (aborting this
                // task) ends every connection too, event streams included.
                let mut connections = tokio::task::JoinSet::new();
                loop {
                    let stream = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((stream, _)) => stream,
                            Err(e) => {
                                warn!(error = %e, "accept failed");
                                continue;
                            }
                        },
                        Some(_) = connections.join_next() => continue,
                    };
                    let (handlers, publisher) = (handlers.clone(), publisher.clone());
                    connections.spawn(
                        async move {
                            if let Err(e) = connection(stream, &handlers, &publisher).await {
                                debug!(error = %e, "control connection ended");
                            }
                        }
                        .in_current_span(),
                    );
                }
            }
            .instrument(span),
        );
        Ok(Server {
            path: path.to_path_buf(),
            task,
            publisher: self.publisher,
        })
    }
}

/// A serving control socket; dropping it stops accepting and removes the socket file.
#[derive(Debug)]
pub struct Server {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
    publisher: EventPublisher,
}

impl Server {
    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The event publisher.
    pub fn publisher(&self) -> EventPublisher {
        self.publisher.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads one line of at most [`MAX_LINE`] bytes; `None` at end of stream.
pub(crate) async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<String>> {
    use tokio::io::AsyncReadExt;
    buf.clear();
    let n = (&mut *reader)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > MAX_LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("line longer than {MAX_LINE} bytes"),
        ));
    }
    Ok(Some(String::from_utf8_lossy(buf).into_owned()))
}

async fn write_line(
    wr: &mut tokio::net::unix::OwnedWriteHalf,
    line: &ServerLine,
) -> std::io::Result<()> {
    let mut s = line.encode();
    s.push('\n');
    wr.write_all(s.as_bytes()).await
}

async fn connection(
    stream: UnixStream,
    handlers: &Handlers,
    publisher: &EventPublisher,
) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut reader = BufReader::new(rd);
    let mut buf = Vec::new();
    while let Some(line) = read_line(&mut reader, &mut buf).await? {
        if line.trim().is_empty() {
            continue;
        }
        let request = match Request::decode(&line) {
            Ok(r) => r,
            Err(e) => {
                let reply = Reply {
                    id: e.id,
                    outcome: Err(ErrorBody::new(e.code, e.message)),
                };
                write_line(&mut wr, &ServerLine::Reply(reply)).await?;
                continue;
            }
        };
        let outcome = match request.call {
            Call::Show(p) => show(handlers, p).await,
            Call::Action(p) => match handlers.actions.get(&p.kind) {
                Some(f) => f(p).await,
                None => Err(ErrorBody::new(
                    ErrorCode::NotFound,
                    format!(
                        "no action {:?}; this node has: {}",
                        p.kind,
                        names(&handlers.actions)
                    ),
                )),
            },
            Call::Events => {
                let (rx, early) = publisher.subscribe();
                let reply = Reply {
                    id: Some(request.id),
                    outcome: Ok(json!("subscribed")),
                };
                write_line(&mut wr, &ServerLine::Reply(reply)).await?;
                if let Some(early) = early {
                    if early.dropped > 0 {
                        let lost = publisher.lost_event(early.dropped);
                        write_line(&mut wr, &ServerLine::Event(lost)).await?;
                    }
                    for ev in early.kept {
                        write_line(&mut wr, &ServerLine::Event(ev)).await?;
                    }
                }
                return stream_events(reader, wr, rx, publisher).await;
            }
        };
        let reply = Reply {
            id: Some(request.id),
            outcome,
        };
        write_line(&mut wr, &ServerLine::Reply(reply)).await?;
    }
    Ok(())
}

fn names<V>(map: &BTreeMap<String, V>) -> String {
    if map.is_empty() {
        return "none".to_string();
    }
    map.keys().cloned().collect::<Vec<_>>().join(", ")
}

async fn show(handlers: &Handlers, p: ShowParams) -> HandlerResult {
    if p.what.is_empty() || p.what == "help" {
        return Ok(json!({
            "shows": handlers.shows.keys().collect::<Vec<_>>(),
            "actions": handlers.actions.keys().collect::<Vec<_>>(),
        }));
    }
    match handlers.shows.get(&p.what) {
        Some(f) => f(p).await,
        None => Err(ErrorBody::new(
            ErrorCode::NotFound,
            format!(
                "cannot show {:?}; this node has: {}",
                p.what,
                names(&handlers.shows)
            ),
        )),
    }
}

/// Streams events until the client hangs up or the server's publisher is gone.
async fn stream_events(
    mut reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    mut wr: tokio::net::unix::OwnedWriteHalf,
    mut rx: broadcast::Receiver<Event>,
    publisher: &EventPublisher,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        tokio::select! {
            // Anything the client sends now is ignored; end of stream means it left.
            line = read_line(&mut reader, &mut buf) => {
                if line?.is_none() {
                    return Ok(());
                }
            }
            ev = rx.recv() => match ev {
                Ok(ev) => write_line(&mut wr, &ServerLine::Event(ev)).await?,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    warn!(missed, "event subscriber too slow");
                    write_line(&mut wr, &ServerLine::Event(publisher.lost_event(missed))).await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
        }
    }
}
