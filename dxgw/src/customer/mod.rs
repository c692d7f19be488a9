//! The customer's end of Direct Connect: a router that terminates VIFs over its cross-connect
//! (`hybridlab daemon dx-router`), as a customer's edge router does: a VLAN trunk with one TAP
//! per VIF (where the kernel has `8021q` this would be a VLAN sub-interface, `crates/vlan`
//! README), eBGP with MD5 and TTL 1 to AWS on each, BFD (a failure tears the session down, RFC
//! 5882 §4.3), its own prefixes (and only those) announced with the VIF's communities and
//! prepends, what it learns installed into the main table (protocol `bgp`).
//!
//! ```text
//!  LAN / hosts --- customer router --- cross-connect veth (trunk) --- AWS DX router
//!                   TAP per VIF (VLAN), BGP speaker, BFD per VIF
//! ```
//!
//! Actions `advertise` / `withdraw` (`{"prefixes": ["10.9.0.0/16", "2001:db8:9::/48"]}`)
//! originate or withdraw prefixes at run time, on every VIF of their family (the timeline's
//! `advertise`/`withdraw` on a `dx-router` node, as on a customer gateway).
//!
//! What it does not do: AWS's rules or policy (the AWS side enforces them), or IPsec (a VPN
//! backup is a `cgw` node beside it).

pub mod config;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp::driver::{KernelConfig, NeighborConfig, NetworkConfig, Speaker, SpeakerConfig};
use bgp::rib::DefaultPolicy;
use bgp::wire::{Family, Prefix};
use control::protocol::ErrorCode;
use control::{ErrorBody, ServerBuilder, ShowParams};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tracing::info;
use vlan::device::VlanTrunk;

use gateway::bundle::GatewayError;

pub use config::{CustomerConfig, CustomerConnection, CustomerVif};

use crate::timers;
use crate::vif_stack::{self, VifPort};

/// A running customer DX router.
#[derive(Debug)]
pub struct DxRouter {
    speaker: Arc<Speaker>,
    bfd: bfd::driver::Bfd,
    trunks: Arc<Vec<(String, VlanTrunk)>>,
    tasks: Vec<JoinHandle<()>>,
    _control: Option<control::Server>,
}

