//! A userspace 802.1Q VLAN trunk: an AF_PACKET socket on the cross-connect interface (a veth
//! end), one TAP device per VLAN interface, one thread receiving from the trunk and one thread
//! per VLAN sending to it.
//!
//! ```text
//!                   ┌──────────────────── vlan-rx thread ─────────────────────┐
//!   cross-connect ─►│ recvmmsg (64 frames; the kernel hands each frame with its│
//!   (veth end,      │ tag taken off, the tag in PACKET_AUXDATA)                │
//!    AF_PACKET,     │ classify: TPID 0x8100? VID of an interface? fits its MTU?│── write ─► TAP of VLAN n
//!    promiscuous,   │ (an inline tag, if a kernel ever leaves one, is removed  │   (frame as the VLAN
//!    own sends      │  in place)                                   else count  │    interface sees it)
//!    ignored)       └──────────────────────────────────────────────────────────┘
//!                   ┌──────────────── vlan-tx thread, one per VLAN ────────────┐
//!   cross-connect ◄─│ sendmmsg (64)  ◄ tag inserted in place (addresses move 4 │◄─ read ── TAP of VLAN n
//!                   │ octets into room in front; TPID 0x8100, PCP, VID n)       │
//!                   │ ◄ untagged, within the MTU                   else count   │
//!                   └──────────────────────────────────────────────────────────┘
//!   stop flag + one wake-up socket every thread polls; Drop joins all threads; the TAP devices
//!   go with their descriptors, promiscuous mode with the socket
//! ```
//!
//! MTU: a VLAN interface's MTU is its VIF's (1500 or 8500 on Direct Connect). The trunk needs no
//! 4 octets more: Linux does not count an 802.1Q tag against a device's MTU (a packet socket
//! may send a tagged frame of MTU + 18 octets, `packet_extra_vlan_len_allowed`; a veth accepts
//! MTU + 18, `is_skb_forwardable`; a kernel VLAN sub-interface has its parent's MTU too), so
//! [`VlanTrunk::configure`] gives the trunk the largest VIF MTU unless
//! [`TrunkConfig::trunk_mtu`] says otherwise. The namespace tests carry a DF ping of 8500
//! octets over a trunk of MTU 8500.
//!
//! The trunk is a layer-2 port: [`VlanTrunk::start`] turns IPv6 off on it (no link-local
//! address, so no router solicitation or MLD report leaves untagged); it should carry no
//! addresses.
//!
//! What it does not do: MAC learning (each VLAN goes to its one interface), a native VLAN,
//! QinQ, adding or removing VLANs on a running trunk, TAP offloads (every frame is at most MTU
//! + 14 octets with complete checksums), or anything above Ethernet.

mod counters;
mod rx;
mod tx;

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use netns::packet::{PacketOptions, open_packet_socket};
use netns::tap::{TapOptions, create_tap};
use netns::{LinkId, Netlink, Netns};

pub use counters::{Counters, CountersSnapshot, TrunkSnapshot, VifSnapshot};

use crate::classify::VlanTable;
use crate::wire::vlan::{Pcp, TAGGED_HEADER_LEN, Tci, VlanId};

/// Ethernet's MTU, the default of a VLAN interface.
pub const DEFAULT_MTU: u32 = 1500;
/// The largest MTU a VLAN interface may have: a tagged frame must fit 65535 octets.
pub const MAX_MTU: u32 = 65535 - TAGGED_HEADER_LEN as u32;
/// The smallest (IPv4's minimum).
pub const MIN_MTU: u32 = 68;

fn default_mtu() -> u32 {
    DEFAULT_MTU
}

fn default_socket_buffer() -> usize {
    4 << 20
}

