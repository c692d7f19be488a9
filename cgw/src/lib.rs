//! The emulated customer gateway: the on-premises end of VPN connections, and the
//! customer-side configuration AWS's "download configuration" hands out.
//!
//! ```text
//!  config   the cgw daemon's file: its ASN, announcements, tunnel mode, each connection
//!           as the VGW planned it (vgw::config::CgwConnection)
//!  daemon   the cgw daemon: IKE initiator, BGP with its ASN, routes from AWS into its table
//!  export   a connection as strongSwan swanctl.conf and FRR bgpd configuration
//!  kind     the `cgw` scenario kind and `hybridlab cgw-config`
//! ```
//!
//! Binary: `hl-cgw --config cgw.toml [--control SOCKET]` (also `hybridlab daemon cgw`).
//!
//! What it does not do: decide anything AWS decides (addresses, keys and tunnel options come
//! from the VGW's plan).

pub mod config;
pub mod daemon;
pub mod export;
pub mod kind;

pub use config::CgwConfig;
pub use daemon::Cgw;
