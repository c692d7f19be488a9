//! The customer gateway daemon's configuration file: its ASN, what it announces, how its tunnels
//! share traffic, and every VPN connection as AWS's "download configuration" describes it
//! (the customer's view, planned by the VGW: `vgw::plan::customer_view`).
//!
//! ```text
//!  CgwConfig
//!   name, asn, profile, advertise, mode
//!   [[connection]] (customer view)
//!     [[connection.tunnel]] outside_ip, aws_ip, inside_cidr, pre_shared_key,
//!                           as_path_prepend, med, options
//! ```
//!
//! Validation applies AWS's rules for the VPN connection (`vgw::config`: names, ASNs, inside
//! CIDRs, tunnel options); errors name the item and never contain a key.
//!
//! What it does not do: start anything, or read files (the daemon's `main` does).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use engine::model::timing::Profile;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use vgw::config::{
    CgwConnection, ConfigError, Routing, check_amazon_asn, check_customer_asn, check_inside_cidr,
    check_name, check_options, to_toml_with_keys, toml_error,
};

/// Active/active: both tunnels carry traffic (ECMP); active/standby: the second tunnel of each
/// connection only when the first is down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TunnelMode {
    /// ECMP over every tunnel that is up.
    #[default]
    ActiveActive,
    /// The first tunnel, the second as backup.
    ActiveStandby,
}

/// The customer gateway daemon's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgwConfig {
    /// Node name.
    pub name: String,
    /// The customer's ASN, 1-4294967294.
    pub asn: u32,
    /// Timing profile, `aws` (default) or `fast`: which table of `vgw::timers` (the VGW's end
    /// of each tunnel uses the same).
    #[serde(default = "vgw::config::daemon_profile")]
    pub profile: Profile,
    /// BGP identifier (default: the first tunnel's inside address).
    #[serde(default)]
    pub router_id: Option<Ipv4Addr>,
    /// The internet router on the outside link. Given, the tunnels' own IKE and ESP resolve in
    /// the underlay table with a default route via it (`gateway::underlay`), so no route
    /// learned from AWS can capture them; absent, they resolve in the main table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub underlay_gateway: Option<Ipv4Addr>,
    /// Behind a NAT: the address of its own outside interface, which its tunnels' sockets use,
    /// while AWS knows it by the NAT's public address (each tunnel's `outside_ip`, also its
    /// IKE identity, as AWS's customer gateway resource holds it). Absent: the same address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_address: Option<Ipv4Addr>,
    /// Prefixes announced to AWS (the on-premises networks).
    #[serde(default)]
    pub advertise: Vec<Ipv4Net>,
    /// How tunnels share the traffic towards AWS.
    #[serde(default)]
    pub mode: TunnelMode,
    /// VPN connections.
    #[serde(default, rename = "connection")]
    pub connections: Vec<CgwConnection>,
}

impl CgwConfig {
    /// Parses and validates a TOML file's text.
    pub fn from_toml(text: &str) -> Result<CgwConfig, ConfigError> {
        let c: CgwConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        c.validate()?;
        Ok(c)
    }

    /// Checks names, ASNs, tunnels and options.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_name("name", &self.name)?;
        check_customer_asn(self.asn).map_err(|m| ConfigError::new("asn", m))?;
        let mut names = HashSet::new();
        let mut inside = HashSet::new();
        for (i, c) in self.connections.iter().enumerate() {
            let at = format!("connection[{i}]");
            check_name(&format!("{at}.name"), &c.name)?;
            if !names.insert(c.name.as_str()) {
                return Err(ConfigError::new(
                    format!("{at}.name"),
                    format!("{:?} is used by another connection", c.name),
                ));
            }
            check_amazon_asn(c.amazon_side_asn)
                .map_err(|m| ConfigError::new(format!("{at}.amazon_side_asn"), m))?;
            if c.routing == Routing::Dynamic && !c.static_routes.is_empty() {
                return Err(ConfigError::new(
                    format!("{at}.static_routes"),
                    "a dynamic (BGP) VPN takes no static routes",
                ));
            }
            if c.tunnels.is_empty() || c.tunnels.len() > 2 {
                return Err(ConfigError::new(
                    format!("{at}.tunnel"),
                    "one or two tunnels (an AWS VPN connection has two)",
                ));
            }
            for (j, t) in c.tunnels.iter().enumerate() {
                let at = format!("{at}.tunnel[{j}]");
                check_inside_cidr(t.inside_cidr)
                    .map_err(|m| ConfigError::new(format!("{at}.inside_cidr"), m))?;
                if !inside.insert(t.inside_cidr) {
                    return Err(ConfigError::new(
                        format!("{at}.inside_cidr"),
                        format!("{} is used by another tunnel", t.inside_cidr),
                    ));
                }
                check_options(&at, &t.options)?;
            }
        }
        Ok(())
    }
}

impl CgwConfig {
    /// The TOML file the `cgw` daemon reads, keys included.
    pub fn to_toml_with_keys(&self) -> zeroize::Zeroizing<String> {
        to_toml_with_keys(
            self,
            self.connections.iter().enumerate().flat_map(|(c, conn)| {
                conn.tunnels
                    .iter()
                    .enumerate()
                    .map(move |(t, tun)| (c, t, tun.pre_shared_key.clone()))
            }),
        )
    }
}
