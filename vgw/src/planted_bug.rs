//! A deliberately wrong VGW, compiled only with the cargo feature `planted-bug-keep-routes`
//! (off by default; never in a release the README describes): when a BGP session is lost, the
//! VGW keeps the routes it had learned from that peer, selected and installed as before, even
//! while the tunnel is down. The chaos campaign's test (`tests/chaos.rs`) builds `hybridlab`
//! with it and asserts that a campaign reports a violation (traffic blackholed into the dead
//! tunnel for longer than BGP's detection time) whose seed replays it.
//!
//! What it does not do: anything in a normal build (the module is not compiled).

use std::collections::BTreeMap;
use std::sync::Mutex;

use bgp::driver::Speaker;
use bgp::fsm::State;
use routing::vgw::Candidate;

/// What each peer contributed when it was last Established (the daemon has one VGW).
static REMEMBERED: Mutex<BTreeMap<String, Vec<Candidate>>> = Mutex::new(BTreeMap::new());

/// The bug: peers whose session is down keep their last candidates (`candidates` holds this
/// round's, from Established peers on tunnels that are up).
pub async fn keep_routes(speaker: &Speaker, candidates: &mut Vec<Candidate>) {
    let Ok(neighbors) = speaker.neighbors().await else {
        return;
    };
    let mut remembered = REMEMBERED.lock().unwrap_or_else(|p| p.into_inner());
    for n in neighbors {
        if n.state == State::Established {
            let now: Vec<Candidate> = candidates
                .iter()
                .filter(|c| c.via == n.name)
                .cloned()
                .collect();
            if !now.is_empty() {
                remembered.insert(n.name.clone(), now);
            }
        } else if let Some(old) = remembered.get(&n.name) {
            candidates.extend(old.iter().cloned());
        }
    }
}
