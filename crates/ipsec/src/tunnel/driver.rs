//! The tokio driver of one tunnel: it owns the IKE session (sans-IO core), the UDP socket on
//! port 500, and either the ESP data plane (which owns port 4500 and hands IKE messages over) or,
//! for control-plane-only use, a plain socket on 4500. It turns session actions into sends and
//! data-plane calls, timers into sleeps, and events into [`TunnelEvent`]s.
//!
//! ```text
//!                 commands (show, rekey, initiate, close)        events (broadcast)
//!   TunnelHandle ─────────────────────────┐          ┌──────────────────────► subscribers
//!                                          v          │
//!   UDP 500 ───recv──►  ┌─────────── tunnel task ────┴──────┐
//!                       │  select! { socket 500, IKE-on-4500 │── Send ──► UDP 500 / 4500
//!   data plane ──IKE───►│  channel, data-plane events, timer │            (non-ESP marker)
//!   (port 4500) ─events►│  = session.poll_timeout(), cmds }  │── install/activate/remove ─► Dataplane
//!                       │  session.handle(now, input)        │
//!                       └────────────────────────────────────┘
//! ```
//!
//! One task per tunnel; the session never sees a socket or a clock: the task reads tokio's clock
//! (so `tokio::time::pause` works in tests) and passes it in. Before a timer fires the task tells
//! the session when protected traffic last arrived (RFC 7296 §2.4: no liveness check while ESP
//! flows).
//!
//! What it does not do: create namespaces, TUN devices or addresses (the gateway does, through
//! `netns`), or serve the control socket (the daemon does, with [`TunnelHandle::show`] and
//! [`TunnelHandle::subscribe`]).

use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::time::Duration;

use rand::SeedableRng;
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{Instrument, debug, error, info, warn};
use zeroize::Zeroizing;

use super::config::{ConfigError, TunnelConfig};
use super::event::{TunnelEvent, describe};
use super::show::{ChildShow, Counters, IkeShow, TunnelShow};
use crate::dataplane::{ChildSaPair, Dataplane, DataplaneChannels, DataplaneEvent};
use crate::esp::SaKeys;
use crate::esp::SaLimits;
use crate::esp::udp_encap::{Datagram, NON_ESP_MARKER, classify};
use crate::ike::session::{Action, IkeSession, Input, NewChildSa, State, Transport};

/// Driver errors. Never contain key material.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// The configuration was refused.
    #[error("tunnel configuration: {0}")]
    Config(#[from] ConfigError),
    /// A socket could not be set up.
    #[error("tunnel {tunnel}: {what}: {source}")]
    Io {
        /// The tunnel.
        tunnel: String,
        /// The operation.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The tunnel task is gone.
    #[error("tunnel {0} is not running")]
    Stopped(String),
}

/// How ESP (and IKE on port 4500) reaches the tunnel.
#[derive(Debug)]
pub enum EspIo {
    /// The ESP data plane, which owns the 4500 socket and passes IKE messages on.
    Dataplane(Dataplane, DataplaneChannels),
    /// No ESP: a plain socket on 4500 for IKE only (control-plane tests, set-up timing).
    IkeOnly(StdUdpSocket),
}

/// The sockets and data plane of one tunnel.
#[derive(Debug)]
pub struct TunnelIo {
    /// UDP socket bound to our outside address, port 500.
    pub ike: StdUdpSocket,
    /// Port 4500.
    pub esp: EspIo,
}

/// Binds non-blocking UDP sockets on `address` ports 500 and 4500 (call it inside the tunnel's
/// namespace; sockets stay in the namespace they were created in).
pub fn bind_ike_sockets(address: IpAddr) -> std::io::Result<(StdUdpSocket, StdUdpSocket)> {
    let a = StdUdpSocket::bind(SocketAddr::new(address, 500))?;
    let b = StdUdpSocket::bind(SocketAddr::new(address, 4500))?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}

enum Command {
    Show(oneshot::Sender<TunnelShow>),
    Reconfigure(Box<TunnelConfig>, oneshot::Sender<Result<(), ConfigError>>),
    Input(Box<dyn FnOnce() -> Input<'static> + Send>),
    Close(oneshot::Sender<()>),
}

/// Controls a running tunnel task. Dropping it stops the task without a DELETE (a crash, as far
/// as the peer can tell); [`TunnelHandle::close`] deletes the SAs first.
#[derive(Debug)]
pub struct TunnelHandle {
    name: String,
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<TunnelEvent>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Show(_) => "Show",
            Command::Input(_) => "Input",
            Command::Reconfigure(..) => "Reconfigure",
            Command::Close(_) => "Close",
        })
    }
}

