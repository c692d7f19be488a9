//! One VPN tunnel as a gateway runs it: a TUN device carrying the inside /30, the ESP data
//! plane and IKEv2 session of `ipsec::tunnel` on the outside address, and a liveness flag the
//! gateway's route logic reads.
//!
//! ```text
//!   kernel routes --> TUN <ifname> (inside a.b.c.1/30, mtu 1436 or less, see tunnel_mtu)
//!                         |  ESP data plane threads (seal/open)
//!                         v
//!   UDP <outside>:500 / :4500  <--IKEv2/ESP-in-UDP-->  peer <remote outside>
//! ```
//!
//! Sockets are bound with SO_REUSEPORT and connected to the peer, so several tunnels of one
//! customer gateway share its single outside address (as a real customer gateway's tunnels do)
//! and the kernel hands each tunnel only its peer's datagrams.
//!
//! The tunnel counts as up while an IKE SA and at least one CHILD_SA exist (AWS's "UP" status);
//! DPD with action `clear` takes it down, which is what withdraws its routes \[V1\].
//!
//! What it does not do: BGP (the gateway runs one speaker for all tunnels), routes, or choose
//! any IPsec value (the gateway package hands in a complete `ipsec::tunnel::TunnelConfig`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ipnet::{IpNet, Ipv4Net};
use ipsec::dataplane::{Dataplane, DataplaneConfig, tun_options};
use ipsec::esp::wire::Layout;
use ipsec::ike::suite::EspSuite;
use ipsec::tunnel::{EspIo, TunnelConfig, TunnelEvent, TunnelHandle, TunnelIo, TunnelShow};
use netns::{LinkId, Netlink, Netns};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::Notify;
use tracing::{info, warn};

/// Inner MTU of a tunnel: 1500 minus outer IPv4 (20), UDP (8), ESP header (8), IV (8), ICV (16),
/// pad length and next header (2), rounded down to ESP's 4-octet alignment. AWS quotes 1446 for
/// AES-GCM without UDP encapsulation \[V6\]; ours always encapsulates, hence 8 less.
pub const TUNNEL_MTU: u32 = 1436;

/// Octets an ESP packet may take on a 1500-octet underlay: minus outer IPv4 (20) and UDP (8).
const ESP_ROOM: usize = 1500 - 20 - 8;

/// The TUN MTU for a tunnel that may negotiate any of `esp_suites`: [`TUNNEL_MTU`] with AES-GCM
/// only, less when an AES-CBC + HMAC suite could be chosen (16-octet IV, padding to 16 octets,
/// up to 32 octets of ICV: 1422 with HMAC-SHA1/-SHA2-256/-384, 1406 with -512), so that no
/// suite the peer may pick makes full-size packets fragment on the underlay. The TUN exists
/// before the suite is negotiated, hence the worst case of the configured ones. (inferred) AWS
/// quotes a lower MTU for non-GCM ciphers without a figure \[V6\].
pub fn tunnel_mtu(esp_suites: &[EspSuite]) -> u32 {
    esp_suites
        .iter()
        .map(|s| Layout::for_cipher(s.cipher).max_payload(ESP_ROOM) as u32)
        .fold(TUNNEL_MTU, u32::min)
}

/// Everything needed to start one tunnel.
#[derive(Debug, Clone)]
pub struct TunnelSpec {
    /// TUN interface name (at most 15 characters).
    pub ifname: String,
    /// The inside /30.
    pub inside_cidr: Ipv4Net,
    /// Our inside address.
    pub local_inside: Ipv4Addr,
    /// The peer's inside address (BGP neighbor, route next hop).
    pub remote_inside: Ipv4Addr,
    /// The IPsec tunnel: name, outside addresses, key, suites, timers (the gateway package
    /// fills it in from its own options and timing profile).
    pub ipsec: TunnelConfig,
}

impl TunnelSpec {
    /// Name for logs, events and `show` (`vpn1-t1`).
    pub fn name(&self) -> &str {
        &self.ipsec.name
    }

    /// Our outside address.
    pub fn local_outside(&self) -> IpAddr {
        self.ipsec.local().ip()
    }

    /// The peer's outside address.
    pub fn remote_outside(&self) -> IpAddr {
        self.ipsec.remote().ip()
    }
}

