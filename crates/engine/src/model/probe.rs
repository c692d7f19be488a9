//! `[[probe]]`: real traffic between two nodes, measured by the engine.
//!
//! ```toml
//! [[probe]]
//! name = "h1-h2"
//! kind = "udp"        # udp (default) | tcp | icmp
//! from = "h1"
//! to = "h2"           # or to_address = "10.2.0.10"
//! rate = 1000         # packets (udp, icmp) or connection attempts (tcp) per second
//! port = 7000         # udp/tcp destination port
//! ```
//!
//! Defaults: UDP 1000 pps (1 ms resolution of loss windows), TCP 20 connects/s, ICMP 50/s.
//!
//! What it does not do: send anything (see `crate::probe`).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::source::FieldPath;

/// The kind of traffic a probe sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// A UDP stream with sequence numbers and send timestamps.
    #[default]
    Udp,
    /// Repeated TCP connects (SYN reaches a listener, the handshake completes).
    Tcp,
    /// ICMP echo requests and replies.
    Icmp,
}

impl ProbeKind {
    /// The default rate per second.
    pub fn default_rate(self) -> u32 {
        match self {
            ProbeKind::Udp => 1000,
            ProbeKind::Tcp => 20,
            ProbeKind::Icmp => 50,
        }
    }
}

/// One probe.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// Name, unique.
    pub name: String,
    /// Traffic kind.
    #[serde(default)]
    pub kind: ProbeKind,
    /// Sending node.
    pub from: String,
    /// Receiving node (its first address of the matching family is used).
    #[serde(default)]
    pub to: Option<String>,
    /// An explicit destination address (must belong to a node for UDP/TCP, which need a receiver).
    #[serde(default)]
    pub to_address: Option<IpAddr>,
    /// Per second.
    #[serde(default)]
    pub rate: Option<u32>,
    /// Destination port (UDP, TCP).
    #[serde(default)]
    pub port: Option<u16>,
    /// Where it was declared.
    #[serde(skip)]
    pub path: FieldPath,
}

impl Probe {
    /// Sends per second.
    pub fn rate(&self) -> u32 {
        self.rate.unwrap_or(self.kind.default_rate())
    }

    /// Destination port.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.kind {
            ProbeKind::Udp => 7000,
            ProbeKind::Tcp => 7001,
            ProbeKind::Icmp => 0,
        })
    }
}
