//! Running without root: a user namespace in which we are uid 0, with a private mount namespace
//! for namespace pins; and the identity (root or rootless, original uid) the process had before.
//!
//! ```text
//!   main() ─ rootless::enter()        single-threaded, before tokio
//!              not root? unshare(USER|NS), setgroups deny, uid/gid map "0 <uid> 1",
//!                        mount --make-rprivate /
//!          ─ pid_namespace::run_in_pid_namespace(f)   (see crate::pid_namespace)
//! ```
//!
//! This module is below [`crate::names`] and [`crate::lab`], which ask it for the mode and the
//! original identity; the PID namespace, whose parent sweeps labs, is [`crate::pid_namespace`].
//!
//! What it does not do: make `/dev/net/tun` accessible (it reports when it is not, see
//! [`crate::tun::check_tun_access`]), map more than one uid, or know about labs.

use std::fs;
use std::io;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::sys;

/// How this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Really root: namespaces pinned in /run/netns, visible to `ip netns`.
    Root,
    /// Root inside our own user namespace; pins live in the private mount namespace.
    Rootless,
}

#[derive(Debug, Clone, Copy)]
struct Identity {
    mode: Mode,
    uid: u32,
}

static IDENTITY: OnceLock<Identity> = OnceLock::new();

fn identity() -> Identity {
    *IDENTITY.get_or_init(|| Identity {
        mode: if sys::geteuid() == 0 {
            Mode::Root
        } else {
            Mode::Rootless
        },
        // SAFETY: getuid has no arguments and cannot fail.
        uid: unsafe { libc::getuid() },
    })
}

/// The mode of this process (fixed by [`enter`], or by the euid at first use).
pub fn mode() -> Mode {
    identity().mode
}

/// (root?, uid) as they were before [`enter`]: the state directory depends on them.
pub fn original_identity() -> (bool, u32) {
    let id = identity();
    (id.mode == Mode::Root, id.uid)
}

fn thread_count() -> io::Result<usize> {
    Ok(fs::read_dir("/proc/self/task")?.count())
}

/// Fails unless the process has exactly one thread (forks and unshares below need that).
pub(crate) fn ensure_single_threaded(what: &str) -> Result<()> {
    match thread_count() {
        Ok(1) => Ok(()),
        Ok(n) => Err(Error::Unavailable {
            what: what.to_string(),
            detail: format!(
                "must be called while the process has one thread (it has {n}): call it first in main, before tokio starts"
            ),
        }),
        Err(e) => Err(Error::os(format!("{what}: counting threads"), e)),
    }
}

/// Call at the start of `main`, while single-threaded. As root it does nothing and returns
/// [`Mode::Root`]. Otherwise it unshares a user namespace (our uid and gid mapped to 0,
/// setgroups denied) and a mount namespace (everything made private, so our bind mounts stay
/// ours), and returns [`Mode::Rootless`]; from then on the process can create namespaces, veths
/// and addresses like root, inside its own user namespace.
pub fn enter() -> Result<Mode> {
    // SAFETY: getuid/getgid have no arguments and cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    if sys::geteuid() == 0 {
        let _ = IDENTITY.set(Identity {
            mode: Mode::Root,
            uid,
        });
        return Ok(Mode::Root);
    }
    ensure_single_threaded("entering a user namespace")?;
    let what = "entering a user namespace";
    sys::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS).map_err(|e| Error::Unavailable {
        what: what.into(),
        detail: format!(
            "{e}: unprivileged user namespaces are disabled here (kernel.unprivileged_userns_clone \
                 or user.max_user_namespaces); run as root instead"
        ),
    })?;
    fs::write("/proc/self/setgroups", "deny")
        .map_err(|e| Error::os(format!("{what}: setgroups deny"), e))?;
    fs::write("/proc/self/uid_map", format!("0 {uid} 1"))
        .map_err(|e| Error::os(format!("{what}: uid_map"), e))?;
    fs::write("/proc/self/gid_map", format!("0 {gid} 1"))
        .map_err(|e| Error::os(format!("{what}: gid_map"), e))?;
    sys::mount(
        None,
        std::path::Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )
    .map_err(|e| Error::os(format!("{what}: making mounts private"), e))?;
    let _ = IDENTITY.set(Identity {
        mode: Mode::Rootless,
        uid,
    });
    Ok(Mode::Rootless)
}
