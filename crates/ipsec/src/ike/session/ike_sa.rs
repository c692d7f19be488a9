//! One IKE SA's protocol state: SPIs, keys, message IDs and windows (RFC 7296 §2.3), the one
//! outstanding request with its retransmission schedule (§2.1), and the cached last response
//! (answered again when the peer retransmits its request).
//!
//! ```text
//!   requests we send:   next_request_id ──► outstanding (one at a time: window size 1)
//!                                            │ retransmit at sent + wait(n), n = 0,1,2..
//!                                            ▼ response with that ID ──► done, next from queue
//!   requests we get:    id == expected  ──► process, answer, cache answer, expected += 1
//!                       id == expected-1 ─► send cached answer again
//!                       anything else   ──► drop
//! ```
//!
//! What it does not do: decide what to send (the exchange modules do), or timers other than
//! retransmission.

use std::collections::VecDeque;
use std::time::Instant;

use crate::crypto::aead::IV_LEN;
use crate::crypto::cbc::BLOCK_LEN;
use crate::crypto::cipher::CipherKey;
use crate::crypto::dh::DhPrivate;
use crate::ike::keys::IkeSaKeys;
use crate::ike::suite::{EspSuite, IkeSuite};
use crate::ike::wire::{ExchangeType, HeaderRepr, Identity, Message, Payload, flags};
use ring::rand::SecureRandom;

/// A request waiting for the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    /// Liveness check: an empty INFORMATIONAL.
    Dpd,
    /// Rekey (or, with `None`, create) the CHILD_SA with this inbound SPI.
    RekeyChild(Option<u32>),
    /// Rekey the IKE SA.
    RekeyIke,
    /// Delete the CHILD_SA with this inbound SPI.
    DeleteChild(u32),
    /// Delete this IKE SA.
    DeleteIke,
}

/// What an outstanding request was for, with the state its response needs.
#[derive(Debug)]
pub(crate) enum Request {
    /// IKE_AUTH with the CHILD_SA SPI we offered.
    IkeAuth { child_spi: u32 },
    /// Liveness check.
    Dpd,
    /// CREATE_CHILD_SA for a CHILD_SA.
    CreateChild {
        old_inbound: Option<u32>,
        new_inbound: u32,
        offered: Vec<EspSuite>,
        nonce: Vec<u8>,
        dh: Option<DhPrivate>,
    },
    /// CREATE_CHILD_SA for the IKE SA.
    RekeyIke {
        new_spi: u64,
        offered: Vec<IkeSuite>,
        nonce: Vec<u8>,
        dh: Option<DhPrivate>,
    },
    /// INFORMATIONAL deleting CHILD_SAs.
    DeleteChild { inbound_spi: u32 },
    /// INFORMATIONAL deleting this IKE SA.
    DeleteIke,
}

impl Request {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Request::IkeAuth { .. } => "IKE_AUTH",
            Request::Dpd => "INFORMATIONAL (DPD)",
            Request::CreateChild { .. } => "CREATE_CHILD_SA",
            Request::RekeyIke { .. } => "CREATE_CHILD_SA (IKE rekey)",
            Request::DeleteChild { .. } => "INFORMATIONAL (delete CHILD_SA)",
            Request::DeleteIke => "INFORMATIONAL (delete IKE SA)",
        }
    }
}

/// A request in flight.
#[derive(Debug)]
pub(crate) struct Outstanding {
    pub(crate) message_id: u32,
    pub(crate) datagram: Vec<u8>,
    pub(crate) request: Request,
    pub(crate) first_sent: Instant,
    pub(crate) retransmit_at: Instant,
    pub(crate) sent: u32,
}

/// One IKE SA.
#[derive(Debug)]
pub(crate) struct IkeSa {
    pub(crate) spi_i: u64,
    pub(crate) spi_r: u64,
    /// We are the original initiator of *this* SA (after a rekey: the rekey's initiator).
    pub(crate) original_initiator: bool,
    pub(crate) suite: IkeSuite,
    pub(crate) keys: IkeSaKeys,
    pub(crate) next_request_id: u32,
    pub(crate) next_peer_request_id: u32,
    pub(crate) last_response: Option<(u32, Vec<u8>)>,
    pub(crate) outstanding: Option<Outstanding>,
    pub(crate) queue: VecDeque<Pending>,
    iv_counter: u64,
    pub(crate) established_at: Option<Instant>,
    pub(crate) rekey_at: Option<Instant>,
    pub(crate) expire_at: Option<Instant>,
    pub(crate) peer_id: Option<Identity>,
    /// For a replaced SA: drop it at this time even without a DELETE exchange.
    pub(crate) drop_at: Option<Instant>,
}

