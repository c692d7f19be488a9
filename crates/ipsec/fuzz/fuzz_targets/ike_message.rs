//! IKE receive path on arbitrary datagrams (RFC 7296 §3): the header and cleartext payload
//! chain of `ParsedMessage::parse`, and the Encrypted payload (RFC 5282). Raw input never
//! authenticates, so the same bytes are also sealed as the inner payload chain of a genuine
//! Encrypted payload under a fixed key and opened, which drives every inner payload decoder
//! behind the ICV. Every cipher: the AEADs (RFC 5282) and AES-CBC with each HMAC (RFC 7296
//! §3.14). Nothing may panic.
#![no_main]

use ipsec::crypto::aead::AeadAlgorithm;
use ipsec::crypto::cbc::CbcAlgorithm;
use ipsec::crypto::cipher::{Cipher, CipherKey};
use ipsec::crypto::integ::IntegAlgorithm;
use ipsec::ike::wire::ParsedMessage;
use libfuzzer_sys::fuzz_target;

const HEADER_LEN: usize = 28;
const SK: u8 = 46;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, data)) = data.split_first() else {
        return;
    };
    let mut all: Vec<Cipher> = AeadAlgorithm::ALL.into_iter().map(Cipher::Aead).collect();
    for c in CbcAlgorithm::ALL {
        for i in IntegAlgorithm::ALL {
            all.push(Cipher::CbcHmac(c, i));
        }
    }
    let algorithm = all[usize::from(selector) % all.len()];
    let key = CipherKey::from_keymat(algorithm, &vec![0x5a; algorithm.keymat_len()]).unwrap();

    // 1. The datagram as it came off the wire.
    if let Ok(m) = ParsedMessage::parse(data) {
        let _ = m.decrypt(&key);
    }

    // 2. The bytes as the inner chain of an authentic Encrypted payload; the first byte names
    //    the first inner payload type.
    let Some((&first_inner, inner)) = data.split_first() else {
        return;
    };
    let block = algorithm.block_len();
    let pad_len = if block == 1 {
        usize::from(selector % 4)
    } else {
        (block - (inner.len() + 1) % block) % block
    };
    let (iv_len, icv_len) = (algorithm.iv_len(), algorithm.icv_len());
    let body_len = iv_len + inner.len() + pad_len + 1 + icv_len;
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
    let iv = [7u8; 16];
    msg.extend_from_slice(&iv[..iv_len]);
    let aad_end = HEADER_LEN + 4;
    let mut plain = inner.to_vec();
    plain.extend(std::iter::repeat_n(0u8, pad_len));
    plain.push(pad_len as u8);
    match &key {
        CipherKey::Aead(k) => {
            let icv = k.seal_in_place(&[7u8; 8], &msg[..aad_end], &mut plain);
            msg.extend_from_slice(&plain);
            msg.extend_from_slice(&icv);
        }
        CipherKey::CbcHmac { cbc, integ } => {
            cbc.encrypt_in_place(&iv, &mut plain).unwrap();
            msg.extend_from_slice(&plain);
            let mut icv = vec![0u8; icv_len];
            integ.sign(&[&msg], &mut icv).unwrap();
            msg.extend_from_slice(&icv);
        }
    }
    if let Ok(m) = ParsedMessage::parse(&msg) {
        let _ = m.decrypt(&key);
    }
});
