//! A large kernel install does not starve the sessions: hl-bgpd installs 500,000 routes from
//! one neighbor whose hold time is 3 s, and its KEEPALIVEs keep coming every second while the
//! kernel fills (several seconds); then every route is there, with nobody having talked to the
//! daemon's control socket since it started. One prefix of the stream is held by a static
//! route: it stays static, and is claimed with the next change once the static route is gone.
//!
//! ```text
//!   hl-bgpi-kinstall-tx  10.0.0.1/24  <== veth ==>  10.0.0.2/24  hl-bgpi-kinstall-hl
//!   this test: a raw BGP tester (AS 65001)          hl-bgpd, kernel = { table = 254 }
//! ```
//!
//! Needs root; fails (never skips) without it. The namespaces are removed when the test ends.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp::wire::attrs::{EncodeContext, encode_attrs};
use bgp::wire::open::{Capability, Open};
use bgp::wire::update::pack_announce;
use bgp::wire::{AsPath, Family, MessageType, NextHop, PathAttrs, Prefix, frame, write_keepalive};
use netns::{Netns, NetnsDir};
use support::{Hl, wait};
use testkit::lab::Lab;

const ROUTES: u32 = 500_000;
const TESTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// A prefix of the stream that a static route holds before the session starts.
const HELD: &str = "20.0.5.0/24";

fn require_root() {
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(String::from))
        .unwrap_or_default();
    assert_eq!(
        uid, "0",
        "this test needs root (it creates network namespaces)"
    );
}

/// UPDATEs announcing `n` /24s from `first` on, via the tester.
fn updates(first: Ipv4Addr, n: u32) -> Vec<u8> {
    let prefixes: Vec<Prefix> = (0..n)
        .map(|i| Prefix::new(Ipv4Addr::from(u32::from(first) + (i << 8)).into(), 24))
        .collect::<Result<_, _>>()
        .expect("/24s");
    let attrs = PathAttrs {
        as_path: AsPath::sequence([65001]),
        next_hop: NextHop::V4(TESTER),
        ..Default::default()
    };
    let mut ab = Vec::new();
    let ctx = EncodeContext {
        four_octet_as: true,
        ibgp: false,
    };
    encode_attrs(&mut ab, &attrs, &ctx, true);
    let mut out = Vec::new();
    let mut done = 0;
    while done < prefixes.len() {
        done += pack_announce(
            &mut out,
            Family::Ipv4Unicast,
            &ab,
            &attrs.next_hop,
            &prefixes[done..],
        );
    }
    out
}

