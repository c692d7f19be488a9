//! IKE_SA_INIT (RFC 7296 §1.2), both roles: SA, KE, nonces, NAT detection, COOKIE and
//! INVALID_KE_PAYLOAD retries, SKEYSEED; and the half-open SA until IKE_AUTH completes.
//!
//! ```text
//!  Initiator                                   Responder
//!  HDR, SAi1, KEi, Ni, N(NAT_D_SRC), N(NAT_D_DST)  -->
//!                       <--  HDR, SAr1, KEr, Nr, N(NAT_D_SRC), N(NAT_D_DST)
//!                       <--  HDR, N(INVALID_KE_PAYLOAD, group)   (retry with that group)
//!                       <--  HDR, N(COOKIE)                     (retry with N(COOKIE) first)
//!                       <--  HDR, N(NO_PROPOSAL_CHOSEN)         (fail)
//! ```
//!
//! What it does not do: send COOKIE challenges as responder (one tunnel, one peer: no flood to
//! defend against), or IKE_INTERMEDIATE.

use std::net::SocketAddr;
use std::time::Instant;

use tracing::{debug, info};

use super::ike_sa::IkeSa;
use super::{Failure, IkeSession, Side, State, Transport};
use crate::crypto::dh::{DhGroup, DhPrivate};
use crate::ike::keys::{IkeSaKeys, ike_key_material, skeyseed};
use crate::ike::nat::{NatDetection, nat_hash};
use crate::ike::suite::{accepted_ike, choose_ike, ike_proposals, ike_reply};
use crate::ike::wire::{
    ExchangeType, HeaderRepr, Message, Notify, NotifyType, ParsedMessage, Payload, flags,
};

/// Retries of IKE_SA_INIT with another group before giving up (a peer that keeps changing its
/// mind would otherwise loop).
const MAX_KE_RETRIES: u32 = 2;

/// An IKE SA being set up.
#[derive(Debug)]
pub(super) struct HalfOpen {
    pub(super) initiator: bool,
    pub(super) spi_i: u64,
    pub(super) ni: Vec<u8>,
    pub(super) nr: Vec<u8>,
    pub(super) group: DhGroup,
    pub(super) dh: Option<DhPrivate>,
    pub(super) cookie: Option<Vec<u8>>,
    pub(super) ke_retries: u32,
    /// The IKE_SA_INIT request and response exactly as sent/received (AUTH signs them).
    pub(super) init_request: Vec<u8>,
    pub(super) init_response: Vec<u8>,
    init_retransmit: Option<(Instant, u32)>,
    pub(super) sa: Option<IkeSa>,
    pub(super) deadline: Instant,
    pub(super) peer: SocketAddr,
    pub(super) transport: Transport,
    pub(super) nat: NatDetection,
}

impl HalfOpen {
    pub(super) fn init_retransmit_at(&self) -> Option<Instant> {
        self.init_retransmit.map(|(t, _)| t)
    }
}

pub(super) fn find_notify(payloads: &[Payload], kind: NotifyType) -> Option<&Notify> {
    payloads.iter().find_map(|p| match p {
        Payload::Notify(n) if n.kind == kind => Some(n),
        _ => None,
    })
}

pub(super) fn first_error(payloads: &[Payload]) -> Option<NotifyType> {
    payloads.iter().find_map(|p| match p {
        Payload::Notify(n) if n.kind.is_error() => Some(n.kind),
        _ => None,
    })
}

pub(super) fn notify(kind: NotifyType, data: Vec<u8>) -> Payload {
    Payload::Notify(Notify::new(kind, data))
}

