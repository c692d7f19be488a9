//! The protection of one SA direction, whichever kind it is: a combined-mode cipher
//! ([`super::aead`]), or AES-CBC ([`super::cbc`]) with an HMAC integrity transform
//! ([`super::integ`]) applied encrypt-then-MAC (RFC 4303 §3.3.2 and §3.4.4, RFC 7296 §3.14).
//!
//! ```text
//!  Cipher                       keying material per direction      IV   ICV  block
//!  Aead(AES-GCM-16, ChaCha20)   key || salt (RFC 4106 §8.1)         8    16    1
//!  CbcHmac(AES-CBC, HMAC-x)     encryption key || integrity key     16   12-32 16
//!                               (RFC 7296 §2.17: encryption first)
//! ```
//!
//! IKE negotiates encryption and integrity as two transforms; an SA uses them as one unit, so
//! ESP (`crate::esp::sa`) and IKE's Encrypted payload (`crate::ike::wire::message`) each match
//! once on [`CipherKey`] and keep the AEAD path exactly as it was.
//!
//! What it does not do: pick IVs, pad, or know packet formats (the callers do).

use super::CryptoError;
use super::aead::{self, AeadAlgorithm, AeadKey};
use super::cbc::{self, CbcAlgorithm, CbcKey};
use super::integ::{IntegAlgorithm, IntegKey};

/// Encryption and integrity of one SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// A combined-mode cipher: no separate integrity transform (RFC 5282 §8).
    Aead(AeadAlgorithm),
    /// AES-CBC (RFC 3602) with an HMAC integrity transform (RFC 2404, RFC 4868).
    CbcHmac(CbcAlgorithm, IntegAlgorithm),
}

impl Cipher {
    /// Octets of encryption keying material (AEAD: key and salt).
    pub fn encr_key_len(self) -> usize {
        match self {
            Cipher::Aead(a) => a.keymat_len(),
            Cipher::CbcHmac(c, _) => c.key_len(),
        }
    }

    /// Octets of integrity key (SK_ai / SK_ar, or ESP's): 0 for an AEAD.
    pub fn integ_key_len(self) -> usize {
        match self {
            Cipher::Aead(_) => 0,
            Cipher::CbcHmac(_, i) => i.key_len(),
        }
    }

    /// Octets of keying material one direction of a CHILD_SA takes from KEYMAT.
    pub fn keymat_len(self) -> usize {
        self.encr_key_len() + self.integ_key_len()
    }

    /// Octets of IV carried in each packet or message.
    pub fn iv_len(self) -> usize {
        match self {
            Cipher::Aead(_) => aead::IV_LEN,
            Cipher::CbcHmac(..) => cbc::BLOCK_LEN,
        }
    }

    /// Octets of ICV.
    pub fn icv_len(self) -> usize {
        match self {
            Cipher::Aead(_) => aead::ICV_LEN,
            Cipher::CbcHmac(_, i) => i.icv_len(),
        }
    }

    /// The cipher's block size: what the encrypted part must be a multiple of (1 for the
    /// stream-like AEADs; ESP adds its own 4-octet alignment, RFC 4303 §2.4).
    pub fn block_len(self) -> usize {
        match self {
            Cipher::Aead(_) => 1,
            Cipher::CbcHmac(..) => cbc::BLOCK_LEN,
        }
    }

    /// strongSwan's proposal keywords: `aes256gcm16`, `aes128-sha1`.
    pub fn name(self) -> String {
        match self {
            Cipher::Aead(a) => a.name().to_string(),
            Cipher::CbcHmac(c, i) => format!("{}-{}", c.name(), i.name()),
        }
    }
}

impl From<AeadAlgorithm> for Cipher {
    fn from(a: AeadAlgorithm) -> Cipher {
        Cipher::Aead(a)
    }
}

