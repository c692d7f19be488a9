//! IKEv2 wire formats (RFC 7296 §3): header view, payloads, proposals, traffic selectors,
//! notify types, and whole messages with the AEAD-protected Encrypted payload.
//!
//! Decoding is total: every input yields a value or a [`DecodeError`], never a panic (fuzzed by
//! `fuzz/fuzz_targets/ike_message.rs`, property-tested below). Encoding writes exactly what
//! decoding reads back.
//!
//! What it does not do: state (SPIs, message IDs, windows), key derivation or negotiation.

pub mod header;
pub mod message;
pub mod notify;
pub mod payload;
pub mod proposal;
pub(crate) mod reader;
pub mod traffic_selector;

#[cfg(test)]
mod tests;

pub use header::{ExchangeType, Header, HeaderRepr, flags};
pub use message::{Message, ParsedMessage};
pub use notify::NotifyType;
pub use payload::{Delete, Identity, Notify, Payload, auth_method, payload_type};
pub use proposal::{Attribute, Proposal, ProtocolId, Transform, TransformType};
pub use traffic_selector::TrafficSelector;

/// Why a received IKE message could not be decoded. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer octets than a field needs.
    #[error("truncated {what}: need {needed} octets, {got} left")]
    Truncated {
        /// The field.
        what: &'static str,
        /// Octets needed.
        needed: usize,
        /// Octets left.
        got: usize,
    },
    /// A length field disagrees with the data.
    #[error("bad {what} length {declared} ({available} octets available)")]
    Length {
        /// The structure.
        what: &'static str,
        /// The declared length.
        declared: usize,
        /// What was there.
        available: usize,
    },
    /// A field has a value the RFC does not allow.
    #[error("invalid {what} {value}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Its value.
        value: u32,
    },
    /// Octets left over after a structure that should end there.
    #[error("{octets} trailing octets after {what}")]
    Trailing {
        /// The structure.
        what: &'static str,
        /// Octets left.
        octets: usize,
    },
    /// The major version is not 2.
    #[error("IKE major version {0} is not supported")]
    Version(u8),
    /// The Encrypted payload was not the last payload (RFC 7296 §3.14), or was nested.
    #[error("the Encrypted payload must be the last payload")]
    EncryptedNotLast,
    /// An IKE fragment (RFC 7383) arrived; we never announce fragmentation support.
    #[error("IKE fragments are not supported")]
    Fragmented,
    /// Decryption was asked of a message without an Encrypted payload.
    #[error("the message has no Encrypted payload")]
    NotEncrypted,
    /// The Encrypted payload's ICV did not verify.
    #[error("integrity check of the Encrypted payload failed")]
    Integrity,
}
