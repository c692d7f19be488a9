//! The IKEv2 session of one tunnel as a sans-IO state machine: initiator and responder,
//! IKE_SA_INIT, IKE_AUTH with a pre-shared key, CREATE_CHILD_SA (CHILD_SA and IKE SA rekeying),
//! INFORMATIONAL (DELETE, dead peer detection), retransmission and message ID windows.
//!
//! ```text
//!                 Initiate / restart                      IKE_SA_INIT request
//!   ┌──────┐ ───────────────────────► ┌──────────┐       ┌──────────────┐ ◄──── (from Idle or
//!   │ Idle │                          │ InitSent │       │ InitAnswered │       Established:
//!   └──────┘ ◄─── failure / clear ─── └──────────┘       └──────────────┘       peer restarted)
//!      ▲                    response (INVALID_KE: │ retry     │ IKE_AUTH request, AUTH ok
//!      │                    same state, new group)▼           │
//!      │                               ┌──────────┐           │
//!      │ failure, AUTH failed,         │ AuthSent │           │
//!      │ DPD clear, peer DELETE        └──────────┘           │
//!      │                    IKE_AUTH response, AUTH ok │      │
//!      │                                               ▼      ▼
//!      │                                          ┌─────────────┐  CREATE_CHILD_SA: rekey
//!      └───────────────────────────────────────── │ Established │  CHILD_SA / IKE SA (both
//!                                                 └─────────────┘  directions), INFORMATIONAL
//!                                  Close │                         (DPD, DELETE)
//!                                        ▼
//!                                  ┌──────────┐  DELETE answered  ┌────────┐
//!                                  │ Deleting │ ────────────────► │ Closed │
//!                                  └──────────┘  or timed out     └────────┘
//! ```
//!
//! The caller feeds [`Input`]s with the current time to [`IkeSession::handle`], performs the
//! returned [`Action`]s, and calls `handle(now, Input::Timeout)` when [`IkeSession::poll_timeout`]
//! says so. Nothing here reads a clock, opens a socket or spawns a task. Randomness (SPIs, nonces,
//! rekey jitter) comes from an injected generator so tests are reproducible; Diffie-Hellman private
//! values come from the operating system through *ring*.
//!
//! One session holds at most: a half-open IKE SA being set up, the current IKE SA, the IKE SA it
//! replaced (until deleted), and CHILD_SAs (normally one pair; two during a make-before-break rekey).
//!
//! What it does not do: certificates or EAP (AWS uses PSKs), IKE fragmentation, MOBIKE,
//! configuration payloads, window sizes above 1, cookies on our side as responder (we answer a
//! peer's COOKIE request as initiator), or IKEv1.

mod auth;
mod child_sa;
mod create_child;
mod ike_sa;
mod informational;
mod init;
mod show;
mod types;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::RngCore;
use ring::rand::SystemRandom;
use tracing::{debug, info, warn};

pub use show::{ChildSaShow, IkeSaShow, SessionShow};
pub use types::{Action, ChildSaDirection, Event, Failure, Input, NewChildSa, Side, Transport};

use auth::ChildInstall;
use child_sa::ChildSa;
use ike_sa::{IkeSa, Pending, Request};
use init::HalfOpen;

use super::config::{DpdAction, IkeConfig, StartupAction};
use super::wire::{ExchangeType, ParsedMessage, Payload};

/// The session's state (see the diagram in the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No IKE SA; waiting for the peer or for a restart.
    Idle,
    /// We sent IKE_SA_INIT.
    InitSent,
    /// We sent IKE_AUTH.
    AuthSent,
    /// We answered the peer's IKE_SA_INIT and wait for its IKE_AUTH.
    InitAnswered,
    /// An authenticated IKE SA exists.
    Established,
    /// We are deleting the IKE SA on request.
    Deleting,
    /// Stopped for good.
    Closed,
}

impl State {
    /// Lower-case name for `show` and events.
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::InitSent => "init-sent",
            State::AuthSent => "auth-sent",
            State::InitAnswered => "init-answered",
            State::Established => "established",
            State::Deleting => "deleting",
            State::Closed => "closed",
        }
    }
}

