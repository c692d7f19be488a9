//! The virtual private gateway daemon: every tunnel of every VPN connection, one BGP speaker
//! with a session per tunnel, AWS's route selection, CloudHub, and the VPC route table
//! (`aws-behaviour.md` §1-3).
//!
//! ```text
//!  customer gateways                     VGW namespace                         VPC namespace
//!  ---- tunnel vpn1-t1 (TUN, ESP) ---->  BGP speaker (one session/tunnel)
//!  ---- tunnel vpn1-t2 -------------->     | every received path + static
//!  ---- tunnel vpn2-t1 ... ---------->     v  routes of tunnels that are up
//!                                       routing::vgw::select (§2, seeded
//!                                        preferred tunnel among equals)
//!                                          |                 \
//!                           kernel table of this namespace   routing::vpc::RouteTable
//!                           (one route per prefix, via the    (local, static, propagated)
//!                            chosen tunnel's peer)            -> kernel table of the VPC router
//! ```
//!
//! Underlay and overlay never mix (`gateway::underlay`): the tunnels' IKE and ESP, bound to the
//! outside addresses, resolve in the underlay table (rule `from <outside> lookup 200`, its
//! default via the internet router); the main table carries only what the VGW knows (the VPC
//! CIDRs, the selected BGP and static routes, connected subnets) and no default to the
//! internet, so a customer gateway announcing `0.0.0.0/0` becomes the VPC's default through
//! the tunnel and takes no tunnel down, and its withdrawal leaves the VGW as it was. Routes
//! are written by `gateway::fib`, which never replaces a route it did not install.
//!
//! - Every session announces the VPC CIDRs; CloudHub falls out of eBGP: what one customer
//!   gateway announces is re-advertised to the others, and spokes sharing an ASN drop each
//!   other's routes by AS_PATH loop detection \[V12\].
//! - A customer gateway may announce 100 prefixes per session; the 101st ends the session with
//!   Cease/Maximum Number of Prefixes Reached (6/1) and it goes Idle \[V7\]. (Inferred: AWS
//!   accepts the session again after a while; here after the profile's `max_prefix_restart`,
//!   [`crate::timers`]: 30 s, 5 s in the `fast` profile.)
//! - Graceful restart is not offered (inferred: AWS documents none for VGWs), so a lost session
//!   withdraws its routes at once.
//! - Static routes of a static VPN are candidates only while their tunnel is up; they are also
//!   announced to BGP spokes while the connection has a tunnel up (inferred, §3).
//!
//! - Direct Connect: DX location routers (`dxgw`) reach the VGW over backbone links, one iBGP
//!   session each (`direct_connect` in the file); their paths are `VgwRouteKind::DirectConnect`
//!   candidates, so a DX route beats a VPN route for the identical prefix whatever the AS_PATH
//!   and a more specific VPN prefix still wins (`routing::vgw`, \[P2\]).
//!
//! What it does not do: the DX side (the `dxgw` package), IPv6 (a VGW carries IPv4 only \[V8\]).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use bgp::driver::{NeighborConfig, NetworkConfig, Speaker, SpeakerConfig};
use bgp::rib::{DefaultPolicy, MaxPrefix};
use bgp::wire::{Family, PathAttrs, Prefix};
use control::protocol::ErrorCode;
use control::{ActionParams, ErrorBody, ServerBuilder, ShowParams};
use ipnet::{IpNet, Ipv4Net};
use routing::vgw::{Candidate, Selection, TunnelPreference, VgwRouteKind};
use routing::vpc::{PropagatedFrom, RouteTable, VpcTarget};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify};
use tracing::{info, warn};

use gateway::bundle::{self, Endpoints, GatewayError, Tunnels};
use gateway::fib::{KernelRoutes, Target};
use gateway::tunnel::TunnelSpec;
use gateway::underlay::Underlay;

use crate::config::{
    ConfigError, DxPeer, MAX_CUSTOMER_PREFIXES, MAX_PREFIXES_TO_CUSTOMER, Routing, VgwConfig,
    inside_addresses,
};
use crate::replacement::{self, Replacement, Replacements};
use crate::timers::{self, VpnTimers};
use crate::tunnel_options::TunnelOptions;

/// Kernel protocol number of the routes the VGW installs: the gateways' own
/// ([`gateway::fib::PROTO_GATEWAY`]), the gateway's decisions rather than a BGP daemon's.
const PROTO_VGW: u8 = gateway::fib::PROTO_GATEWAY;

