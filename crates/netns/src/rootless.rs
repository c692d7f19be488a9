//! Running without root: a user namespace in which we are uid 0, with a private mount namespace
//! for namespace pins, and a PID namespace that takes every lab process down with the engine.
//!
//! ```text
//!   main() ─ rootless::enter()        single-threaded, before tokio
//!              not root? unshare(USER|NS), setgroups deny, uid/gid map "0 <uid> 1",
//!                        mount --make-rprivate /
//!          ─ run_in_pid_namespace(f)  fork into a new PID namespace
//!              child  (pid 1, PDEATHSIG=SIGKILL, own /proc) runs f
//!              parent forwards SIGINT/SIGTERM, reaps, sweeps if the child died by a signal
//! ```
//!
//! What it does not do: make `/dev/net/tun` accessible (it reports when it is not, see
//! [`crate::tun::check_tun_access`]), or map more than one uid.

use std::fs;
use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

use tracing::warn;

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

fn ensure_single_threaded(what: &str) -> Result<()> {
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

static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int) {
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        // SAFETY: kill is async-signal-safe; `child` is our own child's pid.
        unsafe {
            libc::kill(child, sig);
        }
    }
}

/// Runs `f` as pid 1 of a new PID namespace and returns its exit code; call while
/// single-threaded (after [`enter`], before tokio). The child gets PDEATHSIG=SIGKILL and its
/// own /proc; when it ends, the kernel kills every process left in the namespace. The parent
/// forwards SIGINT and SIGTERM to it, reaps it, and when it died by a signal, runs
/// [`crate::lab::sweep`] (labs whose owner died) before returning `128 + signal`.
pub fn run_in_pid_namespace<F: FnOnce() -> i32>(f: F) -> Result<i32> {
    let what = "running in a new PID namespace";
    ensure_single_threaded(what)?;
    let _ = identity();
    sys::unshare(libc::CLONE_NEWPID).map_err(|e| Error::os(what, e))?;
    if mode() == Mode::Root {
        // Make /run/netns a shared mount in the host's mount namespace before the child copies
        // it: pins the child creates then propagate back, so `ip netns` sees them.
        crate::namespace::NetnsDir::system().ensure()?;
    }
    // SAFETY: the process is single-threaded (checked above), so the child may run any code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::last_os(what));
    }
    if pid == 0 {
        // Child: pid 1 of the new namespace.
        // SAFETY: plain prctl call. (getppid() is 0 here: the parent is outside our PID
        // namespace, so the usual "did the parent die before prctl" check cannot be made; the
        // parent is blocked in waitpid and outlives us unless killed with SIGKILL.)
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        }
        if let Err(e) = mount_own_proc() {
            warn!(error = %e, "could not mount a private /proc; pids in /proc are the parent's view");
        }
        let code = f();
        std::process::exit(code);
    }
    CHILD.store(pid, Ordering::SeqCst);
    // SAFETY: installing a handler that only calls async-signal-safe kill().
    unsafe {
        let handler = forward_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a valid int to write into.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(Error::os(format!("{what}: waiting for the child"), e));
        }
    }
    CHILD.store(0, Ordering::SeqCst);
    if libc::WIFEXITED(status) {
        return Ok(libc::WEXITSTATUS(status));
    }
    let sig = libc::WTERMSIG(status);
    warn!(
        signal = sig,
        "lab engine died by a signal; sweeping its labs"
    );
    if let Err(e) = crate::lab::sweep(&crate::lab::LabConfig::default()) {
        warn!(error = %e, "sweep after the engine died failed");
    }
    Ok(128 + sig)
}

/// Mounts a /proc for our PID namespace, without touching the parent's: /proc is made a private
/// mount in a new mount namespace first.
fn mount_own_proc() -> io::Result<()> {
    let proc_ = std::path::Path::new("/proc");
    sys::unshare(libc::CLONE_NEWNS)?;
    sys::mount(None, proc_, None, libc::MS_REC | libc::MS_PRIVATE, None)?;
    sys::mount(
        Some(std::path::Path::new("proc")),
        proc_,
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    )
}
