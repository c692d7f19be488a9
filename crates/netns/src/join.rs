//! Joining a running lab from another process (`hybridlab exec`, `hybridlab capture`): moving
//! the calling process into existing namespaces by path, and the two process-level moves a
//! detached lab owner needs (its own session; its standard output into a log file).
//!
//! ```text
//!   rootless lab:  open /proc/OWNER/root/PIN   setns(/proc/OWNER/ns/user)   setns(pin, NET)
//!   root lab:      open PIN                                                 setns(pin, NET)
//! ```
//!
//! What it does not do: find the owner or the pin (the caller reads the lab's record), or run
//! a closure in a namespace and come back ([`crate::Netns::run`] does that on a thread).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};

/// Which namespace a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsType {
    /// A user namespace (`/proc/PID/ns/user`).
    User,
    /// A mount namespace (`/proc/PID/ns/mnt`).
    Mount,
    /// A network namespace (a pin, or `/proc/PID/ns/net`).
    Net,
}

/// Moves the whole calling process into the namespace at `path`. Joining a user namespace
/// needs a single-threaded process: call it first in `main`, before any thread starts. Joining
/// a mount namespace resets the working directory to its root.
pub fn join(path: &Path, kind: NsType) -> Result<()> {
    let f = File::open(path).map_err(|e| Error::os(format!("opening {}", path.display()), e))?;
    join_file(&f, kind, &path.display().to_string())
}

/// [`join`] with a namespace file already open (`what` names it in errors): a pin opened
/// through `/proc/OWNER/root/...` before joining the owner's user namespace, so that this
/// process keeps its own mount namespace (and its own /proc).
pub fn join_file(f: &File, kind: NsType, what: &str) -> Result<()> {
    let what = format!("entering {what}");
    if kind == NsType::User {
        crate::rootless::ensure_single_threaded(&what)?;
    }
    let nstype = match kind {
        NsType::User => libc::CLONE_NEWUSER,
        NsType::Mount => libc::CLONE_NEWNS,
        NsType::Net => libc::CLONE_NEWNET,
    };
    // SAFETY: setns on a descriptor we own for the call; the kernel checks the type.
    let r = unsafe { libc::setns(f.as_raw_fd(), nstype) };
    if r != 0 {
        return Err(Error::last_os(what));
    }
    Ok(())
}

/// Makes `cmd`'s process the leader of a new session (setsid), so that a terminal's Ctrl-C
/// and hang-up no longer reach it.
pub fn detach(cmd: &mut Command) -> &mut Command {
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        })
    }
}

/// Points the process's stdout and stderr at `file` (dup2).
pub fn redirect_stdio(file: &File) -> Result<()> {
    for fd in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
        // SAFETY: dup2 onto a standard descriptor; `file` stays open for the call.
        if unsafe { libc::dup2(file.as_raw_fd(), fd) } < 0 {
            return Err(Error::last_os("redirecting the standard output"));
        }
    }
    Ok(())
}
