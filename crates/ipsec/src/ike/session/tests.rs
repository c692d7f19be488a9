//! Two sessions talking through a deterministic, seeded fault injector (loss, duplication,
//! reordering), with simulated time: handshakes, rekeys, DPD and failures run in microseconds
//! and replay exactly for a given seed.
//!
//! The invariant checked after every step: whatever a peer sends with (its active outbound SPI)
//! the other side has installed as inbound, with the same key material (make-before-break).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::crypto::aead::AeadAlgorithm;
use crate::crypto::cbc::CbcAlgorithm;
use crate::crypto::cipher::Cipher;
use crate::crypto::dh::DhGroup;
use crate::crypto::integ::IntegAlgorithm;
use crate::crypto::modp::ModpGroup;
use crate::crypto::prf::PrfAlgorithm;
use crate::ike::config::{DpdConfig, IkeConfig, RetransmitConfig, StartupAction};
use crate::ike::suite::prf_of;
use crate::ike::suite::{EspSuite, IkeSuite};
use crate::ike::wire::{Identity, TrafficSelector};
use secret::Secret;

const A: &str = "192.0.2.1:500";
const B: &str = "192.0.2.2:500";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ike(cipher: impl Into<Cipher>, dh: DhGroup) -> IkeSuite {
    IkeSuite {
        cipher: cipher.into(),
        prf: PrfAlgorithm::HmacSha256,
        dh,
    }
}

fn config(local: &str, remote: &str, startup: StartupAction) -> IkeConfig {
    IkeConfig {
        local: addr(local),
        remote: addr(remote),
        local_id: Identity::Ipv4(match addr(local).ip() {
            std::net::IpAddr::V4(a) => a,
            _ => unreachable!(),
        }),
        remote_id: Some(Identity::Ipv4(match addr(remote).ip() {
            std::net::IpAddr::V4(a) => a,
            _ => unreachable!(),
        })),
        psk: Secret::from_slice(b"shared.secret.123"),
        ike_suites: vec![
            ike(AeadAlgorithm::AesGcm16Key256, DhGroup::Ecp256),
            ike(AeadAlgorithm::ChaCha20Poly1305, DhGroup::Curve25519),
        ],
        esp_suites: vec![
            EspSuite {
                cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key256),
                pfs: Some(DhGroup::Ecp256),
            },
            EspSuite {
                cipher: Cipher::Aead(AeadAlgorithm::ChaCha20Poly1305),
                pfs: Some(DhGroup::Curve25519),
            },
        ],
        local_ts: vec![TrafficSelector::any_v4()],
        remote_ts: vec![TrafficSelector::any_v4()],
        ike_lifetime: Duration::from_secs(28800),
        child_lifetime: Duration::from_secs(3600),
        rekey_margin: Duration::from_secs(270),
        rekey_fuzz_percent: 100,
        dpd: DpdConfig {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(40),
            action: DpdAction::Clear,
        },
        retransmit: RetransmitConfig {
            initial: Duration::from_millis(500),
            factor: 1.8,
            max_wait: Duration::from_secs(10),
            tries: 6,
        },
        half_open_timeout: Duration::from_secs(30),
        startup,
        restart_delay: Duration::from_secs(2),
    }
}

#[derive(Debug)]
struct Peer {
    session: IkeSession,
    addr: SocketAddr,
    inbound: HashMap<u32, Secret<Vec<u8>>>,
    outbound: HashMap<u32, (u32, Secret<Vec<u8>>)>,
    active: Option<u32>,
    /// Times the active outbound pair was removed while another pair was installed (the data
    /// plane would drop inside packets until a later `SwitchOutbound`).
    outbound_gaps: usize,
    events: Vec<Event>,
    alive: bool,
}

impl Peer {
    fn new(cfg: IkeConfig, seed: u64, now: Instant) -> Peer {
        let addr = cfg.local;
        Peer {
            session: IkeSession::new(cfg, Box::new(StdRng::seed_from_u64(seed)), now),
            addr,
            inbound: HashMap::new(),
            outbound: HashMap::new(),
            active: None,
            outbound_gaps: 0,
            events: Vec::new(),
            alive: true,
        }
    }

