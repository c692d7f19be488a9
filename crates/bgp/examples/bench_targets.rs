//! Side-by-side BGP load benchmark: the same pre-encoded UPDATE streams sent to `hl-bgpd`, FRR
//! `bgpd`, BIRD 2 or GoBGP, one target and one case per invocation. `crates/bgp/bench/run.sh`
//! runs every target and case in scratch namespaces and prints the table; see
//! `crates/bgp/README.md`, "Benchmark".
//!
//! ```text
//! bench_targets --target hl|frr|bird|gobgp --case shared|distinct|peers|kernel --netns NS
//!               --dir DIR [--hl-bgpd PATH] [--timeout SECS] [--poll-ms MS] [--linger SECS]
//!               [--prefixes N] [--kernel-poll-ms MS]
//! ```
//!
//! The caller runs this program in the tester namespace, which owns 198.18.0.2-11/24 on a veth
//! whose peer, in namespace NS, owns 198.18.0.1/24. This program encodes the UPDATEs, writes
//! the target's configuration into DIR, starts the target in NS (`ip netns exec NS ...`, so the
//! child's pid is the daemon's), waits until the target's own CLI answers, brings up every
//! tester session (AS 65001 + i from 198.18.0.2 + i, next hop = own address; each target is
//! passive and configured to accept and export everything, with no FIB) and then writes all
//! streams at once, as fast as TCP allows. The clock starts when every tester has the target's
//! OPEN and KEEPALIVE (Established) and stops at the first poll of the target's CLI that shows
//! every prefix in its Loc-RIB; in the `peers` case also when every tester has received every
//! other tester's prefixes (timed by the testers as the UPDATEs arrive). Peak RSS is the
//! daemon's `VmHWM` at the end.
//!
//! Detectors (each target's own CLI, polled every `--poll-ms` after an answer): hl-bgpd
//! `show summary` on its control socket (and its `bgp.prefixes` events as a cross-check); FRR
//! `vtysh -c 'show bgp ipv4 unicast summary json'` (sum of pfxRcd, capped by the table version,
//! which counts best-path runs); BIRD `birdc show protocols all` (sum of "imported"); GoBGP
//! `gobgp global rib -a ipv4 PREFIX` for the last prefix of each tester's stream, confirmed by
//! `gobgp global rib summary` (see the polling loop for why).
//!
//! `shared`: 1,000,000 IPv4 /24s with one path; `distinct`: 1,000,000 /24s with 100,000
//! AS_PATHs (10 prefixes per UPDATE); `peers`: 10 peers x 100,000 /24s.
//!
//! `kernel` (hl and bird): the `shared` stream (`--prefixes N`, default 1,000,000), installed
//! into the main table of NS (hl-bgpd `kernel = { table = 254 }`, BIRD a `kernel` protocol
//! exporting everything). Nobody talks to the target during the install: no CLI poll, no
//! control-socket subscription. Completion is read from the kernel, from outside the target,
//! which none of it wakes:
//!
//! - every `--kernel-poll-ms` (default 50) one route lookup (RTM_GETROUTE, as `ip route get`:
//!   a lookup, not a dump) of an address in the stream's last prefix, from a netlink socket of
//!   this program opened in NS; both targets install in the order the routes arrive;
//! - every 2 s, and at the first lookup that finds the last prefix, a count: the `Main:` trie's
//!   prefix count in `/proc/PID/net/fib_triestat` (PID: the daemon, so the file describes its
//!   namespace) minus the count before the start. The kernel computes that file by walking the
//!   trie under RCU (tens of ms of CPU for 1M routes, no RTNL), hence not at every poll.
//!
//! The clock stops at the end of the first poll whose count shows every route (if the last
//! prefix is there but the count is short, every poll counts from then on); the true completion
//! lies between the start of the previous poll (`lower_s`) and that. Afterwards (untimed)
//! `ip -4 route show table 254 proto bgp|bird` counts the routes exactly, as a cross-check.
//!
//! Output: one line starting with `RESULT` of `key=value` pairs (see `main`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp::wire::attrs::{EncodeContext, encode_attrs};
use bgp::wire::open::{Capability, Open};
use bgp::wire::update::pack_announce;
use bgp::wire::{
    AsPath, Family, HEADER_LEN, MessageType, NextHop, PathAttrs, Prefix, frame, write_keepalive,
};

const TARGET_AS: u32 = 64512;
const TARGET_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const GOBGP_API_PORT: u16 = 50051;

fn tester_addr(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, 2 + u8::try_from(i).expect("at most 10 peers"))
}

fn tester_as(i: u32) -> u32 {
    65001 + i
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Hl,
    Frr,
    Bird,
    Gobgp,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Hl => "hl",
            Target::Frr => "frr",
            Target::Bird => "bird",
            Target::Gobgp => "gobgp",
        }
    }
}

struct Args {
    target: Target,
    case: String,
    netns: String,
    dir: PathBuf,
    hl_bgpd: String,
    timeout: Duration,
    poll: Duration,
    linger: Duration,
    prefixes: Option<u32>,
    kernel_poll: Duration,
}

