//! Route-table changes at run time, as AWS's API makes them (aws-behaviour.md §6):
//!
//! ```text
//!  AddRoute { table, cidr, target }     CreateTransitGatewayRoute (Replace... with `replace`)
//!  DeleteRoute { table, cidr }          DeleteTransitGatewayRoute
//!  Propagation { table, attachment, on } Enable/DisableTransitGatewayRouteTablePropagation
//! ```
//!
//! Each change is checked against the same rules as the scenario file (`TgwDecl::check`): the
//! table and the attachment exist, no static route targets a Connect attachment (§5), a CIDR
//! has one static route per table unless the change replaces it (AWS's
//! `RouteAlreadyExists`), propagation is enabled once per table. A refused change leaves the
//! tables as they were.
//!
//! What it does not do: associations (moving an attachment between route tables changes the
//! policy rules, which only start-up writes), or re-evaluate the tables (the daemon does,
//! right after a change).

use crate::config::{AttachmentKind, ResolvedTable, StaticRouteDecl, TgwDecl};
use ipnet::IpNet;

/// Where a static route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteTarget {
    /// An attachment.
    Attachment(String),
    /// Dropped.
    Blackhole,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange {
    /// A static route; `replace` allows one for the same CIDR to be there already.
    AddRoute {
        /// The route table.
        table: String,
        /// Destination.
        cidr: IpNet,
        /// Target.
        target: RouteTarget,
        /// Replace an existing one (ReplaceTransitGatewayRoute).
        replace: bool,
    },
    /// Removes the table's static route for `cidr`.
    DeleteRoute {
        /// The route table.
        table: String,
        /// Destination.
        cidr: IpNet,
    },
    /// Turns an attachment's propagation into a table on or off.
    Propagation {
        /// The route table.
        table: String,
        /// The attachment.
        attachment: String,
        /// On or off.
        enabled: bool,
    },
}

/// The control-socket actions that carry changes; their arguments are the scenario's keys
/// (`table`, `cidr`, `attachment` or `blackhole = true`, `replace`).
pub const ACTIONS: &[&str] = &[
    "tgw_add_route",
    "tgw_delete_route",
    "tgw_enable_propagation",
    "tgw_disable_propagation",
];

impl RouteChange {
    /// The change action `action` asks for with `args`.
    pub fn from_action(
        action: &str,
        args: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<RouteChange, String> {
        let text = |key: &str| -> Result<String, String> {
            args.get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("{action} needs \"{key}\""))
        };
        let flag = |key: &str| args.get(key).and_then(serde_json::Value::as_bool);
        let cidr = || -> Result<IpNet, String> {
            let c = text("cidr")?;
            c.parse::<IpNet>()
                .map(|n| n.trunc())
                .map_err(|_| format!("{c:?} is not an IPv4 or IPv6 CIDR"))
        };
        let table = text("table")?;
        match action {
            "tgw_add_route" => {
                let target = match (args.get("attachment"), flag("blackhole")) {
                    (Some(_), Some(true)) => {
                        return Err(
                            "a route has an attachment or blackhole = true, not both".into()
                        );
                    }
                    (Some(_), _) => RouteTarget::Attachment(text("attachment")?),
                    (None, Some(true)) => RouteTarget::Blackhole,
                    (None, _) => {
                        return Err(format!(
                            "{action} needs \"attachment\" or \"blackhole\": true"
                        ));
                    }
                };
                Ok(RouteChange::AddRoute {
                    table,
                    cidr: cidr()?,
                    target,
                    replace: flag("replace").unwrap_or(false),
                })
            }
            "tgw_delete_route" => Ok(RouteChange::DeleteRoute {
                table,
                cidr: cidr()?,
            }),
            "tgw_enable_propagation" | "tgw_disable_propagation" => Ok(RouteChange::Propagation {
                table,
                attachment: text("attachment")?,
                enabled: action == "tgw_enable_propagation",
            }),
            other => Err(format!("no route-table action {other:?}")),
        }
    }
}

