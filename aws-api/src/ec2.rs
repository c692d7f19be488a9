//! The EC2 Query API's VPN calls (API version 2016-11-15, the current one), answered from the
//! live lab: DescribeVpnConnections (VgwTelemetry from the VGW's tunnels and BGP sessions),
//! DescribeVpnGateways, DescribeCustomerGateways, CreateVpnConnectionRoute,
//! DeleteVpnConnectionRoute, ModifyVpnTunnelOptions, ReplaceVpnTunnel,
//! GetVpnConnectionDeviceTypes and GetVpnConnectionDeviceSampleConfiguration. Mutating calls
//! go through the VGW's control actions, the ones the timeline uses.
//!
//! VgwTelemetry (AWS's "Monitoring your VPN tunnels"; where AWS is silent, our choice):
//! - `status` UP when the tunnel's IKE and CHILD_SAs are up and, on a dynamic connection, its
//!   BGP session is Established (AWS reports a dynamic tunnel with BGP down as DOWN);
//! - `statusMessage` `N BGP ROUTES` on an UP dynamic tunnel, `IPSEC IS UP` on a dynamic tunnel
//!   whose BGP is down, `IPSEC IS DOWN` otherwise, empty on an UP static tunnel (our choice of
//!   wording, after what the console shows);
//! - `acceptedRouteCount` the prefixes the VGW accepted on the session (0 on static);
//! - `lastStatusChange` the later of the tunnel's IPsec and BGP changes (the daemon's clock).
//!
//! Device types for GetVpnConnectionDeviceSampleConfiguration are hybridlab's `cgw-config`
//! formats, with the format name as the VpnConnectionDeviceTypeId (AWS's ids are opaque).
//!
//! What it does not do: create or delete VPN connections, gateways or VPCs (the scenario
//! does), tags, dry runs.

use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::form::Params;
use crate::inventory::{FoundConnection, Inventory};
use crate::lab::Lab;
use crate::time::{from_unix_ms, iso8601};
use crate::xml::Xml;

/// The EC2 API version answered.
pub const VERSION: &str = "2016-11-15";
const XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// `cgw-config` formats offered as device types: (id, vendor, platform, software).
pub const DEVICE_TYPES: &[(&str, &str, &str, &str)] = &[
    ("strongswan", "strongSwan", "swanctl.conf", "5.9+"),
    ("frr", "FRRouting", "bgpd.conf", "8+"),
    ("bird", "BIRD", "bird.conf", "2.0+"),
    ("gobgp", "GoBGP", "gobgpd.toml", "3+"),
];

/// Produces a customer gateway configuration: (VGW node, connection, device type id) ->
/// text (keys included, as AWS's download is).
pub type SampleConfig =
    dyn Fn(&str, &str, &str) -> Result<secret::Secret<String>, String> + Send + Sync;

fn not_found_vpn(id: &str) -> ApiError {
    ApiError::new(
        400,
        "InvalidVpnConnectionID.NotFound",
        format!("The vpnConnection ID '{id}' does not exist"),
    )
}

fn required<'a>(p: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    p.get(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing(name))
}

/// `Filter.N.Name` / `Filter.N.Value.M`, names checked against `known`.
fn filters(p: &Params, known: &[&str]) -> Result<Vec<(String, Vec<String>)>, ApiError> {
    let mut out = Vec::new();
    let mut n = 1;
    while let Some(name) = p.get(&format!("Filter.{n}.Name")) {
        if !known.contains(&name) {
            return Err(ApiError::invalid_parameter(format!(
                "The filter '{name}' is invalid"
            )));
        }
        let values = p
            .list(&format!("Filter.{n}.Value"))
            .into_iter()
            .map(str::to_string)
            .collect();
        out.push((name.to_string(), values));
        n += 1;
    }
    Ok(out)
}

fn passes(filters: &[(String, Vec<String>)], fields: &[(&str, &str)]) -> bool {
    filters.iter().all(|(name, values)| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .is_some_and(|(_, v)| values.iter().any(|x| x == v))
    })
}

/// Live state of one VGW: its `connections` and `tunnels` views.
struct VgwState {
    connections: Value,
    tunnels: Value,
}

async fn vgw_state(lab: &Lab, node: &str) -> Result<VgwState, ApiError> {
    Ok(VgwState {
        connections: lab.show(node, "connections").await?,
        tunnels: lab.show(node, "tunnels").await?,
    })
}

