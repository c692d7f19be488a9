//! [`scan`]: what one module's own items define, import and refer to, as paths written in the
//! source (`super::policy::Candidate`), not yet resolved.
//!
//! References are the leaves of `use` trees (braces and nested groups flattened) and every path of
//! two or more segments in code: types, expressions, patterns, trait bounds, and `a::b` token runs
//! inside macro invocations and `macro_rules!` bodies (`$crate::x` counts as `crate::x`). Comments,
//! doc comments and string literals are not code, so they never count; nor do visibilities
//! (`pub(in crate::a)`), attributes, or anything test-only (see [`crate::cfg`]).
//!
//! It does not resolve paths ([`crate::resolve`] does), and it does not descend into inline child
//! modules: each module is scanned on its own. `use` declarations inside function bodies are
//! treated as if they were at module level.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::visit::{self, Visit};
use syn::{ForeignItem, ImplItem, Item, ItemUse, TraitItem, UseTree};

use crate::cfg::{is_test_only, item_attrs};

/// A path as written: segments such as `["super", "policy", "Candidate"]`.
pub type RawPath = Vec<String>;

/// What a module's own items define, import and refer to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ModuleFacts {
    /// Names of items defined in the module itself (types, functions, constants, modules, ...).
    pub defined: BTreeSet<String>,
    /// Names brought in by `use`, with the path they stand for (relative to the module).
    pub imports: BTreeMap<String, RawPath>,
    /// Modules whose names all come in by `use path::*`.
    pub globs: Vec<RawPath>,
    /// Every path the module refers to, in source order.
    pub references: Vec<RawPath>,
}

/// The facts of a module whose own items (test-only ones already removed) are `items`.
pub fn scan(items: &[Item]) -> ModuleFacts {
    let mut facts = ModuleFacts::default();
    for item in items.iter().filter(|i| !is_test_only(item_attrs(i))) {
        defined_names(item, &mut facts.defined);
        if let Item::Use(declaration) = item {
            add_imports(declaration, &mut facts, true);
        }
    }
    let mut collector = Collector { facts: &mut facts };
    for item in items {
        collector.visit_item(item);
    }
    facts
}

/// One leaf of a `use` tree.
#[derive(Debug, PartialEq, Eq)]
enum UseLeaf {
    /// `use a::b;`, `use a::b as c;`, `use a::{self}`: the name it binds and the path.
    Name(String, RawPath),
    /// `use a::b as _;`: refers to the path but binds no name.
    Anonymous(RawPath),
    /// `use a::*;`: the module globbed.
    Glob(RawPath),
}

fn use_leaves(declaration: &ItemUse) -> Vec<UseLeaf> {
    let mut leaves = Vec::new();
    if declaration.leading_colon.is_none() {
        flatten(&declaration.tree, &mut Vec::new(), &mut leaves);
    }
    leaves
}

fn flatten(tree: &UseTree, prefix: &mut RawPath, out: &mut Vec<UseLeaf>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.unraw().to_string());
            flatten(&p.tree, prefix, out);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let name = n.ident.unraw().to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.push(UseLeaf::Name(last.clone(), prefix.clone()));
                }
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                out.push(UseLeaf::Name(name, path));
            }
        }
        UseTree::Rename(r) => {
            let mut path = prefix.clone();
            let name = r.ident.unraw().to_string();
            if name != "self" {
                path.push(name);
            }
            let binding = r.rename.unraw().to_string();
            if binding == "_" {
                out.push(UseLeaf::Anonymous(path));
            } else {
                out.push(UseLeaf::Name(binding, path));
            }
        }
        UseTree::Glob(_) => out.push(UseLeaf::Glob(prefix.clone())),
        UseTree::Group(g) => {
            for tree in &g.items {
                flatten(tree, prefix, out);
            }
        }
    }
}

/// Records what `declaration` brings into scope; a module-level `use` overrides, a nested one
/// only fills gaps.
fn add_imports(declaration: &ItemUse, facts: &mut ModuleFacts, module_level: bool) {
    for leaf in use_leaves(declaration) {
        match leaf {
            UseLeaf::Name(name, path) => {
                if module_level {
                    facts.imports.insert(name, path);
                } else {
                    facts.imports.entry(name).or_insert(path);
                }
            }
            UseLeaf::Anonymous(_) => {}
            UseLeaf::Glob(path) => {
                if !facts.globs.contains(&path) {
                    facts.globs.push(path);
                }
            }
        }
    }
}

