//! Cipher suites shared by IKEv2 and ESP.
//!
//! - [`aead`]: AES-GCM-16 (RFC 4106 / RFC 5282) and ChaCha20-Poly1305 (RFC 7634), the combined-mode
//!   ciphers used both for ESP packets and for IKE's Encrypted payload.
//! - [`cbc`]: AES-CBC (RFC 3602) for non-AEAD suites.
//! - [`integ`]: HMAC integrity transforms with their truncations (RFC 2404, RFC 4868) for
//!   non-AEAD suites.
//! - [`cipher`]: one SA direction's protection, either kind: [`cipher::Cipher`] and its key.
//! - [`prf`]: HMAC-SHA1 and HMAC-SHA2 PRFs and IKEv2's `prf+` (RFC 7296 §2.13, RFC 4868).
//! - [`dh`]: every Diffie-Hellman group we negotiate: 19, 20, 21 (RFC 5903), 31 (RFC 8031) and
//!   the MODP groups of [`modp`].
//! - [`modp`]: MODP groups 2, 5, 14-18 (RFC 2409, RFC 3526) and 22-24 (RFC 5114), with RFC 6989's
//!   checks of peer public values.
//!
//! Key material (derived keys, shared secrets, the PSK) is the `secret` crate's
//! `Secret<Vec<u8>>`: zeroized on drop, never printed.
//!
//! What it does not do: choose which suite to use (that is proposal negotiation, in IKE), or hold
//! sequence numbers and replay state (that is the ESP SA).

pub mod aead;
pub mod cbc;
pub mod cipher;
pub mod dh;
pub mod integ;
pub mod modp;
pub mod prf;

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
    /// `prf+` cannot produce that many octets (255 PRF blocks at most, RFC 7296 §2.13).
    #[error("prf+ asked for {requested} octets, at most {max} can be derived")]
    PrfPlusTooLong {
        /// Octets asked for.
        requested: usize,
        /// The PRF's limit.
        max: usize,
    },
    /// The random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A peer's Diffie-Hellman public value has the wrong length for its group.
    #[error("{group} public value must be {expected} octets, got {got}")]
    PublicValueLength {
        /// The group's name.
        group: &'static str,
        /// Octets expected.
        expected: usize,
        /// Octets received.
        got: usize,
    },
    /// A peer's Diffie-Hellman public value is not a valid point, or gives a degenerate secret.
    #[error("invalid {group} public value")]
    InvalidPublicValue {
        /// The group's name.
        group: &'static str,
    },
    /// A CBC input is not a whole number of cipher blocks.
    #[error("{len} octets is not a multiple of the {block}-octet cipher block")]
    NotBlockAligned {
        /// Octets given.
        len: usize,
        /// The block size.
        block: usize,
    },
    /// The input was too short to hold the fixed-size fields (IV, ICV).
    #[error("input of {got} bytes is shorter than the {needed} bytes the suite needs")]
    TooShort {
        /// Bytes needed at least.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
}
