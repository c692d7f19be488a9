//! The `advertise` and `withdraw` control-socket actions of a gateway that originates prefixes
//! over BGP: `{"prefixes": ["10.1.0.0/16", "2001:db8::/48"]}` originates (or withdraws) each
//! prefix on every session of the gateway's speaker, as a scenario's timeline, a chaos
//! campaign's `withdraw` fault or `hybridlab act` asks.
//!
//! What it does not do: check that a prefix is the gateway's own to announce (the scenario
//! decides what a site announces), or keep a list of them (the speaker's RIB does).

use std::sync::Arc;

use bgp::driver::Speaker;
use bgp::wire::{PathAttrs, Prefix};
use control::protocol::ErrorCode;
use control::{ActionParams, ErrorBody, ServerBuilder};
use serde_json::{Value, json};

/// The `"prefixes"` argument of an action: IPv4 or IPv6 prefixes, each as text.
pub fn prefixes_arg(p: &ActionParams) -> Result<Vec<Prefix>, ErrorBody> {
    let list = p
        .args
        .get("prefixes")
        .and_then(Value::as_array)
        .ok_or_else(|| ErrorBody::new(ErrorCode::BadRequest, "needs \"prefixes\": [..]"))?;
    list.iter()
        .map(|v| {
            v.as_str()
                .and_then(|s| s.parse::<Prefix>().ok())
                .ok_or_else(|| {
                    ErrorBody::new(ErrorCode::BadRequest, format!("{v} is not a prefix"))
                })
        })
        .collect()
}

/// Registers `advertise` and `withdraw` on `builder`. Without a speaker (a gateway whose BGP
/// is someone else's, or static routing) both answer BadRequest.
pub fn register(builder: ServerBuilder, speaker: Option<Arc<Speaker>>) -> ServerBuilder {
    let sp = speaker.clone();
    let builder = builder.action("advertise", move |p: ActionParams| {
        let sp = sp.clone();
        async move {
            let sp = sp.ok_or_else(no_bgp)?;
            let prefixes = prefixes_arg(&p)?;
            for x in &prefixes {
                sp.originate(*x, PathAttrs::default())
                    .await
                    .map_err(|e| ErrorBody::new(ErrorCode::Internal, e.to_string()))?;
            }
            Ok(json!({ "advertised": prefixes.len() }))
        }
    });
    builder.action("withdraw", move |p: ActionParams| {
        let sp = speaker.clone();
        async move {
            let sp = sp.ok_or_else(no_bgp)?;
            let prefixes = prefixes_arg(&p)?;
            for x in &prefixes {
                sp.withdraw(*x)
                    .await
                    .map_err(|e| ErrorBody::new(ErrorCode::Internal, e.to_string()))?;
            }
            Ok(json!({ "withdrawn": prefixes.len() }))
        }
    })
}

fn no_bgp() -> ErrorBody {
    ErrorBody::new(ErrorCode::BadRequest, "no BGP speaker on this gateway")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn params(v: Value) -> ActionParams {
        let mut args = Map::new();
        args.insert("prefixes".into(), v);
        ActionParams {
            kind: "withdraw".into(),
            args,
        }
    }

    #[test]
    fn both_families_parse_and_anything_else_is_named() {
        let ok = prefixes_arg(&params(json!(["10.1.0.0/16", "2001:db8::/48"]))).unwrap();
        assert_eq!(ok.len(), 2);
        let e = prefixes_arg(&params(json!(["10.1.0.0/16", "nope"]))).unwrap_err();
        assert!(
            e.message.contains("\"nope\" is not a prefix"),
            "{}",
            e.message
        );
        let e = prefixes_arg(&ActionParams {
            kind: "withdraw".into(),
            args: Map::new(),
        })
        .unwrap_err();
        assert!(e.message.contains("needs \"prefixes\""), "{}", e.message);
    }
}
