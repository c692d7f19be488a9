//! AWS's Site-to-Site VPN tunnel options (`aws-behaviour.md` §1): names as in the EC2 API,
//! AWS's defaults and ranges, and their translation into the protocol-level tunnel
//! configuration `ipsec::tunnel::TunnelConfig` (suites, lifetimes, DPD, startup, replay window,
//! plus the profile's timers from [`crate::timers`]).
//!
//! ```toml
//! [connection.tunnel.options]          # AWS defaults when omitted
//! startup_action = "add"
//! dpd_timeout_seconds = 40
//! phase1_encryption_algorithms = ["AES256-GCM-16"]
//! ```
//!
//! Algorithm lists are in preference order; as responder the emulated AWS end walks its own list
//! and takes the first entry the peer offers ("AWS picks from the CGW's proposals starting from
//! its own lowest configured value"). (inferred) The default order is AWS's own listing order,
//! lowest first: AES128-GCM-16, AES256-GCM-16; SHA2-256, -384, -512; groups 19, 20. The emulator
//! adds CHACHA20-POLY1305 and group 31 (RFC 7634, RFC 8031) at the end of the defaults, so
//! strongSwan's `chacha20poly1305-prfsha256-x25519` works unchanged.
//!
//! With AEAD ciphers (all the emulator implements) the integrity option selects the IKE PRF:
//! SHA2-256 -> PRF_HMAC_SHA2_256 and so on. (inferred) AWS does not document the mapping.
//!
//! What it does not do: AES-CBC, SHA1 and MODP groups, which AWS offers and this emulator does
//! not implement yet: they are refused with an error that says so, rather than silently dropped.
//! Nor inside CIDRs or PSKs (their rules are in [`crate::config`] and [`crate::psk`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ipnet::Ipv4Net;
use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::dh::DhGroup;
use ipsec::crypto::prf::PrfAlgorithm;
use ipsec::ike::config::{DpdAction, DpdConfig, IkeConfig, StartupAction};
use ipsec::ike::suite::{EspSuite, IkeSuite};
use ipsec::ike::wire::TrafficSelector;
use ipsec::tunnel::TunnelConfig;
use serde::{Deserialize, Serialize};

use engine::model::timing::Profile;

use crate::psk::Psk;
use crate::timers;

/// Tunnel options AWS would refuse. Names the option; never holds a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// A number outside AWS's range.
    #[error("{field} = {value} is outside the allowed range {range}")]
    Range {
        /// The option.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The allowed range, as text.
        range: String,
    },
    /// An algorithm name AWS does not know.
    #[error("{field}: unknown value {value:?} (allowed: {allowed})")]
    Unknown {
        /// The option.
        field: &'static str,
        /// The value given.
        value: String,
        /// The allowed values.
        allowed: &'static str,
    },
    /// An AWS option value the emulator does not implement yet.
    #[error("{field}: {value} is an AWS option this emulator does not implement yet")]
    NotImplemented {
        /// The option.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// An empty list.
    #[error("{0} must not be empty")]
    Empty(&'static str),
}

/// AWS startup action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Startup {
    /// The customer gateway initiates (AWS default).
    #[default]
    Add,
    /// AWS initiates (IKEv2 only).
    Start,
}

/// AWS DPD timeout action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DpdTimeoutAction {
    /// Tear down (AWS default).
    #[default]
    Clear,
    /// Tear down and re-initiate.
    Restart,
    /// Do nothing.
    None,
}

impl Startup {
    /// The IKE session's role.
    pub fn ike(self) -> StartupAction {
        match self {
            Startup::Add => StartupAction::Add,
            Startup::Start => StartupAction::Start,
        }
    }
}

impl DpdTimeoutAction {
    /// The IKE session's DPD action.
    pub fn ike(self) -> DpdAction {
        match self {
            DpdTimeoutAction::Clear => DpdAction::Clear,
            DpdTimeoutAction::Restart => DpdAction::Restart,
            DpdTimeoutAction::None => DpdAction::None,
        }
    }
}

