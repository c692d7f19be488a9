//! The transit gateway as a scenario declares it ([`TgwDecl`], also the heart of the daemon's
//! file [`TgwConfig`]), AWS's rules for it ([`TgwDecl::check`]), and the appliance daemon's file
//! ([`ApplianceConfig`]).
//!
//! AWS's rules checked before anything starts (each [`Problem`] names its item):
//! - a Connect peer's inside CIDR: [`crate::inside_cidr`] (a /29 of 169.254.0.0/16, not
//!   reserved, unique across the TGW) \[T4\];
//! - at most 4 Connect peers per Connect attachment \[T3\];
//! - a Connect attachment's transport is a VPC or a Direct Connect gateway attachment of the
//!   same TGW \[T2\] (that a DX transport's association allows the TGW CIDR block needs the
//!   DX gateway's node: `kind::tgw` checks it at `validate`);
//! - the TGW address of a peer lies in the TGW CIDR block; (peer address, TGW address) is
//!   unique \[T7\];
//! - no static route to a Connect attachment \[T2\];
//! - an attachment is associated with at most one route table \[T1\];
//! - Amazon-side ASN 64512-65534 or 4200000000-4294967294, peer ASNs 1-4294967294 \[T6\];
//! - IPv6: a peer's optional IPv6 inside CIDR (a /125 of fd00::/8, unique) \[T2\]; an IPv6
//!   route (a VPC route to the TGW, a static route) needs a VPC attachment with
//!   `ipv6_support` (AWS's Ipv6Support option) on the way: VPN and Direct Connect gateway
//!   attachments here are IPv4 only.
//!
//! What it does not do: decide routes ([`crate::tables`]) or create anything.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use engine::model::timing::Profile;
use engine::source::FieldPath;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

/// AWS's default Amazon-side ASN.
pub const DEFAULT_ASN: u32 = 64512;
/// Connect peers per Connect attachment \[T3\].
pub const MAX_PEERS: usize = 4;
/// Routes a Connect peer may send to the TGW \[T3\].
pub const MAX_ROUTES_IN: u32 = 1000;
/// Routes the TGW sends to a Connect peer \[T3\].
pub const MAX_ROUTES_OUT: u32 = 5000;
/// MED the TGW gives routes received over Connect without one \[T2\].
pub const CONNECT_DEFAULT_MED: u32 = 100;
/// The TGW's MTU \[T3\]; a Connect peer's GRE interface 8476 as in AWS's sample \[T5\].
pub const TGW_MTU: u32 = 8500;
/// The name of the route table attachments use when nothing else is said.
pub const DEFAULT_TABLE: &str = "default";
/// Kernel table of the first route table (the others follow).
pub const FIRST_TABLE_ID: u32 = 100;

fn d_asn() -> u32 {
    DEFAULT_ASN
}
fn d_true() -> bool {
    true
}

/// `[[tgw]]`: a transit gateway.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TgwDecl {
    /// Node name.
    pub name: String,
    /// Site (reports).
    #[serde(default)]
    pub site: Option<String>,
    /// Amazon-side ASN.
    #[serde(default = "d_asn")]
    pub asn: u32,
    /// The TGW CIDR block: Connect peers' GRE addresses come from it.
    pub cidr_block: Ipv4Net,
    /// VpnEcmpSupport.
    #[serde(default = "d_true")]
    pub vpn_ecmp: bool,
    /// DefaultRouteTableAssociation.
    #[serde(default = "d_true")]
    pub default_association: bool,
    /// DefaultRouteTablePropagation.
    #[serde(default = "d_true")]
    pub default_propagation: bool,
    /// Seed of the order among full ties.
    #[serde(default)]
    pub seed: u64,
    /// VPC attachments.
    #[serde(default, rename = "vpc_attachment")]
    pub vpc_attachments: Vec<VpcAttachmentDecl>,
    /// Connect attachments.
    #[serde(default, rename = "connect")]
    pub connects: Vec<ConnectDecl>,
    /// Route tables besides the default one.
    #[serde(default, rename = "route_table")]
    pub route_tables: Vec<RouteTableDecl>,
    /// The outside interface of VPN attachments on an internet router, as a VGW's
    /// (`{ node, cidr }`: tunnel outside addresses are the subnet's first hosts).
    #[serde(default)]
    pub internet: Option<toml::Value>,
    /// VPN attachments: each a VPN connection as on a VGW (`name`, `cgw`, `routing`,
    /// `static_routes`, `tunnel`), checked by the `vgw` package's rules (kind::tgw).
    #[serde(default, rename = "vpn_attachment")]
    pub vpn_attachments: Vec<toml::Value>,
    /// Direct Connect gateway attachments, by the DX gateway's name (a `[[dxgw.gateway]]`
    /// associated with this TGW: `association = [{ tgw = "tgw1" }]`).
    #[serde(default, rename = "dx_attachment")]
    pub dx_attachments: Vec<DxAttachmentDecl>,
    /// Where it was declared.
    #[serde(skip)]
    pub path: FieldPath,
}

