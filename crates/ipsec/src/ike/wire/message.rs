//! Whole IKE messages: header plus payload chain, in the clear (IKE_SA_INIT) or inside the
//! Encrypted payload, with an AEAD cipher (RFC 5282, RFC 7634 §3, drawn below) or with AES-CBC
//! and an HMAC integrity transform (RFC 7296 §3.14: a random 16-octet IV, the inner payloads
//! padded to the block with Pad Length last, encrypted; the ICV covers the whole message from the
//! IKE header to the end of the ciphertext and is checked before anything is decrypted).
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
//! What it does not do: choose IVs (the SA gives a per-key counter for an AEAD, random octets for
//! CBC), or IKE fragmentation (RFC 7383: we never announce support, so peers do not fragment).

use super::DecodeError;
use super::header::{HEADER_LEN, Header, HeaderRepr};
use super::payload::{
    EncryptedAt, GENERIC_HEADER_LEN, Payload, decode_chain, encode_chain, payload_type,
};
use crate::crypto::aead::{AeadKey, ICV_LEN, IV_LEN};
use crate::crypto::cbc::{BLOCK_LEN, CbcKey};
use crate::crypto::cipher::CipherKey;
use crate::crypto::integ::IntegKey;

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

    /// Encodes with all payloads inside one Encrypted payload protected by `key` with `iv`: for
    /// an AEAD 8 octets that never repeat under the key, for CBC 16 unpredictable octets
    /// (RFC 7296 §3.14). `None` if `iv` has the wrong length for the cipher.
    pub fn encode_encrypted(&self, key: &CipherKey, iv: &[u8]) -> Option<Vec<u8>> {
        match key {
            CipherKey::Aead(k) => Some(self.encode_aead(k, iv.try_into().ok()?)),
            CipherKey::CbcHmac { cbc, integ } => {
                Some(self.encode_cbc(cbc, integ, iv.try_into().ok()?))
            }
        }
    }

    fn encode_cbc(&self, cbc: &CbcKey, integ: &IntegKey, iv: &[u8; BLOCK_LEN]) -> Vec<u8> {
        let icv_len = integ.algorithm().icv_len();
        let mut out = vec![0u8; HEADER_LEN + GENERIC_HEADER_LEN];
        out.extend_from_slice(iv);
        let inner_start = out.len();
        let inner_first = encode_chain(&self.payloads, payload_type::NONE, &mut out);
        // Pad so that inner payloads, padding and Pad Length fill whole blocks (§3.14).
        let pad = (BLOCK_LEN - (out.len() - inner_start + 1) % BLOCK_LEN) % BLOCK_LEN;
        out.resize(out.len() + pad, 0);
        out.push(pad as u8);
        let total = out.len() + icv_len;
        self.header
            .emit(payload_type::SK, total as u32, &mut out[..HEADER_LEN]);
        let sk_len = (total - HEADER_LEN) as u16;
        out[HEADER_LEN] = inner_first;
        out[HEADER_LEN + 1] = 0;
        out[HEADER_LEN + 2..HEADER_LEN + 4].copy_from_slice(&sk_len.to_be_bytes());
        cbc.encrypt_in_place(iv, &mut out[inner_start..])
            .expect("padded to whole blocks");
        let mut icv = vec![0u8; icv_len];
        integ
            .sign(&[&out], &mut icv)
            .expect("ICV buffer of the algorithm's length");
        out.extend_from_slice(&icv);
        out
    }

    fn encode_aead(&self, key: &AeadKey, iv: [u8; IV_LEN]) -> Vec<u8> {
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
    pub fn decrypt(&self, key: &CipherKey) -> Result<Vec<Payload>, DecodeError> {
        match key {
            CipherKey::Aead(k) => self.decrypt_aead(k),
            CipherKey::CbcHmac { cbc, integ } => self.decrypt_cbc(cbc, integ),
        }
    }

    fn decrypt_cbc(&self, cbc: &CbcKey, integ: &IntegKey) -> Result<Vec<Payload>, DecodeError> {
        let at = self.encrypted.ok_or(DecodeError::NotEncrypted)?;
        let start = HEADER_LEN + at.header_offset;
        let end = start + at.len;
        let icv_len = integ.algorithm().icv_len();
        let body = &self.bytes[start + GENERIC_HEADER_LEN..end];
        let needed = BLOCK_LEN + BLOCK_LEN + icv_len;
        if body.len() < needed {
            return Err(DecodeError::Truncated {
                what: "Encrypted payload",
                needed,
                got: body.len(),
            });
        }
        // The ICV first: nothing unauthenticated is decrypted (§3.14).
        integ
            .verify(
                &[&self.bytes[..end - icv_len]],
                &self.bytes[end - icv_len..end],
            )
            .map_err(|_| DecodeError::Integrity)?;
        let mut iv = [0u8; BLOCK_LEN];
        iv.copy_from_slice(&body[..BLOCK_LEN]);
        let mut plain = body[BLOCK_LEN..body.len() - icv_len].to_vec();
        cbc.decrypt_in_place(&iv, &mut plain)
            .map_err(|_| DecodeError::Length {
                what: "Encrypted payload ciphertext",
                declared: plain.len(),
                available: plain.len() - plain.len() % BLOCK_LEN,
            })?;
        self.inner_payloads(at.inner_first, &plain)
    }

    fn decrypt_aead(&self, key: &AeadKey) -> Result<Vec<Payload>, DecodeError> {
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
        self.inner_payloads(at.inner_first, &plain)
    }

    /// The inner payload chain of a decrypted body ending in Pad Length.
    fn inner_payloads(&self, inner_first: u8, plain: &[u8]) -> Result<Vec<Payload>, DecodeError> {
        let Some(&last) = plain.last() else {
            return Err(DecodeError::Truncated {
                what: "Encrypted payload",
                needed: 1,
                got: 0,
            });
        };
        let pad = last as usize;
        if pad + 1 > plain.len() {
            return Err(DecodeError::Length {
                what: "Encrypted payload padding",
                declared: pad,
                available: plain.len() - 1,
            });
        }
        let inner = &plain[..plain.len() - 1 - pad];
        let (payloads, nested) = decode_chain(inner_first, inner)?;
        if nested.is_some() {
            return Err(DecodeError::EncryptedNotLast);
        }
        Ok(payloads)
    }
}
