//! CREATE_CHILD_SA (RFC 7296 §1.3): rekeying CHILD_SAs (make-before-break, with PFS when the
//! suite has a group) and the IKE SA, both roles; simultaneous CHILD_SA rekeys (§2.8.1).
//!
//! ```text
//!  CHILD_SA rekey (§1.3.3)
//!  HDR, SK {N(REKEY_SA), SA, Ni, [KEi], TSi, TSr}  -->
//!                              <--  HDR, SK {SA, Nr, [KEr], TSi, TSr}
//!  then the initiator sends with the new SA and deletes the old one (INFORMATIONAL).
//!
//!  IKE SA rekey (§1.3.2)
//!  HDR, SK {SA, Ni, KEi}  -->  <--  HDR, SK {SA, Nr, KEr}
//!  SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr); CHILD_SAs move to the new IKE SA;
//!  the initiator deletes the old IKE SA.
//!
//!  Simultaneous CHILD_SA rekey (§2.8.1): both sides created a successor of the same SA. The one
//!  created with the lowest of the four nonces is deleted by whoever created it; the creator of
//!  the survivor deletes the old SA.
//! ```
//!
//! What it does not do: more than one CHILD_SA besides rekeys (AWS: one SA pair per tunnel;
//! extra requests get NO_ADDITIONAL_SAS), or resolve simultaneous *IKE SA* rekeys by nonces: a
//! request colliding with our own IKE SA rekey is answered TEMPORARY_FAILURE and both sides retry
//! after a random delay (RFC 7296 §2.25 allows this answer).

use std::time::{Duration, Instant};

use tracing::{debug, info};

use super::auth::{ChildInstall, narrow, spi_u32};
use super::ike_sa::{IkeSa, Pending, Request};
use super::init::{find_notify, first_error, notify};
use super::{Action, After, Event, Failure, IkeSession, Side};
use crate::crypto::dh::{DhGroup, DhPrivate};
use crate::ike::keys::{IkeSaKeys, child_key_material, ike_key_material, rekeyed_skeyseed};
use crate::ike::suite::{
    EspSuite, IkeSuite, accepted_esp, accepted_ike, choose_esp, choose_ike, esp_proposals,
    esp_reply, ike_proposals, ike_reply,
};
use crate::ike::wire::{ExchangeType, Notify, NotifyType, Payload, ProtocolId};

/// A retry after TEMPORARY_FAILURE waits 1 to 5 seconds (strongSwan waits a random time too).
fn retry_delay(rng: &mut dyn rand::RngCore) -> Duration {
    Duration::from_millis(1000 + rng.next_u64() % 4000)
}

fn ke_group(payloads: &[Payload]) -> Option<(u16, &Vec<u8>)> {
    payloads.iter().find_map(|p| match p {
        Payload::KeyExchange { group, data } => Some((*group, data)),
        _ => None,
    })
}

fn nonce_of(payloads: &[Payload]) -> Option<&Vec<u8>> {
    payloads.iter().find_map(|p| match p {
        Payload::Nonce(n) => Some(n),
        _ => None,
    })
}

impl IkeSession {
    /// CREATE_CHILD_SA for a CHILD_SA: a rekey of `old` (our inbound SPI) or, with `None`, a new one.
    pub(super) fn start_create_child(&mut self, now: Instant, old: Option<u32>) {
        let current = match old {
            Some(spi) => match self
                .children
                .iter()
                .find(|c| c.inbound_spi == spi && !c.superseded)
            {
                Some(c) => Some(c.suite),
                None => return,
            },
            None => None,
        };
        let mut offered: Vec<EspSuite> = current.into_iter().collect();
        for s in &self.cfg.esp_suites {
            if !offered.contains(s) {
                offered.push(*s);
            }
        }
        self.send_create_child(now, old, offered);
    }

