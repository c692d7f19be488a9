//! NOTIFICATION messages (RFC 4271 §4.5), Cease subcodes (RFC 4486) and the administrative
//! shutdown communication (RFC 9003).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! RFC 9003 data for Cease/2 (shutdown) and Cease/4 (reset):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Length (1)   |  Shutdown Communication, UTF-8 (0..255 octets) |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//! RFC 4486 data for Cease/1 (maximum prefixes):
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  AFI (2)                      |  SAFI (1)     | Prefix upper bound (4) ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Decoding and encoding go through bgp-rs's `Notification` (the body is opaque bytes after two
//! code octets, which bgp-rs handles without risk once the framer has checked the length).
//!
//! It also holds [`WireError::notification`], the one table from a malformed message to the
//! NOTIFICATION it calls for (here rather than in [`super::error`], which every decoder and the
//! framer depend on, so that the error type does not depend on the message built from it).
//!
//! What it does not do: decide when a NOTIFICATION is sent (the FSM does).

use std::fmt;

use super::error::WireError;
use super::header::{HEADER_LEN, MessageType, write_header};

/// Error codes (RFC 4271 §4.5, RFC 7313 §5).
pub mod codes {
    /// Message Header Error.
    pub const HEADER: u8 = 1;
    /// OPEN Message Error.
    pub const OPEN: u8 = 2;
    /// UPDATE Message Error.
    pub const UPDATE: u8 = 3;
    /// Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error.
    pub const FSM: u8 = 5;
    /// Cease.
    pub const CEASE: u8 = 6;
    /// ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
}

/// Cease subcodes (RFC 4486 §4, RFC 9003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CeaseSubcode {
    /// 1: Maximum Number of Prefixes Reached.
    MaxPrefixes,
    /// 2: Administrative Shutdown.
    AdminShutdown,
    /// 3: Peer De-configured.
    PeerDeconfigured,
    /// 4: Administrative Reset.
    AdminReset,
    /// 5: Connection Rejected.
    ConnectionRejected,
    /// 6: Other Configuration Change.
    OtherConfigChange,
    /// 7: Connection Collision Resolution.
    CollisionResolution,
    /// 8: Out of Resources.
    OutOfResources,
}

impl CeaseSubcode {
    /// The subcode octet.
    pub fn code(self) -> u8 {
        match self {
            CeaseSubcode::MaxPrefixes => 1,
            CeaseSubcode::AdminShutdown => 2,
            CeaseSubcode::PeerDeconfigured => 3,
            CeaseSubcode::AdminReset => 4,
            CeaseSubcode::ConnectionRejected => 5,
            CeaseSubcode::OtherConfigChange => 6,
            CeaseSubcode::CollisionResolution => 7,
            CeaseSubcode::OutOfResources => 8,
        }
    }
}

/// A NOTIFICATION message.
#[derive(Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data (meaning depends on code/subcode).
    pub data: Vec<u8>,
}

impl Notification {
    /// A NOTIFICATION with the given fields.
    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Self {
        Self {
            code,
            subcode,
            data,
        }
    }

    /// Hold Timer Expired (4/0).
    pub fn hold_timer_expired() -> Self {
        Self::new(codes::HOLD_TIMER_EXPIRED, 0, Vec::new())
    }

    /// A Cease with no data.
    pub fn cease(sub: CeaseSubcode) -> Self {
        Self::new(codes::CEASE, sub.code(), Vec::new())
    }

    /// Cease/1 with the RFC 4486 data: AFI, SAFI and the configured upper bound.
    pub fn max_prefixes(afi: u16, safi: u8, limit: u32) -> Self {
        let mut data = afi.to_be_bytes().to_vec();
        data.push(safi);
        data.extend_from_slice(&limit.to_be_bytes());
        Self::new(codes::CEASE, CeaseSubcode::MaxPrefixes.code(), data)
    }

    /// Cease/2 (shutdown) or Cease/4 (reset) with an RFC 9003 shutdown communication. The message
    /// is cut at a UTF-8 character boundary to fit 255 octets.
    pub fn admin(sub: CeaseSubcode, message: &str) -> Self {
        let mut end = message.len().min(255);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let mut data = Vec::with_capacity(end + 1);
        if end > 0 {
            data.push(end as u8);
            data.extend_from_slice(&message.as_bytes()[..end]);
        }
        Self::new(codes::CEASE, sub.code(), data)
    }

