//! The IKE header (RFC 7296 §3.1) as a zero-copy view, and its owned form.
//!
//! ```text
//!                      1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       IKE SA Initiator's SPI                  |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       IKE SA Responder's SPI                  |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                          Message ID                           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            Length                             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  Flags: |X|X|R|V|I|X|X|X|   R = response, V = version, I = initiator
//! ```
//!
//! [`Header::new_checked`] verifies that the buffer holds the 28 fixed octets and that the Length
//! field matches the buffer; after that no accessor can panic.
//!
//! What it does not do: check SPIs against known SAs or message IDs against windows (the SA does).

use super::DecodeError;

/// Octets of the fixed IKE header.
pub const HEADER_LEN: usize = 28;

mod field {
    use std::ops::Range;
    pub const SPI_I: Range<usize> = 0..8;
    pub const SPI_R: Range<usize> = 8..16;
    pub const NEXT_PAYLOAD: usize = 16;
    pub const VERSION: usize = 17;
    pub const EXCHANGE: usize = 18;
    pub const FLAGS: usize = 19;
    pub const MESSAGE_ID: Range<usize> = 20..24;
    pub const LENGTH: Range<usize> = 24..28;
}

/// Flag bits (RFC 7296 §3.1).
pub mod flags {
    /// Set in messages sent by the original initiator of the IKE SA.
    pub const INITIATOR: u8 = 0x08;
    /// The sender can speak a higher major version.
    pub const VERSION: u8 = 0x10;
    /// This message is a response.
    pub const RESPONSE: u8 = 0x20;
}

/// IKEv2 exchange types (IANA "IKEv2 Exchange Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExchangeType {
    /// IKE_SA_INIT (34).
    IkeSaInit,
    /// IKE_AUTH (35).
    IkeAuth,
    /// CREATE_CHILD_SA (36).
    CreateChildSa,
    /// INFORMATIONAL (37).
    Informational,
    /// Anything else.
    Unknown(u8),
}

impl From<u8> for ExchangeType {
    fn from(v: u8) -> Self {
        match v {
            34 => ExchangeType::IkeSaInit,
            35 => ExchangeType::IkeAuth,
            36 => ExchangeType::CreateChildSa,
            37 => ExchangeType::Informational,
            other => ExchangeType::Unknown(other),
        }
    }
}

impl From<ExchangeType> for u8 {
    fn from(v: ExchangeType) -> u8 {
        match v {
            ExchangeType::IkeSaInit => 34,
            ExchangeType::IkeAuth => 35,
            ExchangeType::CreateChildSa => 36,
            ExchangeType::Informational => 37,
            ExchangeType::Unknown(other) => other,
        }
    }
}

