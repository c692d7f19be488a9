//! AWS's tunnel endpoint replacement (`aws-behaviour.md` §1, \[V9, V10\]), as the VGW's
//! `replace_tunnel` action runs it: one tunnel at a time, traffic is steered off the tunnel
//! first, then its endpoint is replaced, then traffic may return.
//!
//! ```text
//!  replace_tunnel vpn1-t1
//!   1 draining   the VGW stops routing into vpn1-t1 (while another tunnel carries the
//!                prefix) and sends MED REPLACEMENT_MED on its session, so the customer gateway
//!                prefers the tunnel that stays (AWS: "lowers the MED on the other tunnel";
//!                as the VGW sends no MED otherwise, raising it on this one orders them the same)
//!   2 replacing  after the drain time, the IKE SA is deleted (INFORMATIONAL DELETE) and the
//!                endpoint starts over: the customer gateway re-initiates (startup `add`)
//!   3 done       once the tunnel is up with BGP Established again, the MED goes back and the
//!                VGW may route into it again
//! ```
//!
//! Each stage is an event: `vgw.replace.draining`, `vgw.replace.replacing`, `vgw.replace.done`. (inferred) AWS documents neither the drain time nor
//! whether the old endpoint says goodbye: the drain is two BGP keepalive intervals of the
//! profile (time for the customer gateway to take the new MED), and the endpoint sends a
//! DELETE so the customer gateway re-initiates at once rather than after its DPD timeout.
//!
//! What it does not do: replace two tunnels at once (a second request for a tunnel being
//! replaced is refused; AWS replaces one at a time), or change any option (ModifyVpnTunnelOptions
//! is another action).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgp::driver::{NeighborConfig, Speaker};
use bgp::fsm::State;
use control::EventPublisher;
use gateway::bundle::Tunnels;
use serde_json::json;
use tokio::sync::Notify;
use tracing::{info, warn};

/// The MED the VGW sends on a tunnel while it is being replaced.
pub const REPLACEMENT_MED: u32 = 200;
/// How long a replaced tunnel may take to come back before the steering is undone anyway.
const COME_BACK_WITHIN: Duration = Duration::from_secs(180);

/// The tunnels being replaced now.
#[derive(Debug, Default)]
pub struct Replacements(Mutex<BTreeSet<String>>);

impl Replacements {
    /// The names of the tunnels being replaced.
    pub fn names(&self) -> BTreeSet<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn begin(&self, name: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string())
    }

    fn end(&self, name: &str) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}

/// What one replacement works with.
#[derive(Debug)]
pub struct Replacement {
    /// The tunnel.
    pub tunnel: String,
    /// Its BGP neighbor as configured (restored at the end); `None` for a static VPN.
    pub neighbor: Option<NeighborConfig>,
    /// How long traffic gets to move off the tunnel before its endpoint goes.
    pub drain: Duration,
}

/// Starts replacing `r.tunnel`; returns at once (stages follow as events). Refused while the
/// tunnel is already being replaced.
pub fn start(
    r: Replacement,
    replacing: Arc<Replacements>,
    tunnels: Arc<Tunnels>,
    speaker: Option<Arc<Speaker>>,
    changed: Arc<Notify>,
    events: EventPublisher,
) -> Result<(), String> {
    if tunnels.get(&r.tunnel).is_none() {
        return Err(format!("no tunnel {:?}", r.tunnel));
    }
    if !replacing.begin(&r.tunnel) {
        return Err(format!("tunnel {} is already being replaced", r.tunnel));
    }
    changed.notify_one();
    tokio::spawn(async move {
        let stage = |stage: &str| {
            info!(tunnel = %r.tunnel, stage, "endpoint replacement");
            events.publish(
                &format!("vgw.replace.{stage}"),
                json!({ "tunnel": r.tunnel, "stage": stage }),
            );
        };
        stage("draining");
        let address = r.neighbor.as_ref().map(|n| n.address);
        if let (Some(sp), Some(n)) = (&speaker, &r.neighbor) {
            let mut policy = n.peer_policy();
            policy.med = Some(REPLACEMENT_MED);
            if let Err(e) = sp.set_neighbor_policy(n.address, policy).await {
                warn!(tunnel = %r.tunnel, error = %e, "raising the MED");
            }
        }
        tokio::time::sleep(r.drain).await;
        stage("replacing");
        let before = ike_sas_set_up(&tunnels, &r.tunnel).await;
        if let Some(t) = tunnels.get(&r.tunnel)
            && let Err(e) = t.reset().await
        {
            warn!(tunnel = %r.tunnel, error = %e, "resetting the endpoint");
        }
        // Back when a new IKE SA is up (counted, so a fast re-initiation is not missed) with
        // its CHILD_SA and BGP session.
        let deadline = tokio::time::Instant::now() + COME_BACK_WITHIN;
        loop {
            let up = tunnels.states().get(&r.tunnel) == Some(&true);
            let renewed = ike_sas_set_up(&tunnels, &r.tunnel).await > before;
            let established = match (&speaker, address) {
                (Some(sp), Some(a)) => sp.neighbors().await.is_ok_and(|ns| {
                    ns.iter()
                        .any(|n| n.address == a && n.state == State::Established)
                }),
                _ => true,
            };
            if renewed && up && established {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                warn!(tunnel = %r.tunnel, "the replaced endpoint did not come back in time");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if let (Some(sp), Some(n)) = (&speaker, &r.neighbor)
            && let Err(e) = sp.set_neighbor_policy(n.address, n.peer_policy()).await
        {
            warn!(tunnel = %r.tunnel, error = %e, "restoring the MED");
        }
        replacing.end(&r.tunnel);
        changed.notify_one();
        stage("done");
    });
    Ok(())
}

/// How many IKE SAs tunnel `name` has set up so far (0 when unknown).
async fn ike_sas_set_up(tunnels: &Tunnels, name: &str) -> u64 {
    match tunnels.get(name) {
        Some(t) => t.show().await.map_or(0, |s| s.established_count),
        None => 0,
    }
}