/// A running VGW.
#[derive(Debug)]
pub struct Vgw {
    shared: Arc<Shared>,
    speaker: Option<Arc<Speaker>>,
    tunnels: Arc<Tunnels>,
    reconciler: tokio::task::JoinHandle<()>,
    _control: Option<control::Server>,
}

#[derive(Debug)]
struct Shared {
    config: VgwConfig,
    preference: TunnelPreference,
    underlay: Option<Underlay>,
    /// Tunnels whose endpoint is being replaced (`crate::replacement`).
    replacing: Arc<Replacements>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    fib: KernelRoutes,
    vpc_fib: Option<KernelRoutes>,
    selections: Vec<Selection>,
    vpc_table: RouteTable,
    originated: BTreeSet<Ipv4Net>,
    /// Static routes per static connection: the configured ones, changed at run time by the
    /// `add_static_route` / `delete_static_route` actions (AWS's CreateVpnConnectionRoute and
    /// DeleteVpnConnectionRoute \[V8\]).
    static_routes: BTreeMap<String, BTreeSet<Ipv4Net>>,
    /// Tunnel options changed at run time by `modify_tunnel_options` (AWS's
    /// ModifyVpnTunnelOptions), by tunnel name; the others run with the configured ones.
    modified_options: BTreeMap<String, TunnelOptions>,
}

/// Tunnel name of connection `c`'s tunnel `t` (1-based, as AWS numbers them).
pub fn tunnel_name(connection: &str, t: usize) -> String {
    format!("{connection}-t{}", t + 1)
}

fn vpc_target(id: &str, vgw: &str) -> VpcTarget {
    if id == "vgw" {
        return VpcTarget::VirtualPrivateGateway(vgw.into());
    }
    let id = id.to_string();
    match id.split('-').next() {
        Some("igw") => VpcTarget::InternetGateway(id),
        Some("nat") => VpcTarget::NatGateway(id),
        Some("tgw") => VpcTarget::TransitGateway(id),
        Some("pcx") => VpcTarget::PeeringConnection(id),
        _ => VpcTarget::NetworkInterface(id),
    }
}

impl Vgw {
    /// Starts the VGW in the current network namespace: tunnels, BGP, route programming and
    /// (with `control`) the control socket.
    pub async fn start(
        config: VgwConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Vgw, GatewayError> {
        config.validate()?;
        let builder = ServerBuilder::new(&config.name);
        let publisher = builder.publisher();
        let changed = Arc::new(Notify::new());
        let netlink = netns::Netlink::open_current().map_err(GatewayError::netns("netlink"))?;

        let mut specs = Vec::new();
        for (ci, c) in config.connections.iter().enumerate() {
            for (i, t) in c.tunnels.iter().enumerate() {
                let (aws, customer) = inside_addresses(t.inside_cidr);
                let name = tunnel_name(&c.name, i);
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
                        ConfigError::new(
                            format!("connection[{ci}].tunnel[{i}].options"),
                            e.to_string(),
                        )
                    })?;
                specs.push((
                    c.routing,
                    c.customer_asn,
                    TunnelSpec {
                        ifname: bundle::ifname(&c.name, ci, i),
                        inside_cidr: t.inside_cidr,
                        local_inside: aws,
                        remote_inside: customer,
                        ipsec,
                    },
                ));
            }
        }
        // Before the tunnels' sockets exist, so their first packets already take it.
        // A VGW with Direct Connect only has no tunnel, so no outside address and no underlay.
        let outside: Vec<Ipv4Addr> = config
            .connections
            .iter()
            .flat_map(|c| c.tunnels.iter().map(|t| t.outside_ip))
            .collect();
        let underlay = match config.underlay_gateway {
            Some(gw) if !outside.is_empty() => {
                Some(Underlay::install(&netlink, &outside, gw).await?)
            }
            _ => None,
        };
        let tunnels = Arc::new(
            Tunnels::start(
                specs.iter().map(|(_, _, s)| s.clone()).collect(),
                // Each AWS tunnel endpoint is its own host.
                Endpoints::OnePerTunnel,
                &netlink,
                publisher.clone(),
                changed.clone(),
            )
            .await?,
        );

