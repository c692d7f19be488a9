//! Lab nodes as Docker containers: create one per node with `--network none`, find its network
//! namespace through its pid, run commands in it with `docker exec`, remove it.
//!
//! ```text
//!   docker run -d --name hl-<lab>-<node> --label hybridlab.lab=<lab> --network none ... sleep infinity
//!   docker inspect -f {{.State.Pid}}  ->  <host /proc>/<pid>/ns/net  ->  pinned like any lab namespace
//!   docker exec -w <node dir> hl-<lab>-<node> <daemon ...>          (the node's processes)
//!   docker rm -f <containers>                                       (teardown, sweep, down)
//! ```
//!
//! Docker is driven through its command-line client, not its HTTP API on the Unix socket: the
//! client honours the user's `DOCKER_HOST` and contexts, its errors are the ones users know, it
//! adds no HTTP client to the privileged crate, and a lab makes a handful of calls per node
//! (tens of milliseconds each), far from any hot path.
//!
//! The engine runs as pid 1 of its own PID namespace with its own /proc, where the pid Docker
//! reports means nothing: [`remember_host_proc`] keeps a descriptor on the host's /proc from
//! before that namespace is entered, and the container's namespace is opened through it.
//!
//! What it does not do: build images (`scripts/image`), choose capabilities (the caller's
//! [`ContainerSpec`] does), or talk to any runtime other than a Docker-compatible CLI.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// The label every lab container carries, with the lab's name as value.
pub const LAB_LABEL: &str = "hybridlab.lab";
/// The label naming the node.
pub const NODE_LABEL: &str = "hybridlab.node";

static HOST_PROC: OnceLock<OwnedFd> = OnceLock::new();

/// Keeps a descriptor on this process's current /proc, for [`host_proc`] after the engine has
/// mounted a /proc of its own PID namespace. Call before entering that namespace; later calls
/// do nothing.
pub fn remember_host_proc() -> Result<()> {
    if HOST_PROC.get().is_some() {
        return Ok(());
    }
    let fd = crate::sys::open(Path::new("/proc"), libc::O_PATH | libc::O_DIRECTORY)
        .map_err(|e| Error::os("opening /proc", e))?;
    let _ = HOST_PROC.set(fd);
    Ok(())
}

/// The path of `<host /proc>/<pid>/<rest>`: through the descriptor of [`remember_host_proc`]
/// when there is one, else plain /proc.
pub fn host_proc(pid: u32, rest: &str) -> PathBuf {
    match HOST_PROC.get() {
        Some(fd) => PathBuf::from(format!("/proc/self/fd/{}/{pid}/{rest}", fd.as_raw_fd())),
        None => PathBuf::from(format!("/proc/{pid}/{rest}")),
    }
}

/// The Docker client: `HYBRIDLAB_DOCKER` when set (a compatible CLI), else `docker`.
pub fn docker_program() -> String {
    std::env::var("HYBRIDLAB_DOCKER").unwrap_or_else(|_| "docker".to_string())
}

/// A `docker` command with nothing on stdin.
pub fn docker() -> Command {
    let mut c = Command::new(docker_program());
    c.stdin(Stdio::null());
    c
}

/// Runs a docker command to completion; its trimmed stdout, or an error with its stderr.
pub fn run_docker(what: &str, cmd: &mut Command) -> Result<String> {
    let out = cmd.output().map_err(|e| Error::Unavailable {
        what: what.to_string(),
        detail: format!("cannot run {}: {e}", docker_program()),
    })?;
    if !out.status.success() {
        return Err(Error::Unavailable {
            what: what.to_string(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A bind mount into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Host path.
    pub source: PathBuf,
    /// Path in the container.
    pub target: PathBuf,
    /// Read-only.
    pub read_only: bool,
    /// `rslave` propagation: mounts made later under `source` on the host appear in the
    /// container (namespace pins).
    pub slave: bool,
}

/// How to create one node's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Container name (`hl-<lab>-<node>`).
    pub name: String,
    /// Image.
    pub image: String,
    /// Lab name (label).
    pub lab: String,
    /// Node name (label, hostname).
    pub node: String,
    /// Capabilities added to Docker's default set.
    pub cap_add: Vec<String>,
    /// Devices passed through (`/dev/net/tun`).
    pub devices: Vec<PathBuf>,
    /// Bind mounts.
    pub mounts: Vec<Mount>,
    /// Extra `--security-opt` values.
    pub security_opt: Vec<String>,
    /// Namespaced sysctls set at creation (`--sysctl KEY=VALUE`).
    pub sysctls: Vec<(String, String)>,
}

impl ContainerSpec {
    /// The `docker run` arguments (after `docker`): detached, no network, an idle pid 1 that
    /// holds the container (and with it the node) until it is removed or killed.
    pub fn run_args(&self) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "run".into(),
            "-d".into(),
            "--name".into(),
            self.name.clone(),
            "--hostname".into(),
            self.node.clone(),
            "--label".into(),
            format!("{LAB_LABEL}={}", self.lab),
            "--label".into(),
            format!("{NODE_LABEL}={}", self.node),
            "--network".into(),
            "none".into(),
        ];
        for c in &self.cap_add {
            a.push("--cap-add".into());
            a.push(c.clone());
        }
        for d in &self.devices {
            a.push("--device".into());
            a.push(d.display().to_string());
        }
        for s in &self.security_opt {
            a.push("--security-opt".into());
            a.push(s.clone());
        }
        for (k, v) in &self.sysctls {
            a.push("--sysctl".into());
            a.push(format!("{k}={v}"));
        }
        for m in &self.mounts {
            let mut spec = format!(
                "type=bind,source={},target={}",
                m.source.display(),
                m.target.display()
            );
            if m.read_only {
                spec += ",readonly";
            }
            if m.slave {
                spec += ",bind-propagation=rslave";
            }
            a.push("--mount".into());
            a.push(spec);
        }
        a.extend([
            "--entrypoint".into(),
            "sleep".into(),
            self.image.clone(),
            "infinity".into(),
        ]);
        a
    }
}

/// Creates and starts the container; returns the pid of its init as the host sees it.
pub fn start(spec: &ContainerSpec) -> Result<u32> {
    let what = format!("starting container {} from {}", spec.name, spec.image);
    run_docker(&what, docker().args(spec.run_args()))?;
    pid(&spec.name)
}

/// The host pid of a running container's init.
pub fn pid(name: &str) -> Result<u32> {
    let what = format!("finding the pid of container {name}");
    let out = run_docker(
        &what,
        docker().args(["inspect", "-f", "{{.State.Pid}}", name]),
    )?;
    match out.parse::<u32>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Error::Unavailable {
            what,
            detail: format!("container is not running (pid {out:?})"),
        }),
    }
}

