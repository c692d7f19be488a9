//! The endpoint: accepts connections, frames requests ([`crate::http`]), tells the two
//! protocols apart (a request with `X-Amz-Target: OvertureService.<Action>` is the Direct
//! Connect JSON 1.1 API; anything else is the EC2 Query API, parameters in a form body or the
//! query string), verifies SigV4 for the protocol's service (`ec2`, `directconnect`), and
//! dispatches to the handlers. Every failure is answered in the protocol's own error shape
//! with AWS's code; nothing is changed by a refused request (the check comes first).
//!
//! Logs name the action and the outcome only: never a parameter, a body or a header (a
//! sample configuration holds keys, the Authorization header a signature).
//!
//! What it does not do: TLS, presigned URLs, more than one lab per endpoint.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::Value;
use tokio::net::TcpListener;

use crate::directconnect as dx;
use crate::ec2;
use crate::error::ApiError;
use crate::form::Params;
use crate::http::{Request, Response, serve_connection};
use crate::inventory::Inventory;
use crate::lab::Lab;
use crate::sigv4::{AuthError, Credentials, SignedRequest, verify};
use crate::transitgateway as tgw;
use crate::transitgateway_routes as tgw_routes;

/// Everything the endpoint serves from.
pub struct ApiConfig {
    /// The lab's resources.
    pub inventory: Inventory,
    /// The lab's state directory (control sockets).
    pub lab_dir: PathBuf,
    /// The accepted credentials.
    pub credentials: Credentials,
    /// `cgw-config` for GetVpnConnectionDeviceSampleConfiguration.
    pub sample: Arc<ec2::SampleConfig>,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("inventory", &self.inventory)
            .field("lab_dir", &self.lab_dir)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

/// The EC2 actions served.
pub const EC2_ACTIONS: &[&str] = &[
    "DescribeVpnConnections",
    "DescribeVpnGateways",
    "DescribeCustomerGateways",
    "CreateVpnConnectionRoute",
    "DeleteVpnConnectionRoute",
    "ModifyVpnTunnelOptions",
    "ReplaceVpnTunnel",
    "GetVpnConnectionDeviceTypes",
    "GetVpnConnectionDeviceSampleConfiguration",
    "DescribeTransitGateways",
    "DescribeTransitGatewayAttachments",
    "SearchTransitGatewayRoutes",
    "DescribeTransitGatewayConnectPeers",
    "CreateTransitGatewayRoute",
    "ReplaceTransitGatewayRoute",
    "DeleteTransitGatewayRoute",
    "EnableTransitGatewayRouteTablePropagation",
    "DisableTransitGatewayRouteTablePropagation",
];

/// The Direct Connect actions served.
pub const DX_ACTIONS: &[&str] = &[
    "DescribeConnections",
    "DescribeVirtualInterfaces",
    "DescribeDirectConnectGateways",
    "DescribeDirectConnectGatewayAssociations",
    "StartBgpFailoverTest",
    "StopBgpFailoverTest",
];

fn request_id() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn xml_response(status: u16, body: String, rid: &str) -> Response {
    Response {
        status,
        content_type: "text/xml;charset=UTF-8",
        headers: vec![("x-amzn-RequestId".into(), rid.into())],
        body: body.into_bytes(),
    }
}

fn json_response(status: u16, body: String, rid: &str) -> Response {
    Response {
        status,
        content_type: "application/x-amz-json-1.1",
        headers: vec![("x-amzn-RequestId".into(), rid.into())],
        body: body.into_bytes(),
    }
}

/// Serves `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, config: Arc<ApiConfig>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let config = config.clone();
        tokio::spawn(async move {
            let _ = serve_connection(stream, |req| {
                let config = config.clone();
                async move { handle(&config, req).await }
            })
            .await;
        });
    }
}

fn check_auth(config: &ApiConfig, req: &Request, service: &str) -> Result<(), AuthError> {
    let signed = SignedRequest {
        method: &req.method,
        path: &req.path,
        query: &req.query,
        headers: &req.headers,
        body: &req.body,
    };
    verify(&signed, &config.credentials, service, SystemTime::now())
}

/// Answers one request.
pub async fn handle(config: &ApiConfig, req: Request) -> Response {
    let rid = request_id();
    match req.header("x-amz-target").map(str::to_string) {
        Some(target) => handle_dx(config, &req, &target, &rid).await,
        None => handle_ec2(config, &req, &rid).await,
    }
}

