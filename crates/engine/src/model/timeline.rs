//! `[[timeline]]`: actions on the running lab.
//!
//! ```toml
//! [[timeline]]
//! name = "cut-wan"
//! at = "3s"
//! action = "cut"            # drop traffic with nftables rules in the node namespaces
//! link = "wan"              # or node = "r1" (its whole underlay)
//! proto = "udp"             # optional: only this protocol (udp tcp icmp esp gre ...)
//! port = 4500               # optional: only this port (udp/tcp); or ports = [500, 4500]
//! peer = "203.0.113.9"      # optional: only traffic from or to this address (one tunnel)
//! loss = 20                 # optional: drop only this percentage, at random (nftables numgen)
//! duration = "2s"           # optional: restore by itself after this long
//!
//! [[timeline]]
//! after = "cut-wan"
//! delay = "2s"
//! action = "restore"
//! cut = "cut-wan"           # or link = / node = : every cut on it
//!
//! # link_down / link_up { link, node? }   kill / restart { node, process? }
//! # reset_nat { node }: a masquerading router forgets its NAT mappings (an edge restart)
//! # flap { link, count, period, down? }   and the actions node kinds add (withdraw, rekey ...)
//! ```
//!
//! What it does not do: run actions (the engine does).

use std::time::Duration;

use control::ActionParams;
use serde::{Deserialize, Serialize};

use crate::model::when::When;
use crate::source::FieldPath;

/// Which traffic a cut drops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct TrafficMatch {
    /// IP protocol name (`udp`, `tcp`, `icmp`, `esp`, `gre`, ...); `None`: all traffic.
    pub proto: Option<String>,
    /// Ports (UDP/TCP/SCTP only), each matched as source or destination; empty: every port.
    pub ports: Vec<u16>,
    /// Only traffic from or to this address (e.g. one tunnel's peer: `proto = "udp"`,
    /// `ports = [500, 4500]`, `peer = "203.0.113.9"` cuts exactly that tunnel's underlay).
    pub peer: Option<std::net::IpAddr>,
    /// Drop only this percentage of the matching packets, at random (1 to 99); `None`: all.
    pub loss_percent: Option<u8>,
}

impl TrafficMatch {
    /// One-line rendering for reports: `all traffic`, `udp`, `udp port 4500`.
    pub fn describe(&self) -> String {
        let mut s = match (&self.proto, self.ports.as_slice()) {
            (None, _) => "all traffic".to_string(),
            (Some(p), []) => p.clone(),
            (Some(p), [port]) => format!("{p} port {port}"),
            (Some(p), ports) => {
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                format!("{p} ports {}", ports.join(","))
            }
        };
        if let Some(peer) = self.peer {
            s += &format!(" to/from {peer}");
        }
        if let Some(l) = self.loss_percent {
            s += &format!(", {l}% random loss");
        }
        s
    }
}

/// What a cut or restore applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CutTarget {
    /// Both ends of a link.
    Link(String),
    /// Every interface of a node (its underlay), loopback excepted.
    Node(String),
}

/// How a flap takes the link away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FlapHow {
    /// Administrative link down/up (carrier loss seen by both ends).
    #[default]
    Down,
    /// A silent cut (packets dropped, link stays up).
    Cut,
}

/// One action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// Drop traffic.
    Cut {
        /// Where.
        target: CutTarget,
        /// Which traffic.
        matching: TrafficMatch,
        /// Restore by itself after this long.
        duration: Option<Duration>,
    },
    /// Remove a cut.
    Restore {
        /// The cut action's name, or every cut on a target.
        which: RestoreWhich,
    },
    /// Set a link's ends down (or only the end on `node`).
    LinkDown {
        /// The link.
        link: String,
        /// Only this end.
        node: Option<String>,
    },
    /// Set a link's ends up again.
    LinkUp {
        /// The link.
        link: String,
        /// Only this end.
        node: Option<String>,
    },
    /// SIGKILL a node's process.
    Kill {
        /// The node.
        node: String,
        /// The process (its name); `None`: the node's only or main process.
        process: Option<String>,
    },
    /// A masquerading router forgets its NAT mappings (a conntrack flush, as when an edge
    /// router restarts): each flow's next packet leaves with a new source port.
    ResetNat {
        /// The router.
        node: String,
    },
    /// Start a killed process again (or kill and start a running one).
    Restart {
        /// The node.
        node: String,
        /// The process.
        process: Option<String>,
    },
    /// Take a link away and back `count` times, one cycle per `period`.
    Flap {
        /// The link.
        link: String,
        /// Cycles.
        count: u32,
        /// Length of one cycle.
        period: Duration,
        /// Time away within a cycle (default half the period).
        down: Duration,
        /// Down/up or silent cut.
        how: FlapHow,
    },
    /// An action a node kind owns, sent through the node's control socket.
    Kind(KindRequest),
}

/// What a restore removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreWhich {
    /// The cut made by this named action.
    Named(String),
    /// Every cut on this target.
    Target(CutTarget),
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// Name (given, or generated like `cut wan`).
    pub name: String,
    /// When it runs.
    pub when: When,
    /// What it does.
    pub action: Action,
    /// Where it was declared.
    #[serde(skip)]
    pub path: FieldPath,
}

/// Raw keys every timeline entry may have.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryCommon {
    pub name: Option<String>,
    pub at: Option<crate::duration::Dur>,
    pub after: Option<String>,
    pub on_event: Option<crate::model::when::EventMatch>,
    pub delay: Option<crate::duration::Dur>,
    pub action: String,
}

/// Keys of `cut`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CutRaw {
    pub link: Option<String>,
    pub node: Option<String>,
    pub proto: Option<String>,
    pub port: Option<u16>,
    #[serde(default)]
    pub ports: Vec<u16>,
    pub peer: Option<std::net::IpAddr>,
    pub loss: Option<u8>,
    pub duration: Option<crate::duration::Dur>,
}

/// Keys of `restore`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RestoreRaw {
    pub cut: Option<String>,
    pub link: Option<String>,
    pub node: Option<String>,
}

/// Keys of `link_down` / `link_up`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkRaw {
    pub link: String,
    pub node: Option<String>,
}

/// Keys of `kill` / `restart`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProcessRaw {
    pub node: String,
    pub process: Option<String>,
}

/// Keys of `reset_nat`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeRaw {
    pub node: String,
}

/// Keys of `flap`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlapRaw {
    pub link: String,
    pub count: u32,
    pub period: crate::duration::Dur,
    pub down: Option<crate::duration::Dur>,
    #[serde(default)]
    pub how: FlapHow,
}

/// Protocol names a cut accepts, with their IP protocol numbers.
pub const PROTOCOLS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("tcp", 6),
    ("udp", 17),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmpv6", 58),
    ("ospf", 89),
    ("sctp", 132),
];

/// A kind action, executed by sending `params` to `node`'s control socket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindRequest {
    /// The kind that owns it.
    pub kind: &'static str,
    /// The target node.
    pub node: String,
    /// The request.
    pub params: ActionParams,
}
