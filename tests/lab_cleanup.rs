//! Namespace tests (root): a `hybridlab run` killed with SIGKILL mid-scenario leaves its lab
//! behind, and the next `hybridlab down` or `hybridlab run` removes every namespace, mount,
//! process and state directory of it; a malformed scenario exits 2 naming file, line and field,
//! and creates nothing.
//!
//! The labs here have no TUN device (host and router nodes have none); a TUN, like every link,
//! lives inside a lab namespace, and the tests assert that those namespaces are gone: no pin,
//! no mount, no process inside them.

mod common;

use std::time::Duration;

use common::{DownOnDrop, Workspace, describe, leftovers, pinned_inodes, wait_until};

/// Two hosts and a router; `a` runs a long `sleep` (the marker), and the timeline keeps the
/// run busy for a minute, long enough to be killed in the middle.
fn long_scenario(p: &str, marker_secs: &str) -> String {
    format!(
        r#"[scenario]
name = "{p}"

[[host]]
name = "{p}a"
gateway = "10.71.0.1"
commands = [{{ name = "marker", run = ["sleep", "{marker_secs}"] }}]

[[router]]
name = "{p}r"

[[host]]
name = "{p}b"
gateway = "10.72.0.1"

[[link]]
endpoints = [{{ node = "{p}a", address = "10.71.0.10/24" }}, {{ node = "{p}r", address = "10.71.0.1/24" }}]

[[link]]
endpoints = [{{ node = "{p}b", address = "10.72.0.10/24" }}, {{ node = "{p}r", address = "10.72.0.1/24" }}]

[[probe]]
name = "udp"
from = "{p}a"
to = "{p}b"
rate = 100

[[timeline]]
name = "late-cut"
at = "60s"
action = "cut"
node = "{p}r"
duration = "1s"

[[expect]]
name = "delivers"
check = "delivers"
probe = "udp"
"#
    )
}

/// Starts a long run of lab `p`, waits until it is fully up, SIGKILLs `hybridlab`, and checks
/// that the lab was left behind (so the cleanup that follows has something to do). Returns the
/// lab's namespace inodes.
fn run_and_kill(ws: &Workspace, p: &str, marker: &str) -> Vec<u64> {
    let file = ws.file(&format!("{p}.toml"), &long_scenario(p, marker));
    let mut child = ws
        .command(&["run", file.to_str().unwrap(), "--lab", p, "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start hybridlab run");
    let lab_json = ws.state().join(p).join("lab.json");
    let markers = [marker];
    wait_until("the lab to be up", Duration::from_secs(20), || {
        lab_json.exists()
            && pinned_inodes(p).len() == 3
            && !leftovers(ws, p, &[], &[], &markers).processes.is_empty()
    });
    let inodes = pinned_inodes(p);
    child.kill().expect("SIGKILL hybridlab");
    let status = child.wait().expect("reap hybridlab");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc_sigkill())
    );
    // The engine is dead and its processes with it (PID namespace), but its namespace pins and
    // state directory remain for the next run/down to sweep.
    wait_until(
        "the lab's processes to die with the engine",
        Duration::from_secs(10),
        || {
            leftovers(ws, p, &inodes, &[], &markers)
                .processes
                .is_empty()
        },
    );
    let left = leftovers(ws, p, &inodes, &[], &markers);
    assert_eq!(
        left.pins.len(),
        3,
        "pins should survive a SIGKILL: {left:?}"
    );
    assert!(
        left.state_dir.is_some(),
        "state should survive a SIGKILL: {left:?}"
    );
    inodes
}

fn libc_sigkill() -> i32 {
    9
}

fn ifnames(p: &str) -> Vec<String> {
    ["a", "r", "b"].iter().map(|n| format!("{p}{n}")).collect()
}

#[test]
fn sigkill_mid_run_then_down_leaves_nothing() {
    let ws = Workspace::new();
    let p = "sctkd";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: p.into(),
    };
    let marker = "86400.4711";
    let inodes = run_and_kill(&ws, p, marker);
    let out = ws.run(&["down", p]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let names = ifnames(p);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let left = leftovers(&ws, p, &inodes, &names, &[marker, &format!("--lab {p}")]);
    assert!(left.none(), "after down: {left:#?}");
}