/// Prefixes in the main-table trie of `pid`'s namespace (`/proc/PID/net/fib_triestat`).
fn fib_prefixes(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/fib_triestat"))
        .expect("read fib_triestat");
    text.lines()
        .skip_while(|l| l.trim() != "Main:")
        .find_map(|l| l.trim().strip_prefix("Prefixes:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Main: Prefixes: line")
}

/// Reads one message; None when the connection ends.
fn read_message(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(MessageType, Vec<u8>)> {
    loop {
        if let Ok(Some(f)) = frame(buf) {
            let body = buf[19..f.len].to_vec();
            buf.drain(..f.len);
            return Some((f.kind, body));
        }
        let mut tmp = [0u8; 4096];
        match s.read(&mut tmp) {
            Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
            _ => return None,
        }
    }
}

#[test]
fn keepalives_keep_flowing_during_a_large_kernel_install() {
    require_root();
    let mut lab = Lab::new("bgpi-kinstall").expect("lab");
    lab.node("tx").expect("node tx");
    lab.node("hl").expect("node hl");
    lab.link("tx", "10.0.0.1/24", "hl", "10.0.0.2/24")
        .expect("link");
    let hl = Hl::start(
        &lab,
        "hl",
        r#"
asn = 64512
router_id = "10.0.0.2"
listen = ["0.0.0.0:179"]
kernel = { table = 254 }

[[neighbor]]
address = "10.0.0.1"
remote_as = 65001
passive = true
hold_time = 3
keepalive = 1
"#,
    );
    let route = |args: &[&str]| {
        let mut argv = vec!["ip", "route"];
        argv.extend_from_slice(args);
        lab.exec("hl", &argv).expect("ip route")
    };
    route(&["add", HELD, "via", "10.0.0.1", "proto", "static"]);
    let baseline = fib_prefixes(hl.pid());
    let stream = updates(Ipv4Addr::new(20, 0, 0, 0), ROUTES);

    // The tester's socket lives in its namespace.
    let tx_ns = Netns::open(&NetnsDir::system(), &lab.ns("tx")).expect("tester namespace");
    let mut s = wait("connect to hl-bgpd", 20, || {
        tx_ns
            .run(|| TcpStream::connect("10.0.0.2:179"))
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    });
    let mut hello = Vec::new();
    Open {
        my_as: 65001,
        hold_time: 3,
        bgp_id: TESTER,
        capabilities: vec![
            Capability::Multiprotocol { afi: 1, safi: 1 },
            Capability::FourOctetAs(65001),
        ],
    }
    .encode(&mut hello);
    write_keepalive(&mut hello);
    s.write_all(&hello).expect("send OPEN");
    let mut buf = Vec::new();
    let (kind, _) = read_message(&mut s, &mut buf).expect("OPEN from hl-bgpd");
    assert_eq!(kind, MessageType::Open);
    loop {
        let (kind, body) = read_message(&mut s, &mut buf).expect("KEEPALIVE from hl-bgpd");
        assert_ne!(kind, MessageType::Notification, "NOTIFICATION {body:02x?}");
        if kind == MessageType::Keepalive {
            break;
        }
    }

    // Reader: the arrival time of every KEEPALIVE from hl-bgpd; a NOTIFICATION or the end of
    // the connection is recorded as the session's end.
    let keepalives: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let ended: Arc<Mutex<Option<String>>> = Arc::default();
    let mut rd = s.try_clone().expect("clone socket");
    let (ka, end) = (Arc::clone(&keepalives), Arc::clone(&ended));
    std::thread::spawn(move || {
        loop {
            match read_message(&mut rd, &mut buf) {
                Some((MessageType::Keepalive, _)) => ka.lock().expect("lock").push(Instant::now()),
                Some((MessageType::Notification, body)) => {
                    *end.lock().expect("lock") = Some(format!("NOTIFICATION {body:02x?}"));
                    return;
                }
                Some(_) => {}
                None => {
                    *end.lock().expect("lock") = Some("connection closed".into());
                    return;
                }
            }
        }
    });
    // Writer: the whole stream, then what the test hands it, or a KEEPALIVE after a quiet
    // second (our hold time is 3 s too).
    let (more, more_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        if s.write_all(&stream).is_err() {
            return;
        }
        let mut ka = Vec::new();
        write_keepalive(&mut ka);
        loop {
            let msg = match more_rx.recv_timeout(Duration::from_secs(1)) {
                Ok(m) => m,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => ka.clone(),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            };
            if s.write_all(&msg).is_err() {
                return;
            }
        }
    });

    // The kernel fills; read its count (outside the daemon) until every route is there.
    let mut first = None;
    let installed_at = wait("every route in the kernel", 180, || {
        if let Some(why) = ended.lock().expect("lock").clone() {
            panic!(
                "the session ended during the install: {why}\nlog:\n{}",
                hl.log()
            );
        }
        let n = fib_prefixes(hl.pid()).saturating_sub(baseline);
        if n > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        // The held prefix was in the table already.
        if n >= u64::from(ROUTES - 1) {
            Ok(Instant::now())
        } else {
            Err(format!("{n} of {}", ROUTES - 1))
        }
    });
    let started = first.expect("routes were seen arriving");
    let install = installed_at - started;

    // KEEPALIVEs a second apart all along (jitter and a loaded machine: gaps up to 2 s; the
    // tester, like any peer, would drop the session at 3 s).
    let times = keepalives.lock().expect("lock").clone();
    let mut edges = vec![started];
    edges.extend(
        times
            .iter()
            .copied()
            .filter(|t| *t > started && *t < installed_at),
    );
    edges.push(installed_at);
    let worst = edges
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .expect("two edges");
    assert!(
        install >= Duration::from_millis(1500),
        "the install took {install:?}: too short to show anything about keepalives (raise ROUTES)"
    );
    assert!(
        worst <= Duration::from_secs(2),
        "a {worst:?} gap between KEEPALIVEs during a {install:?} install ({} KEEPALIVEs)",
        edges.len() - 2
    );
    assert!(ended.lock().expect("lock").is_none());
    let n = hl.neighbor("10.0.0.1");
    assert_eq!(n["state"], "Established", "{n}");
    assert_eq!(n["established_count"], 1, "{n}");

    // The static route kept its prefix. Once it is gone, the next change (any UPDATE) claims it.
    let held = route(&["show", HELD]);
    assert!(held.contains("proto static"), "{held}");
    route(&["del", HELD, "proto", "static"]);
    more.send(updates(Ipv4Addr::new(30, 0, 0, 0), 1))
        .expect("writer");
    wait("the held prefix claimed", 20, || {
        let out = route(&["show", HELD]);
        if out.contains("proto bgp") {
            Ok(())
        } else {
            Err(out)
        }
    });
    assert!(route(&["show", "30.0.0.0/24"]).contains("proto bgp"));
}
