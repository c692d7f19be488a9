//! [`check_crate`](crate::check_crate) on small in-memory crate trees: what is an edge, what is
//! not, and how circles read.

use std::path::Path;

use crate::files::InMemory;
use crate::report::circle_line;

/// The report lines of the crate `files` (root `src/lib.rs`), labelled `c`.
fn circles(files: &[(&str, &str)]) -> Vec<String> {
    let files = InMemory::new(files.iter().copied());
    crate::check_crate(&files, Path::new("src/lib.rs"))
        .expect("crate is checked")
        .iter()
        .map(|circle| circle_line("c", circle))
        .collect()
}

#[test]
fn a_pair_through_braced_use_trees_is_a_circle() {
    let found = circles(&[
        ("src/lib.rs", "pub mod rib;"),
        ("src/rib/mod.rs", "mod decision; mod policy;"),
        (
            "src/rib/decision.rs",
            "use super::{policy::{Candidate}, Rib}; pub fn compare() {} pub fn multipath_equal() {}",
        ),
        (
            "src/rib/policy.rs",
            "use crate::rib::decision::{compare, multipath_equal as eq}; pub struct Candidate;",
        ),
    ]);
    assert_eq!(
        found,
        [
            "c: circle rib::decision <-> rib::policy: rib/decision.rs uses rib::policy::Candidate; \
          rib/policy.rs uses rib::decision::{compare, multipath_equal}"
        ]
    );
}

#[test]
fn self_paths_and_code_paths_make_edges() {
    let found = circles(&[
        ("src/lib.rs", "mod a; mod b;"),
        (
            "src/a.rs",
            "mod inner { pub fn f() { crate::b::g(); } } use self::inner::f;",
        ),
        ("src/b.rs", "pub fn g() { let _x: super::a::T = todo!(); }"),
    ]);
    assert_eq!(
        found,
        ["c: circle a <-> b: a.rs uses b::g; b.rs uses a::T"],
        "the inline module a::inner belongs to a's subtree"
    );
}

#[test]
fn a_three_module_circle_is_found_and_read_as_a_loop() {
    let found = circles(&[
        ("src/lib.rs", "mod lab; mod names; mod rootless;"),
        (
            "src/lab.rs",
            "use crate::names::sweep; pub struct LabConfig;",
        ),
        (
            "src/names.rs",
            "pub fn sweep() { crate::rootless::Mode::Root; }",
        ),
        (
            "src/rootless.rs",
            "pub enum Mode { Root } fn f(_: &super::lab::LabConfig) {}",
        ),
    ]);
    assert_eq!(
        found,
        [
            "c: circle lab -> names -> rootless -> lab: lab.rs uses names::sweep; \
          names.rs uses rootless::Mode; rootless.rs uses lab::LabConfig"
        ]
    );
}

#[test]
fn comments_and_strings_are_not_references() {
    let found = circles(&[
        ("src/lib.rs", "mod a; mod b;"),
        ("src/a.rs", "use crate::b::B; pub struct A;"),
        (
            "src/b.rs",
            r#"
            // uses crate::a::A in a comment
            /// and in docs: [`crate::a::A`]
            pub struct B;
            pub const NAME: &str = "crate::a::A";
            /* crate::a::A */
            "#,
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn test_only_code_is_ignored() {
    let found = circles(&[
        ("src/lib.rs", "mod a; mod b;"),
        ("src/a.rs", "use crate::b::B; pub struct A;"),
        (
            "src/b.rs",
            "pub struct B;
             #[cfg(test)] use crate::a::A;
             #[cfg(test)] mod tests { use crate::a::A; }
             #[cfg(test)] mod file_tests;
             #[test] fn t() { crate::a::A; }",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_parent_using_its_children_is_not_an_edge() {
    let found = circles(&[
        (
            "src/lib.rs",
            "mod wire; pub use wire::Header; fn f() { wire::decode(); }",
        ),
        (
            "src/wire.rs",
            "pub struct Header; pub fn decode() {} fn g() { crate::f(); }",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn super_items_defined_in_the_parent_file_are_no_edge() {
    let found = circles(&[
        ("src/lib.rs", "pub mod rib;"),
        (
            "src/rib/mod.rs",
            "mod decision; mod policy; pub struct Rib; pub fn shared() {} use decision::compare;",
        ),
        (
            "src/rib/decision.rs",
            "use super::{Rib, shared}; pub fn compare() {}",
        ),
        (
            "src/rib/policy.rs",
            "use super::Rib; fn f() { super::shared(); super::compare(); }",
        ),
    ]);
    // policy -> decision (through the parent's `use`), but nothing goes back.
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn an_item_re_exported_by_the_parent_from_a_sibling_is_an_edge() {
    let found = circles(&[
        ("src/lib.rs", "mod a; mod b; pub use b::B;"),
        ("src/a.rs", "use super::B; pub struct A;"),
        ("src/b.rs", "pub struct B; fn f(_: crate::a::A) {}"),
    ]);
    assert_eq!(found, ["c: circle a <-> b: a.rs uses b::B; b.rs uses a::A"]);
}

#[test]
fn circles_are_judged_between_subtrees() {
    // model::topology uses kind::common, kind::host uses model: a circle between model and kind.
    let found = circles(&[
        ("src/lib.rs", "mod kind; mod model;"),
        ("src/kind/mod.rs", "mod common; mod host;"),
        ("src/kind/common.rs", "pub struct Cx;"),
        ("src/kind/host.rs", "use crate::model::Topology;"),
        (
            "src/model/mod.rs",
            "mod topology; pub use topology::Topology;",
        ),
        (
            "src/model/topology.rs",
            "pub struct Topology(crate::kind::common::Cx);",
        ),
    ]);
    assert_eq!(
        found,
        [
            "c: circle kind <-> model: kind/host.rs uses model::topology::Topology; \
          model/topology.rs uses kind::common::Cx"
        ]
    );
}

#[test]
fn a_unreadable_module_is_an_error_naming_the_file() {
    let files = InMemory::new([("src/lib.rs", "mod a;"), ("src/a.rs", "fn (")]);
    let error = crate::check_crate(&files, Path::new("src/lib.rs")).unwrap_err();
    assert!(error.to_string().contains("src/a.rs:1:"), "{error}");
}
