//! The ESP-in-UDP data plane of one tunnel: inside packets from a TUN device are sealed into ESP
//! and sent over UDP port 4500 to the peer; ESP arriving on that socket is opened and written to
//! the TUN device. IKE messages arriving on the same socket (non-ESP marker, RFC 3948 §2.2) are
//! handed to the IKE side through a channel.
//!
//! ```text
//!                 install / activate / remove (commands + wake)        events (soft/hard limits)
//!   IKE side  ─────────────────────┬──────────────────────────┐    ▲   IKE datagrams (channel)
//!   (tokio)                        v                          v    │          ▲
//!              ┌───────────── esp-tx thread ──────────┐  ┌──── esp-rx thread ─┴────────────────┐
//!   TUN ──read─► vnet hdr? TSO super-segment: cut into │  │ recvmmsg (UDP GRO trains) ─ split ─► │
//!   (inside)   │ MSS packets; complete checksums       │  │  marker 0000 → IKE channel          │
//!              │ seal each (active outbound SA)        │  │  0xFF → NAT keepalive, dropped      │
//!              │ same-size runs → one UDP GSO message  │  │  ESP → SA by SPI → open in place    │
//!              │ sendmmsg ──────────────────────────────────► UDP 4500 ... peer                  │
//!              └───────────────────────────────────────┘  │  TCP runs coalesced (GRO) → TUN write│
//!                                                         └─────────────────────────────────────┘
//! ```
//!
//! Two plain threads per tunnel with blocking `poll` (no tokio on the fast path: every packet
//! would otherwise pay for a task wake-up). Each thread owns its half of the SA table: the tx
//! thread the outbound SAs, the rx thread the inbound SAs, so the fast path takes no lock; the
//! control side reaches them through command queues plus a wake-up socket. Buffers are allocated
//! once when the threads start; nothing is allocated per packet (IKE datagrams excepted).
//!
//! Make-before-break rekeying (RFC 7296 §2.8): [`Dataplane::install`] makes the new inbound SA
//! live at once (before the peer can use it: it learns the SPI only from our reply), the new
//! outbound SA waits until [`Dataplane::activate_outbound`] (the first pair installed is active
//! at once), and the old pair keeps decrypting until [`Dataplane::remove`] after its DELETE.
//!
//! The threads are in `tx` and `rx`. What they do to packets on the TUN side (virtio-net header,
//! TSO cut, receive-side GRO, checksums) is the `tun-offload` crate, shared with `gre`'s device;
//! its [`vnet`], [`segment`] and [`coalesce`] are re-exported here for the `inner_packets` fuzz
//! target.
//!
//! What it does not do: IKE, timers, choosing SPIs or keys, DPD decisions (it offers
//! [`Dataplane::last_inbound`] for them), routes or addresses on the TUN device (the caller sets
//! them up through `netns`).

mod rx;
mod tx;

pub use tun_offload::{coalesce, segment, vnet};

use std::fs::File;
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use netns::tun::{Tun, TunOptions, offload};
use tokio::sync::mpsc as tokio_mpsc;

use crate::crypto::cipher::Cipher;
use crate::esp::{Counters, CountersSnapshot, EspError, InboundSa, OutboundSa, SaKeys, SaLimits};

// TUN as `netns` sets it up and the offload code agree on the virtio-net header's size.
const _: () = assert!(vnet::LEN == netns::tun::VNET_HDR_LEN);

/// How to create the TUN device named `name` for a [`Dataplane`] (with `netns::create_tun`):
/// one queue, non-blocking; with `offloads`, virtio-net headers, partial checksums and TCP
/// segmentation offload (v4, v6, ECN), so the kernel hands over 64 KiB TCP super-segments.
/// Set [`DataplaneConfig::vnet_hdr`] to the same `offloads`.
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

/// A CHILD_SA pair to install: both directions, keyed from KEYMAT (RFC 7296 §2.17).
#[derive(Debug)]
pub struct ChildSaPair {
    /// What we receive with: our SPI, the negotiated cipher, its keying material.
    pub inbound: SaKeys,
    /// What we send with: the peer's SPI, the same cipher, the other keying material.
    pub outbound: SaKeys,
    /// Anti-replay window in packets (`esp::replay::MIN_WINDOW..=MAX_WINDOW`).
    pub replay_window: u32,
    /// Volume lifetimes (each direction counts on its own).
    pub limits: SaLimits,
}

