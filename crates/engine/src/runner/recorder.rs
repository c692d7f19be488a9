//! The run's monotonic timeline as it happens: every action, daemon event, probe observation and
//! expectation verdict is appended here (and shown on the live display), and completions are
//! published so that `after = "NAME"` triggers can wait for them.
//!
//! What it does not do: decide anything; it only records and notifies.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::report::live::Live;
use crate::report::{EventSource, TimelineEvent};

/// How a named item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    /// When (CLOCK_MONOTONIC ns).
    pub t_ns: u64,
    /// Whether it succeeded (an action ran, an expectation held).
    pub ok: bool,
}

#[derive(Debug)]
struct Inner {
    events: Vec<TimelineEvent>,
    live: Live,
    t0_ns: Option<u64>,
}

/// Shared by all the engine's tasks; cheap to clone.
#[derive(Debug, Clone)]
pub struct Recorder {
    inner: Arc<Mutex<Inner>>,
    done: Arc<watch::Sender<BTreeMap<String, Completion>>>,
}

impl Recorder {
    /// A recorder showing progress on `live`.
    pub fn new(live: Live) -> Recorder {
        Recorder {
            inner: Arc::new(Mutex::new(Inner {
                events: Vec::new(),
                live,
                t0_ns: None,
            })),
            done: Arc::new(watch::channel(BTreeMap::new()).0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the timeline's time zero.
    pub fn set_t0(&self, t0_ns: u64) {
        self.lock().t0_ns = Some(t0_ns);
    }

    /// Appends an event stamped now.
    pub fn record(
        &self,
        source: EventSource,
        subject: &str,
        kind: &str,
        detail: impl Into<String>,
    ) -> u64 {
        let t = netns::clock::monotonic_ns();
        self.record_at(t, source, subject, kind, detail);
        t
    }

    /// Appends an event with its own timestamp (daemon events carry theirs).
    pub fn record_at(
        &self,
        t_ns: u64,
        source: EventSource,
        subject: &str,
        kind: &str,
        detail: impl Into<String>,
    ) {
        let e = TimelineEvent {
            t_ns,
            source,
            subject: subject.to_string(),
            kind: kind.to_string(),
            detail: detail.into(),
        };
        let mut g = self.lock();
        let rel = g.t0_ns.map_or(0.0, |t0| (t_ns as f64 - t0 as f64) / 1e9);
        g.live.event(rel, &e);
        g.events.push(e);
    }

    /// Prints a line on the live display without recording it.
    pub fn say(&self, text: &str) {
        self.lock().live.line(text);
    }

    /// Redraws the live status line.
    pub fn status(&self, text: &str) {
        self.lock().live.status(text);
    }

    /// Publishes the completion of the named action or expectation.
    pub fn complete(&self, name: &str, ok: bool) {
        let c = Completion {
            t_ns: netns::clock::monotonic_ns(),
            ok,
        };
        self.done.send_modify(|m| {
            m.entry(name.to_string()).or_insert(c);
        });
    }

    /// Waits until `name` completed.
    pub async fn completion(&self, name: &str) -> Completion {
        let mut rx = self.done.subscribe();
        match rx.wait_for(|m| m.contains_key(name)).await {
            Ok(m) => m[name],
            // The sender lives as long as `self`: unreachable, but fail safe.
            Err(_) => Completion {
                t_ns: netns::clock::monotonic_ns(),
                ok: false,
            },
        }
    }

    /// Waits until every name in `names` completed.
    pub async fn all_complete(&self, names: &[String]) {
        let mut rx = self.done.subscribe();
        let _ = rx
            .wait_for(|m| names.iter().all(|n| m.contains_key(n)))
            .await;
    }

    /// The events so far, in time order.
    pub fn events(&self) -> Vec<TimelineEvent> {
        let mut e = self.lock().events.clone();
        e.sort_by_key(|e| e.t_ns);
        e
    }

    /// Clears the live status line.
    pub fn finish(&self) {
        self.lock().live.finish();
    }
}