async fn handle_ec2(config: &ApiConfig, req: &Request, rid: &str) -> Response {
    let fail = |e: ApiError| xml_response(e.status, e.ec2_xml(rid), rid);
    if let Err(e) = check_auth(config, req, "ec2") {
        tracing::info!(error = %e, "EC2 API: refused");
        let code = match e {
            AuthError::Expired => "RequestExpired",
            _ => "AuthFailure",
        };
        return fail(ApiError::new(
            401,
            code,
            format!("AWS was not able to validate the provided access credentials: {e}"),
        ));
    }
    let text = if req.method == "POST" {
        String::from_utf8_lossy(&req.body).into_owned()
    } else {
        req.query.clone()
    };
    let p = Params::parse(&text);
    let Some(action) = p.get("Action").map(str::to_string) else {
        return fail(ApiError::new(
            400,
            "MissingAction",
            "The request must contain the parameter Action",
        ));
    };
    let inv = &config.inventory;
    let lab = Lab::new(config.lab_dir.clone());
    let result = match action.as_str() {
        "DescribeVpnConnections" => ec2::describe_vpn_connections(inv, &lab, &p, rid).await,
        "DescribeVpnGateways" => ec2::describe_vpn_gateways(inv, &lab, &p, rid).await,
        "DescribeCustomerGateways" => ec2::describe_customer_gateways(inv, &p, rid).await,
        "CreateVpnConnectionRoute" => ec2::connection_route(inv, &lab, &p, rid, true).await,
        "DeleteVpnConnectionRoute" => ec2::connection_route(inv, &lab, &p, rid, false).await,
        "ModifyVpnTunnelOptions" => ec2::modify_vpn_tunnel_options(inv, &lab, &p, rid).await,
        "ReplaceVpnTunnel" => ec2::replace_vpn_tunnel(inv, &lab, &p, rid).await,
        "GetVpnConnectionDeviceTypes" => Ok(ec2::get_device_types(rid)),
        "GetVpnConnectionDeviceSampleConfiguration" => {
            ec2::get_sample_configuration(inv, config.sample.clone(), &p, rid).await
        }
        "DescribeTransitGateways" => tgw::describe_transit_gateways(inv, &lab, &p, rid).await,
        "DescribeTransitGatewayAttachments" => tgw::describe_attachments(inv, &lab, &p, rid).await,
        "SearchTransitGatewayRoutes" => tgw::search_routes(inv, &lab, &p, rid).await,
        "DescribeTransitGatewayConnectPeers" => {
            tgw::describe_connect_peers(inv, &lab, &p, rid).await
        }
        "CreateTransitGatewayRoute" => {
            tgw_routes::change_route(inv, &lab, &p, rid, tgw_routes::RouteCall::Create).await
        }
        "ReplaceTransitGatewayRoute" => {
            tgw_routes::change_route(inv, &lab, &p, rid, tgw_routes::RouteCall::Replace).await
        }
        "DeleteTransitGatewayRoute" => {
            tgw_routes::change_route(inv, &lab, &p, rid, tgw_routes::RouteCall::Delete).await
        }
        "EnableTransitGatewayRouteTablePropagation" => {
            tgw_routes::change_propagation(inv, &lab, &p, rid, true).await
        }
        "DisableTransitGatewayRouteTablePropagation" => {
            tgw_routes::change_propagation(inv, &lab, &p, rid, false).await
        }
        other => Err(ApiError::new(
            400,
            "InvalidAction",
            format!(
                "The action {other} is not valid for this web service (hybridlab serves: {})",
                EC2_ACTIONS.join(", ")
            ),
        )),
    };
    match result {
        Ok(body) => {
            tracing::info!(action = %action, "EC2 API: answered");
            xml_response(200, body, rid)
        }
        Err(e) => {
            tracing::info!(action = %action, code = %e.code, "EC2 API: error");
            fail(e)
        }
    }
}

async fn handle_dx(config: &ApiConfig, req: &Request, target: &str, rid: &str) -> Response {
    let fail = |e: ApiError| json_response(e.status, e.json(), rid);
    if let Err(e) = check_auth(config, req, "directconnect") {
        tracing::info!(error = %e, "Direct Connect API: refused");
        let code = match e {
            AuthError::Missing => "MissingAuthenticationTokenException",
            AuthError::UnknownKey => "UnrecognizedClientException",
            AuthError::Expired => "InvalidSignatureException",
            _ => "InvalidSignatureException",
        };
        return fail(ApiError::new(403, code, e.to_string()));
    }
    let Some(action) = target.strip_prefix("OvertureService.") else {
        return fail(ApiError::new(
            400,
            "UnknownOperationException",
            format!("unknown target {target}"),
        ));
    };
    let body: Value = if req.body.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return fail(ApiError::new(
                    400,
                    "SerializationException",
                    "the body is not a JSON object",
                ));
            }
        }
    };
    let inv = &config.inventory;
    let lab = Lab::new(config.lab_dir.clone());
    let result = match action {
        "DescribeConnections" => dx::describe_connections(inv, &lab, &body).await,
        "DescribeVirtualInterfaces" => dx::describe_virtual_interfaces(inv, &lab, &body).await,
        "DescribeDirectConnectGateways" => dx::describe_gateways(inv, &lab, &body).await,
        "DescribeDirectConnectGatewayAssociations" => {
            dx::describe_associations(inv, &lab, &body).await
        }
        "StartBgpFailoverTest" => dx::start_failover_test(inv, &lab, &body).await,
        "StopBgpFailoverTest" => dx::stop_failover_test(inv, &lab, &body).await,
        other => Err(ApiError::new(
            400,
            "UnknownOperationException",
            format!(
                "{other} is not served (hybridlab serves: {})",
                DX_ACTIONS.join(", ")
            ),
        )),
    };
    match result {
        Ok(v) => {
            tracing::info!(action, "Direct Connect API: answered");
            json_response(200, v.to_string(), rid)
        }
        Err(e) => {
            tracing::info!(action, code = %e.code, "Direct Connect API: error");
            fail(e)
        }
    }
}
