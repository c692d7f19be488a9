//! From a scenario's `[[cgw]]` node to the file the `cgw` daemon reads: every VPN connection a
//! VGW planned for it (asked with `vgw::kind::query::CustomerViewOf`, in declaration order),
//! plus its own policy: the prefixes it announces, per-tunnel prepends and MEDs, the tunnel
//! mode.
//!
//! Pure, like the VGW's plan: the same topology gives the same file.
//!
//! What it does not do: choose addresses or keys (the VGW's plan did), write files, or start
//! anything.

use engine::kind::query::Query;
use engine::model::Topology;
use engine::model::timing::Profile;
use vgw::config::CgwConnection;
use vgw::kind::plan::{KeySource, config_error_path};
use vgw::kind::query::CustomerViewOf;
use vgw::kind::query::PlanError;

use super::node::Cgw;
use crate::config::CgwConfig;

/// "Are you a customer gateway, and what is your daemon's configuration?" (answered by `cgw`
/// nodes; `hybridlab cgw-config` asks it).
#[derive(Debug, Clone)]
pub struct CgwConfigOf {
    /// The timing profile.
    pub profile: Profile,
    /// Where keys the scenario does not give come from.
    pub keys: KeySource,
}

impl Query for CgwConfigOf {
    type Answer = Result<CgwConfig, PlanError>;
}

/// A customer gateway's connections, as the gateways that hold them answered.
#[derive(Debug, Default)]
pub struct Connections {
    /// The nodes with a connection to it (its daemon starts after theirs).
    pub gateways: Vec<String>,
    /// Every connection, in declaration order.
    pub views: Vec<CgwConnection>,
    /// The first planning error a gateway reported.
    pub error: Option<PlanError>,
}

/// Asks every node for `cgw`'s connections.
pub fn connections_of(
    cgw: &Cgw,
    topo: &Topology,
    profile: Profile,
    keys: &KeySource,
) -> Connections {
    let mut out = Connections::default();
    let query = CustomerViewOf {
        cgw: cgw.name.clone(),
        profile,
        keys: keys.clone(),
    };
    for (node, answer) in topo.ask(&query) {
        out.gateways.push(node.to_string());
        match answer {
            Ok(views) => out.views.extend(views),
            Err(e) => {
                out.error.get_or_insert(e);
            }
        }
    }
    out
}

/// The customer gateway's configuration: every connection that names it, as AWS's "download
/// configuration" describes it, plus its own policy (advertised prefixes, prepends, MEDs,
/// tunnel mode).
pub fn cgw_config(
    cgw: &Cgw,
    topo: &Topology,
    profile: Profile,
    keys: &KeySource,
) -> Result<CgwConfig, PlanError> {
    let found = connections_of(cgw, topo, profile, keys);
    if let Some(e) = found.error {
        return Err(e);
    }
    let mut connections = found.views;
    for c in &mut connections {
        for (ti, t) in c.tunnels.iter_mut().enumerate() {
            let name = vgw::daemon::tunnel_name(&c.name, ti);
            if let Some(policy) = cgw.tunnels.get(&name) {
                t.as_path_prepend = policy.as_path_prepend;
                t.med = policy.med;
            }
        }
    }
    if connections.is_empty() {
        return Err(PlanError::new(
            cgw.path().key("name"),
            format!(
                "no VPN connection uses customer gateway {} (add a [[vgw.connection]] with cgw = {:?})",
                cgw.name, cgw.name
            ),
        ));
    }
    let config = CgwConfig {
        name: cgw.name.clone(),
        asn: cgw.asn,
        profile,
        router_id: None,
        underlay_gateway: Some(cgw.internet.peer()),
        bind_address: cgw.public_address.map(|_| cgw.internet.address.addr()),
        advertise: cgw.advertised(),
        mode: cgw.mode,
        connections,
    };
    config
        .validate()
        .map_err(|e| PlanError::new(config_error_path(cgw.path(), &e.item), e.message))?;
    Ok(config)
}
