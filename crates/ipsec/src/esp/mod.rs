//! ESP (RFC 4303) for tunnel-mode SAs with combined-mode ciphers or AES-CBC + HMAC,
//! UDP-encapsulated (RFC 3948).
//!
//! - [`wire`]: the ESP packet as a zero-copy view (SPI, sequence number, IV, ICV, AAD) and each
//!   cipher's [`wire::Layout`].
//! - [`trailer`]: padding, Pad Length and Next Header.
//! - [`replay`]: the receiver's anti-replay bitmap window.
//! - [`sa`]: one SA direction: seal / open in caller-owned buffers, sequence numbers, volume limits.
//! - [`counters`]: per-SA and per-tunnel counters shared with the control plane.
//! - [`udp_encap`]: telling ESP, IKE (non-ESP marker) and NAT keepalives apart on port 4500.
//!
//! Everything here is sans-IO: no sockets, no threads, no clock reads, no allocation per packet.
//! The data plane ([`crate::dataplane`]) drives it; the IKE side creates the keys.
//!
//! What it does not do: transport mode, ESN, TFC padding on send.

pub mod counters;
pub mod replay;
pub mod sa;
pub mod trailer;
pub mod udp_encap;
pub mod wire;

pub use counters::{Counters, CountersSnapshot};
pub use replay::{ReplayVerdict, ReplayWindow};
pub use sa::{InboundSa, Opened, OutboundSa, SaKeys, SaLimits, Sealed};
pub use trailer::NextHeader;
pub use wire::EspPacket;

use crate::crypto::CryptoError;

/// Why an ESP packet could not be sealed or opened, or an SA not created. Messages never contain
/// key material; opening failures map one-to-one onto a counter ([`EspError::count`]).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EspError {
    /// Shorter than the fixed fields.
    #[error("ESP packet of {len} octets is shorter than the {needed} octets needed")]
    Truncated {
        /// Octets received.
        len: usize,
        /// Octets needed at least.
        needed: usize,
    },
    /// The encrypted part does not end on a 4-octet boundary (RFC 4303 §2.4).
    #[error("ESP encrypted part of {encrypted} octets is not a multiple of 4")]
    Misaligned {
        /// Octets between IV and ICV.
        encrypted: usize,
    },
    /// No SA for this SPI.
    #[error("no SA for SPI {spi:#010x}")]
    UnknownSpi {
        /// The SPI received.
        spi: u32,
    },
    /// Refused by the anti-replay window.
    #[error("sequence number {seq} refused by the replay window ({verdict:?})")]
    Replay {
        /// The sequence number received.
        seq: u32,
        /// Why.
        verdict: ReplayVerdict,
    },
    /// The ICV did not verify.
    #[error("ESP integrity check failed")]
    Integrity,
    /// Authentic, but the padding is not 1, 2, 3, ... or Pad Length is too large.
    #[error("ESP padding is malformed")]
    BadPadding,
    /// A dummy packet (Next Header 59), to be dropped silently.
    #[error("dummy ESP packet (next header 59)")]
    Dummy,
    /// A Next Header a tunnel-mode SA does not carry.
    #[error("ESP next header {next_header} is not IPv4 (4) or IPv6 (41)")]
    UnsupportedNextHeader {
        /// The value received.
        next_header: u8,
    },
    /// The outbound sequence number reached 2^32 - 1: this SA must not send again.
    #[error("ESP sequence numbers exhausted; the SA must be rekeyed")]
    SequenceExhausted,
    /// A hard volume lifetime was reached.
    #[error("ESP SA reached its hard lifetime")]
    HardLimit,
    /// The caller's buffer has no room for padding, trailer and ICV.
    #[error("buffer of {got} octets is too small, {needed} needed")]
    BufferTooSmall {
        /// Octets needed.
        needed: usize,
        /// Octets given.
        got: usize,
    },
    /// A replay window outside what RFC 4303 requires and this implementation holds.
    #[error(
        "replay window size {size} is outside {}..={}",
        replay::MIN_WINDOW,
        replay::MAX_WINDOW
    )]
    ReplayWindowSize {
        /// The size asked for.
        size: u32,
    },
    /// Keying the cipher failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl EspError {
    /// Adds one to the counter this receive-side failure belongs to (no-op for send-side and
    /// configuration errors).
    pub fn count(&self, counters: &Counters) {
        match self {
            EspError::Truncated { .. }
            | EspError::Misaligned { .. }
            | EspError::UnsupportedNextHeader { .. }
            | EspError::HardLimit => counters.add_malformed(1),
            EspError::UnknownSpi { .. } => counters.add_unknown_spi(1),
            EspError::Replay { .. } => counters.add_replay_drops(1),
            EspError::Integrity => counters.add_integrity_failures(1),
            EspError::BadPadding => counters.add_padding_errors(1),
            EspError::Dummy => counters.add_dummy_packets(1),
            EspError::SequenceExhausted
            | EspError::BufferTooSmall { .. }
            | EspError::ReplayWindowSize { .. }
            | EspError::Crypto(_) => {}
        }
    }
}
