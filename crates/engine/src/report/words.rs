//! Timeline entries in words, for people watching a run: `vgw1  BGP  vpn1-t1  Established ->
//! Idle  hold timer expired` instead of the daemon's JSON. The JSON stays as it was in the run
//! record (`--json`); only the live display and logs read these.
//!
//! Each entry becomes four columns: who (node, action, probe, expectation), what (BGP, IKE,
//! ESP, BFD, routes, ...), which (neighbor, tunnel, VIF) and the sentence. Event kinds this
//! module does not know are shown as `key=value` pairs, so a new daemon event is readable
//! before it is described here.
//!
//! What it does not do: change the record, or decide what a run reports.

use serde_json::Value;

use crate::report::record::{EventSource, TimelineEvent};

/// One entry as columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Words {
    /// The node, action, probe or expectation.
    pub who: String,
    /// The protocol or part (`BGP`, `IKE`, `ESP`, `BFD`, `routes`, `action`, ...).
    pub what: String,
    /// The session, tunnel or VIF concerned (may be empty).
    pub which: String,
    /// What happened.
    pub text: String,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn n(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

/// `hold_timer_expired` -> `hold timer expired`.
fn human(k: &str) -> String {
    k.replace('_', " ")
}

/// A reason that may be a string or `{kind, ...}`.
fn reason(v: &Value) -> String {
    match v.get("reason") {
        Some(Value::String(r)) => r.clone(),
        Some(Value::Object(m)) => {
            let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
            let rest = pairs(&Value::Object(
                m.iter()
                    .filter(|(k, _)| *k != "kind")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ));
            [human(kind), rest]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        }
        _ => String::new(),
    }
}

/// `key=value` pairs of an object (strings unquoted), for kinds without words of their own.
fn pairs(v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                v => format!("{k}={v}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

fn join(parts: &[String]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join("  ")
}

/// The routes a routing event lists: `10.1.0.0/16 via vpn1-t1`.
fn route_list(v: &Value) -> String {
    v.get("routes")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let via = s(r, "via");
                    if via.is_empty() {
                        s(r, "prefix").to_string()
                    } else {
                        format!("{} via {via}", s(r, "prefix"))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn counts(v: &Value, keys: &[&str]) -> String {
    keys.iter()
        .filter(|k| n(v, k) > 0)
        .map(|k| format!("{} {k}", n(v, k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A daemon event in words: (what, which, text).
fn daemon(kind: &str, v: &Value) -> (String, String, String) {
    let neighbor = s(v, "neighbor").to_string();
    let tunnel = s(v, "tunnel").to_string();
    let w = |what: &str, which: &str, text: String| (what.to_string(), which.to_string(), text);
    match kind {
        "bgp.state" => w(
            "BGP",
            &neighbor,
            join(&[format!("{} -> {}", s(v, "from"), s(v, "to")), reason(v)]),
        ),
        "bgp.up" => w(
            "BGP",
            &neighbor,
            format!(
                "session up (hold time {}s{})",
                n(v, "hold_time"),
                v.get("families")
                    .and_then(Value::as_array)
                    .map(|f| {
                        let f: Vec<&str> = f.iter().filter_map(Value::as_str).collect();
                        format!(", {}", f.join(" "))
                    })
                    .unwrap_or_default()
            ),
        ),
        "bgp.down" => w("BGP", &neighbor, join(&["session down".into(), reason(v)])),
        "bgp.prefixes" => {
            let fam = |f: &str| {
                let x = &v[f];
                (n(x, "received") + n(x, "accepted") + n(x, "advertised") > 0).then(|| {
                    format!(
                        "{f}: received {}, accepted {}, advertised {}",
                        n(x, "received"),
                        n(x, "accepted"),
                        n(x, "advertised")
                    )
                })
            };
            let mut parts: Vec<String> = ["ipv4", "ipv6"].into_iter().filter_map(fam).collect();
            parts.push(counts(v, &["announced", "withdrawn", "filtered"]));
            w("BGP", &neighbor, join(&parts))
        }
        "bgp.kernel" => w(
            "routes",
            "",
            format!(
                "kernel: {}",
                counts(v, &["installed", "removed", "replaced", "failed", "held"])
            ),
        ),
        "bgp.max_prefix" => w("BGP", &neighbor, format!("prefix limit: {}", pairs(v))),
        "ipsec.state" => w(
            "IKE",
            &tunnel,
            join(&[format!("{} -> {}", s(v, "from"), s(v, "to")), reason(v)]),
        ),
        "ipsec.ike_up" => w(
            "IKE",
            &tunnel,
            format!(
                "IKE SA up ({}, {}{})",
                s(v, "suite"),
                if v["initiator"] == Value::Bool(true) {
                    "initiator"
                } else {
                    "responder"
                },
                if v["nat_t"] == Value::Bool(true) {
                    ", NAT-T"
                } else {
                    ""
                }
            ),
        ),
        "ipsec.ike_down" => w("IKE", &tunnel, join(&["IKE SA down".into(), reason(v)])),
        "ipsec.ike_rekeyed" => w("IKE", &tunnel, "IKE SA rekeyed".into()),
        "ipsec.child_up" => w(
            "ESP",
            &tunnel,
            format!(
                "child SA up, in {} out {} ({}){}",
                s(v, "inbound_spi"),
                s(v, "outbound_spi"),
                s(v, "suite"),
                match s(v, "rekey_of") {
                    "" => String::new(),
                    old => format!(", rekey of {old}"),
                }
            ),
        ),
        "ipsec.child_down" => w(
            "ESP",
            &tunnel,
            join(&[
                format!("child SA down, in {}", s(v, "inbound_spi")),
                reason(v),
            ]),
        ),
        "ipsec.dpd_dead" => w(
            "DPD",
            &tunnel,
            format!("peer dead, action {}", s(v, "action")),
        ),
        "ipsec.failed" => w(
            "IKE",
            &tunnel,
            join(&["failed".into(), reason(v), pairs(v)]),
        ),
        "vgw.routes" | "vpc.routes" | "tgw.routes" => {
            let list = route_list(v);
            w(
                "routes",
                "",
                join(&[
                    counts(v, &["installed", "removed", "replaced", "failed", "held"]),
                    if list.is_empty() {
                        String::new()
                    } else {
                        format!("best: {list}")
                    },
                ]),
            )
        }
        "dx.bfd" => w(
            "BFD",
            s(v, "vif"),
            join(&[
                format!("{} -> {}", s(v, "from"), s(v, "to")),
                match s(v, "diag") {
                    "" | "NoDiagnostic" => String::new(),
                    d => d.to_string(),
                },
            ]),
        ),
        "dx.failover_test" => w(
            "failover test",
            s(v, "vif"),
            join(&[
                s(v, "state").to_string(),
                pairs(&without(v, &["vif", "state"])),
            ]),
        ),
        _ => {
            let (what, rest) = kind.split_once('.').unwrap_or((kind, ""));
            let which = [neighbor.as_str(), tunnel.as_str(), s(v, "vif")]
                .into_iter()
                .find(|x| !x.is_empty())
                .unwrap_or("")
                .to_string();
            let v = without(v, &["neighbor", "tunnel", "vif"]);
            w(what, &which, join(&[human(rest), pairs(&v)]))
        }
    }
}

fn without(v: &Value, keys: &[&str]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// `e` in words.
pub fn words(e: &TimelineEvent) -> Words {
    let (what, which, text) = match e.source {
        EventSource::Daemon => {
            let v: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
            if v.is_null() && !e.detail.is_empty() {
                (e.kind.clone(), String::new(), e.detail.clone())
            } else {
                daemon(&e.kind, &v)
            }
        }
        EventSource::Engine => (String::new(), String::new(), e.detail.clone()),
        EventSource::Action => ("action".into(), e.kind.clone(), e.detail.clone()),
        EventSource::Probe => ("probe".into(), e.kind.clone(), e.detail.clone()),
        // Expectation names are sentences: they go with the text, not in the first column.
        EventSource::Expectation => {
            return Words {
                who: "expect".into(),
                what: e.kind.to_uppercase(),
                which: String::new(),
                text: format!("{}: {}", e.subject, e.detail),
            };
        }
    };
    Words {
        who: e.subject.clone(),
        what,
        which,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: &str, detail: &str) -> TimelineEvent {
        TimelineEvent {
            t_ns: 0,
            source: EventSource::Daemon,
            subject: "vgw1".into(),
            kind: kind.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn bgp_and_ipsec_events_read_as_sentences() {
        let w = words(&ev(
            "bgp.state",
            r#"{"from":"Established","neighbor":"vpn1-t1","reason":"hold timer expired","to":"Idle"}"#,
        ));
        assert_eq!(
            (
                w.who.as_str(),
                w.what.as_str(),
                w.which.as_str(),
                w.text.as_str()
            ),
            (
                "vgw1",
                "BGP",
                "vpn1-t1",
                "Established -> Idle  hold timer expired"
            )
        );
        let w = words(&ev(
            "bgp.down",
            r#"{"neighbor":"vpn1-t1","reason":{"kind":"hold_timer_expired"},"stale":false}"#,
        ));
        assert_eq!(w.text, "session down  hold timer expired");
        let w = words(&ev(
            "ipsec.child_up",
            r#"{"inbound_spi":"2c1ef765","outbound_spi":"570ed1a0","rekey_of":null,"suite":"aes128-sha1-modp1024","tunnel":"vpn1-t1"}"#,
        ));
        assert_eq!(
            (w.what.as_str(), w.which.as_str(), w.text.as_str()),
            (
                "ESP",
                "vpn1-t1",
                "child SA up, in 2c1ef765 out 570ed1a0 (aes128-sha1-modp1024)"
            )
        );
        let w = words(&ev(
            "vgw.routes",
            r#"{"failed":0,"held":0,"installed":2,"removed":0,"replaced":1,"routes":[{"decided_by":null,"kind":"vpn_bgp","prefix":"10.1.0.0/16","via":"vpn1-t2"}]}"#,
        ));
        assert_eq!(
            w.text,
            "2 installed, 1 replaced  best: 10.1.0.0/16 via vpn1-t2"
        );
        assert!(!w.text.contains('{'));
    }

    #[test]
    fn unknown_kinds_and_bad_json_stay_readable() {
        let w = words(&ev("gre.key", r#"{"tunnel":"g1","expected":5,"got":"7"}"#));
        assert_eq!(
            (w.what.as_str(), w.which.as_str(), w.text.as_str()),
            ("gre", "g1", "key  expected=5 got=7")
        );
        let w = words(&ev("x.y", "not json"));
        assert_eq!(w.text, "not json");
        let w = words(&ev("x.y", ""));
        assert_eq!(w.what, "x");
    }
}