impl VgwState {
    fn connection(&self, name: &str) -> Option<&Value> {
        self.connections["connections"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == name)
    }

    fn tunnel(&self, name: &str) -> Option<&Value> {
        self.tunnels.as_array()?.iter().find(|t| t["name"] == name)
    }
}

/// Writes one `vpnConnection` item body.
fn write_connection(x: &mut Xml, inv: &Inventory, c: FoundConnection<'_>, st: &VgwState) {
    let conn = st
        .connection(&c.connection.name)
        .cloned()
        .unwrap_or(Value::Null);
    let is_static = conn["routing"] == "static";
    x.leaf(
        "vpnConnectionId",
        inv.vpn_id(&c.vgw.node, &c.connection.name),
    )
    .leaf("state", "available")
    .leaf("type", "ipsec.1")
    .leaf("category", "VPN")
    .leaf("customerGatewayId", inv.cgw_id(&c.connection.cgw))
    .leaf("vpnGatewayId", inv.vgw_id(&c.vgw.node));
    x.open("options")
        .leaf("staticRoutesOnly", is_static)
        .leaf("localIpv4NetworkCidr", "0.0.0.0/0")
        .leaf("remoteIpv4NetworkCidr", "0.0.0.0/0")
        .leaf("tunnelInsideIpVersion", "ipv4")
        .open("tunnelOptionSet");
    let tunnels = conn["tunnels"].as_array().cloned().unwrap_or_default();
    for t in &tunnels {
        x.open("item")
            .leaf_opt("outsideIpAddress", t["outside_ip"].as_str())
            .leaf_opt("tunnelInsideCidr", t["inside_cidr"].as_str())
            .close("item");
    }
    x.close("tunnelOptionSet").close("options");
    x.open("routes");
    for r in conn["static_routes"].as_array().into_iter().flatten() {
        x.open("item")
            .leaf_opt("destinationCidrBlock", r.as_str())
            .leaf("source", "Static")
            .leaf("state", "available")
            .close("item");
    }
    x.close("routes");
    x.open("vgwTelemetry");
    for t in &tunnels {
        let name = t["name"].as_str().unwrap_or_default();
        let live = st.tunnel(name).cloned().unwrap_or(Value::Null);
        let ipsec_up = live["status"] == "UP";
        let bgp_up = live["bgp"]["state"] == "Established";
        let accepted = live["bgp"]["prefixes_accepted"].as_u64().unwrap_or(0);
        let (status, message) = match (is_static, ipsec_up, bgp_up) {
            (true, true, _) => ("UP", String::new()),
            (false, true, true) => ("UP", format!("{accepted} BGP ROUTES")),
            (false, true, false) => ("DOWN", "IPSEC IS UP".to_string()),
            (_, false, _) => ("DOWN", "IPSEC IS DOWN".to_string()),
        };
        let changed = live["status_changed_unix_ms"]
            .as_u64()
            .map(from_unix_ms)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        x.open("item")
            .leaf_opt("outsideIpAddress", t["outside_ip"].as_str())
            .leaf("status", status)
            .leaf("lastStatusChange", iso8601(changed))
            .leaf("statusMessage", message)
            .leaf("acceptedRouteCount", if is_static { 0 } else { accepted })
            .close("item");
    }
    x.close("vgwTelemetry");
}

fn request_id(x: &mut Xml, id: &str) {
    x.leaf("requestId", id);
}

/// DescribeVpnConnections.
pub async fn describe_vpn_connections(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let ids = p.list("VpnConnectionId");
    for id in &ids {
        if inv.connection_by_id(id).is_none() {
            return Err(not_found_vpn(id));
        }
    }
    let filters = filters(
        p,
        &[
            "vpn-connection-id",
            "vpn-gateway-id",
            "customer-gateway-id",
            "state",
            "type",
            "category",
        ],
    )?;
    let root = "DescribeVpnConnectionsResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("vpnConnectionSet");
    for vgw in &inv.vgws {
        let wanted: Vec<_> = vgw
            .connections
            .iter()
            .filter(|c| {
                let id = inv.vpn_id(&vgw.node, &c.name);
                (ids.is_empty() || ids.contains(&id.as_str()))
                    && passes(
                        &filters,
                        &[
                            ("vpn-connection-id", &id),
                            ("vpn-gateway-id", &inv.vgw_id(&vgw.node)),
                            ("customer-gateway-id", &inv.cgw_id(&c.cgw)),
                            ("state", "available"),
                            ("type", "ipsec.1"),
                            ("category", "VPN"),
                        ],
                    )
            })
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let st = vgw_state(lab, &vgw.node).await?;
        for connection in wanted {
            x.open("item");
            write_connection(&mut x, inv, FoundConnection { vgw, connection }, &st);
            x.close("item");
        }
    }
    x.close("vpnConnectionSet");
    Ok(x.finish(root))
}