/// A Direct Connect gateway attachment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DxAttachmentDecl {
    /// The DX gateway's name (also the attachment's).
    pub name: String,
}

/// A VPC attachment: a /30 link between the TGW and the VPC router.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcAttachmentDecl {
    /// Attachment name.
    pub name: String,
    /// The `[[vpc]]` node.
    pub vpc: String,
    /// The link's /30 (default `100.66.<n>.0/30`): TGW `.1`, VPC router `.2`.
    #[serde(default)]
    pub link: Option<Ipv4Net>,
    /// AWS's Ipv6Support option (default off): the VPC's IPv6 CIDRs propagate and IPv6
    /// crosses the attachment (the link gets `fd00:66:<n>::1/64` and `::2`, our choice).
    #[serde(default)]
    pub ipv6_support: bool,
    /// Routes of the VPC's route table whose target is this TGW (IPv6 ones need
    /// `ipv6_support`).
    #[serde(default)]
    pub vpc_routes: Vec<IpNet>,
}

/// A Connect attachment over a VPC or Direct Connect gateway attachment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectDecl {
    /// Attachment name.
    pub name: String,
    /// The transport attachment: a VPC attachment's name, or a Direct Connect gateway
    /// attachment's (the appliance is then on premises, behind a transit VIF).
    pub transport: String,
    /// The `[[appliance]]` node at the far end of its peers (none: bring your own, e.g. FRR).
    #[serde(default)]
    pub appliance: Option<String>,
    /// Connect peers (GRE tunnels), at most 4.
    #[serde(default, rename = "peer")]
    pub peers: Vec<PeerDecl>,
}

/// A Connect peer (CreateTransitGatewayConnectPeer).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerDecl {
    /// Peer name, unique on the TGW (its GRE interfaces are `gre-<name>`).
    pub name: String,
    /// Inside CIDR, a /29 of 169.254.0.0/16.
    pub inside_cidr: Ipv4Net,
    /// Optional IPv6 inside CIDR, a /125 of fd00::/8: with it the sessions carry IPv6 routes
    /// too (MP-BGP over the IPv4 sessions), next hops from it.
    #[serde(default)]
    pub inside_cidr_v6: Option<Ipv6Net>,
    /// The appliance's GRE address.
    pub peer_address: Ipv4Addr,
    /// The TGW's GRE address (default: the next address of the CIDR block).
    #[serde(default)]
    pub tgw_address: Option<Ipv4Addr>,
    /// The appliance's ASN (default: the TGW's, iBGP).
    #[serde(default)]
    pub peer_asn: Option<u32>,
}

/// A route table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTableDecl {
    /// Name.
    pub name: String,
    /// Attachments associated with it.
    #[serde(default)]
    pub associations: Vec<String>,
    /// Attachments propagating to it.
    #[serde(default)]
    pub propagations: Vec<String>,
    /// Static and blackhole routes.
    #[serde(default)]
    pub routes: Vec<StaticRouteDecl>,
}

