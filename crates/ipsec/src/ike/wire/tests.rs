//! Property tests: decode(encode(x)) == x for payload chains and messages (clear and encrypted),
//! and decoding arbitrary or mutated octets never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;

use super::payload::{decode_chain, encode_chain};
use super::*;
use crate::crypto::aead::AeadAlgorithm;
use crate::crypto::cbc::CbcAlgorithm;
use crate::crypto::cipher::{Cipher, CipherKey};
use crate::crypto::integ::IntegAlgorithm;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

fn identity() -> impl Strategy<Value = Identity> {
    prop_oneof![
        any::<u32>().prop_map(|a| Identity::Ipv4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| Identity::Ipv6(Ipv6Addr::from(a))),
        "[a-z0-9.-]{0,40}".prop_map(Identity::Fqdn),
        "[a-z0-9.@-]{0,40}".prop_map(Identity::Rfc822),
        bytes(40).prop_map(Identity::KeyId),
        (any::<u8>(), bytes(40))
            .prop_filter("known types decode to their own variant", |(k, _)| {
                ![1, 2, 3, 5, 11].contains(k)
            })
            .prop_map(|(kind, data)| Identity::Other { kind, data }),
    ]
}

fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        (0u16..0x8000, any::<u16>()).prop_map(|(kind, value)| Attribute::Short { kind, value }),
        (0u16..0x8000, bytes(12)).prop_map(|(kind, value)| Attribute::Long { kind, value }),
    ]
}

fn proposal() -> impl Strategy<Value = Proposal> {
    (
        any::<u8>(),
        any::<u8>(),
        bytes(9),
        vec(
            (any::<u8>(), any::<u16>(), vec(attribute(), 0..3)).prop_map(|(k, id, attributes)| {
                Transform {
                    kind: TransformType::from(k),
                    id,
                    attributes,
                }
            }),
            0..6,
        ),
    )
        .prop_map(|(number, protocol, spi, transforms)| Proposal {
            number,
            protocol: ProtocolId::from(protocol),
            spi,
            transforms,
        })
}

fn selector() -> impl Strategy<Value = TrafficSelector> {
    let v4 = (
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(p, a, b, s, e)| TrafficSelector {
            ip_protocol: p,
            start_port: a,
            end_port: b,
            start: IpAddr::V4(Ipv4Addr::from(s)),
            end: IpAddr::V4(Ipv4Addr::from(e)),
        });
    let v6 = (
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        any::<u128>(),
        any::<u128>(),
    )
        .prop_map(|(p, a, b, s, e)| TrafficSelector {
            ip_protocol: p,
            start_port: a,
            end_port: b,
            start: IpAddr::V6(Ipv6Addr::from(s)),
            end: IpAddr::V6(Ipv6Addr::from(e)),
        });
    prop_oneof![v4, v6]
}

fn delete() -> impl Strategy<Value = Delete> {
    (any::<u8>(), 0u8..9, 0usize..4).prop_flat_map(|(protocol, spi_size, n)| {
        vec(vec(any::<u8>(), spi_size as usize), n).prop_map(move |spis| Delete {
            protocol: ProtocolId::from(protocol),
            spi_size,
            spis,
        })
    })
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        vec(proposal(), 1..4).prop_map(Payload::Sa),
        (any::<u16>(), bytes(100)).prop_map(|(group, data)| Payload::KeyExchange { group, data }),
        identity().prop_map(Payload::IdInitiator),
        identity().prop_map(Payload::IdResponder),
        (any::<u8>(), bytes(70)).prop_map(|(method, data)| Payload::Auth { method, data }),
        vec(any::<u8>(), 16..=256).prop_map(Payload::Nonce),
        (any::<u8>(), bytes(9), any::<u16>(), bytes(40)).prop_map(|(p, spi, k, data)| {
            Payload::Notify(Notify {
                protocol: ProtocolId::from(p),
                spi,
                kind: NotifyType(k),
                data,
            })
        }),
        delete().prop_map(Payload::Delete),
        bytes(20).prop_map(Payload::VendorId),
        vec(selector(), 0..4).prop_map(Payload::TsInitiator),
        vec(selector(), 0..4).prop_map(Payload::TsResponder),
        (any::<u8>(), any::<bool>(), bytes(30))
            .prop_filter("types decoded as their own variant", |(k, _, _)| {
                ![0, 33, 34, 35, 36, 39, 40, 41, 42, 43, 44, 45, 46, 53].contains(k)
            })
            .prop_map(|(kind, critical, body)| Payload::Other {
                kind,
                critical,
                body
            }),
    ]
}

