//! The caller side: the scenario engine and `hybridlab show` talk to a daemon through [`Client`].
//!
//! One connection answers requests in order; [`Client::subscribe`] turns it into an
//! [`EventStream`] (open a second client for requests while streaming).
//!
//! What it does not do: time out (wrap calls in `tokio::time::timeout`), or reconnect.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use crate::ControlError;
use crate::protocol::{ActionParams, Call, Event, Request, ServerLine, ShowParams};
use crate::server::read_line;

/// A connection to a daemon's control socket.
#[derive(Debug)]
pub struct Client {
    path: PathBuf,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to the socket at `path`.
    pub async fn connect(path: &Path) -> Result<Client, ControlError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|e| ControlError::io("connecting to", path, e))?;
        let (rd, wr) = stream.into_split();
        Ok(Client {
            path: path.to_path_buf(),
            reader: BufReader::new(rd),
            writer: wr,
            next_id: 1,
            buf: Vec::new(),
        })
    }

    /// Sends `call` and waits for its reply; an error reply becomes [`ControlError::Remote`].
    pub async fn request(&mut self, call: Call) -> Result<Value, ControlError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = Request { id, call }.encode();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .await
            .map_err(|e| ControlError::io("writing to", &self.path, e))?;
        loop {
            let line = read_line(&mut self.reader, &mut self.buf)
                .await
                .map_err(|e| ControlError::io("reading from", &self.path, e))?
                .ok_or(ControlError::Closed)?;
            match ServerLine::decode(&line).map_err(ControlError::Protocol)? {
                ServerLine::Reply(r) if r.id == Some(id) || r.id.is_none() => {
                    return r.outcome.map_err(ControlError::Remote);
                }
                ServerLine::Reply(r) => {
                    return Err(ControlError::Protocol(format!(
                        "reply for request {:?} while waiting for {id}",
                        r.id
                    )));
                }
                // Events only flow after `events`; skip any that arrive early.
                ServerLine::Event(_) => continue,
            }
        }
    }

    /// `show what` with view arguments.
    pub async fn show(
        &mut self,
        what: &str,
        args: Map<String, Value>,
    ) -> Result<Value, ControlError> {
        self.request(Call::Show(ShowParams {
            what: what.to_string(),
            args,
        }))
        .await
    }

    /// Runs the action `kind` with its arguments.
    pub async fn action(
        &mut self,
        kind: &str,
        args: Map<String, Value>,
    ) -> Result<Value, ControlError> {
        self.request(Call::Action(ActionParams {
            kind: kind.to_string(),
            args,
        }))
        .await
    }

    /// Subscribes to events; the connection carries only events from now on.
    pub async fn subscribe(mut self) -> Result<EventStream, ControlError> {
        self.request(Call::Events).await?;
        Ok(EventStream { client: self })
    }
}

/// Events from one daemon, in the order it published them.
#[derive(Debug)]
pub struct EventStream {
    client: Client,
}

impl EventStream {
    /// The next event; `Ok(None)` when the daemon closed the connection (it exited).
    pub async fn next(&mut self) -> Result<Option<Event>, ControlError> {
        let c = &mut self.client;
        loop {
            let Some(line) = read_line(&mut c.reader, &mut c.buf)
                .await
                .map_err(|e| ControlError::io("reading from", &c.path, e))?
            else {
                return Ok(None);
            };
            match ServerLine::decode(&line).map_err(ControlError::Protocol)? {
                ServerLine::Event(ev) => return Ok(Some(ev)),
                ServerLine::Reply(_) => continue,
            }
        }
    }
}
