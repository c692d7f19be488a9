//! IKE_AUTH (RFC 7296 §1.2, §2.15) with pre-shared keys, both roles, and the first CHILD_SA.
//!
//! ```text
//!  Initiator                                   Responder
//!  HDR, SK {IDi, [N(INITIAL_CONTACT)], [IDr], AUTH, SAi2, TSi, TSr}  -->
//!                  <--  HDR, SK {IDr, AUTH, SAr2, TSi, TSr}
//!                  <--  HDR, SK {N(AUTHENTICATION_FAILED)}            (no IKE SA)
//!                  <--  HDR, SK {IDr, AUTH, N(NO_PROPOSAL_CHOSEN)}    (IKE SA, no CHILD_SA)
//!                  <--  HDR, SK {IDr, AUTH, N(TS_UNACCEPTABLE)}       (IKE SA, no CHILD_SA)
//! ```
//!
//! The first CHILD_SA takes KEYMAT from SK_d and the IKE_SA_INIT nonces (§2.17); PFS groups are
//! not negotiated here (§1.2), only remembered for rekeys. Traffic selectors are narrowed to
//! the intersection with ours (§2.9).
//!
//! What it does not do: certificates, EAP, multiple authentication rounds, configuration payloads.

use std::net::SocketAddr;
use std::time::Instant;

use tracing::{info, warn};

use super::ike_sa::{Pending, Request};
use super::init::{find_notify, first_error, notify};
use super::{Action, ChildSaDirection};
use super::{After, ChildSa, Event, Failure, IkeSession, NewChildSa, Side, State, Transport};
use crate::ike::keys::{ChildKeyMaterial, auth_matches, child_key_material, psk_auth};
use crate::ike::suite::{EspSuite, accepted_esp, choose_esp, esp_proposals, esp_reply};
use crate::ike::wire::{ExchangeType, Identity, NotifyType, Payload, TrafficSelector, auth_method};
use secret::Secret;

/// A CHILD_SA to install once the exchange that created it is answered.
#[derive(Debug)]
pub(super) struct ChildInstall {
    pub(super) inbound_spi: u32,
    pub(super) outbound_spi: u32,
    pub(super) suite: EspSuite,
    pub(super) keymat: ChildKeyMaterial,
    /// We sent the request of the exchange that created it.
    pub(super) we_initiated: bool,
    pub(super) local_ts: Vec<TrafficSelector>,
    pub(super) remote_ts: Vec<TrafficSelector>,
    pub(super) rekey_of: Option<u32>,
    pub(super) nonces: [Vec<u8>; 2],
    pub(super) activate: bool,
}

/// The intersection of every proposed selector with every allowed one (RFC 7296 §2.9).
pub(super) fn narrow(
    proposed: &[TrafficSelector],
    allowed: &[TrafficSelector],
) -> Vec<TrafficSelector> {
    let mut out = Vec::new();
    for p in proposed {
        for a in allowed {
            if let Some(i) = p.intersect(a)
                && !out.contains(&i)
            {
                out.push(i);
            }
        }
    }
    out
}

/// Every returned selector lies within one we proposed.
pub(super) fn within(returned: &[TrafficSelector], proposed: &[TrafficSelector]) -> bool {
    !returned.is_empty()
        && returned
            .iter()
            .all(|r| proposed.iter().any(|p| p.contains(r)))
}

pub(super) fn spi_u32(spi: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(spi).ok().map(u32::from_be_bytes)
}