fn d_enc() -> Vec<String> {
    ["AES128-GCM-16", "AES256-GCM-16", "CHACHA20-POLY1305"]
        .map(String::from)
        .to_vec()
}
fn d_integ() -> Vec<String> {
    ["SHA2-256", "SHA2-384", "SHA2-512"]
        .map(String::from)
        .to_vec()
}
fn d_dh() -> Vec<u16> {
    vec![19, 20, 31]
}
fn d_p1_life() -> u32 {
    28800
}
fn d_p2_life() -> u32 {
    3600
}
fn d_margin() -> u32 {
    270
}
fn d_fuzz() -> u8 {
    100
}
fn d_replay() -> u32 {
    1024
}
fn d_dpd() -> u32 {
    40
}
fn d_any() -> Ipv4Net {
    Ipv4Net::default()
}

/// AWS's tunnel options, named as in the EC2 API (`VpnTunnelOptionsSpecification`), snake case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TunnelOptions {
    /// `add` (default) or `start`.
    #[serde(default)]
    pub startup_action: Startup,
    /// Seconds without an answer before the peer is declared dead (default 40, at least 30).
    #[serde(default = "d_dpd")]
    pub dpd_timeout_seconds: u32,
    /// What then: `clear` (default), `restart`, `none`.
    #[serde(default)]
    pub dpd_timeout_action: DpdTimeoutAction,
    /// Phase 1 ciphers: AES128-GCM-16, AES256-GCM-16, CHACHA20-POLY1305.
    #[serde(default = "d_enc")]
    pub phase1_encryption_algorithms: Vec<String>,
    /// Phase 1 integrity (the PRF with AEAD ciphers): SHA2-256, SHA2-384, SHA2-512.
    #[serde(default = "d_integ")]
    pub phase1_integrity_algorithms: Vec<String>,
    /// Phase 1 DH groups: 19, 20, 31.
    #[serde(default = "d_dh")]
    pub phase1_dh_group_numbers: Vec<u16>,
    /// IKE SA lifetime, 900..=28800 (default 28800).
    #[serde(default = "d_p1_life")]
    pub phase1_lifetime_seconds: u32,
    /// Phase 2 ciphers.
    #[serde(default = "d_enc")]
    pub phase2_encryption_algorithms: Vec<String>,
    /// Phase 2 integrity (unused with AEAD ciphers; validated for AWS compatibility).
    #[serde(default = "d_integ")]
    pub phase2_integrity_algorithms: Vec<String>,
    /// Phase 2 (PFS) DH groups.
    #[serde(default = "d_dh")]
    pub phase2_dh_group_numbers: Vec<u16>,
    /// CHILD_SA lifetime, 900..=3600 and below phase 1 (default 3600).
    #[serde(default = "d_p2_life")]
    pub phase2_lifetime_seconds: u32,
    /// Rekey this long before expiry, 60..=phase2/2 (default 270).
    #[serde(default = "d_margin")]
    pub rekey_margin_time_seconds: u32,
    /// Random part of the margin, 0..=100 % (default 100).
    #[serde(default = "d_fuzz")]
    pub rekey_fuzz_percentage: u8,
    /// Anti-replay window, 64..=2048 packets (default 1024).
    #[serde(default = "d_replay")]
    pub replay_window_size: u32,
    /// Our side's traffic selector (default 0.0.0.0/0, route-based).
    #[serde(default = "d_any")]
    pub local_ipv4_network_cidr: Ipv4Net,
    /// The peer's side (default 0.0.0.0/0).
    #[serde(default = "d_any")]
    pub remote_ipv4_network_cidr: Ipv4Net,
}

impl Default for TunnelOptions {
    fn default() -> Self {
        TunnelOptions {
            startup_action: Startup::Add,
            dpd_timeout_seconds: d_dpd(),
            dpd_timeout_action: DpdTimeoutAction::Clear,
            phase1_encryption_algorithms: d_enc(),
            phase1_integrity_algorithms: d_integ(),
            phase1_dh_group_numbers: d_dh(),
            phase1_lifetime_seconds: d_p1_life(),
            phase2_encryption_algorithms: d_enc(),
            phase2_integrity_algorithms: d_integ(),
            phase2_dh_group_numbers: d_dh(),
            phase2_lifetime_seconds: d_p2_life(),
            rekey_margin_time_seconds: d_margin(),
            rekey_fuzz_percentage: d_fuzz(),
            replay_window_size: d_replay(),
            local_ipv4_network_cidr: d_any(),
            remote_ipv4_network_cidr: d_any(),
        }
    }
}

