//! A tunnel's protocol-level configuration: the IKE session's settings ([`IkeConfig`]: outside
//! addresses, identities, the pre-shared key, IKE and ESP suites in preference order, traffic
//! selectors, lifetimes, rekey margin and fuzz, DPD interval, timeout and action,
//! retransmission, initiator or responder, restart delay) and what the ESP data plane adds (the
//! anti-replay window), checked against what RFC 7296 and RFC 4303 require.
//!
//! ```text
//!  gateway package (e.g. vgw::tunnel_options: AWS's options, defaults, ranges, timer tables)
//!        |  concrete values
//!        v
//!  TunnelConfig { name, ike: IkeConfig, replay_window }  --validate-->  tunnel::spawn
//! ```
//!
//! What it does not do: defaults or ranges of any product (every value comes from the caller),
//! key character rules, inside addresses, or reading files.

use std::net::SocketAddr;

use crate::esp::replay;
use crate::ike::config::IkeConfig;

/// A tunnel configuration the driver refuses. Names the field; never holds the PSK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An empty name or list.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A value the protocol does not allow.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// One tunnel: its IKE session and its ESP data plane's settings.
#[derive(Debug, Clone)]
pub struct TunnelConfig {
    /// Name for logs, events and `show`.
    pub name: String,
    /// The IKE session (addresses, identities, PSK, suites, selectors, timers).
    pub ike: IkeConfig,
    /// Anti-replay window of the inbound ESP SAs, in packets.
    pub replay_window: u32,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl TunnelConfig {
    /// Our IKE endpoint.
    pub fn local(&self) -> SocketAddr {
        self.ike.local
    }

    /// The peer's IKE endpoint.
    pub fn remote(&self) -> SocketAddr {
        self.ike.remote
    }

    /// Checks what the protocols require (and what this implementation can hold).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let c = &self.ike;
        if self.name.is_empty() {
            return Err(ConfigError::Empty("name"));
        }
        if c.local.is_ipv4() != c.remote.is_ipv4() {
            return Err(invalid(
                "remote",
                "local and remote outside addresses must be of one family",
            ));
        }
        // RFC 7296 §3.3: an SA payload carries at least one proposal.
        if c.ike_suites.is_empty() {
            return Err(ConfigError::Empty("ike_suites"));
        }
        if c.esp_suites.is_empty() {
            return Err(ConfigError::Empty("esp_suites"));
        }
        // RFC 7296 §3.13: a TS payload carries at least one selector.
        if c.local_ts.is_empty() {
            return Err(ConfigError::Empty("local_ts"));
        }
        if c.remote_ts.is_empty() {
            return Err(ConfigError::Empty("remote_ts"));
        }
        // Rekeying (RFC 7296 §2.8) starts `rekey_margin` before a lifetime ends.
        for (field, lifetime) in [
            ("ike_lifetime", c.ike_lifetime),
            ("child_lifetime", c.child_lifetime),
        ] {
            if lifetime <= c.rekey_margin {
                return Err(invalid(
                    field,
                    format!(
                        "{lifetime:?} must be longer than the rekey margin ({:?})",
                        c.rekey_margin
                    ),
                ));
            }
        }
        if c.rekey_fuzz_percent > 100 {
            return Err(invalid(
                "rekey_fuzz_percent",
                format!("{} is more than 100 %", c.rekey_fuzz_percent),
            ));
        }
        // RFC 4303 §3.4.3: at least 32 packets; this bitmap holds up to MAX_WINDOW.
        if !(replay::MIN_WINDOW..=replay::MAX_WINDOW).contains(&self.replay_window) {
            return Err(invalid(
                "replay_window",
                format!(
                    "{} is outside {}..={}",
                    self.replay_window,
                    replay::MIN_WINDOW,
                    replay::MAX_WINDOW
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secret::Secret;

    use super::*;
    use crate::crypto::aead::AeadAlgorithm;
    use crate::crypto::cipher::Cipher;
    use crate::crypto::dh::DhGroup;
    use crate::crypto::prf::PrfAlgorithm;
    use crate::ike::config::{DpdAction, DpdConfig, RetransmitConfig, StartupAction};
    use crate::ike::suite::{EspSuite, IkeSuite};
    use crate::ike::wire::TrafficSelector;

    fn base() -> TunnelConfig {
        TunnelConfig {
            name: "t1".into(),
            ike: IkeConfig {
                local: "192.0.2.1:500".parse().unwrap(),
                remote: "198.51.100.7:500".parse().unwrap(),
                local_id: "192.0.2.1".parse::<std::net::IpAddr>().unwrap().into(),
                remote_id: None,
                psk: Secret::from_slice(b"example.psk_1234"),
                ike_suites: vec![IkeSuite {
                    cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key128),
                    prf: PrfAlgorithm::HmacSha256,
                    dh: DhGroup::Ecp256,
                }],
                esp_suites: vec![EspSuite {
                    cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key128),
                    pfs: Some(DhGroup::Ecp256),
                }],
                local_ts: vec![TrafficSelector::any_v4()],
                remote_ts: vec![TrafficSelector::any_v4()],
                ike_lifetime: Duration::from_secs(28800),
                child_lifetime: Duration::from_secs(3600),
                rekey_margin: Duration::from_secs(270),
                rekey_fuzz_percent: 100,
                dpd: DpdConfig {
                    interval: Duration::from_secs(10),
                    timeout: Duration::from_secs(40),
                    action: DpdAction::Clear,
                },
                retransmit: RetransmitConfig {
                    initial: Duration::from_secs(4),
                    factor: 1.8,
                    max_wait: Duration::from_secs(60),
                    tries: 5,
                },
                half_open_timeout: Duration::from_secs(30),
                startup: StartupAction::Add,
                restart_delay: Duration::from_secs(5),
            },
            replay_window: 1024,
        }
    }

    #[test]
    fn protocol_requirements_are_checked_with_the_field_named() {
        base().validate().unwrap();
        let mut c = base();
        c.ike.ike_suites.clear();
        assert_eq!(c.validate().unwrap_err(), ConfigError::Empty("ike_suites"));
        let mut c = base();
        c.ike.esp_suites.clear();
        assert_eq!(c.validate().unwrap_err(), ConfigError::Empty("esp_suites"));
        let mut c = base();
        c.ike.child_lifetime = Duration::from_secs(270);
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .starts_with("child_lifetime:")
        );
        let mut c = base();
        c.ike.rekey_fuzz_percent = 101;
        assert!(c.validate().is_err());
        let mut c = base();
        c.replay_window = 31;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .starts_with("replay_window:")
        );
        let mut c = base();
        c.ike.remote = "[2001:db8::1]:500".parse().unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn debug_of_the_config_hides_the_psk() {
        let shown = format!("{:?}", base());
        assert!(!shown.contains("example.psk_1234"), "{shown}");
        assert!(shown.contains("psk: ***"), "{shown}");
    }
}
