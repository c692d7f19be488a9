//! The parse context handed to the engine's sections and to every node kind: typed
//! deserialization of one part of the TOML tree with located errors, and splitting a table
//! into the keys a caller owns and the rest.
//!
//! Errors keep the exact position because the tree is never rebuilt: sub-trees keep the spans
//! they had in the file.
//!
//! It sits at the bottom of the engine, with [`crate::source`] and [`crate::diagnostic`] that it
//! wraps, because kinds (`crate::kind`), the parser (`crate::parse`, which re-exports it) and
//! validation (`crate::validate`) all take it, and the parser calls the other two.
//!
//! What it does not do: decide which sections exist (see [`crate::parse::parse_scenario`]).

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diagnostic::{Diagnostic, Locator};
use crate::source::FieldPath;

/// A value of the TOML tree with its spans.
pub type Node<'a> = Spanned<DeValue<'a>>;

/// See the module documentation.
#[derive(Debug)]
pub struct ParseCx<'a> {
    /// Locates diagnostics in the source.
    pub loc: Locator<'a>,
}

impl<'a> ParseCx<'a> {
    /// Deserializes `value` (found at `path`) into `T`; `T` should use
    /// `#[serde(deny_unknown_fields)]` so typos are reported at the offending key.
    pub fn de<T: DeserializeOwned>(
        &self,
        value: &Node<'a>,
        path: &FieldPath,
    ) -> Result<T, Diagnostic> {
        let de = ValueDeserializer::from(value.clone());
        T::deserialize(de).map_err(|e| {
            let mut d = self.loc.from_toml(&e, path);
            // Errors without a precise span land on the value; make sure the path at least
            // names the section being read.
            if d.path.0.len() < path.0.len() {
                d.path = path.clone();
            }
            d
        })
    }

    /// The elements of an array-of-tables section (`[[host]]`), each with its path.
    pub fn tables(
        &self,
        value: &'a Node<'a>,
        path: &FieldPath,
    ) -> Result<Vec<(FieldPath, &'a Node<'a>)>, Diagnostic> {
        match value.get_ref() {
            DeValue::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| (path.index(i), v))
                .collect()),
            other => Err(self.loc.at_path(
                path,
                format!(
                    "`{path}` must be an array of tables (write each one as [[{path}]]), found a {}",
                    other.type_str()
                ),
            )),
        }
    }

    /// Splits a table into (the entries whose key is in `keys`, the others), both keeping
    /// their spans. A value that is not a table comes back whole as the second part.
    pub fn split(&self, value: &Node<'a>, keys: &[&str]) -> (Node<'a>, Node<'a>) {
        let span = value.span();
        let DeValue::Table(table) = value.get_ref() else {
            return (
                Spanned::new(span.clone(), DeValue::Table(DeTable::new())),
                value.clone(),
            );
        };
        let (mut mine, mut rest) = (DeTable::new(), DeTable::new());
        for (k, v) in table.iter() {
            if keys.contains(&k.get_ref().as_ref()) {
                mine.insert(k.clone(), v.clone());
            } else {
                rest.insert(k.clone(), v.clone());
            }
        }
        (
            Spanned::new(span.clone(), DeValue::Table(mine)),
            Spanned::new(span, DeValue::Table(rest)),
        )
    }

    /// A diagnostic at `path`.
    pub fn error(&self, path: &FieldPath, message: impl Into<String>) -> Diagnostic {
        self.loc.at_path(path, message)
    }
}
