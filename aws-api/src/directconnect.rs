//! The Direct Connect API (JSON 1.1, `X-Amz-Target: OvertureService.<Action>`), answered
//! from the DX location routers' `vifs` views: DescribeConnections, DescribeVirtualInterfaces
//! (bgpPeers with bgpStatus from the live sessions), DescribeDirectConnectGateways,
//! DescribeDirectConnectGatewayAssociations, StartBgpFailoverTest, StopBgpFailoverTest (the
//! DX router's actions, the ones the timeline uses).
//!
//! (Our choice) `authKey` is left out of every answer: AWS returns the BGP MD5 key, but a
//! key never leaves a daemon here except through `cgw-config`. A VIF's
//! `virtualInterfaceState` is `available` while any of its BGP sessions is Established, else
//! `down`. Connections report `bandwidth` `1Gbps` and `location` `hybridlab` (the lab has no
//! such facts).
//!
//! What it does not do: create or delete connections, VIFs, gateways or associations.

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::ids::{account_id, resource_id, uuid_id};
use crate::inventory::Inventory;
use crate::lab::Lab;

fn client_error(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "DirectConnectClientException", message)
}

/// One DX node's `vifs` view, with the node's name.
struct DxState {
    node: String,
    view: Value,
}

async fn all_state(inv: &Inventory, lab: &Lab) -> Result<Vec<DxState>, ApiError> {
    let mut out = Vec::new();
    for node in &inv.dx_nodes {
        out.push(DxState {
            node: node.clone(),
            view: lab.show(node, "vifs").await?,
        });
    }
    Ok(out)
}

fn vifs(st: &DxState) -> impl Iterator<Item = &Value> {
    st.view["vifs"].as_array().into_iter().flatten()
}

fn connection_id(inv: &Inventory, node: &str, connection: &str) -> String {
    resource_id(&inv.lab, "dxcon", &format!("{node}/{connection}"))
}

fn vif_id(inv: &Inventory, node: &str, vif: &str) -> String {
    resource_id(&inv.lab, "dxvif", &format!("{node}/{vif}"))
}

fn gateway_id(inv: &Inventory, node: &str, gateway: &str) -> String {
    uuid_id(&inv.lab, "dxgw", &format!("{node}/{gateway}"))
}

fn peer_id(inv: &Inventory, node: &str, vif: &str, family: &str) -> String {
    resource_id(&inv.lab, "dxpeer", &format!("{node}/{vif}/{family}"))
}

fn str_arg<'a>(body: &'a Value, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

/// The Direct Connect resource ids of the lab, (type, name, id), read from the live DX
/// routers (for `hybridlab show LAB`).
pub async fn resource_ids(
    inv: &Inventory,
    lab: &Lab,
) -> Result<Vec<(String, String, String)>, ApiError> {
    let mut out = Vec::new();
    for st in all_state(inv, lab).await? {
        for g in st.view["gateways"].as_array().into_iter().flatten() {
            let name = g["name"].as_str().unwrap_or_default();
            out.push((
                "dx-gateway".into(),
                name.to_string(),
                gateway_id(inv, &st.node, name),
            ));
        }
        let mut seen = Vec::new();
        for v in vifs(&st) {
            let conn = v["connection"].as_str().unwrap_or_default().to_string();
            if !seen.contains(&conn) {
                out.push((
                    "dx-connection".into(),
                    conn.clone(),
                    connection_id(inv, &st.node, &conn),
                ));
                seen.push(conn);
            }
            let name = v["name"].as_str().unwrap_or_default();
            out.push((
                "dx-virtual-interface".into(),
                name.to_string(),
                vif_id(inv, &st.node, name),
            ));
        }
    }
    Ok(out)
}

/// DescribeConnections.
pub async fn describe_connections(
    inv: &Inventory,
    lab: &Lab,
    body: &Value,
) -> Result<Value, ApiError> {
    let want = str_arg(body, "connectionId");
    let mut out = Vec::new();
    for st in all_state(inv, lab).await? {
        let mut seen: Vec<String> = Vec::new();
        for v in vifs(&st) {
            let name = v["connection"].as_str().unwrap_or_default().to_string();
            if seen.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            let id = connection_id(inv, &st.node, &name);
            if want.is_some_and(|w| w != id) {
                continue;
            }
            out.push(json!({
                "ownerAccount": account_id(&inv.lab),
                "connectionId": id,
                "connectionName": name,
                "connectionState": "available",
                "region": inv.region,
                "location": "hybridlab",
                "bandwidth": "1Gbps",
                "jumboFrameCapable": true,
            }));
        }
    }
    if let Some(w) = want
        && out.is_empty()
    {
        return Err(client_error(format!("Connection {w} not found")));
    }
    Ok(json!({ "connections": out }))
}

