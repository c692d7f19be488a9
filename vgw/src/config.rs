//! The VGW's rules for Site-to-Site VPN connections (`aws-behaviour.md` §1) and the file the
//! `vgw` daemon reads, validated the way AWS validates a VPN connection before anything is
//! created; also the customer's view of a connection ([`CgwConnection`]) that the VGW hands to
//! its customer gateways, and the rule checks the customer gateway's file reuses.
//!
//! ```text
//!  VgwConfig                                   CgwConnection (customer view, per connection)
//!   name, amazon_side_asn, profile, seed        name, routing, amazon_side_asn, static_routes
//!   vpc_cidrs, [vpc] (route table)              [[tunnel]] outside_ip, aws_ip, inside_cidr,
//!   [[connection]]  routing dynamic|static        pre_shared_key, as_path_prepend, med, options
//!     [[connection.tunnel]] outside_ip,
//!       customer_ip, inside_cidr, psk, options
//! ```
//!
//! Tunnel options are [`crate::tunnel_options`], keys [`crate::psk`]; inside CIDRs
//! ([`check_inside_cidr`], [`inside_addresses`]), ASNs and names are checked here.
//!
//! Files carry concrete inside CIDRs and PSKs: choosing them (AWS picks a random /30 and a
//! random key when the operator gives none) happens once, in [`crate::plan`], so both ends of a
//! tunnel agree. Errors name the item (`connection[1].tunnel[0].inside_cidr: ...`) and never
//! contain a key.
//!
//! What it does not do: start anything, or read files (the daemon's `main` does).

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use engine::model::timing::Profile;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

pub use gateway::ConfigError;

use crate::psk::Psk;
use crate::tunnel_options::{DpdTimeoutAction, Startup, TunnelOptions};

/// The timing profile a daemon's file names when it names none: `aws` (the scenario engine's
/// own default is `fast`). The profile selects a table of [`crate::timers`].
pub fn daemon_profile() -> Profile {
    Profile::Aws
}

/// How a VPN connection learns routes \[V8\].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    /// BGP on every tunnel.
    #[default]
    Dynamic,
    /// Operator-entered prefixes.
    Static,
}

/// AWS's default Amazon-side ASN \[V16\].
pub const DEFAULT_AMAZON_ASN: u32 = 64512;
/// Most prefixes a customer gateway may announce per tunnel session \[V7\].
pub const MAX_CUSTOMER_PREFIXES: u32 = 100;
/// AWS advertises up to this many prefixes to a customer gateway on a tunnel's session
/// (aws-behaviour.md §1, \[V16\]). (inferred) What happens beyond is not documented: the
/// VGW sends the first 1000 and holds the others back until there is room.
pub const MAX_PREFIXES_TO_CUSTOMER: u32 = 1000;

pub fn d_amazon_asn() -> u32 {
    DEFAULT_AMAZON_ASN
}
fn d_true() -> bool {
    true
}
fn d_main_table() -> u32 {
    254
}

/// The virtual private gateway daemon's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VgwConfig {
    /// Node name (events, `show`).
    pub name: String,
    /// Amazon-side ASN: 64512-65534 or 4200000000-4294967294 (default 64512).
    #[serde(default = "d_amazon_asn")]
    pub amazon_side_asn: u32,
    /// Timing profile, `aws` (default) or `fast`: which table of [`crate::timers`].
    #[serde(default = "daemon_profile")]
    pub profile: Profile,
    /// Seed of the preferred-tunnel choice among equal routes (AWS's is random) \[V14\].
    #[serde(default)]
    pub seed: u64,
    /// BGP identifier (default: the first tunnel's inside address).
    #[serde(default)]
    pub router_id: Option<Ipv4Addr>,
    /// The internet router on the outside link. Given, the tunnels' own IKE and ESP resolve in
    /// the underlay table with a default route via it (`gateway::underlay`), so no route
    /// learned through a tunnel can capture them, and the forwarding table has no route to the
    /// internet: the VGW forwards only the prefixes it knows (`aws-behaviour.md` §2). Absent,
    /// they resolve in the main table like forwarded traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub underlay_gateway: Option<Ipv4Addr>,
    /// The attached VPC's CIDR blocks; advertised to every customer gateway.
    pub vpc_cidrs: Vec<Ipv4Net>,
    /// The VPC's route table and how to reach the VPC router (absent: nothing is programmed).
    #[serde(default)]
    pub vpc: Option<VpcConfig>,
    /// VPN connections.
    #[serde(default, rename = "connection")]
    pub connections: Vec<VgwConnection>,
    /// Direct Connect: backbone sessions to DX location routers (the `dxgw` package). Routes
    /// learned over them are the VGW's DirectConnect source (`routing::vgw`: DX beats VPN for
    /// an identical prefix whatever the AS_PATH \[P2\]); the VGW announces its VPC CIDRs over
    /// them like over a tunnel.
    #[serde(
        default,
        rename = "direct_connect",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub direct_connect: Vec<DxPeer>,
    /// Inside /30s need only differ between the two tunnels of one connection, not across
    /// connections: a transit gateway's VPN attachments (aws-behaviour.md §7 item 8: a
    /// duplicate /30 is refused on one VGW, accepted on a TGW). A `[[vgw]]` never sets it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inside_cidrs_per_connection: bool,
}