fn header() -> impl Strategy<Value = HeaderRepr> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u8>(),
        any::<u8>(),
        any::<u32>(),
    )
        .prop_map(|(spi_i, spi_r, x, flags, message_id)| HeaderRepr {
            spi_i,
            spi_r,
            exchange: ExchangeType::from(x),
            flags,
            message_id,
        })
}

fn key(alg: impl Into<Cipher>) -> CipherKey {
    let c = alg.into();
    CipherKey::from_keymat(c, &vec![7u8; c.keymat_len()]).unwrap()
}

fn cipher() -> impl Strategy<Value = Cipher> {
    let mut all: Vec<Cipher> = AeadAlgorithm::ALL.into_iter().map(Cipher::Aead).collect();
    for c in CbcAlgorithm::ALL {
        for i in IntegAlgorithm::ALL {
            all.push(Cipher::CbcHmac(c, i));
        }
    }
    prop::sample::select(all)
}

proptest! {
    #[test]
    fn payload_chain_round_trips(payloads in vec(payload(), 0..6)) {
        let mut out = Vec::new();
        let first = encode_chain(&payloads, payload_type::NONE, &mut out);
        let (decoded, enc) = decode_chain(first, &out).unwrap();
        prop_assert_eq!(decoded, payloads);
        prop_assert!(enc.is_none());
    }

    #[test]
    fn plain_message_round_trips(header in header(), payloads in vec(payload(), 0..6)) {
        let m = Message { header, payloads };
        let bytes = m.encode_plain();
        let parsed = ParsedMessage::parse(&bytes).unwrap();
        prop_assert_eq!(parsed.header, m.header);
        prop_assert!(!parsed.is_encrypted());
        prop_assert_eq!(parsed.payloads, m.payloads);
    }

    #[test]
    fn encrypted_message_round_trips(
        header in header(),
        payloads in vec(payload(), 0..6),
        iv in any::<[u8; 16]>(),
        alg in cipher(),
    ) {
        let m = Message { header, payloads };
        let k = key(alg);
        let bytes = m.encode_encrypted(&k, &iv[..alg.iv_len()]).unwrap();
        // Header, SK header, IV, whole blocks, ICV (RFC 7296 §3.14).
        let body = bytes.len() - 28 - 4 - alg.iv_len() - alg.icv_len();
        prop_assert_eq!(body % alg.block_len(), 0);
        let parsed = ParsedMessage::parse(&bytes).unwrap();
        prop_assert_eq!(parsed.header, m.header);
        prop_assert!(parsed.payloads.is_empty());
        prop_assert_eq!(parsed.decrypt(&k).unwrap(), m.payloads);
    }

    /// Any flipped bit in an encrypted message is either refused by parsing or by the ICV.
    #[test]
    fn tampering_never_decrypts(payloads in vec(payload(), 1..4), bit in any::<prop::sample::Index>(), alg in cipher()) {
        let m = Message {
            header: HeaderRepr { spi_i: 1, spi_r: 2, exchange: ExchangeType::IkeAuth, flags: 8, message_id: 1 },
            payloads,
        };
        let k = key(alg);
        let mut bytes = m.encode_encrypted(&k, &[1; 16][..alg.iv_len()]).unwrap();
        let i = bit.index(bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        if let Ok(parsed) = ParsedMessage::parse(&bytes) {
            prop_assert!(parsed.decrypt(&k).is_err());
        }
    }

    #[test]
    fn arbitrary_octets_never_panic(data in bytes(600), alg in cipher()) {
        if let Ok(p) = ParsedMessage::parse(&data) {
            let _ = p.decrypt(&key(alg));
        }
        let _ = decode_chain(data.first().copied().unwrap_or(33), &data);
    }

    /// Valid messages with a corrupted byte (lengths, counts, types) still never panic.
    #[test]
    fn mutated_messages_never_panic(
        payloads in vec(payload(), 1..5),
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let m = Message {
            header: HeaderRepr { spi_i: 1, spi_r: 0, exchange: ExchangeType::IkeSaInit, flags: 8, message_id: 0 },
            payloads,
        };
        let mut bytes = m.encode_plain();
        let i = at.index(bytes.len());
        bytes[i] = value;
        let _ = ParsedMessage::parse(&bytes);
    }
}

#[test]
fn wrong_key_is_an_integrity_error() {
    let m = Message {
        header: HeaderRepr {
            spi_i: 1,
            spi_r: 2,
            exchange: ExchangeType::Informational,
            flags: 0,
            message_id: 3,
        },
        payloads: vec![],
    };
    let bytes = m
        .encode_encrypted(&key(AeadAlgorithm::AesGcm16Key128), &[0; 8])
        .unwrap();
    let other = key(AeadAlgorithm::AesGcm16Key256);
    let parsed = ParsedMessage::parse(&bytes).unwrap();
    assert!(parsed.decrypt(&other).is_err());
    let other = CipherKey::from_keymat(AeadAlgorithm::AesGcm16Key128.into(), &[9u8; 20]).unwrap();
    assert_eq!(parsed.decrypt(&other).unwrap_err(), DecodeError::Integrity);
    // CBC: a different integrity key is refused before decryption; a wrong IV length is refused.
    let cbc = Cipher::CbcHmac(CbcAlgorithm::Aes128, IntegAlgorithm::HmacSha1_96);
    let bytes = m.encode_encrypted(&key(cbc), &[3; 16]).unwrap();
    assert!(m.encode_encrypted(&key(cbc), &[3; 8]).is_none());
    let parsed = ParsedMessage::parse(&bytes).unwrap();
    assert_eq!(parsed.decrypt(&key(cbc)).unwrap(), vec![]);
    let mut other = vec![7u8; 36];
    other[35] = 8;
    let other = CipherKey::from_keymat(cbc, &other).unwrap();
    assert_eq!(parsed.decrypt(&other).unwrap_err(), DecodeError::Integrity);
}

#[test]
fn encrypted_payload_must_be_last() {
    // An SK payload followed by a Nonce.
    let mut chain = vec![payload_type::NONE, 0, 0, 4 + 8 + 1 + 16];
    chain.extend_from_slice(&[0u8; 25]);
    let mut with_trailer = chain.clone();
    with_trailer[0] = payload_type::NONCE;
    with_trailer.extend_from_slice(&[0, 0, 0, 20]);
    with_trailer.extend_from_slice(&[0u8; 16]);
    assert!(decode_chain(payload_type::SK, &chain).unwrap().1.is_some());
    assert_eq!(
        decode_chain(payload_type::SK, &with_trailer).unwrap_err(),
        DecodeError::EncryptedNotLast
    );
}

#[test]
fn nonce_length_limits_are_enforced() {
    let p = Payload::Nonce(vec![1; 15]);
    let mut out = Vec::new();
    let first = encode_chain(&[p], payload_type::NONE, &mut out);
    assert!(matches!(
        decode_chain(first, &out),
        Err(DecodeError::Length { what: "nonce", .. })
    ));
}
