//! ESP receive path on arbitrary datagrams: classification on port 4500 (RFC 3948), the wire
//! view, and `InboundSa::open`. Raw input never authenticates, so the same bytes are also sealed
//! as an encrypted part (payload, padding, trailer chosen by the fuzzer) and opened, which drives
//! the padding and Next Header checks behind the ICV. Nothing may panic, and a failure must leave
//! the replay window so that the genuine packet still opens.
#![no_main]

use ipsec::crypto::aead::{AeadAlgorithm, AeadKey, ICV_LEN};
use ipsec::esp::udp_encap::{Datagram, classify};
use ipsec::esp::wire::{EspPacket, PAYLOAD_OFFSET};
use ipsec::esp::{InboundSa, SaKeys, SaLimits};
use libfuzzer_sys::fuzz_target;
use zeroize::Zeroizing;

const SPI: u32 = 0x0102_0304;

fn keys(algorithm: AeadAlgorithm) -> SaKeys {
    SaKeys {
        spi: SPI,
        algorithm,
        keymat: Zeroizing::new(vec![0x42; algorithm.keymat_len()]),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let algorithm = AeadAlgorithm::ALL[usize::from(selector) % AeadAlgorithm::ALL.len()];
    // AWS's range is 64..=2048 packets; stay inside it (64 + 248 * 8 = 2048).
    let window = 64 + u32::from(selector % 249) * 8;
    let mut sa = InboundSa::new(&keys(algorithm), window, SaLimits::default()).unwrap();

    // 1. The datagram as it came off the wire.
    let _ = classify(data);
    if let Ok(p) = EspPacket::new_checked(data) {
        let _ = (p.spi(), p.sequence(), p.iv(), p.aad(), p.icv(), p.encrypted_range());
    }
    let mut raw = data.to_vec();
    assert!(sa.open(&mut raw, 1).is_err() || matches!(classify(data), Datagram::Esp(_)));

    // 2. The same bytes as an authentic encrypted part, sealed under the SA's key.
    let body_len = data.len() & !3;
    let mut packet = vec![0u8; PAYLOAD_OFFSET + body_len + ICV_LEN];
    packet[PAYLOAD_OFFSET..PAYLOAD_OFFSET + body_len].copy_from_slice(&data[..body_len]);
    let seq = 1 + u32::from(selector);
    {
        let mut view = EspPacket::new_unchecked(&mut packet[..]);
        view.set_spi(SPI);
        view.set_sequence(seq);
        view.set_iv(&u64::from(seq).to_be_bytes());
    }
    let aad = EspPacket::new_unchecked(&packet[..]).aad();
    let key = AeadKey::new(algorithm, &keys(algorithm).keymat).unwrap();
    let icv = key.seal_in_place(
        &u64::from(seq).to_be_bytes(),
        &aad,
        &mut packet[PAYLOAD_OFFSET..PAYLOAD_OFFSET + body_len],
    );
    let end = packet.len();
    packet[end - ICV_LEN..].copy_from_slice(&icv);
    let mut tampered = packet.clone();
    if let Some(b) = tampered.get_mut(PAYLOAD_OFFSET) {
        *b ^= 1;
    }
    assert!(sa.open(&mut tampered, 2).is_err(), "a tampered packet opened");
    match sa.open(&mut packet.clone(), 3) {
        Ok(opened) => {
            assert!(opened.payload.end <= packet.len() - ICV_LEN);
            // Accepted once, never twice.
            assert!(sa.open(&mut packet.clone(), 4).is_err());
        }
        Err(_) => {}
    }
});