/// One DX location router reaching this VGW over a backbone link: an iBGP session in the
/// VGW's own ASN (`dxgw/README.md`, how DX routes reach the VGW).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DxPeer {
    /// Name (the DX gateway association, e.g. `dxgw1`); the BGP neighbor's and route's `via`.
    pub name: String,
    /// The DX router's backbone address: the BGP neighbor and the next hop of its routes.
    pub address: Ipv4Addr,
    /// The VGW's own address on the backbone link.
    pub local_address: Ipv4Addr,
}

/// The VPC side of a VGW: the VPC router namespace whose table the VGW programs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcConfig {
    /// Path of the VPC router's pinned network namespace (e.g. `/run/netns/hl-lab-vpc`).
    pub netns: PathBuf,
    /// The VGW's address on the VGW-VPC link: the VPC router's next hop for routes to the VGW.
    pub vgw_address: Ipv4Addr,
    /// The VPC router's address on that link: the VGW's next hop towards the VPC CIDRs.
    pub router_address: Ipv4Addr,
    /// Route propagation on the VPC route table (default on).
    #[serde(default = "d_true")]
    pub propagation: bool,
    /// Kernel table programmed in the VPC namespace (default main, 254).
    #[serde(default = "d_main_table")]
    pub table: u32,
    /// Static routes of the VPC route table.
    #[serde(default, rename = "static_route")]
    pub static_routes: Vec<VpcStaticRoute>,
}

/// A static route of the VPC route table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcStaticRoute {
    /// Destination.
    pub destination: Ipv4Net,
    /// Target: `vgw` (this gateway) or another target's id (`igw-1`, `eni-appliance`, ...).
    pub target: String,
    /// Next hop in the lab for a target other than `vgw`; none: the route is a blackhole (the
    /// target exists only on paper).
    #[serde(default)]
    pub via: Option<Ipv4Addr>,
}

/// One VPN connection as the VGW sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VgwConnection {
    /// Name, unique within the VGW (`vpn1`).
    pub name: String,
    /// Dynamic (BGP) or static.
    #[serde(default)]
    pub routing: Routing,
    /// The customer gateway's ASN (needed for dynamic routing).
    #[serde(default)]
    pub customer_asn: Option<u32>,
    /// Static routes towards the customer (static routing only) \[V8\].
    #[serde(default)]
    pub static_routes: Vec<Ipv4Net>,
    /// Exactly two tunnels \[V1\].
    #[serde(rename = "tunnel")]
    pub tunnels: Vec<VgwTunnel>,
}

/// One tunnel as the VGW sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VgwTunnel {
    /// AWS's outside address of the tunnel.
    pub outside_ip: Ipv4Addr,
    /// The customer gateway's outside address.
    pub customer_ip: Ipv4Addr,
    /// Inside /30: the VGW takes the first host address, the customer gateway the second.
    pub inside_cidr: Ipv4Net,
    /// Pre-shared key (`***` whenever printed).
    pub pre_shared_key: Psk,
    /// AWS tunnel options.
    #[serde(default)]
    pub options: TunnelOptions,
}

