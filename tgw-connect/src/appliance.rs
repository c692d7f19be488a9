//! The SD-WAN appliance daemon (`hybridlab daemon appliance`): the customer's end of Connect
//! peers, as AWS's sample appliance configuration sets one up \[T5\].
//!
//! ```text
//!   per Connect peer:  gre-<peer> (TUN, <inside>.1/29, MTU 8476) ── GRE ──> TGW address
//!   one BGP speaker:   two sessions per peer, to <inside>.2 and <inside>.3, local .1;
//!                      eBGP with ebgp-multihop TTL 2 (AWS requires it), iBGP TTL 255;
//!                      announces the site's prefixes and nothing it learned; installs
//!                      what the TGW sends into the main table (ECMP across peers and
//!                      sessions, up to 8 paths)
//! ```
//!
//! A peer with an IPv6 inside /125 gets `::1/125` on its GRE device too, and its two
//! sessions carry IPv6 unicast as well (MP-BGP over the IPv4 sessions, next hop `::1`):
//! the site's IPv6 prefixes go out there, the TGW's IPv6 routes come back via `::2`/`::3`.
//!
//! What it does not do: AWS's rules (the TGW enforces them), IPv6 BGP sessions.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bgp::driver::{KernelConfig, NeighborConfig, NetworkConfig, Speaker, SpeakerConfig};
use bgp::rib::DefaultPolicy;
use bgp::wire::{Family, Prefix};
use control::protocol::ErrorCode;
use control::{ErrorBody, ServerBuilder, ShowParams};
use gateway::bundle::GatewayError;
use gre::device::{GreConfig, GreDevice};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::config::{ApplianceConfig, gre_ifname};
use crate::inside_cidr;

/// A running appliance.
#[derive(Debug)]
pub struct Appliance {
    speaker: Option<Arc<Speaker>>,
    devices: Arc<Vec<GreDevice>>,
    control: Option<control::Server>,
}

/// The session's name: `<peer>/.2` or `<peer>/.3`.
pub fn session_name(peer: &str, tgw: Ipv4Addr) -> String {
    format!("{peer}/.{}", tgw.octets()[3] & 7)
}

fn bad(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, message)
}

