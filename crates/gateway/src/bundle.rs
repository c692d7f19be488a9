//! What every tunnel-terminating daemon shares: its error type, the set of running tunnels with its
//! `show` view, interface naming, and the bridge from BGP and tunnel events to the control
//! socket's event stream (`docs/design.md`, control socket).
//!
//! What it does not do: route selection (each gateway has its own rules).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use bgp::driver::Speaker;
use control::{ActionParams, ErrorBody, ErrorCode, EventPublisher};
use netns::Netlink;
use routing::vgw::TunnelPreference;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tracing::warn;

use crate::error::ConfigError;
use crate::tunnel::{Tunnel, TunnelSpec, TunnelStartError};

/// Why a gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The configuration was refused (nothing was started).
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A kernel operation.
    #[error("{what}: {source}")]
    Netns {
        /// Operation.
        what: &'static str,
        /// Cause.
        source: netns::Error,
    },
    /// A tunnel.
    #[error(transparent)]
    Tunnel(#[from] TunnelStartError),
    /// The BGP speaker.
    #[error("BGP: {0}")]
    Bgp(String),
    /// The control socket.
    #[error("control socket: {0}")]
    Control(String),
    /// The underlay table and rules (`crate::underlay`).
    #[error("underlay: {0}")]
    Underlay(String),
}

impl GatewayError {
    /// Maps a netns error of operation `what`.
    pub fn netns(what: &'static str) -> impl Fn(netns::Error) -> GatewayError {
        move |source| GatewayError::Netns { what, source }
    }
}

/// The longest connection name kept whole in an interface name.
const WHOLE_NAME_MAX: usize = 12;

/// The TUN interface name of tunnel `t` (0-based) of connection `connection`, the gateway's
/// `index`-th (0-based): at most 15 characters (IFNAMSIZ), and different for every tunnel of a
/// gateway by construction, given that connection names are unique per gateway and made of
/// `[a-z0-9-]` (`vgw::config::check_name`):
/// - a name of up to 12 characters is kept whole with `-` spelled `_` (a one-to-one mapping:
///   `vpn-1` gives `vpn_1t1`, `vpn1` gives `vpn1t1`);
/// - a longer one keeps its first 9 characters and adds `~` and its index (`~` never occurs in
///   a name, so these never equal a whole name's; two long names differ in their index).
pub fn ifname(connection: &str, index: usize, t: usize) -> String {
    let spelled = |s: &str| s.replace('-', "_");
    if connection.len() <= WHOLE_NAME_MAX {
        format!("{}t{}", spelled(connection), t + 1)
    } else {
        let head: String = connection.chars().take(9).collect();
        format!("{}~{}t{}", spelled(&head), index % 100, t + 1)
    }
}

#[cfg(test)]
mod ifname_tests {
    use super::ifname;
    use std::collections::HashSet;

    #[test]
    fn names_that_differ_give_interfaces_that_differ() {
        assert_eq!(ifname("vpn1", 0, 0), "vpn1t1");
        assert_eq!(ifname("vpn-1", 1, 0), "vpn_1t1");
        let names = [
            "vpn1",
            "vpn-1",
            "vpn1-",
            "a",
            "abcdefghijkl",
            "abcdefghijklm",
            "abcdefghijklmn",
            "abcdefghi-0",
            "x-very-long-connection-n",
        ];
        let mut seen = HashSet::new();
        for (i, n) in names.iter().enumerate() {
            for t in 0..2 {
                let name = ifname(n, i, t);
                assert!(name.len() <= 15, "{name}");
                assert!(seen.insert(name.clone()), "{name} twice");
            }
        }
    }
}

/// Whether a gateway's tunnel endpoints are one host or one host each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoints {
    /// One host terminates every tunnel (a customer gateway): a packet from any tunnel may be
    /// addressed to any of its inside addresses, and the tunnels share its outside address,
    /// so their sockets are connected to their peers' fixed ports.
    OneHost,
    /// Each tunnel endpoint is its own host, as AWS's two endpoints of a VPN connection are:
    /// a packet decrypted from one tunnel but addressed to another tunnel's inside address is
    /// dropped and counted (`misaddressed`), never delivered by the shared kernel; each has
    /// its own outside address, so its sockets accept the peer from any port (NAT-T).
    OnePerTunnel,
}

/// The running tunnels of one gateway, by name.
#[derive(Debug)]
pub struct Tunnels {
    tunnels: BTreeMap<String, Tunnel>,
}

impl Tunnels {
    /// Starts every tunnel; their events go to `publisher`, their up/down changes notify
    /// `changed`. On a failure, tunnels started so far are closed.
    pub async fn start(
        specs: Vec<TunnelSpec>,
        endpoints: Endpoints,
        netlink: &Netlink,
        publisher: EventPublisher,
        changed: Arc<Notify>,
    ) -> Result<Tunnels, GatewayError> {
        let mut tunnels = BTreeMap::new();
        for spec in &specs {
            let refused = match endpoints {
                Endpoints::OneHost => Vec::new(),
                Endpoints::OnePerTunnel => specs
                    .iter()
                    .filter(|other| other.local_inside != spec.local_inside)
                    .map(|other| IpAddr::V4(other.local_inside))
                    .collect(),
            };
            let p = publisher.clone();
            let started = Tunnel::start(
                spec.clone(),
                refused,
                endpoints == Endpoints::OneHost,
                netlink,
                move |e| {
                    let mut data = e.data.clone();
                    if let Value::Object(m) = &mut data {
                        m.insert("tunnel".into(), Value::String(e.tunnel.clone()));
                    }
                    p.publish_at(e.t_ns, e.kind, data);
                },
                changed.clone(),
            )
            .await;
            match started {
                Ok(t) => {
                    tunnels.insert(spec.name().to_string(), t);
                }
                Err(e) => {
                    for (_, t) in tunnels {
                        t.close().await;
                    }
                    return Err(e.into());
                }
            }
        }
        Ok(Tunnels { tunnels })
    }

