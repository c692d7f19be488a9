//! The EC2 Query API's Transit Gateway calls, answered from each TGW daemon's `tgw`,
//! `attachments`, `routes` and `connect` views: DescribeTransitGateways,
//! DescribeTransitGatewayAttachments, SearchTransitGatewayRoutes and
//! DescribeTransitGatewayConnectPeers.
//!
//! Ids: `tgw-`, `tgw-attach-`, `tgw-rtb-`, `tgw-connect-peer-` + 17 hex digits of the lab,
//! node and name ([`crate::ids`]). SearchTransitGatewayRoutes supports AWS's filters `type`
//! (static | propagated), `state` (active | blackhole), `route-search.exact-match`,
//! `route-search.longest-prefix-match`, `route-search.subnet-of-match`,
//! `route-search.supernet-of-match` and `attachment.transit-gateway-attachment-id`; a route
//! of the table with several next hops (ECMP) lists every attachment, as AWS does.
//!
//! What it does not do: create, modify or delete anything (route changes are
//! [`crate::transitgateway_routes`]); the multicast, peering and policy-table calls.

use ipnet::IpNet;
use serde_json::Value;

use crate::error::ApiError;
use crate::form::Params;
use crate::ids::{account_id, resource_id};
use crate::inventory::Inventory;
use crate::lab::Lab;
use crate::xml::Xml;

pub(crate) const XMLNS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

fn tgw_id(inv: &Inventory, node: &str) -> String {
    resource_id(&inv.lab, "tgw", node)
}
pub(crate) fn attachment_id(inv: &Inventory, node: &str, name: &str) -> String {
    resource_id(&inv.lab, "tgw-attach", &format!("{node}/{name}"))
}
pub(crate) fn table_id(inv: &Inventory, node: &str, name: &str) -> String {
    resource_id(&inv.lab, "tgw-rtb", &format!("{node}/{name}"))
}
fn peer_id(inv: &Inventory, node: &str, name: &str) -> String {
    resource_id(&inv.lab, "tgw-connect-peer", &format!("{node}/{name}"))
}

fn enable(b: bool) -> &'static str {
    if b { "enable" } else { "disable" }
}

/// AWS's `resourceType` of an attachment kind.
pub(crate) fn resource_type(kind: &str) -> &'static str {
    match kind {
        "vpc" => "vpc",
        "vpn" => "vpn",
        "connect" => "connect",
        _ => "direct-connect-gateway",
    }
}

pub(crate) fn request_id(x: &mut Xml, rid: &str) {
    x.leaf("requestId", rid);
}

/// The TGW views of every TGW node: (node, `tgw` view, `attachments` view).
async fn gateways(inv: &Inventory, lab: &Lab) -> Result<Vec<(String, Value, Value)>, ApiError> {
    let mut out = Vec::new();
    for node in &inv.tgw_nodes {
        out.push((
            node.clone(),
            lab.show(node, "tgw").await?,
            lab.show(node, "attachments").await?,
        ));
    }
    Ok(out)
}

/// The resource id an attachment stands for (the VPC's, the VPN connection's, the DX
/// gateway's, or for Connect its transport attachment).
pub(crate) fn attachment_resource(inv: &Inventory, node: &str, a: &Value) -> String {
    let name = a["name"].as_str().unwrap_or_default();
    match a["type"].as_str().unwrap_or_default() {
        "vpc" => inv.vpc_id(name),
        "vpn" => resource_id(&inv.lab, "vpn", &format!("{node}/{name}")),
        "connect" => attachment_id(inv, node, a["transport"].as_str().unwrap_or_default()),
        _ => resource_id(&inv.lab, "dxgw", name),
    }
}

