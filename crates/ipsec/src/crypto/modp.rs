//! Finite-field (MODP) Diffie-Hellman groups for IKEv2: the safe-prime groups 2 (RFC 2409 §6.2),
//! 5, 14, 15, 16, 17 and 18 (RFC 3526), and the prime-order-subgroup groups 22, 23 and 24
//! (RFC 5114 §2.1-2.3).
//!
//! ```text
//!  Key Exchange data (RFC 7296 §3.4)      shared secret g^ir (RFC 7296 §2.14)
//! +-----------------------------------+  +-----------------------------------+
//! | g^x mod p, big-endian, zero-padded |  | g^xy mod p, big-endian, zero-     |
//! | on the left to the length of p     |  | padded to the length of p         |
//! +-----------------------------------+  +-----------------------------------+
//! ```
//!
//! Arithmetic is RustCrypto's `crypto-bigint` in Montgomery form. Its modular exponentiation
//! (`pow_montgomery_form_amm`) is a fixed 4-bit window: every window costs the same squarings and
//! one multiplication, and the window's table entry is selected by a constant-time scan of the whole
//! table, so the time depends on the exponent's *bit length* (public: fixed per group here), never on
//! its bits. The primes and generators are public, so the Montgomery parameters are computed
//! variable-time.
//!
//! Peer public values are checked as RFC 6989 asks: 1 < y < p-1 for every group (§2.1), and
//! y^q = 1 (mod p) for the RFC 5114 groups, whose generator spans only a subgroup of prime order q
//! (§2.2): without it a peer could confine the secret to a small subgroup.
//!
//! What it does not do: the elliptic-curve groups (that is [`super::dh`]), or pick a group (IKE
//! negotiation does).

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd};
use ring::rand::SecureRandom;
use zeroize::Zeroize;

use secret::Secret;

use super::CryptoError;

/// A MODP group as negotiated in an IKEv2 transform of type 4 (KE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModpGroup {
    /// 1024-bit MODP group (RFC 2409 §6.2), group 2.
    Modp1024,
    /// 1536-bit MODP group (RFC 3526 §2), group 5.
    Modp1536,
    /// 2048-bit MODP group (RFC 3526 §3), group 14.
    Modp2048,
    /// 3072-bit MODP group (RFC 3526 §4), group 15.
    Modp3072,
    /// 4096-bit MODP group (RFC 3526 §5), group 16.
    Modp4096,
    /// 6144-bit MODP group (RFC 3526 §6), group 17.
    Modp6144,
    /// 8192-bit MODP group (RFC 3526 §7), group 18.
    Modp8192,
    /// 1024-bit MODP group with 160-bit prime order subgroup (RFC 5114 §2.1), group 22.
    Modp1024s160,
    /// 2048-bit MODP group with 224-bit prime order subgroup (RFC 5114 §2.2), group 23.
    Modp2048s224,
    /// 2048-bit MODP group with 256-bit prime order subgroup (RFC 5114 §2.3), group 24.
    Modp2048s256,
}

impl ModpGroup {
    /// Every MODP group, by transform ID.
    pub const ALL: [ModpGroup; 10] = [
        ModpGroup::Modp1024,
        ModpGroup::Modp1536,
        ModpGroup::Modp2048,
        ModpGroup::Modp3072,
        ModpGroup::Modp4096,
        ModpGroup::Modp6144,
        ModpGroup::Modp8192,
        ModpGroup::Modp1024s160,
        ModpGroup::Modp2048s224,
        ModpGroup::Modp2048s256,
    ];

    /// IANA "IKEv2 Transform Type 4" identifier, also the KE payload's group number.
    pub fn transform_id(self) -> u16 {
        match self {
            ModpGroup::Modp1024 => 2,
            ModpGroup::Modp1536 => 5,
            ModpGroup::Modp2048 => 14,
            ModpGroup::Modp3072 => 15,
            ModpGroup::Modp4096 => 16,
            ModpGroup::Modp6144 => 17,
            ModpGroup::Modp8192 => 18,
            ModpGroup::Modp1024s160 => 22,
            ModpGroup::Modp2048s224 => 23,
            ModpGroup::Modp2048s256 => 24,
        }
    }