fn defined_names(item: &Item, out: &mut BTreeSet<String>) {
    let ident = match item {
        Item::Const(i) => Some(&i.ident),
        Item::Enum(i) => Some(&i.ident),
        Item::ExternCrate(i) => Some(i.rename.as_ref().map_or(&i.ident, |(_, r)| r)),
        Item::Fn(i) => Some(&i.sig.ident),
        Item::Macro(i) => i.ident.as_ref(),
        Item::Mod(i) => Some(&i.ident),
        Item::Static(i) => Some(&i.ident),
        Item::Struct(i) => Some(&i.ident),
        Item::Trait(i) => Some(&i.ident),
        Item::TraitAlias(i) => Some(&i.ident),
        Item::Type(i) => Some(&i.ident),
        Item::Union(i) => Some(&i.ident),
        Item::ForeignMod(block) => {
            for foreign in &block.items {
                let ident = match foreign {
                    ForeignItem::Fn(f) => Some(&f.sig.ident),
                    ForeignItem::Static(s) => Some(&s.ident),
                    ForeignItem::Type(t) => Some(&t.ident),
                    _ => None,
                };
                out.extend(ident.map(|i| i.unraw().to_string()));
            }
            None
        }
        _ => None,
    };
    out.extend(ident.map(|i| i.unraw().to_string()));
}

/// Walks a module's items and records every reference.
struct Collector<'f> {
    facts: &'f mut ModuleFacts,
}

impl Collector<'_> {
    fn record(&mut self, path: RawPath) {
        self.facts.references.push(path);
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast Item) {
        if !is_test_only(item_attrs(item)) {
            visit::visit_item(self, item);
        }
    }

    /// An inline child module is a module of its own, scanned separately.
    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {}

    fn visit_item_use(&mut self, declaration: &'ast ItemUse) {
        add_imports(declaration, self.facts, false);
        for leaf in use_leaves(declaration) {
            match leaf {
                UseLeaf::Name(_, path) | UseLeaf::Anonymous(path) | UseLeaf::Glob(path) => {
                    self.record(path)
                }
            }
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() >= 2 {
            let segments = path
                .segments
                .iter()
                .map(|s| s.ident.unraw().to_string())
                .collect();
            self.record(segments);
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        let mut found = Vec::new();
        paths_in_tokens(mac.tokens.clone(), &mut found);
        for path in found {
            self.record(path);
        }
    }

    /// `pub(in crate::a)` names where an item is visible, it does not use anything.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    /// Attributes (`cfg`, `derive`, `doc`, `serde(...)`) are not references.
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}

    fn visit_impl_item(&mut self, item: &'ast ImplItem) {
        let attrs = match item {
            ImplItem::Const(i) => &i.attrs,
            ImplItem::Fn(i) => &i.attrs,
            ImplItem::Type(i) => &i.attrs,
            ImplItem::Macro(i) => &i.attrs,
            _ => return visit::visit_impl_item(self, item),
        };
        if !is_test_only(attrs) {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_trait_item(&mut self, item: &'ast TraitItem) {
        let attrs = match item {
            TraitItem::Const(i) => &i.attrs,
            TraitItem::Fn(i) => &i.attrs,
            TraitItem::Type(i) => &i.attrs,
            TraitItem::Macro(i) => &i.attrs,
            _ => return visit::visit_trait_item(self, item),
        };
        if !is_test_only(attrs) {
            visit::visit_trait_item(self, item);
        }
    }

    fn visit_field(&mut self, field: &'ast syn::Field) {
        if !is_test_only(&field.attrs) {
            visit::visit_field(self, field);
        }
    }

    fn visit_variant(&mut self, variant: &'ast syn::Variant) {
        if !is_test_only(&variant.attrs) {
            visit::visit_variant(self, variant);
        }
    }

    fn visit_arm(&mut self, arm: &'ast syn::Arm) {
        if !is_test_only(&arm.attrs) {
            visit::visit_arm(self, arm);
        }
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        if !is_test_only(&local.attrs) {
            visit::visit_local(self, local);
        }
    }

    fn visit_stmt_macro(&mut self, stmt: &'ast syn::StmtMacro) {
        if !is_test_only(&stmt.attrs) {
            visit::visit_stmt_macro(self, stmt);
        }
    }
}

/// Runs of `ident::ident(::ident)*` in macro tokens (not preceded by `::`, so `::std::x` is not
/// one), at any depth of delimiters.
fn paths_in_tokens(tokens: TokenStream, out: &mut Vec<RawPath>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Group(group) => {
                paths_in_tokens(group.stream(), out);
                i += 1;
            }
            TokenTree::Ident(ident) if !(i >= 2 && is_path_sep(&trees, i - 2)) => {
                let mut segments = vec![ident.unraw().to_string()];
                let mut next = i + 1;
                while is_path_sep(&trees, next) {
                    let Some(TokenTree::Ident(ident)) = trees.get(next + 2) else {
                        break;
                    };
                    segments.push(ident.unraw().to_string());
                    next += 3;
                }
                if segments.len() >= 2 {
                    out.push(segments);
                }
                i = next;
            }
            _ => i += 1,
        }
    }
}