/// One VLAN interface: a TAP device whose frames ride the trunk tagged with `vlan`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VifConfig {
    /// The TAP interface name (at most 15 octets).
    pub name: String,
    /// The VLAN ID, 1-4094.
    pub vlan: u16,
    /// The interface's MTU (1500 or 8500 for a Direct Connect VIF; any 68-65517 here).
    #[serde(default = "default_mtu")]
    pub mtu: u32,
    /// Priority code point written into the tags this interface sends (0-7).
    #[serde(default)]
    pub pcp: u8,
    /// Addresses [`VlanTrunk::configure`] gives the interface.
    #[serde(default)]
    pub addresses: Vec<ipnet::IpNet>,
}

impl VifConfig {
    /// An interface of VLAN `vlan` with MTU `mtu`, PCP 0 and no addresses.
    pub fn new(name: impl Into<String>, vlan: u16, mtu: u32) -> VifConfig {
        VifConfig {
            name: name.into(),
            vlan,
            mtu,
            pcp: 0,
            addresses: Vec::new(),
        }
    }
}

/// How to run one trunk (one Direct Connect connection's cross-connect end).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    /// The cross-connect interface (a veth end in the namespace).
    pub interface: String,
    /// The VLAN interfaces.
    #[serde(default)]
    pub vifs: Vec<VifConfig>,
    /// The trunk interface's MTU; by default the largest VIF MTU (the tag does not count).
    #[serde(default)]
    pub trunk_mtu: Option<u32>,
    /// Socket receive and send buffer sizes in octets.
    #[serde(default = "default_socket_buffer")]
    pub socket_buffer: usize,
}

impl TrunkConfig {
    /// A trunk on `interface` without VLANs.
    pub fn new(interface: impl Into<String>) -> TrunkConfig {
        TrunkConfig {
            interface: interface.into(),
            vifs: Vec::new(),
            trunk_mtu: None,
            socket_buffer: default_socket_buffer(),
        }
    }

    /// Adds a VLAN interface.
    pub fn with_vif(mut self, vif: VifConfig) -> TrunkConfig {
        self.vifs.push(vif);
        self
    }

    /// The MTU [`VlanTrunk::configure`] gives the trunk interface.
    pub fn trunk_mtu(&self) -> u32 {
        self.trunk_mtu
            .unwrap_or_else(|| self.vifs.iter().map(|v| v.mtu).max().unwrap_or(DEFAULT_MTU))
    }

    /// Checks names, VLAN IDs, MTUs and priorities, and builds the VID table.
    fn validate(&self) -> Result<VlanTable, DeviceError> {
        let bad = |why: String| DeviceError::Config {
            trunk: self.interface.clone(),
            why,
        };
        let name_ok = |n: &str| !n.is_empty() && n.len() <= 15;
        if !name_ok(&self.interface) {
            return Err(bad(format!(
                "interface name {:?} must be 1-15 octets",
                self.interface
            )));
        }
        let mut table = VlanTable::new();
        let mut names = vec![self.interface.as_str()];
        for v in &self.vifs {
            if !name_ok(&v.name) || names.contains(&v.name.as_str()) {
                return Err(bad(format!(
                    "VLAN interface name {:?} must be 1-15 octets and unique",
                    v.name
                )));
            }
            names.push(&v.name);
            let vid = VlanId::new(v.vlan).map_err(|e| bad(format!("{}: {e}", v.name)))?;
            Pcp::new(v.pcp).map_err(|e| bad(format!("{}: {e}", v.name)))?;
            if !(MIN_MTU..=MAX_MTU).contains(&v.mtu) {
                return Err(bad(format!(
                    "{}: MTU {} is out of range ({MIN_MTU} ..= {MAX_MTU})",
                    v.name, v.mtu
                )));
            }
            table
                .insert(vid, v.mtu)
                .map_err(|e| bad(format!("{}: {e}", v.name)))?;
        }
        let largest = self.vifs.iter().map(|v| v.mtu).max().unwrap_or(MIN_MTU);
        if let Some(mtu) = self.trunk_mtu
            && !(largest..=MAX_MTU).contains(&mtu)
        {
            return Err(bad(format!(
                "trunk MTU {mtu} must be at least the largest VLAN MTU ({largest}) and at most {MAX_MTU}"
            )));
        }
        Ok(table)
    }
}