    fn active_outbound(&self) -> Option<(u32, &Secret<Vec<u8>>)> {
        let (spi, key) = self.outbound.get(&self.active?)?;
        Some((*spi, key))
    }

    fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }
}

struct Datagram {
    at: Instant,
    to: usize,
    data: Vec<u8>,
    from: SocketAddr,
    transport: Transport,
}

/// Two peers and a lossy network between them.
struct Net {
    peers: [Peer; 2],
    now: Instant,
    rng: StdRng,
    loss: f64,
    duplicate: f64,
    reorder: f64,
    flight: Vec<Datagram>,
    /// Drop everything to or from this peer (a killed daemon).
    cut: Option<usize>,
    sent: usize,
}

impl Net {
    fn new(a: IkeConfig, b: IkeConfig, seed: u64) -> Net {
        let now = Instant::now();
        Net {
            peers: [Peer::new(a, seed, now), Peer::new(b, seed ^ 0xabcdef, now)],
            now,
            rng: StdRng::seed_from_u64(seed.wrapping_mul(31)),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            flight: Vec::new(),
            cut: None,
            sent: 0,
        }
    }

    fn faults(mut self, loss: f64, duplicate: f64, reorder: f64) -> Net {
        self.loss = loss;
        self.duplicate = duplicate;
        self.reorder = reorder;
        self
    }

    fn apply(&mut self, i: usize, actions: Vec<Action>) {
        for a in actions {
            let targets: Vec<std::net::IpAddr> = self.peers.iter().map(|p| p.addr.ip()).collect();
            let p = &mut self.peers[i];
            match a {
                Action::Send {
                    datagram,
                    to,
                    transport,
                } => {
                    self.sent += 1;
                    let target = targets.iter().position(|ip| *ip == to.ip());
                    let Some(target) = target else { continue };
                    if self.cut == Some(i) || self.cut == Some(target) {
                        continue;
                    }
                    if self.rng.random_bool(self.loss) {
                        continue;
                    }
                    let copies = if self.rng.random_bool(self.duplicate) {
                        2
                    } else {
                        1
                    };
                    for _ in 0..copies {
                        let mut delay = Duration::from_millis(5);
                        if self.rng.random_bool(self.reorder) {
                            delay += Duration::from_millis(self.rng.random_range(1..400));
                        }
                        self.flight.push(Datagram {
                            at: self.now + delay,
                            to: target,
                            data: datagram.clone(),
                            from: SocketAddr::new(p.addr.ip(), transport.port()),
                            transport,
                        });
                    }
                }
                Action::InstallChild {
                    sa,
                    activate_outbound,
                } => {
                    p.inbound.insert(sa.inbound.spi, sa.inbound.keymat.clone());
                    p.outbound.insert(
                        sa.inbound.spi,
                        (sa.outbound.spi, sa.outbound.keymat.clone()),
                    );
                    if activate_outbound {
                        p.active = Some(sa.inbound.spi);
                    }
                }
                Action::SwitchOutbound { inbound_spi } => {
                    assert!(
                        p.outbound.contains_key(&inbound_spi),
                        "switch to unknown SA"
                    );
                    p.active = Some(inbound_spi);
                }
                Action::RemoveChild { inbound_spi, .. } => {
                    p.inbound.remove(&inbound_spi);
                    p.outbound.remove(&inbound_spi);
                    if p.active == Some(inbound_spi) {
                        p.active = None;
                        if !p.outbound.is_empty() {
                            p.outbound_gaps += 1;
                        }
                    }
                }
                Action::Event(e) => p.events.push(e),
            }
        }
    }

    fn input(&mut self, i: usize, input: Input<'_>) {
        let now = self.now;
        let actions = self.peers[i].session.handle(now, input);
        self.apply(i, actions);
    }