fn range(field: &'static str, value: u64, lo: u64, hi: u64) -> Result<(), OptionsError> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(OptionsError::Range {
            field,
            value,
            range: format!("{lo}..={hi}"),
        })
    }
}

fn aead(field: &'static str, name: &str) -> Result<AeadAlgorithm, OptionsError> {
    match name {
        "AES128-GCM-16" => Ok(AeadAlgorithm::AesGcm16Key128),
        "AES256-GCM-16" => Ok(AeadAlgorithm::AesGcm16Key256),
        "CHACHA20-POLY1305" => Ok(AeadAlgorithm::ChaCha20Poly1305),
        "AES128" | "AES256" => Err(OptionsError::NotImplemented {
            field,
            value: format!("{name} (CBC)"),
        }),
        _ => Err(OptionsError::Unknown {
            field,
            value: name.into(),
            allowed: "AES128, AES256, AES128-GCM-16, AES256-GCM-16, CHACHA20-POLY1305",
        }),
    }
}

fn prf(field: &'static str, name: &str) -> Result<PrfAlgorithm, OptionsError> {
    match name {
        "SHA2-256" => Ok(PrfAlgorithm::HmacSha256),
        "SHA2-384" => Ok(PrfAlgorithm::HmacSha384),
        "SHA2-512" => Ok(PrfAlgorithm::HmacSha512),
        "SHA1" => Err(OptionsError::NotImplemented {
            field,
            value: name.into(),
        }),
        _ => Err(OptionsError::Unknown {
            field,
            value: name.into(),
            allowed: "SHA1, SHA2-256, SHA2-384, SHA2-512",
        }),
    }
}

fn group(field: &'static str, n: u16) -> Result<DhGroup, OptionsError> {
    match DhGroup::from_transform_id(n) {
        Some(g) => Ok(g),
        None if n == 2 || n == 5 || (14..=24).contains(&n) => Err(OptionsError::NotImplemented {
            field,
            value: format!("DH group {n}"),
        }),
        None => Err(OptionsError::Unknown {
            field,
            value: n.to_string(),
            allowed: "2, 5, 14-24, 31",
        }),
    }
}

fn non_empty<T>(field: &'static str, v: &[T]) -> Result<(), OptionsError> {
    if v.is_empty() {
        Err(OptionsError::Empty(field))
    } else {
        Ok(())
    }
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(s.into())
}

impl TunnelOptions {
    /// Checks every option against AWS's rules.
    pub fn validate(&self) -> Result<(), OptionsError> {
        range(
            "dpd_timeout_seconds",
            self.dpd_timeout_seconds.into(),
            30,
            u32::MAX.into(),
        )?;
        range(
            "phase1_lifetime_seconds",
            self.phase1_lifetime_seconds.into(),
            900,
            28800,
        )?;
        range(
            "phase2_lifetime_seconds",
            self.phase2_lifetime_seconds.into(),
            900,
            3600,
        )?;
        if self.phase2_lifetime_seconds >= self.phase1_lifetime_seconds {
            return Err(OptionsError::Range {
                field: "phase2_lifetime_seconds",
                value: self.phase2_lifetime_seconds.into(),
                range: format!(
                    "below phase1_lifetime_seconds ({})",
                    self.phase1_lifetime_seconds
                ),
            });
        }
        range(
            "rekey_margin_time_seconds",
            self.rekey_margin_time_seconds.into(),
            60,
            (self.phase2_lifetime_seconds / 2).into(),
        )?;
        range(
            "rekey_fuzz_percentage",
            self.rekey_fuzz_percentage.into(),
            0,
            100,
        )?;
        range(
            "replay_window_size",
            self.replay_window_size.into(),
            64,
            2048,
        )?;
        self.ike_suites()?;
        self.esp_suites()?;
        for (field, list) in [
            (
                "phase2_integrity_algorithms",
                &self.phase2_integrity_algorithms,
            ),
            (
                "phase1_integrity_algorithms",
                &self.phase1_integrity_algorithms,
            ),
        ] {
            non_empty(field, list)?;
            for n in list {
                prf(field, n)?;
            }
        }
        Ok(())
    }