    /// The group for a transform ID, if it is a MODP group.
    pub fn from_transform_id(id: u16) -> Option<ModpGroup> {
        ModpGroup::ALL.into_iter().find(|g| g.transform_id() == id)
    }

    /// strongSwan's proposal keyword.
    pub fn name(self) -> &'static str {
        match self {
            ModpGroup::Modp1024 => "modp1024",
            ModpGroup::Modp1536 => "modp1536",
            ModpGroup::Modp2048 => "modp2048",
            ModpGroup::Modp3072 => "modp3072",
            ModpGroup::Modp4096 => "modp4096",
            ModpGroup::Modp6144 => "modp6144",
            ModpGroup::Modp8192 => "modp8192",
            ModpGroup::Modp1024s160 => "modp1024s160",
            ModpGroup::Modp2048s224 => "modp2048s224",
            ModpGroup::Modp2048s256 => "modp2048s256",
        }
    }

    /// Bits of the prime p.
    pub fn bits(self) -> u32 {
        match self {
            ModpGroup::Modp1024 | ModpGroup::Modp1024s160 => 1024,
            ModpGroup::Modp1536 => 1536,
            ModpGroup::Modp2048 | ModpGroup::Modp2048s224 | ModpGroup::Modp2048s256 => 2048,
            ModpGroup::Modp3072 => 3072,
            ModpGroup::Modp4096 => 4096,
            ModpGroup::Modp6144 => 6144,
            ModpGroup::Modp8192 => 8192,
        }
    }

    /// Octets of Key Exchange data (the public value), and of the shared secret: the length of p.
    pub fn public_len(self) -> usize {
        self.bits() as usize / 8
    }

    /// Bits of the private exponent. For the RFC 5114 groups it is drawn below q (their subgroup
    /// order, 160-256 bits). For the safe-prime groups it is twice the group's security strength s
    /// (1024: 80, 1536: 96, 2048: 112, 3072: 128, 4096: 152, 6144: 176, 8192: 200 bits).
    ///
    /// Why 2s, not the full length of p: NIST SP 800-56A Rev. 3 §5.6.1.1.4 draws the private key
    /// of a safe-prime group (its Appendix D lists MODP-2048..8192 with these s) from
    /// [1, 2^N - 1] with 2s <= N, so 2s is the smallest approved length; RFC 3526 §8 reaches the
    /// same "exponent twice the strength" rule (its table's lower column) because the best attack
    /// on a short exponent (Pollard's lambda / baby-step giant-step) costs 2^(N/2). A longer
    /// exponent cannot raise security above s, which the discrete logarithm in the group itself
    /// caps, while its cost grows linearly: a full 2048-bit exponent is about nine times the work of
    /// 224 bits, in every handshake and rekey. So 2s: exactly the standard's floor, no lower.
    fn exponent_bits(self) -> u32 {
        match self {
            ModpGroup::Modp1024 => 160,
            ModpGroup::Modp1536 => 192,
            ModpGroup::Modp2048 => 224,
            ModpGroup::Modp3072 => 256,
            ModpGroup::Modp4096 => 304,
            ModpGroup::Modp6144 => 352,
            ModpGroup::Modp8192 => 400,
            ModpGroup::Modp1024s160 => 160,
            ModpGroup::Modp2048s224 => 224,
            ModpGroup::Modp2048s256 => 256,
        }
    }

    fn hex(self) -> (&'static str, Option<&'static str>, Option<&'static str>) {
        match self {
            ModpGroup::Modp1024 => (MODP_1024_P, None, None),
            ModpGroup::Modp1536 => (MODP_1536_P, None, None),
            ModpGroup::Modp2048 => (MODP_2048_P, None, None),
            ModpGroup::Modp3072 => (MODP_3072_P, None, None),
            ModpGroup::Modp4096 => (MODP_4096_P, None, None),
            ModpGroup::Modp6144 => (MODP_6144_P, None, None),
            ModpGroup::Modp8192 => (MODP_8192_P, None, None),
            ModpGroup::Modp1024s160 => (
                MODP_1024_160_P,
                Some(MODP_1024_160_G),
                Some(MODP_1024_160_Q),
            ),
            ModpGroup::Modp2048s224 => (
                MODP_2048_224_P,
                Some(MODP_2048_224_G),
                Some(MODP_2048_224_Q),
            ),
            ModpGroup::Modp2048s256 => (
                MODP_2048_256_P,
                Some(MODP_2048_256_G),
                Some(MODP_2048_256_Q),
            ),
        }
    }

    /// The group's domain parameters, decoded from the RFC's hex.
    fn domain(self) -> Domain {
        let bits = self.bits();
        let (p, g, q) = self.hex();
        let p = BoxedUint::from_be_hex(p, bits).expect("RFC prime is valid hex");
        let p = Odd::new(p).expect("RFC prime is odd");
        let params = BoxedMontyParams::new_vartime(p);
        let g = match g {
            Some(g) => BoxedUint::from_be_hex(g, bits).expect("RFC generator is valid hex"),
            None => BoxedUint::one_with_precision(bits)
                .wrapping_add(BoxedUint::one_with_precision(bits)),
        };
        let q = q.map(|q| {
            let q_bits = (q.len() as u32 * 4).div_ceil(64) * 64;
            let padded = format!("{q:0>width$}", width = q_bits as usize / 4);
            BoxedUint::from_be_hex(&padded, q_bits).expect("RFC order is valid hex")
        });
        Domain { params, g, q }
    }
}

