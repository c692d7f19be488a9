//! Our IKEv2 + ESP against a real strongSwan customer gateway (charon 5.9.8 with
//! kernel-libipsec), in two lab namespaces, in both roles:
//!
//! ```text
//!   hl-<lab>-aws  (our tunnel driver + data plane)            hl-<lab>-cgw  (charon)
//!   vpn0 169.254.20.1/30 ── to-cgw 192.0.2.1 ═══ veth ═══ 192.0.2.2 to-aws ── ipsec0 169.254.20.2/30
//!                           UDP 500 / 4500 (ESP in UDP)
//! ```
//!
//! Suites: aes256gcm16-prfsha256-ecp256 and chacha20poly1305-prfsha256-x25519 for IKE; ESP
//! aes128gcm16, aes256gcm16 and chacha20poly1305 (with PFS groups, as AWS uses). Each test checks
//! what strongSwan reports (`swanctl --list-sas`), what our `show` reports, and real traffic:
//! ping both ways and TCP (iperf3). Then rekeys under load, a killed strongSwan (DPD), and a wrong
//! PSK. Needs root, strongSwan and iperf3 (see testkit::strongswan); fails, never skips.
//!
//! Loss under rekeys is measured per place: our data plane's own drop counters while the rekeys
//! run, the kernel's drops at the IKE/ESP sockets and TUN devices, and the drops at the iperf3
//! receivers' sockets. Drops at the iperf3 sockets and at charon's own ESP socket and TUN device
//! are reported but not counted against our tunnel: on a loaded machine a descheduled iperf3 or
//! charon overflows its socket whatever our side does (issue #10 §7a).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

mod support;

use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::dh::DhGroup;
use ipsec::crypto::prf::PrfAlgorithm;
use ipsec::dataplane::{Dataplane, DataplaneConfig, tun_options};
use ipsec::ike::config::{DpdAction, StartupAction};
use ipsec::tunnel::{EspIo, TunnelConfig, TunnelEvent, TunnelHandle, TunnelIo, TunnelShow};
use netns::{Netns, NetnsDir};
use testkit::lab::Lab;
use testkit::strongswan::{CharonOptions, PskConnection, StartAction, StrongSwan};
use testkit::wait_for;
use tokio::sync::broadcast;

const PSK: &str = "Interop.psk_4242";
const AWS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const CGW: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const AWS_INSIDE: &str = "169.254.20.1";
const CGW_INSIDE: &str = "169.254.20.2";

/// Field order is drop order: our tunnel (data-plane threads) and runtime first, then charon,
/// then the namespaces.
struct Fixture {
    tunnel: Option<TunnelHandle>,
    events: broadcast::Receiver<TunnelEvent>,
    rt: tokio::runtime::Runtime,
    sw: StrongSwan,
    conn: PskConnection,
    lab: Lab,
}

struct Suites {
    ike: &'static str,
    esp: &'static str,
    aead: AeadAlgorithm,
    prf: PrfAlgorithm,
    dh: DhGroup,
}

const AES: Suites = Suites {
    ike: "aes256gcm16-prfsha256-ecp256",
    esp: "aes256gcm16-ecp256",
    aead: AeadAlgorithm::AesGcm16Key256,
    prf: PrfAlgorithm::HmacSha256,
    dh: DhGroup::Ecp256,
};

const CHACHA: Suites = Suites {
    ike: "chacha20poly1305-prfsha256-x25519",
    esp: "chacha20poly1305-x25519",
    aead: AeadAlgorithm::ChaCha20Poly1305,
    prf: PrfAlgorithm::HmacSha256,
    dh: DhGroup::Curve25519,
};

/// Our end: every suite we implement, short (CI) timers (see `support::ike_tunnel`).
fn our_config(startup: StartupAction, psk: &str) -> TunnelConfig {
    support::ike_tunnel("aws-t1", AWS, CGW, psk, startup)
}

