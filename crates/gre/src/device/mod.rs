//! A userspace GRE device: a TUN device on the inside, a raw IPv4 socket of protocol 47 on the
//! underlay, and two threads moving packets between them.
//!
//! ```text
//!                  ┌──────────────── gre-tx thread ─────────────────┐
//!   TUN ──read────►│ [vnet hdr] packet │ TSO super-segment → cut     │
//!   (inside,       │ GRE header written in front, in place           │── sendmmsg ─► raw socket
//!    MTU 8476)     │ (key, sequence number, checksum as configured)  │   to remote    (IPPROTO_GRE,
//!                  └─────────────────────────────────────────────────┘                bound to local)
//!                  ┌──────────────── gre-rx thread ─────────────────┐
//!   TUN ◄──write───│ TCP runs coalesced (GRO) │ vnet hdr in place    │◄─ recvmmsg ── raw socket
//!                  │ ◄ protocol IPv4/IPv6 ◄ sequence ◄ key ◄ GRE     │   (outer IPv4 header
//!                  │   parse ◄ outer (src, dst) == (remote, local)   │    included)
//!                  └─────────────────────────────────────────────────┘
//!   every drop has a counter (Counters); stop flag + wake-up socket; Drop joins both threads
//! ```
//!
//! Plain threads with blocking `poll`, no tokio on the fast path, as in the IPsec data plane
//! (`crates/ipsec/src/dataplane`). Buffers are allocated once when the threads start.
//!
//! A raw socket receives every GRE packet addressed to its bound address; one whose outer source
//! is not the configured remote is somebody else's (AWS treats GRE with a wrong source or
//! destination as transport traffic): it is counted as `not_ours` and dropped. Two devices on the
//! same local address each see the other's packets and count them so.
//!
//! What it does not do: addresses, routes or link state beyond [`GreDevice::configure`]; GRE
//! over IPv6; keepalives; Ethernet payloads (TUN carries IP only); what is done to packets on
//! the TUN side (virtio-net header, TSO cut, receive-side GRO): the `tun-offload` crate does that
//! for this device and the IPsec data plane alike.

mod counters;
mod rx;
mod tx;

use std::fs::File;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use netns::tun::{TunOptions, offload};
use netns::{Netlink, Netns};
use socket2::{Domain, Socket, Type};

pub use counters::{Counters, CountersSnapshot};

use crate::wire::gre::header_len;
use crate::wire::ipv4::{MIN_HEADER_LEN, PROTOCOL_GRE};

/// The inside MTU over a jumbo (8500-octet) underlay: 8500 less 20 (IPv4) and 4 (GRE without
/// options). A gateway package that knows better (a Transit Gateway Connect peer) sets its own.
pub const JUMBO_INSIDE_MTU: u32 = 8476;

fn default_mtu() -> u32 {
    JUMBO_INSIDE_MTU
}

fn default_true() -> bool {
    true
}

fn default_socket_buffer() -> usize {
    4 << 20
}

/// How to run one GRE device (one Connect peer's tunnel).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GreConfig {
    /// The TUN interface name (at most 15 octets), also used in logs and thread names.
    pub name: String,
    /// Our underlay address: the raw socket binds to it, outgoing GRE comes from it.
    pub local: Ipv4Addr,
    /// The peer's underlay address: GRE goes there, and only GRE from there is ours.
    pub remote: Ipv4Addr,
    /// Key to send and to require on receipt (RFC 2890 §2.1); `None`: no key either way (a
    /// received key is then a mismatch).
    #[serde(default)]
    pub key: Option<u32>,
    /// Send sequence numbers (RFC 2890 §2.2), starting at 0.
    #[serde(default)]
    pub send_sequence: bool,
    /// Drop received packets whose sequence number is not after the last delivered one
    /// (RFC 2890 §2.2); packets without one pass.
    #[serde(default)]
    pub check_sequence: bool,
    /// Send checksums (RFC 2784 §2.5). Received checksums are always verified.
    #[serde(default)]
    pub checksum: bool,
    /// The inside MTU, set on the TUN device by [`GreDevice::configure`].
    #[serde(default = "default_mtu")]
    pub mtu: u32,
    /// TUN offloads: virtio-net headers, TCP segmentation offload on the way in (cut here into
    /// MTU-sized packets), coalescing of received TCP on the way out.
    #[serde(default = "default_true")]
    pub offloads: bool,
    /// Socket receive and send buffer sizes in octets.
    #[serde(default = "default_socket_buffer")]
    pub socket_buffer: usize,
}

impl GreConfig {
    /// A keyless tunnel with AWS's MTU, offloads on, no sequence numbers or checksums.
    pub fn new(name: impl Into<String>, local: Ipv4Addr, remote: Ipv4Addr) -> GreConfig {
        GreConfig {
            name: name.into(),
            local,
            remote,
            key: None,
            send_sequence: false,
            check_sequence: false,
            checksum: false,
            mtu: JUMBO_INSIDE_MTU,
            offloads: true,
            socket_buffer: default_socket_buffer(),
        }
    }

