//! Speaker and neighbor configuration: what `hl-bgpd` reads from TOML and what gateways build in
//! code. Unknown keys are errors (`deny_unknown_fields`); values are checked in
//! [`SpeakerConfig::validate`] with messages that name the neighbor and the field.
//!
//! ```toml
//! asn = 64512
//! router_id = "10.0.0.1"
//! timers = { hold_time = 90, keepalive = 30, connect_retry = 120 }   # RFC 4271 §10 defaults
//! listen = ["0.0.0.0:179"]
//! kernel = { table = 254 }        # omit: no kernel install
//! networks = [{ prefix = "10.1.0.0/16" }]
//!
//! [[neighbor]]
//! address = "169.254.10.1"
//! remote_as = 65000
//! password = "md5-key"            # never logged, never shown
//! max_prefix = { limit = 100, restart_after = 30 }
//! ```
//!
//! What it does not do: reload. A changed configuration is applied by restarting, or through
//! [`super::Speaker`]'s methods.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use secret::Secret;
use serde::{Deserialize, Serialize};

use crate::fsm::config::{
    DEFAULT_CONNECT_RETRY, DEFAULT_IDLE_HOLD, DEFAULT_IDLE_HOLD_MAX, DEFAULT_KEEPALIVE,
};
use crate::fsm::{HoldTime, SessionConfig};
use crate::rib::{MaxPrefix, PeerPolicy, PrefixList};
use crate::wire::{Community, Family, Prefix};

/// The speaker's session timers, the default of every neighbor (a neighbor may set its own
/// `hold_time`, `keepalive` and `connect_retry`). Unset fields take RFC 4271 §10's suggested
/// values: hold 90 s, keepalive 30 s, ConnectRetry 120 s; idle hold (the automatic-restart
/// backoff, which RFC 4271 leaves to the implementation) 1 s doubling up to 60 s. Durations
/// are seconds in TOML (fractions allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timers {
    /// Hold time we propose.
    #[serde(default = "d_hold")]
    pub hold_time: HoldTime,
    /// Keepalive interval in seconds (capped at a third of the negotiated hold time).
    #[serde(default = "d_keepalive")]
    pub keepalive: u16,
    /// ConnectRetry.
    #[serde(default = "d_connect_retry", with = "secs")]
    pub connect_retry: Duration,
    /// First wait in Idle before an automatic restart; doubles per consecutive failure.
    #[serde(default = "d_idle_hold", with = "secs")]
    pub idle_hold: Duration,
    /// Longest wait in Idle between automatic restarts.
    #[serde(default = "d_idle_hold_max", with = "secs")]
    pub idle_hold_max: Duration,
}

fn d_hold() -> HoldTime {
    HoldTime::DEFAULT
}
fn d_keepalive() -> u16 {
    DEFAULT_KEEPALIVE
}
fn d_connect_retry() -> Duration {
    DEFAULT_CONNECT_RETRY
}
fn d_idle_hold() -> Duration {
    DEFAULT_IDLE_HOLD
}
fn d_idle_hold_max() -> Duration {
    DEFAULT_IDLE_HOLD_MAX
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            hold_time: d_hold(),
            keepalive: d_keepalive(),
            connect_retry: d_connect_retry(),
            idle_hold: d_idle_hold(),
            idle_hold_max: d_idle_hold_max(),
        }
    }
}

/// A duration as (fractional) seconds.
mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(|_| {
            serde::de::Error::custom(format!("{v} is not a duration in seconds (0 or more)"))
        })
    }
}

/// Kernel route installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelConfig {
    /// Routing table number (254: main).
    #[serde(default = "main_table")]
    pub table: u32,
}

fn main_table() -> u32 {
    254
}

/// A prefix this speaker originates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The prefix.
    pub prefix: Prefix,
    /// MED to attach.
    #[serde(default)]
    pub med: Option<u32>,
    /// Communities to attach.
    #[serde(default)]
    pub communities: Vec<Community>,
}

