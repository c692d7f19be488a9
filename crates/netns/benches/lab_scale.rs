//! Lab bring-up and teardown at scale, with `ip` as the comparison peer (needs root):
//!
//! ```text
//!   cargo bench -p netns --bench lab_scale [-- --reps 3 --sizes 10,100,500 --no-ip]
//! ```
//!
//! Topologies of N namespaces (nodes `n0..n{N-1}`), N-1 veth pairs, one /30 IPv4 address per
//! end, every link up (and `lo`):
//!
//! ```text
//!   chain  n0 ─ n1 ─ n2 ─ ... ─ n{N-1}
//!   star   n0 (hub) ─ n1, n0 ─ n2, ... n0 ─ n{N-1}: a routed hub with N-1 point-to-point
//!          veths, each its own /30 (what a transit gateway or WAN core node is in a scenario;
//!          the scenario format has no bridges)
//!   link k joins a and b: a has 10.0.0.0+4k+1/30 on `to-n<b>`, b has +2/30 on `to-n<a>`
//! ```
//!
//! ours:  `Lab::add_nodes` (pinned namespaces, `lo` up, lab.json) + `Netlink::open_many` +
//!        `add_veths` (pipelined, 64 pairs in flight); teardown: drop the connections,
//!        `Lab::teardown` (what `hybridlab` does).
//! ip:    the same topology from a `sh` loop of `ip netns add`, `ip link add .. netns .. type
//!        veth peer .. netns ..`, `ip -n .. addr add`, `ip -n .. link set .. up`; teardown: a
//!        loop of `ip netns del`. Only this comparison shells out to `ip`; the crate never does.
//!
//! Both are checked after bring-up (every node has exactly its links, up with carrier, with
//! its address), outside the timed part.
//!
//! Teardown is reported twice: "down" when the deletes return (names gone, every object
//! unreachable: what `ip netns del` waits for), and "freed" when the kernel has finished
//! destroying the namespaces, which it does afterwards on one worker (`cleanup_net`). "freed" is
//! measured with namespace ids: each namespace of the run gets an nsid in the bench's own
//! namespace, and the kernel announces RTM_DELNSID when its cleanup batch starts; once every one
//! has been announced, a sentinel namespace is created and deleted, and its RTM_DELNSID can only
//! come after the batches before it finished (the cleanup work queue is ordered). The same
//! barrier runs after every run, so no run pays for the previous one's cleanup.
//!
//! Every time is the median of `--reps` runs. Namespaces are named `hl-bench-*`: ours belong to
//! lab `bench` (state under $TMPDIR/hl-bench-state; removed by `Drop` on panic, swept at the
//! next start if the process was killed), the `ip` ones are `hl-bench-ip-*` and the sentinel
//! `hl-bench-sentinel`, unpinned by a guard on panic and at the next start.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ipnet::{IpNet, Ipv4Net};
use netns::lab::{Lab, LabConfig};
use netns::{Netlink, Netns, NetnsDir, VethEndSpec, VethSpec, add_veths};

#[path = "../tests/support/nsid.rs"]
mod nsid;
use nsid::NsidWatch;

const LAB: &str = "bench";
const IP_PREFIX: &str = "hl-bench-ip-";
const SENTINEL: &str = "hl-bench-sentinel";
/// Pairs in flight in `add_veths`.
const IN_FLIGHT: usize = 64;
/// How long the kernel may take to destroy one run's namespaces.
const FREED_DEADLINE: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Chain,
    Star,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Chain => "chain",
            Shape::Star => "star",
        }
    }
}

struct End {
    node: usize,
    ifname: String,
    addr: IpNet,
}

struct Topology {
    nodes: Vec<String>,
    links: Vec<[End; 2]>,
}

fn topology(shape: Shape, n: usize) -> Topology {
    let nodes = (0..n).map(|i| format!("n{i}")).collect();
    let pairs: Vec<(usize, usize)> = match shape {
        Shape::Chain => (1..n).map(|i| (i - 1, i)).collect(),
        Shape::Star => (1..n).map(|i| (0, i)).collect(),
    };
    let links = pairs
        .into_iter()
        .enumerate()
        .map(|(k, (a, b))| {
            let base = u32::from(Ipv4Addr::new(10, 0, 0, 0)) + 4 * k as u32;
            let end = |node: usize, peer: usize, host: u32| End {
                node,
                ifname: format!("to-n{peer}"),
                addr: IpNet::V4(
                    Ipv4Net::new(Ipv4Addr::from(base + host), 30).expect("a /30 is valid"),
                ),
            };
            [end(a, b, 1), end(b, a, 2)]
        })
        .collect();
    Topology { nodes, links }
}

// ---------------------------------------------------------------------------------------------
// ours