    /// Both peers send with SAs the other side can open.
    fn check_invariant(&self) {
        for (i, p) in self.peers.iter().enumerate() {
            let other = &self.peers[1 - i];
            if !other.alive || !p.alive {
                continue;
            }
            if let Some((spi, key)) = p.active_outbound()
                && self.cut.is_none()
                && other.session.sa.is_some()
            {
                {
                    let theirs = other.inbound.get(&spi);
                    assert!(
                        theirs.is_some(),
                        "peer {i} sends with {spi:#x} which peer {} has not installed",
                        1 - i
                    );
                    assert_eq!(theirs.unwrap(), key, "key material differs for {spi:#x}");
                }
            }
        }
    }

    /// Runs until `until` (simulated), stepping to the next timer or delivery.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next_flight = self.flight.iter().map(|f| f.at).min();
            let next_timer = self
                .peers
                .iter()
                .filter(|p| p.alive)
                .filter_map(|p| p.session.poll_timeout())
                .min();
            let next = [next_flight, next_timer].into_iter().flatten().min();
            let Some(next) = next else { break };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            if let Some(pos) = self.flight.iter().position(|f| f.at <= self.now) {
                let f = self.flight.remove(pos);
                if self.peers[f.to].alive {
                    let now = self.now;
                    let actions = self.peers[f.to].session.handle(
                        now,
                        Input::Datagram {
                            data: &f.data,
                            from: f.from,
                            transport: f.transport,
                        },
                    );
                    self.apply(f.to, actions);
                }
            } else {
                for i in 0..2 {
                    if self.peers[i].alive
                        && self.peers[i]
                            .session
                            .poll_timeout()
                            .is_some_and(|t| t <= self.now)
                    {
                        self.input(i, Input::Timeout);
                    }
                }
            }
            self.check_invariant();
        }
        self.now = end;
    }

    /// Pretends ESP traffic flows both ways (so DPD stays quiet), for `d`, in 1 s steps.
    fn run_with_traffic(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            for i in 0..2 {
                let now = self.now;
                if self.peers[i].active.is_some() {
                    self.input(1 - i, Input::EspInbound(now));
                }
            }
            self.run_for(Duration::from_secs(1));
        }
    }

    fn established(&self) -> bool {
        self.peers
            .iter()
            .all(|p| p.session.state() == State::Established && p.active.is_some())
    }
}

fn pair(seed: u64) -> Net {
    Net::new(
        config(A, B, StartupAction::Start),
        config(B, A, StartupAction::Add),
        seed,
    )
}

#[test]
fn handshake_installs_matching_child_sas() {
    let mut net = pair(1);
    net.run_for(Duration::from_secs(5));
    assert!(net.established(), "{:?}", net.peers[0].events);
    let (a, b) = (&net.peers[0], &net.peers[1]);
    let (a_out, a_key) = a.active_outbound().unwrap();
    let (b_out, b_key) = b.active_outbound().unwrap();
    assert_eq!(b.inbound.get(&a_out), Some(a_key));
    assert_eq!(a.inbound.get(&b_out), Some(b_key));
    assert_ne!(a_key, b_key, "each direction has its own key");
    // The responder's preference (AES-256-GCM, ECP-256 first in both lists) was chosen.
    let show = a.session.show(net.now);
    let ike = show.ike_sa.unwrap();
    assert_eq!(ike.suite, "aes256gcm16-prfsha256-ecp256");
    assert!(ike.initiator);
    assert!(show.nat_t, "forced UDP encapsulation moves IKE to 4500");
    assert_eq!(show.child_sas.len(), 1);
    assert_eq!(
        show.child_sas[0].local_ts,
        vec!["0.0.0.0-255.255.255.255".to_string()]
    );
    // Exactly four messages: IKE_SA_INIT and IKE_AUTH, request and response.
    assert_eq!(net.sent, 4);
    assert_eq!(
        b.count(|e| matches!(
            e,
            Event::IkeSaEstablished {
                initiator: false,
                ..
            }
        )),
        1
    );
}

#[test]
fn handshake_survives_loss_duplication_and_reordering() {
    for seed in 0..60 {
        let mut net = pair(seed).faults(0.25, 0.2, 0.3);
        net.run_for(Duration::from_secs(30));
        assert!(
            net.established(),
            "seed {seed}: {:?} / {:?}",
            net.peers[0].events,
            net.peers[1].events
        );
        // Exactly one IKE SA and one CHILD_SA pair on each side, however many copies flew.
        for p in &net.peers {
            assert_eq!(p.inbound.len(), 1, "seed {seed}");
        }
    }
}

