//! [`CrateTree`]: the modules of one crate, found by following `mod` declarations from the crate
//! root file, each with its path (`crate::a::b`), its file and its own items.
//!
//! `mod b;` in the root or in a `mod.rs` file is `b.rs` or `b/mod.rs` beside it; in any other file
//! `a.rs` it is `a/b.rs` or `a/b/mod.rs`; `#[path = "..."]` is honoured. An inline
//! `mod x { ... }` is a module of its own that lives in its parent's file. Test-only items
//! (`#[cfg(test)] mod tests` and the like, see [`crate::cfg`]) are dropped here, so nothing
//! downstream sees them.
//!
//! It does not look at what the items refer to ([`crate::scan`] does), and it does not expand
//! macros, so a module declared by a macro is not found.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use syn::ext::IdentExt;
use syn::{Item, ItemMod, Lit, Meta};

use crate::cfg::{is_test_only, item_attrs};
use crate::error::Error;
use crate::files::Files;

/// Index of a module in [`CrateTree::modules`].
pub type ModuleId = usize;

/// One module of the crate.
pub struct Module {
    /// Segments after `crate` (empty for the crate root).
    pub path: Vec<String>,
    /// The file its text is in (for an inline module, the file of the enclosing module).
    pub file: PathBuf,
    pub parent: Option<ModuleId>,
    pub children: BTreeMap<String, ModuleId>,
    /// Its own items, test-only ones removed (inline child modules keep their item, whose body is
    /// also the child's `items`).
    pub items: Vec<Item>,
}

impl std::fmt::Debug for Module {
    /// Items are left out: syn's `Debug` is an optional feature this crate does not need.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("path", &self.path)
            .field("file", &self.file)
            .field("parent", &self.parent)
            .field("children", &self.children)
            .finish_non_exhaustive()
    }
}

/// Every module of one crate; the root is [`CrateTree::ROOT`].
#[derive(Debug)]
pub struct CrateTree {
    /// The directory of the crate root file; files are shown relative to it.
    pub root_dir: PathBuf,
    pub modules: Vec<Module>,
}

/// Where a module's text comes from, and where its `mod x;` children's files are looked for.
struct Origin<'a> {
    file: &'a Path,
    /// `b.rs`/`b/mod.rs` of a child `b` are looked for in this directory.
    children_dir: PathBuf,
    /// `#[path]` of a child is relative to this directory.
    path_attr_dir: PathBuf,
}

impl CrateTree {
    pub const ROOT: ModuleId = 0;

    /// Reads the crate whose root file (`src/lib.rs`, `src/main.rs`, ...) is `root_file`.
    pub fn load(files: &dyn Files, root_file: &Path) -> Result<Self, Error> {
        let root_dir = root_file.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut tree = CrateTree {
            root_dir: root_dir.clone(),
            modules: Vec::new(),
        };
        let items = parse(files, root_file)?;
        let origin = Origin {
            file: root_file,
            children_dir: root_dir.clone(),
            path_attr_dir: root_dir,
        };
        tree.add(files, Vec::new(), None, items, &origin)?;
        Ok(tree)
    }

    /// The child of `parent` named `name`.
    pub fn child(&self, parent: ModuleId, name: &str) -> Option<ModuleId> {
        self.modules[parent].children.get(name).copied()
    }

    /// `a` is `b` or one of its ancestors.
    pub fn contains(&self, a: ModuleId, b: ModuleId) -> bool {
        self.lineage(b).contains(&a)
    }

    /// The modules from the root down to `id`, both included.
    pub fn lineage(&self, id: ModuleId) -> Vec<ModuleId> {
        let mut chain = vec![id];
        let mut current = id;
        while let Some(parent) = self.modules[current].parent {
            chain.push(parent);
            current = parent;
        }
        chain.reverse();
        chain
    }

    /// `a::b`, or `crate` for the root.
    pub fn display_path(&self, id: ModuleId) -> String {
        let path = &self.modules[id].path;
        if path.is_empty() {
            "crate".to_owned()
        } else {
            path.join("::")
        }
    }

