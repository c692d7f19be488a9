//! The EC2 Query API's Transit Gateway route-table changes, made through the TGW daemon's
//! `tgw_*` actions (the ones a scenario's timeline uses, `tgw_connect::route_changes`):
//! CreateTransitGatewayRoute, ReplaceTransitGatewayRoute, DeleteTransitGatewayRoute,
//! EnableTransitGatewayRouteTablePropagation and DisableTransitGatewayRouteTablePropagation.
//! The TGW re-evaluates its tables before the action answers, so the route is `active` (or
//! `blackhole`) when the call returns and SearchTransitGatewayRoutes shows it.
//!
//! Errors: AWS's codes where they are known (`MissingParameter`, `InvalidParameterValue` for a
//! bad CIDR, `InvalidRouteTableID.NotFound`, `InvalidTransitGatewayAttachmentID.NotFound`,
//! `RouteAlreadyExists`, `InvalidRoute.NotFound`); any other refusal of the TGW (a static route
//! to a Connect attachment, a propagation already on or already off) is
//! `InvalidParameterValue` with the TGW's words (our choice: AWS does not document those codes).
//!
//! What it does not do: associations, prefix-list references, route table announcements, dry
//! runs.

use ipnet::IpNet;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::form::Params;
use crate::inventory::Inventory;
use crate::lab::Lab;
use crate::transitgateway::{
    XMLNS, attachment_id, attachment_resource, request_id, resource_type, route_table_by_id,
};
use crate::xml::Xml;

/// Which route call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteCall {
    /// CreateTransitGatewayRoute.
    Create,
    /// ReplaceTransitGatewayRoute.
    Replace,
    /// DeleteTransitGatewayRoute.
    Delete,
}

fn required<'a>(p: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    p.get(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing(name))
}

/// The attachment (its `attachments` view entry) whose id is `id` on TGW `node`.
async fn attachment_by_id(
    inv: &Inventory,
    lab: &Lab,
    node: &str,
    id: &str,
) -> Result<Value, ApiError> {
    let atts = lab.show(node, "attachments").await?;
    atts["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| attachment_id(inv, node, a["name"].as_str().unwrap_or_default()) == id)
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                400,
                "InvalidTransitGatewayAttachmentID.NotFound",
                format!("Transit Gateway Attachment {id} was deleted or does not exist."),
            )
        })
}

/// Whether route table `table` of `node` holds a static route for `cidr`.
async fn has_static(lab: &Lab, node: &str, table: &str, cidr: IpNet) -> Result<bool, ApiError> {
    let routes = lab.show(node, "routes").await?;
    Ok(routes["tables"][table]["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["prefix"] == cidr.to_string() && r["kind"] == "static"))
}

/// Create/Replace/DeleteTransitGatewayRoute.
pub async fn change_route(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
    call: RouteCall,
) -> Result<String, ApiError> {
    let table = required(p, "TransitGatewayRouteTableId")?;
    let text = required(p, "DestinationCidrBlock")?;
    let cidr: IpNet = text.parse::<IpNet>().map(|n| n.trunc()).map_err(|_| {
        ApiError::invalid_parameter(format!(
            "Value ({text}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."
        ))
    })?;
    let (node, rname) = route_table_by_id(inv, lab, table).await?;
    let blackhole = p.get("Blackhole") == Some("true");
    let attachment = match (call, p.get("TransitGatewayAttachmentId")) {
        (RouteCall::Delete, _) => None,
        (_, Some(id)) if !id.is_empty() => {
            if blackhole {
                return Err(ApiError::new(
                    400,
                    "InvalidParameterCombination",
                    "Blackhole and TransitGatewayAttachmentId cannot be given together",
                ));
            }
            Some(attachment_by_id(inv, lab, &node, id).await?)
        }
        _ if blackhole => None,
        _ => return Err(ApiError::missing("TransitGatewayAttachmentId")),
    };
    let exists = has_static(lab, &node, &rname, cidr).await?;
    match (call, exists) {
        (RouteCall::Create, true) => {
            return Err(ApiError::new(
                400,
                "RouteAlreadyExists",
                format!("Route {cidr} already exists in Transit Gateway Route Table {table}."),
            ));
        }
        (RouteCall::Replace | RouteCall::Delete, false) => {
            return Err(ApiError::new(
                400,
                "InvalidRoute.NotFound",
                format!(
                    "No route with destination-cidr-block {cidr} in Transit Gateway Route Table {table}"
                ),
            ));
        }
        _ => {}
    }
    let mut args = Map::new();
    args.insert("table".into(), json!(rname));
    args.insert("cidr".into(), json!(cidr.to_string()));
    let action = match call {
        RouteCall::Delete => "tgw_delete_route",
        _ => {
            match &attachment {
                Some(a) => args.insert("attachment".into(), a["name"].clone()),
                None => args.insert("blackhole".into(), json!(true)),
            };
            if call == RouteCall::Replace {
                args.insert("replace".into(), json!(true));
            }
            "tgw_add_route"
        }
    };
    lab.action(&node, action, args).await?;
    let root = match call {
        RouteCall::Create => "CreateTransitGatewayRouteResponse",
        RouteCall::Replace => "ReplaceTransitGatewayRouteResponse",
        RouteCall::Delete => "DeleteTransitGatewayRouteResponse",
    };
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("route").leaf("destinationCidrBlock", cidr);
    if let Some(a) = &attachment {
        let name = a["name"].as_str().unwrap_or_default();
        x.open("transitGatewayAttachments")
            .open("item")
            .leaf("resourceId", attachment_resource(inv, &node, a))
            .leaf(
                "transitGatewayAttachmentId",
                attachment_id(inv, &node, name),
            )
            .leaf(
                "resourceType",
                resource_type(a["type"].as_str().unwrap_or_default()),
            )
            .close("item")
            .close("transitGatewayAttachments");
    }
    let state = match call {
        RouteCall::Delete => "deleted",
        _ if attachment.is_none() => "blackhole",
        _ => "active",
    };
    x.leaf("type", "static").leaf("state", state).close("route");
    Ok(x.finish(root))
}

/// Enable/DisableTransitGatewayRouteTablePropagation.
pub async fn change_propagation(
    inv: &Inventory,
    lab: &Lab,
    p: &Params,
    rid: &str,
    enable: bool,
) -> Result<String, ApiError> {
    let table = required(p, "TransitGatewayRouteTableId")?;
    let id = required(p, "TransitGatewayAttachmentId")?;
    let (node, rname) = route_table_by_id(inv, lab, table).await?;
    let a = attachment_by_id(inv, lab, &node, id).await?;
    let mut args = Map::new();
    args.insert("table".into(), json!(rname));
    args.insert("attachment".into(), a["name"].clone());
    let action = if enable {
        "tgw_enable_propagation"
    } else {
        "tgw_disable_propagation"
    };
    lab.action(&node, action, args).await?;
    let root = if enable {
        "EnableTransitGatewayRouteTablePropagationResponse"
    } else {
        "DisableTransitGatewayRouteTablePropagationResponse"
    };
    let mut x = Xml::document(root, XMLNS);
    request_id(&mut x, rid);
    x.open("propagation")
        .leaf("transitGatewayAttachmentId", id)
        .leaf("resourceId", attachment_resource(inv, &node, &a))
        .leaf(
            "resourceType",
            resource_type(a["type"].as_str().unwrap_or_default()),
        )
        .leaf("transitGatewayRouteTableId", table)
        .leaf("state", if enable { "enabled" } else { "disabled" })
        .close("propagation");
    Ok(x.finish(root))
}