/// One neighbor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeighborConfig {
    /// Neighbor address.
    pub address: IpAddr,
    /// Neighbor AS.
    pub remote_as: u32,
    /// Name in show output and events (default: the address).
    #[serde(default)]
    pub name: Option<String>,
    /// Our AS towards this neighbor (default: the speaker's).
    #[serde(default)]
    pub local_as: Option<u32>,
    /// Our BGP Identifier towards this neighbor (default: the speaker's `router_id`): one
    /// speaker can stand for several routers, as the two tunnel endpoints of an AWS VPN
    /// connection, each its own host with its own identifier (RFC 4271 §4.2, RFC 6286 §2.1:
    /// unique within the AS, which these are).
    #[serde(default)]
    pub router_id: Option<Ipv4Addr>,
    /// Source address for outgoing connections.
    #[serde(default)]
    pub local_address: Option<IpAddr>,
    /// The interface the session's connections use (SO_BINDTODEVICE), outgoing and, when a
    /// `listen` address is this neighbor's `local_address`, incoming: for an address that is
    /// also in use on another interface (a transit gateway's VPN attachments may share an
    /// inside /30).
    #[serde(default)]
    pub bind_device: Option<String>,
    /// TCP port of the neighbor (179).
    #[serde(default = "bgp_port")]
    pub port: u16,
    /// Wait for the neighbor to connect; never connect ourselves.
    #[serde(default)]
    pub passive: bool,
    /// Start administratively down.
    #[serde(default)]
    pub shutdown: bool,
    /// Hold time in seconds (default: the speaker's `timers`).
    #[serde(default)]
    pub hold_time: Option<HoldTime>,
    /// Keepalive interval in seconds (default: the speaker's `timers`).
    #[serde(default)]
    pub keepalive: Option<u16>,
    /// ConnectRetry in seconds (default: the speaker's `timers`).
    #[serde(default)]
    pub connect_retry: Option<f64>,
    /// DelayOpen in seconds (off by default).
    #[serde(default)]
    pub delay_open: Option<f64>,
    /// TCP MD5 password (RFC 2385), 1 to 80 characters (the kernel's key limit).
    #[serde(default)]
    pub password: Option<Secret<String>>,
    /// TTL of our packets: 1 for eBGP unless `ebgp_multihop` says more; 255 for iBGP.
    #[serde(default)]
    pub ebgp_multihop: Option<u8>,
    /// GTSM (RFC 5082): accept packets only from this many hops away (sets TTL 255 and the
    /// minimum TTL 256 - hops).
    #[serde(default)]
    pub ttl_security: Option<u8>,
    /// Families to negotiate (default: IPv4 and IPv6 unicast).
    #[serde(default = "both_families")]
    pub families: Vec<Family>,
    /// Maximum number of prefixes per family.
    #[serde(default)]
    pub max_prefix: Option<MaxPrefix>,
    /// At most this many prefixes per family advertised to the neighbor.
    #[serde(default)]
    pub max_advertise: Option<u32>,
    /// Prefixes accepted from the neighbor.
    #[serde(default)]
    pub import_filter: PrefixList,
    /// Prefixes advertised to the neighbor.
    #[serde(default)]
    pub export_filter: PrefixList,
    /// Advertise only what this speaker originates (see `PeerPolicy::export_local_only`).
    #[serde(default)]
    pub export_local_only: bool,
    /// Extra prepends of our AS on export.
    #[serde(default)]
    pub as_path_prepend: u8,
    /// MED on routes advertised to the neighbor.
    #[serde(default)]
    pub med: Option<u32>,
    /// Communities added on export.
    #[serde(default)]
    pub add_communities: Vec<Community>,
    /// Next hop self towards an iBGP neighbor.
    #[serde(default)]
    pub next_hop_self: bool,
    /// LOCAL_PREF for routes from this neighbor.
    #[serde(default)]
    pub local_pref: Option<u32>,
    /// IPv4 next hop to announce when the session runs over IPv6.
    #[serde(default)]
    pub next_hop_v4: Option<Ipv4Addr>,
    /// IPv6 next hop to announce when the session runs over IPv4.
    #[serde(default)]
    pub next_hop_v6: Option<Ipv6Addr>,
    /// Graceful restart time we announce as helper (RFC 4724); 0 turns graceful restart off.
    #[serde(default = "gr_time")]
    pub graceful_restart_time: u16,
}

fn bgp_port() -> u16 {
    179
}
fn both_families() -> Vec<Family> {
    vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
}
fn gr_time() -> u16 {
    120
}