    /// The module's file relative to the crate root's directory, with `/` separators.
    pub fn display_file(&self, id: ModuleId) -> String {
        let file = &self.modules[id].file;
        let relative = file.strip_prefix(&self.root_dir).unwrap_or(file);
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    fn add(
        &mut self,
        files: &dyn Files,
        path: Vec<String>,
        parent: Option<ModuleId>,
        mut items: Vec<Item>,
        origin: &Origin<'_>,
    ) -> Result<ModuleId, Error> {
        items.retain(|item| !is_test_only(item_attrs(item)));
        let id = self.modules.len();
        self.modules.push(Module {
            path: path.clone(),
            file: origin.file.to_path_buf(),
            parent,
            children: BTreeMap::new(),
            items: Vec::new(),
        });
        for item in &items {
            let Item::Mod(declaration) = item else {
                continue;
            };
            let name = declaration.ident.unraw().to_string();
            let mut child_path = path.clone();
            child_path.push(name.clone());
            let child = match &declaration.content {
                Some((_, inner)) => {
                    let children_dir = origin.children_dir.join(&name);
                    let inline = Origin {
                        file: origin.file,
                        children_dir: children_dir.clone(),
                        path_attr_dir: children_dir,
                    };
                    self.add(files, child_path, Some(id), inner.clone(), &inline)?
                }
                None => {
                    let file = locate(files, declaration, &name, origin)?;
                    let children_dir = match path_attr(declaration) {
                        Some(_) => file.parent().unwrap_or(Path::new("")).to_path_buf(),
                        None => origin.children_dir.join(&name),
                    };
                    let items = parse(files, &file)?;
                    let own = Origin {
                        file: &file,
                        children_dir: children_dir.clone(),
                        path_attr_dir: file.parent().unwrap_or(Path::new("")).to_path_buf(),
                    };
                    self.add(files, child_path, Some(id), items, &own)?
                }
            };
            self.modules[id].children.insert(name, child);
        }
        self.modules[id].items = items;
        Ok(id)
    }
}

/// The file of `mod name;` declared in `origin`.
fn locate(
    files: &dyn Files,
    declaration: &ItemMod,
    name: &str,
    origin: &Origin<'_>,
) -> Result<PathBuf, Error> {
    if let Some(path) = path_attr(declaration) {
        return Ok(origin.path_attr_dir.join(path));
    }
    let candidates = [
        origin.children_dir.join(format!("{name}.rs")),
        origin.children_dir.join(name).join("mod.rs"),
    ];
    let exists = [
        exists(files, &candidates[0])?,
        exists(files, &candidates[1])?,
    ];
    let error_parts = (origin.file.to_path_buf(), name.to_owned());
    match exists {
        [true, false] => Ok(candidates[0].clone()),
        [false, true] => Ok(candidates[1].clone()),
        [false, false] => Err(Error::ModuleFileMissing {
            declared_in: error_parts.0,
            name: error_parts.1,
            candidates,
        }),
        [true, true] => Err(Error::ModuleFileAmbiguous {
            declared_in: error_parts.0,
            name: error_parts.1,
            candidates,
        }),
    }
}

/// The value of `#[path = "..."]` on a module declaration.
fn path_attr(declaration: &ItemMod) -> Option<String> {
    declaration.attrs.iter().find_map(|attr| match &attr.meta {
        Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

fn exists(files: &dyn Files, path: &Path) -> Result<bool, Error> {
    match files.read(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse(files: &dyn Files, path: &Path) -> Result<Vec<Item>, Error> {
    let text = files.read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = syn::parse_file(&text).map_err(|e| {
        let start = e.span().start();
        Error::Parse {
            path: path.to_path_buf(),
            line: start.line,
            column: start.column + 1,
            message: e.to_string(),
        }
    })?;
    Ok(file.items)
}

#[cfg(test)]
mod tests {
    use super::CrateTree;
    use crate::error::Error;
    use crate::files::InMemory;
    use std::path::Path;

    fn paths(tree: &CrateTree) -> Vec<(String, String)> {
        (0..tree.modules.len())
            .map(|id| (tree.display_path(id), tree.display_file(id)))
            .collect()
    }

    #[test]
    fn files_map_to_module_paths() {
        let files = InMemory::new([
            ("src/lib.rs", "mod a; pub mod rib; mod inline { mod deep; }"),
            ("src/a.rs", "mod b;"),
            ("src/a/b.rs", ""),
            ("src/rib/mod.rs", "mod policy;"),
            ("src/rib/policy.rs", ""),
            ("src/inline/deep.rs", ""),
        ]);
        let tree = CrateTree::load(&files, Path::new("src/lib.rs")).unwrap();
        let expected = [
            ("crate", "lib.rs"),
            ("a", "a.rs"),
            ("a::b", "a/b.rs"),
            ("rib", "rib/mod.rs"),
            ("rib::policy", "rib/policy.rs"),
            ("inline", "lib.rs"),
            ("inline::deep", "inline/deep.rs"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(p, f)| (p.to_string(), f.to_string()))
            .collect();
        assert_eq!(paths(&tree), expected);
    }

    #[test]
    fn test_modules_are_dropped_and_their_files_not_read() {
        let files = InMemory::new([(
            "src/lib.rs",
            "mod a {} #[cfg(test)] mod tests; #[cfg(test)] mod inline_tests { }",
        )]);
        let tree = CrateTree::load(&files, Path::new("src/lib.rs")).unwrap();
        assert_eq!(tree.modules.len(), 2);
    }

    #[test]
    fn a_missing_module_file_is_a_clear_error() {
        let files = InMemory::new([("src/lib.rs", "mod gone;")]);
        let error = CrateTree::load(&files, Path::new("src/lib.rs")).unwrap_err();
        assert!(matches!(error, Error::ModuleFileMissing { .. }));
        assert_eq!(
            error.to_string(),
            "src/lib.rs: `mod gone;` has no file: neither src/gone.rs nor src/gone/mod.rs exists"
        );
    }

    #[test]
    fn an_unparsable_file_names_its_line() {
        let files = InMemory::new([("src/lib.rs", "mod a;"), ("src/a.rs", "\nfn f( {")]);
        let error = CrateTree::load(&files, Path::new("src/lib.rs")).unwrap_err();
        assert!(
            error.to_string().starts_with("cannot parse src/a.rs:2:"),
            "{error}"
        );
    }
}