    /// The RFC 9003 shutdown communication, if this is Cease/2 or Cease/4 and carries a valid one.
    pub fn shutdown_message(&self) -> Option<&str> {
        if self.code != codes::CEASE || !(self.subcode == 2 || self.subcode == 4) {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        std::str::from_utf8(text).ok()
    }

    /// True for Cease/1.
    pub fn is_max_prefixes(&self) -> bool {
        self.code == codes::CEASE && self.subcode == CeaseSubcode::MaxPrefixes.code()
    }

    /// Decodes a NOTIFICATION body (after the header) through bgp-rs. The framer guaranteed at
    /// least the two code octets, so this cannot fail; it is still checked.
    pub fn decode(body: &[u8]) -> Option<Self> {
        if body.len() < 2 {
            return None;
        }
        let header = bgp_rs::Header {
            marker: [0xff; 16],
            length: (HEADER_LEN + body.len()) as u16,
            record_type: 3,
        };
        let n = bgp_rs::Notification::parse(&header, &mut &body[..]).ok()?;
        Some(Self::new(n.major_err_code, n.minor_err_code, n.data))
    }

    /// Appends the whole message (header included), encoded by bgp-rs. Data longer than fits in
    /// one message is cut.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let max_data = super::header::MAX_MESSAGE_LEN - HEADER_LEN - 2;
        let n = bgp_rs::Notification {
            major_err_code: self.code,
            minor_err_code: self.subcode,
            data: self.data[..self.data.len().min(max_data)].to_vec(),
        };
        let start = out.len();
        write_header(out, MessageType::Notification, 0);
        // Writing into a Vec cannot fail.
        let _ = n.encode(out);
        super::header::patch_length(out, start);
    }

    /// Human-readable code names ("Cease/Maximum Number of Prefixes Reached").
    pub fn describe(&self) -> String {
        let major = match self.code {
            1 => "Message Header Error",
            2 => "OPEN Message Error",
            3 => "UPDATE Message Error",
            4 => "Hold Timer Expired",
            5 => "Finite State Machine Error",
            6 => "Cease",
            7 => "ROUTE-REFRESH Message Error",
            _ => "Unknown Error",
        };
        let minor = match (self.code, self.subcode) {
            (_, 0) => "",
            (1, 1) => "Connection Not Synchronized",
            (1, 2) => "Bad Message Length",
            (1, 3) => "Bad Message Type",
            (2, 1) => "Unsupported Version Number",
            (2, 2) => "Bad Peer AS",
            (2, 3) => "Bad BGP Identifier",
            (2, 4) => "Unsupported Optional Parameter",
            (2, 6) => "Unacceptable Hold Time",
            (2, 7) => "Unsupported Capability",
            (3, 1) => "Malformed Attribute List",
            (3, 2) => "Unrecognized Well-known Attribute",
            (3, 3) => "Missing Well-known Attribute",
            (3, 4) => "Attribute Flags Error",
            (3, 5) => "Attribute Length Error",
            (3, 6) => "Invalid ORIGIN Attribute",
            (3, 8) => "Invalid NEXT_HOP Attribute",
            (3, 9) => "Optional Attribute Error",
            (3, 10) => "Invalid Network Field",
            (3, 11) => "Malformed AS_PATH",
            (5, 1) => "Receive Unexpected Message in OpenSent State",
            (5, 2) => "Receive Unexpected Message in OpenConfirm State",
            (5, 3) => "Receive Unexpected Message in Established State",
            (6, 1) => "Maximum Number of Prefixes Reached",
            (6, 2) => "Administrative Shutdown",
            (6, 3) => "Peer De-configured",
            (6, 4) => "Administrative Reset",
            (6, 5) => "Connection Rejected",
            (6, 6) => "Other Configuration Change",
            (6, 7) => "Connection Collision Resolution",
            (6, 8) => "Out of Resources",
            (6, 9) => "Hard Reset",
            (6, 10) => "BFD Down",
            (7, 1) => "Invalid Message Length",
            _ => "Unknown Subcode",
        };
        let mut s = format!("{major}/{minor} ({}/{})", self.code, self.subcode);
        if let Some(msg) = self.shutdown_message() {
            s.push_str(&format!(": \"{}\"", msg.escape_debug()));
        }
        s
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl fmt::Debug for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Notification({}, data={:02x?})",
            self.describe(),
            self.data
        )
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_shutdown_message_round_trips_and_is_cut_on_char_boundary() {
        let n = Notification::admin(CeaseSubcode::AdminShutdown, "maintenance window");
        assert_eq!(n.shutdown_message(), Some("maintenance window"));
        let long = "é".repeat(200); // 400 octets
        let n = Notification::admin(CeaseSubcode::AdminShutdown, &long);
        assert_eq!(n.data[0], 254);
        assert_eq!(n.shutdown_message().unwrap().chars().count(), 127);
    }

    #[test]
    fn max_prefixes_carries_afi_safi_limit() {
        let n = Notification::max_prefixes(1, 1, 100);
        assert_eq!(n.data, vec![0, 1, 1, 0, 0, 0, 100]);
        assert!(n.is_max_prefixes());
        assert!(n.describe().contains("Maximum Number of Prefixes Reached"));
    }

    #[test]
    fn encode_then_decode() {
        let n = Notification::admin(CeaseSubcode::AdminReset, "bye");
        let mut out = Vec::new();
        n.encode(&mut out);
        assert_eq!(out.len(), 19 + 2 + 4);
        assert_eq!(Notification::decode(&out[19..]), Some(n));
        assert_eq!(Notification::decode(&[6]), None);
    }
}
