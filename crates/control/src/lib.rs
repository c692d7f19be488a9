//! hybridlab's control socket: JSON lines over a Unix socket (docs/design.md).
//!
//! Every daemon (vgw, cgw, ...) serves one at `<state>/<lab>/<node>/<node>.sock`; the scenario
//! engine and `hybridlab show` are its clients.
//!
//! - [`protocol`]: the typed request, reply and event lines and their codecs;
//! - [`server`]: the tokio server daemons embed (`show` views, actions, an event broadcaster);
//! - [`client`]: the client the engine and the CLI use.
//!
//! Secrets in `show` replies are the `secret` crate's `Secret`, which serializes as `***`.
//!
//! What it does not do: decide what a daemon shows or does (its handlers do), authenticate
//! callers (file permissions do), or keep events for late subscribers (only the first
//! subscriber gets what was published before it, see [`server`]).

pub mod client;
pub mod protocol;
pub mod server;

use std::path::{Path, PathBuf};

pub use client::{Client, EventStream};
pub use protocol::{ActionParams, Call, ErrorBody, ErrorCode, Event, Reply, Request, ShowParams};
pub use server::{EventPublisher, HandlerResult, Server, ServerBuilder};

/// The socket path of `node` in lab directory `lab_dir` (`<state>/<lab>`).
pub fn socket_path(lab_dir: &Path, node: &str) -> PathBuf {
    lab_dir.join(node).join(format!("{node}.sock"))
}

/// Errors of the control layer.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// A socket operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// The operation.
        what: &'static str,
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another live server answers on this path.
    #[error("{0} is already served by a running daemon")]
    AlreadyServed(PathBuf),
    /// The daemon answered with an error.
    #[error("the daemon answered {0}")]
    Remote(ErrorBody),
    /// The daemon sent something that is not the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The daemon closed the connection before answering.
    #[error("the daemon closed the connection")]
    Closed,
}

impl ControlError {
    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> ControlError {
        ControlError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}
