//! Emulated AWS Transit Gateway and Transit Gateway Connect (`aws-behaviour.md` §5, §6, §7
//! items 6, 7, 9): everything about the TGW in one package.
//!
//! ```text
//!  inside_cidr  AWS's rules for a Connect peer's inside /29 (reserved blocks, uniqueness)
//!  timers       the TGW's and the appliance's BGP timers per timing profile
//!  config       the daemons' files: the TGW (route tables, attachments, Connect peers) and
//!               the appliance; validated before anything starts, errors name the item
//!  tables       a route table's candidates from statics, VPC CIDRs and Connect BGP paths,
//!               evaluated by routing::tgw, turned into kernel routes
//!  route_changes static routes and propagations changed at run time (AWS's API calls)
//!  daemon       the TGW: one namespace, a kernel table per route table selected by input
//!               interface (policy rules), GRE devices per Connect peer, BGP speakers .2/.3,
//!               VPN tunnels, DX gateway backbone sessions
//!  transport    a Connect over Direct Connect: the DX-learned routes that carry the TGW's own
//!               GRE to appliances on premises (its main table)
//!  appliance    the SD-WAN appliance: GRE devices to the TGW, BGP to .2 and .3 of each peer
//!  export_policy which routes each Connect or VPN attachment hears (its table's, not its own)
//!  export       the appliance side of a Connect peer as FRR configuration (cgw-config)
//!  kind         the `tgw` and `appliance` scenario kinds, their checks and queries
//! ```
//!
//! Binaries: `hybridlab daemon tgw --config FILE`, `hybridlab daemon appliance --config FILE`.
//!
//! VPN attachments reuse the `vgw` package's planning (AWS's VPN rules, keys, the customer
//! gateways' view) and the tunnel bundle of `gateway`; Direct Connect gateway attachments are
//! the `dxgw` package's associations.
//!
//! IPv6: VPC attachments with `ipv6_support` and Connect peers with an IPv6 inside /125
//! (MP-BGP over the IPv4 sessions) carry IPv6; the route tables hold both families.
//!
//! What it does not do (yet): peering, prefix lists, IPv6 BGP sessions, IPv6 on VPN and DX
//! gateway attachments, associations changed at run time.

pub mod appliance;
pub mod config;
pub mod daemon;
pub mod export;
pub mod export_policy;
pub mod inside_cidr;
pub mod kind;
pub mod route_changes;
pub mod tables;
pub mod timers;
pub mod transport;

pub use config::{ApplianceConfig, TgwConfig};