/// DescribeVpnGateways.
pub async fn describe_vpn_gateways(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let ids = p.list("VpnGatewayId");
    for id in &ids {
        if !inv.vgws.iter().any(|v| inv.vgw_id(&v.node) == *id) {
            return Err(ApiError::new(
                400,
                "InvalidVpnGatewayID.NotFound",
                format!("The vpnGateway ID '{id}' does not exist"),
            ));
        }
    }
    let filters = filters(p, &["vpn-gateway-id", "state", "type", "attachment.vpc-id"])?;
    let root = "DescribeVpnGatewaysResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("vpnGatewaySet");
    for v in &inv.vgws {
        let id = inv.vgw_id(&v.node);
        let vpc = v.vpc.as_deref().map(|n| inv.vpc_id(n)).unwrap_or_default();
        if !(ids.is_empty() || ids.contains(&id.as_str()))
            || !passes(
                &filters,
                &[
                    ("vpn-gateway-id", &id),
                    ("state", "available"),
                    ("type", "ipsec.1"),
                    ("attachment.vpc-id", &vpc),
                ],
            )
        {
            continue;
        }
        let conns = lab.show(&v.node, "connections").await?;
        x.open("item")
            .leaf("vpnGatewayId", &id)
            .leaf("state", "available")
            .leaf("type", "ipsec.1")
            .leaf_opt("amazonSideAsn", conns["amazon_side_asn"].as_u64())
            .open("attachments");
        if v.vpc.is_some() {
            x.open("item")
                .leaf("vpcId", &vpc)
                .leaf("state", "attached")
                .close("item");
        }
        x.close("attachments").close("item");
    }
    x.close("vpnGatewaySet");
    Ok(x.finish(root))
}

/// DescribeCustomerGateways.
pub async fn describe_customer_gateways(
    inv: &Inventory,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let ids = p.list("CustomerGatewayId");
    for id in &ids {
        if !inv.cgws.iter().any(|c| inv.cgw_id(&c.node) == *id) {
            return Err(ApiError::new(
                400,
                "InvalidCustomerGatewayID.NotFound",
                format!("The customerGateway ID '{id}' does not exist"),
            ));
        }
    }
    let filters = filters(
        p,
        &[
            "customer-gateway-id",
            "ip-address",
            "bgp-asn",
            "state",
            "type",
        ],
    )?;
    let root = "DescribeCustomerGatewaysResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("customerGatewaySet");
    for c in &inv.cgws {
        let id = inv.cgw_id(&c.node);
        let (ip, asn) = (c.ip_address.to_string(), c.asn.to_string());
        if !(ids.is_empty() || ids.contains(&id.as_str()))
            || !passes(
                &filters,
                &[
                    ("customer-gateway-id", &id),
                    ("ip-address", &ip),
                    ("bgp-asn", &asn),
                    ("state", "available"),
                    ("type", "ipsec.1"),
                ],
            )
        {
            continue;
        }
        x.open("item")
            .leaf("customerGatewayId", &id)
            .leaf("state", "available")
            .leaf("type", "ipsec.1")
            .leaf("ipAddress", &ip)
            .leaf("bgpAsn", &asn)
            .leaf("deviceName", &c.node)
            .close("item");
    }
    x.close("customerGatewaySet");
    Ok(x.finish(root))
}

fn simple_return(root: &str, rid: &str) -> String {
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.leaf("return", true);
    x.finish(root)
}

