//! Combined-mode (AEAD) ciphers: AES-GCM with a 16-octet ICV and ChaCha20-Poly1305.
//!
//! Both ESP (RFC 4106, RFC 7634) and IKEv2's Encrypted payload (RFC 5282, RFC 7634 §3) use these
//! ciphers the same way: the negotiated key material is the cipher key followed by a 4-octet salt, and
//! the 12-octet nonce is `salt || IV`, where the 8-octet IV travels in each packet:
//!
//! ```text
//!  keying material (KEYMAT slice)        nonce given to the cipher
//! +-------------------------+------+    +------+------------------+
//! | key (16 or 32 octets)   | salt |    | salt | IV (from packet) |
//! +-------------------------+------+    +------+------------------+
//!                             4 oct        4          8 octets
//! ```
//!
//! AES-GCM runs on *ring* (AES-NI and CLMUL where the CPU has them); ChaCha20-Poly1305 on the
//! `chacha20poly1305` crate. Both seal and open in place with a detached 16-octet ICV, so the ESP
//! data plane can encrypt inside its own packet buffers without allocating.
//!
//! What it does not do: pick IVs (the caller supplies a unique IV per packet; ESP uses its sequence
//! number), build AAD, or know about SPIs and replay windows.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use ring::aead as ring_aead;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::CryptoError;

/// Octets of the per-packet IV carried on the wire (RFC 4106 §3.1, RFC 7634 §2).
pub const IV_LEN: usize = 8;
/// Octets of the integrity check value: the full 16-octet tag (the "-16" in AES-GCM-16).
pub const ICV_LEN: usize = 16;
/// Octets of salt that follow the cipher key in the keying material (RFC 4106 §8.1).
pub const SALT_LEN: usize = 4;

/// An AEAD algorithm as negotiated in an IKEv2 ENCR transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AeadAlgorithm {
    /// ENCR_AES_GCM_16 with a 128-bit key (RFC 4106).
    AesGcm16Key128,
    /// ENCR_AES_GCM_16 with a 256-bit key (RFC 4106).
    AesGcm16Key256,
    /// ENCR_CHACHA20_POLY1305 (RFC 7634).
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// Every algorithm, in the order a responder that prefers strength would list them.
    pub const ALL: [AeadAlgorithm; 3] = [
        AeadAlgorithm::AesGcm16Key256,
        AeadAlgorithm::AesGcm16Key128,
        AeadAlgorithm::ChaCha20Poly1305,
    ];

    /// IKEv2 transform type 1 (ENCR) identifier (IANA "IKEv2 Transform Type 1").
    pub fn transform_id(self) -> u16 {
        match self {
            AeadAlgorithm::AesGcm16Key128 | AeadAlgorithm::AesGcm16Key256 => 20,
            AeadAlgorithm::ChaCha20Poly1305 => 28,
        }
    }

    /// The Key Length transform attribute in bits, where the transform carries one
    /// (AES-GCM must, RFC 4106 §8.4; ChaCha20-Poly1305 must not, RFC 7634 §3).
    pub fn key_length_attribute(self) -> Option<u16> {
        match self {
            AeadAlgorithm::AesGcm16Key128 => Some(128),
            AeadAlgorithm::AesGcm16Key256 => Some(256),
            AeadAlgorithm::ChaCha20Poly1305 => None,
        }
    }

    /// Finds the algorithm for an ENCR transform ID and its optional Key Length attribute.
    pub fn from_transform(id: u16, key_bits: Option<u16>) -> Option<AeadAlgorithm> {
        match (id, key_bits) {
            (20, Some(128)) => Some(AeadAlgorithm::AesGcm16Key128),
            (20, Some(256)) => Some(AeadAlgorithm::AesGcm16Key256),
            (28, None) => Some(AeadAlgorithm::ChaCha20Poly1305),
            _ => None,
        }
    }

    /// Octets of cipher key, without the salt.
    pub fn key_len(self) -> usize {
        match self {
            AeadAlgorithm::AesGcm16Key128 => 16,
            AeadAlgorithm::AesGcm16Key256 | AeadAlgorithm::ChaCha20Poly1305 => 32,
        }
    }

    /// Octets of keying material to take from KEYMAT / prf+: key plus salt.
    pub fn keymat_len(self) -> usize {
        self.key_len() + SALT_LEN
    }

    /// A short name for logs and `show` output (strongSwan's proposal keywords).
    pub fn name(self) -> &'static str {
        match self {
            AeadAlgorithm::AesGcm16Key128 => "aes128gcm16",
            AeadAlgorithm::AesGcm16Key256 => "aes256gcm16",
            AeadAlgorithm::ChaCha20Poly1305 => "chacha20poly1305",
        }
    }
}

