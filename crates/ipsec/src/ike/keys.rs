//! IKEv2 key derivation (RFC 7296 §2.14, §2.17, §2.18) and the shared-key AUTH value (§2.15).
//!
//! ```text
//!  SKEYSEED = prf(Ni | Nr, g^ir)                                  (§2.14, new IKE SA)
//!  SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)               (§2.18, IKE SA rekey)
//!  {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//!           = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
//!
//!  KEYMAT   = prf+(SK_d, [g^ir (new) |] Ni | Nr)                  (§2.17, CHILD_SA)
//!           = initiator->responder key | responder->initiator key
//!
//!  AUTH     = prf( prf(Shared Secret, "Key Pad for IKEv2"),
//!                  <SignedOctets> )                               (§2.15)
//!  SignedOctets (initiator) = RealMessage1 | Nr | prf(SK_pi, IDi')
//!  SignedOctets (responder) = RealMessage2 | Ni | prf(SK_pr, IDr')
//! ```
//!
//! With an AEAD cipher SK_ai and SK_ar are empty, and SK_e* is key plus 4 octets of salt
//! (RFC 5282 §7.1, RFC 7634 §3). With AES-CBC, SK_e* is the AES key (16 or 32 octets) and SK_a*
//! the HMAC key, as long as the hash's output (RFC 2404 §3, RFC 4868 §2.1.1). Each direction of
//! a CHILD_SA takes its encryption key first, then its integrity key (§2.17).
//!
//! What it does not do: choose nonces or run Diffie-Hellman (the SA does, through `crypto::dh`).

use crate::crypto::cipher::{Cipher, CipherKey};
use crate::crypto::prf::PrfAlgorithm;
use secret::Secret;

use crate::crypto::CryptoError;

/// The keys of one IKE SA, as octets (for checks against another implementation's log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeKeyMaterial {
    /// SKEYSEED.
    pub skeyseed: Secret<Vec<u8>>,
    /// SK_d: the seed of CHILD_SA and rekeyed IKE SA keys.
    pub sk_d: Secret<Vec<u8>>,
    /// SK_ai (empty with an AEAD).
    pub sk_ai: Secret<Vec<u8>>,
    /// SK_ar (empty with an AEAD).
    pub sk_ar: Secret<Vec<u8>>,
    /// SK_ei: protects initiator -> responder messages.
    pub sk_ei: Secret<Vec<u8>>,
    /// SK_er: protects responder -> initiator messages.
    pub sk_er: Secret<Vec<u8>>,
    /// SK_pi: binds the initiator's ID into AUTH.
    pub sk_pi: Secret<Vec<u8>>,
    /// SK_pr: binds the responder's ID into AUTH.
    pub sk_pr: Secret<Vec<u8>>,
}

/// SKEYSEED of a new IKE SA (RFC 7296 §2.14).
pub fn skeyseed(
    prf: PrfAlgorithm,
    ni: &[u8],
    nr: &[u8],
    g_ir: &Secret<Vec<u8>>,
) -> Secret<Vec<u8>> {
    let mut key = Vec::with_capacity(ni.len() + nr.len());
    key.extend_from_slice(ni);
    key.extend_from_slice(nr);
    let key = Secret::new(key);
    prf.prf(key.expose(), &[g_ir.expose()])
}

/// SKEYSEED of an IKE SA that replaces one whose SK_d was `old_sk_d` (RFC 7296 §2.18); `old_prf`
/// is the old SA's PRF.
pub fn rekeyed_skeyseed(
    old_prf: PrfAlgorithm,
    old_sk_d: &Secret<Vec<u8>>,
    g_ir: &Secret<Vec<u8>>,
    ni: &[u8],
    nr: &[u8],
) -> Secret<Vec<u8>> {
    old_prf.prf(old_sk_d.expose(), &[g_ir.expose(), ni, nr])
}

/// Cuts the seven IKE SA keys from `prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)` (RFC 7296 §2.14).
pub fn ike_key_material(
    prf: PrfAlgorithm,
    cipher: Cipher,
    skeyseed: Secret<Vec<u8>>,
    ni: &[u8],
    nr: &[u8],
    spi_i: u64,
    spi_r: u64,
) -> Result<IkeKeyMaterial, CryptoError> {
    let p = prf.output_len();
    let a = cipher.integ_key_len();
    let e = cipher.encr_key_len();
    let mut stream = prf.prf_plus(
        skeyseed.expose(),
        &[ni, nr, &spi_i.to_be_bytes(), &spi_r.to_be_bytes()],
        3 * p + 2 * a + 2 * e,
    )?;
    let sk_d = stream.take_front(p);
    let sk_ai = stream.take_front(a);
    let sk_ar = stream.take_front(a);
    let sk_ei = stream.take_front(e);
    let sk_er = stream.take_front(e);
    let sk_pi = stream.take_front(p);
    let sk_pr = stream.take_front(p);
    Ok(IkeKeyMaterial {
        skeyseed,
        sk_d,
        sk_ai,
        sk_ar,
        sk_ei,
        sk_er,
        sk_pi,
        sk_pr,
    })
}

