//! What `show tunnels` prints for one tunnel: IKE state, SPIs, suites, uptime, rekeys, the last
//! failure and the data plane's counters per SA and per tunnel. Never a key or a PSK (the types
//! here have no field that could hold one).
//!
//! What it does not do: render text (the CLI does; this is serialized to JSON).

use serde::Serialize;

/// Data-plane counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Packets received and authenticated.
    pub packets_in: u64,
    /// Octets received (inner).
    pub bytes_in: u64,
    /// Packets sent.
    pub packets_out: u64,
    /// Octets sent (inner).
    pub bytes_out: u64,
    /// Replay drops.
    pub replay_drops: u64,
    /// Integrity failures.
    pub integrity_failures: u64,
    /// Decrypted packets addressed to another tunnel endpoint of the gateway, dropped.
    pub misaddressed: u64,
    /// ESP packets for an SPI with no inbound SA installed (before its install, after its
    /// removal), dropped.
    pub unknown_spi: u64,
    /// Inside packets dropped because no outbound SA was active.
    pub no_outbound_sa: u64,
    /// ESP datagrams or TUN writes the kernel refused (or ICMP errors for earlier sends).
    pub send_errors: u64,
    /// Malformed packets (ESP or inside), dropped.
    pub malformed: u64,
}

/// One CHILD_SA pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChildShow {
    /// Our inbound SPI (hex).
    pub inbound_spi: String,
    /// Our outbound SPI (hex).
    pub outbound_spi: String,
    /// ESP suite.
    pub suite: String,
    /// Seconds since installed.
    pub established_secs: u64,
    /// Seconds to the scheduled rekey.
    pub rekey_in_secs: Option<u64>,
    /// Carries our outbound traffic.
    pub active: bool,
    /// Local selectors.
    pub local_ts: Vec<String>,
    /// Remote selectors.
    pub remote_ts: Vec<String>,
    /// Counters of this pair (absent without a data plane).
    pub counters: Option<Counters>,
}

/// The IKE SA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IkeShow {
    /// Initiator SPI.
    pub spi_i: String,
    /// Responder SPI.
    pub spi_r: String,
    /// IKE suite.
    pub suite: String,
    /// We are its initiator.
    pub initiator: bool,
    /// Seconds since established.
    pub established_secs: u64,
    /// Seconds to the scheduled rekey.
    pub rekey_in_secs: Option<u64>,
    /// The peer's identity.
    pub peer_id: Option<String>,
}

/// One tunnel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TunnelShow {
    /// Name.
    pub name: String,
    /// IKE session state.
    pub state: String,
    /// Our outside address.
    pub local: String,
    /// The peer's address in use.
    pub remote: String,
    /// IKE and ESP on UDP 4500.
    pub nat_t: bool,
    /// Where ESP goes: the peer's NAT-T address and port (a NAT may have chosen the port, and
    /// changed it since; absent before the first CHILD_SA or without a data plane).
    pub esp_peer: Option<String>,
    /// We found our own address translated by a NAT and send NAT keepalives.
    pub behind_nat: bool,
    /// The IKE SA.
    pub ike_sa: Option<IkeShow>,
    /// CHILD_SA pairs.
    pub child_sas: Vec<ChildShow>,
    /// IKE SAs set up (re-establishments included, rekeys not).
    pub established_count: u64,
    /// IKE SA rekeys.
    pub ike_rekeys: u64,
    /// CHILD_SA rekeys.
    pub child_rekeys: u64,
    /// The last failure.
    pub last_failure: Option<String>,
    /// Whole-tunnel counters (absent without a data plane).
    pub counters: Option<Counters>,
}
