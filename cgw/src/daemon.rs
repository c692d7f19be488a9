//! The customer gateway daemon: the on-premises end of one or more VPN connections.
//!
//! - IKE initiator by default (AWS's default startup action `add` waits for the customer
//!   gateway \[V1\]).
//! - Dynamic connections: one BGP session per tunnel with our ASN, announcing `advertise`;
//!   AS_PATH prepend and MED per tunnel steer AWS's return traffic \[V14\]. What AWS announces is
//!   installed into this namespace's main table (protocol bgp): in `active-active` mode as ECMP
//!   over every tunnel with an equal path; in `active-standby` the second tunnel of a
//!   connection gets LOCAL_PREF 50 on import (the first 100, the default) so it carries
//!   traffic only when the first is gone, and, unless the tunnel sets its own prepend, announces
//!   with two extra AS_PATH prepends so AWS also prefers the first tunnel.
//! - Static connections: the connection's AWS-side prefixes are routed into the tunnels that
//!   are up (ECMP, or the first one up in `active-standby`).
//! - Underlay and overlay never mix (`gateway::underlay`): IKE and ESP from the outside address
//!   resolve in the underlay table, so a prefix from AWS that covers the VGW's outside
//!   addresses (a CloudHub spoke can announce one) cannot pull them into a tunnel. Neither the
//!   BGP speaker's kernel install nor the static routes ever replace a route they did not
//!   install: the customer's own default route stays, whatever AWS announces.
//!
//! What it does not do: act as a VGW (no CloudHub re-advertisement rules, no VPC table).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use bgp::driver::{KernelConfig, NeighborConfig, NetworkConfig, Speaker, SpeakerConfig};
use bgp::rib::{Candidate, PeerInfo, Policy, Verdict};
use bgp::wire::{Family, Prefix};
use control::{ActionParams, ErrorBody, ErrorCode, ServerBuilder, ShowParams};
use ipnet::Ipv4Net;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Notify};
use tracing::info;

use gateway::bundle::{self, Endpoints, GatewayError, Tunnels};
use gateway::fib::{KernelRoutes, PROTO_GATEWAY, Target};
use gateway::tunnel::TunnelSpec;
use gateway::underlay::Underlay;
use vgw::config::{ConfigError, Routing, inside_addresses};
use vgw::daemon::tunnel_name;

use crate::config::{CgwConfig, TunnelMode};

/// LOCAL_PREF given to routes from a standby tunnel.
pub(crate) const STANDBY_LOCAL_PREF: u32 = 50;
/// AS_PATH prepends announced over a standby tunnel unless the tunnel sets its own.
pub(crate) const STANDBY_PREPEND: u8 = 2;

/// A running customer gateway.
#[derive(Debug)]
pub struct Cgw {
    speaker: Option<Arc<Speaker>>,
    tunnels: Arc<Tunnels>,
    statics: Arc<Mutex<KernelRoutes>>,
    underlay: Option<Arc<Underlay>>,
    reconciler: tokio::task::JoinHandle<()>,
    _control: Option<control::Server>,
}

impl Cgw {
    /// Starts the customer gateway in the current network namespace.
    pub async fn start(
        config: CgwConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Cgw, GatewayError> {
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
                // The customer's end of AWS's tunnel: the same options (the customer view's
                // startup and DPD actions) and the same timer table as the VGW's end.
                let mut ipsec = t
                    .options
                    .tunnel_config(
                        &name,
                        t.outside_ip,
                        t.aws_ip,
                        &t.pre_shared_key,
                        config.profile,
                    )
                    .map_err(|e| {
                        ConfigError::new(
                            format!("connection[{ci}].tunnel[{i}].options"),
                            e.to_string(),
                        )
                    })?;
                // Behind a NAT the sockets use our own address; the identity stays the public
                // one AWS registered (RFC 7296 §2.23: NAT detection then finds the NAT).
                if let Some(own) = config.bind_address {
                    ipsec.ike.local = std::net::SocketAddr::from((own, 500));
                }
                specs.push(TunnelSpec {
                    ifname: bundle::ifname(&c.name, ci, i),
                    inside_cidr: t.inside_cidr,
                    local_inside: customer,
                    remote_inside: aws,
                    ipsec,
                });
            }
        }
        let router_id = config
            .router_id
            .or_else(|| specs.first().map(|s| s.local_inside))
            .unwrap_or(Ipv4Addr::new(169, 254, 255, 2));
        // Before the tunnels' sockets exist, so their first packets already take it.
        let underlay = match config.underlay_gateway {
            Some(gw) => {
                let outside: Vec<Ipv4Addr> = config
                    .connections
                    .iter()
                    .flat_map(|c| c.tunnels.iter().map(|t| t.outside_ip))
                    .map(|public| config.bind_address.unwrap_or(public))
                    .collect();
                Some(Arc::new(Underlay::install(&netlink, &outside, gw).await?))
            }
            None => None,
        };
        let tunnels = Arc::new(
            Tunnels::start(
                specs,
                Endpoints::OneHost,
                &netlink,
                publisher.clone(),
                changed.clone(),
            )
            .await?,
        );