/// The keyed ciphers and PRF keys one IKE SA runs on.
#[derive(Debug)]
pub struct IkeSaKeys {
    /// The negotiated PRF.
    pub prf: PrfAlgorithm,
    /// The negotiated encryption (and integrity).
    pub cipher: Cipher,
    /// SK_d.
    pub sk_d: Secret<Vec<u8>>,
    /// Cipher for initiator -> responder messages (SK_ei, SK_ai).
    pub ei: CipherKey,
    /// Cipher for responder -> initiator messages (SK_er, SK_ar).
    pub er: CipherKey,
    /// SK_pi.
    pub sk_pi: Secret<Vec<u8>>,
    /// SK_pr.
    pub sk_pr: Secret<Vec<u8>>,
}

impl IkeSaKeys {
    /// Keys the ciphers from derived material.
    pub fn new(
        prf: PrfAlgorithm,
        cipher: Cipher,
        m: IkeKeyMaterial,
    ) -> Result<IkeSaKeys, CryptoError> {
        Ok(IkeSaKeys {
            prf,
            cipher,
            ei: CipherKey::new(cipher, m.sk_ei.expose(), m.sk_ai.expose())?,
            er: CipherKey::new(cipher, m.sk_er.expose(), m.sk_ar.expose())?,
            sk_d: m.sk_d.clone(),
            sk_pi: m.sk_pi.clone(),
            sk_pr: m.sk_pr.clone(),
        })
    }
}

/// CHILD_SA keying material for one ESP SA pair (RFC 7296 §2.17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildKeyMaterial {
    /// Protects initiator -> responder traffic (inbound at the responder).
    pub initiator_to_responder: Secret<Vec<u8>>,
    /// Protects responder -> initiator traffic.
    pub responder_to_initiator: Secret<Vec<u8>>,
}

/// `KEYMAT = prf+(SK_d, [g^ir |] Ni | Nr)`, split into the two directions. `ni` and `nr` are the
/// nonces of the exchange that created the CHILD_SA (IKE_SA_INIT's for the first one).
pub fn child_key_material(
    prf: PrfAlgorithm,
    cipher: Cipher,
    sk_d: &Secret<Vec<u8>>,
    g_ir: Option<&Secret<Vec<u8>>>,
    ni: &[u8],
    nr: &[u8],
) -> Result<ChildKeyMaterial, CryptoError> {
    let e = cipher.keymat_len();
    let mut stream = match g_ir {
        Some(g) => prf.prf_plus(sk_d.expose(), &[g.expose(), ni, nr], 2 * e)?,
        None => prf.prf_plus(sk_d.expose(), &[ni, nr], 2 * e)?,
    };
    let initiator_to_responder = stream.take_front(e);
    Ok(ChildKeyMaterial {
        initiator_to_responder,
        responder_to_initiator: stream,
    })
}

/// The pad RFC 7296 §2.15 mixes into the pre-shared key.
pub const KEY_PAD: &[u8] = b"Key Pad for IKEv2";

/// The Shared Key MIC AUTH value (RFC 7296 §2.15). `message` is the sender's IKE_SA_INIT message
/// exactly as sent, `peer_nonce` the other side's nonce, `sk_p` the sender's SK_pi or SK_pr and
/// `id_body` the sender's ID payload body (type, 3 reserved octets, data).
pub fn psk_auth(
    prf: PrfAlgorithm,
    psk: &Secret<Vec<u8>>,
    message: &[u8],
    peer_nonce: &[u8],
    sk_p: &Secret<Vec<u8>>,
    id_body: &[u8],
) -> Secret<Vec<u8>> {
    let maced_id = prf.prf(sk_p.expose(), &[id_body]);
    let key = prf.prf(psk.expose(), &[KEY_PAD]);
    prf.prf(key.expose(), &[message, peer_nonce, maced_id.expose()])
}

