//! What a chaos campaign can break, as node kinds describe it: the engine knows no tunnel or
//! prefix by itself, so it asks every node the typed question [`ChaosTargets`] and each kind
//! that owns tunnels or announcements answers with ready-made cuts, health checks, actions
//! and the timers that bound detection and recovery (computed from its own timer table for
//! the profile asked).
//!
//! ```text
//!  engine ── topo.ask(&ChaosTargets { profile }) ──> vgw1: [Tunnel vpn1-t1, Tunnel vpn1-t2]
//!                                                     cgw1: [Prefix 10.1.0.0/16]
//! ```
//!
//! What it does not do: draw or apply faults ([`super::menu`], the runner).

use std::net::IpAddr;
use std::time::Duration;

use crate::model::expect::KindCheck;
use crate::model::query::Query;
use crate::model::timeline::KindRequest;
use crate::model::timing::Profile;

/// The question: what can be broken on this node, under `profile`'s timers?
#[derive(Debug, Clone, Copy)]
pub struct ChaosTargets {
    /// The campaign's timing profile.
    pub profile: Profile,
}

impl Query for ChaosTargets {
    type Answer = Vec<Target>;
}

/// One breakable thing.
#[derive(Debug, Clone)]
pub enum Target {
    /// A tunnel with its underlay and (dynamic routing) its BGP session.
    Tunnel(TunnelTarget),
    /// A prefix a gateway announces.
    Prefix(PrefixTarget),
    /// A BFD session (Direct Connect VIFs).
    Bfd(BfdTarget),
    /// A link its owner can lose, by name (a gateway's underlay: the internet uplink). Links
    /// inside AWS (a VGW's VPC attachment) are not offered: they do not fail on their own.
    Link(String),
}

/// A tunnel: where and how to cut it, how to tell it is healthy, how fast it must recover.
#[derive(Debug, Clone)]
pub struct TunnelTarget {
    /// `vgw1/vpn1-t1`.
    pub name: String,
    /// The namespace the cuts go into (an end that sees only this tunnel's packets for `peer`).
    pub cut_node: String,
    /// The far end's outside address as seen from `cut_node` (IKE on UDP 500, ESP-in-UDP on
    /// 4500; or GRE).
    pub outside_peer: IpAddr,
    /// What carries the tunnel on the underlay.
    pub encapsulation: Encapsulation,
    /// An inside address of the tunnel's BGP session; `None`: static routing.
    pub inside_peer: Option<IpAddr>,
    /// Holds when the tunnel is back: SA up, BGP Established.
    pub health: KindCheck,
    /// Rekeys the tunnel (for rekey storms), when the kind offers it.
    pub rekey: Option<KindRequest>,
    /// The slowest mechanism that detects the tunnel's loss (BGP hold, DPD).
    pub detection: Duration,
    /// The longest the tunnel may take to come back once its fault is repaired.
    pub recovery: Duration,
    /// Another tunnel carries the same traffic while this one is down.
    pub redundant: bool,
}

/// What carries a tunnel's packets on the underlay, so a cut can drop exactly that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encapsulation {
    /// IPsec: IKE on UDP 500, ESP in UDP 4500 (a VPN tunnel).
    IpsecUdp,
    /// GRE, IP protocol 47 (a Transit Gateway Connect peer).
    Gre,
}

/// A prefix that can be withdrawn and announced again.
#[derive(Debug, Clone)]
pub struct PrefixTarget {
    /// `cgw1 10.1.0.0/16`.
    pub name: String,
    /// Withdraws it.
    pub withdraw: KindRequest,
    /// Announces it again.
    pub advertise: KindRequest,
    /// The longest its return may take (propagation through every hop).
    pub recovery: Duration,
}

/// A BFD session on a link: cut its UDP ports only.
#[derive(Debug, Clone)]
pub struct BfdTarget {
    /// `dx1/vif-a`.
    pub name: String,
    /// Where the cut goes.
    pub cut_node: String,
    /// The BFD peer's address.
    pub peer: IpAddr,
    /// BFD's detection time (interval x multiplier).
    pub detection: Duration,
    /// The longest the session and its BGP may take to come back.
    pub recovery: Duration,
    /// Holds when it is back.
    pub health: Option<KindCheck>,
    /// Another path carries the traffic meanwhile.
    pub redundant: bool,
}

impl Target {
    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Target::Tunnel(t) => &t.name,
            Target::Prefix(p) => &p.name,
            Target::Bfd(b) => &b.name,
            Target::Link(l) => l,
        }
    }
}
