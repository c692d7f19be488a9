//! 100 BFD sessions at AWS's timers (300 ms x 3, aws-behaviour.md §4) held by our driver, beside
//! FRR bfdd holding the same 100 sessions in the same run: CPU time of each over the same
//! wall-clock window, as a share of one core, and the ratio.
//!
//! ```text
//!   node "hl"  10.77.1.1 .. 10.77.1.100/16 ------ veth ------ 10.77.0.1/16  node "frr"
//!   bfd::driver::Bfd (this process):                FRR bfdd (+ zebra):
//!     100 sessions 10.77.1.N -> 10.77.0.1             100 peers 10.77.1.N local-address 10.77.0.1
//!   (as a DX location router with 100 VIFs: one local address per session on our side)
//! ```
//!
//! Both ends send and receive the same packets (each side transmits every 300 ms less jitter,
//! RFC 5880 §6.8.7), so the work counted is the same; what differs: ours is the whole bench
//! process (tokio runtime with two workers, nothing else running in it), bfdd is one process
//! (zebra, idle, is not counted); bfdd's debug logging is off. CPU time is utime + stime from
//! `/proc/<pid>/stat` over `HL_BENCH_SECONDS` (default 30).
//!
//! Run: `sudo cargo bench -p bfd --bench sessions_cpu` (needs root and FRR's bfdd; it fails
//! loudly without them, never skips). Results: `crates/bfd/README.md`, "Benchmark".

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark's job is to print its table

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bfd::driver::{Bfd, SessionConfig};
use bfd::session::Timers;
use bfd::wire::State;
use netns::{Netns, NetnsDir};
use testkit::frr::{Daemon, Frr};
use testkit::lab::Lab;

const SESSIONS: u32 = 100;

fn peer_address(n: u32) -> String {
    format!("10.77.1.{n}")
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/<pid>/stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')').expect("a stat line") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
    f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
}

fn clock_ticks_per_second() -> u64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a tick rate")
}

fn main() {
    assert!(
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")),
        "this benchmark needs root (it creates network namespaces)"
    );
    assert!(
        std::path::Path::new(testkit::bfdd::BFDD).exists(),
        "FRR bfdd is not installed ({}): apt-get install frr",
        testkit::bfdd::BFDD
    );
    let seconds: u64 = std::env::var("HL_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);

    let mut lab = Lab::new("bfdcpu").expect("lab");
    lab.node("frr").expect("node frr");
    lab.node("hl").expect("node hl");
    let hl_addrs: Vec<String> = (1..=SESSIONS)
        .map(|n| format!("{}/16", peer_address(n)))
        .collect();
    lab.link("frr", "10.77.0.1/16", "hl", &hl_addrs.join(","))
        .expect("link");
    let mut conf = String::from("bfd\n");
    for n in 1..=SESSIONS {
        conf.push_str(&format!(
            " peer {} local-address 10.77.0.1 interface to-hl\n  receive-interval 300\n  \
             transmit-interval 300\n  detect-multiplier 3\n !\n",
            peer_address(n)
        ));
    }
    conf.push_str("!\n");
    let bfdd = Daemon {
        args: vec!["--bfdctl".into(), "{dir}/bfdd.sock".into()],
        ..Daemon::new("bfdd", &conf)
    };
    let frr = Frr::start_daemons(&lab, "frr", &[bfdd]).expect("bfdd starts");
    let bfdd_pid = frr.pid("bfdd").expect("bfdd's pid");

    let hl = Netns::open(&NetnsDir::system(), &lab.ns("hl")).expect("hl namespace");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let driver = Bfd::new();
    let timers = Timers::from_millis(300, 300, 3).expect("AWS's timers");
    let mut handles = Vec::new();
    for n in 1..=SESSIONS {
        let local: IpAddr = peer_address(n).parse().expect("address");
        let peer: IpAddr = "10.77.0.1".parse().expect("address");
        let mut cfg = SessionConfig::new(local, peer, timers);
        cfg.ifname = Some("to-frr".into());
        let (h, d) = (rt.handle().clone(), driver.clone());
        handles.push(
            hl.run(move || {
                let _g = h.enter();
                d.add_session(cfg)
            })
            .expect("enter hl")
            .expect("session"),
        );
    }
    // Every session Up on both ends before the window opens (bfdd may need its interface from
    // zebra first: sessions come up as it learns it).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ours_up = handles
            .iter()
            .filter(|h| {
                rt.block_on(h.show())
                    .is_ok_and(|s| s.status.state == State::Up && !s.polling)
            })
            .count();
        let frr_up = frr
            .json("show bfd peers json")
            .ok()
            .and_then(|v| {
                v.as_array()
                    .map(|a| a.iter().filter(|p| p["status"] == "up").count())
            })
            .unwrap_or(0);
        if ours_up == SESSIONS as usize && frr_up == SESSIONS as usize {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all {SESSIONS} sessions Up within 60 s: ours {ours_up}, bfdd {frr_up}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let me = std::process::id();
    let (ours0, frr0, t0) = (cpu_ticks(me), cpu_ticks(bfdd_pid), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (ours1, frr1, wall) = (cpu_ticks(me), cpu_ticks(bfdd_pid), t0.elapsed());
    // Still Up at the end: the window measured steady state, not flaps.
    let still_up = handles
        .iter()
        .filter(|h| {
            rt.block_on(h.show())
                .is_ok_and(|s| s.status.state == State::Up)
        })
        .count();
    assert_eq!(
        still_up, SESSIONS as usize,
        "sessions went down during the window"
    );
    let hz = clock_ticks_per_second() as f64;
    let share = |ticks: u64| ticks as f64 / hz / wall.as_secs_f64() * 100.0;
    let (ours, theirs) = (share(ours1 - ours0), share(frr1 - frr0));
    println!(
        "{SESSIONS} BFD sessions, 300 ms x 3, {:.1} s window (CPU time as % of one core)",
        wall.as_secs_f64()
    );
    println!("  ours (bfd::driver, whole bench process)  {ours:6.2} %");
    println!("  FRR bfdd 8.4                            {theirs:6.2} %");
    if theirs > 0.0 {
        println!(
            "  ratio ours / bfdd                      {:6.2}",
            ours / theirs
        );
    } else {
        println!(
            "  ratio: bfdd used no measurable CPU ({} ticks)",
            frr1 - frr0
        );
    }
    rt.block_on(driver.shutdown());
    drop(frr);
}
