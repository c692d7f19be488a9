//! Names of labs, nodes and namespaces, and where their state lives (docs/design.md, "Labs, names
//! and state").
//!
//! ```text
//!   lab  [a-z0-9][a-z0-9-]{0,23}      node [a-z0-9][a-z0-9-]{0,14}
//!   namespace  hl-<lab>-<node>        state  $HYBRIDLAB_STATE_DIR | /run/hybridlab (root)
//!                                            | $XDG_RUNTIME_DIR/hybridlab | /tmp/hybridlab-<uid>
//! ```
//!
//! What it does not do: create anything. These are pure functions.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Prefix of every namespace hybridlab creates.
pub const NS_PREFIX: &str = "hl-";

/// Longest lab name.
pub const LAB_NAME_MAX: usize = 24;
/// Longest node name (fits an interface name, IFNAMSIZ - 1).
pub const NODE_NAME_MAX: usize = 15;
/// Longest interface name the kernel accepts (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

fn check(what: &'static str, name: &str, max: usize) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some('a'..='z' | '0'..='9'));
    if !first_ok {
        return Err(Error::invalid(
            what,
            name,
            "must start with a lowercase letter or a digit",
        ));
    }
    if name.len() > max {
        return Err(Error::invalid(
            what,
            name,
            format!("longer than {max} characters"),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
    {
        return Err(Error::invalid(
            what,
            name,
            format!("character {bad:?} is not one of a-z, 0-9, -"),
        ));
    }
    Ok(())
}

/// Checks a lab name (`[a-z0-9][a-z0-9-]{0,23}`).
pub fn check_lab_name(lab: &str) -> Result<()> {
    check("lab name", lab, LAB_NAME_MAX)
}

/// Checks a node name (`[a-z0-9][a-z0-9-]{0,14}`).
pub fn check_node_name(node: &str) -> Result<()> {
    check("node name", node, NODE_NAME_MAX)
}

/// Checks an interface name: 1 to 15 bytes, no `/`, whitespace, `:` or NUL, not `.`/`..`
/// (the kernel's `dev_valid_name`).
pub fn check_ifname(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > IFNAME_MAX {
        return Err(Error::invalid(
            "interface name",
            name,
            "must be 1 to 15 bytes",
        ));
    }
    if name == "." || name == ".." {
        return Err(Error::invalid("interface name", name, "reserved"));
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
    {
        return Err(Error::invalid(
            "interface name",
            name,
            "must not contain '/', ':', NUL or whitespace",
        ));
    }
    Ok(())
}

/// The namespace name of `node` in `lab`: `hl-<lab>-<node>`.
pub fn ns_name(lab: &str, node: &str) -> Result<String> {
    check_lab_name(lab)?;
    check_node_name(node)?;
    Ok(format!("{NS_PREFIX}{lab}-{node}"))
}

/// The prefix shared by every namespace of `lab`: `hl-<lab>-`.
pub fn lab_prefix(lab: &str) -> String {
    format!("{NS_PREFIX}{lab}-")
}

/// The state directory root chosen from the environment (docs/design.md): `$HYBRIDLAB_STATE_DIR`,
/// else `/run/hybridlab` when `root`, else `$XDG_RUNTIME_DIR/hybridlab`, else
/// `/tmp/hybridlab-<uid>`.
pub fn state_root_from(
    env_state_dir: Option<&str>,
    root: bool,
    xdg_runtime_dir: Option<&str>,
    uid: u32,
) -> PathBuf {
    if let Some(dir) = env_state_dir.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if root {
        return PathBuf::from("/run/hybridlab");
    }
    if let Some(dir) = xdg_runtime_dir.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("hybridlab");
    }
    PathBuf::from(format!("/tmp/hybridlab-{uid}"))
}

/// The state directory root of this process: see [`state_root_from`]. After
/// [`crate::rootless::enter`] the process looks like root, so the mode and uid recorded at entry
/// are used, not the current euid.
pub fn state_root() -> PathBuf {
    let (root, uid) = crate::rootless::original_identity();
    state_root_from(
        std::env::var("HYBRIDLAB_STATE_DIR").ok().as_deref(),
        root,
        std::env::var("XDG_RUNTIME_DIR").ok().as_deref(),
        uid,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn namespace_names_follow_the_contract() {
        assert_eq!(ns_name("demo", "vgw1").unwrap(), "hl-demo-vgw1");
        assert!(ns_name("Demo", "vgw1").is_err());
        assert!(ns_name("demo", "-x").is_err());
        assert!(ns_name("demo", "a234567890123456").is_err());
        assert!(ns_name("a23456789012345678901234", "n").is_ok());
        assert!(ns_name("a234567890123456789012345", "n").is_err());
        let e = ns_name("demo", "a_b").unwrap_err().to_string();
        assert!(e.contains("node name") && e.contains("'_'"), "{e}");
    }

    #[test]
    fn interface_names_match_the_kernel_rules() {
        assert!(check_ifname("veth-r1").is_ok());
        assert!(check_ifname("").is_err());
        assert!(check_ifname("a/b").is_err());
        assert!(check_ifname("0123456789abcdef").is_err());
        assert!(check_ifname("..").is_err());
    }

    #[test]
    fn state_root_precedence() {
        assert_eq!(
            state_root_from(Some("/x"), true, Some("/r"), 5),
            PathBuf::from("/x")
        );
        assert_eq!(
            state_root_from(None, true, Some("/r"), 0),
            PathBuf::from("/run/hybridlab")
        );
        assert_eq!(
            state_root_from(None, false, Some("/run/user/5"), 5),
            PathBuf::from("/run/user/5/hybridlab")
        );
        assert_eq!(
            state_root_from(Some(""), false, None, 5),
            PathBuf::from("/tmp/hybridlab-5")
        );
    }

    proptest! {
        #[test]
        fn accepted_names_fit_an_interface_name(node in "[a-z0-9][a-z0-9-]{0,20}") {
            if check_node_name(&node).is_ok() {
                prop_assert!(check_ifname(&node).is_ok());
            }
        }
    }
}