/// Whether `trees[at..at + 2]` is `::`.
fn is_path_sep(trees: &[TokenTree], at: usize) -> bool {
    matches!(
        (trees.get(at), trees.get(at + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

#[cfg(test)]
mod tests {
    use super::{ModuleFacts, scan};

    fn facts(source: &str) -> ModuleFacts {
        let file = syn::parse_file(source).expect("source parses");
        scan(&file.items)
    }

    fn references(source: &str) -> Vec<String> {
        facts(source)
            .references
            .iter()
            .map(|p| p.join("::"))
            .collect()
    }

    #[test]
    fn use_trees_with_nested_braces_are_flattened() {
        let facts = facts("use crate::{a::{B, c as C2, self}, d::*}; use std::fmt;");
        let refs: Vec<String> = facts.references.iter().map(|p| p.join("::")).collect();
        assert_eq!(
            refs,
            [
                "crate::a::B",
                "crate::a::c",
                "crate::a",
                "crate::d",
                "std::fmt"
            ]
        );
        assert_eq!(facts.imports["C2"], ["crate", "a", "c"]);
        assert_eq!(facts.imports["a"], ["crate", "a"]);
        assert_eq!(facts.globs, [vec!["crate".to_owned(), "d".to_owned()]]);
    }

    #[test]
    fn code_paths_count_but_comments_strings_and_single_names_do_not() {
        let refs = references(
            r#"
            // crate::commented::Out
            /// crate::doc::Comment
            fn f(x: super::Ty) -> String {
                let _ = "crate::in_string::No";
                /* self::block::Comment */
                crate::called::now(x);
                format!("{}", self::in_macro::VALUE)
            }
            "#,
        );
        assert_eq!(
            refs,
            ["super::Ty", "crate::called::now", "self::in_macro::VALUE"]
        );
    }

    #[test]
    fn test_only_items_and_visibilities_are_not_references() {
        let refs = references(
            r#"
            pub(in crate::outer) fn f() {}
            #[cfg(test)]
            fn helper() { crate::only::InTests; }
            struct S { #[cfg(test)] probe: crate::probe::Probe }
            impl S { #[test] fn t() { crate::x::Y; } }
            "#,
        );
        assert!(refs.is_empty(), "{refs:?}");
    }

    #[test]
    fn macro_rules_bodies_count_dollar_crate_paths() {
        let refs = references("macro_rules! m { () => { $crate::wire::Header::new() } }");
        assert_eq!(refs, ["crate::wire::Header::new"]);
    }

    #[test]
    fn defined_names_are_collected() {
        let facts =
            facts("pub struct A; fn b() {} mod c {} const D: u8 = 0; #[cfg(test)] fn e() {}");
        let defined: Vec<&str> = facts.defined.iter().map(String::as_str).collect();
        assert_eq!(defined, ["A", "D", "b", "c"]);
    }
}
