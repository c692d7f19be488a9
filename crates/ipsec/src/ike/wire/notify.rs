//! Notify message types (RFC 7296 §3.10.1, IANA "IKEv2 Notify Message Types").
//!
//! Types below 16384 are errors, types from 16384 are status notifications. Unknown error types
//! in a response still mean the request failed; unknown status types are ignored (§3.10.1).
//!
//! What it does not do: decide how to react to a notify (the SA state machine does).

/// A Notify Message Type. A plain number with named constants, so unknown types pass through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotifyType(pub u16);

impl NotifyType {
    /// A critical payload was not understood.
    pub const UNSUPPORTED_CRITICAL_PAYLOAD: NotifyType = NotifyType(1);
    /// A message arrived for an IKE SA we do not know.
    pub const INVALID_IKE_SPI: NotifyType = NotifyType(4);
    /// The major version is not supported.
    pub const INVALID_MAJOR_VERSION: NotifyType = NotifyType(5);
    /// A malformed message.
    pub const INVALID_SYNTAX: NotifyType = NotifyType(7);
    /// A message ID out of the window.
    pub const INVALID_MESSAGE_ID: NotifyType = NotifyType(9);
    /// An ESP packet arrived for an SPI we do not know.
    pub const INVALID_SPI: NotifyType = NotifyType(11);
    /// None of the proposals was acceptable.
    pub const NO_PROPOSAL_CHOSEN: NotifyType = NotifyType(14);
    /// The KE payload's group is not the one the responder wants; data carries the wanted group.
    pub const INVALID_KE_PAYLOAD: NotifyType = NotifyType(17);
    /// Authentication failed.
    pub const AUTHENTICATION_FAILED: NotifyType = NotifyType(24);
    /// Only one pair of selectors is allowed.
    pub const SINGLE_PAIR_REQUIRED: NotifyType = NotifyType(34);
    /// No more CHILD_SAs are accepted on this IKE SA.
    pub const NO_ADDITIONAL_SAS: NotifyType = NotifyType(35);
    /// Configuration payload address assignment failed.
    pub const INTERNAL_ADDRESS_FAILURE: NotifyType = NotifyType(36);
    /// A configuration payload was required.
    pub const FAILED_CP_REQUIRED: NotifyType = NotifyType(37);
    /// The traffic selectors are not acceptable.
    pub const TS_UNACCEPTABLE: NotifyType = NotifyType(38);
    /// A packet did not match its SA's selectors.
    pub const INVALID_SELECTORS: NotifyType = NotifyType(39);
    /// The responder is busy (for example in a simultaneous rekey): try again later.
    pub const TEMPORARY_FAILURE: NotifyType = NotifyType(43);
    /// The CHILD_SA to rekey does not exist.
    pub const CHILD_SA_NOT_FOUND: NotifyType = NotifyType(44);
    /// The sender has no other IKE SA with the receiver: stale state may be dropped.
    pub const INITIAL_CONTACT: NotifyType = NotifyType(16384);
    /// The sender's message window size (RFC 7296 §2.3).
    pub const SET_WINDOW_SIZE: NotifyType = NotifyType(16385);
    /// Other selectors would be accepted too.
    pub const ADDITIONAL_TS_POSSIBLE: NotifyType = NotifyType(16386);
    /// IP compression is supported.
    pub const IPCOMP_SUPPORTED: NotifyType = NotifyType(16387);
    /// Hash of the sender's address and port (RFC 7296 §2.23).
    pub const NAT_DETECTION_SOURCE_IP: NotifyType = NotifyType(16388);
    /// Hash of the receiver's address and port as the sender sees it (RFC 7296 §2.23).
    pub const NAT_DETECTION_DESTINATION_IP: NotifyType = NotifyType(16389);
    /// A stateless cookie (RFC 7296 §2.6).
    pub const COOKIE: NotifyType = NotifyType(16390);
    /// Transport mode is requested.
    pub const USE_TRANSPORT_MODE: NotifyType = NotifyType(16391);
    /// The SPI of the CHILD_SA being rekeyed (RFC 7296 §1.3.3).
    pub const REKEY_SA: NotifyType = NotifyType(16393);
    /// TFC padding is not supported.
    pub const ESP_TFC_PADDING_NOT_SUPPORTED: NotifyType = NotifyType(16394);
    /// Non-first fragments are also sent.
    pub const NON_FIRST_FRAGMENTS_ALSO: NotifyType = NotifyType(16395);
    /// MOBIKE is supported (RFC 4555).
    pub const MOBIKE_SUPPORTED: NotifyType = NotifyType(16396);
    /// IKE fragmentation is supported (RFC 7383).
    pub const IKEV2_FRAGMENTATION_SUPPORTED: NotifyType = NotifyType(16430);
    /// Signature hash algorithms (RFC 7427).
    pub const SIGNATURE_HASH_ALGORITHMS: NotifyType = NotifyType(16431);

