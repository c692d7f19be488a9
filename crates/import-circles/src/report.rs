//! How findings read: [`circle_line`] (one line per circle) and [`package_lines`] (one line per
//! package: `ok`, or its circles).
//!
//! ```text
//! bgp: circle rib::decision <-> rib::policy: rib/decision.rs uses rib::policy::Candidate; rib/policy.rs uses rib::decision::{compare, multipath_equal}
//! netns: circle lab -> names -> rootless -> lab: lab.rs uses names::sweep; ...
//! engine: circle among kind, model, parse, validate: ...
//! ```
//!
//! It only formats; it decides nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::circles::Circle;

/// The circles of one crate (a package's library or one of its binaries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrateResult {
    /// `bgp` for a library, `bgp (bin hl-bgpd)` for a binary.
    pub label: String,
    pub circles: Vec<Circle>,
}

/// `package: ok` when none of its crates has a circle, else one line per circle.
pub fn package_lines(package: &str, crates: &[CrateResult]) -> Vec<String> {
    let lines: Vec<String> = crates
        .iter()
        .flat_map(|c| c.circles.iter().map(|circle| circle_line(&c.label, circle)))
        .collect();
    if lines.is_empty() {
        vec![format!("{package}: ok")]
    } else {
        lines
    }
}

/// `label: circle a <-> b: a.rs uses b::X; b.rs uses a::{y, z}`.
pub fn circle_line(label: &str, circle: &Circle) -> String {
    let members = match (circle.ordered, circle.members.as_slice()) {
        (true, [a, b]) => format!("{a} <-> {b}"),
        (true, [first, ..]) => format!("{} -> {first}", circle.members.join(" -> ")),
        _ => format!("among {}", circle.members.join(", ")),
    };
    // file -> module -> items (None: the module itself).
    let mut by_file: BTreeMap<&str, BTreeMap<&str, BTreeSet<Option<&str>>>> = BTreeMap::new();
    for used in &circle.uses {
        by_file
            .entry(&used.file)
            .or_default()
            .entry(&used.module)
            .or_default()
            .insert(used.item.as_deref());
    }
    let uses: Vec<String> = by_file
        .iter()
        .map(|(file, modules)| {
            let targets: Vec<String> = modules
                .iter()
                .map(|(module, items)| target(module, items))
                .collect();
            format!("{file} uses {}", targets.join(", "))
        })
        .collect();
    format!("{label}: circle {members}: {}", uses.join("; "))
}

/// `m`, `m::x` or `m::{x, y}`; naming the module itself is left out when items of it are named.
fn target(module: &str, items: &BTreeSet<Option<&str>>) -> String {
    let named: Vec<&str> = items.iter().flatten().copied().collect();
    match named.as_slice() {
        [] => module.to_owned(),
        [item] => format!("{module}::{item}"),
        _ => format!("{module}::{{{}}}", named.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::{CrateResult, circle_line, package_lines};
    use crate::circles::{Circle, Use};

    fn used(file: &str, module: &str, item: Option<&str>) -> Use {
        Use {
            file: file.to_owned(),
            module: module.to_owned(),
            item: item.map(str::to_owned),
        }
    }

    #[test]
    fn a_pair_reads_with_grouped_items() {
        let circle = Circle {
            members: vec!["rib::decision".into(), "rib::policy".into()],
            ordered: true,
            uses: vec![
                used("rib/decision.rs", "rib::policy", Some("Candidate")),
                used("rib/policy.rs", "rib::decision", None),
                used("rib/policy.rs", "rib::decision", Some("compare")),
                used("rib/policy.rs", "rib::decision", Some("multipath_equal")),
            ],
        };
        assert_eq!(
            circle_line("bgp", &circle),
            "bgp: circle rib::decision <-> rib::policy: rib/decision.rs uses \
             rib::policy::Candidate; rib/policy.rs uses rib::decision::{compare, multipath_equal}"
        );
    }

    #[test]
    fn longer_circles_read_as_a_loop_or_a_set() {
        let mut circle = Circle {
            members: vec!["a".into(), "b".into(), "c".into()],
            ordered: true,
            uses: vec![used("a.rs", "b", None)],
        };
        assert_eq!(
            circle_line("x", &circle),
            "x: circle a -> b -> c -> a: a.rs uses b"
        );
        circle.ordered = false;
        assert_eq!(
            circle_line("x", &circle),
            "x: circle among a, b, c: a.rs uses b"
        );
    }

    #[test]
    fn a_package_without_circles_is_ok() {
        let crates = [CrateResult {
            label: "bgp".into(),
            circles: vec![],
        }];
        assert_eq!(package_lines("bgp", &crates), ["bgp: ok"]);
    }
}