/// Whether a container of that name exists (running or not).
pub fn exists(name: &str) -> bool {
    docker()
        .args(["container", "inspect", "-f", "{{.Id}}", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Removes containers by name (killing what runs in them); names already gone are fine.
pub fn remove(names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let out = docker()
        .args(["rm", "-f"])
        .args(names)
        .output()
        .map_err(|e| Error::Unavailable {
            what: format!("removing containers {}", names.join(", ")),
            detail: format!("cannot run {}: {e}", docker_program()),
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let real: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("No such container"))
        .collect();
    if out.status.success() || real.is_empty() {
        Ok(())
    } else {
        Err(Error::Unavailable {
            what: format!("removing containers {}", names.join(", ")),
            detail: real.join("; "),
        })
    }
}

/// Names of the containers labelled with lab `lab` (running or not).
pub fn of_lab(lab: &str) -> Result<Vec<String>> {
    let out = run_docker(
        &format!("listing the containers of lab {lab}"),
        docker().args([
            "ps",
            "-a",
            "--filter",
            &format!("label={LAB_LABEL}={lab}"),
            "--format",
            "{{.Names}}",
        ]),
    )?;
    Ok(out.lines().map(str::to_string).collect())
}

/// A `docker exec` of `argv` in container `name`, working directory `dir`. `env` names
/// variables passed by name only (`-e NAME`: the value comes from the client's environment,
/// never from its command line, so `ps` does not show it); set them on the returned command.
pub fn exec_command(name: &str, dir: &Path, env: &[&str], argv: &[String]) -> Command {
    let mut c = docker();
    c.arg("exec").arg("-w").arg(dir);
    for e in env {
        c.arg("-e").arg(e);
    }
    c.arg(name).args(argv);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_args_name_label_isolate_and_mount() {
        let spec = ContainerSpec {
            name: "hl-t-vgw1".into(),
            image: "hybridlab:0.1.0".into(),
            lab: "t".into(),
            node: "vgw1".into(),
            cap_add: vec!["NET_ADMIN".into()],
            devices: vec!["/dev/net/tun".into()],
            mounts: vec![Mount {
                source: "/run/netns".into(),
                target: "/run/netns".into(),
                read_only: false,
                slave: true,
            }],
            security_opt: vec![],
            sysctls: vec![("net.ipv6.conf.all.disable_ipv6".into(), "0".into())],
        };
        let a = spec.run_args().join(" ");
        assert!(
            a.starts_with("run -d --name hl-t-vgw1 --hostname vgw1"),
            "{a}"
        );
        assert!(a.contains("--label hybridlab.lab=t --label hybridlab.node=vgw1"));
        assert!(a.contains("--network none"));
        assert!(a.contains("--cap-add NET_ADMIN --device /dev/net/tun"));
        assert!(a.contains("--sysctl net.ipv6.conf.all.disable_ipv6=0"));
        assert!(a.contains(
            "--mount type=bind,source=/run/netns,target=/run/netns,bind-propagation=rslave"
        ));
        assert!(
            a.ends_with("--entrypoint sleep hybridlab:0.1.0 infinity"),
            "{a}"
        );
    }

    #[test]
    fn host_proc_path_without_a_remembered_descriptor_is_plain_proc() {
        if HOST_PROC.get().is_none() {
            assert_eq!(host_proc(42, "ns/net"), PathBuf::from("/proc/42/ns/net"));
        }
    }
}
