//! Cipher suites and proposal negotiation (RFC 7296 §2.7, §3.3.6).
//!
//! An [`IkeSuite`] is one combination encryption (+ integrity) + PRF + DH group for the IKE SA; an
//! [`EspSuite`] one encryption (+ integrity) (+ optional PFS group) for CHILD_SAs. Encryption is
//! a [`Cipher`]: an AEAD (AES-GCM-16, ChaCha20-Poly1305; no integrity transform, RFC 5282 §8) or
//! ENCR_AES_CBC (12) with its Key Length attribute and an INTEG transform (AUTH_HMAC_SHA1_96 2,
//! AUTH_HMAC_SHA2_256_128 12, _384_192 13, _512_256 14). PRFs are 2 (HMAC-SHA1), 5, 6, 7
//! (HMAC-SHA2-256/384/512); groups 2, 5, 14-18 (MODP), 19-21 (ECP), 22-24 (MODP with subgroup), 31.
//!
//! As initiator we send at most two proposals, one per kind (RFC 7296 §3.3: an AEAD must not
//! share a proposal with an integrity algorithm): each lists every algorithm of each transform
//! type that our suites use, in the order they first appear, so the peer sees our preference and
//! a list of 192 AWS combinations stays one short proposal (IKE_SA_INIT cannot be fragmented).
//! As responder we walk *our* configured suites in order and take the first one some proposal of
//! the peer contains: the responder's preference wins, as AWS documents ("AWS picks from the CGW's
//! proposals starting from its own lowest configured value"). The reply carries exactly one
//! transform per type and the peer's proposal number (§3.3.6), and reading a reply back accepts
//! any combination of transforms we offered in one proposal.
//!
//! ```text
//!  peer proposals                 our suites (preference order)        chosen
//!  #1 AES256/SHA256/PRF256/14     1. AES128/SHA1/PRFSHA1/2
//!  #2 AES128/SHA1/PRFSHA1/14      2. AES128/SHA1/PRFSHA1/14   ------->  #2 AES128/SHA1/PRFSHA1/14
//! ```
//!
//! What it does not do: ESN (we never negotiate extended sequence numbers), or pick the group of
//! the KE payload (the exchanges do: the first suite's, then what INVALID_KE_PAYLOAD asks for).

use super::wire::{Proposal, ProtocolId, Transform, TransformType};
use crate::crypto::aead::AeadAlgorithm;
use crate::crypto::cbc::CbcAlgorithm;
use crate::crypto::cipher::Cipher;
use crate::crypto::dh::DhGroup;
use crate::crypto::integ::IntegAlgorithm;
use crate::crypto::prf::PrfAlgorithm;

/// ESN transform ID "No Extended Sequence Numbers".
pub const ESN_NONE: u16 = 0;
/// INTEG transform ID "NONE" (allowed beside an AEAD).
pub const INTEG_NONE: u16 = 0;

/// The algorithms of one IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IkeSuite {
    /// Encryption and integrity of the Encrypted payload.
    pub cipher: Cipher,
    /// Pseudorandom function.
    pub prf: PrfAlgorithm,
    /// Diffie-Hellman group.
    pub dh: DhGroup,
}

impl IkeSuite {
    /// The transforms of this suite.
    fn transforms(&self) -> Vec<Transform> {
        let mut t = cipher_transforms(self.cipher);
        t.push(Transform::new(TransformType::Prf, self.prf.transform_id()));
        t.push(Transform::new(TransformType::Ke, self.dh.transform_id()));
        t
    }

    /// strongSwan proposal syntax, e.g. `aes256gcm16-prfsha256-ecp256`, `aes128-sha1-modp2048`
    /// (strongSwan derives the PRF from the integrity algorithm when none is named), or
    /// `aes128-sha1-prfsha256-modp2048`.
    pub fn name(&self) -> String {
        let prf_implied = matches!(self.cipher, Cipher::CbcHmac(_, i) if prf_of(i) == self.prf);
        if prf_implied {
            format!("{}-{}", self.cipher.name(), self.dh.name())
        } else {
            format!(
                "{}-{}-{}",
                self.cipher.name(),
                self.prf.name(),
                self.dh.name()
            )
        }
    }
}

