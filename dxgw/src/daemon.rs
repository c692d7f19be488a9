//! The Direct Connect location router daemon (`hl-dxgw`, `hybridlab daemon dxgw`): the AWS
//! end of every dedicated connection in the file, its VIFs, and the DX gateways' backbone
//! sessions to the associated VGWs (`aws-behaviour.md` §4).
//!
//! ```text
//!  customer router                 DX router namespace (this daemon)              VGW namespace
//!  ---- cross-connect veth ---->   vlan::VlanTrunk (AF_PACKET)
//!       802.1Q VLAN 100            +-- TAP vif-a (169.254.x.1/30) --+
//!       802.1Q VLAN 200            +-- TAP vif-b                    |
//!                                  BGP speaker (one per router):    |
//!                                    eBGP per VIF: MD5, TTL 1,      |     backbone veth
//!                                    hold 90/30, max 100 prefixes   +---- iBGP per association
//!                                    per family, DxPolicy           |     (the VGW treats it as
//!                                  BFD per VIF (300 ms x 3)         |      its DirectConnect
//!                                    failure -> BGP torn down       |      source)
//!                                  kernel: best routes (proto bgp)
//! ```
//!
//! - BGP per VIF \[D2\]: eBGP with the customer over the VIF's TAP, TCP MD5 with the VIF's key,
//!   TTL 1 (no multihop), one IPv4 session, hold/keepalive proposed from the VIF or the
//!   profile (RFC 4271 §4.2: the lower hold time of both ends wins), no graceful restart
//!   (AWS does not combine it with BFD \[D9\]).
//! - BFD \[D9\]: asynchronous, the profile's 300 ms x 3, on by default on the AWS side; Up once
//!   the customer runs it. A failure (RFC 5882 §3.2: Up -> Down not caused by the peer's
//!   AdminDown) ends the VIF's BGP session at once with a Cease (RFC 5882 §4.3), which then
//!   reconnects on its own timers. BGP never acts on BFD (never the reverse).
//! - Prefix limit \[D3\]: 100 per family from the customer; the 101st ends the session with
//!   Cease/Maximum Number of Prefixes Reached (RFC 4486 §4, 6/1) and it stays Idle for the
//!   profile's `max_prefix_restart` (AWS-silent on when it comes back). The UPDATE carrying it is
//!   refused in the RIB task's same step: the session's routes are withdrawn before any export
//!   or kernel write sees the 101st.
//! - Routing policy: [`crate::policy`]. The speaker installs its best routes into the main
//!   table (protocol `bgp`), so traffic from the VGW towards on-premises leaves through the
//!   chosen VIF.
//! - A TGW association's allowed prefixes are announced to the VIFs as written and "used to
//!   route traffic from on-premises to AWS into the transit gateway" \[D8\]: each is a route in
//!   the main table (protocol `gateway::fib::PROTO_GATEWAY`) towards the TGW's backbone
//!   address. The speaker's own origination of them is never a kernel route, and the TGW does
//!   not announce, say, its CIDR block, which a Connect attachment over this DX gateway needs
//!   (`tgw_connect::transport`). Installed at start and again each time a TGW association's
//!   session comes up (setting the backbone link down flushes them). Several TGW associations
//!   allowing the same prefix: ECMP over them (inferred). A VIF route for exactly an allowed
//!   prefix loses to it in the kernel (inferred: the prefix is AWS's).
//! - A VLAN mismatch: frames with a VID no VIF of the connection has are dropped by the trunk
//!   (so no ARP and no BGP, as on a real DX); the daemon reports `dx.vlan_mismatch` naming the
//!   VLAN seen and the VLANs configured, on each change and every 3 s while it persists.
//!
//! What it does not do: create the cross-connect or backbone veths (the engine does), IPv6
//! sessions, public VIFs. StartBgpFailoverTest / StopBgpFailoverTest are actions
//! ([`crate::failover_test`]).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp::driver::{KernelConfig, NeighborConfig, NetworkConfig, Speaker, SpeakerConfig};
use bgp::fsm::HoldTime;
use bgp::rib::MaxPrefix;
use bgp::wire::{Family, Prefix};
use control::protocol::ErrorCode;
use control::{ActionParams, ErrorBody, ServerBuilder, ShowParams};
use gateway::fib::{KernelRoutes, PROTO_GATEWAY, Target};
use ipnet::Ipv4Net;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tracing::info;
use vlan::device::VlanTrunk;

