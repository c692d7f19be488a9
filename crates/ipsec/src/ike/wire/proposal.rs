//! The Security Association payload's body: proposals, transforms and transform attributes
//! (RFC 7296 §3.3).
//!
//! ```text
//!  Proposal substructure (§3.3.1)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Last Substruc |   RESERVED    |         Proposal Length       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                        SPI (variable)                         ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                        <Transforms>                           ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  Transform substructure (§3.3.2)
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Last Substruc |   RESERVED    |        Transform Length       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Transform Type |   RESERVED    |          Transform ID         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~                      Transform Attributes                     ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  Attribute (§3.3.5): |A|  Attribute Type (15) | Length or Value (16) | [Value if A=0]
//! ```
//!
//! What it does not do: decide whether a proposal is acceptable (that is `ike::negotiation`).

use super::DecodeError;
use super::reader::Reader;

/// IPsec protocol identifiers used in proposals, notifies and deletes (RFC 7296 §3.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolId {
    /// IKE (1).
    Ike,
    /// AH (2).
    Ah,
    /// ESP (3).
    Esp,
    /// Anything else (0 appears in notifies that concern no SA).
    Other(u8),
}

impl From<u8> for ProtocolId {
    fn from(v: u8) -> Self {
        match v {
            1 => ProtocolId::Ike,
            2 => ProtocolId::Ah,
            3 => ProtocolId::Esp,
            other => ProtocolId::Other(other),
        }
    }
}

impl From<ProtocolId> for u8 {
    fn from(v: ProtocolId) -> u8 {
        match v {
            ProtocolId::Ike => 1,
            ProtocolId::Ah => 2,
            ProtocolId::Esp => 3,
            ProtocolId::Other(other) => other,
        }
    }
}

/// Transform types (RFC 7296 §3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransformType {
    /// Encryption algorithm (1).
    Encr,
    /// Pseudorandom function (2).
    Prf,
    /// Integrity algorithm (3).
    Integ,
    /// Key exchange method / Diffie-Hellman group (4).
    Ke,
    /// Extended sequence numbers (5).
    Esn,
    /// Anything else.
    Other(u8),
}

impl From<u8> for TransformType {
    fn from(v: u8) -> Self {
        match v {
            1 => TransformType::Encr,
            2 => TransformType::Prf,
            3 => TransformType::Integ,
            4 => TransformType::Ke,
            5 => TransformType::Esn,
            other => TransformType::Other(other),
        }
    }
}

impl From<TransformType> for u8 {
    fn from(v: TransformType) -> u8 {
        match v {
            TransformType::Encr => 1,
            TransformType::Prf => 2,
            TransformType::Integ => 3,
            TransformType::Ke => 4,
            TransformType::Esn => 5,
            TransformType::Other(other) => other,
        }
    }
}

/// The Key Length attribute type (RFC 7296 §3.3.5), the only attribute IKEv2 defines.
pub const ATTRIBUTE_KEY_LENGTH: u16 = 14;

/// A transform attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// Type/Value form (AF = 1): a 16-bit value.
    Short {
        /// Attribute type (15 bits).
        kind: u16,
        /// The value.
        value: u16,
    },
    /// Type/Length/Value form (AF = 0).
    Long {
        /// Attribute type (15 bits).
        kind: u16,
        /// The value.
        value: Vec<u8>,
    },
}

/// One transform of a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform {
    /// Transform type.
    pub kind: TransformType,
    /// Transform ID within the type.
    pub id: u16,
    /// Attributes (normally at most a Key Length).
    pub attributes: Vec<Attribute>,
}

impl Transform {
    /// A transform without attributes.
    pub fn new(kind: TransformType, id: u16) -> Transform {
        Transform {
            kind,
            id,
            attributes: Vec::new(),
        }
    }

    /// A transform with a Key Length attribute in bits.
    pub fn with_key_length(kind: TransformType, id: u16, bits: u16) -> Transform {
        Transform {
            kind,
            id,
            attributes: vec![Attribute::Short {
                kind: ATTRIBUTE_KEY_LENGTH,
                value: bits,
            }],
        }
    }

    /// The Key Length attribute, if present.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Short {
                kind: ATTRIBUTE_KEY_LENGTH,
                value,
            } => Some(*value),
            _ => None,
        })
    }

    /// True when the transform carries an attribute other than Key Length, which we must treat as
    /// unknown and so reject the transform (RFC 7296 §3.3.6).
    pub fn has_unknown_attributes(&self) -> bool {
        self.attributes.iter().any(|a| {
            !matches!(
                a,
                Attribute::Short {
                    kind: ATTRIBUTE_KEY_LENGTH,
                    ..
                }
            )
        })
    }
}

/// One proposal of an SA payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Proposal number (1 for the first; the responder echoes the number it accepts).
    pub number: u8,
    /// The protocol the SA is for.
    pub protocol: ProtocolId,
    /// The sender's SPI for the new SA: empty in IKE_SA_INIT, 8 octets for an IKE rekey,
    /// 4 octets for ESP.
    pub spi: Vec<u8>,
    /// The transforms.
    pub transforms: Vec<Transform>,
}

const LAST: u8 = 0;
const MORE_PROPOSALS: u8 = 2;
const MORE_TRANSFORMS: u8 = 3;

