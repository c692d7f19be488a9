//! The transit gateway daemon (`hybridlab daemon tgw`): one namespace holds the whole TGW.
//!
//! ```text
//!   VPC router ── veth (VPC attachment, 100.66.n.0/30) ──┐
//!                                                        │   policy rules: iif <attachment
//!   appliance ── GRE (raw proto 47, TGW address on lo) ──┤   interface> lookup <its route
//!     gre-p1 (TUN, 169.254.6.2/29 + .3/29, MTU 8476)     │   table>, then unreachable (no
//!     gre-p2 ...                                          │   fall-through to main)
//!                                                        │
//!   BGP speaker A (.2 of every peer) ─┐  paths           │   kernel table per route table:
//!   BGP speaker B (.3 of every peer) ─┴──────> routing::tgw::select ──> KernelRoutes (ECMP =
//!                                     per route table                   multipath route)
//!                                     └─> originate the Connect attachment's table to its peers
//! ```
//!
//! - Connect peers \[T2, T7\]: a GRE device per peer from the TGW address to the appliance;
//!   two BGP sessions per peer, from `.2` and `.3` of the inside /29 to the appliance's `.1`.
//!   The two speakers are separate `bgp::driver::Speaker`s because both sessions of a peer go
//!   to the same appliance address. iBGP when the peer ASN is the TGW's.
//! - eBGP needs multihop TTL 2 \[T2\]: AWS's speakers sit one hop behind the GRE endpoint. Here
//!   they do not, so the TGW's sessions require a received TTL of at least 2 (IP_MINTTL through
//!   `ttl_security = 254`): an appliance sending TTL 1 never gets a session, as on AWS. iBGP
//!   peers send 255 and pass.
//! - Route limits \[T3\]: 1000 prefixes in per session (over it: Cease 6/1, Idle for the
//!   profile's restart time: inferred, AWS does not say what happens), 5000 out.
//! - What the TGW sends to a Connect peer: the routes of its Connect attachment's associated
//!   route table except those that came from that attachment (`crate::export_policy`: the
//!   speakers originate the union, an export policy gives each appliance its attachment's
//!   share). VPN and DX gateway attachments in different tables still hear the union of their
//!   tables (simplification).
//!
//! - VPN attachments: the VGW's tunnel bundle (`gateway::bundle::Tunnels`, IKEv2 + ESP over
//!   TUN, an underlay table for the outside addresses), one BGP session per tunnel of a
//!   dynamic connection (its own speaker), static VPN routes while a tunnel is up; the route
//!   table decides ECMP with the TGW's VPN ECMP option.
//! - Direct Connect gateway attachments: iBGP in the TGW's ASN with each DX location router
//!   over its backbone link (the `dxgw` daemon treats the TGW like an associated VGW).
//! - A Connect attachment over a DX gateway attachment \[T2\]: the appliance is on premises;
//!   its GRE arrives over the backbone link (to a TGW address on lo: delivered locally before
//!   any policy rule), and the TGW's own GRE back follows the main-table routes
//!   [`crate::transport::main_routes`] picks from what the DX backbone session learned (the
//!   longest on-premises prefix covering each such peer's address), kept equal to it at every
//!   recompute.
//! - What a peer hears: the routes of its attachment's route table that did not come from an
//!   attachment of its own type, with their AS_PATH (so a customer's loop detection drops its
//!   own prefixes, as on AWS).
//!
//! - IPv6 \[T2\]: a VPC attachment with `ipv6_support` propagates the VPC's IPv6 CIDRs and
//!   gets IPv6 addresses on its link; a Connect peer with an IPv6 inside /125 negotiates IPv6
//!   unicast on its two IPv4 sessions (MP-BGP, RFC 4760 §8: IPv6 NLRI over an IPv4 session),
//!   announces the speakers' `::2`/`::3` as IPv6 next hops and installs the appliance's IPv6
//!   prefixes via its `::1` on the GRE device. One table holds both families (the kernel keeps
//!   one per family: the policy rules are written for both). VPN and DX gateway attachments
//!   stay IPv4.
//!
//! What it does not do: IPv6 on VPN or DX gateway attachments, IPv6 BGP sessions (the /125
//! carries next hops, the sessions stay on the /29), peering, the VPC's own router (the `vpc`
//! kind is the VPC; this daemon only adds the VPC route table's routes towards the TGW).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bgp::driver::{NeighborConfig, Speaker, SpeakerConfig};
use bgp::rib::{DefaultPolicy, MaxPrefix};
use bgp::wire::attrs::{AsPath, AsSegment, SegmentKind};
use bgp::wire::{Family, PathAttrs, Prefix};
use control::protocol::ErrorCode;
use control::{ErrorBody, EventPublisher, ServerBuilder, ShowParams};
use gateway::bundle::GatewayError;
use gateway::bundle::{Endpoints, Tunnels};
use gateway::fib::{KernelRoutes, Target};
use gateway::tunnel::TunnelSpec;
use gateway::underlay::Underlay;
use gre::device::{GreConfig, GreDevice};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use routing::tgw::{Options, Selection, TunnelPreference};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::{
    AttachmentKind, MAX_ROUTES_IN, MAX_ROUTES_OUT, ResolvedTable, TgwConfig, gre_ifname,
};
use crate::export_policy::SharePolicy;
use crate::inside_cidr;
use crate::tables::{self, ConnectPath, VpnPath};

/// Kernel protocol of the TGW's routes (its tables and the VPC routes it adds).
pub const PROTO_TGW: u8 = 73;
/// Priority of the first input-interface rule; the unreachable rules follow at +1000.
const RULE_PRIORITY: u32 = 1000;

/// One Connect peer as the daemon runs it.
#[derive(Debug, Clone)]
struct PeerRun {
    attachment: String,
    name: String,
    inside: Ipv4Net,
    appliance: Ipv4Addr,
    speakers: [Ipv4Addr; 2],
    /// The IPv6 inside /125, the appliance's and the speakers' IPv6 addresses (next hops).
    inside_v6: Option<(Ipv6Net, Ipv6Addr, [Ipv6Addr; 2])>,
    tgw_address: Ipv4Addr,
    peer_address: Ipv4Addr,
    peer_asn: u32,
}

/// What the recompute step and the views share.
#[derive(Debug)]
struct Shared {
    config: TgwConfig,
    /// The route tables: static routes and propagations change at run time
    /// ([`crate::route_changes`]); associations and kernel table ids do not.
    tables: std::sync::Mutex<Vec<ResolvedTable>>,
    peers: Vec<PeerRun>,
    /// The Connect speakers' export policy: what each Connect attachment hears.
    connect_shares: SharePolicy,
    /// The VPN speakers' (one each): what each VPN attachment hears.
    vpn_shares: Vec<SharePolicy>,
    vpn: Vec<TunnelRun>,
    /// VPN tunnel name -> its interface.
    tunnel_ifnames: BTreeMap<String, String>,
    state: Mutex<State>,
}

