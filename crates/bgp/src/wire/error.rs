//! The wire layer's error type, each variant mapping one-to-one onto a NOTIFICATION.
//!
//! Every way a received message can be malformed is one [`WireError`] variant, and each variant
//! names exactly one (code, subcode) pair from RFC 4271 §6 (plus RFC 5492 §5 for capabilities and
//! RFC 7313 §5 for ROUTE-REFRESH), with the data field the RFC asks for. The FSM sends
//! [`WireError::notification`] verbatim; nothing else invents error codes.
//!
//! This module is the bottom of the wire layer: every decoder, the framer in [`super::header`]
//! included, returns a `WireError`. So the variant-to-NOTIFICATION table,
//! [`WireError::notification`], is written in [`super::notification`], beside the codes it uses
//! and the message it builds (which is framed by [`super::header`]).
//!
//! What it does not do: decide *whether* an UPDATE error resets the session. RFC 7606 lets most
//! attribute errors degrade to treat-as-withdraw or attribute-discard; that decision is made in
//! [`super::update`] and only the session-reset cases become a `WireError`.

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