impl TunnelHandle {
    /// The tunnel's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<TunnelEvent> {
        self.events.subscribe()
    }

    /// The tunnel's state for `show`.
    pub async fn show(&self) -> Result<TunnelShow, TunnelError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Show(tx))
            .await
            .map_err(|_| TunnelError::Stopped(self.name.clone()))?;
        rx.await
            .map_err(|_| TunnelError::Stopped(self.name.clone()))
    }

    async fn input(&self, f: fn() -> Input<'static>) -> Result<(), TunnelError> {
        self.commands
            .send(Command::Input(Box::new(f)))
            .await
            .map_err(|_| TunnelError::Stopped(self.name.clone()))
    }

    /// Rekeys the CHILD_SA now.
    pub async fn rekey_child(&self) -> Result<(), TunnelError> {
        self.input(|| Input::RekeyChild).await
    }

    /// Rekeys the IKE SA now.
    pub async fn rekey_ike(&self) -> Result<(), TunnelError> {
        self.input(|| Input::RekeyIke).await
    }

    /// Deletes the IKE SA and starts over (see [`Input::Reset`]): AWS's endpoint replacement.
    pub async fn reset(&self) -> Result<(), TunnelError> {
        self.input(|| Input::Reset).await
    }

    /// Restarts the tunnel with new options (suites, lifetimes, DPD, startup action, replay
    /// window): the IKE SA in place is deleted and a new one is set up under `config`. The
    /// endpoints, identities and key must stay those of the running tunnel (its sockets are
    /// bound): a different one is refused.
    pub async fn reconfigure(&self, config: TunnelConfig) -> Result<(), TunnelError> {
        config.validate()?;
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Reconfigure(Box::new(config), tx))
            .await
            .map_err(|_| TunnelError::Stopped(self.name.clone()))?;
        rx.await
            .map_err(|_| TunnelError::Stopped(self.name.clone()))?
            .map_err(TunnelError::Config)
    }

    /// Initiates an IKE SA now (if none exists).
    pub async fn initiate(&self) -> Result<(), TunnelError> {
        self.input(|| Input::Initiate).await
    }

    /// Deletes the SAs (INFORMATIONAL DELETE), waits for the answer or a short timeout, and stops.
    pub async fn close(mut self) -> Result<(), TunnelError> {
        let (tx, rx) = oneshot::channel();
        let sent = self.commands.send(Command::Close(tx)).await;
        if sent.is_ok() {
            let _ = rx.await;
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        Ok(())
    }
}