struct Domain {
    params: BoxedMontyParams,
    g: BoxedUint,
    q: Option<BoxedUint>,
}

impl Domain {
    fn p(&self) -> &BoxedUint {
        self.params.modulus().as_ref()
    }

    /// `base^exponent mod p`, constant-time in the exponent's value, its length `exponent_bits` public.
    fn pow(&self, base: &BoxedUint, exponent: &BoxedUint, exponent_bits: u32) -> BoxedUint {
        BoxedMontyForm::new(base.clone(), &self.params)
            .pow_bounded_exp(exponent, exponent_bits)
            .retrieve()
    }
}

/// Our half of one MODP key exchange: a private exponent used once, and its public value.
pub struct ModpPrivate {
    group: ModpGroup,
    exponent: Secret<Vec<u8>>,
    public: Vec<u8>,
}

impl std::fmt::Debug for ModpPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModpPrivate")
            .field("group", &self.group)
            .field("exponent", &"***")
            .finish()
    }
}

impl ModpPrivate {
    /// Draws a fresh private exponent from `rng` and computes g^x mod p. For the RFC 5114 groups
    /// x is uniform in [1, q-1] (rejection sampling); for the safe-prime groups x has
    /// [`ModpGroup::exponent_bits`] random bits and is at least 2.
    pub fn generate(group: ModpGroup, rng: &dyn SecureRandom) -> Result<ModpPrivate, CryptoError> {
        let domain = group.domain();
        let bits = group.exponent_bits();
        let len = bits.div_ceil(8) as usize;
        let mut exponent = Secret::zeroed(len);
        loop {
            rng.fill(exponent.expose_mut())
                .map_err(|_| CryptoError::Random)?;
            let excess = (len as u32) * 8 - bits;
            exponent.expose_mut()[0] &= 0xff >> excess;
            let mut x = exponent_uint(exponent.expose(), bits);
            let in_range = match &domain.q {
                Some(q) => x.cmp_vartime(q).is_lt(),
                None => true,
            } && x
                .cmp_vartime(BoxedUint::one_with_precision(x.bits_precision()))
                .is_gt();
            x.zeroize();
            if in_range {
                break;
            }
        }
        ModpPrivate::from_exponent(group, &domain, exponent)
    }

    fn from_exponent(
        group: ModpGroup,
        domain: &Domain,
        exponent: Secret<Vec<u8>>,
    ) -> Result<ModpPrivate, CryptoError> {
        let bits = group.exponent_bits().max(exponent.len() as u32 * 8);
        let mut x = exponent_uint(exponent.expose(), bits);
        let public = domain.pow(&domain.g, &x, bits);
        x.zeroize();
        Ok(ModpPrivate {
            group,
            exponent,
            public: fixed_be(&public, group.public_len()),
        })
    }

    /// The group.
    pub fn group(&self) -> ModpGroup {
        self.group
    }