/// A keyed AEAD cipher for one direction of one SA. Key material is not kept in readable form:
/// the salt is zeroized on drop, the ChaCha20 key by its crate, and *ring* holds the AES key schedule
/// opaquely (it offers no zeroization hook; see the crate README).
pub struct AeadKey {
    algorithm: AeadAlgorithm,
    salt: Salt,
    cipher: Cipher,
}

#[derive(Zeroize, ZeroizeOnDrop)]
struct Salt([u8; SALT_LEN]);

// One key per SA direction, so the size gap costs nothing; keeping the AES key schedule inline
// saves a pointer chase per packet on the data-plane hot path.
#[allow(clippy::large_enum_variant)]
enum Cipher {
    AesGcm(ring_aead::LessSafeKey),
    ChaCha(chacha20poly1305::ChaCha20Poly1305),
}

impl std::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AeadKey")
            .field("algorithm", &self.algorithm)
            .field("key", &"***")
            .finish()
    }
}

impl AeadKey {
    /// Keys the cipher from `keymat` = key || salt, exactly `algorithm.keymat_len()` octets.
    pub fn new(algorithm: AeadAlgorithm, keymat: &[u8]) -> Result<AeadKey, CryptoError> {
        if keymat.len() != algorithm.keymat_len() {
            return Err(CryptoError::KeyLength {
                algorithm: algorithm.name(),
                expected: algorithm.keymat_len(),
                got: keymat.len(),
            });
        }
        let (key, salt) = keymat.split_at(algorithm.key_len());
        let mut salt_bytes = [0u8; SALT_LEN];
        salt_bytes.copy_from_slice(salt);
        let cipher = match algorithm {
            AeadAlgorithm::AesGcm16Key128 | AeadAlgorithm::AesGcm16Key256 => {
                let ring_algorithm = if algorithm == AeadAlgorithm::AesGcm16Key128 {
                    &ring_aead::AES_128_GCM
                } else {
                    &ring_aead::AES_256_GCM
                };
                let unbound = ring_aead::UnboundKey::new(ring_algorithm, key).map_err(|_| {
                    CryptoError::KeyLength {
                        algorithm: algorithm.name(),
                        expected: algorithm.keymat_len(),
                        got: keymat.len(),
                    }
                })?;
                Cipher::AesGcm(ring_aead::LessSafeKey::new(unbound))
            }
            AeadAlgorithm::ChaCha20Poly1305 => {
                let cipher =
                    chacha20poly1305::ChaCha20Poly1305::new_from_slice(key).map_err(|_| {
                        CryptoError::KeyLength {
                            algorithm: algorithm.name(),
                            expected: algorithm.keymat_len(),
                            got: keymat.len(),
                        }
                    })?;
                Cipher::ChaCha(cipher)
            }
        };
        Ok(AeadKey {
            algorithm,
            salt: Salt(salt_bytes),
            cipher,
        })
    }

    /// The algorithm this key was made for.
    pub fn algorithm(&self) -> AeadAlgorithm {
        self.algorithm
    }

    fn nonce(&self, iv: &[u8; IV_LEN]) -> [u8; SALT_LEN + IV_LEN] {
        let mut nonce = [0u8; SALT_LEN + IV_LEN];
        nonce[..SALT_LEN].copy_from_slice(&self.salt.0);
        nonce[SALT_LEN..].copy_from_slice(iv);
        nonce
    }