fn args() -> Args {
    let mut a = Args {
        target: Target::Hl,
        case: "shared".into(),
        netns: String::new(),
        dir: PathBuf::new(),
        hl_bgpd: String::new(),
        timeout: Duration::from_secs(90),
        poll: Duration::from_millis(10),
        linger: Duration::ZERO,
        prefixes: None,
        kernel_poll: Duration::from_millis(50),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--target" => {
                a.target = match val().as_str() {
                    "hl" => Target::Hl,
                    "frr" => Target::Frr,
                    "bird" => Target::Bird,
                    "gobgp" => Target::Gobgp,
                    other => panic!("unknown target {other}"),
                }
            }
            "--case" => a.case = val(),
            "--netns" => a.netns = val(),
            "--dir" => a.dir = PathBuf::from(val()),
            "--hl-bgpd" => a.hl_bgpd = val(),
            "--prefixes" => a.prefixes = Some(val().parse().expect("a count")),
            "--kernel-poll-ms" => {
                a.kernel_poll = Duration::from_millis(val().parse().expect("milliseconds"))
            }
            "--timeout" => a.timeout = Duration::from_secs(val().parse().expect("seconds")),
            "--poll-ms" => a.poll = Duration::from_millis(val().parse().expect("milliseconds")),
            "--linger" => a.linger = Duration::from_secs(val().parse().expect("seconds")),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.netns.is_empty(), "--netns NS is required");
    assert!(!a.dir.as_os_str().is_empty(), "--dir DIR is required");
    assert!(
        a.target != Target::Hl || !a.hl_bgpd.is_empty(),
        "--hl-bgpd PATH is required for --target hl"
    );
    assert!(
        a.case != "kernel" || matches!(a.target, Target::Hl | Target::Bird),
        "--case kernel is for --target hl or bird"
    );
    assert!(
        a.prefixes.is_none() || a.case == "kernel",
        "--prefixes is for --case kernel"
    );
    a
}

/// `n` /24s from 10.0.0.0 + `start` * 256, grouped under `paths` AS_PATHs, packed into UPDATEs.
fn encode(start: u32, n: u32, paths: u32, peer_as: u32, nh: Ipv4Addr) -> Vec<u8> {
    let prefixes: Vec<Prefix> = (start..start + n)
        .map(|i| {
            Prefix::new(
                Ipv4Addr::from((10u32 << 24).wrapping_add(i << 8)).into(),
                24,
            )
            .expect("valid /24")
        })
        .collect();
    let mut out = Vec::new();
    let per = n.div_ceil(paths) as usize;
    for (i, chunk) in prefixes.chunks(per).enumerate() {
        let a = PathAttrs {
            as_path: AsPath::sequence([peer_as, 100_000 + i as u32, 7]),
            next_hop: NextHop::V4(nh),
            ..Default::default()
        };
        let mut ab = Vec::new();
        encode_attrs(
            &mut ab,
            &a,
            &EncodeContext {
                four_octet_as: true,
                ibgp: false,
            },
            true,
        );
        let mut done = 0;
        while done < chunk.len() {
            done += pack_announce(
                &mut out,
                Family::Ipv4Unicast,
                &ab,
                &a.next_hop,
                &chunk[done..],
            );
        }
    }
    out
}

/// Writes the target's configuration for `peers` passive neighbors; returns its path.
fn write_config(t: Target, dir: &Path, peers: u32, kernel: bool) -> PathBuf {
    let mut c = String::new();
    let path = match t {
        Target::Hl => {
            let _ = writeln!(
                c,
                "asn = {TARGET_AS}\nrouter_id = \"{TARGET_ADDR}\"\nlisten = [\"{TARGET_ADDR}:179\"]"
            );
            if kernel {
                c.push_str("kernel = { table = 254 }\n");
            }
            for i in 0..peers {
                let _ = writeln!(
                    c,
                    "[[neighbor]]\naddress = \"{}\"\nremote_as = {}\npassive = true\n\
                     hold_time = 180\nkeepalive = 60",
                    tester_addr(i),
                    tester_as(i)
                );
            }
            dir.join("bgpd.toml")
        }
        Target::Frr => {
            // -Z (no zebra): no FIB, like the others here. ebgp-requires-policy off so that
            // eBGP routes are accepted and exported without route maps.
            let _ = writeln!(
                c,
                "frr defaults traditional\nhostname bench\nno log unique-id\n\
                 router bgp {TARGET_AS}\n bgp router-id {TARGET_ADDR}\n\
                 no bgp ebgp-requires-policy\n no bgp network import-check"
            );
            for i in 0..peers {
                let n = tester_addr(i);
                let _ = writeln!(
                    c,
                    " neighbor {n} remote-as {}\n neighbor {n} passive\n neighbor {n} timers 60 180",
                    tester_as(i)
                );
            }
            dir.join("bgpd.conf")
        }
        Target::Bird => {
            // Table only unless `kernel`: then a kernel protocol (defaults: main table,
            // scan time 60 s, learn off) exports every route of master4 into the kernel.
            let _ = writeln!(
                c,
                "log \"{}\" {{ warning, error, fatal }};\nrouter id {TARGET_ADDR};\n\
                 protocol device {{ scan time 60; }}",
                dir.join("bird.log").display()
            );
            if kernel {
                c.push_str("protocol kernel {\n  ipv4 { import none; export all; };\n}\n");
            }
            for i in 0..peers {
                let _ = writeln!(
                    c,
                    "protocol bgp t{i} {{\n  local {TARGET_ADDR} as {TARGET_AS};\n  \
                     neighbor {} as {};\n  passive on;\n  hold time 180;\n  \
                     ipv4 {{ import all; export all; }};\n}}",
                    tester_addr(i),
                    tester_as(i)
                );
            }
            dir.join("bird.conf")
        }
        Target::Gobgp => {
            let _ = writeln!(
                c,
                "[global.config]\n  as = {TARGET_AS}\n  router-id = \"{TARGET_ADDR}\"\n  \
                 port = 179\n  local-address-list = [\"{TARGET_ADDR}\"]"
            );
            for i in 0..peers {
                let _ = writeln!(
                    c,
                    "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    \
                     peer-as = {}\n  [neighbors.timers.config]\n    hold-time = 180\n    \
                     keepalive-interval = 60\n  [neighbors.transport.config]\n    \
                     passive-mode = true\n    local-address = \"{TARGET_ADDR}\"\n  \
                     [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      \
                     afi-safi-name = \"ipv4-unicast\"",
                    tester_addr(i),
                    tester_as(i)
                );
            }
            dir.join("gobgpd.toml")
        }
    };
    std::fs::write(&path, c).expect("write target configuration");
    path
}