impl Drop for TunnelHandle {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// How long `close` waits for the peer to answer the DELETE.
const CLOSE_WAIT: Duration = Duration::from_secs(3);
/// NAT keepalive interval (RFC 3948 §4: 20 s unless configured; strongSwan's `keep_alive`
/// default is the same).
const NAT_KEEPALIVE: Duration = Duration::from_secs(20);
/// A NAT keepalive: one octet 0xFF on UDP 4500 (RFC 3948 §2.3).
const NAT_KEEPALIVE_PACKET: [u8; 1] = [0xFF];

/// Where ESP goes for an IKE peer at `remote`: its NAT-T port, 4500 unless a NAT moved it.
fn esp_peer_of(remote: SocketAddr) -> SocketAddr {
    SocketAddr::new(
        remote.ip(),
        if remote.port() == 500 {
            4500
        } else {
            remote.port()
        },
    )
}

/// Starts a tunnel task on the current tokio runtime.
pub fn spawn(config: TunnelConfig, io: TunnelIo) -> Result<TunnelHandle, TunnelError> {
    config.validate()?;
    let name = config.name.clone();
    let io_err = |what, source| TunnelError::Io {
        tunnel: name.clone(),
        what,
        source,
    };
    io.ike
        .set_nonblocking(true)
        .map_err(|e| io_err("setting the IKE socket non-blocking", e))?;
    let ike = UdpSocket::from_std(io.ike).map_err(|e| io_err("registering the IKE socket", e))?;
    let (natt, dataplane) = match io.esp {
        EspIo::Dataplane(dp, channels) => {
            let s = dp.ike_socket().map_err(|e| {
                io_err(
                    "cloning the ESP socket",
                    std::io::Error::other(e.to_string()),
                )
            })?;
            let s = UdpSocket::from_std(s).map_err(|e| io_err("registering the ESP socket", e))?;
            (s, Some((dp, channels)))
        }
        EspIo::IkeOnly(s) => {
            s.set_nonblocking(true)
                .map_err(|e| io_err("setting the 4500 socket non-blocking", e))?;
            let s = UdpSocket::from_std(s).map_err(|e| io_err("registering the 4500 socket", e))?;
            (s, None)
        }
    };
    let now = tokio::time::Instant::now().into_std();
    let rng = rand::rngs::StdRng::from_os_rng();
    let (local, remote) = (config.local().ip(), config.remote().ip());
    let session = IkeSession::new(config.ike, Box::new(rng), now);
    let (cmd_tx, cmd_rx) = mpsc::channel(16);
    let (ev_tx, _) = broadcast::channel(1024);
    let span = tracing::info_span!("tunnel", name = %config.name, peer = %remote);
    let task = Task {
        name: config.name.clone(),
        local,
        replay_window: config.replay_window,
        session,
        ike,
        natt,
        dp_ike: None,
        dp_events: None,
        dataplane: None,
        events: ev_tx.clone(),
        peer_for_esp: None,
        peer_ip: remote,
        keepalive_at: None,
        ike_remote_seen: None,
    };
    let mut task = task;
    if let Some((dp, channels)) = dataplane {
        task.dataplane = Some(dp);
        task.dp_ike = Some(channels.ike);
        task.dp_events = Some(channels.events);
    }
    let handle = tokio::spawn(task.run(cmd_rx).instrument(span));
    Ok(TunnelHandle {
        name: config.name,
        commands: cmd_tx,
        events: ev_tx,
        task: Some(handle),
    })
}

struct Task {
    name: String,
    local: IpAddr,
    replay_window: u32,
    session: IkeSession,
    ike: UdpSocket,
    natt: UdpSocket,
    dataplane: Option<Dataplane>,
    dp_ike: Option<mpsc::Receiver<crate::dataplane::IkeDatagram>>,
    dp_events: Option<mpsc::UnboundedReceiver<DataplaneEvent>>,
    events: broadcast::Sender<TunnelEvent>,
    peer_for_esp: Option<SocketAddr>,
    /// The peer's configured address: IKE from any other address is dropped. Its port may be
    /// anything a NAT made of 500 or 4500 (RFC 7296 §2.23), so the sockets are not connected.
    peer_ip: IpAddr,
    /// When the next NAT keepalive is due (only while we are behind a NAT).
    keepalive_at: Option<tokio::time::Instant>,
    /// The IKE peer address last followed (ESP moves when it changes).
    ike_remote_seen: Option<SocketAddr>,
}

fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

impl Task {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut buf_500 = vec![0u8; 65536];
        let mut buf_4500 = vec![0u8; 65536];
        let mut closing: Option<(tokio::time::Instant, oneshot::Sender<()>)> = None;
        info!("tunnel started");
        loop {
            let deadline = self
                .session
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            let close_deadline = closing.as_ref().map(|(t, _)| *t);
            let has_dp = self.dataplane.is_some();
            tokio::select! {
                r = self.ike.recv_from(&mut buf_500) => match r {
                    Ok((n, from)) if self.is_peer(from) => {
                        let data = buf_500[..n].to_vec();
                        self.input(Input::Datagram { data: &data, from, transport: Transport::Ike });
                    }
                    Ok(_) => {}
                    Err(e) => debug!("receiving on port 500: {e}"),
                },
                r = self.natt.recv_from(&mut buf_4500), if !has_dp => match r {
                    Ok((n, from)) if self.is_peer(from) => {
                        if let Datagram::Ike(m) = classify(&buf_4500[..n]) {
                            let data = m.to_vec();
                            self.input(Input::Datagram { data: &data, from, transport: Transport::NatT });
                        }
                    }
                    Ok(_) => {}
                    Err(e) => debug!("receiving on port 4500: {e}"),
                },
                m = recv_opt(&mut self.dp_ike) => {
                    if let Some(m) = m && self.is_peer(m.from) {
                        self.input(Input::Datagram { data: &m.message, from: m.from, transport: Transport::NatT });
                    }
                },
                _ = sleep_until(self.keepalive_at) => self.send_nat_keepalive(),
                e = recv_unbounded(&mut self.dp_events) => {
                    if let Some(e) = e {
                        self.on_dataplane_event(e);
                    }
                },
                _ = sleep_until(deadline) => {
                    if let Some(last) = self.dataplane.as_ref().and_then(|dp| dp.last_inbound()) {
                        self.input(Input::EspInbound(last));
                    }
                    self.input(Input::Timeout);
                },
                _ = sleep_until(close_deadline) => {
                    warn!("peer did not answer our DELETE in time; stopping anyway");
                    break;
                },
                c = commands.recv() => match c {
                    Some(Command::Show(reply)) => {
                        let _ = reply.send(self.show());
                    }
                    Some(Command::Input(f)) => self.input(f()),
                    Some(Command::Reconfigure(config, reply)) => {
                        let _ = reply.send(self.reconfigure(*config));
                    }
                    Some(Command::Close(reply)) => {
                        info!("closing tunnel");
                        self.input(Input::Close);
                        closing = Some((tokio::time::Instant::now() + CLOSE_WAIT, reply));
                    }
                    None => break,
                },
            }
            if closing.is_some() && matches!(self.session.state(), State::Closed | State::Idle) {
                break;
            }
        }
        if let Some((_, reply)) = closing {
            let _ = reply.send(());
        }
        info!("tunnel stopped");
    }