/// The PRF built on the same hash as an integrity algorithm (what strongSwan, and AWS's
/// "integrity" option for phase 1, pair with it).
pub fn prf_of(integ: IntegAlgorithm) -> PrfAlgorithm {
    match integ {
        IntegAlgorithm::HmacSha1_96 => PrfAlgorithm::HmacSha1,
        IntegAlgorithm::HmacSha256_128 => PrfAlgorithm::HmacSha256,
        IntegAlgorithm::HmacSha384_192 => PrfAlgorithm::HmacSha384,
        IntegAlgorithm::HmacSha512_256 => PrfAlgorithm::HmacSha512,
    }
}

impl std::fmt::Display for IkeSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// The algorithms of one CHILD_SA (ESP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EspSuite {
    /// Encryption and integrity.
    pub cipher: Cipher,
    /// Perfect forward secrecy group for CREATE_CHILD_SA exchanges, `None` for no PFS.
    /// Never used in IKE_AUTH, where the CHILD_SA takes its keys from the IKE SA's exchange.
    pub pfs: Option<DhGroup>,
}

impl EspSuite {
    fn transforms(&self, with_ke: bool) -> Vec<Transform> {
        let mut t = cipher_transforms(self.cipher);
        if with_ke && let Some(g) = self.pfs {
            t.push(Transform::new(TransformType::Ke, g.transform_id()));
        }
        t.push(Transform::new(TransformType::Esn, ESN_NONE));
        t
    }

    /// strongSwan proposal syntax, e.g. `aes256gcm16-x25519`, `chacha20poly1305` or
    /// `aes128-sha1-modp2048`.
    pub fn name(&self) -> String {
        match self.pfs {
            Some(g) => format!("{}-{}", self.cipher.name(), g.name()),
            None => self.cipher.name(),
        }
    }
}

impl std::fmt::Display for EspSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

fn encr_transform(aead: AeadAlgorithm) -> Transform {
    match aead.key_length_attribute() {
        Some(bits) => Transform::with_key_length(TransformType::Encr, aead.transform_id(), bits),
        None => Transform::new(TransformType::Encr, aead.transform_id()),
    }
}

/// ENCR (and INTEG for CBC) transforms of a cipher.
fn cipher_transforms(cipher: Cipher) -> Vec<Transform> {
    match cipher {
        Cipher::Aead(a) => vec![encr_transform(a)],
        Cipher::CbcHmac(c, i) => vec![
            Transform::with_key_length(
                TransformType::Encr,
                c.transform_id(),
                c.key_length_attribute(),
            ),
            Transform::new(TransformType::Integ, i.transform_id()),
        ],
    }
}

fn offers(p: &Proposal, wanted: &Transform) -> bool {
    p.transforms.iter().any(|t| {
        t.kind == wanted.kind
            && t.id == wanted.id
            && t.key_length() == wanted.key_length()
            && !t.has_unknown_attributes()
    })
}

fn has_type(p: &Proposal, kind: TransformType) -> bool {
    p.transforms.iter().any(|t| t.kind == kind)
}

/// Does proposal `p` offer `cipher`? An AEAD must come without an integrity algorithm other
/// than NONE (RFC 5282 §8); CBC needs its integrity algorithm offered.
fn offers_cipher(p: &Proposal, cipher: Cipher) -> bool {
    match cipher {
        Cipher::Aead(_) => {
            p.transforms
                .iter()
                .filter(|t| t.kind == TransformType::Integ)
                .all(|t| t.id == INTEG_NONE)
                && offers(p, &cipher_transforms(cipher)[0])
        }
        Cipher::CbcHmac(..) => cipher_transforms(cipher).iter().all(|w| offers(p, w)),
    }
}

