//! The `tgw` kind's timeline actions: route-table changes at run time
//! ([`crate::route_changes`]), sent to the TGW's control socket (also `hybridlab act`).
//!
//! ```toml
//! [[timeline]]
//! action = "tgw_add_route"            # CreateTransitGatewayRoute (replace = true: Replace...)
//! node = "tgw1"
//! table = "prod"
//! cidr = "10.9.0.0/16"
//! attachment = "att-shared"           # or blackhole = true
//!
//! [[timeline]]
//! action = "tgw_delete_route"         # DeleteTransitGatewayRoute
//! node = "tgw1"
//! table = "prod"
//! cidr = "10.9.0.0/16"
//!
//! [[timeline]]
//! action = "tgw_disable_propagation"  # or tgw_enable_propagation
//! node = "tgw1"
//! table = "default"
//! attachment = "att-dev"
//! ```
//!
//! The arguments are checked here as far as they can be without the TGW (a CIDR, a target);
//! the table and attachment names are checked by the daemon, whose refusal fails the action.
//!
//! What it does not do: apply anything (the daemon does).

use control::ActionParams;
use engine::diagnostic::Diagnostic;
use engine::kind::KindRequest;
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;
use ipnet::Ipv4Net;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub use crate::route_changes::ACTIONS;

/// Parses one of [`ACTIONS`].
pub fn parse_action(
    action: &str,
    rest: &Node<'_>,
    path: &FieldPath,
    cx: &ParseCx<'_>,
) -> Result<KindRequest, Diagnostic> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        node: String,
        table: String,
        #[serde(default)]
        cidr: Option<Ipv4Net>,
        #[serde(default)]
        attachment: Option<String>,
        #[serde(default)]
        blackhole: bool,
        #[serde(default)]
        replace: bool,
    }
    let r: Raw = cx.de(rest, path)?;
    let mut args = Map::new();
    args.insert("table".into(), json!(r.table));
    let needs_cidr = matches!(action, "tgw_add_route" | "tgw_delete_route");
    match (needs_cidr, r.cidr) {
        (true, Some(c)) => {
            args.insert("cidr".into(), json!(c.to_string()));
        }
        (true, None) => return Err(cx.error(path, format!("{action} needs `cidr`"))),
        (false, Some(_)) => {
            return Err(cx.error(path, format!("{action} takes no `cidr`")));
        }
        (false, None) => {}
    }
    match action {
        "tgw_add_route" => match (r.attachment, r.blackhole) {
            (Some(a), false) => {
                args.insert("attachment".into(), json!(a));
            }
            (None, true) => {
                args.insert("blackhole".into(), json!(true));
            }
            _ => {
                return Err(cx.error(
                    path,
                    "tgw_add_route needs `attachment` or `blackhole = true` (one of them)",
                ));
            }
        },
        "tgw_enable_propagation" | "tgw_disable_propagation" => match r.attachment {
            Some(a) => {
                args.insert("attachment".into(), json!(a));
            }
            None => return Err(cx.error(path, format!("{action} needs `attachment`"))),
        },
        _ => {}
    }
    if r.replace {
        if action != "tgw_add_route" {
            return Err(cx.error(path, "only tgw_add_route takes `replace`"));
        }
        args.insert("replace".into(), Value::Bool(true));
    }
    Ok(KindRequest {
        kind: "tgw",
        node: r.node,
        params: ActionParams {
            kind: action.to_string(),
            args,
        },
    })
}
