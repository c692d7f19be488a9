//! Integrity transforms of non-AEAD suites: HMAC-SHA1-96 (RFC 2404) and HMAC-SHA2-256-128,
//! HMAC-SHA2-384-192, HMAC-SHA2-512-256 (RFC 4868), for ESP packets and IKE's Encrypted payload.
//!
//! ```text
//!  ICV = first N octets of HMAC(K, data)        key length  ICV length
//!  AUTH_HMAC_SHA1_96        (ID 2)                  20          12
//!  AUTH_HMAC_SHA2_256_128   (ID 12)                 32          16
//!  AUTH_HMAC_SHA2_384_192   (ID 13)                 48          24
//!  AUTH_HMAC_SHA2_512_256   (ID 14)                 64          32
//! ```
//!
//! HMAC runs on *ring*; a received ICV is compared in constant time.
//!
//! What it does not do: encryption (that is [`super::cbc`]), or decide what the ICV covers (ESP
//! covers header, IV and ciphertext, RFC 4303 §2.8; IKE the whole message up to the ICV, RFC 7296
//! §3.14).

use ring::hmac;

use super::CryptoError;

/// An integrity algorithm as negotiated in an IKEv2 transform of type 3 (INTEG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntegAlgorithm {
    /// AUTH_HMAC_SHA1_96 (RFC 2404), transform ID 2.
    HmacSha1_96,
    /// AUTH_HMAC_SHA2_256_128 (RFC 4868), transform ID 12.
    HmacSha256_128,
    /// AUTH_HMAC_SHA2_384_192 (RFC 4868), transform ID 13.
    HmacSha384_192,
    /// AUTH_HMAC_SHA2_512_256 (RFC 4868), transform ID 14.
    HmacSha512_256,
}

impl IntegAlgorithm {
    /// Every supported integrity algorithm, strongest first.
    pub const ALL: [IntegAlgorithm; 4] = [
        IntegAlgorithm::HmacSha512_256,
        IntegAlgorithm::HmacSha384_192,
        IntegAlgorithm::HmacSha256_128,
        IntegAlgorithm::HmacSha1_96,
    ];

    /// IANA "IKEv2 Transform Type 3" identifier.
    pub fn transform_id(self) -> u16 {
        match self {
            IntegAlgorithm::HmacSha1_96 => 2,
            IntegAlgorithm::HmacSha256_128 => 12,
            IntegAlgorithm::HmacSha384_192 => 13,
            IntegAlgorithm::HmacSha512_256 => 14,
        }
    }

    /// The algorithm for a transform ID, if we implement it.
    pub fn from_transform_id(id: u16) -> Option<IntegAlgorithm> {
        IntegAlgorithm::ALL
            .into_iter()
            .find(|a| a.transform_id() == id)
    }

    /// Octets of key (SK_ai, SK_ar, or the ESP integrity key): the hash's output length
    /// (RFC 2404 §3, RFC 4868 §2.1.1).
    pub fn key_len(self) -> usize {
        match self {
            IntegAlgorithm::HmacSha1_96 => 20,
            IntegAlgorithm::HmacSha256_128 => 32,
            IntegAlgorithm::HmacSha384_192 => 48,
            IntegAlgorithm::HmacSha512_256 => 64,
        }
    }

    /// Octets of the truncated ICV: half the hash's output, 96 bits for SHA1.
    pub fn icv_len(self) -> usize {
        match self {
            IntegAlgorithm::HmacSha1_96 => 12,
            IntegAlgorithm::HmacSha256_128 => 16,
            IntegAlgorithm::HmacSha384_192 => 24,
            IntegAlgorithm::HmacSha512_256 => 32,
        }
    }

    /// strongSwan's proposal keyword.
    pub fn name(self) -> &'static str {
        match self {
            IntegAlgorithm::HmacSha1_96 => "sha1",
            IntegAlgorithm::HmacSha256_128 => "sha256",
            IntegAlgorithm::HmacSha384_192 => "sha384",
            IntegAlgorithm::HmacSha512_256 => "sha512",
        }
    }

    fn ring_algorithm(self) -> hmac::Algorithm {
        match self {
            IntegAlgorithm::HmacSha1_96 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            IntegAlgorithm::HmacSha256_128 => hmac::HMAC_SHA256,
            IntegAlgorithm::HmacSha384_192 => hmac::HMAC_SHA384,
            IntegAlgorithm::HmacSha512_256 => hmac::HMAC_SHA512,
        }
    }
}

/// An integrity key bound to its algorithm. ring's key holds only the HMAC's inner and outer
/// digest states, never the raw key.
pub struct IntegKey {
    algorithm: IntegAlgorithm,
    key: hmac::Key,
}

impl std::fmt::Debug for IntegKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegKey")
            .field("algorithm", &self.algorithm)
            .field("key", &"***")
            .finish()
    }
}

