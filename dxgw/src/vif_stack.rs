//! What both ends of a Direct Connect connection run per VIF, whichever side they are on: the
//! VLAN trunk on the cross-connect with one TAP per VIF (`crates/vlan`), the BFD follower that
//! tears a VIF's BGP session down when BFD fails (RFC 5882 §4.3), and the VLAN-mismatch watch.
//!
//! What it does not do: BGP policy or addresses (each side's daemon decides), or create the
//! cross-connect (the engine does).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bgp::driver::Speaker;
use control::server::EventPublisher;
use serde_json::json;
use tracing::warn;
use vlan::device::{TrunkConfig, VifConfig, VlanTrunk};

use gateway::bundle::GatewayError;

/// One VIF on a trunk: TAP name, VLAN, MTU and the address this side gives it.
#[derive(Debug, Clone)]
pub struct VifPort {
    /// TAP interface name.
    pub name: String,
    /// 802.1Q VLAN ID.
    pub vlan: u16,
    /// MTU.
    pub mtu: u32,
    /// This side's address with its prefix length.
    pub address: ipnet::Ipv4Net,
    /// This side's IPv6 address, when the VIF has an IPv6 session.
    pub address_v6: Option<ipnet::Ipv6Net>,
}

/// Starts one trunk per connection (`(connection name, cross-connect interface, VIFs)`) in the
/// current namespace and configures its interfaces (MTUs, addresses, up).
pub async fn start_trunks(
    connections: Vec<(String, String, Vec<VifPort>)>,
) -> Result<Vec<(String, VlanTrunk)>, GatewayError> {
    let ns = netns::Netns::current().map_err(GatewayError::netns("this namespace"))?;
    let netlink = netns::Netlink::open_current().map_err(GatewayError::netns("netlink"))?;
    let mut trunks = Vec::new();
    for (name, interface, vifs) in connections {
        let mut tc = TrunkConfig::new(&interface);
        for v in vifs {
            let mut vc = VifConfig::new(&v.name, v.vlan, v.mtu);
            vc.addresses = vec![ipnet::IpNet::V4(v.address)];
            vc.addresses.extend(v.address_v6.map(ipnet::IpNet::V6));
            tc = tc.with_vif(vc);
        }
        let trunk = VlanTrunk::start(&ns, tc)
            .map_err(|e| GatewayError::Underlay(format!("connection {name}: {e}")))?;
        trunk
            .configure(&netlink)
            .await
            .map_err(|e| GatewayError::Underlay(format!("connection {name}: {e}")))?;
        trunks.push((name, trunk));
    }
    Ok(trunks)
}

/// Starts BFD on one VIF, a session per address family (`v4`, and `v6` when the VIF has an
/// IPv6 pair; each `(local, peer)`), each followed by [`bfd_follower`] under its BGP session's
/// name (the VIF's, `<vif>-v6` for IPv6). The tasks are returned for the caller to keep.
pub fn start_bfd(
    bfd: &bfd::driver::Bfd,
    vif: &str,
    v4: (IpAddr, IpAddr),
    v6: Option<(IpAddr, IpAddr)>,
    timers: bfd::session::Timers,
    speaker: &Arc<Speaker>,
    publisher: &EventPublisher,
) -> Result<Vec<tokio::task::JoinHandle<()>>, GatewayError> {
    let sessions =
        std::iter::once((vif.to_string(), v4)).chain(v6.map(|pair| (v6_name(vif), pair)));
    let mut tasks = Vec::new();
    for (name, (local, peer)) in sessions {
        let mut config = bfd::driver::SessionConfig::new(local, peer, timers);
        config.ifname = Some(vif.to_string());
        let session = bfd
            .add_session(config)
            .map_err(|e| GatewayError::Bgp(format!("BFD on vif {name}: {e}")))?;
        tasks.push(tokio::spawn(bfd_follower(
            name,
            peer,
            session,
            speaker.clone(),
            publisher.clone(),
        )));
    }
    Ok(tasks)
}

/// The name of a VIF's IPv6 BGP session (and its BFD session): `<vif>-v6`.
pub fn v6_name(vif: &str) -> String {
    format!("{vif}-v6")
}

/// Follows one VIF's BFD session: every change becomes a `dx.bfd` event; a failure (RFC 5882
/// §3.2) stops the VIF's BGP session with a Cease and starts it again, so it reconnects on its
/// own timers once the path is back.
pub async fn bfd_follower(
    vif: String,
    peer: IpAddr,
    session: bfd::driver::SessionHandle,
    speaker: Arc<Speaker>,
    publisher: EventPublisher,
) {
    let mut events = session.events();
    loop {
        match events.recv().await {
            Ok(e) => {
                publisher.publish_at(
                    e.t_ns,
                    "dx.bfd",
                    json!({
                        "vif": vif,
                        "from": e.transition.from,
                        "to": e.transition.to,
                        "diag": e.transition.diag,
                        "failure": e.failure,
                    }),
                );
                if e.failure {
                    warn!(vif = %vif, "BFD down: tearing the BGP session down (RFC 5882)");
                    if let Err(err) = speaker
                        .neighbor_stop(peer, Some("BFD session down".into()))
                        .await
                    {
                        warn!(vif = %vif, error = %err, "stopping BGP after BFD down");
                    }
                    if let Err(err) = speaker.neighbor_start(peer).await {
                        warn!(vif = %vif, error = %err, "restarting BGP after BFD down");
                    }
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => break,
        }
    }
}

/// How often a persisting VLAN mismatch is reported again.
const REPEAT: Duration = Duration::from_secs(3);

/// Watches the trunks' `unknown_vid` counters and reports a VLAN mismatch (`dx.vlan_mismatch`)
/// each time the VLAN seen changes, and again every [`REPEAT`] while it persists.
pub async fn vlan_watch(
    configured: BTreeMap<String, Vec<u16>>,
    trunks: Arc<Vec<(String, VlanTrunk)>>,
    publisher: EventPublisher,
) {
    // Per connection: the VID last reported, the unknown_vid count then, and when.
    let mut reported: BTreeMap<String, (u16, u64, std::time::Instant)> = BTreeMap::new();
    loop {
        for (name, trunk) in trunks.iter() {
            let c = trunk.counters();
            let Some(seen) = c.last_unknown_vid else {
                continue;
            };
            // Once per change of the VID seen, and again every few seconds while such frames
            // keep coming (a subscriber that joined late still hears of it).
            if let Some((vid, count, at)) = reported.get(name)
                && *vid == seen
                && (*count == c.trunk.unknown_vid || at.elapsed() < REPEAT)
            {
                continue;
            }
            reported.insert(
                name.clone(),
                (seen, c.trunk.unknown_vid, std::time::Instant::now()),
            );
            let configured = configured.get(name).cloned().unwrap_or_default();
            warn!(connection = %name, seen, ?configured, "VLAN mismatch");
            publisher.publish(
                "dx.vlan_mismatch",
                json!({
                    "connection": name,
                    "seen_vlan": seen,
                    "configured_vlans": configured,
                    "frames": c.trunk.unknown_vid,
                    "message": format!(
                        "connection {name}: frames tagged VLAN {seen} arrive, but its VIFs use VLAN {}",
                        configured.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
                    ),
                }),
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
