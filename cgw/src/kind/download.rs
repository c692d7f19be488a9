//! `hybridlab cgw-config`: AWS's "download configuration" for one VPN connection of a scenario,
//! as a strongSwan `swanctl.conf` (with the `strongswan.conf` fragment it needs) or an FRR
//! `bgpd` configuration ([`crate::export`]), in the scenario's timing profile, so a user
//! points their own customer gateway at the emulated VGW. The addresses and inside /30s are
//! the ones a run of the same scenario uses (they are planned from the scenario,
//! [`super::plan`]).
//!
//! Keys: a tunnel key the scenario does not give is random per lab (`vgw::kind::plan`), so
//! only a running lab knows it: the caller reads the keys from the lab's VGW
//! (`hybridlab cgw-config LAB CONNECTION` asks the daemon over its control socket) and passes
//! them in. Without them, a connection whose VGW sets a `seed` (replayable keys) or whose
//! tunnels give their keys prints them; any other refuses the formats that carry keys and
//! says how to get them (the FRR and `strongswan.conf` formats carry none).
//!
//! What it does not do: write files (the CLI prints), or talk to a lab itself.

use zeroize::Zeroizing;

use engine::model::Scenario;
use vgw::kind::plan::KeySource;
use vgw::kind::query::VpnConnectionList;
use vgw::psk::Psk;

use super::plan::CgwConfigOf;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// FRR `bgpd.conf`.
    Frr,
    /// BIRD 2 `bird.conf`.
    Bird,
    /// GoBGP `gobgpd.toml`.
    Gobgp,
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
            "bird" => Ok(Format::Bird),
            "gobgp" => Ok(Format::Gobgp),
            "strongswan" => Ok(Format::StrongSwan),
            "strongswan-conf" => Ok(Format::StrongSwanConf),
            other => Err(format!(
                "unknown format {other:?}: expected frr, bird, gobgp, strongswan or strongswan-conf"
            )),
        }
    }
}

impl Format {
    /// Whether the output holds the tunnels' pre-shared keys.
    pub fn carries_keys(self) -> bool {
        self == Format::StrongSwan
    }
}

/// A VPN connection of a scenario, found by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundConnection {
    /// Its VGW node.
    pub vgw: String,
    /// Its name on the VGW.
    pub name: String,
    /// Its customer gateway node.
    pub cgw: String,
    /// Whether a tunnel key is random per lab (only a running lab knows it).
    pub random_keys: bool,
}

/// Which VPN connection of a scenario: `vpn1`, or `vgw1/vpn1` when several VGWs have one of
/// that name.
pub fn find_connection(scenario: &Scenario, connection: &str) -> Result<FoundConnection, String> {
    let topo = &scenario.topology;
    let (vgw_name, conn_name) = match connection.split_once('/') {
        Some((v, c)) => (Some(v), c),
        None => (None, connection),
    };
    let listed = topo.ask(&VpnConnectionList);
    let matches: Vec<(&str, &vgw::kind::query::ConnectionRef)> = listed
        .iter()
        .filter(|(v, _)| vgw_name.is_none_or(|n| n == *v))
        .flat_map(|(v, connections)| {
            connections
                .iter()
                .filter(|c| c.name == conn_name)
                .map(move |c| (*v, c))
        })
        .collect();
    match matches.as_slice() {
        [(v, c)] => Ok(FoundConnection {
            vgw: v.to_string(),
            name: c.name.clone(),
            cgw: c.cgw.clone(),
            random_keys: c.random_keys,
        }),
        [] => {
            let all: Vec<String> = listed
                .iter()
                .flat_map(|(v, connections)| {
                    connections.iter().map(move |c| format!("{v}/{}", c.name))
                })
                .collect();
            Err(format!(
                "{}: no VPN connection {connection:?} (connections: {})",
                scenario.file,
                if all.is_empty() {
                    "none".to_string()
                } else {
                    all.join(", ")
                }
            ))
        }
        _ => Err(format!(
            "{}: several VGWs have a connection {conn_name:?}: write VGW/CONNECTION",
            scenario.file
        )),
    }
}

/// The configuration of connection `connection` (`vpn1`, or `vgw1/vpn1` when several VGWs
/// have one of that name) for its customer gateway. `lab_keys` are the tunnels' keys as a
/// running lab's VGW holds them (tunnel 1, tunnel 2), for connections whose keys are random
/// per lab.
pub fn customer_config(
    scenario: &Scenario,
    connection: &str,
    format: Format,
    lab_keys: Option<&[Psk]>,
) -> Result<Zeroizing<String>, String> {
    let topo = &scenario.topology;
    let found = find_connection(scenario, connection)?;
    let (vgw_name, conn_name, cgw_name) = (&found.vgw, &found.name, &found.cgw);
    if found.random_keys && lab_keys.is_none() && format.carries_keys() {
        return Err(format!(
            "{}: {vgw_name}/{conn_name}: its pre-shared keys are random per lab, as AWS's are (the \
             [[vgw]] sets no `seed` and a tunnel no `pre_shared_key`): run the lab and read them \
             from it with `hybridlab cgw-config LAB {conn_name}`, or set `seed` in the [[vgw]] \
             for keys the scenario replays",
            scenario.file
        ));
    }
    let config = topo
        .ask_node(
            cgw_name,
            &CgwConfigOf {
                profile: scenario.timing.profile,
                keys: KeySource::NoLab,
            },
        )
        .ok_or_else(|| format!("{cgw_name:?} is not a [[cgw]] node"))?
        .map_err(|e| format!("{}: {}: {}", scenario.file, e.path, e.message))?;
    let mut view = config
        .connections
        .iter()
        .find(|c| &c.name == conn_name)
        .ok_or_else(|| format!("{cgw_name} has no connection {conn_name}"))?
        .clone();
    if let Some(keys) = lab_keys {
        if keys.len() != view.tunnels.len() {
            return Err(format!(
                "{vgw_name}/{conn_name}: the lab's VGW holds {} tunnel keys, the scenario plans {} tunnels",
                keys.len(),
                view.tunnels.len()
            ));
        }
        for (tunnel, key) in view.tunnels.iter_mut().zip(keys) {
            tunnel.pre_shared_key = key.clone();
        }
    }
    let view = &view;
    Ok(match format {
        Format::StrongSwan => {
            crate::export::swanctl_config(&config.name, view, &config.advertise, config.profile)
        }
        Format::StrongSwanConf => Zeroizing::new(crate::export::strongswan_conf(
            &config.name,
            view,
            config.profile,
        )),
        Format::Gobgp => Zeroizing::new(crate::export::gobgp::gobgp_config(
            &config.name,
            config.asn,
            &config.advertise,
            config.mode,
            view,
            config.profile,
        )),
        Format::Bird => Zeroizing::new(crate::export::bird::bird_config(
            &config.name,
            config.asn,
            &config.advertise,
            config.mode,
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