    /// Our public value, as carried in the KE payload.
    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// Computes the shared secret g^ir from the peer's KE data, consuming the private exponent.
    /// Refuses a public value of the wrong length, one outside (1, p-1), and for the RFC 5114 groups
    /// one outside the subgroup of order q (RFC 6989 §2.1, §2.2).
    pub fn agree(self, peer_public: &[u8]) -> Result<Secret<Vec<u8>>, CryptoError> {
        let group = self.group;
        if peer_public.len() != group.public_len() {
            return Err(CryptoError::PublicValueLength {
                group: group.name(),
                expected: group.public_len(),
                got: peer_public.len(),
            });
        }
        let domain = group.domain();
        let invalid = || CryptoError::InvalidPublicValue {
            group: group.name(),
        };
        let y = BoxedUint::from_be_slice(peer_public, group.bits()).map_err(|_| invalid())?;
        if !public_value_in_range(&domain, &y) {
            return Err(invalid());
        }
        if let Some(q) = &domain.q {
            let one = BoxedUint::one_with_precision(group.bits());
            if domain.pow(&y, q, q.bits_precision()) != one {
                return Err(invalid());
            }
        }
        let bits = group.exponent_bits().max(self.exponent.len() as u32 * 8);
        let mut x = exponent_uint(self.exponent.expose(), bits);
        let mut shared = domain.pow(&y, &x, bits);
        x.zeroize();
        let out = Secret::new(fixed_be(&shared, group.public_len()));
        shared.zeroize();
        Ok(out)
    }
}

/// 1 < y < p-1 (RFC 6989 §2.1): rejects 0, 1 and p-1, which would fix the shared secret, and any
/// value not reduced mod p. The checks are on a public value, so they may be variable-time.
fn public_value_in_range(domain: &Domain, y: &BoxedUint) -> bool {
    let one = BoxedUint::one_with_precision(y.bits_precision());
    let p_minus_1 = domain.p().wrapping_sub(&one);
    y.cmp_vartime(&one).is_gt() && y.cmp_vartime(&p_minus_1).is_lt()
}

fn exponent_uint(bytes: &[u8], bits: u32) -> BoxedUint {
    let precision = bits.div_ceil(64) * 64;
    BoxedUint::from_be_slice(bytes, precision).expect("exponent fits its precision")
}

/// Big-endian, left-padded with zeros to `len` octets (the length of p).
fn fixed_be(v: &BoxedUint, len: usize) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    bytes[bytes.len() - len..].to_vec()
}

/// Group 2: MODP-1024 prime p.
const MODP_1024_P: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
);

/// Group 5: MODP-1536 prime p.
const MODP_1536_P: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF",
);

/// Group 14: MODP-2048 prime p.
const MODP_2048_P: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
);

/// Group 15: MODP-3072 prime p.
const MODP_3072_P: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33",
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864",
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2",
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
);

/// Group 16: MODP-4096 prime p.
const MODP_4096_P: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33",
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864",
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2",
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7",
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8",
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2",
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9",
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C934063199FFFFFFFFFFFFFFFF",
);

/// Group 17: MODP-6144 prime p.
const MODP_6144_P: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33",
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864",
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2",
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7",
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8",
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2",
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9",
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026",
    "C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AE",
    "B06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B",
    "DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92EC",
    "F032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E",
    "59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA",
    "CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76",
    "F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468",
    "043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DCC4024FFFFFFFFFFFFFFFF",
);