#[test]
fn responder_preference_and_invalid_ke_retry() {
    let mut a = config(A, B, StartupAction::Start);
    let mut b = config(B, A, StartupAction::Add);
    // The initiator prefers ChaCha20/x25519; the responder prefers AES/ECP-256.
    a.ike_suites.reverse();
    b.ike_suites = vec![ike(AeadAlgorithm::AesGcm16Key256, DhGroup::Ecp256)];
    let mut net = Net::new(a, b, 7);
    net.run_for(Duration::from_secs(5));
    assert!(net.established());
    let show = net.peers[0].session.show(net.now);
    assert_eq!(show.ike_sa.unwrap().suite, "aes256gcm16-prfsha256-ecp256");
    // IKE_SA_INIT twice (first with the x25519 KE, answered INVALID_KE_PAYLOAD), then IKE_AUTH.
    assert_eq!(net.sent, 6);
}

#[test]
fn wrong_psk_fails_on_both_sides_without_a_tunnel() {
    let a = config(A, B, StartupAction::Start);
    let mut b = config(B, A, StartupAction::Add);
    b.psk = Secret::from_slice(b"another.secret.99");
    let mut net = Net::new(a, b, 3);
    net.run_for(Duration::from_secs(1));
    let failed = |p: &Peer, side: Side| {
        p.count(|e| {
            matches!(e, Event::Failed { failure: Failure::AuthenticationFailed(s), .. } if *s == side)
        })
    };
    assert_eq!(failed(&net.peers[1], Side::Local), 1);
    assert_eq!(failed(&net.peers[0], Side::Peer), 1);
    for p in &net.peers {
        assert!(p.inbound.is_empty());
        assert_ne!(p.session.state(), State::Established);
        let shown = format!("{:?} {:?}", p.events, p.session.show(net.now));
        assert!(!shown.contains("secret"), "{shown}");
    }
    assert!(
        net.peers[0]
            .session
            .show(net.now)
            .last_failure
            .unwrap()
            .contains("AUTHENTICATION_FAILED")
    );
}

#[test]
fn no_common_proposal_is_reported() {
    let a = config(A, B, StartupAction::Start);
    let mut b = config(B, A, StartupAction::Add);
    b.ike_suites = vec![IkeSuite {
        cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key128),
        prf: PrfAlgorithm::HmacSha512,
        dh: DhGroup::Ecp384,
    }];
    let mut net = Net::new(a, b, 4);
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        net.peers[1].count(|e| matches!(
            e,
            Event::Failed {
                failure: Failure::NoProposalChosen(Side::Local),
                ..
            }
        )),
        1
    );
    assert_eq!(
        net.peers[0].count(|e| matches!(
            e,
            Event::Failed {
                failure: Failure::NoProposalChosen(Side::Peer),
                ..
            }
        )),
        1
    );
}

#[test]
fn child_proposal_mismatch_and_ts_unacceptable_are_reported() {
    let a = config(A, B, StartupAction::Start);
    let mut b = config(B, A, StartupAction::Add);
    b.esp_suites = vec![EspSuite {
        cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key128),
        pfs: None,
    }];
    let mut net = Net::new(a, b, 5);
    net.run_for(Duration::from_secs(2));
    assert_eq!(
        net.peers[0].count(|e| matches!(
            e,
            Event::Failed {
                failure: Failure::NoProposalChosen(Side::Peer),
                ..
            }
        )),
        1
    );
    assert!(net.peers[0].inbound.is_empty() && net.peers[1].inbound.is_empty());

    let mut a = config(A, B, StartupAction::Start);
    let b = config(B, A, StartupAction::Add);
    a.local_ts = vec![TrafficSelector::any_v6()];
    let mut net = Net::new(a, b, 6);
    net.run_for(Duration::from_secs(2));
    assert_eq!(
        net.peers[1].count(|e| matches!(
            e,
            Event::Failed {
                failure: Failure::TsUnacceptable(Side::Local),
                ..
            }
        )),
        1
    );
    assert_eq!(
        net.peers[0].count(|e| matches!(
            e,
            Event::Failed {
                failure: Failure::TsUnacceptable(Side::Peer),
                ..
            }
        )),
        1
    );
}

