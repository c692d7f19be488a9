//! Running the engine as pid 1 of a new PID namespace, so that every lab process dies with it,
//! and sweeping its labs when it dies by a signal.
//!
//! ```text
//!   main() ─ rootless::enter()                 (see crate::rootless)
//!          ─ run_in_pid_namespace(f)  fork into a new PID namespace
//!              child  (pid 1, PDEATHSIG=SIGKILL, own /proc) runs f
//!              parent forwards SIGINT/SIGTERM, reaps, sweeps if the child died by a signal
//! ```
//!
//! It sits above [`crate::lab`] (its parent runs [`crate::lab::sweep`]) and [`crate::rootless`]
//! (the mode decides where namespaces are pinned), which is why it is not part of `rootless`.
//!
//! What it does not do: enter the user namespace ([`crate::rootless::enter`] does, first), or
//! tear down a lab whose engine exits normally (the lab's own `Drop` does).

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

use tracing::warn;

use crate::error::{Error, Result};
use crate::rootless::{self, Mode};
use crate::sys;

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
/// single-threaded (after [`rootless::enter`], before tokio). The child gets PDEATHSIG=SIGKILL and
/// its own /proc; when it ends, the kernel kills every process left in the namespace. The parent
/// forwards SIGINT and SIGTERM to it, reaps it, and when it died by a signal, runs
/// [`crate::lab::sweep`] (labs whose owner died) before returning `128 + signal`.
pub fn run_in_pid_namespace<F: FnOnce() -> i32>(f: F) -> Result<i32> {
    let what = "running in a new PID namespace";
    rootless::ensure_single_threaded(what)?;
    // Fixes the identity before anything changes (it is read once and kept).
    let mode = rootless::mode();
    sys::unshare(libc::CLONE_NEWPID).map_err(|e| Error::os(what, e))?;
    if mode == Mode::Root {
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
