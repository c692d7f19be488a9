//! Expectations and timeline actions of the VPN kinds, answered through the gateways' control
//! sockets.
//!
//! Checks (on a `vgw` or `cgw` node; both show `tunnels` the same way):
//!
//! ```toml
//! [[expect]]
//! check = "tunnel"                  # a tunnel's IPsec status and BGP session
//! node = "vgw1"
//! tunnel = "vpn1-t1"
//! status = "UP"                     # optional: UP | DOWN
//! bgp = "Established"               # optional: the session's state
//! last_down = "Maximum Number of Prefixes"   # optional: text in the last down reason
//! carrying = true                   # optional: the tunnel carries traffic (or not: false)
//!
//! [[expect]]
//! check = "vgw_route"               # the VGW's selection for a prefix (AWS priority applied)
//! node = "vgw1"
//! prefix = "10.1.0.0/16"
//! via = "vpn1-t1"                   # optional: the chosen tunnel (`vpn2-*`: either of vpn2's)
//! route_kind = "vpn_static"         # optional: vpn_static | vpn_bgp
//! present = true                    # default
//! ```
//!
//! Actions: `rekey { node, tunnel }` on either gateway; `replace_tunnel { node, tunnel }` on a
//! VGW (AWS's endpoint replacement, `crate::replacement`); `modify_tunnel_options { node, tunnel,
//! options = { .. } }` on a VGW (AWS's ModifyVpnTunnelOptions: the tunnel restarts with them); `add_static_route` /
//! `delete_static_route { node, connection, prefix }` on a VGW (AWS's
//! CreateVpnConnectionRoute / DeleteVpnConnectionRoute); `advertise` / `withdraw
//! { node, prefixes, range }` on a customer gateway.
//!
//! What it does not do: reach into a daemon by any way but its control socket.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use control::{ActionParams, ShowParams};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use engine::diagnostic::Diagnostic;
use engine::kind::{KindCheck, KindRequest};
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;

/// Checks the VPN kinds add.
pub const CHECKS: &[&str] = &["tunnel", "vgw_route"];
/// Actions the `vgw` kind adds (`rekey` works on a customer gateway too).
pub const VGW_ACTIONS: &[&str] = &[
    "rekey",
    "add_static_route",
    "delete_static_route",
    "replace_tunnel",
    "modify_tunnel_options",
];
/// Actions the `cgw` kind adds.
pub const CGW_ACTIONS: &[&str] = &["advertise", "withdraw"];

fn request(kind: &'static str, node: String, action: &str, args: Value) -> KindRequest {
    let args: Map<String, Value> = match args {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    KindRequest {
        kind,
        node,
        params: ActionParams {
            kind: action.to_string(),
            args,
        },
    }
}

/// Parses one of [`VGW_ACTIONS`] or [`CGW_ACTIONS`].
pub fn parse_action(
    kind: &'static str,
    action: &str,
    rest: &Node<'_>,
    path: &FieldPath,
    cx: &ParseCx<'_>,
) -> Result<KindRequest, Diagnostic> {
    match action {
        "rekey" | "replace_tunnel" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Raw {
                node: String,
                tunnel: String,
            }
            let r: Raw = cx.de(rest, path)?;
            Ok(request(kind, r.node, action, json!({ "tunnel": r.tunnel })))
        }
        "modify_tunnel_options" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Raw {
                node: String,
                tunnel: String,
                options: Map<String, Value>,
            }
            let r: Raw = cx.de(rest, path)?;
            // The same check the daemon makes: the changes over AWS's defaults must be valid
            // options (known names, AWS's values).
            let mut merged = serde_json::to_value(crate::tunnel_options::TunnelOptions::default())
                .unwrap_or(Value::Null);
            if let Value::Object(m) = &mut merged {
                m.extend(r.options.clone());
            }
            serde_json::from_value::<crate::tunnel_options::TunnelOptions>(merged)
                .map_err(|e| e.to_string())
                .and_then(|o| o.validate().map_err(|e| e.to_string()))
                .map_err(|e| cx.error(&path.key("options"), e))?;
            Ok(request(
                kind,
                r.node,
                action,
                json!({ "tunnel": r.tunnel, "options": r.options }),
            ))
        }
        "add_static_route" | "delete_static_route" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Raw {
                node: String,
                connection: String,
                prefix: Ipv4Net,
            }
            let r: Raw = cx.de(rest, path)?;
            Ok(request(
                kind,
                r.node,
                action,
                json!({ "connection": r.connection, "prefix": r.prefix.to_string() }),
            ))
        }
        "advertise" | "withdraw" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Raw {
                node: String,
                #[serde(default)]
                prefixes: Vec<Ipv4Net>,
                #[serde(default)]
                range: Option<PrefixRange>,
            }
            let r: Raw = cx.de(rest, path)?;
            let mut prefixes = r.prefixes;
            if let Some(range) = r.range {
                prefixes.extend(range.expand());
            }
            if prefixes.is_empty() {
                return Err(cx.error(path, format!("{action} needs prefixes or a range")));
            }
            let list: Vec<String> = prefixes.iter().map(|p| p.to_string()).collect();
            Ok(request(kind, r.node, action, json!({ "prefixes": list })))
        }
        other => Err(cx.error(path, format!("kind {kind} has no action {other:?}"))),
    }
}