/// Group 18: MODP-8192 prime p.
const MODP_8192_P: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
    "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
    "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
    "3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33",
    "A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864",
    "D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2",
    "08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A92108011A723C12A787E6D7",
    "88719A10BDBA5B2699C327186AF4E23C1A946834B6150BDA2583E9CA2AD44CE8",
    "DBBBC2DB04DE8EF92E8EFC141FBECAA6287C59474E6BC05D99B2964FA090C3A2",
    "233BA186515BE7ED1F612970CEE2D7AFB81BDD762170481CD0069127D5B05AA9",
    "93B4EA988D8FDDC186FFB7DC90A6C08F4DF435C93402849236C3FAB4D27C7026",
    "C1D4DCB2602646DEC9751E763DBA37BDF8FF9406AD9E530EE5DB382F413001AE",
    "B06A53ED9027D831179727B0865A8918DA3EDBEBCF9B14ED44CE6CBACED4BB1B",
    "DB7F1447E6CC254B332051512BD7AF426FB8F401378CD2BF5983CA01C64B92EC",
    "F032EA15D1721D03F482D7CE6E74FEF6D55E702F46980C82B5A84031900B1C9E",
    "59E7C97FBEC7E8F323A97A7E36CC88BE0F1D45B7FF585AC54BD407B22B4154AA",
    "CC8F6D7EBF48E1D814CC5ED20F8037E0A79715EEF29BE32806A1D58BB7C5DA76",
    "F550AA3D8A1FBFF0EB19CCB1A313D55CDA56C9EC2EF29632387FE8D76E3C0468",
    "043E8F663F4860EE12BF2D5B0B7474D6E694F91E6DBE115974A3926F12FEE5E4",
    "38777CB6A932DF8CD8BEC4D073B931BA3BC832B68D9DD300741FA7BF8AFC47ED",
    "2576F6936BA424663AAB639C5AE4F5683423B4742BF1C978238F16CBE39D652D",
    "E3FDB8BEFC848AD922222E04A4037C0713EB57A81A23F0C73473FC646CEA306B",
    "4BCBC8862F8385DDFA9D4B7FA2C087E879683303ED5BDD3A062B3CF5B3A278A6",
    "6D2A13F83F44F82DDF310EE074AB6A364597E899A0255DC164F31CC50846851D",
    "F9AB48195DED7EA1B1D510BD7EE74D73FAF36BC31ECFA268359046F4EB879F92",
    "4009438B481C6CD7889A002ED5EE382BC9190DA6FC026E479558E4475677E9AA",
    "9E3050E2765694DFC81F56E880B96E7160C980DD98EDD3DFFFFFFFFFFFFFFFFF",
);

/// Group 22: MODP-1024/160 prime p.
const MODP_1024_160_P: &str = concat!(
    "B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B61",
    "6073E28675A23D189838EF1E2EE652C013ECB4AEA906112324975C3CD49B83BF",
    "ACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0",
    "A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371",
);

/// Group 22: generator g.
const MODP_1024_160_G: &str = concat!(
    "A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31",
    "266FEA1E5C41564B777E690F5504F213160217B4B01B886A5E91547F9E2749F4",
    "D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28A",
    "D662A4D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5",
);

/// Group 22: prime order q of the subgroup g generates.
const MODP_1024_160_Q: &str = "F518AA8781A8DF278ABA4E7D64B7CB9D49462353";

/// Group 23: MODP-2048/224 prime p.
const MODP_2048_224_P: &str = concat!(
    "AD107E1E9123A9D0D660FAA79559C51FA20D64E5683B9FD1B54B1597B61D0A75",
    "E6FA141DF95A56DBAF9A3C407BA1DF15EB3D688A309C180E1DE6B85A1274A0A6",
    "6D3F8152AD6AC2129037C9EDEFDA4DF8D91E8FEF55B7394B7AD5B7D0B6C12207",
    "C9F98D11ED34DBF6C6BA0B2C8BBC27BE6A00E0A0B9C49708B3BF8A3170918836",
    "81286130BC8985DB1602E714415D9330278273C7DE31EFDC7310F7121FD5A074",
    "15987D9ADC0A486DCDF93ACC44328387315D75E198C641A480CD86A1B9E587E8",
    "BE60E69CC928B2B9C52172E413042E9B23F10B0E16E79763C9B53DCF4BA80A29",
    "E3FB73C16B8E75B97EF363E2FFA31F71CF9DE5384E71B81C0AC4DFFE0C10E64F",
);

