//! The file the `dxgw` daemon reads (one Direct Connect location router: its dedicated
//! connections, their VIFs, the Direct Connect gateways they attach to) and AWS's rules for
//! it, checked before anything starts (`aws-behaviour.md` §4).
//!
//! ```text
//!  DxConfig  name, amazon_side_asn, profile, router_id
//!   [[connection]]  name, interface (the cross-connect veth end)
//!     [[connection.vif]]  name, type private|transit, vlan, mtu, gateway,
//!                         customer_asn, amazon_address, customer_address (a /30 or /31),
//!                         auth_key (MD5), hold_time, keepalive, bfd
//!   [[gateway]]     name, sitelink
//!     [[gateway.association]]  name, kind vgw|tgw, asn, local_address, peer_address,
//!                              allowed_prefixes
//! ```
//!
//! Refusals name the item (`connection[0].vif[1].vlan: VLAN 100 is already used by vif
//! "vif-a" on this connection`) and never contain a key. The file carries concrete addresses
//! and keys: choosing them (AWS picks 169.254.0.0/16 peer addresses and a key when none is
//! given) happens once, in the scenario kind's plan, so both ends agree.
//!
//! A VIF runs one IPv4 session and, with `amazon_address_v6` / `customer_address_v6`, a second,
//! IPv6, session (AWS: one per family, no MP-BGP \[D1\]).
//!
//! What it does not do: public VIFs, hosted connections, or start anything.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use engine::model::timing::Profile;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

pub use gateway::ConfigError;

use crate::auth_key::AuthKey;
use crate::peering;

/// AWS's default Amazon-side ASN of a Direct Connect gateway \[D11\].
pub const DEFAULT_AMAZON_ASN: u32 = 64512;
/// Most prefixes per address family a customer may announce on a private or transit VIF \[D3\].
pub const MAX_CUSTOMER_PREFIXES: u32 = 100;
/// Most VGW associations of one DX gateway \[D6\] (older quota).
pub const MAX_VGW_ASSOCIATIONS: usize = 10;
/// Most TGW associations of one DX gateway \[D6\] (older quota).
pub const MAX_TGW_ASSOCIATIONS: usize = 3;
/// Most VIFs attached to one DX gateway \[D6\].
pub const MAX_VIFS_PER_GATEWAY: usize = 30;
/// BGP hold time AWS uses by default and the smallest it accepts, in seconds \[D2\].
pub const HOLD_DEFAULT: u16 = 90;
/// See [`HOLD_DEFAULT`].
pub const HOLD_MIN: u16 = 3;
/// Keepalive AWS uses by default and the smallest it accepts, in seconds \[D2\].
pub const KEEPALIVE_DEFAULT: u16 = 30;
/// See [`KEEPALIVE_DEFAULT`].
pub const KEEPALIVE_MIN: u16 = 1;
/// The two MTUs of a private or transit VIF \[D9\].
pub const MTUS: [u32; 2] = [1500, 8500];

fn d_amazon_asn() -> u32 {
    DEFAULT_AMAZON_ASN
}
fn d_mtu() -> u32 {
    1500
}
fn d_true() -> bool {
    true
}
fn daemon_profile() -> Profile {
    Profile::Aws
}

/// The Direct Connect location router's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DxConfig {
    /// Node name (events, `show`).
    pub name: String,
    /// The Amazon-side ASN the customer peers with: the DX gateway's \[D11\].
    #[serde(default = "d_amazon_asn")]
    pub amazon_side_asn: u32,
    /// Timing profile, `aws` (default) or `fast`: which table of [`crate::timers`].
    #[serde(default = "daemon_profile")]
    pub profile: Profile,
    /// BGP identifier (default: the first VIF's Amazon address).
    #[serde(default)]
    pub router_id: Option<Ipv4Addr>,
    /// Dedicated connections ending on this router.
    #[serde(default, rename = "connection")]
    pub connections: Vec<Connection>,
    /// Direct Connect gateways the VIFs attach to.
    #[serde(default, rename = "gateway")]
    pub gateways: Vec<DxGateway>,
}

/// A dedicated connection: the cross-connect port, trunking the VIFs as 802.1Q VLANs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Name (`dxcon1`).
    pub name: String,
    /// The cross-connect interface in this namespace (a veth end).
    pub interface: String,
    /// The virtual interfaces.
    #[serde(default, rename = "vif")]
    pub vifs: Vec<Vif>,
}

/// Private (to a VGW or DX gateway) or transit (to a DX gateway for TGWs) \[D1\].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VifType {
    /// To a VGW or a DX gateway with VGW associations.
    #[default]
    Private,
    /// To a DX gateway with TGW associations.
    Transit,
}

