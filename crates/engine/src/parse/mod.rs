//! Reads a scenario file: TOML syntax, then each section into its typed model (the engine's
//! own sections here, node sections by their kinds), then the semantic checks of
//! `crate::validate`. Every problem found is collected and reported with file, line, column
//! and field path; nothing is created before all of this has passed.
//!
//! ```text
//! text --toml--> span tree --sections--> Scenario parts --validate--> Scenario
//!        syntax error          unknown/missing/mistyped        unknown node, overlap,
//!                              fields                          duplicate names, ...
//! ```
//!
//! What it does not do: touch the system.

mod entries;

use std::collections::BTreeMap;
use std::time::Duration;

use toml::de::DeValue;

pub use crate::parse_cx::{Node, ParseCx};

use crate::chaos::menu::FaultKind;
use crate::diagnostic::{Diagnostic, Diagnostics, Locator};
use crate::duration::Dur;
use crate::kind::Registry;
use crate::model::chaos::ChaosSpec;
use crate::model::timing::{ENGINE_TIMERS, Profile, TimerDef, Timing};
use crate::model::{Link, Meta, Probe, Scenario, Site, Topology};
use crate::source::{FieldPath, Source};

/// Top-level sections the engine owns; node kinds own one more each.
const ENGINE_SECTIONS: &[&str] = &[
    "scenario", "timing", "site", "link", "probe", "timeline", "expect", "chaos",
];

/// Parses and validates `source`.
pub fn parse_scenario(source: &Source, registry: &Registry) -> Result<Scenario, Diagnostics> {
    parse_scenario_with(source, registry, None)
}

/// Parses and validates `source`; `profile`, when given (`hybridlab run --profile`), replaces
/// the file's `[timing] profile` while its per-item overrides still apply.
pub fn parse_scenario_with(
    source: &Source,
    registry: &Registry,
    profile: Option<Profile>,
) -> Result<Scenario, Diagnostics> {
    let root = match crate::source::parse_document(&source.text) {
        Ok(root) => root,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().replace('\n', "; ");
            return Err(Diagnostics(vec![Diagnostic {
                file: source.name.clone(),
                position: source.position(span.start),
                path: FieldPath::root(),
                message: format!("TOML syntax: {message}"),
                excerpt: source.line_text(span.start),
            }]));
        }
    };
    let cx = ParseCx {
        loc: Locator {
            source,
            root: &root,
        },
    };
    let mut errors = Vec::new();
    let mut scenario = sections(&root, &cx, registry, profile, &mut errors);
    if let Some(s) = &mut scenario {
        // Nodes in file order, whatever their kind: reports and "first declared at" read naturally.
        s.topology
            .nodes
            .sort_by_key(|n| crate::source::span_of(&root, n.path()).start);
    }
    // Semantic checks only on a structurally sound file: a node that failed to parse would
    // otherwise show up again as "unknown node" wherever it is referenced.
    if let Some(scenario) = scenario.as_ref().filter(|_| errors.is_empty()) {
        errors.extend(crate::validate::validate(scenario, &cx));
    }
    match scenario {
        Some(s) if errors.is_empty() => Ok(s),
        _ => {
            errors.sort_by_key(|d| (d.position.line, d.position.column));
            errors.dedup();
            Err(Diagnostics(errors))
        }
    }
}

fn sections(
    root: &Node<'_>,
    cx: &ParseCx<'_>,
    registry: &Registry,
    profile: Option<Profile>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Scenario> {
    let DeValue::Table(table) = root.get_ref() else {
        errors.push(cx.error(
            &FieldPath::root(),
            "a scenario is a TOML document of tables",
        ));
        return None;
    };
    let kind_names: Vec<&str> = registry.all().map(|k| k.name()).collect();
    for (key, _) in table.iter() {
        let k: &str = key.get_ref();
        if !ENGINE_SECTIONS.contains(&k) && !kind_names.contains(&k) {
            let mut known: Vec<&str> = ENGINE_SECTIONS
                .iter()
                .copied()
                .chain(kind_names.iter().copied())
                .collect();
            known.sort();
            errors.push(cx.loc.at_span(
                key.span(),
                format!(
                    "unknown section `{k}`, expected one of: {}",
                    known.join(", ")
                ),
            ));
        }
    }
    let get = |name: &str| {
        table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == name)
            .map(|(_, v)| v)
    };
    let root_path = FieldPath::root();

    let meta = match get("scenario") {
        Some(v) => cx
            .de::<Meta>(v, &root_path.key("scenario"))
            .map_err(|d| errors.push(d))
            .ok(),
        None => {
            errors.push(cx.error(
                &root_path,
                "missing section [scenario] (with at least name = \"...\")",
            ));
            None
        }
    };

    // Timers: the engine's and every kind's.
    let defs: Vec<&TimerDef> = ENGINE_TIMERS
        .iter()
        .chain(registry.all().flat_map(|k| k.timers().iter()))
        .collect();
    let timing = match get("timing") {
        Some(v) => timing(v, &defs, cx, profile, errors),
        None => Timing::resolve(
            profile.unwrap_or_default(),
            defs.iter().copied(),
            &BTreeMap::new(),
        ),
    };

    crate::duration::with_profile(timing.profile, || {
        rest_of_sections(get, cx, registry, timing, meta, errors)
    })
}