impl Fixture {
    /// Builds the lab, starts charon with `conn` loaded and our tunnel with `config`.
    fn new(lab_name: &str, config: TunnelConfig, conn: PskConnection) -> Fixture {
        let mut lab = Lab::new(lab_name).expect("lab");
        lab.node("aws").expect("node aws");
        lab.node("cgw").expect("node cgw");
        lab.link("aws", &format!("{AWS}/24"), "cgw", &format!("{CGW}/24"))
            .expect("underlay");
        let sw = StrongSwan::start(&lab, "cgw", &CharonOptions::fast()).expect("charon");
        sw.load_connection(&conn).expect("swanctl --load-all");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let ns = Netns::open(&NetnsDir::system(), &lab.ns("aws")).expect("namespace");
        let tun = netns::create_tun(&ns, &tun_options("vpn0", true)).expect("TUN");
        let (ike, natt) = ns
            .run(|| ipsec::tunnel::bind_ike_sockets(IpAddr::V4(AWS)))
            .expect("enter namespace")
            .expect("bind 500/4500");
        lab.exec(
            "aws",
            &[
                "ip",
                "addr",
                "add",
                &format!("{AWS_INSIDE}/30"),
                "dev",
                "vpn0",
            ],
        )
        .unwrap();
        lab.exec("aws", &["ip", "link", "set", "vpn0", "mtu", "1400", "up"])
            .unwrap();
        let (dp, channels) = Dataplane::start(
            tun,
            natt,
            DataplaneConfig::new("aws-t1", SocketAddr::from((CGW, 4500))),
        )
        .expect("data plane");
        let _guard = rt.enter();
        let tunnel = ipsec::tunnel::spawn(
            config,
            TunnelIo {
                ike,
                esp: EspIo::Dataplane(dp, channels),
            },
        )
        .expect("tunnel");
        let events = tunnel.subscribe();
        drop(_guard);
        Fixture {
            tunnel: Some(tunnel),
            events,
            rt,
            sw,
            conn,
            lab,
        }
    }

    fn tunnel(&self) -> &TunnelHandle {
        self.tunnel.as_ref().unwrap()
    }

    fn show(&self) -> TunnelShow {
        self.rt.block_on(self.tunnel().show()).expect("show")
    }

    /// Waits for an event of `kind` whose data satisfies `pred`.
    fn wait_event(
        &mut self,
        kind: &str,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> TunnelEvent {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let events = &mut self.events;
            let r = self
                .rt
                .block_on(async { tokio::time::timeout_at(deadline, events.recv()).await });
            match r {
                Ok(Ok(e)) if e.kind == kind && pred(&e.data) => return e,
                Ok(Ok(e)) => seen.push(format!("{} {}", e.kind, e.data)),
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Ok(Err(e)) => panic!("event stream ended: {e}"),
                Err(_) => panic!(
                    "no {kind} event within {timeout:?}; saw {seen:#?}\ncharon log tail:\n{}",
                    tail(&self.sw.log(), 30)
                ),
            }
        }
    }

