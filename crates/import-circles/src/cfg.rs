//! [`is_test_only`]: whether attributes make an item exist only in test builds (`#[cfg(test)]`,
//! `#[cfg(all(test, ...))]`, `#[test]`, `#[tokio::test]`), so its references do not count.
//!
//! It evaluates `cfg` predicates with `test` false and every other flag or feature unknown: an
//! item is test-only when its predicate is false whatever the unknowns are. It does not know which
//! features are enabled, and it ignores `cfg_attr`.

use syn::punctuated::Punctuated;
use syn::{Attribute, Item, Meta, Token};

/// The outer attributes of `item` (none for tokens syn keeps verbatim).
pub fn item_attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// True when the item carrying `attrs` is compiled only for tests.
pub fn is_test_only(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        if path.segments.last().is_some_and(|s| s.ident == "test") && path.segments.len() <= 2 {
            return matches!(attr.meta, Meta::Path(_));
        }
        if !path.is_ident("cfg") {
            return false;
        }
        match attr.parse_args::<Meta>() {
            Ok(predicate) => evaluate(&predicate) == Some(false),
            Err(_) => false,
        }
    })
}

/// The value of a cfg predicate when not testing: `Some` when known, `None` when it depends on
/// flags or features this checker does not know.
fn evaluate(predicate: &Meta) -> Option<bool> {
    match predicate {
        Meta::Path(path) if path.is_ident("test") => Some(false),
        Meta::Path(_) | Meta::NameValue(_) => None,
        Meta::List(list) => {
            let Ok(args) = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
            else {
                return None;
            };
            let values: Vec<Option<bool>> = args.iter().map(evaluate).collect();
            if list.path.is_ident("not") {
                match values.as_slice() {
                    [value] => value.map(|v| !v),
                    _ => None,
                }
            } else if list.path.is_ident("all") {
                if values.contains(&Some(false)) {
                    Some(false)
                } else if values.iter().all(|v| *v == Some(true)) {
                    Some(true)
                } else {
                    None
                }
            } else if list.path.is_ident("any") {
                if values.contains(&Some(true)) {
                    Some(true)
                } else if values.iter().all(|v| *v == Some(false)) {
                    Some(false)
                } else {
                    None
                }
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_test_only;

    fn attrs_of(source: &str) -> Vec<syn::Attribute> {
        let item: syn::Item = syn::parse_str(source).expect("item parses");
        match item {
            syn::Item::Fn(f) => f.attrs,
            syn::Item::Mod(m) => m.attrs,
            _ => panic!("a fn or a mod is expected"),
        }
    }

    #[test]
    fn cfg_test_and_test_attributes_are_test_only() {
        assert!(is_test_only(&attrs_of("#[cfg(test)] mod tests {}")));
        assert!(is_test_only(&attrs_of("#[cfg(all(test, unix))] mod t {}")));
        assert!(is_test_only(&attrs_of("#[test] fn t() {}")));
        assert!(is_test_only(&attrs_of("#[tokio::test] async fn t() {}")));
    }

    #[test]
    fn other_cfgs_are_not_test_only() {
        assert!(!is_test_only(&attrs_of("#[cfg(not(test))] mod m {}")));
        assert!(!is_test_only(&attrs_of(
            "#[cfg(any(test, feature = \"x\"))] mod m {}"
        )));
        assert!(!is_test_only(&attrs_of("#[cfg(unix)] mod m {}")));
        assert!(!is_test_only(&attrs_of("#[inline] fn f() {}")));
    }
}
