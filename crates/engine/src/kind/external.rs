//! `external`: a node the user brings. `external = true` (a customer gateway whose daemons the
//! user starts in the lab's namespace `hl-<lab>-<node>`) or `external = { container = "NAME" }`
//! (the node *is* the network namespace of a container the user already runs: the lab plugs its
//! links into it). Kinds that accept it keep one field of this type.
//!
//! What it does not do: reach Docker (the backend does, at bring-up).

use serde::Deserialize;

use crate::diagnostic::Diagnostic;
use crate::parse_cx::ParseCx;
use crate::source::FieldPath;

/// See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged, expecting = "true, false, or { container = \"NAME\" }")]
pub enum External {
    /// `true`: no daemon of ours; `false`: ours (the default).
    Flag(bool),
    /// The network namespace of a running container.
    Container {
        /// The container's name (or id).
        container: String,
    },
}

impl Default for External {
    fn default() -> Self {
        External::Flag(false)
    }
}

impl External {
    /// Whether the user runs the node's daemons (either form).
    pub fn is_external(&self) -> bool {
        !matches!(self, External::Flag(false))
    }

    /// The container, in the container form.
    pub fn container(&self) -> Option<&str> {
        match self {
            External::Container { container } => Some(container),
            External::Flag(_) => None,
        }
    }

    /// The container name must be one Docker accepts (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
    pub fn validate(&self, path: &FieldPath, cx: &ParseCx<'_>) -> Vec<Diagnostic> {
        let Some(c) = self.container() else {
            return Vec::new();
        };
        let ok = c.chars().next().is_some_and(|f| f.is_ascii_alphanumeric())
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'));
        if ok {
            Vec::new()
        } else {
            vec![cx.error(
                &path.key("container"),
                format!("container name {c:?} must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct N {
        #[serde(default)]
        external: External,
    }

    #[test]
    fn both_forms_parse_and_the_default_is_ours() {
        let n: N = toml::from_str("").unwrap();
        assert!(!n.external.is_external());
        let n: N = toml::from_str("external = true").unwrap();
        assert!(n.external.is_external() && n.external.container().is_none());
        let n: N = toml::from_str("external = { container = \"my-cgw\" }").unwrap();
        assert_eq!(n.external.container(), Some("my-cgw"));
        let e = toml::from_str::<N>("external = { image = \"x\" }").unwrap_err();
        assert!(e.to_string().contains("container"), "{e}");
    }
}
