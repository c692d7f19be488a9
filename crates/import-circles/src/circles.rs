//! [`find`]: import circles between sibling modules, judged like a package diagram.
//!
//! For every module M, its direct children are the nodes, and child Ci has an edge to child Cj
//! when anything in Ci's subtree refers to anything in Cj's subtree. A module referring to its own
//! descendants (and `mod` declarations) is not an edge, nor is a module referring to an ancestor's
//! own items (the `super::Type` pattern): only sibling-to-sibling references are. A circle is a
//! strongly connected component of two or more children, reported with the references that make
//! its edges.
//!
//! It does not resolve paths ([`crate::resolve`] does) or format lines ([`crate::report`] does).

use std::collections::{BTreeMap, BTreeSet};

use crate::resolve::Target;
use crate::scc::{cycle_through_all, strongly_connected};
use crate::tree::{CrateTree, ModuleId};

/// Sibling modules that refer to each other, directly or around a loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circle {
    /// The modules (paths such as `rib::policy`), in circle order when `ordered`, else sorted.
    pub members: Vec<String>,
    /// Each member refers to the next, and the last to the first.
    pub ordered: bool,
    /// The references between members, sorted by file.
    pub uses: Vec<Use>,
}

/// One reference that makes an edge of a circle: `file` uses `item` of `module`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Use {
    /// The referring file, relative to the crate root's directory (`rib/decision.rs`).
    pub file: String,
    /// The module referred to (`rib::policy`).
    pub module: String,
    /// The item referred to (`Candidate`); `None` for the module itself.
    pub item: Option<String>,
}

/// The circles made by `references`, each a pair of the referring module and where it leads.
pub fn find(tree: &CrateTree, references: &[(ModuleId, Target)]) -> Vec<Circle> {
    let mut edges: BTreeMap<ModuleId, BTreeMap<(ModuleId, ModuleId), BTreeSet<Use>>> =
        BTreeMap::new();
    for (from, target) in references {
        let Some((parent, a, b)) = sibling_edge(tree, *from, target.module) else {
            continue;
        };
        let used = Use {
            file: tree.display_file(*from),
            module: tree.display_path(target.module),
            item: target.item.clone(),
        };
        edges
            .entry(parent)
            .or_default()
            .entry((a, b))
            .or_default()
            .insert(used);
    }
    let mut circles = Vec::new();
    for (parent, edges) in &edges {
        circles.extend(circles_among_children(tree, *parent, edges));
    }
    circles.sort_by(|x, y| x.members.cmp(&y.members));
    circles
}

/// The parent and the two sibling children a reference from `from` to `to` connects, if it
/// connects siblings (not a module and its own ancestor or descendant).
fn sibling_edge(
    tree: &CrateTree,
    from: ModuleId,
    to: ModuleId,
) -> Option<(ModuleId, ModuleId, ModuleId)> {
    let a = tree.lineage(from);
    let b = tree.lineage(to);
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == a.len() || common == b.len() {
        return None;
    }
    Some((a[common - 1], a[common], b[common]))
}

fn circles_among_children(
    tree: &CrateTree,
    parent: ModuleId,
    edges: &BTreeMap<(ModuleId, ModuleId), BTreeSet<Use>>,
) -> Vec<Circle> {
    // Children sorted by path, so node 0 is the first alphabetically.
    let mut children: Vec<ModuleId> = tree.modules[parent].children.values().copied().collect();
    children.sort_by_key(|id| tree.display_path(*id));
    let node = |id: ModuleId| children.iter().position(|c| *c == id).expect("a child");
    let node_edges: Vec<(usize, usize)> = edges.keys().map(|(a, b)| (node(*a), node(*b))).collect();
    let mut circles = Vec::new();
    for component in strongly_connected(children.len(), &node_edges) {
        if component.len() < 2 {
            continue;
        }
        let order = if component.len() == 2 {
            Some(component.clone())
        } else {
            cycle_through_all(&component, &node_edges)
        };
        let members = order.as_ref().unwrap_or(&component);
        let uses = edges
            .iter()
            .filter(|((a, b), _)| component.contains(&node(*a)) && component.contains(&node(*b)))
            .flat_map(|(_, uses)| uses.iter().cloned())
            .collect::<BTreeSet<_>>();
        circles.push(Circle {
            members: members
                .iter()
                .map(|n| tree.display_path(children[*n]))
                .collect(),
            ordered: order.is_some(),
            uses: uses.into_iter().collect(),
        });
    }
    circles
}