    fn reconfigure(&mut self, config: TunnelConfig) -> Result<(), ConfigError> {
        let running = self.session.config();
        if config.ike.local != running.local
            || config.ike.remote != running.remote
            || config.ike.local_id != running.local_id
            || config.ike.remote_id != running.remote_id
        {
            return Err(ConfigError::Invalid {
                field: "ike",
                reason: "a running tunnel keeps its endpoints and identities".into(),
            });
        }
        info!("restarting with new options");
        self.replay_window = config.replay_window;
        let actions = self.session.reconfigure(now(), config.ike);
        for a in actions {
            self.apply(a);
        }
        self.follow_peer();
        self.schedule_nat_keepalive();
        Ok(())
    }

    fn input(&mut self, input: Input<'_>) {
        let actions = self.session.handle(now(), input);
        for a in actions {
            self.apply(a);
        }
        self.follow_peer();
        self.schedule_nat_keepalive();
    }

    /// Whether a datagram from `from` is the peer's (any port: a NAT may have changed it).
    fn is_peer(&self, from: SocketAddr) -> bool {
        let ok = from.ip() == self.peer_ip;
        if !ok {
            debug!(%from, "dropping an IKE message from an address that is not the peer's");
        }
        ok
    }

    /// ESP follows the peer when its authenticated IKE messages come from a new address or
    /// port (its NAT restarted: RFC 7296 §2.23; the session already answers it there).
    fn follow_peer(&mut self) {
        let remote = self.session.remote();
        if self.ike_remote_seen == Some(remote) {
            return;
        }
        self.ike_remote_seen = Some(remote);
        let (Some(dp), Some(current)) = (&self.dataplane, self.peer_for_esp) else {
            return;
        };
        let moved = esp_peer_of(remote);
        if moved != current {
            info!(from = %current, to = %moved, "peer moved: ESP follows");
            if let Err(e) = dp.set_peer(moved) {
                error!("setting the ESP peer: {e}");
            }
            self.peer_for_esp = Some(moved);
        }
    }

