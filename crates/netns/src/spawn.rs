//! Spawning a `std::process::Command` inside a namespace, from one long-lived spawner thread.
//!
//! ```text
//!   caller --(Command, ns fd)--> [netns-spawner thread] --fork--> child
//!                                   lives as long as           pre_exec: setns(net)
//!                                   the process                  [unshare(mnt), / rslave,
//!                                                                 tmpfs over each private path]
//!                                                                prctl(PDEATHSIG, SIGKILL)
//!                                                              exec
//! ```
//!
//! PR_SET_PDEATHSIG fires when the *thread* that forked exits, not the process; forking from a
//! tokio blocking thread (which dies after 10 s idle) would kill daemons at random. So every fork
//! happens on the one spawner thread, which never exits.
//!
//! The private mount namespace gives each daemon its own `/run` paths (strongSwan's charon has a
//! fixed pid file under /run, FRR its vty/pid directory /var/run/frr). Mount propagation is made
//! slave first, so the tmpfs mounts never reach the host, while namespace pins deleted on the host
//! still disappear inside.
//!
//! What it does not do: capture output (configure the `Command`'s stdio), restart processes.

use std::ffi::CString;
use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::namespace::Netns;
use crate::process::ProcessId;
use crate::sys;

/// How to spawn.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// Paths to hide behind a fresh tmpfs each, in a private mount namespace (created if they
    /// do not exist). Empty: the child shares the caller's mount namespace.
    pub private_tmpfs: Vec<PathBuf>,
    /// Put the child in its own process group, so a terminal's Ctrl-C reaches only the engine,
    /// which then stops daemons in order.
    pub new_process_group: bool,
    /// PR_SET_PDEATHSIG(SIGKILL): the child dies with the spawner thread (that is, with us).
    pub die_with_parent: bool,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        SpawnOptions {
            private_tmpfs: Vec::new(),
            new_process_group: true,
            die_with_parent: true,
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

fn spawner() -> Result<&'static mpsc::Sender<Job>> {
    static SPAWNER: OnceLock<std::io::Result<mpsc::Sender<Job>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("netns-spawner".into())
            .spawn(move || {
                // The static keeps a sender, so this loop, and the thread, never ends.
                for job in rx {
                    job();
                }
            })
            .map(|_| tx)
    });
    sender.as_ref().map_err(|e| Error::Unavailable {
        what: "starting the spawner thread".into(),
        detail: e.to_string(),
    })
}

/// A process spawned in a namespace. Dropping it kills it (SIGKILL) and reaps it; call
/// [`Process::terminate`] for an orderly stop.
#[derive(Debug)]
pub struct Process {
    child: Option<Child>,
    id: ProcessId,
    label: String,
}

/// Spawns `cmd` inside `ns`.
pub fn spawn(ns: &Netns, mut cmd: Command, opts: &SpawnOptions) -> Result<Process> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let label = format!("{program} in {}", ns.name());
    let what = format!("spawning {label}");
    let ns_fd: OwnedFd = ns
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Error::os(what.clone(), e))?;
    let mut tmpfs: Vec<CString> = Vec::new();
    for p in &opts.private_tmpfs {
        if !p.is_absolute() {
            return Err(Error::invalid(
                "private path",
                p.display().to_string(),
                "must be absolute",
            ));
        }
        fs::create_dir_all(p)
            .map_err(|e| Error::os(format!("{what}: creating {}", p.display()), e))?;
        tmpfs.push(sys::cpath(p).map_err(|e| Error::os(what.clone(), e))?);
    }
    let private_mounts = !tmpfs.is_empty();
    let die_with_parent = opts.die_with_parent;
    if opts.new_process_group {
        cmd.process_group(0);
    }
    let parent = std::process::id() as libc::pid_t;
    let root = c"/";
    let tmpfs_type = c"tmpfs";
    let tmpfs_opts = c"mode=0755";
    let raw_ns = ns_fd.as_raw_fd();
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe
    // system calls on data prepared before the fork (no allocation, no locks).
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(raw_ns, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if private_mounts {
                if libc::unshare(libc::CLONE_NEWNS) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_SLAVE,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                for path in &tmpfs {
                    if libc::mount(
                        tmpfs_type.as_ptr(),
                        path.as_ptr(),
                        tmpfs_type.as_ptr(),
                        libc::MS_NOSUID | libc::MS_NODEV,
                        tmpfs_opts.as_ptr() as *const libc::c_void,
                    ) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            if die_with_parent {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl: then nobody will signal us.
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
            }
            Ok(())
        });
    }
    let (tx, rx) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let result = cmd.spawn();
        drop(ns_fd);
        let _ = tx.send(result);
    });
    spawner()?.send(job).map_err(|_| Error::Unavailable {
        what: what.clone(),
        detail: "spawner thread is gone".into(),
    })?;
    let child = rx
        .recv()
        .map_err(|_| Error::Unavailable {
            what: what.clone(),
            detail: "spawner thread is gone".into(),
        })?
        .map_err(|e| Error::os(what.clone(), e))?;
    let pid = child.id();
    // Our unreaped child keeps its /proc entry even if it already exited.
    let id = ProcessId::of(pid).unwrap_or(ProcessId { pid, start_time: 0 });
    debug!(pid, %label, "spawned");
    Ok(Process {
        child: Some(child),
        id,
        label,
    })
}

impl Process {
    /// Process id.
    pub fn pid(&self) -> u32 {
        self.id.pid
    }

    /// Pid and start time.
    pub fn id(&self) -> ProcessId {
        self.id
    }

    /// `program in namespace`, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The `Child`, for its stdio pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("child is present until drop")
    }

    /// The exit status if it has exited (reaping it), `None` while it runs.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        let label = self.label.clone();
        self.child_mut()
            .try_wait()
            .map_err(|e| Error::os(format!("waiting for {label}"), e))
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.try_wait(), Ok(None))
    }

    /// Waits for it to exit.
    pub fn wait(&mut self) -> Result<ExitStatus> {
        let label = self.label.clone();
        self.child_mut()
            .wait()
            .map_err(|e| Error::os(format!("waiting for {label}"), e))
    }

    /// Sends a signal (no-op if it already exited).
    pub fn signal(&mut self, signal: libc::c_int) -> Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        match sys::kill(self.id.pid, signal) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            Err(e) => Err(Error::os(format!("signalling {}", self.label), e)),
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`; returns the exit status.
    pub fn terminate(&mut self, grace: Duration) -> Result<ExitStatus> {
        self.signal(libc::SIGTERM)?;
        let deadline = Instant::now() + grace;
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        if grace.is_zero() {
            // A deliberate kill (a scenario's `kill` action), not a process that misbehaved.
            debug!(pid = self.id.pid, label = %self.label, "sending SIGKILL");
        } else {
            warn!(pid = self.id.pid, label = %self.label, ?grace, "did not stop on SIGTERM, sending SIGKILL");
        }
        self.signal(libc::SIGKILL)?;
        self.wait()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take()
            && matches!(child.try_wait(), Ok(None))
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