/// Where an IKE SA sits in the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    HalfOpen,
    Current,
    Old,
}

/// What to do after answering a request (the answer is sealed with the SA it came in on first).
enum After {
    Nothing,
    /// The half-open SA authenticated: it becomes the current one, with this CHILD_SA.
    PromoteHalfOpen(Option<Box<ChildInstall>>),
    /// The peer rekeyed the IKE SA: this is the new one.
    Rekeyed(Box<IkeSa>),
    /// The peer deleted the SA in this slot.
    DropSlot(Slot),
    /// The peer deleted the current IKE SA (and so every CHILD_SA).
    PeerDeletedCurrent,
    /// The half-open SA failed authentication.
    DropHalfOpen,
}

/// Counters for `show`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Stats {
    ike_rekeys: u64,
    child_rekeys: u64,
    established: u64,
}

/// The IKEv2 session of one tunnel.
pub struct IkeSession {
    cfg: IkeConfig,
    rng: Box<dyn RngCore + Send>,
    dh_rng: SystemRandom,
    state: State,
    half_open: Option<HalfOpen>,
    sa: Option<IkeSa>,
    old_sa: Option<IkeSa>,
    children: Vec<ChildSa>,
    remote: SocketAddr,
    transport: Transport,
    nat_t: bool,
    /// NAT detection said our own address is translated (RFC 7296 §2.23): we send NAT
    /// keepalives (RFC 3948 §2.3).
    local_behind_nat: bool,
    last_inbound: Option<Instant>,
    restart_at: Option<Instant>,
    out: Vec<Action>,
    stats: Stats,
    last_failure: Option<String>,
}

impl std::fmt::Debug for IkeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IkeSession")
            .field("state", &self.state)
            .field("remote", &self.remote)
            .field("children", &self.children.len())
            .finish_non_exhaustive()
    }
}

