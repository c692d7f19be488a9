//! The `dxgw` kind's timeline actions, sent to the DX router's control socket
//! ([`crate::failover_test`]):
//!
//! ```toml
//! [[timeline]]
//! action = "start_bgp_failover_test"    # AWS's StartBgpFailoverTest
//! node = "dx1"
//! vifs = ["vif1"]
//! seconds = 3                           # or minutes = 1-4320 (AWS's unit; default 180)
//!
//! [[timeline]]
//! action = "stop_bgp_failover_test"     # StopBgpFailoverTest; no `vifs`: every VIF
//! node = "dx1"
//! ```
//!
//! What it does not do: check that the VIFs exist (the daemon answers an unknown VIF with an
//! error, which fails the action).

use control::ActionParams;
use engine::diagnostic::Diagnostic;
use engine::kind::KindRequest;
use engine::parse::{Node, ParseCx};
use engine::source::FieldPath;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The actions.
pub const ACTIONS: &[&str] = &["start_bgp_failover_test", "stop_bgp_failover_test"];

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
        #[serde(default)]
        vifs: Option<Vec<String>>,
        #[serde(default)]
        minutes: Option<u64>,
        #[serde(default)]
        seconds: Option<u64>,
    }
    let r: Raw = cx.de(rest, path)?;
    let mut args = Map::new();
    if action == "start_bgp_failover_test" {
        if r.vifs.is_none() {
            return Err(cx.error(path, "start_bgp_failover_test needs `vifs`"));
        }
        match (r.minutes, r.seconds) {
            (Some(m), None) if (1..=crate::failover_test::MAX_MINUTES).contains(&m) => {
                args.insert("minutes".into(), json!(m));
            }
            (None, Some(s)) if s > 0 => {
                args.insert("seconds".into(), json!(s));
            }
            (None, None) => {}
            _ => {
                return Err(cx.error(path, "give `minutes` (1-4320) or `seconds` (> 0), not both"));
            }
        }
    } else if r.minutes.is_some() || r.seconds.is_some() {
        return Err(cx.error(path, "stop_bgp_failover_test takes no duration"));
    }
    if let Some(v) = r.vifs {
        args.insert("vifs".into(), Value::from(v));
    }
    Ok(KindRequest {
        kind: "dxgw",
        node: r.node,
        params: ActionParams {
            kind: action.to_string(),
            args,
        },
    })
}
