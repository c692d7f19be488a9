//! The Transit Gateway scenario kinds: `[[tgw]]` (the TGW: route tables, VPC and Connect
//! attachments) and `[[appliance]]` (an SD-WAN appliance terminating Connect peers), the
//! `tgw_route` check, their chaos targets ([`chaos`]), and the typed question the appliance asks the TGW ([`query`]).
//!
//! ```toml
//! [[tgw]]
//! name = "tgw1"
//! asn = 64512                          # Amazon-side ASN (default 64512)
//! cidr_block = "192.0.2.0/24"          # Connect peers' TGW GRE addresses: .1, .2, ...
//!
//! [[tgw.vpc_attachment]]               # brings a /30 link to the VPC router
//! name = "att-vpc1"
//! vpc = "vpc1"
//! vpc_routes = ["10.1.0.0/16"]         # the VPC route table's routes to the TGW
//! ipv6_support = true                  # optional: the VPC's ipv6_cidrs propagate, IPv6
//!                                      # vpc_routes and static routes allowed
//!
//! [[tgw.connect]]                      # a Connect attachment over a VPC or DX gateway attachment
//! name = "connect1"
//! transport = "att-vpc1"
//! appliance = "sdwan1"
//! peer = [{ name = "p1", inside_cidr = "169.254.6.0/29", peer_address = "10.0.2.10", peer_asn = 65010 }]
//! # inside_cidr_v6 = "fd00:6::/125" on a peer: IPv6 routes too (MP-BGP on its IPv4 sessions)
//!
//! [[tgw.route_table]]                  # besides the default one
//! name = "prod"
//! associations = ["att-prod"]
//! propagations = ["att-shared"]
//! routes = [{ cidr = "10.9.0.0/16", blackhole = true }]
//!
//! [[appliance]]
//! name = "sdwan1"
//! advertise = ["10.1.0.0/16"]         # IPv6 prefixes go out on peers with an inside_cidr_v6
//! ebgp_multihop = 2                     # TTL of eBGP packets (AWS requires 2)
//! peers = { p4 = { ebgp_multihop = 1 } }
//! routes = [{ to = "192.0.2.0/24", via = "10.0.2.1" }]
//! ```
//!
//! What it does not do: run anything (the daemons do) or create links (the engine does).

pub mod actions;
pub mod appliance;
pub mod chaos;
pub mod checks;
pub mod query;
pub mod tgw;

pub use appliance::ApplianceKind;
pub use tgw::TgwKind;