fn vif_json(inv: &Inventory, st: &DxState, v: &Value) -> Value {
    let name = v["name"].as_str().unwrap_or_default();
    let connection = v["connection"].as_str().unwrap_or_default();
    let status = |bgp: &Value| {
        if bgp["state"] == "Established" {
            "up"
        } else {
            "down"
        }
    };
    let strip = |a: &Value| a.as_str().map(|s| s.to_string()).unwrap_or_default();
    let mut peers = vec![json!({
        "bgpPeerId": peer_id(inv, &st.node, name, "ipv4"),
        "asn": v["customer_asn"],
        "addressFamily": "ipv4",
        "amazonAddress": strip(&v["amazon_address"]),
        "customerAddress": strip(&v["customer_address"]),
        "bgpPeerState": "available",
        "bgpStatus": status(&v["bgp"]),
        "awsDeviceV2": st.node,
    })];
    if !v["bgp_v6"].is_null() {
        peers.push(json!({
            "bgpPeerId": peer_id(inv, &st.node, name, "ipv6"),
            "asn": v["customer_asn"],
            "addressFamily": "ipv6",
            "amazonAddress": strip(&v["amazon_address_v6"]),
            "customerAddress": strip(&v["customer_address_v6"]),
            "bgpPeerState": "available",
            "bgpStatus": status(&v["bgp_v6"]),
            "awsDeviceV2": st.node,
        }));
    }
    let up = v["bgp"]["state"] == "Established" || v["bgp_v6"]["state"] == "Established";
    let gateway = v["gateway"].as_str().unwrap_or_default();
    json!({
        "ownerAccount": account_id(&inv.lab),
        "virtualInterfaceId": vif_id(inv, &st.node, name),
        "location": "hybridlab",
        "connectionId": connection_id(inv, &st.node, connection),
        "virtualInterfaceType": v["type"],
        "virtualInterfaceName": name,
        "vlan": v["vlan"],
        "asn": v["customer_asn"],
        "amazonSideAsn": st.view["amazon_side_asn"],
        "amazonAddress": strip(&v["amazon_address"]),
        "customerAddress": strip(&v["customer_address"]),
        "addressFamily": "ipv4",
        "virtualInterfaceState": if up { "available" } else { "down" },
        "mtu": v["mtu"],
        "jumboFrameCapable": true,
        "directConnectGatewayId": gateway_id(inv, &st.node, gateway),
        "region": inv.region,
        "awsDeviceV2": st.node,
        "bgpPeers": peers,
    })
}

/// DescribeVirtualInterfaces.
pub async fn describe_virtual_interfaces(
    inv: &Inventory,
    lab: &Lab,
    body: &Value,
) -> Result<Value, ApiError> {
    let want_vif = str_arg(body, "virtualInterfaceId");
    let want_conn = str_arg(body, "connectionId");
    let mut out = Vec::new();
    for st in all_state(inv, lab).await? {
        for v in vifs(&st) {
            let j = vif_json(inv, &st, v);
            if want_vif.is_some_and(|w| j["virtualInterfaceId"] != w)
                || want_conn.is_some_and(|w| j["connectionId"] != w)
            {
                continue;
            }
            out.push(j);
        }
    }
    if let Some(w) = want_vif
        && out.is_empty()
    {
        return Err(client_error(format!("Virtual interface {w} not found")));
    }
    Ok(json!({ "virtualInterfaces": out }))
}

/// DescribeDirectConnectGateways.
pub async fn describe_gateways(
    inv: &Inventory,
    lab: &Lab,
    body: &Value,
) -> Result<Value, ApiError> {
    let want = str_arg(body, "directConnectGatewayId");
    let mut out = Vec::new();
    for st in all_state(inv, lab).await? {
        for g in st.view["gateways"].as_array().into_iter().flatten() {
            let id = gateway_id(inv, &st.node, g["name"].as_str().unwrap_or_default());
            if want.is_some_and(|w| w != id) {
                continue;
            }
            out.push(json!({
                "directConnectGatewayId": id,
                "directConnectGatewayName": g["name"],
                "amazonSideAsn": st.view["amazon_side_asn"],
                "ownerAccount": account_id(&inv.lab),
                "directConnectGatewayState": "available",
            }));
        }
    }
    if let Some(w) = want
        && out.is_empty()
    {
        return Err(client_error(format!(
            "Direct Connect gateway {w} not found"
        )));
    }
    Ok(json!({ "directConnectGateways": out }))
}