    /// IKE suites: encryption x integrity x group, in option order.
    pub fn ike_suites(&self) -> Result<Vec<IkeSuite>, OptionsError> {
        non_empty(
            "phase1_encryption_algorithms",
            &self.phase1_encryption_algorithms,
        )?;
        non_empty(
            "phase1_integrity_algorithms",
            &self.phase1_integrity_algorithms,
        )?;
        non_empty("phase1_dh_group_numbers", &self.phase1_dh_group_numbers)?;
        let mut out = Vec::new();
        for e in &self.phase1_encryption_algorithms {
            let aead = aead("phase1_encryption_algorithms", e)?;
            for i in &self.phase1_integrity_algorithms {
                let prf = prf("phase1_integrity_algorithms", i)?;
                for g in &self.phase1_dh_group_numbers {
                    let dh = group("phase1_dh_group_numbers", *g)?;
                    out.push(IkeSuite { aead, prf, dh });
                }
            }
        }
        Ok(out)
    }

    /// ESP suites: encryption x PFS group (AWS always uses PFS in phase 2).
    pub fn esp_suites(&self) -> Result<Vec<EspSuite>, OptionsError> {
        non_empty(
            "phase2_encryption_algorithms",
            &self.phase2_encryption_algorithms,
        )?;
        non_empty("phase2_dh_group_numbers", &self.phase2_dh_group_numbers)?;
        let mut out = Vec::new();
        for e in &self.phase2_encryption_algorithms {
            let aead = aead("phase2_encryption_algorithms", e)?;
            for g in &self.phase2_dh_group_numbers {
                let pfs = Some(group("phase2_dh_group_numbers", *g)?);
                out.push(EspSuite { aead, pfs });
            }
        }
        Ok(out)
    }

