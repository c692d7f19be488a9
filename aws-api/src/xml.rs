//! A small XML writer for the EC2 Query API's responses: elements opened and closed in
//! order, text escaped (XML 1.0 §2.4: `&`, `<`, `>`; quotes too, harmlessly).
//!
//! What it does not do: attributes beyond the root's `xmlns`, or parse XML.

/// An XML document being written.
#[derive(Debug, Default)]
pub struct Xml {
    out: String,
}

/// `text` with XML's special characters escaped.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            // Control characters other than tab and line breaks are not XML characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => s.push('\u{FFFD}'),
            c => s.push(c),
        }
    }
    s
}

impl Xml {
    /// A document whose root is `root` in namespace `xmlns`.
    pub fn document(root: &str, xmlns: &str) -> Xml {
        Xml {
            out: format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{}\">",
                escape(xmlns)
            ),
        }
    }

    /// `<tag>`.
    pub fn open(&mut self, tag: &str) -> &mut Xml {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `</tag>`.
    pub fn close(&mut self, tag: &str) -> &mut Xml {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `<tag>text</tag>`.
    pub fn leaf(&mut self, tag: &str, text: impl std::fmt::Display) -> &mut Xml {
        self.open(tag);
        self.out.push_str(&escape(&text.to_string()));
        self.close(tag)
    }

    /// `<tag>text</tag>` when there is a value.
    pub fn leaf_opt<T: std::fmt::Display>(&mut self, tag: &str, text: Option<T>) -> &mut Xml {
        if let Some(t) = text {
            self.leaf(tag, t);
        }
        self
    }

    /// The document, its root closed.
    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let mut x = Xml::document("R", "urn:x");
        x.open("a").leaf("b", "1 < 2 & \"3\"").close("a");
        assert_eq!(
            x.finish("R"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<R xmlns=\"urn:x\"><a><b>1 &lt; 2 &amp; &quot;3&quot;</b></a></R>"
        );
        assert_eq!(escape("a\u{1}b"), "a\u{FFFD}b");
    }
}