/// Parses one of [`CHECKS`].
pub fn parse_check(
    check: &str,
    rest: &Node<'_>,
    path: &FieldPath,
    cx: &ParseCx<'_>,
) -> Result<KindCheck, Diagnostic> {
    match check {
        "tunnel" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Raw {
                node: String,
                tunnel: String,
                #[serde(default)]
                status: Option<String>,
                #[serde(default)]
                bgp: Option<String>,
                #[serde(default)]
                last_down: Option<String>,
                #[serde(default)]
                carrying: Option<bool>,
            }
            let r: Raw = cx.de(rest, path)?;
            if let Some(s) = &r.status
                && s != "UP"
                && s != "DOWN"
            {
                return Err(cx.error(&path.key("status"), "status is UP or DOWN"));
            }
            let mut want = Vec::new();
            if let Some(s) = &r.status {
                want.push(format!("status {s}"));
            }
            if let Some(b) = &r.bgp {
                want.push(format!("BGP {b}"));
            }
            if let Some(d) = &r.last_down {
                want.push(format!("last down: {d}"));
            }
            match r.carrying {
                Some(true) => want.push(format!("carrying traffic (>= {CARRYING_PPS} pps)")),
                Some(false) => want.push(format!("idle (< {CARRYING_PPS} pps)")),
                None => {}
            }
            let describe = format!("{} tunnel {}: {}", r.node, r.tunnel, want.join(", "));
            let (tunnel, status, bgp, last_down) = (r.tunnel, r.status, r.bgp, r.last_down);
            let carrying = r.carrying.map(|want| (want, Mutex::new(None)));
            Ok(KindCheck {
                kind: "vgw",
                node: r.node,
                show: ShowParams {
                    what: "tunnels".into(),
                    args: Map::new(),
                },
                describe,
                verdict: Arc::new(move |v: &Value| {
                    let seen = judge_tunnel(
                        v,
                        &tunnel,
                        status.as_deref(),
                        bgp.as_deref(),
                        last_down.as_deref(),
                    )?;
                    match &carrying {
                        None => Ok(seen),
                        Some((want, last)) => {
                            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                            judge_carrying(v, &tunnel, *want, &mut last, Instant::now())
                                .map(|rate| format!("{seen}, {rate}"))
                                .map_err(|rate| format!("{seen}, {rate}"))
                        }
                    }
                }),
            })
        }
        "vgw_route" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Raw {
                node: String,
                prefix: Ipv4Net,
                #[serde(default)]
                via: Option<String>,
                #[serde(default)]
                route_kind: Option<String>,
                #[serde(default = "yes")]
                present: bool,
            }
            fn yes() -> bool {
                true
            }
            let r: Raw = cx.de(rest, path)?;
            if let Some(k) = &r.route_kind
                && !["vpn_static", "vpn_bgp", "direct_connect"].contains(&k.as_str())
            {
                return Err(cx.error(
                    &path.key("route_kind"),
                    "route_kind is vpn_static, vpn_bgp or direct_connect",
                ));
            }
            let describe = match (&r.via, r.present) {
                (_, false) => format!("{} has no route to {}", r.node, r.prefix),
                (Some(v), true) => format!("{} routes {} via {v}", r.node, r.prefix),
                (None, true) => format!("{} routes {}", r.node, r.prefix),
            };
            let (prefix, via, kind, present) =
                (r.prefix.to_string(), r.via, r.route_kind, r.present);
            Ok(KindCheck {
                kind: "vgw",
                node: r.node,
                show: ShowParams {
                    what: "routes".into(),
                    args: Map::new(),
                },
                describe,
                verdict: Arc::new(move |v: &Value| {
                    judge_route(v, &prefix, via.as_deref(), kind.as_deref(), present)
                }),
            })
        }
        other => Err(cx.error(path, format!("no VPN check {other:?}"))),
    }
}

