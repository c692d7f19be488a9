//! `hybridlab cgw-config`: AWS's "download configuration" for one VPN connection of a scenario,
//! as a strongSwan `swanctl.conf` (with the `strongswan.conf` fragment it needs) or an FRR
//! `bgpd` configuration ([`crate::export`]), in the scenario's timing profile, so a user
//! points their own customer gateway at the emulated VGW. The addresses, inside /30s and keys
//! are the ones a run of the same scenario uses (the plan is deterministic, [`super::plan`]).
//!
//! What it does not do: write files (the CLI prints), or read a running lab (the scenario file
//! alone decides the configuration).

use zeroize::Zeroizing;

use engine::model::Scenario;
use vgw::kind::query::VpnConnectionList;

use super::plan::CgwConfigOf;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FRR `bgpd.conf`.
    Frr,
    /// strongSwan `swanctl.conf`.
    StrongSwan,
    /// The `strongswan.conf` fragment the `swanctl.conf` needs.
    StrongSwanConf,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "frr" => Ok(Format::Frr),
            "strongswan" => Ok(Format::StrongSwan),
            "strongswan-conf" => Ok(Format::StrongSwanConf),
            other => Err(format!(
                "unknown format {other:?}: expected frr, strongswan or strongswan-conf"
            )),
        }
    }
}

/// The configuration of connection `connection` (`vpn1`, or `vgw1/vpn1` when several VGWs
/// have one of that name) for its customer gateway.
pub fn customer_config(
    scenario: &Scenario,
    connection: &str,
    format: Format,
) -> Result<Zeroizing<String>, String> {
    let topo = &scenario.topology;
    let (vgw_name, conn_name) = match connection.split_once('/') {
        Some((v, c)) => (Some(v), c),
        None => (None, connection),
    };
    let listed = topo.ask(&VpnConnectionList);
    let matches: Vec<&str> = listed
        .iter()
        .filter(|(v, _)| vgw_name.is_none_or(|n| n == *v))
        .flat_map(|(_, connections)| {
            connections
                .iter()
                .filter(|c| c.name == conn_name)
                .map(|c| c.cgw.as_str())
        })
        .collect();
    let cgw_name = match matches.as_slice() {
        [one] => *one,
        [] => {
            let all: Vec<String> = listed
                .iter()
                .flat_map(|(v, connections)| {
                    connections.iter().map(move |c| format!("{v}/{}", c.name))
                })
                .collect();
            return Err(format!(
                "{}: no VPN connection {connection:?} (connections: {})",
                scenario.file,
                if all.is_empty() {
                    "none".to_string()
                } else {
                    all.join(", ")
                }
            ));
        }
        _ => {
            return Err(format!(
                "{}: several VGWs have a connection {conn_name:?}: write VGW/CONNECTION",
                scenario.file
            ));
        }
    };
    let config = topo
        .ask_node(
            cgw_name,
            &CgwConfigOf {
                profile: scenario.timing.profile,
            },
        )
        .ok_or_else(|| format!("{cgw_name:?} is not a [[cgw]] node"))?
        .map_err(|e| format!("{}: {}: {}", scenario.file, e.path, e.message))?;
    let view = config
        .connections
        .iter()
        .find(|c| c.name == conn_name)
        .ok_or_else(|| format!("{cgw_name} has no connection {conn_name}"))?;
    Ok(match format {
        Format::StrongSwan => {
            crate::export::swanctl_config(&config.name, view, &config.advertise, config.profile)
        }
        Format::StrongSwanConf => Zeroizing::new(crate::export::strongswan_conf(
            &config.name,
            view,
            config.profile,
        )),
        Format::Frr => Zeroizing::new(crate::export::frr_config(
            &config.name,
            config.asn,
            &config.advertise,
            config.mode,
            view,
            config.profile,
        )),
    })
}
