//! The wire layer's error type, and its one-to-one mapping onto NOTIFICATION codes.
//!
//! Every way a received message can be malformed is one [`WireError`] variant, and each variant
//! names exactly one (code, subcode) pair from RFC 4271 §6 (plus RFC 5492 §5 for capabilities and
//! RFC 7313 §5 for ROUTE-REFRESH), with the data field the RFC asks for. The FSM sends
//! [`WireError::notification`] verbatim; nothing else invents error codes.
//!
//! What it does not do: decide *whether* an UPDATE error resets the session. RFC 7606 lets most
//! attribute errors degrade to treat-as-withdraw or attribute-discard; that decision is made in
//! [`super::update`] and only the session-reset cases become a `WireError`.

use super::notification::{Notification, codes};

/// A received message that cannot be accepted, and the NOTIFICATION it calls for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// RFC 4271 §6.1: the marker is not all ones.
    #[error("message header marker is not all ones")]
    ConnectionNotSynchronized,
    /// RFC 4271 §6.1: the length field is out of range for the message type.
    #[error("bad message length {length}")]
    BadMessageLength {
        /// The erroneous length field.
        length: u16,
    },
    /// RFC 4271 §6.1: unknown message type.
    #[error("bad message type {kind}")]
    BadMessageType {
        /// The erroneous type field.
        kind: u8,
    },
    /// RFC 4271 §6.2: version is not 4.
    #[error("unsupported BGP version {version}")]
    UnsupportedVersion {
        /// The version the peer sent.
        version: u8,
    },
    /// RFC 4271 §6.2: the AS in the OPEN is not the configured remote AS.
    #[error("bad peer AS {received} (expected {expected})")]
    BadPeerAs {
        /// AS the peer announced (4-octet when it sent the capability).
        received: u32,
        /// AS configured for this neighbor.
        expected: u32,
    },
    /// RFC 4271 §6.2 / RFC 6286 §2.2: BGP identifier 0, or equal to ours on an iBGP session.
    #[error("bad BGP identifier {0}")]
    BadBgpIdentifier(std::net::Ipv4Addr),
    /// RFC 4271 §6.2: an optional parameter type we do not know.
    #[error("unsupported optional parameter type {0}")]
    UnsupportedOptionalParameter(u8),
    /// RFC 4271 §6.2: hold time 1 or 2 seconds.
    #[error("unacceptable hold time {0}")]
    UnacceptableHoldTime(u16),
    /// RFC 5492 §5: a capability we require that the peer did not send (data: the capability).
    #[error("unsupported capability (code {code})")]
    UnsupportedCapability {
        /// Capability code.
        code: u8,
        /// Capability value we require.
        value: Vec<u8>,
    },
    /// RFC 4271 §6.2 without a subcode: OPEN structurally broken (e.g. parameter lengths).
    #[error("malformed OPEN: {0}")]
    MalformedOpen(&'static str),
    /// RFC 4271 §6.3 / RFC 7606 §3 (c),(d): attribute list malformed beyond repair.
    #[error("malformed attribute list: {0}")]
    MalformedAttributeList(&'static str),
    /// RFC 4271 §6.3: a well-known attribute we do not recognise.
    #[error("unrecognized well-known attribute {0}")]
    UnrecognizedWellKnownAttribute(u8),
    /// RFC 7606 §3 (g): MP_REACH_NLRI or MP_UNREACH_NLRI appears more than once.
    #[error("duplicate attribute {0}")]
    DuplicateMpAttribute(u8),
    /// RFC 7606 §5.3: NLRI (or withdrawn routes) cannot be parsed; session reset.
    #[error("invalid network field: {0}")]
    InvalidNetworkField(&'static str),
    /// RFC 7606 §3 (g) / §7.1-7.2: MP_REACH/MP_UNREACH malformed, which makes NLRI unparseable.
    #[error("malformed multiprotocol attribute: {0}")]
    MalformedMpAttribute(&'static str),
    /// RFC 7313 §5: ROUTE-REFRESH message with a bad length.
    #[error("ROUTE-REFRESH with invalid length {0}")]
    RouteRefreshInvalidLength(u16),
    /// RFC 4271 §6.6 / RFC 6608: message not expected in the current state.
    #[error("unexpected {message} in state {state}")]
    UnexpectedMessage {
        /// Message type name.
        message: &'static str,
        /// FSM state name.
        state: &'static str,
        /// RFC 6608 subcode (1 OpenSent, 2 OpenConfirm, 3 Established).
        subcode: u8,
    },
}

impl WireError {
    /// The NOTIFICATION this error calls for (RFC 4271 §6), data field included.
    pub fn notification(&self) -> Notification {
        use WireError::*;
        let (code, subcode, data): (u8, u8, Vec<u8>) = match self {
            ConnectionNotSynchronized => (codes::HEADER, 1, Vec::new()),
            BadMessageLength { length } => (codes::HEADER, 2, length.to_be_bytes().to_vec()),
            BadMessageType { kind } => (codes::HEADER, 3, vec![*kind]),
            // §6.2: data is the largest locally supported version number (2 octets).
            UnsupportedVersion { .. } => (codes::OPEN, 1, 4u16.to_be_bytes().to_vec()),
            BadPeerAs { .. } => (codes::OPEN, 2, Vec::new()),
            BadBgpIdentifier(_) => (codes::OPEN, 3, Vec::new()),
            UnsupportedOptionalParameter(_) => (codes::OPEN, 4, Vec::new()),
            UnacceptableHoldTime(_) => (codes::OPEN, 6, Vec::new()),
            UnsupportedCapability { code, value } => {
                let mut data = vec![*code, value.len() as u8];
                data.extend_from_slice(value);
                (codes::OPEN, 7, data)
            }
            MalformedOpen(_) => (codes::OPEN, 0, Vec::new()),
            MalformedAttributeList(_) => (codes::UPDATE, 1, Vec::new()),
            UnrecognizedWellKnownAttribute(c) => (codes::UPDATE, 2, vec![*c]),
            DuplicateMpAttribute(_) => (codes::UPDATE, 1, Vec::new()),
            InvalidNetworkField(_) => (codes::UPDATE, 10, Vec::new()),
            // RFC 7606 §7.11 leaves the subcode to us for MP errors; 3/9 Optional Attribute
            // Error is what FRR and BIRD send for a broken MP_REACH (inferred from their code).
            MalformedMpAttribute(_) => (codes::UPDATE, 9, Vec::new()),
            RouteRefreshInvalidLength(_) => (codes::ROUTE_REFRESH, 1, Vec::new()),
            UnexpectedMessage { subcode, .. } => (codes::FSM, *subcode, Vec::new()),
        };
        Notification::new(code, subcode, data)
    }
}