impl IkeSession {
    /// Starts an IKE SA as initiator, with `group` for the KE payload (default: the first suite's).
    pub(super) fn start_initiator(&mut self, now: Instant, group: Option<DhGroup>) {
        self.restart_at = None;
        let Some(first) = self.cfg.ike_suites.first() else {
            self.fail("IKE_SA_INIT", Failure::NoProposalChosen(Side::Local));
            return;
        };
        let group = group.unwrap_or(first.dh);
        let dh = match DhPrivate::generate(group, &self.dh_rng) {
            Ok(d) => d,
            Err(e) => {
                self.fail("IKE_SA_INIT", Failure::Crypto(e.to_string()));
                return;
            }
        };
        let spi_i = self.random_u64();
        let ni = self.nonce();
        self.remote = self.cfg.remote;
        self.transport = Transport::Ike;
        self.half_open = Some(HalfOpen {
            initiator: true,
            spi_i,
            ni,
            nr: Vec::new(),
            group,
            dh: Some(dh),
            cookie: None,
            ke_retries: 0,
            init_request: Vec::new(),
            init_response: Vec::new(),
            init_retransmit: None,
            sa: None,
            deadline: now + self.cfg.half_open_timeout,
            peer: self.cfg.remote,
            transport: Transport::Ike,
            nat: NatDetection::default(),
        });
        info!(peer = %self.cfg.remote, group = group.name(), "initiating IKE SA");
        // The state event goes ahead of the request, so a driver that applies actions in order
        // stamps it just before IKE_SA_INIT leaves (the start of a tunnel's set-up time).
        self.set_state(State::InitSent);
        self.send_init_request(now);
    }

    fn send_init_request(&mut self, now: Instant) {
        let remote = self.cfg.remote;
        let suites = self.cfg.ike_suites.clone();
        let wait = self.cfg.retransmit.wait(0);
        let fake_source = self.nonce()[..20].to_vec();
        let Some(h) = self.half_open.as_mut() else {
            return;
        };
        let Some(dh) = h.dh.as_ref() else { return };
        let mut payloads = Vec::new();
        if let Some(c) = &h.cookie {
            // RFC 7296 §2.6: the COOKIE notify comes first.
            payloads.push(notify(NotifyType::COOKIE, c.clone()));
        }
        payloads.push(Payload::Sa(ike_proposals(&suites, None)));
        payloads.push(Payload::KeyExchange {
            group: h.group.transform_id(),
            data: dh.public().to_vec(),
        });
        payloads.push(Payload::Nonce(h.ni.clone()));
        payloads.push(notify(NotifyType::NAT_DETECTION_SOURCE_IP, fake_source));
        payloads.push(notify(
            NotifyType::NAT_DETECTION_DESTINATION_IP,
            nat_hash(h.spi_i, 0, remote),
        ));
        let m = Message {
            header: HeaderRepr {
                spi_i: h.spi_i,
                spi_r: 0,
                exchange: ExchangeType::IkeSaInit,
                flags: flags::INITIATOR,
                message_id: 0,
            },
            payloads,
        };
        let bytes = m.encode_plain();
        h.init_request = bytes.clone();
        h.init_retransmit = Some((now + wait, 1));
        self.send(bytes, remote, Transport::Ike);
    }