/// AWS-style responder (every CBC combination, lowest value first) and a strongSwan-style
/// initiator (aes256-sha256-modp2048 before aes128-sha1-modp2048): the responder's rule picks
/// aes128-sha1-modp2048; the IKE SA and CHILD_SAs then run and rekey (with MODP PFS) on CBC + HMAC.
#[test]
fn cbc_hmac_and_modp_suites_negotiate_by_the_responders_rule_and_rekey() {
    let cbc = |c, i, g| IkeSuite {
        cipher: Cipher::CbcHmac(c, i),
        prf: prf_of(i),
        dh: DhGroup::Modp(g),
    };
    let esp = |c, i, g| EspSuite {
        cipher: Cipher::CbcHmac(c, i),
        pfs: Some(DhGroup::Modp(g)),
    };
    let (a128, a256) = (CbcAlgorithm::Aes128, CbcAlgorithm::Aes256);
    let (sha1, sha256) = (IntegAlgorithm::HmacSha1_96, IntegAlgorithm::HmacSha256_128);
    let (m1024, m2048) = (ModpGroup::Modp1024, ModpGroup::Modp2048);
    let mut a = short_lifetimes(config(A, B, StartupAction::Start));
    a.ike_suites = vec![cbc(a256, sha256, m2048), cbc(a128, sha1, m2048)];
    a.esp_suites = vec![esp(a256, sha256, m2048), esp(a128, sha1, m2048)];
    let mut b = short_lifetimes(config(B, A, StartupAction::Add));
    b.ike_suites.clear();
    b.esp_suites.clear();
    for c in [a128, a256] {
        for i in [sha1, sha256] {
            for g in [m1024, m2048] {
                b.ike_suites.push(cbc(c, i, g));
                b.esp_suites.push(esp(c, i, g));
            }
        }
    }
    let mut net = Net::new(a, b, 77);
    net.run_for(Duration::from_secs(5));
    assert!(net.established(), "{:?}", net.peers[0].events);
    let show = net.peers[0].session.show(net.now);
    assert_eq!(show.ike_sa.unwrap().suite, "aes128-sha1-modp2048");
    assert_eq!(show.child_sas[0].suite, "aes128-sha1-modp2048");
    // ESP keying material per direction: AES-128 key then HMAC-SHA1 key.
    let (_, key) = net.peers[0].active_outbound().unwrap();
    assert_eq!(key.len(), 16 + 20);
    net.run_with_traffic(Duration::from_secs(400));
    assert!(net.established(), "{:?}", net.peers[0].events);
    let (a, b) = (&net.peers[0], &net.peers[1]);
    let rekeys = a.session.show(net.now).child_rekeys + b.session.show(net.now).child_rekeys;
    assert!(rekeys >= 3, "only {rekeys} CHILD_SA rekeys");
    let ike_rekeys = a.session.show(net.now).ike_rekeys + b.session.show(net.now).ike_rekeys;
    assert!(ike_rekeys >= 1, "no IKE SA rekey");
    let (a_out, a_key) = a.active_outbound().unwrap();
    assert_eq!(b.inbound.get(&a_out), Some(a_key));
    assert_eq!(
        a.session.show(net.now).ike_sa.unwrap().suite,
        "aes128-sha1-modp2048"
    );
}

fn short_lifetimes(mut c: IkeConfig) -> IkeConfig {
    c.child_lifetime = Duration::from_secs(120);
    c.ike_lifetime = Duration::from_secs(300);
    c.rekey_margin = Duration::from_secs(30);
    c
}