/// Why a tunnel could not start.
#[derive(Debug, thiserror::Error)]
pub enum TunnelStartError {
    /// Creating or configuring the TUN device.
    #[error("tunnel {tunnel}: {what}: {source}")]
    Netns {
        /// Tunnel name.
        tunnel: String,
        /// Operation.
        what: &'static str,
        /// Cause.
        source: netns::Error,
    },
    /// Binding the IKE/ESP sockets.
    #[error("tunnel {tunnel}: binding {addr}: {source}")]
    Bind {
        /// Tunnel name.
        tunnel: String,
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The data plane or the IKE task.
    #[error("tunnel {tunnel}: {message}")]
    Ipsec {
        /// Tunnel name.
        tunnel: String,
        /// Cause.
        message: String,
    },
}

/// A running tunnel.
#[derive(Debug)]
pub struct Tunnel {
    spec: TunnelSpec,
    handle: Option<Arc<TunnelHandle>>,
    up: Arc<AtomicBool>,
    /// When `up` last changed, milliseconds since the Unix epoch (0: never).
    changed_unix_ms: Arc<AtomicU64>,
    watcher: tokio::task::JoinHandle<()>,
}

/// UDP socket on `local`, SO_REUSEPORT, non-blocking; connected to `remote` when given.
///
/// A tunnel endpoint with an address of its own (`Endpoints::OnePerTunnel`, the VGW) is not
/// connected: a peer behind a NAT reaches it from whatever port the NAT chose (RFC 7296
/// §2.23, RFC 3948), so the IKE side accepts its peer's address on any port and ESP follows
/// where authenticated IKE comes from (`ipsec::tunnel`). Endpoints sharing one address
/// (`Endpoints::OneHost`, a customer gateway with two tunnels) are connected to their peers'
/// fixed ports 500/4500, so the kernel hands each tunnel its own peer's datagrams.
fn bind_udp(local: SocketAddr, remote: Option<SocketAddr>) -> std::io::Result<UdpSocket> {
    let s = Socket::new(Domain::for_address(local), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&local.into())?;
    if let Some(remote) = remote {
        s.connect(&remote.into())?;
    }
    Ok(s.into())
}

impl Tunnel {
    /// Creates the TUN device in the current namespace, brings it up with the inside address,
    /// and starts the data plane and the IKE session. Decrypted packets addressed to one of
    /// `refused_destinations` are dropped and counted (`crate::bundle::Endpoints`);
    /// `connect_to_peer` connects the UDP sockets to the peer's 500/4500 (see [`bind_udp`]).
    /// `on_event` sees every tunnel event; `changed` is notified when the tunnel goes up or
    /// down.
    pub async fn start(
        spec: TunnelSpec,
        refused_destinations: Vec<IpAddr>,
        connect_to_peer: bool,
        netlink: &Netlink,
        on_event: impl Fn(&TunnelEvent) + Send + 'static,
        changed: Arc<Notify>,
    ) -> Result<Tunnel, TunnelStartError> {
        let name = spec.name().to_string();
        let nerr = |what| {
            let tunnel = name.clone();
            move |source| TunnelStartError::Netns {
                tunnel,
                what,
                source,
            }
        };
        let here = Netns::current().map_err(nerr("opening the current namespace"))?;
        let tun = netns::create_tun(&here, &tun_options(&spec.ifname, true))
            .map_err(nerr("creating the TUN device"))?;
        let link = LinkId::Name(&spec.ifname);
        let inside = IpNet::new(IpAddr::V4(spec.local_inside), 30).expect("a /30");
        netlink
            .add_address(link, inside)
            .await
            .map_err(nerr("adding the inside address"))?;
        netlink
            .set_mtu(link, tunnel_mtu(&spec.ipsec.ike.esp_suites))
            .await
            .map_err(nerr("setting the MTU"))?;
        netlink
            .set_link_up(link, true)
            .await
            .map_err(nerr("bringing the TUN device up"))?;

        let bind = |port| {
            let local = SocketAddr::new(spec.local_outside(), port);
            let remote = connect_to_peer.then(|| SocketAddr::new(spec.remote_outside(), port));
            bind_udp(local, remote).map_err(|source| TunnelStartError::Bind {
                tunnel: name.clone(),
                addr: local,
                source,
            })
        };
        let (ike, natt) = (bind(500)?, bind(4500)?);
        let ipsec_err = |e: &dyn std::fmt::Display| TunnelStartError::Ipsec {
            tunnel: name.clone(),
            message: e.to_string(),
        };
        let mut dataplane_config =
            DataplaneConfig::new(spec.name(), SocketAddr::new(spec.remote_outside(), 4500));
        dataplane_config.refused_destinations = refused_destinations;
        let (dataplane, channels) =
            Dataplane::start(tun, natt, dataplane_config).map_err(|e| ipsec_err(&e))?;
        let handle = ipsec::tunnel::spawn(
            spec.ipsec.clone(),
            TunnelIo {
                ike,
                esp: EspIo::Dataplane(dataplane, channels),
            },
        )
        .map_err(|e| ipsec_err(&e))?;

        let handle = Arc::new(handle);
        let up = Arc::new(AtomicBool::new(false));
        let changed_unix_ms = Arc::new(AtomicU64::new(0));
        let mut events = handle.subscribe();
        let (flag, tunnel_name, probe) = (up.clone(), spec.name().to_string(), handle.clone());
        let changed_at = changed_unix_ms.clone();
        let watcher = tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        warn!(tunnel = %tunnel_name, missed = n, "tunnel events lagged");
                        continue;
                    }
                    Err(_) => break,
                };
                on_event(&event);
                // Rekeys delete old SAs while new ones carry on, so the state is read back
                // rather than inferred from one event.
                let Ok(show) = probe.show().await else { break };
                let now_up = show.ike_sa.is_some() && !show.child_sas.is_empty();
                if flag.swap(now_up, Ordering::SeqCst) != now_up {
                    changed_at.store(unix_ms(std::time::SystemTime::now()), Ordering::SeqCst);
                    info!(tunnel = %tunnel_name, up = now_up, "tunnel state changed");
                    changed.notify_one();
                }
            }
        });
        Ok(Tunnel {
            spec,
            handle: Some(handle),
            up,
            changed_unix_ms,
            watcher,
        })
    }

    /// The tunnel's configuration.
    pub fn spec(&self) -> &TunnelSpec {
        &self.spec
    }

    /// An IKE SA and a CHILD_SA are established.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    /// When the tunnel last went up or down (milliseconds since the Unix epoch), if it has.
    pub fn status_changed_unix_ms(&self) -> Option<u64> {
        Some(self.changed_unix_ms.load(Ordering::SeqCst)).filter(|&t| t != 0)
    }

    /// IPsec state for `show`.
    pub async fn show(&self) -> Option<TunnelShow> {
        self.handle.as_ref()?.show().await.ok()
    }

    /// Rekeys the CHILD_SA now.
    pub async fn rekey(&self) -> Result<(), String> {
        match &self.handle {
            Some(h) => h.rekey_child().await.map_err(|e| e.to_string()),
            None => Err("tunnel stopped".into()),
        }
    }

    /// Deletes the IKE SA (the peer sees INFORMATIONAL DELETE) and starts over, the TUN device
    /// and data plane staying: AWS's tunnel endpoint replacement.
    pub async fn reset(&self) -> Result<(), String> {
        match &self.handle {
            Some(h) => h.reset().await.map_err(|e| e.to_string()),
            None => Err("tunnel stopped".into()),
        }
    }

    /// Restarts the tunnel with new IPsec options (`ipsec::tunnel::TunnelHandle::reconfigure`):
    /// the IKE SA in place is deleted, the next one uses `config`. Endpoints and identities
    /// must stay the same.
    pub async fn reconfigure(&self, config: ipsec::tunnel::TunnelConfig) -> Result<(), String> {
        match &self.handle {
            Some(h) => h.reconfigure(config).await.map_err(|e| e.to_string()),
            None => Err("tunnel stopped".into()),
        }
    }

    /// Deletes the SAs (the peer sees INFORMATIONAL DELETE) and stops.
    pub async fn close(mut self) {
        self.watcher.abort();
        let _ = (&mut self.watcher).await;
        if let Some(h) = self.handle.take()
            && let Ok(h) = Arc::try_unwrap(h)
        {
            let _ = h.close().await;
        }
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipsec::crypto::aead::AeadAlgorithm;
    use ipsec::crypto::cbc::CbcAlgorithm;
    use ipsec::crypto::cipher::Cipher;
    use ipsec::crypto::integ::IntegAlgorithm;

    fn suite(cipher: Cipher) -> EspSuite {
        EspSuite { cipher, pfs: None }
    }

    #[test]
    fn mtu_fits_the_worst_suite_the_peer_may_pick() {
        let gcm = suite(Cipher::Aead(AeadAlgorithm::AesGcm16Key256));
        let sha1 = suite(Cipher::CbcHmac(
            CbcAlgorithm::Aes128,
            IntegAlgorithm::HmacSha1_96,
        ));
        let sha512 = suite(Cipher::CbcHmac(
            CbcAlgorithm::Aes256,
            IntegAlgorithm::HmacSha512_256,
        ));
        assert_eq!(tunnel_mtu(&[gcm]), TUNNEL_MTU);
        assert_eq!(tunnel_mtu(&[gcm, sha1]), 1422);
        assert_eq!(tunnel_mtu(&[sha512, gcm, sha1]), 1406);
        assert_eq!(tunnel_mtu(&[]), TUNNEL_MTU);
        // With that MTU a full-size packet's ESP-in-UDP-in-IPv4 datagram is at most 1500.
        let l = Layout::for_cipher(sha512.cipher);
        assert!(20 + 8 + 1406 + l.overhead(1406) <= 1500);
    }
}

/// Milliseconds since the Unix epoch (0 for a clock before it).
pub fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
