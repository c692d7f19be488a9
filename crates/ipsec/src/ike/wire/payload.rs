//! IKEv2 payloads (RFC 7296 §3.2-§3.16) as owned values, and the payload chain codec.
//!
//! ```text
//!  Generic payload header (§3.2)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Next Payload  |C|  RESERVED   |         Payload Length        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  Bodies:
//!  SA     <Proposals> (proposal.rs)
//!  KE     | DH Group Num (16) | RESERVED (16) | Key Exchange Data ... |
//!  IDi/r  | ID Type | RESERVED (24)            | Identification Data ... |
//!  AUTH   | Auth Method | RESERVED (24)        | Authentication Data ... |
//!  Ni/Nr  | Nonce Data (16..256 octets) ... |
//!  N      | Protocol ID | SPI Size | Notify Message Type (16) | SPI | Notification Data |
//!  D      | Protocol ID | SPI Size | Num of SPIs (16) | SPIs ... |
//!  TSi/r  <Traffic Selectors> (traffic_selector.rs)
//!  SK     | IV | encrypted inner payloads | padding | pad length | ICV |  (message.rs)
//! ```
//!
//! Every length is checked against what is really there; a decoder never panics. Payload types we
//! do not implement are kept as [`Payload::Other`] with their critical bit, so the SA can answer
//! UNSUPPORTED_CRITICAL_PAYLOAD (§2.5) or ignore them.
//!
//! What it does not do: encryption (message.rs), or judge whether a message carries the payloads
//! its exchange needs (the SA does).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::DecodeError;
use super::notify::NotifyType;
use super::proposal::{Proposal, ProtocolId, decode_proposals, encode_proposals};
use super::reader::Reader;
use super::traffic_selector::{TrafficSelector, decode_selectors, encode_selectors};

/// Payload type numbers (IANA "IKEv2 Payload Types").
pub mod payload_type {
    /// No Next Payload.
    pub const NONE: u8 = 0;
    /// Security Association.
    pub const SA: u8 = 33;
    /// Key Exchange.
    pub const KE: u8 = 34;
    /// Identification - Initiator.
    pub const IDI: u8 = 35;
    /// Identification - Responder.
    pub const IDR: u8 = 36;
    /// Certificate.
    pub const CERT: u8 = 37;
    /// Certificate Request.
    pub const CERTREQ: u8 = 38;
    /// Authentication.
    pub const AUTH: u8 = 39;
    /// Nonce.
    pub const NONCE: u8 = 40;
    /// Notify.
    pub const NOTIFY: u8 = 41;
    /// Delete.
    pub const DELETE: u8 = 42;
    /// Vendor ID.
    pub const VENDOR_ID: u8 = 43;
    /// Traffic Selector - Initiator.
    pub const TSI: u8 = 44;
    /// Traffic Selector - Responder.
    pub const TSR: u8 = 45;
    /// Encrypted and Authenticated.
    pub const SK: u8 = 46;
    /// Configuration.
    pub const CP: u8 = 47;
    /// Encrypted and Authenticated Fragment (RFC 7383).
    pub const SKF: u8 = 53;
}

/// Octets of the generic payload header.
pub const GENERIC_HEADER_LEN: usize = 4;

/// IKEv2 identification types (RFC 7296 §3.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// ID_IPV4_ADDR (1).
    Ipv4(Ipv4Addr),
    /// ID_FQDN (2).
    Fqdn(String),
    /// ID_RFC822_ADDR (3).
    Rfc822(String),
    /// ID_IPV6_ADDR (5).
    Ipv6(Ipv6Addr),
    /// ID_KEY_ID (11): opaque octets.
    KeyId(Vec<u8>),
    /// Any other type, kept as octets.
    Other {
        /// ID Type.
        kind: u8,
        /// Identification Data.
        data: Vec<u8>,
    },
}

impl Identity {
    /// The ID Type number.
    pub fn kind(&self) -> u8 {
        match self {
            Identity::Ipv4(_) => 1,
            Identity::Fqdn(_) => 2,
            Identity::Rfc822(_) => 3,
            Identity::Ipv6(_) => 5,
            Identity::KeyId(_) => 11,
            Identity::Other { kind, .. } => *kind,
        }
    }