async fn ours_up(lab: &mut Lab, topo: &Topology) -> Vec<Netlink> {
    let names: Vec<&str> = topo.nodes.iter().map(String::as_str).collect();
    lab.add_nodes(&names).expect("creating namespaces");
    let ns: Vec<&Netns> = names
        .iter()
        .map(|n| lab.node(n).expect("node just added"))
        .collect();
    let nl = Netlink::open_many(&ns).expect("opening netlink sockets");
    let addrs: Vec<[[IpNet; 1]; 2]> = topo
        .links
        .iter()
        .map(|[a, b]| [[a.addr], [b.addr]])
        .collect();
    let specs: Vec<VethSpec<'_>> = topo
        .links
        .iter()
        .zip(&addrs)
        .map(|([a, b], [aa, ba])| VethSpec {
            a: VethEndSpec {
                ns: ns[a.node],
                netlink: &nl[a.node],
                name: &a.ifname,
                addresses: aa,
            },
            b: VethEndSpec {
                ns: ns[b.node],
                netlink: &nl[b.node],
                name: &b.ifname,
                addresses: ba,
            },
            mtu: None,
            up: true,
        })
        .collect();
    add_veths(&specs, IN_FLIGHT).await.expect("creating links");
    nl
}

// ---------------------------------------------------------------------------------------------
// ip

/// `sh -c SCRIPT sh up|down chain|star N PREFIX`: the comparison peer, one `ip` process per
/// object and operation, as a shell script would do it.
const IP_SCRIPT: &str = r#"
set -e
op=$1 shape=$2 n=$3 p=$4
if [ "$op" = down ]; then
  i=0
  while [ "$i" -lt "$n" ]; do ip netns del "${p}n$i"; i=$((i + 1)); done
  exit 0
fi
i=0
while [ "$i" -lt "$n" ]; do
  ip netns add "${p}n$i"
  ip -n "${p}n$i" link set lo up
  i=$((i + 1))
done
k=0
while [ "$k" -lt $((n - 1)) ]; do
  if [ "$shape" = chain ]; then a=$k; else a=0; fi
  b=$((k + 1))
  base=$((k * 4))
  net="10.$((base >> 16 & 255)).$((base >> 8 & 255))"
  host=$((base & 255))
  ip link add "to-n$b" netns "${p}n$a" type veth peer name "to-n$a" netns "${p}n$b"
  ip -n "${p}n$a" addr add "$net.$((host + 1))/30" dev "to-n$b"
  ip -n "${p}n$a" link set "to-n$b" up
  ip -n "${p}n$b" addr add "$net.$((host + 2))/30" dev "to-n$a"
  ip -n "${p}n$b" link set "to-n$a" up
  k=$((k + 1))
done
"#;

fn ip_script(op: &str, shape: Shape, n: usize) {
    let status = Command::new("sh")
        .args([
            "-c",
            IP_SCRIPT,
            "sh",
            op,
            shape.name(),
            &n.to_string(),
            IP_PREFIX,
        ])
        .status()
        .expect("running sh");
    assert!(status.success(), "ip script {op} {shape:?} {n}: {status}");
}

/// Unpins every `hl-bench-ip-*` namespace and the sentinel, however the bench ends.
struct IpGuard;

impl IpGuard {
    fn clean() {
        let dir = NetnsDir::system();
        for name in dir.list(IP_PREFIX).unwrap_or_default() {
            let _ = dir.unpin(&name);
        }
        let _ = dir.unpin(SENTINEL);
    }
}

impl Drop for IpGuard {
    fn drop(&mut self) {
        IpGuard::clean();
    }
}

// ---------------------------------------------------------------------------------------------
// checking a topology

