//! Cipher suites and proposal negotiation (RFC 7296 §2.7, §3.3.6).
//!
//! An [`IkeSuite`] is one combination AEAD + PRF + DH group for the IKE SA; an [`EspSuite`] one
//! AEAD (+ optional PFS group) for CHILD_SAs. As initiator we send one proposal per configured
//! suite, in the configured order (as strongSwan does). As responder we walk *our* configured
//! suites in order and take the first one some proposal of the peer contains: the responder's
//! preference wins, as AWS documents ("AWS picks from the CGW's proposals starting from its own
//! lowest configured value"). The reply carries exactly one transform per type and the peer's
//! proposal number (§3.3.6).
//!
//! ```text
//!  peer proposals          our suites (preference order)      chosen
//!  #1 AES128GCM/SHA256/19  1. AES256GCM/SHA256/19   ------->  #2 AES256GCM/SHA256/19
//!  #2 AES256GCM/SHA256/19  2. AES128GCM/SHA256/19
//! ```
//!
//! What it does not do: AES-CBC + HMAC integrity or MODP groups (the tables here are where they
//! would be added), or ESN (we never negotiate extended sequence numbers).

use super::wire::{Proposal, ProtocolId, Transform, TransformType};
use crate::crypto::aead::AeadAlgorithm;
use crate::crypto::dh::DhGroup;
use crate::crypto::prf::PrfAlgorithm;

/// ESN transform ID "No Extended Sequence Numbers".
pub const ESN_NONE: u16 = 0;

/// The algorithms of one IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IkeSuite {
    /// Encryption (AEAD, so no separate integrity transform).
    pub aead: AeadAlgorithm,
    /// Pseudorandom function.
    pub prf: PrfAlgorithm,
    /// Diffie-Hellman group.
    pub dh: DhGroup,
}

impl IkeSuite {
    /// The transforms of this suite.
    fn transforms(&self) -> Vec<Transform> {
        vec![
            encr_transform(self.aead),
            Transform::new(TransformType::Prf, self.prf.transform_id()),
            Transform::new(TransformType::Ke, self.dh.transform_id()),
        ]
    }

    /// strongSwan proposal syntax, e.g. `aes256gcm16-prfsha256-ecp256`.
    pub fn name(&self) -> String {
        format!(
            "{}-{}-{}",
            self.aead.name(),
            self.prf.name(),
            self.dh.name()
        )
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
    /// Encryption (AEAD).
    pub aead: AeadAlgorithm,
    /// Perfect forward secrecy group for CREATE_CHILD_SA exchanges, `None` for no PFS.
    /// Never used in IKE_AUTH, where the CHILD_SA takes its keys from the IKE SA's exchange.
    pub pfs: Option<DhGroup>,
}

impl EspSuite {
    fn transforms(&self, with_ke: bool) -> Vec<Transform> {
        let mut t = vec![encr_transform(self.aead)];
        if with_ke && let Some(g) = self.pfs {
            t.push(Transform::new(TransformType::Ke, g.transform_id()));
        }
        t.push(Transform::new(TransformType::Esn, ESN_NONE));
        t
    }

    /// strongSwan proposal syntax, e.g. `aes256gcm16-x25519` or `chacha20poly1305`.
    pub fn name(&self) -> String {
        match self.pfs {
            Some(g) => format!("{}-{}", self.aead.name(), g.name()),
            None => self.aead.name().to_string(),
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

/// IKE proposals for IKE_SA_INIT (empty SPI) or an IKE SA rekey (`spi` = our new 8-octet SPI).
pub fn ike_proposals(suites: &[IkeSuite], spi: Option<u64>) -> Vec<Proposal> {
    suites
        .iter()
        .enumerate()
        .map(|(i, s)| Proposal {
            number: (i + 1) as u8,
            protocol: ProtocolId::Ike,
            spi: spi.map(|v| v.to_be_bytes().to_vec()).unwrap_or_default(),
            transforms: s.transforms(),
        })
        .collect()
}

/// ESP proposals with our inbound SPI. `with_ke` adds the PFS group (CREATE_CHILD_SA only).
pub fn esp_proposals(suites: &[EspSuite], spi: u32, with_ke: bool) -> Vec<Proposal> {
    suites
        .iter()
        .enumerate()
        .map(|(i, s)| Proposal {
            number: (i + 1) as u8,
            protocol: ProtocolId::Esp,
            spi: spi.to_be_bytes().to_vec(),
            transforms: s.transforms(with_ke),
        })
        .collect()
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
        let wanted = suite.transforms();
        for p in theirs.iter().filter(|p| p.protocol == ProtocolId::Ike) {
            // An AEAD suite must not be combined with a separate integrity algorithm
            // (RFC 5282 §8), other than INTEG NONE (0).
            let integ_ok = p
                .transforms
                .iter()
                .filter(|t| t.kind == TransformType::Integ)
                .all(|t| t.id == 0);
            if integ_ok && wanted.iter().all(|w| offers(p, w)) {
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
            let integ_ok = p
                .transforms
                .iter()
                .filter(|t| t.kind == TransformType::Integ)
                .all(|t| t.id == 0);
            let encr_ok = offers(p, &encr_transform(suite.aead));
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
            if integ_ok && encr_ok && esn_ok && ke_ok {
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

/// Reads back the suite of a reply to our IKE proposals: exactly one proposal that is one of ours.
pub fn accepted_ike(ours: &[IkeSuite], reply: &[Proposal]) -> Option<IkeSuite> {
    let [p] = reply else { return None };
    ours.iter()
        .find(|s| {
            let t = s.transforms();
            p.transforms.len() == t.len() && t.iter().all(|w| offers(p, w))
        })
        .copied()
}

/// Reads back the suite of a reply to our ESP proposals.
pub fn accepted_esp(ours: &[EspSuite], reply: &[Proposal], with_ke: bool) -> Option<EspSuite> {
    let [p] = reply else { return None };
    if p.protocol != ProtocolId::Esp || p.spi.len() != 4 {
        return None;
    }
    ours.iter()
        .find(|s| {
            let encr = offers(p, &encr_transform(s.aead));
            let ke = match (with_ke, s.pfs) {
                (true, Some(g)) => offers(p, &Transform::new(TransformType::Ke, g.transform_id())),
                _ => !has_type(p, TransformType::Ke),
            };
            encr && ke
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A256: IkeSuite = IkeSuite {
        aead: AeadAlgorithm::AesGcm16Key256,
        prf: PrfAlgorithm::HmacSha256,
        dh: DhGroup::Ecp256,
    };
    const A128: IkeSuite = IkeSuite {
        aead: AeadAlgorithm::AesGcm16Key128,
        prf: PrfAlgorithm::HmacSha256,
        dh: DhGroup::Ecp256,
    };
    const CHACHA: IkeSuite = IkeSuite {
        aead: AeadAlgorithm::ChaCha20Poly1305,
        prf: PrfAlgorithm::HmacSha256,
        dh: DhGroup::Curve25519,
    };

    #[test]
    fn responder_preference_wins_over_initiator_order() {
        let theirs = ike_proposals(&[A128, A256], None);
        let chosen = choose_ike(&[A256, A128], &theirs).unwrap();
        assert_eq!(chosen.suite, A256);
        assert_eq!(chosen.number, 2);
        let reply = ike_reply(&chosen, None);
        assert_eq!(accepted_ike(&[A128, A256], &[reply]), Some(A256));
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

    #[test]
    fn esp_pfs_rules() {
        let pfs = EspSuite {
            aead: AeadAlgorithm::AesGcm16Key256,
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
}