/// Device errors. Messages name the trunk and the operation.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The configuration cannot work.
    #[error("VLAN trunk {trunk}: {why}")]
    Config {
        /// The trunk interface.
        trunk: String,
        /// Why.
        why: String,
    },
    /// Opening the packet socket, creating a TAP device, or a netlink request failed.
    #[error("VLAN trunk {trunk}: {source}")]
    Netns {
        /// The trunk interface.
        trunk: String,
        /// The error.
        source: netns::Error,
    },
    /// A socket or thread operation failed.
    #[error("VLAN trunk {trunk}: {what}: {source}")]
    Io {
        /// The trunk interface.
        trunk: String,
        /// The operation.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
}

/// What every thread and the handle share.
pub(crate) struct Shared {
    pub(crate) config: TrunkConfig,
    pub(crate) table: VlanTable,
    pub(crate) stop: AtomicBool,
    pub(crate) counters: Counters,
    /// Why a thread stopped on its own, if one did.
    pub(crate) failure: std::sync::Mutex<Option<String>>,
}

impl Shared {
    pub(crate) fn failed(&self, why: String) {
        let mut f = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        f.get_or_insert(why);
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// One VLAN interface of a running trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vif {
    /// Its VLAN.
    pub vid: VlanId,
    /// The TAP interface name.
    pub name: String,
    /// The TAP interface index in the trunk's namespace.
    pub ifindex: u32,
}

/// A running VLAN trunk. Dropping it (or [`VlanTrunk::shutdown`]) stops and joins its threads;
/// the TAP devices disappear with their descriptors.
pub struct VlanTrunk {
    shared: Arc<Shared>,
    trunk_ifindex: u32,
    vifs: Vec<Vif>,
    /// Writing to it wakes every thread (they poll the other end and never drain it).
    wake: UnixDatagram,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for VlanTrunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VlanTrunk")
            .field("interface", &self.shared.config.interface)
            .field("vifs", &self.vifs)
            .finish_non_exhaustive()
    }
}