/// DescribeDirectConnectGatewayAssociations.
pub async fn describe_associations(
    inv: &Inventory,
    lab: &Lab,
    body: &Value,
) -> Result<Value, ApiError> {
    let want_gw = str_arg(body, "directConnectGatewayId");
    let want_assoc = str_arg(body, "associationId");
    let want_target = str_arg(body, "associatedGatewayId");
    let mut out = Vec::new();
    for st in all_state(inv, lab).await? {
        for g in st.view["gateways"].as_array().into_iter().flatten() {
            let gname = g["name"].as_str().unwrap_or_default();
            let gid = gateway_id(inv, &st.node, gname);
            for a in g["associations"].as_array().into_iter().flatten() {
                let target = a["name"].as_str().unwrap_or_default();
                let (target_id, target_type) = if a["kind"] == "tgw" {
                    (resource_id(&inv.lab, "tgw", target), "transitGateway")
                } else {
                    (inv.vgw_id(target), "virtualPrivateGateway")
                };
                let aid = uuid_id(
                    &inv.lab,
                    "dxgw-assoc",
                    &format!("{}/{gname}/{target}", st.node),
                );
                if want_gw.is_some_and(|w| w != gid)
                    || want_assoc.is_some_and(|w| w != aid)
                    || want_target.is_some_and(|w| w != target_id)
                {
                    continue;
                }
                let prefixes: Vec<Value> = a["allowed_prefixes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| json!({ "cidr": p }))
                    .collect();
                let mut j = json!({
                    "directConnectGatewayId": gid,
                    "directConnectGatewayOwnerAccount": account_id(&inv.lab),
                    "associationState": "associated",
                    "associationId": aid,
                    "associatedGateway": {
                        "id": target_id,
                        "type": target_type,
                        "ownerAccount": account_id(&inv.lab),
                        "region": inv.region,
                    },
                    "allowedPrefixesToDirectConnectGateway": prefixes,
                });
                if target_type == "virtualPrivateGateway" {
                    j["virtualGatewayId"] = json!(target_id);
                    j["virtualGatewayRegion"] = json!(inv.region);
                    j["virtualGatewayOwnerAccount"] = json!(account_id(&inv.lab));
                }
                out.push(j);
            }
        }
    }
    Ok(json!({ "directConnectGatewayAssociations": out }))
}

/// The DX node and VIF name of `virtualInterfaceId`.
async fn find_vif(
    inv: &Inventory,
    lab: &Lab,
    id: &str,
) -> Result<(String, String, Value), ApiError> {
    for st in all_state(inv, lab).await? {
        for v in vifs(&st) {
            let name = v["name"].as_str().unwrap_or_default();
            if vif_id(inv, &st.node, name) == id {
                let j = vif_json(inv, &st, v);
                return Ok((st.node.clone(), name.to_string(), j));
            }
        }
    }
    Err(client_error(format!("Virtual interface {id} not found")))
}

fn test_json(
    inv: &Inventory,
    vif_id: &str,
    peers: &Value,
    status: &str,
    minutes: Option<u64>,
) -> Value {
    let now = crate::time::iso8601(std::time::SystemTime::now());
    let mut t = json!({
        "testId": uuid_id(&inv.lab, "dxtest", &format!("{vif_id}/{now}")),
        "virtualInterfaceId": vif_id,
        "bgpPeers": peers,
        "status": status,
        "ownerAccount": account_id(&inv.lab),
        "startTime": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
    });
    if let Some(m) = minutes {
        t["testDurationInMinutes"] = json!(m);
    }
    t
}

/// StartBgpFailoverTest: AWS's default duration is 180 minutes, at most 4320.
pub async fn start_failover_test(
    inv: &Inventory,
    lab: &Lab,
    body: &Value,
) -> Result<Value, ApiError> {
    let id = str_arg(body, "virtualInterfaceId")
        .ok_or_else(|| client_error("virtualInterfaceId is required"))?;
    let minutes = match body.get("testDurationInMinutes") {
        None | Some(Value::Null) => 180,
        Some(v) => v
            .as_u64()
            .filter(|m| (1..=4320).contains(m))
            .ok_or_else(|| client_error("testDurationInMinutes must be 1-4320"))?,
    };
    let (node, vif, j) = find_vif(inv, lab, id).await?;
    let peer_ids: Vec<Value> = j["bgpPeers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["bgpPeerId"].clone())
        .collect();
    if let Some(asked) = body.get("bgpPeers").and_then(Value::as_array)
        && let Some(bad) = asked.iter().find(|a| !peer_ids.contains(a))
    {
        return Err(client_error(format!("BGP peer {bad} is not on {id}")));
    }
    let mut args = Map::new();
    args.insert("vifs".into(), json!([vif]));
    args.insert("minutes".into(), json!(minutes));
    lab.action(&node, "start_bgp_failover_test", args)
        .await
        .map_err(|e| client_error(e.message))?;
    Ok(
        json!({ "virtualInterfaceTest": test_json(inv, id, &Value::Array(peer_ids), "in_progress", Some(minutes)) }),
    )
}

/// StopBgpFailoverTest.
pub async fn stop_failover_test(
    inv: &Inventory,
    lab: &Lab,
    body: &Value,
) -> Result<Value, ApiError> {
    let id = str_arg(body, "virtualInterfaceId")
        .ok_or_else(|| client_error("virtualInterfaceId is required"))?;
    let (node, vif, j) = find_vif(inv, lab, id).await?;
    let mut args = Map::new();
    args.insert("vifs".into(), json!([vif]));
    lab.action(&node, "stop_bgp_failover_test", args)
        .await
        .map_err(|e| client_error(e.message))?;
    let peers: Vec<Value> = j["bgpPeers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["bgpPeerId"].clone())
        .collect();
    let mut t = test_json(inv, id, &Value::Array(peers), "completed", None);
    t["endTime"] = t["startTime"].clone();
    Ok(json!({ "virtualInterfaceTest": t }))
}
