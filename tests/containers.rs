//! Container tests (root, Docker daemon, the image `scripts/image` builds): the image runs the
//! default scenario with the least privilege the README's table names and leaves nothing on
//! the host; `hybridlab run --runtime docker` runs every node as a container (`docker ps`
//! shows them, named and labelled), a killed container is a crashed gateway, and a lab whose
//! engine was SIGKILLed is removed, containers included, by `hybridlab down`.
//!
//! The image is `hybridlab:<version>` unless `HYBRIDLAB_TEST_IMAGE` names another; when it is
//! missing the tests fail (never skip) and say how to build it. Labs and containers are named
//! `ct-*` so parallel runs of other tests do not collide.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{DownOnDrop, Workspace, describe, pinned_inodes, wait_until};

fn image() -> String {
    let image = std::env::var("HYBRIDLAB_TEST_IMAGE")
        .unwrap_or_else(|_| format!("hybridlab:{}", env!("CARGO_PKG_VERSION")));
    let ok = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", &image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "image {image} not found (or no Docker daemon): build it with scripts/image"
    );
    image
}

/// Names of the containers labelled with lab `lab`.
fn lab_containers(lab: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label=hybridlab.lab={lab}"),
            "--format",
            "{{.Names}}",
        ])
        .output()
        .expect("docker ps");
    assert!(out.status.success(), "docker ps: {}", describe(&out));
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker").args(args).output().expect("docker")
}

/// The nodes of the default scenario, as containers of lab `lab`.
fn default_containers(lab: &str) -> Vec<String> {
    let mut v: Vec<String> = ["cgw1", "h1", "inet", "vgw1", "vpc1", "vpchost"]
        .iter()
        .map(|n| format!("hl-{lab}-{n}"))
        .collect();
    v.sort();
    v
}

#[test]
fn ct_the_image_runs_the_default_scenario_and_leaves_nothing_on_the_host() {
    let image = image();
    let name = "ct-image-run";
    let _ = docker(&["rm", "-f", name]);
    // The least privilege of the README's table for root in the container: NET_ADMIN and
    // SYS_ADMIN (creating namespaces), the TUN device, Docker's default seccomp profile.
    let out = docker(&[
        "run",
        "--rm",
        "--name",
        name,
        "--cap-add",
        "NET_ADMIN",
        "--cap-add",
        "SYS_ADMIN",
        "--device",
        "/dev/net/tun",
        &image,
        "run",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("dual-tunnel-failover: PASSED"),
        "{}",
        describe(&out)
    );
    // --rm removed the container; its namespaces were never the host's.
    let left = docker(&["ps", "-a", "--filter", &format!("name={name}"), "-q"]);
    assert!(String::from_utf8_lossy(&left.stdout).trim().is_empty());
    assert!(pinned_inodes("dual-tunnel-failover").is_empty());

    // NET_ADMIN alone is not enough (the engine creates namespaces): refused clearly, exit 2.
    let out = docker(&[
        "run",
        "--rm",
        "--cap-add",
        "NET_ADMIN",
        "--device",
        "/dev/net/tun",
        &image,
        "run",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"),
        "{}",
        describe(&out)
    );
}

#[test]
fn ct_the_image_runs_rootless_as_an_unprivileged_user_without_added_capabilities() {
    let image = image();
    // No capability added; a user namespace instead, which Docker's default seccomp profile
    // forbids without CAP_SYS_ADMIN, hence `seccomp=unconfined`.
    let out = docker(&[
        "run",
        "--rm",
        "--user",
        "65534:65534",
        "--security-opt",
        "seccomp=unconfined",
        "--device",
        "/dev/net/tun",
        &image,
        "run",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("PASSED"));
}

#[test]
fn ct_runtime_docker_runs_every_node_as_a_container_and_removes_them() {
    let image = image();
    let ws = Workspace::new();
    let lab = "ct-run";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let json = ws.path().join("run.json");
    let mut child = ws
        .command(&[
            "run",
            "--runtime",
            "docker",
            "--image",
            &image,
            "--lab",
            lab,
            "-q",
            "--json",
            json.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hybridlab run");
    // docker ps shows the lab: one container per node, named hl-LAB-NODE, labelled.
    wait_until("the lab's containers", Duration::from_secs(30), || {
        lab_containers(lab) == default_containers(lab)
    });
    let out = docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"hybridlab.node\"}} {{.HostConfig.NetworkMode}}",
        &format!("hl-{lab}-vgw1"),
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "vgw1 none",
        "{}",
        describe(&out)
    );
    // The gateway's daemon runs inside its container.
    wait_until(
        "the VGW daemon in its container",
        Duration::from_secs(30),
        || {
            let top = docker(&["top", &format!("hl-{lab}-vgw1")]);
            String::from_utf8_lossy(&top.stdout).contains("daemon vgw")
        },
    );
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(record["scenario"], "dual-tunnel-failover");
    assert!(lab_containers(lab).is_empty(), "{:?}", lab_containers(lab));
    assert!(pinned_inodes(lab).is_empty());
    assert!(!ws.state().join(lab).exists());
}

#[test]
fn ct_a_killed_gateway_container_is_a_crashed_gateway() {
    let image = image();
    let ws = Workspace::new();
    let lab = "ct-kill";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let json = ws.path().join("run.json");
    let child = ws
        .command(&[
            "run",
            "--runtime",
            "docker",
            "--image",
            &image,
            "--lab",
            lab,
            "-q",
            "--json",
            json.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hybridlab run");
    // Once the customer gateway has a BGP session up, kill its container.
    wait_until("cgw1 to have BGP up", Duration::from_secs(30), || {
        let o = ws.run(&["show", lab, "cgw1", "bgp"]);
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Established")
    });
    let out = docker(&["kill", &format!("hl-{lab}-cgw1")]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = child.wait_with_output().expect("wait");
    // Expectations fail (exit 1), not the environment (2): the lab stays up without its CGW.
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ended = record["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["node"] == "cgw1" && e["kind"] == "events_end");
    assert!(ended, "no events_end from cgw1 in the record");
    assert!(lab_containers(lab).is_empty(), "{:?}", lab_containers(lab));
    assert!(pinned_inodes(lab).is_empty());
}

#[test]
fn ct_down_removes_the_containers_of_a_lab_whose_engine_was_killed() {
    let image = image();
    let ws = Workspace::new();
    let lab = "ct-down";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let mut child = ws
        .command(&[
            "run",
            "--runtime",
            "docker",
            "--image",
            &image,
            "--lab",
            lab,
            "-q",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hybridlab run");
    wait_until("the lab's containers", Duration::from_secs(30), || {
        lab_containers(lab) == default_containers(lab)
    });
    child.kill().expect("SIGKILL hybridlab");
    child.wait().expect("reap");
    // Docker owns the containers: they outlive the engine until the sweep.
    assert_eq!(lab_containers(lab), default_containers(lab));
    let out = ws.run(&["down"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(lab),
        "{}",
        describe(&out)
    );
    assert!(lab_containers(lab).is_empty(), "{:?}", lab_containers(lab));
    assert!(pinned_inodes(lab).is_empty());
    assert!(!ws.state().join(lab).exists());
}