/// A static route of a route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRouteDecl {
    /// Destination (IPv6: to a VPC attachment with `ipv6_support`, or a blackhole).
    pub cidr: IpNet,
    /// Target attachment.
    #[serde(default)]
    pub attachment: Option<String>,
    /// Drop instead.
    #[serde(default)]
    pub blackhole: bool,
}

/// One step of a [`Problem`]'s item path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A key.
    Key(&'static str),
    /// An index.
    Index(usize),
}

/// A rule broken, at an item below the `[[tgw]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The item, e.g. `connect[0].peer[4]`.
    pub item: Vec<Seg>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn new(item: Vec<Seg>, message: impl Into<String>) -> Problem {
        Problem {
            item,
            message: message.into(),
        }
    }

    /// The item below `base`.
    pub fn path(&self, base: &FieldPath) -> FieldPath {
        self.item.iter().fold(base.clone(), |p, s| match s {
            Seg::Key(k) => p.key(k),
            Seg::Index(i) => p.index(*i),
        })
    }

    /// The item as text (`connect[0].peer[4]`).
    pub fn item_text(&self) -> String {
        let mut out = String::new();
        for s in &self.item {
            match s {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

/// What kind of attachment a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A VPC attachment.
    Vpc,
    /// A Connect attachment.
    Connect,
    /// A VPN attachment (two IPsec tunnels).
    Vpn,
    /// A Direct Connect gateway attachment (transit VIFs behind it).
    DxGateway,
}

/// A route table with the defaults applied: its kernel table and everything associated and
/// propagating.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedTable {
    /// Name.
    pub name: String,
    /// Kernel table id.
    pub id: u32,
    /// Associated attachments.
    pub associations: Vec<String>,
    /// Propagating attachments.
    pub propagations: Vec<String>,
    /// Static routes.
    pub routes: Vec<StaticRouteDecl>,
}

fn asn_ok_amazon(asn: u32) -> bool {
    (64512..=65534).contains(&asn) || (4_200_000_000..=4_294_967_294).contains(&asn)
}

impl TgwDecl {
    /// Every attachment name with its kind, in declaration order.
    pub fn attachments(&self) -> Vec<(String, AttachmentKind)> {
        self.vpc_attachments
            .iter()
            .map(|a| (a.name.clone(), AttachmentKind::Vpc))
            .chain(
                self.connects
                    .iter()
                    .map(|c| (c.name.clone(), AttachmentKind::Connect)),
            )
            .chain(self.vpn_attachments.iter().map(|v| {
                (
                    v.get("name")
                        .and_then(toml::Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    AttachmentKind::Vpn,
                )
            }))
            .chain(
                self.dx_attachments
                    .iter()
                    .map(|d| (d.name.clone(), AttachmentKind::DxGateway)),
            )
            .collect()
    }

    /// The kind of attachment `name`.
    pub fn attachment_kind(&self, name: &str) -> Option<AttachmentKind> {
        self.attachments()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| k)
    }

    /// The IPv6 /64 of VPC attachment `i` when it has `ipv6_support` (TGW `::1`, VPC `::2`).
    pub fn vpc_link_v6(&self, i: usize) -> Option<Ipv6Net> {
        self.vpc_attachments[i].ipv6_support.then(|| {
            Ipv6Net::new(Ipv6Addr::new(0xfd00, 0x66, i as u16, 0, 0, 0, 0, 0), 64).expect("a /64")
        })
    }

    /// Whether IPv6 can reach attachment `name` (a VPC attachment with `ipv6_support`, a
    /// Connect attachment whose peers have IPv6 inside CIDRs).
    pub fn carries_ipv6(&self, name: &str) -> bool {
        self.vpc_attachments
            .iter()
            .any(|v| v.name == name && v.ipv6_support)
            || self
                .connects
                .iter()
                .any(|c| c.name == name && c.peers.iter().any(|p| p.inside_cidr_v6.is_some()))
    }

    /// The /30 of VPC attachment `i`.
    pub fn vpc_link(&self, i: usize) -> Ipv4Net {
        self.vpc_attachments[i].link.unwrap_or_else(|| {
            Ipv4Net::new(Ipv4Addr::new(100, 66, (i % 256) as u8, 0), 30).expect("a /30")
        })
    }

    /// The TGW's GRE address of peer `p` of Connect attachment `c`: given, or the CIDR
    /// block's next host in declaration order (`.1`, `.2`, ...).
    pub fn tgw_address(&self, c: usize, p: usize) -> Ipv4Addr {
        if let Some(a) = self.connects[c].peers[p].tgw_address {
            return a;
        }
        let n = self.connects[..c]
            .iter()
            .map(|x| x.peers.len())
            .sum::<usize>()
            + p;
        Ipv4Addr::from(u32::from(self.cidr_block.network()) + 1 + n as u32)
    }

    /// The appliance's ASN on peer `p` of Connect attachment `c`.
    pub fn peer_asn(&self, c: usize, p: usize) -> u32 {
        self.connects[c].peers[p].peer_asn.unwrap_or(self.asn)
    }

    /// The route tables with AWS's defaults applied: the default table (when default
    /// association or propagation is on) takes every attachment not associated elsewhere, and
    /// every attachment propagates to it.
    pub fn tables(&self) -> Vec<ResolvedTable> {
        let mut out: Vec<ResolvedTable> = Vec::new();
        let needs_default = self.default_association || self.default_propagation;
        if needs_default && !self.route_tables.iter().any(|t| t.name == DEFAULT_TABLE) {
            out.push(ResolvedTable {
                name: DEFAULT_TABLE.into(),
                id: 0,
                associations: Vec::new(),
                propagations: Vec::new(),
                routes: Vec::new(),
            });
        }
        for t in &self.route_tables {
            out.push(ResolvedTable {
                name: t.name.clone(),
                id: 0,
                associations: t.associations.clone(),
                propagations: t.propagations.clone(),
                routes: t.routes.clone(),
            });
        }
        let associated: Vec<String> = out.iter().flat_map(|t| t.associations.clone()).collect();
        for (name, _) in self.attachments() {
            if let Some(d) = out.iter_mut().find(|t| t.name == DEFAULT_TABLE) {
                if self.default_association && !associated.contains(&name) {
                    d.associations.push(name.clone());
                }
                if self.default_propagation && !d.propagations.contains(&name) {
                    d.propagations.push(name.clone());
                }
            }
        }
        for (i, t) in out.iter_mut().enumerate() {
            t.id = FIRST_TABLE_ID + i as u32;
        }
        out
    }

    /// The route table `attachment` is associated with.
    pub fn association(&self, attachment: &str) -> Option<ResolvedTable> {
        self.tables()
            .into_iter()
            .find(|t| t.associations.iter().any(|a| a == attachment))
    }

    /// AWS's rules; empty when the gateway is acceptable.
    pub fn check(&self) -> Vec<Problem> {
        use Seg::{Index, Key};
        let mut out = Vec::new();
        if !asn_ok_amazon(self.asn) {
            out.push(Problem::new(
                vec![Key("asn")],
                format!(
                    "{}: the Amazon-side ASN is 64512-65534 or 4200000000-4294967294",
                    self.asn
                ),
            ));
        }
        // Attachment names are unique.
        let mut seen: BTreeMap<String, ()> = BTreeMap::new();
        for (name, _) in self.attachments() {
            if seen.insert(name.clone(), ()).is_some() {
                out.push(Problem::new(
                    vec![Key("name")],
                    format!("attachment name {name:?} is used twice on this transit gateway"),
                ));
            }
        }
        for (i, v) in self.vpc_attachments.iter().enumerate() {
            let link = self.vpc_link(i);
            if link.prefix_len() != 30 {
                out.push(Problem::new(
                    vec![Key("vpc_attachment"), Index(i), Key("link")],
                    format!("{link}: the attachment link is a /30"),
                ));
            }
            for (r, route) in v.vpc_routes.iter().enumerate() {
                if route.addr().is_ipv6() && !v.ipv6_support {
                    out.push(Problem::new(
                        vec![Key("vpc_attachment"), Index(i), Key("vpc_routes"), Index(r)],
                        format!(
                            "{route}: an IPv6 route to the TGW needs ipv6_support = true on VPC attachment {}",
                            v.name
                        ),
                    ));
                }
            }
        }
        if !self.vpn_attachments.is_empty() && self.internet.is_none() {
            out.push(Problem::new(
                vec![Key("internet")],
                "VPN attachments need an outside interface: internet = { node = .., cidr = .. }",
            ));
        }
        let mut cidrs: Vec<(String, Ipv4Net)> = Vec::new();
        let mut cidrs_v6: Vec<(String, Ipv6Net)> = Vec::new();
        let mut gre_pairs: Vec<(Ipv4Addr, Ipv4Addr, String)> = Vec::new();
        let mut peer_names: Vec<String> = Vec::new();
        for (ci, c) in self.connects.iter().enumerate() {
            let at = |rest: Vec<Seg>| {
                let mut v = vec![Key("connect"), Index(ci)];
                v.extend(rest);
                v
            };
            match self.attachment_kind(&c.transport) {
                Some(AttachmentKind::Vpc | AttachmentKind::DxGateway) => {}
                Some(k @ (AttachmentKind::Connect | AttachmentKind::Vpn)) => out.push(Problem::new(
                    at(vec![Key("transport")]),
                    format!(
                        "{:?} is a {} attachment: a Connect attachment's transport is a VPC or a Direct Connect gateway attachment",
                        c.transport,
                        if k == AttachmentKind::Vpn { "VPN" } else { "Connect" }
                    ),
                )),
                None => out.push(Problem::new(
                    at(vec![Key("transport")]),
                    format!(
                        "no VPC or Direct Connect gateway attachment {:?} on this transit gateway",
                        c.transport
                    ),
                )),
            }
            if c.peers.len() > MAX_PEERS {
                out.push(Problem::new(
                    at(vec![Key("peer"), Index(MAX_PEERS)]),
                    format!(
                        "Connect attachment {} has {} Connect peers: AWS allows up to {MAX_PEERS} per Connect attachment",
                        c.name,
                        c.peers.len()
                    ),
                ));
            }
            for (pi, p) in c.peers.iter().enumerate() {
                let item = |k: &'static str| at(vec![Key("peer"), Index(pi), Key(k)]);
                if let Err(e) = crate::inside_cidr::validate(
                    p.inside_cidr,
                    cidrs.iter().map(|(n, c)| (n.as_str(), *c)),
                ) {
                    out.push(Problem::new(item("inside_cidr"), e.to_string()));
                }
                cidrs.push((p.name.clone(), p.inside_cidr.trunc()));
                if let Some(v6) = p.inside_cidr_v6 {
                    if let Err(e) = crate::inside_cidr::validate_v6(
                        v6,
                        cidrs_v6.iter().map(|(n, c)| (n.as_str(), *c)),
                    ) {
                        out.push(Problem::new(item("inside_cidr_v6"), e.to_string()));
                    }
                    cidrs_v6.push((p.name.clone(), v6.trunc()));
                }
                if peer_names.contains(&p.name) {
                    out.push(Problem::new(
                        item("name"),
                        format!(
                            "Connect peer name {:?} is used twice on this transit gateway",
                            p.name
                        ),
                    ));
                }
                peer_names.push(p.name.clone());
                if p.name.len() > 11 {
                    out.push(Problem::new(
                        item("name"),
                        format!(
                            "{:?}: at most 11 characters (its interface is gre-<name>)",
                            p.name
                        ),
                    ));
                }
                let tgw = self.tgw_address(ci, pi);
                if !self.cidr_block.contains(&tgw)
                    || tgw == self.cidr_block.network()
                    || tgw == self.cidr_block.broadcast()
                {
                    out.push(Problem::new(
                        item("tgw_address"),
                        format!(
                            "{tgw}: the TGW's GRE address comes from its CIDR block {}",
                            self.cidr_block
                        ),
                    ));
                }
                if let Some((_, _, other)) = gre_pairs
                    .iter()
                    .find(|(a, b, _)| *a == p.peer_address && *b == tgw)
                {
                    out.push(Problem::new(
                        item("peer_address"),
                        format!(
                            "({}, {tgw}) is already the GRE pair of Connect peer {other}: (peer address, TGW address) must be unique",
                            p.peer_address
                        ),
                    ));
                }
                gre_pairs.push((p.peer_address, tgw, p.name.clone()));
                let asn = self.peer_asn(ci, pi);
                if asn == 0 || asn == u32::MAX {
                    out.push(Problem::new(
                        item("peer_asn"),
                        format!("{asn}: a peer ASN is 1-4294967294"),
                    ));
                }
            }
        }
        // Route tables: names, references, one association per attachment, no static route
        // to a Connect attachment.
        let mut associated: BTreeMap<String, String> = BTreeMap::new();
        for (ti, t) in self.route_tables.iter().enumerate() {
            let at =
                |k: &'static str, i: usize| vec![Key("route_table"), Index(ti), Key(k), Index(i)];
            if self.route_tables[..ti].iter().any(|o| o.name == t.name) {
                out.push(Problem::new(
                    vec![Key("route_table"), Index(ti), Key("name")],
                    format!("route table {:?} is declared twice", t.name),
                ));
            }
            for (i, a) in t.associations.iter().enumerate() {
                if self.attachment_kind(a).is_none() {
                    out.push(Problem::new(
                        at("associations", i),
                        format!("no attachment {a:?} on this transit gateway"),
                    ));
                } else if let Some(other) = associated.insert(a.clone(), t.name.clone()) {
                    out.push(Problem::new(
                        at("associations", i),
                        format!(
                            "attachment {a} is associated with route tables {other} and {}: an attachment is associated with exactly one route table",
                            t.name
                        ),
                    ));
                }
            }
            for (i, a) in t.propagations.iter().enumerate() {
                if self.attachment_kind(a).is_none() {
                    out.push(Problem::new(
                        at("propagations", i),
                        format!("no attachment {a:?} on this transit gateway"),
                    ));
                }
            }
            for (i, r) in t.routes.iter().enumerate() {
                let item = at("routes", i);
                match (&r.attachment, r.blackhole) {
                    (Some(_), true) => out.push(Problem::new(item, "a static route has an attachment or blackhole = true, not both")),
                    (None, false) => out.push(Problem::new(item, "a static route needs an attachment or blackhole = true")),
                    (Some(a), false) => match self.attachment_kind(a) {
                        None => out.push(Problem::new(item, format!("no attachment {a:?} on this transit gateway"))),
                        Some(AttachmentKind::Connect) => out.push(Problem::new(
                            item,
                            format!("{}: static routes are not supported on Connect attachment {a} (Connect routes come from BGP)", r.cidr),
                        )),
                        Some(_) if r.cidr.addr().is_ipv6() && !self.carries_ipv6(a) => out.push(Problem::new(
                            item,
                            format!("{}: an IPv6 static route targets a VPC attachment with ipv6_support = true (or is a blackhole); {a} carries IPv4 only", r.cidr),
                        )),
                        Some(AttachmentKind::Vpc | AttachmentKind::Vpn | AttachmentKind::DxGateway) => {}
                    },
                    (None, true) => {}
                }
                if t.routes[..i]
                    .iter()
                    .any(|o| o.cidr.trunc() == r.cidr.trunc())
                {
                    out.push(Problem::new(
                        at("routes", i),
                        format!(
                            "{}: route table {} already has a static route for this CIDR",
                            r.cidr, t.name
                        ),
                    ));
                }
            }
        }
        out
    }
}

impl TgwDecl {
    /// The Connect attachments whose transport is Direct Connect gateway attachment `dx`.
    pub fn connects_over(&self, dx: &str) -> impl Iterator<Item = &ConnectDecl> {
        self.connects.iter().filter(move |c| {
            c.transport == dx && self.attachment_kind(dx) == Some(AttachmentKind::DxGateway)
        })
    }

    /// A Connect attachment over Direct Connect needs the TGW CIDR block among the allowed
    /// prefixes of its DX gateway's association with this TGW: they are what the DX gateway
    /// announces to on premises \[D7, D8\], so without it the appliance learns no route to
    /// the TGW's GRE addresses. AWS's Connect documentation \[T2\] asks for the CIDR block to be
    /// advertised that way; that an allowed prefix may also cover it (a shorter prefix, as any
    /// TGW allowed prefix is announced as written) is inferred, as is refusing the Connect
    /// attachment (AWS accepts it and the peers simply stay down).
    ///
    /// `allowed` holds each association's DX gateway and its allowed prefixes (defaults
    /// applied); a DX attachment without an association is reported elsewhere.
    pub fn check_dx_transports(&self, allowed: &[(String, Vec<Ipv4Net>)]) -> Vec<Problem> {
        let mut out = Vec::new();
        for (ci, c) in self.connects.iter().enumerate() {
            if self.attachment_kind(&c.transport) != Some(AttachmentKind::DxGateway) {
                continue;
            }
            for (gateway, prefixes) in allowed.iter().filter(|(g, _)| *g == c.transport) {
                if prefixes.iter().any(|p| p.contains(&self.cidr_block)) {
                    continue;
                }
                let list: Vec<String> = prefixes.iter().map(ToString::to_string).collect();
                out.push(Problem::new(
                    vec![Seg::Key("connect"), Seg::Index(ci), Seg::Key("transport")],
                    format!(
                        "Connect attachment {} runs over Direct Connect gateway {gateway}, whose association with {} allows [{}]: add the TGW CIDR block {} (or a prefix covering it) to the association's allowed_prefixes, or on premises learns no route to the TGW's GRE addresses",
                        c.name,
                        self.name,
                        list.join(", "),
                        self.cidr_block
                    ),
                ));
            }
        }
        out
    }
}

/// What the TGW daemon needs to know about one VPC attachment beyond the declaration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcRuntime {
    /// Attachment name.
    pub attachment: String,
    /// The TGW's interface on the link.
    pub ifname: String,
    /// The TGW's address on the link.
    pub tgw_address: Ipv4Addr,
    /// The VPC router's address on the link (the next hop into the VPC).
    pub vpc_address: Ipv4Addr,
    /// The VPC's CIDR blocks (propagated).
    pub cidrs: Vec<Ipv4Net>,
    /// IPv6 over the attachment (`ipv6_support`): the link's addresses and the VPC's IPv6
    /// CIDRs.
    #[serde(default)]
    pub ipv6: Option<VpcIpv6>,
    /// The VPC router's namespace (its route table gets `vpc_routes` via the TGW).
    #[serde(default)]
    pub netns: Option<PathBuf>,
    /// Routes put into the VPC's table towards the TGW: the declared ones and, for a Connect
    /// transport, the TGW CIDR block.
    pub vpc_routes: Vec<IpNet>,
}