/// Which half of an SA an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The SA we receive with.
    Inbound,
    /// The SA we send with.
    Outbound,
}

/// What the data plane tells the IKE side. Pairs are named by their inbound SPI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataplaneEvent {
    /// A soft limit was crossed (sequence numbers nearing 2^32, or a volume lifetime): rekey.
    SoftLimit {
        /// The pair's inbound SPI.
        inbound_spi: u32,
        /// Which half crossed it.
        direction: Direction,
    },
    /// A hard limit was reached: that half no longer carries traffic.
    HardLimit {
        /// The pair's inbound SPI.
        inbound_spi: u32,
        /// Which half reached it.
        direction: Direction,
    },
    /// Authenticated ESP arrived from a new source address or port: the peer's NAT changed
    /// its mapping (RFC 3948; the Linux kernel reports the same as XFRM_MSG_MAPPING). The IKE
    /// side decides whether ESP follows.
    PeerMoved {
        /// Where ESP now comes from.
        to: SocketAddr,
    },
    /// A data-plane thread stopped on an I/O error it cannot recover from.
    Failed {
        /// What failed.
        reason: String,
    },
}

/// An IKE message that arrived on the ESP socket (port 4500), without the non-ESP marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeDatagram {
    /// Who sent it.
    pub from: SocketAddr,
    /// The IKE message (starting with the IKE header).
    pub message: Vec<u8>,
}

/// The channels the IKE side reads.
#[derive(Debug)]
pub struct DataplaneChannels {
    /// IKE messages received on port 4500.
    pub ike: tokio_mpsc::Receiver<IkeDatagram>,
    /// Limits reached and failures.
    pub events: tokio_mpsc::UnboundedReceiver<DataplaneEvent>,
}

/// How to run a [`Dataplane`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataplaneConfig {
    /// The tunnel's name, for logs and thread names.
    pub name: String,
    /// Where ESP goes: the peer's outside address and port (4500, or what NAT made of it).
    pub peer: SocketAddr,
    /// The TUN device was created with `tun_options(_, true)` (virtio-net headers, offloads).
    pub vnet_hdr: bool,
    /// Send runs of same-size ESP packets as one UDP GSO message (turned off by itself if the
    /// kernel refuses).
    pub udp_gso: bool,
    /// Ask the kernel for UDP GRO on the socket (trains of ESP packets in one receive).
    pub udp_gro: bool,
    /// Socket receive and send buffer sizes in octets.
    pub socket_buffer: usize,
    /// IKE messages queued for the IKE side before further ones are dropped.
    pub ike_queue: usize,
    /// Inner destinations this tunnel never delivers: decrypted packets addressed to one are
    /// dropped and counted (`misaddressed`). A gateway whose tunnel endpoints stand for
    /// separate hosts (AWS's two endpoints of a VPN connection) lists the other endpoints'
    /// inside addresses here, so a packet that arrives over tunnel 2 for tunnel 1's address
    /// is not delivered by the shared kernel.
    pub refused_destinations: Vec<IpAddr>,
}

impl DataplaneConfig {
    /// Defaults for a tunnel to `peer` whose TUN device has offloads.
    pub fn new(name: impl Into<String>, peer: SocketAddr) -> DataplaneConfig {
        DataplaneConfig {
            name: name.into(),
            peer,
            vnet_hdr: true,
            udp_gso: true,
            udp_gro: true,
            socket_buffer: 4 << 20,
            ike_queue: 64,
            refused_destinations: Vec::new(),
        }
    }
}

/// One installed pair, as `show` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaStatus {
    /// Our SPI (names the pair).
    pub inbound_spi: u32,
    /// The peer's SPI.
    pub outbound_spi: u32,
    /// The cipher.
    pub cipher: Cipher,
    /// Whether outbound traffic uses this pair now.
    pub outbound_active: bool,
    /// When the pair was installed.
    pub installed: Instant,
    /// Inbound counters (packets in, drops by reason, last inbound).
    pub inbound: CountersSnapshot,
    /// Outbound counters (packets out).
    pub outbound: CountersSnapshot,
}