#[test]
fn child_and_ike_sas_rekey_make_before_break_under_faults() {
    for seed in 0..12 {
        let a = short_lifetimes(config(A, B, StartupAction::Start));
        let b = short_lifetimes(config(B, A, StartupAction::Add));
        let mut net = Net::new(a, b, 100 + seed).faults(0.1, 0.05, 0.1);
        net.run_for(Duration::from_secs(30));
        assert!(net.established(), "seed {seed}");
        let first_spis = net.peers[0].session.show(net.now).ike_sa.unwrap().spi_i;
        // 20 simulated minutes: ~10 CHILD_SA generations and ~4 IKE SA generations.
        net.run_with_traffic(Duration::from_secs(1200));
        assert!(net.established(), "seed {seed}: {:?}", net.peers[0].events);
        let show = net.peers[0].session.show(net.now);
        let rekeys = show.child_rekeys + net.peers[1].session.show(net.now).child_rekeys;
        assert!(rekeys >= 8, "seed {seed}: only {rekeys} CHILD_SA rekeys");
        assert!(
            show.ike_rekeys + net.peers[1].session.show(net.now).ike_rekeys >= 3,
            "seed {seed}"
        );
        assert_ne!(show.ike_sa.unwrap().spi_i, first_spis);
        // Old generations are cleaned up: one pair (two while a rekey is in flight).
        for p in &net.peers {
            assert!(
                p.inbound.len() <= 2,
                "seed {seed}: {} SAs linger",
                p.inbound.len()
            );
            assert!(p.session.old_sa.is_none() || p.session.sa.is_some());
        }
        for p in &net.peers {
            assert_eq!(
                p.count(|e| matches!(e, Event::PeerDead { .. })),
                0,
                "seed {seed}"
            );
            // Make-before-break: the successor is switched to before the old pair goes.
            assert_eq!(p.outbound_gaps, 0, "seed {seed}");
        }
    }
}

#[test]
fn simultaneous_child_rekey_leaves_one_pair() {
    for seed in 0..20 {
        let mut net = pair(200 + seed);
        net.run_for(Duration::from_secs(2));
        assert!(net.established());
        net.input(0, Input::RekeyChild);
        net.input(1, Input::RekeyChild);
        net.run_with_traffic(Duration::from_secs(20));
        assert!(net.established(), "seed {seed}");
        for p in &net.peers {
            assert_eq!(p.inbound.len(), 1, "seed {seed}: {:?}", p.events);
        }
        let (a, b) = (&net.peers[0], &net.peers[1]);
        let (a_out, _) = a.active_outbound().unwrap();
        let (b_out, _) = b.active_outbound().unwrap();
        assert!(b.inbound.contains_key(&a_out) && a.inbound.contains_key(&b_out));
        // Both rekeys really crossed: each side installed two successors of the first SA.
        for p in &net.peers {
            let successors = p.count(|e| {
                matches!(
                    e,
                    Event::ChildSaInstalled {
                        rekey_of: Some(_),
                        ..
                    }
                )
            });
            assert_eq!(successors, 2, "seed {seed}");
        }
    }
}

#[test]
fn operator_rekeys_of_the_ike_sa_from_either_side() {
    let mut net = pair(9);
    net.run_for(Duration::from_secs(2));
    let before = net.peers[1].session.show(net.now).ike_sa.unwrap();
    net.input(1, Input::RekeyIke);
    net.run_with_traffic(Duration::from_secs(5));
    let after = net.peers[1].session.show(net.now).ike_sa.unwrap();
    assert_ne!(before.spi_i, after.spi_i);
    assert!(
        after.initiator,
        "the rekey's initiator is the new SA's original initiator"
    );
    assert!(net.peers.iter().all(|p| p.session.old_sa.is_none()));
    // Both agree on the new SA and it works: a CHILD_SA rekey over it succeeds.
    assert_eq!(
        net.peers[0].session.show(net.now).ike_sa.unwrap().spi_r,
        after.spi_r
    );
    net.input(0, Input::RekeyChild);
    net.run_with_traffic(Duration::from_secs(5));
    assert_eq!(net.peers[0].session.show(net.now).child_rekeys, 1);
    assert!(net.established());
}