impl IkeSession {
    pub(super) fn send_auth_request(&mut self, now: Instant) {
        let child_spi = self.random_child_spi();
        let first_contact = self.sa.is_none();
        let cfg = &self.cfg;
        let wait = cfg.retransmit.wait(0);
        let Some(h) = self.half_open.as_mut() else {
            return;
        };
        let Some(sa) = h.sa.as_mut() else { return };
        let auth = psk_auth(
            sa.suite.prf,
            &cfg.psk,
            &h.init_request,
            &h.nr,
            &sa.keys.sk_pi,
            &cfg.local_id.payload_body(),
        );
        let mut payloads = vec![Payload::IdInitiator(cfg.local_id.clone())];
        if first_contact {
            payloads.push(notify(NotifyType::INITIAL_CONTACT, Vec::new()));
        }
        if let Some(r) = &cfg.remote_id {
            payloads.push(Payload::IdResponder(r.clone()));
        }
        payloads.push(Payload::Auth {
            method: auth_method::SHARED_KEY_MIC,
            data: auth.expose().to_vec(),
        });
        payloads.push(Payload::Sa(esp_proposals(
            &cfg.esp_suites,
            child_spi,
            false,
        )));
        payloads.push(Payload::TsInitiator(cfg.local_ts.clone()));
        payloads.push(Payload::TsResponder(cfg.remote_ts.clone()));
        let datagram = sa.start_request(
            now,
            ExchangeType::IkeAuth,
            payloads,
            Request::IkeAuth { child_spi },
            wait,
        );
        let (to, transport) = (h.peer, h.transport);
        self.send(datagram, to, transport);
        self.set_state(State::AuthSent);
    }

