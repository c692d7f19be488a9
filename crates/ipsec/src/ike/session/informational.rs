//! INFORMATIONAL exchanges (RFC 7296 §1.4): liveness checks (empty requests, §2.4) and DELETE of
//! CHILD_SAs and IKE SAs, both roles; and removing CHILD_SAs from the data plane.
//!
//! ```text
//!  HDR, SK {}                        -->  <--  HDR, SK {}                   liveness check
//!  HDR, SK {D(ESP, our inbound SPI)} -->  <--  HDR, SK {D(ESP, theirs)}     delete CHILD_SA pair
//!  HDR, SK {D(IKE)}                  -->  <--  HDR, SK {}                   delete IKE SA (+ all)
//! ```
//!
//! What it does not do: send error notifies in INFORMATIONAL requests, or INVALID_SPI for
//! unknown ESP SPIs (the data plane counts those).

use std::time::Instant;

use tracing::{debug, info};

use super::ike_sa::{Pending, Request};
use super::{Action, After, Event, Failure, IkeSession, Side, Slot, State};
use crate::ike::wire::{Delete, ExchangeType, NotifyType, Payload, ProtocolId};

impl IkeSession {
    pub(super) fn send_dpd(&mut self, now: Instant, slot: Slot) {
        let wait = self.cfg.dpd.interval;
        let Some(sa) = self.slot_mut(slot) else {
            return;
        };
        debug!("sending liveness check");
        let datagram = sa.start_request(
            now,
            ExchangeType::Informational,
            Vec::new(),
            Request::Dpd,
            wait,
        );
        self.send_to_peer(datagram);
    }

    pub(super) fn send_delete_child(&mut self, now: Instant, slot: Slot, inbound_spi: u32) {
        if !self.children.iter().any(|c| c.inbound_spi == inbound_spi) {
            return;
        }
        let wait = self.cfg.retransmit.wait(0);
        let Some(sa) = self.slot_mut(slot) else {
            return;
        };
        let payloads = vec![Payload::Delete(Delete {
            protocol: ProtocolId::Esp,
            spi_size: 4,
            spis: vec![inbound_spi.to_be_bytes().to_vec()],
        })];
        debug!(
            spi = format_args!("{inbound_spi:#010x}"),
            "deleting CHILD_SA"
        );
        let datagram = sa.start_request(
            now,
            ExchangeType::Informational,
            payloads,
            Request::DeleteChild { inbound_spi },
            wait,
        );
        self.send_to_peer(datagram);
    }

    pub(super) fn send_delete_ike(&mut self, now: Instant, slot: Slot) {
        let wait = self.cfg.retransmit.wait(0);
        let Some(sa) = self.slot_mut(slot) else {
            return;
        };
        let payloads = vec![Payload::Delete(Delete {
            protocol: ProtocolId::Ike,
            spi_size: 0,
            spis: Vec::new(),
        })];
        let datagram = sa.start_request(
            now,
            ExchangeType::Informational,
            payloads,
            Request::DeleteIke,
            wait,
        );
        self.send_to_peer(datagram);
    }

    /// Deletes the current IKE SA as soon as the window allows; CHILD_SAs go at once (deleting
    /// an IKE SA deletes its CHILD_SAs, RFC 7296 §1.4.1).
    pub(super) fn send_delete_ike_now(&mut self, now: Instant) {
        for c in std::mem::take(&mut self.children) {
            self.out.push(Action::RemoveChild {
                inbound_spi: c.inbound_spi,
                outbound_spi: c.outbound_spi,
            });
            self.event(Event::ChildSaDeleted {
                inbound_spi: c.inbound_spi,
                outbound_spi: c.outbound_spi,
                reason: "IKE SA deleted".into(),
            });
        }
        let Some(sa) = self.sa.as_mut() else { return };
        sa.queue.clear();
        sa.rekey_at = None;
        sa.expire_at = None;
        if sa.outstanding.is_some() {
            sa.queue.push_back(Pending::DeleteIke);
        } else {
            self.send_delete_ike(now, Slot::Current);
        }
    }

    pub(super) fn on_delete_child_response(&mut self, inbound_spi: u32) {
        self.remove_child(inbound_spi, "deleted");
    }