impl std::fmt::Display for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// A keyed [`Cipher`] for one direction. Debug never prints key material.
#[derive(Debug)]
pub enum CipherKey {
    /// A combined-mode key.
    Aead(AeadKey),
    /// An AES-CBC key and an HMAC key.
    CbcHmac {
        /// The encryption key.
        cbc: CbcKey,
        /// The integrity key.
        integ: IntegKey,
    },
}

impl CipherKey {
    /// Keys `cipher` from separate encryption and integrity keys (IKE: SK_e* and SK_a*).
    pub fn new(cipher: Cipher, encr: &[u8], integ: &[u8]) -> Result<CipherKey, CryptoError> {
        match cipher {
            Cipher::Aead(a) => {
                if !integ.is_empty() {
                    return Err(CryptoError::KeyLength {
                        algorithm: a.name(),
                        expected: 0,
                        got: integ.len(),
                    });
                }
                Ok(CipherKey::Aead(AeadKey::new(a, encr)?))
            }
            Cipher::CbcHmac(c, i) => Ok(CipherKey::CbcHmac {
                cbc: CbcKey::new(c, encr)?,
                integ: IntegKey::new(i, integ)?,
            }),
        }
    }

    /// Keys `cipher` from one direction's KEYMAT slice: encryption key, then integrity key
    /// (RFC 7296 §2.17).
    pub fn from_keymat(cipher: Cipher, keymat: &[u8]) -> Result<CipherKey, CryptoError> {
        if keymat.len() != cipher.keymat_len() {
            return Err(CryptoError::KeyLength {
                algorithm: match cipher {
                    Cipher::Aead(a) => a.name(),
                    Cipher::CbcHmac(c, _) => c.name(),
                },
                expected: cipher.keymat_len(),
                got: keymat.len(),
            });
        }
        let (encr, integ) = keymat.split_at(cipher.encr_key_len());
        CipherKey::new(cipher, encr, integ)
    }

    /// The cipher this key was made for.
    pub fn cipher(&self) -> Cipher {
        match self {
            CipherKey::Aead(k) => Cipher::Aead(k.algorithm()),
            CipherKey::CbcHmac { cbc, integ } => {
                Cipher::CbcHmac(cbc.algorithm(), integ.algorithm())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_per_suite() {
        let g = Cipher::Aead(AeadAlgorithm::AesGcm16Key256);
        assert_eq!(
            (g.keymat_len(), g.iv_len(), g.icv_len(), g.block_len()),
            (36, 8, 16, 1)
        );
        let c = Cipher::CbcHmac(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha1_96);
        assert_eq!((c.encr_key_len(), c.integ_key_len()), (16, 20));
        assert_eq!((c.iv_len(), c.icv_len(), c.block_len()), (16, 12, 16));
        let c = Cipher::CbcHmac(CbcAlgorithm::Aes256, IntegAlgorithm::HmacSha512_256);
        assert_eq!((c.keymat_len(), c.icv_len()), (32 + 64, 32));
        assert_eq!(c.name(), "aes256-sha512");
        assert_eq!(g.to_string(), "aes256gcm16");
    }

    #[test]
    fn keymat_is_split_encryption_first_and_checked() {
        let c = Cipher::CbcHmac(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha256_128);
        let k = CipherKey::from_keymat(c, &[7; 48]).unwrap();
        assert_eq!(k.cipher(), c);
        assert!(matches!(
            CipherKey::from_keymat(c, &[7; 47]),
            Err(CryptoError::KeyLength {
                expected: 48,
                got: 47,
                ..
            })
        ));
        let g = Cipher::Aead(AeadAlgorithm::ChaCha20Poly1305);
        assert!(CipherKey::new(g, &[1; 36], &[2; 1]).is_err());
        let k = CipherKey::from_keymat(g, &[1; 36]).unwrap();
        assert_eq!(k.cipher(), g);
        assert!(!format!("{k:?}").contains("[1, 1"), "{k:?}");
    }
}