impl VpcRuntime {
    /// The VPC router's address on the link for a route of this family (`None`: IPv6 without
    /// `ipv6_support`; `check` refuses such routes).
    pub fn next_hop(&self, ipv6: bool) -> Option<std::net::IpAddr> {
        if ipv6 {
            self.ipv6.as_ref().map(|x| x.vpc_address.into())
        } else {
            Some(self.vpc_address.into())
        }
    }
}

/// The IPv6 side of a VPC attachment with `ipv6_support`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VpcIpv6 {
    /// The TGW's address on the link.
    pub tgw_address: Ipv6Addr,
    /// The VPC router's (the next hop into the VPC).
    pub vpc_address: Ipv6Addr,
    /// The VPC's IPv6 CIDR blocks (propagated).
    pub cidrs: Vec<Ipv6Net>,
}

/// The TGW daemon's file. Its `vpn` part holds the VPN tunnels' pre-shared keys: `{:?}` prints
/// `***` in their place (the file itself is written only by the engine, owner-only).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TgwConfig {
    /// Timing profile.
    pub profile: Profile,
    /// The gateway.
    pub tgw: TgwDecl,
    /// Its VPC attachments' links and VPCs.
    pub vpcs: Vec<VpcRuntime>,
    /// Its VPN attachments as a VGW daemon's file (`vgw::VgwConfig` TOML with the keys): the
    /// tunnels, their outside and inside addresses, keys and options.
    #[serde(default)]
    pub vpn: Option<String>,
    /// Its Direct Connect gateway attachments' backbone sessions.
    #[serde(default)]
    pub dx: Vec<DxRuntime>,
}