    pub(super) fn on_init_response(
        &mut self,
        now: Instant,
        parsed: &ParsedMessage<'_>,
        from: SocketAddr,
    ) {
        let hdr = parsed.header;
        let Some(h) = self.half_open.as_mut() else {
            return;
        };
        if !h.initiator || h.spi_i != hdr.spi_i || h.sa.is_some() || hdr.message_id != 0 {
            debug!("dropping IKE_SA_INIT response that matches no request");
            return;
        }
        let payloads = &parsed.payloads;
        if let Some(c) = find_notify(payloads, NotifyType::COOKIE) {
            if h.cookie.is_some() {
                debug!("second COOKIE request; ignoring");
                return;
            }
            h.cookie = Some(c.data.clone());
            debug!("responder asked for a COOKIE; retrying");
            self.send_init_request(now);
            return;
        }
        if let Some(n) = find_notify(payloads, NotifyType::INVALID_KE_PAYLOAD) {
            let wanted = match n.data.as_slice() {
                [a, b] => DhGroup::from_transform_id(u16::from_be_bytes([*a, *b])),
                _ => None,
            };
            let allowed = wanted.filter(|g| self.cfg.ike_suites.iter().any(|s| s.dh == *g));
            match allowed {
                Some(g) if h.ke_retries < MAX_KE_RETRIES && g != h.group => {
                    info!(
                        group = g.name(),
                        "responder asked for another DH group; retrying"
                    );
                    match DhPrivate::generate(g, &self.dh_rng) {
                        Ok(dh) => {
                            h.dh = Some(dh);
                            h.group = g;
                            h.ke_retries += 1;
                            self.send_init_request(now);
                        }
                        Err(e) => self.init_failed(now, Failure::Crypto(e.to_string())),
                    }
                }
                _ => self.init_failed(now, Failure::PeerError(NotifyType::INVALID_KE_PAYLOAD)),
            }
            return;
        }
        if let Some(err) = first_error(payloads) {
            let failure = if err == NotifyType::NO_PROPOSAL_CHOSEN {
                Failure::NoProposalChosen(Side::Peer)
            } else {
                Failure::PeerError(err)
            };
            self.init_failed(now, failure);
            return;
        }
        let mut sa_props = None;
        let mut ke = None;
        let mut nr = None;
        let mut src_hashes = Vec::new();
        let mut dst_hash = None;
        for p in payloads {
            match p {
                Payload::Sa(props) => sa_props = Some(props),
                Payload::KeyExchange { group, data } => ke = Some((*group, data)),
                Payload::Nonce(n) => nr = Some(n),
                Payload::Notify(n) if n.kind == NotifyType::NAT_DETECTION_SOURCE_IP => {
                    src_hashes.push(n.data.as_slice())
                }
                Payload::Notify(n) if n.kind == NotifyType::NAT_DETECTION_DESTINATION_IP => {
                    dst_hash = Some(n.data.as_slice())
                }
                _ => {}
            }
        }
        let (Some(props), Some((group, ke_data)), Some(nr)) = (sa_props, ke, nr) else {
            self.init_failed(
                now,
                Failure::Malformed("IKE_SA_INIT response lacks SA, KE or Nr".into()),
            );
            return;
        };
        let Some(suite) = accepted_ike(&self.cfg.ike_suites, props) else {
            self.init_failed(
                now,
                Failure::Malformed("responder chose a proposal we did not offer".into()),
            );
            return;
        };
        let Some(h) = self.half_open.as_mut() else {
            return;
        };
        if group != suite.dh.transform_id() || suite.dh != h.group || hdr.spi_r == 0 {
            self.init_failed(
                now,
                Failure::Malformed("KE group or SPI does not match".into()),
            );
            return;
        }
        let nat = NatDetection::evaluate(
            hdr.spi_i,
            hdr.spi_r,
            &src_hashes,
            dst_hash,
            self.cfg.local,
            from,
        );
        let Some(dh) = h.dh.take() else { return };
        let g_ir = match dh.agree(ke_data) {
            Ok(s) => s,
            Err(e) => {
                self.init_failed(now, Failure::Malformed(e.to_string()));
                return;
            }
        };
        let seed = skeyseed(suite.prf, &h.ni, nr, &g_ir);
        let keys = ike_key_material(
            suite.prf,
            suite.cipher,
            seed,
            &h.ni,
            nr,
            hdr.spi_i,
            hdr.spi_r,
        )
        .and_then(|m| IkeSaKeys::new(suite.prf, suite.cipher, m));
        let keys = match keys {
            Ok(k) => k,
            Err(e) => {
                self.init_failed(now, Failure::Crypto(e.to_string()));
                return;
            }
        };
        let mut sa = IkeSa::new(hdr.spi_i, hdr.spi_r, true, suite, keys);
        sa.next_request_id = 1;
        h.nr = nr.clone();
        h.init_response = parsed.bytes().to_vec();
        h.init_retransmit = None;
        h.nat = nat;
        h.sa = Some(sa);
        // We always encapsulate (see ike::nat): float to 4500 for IKE_AUTH (RFC 7296 §2.23).
        let peer = SocketAddr::new(from.ip(), Transport::NatT.port());
        h.peer = peer;
        h.transport = Transport::NatT;
        self.remote = peer;
        self.transport = Transport::NatT;
        debug!(suite = %suite, ?nat, "IKE_SA_INIT done");
        self.send_auth_request(now);
    }

