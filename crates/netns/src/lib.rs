//! hybridlab's one privileged crate: network namespaces, links, addresses, routes, TUN devices,
//! processes, socket options, firewall cuts, and labs that clean up after themselves.
//!
//! Every `unsafe` block of the workspace lives here, each with a `SAFETY:` comment; every other
//! crate forbids `unsafe` and calls these safe wrappers.
//!
//! ```text
//!   Lab ──owns──> Netns (pinned hl-<lab>-<node>) ──run()──> closure on a thread inside
//!    │                 │
//!    │                 ├── Netlink::open(ns) ─> links, veth, bridges, addresses, routes, rules
//!    │                 ├── create_tun(ns, ..) ─> TUN fds
//!    │                 ├── firewall::cut(ns, ..) ─> nftables drop rules, restore by handle
//!    │                 └── spawn(ns, Command) ─> Process (setns, PDEATHSIG, private /run)
//!    └── lab.json (owner pid + start time, every object recorded before it is created)
//!        sweep() / down() remove labs whose owner died
//! ```
//!
//! What it does not do: protocol logic of any kind, or shell out to `ip`/`tc`/`nft`.

pub mod address;
pub mod clock;
pub mod container;
pub mod error;
// Added by the 802.1Q VLAN work (issue 11): VLAN offload flags (SIOCETHTOOL).
pub mod ethtool;
// Added by the scenario engine work (issue #2 item 8, for the netns owner to fold in): nftables cuts.
pub mod firewall;
pub mod join;
pub mod lab;
pub mod link;
pub mod mmsg;
pub mod names;
pub mod namespace;
pub mod nat;
pub mod netlink;
// Added by the 802.1Q VLAN work (issue 11): AF_PACKET sockets with PACKET_AUXDATA.
pub mod packet;
pub mod pid_namespace;
// Added by the ESP data-plane work (issue #4): poll(2) for blocking data-plane threads.
pub mod poll;
pub mod process;
pub mod rootless;
pub mod route;
pub mod route_batch;
pub mod rule;
// Added by the ESP data-plane work (issue #4): forced socket buffer sizes.
pub mod sockbuf;
pub mod sockopt;
pub mod spawn;
mod sys;
// Added by the 802.1Q VLAN work (issue 11): TAP devices (Ethernet frames).
pub mod tap;
pub mod tcp_sockopt;
pub mod tun;
// Added by the BFD work (RFC 5881 §5): UDP receive with the TTL / hop limit of each datagram.
pub mod udp_ttl;

pub use address::Address;
pub use error::{Error, Result};
pub use lab::{Lab, LabConfig, down, sweep};
pub use link::{Link, LinkId, VethEnd, VethEndSpec, VethIndexes, VethOptions, VethSpec, add_veths};
pub use namespace::{CreateOptions, Netns, NetnsDir};
pub use netlink::Netlink;
pub use process::ProcessId;
pub use route::{Family, NextHop, Route, RouteKind, Scope};
pub use rule::Rule;
pub use spawn::{Process, SpawnOptions, spawn};
pub use tun::{Tun, TunOptions, create_tun};