fn spawn(a: &Args, config: &Path) -> Daemon {
    let d = |f: &str| a.dir.join(f).to_str().expect("UTF-8 path").to_owned();
    let cfg = config.to_str().expect("UTF-8 path").to_owned();
    let argv: Vec<String> = match a.target {
        Target::Hl => vec![
            a.hl_bgpd.clone(),
            "--config".into(),
            cfg,
            "--control".into(),
            d("hl.sock"),
        ],
        Target::Frr => vec![
            "/usr/lib/frr/bgpd".into(),
            "-n".into(),
            "-S".into(),
            "-z".into(),
            d("zebra/zserv.api"),
            "-P".into(),
            "0".into(),
            "-f".into(),
            cfg,
            "-i".into(),
            d("bgpd.pid"),
            "--vty_socket".into(),
            d(""),
            "--log".into(),
            "stdout".into(),
            "--log-level".into(),
            "warnings".into(),
        ],
        Target::Bird => vec![
            "bird".into(),
            "-f".into(),
            "-c".into(),
            cfg,
            "-s".into(),
            d("bird.ctl"),
            "-P".into(),
            d("bird.pid"),
        ],
        Target::Gobgp => vec![
            "gobgpd".into(),
            "-f".into(),
            cfg,
            "--disable-stdlog".into(),
            "--pprof-disable".into(),
            "--api-hosts".into(),
            format!("{TARGET_ADDR}:{GOBGP_API_PORT}"),
        ],
    };
    // FRR's bgpd runs with zebra, as FRR is deployed, but with -n (no FIB install): zebra only
    // answers next-hop tracking. Without zebra (-Z) bgpd 8.4 logs a failed NHT registration per
    // received prefix, which would measure its logging. Only bgpd's RSS is the target's.
    let zebra = (a.target == Target::Frr).then(|| {
        // zebra runs as user frr (as root it insists on membership of group frrvty): its
        // sockets go to a directory frr owns.
        let zdir = a.dir.join("zebra");
        std::fs::create_dir_all(&zdir).expect("zebra directory");
        let frr = Command::new("id")
            .args(["-u", "frr"])
            .output()
            .expect("id frr");
        let uid: u32 = String::from_utf8_lossy(&frr.stdout)
            .trim()
            .parse()
            .expect("user frr (package frr)");
        std::os::unix::fs::chown(&zdir, Some(uid), None).expect("chown zebra directory");
        std::fs::write(d("zebra.conf"), "hostname bench\n").expect("zebra.conf");
        let z = start(
            &a.netns,
            &[
                "/usr/lib/frr/zebra",
                "-z",
                &d("zebra/zserv.api"),
                "-P",
                "0",
                "-f",
                &d("zebra.conf"),
                "-i",
                &d("zebra/zebra.pid"),
                "--vty_socket",
                &d("zebra"),
                "--log",
                "stdout",
                "--log-level",
                "warnings",
            ],
            &d("zebra.log"),
        );
        let t = Instant::now();
        while !zdir.join("zserv.api").exists() {
            assert!(t.elapsed() < Duration::from_secs(20), "zebra did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        z
    });
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    Daemon {
        main: start(&a.netns, &argv, &d("target.log")),
        aux: zebra,
    }
}

/// Starts `argv` in namespace `ns` (`ip netns exec` execs, so the pid is the program's).
fn start(ns: &str, argv: &[&str], log: &str) -> Child {
    let log = std::fs::File::create(log).expect("target log");
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(argv)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {argv:?}: {e}"))
}

/// Runs `cmd` and collects its output; kills it when it has not finished within `limit` (a busy
/// target may not answer its CLI for a long time).
fn output_within(cmd: &mut Command, limit: Duration) -> Result<std::process::Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let collect = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = collect(Box::new(child.stdout.take().expect("piped")));
    let err = collect(Box::new(child.stderr.take().expect("piped")));
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            break st;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("no answer within {:.1} s", limit.as_secs_f64()));
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    Ok(std::process::Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Runs one of the target's CLI commands; its stdout, or why it failed.
fn cli(a: &Args, limit: Duration) -> Result<String, String> {
    let d = |f: &str| a.dir.join(f).to_str().expect("UTF-8 path").to_owned();
    let out = match a.target {
        Target::Hl => {
            let mut s = UnixStream::connect(d("hl.sock")).map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(limit)).map_err(|e| e.to_string())?;
            s.write_all(b"{\"id\":1,\"method\":\"show\",\"params\":{\"what\":\"summary\"}}\n")
                .map_err(|e| e.to_string())?;
            let mut l = String::new();
            BufReader::new(s)
                .read_line(&mut l)
                .map_err(|e| e.to_string())?;
            return Ok(l);
        }
        Target::Frr => output_within(
            Command::new("vtysh")
                .args(["--vty_socket", &d(""), "-d", "bgpd", "-c"])
                .arg("show bgp ipv4 unicast summary json"),
            limit,
        ),
        Target::Bird => output_within(
            Command::new("birdc").args(["-s", &d("bird.ctl"), "show", "protocols", "all"]),
            limit,
        ),
        Target::Gobgp => output_within(
            Command::new("gobgp")
                .args(["-u", &TARGET_ADDR.to_string(), "-p"])
                .arg(GOBGP_API_PORT.to_string())
                .args(["global", "rib", "summary", "-a", "ipv4"]),
            limit,
        ),
    }?;
    if !out.status.success() {
        return Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether GoBGP's global RIB has a best path for `prefix` (an exact lookup).
fn gobgp_has(prefix: &str, limit: Duration) -> Result<bool, String> {
    let out = output_within(
        Command::new("gobgp")
            .args(["-u", &TARGET_ADDR.to_string(), "-p"])
            .arg(GOBGP_API_PORT.to_string())
            .args(["global", "rib", "-a", "ipv4", prefix]),
        limit,
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    if text.contains("Network not in table") || err.contains("Network not in table") {
        return Ok(false);
    }
    if !out.status.success() {
        return Err(format!("{text}{err}"));
    }
    Ok(text
        .lines()
        .any(|l| l.starts_with("*>") && l.split_whitespace().nth(1) == Some(prefix)))
}

/// What one poll saw: prefixes in the Loc-RIB.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    loc_rib: u64,
}

/// Parses a CLI answer into the number of prefixes that have a route in the target's Loc-RIB.
fn parse(t: Target, out: &str) -> Result<Seen, String> {
    let json = || serde_json::from_str::<serde_json::Value>(out).map_err(|e| e.to_string());
    match t {
        Target::Hl => {
            let v = json()?;
            Ok(Seen {
                loc_rib: v["result"]["ipv4_routes"]
                    .as_u64()
                    .ok_or("no ipv4_routes")?,
            })
        }
        Target::Frr => {
            // pfxRcd counts paths stored per peer; best-path selection runs later, from a work
            // queue. The table version is bumped once per prefix whose selection ran, so the
            // Loc-RIB holds at least min(sum pfxRcd, tableVersion) prefixes with a best path.
            let v = json()?;
            if v.as_object().is_some_and(|o| o.is_empty()) {
                return Ok(Seen::default());
            }
            let rcvd: u64 = v["peers"]
                .as_object()
                .ok_or("no peers")?
                .values()
                .map(|p| p["pfxRcd"].as_u64().unwrap_or(0))
                .sum();
            let version = v["tableVersion"].as_u64().ok_or("no tableVersion")?;
            Ok(Seen {
                loc_rib: rcvd.min(version),
            })
        }
        Target::Bird => {
            // "Routes:         1000000 imported, 0 exported, 1000000 preferred" per protocol;
            // BIRD selects at import, synchronously, so imported = in master4.
            let mut n = 0;
            for l in out.lines() {
                let l = l.trim();
                if let Some(rest) = l.strip_prefix("Routes:") {
                    let imported = rest
                        .split(',')
                        .find_map(|f| f.trim().strip_suffix(" imported"))
                        .ok_or_else(|| format!("unexpected line {l:?}"))?;
                    n += imported.trim().parse::<u64>().map_err(|e| e.to_string())?;
                }
            }
            Ok(Seen { loc_rib: n })
        }
        Target::Gobgp => {
            // "Table ipv4-unicast\nDestination: 1000000, Path: 1000000": the global RIB.
            let d = out
                .split_whitespace()
                .skip_while(|w| *w != "Destination:")
                .nth(1)
                .ok_or_else(|| format!("unexpected answer {out:?}"))?;
            Ok(Seen {
                loc_rib: d
                    .trim_end_matches(',')
                    .parse::<u64>()
                    .map_err(|e| e.to_string())?,
            })
        }
    }
}

/// The target daemon (and FRR's zebra), killed when this program ends, also by a panic.
struct Daemon {
    main: Child,
    aux: Option<Child>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        for c in std::iter::once(&mut self.main).chain(self.aux.as_mut()) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// CPU time `pid` has used so far (user, system), from `/proc/PID/stat` (clock ticks of 10 ms).
fn cpu_s(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|w| w.parse().unwrap_or(0.0))
        .collect();
    let tick = |i: usize| f.get(i).copied().unwrap_or(0.0) / 100.0;
    (tick(11), tick(12))
}

/// Summed over `pid`'s threads, from `/proc/PID/task/*/schedstat`: seconds on a CPU, and
/// seconds runnable but waiting for one (the machine's other load).
fn sched_s(pid: u32) -> (f64, f64) {
    let mut sum = (0.0, 0.0);
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return sum;
    };
    for t in tasks.flatten() {
        let text = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        let mut f = text
            .split_whitespace()
            .map(|w| w.parse::<f64>().unwrap_or(0.0));
        sum.0 += f.next().unwrap_or(0.0) / 1e9;
        sum.1 += f.next().unwrap_or(0.0) / 1e9;
    }
    sum
}

fn vm_mib(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Reads one message; panics on a NOTIFICATION or a closed connection.
fn read_message(s: &mut TcpStream, buf: &mut Vec<u8>) -> MessageType {
    loop {
        if let Ok(Some(f)) = frame(buf) {
            if f.kind == MessageType::Notification {
                panic!(
                    "target sent NOTIFICATION {:02x?}",
                    &buf[19..f.len.min(buf.len())]
                );
            }
            buf.drain(..f.len);
            return f.kind;
        }
        let mut tmp = [0u8; 4096];
        let n = s.read(&mut tmp).expect("read from target");
        assert!(n > 0, "target closed the connection");
        buf.extend_from_slice(&tmp[..n]);
    }
}

/// Calls `f` with the address of every /24 announced in an UPDATE body's NLRI field.
fn announced_24s(body: &[u8], mut f: impl FnMut(u32)) {
    let len16 = |at: usize| {
        body.get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    };
    let Some(withdrawn) = len16(0) else { return };
    let Some(attrs) = len16(2 + withdrawn) else {
        return;
    };
    let mut at = 4 + withdrawn + attrs;
    while let Some(&bits) = body.get(at) {
        let n = usize::from(bits).div_ceil(8);
        let Some(b) = body.get(at + 1..at + 1 + n) else {
            return;
        };
        if bits == 24 {
            f(u32::from_be_bytes([b[0], b[1], b[2], 0]));
        }
        at += 1 + n;
    }
}

/// Reads what the target sends to one tester until the connection closes. With `want` > 0
/// (the `peers` case) it counts the distinct benchmark /24s outside `own` announced to this
/// tester and records the moment all `want` of them have arrived.
fn drain(
    mut rd: TcpStream,
    mut buf: Vec<u8>,
    own: std::ops::Range<u32>,
    total: u32,
    want: u32,
    done: Arc<Mutex<Option<Instant>>>,
) {
    let mut have = vec![0u64; (total as usize).div_ceil(64)];
    let mut n = 0u32;
    let mut tmp = vec![0u8; 1 << 16];
    loop {
        let mut used = 0;
        while let Ok(Some(f)) = frame(&buf[used..]) {
            if want > 0 && n < want && f.kind == MessageType::Update {
                announced_24s(&buf[used + HEADER_LEN..used + f.len], |addr| {
                    let idx = addr.wrapping_sub(10 << 24) >> 8;
                    if idx < total && !own.contains(&idx) {
                        let (w, bit) = (idx as usize / 64, 1u64 << (idx % 64));
                        if have[w] & bit == 0 {
                            have[w] |= bit;
                            n += 1;
                        }
                    }
                });
                if n == want {
                    *done.lock().expect("lock") = Some(Instant::now());
                }
            }
            used += f.len;
        }
        buf.drain(..used);
        match rd.read(&mut tmp) {
            Ok(k) if k > 0 => buf.extend_from_slice(&tmp[..k]),
            _ => return,
        }
    }
}

/// Connects tester `i`, retrying while the target is not listening yet.
fn connect(i: u32) -> TcpStream {
    let t = Instant::now();
    loop {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        sock.bind(&SocketAddr::from((tester_addr(i), 0)).into())
            .expect("bind tester address (run in the tester namespace)");
        match sock.connect(&SocketAddr::from((TARGET_ADDR, 179)).into()) {
            Ok(()) => return sock.into(),
            Err(e) if t.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("connect to the target: {e}"),
        }
    }
}

/// Whether BIRD's `show protocols all` lists the kernel protocol as up.
fn bird_kernel_up(out: &str) -> bool {
    out.lines().any(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        w.first() == Some(&"kernel1") && w.get(3) == Some(&"up")
    })
}

/// Prefixes in the main routing table of `pid`'s namespace: the `Prefixes:` line of the `Main:`
/// trie in `/proc/PID/net/fib_triestat` (with no policy rules the kernel keeps the local table
/// in the same trie: compare against a baseline).
fn fib_prefixes(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/net/fib_triestat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines().skip_while(|l| l.trim() != "Main:");
    lines
        .find_map(|l| l.trim().strip_prefix("Prefixes:"))
        .ok_or_else(|| format!("{path}: no Main: Prefixes: line"))?
        .trim()
        .parse()
        .map_err(|e| format!("{path}: {e}"))
}

/// The lookup's answer while no route covers the address (the namespace has no default).
const ENETUNREACH: i32 = 101;

/// What the kernel watch saw.
struct KernelWatch {
    /// When the first poll that found every route ended.
    done: Option<Duration>,
    /// When the last poll that did not find them all started.
    lower: Duration,
    /// Routes at the last count.
    seen: u64,
    /// Lookups of the last prefix, and counts of the table.
    lookups: u32,
    counts: u32,
    /// Time spent reading fib_triestat.
    count_time: Duration,
}

/// Watches the target's main table from outside, never talking to the target: every
/// `--kernel-poll-ms` one route lookup (RTM_GETROUTE for an address in `last`, the stream's
/// last prefix: a lookup, not a dump) in the target's namespace; every 2 s, and at the first
/// lookup that finds `last`, the table's prefix count. Done when the count has grown by
/// `total`; if the count is short when `last` is there (a route refused, or installed out of
/// order), every poll counts from then on. Fails loudly if the target dies or the kernel
/// cannot be read.
fn watch_kernel(
    a: &Args,
    child: &mut Child,
    t0: Instant,
    total: u64,
    baseline: u64,
    last: Ipv4Addr,
) -> KernelWatch {
    let pid = child.id();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let nl = {
        let _guard = rt.enter();
        let ns =
            netns::Netns::open(&netns::NetnsDir::system(), &a.netns).expect("target namespace");
        netns::Netlink::open(&ns).expect("netlink in the target namespace")
    };
    let probe = std::net::IpAddr::from(Ipv4Addr::from(u32::from(last) + 1));
    let mut w = KernelWatch {
        done: None,
        lower: Duration::ZERO,
        seen: 0,
        lookups: 0,
        counts: 0,
        count_time: Duration::ZERO,
    };
    let count = |w: &mut KernelWatch, at: Duration| {
        let t = Instant::now();
        let n = fib_prefixes(pid).unwrap_or_else(|e| panic!("kernel count: {e}"));
        w.count_time += t.elapsed();
        w.counts += 1;
        w.seen = n.saturating_sub(baseline);
        eprintln!(
            "kernel: {:.3} s {} routes (count read in {:.1} ms)",
            at.as_secs_f64(),
            w.seen,
            t.elapsed().as_secs_f64() * 1000.0
        );
    };
    let mut next = a.kernel_poll;
    let mut next_count = Duration::from_secs(2);
    let mut last_found = false;
    while t0.elapsed() < a.timeout {
        if let Some(wait) = next.checked_sub(t0.elapsed()) {
            std::thread::sleep(wait);
        }
        next += a.kernel_poll;
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{} exited during the run: {st}", a.target.name());
        }
        let started = t0.elapsed();
        if !last_found {
            w.lookups += 1;
            match rt.block_on(nl.route_get(probe, None)) {
                Ok(_) => last_found = true,
                Err(e) if e.errno() == Some(ENETUNREACH) => {}
                Err(e) => panic!("route lookup in {}: {e}", a.netns),
            }
        }
        if last_found || started >= next_count {
            next_count = started + Duration::from_secs(2);
            count(&mut w, started);
            if w.seen >= total {
                w.done = Some(t0.elapsed());
                break;
            }
        }
        w.lower = started;
    }
    w
}

/// Routes the target installed in its main table, counted exactly with `ip` (slow: seconds
/// for a million routes; only after the timed part).
fn count_kernel_routes(a: &Args) -> u64 {
    let proto = if a.target == Target::Bird {
        "bird"
    } else {
        "bgp"
    };
    let out = Command::new("ip")
        .args([
            "-n", &a.netns, "-4", "route", "show", "table", "254", "proto", proto,
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("run ip route show");
    assert!(out.status.success(), "ip route show failed");
    out.stdout.iter().filter(|&&b| b == b'\n').count() as u64
}

fn main() {
    let a = args();
    let kernel = a.case == "kernel";
    let (peers, per_peer, paths) = match a.case.as_str() {
        "shared" => (1u32, 1_000_000u32, 1u32),
        "distinct" => (1, 1_000_000, 100_000),
        "peers" => (10, 100_000, 1),
        "kernel" => (1, a.prefixes.unwrap_or(1_000_000), 1),
        other => panic!("unknown case {other}"),
    };
    let total = u64::from(peers) * u64::from(per_peer);
    let inputs: Vec<Vec<u8>> = (0..peers)
        .map(|i| encode(i * per_peer, per_peer, paths, tester_as(i), tester_addr(i)))
        .collect();

    let config = write_config(a.target, &a.dir, peers, kernel);
    let mut daemon = spawn(&a, &config);
    let aux_pid = daemon.aux.as_ref().map(Child::id);
    let child = &mut daemon.main;
    let pid = child.id();
    // Ready when the target's CLI answers (BIRD with a kernel protocol: and that is up).
    let t = Instant::now();
    loop {
        if let Ok(out) = cli(&a, Duration::from_secs(5))
            && parse(a.target, &out).is_ok()
            && (!kernel || a.target != Target::Bird || bird_kernel_up(&out))
        {
            break;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{} exited at start: {st}", a.target.name());
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{}'s CLI did not answer within 20 s",
            a.target.name()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let idle_rss = vm_mib(pid, "VmRSS:");

    // The kernel case: the main table's prefix count before any route arrives.
    let baseline = kernel.then(|| fib_prefixes(pid).expect("read fib_triestat"));

    // hl-bgpd also reports completion as an event: exact, no polling; kept as a cross-check
    // (not in the kernel case, where nobody talks to the daemon during the run).
    let event_done: Arc<Mutex<Option<Instant>>> = Arc::default();
    if a.target == Target::Hl && !kernel {
        let mut ev = UnixStream::connect(a.dir.join("hl.sock")).expect("control socket");
        ev.write_all(b"{\"id\":1,\"method\":\"events\"}\n")
            .expect("subscribe");
        let mut ev = BufReader::new(ev);
        let mut line = String::new();
        ev.read_line(&mut line).expect("events answer");
        let done = Arc::clone(&event_done);
        std::thread::spawn(move || {
            let mut accepted = std::collections::HashMap::new();
            loop {
                line.clear();
                if !matches!(ev.read_line(&mut line), Ok(n) if n > 0) {
                    return;
                }
                let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if v["event"]["kind"] == "bgp.prefixes" {
                    let n = v["event"]["data"]["neighbor"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned();
                    let acc = v["event"]["data"]["ipv4"]["accepted"].as_u64().unwrap_or(0);
                    accepted.insert(n, acc);
                    if accepted.values().sum::<u64>() == total {
                        *done.lock().expect("lock") = Some(Instant::now());
                        return;
                    }
                }
            }
        });
    }

    // Every session up first (the target idle), then all streams at once: the clock starts
    // when the last tester has the target's OPEN and KEEPALIVE.
    let mut sessions = Vec::new();
    for i in 0..peers {
        let mut s = connect(i);
        let open = Open {
            my_as: u16::try_from(tester_as(i)).expect("2-octet AS"),
            hold_time: 180,
            bgp_id: Ipv4Addr::new(10, 255, 0, 2 + i as u8),
            capabilities: vec![
                Capability::Multiprotocol { afi: 1, safi: 1 },
                Capability::FourOctetAs(tester_as(i)),
            ],
        };
        let mut b = Vec::new();
        open.encode(&mut b);
        write_keepalive(&mut b);
        s.write_all(&b).expect("send OPEN");
        let mut buf = Vec::new();
        assert_eq!(read_message(&mut s, &mut buf), MessageType::Open);
        while read_message(&mut s, &mut buf) != MessageType::Keepalive {}
        sessions.push((s, buf));
    }
    let t0 = Instant::now();
    let cpu0 = cpu_s(pid);
    let sched0 = sched_s(pid);
    let total32 = peers * per_peer;
    let mut exported: Vec<Arc<Mutex<Option<Instant>>>> = Vec::new();
    for ((i, input), (mut s, buf)) in (0u32..).zip(inputs).zip(sessions) {
        // Drain what the target sends; in the `peers` case, time its exports to this tester.
        let rd = s.try_clone().expect("clone socket");
        let done = Arc::new(Mutex::new(None));
        exported.push(Arc::clone(&done));
        let own = i * per_peer..(i + 1) * per_peer;
        let want = if peers > 1 { total32 - per_peer } else { 0 };
        std::thread::spawn(move || drain(rd, buf, own, total32, want, done));
        // The stream, then a KEEPALIVE every 20 s so a slow target's hold timer never fires.
        std::thread::spawn(move || {
            if s.write_all(&input).is_err() {
                return;
            }
            drop(input);
            let mut ka = Vec::new();
            write_keepalive(&mut ka);
            loop {
                std::thread::sleep(Duration::from_secs(20));
                if s.write_all(&ka).is_err() {
                    return;
                }
            }
        });
    }

    if let Some(baseline) = baseline {
        let last = Ipv4Addr::from((10u32 << 24) + ((per_peer - 1) << 8));
        let r = watch_kernel(&a, child, t0, total, baseline, last);
        let (user1, sys1) = cpu_s(pid);
        let (run1, queued1) = sched_s(pid);
        let rss = vm_mib(pid, "VmHWM:");
        let exact = r.done.map(|_| count_kernel_routes(&a));
        drop(daemon);
        // RESULT target= case=kernel prefixes= complete=yes|no time_s= (detected; on timeout the
        // timeout) lower_s= rss_mib= seen= (routes at the last count) lookups= counts= count_ms=
        // (mean fib_triestat read) user_s= sys_s= (the daemon's CPU from Established to detection)
        // run_s= queued_s= (its threads' time on a CPU, and runnable but waiting for one, summed)
        // [exact=] (ip route count afterwards)
        let mut line = format!(
            "RESULT target={} case=kernel prefixes={total} complete={} time_s={:.3} \
             lower_s={:.3} rss_mib={rss:.1} seen={} lookups={} counts={} count_ms={:.1} user_s={:.2} \
             sys_s={:.2} run_s={:.2} queued_s={:.2}",
            a.target.name(),
            if r.done.is_some() { "yes" } else { "no" },
            r.done.unwrap_or(a.timeout).as_secs_f64(),
            r.lower.as_secs_f64(),
            r.seen,
            r.lookups,
            r.counts,
            r.count_time.as_secs_f64() * 1000.0 / f64::from(r.counts.max(1)),
            user1 - cpu0.0,
            sys1 - cpu0.1,
            run1 - sched0.0,
            queued1 - sched0.1,
        );
        if let Some(n) = exact {
            let _ = write!(line, " exact={n}");
        }
        println!("{line}");
        std::process::exit(0);
    }

    // Poll the target's CLI until every prefix is in its Loc-RIB. `lower` is when the last
    // poll that did not see them started: the true completion lies between `lower` and the
    // detection.
    //
    // GoBGP counts its RIB by walking it (0.3 - 2 s for 1M routes; polled back to back it
    // slowed down the very load being measured). For GoBGP the poll is an exact lookup of the
    // last prefix of each tester's stream (GoBGP handles one peer's UPDATEs in order); once all
    // are there, one full count confirms, and completion is the lookup's time. If the count
    // falls short, polling goes on with counts, spaced out.
    let mut last_prefixes: Vec<String> = if a.target == Target::Gobgp {
        (0..peers)
            .map(|i| {
                let idx = (i + 1) * per_peer - 1;
                format!(
                    "{}/24",
                    Ipv4Addr::from((10u32 << 24).wrapping_add(idx << 8))
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut lower = Duration::ZERO;
    let mut polls = 0u32;
    let mut cli_time = Duration::ZERO;
    let mut last = Seen::default();
    let mut rib_done = None;
    let mut rss_rib = 0.0;
    let mut pause = a.poll;
    while t0.elapsed() < a.timeout {
        let started = t0.elapsed();
        let limit = (a.timeout - started).max(Duration::from_secs(1));
        let mut detected = None;
        let seen = if last_prefixes.is_empty() {
            cli(&a, limit).and_then(|o| parse(a.target, &o))
        } else {
            let mut r = Ok(());
            last_prefixes.retain(|p| match gobgp_has(p, limit) {
                Ok(has) => !has,
                Err(e) => {
                    r = Err(e);
                    true
                }
            });
            match r {
                Ok(()) if last_prefixes.is_empty() => {
                    detected = Some(t0.elapsed());
                    let full = cli(&a, limit).and_then(|o| parse(a.target, &o));
                    if matches!(full, Ok(s) if s.loc_rib < total) {
                        eprintln!("gobgp: last prefixes present, count short: {full:?}");
                        detected = None;
                    }
                    full
                }
                Ok(()) => Ok(Seen {
                    // Inferred from the lookups, for progress only.
                    loc_rib: u64::from(peers - last_prefixes.len() as u32) * u64::from(per_peer),
                }),
                Err(e) => Err(e),
            }
        };
        let took = t0.elapsed() - started;
        cli_time += took;
        polls += 1;
        match seen {
            Ok(s) => last = s,
            Err(e) => eprintln!("{}: poll failed: {e}", a.target.name()),
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{} exited during the run: {st}", a.target.name());
        }
        if rib_done.is_none() {
            if last.loc_rib >= total {
                rib_done = Some(detected.unwrap_or_else(|| t0.elapsed()));
                rss_rib = vm_mib(pid, "VmHWM:");
                break;
            }
            lower = started;
        }
        if a.target == Target::Gobgp && last_prefixes.is_empty() {
            // Counting: keep the detector's share of GoBGP's time small.
            pause = a.poll.max(took * 4);
        }
        std::thread::sleep(pause);
    }
    if rib_done.is_none() && a.target == Target::Gobgp {
        // How far it got, for the report.
        if let Ok(s) = cli(&a, Duration::from_secs(30)).and_then(|o| parse(a.target, &o)) {
            last = s;
        }
    }
    // The `peers` case: also until every tester has every other tester's routes (each target
    // exports everything), timed by the testers themselves as the UPDATEs arrive.
    let mut export_done = None;
    if peers > 1 && rib_done.is_some() {
        while t0.elapsed() < a.timeout {
            let ends: Vec<Option<Instant>> =
                exported.iter().map(|d| *d.lock().expect("lock")).collect();
            if ends.iter().all(Option::is_some) {
                export_done = ends.into_iter().flatten().max().map(|e| e - t0);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    if a.target == Target::Hl && rib_done.is_some() {
        // The poll may have answered before the event thread read the last event.
        let t = Instant::now();
        while event_done.lock().expect("lock").is_none() && t.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let rss_end = vm_mib(pid, "VmHWM:");
    let aux_rss = aux_pid.map(|p| vm_mib(p, "VmHWM:"));
    let event = *event_done.lock().expect("lock");
    // For a look at the target after the run (its CLI, /proc); not part of the measurement.
    std::thread::sleep(a.linger);
    drop(daemon);

    // RESULT target= case= prefixes= complete=yes|no time_s= (detected; on timeout the
    // timeout) lower_s= rss_mib= (VmHWM at the end: the run's peak) rss_rib_mib= (VmHWM at
    // detection) idle_rss_mib= seen= polls= cli_ms= (mean CLI round trip) [zebra_rss_mib=]
    // [event_s=] [export_complete= export_s=]
    let mut r = format!(
        "RESULT target={} case={} prefixes={total} complete={} time_s={:.3} lower_s={:.3} \
         rss_mib={rss_end:.1} rss_rib_mib={:.1} idle_rss_mib={idle_rss:.1} seen={} \
         polls={polls} cli_ms={:.1}",
        a.target.name(),
        a.case,
        if rib_done.is_some() { "yes" } else { "no" },
        rib_done.unwrap_or(a.timeout).as_secs_f64(),
        lower.as_secs_f64(),
        if rib_done.is_some() { rss_rib } else { rss_end },
        last.loc_rib,
        cli_time.as_secs_f64() * 1000.0 / f64::from(polls.max(1)),
    );
    if peers > 1 {
        let _ = write!(
            r,
            " export_complete={} export_s={:.3}",
            if export_done.is_some() { "yes" } else { "no" },
            export_done.unwrap_or(a.timeout).as_secs_f64()
        );
    }
    if let Some(z) = aux_rss {
        let _ = write!(r, " zebra_rss_mib={z:.1}");
    }
    if let Some(e) = event {
        let _ = write!(r, " event_s={:.3}", (e - t0).as_secs_f64());
    }
    println!("{r}");
    // Tester threads may still be blocked on sockets the target no longer reads.
    std::process::exit(0);
}