/// A read-only view of an IKE header over a buffer holding a whole IKE message.
#[derive(Debug, Clone, Copy)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps `buffer` after checking it holds the fixed header and exactly `Length` octets.
    pub fn new_checked(buffer: T) -> Result<Header<T>, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DecodeError::Truncated {
                what: "IKE header",
                needed: HEADER_LEN,
                got: b.len(),
            });
        }
        let header = Header { buffer };
        let declared = header.length() as usize;
        let got = header.buffer.as_ref().len();
        if declared != got || declared < HEADER_LEN {
            return Err(DecodeError::Length {
                what: "IKE message",
                declared,
                available: got,
            });
        }
        Ok(header)
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The initiator's SPI.
    pub fn spi_i(&self) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.b()[field::SPI_I]);
        u64::from_be_bytes(a)
    }

    /// The responder's SPI (zero in the first IKE_SA_INIT request).
    pub fn spi_r(&self) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&self.b()[field::SPI_R]);
        u64::from_be_bytes(a)
    }

    /// Type of the first payload.
    pub fn next_payload(&self) -> u8 {
        self.b()[field::NEXT_PAYLOAD]
    }

    /// Major version (high nibble); IKEv2 is 2.
    pub fn major_version(&self) -> u8 {
        self.b()[field::VERSION] >> 4
    }

    /// Minor version (low nibble).
    pub fn minor_version(&self) -> u8 {
        self.b()[field::VERSION] & 0x0f
    }

    /// Exchange type.
    pub fn exchange(&self) -> ExchangeType {
        ExchangeType::from(self.b()[field::EXCHANGE])
    }

    /// Raw flags octet.
    pub fn flags(&self) -> u8 {
        self.b()[field::FLAGS]
    }

    /// Is the Response flag set?
    pub fn is_response(&self) -> bool {
        self.flags() & flags::RESPONSE != 0
    }

    /// Is the Initiator flag set (sent by the original initiator)?
    pub fn is_initiator(&self) -> bool {
        self.flags() & flags::INITIATOR != 0
    }

    /// Message ID.
    pub fn message_id(&self) -> u32 {
        let b = &self.b()[field::MESSAGE_ID];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Total length of the message.
    pub fn length(&self) -> u32 {
        let b = &self.b()[field::LENGTH];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The octets after the header.
    pub fn payload(&self) -> &[u8] {
        &self.b()[HEADER_LEN..]
    }

    /// The owned form.
    pub fn repr(&self) -> HeaderRepr {
        HeaderRepr {
            spi_i: self.spi_i(),
            spi_r: self.spi_r(),
            exchange: self.exchange(),
            flags: self.flags(),
            message_id: self.message_id(),
        }
    }
}

/// The header fields a sender chooses; Next Payload, version and Length are filled in by encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRepr {
    /// Initiator's SPI.
    pub spi_i: u64,
    /// Responder's SPI.
    pub spi_r: u64,
    /// Exchange type.
    pub exchange: ExchangeType,
    /// Flags ([`flags`]).
    pub flags: u8,
    /// Message ID.
    pub message_id: u32,
}

impl HeaderRepr {
    /// Is this a response?
    pub fn is_response(&self) -> bool {
        self.flags & flags::RESPONSE != 0
    }

    /// Was this sent by the original initiator?
    pub fn is_initiator(&self) -> bool {
        self.flags & flags::INITIATOR != 0
    }

    /// Writes the header into `out[..28]`.
    pub(crate) fn emit(&self, next_payload: u8, length: u32, out: &mut [u8]) {
        out[field::SPI_I].copy_from_slice(&self.spi_i.to_be_bytes());
        out[field::SPI_R].copy_from_slice(&self.spi_r.to_be_bytes());
        out[field::NEXT_PAYLOAD] = next_payload;
        out[field::VERSION] = 0x20;
        out[field::EXCHANGE] = self.exchange.into();
        out[field::FLAGS] = self.flags;
        out[field::MESSAGE_ID].copy_from_slice(&self.message_id.to_be_bytes());
        out[field::LENGTH].copy_from_slice(&length.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_then_view_gives_the_same_fields() {
        let repr = HeaderRepr {
            spi_i: 0x0102030405060708,
            spi_r: 0,
            exchange: ExchangeType::IkeSaInit,
            flags: flags::INITIATOR,
            message_id: 0,
        };
        let mut buf = vec![0u8; HEADER_LEN];
        repr.emit(33, HEADER_LEN as u32, &mut buf);
        let h = Header::new_checked(&buf[..]).unwrap();
        assert_eq!(h.repr(), repr);
        assert_eq!(h.next_payload(), 33);
        assert_eq!((h.major_version(), h.minor_version()), (2, 0));
        assert!(h.is_initiator() && !h.is_response());
        assert!(h.payload().is_empty());
    }

    #[test]
    fn length_must_match_the_buffer() {
        let repr = HeaderRepr {
            spi_i: 1,
            spi_r: 2,
            exchange: ExchangeType::Informational,
            flags: flags::RESPONSE,
            message_id: 7,
        };
        let mut buf = vec![0u8; HEADER_LEN + 4];
        repr.emit(0, HEADER_LEN as u32, &mut buf);
        assert!(matches!(
            Header::new_checked(&buf[..]),
            Err(DecodeError::Length { .. })
        ));
        assert!(matches!(
            Header::new_checked(&buf[..10]),
            Err(DecodeError::Truncated { .. })
        ));
    }
}
