//! Shared pieces of the namespace tests: an `hl-bgpd` process in a lab node, queried through
//! its control socket.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::lab::{Lab, kill};

/// Fails loudly (never skips) when the machine cannot run namespace tests.
pub fn require_root_and_frr() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(String::from))
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "namespace interop tests need root (they create network namespaces)"
    );
    assert!(
        std::path::Path::new("/usr/lib/frr/bgpd").exists(),
        "FRR is not installed: apt-get install frr (the interop tests run the real bgpd)"
    );
}

/// A running hl-bgpd.
pub struct Hl {
    child: Child,
    pub dir: tempfile::TempDir,
    sock: PathBuf,
}

impl Hl {
    pub fn start(lab: &Lab, node: &str, config: &str) -> Hl {
        let dir = tempfile::Builder::new()
            .prefix("hl-bgpd-")
            .tempdir()
            .unwrap();
        let cfg = dir.path().join("bgpd.toml");
        std::fs::write(&cfg, config).unwrap();
        let sock = dir.path().join("ctl.sock");
        let log = dir.path().join("hl-bgpd.log");
        let child = lab
            .spawn(
                node,
                env!("CARGO_BIN_EXE_hl-bgpd"),
                &[
                    "--config",
                    cfg.to_str().unwrap(),
                    "--control",
                    sock.to_str().unwrap(),
                    "--node",
                    node,
                ],
                &log,
            )
            .unwrap();
        let s = sock.clone();
        testkit::wait_for(
            "hl-bgpd control socket",
            Duration::from_secs(20),
            Duration::from_millis(50),
            || {
                if s.exists() { Ok(()) } else { Err("not yet") }
            },
        )
        .unwrap_or_else(|e| {
            panic!(
                "{e}\nlog:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        Hl { child, dir, sock }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("hl-bgpd.log")).unwrap_or_default()
    }

    pub fn request(&self, req: Value) -> Value {
        let mut s = UnixStream::connect(&self.sock).expect("control socket");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(format!("{req}\n").as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
    }

    pub fn show(&self, what: &str, extra: Value) -> Value {
        let mut params = json!({"what": what});
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        let r = self.request(json!({"id": 1, "method": "show", "params": params}));
        r.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("show {what}: {r}"))
    }

    pub fn action(&self, params: Value) -> Value {
        self.request(json!({"id": 2, "method": "action", "params": params}))
    }

    pub fn neighbor(&self, addr: &str) -> Value {
        let list = self.show("neighbors", json!({}));
        list.as_array()
            .and_then(|l| l.iter().find(|n| n["address"] == addr).cloned())
            .unwrap_or(Value::Null)
    }

    pub fn state(&self, addr: &str) -> String {
        self.neighbor(addr)["state"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn route(&self, prefix: &str) -> Value {
        self.show("route", json!({"prefix": prefix}))
    }

    /// Subscribes to the event stream; events arrive on the returned channel.
    pub fn events(&self) -> std::sync::mpsc::Receiver<Value> {
        let mut s = UnixStream::connect(&self.sock).expect("control socket");
        s.write_all(b"{\"id\":9,\"method\":\"events\"}\n").unwrap();
        let mut r = BufReader::new(s);
        let mut first = String::new();
        r.read_line(&mut first).unwrap();
        assert!(first.contains("subscribed"), "{first}");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in r.lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if tx.send(v["event"].clone()).is_err() {
                    break;
                }
            }
        });
        rx
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Hl {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        kill(&mut self.child);
    }
}

/// Polls until `f` returns Ok, with a readable failure.
pub fn wait<T>(what: &str, secs: u64, f: impl FnMut() -> Result<T, String>) -> T {
    testkit::wait_for(
        what,
        Duration::from_secs(secs),
        Duration::from_millis(100),
        f,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}
