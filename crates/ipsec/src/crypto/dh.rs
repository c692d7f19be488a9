//! Diffie-Hellman groups for IKEv2 key exchange: ECP-256 and ECP-384 (RFC 5903, group 19 and 20,
//! on *ring*), ECP-521 (RFC 5903, group 21, on RustCrypto's `p521`) and Curve25519 (RFC 8031,
//! group 31, on x25519-dalek).
//!
//! Key Exchange payload data per group:
//!
//! ```text
//!  group 19/20/21 (RFC 5903 §7)        group 31 (RFC 8031 §2)
//! +--------------+--------------+     +---------------------------+
//! | x (32/48/66) | y (32/48/66) |     | u-coordinate, 32 octets   |
//! +--------------+--------------+     +---------------------------+
//!  big-endian, no 0x04 prefix          little-endian (RFC 7748)
//! ```
//!
//! The shared secret g^ir is the x coordinate for ECP groups (RFC 5903 §7) and the X25519 output
//! for Curve25519, which must not be all zero (RFC 8031 §2.3).
//!
//! MODP groups 2, 5, 14-18 and 22-24 are [`DhGroup::Modp`], computed by [`super::modp`].
//!
//! What it does not do: reuse a private value across exchanges (each is used once).

use ring::agreement;
use ring::rand::SecureRandom;

use secret::Secret;

use super::CryptoError;
use super::modp::{ModpGroup, ModpPrivate};

/// A Diffie-Hellman group as negotiated in an IKEv2 transform of type 4 (KE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhGroup {
    /// 256-bit random ECP group (RFC 5903), group 19.
    Ecp256,
    /// 384-bit random ECP group (RFC 5903), group 20.
    Ecp384,
    /// 521-bit random ECP group (RFC 5903), group 21.
    Ecp521,
    /// Curve25519 (RFC 8031), group 31.
    Curve25519,
    /// A finite-field group: 2, 5, 14-18 (RFC 2409, RFC 3526) or 22-24 (RFC 5114).
    Modp(ModpGroup),
}

impl DhGroup {
    /// Every supported group, by transform ID.
    pub const ALL: [DhGroup; 14] = [
        DhGroup::Modp(ModpGroup::Modp1024),
        DhGroup::Modp(ModpGroup::Modp1536),
        DhGroup::Modp(ModpGroup::Modp2048),
        DhGroup::Modp(ModpGroup::Modp3072),
        DhGroup::Modp(ModpGroup::Modp4096),
        DhGroup::Modp(ModpGroup::Modp6144),
        DhGroup::Modp(ModpGroup::Modp8192),
        DhGroup::Ecp256,
        DhGroup::Ecp384,
        DhGroup::Ecp521,
        DhGroup::Modp(ModpGroup::Modp1024s160),
        DhGroup::Modp(ModpGroup::Modp2048s224),
        DhGroup::Modp(ModpGroup::Modp2048s256),
        DhGroup::Curve25519,
    ];

    /// IANA "IKEv2 Transform Type 4" identifier, also the KE payload's group number.
    pub fn transform_id(self) -> u16 {
        match self {
            DhGroup::Ecp256 => 19,
            DhGroup::Ecp384 => 20,
            DhGroup::Ecp521 => 21,
            DhGroup::Curve25519 => 31,
            DhGroup::Modp(g) => g.transform_id(),
        }
    }

    /// The group for a transform ID, if we implement it.
    pub fn from_transform_id(id: u16) -> Option<DhGroup> {
        match id {
            19 => Some(DhGroup::Ecp256),
            20 => Some(DhGroup::Ecp384),
            21 => Some(DhGroup::Ecp521),
            31 => Some(DhGroup::Curve25519),
            _ => ModpGroup::from_transform_id(id).map(DhGroup::Modp),
        }
    }

    /// Octets of Key Exchange data (the public value) for this group.
    pub fn public_len(self) -> usize {
        match self {
            DhGroup::Ecp256 => 64,
            DhGroup::Ecp384 => 96,
            DhGroup::Ecp521 => 132,
            DhGroup::Curve25519 => 32,
            DhGroup::Modp(g) => g.public_len(),
        }
    }

