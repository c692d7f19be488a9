//! IKE receive path on arbitrary datagrams (RFC 7296 §3): the header and cleartext payload
//! chain of `ParsedMessage::parse`, and the Encrypted payload (RFC 5282). Raw input never
//! authenticates, so the same bytes are also sealed as the inner payload chain of a genuine
//! Encrypted payload under a fixed key and opened, which drives every inner payload decoder
//! behind the ICV. Nothing may panic.
#![no_main]

use ipsec::crypto::aead::{AeadAlgorithm, AeadKey};
use ipsec::ike::wire::ParsedMessage;
use libfuzzer_sys::fuzz_target;

const HEADER_LEN: usize = 28;
const SK: u8 = 46;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let algorithm = AeadAlgorithm::ALL[usize::from(selector) % AeadAlgorithm::ALL.len()];
    let key = AeadKey::new(algorithm, &vec![0x5a; algorithm.keymat_len()]).unwrap();

    // 1. The datagram as it came off the wire.
    if let Ok(m) = ParsedMessage::parse(data) {
        let _ = m.decrypt(&key);
    }

    // 2. The bytes as the inner chain of an authentic Encrypted payload; the first byte names
    //    the first inner payload type.
    let Some((&first_inner, inner)) = data.split_first() else {
        return;
    };
    let pad_len = usize::from(selector % 4);
    let body_len = 8 + inner.len() + pad_len + 1 + 16;
    let total = HEADER_LEN + 4 + body_len;
    if total > 65_535 {
        return;
    }
    let mut msg = Vec::with_capacity(total);
    msg.extend_from_slice(&[0x11; 8]); // initiator SPI
    msg.extend_from_slice(&[0x22; 8]); // responder SPI
    msg.extend_from_slice(&[SK, 0x20, 35, 0x08]); // SK first, v2.0, IKE_AUTH, initiator
    msg.extend_from_slice(&1u32.to_be_bytes()); // message ID
    msg.extend_from_slice(&(total as u32).to_be_bytes());
    msg.extend_from_slice(&[first_inner, 0]);
    msg.extend_from_slice(&((4 + body_len) as u16).to_be_bytes());
    let iv = [7u8; 8];
    msg.extend_from_slice(&iv);
    let aad_end = HEADER_LEN + 4;
    let mut plain = inner.to_vec();
    plain.extend(std::iter::repeat_n(0u8, pad_len));
    plain.push(pad_len as u8);
    let icv = key.seal_in_place(&iv, &msg[..aad_end], &mut plain);
    msg.extend_from_slice(&plain);
    msg.extend_from_slice(&icv);
    if let Ok(m) = ParsedMessage::parse(&msg) {
        let _ = m.decrypt(&key);
    }
});