/// Group 23: generator g.
const MODP_2048_224_G: &str = concat!(
    "AC4032EF4F2D9AE39DF30B5C8FFDAC506CDEBE7B89998CAF74866A08CFE4FFE3",
    "A6824A4E10B9A6F0DD921F01A70C4AFAAB739D7700C29F52C57DB17C620A8652",
    "BE5E9001A8D66AD7C17669101999024AF4D027275AC1348BB8A762D0521BC98A",
    "E247150422EA1ED409939D54DA7460CDB5F6C6B250717CBEF180EB34118E98D1",
    "19529A45D6F834566E3025E316A330EFBB77A86F0C1AB15B051AE3D428C8F8AC",
    "B70A8137150B8EEB10E183EDD19963DDD9E263E4770589EF6AA21E7F5F2FF381",
    "B539CCE3409D13CD566AFBB48D6C019181E1BCFE94B30269EDFE72FE9B6AA4BD",
    "7B5A0F1C71CFFF4C19C418E1F6EC017981BC087F2A7065B384B890D3191F2BFA",
);

/// Group 23: prime order q of the subgroup g generates.
const MODP_2048_224_Q: &str = "801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB";

/// Group 24: MODP-2048/256 prime p.
const MODP_2048_256_P: &str = concat!(
    "87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00",
    "E00DF8F1D61957D4FAF7DF4561B2AA3016C3D91134096FAA3BF4296D830E9A7C",
    "209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B",
    "6C5BFC11D45F9088B941F54EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76",
    "B63ACAE1CAA6B7902D52526735488A0EF13C6D9A51BFA4AB3AD8347796524D8E",
    "F6A167B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026",
    "C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F26375D7014103",
    "A4B54330C198AF126116D2276E11715F693877FAD7EF09CADB094AE91E1A1597",
);

/// Group 24: generator g.
const MODP_2048_256_G: &str = concat!(
    "3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA125",
    "10DBC15077BE463FFF4FED4AAC0BB555BE3A6C1B0C6B47B1BC3773BF7E8C6F62",
    "901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B",
    "777DE62AAAB8A8628AC376D282D6ED3864E67982428EBC831D14348F6F2F9193",
    "B5045AF2767164E1DFC967C1FB3F2E55A4BD1BFFE83B9C80D052B985D182EA0A",
    "DB2A3B7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915",
    "B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B523D1DB246C3",
    "2F63078490F00EF8D647D148D47954515E2327CFEF98C582664B4C0F6CC41659",
);

