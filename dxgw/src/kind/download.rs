//! `hybridlab cgw-config --format frr|frr-bfdd|bird SCENARIO VIF`: AWS's "download router
//! configuration" for one Direct Connect VIF, as FRR `bgpd` and `bfdd` configurations (BIRD 2:
//! [`super::download_bird`]), so a
//! user's FRR terminates the VIF on the emulated DX router: eBGP with the VIF's MD5 key, TTL 1
//! (FRR's eBGP default), the profile's hold/keepalive, BFD 300 ms x 3 (100 ms x 3 in `fast`),
//! and the customer router's prefixes; a VIF with an IPv6 pair gets its second, IPv6, session
//! (and BFD peer) too. The addresses and key are the ones a run of the same
//! scenario uses (the plan is seeded, [`super::plan`]).
//!
//! The VIF interface: where the kernel has `8021q` it is a VLAN sub-interface of the
//! cross-connect (`ip link add link xcdxcon1 name vif1 type vlan id 100`, the VIF's MTU, the
//! customer address); here, without `8021q`, `crates/vlan`'s trunk makes it a TAP of that name.
//! Either way the interface and address exist before FRR starts; the configuration names them
//! in comments.
//!
//! What it does not do: write files (the CLI prints), or read a running lab.

use std::fmt::Write as _;

use engine::model::Scenario;

use super::query::DxRouterConfigOf;
use crate::customer::{CustomerConfig, CustomerVif};
use crate::timers;

/// Output format of a VIF's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VifFormat {
    /// FRR `bgpd.conf`.
    Frr,
    /// FRR `bfdd.conf`.
    FrrBfdd,
    /// BIRD 2 `bird.conf` (BGP and BFD in one file, [`super::download_bird`]).
    Bird,
}

impl std::str::FromStr for VifFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<VifFormat, String> {
        match s {
            "frr" => Ok(VifFormat::Frr),
            "frr-bfdd" => Ok(VifFormat::FrrBfdd),
            "bird" => Ok(VifFormat::Bird),
            other => Err(format!(
                "format {other:?} has no VIF form: expected frr, frr-bfdd or bird"
            )),
        }
    }
}

/// Whether `vif` names a Direct Connect VIF of the scenario.
pub fn is_vif(scenario: &Scenario, vif: &str) -> bool {
    find(scenario, vif).is_some()
}

fn find(scenario: &Scenario, vif: &str) -> Option<(String, CustomerConfig, CustomerVif)> {
    let query = DxRouterConfigOf {
        profile: scenario.timing.profile,
    };
    for (_, answer) in scenario.topology.ask(&query) {
        let Ok(config) = answer else {
            continue;
        };
        for c in &config.connections {
            if let Some(v) = c.vifs.iter().find(|v| v.name == vif) {
                return Some((c.interface.clone(), config.clone(), v.clone()));
            }
        }
    }
    None
}

