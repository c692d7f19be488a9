//! `[[timeline]]` and `[[expect]]` entries: the keys every entry has (`name`, `at`, `after`,
//! `on_event`, `delay`, ...) are split from the keys of its action or check, and each part is
//! read with `deny_unknown_fields`, so a typo in either is reported at its key. Actions and
//! checks the engine does not know are handed to the node kind that declares them.
//!
//! What it does not do: cross-reference names (see `crate::validate`).

use std::time::Duration;

use crate::diagnostic::Diagnostic;
use crate::kind::Registry;
use crate::model::expect::{
    Check, DeliversRaw, ExpectCommon, Expectation, MaxGapRaw, RouteRaw, StateRaw,
};
use crate::model::timeline::{
    Action, CutRaw, CutTarget, EntryCommon, FlapRaw, LinkRaw, NodeRaw, PROTOCOLS, ProcessRaw,
    RestoreRaw, RestoreWhich, TimelineEntry, TrafficMatch,
};
use crate::model::timing::Timing;
use crate::model::when::{EventMatch, When};
use crate::parse::{Node, ParseCx};
use crate::source::FieldPath;

const ENGINE_ACTIONS: &[&str] = &[
    "cut",
    "restore",
    "link_down",
    "link_up",
    "kill",
    "restart",
    "flap",
    "reset_nat",
];
const ENGINE_CHECKS: &[&str] = &["route", "delivers", "max_gap", "state"];
const COMMON_ENTRY: &[&str] = &["name", "at", "after", "on_event", "delay", "action"];
const COMMON_EXPECT: &[&str] = &[
    "name", "at", "after", "on_event", "delay", "within", "every", "check",
];

fn when(
    at: Option<Duration>,
    after: Option<String>,
    on_event: Option<EventMatch>,
    delay: Option<Duration>,
    path: &FieldPath,
    cx: &ParseCx<'_>,
) -> Result<Option<When>, Diagnostic> {
    let delay_d = delay.unwrap_or_default();
    match (at, after, on_event) {
        (None, None, None) => {
            if delay.is_some() {
                return Err(cx.error(&path.key("delay"), "`delay` needs `after` or `on_event`"));
            }
            Ok(None)
        }
        (Some(at), None, None) => {
            if delay.is_some() {
                return Err(cx.error(
                    &path.key("delay"),
                    "`delay` goes with `after` or `on_event`; with `at`, add it to `at`",
                ));
            }
            Ok(Some(When::At(at)))
        }
        (None, Some(name), None) => Ok(Some(When::After {
            name,
            delay: delay_d,
        })),
        (None, None, Some(event)) => Ok(Some(When::OnEvent {
            event,
            delay: delay_d,
        })),
        _ => Err(cx.error(path, "give only one of `at`, `after` and `on_event`")),
    }
}

fn known(list: &[&str], extra: Vec<&str>) -> String {
    let mut all: Vec<&str> = list.iter().copied().chain(extra).collect();
    all.sort();
    all.join(", ")
}

