//! Two namespaces joined by one veth, the cross-connect of a dedicated Direct Connect
//! connection, with a VLAN trunk at each end: the fixture of the namespace tests.
//!
//! ```text
//!   hl-<lab>-a                                                    hl-<lab>-b
//!   vif100 169.254.100.1/30 ─┐                              ┌─ vif100 169.254.100.2/30
//!   vif200 169.254.200.1/30 ─┴─ VlanTrunk ─ to-b ═ veth ═ to-a ─ VlanTrunk ─┴─ vif200 169.254.200.2/30
//!                               (AF_PACKET)      802.1Q       (AF_PACKET)
//! ```
//!
//! Addresses are link-local /30s as AWS gives a VIF's BGP peers; they exist only inside the
//! lab's namespaces. IPv6 is off for new interfaces in both namespaces (a TAP device's own
//! router solicitations and MLD reports would reach the other side before its interface is up
//! and be counted as write errors); tests that carry IPv6 turn it on per interface once both
//! sides are up. Namespaces are removed when the fixture drops (trunks first), also on panic.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::time::Duration;

use netns::{LinkId, Netlink, Netns, NetnsDir};
use testkit::lab::Lab;
use testkit::wait_for;
use vlan::device::{CountersSnapshot, TrunkConfig, VifConfig, VlanTrunk};

/// The trunk interface in node a (the veth end towards b), and in node b.
pub const TRUNK_A: &str = "to-b";
pub const TRUNK_B: &str = "to-a";

/// A VLAN interface `vif<vlan>` with MTU `mtu` and the address `169.254.<subnet>.<host>/30`.
pub fn vif(vlan: u16, mtu: u32, subnet: u8, host: u8) -> VifConfig {
    let mut v = VifConfig::new(format!("vif{vlan}"), vlan, mtu);
    v.addresses = vec![format!("169.254.{subnet}.{host}/30").parse().unwrap()];
    v
}

/// `169.254.<subnet>.<host>`.
pub fn addr(subnet: u8, host: u8) -> Ipv4Addr {
    Ipv4Addr::new(169, 254, subnet, host)
}

/// The usual two trunks: VLAN 100 and 200 at each end, MTU `mtu100` and `mtu200`.
pub fn two_vlans(mtu100: u32, mtu200: u32) -> (TrunkConfig, TrunkConfig) {
    let a = TrunkConfig::new(TRUNK_A)
        .with_vif(vif(100, mtu100, 100, 1))
        .with_vif(vif(200, mtu200, 200, 1));
    let b = TrunkConfig::new(TRUNK_B)
        .with_vif(vif(100, mtu100, 100, 2))
        .with_vif(vif(200, mtu200, 200, 2));
    (a, b)
}

/// One end: its trunk and namespace.
pub struct End {
    pub trunk: VlanTrunk,
    pub ns: Netns,
    pub node: &'static str,
}

/// The whole lab. Field order matters: the ends drop (threads joined, TAP devices closed)
/// before the lab deletes the namespaces.
pub struct VlanLab {
    pub a: End,
    pub b: End,
    pub lab: Lab,
}

/// The two namespaces and the cross-connect veth (no addresses), without trunks.
pub fn cross_connect(lab_name: &str) -> Lab {
    let mut lab = Lab::new(lab_name).expect("lab");
    for node in ["a", "b"] {
        lab.node(node).expect("node");
        lab.exec(
            node,
            &["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"],
        )
        .expect("IPv6 off for new interfaces");
    }
    lab.link("a", "", "b", "").expect("cross-connect veth");
    lab
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Starts and configures a trunk in `node`.
pub fn start_end(lab: &Lab, node: &'static str, config: TrunkConfig) -> End {
    let ns = Netns::open(&NetnsDir::system(), &lab.ns(node)).expect("open namespace");
    let trunk = VlanTrunk::start(&ns, config).expect("start VLAN trunk");
    runtime().block_on(async {
        let nl = Netlink::open(&ns).expect("netlink");
        trunk.configure(&nl).await.expect("configure VLAN trunk");
    });
    End { trunk, ns, node }
}

impl VlanLab {
    /// The lab `hl-<lab_name>-{a,b}` with a trunk at each end, configured, up.
    pub fn new(lab_name: &str, a: TrunkConfig, b: TrunkConfig) -> VlanLab {
        let lab = cross_connect(lab_name);
        let a = start_end(&lab, "a", a);
        let b = start_end(&lab, "b", b);
        VlanLab { a, b, lab }
    }

    /// Pings `to` from `from` (`count` echoes of `size` octets of payload, DF set: `-M do`).
    pub fn ping(&self, from: &str, to: &str, size: usize, count: u32) -> Result<(), String> {
        self.lab
            .exec(
                from,
                &[
                    "ping",
                    "-c",
                    &count.to_string(),
                    "-i",
                    "0.2",
                    "-W",
                    "2",
                    "-M",
                    "do",
                    "-s",
                    &size.to_string(),
                    to,
                ],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Turns IPv6 on for `interface` at both ends and gives it `<prefix>::1/64` in a and
    /// `<prefix>::2/64` in b (no duplicate address detection: usable at once).
    pub fn ipv6_on(&self, interface: &str, prefix: &str) {
        for (node, host) in [("a", 1), ("b", 2)] {
            self.lab
                .exec(
                    node,
                    &[
                        "sysctl",
                        "-q",
                        "-w",
                        &format!("net.ipv6.conf.{interface}.disable_ipv6=0"),
                    ],
                )
                .expect("IPv6 on");
            self.lab
                .exec(
                    node,
                    &[
                        "ip",
                        "addr",
                        "add",
                        &format!("{prefix}::{host}/64"),
                        "dev",
                        interface,
                        "nodad",
                    ],
                )
                .expect("IPv6 address");
        }
    }

    /// The MTU of `interface` in `node`, read back through netlink.
    pub fn mtu(&self, node: &str, interface: &str) -> u32 {
        let ns = if node == "a" { &self.a.ns } else { &self.b.ns };
        runtime().block_on(async {
            let nl = Netlink::open(ns).expect("netlink");
            nl.link(LinkId::Name(interface)).await.expect("link").mtu
        })
    }
}

/// Waits until `end`'s counters satisfy `ok` (5 s at most), and returns them.
pub fn wait_counters(
    what: &str,
    end: &End,
    ok: impl Fn(&CountersSnapshot) -> bool,
) -> CountersSnapshot {
    wait_for(
        what,
        Duration::from_secs(5),
        Duration::from_millis(10),
        || {
            let c = end.trunk.counters();
            if ok(&c) { Ok(c) } else { Err(Box::new(c)) }
        },
    )
    .unwrap()
}

/// The byte at offset `i` of the test stream (position-dependent, so loss, duplication or
/// reordering of TCP payload would show).
pub fn pattern(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}