        let dynamic: Vec<&(Routing, Option<u32>, TunnelSpec)> = specs
            .iter()
            .filter(|(r, _, _)| *r == Routing::Dynamic)
            .collect();
        let router_id = config
            .router_id
            .or_else(|| specs.first().map(|(_, _, s)| s.local_inside))
            .unwrap_or(Ipv4Addr::new(169, 254, 255, 1));
        let speaker = if dynamic.is_empty() && config.direct_connect.is_empty() {
            None
        } else {
            let mut sc = SpeakerConfig::new(config.amazon_side_asn, router_id);
            sc.timers = timers::of(config.profile).bgp;
            sc.networks = config
                .vpc_cidrs
                .iter()
                .map(|c| NetworkConfig {
                    prefix: Prefix::from(*c),
                    med: None,
                    communities: Vec::new(),
                })
                .collect();
            for (_, asn, spec) in &dynamic {
                sc.neighbors.push(vgw_neighbor(
                    spec,
                    asn.expect("validated"),
                    timers::of(config.profile),
                ));
            }
            for d in &config.direct_connect {
                sc.neighbors.push(dx_neighbor(d, config.amazon_side_asn));
            }
            let speaker = Speaker::start(sc, Box::new(DefaultPolicy))
                .await
                .map_err(|e| GatewayError::Bgp(e.to_string()))?;
            Some(Arc::new(speaker))
        };
        if let Some(sp) = &speaker {
            bundle::bridge_bgp_events(sp, publisher.clone(), changed.clone());
        }

        let vpc_fib = match &config.vpc {
            Some(vpc) => {
                let ns = netns::Netns::open_path(&vpc.netns)
                    .map_err(GatewayError::netns("opening the VPC namespace"))?;
                let nl = netns::Netlink::open(&ns)
                    .map_err(GatewayError::netns("netlink in the VPC namespace"))?;
                Some(KernelRoutes::new(nl, vpc.table, PROTO_VGW))
            }
            None => None,
        };
        let mut vpc_table = RouteTable::new(config.vpc_cidrs.iter().map(|c| IpNet::V4(*c)));
        if let Some(vpc) = &config.vpc {
            for r in &vpc.static_routes {
                vpc_table
                    .add_static(
                        IpNet::V4(r.destination),
                        vpc_target(&r.target, &config.name),
                    )
                    .map_err(|e| {
                        GatewayError::Config(ConfigError {
                            item: "vpc.static_route".into(),
                            message: e.to_string(),
                        })
                    })?;
            }
        }
        let static_routes = config
            .connections
            .iter()
            .filter(|c| c.routing == Routing::Static)
            .map(|c| (c.name.clone(), c.static_routes.iter().copied().collect()))
            .collect();
        let shared = Arc::new(Shared {
            preference: TunnelPreference::new(config.seed),
            replacing: Arc::default(),
            underlay,
            config,
            state: Mutex::new(State {
                fib: KernelRoutes::new(netlink, netns::route::TABLE_MAIN, PROTO_VGW),
                vpc_fib,
                selections: Vec::new(),
                vpc_table,
                originated: BTreeSet::new(),
                static_routes,
                modified_options: BTreeMap::new(),
            }),
        });

        let control = match control {
            Some(path) => Some(
                register(builder, &shared, &speaker, &tunnels, &changed)
                    .bind(path)
                    .await
                    .map_err(|e| GatewayError::Control(e.to_string()))?,
            ),
            None => None,
        };

        let reconciler = {
            let (shared, speaker, tunnels) = (shared.clone(), speaker.clone(), tunnels.clone());
            tokio::spawn(async move {
                loop {
                    reconcile(&shared, speaker.as_deref(), &tunnels, &publisher).await;
                    // Every change notifies; the periodic pass only repairs what a lost
                    // notification or a refused netlink request left behind.
                    let _ = tokio::time::timeout(Duration::from_secs(2), changed.notified()).await;
                }
            })
        };
        info!(name = %shared.config.name, tunnels = tunnels.len(), "vgw running");
        Ok(Vgw {
            shared,
            speaker,
            tunnels,
            reconciler,
            _control: control,
        })
    }

    /// The BGP speaker (absent when every connection is static).
    pub fn speaker(&self) -> Option<&Arc<Speaker>> {
        self.speaker.as_ref()
    }

    /// The current selection, one entry per prefix.
    pub async fn selections(&self) -> Vec<Selection> {
        self.shared.state.lock().await.selections.clone()
    }

    /// Stops: sessions get Cease, tunnels DELETE, routes this VGW installed are removed.
    pub async fn shutdown(self) {
        self.reconciler.abort();
        let _ = self.reconciler.await;
        if let Some(sp) = &self.speaker {
            sp.shutdown().await;
        }
        if let Ok(t) = Arc::try_unwrap(self.tunnels) {
            t.close().await;
        }
        let mut st = self.shared.state.lock().await;
        st.fib.clear().await;
        if let Some(v) = st.vpc_fib.as_mut() {
            v.clear().await;
        }
        if let Some(u) = &self.shared.underlay {
            u.remove().await;
        }
    }
}