/// The packet rate (ESP packets in and out together) from which a tunnel counts as carrying
/// traffic. A probe sends hundreds of packets a second; a tunnel's own BGP keepalives (and
/// DPD) stay far below it, so an idle tunnel whose session is up counts as idle.
pub const CARRYING_PPS: f64 = 50.0;

/// The `carrying` verdict: the tunnel's ESP packet rate between the previous answer (`last`,
/// updated here) and this one, at `now`, is at least [`CARRYING_PPS`] (`want`) or below it.
/// The first answer only takes the baseline. `Ok`/`Err` hold the rate seen.
pub fn judge_carrying(
    v: &Value,
    tunnel: &str,
    want: bool,
    last: &mut Option<(Instant, u64)>,
    now: Instant,
) -> Result<String, String> {
    let t = v
        .as_array()
        .and_then(|l| l.iter().find(|t| t["name"] == tunnel))
        .ok_or_else(|| format!("no tunnel {tunnel}"))?;
    let counters = &t["ipsec"]["counters"];
    let packets = counters["packets_in"].as_u64().unwrap_or(0)
        + counters["packets_out"].as_u64().unwrap_or(0);
    let before = last.replace((now, packets));
    let Some((then, packets_then)) = before else {
        return Err("measuring the packet rate".into());
    };
    let secs = now.duration_since(then).as_secs_f64();
    if secs < 0.05 {
        *last = Some((then, packets_then)); // too close to measure: keep the older baseline
        return Err("measuring the packet rate".into());
    }
    let rate = packets.saturating_sub(packets_then) as f64 / secs;
    let seen = format!("{rate:.0} ESP packets/s");
    if (rate >= CARRYING_PPS) == want {
        Ok(seen)
    } else {
        Err(seen)
    }
}

/// The `tunnel` verdict on a `show tunnels` answer.
pub fn judge_tunnel(
    v: &Value,
    tunnel: &str,
    status: Option<&str>,
    bgp: Option<&str>,
    last_down: Option<&str>,
) -> Result<String, String> {
    let list = v.as_array().ok_or("show tunnels did not answer a list")?;
    let t = list.iter().find(|t| t["name"] == tunnel).ok_or_else(|| {
        let names: Vec<&str> = list.iter().filter_map(|t| t["name"].as_str()).collect();
        format!("no tunnel {tunnel} (tunnels: {})", names.join(", "))
    })?;
    let seen_status = t["status"].as_str().unwrap_or("?");
    let seen_bgp = t["bgp"]["state"].as_str().unwrap_or("none");
    let seen_down = match &t["bgp"]["last_down"] {
        Value::Null => String::new(),
        d => d.to_string(),
    };
    let seen = format!(
        "status {seen_status}, BGP {seen_bgp}{}",
        if seen_down.is_empty() {
            String::new()
        } else {
            format!(", last down {seen_down}")
        }
    );
    let ok = status.is_none_or(|s| s == seen_status)
        && bgp.is_none_or(|b| b.eq_ignore_ascii_case(seen_bgp))
        && last_down.is_none_or(|d| seen_down.contains(d));
    if ok { Ok(seen) } else { Err(seen) }
}

/// The `vgw_route` verdict on a `show routes` answer.
pub fn judge_route(
    v: &Value,
    prefix: &str,
    via: Option<&str>,
    kind: Option<&str>,
    present: bool,
) -> Result<String, String> {
    let selected = v["selected"]
        .as_array()
        .ok_or("show routes has no selection (not a VGW?)")?;
    let found = selected.iter().find(|r| r["prefix"] == prefix);
    match (found, present) {
        (None, false) => Ok(format!("no route to {prefix}")),
        (None, true) => Err(format!("no route to {prefix}")),
        (Some(r), _) => {
            let seen = format!(
                "{prefix} via {} ({}, {})",
                r["via"].as_str().unwrap_or("?"),
                r["kind"].as_str().unwrap_or("?"),
                match r["decided_by"].as_str() {
                    Some(rule) => format!("decided by {rule}"),
                    None => "the only candidate".to_string(),
                }
            );
            let via_matches = |w: &str| {
                let seen = r["via"].as_str().unwrap_or("");
                match w.strip_suffix('*') {
                    Some(prefix) => seen.starts_with(prefix),
                    None => seen == w,
                }
            };
            let ok = present && via.is_none_or(via_matches) && kind.is_none_or(|k| r["kind"] == k);
            if ok { Ok(seen) } else { Err(seen) }
        }
    }
}

