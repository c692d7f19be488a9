//! Named network namespaces pinned by a bind mount in a directory, the way iproute2 does it, and
//! running code inside one.
//!
//! ```text
//!   NetnsDir (/run/netns as root; <state>/<lab>/netns rootless, in the private mount namespace)
//!     |-- hl-demo-r1   <- bind mount of /proc/<tid>/ns/net: keeps the namespace alive
//!     `-- hl-demo-r2
//!   Netns { name, path, fd }   the fd keeps it alive too, until dropped
//! ```
//!
//! [`Netns::run`] runs a closure on a fresh scoped thread that did setns(2) into the namespace, so
//! the caller's threads never change namespace. Sysctls are per namespace and set the same way.
//!
//! What it does not do: links, addresses, routes (see [`crate::netlink`]), or kill processes that
//! keep a namespace alive after it is unpinned (see [`crate::lab`]).

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use tracing::debug;

use crate::error::{Error, Result};
use crate::sys;

/// The directory where namespaces are pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetnsDir {
    path: PathBuf,
}

impl NetnsDir {
    /// `/run/netns`, where `ip netns` looks.
    pub fn system() -> NetnsDir {
        NetnsDir::new("/run/netns")
    }

    /// A pin directory at `path` (created by [`NetnsDir::ensure`]).
    pub fn new(path: impl Into<PathBuf>) -> NetnsDir {
        NetnsDir { path: path.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pin file of namespace `name`.
    pub fn pin(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Creates the directory and makes it a shared mount point, as `ip netns add` does, so pins
    /// made later propagate into mount namespaces copied from this one (a spawned daemon with a
    /// private /run still sees them unmounted when a namespace is deleted).
    pub fn ensure(&self) -> Result<()> {
        let what = || format!("preparing namespace directory {}", self.path.display());
        fs::create_dir_all(&self.path).map_err(|e| Error::os(what(), e))?;
        let shared = libc::MS_SHARED | libc::MS_REC;
        match sys::mount(None, &self.path, None, shared, None) {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                // Not a mount point yet: bind it onto itself, then make it shared.
                sys::mount(
                    Some(&self.path),
                    &self.path,
                    None,
                    libc::MS_BIND | libc::MS_REC,
                    None,
                )
                .map_err(|e| Error::os(what(), e))?;
                sys::mount(None, &self.path, None, shared, None).map_err(|e| Error::os(what(), e))
            }
            Err(e) => Err(Error::os(what(), e)),
        }
    }

    /// Names of the pinned namespaces starting with `prefix`, sorted.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::os(
                    format!("listing namespaces in {}", self.path.display()),
                    e,
                ));
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Unpins namespace `name` (detaching the bind mount, then removing the file). The namespace
    /// itself disappears once no process, open descriptor or other mount refers to it. A pin that
    /// is already gone is not an error.
    pub fn unpin(&self, name: &str) -> Result<()> {
        let pin = self.pin(name);
        match sys::umount2(&pin, libc::MNT_DETACH) {
            Ok(()) => {}
            // EINVAL: not a mount point (a half-created pin); ENOENT: already gone.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOENT)) => {}
            Err(e) => {
                return Err(Error::os(
                    format!("unmounting namespace pin {}", pin.display()),
                    e,
                ));
            }
        }
        match fs::remove_file(&pin) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::os(
                format!("removing namespace pin {}", pin.display()),
                e,
            )),
        }
    }
}

/// An open network namespace (a descriptor on it) with the name it is pinned under.
#[derive(Debug)]
pub struct Netns {
    name: String,
    path: PathBuf,
    fd: OwnedFd,
}

/// How [`Netns::create_many_with`] creates namespaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreateOptions {
    /// Bring `lo` up in each new namespace (done on the creating thread, which is already
    /// inside it: no extra thread or socket per namespace).
    pub loopback_up: bool,
    /// Helper threads creating namespaces side by side; 0 means 1. More did not help on a
    /// 2-CPU 6.18 kernel (300 namespaces: 1 thread 493 ms, 2 threads 513 ms, 4 threads
    /// 907 ms, medians of 5): the kernel serialises most of a namespace's setup, and the pin
    /// directory serialises the pin files.
    pub threads: usize,
}

