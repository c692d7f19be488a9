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

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::dataplane::{ChildSaPair, Dataplane, DataplaneChannels, DataplaneConfig, tun_options};
use ipsec::esp::{SaKeys, SaLimits};
use netns::{Netns, NetnsDir};
use testkit::lab::Lab;
use zeroize::Zeroizing;

pub const INSIDE_A: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 1);
pub const INSIDE_B: Ipv4Addr = Ipv4Addr::new(169, 254, 10, 2);
pub const OUTSIDE_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const OUTSIDE_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// Inside MTU that fits a 1500-octet underlay with ESP-in-UDP and a 16-octet ICV:
/// 1500 - 20 (IP) - 8 (UDP) - 8 (SPI, seq) - 8 (IV) - 2 (trailer) - 16 (ICV) = 1438, 4-aligned.
pub const INSIDE_MTU: u32 = 1438;

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
    pub algorithm: AeadAlgorithm,
}

/// Deterministic key material for a static SA (test and benchmark only).
pub fn keys(algorithm: AeadAlgorithm, spi: u32) -> SaKeys {
    SaKeys {
        spi,
        algorithm,
        keymat: Zeroizing::new(
            (0..algorithm.keymat_len())
                .map(|i| (i as u32 * 13 + spi) as u8)
                .collect(),
        ),
    }
}

/// The pair one end installs: receive with `inbound_spi`, send with `outbound_spi`.
pub fn pair(algorithm: AeadAlgorithm, inbound_spi: u32, outbound_spi: u32) -> ChildSaPair {
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
    pub fn new(lab_name: &str, algorithm: AeadAlgorithm, offloads: bool, mtu: u32) -> StaticTunnel {
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