    /// Waits until both sides report the tunnel up, and checks they agree on the SAs.
    fn wait_up(&self, suites: &Suites) -> TunnelShow {
        let sa = self
            .sw
            .wait_up(&self.conn.name, Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{e}\n{}", tail(&self.sw.log(), 40)));
        let show = wait_for(
            "our tunnel established with an active CHILD_SA",
            Duration::from_secs(10),
            Duration::from_millis(50),
            || {
                let s = self.show();
                if s.state == "established" && s.child_sas.iter().any(|c| c.active) {
                    Ok(s)
                } else {
                    Err(Box::new(s))
                }
            },
        )
        .unwrap();
        let ike = show.ike_sa.as_ref().unwrap();
        assert_eq!(ike.suite, suites.ike);
        assert_eq!(sa.get("initiator-spi"), ike.spi_i);
        assert_eq!(sa.get("responder-spi"), ike.spi_r);
        assert_eq!(sa.get("local-port"), "4500");
        assert_eq!(sa.get("remote-port"), "4500");
        let child = show.child_sas.iter().find(|c| c.active).unwrap();
        let theirs = sa
            .children
            .iter()
            .find(|c| c.get("state") == "INSTALLED" && c.get("spi-in") == child.outbound_spi)
            .unwrap_or_else(|| {
                panic!("strongSwan has no CHILD_SA for our outbound SPI: {sa:?} / {show:?}")
            });
        assert_eq!(theirs.get("spi-out"), child.inbound_spi);
        assert_eq!(theirs.get("encap"), "yes");
        assert_eq!(child.suite, suites.esp);
        show
    }

    fn add_cgw_address(&self) {
        self.sw
            .add_tunnel_address(&self.lab, &format!("{CGW_INSIDE}/30"))
            .unwrap();
    }

    fn ping(&self, from: &str, to: &str) {
        wait_for(
            &format!("ping {to} from {from} through the tunnel"),
            Duration::from_secs(10),
            Duration::from_millis(200),
            || {
                self.lab
                    .exec(from, &["ping", "-c", "3", "-i", "0.2", "-W", "1", to])
                    .map_err(|e| e.to_string())
            },
        )
        .unwrap();
    }

    /// iperf3 TCP from the AWS side to the customer gateway for `secs`; returns bits/s received.
    fn tcp(&self, secs: u32) -> f64 {
        let mut server = self
            .lab
            .spawn(
                "cgw",
                "iperf3",
                &["-s", "-1", "--forceflush", "-B", CGW_INSIDE],
                &self.sw.dir().join("iperf3-server.log"),
            )
            .unwrap();
        let log = self.sw.dir().join("iperf3-server.log");
        wait_for(
            "iperf3 server listening",
            Duration::from_secs(10),
            Duration::from_millis(20),
            || {
                let t = std::fs::read_to_string(&log).unwrap_or_default();
                if t.contains("Server listening") {
                    Ok(())
                } else {
                    Err(t)
                }
            },
        )
        .unwrap();
        // The client's JSON must carry a receive summary; anything else is retried.
        let bits = wait_for(
            "an iperf3 TCP run through the tunnel",
            Duration::from_secs(20),
            Duration::from_millis(200),
            || {
                let out = self
                    .lab
                    .exec(
                        "aws",
                        &["iperf3", "-c", CGW_INSIDE, "-t", &secs.to_string(), "-J"],
                    )
                    .map_err(|e| e.to_string())?;
                let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
                v["end"]["sum_received"]["bits_per_second"]
                    .as_f64()
                    .ok_or(out)
            },
        )
        .unwrap();
        testkit::lab::kill(&mut server);
        bits
    }

    /// Checks the data plane saw traffic and nothing bad.
    fn check_counters(&self) {
        let c = self.show().counters.unwrap();
        assert!(c.packets_in > 0 && c.packets_out > 0, "{c:?}");
        assert_eq!((c.integrity_failures, c.replay_drops), (0, 0), "{c:?}");
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn conn(suites: &Suites, start: StartAction) -> PskConnection {
    let mut c = PskConnection::new("aws", IpAddr::V4(CGW), IpAddr::V4(AWS), PSK);
    c.proposals = suites.ike.into();
    c.esp_proposals = suites.esp.into();
    c.start_action = start;
    c
}

/// Narrows our suites to `s` for IKE and `esp` (with `s`'s group for PFS) for ESP.
fn only(c: &mut TunnelConfig, s: &Suites, esp: AeadAlgorithm) {
    c.ike.ike_suites = support::ike_suites(&[s.aead], &[s.prf], &[s.dh]);
    c.ike.esp_suites = support::esp_suites(&[esp], &[s.dh]);
}

fn traffic(f: &Fixture) {
    f.add_cgw_address();
    f.ping("aws", CGW_INSIDE);
    f.ping("cgw", AWS_INSIDE);
    let bps = f.tcp(2);
    assert!(bps > 1e6, "TCP through the tunnel: {bps} bit/s");
    f.check_counters();
}

#[test]
fn strongswan_initiates_to_our_responder_aes128gcm_esp() {
    // AWS's default: startup action `add`, the customer gateway initiates.
    let mut c = our_config(StartupAction::Add, PSK);
    only(&mut c, &AES, AeadAlgorithm::AesGcm16Key128);
    let mut sw = conn(&AES, StartAction::None);
    sw.esp_proposals = "aes128gcm16-ecp256".into();
    let f = Fixture::new("ike-sw-init", c, sw);
    let out =
        f.sw.initiate(&f.conn.child_name(), Duration::from_secs(20))
            .unwrap();
    assert!(out.contains("initiate completed successfully"), "{out}");
    let suites = Suites {
        esp: "aes128gcm16-ecp256",
        ..AES
    };
    let show = f.wait_up(&suites);
    assert!(!show.ike_sa.unwrap().initiator);
    assert!(show.nat_t);
    traffic(&f);
}

#[test]
fn we_initiate_to_strongswan_aes256gcm() {
    let mut c = our_config(StartupAction::Start, PSK);
    only(&mut c, &AES, AeadAlgorithm::AesGcm16Key256);
    let mut f = Fixture::new("ike-we-init", c, conn(&AES, StartAction::None));
    let up = f.wait_event("ipsec.child_up", Duration::from_secs(20), |_| true);
    let show = f.wait_up(&AES);
    assert!(show.ike_sa.unwrap().initiator);
    assert!(up.t_ns > 0);
    traffic(&f);
}

#[test]
fn strongswan_initiates_chacha20poly1305_x25519() {
    let mut c = our_config(StartupAction::Add, PSK);
    only(&mut c, &CHACHA, AeadAlgorithm::ChaCha20Poly1305);
    let f = Fixture::new("ike-sw-chacha", c, conn(&CHACHA, StartAction::Start));
    f.wait_up(&CHACHA);
    traffic(&f);
}

#[test]
fn we_initiate_chacha20poly1305_x25519_with_the_full_aws_proposal_list() {
    // Our full lists (every suite we implement) against strongSwan's single proposal: the
    // responder (strongSwan) picks, after an INVALID_KE_PAYLOAD round for the group.
    let c = our_config(StartupAction::Start, PSK);
    let f = Fixture::new("ike-we-chacha", c, conn(&CHACHA, StartAction::None));
    // IKE_AUTH negotiates no PFS group (RFC 7296 §1.2): until the first rekey we show the first
    // group of ours that goes with the chosen cipher.
    f.wait_up(&Suites {
        esp: "chacha20poly1305-ecp256",
        ..CHACHA
    });
    traffic(&f);
    // Our CHILD_SA rekey offers ECP-256 first; strongSwan answers INVALID_KE_PAYLOAD and we
    // retry with its group.
    f.rt.block_on(f.tunnel().rekey_child()).unwrap();
    f.wait_rekeys(1, 0);
    f.wait_up(&CHACHA);
    f.ping("aws", CGW_INSIDE);
}

#[test]
fn wrong_psk_gives_authentication_failed_and_no_tunnel() {
    // strongSwan initiates with another key: we refuse.
    let c = our_config(StartupAction::Add, PSK);
    let mut sw = conn(&AES, StartAction::None);
    sw.psk = "Another.psk_9999".into();
    let mut f = Fixture::new("ike-badpsk", c, sw);
    let _ = f.sw.initiate(&f.conn.child_name(), Duration::from_secs(10));
    let e = f.wait_event("ipsec.failed", Duration::from_secs(10), |_| true);
    assert_eq!(e.data["exchange"], "IKE_AUTH");
    assert_eq!(e.data["reason"], "AUTHENTICATION_FAILED (by us)");
    assert!(!e.data.to_string().contains(PSK) && !e.data.to_string().contains("Another"));
    let log = f.sw.log();
    assert!(log.contains("AUTHENTICATION_FAILED"), "{}", tail(&log, 30));
    let show = f.show();
    assert!(
        show.child_sas.is_empty() && show.ike_sa.is_none(),
        "{show:?}"
    );
    assert!(f.sw.list_sas().unwrap().iter().all(|sa| !sa.is_up()));
    assert!(show.last_failure.unwrap().contains("AUTHENTICATION_FAILED"));
}

#[test]
fn wrong_psk_when_we_initiate() {
    let mut c = our_config(StartupAction::Start, "Our.own.psk_1234");
    c.ike.restart_delay = Duration::from_secs(60);
    let mut f = Fixture::new("ike-badpsk2", c, conn(&AES, StartAction::None));
    let e = f.wait_event("ipsec.failed", Duration::from_secs(10), |_| true);
    assert_eq!(e.data["reason"], "AUTHENTICATION_FAILED (by the peer)");
    let show = f.show();
    assert!(show.child_sas.is_empty());
    assert!(show.ike_sa.is_none());
}

/// Runs UDP streams both ways (two iperf3 runs, one with `-R`, 20 Mbit/s of 1000-octet
/// datagrams each) through the tunnel while `during` runs; returns (sent, lost) datagrams as
/// the receivers counted them.
/// SO_RCVBUF of the iperf3 sockets (the client's `-w`, which it hands to the server too): room for about half a second of the 20 Mbit/s stream,
/// so a receiver descheduled on a busy machine does not drop.
const RECEIVER_BUFFER: &str = "4M";

/// Kernel drop counters of one namespace: UDP receive-buffer drops of all sockets
/// (`/proc/net/snmp` RcvbufErrors), of the IKE/ESP sockets on ports 500 and 4500 alone (our data
/// plane in `aws`, charon in `cgw`; `/proc/net/udp` drops), and of the TUN device (`tun`,
/// tx_dropped: packets its reader did not take in time).
#[derive(Debug, Clone, Copy, Default)]
struct KernelDrops {
    udp: u64,
    ipsec_sockets: u64,
    tun: u64,
}

impl KernelDrops {
    fn read(f: &Fixture, node: &str, tun: &str) -> KernelDrops {
        let snmp = f.lab.exec(node, &["cat", "/proc/net/snmp"]).unwrap();
        let udp: Vec<Vec<&str>> = snmp
            .lines()
            .filter(|l| l.starts_with("Udp:"))
            .map(|l| l.split_whitespace().collect())
            .collect();
        let col = udp[0].iter().position(|c| *c == "RcvbufErrors").unwrap();
        let sockets = f.lab.exec(node, &["cat", "/proc/net/udp"]).unwrap();
        let ipsec_sockets = sockets
            .lines()
            .skip(1)
            .filter_map(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                let port = cols.get(1)?.rsplit(':').next()?;
                let drops = cols.last()?.parse::<u64>().ok()?;
                matches!(port, "01F4" | "1194").then_some(drops)
            })
            .sum();
        let tun = f
            .lab
            .exec(
                node,
                &[
                    "cat",
                    &format!("/sys/class/net/{tun}/statistics/tx_dropped"),
                ],
            )
            .unwrap();
        KernelDrops {
            udp: udp[1][col].parse().unwrap(),
            ipsec_sockets,
            tun: tun.trim().parse().unwrap(),
        }
    }

    /// Drops at the other UDP sockets: the iperf3 receivers, not a tunnel.
    fn receivers(&self) -> u64 {
        self.udp - self.ipsec_sockets
    }

    fn since(&self, before: &KernelDrops) -> KernelDrops {
        KernelDrops {
            udp: self.udp - before.udp,
            ipsec_sockets: self.ipsec_sockets - before.ipsec_sockets,
            tun: self.tun - before.tun,
        }
    }
}

fn udp_loss_during(f: &Fixture, secs: u32, during: impl FnOnce()) -> (u64, u64) {
    let mut servers = Vec::new();
    let mut clients = Vec::new();
    for (port, reverse) in [(5201, false), (5202, true)] {
        let log = f.sw.dir().join(format!("iperf3-udp-{port}.log"));
        servers.push(
            f.lab
                .spawn(
                    "cgw",
                    "iperf3",
                    &[
                        "-s",
                        "-1",
                        "--forceflush",
                        "-B",
                        CGW_INSIDE,
                        "-p",
                        &port.to_string(),
                    ],
                    &log,
                )
                .unwrap(),
        );
        wait_for(
            "iperf3 server listening",
            Duration::from_secs(5),
            Duration::from_millis(50),
            || {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if text.contains("listening") {
                    Ok(())
                } else {
                    Err(text)
                }
            },
        )
        .unwrap();
        let out = f.sw.dir().join(format!("iperf3-udp-{port}.json"));
        let secs = secs.to_string();
        let port = port.to_string();
        let mut args = vec![
            "-c",
            CGW_INSIDE,
            "-p",
            &port,
            "-u",
            "-b",
            "20M",
            "-l",
            "1000",
            "-t",
            &secs,
            "-J",
            "-w",
            RECEIVER_BUFFER,
        ];
        if reverse {
            args.push("-R");
        }
        clients.push((f.lab.spawn("aws", "iperf3", &args, &out).unwrap(), out));
    }
    during();
    let mut total = (0, 0);
    for (mut client, out) in clients {
        let status = client.wait().unwrap();
        let report = std::fs::read_to_string(&out).unwrap_or_default();
        assert!(status.success(), "iperf3 client: {report}");
        let v: serde_json::Value = serde_json::from_str(&report).unwrap();
        let sum = &v["end"]["sum_received"];
        total.0 += sum["packets"].as_u64().unwrap();
        total.1 += sum["lost_packets"].as_u64().unwrap();
    }
    for mut s in servers {
        testkit::lab::kill(&mut s);
    }
    total
}

impl Fixture {
    /// Waits until our side counts `child` CHILD_SA and `ike` IKE SA rekeys and the replaced
    /// CHILD_SA is deleted.
    fn wait_rekeys(&self, child: u64, ike: u64) {
        wait_for(
            &format!("{child} CHILD_SA and {ike} IKE SA rekeys done"),
            Duration::from_secs(10),
            Duration::from_millis(20),
            || {
                let s = self.show();
                if s.child_rekeys == child && s.ike_rekeys == ike && s.child_sas.len() == 1 {
                    Ok(())
                } else {
                    Err(Box::new(s))
                }
            },
        )
        .unwrap();
    }
}

#[test]
#[allow(clippy::print_stderr)] // the per-run report, for loops over this test
fn rekeys_under_load_lose_at_most_a_handful_of_packets() {
    let mut c = our_config(StartupAction::Add, PSK);
    only(&mut c, &AES, AeadAlgorithm::AesGcm16Key256);
    let mut f = Fixture::new("ike-rekey", c, conn(&AES, StartAction::Start));
    let first = f.wait_up(&AES);
    f.add_cgw_address();
    f.ping("aws", CGW_INSIDE);
    let child_name = f.conn.child_name();
    let rt = f.rt.handle().clone();
    let drops_before = [
        KernelDrops::read(&f, "aws", "vpn0"),
        KernelDrops::read(&f, "cgw", "ipsec0"),
    ];
    let mut ours = (None, None);
    let (sent, lost) = udp_loss_during(&f, 8, || {
        // Traffic first, then: strongSwan rekeys the CHILD_SA, we rekey it, strongSwan rekeys
        // the IKE SA, we rekey it, each after the previous one finished.
        f.wait_rekeys(0, 0);
        wait_for(
            "traffic flowing",
            Duration::from_secs(5),
            Duration::from_millis(20),
            || {
                let c = f.show().counters.unwrap();
                if c.packets_in > 500 && c.packets_out > 500 {
                    Ok(())
                } else {
                    Err(c)
                }
            },
        )
        .unwrap();
        ours.0 = f.show().counters;
        f.sw.rekey_child(&child_name).unwrap();
        f.wait_rekeys(1, 0);
        rt.block_on(f.tunnel().rekey_child()).unwrap();
        f.wait_rekeys(2, 0);
        f.sw.rekey_ike("aws").unwrap();
        f.wait_rekeys(2, 1);
        rt.block_on(f.tunnel().rekey_ike()).unwrap();
        f.wait_rekeys(2, 2);
        ours.1 = f.show().counters;
    });
    let show = f.show();
    assert_eq!(show.child_rekeys, 2, "{show:?}");
    assert_eq!(show.ike_rekeys, 2, "{show:?}");
    assert_ne!(
        show.ike_sa.as_ref().unwrap().spi_i,
        first.ike_sa.as_ref().unwrap().spi_i
    );
    assert!(sent > 10_000, "{sent} datagrams sent");
    // Where the lost datagrams went. Our data plane counts what it drops itself; the kernel
    // counts drops at each UDP socket and TUN device. Drops at the iperf3 receivers' sockets
    // (the application did not read in time, on a loaded machine) and at strongSwan's own
    // socket and TUN device are not our tunnel's loss: reported, not counted (issue #10 §7a).
    let [aws, cgw] = [
        KernelDrops::read(&f, "aws", "vpn0").since(&drops_before[0]),
        KernelDrops::read(&f, "cgw", "ipsec0").since(&drops_before[1]),
    ];
    let receivers = aws.receivers() + cgw.receivers();
    let (before, after) = (ours.0.unwrap(), ours.1.unwrap());
    let dropped = |c: &ipsec::tunnel::show::Counters| {
        c.unknown_spi + c.no_outbound_sa + c.replay_drops + c.integrity_failures + c.send_errors
    };
    let ours_during_rekeys = dropped(&after) - dropped(&before);
    // strongSwan's side: charon's port-4500 socket (kernel-libipsec reads ESP through it, with
    // the default receive buffer) and its ipsec0 device.
    let strongswan = cgw.ipsec_sockets + cgw.tun;
    let ours_total = lost.saturating_sub(receivers + strongswan);
    let report = format!(
        "{lost} of {sent} datagrams lost across four rekeys: {receivers} at the iperf3 \
         receivers' sockets, {strongswan} at strongSwan's socket and TUN, {ours_total} \
         elsewhere (our tunnel); our data plane dropped {ours_during_rekeys} during the \
         rekeys\naws {aws:?}\ncgw {cgw:?}\n\
         ours before {before:?}\nours after {after:?}\nours at the end {:?}",
        show.counters
    );
    // One line per run, for loops over this test (crates/ipsec/README.md, reliability).
    eprintln!("rekeys_under_load: {}", report.replace('\n', " | "));
    assert!(ours_during_rekeys <= 5, "{report}");
    assert!(ours_total <= 5, "{report}");
    // The tunnel still carries traffic, and both sides agree on the SAs.
    f.wait_up(&AES);
    f.ping("cgw", AWS_INSIDE);
    let _ = f.wait_event("ipsec.ike_rekeyed", Duration::from_secs(1), |_| true);
    f.check_counters();
}

#[test]
fn killed_strongswan_is_noticed_by_dpd_and_cleared() {
    let mut c = our_config(StartupAction::Add, PSK);
    c.ike.dpd.action = DpdAction::Clear;
    assert_eq!(
        (c.ike.dpd.interval, c.ike.dpd.timeout),
        (Duration::from_secs(1), Duration::from_secs(3))
    );
    let mut f = Fixture::new("ike-dpd-clear", c, conn(&AES, StartAction::Start));
    f.wait_up(&AES);
    let killed = Instant::now();
    f.sw.kill();
    let e = f.wait_event("ipsec.dpd_dead", Duration::from_secs(10), |_| true);
    let took = killed.elapsed();
    assert_eq!(e.data["action"], "clear");
    // Fast profile: probe after 1 s of silence, dead 3 s after the last answer.
    assert!(took <= Duration::from_secs(6), "DPD took {took:?}");
    let show = f.show();
    assert_eq!(show.state, "idle");
    assert!(show.child_sas.is_empty() && show.ike_sa.is_none());
    assert!(show.counters.is_some());
}

#[test]
fn killed_strongswan_with_dpd_restart_is_reconnected_when_it_returns() {
    let mut c = our_config(StartupAction::Add, PSK);
    c.ike.dpd.action = DpdAction::Restart;
    let mut f = Fixture::new("ike-dpd-restart", c, conn(&AES, StartAction::Start));
    let first = f.wait_up(&AES);
    f.sw.kill();
    f.wait_event("ipsec.dpd_dead", Duration::from_secs(10), |d| {
        d["action"] == "restart"
    });
    // We re-initiate (AWS `restart`); a new charon without start action only answers.
    f.wait_event("ipsec.state", Duration::from_secs(5), |d| {
        d["to"] == "init-sent"
    });
    let sw = StrongSwan::start(&f.lab, "cgw", &CharonOptions::fast()).unwrap();
    let mut answer_only = f.conn.clone();
    answer_only.start_action = StartAction::None;
    sw.load_connection(&answer_only).unwrap();
    f.sw = sw;
    let again = f.wait_up(&AES);
    assert!(
        again.ike_sa.as_ref().unwrap().initiator,
        "we initiated the new IKE SA"
    );
    assert_ne!(again.ike_sa.unwrap().spi_i, first.ike_sa.unwrap().spi_i);
    assert!(again.established_count >= 2);
}