/// A Direct Connect gateway attachment's backbone link to the DX location router.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DxRuntime {
    /// The attachment (the DX gateway's name).
    pub attachment: String,
    /// The DX router's backbone address (the iBGP neighbour, the next hop).
    pub address: Ipv4Addr,
    /// Ours.
    pub local_address: Ipv4Addr,
    /// Our interface on the backbone link.
    pub ifname: String,
}

impl std::fmt::Debug for TgwConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TgwConfig")
            .field("profile", &self.profile)
            .field("tgw", &self.tgw)
            .field("vpcs", &self.vpcs)
            .field("vpn", &self.vpn.as_ref().map(|_| "***"))
            .field("dx", &self.dx)
            .finish()
    }
}

impl TgwConfig {
    /// Parses and checks a file (the error names the first item that breaks a rule).
    pub fn from_toml(text: &str) -> Result<TgwConfig, String> {
        let c: TgwConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate()?;
        Ok(c)
    }

    /// AWS's rules and the runtime part's consistency.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(p) = self.tgw.check().first() {
            return Err(format!("{}: {}", p.item_text(), p.message));
        }
        for v in &self.tgw.vpc_attachments {
            if !self.vpcs.iter().any(|r| r.attachment == v.name) {
                return Err(format!("vpcs: no link for VPC attachment {}", v.name));
            }
        }
        Ok(())
    }

    /// As TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a TGW configuration serializes")
    }
}