impl VlanTrunk {
    /// Opens the packet socket on `config.interface` in `ns` (which must exist), turns IPv6 off
    /// on it, creates one TAP device per VLAN interface and starts the threads. The TAP devices
    /// are down, with the kernel's default MTU and no address, until [`VlanTrunk::configure`]
    /// (or the caller's own netlink requests).
    pub fn start(ns: &Netns, config: TrunkConfig) -> Result<VlanTrunk, DeviceError> {
        let table = config.validate()?;
        let trunk = config.interface.clone();
        let io_err = |what: &'static str| {
            let trunk = trunk.clone();
            move |source: io::Error| DeviceError::Io {
                trunk,
                what,
                source,
            }
        };
        let netns_err = |source| DeviceError::Netns {
            trunk: trunk.clone(),
            source,
        };
        // A layer-2 port: no IPv6 link-local address, so nothing leaves it untagged. Not fatal
        // (a kernel without IPv6 has no such sysctl).
        if let Err(e) = ns.set_sysctl(&format!("net/ipv6/conf/{trunk}/disable_ipv6"), "1") {
            tracing::warn!(trunk = %trunk, error = %e, "cannot turn IPv6 off on the trunk");
        }
        let socket = open_packet_socket(ns, &trunk, &PacketOptions::port()).map_err(netns_err)?;
        let trunk_ifindex = socket.ifindex();
        netns::sockbuf::set_socket_buffers(
            socket.as_fd(),
            config.socket_buffer,
            config.socket_buffer,
        )
        .map_err(io_err("sizing socket buffers"))?;
        let mut taps = Vec::with_capacity(config.vifs.len());
        let mut vifs = Vec::with_capacity(config.vifs.len());
        for (v, entry) in config.vifs.iter().zip(table.entries()) {
            let tap = create_tap(
                ns,
                &TapOptions {
                    name: v.name.clone(),
                    nonblocking: true,
                },
            )
            .map_err(netns_err)?;
            vifs.push(Vif {
                vid: entry.vid,
                name: tap.name().to_string(),
                ifindex: tap.ifindex(),
            });
            taps.push(File::from(tap.into_fd()));
        }
        let (wake, wake_end) = UnixDatagram::pair().map_err(io_err("wake-up socket"))?;
        wake.set_nonblocking(true)
            .map_err(io_err("wake-up socket"))?;
        let shared = Arc::new(Shared {
            counters: Counters::new(table.entries().iter().map(|e| e.vid)),
            table,
            config,
            stop: AtomicBool::new(false),
            failure: std::sync::Mutex::new(None),
        });
        let mut device = VlanTrunk {
            shared: shared.clone(),
            trunk_ifindex,
            vifs,
            wake,
            threads: Vec::with_capacity(taps.len() + 1),
        };
        // From here on, an error drops `device`, which stops and joins what was started.
        let rx_taps = taps
            .iter()
            .map(File::try_clone)
            .collect::<io::Result<Vec<_>>>()
            .map_err(io_err("cloning a TAP descriptor"))?;
        let rx_worker = rx::RxWorker::new(
            shared.clone(),
            socket
                .try_clone()
                .map_err(io_err("cloning the packet socket"))?,
            rx_taps,
            wake_end
                .try_clone()
                .map_err(io_err("cloning the wake-up socket"))?,
        );
        let short: String = trunk.chars().take(8).collect();
        device.threads.push(
            std::thread::Builder::new()
                .name(format!("vlan-rx-{short}"))
                .spawn(move || rx_worker.run())
                .map_err(io_err("spawning the rx thread"))?,
        );
        for (vif, tap) in taps.into_iter().enumerate() {
            let v = &shared.config.vifs[vif];
            let tci = Tci {
                // Validated above.
                pcp: Pcp::new(v.pcp).unwrap_or_default(),
                dei: false,
                vid: Some(shared.table.entries()[vif].vid),
            };
            let worker = tx::TxWorker::new(
                shared.clone(),
                vif,
                tci,
                tap,
                socket
                    .try_clone()
                    .map_err(io_err("cloning the packet socket"))?,
                wake_end
                    .try_clone()
                    .map_err(io_err("cloning the wake-up socket"))?,
            );
            device.threads.push(
                std::thread::Builder::new()
                    .name(format!("vlan-tx-{}", v.vlan))
                    .spawn(move || worker.run())
                    .map_err(io_err("spawning a tx thread"))?,
            );
        }
        tracing::info!(trunk = %device.shared.config.interface,
            vlans = ?device.vifs.iter().map(|v| v.vid.get()).collect::<Vec<_>>(),
            "VLAN trunk started");
        Ok(device)
    }

    /// Through `netlink` (opened in the trunk's namespace): gives the trunk interface its MTU
    /// ([`TrunkConfig::trunk_mtu`]) and brings it up; gives each VLAN interface its MTU and
    /// addresses and brings it up.
    pub async fn configure(&self, netlink: &Netlink) -> Result<(), DeviceError> {
        let err = |source| DeviceError::Netns {
            trunk: self.shared.config.interface.clone(),
            source,
        };
        let trunk = LinkId::Index(self.trunk_ifindex);
        netlink
            .set_mtu(trunk, self.shared.config.trunk_mtu())
            .await
            .map_err(err)?;
        netlink.set_link_up(trunk, true).await.map_err(err)?;
        for (vif, config) in self.vifs.iter().zip(&self.shared.config.vifs) {
            let link = LinkId::Index(vif.ifindex);
            netlink.set_mtu(link, config.mtu).await.map_err(err)?;
            for net in &config.addresses {
                netlink.add_address(link, *net).await.map_err(err)?;
            }
            netlink.set_link_up(link, true).await.map_err(err)?;
        }
        Ok(())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &TrunkConfig {
        &self.shared.config
    }

    /// The trunk interface's index.
    pub fn trunk_ifindex(&self) -> u32 {
        self.trunk_ifindex
    }

    /// The VLAN interfaces, in configuration order.
    pub fn vifs(&self) -> &[Vif] {
        &self.vifs
    }

    /// The trunk's counters.
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// Whether every thread is still running.
    pub fn is_running(&self) -> bool {
        self.threads.iter().all(|t| !t.is_finished())
    }

    /// Why a thread stopped on its own (an I/O error it cannot recover from), if one did.
    pub fn failure(&self) -> Option<String> {
        self.shared
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Stops and joins the threads (what dropping the trunk does), returning the last counters.
    pub fn shutdown(mut self) -> CountersSnapshot {
        self.stop();
        self.counters()
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.send(&[0]);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for VlanTrunk {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_vlans() -> TrunkConfig {
        TrunkConfig::new("dx0")
            .with_vif(VifConfig::new("vif100", 100, 1500))
            .with_vif(VifConfig::new("vif200", 200, 8500))
    }

    #[test]
    fn the_trunk_mtu_is_the_largest_vlan_mtu() {
        let mut c = two_vlans();
        assert_eq!(c.trunk_mtu(), 8500);
        assert!(c.validate().is_ok());
        c.trunk_mtu = Some(9001);
        assert_eq!(c.trunk_mtu(), 9001);
        assert!(c.validate().is_ok());
        c.trunk_mtu = Some(1500);
        assert!(c.validate().is_err(), "smaller than a VLAN's MTU");
        assert_eq!(TrunkConfig::new("dx0").trunk_mtu(), DEFAULT_MTU);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let refused = |c: TrunkConfig| c.validate().unwrap_err().to_string();
        assert!(
            refused(two_vlans().with_vif(VifConfig::new("vif100b", 100, 1500)))
                .contains("VLAN 100 is already on this trunk")
        );
        for vid in [0, 4095, 4096] {
            assert!(
                refused(two_vlans().with_vif(VifConfig::new("x", vid, 1500)))
                    .contains("is not 1-4094")
            );
        }
        assert!(
            refused(two_vlans().with_vif(VifConfig::new("vif100", 300, 1500))).contains("unique")
        );
        assert!(refused(two_vlans().with_vif(VifConfig::new("dx0", 300, 1500))).contains("unique"));
        assert!(
            refused(two_vlans().with_vif(VifConfig::new("a-very-long-name", 300, 1500)))
                .contains("1-15 octets")
        );
        assert!(refused(two_vlans().with_vif(VifConfig::new("x", 300, 67))).contains("MTU 67"));
        let mut pcp = VifConfig::new("x", 300, 1500);
        pcp.pcp = 8;
        assert!(refused(two_vlans().with_vif(pcp)).contains("priority code point 8"));
    }

    #[test]
    fn config_is_serde_with_defaults_and_no_unknown_fields() {
        let c: TrunkConfig = serde_json::from_str(
            r#"{"interface":"dx0","vifs":[{"name":"vif100","vlan":100,
                "addresses":["169.254.10.1/30"]},{"name":"vif200","vlan":200,"mtu":8500,"pcp":5}]}"#,
        )
        .unwrap();
        assert_eq!(c.vifs[0].mtu, DEFAULT_MTU);
        assert_eq!(c.vifs[0].addresses.len(), 1);
        assert_eq!((c.vifs[1].mtu, c.vifs[1].pcp), (8500, 5));
        assert_eq!(c.socket_buffer, default_socket_buffer());
        assert!(c.validate().is_ok());
        assert!(serde_json::from_str::<TrunkConfig>(r#"{"interface":"dx0","vlans":[]}"#).is_err());
        assert!(
            serde_json::from_str::<VifConfig>(r#"{"name":"v","vlan":1,"tpid":34984}"#).is_err()
        );
    }
}
