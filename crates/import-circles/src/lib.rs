//! import-circles: checks that no crate of the workspace has an import circle between sibling
//! modules.
//!
//! Modules are judged like packages in a package diagram: under each module, its child modules
//! `a` and `b` must not refer to each other, directly or around a loop (`a -> b -> c -> a`), where
//! a child stands for its whole subtree. A module referring to its own children, and a child
//! using items defined in its parent's own file (`super::Type`), are the normal shape and never
//! count. `cargo modules dependencies --acyclic` answers a different question (item-level cycles,
//! such as a type and its own `new`), hence this tool.
//!
//! The pipeline, one module each:
//! - [`tree`]: the modules of a crate, found by following `mod` declarations ([`files`] reads);
//! - [`scan`]: what each module defines, imports and refers to, as written (via [`syn`], so
//!   comments and strings are never code), test-only code left out ([`cfg`](mod@cfg));
//! - [`resolve`]: where each reference leads inside the crate, through imports and re-exports;
//! - [`circles`]: the sibling graph under each module and its strongly connected components
//!   ([`scc`]);
//! - [`report`]: the lines printed; [`workspace`]: the packages and crate roots to check.
//!
//! What it does not do: expand macros (a `mod` or `use` made by a macro is not seen), evaluate
//! `cfg` beyond `test`, or look at references between crates (Cargo already forbids those
//! circles). Integration tests, benches, examples and fuzz targets are not checked.

pub mod cfg;
pub mod circles;
pub mod error;
pub mod files;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod scc;
pub mod tree;
pub mod workspace;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use circles::Circle;
pub use error::Error;
pub use files::{Disk, Files, InMemory};

use resolve::Resolver;
use scan::ModuleFacts;
use tree::CrateTree;

/// The circles of the crate whose root file is `root_file`, read through `files`.
pub fn check_crate(files: &dyn Files, root_file: &Path) -> Result<Vec<Circle>, Error> {
    let tree = CrateTree::load(files, root_file)?;
    let facts: Vec<ModuleFacts> = tree.modules.iter().map(|m| scan::scan(&m.items)).collect();
    let resolver = &Resolver::new(&tree, &facts);
    let references: Vec<_> = facts
        .iter()
        .enumerate()
        .flat_map(|(from, facts)| {
            facts
                .references
                .iter()
                .filter_map(move |path| resolver.resolve(from, path).map(|target| (from, target)))
        })
        .collect();
    Ok(circles::find(&tree, &references))
}