use gateway::bundle::GatewayError;

use crate::config::{AssociationKind, DxConfig, MAX_CUSTOMER_PREFIXES, Vif};
use crate::failover_test::FailoverTests;
use crate::policy::{DxPolicy, Role};
use crate::timers::{self, DxTimers};
use crate::vif_stack::{self, VifPort};

/// A running DX location router.
#[derive(Debug)]
pub struct Dx {
    config: Arc<DxConfig>,
    speaker: Arc<Speaker>,
    bfd: bfd::driver::Bfd,
    trunks: Arc<Vec<(String, VlanTrunk)>>,
    /// The TGW associations' allowed prefixes, routed into the TGWs.
    allowed: Arc<tokio::sync::Mutex<KernelRoutes>>,
    tasks: Vec<JoinHandle<()>>,
    _control: Option<control::Server>,
}

/// The main-table routes of the TGW associations' allowed prefixes: each towards the TGW's
/// backbone address (several associations: ECMP).
fn allowed_routes(config: &DxConfig) -> BTreeMap<Ipv4Net, Target> {
    let mut out: BTreeMap<Ipv4Net, Target> = BTreeMap::new();
    for a in config
        .gateways
        .iter()
        .flat_map(|g| &g.associations)
        .filter(|a| a.kind == AssociationKind::Tgw)
    {
        for p in &a.allowed_prefixes {
            let hop = (a.peer_address.into(), None);
            if let Target::Via(hops) = out
                .entry(p.trunc())
                .or_insert_with(|| Target::Via(Vec::new()))
                && !hops.contains(&hop)
            {
                hops.push(hop);
            }
        }
    }
    out
}

pub use crate::vif_stack::v6_name;

/// The VIF's IPv4 session, or with `v6` its IPv6 one (`None` when the VIF has no IPv6 pair).
fn vif_neighbor(vif: &Vif, t: &DxTimers, v6: bool) -> Result<Option<NeighborConfig>, GatewayError> {
    let (peer, local, family, name) = if v6 {
        match (vif.customer_address_v6, vif.amazon_address_v6) {
            (Some(c), Some(a)) => (
                IpAddr::V6(c.addr()),
                IpAddr::V6(a.addr()),
                Family::Ipv6Unicast,
                v6_name(&vif.name),
            ),
            _ => return Ok(None),
        }
    } else {
        (
            IpAddr::V4(vif.customer_address.addr()),
            IpAddr::V4(vif.amazon_address.addr()),
            Family::Ipv4Unicast,
            vif.name.clone(),
        )
    };
    let mut n = NeighborConfig::new(peer, vif.customer_asn);
    n.name = Some(name);
    n.local_address = Some(local);
    n.families = vec![family];
    n.password = Some(vif.auth_key.secret().clone());
    n.ebgp_multihop = None; // TTL 1 [D2]
    n.graceful_restart_time = 0;
    if let Some(h) = vif.hold_time {
        n.hold_time = Some(HoldTime::new(h).map_err(|e| {
            GatewayError::Config(gateway::ConfigError::new(
                format!("vif {}.hold_time", vif.name),
                e.to_string(),
            ))
        })?);
    }
    n.keepalive = vif.keepalive;
    n.max_prefix = Some(MaxPrefix {
        limit: MAX_CUSTOMER_PREFIXES,
        restart_after: Some(t.max_prefix_restart),
        warning_only: false,
    });
    Ok(Some(n))
}

