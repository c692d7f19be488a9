//! One task per session: runs the sans-IO [`Session`] against its transmit socket, the packets
//! its listener delivers, the commands of its handles, and the core's next deadline.
//!
//! ```text
//!   listener --Delivery--> +--------------+ --send_to(peer:3784)--> network
//!   handles  --Command---> | session task | --watch<Status>-------> clients
//!   deadline (sleep) ----> | Session core | --broadcast<Event>----> clients (BGP)
//!                          +--------------+
//! ```
//!
//! Time comes from `tokio::time::Instant` (so a paused tokio clock drives it too) converted to
//! `std::time::Instant` for the core.
//!
//! What it does not do: decide state (only the core does; I/O failures are counted, they do
//! not change the state), or parse packets (the listener does).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::{debug, info};

use super::listener::Delivery;
use super::show::{Event, SessionCounters, SessionShow, Status};
use crate::session::{Input, Output, Session, Timers};

/// What a handle asks of its session task.
#[derive(Debug)]
pub(super) enum Command {
    /// New timers (a Poll Sequence).
    SetTimers(Timers, oneshot::Sender<()>),
    /// §6.8.16 disable.
    AdminDown(oneshot::Sender<()>),
    /// §6.8.16 enable.
    AdminUp(oneshot::Sender<()>),
    /// The show data.
    Show(oneshot::Sender<SessionShow>),
    /// Go AdminDown, tell the peer once more, end the task.
    Remove(oneshot::Sender<()>),
}

/// The parts of a session task.
#[derive(Debug)]
pub(super) struct SessionTask {
    pub core: Session,
    pub socket: UdpSocket,
    pub source_port: u16,
    pub local: IpAddr,
    pub peer: IpAddr,
    pub ifname: Option<String>,
    pub passive: bool,
    pub packets: mpsc::Receiver<Delivery>,
    pub commands: mpsc::Receiver<Command>,
    pub status: watch::Sender<Status>,
    pub events: broadcast::Sender<Event>,
    pub counters: SessionCounters,
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The status the core shows now.
pub(super) fn status_of(core: &Session) -> Status {
    Status {
        state: core.state(),
        remote_state: core.remote_state(),
        local_diag: core.local_diag(),
        remote_diag: core.remote_diag(),
        local_discriminator: core.local_discriminator(),
        remote_discriminator: core.remote_discriminator(),
    }
}

impl SessionTask {
    pub(super) async fn run(mut self) {
        loop {
            let deadline = self.core.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            };
            let out = tokio::select! {
                delivery = self.packets.recv() => match delivery {
                    Some(Delivery::Packet(r)) => self.core.handle(now(), Input::Packet(r)),
                    Some(Delivery::Malformed(e)) => {
                        debug!(error = %e, "malformed packet from the peer dropped");
                        self.counters.rx_malformed.count(&e);
                        Vec::new()
                    }
                    Some(Delivery::BadTtl(ttl)) => {
                        debug!(?ttl, "packet from the peer with TTL other than 255 dropped");
                        self.counters.rx_bad_ttl += 1;
                        Vec::new()
                    }
                    None => return,
                },
                command = self.commands.recv() => match command {
                    Some(Command::SetTimers(t, done)) => {
                        let out = self.core.handle(now(), Input::SetTimers(t));
                        let _ = done.send(());
                        out
                    }
                    Some(Command::AdminDown(done)) => {
                        let out = self.core.handle(now(), Input::AdminDown);
                        let _ = done.send(());
                        out
                    }
                    Some(Command::AdminUp(done)) => {
                        let out = self.core.handle(now(), Input::AdminUp);
                        let _ = done.send(());
                        out
                    }
                    Some(Command::Show(reply)) => {
                        let _ = reply.send(self.show());
                        Vec::new()
                    }
                    Some(Command::Remove(done)) => {
                        let out = self.core.handle(now(), Input::AdminDown);
                        self.apply(out).await;
                        // One packet now, so the peer hears AdminDown before we fall silent.
                        let last = self.core.control_packet();
                        self.apply(vec![Output::Send(last)]).await;
                        info!("session removed");
                        let _ = done.send(());
                        return;
                    }
                    None => return,
                },
                () = sleep => self.core.handle(now(), Input::Timeout),
            };
            self.apply(out).await;
        }
    }

    async fn apply(&mut self, out: Vec<Output>) {
        for o in out {
            match o {
                Output::Send(r) => {
                    let bytes = r.to_bytes();
                    let to = SocketAddr::new(self.peer, super::socket::CONTROL_PORT);
                    match self.socket.send_to(&bytes, to).await {
                        Ok(_) => self.counters.tx_packets += 1,
                        Err(e) => {
                            self.counters.tx_errors += 1;
                            debug!(error = %e, "send failed");
                        }
                    }
                }
                Output::StateChanged(t) => {
                    let _ = self.events.send(Event {
                        t_ns: netns::clock::monotonic_ns(),
                        local: self.local,
                        peer: self.peer,
                        local_discriminator: self.core.local_discriminator(),
                        transition: t,
                        failure: t.is_failure(),
                    });
                }
            }
        }
        let status = status_of(&self.core);
        self.status.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
    }

    fn show(&self) -> SessionShow {
        let (desired_min_tx_us, required_min_rx_us) = self.core.advertised_intervals();
        let (remote_desired_min_tx_us, remote_min_rx_us, remote_detect_mult) =
            self.core.remote_parameters();
        let mut counters = self.counters;
        counters.core = self.core.stats();
        SessionShow {
            local: self.local,
            peer: self.peer,
            ifname: self.ifname.clone(),
            source_port: self.source_port,
            passive: self.passive,
            status: status_of(&self.core),
            timers: self.core.timers(),
            desired_min_tx_us,
            required_min_rx_us,
            remote_desired_min_tx_us,
            remote_min_rx_us,
            remote_detect_mult,
            tx_interval_us: self.core.tx_interval().as_micros() as u64,
            detection_time_us: self.core.detection_time().map(|d| d.as_micros() as u64),
            polling: self.core.polling(),
            counters,
        }
    }
}
