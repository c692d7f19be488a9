//! The `[[dxgw]]` and `[[dx-router]]` nodes as a scenario declares them (see [`super`] for the
//! TOML): the AWS side's connections, VIFs and DX gateways, and the customer router's ASN,
//! prefixes and per-VIF policy.
//!
//! What it does not do: validate against the topology or plan anything ([`super::plan`] does).

use std::collections::BTreeMap;

use bgp::wire::Community;
use engine::kind::StaticRoute;
use engine::source::FieldPath;
use ipnet::{Ipv4Net, Ipv6Net};
use serde::Deserialize;
use vgw::kind::checks::PrefixRange;

use crate::auth_key::AuthKey;
use crate::config::VifType;

fn d_amazon_asn() -> u32 {
    crate::config::DEFAULT_AMAZON_ASN
}
fn d_mtu() -> u32 {
    1500
}
fn d_true() -> bool {
    true
}

/// A Direct Connect location router and the DX gateways its VIFs attach to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DxLocation {
    /// Node name.
    pub name: String,
    /// Site.
    #[serde(default)]
    pub site: Option<String>,
    /// The DX gateways' Amazon-side ASN (default 64512).
    #[serde(default = "d_amazon_asn")]
    pub amazon_side_asn: u32,
    /// Seed of AWS's choices (peer addresses, MD5 keys).
    #[serde(default)]
    pub seed: u64,
    /// DX gateways.
    #[serde(default, rename = "gateway")]
    pub gateways: Vec<GatewayDecl>,
    /// Dedicated connections.
    #[serde(default, rename = "connection")]
    pub connections: Vec<ConnectionDecl>,
    #[serde(skip)]
    pub(crate) path: FieldPath,
}

/// A DX gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayDecl {
    /// Name.
    pub name: String,
    /// SiteLink.
    #[serde(default)]
    pub sitelink: bool,
    /// Associations with VGWs.
    #[serde(default, rename = "association")]
    pub associations: Vec<AssociationDecl>,
}

/// An association with a VGW node (`vgw = "vgw1"`) or a Transit Gateway node (`tgw =
/// "tgw1"`, over transit VIFs), over a backbone link this node brings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssociationDecl {
    /// The `[[vgw]]` node.
    #[serde(default)]
    pub vgw: Option<String>,
    /// The `[[tgw]]` node.
    #[serde(default)]
    pub tgw: Option<String>,
    /// Allowed prefixes (default: the VGW's VPC CIDRs).
    #[serde(default)]
    pub allowed_prefixes: Option<Vec<Ipv4Net>>,
    /// The backbone link's /30 (default `100.65.<n>.0/30`, n counting associations); the DX
    /// router takes the first address, the VGW the second.
    #[serde(default)]
    pub link: Option<Ipv4Net>,
}

impl AssociationDecl {
    /// The associated gateway's node name (empty when neither key is given: planning refuses).
    pub fn target(&self) -> &str {
        self.vgw.as_deref().or(self.tgw.as_deref()).unwrap_or("")
    }
}

/// A dedicated connection to a customer `[[dx-router]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDecl {
    /// Name; also the cross-connect link's name (`link_down link = "dxcon1"`).
    pub name: String,
    /// The customer router node.
    pub router: String,
    /// VIFs.
    #[serde(default, rename = "vif")]
    pub vifs: Vec<VifDecl>,
}