    /// Octets of the GRE header this device sends (4, 8, 12 or 16).
    pub fn gre_header_len(&self) -> usize {
        header_len(self.checksum, self.key.is_some(), self.send_sequence)
    }

    /// Octets each packet grows by on the underlay: outer IPv4 (20) and GRE.
    pub fn overhead(&self) -> u32 {
        (MIN_HEADER_LEN + self.gre_header_len()) as u32
    }

    /// The largest inside MTU whose packets fit an underlay of `underlay_mtu` unfragmented
    /// (8500 -> 8476 without GRE options, as in AWS's sample).
    pub fn mtu_for_underlay(&self, underlay_mtu: u32) -> u32 {
        underlay_mtu.saturating_sub(self.overhead())
    }

    fn validate(&self) -> Result<(), DeviceError> {
        let bad = |why: String| DeviceError::Config {
            device: self.name.clone(),
            why,
        };
        if self.mtu < 68 || self.mtu + self.overhead() > 65535 {
            return Err(bad(format!(
                "MTU {} is out of range (68 ..= {})",
                self.mtu,
                65535 - self.overhead()
            )));
        }
        if self.local.is_unspecified() || self.remote.is_unspecified() {
            return Err(bad("local and remote addresses must be set".into()));
        }
        if self.name.is_empty() || self.name.len() > 15 {
            return Err(bad(format!(
                "interface name {:?} must be 1-15 octets",
                self.name
            )));
        }
        Ok(())
    }
}

/// Device errors. Messages name the device and the operation.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The configuration cannot work.
    #[error("GRE device {device}: {why}")]
    Config {
        /// The device.
        device: String,
        /// Why.
        why: String,
    },
    /// Creating the TUN device, entering the namespace, or a netlink request failed.
    #[error("GRE device {device}: {source}")]
    Netns {
        /// The device.
        device: String,
        /// The error.
        source: netns::Error,
    },
    /// A socket or thread operation failed.
    #[error("GRE device {device}: {what}: {source}")]
    Io {
        /// The device.
        device: String,
        /// The operation.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
}

// TUN as `netns` sets it up and the offload code agree on the virtio-net header's size.
const _: () = assert!(tun_offload::vnet::LEN == netns::tun::VNET_HDR_LEN);

/// The TUN options a device uses: one queue, non-blocking; with offloads, virtio-net headers,
/// partial checksums and TCP segmentation offload (v4, v6, ECN).
pub fn tun_options(name: &str, offloads: bool) -> TunOptions {
    TunOptions {
        name: name.to_string(),
        vnet_hdr: offloads,
        offload: if offloads {
            offload::CSUM | offload::TSO4 | offload::TSO6 | offload::TSO_ECN
        } else {
            0
        },
        queues: 1,
        nonblocking: true,
    }
}

/// What both threads and the handle share.
pub(crate) struct Shared {
    pub(crate) config: GreConfig,
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
}

/// A running GRE device. Dropping it (or [`GreDevice::shutdown`]) stops and joins its threads;
/// the TUN device disappears with its last descriptor.
pub struct GreDevice {
    shared: Arc<Shared>,
    ifindex: u32,
    wakes: [UnixDatagram; 2],
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for GreDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GreDevice")
            .field("name", &self.shared.config.name)
            .field("local", &self.shared.config.local)
            .field("remote", &self.shared.config.remote)
            .finish_non_exhaustive()
    }
}