/// Creates a namespace pinned at `pin` from the calling thread, which must be a throw-away
/// thread: it is left inside the new namespace.
fn create_on_this_thread(pin: &Path, loopback_up: bool) -> io::Result<OwnedFd> {
    // The pin must exist as a file before it can be a bind-mount target. O_EXCL: never adopt
    // somebody else's namespace of the same name.
    let created = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(pin)
        .map(drop);
    created?;
    let result = (|| {
        sys::unshare(libc::CLONE_NEWNET)?;
        // thread-self, not self/task/<gettid()>: where the engine could not mount a /proc of
        // its own PID namespace (inside a container), /proc counts pids in the parent's.
        let me = PathBuf::from("/proc/thread-self/ns/net");
        sys::mount(Some(&me), pin, Some("none"), libc::MS_BIND, None)?;
        let fd = sys::open(pin, libc::O_RDONLY)?;
        if loopback_up {
            sys::set_if_up("lo", true)?;
        }
        Ok(fd)
    })();
    if result.is_err() {
        let _ = sys::umount2(pin, libc::MNT_DETACH);
        let _ = fs::remove_file(pin);
    }
    result
}

impl Netns {
    /// Creates namespace `name` pinned in `dir` (the directory is prepared with
    /// [`NetnsDir::ensure`] first). Fails with `EEXIST` if the name is taken.
    pub fn create(dir: &NetnsDir, name: &str) -> Result<Netns> {
        Netns::create_many(dir, &[name])?
            .pop()
            .expect("one name in, one result out")
    }

    /// Creates several namespaces (`lo` left down); one result per name, in order. The outer
    /// error is about the directory or the helper threads.
    pub fn create_many(dir: &NetnsDir, names: &[&str]) -> Result<Vec<Result<Netns>>> {
        Netns::create_many_with(dir, names, &CreateOptions::default())
    }

    /// Creates several namespaces from `opts.threads` helper threads (each unshares once per
    /// namespace and ends in its last one, taking nothing with it when it exits), one result per
    /// name, in order.
    pub fn create_many_with(
        dir: &NetnsDir,
        names: &[&str],
        opts: &CreateOptions,
    ) -> Result<Vec<Result<Netns>>> {
        for name in names {
            // A namespace name is a pin file's name (not an interface name): `hl-<lab>-<node>`
            // reaches 42 bytes with a 24-byte lab and a 15-byte node name.
            if name.is_empty()
                || name.len() > 255
                || *name == "."
                || *name == ".."
                || name.contains(['/', '\0'])
            {
                return Err(Error::invalid(
                    "namespace name",
                    *name,
                    "must be a valid file name (1 to 255 bytes, no '/' or NUL, not . or ..)",
                ));
            }
        }
        dir.ensure()?;
        let pins: Vec<(String, PathBuf)> =
            names.iter().map(|n| (n.to_string(), dir.pin(n))).collect();
        let threads = opts.threads.clamp(1, pins.len().max(1));
        let per_thread = pins.len().div_ceil(threads).max(1);
        let loopback_up = opts.loopback_up;
        let create = |chunk: &[(String, PathBuf)]| -> Vec<Result<Netns>> {
            chunk
                .iter()
                .map(|(name, pin)| {
                    create_on_this_thread(pin, loopback_up)
                        .map(|fd| Netns {
                            name: name.clone(),
                            path: pin.clone(),
                            fd,
                        })
                        .map_err(|e| Error::os(format!("creating namespace {name}"), e))
                })
                .collect()
        };
        let joined = std::thread::scope(|s| {
            let handles: Vec<_> = pins
                .chunks(per_thread)
                .map(|chunk| s.spawn(move || create(chunk)))
                .collect();
            // Join every thread before looking at any result, so none is left running.
            handles.into_iter().map(|h| h.join()).collect::<Vec<_>>()
        });
        let mut results = Vec::with_capacity(pins.len());
        let mut panicked = false;
        for j in joined {
            match j {
                Ok(r) => results.extend(r),
                Err(_) => panicked = true,
            }
        }
        if panicked {
            // Remove what the other threads created: the caller gets no handle on it.
            for n in results.into_iter().flatten() {
                let _ = dir.unpin(&n.name);
            }
            return Err(Error::Unavailable {
                what: "creating namespaces".into(),
                detail: "helper thread panicked".into(),
            });
        }
        for n in results.iter().flatten() {
            debug!(ns = %n.name, "namespace created");
        }
        Ok(results)
    }