        let speaker = if config
            .connections
            .iter()
            .any(|c| c.routing == Routing::Dynamic)
        {
            let mut sc = SpeakerConfig::new(config.asn, router_id);
            sc.timers = vgw::timers::of(config.profile).bgp;
            sc.kernel = Some(KernelConfig { table: 254 });
            sc.max_paths = match config.mode {
                TunnelMode::ActiveActive => 16,
                TunnelMode::ActiveStandby => 1,
            };
            sc.networks = config
                .advertise
                .iter()
                .map(|p| NetworkConfig {
                    prefix: Prefix::from(*p),
                    med: None,
                    communities: Vec::new(),
                })
                .collect();
            for c in config
                .connections
                .iter()
                .filter(|c| c.routing == Routing::Dynamic)
            {
                for (i, t) in c.tunnels.iter().enumerate() {
                    let (aws, customer) = inside_addresses(t.inside_cidr);
                    let mut n = NeighborConfig::new(aws.into(), c.amazon_side_asn);
                    n.name = Some(tunnel_name(&c.name, i));
                    n.local_address = Some(customer.into());
                    n.families = vec![Family::Ipv4Unicast];
                    n.graceful_restart_time = 0;
                    n.med = t.med;
                    n.as_path_prepend = t.as_path_prepend;
                    if config.mode == TunnelMode::ActiveStandby && i > 0 {
                        n.local_pref = Some(STANDBY_LOCAL_PREF);
                        if t.as_path_prepend == 0 {
                            n.as_path_prepend = STANDBY_PREPEND;
                        }
                    }
                    sc.neighbors.push(n);
                }
            }
            let sp = Speaker::start(sc, Box::new(CustomerPolicy))
                .await
                .map_err(|e| GatewayError::Bgp(e.to_string()))?;
            Some(Arc::new(sp))
        } else {
            None
        };
        if let Some(sp) = &speaker {
            bundle::bridge_bgp_events(sp, publisher.clone(), changed.clone());
        }

        let statics = Arc::new(Mutex::new(KernelRoutes::new(
            netlink,
            netns::route::TABLE_MAIN,
            PROTO_GATEWAY,
        )));
        let config = Arc::new(config);
        let control = match control {
            Some(path) => Some(
                register(builder, &speaker, &tunnels, &statics, &underlay)
                    .bind(path)
                    .await
                    .map_err(|e| GatewayError::Control(e.to_string()))?,
            ),
            None => None,
        };
        let reconciler = {
            let (config, tunnels, statics) = (config.clone(), tunnels.clone(), statics.clone());
            let underlay = underlay.clone();
            tokio::spawn(async move {
                loop {
                    if let Some(u) = &underlay {
                        u.repair().await;
                    }
                    let wanted = static_routes(&config, &tunnels);
                    statics.lock().await.sync(&wanted).await;
                    let _ = tokio::time::timeout(Duration::from_secs(2), changed.notified()).await;
                }
            })
        };
        info!(name = %config.name, tunnels = tunnels.len(), "cgw running");
        Ok(Cgw {
            speaker,
            tunnels,
            statics,
            underlay,
            reconciler,
            _control: control,
        })
    }

    /// The BGP speaker (absent when every connection is static).
    pub fn speaker(&self) -> Option<&Arc<Speaker>> {
        self.speaker.as_ref()
    }

    /// Up (true) or down, by tunnel name.
    pub fn tunnel_states(&self) -> BTreeMap<String, bool> {
        self.tunnels.states()
    }

    /// Stops: sessions get Cease, tunnels DELETE, static routes are removed.
    pub async fn shutdown(self) {
        self.reconciler.abort();
        let _ = self.reconciler.await;
        if let Some(sp) = &self.speaker {
            sp.shutdown().await;
        }
        self.statics.lock().await.clear().await;
        if let Ok(t) = Arc::try_unwrap(self.tunnels) {
            t.close().await;
        }
        if let Some(u) = &self.underlay {
            u.remove().await;
        }
    }
}

