//! Emulated AWS Direct Connect (`aws-behaviour.md` §4, §7 items 3, 4, 10): everything about
//! Direct Connect in one package.
//!
//! ```text
//!  config     AWS's rules for dedicated connections, VIFs and DX gateways; the daemon's file
//!  auth_key   a VIF's BGP MD5 key (6-80 characters, AWS generates one when none is given)
//!  peering    a VIF's peer addresses: AWS's rules and AWS's choice from 169.254.0.0/16
//!  timers     DX timers, one table per timing profile (aws, fast)
//!  policy     local-preference communities, allowed prefixes, no transit (bgp::rib::Policy)
//!  daemon     the DX location router: VLAN trunk + TAP per VIF, BGP (MD5, TTL 1, prefix
//!             limit), BFD tearing BGP down, backbone iBGP to the associated VGWs
//!  failover_test  StartBgpFailoverTest / StopBgpFailoverTest as control-socket actions
//!  kind       the `dxgw` and `dx-router` scenario kinds and their typed questions
//! ```
//!
//! Binary: `hl-dxgw --config dxgw.toml [--control SOCKET]` (also `hybridlab daemon dxgw`).
//!
//! What it does not do: the VGW's side of the backbone (the `vgw` package takes DX routes as
//! its DirectConnect source), the TGW (issue #9), public VIFs, IPv6 sessions.

pub mod auth_key;
pub mod config;
pub mod customer;
pub mod daemon;
pub mod failover_test;
pub mod kind;
pub mod peering;
pub mod policy;
pub mod timers;
pub mod vif_stack;

pub use config::DxConfig;
pub use daemon::Dx;
