//! IKEv2 pseudorandom functions: HMAC-SHA1 (RFC 2104, RFC 7296 §3.3.2), HMAC-SHA2-256/384/512
//! (RFC 4868) and the `prf+` expansion of RFC 7296 §2.13.
//!
//! ```text
//!  prf+ (K,S) = T1 | T2 | T3 | T4 | ...       (RFC 7296 §2.13)
//!
//!  T1 = prf (K, S | 0x01)
//!  T2 = prf (K, T1 | S | 0x02)
//!  Tn = prf (K, Tn-1 | S | n)                 n <= 255
//! ```
//!
//! HMAC runs on *ring*. Outputs are [`Secret<Vec<u8>>`], zeroized on drop.
//!
//! What it does not do: decide which keys are cut from the `prf+` stream (that is IKE key
//! derivation, `ike::keys`), or provide the integrity (truncated HMAC) transforms of non-AEAD suites
//! (that is [`super::integ`]).

use ring::hmac;

use secret::Secret;

use super::CryptoError;

/// A PRF as negotiated in an IKEv2 transform of type 2 (PRF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrfAlgorithm {
    /// PRF_HMAC_SHA1 (RFC 2104), transform ID 2.
    HmacSha1,
    /// PRF_HMAC_SHA2_256 (RFC 4868), transform ID 5.
    HmacSha256,
    /// PRF_HMAC_SHA2_384 (RFC 4868), transform ID 6.
    HmacSha384,
    /// PRF_HMAC_SHA2_512 (RFC 4868), transform ID 7.
    HmacSha512,
}

impl PrfAlgorithm {
    /// Every supported PRF, strongest first.
    pub const ALL: [PrfAlgorithm; 4] = [
        PrfAlgorithm::HmacSha512,
        PrfAlgorithm::HmacSha384,
        PrfAlgorithm::HmacSha256,
        PrfAlgorithm::HmacSha1,
    ];

    /// IANA "IKEv2 Transform Type 2" identifier.
    pub fn transform_id(self) -> u16 {
        match self {
            PrfAlgorithm::HmacSha1 => 2,
            PrfAlgorithm::HmacSha256 => 5,
            PrfAlgorithm::HmacSha384 => 6,
            PrfAlgorithm::HmacSha512 => 7,
        }
    }

    /// The PRF for a transform ID, if we implement it.
    pub fn from_transform_id(id: u16) -> Option<PrfAlgorithm> {
        match id {
            2 => Some(PrfAlgorithm::HmacSha1),
            5 => Some(PrfAlgorithm::HmacSha256),
            6 => Some(PrfAlgorithm::HmacSha384),
            7 => Some(PrfAlgorithm::HmacSha512),
            _ => None,
        }
    }

    /// Octets of output, which is also the length of SK_d, SK_pi and SK_pr (RFC 7296 §2.14).
    pub fn output_len(self) -> usize {
        match self {
            PrfAlgorithm::HmacSha1 => 20,
            PrfAlgorithm::HmacSha256 => 32,
            PrfAlgorithm::HmacSha384 => 48,
            PrfAlgorithm::HmacSha512 => 64,
        }
    }