/// One VPN connection as the customer gateway sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgwConnection {
    /// Name.
    pub name: String,
    /// Dynamic (BGP) or static.
    #[serde(default)]
    pub routing: Routing,
    /// The VGW's ASN.
    #[serde(default = "d_amazon_asn")]
    pub amazon_side_asn: u32,
    /// Static routing: the AWS-side prefixes (the VPC CIDRs) routed into the tunnels.
    #[serde(default)]
    pub static_routes: Vec<Ipv4Net>,
    /// Two tunnels.
    #[serde(rename = "tunnel")]
    pub tunnels: Vec<CgwTunnel>,
}

/// One tunnel as the customer gateway sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgwTunnel {
    /// Our outside address.
    pub outside_ip: Ipv4Addr,
    /// AWS's outside address of the tunnel.
    pub aws_ip: Ipv4Addr,
    /// Inside /30 (we take the second host address).
    pub inside_cidr: Ipv4Net,
    /// Pre-shared key.
    pub pre_shared_key: Psk,
    /// AS_PATH prepends on what we announce over this tunnel (steers AWS's return traffic).
    #[serde(default)]
    pub as_path_prepend: u8,
    /// MED on what we announce over this tunnel.
    #[serde(default)]
    pub med: Option<u32>,
    /// Tunnel options (startup action defaults to `start`: the customer gateway initiates;
    /// DPD action to `restart`, as in AWS's sample customer gateway configurations).
    #[serde(default = "cgw_options")]
    pub options: TunnelOptions,
}

fn cgw_options() -> TunnelOptions {
    TunnelOptions {
        startup_action: Startup::Start,
        dpd_timeout_action: DpdTimeoutAction::Restart,
        ..TunnelOptions::default()
    }
}

/// The two inside addresses of a /30: (AWS side, customer side) = the first and second host, as
/// AWS assigns them (its sample configurations give the virtual private gateway the first).
pub fn inside_addresses(cidr: Ipv4Net) -> (Ipv4Addr, Ipv4Addr) {
    let base = u32::from(cidr.network());
    (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2))
}

/// /30s AWS refuses as tunnel inside CIDRs \[V1, V15\].
const RESERVED_INSIDE: [&str; 7] = [
    "169.254.0.0/30",
    "169.254.1.0/30",
    "169.254.2.0/30",
    "169.254.3.0/30",
    "169.254.4.0/30",
    "169.254.5.0/30",
    "169.254.169.252/30",
];

/// Checks an inside CIDR against AWS's rules for a VGW tunnel: a /30 within 169.254.0.0/16,
/// not one of the reserved blocks. (Uniqueness per VGW is checked with the whole file.)
pub fn check_inside_cidr(cidr: Ipv4Net) -> Result<(), String> {
    let err = |reason: &str| Err(format!("inside_cidr {cidr}: {reason}"));
    if cidr.prefix_len() != 30 {
        return err("must be a /30");
    }
    if cidr.network() != cidr.addr() {
        return err("must be a network address");
    }
    let link_local: Ipv4Net = "169.254.0.0/16".parse().expect("constant");
    if !link_local.contains(&cidr) {
        return err("must be within 169.254.0.0/16");
    }
    if RESERVED_INSIDE
        .iter()
        .any(|r| r.parse::<Ipv4Net>().ok() == Some(cidr))
    {
        return err("is reserved by AWS");
    }
    Ok(())
}

/// Checks an Amazon-side ASN \[V16\].
pub fn check_amazon_asn(asn: u32) -> Result<(), String> {
    if (64512..=65534).contains(&asn) || (4_200_000_000..=4_294_967_294).contains(&asn) {
        Ok(())
    } else {
        Err(format!(
            "{asn} is outside AWS's Amazon-side ranges 64512-65534 and 4200000000-4294967294"
        ))
    }
}

/// Checks a customer ASN \[V17\].
pub fn check_customer_asn(asn: u32) -> Result<(), String> {
    if asn == 0 || asn == 4_294_967_295 || asn == 23456 {
        Err(format!(
            "{asn} is not a valid customer ASN (1-4294967294, not 23456 AS_TRANS)"
        ))
    } else {
        Ok(())
    }
}