    /// strongSwan's proposal keyword.
    pub fn name(self) -> &'static str {
        match self {
            DhGroup::Ecp256 => "ecp256",
            DhGroup::Ecp384 => "ecp384",
            DhGroup::Ecp521 => "ecp521",
            DhGroup::Curve25519 => "x25519",
            DhGroup::Modp(g) => g.name(),
        }
    }

    fn ring_algorithm(self) -> Option<&'static agreement::Algorithm> {
        match self {
            DhGroup::Ecp256 => Some(&agreement::ECDH_P256),
            DhGroup::Ecp384 => Some(&agreement::ECDH_P384),
            DhGroup::Ecp521 | DhGroup::Curve25519 | DhGroup::Modp(_) => None,
        }
    }
}

/// Our half of one key exchange: a private value used once, and its public value.
pub struct DhPrivate {
    group: DhGroup,
    secret: PrivateValue,
    public: Vec<u8>,
}

enum PrivateValue {
    Ring(agreement::EphemeralPrivateKey),
    X25519(x25519_dalek::StaticSecret),
    P521(p521::SecretKey),
    Modp(ModpPrivate),
}

impl std::fmt::Debug for DhPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DhPrivate")
            .field("group", &self.group)
            .field("secret", &"***")
            .finish()
    }
}

impl DhPrivate {
    /// Generates a fresh private value from `rng` (ring's `SystemRandom` in product code).
    pub fn generate(group: DhGroup, rng: &dyn SecureRandom) -> Result<DhPrivate, CryptoError> {
        match group.ring_algorithm() {
            Some(alg) => {
                let key = agreement::EphemeralPrivateKey::generate(alg, rng)
                    .map_err(|_| CryptoError::Random)?;
                let public = key.compute_public_key().map_err(|_| CryptoError::Random)?;
                // ring gives the SEC1 uncompressed point 0x04 || x || y; IKE carries x || y.
                let public = public.as_ref()[1..].to_vec();
                Ok(DhPrivate {
                    group,
                    secret: PrivateValue::Ring(key),
                    public,
                })
            }
            None if let DhGroup::Modp(g) = group => {
                let key = ModpPrivate::generate(g, rng)?;
                let public = key.public().to_vec();
                Ok(DhPrivate {
                    group,
                    secret: PrivateValue::Modp(key),
                    public,
                })
            }
            None if group == DhGroup::Ecp521 => {
                // A uniform scalar in [1, n-1]: 521 random bits, redrawn while out of range.
                let mut bytes = Secret::zeroed(66);
                let key = loop {
                    rng.fill(bytes.expose_mut())
                        .map_err(|_| CryptoError::Random)?;
                    bytes.expose_mut()[0] &= 0x01;
                    if let Ok(key) = p521::SecretKey::from_slice(bytes.expose()) {
                        break key;
                    }
                };
                // SEC1 uncompressed 0x04 || x || y; IKE carries x || y.
                let public = key.public_key().to_sec1_bytes()[1..].to_vec();
                Ok(DhPrivate {
                    group,
                    secret: PrivateValue::P521(key),
                    public,
                })
            }
            None => {
                let mut scalar = Secret::zeroed(32);
                rng.fill(scalar.expose_mut())
                    .map_err(|_| CryptoError::Random)?;
                let mut bytes = [0u8; 32];
                bytes.copy_from_slice(scalar.expose());
                let secret = x25519_dalek::StaticSecret::from(bytes);
                zeroize::Zeroize::zeroize(&mut bytes);
                let public = x25519_dalek::PublicKey::from(&secret).as_bytes().to_vec();
                Ok(DhPrivate {
                    group,
                    secret: PrivateValue::X25519(secret),
                    public,
                })
            }
        }
    }

    /// The group.
    pub fn group(&self) -> DhGroup {
        self.group
    }

