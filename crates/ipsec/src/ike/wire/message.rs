//! Whole IKE messages: header plus payload chain, in the clear (IKE_SA_INIT) or inside the
//! Encrypted payload with an AEAD cipher (RFC 7296 §3.14, RFC 5282, RFC 7634 §3).
//!
//! ```text
//!  Encrypted payload with an AEAD (RFC 5282 §3)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Next Payload  |C|  RESERVED   |         Payload Length        |  <- end of AAD
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Initialization Vector (8)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                    Ciphertext: inner payloads                 ~
//! +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               |             Padding (0-255)   |  Pad Length   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                 Integrity Checksum Data (16)                  ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  AAD = IKE header .. end of the Encrypted payload's generic header (RFC 5282 §5.1)
//! ```
//!
//! What it does not do: choose IVs (the SA gives a per-key counter), IKE fragmentation (RFC 7383:
//! we never announce support, so peers do not fragment), or non-AEAD (CBC + HMAC) protection.

use super::DecodeError;
use super::header::{HEADER_LEN, Header, HeaderRepr};
use super::payload::{
    EncryptedAt, GENERIC_HEADER_LEN, Payload, decode_chain, encode_chain, payload_type,
};
use crate::crypto::aead::{AeadKey, ICV_LEN, IV_LEN};

/// An IKE message in owned form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Header fields.
    pub header: HeaderRepr,
    /// Payloads (for an encrypted message: the inner payloads).
    pub payloads: Vec<Payload>,
}

impl Message {
    /// Encodes without encryption (IKE_SA_INIT).
    pub fn encode_plain(&self) -> Vec<u8> {
        let mut out = vec![0u8; HEADER_LEN];
        let first = encode_chain(&self.payloads, payload_type::NONE, &mut out);
        let len = out.len() as u32;
        self.header.emit(first, len, &mut out[..HEADER_LEN]);
        out
    }

    /// Encodes with all payloads inside one Encrypted payload sealed by `key` with `iv`.
    /// `iv` must never repeat under `key`.
    pub fn encode_encrypted(&self, key: &AeadKey, iv: [u8; IV_LEN]) -> Vec<u8> {
        let mut out = vec![0u8; HEADER_LEN + GENERIC_HEADER_LEN];
        out.extend_from_slice(&iv);
        let inner_start = out.len();
        let inner_first = encode_chain(&self.payloads, payload_type::NONE, &mut out);
        // AEAD ciphers need no block alignment: no padding, Pad Length 0 (RFC 5282 §3).
        out.push(0);
        let total = out.len() + ICV_LEN;
        self.header
            .emit(payload_type::SK, total as u32, &mut out[..HEADER_LEN]);
        let sk_len = (total - HEADER_LEN) as u16;
        out[HEADER_LEN] = inner_first;
        out[HEADER_LEN + 1] = 0;
        out[HEADER_LEN + 2..HEADER_LEN + 4].copy_from_slice(&sk_len.to_be_bytes());
        let aad_end = HEADER_LEN + GENERIC_HEADER_LEN;
        let (aad, rest) = out.split_at_mut(aad_end);
        let icv = key.seal_in_place(&iv, aad, &mut rest[IV_LEN..]);
        debug_assert_eq!(inner_start, aad_end + IV_LEN);
        out.extend_from_slice(&icv);
        out
    }
}

/// A received message: header and cleartext payloads decoded, the Encrypted payload located but
/// not yet opened (the receiver first finds the SA and its key from the header).
#[derive(Debug, Clone)]
pub struct ParsedMessage<'a> {
    /// Header fields.
    pub header: HeaderRepr,
    /// Cleartext payloads (for protected messages usually none).
    pub payloads: Vec<Payload>,
    bytes: &'a [u8],
    encrypted: Option<EncryptedAt>,
}

impl<'a> ParsedMessage<'a> {
    /// Parses the header and the cleartext chain. Refuses versions other than 2.x.
    pub fn parse(bytes: &'a [u8]) -> Result<ParsedMessage<'a>, DecodeError> {
        let header = Header::new_checked(bytes)?;
        if header.major_version() != 2 {
            return Err(DecodeError::Version(header.major_version()));
        }
        let (payloads, encrypted) = decode_chain(header.next_payload(), header.payload())?;
        Ok(ParsedMessage {
            header: header.repr(),
            payloads,
            bytes,
            encrypted,
        })
    }

    /// Does the message carry an Encrypted payload?
    pub fn is_encrypted(&self) -> bool {
        self.encrypted.is_some()
    }

    /// The raw message octets (for AUTH computation, which signs the first message as sent).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Verifies and decrypts the Encrypted payload with `key`, returning the inner payloads.
    pub fn decrypt(&self, key: &AeadKey) -> Result<Vec<Payload>, DecodeError> {
        let at = self.encrypted.ok_or(DecodeError::NotEncrypted)?;
        let start = HEADER_LEN + at.header_offset;
        let aad = &self.bytes[..start + GENERIC_HEADER_LEN];
        let body = &self.bytes[start + GENERIC_HEADER_LEN..start + at.len];
        if body.len() < IV_LEN + 1 + ICV_LEN {
            return Err(DecodeError::Truncated {
                what: "Encrypted payload",
                needed: IV_LEN + 1 + ICV_LEN,
                got: body.len(),
            });
        }
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&body[..IV_LEN]);
        let mut icv = [0u8; ICV_LEN];
        icv.copy_from_slice(&body[body.len() - ICV_LEN..]);
        let mut plain = body[IV_LEN..body.len() - ICV_LEN].to_vec();
        key.open_in_place(&iv, aad, &mut plain, &icv)
            .map_err(|_| DecodeError::Integrity)?;
        let pad = plain[plain.len() - 1] as usize;
        if pad + 1 > plain.len() {
            return Err(DecodeError::Length {
                what: "Encrypted payload padding",
                declared: pad,
                available: plain.len() - 1,
            });
        }
        let inner = &plain[..plain.len() - 1 - pad];
        let (payloads, nested) = decode_chain(at.inner_first, inner)?;
        if nested.is_some() {
            return Err(DecodeError::EncryptedNotLast);
        }
        Ok(payloads)
    }
}