    fn send_create_child(&mut self, now: Instant, old: Option<u32>, offered: Vec<EspSuite>) {
        let Some(first) = offered.first().copied() else {
            return;
        };
        let dh = match first
            .pfs
            .map(|g| DhPrivate::generate(g, &self.dh_rng))
            .transpose()
        {
            Ok(d) => d,
            Err(e) => {
                self.fail("CREATE_CHILD_SA", Failure::Crypto(e.to_string()));
                return;
            }
        };
        let new_inbound = self.random_child_spi();
        let nonce = self.nonce();
        let (local_ts, remote_ts) =
            match old.and_then(|s| self.children.iter().find(|c| c.inbound_spi == s)) {
                Some(c) => (c.local_ts.clone(), c.remote_ts.clone()),
                None => (self.cfg.local_ts.clone(), self.cfg.remote_ts.clone()),
            };
        let mut payloads = Vec::new();
        if let Some(spi) = old {
            payloads.push(Payload::Notify(Notify {
                protocol: ProtocolId::Esp,
                spi: spi.to_be_bytes().to_vec(),
                kind: NotifyType::REKEY_SA,
                data: Vec::new(),
            }));
        }
        payloads.push(Payload::Sa(esp_proposals(&offered, new_inbound, true)));
        payloads.push(Payload::Nonce(nonce.clone()));
        if let (Some(dh), Some(g)) = (&dh, first.pfs) {
            payloads.push(Payload::KeyExchange {
                group: g.transform_id(),
                data: dh.public().to_vec(),
            });
        }
        payloads.push(Payload::TsInitiator(local_ts));
        payloads.push(Payload::TsResponder(remote_ts));
        let wait = self.cfg.retransmit.wait(0);
        let Some(sa) = self.sa.as_mut() else { return };
        debug!(old = ?old, "starting CREATE_CHILD_SA");
        let datagram = sa.start_request(
            now,
            ExchangeType::CreateChildSa,
            payloads,
            Request::CreateChild {
                old_inbound: old,
                new_inbound,
                offered,
                nonce,
                dh,
            },
            wait,
        );
        self.send_to_peer(datagram);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_create_child_response(
        &mut self,
        now: Instant,
        old: Option<u32>,
        new_inbound: u32,
        offered: Vec<EspSuite>,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
        payloads: Vec<Payload>,
    ) {
        let stop_rekeying = |s: &mut IkeSession, retry_at: Option<Instant>| {
            if let Some(c) =
                old.and_then(|spi| s.children.iter_mut().find(|c| c.inbound_spi == spi))
            {
                c.rekeying = false;
                c.rekey_at = retry_at.unwrap_or(c.expire_at).min(c.expire_at);
            }
        };
        if let Some(err) = first_error(&payloads) {
            match err {
                NotifyType::TEMPORARY_FAILURE => {
                    let at = now + retry_delay(&mut *self.rng);
                    info!("peer answered TEMPORARY_FAILURE to our CHILD_SA rekey; retrying later");
                    stop_rekeying(self, Some(at));
                }
                NotifyType::INVALID_KE_PAYLOAD => {
                    let wanted = find_notify(&payloads, NotifyType::INVALID_KE_PAYLOAD)
                        .and_then(|n| <[u8; 2]>::try_from(n.data.as_slice()).ok())
                        .and_then(|b| DhGroup::from_transform_id(u16::from_be_bytes(b)));
                    let pick = wanted.and_then(|g| offered.iter().position(|s| s.pfs == Some(g)));
                    match pick {
                        Some(i) if i != 0 => {
                            let mut reordered = offered.clone();
                            let s = reordered.remove(i);
                            reordered.insert(0, s);
                            info!("peer wants another PFS group; retrying CREATE_CHILD_SA");
                            self.send_create_child(now, old, reordered);
                        }
                        _ => {
                            self.fail("CREATE_CHILD_SA", Failure::PeerError(err));
                            stop_rekeying(self, None);
                        }
                    }
                }
                NotifyType::CHILD_SA_NOT_FOUND => {
                    info!("peer does not know the CHILD_SA we rekey; creating a new one");
                    if let Some(spi) = old {
                        self.remove_child(spi, "unknown to the peer");
                    }
                    self.send_create_child(now, None, offered);
                }
                other => {
                    let failure = match other {
                        NotifyType::NO_PROPOSAL_CHOSEN => Failure::NoProposalChosen(Side::Peer),
                        NotifyType::TS_UNACCEPTABLE => Failure::TsUnacceptable(Side::Peer),
                        o => Failure::PeerError(o),
                    };
                    self.fail("CREATE_CHILD_SA", failure);
                    stop_rekeying(self, None);
                }
            }
            return;
        }
        let props = payloads.iter().find_map(|p| match p {
            Payload::Sa(x) => Some(x),
            _ => None,
        });
        let suite = props.and_then(|p| accepted_esp(&offered, p, true));
        let outbound = props.and_then(|p| p.first()).and_then(|p| spi_u32(&p.spi));
        let tsi = payloads.iter().find_map(|p| match p {
            Payload::TsInitiator(x) => Some(x.clone()),
            _ => None,
        });
        let tsr = payloads.iter().find_map(|p| match p {
            Payload::TsResponder(x) => Some(x.clone()),
            _ => None,
        });
        let (Some(suite), Some(outbound_spi), Some(nr), Some(tsi), Some(tsr)) =
            (suite, outbound, nonce_of(&payloads), tsi, tsr)
        else {
            self.fail(
                "CREATE_CHILD_SA",
                Failure::Malformed("response lacks SA, Nr or TS".into()),
            );
            stop_rekeying(self, None);
            return;
        };
        let g_ir = match (suite.pfs, dh, ke_group(&payloads)) {
            (None, _, _) => None,
            (Some(g), Some(dh), Some((group, data)))
                if group == g.transform_id() && dh.group() == g =>
            {
                match dh.agree(data) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        self.fail("CREATE_CHILD_SA", Failure::Malformed(e.to_string()));
                        stop_rekeying(self, None);
                        return;
                    }
                }
            }
            _ => {
                self.fail(
                    "CREATE_CHILD_SA",
                    Failure::Malformed("KE missing or of the wrong group".into()),
                );
                stop_rekeying(self, None);
                return;
            }
        };
        let Some(sa) = self.sa.as_ref() else { return };
        let keymat = match child_key_material(
            sa.suite.prf,
            suite.cipher,
            &sa.keys.sk_d,
            g_ir.as_ref(),
            &ni,
            nr,
        ) {
            Ok(k) => k,
            Err(e) => {
                self.fail("CREATE_CHILD_SA", Failure::Crypto(e.to_string()));
                stop_rekeying(self, None);
                return;
            }
        };
        let nr = nr.clone();
        if let Some(spi) = old
            && let Some(c) = self.children.iter_mut().find(|c| c.inbound_spi == spi)
        {
            c.superseded = true;
            c.rekeying = false;
        }
        self.install_child(
            now,
            ChildInstall {
                inbound_spi: new_inbound,
                outbound_spi,
                suite,
                keymat,
                we_initiated: true,
                local_ts: tsi,
                remote_ts: tsr,
                rekey_of: old,
                nonces: [ni, nr],
                activate: true,
            },
        );
        if let Some(spi) = old {
            self.stats.child_rekeys += 1;
            let collided = self.resolve_collision(spi);
            if collided != Some(false) {
                self.queue(Pending::DeleteChild(spi));
            }
        }
    }

    /// If two successors of `old` exist, applies RFC 7296 §2.8.1. Returns `None` without a
    /// collision, else whether our successor survived (and so we delete `old`).
    pub(super) fn resolve_collision(&mut self, old: u32) -> Option<bool> {
        let successors: Vec<usize> = self
            .children
            .iter()
            .enumerate()
            .filter(|(_, c)| c.rekey_of == Some(old) && !c.superseded)
            .map(|(i, _)| i)
            .collect();
        let [a, b] = successors[..] else { return None };
        let (ca, cb) = (&self.children[a], &self.children[b]);
        let loser = if ca.lowest_nonce() <= cb.lowest_nonce() {
            a
        } else {
            b
        };
        let winner = if loser == a { b } else { a };
        let loser_ours = self.children[loser].created_by_us;
        let loser_spi = self.children[loser].inbound_spi;
        let winner_spi = self.children[winner].inbound_spi;
        info!(
            old = format_args!("{old:#010x}"),
            survivor = format_args!("{winner_spi:#010x}"),
            "simultaneous CHILD_SA rekey resolved by nonces"
        );
        self.children[loser].superseded = true;
        let winner_ours = self.children[winner].created_by_us;
        // Send with an SA the peer surely has: our own survivor, or else the old SA until the
        // peer (the survivor's creator, who then has it installed) deletes the old one, when
        // `remove_child` moves traffic to the survivor.
        let target = if winner_ours {
            Some(winner_spi)
        } else {
            self.children
                .iter()
                .find(|c| c.inbound_spi == old)
                .map(|c| c.inbound_spi)
                .or(Some(winner_spi))
        };
        if let Some(t) = target
            && !self
                .children
                .iter()
                .any(|c| c.inbound_spi == t && c.outbound_active)
        {
            for c in &mut self.children {
                c.outbound_active = c.inbound_spi == t;
            }
            self.out.push(Action::SwitchOutbound { inbound_spi: t });
        }
        if loser_ours {
            self.queue(Pending::DeleteChild(loser_spi));
        }
        Some(self.children[winner].created_by_us)
    }

    /// Responder side of CREATE_CHILD_SA.
    pub(super) fn on_create_child_request(
        &mut self,
        now: Instant,
        payloads: Vec<Payload>,
    ) -> (Vec<Payload>, After) {
        let our_ike_rekey = self
            .sa
            .as_ref()
            .and_then(|s| s.outstanding.as_ref())
            .is_some_and(|o| matches!(o.request, Request::RekeyIke { .. }));
        if our_ike_rekey {
            debug!("CREATE_CHILD_SA collides with our IKE SA rekey: TEMPORARY_FAILURE");
            return (
                vec![notify(NotifyType::TEMPORARY_FAILURE, Vec::new())],
                After::Nothing,
            );
        }
        let props = payloads.iter().find_map(|p| match p {
            Payload::Sa(x) => Some(x.clone()),
            _ => None,
        });
        let Some(props) = props else {
            return (
                vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
                After::Nothing,
            );
        };
        if props.iter().any(|p| p.protocol == ProtocolId::Ike) {
            return self.on_ike_rekey_request(now, &props, &payloads);
        }
        let rekey = payloads.iter().find_map(|p| match p {
            Payload::Notify(n) if n.kind == NotifyType::REKEY_SA => Some(n.spi.clone()),
            _ => None,
        });
        let old = match rekey {
            Some(spi) => {
                let found = spi_u32(&spi).and_then(|s| {
                    self.children
                        .iter()
                        .find(|c| c.outbound_spi == s)
                        .map(|c| c.inbound_spi)
                });
                match found {
                    Some(inbound)
                        if self
                            .children
                            .iter()
                            .any(|c| c.rekey_of == Some(inbound) && c.created_by_us) =>
                    {
                        // We rekeyed it already and are about to delete it: the peer learns
                        // that from our DELETE and need not retry.
                        debug!("peer rekeys a CHILD_SA we already rekeyed: TEMPORARY_FAILURE");
                        return (
                            vec![notify(NotifyType::TEMPORARY_FAILURE, Vec::new())],
                            After::Nothing,
                        );
                    }
                    Some(inbound) => Some(inbound),
                    None => {
                        return (
                            vec![Payload::Notify(Notify {
                                protocol: ProtocolId::Esp,
                                spi,
                                kind: NotifyType::CHILD_SA_NOT_FOUND,
                                data: Vec::new(),
                            })],
                            After::Nothing,
                        );
                    }
                }
            }
            None => {
                if self.children.iter().any(|c| !c.superseded) {
                    return (
                        vec![notify(NotifyType::NO_ADDITIONAL_SAS, Vec::new())],
                        After::Nothing,
                    );
                }
                None
            }
        };
        let Some(chosen) = choose_esp(&self.cfg.esp_suites, &props, true) else {
            self.fail("CREATE_CHILD_SA", Failure::NoProposalChosen(Side::Local));
            return (
                vec![notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new())],
                After::Nothing,
            );
        };
        let Some(ni) = nonce_of(&payloads).cloned() else {
            return (
                vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
                After::Nothing,
            );
        };
        let Some(outbound_spi) = spi_u32(&chosen.peer_spi) else {
            return (
                vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
                After::Nothing,
            );
        };
        let mut ke_reply = None;
        let g_ir = match (chosen.suite.pfs, ke_group(&payloads)) {
            (None, _) => None,
            (Some(g), Some((group, data))) if group == g.transform_id() => {
                let dh = match DhPrivate::generate(g, &self.dh_rng) {
                    Ok(d) => d,
                    Err(e) => {
                        self.fail("CREATE_CHILD_SA", Failure::Crypto(e.to_string()));
                        return (
                            vec![notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new())],
                            After::Nothing,
                        );
                    }
                };
                ke_reply = Some(Payload::KeyExchange {
                    group,
                    data: dh.public().to_vec(),
                });
                match dh.agree(data) {
                    Ok(s) => Some(s),
                    Err(_) => {
                        return (
                            vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
                            After::Nothing,
                        );
                    }
                }
            }
            (Some(g), _) => {
                return (
                    vec![notify(
                        NotifyType::INVALID_KE_PAYLOAD,
                        g.transform_id().to_be_bytes().to_vec(),
                    )],
                    After::Nothing,
                );
            }
        };
        let tsi = payloads.iter().find_map(|p| match p {
            Payload::TsInitiator(x) => Some(narrow(x, &self.cfg.remote_ts)),
            _ => None,
        });
        let tsr = payloads.iter().find_map(|p| match p {
            Payload::TsResponder(x) => Some(narrow(x, &self.cfg.local_ts)),
            _ => None,
        });
        let (Some(tsi), Some(tsr)) = (tsi, tsr) else {
            return (
                vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
                After::Nothing,
            );
        };
        if tsi.is_empty() || tsr.is_empty() {
            self.fail("CREATE_CHILD_SA", Failure::TsUnacceptable(Side::Local));
            return (
                vec![notify(NotifyType::TS_UNACCEPTABLE, Vec::new())],
                After::Nothing,
            );
        }
        let nr = self.nonce();
        let Some(sa) = self.sa.as_ref() else {
            return (Vec::new(), After::Nothing);
        };
        let keymat = match child_key_material(
            sa.suite.prf,
            chosen.suite.cipher,
            &sa.keys.sk_d,
            g_ir.as_ref(),
            &ni,
            &nr,
        ) {
            Ok(k) => k,
            Err(e) => {
                self.fail("CREATE_CHILD_SA", Failure::Crypto(e.to_string()));
                return (
                    vec![notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new())],
                    After::Nothing,
                );
            }
        };
        let inbound_spi = self.random_child_spi();
        let mut reply = vec![
            Payload::Sa(vec![esp_reply(&chosen, inbound_spi, true)]),
            Payload::Nonce(nr.clone()),
        ];
        reply.extend(ke_reply);
        reply.push(Payload::TsInitiator(tsi.clone()));
        reply.push(Payload::TsResponder(tsr.clone()));
        // A rekey answered by us: keep sending on the old SA until the initiator deletes it
        // (it switches first, RFC 7296 §2.8). A fresh CHILD_SA carries traffic at once.
        let activate = old.is_none();
        if let Some(spi) = old {
            let ours_in_flight = self
                .sa
                .as_ref()
                .and_then(|s| s.outstanding.as_ref())
                .is_some_and(|o| matches!(o.request, Request::CreateChild { old_inbound: Some(x), .. } if x == spi));
            if !ours_in_flight {
                // Our own rekey of it, if merely queued, is no longer needed.
                if let Some(sa) = self.sa.as_mut() {
                    sa.queue.retain(|p| *p != Pending::RekeyChild(Some(spi)));
                }
                if let Some(c) = self.children.iter_mut().find(|c| c.inbound_spi == spi) {
                    c.superseded = true;
                    c.rekeying = false;
                }
            }
            self.stats.child_rekeys += 1;
        }
        self.install_child(
            now,
            ChildInstall {
                inbound_spi,
                outbound_spi,
                suite: chosen.suite,
                keymat,
                we_initiated: false,
                local_ts: tsr,
                remote_ts: tsi,
                rekey_of: old,
                nonces: [ni, nr],
                activate,
            },
        );
        if let Some(spi) = old {
            self.resolve_collision(spi);
        }
        (reply, After::Nothing)
    }

    /// Starts an IKE SA rekey.
    pub(super) fn start_ike_rekey(&mut self, now: Instant) {
        let Some(current) = self.sa.as_ref().map(|s| s.suite) else {
            return;
        };
        let mut offered = vec![current];
        for s in &self.cfg.ike_suites {
            if !offered.contains(s) {
                offered.push(*s);
            }
        }
        self.send_ike_rekey(now, offered);
    }

    fn send_ike_rekey(&mut self, now: Instant, offered: Vec<IkeSuite>) {
        let Some(first) = offered.first().copied() else {
            return;
        };
        let dh = match DhPrivate::generate(first.dh, &self.dh_rng) {
            Ok(d) => d,
            Err(e) => {
                self.fail(
                    "CREATE_CHILD_SA (IKE rekey)",
                    Failure::Crypto(e.to_string()),
                );
                return;
            }
        };
        let new_spi = self.random_u64();
        let nonce = self.nonce();
        let payloads = vec![
            Payload::Sa(ike_proposals(&offered, Some(new_spi))),
            Payload::Nonce(nonce.clone()),
            Payload::KeyExchange {
                group: first.dh.transform_id(),
                data: dh.public().to_vec(),
            },
        ];
        let wait = self.cfg.retransmit.wait(0);
        let Some(sa) = self.sa.as_mut() else { return };
        debug!("starting IKE SA rekey");
        let datagram = sa.start_request(
            now,
            ExchangeType::CreateChildSa,
            payloads,
            Request::RekeyIke {
                new_spi,
                offered,
                nonce,
                dh: Some(dh),
            },
            wait,
        );
        self.send_to_peer(datagram);
    }

    pub(super) fn on_ike_rekey_response(
        &mut self,
        now: Instant,
        new_spi: u64,
        offered: Vec<IkeSuite>,
        ni: Vec<u8>,
        dh: Option<DhPrivate>,
        payloads: Vec<Payload>,
    ) {
        if let Some(err) = first_error(&payloads) {
            match err {
                NotifyType::TEMPORARY_FAILURE => {
                    let at = now + retry_delay(&mut *self.rng);
                    info!("peer answered TEMPORARY_FAILURE to our IKE SA rekey; retrying later");
                    if let Some(sa) = self.sa.as_mut() {
                        sa.rekey_at = Some(at);
                    }
                }
                NotifyType::INVALID_KE_PAYLOAD => {
                    let wanted = find_notify(&payloads, NotifyType::INVALID_KE_PAYLOAD)
                        .and_then(|n| <[u8; 2]>::try_from(n.data.as_slice()).ok())
                        .and_then(|b| DhGroup::from_transform_id(u16::from_be_bytes(b)));
                    let pick = wanted.and_then(|g| offered.iter().position(|s| s.dh == g));
                    match pick {
                        Some(i) if i != 0 => {
                            let mut reordered = offered.clone();
                            let s = reordered.remove(i);
                            reordered.insert(0, s);
                            self.send_ike_rekey(now, reordered);
                        }
                        _ => self.fail("CREATE_CHILD_SA (IKE rekey)", Failure::PeerError(err)),
                    }
                }
                NotifyType::NO_PROPOSAL_CHOSEN => self.fail(
                    "CREATE_CHILD_SA (IKE rekey)",
                    Failure::NoProposalChosen(Side::Peer),
                ),
                other => self.fail("CREATE_CHILD_SA (IKE rekey)", Failure::PeerError(other)),
            }
            return;
        }
        let props = payloads.iter().find_map(|p| match p {
            Payload::Sa(x) => Some(x),
            _ => None,
        });
        let suite = props.and_then(|p| accepted_ike(&offered, p));
        let peer_spi = props
            .and_then(|p| p.first())
            .and_then(|p| <[u8; 8]>::try_from(p.spi.as_slice()).ok())
            .map(u64::from_be_bytes)
            .filter(|s| *s != 0);
        let (Some(suite), Some(peer_spi), Some(nr), Some((group, ke)), Some(dh)) = (
            suite,
            peer_spi,
            nonce_of(&payloads),
            ke_group(&payloads),
            dh,
        ) else {
            self.fail(
                "CREATE_CHILD_SA (IKE rekey)",
                Failure::Malformed("response lacks SA, Nr or KE".into()),
            );
            return;
        };
        if group != suite.dh.transform_id() || dh.group() != suite.dh {
            self.fail(
                "CREATE_CHILD_SA (IKE rekey)",
                Failure::Malformed("KE of the wrong group".into()),
            );
            return;
        }
        let g_ir = match dh.agree(ke) {
            Ok(s) => s,
            Err(e) => {
                self.fail(
                    "CREATE_CHILD_SA (IKE rekey)",
                    Failure::Malformed(e.to_string()),
                );
                return;
            }
        };
        let Some(old) = self.sa.as_ref() else { return };
        let seed = rekeyed_skeyseed(old.suite.prf, &old.keys.sk_d, &g_ir, &ni, nr);
        let keys = ike_key_material(suite.prf, suite.cipher, seed, &ni, nr, new_spi, peer_spi)
            .and_then(|m| IkeSaKeys::new(suite.prf, suite.cipher, m));
        let keys = match keys {
            Ok(k) => k,
            Err(e) => {
                self.fail(
                    "CREATE_CHILD_SA (IKE rekey)",
                    Failure::Crypto(e.to_string()),
                );
                return;
            }
        };
        let new = IkeSa::new(new_spi, peer_spi, true, suite, keys);
        self.install_rekeyed_ike_sa(now, new);
        if let Some(old) = self.old_sa.as_mut() {
            old.queue.push_back(Pending::DeleteIke);
        }
    }

    fn on_ike_rekey_request(
        &mut self,
        now: Instant,
        props: &[crate::ike::wire::Proposal],
        payloads: &[Payload],
    ) -> (Vec<Payload>, After) {
        const X: &str = "CREATE_CHILD_SA (IKE rekey)";
        let Some(chosen) = choose_ike(&self.cfg.ike_suites, props) else {
            self.fail(X, Failure::NoProposalChosen(Side::Local));
            return (
                vec![notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new())],
                After::Nothing,
            );
        };
        let peer_spi = <[u8; 8]>::try_from(chosen.peer_spi.as_slice())
            .ok()
            .map(u64::from_be_bytes)
            .filter(|s| *s != 0);
        let (Some(peer_spi), Some(ni), Some((group, ke))) =
            (peer_spi, nonce_of(payloads), ke_group(payloads))
        else {
            return (
                vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
                After::Nothing,
            );
        };
        let suite = chosen.suite;
        if group != suite.dh.transform_id() {
            return (
                vec![notify(
                    NotifyType::INVALID_KE_PAYLOAD,
                    suite.dh.transform_id().to_be_bytes().to_vec(),
                )],
                After::Nothing,
            );
        }
        let dh = match DhPrivate::generate(suite.dh, &self.dh_rng) {
            Ok(d) => d,
            Err(e) => {
                self.fail(X, Failure::Crypto(e.to_string()));
                return (
                    vec![notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new())],
                    After::Nothing,
                );
            }
        };
        let public = dh.public().to_vec();
        let Ok(g_ir) = dh.agree(ke) else {
            return (
                vec![notify(NotifyType::INVALID_SYNTAX, Vec::new())],
                After::Nothing,
            );
        };
        let our_spi = self.random_u64();
        let nr = self.nonce();
        let Some(old) = self.sa.as_ref() else {
            return (Vec::new(), After::Nothing);
        };
        let seed = rekeyed_skeyseed(old.suite.prf, &old.keys.sk_d, &g_ir, ni, &nr);
        let keys = ike_key_material(suite.prf, suite.cipher, seed, ni, &nr, peer_spi, our_spi)
            .and_then(|m| IkeSaKeys::new(suite.prf, suite.cipher, m));
        let keys = match keys {
            Ok(k) => k,
            Err(e) => {
                self.fail(X, Failure::Crypto(e.to_string()));
                return (
                    vec![notify(NotifyType::NO_PROPOSAL_CHOSEN, Vec::new())],
                    After::Nothing,
                );
            }
        };
        let new = IkeSa::new(peer_spi, our_spi, false, suite, keys);
        let _ = now;
        (
            vec![
                Payload::Sa(vec![ike_reply(&chosen, Some(our_spi))]),
                Payload::Nonce(nr),
                Payload::KeyExchange {
                    group,
                    data: public,
                },
            ],
            After::Rekeyed(Box::new(new)),
        )
    }

    /// The rekeyed IKE SA becomes current; the old one lives until deleted.
    pub(super) fn install_rekeyed_ike_sa(&mut self, now: Instant, mut new: IkeSa) {
        let Some(mut old) = self.sa.take() else {
            return;
        };
        new.established_at = Some(now);
        let rekey = self.rekey_after(self.cfg.ike_lifetime);
        new.rekey_at = Some(now + rekey);
        new.expire_at = Some(now + self.cfg.ike_lifetime);
        new.peer_id = old.peer_id.clone();
        // Requests not yet sent move to the new SA; one in flight completes on the old one.
        new.queue = std::mem::take(&mut old.queue)
            .into_iter()
            .filter(|p| *p != Pending::RekeyIke && *p != Pending::DeleteIke)
            .collect();
        old.rekey_at = None;
        old.expire_at = None;
        old.drop_at = Some(now + self.cfg.dpd.timeout.max(self.cfg.retransmit.wait(0) * 4));
        if let Some(prev) = self.old_sa.replace(old) {
            self.event(Event::IkeSaDeleted {
                spi_i: prev.spi_i,
                spi_r: prev.spi_r,
                reason: "replaced twice before its DELETE".into(),
            });
        }
        let old_spis = self.old_sa.as_ref().map(|o| o.spis()).unwrap_or_default();
        let new_spis = new.spis();
        self.sa = Some(new);
        self.stats.ike_rekeys += 1;
        info!(
            new_spi_i = format_args!("{:016x}", new_spis.0),
            new_spi_r = format_args!("{:016x}", new_spis.1),
            "IKE SA rekeyed"
        );
        self.event(Event::IkeSaRekeyed {
            old: old_spis,
            new: new_spis,
        });
    }
}