    pub(super) fn on_delete_ike_response(&mut self, slot: Slot) {
        match slot {
            Slot::Old => {
                if let Some(old) = self.old_sa.take() {
                    self.event(Event::IkeSaDeleted {
                        spi_i: old.spi_i,
                        spi_r: old.spi_r,
                        reason: "replaced by rekeyed IKE SA".into(),
                    });
                }
            }
            Slot::Current => {
                let closing = self.state == State::Deleting;
                self.teardown("deleted");
                if closing {
                    self.set_state(State::Closed);
                } else {
                    // We deleted it after a failure (e.g. no CHILD_SA): start over if we initiate.
                    let now = self.last_inbound.unwrap_or_else(Instant::now);
                    self.after_loss(now, None);
                }
            }
            Slot::HalfOpen => {}
        }
    }

    /// Answers an INFORMATIONAL request.
    pub(super) fn on_informational_request(
        &mut self,
        _now: Instant,
        slot: Slot,
        payloads: Vec<Payload>,
    ) -> (Vec<Payload>, After) {
        let mut ours = Vec::new();
        for p in &payloads {
            match p {
                Payload::Delete(d) if d.protocol == ProtocolId::Ike => {
                    info!(?slot, "peer deleted the IKE SA");
                    let after = match slot {
                        Slot::Current => After::PeerDeletedCurrent,
                        Slot::Old => After::DropSlot(Slot::Old),
                        Slot::HalfOpen => After::DropHalfOpen,
                    };
                    return (Vec::new(), after);
                }
                Payload::Delete(d) if d.protocol == ProtocolId::Esp => {
                    for spi in &d.spis {
                        let Ok(bytes) = <[u8; 4]>::try_from(spi.as_slice()) else {
                            continue;
                        };
                        let outbound = u32::from_be_bytes(bytes);
                        let Some(c) = self.children.iter().find(|c| c.outbound_spi == outbound)
                        else {
                            continue;
                        };
                        let inbound = c.inbound_spi;
                        // If our own DELETE for it is in flight, the RFC says not to list it again.
                        let ours_in_flight = self.sa.as_ref().is_some_and(|sa| {
                            sa.outstanding.as_ref().is_some_and(
                                |o| matches!(o.request, Request::DeleteChild { inbound_spi } if inbound_spi == inbound),
                            )
                        });
                        if !ours_in_flight {
                            ours.push(inbound.to_be_bytes().to_vec());
                        }
                        if let Some(sa) = self.sa.as_mut() {
                            sa.queue.retain(|p| *p != Pending::DeleteChild(inbound));
                        }
                        self.remove_child(inbound, "deleted by the peer");
                    }
                }
                Payload::Notify(n) if n.kind == NotifyType::AUTHENTICATION_FAILED => {
                    self.fail("IKE_AUTH", Failure::AuthenticationFailed(Side::Peer));
                    return (Vec::new(), After::PeerDeletedCurrent);
                }
                _ => {}
            }
        }
        let reply = if ours.is_empty() {
            Vec::new()
        } else {
            vec![Payload::Delete(Delete {
                protocol: ProtocolId::Esp,
                spi_size: 4,
                spis: ours,
            })]
        };
        (reply, After::Nothing)
    }

    /// Removes a CHILD_SA pair; if it carried our outbound traffic, its successor takes over.
    ///
    /// The switch goes out before the removal: the data plane then always has an active
    /// outbound SA while a successor exists (the other order left the tx thread without one
    /// between the two commands, dropping inside packets as `no_outbound_sa`; RFC 7296 §2.8
    /// make-before-break).
    pub(super) fn remove_child(&mut self, inbound_spi: u32, reason: &str) {
        let Some(i) = self
            .children
            .iter()
            .position(|c| c.inbound_spi == inbound_spi)
        else {
            return;
        };
        let c = self.children.remove(i);
        if c.outbound_active || !self.children.iter().any(|x| x.outbound_active) {
            let next = self
                .children
                .iter()
                .position(|x| x.rekey_of == Some(inbound_spi) && !x.superseded)
                .or_else(|| self.children.iter().position(|x| !x.superseded));
            if let Some(n) = next
                && !self.children[n].outbound_active
            {
                self.children[n].outbound_active = true;
                let spi = self.children[n].inbound_spi;
                self.out.push(Action::SwitchOutbound { inbound_spi: spi });
            }
        }
        self.out.push(Action::RemoveChild {
            inbound_spi: c.inbound_spi,
            outbound_spi: c.outbound_spi,
        });
        debug!(
            spi = format_args!("{inbound_spi:#010x}"),
            reason, "CHILD_SA removed"
        );
        self.event(Event::ChildSaDeleted {
            inbound_spi: c.inbound_spi,
            outbound_spi: c.outbound_spi,
            reason: reason.to_string(),
        });
    }
}