    /// The Identification Data octets.
    pub fn data(&self) -> Vec<u8> {
        match self {
            Identity::Ipv4(a) => a.octets().to_vec(),
            Identity::Ipv6(a) => a.octets().to_vec(),
            Identity::Fqdn(s) | Identity::Rfc822(s) => s.as_bytes().to_vec(),
            Identity::KeyId(d) | Identity::Other { data: d, .. } => d.clone(),
        }
    }

    /// The ID payload body without the generic header (`RestOfInitIDPayload`, RFC 7296 §2.15):
    /// ID Type, three reserved octets, Identification Data.
    pub fn payload_body(&self) -> Vec<u8> {
        let mut out = vec![self.kind(), 0, 0, 0];
        out.extend_from_slice(&self.data());
        out
    }

    fn decode(kind: u8, data: &[u8]) -> Identity {
        match (kind, data.len()) {
            (1, 4) => Identity::Ipv4(Ipv4Addr::new(data[0], data[1], data[2], data[3])),
            (5, 16) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(data);
                Identity::Ipv6(Ipv6Addr::from(a))
            }
            (2, _) if data.is_ascii() => Identity::Fqdn(String::from_utf8_lossy(data).into_owned()),
            (3, _) if data.is_ascii() => {
                Identity::Rfc822(String::from_utf8_lossy(data).into_owned())
            }
            (11, _) => Identity::KeyId(data.to_vec()),
            _ => Identity::Other {
                kind,
                data: data.to_vec(),
            },
        }
    }
}

/// An address as its identity: ID_IPV4_ADDR or ID_IPV6_ADDR.
impl From<std::net::IpAddr> for Identity {
    fn from(ip: std::net::IpAddr) -> Identity {
        match ip {
            std::net::IpAddr::V4(a) => Identity::Ipv4(a),
            std::net::IpAddr::V6(a) => Identity::Ipv6(a),
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Identity::Ipv4(a) => write!(f, "{a}"),
            Identity::Ipv6(a) => write!(f, "{a}"),
            Identity::Fqdn(s) => write!(f, "{s}"),
            Identity::Rfc822(s) => write!(f, "{s}"),
            Identity::KeyId(d) => write!(f, "keyid:{}", hex_string(d)),
            Identity::Other { kind, data } => write!(f, "id{kind}:{}", hex_string(data)),
        }
    }
}

fn hex_string(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Authentication methods (RFC 7296 §3.8).
pub mod auth_method {
    /// RSA Digital Signature.
    pub const RSA: u8 = 1;
    /// Shared Key Message Integrity Code: what AWS uses.
    pub const SHARED_KEY_MIC: u8 = 2;
    /// DSS Digital Signature.
    pub const DSS: u8 = 3;
    /// Digital Signature (RFC 7427).
    pub const DIGITAL_SIGNATURE: u8 = 14;
}

/// A Notify payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// The protocol of the SA the notify concerns (`Other(0)` when none).
    pub protocol: ProtocolId,
    /// The SPI of that SA (may be empty).
    pub spi: Vec<u8>,
    /// The message type.
    pub kind: NotifyType,
    /// Notification data.
    pub data: Vec<u8>,
}

impl Notify {
    /// A notify about no particular SA.
    pub fn new(kind: NotifyType, data: Vec<u8>) -> Notify {
        Notify {
            protocol: ProtocolId::Other(0),
            spi: Vec::new(),
            kind,
            data,
        }
    }
}

/// A Delete payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    /// IKE (no SPIs: the SA the message travels on) or ESP.
    pub protocol: ProtocolId,
    /// Octets per SPI (0 for IKE, 4 for ESP).
    pub spi_size: u8,
    /// The SPIs (inbound SPIs of the sender).
    pub spis: Vec<Vec<u8>>,
}