impl Appliance {
    /// Starts the appliance in the current namespace.
    pub async fn start(
        config: ApplianceConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Appliance, GatewayError> {
        let ns = netns::Netns::current().map_err(GatewayError::netns("our namespace"))?;
        let netlink = netns::Netlink::open_current().map_err(GatewayError::netns("netlink"))?;
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
        let mut devices = Vec::new();
        for p in &config.peers {
            let gc = GreConfig::new(gre_ifname(&p.name), p.local, p.remote);
            let dev = GreDevice::start(&ns, gc).map_err(|e| {
                GatewayError::Config(gateway::ConfigError::new("gre", e.to_string()))
            })?;
            let (me, _) = inside_cidr::addresses(p.inside_cidr);
            let mut addrs = vec![IpNet::V4(Ipv4Net::new(me, 29).expect("a /29"))];
            if let Some(v6) = p.inside_cidr_v6 {
                let (me6, _) = inside_cidr::addresses_v6(v6);
                addrs.push(IpNet::V6(Ipv6Net::new(me6, 125).expect("a /125")));
            }
            dev.configure(&netlink, &addrs).await.map_err(|e| {
                GatewayError::Config(gateway::ConfigError::new("gre", e.to_string()))
            })?;
            devices.push(dev);
        }
        let first = &config.peers[0];
        let (router_id, _) = inside_cidr::addresses(first.inside_cidr);
        let mut sc = SpeakerConfig::new(first.asn, router_id);
        sc.timers = crate::timers::bgp(config.profile);
        sc.kernel = Some(KernelConfig {
            table: netns::route::TABLE_MAIN,
        });
        sc.max_paths = 8;
        for p in &config.peers {
            let (me, tgw) = inside_cidr::addresses(p.inside_cidr);
            for t in tgw {
                let mut n = NeighborConfig::new(IpAddr::V4(t), p.tgw_asn);
                n.name = Some(session_name(&p.name, t));
                n.local_as = Some(p.asn);
                n.local_address = Some(IpAddr::V4(me));
                n.families = vec![Family::Ipv4Unicast];
                if let Some(v6) = p.inside_cidr_v6 {
                    n.families.push(Family::Ipv6Unicast);
                    n.next_hop_v6 = Some(inside_cidr::addresses_v6(v6).0);
                }
                n.graceful_restart_time = 0;
                // The site's own prefixes only: what the TGW sent on one session (other sites,
                // the VPC) never goes back on another, where it would carry the TGW's ASN and
                // count towards the TGW's 1000 routes in (the exported FRR configuration has
                // the same outbound prefix-list).
                n.export_local_only = true;
                if p.asn != p.tgw_asn {
                    n.ebgp_multihop = Some(p.ebgp_multihop);
                }
                sc.neighbors.push(n);
            }
        }
        for a in &config.advertise {
            sc.networks.push(NetworkConfig {
                prefix: Prefix::from(*a),
                med: None,
                communities: Vec::new(),
            });
        }
        let devices = Arc::new(devices);
        let mut builder = ServerBuilder::new(&config.name);
        let speaker = if config.bgp {
            let speaker = Arc::new(
                Speaker::start(sc, Box::new(DefaultPolicy))
                    .await
                    .map_err(|e| GatewayError::Bgp(e.to_string()))?,
            );
            gateway::bundle::bridge_bgp_events(
                &speaker,
                builder.publisher(),
                Arc::new(tokio::sync::Notify::new()),
            );
            let sp = speaker.clone();
            builder = builder.show("bgp", move |_p: ShowParams| {
                let sp = sp.clone();
                async move {
                    sp.summary()
                        .await
                        .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
                        .map_err(|e| bad(e.to_string()))
                }
            });
            let sp = speaker.clone();
            builder = builder.show("routes", move |_p: ShowParams| {
                let sp = sp.clone();
                async move {
                    let mut routes = sp
                        .routes(Family::Ipv4Unicast, 100_000)
                        .await
                        .map_err(|e| bad(e.to_string()))?;
                    routes.extend(
                        sp.routes(Family::Ipv6Unicast, 100_000)
                            .await
                            .map_err(|e| bad(e.to_string()))?,
                    );
                    Ok(serde_json::to_value(routes).unwrap_or(Value::Null))
                }
            });
            Some(speaker)
        } else {
            None
        };
        // `advertise` / `withdraw` of the site's prefixes at run time (timeline, chaos, `act`).
        let builder = gateway::origination::register(builder, speaker.clone());
        let devs = devices.clone();
        let builder = builder.show("gre", move |_p: ShowParams| {
            let devs = devs.clone();
            async move {
                let mut m = serde_json::Map::new();
                for d in devs.iter() {
                    m.insert(
                        d.config().name.clone(),
                        json!({
                            "local": d.config().local.to_string(),
                            "remote": d.config().remote.to_string(),
                            "counters": d.counters(),
                        }),
                    );
                }
                Ok(Value::Object(m))
            }
        });
        let control = match control {
            Some(path) => Some(
                builder
                    .bind(path)
                    .await
                    .map_err(|e| GatewayError::Control(e.to_string()))?,
            ),
            None => None,
        };
        info!(name = %config.name, peers = config.peers.len(), "appliance running");
        Ok(Appliance {
            speaker,
            devices,
            control,
        })
    }

    /// Stops: BGP Cease, GRE devices joined.
    pub async fn shutdown(mut self) {
        if let Some(sp) = &self.speaker {
            sp.shutdown().await;
        }
        drop(self.control.take());
        if let Ok(devices) = Arc::try_unwrap(self.devices) {
            for d in devices {
                d.shutdown();
            }
        }
    }
}

impl gateway::daemon::Daemon for Appliance {
    type Config = ApplianceConfig;

    fn parse_config(text: &str) -> Result<ApplianceConfig, String> {
        ApplianceConfig::from_toml(text)
    }

    async fn start(
        config: ApplianceConfig,
        control: Option<&std::path::Path>,
    ) -> Result<Appliance, GatewayError> {
        Appliance::start(config, control).await
    }

    async fn shutdown(self) {
        Appliance::shutdown(self).await
    }
}
