//! Two namespaces joined by a veth "underlay", each with a TUN device and an ESP data plane
//! keyed statically (no IKE): the fixture for the data-plane namespace tests and the benchmark.
//!
//! ```text
//!   hl-<lab>-a                                         hl-<lab>-b
//!   esp0 169.254.10.1/30 ── Dataplane ── to-b 192.0.2.1 ═══ veth ═══ 192.0.2.2 to-a ── Dataplane ── esp0 169.254.10.2/30
//!                                        UDP 4500                      UDP 4500
//! ```
//!
//! Addresses are documentation/link-local ranges that exist only inside the lab's namespaces.
//! Namespaces are removed when the fixture is dropped (data planes first), also on panic.
//!
//! Also [`ike_tunnel`]: the protocol-level configuration of an IKE-keyed tunnel with short
//! (CI) timers, for the strongSwan interop test and the set-up benchmark.

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::cipher::Cipher;
use ipsec::crypto::dh::DhGroup;
use ipsec::crypto::prf::PrfAlgorithm;
use ipsec::dataplane::{ChildSaPair, Dataplane, DataplaneChannels, DataplaneConfig, tun_options};
use ipsec::esp::{SaKeys, SaLimits};
use ipsec::ike::config::{DpdAction, DpdConfig, IkeConfig, RetransmitConfig, StartupAction};
use ipsec::ike::suite::{EspSuite, IkeSuite};
use ipsec::ike::wire::TrafficSelector;
use ipsec::tunnel::TunnelConfig;
use netns::{Netns, NetnsDir};
use secret::Secret;
use testkit::lab::Lab;
use zeroize::Zeroizing;

pub const INSIDE_A: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 1);
pub const INSIDE_B: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 2);
pub const OUTSIDE_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const OUTSIDE_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// Inside MTU that fits a 1500-octet underlay with ESP-in-UDP and a 16-octet ICV:
/// 1500 - 20 (IP) - 8 (UDP) - 8 (SPI, seq) - 8 (IV) - 2 (trailer) - 16 (ICV) = 1438, 4-aligned.
pub const INSIDE_MTU: u32 = 1438;
/// The same with AES-CBC and a 16-octet ICV (HMAC-SHA2-256-128): 1472 - 8 - 16 (IV) - 16 (ICV)
/// = 1432 octets of ciphertext, 1424 in whole 16-octet blocks, minus the 2-octet trailer.
pub const INSIDE_MTU_CBC: u32 = 1422;

/// One end of the tunnel.
pub struct End {
    pub dataplane: Dataplane,
    pub channels: DataplaneChannels,
    pub ns: Netns,
    pub node: &'static str,
}

/// The whole lab. Field order matters: ends drop (threads joined, TUN closed) before the lab
/// deletes the namespaces.
pub struct StaticTunnel {
    pub a: End,
    pub b: End,
    pub lab: Lab,
    pub algorithm: Cipher,
}

/// Deterministic key material for a static SA (test and benchmark only).
pub fn keys(algorithm: Cipher, spi: u32) -> SaKeys {
    SaKeys {
        spi,
        cipher: algorithm,
        keymat: Zeroizing::new(
            (0..algorithm.keymat_len())
                .map(|i| (i as u32 * 13 + spi) as u8)
                .collect(),
        ),
    }
}

/// The pair one end installs: receive with `inbound_spi`, send with `outbound_spi`.
pub fn pair(algorithm: Cipher, inbound_spi: u32, outbound_spi: u32) -> ChildSaPair {
    ChildSaPair {
        inbound: keys(algorithm, inbound_spi),
        outbound: keys(algorithm, outbound_spi),
        replay_window: 1024,
        limits: SaLimits::default(),
    }
}

fn start_end(
    lab: &Lab,
    node: &'static str,
    outside: Ipv4Addr,
    inside: Ipv4Addr,
    peer: Ipv4Addr,
    offloads: bool,
    mtu: u32,
) -> End {
    let ns = Netns::open(&NetnsDir::system(), &lab.ns(node)).expect("open namespace");
    let tun = netns::create_tun(&ns, &tun_options("esp0", offloads)).expect("create TUN");
    let socket = ns
        .run(move || UdpSocket::bind(SocketAddr::from((outside, 4500))))
        .expect("enter namespace")
        .expect("bind UDP 4500");
    for args in [
        vec!["ip", "addr", "add", &format!("{inside}/30"), "dev", "esp0"],
        // A deeper queue than TUN's default 500 rides out a data-plane thread being descheduled.
        vec![
            "ip",
            "link",
            "set",
            "esp0",
            "mtu",
            &mtu.to_string(),
            "txqueuelen",
            "4000",
            "up",
        ],
    ] {
        lab.exec(node, &args).expect("configure TUN");
    }
    let mut config = DataplaneConfig::new(format!("{node}-esp0"), SocketAddr::from((peer, 4500)));
    config.vnet_hdr = offloads;
    let (dataplane, channels) = Dataplane::start(tun, socket, config).expect("start data plane");
    End {
        dataplane,
        channels,
        ns,
        node,
    }
}

