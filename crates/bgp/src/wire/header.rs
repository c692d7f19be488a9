//! The 19-octet message header and stream framing (RFC 4271 §4.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker (16 x 0xff)                  |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`frame`] follows check -> parse -> advance: given the bytes received so far it returns
//! `Ok(None)` for a partial message, the message type and total length when a whole one is there,
//! or the header error. It validates the per-type minimum/exact lengths of §6.1 so that body
//! decoders can rely on them.
//!
//! What it does not do: decode bodies (see the sibling modules) or buffer bytes (the driver owns
//! its read buffer).

use super::WireError;

/// Length of the fixed header.
pub const HEADER_LEN: usize = 19;
/// RFC 4271 §4: maximum message size (no RFC 8654 extended messages).
pub const MAX_MESSAGE_LEN: usize = 4096;

/// BGP message types (RFC 4271 §4.1, RFC 2918 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// 1
    Open,
    /// 2
    Update,
    /// 3
    Notification,
    /// 4
    Keepalive,
    /// 5 (RFC 2918)
    RouteRefresh,
}

impl MessageType {
    /// The type code on the wire.
    pub fn code(self) -> u8 {
        match self {
            MessageType::Open => 1,
            MessageType::Update => 2,
            MessageType::Notification => 3,
            MessageType::Keepalive => 4,
            MessageType::RouteRefresh => 5,
        }
    }

    /// Name for logs.
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Open => "OPEN",
            MessageType::Update => "UPDATE",
            MessageType::Notification => "NOTIFICATION",
            MessageType::Keepalive => "KEEPALIVE",
            MessageType::RouteRefresh => "ROUTE-REFRESH",
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            _ => return None,
        })
    }

    /// Smallest total length allowed for this type (§6.1), and whether it is exact.
    fn length_rule(self) -> (usize, bool) {
        match self {
            MessageType::Open => (29, false),
            MessageType::Update => (23, false),
            MessageType::Notification => (21, false),
            MessageType::Keepalive => (19, true),
            // RFC 7313 §5 makes a wrong ROUTE-REFRESH length its own error (7/1); the header
            // only enforces the minimum so that the body decoder can report it properly.
            MessageType::RouteRefresh => (23, false),
        }
    }
}

/// A complete message found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Message type.
    pub kind: MessageType,
    /// Total length including the header; the body is `buf[HEADER_LEN..len]`.
    pub len: usize,
}

/// Looks for one complete message at the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed. Never panics, whatever `buf` holds.
pub fn frame(buf: &[u8]) -> Result<Option<Frame>, WireError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        // A marker error can be reported as soon as it is visible.
        if buf.iter().any(|&b| b != 0xff) && buf.len() <= 16 {
            return Err(WireError::ConnectionNotSynchronized);
        }
        return Ok(None);
    };
    if header[..16].iter().any(|&b| b != 0xff) {
        return Err(WireError::ConnectionNotSynchronized);
    }
    let length = u16::from_be_bytes([header[16], header[17]]);
    let len = usize::from(length);
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&len) {
        return Err(WireError::BadMessageLength { length });
    }
    let kind =
        MessageType::from_code(header[18]).ok_or(WireError::BadMessageType { kind: header[18] })?;
    let (min, exact) = kind.length_rule();
    if len < min || (exact && len != min) {
        return Err(WireError::BadMessageLength { length });
    }
    if buf.len() < len {
        return Ok(None);
    }
    Ok(Some(Frame { kind, len }))
}

/// Writes a header for a message of `body_len` body octets.
pub fn write_header(out: &mut Vec<u8>, kind: MessageType, body_len: usize) {
    debug_assert!(HEADER_LEN + body_len <= MAX_MESSAGE_LEN);
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&((HEADER_LEN + body_len) as u16).to_be_bytes());
    out.push(kind.code());
}

/// Patches the length field of a message that starts at `start` in `out` and ends at its end.
pub(crate) fn patch_length(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u16;
    out[start + 16..start + 18].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u16, kind: u8) -> Vec<u8> {
        let mut v = vec![0xff; 16];
        v.extend_from_slice(&len.to_be_bytes());
        v.push(kind);
        v
    }

    #[test]
    fn keepalive_frames_and_partial_is_none() {
        let ka = header(19, 4);
        assert_eq!(frame(&ka[..10]), Ok(None));
        assert_eq!(
            frame(&ka),
            Ok(Some(Frame {
                kind: MessageType::Keepalive,
                len: 19
            }))
        );
    }

    #[test]
    fn marker_error_is_connection_not_synchronized() {
        let mut ka = header(19, 4);
        ka[3] = 0;
        assert_eq!(frame(&ka), Err(WireError::ConnectionNotSynchronized));
        assert_eq!(frame(&ka[..5]), Err(WireError::ConnectionNotSynchronized));
    }

    #[test]
    fn lengths_are_checked_per_type() {
        assert_eq!(
            frame(&header(20, 4)),
            Err(WireError::BadMessageLength { length: 20 })
        );
        assert_eq!(
            frame(&header(22, 2)),
            Err(WireError::BadMessageLength { length: 22 })
        );
        assert_eq!(
            frame(&header(4097, 2)),
            Err(WireError::BadMessageLength { length: 4097 })
        );
        assert_eq!(
            frame(&header(18, 4)),
            Err(WireError::BadMessageLength { length: 18 })
        );
        assert_eq!(
            frame(&header(28, 1)),
            Err(WireError::BadMessageLength { length: 28 })
        );
        assert_eq!(
            frame(&header(19, 9)),
            Err(WireError::BadMessageType { kind: 9 })
        );
        // The notification data of 1/2 is the offending length field.
        let n = WireError::BadMessageLength { length: 20 }.notification();
        assert_eq!(
            (n.code, n.subcode, n.data.as_slice()),
            (1, 2, &[0u8, 20][..])
        );
    }
}