/// Group 24: prime order q of the subgroup g generates.
const MODP_2048_256_Q: &str = "8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3";

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s.split_whitespace().collect::<String>()).unwrap()
    }

    /// Two of our ends agree in every group; public values have the length of p and lie in (1, p-1).
    #[test]
    fn two_ends_agree_in_every_group() {
        let rng = SystemRandom::new();
        for group in ModpGroup::ALL {
            let a = ModpPrivate::generate(group, &rng).unwrap();
            let b = ModpPrivate::generate(group, &rng).unwrap();
            let domain = group.domain();
            for public in [a.public(), b.public()] {
                assert_eq!(public.len(), group.public_len(), "{group:?}");
                let y = BoxedUint::from_be_slice(public, group.bits()).unwrap();
                assert!(public_value_in_range(&domain, &y), "{group:?}");
            }
            assert_ne!(a.public(), b.public());
            let (pa, pb) = (a.public().to_vec(), b.public().to_vec());
            let (sa, sb) = (a.agree(&pb).unwrap(), b.agree(&pa).unwrap());
            assert_eq!(sa, sb, "{group:?}");
            assert_eq!(sa.len(), group.public_len());
        }
    }

    /// The RFC 5114 groups' generators have order q, and the groups' primes have the length
    /// and the top and bottom words the RFCs print.
    #[test]
    fn domain_parameters_are_the_rfcs() {
        for group in ModpGroup::ALL {
            let d = group.domain();
            assert_eq!(d.p().bit_width(), group.bits(), "{group:?}");
            let one = BoxedUint::one_with_precision(group.bits());
            if let Some(q) = &d.q {
                assert_eq!(d.pow(&d.g, q, q.bits_precision()), one, "{group:?}");
            } else {
                let p = d.p().to_be_bytes();
                assert_eq!(&p[..8], &[0xff; 8], "{group:?}");
                assert_eq!(&p[p.len() - 8..], &[0xff; 8], "{group:?}");
                assert_eq!(&p[8..12], &[0xc9, 0x0f, 0xda, 0xa2], "{group:?}: pi's bits");
            }
        }
    }

    /// RFC 5114 Appendix A.1: the 1024-bit group with 160-bit subgroup (group 22), xA -> yA and
    /// the shared secret with yB.
    #[test]
    fn group_22_rfc5114_a1() {
        let group = ModpGroup::Modp1024s160;
        let domain = group.domain();
        let xa = Secret::new(unhex("B9A3B3AE8FEFC1A2930496507086F8455D48943E"));
        let a = ModpPrivate::from_exponent(group, &domain, xa).unwrap();
        assert_eq!(
            hex::encode(a.public()),
            "2a853b3d92197501b9015b2deb3ed84f5e021dcc3e52f109d3273d2b7521281c\
             babe0e76ff5727fa8acce26956ba9a1fca26f20228d8693feb10841d84a73600\
             54ece5a7f5b7a61ad3dfb3c60d2e43106d8727da37df9cce95b478755d06bcea\
             8f9d45965f75a5f3d1df3701165fc9e50c4279ceb07f989540ae96d5d88ed776"
        );
        let yb = unhex(
            "717a6cb053371ff4a3b932941c1e5663f861a1d6ad34ae66576dfb98f6c6cbf9
             ddd5a56c7833f6bcfdff095582ad868e440e8d09fd769e3ceccdc3d3b1e4cfa0
             57776caaf9739b6a9fee8e7411f8d6dac09d6a4edb46cc2b5d5203090eae6126
             311e53fd2c14b574e6a3109a3da1be41bdceaa186f5ce06716a2b6a07b3c33fe",
        );
        assert_eq!(
            hex::encode(a.agree(&yb).unwrap().expose()),
            "5c804f454d30d9c4df85271f93528c91df6b48ab5f80b3b59caac1b28f8acba9\
             cd3e39f3cb614525d9521d2e644c53b807b810f340062f257d7d6fbfe8d5e8f0\
             72e9b6e9afda9413eafb2e8b0699b1fb5a0caceddeaead7e9cfbb36ae2b42083\
             5bd83a19fb0b5e96bf8fa4d09e345525167ecd9155416f46f408ed31b63c6e6d"
        );
    }

    /// RFC 6989: 0, 1, p-1, p and values outside the subgroup are refused, as is a wrong length.
    #[test]
    fn degenerate_and_out_of_subgroup_public_values_are_refused() {
        let rng = SystemRandom::new();
        for group in [ModpGroup::Modp1024, ModpGroup::Modp1024s160] {
            let len = group.public_len();
            let p = group.domain().p().to_be_bytes().to_vec();
            let mut p_minus_1 = p.clone();
            *p_minus_1.last_mut().unwrap() -= 1;
            let mut one = vec![0; len];
            one[len - 1] = 1;
            for bad in [vec![0; len], one, p_minus_1, p, vec![0xff; len]] {
                let a = ModpPrivate::generate(group, &rng).unwrap();
                assert!(
                    matches!(a.agree(&bad), Err(CryptoError::InvalidPublicValue { .. })),
                    "{group:?}"
                );
            }
            let a = ModpPrivate::generate(group, &rng).unwrap();
            assert!(matches!(
                a.agree(&vec![2; len - 1]),
                Err(CryptoError::PublicValueLength { .. })
            ));
        }
        // 2 is in range for group 22 but (overwhelmingly likely) not in the order-q subgroup.
        let group = ModpGroup::Modp1024s160;
        let mut two = vec![0; group.public_len()];
        two[group.public_len() - 1] = 2;
        let a = ModpPrivate::generate(group, &rng).unwrap();
        assert!(matches!(
            a.agree(&two),
            Err(CryptoError::InvalidPublicValue { .. })
        ));
    }

    #[test]
    fn transform_ids_round_trip_and_debug_hides_the_exponent() {
        for group in ModpGroup::ALL {
            assert_eq!(
                ModpGroup::from_transform_id(group.transform_id()),
                Some(group)
            );
        }
        assert_eq!(ModpGroup::from_transform_id(19), None);
        let a = ModpPrivate::generate(ModpGroup::Modp1024, &SystemRandom::new()).unwrap();
        assert_eq!(
            format!("{a:?}"),
            "ModpPrivate { group: Modp1024, exponent: \"***\" }"
        );
    }
}