#[test]
fn sigkill_mid_run_then_next_run_sweeps_it() {
    let ws = Workspace::new();
    let p = "sctkr";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: p.into(),
    };
    let marker = "86400.4712";
    let inodes = run_and_kill(&ws, p, marker);
    // The next run (another, short lab) sweeps the dead one before it starts.
    let next = ws.file("next.toml", SHORT);
    let out = ws.run(&["run", next.to_str().unwrap(), "--lab", "sctkn", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(p),
        "the next run should report sweeping {p}: {}",
        describe(&out)
    );
    let names = ifnames(p);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let left = leftovers(&ws, p, &inodes, &names, &[marker, &format!("--lab {p}")]);
    assert!(left.none(), "after the next run: {left:#?}");
    let next_left = leftovers(&ws, "sctkn", &[], &[], &["--lab sctkn"]);
    assert!(next_left.none(), "the next run's own lab: {next_left:#?}");
}

#[test]
fn sigterm_mid_run_tears_down_in_order_and_exits_1() {
    let ws = Workspace::new();
    let p = "sctterm";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: p.into(),
    };
    let marker = "86400.4713";
    let file = ws.file(&format!("{p}.toml"), &long_scenario(p, marker));
    let json = ws.path().join("term.json");
    let child = ws
        .command(&["run", file.to_str().unwrap(), "--lab", p, "-q", "--json"])
        .arg(&json)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start hybridlab run");
    wait_until("the lab to be up", Duration::from_secs(20), || {
        pinned_inodes(p).len() == 3 && !leftovers(&ws, p, &[], &[], &[marker]).processes.is_empty()
    });
    let inodes = pinned_inodes(p);
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(kill.success());
    let out = child.wait_with_output().expect("reap hybridlab");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    // The run record says why it stopped; the teardown needed no sweep.
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json report")).expect("json");
    assert_eq!(record["interrupted"], true, "{record}");
    let names = ifnames(p);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let left = leftovers(&ws, p, &inodes, &names, &[marker, &format!("--lab {p}")]);
    assert!(left.none(), "after SIGTERM: {left:#?}");
}

#[test]
fn down_of_a_running_lab_stops_its_owner_in_order() {
    let ws = Workspace::new();
    let p = "sctdown";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: p.into(),
    };
    let marker = "86400.4714";
    let file = ws.file(&format!("{p}.toml"), &long_scenario(p, marker));
    let json = ws.path().join("down.json");
    let child = ws
        .command(&["run", file.to_str().unwrap(), "--lab", p, "-q", "--json"])
        .arg(&json)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start hybridlab run");
    wait_until("the lab to be up", Duration::from_secs(20), || {
        pinned_inodes(p).len() == 3 && !leftovers(&ws, p, &[], &[], &[marker]).processes.is_empty()
    });
    let inodes = pinned_inodes(p);
    let out = ws.run(&["down", p]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // The owner tore its lab down itself and reported the run as interrupted.
    let run = child.wait_with_output().expect("reap hybridlab run");
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json report")).expect("json");
    assert_eq!(record["interrupted"], true, "{record}");
    let names = ifnames(p);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let left = leftovers(&ws, p, &inodes, &names, &[marker, &format!("--lab {p}")]);
    assert!(left.none(), "after down: {left:#?}");
}

/// The pids of processes whose command line contains `marker`.
fn pids_with(marker: &str) -> Vec<u32> {
    common::processes(&[], &[marker])
        .iter()
        .filter_map(|p| p.split(':').next()?.parse().ok())
        .collect()
}

