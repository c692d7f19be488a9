//! The BGP-4 wire format: framing, the five message types, path attributes and NLRI.
//!
//! Layout: [`header`] frames a byte stream into messages; [`open`], [`update`],
//! [`notification`] and [`route_refresh`] decode and encode bodies; [`attrs`] holds the path
//! attribute set (decoded in `attrs/decode.rs`, encoded in `attrs/encode.rs`); [`prefix`] the
//! compact prefixes and NLRI runs; [`error`] the one error type, whose every variant maps onto
//! one NOTIFICATION.
//!
//! Promise: no function in this module panics on any input bytes (fuzzed under `crates/bgp/fuzz`,
//! property-tested in `tests/wire_props.rs`).
//!
//! What it does not do: keep session state. Whether a message is acceptable *now* (state, hold
//! time negotiation, configured AS) is decided by [`crate::fsm`].

pub mod attrs;
pub mod error;
pub mod header;
pub mod notification;
pub mod open;
pub mod prefix;
pub mod route_refresh;
pub mod update;

pub use attrs::{
    AsPath, AsSegment, Community, DecodeContext, EncodeContext, NextHop, Origin, PathAttrs,
    SegmentKind,
};
pub use error::WireError;
pub use header::{Frame, HEADER_LEN, MAX_MESSAGE_LEN, MessageType, frame};
pub use notification::{CeaseSubcode, Notification};
pub use open::{Capability, GracefulRestart, Open};
pub use prefix::{Family, Ipv4Prefix, Ipv6Prefix, Prefix};
pub use route_refresh::RouteRefresh;
pub use update::Update;

/// A decoded message other than UPDATE (UPDATEs are decoded against session context, see
/// [`Update::decode`]; the FSM passes their raw bodies on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// OPEN.
    Open(Open),
    /// UPDATE body, not yet decoded.
    Update(&'a [u8]),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

impl Message<'_> {
    /// Decodes one framed message: `bytes` is exactly the message, header included, as located
    /// by [`frame`].
    pub fn decode(frame: Frame, bytes: &[u8]) -> Result<Message<'_>, WireError> {
        let body = bytes
            .get(HEADER_LEN..frame.len)
            .ok_or(WireError::BadMessageLength {
                length: bytes.len() as u16,
            })?;
        Ok(match frame.kind {
            MessageType::Open => Message::Open(Open::decode(body)?),
            MessageType::Update => Message::Update(body),
            MessageType::Notification => Message::Notification(Notification::decode(body).ok_or(
                WireError::BadMessageLength {
                    length: frame.len as u16,
                },
            )?),
            MessageType::Keepalive => Message::Keepalive,
            MessageType::RouteRefresh => Message::RouteRefresh(RouteRefresh::decode(body)?),
        })
    }
}

/// Appends a KEEPALIVE.
pub fn write_keepalive(out: &mut Vec<u8>) {
    header::write_header(out, MessageType::Keepalive, 0);
}
