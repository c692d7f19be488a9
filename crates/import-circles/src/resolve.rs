//! [`Resolver`]: where a path written in a module leads inside the crate, as a [`Target`] (the
//! module that defines the item, and the item's name).
//!
//! `crate::`, `self::` and `super::` are resolved from the module that wrote the path; a leading
//! plain name is looked up in that module (a child module, an item, a `use`, a glob). Imports and
//! re-exports are followed to where the item is defined, so `super::Candidate` re-exported by
//! the parent from a sibling leads to the sibling, while an item defined in the parent file stays
//! in the parent. A name no module defines (a macro-made item, an enum variant behind a glob) stops at the
//! last module found.
//!
//! It does not resolve paths into other crates, the prelude, generic parameters or local
//! variables: those are `None`. It knows no namespaces (a type and a function of the same name are
//! one name), which is fine for telling modules apart.

use crate::scan::{ModuleFacts, RawPath};
use crate::tree::{CrateTree, ModuleId};

/// Imports that point at imports are followed this many times before giving up (a `use` loop).
const MAX_DEPTH: usize = 32;

/// What a path leads to inside the crate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub module: ModuleId,
    /// The item in `module`; `None` when the path names the module itself.
    pub item: Option<String>,
}

/// Outcome of following a path.
enum Step {
    /// The item or module exists.
    Found(Target),
    /// The path leads into this crate, but its last known module has no such name.
    Unknown(Target),
    /// The path does not lead into this crate.
    External,
}

/// Resolves paths against a crate's modules and what each one defines and imports.
#[derive(Debug)]
pub struct Resolver<'a> {
    tree: &'a CrateTree,
    facts: &'a [ModuleFacts],
}

impl<'a> Resolver<'a> {
    /// `facts[id]` are the facts of module `id` of `tree`.
    pub fn new(tree: &'a CrateTree, facts: &'a [ModuleFacts]) -> Self {
        Self { tree, facts }
    }

    /// Where `path`, written in module `from`, leads inside the crate.
    pub fn resolve(&self, from: ModuleId, path: &[String]) -> Option<Target> {
        match self.follow(from, path, 0) {
            Step::Found(target) | Step::Unknown(target) => Some(target),
            Step::External => None,
        }
    }

    fn follow(&self, from: ModuleId, path: &[String], depth: usize) -> Step {
        let Some((first, rest)) = path.split_first() else {
            return Step::External;
        };
        if depth > MAX_DEPTH {
            return Step::External;
        }
        match first.as_str() {
            "crate" => self.descend(CrateTree::ROOT, rest, depth),
            "self" => self.descend(from, rest, depth),
            "super" => self.descend(from, path, depth),
            name => self
                .member(from, name, rest, depth)
                .unwrap_or(Step::External),
        }
    }

    /// Follows `rest` from module `module`.
    fn descend(&self, module: ModuleId, rest: &[String], depth: usize) -> Step {
        let Some((name, rest)) = rest.split_first() else {
            return Step::Found(Target { module, item: None });
        };
        if name == "super" {
            return match self.tree.modules[module].parent {
                Some(parent) => self.descend(parent, rest, depth),
                None => Step::External,
            };
        }
        self.member(module, name, rest, depth).unwrap_or_else(|| {
            Step::Unknown(Target {
                module,
                item: Some(name.clone()),
            })
        })
    }

    /// What `name` followed by `rest` leads to in `module`; `None` when `module` has no `name`.
    fn member(&self, module: ModuleId, name: &str, rest: &[String], depth: usize) -> Option<Step> {
        if let Some(child) = self.tree.child(module, name) {
            return Some(self.descend(child, rest, depth));
        }
        let facts = &self.facts[module];
        if facts.defined.contains(name) {
            return Some(Step::Found(Target {
                module,
                item: Some(name.to_owned()),
            }));
        }
        if let Some(import) = facts.imports.get(name) {
            return Some(self.follow(module, &joined(import, rest), depth + 1));
        }
        facts.globs.iter().find_map(|glob| {
            let mut path = glob.clone();
            path.push(name.to_owned());
            match self.follow(module, &joined(&path, rest), depth + 1) {
                found @ Step::Found(_) => Some(found),
                Step::Unknown(_) | Step::External => None,
            }
        })
    }
}

fn joined(head: &RawPath, tail: &[String]) -> RawPath {
    let mut path = head.clone();
    path.extend_from_slice(tail);
    path
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Resolver, Target};
    use crate::files::InMemory;
    use crate::scan::{ModuleFacts, scan};
    use crate::tree::CrateTree;

    /// Resolves `path` written in the module displayed as `from`, shown as `module[::item]`.
    fn resolve(files: &[(&str, &str)], from: &str, path: &str) -> Option<String> {
        let tree = CrateTree::load(
            &InMemory::new(files.iter().copied()),
            Path::new("src/lib.rs"),
        )
        .expect("tree loads");
        let facts: Vec<ModuleFacts> = tree.modules.iter().map(|m| scan(&m.items)).collect();
        let resolver = Resolver::new(&tree, &facts);
        let from = (0..tree.modules.len())
            .find(|id| tree.display_path(*id) == from)
            .expect("module exists");
        let path: Vec<String> = path.split("::").map(str::to_owned).collect();
        resolver
            .resolve(from, &path)
            .map(|Target { module, item }| {
                let module = tree.display_path(module);
                match item {
                    Some(item) => format!("{module}::{item}"),
                    None => module,
                }
            })
    }

    const RIB: &[(&str, &str)] = &[
        ("src/lib.rs", "pub mod rib; pub use rib::Rib; use std::fmt;"),
        (
            "src/rib/mod.rs",
            "mod decision; mod policy; pub struct Rib; pub use policy::Candidate;",
        ),
        ("src/rib/decision.rs", "pub fn compare() {}"),
        (
            "src/rib/policy.rs",
            "pub struct Candidate; use super::decision::*;",
        ),
    ];

    #[test]
    fn super_self_and_crate_resolve_from_the_writing_module() {
        assert_eq!(
            resolve(RIB, "rib::decision", "super::policy::Candidate").as_deref(),
            Some("rib::policy::Candidate")
        );
        assert_eq!(
            resolve(RIB, "rib", "self::decision::compare").as_deref(),
            Some("rib::decision::compare")
        );
        assert_eq!(
            resolve(RIB, "rib::policy", "super::super::rib::Rib").as_deref(),
            Some("rib::Rib")
        );
        assert_eq!(
            resolve(RIB, "crate", "rib::Rib").as_deref(),
            Some("rib::Rib")
        );
    }

    #[test]
    fn re_exports_lead_to_the_defining_module() {
        assert_eq!(
            resolve(RIB, "rib::decision", "super::Candidate").as_deref(),
            Some("rib::policy::Candidate")
        );
        assert_eq!(
            resolve(RIB, "rib::decision", "crate::Rib").as_deref(),
            Some("rib::Rib")
        );
    }

    #[test]
    fn globs_are_searched_for_names_they_define() {
        assert_eq!(
            resolve(RIB, "rib::policy", "compare::helper").as_deref(),
            Some("rib::decision::compare")
        );
    }

    #[test]
    fn other_crates_and_unknown_leading_names_are_outside() {
        assert_eq!(resolve(RIB, "crate", "fmt::Display"), None);
        assert_eq!(resolve(RIB, "crate", "serde::Serialize"), None);
        assert_eq!(resolve(RIB, "rib", "Self::new"), None);
    }
}