/// Decodes the body of an SA payload.
pub(crate) fn decode_proposals(body: &[u8]) -> Result<Vec<Proposal>, DecodeError> {
    let mut r = Reader::new(body);
    let mut out = Vec::new();
    loop {
        let last = r.u8("proposal last-substruc")?;
        let _reserved = r.u8("proposal reserved")?;
        let len = r.u16("proposal length")? as usize;
        if len < 8 {
            return Err(DecodeError::Length {
                what: "proposal",
                declared: len,
                available: r.remaining() + 4,
            });
        }
        let bytes = r
            .take(len - 4, "proposal")
            .map_err(|_| DecodeError::Length {
                what: "proposal",
                declared: len,
                available: r.remaining() + 4,
            })?;
        out.push(decode_proposal(bytes)?);
        match last {
            LAST => break,
            MORE_PROPOSALS => {}
            other => {
                return Err(DecodeError::Invalid {
                    what: "proposal last-substruc",
                    value: other as u32,
                });
            }
        }
    }
    if !r.is_empty() {
        return Err(DecodeError::Trailing {
            what: "SA payload",
            octets: r.remaining(),
        });
    }
    Ok(out)
}

fn decode_proposal(bytes: &[u8]) -> Result<Proposal, DecodeError> {
    let mut r = Reader::new(bytes);
    let number = r.u8("proposal number")?;
    let protocol = ProtocolId::from(r.u8("protocol id")?);
    let spi_size = r.u8("SPI size")? as usize;
    let count = r.u8("number of transforms")? as usize;
    let spi = r.take(spi_size, "proposal SPI")?.to_vec();
    let mut transforms = Vec::with_capacity(count.min(32));
    for i in 0..count {
        let last = r.u8("transform last-substruc")?;
        let _reserved = r.u8("transform reserved")?;
        let len = r.u16("transform length")? as usize;
        if len < 8 {
            return Err(DecodeError::Length {
                what: "transform",
                declared: len,
                available: r.remaining() + 4,
            });
        }
        let body = r.take(len - 4, "transform")?;
        transforms.push(decode_transform(body)?);
        let expected_last = if i + 1 == count {
            LAST
        } else {
            MORE_TRANSFORMS
        };
        if last != expected_last {
            return Err(DecodeError::Invalid {
                what: "transform last-substruc",
                value: last as u32,
            });
        }
    }
    if !r.is_empty() {
        return Err(DecodeError::Trailing {
            what: "proposal",
            octets: r.remaining(),
        });
    }
    Ok(Proposal {
        number,
        protocol,
        spi,
        transforms,
    })
}

fn decode_transform(body: &[u8]) -> Result<Transform, DecodeError> {
    let mut r = Reader::new(body);
    let kind = TransformType::from(r.u8("transform type")?);
    let _reserved = r.u8("transform reserved")?;
    let id = r.u16("transform id")?;
    let mut attributes = Vec::new();
    while !r.is_empty() {
        let t = r.u16("attribute type")?;
        let kind = t & 0x7fff;
        if t & 0x8000 != 0 {
            attributes.push(Attribute::Short {
                kind,
                value: r.u16("attribute value")?,
            });
        } else {
            let len = r.u16("attribute length")? as usize;
            attributes.push(Attribute::Long {
                kind,
                value: r.take(len, "attribute value")?.to_vec(),
            });
        }
    }
    Ok(Transform {
        kind,
        id,
        attributes,
    })
}

/// Encodes proposals as an SA payload body. Proposal numbers are written as given.
pub(crate) fn encode_proposals(proposals: &[Proposal], out: &mut Vec<u8>) {
    for (i, p) in proposals.iter().enumerate() {
        let start = out.len();
        out.push(if i + 1 == proposals.len() {
            LAST
        } else {
            MORE_PROPOSALS
        });
        out.push(0);
        out.extend_from_slice(&[0, 0]);
        out.push(p.number);
        out.push(p.protocol.into());
        out.push(p.spi.len() as u8);
        out.push(p.transforms.len() as u8);
        out.extend_from_slice(&p.spi);
        for (j, t) in p.transforms.iter().enumerate() {
            let tstart = out.len();
            out.push(if j + 1 == p.transforms.len() {
                LAST
            } else {
                MORE_TRANSFORMS
            });
            out.push(0);
            out.extend_from_slice(&[0, 0]);
            out.push(t.kind.into());
            out.push(0);
            out.extend_from_slice(&t.id.to_be_bytes());
            for a in &t.attributes {
                match a {
                    Attribute::Short { kind, value } => {
                        out.extend_from_slice(&(0x8000 | (kind & 0x7fff)).to_be_bytes());
                        out.extend_from_slice(&value.to_be_bytes());
                    }
                    Attribute::Long { kind, value } => {
                        out.extend_from_slice(&(kind & 0x7fff).to_be_bytes());
                        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
                        out.extend_from_slice(value);
                    }
                }
            }
            let tlen = (out.len() - tstart) as u16;
            out[tstart + 2..tstart + 4].copy_from_slice(&tlen.to_be_bytes());
        }
        let plen = (out.len() - start) as u16;
        out[start + 2..start + 4].copy_from_slice(&plen.to_be_bytes());
    }
}