    /// Encrypts `in_out` in place and returns the ICV. `iv` must never repeat under this key.
    pub fn seal_in_place(&self, iv: &[u8; IV_LEN], aad: &[u8], in_out: &mut [u8]) -> [u8; ICV_LEN] {
        let nonce = self.nonce(iv);
        match &self.cipher {
            Cipher::AesGcm(key) => {
                let tag = key
                    .seal_in_place_separate_tag(
                        ring_aead::Nonce::assume_unique_for_key(nonce),
                        ring_aead::Aad::from(aad),
                        in_out,
                    )
                    // ring fails only for inputs over 2^36 octets, far beyond any IP packet or
                    // IKE message (both are limited to 64 KiB by their length fields).
                    .expect("AES-GCM input within ring's length limit");
                let mut icv = [0u8; ICV_LEN];
                icv.copy_from_slice(tag.as_ref());
                icv
            }
            Cipher::ChaCha(cipher) => {
                let tag = cipher
                    .encrypt_inout_detached(&nonce.into(), aad, in_out.into())
                    // Fails only past ChaCha20's 256 GiB per-nonce limit; see above.
                    .expect("ChaCha20-Poly1305 input within its length limit");
                let mut icv = [0u8; ICV_LEN];
                icv.copy_from_slice(tag.as_slice());
                icv
            }
        }
    }