/// DescribeTransitGateways.
pub async fn describe_transit_gateways(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let ids = p.list("TransitGatewayIds");
    for id in &ids {
        if !inv.tgw_nodes.iter().any(|n| tgw_id(inv, n) == *id) {
            return Err(ApiError::new(
                400,
                "InvalidTransitGatewayID.NotFound",
                format!("Transit Gateway {id} was deleted or does not exist."),
            ));
        }
    }
    let root = "DescribeTransitGatewaysResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("transitGatewaySet");
    for (node, t, _) in gateways(inv, lab).await? {
        let id = tgw_id(inv, &node);
        if !ids.is_empty() && !ids.contains(&id.as_str()) {
            continue;
        }
        let default_table = t["route_tables"]
            .as_array()
            .and_then(|ts| ts.first())
            .and_then(|r| r["name"].as_str())
            .map(|n| table_id(inv, &node, n))
            .unwrap_or_default();
        x.open("item")
            .leaf("transitGatewayId", &id)
            .leaf(
                "transitGatewayArn",
                format!(
                    "arn:aws:ec2:{}:{}:transit-gateway/{id}",
                    inv.region,
                    account_id(&inv.lab)
                ),
            )
            .leaf("state", "available")
            .leaf("ownerId", account_id(&inv.lab))
            .leaf("description", &node)
            .open("options")
            .leaf_opt("amazonSideAsn", t["asn"].as_u64())
            .open("transitGatewayCidrBlocks")
            .leaf_opt("item", t["cidr_block"].as_str())
            .close("transitGatewayCidrBlocks")
            .leaf("autoAcceptSharedAttachments", "disable")
            .leaf(
                "defaultRouteTableAssociation",
                enable(t["default_association"] == true),
            )
            .leaf("associationDefaultRouteTableId", &default_table)
            .leaf(
                "defaultRouteTablePropagation",
                enable(t["default_propagation"] == true),
            )
            .leaf("propagationDefaultRouteTableId", &default_table)
            .leaf("vpnEcmpSupport", enable(t["vpn_ecmp"] == true))
            .leaf("dnsSupport", "enable")
            .leaf("multicastSupport", "disable")
            .close("options")
            .close("item");
    }
    x.close("transitGatewaySet");
    Ok(x.finish(root))
}

/// DescribeTransitGatewayAttachments.
pub async fn describe_attachments(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let ids = p.list("TransitGatewayAttachmentIds");
    let root = "DescribeTransitGatewayAttachmentsResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("transitGatewayAttachments");
    let mut found = 0;
    for (node, _, atts) in gateways(inv, lab).await? {
        for a in atts["attachments"].as_array().into_iter().flatten() {
            let name = a["name"].as_str().unwrap_or_default();
            let id = attachment_id(inv, &node, name);
            if !ids.is_empty() && !ids.contains(&id.as_str()) {
                continue;
            }
            found += 1;
            x.open("item")
                .leaf("transitGatewayAttachmentId", &id)
                .leaf("transitGatewayId", tgw_id(inv, &node))
                .leaf("transitGatewayOwnerId", account_id(&inv.lab))
                .leaf("resourceOwnerId", account_id(&inv.lab))
                .leaf(
                    "resourceType",
                    resource_type(a["type"].as_str().unwrap_or_default()),
                )
                .leaf("resourceId", attachment_resource(inv, &node, a))
                .leaf("state", "available");
            if let Some(t) = a["association"].as_str() {
                x.open("association")
                    .leaf("transitGatewayRouteTableId", table_id(inv, &node, t))
                    .leaf("state", "associated")
                    .close("association");
            }
            x.close("item");
        }
    }
    if found < ids.len() {
        return Err(ApiError::new(
            400,
            "InvalidTransitGatewayAttachmentID.NotFound",
            "one of the transit gateway attachment ids does not exist",
        ));
    }
    x.close("transitGatewayAttachments");
    Ok(x.finish(root))
}

/// One route filter of SearchTransitGatewayRoutes.
fn route_passes(
    filter: &str,
    values: &[&str],
    prefix: IpNet,
    kind: &str,
    blackhole: bool,
    attachments: &[String],
) -> Result<bool, ApiError> {
    let nets = || -> Result<Vec<IpNet>, ApiError> {
        values
            .iter()
            .map(|v| {
                v.parse::<IpNet>().map_err(|_| {
                    ApiError::invalid_parameter(format!("{filter}: {v} is not a CIDR block"))
                })
            })
            .collect()
    };
    Ok(match filter {
        "type" => values.contains(&if kind == "static" {
            "static"
        } else {
            "propagated"
        }),
        "state" => values.contains(&if blackhole { "blackhole" } else { "active" }),
        "route-search.exact-match" => nets()?.contains(&prefix),
        "route-search.subnet-of-match" => nets()?.iter().any(|n| n.contains(&prefix)),
        "route-search.supernet-of-match" => nets()?.iter().any(|n| prefix.contains(n)),
        "route-search.longest-prefix-match" => {
            nets()?.iter().any(|n| prefix.contains(&n.network()))
        }
        "attachment.transit-gateway-attachment-id" => {
            attachments.iter().any(|a| values.contains(&a.as_str()))
        }
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "The filter '{other}' is invalid"
            )));
        }
    })
}

/// The TGW node and route table name of route table id `table`.
pub(crate) async fn route_table_by_id(
    inv: &Inventory,
    lab: &Lab,
    table: &str,
) -> Result<(String, String), ApiError> {
    for node in &inv.tgw_nodes {
        let t = lab.show(node, "tgw").await?;
        for r in t["route_tables"].as_array().into_iter().flatten() {
            let rname = r["name"].as_str().unwrap_or_default();
            if table_id(inv, node, rname) == table {
                return Ok((node.clone(), rname.to_string()));
            }
        }
    }
    Err(ApiError::new(
        400,
        "InvalidRouteTableID.NotFound",
        format!("The routeTable ID '{table}' does not exist"),
    ))
}