#[test]
fn dead_peer_is_detected_and_cleared() {
    let mut a = config(A, B, StartupAction::Add);
    let mut b = config(B, A, StartupAction::Start);
    // The `fast` profile: DPD every second, dead after three.
    for c in [&mut a, &mut b] {
        c.dpd.interval = Duration::from_secs(1);
        c.dpd.timeout = Duration::from_secs(3);
    }
    let mut net = Net::new(a, b, 11);
    net.run_for(Duration::from_secs(2));
    assert!(net.established());
    // Quiet but alive: liveness checks are answered, nothing is torn down.
    net.run_for(Duration::from_secs(20));
    assert!(net.established());
    assert_eq!(
        net.peers[0].count(|e| matches!(e, Event::PeerDead { .. })),
        0
    );
    // Kill the initiator (strongSwan killed): the responder notices within interval + timeout.
    net.peers[1].alive = false;
    net.cut = Some(1);
    let killed_at = net.now;
    net.run_for(Duration::from_secs(10));
    let a = &net.peers[0];
    assert_eq!(
        a.count(|e| matches!(
            e,
            Event::PeerDead {
                action: DpdAction::Clear
            }
        )),
        1
    );
    assert!(a.inbound.is_empty() && a.active.is_none());
    assert_eq!(a.session.state(), State::Idle);
    let dead_at = a.session.show(net.now).last_failure.is_some();
    assert!(dead_at);
    // Clear means we wait for the peer: no IKE_SA_INIT of our own.
    let _ = killed_at;
    assert!(a.session.poll_timeout().is_none());
}

#[test]
fn dead_peer_restart_reinitiates_and_peer_restart_replaces_the_old_sa() {
    let mut a = config(A, B, StartupAction::Add);
    a.dpd = DpdConfig {
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(3),
        action: DpdAction::Restart,
    };
    let b = config(B, A, StartupAction::Start);
    let mut net = Net::new(a, b, 12);
    net.run_for(Duration::from_secs(2));
    assert!(net.established());
    let old = net.peers[0].session.show(net.now).ike_sa.unwrap();
    // The peer restarts (fresh session, same config) while the cut is in place for a while.
    net.cut = Some(1);
    net.run_for(Duration::from_secs(6));
    assert_eq!(
        net.peers[0].count(|e| matches!(
            e,
            Event::PeerDead {
                action: DpdAction::Restart
            }
        )),
        1
    );
    assert_eq!(net.peers[0].session.state(), State::InitSent);
    net.cut = None;
    net.run_for(Duration::from_secs(20));
    assert!(net.established(), "{:?}", net.peers[0].events);
    let new = net.peers[0].session.show(net.now).ike_sa.unwrap();
    assert_ne!(old.spi_i, new.spi_i);

    // Now the peer really restarts: a new session initiates while we still hold the old SA.
    let now = net.now;
    net.peers[1] = Peer::new(config(B, A, StartupAction::Start), 999, now);
    net.run_for(Duration::from_secs(5));
    assert!(net.established(), "{:?}", net.peers[0].events);
    assert_eq!(
        net.peers[0].inbound.len(),
        1,
        "the old CHILD_SA was removed"
    );
    assert!(net.peers[0].count(|e| matches!(e, Event::IkeSaDeleted { reason, .. } if reason.contains("replaced by a new IKE SA"))) >= 1);
}

#[test]
fn a_responder_reset_deletes_the_sa_and_the_initiator_comes_back_with_a_new_one() {
    // Peer 0 initiates (the customer gateway), peer 1 responds (AWS): AWS resets its end.
    let mut net = pair(14);
    net.run_for(Duration::from_secs(2));
    assert!(net.established());
    let old = net.peers[1].session.show(net.now).ike_sa.unwrap();
    net.input(1, Input::Reset);
    net.run_for(Duration::from_millis(200));
    assert!(
        net.peers[1].count(|e| matches!(e, Event::IkeSaDeleted { .. })) >= 1,
        "{:?}",
        net.peers[1].events
    );
    // The initiator starts over after its restart delay; the responder takes it.
    net.run_for(Duration::from_secs(10));
    assert!(net.established(), "{:?}", net.peers[0].events);
    let new = net.peers[1].session.show(net.now).ike_sa.unwrap();
    assert_ne!(old.spi_i, new.spi_i, "a new IKE SA");
    assert_eq!(net.peers[1].inbound.len(), 1, "one CHILD_SA, the new one");
}

