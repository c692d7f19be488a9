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
//! its own lowest configured value"). The defaults are AWS's, in AWS's own listing order, lowest
//! first (`aws-behaviour.md` §1):
//!
//! ```text
//!  encryption   AES128, AES256, AES128-GCM-16, AES256-GCM-16     (both phases)
//!  integrity    SHA1, SHA2-256, SHA2-384, SHA2-512               (both phases)
//!  phase 1 DH   2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24
//!  phase 2 DH   2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24
//! ```
//!
//! so a customer gateway offering everything gets aes128-sha1-modp1024, as on AWS. The emulator
//! also accepts CHACHA20-POLY1305 and group 31 (RFC 7634, RFC 8031) when a scenario lists them.
//!
//! Suites are encryption x integrity x group. AES128/AES256 are ENCR_AES_CBC with the integrity
//! option as the INTEG transform (SHA1 -> AUTH_HMAC_SHA1_96, SHA2-256 -> AUTH_HMAC_SHA2_256_128,
//! ...); in phase 1 the integrity option also selects the PRF (SHA1 -> PRF_HMAC_SHA1, SHA2-256 ->
//! PRF_HMAC_SHA2_256, ...), with AEAD ciphers it is only the PRF, and in phase 2 an AEAD takes no
//! integrity at all. (inferred) AWS does not document the mapping; it is what strongSwan does with
//! `aes128-sha1-modp2048`.
//!
//! What it does not do: inside CIDRs or PSKs (their rules are in [`crate::config`] and
//! [`crate::psk`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use ipnet::Ipv4Net;
use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::cbc::CbcAlgorithm;
use ipsec::crypto::cipher::Cipher;
use ipsec::crypto::dh::DhGroup;
use ipsec::crypto::integ::IntegAlgorithm;
use ipsec::ike::config::{DpdAction, DpdConfig, IkeConfig, StartupAction};
use ipsec::ike::suite::{EspSuite, IkeSuite, prf_of};
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
    ["AES128", "AES256", "AES128-GCM-16", "AES256-GCM-16"]
        .map(String::from)
        .to_vec()
}
fn d_integ() -> Vec<String> {
    ["SHA1", "SHA2-256", "SHA2-384", "SHA2-512"]
        .map(String::from)
        .to_vec()
}
fn d_dh1() -> Vec<u16> {
    PHASE1_GROUPS.to_vec()
}
fn d_dh2() -> Vec<u16> {
    PHASE2_GROUPS.to_vec()
}