    /// strongSwan's proposal keyword.
    pub fn name(self) -> &'static str {
        match self {
            PrfAlgorithm::HmacSha1 => "prfsha1",
            PrfAlgorithm::HmacSha256 => "prfsha256",
            PrfAlgorithm::HmacSha384 => "prfsha384",
            PrfAlgorithm::HmacSha512 => "prfsha512",
        }
    }

    fn ring_algorithm(self) -> hmac::Algorithm {
        match self {
            PrfAlgorithm::HmacSha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            PrfAlgorithm::HmacSha256 => hmac::HMAC_SHA256,
            PrfAlgorithm::HmacSha384 => hmac::HMAC_SHA384,
            PrfAlgorithm::HmacSha512 => hmac::HMAC_SHA512,
        }
    }

    /// `prf(key, data[0] | data[1] | ...)`. HMAC takes keys of any length, so IKEv2's
    /// "Ni | Nr" key for SKEYSEED is used whole (RFC 7296 §2.14).
    pub fn prf(self, key: &[u8], data: &[&[u8]]) -> Secret<Vec<u8>> {
        let key = hmac::Key::new(self.ring_algorithm(), key);
        let mut ctx = hmac::Context::with_key(&key);
        for part in data {
            ctx.update(part);
        }
        Secret::from_slice(ctx.sign().as_ref())
    }

    /// `prf+(key, seed[0] | seed[1] | ...)` truncated to `len` octets (RFC 7296 §2.13).
    /// Fails when `len` needs more than 255 iterations.
    pub fn prf_plus(
        self,
        key: &[u8],
        seed: &[&[u8]],
        len: usize,
    ) -> Result<Secret<Vec<u8>>, CryptoError> {
        let out_len = self.output_len();
        let max = 255 * out_len;
        if len > max {
            return Err(CryptoError::PrfPlusTooLong {
                requested: len,
                max,
            });
        }
        let hkey = hmac::Key::new(self.ring_algorithm(), key);
        let mut out = Secret::zeroed(len);
        let mut previous: Option<hmac::Tag> = None;
        let mut filled = 0;
        let mut counter: u8 = 1;
        while filled < len {
            let mut ctx = hmac::Context::with_key(&hkey);
            if let Some(t) = &previous {
                ctx.update(t.as_ref());
            }
            for part in seed {
                ctx.update(part);
            }
            ctx.update(&[counter]);
            let t = ctx.sign();
            let take = (len - filled).min(out_len);
            out.expose_mut()[filled..filled + take].copy_from_slice(&t.as_ref()[..take]);
            filled += take;
            previous = Some(t);
            counter = counter.wrapping_add(1);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    /// RFC 4231 §4.2 (test case 1) and §4.3 (test case 2) for all three hashes.
    #[test]
    fn hmac_sha2_rfc4231_cases_1_and_2() {
        let cases: [(&[u8], &[u8], [&str; 3]); 2] = [
            (
                &[0x0b; 20],
                b"Hi There",
                [
                    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
                    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c
                     faea9ea9076ede7f4af152e8b2fa9cb6",
                    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde
                     daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
                ],
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                [
                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
                    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e
                     8e2240ca5e69e2c78b3239ecfab21649",
                    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554
                     9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
                ],
            ),
        ];
        let algs = [
            PrfAlgorithm::HmacSha256,
            PrfAlgorithm::HmacSha384,
            PrfAlgorithm::HmacSha512,
        ];
        for (key, data, expected) in cases {
            for (alg, want) in algs.iter().zip(expected) {
                let got = alg.prf(key, &[data]);
                assert_eq!(
                    hex::encode(got.expose()),
                    hex::encode(unhex(want)),
                    "{alg:?}"
                );
                assert_eq!(got.len(), alg.output_len());
            }
        }
    }

    /// RFC 2202 §3, test cases 1 and 2: HMAC-SHA1.
    #[test]
    fn hmac_sha1_rfc2202_cases_1_and_2() {
        let alg = PrfAlgorithm::HmacSha1;
        let got = alg.prf(&[0x0b; 20], &[b"Hi There"]);
        assert_eq!(
            hex::encode(got.expose()),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        let got = alg.prf(b"Jefe", &[b"what do ya want for nothing?"]);
        assert_eq!(
            hex::encode(got.expose()),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(got.len(), alg.output_len());
    }

    /// Splitting the data into parts gives the same PRF output as one concatenated input.
    #[test]
    fn prf_over_parts_equals_prf_over_concatenation() {
        let alg = PrfAlgorithm::HmacSha256;
        let whole = alg.prf(b"k", &[b"abcdef"]);
        let parts = alg.prf(b"k", &[b"ab", b"", b"cdef"]);
        assert_eq!(whole, parts);
    }

    /// prf+ built by hand from the RFC 7296 §2.13 definition.
    #[test]
    fn prf_plus_follows_the_rfc_definition() {
        for alg in PrfAlgorithm::ALL {
            let key = b"some key";
            let seed = b"seed octets";
            let t1 = alg.prf(key, &[seed, &[1]]);
            let t2 = alg.prf(key, &[t1.expose(), seed, &[2]]);
            let t3 = alg.prf(key, &[t2.expose(), seed, &[3]]);
            let mut expected = t1.expose().to_vec();
            expected.extend_from_slice(t2.expose());
            expected.extend_from_slice(t3.expose());
            let len = 2 * alg.output_len() + 5;
            let got = alg.prf_plus(key, &[&seed[..4], &seed[4..]], len).unwrap();
            assert_eq!(got.expose(), &expected[..len], "{alg:?}");
        }
    }

    #[test]
    fn prf_plus_refuses_more_than_255_blocks() {
        let alg = PrfAlgorithm::HmacSha256;
        assert!(alg.prf_plus(b"k", &[b"s"], 255 * 32).is_ok());
        assert_eq!(
            alg.prf_plus(b"k", &[b"s"], 255 * 32 + 1).unwrap_err(),
            CryptoError::PrfPlusTooLong {
                requested: 255 * 32 + 1,
                max: 255 * 32
            }
        );
    }

    #[test]
    fn transform_ids_round_trip() {
        for alg in PrfAlgorithm::ALL {
            assert_eq!(
                PrfAlgorithm::from_transform_id(alg.transform_id()),
                Some(alg)
            );
        }
        assert_eq!(PrfAlgorithm::from_transform_id(1), None);
        assert_eq!(PrfAlgorithm::from_transform_id(4), None);
    }
}