    /// Number of tunnels.
    pub fn len(&self) -> usize {
        self.tunnels.len()
    }

    /// True without tunnels.
    pub fn is_empty(&self) -> bool {
        self.tunnels.is_empty()
    }

    /// Up (true) or down, by tunnel name.
    pub fn states(&self) -> BTreeMap<String, bool> {
        self.tunnels
            .iter()
            .map(|(n, t)| (n.clone(), t.is_up()))
            .collect()
    }

    /// One tunnel's configuration.
    pub fn spec(&self, name: &str) -> Option<&TunnelSpec> {
        self.tunnels.get(name).map(Tunnel::spec)
    }

    /// One tunnel.
    pub fn get(&self, name: &str) -> Option<&Tunnel> {
        self.tunnels.get(name)
    }

    /// Tunnel names from most to least preferred among otherwise equal routes.
    pub fn preference_order(&self, preference: TunnelPreference) -> Vec<String> {
        let mut names: Vec<String> = self.tunnels.keys().cloned().collect();
        names.sort_by_key(|n| (preference.rank(n), n.clone()));
        names
    }

    /// The `tunnels` view: per tunnel its addresses, IPsec state and counters, and its BGP
    /// session. Keys never appear (the PSK type prints `***`, and is not included anyway).
    pub async fn show(&self, speaker: Option<&Speaker>) -> Value {
        let neighbors = match speaker {
            Some(sp) => sp.neighbors().await.unwrap_or_default(),
            None => Vec::new(),
        };
        self.show_with(neighbors).await
    }

    /// [`Tunnels::show`] with the BGP neighbors of several speakers (each tunnel's session is
    /// the neighbor named after it).
    pub async fn show_with(&self, neighbors: Vec<bgp::driver::NeighborStatus>) -> Value {
        let mut out = Vec::new();
        for (name, t) in &self.tunnels {
            let spec = t.spec();
            let bgp = neighbors.iter().find(|n| &n.name == name).map(|n| {
                json!({
                    "state": n.state,
                    "established_for_s": n.established_for_s,
                    "prefixes_received": n.ipv4.received,
                    "prefixes_accepted": n.ipv4.accepted,
                    "established_count": n.established_count,
                    "last_down": n.last_down,
                })
            });
            // AWS's LastStatusChange: "updated when changes in IKE (Phase 1), IPSec (Phase
            // 2), or BGP status are detected" (VgwTelemetry): the later of the tunnel's own
            // up/down change and its BGP session's.
            let now_ms = crate::tunnel::unix_ms(std::time::SystemTime::now());
            let bgp_changed = neighbors
                .iter()
                .find(|n| &n.name == name)
                .and_then(|n| n.established_for_s.or(n.down_for_s))
                .map(|s| now_ms.saturating_sub((s * 1000.0) as u64));
            let changed = t.status_changed_unix_ms().max(bgp_changed);
            out.push(json!({
                "name": name,
                "status": if t.is_up() { "UP" } else { "DOWN" },
                "status_changed_unix_ms": changed,
                "interface": spec.ifname,
                "outside": { "local": spec.local_outside(), "remote": spec.remote_outside() },
                "inside": { "cidr": spec.inside_cidr.to_string(), "local": spec.local_inside, "remote": spec.remote_inside },
                "ipsec": t.show().await,
                "bgp": bgp,
            }));
        }
        Value::Array(out)
    }

    /// Closes every tunnel (DELETE to the peers).
    pub async fn close(self) {
        for (_, t) in self.tunnels {
            t.close().await;
        }
    }
}

/// Forwards the speaker's events to the control socket and notifies `changed` on those that
/// can change routes.
pub fn bridge_bgp_events(speaker: &Speaker, publisher: EventPublisher, changed: Arc<Notify>) {
    let mut rx = speaker.subscribe();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    publisher.publish_at(e.t_ns, e.kind, &e.data);
                    if e.kind != "bgp.kernel" {
                        changed.notify_one();
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    warn!(missed = n, "BGP events lagged");
                    changed.notify_one();
                }
                Err(_) => break,
            }
        }
    });
}

/// The `rekey` action: `{"kind":"rekey","tunnel":"vpn1-t1"}`.
pub async fn rekey_action(tunnels: &Tunnels, p: &ActionParams) -> Result<Value, ErrorBody> {
    let name = p
        .args
        .get("tunnel")
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorBody::new(ErrorCode::BadRequest, "rekey needs \"tunnel\""))?;
    let t = tunnels
        .get(name)
        .ok_or_else(|| ErrorBody::new(ErrorCode::NotFound, format!("no tunnel {name:?}")))?;
    t.rekey()
        .await
        .map_err(|e| ErrorBody::new(ErrorCode::Internal, e))?;
    Ok(json!({ "rekeyed": name }))
}