/// SearchTransitGatewayRoutes: the routes of one route table, as the TGW selected them.
pub async fn search_routes(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let table = p
        .get("TransitGatewayRouteTableId")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing("TransitGatewayRouteTableId"))?;
    let mut filters: Vec<(String, Vec<&str>)> = Vec::new();
    let mut n = 1;
    while let Some(name) = p.get(&format!("Filter.{n}.Name")) {
        filters.push((name.to_string(), p.list(&format!("Filter.{n}.Value"))));
        n += 1;
    }
    if filters.is_empty() {
        return Err(ApiError::missing("Filters"));
    }
    let max = match p.get("MaxResults") {
        None => 1000,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|m| (5..=1000).contains(m))
            .ok_or_else(|| ApiError::invalid_parameter("MaxResults must be 5-1000"))?,
    };
    let (node, rname) = route_table_by_id(inv, lab, table).await?;
    let routes = lab.show(&node, "routes").await?;
    let atts = lab.show(&node, "attachments").await?;
    let kind_of = |att: &str| -> Option<Value> {
        atts["attachments"]
            .as_array()?
            .iter()
            .find(|a| a["name"] == att)
            .cloned()
    };
    let root = "SearchTransitGatewayRoutesResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("routeSet");
    let mut count = 0;
    let mut more = false;
    for r in routes["tables"][&rname]["routes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Ok(prefix) = r["prefix"].as_str().unwrap_or_default().parse::<IpNet>() else {
            continue;
        };
        let kind = r["kind"].as_str().unwrap_or_default();
        let blackhole = r["blackhole"] == true;
        let mut names: Vec<String> = Vec::new();
        for path in r["paths"].as_array().into_iter().flatten() {
            if let Some(a) = path["attachment"].as_str()
                && !names.iter().any(|n| n == a)
            {
                names.push(a.to_string());
            }
        }
        let ids: Vec<String> = names.iter().map(|a| attachment_id(inv, &node, a)).collect();
        let mut pass = true;
        for (f, vals) in &filters {
            pass &= route_passes(f, vals, prefix, kind, blackhole, &ids)?;
        }
        if !pass {
            continue;
        }
        if count == max {
            more = true;
            break;
        }
        count += 1;
        x.open("item")
            .leaf("destinationCidrBlock", prefix)
            .open("transitGatewayAttachments");
        for (a, id) in names.iter().zip(&ids) {
            let av = kind_of(a).unwrap_or(Value::Null);
            x.open("item")
                .leaf("resourceId", attachment_resource(inv, &node, &av))
                .leaf("transitGatewayAttachmentId", id)
                .leaf(
                    "resourceType",
                    resource_type(av["type"].as_str().unwrap_or_default()),
                )
                .close("item");
        }
        x.close("transitGatewayAttachments")
            .leaf(
                "type",
                if kind == "static" {
                    "static"
                } else {
                    "propagated"
                },
            )
            .leaf("state", if blackhole { "blackhole" } else { "active" })
            .close("item");
    }
    x.close("routeSet").leaf("additionalRoutesAvailable", more);
    Ok(x.finish(root))
}

/// DescribeTransitGatewayConnectPeers.
pub async fn describe_connect_peers(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
) -> Result<String, ApiError> {
    let ids = p.list("TransitGatewayConnectPeerIds");
    let root = "DescribeTransitGatewayConnectPeersResponse";
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("transitGatewayConnectPeerSet");
    let mut found = 0;
    for node in &inv.tgw_nodes {
        let t = lab.show(node, "tgw").await?;
        let connect = lab.show(node, "connect").await?;
        for (attachment, peers) in connect.as_object().into_iter().flatten() {
            for (name, peer) in peers.as_object().into_iter().flatten() {
                let id = peer_id(inv, node, name);
                if !ids.is_empty() && !ids.contains(&id.as_str()) {
                    continue;
                }
                found += 1;
                x.open("item")
                    .leaf(
                        "transitGatewayAttachmentId",
                        attachment_id(inv, node, attachment),
                    )
                    .leaf("transitGatewayConnectPeerId", &id)
                    .leaf("state", "available")
                    .open("connectPeerConfiguration")
                    .leaf_opt("transitGatewayAddress", peer["tgw_gre_address"].as_str())
                    .leaf_opt("peerAddress", peer["peer_address"].as_str())
                    .open("insideCidrBlocks")
                    .leaf_opt("item", peer["inside_cidr"].as_str())
                    .leaf_opt("item", peer["inside_cidr_v6"].as_str())
                    .close("insideCidrBlocks")
                    .leaf("protocol", "gre")
                    .open("bgpConfigurations");
                for s in peer["sessions"].as_array().into_iter().flatten() {
                    let up = s["state"] == "Established";
                    x.open("item")
                        .leaf_opt("transitGatewayAsn", t["asn"].as_u64())
                        .leaf_opt("peerAsn", peer["peer_asn"].as_u64())
                        .leaf_opt("transitGatewayAddress", s["tgw_address"].as_str())
                        .leaf_opt("peerAddress", s["appliance_address"].as_str())
                        .leaf("bgpStatus", if up { "up" } else { "down" })
                        .close("item");
                }
                x.close("bgpConfigurations")
                    .close("connectPeerConfiguration")
                    .close("item");
            }
        }
    }
    if found < ids.len() {
        return Err(ApiError::new(
            400,
            "InvalidTransitGatewayConnectPeerID.NotFound",
            "one of the Connect peer ids does not exist",
        ));
    }
    x.close("transitGatewayConnectPeerSet");
    Ok(x.finish(root))
}

