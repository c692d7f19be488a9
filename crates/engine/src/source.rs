//! Scenario source text and where things are in it: byte spans, `line:column` positions, and
//! field paths such as `link[2].endpoints[1]`.
//!
//! Every error about a scenario names the file, the line and column, and the field path, so
//! the parsed TOML tree is kept (as [`toml::de::DeValue`], which carries spans) and both
//! directions are offered: the span of a field path (for semantic errors found after parsing)
//! and the field path at a span (for errors the TOML deserializer reports by position).
//!
//! What it does not do: decide what is valid (see `model` and `validate`).

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A path into the scenario document, printed like `link[2].endpoints[1]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldPath(pub Vec<Segment>);

impl FieldPath {
    /// The document root.
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// This path with a key appended.
    pub fn key(&self, key: &str) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.to_string()));
        p
    }

    /// This path with an index appended.
    pub fn index(&self, i: usize) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }

    /// Parses the printed form back (`a[1].b`); used by tests and kinds that build paths.
    pub fn parse(s: &str) -> FieldPath {
        let mut out = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(open) = rest.find('[') {
                out.push(Segment::Key(rest[..open].to_string()));
                rest = &rest[open..];
                while let Some(close) = rest.find(']') {
                    if let Ok(i) = rest[1..close].parse() {
                        out.push(Segment::Index(i));
                    }
                    rest = &rest[close + 1..];
                }
            } else {
                out.push(Segment::Key(rest.to_string()));
            }
        }
        FieldPath(out)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column (columns count characters, as editors do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
}

/// A scenario file's name and text, with the parsed span tree.
#[derive(Debug)]
pub struct Source {
    /// The name shown in errors: the path given on the command line, or `<shipped>/NAME.toml`.
    pub name: String,
    /// The text.
    pub text: String,
}

impl Source {
    /// A source named `name` holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    /// The 1-based position of byte offset `offset` (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line,
            column: self.text[line_start..offset].chars().count() + 1,
        }
    }

    /// The text of the line holding byte `offset`, for error excerpts, with the value of any
    /// secret key (`pre_shared_key`, `password`, ...) replaced by `***` (see [`mask_secrets`]).
    pub fn line_text(&self, offset: usize) -> String {
        mask_secrets(self.raw_line(offset))
    }

    fn raw_line(&self, offset: usize) -> &str {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let start = self.text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        &self.text[start..end]
    }
}

/// Keys whose values are secrets: a diagnostic's excerpt never shows them.
const SECRET_KEYS: &[&str] = &[
    "pre_shared_key",
    "psk",
    "password",
    "md5_password",
    "auth_key",
    "secret",
];

/// `line` with the quoted value after each secret key replaced by `"***"`; an unterminated
/// value is masked to the end of the line.
pub fn mask_secrets(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    'scan: while !rest.is_empty() {
        for key in SECRET_KEYS {
            if let Some(at) = find_key(rest, key) {
                let after_key = &rest[at + key.len()..];
                let trimmed = after_key.trim_start();
                if let Some(after_eq) = trimmed.strip_prefix('=') {
                    let value = after_eq.trim_start();
                    let quote = value.chars().next();
                    if let Some(q @ ('"' | '\'')) = quote {
                        let prefix_len = rest.len() - value.len();
                        out.push_str(&rest[..prefix_len]);
                        out.push(q);
                        out.push_str("***");
                        out.push(q);
                        rest = match value[1..].find(q) {
                            Some(end) => &value[1 + end + 1..],
                            None => "",
                        };
                        continue 'scan;
                    }
                }
            }
        }
        out.push_str(rest);
        break;
    }
    out
}

/// The byte offset of `key` in `text` as a whole word (not part of a longer key).
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(key) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        let after = text[at + key.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !word(before) && !word(after) {
            return Some(at);
        }
        from = at + key.len();
    }
    None
}

/// Parses a whole TOML document into a span tree whose root is a table.
pub fn parse_document(text: &str) -> Result<Spanned<DeValue<'_>>, toml::de::Error> {
    let table = toml::de::DeTable::parse(text)?;
    let span = table.span();
    Ok(Spanned::new(span, DeValue::Table(table.into_inner())))
}

/// The span of the value at `path` in `root`; a missing key falls back to its closest
/// existing ancestor (so "missing field" errors point at the table that lacks it).
pub fn span_of(root: &Spanned<DeValue<'_>>, path: &FieldPath) -> Range<usize> {
    let mut here = root;
    for seg in &path.0 {
        let next = match (seg, here.get_ref()) {
            (Segment::Key(k), DeValue::Table(t)) => t
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                .map(|(_, value)| value),
            (Segment::Index(i), DeValue::Array(a)) => a.get(*i),
            _ => None,
        };
        match next {
            Some(v) => here = v,
            None => break,
        }
    }
    here.span()
}

/// The field path of the smallest key or value whose span contains `span`, for errors
/// reported by position only. The whole tree is searched: array-of-tables headers (`[[link]]`)
/// span only their header line, so a parent's span does not always contain its children's.
pub fn path_at(root: &Spanned<DeValue<'_>>, span: &Range<usize>) -> FieldPath {
    fn walk(
        v: &Spanned<DeValue<'_>>,
        path: &FieldPath,
        span: &Range<usize>,
        best: &mut Option<(usize, FieldPath)>,
    ) {
        fn consider(
            s: Range<usize>,
            p: &FieldPath,
            span: &Range<usize>,
            best: &mut Option<(usize, FieldPath)>,
        ) {
            if contains(&s, span) {
                let width = s.end - s.start;
                if best
                    .as_ref()
                    .is_none_or(|(w, bp)| width < *w || (width == *w && p.0.len() > bp.0.len()))
                {
                    *best = Some((width, p.clone()));
                }
            }
        }
        match v.get_ref() {
            DeValue::Table(t) => {
                for (key, value) in t.iter() {
                    let p = path.key(key.get_ref());
                    consider(key.span(), &p, span, best);
                    consider(value.span(), &p, span, best);
                    walk(value, &p, span, best);
                }
            }
            DeValue::Array(a) => {
                for (i, value) in a.iter().enumerate() {
                    let p = path.index(i);
                    consider(value.span(), &p, span, best);
                    walk(value, &p, span, best);
                }
            }
            _ => {}
        }
    }
    let mut best = None;
    walk(root, &FieldPath::root(), span, &mut best);
    best.map(|(_, p)| p).unwrap_or_default()
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.start < outer.end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_parses_paths() {
        let p = FieldPath::root()
            .key("link")
            .index(2)
            .key("endpoints")
            .index(1);
        assert_eq!(p.to_string(), "link[2].endpoints[1]");
        assert_eq!(FieldPath::parse("link[2].endpoints[1]"), p);
        assert_eq!(FieldPath::root().to_string(), "(top level)");
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let s = Source::new("x.toml", "a = 1\nbé = 2\n");
        assert_eq!(s.position(0), Position { line: 1, column: 1 });
        assert_eq!(s.position(6), Position { line: 2, column: 1 });
        // In "bé = 2" the '=' is the 4th character although at the 5th byte of its line.
        assert_eq!(s.position(10), Position { line: 2, column: 4 });
        assert_eq!(s.line_text(8), "bé = 2");
        assert_eq!(s.position(10_000).line, 3);
    }

    #[test]
    fn spans_and_paths_agree() {
        let text =
            "[[link]]\nname = \"a\"\n[[link]]\nendpoints = [{ node = \"x\" }, { node = \"y\" }]\n";
        let root = parse_document(text).unwrap();
        let path = FieldPath::parse("link[1].endpoints[1].node");
        let span = span_of(&root, &path);
        assert_eq!(&text[span.clone()], "\"y\"");
        assert_eq!(path_at(&root, &span), path);
        // A missing key falls back to the closest ancestor: here the table's `[[link]]` header.
        let span = span_of(&root, &FieldPath::parse("link[0].endpoints"));
        assert_eq!(&text[span], "[[link]]");
    }
}