/// Parses `[[timeline]]`.
pub fn timeline(
    v: &Node<'_>,
    cx: &ParseCx<'_>,
    registry: &Registry,
    errors: &mut Vec<Diagnostic>,
) -> Vec<TimelineEntry> {
    let path = FieldPath::root().key("timeline");
    let items = match cx.tables(v, &path) {
        Ok(items) => items,
        Err(d) => {
            errors.push(d);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (p, item) in items {
        match timeline_entry(item, &p, cx, registry) {
            Ok(e) => out.push(e),
            Err(d) => errors.push(d),
        }
    }
    out
}

fn timeline_entry(
    item: &Node<'_>,
    p: &FieldPath,
    cx: &ParseCx<'_>,
    registry: &Registry,
) -> Result<TimelineEntry, Diagnostic> {
    let (common, rest) = cx.split(item, COMMON_ENTRY);
    let c: EntryCommon = cx.de(&common, p)?;
    let when = when(
        c.at.map(|d| d.0),
        c.after,
        c.on_event,
        c.delay.map(|d| d.0),
        p,
        cx,
    )?
    .ok_or_else(|| cx.error(p, "an action needs a time: `at`, `after` or `on_event`"))?;
    let action = match c.action.as_str() {
        "cut" => {
            let r: CutRaw = cx.de(&rest, p)?;
            let target = target(r.link, r.node, p, cx)?;
            if let Some(proto) = &r.proto
                && !PROTOCOLS.iter().any(|(n, _)| n == proto)
            {
                let names: Vec<&str> = PROTOCOLS.iter().map(|(n, _)| *n).collect();
                return Err(cx.error(
                    &p.key("proto"),
                    format!(
                        "unknown protocol {proto:?}, expected one of: {}",
                        names.join(", ")
                    ),
                ));
            }
            for (key, given) in [("port", r.port.is_some()), ("ports", !r.ports.is_empty())] {
                if given && !matches!(r.proto.as_deref(), Some("udp" | "tcp" | "sctp")) {
                    return Err(cx.error(
                        &p.key(key),
                        format!("`{key}` needs proto = \"udp\", \"tcp\" or \"sctp\""),
                    ));
                }
            }
            if r.port.is_some() && !r.ports.is_empty() {
                return Err(cx.error(&p.key("ports"), "give `port` or `ports`, not both"));
            }
            if let Some(l) = r.loss
                && !(1..=99).contains(&l)
            {
                return Err(cx.error(
                    &p.key("loss"),
                    format!("loss {l}: expected a percentage from 1 to 99"),
                ));
            }
            Action::Cut {
                target,
                matching: TrafficMatch {
                    proto: r.proto,
                    ports: r.port.into_iter().chain(r.ports).collect(),
                    peer: r.peer,
                    loss_percent: r.loss,
                },
                duration: r.duration.map(|d| d.0),
            }
        }
        "restore" => {
            let r: RestoreRaw = cx.de(&rest, p)?;
            let which = match (r.cut, r.link, r.node) {
                (Some(cut), None, None) => RestoreWhich::Named(cut),
                (None, link, node) if link.is_some() || node.is_some() => {
                    RestoreWhich::Target(target(link, node, p, cx)?)
                }
                _ => {
                    return Err(cx.error(
                        p,
                        "restore needs `cut` (the cut action's name), or `link` or `node`",
                    ));
                }
            };
            Action::Restore { which }
        }
        "link_down" | "link_up" => {
            let r: LinkRaw = cx.de(&rest, p)?;
            if c.action == "link_down" {
                Action::LinkDown {
                    link: r.link,
                    node: r.node,
                }
            } else {
                Action::LinkUp {
                    link: r.link,
                    node: r.node,
                }
            }
        }
        "kill" | "restart" => {
            let r: ProcessRaw = cx.de(&rest, p)?;
            if c.action == "kill" {
                Action::Kill {
                    node: r.node,
                    process: r.process,
                }
            } else {
                Action::Restart {
                    node: r.node,
                    process: r.process,
                }
            }
        }
        "reset_nat" => {
            let r: NodeRaw = cx.de(&rest, p)?;
            Action::ResetNat { node: r.node }
        }
        "flap" => {
            let r: FlapRaw = cx.de(&rest, p)?;
            if r.count == 0 {
                return Err(cx.error(&p.key("count"), "`count` must be at least 1"));
            }
            let down = r.down.map(|d| d.0).unwrap_or(r.period.0 / 2);
            if down.is_zero() || down >= r.period.0 {
                return Err(cx.error(
                    &p.key("down"),
                    "`down` must be longer than zero and shorter than `period`",
                ));
            }
            Action::Flap {
                link: r.link,
                count: r.count,
                period: r.period.0,
                down,
                how: r.how,
            }
        }
        other => match registry.action_owner(other) {
            Some(kind) => Action::Kind(kind.parse_action(other, &rest, p, cx)?),
            None => {
                let extra: Vec<&str> = registry
                    .all()
                    .flat_map(|k| k.actions().iter().copied())
                    .collect();
                return Err(cx.error(
                    &p.key("action"),
                    format!(
                        "unknown action {other:?}, expected one of: {}",
                        known(ENGINE_ACTIONS, extra)
                    ),
                ));
            }
        },
    };
    let name = c.name.unwrap_or_else(|| default_action_name(&action));
    Ok(TimelineEntry {
        name,
        when,
        action,
        path: p.clone(),
    })
}

fn target(
    link: Option<String>,
    node: Option<String>,
    p: &FieldPath,
    cx: &ParseCx<'_>,
) -> Result<CutTarget, Diagnostic> {
    match (link, node) {
        (Some(l), None) => Ok(CutTarget::Link(l)),
        (None, Some(n)) => Ok(CutTarget::Node(n)),
        (Some(_), Some(_)) => Err(cx.error(&p.key("node"), "give `link` or `node`, not both")),
        (None, None) => Err(cx.error(p, "needs `link = \"NAME\"` or `node = \"NAME\"`")),
    }
}

fn default_action_name(a: &Action) -> String {
    let t = |t: &CutTarget| match t {
        CutTarget::Link(l) => format!("link {l}"),
        CutTarget::Node(n) => format!("node {n}"),
    };
    match a {
        Action::Cut {
            target, matching, ..
        } => {
            if matching.proto.is_some() || matching.peer.is_some() {
                format!("cut {} ({})", t(target), matching.describe())
            } else {
                format!("cut {}", t(target))
            }
        }
        Action::Restore {
            which: RestoreWhich::Named(n),
        } => format!("restore {n}"),
        Action::Restore {
            which: RestoreWhich::Target(x),
        } => format!("restore {}", t(x)),
        Action::LinkDown { link, .. } => format!("link {link} down"),
        Action::ResetNat { node } => format!("reset {node}'s NAT"),
        Action::LinkUp { link, .. } => format!("link {link} up"),
        Action::Kill { node, process } => format!(
            "kill {node}{}",
            process
                .as_ref()
                .map(|p| format!("/{p}"))
                .unwrap_or_default()
        ),
        Action::Restart { node, process } => format!(
            "restart {node}{}",
            process
                .as_ref()
                .map(|p| format!("/{p}"))
                .unwrap_or_default()
        ),
        Action::Flap { link, count, .. } => format!("flap link {link} x{count}"),
        Action::Kind(k) => format!("{} {}", k.params.kind, k.node),
    }
}

/// Parses `[[expect]]`.
pub fn expectations(
    v: &Node<'_>,
    cx: &ParseCx<'_>,
    registry: &Registry,
    timing: &Timing,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Expectation> {
    let path = FieldPath::root().key("expect");
    let items = match cx.tables(v, &path) {
        Ok(items) => items,
        Err(d) => {
            errors.push(d);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (p, item) in items {
        match expectation(item, &p, cx, registry, timing) {
            Ok(e) => out.push(e),
            Err(d) => errors.push(d),
        }
    }
    out
}

fn expectation(
    item: &Node<'_>,
    p: &FieldPath,
    cx: &ParseCx<'_>,
    registry: &Registry,
    timing: &Timing,
) -> Result<Expectation, Diagnostic> {
    let (common, rest) = cx.split(item, COMMON_EXPECT);
    let c: ExpectCommon = cx.de(&common, p)?;
    let check = match c.check.as_str() {
        "route" => {
            let r: RouteRaw = cx.de(&rest, p)?;
            if !r.present && (r.via.is_some() || r.dev.is_some()) {
                return Err(cx.error(&p.key("present"), "an absent route takes no `via` or `dev`"));
            }
            Check::Route {
                node: r.node,
                prefix: r.prefix,
                via: r.via,
                dev: r.dev,
                present: r.present,
            }
        }
        "delivers" => {
            let r: DeliversRaw = cx.de(&rest, p)?;
            Check::Delivers { probe: r.probe }
        }
        "max_gap" => {
            let r: MaxGapRaw = cx.de(&rest, p)?;
            if let Some(above) = r.above
                && above >= r.below
            {
                return Err(cx.error(&p.key("above"), "`above` must be smaller than `below`"));
            }
            if r.tolerance.is_some() && r.matches_event.is_none() {
                return Err(cx.error(&p.key("tolerance"), "`tolerance` goes with `matches_event`"));
            }
            Check::MaxGap {
                probe: r.probe,
                below: r.below.0,
                above: r.above.map(|d| d.0),
                matches_event: r
                    .matches_event
                    .map(|e| (e, r.tolerance.map_or(Duration::from_secs(1), |t| t.0))),
            }
        }
        "state" => {
            let r: StateRaw = cx.de(&rest, p)?;
            if !(r.pointer.is_empty() || r.pointer.starts_with('/')) {
                return Err(cx.error(&p.key("pointer"), "a JSON pointer is empty or starts with `/` (RFC 6901), e.g. \"/neighbors/0/state\""));
            }
            Check::State {
                node: r.node,
                show: r.show,
                args: r.args,
                pointer: r.pointer,
                equals: r.equals,
            }
        }
        other => match registry.check_owner(other) {
            Some(kind) => Check::Kind(kind.parse_check(other, &rest, p, cx)?),
            None => {
                let extra: Vec<&str> = registry
                    .all()
                    .flat_map(|k| k.checks().iter().copied())
                    .collect();
                return Err(cx.error(
                    &p.key("check"),
                    format!(
                        "unknown check {other:?}, expected one of: {}",
                        known(ENGINE_CHECKS, extra)
                    ),
                ));
            }
        },
    };
    let when = when(
        c.at.map(|d| d.0),
        c.after,
        c.on_event,
        c.delay.map(|d| d.0),
        p,
        cx,
    )?
    .unwrap_or_else(|| check.default_when());
    let name = c.name.unwrap_or_else(|| default_check_name(&check));
    Ok(Expectation {
        name,
        when,
        within: c.within.map(|d| d.0).unwrap_or(timing.get("expect_within")),
        every: c.every.map(|d| d.0).unwrap_or(timing.get("expect_every")),
        check,
        path: p.clone(),
    })
}

fn default_check_name(c: &Check) -> String {
    match c {
        Check::Route {
            node,
            prefix,
            via,
            dev,
            present,
        } => {
            let mut s = format!("{node}: route {prefix}");
            if let Some(v) = via {
                s += &format!(" via {v}");
            }
            if let Some(d) = dev {
                s += &format!(" dev {d}");
            }
            if !present {
                s += " absent";
            }
            s
        }
        Check::Delivers { probe } => format!("probe {probe} delivers"),
        Check::MaxGap {
            probe,
            below,
            above,
            ..
        } => match above {
            Some(a) => format!(
                "probe {probe} longest gap in [{}, {})",
                crate::duration::human(*a),
                crate::duration::human(*below)
            ),
            None => format!(
                "probe {probe} longest gap < {}",
                crate::duration::human(*below)
            ),
        },
        Check::State {
            node,
            show,
            pointer,
            equals,
            ..
        } => format!("{node}: show {show} {pointer} == {equals}"),
        Check::Kind(k) => k.describe.clone(),
    }
}