    /// The protocol-level configuration of tunnel `name` from `local` to `remote` (outside
    /// addresses, which are also the IKE identities, as AWS uses them) with these options and
    /// `profile`'s timers. Validates first.
    pub fn tunnel_config(
        &self,
        name: &str,
        local: Ipv4Addr,
        remote: Ipv4Addr,
        psk: &Psk,
        profile: Profile,
    ) -> Result<TunnelConfig, OptionsError> {
        self.validate()?;
        let t = timers::of(profile).ipsec;
        Ok(TunnelConfig {
            name: name.to_string(),
            ike: IkeConfig {
                local: SocketAddr::from((local, 500)),
                remote: SocketAddr::from((remote, 500)),
                local_id: IpAddr::V4(local).into(),
                remote_id: Some(IpAddr::V4(remote).into()),
                psk: psk.to_octets(),
                ike_suites: self.ike_suites()?,
                esp_suites: self.esp_suites()?,
                local_ts: vec![TrafficSelector::ipv4_net(self.local_ipv4_network_cidr)],
                remote_ts: vec![TrafficSelector::ipv4_net(self.remote_ipv4_network_cidr)],
                ike_lifetime: secs(self.phase1_lifetime_seconds),
                child_lifetime: secs(self.phase2_lifetime_seconds),
                rekey_margin: secs(self.rekey_margin_time_seconds),
                rekey_fuzz_percent: self.rekey_fuzz_percentage,
                dpd: DpdConfig {
                    interval: t.dpd_interval,
                    timeout: t
                        .dpd_timeout
                        .unwrap_or_else(|| secs(self.dpd_timeout_seconds)),
                    action: self.dpd_timeout_action.ike(),
                },
                retransmit: t.retransmit,
                half_open_timeout: t.half_open,
                startup: self.startup_action.ike(),
                restart_delay: t.restart_delay,
            },
            replay_window: self.replay_window_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipsec::ike::wire::Identity;

    fn build(o: &TunnelOptions, profile: Profile) -> TunnelConfig {
        let psk = Psk::new("example.psk_1234").unwrap();
        let local = Ipv4Addr::new(192, 0, 2, 1);
        let remote = Ipv4Addr::new(198, 51, 100, 7);
        o.tunnel_config("t1", local, remote, &psk, profile).unwrap()
    }

    #[test]
    fn aws_defaults() {
        let o = TunnelOptions::default();
        o.validate().unwrap();
        assert_eq!(o.startup_action, Startup::Add);
        assert_eq!(o.dpd_timeout_seconds, 40);
        assert_eq!(o.dpd_timeout_action, DpdTimeoutAction::Clear);
        assert_eq!(
            (o.phase1_lifetime_seconds, o.phase2_lifetime_seconds),
            (28800, 3600)
        );
        assert_eq!(
            (o.rekey_margin_time_seconds, o.rekey_fuzz_percentage),
            (270, 100)
        );
        assert_eq!(o.replay_window_size, 1024);
        let c = build(&o, Profile::Aws);
        c.validate().unwrap();
        let ike = &c.ike;
        assert_eq!(ike.local_id, Identity::Ipv4("192.0.2.1".parse().unwrap()));
        assert_eq!(
            ike.remote_id,
            Some(Identity::Ipv4("198.51.100.7".parse().unwrap()))
        );
        assert_eq!(ike.ike_suites.len(), 3 * 3 * 3);
        assert_eq!(ike.ike_suites[0].name(), "aes128gcm16-prfsha256-ecp256");
        assert_eq!(ike.esp_suites[0].name(), "aes128gcm16-ecp256");
        assert_eq!(ike.local_ts, vec![TrafficSelector::any_v4()]);
        assert_eq!(ike.dpd.timeout, Duration::from_secs(40));
        assert_eq!(ike.dpd.interval, Duration::from_secs(10));
        assert_eq!(ike.startup, StartupAction::Add);
        assert_eq!(ike.psk.expose(), b"example.psk_1234");
        assert_eq!(c.replay_window, 1024);
    }

    #[test]
    fn ranges_are_enforced_with_the_field_named() {
        let mut o = TunnelOptions {
            phase2_lifetime_seconds: 4000,
            ..Default::default()
        };
        assert!(
            o.validate()
                .unwrap_err()
                .to_string()
                .contains("phase2_lifetime_seconds = 4000")
        );
        o = TunnelOptions {
            rekey_margin_time_seconds: 1801,
            ..Default::default()
        };
        assert!(
            o.validate()
                .unwrap_err()
                .to_string()
                .contains("rekey_margin_time_seconds")
        );
        o = TunnelOptions {
            replay_window_size: 32,
            ..Default::default()
        };
        assert!(o.validate().is_err());
        o = TunnelOptions {
            dpd_timeout_seconds: 10,
            ..Default::default()
        };
        assert!(o.validate().is_err());
        o = TunnelOptions {
            phase1_encryption_algorithms: vec!["AES256".into()],
            ..Default::default()
        };
        assert_eq!(
            o.validate().unwrap_err().to_string(),
            "phase1_encryption_algorithms: AES256 (CBC) is an AWS option this emulator does not implement yet"
        );
        o = TunnelOptions {
            phase1_dh_group_numbers: vec![14],
            ..Default::default()
        };
        assert!(matches!(
            o.validate(),
            Err(OptionsError::NotImplemented { .. })
        ));
        o = TunnelOptions {
            phase1_dh_group_numbers: vec![99],
            ..Default::default()
        };
        assert!(matches!(o.validate(), Err(OptionsError::Unknown { .. })));
    }

    #[test]
    fn unknown_options_are_refused() {
        assert!(toml::from_str::<TunnelOptions>("typo = 1").is_err());
        assert_eq!(
            toml::from_str::<TunnelOptions>("").unwrap(),
            TunnelOptions::default()
        );
    }

    #[test]
    fn fast_profile_timers_and_aws_options() {
        let o = TunnelOptions {
            startup_action: Startup::Start,
            dpd_timeout_action: DpdTimeoutAction::Restart,
            phase2_lifetime_seconds: 1800,
            ..Default::default()
        };
        let c = build(&o, Profile::Fast);
        assert_eq!(
            (c.ike.dpd.interval, c.ike.dpd.timeout),
            (Duration::from_secs(1), Duration::from_secs(3))
        );
        assert_eq!(c.ike.dpd.action, DpdAction::Restart);
        assert_eq!(c.ike.startup, StartupAction::Start);
        assert_eq!(c.ike.child_lifetime, Duration::from_secs(1800));
        assert_eq!(c.ike.restart_delay, Duration::from_secs(1));
    }
}
