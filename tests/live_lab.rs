//! The live lab and packet captures, end to end with the real binary (root, and rootless as
//! uid 65534 through `setpriv`):
//! - `hybridlab up` returns once every session is Established and every tunnel UP, and the lab
//!   keeps running after it returns; `ps` lists it as live with a living owner;
//! - `exec` runs a command inside a node (its addresses, its exit status);
//! - `act cut` (the timeline's parser and executor) takes BGP down on tunnel 1, seen through
//!   `show`, and `act restore` brings it back; a typo in an action is a located error;
//! - `capture LAB LINK` streams pcapng that tshark reads (ESP-in-UDP on the underlay, the
//!   probes' UDP inside a tunnel's TUN device);
//! - `down` leaves no namespace, process, mount or state behind;
//! - `run --capture DIR` on `dual-tunnel-failover` and on a Direct Connect scenario writes
//!   pcapng files in which tshark finds no malformed packet, and finds IKE, ESP-in-UDP, BGP
//!   inside the tunnels, BFD and 802.1Q VLANs; a link's `capture = true` captures that link
//!   only, and a typo next to it is an error at its line.
//!
//! Lab names start with `ll-` (other test binaries run beside this one).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Duration;

use common::{DownOnDrop, Workspace, describe, leftovers, wait_until};
use serde_json::Value;