/// One payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Security Association.
    Sa(Vec<Proposal>),
    /// Key Exchange.
    KeyExchange {
        /// DH group number.
        group: u16,
        /// Public value.
        data: Vec<u8>,
    },
    /// Identification - Initiator.
    IdInitiator(Identity),
    /// Identification - Responder.
    IdResponder(Identity),
    /// Authentication.
    Auth {
        /// Auth method ([`auth_method`]).
        method: u8,
        /// Authentication data.
        data: Vec<u8>,
    },
    /// Nonce.
    Nonce(Vec<u8>),
    /// Notify.
    Notify(Notify),
    /// Delete.
    Delete(Delete),
    /// Vendor ID.
    VendorId(Vec<u8>),
    /// Traffic Selector - Initiator.
    TsInitiator(Vec<TrafficSelector>),
    /// Traffic Selector - Responder.
    TsResponder(Vec<TrafficSelector>),
    /// A payload we carry but do not interpret (CERTREQ, CP, EAP, ...).
    Other {
        /// Payload type.
        kind: u8,
        /// The critical bit.
        critical: bool,
        /// Body octets.
        body: Vec<u8>,
    },
}

impl Payload {
    /// The payload type number.
    pub fn kind(&self) -> u8 {
        use payload_type as t;
        match self {
            Payload::Sa(_) => t::SA,
            Payload::KeyExchange { .. } => t::KE,
            Payload::IdInitiator(_) => t::IDI,
            Payload::IdResponder(_) => t::IDR,
            Payload::Auth { .. } => t::AUTH,
            Payload::Nonce(_) => t::NONCE,
            Payload::Notify(_) => t::NOTIFY,
            Payload::Delete(_) => t::DELETE,
            Payload::VendorId(_) => t::VENDOR_ID,
            Payload::TsInitiator(_) => t::TSI,
            Payload::TsResponder(_) => t::TSR,
            Payload::Other { kind, .. } => *kind,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Payload::Sa(p) => encode_proposals(p, out),
            Payload::KeyExchange { group, data } => {
                out.extend_from_slice(&group.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(data);
            }
            Payload::IdInitiator(id) | Payload::IdResponder(id) => {
                out.extend_from_slice(&id.payload_body())
            }
            Payload::Auth { method, data } => {
                out.extend_from_slice(&[*method, 0, 0, 0]);
                out.extend_from_slice(data);
            }
            Payload::Nonce(d) | Payload::VendorId(d) => out.extend_from_slice(d),
            Payload::Notify(n) => {
                out.push(n.protocol.into());
                out.push(n.spi.len() as u8);
                out.extend_from_slice(&n.kind.0.to_be_bytes());
                out.extend_from_slice(&n.spi);
                out.extend_from_slice(&n.data);
            }
            Payload::Delete(d) => {
                out.push(d.protocol.into());
                out.push(d.spi_size);
                out.extend_from_slice(&(d.spis.len() as u16).to_be_bytes());
                for spi in &d.spis {
                    out.extend_from_slice(spi);
                }
            }
            Payload::TsInitiator(ts) | Payload::TsResponder(ts) => encode_selectors(ts, out),
            Payload::Other { body, .. } => out.extend_from_slice(body),
        }
    }

    fn critical(&self) -> bool {
        matches!(self, Payload::Other { critical: true, .. })
    }

    fn decode(kind: u8, critical: bool, body: &[u8]) -> Result<Payload, DecodeError> {
        use payload_type as t;
        let mut r = Reader::new(body);
        let p = match kind {
            t::SA => Payload::Sa(decode_proposals(body)?),
            t::KE => {
                let group = r.u16("KE group")?;
                r.take(2, "KE reserved")?;
                Payload::KeyExchange {
                    group,
                    data: r.rest().to_vec(),
                }
            }
            t::IDI | t::IDR => {
                let id_type = r.u8("ID type")?;
                r.take(3, "ID reserved")?;
                let id = Identity::decode(id_type, r.rest());
                if kind == t::IDI {
                    Payload::IdInitiator(id)
                } else {
                    Payload::IdResponder(id)
                }
            }
            t::AUTH => {
                let method = r.u8("auth method")?;
                r.take(3, "AUTH reserved")?;
                Payload::Auth {
                    method,
                    data: r.rest().to_vec(),
                }
            }
            t::NONCE => {
                // RFC 7296 §3.9: 16 to 256 octets.
                if !(16..=256).contains(&body.len()) {
                    return Err(DecodeError::Length {
                        what: "nonce",
                        declared: body.len(),
                        available: 256,
                    });
                }
                Payload::Nonce(body.to_vec())
            }
            t::NOTIFY => {
                let protocol = ProtocolId::from(r.u8("notify protocol")?);
                let spi_size = r.u8("notify SPI size")? as usize;
                let kind = NotifyType(r.u16("notify type")?);
                let spi = r.take(spi_size, "notify SPI")?.to_vec();
                Payload::Notify(Notify {
                    protocol,
                    spi,
                    kind,
                    data: r.rest().to_vec(),
                })
            }
            t::DELETE => {
                let protocol = ProtocolId::from(r.u8("delete protocol")?);
                let spi_size = r.u8("delete SPI size")?;
                let count = r.u16("delete SPI count")? as usize;
                let mut spis = Vec::with_capacity(count.min(64));
                for _ in 0..count {
                    spis.push(r.take(spi_size as usize, "delete SPI")?.to_vec());
                }
                if !r.is_empty() {
                    return Err(DecodeError::Trailing {
                        what: "Delete payload",
                        octets: r.remaining(),
                    });
                }
                Payload::Delete(Delete {
                    protocol,
                    spi_size,
                    spis,
                })
            }
            t::VENDOR_ID => Payload::VendorId(body.to_vec()),
            t::TSI => Payload::TsInitiator(decode_selectors(body)?),
            t::TSR => Payload::TsResponder(decode_selectors(body)?),
            other => Payload::Other {
                kind: other,
                critical,
                body: body.to_vec(),
            },
        };
        Ok(p)
    }
}

/// Where an Encrypted (SK) payload sits in a decoded chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EncryptedAt {
    /// Type of the first payload inside.
    pub(crate) inner_first: u8,
    /// Offset of the SK payload's generic header within the chain's input.
    pub(crate) header_offset: usize,
    /// Length of the whole SK payload, header included.
    pub(crate) len: usize,
}