    /// Responder: verifies the initiator's AUTH and answers with ours and the CHILD_SA.
    pub(super) fn on_auth_request(
        &mut self,
        _now: Instant,
        payloads: Vec<Payload>,
        from: SocketAddr,
        transport: Transport,
    ) -> (Vec<Payload>, After) {
        let mut idi = None;
        let mut auth = None;
        let mut sa_props = None;
        let mut tsi = None;
        let mut tsr = None;
        for p in &payloads {
            match p {
                Payload::IdInitiator(id) => idi = Some(id.clone()),
                Payload::Auth { method, data } => auth = Some((*method, data.clone())),
                Payload::Sa(props) => sa_props = Some(props.clone()),
                Payload::TsInitiator(ts) => tsi = Some(ts.clone()),
                Payload::TsResponder(ts) => tsr = Some(ts.clone()),
                _ => {}
            }
        }
        let auth_failed = |s: &mut IkeSession, failure: Failure| {
            s.fail("IKE_AUTH", failure);
            (
                vec![notify(NotifyType::AUTHENTICATION_FAILED, Vec::new())],
                After::DropHalfOpen,
            )
        };
        let (Some(idi), Some((method, auth_data))) = (idi, auth) else {
            return auth_failed(
                self,
                Failure::Malformed("IKE_AUTH lacks IDi or AUTH".into()),
            );
        };
        if let Some(want) = &self.cfg.remote_id
            && *want != idi
        {
            return auth_failed(
                self,
                Failure::IdentityMismatch {
                    presented: idi.to_string(),
                },
            );
        }
        if method != auth_method::SHARED_KEY_MIC {
            return auth_failed(
                self,
                Failure::Malformed(format!("authentication method {method}, we only do PSK")),
            );
        }
        let cfg = &self.cfg;
        let Some(h) = self.half_open.as_ref() else {
            return (Vec::new(), After::Nothing);
        };
        let Some(sa) = h.sa.as_ref() else {
            return (Vec::new(), After::Nothing);
        };
        let prf = sa.suite.prf;
        let expected = psk_auth(
            prf,
            &cfg.psk,
            &h.init_request,
            &h.nr,
            &sa.keys.sk_pi,
            &idi.payload_body(),
        );
        if !auth_matches(&expected, &auth_data) {
            // One clear line; the PSK itself never appears anywhere.
            warn!(peer = %from, id = %idi, "IKE_AUTH: pre-shared key mismatch, answering AUTHENTICATION_FAILED");
            self.last_failure = Some("IKE_AUTH: AUTHENTICATION_FAILED (by us)".into());
            self.event(Event::Failed {
                exchange: "IKE_AUTH",
                failure: Failure::AuthenticationFailed(Side::Local),
            });
            return (
                vec![notify(NotifyType::AUTHENTICATION_FAILED, Vec::new())],
                After::DropHalfOpen,
            );
        }
        let ours = psk_auth(
            prf,
            &cfg.psk,
            &h.init_response,
            &h.ni,
            &sa.keys.sk_pr,
            &cfg.local_id.payload_body(),
        );
        let mut reply = vec![
            Payload::IdResponder(cfg.local_id.clone()),
            Payload::Auth {
                method: auth_method::SHARED_KEY_MIC,
                data: ours.expose().to_vec(),
            },
        ];
        let (ni, nr) = (h.ni.clone(), h.nr.clone());
        let sk_d = sa.keys.sk_d.clone();
        info!(peer = %from, id = %idi, "IKE_AUTH: peer authenticated");
        if let Some(h) = self.half_open.as_mut() {
            h.peer = from;
            h.transport = transport;
            if let Some(sa) = h.sa.as_mut() {
                sa.peer_id = Some(idi.clone());
            }
        }
        let (Some(props), Some(tsi), Some(tsr)) = (sa_props, tsi, tsr) else {
            self.fail(
                "IKE_AUTH",
                Failure::Malformed("no CHILD_SA requested".into()),
            );
            reply.push(notify(NotifyType::INVALID_SYNTAX, Vec::new()));
            return (reply, After::PromoteHalfOpen(None));
        };
        let Some(chosen) = choose_esp(&self.cfg.esp_suites, &props, false) else {
            self.fail(
                "IKE_AUTH (CHILD_SA)",
                Failure::NoProposalChosen(Side::Local),
            );
            reply.push(notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new()));
            return (reply, After::PromoteHalfOpen(None));
        };
        let ts_i = narrow(&tsi, &self.cfg.remote_ts);
        let ts_r = narrow(&tsr, &self.cfg.local_ts);
        let Some(outbound_spi) = spi_u32(&chosen.peer_spi) else {
            reply.push(notify(NotifyType::INVALID_SYNTAX, Vec::new()));
            return (reply, After::PromoteHalfOpen(None));
        };
        if ts_i.is_empty() || ts_r.is_empty() {
            self.fail("IKE_AUTH (CHILD_SA)", Failure::TsUnacceptable(Side::Local));
            reply.push(notify(NotifyType::TS_UNACCEPTABLE, Vec::new()));
            return (reply, After::PromoteHalfOpen(None));
        }
        let keymat = match child_key_material(prf, chosen.suite.cipher, &sk_d, None, &ni, &nr) {
            Ok(k) => k,
            Err(e) => {
                self.fail("IKE_AUTH", Failure::Crypto(e.to_string()));
                reply.push(notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new()));
                return (reply, After::PromoteHalfOpen(None));
            }
        };
        let inbound_spi = self.random_child_spi();
        reply.push(Payload::Sa(vec![esp_reply(&chosen, inbound_spi, false)]));
        reply.push(Payload::TsInitiator(ts_i.clone()));
        reply.push(Payload::TsResponder(ts_r.clone()));
        let install = ChildInstall {
            inbound_spi,
            outbound_spi,
            suite: chosen.suite,
            keymat,
            we_initiated: false,
            local_ts: ts_r,
            remote_ts: ts_i,
            rekey_of: None,
            nonces: [ni, nr],
            activate: true,
        };
        (reply, After::PromoteHalfOpen(Some(Box::new(install))))
    }

    /// Initiator: checks the responder's AUTH and installs the first CHILD_SA.
    pub(super) fn on_auth_response(
        &mut self,
        now: Instant,
        child_spi: u32,
        payloads: Vec<Payload>,
    ) {
        if find_notify(&payloads, NotifyType::AUTHENTICATION_FAILED).is_some() {
            self.auth_failed(now, Failure::AuthenticationFailed(Side::Peer));
            return;
        }
        let mut idr = None;
        let mut auth = None;
        for p in &payloads {
            match p {
                Payload::IdResponder(id) => idr = Some(id.clone()),
                Payload::Auth { method, data } => auth = Some((*method, data.clone())),
                _ => {}
            }
        }
        let (Some(idr), Some((method, auth_data))) = (idr, auth) else {
            let failure = match first_error(&payloads) {
                Some(n) => Failure::PeerError(n),
                None => Failure::Malformed("IKE_AUTH response lacks IDr or AUTH".into()),
            };
            self.auth_failed(now, failure);
            return;
        };
        if let Some(want) = &self.cfg.remote_id
            && *want != idr
        {
            self.auth_failed(
                now,
                Failure::IdentityMismatch {
                    presented: idr.to_string(),
                },
            );
            return;
        }
        let cfg = &self.cfg;
        let Some(h) = self.half_open.as_ref() else {
            return;
        };
        let Some(sa) = h.sa.as_ref() else { return };
        let expected = psk_auth(
            sa.suite.prf,
            &cfg.psk,
            &h.init_response,
            &h.ni,
            &sa.keys.sk_pr,
            &idr.payload_body(),
        );
        if method != auth_method::SHARED_KEY_MIC || !auth_matches(&expected, &auth_data) {
            warn!(id = %idr, "IKE_AUTH: responder's AUTH does not verify (pre-shared key mismatch)");
            self.auth_failed(now, Failure::AuthenticationFailed(Side::Local));
            return;
        }
        if let Some(h) = self.half_open.as_mut()
            && let Some(sa) = h.sa.as_mut()
        {
            sa.peer_id = Some(idr);
        }
        let Some((ni, nr)) = self.promote_half_open(now) else {
            return;
        };
        self.child_from_auth_response(now, child_spi, &payloads, ni, nr);
    }

    fn child_from_auth_response(
        &mut self,
        now: Instant,
        child_spi: u32,
        payloads: &[Payload],
        ni: Vec<u8>,
        nr: Vec<u8>,
    ) {
        let mut props = None;
        let mut tsi = None;
        let mut tsr = None;
        for p in payloads {
            match p {
                Payload::Sa(x) => props = Some(x),
                Payload::TsInitiator(x) => tsi = Some(x),
                Payload::TsResponder(x) => tsr = Some(x),
                _ => {}
            }
        }
        let failure = first_error(payloads).map(|err| match err {
            NotifyType::NO_PROPOSAL_CHOSEN => Failure::NoProposalChosen(Side::Peer),
            NotifyType::TS_UNACCEPTABLE => Failure::TsUnacceptable(Side::Peer),
            other => Failure::PeerError(other),
        });
        let accepted = props.and_then(|p| {
            let suite = accepted_esp(&self.cfg.esp_suites, p, false)?;
            let spi = spi_u32(&p.first()?.spi)?;
            Some((suite, spi))
        });
        let result = match (failure, accepted, tsi, tsr) {
            (Some(f), ..) => Err(f),
            (None, Some((suite, spi)), Some(tsi), Some(tsr)) => {
                if within(tsi, &self.cfg.local_ts) && within(tsr, &self.cfg.remote_ts) {
                    Ok((suite, spi, tsi.clone(), tsr.clone()))
                } else {
                    Err(Failure::TsUnacceptable(Side::Local))
                }
            }
            _ => Err(Failure::Malformed(
                "IKE_AUTH response lacks a usable SA or TS".into(),
            )),
        };
        let (suite, outbound_spi, tsi, tsr) = match result {
            Ok(x) => x,
            Err(f) => {
                // An IKE SA without a CHILD_SA carries nothing for a route-based tunnel: delete it.
                self.fail("IKE_AUTH (CHILD_SA)", f);
                self.queue(Pending::DeleteIke);
                return;
            }
        };
        let Some(sa) = self.sa.as_ref() else { return };
        let keymat =
            match child_key_material(sa.suite.prf, suite.cipher, &sa.keys.sk_d, None, &ni, &nr) {
                Ok(k) => k,
                Err(e) => {
                    self.fail("IKE_AUTH", Failure::Crypto(e.to_string()));
                    self.queue(Pending::DeleteIke);
                    return;
                }
            };
        self.install_child(
            now,
            ChildInstall {
                inbound_spi: child_spi,
                outbound_spi,
                suite,
                keymat,
                we_initiated: true,
                local_ts: tsi,
                remote_ts: tsr,
                rekey_of: None,
                nonces: [ni, nr],
                activate: true,
            },
        );
    }

    fn auth_failed(&mut self, now: Instant, failure: Failure) {
        self.fail("IKE_AUTH", failure);
        self.half_open = None;
        self.after_loss(now, None);
    }

    /// Makes the authenticated half-open SA the current one, replacing an older IKE SA with the
    /// same peer (it restarted: RFC 7296 §2.4 INITIAL_CONTACT semantics, one tunnel one peer).
    /// Returns the IKE_SA_INIT nonces.
    pub(super) fn promote_half_open(&mut self, now: Instant) -> Option<(Vec<u8>, Vec<u8>)> {
        let h = self.half_open.take()?;
        let mut sa = h.sa?;
        if self.sa.is_some() {
            info!("a new IKE SA with the peer replaces the old one");
            let remote = (h.peer, h.transport);
            self.teardown("replaced by a new IKE SA from the peer");
            (self.remote, self.transport) = remote;
        }
        self.remote = h.peer;
        self.transport = h.transport;
        self.nat_t = h.transport == Transport::NatT || h.nat.any();
        self.local_behind_nat = h.nat.local_behind_nat;
        sa.established_at = Some(now);
        let rekey = self.rekey_after(self.cfg.ike_lifetime);
        sa.rekey_at = Some(now + rekey);
        sa.expire_at = Some(now + self.cfg.ike_lifetime);
        let peer_id = sa.peer_id.clone().unwrap_or(Identity::KeyId(Vec::new()));
        let (spi_i, spi_r, suite, initiator) =
            (sa.spi_i, sa.spi_r, sa.suite, sa.original_initiator);
        self.sa = Some(sa);
        self.stats.established += 1;
        self.note_alive(now);
        info!(
            spi_i = format_args!("{spi_i:016x}"),
            spi_r = format_args!("{spi_r:016x}"),
            suite = %suite,
            "IKE SA established"
        );
        self.event(Event::IkeSaEstablished {
            spi_i,
            spi_r,
            suite,
            initiator,
            peer_id,
            nat_t: self.nat_t,
        });
        self.set_state(State::Established);
        Some((h.ni, h.nr))
    }

    /// Records a new CHILD_SA and hands its keys to the data plane.
    pub(super) fn install_child(&mut self, now: Instant, c: ChildInstall) {
        let (inbound_key, outbound_key): (Secret<Vec<u8>>, Secret<Vec<u8>>) = if c.we_initiated {
            (
                c.keymat.responder_to_initiator,
                c.keymat.initiator_to_responder,
            )
        } else {
            (
                c.keymat.initiator_to_responder,
                c.keymat.responder_to_initiator,
            )
        };
        let rekey_after = self.rekey_after(self.cfg.child_lifetime);
        if c.activate {
            for other in &mut self.children {
                other.outbound_active = false;
            }
        }
        self.children.push(ChildSa {
            inbound_spi: c.inbound_spi,
            outbound_spi: c.outbound_spi,
            suite: c.suite,
            local_ts: c.local_ts.clone(),
            remote_ts: c.remote_ts.clone(),
            established_at: now,
            rekey_at: now + rekey_after,
            expire_at: now + self.cfg.child_lifetime,
            rekey_of: c.rekey_of,
            created_by_us: c.we_initiated,
            nonces: c.nonces,
            superseded: false,
            outbound_active: c.activate,
            rekeying: false,
        });
        info!(
            inbound = format_args!("{:#010x}", c.inbound_spi),
            outbound = format_args!("{:#010x}", c.outbound_spi),
            suite = %c.suite,
            rekey_of = ?c.rekey_of,
            "CHILD_SA installed"
        );
        self.out.push(Action::InstallChild {
            sa: NewChildSa {
                inbound: ChildSaDirection {
                    spi: c.inbound_spi,
                    cipher: c.suite.cipher,
                    keymat: inbound_key,
                },
                outbound: ChildSaDirection {
                    spi: c.outbound_spi,
                    cipher: c.suite.cipher,
                    keymat: outbound_key,
                },
                suite: c.suite,
                local_ts: c.local_ts,
                remote_ts: c.remote_ts,
                replaces: c.rekey_of,
            },
            activate_outbound: c.activate,
        });
        self.event(Event::ChildSaInstalled {
            inbound_spi: c.inbound_spi,
            outbound_spi: c.outbound_spi,
            suite: c.suite,
            rekey_of: c.rekey_of,
        });
    }
}