impl IntegKey {
    /// Binds `key` (exactly [`IntegAlgorithm::key_len`] octets) to `algorithm`.
    pub fn new(algorithm: IntegAlgorithm, key: &[u8]) -> Result<IntegKey, CryptoError> {
        if key.len() != algorithm.key_len() {
            return Err(CryptoError::KeyLength {
                algorithm: algorithm.name(),
                expected: algorithm.key_len(),
                got: key.len(),
            });
        }
        Ok(IntegKey {
            algorithm,
            key: hmac::Key::new(algorithm.ring_algorithm(), key),
        })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> IntegAlgorithm {
        self.algorithm
    }

    /// Writes the truncated ICV over `data[0] | data[1] | ...` into `icv`, which must be
    /// [`IntegAlgorithm::icv_len`] octets.
    pub fn sign(&self, data: &[&[u8]], icv: &mut [u8]) -> Result<(), CryptoError> {
        let n = self.algorithm.icv_len();
        if icv.len() != n {
            return Err(CryptoError::TooShort {
                needed: n,
                got: icv.len(),
            });
        }
        icv.copy_from_slice(&self.tag(data).as_ref()[..n]);
        Ok(())
    }

    /// Checks a received ICV over `data`, in constant time.
    pub fn verify(&self, data: &[&[u8]], icv: &[u8]) -> Result<(), CryptoError> {
        let n = self.algorithm.icv_len();
        if icv.len() != n {
            return Err(CryptoError::Integrity);
        }
        let tag = self.tag(data);
        let diff = tag.as_ref()[..n]
            .iter()
            .zip(icv)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if std::hint::black_box(diff) == 0 {
            Ok(())
        } else {
            Err(CryptoError::Integrity)
        }
    }

    fn tag(&self, data: &[&[u8]]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in data {
            ctx.update(part);
        }
        ctx.sign()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn icv(alg: IntegAlgorithm, key: &[u8], data: &[&[u8]]) -> String {
        let k = IntegKey::new(alg, key).unwrap();
        let mut out = vec![0; alg.icv_len()];
        k.sign(data, &mut out).unwrap();
        hex::encode(out)
    }

    /// RFC 2202 §3 test case 1 truncated to 96 bits (RFC 2404 §3), and RFC 4868 §2.7.2 test
    /// cases AUTH256-1, AUTH384-1, AUTH512-1: key 0x0b repeated to the key length, "Hi There".
    #[test]
    fn known_answers_rfc2202_rfc4868() {
        let cases = [
            (IntegAlgorithm::HmacSha1_96, "b617318655057264e28bc0b6"),
            (
                IntegAlgorithm::HmacSha256_128,
                "198a607eb44bfbc69903a0f1cf2bbdc5",
            ),
            (
                IntegAlgorithm::HmacSha384_192,
                "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973",
            ),
            (
                IntegAlgorithm::HmacSha512_256,
                "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8",
            ),
        ];
        for (alg, want) in cases {
            let key = vec![0x0b; alg.key_len()];
            assert_eq!(icv(alg, &key, &[b"Hi There"]), want, "{alg:?}");
            assert_eq!(icv(alg, &key, &[b"Hi ", b"", b"There"]), want, "{alg:?}");
        }
    }

    /// RFC 4868 §2.7.2 test cases AUTH256-2, AUTH384-2, AUTH512-2: key "Jefe" repeated.
    #[test]
    fn known_answers_rfc4868_case_2() {
        let cases = [
            (
                IntegAlgorithm::HmacSha256_128,
                "167f928588c5cc2eef8e3093caa0e87c",
            ),
            (
                IntegAlgorithm::HmacSha384_192,
                "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d",
            ),
            (
                IntegAlgorithm::HmacSha512_256,
                "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454",
            ),
        ];
        for (alg, want) in cases {
            let key: Vec<u8> = b"Jefe"
                .iter()
                .copied()
                .cycle()
                .take(alg.key_len())
                .collect();
            assert_eq!(
                icv(alg, &key, &[b"what do ya want for nothing?"]),
                want,
                "{alg:?}"
            );
        }
    }

    #[test]
    fn verify_accepts_the_icv_and_refuses_any_change() {
        for alg in IntegAlgorithm::ALL {
            let key = IntegKey::new(alg, &vec![7; alg.key_len()]).unwrap();
            let mut good = vec![0; alg.icv_len()];
            key.sign(&[b"packet"], &mut good).unwrap();
            assert_eq!(key.verify(&[b"packet"], &good), Ok(()));
            assert_eq!(key.verify(&[b"packeT"], &good), Err(CryptoError::Integrity));
            for i in 0..good.len() {
                let mut bad = good.clone();
                bad[i] ^= 0x80;
                assert_eq!(key.verify(&[b"packet"], &bad), Err(CryptoError::Integrity));
            }
            assert_eq!(
                key.verify(&[b"packet"], &good[1..]),
                Err(CryptoError::Integrity)
            );
        }
    }

    #[test]
    fn wrong_key_length_and_transform_ids() {
        assert!(matches!(
            IntegKey::new(IntegAlgorithm::HmacSha256_128, &[0; 16]),
            Err(CryptoError::KeyLength { expected: 32, .. })
        ));
        for alg in IntegAlgorithm::ALL {
            assert_eq!(
                IntegAlgorithm::from_transform_id(alg.transform_id()),
                Some(alg)
            );
        }
        assert_eq!(IntegAlgorithm::from_transform_id(1), None);
        let k = IntegKey::new(IntegAlgorithm::HmacSha1_96, &[1; 20]).unwrap();
        assert_eq!(
            format!("{k:?}"),
            "IntegKey { algorithm: HmacSha1_96, key: \"***\" }"
        );
    }
}
