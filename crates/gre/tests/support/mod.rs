//! Two namespaces joined by a veth "underlay" of MTU 8500 (Transit Gateway's), a GRE device in
//! each: the fixture of the namespace tests and the benchmark.
//!
//! ```text
//!   hl-<lab>-a                                               hl-<lab>-b
//!   gre0 169.254.100.1/29 ── GreDevice ── to-b 192.0.2.1 ═══ veth (8500) ═══ 192.0.2.2 to-a ── GreDevice ── gre0 169.254.100.2/29
//!                                          raw IPPROTO_GRE                    raw IPPROTO_GRE
//! ```
//!
//! Addresses are documentation / link-local ranges that exist only inside the lab's namespaces
//! (169.254.100.0/29 is a valid Connect inside CIDR). Namespaces are removed when the fixture
//! drops (devices first), also on panic.

#![allow(dead_code)]

use std::net::Ipv4Addr;

use gre::device::{GreConfig, GreDevice};
use netns::{Netlink, Netns, NetnsDir};
use testkit::lab::Lab;

pub const INSIDE_A: Ipv4Addr = Ipv4Addr::new(169, 254, 100, 1);
pub const INSIDE_B: Ipv4Addr = Ipv4Addr::new(169, 254, 100, 2);
pub const OUTSIDE_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const OUTSIDE_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// Transit Gateway's MTU (aws-behaviour.md §5), on the veth underlay.
pub const UNDERLAY_MTU: u32 = 8500;

/// One end: its device and namespace.
pub struct End {
    pub device: GreDevice,
    pub ns: Netns,
    pub node: &'static str,
}

/// The whole lab. Field order matters: the ends drop (threads joined, TUN closed) before the lab
/// deletes the namespaces.
pub struct GreLab {
    pub a: End,
    pub b: End,
    pub lab: Lab,
}

/// Builds the two namespaces and the underlay, without devices.
pub fn underlay(lab_name: &str) -> Lab {
    let mut lab = Lab::new(lab_name).expect("lab");
    lab.node("a").expect("node a");
    lab.node("b").expect("node b");
    // The tests carry IPv4 inside the tunnel and count every packet: an IPv6 router
    // solicitation or MLD report a new TUN device sends on its own would be counted too (seen
    // once: a 48-octet packet from a's device arriving at b during a counting window).
    for node in ["a", "b"] {
        lab.exec(
            node,
            &["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"],
        )
        .expect("IPv6 off for new devices");
    }
    lab.link(
        "a",
        &format!("{OUTSIDE_A}/24"),
        "b",
        &format!("{OUTSIDE_B}/24"),
    )
    .expect("underlay veth");
    lab.exec(
        "a",
        &[
            "ip",
            "link",
            "set",
            "to-b",
            "mtu",
            &UNDERLAY_MTU.to_string(),
        ],
    )
    .expect("underlay MTU a");
    lab.exec(
        "b",
        &[
            "ip",
            "link",
            "set",
            "to-a",
            "mtu",
            &UNDERLAY_MTU.to_string(),
        ],
    )
    .expect("underlay MTU b");
    lab
}

fn start_end(lab: &Lab, node: &'static str, config: GreConfig, inside: Ipv4Addr) -> End {
    let ns = Netns::open(&NetnsDir::system(), &lab.ns(node)).expect("open namespace");
    let device = GreDevice::start(&ns, config).expect("start GRE device");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let nl = Netlink::open(&ns).expect("netlink");
        device
            .configure(&nl, &[format!("{inside}/29").parse().unwrap()])
            .await
            .expect("configure GRE device");
    });
    // A deeper queue than TUN's default 500 rides out a data-plane thread being descheduled.
    lab.exec(
        node,
        &[
            "ip",
            "link",
            "set",
            &device.config().name,
            "txqueuelen",
            "4000",
        ],
    )
    .expect("txqueuelen");
    End { device, ns, node }
}

/// A's and b's configurations for a tunnel between them; `tweak` edits both (key, options).
pub fn configs(tweak: impl Fn(&mut GreConfig)) -> (GreConfig, GreConfig) {
    let mut a = GreConfig::new("gre0", OUTSIDE_A, OUTSIDE_B);
    let mut b = GreConfig::new("gre0", OUTSIDE_B, OUTSIDE_A);
    tweak(&mut a);
    tweak(&mut b);
    (a, b)
}

impl GreLab {
    /// The lab `hl-<lab_name>-{a,b}` with a GRE device in each, configured, up.
    pub fn new(lab_name: &str, a: GreConfig, b: GreConfig) -> GreLab {
        let lab = underlay(lab_name);
        let a = start_end(&lab, "a", a, INSIDE_A);
        let b = start_end(&lab, "b", b, INSIDE_B);
        GreLab { a, b, lab }
    }
}

/// The byte at offset `i` of the test stream (position-dependent, so loss, duplication or
/// reordering of TCP payload would show).
pub fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}