impl StaticTunnel {
    /// Builds the lab `hl-<lab>-{a,b}` and starts both data planes with SPIs 0xa0000001 (into
    /// a) and 0xb0000001 (into b).
    pub fn new(
        lab_name: &str,
        algorithm: impl Into<Cipher>,
        offloads: bool,
        mtu: u32,
    ) -> StaticTunnel {
        let algorithm = algorithm.into();
        let mut lab = Lab::new(lab_name).expect("lab");
        lab.node("a").expect("node a");
        lab.node("b").expect("node b");
        lab.link(
            "a",
            &format!("{OUTSIDE_A}/24"),
            "b",
            &format!("{OUTSIDE_B}/24"),
        )
        .expect("underlay veth");
        let a = start_end(&lab, "a", OUTSIDE_A, INSIDE_A, OUTSIDE_B, offloads, mtu);
        let b = start_end(&lab, "b", OUTSIDE_B, INSIDE_B, OUTSIDE_A, offloads, mtu);
        a.dataplane
            .install(pair(algorithm, 0xa000_0001, 0xb000_0001))
            .expect("install a");
        b.dataplane
            .install(pair(algorithm, 0xb000_0001, 0xa000_0001))
            .expect("install b");
        StaticTunnel {
            a,
            b,
            lab,
            algorithm,
        }
    }
}

/// The byte at offset `i` of the test stream (position-dependent, so loss, duplication or
/// reordering of TCP payload would show).
pub fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

/// Every AEAD we implement, in the order the gateways list them (lowest first).
pub const AEADS: [AeadAlgorithm; 3] = [
    AeadAlgorithm::AesGcm16Key128,
    AeadAlgorithm::AesGcm16Key256,
    AeadAlgorithm::ChaCha20Poly1305,
];
/// Every PRF we implement, lowest first.
pub const PRFS: [PrfAlgorithm; 3] = [
    PrfAlgorithm::HmacSha256,
    PrfAlgorithm::HmacSha384,
    PrfAlgorithm::HmacSha512,
];
/// Every group we implement, lowest first.
pub const GROUPS: [DhGroup; 3] = [DhGroup::Ecp256, DhGroup::Ecp384, DhGroup::Curve25519];

/// IKE suites: cipher x PRF x group, in list order.
pub fn ike_suites<C: Into<Cipher> + Copy>(
    ciphers: &[C],
    prfs: &[PrfAlgorithm],
    groups: &[DhGroup],
) -> Vec<IkeSuite> {
    let mut out = Vec::new();
    for &c in ciphers {
        for &prf in prfs {
            for &dh in groups {
                out.push(IkeSuite {
                    cipher: c.into(),
                    prf,
                    dh,
                });
            }
        }
    }
    out
}

/// ESP suites: cipher x PFS group, in list order.
pub fn esp_suites<C: Into<Cipher> + Copy>(ciphers: &[C], groups: &[DhGroup]) -> Vec<EspSuite> {
    let mut out = Vec::new();
    for &c in ciphers {
        for &g in groups {
            out.push(EspSuite {
                cipher: c.into(),
                pfs: Some(g),
            });
        }
    }
    out
}

/// An IKE-keyed tunnel from `local` to `remote` with every suite we implement, identities =
/// addresses, 0.0.0.0/0 selectors, lifetimes 28800 s / 3600 s, rekey margin 270 s with 100 %
/// fuzz, replay window 1024, DPD action clear, and short timers: DPD 1 s / dead after 3 s,
/// retransmissions from 500 ms (x1.5, at most 2 s, 5 tries), half-open 5 s, restart after 1 s.
pub fn ike_tunnel(
    name: &str,
    local: Ipv4Addr,
    remote: Ipv4Addr,
    psk: &str,
    startup: StartupAction,
) -> TunnelConfig {
    TunnelConfig {
        name: name.into(),
        ike: IkeConfig {
            local: SocketAddr::from((local, 500)),
            remote: SocketAddr::from((remote, 500)),
            local_id: IpAddr::V4(local).into(),
            remote_id: Some(IpAddr::V4(remote).into()),
            psk: Secret::from_slice(psk.as_bytes()),
            ike_suites: ike_suites(&AEADS, &PRFS, &GROUPS),
            esp_suites: esp_suites(&AEADS, &GROUPS),
            local_ts: vec![TrafficSelector::any_v4()],
            remote_ts: vec![TrafficSelector::any_v4()],
            ike_lifetime: Duration::from_secs(28800),
            child_lifetime: Duration::from_secs(3600),
            rekey_margin: Duration::from_secs(270),
            rekey_fuzz_percent: 100,
            dpd: DpdConfig {
                interval: Duration::from_secs(1),
                timeout: Duration::from_secs(3),
                action: DpdAction::Clear,
            },
            retransmit: RetransmitConfig {
                initial: Duration::from_millis(500),
                factor: 1.5,
                max_wait: Duration::from_secs(2),
                tries: 5,
            },
            half_open_timeout: Duration::from_secs(5),
            startup,
            restart_delay: Duration::from_secs(1),
        },
        replay_window: 1024,
    }
}