/// Applies `change` to `tables` of `tgw`; on error nothing changed.
pub fn apply(
    tgw: &TgwDecl,
    tables: &mut [ResolvedTable],
    change: &RouteChange,
) -> Result<String, String> {
    let table_name = match change {
        RouteChange::AddRoute { table, .. }
        | RouteChange::DeleteRoute { table, .. }
        | RouteChange::Propagation { table, .. } => table,
    };
    let known: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let table = tables
        .iter_mut()
        .find(|t| &t.name == table_name)
        .ok_or_else(|| {
            format!(
                "no route table {table_name:?} on {} (it has {})",
                tgw.name,
                known.join(", ")
            )
        })?;
    let attachment_kind = |a: &str| {
        tgw.attachment_kind(a)
            .ok_or_else(|| format!("no attachment {a:?} on {}", tgw.name))
    };
    match change {
        RouteChange::AddRoute {
            cidr,
            target,
            replace,
            ..
        } => {
            let decl = match target {
                RouteTarget::Blackhole => StaticRouteDecl {
                    cidr: *cidr,
                    attachment: None,
                    blackhole: true,
                },
                RouteTarget::Attachment(a) => {
                    if attachment_kind(a)? == AttachmentKind::Connect {
                        return Err(format!(
                            "{a:?} is a Connect attachment: Connect does not support static routes"
                        ));
                    }
                    if cidr.addr().is_ipv6() && !tgw.carries_ipv6(a) {
                        return Err(format!(
                            "{cidr}: {a:?} carries IPv4 only (an IPv6 route targets a VPC attachment with ipv6_support)"
                        ));
                    }
                    StaticRouteDecl {
                        cidr: *cidr,
                        attachment: Some(a.clone()),
                        blackhole: false,
                    }
                }
            };
            match table.routes.iter_mut().find(|r| r.cidr == *cidr) {
                Some(_) if !replace => Err(format!(
                    "route table {} already has a static route for {cidr} (replace it instead)",
                    table.name
                )),
                Some(r) => {
                    *r = decl;
                    Ok(format!("{cidr} replaced in {}", table.name))
                }
                None => {
                    table.routes.push(decl);
                    Ok(format!("{cidr} added to {}", table.name))
                }
            }
        }
        RouteChange::DeleteRoute { cidr, .. } => {
            let before = table.routes.len();
            table.routes.retain(|r| r.cidr != *cidr);
            if table.routes.len() == before {
                return Err(format!(
                    "route table {} has no static route for {cidr}",
                    table.name
                ));
            }
            Ok(format!("{cidr} deleted from {}", table.name))
        }
        RouteChange::Propagation {
            attachment,
            enabled,
            ..
        } => {
            attachment_kind(attachment)?;
            let on = table.propagations.contains(attachment);
            match (on, enabled) {
                (true, true) => Err(format!("{attachment} already propagates to {}", table.name)),
                (false, false) => Err(format!("{attachment} does not propagate to {}", table.name)),
                (false, true) => {
                    table.propagations.push(attachment.clone());
                    Ok(format!("{attachment} propagates to {}", table.name))
                }
                (true, false) => {
                    table.propagations.retain(|a| a != attachment);
                    Ok(format!(
                        "{attachment} no longer propagates to {}",
                        table.name
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgw() -> TgwDecl {
        toml::from_str(
            r#"
            name = "tgw1"
            cidr_block = "192.0.2.0/24"
            [[vpc_attachment]]
            name = "att-a"
            vpc = "vpc-a"
            [[vpc_attachment]]
            name = "att-b"
            vpc = "vpc-b"
            [[connect]]
            name = "connect1"
            transport = "att-a"
            peer = [{ name = "p1", inside_cidr = "169.254.6.0/29", peer_address = "10.0.2.10" }]
            "#,
        )
        .expect("a TGW")
    }

    fn add(cidr: &str, target: RouteTarget, replace: bool) -> RouteChange {
        RouteChange::AddRoute {
            table: "default".into(),
            cidr: cidr.parse().unwrap(),
            target,
            replace,
        }
    }

    #[test]
    fn ipv6_routes_go_to_attachments_that_carry_ipv6() {
        let mut t = tgw();
        let mut tables = t.tables();
        let to_b = RouteTarget::Attachment("att-b".into());
        let e = apply(
            &t,
            &mut tables,
            &add("2001:db8:9::/48", to_b.clone(), false),
        );
        assert!(e.unwrap_err().contains("carries IPv4 only"));
        assert!(
            tables[0].routes.is_empty(),
            "a refused change changes nothing"
        );
        apply(
            &t,
            &mut tables,
            &add("2001:db8:9::/48", RouteTarget::Blackhole, false),
        )
        .unwrap();
        t.vpc_attachments[1].ipv6_support = true;
        apply(&t, &mut tables, &add("2001:db8:9::/48", to_b, true)).unwrap();
        assert_eq!(tables[0].routes[0].attachment.as_deref(), Some("att-b"));
    }

    #[test]
    fn a_route_is_added_replaced_only_when_asked_and_deleted() {
        let t = tgw();
        let mut tables = t.tables();
        let to_b = RouteTarget::Attachment("att-b".into());
        apply(&t, &mut tables, &add("10.9.0.0/16", to_b.clone(), false)).unwrap();
        let again = apply(
            &t,
            &mut tables,
            &add("10.9.0.0/16", RouteTarget::Blackhole, false),
        );
        assert!(
            again.unwrap_err().contains("already has"),
            "RouteAlreadyExists"
        );
        apply(
            &t,
            &mut tables,
            &add("10.9.0.0/16", RouteTarget::Blackhole, true),
        )
        .unwrap();
        assert_eq!(tables[0].routes.len(), 1);
        assert!(tables[0].routes[0].blackhole);
        let delete = RouteChange::DeleteRoute {
            table: "default".into(),
            cidr: "10.9.0.0/16".parse().unwrap(),
        };
        apply(&t, &mut tables, &delete).unwrap();
        assert!(tables[0].routes.is_empty());
        assert!(
            apply(&t, &mut tables, &delete)
                .unwrap_err()
                .contains("no static route")
        );
    }

    #[test]
    fn refused_changes_name_the_rule_and_change_nothing() {
        let t = tgw();
        let mut tables = t.tables();
        let before = tables.clone();
        let connect = add(
            "10.9.0.0/16",
            RouteTarget::Attachment("connect1".into()),
            false,
        );
        assert!(
            apply(&t, &mut tables, &connect)
                .unwrap_err()
                .contains("Connect does not support static routes")
        );
        let nowhere = add(
            "10.9.0.0/16",
            RouteTarget::Attachment("att-z".into()),
            false,
        );
        assert!(
            apply(&t, &mut tables, &nowhere)
                .unwrap_err()
                .contains("no attachment \"att-z\"")
        );
        let no_table = RouteChange::DeleteRoute {
            table: "prod".into(),
            cidr: "10.9.0.0/16".parse().unwrap(),
        };
        assert!(
            apply(&t, &mut tables, &no_table)
                .unwrap_err()
                .contains("no route table \"prod\"")
        );
        assert_eq!(tables, before);
    }

    #[test]
    fn actions_parse_into_changes_and_bad_arguments_are_named() {
        let args = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert_eq!(
            RouteChange::from_action(
                "tgw_add_route",
                &args(
                    serde_json::json!({"table": "default", "cidr": "10.9.0.0/16", "blackhole": true})
                )
            ),
            Ok(add("10.9.0.0/16", RouteTarget::Blackhole, false))
        );
        let e = RouteChange::from_action(
            "tgw_add_route",
            &args(
                serde_json::json!({"table": "default", "cidr": "10.9.0.0/33", "attachment": "att-b"}),
            ),
        );
        assert!(e.unwrap_err().contains("not an IPv4 or IPv6 CIDR"));
        let e = RouteChange::from_action(
            "tgw_delete_route",
            &args(serde_json::json!({"cidr": "10.9.0.0/16"})),
        );
        assert!(e.unwrap_err().contains("needs \"table\""));
        assert!(matches!(
            RouteChange::from_action(
                "tgw_disable_propagation",
                &args(serde_json::json!({"table": "default", "attachment": "att-b"}))
            ),
            Ok(RouteChange::Propagation { enabled: false, .. })
        ));
    }

    #[test]
    fn propagation_turns_on_and_off_once() {
        let t = tgw();
        let mut tables = t.tables();
        let prop = |enabled| RouteChange::Propagation {
            table: "default".into(),
            attachment: "att-b".into(),
            enabled,
        };
        // Default propagation is on: every attachment propagates to the default table.
        assert!(
            apply(&t, &mut tables, &prop(true))
                .unwrap_err()
                .contains("already")
        );
        apply(&t, &mut tables, &prop(false)).unwrap();
        assert!(!tables[0].propagations.contains(&"att-b".to_string()));
        assert!(
            apply(&t, &mut tables, &prop(false))
                .unwrap_err()
                .contains("does not")
        );
        apply(&t, &mut tables, &prop(true)).unwrap();
        assert!(tables[0].propagations.contains(&"att-b".to_string()));
    }
}
