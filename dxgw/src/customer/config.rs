//! The file the customer's DX router daemon reads (`hybridlab daemon dx-router`): its ASN, what
//! it announces, and each VIF as AWS hands it to the customer (VLAN, peer addresses, Amazon
//! ASN, MD5 key), plus the customer's own per-VIF policy (communities, prepends,
//! LOCAL_PREF on what it learns).
//!
//! What it does not do: AWS's rules (the AWS side's file is checked by [`crate::config`]; this
//! side is whatever the customer configures, so a mismatching VLAN is allowed on purpose: it
//! is how `dx-vlan-mismatch` is built), or start anything.

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp::wire::Community;
use engine::model::timing::Profile;
use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::auth_key::AuthKey;
use crate::config::ConfigError;

fn d_mtu() -> u32 {
    1500
}
fn d_true() -> bool {
    true
}
fn daemon_profile() -> Profile {
    Profile::Aws
}

/// The customer DX router's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerConfig {
    /// Node name.
    pub name: String,
    /// The customer's ASN.
    pub asn: u32,
    /// Timing profile (`crate::timers`).
    #[serde(default = "daemon_profile")]
    pub profile: Profile,
    /// BGP identifier (default: the first VIF's address).
    #[serde(default)]
    pub router_id: Option<Ipv4Addr>,
    /// Prefixes announced to AWS on every VIF.
    #[serde(default)]
    pub advertise: Vec<Ipv4Net>,
    /// IPv6 prefixes announced on every VIF's IPv6 session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advertise_v6: Vec<Ipv6Net>,
    /// Dedicated connections (the customer's end of each cross-connect).
    #[serde(default, rename = "connection")]
    pub connections: Vec<CustomerConnection>,
}

/// The customer's end of one cross-connect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerConnection {
    /// Connection name.
    pub name: String,
    /// The cross-connect interface here.
    pub interface: String,
    /// Its VIFs.
    #[serde(default, rename = "vif")]
    pub vifs: Vec<CustomerVif>,
}

/// One VIF as the customer configures it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerVif {
    /// Name; also the TAP interface's name.
    pub name: String,
    /// VLAN ID.
    pub vlan: u16,
    /// MTU.
    #[serde(default = "d_mtu")]
    pub mtu: u32,
    /// The customer's address with its prefix length.
    pub local_address: Ipv4Net,
    /// AWS's address.
    pub peer_address: Ipv4Addr,
    /// The customer's IPv6 address (the VIF's IPv6 session), with its prefix length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_address_v6: Option<Ipv6Net>,
    /// AWS's IPv6 address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_address_v6: Option<Ipv6Addr>,
    /// The Amazon-side ASN.
    pub amazon_asn: u32,
    /// The BGP MD5 key.
    pub auth_key: AuthKey,
    /// Run BFD (300 ms x 3 in the `aws` profile) on this VIF.
    #[serde(default = "d_true")]
    pub bfd: bool,
    /// Communities added to what is announced here (e.g. `7224:7300`).
    #[serde(default)]
    pub communities: Vec<Community>,
    /// AS_PATH prepends on what is announced here.
    #[serde(default)]
    pub as_path_prepend: u8,
    /// LOCAL_PREF of what is learned here (prefer DX over a VPN backup).
    #[serde(default)]
    pub local_pref: Option<u32>,
}

impl CustomerConfig {
    /// Parses and validates.
    pub fn from_toml(text: &str) -> Result<CustomerConfig, String> {
        let c: CustomerConfig =
            toml::from_str(text).map_err(|e| format!("line: {}", e.message()))?;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// What the daemon cannot run with (names, VLAN range); AWS's rules are not applied here.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut names = Vec::new();
        for (c, conn) in self.connections.iter().enumerate() {
            for (v, vif) in conn.vifs.iter().enumerate() {
                let at = format!("connection[{c}].vif[{v}]");
                if vif.name.is_empty() || vif.name.len() > 15 || names.contains(&&vif.name) {
                    return Err(ConfigError::new(
                        format!("{at}.name"),
                        format!("{:?} must be 1-15 characters and unique", vif.name),
                    ));
                }
                names.push(&vif.name);
                if !(1..=4094).contains(&vif.vlan) {
                    return Err(ConfigError::new(
                        format!("{at}.vlan"),
                        format!("VLAN {} is outside 1-4094", vif.vlan),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The file text with the keys (see [`crate::config::DxConfig::to_toml_with_keys`]).
    pub fn to_toml_with_keys(&self) -> secret::Secret<String> {
        let mut tree = toml::Value::try_from(self).expect("configurations serialize");
        for (c, conn) in self.connections.iter().enumerate() {
            for (v, vif) in conn.vifs.iter().enumerate() {
                let slot = tree
                    .get_mut("connection")
                    .and_then(|x| x.get_mut(c))
                    .and_then(|x| x.get_mut("vif"))
                    .and_then(|x| x.get_mut(v))
                    .and_then(|x| x.get_mut("auth_key"))
                    .expect("every VIF has a key");
                *slot = toml::Value::String(vif.auth_key.secret().expose().clone());
            }
        }
        secret::Secret::new(toml::to_string(&tree).expect("a TOML tree serializes"))
    }
}