impl IkeSession {
    /// A new session in [`State::Idle`]. With [`StartupAction::Start`] the first
    /// `poll_timeout` is `now`, and the timeout then initiates.
    pub fn new(cfg: IkeConfig, rng: Box<dyn RngCore + Send>, now: Instant) -> IkeSession {
        let remote = cfg.remote;
        let restart_at = (cfg.startup == StartupAction::Start).then_some(now);
        IkeSession {
            cfg,
            rng,
            dh_rng: SystemRandom::new(),
            state: State::Idle,
            half_open: None,
            sa: None,
            old_sa: None,
            children: Vec::new(),
            remote,
            transport: Transport::Ike,
            nat_t: false,
            local_behind_nat: false,
            last_inbound: None,
            restart_at,
            out: Vec::new(),
            stats: Stats::default(),
            last_failure: None,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Where the peer is now (floats to UDP 4500 with NAT-T, follows the peer's requests).
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Whether an established IKE SA found our own address translated by a NAT (RFC 7296
    /// §2.23): the driver then keeps the NAT's mapping alive (RFC 3948 §2.3).
    pub fn local_behind_nat(&self) -> bool {
        self.sa.is_some() && self.local_behind_nat
    }

    /// Takes new options (suites, lifetimes, DPD, startup action, selectors) and starts over
    /// with them, as [`Input::Reset`] does: the IKE SA in place is deleted first. The
    /// addresses and identities stay: a tunnel keeps its endpoints (AWS's
    /// ModifyVpnTunnelOptions restarts the tunnel with the new options).
    pub fn reconfigure(&mut self, now: Instant, cfg: IkeConfig) -> Vec<Action> {
        self.cfg = cfg;
        self.handle(now, Input::Reset)
    }

    /// The configuration.
    pub fn config(&self) -> &IkeConfig {
        &self.cfg
    }

    /// Processes one input at time `now` and returns what to do.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Action> {
        match input {
            Input::Datagram {
                data,
                from,
                transport,
            } => self.on_datagram(now, data, from, transport),
            Input::Timeout => self.on_timeout(now),
            Input::Initiate => {
                if self.half_open.is_none() && self.sa.is_none() && self.state != State::Closed {
                    self.start_initiator(now, None);
                }
            }
            Input::RekeyChild => {
                if let Some(c) = self
                    .children
                    .iter()
                    .find(|c| c.outbound_active && !c.superseded)
                {
                    let spi = c.inbound_spi;
                    self.queue_child_rekey(spi);
                }
            }
            Input::RekeyIke => self.queue(Pending::RekeyIke),
            Input::ChildSoftLimit { spi } => {
                let found = self
                    .children
                    .iter()
                    .find(|c| (c.inbound_spi == spi || c.outbound_spi == spi) && !c.superseded)
                    .map(|c| c.inbound_spi);
                if let Some(inbound) = found {
                    info!(
                        spi = format_args!("{spi:#010x}"),
                        "CHILD_SA reached a soft limit, rekeying"
                    );
                    self.queue_child_rekey(inbound);
                }
            }
            Input::EspInbound(at) => {
                if self.last_inbound.is_none_or(|l| at > l) {
                    self.last_inbound = Some(at);
                }
            }
            Input::Reset => self.reset(now),
            Input::Close => self.close(now),
        }
        self.pump(now);
        std::mem::take(&mut self.out)
    }

    /// When `handle(now, Input::Timeout)` must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut at = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        at(self.restart_at);
        if let Some(h) = &self.half_open {
            at(Some(h.deadline));
            at(h.init_retransmit_at());
            if let Some(sa) = &h.sa {
                at(sa.outstanding.as_ref().map(|o| o.retransmit_at));
            }
        }
        for sa in [&self.sa, &self.old_sa].into_iter().flatten() {
            at(sa.outstanding.as_ref().map(|o| o.retransmit_at));
            at(sa.rekey_at);
            at(sa.expire_at);
            at(sa.drop_at);
        }
        if self.sa.is_some() {
            for c in &self.children {
                if !c.superseded {
                    if !c.rekeying {
                        at(Some(c.rekey_at));
                    }
                    at(Some(c.expire_at));
                }
            }
            at(self.dpd_due());
        }
        t
    }

    // ---- plumbing shared by the exchange modules ----

    fn set_state(&mut self, to: State) {
        if self.state != to {
            let from = self.state;
            debug!(from = from.name(), to = to.name(), "IKE session state");
            self.state = to;
            self.event(Event::StateChanged { from, to });
        }
    }

    fn event(&mut self, e: Event) {
        self.out.push(Action::Event(e));
    }

    fn fail(&mut self, exchange: &'static str, failure: Failure) {
        warn!(exchange, "{failure}");
        self.last_failure = Some(format!("{exchange}: {failure}"));
        self.event(Event::Failed { exchange, failure });
    }

    fn send(&mut self, datagram: Vec<u8>, to: SocketAddr, transport: Transport) {
        self.out.push(Action::Send {
            datagram,
            to,
            transport,
        });
    }

    fn send_to_peer(&mut self, datagram: Vec<u8>) {
        let (to, transport) = (self.remote, self.transport);
        self.send(datagram, to, transport);
    }

    fn random_u64(&mut self) -> u64 {
        loop {
            let v = self.rng.next_u64();
            if v != 0 {
                return v;
            }
        }
    }

    /// A fresh inbound ESP SPI: above the reserved 1..=255 (RFC 4303 §2.1), not in use.
    fn random_child_spi(&mut self) -> u32 {
        loop {
            let v = self.rng.next_u32();
            if v > 255 && !self.children.iter().any(|c| c.inbound_spi == v) {
                return v;
            }
        }
    }

    fn nonce(&mut self) -> Vec<u8> {
        let mut n = vec![0u8; 32];
        self.rng.fill_bytes(&mut n);
        n
    }

    /// `lifetime - margin - random(0 ..= margin * fuzz%)`, at least half the lifetime
    /// (strongSwan's rekey_time / rand_time, which AWS's margin and fuzz options mirror).
    fn rekey_after(&mut self, lifetime: Duration) -> Duration {
        let margin = self.cfg.rekey_margin;
        let fuzz_ms = margin.as_millis() as u64 * u64::from(self.cfg.rekey_fuzz_percent) / 100;
        let jitter = if fuzz_ms == 0 {
            0
        } else {
            self.rng.next_u64() % (fuzz_ms + 1)
        };
        let t = lifetime
            .checked_sub(margin)
            .and_then(|t| t.checked_sub(Duration::from_millis(jitter)));
        match t {
            Some(t) if t >= lifetime / 2 => t,
            _ => lifetime / 2,
        }
    }

    fn note_alive(&mut self, now: Instant) {
        if self.last_inbound.is_none_or(|l| now > l) {
            self.last_inbound = Some(now);
        }
    }

    fn slot_mut(&mut self, slot: Slot) -> Option<&mut IkeSa> {
        match slot {
            Slot::HalfOpen => self.half_open.as_mut().and_then(|h| h.sa.as_mut()),
            Slot::Current => self.sa.as_mut(),
            Slot::Old => self.old_sa.as_mut(),
        }
    }

    fn find_slot(&self, spi_i: u64, spi_r: u64) -> Option<Slot> {
        let matches = |sa: &IkeSa| sa.spi_i == spi_i && sa.spi_r == spi_r;
        if self.sa.as_ref().is_some_and(matches) {
            Some(Slot::Current)
        } else if self.old_sa.as_ref().is_some_and(matches) {
            Some(Slot::Old)
        } else if self
            .half_open
            .as_ref()
            .and_then(|h| h.sa.as_ref())
            .is_some_and(matches)
        {
            Some(Slot::HalfOpen)
        } else {
            None
        }
    }

    fn queue(&mut self, p: Pending) {
        if let Some(sa) = self.sa.as_mut()
            && !sa.has_pending(p)
        {
            sa.queue.push_back(p);
        }
    }

    fn queue_child_rekey(&mut self, inbound_spi: u32) {
        if let Some(c) = self
            .children
            .iter_mut()
            .find(|c| c.inbound_spi == inbound_spi && !c.superseded && !c.rekeying)
        {
            c.rekeying = true;
            self.queue(Pending::RekeyChild(Some(inbound_spi)));
        }
    }

    fn dpd_due(&self) -> Option<Instant> {
        let sa = self.sa.as_ref()?;
        if sa.outstanding.is_some() || !sa.queue.is_empty() || self.state != State::Established {
            return None;
        }
        Some(self.last_inbound? + self.cfg.dpd.interval)
    }

    /// Starts queued requests while the window (size 1) is free.
    fn pump(&mut self, now: Instant) {
        for slot in [Slot::Current, Slot::Old] {
            while let Some(sa) = self.slot_mut(slot)
                && sa.outstanding.is_none()
                && let Some(p) = sa.queue.pop_front()
            {
                self.start_pending(now, slot, p);
            }
        }
    }

    fn start_pending(&mut self, now: Instant, slot: Slot, p: Pending) {
        match p {
            Pending::Dpd => self.send_dpd(now, slot),
            Pending::RekeyChild(old) => self.start_create_child(now, old),
            Pending::RekeyIke => self.start_ike_rekey(now),
            Pending::DeleteChild(spi) => self.send_delete_child(now, slot, spi),
            Pending::DeleteIke => self.send_delete_ike(now, slot),
        }
    }

    fn on_datagram(&mut self, now: Instant, data: &[u8], from: SocketAddr, transport: Transport) {
        let parsed = match ParsedMessage::parse(data) {
            Ok(p) => p,
            Err(e) => {
                debug!(%from, "dropping undecodable IKE message: {e}");
                return;
            }
        };
        let h = parsed.header;
        if h.exchange == ExchangeType::IkeSaInit {
            if h.is_response() {
                self.on_init_response(now, &parsed, from);
            } else {
                self.on_init_request(now, &parsed, from, transport);
            }
            return;
        }
        let Some(slot) = self.find_slot(h.spi_i, h.spi_r) else {
            debug!(
                spi_i = format_args!("{:016x}", h.spi_i),
                spi_r = format_args!("{:016x}", h.spi_r),
                "dropping IKE message for an unknown IKE SA"
            );
            return;
        };
        if h.is_response() {
            self.on_protected_response(now, slot, &parsed);
        } else {
            self.on_protected_request(now, slot, &parsed, from, transport);
        }
    }

    fn on_protected_response(&mut self, now: Instant, slot: Slot, parsed: &ParsedMessage<'_>) {
        let h = parsed.header;
        let Some(sa) = self.slot_mut(slot) else {
            return;
        };
        if sa.outstanding.as_ref().map(|o| o.message_id) != Some(h.message_id) {
            debug!(
                message_id = h.message_id,
                "dropping response that matches no request"
            );
            return;
        }
        let payloads = match parsed.decrypt(sa.peer_key()) {
            Ok(p) => p,
            Err(e) => {
                debug!("dropping response: {e}");
                return;
            }
        };
        let Some(outstanding) = sa.outstanding.take() else {
            return;
        };
        self.note_alive(now);
        match outstanding.request {
            Request::IkeAuth { child_spi } => self.on_auth_response(now, child_spi, payloads),
            Request::Dpd => {}
            Request::CreateChild {
                old_inbound,
                new_inbound,
                offered,
                nonce,
                dh,
            } => self.on_create_child_response(
                now,
                old_inbound,
                new_inbound,
                offered,
                nonce,
                dh,
                payloads,
            ),
            Request::RekeyIke {
                new_spi,
                offered,
                nonce,
                dh,
            } => self.on_ike_rekey_response(now, new_spi, offered, nonce, dh, payloads),
            Request::DeleteChild { inbound_spi } => self.on_delete_child_response(inbound_spi),
            Request::DeleteIke => self.on_delete_ike_response(slot),
        }
    }

    fn on_protected_request(
        &mut self,
        now: Instant,
        slot: Slot,
        parsed: &ParsedMessage<'_>,
        from: SocketAddr,
        transport: Transport,
    ) {
        let h = parsed.header;
        let Some(sa) = self.slot_mut(slot) else {
            return;
        };
        if let Some((id, cached)) = &sa.last_response
            && *id == h.message_id
        {
            // The peer did not get our answer: send it again, unchanged (RFC 7296 §2.1).
            let cached = cached.clone();
            debug!(message_id = h.message_id, "retransmitting cached response");
            self.send(cached, from, transport);
            return;
        }
        if h.message_id != sa.next_peer_request_id {
            debug!(
                message_id = h.message_id,
                expected = sa.next_peer_request_id,
                "dropping request outside the window"
            );
            return;
        }
        let payloads = match parsed.decrypt(sa.peer_key()) {
            Ok(p) => p,
            Err(e) => {
                debug!("dropping request: {e}");
                return;
            }
        };
        self.note_alive(now);
        // NAT-T: requests come from where the peer is now (RFC 7296 §2.23, port floating).
        if slot != Slot::HalfOpen && (from != self.remote || transport != self.transport) {
            debug!(%from, ?transport, "peer address or port changed");
            self.remote = from;
            self.transport = transport;
        }
        let (reply, after) = match h.exchange {
            ExchangeType::IkeAuth if slot == Slot::HalfOpen => {
                self.on_auth_request(now, payloads, from, transport)
            }
            ExchangeType::CreateChildSa if slot == Slot::Current => {
                self.on_create_child_request(now, payloads)
            }
            ExchangeType::CreateChildSa => (
                vec![Payload::Notify(super::wire::Notify::new(
                    super::wire::NotifyType::TEMPORARY_FAILURE,
                    Vec::new(),
                ))],
                After::Nothing,
            ),
            ExchangeType::Informational => self.on_informational_request(now, slot, payloads),
            other => {
                debug!(?other, "unexpected exchange; answering INVALID_SYNTAX");
                (
                    vec![Payload::Notify(super::wire::Notify::new(
                        super::wire::NotifyType::INVALID_SYNTAX,
                        Vec::new(),
                    ))],
                    After::Nothing,
                )
            }
        };
        let datagram = self
            .slot_mut(slot)
            .map(|sa| sa.respond(h.exchange, h.message_id, reply));
        // A CHILD_SA this request created is installed before the answer that gives the peer
        // its SPI leaves (as CREATE_CHILD_SA does): the peer may send ESP the moment it has the
        // answer, and the first packets must find the inbound SA. (The IKE_AUTH answer used to
        // go first; the initiator then sometimes had its pair up before the responder did.)
        if matches!(after, After::PromoteHalfOpen(Some(_))) {
            self.apply_after(now, after);
            if let Some(datagram) = datagram {
                self.send(datagram, from, transport);
            }
        } else {
            if let Some(datagram) = datagram {
                self.send(datagram, from, transport);
            }
            self.apply_after(now, after);
        }
    }

    fn apply_after(&mut self, now: Instant, after: After) {
        match after {
            After::Nothing => {}
            After::PromoteHalfOpen(child) => {
                if self.promote_half_open(now).is_some()
                    && let Some(c) = child
                {
                    self.install_child(now, *c);
                }
            }
            After::Rekeyed(new) => self.install_rekeyed_ike_sa(now, *new),
            After::DropSlot(slot) => {
                if slot == Slot::Old
                    && let Some(old) = self.old_sa.take()
                {
                    self.event(Event::IkeSaDeleted {
                        spi_i: old.spi_i,
                        spi_r: old.spi_r,
                        reason: "replaced by rekeyed IKE SA".into(),
                    });
                }
            }
            After::PeerDeletedCurrent => {
                self.teardown("deleted by the peer");
                self.after_loss(now, None);
            }
            After::DropHalfOpen => {
                self.half_open = None;
                let to = if self.sa.is_some() {
                    State::Established
                } else {
                    State::Idle
                };
                self.set_state(to);
            }
        }
    }

    fn on_timeout(&mut self, now: Instant) {
        if self.restart_at.is_some_and(|t| t <= now) {
            self.restart_at = None;
            if self.half_open.is_none() && self.sa.is_none() && self.state != State::Closed {
                self.start_initiator(now, None);
            }
        }
        self.half_open_timers(now);
        // Retransmissions and give-ups on established SAs.
        for slot in [Slot::Current, Slot::Old] {
            self.retransmit(now, slot);
        }
        if let Some(old) = &self.old_sa
            && old.drop_at.is_some_and(|t| t <= now)
            && let Some(old) = self.old_sa.take()
        {
            self.event(Event::IkeSaDeleted {
                spi_i: old.spi_i,
                spi_r: old.spi_r,
                reason: "replaced by rekeyed IKE SA (no DELETE seen)".into(),
            });
        }
        let Some(sa) = self.sa.as_mut() else { return };
        if sa.expire_at.is_some_and(|t| t <= now) {
            sa.expire_at = None;
            info!("IKE SA lifetime expired");
            self.send_delete_ike_now(now);
            return;
        }
        if sa.rekey_at.is_some_and(|t| t <= now) {
            sa.rekey_at = None;
            self.queue(Pending::RekeyIke);
        }
        let mut to_rekey = Vec::new();
        let mut to_delete = Vec::new();
        for c in &mut self.children {
            if c.superseded {
                continue;
            }
            if c.expire_at <= now {
                to_delete.push(c.inbound_spi);
                c.superseded = true;
            } else if !c.rekeying && c.rekey_at <= now {
                to_rekey.push(c.inbound_spi);
            }
        }
        for spi in to_rekey {
            self.queue_child_rekey(spi);
        }
        for spi in to_delete {
            info!(
                spi = format_args!("{spi:#010x}"),
                "CHILD_SA lifetime expired"
            );
            self.queue(Pending::DeleteChild(spi));
        }
        if self.dpd_due().is_some_and(|t| t <= now) {
            self.queue(Pending::Dpd);
        }
    }

    fn retransmit(&mut self, now: Instant, slot: Slot) {
        let dpd = self.cfg.dpd;
        let retransmit = self.cfg.retransmit;
        let last_inbound = self.last_inbound;
        let Some(sa) = self.slot_mut(slot) else {
            return;
        };
        let Some(o) = sa.outstanding.as_mut() else {
            return;
        };
        if o.retransmit_at > now {
            return;
        }
        let is_dpd = matches!(o.request, Request::Dpd);
        let baseline = if is_dpd {
            last_inbound.unwrap_or(o.first_sent)
        } else {
            o.first_sent
        };
        let timed_out = now >= baseline + dpd.timeout;
        let exhausted = !is_dpd && o.sent > retransmit.tries;
        if timed_out || exhausted {
            let name = o.request.name();
            sa.outstanding = None;
            if slot == Slot::Old {
                debug!("replaced IKE SA did not answer {name}; dropping it");
                if let Some(old) = self.old_sa.take() {
                    self.event(Event::IkeSaDeleted {
                        spi_i: old.spi_i,
                        spi_r: old.spi_r,
                        reason: "replaced by rekeyed IKE SA".into(),
                    });
                }
                return;
            }
            if self.state == State::Deleting {
                self.teardown("deleted (peer did not answer)");
                self.set_state(State::Closed);
                return;
            }
            warn!(request = name, "peer did not answer; liveness check failed");
            self.peer_dead(now);
            return;
        }
        let wait = if is_dpd {
            dpd.interval
        } else {
            retransmit.wait(o.sent)
        };
        o.sent += 1;
        o.retransmit_at = now + wait;
        let datagram = o.datagram.clone();
        debug!(try_ = o.sent, "retransmitting request");
        self.send_to_peer(datagram);
    }

    fn peer_dead(&mut self, now: Instant) {
        let action = self.cfg.dpd.action;
        self.event(Event::PeerDead { action });
        self.last_failure = Some("dead peer detected".into());
        match action {
            DpdAction::Clear => {
                self.teardown("dead peer (DPD action clear)");
                self.after_loss(now, Some(DpdAction::Clear));
            }
            DpdAction::Restart => {
                self.teardown("dead peer (DPD action restart)");
                self.start_initiator(now, None);
            }
            DpdAction::None => {
                // Keep everything; probe again after the interval.
                self.last_inbound = Some(now);
            }
        }
    }

    /// After the IKE SA is gone: initiate again in `start` mode (AWS keeps a started tunnel up),
    /// otherwise wait for the peer.
    fn after_loss(&mut self, now: Instant, dpd: Option<DpdAction>) {
        self.set_state(State::Idle);
        if self.cfg.startup == StartupAction::Start && dpd != Some(DpdAction::Clear) {
            self.restart_at = Some(now + self.cfg.restart_delay);
        }
    }

    /// Removes every CHILD_SA and IKE SA without sending anything.
    fn teardown(&mut self, reason: &str) {
        for c in std::mem::take(&mut self.children) {
            self.out.push(Action::RemoveChild {
                inbound_spi: c.inbound_spi,
                outbound_spi: c.outbound_spi,
            });
            self.event(Event::ChildSaDeleted {
                inbound_spi: c.inbound_spi,
                outbound_spi: c.outbound_spi,
                reason: reason.to_string(),
            });
        }
        for sa in [self.sa.take(), self.old_sa.take()].into_iter().flatten() {
            self.event(Event::IkeSaDeleted {
                spi_i: sa.spi_i,
                spi_r: sa.spi_r,
                reason: reason.to_string(),
            });
        }
        self.half_open = None;
        self.transport = Transport::Ike;
        self.remote = self.cfg.remote;
        self.nat_t = false;
        self.local_behind_nat = false;
    }

    fn reset(&mut self, now: Instant) {
        if self.sa.is_some() {
            info!("resetting: deleting the IKE SA, then starting over");
            // The DELETE's answer (or its loss) ends in `after_loss`, as any deletion we make.
            self.send_delete_ike_now(now);
        } else {
            self.half_open = None;
            self.after_loss(now, None);
        }
    }

    fn close(&mut self, now: Instant) {
        self.restart_at = None;
        if self.sa.is_some() {
            self.send_delete_ike_now(now);
            self.set_state(State::Deleting);
        } else {
            self.teardown("closed");
            self.set_state(State::Closed);
        }
    }
}

#[cfg(test)]
mod tests;
