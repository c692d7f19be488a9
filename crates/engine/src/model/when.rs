//! When a timeline action runs or an expectation is checked.
//!
//! ```toml
//! at = "5s"                                   # after the timeline starts (bring-up done)
//! after = "cut-wan"                           # when the named action ran / expectation held
//! on_event = { node = "vgw1", kind = "bgp.down" }   # when a daemon reports an event
//! delay = "500ms"                             # added to `after` / `on_event`
//! ```
//!
//! What it does not do: wait (the engine's timeline does).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A daemon event to wait for.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventMatch {
    /// The node whose control socket reports it.
    pub node: String,
    /// The event kind, e.g. `bgp.down`; a trailing `*` matches a prefix (`bgp.*`).
    pub kind: String,
}

impl EventMatch {
    /// Whether an event of `kind` from `node` matches.
    pub fn matches(&self, node: &str, kind: &str) -> bool {
        node == self.node
            && match self.kind.strip_suffix('*') {
                Some(prefix) => kind.starts_with(prefix),
                None => kind == self.kind,
            }
    }
}

/// The moment something happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// This long after the timeline starts.
    At(Duration),
    /// After the named action ran or the named expectation held, plus a delay.
    After {
        /// The action's or expectation's name.
        name: String,
        /// Extra wait.
        delay: Duration,
    },
    /// After a daemon event, plus a delay.
    OnEvent {
        /// The event.
        event: EventMatch,
        /// Extra wait.
        delay: Duration,
    },
    /// When every action has run and every other expectation is settled.
    End,
}

impl When {
    /// The name this depends on, if any.
    pub fn depends_on(&self) -> Option<&str> {
        match self {
            When::After { name, .. } => Some(name),
            _ => None,
        }
    }
}