    /// Pins the existing namespace at `source` (a `/proc/<pid>/ns/net` path: a container's)
    /// as `name` in `dir`, so it is opened, listed and unpinned like the lab's own. Fails with
    /// `EEXIST` if the name is taken.
    pub fn adopt(dir: &NetnsDir, name: &str, source: &Path) -> Result<Netns> {
        let what = || format!("pinning namespace {} as {name}", source.display());
        dir.ensure()?;
        let opened = Netns::open_path(source)?;
        let pin = dir.pin(name);
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&pin)
            .map(drop)
            .map_err(|e| Error::os(what(), e))?;
        // Through our own descriptor: `source` may be a path only this process can resolve.
        let me = PathBuf::from(format!("/proc/self/fd/{}", opened.fd.as_raw_fd()));
        if let Err(e) = sys::mount(Some(&me), &pin, Some("none"), libc::MS_BIND, None) {
            let _ = fs::remove_file(&pin);
            return Err(Error::os(what(), e));
        }
        Ok(Netns {
            name: name.to_string(),
            path: pin,
            fd: opened.fd,
        })
    }

    /// Opens the namespace pinned as `name` in `dir`.
    pub fn open(dir: &NetnsDir, name: &str) -> Result<Netns> {
        let path = dir.pin(name);
        let mut ns = Netns::open_path(&path)?;
        ns.name = name.to_string();
        Ok(ns)
    }

    /// Opens the namespace at any nsfs path (a pin, or `/proc/<pid>/ns/net`).
    pub fn open_path(path: &Path) -> Result<Netns> {
        let fd = sys::open(path, libc::O_RDONLY).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Error::NotFound {
                    what: format!("opening namespace {}", path.display()),
                }
            } else {
                Error::os(format!("opening namespace {}", path.display()), e)
            }
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Netns {
            name,
            path: path.to_path_buf(),
            fd,
        })
    }

    /// The namespace of the calling thread.
    pub fn current() -> Result<Netns> {
        let path = PathBuf::from("/proc/thread-self/ns/net");
        let mut ns = Netns::open_path(&path)?;
        ns.name = "(current)".into();
        Ok(ns)
    }

    /// The name it is pinned under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pin path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The namespace's inode number: the identity `/proc/<pid>/ns/net` links show as
    /// `net:[<inode>]`.
    pub fn inode(&self) -> Result<u64> {
        sys::fstat_ino(self.fd.as_fd())
            .map(|(_, ino)| ino)
            .map_err(|e| Error::os(format!("stat of namespace {}", self.name), e))
    }

    /// Another descriptor on the same namespace.
    pub fn try_clone(&self) -> Result<Netns> {
        Ok(Netns {
            name: self.name.clone(),
            path: self.path.clone(),
            fd: self.fd.try_clone().map_err(|e| {
                Error::os(
                    format!("duplicating descriptor of namespace {}", self.name),
                    e,
                )
            })?,
        })
    }

    /// Unpins the namespace from `dir` and closes this descriptor. Processes still inside keep
    /// it alive until they exit.
    pub fn delete(self, dir: &NetnsDir) -> Result<()> {
        dir.unpin(&self.name)
    }

    /// Runs `f` on a new thread inside this namespace and returns its result. The calling thread
    /// never changes namespace. A panic in `f` is resumed on the caller.
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let fd = self.fd.as_fd();
        let outcome = std::thread::scope(|s| {
            s.spawn(move || {
                sys::setns(fd, libc::CLONE_NEWNET)?;
                Ok::<R, io::Error>(f())
            })
            .join()
        });
        match outcome {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(Error::os(format!("entering namespace {}", self.name), e)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Like [`Netns::run`] for a closure that itself returns a [`Result`].
    pub fn run_result<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> Result<R> + Send,
        R: Send,
    {
        self.run(f)?
    }

    /// Brings `lo` up (a new namespace starts with it down).
    pub fn set_loopback_up(&self) -> Result<()> {
        self.run(|| sys::set_if_up("lo", true))?
            .map_err(|e| Error::os(format!("bringing lo up in {}", self.name), e))
    }

    /// Writes a sysctl of this namespace: `key` as in `sysctl(8)` with dots or slashes
    /// (`net.ipv4.ip_forward`, `net/ipv6/conf/all/forwarding`). Only `net.*` keys are per
    /// namespace, so only they are accepted.
    pub fn set_sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = sysctl_path(key)?;
        let what = format!("setting sysctl {key}={value} in {}", self.name);
        self.run(|| fs::write(&path, value))?
            .map_err(|e| Error::os(what, e))
    }

    /// Sets a `net.*` sysctl, or, where /proc/sys is read-only (a node in a container: the
    /// engine sets its sysctls from outside), checks that it already has `value`.
    pub fn ensure_sysctl(&self, key: &str, value: &str) -> Result<()> {
        match self.set_sysctl(key, value) {
            Ok(()) => Ok(()),
            Err(e) => match self.sysctl(key) {
                Ok(current) if current == value => Ok(()),
                _ => Err(e),
            },
        }
    }

    /// Reads a `net.*` sysctl of this namespace (trimmed).
    pub fn sysctl(&self, key: &str) -> Result<String> {
        let path = sysctl_path(key)?;
        let what = format!("reading sysctl {key} in {}", self.name);
        self.run(|| fs::read_to_string(&path))?
            .map(|s| s.trim().to_string())
            .map_err(|e| Error::os(what, e))
    }

    /// Turns IPv4 and IPv6 forwarding on or off (a router node).
    pub fn set_forwarding(&self, on: bool) -> Result<()> {
        let v = if on { "1" } else { "0" };
        self.set_sysctl("net.ipv4.ip_forward", v)?;
        self.set_sysctl("net.ipv6.conf.all.forwarding", v)
    }

    /// Sets reverse-path filtering (0 off, 1 strict, 2 loose) on `all` and `default` (or checks
    /// it where /proc/sys is read-only, see [`Netns::ensure_sysctl`]). Tunnels with asymmetric
    /// routing need 0 or 2.
    pub fn set_rp_filter(&self, mode: u8) -> Result<()> {
        if mode > 2 {
            return Err(Error::invalid(
                "rp_filter mode",
                mode.to_string(),
                "must be 0, 1 or 2",
            ));
        }
        let v = mode.to_string();
        self.ensure_sysctl("net.ipv4.conf.all.rp_filter", &v)?;
        self.ensure_sysctl("net.ipv4.conf.default.rp_filter", &v)
    }
}

impl AsFd for Netns {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `/proc/sys/...` for a `net.*` sysctl key, refusing anything that could escape that tree.
pub fn sysctl_path(key: &str) -> Result<PathBuf> {
    let rel = key.replace('.', "/");
    let ok_chars = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-'));
    let parts: Vec<&str> = rel.split('/').collect();
    if !ok_chars || parts.first() != Some(&"net") || parts.iter().any(|p| p.is_empty()) {
        return Err(Error::invalid(
            "sysctl key",
            key,
            "must be a net.* key of letters, digits, '_' and '-'",
        ));
    }
    Ok(PathBuf::from("/proc/sys").join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys_stay_under_proc_sys_net() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward").unwrap(),
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            sysctl_path("net/ipv6/conf/all/forwarding").unwrap(),
            PathBuf::from("/proc/sys/net/ipv6/conf/all/forwarding")
        );
        assert!(sysctl_path("kernel.pid_max").is_err());
        assert!(sysctl_path("net..x").is_err());
        assert!(sysctl_path("net/../../etc").is_err());
        assert!(sysctl_path("net.ipv4 x").is_err());
    }
}
