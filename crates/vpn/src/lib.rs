//! Site-to-Site VPN gateways with AWS semantics (`aws-behaviour.md` §1-3, §7): the virtual
//! private gateway (`vgw`) and the customer gateway (`cgw`), each a daemon in its own network
//! namespace, joined by VPN connections of two IPsec tunnels with BGP on every tunnel.
//!
//! ```text
//!  config (TOML, AWS validation) --plan (inside /30s, PSKs, customer view)--> both daemons
//!
//!  vgw::Vgw                                   cgw::Cgw
//!   gateway::Tunnels (tunnel::Tunnel each:     gateway::Tunnels
//!     TUN + ipsec::tunnel + data plane)        bgp::driver::Speaker (kernel install, ECMP)
//!   bgp::driver::Speaker (no kernel install)   fib::KernelRoutes (static connections)
//!   routing::vgw::select -> fib::KernelRoutes
//!   routing::vpc::RouteTable -> VPC namespace
//!
//!  export: the customer side as FRR bgpd + strongSwan swanctl configs ("download configuration")
//! ```
//!
//! Both daemons share one crate because they share most of their machinery (tunnel bundle,
//! kernel route sync, control socket wiring); `docs/design.md` lists them as separate packages,
//! the README's architecture section says why they are not.
//!
//! What it does not do: Direct Connect or transit gateways (later daemons), IPv6 inside
//! tunnels (a VGW carries IPv4 only \[V8\]).

pub mod aspath;
pub mod cgw;
pub mod config;
pub mod daemon;
pub mod export;
pub mod fib;
pub mod gateway;
pub mod plan;
pub mod tunnel;
pub mod vgw;

pub use cgw::Cgw;
pub use config::{CgwConfig, ConfigError, VgwConfig};
pub use gateway::GatewayError;
pub use vgw::Vgw;