/// Consecutive prefixes of one length: `count` of them from `first`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixRange {
    /// The first prefix.
    pub first: Ipv4Net,
    /// How many.
    pub count: u32,
}

impl PrefixRange {
    /// The prefixes (stops at the end of the address space).
    pub fn expand(&self) -> Vec<Ipv4Net> {
        let len = self.first.prefix_len();
        let step = if len == 0 { 0 } else { 1u64 << (32 - len) };
        let base = u64::from(u32::from(self.first.network()));
        (0..u64::from(self.count))
            .map(|k| base + k * step)
            .take_while(|a| *a <= u64::from(u32::MAX))
            .filter_map(|a| Ipv4Net::new(Ipv4Addr::from(a as u32), len).ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_expands_to_consecutive_prefixes() {
        let r = PrefixRange {
            first: "172.16.0.0/24".parse().unwrap(),
            count: 3,
        };
        let got: Vec<String> = r.expand().iter().map(|p| p.to_string()).collect();
        assert_eq!(got, ["172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24"]);
        let end = PrefixRange {
            first: "255.255.255.0/24".parse().unwrap(),
            count: 5,
        };
        assert_eq!(end.expand().len(), 1);
    }

    #[test]
    fn tunnel_verdicts_read_status_state_and_reason() {
        let v = json!([{ "name": "vpn1-t1", "status": "UP",
            "bgp": { "state": "Idle", "last_down": { "kind": "notification_sent",
                "description": "Cease / Maximum Number of Prefixes Reached" } } }]);
        assert!(judge_tunnel(&v, "vpn1-t1", Some("UP"), Some("idle"), Some("Maximum")).is_ok());
        assert!(judge_tunnel(&v, "vpn1-t1", None, Some("Established"), None).is_err());
        assert!(judge_tunnel(&v, "vpn1-t2", None, None, None).is_err());
    }

    #[test]
    fn carrying_verdicts_compare_the_packet_rate_between_answers() {
        let answer = |packets_in: u64| {
            json!([{ "name": "vpn1-t2", "ipsec": { "counters": {
                "packets_in": packets_in, "packets_out": 0 } } }])
        };
        let t0 = Instant::now();
        let mut last = None;
        // The first answer is the baseline.
        assert!(judge_carrying(&answer(0), "vpn1-t2", true, &mut last, t0).is_err());
        // 100 packets in 0.5 s: 200 pps, carrying.
        let t1 = t0 + std::time::Duration::from_millis(500);
        let seen = judge_carrying(&answer(100), "vpn1-t2", true, &mut last, t1).unwrap();
        assert_eq!(seen, "200 ESP packets/s");
        // Then 2 packets (keepalives) in 1 s: idle.
        let t2 = t1 + std::time::Duration::from_secs(1);
        assert!(judge_carrying(&answer(102), "vpn1-t2", true, &mut last, t2).is_err());
        let t3 = t2 + std::time::Duration::from_secs(1);
        assert!(judge_carrying(&answer(104), "vpn1-t2", false, &mut last, t3).is_ok());
        assert!(judge_carrying(&answer(104), "vpn1-t9", false, &mut last, t3).is_err());
    }

    #[test]
    fn route_verdicts_check_via_kind_and_absence() {
        let v = json!({ "selected": [{ "prefix": "10.1.0.0/16", "via": "vpn1-t1",
            "kind": "vpn_static", "decided_by": "static over BGP" }] });
        assert!(judge_route(&v, "10.1.0.0/16", Some("vpn1-t1"), Some("vpn_static"), true).is_ok());
        assert!(judge_route(&v, "10.1.0.0/16", Some("vpn2-t1"), None, true).is_err());
        assert!(judge_route(&v, "10.1.0.0/16", Some("vpn1-*"), None, true).is_ok());
        assert!(judge_route(&v, "10.1.0.0/16", Some("vpn2-*"), None, true).is_err());
        assert!(judge_route(&v, "10.1.0.0/16", None, None, false).is_err());
        assert!(judge_route(&v, "10.9.0.0/16", None, None, false).is_ok());
    }
}
