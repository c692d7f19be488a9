//! AES-CBC encryption (RFC 3602) for ESP packets and IKE's Encrypted payload, paired with an
//! integrity transform from [`super::integ`].
//!
//! ```text
//!  ESP payload with AES-CBC (RFC 3602 §3)     IKE SK payload (RFC 7296 §3.14)
//! +-------------------------------+          +-------------------------------+
//! | IV, 16 octets, random per     |          | IV, 16 octets, random per     |
//! | packet, never predictable     |          | message                       |
//! +-------------------------------+          +-------------------------------+
//! | ciphertext, a multiple of 16  |          | ciphertext, a multiple of 16  |
//! +-------------------------------+          +-------------------------------+
//! | ICV (integrity transform)     |          | ICV (integrity transform)     |
//! +-------------------------------+          +-------------------------------+
//! ```
//!
//! The cipher is RustCrypto's `aes` (AES-NI when the CPU has it) in `cbc` mode; the expanded key is
//! zeroized on drop. Each call takes the IV, so the caller draws a fresh random one per packet.
//!
//! What it does not do: padding (ESP's trailer and IKE's Pad Length are the callers'), integrity
//! (encrypt-then-MAC is the caller's order: the ICV covers the IV and ciphertext), or pick IVs.

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit};
use aes::{Aes128, Aes256};

use super::CryptoError;

/// AES's block size, also the CBC IV length (RFC 3602 §2.4).
pub const BLOCK_LEN: usize = 16;

/// An AES-CBC key size as negotiated in an IKEv2 transform of type 1 (ENCR_AES_CBC, ID 12) with a
/// Key Length attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CbcAlgorithm {
    /// ENCR_AES_CBC with a 128-bit key.
    Aes128,
    /// ENCR_AES_CBC with a 256-bit key.
    Aes256,
}

impl CbcAlgorithm {
    /// Both key sizes, stronger first.
    pub const ALL: [CbcAlgorithm; 2] = [CbcAlgorithm::Aes256, CbcAlgorithm::Aes128];

    /// IANA "IKEv2 Transform Type 1" identifier: ENCR_AES_CBC.
    pub fn transform_id(self) -> u16 {
        12
    }

    /// The Key Length attribute, in bits.
    pub fn key_length_attribute(self) -> u16 {
        match self {
            CbcAlgorithm::Aes128 => 128,
            CbcAlgorithm::Aes256 => 256,
        }
    }

    /// The algorithm for a transform ID and Key Length attribute, if we implement it.
    /// ENCR_AES_CBC has no default key length, so the attribute is required (RFC 7296 §3.3.5).
    pub fn from_transform(id: u16, key_bits: Option<u16>) -> Option<CbcAlgorithm> {
        match (id, key_bits) {
            (12, Some(128)) => Some(CbcAlgorithm::Aes128),
            (12, Some(256)) => Some(CbcAlgorithm::Aes256),
            _ => None,
        }
    }

    /// Octets of key.
    pub fn key_len(self) -> usize {
        usize::from(self.key_length_attribute()) / 8
    }

    /// strongSwan's proposal keyword.
    pub fn name(self) -> &'static str {
        match self {
            CbcAlgorithm::Aes128 => "aes128",
            CbcAlgorithm::Aes256 => "aes256",
        }
    }
}

/// An expanded AES key for CBC.
#[derive(Clone)]
pub struct CbcKey {
    algorithm: CbcAlgorithm,
    cipher: Cipher,
}

#[derive(Clone)]
enum Cipher {
    Aes128(Aes128),
    Aes256(Aes256),
}

impl std::fmt::Debug for CbcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CbcKey")
            .field("algorithm", &self.algorithm)
            .field("key", &"***")
            .finish()
    }
}