/// Static connections: each AWS-side prefix into the tunnels that are up.
fn static_routes(config: &CgwConfig, tunnels: &Tunnels) -> BTreeMap<Ipv4Net, Target> {
    let states = tunnels.states();
    let mut wanted: BTreeMap<Ipv4Net, Target> = BTreeMap::new();
    for c in config
        .connections
        .iter()
        .filter(|c| c.routing == Routing::Static)
    {
        let mut hops = Vec::new();
        for i in 0..c.tunnels.len() {
            let name = tunnel_name(&c.name, i);
            if states.get(&name) == Some(&true)
                && let Some(spec) = tunnels.spec(&name)
            {
                hops.push((spec.remote_inside.into(), Some(spec.ifname.clone())));
            }
        }
        if config.mode == TunnelMode::ActiveStandby {
            hops.truncate(1);
        }
        if hops.is_empty() {
            continue;
        }
        for p in &c.static_routes {
            match wanted.get_mut(p) {
                Some(Target::Via(existing)) => existing.extend(hops.iter().cloned()),
                _ => {
                    wanted.insert(*p, Target::Via(hops.clone()));
                }
            }
        }
    }
    wanted
}

fn register(
    builder: ServerBuilder,
    speaker: &Option<Arc<Speaker>>,
    tunnels: &Arc<Tunnels>,
    statics: &Arc<Mutex<KernelRoutes>>,
    underlay: &Option<Arc<Underlay>>,
) -> ServerBuilder {
    let u1 = underlay.clone();
    let builder = builder.show("underlay", move |_p: ShowParams| {
        let underlay = u1.clone();
        async move {
            Ok(match &underlay {
                Some(u) => u.show(),
                None => {
                    json!({"note": "no underlay_gateway: the tunnels resolve in the main table"})
                }
            })
        }
    });
    let (t1, sp1) = (tunnels.clone(), speaker.clone());
    let builder = builder.show("tunnels", move |_p: ShowParams| {
        let (tunnels, speaker) = (t1.clone(), sp1.clone());
        async move { Ok(tunnels.show(speaker.as_deref()).await) }
    });
    let sp2 = speaker.clone();
    let builder = builder.show("bgp", move |_p: ShowParams| {
        let speaker = sp2.clone();
        async move {
            match speaker {
                Some(sp) => sp
                    .summary()
                    .await
                    .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
                    .map_err(|e| ErrorBody::new(ErrorCode::Internal, e.to_string())),
                None => Ok(json!({"note": "every connection uses static routing: no BGP"})),
            }
        }
    });
    let (sp3, st) = (speaker.clone(), statics.clone());
    let builder = builder.show("routes", move |_p: ShowParams| {
        let (speaker, statics) = (sp3.clone(), st.clone());
        async move {
            let bgp = match &speaker {
                Some(sp) => sp
                    .routes(Family::Ipv4Unicast, 10_000)
                    .await
                    .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
                    .unwrap_or(Value::Null),
                None => Value::Null,
            };
            let statics = statics.lock().await;
            Ok(json!({
                "bgp": bgp,
                "static": statics.installed().iter().map(|(p, t)| json!({"prefix": p.to_string(), "target": t})).collect::<Vec<_>>(),
                "static_held_by_others": statics.held().iter().map(ToString::to_string).collect::<Vec<_>>(),
            }))
        }
    });
    let builder = gateway::origination::register(builder, speaker.clone());
    let t2 = tunnels.clone();
    builder.action("rekey", move |p: ActionParams| {
        let tunnels = t2.clone();
        async move { bundle::rekey_action(&tunnels, &p).await }
    })
}

/// A customer gateway announces its own networks to AWS and nothing it learned from AWS: no
/// transit between its tunnels or VPN connections (AWS's customer gateway guidance; otherwise
/// the VPC prefixes come back to the VGW over the other tunnel with the VGW's own ASN in the
/// path, and count towards the 100-prefix limit of that session).
#[derive(Debug, Clone, Copy)]
struct CustomerPolicy;

impl Policy for CustomerPolicy {
    fn export(&self, _to: &PeerInfo, _prefix: Prefix, route: &Candidate<'_>) -> Verdict {
        if route.peer.is_local() {
            Verdict::Accept
        } else {
            Verdict::Reject
        }
    }
}

impl gateway::daemon::Daemon for Cgw {
    type Config = CgwConfig;

    fn parse_config(text: &str) -> Result<CgwConfig, String> {
        CgwConfig::from_toml(text).map_err(|e| e.to_string())
    }

    async fn start(
        config: CgwConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Cgw, GatewayError> {
        Cgw::start(config, control).await
    }

    async fn shutdown(self) {
        Cgw::shutdown(self).await
    }
}