/// One lab at a time in this binary (each is a whole topology).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The BGP state of `neighbor` as `node` shows it, through `run` (root or rootless).
fn bgp_state(run: &dyn Fn(&[&str]) -> Output, lab: &str, node: &str, neighbor: &str) -> String {
    let out = run(&["show", lab, node, "bgp"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v["neighbors"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["name"] == neighbor)
        .and_then(|n| n["state"].as_str())
        .unwrap_or("?")
        .to_string()
}

/// tshark's one-line summaries of a pcapng file, and its malformed packets.
fn tshark(file: &Path) -> (Vec<String>, Vec<String>) {
    let read = |filter: Option<&str>| {
        let mut c = Command::new("tshark");
        c.args(["-n", "-r"]).arg(file);
        if let Some(f) = filter {
            c.args(["-Y", f]);
        }
        let out = c
            .output()
            .expect("tshark is needed (scripts/test installs it)");
        assert!(
            out.status.success(),
            "tshark -r {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out).lines().map(str::to_string).collect::<Vec<_>>()
    };
    (read(None), read(Some("_ws.malformed")))
}

/// Every protocol tshark sees in a file (`frame.protocols`, split).
fn protocols(file: &Path) -> std::collections::BTreeSet<String> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(file)
        .args(["-T", "fields", "-e", "frame.protocols"])
        .output()
        .expect("tshark");
    stdout(&out)
        .lines()
        .flat_map(|l| l.split(':').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// The whole live cycle through `run` (a command line runner: root, or rootless).
fn live_cycle(ws: &Workspace, lab: &str, run: &dyn Fn(&[&str]) -> Output) {
    let out = run(&[
        "up",
        "dual-tunnel-failover",
        "--profile",
        "fast",
        "--lab",
        lab,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("lab {lab} is up"))
            && text.contains("every session Established, every tunnel UP"),
        "{text}"
    );
    assert!(
        text.contains(&format!("hybridlab exec {lab} h1 -- sh")),
        "{text}"
    );
    // `up` returned and the lab still runs, ready as it said.
    assert_eq!(bgp_state(run, lab, "vgw1", "vpn1-t1"), "Established");
    assert_eq!(bgp_state(run, lab, "vgw1", "vpn1-t2"), "Established");
    let ps = stdout(&run(&["ps"]));
    let row = ps
        .lines()
        .find(|l| l.starts_with(lab))
        .unwrap_or_else(|| panic!("{lab} not in ps:\n{ps}"));
    assert!(
        row.contains("dual-tunnel-failover") && row.contains("live") && row.contains("alive"),
        "{row}"
    );

    // exec: inside h1, its address; the command's exit status is exec's.
    let out = run(&["exec", lab, "h1", "--", "cat", "/proc/net/fib_trie"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(stdout(&out).contains("10.1.0.10"), "{}", describe(&out));
    let out = run(&["exec", lab, "h1", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", describe(&out));
    let out = run(&["exec", lab, "nosuch", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no node nosuch"));

    // capture: the underlay carries ESP in UDP; tunnel 1's TUN device, the probes' UDP.
    let file = ws.path().join(format!("{lab}-live.pcapng"));
    let out = run(&["capture", lab, "cgw1-inet", "--count", "40"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    std::fs::write(&file, &out.stdout).unwrap();
    let (lines, malformed) = tshark(&file);
    assert_eq!(lines.len(), 40, "{lines:#?}");
    assert!(malformed.is_empty(), "{malformed:#?}");
    assert!(lines.iter().any(|l| l.contains("ESP")), "{lines:#?}");
    let out = run(&["capture", lab, "vgw1:vpn1t1", "--count", "20"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    std::fs::write(&file, &out.stdout).unwrap();
    let (lines, malformed) = tshark(&file);
    assert!(malformed.is_empty(), "{malformed:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("10.1.0.10") && l.contains("UDP")),
        "{lines:#?}"
    );

    // act: a typo is a located error and changes nothing; a cut of tunnel 1's IKE/ESP takes
    // its BGP session down (hold timer), restore brings it back.
    let out = run(&["act", lab, "cut", "nod=cgw1"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("unknown field `nod`") && e.contains("scenario.toml + act"),
        "{e}"
    );
    let out = run(&[
        "act",
        lab,
        "cut",
        "node=cgw1",
        "proto=udp",
        "ports=[500, 4500]",
        "peer=203.0.113.1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(stdout(&out).contains("cut-"), "{}", describe(&out));
    let cut = stdout(&out)
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string();
    wait_until(
        "BGP on tunnel 1 goes down after act cut",
        Duration::from_secs(20),
        || bgp_state(run, lab, "vgw1", "vpn1-t1") != "Established",
    );
    assert_eq!(bgp_state(run, lab, "vgw1", "vpn1-t2"), "Established");
    let routes = stdout(&run(&["show", lab, "vgw1", "routes"]));
    assert!(routes.contains("vpn1-t2"), "{routes}");
    let out = run(&["act", lab, "restore", &format!("cut={cut}")]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        stdout(&out).contains(&format!("restored {cut}")),
        "{}",
        describe(&out)
    );
    wait_until(
        "BGP on tunnel 1 comes back after act restore",
        Duration::from_secs(30),
        || bgp_state(run, lab, "vgw1", "vpn1-t1") == "Established",
    );

    // down: nothing left.
    let out = run(&["down", lab]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    wait_until("the owner to exit", Duration::from_secs(10), || {
        common::processes(&[], &[&format!("--lab {lab}")]).is_empty()
    });
    let left = leftovers(ws, lab, &[], &[], &[&format!("--lab {lab}")]);
    assert!(left.none(), "{left:#?}");
    assert!(!stdout(&run(&["ps"])).contains(lab));
}

#[test]
fn up_exec_act_capture_ps_down_as_root() {
    let _s = serial();
    let ws = Workspace::new();
    let _down = DownOnDrop {
        ws: &ws,
        lab: "ll-root".into(),
    };
    live_cycle(&ws, "ll-root", &|args| ws.run(args));
}

#[test]
fn up_exec_act_capture_ps_down_rootless() {
    let _s = serial();
    let ws = Workspace::new();
    // uid 65534 must be able to read and run the binary: copy it into the 0755 workspace.
    let exe = ws.path().join("hybridlab");
    std::fs::copy(common::exe(), &exe).expect("copy hybridlab");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = |args: &[&str]| {
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(&exe)
            .args(args)
            .env("HYBRIDLAB_STATE_DIR", ws.state())
            .env_remove("HYBRIDLAB_LOG")
            .current_dir(ws.path())
            .output()
            .expect("run setpriv (util-linux)")
    };
    struct Down<'a>(&'a dyn Fn(&[&str]) -> Output);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = (self.0)(&["down", "ll-rootless"]);
        }
    }
    let _down = Down(&run);
    live_cycle(&ws, "ll-rootless", &run);
    // Rootless pins never reach /run/netns.
    assert!(common::pinned_inodes("ll-rootless").is_empty());
}

/// `run --capture DIR` on `scenario`: one file per link and per TUN/TAP device, none with a
/// malformed packet; returns every protocol seen per file (with `ip`, `tcp`, ... listed once
/// a file holds a packet).
fn run_with_captures(
    scenario: &str,
    lab: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let ws = Workspace::new();
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let dir = ws.path().join("captures");
    let out = ws.run(&[
        "run",
        scenario,
        "--profile",
        "fast",
        "--lab",
        lab,
        "-q",
        "--capture",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let mut seen = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let (lines, malformed) = tshark(&e.path());
        assert!(
            malformed.is_empty(),
            "{}: {malformed:#?}",
            e.path().display()
        );
        // A device that carried nothing (a tunnel down all along) gives a file of headers
        // only: the protocol checks below name the files that must hold packets.
        let _ = lines;
        seen.insert(
            e.file_name().to_string_lossy().into_owned(),
            protocols(&e.path()),
        );
    }
    let left = leftovers(&ws, lab, &[], &[], &[&format!("--lab {lab}")]);
    assert!(left.none(), "{left:#?}");
    seen
}

fn has(
    seen: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    file: &str,
    protos: &[&str],
) {
    let p = seen
        .get(file)
        .unwrap_or_else(|| panic!("no {file} among {:?}", seen.keys().collect::<Vec<_>>()));
    for want in protos {
        assert!(p.contains(*want), "{file}: no {want} in {p:?}");
    }
}

#[test]
fn captures_of_a_vpn_run_hold_ike_esp_and_bgp_and_nothing_malformed() {
    let _s = serial();
    let seen = run_with_captures("dual-tunnel-failover", "ll-capvpn");
    // The underlay: IKE (isakmp) and ESP in UDP (udpencap) on both gateways' outside links.
    has(&seen, "cgw1-inet.pcapng", &["isakmp", "udpencap", "esp"]);
    has(&seen, "vgw1-inet.pcapng", &["isakmp", "udpencap", "esp"]);
    // The tunnels' inside (TUN devices): BGP in clear, and the probes.
    for f in [
        "vgw1-vpn1t1.pcapng",
        "vgw1-vpn1t2.pcapng",
        "cgw1-vpn1t1.pcapng",
        "cgw1-vpn1t2.pcapng",
    ] {
        has(&seen, f, &["raw", "ip", "tcp", "bgp", "udp"]);
    }
    has(&seen, "h1-cgw1.pcapng", &["eth", "udp"]);
}

#[test]
fn captures_of_a_dx_run_hold_vlans_bfd_and_bgp_and_nothing_malformed() {
    let _s = serial();
    let seen = run_with_captures("dx-bgp-failover-test", "ll-capdx");
    // The cross-connect is an 802.1Q trunk: tags put back in the file, BFD and BGP inside.
    has(&seen, "dxcon1.pcapng", &["vlan", "bfd", "bgp"]);
}

#[test]
fn a_links_capture_flag_captures_that_link_only_and_a_typo_is_located() {
    let _s = serial();
    let ws = Workspace::new();
    let shipped = scenarios::shipped::find("dual-tunnel-failover")
        .expect("shipped")
        .source()
        .text;
    // The first link (vpchost <-> vpc1), marked.
    let marked = shipped.replacen("[[link]]\n", "[[link]]\ncapture = true\n", 1);
    assert_ne!(marked, shipped);
    let typo = ws.file(
        "typo.toml",
        &shipped.replacen("[[link]]\n", "[[link]]\ncaptur = true\n", 1),
    );
    let out = ws.run(&["validate", typo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("unknown field `captur`") && e.contains("typo.toml:"),
        "{e}"
    );

    let file = ws.file("marked.toml", &marked);
    let lab = "ll-capflag";
    let _down = DownOnDrop {
        ws: &ws,
        lab: lab.into(),
    };
    let out = ws.run(&[
        "run",
        file.to_str().unwrap(),
        "--profile",
        "fast",
        "--lab",
        lab,
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let dir = ws.path().join(format!("capture-{lab}"));
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let (lines, malformed) = tshark(&dir.join(&files[0]));
    assert!(!lines.is_empty() && malformed.is_empty());
}