/// The configuration of VIF `vif` for the customer router.
pub fn vif_config(
    scenario: &Scenario,
    vif: &str,
    format: VifFormat,
) -> Result<secret::Secret<String>, String> {
    let (interface, config, v) =
        find(scenario, vif).ok_or_else(|| format!("{}: no VIF {vif:?}", scenario.file))?;
    let t = timers::of(config.profile);
    let mut s = String::new();
    let aws = v.peer_address;
    match format {
        VifFormat::Bird => {
            s = super::download_bird::bird_vif_config(&interface, &config, &v, t)?;
        }
        VifFormat::Frr => {
            let _ = writeln!(
                s,
                "! hybridlab: {} VIF {} (FRR bgpd); VLAN {} on cross-connect {interface}, MTU {}\n\
                 ! interface {}: {} (a VLAN sub-interface with 8021q: ip link add link {interface}\n\
                 !   name {} type vlan id {}; here a TAP of crates/vlan's trunk)\n\
                 frr defaults traditional\n!",
                config.name, v.name, v.vlan, v.mtu, v.name, v.local_address, v.name, v.vlan
            );
            let _ = writeln!(s, "router bgp {}", config.asn);
            let _ = writeln!(s, " bgp router-id {}", v.local_address.addr());
            let _ = writeln!(s, " no bgp ebgp-requires-policy");
            let _ = writeln!(s, " no bgp network import-check");
            let _ = writeln!(s, " neighbor {aws} remote-as {}", v.amazon_asn);
            let _ = writeln!(
                s,
                " neighbor {aws} update-source {}",
                v.local_address.addr()
            );
            let _ = writeln!(
                s,
                " neighbor {aws} password {}",
                v.auth_key.secret().expose()
            );
            let _ = writeln!(
                s,
                " neighbor {aws} timers {} {}",
                t.bgp.keepalive,
                t.bgp.hold_time.secs()
            );
            if v.bfd {
                let _ = writeln!(s, " neighbor {aws} bfd");
            }
            let aws6 = v.peer_address_v6.zip(v.local_address_v6);
            if let Some((a6, l6)) = aws6 {
                // The VIF's second session, IPv6 (AWS: one per family, no MP-BGP).
                let _ = writeln!(s, " neighbor {a6} remote-as {}", v.amazon_asn);
                let _ = writeln!(s, " neighbor {a6} update-source {}", l6.addr());
                let _ = writeln!(
                    s,
                    " neighbor {a6} password {}",
                    v.auth_key.secret().expose()
                );
                let _ = writeln!(
                    s,
                    " neighbor {a6} timers {} {}",
                    t.bgp.keepalive,
                    t.bgp.hold_time.secs()
                );
                if v.bfd {
                    let _ = writeln!(s, " neighbor {a6} bfd");
                }
            }
            let _ = writeln!(s, " !\n address-family ipv4 unicast");
            for p in &config.advertise {
                let _ = writeln!(s, "  network {p}");
            }
            let _ = writeln!(s, "  neighbor {aws} activate");
            let _ = writeln!(s, "  neighbor {aws} prefix-list TO-AWS out");
            if let Some((a6, _)) = aws6 {
                let _ = writeln!(s, "  no neighbor {a6} activate");
            }
            let _ = writeln!(s, " exit-address-family");
            if let Some((a6, _)) = aws6 {
                let _ = writeln!(s, " !\n address-family ipv6 unicast");
                for p in &config.advertise_v6 {
                    let _ = writeln!(s, "  network {p}");
                }
                let _ = writeln!(s, "  neighbor {a6} activate");
                let _ = writeln!(s, "  neighbor {a6} prefix-list TO-AWS-V6 out");
                let _ = writeln!(s, " exit-address-family");
            }
            // Only the router's own prefixes go to AWS (never what it learned on another VIF).
            let _ = writeln!(s, "!");
            for (i, p) in config.advertise.iter().enumerate() {
                let _ = writeln!(s, "ip prefix-list TO-AWS seq {} permit {p}", (i + 1) * 5);
            }
            let _ = writeln!(s, "ip prefix-list TO-AWS seq 100000 deny any");
            if aws6.is_some() {
                for (i, p) in config.advertise_v6.iter().enumerate() {
                    let _ = writeln!(
                        s,
                        "ipv6 prefix-list TO-AWS-V6 seq {} permit {p}",
                        (i + 1) * 5
                    );
                }
                let _ = writeln!(s, "ipv6 prefix-list TO-AWS-V6 seq 100000 deny any");
            }
            let _ = writeln!(s, "!");
        }
        VifFormat::FrrBfdd => {
            let (tx, rx, mult) = t.bfd_ms;
            let _ = writeln!(
                s,
                "! hybridlab: {} VIF {} (FRR bfdd): AWS runs BFD {tx} ms x {mult}\n!",
                config.name, v.name
            );
            let _ = writeln!(s, "bfd");
            let _ = writeln!(
                s,
                " peer {aws} local-address {} interface {}",
                v.local_address.addr(),
                v.name
            );
            let _ = writeln!(s, "  detect-multiplier {mult}");
            let _ = writeln!(s, "  receive-interval {rx}");
            let _ = writeln!(s, "  transmit-interval {tx}");
            let _ = writeln!(s, " exit");
            if let (Some(a6), Some(l6)) = (v.peer_address_v6, v.local_address_v6) {
                let _ = writeln!(
                    s,
                    " peer {a6} local-address {} interface {}",
                    l6.addr(),
                    v.name
                );
                let _ = writeln!(s, "  detect-multiplier {mult}");
                let _ = writeln!(s, "  receive-interval {rx}");
                let _ = writeln!(s, "  transmit-interval {tx}");
                let _ = writeln!(s, " exit");
            }
            let _ = writeln!(s, "!");
        }
    }
    Ok(secret::Secret::new(s))
}
