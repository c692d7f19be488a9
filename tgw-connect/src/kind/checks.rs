//! The `tgw_route` check: what a transit gateway's route table does with a CIDR, read from the
//! daemon's `routes` view.
//!
//! ```toml
//! [[expect]]
//! check = "tgw_route"
//! node = "tgw1"
//! route_table = "prod"             # default: "default"
//! prefix = "10.1.0.0/16"
//! via = ["p1", "p2", "p3"]         # optional: exactly these paths (peers, tunnels, attachments)
//! next_hops = 3                    # optional: the size of the ECMP set
//! route_kind = "connect"           # optional: static | vpc | dx_gateway | connect | vpn ...
//! blackhole = false                # optional
//! present = true                   # false: the table has no route for the CIDR
//! ```
//!
//! What it does not do: look at the kernel (the generic `route` check reads the main table;
//! the TGW's tables are its own).

use control::ShowParams;
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::Value;

use engine::diagnostic::Diagnostic;
use engine::kind::KindCheck;
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;

/// Checks the `tgw` kind adds.
pub const CHECKS: &[&str] = &["tgw_route"];

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    node: String,
    #[serde(default)]
    route_table: Option<String>,
    prefix: IpNet,
    #[serde(default)]
    via: Option<Vec<String>>,
    #[serde(default)]
    next_hops: Option<usize>,
    #[serde(default)]
    route_kind: Option<String>,
    #[serde(default)]
    blackhole: Option<bool>,
    #[serde(default = "yes")]
    present: bool,
}

/// Parses one of [`CHECKS`].
pub fn parse_check(
    check: &str,
    rest: &Node<'_>,
    path: &FieldPath,
    cx: &ParseCx<'_>,
) -> Result<KindCheck, Diagnostic> {
    if check != "tgw_route" {
        return Err(cx.error(path, format!("unknown check {check:?}")));
    }
    let r: Raw = cx.de(rest, path)?;
    let table = r
        .route_table
        .clone()
        .unwrap_or_else(|| crate::config::DEFAULT_TABLE.to_string());
    let describe = format!(
        "{} route table {table}: {} {}",
        r.node,
        r.prefix,
        if r.present { "present" } else { "absent" }
    );
    let prefix = r.prefix.trunc().to_string();
    Ok(KindCheck {
        kind: "tgw",
        node: r.node.clone(),
        show: ShowParams {
            what: "routes".into(),
            args: serde_json::Map::new(),
        },
        describe,
        verdict: std::sync::Arc::new(move |v: &Value| judge(v, &table, &prefix, &r)),
    })
}

fn judge(v: &Value, table: &str, prefix: &str, r: &Raw) -> Result<String, String> {
    let routes = v
        .pointer(&format!("/tables/{table}/routes"))
        .and_then(Value::as_array)
        .ok_or_else(|| format!("no route table {table:?}"))?;
    let route = routes.iter().find(|x| x["prefix"] == prefix);
    let Some(route) = route else {
        return if r.present {
            Err(format!("{prefix} is not in route table {table}"))
        } else {
            Ok(format!("{prefix} absent from {table}"))
        };
    };
    let mut vias: Vec<String> = route["paths"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["via"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    vias.sort();
    let seen = format!(
        "{prefix} in {table}: kind {}, paths {vias:?}, blackhole {}",
        route["kind"], route["blackhole"]
    );
    if !r.present {
        return Err(format!("present: {seen}"));
    }
    if let Some(want) = &r.via {
        let mut want = want.clone();
        want.sort();
        if want != vias {
            return Err(format!("want paths {want:?}; {seen}"));
        }
    }
    if let Some(n) = r.next_hops
        && n != vias.len()
    {
        return Err(format!("want {n} next hops; {seen}"));
    }
    if let Some(k) = &r.route_kind
        && route["kind"].as_str() != Some(k.as_str())
    {
        return Err(format!("want kind {k}; {seen}"));
    }
    if let Some(b) = r.blackhole
        && route["blackhole"].as_bool() != Some(b)
    {
        return Err(format!("want blackhole {b}; {seen}"));
    }
    Ok(seen)
}