impl NeighborConfig {
    /// A neighbor with defaults for everything but address and AS.
    pub fn new(address: IpAddr, remote_as: u32) -> Self {
        NeighborConfig {
            address,
            remote_as,
            name: None,
            local_as: None,
            local_address: None,
            bind_device: None,
            port: 179,
            router_id: None,
            passive: false,
            shutdown: false,
            hold_time: None,
            keepalive: None,
            connect_retry: None,
            delay_open: None,
            password: None,
            ebgp_multihop: None,
            ttl_security: None,
            families: both_families(),
            max_prefix: None,
            max_advertise: None,
            import_filter: PrefixList::default(),
            export_filter: PrefixList::default(),
            export_local_only: false,
            as_path_prepend: 0,
            med: None,
            add_communities: Vec::new(),
            next_hop_self: false,
            local_pref: None,
            next_hop_v4: None,
            next_hop_v6: None,
            graceful_restart_time: 120,
        }
    }

    /// Display name.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.address.to_string())
    }

    /// The FSM configuration for this neighbor.
    pub fn session_config(&self, speaker: &SpeakerConfig) -> SessionConfig {
        let mut c = SessionConfig::new(
            self.local_as.unwrap_or(speaker.asn),
            self.remote_as,
            self.router_id.unwrap_or(speaker.router_id),
        );
        let t = &speaker.timers;
        c.hold_time = self.hold_time.unwrap_or(t.hold_time);
        c.keepalive = self.keepalive.unwrap_or(t.keepalive);
        // OpenSent's "large value" (RFC 4271 §8.2.2 suggests 4 minutes; a local choice, as
        // BIRD's `startup hold time`): four of our hold times, at most 4 minutes, so a lost
        // OPEN under short test timers costs seconds, not minutes. A hold time of 0 (no
        // keepalives) keeps the 4 minutes.
        if c.hold_time.secs() > 0 {
            c.open_hold = (Duration::from_secs(u64::from(c.hold_time.secs())) * 4)
                .min(Duration::from_secs(240));
        }
        c.connect_retry = self
            .connect_retry
            .map(Duration::from_secs_f64)
            .unwrap_or(t.connect_retry);
        c.idle_hold = t.idle_hold;
        c.idle_hold_max = t.idle_hold_max;
        c.passive = self.passive;
        c.delay_open = self.delay_open.map(Duration::from_secs_f64);
        c.families = self.families.clone();
        c.graceful_restart = (self.graceful_restart_time > 0).then_some(self.graceful_restart_time);
        c
    }

    /// The RIB's per-neighbor policy options.
    pub fn peer_policy(&self) -> PeerPolicy {
        PeerPolicy {
            import_filter: self.import_filter.clone(),
            export_filter: self.export_filter.clone(),
            export_local_only: self.export_local_only,
            as_path_prepend: self.as_path_prepend,
            med: self.med,
            add_communities: self.add_communities.clone(),
            next_hop_self: self.next_hop_self,
            max_prefix: self.max_prefix,
            max_advertise: self.max_advertise,
            local_pref: self.local_pref,
            next_hop_v4: self.next_hop_v4,
            next_hop_v6: self.next_hop_v6,
        }
    }

    /// TTL for our packets and the minimum TTL we accept, from multihop / GTSM / eBGP-iBGP.
    pub fn ttls(&self, local_as: u32) -> (u8, Option<u8>) {
        if let Some(hops) = self.ttl_security {
            return (255, Some(255u8.saturating_sub(hops.saturating_sub(1))));
        }
        if self.remote_as == self.local_as.unwrap_or(local_as) {
            return (255, None);
        }
        (self.ebgp_multihop.unwrap_or(1), None)
    }
}

/// The whole speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeakerConfig {
    /// Our AS.
    pub asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Session timers of every neighbor (RFC 4271 §10's values when omitted).
    #[serde(default)]
    pub timers: Timers,
    /// Addresses to accept connections on (empty: no listener, outgoing only).
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    /// ECMP width.
    #[serde(default = "one")]
    pub max_paths: u8,
    /// Install selected routes into the kernel.
    #[serde(default)]
    pub kernel: Option<KernelConfig>,
    /// Prefixes to originate.
    #[serde(default)]
    pub networks: Vec<NetworkConfig>,
    /// Neighbors.
    #[serde(default, rename = "neighbor")]
    pub neighbors: Vec<NeighborConfig>,
}