impl Shared {
    /// The route tables as they are now.
    fn tables(&self) -> Vec<ResolvedTable> {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// One VPN attachment tunnel as the daemon runs it.
#[derive(Debug, Clone)]
struct TunnelRun {
    attachment: String,
    name: String,
    remote_inside: Ipv4Addr,
    customer_asn: Option<u32>,
    static_routes: Vec<Ipv4Net>,
}

#[derive(Debug)]
struct State {
    fibs: Vec<KernelRoutes<IpNet>>,
    selections: BTreeMap<String, Vec<Selection>>,
    /// The main-table routes of the Connect peers over Direct Connect (none without them).
    transport: Option<KernelRoutes>,
    /// What each kind of peer was sent, with the AS_PATH it was sent with.
    originated: Originated,
    /// Per VPN speaker.
    originated_vpn: Vec<Originated>,
    originated_dx: Originated,
}

type Originated = BTreeMap<IpNet, Vec<u32>>;

/// Makes `speakers` originate exactly `wanted`: a route learned over BGP goes on with its
/// AS_PATH (our AS is prepended towards eBGP peers), so a customer never takes its own prefix
/// back (AS_PATH loop detection), as on AWS.
async fn sync_originated(speakers: &[&Arc<Speaker>], current: &mut Originated, wanted: Originated) {
    for sp in speakers {
        for p in current.keys().filter(|p| !wanted.contains_key(p)) {
            let _ = sp.withdraw(Prefix::from(*p)).await;
        }
        for (p, path) in wanted.iter().filter(|(p, a)| current.get(p) != Some(a)) {
            let mut attrs = PathAttrs::default();
            if !path.is_empty() {
                attrs.as_path = AsPath {
                    segments: vec![AsSegment {
                        kind: SegmentKind::Sequence,
                        asns: path.clone(),
                    }],
                };
            }
            let _ = sp.originate(Prefix::from(*p), attrs).await;
        }
    }
    *current = wanted;
}

/// [`sync_originated`] for speakers whose peers hear per-attachment shares: the shares are
/// updated first (so new originations are exported by them), and a prefix that entered or
/// left an attachment's share while its origination stayed the same is re-advertised to
/// that attachment's peers (the speaker would not export it again by itself).
async fn sync_shared(
    speakers: &[&Arc<Speaker>],
    policy: &SharePolicy,
    shares: BTreeMap<String, BTreeSet<Prefix>>,
    current: &mut Originated,
    wanted: Originated,
) {
    let before = current.clone();
    let moved = policy.update(shares);
    sync_originated(speakers, current, wanted).await;
    for (att, prefixes) in moved {
        let unchanged = prefixes.iter().any(|p| {
            let n = p.to_ip_net();
            before.get(&n).is_some_and(|b| current.get(&n) == Some(b))
        });
        if !unchanged {
            continue;
        }
        for (addr, peer_policy) in policy.peers_of(&att) {
            for sp in speakers {
                let _ = sp.set_neighbor_policy(addr, peer_policy.clone()).await;
            }
        }
    }
}

/// A running transit gateway.
#[derive(Debug)]
pub struct Tgw {
    shared: Arc<Shared>,
    speakers: Vec<Arc<Speaker>>,
    vpn_speakers: Vec<Arc<Speaker>>,
    dx_speaker: Option<Arc<Speaker>>,
    tunnels: Option<Arc<Tunnels>>,
    underlay: Option<Underlay>,
    devices: Arc<Vec<GreDevice>>,
    vpc_fibs: Vec<KernelRoutes<IpNet>>,
    tasks: Vec<JoinHandle<()>>,
    control: Option<control::Server>,
}

fn neighbor_name(peer: &str, speaker: Ipv4Addr) -> String {
    format!("{peer}/.{}", speaker.octets()[3] & 7)
}

fn gerr(what: &'static str) -> impl Fn(netns::Error) -> GatewayError {
    GatewayError::netns(what)
}

impl Tgw {
    /// Starts the TGW in the current namespace.
    pub async fn start(
        config: TgwConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Tgw, GatewayError> {
        config
            .validate()
            .map_err(|e| GatewayError::Config(gateway::ConfigError::new("tgw", e)))?;
        let tgw = &config.tgw;
        let tables = tgw.tables();
        let ns = netns::Netns::current().map_err(gerr("opening our namespace"))?;
        let netlink = netns::Netlink::open_current().map_err(gerr("netlink"))?;
        // Packets come back over another attachment or peer than they left by (ECMP, route
        // tables chosen by input interface): no reverse-path filter.
        ns.set_rp_filter(0)
            .map_err(GatewayError::netns("rp_filter"))?;
        // ECMP by flow (addresses, protocol, ports), as AWS spreads flows over Connect peers and
        // VPN tunnels (inferred: AWS says "flows", not which fields); the kernel's default hashes
        // the addresses only, which would put every flow between two hosts on one peer.
        ns.ensure_sysctl("net.ipv4.fib_multipath_hash_policy", "1")
            .map_err(GatewayError::netns("fib_multipath_hash_policy"))?;
        // IPv6 likewise, best effort: in a container /proc/sys is read-only and the engine sets
        // it from outside; where it cannot be set, IPv6 flows are hashed by address only.
        if let Err(e) = ns.ensure_sysctl("net.ipv6.fib_multipath_hash_policy", "1") {
            warn!(error = %e, "IPv6 multipath routes hash by address only");
        }

        let mut peers = Vec::new();
        for (ci, c) in tgw.connects.iter().enumerate() {
            for (pi, p) in c.peers.iter().enumerate() {
                let (appliance, speakers) = inside_cidr::addresses(p.inside_cidr);
                peers.push(PeerRun {
                    attachment: c.name.clone(),
                    name: p.name.clone(),
                    inside: p.inside_cidr,
                    appliance,
                    speakers,
                    inside_v6: p.inside_cidr_v6.map(|c| {
                        let (me, tgw) = inside_cidr::addresses_v6(c);
                        (c, me, tgw)
                    }),
                    tgw_address: tgw.tgw_address(ci, pi),
                    peer_address: p.peer_address,
                    peer_asn: tgw.peer_asn(ci, pi),
                });
            }
        }

        // The TGW's GRE addresses live on the loopback.
        let lo = netns::LinkId::Name("lo");
        let mut added = BTreeSet::new();
        for p in &peers {
            if added.insert(p.tgw_address) {
                let net = IpNet::V4(Ipv4Net::new(p.tgw_address, 32).expect("a /32"));
                if let Err(e) = netlink.add_address(lo, net).await
                    && !e.is_exists()
                {
                    return Err(GatewayError::netns("adding a TGW address")(e));
                }
            }
        }
        // A GRE device per Connect peer, the TGW's speakers .2 and .3 on it.
        let mut devices = Vec::new();
        for p in &peers {
            let mut gc = GreConfig::new(gre_ifname(&p.name), p.tgw_address, p.peer_address);
            gc.mtu = gre::device::JUMBO_INSIDE_MTU;
            let dev = GreDevice::start(&ns, gc).map_err(|e| {
                GatewayError::Config(gateway::ConfigError::new("gre", e.to_string()))
            })?;
            let mut addrs: Vec<IpNet> = p
                .speakers
                .iter()
                .map(|s| IpNet::V4(Ipv4Net::new(*s, 29).expect("a /29")))
                .collect();
            if let Some((_, _, v6)) = &p.inside_v6 {
                addrs.extend(
                    v6.iter()
                        .map(|s| IpNet::V6(Ipv6Net::new(*s, 125).expect("a /125"))),
                );
            }
            dev.configure(&netlink, &addrs).await.map_err(|e| {
                GatewayError::Config(gateway::ConfigError::new("gre", e.to_string()))
            })?;
            devices.push(dev);
        }
        let devices = Arc::new(devices);
        // VPN attachments: the VGW's tunnel bundle (IKE + ESP over TUN), one BGP session per
        // tunnel of a dynamic connection.
        let builder = ServerBuilder::new(&config.tgw.name);
        let publisher = builder.publisher();
        let changed = Arc::new(Notify::new());
        let vpn = match &config.vpn {
            Some(text) => Some(vgw::VgwConfig::from_toml(text)?),
            None => None,
        };
        let mut specs = Vec::new();
        let mut vpn_runs = Vec::new();
        let mut tunnel_ifnames = BTreeMap::new();
        if let Some(v) = &vpn {
            for (ci, c) in v.connections.iter().enumerate() {
                for (i, t) in c.tunnels.iter().enumerate() {
                    let (aws, customer) = vgw::config::inside_addresses(t.inside_cidr);
                    let name = vgw::daemon::tunnel_name(&c.name, i);
                    let ipsec = t
                        .options
                        .tunnel_config(
                            &name,
                            t.outside_ip,
                            t.customer_ip,
                            &t.pre_shared_key,
                            config.profile,
                        )
                        .map_err(|e| {
                            gateway::ConfigError::new(
                                format!("vpn_attachment[{ci}].tunnel[{i}].options"),
                                e.to_string(),
                            )
                        })?;
                    let ifname = gateway::bundle::ifname(&c.name, ci, i);
                    tunnel_ifnames.insert(name.clone(), ifname.clone());
                    vpn_runs.push(TunnelRun {
                        attachment: c.name.clone(),
                        name: name.clone(),
                        remote_inside: customer,
                        customer_asn: (c.routing == vgw::config::Routing::Dynamic)
                            .then_some(c.customer_asn)
                            .flatten(),
                        static_routes: if c.routing == vgw::config::Routing::Static {
                            c.static_routes.clone()
                        } else {
                            Vec::new()
                        },
                    });
                    specs.push(TunnelSpec {
                        ifname,
                        inside_cidr: t.inside_cidr,
                        local_inside: aws,
                        remote_inside: customer,
                        ipsec,
                    });
                }
            }
        }
        let outside: Vec<Ipv4Addr> = vpn
            .iter()
            .flat_map(|v| {
                v.connections
                    .iter()
                    .flat_map(|c| c.tunnels.iter().map(|t| t.outside_ip))
            })
            .collect();
        let underlay = match vpn.as_ref().and_then(|v| v.underlay_gateway) {
            Some(gw) if !outside.is_empty() => {
                Some(Underlay::install(&netlink, &outside, gw).await?)
            }
            _ => None,
        };
        let tunnels = if specs.is_empty() {
            None
        } else {
            Some(Arc::new(
                Tunnels::start(
                    specs.clone(),
                    Endpoints::OnePerTunnel,
                    &netlink,
                    publisher.clone(),
                    changed.clone(),
                )
                .await?,
            ))
        };
        let (vpn_speakers, vpn_policies): (Vec<Arc<Speaker>>, Vec<SharePolicy>) = match &vpn {
            Some(_) => start_vpn_speakers(tgw.asn, config.profile, &specs, &vpn_runs)
                .await?
                .into_iter()
                .unzip(),
            None => (Vec::new(), Vec::new()),
        };

        // Direct Connect gateway attachments: iBGP in our ASN with each DX location router
        // over its backbone link (the DX router treats us as a VGW association).
        for d in &config.dx {
            tunnel_ifnames.insert(d.attachment.clone(), d.ifname.clone());
        }
        let dx_speaker = if config.dx.is_empty() {
            None
        } else {
            let mut sc = SpeakerConfig::new(tgw.asn, config.dx[0].local_address);
            sc.timers = vgw::timers::of(config.profile).bgp;
            sc.kernel = None;
            sc.max_paths = 1;
            sc.listen = Vec::new();
            for d in &config.dx {
                let mut n = NeighborConfig::new(IpAddr::V4(d.address), tgw.asn);
                n.name = Some(d.attachment.clone());
                n.local_address = Some(IpAddr::V4(d.local_address));
                n.families = vec![Family::Ipv4Unicast];
                n.graceful_restart_time = 0;
                n.next_hop_self = true;
                sc.listen
                    .push(SocketAddr::new(IpAddr::V4(d.local_address), 179));
                sc.neighbors.push(n);
            }
            Some(Arc::new(
                Speaker::start(sc, Box::new(DefaultPolicy))
                    .await
                    .map_err(|e| GatewayError::Bgp(e.to_string()))?,
            ))
        };

        // Forwarding: packets look up the route table of the attachment they came in by.
        let mut k = 0;
        for (name, kind) in tgw.attachments() {
            let Some(table) = tables.iter().find(|t| t.associations.contains(&name)) else {
                continue;
            };
            let ifnames: Vec<String> = match kind {
                AttachmentKind::Vpc => config
                    .vpcs
                    .iter()
                    .filter(|v| v.attachment == name)
                    .map(|v| v.ifname.clone())
                    .collect(),
                AttachmentKind::Connect => peers
                    .iter()
                    .filter(|p| p.attachment == name)
                    .map(|p| gre_ifname(&p.name))
                    .collect(),
                AttachmentKind::Vpn => vpn_runs
                    .iter()
                    .filter(|r| r.attachment == name)
                    .filter_map(|r| tunnel_ifnames.get(&r.name).cloned())
                    .collect(),
                AttachmentKind::DxGateway => config
                    .dx
                    .iter()
                    .filter(|d| d.attachment == name)
                    .map(|d| d.ifname.clone())
                    .collect(),
            };
            for ifname in ifnames {
                // The kernel keeps one rule list per family: both get the attachment's table.
                let rules = [netns::route::Family::V4, netns::route::Family::V6].map(|f| {
                    [
                        netns::Rule::lookup(table.id)
                            .family(f)
                            .iif(&ifname)
                            .priority(RULE_PRIORITY + k)
                            .protocol(PROTO_TGW),
                        netns::Rule::lookup(table.id)
                            .family(f)
                            .iif(&ifname)
                            .action(netns::rule::Action::Unreachable)
                            .priority(RULE_PRIORITY + 1000 + k)
                            .protocol(PROTO_TGW),
                    ]
                });
                let rules = rules.as_flattened();
                for r in rules {
                    if let Err(e) = netlink.add_rule(r).await
                        && !e.is_exists()
                    {
                        return Err(GatewayError::netns("adding a policy rule")(e));
                    }
                }
                k += 1;
            }
        }

        // Two speakers: A holds every peer's .2, B every peer's .3; one export policy for
        // both tells each appliance only its attachment's share (crate::export_policy).
        let t = crate::timers::bgp(config.profile);
        let connect_shares = SharePolicy::default();
        let mut connect_members = BTreeMap::new();
        let mut speakers = Vec::new();
        for which in 0..2 {
            let router_id = peers
                .first()
                .map(|p| p.speakers[which])
                .unwrap_or(Ipv4Addr::new(169, 254, 255, 250 + which as u8));
            let mut sc = SpeakerConfig::new(tgw.asn, router_id);
            sc.timers = t;
            sc.kernel = None;
            sc.max_paths = 1;
            sc.listen = peers
                .iter()
                .map(|p| SocketAddr::new(IpAddr::V4(p.speakers[which]), 179))
                .collect();
            for p in &peers {
                let mut n = NeighborConfig::new(IpAddr::V4(p.appliance), p.peer_asn);
                n.name = Some(neighbor_name(&p.name, p.speakers[which]));
                n.local_address = Some(IpAddr::V4(p.speakers[which]));
                n.families = vec![Family::Ipv4Unicast];
                // MP-BGP: IPv6 routes over the IPv4 session, next hops from the /125.
                if let Some((_, _, v6)) = &p.inside_v6 {
                    n.families.push(Family::Ipv6Unicast);
                    n.next_hop_v6 = Some(v6[which]);
                }
                n.graceful_restart_time = 0;
                // A received TTL of at least 2: see the module docs (eBGP multihop 2).
                n.ttl_security = Some(254);
                n.max_prefix = Some(MaxPrefix {
                    limit: MAX_ROUTES_IN,
                    restart_after: Some(crate::timers::route_limit_restart(config.profile)),
                    warning_only: false,
                });
                n.max_advertise = Some(MAX_ROUTES_OUT);
                // Only what `recompute` originates from the route tables, each appliance its
                // attachment's share; without this the speaker passed one appliance's routes
                // straight on to every other appliance, past the route tables (found by the
                // tgw_scale benchmark: 5000 routes per appliance).
                n.export_local_only = true;
                connect_members.insert(
                    IpAddr::V4(p.appliance),
                    (p.attachment.clone(), n.peer_policy()),
                );
                sc.neighbors.push(n);
            }
            if sc.neighbors.is_empty() {
                continue;
            }
            let sp = Speaker::start(sc, Box::new(connect_shares.clone()))
                .await
                .map_err(|e| GatewayError::Bgp(e.to_string()))?;
            speakers.push(Arc::new(sp));
        }

        connect_shares.set_members(connect_members);

        // The VPC route tables' routes towards the TGW.
        let mut vpc_fibs = Vec::new();
        for v in &config.vpcs {
            let Some(path) = &v.netns else { continue };
            let vns = netns::Netns::open_path(path).map_err(gerr("opening a VPC namespace"))?;
            let nl = netns::Netlink::open(&vns).map_err(gerr("netlink in a VPC namespace"))?;
            let mut fib = KernelRoutes::new(nl, netns::route::TABLE_MAIN, PROTO_TGW);
            let tgw_v6 = v.ipv6.as_ref().map(|x| IpAddr::V6(x.tgw_address));
            let wanted: BTreeMap<IpNet, Target> = v
                .vpc_routes
                .iter()
                .filter_map(|r| {
                    let gw = match r {
                        IpNet::V4(_) => IpAddr::V4(v.tgw_address),
                        IpNet::V6(_) => tgw_v6?,
                    };
                    Some((r.trunc(), Target::Via(vec![(gw, None)])))
                })
                .collect();
            let stats = fib.sync(&wanted).await;
            if stats.failed > 0 {
                warn!(vpc = %v.attachment, "some VPC routes towards the TGW were refused");
            }
            vpc_fibs.push(fib);
        }

        let fibs = tables
            .iter()
            .map(|t| {
                netns::Netlink::open_current()
                    .map(|nl| KernelRoutes::new(nl, t.id, PROTO_TGW))
                    .map_err(gerr("netlink"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Connect peers over Direct Connect: their GRE's routes in the main table.
        let transport = if config
            .dx
            .iter()
            .any(|d| tgw.connects_over(&d.attachment).next().is_some())
        {
            Some(KernelRoutes::new(
                netns::Netlink::open_current().map_err(gerr("netlink"))?,
                netns::route::TABLE_MAIN,
                PROTO_TGW,
            ))
        } else {
            None
        };
        let shared = Arc::new(Shared {
            config: config.clone(),
            tables: std::sync::Mutex::new(tables),
            connect_shares,
            vpn_shares: vpn_policies,
            peers,
            vpn: vpn_runs,
            tunnel_ifnames,
            state: Mutex::new(State {
                fibs,
                transport,
                selections: BTreeMap::new(),
                originated: Originated::new(),
                originated_vpn: vec![Originated::new(); vpn_speakers.len()],
                originated_dx: Originated::new(),
            }),
        });

        for sp in speakers.iter().chain(&vpn_speakers).chain(&dx_speaker) {
            gateway::bundle::bridge_bgp_events(sp, publisher.clone(), changed.clone());
        }
        let vpn_parts = VpnParts {
            speakers: vpn_speakers.clone(),
            tunnels: tunnels.clone(),
            dx: dx_speaker.clone(),
        };
        recompute(&shared, &speakers, &vpn_parts, &publisher).await;
        let mut tasks = Vec::new();
        {
            let (shared, speakers, publisher, changed, vpn_parts) = (
                shared.clone(),
                speakers.clone(),
                publisher.clone(),
                changed.clone(),
                vpn_parts.clone(),
            );
            tasks.push(tokio::spawn(async move {
                loop {
                    // A change, or at the latest every second (a withdrawal that raced a read).
                    let _ = tokio::time::timeout(Duration::from_secs(1), changed.notified()).await;
                    // Let a burst of UPDATEs land before reading the RIBs.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    recompute(&shared, &speakers, &vpn_parts, &publisher).await;
                }
            }));
        }
        let control = match control {
            Some(path) => Some(
                register(builder, &shared, &speakers, &devices, &vpn_parts)
                    .bind(path)
                    .await
                    .map_err(|e| GatewayError::Control(e.to_string()))?,
            ),
            None => None,
        };
        info!(name = %config.tgw.name, peers = shared.peers.len(), tables = shared.tables().len(), "transit gateway running");
        Ok(Tgw {
            shared,
            speakers,
            vpn_speakers,
            dx_speaker,
            tunnels,
            underlay,
            devices,
            vpc_fibs,
            tasks,
            control,
        })
    }

    /// Stops: BGP Cease, routes removed, GRE devices joined.
    pub async fn shutdown(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for sp in self
            .speakers
            .iter()
            .chain(&self.vpn_speakers)
            .chain(&self.dx_speaker)
        {
            sp.shutdown().await;
        }
        {
            let mut st = self.shared.state.lock().await;
            for f in &mut st.fibs {
                f.clear().await;
            }
            if let Some(f) = &mut st.transport {
                f.clear().await;
            }
        }
        for f in &mut self.vpc_fibs {
            f.clear().await;
        }
        // The control socket's views hold the devices too: close it first, then the last
        // reference stops and joins the devices' threads.
        drop(self.control.take());
        if let Some(t) = self.tunnels.take()
            && let Ok(t) = Arc::try_unwrap(t)
        {
            t.close().await;
        }
        if let Some(u) = &self.underlay {
            u.remove().await;
        }
        if let Ok(devices) = Arc::try_unwrap(self.devices) {
            for d in devices {
                d.shutdown();
            }
        }
    }
}

/// The BGP speakers of the VPN attachments' dynamic tunnels, each with the export policy that
/// gives its neighbors their attachment's share.
///
/// AWS accepts the same inside /30 on VPN attachments of one TGW (§7 item 8): then two
/// tunnels have the same local (`.1`) and customer (`.2`) addresses on two TUN devices. One
/// speaker cannot hold two neighbors of one address, so the k-th tunnel of an inside /30 goes
/// to the k-th speaker, and such tunnels' sessions are bound to their TUN device
/// (SO_BINDTODEVICE, listener and connections), so each speaks through its own tunnel. Without
/// duplicates there is one speaker and nothing is bound, as before.
async fn start_vpn_speakers(
    asn: u32,
    profile: engine::model::timing::Profile,
    specs: &[TunnelSpec],
    runs: &[TunnelRun],
) -> Result<Vec<(Arc<Speaker>, SharePolicy)>, GatewayError> {
    let vt = vgw::timers::of(profile);
    let dynamic: Vec<(&TunnelSpec, &TunnelRun, u32)> = specs
        .iter()
        .zip(runs)
        .filter_map(|(s, r)| r.customer_asn.map(|asn| (s, r, asn)))
        .collect();
    let uses = |cidr: Ipv4Net| {
        dynamic
            .iter()
            .filter(|(s, _, _)| s.inside_cidr == cidr)
            .count()
    };
    let mut groups: Vec<Vec<(&TunnelSpec, &TunnelRun, u32)>> = Vec::new();
    for (i, t) in dynamic.iter().enumerate() {
        let k = dynamic[..i]
            .iter()
            .filter(|(s, _, _)| s.inside_cidr == t.0.inside_cidr)
            .count();
        if groups.len() <= k {
            groups.resize_with(k + 1, Vec::new);
        }
        groups[k].push(*t);
    }
    let mut out = Vec::new();
    for group in groups {
        let policy = SharePolicy::default();
        let mut members = BTreeMap::new();
        let mut sc = SpeakerConfig::new(asn, group[0].0.local_inside);
        sc.timers = vt.bgp;
        sc.kernel = None;
        sc.max_paths = 1;
        sc.listen = Vec::new();
        for (spec, run, customer_asn) in group {
            let mut n = NeighborConfig::new(IpAddr::V4(spec.remote_inside), customer_asn);
            n.name = Some(run.name.clone());
            n.local_address = Some(IpAddr::V4(spec.local_inside));
            n.router_id = Some(spec.local_inside);
            if uses(spec.inside_cidr) > 1 {
                n.bind_device = Some(spec.ifname.clone());
            }
            n.families = vec![Family::Ipv4Unicast];
            n.graceful_restart_time = 0;
            n.max_advertise = Some(vgw::config::MAX_PREFIXES_TO_CUSTOMER);
            n.max_prefix = Some(MaxPrefix {
                limit: vgw::config::MAX_CUSTOMER_PREFIXES,
                restart_after: Some(vt.max_prefix_restart),
                warning_only: false,
            });
            // What `recompute` originates from the attachment's route table only
            // (crate::export_policy): no plain re-advertisement from one VPN attachment to
            // another past the route tables.
            n.export_local_only = true;
            members.insert(
                IpAddr::V4(spec.remote_inside),
                (run.attachment.clone(), n.peer_policy()),
            );
            sc.listen
                .push(SocketAddr::new(IpAddr::V4(spec.local_inside), 179));
            sc.neighbors.push(n);
        }
        policy.set_members(members);
        let sp = Speaker::start(sc, Box::new(policy.clone()))
            .await
            .map_err(|e| GatewayError::Bgp(e.to_string()))?;
        out.push((Arc::new(sp), policy));
    }
    Ok(out)
}

/// The VPN side the recompute step and the views read.
#[derive(Debug, Clone)]
struct VpnParts {
    /// The VPN attachments' speakers: one, or more when attachments share an inside /30
    /// ([`start_vpn_speakers`]).
    speakers: Vec<Arc<Speaker>>,
    tunnels: Option<Arc<Tunnels>>,
    /// The Direct Connect gateway attachments' speaker.
    dx: Option<Arc<Speaker>>,
}

/// Every route the VPN attachments' tunnels offer: BGP paths and static routes of tunnels up.
async fn vpn_learned(shared: &Shared, vpn: &VpnParts) -> Vec<VpnPath> {
    let mut out = Vec::new();
    let up = vpn.tunnels.as_ref().map(|t| t.states()).unwrap_or_default();
    for r in &shared.vpn {
        if up.get(&r.name) != Some(&true) {
            continue;
        }
        for p in &r.static_routes {
            out.push(VpnPath {
                attachment: r.attachment.clone(),
                tunnel: r.name.clone(),
                prefix: (*p).into(),
                as_path: Vec::new(),
                med: None,
                peer_asn: None,
                next_hop: r.remote_inside.into(),
            });
        }
    }
    for sp in &vpn.speakers {
        let Ok(routes) = sp.routes(Family::Ipv4Unicast, 1_000_000).await else {
            continue;
        };
        for route in routes {
            let Some(prefix) = route.prefix.to_ipv4_net() else {
                continue;
            };
            for path in route
                .paths
                .iter()
                .filter(|p| !p.filtered && p.peer != "local")
            {
                let Some(r) = shared.vpn.iter().find(|r| r.name == path.peer) else {
                    continue;
                };
                out.push(VpnPath {
                    attachment: r.attachment.clone(),
                    tunnel: r.name.clone(),
                    prefix: prefix.into(),
                    as_path: tables::parse_as_path(&path.as_path),
                    med: path.med,
                    peer_asn: r.customer_asn,
                    next_hop: r.remote_inside.into(),
                });
            }
        }
    }
    if let Some(sp) = &vpn.dx
        && let Ok(routes) = sp.routes(Family::Ipv4Unicast, 1_000_000).await
    {
        for route in routes {
            let Some(prefix) = route.prefix.to_ipv4_net() else {
                continue;
            };
            for path in route
                .paths
                .iter()
                .filter(|p| !p.filtered && p.peer != "local")
            {
                let Some(d) = shared.config.dx.iter().find(|d| d.attachment == path.peer) else {
                    continue;
                };
                let as_path = tables::parse_as_path(&path.as_path);
                out.push(VpnPath {
                    attachment: d.attachment.clone(),
                    tunnel: d.attachment.clone(),
                    prefix: prefix.into(),
                    // ECMP is never across ASNs: the customer's, the path's first AS.
                    peer_asn: Some(as_path.first().copied().unwrap_or(shared.config.tgw.asn)),
                    as_path,
                    med: path.med,
                    next_hop: d.address.into(),
                });
            }
        }
    }
    out
}

/// Every path the speakers learned from Connect peers, both families (an IPv6 path only from
/// a peer with an IPv6 inside CIDR: its next hop is the appliance's `::1`).
async fn learned(shared: &Shared, speakers: &[Arc<Speaker>]) -> Vec<ConnectPath> {
    let mut out = Vec::new();
    let mut families = vec![Family::Ipv4Unicast];
    if shared.peers.iter().any(|p| p.inside_v6.is_some()) {
        families.push(Family::Ipv6Unicast);
    }
    let asks = speakers
        .iter()
        .flat_map(|sp| families.iter().map(move |f| (sp.clone(), *f)))
        .collect::<Vec<_>>();
    for (sp, family) in asks {
        let Ok(routes) = sp.routes(family, 1_000_000).await else {
            continue;
        };
        for r in routes {
            let prefix = r.prefix.to_ip_net();
            for path in r.paths.iter().filter(|p| !p.filtered && p.peer != "local") {
                let Some(peer) = shared.peers.iter().find(|p| {
                    p.speakers
                        .iter()
                        .any(|s| neighbor_name(&p.name, *s) == path.peer)
                }) else {
                    continue;
                };
                let speaker = peer
                    .speakers
                    .iter()
                    .copied()
                    .find(|s| neighbor_name(&peer.name, *s) == path.peer)
                    .unwrap_or(peer.speakers[0]);
                let next_hop = match (prefix, &peer.inside_v6) {
                    (IpNet::V4(_), _) => IpAddr::V4(peer.appliance),
                    (IpNet::V6(_), Some((_, me, _))) => IpAddr::V6(*me),
                    (IpNet::V6(_), None) => continue,
                };
                out.push(ConnectPath {
                    attachment: peer.attachment.clone(),
                    peer: peer.name.clone(),
                    speaker,
                    prefix,
                    as_path: tables::parse_as_path(&path.as_path),
                    med: path.med,
                    peer_asn: peer.peer_asn,
                    next_hop,
                });
            }
        }
    }
    out
}

/// Re-evaluates every route table, programs the kernel, and originates to the Connect peers.
async fn recompute(
    shared: &Shared,
    speakers: &[Arc<Speaker>],
    vpn: &VpnParts,
    publisher: &EventPublisher,
) {
    let learned = learned(shared, speakers).await;
    let vpn_paths = vpn_learned(shared, vpn).await;
    let up = vpn.tunnels.as_ref().map(|t| t.states()).unwrap_or_default();
    let up_tunnels: Vec<(String, String, Ipv4Addr)> = shared
        .vpn
        .iter()
        .filter(|r| up.get(&r.name) == Some(&true))
        .map(|r| (r.attachment.clone(), r.name.clone(), r.remote_inside))
        .collect();
    let tgw = &shared.config.tgw;
    let options = Options {
        vpn_ecmp: tgw.vpn_ecmp,
        preference: TunnelPreference::new(tgw.seed),
    };
    let mut st = shared.state.lock().await;
    if let Some(fib) = &mut st.transport {
        let wanted = crate::transport::main_routes(tgw, &shared.config.dx, &vpn_paths);
        let stats = fib.sync(&wanted).await;
        if stats.replaced + stats.removed > 0 {
            publisher.publish(
                "tgw.transport_routes",
                json!({ "routes": wanted.keys().map(ToString::to_string).collect::<Vec<_>>(), "changed": stats.replaced, "removed": stats.removed }),
            );
        }
    }
    let mut to_connect = Originated::new();
    let mut shares: BTreeMap<String, BTreeSet<Prefix>> = BTreeMap::new();
    let mut vpn_shares: BTreeMap<String, BTreeSet<Prefix>> = BTreeMap::new();
    let mut to_vpn = Originated::new();
    let mut to_dx = Originated::new();
    let path_of = |s: &Selection| {
        s.paths
            .first()
            .map(|c| c.as_path.clone())
            .unwrap_or_default()
    };
    for (i, table) in shared.tables().iter().enumerate() {
        let cands = tables::candidates(
            tgw,
            &shared.config.vpcs,
            table,
            &learned,
            &vpn_paths,
            &up_tunnels,
        );
        let selections = routing::tgw::select(&cands, options);
        let wanted =
            tables::kernel_routes(&shared.config.vpcs, &shared.tunnel_ifnames, &selections);
        let stats = st.fibs[i].sync(&wanted).await;
        if stats.replaced + stats.removed > 0 {
            publisher.publish(
                "tgw.routes",
                json!({ "table": table.name, "routes": wanted.len(), "changed": stats.replaced, "removed": stats.removed }),
            );
        }
        // Each Connect attachment hears its table's routes but its own (crate::export_policy).
        for att in table
            .associations
            .iter()
            .filter(|a| tgw.attachment_kind(a) == Some(AttachmentKind::Connect))
        {
            let share = shares.entry(att.clone()).or_default();
            for s in &selections {
                if !s.blackhole && !s.paths.iter().any(|c| &c.attachment == att) {
                    share.insert(Prefix::from(s.prefix));
                    to_connect.entry(s.prefix).or_insert_with(|| path_of(s));
                }
            }
        }
        // Each VPN attachment hears its table's routes but its own (crate::export_policy).
        for att in table
            .associations
            .iter()
            .filter(|a| tgw.attachment_kind(a) == Some(AttachmentKind::Vpn))
        {
            let share = vpn_shares.entry(att.clone()).or_default();
            // VPN attachments carry IPv4 only.
            for s in selections.iter().filter(|s| s.prefix.addr().is_ipv4()) {
                if !s.blackhole && !s.paths.iter().any(|c| &c.attachment == att) {
                    share.insert(Prefix::from(s.prefix));
                    to_vpn.entry(s.prefix).or_insert_with(|| path_of(s));
                }
            }
        }
        if table
            .associations
            .iter()
            .any(|a| tgw.attachment_kind(a) == Some(AttachmentKind::DxGateway))
        {
            // The backbone session carries IPv4 only.
            for s in selections.iter().filter(|s| s.prefix.addr().is_ipv4()) {
                if !s.blackhole && s.kind != routing::tgw::TgwRouteKind::DxGateway {
                    to_dx.insert(s.prefix, path_of(s));
                }
            }
        }
        st.selections.insert(table.name.clone(), selections);
    }
    let st = &mut *st;
    if let Some(sp) = &vpn.dx {
        sync_originated(&[sp], &mut st.originated_dx, to_dx).await;
    }
    // Each VPN speaker (several only when attachments share an inside /30) gets the whole
    // share map: its policy knows which of its neighbors hears what. The last one takes it.
    let mut left = vpn.speakers.len();
    let mut both = Some((vpn_shares, to_vpn));
    for ((sp, policy), originated) in vpn
        .speakers
        .iter()
        .zip(&shared.vpn_shares)
        .zip(st.originated_vpn.iter_mut())
    {
        left -= 1;
        let (shares, wanted) = if left == 0 {
            both.take().expect("taken by the last speaker only")
        } else {
            both.clone().expect("kept until the last speaker")
        };
        sync_shared(&[sp], policy, shares, originated, wanted).await;
    }
    let connect: Vec<&Arc<Speaker>> = speakers.iter().collect();
    sync_shared(
        &connect,
        &shared.connect_shares,
        shares,
        &mut st.originated,
        to_connect,
    )
    .await;
}

fn bad(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, message)
}

fn selection_view(s: &Selection) -> Value {
    json!({
        "prefix": s.prefix.to_string(),
        "kind": s.kind,
        "blackhole": s.blackhole,
        "decided_by": s.decided_by,
        "next_hops": s.paths.len(),
        "paths": s.paths.iter().map(|c| json!({
            "attachment": c.attachment,
            "via": c.via,
            "next_hop": c.next_hop.map(|a| a.to_string()),
            "as_path": c.as_path,
            "med": c.med,
            "ebgp": c.ebgp,
        })).collect::<Vec<_>>(),
        "hidden": s.hidden.iter().map(|c| json!({
            "attachment": c.attachment,
            "via": c.via,
            "kind": c.kind,
        })).collect::<Vec<_>>(),
    })
}

/// The `tgw` view: the gateway as DescribeTransitGateways describes it (ASN, CIDR block,
/// options) and its route tables with their associations and propagations.
fn tgw_view(sh: &Shared) -> Value {
    let t = &sh.config.tgw;
    json!({
        "name": t.name,
        "asn": t.asn,
        "cidr_block": t.cidr_block.to_string(),
        "vpn_ecmp": t.vpn_ecmp,
        "default_association": t.default_association,
        "default_propagation": t.default_propagation,
        "route_tables": sh.tables().iter().map(|r| json!({
            "name": r.name,
            "id": r.id,
            "associations": r.associations,
            "propagations": r.propagations,
        })).collect::<Vec<_>>(),
    })
}

fn register(
    builder: ServerBuilder,
    shared: &Arc<Shared>,
    speakers: &[Arc<Speaker>],
    devices: &Arc<Vec<GreDevice>>,
    vpn: &VpnParts,
) -> ServerBuilder {
    let sh = shared.clone();
    let builder = builder.show("tgw", move |_p: ShowParams| {
        let sh = sh.clone();
        async move { Ok(tgw_view(&sh)) }
    });
    let v = vpn.clone();
    let builder = builder.show("tunnels", move |_p: ShowParams| {
        let v = v.clone();
        async move {
            Ok(match &v.tunnels {
                Some(t) => {
                    let mut neighbors = Vec::new();
                    for sp in &v.speakers {
                        neighbors.extend(sp.neighbors().await.unwrap_or_default());
                    }
                    t.show_with(neighbors).await
                }
                None => json!({}),
            })
        }
    });
    let v = vpn.clone();
    let builder = builder.action("rekey", move |p: control::ActionParams| {
        let v = v.clone();
        async move {
            match &v.tunnels {
                Some(t) => gateway::bundle::rekey_action(t, &p).await,
                None => Err(bad("this transit gateway has no VPN tunnel")),
            }
        }
    });
    // Route-table changes at run time: applied, then the tables re-evaluated before the
    // answer, so a `show routes` right after it sees the change (AWS's route is "active").
    let mut builder = builder;
    for action in crate::route_changes::ACTIONS {
        let (sh, sps, v, publisher) = (
            shared.clone(),
            speakers.to_vec(),
            vpn.clone(),
            builder.publisher(),
        );
        builder = builder.action(action, move |p: control::ActionParams| {
            let (sh, sps, v, publisher) = (sh.clone(), sps.clone(), v.clone(), publisher.clone());
            async move {
                let change = crate::route_changes::RouteChange::from_action(&p.kind, &p.args)
                    .map_err(bad)?;
                let done = {
                    let mut tables = sh.tables.lock().unwrap_or_else(|e| e.into_inner());
                    crate::route_changes::apply(&sh.config.tgw, &mut tables, &change)
                        .map_err(bad)?
                };
                info!(%done, "route table changed");
                publisher.publish("tgw.route_table", json!({ "change": done }));
                recompute(&sh, &sps, &v, &publisher).await;
                Ok(json!({ "changed": done }))
            }
        });
    }
    let sh = shared.clone();
    let builder = builder.show("routes", move |_p: ShowParams| {
        let sh = sh.clone();
        async move {
            let st = sh.state.lock().await;
            let mut tables = serde_json::Map::new();
            for t in &sh.tables() {
                let sel = st.selections.get(&t.name).cloned().unwrap_or_default();
                tables.insert(
                    t.name.clone(),
                    json!({
                        "id": t.id,
                        "routes": sel.iter().map(selection_view).collect::<Vec<_>>(),
                    }),
                );
            }
            Ok(json!({ "tables": tables }))
        }
    });
    let sh = shared.clone();
    let builder = builder.show("attachments", move |_p: ShowParams| {
        let sh = sh.clone();
        async move {
            let tgw = &sh.config.tgw;
            let list: Vec<Value> = tgw
                .attachments()
                .into_iter()
                .map(|(name, kind)| {
                    let tables = sh.tables();
                    let association = tables
                        .iter()
                        .find(|t| t.associations.contains(&name))
                        .map(|t| t.name.clone());
                    let propagations: Vec<String> = tables
                        .iter()
                        .filter(|t| t.propagations.contains(&name))
                        .map(|t| t.name.clone())
                        .collect();
                    let mut v = json!({
                        "name": name,
                        "type": kind,
                        "association": association,
                        "propagations": propagations,
                        "mtu": crate::config::TGW_MTU,
                    });
                    if kind == AttachmentKind::Connect
                        && let Some(c) = tgw.connects.iter().find(|c| c.name == name)
                    {
                        v["transport"] = json!(c.transport);
                        v["peers"] =
                            json!(c.peers.iter().map(|p| p.name.clone()).collect::<Vec<_>>());
                    }
                    if let Some(r) = sh.config.vpcs.iter().find(|r| r.attachment == name) {
                        v["vpc_cidrs"] =
                            json!(r.cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>());
                        v["interface"] = json!(r.ifname);
                        v["ipv6_support"] = json!(r.ipv6.is_some());
                        if let Some(x) = &r.ipv6 {
                            v["vpc_ipv6_cidrs"] =
                                json!(x.cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>());
                        }
                    }
                    v
                })
                .collect();
            Ok(json!({ "attachments": list }))
        }
    });
    let (sh, sps, devs) = (shared.clone(), speakers.to_vec(), devices.clone());
    let builder = builder.show("connect", move |_p: ShowParams| {
        let (sh, sps, devs) = (sh.clone(), sps.clone(), devs.clone());
        async move {
            let mut neighbors = Vec::new();
            for sp in &sps {
                neighbors.extend(sp.neighbors().await.map_err(|e| bad(e.to_string()))?);
            }
            // The main-table routes of the peers over Direct Connect (crate::transport).
            let over_dx = sh
                .state
                .lock()
                .await
                .transport
                .as_ref()
                .map(|f| f.installed().clone())
                .unwrap_or_default();
            let mut out = serde_json::Map::new();
            for p in &sh.peers {
                let transport = sh
                    .config
                    .tgw
                    .connects
                    .iter()
                    .find(|c| c.name == p.attachment)
                    .map(|c| c.transport.clone())
                    .unwrap_or_default();
                let dx = sh.config.tgw.attachment_kind(&transport) == Some(AttachmentKind::DxGateway);
                let sessions: Vec<Value> = p
                    .speakers
                    .iter()
                    .map(|s| {
                        let n = neighbors
                            .iter()
                            .find(|n| n.name == neighbor_name(&p.name, *s));
                        json!({
                            "tgw_address": s.to_string(),
                            "appliance_address": p.appliance.to_string(),
                            "state": n.map(|n| n.state),
                            "received": n.map(|n| n.ipv4.received),
                            "established_count": n.map(|n| n.established_count),
                            "last_down": n.and_then(|n| n.last_down.clone()),
                            "last_connect_error": n.and_then(|n| n.last_connect_error.clone()),
                        })
                    })
                    .collect();
                let established = sessions
                    .iter()
                    .filter(|s| s["state"] == json!("Established"))
                    .count();
                let gre = devs
                    .iter()
                    .find(|d| d.config().name == gre_ifname(&p.name))
                    .and_then(|d| serde_json::to_value(d.counters()).ok());
                let entry = out.entry(p.attachment.clone()).or_insert_with(|| json!({}));
                entry[&p.name] = json!({
                    "inside_cidr": p.inside.to_string(),
                    "inside_cidr_v6": p.inside_v6.map(|(c, _, _)| c.to_string()),
                    "tgw_gre_address": p.tgw_address.to_string(),
                    "peer_address": p.peer_address.to_string(),
                    "peer_asn": p.peer_asn,
                    "bgp": if p.peer_asn == sh.config.tgw.asn { "ibgp" } else { "ebgp" },
                    "sessions": sessions,
                    "established": established,
                    "interface": gre_ifname(&p.name),
                    "gre": gre,
                    "transport": transport,
                    // Over Direct Connect: the DX-learned prefix that carries our GRE to the
                    // appliance (null: none yet, so the peer cannot come up).
                    "transport_route": if dx {
                        json!(crate::transport::route_to(&over_dx, p.peer_address).map(|n| n.to_string()))
                    } else {
                        Value::Null
                    },
                });
            }
            Ok(Value::Object(out))
        }
    });
    let sps = speakers.to_vec();
    builder.show("bgp", move |_p: ShowParams| {
        let sps = sps.clone();
        async move {
            let mut out = Vec::new();
            for sp in &sps {
                out.push(
                    serde_json::to_value(sp.summary().await.map_err(|e| bad(e.to_string()))?)
                        .unwrap_or(Value::Null),
                );
            }
            Ok(json!({ "speakers": out }))
        }
    })
}

impl gateway::daemon::Daemon for Tgw {
    type Config = TgwConfig;

    fn parse_config(text: &str) -> Result<TgwConfig, String> {
        TgwConfig::from_toml(text)
    }

    async fn start(
        config: TgwConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Tgw, GatewayError> {
        Tgw::start(config, control).await
    }

    async fn shutdown(self) {
        Tgw::shutdown(self).await
    }
}
