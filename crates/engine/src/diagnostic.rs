//! Errors about a scenario file: each names the file, line, column and field path and says
//! what was expected, rendered like a compiler message:
//!
//! ```text
//! error: unknown node "r9" (nodes: h1, h2, r1, r2)
//!   --> two-sites.toml:31:30  link[2].endpoints[1].node
//!    |
//! 31 | endpoints = [{ node = "r1" }, { node = "r9", address = "10.0.0.2/30" }]
//! ```
//!
//! What it does not do: find the errors (the parser and `validate` do); runtime failures of a
//! running lab are `engine` errors, not diagnostics.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;

use crate::source::{FieldPath, Position, Source, path_at, span_of};

/// One problem in a scenario, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name.
    pub file: String,
    /// Where.
    pub position: Position,
    /// The field.
    pub path: FieldPath,
    /// What is wrong and what was expected.
    pub message: String,
    /// The offending source line.
    pub excerpt: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Position { line, column } = self.position;
        writeln!(f, "error: {}", self.message)?;
        writeln!(f, "  --> {}:{line}:{column}  {}", self.file, self.path)?;
        let gutter = line.to_string().len();
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{line} | {}", self.excerpt)?;
        let caret_pad: String = self
            .excerpt
            .chars()
            .take(column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(f, "{:gutter$} | {caret_pad}^", "")
    }
}

/// All the problems found in a scenario (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(
            f,
            "{n} error{} in {}",
            if n == 1 { "" } else { "s" },
            self.0.first().map_or("", |d| d.file.as_str())
        )
    }
}

/// Builds located diagnostics for one parsed source.
#[derive(Debug)]
pub struct Locator<'a> {
    /// The source.
    pub source: &'a Source,
    /// Its parsed tree.
    pub root: &'a Spanned<DeValue<'a>>,
}

impl Locator<'_> {
    /// A diagnostic at the field `path` (semantic errors).
    pub fn at_path(&self, path: &FieldPath, message: impl Into<String>) -> Diagnostic {
        let span = span_of(self.root, path);
        self.make(span, path.clone(), message.into())
    }

    /// A diagnostic at a byte span (errors reported by the TOML deserializer).
    pub fn at_span(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let path = path_at(self.root, &span);
        self.make(span, path, message.into())
    }

    /// Turns a deserializer error into a diagnostic; `fallback` locates errors without a span.
    pub fn from_toml(&self, e: &toml::de::Error, fallback: &FieldPath) -> Diagnostic {
        let message = tidy_serde_message(e.message());
        match e.span() {
            Some(span) => self.at_span(span, message),
            None => self.at_path(fallback, message),
        }
    }

    fn make(&self, span: Range<usize>, path: FieldPath, message: String) -> Diagnostic {
        Diagnostic {
            file: self.source.name.clone(),
            position: self.source.position(span.start),
            path,
            message,
            excerpt: self.source.line_text(span.start),
        }
    }
}

/// Serde's messages are fine but long-winded about enum variants; keep them on one line.
fn tidy_serde_message(m: &str) -> String {
    m.trim().replace('\n', "; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_field_and_caret() {
        let source = Source::new(
            "lab.toml",
            "[[link]]\nendpoints = [{ node = \"a\" }, { node = \"zz\" }]\n",
        );
        let root = crate::source::parse_document(&source.text).unwrap();
        let loc = Locator {
            source: &source,
            root: &root,
        };
        let d = loc.at_path(
            &FieldPath::parse("link[0].endpoints[1].node"),
            "unknown node \"zz\"",
        );
        assert_eq!(
            d.position,
            Position {
                line: 2,
                column: 39
            }
        );
        let text = d.to_string();
        assert!(
            text.contains("--> lab.toml:2:39  link[0].endpoints[1].node"),
            "{text}"
        );
        assert!(text.ends_with(&format!("| {}^", " ".repeat(38))), "{text}");
    }
}