    fn init_failed(&mut self, now: Instant, failure: Failure) {
        self.fail("IKE_SA_INIT", failure);
        self.half_open = None;
        self.after_loss(now, None);
    }

    pub(super) fn on_init_request(
        &mut self,
        now: Instant,
        parsed: &ParsedMessage<'_>,
        from: SocketAddr,
        transport: Transport,
    ) {
        let hdr = parsed.header;
        if hdr.spi_r != 0 || hdr.message_id != 0 || !hdr.is_initiator() {
            debug!("dropping malformed IKE_SA_INIT request");
            return;
        }
        if self.state == State::Closed {
            return;
        }
        if let Some(h) = &self.half_open {
            if h.initiator {
                debug!("ignoring the peer's IKE_SA_INIT while our own is in progress");
                return;
            }
            if h.spi_i == hdr.spi_i {
                if parsed.bytes() == h.init_request.as_slice() {
                    debug!("IKE_SA_INIT retransmitted; answering again");
                    let response = h.init_response.clone();
                    self.send(response, from, transport);
                }
                return;
            }
        }
        let reply_error = |s: &mut IkeSession, kind: NotifyType, data: Vec<u8>| {
            let m = Message {
                header: HeaderRepr {
                    spi_i: hdr.spi_i,
                    spi_r: 0,
                    exchange: ExchangeType::IkeSaInit,
                    flags: flags::RESPONSE,
                    message_id: 0,
                },
                payloads: vec![notify(kind, data)],
            };
            s.send(m.encode_plain(), from, transport);
        };
        let mut sa_props = None;
        let mut ke = None;
        let mut ni = None;
        let mut src_hashes = Vec::new();
        let mut dst_hash = None;
        for p in &parsed.payloads {
            match p {
                Payload::Sa(props) => sa_props = Some(props),
                Payload::KeyExchange { group, data } => ke = Some((*group, data)),
                Payload::Nonce(n) => ni = Some(n),
                Payload::Notify(n) if n.kind == NotifyType::NAT_DETECTION_SOURCE_IP => {
                    src_hashes.push(n.data.as_slice())
                }
                Payload::Notify(n) if n.kind == NotifyType::NAT_DETECTION_DESTINATION_IP => {
                    dst_hash = Some(n.data.as_slice())
                }
                Payload::Other {
                    critical: true,
                    kind,
                    ..
                } => {
                    reply_error(self, NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD, vec![*kind]);
                    return;
                }
                _ => {}
            }
        }
        let (Some(props), Some((group, ke_data)), Some(ni)) = (sa_props, ke, ni) else {
            debug!("IKE_SA_INIT request lacks SA, KE or Ni");
            reply_error(self, NotifyType::INVALID_SYNTAX, Vec::new());
            return;
        };
        let Some(chosen) = choose_ike(&self.cfg.ike_suites, props) else {
            reply_error(self, NotifyType::NO_PROPOSAL_CHOSEN, Vec::new());
            self.fail("IKE_SA_INIT", Failure::NoProposalChosen(Side::Local));
            return;
        };
        let suite = chosen.suite;
        if group != suite.dh.transform_id() {
            info!(
                offered = group,
                wanted = suite.dh.name(),
                "asking the initiator for our preferred DH group (INVALID_KE_PAYLOAD)"
            );
            reply_error(
                self,
                NotifyType::INVALID_KE_PAYLOAD,
                suite.dh.transform_id().to_be_bytes().to_vec(),
            );
            return;
        }
        let dh = match DhPrivate::generate(suite.dh, &self.dh_rng) {
            Ok(d) => d,
            Err(e) => {
                self.fail("IKE_SA_INIT", Failure::Crypto(e.to_string()));
                return;
            }
        };
        let public = dh.public().to_vec();
        let g_ir = match dh.agree(ke_data) {
            Ok(s) => s,
            Err(e) => {
                debug!("bad KE from initiator: {e}");
                reply_error(self, NotifyType::INVALID_SYNTAX, Vec::new());
                return;
            }
        };
        let spi_r = self.random_u64();
        let nr = self.nonce();
        let fake_source = self.nonce()[..20].to_vec();
        let nat = NatDetection::evaluate(hdr.spi_i, 0, &src_hashes, dst_hash, self.cfg.local, from);
        let m = Message {
            header: HeaderRepr {
                spi_i: hdr.spi_i,
                spi_r,
                exchange: ExchangeType::IkeSaInit,
                flags: flags::RESPONSE,
                message_id: 0,
            },
            payloads: vec![
                Payload::Sa(vec![ike_reply(&chosen, None)]),
                Payload::KeyExchange {
                    group,
                    data: public,
                },
                Payload::Nonce(nr.clone()),
                notify(NotifyType::NAT_DETECTION_SOURCE_IP, fake_source),
                notify(
                    NotifyType::NAT_DETECTION_DESTINATION_IP,
                    nat_hash(hdr.spi_i, spi_r, from),
                ),
            ],
        };
        let response = m.encode_plain();
        let seed = skeyseed(suite.prf, ni, &nr, &g_ir);
        let keys = ike_key_material(suite.prf, suite.cipher, seed, ni, &nr, hdr.spi_i, spi_r)
            .and_then(|m| IkeSaKeys::new(suite.prf, suite.cipher, m));
        let keys = match keys {
            Ok(k) => k,
            Err(e) => {
                self.fail("IKE_SA_INIT", Failure::Crypto(e.to_string()));
                return;
            }
        };
        let mut sa = IkeSa::new(hdr.spi_i, spi_r, false, suite, keys);
        sa.next_peer_request_id = 1;
        debug!(peer = %from, suite = %suite, ?nat, "answered IKE_SA_INIT");
        self.half_open = Some(HalfOpen {
            initiator: false,
            spi_i: hdr.spi_i,
            ni: ni.clone(),
            nr,
            group: suite.dh,
            dh: None,
            cookie: None,
            ke_retries: 0,
            init_request: parsed.bytes().to_vec(),
            init_response: response.clone(),
            init_retransmit: None,
            sa: Some(sa),
            deadline: now + self.cfg.half_open_timeout,
            peer: from,
            transport,
            nat,
        });
        self.send(response, from, transport);
        if self.sa.is_none() {
            self.set_state(State::InitAnswered);
        }
    }

