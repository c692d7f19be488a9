//! Cipher suites shared by IKEv2 and ESP.
//!
//! - [`aead`]: AES-GCM-16 (RFC 4106 / RFC 5282) and ChaCha20-Poly1305 (RFC 7634), the combined-mode
//!   ciphers used both for ESP packets and for IKE's Encrypted payload.
//!
//! What it does not do: choose which suite to use (that is proposal negotiation, in IKE), or hold
//! sequence numbers and replay state (that is the ESP SA).

pub mod aead;

/// Errors from the crypto layer. Messages never contain key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Key material of the wrong length was handed to a suite.
    #[error("{algorithm} needs {expected} bytes of key material, got {got}")]
    KeyLength {
        /// The algorithm's name.
        algorithm: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The integrity check failed: the packet was tampered with, corrupted, or sealed with another key.
    #[error("integrity check failed")]
    Integrity,
    /// The input was too short to hold the fixed-size fields (IV, ICV).
    #[error("input of {got} bytes is shorter than the {needed} bytes the suite needs")]
    TooShort {
        /// Bytes needed at least.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
}