impl GreDevice {
    /// Creates the TUN device `config.name` and the raw socket (bound to `config.local`) in `ns`
    /// and starts the threads. The device is down and has no address until
    /// [`GreDevice::configure`] (or the caller's own netlink requests).
    pub fn start(ns: &Netns, config: GreConfig) -> Result<GreDevice, DeviceError> {
        config.validate()?;
        let device = config.name.clone();
        let io_err = |what: &'static str| {
            let device = device.clone();
            move |source: io::Error| DeviceError::Io {
                device,
                what,
                source,
            }
        };
        let netns_err = |source| DeviceError::Netns {
            device: device.clone(),
            source,
        };
        let local = config.local;
        let socket = ns
            .run(move || -> io::Result<Socket> {
                let s = Socket::new(
                    Domain::IPV4,
                    Type::RAW,
                    Some(socket2::Protocol::from(i32::from(PROTOCOL_GRE))),
                )?;
                s.bind(&SocketAddrV4::new(local, 0).into())?;
                Ok(s)
            })
            .map_err(netns_err)?
            .map_err(io_err("opening the raw GRE socket (needs CAP_NET_RAW)"))?;
        socket
            .set_nonblocking(true)
            .map_err(io_err("setting the raw socket non-blocking"))?;
        netns::sockbuf::set_socket_buffers(
            socket.as_fd(),
            config.socket_buffer,
            config.socket_buffer,
        )
        .map_err(io_err("sizing socket buffers"))?;
        let tun = netns::create_tun(ns, &tun_options(&config.name, config.offloads))
            .map_err(netns_err)?;
        let ifindex = tun.ifindex();
        let tun = File::from(tun.into_queues().into_iter().next().ok_or_else(|| {
            io_err("taking the TUN queue")(io::Error::other("TUN device without a queue"))
        })?);
        let (tx_wake, tx_wake_end) = UnixDatagram::pair().map_err(io_err("wake-up socket"))?;
        let (rx_wake, rx_wake_end) = UnixDatagram::pair().map_err(io_err("wake-up socket"))?;
        for s in [&tx_wake, &tx_wake_end, &rx_wake, &rx_wake_end] {
            s.set_nonblocking(true).map_err(io_err("wake-up socket"))?;
        }
        let shared = Arc::new(Shared {
            config,
            stop: AtomicBool::new(false),
            counters: Counters::default(),
            failure: std::sync::Mutex::new(None),
        });
        let tx_worker = tx::TxWorker::new(
            shared.clone(),
            tun.try_clone().map_err(io_err("cloning the TUN fd"))?,
            socket
                .try_clone()
                .map_err(io_err("cloning the raw socket"))?,
            tx_wake_end,
        );
        let rx_worker = rx::RxWorker::new(shared.clone(), tun, socket, rx_wake_end);
        let short: String = device.chars().take(8).collect();
        let mut threads = Vec::with_capacity(2);
        threads.push(
            std::thread::Builder::new()
                .name(format!("gre-tx-{short}"))
                .spawn(move || tx_worker.run())
                .map_err(io_err("spawning the tx thread"))?,
        );
        let rx = std::thread::Builder::new()
            .name(format!("gre-rx-{short}"))
            .spawn(move || rx_worker.run());
        let mut device = GreDevice {
            shared,
            ifindex,
            wakes: [tx_wake, rx_wake],
            threads,
        };
        // On failure `device` drops here, which stops and joins the tx thread.
        device
            .threads
            .push(rx.map_err(io_err("spawning the rx thread"))?);
        tracing::info!(device = %device.shared.config.name, local = %local,
            remote = %device.shared.config.remote, key = ?device.shared.config.key,
            "GRE device started");
        Ok(device)
    }

    /// Sets the MTU from the configuration, adds `addresses` and brings the device up, through
    /// `netlink` (opened in the device's namespace).
    pub async fn configure(
        &self,
        netlink: &Netlink,
        addresses: &[ipnet::IpNet],
    ) -> Result<(), DeviceError> {
        let err = |source| DeviceError::Netns {
            device: self.shared.config.name.clone(),
            source,
        };
        let link = netns::LinkId::Index(self.ifindex);
        netlink
            .set_mtu(link, self.shared.config.mtu)
            .await
            .map_err(err)?;
        for net in addresses {
            netlink.add_address(link, *net).await.map_err(err)?;
        }
        netlink.set_link_up(link, true).await.map_err(err)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &GreConfig {
        &self.shared.config
    }

    /// The TUN interface index in its namespace.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The device's counters.
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// Whether both threads are still running.
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

    /// Stops and joins the threads (what dropping the device does), returning the last counters.
    pub fn shutdown(mut self) -> CountersSnapshot {
        self.stop();
        self.counters()
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for w in &self.wakes {
            let _ = w.send(&[0]);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for GreDevice {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_and_mtu_follow_the_options() {
        let mut c = GreConfig::new(
            "gre0",
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 2),
        );
        assert_eq!(c.overhead(), 24);
        assert_eq!(c.mtu_for_underlay(8500), JUMBO_INSIDE_MTU);
        c.key = Some(7);
        c.send_sequence = true;
        c.checksum = true;
        assert_eq!(c.gre_header_len(), 16);
        assert_eq!(c.mtu_for_underlay(8500), 8464);
        assert!(c.validate().is_ok());
        c.mtu = 65535;
        assert!(c.validate().is_err());
    }

    #[test]
    fn config_is_serde_with_defaults_and_no_unknown_fields() {
        let c: GreConfig = serde_json::from_str(
            r#"{"name":"gre1","local":"192.0.2.1","remote":"192.0.2.2","key":42}"#,
        )
        .unwrap();
        assert_eq!(c.mtu, JUMBO_INSIDE_MTU);
        assert!(c.offloads && !c.send_sequence && !c.checksum);
        assert_eq!(c.key, Some(42));
        assert!(
            serde_json::from_str::<GreConfig>(
                r#"{"name":"g","local":"192.0.2.1","remote":"192.0.2.2","ttl":3}"#
            )
            .is_err()
        );
    }
}