impl DxRouter {
    /// Starts in the current namespace.
    pub async fn start(
        config: CustomerConfig,
        control: Option<&std::path::Path>,
    ) -> Result<DxRouter, GatewayError> {
        config.validate()?;
        let t = timers::of(config.profile);
        let trunks = Arc::new(
            vif_stack::start_trunks(
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
                                address: v.local_address,
                                address_v6: v.local_address_v6,
                            })
                            .collect();
                        (c.name.clone(), c.interface.clone(), ports)
                    })
                    .collect(),
            )
            .await?,
        );
        let vifs: Vec<&CustomerVif> = config.connections.iter().flat_map(|c| &c.vifs).collect();
        let router_id = config
            .router_id
            .or_else(|| vifs.first().map(|v| v.local_address.addr()))
            .unwrap_or(Ipv4Addr::new(192, 0, 2, 1));
        let mut sc = SpeakerConfig::new(config.asn, router_id);
        sc.timers = t.bgp;
        sc.kernel = Some(KernelConfig {
            table: netns::route::TABLE_MAIN,
        });
        sc.networks = config
            .advertise
            .iter()
            .map(|p| Prefix::from(*p))
            .chain(
                config
                    .advertise_v6
                    .iter()
                    .filter_map(|p| Prefix::new(IpAddr::V6(p.network()), p.prefix_len()).ok()),
            )
            .map(|prefix| NetworkConfig {
                prefix,
                med: None,
                communities: Vec::new(),
            })
            .collect();
        for (v, v6) in vifs.iter().flat_map(|v| [(v, false), (v, true)]) {
            let (peer, local, family, name) = match (v6, v.peer_address_v6, v.local_address_v6) {
                (false, _, _) => (
                    IpAddr::V4(v.peer_address),
                    IpAddr::V4(v.local_address.addr()),
                    Family::Ipv4Unicast,
                    v.name.clone(),
                ),
                (true, Some(p), Some(l)) => (
                    IpAddr::V6(p),
                    IpAddr::V6(l.addr()),
                    Family::Ipv6Unicast,
                    crate::daemon::v6_name(&v.name),
                ),
                (true, _, _) => continue,
            };
            let mut n = NeighborConfig::new(peer, v.amazon_asn);
            n.name = Some(name);
            n.local_address = Some(local);
            n.families = vec![family];
            n.password = Some(v.auth_key.secret().clone());
            n.graceful_restart_time = 0;
            // Only the router's own prefixes go to AWS (configured or advertised at run time):
            // what it learned on one VIF (the VPC CIDRs) is not sent back on another. (AWS
            // would drop it by AS_PATH loop detection but count it against the VIF's
            // 100-prefix limit, as for a real customer router without an outbound filter.)
            n.export_local_only = true;
            n.add_communities = v.communities.clone();
            n.as_path_prepend = v.as_path_prepend;
            n.local_pref = v.local_pref;
            sc.neighbors.push(n);
        }
        let speaker = Arc::new(
            Speaker::start(sc, Box::new(DefaultPolicy))
                .await
                .map_err(|e| GatewayError::Bgp(e.to_string()))?,
        );
        let builder = ServerBuilder::new(&config.name);
        let publisher = builder.publisher();
        gateway::bundle::bridge_bgp_events(
            &speaker,
            publisher.clone(),
            Arc::new(tokio::sync::Notify::new()),
        );
        let bfd = bfd::driver::Bfd::new();
        let mut tasks = Vec::new();
        for v in vifs.iter().filter(|v| v.bfd) {
            let v6 = v
                .local_address_v6
                .zip(v.peer_address_v6)
                .map(|(l, p)| (IpAddr::V6(l.addr()), IpAddr::V6(p)));
            tasks.extend(vif_stack::start_bfd(
                &bfd,
                &v.name,
                (
                    IpAddr::V4(v.local_address.addr()),
                    IpAddr::V4(v.peer_address),
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
        let control = match control {
            Some(path) => Some(
                register(builder, &speaker, &bfd)
                    .bind(path)
                    .await
                    .map_err(|e| GatewayError::Control(e.to_string()))?,
            ),
            None => None,
        };
        info!(name = %config.name, vifs = vifs.len(), "customer dx router running");
        Ok(DxRouter {
            speaker,
            bfd,
            trunks,
            tasks,
            _control: control,
        })
    }

    /// Stops everything it started.
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.speaker.shutdown().await;
        self.bfd.shutdown().await;
        if let Ok(trunks) = Arc::try_unwrap(self.trunks) {
            for (_, t) in trunks {
                t.shutdown();
            }
        }
    }
}

fn register(
    builder: ServerBuilder,
    speaker: &Arc<Speaker>,
    bfd: &bfd::driver::Bfd,
) -> ServerBuilder {
    let bad = |e: String| ErrorBody::new(ErrorCode::BadRequest, e);
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
                .map(|r| json!(r))
                .map_err(|e| bad(e.to_string()))
        }
    });
    let b = bfd.clone();
    let builder = builder.show("bfd", move |_p: ShowParams| {
        let b = b.clone();
        async move { Ok(serde_json::to_value(b.show().await).unwrap_or(Value::Null)) }
    });
    gateway::origination::register(builder, Some(speaker.clone()))
}

impl gateway::daemon::Daemon for DxRouter {
    type Config = CustomerConfig;

    fn parse_config(text: &str) -> Result<CustomerConfig, String> {
        CustomerConfig::from_toml(text)
    }

    async fn start(
        config: CustomerConfig,
        control: Option<&std::path::Path>,
    ) -> Result<DxRouter, GatewayError> {
        DxRouter::start(config, control).await
    }

    async fn shutdown(self) {
        DxRouter::shutdown(self).await
    }
}