/// Data-plane errors. Messages name the tunnel and the operation; never key material.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    /// A socket, TUN or thread operation failed.
    #[error("tunnel {tunnel}: {what}: {source}")]
    Io {
        /// The tunnel.
        tunnel: String,
        /// The operation.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The SA could not be created (bad key length, replay window out of range).
    #[error("tunnel {tunnel}: {source}")]
    Sa {
        /// The tunnel.
        tunnel: String,
        /// The error.
        source: EspError,
    },
    /// A pair with this inbound SPI is installed already.
    #[error("tunnel {tunnel}: an SA with inbound SPI {spi:#010x} is installed already")]
    DuplicateSpi {
        /// The tunnel.
        tunnel: String,
        /// The SPI.
        spi: u32,
    },
    /// No pair with this inbound SPI.
    #[error("tunnel {tunnel}: no SA with inbound SPI {spi:#010x}")]
    NoSuchSa {
        /// The tunnel.
        tunnel: String,
        /// The SPI.
        spi: u32,
    },
    /// The data-plane threads have stopped.
    #[error("tunnel {tunnel}: the data plane has stopped")]
    Stopped {
        /// The tunnel.
        tunnel: String,
    },
}

pub(crate) enum TxCommand {
    Install {
        inbound_spi: u32,
        sa: Box<OutboundSa>,
        activate: bool,
    },
    Activate {
        inbound_spi: u32,
    },
    Remove {
        inbound_spi: u32,
    },
    SetPeer(SocketAddr),
}

pub(crate) enum RxCommand {
    Install(Box<InboundSa>),
    Remove { spi: u32 },
}

/// What both threads and the handle share.
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) stop: AtomicBool,
    pub(crate) counters: Counters,
    pub(crate) epoch: Instant,
    pub(crate) events: tokio_mpsc::UnboundedSender<DataplaneEvent>,
}

impl Shared {
    /// Nanoseconds since `epoch`, plus one so that 0 keeps meaning "never".
    pub(crate) fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }

    pub(crate) fn event(&self, event: DataplaneEvent) {
        // The IKE side may have gone away during shutdown; nothing to do then.
        let _ = self.events.send(event);
    }
}

struct Registered {
    inbound_spi: u32,
    outbound_spi: u32,
    cipher: Cipher,
    installed: Instant,
    inbound: Arc<Counters>,
    outbound: Arc<Counters>,
}