    /// Verifies `icv` over `aad` and the ciphertext in `in_out`, then decrypts it in place.
    /// On failure `in_out` must be treated as garbage and dropped.
    pub fn open_in_place(
        &self,
        iv: &[u8; IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
        icv: &[u8; ICV_LEN],
    ) -> Result<(), CryptoError> {
        let nonce = self.nonce(iv);
        match &self.cipher {
            Cipher::AesGcm(key) => key
                .open_in_place_separate_tag(
                    ring_aead::Nonce::assume_unique_for_key(nonce),
                    ring_aead::Aad::from(aad),
                    ring_aead::Tag::from(*icv),
                    in_out,
                    0..,
                )
                .map(|_| ())
                .map_err(|_| CryptoError::Integrity),
            Cipher::ChaCha(cipher) => cipher
                .decrypt_inout_detached(&nonce.into(), aad, in_out.into(), icv.into())
                .map_err(|_| CryptoError::Integrity),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    struct Vector {
        algorithm: AeadAlgorithm,
        keymat: Vec<u8>,
        iv: [u8; IV_LEN],
        aad: Vec<u8>,
        plaintext: Vec<u8>,
        ciphertext: Vec<u8>,
        icv: [u8; ICV_LEN],
    }

    fn check(v: &Vector) {
        let key = AeadKey::new(v.algorithm, &v.keymat).unwrap();
        let mut buf = v.plaintext.clone();
        let icv = key.seal_in_place(&v.iv, &v.aad, &mut buf);
        assert_eq!(hex::encode(&buf), hex::encode(&v.ciphertext), "ciphertext");
        assert_eq!(hex::encode(icv), hex::encode(v.icv), "icv");
        key.open_in_place(&v.iv, &v.aad, &mut buf, &icv).unwrap();
        assert_eq!(buf, v.plaintext);
    }

    fn array<const N: usize>(s: &str) -> [u8; N] {
        unhex(s).try_into().unwrap()
    }

    /// RFC 8439 §2.8.2: the 12-octet nonce `07000000 4041424344454647` is RFC 7634's
    /// salt `07000000` followed by the 8-octet IV.
    #[test]
    fn chacha20_poly1305_rfc8439_2_8_2() {
        let mut keymat = unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
        keymat.extend(unhex("07000000"));
        check(&Vector {
            algorithm: AeadAlgorithm::ChaCha20Poly1305,
            keymat,
            iv: array("4041424344454647"),
            aad: unhex("50515253c0c1c2c3c4c5c6c7"),
            plaintext: b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".to_vec(),
            ciphertext: unhex(
                "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
                 3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
                 92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
                 3ff4def08e4b7a9de576d26586cec64b6116",
            ),
            icv: array("1ae10b594f09e26a7e902ecbd0600691"),
        });
    }

    /// The GCM specification's (McGrew & Viega) test case 4 (AES-128) and 16 (AES-256): the 12-octet
    /// IV `cafebabe facedbaddecaf888` is RFC 4106's salt `cafebabe` followed by the 8-octet IV.
    #[test]
    fn aes_gcm_mcgrew_viega_cases_4_and_16() {
        let plaintext = unhex(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
             1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
        );
        let aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let mut keymat = unhex("feffe9928665731c6d6a8f9467308308");
        keymat.extend(unhex("cafebabe"));
        check(&Vector {
            algorithm: AeadAlgorithm::AesGcm16Key128,
            keymat,
            iv: array("facedbaddecaf888"),
            aad: aad.clone(),
            plaintext: plaintext.clone(),
            ciphertext: unhex(
                "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e
                 21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
            ),
            icv: array("5bc94fbc3221a5db94fae95ae7121a47"),
        });
        let mut keymat = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        keymat.extend(unhex("cafebabe"));
        check(&Vector {
            algorithm: AeadAlgorithm::AesGcm16Key256,
            keymat,
            iv: array("facedbaddecaf888"),
            aad,
            plaintext,
            ciphertext: unhex(
                "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
                 8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            ),
            icv: array("76fc6ece0f4e1768cddf8853bb2d551b"),
        });
    }

    #[test]
    fn wrong_keymat_length_is_refused_without_echoing_the_key() {
        let err = AeadKey::new(AeadAlgorithm::AesGcm16Key256, &[7u8; 32]).unwrap_err();
        assert_eq!(
            err,
            CryptoError::KeyLength {
                algorithm: "aes256gcm16",
                expected: 36,
                got: 32
            }
        );
        let key = AeadKey::new(AeadAlgorithm::AesGcm16Key128, &[0x5au8; 20]).unwrap();
        assert!(!format!("{key:?}").contains("5a"), "{key:?}");
    }

    #[test]
    fn transform_ids_round_trip() {
        for algorithm in AeadAlgorithm::ALL {
            assert_eq!(
                AeadAlgorithm::from_transform(
                    algorithm.transform_id(),
                    algorithm.key_length_attribute()
                ),
                Some(algorithm)
            );
        }
        assert_eq!(AeadAlgorithm::from_transform(20, Some(192)), None);
        assert_eq!(AeadAlgorithm::from_transform(28, Some(256)), None);
    }

    proptest::proptest! {
        /// Any tampering with ciphertext, AAD, IV or ICV is caught; the untouched packet opens.
        #[test]
        fn tampering_is_detected(
            alg in proptest::sample::select(AeadAlgorithm::ALL.to_vec()),
            plaintext in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            aad in proptest::collection::vec(proptest::num::u8::ANY, 0..16),
            flip in proptest::num::usize::ANY,
            bit in 0u8..8,
        ) {
            let key = AeadKey::new(alg, &vec![0x42; alg.keymat_len()]).unwrap();
            let iv = [1, 2, 3, 4, 5, 6, 7, 8];
            let mut sealed = plaintext.clone();
            let icv = key.seal_in_place(&iv, &aad, &mut sealed);

            let mut opened = sealed.clone();
            key.open_in_place(&iv, &aad, &mut opened, &icv).unwrap();
            proptest::prop_assert_eq!(&opened, &plaintext);

            // Flip one bit somewhere in (aad || ciphertext || icv || iv).
            let total = aad.len() + sealed.len() + ICV_LEN + IV_LEN;
            let at = flip % total;
            let (mut aad2, mut ct2, mut icv2, mut iv2) = (aad.clone(), sealed.clone(), icv, iv);
            if at < aad.len() {
                aad2[at] ^= 1 << bit;
            } else if at < aad.len() + sealed.len() {
                ct2[at - aad.len()] ^= 1 << bit;
            } else if at < aad.len() + sealed.len() + ICV_LEN {
                icv2[at - aad.len() - sealed.len()] ^= 1 << bit;
            } else {
                iv2[at - aad.len() - sealed.len() - ICV_LEN] ^= 1 << bit;
            }
            proptest::prop_assert_eq!(
                key.open_in_place(&iv2, &aad2, &mut ct2, &icv2),
                Err(CryptoError::Integrity)
            );
        }
    }
}