#[test]
fn kill_and_restart_act_on_a_hosts_real_process() {
    let ws = Workspace::new();
    let p = "sctkill";
    let _guard = DownOnDrop {
        ws: &ws,
        lab: p.into(),
    };
    let marker = "86400.4715";
    let text = format!(
        r#"[scenario]
name = "{p}"

[[host]]
name = "{p}a"
commands = [{{ name = "marker", run = ["sleep", "{marker}"] }}]

[[host]]
name = "{p}b"

[[link]]
endpoints = [{{ node = "{p}a", address = "10.78.0.1/24" }}, {{ node = "{p}b", address = "10.78.0.2/24" }}]

[[timeline]]
name = "kill"
at = "1s"
action = "kill"
node = "{p}a"
process = "marker"

[[timeline]]
name = "restart"
at = "2s"
action = "restart"
node = "{p}a"
process = "marker"

[[timeline]]
name = "end"
at = "3s"
action = "link_up"
link = "{p}a-{p}b"
"#
    );
    let file = ws.file("kill.toml", &text);
    let mut child = ws
        .command(&["run", file.to_str().unwrap(), "--lab", p, "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start hybridlab run");
    let mut first = Vec::new();
    wait_until("the command to start", Duration::from_secs(20), || {
        first = pids_with(marker);
        first.len() == 1
    });
    wait_until("the kill", Duration::from_secs(10), || {
        pids_with(marker).is_empty()
    });
    let mut second = Vec::new();
    wait_until("the restart", Duration::from_secs(10), || {
        second = pids_with(marker);
        second.len() == 1
    });
    assert_ne!(first, second, "restart started a new process");
    let status = child.wait().expect("reap hybridlab");
    assert_eq!(status.code(), Some(0));
    assert!(
        pids_with(marker).is_empty(),
        "teardown stopped the restarted command"
    );
}

/// A short valid scenario: two hosts on one link, a route check.
const SHORT: &str = r#"[scenario]
name = "sctkn"

[[host]]
name = "n1"

[[host]]
name = "n2"

[[link]]
endpoints = [{ node = "n1", address = "10.73.0.1/24" }, { node = "n2", address = "10.73.0.2/24" }]

[[expect]]
name = "connected route"
check = "route"
node = "n1"
prefix = "10.73.0.0/24"
dev = "n2"
"#;

/// (file name, text, what the message must contain: `file:line:col` and the field path).
const MALFORMED: &[(&str, &str, &[&str])] = &[
    (
        "syntax.toml",
        "[scenario]\nname = \"sctbad\"\n\n[[host]]\nname = \"h1\n",
        &["syntax.toml:5:"],
    ),
    (
        "unknown-field.toml",
        "[scenario]\nname = \"sctbad\"\n\n[[host]]\nname = \"h1\"\ncolour = \"red\"\n",
        &["unknown-field.toml:6:1", "host[0].colour", "unknown field"],
    ),
    (
        "unknown-node.toml",
        "[scenario]\nname = \"sctbad\"\n\n[[host]]\nname = \"h1\"\n\n[[link]]\n\
         endpoints = [{ node = \"h1\", address = \"10.74.0.1/24\" }, { node = \"nope\", address = \"10.74.0.2/24\" }]\n",
        &["unknown-node.toml:8:", "link[0].endpoints[1].node", "nope"],
    ),
    (
        "overlap.toml",
        "[scenario]\nname = \"sctbad\"\n\n[[host]]\nname = \"h1\"\n\n[[host]]\nname = \"h2\"\n\n\
         [[host]]\nname = \"h3\"\n\n[[link]]\n\
         endpoints = [{ node = \"h1\", address = \"10.75.0.1/24\" }, { node = \"h2\", address = \"10.75.0.2/24\" }]\n\n\
         [[link]]\n\
         endpoints = [{ node = \"h2\", address = \"10.75.0.3/16\" }, { node = \"h3\", address = \"10.75.0.4/16\" }]\n",
        &["overlap.toml:17:", "link[1].endpoints[0]", "overlap"],
    ),
];

#[test]
fn malformed_scenarios_exit_2_with_position_and_create_nothing() {
    let ws = Workspace::new();
    for (name, text, needles) in MALFORMED {
        let file = ws.file(name, text);
        for cmd in ["run", "validate"] {
            let out = ws.run(&[cmd, file.to_str().unwrap()]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{cmd} {name}: {}",
                describe(&out)
            );
            let stderr = String::from_utf8_lossy(&out.stderr);
            for needle in *needles {
                assert!(
                    stderr.contains(needle),
                    "{cmd} {name}: message lacks {needle:?}: {}",
                    describe(&out)
                );
            }
            let left = leftovers(&ws, "sctbad", &[], &["h1", "h2", "h3"], &["--lab sctbad"]);
            assert!(left.none(), "{cmd} {name} created something: {left:#?}");
            let state_entries: Vec<_> = std::fs::read_dir(ws.state()).unwrap().flatten().collect();
            assert!(
                state_entries.is_empty(),
                "{cmd} {name} wrote state: {state_entries:?}"
            );
        }
    }
}

#[test]
fn daemon_dispatches_through_the_kind_registry() {
    let ws = Workspace::new();
    let config = ws.file("empty.json", "{}");
    let config = config.to_str().unwrap();
    let unknown = ws.run(&["daemon", "nosuch", "--config", config]);
    assert_eq!(unknown.status.code(), Some(2), "{}", describe(&unknown));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown node kind \"nosuch\""));
    // `host` is registered but runs no daemon of its own.
    let host = ws.run(&["daemon", "host", "--config", config]);
    assert_eq!(host.status.code(), Some(2), "{}", describe(&host));
    assert!(String::from_utf8_lossy(&host.stderr).contains("kind host has no daemon"));
}