fn default_listen() -> Vec<SocketAddr> {
    vec![
        "0.0.0.0:179".parse().expect("valid"),
        "[::]:179".parse().expect("valid"),
    ]
}
fn one() -> u8 {
    1
}

/// Longest TCP MD5 key the kernel takes (TCP_MD5SIG_MAXKEYLEN).
const MD5_KEY_MAX: usize = 80;

/// A configuration that cannot work, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// Where: `neighbor[169.254.0.1].hold_time`, `router_id`, ...
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl SpeakerConfig {
    /// A speaker with no neighbors.
    pub fn new(asn: u32, router_id: Ipv4Addr) -> Self {
        SpeakerConfig {
            asn,
            router_id,
            timers: Timers::default(),
            listen: default_listen(),
            max_paths: 1,
            kernel: None,
            networks: Vec::new(),
            neighbors: Vec::new(),
        }
    }

    /// Parses TOML; the error names line, column and field.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let c: SpeakerConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// Checks values serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: String, message: &str| ConfigError {
            field,
            message: message.into(),
        };
        if self.asn == 0 || self.asn == u32::from(crate::wire::open::AS_TRANS) {
            return Err(err(
                "asn".into(),
                "0 and 23456 (AS_TRANS) are not valid ASNs",
            ));
        }
        if self.router_id.is_unspecified() {
            return Err(err("router_id".into(), "must not be 0.0.0.0"));
        }
        if self.max_paths == 0 || usize::from(self.max_paths) > crate::rib::MAX_ECMP {
            return Err(err("max_paths".into(), "must be 1 to 16"));
        }
        let t = &self.timers;
        if t.hold_time.secs() > 0 && t.keepalive > t.hold_time.secs() / 3 {
            return Err(err(
                "timers.keepalive".into(),
                "must be at most a third of hold_time",
            ));
        }
        if t.connect_retry > Duration::from_secs(3600) {
            return Err(err(
                "timers.connect_retry".into(),
                "must be between 0 and 3600 seconds",
            ));
        }
        if t.idle_hold > t.idle_hold_max {
            return Err(err(
                "timers.idle_hold".into(),
                "must not be longer than idle_hold_max",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for n in &self.neighbors {
            let at = |f: &str| format!("neighbor[{}].{f}", n.address);
            if !seen.insert(n.address) {
                return Err(err(at("address"), "configured twice"));
            }
            if n.remote_as == 0 {
                return Err(err(at("remote_as"), "0 is not a valid ASN"));
            }
            if n.router_id.is_some_and(|id| id.is_unspecified()) {
                return Err(err(at("router_id"), "must not be 0.0.0.0"));
            }
            if let Some(pw) = &n.password
                && !(1..=MD5_KEY_MAX).contains(&pw.expose().len())
            {
                return Err(err(
                    at("password"),
                    "must be 1 to 80 characters (TCP MD5 key limit)",
                ));
            }
            if n.families.is_empty() {
                return Err(err(at("families"), "at least one family is needed"));
            }
            if let (Some(k), Some(h)) = (n.keepalive, n.hold_time)
                && h.secs() > 0
                && k > h.secs() / 3
            {
                return Err(err(at("keepalive"), "must be at most a third of hold_time"));
            }
            for (name, v) in [
                ("connect_retry", n.connect_retry),
                ("delay_open", n.delay_open),
            ] {
                if let Some(v) = v
                    && !(0.0..=3600.0).contains(&v)
                {
                    return Err(err(at(name), "must be between 0 and 3600 seconds"));
                }
            }
            if n.ttl_security.is_some() && n.ebgp_multihop.is_some() {
                return Err(err(
                    at("ttl_security"),
                    "cannot be combined with ebgp_multihop",
                ));
            }
            if n.ebgp_multihop == Some(0) || n.ttl_security == Some(0) {
                return Err(err(at("ebgp_multihop"), "hop counts start at 1"));
            }
            if let Some(mp) = n.max_prefix
                && mp.limit == 0
            {
                return Err(err(at("max_prefix.limit"), "must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
        asn = 64512
        router_id = "10.0.0.1"
        timers = { hold_time = 3, keepalive = 1, connect_retry = 1, idle_hold = 0.5, idle_hold_max = 10 }
        kernel = { table = 100 }
        networks = [{ prefix = "10.1.0.0/16", med = 5 }]

        [[neighbor]]
        address = "169.254.10.1"
        remote_as = 65000
        password = "s3cret"
        max_prefix = { limit = 100, restart_after = 30 }
        import_filter = [{ prefix = "10.0.0.0/8", le = 24, action = "permit" }]
        add_communities = ["7224:7300", "no-export"]
    "#;

    #[test]
    fn parses_sample_and_hides_password() {
        let c = SpeakerConfig::from_toml(SAMPLE).unwrap();
        let n = &c.neighbors[0];
        assert_eq!(n.password.as_ref().unwrap().expose(), "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(!serde_json::to_string(&c).unwrap().contains("s3cret"));
        let s = n.session_config(&c);
        assert_eq!((s.hold_time.secs(), s.keepalive), (3, 1));
        assert_eq!(
            s.open_hold,
            Duration::from_secs(12),
            "OpenSent: four hold times"
        );
        assert_eq!(
            (s.connect_retry, s.idle_hold, s.idle_hold_max),
            (
                Duration::from_secs(1),
                Duration::from_millis(500),
                Duration::from_secs(10)
            )
        );
        assert_eq!(
            n.peer_policy().max_prefix.unwrap().restart_after,
            Some(Duration::from_secs(30))
        );
        assert_eq!(n.ttls(64512), (1, None));
    }

    #[test]
    fn timers_default_to_rfc_4271() {
        let c = SpeakerConfig::from_toml("asn = 1\nrouter_id = \"1.1.1.1\"\n").unwrap();
        let s = NeighborConfig::new("10.0.0.2".parse().unwrap(), 2).session_config(&c);
        assert_eq!((s.hold_time.secs(), s.keepalive), (90, 30));
        assert_eq!(s.connect_retry, Duration::from_secs(120));
        assert_eq!(
            s.open_hold,
            Duration::from_secs(240),
            "OpenSent: at most 4 minutes"
        );
        let e = SpeakerConfig::from_toml(
            "asn = 1\nrouter_id = \"1.1.1.1\"\ntimers = { hold_time = 9, keepalive = 5 }\n",
        )
        .unwrap_err();
        assert!(e.contains("timers.keepalive"), "{e}");
        let e = SpeakerConfig::from_toml(
            "asn = 1\nrouter_id = \"1.1.1.1\"\n[[neighbor]]\naddress = \"10.0.0.2\"\nremote_as = 2\npassword = \"\"\n",
        )
        .unwrap_err();
        assert!(e.contains("neighbor[10.0.0.2].password"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e =
            SpeakerConfig::from_toml("asn = 1\nrouter_id = \"1.1.1.1\"\nbogus = 1\n").unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = SpeakerConfig::from_toml(
            "asn = 1\nrouter_id = \"1.1.1.1\"\n[[neighbor]]\naddress = \"10.0.0.2\"\nremote_as = 2\nhold_time = 2\n",
        )
        .unwrap_err();
        assert!(e.contains("hold time 2"), "{e}");
        let e = SpeakerConfig::from_toml(
            "asn = 1\nrouter_id = \"1.1.1.1\"\n[[neighbor]]\naddress = \"10.0.0.2\"\nremote_as = 2\nhold_time = 9\nkeepalive = 5\n",
        )
        .unwrap_err();
        assert!(e.contains("neighbor[10.0.0.2].keepalive"), "{e}");
    }

    #[test]
    fn gtsm_and_multihop_ttls() {
        let mut n = NeighborConfig::new("10.0.0.2".parse().unwrap(), 65001);
        n.ebgp_multihop = Some(2);
        assert_eq!(n.ttls(64512), (2, None));
        n.ebgp_multihop = None;
        n.ttl_security = Some(1);
        assert_eq!(n.ttls(64512), (255, Some(255)));
        let ibgp = NeighborConfig::new("10.0.0.3".parse().unwrap(), 64512);
        assert_eq!(ibgp.ttls(64512), (255, None));
    }
}