impl CbcKey {
    /// Expands `key` (exactly [`CbcAlgorithm::key_len`] octets).
    pub fn new(algorithm: CbcAlgorithm, key: &[u8]) -> Result<CbcKey, CryptoError> {
        let wrong = || CryptoError::KeyLength {
            algorithm: algorithm.name(),
            expected: algorithm.key_len(),
            got: key.len(),
        };
        let cipher = match algorithm {
            CbcAlgorithm::Aes128 => {
                Cipher::Aes128(Aes128::new_from_slice(key).map_err(|_| wrong())?)
            }
            CbcAlgorithm::Aes256 => {
                Cipher::Aes256(Aes256::new_from_slice(key).map_err(|_| wrong())?)
            }
        };
        Ok(CbcKey { algorithm, cipher })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> CbcAlgorithm {
        self.algorithm
    }

    /// Encrypts `buf` in place; its length must be a multiple of [`BLOCK_LEN`].
    pub fn encrypt_in_place(
        &self,
        iv: &[u8; BLOCK_LEN],
        buf: &mut [u8],
    ) -> Result<(), CryptoError> {
        let blocks = blocks(buf)?;
        match &self.cipher {
            // By reference: no copy (and wipe) of the key schedule per packet.
            Cipher::Aes128(c) => {
                cbc::Encryptor::<&Aes128>::inner_iv_init(c, iv.into()).encrypt_blocks(blocks)
            }
            Cipher::Aes256(c) => {
                cbc::Encryptor::<&Aes256>::inner_iv_init(c, iv.into()).encrypt_blocks(blocks)
            }
        }
        Ok(())
    }

    /// Decrypts `buf` in place; its length must be a multiple of [`BLOCK_LEN`]. CBC has no
    /// integrity of its own: check the ICV first.
    pub fn decrypt_in_place(
        &self,
        iv: &[u8; BLOCK_LEN],
        buf: &mut [u8],
    ) -> Result<(), CryptoError> {
        let blocks = blocks(buf)?;
        match &self.cipher {
            Cipher::Aes128(c) => {
                cbc::Decryptor::<&Aes128>::inner_iv_init(c, iv.into()).decrypt_blocks(blocks)
            }
            Cipher::Aes256(c) => {
                cbc::Decryptor::<&Aes256>::inner_iv_init(c, iv.into()).decrypt_blocks(blocks)
            }
        }
        Ok(())
    }
}

fn blocks(buf: &mut [u8]) -> Result<&mut [aes::Block], CryptoError> {
    let len = buf.len();
    let (blocks, rest) = aes::Block::slice_as_chunks_mut(buf);
    if !rest.is_empty() {
        return Err(CryptoError::NotBlockAligned {
            len,
            block: BLOCK_LEN,
        });
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    fn check(alg: CbcAlgorithm, key: &str, iv: &str, plain: &[u8], cipher: &str) {
        let key = CbcKey::new(alg, &unhex(key)).unwrap();
        let iv: [u8; 16] = unhex(iv).try_into().unwrap();
        let mut buf = plain.to_vec();
        key.encrypt_in_place(&iv, &mut buf).unwrap();
        assert_eq!(hex::encode(&buf), hex::encode(unhex(cipher)), "{alg:?}");
        key.decrypt_in_place(&iv, &mut buf).unwrap();
        assert_eq!(buf, plain, "{alg:?}");
    }

    /// RFC 3602 §4, cases 1 and 2 (AES-128).
    #[test]
    fn aes128_cbc_rfc3602_cases_1_and_2() {
        check(
            CbcAlgorithm::Aes128,
            "06a9214036b8a15b512e03d534120006",
            "3dafba429d9eb430b422da802c9fac41",
            b"Single block msg",
            "e353779c1079aeb82708942dbe77181a",
        );
        let plain: Vec<u8> = (0..32).collect();
        check(
            CbcAlgorithm::Aes128,
            "c286696d887c9aa0611bbb3e2025a45a",
            "562e17996d093d28ddb3ba695a2e6f58",
            &plain,
            "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1",
        );
    }

    /// NIST SP 800-38A F.2.5 (CBC-AES256), the first two blocks; RFC 3602 has no 256-bit case.
    #[test]
    fn aes256_cbc_sp800_38a_f_2_5() {
        check(
            CbcAlgorithm::Aes256,
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            "000102030405060708090a0b0c0d0e0f",
            &unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"),
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d",
        );
    }

    #[test]
    fn refuses_partial_blocks_and_wrong_keys() {
        let key = CbcKey::new(CbcAlgorithm::Aes128, &[0; 16]).unwrap();
        let mut buf = [0u8; 17];
        assert_eq!(
            key.encrypt_in_place(&[0; 16], &mut buf),
            Err(CryptoError::NotBlockAligned { len: 17, block: 16 })
        );
        assert_eq!(
            key.decrypt_in_place(&[0; 16], &mut buf[..15]),
            Err(CryptoError::NotBlockAligned { len: 15, block: 16 })
        );
        assert!(key.encrypt_in_place(&[0; 16], &mut []).is_ok());
        assert!(matches!(
            CbcKey::new(CbcAlgorithm::Aes256, &[0; 16]),
            Err(CryptoError::KeyLength {
                expected: 32,
                got: 16,
                ..
            })
        ));
        assert_eq!(
            format!("{key:?}"),
            "CbcKey { algorithm: Aes128, key: \"***\" }"
        );
    }

    #[test]
    fn transform_round_trip() {
        for alg in CbcAlgorithm::ALL {
            assert_eq!(
                CbcAlgorithm::from_transform(alg.transform_id(), Some(alg.key_length_attribute())),
                Some(alg)
            );
        }
        assert_eq!(CbcAlgorithm::from_transform(12, None), None);
        assert_eq!(CbcAlgorithm::from_transform(12, Some(192)), None);
        assert_eq!(CbcAlgorithm::from_transform(20, Some(128)), None);
    }
}