#[test]
fn close_deletes_on_both_sides() {
    let mut net = pair(13);
    net.run_for(Duration::from_secs(2));
    net.input(0, Input::Close);
    net.run_for(Duration::from_secs(2));
    assert_eq!(net.peers[0].session.state(), State::Closed);
    assert_eq!(net.peers[1].session.state(), State::Idle);
    assert!(net.peers.iter().all(|p| p.inbound.is_empty()));
    // A closed session stays closed.
    assert!(net.peers[0].session.poll_timeout().is_none());
}

#[test]
fn soft_limit_from_the_data_plane_triggers_a_rekey() {
    let mut net = pair(14);
    net.run_for(Duration::from_secs(2));
    let (spi, _) = net.peers[1].active_outbound().unwrap();
    net.input(1, Input::ChildSoftLimit { spi });
    net.run_with_traffic(Duration::from_secs(3));
    assert_eq!(net.peers[1].session.show(net.now).child_rekeys, 1);
    assert_ne!(net.peers[1].active_outbound().unwrap().0, spi);
    assert!(net.established());
}

#[test]
fn garbage_and_replayed_messages_are_ignored() {
    let mut net = pair(15);
    net.run_for(Duration::from_secs(2));
    let mut rng = StdRng::seed_from_u64(1);
    for len in [0usize, 3, 28, 29, 100, 400] {
        let mut junk = vec![0u8; len];
        rng.fill(&mut junk[..]);
        net.input(
            1,
            Input::Datagram {
                data: &junk,
                from: addr("192.0.2.1:4500"),
                transport: Transport::NatT,
            },
        );
    }
    assert!(net.established());
    assert_eq!(net.peers[1].inbound.len(), 1);
}

/// The datagrams among `actions`, as `Input::Datagram`s from `from`'s address.
fn sends(actions: &[Action], from: &str) -> Vec<(Vec<u8>, SocketAddr, Transport)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                datagram,
                transport,
                ..
            } => Some((
                datagram.clone(),
                SocketAddr::new(addr(from).ip(), transport.port()),
                *transport,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn responder_installs_its_child_sa_before_answering_ike_auth() {
    // The initiator may send ESP the moment it has the IKE_AUTH answer, so the responder's
    // inbound SA must be installed before that answer leaves: InstallChild ahead of the Send.
    let now = Instant::now();
    let mut a = IkeSession::new(
        config(A, B, StartupAction::Add),
        Box::new(StdRng::seed_from_u64(21)),
        now,
    );
    let mut b = IkeSession::new(
        config(B, A, StartupAction::Add),
        Box::new(StdRng::seed_from_u64(22)),
        now,
    );
    let deliver = |s: &mut IkeSession, m: &(Vec<u8>, SocketAddr, Transport)| {
        s.handle(
            now,
            Input::Datagram {
                data: &m.0,
                from: m.1,
                transport: m.2,
            },
        )
    };
    let init = sends(&a.handle(now, Input::Initiate), A);
    let init_reply = sends(&deliver(&mut b, &init[0]), B);
    let auth = sends(&deliver(&mut a, &init_reply[0]), A);
    let actions = deliver(&mut b, &auth[0]);
    let position = |f: fn(&Action) -> bool| actions.iter().position(f);
    let install = position(|a| matches!(a, Action::InstallChild { .. })).expect("installed");
    let answer = position(|a| matches!(a, Action::Send { .. })).expect("answered");
    assert!(
        install < answer,
        "IKE_AUTH answered before the CHILD_SA was installed"
    );
    assert_eq!(b.state(), State::Established);
    let finished = deliver(&mut a, &sends(&actions, B)[0]);
    assert!(
        finished
            .iter()
            .any(|a| matches!(a, Action::InstallChild { .. }))
    );
    assert_eq!(a.state(), State::Established);
}
