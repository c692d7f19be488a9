//! `--runtime docker`: what a node's container looks like and how a node's process is started
//! in it. The real backend ([`super::netns_backend`]) creates the containers through
//! `netns::container` and then treats each container's network namespace as the node's.
//!
//! ```text
//!   container hl-<lab>-<node> (labels hybridlab.lab, hybridlab.node), image hybridlab:<v>
//!     --network none                 the engine moves the lab's veths in (rtnetlink)
//!     --cap-add NET_ADMIN, SYS_ADMIN TUN devices, routes, nftables; a VGW programs its VPC's
//!                                    namespace (setns needs CAP_SYS_ADMIN)
//!     --device /dev/net/tun          IPsec tunnels
//!     --sysctl ...disable_ipv6=0     IPv6 on, as in a bare namespace (Docker turns it off)
//!     <lab dir> (rw)                 configs, logs, control sockets at the same paths as on the host
//!     <pin dir> (rslave)             the other nodes' namespace pins, for the VGW
//!     <the engine's executable> (ro) at /usr/local/lib/hybridlab/hybridlab: daemons and engine
//!                                    are always the same build, whatever the image holds
//!   process: docker exec -w <node dir> hl-<lab>-<node> sh -c 'echo $$ > .NAME.pid; exec "$@"' ...
//! ```
//!
//! What it does not do: create containers (`netns::container`), or run anything but our own
//! node daemons in them.

use std::path::{Path, PathBuf};
use std::process::Command;

use netns::container::{ContainerSpec, Mount};

use crate::kind::ProcessSpec;

/// Where the engine's executable appears inside a node's container.
pub const EXE_IN_CONTAINER: &str = "/usr/local/lib/hybridlab/hybridlab";

/// How to run nodes as containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerRuntime {
    /// Image (`hybridlab:<version>`, built by `scripts/image`).
    pub image: String,
    /// The engine's executable on the host (bind-mounted read-only into each container).
    pub exe: PathBuf,
}

/// Where the lab's nodes run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Runtime {
    /// Each node a bare network namespace (the default).
    #[default]
    Namespaces,
    /// Each node a Docker container.
    Docker(DockerRuntime),
}

impl DockerRuntime {
    /// The container of `node` in lab `lab`, whose state directory is `lab_dir` and whose
    /// namespace pins are in `pin_dir`.
    pub fn spec(&self, lab: &str, node: &str, lab_dir: &Path, pin_dir: &Path) -> ContainerSpec {
        ContainerSpec {
            name: container_name(lab, node),
            image: self.image.clone(),
            lab: lab.to_string(),
            node: node.to_string(),
            cap_add: vec!["NET_ADMIN".into(), "SYS_ADMIN".into()],
            devices: vec![PathBuf::from("/dev/net/tun")],
            mounts: vec![
                Mount {
                    source: lab_dir.to_path_buf(),
                    target: lab_dir.to_path_buf(),
                    read_only: false,
                    slave: false,
                },
                Mount {
                    source: pin_dir.to_path_buf(),
                    target: pin_dir.to_path_buf(),
                    read_only: true,
                    slave: true,
                },
                Mount {
                    source: self.exe.clone(),
                    target: PathBuf::from(EXE_IN_CONTAINER),
                    read_only: true,
                    slave: false,
                },
            ],
            security_opt: Vec::new(),
            // Docker turns IPv6 off in a container's namespace; a bare one has it on (Direct
            // Connect VIFs carry IPv6 sessions). /proc/sys stays read-only in the container:
            // the engine sets the nodes' sysctls from outside.
            sysctls: ["all", "default"]
                .iter()
                .map(|s| (format!("net.ipv6.conf.{s}.disable_ipv6"), "0".to_string()))
                .collect(),
        }
    }

    /// The `docker exec` that runs `spec` in `node`'s container, in its node directory `dir`.
    /// The process writes its pid (in the container's PID namespace) to [`pid_file`] first, so
    /// that a `kill` action can signal it there.
    pub fn exec(&self, lab: &str, node: &str, spec: &ProcessSpec, dir: &Path) -> Command {
        let mut argv: Vec<String> = vec![
            "sh".into(),
            "-c".into(),
            format!("echo $$ > {} && exec \"$@\"", pid_file_name(&spec.name)),
            "sh".into(),
        ];
        for (i, a) in spec.argv.iter().enumerate() {
            if i == 0 && Path::new(a) == self.exe {
                argv.push(EXE_IN_CONTAINER.into());
            } else {
                argv.push(a.clone());
            }
        }
        let mut names: Vec<&str> = spec.env.iter().map(|(k, _)| k.as_str()).collect();
        if std::env::var_os("HYBRIDLAB_LOG").is_some() {
            names.push("HYBRIDLAB_LOG");
        }
        let mut cmd =
            netns::container::exec_command(&container_name(lab, node), dir, &names, &argv);
        cmd.envs(spec.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// `hl-<lab>-<node>`, the same name as the node's namespace.
pub fn container_name(lab: &str, node: &str) -> String {
    format!("hl-{lab}-{node}")
}

fn pid_file_name(process: &str) -> String {
    format!(".{process}.pid")
}

/// The file in the node directory where process `process` of a container node left its pid.
pub fn pid_file(dir: &Path, process: &str) -> PathBuf {
    dir.join(pid_file_name(process))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemon_runs_the_mounted_executable_and_records_its_pid() {
        let rt = DockerRuntime {
            image: "hybridlab:0.1.0".into(),
            exe: "/work/target/release/hybridlab".into(),
        };
        let spec = ProcessSpec {
            name: "vgw".into(),
            argv: vec![
                "/work/target/release/hybridlab".into(),
                "daemon".into(),
                "vgw".into(),
            ],
            files: vec![],
            env: vec![("RUST_BACKTRACE".into(), "1".into())],
            control_socket: true,
        };
        let cmd = rt.exec("t", "vgw1", &spec, Path::new("/run/hybridlab/t/vgw1"));
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let text = args.join(" ");
        assert!(
            text.starts_with("exec -w /run/hybridlab/t/vgw1 -e RUST_BACKTRACE hl-t-vgw1 sh -c"),
            "{text}"
        );
        assert!(args.contains(&"echo $$ > .vgw.pid && exec \"$@\"".to_string()));
        assert!(
            text.ends_with(&format!("sh {EXE_IN_CONTAINER} daemon vgw")),
            "{text}"
        );
        // The value travels in the client's environment, never on its command line.
        assert!(!text.contains("RUST_BACKTRACE=1"));
        let spec = rt.spec(
            "t",
            "vgw1",
            Path::new("/run/hybridlab/t"),
            Path::new("/run/netns"),
        );
        assert_eq!(spec.name, "hl-t-vgw1");
        assert!(
            spec.mounts
                .iter()
                .any(|m| m.target == Path::new(EXE_IN_CONTAINER) && m.read_only)
        );
    }
}
