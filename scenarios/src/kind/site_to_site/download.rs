//! `hybridlab cgw-config`: AWS's "download configuration" for one VPN connection of a scenario,
//! as a strongSwan `swanctl.conf` or an FRR `bgpd` configuration (`vpn::export`), so a user
//! points their own customer gateway at the emulated VGW. The addresses, inside /30s and keys
//! are the ones a run of the same scenario uses (the plan is deterministic, [`super::plan`]).
//!
//! What it does not do: write files (the CLI prints), or read a running lab (the scenario file
//! alone decides the configuration).

use zeroize::Zeroizing;

use super::cgw::Cgw;
use super::plan::{self, nodes_of};
use super::vgw::Vgw;
use super::vpn_profile;
use crate::model::Scenario;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FRR `bgpd.conf`.
    Frr,
    /// strongSwan `swanctl.conf`.
    StrongSwan,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "frr" => Ok(Format::Frr),
            "strongswan" => Ok(Format::StrongSwan),
            other => Err(format!(
                "unknown format {other:?}: expected frr or strongswan"
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
    let matches: Vec<&str> = nodes_of::<Vgw>(topo)
        .filter(|v| vgw_name.is_none_or(|n| n == v.name))
        .flat_map(|v| {
            v.connections
                .iter()
                .filter(|c| c.name == conn_name)
                .map(|c| c.cgw.as_str())
        })
        .collect();
    let cgw_name = match matches.as_slice() {
        [one] => *one,
        [] => {
            let all: Vec<String> = nodes_of::<Vgw>(topo)
                .flat_map(|v| {
                    v.connections
                        .iter()
                        .map(move |c| format!("{}/{}", v.name, c.name))
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
    let cgw: &Cgw = plan::node_as(topo, cgw_name)
        .ok_or_else(|| format!("{cgw_name:?} is not a [[cgw]] node"))?;
    let config = plan::cgw_config(cgw, topo, vpn_profile(&scenario.timing))
        .map_err(|e| format!("{}: {}: {}", scenario.file, e.path, e.message))?;
    let view = config
        .connections
        .iter()
        .find(|c| c.name == conn_name)
        .ok_or_else(|| format!("{cgw_name} has no connection {conn_name}"))?;
    Ok(match format {
        Format::StrongSwan => vpn::export::swanctl_config(&cgw.name, view, &config.advertise),
        Format::Frr => Zeroizing::new(vpn::export::frr_config(
            &cgw.name,
            config.asn,
            &config.advertise,
            view,
        )),
    })
}