/// AWS's phase 1 DH groups, lowest first (also the default).
pub const PHASE1_GROUPS: [u16; 12] = [2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
/// AWS's phase 2 DH groups, lowest first (also the default).
pub const PHASE2_GROUPS: [u16; 13] = [2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
/// The group the emulator adds when a scenario asks (Curve25519, RFC 8031).
pub const EXTRA_GROUP: u16 = 31;
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
    /// Phase 1 ciphers: AES128, AES256 (CBC), AES128-GCM-16, AES256-GCM-16; and the
    /// emulator's CHACHA20-POLY1305.
    #[serde(default = "d_enc")]
    pub phase1_encryption_algorithms: Vec<String>,
    /// Phase 1 integrity (INTEG and PRF with CBC, the PRF with AEAD ciphers): SHA1, SHA2-256,
    /// SHA2-384, SHA2-512.
    #[serde(default = "d_integ")]
    pub phase1_integrity_algorithms: Vec<String>,
    /// Phase 1 DH groups: 2, 14-24; and the emulator's 31.
    #[serde(default = "d_dh1")]
    pub phase1_dh_group_numbers: Vec<u16>,
    /// IKE SA lifetime, 900..=28800 (default 28800).
    #[serde(default = "d_p1_life")]
    pub phase1_lifetime_seconds: u32,
    /// Phase 2 ciphers.
    #[serde(default = "d_enc")]
    pub phase2_encryption_algorithms: Vec<String>,
    /// Phase 2 integrity (the INTEG transform with CBC, unused with AEAD ciphers).
    #[serde(default = "d_integ")]
    pub phase2_integrity_algorithms: Vec<String>,
    /// Phase 2 (PFS) DH groups: 2, 5, 14-24; and the emulator's 31.
    #[serde(default = "d_dh2")]
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
            phase1_dh_group_numbers: d_dh1(),
            phase1_lifetime_seconds: d_p1_life(),
            phase2_encryption_algorithms: d_enc(),
            phase2_integrity_algorithms: d_integ(),
            phase2_dh_group_numbers: d_dh2(),
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

/// An encryption option: an AEAD, or AES-CBC waiting for its integrity algorithm.
#[derive(Debug, Clone, Copy)]
enum Encryption {
    Aead(AeadAlgorithm),
    Cbc(CbcAlgorithm),
}

fn encryption(field: &'static str, name: &str) -> Result<Encryption, OptionsError> {
    match name {
        "AES128" => Ok(Encryption::Cbc(CbcAlgorithm::Aes128)),
        "AES256" => Ok(Encryption::Cbc(CbcAlgorithm::Aes256)),
        "AES128-GCM-16" => Ok(Encryption::Aead(AeadAlgorithm::AesGcm16Key128)),
        "AES256-GCM-16" => Ok(Encryption::Aead(AeadAlgorithm::AesGcm16Key256)),
        "CHACHA20-POLY1305" => Ok(Encryption::Aead(AeadAlgorithm::ChaCha20Poly1305)),
        _ => Err(OptionsError::Unknown {
            field,
            value: name.into(),
            allowed: "AES128, AES256, AES128-GCM-16, AES256-GCM-16, CHACHA20-POLY1305",
        }),
    }
}

fn integrity(field: &'static str, name: &str) -> Result<IntegAlgorithm, OptionsError> {
    match name {
        "SHA1" => Ok(IntegAlgorithm::HmacSha1_96),
        "SHA2-256" => Ok(IntegAlgorithm::HmacSha256_128),
        "SHA2-384" => Ok(IntegAlgorithm::HmacSha384_192),
        "SHA2-512" => Ok(IntegAlgorithm::HmacSha512_256),
        _ => Err(OptionsError::Unknown {
            field,
            value: name.into(),
            allowed: "SHA1, SHA2-256, SHA2-384, SHA2-512",
        }),
    }
}

/// A DH group AWS allows in this phase (`aws`), or the emulator's group 31.
fn group(field: &'static str, n: u16, aws: &[u16]) -> Result<DhGroup, OptionsError> {
    let allowed = || OptionsError::Unknown {
        field,
        value: n.to_string(),
        allowed: if aws.contains(&5) {
            "2, 5, 14-24, 31"
        } else {
            "2, 14-24, 31"
        },
    };
    if !aws.contains(&n) && n != EXTRA_GROUP {
        return Err(allowed());
    }
    DhGroup::from_transform_id(n).ok_or_else(allowed)
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
                integrity(field, n)?;
            }
        }
        Ok(())
    }

    /// IKE suites: encryption x integrity x group, in option order. With CBC the integrity
    /// option is the INTEG transform and names the PRF; with an AEAD it names only the PRF.
    pub fn ike_suites(&self) -> Result<Vec<IkeSuite>, OptionsError> {
        const ENC: &str = "phase1_encryption_algorithms";
        const INTEG: &str = "phase1_integrity_algorithms";
        const DH: &str = "phase1_dh_group_numbers";
        non_empty(ENC, &self.phase1_encryption_algorithms)?;
        non_empty(INTEG, &self.phase1_integrity_algorithms)?;
        non_empty(DH, &self.phase1_dh_group_numbers)?;
        let mut out = Vec::new();
        for e in &self.phase1_encryption_algorithms {
            let enc = encryption(ENC, e)?;
            for i in &self.phase1_integrity_algorithms {
                let integ = integrity(INTEG, i)?;
                let cipher = match enc {
                    Encryption::Aead(a) => Cipher::Aead(a),
                    Encryption::Cbc(c) => Cipher::CbcHmac(c, integ),
                };
                for g in &self.phase1_dh_group_numbers {
                    let dh = group(DH, *g, &PHASE1_GROUPS)?;
                    out.push(IkeSuite {
                        cipher,
                        prf: prf_of(integ),
                        dh,
                    });
                }
            }
        }
        Ok(out)
    }

    /// ESP suites: encryption (x integrity for CBC) x PFS group (AWS always uses PFS in
    /// phase 2).
    pub fn esp_suites(&self) -> Result<Vec<EspSuite>, OptionsError> {
        const ENC: &str = "phase2_encryption_algorithms";
        const INTEG: &str = "phase2_integrity_algorithms";
        const DH: &str = "phase2_dh_group_numbers";
        non_empty(ENC, &self.phase2_encryption_algorithms)?;
        non_empty(INTEG, &self.phase2_integrity_algorithms)?;
        non_empty(DH, &self.phase2_dh_group_numbers)?;
        let mut ciphers = Vec::new();
        for e in &self.phase2_encryption_algorithms {
            match encryption(ENC, e)? {
                Encryption::Aead(a) => ciphers.push(Cipher::Aead(a)),
                Encryption::Cbc(c) => {
                    for i in &self.phase2_integrity_algorithms {
                        ciphers.push(Cipher::CbcHmac(c, integrity(INTEG, i)?));
                    }
                }
            }
        }
        let mut out = Vec::new();
        for cipher in ciphers {
            for g in &self.phase2_dh_group_numbers {
                let pfs = Some(group(DH, *g, &PHASE2_GROUPS)?);
                out.push(EspSuite { cipher, pfs });
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
        // AWS's lists, lowest first: 4 ciphers x 4 integrity x 12 groups in phase 1; in phase 2
        // (2 CBC x 4 integrity + 2 AEAD) x 13 groups.
        assert_eq!(ike.ike_suites.len(), 4 * 4 * 12);
        assert_eq!(ike.ike_suites[0].name(), "aes128-sha1-modp1024");
        assert_eq!(ike.ike_suites[1].name(), "aes128-sha1-modp2048");
        assert_eq!(ike.ike_suites[12].name(), "aes128-sha256-modp1024");
        assert_eq!(
            ike.ike_suites[4 * 4 * 12 - 1].name(),
            "aes256gcm16-prfsha512-modp2048s256"
        );
        assert_eq!(ike.esp_suites.len(), 10 * 13);
        assert_eq!(ike.esp_suites[0].name(), "aes128-sha1-modp1024");
        assert_eq!(ike.esp_suites[1].name(), "aes128-sha1-modp1536");
        assert_eq!(ike.esp_suites[8 * 13].name(), "aes128gcm16-modp1024");
        // Neither ChaCha20 nor group 31 unless a scenario asks.
        let names: Vec<String> = ike.ike_suites.iter().map(|s| s.name()).collect();
        assert!(
            !names
                .iter()
                .any(|n| n.contains("chacha") || n.contains("x25519"))
        );
        assert!(!ike.esp_suites.iter().any(|s| s.name().contains("x25519")));
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
            phase1_dh_group_numbers: vec![99],
            ..Default::default()
        };
        assert!(matches!(o.validate(), Err(OptionsError::Unknown { .. })));
        // Group 5 is a phase 2 option only.
        o = TunnelOptions {
            phase1_dh_group_numbers: vec![5],
            ..Default::default()
        };
        assert_eq!(
            o.validate().unwrap_err().to_string(),
            "phase1_dh_group_numbers: unknown value \"5\" (allowed: 2, 14-24, 31)"
        );
        o = TunnelOptions {
            phase2_integrity_algorithms: vec!["MD5".into()],
            ..Default::default()
        };
        assert!(matches!(o.validate(), Err(OptionsError::Unknown { .. })));
    }

    /// Every value AWS documents is accepted, alone, in each option (`aws-behaviour.md` §1).
    #[test]
    fn every_aws_value_is_accepted() {
        for e in [
            "AES128",
            "AES256",
            "AES128-GCM-16",
            "AES256-GCM-16",
            "CHACHA20-POLY1305",
        ] {
            for i in ["SHA1", "SHA2-256", "SHA2-384", "SHA2-512"] {
                let o = TunnelOptions {
                    phase1_encryption_algorithms: vec![e.into()],
                    phase2_encryption_algorithms: vec![e.into()],
                    phase1_integrity_algorithms: vec![i.into()],
                    phase2_integrity_algorithms: vec![i.into()],
                    phase1_dh_group_numbers: vec![14],
                    phase2_dh_group_numbers: vec![14],
                    ..Default::default()
                };
                o.validate().unwrap_or_else(|err| panic!("{e} {i}: {err}"));
                assert_eq!(o.ike_suites().unwrap().len(), 1);
                assert_eq!(o.esp_suites().unwrap().len(), 1);
            }
        }
        for g in PHASE1_GROUPS.into_iter().chain([EXTRA_GROUP]) {
            let o = TunnelOptions {
                phase1_dh_group_numbers: vec![g],
                ..Default::default()
            };
            o.validate()
                .unwrap_or_else(|err| panic!("phase 1 group {g}: {err}"));
        }
        for g in PHASE2_GROUPS.into_iter().chain([EXTRA_GROUP]) {
            let o = TunnelOptions {
                phase2_dh_group_numbers: vec![g],
                ..Default::default()
            };
            o.validate()
                .unwrap_or_else(|err| panic!("phase 2 group {g}: {err}"));
        }
        // AWS's sample configuration: aes128-sha1-modp1024 in both phases.
        let o = TunnelOptions {
            phase1_encryption_algorithms: vec!["AES128".into()],
            phase2_encryption_algorithms: vec!["AES128".into()],
            phase1_integrity_algorithms: vec!["SHA1".into()],
            phase2_integrity_algorithms: vec!["SHA1".into()],
            phase1_dh_group_numbers: vec![2],
            phase2_dh_group_numbers: vec![2],
            ..Default::default()
        };
        assert_eq!(o.ike_suites().unwrap()[0].name(), "aes128-sha1-modp1024");
        assert_eq!(o.esp_suites().unwrap()[0].name(), "aes128-sha1-modp1024");
    }

    /// Issue #10: a customer gateway built from AWS's sample configurations (aes128-sha1-modp1024,
    /// aes128-sha1-modp2048) found no proposal; with AWS's defaults the VGW, as responder, now
    /// picks exactly those, for IKE, for the first CHILD_SA and for a PFS rekey.
    #[test]
    fn aws_sample_configurations_find_their_proposal_in_the_defaults() {
        use ipsec::crypto::modp::ModpGroup;
        use ipsec::ike::suite::{choose_esp, choose_ike, esp_proposals, ike_proposals};
        let o = TunnelOptions::default();
        let (ike, esp) = (o.ike_suites().unwrap(), o.esp_suites().unwrap());
        let cipher = Cipher::CbcHmac(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha1_96);
        for g in [ModpGroup::Modp1024, ModpGroup::Modp2048] {
            let dh = DhGroup::Modp(g);
            let cgw = IkeSuite {
                cipher,
                prf: prf_of(IntegAlgorithm::HmacSha1_96),
                dh,
            };
            let chosen = choose_ike(&ike, &ike_proposals(&[cgw], None)).unwrap();
            assert_eq!(chosen.suite.name(), format!("aes128-sha1-{}", g.name()));
            let cgw_esp = EspSuite {
                cipher,
                pfs: Some(dh),
            };
            for with_ke in [false, true] {
                let chosen =
                    choose_esp(&esp, &esp_proposals(&[cgw_esp], 1, with_ke), with_ke).unwrap();
                assert_eq!(chosen.suite.cipher, cipher);
                if with_ke {
                    assert_eq!(chosen.suite.pfs, Some(dh));
                }
            }
        }
        // A gateway offering everything AWS allows gets AWS's lowest values.
        let chosen = choose_ike(&ike, &ike_proposals(&ike, None)).unwrap();
        assert_eq!(chosen.suite.name(), "aes128-sha1-modp1024");
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
