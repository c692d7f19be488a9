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
    // forbids without CAP_SYS_ADMIN, hence `seccomp=unconfined`; and a /proc of the lab's own
    // (the kernel refuses to mount one over Docker's masked /proc paths, and /proc/sys is
    // read-only there, where the namespaces' sysctls are), hence `systempaths=unconfined`.
    let out = docker(&[
        "run",
        "--rm",
        "--user",
        "65534:65534",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "systempaths=unconfined",
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

/// A Transit Gateway lab in containers: the TGW and appliance daemons want L4 multipath
/// hashing and no reverse-path filter, which a container cannot write into its read-only
/// /proc/sys; the engine sets them from outside and the daemons only check them (the TGW
/// daemon failed to start before).
#[test]
fn ct_runtime_docker_runs_a_transit_gateway_lab() {
    let image = image();
    let ws = Workspace::new();
    let lab = "ct-tgw";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let out = ws.run(&[
        "run",
        "tgw-connect",
        "--runtime",
        "docker",
        "--image",
        &image,
        "--lab",
        lab,
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(lab_containers(lab).is_empty(), "{:?}", lab_containers(lab));
    assert!(pinned_inodes(lab).is_empty());
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
        .any(|e| e["subject"] == "cgw1" && e["kind"] == "events_end");
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

/// Removes a container of the test's own when the test ends, also when it fails.
struct RemoveOnDrop(&'static str);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", self.0]);
    }
}

/// Starts `name` as a container of the user's: no network, an idle init.
fn user_container(image: &str, name: &'static str, extra: &[&str]) -> RemoveOnDrop {
    let _ = docker(&["rm", "-f", name]);
    let mut args = vec!["run", "-d", "--name", name, "--network", "none"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--entrypoint", "sleep", image, "infinity"]);
    let out = docker(&args);
    assert!(out.status.success(), "{}", describe(&out));
    RemoveOnDrop(name)
}

fn links_of(container: &str) -> String {
    let out = docker(&["exec", container, "ip", "-br", "link"]);
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const HOST_IN_A_CONTAINER: &str = r#"
[scenario]
name = "ct-host"

[[host]]
name = "a"
gateway = "10.71.0.1"

[[router]]
name = "r"

[[host]]
name = "b"
gateway = "10.72.0.1"
external = { container = "ct-host-b" }

[[link]]
endpoints = [{ node = "a", address = "10.71.0.10/24" }, { node = "r", address = "10.71.0.1/24" }]

[[link]]
endpoints = [{ node = "b", address = "10.72.0.10/24" }, { node = "r", address = "10.72.0.1/24" }]

[[probe]]
name = "udp"
from = "a"
to = "b"
rate = 100

[[expect]]
name = "delivers"
check = "delivers"
probe = "udp"
"#;

#[test]
fn ct_a_host_container_of_yours_is_plugged_in_and_released() {
    let image = image();
    let _c = user_container(&image, "ct-host-b", &[]);
    let ws = Workspace::new();
    let _down = DownOnDrop {
        ws: &ws,
        lab: "ct-host".into(),
    };
    let file = ws.file("host.toml", HOST_IN_A_CONTAINER);
    let out = ws.run(&["run", file.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // The container is still the user's and running; the lab's link into it went with the lab.
    let running = docker(&["inspect", "-f", "{{.State.Running}}", "ct-host-b"]);
    assert_eq!(String::from_utf8_lossy(&running.stdout).trim(), "true");
    let links = links_of("ct-host-b");
    assert!(!links.contains("r@"), "{links}");
    assert!(pinned_inodes("ct-host").is_empty());

    // A container that does not run: exit 2, naming it, nothing left.
    let missing = HOST_IN_A_CONTAINER.replace("ct-host-b", "ct-host-none");
    let file = ws.file("missing.toml", &missing);
    let out = ws.run(&["run", file.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ct-host-none")
            || String::from_utf8_lossy(&out.stderr).contains("ct-host-none"),
        "{}",
        describe(&out)
    );
    assert!(pinned_inodes("ct-host").is_empty());
}

/// The shipped `dual-tunnel-failover` with its customer gateway in the user's container
/// `ct-cgw`. Changed: the CGW is external (the lab waits longer for it to converge), and the
/// one expectation that matches the gap against our CGW daemon's `bgp.down` event goes (an
/// external gateway sends the engine no events; the VGW-side one stays).
fn byo_cgw_scenario() -> String {
    let text = include_str!("../scenarios/dual-tunnel-failover.toml");
    let text = text
        .replace("name = \"dual-tunnel-failover\"", "name = \"ct-byo\"")
        .replace(
            "profile = \"fast\"",
            "profile = \"fast\"\nconverge = \"90s\"",
        )
        .replace(
            "mode = \"active-standby\"",
            "mode = \"active-standby\"\nexternal = { container = \"ct-cgw\" }",
        );
    let cut = text
        .find("[[expect]]\nname = \"the outage to the VPC lasts the CGW's detection time\"")
        .expect("the CGW-side gap expectation");
    let end = cut + text[cut..].find("\n\n").expect("its end") + 2;
    format!("{}{}", &text[..cut], &text[end..])
}

/// charon's own settings (plugins, sockets, logs) before cgw-config's strongswan.conf fragment.
const CHARON_BASE: &str = "charon {
  load = random nonce openssl pem pkcs1 x509 revocation constraints pubkey aes sha1 sha2 hmac gcm kdf kernel-libipsec kernel-netlink socket-default vici updown
  port = 500
  port_nat_t = 4500
  install_virtual_ip = no
  retransmit_timeout = 0.5
  retransmit_base = 1.4
  retransmit_tries = 3
  plugins {
    vici {
      socket = unix:///cgw/charon.vici
    }
  }
  filelog {
    main {
      path = /cgw/charon.log
      default = 1
    }
  }
}
swanctl {
  load = random pem pkcs1 x509 pubkey openssl
}
";

/// Runs in the CGW container once the files are in /cgw: the routing cgw-config's header
/// lists, charon (waiting for its VICI socket, with a deadline), the tunnels, zebra and bgpd.
const CGW_START: &str = r#"set -e
cd /cgw
mkdir -p run x509 x509ca x509ocsp x509aa x509ac x509crl pubkey private rsa ecdsa bliss pkcs8 pkcs12
sh pre.sh
STRONGSWAN_CONF=/cgw/strongswan.conf nohup /usr/lib/ipsec/charon > charon.out 2>&1 &
i=0
until swanctl --stats --uri unix:///cgw/charon.vici > /dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -lt 200 ] || { cat charon.out; exit 1; }; sleep 0.1
done
sh post.sh
swanctl --load-all --noprompt --file /cgw/swanctl.conf --uri unix:///cgw/charon.vici
chmod 777 /cgw
for d in zebra bgpd; do
  /usr/lib/frr/$d -d -f /cgw/$d.conf -i /cgw/$d.pid -z /cgw/zserv.api --vty_socket /cgw/ --log file:/cgw/$d.log
done
"#;

#[test]
fn ct_your_own_cgw_container_from_cgw_config_is_the_customer_gateway_through_failover() {
    let image = image();
    // A customer gateway image built here with FRR and strongSwan (the full image has both):
    // the user's container, with what charon's TUN data plane and FRR need.
    let _c = user_container(
        &image,
        "ct-cgw",
        // FRR's daemons refuse to start without CAP_SYS_ADMIN in their permitted set.
        &[
            "--cap-add",
            "NET_ADMIN",
            "--cap-add",
            "SYS_ADMIN",
            "--device",
            "/dev/net/tun",
        ],
    );
    let ws = Workspace::new();
    let lab = "ct-byo";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let file = ws.file("byo.toml", &byo_cgw_scenario());
    let file = file.to_str().unwrap();
    let config = |arg: &str, format: &str| {
        let out = ws.run(&["cgw-config", "--format", format, arg, "vpn1"]);
        assert!(out.status.success(), "{}", describe(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let json = ws.path().join("byo.json");
    let run = ws
        .command(&[
            "run",
            file,
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
    wait_until(
        "the lab's outside link in the CGW container",
        Duration::from_secs(30),
        || {
            let out = docker(&["exec", "ct-cgw", "ip", "-br", "addr"]);
            String::from_utf8_lossy(&out.stdout).contains("198.51.100.1/24")
        },
    );
    // Everything from cgw-config: swanctl.conf with the running lab's keys, the strongswan.conf
    // fragment and FRR's bgpd.conf from the scenario, the routing in the header.
    let mut swanctl = String::new();
    wait_until(
        "`hybridlab cgw-config LAB vpn1` reads the running VGW's keys",
        Duration::from_secs(30),
        || {
            let out = ws.run(&["cgw-config", "--format", "strongswan", lab, "vpn1"]);
            swanctl = String::from_utf8_lossy(&out.stdout).into_owned();
            out.status.success()
        },
    );
    let header: Vec<&str> = swanctl
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .collect();
    let (pre, post): (Vec<&str>, Vec<&str>) =
        header.iter().partition(|l| !l.contains("dev ipsec0"));
    let files = tempfile::tempdir().unwrap();
    let put = |name: &str, text: &str| std::fs::write(files.path().join(name), text).unwrap();
    put(
        "strongswan.conf",
        &format!("{CHARON_BASE}{}", config(file, "strongswan-conf")),
    );
    put("swanctl.conf", &swanctl);
    put("pre.sh", &(pre.join("\n") + "\n"));
    put("post.sh", &(post.join("\n") + "\n"));
    put("zebra.conf", "hostname zebra\n");
    put(
        "bgpd.conf",
        &format!("hostname bgpd\n{}", config(file, "frr")),
    );
    put("start.sh", CGW_START);
    let out = docker(&[
        "cp",
        &format!("{}/.", files.path().display()),
        "ct-cgw:/cgw",
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = docker(&["exec", "ct-cgw", "sh", "/cgw/start.sh"]);
    assert!(out.status.success(), "{}", describe(&out));

    let out = run.wait_with_output().expect("wait");
    let logs = docker(&[
        "exec",
        "ct-cgw",
        "sh",
        "-c",
        "tail -n 30 /cgw/bgpd.log; tail -n 30 /cgw/charon.log; echo '--- ip rule'; ip rule; \
         echo '--- routes to 203.0.113.1'; ip route get 203.0.113.1 from 198.51.100.1; \
         ip route show table all | grep -v '^local\\|^broadcast\\|^multicast\\|^fe80\\|^ff00'; \
         echo '--- SAs'; swanctl --list-sas --uri unix:///cgw/charon.vici",
    ]);
    // On failure: also what the run recorded of tunnel 1 and of the timeline's actions (was
    // the cut restored, did the VGW see the CGW's IKE_SA_INIT).
    let tunnel1_events = || -> String {
        let Ok(text) = std::fs::read_to_string(&json) else {
            return "no run record".into();
        };
        let record: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        record["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["source"] == "action" || e.to_string().contains("vpn1-t1"))
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n--- the CGW container's bgpd, charon, routing, SAs ---\n{}\n--- tunnel 1 and actions in the record ---\n{}",
        describe(&out),
        String::from_utf8_lossy(&logs.stdout),
        tunnel1_events()
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let exps = record["expectations"].as_array().unwrap();
    assert_eq!(exps.len(), 12);
    assert!(exps.iter().all(|e| e["outcome"] == "passed"), "{exps:#?}");
    // The user's container is left running, without the lab's links.
    let links = links_of("ct-cgw");
    assert!(!links.contains("inet@"), "{links}");
    assert!(pinned_inodes(lab).is_empty());
}

#[test]
fn ct_export_compose_runs_the_scenario_with_docker_compose() {
    let image = image();
    let ws = Workspace::new();
    let dir = ws.path().join("compose");
    let out = ws.run(&[
        "export",
        "compose",
        "dual-tunnel-failover",
        "--lab",
        "ct-compose",
        "--image",
        &image,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));
    let compose = |args: &[&str]| {
        Command::new("docker-compose")
            .args(["--project-name", "ct-compose"])
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("docker-compose")
    };
    let up = compose(&["up", "--exit-code-from", "lab"]);
    let down = compose(&["down", "--volumes"]);
    assert_eq!(up.status.code(), Some(0), "{}", describe(&up));
    assert!(down.status.success(), "{}", describe(&down));
    let junit = std::fs::read_to_string(dir.join("out/junit.xml")).expect("out/junit.xml");
    assert!(junit.contains("dual-tunnel-failover"), "{junit}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/run.json")).unwrap()).unwrap();
    assert_eq!(record["lab"], "ct-compose");
    // A second export into the same directory refuses to overwrite.
    let again = ws.run(&[
        "export",
        "compose",
        "dual-tunnel-failover",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", describe(&again));
}

#[test]
fn ct_export_containerlab_matches_containerlabs_published_schema() {
    let ws = Workspace::new();
    let support = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/containers_support");
    let mut files = Vec::new();
    for name in ["dual-tunnel-failover", "dx-with-vpn-backup", "cloudhub"] {
        let dir = ws.path().join(name);
        let out = ws.run(&[
            "export",
            "containerlab",
            name,
            "--lab",
            "ct-clab",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", describe(&out));
        files.push(dir.join("ct-clab.clab.yml"));
    }
    let check = |files: &[std::path::PathBuf]| {
        Command::new("python3")
            .arg(format!("{support}/check_clab.py"))
            .arg(format!("{support}/clab.schema.json"))
            .args(files)
            .output()
            .expect("python3 (with python3-yaml and python3-jsonschema)")
    };
    let out = check(&files);
    assert!(out.status.success(), "{}", describe(&out));
    // The check can fail: a node kind containerlab does not know is refused.
    let bad = ws.file(
        "bad.clab.yml",
        &std::fs::read_to_string(&files[0])
            .unwrap()
            .replace("kind: linux", "kind: hybridlab"),
    );
    let out = check(&[bad]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}