/// Compares two AUTH values without an early exit on the first differing octet.
pub fn auth_matches(expected: &Secret<Vec<u8>>, received: &[u8]) -> bool {
    let expected = expected.expose();
    if expected.len() != received.len() {
        return false;
    }
    let diff = expected
        .iter()
        .zip(received)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::aead::AeadAlgorithm;
    use crate::crypto::cbc::CbcAlgorithm;
    use crate::crypto::integ::IntegAlgorithm;

    #[test]
    fn psk_auth_depends_on_every_input_and_verifies() {
        let prf = PrfAlgorithm::HmacSha256;
        let psk = Secret::from_slice(b"example.psk.1234");
        let skp = Secret::from_slice(&[3; 32]);
        let base = psk_auth(
            prf,
            &psk,
            b"msg1",
            b"nonce",
            &skp,
            &[1, 0, 0, 0, 10, 0, 0, 1],
        );
        assert_eq!(base.len(), 32);
        assert!(auth_matches(&base, base.expose()));
        let variants = [
            psk_auth(
                prf,
                &Secret::from_slice(b"other.psk.12345"),
                b"msg1",
                b"nonce",
                &skp,
                &[1, 0, 0, 0, 10, 0, 0, 1],
            ),
            psk_auth(
                prf,
                &psk,
                b"msg2",
                b"nonce",
                &skp,
                &[1, 0, 0, 0, 10, 0, 0, 1],
            ),
            psk_auth(
                prf,
                &psk,
                b"msg1",
                b"nonc3",
                &skp,
                &[1, 0, 0, 0, 10, 0, 0, 1],
            ),
            psk_auth(
                prf,
                &psk,
                b"msg1",
                b"nonce",
                &Secret::from_slice(&[4; 32]),
                &[1, 0, 0, 0, 10, 0, 0, 1],
            ),
            psk_auth(
                prf,
                &psk,
                b"msg1",
                b"nonce",
                &skp,
                &[1, 0, 0, 0, 10, 0, 0, 2],
            ),
        ];
        for v in variants {
            assert!(!auth_matches(&base, v.expose()));
        }
        assert!(!auth_matches(&base, &base.expose()[..31]));
    }

    #[test]
    fn key_material_has_the_suite_lengths() {
        let m = ike_key_material(
            PrfAlgorithm::HmacSha384,
            Cipher::Aead(AeadAlgorithm::AesGcm16Key256),
            Secret::from_slice(&[1; 48]),
            &[2; 32],
            &[3; 32],
            1,
            2,
        )
        .unwrap();
        assert_eq!(m.sk_d.len(), 48);
        assert_eq!(m.sk_ei.len(), 36);
        assert_eq!(m.sk_er.len(), 36);
        assert_eq!(m.sk_pi.len(), 48);
        assert!(m.sk_ai.is_empty());
        assert_ne!(m.sk_ei, m.sk_er);
        let c = child_key_material(
            PrfAlgorithm::HmacSha256,
            Cipher::Aead(AeadAlgorithm::ChaCha20Poly1305),
            &m.sk_d,
            None,
            &[2; 32],
            &[3; 32],
        )
        .unwrap();
        assert_eq!(c.initiator_to_responder.len(), 36);
        assert_eq!(c.responder_to_initiator.len(), 36);
        let pfs = child_key_material(
            PrfAlgorithm::HmacSha256,
            Cipher::Aead(AeadAlgorithm::ChaCha20Poly1305),
            &m.sk_d,
            Some(&Secret::from_slice(&[9; 32])),
            &[2; 32],
            &[3; 32],
        )
        .unwrap();
        assert_ne!(c, pfs);
    }

    /// SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr, cut from one prf+ stream in that
    /// order (RFC 7296 §2.14), with the CBC suite's lengths.
    #[test]
    fn cbc_key_material_is_cut_in_rfc_order() {
        let prf = PrfAlgorithm::HmacSha1;
        let cipher = Cipher::CbcHmac(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha1_96);
        let seed = Secret::from_slice(&[1; 20]);
        let (ni, nr) = ([2; 32], [3; 32]);
        let m = ike_key_material(prf, cipher, seed.clone(), &ni, &nr, 1, 2).unwrap();
        let lens = [
            m.sk_d.len(),
            m.sk_ai.len(),
            m.sk_ar.len(),
            m.sk_ei.len(),
            m.sk_er.len(),
            m.sk_pi.len(),
            m.sk_pr.len(),
        ];
        assert_eq!(lens, [20, 20, 20, 16, 16, 20, 20]);
        let stream = prf
            .prf_plus(
                seed.expose(),
                &[&ni, &nr, &1u64.to_be_bytes(), &2u64.to_be_bytes()],
                132,
            )
            .unwrap();
        let s = stream.expose();
        assert_eq!(m.sk_ai.expose(), &s[20..40]);
        assert_eq!(m.sk_ei.expose(), &s[60..76]);
        assert_eq!(m.sk_pr.expose(), &s[112..132]);
        IkeSaKeys::new(prf, cipher, m.clone()).unwrap();
        // ESP: each direction is encryption key then integrity key, 16 + 20 octets.
        let c = child_key_material(prf, cipher, &m.sk_d, None, &ni, &nr).unwrap();
        assert_eq!(c.initiator_to_responder.len(), 36);
        assert_eq!(c.responder_to_initiator.len(), 36);
    }
}