/// The TGW resource ids of the lab (type, name, id), for `hybridlab show LAB`.
pub async fn resource_ids(
    inv: &Inventory,
    lab: &Lab,
) -> Result<Vec<(String, String, String)>, ApiError> {
    let mut out = Vec::new();
    for (node, t, atts) in gateways(inv, lab).await? {
        out.push(("transit-gateway".into(), node.clone(), tgw_id(inv, &node)));
        for r in t["route_tables"].as_array().into_iter().flatten() {
            let n = r["name"].as_str().unwrap_or_default();
            out.push((
                "tgw-route-table".into(),
                format!("{node}/{n}"),
                table_id(inv, &node, n),
            ));
        }
        for a in atts["attachments"].as_array().into_iter().flatten() {
            let n = a["name"].as_str().unwrap_or_default();
            out.push((
                "tgw-attachment".into(),
                format!("{node}/{n}"),
                attachment_id(inv, &node, n),
            ));
            for peer in a["peers"].as_array().into_iter().flatten() {
                let pn = peer.as_str().unwrap_or_default();
                out.push((
                    "tgw-connect-peer".into(),
                    format!("{node}/{pn}"),
                    peer_id(inv, &node, pn),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_filters() {
        let p: IpNet = "10.1.0.0/16".parse().unwrap();
        let ids = vec!["tgw-attach-1".to_string()];
        // IPv6 routes (Connect's MP-BGP, IPv6 VPCs) are searched alike; families never match.
        let v6: IpNet = "2001:db8:b::/48".parse().unwrap();
        let search = |f: &str, v: &str, p: IpNet| route_passes(f, &[v], p, "connect", false, &ids);
        assert!(search("route-search.exact-match", "2001:db8:b::/48", v6).unwrap());
        assert!(search("route-search.subnet-of-match", "2001:db8::/32", v6).unwrap());
        assert!(
            search(
                "route-search.longest-prefix-match",
                "2001:db8:b:1::10/128",
                v6
            )
            .unwrap()
        );
        assert!(!search("route-search.subnet-of-match", "0.0.0.0/0", v6).unwrap());
        assert!(!search("route-search.subnet-of-match", "::/0", p).unwrap());
        assert!(route_passes("type", &["propagated"], p, "connect", false, &ids).unwrap());
        assert!(!route_passes("type", &["static"], p, "connect", false, &ids).unwrap());
        assert!(route_passes("state", &["blackhole"], p, "static", true, &ids).unwrap());
        assert!(
            route_passes(
                "route-search.exact-match",
                &["10.1.0.0/16"],
                p,
                "vpc",
                false,
                &ids
            )
            .unwrap()
        );
        assert!(
            route_passes(
                "route-search.subnet-of-match",
                &["10.0.0.0/8"],
                p,
                "vpc",
                false,
                &ids
            )
            .unwrap()
        );
        assert!(
            route_passes(
                "route-search.supernet-of-match",
                &["10.1.2.0/24"],
                p,
                "vpc",
                false,
                &ids
            )
            .unwrap()
        );
        assert!(
            route_passes(
                "route-search.longest-prefix-match",
                &["10.1.2.3/32"],
                p,
                "vpc",
                false,
                &ids
            )
            .unwrap()
        );
        assert!(
            route_passes(
                "attachment.transit-gateway-attachment-id",
                &["tgw-attach-1"],
                p,
                "vpc",
                false,
                &ids
            )
            .unwrap()
        );
        assert!(route_passes("route-search.exact-match", &["bad"], p, "vpc", false, &ids).is_err());
        assert!(route_passes("tag:x", &["y"], p, "vpc", false, &ids).is_err());
    }
}