/// Our proposals: one per kind of cipher (AEAD first if our first suite is one), each the union
/// of its suites' transforms, types in RFC order, algorithms in first-appearance order.
fn compact(
    protocol: ProtocolId,
    spi: Vec<u8>,
    suites: &[(Cipher, Vec<Transform>)],
) -> Vec<Proposal> {
    let mut kinds: Vec<bool> = Vec::new();
    for (c, _) in suites {
        let aead = matches!(c, Cipher::Aead(_));
        if !kinds.contains(&aead) {
            kinds.push(aead);
        }
    }
    kinds
        .into_iter()
        .enumerate()
        .map(|(n, aead)| {
            let mut transforms: Vec<Transform> = Vec::new();
            for (_, ts) in suites
                .iter()
                .filter(|(c, _)| matches!(c, Cipher::Aead(_)) == aead)
            {
                for t in ts {
                    if !transforms.contains(t) {
                        transforms.push(t.clone());
                    }
                }
            }
            // Stable: keeps first-appearance order within each type.
            transforms.sort_by_key(|t| t.kind);
            Proposal {
                number: (n + 1) as u8,
                protocol,
                spi: spi.clone(),
                transforms,
            }
        })
        .collect()
}

/// IKE proposals for IKE_SA_INIT (empty SPI) or an IKE SA rekey (`spi` = our new 8-octet SPI).
pub fn ike_proposals(suites: &[IkeSuite], spi: Option<u64>) -> Vec<Proposal> {
    let lists: Vec<(Cipher, Vec<Transform>)> =
        suites.iter().map(|s| (s.cipher, s.transforms())).collect();
    compact(
        ProtocolId::Ike,
        spi.map(|v| v.to_be_bytes().to_vec()).unwrap_or_default(),
        &lists,
    )
}

/// ESP proposals with our inbound SPI. `with_ke` adds the PFS groups (CREATE_CHILD_SA only);
/// a suite without PFS then adds KE NONE (0) so that "no PFS" stays acceptable.
pub fn esp_proposals(suites: &[EspSuite], spi: u32, with_ke: bool) -> Vec<Proposal> {
    let lists: Vec<(Cipher, Vec<Transform>)> = suites
        .iter()
        .map(|s| {
            let mut t = s.transforms(with_ke);
            if with_ke && s.pfs.is_none() && suites.iter().any(|o| o.pfs.is_some()) {
                t.push(Transform::new(TransformType::Ke, 0));
            }
            (s.cipher, t)
        })
        .collect();
    compact(ProtocolId::Esp, spi.to_be_bytes().to_vec(), &lists)
}

/// The responder's choice: our suite and the peer's proposal it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen<S> {
    /// Our suite.
    pub suite: S,
    /// The peer's proposal number, echoed in the reply.
    pub number: u8,
    /// The peer's SPI from that proposal (empty in IKE_SA_INIT).
    pub peer_spi: Vec<u8>,
}

/// Picks the first of `ours` (our preference order) that one of `theirs` contains.
/// Proposals for other protocols and transforms with unknown attributes are ignored (§3.3.6).
pub fn choose_ike(ours: &[IkeSuite], theirs: &[Proposal]) -> Option<Chosen<IkeSuite>> {
    for suite in ours {
        let rest = [
            Transform::new(TransformType::Prf, suite.prf.transform_id()),
            Transform::new(TransformType::Ke, suite.dh.transform_id()),
        ];
        for p in theirs.iter().filter(|p| p.protocol == ProtocolId::Ike) {
            if offers_cipher(p, suite.cipher) && rest.iter().all(|w| offers(p, w)) {
                return Some(Chosen {
                    suite: *suite,
                    number: p.number,
                    peer_spi: p.spi.clone(),
                });
            }
        }
    }
    None
}