/// CreateVpnConnectionRoute / DeleteVpnConnectionRoute (`add` / delete).
pub async fn connection_route(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
    add: bool,
) -> Result<String, ApiError> {
    let id = required(p, "VpnConnectionId")?;
    let cidr = required(p, "DestinationCidrBlock")?;
    let c = inv.connection_by_id(id).ok_or_else(|| not_found_vpn(id))?;
    if cidr.parse::<ipnet::Ipv4Net>().is_err() {
        return Err(ApiError::invalid_parameter(format!(
            "Value ({cidr}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."
        )));
    }
    let mut args = Map::new();
    args.insert("connection".into(), json!(c.connection.name));
    args.insert("prefix".into(), json!(cidr));
    let kind = if add {
        "add_static_route"
    } else {
        "delete_static_route"
    };
    lab.action(&c.vgw.node, kind, args).await?;
    Ok(simple_return(
        if add {
            "CreateVpnConnectionRouteResponse"
        } else {
            "DeleteVpnConnectionRouteResponse"
        },
        rid,
    ))
}

/// The tunnel of connection `c` whose outside address is `ip`.
async fn tunnel_by_outside_ip(
    lab: &Lab,
    c: FoundConnection<'_>,
    ip: &str,
) -> Result<String, ApiError> {
    let st = vgw_state(lab, &c.vgw.node).await?;
    st.connection(&c.connection.name)
        .and_then(|conn| conn["tunnels"].as_array())
        .and_then(|ts| ts.iter().find(|t| t["outside_ip"] == ip))
        .and_then(|t| t["name"].as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "The VPN connection has no tunnel with outside IP address {ip}"
            ))
        })
}

/// ReplaceVpnTunnel.
pub async fn replace_vpn_tunnel(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let id = required(p, "VpnConnectionId")?;
    let ip = required(p, "VpnTunnelOutsideIpAddress")?;
    let c = inv.connection_by_id(id).ok_or_else(|| not_found_vpn(id))?;
    let tunnel = tunnel_by_outside_ip(lab, c, ip).await?;
    let mut args = Map::new();
    args.insert("tunnel".into(), json!(tunnel));
    lab.action(&c.vgw.node, "replace_tunnel", args).await?;
    Ok(simple_return("ReplaceVpnTunnelResponse", rid))
}

/// `Phase1LifetimeSeconds` -> `phase1_lifetime_seconds`, `DPDTimeoutSeconds` ->
/// `dpd_timeout_seconds`, `Phase1DHGroupNumbers` -> `phase1_dh_group_numbers` (a run of
/// capitals is one word; its last capital starts the next word when a lower-case letter follows).
fn snake(name: &str) -> String {
    let c: Vec<char> = name.chars().collect();
    let mut s = String::new();
    for (i, &ch) in c.iter().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            let prev = c[i - 1];
            let next_lower = c.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                s.push('_');
            }
        }
        s.push(ch.to_ascii_lowercase());
    }
    s
}

/// `TunnelOptions.*` as the VGW's `modify_tunnel_options` takes them: scalars (numbers as
/// numbers, `true`/`false` as booleans), and lists `X.N.Value` as lists of strings/numbers.
fn tunnel_options(p: &Params) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    let mut lists: std::collections::BTreeMap<String, Vec<(u32, Value)>> = Default::default();
    let scalar = |v: &str| -> Value {
        if let Ok(n) = v.parse::<u64>() {
            json!(n)
        } else if v == "true" || v == "false" {
            json!(v == "true")
        } else {
            json!(v)
        }
    };
    for (k, v) in p.under("TunnelOptions.") {
        let parts: Vec<&str> = k.split('.').collect();
        match parts.as_slice() {
            [name] => {
                out.insert(snake(name), scalar(v));
            }
            [name, n, "Value"] => {
                let n: u32 = n
                    .parse()
                    .map_err(|_| ApiError::invalid_parameter(format!("TunnelOptions.{k}")))?;
                lists.entry(snake(name)).or_default().push((n, scalar(v)));
            }
            _ => {
                return Err(ApiError::invalid_parameter(format!(
                    "TunnelOptions.{k} is not a tunnel option"
                )));
            }
        }
    }
    for (name, mut items) in lists {
        items.sort_by_key(|(n, _)| *n);
        out.insert(
            name,
            Value::Array(items.into_iter().map(|(_, v)| v).collect()),
        );
    }
    if out.is_empty() {
        return Err(ApiError::missing("TunnelOptions"));
    }
    Ok(out)
}