    /// Retransmission and give-up of the handshake.
    pub(super) fn half_open_timers(&mut self, now: Instant) {
        let retransmit = self.cfg.retransmit;
        let Some(h) = self.half_open.as_mut() else {
            return;
        };
        let exchange = if h.sa.is_some() {
            "IKE_AUTH"
        } else {
            "IKE_SA_INIT"
        };
        let mut give_up = h.deadline <= now;
        let mut resend = None;
        if let Some((at, sent)) = h.init_retransmit
            && at <= now
        {
            if sent > retransmit.tries {
                give_up = true;
            } else {
                h.init_retransmit = Some((now + retransmit.wait(sent), sent + 1));
                resend = Some((h.init_request.clone(), h.peer, Transport::Ike));
            }
        }
        if h.initiator
            && let Some(sa) = h.sa.as_mut()
            && let Some(o) = sa.outstanding.as_mut()
            && o.retransmit_at <= now
        {
            if o.sent > retransmit.tries {
                give_up = true;
            } else {
                o.retransmit_at = now + retransmit.wait(o.sent);
                o.sent += 1;
                resend = Some((o.datagram.clone(), h.peer, h.transport));
            }
        }
        if give_up {
            let initiator = h.initiator;
            self.half_open = None;
            if initiator {
                self.fail(exchange, Failure::Timeout);
                self.after_loss(now, None);
            } else {
                debug!("half-open IKE SA timed out");
                if self.sa.is_none() {
                    self.set_state(State::Idle);
                }
            }
            return;
        }
        if let Some((d, to, t)) = resend {
            debug!(exchange, "retransmitting");
            self.send(d, to, t);
        }
    }
}