    /// Error types are below 16384.
    pub fn is_error(self) -> bool {
        self.0 < 16384
    }

    /// The RFC name, or the number.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        let s = match self {
            NotifyType::UNSUPPORTED_CRITICAL_PAYLOAD => "UNSUPPORTED_CRITICAL_PAYLOAD",
            NotifyType::INVALID_IKE_SPI => "INVALID_IKE_SPI",
            NotifyType::INVALID_MAJOR_VERSION => "INVALID_MAJOR_VERSION",
            NotifyType::INVALID_SYNTAX => "INVALID_SYNTAX",
            NotifyType::INVALID_MESSAGE_ID => "INVALID_MESSAGE_ID",
            NotifyType::INVALID_SPI => "INVALID_SPI",
            NotifyType::NO_PROPOSAL_CHOSEN => "NO_PROPOSAL_CHOSEN",
            NotifyType::INVALID_KE_PAYLOAD => "INVALID_KE_PAYLOAD",
            NotifyType::AUTHENTICATION_FAILED => "AUTHENTICATION_FAILED",
            NotifyType::SINGLE_PAIR_REQUIRED => "SINGLE_PAIR_REQUIRED",
            NotifyType::NO_ADDITIONAL_SAS => "NO_ADDITIONAL_SAS",
            NotifyType::INTERNAL_ADDRESS_FAILURE => "INTERNAL_ADDRESS_FAILURE",
            NotifyType::FAILED_CP_REQUIRED => "FAILED_CP_REQUIRED",
            NotifyType::TS_UNACCEPTABLE => "TS_UNACCEPTABLE",
            NotifyType::INVALID_SELECTORS => "INVALID_SELECTORS",
            NotifyType::TEMPORARY_FAILURE => "TEMPORARY_FAILURE",
            NotifyType::CHILD_SA_NOT_FOUND => "CHILD_SA_NOT_FOUND",
            NotifyType::INITIAL_CONTACT => "INITIAL_CONTACT",
            NotifyType::SET_WINDOW_SIZE => "SET_WINDOW_SIZE",
            NotifyType::ADDITIONAL_TS_POSSIBLE => "ADDITIONAL_TS_POSSIBLE",
            NotifyType::IPCOMP_SUPPORTED => "IPCOMP_SUPPORTED",
            NotifyType::NAT_DETECTION_SOURCE_IP => "NAT_DETECTION_SOURCE_IP",
            NotifyType::NAT_DETECTION_DESTINATION_IP => "NAT_DETECTION_DESTINATION_IP",
            NotifyType::COOKIE => "COOKIE",
            NotifyType::USE_TRANSPORT_MODE => "USE_TRANSPORT_MODE",
            NotifyType::REKEY_SA => "REKEY_SA",
            NotifyType::ESP_TFC_PADDING_NOT_SUPPORTED => "ESP_TFC_PADDING_NOT_SUPPORTED",
            NotifyType::NON_FIRST_FRAGMENTS_ALSO => "NON_FIRST_FRAGMENTS_ALSO",
            NotifyType::MOBIKE_SUPPORTED => "MOBIKE_SUPPORTED",
            NotifyType::IKEV2_FRAGMENTATION_SUPPORTED => "IKEV2_FRAGMENTATION_SUPPORTED",
            NotifyType::SIGNATURE_HASH_ALGORITHMS => "SIGNATURE_HASH_ALGORITHMS",
            NotifyType(n) => return std::borrow::Cow::Owned(format!("notify {n}")),
        };
        std::borrow::Cow::Borrowed(s)
    }
}

impl std::fmt::Display for NotifyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}
