//! The Direct Connect scenario kinds: `[[dxgw]]` (the AWS side: a DX location router, its
//! dedicated connections and VIFs, the DX gateways associated with VGWs) and `[[dx-router]]`
//! (the customer's router on the far end of the cross-connects), and the typed questions they
//! ask each other ([`query`]).
//!
//! ```toml
//! [[dxgw]]
//! name = "dx1"
//! seed = 1                                  # AWS's choices: peer addresses, MD5 keys
//!
//! [[dxgw.gateway]]                          # a Direct Connect gateway
//! name = "dxgw1"
//! association = [{ vgw = "vgw1" }]          # allowed_prefixes default to the VPC CIDRs
//!                                            # or { tgw = "tgw1", allowed_prefixes = [...] }
//!                                            # (transit VIFs; announced as written)
//!
//! [[dxgw.connection]]                       # a dedicated connection (the cross-connect veth)
//! name = "dxcon1"
//! router = "dxr1"
//!
//! [[dxgw.connection.vif]]                   # a private VIF
//! name = "vif1"
//! vlan = 100
//! gateway = "dxgw1"                         # amazon_address, customer_address, auth_key:
//!                                           # AWS picks them when not given
//! ```
//!
//! How DX routes reach the VGW: each association is a backbone veth between the DX node and
//! the VGW node with an iBGP session in the VGW's ASN; the VGW takes the routes it learns
//! there as its DirectConnect source (`dxgw/README.md`).
//!
//! What it does not do: run anything (the daemons do) or create links (the engine does, from
//! [`engine::kind::NodeSpec::links`]).

pub mod actions;
pub mod chaos;
pub mod download;
pub mod download_bird;
pub mod dx_router;
pub mod dxgw;
pub mod node;
pub mod plan;
pub mod query;

pub use dx_router::DxRouterKind;
pub use dxgw::DxgwKind;