/// Everything after `[timing]`, read under its profile (per-profile durations).
fn rest_of_sections<'a>(
    get: impl Fn(&str) -> Option<&'a Node<'a>>,
    cx: &ParseCx<'_>,
    registry: &Registry,
    timing: Timing,
    meta: Option<Meta>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Scenario> {
    let root_path = FieldPath::root();
    let mut topology = Topology::default();
    if let Some(v) = get("site") {
        topology.sites = list(v, "site", cx, errors, |s: &mut Site, p| s.path = p);
    }
    if let Some(v) = get("link") {
        topology.links = list(v, "link", cx, errors, |l: &mut Link, p| {
            l.path = p;
            if l.name.is_empty() {
                l.name = format!("{}-{}", l.endpoints[0].node, l.endpoints[1].node);
            }
        });
    }
    for kind in registry.all() {
        let Some(v) = get(kind.name()) else { continue };
        let path = root_path.key(kind.name());
        match cx.tables(v, &path) {
            Ok(items) => {
                for (p, item) in items {
                    match kind.parse(item, &p, cx) {
                        Ok(node) => topology.nodes.push(node),
                        Err(d) => errors.push(d),
                    }
                }
            }
            Err(d) => errors.push(d),
        }
    }
    // Links the nodes bring themselves (a gateway's outside interface): validated like any.
    for node in &topology.nodes {
        for mut l in node.links() {
            if l.name.is_empty() {
                l.name = format!("{}-{}", l.endpoints[0].node, l.endpoints[1].node);
            }
            topology.links.push(l);
        }
    }
    let probes = match get("probe") {
        Some(v) => list(v, "probe", cx, errors, |p: &mut Probe, path| p.path = path),
        None => Vec::new(),
    };
    let timeline = match get("timeline") {
        Some(v) => entries::timeline(v, cx, registry, errors),
        None => Vec::new(),
    };
    let expectations = match get("expect") {
        Some(v) => entries::expectations(v, cx, registry, &timing, errors),
        None => Vec::new(),
    };
    let chaos = get("chaos").and_then(|v| chaos_section(v, cx, errors));
    Some(Scenario {
        meta: meta?,
        file: cx.loc.source.name.clone(),
        timing,
        topology,
        probes,
        timeline,
        expectations,
        chaos,
    })
}

/// `[chaos]`: its keys, known fault kinds, `faults` or `duration`, `overlap` of at least 1.
fn chaos_section(
    v: &Node<'_>,
    cx: &ParseCx<'_>,
    errors: &mut Vec<Diagnostic>,
) -> Option<ChaosSpec> {
    let path = FieldPath::root().key("chaos");
    let mut spec: ChaosSpec = cx.de(v, &path).map_err(|d| errors.push(d)).ok()?;
    spec.path = path.clone();
    let before = errors.len();
    for (i, k) in spec.kinds.iter().enumerate() {
        if FaultKind::parse(k).is_none() {
            errors.push(cx.error(
                &path.key("kinds").index(i),
                format!(
                    "unknown fault kind {k:?}, expected one of: {}",
                    FaultKind::names()
                ),
            ));
        }
    }
    if spec.faults.is_some() && spec.duration.is_some() {
        errors.push(cx.error(
            &path.key("duration"),
            "give `faults` or `duration`, not both",
        ));
    }
    if spec.faults == Some(0) {
        errors.push(cx.error(&path.key("faults"), "faults must be at least 1"));
    }
    if spec.overlap == Some(0) {
        errors.push(cx.error(&path.key("overlap"), "overlap must be at least 1"));
    }
    (errors.len() == before).then_some(spec)
}

/// Reads an array-of-tables section into `T`s, collecting errors.
fn list<T: serde::de::DeserializeOwned>(
    v: &Node<'_>,
    name: &str,
    cx: &ParseCx<'_>,
    errors: &mut Vec<Diagnostic>,
    mut finish: impl FnMut(&mut T, FieldPath),
) -> Vec<T> {
    let path = FieldPath::root().key(name);
    let items = match cx.tables(v, &path) {
        Ok(items) => items,
        Err(d) => {
            errors.push(d);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (p, item) in items {
        match cx.de::<T>(item, &p) {
            Ok(mut t) => {
                finish(&mut t, p);
                out.push(t);
            }
            Err(d) => errors.push(d),
        }
    }
    out
}

fn timing(
    v: &Node<'_>,
    defs: &[&TimerDef],
    cx: &ParseCx<'_>,
    forced: Option<Profile>,
    errors: &mut Vec<Diagnostic>,
) -> Timing {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ProfileOnly {
        #[serde(default)]
        profile: Profile,
    }
    let path = FieldPath::root().key("timing");
    let (mine, rest) = cx.split(v, &["profile"]);
    let profile = cx
        .de::<ProfileOnly>(&mine, &path)
        .map_err(|d| errors.push(d))
        .map(|p| p.profile)
        .unwrap_or_default();
    let profile = forced.unwrap_or(profile);
    let mut overrides: BTreeMap<String, Duration> = BTreeMap::new();
    if let DeValue::Table(t) = rest.get_ref() {
        for (key, value) in t.iter() {
            let k: &str = key.get_ref();
            let p = path.key(k);
            if !defs.iter().any(|d| d.name == k) {
                let mut names: Vec<&str> = defs.iter().map(|d| d.name).collect();
                names.sort();
                errors.push(cx.loc.at_span(
                    key.span(),
                    format!(
                        "unknown timer `{k}`, expected `profile` or one of: {}",
                        names.join(", ")
                    ),
                ));
                continue;
            }
            match cx.de::<Dur>(value, &p) {
                Ok(d) => {
                    overrides.insert(k.to_string(), d.0);
                }
                Err(d) => errors.push(d),
            }
        }
    }
    Timing::resolve(profile, defs.iter().copied(), &overrides)
}