/// Decodes a payload chain starting with type `first`. Stops at an SK or SKF payload, which must
/// be the last one (RFC 7296 §3.14), and reports where it is.
pub(crate) fn decode_chain(
    first: u8,
    bytes: &[u8],
) -> Result<(Vec<Payload>, Option<EncryptedAt>), DecodeError> {
    let mut out = Vec::new();
    let mut next = first;
    let mut offset = 0;
    while next != payload_type::NONE {
        let mut r = Reader::new(&bytes[offset..]);
        let following = r.u8("next payload")?;
        let flags = r.u8("payload flags")?;
        let len = r.u16("payload length")? as usize;
        if len < GENERIC_HEADER_LEN || len > bytes.len() - offset {
            return Err(DecodeError::Length {
                what: "payload",
                declared: len,
                available: bytes.len() - offset,
            });
        }
        if next == payload_type::SK || next == payload_type::SKF {
            if offset + len != bytes.len() {
                return Err(DecodeError::EncryptedNotLast);
            }
            if next == payload_type::SKF {
                return Err(DecodeError::Fragmented);
            }
            return Ok((
                out,
                Some(EncryptedAt {
                    inner_first: following,
                    header_offset: offset,
                    len,
                }),
            ));
        }
        let body = &bytes[offset + GENERIC_HEADER_LEN..offset + len];
        out.push(Payload::decode(next, flags & 0x80 != 0, body)?);
        offset += len;
        next = following;
    }
    if offset != bytes.len() {
        return Err(DecodeError::Trailing {
            what: "payload chain",
            octets: bytes.len() - offset,
        });
    }
    Ok((out, None))
}

/// Encodes a payload chain; `last_next` is the Next Payload value of the last payload (0, or
/// the type of a payload the caller appends). Returns the type of the first payload.
pub(crate) fn encode_chain(payloads: &[Payload], last_next: u8, out: &mut Vec<u8>) -> u8 {
    for (i, p) in payloads.iter().enumerate() {
        let next = payloads.get(i + 1).map(Payload::kind).unwrap_or(last_next);
        let start = out.len();
        out.push(next);
        out.push(if p.critical() { 0x80 } else { 0 });
        out.extend_from_slice(&[0, 0]);
        p.encode_body(out);
        let len = (out.len() - start) as u16;
        out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    }
    payloads.first().map(Payload::kind).unwrap_or(last_next)
}