/// Picks an ESP suite. In IKE_AUTH (`with_ke == false`) KE transforms are ignored (RFC 7296
/// §1.2: the first CHILD_SA uses the IKE SA's key exchange). In CREATE_CHILD_SA a proposal must
/// offer our PFS group, or offer no KE transform when our suite has none.
pub fn choose_esp(
    ours: &[EspSuite],
    theirs: &[Proposal],
    with_ke: bool,
) -> Option<Chosen<EspSuite>> {
    for suite in ours {
        for p in theirs.iter().filter(|p| p.protocol == ProtocolId::Esp) {
            if p.spi.len() != 4 {
                continue;
            }
            let cipher_ok = offers_cipher(p, suite.cipher);
            // No ESN transform at all means "no ESN" (§3.3.2); otherwise ESN_NONE must be offered.
            let esn_ok = !has_type(p, TransformType::Esn)
                || offers(p, &Transform::new(TransformType::Esn, ESN_NONE));
            let ke_ok = if !with_ke {
                true
            } else {
                match suite.pfs {
                    Some(g) => offers(p, &Transform::new(TransformType::Ke, g.transform_id())),
                    None => {
                        !has_type(p, TransformType::Ke)
                            || offers(p, &Transform::new(TransformType::Ke, 0))
                    }
                }
            };
            if cipher_ok && esn_ok && ke_ok {
                let mut chosen = *suite;
                if !with_ke {
                    // Keep our PFS preference for later rekeys if the peer offered it too, or
                    // if it offered no KE at all (strongSwan strips KE from IKE_AUTH proposals).
                    chosen.pfs = suite.pfs.filter(|g| {
                        !has_type(p, TransformType::Ke)
                            || offers(p, &Transform::new(TransformType::Ke, g.transform_id()))
                    });
                }
                return Some(Chosen {
                    suite: chosen,
                    number: p.number,
                    peer_spi: p.spi.clone(),
                });
            }
        }
    }
    None
}

/// The reply proposal for a chosen IKE suite (`spi`: our new SPI when rekeying the IKE SA).
pub fn ike_reply(chosen: &Chosen<IkeSuite>, spi: Option<u64>) -> Proposal {
    Proposal {
        number: chosen.number,
        protocol: ProtocolId::Ike,
        spi: spi.map(|v| v.to_be_bytes().to_vec()).unwrap_or_default(),
        transforms: chosen.suite.transforms(),
    }
}

/// The reply proposal for a chosen ESP suite with our inbound SPI.
pub fn esp_reply(chosen: &Chosen<EspSuite>, spi: u32, with_ke: bool) -> Proposal {
    Proposal {
        number: chosen.number,
        protocol: ProtocolId::Esp,
        spi: spi.to_be_bytes().to_vec(),
        transforms: chosen.suite.transforms(with_ke),
    }
}

/// The single transform of `kind` in a reply (`Err` if there are several: a reply carries one
/// per type, §3.3.6).
fn single(p: &Proposal, kind: TransformType) -> Result<Option<&Transform>, ()> {
    let mut it = p.transforms.iter().filter(|t| t.kind == kind);
    let first = it.next();
    if it.next().is_some() {
        return Err(());
    }
    Ok(first)
}

/// The cipher a reply's ENCR and INTEG transforms name, if we implement it.
fn reply_cipher(p: &Proposal) -> Option<Cipher> {
    let encr = single(p, TransformType::Encr).ok()??;
    if encr.has_unknown_attributes() {
        return None;
    }
    let integ = single(p, TransformType::Integ)
        .ok()?
        .filter(|t| t.id != INTEG_NONE);
    if let Some(a) = AeadAlgorithm::from_transform(encr.id, encr.key_length()) {
        return integ.is_none().then_some(Cipher::Aead(a));
    }
    let c = CbcAlgorithm::from_transform(encr.id, encr.key_length())?;
    let i = IntegAlgorithm::from_transform_id(integ?.id)?;
    Some(Cipher::CbcHmac(c, i))
}

/// Was `cipher` in our proposal of its kind? For CBC the encryption and integrity transforms are
/// listed separately, so each is checked on its own.
fn cipher_offered(ours: impl Iterator<Item = Cipher> + Clone, cipher: Cipher) -> bool {
    match cipher {
        Cipher::Aead(_) => ours.clone().any(|c| c == cipher),
        Cipher::CbcHmac(e, i) => {
            ours.clone()
                .any(|c| matches!(c, Cipher::CbcHmac(oe, _) if oe == e))
                && ours
                    .clone()
                    .any(|c| matches!(c, Cipher::CbcHmac(_, oi) if oi == i))
        }
    }
}