/// A VIF (AWS's CreatePrivateVirtualInterface); AWS picks what is not given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VifDecl {
    /// Name, unique on the node; its TAP interfaces' name on both ends.
    pub name: String,
    /// VLAN.
    pub vlan: u16,
    /// 1500 or 8500.
    #[serde(default = "d_mtu")]
    pub mtu: u32,
    /// Private or transit.
    #[serde(default, rename = "type")]
    pub vif_type: VifType,
    /// The DX gateway it attaches to.
    pub gateway: String,
    /// AWS's peer address (default: AWS's choice in 169.254.0.0/16).
    #[serde(default)]
    pub amazon_address: Option<Ipv4Net>,
    /// The customer's peer address.
    #[serde(default)]
    pub customer_address: Option<Ipv4Net>,
    /// A second, IPv6, BGP session on the VIF (AWS picks the /125 when the addresses are not
    /// given).
    #[serde(default)]
    pub ipv6: bool,
    /// AWS's IPv6 peer address (a /125).
    #[serde(default)]
    pub amazon_address_v6: Option<Ipv6Net>,
    /// The customer's IPv6 peer address.
    #[serde(default)]
    pub customer_address_v6: Option<Ipv6Net>,
    /// The MD5 key (default: AWS generates one).
    #[serde(default)]
    pub auth_key: Option<AuthKey>,
    /// BGP hold time, seconds (default: the profile's).
    #[serde(default)]
    pub hold_time: Option<u16>,
    /// BGP keepalive, seconds.
    #[serde(default)]
    pub keepalive: Option<u16>,
    /// BFD on the AWS side.
    #[serde(default = "d_true")]
    pub bfd: bool,
}

/// The customer's DX router.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DxRouter {
    /// Node name.
    pub name: String,
    /// Site.
    #[serde(default)]
    pub site: Option<String>,
    /// Its ASN.
    pub asn: u32,
    /// Prefixes announced to AWS.
    #[serde(default)]
    pub advertise: Vec<Ipv4Net>,
    /// More prefixes announced, as a range.
    #[serde(default)]
    pub advertise_range: Option<PrefixRange>,
    /// IPv6 prefixes announced on the VIFs' IPv6 sessions.
    #[serde(default)]
    pub advertise_v6: Vec<Ipv6Net>,
    /// More IPv6 prefixes, as a range.
    #[serde(default)]
    pub advertise_v6_range: Option<Ipv6Range>,
    /// Static routes (e.g. a backup towards a VPN customer gateway, with a higher metric).
    #[serde(default)]
    pub routes: Vec<StaticRoute>,
    /// The customer's own per-VIF settings, by VIF name.
    #[serde(default)]
    pub vifs: BTreeMap<String, VifPolicy>,
    /// Bring your own router: no daemon (run FRR configured from `hybridlab cgw-config`).
    #[serde(default)]
    pub external: bool,
    #[serde(skip)]
    pub(crate) path: FieldPath,
}

/// What the customer configures on one VIF.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VifPolicy {
    /// A different VLAN than AWS's (a misconfiguration: no BGP).
    #[serde(default)]
    pub vlan: Option<u16>,
    /// Communities on what it announces (`7224:7300`).
    #[serde(default)]
    pub communities: Vec<Community>,
    /// AS_PATH prepends.
    #[serde(default)]
    pub as_path_prepend: u8,
    /// LOCAL_PREF on what it learns here.
    #[serde(default)]
    pub local_pref: Option<u32>,
    /// Run BFD (default on).
    #[serde(default)]
    pub bfd: Option<bool>,
}

/// `count` consecutive IPv6 prefixes of `first`'s length, starting at `first`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ipv6Range {
    /// The first prefix.
    pub first: Ipv6Net,
    /// How many.
    pub count: u32,
}

impl Ipv6Range {
    /// The prefixes (stops at the end of the address space).
    pub fn expand(&self) -> Vec<Ipv6Net> {
        let len = self.first.prefix_len();
        let step: u128 = if len == 0 {
            0
        } else {
            1u128 << (128 - u32::from(len))
        };
        let base = u128::from(self.first.network());
        (0..u128::from(self.count))
            .map_while(|k| base.checked_add(k.checked_mul(step)?))
            .filter_map(|a| Ipv6Net::new(std::net::Ipv6Addr::from(a), len).ok())
            .collect()
    }
}

impl DxRouter {
    /// Every IPv6 prefix it announces.
    pub fn advertised_v6(&self) -> Vec<Ipv6Net> {
        let mut out = self.advertise_v6.clone();
        if let Some(r) = &self.advertise_v6_range {
            out.extend(r.expand());
        }
        out
    }

    /// Every prefix it announces.
    pub fn advertised(&self) -> Vec<Ipv4Net> {
        let mut out = self.advertise.clone();
        if let Some(r) = &self.advertise_range {
            out.extend(r.expand());
        }
        out
    }
}
