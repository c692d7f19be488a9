//! ESP receive path on arbitrary datagrams: classification on port 4500 (RFC 3948), the wire
//! view, and `InboundSa::open`. Raw input never authenticates, so the same bytes are also sealed
//! as an encrypted part (payload, padding, trailer chosen by the fuzzer) and opened, which drives
//! the padding and Next Header checks behind the ICV. Nothing may panic, and a failure must leave
//! the replay window so that the genuine packet still opens. Every cipher: the AEADs and AES-CBC
//! with each HMAC.
#![no_main]

use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::cbc::{CbcAlgorithm, CbcKey};
use ipsec::crypto::cipher::{Cipher, CipherKey};
use ipsec::crypto::integ::IntegAlgorithm;
use ipsec::esp::udp_encap::{Datagram, classify};
use ipsec::esp::wire::{EspPacket, Layout};
use ipsec::esp::{InboundSa, SaKeys, SaLimits};
use libfuzzer_sys::fuzz_target;
use zeroize::Zeroizing;

const SPI: u32 = 0x0102_0304;

fn keys(algorithm: Cipher) -> SaKeys {
    SaKeys {
        spi: SPI,
        cipher: algorithm,
        keymat: Zeroizing::new(vec![0x42; algorithm.keymat_len()]),
    }
}

fn ciphers() -> Vec<Cipher> {
    let mut all: Vec<Cipher> = AeadAlgorithm::ALL.into_iter().map(Cipher::Aead).collect();
    for c in CbcAlgorithm::ALL {
        for i in IntegAlgorithm::ALL {
            all.push(Cipher::CbcHmac(c, i));
        }
    }
    all
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let all = ciphers();
    let algorithm = all[usize::from(selector) % all.len()];
    let layout = Layout::for_cipher(algorithm);
    // AWS's range is 64..=2048 packets; stay inside it (64 + 248 * 8 = 2048).
    let window = 64 + u32::from(selector % 249) * 8;
    let mut sa = InboundSa::new(&keys(algorithm), window, SaLimits::default()).unwrap();

    // 1. The datagram as it came off the wire.
    let _ = classify(data);
    if let Ok(p) = EspPacket::new_checked(data) {
        let _ = (p.spi(), p.sequence(), p.iv(), p.aad(), p.icv(), p.encrypted_range());
    }
    if let Ok(p) = EspPacket::with_layout(data, layout) {
        let _ = (p.iv_bytes(), p.icv_bytes(), p.authenticated(), p.encrypted_range());
    }
    let mut raw = data.to_vec();
    assert!(sa.open(&mut raw, 1).is_err() || matches!(classify(data), Datagram::Esp(_)));

    // 2. The same bytes as an authentic encrypted part, sealed under the SA's key.
    let off = layout.payload_offset();
    let icv_len = layout.icv_len;
    let body_len = data.len() - data.len() % layout.block;
    let mut packet = vec![0u8; off + body_len + icv_len];
    packet[off..off + body_len].copy_from_slice(&data[..body_len]);
    let seq = 1 + u32::from(selector);
    packet[..4].copy_from_slice(&SPI.to_be_bytes());
    packet[4..8].copy_from_slice(&seq.to_be_bytes());
    match CipherKey::from_keymat(algorithm, &keys(algorithm).keymat).unwrap() {
        CipherKey::Aead(key) => {
            let iv = u64::from(seq).to_be_bytes();
            packet[8..16].copy_from_slice(&iv);
            let aad = EspPacket::new_unchecked(&packet[..]).aad();
            let icv = key.seal_in_place(&iv, &aad, &mut packet[off..off + body_len]);
            let end = packet.len();
            packet[end - icv_len..].copy_from_slice(&icv);
        }
        CipherKey::CbcHmac { cbc, integ } => {
            let iv = [selector; 16];
            packet[8..off].copy_from_slice(&iv);
            let cbc: CbcKey = cbc;
            cbc.encrypt_in_place(&iv, &mut packet[off..off + body_len]).unwrap();
            let end = packet.len();
            let (auth, icv) = packet.split_at_mut(end - icv_len);
            integ.sign(&[auth], icv).unwrap();
        }
    }
    let mut tampered = packet.clone();
    if let Some(b) = tampered.get_mut(off) {
        *b ^= 1;
    }
    assert!(sa.open(&mut tampered, 2).is_err(), "a tampered packet opened");
    match sa.open(&mut packet.clone(), 3) {
        Ok(opened) => {
            assert!(opened.payload.end <= packet.len() - icv_len);
            // Accepted once, never twice.
            assert!(sa.open(&mut packet.clone(), 4).is_err());
        }
        Err(_) => {}
    }
});