fn vgw_neighbor(spec: &TunnelSpec, asn: u32, timers: &VpnTimers) -> NeighborConfig {
    let mut n = NeighborConfig::new(spec.remote_inside.into(), asn);
    n.name = Some(spec.name().to_string());
    n.local_address = Some(spec.local_inside.into());
    // Each tunnel endpoint is its own host on AWS, with its own BGP identifier: the tunnel's
    // inside address (what AWS's tunnels show as the peer's router ID).
    n.router_id = Some(spec.local_inside);
    n.families = vec![Family::Ipv4Unicast];
    n.graceful_restart_time = 0;
    n.max_advertise = Some(MAX_PREFIXES_TO_CUSTOMER);
    n.max_prefix = Some(MaxPrefix {
        limit: MAX_CUSTOMER_PREFIXES,
        restart_after: Some(timers.max_prefix_restart),
        warning_only: false,
    });
    n
}

/// The backbone session to a DX location router: iBGP in the VGW's own ASN, IPv4 only, no
/// graceful restart (the DX router runs BFD towards the customer; its loss must withdraw at
/// once). No prefix limit here: the DX router enforces AWS's 100 per VIF \[D3\].
fn dx_neighbor(d: &DxPeer, asn: u32) -> NeighborConfig {
    let mut n = NeighborConfig::new(d.address.into(), asn);
    n.name = Some(d.name.clone());
    n.local_address = Some(d.local_address.into());
    n.families = vec![Family::Ipv4Unicast];
    n.graceful_restart_time = 0;
    // The DX router reaches what the VGW announces through the VGW (a VPN-learned route's own
    // next hop, a tunnel's inside address, is unreachable from there).
    n.next_hop_self = true;
    n
}