async fn check(topo: &Topology, nl: &[Netlink], who: &str) {
    let mut want: Vec<Vec<(&str, IpNet)>> = vec![Vec::new(); topo.nodes.len()];
    for end in topo.links.iter().flatten() {
        want[end.node].push((&end.ifname, end.addr));
    }
    let got = futures::stream::iter(nl.iter().map(|h| async move {
        let links = h.links().await.expect("listing links");
        let addrs = h.addresses(None).await.expect("listing addresses");
        (links, addrs)
    }))
    .buffered(32)
    .collect::<Vec<_>>()
    .await;
    for (i, (links, addrs)) in got.iter().enumerate() {
        let node = &topo.nodes[i];
        let lo = links.iter().find(|l| l.name == "lo");
        assert!(lo.is_some_and(|l| l.up), "{who}: lo of {node} not up");
        assert_eq!(links.len(), want[i].len() + 1, "{who}: links of {node}");
        for (ifname, addr) in &want[i] {
            let link = links
                .iter()
                .find(|l| l.name == *ifname)
                .unwrap_or_else(|| panic!("{who}: {node} has no {ifname}"));
            assert!(
                link.up && link.lower_up,
                "{who}: {node}:{ifname} not up with carrier"
            );
            assert!(
                addrs
                    .iter()
                    .any(|a| a.index == link.index && a.net == *addr),
                "{who}: {node}:{ifname} lacks {addr}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// runs

#[derive(Default)]
struct Times {
    up: Vec<Duration>,
    down: Vec<Duration>,
    freed: Vec<Duration>,
}

impl Times {
    fn push(&mut self, up: Duration, down: Duration, freed: Duration) {
        self.up.push(up);
        self.down.push(down);
        self.freed.push(freed);
    }
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn run_ours(
    rt: &tokio::runtime::Runtime,
    watch: &NsidWatch,
    config: &LabConfig,
    topo: &Topology,
) -> (Duration, Duration, Duration) {
    let mut lab = Lab::create_with(LAB, config).expect("creating lab");
    let t0 = Instant::now();
    let nl = rt.block_on(ours_up(&mut lab, topo));
    let up = t0.elapsed();
    rt.block_on(check(topo, &nl, "ours"));
    let ns: Vec<&Netns> = lab.nodes().map(|(_, n)| n).collect();
    let ids = rt.block_on(watch.assign_all(&ns));
    let t0 = Instant::now();
    drop(nl);
    lab.teardown().expect("tearing the lab down");
    let down = t0.elapsed();
    let freed = rt.block_on(watch.barrier(ids, SENTINEL, FREED_DEADLINE)) - t0;
    (up, down, freed)
}

fn run_ip(
    rt: &tokio::runtime::Runtime,
    watch: &NsidWatch,
    shape: Shape,
    topo: &Topology,
) -> (Duration, Duration, Duration) {
    let n = topo.nodes.len();
    let t0 = Instant::now();
    ip_script("up", shape, n);
    let up = t0.elapsed();
    let dir = NetnsDir::system();
    let ns: Vec<Netns> = topo
        .nodes
        .iter()
        .map(|node| Netns::open(&dir, &format!("{IP_PREFIX}{node}")).expect("ip's namespace"))
        .collect();
    let refs: Vec<&Netns> = ns.iter().collect();
    let ids = rt.block_on(async {
        let nl = Netlink::open_many(&refs).expect("netlink into ip's namespaces");
        check(topo, &nl, "ip").await;
        watch.assign_all(&refs).await
    });
    drop(ns);
    let t0 = Instant::now();
    ip_script("down", shape, n);
    let down = t0.elapsed();
    let freed = rt.block_on(watch.barrier(ids, SENTINEL, FREED_DEADLINE)) - t0;
    (up, down, freed)
}

struct Args {
    reps: usize,
    sizes: Vec<usize>,
    ip: bool,
}

fn args() -> Args {
    let mut a = Args {
        reps: 3,
        sizes: vec![10, 100, 500],
        ip: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--reps" => a.reps = it.next().and_then(|v| v.parse().ok()).expect("--reps N"),
            "--sizes" => {
                a.sizes = it
                    .next()
                    .expect("--sizes N,N,..")
                    .split(',')
                    .map(|s| s.parse().expect("--sizes N,N,.."))
                    .collect()
            }
            "--no-ip" => a.ip = false,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(a.reps > 0 && a.sizes.iter().all(|&n| n >= 2));
    a
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e3)
}

/// The 1-minute load average: the machine may be shared, and it shows in the times.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn main() {
    let args = args();
    // The effective uid, from /proc (no unsafe in benches).
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        eprintln!("lab_scale: needs root (namespaces in /run/netns, nsids); skipped");
        return;
    }
    let ip = args.ip
        && Command::new("ip")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
    if args.ip && !ip {
        eprintln!("lab_scale: no `ip` binary, comparison skipped");
    }
    let config = LabConfig::with_state_root(std::env::temp_dir().join("hl-bench-state"));
    netns::sweep(&config).expect("sweeping labs of earlier runs");
    IpGuard::clean();
    let _guard = IpGuard;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let watch = rt.block_on(async { NsidWatch::start() });

    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "lab_scale: kernel {}, {cpus} CPUs, load average {} at start, median of {} runs, times in ms",
        kernel.trim(),
        loadavg(),
        args.reps
    );
    println!();
    println!(
        "| topology | nodes | ours up | ours down | ours freed | ip up | ip down | ip freed | up: ip/ours | down: ip/ours | freed: ip/ours |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for shape in [Shape::Chain, Shape::Star] {
        for &n in &args.sizes {
            let topo = topology(shape, n);
            let (mut ours, mut theirs) = (Times::default(), Times::default());
            for _ in 0..args.reps {
                let (u, d, f) = run_ours(&rt, &watch, &config, &topo);
                ours.push(u, d, f);
                if ip {
                    let (u, d, f) = run_ip(&rt, &watch, shape, &topo);
                    theirs.push(u, d, f);
                }
            }
            let (ou, od, of) = (median(&ours.up), median(&ours.down), median(&ours.freed));
            if ip {
                let (iu, id, if_) = (
                    median(&theirs.up),
                    median(&theirs.down),
                    median(&theirs.freed),
                );
                let r =
                    |a: Duration, b: Duration| format!("{:.1}x", a.as_secs_f64() / b.as_secs_f64());
                println!(
                    "| {} | {n} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    shape.name(),
                    ms(ou),
                    ms(od),
                    ms(of),
                    ms(iu),
                    ms(id),
                    ms(if_),
                    r(iu, ou),
                    r(id, od),
                    r(if_, of)
                );
            } else {
                println!(
                    "| {} | {n} | {} | {} | {} | - | - | - | - | - | - |",
                    shape.name(),
                    ms(ou),
                    ms(od),
                    ms(of)
                );
            }
        }
    }
    println!();
    println!("load average {} at the end", loadavg());
}