/// ModifyVpnTunnelOptions: the VGW merges, checks AWS's rules and restarts the tunnel.
pub async fn modify_vpn_tunnel_options(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let id = required(p, "VpnConnectionId")?;
    let ip = required(p, "VpnTunnelOutsideIpAddress")?;
    let c = inv.connection_by_id(id).ok_or_else(|| not_found_vpn(id))?;
    let options = tunnel_options(p)?;
    let tunnel = tunnel_by_outside_ip(lab, c, ip).await?;
    let mut args = Map::new();
    args.insert("tunnel".into(), json!(tunnel));
    args.insert("options".into(), Value::Object(options));
    lab.action(&c.vgw.node, "modify_tunnel_options", args)
        .await?;
    let st = vgw_state(lab, &c.vgw.node).await?;
    let root = "ModifyVpnTunnelOptionsResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("vpnConnection");
    write_connection(&mut x, inv, c, &st);
    x.close("vpnConnection");
    Ok(x.finish(root))
}

/// GetVpnConnectionDeviceTypes.
pub fn get_device_types(rid: &str) -> String {
    let root = "GetVpnConnectionDeviceTypesResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("vpnConnectionDeviceTypeSet");
    for (id, vendor, platform, software) in DEVICE_TYPES {
        x.open("item")
            .leaf("vpnConnectionDeviceTypeId", id)
            .leaf("vendor", vendor)
            .leaf("platform", platform)
            .leaf("software", software)
            .close("item");
    }
    x.close("vpnConnectionDeviceTypeSet");
    x.finish(root)
}

/// GetVpnConnectionDeviceSampleConfiguration: `cgw-config` of the running lab (run on a
/// blocking thread: it asks the VGW for the lab's keys with its own client).
pub async fn get_sample_configuration(
    inv: &Inventory,
    sample: std::sync::Arc<SampleConfig>,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let id = required(p, "VpnConnectionId")?;
    let device = required(p, "VpnConnectionDeviceTypeId")?;
    let c = inv.connection_by_id(id).ok_or_else(|| not_found_vpn(id))?;
    if !DEVICE_TYPES.iter().any(|(d, ..)| *d == device) {
        return Err(ApiError::invalid_parameter(format!(
            "VpnConnectionDeviceTypeId {device} is not one of: {}",
            DEVICE_TYPES
                .iter()
                .map(|d| d.0)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let (vgw, connection, device) = (
        c.vgw.node.clone(),
        c.connection.name.clone(),
        device.to_string(),
    );
    let text = tokio::task::spawn_blocking(move || sample(&vgw, &connection, &device))
        .await
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))?
        .map_err(ApiError::invalid_parameter)?;
    let root = "GetVpnConnectionDeviceSampleConfigurationResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.leaf("vpnConnectionDeviceSampleConfiguration", text.expose());
    Ok(x.finish(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_options_take_scalars_and_lists() {
        let p = Params::parse(
            "TunnelOptions.Phase2LifetimeSeconds=900&TunnelOptions.Phase1EncryptionAlgorithms.2.Value=AES256&TunnelOptions.Phase1EncryptionAlgorithms.1.Value=AES128&TunnelOptions.DPDTimeoutAction=restart",
        );
        let o = tunnel_options(&p).unwrap();
        assert_eq!(o["phase2_lifetime_seconds"], json!(900));
        assert_eq!(
            o["phase1_encryption_algorithms"],
            json!(["AES128", "AES256"])
        );
        assert_eq!(o["dpd_timeout_action"], json!("restart"));
        assert_eq!(snake("Phase1DHGroupNumbers"), "phase1_dh_group_numbers");
        assert_eq!(snake("IKEVersions"), "ike_versions");
        assert!(tunnel_options(&Params::parse("TunnelOptions.A.B=1")).is_err());
        assert_eq!(
            tunnel_options(&Params::parse("")).unwrap_err().code,
            "MissingParameter"
        );
    }

    #[test]
    fn unknown_filters_are_refused() {
        let p = Params::parse("Filter.1.Name=tag:Name&Filter.1.Value.1=x");
        assert_eq!(
            filters(&p, &["state"]).unwrap_err().code,
            "InvalidParameterValue"
        );
        let p = Params::parse("Filter.1.Name=state&Filter.1.Value.1=available");
        let f = filters(&p, &["state"]).unwrap();
        assert!(passes(&f, &[("state", "available")]) && !passes(&f, &[("state", "deleted")]));
    }
}