/// Recomputes everything from the current tunnel states and BGP paths and programs the kernel.
async fn reconcile(
    shared: &Shared,
    speaker: Option<&Speaker>,
    tunnels: &Tunnels,
    publisher: &control::server::EventPublisher,
) {
    let config = &shared.config;
    if let Some(u) = &shared.underlay {
        u.repair().await;
    }
    let up: BTreeMap<String, bool> = tunnels.states();
    let mut candidates = Vec::new();
    if let Some(sp) = speaker {
        match sp.routes(Family::Ipv4Unicast, 100_000).await {
            Ok(views) => {
                for v in views {
                    let Some(prefix) = v.prefix.to_ipv4_net() else {
                        continue;
                    };
                    for p in v.paths.iter().filter(|p| !p.filtered && p.peer != "local") {
                        let dx = config.direct_connect.iter().any(|d| d.name == p.peer);
                        if !dx && up.get(&p.peer) != Some(&true) {
                            continue;
                        }
                        candidates.push(Candidate {
                            prefix,
                            kind: if dx {
                                VgwRouteKind::DirectConnect
                            } else {
                                VgwRouteKind::VpnBgp
                            },
                            via: p.peer.clone(),
                            as_path_len: p.as_path_len,
                            first_as: p.first_as,
                            med: p.med.unwrap_or(0),
                        });
                    }
                }
            }
            Err(e) => warn!(error = %e, "reading BGP routes"),
        }
        #[cfg(feature = "planted-bug-keep-routes")]
        crate::planted_bug::keep_routes(sp, &mut candidates).await;
    }
    let mut statics_up = BTreeSet::new();
    let static_routes = shared.state.lock().await.static_routes.clone();
    for c in config
        .connections
        .iter()
        .filter(|c| c.routing == Routing::Static)
    {
        let prefixes = static_routes.get(&c.name).cloned().unwrap_or_default();
        for i in 0..c.tunnels.len() {
            let name = tunnel_name(&c.name, i);
            if up.get(&name) != Some(&true) {
                continue;
            }
            for prefix in &prefixes {
                statics_up.insert(*prefix);
                candidates.push(Candidate {
                    prefix: *prefix,
                    kind: VgwRouteKind::VpnStatic,
                    via: name.clone(),
                    as_path_len: 0,
                    first_as: None,
                    med: 0,
                });
            }
        }
    }
    // A tunnel being replaced carries nothing another tunnel can carry (AWS moves traffic off
    // it first: `crate::replacement`).
    let replacing = shared.replacing.names();
    if !replacing.is_empty() {
        let elsewhere: BTreeSet<Ipv4Net> = candidates
            .iter()
            .filter(|c| !replacing.contains(&c.via))
            .map(|c| c.prefix)
            .collect();
        candidates.retain(|c| !replacing.contains(&c.via) || !elsewhere.contains(&c.prefix));
    }
    let selections = routing::vgw::select(&candidates, shared.preference);

    let mut wanted = BTreeMap::new();
    for s in &selections {
        if let Some(spec) = tunnels.spec(&s.best.via) {
            wanted.insert(
                s.prefix,
                Target::Via(vec![(spec.remote_inside.into(), Some(spec.ifname.clone()))]),
            );
        } else if let Some(d) = config.direct_connect.iter().find(|d| d.name == s.best.via) {
            wanted.insert(s.prefix, Target::Via(vec![(d.address.into(), None)]));
        }
    }
    if let Some(vpc) = &config.vpc {
        for c in &config.vpc_cidrs {
            wanted.insert(*c, Target::Via(vec![(vpc.router_address.into(), None)]));
        }
    }

    let mut st = shared.state.lock().await;
    let stats = st.fib.sync(&wanted).await;
    if stats.replaced + stats.removed > 0 {
        publisher.publish(
            "vgw.routes",
            json!({
                "installed": st.fib.installed().len(),
                "replaced": stats.replaced,
                "removed": stats.removed,
                "failed": stats.failed,
                "held": stats.held,
                "routes": selections.iter().map(|s| json!({
                    "prefix": s.prefix.to_string(),
                    "via": s.best.via,
                    "kind": s.best.kind,
                    "decided_by": s.decided_by,
                })).collect::<Vec<_>>(),
            }),
        );
    }

    // The VPC route table [P1, V8].
    if let Some(vpc) = &config.vpc {
        let propagated: Vec<(IpNet, PropagatedFrom)> = if vpc.propagation {
            selections
                .iter()
                .map(|s| {
                    (
                        IpNet::V4(s.prefix),
                        match s.best.kind {
                            VgwRouteKind::VpnStatic => PropagatedFrom::VpnStatic,
                            VgwRouteKind::VpnBgp => PropagatedFrom::VpnBgp,
                            VgwRouteKind::DirectConnect => PropagatedFrom::DirectConnect,
                        },
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        st.vpc_table.set_propagated(&config.name, propagated);
        let mut vpc_wanted = BTreeMap::new();
        for r in st.vpc_table.effective() {
            let IpNet::V4(dst) = r.destination else {
                continue;
            };
            let target = match &r.target {
                VpcTarget::Local => continue,
                VpcTarget::VirtualPrivateGateway(_) => {
                    Target::Via(vec![(vpc.vgw_address.into(), None)])
                }
                _ => {
                    let via = vpc
                        .static_routes
                        .iter()
                        .find(|s| s.destination == dst)
                        .and_then(|s| s.via);
                    match via {
                        Some(v) => Target::Via(vec![(v.into(), None)]),
                        None => Target::Blackhole,
                    }
                }
            };
            vpc_wanted.insert(dst, target);
        }
        if let Some(vfib) = st.vpc_fib.as_mut() {
            let stats = vfib.sync(&vpc_wanted).await;
            if stats.replaced + stats.removed > 0 {
                publisher.publish(
                    "vpc.routes",
                    json!({ "installed": vfib.installed().len(), "replaced": stats.replaced, "removed": stats.removed }),
                );
            }
        }
    }

    // Static prefixes are announced to BGP spokes while their connection has a tunnel up.
    if let Some(sp) = speaker {
        let add: Vec<Ipv4Net> = statics_up.difference(&st.originated).copied().collect();
        let del: Vec<Ipv4Net> = st.originated.difference(&statics_up).copied().collect();
        for p in add {
            if sp
                .originate(Prefix::from(p), PathAttrs::default())
                .await
                .is_ok()
            {
                st.originated.insert(p);
            }
        }
        for p in del {
            if sp.withdraw(Prefix::from(p)).await.is_ok() {
                st.originated.remove(&p);
            }
        }
    }
    st.selections = selections;
}

fn bad(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, message)
}

fn register(
    builder: ServerBuilder,
    shared: &Arc<Shared>,
    speaker: &Option<Arc<Speaker>>,
    tunnels: &Arc<Tunnels>,
    changed: &Arc<Notify>,
) -> ServerBuilder {
    let s1 = shared.clone();
    let t1 = tunnels.clone();
    let sp1 = speaker.clone();
    let builder = builder.show("routes", move |_p: ShowParams| {
        let (shared, tunnels) = (s1.clone(), t1.clone());
        async move {
            let st = shared.state.lock().await;
            Ok(json!({
                "seed": shared.preference.seed(),
                "preferred_tunnels": tunnels.preference_order(shared.preference),
                "selected": st.selections.iter().map(|s| json!({
                    "prefix": s.prefix.to_string(),
                    "via": s.best.via,
                    "kind": s.best.kind,
                    "as_path_len": s.best.as_path_len,
                    "med": s.best.med,
                    "decided_by": s.decided_by,
                    "backups": s.backups.iter().map(|b| &b.via).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "static_routes": st.static_routes.iter().map(|(c, ps)| (c.clone(), ps.iter().map(|p| p.to_string()).collect::<Vec<_>>())).collect::<BTreeMap<_, _>>(),
                "kernel": st.fib.installed().iter().map(|(p, t)| json!({"prefix": p.to_string(), "target": t})).collect::<Vec<_>>(),
                "held_by_others": st.fib.held().iter().map(ToString::to_string).collect::<Vec<_>>(),
            }))
        }
    });
    let s5 = shared.clone();
    let builder = builder.show("underlay", move |_p: ShowParams| {
        let shared = s5.clone();
        async move {
            Ok(match &shared.underlay {
                Some(u) => u.show(),
                None => {
                    json!({"note": "no underlay_gateway: the tunnels resolve in the main table"})
                }
            })
        }
    });
    let s2 = shared.clone();
    let builder = builder.show("vpc", move |_p: ShowParams| {
        let shared = s2.clone();
        async move {
            let st = shared.state.lock().await;
            Ok(json!({
                "propagation": shared.config.vpc.as_ref().map(|v| v.propagation),
                "routes": st.vpc_table.status(),
            }))
        }
    });
    let s9 = shared.clone();
    let builder = builder.show("connections", move |_p: ShowParams| {
        let shared = s9.clone();
        async move { Ok(connections_view(&shared).await) }
    });
    let t2 = tunnels.clone();
    let sp2 = speaker.clone();
    let builder = builder.show("tunnels", move |_p: ShowParams| {
        let (tunnels, speaker) = (t2.clone(), sp2.clone());
        async move { Ok(tunnels.show(speaker.as_deref()).await) }
    });
    let builder = builder.show("bgp", move |_p: ShowParams| {
        let speaker = sp1.clone();
        async move {
            match speaker {
                Some(sp) => sp
                    .summary()
                    .await
                    .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
                    .map_err(|e| bad(e.to_string())),
                None => Ok(json!({"note": "every connection uses static routing: no BGP"})),
            }
        }
    });
    let t3 = tunnels.clone();
    let builder = builder.action("rekey", move |p: ActionParams| {
        let tunnels = t3.clone();
        async move { bundle::rekey_action(&tunnels, &p).await }
    });
    let (s3, c3) = (shared.clone(), changed.clone());
    let builder = builder.action("add_static_route", move |p: ActionParams| {
        let (shared, changed) = (s3.clone(), c3.clone());
        async move { static_route_action(&shared, &changed, &p, true).await }
    });
    let (s4, c4) = (shared.clone(), changed.clone());
    let builder = builder.action("delete_static_route", move |p: ActionParams| {
        let (shared, changed) = (s4.clone(), c4.clone());
        async move { static_route_action(&shared, &changed, &p, false).await }
    });
    let (s7, t7, sp7, c7) = (
        shared.clone(),
        tunnels.clone(),
        speaker.clone(),
        changed.clone(),
    );
    let events = builder.publisher();
    let builder = builder.action("replace_tunnel", move |p: ActionParams| {
        let (shared, tunnels, speaker, changed, events) = (
            s7.clone(),
            t7.clone(),
            sp7.clone(),
            c7.clone(),
            events.clone(),
        );
        async move { replace_tunnel_action(&shared, tunnels, speaker, changed, events, &p) }
    });
    let (s8, t8) = (shared.clone(), tunnels.clone());
    let builder = builder.action("modify_tunnel_options", move |p: ActionParams| {
        let (shared, tunnels) = (s8.clone(), t8.clone());
        async move { modify_tunnel_options_action(&shared, &tunnels, &p).await }
    });
    let s6 = shared.clone();
    builder.action("customer_keys", move |p: ActionParams| {
        let shared = s6.clone();
        async move { customer_keys_action(&shared, &p) }
    })
}

/// The `connections` view: each VPN connection as AWS describes it (routing, the customer's
/// ASN, the static routes it has now, each tunnel's outside and inside addresses), for
/// `hybridlab show` and the EC2 API's DescribeVpnConnections. No key appears.
async fn connections_view(shared: &Shared) -> Value {
    let st = shared.state.lock().await;
    let c = &shared.config;
    json!({
        "amazon_side_asn": c.amazon_side_asn,
        "connections": c.connections.iter().map(|conn| json!({
            "name": conn.name,
            "routing": conn.routing,
            "customer_asn": conn.customer_asn,
            "static_routes": st
                .static_routes
                .get(&conn.name)
                .map(|ps| ps.iter().map(ToString::to_string).collect::<Vec<_>>())
                .unwrap_or_default(),
            "tunnels": conn.tunnels.iter().enumerate().map(|(i, t)| json!({
                "name": tunnel_name(&conn.name, i),
                "outside_ip": t.outside_ip,
                "customer_ip": t.customer_ip,
                "inside_cidr": t.inside_cidr.to_string(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// `replace_tunnel` `{"tunnel": "vpn1-t1"}`: AWS's tunnel endpoint replacement
/// (`crate::replacement`); answers at once, the stages follow as `vgw.replace.*` events.
fn replace_tunnel_action(
    shared: &Shared,
    tunnels: Arc<Tunnels>,
    speaker: Option<Arc<Speaker>>,
    changed: Arc<Notify>,
    events: control::EventPublisher,
    p: &ActionParams,
) -> Result<Value, ErrorBody> {
    let name = p
        .args
        .get("tunnel")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("needs \"tunnel\""))?;
    let spec = tunnels
        .spec(name)
        .ok_or_else(|| ErrorBody::new(ErrorCode::NotFound, format!("no tunnel {name:?}")))?;
    let vpn_timers = timers::of(shared.config.profile);
    let neighbor = shared
        .config
        .connections
        .iter()
        .find(|c| (0..c.tunnels.len()).any(|i| tunnel_name(&c.name, i) == name))
        .filter(|c| c.routing == Routing::Dynamic)
        .and_then(|c| c.customer_asn)
        .map(|asn| vgw_neighbor(spec, asn, vpn_timers));
    let drain = Duration::from_secs(2 * u64::from(vpn_timers.bgp.keepalive));
    let r = Replacement {
        tunnel: name.to_string(),
        neighbor,
        drain,
    };
    replacement::start(
        r,
        shared.replacing.clone(),
        tunnels,
        speaker,
        changed,
        events,
    )
    .map_err(|e| ErrorBody::new(ErrorCode::Unavailable, e))?;
    Ok(json!({ "replacing": name, "drain_s": drain.as_secs() }))
}

/// `modify_tunnel_options` `{"tunnel": "vpn1-t1", "options": {"dpd_timeout_seconds": 40}}`:
/// AWS's ModifyVpnTunnelOptions. The given options replace the tunnel's current ones (the
/// others stay), are checked by AWS's rules, and the tunnel restarts with them: its IKE SA is
/// deleted and the next one negotiates under the new options (the customer gateway's side is
/// the customer's to change, as on AWS).
async fn modify_tunnel_options_action(
    shared: &Shared,
    tunnels: &Tunnels,
    p: &ActionParams,
) -> Result<Value, ErrorBody> {
    let name = p
        .args
        .get("tunnel")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("needs \"tunnel\""))?;
    let Some(Value::Object(changes)) = p.args.get("options") else {
        return Err(bad("needs \"options\": an object of AWS tunnel options"));
    };
    let found = shared.config.connections.iter().find_map(|c| {
        c.tunnels
            .iter()
            .enumerate()
            .find(|(i, _)| tunnel_name(&c.name, *i) == name)
            .map(|(_, t)| t)
    });
    let (Some(t), Some(running)) = (found, tunnels.get(name)) else {
        return Err(ErrorBody::new(
            ErrorCode::NotFound,
            format!("no tunnel {name:?}"),
        ));
    };
    let mut st = shared.state.lock().await;
    let current = st.modified_options.get(name).unwrap_or(&t.options);
    let mut merged = serde_json::to_value(current).map_err(|e| bad(e.to_string()))?;
    if let Value::Object(m) = &mut merged {
        for (k, v) in changes {
            m.insert(k.clone(), v.clone());
        }
    }
    let options: TunnelOptions =
        serde_json::from_value(merged).map_err(|e| bad(format!("options: {e}")))?;
    let config = options
        .tunnel_config(
            name,
            t.outside_ip,
            t.customer_ip,
            &t.pre_shared_key,
            shared.config.profile,
        )
        .map_err(|e| bad(format!("options: {e}")))?;
    running
        .reconfigure(config)
        .await
        .map_err(|e| ErrorBody::new(ErrorCode::Internal, e))?;
    st.modified_options.insert(name.to_string(), options);
    info!(
        tunnel = name,
        "tunnel options modified; the tunnel restarts"
    );
    Ok(json!({ "tunnel": name, "modified": changes.keys().collect::<Vec<_>>() }))
}

/// `customer_keys` `{"connection": "vpn1"}`: the tunnels' pre-shared keys, tunnel 1 first, as
/// AWS's "download configuration" hands them to the customer
/// (GetVpnConnectionDeviceSampleConfiguration). The one request that returns keys: it is an
/// action, so no `show` view and no report ever carries them, and it is served only on the
/// control socket inside the lab's 0700 state directory (`hybridlab cgw-config LAB ...`).
/// Neither the request nor the reply is logged.
fn customer_keys_action(shared: &Shared, p: &ActionParams) -> Result<Value, ErrorBody> {
    let connection = p
        .args
        .get("connection")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("needs \"connection\""))?;
    let c = shared
        .config
        .connections
        .iter()
        .find(|c| c.name == connection)
        .ok_or_else(|| {
            ErrorBody::new(ErrorCode::NotFound, format!("no connection {connection:?}"))
        })?;
    Ok(json!({
        "connection": connection,
        "tunnels": c.tunnels.iter().map(|t| json!({
            "outside_ip": t.outside_ip.to_string(),
            "pre_shared_key": t.pre_shared_key.secret().expose(),
        })).collect::<Vec<_>>(),
    }))
}

/// `add_static_route` / `delete_static_route` `{"connection": "vpn1", "prefix": "10.1.0.0/16"}`:
/// AWS's CreateVpnConnectionRoute / DeleteVpnConnectionRoute, allowed on static connections
/// only \[V8\]. The selection is recomputed at once (the reply comes after the kernel change
/// is requested, not after it is done).
async fn static_route_action(
    shared: &Shared,
    changed: &Notify,
    p: &ActionParams,
    add: bool,
) -> Result<Value, ErrorBody> {
    let connection = p
        .args
        .get("connection")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("needs \"connection\""))?;
    let prefix: Ipv4Net = p
        .args
        .get("prefix")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("needs \"prefix\""))?
        .parse()
        .map_err(|e| bad(format!("prefix: {e}")))?;
    let Some(c) = shared
        .config
        .connections
        .iter()
        .find(|c| c.name == connection)
    else {
        return Err(ErrorBody::new(
            ErrorCode::NotFound,
            format!("no connection {connection:?}"),
        ));
    };
    if c.routing != Routing::Static {
        return Err(bad(format!(
            "connection {connection:?} uses dynamic routing: static routes are refused"
        )));
    }
    let mut st = shared.state.lock().await;
    let set = st.static_routes.entry(connection.to_string()).or_default();
    let did = if add {
        set.insert(prefix.trunc())
    } else {
        set.remove(&prefix.trunc())
    };
    if !add && !did {
        return Err(ErrorBody::new(
            ErrorCode::NotFound,
            format!("connection {connection:?} has no static route {prefix}"),
        ));
    }
    drop(st);
    changed.notify_one();
    Ok(json!({ "connection": connection, "prefix": prefix.trunc().to_string(), "changed": did }))
}

impl gateway::daemon::Daemon for Vgw {
    type Config = VgwConfig;

    fn parse_config(text: &str) -> Result<VgwConfig, String> {
        VgwConfig::from_toml(text).map_err(|e| e.to_string())
    }

    async fn start(
        config: VgwConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Vgw, GatewayError> {
        Vgw::start(config, control).await
    }

    async fn shutdown(self) {
        Vgw::shutdown(self).await
    }
}