/// One virtual interface as the AWS side sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vif {
    /// Name, unique on this router; also its TAP interface's name (at most 15 octets).
    pub name: String,
    /// Private or transit.
    #[serde(default, rename = "type")]
    pub vif_type: VifType,
    /// 802.1Q VLAN ID, 1-4094, unique on its connection.
    pub vlan: u16,
    /// 1500 or 8500.
    #[serde(default = "d_mtu")]
    pub mtu: u32,
    /// The DX gateway (in [`DxConfig::gateways`]) this VIF attaches to.
    pub gateway: String,
    /// The customer router's ASN.
    pub customer_asn: u32,
    /// AWS's peer address with its prefix length (`169.254.100.1/30`).
    pub amazon_address: ipnet::Ipv4Net,
    /// The customer's peer address, in the same subnet.
    pub customer_address: ipnet::Ipv4Net,
    /// AWS's IPv6 peer address (a /125): the VIF's second, IPv6, BGP session (no MP-BGP) \[D1\].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amazon_address_v6: Option<ipnet::Ipv6Net>,
    /// The customer's IPv6 peer address, in the same /125.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_address_v6: Option<ipnet::Ipv6Net>,
    /// The BGP MD5 key (`***` whenever printed).
    pub auth_key: AuthKey,
    /// BGP hold time to propose, seconds (default 90, at least 3).
    #[serde(default)]
    pub hold_time: Option<u16>,
    /// BGP keepalive, seconds (default 30, at least 1).
    #[serde(default)]
    pub keepalive: Option<u16>,
    /// BFD on the AWS side (on by default; it comes up once the customer runs it) \[D9\].
    #[serde(default = "d_true")]
    pub bfd: bool,
}

/// A Direct Connect gateway \[D6\].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DxGateway {
    /// Name.
    pub name: String,
    /// SiteLink: VIF-to-VIF traffic through the gateway \[D12\].
    #[serde(default)]
    pub sitelink: bool,
    /// Associated VGWs or TGWs (not both).
    #[serde(default, rename = "association")]
    pub associations: Vec<Association>,
}

/// What an association connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssociationKind {
    /// A virtual private gateway.
    Vgw,
    /// A transit gateway.
    Tgw,
}

/// A DX gateway's association with a VGW or TGW: the backbone link (a veth between this
/// router's namespace and the gateway's) and the iBGP session over it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Association {
    /// The associated gateway's name (`vgw1`); also the backbone BGP neighbor's name.
    pub name: String,
    /// VGW or TGW.
    pub kind: AssociationKind,
    /// The associated gateway's ASN: the backbone session runs iBGP in it.
    pub asn: u32,
    /// This router's backbone address.
    pub local_address: Ipv4Addr,
    /// The associated gateway's backbone address.
    pub peer_address: Ipv4Addr,
    /// Allowed prefixes \[D7\]: on a VGW association, what the VGW announces (its VPC CIDRs)
    /// reaches the customer only if an allowed prefix equals or covers it (empty: all of it);
    /// on a TGW association they are announced exactly as written.
    #[serde(default)]
    pub allowed_prefixes: Vec<Ipv4Net>,
}

fn check_asn(item: &str, asn: u32) -> Result<(), ConfigError> {
    if asn == 0 || asn == u32::MAX || asn == 23456 {
        return Err(ConfigError::new(
            item,
            format!("ASN {asn} is reserved (0, 23456 and 4294967295 are not allowed)"),
        ));
    }
    Ok(())
}

fn check_amazon_asn(item: &str, asn: u32) -> Result<(), ConfigError> {
    if (64512..=65534).contains(&asn) || (4_200_000_000..=4_294_967_294).contains(&asn) {
        Ok(())
    } else {
        Err(ConfigError::new(
            item,
            format!("Amazon-side ASN {asn} must be 64512-65534 or 4200000000-4294967294"),
        ))
    }
}

fn check_name(item: &str, name: &str, max: usize) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            item,
            format!("name {name:?} must be 1-{max} characters of letters, digits, '-' and '_'"),
        ))
    }
}