impl IkeSa {
    pub(crate) fn new(
        spi_i: u64,
        spi_r: u64,
        original_initiator: bool,
        suite: IkeSuite,
        keys: IkeSaKeys,
    ) -> IkeSa {
        IkeSa {
            spi_i,
            spi_r,
            original_initiator,
            suite,
            keys,
            next_request_id: 0,
            next_peer_request_id: 0,
            last_response: None,
            outstanding: None,
            queue: VecDeque::new(),
            iv_counter: 0,
            established_at: None,
            rekey_at: None,
            expire_at: None,
            peer_id: None,
            drop_at: None,
        }
    }

    pub(crate) fn spis(&self) -> (u64, u64) {
        (self.spi_i, self.spi_r)
    }

    fn our_key(&self) -> &CipherKey {
        if self.original_initiator {
            &self.keys.ei
        } else {
            &self.keys.er
        }
    }

    /// The key the peer's messages are protected with.
    pub(crate) fn peer_key(&self) -> &CipherKey {
        if self.original_initiator {
            &self.keys.er
        } else {
            &self.keys.ei
        }
    }

    fn flags(&self, response: bool) -> u8 {
        let mut f = 0;
        if self.original_initiator {
            f |= flags::INITIATOR;
        }
        if response {
            f |= flags::RESPONSE;
        }
        f
    }

    /// Encrypts a message. AEAD IVs count up per SA and direction, so none repeats under a key;
    /// CBC IVs are random octets from the operating system (RFC 7296 §3.14: unpredictable).
    pub(crate) fn seal(
        &mut self,
        exchange: ExchangeType,
        message_id: u32,
        response: bool,
        payloads: Vec<Payload>,
    ) -> Vec<u8> {
        self.iv_counter += 1;
        let counter: [u8; IV_LEN] = self.iv_counter.to_be_bytes();
        let mut random = [0u8; BLOCK_LEN];
        let iv: &[u8] = match self.our_key() {
            CipherKey::Aead(_) => &counter,
            CipherKey::CbcHmac { .. } => {
                ring::rand::SystemRandom::new()
                    .fill(&mut random)
                    .expect("the operating system's random number generator works");
                &random
            }
        };
        let m = Message {
            header: HeaderRepr {
                spi_i: self.spi_i,
                spi_r: self.spi_r,
                exchange,
                flags: self.flags(response),
                message_id,
            },
            payloads,
        };
        m.encode_encrypted(self.our_key(), iv)
            .expect("the IV has the cipher's length")
    }

    /// Encrypts a request with the next message ID and makes it the outstanding one.
    /// Returns the datagram to send. The caller ensures no request is outstanding.
    pub(crate) fn start_request(
        &mut self,
        now: Instant,
        exchange: ExchangeType,
        payloads: Vec<Payload>,
        request: Request,
        first_wait: std::time::Duration,
    ) -> Vec<u8> {
        let id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        let datagram = self.seal(exchange, id, false, payloads);
        self.outstanding = Some(Outstanding {
            message_id: id,
            datagram: datagram.clone(),
            request,
            first_sent: now,
            retransmit_at: now + first_wait,
            sent: 1,
        });
        datagram
    }

    /// Encrypts a response to the peer's request `message_id` and caches it.
    pub(crate) fn respond(
        &mut self,
        exchange: ExchangeType,
        message_id: u32,
        payloads: Vec<Payload>,
    ) -> Vec<u8> {
        let datagram = self.seal(exchange, message_id, true, payloads);
        self.last_response = Some((message_id, datagram.clone()));
        self.next_peer_request_id = message_id.wrapping_add(1);
        datagram
    }

    /// Is this queued or in flight already?
    pub(crate) fn has_pending(&self, p: Pending) -> bool {
        self.queue.contains(&p)
    }
}