/// Puts the allowed-prefix routes back each time a TGW association's session comes up: the
/// link it runs over may have been set down in between, which flushed them.
async fn reassert_allowed(
    speaker: Arc<Speaker>,
    allowed: Arc<tokio::sync::Mutex<KernelRoutes>>,
    wanted: BTreeMap<Ipv4Net, Target>,
    associations: Vec<String>,
) {
    let mut rx = speaker.subscribe();
    loop {
        match rx.recv().await {
            Ok(e) => {
                let up = matches!(&e.data, bgp::driver::SpeakerEvent::Up { neighbor, .. } if associations.contains(neighbor));
                if !up {
                    continue;
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(_) => return,
        }
        let mut f = allowed.lock().await;
        f.forget();
        f.sync(&wanted).await;
    }
}

impl Dx {
    /// Starts the router in the current network namespace: trunks and VIFs, BGP, BFD and
    /// (with `control`) the control socket.
    pub async fn start(
        config: DxConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Dx, GatewayError> {
        config.validate()?;
        let t = timers::of(config.profile);

        // The VIFs: one trunk per connection, one TAP per VIF.
        let trunks = vif_stack::start_trunks(
            config
                .connections
                .iter()
                .map(|c| {
                    let ports = c
                        .vifs
                        .iter()
                        .map(|v| VifPort {
                            name: v.name.clone(),
                            vlan: v.vlan,
                            mtu: v.mtu,
                            address: v.amazon_address,
                            address_v6: v.amazon_address_v6,
                        })
                        .collect();
                    (c.name.clone(), c.interface.clone(), ports)
                })
                .collect(),
        )
        .await?;
        let trunks = Arc::new(trunks);

        // One speaker: a session per VIF and per association.
        let router_id = config
            .router_id
            .or_else(|| {
                config
                    .vifs()
                    .next()
                    .map(|(_, _, _, v)| v.amazon_address.addr())
            })
            .unwrap_or(Ipv4Addr::new(169, 254, 255, 254));
        let mut sc = SpeakerConfig::new(config.amazon_side_asn, router_id);
        sc.timers = t.bgp;
        sc.kernel = Some(KernelConfig {
            table: netns::route::TABLE_MAIN,
        });
        let mut policy = DxPolicy::new();
        for (_, _, _, vif) in config.vifs() {
            for v6 in [false, true] {
                if let Some(n) = vif_neighbor(vif, t, v6)? {
                    policy = policy.with_role(
                        n.display_name(),
                        Role::Vif {
                            gateway: vif.gateway.clone(),
                        },
                    );
                    sc.neighbors.push(n);
                }
            }
        }
        for g in &config.gateways {
            policy = policy.with_sitelink(g.name.clone(), g.sitelink);
            for a in &g.associations {
                let mut n = NeighborConfig::new(IpAddr::V4(a.peer_address), a.asn);
                n.name = Some(a.name.clone());
                // iBGP in the associated gateway's AS (the backbone is inside AWS).
                n.local_as = Some(a.asn);
                n.local_address = Some(IpAddr::V4(a.local_address));
                n.families = vec![Family::Ipv4Unicast];
                n.next_hop_self = true;
                n.graceful_restart_time = 0;
                sc.neighbors.push(n);
                policy = policy.with_role(
                    a.name.clone(),
                    Role::Association {
                        gateway: g.name.clone(),
                        allowed: a.allowed_prefixes.clone(),
                        transit: a.kind == AssociationKind::Tgw,
                    },
                );
                if a.kind == AssociationKind::Tgw {
                    // [D7]: on a TGW association the allowed prefixes are announced as written.
                    for p in &a.allowed_prefixes {
                        sc.networks.push(NetworkConfig {
                            prefix: Prefix::from(*p),
                            med: None,
                            communities: Vec::new(),
                        });
                    }
                }
            }
        }
        let speaker = Arc::new(
            Speaker::start(sc, Box::new(policy))
                .await
                .map_err(|e| GatewayError::Bgp(e.to_string()))?,
        );

        // The TGW associations' allowed prefixes go into the TGWs (see the module docs).
        let netlink = netns::Netlink::open_current().map_err(GatewayError::netns("netlink"))?;
        let mut allowed = KernelRoutes::new(netlink, netns::route::TABLE_MAIN, PROTO_GATEWAY);
        let wanted = allowed_routes(&config);
        let stats = allowed.sync(&wanted).await;
        if stats.failed > 0 {
            tracing::warn!(name = %config.name, "some allowed-prefix routes into a TGW were refused");
        }
        let allowed = Arc::new(tokio::sync::Mutex::new(allowed));

        let builder = ServerBuilder::new(&config.name);
        let publisher = builder.publisher();
        let changed = Arc::new(tokio::sync::Notify::new());
        gateway::bundle::bridge_bgp_events(&speaker, publisher.clone(), changed);

        // BFD per VIF; a failure tears the VIF's BGP session down (RFC 5882 §4.3).
        let bfd = bfd::driver::Bfd::new();
        let mut tasks = Vec::new();
        if !wanted.is_empty() {
            tasks.push(tokio::spawn(reassert_allowed(
                speaker.clone(),
                allowed.clone(),
                wanted,
                config
                    .gateways
                    .iter()
                    .flat_map(|g| &g.associations)
                    .filter(|a| a.kind == AssociationKind::Tgw)
                    .map(|a| a.name.clone())
                    .collect(),
            )));
        }
        for (_, _, _, vif) in config.vifs().filter(|(_, _, _, v)| v.bfd) {
            let v6 = vif
                .amazon_address_v6
                .zip(vif.customer_address_v6)
                .map(|(a, c)| (IpAddr::V6(a.addr()), IpAddr::V6(c.addr())));
            tasks.extend(vif_stack::start_bfd(
                &bfd,
                &vif.name,
                (
                    IpAddr::V4(vif.amazon_address.addr()),
                    IpAddr::V4(vif.customer_address.addr()),
                ),
                v6,
                t.bfd(),
                &speaker,
                &publisher,
            )?);
        }
        tasks.push(tokio::spawn(vif_stack::vlan_watch(
            config
                .connections
                .iter()
                .map(|c| (c.name.clone(), c.vifs.iter().map(|v| v.vlan).collect()))
                .collect(),
            trunks.clone(),
            publisher.clone(),
        )));

        let tests = FailoverTests::new(
            speaker.clone(),
            publisher.clone(),
            config
                .vifs()
                .map(|(_, _, _, v)| {
                    // Every session of the VIF: the IPv4 one and, when the VIF has a pair, the
                    // IPv6 one (AWS's test "brings down the BGP sessions" of the VIF [D4]).
                    let mut peers = vec![IpAddr::V4(v.customer_address.addr())];
                    peers.extend(v.customer_address_v6.map(|a| IpAddr::V6(a.addr())));
                    (v.name.clone(), peers)
                })
                .collect(),
        );
        let config = Arc::new(config);
        let control = match control {
            Some(path) => Some(
                register(builder, &config, &speaker, &bfd, &trunks, &tests)
                    .bind(path)
                    .await
                    .map_err(|e| GatewayError::Control(e.to_string()))?,
            ),
            None => None,
        };
        info!(name = %config.name, vifs = config.vifs().count(), "dx router running");
        Ok(Dx {
            config,
            speaker,
            bfd,
            trunks,
            allowed,
            tasks,
            _control: control,
        })
    }

    /// The BGP speaker.
    pub fn speaker(&self) -> &Arc<Speaker> {
        &self.speaker
    }

    /// The configuration it runs.
    pub fn config(&self) -> &DxConfig {
        &self.config
    }

    /// Stops: BGP Cease, BFD AdminDown, the allowed-prefix routes removed, trunks joined
    /// (their TAPs go with them).
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.speaker.shutdown().await;
        self.bfd.shutdown().await;
        self.allowed.lock().await.clear().await;
        if let Ok(trunks) = Arc::try_unwrap(self.trunks) {
            for (_, t) in trunks {
                t.shutdown();
            }
        }
    }
}

fn bad(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, message)
}

fn register(
    builder: ServerBuilder,
    config: &Arc<DxConfig>,
    speaker: &Arc<Speaker>,
    bfd: &bfd::driver::Bfd,
    trunks: &Arc<Vec<(String, VlanTrunk)>>,
    tests: &FailoverTests,
) -> ServerBuilder {
    let t = tests.clone();
    let builder = builder.action("start_bgp_failover_test", move |p: ActionParams| {
        let t = t.clone();
        async move { t.start(&p).await }
    });
    let t = tests.clone();
    let builder = builder.action("stop_bgp_failover_test", move |p: ActionParams| {
        let t = t.clone();
        async move { t.stop(&p).await }
    });
    let sp = speaker.clone();
    let builder = builder.show("bgp", move |_p: ShowParams| {
        let sp = sp.clone();
        async move {
            sp.summary()
                .await
                .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
                .map_err(|e| bad(e.to_string()))
        }
    });
    let sp = speaker.clone();
    let builder = builder.show("routes", move |_p: ShowParams| {
        let sp = sp.clone();
        async move {
            sp.routes(Family::Ipv4Unicast, 10_000)
                .await
                .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                .map_err(|e| bad(e.to_string()))
        }
    });
    let b = bfd.clone();
    let builder = builder.show("bfd", move |_p: ShowParams| {
        let b = b.clone();
        async move { Ok(serde_json::to_value(b.show().await).unwrap_or(Value::Null)) }
    });
    let (c, sp, b, tr) = (config.clone(), speaker.clone(), bfd.clone(), trunks.clone());
    builder.show("vifs", move |_p: ShowParams| {
        let (config, sp, b, trunks) = (c.clone(), sp.clone(), b.clone(), tr.clone());
        async move {
            let neighbors = sp.neighbors().await.map_err(|e| bad(e.to_string()))?;
            let mut out = Vec::new();
            for (_, _, conn, vif) in config.vifs() {
                let n = neighbors.iter().find(|n| n.name == vif.name);
                let bfd_state = match b.session(
                    IpAddr::V4(vif.amazon_address.addr()),
                    IpAddr::V4(vif.customer_address.addr()),
                ) {
                    Some(s) => serde_json::to_value(s.status().borrow().state).ok(),
                    None => None,
                };
                let n6 = neighbors.iter().find(|n| n.name == v6_name(&vif.name));
                let bfd_v6 = match (vif.amazon_address_v6, vif.customer_address_v6) {
                    (Some(a), Some(c)) => b
                        .session(IpAddr::V6(a.addr()), IpAddr::V6(c.addr()))
                        .and_then(|s| serde_json::to_value(s.status().borrow().state).ok()),
                    _ => None,
                };
                let counters = trunks
                    .iter()
                    .find(|(name, _)| *name == conn.name)
                    .map(|(_, t)| t.counters());
                out.push(json!({
                    "name": vif.name,
                    "connection": conn.name,
                    "type": vif.vif_type,
                    "vlan": vif.vlan,
                    "mtu": vif.mtu,
                    "gateway": vif.gateway,
                    "amazon_address": vif.amazon_address.to_string(),
                    "customer_address": vif.customer_address.to_string(),
                    "customer_asn": vif.customer_asn,
                    "auth_key": vif.auth_key,
                    "bgp": n.map(|n| json!({
                        "state": n.state,
                        "received": n.ipv4.received,
                        "hold_time": n.hold_time,
                        "keepalive": n.keepalive,
                        "last_down": n.last_down,
                        "established_count": n.established_count,
                    })),
                    "bfd": bfd_state,
                    "bgp_v6": n6.map(|n| json!({
                        "state": n.state,
                        "received": n.ipv6.received,
                        "last_down": n.last_down,
                        "established_count": n.established_count,
                    })),
                    "bfd_v6": bfd_v6,
                    "amazon_address_v6": vif.amazon_address_v6.map(|a| a.to_string()),
                    "customer_address_v6": vif.customer_address_v6.map(|a| a.to_string()),
                    "vlan_counters": counters.as_ref().and_then(|c| c.vifs.get(&vif.vlan)),
                    "trunk_unknown_vid": counters.as_ref().map(|c| c.trunk.unknown_vid),
                    "last_unknown_vid": counters.as_ref().and_then(|c| c.last_unknown_vid),
                }));
            }
            // The Direct Connect gateways and their associations, for `show` and the Direct
            // Connect API (DescribeDirectConnectGateways / ...Associations).
            let gateways: Vec<Value> = config
                .gateways
                .iter()
                .map(|g| {
                    json!({
                        "name": g.name,
                        "sitelink": g.sitelink,
                        "associations": g.associations.iter().map(|a| json!({
                            "name": a.name,
                            "kind": a.kind,
                            "allowed_prefixes": a.allowed_prefixes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Ok(json!({
                "amazon_side_asn": config.amazon_side_asn,
                "gateways": gateways,
                "vifs": out,
            }))
        }
    })
}

impl gateway::daemon::Daemon for Dx {
    type Config = DxConfig;

    fn parse_config(text: &str) -> Result<DxConfig, String> {
        DxConfig::from_toml(text)
    }

    async fn start(
        config: DxConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Dx, GatewayError> {
        Dx::start(config, control).await
    }

    async fn shutdown(self) {
        Dx::shutdown(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(associations: &str) -> DxConfig {
        DxConfig::from_toml(&format!(
            r#"
name = "dx1"
profile = "fast"
[[connection]]
name = "dxcon1"
interface = "xc0"
[[connection.vif]]
name = "vif-a"
type = "transit"
vlan = 100
gateway = "dxgw1"
customer_asn = 65000
amazon_address = "169.254.100.1/30"
customer_address = "169.254.100.2/30"
auth_key = "s3cretMD5key"
[[gateway]]
name = "dxgw1"
{associations}
"#
        ))
        .unwrap()
    }

    /// A TGW association over backbone /30 `100.65.<n>.0`.
    fn tgw(name: &str, n: u8, allowed: &str) -> String {
        format!(
            r#"
[[gateway.association]]
name = "{name}"
kind = "tgw"
asn = 64512
local_address = "100.65.{n}.1"
peer_address = "100.65.{n}.2"
allowed_prefixes = [{allowed}]
"#
        )
    }

    #[test]
    fn tgw_allowed_prefixes_are_routed_into_the_tgw() {
        let c = config(&tgw("tgw1", 0, r#""192.0.2.0/24", "10.0.0.0/16""#));
        let r = allowed_routes(&c);
        let via = Target::Via(vec![(Ipv4Addr::new(100, 65, 0, 2).into(), None)]);
        let want: BTreeMap<Ipv4Net, Target> = [
            ("10.0.0.0/16".parse().unwrap(), via.clone()),
            ("192.0.2.0/24".parse().unwrap(), via),
        ]
        .into_iter()
        .collect();
        assert_eq!(r, want);
    }

    #[test]
    fn two_tgws_allowing_one_prefix_share_it() {
        let c = config(&format!(
            "{}{}",
            tgw("tgw1", 0, r#""10.0.0.0/8""#),
            tgw("tgw2", 1, r#""10.0.0.0/8""#)
        ));
        let r = allowed_routes(&c);
        assert_eq!(
            r.get(&"10.0.0.0/8".parse().unwrap()),
            Some(&Target::Via(vec![
                (Ipv4Addr::new(100, 65, 0, 2).into(), None),
                (Ipv4Addr::new(100, 65, 1, 2).into(), None),
            ]))
        );
    }
}