impl DxConfig {
    /// Parses and validates a daemon file (errors name the item; toml errors give the line).
    pub fn from_toml(text: &str) -> Result<DxConfig, String> {
        let config: DxConfig = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            match line {
                Some(l) => format!("line {l}: {}", e.message()),
                None => e.message().to_string(),
            }
        })?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    /// Every VIF with the index of its connection and its own.
    pub fn vifs(&self) -> impl Iterator<Item = (usize, usize, &Connection, &Vif)> {
        self.connections.iter().enumerate().flat_map(|(c, conn)| {
            conn.vifs
                .iter()
                .enumerate()
                .map(move |(v, vif)| (c, v, conn, vif))
        })
    }

    /// The gateway named `name`.
    pub fn gateway(&self, name: &str) -> Option<&DxGateway> {
        self.gateways.iter().find(|g| g.name == name)
    }

    /// AWS's rules, in the order AWS would meet them creating the resources.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_name("name", &self.name, 64)?;
        check_amazon_asn("amazon_side_asn", self.amazon_side_asn)?;
        self.validate_gateways()?;
        let mut vif_names: HashMap<&str, String> = HashMap::new();
        let mut interfaces: HashMap<&str, usize> = HashMap::new();
        let mut subnets: Vec<(Ipv4Net, String)> = Vec::new();
        let mut per_gateway: BTreeMap<&str, usize> = BTreeMap::new();
        for (c, conn) in self.connections.iter().enumerate() {
            let at = format!("connection[{c}]");
            check_name(&format!("{at}.name"), &conn.name, 64)?;
            check_name(&format!("{at}.interface"), &conn.interface, 15)?;
            if let Some(other) = interfaces.insert(&conn.interface, c) {
                return Err(ConfigError::new(
                    format!("{at}.interface"),
                    format!(
                        "interface {:?} is already connection[{other}]'s",
                        conn.interface
                    ),
                ));
            }
            let mut vlans: HashMap<u16, &str> = HashMap::new();
            for (v, vif) in conn.vifs.iter().enumerate() {
                let at = format!("{at}.vif[{v}]");
                check_name(&format!("{at}.name"), &vif.name, 15)?;
                if let Some(prev) = vif_names.insert(&vif.name, at.clone()) {
                    return Err(ConfigError::new(
                        format!("{at}.name"),
                        format!("VIF name {:?} is already used by {prev}", vif.name),
                    ));
                }
                if !(1..=4094).contains(&vif.vlan) {
                    return Err(ConfigError::new(
                        format!("{at}.vlan"),
                        format!("VLAN {} is outside 1-4094", vif.vlan),
                    ));
                }
                if let Some(other) = vlans.insert(vif.vlan, &vif.name) {
                    return Err(ConfigError::new(
                        format!("{at}.vlan"),
                        format!(
                            "VLAN {} is already used by vif {other:?} on this connection",
                            vif.vlan
                        ),
                    ));
                }
                if !MTUS.contains(&vif.mtu) {
                    return Err(ConfigError::new(
                        format!("{at}.mtu"),
                        format!("MTU {} must be 1500 or 8500", vif.mtu),
                    ));
                }
                check_asn(&format!("{at}.customer_asn"), vif.customer_asn)?;
                if vif.customer_asn == self.amazon_side_asn {
                    return Err(ConfigError::new(
                        format!("{at}.customer_asn"),
                        format!(
                            "ASN {} is the Amazon side's: a VIF runs eBGP",
                            vif.customer_asn
                        ),
                    ));
                }
                peering::check_pair(vif.amazon_address, vif.customer_address)
                    .map_err(|m| ConfigError::new(format!("{at}.amazon_address"), m))?;
                match (vif.amazon_address_v6, vif.customer_address_v6) {
                    (None, None) => {}
                    (Some(a), Some(c)) => peering::check_pair_v6(a, c)
                        .map_err(|m| ConfigError::new(format!("{at}.amazon_address_v6"), m))?,
                    _ => {
                        return Err(ConfigError::new(
                            format!("{at}.amazon_address_v6"),
                            "an IPv6 session needs both peer addresses",
                        ));
                    }
                }
                let subnet = vif.amazon_address.trunc();
                if let Some((_, other)) = subnets
                    .iter()
                    .find(|(s, _)| s.contains(&subnet.network()) || subnet.contains(&s.network()))
                {
                    return Err(ConfigError::new(
                        format!("{at}.amazon_address"),
                        format!("peer subnet {subnet} overlaps {other}'s"),
                    ));
                }
                subnets.push((subnet, at.clone()));
                let hold = vif.hold_time.unwrap_or(HOLD_DEFAULT);
                if hold < HOLD_MIN {
                    return Err(ConfigError::new(
                        format!("{at}.hold_time"),
                        format!("{hold} s is below AWS's minimum of {HOLD_MIN} s"),
                    ));
                }
                let keepalive = vif.keepalive.unwrap_or(KEEPALIVE_DEFAULT.min(hold / 3));
                if keepalive < KEEPALIVE_MIN || keepalive > hold / 3 {
                    return Err(ConfigError::new(
                        format!("{at}.keepalive"),
                        format!(
                            "{keepalive} s must be at least {KEEPALIVE_MIN} s and at most a third of the hold time ({hold} s)"
                        ),
                    ));
                }
                let Some(g) = self.gateway(&vif.gateway) else {
                    return Err(ConfigError::new(
                        format!("{at}.gateway"),
                        format!("no gateway {:?} in this file", vif.gateway),
                    ));
                };
                let has_tgw = g
                    .associations
                    .iter()
                    .any(|a| a.kind == AssociationKind::Tgw);
                let has_vgw = g
                    .associations
                    .iter()
                    .any(|a| a.kind == AssociationKind::Vgw);
                match vif.vif_type {
                    VifType::Private if has_tgw => {
                        return Err(ConfigError::new(
                            format!("{at}.type"),
                            format!(
                                "a private VIF cannot attach to gateway {:?}: it has TGW associations (use a transit VIF)",
                                g.name
                            ),
                        ));
                    }
                    VifType::Transit if has_vgw => {
                        return Err(ConfigError::new(
                            format!("{at}.type"),
                            format!(
                                "a transit VIF cannot attach to gateway {:?}: it has VGW associations (use a private VIF)",
                                g.name
                            ),
                        ));
                    }
                    _ => {}
                }
                let n = per_gateway.entry(g.name.as_str()).or_default();
                *n += 1;
                if *n > MAX_VIFS_PER_GATEWAY {
                    return Err(ConfigError::new(
                        format!("{at}.gateway"),
                        format!(
                            "gateway {:?} already has {MAX_VIFS_PER_GATEWAY} VIFs, AWS's quota",
                            g.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_gateways(&self) -> Result<(), ConfigError> {
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut backbone: Vec<(Ipv4Addr, String)> = Vec::new();
        for (g, gw) in self.gateways.iter().enumerate() {
            let at = format!("gateway[{g}]");
            check_name(&format!("{at}.name"), &gw.name, 64)?;
            if let Some(other) = names.insert(&gw.name, g) {
                return Err(ConfigError::new(
                    format!("{at}.name"),
                    format!("gateway {:?} is already gateway[{other}]", gw.name),
                ));
            }
            let vgws = gw
                .associations
                .iter()
                .filter(|a| a.kind == AssociationKind::Vgw)
                .count();
            let tgws = gw.associations.len() - vgws;
            if vgws > 0 && tgws > 0 {
                return Err(ConfigError::new(
                    format!("{at}.association"),
                    format!(
                        "DX gateway {:?} is associated with both a VGW and a TGW: AWS allows VGWs or TGWs, not both",
                        gw.name
                    ),
                ));
            }
            if vgws > MAX_VGW_ASSOCIATIONS || tgws > MAX_TGW_ASSOCIATIONS {
                return Err(ConfigError::new(
                    format!("{at}.association"),
                    format!(
                        "at most {MAX_VGW_ASSOCIATIONS} VGW or {MAX_TGW_ASSOCIATIONS} TGW associations per DX gateway"
                    ),
                ));
            }
            let mut assoc_names: Vec<&str> = Vec::new();
            for (a, assoc) in gw.associations.iter().enumerate() {
                let at = format!("{at}.association[{a}]");
                check_name(&format!("{at}.name"), &assoc.name, 64)?;
                if assoc_names.contains(&assoc.name.as_str()) {
                    return Err(ConfigError::new(
                        format!("{at}.name"),
                        format!("{:?} is associated twice", assoc.name),
                    ));
                }
                assoc_names.push(&assoc.name);
                check_asn(&format!("{at}.asn"), assoc.asn)?;
                for (what, addr) in [
                    ("local_address", assoc.local_address),
                    ("peer_address", assoc.peer_address),
                ] {
                    if let Some((_, other)) = backbone.iter().find(|(b, _)| *b == addr) {
                        return Err(ConfigError::new(
                            format!("{at}.{what}"),
                            format!("{addr} is already {other}"),
                        ));
                    }
                    backbone.push((addr, format!("{at}.{what}")));
                }
                if assoc.kind == AssociationKind::Tgw && assoc.allowed_prefixes.is_empty() {
                    return Err(ConfigError::new(
                        format!("{at}.allowed_prefixes"),
                        "a TGW association needs allowed prefixes: they are what AWS announces",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The TOML file the daemon reads, keys included: `AuthKey` prints `***` through serde on
    /// purpose, so the keys are put back into the tree here; the text is zeroized when dropped.
    pub fn to_toml_with_keys(&self) -> secret::Secret<String> {
        let mut tree = toml::Value::try_from(self).expect("configurations serialize");
        for (c, v, _, vif) in self.vifs() {
            let slot = tree
                .get_mut("connection")
                .and_then(|x| x.get_mut(c))
                .and_then(|x| x.get_mut("vif"))
                .and_then(|x| x.get_mut(v))
                .and_then(|x| x.get_mut("auth_key"))
                .expect("every VIF has a key");
            *slot = toml::Value::String(vif.auth_key.secret().expose().clone());
        }
        secret::Secret::new(toml::to_string(&tree).expect("a TOML tree serializes"))
    }
}

#[cfg(test)]
mod tests;
