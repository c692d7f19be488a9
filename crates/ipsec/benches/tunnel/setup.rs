//! IKE tunnel set-up time: our initiator against our responder, and strongSwan against
//! strongSwan, each in a pair of lab namespaces joined by a veth, for two suites
//! (aes256gcm16-prfsha256-ecp256 and chacha20poly1305-prfsha256-x25519, ESP with the same
//! cipher). Each side is timed over `HL_BENCH_SETUPS` set-ups (default 20) after one warm-up
//! that is not counted, ours and strongSwan's interleaved; the table gives median and p90 and the
//! ratio ours / strongSwan.
//!
//! Two spans, measured as alike as the two implementations allow:
//!
//! - first IKE packet -> CHILD_SA installed. Ours: the initiator's `ipsec.state` event to
//!   `init-sent` (the driver stamps it just before it hands IKE_SA_INIT to the kernel) to the later
//!   of the two ends' `ipsec.child_up` events (each emitted once that end's SA pair went to its
//!   data plane: from then traffic flows both ways), all CLOCK_MONOTONIC. strongSwan: the
//!   initiator's log, the first `sending packet` of the IKE_SA to its `CHILD_SA ... established`
//!   line, which charon writes after installing the SA (its responder installs before it
//!   answers IKE_AUTH); charon stamps its log in milliseconds, so these are whole milliseconds.
//! - asked -> CHILD_SA installed, as an operator sees it. Ours: `TunnelHandle::initiate` called
//!   to the same end point. strongSwan: `swanctl --initiate` wall clock (it returns when the
//!   initiator's CHILD_SA is up), which includes starting swanctl and the VICI round trip; the
//!   table shows that overhead alone (`swanctl --stats`, timed the same way).
//!
//! `HL_BENCH_SAMPLES=1` also prints every sample (stderr).
//!
//! Between set-ups our two tunnels are closed (DELETE) and started afresh (TUN, data plane,
//! sockets, task: none of it timed, as in a gateway they exist before the peer initiates);
//! strongSwan's initiator terminates the IKE_SA (`swanctl --terminate`). Every set-up's tunnel
//! carries a ping before it is closed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::cbc::CbcAlgorithm;
use ipsec::crypto::cipher::Cipher;
use ipsec::crypto::dh::DhGroup;
use ipsec::crypto::integ::IntegAlgorithm;
use ipsec::crypto::modp::ModpGroup;
use ipsec::crypto::prf::PrfAlgorithm;
use ipsec::dataplane::{Dataplane, DataplaneConfig, tun_options};
use ipsec::ike::config::StartupAction;
use ipsec::tunnel::{EspIo, TunnelConfig, TunnelEvent, TunnelHandle, TunnelIo};
use netns::{Netns, NetnsDir};
use testkit::lab::Lab;
use testkit::strongswan::{CharonOptions, PskConnection, StrongSwan};
use tokio::runtime::Runtime;
use tokio::sync::broadcast;

use crate::support::{
    INSIDE_A, INSIDE_B, INSIDE_MTU, OUTSIDE_A, OUTSIDE_B, esp_suites, ike_suites, ike_tunnel,
};

const PSK: &str = "Bench.psk.0123456789";

/// One suite, in our terms and in strongSwan's proposal syntax.
#[derive(Debug, Clone, Copy)]
struct Suite {
    label: &'static str,
    cipher: Cipher,
    prf: PrfAlgorithm,
    dh: DhGroup,
    swan_ike: &'static str,
    swan_esp: &'static str,
}

const SUITES: [Suite; 3] = [
    Suite {
        label: "AES-256-GCM / ECP-256",
        cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key256),
        prf: PrfAlgorithm::HmacSha256,
        dh: DhGroup::Ecp256,
        swan_ike: "aes256gcm16-prfsha256-ecp256",
        swan_esp: "aes256gcm16",
    },
    Suite {
        label: "ChaCha20-Poly1305 / X25519",
        cipher: Cipher::Aead(AeadAlgorithm::ChaCha20Poly1305),
        prf: PrfAlgorithm::HmacSha256,
        dh: DhGroup::Curve25519,
        swan_ike: "chacha20poly1305-prfsha256-x25519",
        swan_esp: "chacha20poly1305",
    },
    Suite {
        label: "AES-256-CBC + HMAC-SHA2-256 / MODP-2048",
        cipher: Cipher::CbcHmac(CbcAlgorithm::Aes256, IntegAlgorithm::HmacSha256_128),
        prf: PrfAlgorithm::HmacSha256,
        dh: DhGroup::Modp(ModpGroup::Modp2048),
        swan_ike: "aes256-sha256-modp2048",
        swan_esp: "aes256-sha256",
    },
];