    /// Keeps a NAT keepalive due every [`NAT_KEEPALIVE`] while we are behind a NAT.
    fn schedule_nat_keepalive(&mut self) {
        match (self.session.local_behind_nat(), self.keepalive_at) {
            (true, None) => {
                self.keepalive_at = Some(tokio::time::Instant::now() + NAT_KEEPALIVE);
            }
            (false, Some(_)) => self.keepalive_at = None,
            _ => {}
        }
    }

    /// Sends one NAT keepalive to the peer's NAT-T port (RFC 3948 §2.3) and schedules the next.
    fn send_nat_keepalive(&mut self) {
        let to = esp_peer_of(self.session.remote());
        if let Err(e) = self.natt.try_send_to(&NAT_KEEPALIVE_PACKET, to) {
            debug!(%to, "sending a NAT keepalive failed: {e}");
        }
        self.keepalive_at = None;
        self.schedule_nat_keepalive();
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Send {
                datagram,
                to,
                transport,
            } => {
                let r = match transport {
                    Transport::Ike => self.ike.try_send_to(&datagram, to),
                    Transport::NatT => {
                        let mut framed = Vec::with_capacity(datagram.len() + 4);
                        framed.extend_from_slice(&NON_ESP_MARKER);
                        framed.extend_from_slice(&datagram);
                        self.natt.try_send_to(&framed, to)
                    }
                };
                if let Err(e) = r {
                    warn!(%to, "sending IKE message failed: {e}");
                }
            }
            Action::InstallChild {
                sa,
                activate_outbound,
            } => self.install(sa, activate_outbound),
            Action::SwitchOutbound { inbound_spi } => {
                if let Some(dp) = &self.dataplane
                    && let Err(e) = dp.activate_outbound(inbound_spi)
                {
                    error!("switching outbound SA: {e}");
                }
            }
            Action::RemoveChild { inbound_spi, .. } => {
                if let Some(dp) = &self.dataplane
                    && let Err(e) = dp.remove(inbound_spi)
                {
                    debug!("removing SA: {e}");
                }
            }
            Action::Event(e) => {
                let (kind, data) = describe(&e);
                let _ = self.events.send(TunnelEvent {
                    t_ns: netns::clock::monotonic_ns(),
                    tunnel: self.name.clone(),
                    kind,
                    data,
                });
            }
        }
    }

    fn install(&mut self, sa: NewChildSa, activate: bool) {
        let Some(dp) = &self.dataplane else { return };
        // ESP goes where the peer's IKE messages come from on port 4500 (NAT-T); once set, it
        // follows the peer's moves (`follow_peer`, `DataplaneEvent::PeerMoved`), not rekeys.
        let esp_peer = esp_peer_of(self.session.remote());
        if self.peer_for_esp.is_none() {
            if let Err(e) = dp.set_peer(esp_peer) {
                error!("setting the ESP peer: {e}");
            }
            self.peer_for_esp = Some(esp_peer);
        }
        let inbound_spi = sa.inbound.spi;
        let pair = ChildSaPair {
            inbound: SaKeys {
                spi: sa.inbound.spi,
                cipher: sa.inbound.cipher,
                keymat: Zeroizing::new(sa.inbound.keymat.expose().to_vec()),
            },
            outbound: SaKeys {
                spi: sa.outbound.spi,
                cipher: sa.outbound.cipher,
                keymat: Zeroizing::new(sa.outbound.keymat.expose().to_vec()),
            },
            replay_window: self.replay_window,
            limits: SaLimits::default(),
        };
        if let Err(e) = dp.install(pair) {
            error!("installing SA pair: {e}");
            return;
        }
        if activate && let Err(e) = dp.activate_outbound(inbound_spi) {
            error!("activating SA pair: {e}");
        }
    }

    fn on_dataplane_event(&mut self, e: DataplaneEvent) {
        match e {
            DataplaneEvent::SoftLimit { inbound_spi, .. } => {
                self.input(Input::ChildSoftLimit { spi: inbound_spi })
            }
            DataplaneEvent::HardLimit {
                inbound_spi,
                direction,
            } => {
                warn!(
                    spi = format_args!("{inbound_spi:#010x}"),
                    ?direction,
                    "SA reached a hard limit"
                );
                self.input(Input::ChildSoftLimit { spi: inbound_spi });
            }
            DataplaneEvent::PeerMoved { to } => {
                // Behind a NAT that restarted, the peer's ESP comes from a new port before its
                // next IKE message does: answer there at once (as strongSwan does on the
                // kernel's mapping report). The IKE side follows its next authenticated message.
                if let Some(dp) = &self.dataplane
                    && self.peer_for_esp.is_some_and(|p| p != to)
                {
                    info!(%to, "authenticated ESP from a new address: ESP follows");
                    if let Err(e) = dp.set_peer(to) {
                        error!("setting the ESP peer: {e}");
                    }
                    self.peer_for_esp = Some(to);
                }
            }
            DataplaneEvent::Failed { reason } => {
                error!("data plane failed: {reason}");
                let _ = self.events.send(TunnelEvent {
                    t_ns: netns::clock::monotonic_ns(),
                    tunnel: self.name.clone(),
                    kind: "ipsec.dataplane",
                    data: serde_json::json!({ "failed": reason }),
                });
            }
        }
    }

    fn show(&self) -> TunnelShow {
        let s = self.session.show(now());
        let sas = self
            .dataplane
            .as_ref()
            .map(|dp| dp.sas())
            .unwrap_or_default();
        let counters_of = |c: &crate::esp::CountersSnapshot| Counters {
            packets_in: c.packets_in,
            bytes_in: c.bytes_in,
            packets_out: c.packets_out,
            bytes_out: c.bytes_out,
            replay_drops: c.replay_drops,
            integrity_failures: c.integrity_failures,
            misaddressed: c.misaddressed,
            unknown_spi: c.unknown_spi,
            no_outbound_sa: c.no_outbound_sa,
            send_errors: c.send_errors,
            malformed: c.malformed,
        };
        TunnelShow {
            name: self.name.clone(),
            state: s.state.to_string(),
            local: self.local.to_string(),
            remote: s.remote,
            nat_t: s.nat_t,
            esp_peer: self.peer_for_esp.map(|p| p.to_string()),
            behind_nat: self.session.local_behind_nat(),
            ike_sa: s.ike_sa.map(|i| IkeShow {
                spi_i: i.spi_i,
                spi_r: i.spi_r,
                suite: i.suite,
                initiator: i.initiator,
                established_secs: i.established_secs,
                rekey_in_secs: i.rekey_in_secs,
                peer_id: i.peer_id,
            }),
            child_sas: s
                .child_sas
                .into_iter()
                .map(|c| {
                    let dp = sas.iter().find(|x| x.inbound_spi == c.inbound_spi);
                    ChildShow {
                        inbound_spi: format!("{:08x}", c.inbound_spi),
                        outbound_spi: format!("{:08x}", c.outbound_spi),
                        suite: c.suite,
                        established_secs: c.established_secs,
                        rekey_in_secs: c.rekey_in_secs,
                        active: c.active,
                        local_ts: c.local_ts,
                        remote_ts: c.remote_ts,
                        counters: dp.map(|d| {
                            let mut k = counters_of(&d.inbound);
                            k.packets_out = d.outbound.packets_out;
                            k.bytes_out = d.outbound.bytes_out;
                            k
                        }),
                    }
                })
                .collect(),
            established_count: s.established_count,
            ike_rekeys: s.ike_rekeys,
            child_rekeys: s.child_rekeys,
            last_failure: s.last_failure,
            counters: self
                .dataplane
                .as_ref()
                .map(|dp| counters_of(&dp.counters())),
        }
    }
}

async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_unbounded<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