pub fn check_name(item: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 24
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            item,
            format!("{name:?} must be 1-24 characters of a-z, 0-9 and '-'"),
        ))
    }
}

/// Checks a tunnel's options against AWS's rules; the error names `<item>.options`.
pub fn check_options(item: &str, options: &TunnelOptions) -> Result<(), ConfigError> {
    options
        .validate()
        .map_err(|e| ConfigError::new(format!("{item}.options"), e.to_string()))
}

/// A TOML syntax or type error as line and message only: toml's own `Display` quotes the
/// offending source line, which may hold a pre-shared key.
pub fn toml_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    ConfigError::new(
        match line {
            Some(l) => format!("line {l}"),
            None => "file".to_string(),
        },
        e.message().to_string(),
    )
}

impl VgwConfig {
    /// Parses and validates a TOML file's text.
    pub fn from_toml(text: &str) -> Result<VgwConfig, ConfigError> {
        let c: VgwConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        c.validate()?;
        Ok(c)
    }

    /// Every rule of AWS's CreateVpnConnection / tunnel options that applies to a VGW.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_name("name", &self.name)?;
        check_amazon_asn(self.amazon_side_asn)
            .map_err(|m| ConfigError::new("amazon_side_asn", m))?;
        if self.vpc_cidrs.is_empty() {
            return Err(ConfigError::new("vpc_cidrs", "at least one VPC CIDR block"));
        }
        for (i, d) in self.direct_connect.iter().enumerate() {
            let taken = self.direct_connect[..i].iter().any(|o| o.name == d.name)
                || self.connections.iter().any(|c| {
                    (0..c.tunnels.len()).any(|t| format!("{}-t{}", c.name, t + 1) == d.name)
                });
            if taken || d.name.is_empty() {
                return Err(ConfigError::new(
                    format!("direct_connect[{i}].name"),
                    format!(
                        "{:?} must be non-empty and unique among the VGW's tunnels and DX peers",
                        d.name
                    ),
                ));
            }
        }
        let mut names = HashSet::new();
        let mut inside = HashSet::new();
        let mut outside = HashSet::new();
        for (i, c) in self.connections.iter().enumerate() {
            if self.inside_cidrs_per_connection {
                inside.clear();
            }
            let at = format!("connection[{i}]");
            check_name(&format!("{at}.name"), &c.name)?;
            if !names.insert(c.name.as_str()) {
                return Err(ConfigError::new(
                    format!("{at}.name"),
                    format!("{:?} is used by another connection", c.name),
                ));
            }
            match c.routing {
                Routing::Dynamic => {
                    let Some(asn) = c.customer_asn else {
                        return Err(ConfigError::new(
                            format!("{at}.customer_asn"),
                            "a dynamic (BGP) VPN needs the customer gateway's ASN",
                        ));
                    };
                    check_customer_asn(asn)
                        .map_err(|m| ConfigError::new(format!("{at}.customer_asn"), m))?;
                    if !c.static_routes.is_empty() {
                        return Err(ConfigError::new(
                            format!("{at}.static_routes"),
                            "a dynamic (BGP) VPN takes no static routes; set routing = \"static\"",
                        ));
                    }
                }
                Routing::Static => {
                    if let Some(asn) = c.customer_asn {
                        check_customer_asn(asn)
                            .map_err(|m| ConfigError::new(format!("{at}.customer_asn"), m))?;
                    }
                }
            }
            if c.tunnels.len() != 2 {
                return Err(ConfigError::new(
                    format!("{at}.tunnel"),
                    format!(
                        "a VPN connection has exactly 2 tunnels (found {})",
                        c.tunnels.len()
                    ),
                ));
            }
            for (j, t) in c.tunnels.iter().enumerate() {
                let at = format!("{at}.tunnel[{j}]");
                check_inside_cidr(t.inside_cidr)
                    .map_err(|m| ConfigError::new(format!("{at}.inside_cidr"), m))?;
                if !inside.insert(t.inside_cidr) {
                    return Err(ConfigError::new(
                        format!("{at}.inside_cidr"),
                        if self.inside_cidrs_per_connection {
                            format!(
                                "{} is already used by the other tunnel of this VPN connection (the two tunnels' inside CIDRs differ)",
                                t.inside_cidr
                            )
                        } else {
                            format!(
                                "{} is already used by another tunnel of this VGW (inside CIDRs are unique per VGW)",
                                t.inside_cidr
                            )
                        },
                    ));
                }
                if !outside.insert(t.outside_ip) {
                    return Err(ConfigError::new(
                        format!("{at}.outside_ip"),
                        format!("{} is already used by another tunnel", t.outside_ip),
                    ));
                }
                check_options(&at, &t.options)?;
            }
        }
        if let Some(vpc) = &self.vpc {
            for (i, r) in vpc.static_routes.iter().enumerate() {
                if r.target != "vgw" && r.target.trim().is_empty() {
                    return Err(ConfigError::new(
                        format!("vpc.static_route[{i}].target"),
                        "a target: \"vgw\" or another target's id",
                    ));
                }
                if r.target == "vgw" && r.via.is_some() {
                    return Err(ConfigError::new(
                        format!("vpc.static_route[{i}].via"),
                        "a route to the VGW takes no `via`",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Serializes a configuration for the daemon that will read it, keys included: `Psk` prints
/// `***` through serde on purpose, so the keys are put back into the TOML tree here, and the
/// text is zeroized when dropped. Write it to a file only the daemon's user can read.
pub fn to_toml_with_keys<T: Serialize>(
    config: &T,
    keys: impl Iterator<Item = (usize, usize, Psk)>,
) -> zeroize::Zeroizing<String> {
    let mut tree = toml::Value::try_from(config).expect("configurations serialize");
    for (c, t, psk) in keys {
        let slot = tree
            .get_mut("connection")
            .and_then(|v| v.get_mut(c))
            .and_then(|v| v.get_mut("tunnel"))
            .and_then(|v| v.get_mut(t))
            .and_then(|v| v.get_mut("pre_shared_key"))
            .expect("every tunnel has a key");
        *slot = toml::Value::String(psk.secret().expose().clone());
    }
    zeroize::Zeroizing::new(toml::to_string(&tree).expect("a TOML tree serializes"))
}

impl VgwConfig {
    /// The TOML file the `vgw` daemon reads, keys included (see [`to_toml_with_keys`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    const TUNNEL: &str = r#"
        outside_ip = "192.0.2.1"
        customer_ip = "198.51.100.7"
        inside_cidr = "169.254.10.0/30"
        pre_shared_key = "example.psk_1234"
    "#;

    #[test]
    fn inside_cidr_rules() {
        for bad in [
            "169.254.169.252/30",
            "169.254.3.0/30",
            "169.254.10.0/29",
            "10.0.0.0/30",
        ] {
            assert!(check_inside_cidr(bad.parse().unwrap()).is_err(), "{bad}");
        }
        assert!(check_inside_cidr("169.254.6.4/30".parse().unwrap()).is_ok());
        assert_eq!(
            check_inside_cidr("169.254.3.0/30".parse().unwrap()).unwrap_err(),
            "inside_cidr 169.254.3.0/30: is reserved by AWS"
        );
        assert_eq!(
            inside_addresses("169.254.10.0/30".parse().unwrap()),
            (
                "169.254.10.1".parse().unwrap(),
                "169.254.10.2".parse().unwrap()
            )
        );
    }

    #[test]
    fn unknown_fields_and_bad_psks_are_refused_without_echo() {
        let e = toml::from_str::<VgwTunnel>(&TUNNEL.replace("example.psk_1234", "bad-key-value!"))
            .unwrap_err()
            // The message, not the Display: toml's Display quotes the source line, key included,
            // so callers report `message()` and the span's line (as `toml_error` does).
            .message()
            .to_string();
        assert!(e.contains("only letters"), "{e}");
        assert!(!e.contains("bad-key-value"), "{e}");
        assert!(toml::from_str::<VgwTunnel>(&format!("{TUNNEL}\ntypo = 1")).is_err());
    }

    #[test]
    fn show_of_a_tunnel_hides_the_psk() {
        let t: VgwTunnel = toml::from_str(TUNNEL).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"pre_shared_key\":\"***\""), "{json}");
        assert!(!json.contains("example.psk_1234"));
        assert!(!format!("{t:?}").contains("example.psk_1234"));
    }
}
