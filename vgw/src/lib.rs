//! The emulated AWS virtual private gateway (`aws-behaviour.md` §1-3, §7): everything about a
//! VGW in one package.
//!
//! ```text
//!  config          AWS's rules for a VPN connection: inside CIDRs, ASNs, names; the vgw
//!                  daemon's file and the customer's view of a connection
//!  tunnel_options  AWS's tunnel options (defaults, ranges) -> ipsec::tunnel::TunnelConfig
//!  psk             AWS's pre-shared key rules
//!  timers          the VPN's timers, one table per timing profile (aws, fast)
//!  plan            AWS's choices: inside /30s, PSKs, the customer view handed to a CGW
//!  daemon          the vgw daemon: tunnels (gateway::Tunnels), one BGP speaker,
//!                  routing::vgw selection -> kernel, routing::vpc -> the VPC router's table
//!  kind            the `vgw` and `vpc` scenario kinds, their checks/actions and typed queries
//! ```
//!
//! Binary: `hl-vgw --config vgw.toml [--control SOCKET]` (also `hybridlab daemon vgw`).
//!
//! What it does not do: the customer side (the `cgw` package), or IPv6 inside tunnels (a VGW
//! carries IPv4 only \[V8\]).

pub mod config;
pub mod daemon;
pub mod kind;
pub mod plan;
#[cfg(feature = "planted-bug-keep-routes")]
pub mod planted_bug;
pub mod psk;
pub mod replacement;
pub mod timers;
pub mod tunnel_options;

pub use config::VgwConfig;
pub use daemon::Vgw;