/// Reads back the suite of a reply to our IKE proposals: exactly one proposal, one transform per
/// type, each one we offered for that kind of cipher.
pub fn accepted_ike(ours: &[IkeSuite], reply: &[Proposal]) -> Option<IkeSuite> {
    let [p] = reply else { return None };
    if p.protocol != ProtocolId::Ike {
        return None;
    }
    let cipher = reply_cipher(p)?;
    let prf = PrfAlgorithm::from_transform_id(single(p, TransformType::Prf).ok()??.id)?;
    let dh = DhGroup::from_transform_id(single(p, TransformType::Ke).ok()??.id)?;
    let aead = matches!(cipher, Cipher::Aead(_));
    let same_kind = || {
        ours.iter()
            .filter(move |s| matches!(s.cipher, Cipher::Aead(_)) == aead)
    };
    let offered = cipher_offered(ours.iter().map(|s| s.cipher), cipher)
        && same_kind().any(|s| s.prf == prf)
        && same_kind().any(|s| s.dh == dh);
    offered.then_some(IkeSuite { cipher, prf, dh })
}

/// Reads back the suite of a reply to our ESP proposals. In IKE_AUTH (`with_ke == false`) the
/// PFS group for later rekeys is that of our first suite with the chosen cipher (or of its kind).
pub fn accepted_esp(ours: &[EspSuite], reply: &[Proposal], with_ke: bool) -> Option<EspSuite> {
    let [p] = reply else { return None };
    if p.protocol != ProtocolId::Esp || p.spi.len() != 4 {
        return None;
    }
    let cipher = reply_cipher(p)?;
    if !cipher_offered(ours.iter().map(|s| s.cipher), cipher) {
        return None;
    }
    let aead = matches!(cipher, Cipher::Aead(_));
    let same_kind = || {
        ours.iter()
            .filter(move |s| matches!(s.cipher, Cipher::Aead(_)) == aead)
    };
    if !with_ke {
        let pfs = ours
            .iter()
            .find(|s| s.cipher == cipher)
            .or_else(|| same_kind().next())?
            .pfs;
        return (!has_type(p, TransformType::Ke)).then_some(EspSuite { cipher, pfs });
    }
    let pfs = match single(p, TransformType::Ke).ok()?.filter(|t| t.id != 0) {
        Some(t) => Some(DhGroup::from_transform_id(t.id)?),
        None => None,
    };
    same_kind()
        .any(|s| s.pfs == pfs)
        .then_some(EspSuite { cipher, pfs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::modp::ModpGroup;

    const A256: IkeSuite = IkeSuite {
        cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key256),
        prf: PrfAlgorithm::HmacSha256,
        dh: DhGroup::Ecp256,
    };
    const A128: IkeSuite = IkeSuite {
        cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key128),
        prf: PrfAlgorithm::HmacSha256,
        dh: DhGroup::Ecp256,
    };
    const CHACHA: IkeSuite = IkeSuite {
        cipher: Cipher::Aead(AeadAlgorithm::ChaCha20Poly1305),
        prf: PrfAlgorithm::HmacSha256,
        dh: DhGroup::Curve25519,
    };
    const MODP1024: DhGroup = DhGroup::Modp(ModpGroup::Modp1024);
    const MODP2048: DhGroup = DhGroup::Modp(ModpGroup::Modp2048);

    fn cbc(c: CbcAlgorithm, i: IntegAlgorithm, dh: DhGroup) -> IkeSuite {
        IkeSuite {
            cipher: Cipher::CbcHmac(c, i),
            prf: prf_of(i),
            dh,
        }
    }

    #[test]
    fn responder_preference_wins_over_initiator_order() {
        // Two suites of one kind travel as one proposal listing both ciphers.
        let theirs = ike_proposals(&[A128, A256], None);
        assert_eq!(theirs.len(), 1);
        let chosen = choose_ike(&[A256, A128], &theirs).unwrap();
        assert_eq!(chosen.suite, A256);
        assert_eq!(chosen.number, 1);
        let reply = ike_reply(&chosen, None);
        assert_eq!(accepted_ike(&[A128, A256], &[reply]), Some(A256));
        // Separate proposals (strongSwan sends one per configured proposal string).
        let mut theirs = ike_proposals(&[A128], None);
        theirs.extend(ike_proposals(&[A256], None).into_iter().map(|mut p| {
            p.number = 2;
            p
        }));
        let chosen = choose_ike(&[A256, A128], &theirs).unwrap();
        assert_eq!((chosen.suite, chosen.number), (A256, 2));
    }

    #[test]
    fn nothing_in_common_is_none() {
        let theirs = ike_proposals(&[CHACHA], None);
        assert_eq!(choose_ike(&[A256, A128], &theirs), None);
    }

    #[test]
    fn one_proposal_with_many_transforms_is_understood() {
        // Cisco/AWS style: one proposal listing several algorithms per type.
        let mut p = ike_proposals(&[A128], None).remove(0);
        p.transforms.push(Transform::new(TransformType::Ke, 31));
        p.transforms
            .push(Transform::with_key_length(TransformType::Encr, 20, 256));
        let chosen = choose_ike(&[CHACHA, A256], &[p]).unwrap();
        assert_eq!(chosen.suite, A256);
    }

    #[test]
    fn aead_with_real_integrity_is_refused() {
        let mut p = ike_proposals(&[A256], None).remove(0);
        p.transforms.push(Transform::new(TransformType::Integ, 12));
        assert_eq!(choose_ike(&[A256], &[p]), None);
    }

    /// AWS's sample configuration (aes128-sha1-modp1024) and the common aes256-sha256-modp2048,
    /// byte for byte as IANA numbers them: ENCR 12 + Key Length, INTEG 2 / 12, PRF 2 / 5, KE 2 / 14.
    #[test]
    fn cbc_suites_carry_iana_transform_ids() {
        let s = cbc(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha1_96, MODP1024);
        let ids: Vec<(TransformType, u16, Option<u16>)> = s
            .transforms()
            .iter()
            .map(|t| (t.kind, t.id, t.key_length()))
            .collect();
        assert_eq!(
            ids,
            [
                (TransformType::Encr, 12, Some(128)),
                (TransformType::Integ, 2, None),
                (TransformType::Prf, 2, None),
                (TransformType::Ke, 2, None),
            ]
        );
        assert_eq!(s.name(), "aes128-sha1-modp1024");
        let s = cbc(
            CbcAlgorithm::Aes256,
            IntegAlgorithm::HmacSha256_128,
            MODP2048,
        );
        assert_eq!(s.name(), "aes256-sha256-modp2048");
        let t = s.transforms();
        assert_eq!(
            (t[0].id, t[0].key_length(), t[1].id, t[2].id, t[3].id),
            (12, Some(256), 12, 5, 14)
        );
        let odd = IkeSuite {
            prf: PrfAlgorithm::HmacSha384,
            ..s
        };
        assert_eq!(odd.name(), "aes256-sha256-prfsha384-modp2048");
        let esp = EspSuite {
            cipher: Cipher::CbcHmac(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha1_96),
            pfs: Some(MODP2048),
        };
        assert_eq!(esp.name(), "aes128-sha1-modp2048");
    }

    #[test]
    fn aead_and_cbc_go_in_separate_proposals_and_either_can_be_chosen() {
        let c = cbc(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha1_96, MODP2048);
        let ours = [A256, c];
        let props = ike_proposals(&ours, None);
        assert_eq!(props.len(), 2);
        assert!(!has_type(&props[0], TransformType::Integ));
        assert!(has_type(&props[1], TransformType::Integ));
        assert_eq!(props[1].number, 2);
        // A responder preferring CBC takes proposal 2, and the initiator reads it back.
        let chosen = choose_ike(&[c], &props).unwrap();
        assert_eq!((chosen.suite, chosen.number), (c, 2));
        assert_eq!(accepted_ike(&ours, &[ike_reply(&chosen, None)]), Some(c));
        // A CBC proposal without the integrity algorithm does not satisfy a CBC suite.
        let mut no_integ = props[1].clone();
        no_integ
            .transforms
            .retain(|t| t.kind != TransformType::Integ);
        assert_eq!(choose_ike(&[c], &[no_integ]), None);
        // A reply naming CBC without integrity, or an AEAD with integrity, is refused.
        let mut bad = ike_reply(&chosen, None);
        bad.transforms.retain(|t| t.kind != TransformType::Integ);
        assert_eq!(accepted_ike(&ours, &[bad]), None);
        let mut bad = ike_reply(&choose_ike(&[A256], &props).unwrap(), None);
        bad.transforms.push(Transform::new(TransformType::Integ, 2));
        assert_eq!(accepted_ike(&ours, &[bad]), None);
    }

    /// AWS's rule: from the CGW's proposals, the first of AWS's own list, lowest value first.
    #[test]
    fn aws_lowest_first_picks_from_many_offers() {
        let mut aws = Vec::new();
        for c in [CbcAlgorithm::Aes128, CbcAlgorithm::Aes256] {
            for i in [IntegAlgorithm::HmacSha1_96, IntegAlgorithm::HmacSha256_128] {
                for g in [MODP1024, MODP2048] {
                    aws.push(cbc(c, i, g));
                }
            }
        }
        // strongSwan-style: aes256-sha256-modp2048 first, then aes128-sha1-modp2048.
        let cgw = [
            cbc(
                CbcAlgorithm::Aes256,
                IntegAlgorithm::HmacSha256_128,
                MODP2048,
            ),
            cbc(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha1_96, MODP2048),
        ];
        let chosen = choose_ike(&aws, &ike_proposals(&cgw, None)).unwrap();
        assert_eq!(chosen.suite, cgw[1]);
        // Our union proposal offered aes256 with sha1 too: a peer may pick it.
        let picked = cbc(CbcAlgorithm::Aes256, IntegAlgorithm::HmacSha1_96, MODP2048);
        let reply = ike_reply(
            &Chosen {
                suite: picked,
                number: 1,
                peer_spi: Vec::new(),
            },
            None,
        );
        assert_eq!(accepted_ike(&cgw, &[reply]), Some(picked));
    }

    #[test]
    fn esp_pfs_rules() {
        let pfs = EspSuite {
            cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key256),
            pfs: Some(DhGroup::Curve25519),
        };
        let no_pfs = EspSuite { pfs: None, ..pfs };
        // IKE_AUTH: KE ignored, our PFS kept for later when the peer stripped KE.
        let auth = esp_proposals(&[no_pfs], 0x1234, false);
        let c = choose_esp(&[pfs], &auth, false).unwrap();
        assert_eq!(c.suite, pfs);
        assert_eq!(c.peer_spi, vec![0, 0, 0x12, 0x34]);
        // CREATE_CHILD_SA: a proposal without KE does not satisfy a PFS suite.
        let rekey = esp_proposals(&[no_pfs], 1, true);
        assert_eq!(choose_esp(&[pfs], &rekey, true), None);
        let rekey = esp_proposals(&[pfs], 1, true);
        let c = choose_esp(&[pfs], &rekey, true).unwrap();
        assert_eq!(
            accepted_esp(&[pfs], &[esp_reply(&c, 2, true)], true),
            Some(pfs)
        );
        // A PFS offer does not satisfy a suite without PFS.
        assert_eq!(choose_esp(&[no_pfs], &rekey, true), None);
    }

    #[test]
    fn esp_cbc_with_modp_pfs_round_trips_in_both_exchanges() {
        let s = EspSuite {
            cipher: Cipher::CbcHmac(CbcAlgorithm::Aes256, IntegAlgorithm::HmacSha512_256),
            pfs: Some(DhGroup::Modp(ModpGroup::Modp4096)),
        };
        let gcm = EspSuite {
            cipher: Cipher::Aead(AeadAlgorithm::AesGcm16Key128),
            pfs: Some(DhGroup::Ecp384),
        };
        for with_ke in [false, true] {
            let props = esp_proposals(&[gcm, s], 7, with_ke);
            assert_eq!(props.len(), 2);
            let c = choose_esp(&[s], &props, with_ke).unwrap();
            assert_eq!(c.suite, s);
            assert_eq!(c.number, 2);
            let reply = esp_reply(&c, 9, with_ke);
            assert_eq!(has_type(&reply, TransformType::Ke), with_ke);
            assert_eq!(accepted_esp(&[gcm, s], &[reply], with_ke), Some(s));
        }
    }
}