/// A running data plane for one tunnel. Dropping it stops and joins its threads.
pub struct Dataplane {
    shared: Arc<Shared>,
    tx_commands: mpsc::Sender<TxCommand>,
    rx_commands: mpsc::Sender<RxCommand>,
    tx_wake: UnixDatagram,
    rx_wake: UnixDatagram,
    registry: Mutex<(Vec<Registered>, Option<u32>)>,
    socket: UdpSocket,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Dataplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataplane")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

impl Dataplane {
    /// Starts the data plane on `tun` (created in the tunnel's namespace with
    /// [`tun_options`]`(name, config.vnet_hdr)`) and `socket` (bound to the tunnel's outside
    /// address, port 4500). Traffic flows once a pair is installed. The TUN device lives as long
    /// as the data plane.
    pub fn start(
        tun: Tun,
        socket: UdpSocket,
        config: DataplaneConfig,
    ) -> Result<(Dataplane, DataplaneChannels), DataplaneError> {
        let name = config.name.clone();
        let io_err = |what: &'static str| {
            let tunnel = name.clone();
            move |source: io::Error| DataplaneError::Io {
                tunnel,
                what,
                source,
            }
        };
        let tun =
            File::from(
                tun.into_queues()
                    .into_iter()
                    .next()
                    .ok_or_else(|| DataplaneError::Io {
                        tunnel: name.clone(),
                        what: "taking the TUN queue",
                        source: io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "TUN device without a queue",
                        ),
                    })?,
            );
        socket
            .set_nonblocking(true)
            .map_err(io_err("setting the UDP socket non-blocking"))?;
        if config.udp_gro {
            netns::sockopt::set_udp_gro(socket.as_fd(), true)
                .map_err(io_err("enabling UDP GRO"))?;
        }
        netns::sockbuf::set_socket_buffers(
            socket.as_fd(),
            config.socket_buffer,
            config.socket_buffer,
        )
        .map_err(io_err("sizing socket buffers"))?;
        let (ike_tx, ike_rx) = tokio_mpsc::channel(config.ike_queue.max(1));
        let (events_tx, events_rx) = tokio_mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            name: name.clone(),
            stop: AtomicBool::new(false),
            counters: Counters::default(),
            epoch: Instant::now(),
            events: events_tx,
        });
        let (tx_commands, tx_queue) = mpsc::channel();
        let (rx_commands, rx_queue) = mpsc::channel();
        let (tx_wake, tx_wake_end) = UnixDatagram::pair().map_err(io_err("wake-up socket"))?;
        let (rx_wake, rx_wake_end) = UnixDatagram::pair().map_err(io_err("wake-up socket"))?;
        for s in [&tx_wake, &tx_wake_end, &rx_wake, &rx_wake_end] {
            s.set_nonblocking(true).map_err(io_err("wake-up socket"))?;
        }
        let tx_worker = tx::TxWorker::new(
            shared.clone(),
            tun.try_clone().map_err(io_err("cloning the TUN fd"))?,
            socket
                .try_clone()
                .map_err(io_err("cloning the UDP socket"))?,
            tx_queue,
            tx_wake_end,
            &config,
        );
        let rx_worker = rx::RxWorker::new(
            shared.clone(),
            tun,
            socket
                .try_clone()
                .map_err(io_err("cloning the UDP socket"))?,
            rx_queue,
            rx_wake_end,
            ike_tx,
            &config,
        );
        let mut threads = Vec::with_capacity(2);
        let short: String = name.chars().take(8).collect();
        threads.push(
            std::thread::Builder::new()
                .name(format!("esp-tx-{short}"))
                .spawn(move || tx_worker.run())
                .map_err(io_err("spawning the tx thread"))?,
        );
        threads.push(
            std::thread::Builder::new()
                .name(format!("esp-rx-{short}"))
                .spawn(move || rx_worker.run())
                .map_err(io_err("spawning the rx thread"))?,
        );
        Ok((
            Dataplane {
                shared,
                tx_commands,
                rx_commands,
                tx_wake,
                rx_wake,
                registry: Mutex::new((Vec::new(), None)),
                socket,
                threads,
            },
            DataplaneChannels {
                ike: ike_rx,
                events: events_rx,
            },
        ))
    }

    fn stopped(&self) -> DataplaneError {
        DataplaneError::Stopped {
            tunnel: self.shared.name.clone(),
        }
    }

    fn send_tx(&self, command: TxCommand) -> Result<(), DataplaneError> {
        self.tx_commands.send(command).map_err(|_| self.stopped())?;
        let _ = self.tx_wake.send(&[1]);
        Ok(())
    }

    fn send_rx(&self, command: RxCommand) -> Result<(), DataplaneError> {
        self.rx_commands.send(command).map_err(|_| self.stopped())?;
        let _ = self.rx_wake.send(&[1]);
        Ok(())
    }

    /// Installs a CHILD_SA pair. The inbound SA takes packets as soon as this returns (the
    /// command is queued ahead of any packet the peer can send with the new SPI); the outbound
    /// SA becomes active at once only if no other pair is active, else on
    /// [`Dataplane::activate_outbound`].
    pub fn install(&self, pair: ChildSaPair) -> Result<(), DataplaneError> {
        let sa_err = |source| DataplaneError::Sa {
            tunnel: self.shared.name.clone(),
            source,
        };
        let inbound =
            InboundSa::new(&pair.inbound, pair.replay_window, pair.limits).map_err(sa_err)?;
        let outbound = OutboundSa::new(&pair.outbound, pair.limits).map_err(sa_err)?;
        let inbound_spi = inbound.spi();
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if registry.0.iter().any(|r| r.inbound_spi == inbound_spi) {
            return Err(DataplaneError::DuplicateSpi {
                tunnel: self.shared.name.clone(),
                spi: inbound_spi,
            });
        }
        let activate = registry.1.is_none();
        registry.0.push(Registered {
            inbound_spi,
            outbound_spi: outbound.spi(),
            cipher: pair.inbound.cipher,
            installed: Instant::now(),
            inbound: inbound.counters().clone(),
            outbound: outbound.counters().clone(),
        });
        if activate {
            registry.1 = Some(inbound_spi);
        }
        tracing::info!(tunnel = %self.shared.name, inbound_spi = format_args!("{inbound_spi:#010x}"),
            outbound_spi = format_args!("{:#010x}", outbound.spi()), cipher = %pair.inbound.cipher,
            active = activate, "ESP SA pair installed");
        self.send_rx(RxCommand::Install(Box::new(inbound)))?;
        self.send_tx(TxCommand::Install {
            inbound_spi,
            sa: Box::new(outbound),
            activate,
        })
    }

    /// Makes the pair named by `inbound_spi` carry outbound traffic (the switch-over of a rekey).
    pub fn activate_outbound(&self, inbound_spi: u32) -> Result<(), DataplaneError> {
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if !registry.0.iter().any(|r| r.inbound_spi == inbound_spi) {
            return Err(DataplaneError::NoSuchSa {
                tunnel: self.shared.name.clone(),
                spi: inbound_spi,
            });
        }
        registry.1 = Some(inbound_spi);
        tracing::info!(tunnel = %self.shared.name, inbound_spi = format_args!("{inbound_spi:#010x}"),
            "outbound traffic switched to SA pair");
        self.send_tx(TxCommand::Activate { inbound_spi })
    }

    /// Removes the pair named by `inbound_spi` (after its DELETE). If it was the active outbound
    /// pair, outbound traffic is dropped (and counted) until another pair is activated.
    pub fn remove(&self, inbound_spi: u32) -> Result<(), DataplaneError> {
        let mut registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        let Some(at) = registry.0.iter().position(|r| r.inbound_spi == inbound_spi) else {
            return Err(DataplaneError::NoSuchSa {
                tunnel: self.shared.name.clone(),
                spi: inbound_spi,
            });
        };
        registry.0.remove(at);
        if registry.1 == Some(inbound_spi) {
            registry.1 = None;
        }
        tracing::info!(tunnel = %self.shared.name, inbound_spi = format_args!("{inbound_spi:#010x}"),
            "ESP SA pair removed");
        self.send_rx(RxCommand::Remove { spi: inbound_spi })?;
        self.send_tx(TxCommand::Remove { inbound_spi })
    }

    /// Sends ESP to a new peer address (the peer moved behind a NAT, RFC 7296 §2.23).
    pub fn set_peer(&self, peer: SocketAddr) -> Result<(), DataplaneError> {
        self.send_tx(TxCommand::SetPeer(peer))
    }

    /// A clone of the UDP socket, for the IKE side to send its messages on port 4500 (each
    /// prefixed with [`crate::esp::udp_encap::NON_ESP_MARKER`]). It is non-blocking.
    pub fn ike_socket(&self) -> Result<UdpSocket, DataplaneError> {
        self.socket
            .try_clone()
            .map_err(|source| DataplaneError::Io {
                tunnel: self.shared.name.clone(),
                what: "cloning the UDP socket",
                source,
            })
    }

    /// The tunnel's counters (all SAs, plus drops that belong to no SA).
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// Every installed pair with its counters, oldest first.
    pub fn sas(&self) -> Vec<SaStatus> {
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        registry
            .0
            .iter()
            .map(|r| SaStatus {
                inbound_spi: r.inbound_spi,
                outbound_spi: r.outbound_spi,
                cipher: r.cipher,
                outbound_active: registry.1 == Some(r.inbound_spi),
                installed: r.installed,
                inbound: r.inbound.snapshot(),
                outbound: r.outbound.snapshot(),
            })
            .collect()
    }

    fn instant(&self, ns: u64) -> Option<Instant> {
        (ns != 0).then(|| self.shared.epoch + Duration::from_nanos(ns - 1))
    }

    /// When a packet last authenticated on any SA of this tunnel (for DPD, RFC 7296 §2.4: no
    /// liveness check is needed while protected traffic arrives).
    pub fn last_inbound(&self) -> Option<Instant> {
        self.instant(self.shared.counters.last_inbound_ns())
    }

    /// When a packet last authenticated on the pair named by `inbound_spi`.
    pub fn sa_last_inbound(&self, inbound_spi: u32) -> Option<Instant> {
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        let r = registry.0.iter().find(|r| r.inbound_spi == inbound_spi)?;
        self.instant(r.inbound.last_inbound_ns())
    }

    /// Whether both threads are still running.
    pub fn is_running(&self) -> bool {
        self.threads.iter().all(|t| !t.is_finished())
    }
}

impl Drop for Dataplane {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = self.tx_wake.send(&[0]);
        let _ = self.rx_wake.send(&[0]);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
