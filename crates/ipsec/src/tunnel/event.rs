//! Tunnel events for the control socket's event stream (docs/design.md): a kind such as
//! `ipsec.child_up` and a JSON body an operator can read. Timestamps are CLOCK_MONOTONIC
//! nanoseconds, the clock every process on the machine shares.
//!
//! Kinds: `ipsec.state`, `ipsec.ike_up`, `ipsec.ike_rekeyed`, `ipsec.ike_down`, `ipsec.child_up`,
//! `ipsec.child_down`, `ipsec.failed`, `ipsec.dpd_dead`, `ipsec.dataplane`.
//!
//! What it does not do: deliver events (the daemon publishes them), or carry keys: a body holds
//! SPIs, suites, identities and reasons only.

use serde::Serialize;
use serde_json::json;

use crate::ike::session::Event;

/// One event of one tunnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TunnelEvent {
    /// CLOCK_MONOTONIC nanoseconds.
    pub t_ns: u64,
    /// The tunnel's name.
    pub tunnel: String,
    /// Event kind.
    pub kind: &'static str,
    /// Details.
    pub data: serde_json::Value,
}

fn spi(v: u32) -> String {
    format!("{v:08x}")
}

/// Kind and body of an IKE session event.
pub fn describe(e: &Event) -> (&'static str, serde_json::Value) {
    match e {
        Event::StateChanged { from, to } => (
            "ipsec.state",
            json!({ "from": from.name(), "to": to.name() }),
        ),
        Event::IkeSaEstablished {
            spi_i,
            spi_r,
            suite,
            initiator,
            peer_id,
            nat_t,
        } => (
            "ipsec.ike_up",
            json!({
                "spi_i": format!("{spi_i:016x}"), "spi_r": format!("{spi_r:016x}"),
                "suite": suite.name(), "initiator": initiator,
                "peer_id": peer_id.to_string(), "nat_t": nat_t,
            }),
        ),
        Event::IkeSaRekeyed { old, new } => (
            "ipsec.ike_rekeyed",
            json!({
                "old": [format!("{:016x}", old.0), format!("{:016x}", old.1)],
                "new": [format!("{:016x}", new.0), format!("{:016x}", new.1)],
            }),
        ),
        Event::IkeSaDeleted {
            spi_i,
            spi_r,
            reason,
        } => (
            "ipsec.ike_down",
            json!({
                "spi_i": format!("{spi_i:016x}"), "spi_r": format!("{spi_r:016x}"), "reason": reason,
            }),
        ),
        Event::ChildSaInstalled {
            inbound_spi,
            outbound_spi,
            suite,
            rekey_of,
        } => (
            "ipsec.child_up",
            json!({
                "inbound_spi": spi(*inbound_spi), "outbound_spi": spi(*outbound_spi),
                "suite": suite.name(), "rekey_of": rekey_of.map(spi),
            }),
        ),
        Event::ChildSaDeleted {
            inbound_spi,
            outbound_spi,
            reason,
        } => (
            "ipsec.child_down",
            json!({
                "inbound_spi": spi(*inbound_spi), "outbound_spi": spi(*outbound_spi), "reason": reason,
            }),
        ),
        Event::Failed { exchange, failure } => (
            "ipsec.failed",
            json!({ "exchange": exchange, "reason": failure.to_string() }),
        ),
        Event::PeerDead { action } => ("ipsec.dpd_dead", json!({ "action": action.name() })),
    }
}