/// One Connect peer as the appliance runs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliancePeer {
    /// The Connect attachment.
    pub attachment: String,
    /// Peer name.
    pub name: String,
    /// Our GRE address.
    pub local: Ipv4Addr,
    /// The TGW's GRE address.
    pub remote: Ipv4Addr,
    /// Inside /29 (we are `.1`).
    pub inside_cidr: Ipv4Net,
    /// Inside /125 (we are `::1`): IPv6 routes on this peer's sessions.
    #[serde(default)]
    pub inside_cidr_v6: Option<Ipv6Net>,
    /// The TGW's ASN.
    pub tgw_asn: u32,
    /// Our ASN on this peer.
    pub asn: u32,
    /// TTL of our BGP packets when the session is eBGP.
    pub ebgp_multihop: u8,
}

/// The appliance daemon's file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplianceConfig {
    /// Node name.
    pub name: String,
    /// Timing profile.
    pub profile: Profile,
    /// Prefixes announced to the TGW (IPv6 ones on the peers with an IPv6 inside CIDR).
    pub advertise: Vec<IpNet>,
    /// Connect peers.
    pub peers: Vec<AppliancePeer>,
    /// Run our BGP speaker (false: GRE devices only, for FRR).
    #[serde(default = "d_true")]
    pub bgp: bool,
}

impl ApplianceConfig {
    /// Parses and checks a file.
    pub fn from_toml(text: &str) -> Result<ApplianceConfig, String> {
        let c: ApplianceConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        if c.peers.is_empty() {
            return Err("peers: an appliance needs at least one Connect peer".into());
        }
        for p in &c.peers {
            if p.name.len() > 11 {
                return Err(format!("peers: {:?}: at most 11 characters", p.name));
            }
        }
        Ok(c)
    }

    /// As TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("an appliance configuration serializes")
    }
}

/// The GRE (TUN) interface of a Connect peer, on both ends.
pub fn gre_ifname(peer: &str) -> String {
    format!("gre-{peer}")
}

#[cfg(test)]
mod tests;