    /// Our public value, as carried in the KE payload.
    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// Computes the shared secret g^ir from the peer's KE data, consuming the private value.
    /// Rejects public values of the wrong length, points not on the curve, and an all-zero
    /// X25519 result (RFC 8031 §2.3).
    pub fn agree(self, peer_public: &[u8]) -> Result<Secret<Vec<u8>>, CryptoError> {
        if peer_public.len() != self.group.public_len() {
            return Err(CryptoError::PublicValueLength {
                group: self.group.name(),
                expected: self.group.public_len(),
                got: peer_public.len(),
            });
        }
        match self.secret {
            PrivateValue::Ring(key) => {
                let alg = self
                    .group
                    .ring_algorithm()
                    .expect("ring key exists only for ring groups");
                let mut point = Vec::with_capacity(1 + peer_public.len());
                point.push(0x04);
                point.extend_from_slice(peer_public);
                let peer = agreement::UnparsedPublicKey::new(alg, point);
                agreement::agree_ephemeral(key, &peer, Secret::from_slice).map_err(|_| {
                    CryptoError::InvalidPublicValue {
                        group: self.group.name(),
                    }
                })
            }
            PrivateValue::P521(key) => {
                let mut point = Vec::with_capacity(1 + peer_public.len());
                point.push(0x04);
                point.extend_from_slice(peer_public);
                let peer = p521::PublicKey::from_sec1_bytes(&point).map_err(|_| {
                    CryptoError::InvalidPublicValue {
                        group: self.group.name(),
                    }
                })?;
                let shared = key.diffie_hellman(&peer);
                Ok(Secret::from_slice(shared.raw_secret_bytes()))
            }
            PrivateValue::Modp(key) => key.agree(peer_public),
            PrivateValue::X25519(secret) => {
                let mut bytes = [0u8; 32];
                bytes.copy_from_slice(peer_public);
                let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(bytes));
                if !shared.was_contributory() {
                    return Err(CryptoError::InvalidPublicValue {
                        group: self.group.name(),
                    });
                }
                Ok(Secret::from_slice(shared.as_bytes()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    #[allow(deprecated)]
    fn fixed(group: DhGroup, private: &[u8]) -> DhPrivate {
        let rng = ring::test::rand::FixedSliceRandom { bytes: private };
        DhPrivate::generate(group, &rng).unwrap()
    }

    struct Vector {
        group: DhGroup,
        i: &'static str,
        gi: &'static str,
        r: &'static str,
        gr: &'static str,
        gir: &'static str,
    }

    fn check(v: &Vector) {
        let i = fixed(v.group, &unhex(v.i));
        let r = fixed(v.group, &unhex(v.r));
        assert_eq!(hex::encode(i.public()), hex::encode(unhex(v.gi)), "g^i");
        assert_eq!(hex::encode(r.public()), hex::encode(unhex(v.gr)), "g^r");
        let gr = r.public().to_vec();
        let gi = i.public().to_vec();
        assert_eq!(
            hex::encode(i.agree(&gr).unwrap().expose()),
            hex::encode(unhex(v.gir))
        );
        assert_eq!(
            hex::encode(r.agree(&gi).unwrap().expose()),
            hex::encode(unhex(v.gir))
        );
    }

    /// RFC 5903 §8.1: 256-bit random ECP group.
    #[test]
    fn ecp256_rfc5903_8_1() {
        check(&Vector {
            group: DhGroup::Ecp256,
            i: "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
            gi: "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180
                 5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
            r: "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
            gr: "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63
                 56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
            gir: "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
        });
    }

    /// RFC 5903 §8.2: 384-bit random ECP group.
    #[test]
    fn ecp384_rfc5903_8_2() {
        check(&Vector {
            group: DhGroup::Ecp384,
            i: "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655
                E35B538041E649EE3FAEF896783AB194",
            gi: "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6
                 DE3AC808ACB4BDB4C88732AEE95F41AA9482ED1FC0EEB9CAFC4984625CCFC23F
                 65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE69B4C634573A81C",
            r: "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942
                E0308312916B8ED2960E4BD55A7448FC",
            gr: "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D
                 0D1AC43A0336DEF96FDA41D0774A3571DCFBEC7AACF3196472169E838430367F
                 66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5EAAD96DB9E6386C",
            gir: "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4
                  D603135569B9E9D09CF5D4A270F59746",
        });
    }

    /// RFC 5903 §8.3: 521-bit random ECP group.
    #[test]
    fn ecp521_rfc5903_8_3() {
        check(&Vector {
            group: DhGroup::Ecp521,
            i: "0037ADE9319A89F4DABDB3EF411AACCCA5123C61ACAB57B5393DCE47608172A0
                95AA85A30FE1C2952C6771D937BA9777F5957B2639BAB072462F68C27A57382D
                4A52",
            gi: "0015417E84DBF28C0AD3C278713349DC7DF153C897A1891BD98BAB4357C9ECBE
                 E1E3BF42E00B8E380AEAE57C2D107564941885942AF5A7F4601723C4195D176C
                 ED3E
                 017CAE20B6641D2EEB695786D8C946146239D099E18E1D5A514C739D7CB4A10A
                 D8A788015AC405D7799DC75E7B7D5B6CF2261A6A7F1507438BF01BEB6CA3926F
                 9582",
            r: "0145BA99A847AF43793FDD0E872E7CDFA16BE30FDC780F97BCCC3F078380201E
                9C677D600B343757A3BDBF2A3163E4C2F869CCA7458AA4A4EFFC311F5CB15168
                5EB9",
            gr: "00D0B3975AC4B799F5BEA16D5E13E9AF971D5E9B984C9F39728B5E5739735A21
                 9B97C356436ADC6E95BB0352F6BE64A6C2912D4EF2D0433CED2B6171640012D9
                 460F
                 015C68226383956E3BD066E797B623C27CE0EAC2F551A10C2C724D9852077B87
                 220B6536C5C408A1D2AEBB8E86D678AE49CB57091F4732296579AB44FCD17F0F
                 C56A",
            gir: "01144C7D79AE6956BC8EDB8E7C787C4521CB086FA64407F97894E5E6B2D79B04
                  D1427E73CA4BAA240A34786859810C06B3C715A3A8CC3151F2BEE417996D19F3
                  DDEA",
        });
    }

    /// RFC 7748 §6.1: Alice and Bob.
    #[test]
    fn x25519_rfc7748_6_1() {
        check(&Vector {
            group: DhGroup::Curve25519,
            i: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
            gi: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
            r: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
            gr: "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
            gir: "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
        });
    }

    #[test]
    fn random_keys_agree_for_every_group() {
        let rng = SystemRandom::new();
        for group in DhGroup::ALL {
            let a = DhPrivate::generate(group, &rng).unwrap();
            let b = DhPrivate::generate(group, &rng).unwrap();
            assert_eq!(a.public().len(), group.public_len());
            let (pa, pb) = (a.public().to_vec(), b.public().to_vec());
            assert_eq!(a.agree(&pb).unwrap(), b.agree(&pa).unwrap(), "{group:?}");
        }
    }

    #[test]
    fn bad_public_values_are_refused() {
        let rng = SystemRandom::new();
        for group in DhGroup::ALL {
            let a = DhPrivate::generate(group, &rng).unwrap();
            let short = vec![1u8; group.public_len() - 1];
            assert!(matches!(
                a.agree(&short),
                Err(CryptoError::PublicValueLength { .. })
            ));
        }
        // A point off the curve.
        let a = DhPrivate::generate(DhGroup::Ecp256, &rng).unwrap();
        let mut off = DhPrivate::generate(DhGroup::Ecp256, &rng)
            .unwrap()
            .public()
            .to_vec();
        off[63] ^= 1;
        assert!(matches!(
            a.agree(&off),
            Err(CryptoError::InvalidPublicValue { .. })
        ));
        // A point off the P-521 curve.
        let a = DhPrivate::generate(DhGroup::Ecp521, &rng).unwrap();
        let mut off = DhPrivate::generate(DhGroup::Ecp521, &rng)
            .unwrap()
            .public()
            .to_vec();
        off[131] ^= 1;
        assert!(matches!(
            a.agree(&off),
            Err(CryptoError::InvalidPublicValue { .. })
        ));
        // A low-order X25519 point gives an all-zero secret (RFC 8031 §2.3).
        let a = DhPrivate::generate(DhGroup::Curve25519, &rng).unwrap();
        assert!(matches!(
            a.agree(&[0u8; 32]),
            Err(CryptoError::InvalidPublicValue { .. })
        ));
    }

    #[test]
    fn every_iana_group_aws_offers_is_here_and_round_trips() {
        for id in [2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 31] {
            let g = DhGroup::from_transform_id(id).unwrap_or_else(|| panic!("group {id}"));
            assert_eq!(g.transform_id(), id);
        }
        assert_eq!(DhGroup::from_transform_id(1), None);
        assert_eq!(DhGroup::from_transform_id(25), None);
        assert_eq!(DhGroup::from_transform_id(14).unwrap().name(), "modp2048");
    }

    #[test]
    fn debug_hides_the_private_value() {
        let a = DhPrivate::generate(DhGroup::Curve25519, &SystemRandom::new()).unwrap();
        assert_eq!(
            format!("{a:?}"),
            "DhPrivate { group: Curve25519, secret: \"***\" }"
        );
    }
}