fn setups() -> usize {
    std::env::var("HL_BENCH_SETUPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(1)
}

/// Set-up times of one side and suite.
#[derive(Debug, Default)]
struct Times {
    /// First IKE packet -> CHILD_SA installed.
    first_packet: Vec<Duration>,
    /// Asked to initiate -> CHILD_SA installed.
    asked: Vec<Duration>,
    /// Set-ups in which the responder installed its pair after the initiator (ours only).
    responder_last: usize,
}

/// Nearest-rank percentile (`p` in 0..=100) of unsorted samples.
fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut v = samples.to_vec();
    v.sort();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---- ours ----

/// Our end with short (CI) timers, responder (it waits to be asked or for the peer), one IKE
/// suite (the cipher with the PRF and the group) and one ESP suite (the cipher, PFS group).
fn our_config(name: &str, local: Ipv4Addr, remote: Ipv4Addr, suite: &Suite) -> TunnelConfig {
    let mut c = ike_tunnel(name, local, remote, PSK, StartupAction::Add);
    c.ike.ike_suites = ike_suites(&[suite.cipher], &[suite.prf], &[suite.dh]);
    c.ike.esp_suites = esp_suites(&[suite.cipher], &[suite.dh]);
    c
}

/// Starts one end: TUN `ifname` with the inside address, sockets on 500/4500, data plane and
/// tunnel task (startup action `add`: it waits to be asked or for the peer).
#[allow(clippy::too_many_arguments)]
fn start_end(
    lab: &Lab,
    rt: &Runtime,
    node: &str,
    ifname: &str,
    local: Ipv4Addr,
    remote: Ipv4Addr,
    inside: Ipv4Addr,
    suite: &Suite,
) -> TunnelHandle {
    let ns = Netns::open(&NetnsDir::system(), &lab.ns(node)).expect("open namespace");
    let tun = netns::create_tun(&ns, &tun_options(ifname, true)).expect("create TUN");
    let (ike, natt) = ns
        .run(move || ipsec::tunnel::bind_ike_sockets(IpAddr::V4(local)))
        .expect("enter namespace")
        .expect("bind 500/4500");
    lab.exec(
        node,
        &["ip", "addr", "add", &format!("{inside}/30"), "dev", ifname],
    )
    .expect("inside address");
    lab.exec(
        node,
        &[
            "ip",
            "link",
            "set",
            ifname,
            "mtu",
            &INSIDE_MTU.to_string(),
            "up",
        ],
    )
    .expect("TUN up");
    let (dp, channels) = Dataplane::start(
        tun,
        natt,
        DataplaneConfig::new(format!("{node}-{ifname}"), SocketAddr::from((remote, 4500))),
    )
    .expect("data plane");
    let _guard = rt.enter();
    ipsec::tunnel::spawn(
        our_config(&format!("{node}-{ifname}"), local, remote, suite),
        TunnelIo {
            ike,
            esp: EspIo::Dataplane(dp, channels),
        },
    )
    .expect("tunnel")
}

/// Waits for one end's first `ipsec.child_up`; returns its timestamp (CLOCK_MONOTONIC ns) and
/// that of its `init-sent` state, if it had one (the initiator).
async fn wait_up(
    events: &mut broadcast::Receiver<TunnelEvent>,
) -> Result<(Option<u64>, u64), String> {
    let mut sent = None;
    let mut seen = Vec::new();
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(e) if e.kind == "ipsec.state" && e.data["to"] == "init-sent" => {
                    sent.get_or_insert(e.t_ns);
                }
                Ok(e) if e.kind == "ipsec.child_up" => return Ok(e.t_ns),
                Ok(e) if e.kind == "ipsec.failed" => return Err(format!("{}", e.data)),
                Ok(e) => seen.push(format!("{} {}", e.kind, e.data)),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await;
    match waited {
        Ok(Ok(up)) => Ok((sent, up)),
        Ok(Err(e)) => Err(format!("set-up failed: {e}; saw {seen:?}")),
        Err(_) => Err(format!("no CHILD_SA within 10 s; saw {seen:?}")),
    }
}

fn runtime() -> Runtime {
    // One runtime per end, one worker each: two daemons, as in a lab.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn two_nodes(name: &str) -> Lab {
    let mut lab = Lab::new(name).expect("lab");
    lab.node("a").expect("node a");
    lab.node("b").expect("node b");
    lab.link(
        "a",
        &format!("{OUTSIDE_A}/24"),
        "b",
        &format!("{OUTSIDE_B}/24"),
    )
    .expect("underlay veth");
    lab
}

/// Ours to ours. Field order is drop order: runtimes (tunnel tasks) before the namespaces.
struct Ours {
    rt_a: Runtime,
    rt_b: Runtime,
    lab: Lab,
    suite: Suite,
}

/// One of our set-ups.
struct OurSetup {
    first_packet: Duration,
    asked: Duration,
    responder_last: bool,
}

impl Ours {
    fn new(suite: Suite) -> Ours {
        Ours {
            rt_a: runtime(),
            rt_b: runtime(),
            lab: two_nodes("esp-bench-setup"),
            suite,
        }
    }

    /// Set-up number `i`: both ends started afresh, `a` asked to initiate, a ping through the
    /// tunnel, both closed.
    fn setup(&self, i: usize) -> OurSetup {
        let (lab, suite, label) = (&self.lab, &self.suite, self.suite.label);
        let ifname = format!("vpn{i}");
        let a = start_end(
            lab, &self.rt_a, "a", &ifname, OUTSIDE_A, OUTSIDE_B, INSIDE_A, suite,
        );
        let b = start_end(
            lab, &self.rt_b, "b", &ifname, OUTSIDE_B, OUTSIDE_A, INSIDE_B, suite,
        );
        let (mut a_events, mut b_events) = (a.subscribe(), b.subscribe());
        let asked = netns::clock::monotonic_ns();
        self.rt_a.block_on(a.initiate()).expect("initiate");
        let (sent, a_up) = self
            .rt_a
            .block_on(wait_up(&mut a_events))
            .unwrap_or_else(|e| panic!("ours {label} set-up {i}, initiator: {e}"));
        let sent = sent.expect("the initiator's init-sent state before its child_up");
        let (_, b_up) = self
            .rt_b
            .block_on(wait_up(&mut b_events))
            .unwrap_or_else(|e| panic!("ours {label} set-up {i}, responder: {e}"));
        // Traffic flows both ways once both ends installed their pair.
        let up = a_up.max(b_up);
        lab.exec(
            "a",
            &["ping", "-c", "1", "-W", "2", "-q", &INSIDE_B.to_string()],
        )
        .unwrap_or_else(|e| panic!("ping through our tunnel after set-up {i}: {e}"));
        self.rt_a.block_on(a.close()).expect("close a");
        self.rt_b.block_on(b.close()).expect("close b");
        OurSetup {
            first_packet: Duration::from_nanos(up - sent),
            asked: Duration::from_nanos(up - asked),
            responder_last: b_up > a_up,
        }
    }
}

// ---- strongSwan ----

/// `HH:MM:SS.mmm` at the start of a charon log line, in milliseconds of the day.
fn log_ms(line: &str) -> Option<u64> {
    let t = line.split(' ').next()?;
    let (hms, millis) = t.split_once('.')?;
    let mut parts = hms.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    Some(((h * 60 + m) * 60 + s) * 1000 + millis.parse::<u64>().ok()?)
}

/// First `sending packet` to `CHILD_SA ... established` of every IKE_SA `<name|n>` in the
/// initiator's log, in order of n.
fn swan_log_setups(log: &str, name: &str) -> Vec<Duration> {
    let mut first_send: std::collections::BTreeMap<u32, u64> = Default::default();
    let mut out = std::collections::BTreeMap::new();
    let tag = format!("<{name}|");
    for line in log.lines() {
        let Some(at) = line.find(&tag) else { continue };
        let rest = &line[at + tag.len()..];
        let Some((n, text)) = rest.split_once("> ") else {
            continue;
        };
        let (Ok(n), Some(t)) = (n.parse::<u32>(), log_ms(line)) else {
            continue;
        };
        if text.starts_with("sending packet") {
            first_send.entry(n).or_insert(t);
        } else if text.starts_with("CHILD_SA ")
            && text.contains(" established ")
            && let Some(&s) = first_send.get(&n)
        {
            // Midnight between the two lines.
            let d = if t >= s { t - s } else { t + 86_400_000 - s };
            out.entry(n).or_insert(Duration::from_millis(d));
        }
    }
    out.into_values().collect()
}

/// strongSwan to strongSwan. Field order is drop order: charons before the namespaces.
struct Swan {
    sa: StrongSwan,
    _sb: StrongSwan,
    child: String,
    _lab: Lab,
    suite: Suite,
}

impl Swan {
    fn new(suite: Suite) -> Swan {
        let lab = two_nodes("esp-bench-swsetup");
        let sa = StrongSwan::start(&lab, "a", &CharonOptions::default()).expect("charon a");
        let sb = StrongSwan::start(&lab, "b", &CharonOptions::default()).expect("charon b");
        let conn = |local: Ipv4Addr, remote: Ipv4Addr| {
            let mut c = PskConnection::new("aws", local.into(), remote.into(), PSK);
            c.proposals = suite.swan_ike.into();
            c.esp_proposals = suite.swan_esp.into();
            c
        };
        let (ca, cb) = (conn(OUTSIDE_A, OUTSIDE_B), conn(OUTSIDE_B, OUTSIDE_A));
        sa.load_connection(&ca).expect("load a");
        sb.load_connection(&cb).expect("load b");
        Swan {
            sa,
            _sb: sb,
            child: ca.child_name(),
            _lab: lab,
            suite,
        }
    }

    /// Set-up number `i`: `swanctl --initiate` timed, then `swanctl --terminate`. Returns the
    /// wall clock of the initiate.
    fn setup(&self, i: usize) -> Duration {
        let start = Instant::now();
        let out = self
            .sa
            .initiate(&self.child, Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("strongSwan {} set-up {i}: {e}", self.suite.label));
        let took = start.elapsed();
        assert!(out.contains("initiate completed successfully"), "{out}");
        self.sa.terminate_ike("aws").expect("swanctl --terminate");
        took
    }

    /// First packet -> CHILD_SA of every set-up so far, from charon's log.
    fn logged(&self) -> Vec<Duration> {
        swan_log_setups(&self.sa.log(), "aws")
    }

    /// `swanctl --stats`, timed as `setup` times `--initiate`.
    fn swanctl_alone(&self) -> Duration {
        let start = Instant::now();
        self.sa.swanctl(&["--stats"]).expect("swanctl --stats");
        start.elapsed()
    }
}

/// One suite, both sides, set-ups interleaved (ours, strongSwan, ours, ...) so that load from
/// elsewhere on the machine hits both alike; set-up 0 of each is a warm-up and not counted.
fn measure(suite: Suite, n: usize) -> (Times, Times, Vec<Duration>) {
    let swan = Swan::new(suite);
    let ours = Ours::new(suite);
    let (mut our, mut their, mut swanctl) = (Times::default(), Times::default(), Vec::new());
    for i in 0..=n {
        let o = ours.setup(i);
        let s = swan.setup(i);
        let c = swan.swanctl_alone();
        if i > 0 {
            our.first_packet.push(o.first_packet);
            our.asked.push(o.asked);
            our.responder_last += usize::from(o.responder_last);
            their.asked.push(s);
            swanctl.push(c);
        }
    }
    let logged = swan.logged();
    assert_eq!(
        logged.len(),
        n + 1,
        "strongSwan set-ups found in charon's log"
    );
    their.first_packet = logged[1..].to_vec();
    (our, their, swanctl)
}

// ---- table ----

fn row(name: &str, samples: &[Duration], reference: Option<&[Duration]>) {
    if std::env::var_os("HL_BENCH_SAMPLES").is_some() {
        let all: Vec<String> = samples.iter().map(|d| format!("{:.2}", ms(*d))).collect();
        eprintln!("{name}: {}", all.join(" "));
    }
    let median = percentile(samples, 50.0);
    let ratio = reference.map_or("-".to_string(), |r| {
        format!("{:.3}", ms(median) / ms(percentile(r, 50.0)))
    });
    println!(
        "{:<86} {:>9.2} {:>9.2} {:>9}",
        name,
        ms(median),
        ms(percentile(samples, 90.0)),
        ratio
    );
}

/// Measures and prints the set-up table.
pub fn run() {
    let n = setups();
    println!();
    println!(
        "IKE tunnel set-up, {n} per row after 1 warm-up, ours and strongSwan interleaved; x swan = ours / strongSwan median (lower: faster)"
    );
    println!(
        "{:<86} {:>9} {:>9} {:>9}",
        "path", "median ms", "p90 ms", "x swan"
    );
    for suite in SUITES {
        let (our, swan, swanctl) = measure(suite, n);
        let l = suite.label;
        row(
            &format!("ours {l}: first IKE packet -> CHILD_SA, both ends"),
            &our.first_packet,
            Some(&swan.first_packet),
        );
        row(
            &format!("strongSwan {l}: same, charon log (1 ms steps)"),
            &swan.first_packet,
            None,
        );
        row(
            &format!("ours {l}: initiate() -> CHILD_SA, both ends"),
            &our.asked,
            Some(&swan.asked),
        );
        row(
            &format!("strongSwan {l}: swanctl --initiate returns"),
            &swan.asked,
            None,
        );
        row(
            "  swanctl + VICI round trip alone (--stats)",
            &swanctl,
            None,
        );
        println!(
            "  ours {l}: the responder installed its pair after the initiator in {} of {n} set-ups",
            our.responder_last
        );
    }
}
